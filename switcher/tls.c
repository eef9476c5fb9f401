// SPDX-License-Identifier: MIT
/*
 * tls:HOST:PORT: the tcp switcher under TLS (GnuTLS from Debian).
 *
 * Why: over tcp: a client sends its token to whoever answers on the port
 * (a local squatter collects it) and every call crosses the network in
 * clear.  Here the client completes the TLS handshake and checks the
 * server's certificate (chain to a CA file and host name, and/or a pinned
 * SHA-256 fingerprint) inside connect(): wh_connect() sends HELLO, which
 * carries the token, only after connect returned, so no secret leaves the
 * client before the server proved who it is.  A client may present a
 * certificate (mTLS); the server identifies it by the SHA-256 fingerprint
 * of its DER (any certificate: the handshake proves the peer holds its key)
 * and, when the listener has a client CA, by its verified subject DN.
 *
 * Data path: sock.c's stream framing, unchanged, over a struct
 * wh_stream_io whose read/writev are gnutls_record_recv/send on the socket
 * (the plain unix:/tcp: paths are untouched by this file).  The socket stays
 * blocking for sends (GnuTLS pushes whole records) and is read with
 * MSG_DONTWAIT, as sock.c reads a plain socket; one thread may send while
 * another waits to receive (calls into the session itself are serialized:
 * io_lock).  Small sends (a header and a small payload) are corked into one
 * record.
 *
 * Server side: accept() only takes the TCP connection; the handshake runs
 * on the first read, i.e. in wh_handshake() on the client's own thread
 * (5 s limit), so a silent peer holds up nobody else.
 *
 * Invariants: a session's credentials outlive it (reference counted: a
 * listener may close while its clients run); a failed handshake or
 * certificate check closes the connection before any application byte
 * moves.  Continuing a session in another process: after fork() the child
 * owns the session (GnuTLS state is plain memory) and the parent must only
 * close its fd; kernel TLS, which would let a bare fd carry the session
 * across SCM_RIGHTS, needs the kernel's "tls" ULP (see switcher/README.md).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "switcher-impl.h"

#define HANDSHAKE_MS 5000
#define CORK_MAX (64u << 10)
#define RBUF_TLS (64u << 10)

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

struct tls_cred {
	gnutls_certificate_credentials_t c;
	_Atomic int refs;
};

static void cred_put(struct tls_cred *cr)
{
	if (cr && atomic_fetch_sub(&cr->refs, 1) == 1) {
		gnutls_certificate_free_credentials(cr->c);
		free(cr);
	}
}

static struct tls_cred *cred_new(void)
{
	struct tls_cred *cr = calloc(1, sizeof(*cr));
	if (!cr)
		return NULL;
	if (gnutls_certificate_allocate_credentials(&cr->c) < 0) {
		free(cr);
		return NULL;
	}
	atomic_init(&cr->refs, 1);
	return cr;
}

/* One TLS connection: the stream_io context. */
struct tls_io {
	gnutls_session_t s;
	int fd;
	bool server;
	bool client_ca;          /* server: verify client certs against a CA */
	_Atomic int hs;          /* 0 pending, 1 done, -1 failed */
	pthread_mutex_t hs_lock;
	/* Around each call into the session once it runs.  GnuTLS lets one
	 * thread send while another receives, but a received TLS 1.3
	 * KeyUpdate makes gnutls_record_recv() send its answer itself: a
	 * peer could make that race our own sender.  Receives never block
	 * inside (MSG_DONTWAIT, waits happen outside in poll), so a receiver
	 * waits at most for one send to go out. */
	pthread_mutex_t io_lock;
	struct tls_cred *cred;
	struct wh_peer *peer;    /* server: filled once the handshake is done */
	/* Read-ahead under GnuTLS: it asks for a record's 5-byte header, then
	 * its body; one recv() fetches both (and any records behind them). */
	size_t rpos, rlen;
	uint8_t rbuf[RBUF_TLS];
};

static ssize_t pull(gnutls_transport_ptr_t p, void *buf, size_t n)
{
	struct tls_io *t = p;
	if (t->rpos == t->rlen) {
		ssize_t r;
		do
			r = recv(t->fd, t->rbuf, sizeof(t->rbuf), MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			gnutls_transport_set_errno(t->s, errno);
		if (r <= 0)
			return r;
		t->rpos = 0;
		t->rlen = (size_t)r;
	}
	size_t k = t->rlen - t->rpos < n ? t->rlen - t->rpos : n;
	memcpy(buf, t->rbuf + t->rpos, k);
	t->rpos += k;
	return (ssize_t)k;
}

static int pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
	struct tls_io *t = p;
	if (t->rpos < t->rlen)
		return 1;
	struct pollfd pf = { .fd = t->fd, .events = POLLIN };
	return poll(&pf, 1, (int)ms);
}

static ssize_t vec_push(gnutls_transport_ptr_t p, const giovec_t *iov, int n)
{
	struct tls_io *t = p;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov,
			     .msg_iovlen = (size_t)n };
	ssize_t r;
	do
		r = sendmsg(t->fd, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		gnutls_transport_set_errno(t->s, errno);
	return r;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs the handshake to its end, waiting at most timeout_ms in all. */
static int run_handshake(struct tls_io *t, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		int r = gnutls_handshake(t->s);
		if (r == GNUTLS_E_SUCCESS)
			return 0;
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED &&
		    gnutls_error_is_fatal(r))
			return r;
		uint64_t now = now_ms();
		if (now >= end)
			return GNUTLS_E_TIMEDOUT;
		struct pollfd pf = {
			.fd = t->fd,
			.events = gnutls_record_get_direction(t->s) ? POLLOUT
								    : POLLIN,
		};
		poll(&pf, 1, (int)(end - now));
	}
}

/* SHA-256 of the peer's leaf certificate as "sha256:hex"; false if none. */
static bool peer_fingerprint(gnutls_session_t s, char *out, size_t n)
{
	unsigned nc = 0;
	const gnutls_datum_t *der = gnutls_certificate_get_peers(s, &nc);
	unsigned char md[32];
	size_t mdlen = sizeof(md);
	if (!der || !nc ||
	    gnutls_fingerprint(GNUTLS_DIG_SHA256, &der[0], md, &mdlen) < 0 ||
	    mdlen != sizeof(md) || n < 7 + 2 * sizeof(md) + 1)
		return false;
	strcpy(out, "sha256:");
	for (size_t i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return true;
}

/* Server: who the client is, by its certificate (if it sent one). */
static void server_identify(struct tls_io *t)
{
	struct wh_peer *pe = t->peer;
	if (!pe || !peer_fingerprint(t->s, pe->cert_id, sizeof(pe->cert_id)))
		return;
	unsigned status = 1;
	if (!t->client_ca ||
	    gnutls_certificate_verify_peers2(t->s, &status) < 0 || status)
		return;
	unsigned nc = 0;
	const gnutls_datum_t *der = gnutls_certificate_get_peers(t->s, &nc);
	gnutls_x509_crt_t crt;
	if (!der || !nc || gnutls_x509_crt_init(&crt) < 0)
		return;
	gnutls_datum_t dn = { 0 };
	if (gnutls_x509_crt_import(crt, &der[0], GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0 && dn.data) {
		snprintf(pe->cert_subject, sizeof(pe->cert_subject), "%.*s",
			 (int)dn.size, (const char *)dn.data);
		gnutls_free(dn.data);
	}
	gnutls_x509_crt_deinit(crt);
}

/* The server's handshake, once, on the first I/O (the client's thread). */
static int ensure_handshake(struct tls_io *t)
{
	int hs = atomic_load_explicit(&t->hs, memory_order_acquire);
	if (hs)
		return hs > 0 ? 0 : -1;
	pthread_mutex_lock(&t->hs_lock);
	if (!atomic_load(&t->hs)) {
		int r = run_handshake(t, HANDSHAKE_MS);
		if (r) {
			fprintf(stderr, "wormhole: tls: handshake with %s failed: %s\n",
				t->peer ? t->peer->id : "peer", gnutls_strerror(r));
			atomic_store(&t->hs, -1);
		} else {
			server_identify(t);
			atomic_store_explicit(&t->hs, 1, memory_order_release);
		}
	}
	hs = atomic_load(&t->hs);
	pthread_mutex_unlock(&t->hs_lock);
	return hs > 0 ? 0 : -1;
}

static long tls_read(void *ctx, void *dst, size_t n)
{
	struct tls_io *t = ctx;
	if (ensure_handshake(t))
		return -1;
	pthread_mutex_lock(&t->io_lock);
	ssize_t r = gnutls_record_recv(t->s, dst, n);
	pthread_mutex_unlock(&t->io_lock);
	if (r > 0)
		return (long)r;
	if (r == 0)
		return -1;	/* close_notify: the peer is gone */
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED ||
	    !gnutls_error_is_fatal((int)r))
		return 0;
	return -1;
}

static long send_all(struct tls_io *t, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t done = 0;
	while (done < n) {
		ssize_t w = gnutls_record_send(t->s, b + done, n - done);
		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
			continue;
		if (w < 0)
			return -1;
		done += (size_t)w;
	}
	return (long)done;
}

static long tls_writev(void *ctx, const struct iovec *iov, int n)
{
	struct tls_io *t = ctx;
	if (ensure_handshake(t))
		return -1;
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	bool cork = total <= CORK_MAX && n > 1;
	long rc = (long)total;
	pthread_mutex_lock(&t->io_lock);
	if (cork)
		gnutls_record_cork(t->s);
	for (int i = 0; i < n && rc >= 0; i++)
		if (iov[i].iov_len && send_all(t, iov[i].iov_base, iov[i].iov_len) < 0)
			rc = -1;
	if (cork) {
		int r;
		do
			r = gnutls_record_uncork(t->s, GNUTLS_RECORD_WAIT);
		while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
		if (r < 0)
			rc = -1;
	}
	pthread_mutex_unlock(&t->io_lock);
	return rc;
}

static int tls_wait(void *ctx, bool in, int timeout_ms)
{
	struct tls_io *t = ctx;
	if (in && atomic_load(&t->hs) > 0) {
		pthread_mutex_lock(&t->io_lock);
		bool ready = gnutls_record_check_pending(t->s) || t->rpos < t->rlen;
		pthread_mutex_unlock(&t->io_lock);
		if (ready)
			return 1;
	}
	struct pollfd pf = { .fd = t->fd, .events = in ? POLLIN : POLLOUT };
	for (;;) {
		int r = poll(&pf, 1, timeout_ms);
		if (r > 0)
			return 1;	/* the read or write says what it was */
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static void tls_shutdown(void *ctx)
{
	struct tls_io *t = ctx;
	shutdown(t->fd, SHUT_RDWR);
}

static void tls_close(void *ctx)
{
	struct tls_io *t = ctx;
	if (atomic_load(&t->hs) > 0) {
		/* close_notify; the socket is blocking for sends, but a peer
		 * that stopped reading could hold us: don't wait for room. */
		struct pollfd pf = { .fd = t->fd, .events = POLLOUT };
		if (poll(&pf, 1, 0) == 1 && !(pf.revents & (POLLERR | POLLHUP)))
			gnutls_bye(t->s, GNUTLS_SHUT_WR);
	}
	gnutls_deinit(t->s);
	cred_put(t->cred);
	close(t->fd);
	pthread_mutex_destroy(&t->hs_lock);
	pthread_mutex_destroy(&t->io_lock);
	free(t);
}

static int tls_fd(void *ctx)
{
	return ((struct tls_io *)ctx)->fd;
}

/* The process model: a worker serves the channel now; drop ours without a
 * byte to the peer (the broker never ran the handshake: nothing to say). */
static void tls_forget(void *ctx)
{
	struct tls_io *t = ctx;
	gnutls_deinit(t->s);
	cred_put(t->cred);
	close(t->fd);
	pthread_mutex_destroy(&t->hs_lock);
	pthread_mutex_destroy(&t->io_lock);
	free(t);
}

static const struct wh_stream_io tls_stream_io = {
	.fd = tls_fd,
	.forget = tls_forget,
	.read = tls_read,
	.writev = tls_writev,
	.wait = tls_wait,
	.close = tls_close,
	.shutdown = tls_shutdown,
};

static struct tls_io *io_new(int fd, bool server, struct tls_cred *cr)
{
	struct tls_io *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	unsigned flags = server ? GNUTLS_SERVER : GNUTLS_CLIENT;
	/* No session tickets: nothing resumes, and a ticket would be one more
	 * message sent outside the caller's control. */
	flags |= GNUTLS_NO_TICKETS;
	if (gnutls_init(&t->s, flags) < 0) {
		free(t);
		return NULL;
	}
	if (gnutls_set_default_priority(t->s) < 0 ||
	    gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, cr->c) < 0) {
		gnutls_deinit(t->s);
		free(t);
		return NULL;
	}
	t->fd = fd;
	t->server = server;
	t->cred = cr;
	atomic_fetch_add(&cr->refs, 1);
	pthread_mutex_init(&t->hs_lock, NULL);
	pthread_mutex_init(&t->io_lock, NULL);
	gnutls_transport_set_ptr(t->s, t);
	gnutls_transport_set_pull_function(t->s, pull);
	gnutls_transport_set_pull_timeout_function(t->s, pull_timeout);
	gnutls_transport_set_vec_push_function(t->s, vec_push);
	return t;
}

/* ---- client ----------------------------------------------------------- */

static const char *opt_or_env(const char *v, const char *env)
{
	if (v && *v)
		return v;
	v = getenv(env);
	return v && *v ? v : NULL;
}

/* "sha256:AB:cd..." or hex: lower-case hex digits only into out. */
static bool norm_pin(const char *pin, char *out, size_t n)
{
	if (!strncasecmp(pin, "sha256:", 7))
		pin += 7;
	size_t k = 0;
	for (; *pin; pin++) {
		if (*pin == ':')
			continue;
		if (!isxdigit((unsigned char)*pin) || k + 1 >= n)
			return false;
		out[k++] = (char)tolower((unsigned char)*pin);
	}
	out[k] = '\0';
	return k == 64;
}

/* HOST of "HOST:PORT" / "[v6]:PORT". */
static void host_of(const char *rest, char *host, size_t n)
{
	const char *colon = strrchr(rest, ':');
	size_t len = colon ? (size_t)(colon - rest) : strlen(rest);
	if (len >= 2 && rest[0] == '[' && rest[len - 1] == ']') {
		rest++;
		len -= 2;
	}
	if (len >= n)
		len = n - 1;
	memcpy(host, rest, len);
	host[len] = '\0';
}

static bool is_ip(const char *h)
{
	return strchr(h, ':') || strspn(h, "0123456789.") == strlen(h);
}

int wh_tls_connect(const char *rest, const struct wh_client_opts *o,
		       struct wh_chan **out, char *err, size_t errlen)
{
	const char *ca = opt_or_env(o->tls_ca, "WORMHOLE_TLS_CA");
	const char *pin = opt_or_env(o->tls_pin, "WORMHOLE_TLS_PIN");
	const char *name = opt_or_env(o->tls_name, "WORMHOLE_TLS_NAME");
	const char *cert = opt_or_env(o->tls_cert, "WORMHOLE_TLS_CERT");
	const char *key = opt_or_env(o->tls_key, "WORMHOLE_TLS_KEY");
	char want[80] = "", host[256];
	int st, r;

	if (pin && !norm_pin(pin, want, sizeof(want))) {
		set_err(err, errlen, "tls: bad pin '%s' (want sha256:<64 hex digits>)", pin);
		return WH_E_MALFORMED;
	}
	if (!cert != !key) {
		set_err(err, errlen, "tls: a client certificate needs both "
			"WORMHOLE_TLS_CERT and WORMHOLE_TLS_KEY");
		return WH_E_MALFORMED;
	}
	struct tls_cred *cr = cred_new();
	if (!cr)
		return WH_E_NOMEM;
	if (ca) {
		r = gnutls_certificate_set_x509_trust_file(cr->c, ca, GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			set_err(err, errlen, "tls: no CA certificate loaded from %s: %s", ca,
				r ? gnutls_strerror(r) : "empty file");
			cred_put(cr);
			return WH_E_MALFORMED;
		}
	} else if (!pin) {
		r = gnutls_certificate_set_x509_system_trust(cr->c);
		if (r <= 0) {
			set_err(err, errlen, "tls: no CA to check the server against "
				"(set WORMHOLE_TLS_CA or WORMHOLE_TLS_PIN)");
			cred_put(cr);
			return WH_E_DENIED;
		}
	}
	if (cert) {
		r = gnutls_certificate_set_x509_key_file(cr->c, cert, key, GNUTLS_X509_FMT_PEM);
		if (r < 0) {
			set_err(err, errlen, "tls: client certificate %s / key %s: %s",
				cert, key, gnutls_strerror(r));
			cred_put(cr);
			return WH_E_MALFORMED;
		}
	}
	int fd;
	st = wh_tcp_dial("tls", rest, o, &fd, err, errlen);
	if (st) {
		cred_put(cr);
		return st;
	}
	struct tls_io *t = io_new(fd, false, cr);
	cred_put(cr);	/* the session holds its own reference */
	if (!t) {
		close(fd);
		return WH_E_NOMEM;
	}
	atomic_store(&t->hs, 1);	/* done below, before anyone reads */
	if (name)
		snprintf(host, sizeof(host), "%s", name);
	else
		host_of(rest, host, sizeof(host));
	if (!is_ip(host))
		gnutls_server_name_set(t->s, GNUTLS_NAME_DNS, host, strlen(host));
	if (ca || !pin)
		gnutls_session_set_verify_cert(t->s, host, 0);
	int tmo = o->connect_timeout_ms ? o->connect_timeout_ms : HANDSHAKE_MS;
	r = run_handshake(t, tmo);
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t why = { 0 };
		unsigned vs = gnutls_session_get_verify_cert_status(t->s);
		gnutls_certificate_verification_status_print(vs, GNUTLS_CRT_X509, &why, 0);
		set_err(err, errlen, "tls:%s: server certificate refused: %s", rest,
			why.data ? (const char *)why.data : "verification failed");
		gnutls_free(why.data);
		st = WH_E_DENIED;
	} else if (r) {
		set_err(err, errlen, "tls:%s: handshake failed: %s", rest,
			gnutls_strerror(r));
		st = r == GNUTLS_E_TIMEDOUT ? WH_E_TIMEOUT : WH_E_PEER_GONE;
	} else if (pin) {
		char got[80] = "";
		if (!peer_fingerprint(t->s, got, sizeof(got)) || strcmp(got + 7, want)) {
			set_err(err, errlen, "tls:%s: server certificate %s does not "
				"match the pinned sha256:%s", rest,
				got[0] == 's' ? got : "(none)", want);
			st = WH_E_DENIED;
		}
	}
	if (st) {
		atomic_store(&t->hs, -1);
		tls_close(t);
		return st;
	}
	char id[300];
	snprintf(id, sizeof(id), "tls:%s", rest);
	st = wh_stream_chan_over_io(&tls_stream_io, t, &wh_tls_ops, false, id, out);
	if (st) {
		tls_close(t);
		return st;
	}
	(*out)->peer.kind = WH_PEER_TLS;
	return WH_OK;
}

/* ---- server ----------------------------------------------------------- */

struct tls_listener {
	struct wh_listener base;
	int fd;
	bool client_ca;
	struct tls_cred *cred;
};

int wh_tls_listen(const char *rest, const struct wh_listen_opts *opts,
		      struct wh_listener **out, char *err, size_t errlen)
{
	if (!opts->auth) {
		set_err(err, errlen, "tls:%s: refusing to listen without an "
			"authentication callback", rest);
		return WH_E_DENIED;
	}
	if (!opts->tls_cert || !opts->tls_key) {
		set_err(err, errlen, "tls:%s: needs the server's certificate and "
			"key (tls_cert, tls_key)", rest);
		return WH_E_MALFORMED;
	}
	struct tls_cred *cr = cred_new();
	if (!cr)
		return WH_E_NOMEM;
	int r = gnutls_certificate_set_x509_key_file(cr->c, opts->tls_cert,
						     opts->tls_key, GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		set_err(err, errlen, "tls: certificate %s / key %s: %s",
			opts->tls_cert, opts->tls_key, gnutls_strerror(r));
		cred_put(cr);
		return WH_E_MALFORMED;
	}
	if (opts->tls_client_ca) {
		r = gnutls_certificate_set_x509_trust_file(cr->c, opts->tls_client_ca,
							   GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			set_err(err, errlen, "tls: no CA certificate loaded from %s: %s",
				opts->tls_client_ca, r ? gnutls_strerror(r) : "empty file");
			cred_put(cr);
			return WH_E_MALFORMED;
		}
	}
	struct tls_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		cred_put(cr);
		return WH_E_NOMEM;
	}
	int st = wh_tcp_bind("tls", rest, &l->fd, l->base.addr,
			     sizeof(l->base.addr), err, errlen);
	if (st) {
		cred_put(cr);
		free(l);
		return st;
	}
	l->cred = cr;
	l->client_ca = opts->tls_client_ca != NULL;
	*out = &l->base;
	return WH_OK;
}

int wh_tls_accept(struct wh_listener *base, struct wh_chan **out,
		      int timeout_ms)
{
	struct tls_listener *l = (struct tls_listener *)base;
	struct sockaddr_storage ss;
	unsigned ssl = sizeof(ss);
	int fd, st = wh_accept_socket(l->fd, timeout_ms, (struct sockaddr *)&ss,
				      &ssl, &fd);
	if (st)
		return st;
	wh_tcp_tune(fd, 3000);
	struct tls_io *t = io_new(fd, true, l->cred);
	if (!t) {
		close(fd);
		return WH_E_NOMEM;
	}
	t->client_ca = l->client_ca;
	/* Ask for a client certificate; one that is absent is no error (the
	 * client may use a token instead). */
	gnutls_certificate_server_set_request(t->s, GNUTLS_CERT_REQUEST);
	char id[128];
	wh_sockaddr_id(&ss, "tls", id, sizeof(id));
	st = wh_stream_chan_over_io(&tls_stream_io, t, &wh_tls_ops, true, id, out);
	if (st) {
		tls_close(t);
		return st;
	}
	(*out)->peer.kind = WH_PEER_TLS;
	t->peer = &(*out)->peer;
	return WH_OK;
}

int wh_tls_listener_fd(const struct wh_listener *base)
{
	return ((const struct tls_listener *)base)->fd;
}

void wh_tls_listener_close(struct wh_listener *base)
{
	struct tls_listener *l = (struct tls_listener *)base;
	close(l->fd);
	cred_put(l->cred);
	free(l);
}
