// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo.h"
#include "helpers.h"

void th_addr(const char *scheme, char *buf, size_t n)
{
	static unsigned seq;
	seq++;
	if (!strcmp(scheme, "shm"))
		snprintf(buf, n, "shm:wh-test-%d-%u", (int)getpid(), seq);
	else if (!strcmp(scheme, "unix"))
		snprintf(buf, n, "unix:/tmp/wh-test-%d-%u.sock", (int)getpid(), seq);
	else if (!strcmp(scheme, "tls"))
		snprintf(buf, n, "tls:127.0.0.1:0");
	else
		snprintf(buf, n, "tcp:127.0.0.1:0");
}

static char tls_dir[64], tls_cert[128], tls_key[128], tls_ca[128];

static void tls_cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tls_dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tls_dir);
}

bool th_tls_init(void)
{
	const char *script = getenv("WH_TLS_CERTS");
	if (tls_dir[0])
		return true;
	if (!script)
		return false;
	snprintf(tls_dir, sizeof(tls_dir), "/tmp/wh-tls-XXXXXX");
	if (!mkdtemp(tls_dir)) {
		tls_dir[0] = '\0';
		return false;
	}
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s %s/pki >/dev/null", script, tls_dir);
	if (system(cmd)) {
		tls_cleanup();
		tls_dir[0] = '\0';
		return false;
	}
	snprintf(tls_cert, sizeof(tls_cert), "%s/pki/server.pem", tls_dir);
	snprintf(tls_key, sizeof(tls_key), "%s/pki/server.key", tls_dir);
	snprintf(tls_ca, sizeof(tls_ca), "%s/pki/ca.pem", tls_dir);
	setenv("WORMHOLE_TLS_CA", tls_ca, 1);	/* every client checks the server */
	atexit(tls_cleanup);
	return true;
}

void th_tls(struct wh_listen_opts *o)
{
	if (tls_dir[0]) {
		o->tls_cert = tls_cert;
		o->tls_key = tls_key;
	}
}

int th_auth(void *ctx, struct wh_peer *peer, const char *token, size_t len)
{
	(void)ctx;
	if (!token || len != 6 || memcmp(token, "secret", 6))
		return WH_E_DENIED;
	snprintf(peer->auth_name, sizeof(peer->auth_name), "tester");
	return WH_OK;
}

pid_t th_spawn_echo(const char *addr, const struct wh_listen_opts *opts,
		    char *real, size_t n)
{
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		struct wh_listen_opts o = { .auth = th_auth,
					    .server_name = "echo-test" };
		if (opts)
			o = *opts;
		if (!o.tls_cert)
			th_tls(&o);
		struct wh_listener *l;
		char err[256];
		if (wh_listen(addr, &o, &l, err, sizeof(err))) {
			fprintf(stderr, "listen %s: %s\n", addr, err);
			_exit(2);
		}
		char a[256];
		snprintf(a, sizeof(a), "%s", wh_listener_addr(l));
		if (write(p[1], a, strlen(a) + 1) < 0)
			_exit(2);
		close(p[1]);
		for (;;) {
			struct wh_chan *ch;
			if (wh_accept(l, &ch, -1))
				continue;
			int st = wh_echo_serve(ch);
			wh_close(ch);
			if (st == WH_OK) /* EXIT */
				break;
		}
		wh_listener_close(l);
		_exit(0);
	}
	close(p[1]);
	ssize_t r = read(p[0], real, n - 1);
	close(p[0]);
	if (r <= 0) {
		waitpid(pid, NULL, 0);
		return -1;
	}
	real[r] = '\0';
	return pid;
}

void th_stop(pid_t pid, const char *addr)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (addr && !strncmp(addr, "unix:/", 6))
		unlink(addr + 5);
}

int64_t th_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
