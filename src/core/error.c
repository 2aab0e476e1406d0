/* Error descriptions for libcable's own codes and for CTAP2 status bytes. */
#include <stddef.h>

#include "cable/error.h"

struct ctap_status {
	int code;
	const char *name;
	const char *text;
};

static const struct ctap_status ctap_statuses[] = {
	{0x01, "CTAP1_ERR_INVALID_COMMAND", "invalid command"},
	{0x02, "CTAP1_ERR_INVALID_PARAMETER", "invalid parameter"},
	{0x03, "CTAP1_ERR_INVALID_LENGTH", "invalid length"},
	{0x04, "CTAP1_ERR_INVALID_SEQ", "invalid sequence"},
	{0x05, "CTAP1_ERR_TIMEOUT", "timeout"},
	{0x06, "CTAP1_ERR_CHANNEL_BUSY", "channel busy"},
	{0x0a, "CTAP1_ERR_LOCK_REQUIRED", "lock required"},
	{0x0b, "CTAP1_ERR_INVALID_CHANNEL", "invalid channel"},
	{0x11, "CTAP2_ERR_CBOR_UNEXPECTED_TYPE", "unexpected CBOR type"},
	{0x12, "CTAP2_ERR_INVALID_CBOR", "invalid CBOR"},
	{0x14, "CTAP2_ERR_MISSING_PARAMETER", "missing parameter"},
	{0x15, "CTAP2_ERR_LIMIT_EXCEEDED", "limit exceeded"},
	{0x17, "CTAP2_ERR_FP_DATABASE_FULL", "fingerprint database full"},
	{0x18, "CTAP2_ERR_LARGE_BLOB_STORAGE_FULL", "large blob storage full"},
	{0x19, "CTAP2_ERR_CREDENTIAL_EXCLUDED", "credential excluded"},
	{0x21, "CTAP2_ERR_PROCESSING", "processing"},
	{0x22, "CTAP2_ERR_INVALID_CREDENTIAL", "invalid credential"},
	{0x23, "CTAP2_ERR_USER_ACTION_PENDING", "user action pending"},
	{0x24, "CTAP2_ERR_OPERATION_PENDING", "operation pending"},
	{0x25, "CTAP2_ERR_NO_OPERATIONS", "no operations"},
	{0x26, "CTAP2_ERR_UNSUPPORTED_ALGORITHM", "unsupported algorithm"},
	{0x27, "CTAP2_ERR_OPERATION_DENIED", "operation denied"},
	{0x28, "CTAP2_ERR_KEY_STORE_FULL", "key store full"},
	{0x2b, "CTAP2_ERR_UNSUPPORTED_OPTION", "unsupported option"},
	{0x2c, "CTAP2_ERR_INVALID_OPTION", "invalid option"},
	{0x2d, "CTAP2_ERR_KEEPALIVE_CANCEL", "cancelled by keepalive"},
	{0x2e, "CTAP2_ERR_NO_CREDENTIALS", "no credentials"},
	{0x2f, "CTAP2_ERR_USER_ACTION_TIMEOUT", "user action timeout"},
	{0x30, "CTAP2_ERR_NOT_ALLOWED", "not allowed"},
	{0x31, "CTAP2_ERR_PIN_INVALID", "PIN invalid"},
	{0x32, "CTAP2_ERR_PIN_BLOCKED", "PIN blocked"},
	{0x33, "CTAP2_ERR_PIN_AUTH_INVALID", "PIN auth invalid"},
	{0x34, "CTAP2_ERR_PIN_AUTH_BLOCKED", "PIN auth blocked"},
	{0x35, "CTAP2_ERR_PIN_NOT_SET", "PIN not set"},
	{0x36, "CTAP2_ERR_PUAT_REQUIRED", "pinUvAuthToken required"},
	{0x37, "CTAP2_ERR_PIN_POLICY_VIOLATION", "PIN policy violation"},
	{0x39, "CTAP2_ERR_REQUEST_TOO_LARGE", "request too large"},
	{0x3a, "CTAP2_ERR_ACTION_TIMEOUT", "action timeout"},
	{0x3b, "CTAP2_ERR_UP_REQUIRED", "user presence required"},
	{0x3c, "CTAP2_ERR_UV_BLOCKED", "user verification blocked"},
	{0x3d, "CTAP2_ERR_INTEGRITY_FAILURE", "integrity failure"},
	{0x3e, "CTAP2_ERR_INVALID_SUBCOMMAND", "invalid subcommand"},
	{0x3f, "CTAP2_ERR_UV_INVALID", "user verification invalid"},
	{0x40, "CTAP2_ERR_UNAUTHORIZED_PERMISSION", "unauthorized permission"},
	{0x7f, "CTAP1_ERR_OTHER", "other error"},
};

const char *
cable_strerror(int r)
{
	if (r == 0)
		return "success";
	if (r > 0) {
		for (size_t i = 0; i < sizeof(ctap_statuses) / sizeof(ctap_statuses[0]); i++)
			if (ctap_statuses[i].code == r)
				return ctap_statuses[i].text;
		return "unknown CTAP status";
	}
	switch (r) {
#define CABLE_ERROR_TEXT(name, value, text) \
	case value:                         \
		return text;
		CABLE_ERRORS(CABLE_ERROR_TEXT)
#undef CABLE_ERROR_TEXT
	default:
		return "unknown error";
	}
}

const char *
cable_errname(int r)
{
	if (r == 0)
		return "CTAP2_OK";
	if (r > 0) {
		for (size_t i = 0; i < sizeof(ctap_statuses) / sizeof(ctap_statuses[0]); i++)
			if (ctap_statuses[i].code == r)
				return ctap_statuses[i].name;
		return "CTAP_UNKNOWN";
	}
	switch (r) {
#define CABLE_ERROR_NAME(name, value, text) \
	case value:                         \
		return #name;
		CABLE_ERRORS(CABLE_ERROR_NAME)
#undef CABLE_ERROR_NAME
	default:
		return "CABLE_ERR_UNKNOWN";
	}
}
