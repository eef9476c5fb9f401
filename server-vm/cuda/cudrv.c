// SPDX-License-Identifier: MIT
#include <dlfcn.h>
#include <stdio.h>

#define WHCS_DRV_NO_REDIRECT
#include "cudrv.h"

struct whcs_drv whcs_drv;

#define WHCS_STR_(x) #x
#define WHCS_STR(x) WHCS_STR_(x)

bool whcs_drv_load(char *err, size_t errlen)
{
	static void *lib;
	if (lib)
		return true;
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "no NVIDIA driver (libcuda.so.1: %s)", dlerror());
		return false;
	}
#define WHCS_DRV_LOAD(name)                                                 \
	whcs_drv.p_##name = (__typeof__(whcs_drv.p_##name))dlsym(h, WHCS_STR(name)); \
	if (!whcs_drv.p_##name) {                                           \
		snprintf(err, errlen, "libcuda.so.1 lacks %s", WHCS_STR(name)); \
		dlclose(h);                                                 \
		return false;                                               \
	}
	WHCS_DRV_FUNCS(WHCS_DRV_LOAD)
	lib = h;
	return true;
}
