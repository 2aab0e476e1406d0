/* The software authenticator's credential store: master secret, signature counter, passkeys. */
#ifndef CABLE_CRED_STORE_H
#define CABLE_CRED_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "cable/env.h"

/*
 * What the store holds (the file is this, serialised; see docs/authenticator.md):
 *   - a 32-byte master secret. Credential IDs are authenticated under it and every credential's
 *     private key and PRF secret are derived from it and the ID, so the store never holds private
 *     keys and a non-resident credential needs nothing stored at all;
 *   - the global signature counter;
 *   - the discoverable (resident) credentials: ID, RP ID, user handle, name and display name.
 * Anyone who reads the master secret can sign as every credential: keep the file 0600.
 */
struct cable_cred_store;

/* The most discoverable credentials one store keeps (makeCredential then answers 0x28). */
#define CABLE_CRED_STORE_MAX 256
/* Cap on a serialised store, so a file cannot make the parser allocate without bound. */
#define CABLE_CRED_STORE_MAX_FILE (1024 * 1024)
/* Current (and only) file format version. */
#define CABLE_CRED_STORE_VERSION 1

/* A new empty store with a fresh master secret from env. */
int cable_cred_store_new(const struct cable_env *env, struct cable_cred_store **out);
/* Parses a serialised store (canonical CBOR, version checked). Any defect: CABLE_ERR_STORE. */
int cable_cred_store_parse(const uint8_t *buf, size_t len, struct cable_cred_store **out);
/* Serialises the store (caller frees the buffer, which holds the master secret: wipe it). */
int cable_cred_store_serialize(const struct cable_cred_store *store, uint8_t **out, size_t *out_len);
/* Wipes and frees; accepts NULL and *store == NULL. */
void cable_cred_store_free(struct cable_cred_store **store);

/* Number of discoverable credentials. */
size_t cable_cred_store_count(const struct cable_cred_store *store);
/* The global signature counter (last value used in authenticator data). */
uint32_t cable_cred_store_counter(const struct cable_cred_store *store);

/* Read-only view of one discoverable credential (pointers valid until the store changes). */
struct cable_cred_info {
	const uint8_t *id;
	size_t id_len;
	const char *rp_id;
	const uint8_t *user_id;
	size_t user_id_len;
	const char *user_name;         /* "" when the RP gave none */
	const char *user_display_name; /* "" when the RP gave none */
};
int cable_cred_store_get(const struct cable_cred_store *store, size_t i, struct cable_cred_info *info);

/*
 * File backend (src/session/cred-store-file.c, not sans-I/O). load: reads path; when the file does
 * not exist, creates a new store and writes it (0600). A file that exists but cannot be read or
 * parsed is CABLE_ERR_STORE: it is never replaced. save: writes path.tmp (0600), fsyncs it,
 * renames it over path and fsyncs the directory.
 */
int cable_cred_store_load_file(const char *path, const struct cable_env *env,
    struct cable_cred_store **out);
int cable_cred_store_save_file(const struct cable_cred_store *store, const char *path);
/* save_file in the shape of cable_authenticator_persist_fn: ctx is the path (a const char *). */
int cable_cred_store_persist_file(void *ctx, const struct cable_cred_store *store);

#endif
