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
  # CPU time of the three processes (user + system, clock ticks), sampled with a timestamp: the
  # machine is shared, so transfers per CPU-second is the figure that other load disturbs least.
  : > "$name.cpu"
  until grep -q "checkpoint $last_id \(complete\|aborted\)" "${name}1.log"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "bench: $name timed out" >&2; exit 1; }
    local ticks=0
    for p in "${pids[@]}"; do
      ticks=$(( ticks + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
    done
    echo "$(date +%s%3N) $ticks" >> "$name.cpu"
    sleep 0.2
  done
  for p in "${pids[@]}"; do kill -TERM "$p"; done
  # Everything measured is in the store already. A node that has not exited after 20 s is killed
  # and reported: a guard only (the hang at SIGTERM with checkpoints in flight was fixed in d5d44ff;
  # bank_cluster_test's sigterm case holds it).
  local stop_deadline=$(( $(date +%s) + 20 ))
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$stop_deadline" ]; do sleep 0.2; done
    kill -KILL "$p" 2>/dev/null && echo "bench: process $p did not stop within 20 s of SIGTERM: killed" >&2
    wait "$p" || true
  done
  pids=()
  python3 - "$dir/${name}1/checkpoints.db" "${name}1.log" "$name" "$name.cpu" "$(getconf CLK_TCK)" <<'PY'
import re, sqlite3, struct, sys, datetime
db, log, name, cpu_file, hz = sys.argv[1:6]
text = open(log).read()
t0 = re.search(r'^(\S+) .*application traffic starts', text, re.M).group(1)
t0 = datetime.datetime.fromisoformat(t0.replace('Z', '+00:00')).timestamp() * 1000
con = sqlite3.connect(f'file:{db}?mode=ro', uri=True)
rows = con.execute("select id, status, started_unix_ms from checkpoints order by id").fetchall()
last_id, status, started = rows[-1]
def states(checkpoint):  # the accounts' local states: schema version 3's runs (runs.hpp), or rows
    has_runs = con.execute("select 1 from sqlite_master where name='part_runs'").fetchone()
    for (body,) in con.execute("select body from part_runs where checkpoint_id=? and kind=0",
                               (checkpoint,)) if has_runs else []:
        at = 0
        while at < len(body):
            at += 8                                                   # participant
            for _ in range(2): at += 4 + struct.unpack_from('<I', body, at)[0]  # node, location
            has_state = body[at]; at += 1 + 8 + 4                     # has_state, size, checksum
            if has_state:
                n = struct.unpack_from('<I', body, at)[0]
                yield body[at + 4:at + 4 + n]
                at += 4 + n + 4                                       # state, checksum
    for (state,) in con.execute("select state from local_states where checkpoint_id=?", (checkpoint,)):
        yield state
received = sum(struct.unpack_from('<Q', s, 16)[0] for s in states(last_id))
durations = [int(m) for m in re.findall(r'complete in ([0-9]+) ms', text)]
stored = [int(m) for m in re.findall(r'stored ([0-9]+) ms later', text)]
aborted = len(re.findall(r'aborted \(', text))
rate = received / ((started - t0) / 1000)
samples = [tuple(map(int, l.split())) for l in open(cpu_file) if l.strip()]
def cpu_at(ms):  # CPU seconds of the three processes at unix ms `ms` (linear between samples)
    for (a, ca), (b, cb) in zip(samples, samples[1:]):
        if a <= ms <= b:
            return (ca + (cb - ca) * (ms - a) / max(b - a, 1)) / int(hz)
    return None
c0, c1 = cpu_at(t0), cpu_at(started)
per_cpu = f"{received / (c1 - c0):,.0f} transfers per CPU-second" if c0 is not None and c1 and c1 > c0 else "CPU not sampled"
print(f"{name}: {len(rows)} checkpoints ({aborted} aborted), {received} transfers in "
      f"{(started - t0) / 1000:.1f} s = {rate:,.0f} transfers/s, {per_cpu}; checkpoint "
      f"durations ms: {sorted(durations)}; stored ms later: {sorted(stored)}")
PY
}

last_id=$seconds
run every_second --checkpoint-every=1s --checkpoint-limit="$seconds"
last_id=1
run one_at_end --checkpoint-every="${seconds}s" --checkpoint-limit=1
