#!/usr/bin/env bash
# Benchmark (not a test): the bank's transfer throughput with a checkpoint every second versus a
# single checkpoint at the end, and the time to checkpoint many accounts with `--fanout` outgoing
# channels each. Three `troupe bank` processes on loopback; figures from node 1's checkpoint store
# (the accounts' received-transfer counters at each cut) and its log.
#   examples/bank/bench.sh [build] [seconds=10] [accounts-per-node=200] [fanout=4]
#   TROUPE_BIN=/path/to/troupe examples/bank/bench.sh ...   (another binary, for before/after)
#   BENCH_EXTRA="--flow-window=16" examples/bank/bench.sh ... (more bank options for every node)
# Throughput = transfers received by all accounts at the last checkpoint's cut / time from traffic
# start to that checkpoint's start. Accounts send on every 1 ms tick (offered load far above what
# the machine carries), so the rate measured is what the system sustains.
set -euo pipefail
build=${1:-build}; seconds=${2:-10}; per_node=${3:-200}; fanout=${4:-4}
troupe="${TROUPE_BIN:-$PWD/$build/bin/troupe}"  # TROUPE_BIN: compare another build's binary
base=${BENCH_BASE_PORT:-7600}
dir="$PWD/$build/bank-bench"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
umask 077
head -c 32 /dev/urandom | base64 > cluster.secret
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

run() {  # run NAME [bank options...]: 3 nodes until node 1 logged the last checkpoint
  local name=$1; shift
  pids=()
  for i in 1 2 3; do
    local peers=""
    for j in 1 2 3; do [ "$j" = "$i" ] || peers+="$j=127.0.0.1:$((base+j)),"; done
    "$troupe" bank --id="$i" --listen="127.0.0.1:$((base+i))" --peers="${peers%,}" \
      --data-dir="$dir/$name$i" --cluster-id=bench --secret-file="$dir/cluster.secret" \
      --metrics="127.0.0.1:$((base+1000+i))" --accounts-per-node="$per_node" --fanout="$fanout" \
      --tick=1ms --transfer-per-mille=1000 --keep=0 --checkpoint-timeout=60s ${BENCH_EXTRA:-} "$@" \
      > "$name$i.log" 2>&1 &
    pids+=($!)
  done
  local deadline=$(( $(date +%s) + seconds + 120 ))
  until grep -q "checkpoint $last_id \(complete\|aborted\)" "${name}1.log"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "bench: $name timed out" >&2; exit 1; }
    sleep 0.5
  done
  for p in "${pids[@]}"; do kill -TERM "$p"; done
  for p in "${pids[@]}"; do wait "$p" || true; done
  pids=()
  python3 - "$dir/${name}1/checkpoints.db" "${name}1.log" "$name" <<'PY'
import re, sqlite3, struct, sys, datetime
db, log, name = sys.argv[1:4]
text = open(log).read()
t0 = re.search(r'^(\S+) .*application traffic starts', text, re.M).group(1)
t0 = datetime.datetime.fromisoformat(t0.replace('Z', '+00:00')).timestamp() * 1000
con = sqlite3.connect(f'file:{db}?mode=ro', uri=True)
rows = con.execute("select id, status, started_unix_ms from checkpoints order by id").fetchall()
last_id, status, started = rows[-1]
received = sum(struct.unpack_from('<Q', s, 16)[0] for (s,) in
               con.execute("select state from local_states where checkpoint_id=?", (last_id,)))
durations = [int(m) for m in re.findall(r'complete in ([0-9]+) ms', text)]
aborted = len(re.findall(r'aborted \(', text))
rate = received / ((started - t0) / 1000)
print(f"{name}: {len(rows)} checkpoints ({aborted} aborted), {received} transfers in "
      f"{(started - t0) / 1000:.1f} s = {rate:,.0f} transfers/s; checkpoint durations ms: "
      f"{sorted(durations)}")
PY
}

last_id=$seconds
run every_second --checkpoint-every=1s --checkpoint-limit="$seconds"
last_id=1
run one_at_end --checkpoint-every="${seconds}s" --checkpoint-limit=1
