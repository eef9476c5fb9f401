# Thin wrapper around Meson/Ninja and the test and demo scripts.
# Userspace code builds with Meson; see README.md.

BUILD ?= build
MESON_OPTS ?=

.PHONY: all deps deps-demo deps-test deps-bench build test test-gpu test-torch demo bench module clean

all: build

# Package groups (scripts/deps.d/*.txt): make demo installs only what the demo
# needs; make test adds the test tools, QEMU (vm), the Bochs/KVM tooling and
# TLS/Slurm (cluster).
deps:
	scripts/deps.sh all

deps-demo:
	scripts/deps.sh demo

deps-test:
	scripts/deps.sh test vm kvm cluster

deps-bench:
	scripts/deps.sh bench

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

test: deps-test
	scripts/test.sh

test-gpu: deps-demo build
	tests/cuda/run-gpu-tests.sh $(BUILD)
	tests/cuda/run-gpu-xtenant.sh $(BUILD)

# PyTorch on the driver-level client (tests/cudaext/run-torch.sh): not part of `make test`; needs
# a python with the CUDA 13 torch wheel, e.g. make test-torch TORCH_PYTHON=/opt/venv/bin/python
TORCH_PYTHON ?= python3
test-torch: build
	WH_TORCH_PYTHON=$(TORCH_PYTHON) meson test -C $(BUILD) cudaext-torch --print-errorlogs

demo: deps-demo build
	scripts/demo.sh $(BUILD)

bench: deps-bench build
	scripts/bench.sh $(BUILD)

module:
	scripts/kvm/build-module.sh
	scripts/kvm/build-guest-driver.sh

# Every build output: Meson builds, test logs, the VM images (build-vm/) and
# the kernel module / Bochs work tree (build-kvm/).
clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz build-logs build-vm build-kvm
