// SPDX-License-Identifier: MIT
/*
 * Drives the cudatrace libcuda.so.1 (found by the loader) in front of
 * fakedrv.c: argument forwarding, counts from several threads, the
 * cuGetProcAddress and export-table wrapping, a missing symbol, fork.
 * Prints one line per check; exits non-zero on the first failure.  The
 * trace file itself is checked by test-fake.sh.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int CUresult;
typedef CUresult (*launch_t)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
			     unsigned, void *, void **, void **);
static void *h;

#define CHECK(c, ...) do { if (!(c)) { printf("FAIL " __VA_ARGS__); printf("\n"); exit(1); } \
			   printf("ok   " __VA_ARGS__); printf("\n"); } while (0)

static void *sym(const char *n)
{
	void *p = dlsym(h, n);
	if (!p) {
		printf("FAIL dlsym %s: %s\n", n, dlerror());
		exit(1);
	}
	return p;
}

static void *worker(void *arg)
{
	CUresult (*init)(unsigned) = arg;
	for (int i = 0; i < 1000; i++)
		if (init(0) != 0)
			abort();
	return NULL;
}

int main(void)
{
	h = dlopen("libcuda.so.1", RTLD_NOW);
	CHECK(h != NULL, "dlopen libcuda.so.1 (%s)", h ? "" : dlerror());
	CHECK(dlsym(h, "cudatrace_marker") == NULL, "no stray exports");
	CUresult (*init)(unsigned) = sym("cuInit");
	CHECK(init(0) == 0 && init(3) == 1, "cuInit forwards its argument and result");
	launch_t launch = sym("cuLaunchKernel");
	CHECK(launch((void *)0x1111, 2, 3, 4, 5, 6, 7, 8, (void *)0x9999, (void **)0xaaaa,
		     (void **)0xbbbb) == 0, "11 arguments (5 on the stack) forwarded");
	double (*fl)(double, double, double, double, double, double, double, double, double,
		     double) = sym("cuFakeFloats");
	CHECK(fl(1, 2, 3, 4, 5, 6, 7, 8, 9, 10) == 385.0, "10 double arguments forwarded");

	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)init);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);

	CUresult (*gpa)(const char *, void **, int, unsigned long long, int *) =
		sym("cuGetProcAddress_v2");
	void *fn = NULL;
	int st = -1;
	CHECK(gpa("cuLaunchKernel", &fn, 12000, 0, &st) == 0 && st == 1, "gpa cuLaunchKernel");
	CHECK(fn == (void *)launch, "gpa hands back the exported trampoline");
	CHECK(((launch_t)fn)((void *)0x1111, 2, 3, 4, 5, 6, 7, 8, (void *)0x9999, (void **)0xaaaa,
			     (void **)0xbbbb) == 0, "call through gpa pointer");
	CHECK(gpa("cuInternalOnly", &fn, 13000, 2, &st) == 0, "gpa of an unexported function");
	CHECK(((CUresult(*)(int))fn)(42) == 0 && ((CUresult(*)(int))fn)(1) == 1,
	      "pool trampoline forwards");
	void *fn2 = NULL;
	CHECK(gpa("cuInternalOnly", &fn2, 13000, 2, &st) == 0 && fn2 == fn, "same pool slot reused");
	CHECK(gpa("cuNoSuchThing", &fn, 13000, 0, &st) == 500 && fn == NULL && st == 0,
	      "gpa failure passed through");
	CUresult (*gpa1)(const char *, void **, int, unsigned long long) = sym("cuGetProcAddress");
	CHECK(gpa1("cuInit", &fn, 11030, 0) == 0 && fn == (void *)init, "gpa v1");

	CUresult (*et)(const void **, const void *) = sym("cuGetExportTable");
	static const unsigned char us[16] = { 0x6b, 0xd5, 0xfb, 0x6c, 1, 2, 3, 4,
					      5, 6, 7, 8, 9, 10, 11, 12 };
	static const unsigned char up[16] = { 0xc6, 0x93, 0x33, 0x6e, 1, 2, 3, 4,
					      5, 6, 7, 8, 9, 10, 11, 12 };
	static const unsigned char ux[16] = { 0xde, 0xad };
	const void **tab = NULL;
	CHECK(et((const void **)&tab, us) == 0 && tab, "sized export table");
	CHECK((size_t)tab[0] == 4 * sizeof(void *), "size word kept");
	CHECK(*(const int *)tab[2] == 77, "data slot copied as is");
	CHECK(((CUresult(*)(int, int))tab[1])(1, 2) == 0 && ((CUresult(*)(void))tab[3])() == 7,
	      "sized table slots forward");
	const void **tab2 = NULL;
	CHECK(et((const void **)&tab2, us) == 0 && tab2 == tab, "same copy handed out again");
	CHECK(et((const void **)&tab, up) == 0 && tab, "table without a size word");
	CHECK(((CUresult(*)(long))tab[0])(5) == 0 && ((CUresult(*)(void))tab[1])() == 9,
	      "unsized table slots forward");
	CHECK(et((const void **)&tab, ux) == 500, "unknown UUID passed through");

	CHECK(((int (*)(void))sym("fakeSelfVersion"))() == 13000,
	      "the driver's start-up call to its own entry point reached itself");
	CUresult (*ver)(int *) = sym("cuDriverGetVersion");
	int v = 0;
	CHECK(ver(&v) == 0 && v == 13000, "cuDriverGetVersion");
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		init(0);
		exit(0);
	}
	int ws;
	waitpid(p, &ws, 0);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "forked child");
	return 0;
}
