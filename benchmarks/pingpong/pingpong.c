// SPDX-License-Identifier: MIT
/*
 * wh-pingpong: round-trip latency and throughput of the switchers.
 *
 * For every transport (shm, unix, tcp, tls with --tls-dir, and a plain
 * pipe pair as the
 * baseline) a server is forked, then the client runs echo round trips
 * (switcher/echo.h: the request carries N bytes, the reply brings the same
 * N bytes back into the caller's buffer) for each payload size.  One table
 * on stdout; --csv DIR also writes DIR/summary.csv and one file of raw
 * round-trip times per transport and size for plot.gp.
 *
 * Throughput counts the bytes moved both ways (2N per round trip); the
 * memcpy line is a plain memcpy of N bytes between two buffers, for
 * reference.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo.h"
#include "wormhole/switcher.h"

static double budget_s = 1.0;   /* time per (transport, size) */
static int pin = -1;            /* --pin: client on CPU pin, server on pin+1 */

static void pin_to(int cpu)
{
	if (pin < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity");
}
static const char *csv_dir;
/* --tls-dir: scripts/tls-certs.sh's output (server.pem/key, ca.pem). */
static char tls_cert[4096], tls_key[4096], tls_ca[4096];
static FILE *summary;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void human(char *b, size_t n, size_t v)
{
	if (v >= (1u << 20) && v % (1u << 20) == 0)
		snprintf(b, n, "%zu MiB", v >> 20);
	else if (v >= 1024 && v % 1024 == 0)
		snprintf(b, n, "%zu KiB", v >> 10);
	else
		snprintf(b, n, "%zu B", v);
}

static int max_iters(size_t size)
{
	if (size >= (16u << 20))
		return 30;
	if (size >= (1u << 20))
		return 500;
	return 200000;
}

/* Print one row; lat holds n round-trip times in seconds. */
static void report(const char *transport, size_t size, double *lat, int n)
{
	qsort(lat, (size_t)n, sizeof(double), cmp_d);
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += lat[i];
	double mean = sum / n, p50 = lat[n / 2],
	       p99 = lat[(int)((n - 1) * 0.99)];
	double mbps = size ? 2.0 * (double)size / mean / 1e6 : 0;
	char hs[32];
	human(hs, sizeof(hs), size);
	printf("%-8s %9s %8d %11.2f %11.2f %11.2f %11.0f %10.0f\n", transport,
	       hs, n, p50 * 1e6, p99 * 1e6, mean * 1e6, 1.0 / mean, mbps);
	fflush(stdout);
	if (summary)
		fprintf(summary, "%s,%zu,%d,%.4f,%.4f,%.4f,%.1f\n", transport,
			size, n, p50 * 1e6, p99 * 1e6, mean * 1e6, mbps);
	if (csv_dir) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/lat-%s-%zu.csv", csv_dir,
			 transport, size);
		FILE *f = fopen(path, "w");
		if (f) {
			fprintf(f, "# round-trip time (us), sorted; fraction\n");
			for (int i = 0; i < n; i++)
				fprintf(f, "%.4f %.6f\n", lat[i] * 1e6,
					(i + 1.0) / n);
			fclose(f);
		}
	}
}

/* At most one progress line a second on stderr. */
static void progress(const char *t, size_t size, int i, int n)
{
	static double last;
	double now = now_s();
	if (now - last < 1.0 && i != n)
		return;
	last = now;
	char hs[32];
	human(hs, sizeof(hs), size);
	fprintf(stderr, "[%s %s] %d/%d round trips\n", t, hs, i, n);
}

/* ---- switchers -------------------------------------------------------- */

static int auth(void *ctx, struct wh_peer *peer, const char *tok, size_t len)
{
	(void)ctx;
	(void)peer;
	return tok && len == 5 && !memcmp(tok, "bench", 5) ? WH_OK : WH_E_DENIED;
}

static pid_t spawn_server(const char *addr, char *real, size_t n)
{
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		pin_to(pin + 1);
		close(p[0]);
		/* Arena for 64 MiB in + 64 MiB out and the next call's. */
		struct wh_listen_opts o = { .auth = auth,
					    .shm_arena_size = 512u << 20,
					    .tls_cert = tls_cert, .tls_key = tls_key };
		struct wh_listener *l;
		char err[256];
		if (wh_listen(addr, &o, &l, err, sizeof(err))) {
			fprintf(stderr, "server: %s\n", err);
			_exit(2);
		}
		const char *a = wh_listener_addr(l);
		if (write(p[1], a, strlen(a) + 1) < 0)
			_exit(2);
		close(p[1]);
		struct wh_chan *ch;
		if (wh_accept(l, &ch, 10000))
			_exit(3);
		wh_echo_serve(ch);
		wh_close(ch);
		wh_listener_close(l);
		_exit(0);
	}
	close(p[1]);
	ssize_t r = read(p[0], real, n - 1);
	close(p[0]);
	if (r <= 0)
		return -1;
	real[r] = '\0';
	return pid;
}

static int bench_switcher(const char *name, const char *addr,
			  const size_t *sizes, int nsizes)
{
	char real[256], err[256];
	pid_t pid = spawn_server(addr, real, sizeof(real));
	if (pid < 0) {
		fprintf(stderr, "%s: server did not start\n", name);
		return -1;
	}
	struct wh_client_opts co = { .name = "wh-pingpong", .token = "bench",
				     .tls_ca = tls_ca };
	struct wh_chan *ch;
	if (wh_connect(real, &co, &ch, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", name, err);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	int rc = 0;
	for (int s = 0; s < nsizes && !rc; s++) {
		size_t size = sizes[s];
		uint8_t *in = malloc(size + 1), *out = malloc(size + 1);
		memset(in, 0x5a, size);
		memset(out, 0, size);
		int iters = max_iters(size);
		double *lat = malloc(sizeof(double) * (size_t)iters);
		/* warm-up: page faults, caches, arena pages */
		for (int i = 0; i < (size > (1u << 20) ? 2 : 100) && !rc; i++)
			rc = wh_echo_bytes(ch, in, size, out);
		double start = now_s();
		int n = 0;
		while (!rc && n < iters && (n < 5 || now_s() - start < budget_s)) {
			double t0 = now_s();
			rc = wh_echo_bytes(ch, in, size, out);
			lat[n++] = now_s() - t0;
			if (size >= (1u << 20))
				progress(name, size, n, iters);

		}
		if (size >= (1u << 20))
			progress(name, size, n, n);
		if (!rc && size && (out[0] != 0x5a || out[size - 1] != 0x5a))
			rc = WH_E_MALFORMED;
		if (rc)
			fprintf(stderr, "%s: echo failed: %s\n", name,
				wh_status_str((uint32_t)rc));
		else
			report(name, size, lat, n);
		free(lat);
		free(in);
		free(out);
	}
	struct wh_msg r;
	wh_call(ch, WH_API_ECHO, WH_ECHO_F_EXIT, NULL, &r);
	wh_close(ch);
	waitpid(pid, NULL, 0);
	return rc;
}

/* ---- pipe baseline ---------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static void bench_pipe(const size_t *sizes, int nsizes)
{
	int to[2], from[2];
	if (pipe(to) || pipe(from))
		return;
	size_t maxs = 0;
	for (int i = 0; i < nsizes; i++)
		maxs = sizes[i] > maxs ? sizes[i] : maxs;
	pid_t pid = fork();
	if (pid == 0) {
		pin_to(pin + 1);
		close(to[1]);
		close(from[0]);
		uint8_t *buf = malloc(maxs + 1);
		uint64_t n;
		while (read_all(to[0], &n, 8) == 0 && n <= maxs) {
			if (read_all(to[0], buf, n) || write_all(from[1], &n, 8) ||
			    write_all(from[1], buf, n))
				break;
		}
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	for (int s = 0; s < nsizes; s++) {
		size_t size = sizes[s];
		uint8_t *in = malloc(size + 1), *out = malloc(size + 1);
		memset(in, 0x5a, size);
		int iters = max_iters(size);
		double *lat = malloc(sizeof(double) * (size_t)iters);
		double start = now_s();
		int n = 0, bad = 0;
		for (int w = -2; !bad && n < iters &&
				 (n < 5 || now_s() - start < budget_s); w++) {
			double t0 = now_s();
			uint64_t len = size, rl;
			/* A request/reply pair, both ways over pipes. */
			bad = write_all(to[1], &len, 8) || write_all(to[1], in, size) ||
			      read_all(from[0], &rl, 8) || rl != size ||
			      read_all(from[0], out, size);
			if (w >= 0)
				lat[n++] = now_s() - t0;
			if (size >= (1u << 20))
				progress("pipe", size, n, iters);
		}
		if (size >= (1u << 20))
			progress("pipe", size, n, n);
		if (!bad)
			report("pipe", size, lat, n);
		free(lat);
		free(in);
		free(out);
	}
	close(to[1]);
	close(from[0]);
	waitpid(pid, NULL, 0);
}

static void bench_memcpy(const size_t *sizes, int nsizes)
{
	for (int s = 0; s < nsizes; s++) {
		size_t size = sizes[s];
		if (!size)
			continue;
		uint8_t *a = malloc(size), *b = malloc(size);
		memset(a, 1, size);
		memset(b, 2, size);
		int iters = max_iters(size);
		double *lat = malloc(sizeof(double) * (size_t)iters);
		double start = now_s();
		int n = 0;
		while (n < iters && (n < 5 || now_s() - start < budget_s)) {
			double t0 = now_s();
			memcpy(n & 1 ? a : b, n & 1 ? b : a, size);
			__asm__ __volatile__("" ::: "memory");
			lat[n++] = now_s() - t0;
		}
		/* Report memcpy as one-way bytes per second: halve the 2N. */
		qsort(lat, (size_t)n, sizeof(double), cmp_d);
		double sum = 0;
		for (int i = 0; i < n; i++)
			sum += lat[i];
		double mean = sum / n;
		char hs[32];
		human(hs, sizeof(hs), size);
		printf("%-8s %9s %8d %11.2f %11.2f %11.2f %11.0f %10.0f\n",
		       "memcpy", hs, n, lat[n / 2] * 1e6,
		       lat[(int)((n - 1) * 0.99)] * 1e6, mean * 1e6, 1.0 / mean,
		       (double)size / mean / 1e6);
		if (summary)
			fprintf(summary, "memcpy,%zu,%d,%.4f,%.4f,%.4f,%.1f\n", size,
				n, lat[n / 2] * 1e6, lat[(int)((n - 1) * 0.99)] * 1e6,
				mean * 1e6, (double)size / mean / 1e6);
		free(lat);
		free(a);
		free(b);
	}
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--csv DIR] [--time SECONDS] [--only LIST] [--sizes LIST]\n"
		"  --csv DIR       also write DIR/summary.csv and DIR/lat-*.csv\n"
		"  --time S        time budget per transport and size (default 1)\n"
		"  --only LIST     transports, e.g. shm,unix,tcp,tls,pipe,memcpy\n"
		"  --tls-dir DIR   tls: too, with DIR/server.pem, server.key, ca.pem\n"
		"                  (scripts/tls-certs.sh DIR makes them)\n"
		"  --sizes LIST    bytes, e.g. 0,64,4096,1048576 (K/M suffixes ok)\n"
		"  --pin CPU       client on CPU, servers on CPU+1 (default: unpinned)\n",
		argv0);
}

int main(int argc, char **argv)
{
	size_t sizes[16] = { 0, 64, 4096, 1u << 20, 64u << 20 };
	int nsizes = 5;
	const char *only = "shm,unix,tcp,pipe,memcpy";
	static const struct option lo[] = {
		{ "csv", required_argument, NULL, 'c' },
		{ "time", required_argument, NULL, 't' },
		{ "only", required_argument, NULL, 'o' },
		{ "sizes", required_argument, NULL, 's' },
		{ "pin", required_argument, NULL, 'p' },
		{ "tls-dir", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "c:t:o:s:p:h", lo, NULL)) != -1) {
		switch (c) {
		case 'T':
			snprintf(tls_cert, sizeof(tls_cert), "%s/server.pem", optarg);
			snprintf(tls_key, sizeof(tls_key), "%s/server.key", optarg);
			snprintf(tls_ca, sizeof(tls_ca), "%s/ca.pem", optarg);
			break;
		case 'p':
			pin = atoi(optarg);
			break;
		case 'c':
			csv_dir = optarg;
			break;
		case 't':
			budget_s = atof(optarg);
			break;
		case 'o':
			only = optarg;
			break;
		case 's': {
			nsizes = 0;
			char *save, *tok, *list = strdup(optarg);
			for (tok = strtok_r(list, ",", &save); tok && nsizes < 16;
			     tok = strtok_r(NULL, ",", &save)) {
				char *end;
				unsigned long long v = strtoull(tok, &end, 0);
				if (*end == 'K' || *end == 'k')
					v <<= 10;
				else if (*end == 'M' || *end == 'm')
					v <<= 20;
				sizes[nsizes++] = (size_t)v;
			}
			free(list);
			break;
		}
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	pin_to(pin);
	if (csv_dir) {
		mkdir(csv_dir, 0755);
		char path[4096];
		snprintf(path, sizeof(path), "%s/summary.csv", csv_dir);
		summary = fopen(path, "w");
		if (!summary) {
			perror(path);
			return 1;
		}
		fprintf(summary, "transport,size,iters,p50_us,p99_us,mean_us,mb_per_s\n");
	}
	printf("# wh-pingpong: echo round trips (N bytes out, N bytes back into "
	       "the caller's buffer)\n"
	       "# MB/s = 2N / mean round trip (memcpy: N / mean copy time)\n");
	printf("%-8s %9s %8s %11s %11s %11s %11s %10s\n", "switcher", "size",
	       "iters", "p50(us)", "p99(us)", "mean(us)", "rt/s", "MB/s");
	char addr[128];
	int rc = 0;
	if (strstr(only, "shm")) {
		snprintf(addr, sizeof(addr), "shm:pingpong-%d", (int)getpid());
		rc |= bench_switcher("shm", addr, sizes, nsizes);
	}
	if (strstr(only, "unix")) {
		snprintf(addr, sizeof(addr), "unix:@wh-pingpong-%d", (int)getpid());
		rc |= bench_switcher("unix", addr, sizes, nsizes);
	}
	if (strstr(only, "tcp"))
		rc |= bench_switcher("tcp", "tcp:127.0.0.1:0", sizes, nsizes);
	if (strstr(only, "tls") && !tls_ca[0])
		fprintf(stderr, "tls: skipped (needs --tls-dir DIR)\n");
	else if (tls_ca[0] && (strstr(only, "tls") || !strcmp(only, "shm,unix,tcp,pipe,memcpy")))
		rc |= bench_switcher("tls", "tls:127.0.0.1:0", sizes, nsizes);
	if (strstr(only, "pipe"))
		bench_pipe(sizes, nsizes);
	if (strstr(only, "memcpy"))
		bench_memcpy(sizes, nsizes);
	if (summary)
		fclose(summary);
	return rc ? 1 : 0;
}
