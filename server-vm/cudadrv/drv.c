// SPDX-License-Identifier: MIT
/* Loads the real libcuda.so.1 for the driver backend (see drv.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "drv.h"

struct whcd_drv whcd_drv;

bool whcd_drv_load(char *err, size_t errlen)
{
	static void *lib;
	if (lib)
		return true;
	const char *file = getenv("WHCD_DRIVER");
	if (!file || !*file)
		file = "libcuda.so.1";
	void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "no NVIDIA driver (%s: %s)", file, dlerror());
		return false;
	}
#define WHCD_DRV_REQ(name)                                                   \
	whcd_drv.name = (__typeof__(whcd_drv.name))dlsym(h, #name);          \
	if (!whcd_drv.name) {                                                \
		snprintf(err, errlen, "%s lacks %s", file, #name);           \
		dlclose(h);                                                  \
		return false;                                                \
	}
#define WHCD_DRV_OPT(name) whcd_drv.name = (__typeof__(whcd_drv.name))dlsym(h, #name);
	WHCD_DRV_REQUIRED(WHCD_DRV_REQ)
	WHCD_DRV_OPTIONAL(WHCD_DRV_OPT)
	lib = h;
	return true;
}
