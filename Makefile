# Thin wrapper around Meson/Ninja and the test and demo scripts.
# Userspace code builds with Meson; see README.md.

BUILD ?= build
MESON_OPTS ?=

.PHONY: all deps build test test-gpu demo bench module clean

all: build

deps:
	scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

test: deps
	scripts/test.sh

test-gpu: deps build
	tests/cuda/run-gpu-tests.sh $(BUILD)

demo: deps build
	scripts/demo.sh $(BUILD)

bench: deps build
	scripts/bench.sh $(BUILD)

module:
	scripts/kvm/build-module.sh
	scripts/kvm/build-guest-driver.sh

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
