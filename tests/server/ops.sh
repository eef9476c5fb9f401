#!/usr/bin/env bash
# wormholed operations end to end, over the echo API (no accelerator needed):
# policy file errors, token authentication, weighted fair shares, runtime
# weight changes and disconnects through wormholectl, Prometheus metrics.
# usage: ops.sh BUILD_DIR
set -uo pipefail
B=$(cd "$1" && pwd)
WD=$B/server-vm/wormholed CTL=$B/server-vm/wormholectl SPIN=$B/benchmarks/isolation/wh-spin
tmp=$(mktemp -d)
port=$((20000 + RANDOM % 20000)) mport=$((port + 1))
admin=unix:$tmp/admin.sock
pass=0 fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else ko "$1"; fi; }
cleanup() { [ -n "${wpid:-}" ] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# 1. A bad policy file stops the server at start with FILE:LINE: reason.
printf '[client a]\ntoken = 0123456789abcdef\nweight = zero\n' >"$tmp/bad.conf"
out=$(timeout 10 "$WD" --api echo --config "$tmp/bad.conf" --admin none 2>&1); rc=$?
check "bad config rejected with line and reason" '[ $rc -eq 2 ] && grep -q "bad.conf:3: bad value .zero. for .weight." <<<"$out"'

cat >"$tmp/ok.conf" <<EOF2
[server]
listen = tcp:127.0.0.1:$port
[client light]
token = light-token-0123456789
weight = 1
[client heavy]
token = heavy-token-0123456789
weight = 3
EOF2
# Metrics on every address: tenants' series go to loopback readers only.
"$WD" --api echo --config "$tmp/ok.conf" --admin "$admin" --metrics "0.0.0.0:$mport" 2>"$tmp/wd.log" &
wpid=$!
for _ in $(seq 600); do grep -q ready "$tmp/wd.log" && break; sleep 0.1; done

# 2. TCP peers without a valid token are refused before any call runs.
out=$(timeout 10 "$SPIN" "tcp:127.0.0.1:$port" - 1000 0.1 2>&1); rc=$?
check "tcp without token refused" '[ $rc -ne 0 ] && grep -q "refused" <<<"$out"'
out=$(timeout 10 "$SPIN" "tcp:127.0.0.1:$port" wrong-token-0123456789 1000 0.1 2>&1); rc=$?
check "tcp with a wrong token refused" '[ $rc -ne 0 ] && grep -q "unknown token" "$tmp/wd.log"'

# A peer that connects and never says HELLO must not hold up the next one.
exec 7<>"/dev/tcp/127.0.0.1/$port"
t0=$(date +%s%N)
timeout 10 "$SPIN" "tcp:127.0.0.1:$port" light-token-0123456789 1000 0.05 >/dev/null 2>&1; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
exec 7>&-
check "a silent peer does not delay the next client (${ms} ms)" '[ $rc -eq 0 ] && [ $ms -lt 2000 ]'

# 3. Weights 1 and 3 share device time 25% / 75%.
timeout 20 "$SPIN" "tcp:127.0.0.1:$port" light-token-0123456789 1000000 2.5 >"$tmp/l" &
lp=$!
timeout 20 "$SPIN" "tcp:127.0.0.1:$port" heavy-token-0123456789 1000000 2.5 >"$tmp/h"
wait $lp
l=$(sed -E 's/.*device_ns=([0-9]+).*/\1/' "$tmp/l"); h=$(sed -E 's/.*device_ns=([0-9]+).*/\1/' "$tmp/h")
share=$(awk -v l="$l" -v h="$h" 'BEGIN { if (l + h == 0) print -1; else printf "%.1f", 100 * l / (l + h) }')
echo "light share ${share}% (light ${l} ns, heavy ${h} ns)"
check "weights 1:3 give the light client 25% +- 7" 'awk -v s="$share" "BEGIN { exit !(s >= 18 && s <= 32) }"'
# Process model (the default): scheduled calls do not each ask the broker;
# a worker asks only when the grant the broker wrote in its page is used up.
calls=$(( $(sed -E 's/.*calls=([0-9]+).*/\1/' "$tmp/l") + $(sed -E 's/.*calls=([0-9]+).*/\1/' "$tmp/h") ))
turns=$(curl -sf "http://127.0.0.1:$mport/metrics" | awk '$1 == "wormhole_scheduler_turns_total" { print $2 }')
echo "scheduled calls ${calls}, round trips to the broker's scheduler ${turns}"
check "scheduled calls need fewer round trips to the broker than calls (${turns:-?} for ${calls})" '[ -n "$turns" ] && [ "$calls" -gt 0 ] && [ "$turns" -lt "$calls" ]'

# 4. wormholectl sees clients, changes a weight at run time, disconnects.
timeout 20 "$SPIN" "tcp:127.0.0.1:$port" light-token-0123456789 1000000 4 >"$tmp/l2" 2>&1 &
lp=$!
timeout 20 "$SPIN" "tcp:127.0.0.1:$port" heavy-token-0123456789 1000000 4 >"$tmp/h2" 2>&1 &
hp=$!
sleep 0.5
"$CTL" --server "$admin" list >"$tmp/list"
cat "$tmp/list"
check "wormholectl list shows both clients" 'grep -q " light " "$tmp/list" && grep -q " heavy " "$tmp/list"'
lid=$(awk '$2 == "light" { print $1 }' "$tmp/list")
hid=$(awk '$2 == "heavy" { print $1 }' "$tmp/list")
check "wormholectl set weight" '"$CTL" --server "$admin" set "$lid" weight 9'
sleep 0.2
curl -sf "http://127.0.0.1:$mport/metrics" >"$tmp/metrics"
check "metrics endpoint reports per-client figures" 'grep -q "wormhole_client_weight{client=\"light\".*} 9" "$tmp/metrics" && grep -q "^wormhole_clients 2" "$tmp/metrics"'
# Several readers at once: two that never send a request do not hold up a
# third (each has a 3 s deadline), and they are cut off.
exec 8<>"/dev/tcp/127.0.0.1/$mport" 9<>"/dev/tcp/127.0.0.1/$mport"
t0=$(date +%s%N)
curl -sf -m 5 "http://127.0.0.1:$mport/metrics" >"$tmp/m2"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "metrics: two silent readers do not delay a third (${ms} ms)" '[ $rc -eq 0 ] && [ $ms -lt 2000 ] && grep -q "^wormhole_clients 2" "$tmp/m2"'
t0=$(date +%s%N); timeout 10 cat <&8 >/dev/null; ms=$(( ($(date +%s%N) - t0) / 1000000 ))
exec 8>&- 9>&-
check "metrics: a silent reader is cut off by its deadline (${ms} ms more)" '[ $ms -lt 5000 ]'
# Tenants' names and usage only for loopback readers.
ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' | grep -v '^127\.')
if [ -n "$ip" ]; then
	curl -sf -m 5 "http://$ip:$mport/metrics" >"$tmp/m3"; rc=$?
	check "metrics: a reader on $ip gets the totals, no tenant's name" '[ $rc -eq 0 ] && grep -q "^wormhole_clients 2" "$tmp/m3" && ! grep -q "light\|heavy\|wormhole_client_" "$tmp/m3"'
else
	echo "SKIP: metrics visibility: no non-loopback IPv4 address on this host"
fi
check "wormholectl kick" '"$CTL" --server "$admin" kick "$hid"'
wait $hp; hrc=$?
check "kicked client sees its calls fail" '[ $hrc -ne 0 ] && grep -q "call:" "$tmp/h2"'
wait $lp; lrc=$?
check "the other client keeps working" '[ $lrc -eq 0 ] && grep -q calls= "$tmp/l2"'
check "kick of an unknown client fails" '! "$CTL" --server "$admin" kick 99999 2>/dev/null'
# Hostile admin messages: refused by the generated decoders (or the body),
# answered with an error, and the server keeps serving.
out=$("$B/tests/server/admin_hostile" "$admin" "tcp:127.0.0.1:$port" light-token-0123456789 2>&1); rc=$?
echo "$out" | sed 's/^/  /'
check "hostile admin and echo messages refused, LIST and echo still served" '[ $rc -eq 0 ] && [ "$(grep -c "^PASS" <<<"$out")" -eq 10 ]'

# 4b. wormholectl set: each mistake named precisely (no client needed for
# those checked before asking; the server's own answers for the others).
ctl_err() { "$CTL" --server "$admin" "$@" 2>&1 >/dev/null || true; }
check "set: unknown key named" 'ctl_err set "$lid" bogus 2 | grep -q "unknown key .bogus. (keys: mem objects"'
check "set: cap out of range" 'ctl_err set "$lid" cap 150 | grep -q "value 150 out of range for cap"'
check "set: weight 0 out of range" 'ctl_err set "$lid" weight 0 | grep -q "value 0 out of range for weight"'
check "set: negative number" 'ctl_err set "$lid" weight -1 | grep -q "bad value .-1. for weight: limits are not negative"'
check "set: unknown client" 'ctl_err set 99999 weight 2 | grep -q "no such client"'
check "admin address logged once, with the --server hint" '[ "$(grep -c "$admin" "$tmp/wd.log")" = 1 ] && grep -q "admin: wormholectl --server $admin list" "$tmp/wd.log"'

kill "$wpid"; wait "$wpid"; wrc=$?; wpid=
check "SIGTERM stops the server cleanly" '[ $wrc -eq 0 ] && grep -q stopped "$tmp/wd.log"'

# 5. Addresses and policy checked before anything is served.
out=$(timeout 10 "$WD" --api echo --listen tcp:127.0.0.1:70000 --admin none 2>&1); rc=$?
check "listen port 70000 refused, clearly" '[ $rc -ne 0 ] && grep -q "malformed address tcp:127.0.0.1:70000: the port must be a number" <<<"$out"'
out=$(timeout 10 "$SPIN" tcp:127.0.0.1:99999 - 10 0.1 2>&1); rc=$?
check "client port 99999 refused as malformed, not 'connection refused'" '[ $rc -ne 0 ] && grep -q "malformed address tcp:127.0.0.1:99999" <<<"$out"'
out=$(timeout 10 "$SPIN" tcp:127.0.0.1 - 10 0.1 2>&1); rc=$?
check "malformed address reported as such" '[ $rc -ne 0 ] && grep -q "malformed address tcp:127.0.0.1 (want tcp:HOST:PORT)" <<<"$out"'
out=$(timeout 3 "$WD" --api echo --listen tcp:0 --admin none 2>&1)
check "tcp:PORT (no host) listens on 127.0.0.1 only" 'grep -q "listening on tcp:127.0.0.1:[1-9]" <<<"$out"'
printf '[client a]\ntoken = same-token-0123456789\n[client b]\nweight = 2\ntoken = same-token-0123456789\n' >"$tmp/dup.conf"
out=$(timeout 10 "$WD" --api echo --config "$tmp/dup.conf" --admin none 2>&1); rc=$?
check "two clients with one token refused with FILE:LINE" '[ $rc -eq 2 ] && grep -q "dup.conf:5: client .b. has the same token as client .a." <<<"$out"'
printf '[client a]\nuid = 4242\n[client nobody]\nweight = 2\n' >"$tmp/never.conf"
out=$(timeout 10 "$WD" --api echo --config "$tmp/never.conf" --admin none 2>&1); rc=$?
check "a client section that can never match refused with FILE:LINE" '[ $rc -eq 2 ] && grep -q "never.conf:3: client .nobody. can never match" <<<"$out"'
# --listen beside a config with listen lines: said, not silent; a unix
# socket is opened to the uids the config names.
printf '[server]\nlisten = unix:%s/cfg.sock\n[client u]\nuid = 4242\n' "$tmp" >"$tmp/uid.conf"
"$WD" --api echo --config "$tmp/uid.conf" --listen "unix:$tmp/flag.sock" --admin none >"$tmp/wd2.log" 2>&1 &
wpid=$!
for _ in $(seq 600); do grep -q ready "$tmp/wd2.log" && break; sleep 0.1; done
check "--listen beside config listen lines: warned" 'grep -q "warning: --listen given: the 1 .listen =. line(s) of .*uid.conf are not used" "$tmp/wd2.log"'
check "unix socket open to the config's uid clients (0666)" '[ "$(stat -c %a "$tmp/flag.sock")" = 666 ]'
kill "$wpid"; wait "$wpid"; wpid=
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
