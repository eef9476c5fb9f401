# SPDX-License-Identifier: MIT
"""PyTorch on Wormhole's driver level (issues 13 and 14): import, device queries, memory (the
tenant's quota as the total), a tensor round trip and a launch.  Run by run-torch.sh with the
library path pointing at a libcuda.so.1 / libnvidia-ml.so.1 pair; checks what the environment
says it should see (WH_EXPECT_NAME, WH_EXPECT_TOTAL) and, with WH_KERNELS_RUN=1 (a real GPU
behind the server), the result of a kernel.  Prints one line per fact; exit status 1 on a
mismatch."""
import os
import sys

import torch

bad = []


def check(what, ok, got):
    print("%-28s %s%s" % (what, got, "" if ok else "   <-- MISMATCH"))
    if not ok:
        bad.append(what)


print("torch %s, CUDA %s" % (torch.__version__, torch.version.cuda))
check("is_available", torch.cuda.is_available() is True, torch.cuda.is_available())
n = torch.cuda.device_count()
check("device_count", n >= 1, n)
name = torch.cuda.get_device_name(0)
want_name = os.environ.get("WH_EXPECT_NAME")
check("get_device_name", want_name is None or name == want_name, name)
cap = torch.cuda.get_device_capability(0)
check("get_device_capability", len(cap) == 2 and cap[0] >= 7, cap)
free, total = torch.cuda.mem_get_info(0)
want_total = os.environ.get("WH_EXPECT_TOTAL")
check("mem_get_info total", want_total is None or total == int(want_total), total)
check("mem_get_info free<=total", 0 < free <= total, free)
x = torch.arange(16, dtype=torch.float32)
d = x.to("cuda")
check("tensor round trip", torch.equal(d.cpu(), x), d.cpu()[:4].tolist())
y = d * 2 + 1
torch.cuda.synchronize()
if os.environ.get("WH_KERNELS_RUN") == "1":
    check("kernel result", torch.equal(y.cpu(), x * 2 + 1), y.cpu()[:4].tolist())
else:
    check("kernel launched", y.shape == x.shape, "synchronized (kernels do not run on this driver)")
check("memory_allocated", torch.cuda.memory_allocated() > 0, torch.cuda.memory_allocated())
print("%d checks, %d mismatches" % (10, len(bad)))
sys.exit(1 if bad else 0)
