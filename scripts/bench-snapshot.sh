#!/usr/bin/env bash
# Snapshot install against a long log (issue 4's benchmark; not a test, never part of `make test`).
# Starts 3 `troupe node`s on loopback, writes ENTRIES log entries with `troupe bench kv` (KEYSPACE
# keys of 256-byte values, overwritten), then adds a 4th node with an empty directory as a learner
# and measures, on the leader's metrics:
#   - catch-up: from `troupe cluster add` until node 4 applied the leader's applied index of then;
#   - the snapshot transfer: its size, and its rate from the first progress seen to node 4's
#     `troupe_raft_snapshot_installs_total{direction="received"}` (restore included);
#   - the client throughput dip: a closed-loop put probe (PROBE_CLIENTS clients, PROBE_OPS puts)
#     once before the add and once started with it; the ratio during/before.
# MODE=snapshot (default) compacts (--snapshot-entries=SNAPSHOT_ENTRIES); MODE=replay disables
# compaction, so node 4 catches up by replaying the whole log (the comparison).
#
# Usage: scripts/bench-snapshot.sh [BUILD_DIR]       (default build/)
# Env:   ENTRIES=1000000 KEYSPACE=100000 MODE=snapshot|replay SNAPSHOT_ENTRIES=100000
#        RATE=64MiB (--snapshot-rate) PROBE_CLIENTS=16 PROBE_OPS=20000 OUT=DIR (kept; default mktemp)
# Output: progress on stderr; the last line is machine-readable:
#   snapshot_bench mode=snapshot entries=1000000 catch_up_s=.. snapshot_bytes=.. transfer_s=.. transfer_mib_s=.. probe_before_ops_s=.. probe_during_ops_s=.. dip_ratio=..
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
TROUPE=$BUILD/bin/troupe
ENTRIES=${ENTRIES:-1000000}
KEYSPACE=${KEYSPACE:-100000}
MODE=${MODE:-snapshot}
SNAPSHOT_ENTRIES=${SNAPSHOT_ENTRIES:-100000}
RATE=${RATE:-64MiB}
PROBE_CLIENTS=${PROBE_CLIENTS:-16}
PROBE_OPS=${PROBE_OPS:-20000}
OUT=${OUT:-$(mktemp -d /tmp/troupe-bench-snapshot.XXXXXX)}
mkdir -p "$OUT"

[[ -x $TROUPE ]] || { echo "bench-snapshot: $TROUPE not built (make build)" >&2; exit 2; }
for v in ENTRIES KEYSPACE SNAPSHOT_ENTRIES PROBE_CLIENTS PROBE_OPS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench-snapshot: $v must be a positive integer" >&2; exit 2; }
done
(( ENTRIES > KEYSPACE )) || { echo "bench-snapshot: ENTRIES must exceed KEYSPACE (the preload)" >&2; exit 2; }
case $MODE in
  snapshot) SNAP_ARGS=(--snapshot-entries="$SNAPSHOT_ENTRIES" --snapshot-bytes=0 --snapshot-rate="$RATE") ;;
  replay) SNAP_ARGS=(--snapshot-entries=0 --snapshot-bytes=0) ;;
  *) echo "bench-snapshot: MODE must be snapshot or replay" >&2; exit 2 ;;
esac

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
metric() {  # metric PORT REGEX: the first sample matching REGEX (0 if none)
  curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | grep -E "^$2 " | head -1 | awk '{print $2}' | grep . || echo 0
}

head -c 32 /dev/urandom | base64 >"$OUT/cluster.secret"
head -c 32 /dev/urandom | base64 >"$OUT/client.secret"
chmod 600 "$OUT/cluster.secret" "$OUT/client.secret"
declare -a PORT MPORT PID
for i in 1 2 3 4; do PORT[$i]=$(free_port); MPORT[$i]=$(free_port); done
EP="127.0.0.1:${PORT[1]},127.0.0.1:${PORT[2]},127.0.0.1:${PORT[3]}"
COMMON=(--cluster-id=bench --secret-file="$OUT/cluster.secret" --client-secret-file="$OUT/client.secret")
CLIENT=(--endpoints="$EP" --cluster-id=bench --client-secret-file="$OUT/client.secret")
cleanup() { for p in "${PID[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

for i in 1 2 3; do
  peers=""
  for j in 1 2 3; do [[ $j == "$i" ]] || peers+="${peers:+,}$j=127.0.0.1:${PORT[$j]}"; done
  "$TROUPE" node --id=$i --listen=127.0.0.1:${PORT[$i]} --peers="$peers" --data-dir="$OUT/data$i" \
    --metrics=127.0.0.1:${MPORT[$i]} "${COMMON[@]}" "${SNAP_ARGS[@]}" >"$OUT/node$i.log" 2>&1 &
  PID[$i]=$!
done
leader=0
for _ in $(seq 600); do
  for i in 1 2 3; do [[ $(metric ${MPORT[$i]} 'troupe_raft_is_leader\{group="1"\}') == 1 ]] && leader=$i; done
  (( leader > 0 )) && break
  sleep 0.1
done
(( leader > 0 )) || { echo "bench-snapshot: no leader; logs in $OUT" >&2; exit 1; }
echo "# leader $leader; writing $ENTRIES entries ($KEYSPACE keys), MODE=$MODE, load $(uptime | sed 's/.*average: //')" >&2

t=$(now)
"$TROUPE" bench kv "${CLIENT[@]}" --keyspace="$KEYSPACE" --put-levels=256:$((ENTRIES - KEYSPACE)) \
  --get-clients=1 --get-ops=1 >"$OUT/load.txt" 2>"$OUT/load.err"
echo "# loaded in $(echo "$(now) - $t" | bc) s: $(grep -E '^troupe put' "$OUT/load.txt")" >&2

probe() {  # probe NAME: one closed-loop put level; prints its ops/s
  "$TROUPE" bench kv "${CLIENT[@]}" --keyspace=1000 --preload-clients=1 \
    --put-levels="$PROBE_CLIENTS:$PROBE_OPS" --get-clients=1 --get-ops=1 >"$OUT/probe-$1.txt" 2>"$OUT/probe-$1.err"
  grep -E '^troupe put' "$OUT/probe-$1.txt" | sed -E 's/.*ops_s=([0-9.]+).*/\1/'
}
before=$(probe before)
echo "# probe before: $before ops/s" >&2

"$TROUPE" node --id=4 --listen=127.0.0.1:${PORT[4]} --join="$EP" --data-dir="$OUT/data4" \
  --metrics=127.0.0.1:${MPORT[4]} "${COMMON[@]}" "${SNAP_ARGS[@]}" >"$OUT/node4.log" 2>&1 &
PID[4]=$!
for _ in $(seq 300); do grep -q "waiting to be added" "$OUT/node4.log" && break; sleep 0.1; done
target=$(metric ${MPORT[$leader]} 'troupe_raft_applied_index\{group="1"\}')
t_add=$(now)
probe during >"$OUT/probe-during.value" &
probe_pid=$!
TROUPE_CLUSTER_ID=bench TROUPE_CLIENT_SECRET_FILE="$OUT/client.secret" \
  "$TROUPE" cluster add 4 127.0.0.1:${PORT[4]} --learner --endpoints="$EP" >"$OUT/add.txt" 2>&1
size=0; t_first=""; t_installed=""
for _ in $(seq 36000); do  # 1 hour at most
  s=$(metric ${MPORT[$leader]} 'troupe_raft_peer_snapshot_size_bytes\{group="1",peer="4"\}')
  if [[ $s != 0 && -z $t_first ]]; then t_first=$(now); size=$s; fi
  if [[ $MODE == snapshot && -z $t_installed &&
        $(metric ${MPORT[4]} 'troupe_raft_snapshot_installs_total\{direction="received",group="1"\}') != 0 ]]; then
    t_installed=$(now)
  fi
  applied=$(metric ${MPORT[4]} 'troupe_raft_applied_index\{group="1"\}')
  if [[ $(echo "$applied >= $target" | bc) == 1 ]]; then break; fi
  sleep 0.1
done
t_done=$(now)
wait $probe_pid
during=$(cat "$OUT/probe-during.value")
catch_up=$(echo "$t_done - $t_add" | bc)
transfer="na"; mib_s="na"
if [[ -n $t_first && -n $t_installed ]]; then
  transfer=$(echo "$t_installed - $t_first" | bc)
  mib_s=$(echo "scale=1; $size / 1048576 / $transfer" | bc)
fi
dip=$(echo "scale=2; $during / $before" | bc)
for i in 1 2 3 4; do curl -s --max-time 5 "http://127.0.0.1:${MPORT[$i]}/metrics" >"$OUT/metrics-$i.txt" || true; done
echo "# node 4 caught up to index $target in $catch_up s; load $(uptime | sed 's/.*average: //'); output in $OUT" >&2
echo "snapshot_bench mode=$MODE entries=$ENTRIES catch_up_s=$catch_up snapshot_bytes=$size transfer_s=$transfer" \
     "transfer_mib_s=$mib_s probe_before_ops_s=$before probe_during_ops_s=$during dip_ratio=$dip"
