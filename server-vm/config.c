// SPDX-License-Identifier: MIT
/* Policy file parser (format in config.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core.h"

void wh_config_defaults(struct wh_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->defaults.weight = 1;
}

void wh_config_free(struct wh_config *cfg)
{
	for (int i = 0; i < cfg->nlisten; i++)
		free(cfg->listen[i]);
	cfg->nlisten = 0;
}

bool wh_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end)
		return false;
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static bool copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

int wh_limits_set(struct wh_limits *l, const char *key, uint64_t v)
{
	if (!strcmp(key, "mem"))
		l->mem_bytes = v;
	else if (!strcmp(key, "objects"))
		l->objects = v;
	else if (!strcmp(key, "inflight"))
		l->inflight = v;
	else if (!strcmp(key, "rate"))
		l->rate_per_s = v;
	else if (!strcmp(key, "weight")) {
		if (v < 1 || v > 10000)
			return -1;
		l->weight = (uint32_t)v;
	} else if (!strcmp(key, "cap")) {
		if (v > 100)
			return -1;
		l->cap_pct = (uint32_t)v;
	} else
		return 0;
	return 1;
}

/* A limits key from the file: the value is parsed first, so a known key
 * with garbage is "bad value" and an unknown key is "unknown". */
static int set_limit(struct wh_limits *l, const char *key, const char *val)
{
	struct wh_limits probe = *l;
	uint64_t v;
	if (!wh_parse_size(val, &v))
		return wh_limits_set(&probe, key, 1) ? -1 : 0;
	return wh_limits_set(l, key, v);
}

enum section { SEC_NONE, SEC_SERVER, SEC_DEFAULT, SEC_CLIENT };

/* A [client] section with no identity (token, uid, region, certificate
 * fingerprint or subject) matches nobody: its limits would never apply,
 * which is surely not what was meant. */
static bool client_can_match(const struct wh_client_policy *cl)
{
	return cl->token[0] || cl->has_uid || cl->region[0] || cl->cert[0] || cl->subject[0];
}
#define NEVER_MATCHES "client '%s' can never match a client: give it a token, uid, region, cert or subject"


int wh_config_load(struct wh_config *cfg, const char *path, char *err,
		   size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	int lineno = 0, rc = -1;
	enum section sec = SEC_NONE;
	struct wh_client_policy *cl = NULL;
	int cl_line = 0;  /* the current [client] section's header line */

#define FAIL(...)                                                          \
	do {                                                               \
		int n_ = snprintf(err, errlen, "%s:%d: ", path, lineno);   \
		if (n_ >= 0 && (size_t)n_ < errlen)                        \
			snprintf(err + n_, errlen - (size_t)n_, __VA_ARGS__); \
		goto out;                                                  \
	} while (0)

	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			FAIL("line too long");
		char *hash = strpbrk(line, "#;");
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		if (*s == '[') {
			if (sec == SEC_CLIENT && !client_can_match(cl)) {
				lineno = cl_line;
				FAIL(NEVER_MATCHES, cl->name);
			}
			char *close = strchr(s, ']');
			if (!close || trim(close + 1)[0])
				FAIL("malformed section header");
			*close = '\0';
			char *name = trim(s + 1);
			if (!strcmp(name, "server")) {
				sec = SEC_SERVER;
			} else if (!strcmp(name, "default")) {
				sec = SEC_DEFAULT;
			} else if (!strcmp(name, "client")) {
				FAIL("client section needs a name");
			} else if (!strncmp(name, "client", 6) &&
				   isspace((unsigned char)name[6])) {
				char *cname = trim(name + 7);
				if (!*cname)
					FAIL("client section needs a name");
				for (int i = 0; i < cfg->nclients; i++)
					if (!strcmp(cfg->clients[i].name, cname))
						FAIL("client '%s' defined twice", cname);
				if (cfg->nclients == WH_CONFIG_MAX_CLIENTS)
					FAIL("too many clients (max %d)", WH_CONFIG_MAX_CLIENTS);
				cl = &cfg->clients[cfg->nclients++];
				memset(cl, 0, sizeof(*cl));
				cl->limits = cfg->defaults;
				if (!copy_str(cl->name, sizeof(cl->name), cname))
					FAIL("client name too long");
				sec = SEC_CLIENT;
				cl_line = lineno;
			} else {
				FAIL("unknown section '%s' (expected server, default or client NAME)", name);
			}
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq)
			FAIL("expected 'key = value'");
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		if (!*val)
			FAIL("'%s' has no value", key);
		int r;
		switch (sec) {
		case SEC_NONE:
			FAIL("'%s' outside any section", key);
		case SEC_SERVER:
			if (!strcmp(key, "listen")) {
				if (cfg->nlisten == WH_CONFIG_MAX_LISTEN)
					FAIL("too many listen addresses");
				cfg->listen[cfg->nlisten] = strdup(val);
				if (!cfg->listen[cfg->nlisten++])
					FAIL("out of memory");
			} else if (!strcmp(key, "admin")) {
				if (!copy_str(cfg->admin, sizeof(cfg->admin), val))
					FAIL("admin address too long");
			} else if (!strcmp(key, "metrics")) {
				if (!copy_str(cfg->metrics, sizeof(cfg->metrics), val))
					FAIL("metrics address too long");
			} else if (!strcmp(key, "tls_cert") || !strcmp(key, "tls_key") ||
				   !strcmp(key, "tls_client_ca") || !strcmp(key, "state")) {
				char *dst = !strcmp(key, "tls_cert") ? cfg->tls_cert
					  : !strcmp(key, "tls_key") ? cfg->tls_key
					  : !strcmp(key, "state") ? cfg->state : cfg->tls_client_ca;
				if (!copy_str(dst, sizeof(cfg->tls_cert), val))
					FAIL("%s path too long", key);
			} else {
				FAIL("unknown server key '%s'", key);
			}
			break;
		case SEC_DEFAULT:
			r = set_limit(&cfg->defaults, key, val);
			if (r == 0)
				FAIL("unknown key '%s'", key);
			if (r < 0)
				FAIL("bad value '%s' for '%s'", val, key);
			break;
		case SEC_CLIENT:
			if (!strcmp(key, "token")) {
				if (strlen(val) < 16)
					FAIL("token too short (16 characters at least)");
				if (!copy_str(cl->token, sizeof(cl->token), val))
					FAIL("token too long");
				/* a token names one client: which one would it be? */
				for (int i = 0; i < cfg->nclients; i++)
					if (&cfg->clients[i] != cl && !strcmp(cfg->clients[i].token, val))
						FAIL("client '%s' has the same token as client '%s'",
						     cl->name, cfg->clients[i].name);
			} else if (!strcmp(key, "uid")) {
				uint64_t u;
				if (!wh_parse_size(val, &u) || u > 0xfffffffeu)
					FAIL("bad uid '%s'", val);
				cl->has_uid = true;
				cl->uid = (uid_t)u;
			} else if (!strcmp(key, "region")) {
				if (!copy_str(cl->region, sizeof(cl->region), val))
					FAIL("region too long");
			} else if (!strcmp(key, "cert")) {
				if (!wh_cert_id_ok(val))
					FAIL("bad cert '%s' (want sha256:<64 hex digits>)", val);
				copy_str(cl->cert, sizeof(cl->cert), val);
				for (char *p = cl->cert; *p; p++)
					*p = (char)tolower((unsigned char)*p);
			} else if (!strcmp(key, "admin")) {
				if (strcmp(val, "yes") && strcmp(val, "no"))
					FAIL("admin takes yes or no");
				cl->admin = !strcmp(val, "yes");
			} else if (!strcmp(key, "subject")) {
				if (!copy_str(cl->subject, sizeof(cl->subject), val))
					FAIL("subject too long");
			} else {
				r = set_limit(&cl->limits, key, val);
				if (r == 0)
					FAIL("unknown key '%s'", key);
				if (r < 0)
					FAIL("bad value '%s' for '%s'", val, key);
			}
			break;
		}
	}
	if (ferror(f))
		FAIL("read error");
	if (sec == SEC_CLIENT && !client_can_match(cl)) {
		lineno = cl_line;
		FAIL(NEVER_MATCHES, cl->name);
	}
	rc = 0;
out:
	fclose(f);
	return rc;
#undef FAIL
}

/* Compares every byte of both, so timing says nothing about where they
 * differ. */
static bool const_time_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char diff = alen != blen;
	size_t n = alen > blen ? alen : blen;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = i < alen ? (unsigned char)a[i] : 0;
		unsigned char y = i < blen ? (unsigned char)b[i] : 0;
		diff |= x ^ y;
	}
	return diff == 0;
}

const struct wh_client_policy *wh_config_by_token(const struct wh_config *cfg,
						  const char *token, size_t len)
{
	const struct wh_client_policy *hit = NULL;
	if (!token || !len)
		return NULL;
	/* Walk every client even after a hit: no early exit to time. */
	for (int i = 0; i < cfg->nclients; i++) {
		const struct wh_client_policy *p = &cfg->clients[i];
		if (p->token[0] && const_time_eq(p->token, strlen(p->token), token, len))
			hit = p;
	}
	return hit;
}

bool wh_cert_id_ok(const char *s)
{
	if (strncasecmp(s, "sha256:", 7))
		return false;
	size_t n = strspn(s + 7, "0123456789abcdefABCDEF");
	return n == 64 && !s[7 + n];
}

const struct wh_client_policy *wh_config_by_cert(const struct wh_config *cfg,
						 const struct wh_peer *peer)
{
	if (!peer->cert_id[0])
		return NULL;
	for (int i = 0; i < cfg->nclients; i++) {
		const struct wh_client_policy *p = &cfg->clients[i];
		if (p->cert[0] && !strcmp(p->cert, peer->cert_id))
			return p;
		if (p->subject[0] && peer->cert_subject[0] &&
		    !strcmp(p->subject, peer->cert_subject))
			return p;
	}
	return NULL;
}

const struct wh_client_policy *wh_config_match(const struct wh_config *cfg,
					       const struct wh_peer *peer)
{
	for (int i = 0; i < cfg->nclients; i++) {
		const struct wh_client_policy *p = &cfg->clients[i];
		if (peer->auth_name[0] && !strcmp(p->name, peer->auth_name))
			return p;
		if (p->region[0] && !strcmp(p->region, peer->id))
			return p;
		if (p->has_uid && peer->pid >= 0 && p->uid == peer->uid &&
		    (peer->kind == WH_PEER_UNIX || peer->kind == WH_PEER_SHM))
			return p;
	}
	return NULL;
}

/* ---- the default admin address --------------------------------------- */

static bool run_dir_trusted(void)
{
	struct stat st;
	return lstat(WH_RUN_DIR, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

const char *wh_default_admin(void)
{
	return run_dir_trusted() ? WH_DEFAULT_ADMIN_RUN : WH_DEFAULT_ADMIN_TMP;
}

bool wh_run_dir_setup(char *why, size_t n)
{
	if (geteuid() != 0) {
		snprintf(why, n, "not root: %s is root's", WH_RUN_DIR);
		return false;
	}
	if (mkdir(WH_RUN_DIR, 0755) && errno != EEXIST) {
		snprintf(why, n, "%s: %s", WH_RUN_DIR, strerror(errno));
		return false;
	}
	if (!run_dir_trusted()) {
		snprintf(why, n, "%s is not a directory of root's that only root may write",
			 WH_RUN_DIR);
		return false;
	}
	return true;
}
