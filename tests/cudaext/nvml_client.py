# SPDX-License-Identifier: MIT
"""Wormhole's libnvidia-ml.so.1 (argv[1]) on whichever libcuda.so.1 the library path gives (the
driver-level client, in run-client.sh): what a framework reads through NVML, checked against the
device name (argv[2]) and the tenant's quota (argv[3], bytes) the server was configured with.
Python's ctypes only (no pynvml); exit status 1 on any mismatch."""
import ctypes
import sys


class Memory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


class PciInfo(ctypes.Structure):
    _fields_ = [("busIdLegacy", ctypes.c_char * 16), ("domain", ctypes.c_uint), ("bus", ctypes.c_uint),
                ("device", ctypes.c_uint), ("pciDeviceId", ctypes.c_uint), ("pciSubSystemId", ctypes.c_uint),
                ("busId", ctypes.c_char * 32)]


nvml = ctypes.CDLL(sys.argv[1])
name_want, quota = sys.argv[2].encode(), int(sys.argv[3])
bad = []


def check(what, ok, got):
    print("%-16s %s%s" % (what, got, "" if ok else "   <-- MISMATCH"))
    if not ok:
        bad.append(what)


check("nvmlInit_v2", nvml.nvmlInit_v2() == 0, "ok")
n = ctypes.c_uint()
check("device count", nvml.nvmlDeviceGetCount_v2(ctypes.byref(n)) == 0 and n.value == 1, n.value)
h = ctypes.c_void_p()
check("handle 0", nvml.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(h)) == 0, "ok")
buf = ctypes.create_string_buffer(96)
check("name", nvml.nvmlDeviceGetName(h, buf, 96) == 0 and buf.value == name_want, buf.value.decode())
check("uuid", nvml.nvmlDeviceGetUUID(h, buf, 96) == 0 and buf.value.startswith(b"GPU-") and len(buf.value) == 40,
      buf.value.decode())
h2 = ctypes.c_void_p()
check("handle by uuid", nvml.nvmlDeviceGetHandleByUUID(buf, ctypes.byref(h2)) == 0 and h2.value == h.value, "ok")
pci = PciInfo()
check("pci info", nvml.nvmlDeviceGetPciInfo_v3(h, ctypes.byref(pci)) == 0, pci.busId.decode())
check("handle by bus id", nvml.nvmlDeviceGetHandleByPciBusId_v2(pci.busId, ctypes.byref(h2)) == 0
      and h2.value == h.value, "ok")
m = Memory()
check("memory", nvml.nvmlDeviceGetMemoryInfo(h, ctypes.byref(m)) == 0 and m.total == quota and m.free + m.used == m.total,
      "total %d free %d used %d" % (m.total, m.free, m.used))
check("shutdown", nvml.nvmlShutdown() == 0, "ok")
print("%d checks, %d mismatches" % (10, len(bad)))
sys.exit(1 if bad else 0)
