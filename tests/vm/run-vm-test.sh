#!/bin/bash
# Wormhole VM tests: real QEMU virtual machines joined by ivshmem.
#
#   tests/vm/run-vm-test.sh [--no-deps] [--accel auto|kvm|tcg] [--only LIST]
#                           [--build DIR] [--keep] [--ocl-progs "ocl-a ocl-b"]
#
# Stages (LIST is a comma list of these names):
#   placement   unit test of server-vm/placement.c (hwloc, XML topology)
#   host        ivshmem switcher between host processes over a file:
#               echo/latency/bandwidth, two slots, a killed client is
#               detected and the other slot keeps working
#   libvirt     generated domain XML passes virt-xml-validate (and a broken
#               one does not)
#   images      guest kernel + debootstrap root + initramfs build (cached)
#   vm-echo     server VM + 2 client VMs: each client sees exactly its one
#               region, echo/latency/bandwidth pass, then client1's VM is
#               killed: the server ends that session, client2 keeps going
#   opencl      server VM runs wormholed over POCL; 2 client VMs run the
#               tests/opencl programs through Wormhole over ivshmem; results
#               bit-identical to a native POCL run in the server VM; one
#               client VM killed, the server frees its objects and keeps
#               serving the other.  Needs a meson build (--build, default
#               build/) with wormholed, libwormhole-opencl.so and
#               tests/opencl programs; SKIP when they do not exist yet.
#
# Prints PASS: x / FAIL: x / SKIP: x lines and "N passed, N failed";
# exits non-zero when anything failed.  Every step has a hard timeout.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VMS=$REPO/scripts/vm/wormhole-vms
export WH_VM_DIR=${WH_VM_DIR:-$REPO/build-vm}
DEPS=1
ACCEL=auto
ONLY=placement,host,libvirt,images,vm-echo,opencl
BUILD=$REPO/build
KEEP=0
OCL_PROGS=
while [ $# -gt 0 ]; do
	case $1 in
	--no-deps) DEPS=0 ;;
	--accel) ACCEL=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--build) BUILD=$2; shift ;;
	--keep) KEEP=1 ;;
	--ocl-progs) OCL_PROGS=$2; shift ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

PASSED=0 FAILED=0 SKIPPED=0
pass() { echo "PASS: $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
skip() { echo "SKIP: $*"; SKIPPED=$((SKIPPED + 1)); }
note() { echo "  .. $*"; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }

WORK=$WH_VM_DIR/test
mkdir -p "$WORK"
SETS=()
HOST_PIDS=()
cleanup() {
	local p s
	for p in "${HOST_PIDS[@]+"${HOST_PIDS[@]}"}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ "$KEEP" -eq 0 ]; then
		for s in "${SETS[@]+"${SETS[@]}"}"; do
			"$VMS" down --set "$s" >/dev/null 2>&1 || true
		done
	fi
}
trap cleanup EXIT

# ---- dependencies ---------------------------------------------------------
# package:command pairs; install only what is missing.
deps() {
	local need=() pair pkg cmd
	for pair in qemu-system-x86:qemu-system-x86_64 debootstrap:debootstrap \
		busybox-static:busybox cpio:cpio e2fsprogs:mkfs.ext4 \
		libvirt-clients:virt-xml-validate file:file gcc:gcc \
		libhwloc-dev:/usr/include/hwloc.h python3:python3; do
		pkg=${pair%%:*} cmd=${pair#*:}
		if [[ $cmd == /* ]]; then [ -e "$cmd" ] && continue
		else command -v "$cmd" >/dev/null 2>&1 && continue; fi
		need+=("$pkg")
	done
	if [ ${#need[@]} -gt 0 ]; then
		note "apt-get install ${need[*]}"
		timeout 900 apt-get install -y -q --no-install-recommends "${need[@]}" \
			>"$WORK/apt.log" 2>&1 ||
			{ timeout 300 apt-get update -q >>"$WORK/apt.log" 2>&1 &&
			  timeout 900 apt-get install -y -q --no-install-recommends "${need[@]}" \
			  >>"$WORK/apt.log" 2>&1; } ||
			{ fail "deps: apt-get install ${need[*]} (see $WORK/apt.log)"; return 1; }
	fi
	# busybox (non-static) may shadow busybox-static's binary name.
	file -L "$(command -v busybox)" | grep -q 'statically linked' ||
		{ fail "deps: busybox is not the static one"; return 1; }
	pass "deps: qemu, debootstrap, busybox-static, virt-xml-validate, hwloc present"
}
if [ "$DEPS" -eq 1 ]; then
	deps || { echo "$PASSED passed, $FAILED failed"; exit 1; }
fi

CFLAGS=(-std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2
	-Wmissing-prototypes -Wstrict-prototypes)

# ---- placement --------------------------------------------------------------
if want placement; then
	if timeout 120 gcc "${CFLAGS[@]}" -iquote "$REPO/server-vm" -o "$WORK/test-placement" \
		"$HERE/test-placement.c" "$REPO/server-vm/placement.c" -lhwloc \
		>"$WORK/placement.build.log" 2>&1; then
		if timeout 60 "$WORK/test-placement" "$HERE/data/topo-2numa.xml" \
			>"$WORK/placement.log" 2>&1; then
			pass "placement: $(tail -1 "$WORK/placement.log")"
		else
			sed 's/^/    /' "$WORK/placement.log"
			fail "placement unit test"
		fi
	else
		sed 's/^/    /' "$WORK/placement.build.log"
		fail "placement: build"
	fi
fi

# ---- ivshmem-bench (static) --------------------------------------------------
BENCH=
build_bench() {
	[ -n "$BENCH" ] && return 0
	if timeout 300 "$REPO/benchmarks/ivshmem/build.sh" "$WH_VM_DIR/tools" \
		>"$WORK/bench.build.log" 2>&1; then
		BENCH=$WH_VM_DIR/tools/ivshmem-bench
		return 0
	fi
	sed 's/^/    /' "$WORK/bench.build.log"
	fail "build ivshmem-bench (switcher/ivshmem.c + ring.c)"
	return 1
}

# ---- host: ivshmem over plain files -----------------------------------------
if want host && build_bench; then
	d=$(mktemp -d /dev/shm/wh-vmtest.XXXXXX)
	truncate -s 32M "$d/r1" "$d/r2"
	timeout 120 "$BENCH" serve "$d/r1,$d/r2" --clients 0 >"$WORK/host-server.log" 2>&1 &
	spid=$!; HOST_PIDS+=("$spid")
	# No timeout(1) wrapper: $! must be the client itself, to kill it.
	# --soak 90 bounds its life.
	"$BENCH" client "$d/r1" --iters 200 --quick --bw-mib 32 --soak 90 \
		>"$WORK/host-c1.log" 2>&1 &
	c1=$!; HOST_PIDS+=("$c1")
	timeout 100 "$BENCH" client "$d/r2" --iters 200 --quick --bw-mib 32 --soak 12 \
		>"$WORK/host-c2.log" 2>&1 &
	c2=$!; HOST_PIDS+=("$c2")
	# Both echo suites done, then client 1 dies without a goodbye.
	for _ in $(seq 1 200); do
		grep -q 'ECHO' "$WORK/host-c1.log" 2>/dev/null &&
			grep -q 'ECHO' "$WORK/host-c2.log" 2>/dev/null && break
		sleep 0.2
	done
	if grep -q 'ECHO OK' "$WORK/host-c1.log" && grep -q 'ECHO OK' "$WORK/host-c2.log"; then
		pass "host: echo/latency/bandwidth over two file-backed regions"
		note "$(grep '^rtt size=32 ' "$WORK/host-c1.log")"
	else
		fail "host: echo (see $WORK/host-c1.log, host-c2.log)"
	fi
	kill -KILL "$c1" 2>/dev/null || true
	wait "$c1" 2>/dev/null || true
	t_kill=$SECONDS
	ok=0
	for _ in $(seq 1 100); do
		grep -q "SESSION-END peer=ivshmem:$d/r1" "$WORK/host-server.log" && { ok=1; break; }
		sleep 0.1
	done
	if [ $ok -eq 1 ]; then
		pass "host: killed client detected by heartbeat after $((SECONDS - t_kill))s, session freed"
	else
		fail "host: killed client not detected within 10 s"
	fi
	wait "$c2" 2>/dev/null || true
	if grep -q 'SOAK OK' "$WORK/host-c2.log"; then
		pass "host: other slot kept working ($(grep -o 'SOAK OK.*' "$WORK/host-c2.log"))"
	else
		fail "host: surviving client failed: $(tail -1 "$WORK/host-c2.log")"
	fi
	# A new client can take over the freed slot.
	if timeout 30 "$BENCH" client "$d/r1" --iters 20 --quick --bw-mib 4 \
		>"$WORK/host-c3.log" 2>&1 && grep -q 'ECHO OK' "$WORK/host-c3.log"; then
		pass "host: a new client reuses the freed region"
	else
		fail "host: freed region not reusable: $(tail -2 "$WORK/host-c3.log")"
	fi
	kill -TERM "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	# Sessions: one region, 4 clients at once (4 sessions of 16 MiB in a
	# 64 MiB region), a 5th waits for a free session.
	truncate -s 64M "$d/r3"
	timeout 120 "$BENCH" serve "$d/r3" --clients 5 >"$WORK/host-sess-server.log" 2>&1 &
	spid=$!; HOST_PIDS+=("$spid")
	pids=()
	for i in 1 2 3 4; do
		timeout 100 "$BENCH" client "$d/r3" --iters 50 --quick --bw-mib 4 --soak 4 \
			>"$WORK/host-sess-c$i.log" 2>&1 &
		pids+=($!)
	done
	sleep 1
	t0=$SECONDS
	timeout 60 "$BENCH" client "$d/r3" --iters 10 --quick --bw-mib 1 \
		>"$WORK/host-sess-c5.log" 2>&1 || true
	waited=$((SECONDS - t0))
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	n=$(cat "$WORK"/host-sess-c[1-4].log | grep -c 'SOAK OK' || true)
	if [ "$n" = 4 ] && grep -q 'ECHO OK' "$WORK/host-sess-c5.log" &&
		[ "$(grep -c ACCEPTED "$WORK/host-sess-server.log")" = 5 ]; then
		pass "host: 4 concurrent sessions on one region; a 5th client got one after ${waited}s"
	else
		fail "host: sessions ($n/4 soaks OK; 5th: $(tail -1 "$WORK/host-sess-c5.log"))"
	fi
	wait "$spid" 2>/dev/null || true
	rm -rf "$d"
fi

# ---- libvirt -----------------------------------------------------------------
if want libvirt; then
	lv=$WORK/libvirt
	rm -rf "$lv"
	ok=1
	for accel in kvm tcg; do
		if ! timeout 60 "$REPO/scripts/vm/gen-libvirt" --clients 2 --out "$lv/$accel" \
			--accel "$accel" --accel-pci 0000:3b:00.0 --vm-dir "$WH_VM_DIR" \
			>/dev/null 2>"$WORK/libvirt.err"; then
			ok=0; continue
		fi
		for f in "$lv/$accel"/*.xml; do
			timeout 60 virt-xml-validate "$f" domain >>"$WORK/libvirt.log" 2>&1 || ok=0
		done
		[ "$(grep -c '<shmem ' "$lv/$accel/wormhole-default-server.xml")" = 2 ] || ok=0
		grep -q "<hostdev mode='subsystem' type='pci'" "$lv/$accel/wormhole-default-server.xml" || ok=0
	done
	if [ $ok -eq 1 ]; then
		pass "libvirt: server (hostdev + 2 shmem) and 2 client domains validate (kvm and tcg)"
	else
		fail "libvirt: generation or validation (see $WORK/libvirt.log)"
	fi
	# The validator must be able to say no.
	sed 's/<shmem name=/<shmem bogus="1" name=/' "$lv/kvm/wormhole-default-client1.xml" \
		>"$lv/broken.xml"
	if timeout 60 virt-xml-validate "$lv/broken.xml" domain >/dev/null 2>&1; then
		fail "libvirt: a broken domain XML validated"
	else
		pass "libvirt: a broken domain XML is rejected"
	fi
fi

# ---- images -------------------------------------------------------------------
stage_echo_payload() {
	local p=$WH_VM_DIR/payload-src-echo
	rm -rf "$p"
	mkdir -p "$p/tools" "$p/args"
	cp -a "$HERE/payload-echo/." "$p/"
	cp "$BENCH" "$p/tools/"
	# client1 runs forever (it will be killed); client2 outlives the kill.
	echo "--iters 200 --quick --bw-mib 16 --soak 0" >"$p/args/client1"
	echo "--iters 200 --quick --bw-mib 16 --soak 45" >"$p/args/client2"
	printf '%s\n' "$p"
}

IMAGES_OK=0
if want images || want vm-echo; then
	if build_bench; then
		t0=$SECONDS
		if out=$(timeout 2400 "$VMS" build --set vmtest --payload "$(stage_echo_payload)" \
			2>"$WORK/images.log"); then
			IMAGES_OK=1
			pass "images: kernel, debootstrap root, initramfs ($((SECONDS - t0))s, cached by content)"
			note "$(echo "$out" | tr '\n' ' ')"
		else
			tail -5 "$WORK/images.log" | sed 's/^/    /'
			fail "images: build"
		fi
	fi
fi

# ---- vm-echo ------------------------------------------------------------------
vm_wait() { "$VMS" wait --set "$1" "$2" "$3" "$4" 2>>"$WORK/wait.log"; }

if want vm-echo; then
	if [ $IMAGES_OK -ne 1 ]; then
		skip "vm-echo: no images"
	else
		SETS+=(vmtest)
		"$VMS" down --set vmtest >/dev/null 2>&1 || true
		if ! timeout 600 "$VMS" up --set vmtest --clients 2 --accel "$ACCEL" \
			--payload "$WH_VM_DIR/payload-src-echo" --server-mem 512 --client-mem 384 \
			>"$WORK/vm-echo.up.log" 2>&1; then
			fail "vm-echo: VMs did not start ($(tail -1 "$WORK/vm-echo.up.log"))"
		else
			RD=$WH_VM_DIR/run/vmtest
			note "accel: $(cat "$RD/accel")"
			if vm_wait vmtest server 'WHVM-SERVER-REGIONS' 180 >/dev/null &&
				vm_wait vmtest client1 'WHVM-CLIENT-REGIONS' 180 >/dev/null &&
				vm_wait vmtest client2 'WHVM-CLIENT-REGIONS' 180 >/dev/null; then
				boot=$(grep -ao 'uptime=[0-9.]*' "$RD/client1.log" | head -1)
				pass "vm-echo: 3 VMs booted to the payload (client1 $boot s)"
			else
				fail "vm-echo: boot"
			fi
			s=$(grep -ao 'WHVM-SERVER-REGIONS [0-9]*' "$RD/server.log" | awk '{print $2}')
			a=$(grep -ao 'WHVM-CLIENT-REGIONS [0-9]*' "$RD/client1.log" | awk '{print $2}')
			b=$(grep -ao 'WHVM-CLIENT-REGIONS [0-9]*' "$RD/client2.log" | awk '{print $2}')
			if [ "${s:-}" = 2 ] && [ "${a:-}" = 1 ] && [ "${b:-}" = 1 ]; then
				pass "vm-echo: server VM sees 2 ivshmem regions, each client VM exactly 1"
			else
				fail "vm-echo: region visibility server=${s:-?} client1=${a:-?} client2=${b:-?}"
			fi
			if vm_wait vmtest client1 'ECHO (OK|FAILED)' 300 | grep -q OK &&
				vm_wait vmtest client2 'ECHO (OK|FAILED)' 300 | grep -q OK; then
				pass "vm-echo: both clients: echo, latency, bandwidth over ivshmem, bytes verified"
				note "client1 $(grep -a '^rtt size=32 ' "$RD/client1.log")"
				note "client1 $(grep -a '^wake idle_ms=100 ' "$RD/client1.log")"
			else
				fail "vm-echo: echo between VMs"
			fi
			if grep -aq 'ACCEPTED peer=ivshmem:0000:00:10.0' "$RD/server.log" &&
				grep -aq 'ACCEPTED peer=ivshmem:0000:00:11.0' "$RD/server.log"; then
				pass "vm-echo: server names each client after its own region slot (00:10.0, 00:11.0)"
			else
				fail "vm-echo: server peer identities"
			fi
			# Kill client1's VM mid-session (it echoes every 10 ms forever).
			vm_wait vmtest client1 'SOAK calls' 120 >/dev/null || true
			"$VMS" kill --set vmtest client1 2>/dev/null
			t_kill=$SECONDS
			if vm_wait vmtest server 'SESSION-END peer=ivshmem:0000:00:10.0' 60 >/dev/null; then
				pass "vm-echo: killed client VM detected by the server after $((SECONDS - t_kill))s, session freed"
			else
				fail "vm-echo: server did not notice the killed client VM"
			fi
			n0=$(grep -a 'SOAK calls=' "$RD/client2.log" | tail -1 | sed 's/.*calls=\([0-9]*\).*/\1/')
			if vm_wait vmtest client2 'SOAK (OK|FAILED)' 200 | grep -q OK; then
				n1=$(grep -ao 'SOAK OK calls=[0-9]*' "$RD/client2.log" | sed 's/.*=//')
				if [ "${n1:-0}" -gt "${n0:-0}" ]; then
					pass "vm-echo: client2 kept being served after client1 died ($n0 -> $n1 calls)"
				else
					fail "vm-echo: client2 made no calls after the kill"
				fi
			else
				fail "vm-echo: client2 failed after client1 died: $(grep -a SOAK "$RD/client2.log" | tail -1)"
			fi
		fi
		[ "$KEEP" -eq 1 ] || "$VMS" down --set vmtest >/dev/null 2>&1 || true
	fi
fi

# ---- opencl ---------------------------------------------------------------------
if want opencl; then
	if [ -x "$HERE/opencl-e2e.sh" ]; then
		set +e
		timeout 2700 "$HERE/opencl-e2e.sh" --build "$BUILD" --accel "$ACCEL" \
			${OCL_PROGS:+--progs "$OCL_PROGS"} >"$WORK/opencl.log" 2>&1
		rc=$?
		set -e
		grep -E '^(PASS|FAIL|SKIP): ' "$WORK/opencl.log" || true
		PASSED=$((PASSED + $(grep -c '^PASS: ' "$WORK/opencl.log" || true)))
		FAILED=$((FAILED + $(grep -c '^FAIL: ' "$WORK/opencl.log" || true)))
		SKIPPED=$((SKIPPED + $(grep -c '^SKIP: ' "$WORK/opencl.log" || true)))
		if [ $rc -ne 0 ] && ! grep -q '^FAIL: ' "$WORK/opencl.log"; then
			fail "opencl: e2e script exited $rc (see $WORK/opencl.log)"
		fi
	else
		skip "opencl: tests/vm/opencl-e2e.sh missing"
	fi
fi

echo "$PASSED passed, $FAILED failed${SKIPPED:+, $SKIPPED skipped}"
[ "$FAILED" -eq 0 ]
