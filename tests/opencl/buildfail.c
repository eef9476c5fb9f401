// SPDX-License-Identifier: MIT
/* A program whose build fails: the error code, the build status and the
 * build log must come back; then a good build with a build callback. */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char *bad =
	"__kernel void k(__global int *x) {\n"
	"  x[0] = undefined_thing + 1;\n"
	"}\n";
static const char *good = "__kernel void k(__global int *x) { x[get_global_id(0)] = 42; }\n";

static volatile int notified;
static void CL_CALLBACK on_built(cl_program p, void *ud)
{
	cl_build_status st = 0;
	cl_device_id dev = ud;
	clGetProgramBuildInfo(p, dev, CL_PROGRAM_BUILD_STATUS, sizeof(st), &st, NULL);
	notified = st == CL_BUILD_SUCCESS ? 1 : -1;
}

int main(void)
{
	struct clenv e;
	clenv_init(&e);
	cl_int r;
	cl_program p = clCreateProgramWithSource(e.ctx, 1, &bad, NULL, &r);
	CHECKE(r, "create");
	r = clBuildProgram(p, 1, &e.dev, "", NULL, NULL);
	cl_build_status st = 0;
	CHECK(clGetProgramBuildInfo(p, e.dev, CL_PROGRAM_BUILD_STATUS, sizeof(st), &st, NULL));
	size_t len = 0;
	CHECK(clGetProgramBuildInfo(p, e.dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &len));
	char *log = calloc(1, len + 1);
	CHECK(clGetProgramBuildInfo(p, e.dev, CL_PROGRAM_BUILD_LOG, len, log, NULL));
	/* The length depends on the path of POCL's cache (a worker of the
	 * process model has its own): print whether it is the log's. */
	printf("build=%d status=%d loglen_matches=%d mentions_symbol=%d\n", r, st,
	       len > 1 && strlen(log) + 1 == len, strstr(log, "undefined_thing") != NULL);
	/* POCL names a temporary file in the log: keep what follows it. */
	printf("--- log (paths elided) ---\n");
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
		char *cl = strstr(line, ".cl:");
		char *sl = cl ? memchr(line, '/', (size_t)(cl - line)) : NULL;
		if (sl)
			printf("%.*s<source>%s\n", (int)(sl - line), line, cl + 3);
		else
			printf("%s\n", line);
	}
	printf("--- end ---\n");
	cl_int build_rc = r;
	clReleaseProgram(p);

	/* Build callback on a good program. */
	p = clCreateProgramWithSource(e.ctx, 1, &good, NULL, &r);
	CHECKE(r, "create good");
	CHECK(clBuildProgram(p, 1, &e.dev, "", on_built, e.dev));
	for (int i = 0; i < 5000 && !notified; i++)
		usleep(1000);
	printf("callback=%d\n", notified);
	clReleaseProgram(p);
	clenv_fini(&e);
	free(log);
	return (build_rc == CL_BUILD_PROGRAM_FAILURE && st == CL_BUILD_ERROR && notified == 1) ? 0 : 1;
}
