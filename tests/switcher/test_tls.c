// SPDX-License-Identifier: MIT
/*
 * tls: switcher (switcher/tls.c): echo through TLS with a CA-checked
 * server, a pinned server, a client certificate instead of a token (mTLS),
 * a server with the wrong certificate (refused, and its auth hook never sees
 * a token), a squatter that only reads bytes (no token among them), and a
 * pool of addresses that fails over at connect time.  Certificates come from
 * scripts/tls-certs.sh (certtool) in a temporary directory.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "echo.h"
#include "helpers.h"

static char dir[256], good[300], evil[300];
static char client_fp[80], server_fp[80];
static const char *token = "secret";

static void path(char *buf, size_t n, const char *pki, const char *f)
{
	snprintf(buf, n, "%s/%s", pki, f);
}

static void read_line(const char *file, char *buf, size_t n)
{
	FILE *f = fopen(file, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, (int)n, f));
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	const char *certs = getenv("WH_TLS_CERTS");
	assert_non_null(certs);
	snprintf(dir, sizeof(dir), "/tmp/wh-tls-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(good, sizeof(good), "%s/good", dir);
	snprintf(evil, sizeof(evil), "%s/evil", dir);
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "%s %s alice && %s %s mallory", certs, good, certs, evil);
	assert_int_equal(system(cmd), 0);
	char f[400];
	path(f, sizeof(f), good, "client.fp");
	read_line(f, client_fp, sizeof(client_fp));
	path(f, sizeof(f), good, "server.fp");
	read_line(f, server_fp, sizeof(server_fp));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Auth hook: the token, or a client certificate whose fingerprint is
 * ctx (when set).  Every token the server sees is appended to
 * dir/seen-tokens, so a test can tell whether one reached the server. */
static int auth(void *ctx, struct wh_peer *peer, const char *tok, size_t len)
{
	char f[300];
	snprintf(f, sizeof(f), "%s/seen-tokens", dir);
	FILE *fp = fopen(f, "a");
	if (fp) {
		fprintf(fp, "%.*s\n", (int)len, tok ? tok : "");
		fclose(fp);
	}
	if (tok && len == strlen(token) && !memcmp(tok, token, len)) {
		snprintf(peer->auth_name, sizeof(peer->auth_name), "token");
		return WH_OK;
	}
	if (ctx && !strcmp(peer->cert_id, ctx) && !strcmp(peer->cert_subject, "CN=alice")) {
		snprintf(peer->auth_name, sizeof(peer->auth_name), "cert");
		return WH_OK;
	}
	return WH_E_DENIED;
}

static pid_t spawn(const char *pki, const char *client_ca, void *ctx, char *addr, size_t n)
{
	static char cert[400], key[400];
	path(cert, sizeof(cert), pki, "server.pem");
	path(key, sizeof(key), pki, "server.key");
	struct wh_listen_opts o = { .auth = auth, .auth_ctx = ctx, .server_name = "tls-test",
				    .tls_cert = cert, .tls_key = key,
				    .tls_client_ca = client_ca };
	pid_t pid = th_spawn_echo("tls:127.0.0.1:0", &o, addr, n);
	assert_true(pid > 0);
	return pid;
}

static void echo_check(struct wh_chan *ch, size_t n)
{
	uint8_t *in = malloc(n), *out = malloc(n);
	assert_non_null(in);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		in[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(wh_echo_bytes(ch, in, n, out), WH_OK);
	assert_memory_equal(in, out, n);
	free(in);
	free(out);
}

static size_t seen_tokens(void)
{
	char f[300];
	snprintf(f, sizeof(f), "%s/seen-tokens", dir);
	FILE *fp = fopen(f, "r");
	if (!fp)
		return 0;
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fclose(fp);
	return n > 0 ? (size_t)n : 0;
}

static void test_ca_checked_echo(void **state)
{
	(void)state;
	char addr[256], ca[400], err[512] = "";
	pid_t pid = spawn(good, NULL, NULL, addr, sizeof(addr));
	assert_int_equal(strncmp(addr, "tls:127.0.0.1:", 14), 0);
	path(ca, sizeof(ca), good, "ca.pem");
	struct wh_client_opts o = { .name = "t", .token = token, .tls_ca = ca };
	struct wh_chan *ch;
	int st = wh_connect(addr, &o, &ch, err, sizeof(err));
	if (st)
		fprintf(stderr, "connect: %s\n", err);
	assert_int_equal(st, WH_OK);
	assert_string_equal(wh_chan_scheme(ch), "tls");
	echo_check(ch, 64);
	echo_check(ch, 4u << 20);	/* many records, both ways */
	for (uint64_t i = 1; i <= 1000; i++)
		assert_int_equal(wh_echo_post(ch, i, i), WH_OK);
	uint64_t posts, sum;
	bool in_order;
	assert_int_equal(wh_echo_sum(ch, &posts, &sum, &in_order), WH_OK);
	assert_int_equal(posts, 1000);
	assert_int_equal(sum, 500500);
	assert_true(in_order);
	wh_close(ch);

	/* A wrong token over a good TLS session is still refused. */
	o.token = "not-the-secret";
	assert_int_equal(wh_connect(addr, &o, &ch, err, sizeof(err)), WH_E_DENIED);
	th_stop(pid, NULL);
}

static void test_pinned(void **state)
{
	(void)state;
	char addr[256], err[512] = "";
	pid_t pid = spawn(good, NULL, NULL, addr, sizeof(addr));
	struct wh_client_opts o = { .name = "t", .token = token, .tls_pin = server_fp };
	struct wh_chan *ch;
	assert_int_equal(wh_connect(addr, &o, &ch, err, sizeof(err)), WH_OK);
	echo_check(ch, 1000);
	wh_close(ch);
	o.tls_pin = client_fp;	/* some other certificate's fingerprint */
	assert_int_equal(wh_connect(addr, &o, &ch, err, sizeof(err)), WH_E_DENIED);
	assert_non_null(strstr(err, "does not match the pinned"));
	th_stop(pid, NULL);
}

static void test_client_certificate(void **state)
{
	(void)state;
	char addr[256], ca[400], cert[400], key[400], err[512] = "";
	path(ca, sizeof(ca), good, "ca.pem");
	path(cert, sizeof(cert), good, "client.pem");
	path(key, sizeof(key), good, "client.key");
	pid_t pid = spawn(good, ca, client_fp, addr, sizeof(addr));
	/* No token: the certificate is the identity. */
	struct wh_client_opts o = { .name = "t", .tls_ca = ca, .tls_cert = cert, .tls_key = key };
	struct wh_chan *ch;
	int st = wh_connect(addr, &o, &ch, err, sizeof(err));
	if (st)
		fprintf(stderr, "connect: %s\n", err);
	assert_int_equal(st, WH_OK);
	echo_check(ch, 100000);
	wh_close(ch);
	/* Without it (and no token): refused. */
	struct wh_client_opts bare = { .name = "t", .tls_ca = ca };
	assert_int_equal(wh_connect(addr, &bare, &ch, err, sizeof(err)), WH_E_DENIED);
	/* Another CA's client certificate: its fingerprint is not alice's. */
	path(cert, sizeof(cert), evil, "client.pem");
	path(key, sizeof(key), evil, "client.key");
	assert_int_equal(wh_connect(addr, &o, &ch, err, sizeof(err)), WH_E_DENIED);
	th_stop(pid, NULL);
}

static void test_wrong_server_gets_no_token(void **state)
{
	(void)state;
	char addr[256], ca[400], err[512] = "";
	char f[300];
	snprintf(f, sizeof(f), "%s/seen-tokens", dir);
	unlink(f);
	/* A server with a certificate from another CA (for the same names). */
	pid_t pid = spawn(evil, NULL, NULL, addr, sizeof(addr));
	path(ca, sizeof(ca), good, "ca.pem");
	struct wh_client_opts o = { .name = "t", .token = token, .tls_ca = ca };
	struct wh_chan *ch;
	assert_int_equal(wh_connect(addr, &o, &ch, err, sizeof(err)), WH_E_DENIED);
	assert_non_null(strstr(err, "server certificate refused"));
	th_stop(pid, NULL);
	assert_int_equal(seen_tokens(), 0);
}

static void test_squatter_reads_no_token(void **state)
{
	(void)state;
	/* A squatter that holds the port and reads whatever arrives. */
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sl), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	char addr[64], ca[400], err[512] = "";
	snprintf(addr, sizeof(addr), "tls:127.0.0.1:%u", ntohs(sa.sin_port));
	path(ca, sizeof(ca), good, "ca.pem");
	struct wh_client_opts o = { .name = "t", .token = "squat-me-0123456789",
				    .tls_ca = ca, .connect_timeout_ms = 300 };
	struct wh_chan *ch;
	assert_int_not_equal(wh_connect(addr, &o, &ch, err, sizeof(err)), WH_OK);
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	assert_true(fd >= 0);
	char buf[65536];
	ssize_t n = 0, r;
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += r;
	assert_true(n > 0);	/* the ClientHello came */
	assert_null(memmem(buf, (size_t)n, "squat-me", 8));
	close(fd);

	/* The same client over cleartext tcp: the squatter gets the token
	 * (why tcp: warns). */
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%u", ntohs(sa.sin_port));
	assert_int_not_equal(wh_connect(addr, &o, &ch, err, sizeof(err)), WH_OK);
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	assert_true(fd >= 0);
	n = 0;
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += r;
	assert_non_null(memmem(buf, (size_t)n, "squat-me", 8));
	close(fd);
	close(lfd);
}

static void test_pool_failover(void **state)
{
	(void)state;
	char addr[256], ca[400], pool[700], err[1024] = "";
	pid_t pid = spawn(good, NULL, NULL, addr, sizeof(addr));
	path(ca, sizeof(ca), good, "ca.pem");
	/* A port nobody listens on: bind one and close it. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	unsigned dead = ntohs(sa.sin_port);
	struct wh_client_opts o = { .name = "t", .token = token, .tls_ca = ca };
	struct wh_chan *ch;
	snprintf(pool, sizeof(pool), "tls:127.0.0.1:%u,%s", dead, addr);
	assert_int_equal(wh_connect(pool, &o, &ch, err, sizeof(err)), WH_OK);
	echo_check(ch, 5000);
	wh_close(ch);
	/* The first member up wins. */
	snprintf(pool, sizeof(pool), "%s,tls:127.0.0.1:%u", addr, dead);
	assert_int_equal(wh_connect(pool, &o, &ch, err, sizeof(err)), WH_OK);
	wh_close(ch);
	th_stop(pid, NULL);
	/* None up: every member's reason. */
	snprintf(pool, sizeof(pool), "tls:127.0.0.1:%u,%s", dead, addr);
	assert_int_not_equal(wh_connect(pool, &o, &ch, err, sizeof(err)), WH_OK);
	assert_non_null(strchr(err, ';'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_checked_echo),
		cmocka_unit_test(test_pinned),
		cmocka_unit_test(test_client_certificate),
		cmocka_unit_test(test_wrong_server_gets_no_token),
		cmocka_unit_test(test_squatter_reads_no_token),
		cmocka_unit_test(test_pool_failover),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
