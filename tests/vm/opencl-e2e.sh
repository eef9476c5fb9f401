#!/bin/bash
# OpenCL end to end through real VMs (called by run-vm-test.sh; runnable
# alone):
#   tests/vm/opencl-e2e.sh [--build DIR] [--accel auto|kvm|tcg] [--keep]
#                          [--progs "vecadd sgemm ..."]  (default: all of PROGS below)
#
# 1. Wormhole build for the guests.  --build DIR is used as is when it
#    holds wormholed (with the ivshmem scheme), libWormholeOpenCL.so and
#    tests/opencl/ocl-*; otherwise a private build is made under
#    build-vm/wh-src + build-vm/wh-build from the committed tree (HEAD),
#    without CUDA (the guests have no CUDA libraries), and, while
#    switcher/chan.c does not register the ivshmem scheme yet, with the
#    three registration lines applied to that private copy only.
# 2. Guest payload: the binaries, any shared library the guest root lacks,
#    an .icd naming the Wormhole ICD, the role scripts (payload-opencl/).
# 3. A server VM (native POCL reference run, then wormholed --listen
#    ivshmem:all) and 2 client VMs running every ocl-* program through
#    Wormhole.  Checks: identical output to the native run, per program
#    and client; then client1's VM is killed mid-round, the server drops
#    that client (wormholectl list) and client2 completes a whole further
#    round with identical results.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VMS=$REPO/scripts/vm/wormhole-vms
export WH_VM_DIR=${WH_VM_DIR:-$REPO/build-vm}
BUILD=
ACCEL=auto
KEEP=0
PROGS=
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift ;;
	--accel) ACCEL=$2; shift ;;
	--keep) KEEP=1 ;;
	--progs) PROGS=$2; shift ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

PASSED=0 FAILED=0
pass() { echo "PASS: $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
skip() { echo "SKIP: $*"; }
note() { echo "  .. $*"; }
finish() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; exit $?; }

WORK=$WH_VM_DIR/test
mkdir -p "$WORK"
SET=vmocl
trap '[ "$KEEP" -eq 1 ] || "$VMS" down --set "$SET" >/dev/null 2>&1 || true' EXIT

usable_build() {
	local b=$1
	[ -x "$b/server-vm/wormholed" ] && [ -f "$b/client-lib/opencl/libWormholeOpenCL.so" ] &&
		ls "$b"/tests/opencl/ocl-* >/dev/null 2>&1 &&
		[[ $(nm "$b/server-vm/wormholed" 2>/dev/null) == *" wh_ivshmem_ops"* ]] &&
		[[ $(ldd "$b/server-vm/wormholed" 2>/dev/null) != *libcu* ]]
}

# ---- 1. build -----------------------------------------------------------------
if [ -n "$BUILD" ] && usable_build "$BUILD"; then
	note "using $BUILD"
else
	[ -n "$BUILD" ] && note "$BUILD lacks an ivshmem-enabled, CUDA-free wormholed or the ocl-* programs: private build"
	SRC=$WH_VM_DIR/wh-src
	BUILD=$WH_VM_DIR/wh-build
	rm -rf "$SRC"
	mkdir -p "$SRC"
	git -C "$REPO" archive HEAD | tar -x -C "$SRC"
	if [ ! -f "$SRC/tests/opencl/meson.build" ] && [ -f "$REPO/tests/opencl/meson.build" ]; then
		note "tests/opencl is not committed yet: taking it from the working tree"
		cp -a "$REPO/tests/opencl" "$SRC/tests/"
	fi
	if ! grep -q '^[[:space:]]*&wh_ivshmem_ops,' "$SRC/switcher/chan.c"; then
		note "ivshmem scheme not registered in switcher/chan.c yet: registering it in the private copy"
		grep -q 'wh_ivshmem_ops;' "$SRC/switcher/switcher-impl.h" ||
			sed -i 's|^extern const struct wh_switcher_ops wh_tcp_ops;|&\nextern const struct wh_switcher_ops wh_ivshmem_ops;|' \
				"$SRC/switcher/switcher-impl.h"
		sed -i 's|/\* &wh_ivshmem_ops, \*/|\&wh_ivshmem_ops,|' "$SRC/switcher/chan.c"
		grep -q "'ivshmem.c'" "$SRC/switcher/meson.build" ||
			sed -i "s|  'sock.c',|&\n  'ivshmem.c',|" "$SRC/switcher/meson.build"
	fi
	if [ ! -f "$BUILD/build.ninja" ]; then
		timeout 600 meson setup "$BUILD" "$SRC" -Dcudatoolkit=/nonexistent \
			>"$WORK/wh-meson.log" 2>&1 ||
			{ tail -5 "$WORK/wh-meson.log"; fail "opencl: meson setup (see $WORK/wh-meson.log)"; finish; }
	fi
	if ! timeout 1200 ninja -C "$BUILD" -j2 >"$WORK/wh-ninja.log" 2>&1; then
		tail -15 "$WORK/wh-ninja.log"
		fail "opencl: build (see $WORK/wh-ninja.log)"
		finish
	fi
	if ! usable_build "$BUILD"; then
		ls "$BUILD"/tests/opencl/ocl-* >/dev/null 2>&1 ||
			{ skip "opencl: no tests/opencl/ocl-* programs in the tree yet"; finish; }
		fail "opencl: private build lacks wormholed/ICD with ivshmem"
		finish
	fi
	pass "opencl: Wormhole built for the guests (CUDA off, ivshmem on)"
fi

# ---- 2. payload -------------------------------------------------------------------
out=$("$VMS" build --set "$SET" 2>"$WORK/opencl-images.log") ||
	{ tail -5 "$WORK/opencl-images.log"; fail "opencl: guest images"; finish; }
ROOTFS_DIR=$(sed -n 's/^rootfs=//p' <<<"$out")
ROOTFS_DIR=${ROOTFS_DIR%.ext4}
P=$WH_VM_DIR/payload-src-opencl
rm -rf "$P"
mkdir -p "$P/build/server-vm" "$P/build/client-lib/opencl" "$P/build/tests/opencl" \
	"$P/lib" "$P/icd" "$P/args"
cp -a "$HERE/payload-opencl/." "$P/"
cp "$BUILD/server-vm/wormholed" "$BUILD/server-vm/wormholectl" "$P/build/server-vm/"
cp -L "$BUILD/client-lib/opencl/libWormholeOpenCL.so" "$P/build/client-lib/opencl/"
# The programs whose output must be identical natively and through
# Wormhole, with their arguments (as tests/opencl/run.sh).  ocl-gatedread
# differs by design and ocl-hostile is not an OpenCL program: they run in
# the clients as their own checks.
ALL_PROGS=("vecadd 1048576 4" "vecadd 1000 3" "sgemm 256" "reduction 1000003"
	"blur 317 211" "buildfail" "events" "mapunmap")
: >"$P/progs"
for pa in "${ALL_PROGS[@]}"; do
	name=${pa%% *}
	if [ -n "$PROGS" ] && [[ " $PROGS " != *" $name "* ]]; then
		continue
	fi
	[ -x "$BUILD/tests/opencl/ocl-$name" ] || { note "no ocl-$name: skipped"; continue; }
	cp "$BUILD/tests/opencl/ocl-$name" "$P/build/tests/opencl/"
	echo "$pa" >>"$P/progs"
done
for extra in gatedread hostile; do
	[ -x "$BUILD/tests/opencl/ocl-$extra" ] && cp "$BUILD/tests/opencl/ocl-$extra" "$P/build/tests/opencl/"
done
note "programs: $(tr '\n' ';' <"$P/progs")"
echo /opt/wormhole/build/client-lib/opencl/libWormholeOpenCL.so >"$P/icd/wormhole.icd"
# Shared libraries the guest root does not have.
for f in "$P"/build/server-vm/* "$P"/build/client-lib/opencl/*.so "$P"/build/tests/opencl/*; do
	ldd "$f" 2>/dev/null | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do
	base=$(basename "$lib")
	if ! ls "$ROOTFS_DIR"/usr/lib/x86_64-linux-gnu/"$base" "$ROOTFS_DIR"/lib/x86_64-linux-gnu/"$base" \
		>/dev/null 2>&1; then
		cp -L "$lib" "$P/lib/"
		note "guest lacks $base: shipped in /opt/wormhole/lib"
	fi
done
echo "ROUNDS=0" >"$P/args/client1"
echo "ROUNDS=3 MIN_SECS=0 EXTRA=1" >"$P/args/client2"

# ---- 3. VMs -------------------------------------------------------------------------
"$VMS" down --set "$SET" >/dev/null 2>&1 || true
if ! timeout 900 "$VMS" up --set "$SET" --clients 2 --accel "$ACCEL" --payload "$P" \
	--server-mem 1536 --client-mem 384 >"$WORK/opencl-up.log" 2>&1; then
	tail -3 "$WORK/opencl-up.log"
	fail "opencl: VMs did not start"
	finish
fi
RD=$WH_VM_DIR/run/$SET
vm_wait() { "$VMS" wait --set "$SET" "$1" "$2" "$3" 2>>"$WORK/opencl-wait.log"; }

if ! vm_wait server 'WHVM-NATIVE-END' 1200 >/dev/null; then
	fail "opencl: native reference run in the server VM did not finish"
	finish
fi
mapfile -t NATIVE < <(grep -a '^WHVM-NATIVE [a-z]' "$RD/server.log")
nprog=${#NATIVE[@]}
nok=$(printf '%s\n' "${NATIVE[@]}" | grep -c ' rc=0 ' || true)
note "native: $nprog programs, $nok exit 0"
printf '%s\n' "${NATIVE[@]}" | sed 's/^/     /'
[ "$nprog" -gt 0 ] || { fail "opencl: no programs ran natively"; finish; }
if vm_wait server 'WHVM-WORMHOLED-UP' 120 >/dev/null; then
	pass "opencl: server VM: native POCL reference ($nprog programs), wormholed listening on ivshmem:all"
else
	fail "opencl: wormholed did not start"
	grep -a 'WHVM-WHD' "$RD/server.log" | tail -5
	finish
fi

# Compare one client's round r with the native run.
compare_round() {
	local vm=$1 r=$2 bad=0 line n rc sha nrc nsha
	for line in "${NATIVE[@]}"; do
		n=$(awk '{print $2}' <<<"$line")
		nrc=$(grep -o 'rc=[0-9]*' <<<"$line")
		nsha=$(grep -o 'sha=[0-9a-f]*' <<<"$line")
		rline=$(grep -a "^WHVM-REMOTE r=$r $n " "$RD/$vm.log" | tail -1)
		rc=$(grep -o 'rc=[0-9]*' <<<"$rline" || true)
		sha=$(grep -o 'sha=[0-9a-f]*' <<<"$rline" || true)
		if [ -z "$rline" ]; then
			echo "     $vm round $r: $n did not run"; bad=1
		elif [ "$rc" != "$nrc" ] || [ "$sha" != "$nsha" ]; then
			echo "     $vm round $r: $n $rc $sha, native $nrc $nsha"
			grep -a "^WHVM-REMOTE-ERR" "$RD/$vm.log" | head -3 | sed 's/^/       /'
			bad=1
		fi
	done
	return $bad
}

for vm in client1 client2; do
	if vm_wait "$vm" 'WHVM-ROUND 1 done' 1800 >/dev/null; then
		if compare_round "$vm" 1; then
			pass "opencl: $vm: all $nprog program runs through Wormhole over ivshmem, output identical to native"
		else
			fail "opencl: $vm: results differ from the native run"
		fi
	else
		fail "opencl: $vm did not finish round 1 ($(grep -a 'WHVM-' "$RD/$vm.log" | tail -1))"
	fi
done

# client2, after its round 1: a read gated by a later user event
# completes as natively through Wormhole (issue 16: a posted device-side
# copy, copied out when the wait sees it complete); and a hostile client (garbage payloads, forged handles) over its ivshmem
# session must get answers and leave the server serving.
if [ -x "$BUILD/tests/opencl/ocl-gatedread" ]; then
	exp=$(grep -a '^WHVM-NATIVE-GATED ' "$RD/server.log" | tr -d '\r' | sed 's/^WHVM-NATIVE-GATED //')
	if got=$(vm_wait client2 '^WHVM-GATED ' 900); then
		secs=$(grep -o 'secs=[0-9]*' <<<"$got" | cut -d= -f2)
		if [ "$exp" = "gatedread read=0 out0=7 after=7" ] &&
			[[ $got == *"rc=0 "* ]] && [[ $got == *" $exp" ]] &&
			[ "${secs:-999}" -lt 120 ]; then
			pass "opencl: gated read: completes through ivshmem as natively ('$exp', ${secs}s)"
		else
			fail "opencl: gated read: native '$exp', remote '$got'"
		fi
	else
		fail "opencl: gated read did not run in client2"
	fi
fi
if [ -x "$BUILD/tests/opencl/ocl-hostile" ]; then
	if got=$(vm_wait client2 '^WHVM-HOSTILE ' 1200); then
		if [[ $got == *"rc=0 "* ]]; then
			pass "opencl: hostile client over ivshmem answered, server still serving (${got#WHVM-HOSTILE rc=0 })"
		else
			fail "opencl: hostile client: $got"
		fi
	else
		fail "opencl: hostile client did not finish in client2"
	fi
fi

# Kill client1 while it holds a live session (it runs rounds forever):
# wormholed logs "client ID connected: ivshmem:0000:00:10.0 ..." and, when
# it is gone, "client ID (...) left: releasing N objects ...".
live_session() {
	local id
	for id in $(grep -ao 'client [0-9]* connected: ivshmem:0000:00:10.0' "$RD/server.log" |
		awk '{print $2}'); do
		grep -aq "client $id (.*) left" "$RD/server.log" || { echo "$id"; return 0; }
	done
	return 1
}
if vm_wait client1 'WHVM-REMOTE r=2 ' 900 >/dev/null; then
	id=
	for _ in $(seq 1 600); do
		id=$(live_session) && break
		sleep 0.2
	done
	before=$(grep -ac '' "$RD/client2.log")
	srv_before=$(grep -ac '' "$RD/server.log")
	"$VMS" kill --set "$SET" client1 2>/dev/null
	t_kill=$SECONDS
	note "killed client1 while wormholed client ${id:-?} (its session) was live"
	left=
	for _ in $(seq 1 120); do
		left=$(grep -a -m1 "client $id (.*) left" "$RD/server.log") && break
		sleep 1
	done
	if [ -n "$id" ] && [ -n "$left" ]; then
		pass "opencl: server freed the killed client VM's session after ~$((SECONDS - t_kill))s: ${left#*wormholed }"
	else
		fail "opencl: no live session at the kill (${id:-none}) or it was never freed"
	fi
	# And wormholectl no longer lists anything on that region.
	gone=0
	for _ in $(seq 1 60); do
		last=$(awk '/WHVM-CTL-BEGIN/{buf=""} {buf=buf $0 "\n"} /WHVM-CTL-END/{blk=buf} END{printf "%s", blk}' \
			<(tail -n +"$srv_before" "$RD/server.log"))
		if [ -n "$last" ] && ! grep -q '0000:00:10.0' <<<"$last"; then
			gone=1; break
		fi
		sleep 1
	done
	if [ $gone -eq 1 ]; then
		pass "opencl: wormholectl list no longer shows the killed client's region"
	else
		fail "opencl: killed client still listed by wormholectl"
	fi
	# client2 must complete a whole round that started after the kill.
	ok=0
	for _ in $(seq 1 1800); do
		tail -n +"$before" "$RD/client2.log" >"$WORK/client2.after-kill"
		if grep -aq 'WHVM-ROUND [0-9]* start' "$WORK/client2.after-kill"; then
			r=$(grep -ao 'WHVM-ROUND [0-9]* start' "$WORK/client2.after-kill" | awk 'NR==1 {print $2}')
			if grep -aq "WHVM-ROUND $r done" "$RD/client2.log"; then
				if compare_round client2 "$r"; then ok=1; else ok=2; fi
				break
			fi
		fi
		if grep -aq 'WHVM-CLIENT-FINISHED' "$RD/client2.log" &&
			! grep -aq 'WHVM-ROUND [0-9]* start' "$WORK/client2.after-kill"; then
			break
		fi
		sleep 1
	done
	case $ok in
	1) pass "opencl: client2 completed round $r after client1 died, output identical to native" ;;
	2) fail "opencl: client2 round $r after the kill differs from native" ;;
	*) fail "opencl: client2 did not complete a round after the kill" ;;
	esac
else
	fail "opencl: client1 never reached round 2 (cannot test the kill)"
fi
finish
