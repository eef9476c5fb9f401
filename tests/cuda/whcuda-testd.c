// SPDX-License-Identifier: MIT
/*
 * whcuda-testd: wormholed's core with only the CUDA and cuBLAS backends, for
 * the GPU tests and benchmarks (same code path as wormholed; it exists so
 * the CUDA tests do not depend on every other backend building).
 *   whcuda-testd [-c CONFIG] ADDR...
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "config.h"
#include "server.h"

extern const struct wh_backend wh_cuda_backend;
extern const struct wh_backend wh_cublas_backend;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static struct wh_server srv;
	char err[256] = "";
	int i = 1;

	wh_server_init(&srv);
	if (argc > 2 && !strcmp(argv[1], "-c")) {
		if (wh_config_load(&srv.cfg, argv[2], err, sizeof(err))) {
			fprintf(stderr, "whcuda-testd: bad config: %s\n", err);
			return 2;
		}
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: whcuda-testd [-c CONFIG] ADDR...\n");
		return 2;
	}
	if (wh_cuda_backend.init(&srv, err, sizeof(err))) {
		fprintf(stderr, "whcuda-testd: cuda: %s\n", err);
		return 77;
	}
	wh_cublas_backend.init(&srv, err, sizeof(err));
	wh_server_register_backend(&wh_cuda_backend);
	wh_server_register_backend(&wh_cublas_backend);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (; i < argc; i++)
		if (wh_server_listen(&srv, argv[i], false))
			return 1;
	wh_log("ready");
	while (!stop)
		pause();
	wh_server_stop(&srv);
	wh_cuda_backend.fini(&srv);
	return 0;
}
