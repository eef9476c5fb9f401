// SPDX-License-Identifier: MIT
/*
 * wormholectl: operator tool for a running wormholed.
 *
 *   wormholectl [--server ADDR] list
 *   wormholectl [--server ADDR] set CLIENT-ID KEY VALUE   (mem objects inflight rate weight cap)
 *   wormholectl [--server ADDR] kick CLIENT-ID
 *   wormholectl [--server ADDR] metrics
 *   wormholectl [--server ADDR] client add NAME [token=T|token=@FILE|token=@-|token=-]
 *                               [cert=sha256:HEX]
 *                               [subject=DN] [KEY=VALUE]...
 *   wormholectl [--server ADDR] client list
 *   wormholectl [--server ADDR] client remove NAME
 *
 * client add without a token or certificate asks the server for a fresh
 * random token and prints it ("token=HEX"); remove revokes the client and
 * ends its sessions.  Both are kept across a restart (the state file).
 * Requests are encoded by the generated wh_admin_client.h (specs/admin.spec);
 * replies are decoded here.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "wh_admin_client.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: wormholectl [--server ADDR] list | set ID KEY VALUE | kick ID | metrics\n"
		   "       wormholectl [--server ADDR] client add NAME [token=T|@FILE|@-|-] [cert=sha256:HEX]\n"
		   "                                  [subject=DN] [KEY=VALUE]...\n"
		   "       wormholectl [--server ADDR] client list | client remove NAME\n"
		   "  ADDR defaults to $WORMHOLE_ADMIN, else unix:/run/wormhole/admin.sock when\n"
		   "  /run/wormhole is root's alone, else unix:/tmp/wormholed-admin.sock\n"
		   "  KEY: mem objects inflight rate weight cap (sizes take K/M/G)\n");
}

static int call(struct wh_chan *ch, uint16_t func, struct wh_enc *req, struct wh_msg *rep)
{
	int rc = wh_call(ch, WH_API_ADMIN, func, req, rep);
	if (rc) {
		fprintf(stderr, "wormholectl: %s\n", wh_status_str((uint32_t)rc));
		return 1;
	}
	return 0;
}

static void human(char *buf, size_t cap, uint64_t v)
{
	if (v >= (1ull << 30))
		snprintf(buf, cap, "%.1fG", (double)v / (1ull << 30));
	else if (v >= (1ull << 20))
		snprintf(buf, cap, "%.1fM", (double)v / (1ull << 20));
	else if (v >= 1024)
		snprintf(buf, cap, "%.1fK", (double)v / 1024);
	else
		snprintf(buf, cap, "%" PRIu64, v);
}

static int cmd_list(struct wh_chan *ch)
{
	struct wh_enc req;
	struct wh_msg rep;
	wh_enc_init(&req, 64, 0);
	wh_admin_enc_LIST(&req);
	int rc = call(ch, WH_ADMIN_F_LIST, &req, &rep);
	wh_enc_free(&req);
	if (rc)
		return rc;
	struct wh_dec d;
	wh_dec_init(&d, rep.payload, rep.hdr.payload_len, NULL);
	uint32_t n = wh_dec_count(&d, 1u << 20);
	printf("%-5s %-16s %-28s %8s %9s %10s %10s %8s %8s %6s %9s\n", "ID", "NAME", "PEER",
	       "OBJECTS", "MEM", "DEVTIME", "CALLS", "REJECT", "BADHDL", "WEIGHT", "MEMLIMIT");
	for (uint32_t i = 0; i < n && !d.err; i++) {
		uint32_t id = wh_dec_u32(&d);
		const char *name, *peer;
		wh_dec_string(&d, &name, 256);
		wh_dec_string(&d, &peer, 256);
		uint64_t objs = wh_dec_u64(&d), mem = wh_dec_u64(&d), dev = wh_dec_u64(&d);
		uint64_t calls = wh_dec_u64(&d), rej = wh_dec_u64(&d), bad = wh_dec_u64(&d);
		(void)wh_dec_u64(&d); /* inflight */
		uint64_t lmem = wh_dec_u64(&d);
		(void)wh_dec_u64(&d);
		(void)wh_dec_u64(&d);
		(void)wh_dec_u64(&d);
		uint32_t weight = wh_dec_u32(&d);
		(void)wh_dec_u32(&d);
		if (d.err)
			break;
		char m1[16], m2[16];
		human(m1, sizeof(m1), mem);
		human(m2, sizeof(m2), lmem);
		printf("%-5u %-16s %-28s %8" PRIu64 " %9s %9.3fs %10" PRIu64 " %8" PRIu64
		       " %8" PRIu64 " %6u %9s\n", id, name ? name : "?", peer ? peer : "?",
		       objs, m1, (double)dev / 1e9, calls, rej, bad, weight,
		       lmem ? m2 : "-");
	}
	uint64_t tobj = wh_dec_u64(&d), tmem = wh_dec_u64(&d);
	int err = wh_dec_finish(&d);
	wh_msg_done(ch, &rep);
	if (err) {
		fprintf(stderr, "wormholectl: malformed reply\n");
		return 1;
	}
	printf("total: %u clients, %" PRIu64 " objects, %" PRIu64 " bytes of device memory\n",
	       n, tobj, tmem);
	return 0;
}

#define WH_LIMIT_KEYS "mem objects inflight rate weight cap"

static bool parse_id(const char *s, uint32_t *id)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || v > UINT32_MAX) {
		fprintf(stderr, "wormholectl: bad client id '%s' (the ID column of wormholectl list)\n", s);
		return false;
	}
	*id = (uint32_t)v;
	return true;
}

static int simple(struct wh_chan *ch, uint16_t func, struct wh_enc *req, const char *what)
{
	struct wh_msg rep;
	if (call(ch, func, req, &rep))
		return 1;
	struct wh_dec d;
	wh_dec_init(&d, rep.payload, rep.hdr.payload_len, NULL);
	int32_t r = wh_dec_i32(&d);
	int err = wh_dec_finish(&d);
	wh_msg_done(ch, &rep);
	if (err || r) {
		fprintf(stderr, "wormholectl: %s failed: %s\n", what,
			err ? "malformed reply"
			: r == -1 ? "no such client (see wormholectl list)"
			: r == -2 ? "unknown key (keys: " WH_LIMIT_KEYS ")"
				  : "value out of range (weight 1-10000, cap 0-100)");
		return 1;
	}
	return 0;
}

/* client add NAME [token=T] [cert=C] [subject=S] [KEY=VALUE]... */
static int client_add(struct wh_chan *ch, int argc, char **argv)
{
	const char *token = NULL, *cert = "", *subject = "";
	/* the limits in WH_LIMIT_KEYS order (specs/admin.spec CLIENT_ADD) */
	static const char *const keys[] = { "mem", "objects", "inflight", "rate", "weight", "cap" };
	uint64_t vals[6] = { 0 };
	uint32_t set = 0;
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i]) {
			fprintf(stderr, "wormholectl: expected KEY=VALUE, got '%s'\n", argv[i]);
			return 2;
		}
		*eq = '\0';
		const char *k = argv[i], *v = eq + 1;
		if (!strcmp(k, "token") && v[0] == '@') {
			/* token=@FILE, token=@- (stdin): a token on the command
			 * line would be readable by any local user in ps. */
			static char buf[256];
			FILE *f = strcmp(v, "@-") ? fopen(v + 1, "r") : stdin;
			if (!f || !fgets(buf, sizeof(buf), f)) {
				fprintf(stderr, "wormholectl: cannot read a token from %s\n", v + 1);
				return 2;
			}
			if (f != stdin)
				fclose(f);
			buf[strcspn(buf, "\r\n")] = '\0';
			token = buf;
		} else if (!strcmp(k, "token"))
			token = v;
		else if (!strcmp(k, "cert"))
			cert = v;
		else if (!strcmp(k, "subject"))
			subject = v;
		else {
			unsigned ki = 0;
			while (ki < 6 && strcmp(k, keys[ki]))
				ki++;
			if (ki == 6) {
				fprintf(stderr, "wormholectl: unknown key '%s' (keys: token cert subject "
					WH_LIMIT_KEYS ")\n", k);
				return 2;
			}
			if (!wh_parse_size(v, &vals[ki])) {
				fprintf(stderr, "wormholectl: bad value '%s' for %s\n", v, k);
				return 2;
			}
			set |= 1u << ki;
		}
	}
	if (!token)
		token = cert[0] || subject[0] ? "" : "-";
	struct wh_enc req;
	wh_enc_init(&req, 256, 0);
	wh_admin_enc_CLIENT_ADD(&req, argv[0], token, cert, subject, set, vals[0], vals[1], vals[2],
				vals[3], vals[4], vals[5]);
	struct wh_msg rep;
	int rc = call(ch, WH_ADMIN_F_CLIENT_ADD, &req, &rep);
	wh_enc_free(&req);
	if (rc)
		return rc;
	struct wh_dec d;
	wh_dec_init(&d, rep.payload, rep.hdr.payload_len, NULL);
	int32_t r = wh_dec_i32(&d);
	const char *msg = NULL, *tok = NULL;
	wh_dec_string(&d, &msg, 1024);
	wh_dec_string(&d, &tok, 256);
	if (wh_dec_finish(&d) || !msg || !tok) {
		fprintf(stderr, "wormholectl: malformed reply\n");
		rc = 1;
	} else if (r) {
		fprintf(stderr, "wormholectl: client add %s: %s\n", argv[0], msg);
		rc = 1;
	} else if (tok[0]) {
		printf("token=%s\n", tok);	/* the only copy the caller gets */
	} else {
		printf("client %s %s\n", argv[0], msg);
	}
	wh_msg_done(ch, &rep);
	return rc;
}

static int client_remove(struct wh_chan *ch, const char *name)
{
	struct wh_enc req;
	wh_enc_init(&req, 128, 0);
	wh_admin_enc_CLIENT_REMOVE(&req, name);
	struct wh_msg rep;
	int rc = call(ch, WH_ADMIN_F_CLIENT_REMOVE, &req, &rep);
	wh_enc_free(&req);
	if (rc)
		return rc;
	struct wh_dec d;
	wh_dec_init(&d, rep.payload, rep.hdr.payload_len, NULL);
	int32_t r = wh_dec_i32(&d);
	const char *msg = NULL;
	wh_dec_string(&d, &msg, 1024);
	uint32_t ended = wh_dec_u32(&d);
	if (wh_dec_finish(&d) || !msg) {
		fprintf(stderr, "wormholectl: malformed reply\n");
		rc = 1;
	} else if (r) {
		fprintf(stderr, "wormholectl: client remove %s: %s\n", name, msg);
		rc = 1;
	} else {
		printf("client %s removed, %u sessions ended\n", name, ended);
	}
	wh_msg_done(ch, &rep);
	return rc;
}

static int client_list(struct wh_chan *ch)
{
	struct wh_enc req;
	wh_enc_init(&req, 16, 0);
	wh_admin_enc_CLIENT_LIST(&req);
	struct wh_msg rep;
	int rc = call(ch, WH_ADMIN_F_CLIENT_LIST, &req, &rep);
	wh_enc_free(&req);
	if (rc)
		return rc;
	struct wh_dec d;
	wh_dec_init(&d, rep.payload, rep.hdr.payload_len, NULL);
	uint32_t n = wh_dec_count(&d, 1u << 16);
	printf("%-20s %-7s %-6s %9s %6s %4s %8s  %s\n", "NAME", "SOURCE", "TOKEN", "MEM",
	       "WEIGHT", "CAP", "SESSIONS", "CERTIFICATE");
	for (uint32_t i = 0; i < n && !d.err; i++) {
		const char *name, *cert, *subj;
		wh_dec_string(&d, &name, 256);
		uint8_t dyn = wh_dec_u8(&d), tok = wh_dec_u8(&d);
		wh_dec_string(&d, &cert, 256);
		wh_dec_string(&d, &subj, 256);
		uint64_t mem = wh_dec_u64(&d);
		(void)wh_dec_u64(&d);
		(void)wh_dec_u64(&d);
		(void)wh_dec_u64(&d);
		uint32_t weight = wh_dec_u32(&d), cap = wh_dec_u32(&d), sess = wh_dec_u32(&d);
		if (d.err)
			break;
		char m[16];
		human(m, sizeof(m), mem);
		printf("%-20s %-7s %-6s %9s %6u %4u %8u  %s%s%s\n", name ? name : "?",
		       dyn ? "runtime" : "file", tok ? "yes" : "no", mem ? m : "-", weight,
		       cap, sess, cert && cert[0] ? cert : "", subj && subj[0] ? " " : "",
		       subj ? subj : "");
	}
	int err = wh_dec_finish(&d);
	wh_msg_done(ch, &rep);
	if (err) {
		fprintf(stderr, "wormholectl: malformed reply\n");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *addr = getenv("WORMHOLE_ADMIN");
	int opt;
	while ((opt = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': addr = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!addr)
		addr = wh_default_admin();
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	char err[256] = "";
	struct wh_client_opts copts = { .name = "wormholectl" };
	struct wh_chan *ch;
	if (wh_connect(addr, &copts, &ch, err, sizeof(err))) {
		fprintf(stderr, "wormholectl: cannot reach wormholed at %s: %s\n", addr, err);
		return 1;
	}
	struct wh_enc req;
	wh_enc_init(&req, 128, 0);
	int rc = 2;
	if (!strcmp(cmd, "list") && argc - optind == 1) {
		rc = cmd_list(ch);
	} else if (!strcmp(cmd, "kick") && argc - optind == 2) {
		uint32_t id;
		if (parse_id(argv[optind + 1], &id)) {
			wh_admin_enc_KICK(&req, id);
			rc = simple(ch, WH_ADMIN_F_KICK, &req, "kick");
		}
	} else if (!strcmp(cmd, "set") && argc - optind == 4) {
		uint64_t v;
		uint32_t id;
		const char *key = argv[optind + 2], *val = argv[optind + 3];
		struct wh_limits probe = { 0 };
		if (!parse_id(argv[optind + 1], &id)) {
			/* said */
		} else if (!wh_limits_set(&probe, key, 1)) {
			fprintf(stderr, "wormholectl: unknown key '%s' (keys: " WH_LIMIT_KEYS ")\n", key);
		} else if (val[0] == '-') {
			fprintf(stderr, "wormholectl: bad value '%s' for %s: limits are not negative\n",
				val, key);
		} else if (!wh_parse_size(val, &v)) {
			fprintf(stderr, "wormholectl: bad value '%s' for %s: want a number "
				"(sizes take K/M/G)\n", val, key);
		} else if (wh_limits_set(&probe, key, v) < 0) {
			fprintf(stderr, "wormholectl: value %s out of range for %s (%s)\n", val, key,
				!strcmp(key, "weight") ? "weight is 1 to 10000" : "cap is 0 to 100 percent");
		} else {
			wh_admin_enc_SET(&req, id, key, v);
			rc = simple(ch, WH_ADMIN_F_SET, &req, "set");
		}
	} else if (!strcmp(cmd, "client") && argc - optind >= 3 &&
		   !strcmp(argv[optind + 1], "add")) {
		rc = client_add(ch, argc - optind - 2, argv + optind + 2);
	} else if (!strcmp(cmd, "client") && argc - optind == 2 &&
		   !strcmp(argv[optind + 1], "list")) {
		rc = client_list(ch);
	} else if (!strcmp(cmd, "client") && argc - optind == 3 &&
		   !strcmp(argv[optind + 1], "remove")) {
		rc = client_remove(ch, argv[optind + 2]);
	} else if (!strcmp(cmd, "metrics") && argc - optind == 1) {
		struct wh_msg rep;
		wh_admin_enc_METRICS(&req);
		rc = call(ch, WH_ADMIN_F_METRICS, &req, &rep);
		if (!rc) {
			struct wh_dec d;
			const char *text;
			wh_dec_init(&d, rep.payload, rep.hdr.payload_len, NULL);
			wh_dec_string(&d, &text, 16u << 20);
			if (wh_dec_finish(&d) || !text)
				rc = 1;
			else
				fputs(text, stdout);
			wh_msg_done(ch, &rep);
		}
	} else {
		usage(stderr);
	}
	wh_enc_free(&req);
	wh_close(ch);
	return rc;
}
