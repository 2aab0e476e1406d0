/* Layout of the credential store shared by cred-store.c and the authenticator (private). */
#ifndef CABLE_CRED_STORE_INTERNAL_H
#define CABLE_CRED_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cable/cred-store.h"

#define CABLE_MASTER_LEN 32
/* Credential ID: version(1) || flags(1) || nonce(16) || tag(16). */
#define CABLE_CRED_ID_LEN 34
#define CABLE_CRED_ID_VERSION 0x01
#define CABLE_CRED_ID_FLAG_RK 0x01
#define CABLE_USER_ID_MAX 64
/* Longest name/displayName kept (CTAP lets authenticators truncate to 64 bytes). */
#define CABLE_USER_NAME_MAX 64
/* Longest RP ID accepted (a DNS name is at most 253 characters). */
#define CABLE_RP_ID_MAX 255

struct cable_resident {
	uint8_t id[CABLE_CRED_ID_LEN];
	char *rp_id;
	uint8_t user_id[CABLE_USER_ID_MAX];
	size_t user_id_len;
	char *user_name;
	char *user_display_name;
};

struct cable_cred_store {
	uint8_t master[CABLE_MASTER_LEN];
	uint32_t counter;
	size_t n;
	struct cable_resident res[CABLE_CRED_STORE_MAX];
};

void cable_resident_clear(struct cable_resident *r);

#endif
