#!/usr/bin/env bash
# Installs the Debian packages Wormhole needs, by group, so that `make demo`
# fetches only what the demo needs and `make test` what the tests need.
#
#   scripts/deps.sh [GROUP...]     groups: demo test bench vm kvm cluster cts, or all (default)
#
# Each group is scripts/deps.d/GROUP.txt; every group but demo implies demo.
# Idempotent: packages already present are skipped, and apt is not touched at
# all when nothing is missing.  Another apt/dpkg holding the lock is waited
# for (WH_APT_LOCK_TIMEOUT seconds, default 600) instead of failing at once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(all)
files=("$here/deps.d/demo.txt")
for g in "${groups[@]}"; do
	if [ "$g" = all ]; then
		files+=("$here"/deps.d/*.txt)
	elif [ -f "$here/deps.d/$g.txt" ]; then
		files+=("$here/deps.d/$g.txt")
	else
		echo "deps: unknown group '$g' (have: $(cd "$here/deps.d" && ls *.txt | sed 's/\.txt$//' | tr '\n' ' ')all)" >&2
		exit 2
	fi
done

mapfile -t wanted < <(cat "${files[@]}" | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for p in "${wanted[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps (${groups[*]}): all ${#wanted[@]} packages present"
	exit 0
fi
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
lock=${WH_APT_LOCK_TIMEOUT:-600}
apt=($SUDO apt-get -o DPkg::Lock::Timeout="$lock" -o APT::Get::Assume-Yes=true)
echo "deps (${groups[*]}): installing ${#missing[@]} packages: ${missing[*]}"
echo "deps: waits up to ${lock}s for another apt/dpkg that holds the lock"
export DEBIAN_FRONTEND=noninteractive
# apt-get update takes the lists lock, which DPkg::Lock::Timeout does not cover:
# retry it while another apt holds it.
for i in $(seq "$lock"); do
	out=$("${apt[@]}" update -qq 2>&1) && break
	if grep -q 'Could not get lock' <<<"$out"; then
		[ $((i % 30)) = 1 ] && echo "deps: waiting for another apt-get update to finish"
		sleep 1
		continue
	fi
	echo "$out" >&2
	exit 1
done
"${apt[@]}" install -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
