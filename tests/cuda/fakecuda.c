// SPDX-License-Identifier: MIT
/*
 * A stand-in libcuda.so.1 for testing the CUDA remoting protocol on
 * machines without a GPU (CI): "device memory" is host memory, copies and
 * memsets really move bytes.  Only the entry points the wormholed CUDA
 * backends load exist (server-vm/cuda: runtime level; server-vm/cudadrv:
 * driver level).  Never installed.
 *
 * Kernels: a module loaded from PTX text (cuModuleLoadData) has its
 * `.entry` functions parsed with their `.param` lists, so
 * cuFuncGetParamInfo gives the layout a real driver gives (each parameter
 * aligned to its size or its .align); launching one of the kernels below
 * by name runs it on the host, one-dimensional, over every thread of the
 * grid.  Other images (fat binaries) load as before: their functions do
 * nothing and have no parameters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
#define OK 0
#define INVALID_VALUE 1

static uint64_t used;

#define API __attribute__((visibility("default")))

API CUresult cuInit(unsigned f) { (void)f; return OK; }
API CUresult cuDriverGetVersion(int *v) { *v = 13000; return OK; }
API CUresult cuDeviceGetCount(int *n) { *n = 1; return OK; }
API CUresult cuDeviceGet(int *d, int i) { *d = i; return i == 0 ? OK : 101; }
API CUresult cuDeviceGetAttribute(int *v, int attr, int dev)
{
	(void)dev;
	switch (attr) {
	case 1: *v = 1024; break;               /* max threads per block */
	case 2: case 3: *v = 1024; break;       /* block dims x, y */
	case 4: *v = 64; break;                 /* block dim z */
	case 5: *v = 0x7fffffff; break;         /* grid x */
	case 6: case 7: *v = 65535; break;
	case 16: *v = 132; break;               /* SMs */
	case 75: *v = 9; break;                 /* cc major */
	case 76: *v = 0; break;
	/* plausible H100 values where libraries divide by them */
	case 8: *v = 49152; break;              /* shared memory per block */
	case 9: *v = 65536; break;              /* constant memory */
	case 10: *v = 32; break;                /* warp size */
	case 11: *v = 0x7fffffff; break;        /* max pitch */
	case 12: *v = 65536; break;             /* registers per block */
	case 13: *v = 1980000; break;           /* clock rate kHz */
	case 14: *v = 512; break;               /* texture alignment */
	case 15: case 31: case 40: *v = 1; break; /* overlap, concurrent kernels */
	case 36: *v = 2619000; break;           /* memory clock */
	case 37: *v = 5120; break;              /* bus width */
	case 38: *v = 52428800; break;          /* L2 */
	case 39: *v = 2048; break;              /* threads per SM */
	case 41: *v = 1; break;                 /* unified addressing */
	case 81: *v = 233472; break;            /* shared memory per SM */
	case 82: *v = 65536; break;             /* registers per SM */
	case 97: *v = 232448; break;            /* shared memory per block opt-in */
	case 106: *v = 32; break;               /* blocks per SM */
	default: *v = 0;
	}
	return OK;
}
API CUresult cuGetErrorString(CUresult r, const char **s) { (void)r; *s = "fake error"; return OK; }
API CUresult cuCtxCreate_v4(void **ctx, void *p, unsigned f, int dev)
{
	(void)p; (void)f; (void)dev;
	*ctx = malloc(16);
	return OK;
}
API CUresult cuCtxSetCurrent(void *ctx) { (void)ctx; return OK; }
API CUresult cuCtxDestroy_v2(void *ctx) { free(ctx); return OK; }
API CUresult cuCtxSynchronize(void) { return OK; }
API CUresult cuMemHostRegister_v2(void *p, size_t n, unsigned f) { (void)p; (void)n; (void)f; return OK; }
API CUresult cuMemHostUnregister(void *p) { (void)p; return OK; }
API CUresult cuMemAlloc_v2(uint64_t *p, size_t n)
{
	void *m = malloc(n);
	if (!m)
		return 2;
	*p = (uint64_t)(uintptr_t)m;
	used += n;
	return OK;
}
API CUresult cuMemFree_v2(uint64_t p) { free((void *)(uintptr_t)p); return OK; }
API CUresult cuMemGetInfo_v2(size_t *f, size_t *t) { *t = 80ull << 30; *f = *t - used; return OK; }
API CUresult cuMemcpyHtoD_v2(uint64_t d, const void *s, size_t n) { memcpy((void *)(uintptr_t)d, s, n); return OK; }
API CUresult cuMemcpyHtoDAsync_v2(uint64_t d, const void *s, size_t n, void *st) { (void)st; return cuMemcpyHtoD_v2(d, s, n); }
API CUresult cuMemcpyDtoH_v2(void *d, uint64_t s, size_t n) { memcpy(d, (void *)(uintptr_t)s, n); return OK; }
API CUresult cuMemcpyDtoHAsync_v2(void *d, uint64_t s, size_t n, void *st) { (void)st; return cuMemcpyDtoH_v2(d, s, n); }
API CUresult cuMemcpyDtoDAsync_v2(uint64_t d, uint64_t s, size_t n, void *st) { (void)st; memmove((void *)(uintptr_t)d, (void *)(uintptr_t)s, n); return OK; }
API CUresult cuMemsetD8Async(uint64_t d, unsigned char v, size_t n, void *st) { (void)st; memset((void *)(uintptr_t)d, v, n); return OK; }
API CUresult cuStreamDestroy_v2(void *s) { free(s); return OK; }
API CUresult cuStreamSynchronize(void *s) { (void)s; return OK; }
API CUresult cuStreamQuery(void *s) { (void)s; return OK; }
API CUresult cuStreamWaitEvent(void *s, void *e, unsigned f) { (void)s; (void)e; (void)f; return OK; }
API CUresult cuEventCreate(void **e, unsigned f) { (void)f; *e = malloc(8); return OK; }
API CUresult cuEventDestroy_v2(void *e) { free(e); return OK; }
API CUresult cuEventRecord(void *e, void *s) { (void)e; (void)s; return OK; }
API CUresult cuEventSynchronize(void *e) { (void)e; return OK; }
API CUresult cuEventQuery(void *e) { (void)e; return OK; }
API CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b) { (void)a; (void)b; *ms = 1.0f; return OK; }
API CUresult cuFuncGetAttribute(int *v, int a, void *f) { (void)f; *v = a == 0 ? 1024 : 0; return OK; }
API CUresult cuFuncSetAttribute(void *f, int a, int v) { (void)f; (void)a; (void)v; return OK; }
API CUresult cuDeviceGetName(char *name, int len, int dev) { (void)dev; strncpy(name, "Fake GPU", (size_t)len); return OK; }
API CUresult cuDeviceTotalMem_v2(size_t *b, int dev) { (void)dev; *b = 80ull << 30; return OK; }
API CUresult cuMemHostAlloc(void **p, size_t n, unsigned f) { (void)f; *p = malloc(n); return *p ? OK : 2; }
API CUresult cuMemFreeHost(void *p) { free(p); return OK; }

/* ---- driver-level additions (server-vm/cudadrv) ------------------------- */

API CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) { (void)dev; *ctx = malloc(16); return OK; }
API CUresult cuDevicePrimaryCtxRelease_v2(int dev) { (void)dev; return OK; }
API CUresult cuDeviceGetUuid_v2(unsigned char *u, int dev) { memset(u, 0x5a, 16); u[0] = (unsigned char)dev; return OK; }
API CUresult cuMemcpyDtoD_v2(uint64_t d, uint64_t s, size_t n) { memmove((void *)(uintptr_t)d, (void *)(uintptr_t)s, n); return OK; }
API CUresult cuMemsetD8_v2(uint64_t d, unsigned char v, size_t n) { memset((void *)(uintptr_t)d, v, n); return OK; }
API CUresult cuMemsetD16_v2(uint64_t d, unsigned short v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		memcpy((char *)(uintptr_t)d + 2 * i, &v, 2);
	return OK;
}
API CUresult cuMemsetD32_v2(uint64_t d, unsigned v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		memcpy((char *)(uintptr_t)d + 4 * i, &v, 4);
	return OK;
}
API CUresult cuMemsetD16Async(uint64_t d, unsigned short v, size_t n, void *st) { (void)st; return cuMemsetD16_v2(d, v, n); }
API CUresult cuMemsetD32Async(uint64_t d, unsigned v, size_t n, void *st) { (void)st; return cuMemsetD32_v2(d, v, n); }

struct fstream { unsigned flags; int prio; };
API CUresult cuStreamCreate(void **s, unsigned f)
{
	struct fstream *x = calloc(1, sizeof(*x));
	x->flags = f;
	*s = x;
	return OK;
}
API CUresult cuStreamCreateWithPriority(void **s, unsigned f, int p)
{
	struct fstream *x = calloc(1, sizeof(*x));
	x->flags = f;
	x->prio = p;
	*s = x;
	return OK;
}
API CUresult cuStreamGetPriority(void *s, int *p)
{
	*p = (s && (uintptr_t)s > 2) ? ((struct fstream *)s)->prio : 0;
	return OK;
}
API CUresult cuStreamGetFlags(void *s, unsigned *f)
{
	*f = (s && (uintptr_t)s > 2) ? ((struct fstream *)s)->flags : 0;
	return OK;
}
API CUresult cuCtxGetStreamPriorityRange(int *least, int *greatest)
{
	if (least)
		*least = 0;
	if (greatest)
		*greatest = -5;
	return OK;
}

/* Modules: PTX text parsed for its entries and their parameters. */
#define MAXP 64
struct ffunc {
	char name[64];
	unsigned n;
	size_t off[MAXP], size[MAXP];
	int maxdyn;
};
struct fmod {
	unsigned nf;
	struct ffunc f[16];
	unsigned ng;                    /* variables, by name, 4 KiB each */
	char gname[16][64];
	void *g[16];
};
static struct ffunc nullfunc; /* functions of non-PTX images */

static size_t type_size(const char *t)
{
	if (!strncmp(t, ".u64", 4) || !strncmp(t, ".s64", 4) || !strncmp(t, ".b64", 4) || !strncmp(t, ".f64", 4))
		return 8;
	if (!strncmp(t, ".u16", 4) || !strncmp(t, ".s16", 4) || !strncmp(t, ".b16", 4) || !strncmp(t, ".f16", 4))
		return 2;
	if (!strncmp(t, ".u8", 3) || !strncmp(t, ".s8", 3) || !strncmp(t, ".b8", 3))
		return 1;
	return 4;
}

static void parse_ptx(struct fmod *m, const char *p)
{
	const char *e;
	while (m->nf < 16 && (e = strstr(p, ".entry "))) {
		struct ffunc *f = &m->f[m->nf++];
		e += 7;
		size_t k = 0;
		while (*e && *e != '(' && *e != ' ' && *e != '\n' && k + 1 < sizeof(f->name))
			f->name[k++] = *e++;
		const char *end = strchr(e, ')');
		const char *q = e;
		size_t off = 0;
		while (end && f->n < MAXP && (q = strstr(q, ".param ")) && q < end) {
			q += 7;
			size_t align = 0, sz;
			if (!strncmp(q, ".align ", 7)) {
				align = strtoul(q + 7, (char **)&q, 10);
				while (*q == ' ')
					q++;
			}
			sz = type_size(q);
			const char *br = strchr(q, '[');
			const char *nl = strchr(q, '\n');
			if (br && (!nl || br < nl))
				sz *= strtoul(br + 1, NULL, 10);
			if (!align)
				align = type_size(q);
			off = (off + align - 1) / align * align;
			f->off[f->n] = off;
			f->size[f->n] = sz;
			f->n++;
			off += sz;
		}
		p = end ? end : e;
	}
}

API CUresult cuModuleLoadData(void **m, const void *img)
{
	struct fmod *x = calloc(1, sizeof(*x));
	if (!x)
		return 2;
	if (strstr((const char *)img, ".version") && strstr((const char *)img, ".entry "))
		parse_ptx(x, img);
	*m = x;
	return OK;
}
API CUresult cuModuleUnload(void *m) { free(m); return OK; }
API CUresult cuModuleGetGlobal_v2(uint64_t *p, size_t *n, void *m, const char *name)
{
	struct fmod *x = m;
	unsigned i;
	for (i = 0; i < x->ng; i++)
		if (!strncmp(x->gname[i], name, sizeof(x->gname[i]) - 1))
			break;
	if (i == x->ng) {
		if (x->ng == 16)
			return 500;
		strncpy(x->gname[i], name, sizeof(x->gname[i]) - 1);
		x->g[i] = calloc(1, 4096);
		x->ng++;
	}
	if (p)
		*p = (uint64_t)(uintptr_t)x->g[i];
	if (n)
		*n = 4096;
	return OK;
}
API CUresult cuModuleGetFunction(void **f, void *m, const char *name)
{
	struct fmod *x = m;
	if (!x->nf) {
		*f = &nullfunc;
		return OK;
	}
	for (unsigned i = 0; i < x->nf; i++)
		if (!strcmp(x->f[i].name, name)) {
			*f = &x->f[i];
			return OK;
		}
	return 500; /* CUDA_ERROR_NOT_FOUND */
}
API CUresult cuFuncGetParamInfo(void *f, size_t i, size_t *off, size_t *sz)
{
	struct ffunc *x = f;
	if (!x || i >= x->n)
		return INVALID_VALUE;
	*off = x->off[i];
	*sz = x->size[i];
	return OK;
}
API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *n, void *f, int bs, size_t sh)
{
	(void)f; (void)sh;
	*n = bs > 0 ? 2048 / bs : 0;
	return OK;
}

/* The kernels the tests launch, run on the host. */
static void *arg_ptr(void **args, unsigned i) { void *p; memcpy(&p, args[i], sizeof(p)); return p; }
static unsigned arg_u32(void **args, unsigned i) { unsigned v; memcpy(&v, args[i], 4); return v; }
static float arg_f32(void **args, unsigned i) { float v; memcpy(&v, args[i], 4); return v; }

API CUresult cuLaunchKernel(void *fp, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
			    unsigned bz, unsigned sh, void *s, void **args, void **extra)
{
	(void)gy; (void)gz; (void)by; (void)bz; (void)sh; (void)s; (void)extra;
	struct ffunc *f = fp;
	if (!f || f == (void *)1 || f == &nullfunc)
		return OK;
	size_t threads = (size_t)gx * bx;
	if (!strcmp(f->name, "vecadd") && f->n == 4) {
		float *a = arg_ptr(args, 0), *b = arg_ptr(args, 1), *c = arg_ptr(args, 2);
		unsigned n = arg_u32(args, 3);
		for (size_t i = 0; i < threads && i < n; i++)
			c[i] = a[i] + b[i];
	} else if (!strcmp(f->name, "fill32") && f->n == 3) {
		unsigned *p = arg_ptr(args, 0), v = arg_u32(args, 1), n = arg_u32(args, 2);
		for (size_t i = 0; i < threads && i < n; i++)
			p[i] = v;
	} else if (!strcmp(f->name, "axpy_struct") && f->n == 2) {
		/* (.align 8 .b8 s[24] {float a; pad; u64 x; u64 y}, u32 n): y = a*x + y */
		const unsigned char *st = args[0];
		float a;
		float *x, *y;
		memcpy(&a, st, 4);
		memcpy(&x, st + 8, 8);
		memcpy(&y, st + 16, 8);
		unsigned n = arg_u32(args, 1);
		for (size_t i = 0; i < threads && i < n; i++)
			y[i] = a * x[i] + y[i];
	} else if (!strcmp(f->name, "scale") && f->n == 3) {
		float *p = arg_ptr(args, 0), k = arg_f32(args, 1);
		unsigned n = arg_u32(args, 2);
		for (size_t i = 0; i < threads && i < n; i++)
			p[i] *= k;
	}
	return OK;
}

/* Libraries are modules here; a kernel is its module's function. */
API CUresult cuLibraryLoadData(void **l, const void *c, void *a, void *b, unsigned n, void *d, void *e, unsigned m)
{
	(void)a; (void)b; (void)n; (void)d; (void)e; (void)m;
	return cuModuleLoadData(l, c);
}
API CUresult cuLibraryUnload(void *l) { free(l); return OK; }
API CUresult cuLibraryGetModule(void **m, void *l) { *m = l; return OK; }
API CUresult cuLibraryGetKernel(void **k, void *l, const char *name) { return cuModuleGetFunction(k, l, name); }
API CUresult cuKernelGetFunction(void **f, void *k) { *f = k; return OK; }
API CUresult cuLibraryGetGlobal(uint64_t *p, size_t *n, void *l, const char *name) { return cuModuleGetGlobal_v2(p, n, l, name); }
static size_t limits[16];
API CUresult cuCtxGetLimit(size_t *v, int l) { if (l < 0 || l >= 16) return INVALID_VALUE; *v = limits[l]; return OK; }
API CUresult cuCtxSetLimit(int l, size_t v) { if (l < 0 || l >= 16) return INVALID_VALUE; limits[l] = v; return OK; }
API CUresult cuLaunchCooperativeKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
				       unsigned bz, unsigned sh, void *s, void **args)
{
	return cuLaunchKernel(f, gx, gy, gz, bx, by, bz, sh, s, args, NULL);
}
static unsigned char stream_attrs[32][64];
API CUresult cuStreamGetAttribute(void *s, int id, void *v)
{
	(void)s;
	if (id < 0 || id >= 32)
		return INVALID_VALUE;
	memcpy(v, stream_attrs[id], 64);
	return OK;
}
API CUresult cuStreamSetAttribute(void *s, int id, const void *v)
{
	(void)s;
	if (id < 0 || id >= 32)
		return INVALID_VALUE;
	memcpy(stream_attrs[id], v, 64);
	return OK;
}
API CUresult cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *n, void *f, int bs, size_t sh, unsigned fl)
{
	(void)fl;
	return cuOccupancyMaxActiveBlocksPerMultiprocessor(n, f, bs, sh);
}
API CUresult cuEventRecordWithFlags(void *e, void *s, unsigned f) { (void)e; (void)s; (void)f; return OK; }
API CUresult cuOccupancyAvailableDynamicSMemPerBlock(size_t *n, void *f, int nb, int bs)
{
	(void)f; (void)bs;
	*n = nb > 0 ? 233472 / (size_t)nb : 0;
	if (*n > 232448)
		*n = 232448;
	return OK;
}
