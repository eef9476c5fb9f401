#!/usr/bin/env bash
# A newcomer's first hour, unattended: proves that README.md's two set-up
# commands work on a fresh Debian 12 machine, so that a green `make test` can
# never again hide an install step that only the developers' machines had.
#
#   scripts/fresh-check.sh [options] [REPO]
#
# REPO is a path or URL of a Wormhole git repository (default: the repository
# this script lives in); its branch main (HEAD) is cloned inside the root
# (--branch picks another).
#
# Steps (each timed):
#   1. debootstrap a minimal Debian 12 (bookworm, --variant=minbase) root from
#      Debian's own archive, plus only git, make and ca-certificates (the
#      README's prerequisites: a newcomer needs them to clone and to type make);
#   2. clone REPO inside that root (git runs in the chroot);
#   3. `make demo` in the chroot (installs what the demo needs, builds, runs);
#   4. `make test` in the chroot with the stages that run in a chroot
#      (WH_TEST_ONLY, default release,asan,tsan,fuzz; see --stages).
# The chroot runs in its own mount namespace (unshare -m) with fresh /proc,
# /sys (and /sys/fs/cgroup), a bind of the host's /dev and its own tmpfs on
# /dev/shm: every mount disappears with it, even when the script is killed.
#
# Options:
#   --stages LIST   make test stages (WH_TEST_ONLY), default release,asan,tsan,fuzz.
#                   vm (QEMU images built by debootstrap inside the chroot) and kvm
#                   (kernel module build + Bochs) also run in a chroot but take far
#                   longer; "all" runs every stage.
#   --cache DIR     keep the debootstrap tarball and apt's downloaded .debs in DIR
#                   and reuse them next time (the root itself is still unpacked fresh
#                   and every package is still installed by the README's commands).
#   --keep          keep the root afterwards (printed), for inspection.
#   --workdir DIR   where to create the root (default: a new directory under /var/tmp).
#   --mirror URL    Debian mirror (default http://deb.debian.org/debian).
#   --branch NAME   clone this branch instead of main.
#   --logs DIR      where make test's logs (build-logs/, meson-logs/) are copied
#                   (default: a new directory under /var/tmp, printed at the end).
#   --no-demo / --no-test   skip a step.
#
# Needs root and debootstrap on the host.  Output: every step's log lines, a
# table of timings per phase, then as its very last line the `N passed, N
# failed, N skipped` line of make test.  Exit status 0 only when debootstrap,
# the clone, make demo and make test all succeeded; 1 otherwise; 2 on bad usage.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=
stages=release,asan,tsan,fuzz
cache=
keep=0
workdir=
mirror=http://deb.debian.org/debian
do_demo=1 do_test=1
suite=bookworm
branch=main
logs=

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--stages) stages=${2:?--stages needs a list}; shift 2 ;;
	--cache) cache=${2:?--cache needs a directory}; shift 2 ;;
	--keep) keep=1; shift ;;
	--workdir) workdir=${2:?--workdir needs a directory}; shift 2 ;;
	--mirror) mirror=${2:?--mirror needs a URL}; shift 2 ;;
	--branch) branch=${2:?--branch needs a name}; shift 2 ;;
	--logs) logs=${2:?--logs needs a directory}; shift 2 ;;
	--no-demo) do_demo=0; shift ;;
	--no-test) do_test=0; shift ;;
	-h|--help) usage ;;
	-*) echo "fresh-check: unknown option $1" >&2; usage ;;
	*) [ -z "$repo" ] || { echo "fresh-check: one REPO only" >&2; exit 2; }; repo=$1; shift ;;
	esac
done
[ "$stages" = all ] && stages=
[ -n "$repo" ] || repo=$(git -C "$here" rev-parse --show-toplevel)
[ "$(id -u)" -eq 0 ] || { echo "fresh-check: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "fresh-check: install debootstrap on the host first (apt-get install debootstrap)" >&2; exit 2; }
command -v unshare >/dev/null || { echo "fresh-check: needs unshare (util-linux)" >&2; exit 2; }

# A local REPO's git directory is bind-mounted read-only into the chroot and
# cloned from there.
src_bind=
if [ -d "$repo" ]; then
	repo=$(cd "$repo" && pwd)
	git -C "$repo" rev-parse --verify -q "refs/heads/$branch" >/dev/null ||
		{ echo "fresh-check: $repo has no branch $branch" >&2; exit 2; }
	# The repository's git directory (a worktree's .git is only a pointer to it).
	src_bind=$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir)
	clone_from=/mnt/wormhole-src
else
	clone_from=$repo
fi

if [ -n "$workdir" ]; then
	mkdir -p "$workdir"
	work=$(mktemp -d "$workdir/fresh-check.XXXXXX")
else
	work=$(mktemp -d /var/tmp/wormhole-fresh-check.XXXXXX)
fi
root=$work/root
log=$work/log
mkdir -p "$root" "$log"
if [ -n "$cache" ]; then mkdir -p "$cache/debs"; cache=$(cd "$cache" && pwd); fi

cleanup() {
	local rc=$?
	# Mounts live in the unshare'd namespace only; refuse to delete through one anyway.
	if [ "$keep" = 1 ]; then
		echo "fresh-check: root kept in $root"
	elif findmnt -rn -o TARGET | grep -q "^$root"; then
		echo "fresh-check: something is still mounted under $root; not deleting it" >&2
	else
		rm -rf --one-file-system "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

phases=()
phase_start=0
begin() { phase_start=$(date +%s); printf '\n##### fresh-check: %s\n' "$1"; }
end() { # name status
	local s=$(( $(date +%s) - phase_start ))
	phases+=("$(printf '%-14s %6d s  %s' "$1" "$s" "$2")")
}
report() {
	printf '\n##### fresh-check: timings per phase\n'
	local p
	for p in "${phases[@]}"; do echo "  $p"; done
	printf '  %-14s %6d s\n' total $(( $(date +%s) - t_all ))
}
t_all=$(date +%s)
ok=1

# 1. the root
begin "debootstrap $suite (minbase) into $root"
include=git,make,ca-certificates
tarball=
if [ -n "$cache" ]; then
	tarball=$cache/debootstrap-$suite-minbase.tgz
	if [ ! -s "$tarball" ]; then
		echo "fresh-check: caching the base packages in $tarball"
		debootstrap --variant=minbase --include="$include" --make-tarball="$tarball.tmp" \
			"$suite" "$work/tarball-tmp" "$mirror" >"$log/tarball.log" 2>&1 ||
			{ tail -20 "$log/tarball.log"; exit 1; }
		mv "$tarball.tmp" "$tarball"
		rm -rf --one-file-system "$work/tarball-tmp"
	fi
fi
if debootstrap --variant=minbase --include="$include" ${tarball:+--unpack-tarball="$tarball"} \
		"$suite" "$root" "$mirror" >"$log/debootstrap.log" 2>&1; then
	end debootstrap ok
else
	tail -30 "$log/debootstrap.log"
	end debootstrap FAILED; report; exit 1
fi
# Debian's archive only: the release, its updates and its security updates.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
echo "fresh-check-$$" >"$root/etc/hostname"
mkdir -p "$root/mnt/wormhole-src" "$root/root"

# Runs a shell command line inside the chroot, in a private mount namespace.
in_root() {
	local cmd=$1
	unshare --mount --propagation private -- /bin/bash -euc '
		root=$1 src=$2 cache=$3 cmd=$4
		mount -t proc proc "$root/proc"
		mount -t sysfs sys "$root/sys"
		# the cgroup mounts of the host as they are (slurmd needs them and refuses a
		# hierarchy unlike /proc/self/cgroup; the process model uses a
		# memory cgroup)
		mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup" 2>/dev/null || true
		mount --rbind /dev "$root/dev"
		mount -t tmpfs -o mode=1777,size=50% shm "$root/dev/shm"
		[ -z "$src" ] || mount --bind -o ro "$src" "$root/mnt/wormhole-src"
		[ -z "$cache" ] || mount --bind "$cache/debs" "$root/var/cache/apt/archives"
		exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			/bin/bash -c "$cmd"
	' fresh-check "$root" "$src_bind" "$cache" "$cmd"
}

# 2. the clone
begin "git clone $repo ($branch) inside the root"
if in_root "git config --global --add safe.directory '*' && git clone -q --branch '$branch' '$clone_from' /root/wormhole && git -C /root/wormhole log -1 --format='cloned %h %s'" 2>&1 | tee "$log/clone.log"; then
	end clone ok
else
	end clone FAILED; report; exit 1
fi

# 3. make demo
if [ "$do_demo" = 1 ]; then
	begin "make demo (inside the root)"
	if in_root 'cd /root/wormhole && make demo' 2>&1 | tee "$log/demo.log"; [ "${PIPESTATUS[0]}" = 0 ]; then
		end "make demo" ok
	else
		end "make demo" FAILED; ok=0
	fi
fi

# 4. make test
summary="0 passed, 1 failed, 0 skipped (make test did not run)"
if [ "$do_test" = 1 ]; then
	begin "make test${stages:+ WH_TEST_ONLY=$stages} (inside the root)"
	if in_root "cd /root/wormhole && WH_TEST_ONLY='$stages' make test" 2>&1 | tee "$log/test.log"; [ "${PIPESTATUS[0]}" = 0 ]; then
		end "make test" "ok (stages: ${stages:-all})"
	else
		end "make test" "FAILED (stages: ${stages:-all})"; ok=0
	fi
	# keep the logs: the root goes away
	[ -n "$logs" ] || logs=$(mktemp -d /var/tmp/wormhole-fresh-check-logs.XXXXXX)
	mkdir -p "$logs"
	cp "$log"/*.log "$logs/" 2>/dev/null || true
	cp -r "$root/root/wormhole/build-logs" "$logs/" 2>/dev/null || true
	for b in build build-asan build-tsan; do
		[ -d "$root/root/wormhole/$b/meson-logs" ] && cp -r "$root/root/wormhole/$b/meson-logs" "$logs/meson-logs-$b"
	done
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log/test.log" | tail -1 || true)
	[ -z "$line" ] || summary=$line
	[ -n "$line" ] || ok=0
else
	summary="make test not run (--no-test)"
fi

report
[ -z "$logs" ] || echo "fresh-check: logs in $logs"
if [ "$ok" = 1 ]; then echo "fresh-check: PASS"; else echo "fresh-check: FAIL"; fi
echo "$summary"
[ "$ok" = 1 ]
