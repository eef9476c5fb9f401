// SPDX-License-Identifier: MIT
/*
 * wormholed: the Wormhole API server.
 *
 *   wormholed [--config FILE] [--listen ADDR]... [--admin ADDR]
 *             [--metrics HOST:PORT] [--api LIST] [--cpus LIST] [--pci BUSID]
 *             [--state FILE]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#ifdef WH_HAVE_PLACEMENT
#include "placement.h"
#endif

#ifdef WH_HAVE_OPENCL
extern const struct wh_backend wh_opencl_backend;
#endif
#ifdef WH_HAVE_CUDA
extern const struct wh_backend wh_cuda_backend;
extern const struct wh_backend wh_cublas_backend;
#endif

/* Accelerator backends compiled in, in start-up order. */
static const struct wh_backend *const accel_backends[] = {
#ifdef WH_HAVE_OPENCL
	&wh_opencl_backend,
#endif
#ifdef WH_HAVE_CUDA
	&wh_cuda_backend,
	&wh_cublas_backend,
#endif
	NULL,
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: wormholed [options]\n"
		"  -l, --listen ADDR     serve clients on ADDR (repeatable; default %s)\n"
		"                        shm:NAME | unix:PATH | tls:HOST:PORT | tcp:HOST:PORT | ivshmem:DEV\n"
		"  -c, --config FILE     clients, tokens, weights and limits (see docs)\n"
		"      --state FILE      clients added by wormholectl client add, kept across\n"
		"                        restarts (default: [server] state, else CONFIG.clients)\n"
		"  -a, --admin ADDR      wormholectl address (default unix:/tmp/wormholed-admin.sock)\n"
		"  -m, --metrics H:P     Prometheus metrics over HTTP\n"
		"      --api LIST        backends to start: opencl,cuda,cublas,echo\n"
		"                        (default: every compiled-in backend that finds a device)\n"
		"      --cpus LIST       pin polling threads to these CPUs (overrides hwloc)\n"
		"      --pci BUSID       accelerator to place threads near (hwloc)\n"
		"  -h, --help\n",
		WH_DEFAULT_ADDR);
}

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && !strncmp(p, name, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'c' },
		{ "admin", required_argument, NULL, 'a' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "api", required_argument, NULL, 'A' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "pci", required_argument, NULL, 'P' },
		{ "state", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct wh_server srv;
	const char *listen_args[WH_CONFIG_MAX_LISTEN];
	int nlisten = 0;
	const char *config = NULL, *admin = NULL, *metrics = NULL, *apis = NULL;
	const char *cpus = NULL, *pci = NULL, *state = NULL;
	char err[512];
	int opt;

	while ((opt = getopt_long(argc, argv, "l:c:a:m:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (nlisten == WH_CONFIG_MAX_LISTEN) {
				fprintf(stderr, "wormholed: at most %d --listen\n", WH_CONFIG_MAX_LISTEN);
				return 2;
			}
			listen_args[nlisten++] = optarg;
			break;
		case 'c': config = optarg; break;
		case 'a': admin = optarg; break;
		case 'm': metrics = optarg; break;
		case 'A': apis = optarg; break;
		case 'C': cpus = optarg; break;
		case 'P': pci = optarg; break;
		case 'S': state = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wormholed: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	wh_server_init(&srv);
	srv.start_ns = wh_now_ns();
	if (config && wh_config_load(&srv.cfg, config, err, sizeof(err))) {
		fprintf(stderr, "wormholed: bad config: %s\n", err);
		return 2;
	}
	/* Clients added at run time live next to the config file. */
	char state_buf[300];
	if (!state && srv.cfg.state[0])
		state = srv.cfg.state;
	if (!state && config) {
		snprintf(state_buf, sizeof(state_buf), "%s.clients", config);
		state = state_buf;
	}
	if (state && wh_policy_load_state(&srv, state, err, sizeof(err))) {
		fprintf(stderr, "wormholed: bad state file: %s\n", err);
		return 2;
	}
	if (!admin)
		admin = srv.cfg.admin[0] ? srv.cfg.admin : "unix:/tmp/wormholed-admin.sock";
	if (!metrics && srv.cfg.metrics[0])
		metrics = srv.cfg.metrics;

#ifdef WH_HAVE_PLACEMENT
	char place_log[512] = "";
	if (wh_placement_init(pci, cpus, place_log, sizeof(place_log)) < 0) {
		fprintf(stderr, "wormholed: placement: %s\n", place_log);
		return 2;
	}
	if (place_log[0])
		wh_log("placement: %s", place_log);
#else
	if (cpus || pci)
		wh_log("placement: built without hwloc; --cpus/--pci ignored");
#endif

	/* Start the backends. */
	int accel_up = 0, accel_asked = 0;
	for (int i = 0; accel_backends[i]; i++) {
		const struct wh_backend *b = accel_backends[i];
		if (apis && !in_list(apis, b->name))
			continue;
		accel_asked++;
		err[0] = '\0';
		if (b->init && b->init(&srv, err, sizeof(err))) {
			if (apis) {
				fprintf(stderr, "wormholed: %s backend: %s\n", b->name, err);
				return 1;
			}
			wh_log("%s backend unavailable: %s", b->name, err);
			continue;
		}
		wh_server_register_backend(b);
		wh_log("%s backend ready", b->name);
		accel_up++;
	}
	if (apis && in_list(apis, "echo"))
		accel_asked++;
	if (!apis || in_list(apis, "echo"))
		wh_server_register_backend(&wh_echo_backend);
	wh_server_register_backend(&wh_admin_backend);
	wh_admin_attach(&srv);
	if (!accel_up && !(apis && in_list(apis, "echo"))) {
		fprintf(stderr, "wormholed: no accelerator API could start (%s); "
			"nothing to serve\n",
			accel_asked ? "no OpenCL platform or CUDA device found"
				    : "none compiled in or selected");
		return 1;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (nlisten == 0) {
		for (int i = 0; i < srv.cfg.nlisten; i++)
			listen_args[nlisten++] = srv.cfg.listen[i];
		if (nlisten == 0)
			listen_args[nlisten++] = WH_DEFAULT_ADDR;
	}
	for (int i = 0; i < nlisten; i++)
		if (wh_server_listen(&srv, listen_args[i], false))
			return 1;
	if (strcmp(admin, "none") && wh_server_listen(&srv, admin, true))
		return 1;
	if (metrics && wh_metrics_start(&srv, metrics))
		return 1;
	wh_log("ready");

	while (!stop_requested)
		sleep(1);
	wh_log("stopping: disconnecting %d clients", srv.nclients);
	wh_server_stop(&srv);
	for (int i = 0; accel_backends[i]; i++)
		if (wh_server_backend(accel_backends[i]->api_id) == accel_backends[i] &&
		    accel_backends[i]->fini)
			accel_backends[i]->fini(&srv);
	wh_config_free(&srv.cfg);
	wh_log("stopped");
	return 0;
}
