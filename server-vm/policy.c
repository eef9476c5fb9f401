// SPDX-License-Identifier: MIT
/*
 * Client policies at run time: `wormholectl client add|list|remove`.
 *
 * Why: a cluster scheduler mints a session per job (token, memory quota,
 * weight) when the job starts and revokes it when the job ends
 * (scripts/slurm/), without restarting wormholed or editing its file.
 *
 * Invariants:
 *  - Policies live in srv->cfg.clients, read under srv->policy_lock (read)
 *    by authentication and changed here under it (write).  Clients from the
 *    config file are listed but never changed here (source "file"); those
 *    added at run time are marked dynamic.
 *  - Every runtime change is written to the state file (srv->state_path)
 *    before it is acknowledged: a new file in the same directory, fsync'd,
 *    renamed over the old one, directory fsync'd, so a crash leaves the old
 *    or the new set, never a torn one.  The file is the policy file's own
 *    format ([client NAME] sections, mode 0600: it holds tokens) and is
 *    loaded at start-up after the config file.  If it cannot be written
 *    the change is undone and refused.
 *  - Removing a client revokes its token/certificate at once (the next
 *    HELLO fails) and ends every session it has (kicked: its objects are
 *    released like any disconnect).
 *  - Each change is audited (AUDIT line naming the admin peer); tokens are
 *    never logged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "wh_admin_server.h"

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n < 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == n;
}

static bool token_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 16 && n < 128 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._~+/=-") == n;
}

/* A DN as GnuTLS prints it: no comment characters, no line breaks. */
static bool subject_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= 192)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == '#' || *s == ';' || *s == 0x7f)
			return false;
	return true;
}

static int write_state(struct wh_server *srv, char *err, size_t errlen)
{
	const char *path = srv->state_path;
	if (!path[0])
		return 0;
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.new-%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		snprintf(err, errlen, "%.200s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "# wormholed: clients added at run time (wormholectl client add).\n"
		   "# Rewritten on every change; change it with wormholectl.\n");
	for (int i = 0; i < srv->cfg.nclients; i++) {
		const struct wh_client_policy *p = &srv->cfg.clients[i];
		if (!p->dynamic)
			continue;
		fprintf(f, "\n[client %s]\n", p->name);
		if (p->token[0])
			fprintf(f, "token = %s\n", p->token);
		if (p->cert[0])
			fprintf(f, "cert = %s\n", p->cert);
		if (p->subject[0])
			fprintf(f, "subject = %s\n", p->subject);
		const struct wh_limits *l = &p->limits;
		fprintf(f, "mem = %" PRIu64 "\nobjects = %" PRIu64 "\ninflight = %" PRIu64
			"\nrate = %" PRIu64 "\nweight = %u\ncap = %u\n", l->mem_bytes,
			l->objects, l->inflight, l->rate_per_s, l->weight, l->cap_pct);
	}
	int bad = fflush(f) || fsync(fd);
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path)) {
		snprintf(err, errlen, "%.200s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	char dcopy[256];
	snprintf(dcopy, sizeof(dcopy), "%s", path);
	int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int wh_policy_load_state(struct wh_server *srv, const char *path, char *err,
			 size_t errlen)
{
	snprintf(srv->state_path, sizeof(srv->state_path), "%s", path);
	if (access(path, F_OK) && errno == ENOENT)
		return 0;
	int before = srv->cfg.nclients;
	if (wh_config_load(&srv->cfg, path, err, errlen))
		return -1;
	for (int i = before; i < srv->cfg.nclients; i++)
		srv->cfg.clients[i].dynamic = true;
	wh_log("%d runtime clients from %s", srv->cfg.nclients - before, path);
	return 0;
}

static bool named(struct wh_client *c, const char *name)
{
	pthread_mutex_lock(&c->pending_lock);
	bool hit = !strcmp(c->name, name);
	pthread_mutex_unlock(&c->pending_lock);
	return hit;
}

/* Ends the sessions of the client called name and waits (up to 10 s) until
 * they released everything, so that an epilog that returned leaves nothing
 * behind; returns how many there were. */
static uint32_t kick_named(struct wh_server *srv, const char *name)
{
	uint32_t n = 0;
	pthread_mutex_lock(&srv->clients_lock);
	for (struct wh_client *c = srv->clients; c; c = c->next) {
		if (!c->is_admin && named(c, name)) {
			atomic_store(&c->kick, true);
			if (c->worker_pid > 0)
				/* process model: as wh_server_kick (the record
				 * stays until reaped: the pid is still its own) */
				kill(c->worker_pid, SIGKILL);
			else
				wh_chan_shutdown(c->ch);
			n++;
		}
	}
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 10;
	for (;;) {
		bool left = false;
		for (struct wh_client *c = srv->clients; c && !left; c = c->next)
			left = !c->is_admin && named(c, name);
		if (!left || pthread_cond_timedwait(&srv->clients_cond, &srv->clients_lock,
						    &end) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&srv->clients_lock);
	return n;
}

static uint32_t count_named(struct wh_server *srv, const char *name)
{
	uint32_t n = 0;
	pthread_mutex_lock(&srv->clients_lock);
	for (struct wh_client *c = srv->clients; c; c = c->next) {
		if (!c->is_admin && !atomic_load(&c->gone))
			n += named(c, name);
	}
	pthread_mutex_unlock(&srv->clients_lock);
	return n;
}

static int reply(struct wh_enc *rep, int32_t rc, const char *msg)
{
	wh_enc_i32(rep, rc);
	wh_enc_string(rep, msg);
	return rep->err;
}

/* The request is decoded by the generated admin decoder (specs/admin.spec):
 * a's strings are NUL-terminated and bounded by WH_MAX_STRING; a->limits
 * says which limit arguments are given (WH_LIMIT_KEYS order). */
int wh_policy_client_add(struct wh_server *srv, struct wh_client *self,
			 const struct wh_admin_args_CLIENT_ADD *a, struct wh_enc *rep)
{
	const char *name = a->name, *token = a->token, *cert = a->cert, *subject = a->subject;
	if (!name || !token || !cert || !subject || strnlen(name, 256) >= 256 ||
	    strnlen(token, 256) >= 256 || strnlen(cert, 256) >= 256 || strnlen(subject, 256) >= 256)
		return WH_E_MALFORMED;
	static const char *const keys[] = { "mem", "objects", "inflight", "rate", "weight", "cap" };
	const uint64_t vals[] = { a->mem, a->objects, a->inflight, a->rate, a->weight, a->cap };
	struct wh_limits l = srv->cfg.defaults;	/* set at start, then read-only */
	char msg[320] = "";
	if (a->limits >> 6)
		snprintf(msg, sizeof(msg), "bad limit set 0x%x (keys: mem objects inflight rate "
			 "weight cap)", a->limits);
	for (unsigned i = 0; i < 6 && !msg[0]; i++)
		if ((a->limits >> i & 1) && wh_limits_set(&l, keys[i], vals[i]) != 1)
			snprintf(msg, sizeof(msg), "bad limit %s = %" PRIu64 " (keys: mem "
				 "objects inflight rate weight 1-10000 cap 0-100)", keys[i], vals[i]);
	char gen[49] = "";
	if (!strcmp(token, "-")) {
		uint8_t rnd[24];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return WH_E_INTERNAL;
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(gen + 2 * i, 3, "%02x", rnd[i]);
		token = gen;
	}
	if (msg[0])
		;
	else if (!name_ok(name))
		snprintf(msg, sizeof(msg), "bad client name (1-63 of A-Z a-z 0-9 . _ -)");
	else if (token[0] && !token_ok(token))
		snprintf(msg, sizeof(msg), "bad token (16-127 of A-Z a-z 0-9 . _ ~ + / = -)");
	else if (cert[0] && !wh_cert_id_ok(cert))
		snprintf(msg, sizeof(msg), "bad cert (want sha256:<64 hex digits>)");
	else if (subject[0] && !subject_ok(subject))
		snprintf(msg, sizeof(msg), "bad subject");
	else if (!token[0] && !cert[0] && !subject[0])
		snprintf(msg, sizeof(msg), "a client needs a token or a certificate");
	if (msg[0]) {
		wh_audit(self, "client add %.63s refused: %s", name, msg);
		reply(rep, -2, msg);
		wh_enc_string(rep, "");
		return rep->err;
	}

	pthread_rwlock_wrlock(&srv->policy_lock);
	struct wh_config *cfg = &srv->cfg;
	for (int i = 0; i < cfg->nclients && !msg[0]; i++)
		if (!strcmp(cfg->clients[i].name, name))
			snprintf(msg, sizeof(msg), "client %s exists", name);
	if (!msg[0] && token[0] && wh_config_by_token(cfg, token, strlen(token)))
		snprintf(msg, sizeof(msg), "that token is another client's");
	if (!msg[0] && cfg->nclients == WH_CONFIG_MAX_CLIENTS)
		snprintf(msg, sizeof(msg), "too many clients (%d)", WH_CONFIG_MAX_CLIENTS);
	if (!msg[0]) {
		struct wh_client_policy *p = &cfg->clients[cfg->nclients++];
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%s", name);
		snprintf(p->token, sizeof(p->token), "%s", token);
		snprintf(p->cert, sizeof(p->cert), "%s", cert);
		for (char *c = p->cert; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
		snprintf(p->subject, sizeof(p->subject), "%s", subject);
		p->limits = l;
		p->dynamic = true;
		char why[300];
		if (write_state(srv, why, sizeof(why))) {
			cfg->nclients--;
			snprintf(msg, sizeof(msg), "not added: cannot keep it: %.250s", why);
		}
	}
	pthread_rwlock_unlock(&srv->policy_lock);
	if (msg[0]) {
		wh_audit(self, "client add %s refused: %s", name, msg);
		reply(rep, -2, msg);
		wh_enc_string(rep, "");
		return rep->err;
	}
	wh_audit(self, "client add %s: %s%s%s%s mem=%" PRIu64 " objects=%" PRIu64
		 " inflight=%" PRIu64 " rate=%" PRIu64 " weight=%u cap=%u%s", name,
		 token[0] ? (gen[0] ? "generated token" : "token") : "",
		 cert[0] ? " cert=" : "", cert, subject[0] ? " subject set" : "",
		 l.mem_bytes, l.objects, l.inflight, l.rate_per_s, l.weight, l.cap_pct,
		 srv->state_path[0] ? "" : " (no state file: lost at restart)");
	reply(rep, 0, srv->state_path[0] ? "added" : "added (no state file: lost at restart)");
	wh_enc_string(rep, gen);
	return rep->err;
}

/* name: decoded by the generated admin decoder (specs/admin.spec). */
int wh_policy_client_remove(struct wh_server *srv, struct wh_client *self,
			    const char *name, struct wh_enc *rep)
{
	if (!name || strnlen(name, 256) >= 256)
		return WH_E_MALFORMED;
	char msg[320] = "";
	int32_t rc = 0;
	pthread_rwlock_wrlock(&srv->policy_lock);
	struct wh_config *cfg = &srv->cfg;
	int i;
	for (i = 0; i < cfg->nclients; i++)
		if (!strcmp(cfg->clients[i].name, name))
			break;
	if (i == cfg->nclients) {
		rc = -1;
		snprintf(msg, sizeof(msg), "no client %.63s", name);
	} else if (!cfg->clients[i].dynamic) {
		rc = -2;
		snprintf(msg, sizeof(msg), "client %s is in the config file: edit it "
			 "and restart wormholed", name);
	} else {
		struct wh_client_policy gone = cfg->clients[i];
		memmove(&cfg->clients[i], &cfg->clients[i + 1],
			(size_t)(cfg->nclients - i - 1) * sizeof(cfg->clients[0]));
		cfg->nclients--;
		char why[300];
		if (write_state(srv, why, sizeof(why))) {
			memmove(&cfg->clients[i + 1], &cfg->clients[i],
				(size_t)(cfg->nclients - i) * sizeof(cfg->clients[0]));
			cfg->clients[i] = gone;
			cfg->nclients++;
			rc = -2;
			snprintf(msg, sizeof(msg), "not removed: cannot keep it: %.250s", why);
		}
		explicit_bzero(&gone, sizeof(gone));
	}
	pthread_rwlock_unlock(&srv->policy_lock);
	uint32_t ended = 0;
	if (!rc) {
		/* The policy is gone first: a session cannot start meanwhile. */
		ended = kick_named(srv, name);
		snprintf(msg, sizeof(msg), "removed");
	}
	wh_audit(self, "client remove %.63s: %s; %u sessions ended", name, msg, ended);
	reply(rep, rc, msg);
	wh_enc_u32(rep, ended);
	return rep->err;
}

int wh_policy_client_list(struct wh_server *srv, struct wh_enc *rep)
{
	pthread_rwlock_rdlock(&srv->policy_lock);
	const struct wh_config *cfg = &srv->cfg;
	wh_enc_count(rep, (uint32_t)cfg->nclients);
	for (int i = 0; i < cfg->nclients; i++) {
		const struct wh_client_policy *p = &cfg->clients[i];
		wh_enc_string(rep, p->name);
		wh_enc_u8(rep, p->dynamic);
		wh_enc_u8(rep, p->token[0] != 0);
		wh_enc_string(rep, p->cert);
		wh_enc_string(rep, p->subject);
		wh_enc_u64(rep, p->limits.mem_bytes);
		wh_enc_u64(rep, p->limits.objects);
		wh_enc_u64(rep, p->limits.inflight);
		wh_enc_u64(rep, p->limits.rate_per_s);
		wh_enc_u32(rep, p->limits.weight);
		wh_enc_u32(rep, p->limits.cap_pct);
		wh_enc_u32(rep, count_named(srv, p->name));
	}
	pthread_rwlock_unlock(&srv->policy_lock);
	return rep->err;
}

