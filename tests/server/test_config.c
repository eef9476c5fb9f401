// SPDX-License-Identifier: MIT
/* Policy file: good files load, bad lines are named with their number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char path[64];

static int load(struct wh_config *cfg, const char *text, char *err, size_t errlen)
{
	strcpy(path, "/tmp/whcfg-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	wh_config_defaults(cfg);
	int rc = wh_config_load(cfg, path, err, errlen);
	unlink(path);
	return rc;
}

static void test_good(void **state)
{
	(void)state;
	static struct wh_config cfg;
	char err[256];
	const char *text =
		"# policy\n[server]\nlisten = shm:demo\nlisten = tcp:127.0.0.1:7000\n"
		"metrics = 127.0.0.1:9464\n\n[default]\nweight = 2\nmem = 512M\n"
		"[client alice]\ntoken = 0123456789abcdef0123\nweight = 3\ncap=50 ; comment\n"
		"[client bob]\nuid = 1000\nmem = 1G\nrate = 1000\nobjects = 10\ninflight = 4\n";
	assert_int_equal(load(&cfg, text, err, sizeof(err)), 0);
	assert_int_equal(cfg.nlisten, 2);
	assert_string_equal(cfg.listen[1], "tcp:127.0.0.1:7000");
	assert_int_equal(cfg.nclients, 2);
	assert_int_equal(cfg.clients[0].limits.weight, 3);
	assert_int_equal(cfg.clients[0].limits.mem_bytes, 512ull << 20); /* inherits default */
	assert_int_equal(cfg.clients[0].limits.cap_pct, 50);
	assert_int_equal(cfg.clients[1].limits.mem_bytes, 1ull << 30);
	assert_true(cfg.clients[1].has_uid && cfg.clients[1].uid == 1000);
	const struct wh_client_policy *p =
		wh_config_by_token(&cfg, "0123456789abcdef0123", 20);
	assert_non_null(p);
	assert_string_equal(p->name, "alice");
	assert_null(wh_config_by_token(&cfg, "0123456789abcdef012", 19));
	assert_null(wh_config_by_token(&cfg, "", 0));
	struct wh_peer peer = { .kind = WH_PEER_UNIX, .pid = 5, .uid = 1000 };
	p = wh_config_match(&cfg, &peer);
	assert_non_null(p);
	assert_string_equal(p->name, "bob");
	wh_config_free(&cfg);
}

static void expect_bad(const char *text, int line, const char *why)
{
	static struct wh_config cfg;
	char err[256], want[64];
	assert_int_equal(load(&cfg, text, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), ":%d: ", line);
	if (!strstr(err, want) || !strstr(err, why))
		fail_msg("error '%s' lacks '%s' and '%s'", err, want, why);
	wh_config_free(&cfg);
}

static void test_bad(void **state)
{
	(void)state;
	expect_bad("weight = 1\n", 1, "outside any section");
	expect_bad("[server]\nlisten\n", 2, "expected 'key = value'");
	expect_bad("[bogus]\n", 1, "unknown section");
	expect_bad("[client a]\nweight = 0\n", 2, "bad value");
	expect_bad("[client a]\nmem = lots\n", 2, "bad value");
	expect_bad("[client a]\ntoken = short\n", 2, "too short");
	expect_bad("[client a]\nuid = 7\n[client a]\n", 3, "defined twice");
	/* a token names one client; a section without identity matches nobody */
	expect_bad("[client a]\ntoken = 0123456789abcdef0\n[client b]\ntoken = 0123456789abcdef0\n",
		   4, "client 'b' has the same token as client 'a'");
	expect_bad("[client a]\nuid = 7\n[client lost]\nweight = 2\n[client c]\nuid = 8\n", 3,
		   "client 'lost' can never match");
	expect_bad("[client a]\nuid = 7\n[client lost]\nweight = 2\n", 3, "can never match");
	expect_bad("[default]\ncolour = blue\n", 2, "unknown key");
	expect_bad("[client a]\ncap = 101\n", 2, "bad value");
	expect_bad("[server]\nfoo = 1\n", 2, "unknown server key");
	expect_bad("[client ]\n", 1, "needs a name");
	expect_bad("[client a\n", 1, "malformed section header");
}

/* tls: keys, clients by certificate, admin flag (issue 17). */
static void test_tls_identity(void **state)
{
	(void)state;
	static struct wh_config cfg;
	char err[256];
	const char *fp = "sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
	char text[1024];
	snprintf(text, sizeof(text),
		 "[server]\ntls_cert = /etc/wh/s.pem\ntls_key = /etc/wh/s.key\n"
		 "tls_client_ca = /etc/wh/ca.pem\nstate = /var/lib/wh/clients\n"
		 "[client node1]\ncert = %s\nadmin = yes\n"
		 "[client carol]\nsubject = CN=carol,O=lab\n", fp);
	assert_int_equal(load(&cfg, text, err, sizeof(err)), 0);
	assert_string_equal(cfg.tls_cert, "/etc/wh/s.pem");
	assert_string_equal(cfg.tls_client_ca, "/etc/wh/ca.pem");
	assert_string_equal(cfg.state, "/var/lib/wh/clients");
	assert_true(cfg.clients[0].admin);
	assert_false(cfg.clients[1].admin);
	struct wh_peer peer = { .kind = WH_PEER_TLS, .pid = -1 };
	/* stored lower-case: matches what the switcher reports */
	snprintf(peer.cert_id, sizeof(peer.cert_id), "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	const struct wh_client_policy *p = wh_config_by_cert(&cfg, &peer);
	assert_non_null(p);
	assert_string_equal(p->name, "node1");
	peer.cert_id[10] = '0';
	assert_null(wh_config_by_cert(&cfg, &peer));
	/* a subject counts only when the switcher verified it (non-empty) */
	snprintf(peer.cert_subject, sizeof(peer.cert_subject), "CN=carol,O=lab");
	p = wh_config_by_cert(&cfg, &peer);
	assert_non_null(p);
	assert_string_equal(p->name, "carol");
	peer.cert_id[0] = '\0';
	assert_null(wh_config_by_cert(&cfg, &peer));
	wh_config_free(&cfg);

	expect_bad("[client x]\ncert = sha1:abcd\n", 2, "bad cert 'sha1:abcd'");
	expect_bad("[client x]\ncert = sha256:abcd\n", 2, "bad cert");
	expect_bad("[client x]\nadmin = maybe\n", 2, "admin takes yes or no");
}

static void test_sizes(void **state)
{
	(void)state;
	uint64_t v;
	assert_true(wh_parse_size("4K", &v) && v == 4096);
	assert_true(wh_parse_size("2GiB", &v) && v == 2ull << 30);
	assert_true(wh_parse_size("17", &v) && v == 17);
	assert_false(wh_parse_size("-1", &v));
	assert_false(wh_parse_size("1X", &v));
	assert_false(wh_parse_size("99999999999999999999", &v));
	assert_false(wh_parse_size("20000000000000T", &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_tls_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
