// SPDX-License-Identifier: MIT
/*
 * cudatrace runtime: the C half of a tracing libcuda.so.1 (or, built with
 * -DCT_NVML, libnvidia-ml.so.1) that stands in front of the real library
 * (CUDATRACE_REAL / CUDATRACE_REAL_NVML: its path) and records what a
 * program asks of it.  The generated trampolines (gen.py) count calls and
 * tail-jump here only once per slot, to resolve the real function.
 *
 * Recorded per process, written at exit (and on SIGUSR2 when
 * CUDATRACE_SIGNAL=1) to $CUDATRACE_DIR/<lib>.<comm>.<pid>.txt:
 *  - every exported entry point called: first-call order and call count;
 *  - every cuGetProcAddress{,_v2} request: symbol, cudaVersion, flags,
 *    result, and the name of the exported function it resolved to (the
 *    pointer handed back is our trampoline, so its calls are counted too);
 *  - every cuGetExportTable UUID and result; the table handed back is a
 *    copy whose code-pointer slots are counting trampolines.
 * Invariants: counters are only touched with atomic instructions (in the
 * trampolines), so calls from any thread or signal handler are safe; the
 * request logs are guarded by one mutex and bounded; nothing here changes
 * an argument or a result the real library gives, except that function
 * pointers it hands out are replaced by trampolines forwarding to them.
 * A child of fork() starts with zeroed counters (its own trace).
 * CUDATRACE_PASSIVE=1 logs the requests but hands out the real pointers
 * (their calls are then not counted): a fallback should wrapping break a
 * program.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include CT_GENERATED

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN uint64_t ct_counts[CT_NSLOTS];
HIDDEN uint64_t ct_order[CT_NSLOTS];
HIDDEN void *ct_targets[CT_NSLOTS];
HIDDEN uint64_t ct_seq;
HIDDEN void *ct_resolve(uint64_t slot);

#ifdef CT_NVML
#define LIBTAG "nvml"
#define REAL_ENV "CUDATRACE_REAL_NVML"
#define MISSING_RESULT 13 /* NVML_ERROR_FUNCTION_NOT_FOUND */
#else
#define LIBTAG "cuda"
#define REAL_ENV "CUDATRACE_REAL"
#define MISSING_RESULT 500 /* CUDA_ERROR_NOT_FOUND */
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
__attribute__((unused)) static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *real_handle;
static __thread int initialising; /* this thread is inside init()'s dlopen */
static void *real_fn[CT_NSTATIC];
static const char *dyn_desc[CT_NDYN];
static unsigned ndyn_used;
static uint8_t missing_called[CT_NSTATIC];
static uintptr_t real_lo, real_hi;       /* the real library's mapped range */
static uintptr_t real_xlo[8], real_xhi[8]; /* its executable segments */
static int real_nx;
static int passive; /* CUDATRACE_PASSIVE=1: log requests, hand out the real pointers */

static long missing_fn(void) { return MISSING_RESULT; }

static int find_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (info->dlpi_addr != (uintptr_t)arg)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		if (p->p_type != PT_LOAD)
			continue;
		uintptr_t lo = info->dlpi_addr + p->p_vaddr, hi = lo + p->p_memsz;
		if (!real_lo || lo < real_lo)
			real_lo = lo;
		if (hi > real_hi)
			real_hi = hi;
		if ((p->p_flags & PF_X) && real_nx < 8) {
			real_xlo[real_nx] = lo;
			real_xhi[real_nx++] = hi;
		}
	}
	return 1;
}

static void init(void)
{
	const char *pe = getenv("CUDATRACE_PASSIVE");
	passive = pe && *pe == '1';
	const char *path = getenv(REAL_ENV);
	if (!path || !*path) {
		fprintf(stderr, "cudatrace: %s is not set: every call fails\n", REAL_ENV);
		return;
	}
	/* RTLD_DEEPBIND: the real library's calls to its own exported names
	 * bind to itself, not to our trampolines (no re-entry into init(), no
	 * internal calls counted as the program's).  CUDATRACE_NODEEPBIND=1
	 * turns this off. */
	const char *nd = getenv("CUDATRACE_NODEEPBIND");
	int deep = (nd && *nd == '1') ? 0 : RTLD_DEEPBIND;
	initialising = 1;
	real_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | deep);
	initialising = 0;
	if (!real_handle) {
		fprintf(stderr, "cudatrace: cannot load %s: %s\n", path, dlerror());
		return;
	}
	for (int i = 0; i < CT_NSTATIC; i++)
		real_fn[i] = dlsym(real_handle, ct_names[i]);
	struct link_map *lm;
	if (dlinfo(real_handle, RTLD_DI_LINKMAP, &lm) == 0)
		dl_iterate_phdr(find_segments, (void *)lm->l_addr);
}

__attribute__((unused)) static int in_real_code(uintptr_t a)
{
	for (int i = 0; i < real_nx; i++)
		if (a >= real_xlo[i] && a < real_xhi[i])
			return 1;
	return 0;
}

__attribute__((unused)) static int static_slot(const char *name)
{
	int lo = 0, hi = CT_NSTATIC - 1; /* ct_names is sorted (gen.py) */
	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(ct_names[mid], name);
		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* A pool slot forwarding to fn, described by desc (copied); NULL if full. */
__attribute__((unused)) static void *dyn_slot(void *fn, const char *desc)
{
	if (ndyn_used >= CT_NDYN)
		return NULL;
	unsigned k = ndyn_used++;
	dyn_desc[k] = strdup(desc);
	__atomic_store_n(&ct_targets[CT_NSTATIC + k], fn, __ATOMIC_RELEASE);
	return ct_tramps[CT_NSTATIC + k];
}

#ifndef CT_NVML
typedef int CUresult;
typedef struct { unsigned char b[16]; } ct_uuid;

static CUresult wrap_gpa_v2(const char *, void **, int, unsigned long long, int *);
static CUresult wrap_gpa_v1(const char *, void **, int, unsigned long long);
static CUresult wrap_export_table(const void **, const ct_uuid *);

/* Our own wrappers stand behind these exported names. */
static void *special(int slot)
{
	const char *n = ct_names[slot];
	if (!strcmp(n, "cuGetProcAddress_v2"))
		return (void *)wrap_gpa_v2;
	if (!strcmp(n, "cuGetProcAddress"))
		return (void *)wrap_gpa_v1;
	if (!strcmp(n, "cuGetExportTable"))
		return (void *)wrap_export_table;
	return NULL;
}
#endif

HIDDEN void *ct_resolve(uint64_t slot)
{
	if (initialising) {
		/* re-entered from the real library's own start-up on this thread:
		 * waiting for init() would deadlock; fail this one call */
		return (void *)missing_fn;
	}
	pthread_once(&once, init);
	if (slot >= CT_NSTATIC) /* pool slots are set before they are handed out */
		return (void *)missing_fn;
	void *fn = real_fn[slot];
#ifndef CT_NVML
	if (fn && special((int)slot))
		fn = special((int)slot);
#endif
	if (!fn) {
		missing_called[slot] = 1;
		fn = (void *)missing_fn;
	}
	__atomic_store_n(&ct_targets[slot], fn, __ATOMIC_RELEASE);
	return fn;
}

#ifndef CT_NVML
/* --- cuGetProcAddress ------------------------------------------------ */
#define MAX_GPA 4096
static struct gpa_rec {
	char *sym;
	int ver, result, status;
	unsigned long long flags;
	uint64_t count;
	const char *mapped;
} gpa[MAX_GPA];
static unsigned ngpa;
static uint64_t gpa_dropped;

/* The trampoline standing for the real function fn, and its name. */
static void *map_fn(void *fn, const char *sym, int ver, unsigned long long flags,
		    const char **mapped)
{
	for (int i = 0; i < CT_NSTATIC; i++)
		if (real_fn[i] == fn) {
			*mapped = ct_names[i];
			return ct_tramps[i];
		}
	for (unsigned k = 0; k < ndyn_used; k++)
		if (ct_targets[CT_NSTATIC + k] == fn) {
			*mapped = dyn_desc[k];
			return ct_tramps[CT_NSTATIC + k];
		}
	char desc[256];
	snprintf(desc, sizeof desc, "gpa:%s@%d/%llu", sym, ver, flags);
	void *t = dyn_slot(fn, desc);
	*mapped = t ? dyn_desc[ndyn_used - 1] : "(pool full: untraced)";
	return t ? t : fn;
}

static void gpa_record(const char *sym, int ver, unsigned long long flags,
		       CUresult r, int status, const char *mapped)
{
	for (unsigned i = 0; i < ngpa; i++)
		if (gpa[i].ver == ver && gpa[i].flags == flags && gpa[i].result == r &&
		    gpa[i].status == status && !strcmp(gpa[i].sym, sym)) {
			gpa[i].count++;
			return;
		}
	if (ngpa == MAX_GPA) {
		gpa_dropped++;
		return;
	}
	gpa[ngpa++] = (struct gpa_rec){ strdup(sym), ver, r, status, flags, 1, mapped };
}

static CUresult gpa_common(int v2, const char *sym, void **pfn, int ver,
			   unsigned long long flags, int *status)
{
	if (initialising)
		return MISSING_RESULT;
	pthread_once(&once, init);
	int s = static_slot(v2 ? "cuGetProcAddress_v2" : "cuGetProcAddress");
	if (s < 0 || !real_fn[s])
		return MISSING_RESULT;
	CUresult r = v2 ? ((CUresult(*)(const char *, void **, int, unsigned long long, int *))
			   real_fn[s])(sym, pfn, ver, flags, status)
			: ((CUresult(*)(const char *, void **, int, unsigned long long))
			   real_fn[s])(sym, pfn, ver, flags);
	pthread_mutex_lock(&lock);
	const char *mapped = "-";
	if (r == 0 && pfn && *pfn && passive)
		mapped = "(passive)";
	else if (r == 0 && pfn && *pfn)
		*pfn = map_fn(*pfn, sym ? sym : "(null)", ver, flags, &mapped);
	gpa_record(sym ? sym : "(null)", ver, flags, r, (v2 && status) ? *status : -1, mapped);
	pthread_mutex_unlock(&lock);
	return r;
}

static CUresult wrap_gpa_v2(const char *sym, void **pfn, int ver, unsigned long long flags,
			    int *status)
{
	return gpa_common(1, sym, pfn, ver, flags, status);
}

static CUresult wrap_gpa_v1(const char *sym, void **pfn, int ver, unsigned long long flags)
{
	return gpa_common(0, sym, pfn, ver, flags, NULL);
}

/* --- cuGetExportTable -------------------------------------------------- */
#define MAX_TABLES 64
#define MAX_TABLE_SLOTS 256
#define SCAN_SLOTS 64
static struct table_rec {
	ct_uuid id;
	const void *orig, *copy;
	CUresult result;
	uint64_t count;
	unsigned nslots;
	char layout[24];
} tables[MAX_TABLES];
static unsigned ntables;

static void uuid_str(const ct_uuid *u, char out[40])
{
	static const char hx[] = "0123456789abcdef";
	int o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hx[u->b[i] >> 4];
		out[o++] = hx[u->b[i] & 15];
	}
	out[o] = 0;
}

/*
 * Public notes (ZLUDA's dark_api) say most tables start with their own
 * size in bytes, slot 0 included; some (context-local storage) start with a
 * function.  Without a size word, the table is taken to run while its
 * words point into the real library's code (at most SCAN_SLOTS), read only
 * inside the real library's mapping.  Only words pointing into its code are
 * replaced by trampolines; data and NULL slots are copied as they are.
 */
static const void *wrap_table(const ct_uuid *id, const void *orig, struct table_rec *t)
{
	const uintptr_t *w = orig;
	uintptr_t base = (uintptr_t)orig;
	unsigned n;
	int inside = base >= real_lo && base + 8 <= real_hi;
	/* The runtime's integrity check hashes the addresses of these two tables and of the
	 * check function (client-lib/cudaext/README.md): a copy makes every runtime fail with
	 * "integrity checks failed", so they are handed out as they are (their calls not counted). */
	static const unsigned char hashed[2][16] = {
		{0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9},
		{0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b, 0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2},
	};
	if (!memcmp(id, hashed[0], 16) || !memcmp(id, hashed[1], 16)) {
		snprintf(t->layout, sizeof t->layout, "unwrapped");
		return orig;
	}
	if (w[0] >= 8 && w[0] <= 8 * MAX_TABLE_SLOTS && w[0] % 8 == 0) {
		n = (unsigned)(w[0] / 8);
		snprintf(t->layout, sizeof t->layout, "size=%u", (unsigned)w[0]);
	} else if (inside) {
		n = 0;
		while (n < SCAN_SLOTS && base + 8 * (n + 1) <= real_hi && in_real_code(w[n]))
			n++;
		snprintf(t->layout, sizeof t->layout, "scan");
		if (!n) {
			snprintf(t->layout, sizeof t->layout, "unwrapped");
			return orig;
		}
	} else {
		snprintf(t->layout, sizeof t->layout, "unwrapped");
		return orig;
	}
	uintptr_t *copy = calloc(n, sizeof *copy);
	if (!copy) {
		snprintf(t->layout, sizeof t->layout, "unwrapped");
		return orig;
	}
	char u[40];
	uuid_str(id, u);
	for (unsigned k = 0; k < n; k++) {
		copy[k] = w[k];
		if (k == 0 && t->layout[0] == 's' && t->layout[1] == 'i')
			continue;
		if (!in_real_code(w[k]))
			continue;
		char desc[96];
		snprintf(desc, sizeof desc, "etab:%s:%u", u, k);
		void *tr = dyn_slot((void *)w[k], desc);
		if (tr)
			copy[k] = (uintptr_t)tr;
	}
	t->nslots = n;
	return copy;
}

static CUresult wrap_export_table(const void **pp, const ct_uuid *id)
{
	if (initialising)
		return MISSING_RESULT;
	pthread_once(&once, init);
	int s = static_slot("cuGetExportTable");
	if (s < 0 || !real_fn[s])
		return MISSING_RESULT;
	CUresult r = ((CUresult(*)(const void **, const ct_uuid *))real_fn[s])(pp, id);
	if (!id)
		return r;
	pthread_mutex_lock(&lock);
	struct table_rec *t = NULL;
	const void *orig = (r == 0 && pp) ? *pp : NULL;
	for (unsigned i = 0; i < ntables; i++)
		if (!memcmp(&tables[i].id, id, sizeof *id) && tables[i].orig == orig &&
		    tables[i].result == r)
			t = &tables[i];
	if (!t && ntables < MAX_TABLES) {
		t = &tables[ntables++];
		t->id = *id;
		t->orig = orig;
		t->result = r;
		snprintf(t->layout, sizeof t->layout, "-");
		t->copy = orig && !passive ? wrap_table(id, orig, t) : orig;
		if (orig && passive)
			snprintf(t->layout, sizeof t->layout, "passive");
	}
	if (t) {
		t->count++;
		if (orig)
			*pp = t->copy;
	}
	pthread_mutex_unlock(&lock);
	return r;
}
#endif

/* --- the trace file ----------------------------------------------------- */
static void dump_to(int fd)
{
	char line[512];
	int n;
	char exe[256] = "?";
	ssize_t e = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (e > 0)
		exe[e] = 0;
	const char *tag = getenv("CUDATRACE_TAG");
	n = snprintf(line, sizeof line, "# cudatrace 1 lib=%s pid=%d exe=%s tag=%s real=%s\n",
		     LIBTAG, (int)getpid(), exe, tag ? tag : "-",
		     getenv(REAL_ENV) ? getenv(REAL_ENV) : "-");
	if (write(fd, line, (size_t)n) < 0)
		return;
	int cfd = open("/proc/self/cmdline", O_RDONLY);
	if (cfd >= 0) {
		char cmd[400];
		ssize_t c = read(cfd, cmd, sizeof cmd - 1);
		close(cfd);
		if (c > 0) {
			for (ssize_t i = 0; i < c; i++)
				if (cmd[i] == 0 || cmd[i] == '\n')
					cmd[i] = ' ';
			cmd[c] = 0;
			n = snprintf(line, sizeof line, "# argv %s\n", cmd);
			if (write(fd, line, (size_t)n) < 0)
				return;
		}
	}
	/* entries and pool slots in first-call order */
	uint64_t last = __atomic_load_n(&ct_seq, __ATOMIC_ACQUIRE);
	for (uint64_t o = 1; o <= last; o++)
		for (int i = 0; i < CT_NSLOTS; i++) {
			if (__atomic_load_n(&ct_order[i], __ATOMIC_RELAXED) != o)
				continue;
			uint64_t c = __atomic_load_n(&ct_counts[i], __ATOMIC_RELAXED);
			if (i < CT_NSTATIC)
				n = snprintf(line, sizeof line, "entry %llu %llu %s%s\n",
					     (unsigned long long)o, (unsigned long long)c,
					     ct_names[i], missing_called[i] ? " MISSING" : "");
			else
				n = snprintf(line, sizeof line, "call %llu %llu %s\n",
					     (unsigned long long)o, (unsigned long long)c,
					     dyn_desc[i - CT_NSTATIC] ? dyn_desc[i - CT_NSTATIC] : "?");
			if (write(fd, line, (size_t)n) < 0)
				return;
		}
#ifndef CT_NVML
	for (unsigned i = 0; i < ngpa; i++) {
		if (!gpa[i].count)
			continue;
		n = snprintf(line, sizeof line, "gpa %llu %d %d %d %llu %s -> %s\n",
			     (unsigned long long)gpa[i].count, gpa[i].result, gpa[i].status,
			     gpa[i].ver, gpa[i].flags, gpa[i].sym, gpa[i].mapped);
		if (write(fd, line, (size_t)n) < 0)
			return;
	}
	if (gpa_dropped) {
		n = snprintf(line, sizeof line, "# gpa records dropped: %llu\n",
			     (unsigned long long)gpa_dropped);
		if (write(fd, line, (size_t)n) < 0)
			return;
	}
	for (unsigned i = 0; i < ntables; i++) {
		char u[40];
		if (!tables[i].count)
			continue;
		uuid_str(&tables[i].id, u);
		n = snprintf(line, sizeof line, "etab %llu %d %s %s slots=%u\n",
			     (unsigned long long)tables[i].count, tables[i].result, u,
			     tables[i].layout, tables[i].nslots);
		if (write(fd, line, (size_t)n) < 0)
			return;
	}
#endif
	n = snprintf(line, sizeof line, "# end pool=%u/%d\n", ndyn_used, CT_NDYN);
	if (write(fd, line, (size_t)n) < 0)
		return;
}

static void dump(void)
{
	if (!__atomic_load_n(&ct_seq, __ATOMIC_ACQUIRE))
		return; /* this process never called the library */
	const char *dir = getenv("CUDATRACE_DIR");
	char comm[64] = "proc", path[512];
	int cfd = open("/proc/self/comm", O_RDONLY);
	if (cfd >= 0) {
		ssize_t c = read(cfd, comm, sizeof comm - 1);
		close(cfd);
		while (c > 0 && comm[c - 1] == '\n')
			c--;
		if (c > 0) {
			comm[c] = 0;
			for (ssize_t i = 0; i < c; i++)
				if (!((comm[i] >= 'a' && comm[i] <= 'z') || (comm[i] >= 'A' && comm[i] <= 'Z') ||
				      (comm[i] >= '0' && comm[i] <= '9') || comm[i] == '-' || comm[i] == '_'))
					comm[i] = comm[i] ? '_' : 0;
		}
	}
	snprintf(path, sizeof path, "%s/%s.%s.%d.txt", dir && *dir ? dir : ".", LIBTAG, comm,
		 (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	dump_to(fd);
	close(fd);
}

static void on_signal(int sig)
{
	(void)sig;
	dump();
}

static void atfork_child(void)
{
	memset(ct_counts, 0, sizeof ct_counts);
	memset(ct_order, 0, sizeof ct_order);
	ct_seq = 0;
#ifndef CT_NVML
	/* keep the records (pointers handed out stay valid), drop the counts */
	for (unsigned i = 0; i < ngpa; i++)
		gpa[i].count = 0;
	for (unsigned i = 0; i < ntables; i++)
		tables[i].count = 0;
	gpa_dropped = 0;
#endif
}

__attribute__((constructor)) static void ct_start(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
	const char *s = getenv("CUDATRACE_SIGNAL");
	if (s && *s == '1')
		signal(SIGUSR2, on_signal);
}

__attribute__((destructor)) static void ct_stop(void)
{
	dump();
}
