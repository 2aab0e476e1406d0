/*
 * desk-client: a desktop for integration tests of cable-phone, built from the core and the real
 * adapters (BlueZ scanner, tunnel client) through the test desktop driver (tests/support/desk.c).
 * Prints "url FIDO:/..." first, then what the desktop's core reported, one fact per line:
 *   advert UUID LEN ROUTING_ID DOMAIN | handshake | revision N | updates N LEN | getinfo HEX
 *   response HEX | mc-ok ID PUB COUNTER | ga-ok | check-failed NAME | error NAME STAGE
 *   after-error NAME | advert-error NAME | closed | result ok|fail
 * Usage: desk-client [--tunnel-server URL] [--tunnel-ca FILE] [--adapter hciN] [--timeout SEC]
 *        [--hint mc|ga] [--mc RP | --ga RP [--cred ID:PUB:COUNTER]] [--cdh HEX] [--url-file FILE]
 * Exit: 0 when the session succeeded (and the response checked out), 1 otherwise, 2 usage.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cable/bytes.h"
#include "cable/error.h"
#include "cable/loop-lws.h"
#include "cable/session-io.h"
#include "desk.h"

struct app {
	struct cable_loop *loop;
};

static void
on_done(void *arg)
{
	struct app *app = arg;
	app->loop->ops->quit(app->loop, 0);
}

static void
print_hex(const char *tag, const uint8_t *p, size_t len, const char *suffix)
{
	char *hex = malloc(2 * len + 1);

	if (hex == NULL)
		return;
	cable_hex_encode(p, len, hex, false);
	printf("%s %s%s\n", tag, len ? hex : "-", suffix);
	free(hex);
}

static int
parse_cred(const char *s, struct desk_cred *cred)
{
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	size_t id_hex = c1 ? (size_t)(c1 - s) : 0;

	if (c2 == NULL || id_hex % 2 || id_hex / 2 > DESK_CRED_ID_MAX || (size_t)(c2 - c1 - 1) != 130)
		return -1;
	cred->id_len = id_hex / 2;
	if (cable_hex_decode(s, id_hex, cred->id, cred->id_len) != 0 ||
	    cable_hex_decode(c1 + 1, 130, cred->pub, 65) != 0)
		return -1;
	cred->counter = (uint32_t)strtoul(c2 + 1, NULL, 10);
	return 0;
}

int
main(int argc, char **argv)
{
	enum { O_SERVER = 256, O_CA, O_ADAPTER, O_TIMEOUT, O_HINT, O_MC, O_GA, O_CRED, O_CDH, O_URLFILE };
	static const struct option opts[] = {
		{"tunnel-server", required_argument, NULL, O_SERVER},
		{"tunnel-ca", required_argument, NULL, O_CA},
		{"adapter", required_argument, NULL, O_ADAPTER},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"hint", required_argument, NULL, O_HINT},
		{"mc", required_argument, NULL, O_MC},
		{"ga", required_argument, NULL, O_GA},
		{"cred", required_argument, NULL, O_CRED},
		{"cdh", required_argument, NULL, O_CDH},
		{"url-file", required_argument, NULL, O_URLFILE},
		{NULL, 0, NULL, 0},
	};
	struct app app = {0};
	struct cable_session_io_real_config rcfg = {0};
	struct cable_session_io_real *io = NULL;
	struct desk_config dcfg = {0};
	struct desk *d = NULL;
	struct desk_cred cred = {0};
	const struct desk_result *res;
	const char *mc_rp = NULL, *ga_rp = NULL, *url_file = NULL;
	uint8_t cdh[32], *req = NULL;
	size_t req_len = 0;
	char *url = NULL;
	bool have_cred = false, ok = false;
	int c, r, rc = 1;

	memset(cdh, 0x5c, sizeof(cdh));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_SERVER: rcfg.tunnel_server = optarg; break;
		case O_CA: rcfg.tunnel_ca = optarg; break;
		case O_ADAPTER: rcfg.adapter = optarg; break;
		case O_TIMEOUT: dcfg.timeout_ms = (uint32_t)strtoul(optarg, NULL, 10) * 1000; break;
		case O_HINT: dcfg.hint = cable_request_type_from_str(optarg, strlen(optarg)); break;
		case O_MC: mc_rp = optarg; dcfg.hint = CABLE_REQUEST_MC; break;
		case O_GA: ga_rp = optarg; break;
		case O_CRED:
			if (parse_cred(optarg, &cred) != 0) {
				fprintf(stderr, "desk-client: bad --cred\n");
				return 2;
			}
			have_cred = true;
			break;
		case O_CDH:
			if (strlen(optarg) != 64 || cable_hex_decode(optarg, 64, cdh, 32) != 0) {
				fprintf(stderr, "desk-client: bad --cdh\n");
				return 2;
			}
			break;
		case O_URLFILE: url_file = optarg; break;
		default:
			fprintf(stderr, "usage: see the comment at the top of desk-client.c\n");
			return 2;
		}
	}
	if (mc_rp != NULL)
		r = desk_build_mc(mc_rp, cdh, (const uint8_t *)"user-1", 6, "user1@example.com", true, &req,
		    &req_len);
	else if (ga_rp != NULL)
		r = desk_build_ga(ga_rp, cdh, NULL, 0, &req, &req_len);
	else
		r = desk_build_ga("example.com", cdh, NULL, 0, &req, &req_len);
	if (r != 0)
		return 2;
	if ((app.loop = cable_loop_lws_new(NULL)) == NULL)
		goto out;
	if ((r = cable_session_io_real_new(app.loop, &rcfg, &io)) != 0) {
		printf("error %s setup\n", cable_errname(r));
		goto out;
	}
	dcfg.env = cable_env_system();
	dcfg.request = req;
	dcfg.request_len = req_len;
	dcfg.done = on_done;
	dcfg.done_arg = &app;
	if ((r = desk_new(cable_session_io_real_get(io), &dcfg, &d)) != 0 || (r = desk_start(d, &url)) != 0) {
		printf("error %s start\n", cable_errname(r));
		goto out;
	}
	printf("url %s\n", url);
	fflush(stdout);
	if (url_file != NULL) {
		FILE *f = fopen(url_file, "w");
		if (f == NULL || fprintf(f, "%s\n", url) < 0 || fclose(f) != 0)
			goto out;
	}
	cable_loop_lws_run(app.loop);

	res = desk_result(d);
	if (res->advert_error != 0)
		printf("advert-error %s\n", cable_errname(res->advert_error));
	if (res->adverts_matched > 0) {
		char rid[7];
		cable_hex_encode(res->advert.eid.routing_id, 3, rid, false);
		printf("advert %04x %zu %s %u\n", res->advert_uuid, res->advert_len, rid,
		    res->advert.eid.domain_id);
	}
	if (res->handshake_done)
		printf("handshake\n");
	if (res->revision >= 0)
		printf("revision %d\n", res->revision);
	if (res->getinfo != NULL)
		print_hex("getinfo", res->getinfo, res->getinfo_len, "");
	printf("updates %u %zu\n", res->updates, res->first_update_ct_len);
	if (res->response != NULL)
		print_hex("response", res->response, res->response_len, "");
	if (res->error != 0)
		printf("error %s %s\n", cable_errname(res->error), desk_stage_name(res->error_stage));
	if (res->after_error != 0)
		printf("after-error %s\n", cable_errname(res->after_error));
	if (res->closed)
		printf("closed\n");
	ok = res->error == 0 && res->response != NULL;
	if (ok && mc_rp != NULL) {
		if ((r = desk_check_mc(res->response, res->response_len, mc_rp, &cred)) == 0) {
			char suffix[32];
			print_hex("mc-ok", cred.id, cred.id_len, "");
			snprintf(suffix, sizeof(suffix), " %u", cred.counter);
			print_hex("mc-pub", cred.pub, 65, suffix);
		} else {
			printf("check-failed %s\n", cable_errname(r));
			ok = false;
		}
	} else if (ok && ga_rp != NULL && have_cred) {
		if ((r = desk_check_ga(res->response, res->response_len, ga_rp, cdh, &cred)) == 0)
			printf("ga-ok\n");
		else {
			printf("check-failed %s\n", cable_errname(r));
			ok = false;
		}
	}
	printf("result %s\n", ok ? "ok" : "fail");
	rc = ok ? 0 : 1;
out:
	fflush(stdout);
	desk_free(&d);
	cable_session_io_real_free(&io);
	cable_loop_lws_free(&app.loop);
	free(req);
	free(url);
	return rc;
}
