// SPDX-License-Identifier: MIT
/* Every call gets a reply or an error: a backend whose reply cannot be sent
 * (here: an encoder over its limit, as a 256 MiB map reply once was) still
 * ends the client's call, with WH_E_TOO_BIG and a message naming the call,
 * and the client's next call is served.  Before, the server dropped the
 * failed send and the client waited forever. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core.h"
#include "server.h"

enum { F_UNSENDABLE = 1, F_SMALL = 2 };

static int test_dispatch(struct wh_client *c, void *state, const struct wh_msg *m,
			 struct wh_dec *d, struct wh_enc *rep)
{
	(void)c, (void)state, (void)d;
	wh_enc_u64(rep, 42);
	if (m->hdr.func_id == F_UNSENDABLE)
		rep->err = WH_E_TOO_BIG; /* what an oversized reply leaves */
	return WH_OK;                    /* and a careless backend ignores */
}

static const struct wh_backend test_backend = {
	.api_id = WH_API_ECHO,
	.name = "unsendable-test",
	.dispatch = test_dispatch,
};

static void test_unsendable_reply_ends_the_call(void **st)
{
	(void)st;
	char dir[] = "/tmp/wh-unsendable-XXXXXX", addr[128], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(addr, sizeof(addr), "unix:%s/s.sock", dir);
	static struct wh_server srv;
	wh_server_init(&srv);
	wh_server_register_backend(&test_backend);
	assert_int_equal(wh_server_listen(&srv, addr, false), 0);

	struct wh_chan *ch;
	struct wh_client_opts o = { .name = "test" };
	assert_int_equal(wh_connect(addr, &o, &ch, err, sizeof(err)), WH_OK);
	struct wh_enc e;
	struct wh_msg r;
	wh_enc_init(&e, 64, 0);
	int rc = wh_call(ch, WH_API_ECHO, F_UNSENDABLE, &e, &r);
	assert_int_equal(rc, WH_E_TOO_BIG);
	/* the same channel still serves */
	wh_enc_reset(&e);
	assert_int_equal(wh_call(ch, WH_API_ECHO, F_SMALL, &e, &r), WH_OK);
	struct wh_dec d;
	wh_dec_init(&d, r.payload, r.hdr.payload_len, NULL);
	assert_int_equal(wh_dec_u64(&d), 42);
	wh_msg_done(ch, &r);
	wh_enc_free(&e);
	wh_close(ch);
	wh_server_stop(&srv);
	snprintf(addr, sizeof(addr), "%s/s.sock", dir);
	unlink(addr);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsendable_reply_ends_the_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
