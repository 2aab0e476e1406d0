/* Test helper: runs the software authenticator on CTAP requests given as hex lines on stdin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cable/authenticator.h"
#include "cable/bytes.h"
#include "cable/cred-store.h"
#include "cable/error.h"
#include "tv.h"

static const char usage[] =
    "usage: softauth-ctap (--store FILE | --ephemeral) [--attestation none|packed] [--deny]\n"
    "                     [--select N] [--list-accounts] [--seed N] [--info]\n"
    "Reads one CTAP request (command byte || CBOR) per line as hex on stdin and prints each\n"
    "response (status byte || CBOR) as a hex line. --info prints the getInfo CBOR and exits.\n";

struct ui {
	int deny;
	size_t select;
};

static int
on_confirm(void *ctx, const struct cable_authenticator_prompt *p, size_t *selected)
{
	const struct ui *ui = ctx;

	fprintf(stderr, "softauth-ctap: prompt kind=%d rp=%s accounts=%zu\n", (int)p->kind,
	    p->rp_id ? p->rp_id : "-", p->n_accounts);
	if (ui->deny)
		return 0x27;
	*selected = ui->select;
	return 0;
}

static void
print_hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	if (s == NULL)
		exit(1);
	cable_hex_encode(p, n, s, false);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
}

int
main(int argc, char **argv)
{
	struct cable_authenticator_config cfg;
	struct cable_authenticator *a = NULL;
	struct cable_cred_store *store = NULL;
	struct tv_env tenv;
	const struct cable_env *env = cable_env_system();
	const char *path = NULL;
	struct ui ui = {0, 0};
	int ephemeral = 0, info = 0, r, rc = 1;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	memset(&cfg, 0, sizeof(cfg));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--ephemeral") == 0) {
			ephemeral = 1;
		} else if (strcmp(argv[i], "--attestation") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "packed") == 0)
				cfg.attestation = CABLE_ATTESTATION_PACKED_SELF;
			else if (strcmp(argv[i], "none") != 0)
				goto usage;
		} else if (strcmp(argv[i], "--deny") == 0) {
			ui.deny = 1;
		} else if (strcmp(argv[i], "--select") == 0 && i + 1 < argc) {
			ui.select = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--list-accounts") == 0) {
			cfg.list_accounts = true;
		} else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			tv_env_init(&tenv, (uint32_t)strtoul(argv[++i], NULL, 10));
			env = &tenv.env;
		} else if (strcmp(argv[i], "--info") == 0) {
			info = 1;
		} else {
			goto usage;
		}
	}
	if ((path == NULL) == (ephemeral == 0))
		goto usage;
	if (ephemeral)
		r = cable_cred_store_new(env, &store);
	else
		r = cable_cred_store_load_file(path, env, &store);
	if (r != 0) {
		fprintf(stderr, "softauth-ctap: store: %s\n", cable_strerror(r));
		goto out;
	}
	cfg.store = store;
	cfg.confirm = on_confirm;
	cfg.confirm_ctx = &ui;
	if (!ephemeral) {
		cfg.persist = cable_cred_store_persist_file;
		cfg.persist_ctx = (void *)(uintptr_t)path;
	}
	if ((a = cable_authenticator_new(env, &cfg)) == NULL)
		goto out;
	if (info) {
		const uint8_t *p;
		size_t len;
		if (cable_authenticator_get_info(a, &p, &len) != 0)
			goto out;
		print_hex(p, len);
		rc = 0;
		goto out;
	}
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		uint8_t *req = NULL, *resp = NULL;
		size_t req_len, resp_len;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (cable_hex_decode_alloc(line, &req, &req_len) != 0) {
			fprintf(stderr, "softauth-ctap: bad hex line\n");
			goto out;
		}
		r = cable_authenticator_handle(a, req, req_len, &resp, &resp_len);
		free(req);
		if (r != 0) {
			printf("ERR %s\n", cable_errname(r));
			fflush(stdout);
			continue;
		}
		print_hex(resp, resp_len);
		free(resp);
	}
	rc = 0;
out:
	free(line);
	cable_authenticator_free(&a);
	cable_cred_store_free(&store);
	return rc;
usage:
	fputs(usage, stderr);
	return 2;
}
