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
#include "broker/broker.h"
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
#ifdef WH_HAVE_CUDADRV
extern const struct wh_backend wh_cudadrv_backend;
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
#ifdef WH_HAVE_CUDADRV
	&wh_cudadrv_backend,
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
		"  -a, --admin ADDR      wormholectl address (default, as root:\n"
		"                        unix:/run/wormhole/admin.sock, where only root may\n"
		"                        create names; else unix:/tmp/wormholed-admin.sock)\n"
		"  -m, --metrics H:P     Prometheus metrics over HTTP (tenants' series only\n"
		"                        to loopback readers)\n"
		"      --metrics-all     tenants' series to every metrics reader\n"
		"      --api LIST        backends to start: opencl,cuda,cublas,cudadrv,echo\n"
		"                        (default: every compiled-in backend that finds a device,\n"
		"                        and echo without its test call SPIN, which only a\n"
		"                        LIST naming echo serves)\n"
		"      --cpus LIST       pin polling threads to these CPUs (overrides hwloc)\n"
		"      --pci BUSID       accelerator to place threads near (hwloc)\n"
		"      --isolate MODEL   process (default): a sandboxed worker process\n"
		"                        per client, this process only brokers; thread:\n"
		"                        every client on a thread of this process (no\n"
		"                        isolation from hostile kernels or driver crashes)\n"
		"      --no-landlock, --no-seccomp, --no-memlimit\n"
		"                        process model: leave that confinement out\n"
		"      --worker-mem SIZE process model: host memory of a worker (2G)\n"
		"      --worker-pool N   process model: workers started ahead on each\n"
		"                        socket listener (default 1; 0: fork at accept)\n"
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
		{ "isolate", required_argument, NULL, 'I' },
		{ "no-landlock", no_argument, NULL, 'L' },
		{ "no-seccomp", no_argument, NULL, 's' },
		{ "no-memlimit", no_argument, NULL, 'M' },
		{ "worker-mem", required_argument, NULL, 'W' },
		{ "worker-pool", required_argument, NULL, 'O' },
		{ "metrics-all", no_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct wh_server srv;
	const char *listen_args[WH_CONFIG_MAX_LISTEN];
	int nlisten = 0;
	const char *config = NULL, *admin = NULL, *metrics = NULL, *apis = NULL;
	const char *cpus = NULL, *pci = NULL, *state = NULL;
	bool process_model = true, metrics_all = false;
	struct wh_worker_opts wopts = { .pool = 1 };
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
		case 'I':
			if (!strcmp(optarg, "process")) {
				process_model = true;
			} else if (!strcmp(optarg, "thread")) {
				process_model = false;
			} else {
				fprintf(stderr, "wormholed: --isolate is thread or process\n");
				return 2;
			}
			break;
		case 'L': wopts.no_landlock = true; break;
		case 'X': metrics_all = true; break;
		case 'O': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 16) {
				fprintf(stderr, "wormholed: --worker-pool is 0..16\n");
				return 2;
			}
			wopts.pool = (int)v;
			break;
		}
		case 's': wopts.no_seccomp = true; break;
		case 'M': wopts.no_memlimit = true; break;
		case 'W':
			if (!wh_parse_size(optarg, &wopts.mem_bytes) || !wopts.mem_bytes) {
				fprintf(stderr, "wormholed: bad --worker-mem '%s'\n", optarg);
				return 2;
			}
			break;
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
	char run_why[200];
	bool run_ok = geteuid() == 0 && wh_run_dir_setup(run_why, sizeof(run_why));
	if (!admin && !srv.cfg.admin[0]) {
		if (geteuid() == 0 && !run_ok)
			wh_log("admin address: %s; using %s (another user could take that "
			       "name first)", run_why, WH_DEFAULT_ADMIN_TMP);
		admin = wh_default_admin();
	} else if (!admin) {
		admin = srv.cfg.admin;
	}
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

	/* Start the backends: here (thread model), or once in a probe process
	 * and then in every worker (process model: the broker never loads a
	 * driver). */
	int accel_up = 0, accel_asked = 0;
	if (process_model) {
		srv.wopts = wopts;
		if (wh_broker_init(&srv))
			return 1;
		const struct wh_backend *cand[8];
		int n = 0;
		for (int i = 0; accel_backends[i] && n < 8; i++)
			if (!apis || in_list(apis, accel_backends[i]->name))
				cand[n++] = accel_backends[i];
		accel_asked = n;
		accel_up = wh_broker_probe(&srv, cand, n, err, sizeof(err));
		if (accel_up < 0) {
			fprintf(stderr, "wormholed: cannot probe the backends\n");
			return 1;
		}
		if (err[0]) {
			if (apis) {
				fprintf(stderr, "wormholed: %s\n", err);
				return 1;
			}
			wh_log("backends unavailable: %s", err);
		}
		for (int i = 0; i < srv.naccel; i++)
			wh_log("%s backend ready (started in each worker)", srv.accel[i]->name);
	}
	for (int i = 0; !process_model && accel_backends[i]; i++) {
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
	wh_echo_spin = apis && in_list(apis, "echo");
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

	if (nlisten && srv.cfg.nlisten)
		/* Never silently: the operator may expect both. */
		wh_log("warning: --listen given: the %d 'listen =' line(s) of %s are not used "
		       "(drop the --listen flags to serve them)", srv.cfg.nlisten, config);
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
	if (metrics && wh_metrics_start(&srv, metrics, metrics_all))
		return 1;
	wh_log("ready");

	while (!stop_requested)
		sleep(1);
	wh_log("stopping: disconnecting %d clients", srv.nclients);
	wh_server_stop(&srv);
	for (int i = 0; accel_backends[i]; i++)
		if (!process_model &&
		    wh_server_backend(accel_backends[i]->api_id) == accel_backends[i] &&
		    accel_backends[i]->fini)
			accel_backends[i]->fini(&srv);
	if (process_model)
		wh_broker_fini(&srv);
	wh_config_free(&srv.cfg);
	wh_log("stopped");
	return 0;
}
