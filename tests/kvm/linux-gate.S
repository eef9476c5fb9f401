/* SPDX-License-Identifier: MIT */
/*
 * The gate and trampoline pages for a Linux client VM (whvmm linux-client):
 * the same code as guests.S uses, assembled for the Linux client's layout
 * (layout.h: L_TRAMP and L_WIN above the client's RAM).
 */
#include "layout.h"

#undef C_TRAMP
#undef C_WIN
#define C_TRAMP	L_TRAMP
#define C_WIN	L_WIN
#define VMFUNC	.byte 0x0f, 0x01, 0xd4

	.code64

#include "vmfunc-gate.S"
