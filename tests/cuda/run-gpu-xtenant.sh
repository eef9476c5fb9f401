#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cross-tenant device memory on a real GPU (issue 11), part of make
# test-gpu: a victim and an attacker, two CUDA clients of one wormholed.
#   --isolate process: the attacker's kernel touching the victim's device
#     address faults in the attacker's own context; the victim's data is
#     unchanged and its session goes on;
#   --isolate thread (control, reported): contexts of one process share one
#     address space, the attacker reads and overwrites the victim's buffer.
# usage: run-gpu-xtenant.sh BUILD
set -uo pipefail
B=$(cd "${1:?usage: $0 BUILD}" && pwd)
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
	echo "SKIP: no NVIDIA GPU here; run 'make test-gpu' on a GPU machine"; exit 77
fi
P=$B/tests/cuda/xtenant L=$B/client-lib/cuda
tmp=$(mktemp -d /tmp/wh-xt.XXXXXX)
pass=0 fail=0 wpid=
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
trap '[ -n "$wpid" ] && kill $wpid 2>/dev/null; wait 2>/dev/null' EXIT
for model in process thread; do
	"$B/server-vm/wormholed" --isolate "$model" --api cuda -l "unix:$tmp/$model.sock" -a none \
		>"$tmp/$model.log" 2>&1 &
	wpid=$!
	for _ in $(seq 600); do grep -q ready "$tmp/$model.log" && break; sleep 0.1; done
	A=unix:$tmp/$model.sock
	rm -f "$tmp/go"
	LD_LIBRARY_PATH=$L WORMHOLE_SERVER=$A timeout 120 "$P" victim "$tmp/go" >"$tmp/v.out" 2>&1 & vp=$!
	for _ in $(seq 600); do grep -q ADDR "$tmp/v.out" && break; sleep 0.05; done
	addr=$(sed -n 's/ADDR //p' "$tmp/v.out")
	LD_LIBRARY_PATH=$L WORMHOLE_SERVER=$A timeout 60 "$P" attacker "${addr:-0}" >"$tmp/a.out" 2>&1
	touch "$tmp/go"; wait $vp; vrc=$?
	echo "  [$model] $(cat "$tmp/a.out" | tail -1) | $(tail -1 "$tmp/v.out")"
	sync_err=$(sed -n 's/.*sync=\([0-9]*\).*/\1/p' "$tmp/a.out")
	if [ "$model" = process ]; then
		read=$(sed -n 's/.*read=\(0x[0-9a-f]*\).*/\1/p' "$tmp/a.out")
		[ -n "$addr" ] && [ "${sync_err:-0}" != 0 ] && [ "$read" != 0x5eed1234 ] && ok "process model: the attacker's access to the victim's address faults in its own context (sync error ${sync_err})" \
			|| bad "process model: attacker: $(tail -1 "$tmp/a.out")"
		[ $vrc -eq 0 ] && ok "process model: the victim's data is unchanged and its session went on" \
			|| bad "process model: victim: $(tail -1 "$tmp/v.out")"
		kill -0 $wpid 2>/dev/null && ok "process model: wormholed still up" || bad "wormholed died"
	else
		echo "  control (thread model): $( [ $vrc -ne 0 ] && echo "the attacker changed the victim's buffer (one address space)" || echo "the victim's buffer survived")"
	fi
	kill $wpid; wait $wpid 2>/dev/null; wpid=
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
