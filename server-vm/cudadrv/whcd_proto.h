/* SPDX-License-Identifier: MIT */
/*
 * What the driver-level CUDA client (client-lib/cudadrv, libcuda.so.1) and
 * the driver backend (server-vm/cudadrv) agree on beyond the generated ids
 * (whcd_ids.h, from specs/cudadrv.spec): the device table whcdGetDevices
 * returns, the module image kinds, the layout format of whcdFuncLayout and
 * the stream ids that stand for the driver's special streams.
 * Invariant: fixed-size, little-endian, no pointers (these bytes travel).
 */
#ifndef WHCD_PROTO_H
#define WHCD_PROTO_H

#include <stdint.h>

#define WHCD_MAX_DEVICES 16
#define WHCD_MAX_ATTRS   160   /* > CU_DEVICE_ATTRIBUTE_MAX of CUDA 13 */
#define WHCD_MAX_PARAMS  1024  /* kernel parameters (4 KiB of 4-byte ones) */
#define WHCD_MAX_PARAM_BYTES 32768u  /* CUDA 12.1+: 32764 bytes of parameters */

struct whcd_devinfo {
	char name[256];
	uint8_t uuid[16];
	uint64_t total_mem;      /* the client's quota when it has one */
	int32_t attr[WHCD_MAX_ATTRS];
};

/* whcdModuleLoad's kind: what the client found at the start of the image. */
enum whcd_image_kind {
	WHCD_IMAGE_CUBIN = 1,    /* ELF */
	WHCD_IMAGE_FATBIN = 2,   /* fat binary (magic 0xBA55ED50) */
	WHCD_IMAGE_PTX = 3,      /* NUL-terminated PTX text */
};

/* Stream ids of the driver's special streams (never minted as handles:
 * minted ids have the top bit set or are small server-side counters from
 * 0x10000 up, see handles.h). */
#define WHCD_STREAM_LEGACY     1u
#define WHCD_STREAM_PER_THREAD 2u

/* whcdFuncLayout: `count` pairs of u32 (offset, size). */
struct whcd_param {
	uint32_t offset, size;
};

#endif
