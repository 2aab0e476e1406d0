/*
 * Deterministic fault injection for fuzz-faults: the Nth allocation (ours through --wrap, OpenSSL's
 * through CRYPTO_set_mem_functions, jansson's through json_set_alloc_funcs, libcbor's through
 * wrapped builders) or OpenSSL operation fails, chosen by the input.
 */
#ifndef CABLE_FUZZ_WRAP_H
#define CABLE_FUZZ_WRAP_H

#include <stdbool.h>
#include <stdint.h>

enum {
	FAULT_MALLOC = 1 << 0,  /* malloc, calloc, realloc, strdup, strndup in our code */
	FAULT_OPENSSL = 1 << 1, /* OpenSSL's allocator and a few of its operations */
	FAULT_CBOR = 1 << 2,    /* libcbor item builders, cbor_load, cbor_serialize_alloc */
	FAULT_JSON = 1 << 3,    /* jansson's allocator */
	FAULT_STICKY = 1 << 4,  /* from the Nth call on, every call fails (out of memory) */
};

/* Installs the library allocator hooks; call once before the libraries allocate. */
void fuzz_faults_install(void);
/* Arms: the nth counted call (1-based) of the sources in mask fails; n == 0 disarms. */
void fuzz_faults_arm(unsigned mask, uint32_t n);
void fuzz_faults_disarm(void);
/* How many faults were injected since arming. */
uint32_t fuzz_faults_injected(void);

#endif
