/* SPDX-License-Identifier: MIT */
/*
 * One "PASS: name (detail)" / "FAIL: ..." line per check, the format
 * run-bochs-test.sh counts; shared by whvmm (host) and gate-client (guest).
 */
#ifndef WH_TEST_CHECK_H
#define WH_TEST_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int passes, failures;

__attribute__((format(printf, 3, 4)))
static void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s: %s", ok ? "PASS" : "FAIL", name);
	if (fmt) {
		fputs(" (", stdout);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		fputs(")", stdout);
	}
	putchar('\n');
	fflush(stdout);
	if (ok)
		passes++;
	else
		failures++;
}

#endif
