// SPDX-License-Identifier: MIT
/*
 * The vmfunc switcher must fall back to shm when the hypervisor offers no
 * wormhole.  Links switcher/vmfunc.c against a stand-in shm switcher that
 * records the calls it gets.
 *
 *   vmfunc-fallback [expect-absent]   exit 0 when the checks pass
 */
#include <stdio.h>
#include <string.h>

#include "switcher-impl.h"
#include "vmfunc.h"

static char connected_to[64], listened_on[64];

static int fake_connect(const char *rest, const struct wh_client_opts *o,
			struct wh_chan **out, char *err, size_t errlen)
{
	(void)o; (void)err; (void)errlen;
	snprintf(connected_to, sizeof(connected_to), "%s", rest);
	*out = NULL;
	return WH_OK;
}

static int fake_listen(const char *rest, const struct wh_listen_opts *o,
		       struct wh_listener **out, char *err, size_t errlen)
{
	(void)o; (void)err; (void)errlen;
	snprintf(listened_on, sizeof(listened_on), "%s", rest);
	*out = NULL;
	return WH_OK;
}

int wh_stream_chan_from_dev(int fd, const char *id, struct wh_chan **out)
{
	(void)fd; (void)id;
	*out = NULL;
	return WH_E_INTERNAL;	/* never reached without a gate */
}

const struct wh_switcher_ops wh_shm_ops = {
	.scheme = "shm",
	.connect = fake_connect,
	.listen = fake_listen,
};

int main(int argc, char **argv)
{
	struct wh_vmfunc_info info;
	struct wh_chan *ch;
	struct wh_listener *l;
	char why[256], err[128];
	int fails = 0, present;

	present = wh_vmfunc_probe(&info, why, sizeof(why));
	printf("INFO: vmfunc probe: %s\n", present ? "wormhole usable" : why);
	if (argc > 1 && !strcmp(argv[1], "expect-absent")) {
		int ok = !present && !strncmp(why, "no wormhole", 11);

		printf("%s: vmfunc-reports-no-wormhole\n", ok ? "PASS" : "FAIL");
		fails += !ok;
	}
	wh_vmfunc_ops.connect("demo", NULL, &ch, err, sizeof(err));
	printf("%s: vmfunc-connect-falls-back-to-shm\n",
	       !strcmp(connected_to, "demo") ? "PASS" : "FAIL");
	fails += !!strcmp(connected_to, "demo");
	wh_vmfunc_ops.listen("demo", NULL, &l, err, sizeof(err));
	printf("%s: vmfunc-listen-falls-back-to-shm\n",
	       !strcmp(listened_on, "demo") ? "PASS" : "FAIL");
	fails += !!strcmp(listened_on, "demo");
	return fails ? 1 : 0;
}
