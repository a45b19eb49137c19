#!/usr/bin/env bash
# make demo: a local 3-node Troupe cluster on loopback doing real work, narrated.
#   1. three `troupe node` processes start, connect and authenticate each other (HMAC handshake);
#   2. their probe actors exchange application messages over the transport; clients ping them;
#   3. a node holding the wrong cluster secret is refused and gets nothing through;
#   4. their metrics are scraped and summarised;
#   5. the replicated key-value service under a client load: the leader is killed (SIGKILL), a new
#      one takes over, every acknowledged write is read back, the killed node restarts and catches up;
#   6. SIGTERM: each says goodbye to its peers and exits 0.
#   7. (bank section) account actors on 3 `troupe bank` processes transfer money continuously while
#      Chandy-Lamport checkpoints are taken; every checkpoint's total is verified; every process is
#      killed and restored from the latest checkpoint, and transfers resume with the total intact;
#      then `troupe checkpoint restore` rolls the running accounts back in place.
# Logs and data stay in $build/demo/ for a look afterwards. DEMO_BASE_PORT moves the ports.
set -euo pipefail
build=${1:-build}
troupe="$PWD/$build/bin/troupe"
base=${DEMO_BASE_PORT:-7100}
dir="$PWD/$build/demo"
rm -rf "$dir" && mkdir -p "$dir"
cd "$dir"

say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: FAILED: %s\n' "$*" >&2; exit 1; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

for port in $((base+1)) $((base+2)) $((base+3)) $((base+1001)) $((base+1002)) $((base+1003)) \
    $((base+11)) $((base+12)) $((base+13)) $((base+1011)) $((base+1012)) $((base+1013)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use; set DEMO_BASE_PORT to move the demo's ports"
  fi
done

# Secrets: a cluster secret shared by the nodes, a client secret for the CLI. Owner-only, as the
# node insists.
umask 077
head -c 32 /dev/urandom | base64 > cluster.secret
head -c 32 /dev/urandom | base64 > client.secret
head -c 32 /dev/urandom | base64 > wrong.secret
export TROUPE_CLUSTER_ID=demo TROUPE_CLIENT_SECRET_FILE="$dir/client.secret"

peers_of() {
  local self=$1 out=""
  for j in 1 2 3; do [ "$j" = "$self" ] || out+="$j=127.0.0.1:$((base+j)),"; done
  echo "${out%,}"
}

start_node() {  # start_node ID SECRET_FILE LOG
  "$troupe" node --id="$1" --listen="127.0.0.1:$((base+$1))" --peers="$(peers_of "$1")" \
    --data-dir="$dir/data$1" --cluster-id=demo --secret-file="$2" \
    --client-secret-file="$dir/client.secret" --metrics="127.0.0.1:$((base+1000+$1))" \
    > "$3" 2>&1 &
  pids+=($!)
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds
  local deadline=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "timed out waiting for $what"
    sleep 0.2
  done
}

metric() {  # metric NODE PATTERN: sum of the matching samples on that node's /metrics
  curl -sf "http://127.0.0.1:$((base+1000+$1))/metrics" |
    awk -v pat="$2" '$0 !~ /^#/ && $0 ~ pat { s += $NF } END { printf "%.0f", s }'
}

peers_up() { [ "$(metric "$1" '^troupe_transport_connection_state\\{peer="[0-9]+"\\}')" = 6 ]; }

say "starting 3 nodes on 127.0.0.1:$((base+1))-$((base+3)) (metrics on $((base+1001))-$((base+1003)))"
for i in 1 2 3; do start_node "$i" cluster.secret "node$i.log"; done
for i in 1 2 3; do wait_for 30 "node $i to be ready" grep -q ' ready: ' "node$i.log"; done
for i in 1 2 3; do wait_for 30 "node $i to reach both peers" peers_up "$i"; done
grep -h 'established with node' node?.log | sed 's/^/  /'

say "clients ping every node (authenticated with the client secret)"
"$troupe" ping --endpoints="127.0.0.1:$((base+1)),127.0.0.1:$((base+2)),127.0.0.1:$((base+3))" \
  --count=3 | sed 's/^/  /'

say "a 4th process claiming to be node 1, with the wrong cluster secret, dials nodes 2 and 3"
"$troupe" node --id=1 --listen="127.0.0.1:$((base+9))" --peers="2=127.0.0.1:$((base+2)),3=127.0.0.1:$((base+3))" \
  --data-dir="$dir/intruder" --cluster-id=demo --secret-file=wrong.secret \
  --metrics="127.0.0.1:$((base+1009))" > intruder.log 2>&1 &
intruder=$!; pids+=("$intruder")
wait_for 30 "nodes 2 and 3 to refuse the intruder" bash -c "grep -q bad_proof node2.log && grep -q bad_proof node3.log"
kill -TERM "$intruder"; wait "$intruder" || true
grep -h 'bad_proof' node2.log node3.log intruder.log | head -3 | sed 's/^/  /'
[ "$(metric 2 '^troupe_node_probe_failures_total')" = 0 ] || die "node 2 lost probes while refusing the intruder"

say "probes flow between every pair for a few seconds"
wait_for 30 "10 probe round trips on every node" bash -c "
  for i in 1 2 3; do
    n=\$(curl -sf http://127.0.0.1:\$(( $base + 1000 + i ))/metrics |
         awk '/^troupe_node_probe_round_trip_seconds_count/ { s += \$NF } END { print s+0 }')
    [ \"\$n\" -ge 20 ] || exit 1
  done"

say "metrics (scraped from each node's /metrics)"
printf '  %-6s %-10s %-12s %-14s %-12s %-12s %-10s\n' node peers_up probes_rtt avg_rtt_ms sent_bytes recv_bytes rss_MiB
for i in 1 2 3; do
  up=$(( $(metric "$i" '^troupe_transport_connection_state\\{peer="[0-9]+"\\}') / 3 ))
  n=$(metric "$i" '^troupe_node_probe_round_trip_seconds_count')
  s=$(curl -sf "http://127.0.0.1:$((base+1000+i))/metrics" | awk '/^troupe_node_probe_round_trip_seconds_sum/ { s += $NF } END { print s+0 }')
  avg=$(awk -v s="$s" -v n="$n" 'BEGIN { printf "%.3f", n ? s * 1000 / n : 0 }')
  printf '  %-6s %-10s %-12s %-14s %-12s %-12s %-10s\n' "$i" "$up/2" "$n" "$avg" \
    "$(metric "$i" '^troupe_transport_sent_bytes_total')" \
    "$(metric "$i" '^troupe_transport_received_bytes_total')" \
    "$(( $(metric "$i" '^process_resident_memory_bytes') / 1048576 ))"
done

say "the key-value service: a client writes keys while the leader is killed"
endpoints="127.0.0.1:$((base+1)),127.0.0.1:$((base+2)),127.0.0.1:$((base+3))"
leader_of() {  # prints the node (1-3) whose troupe_raft_is_leader is 1, except $1; fails if none
  for i in 1 2 3; do
    [ "$i" = "${1:-0}" ] && continue
    [ "$(metric "$i" '^troupe_raft_is_leader' 2>/dev/null)" = 1 ] && { echo "$i"; return 0; }
  done
  return 1
}
wait_for 30 "a leader to be elected" leader_of
old_leader=$(leader_of)
echo "  node $old_leader leads; troupe kv put writes key-1, key-2, ... one after another"
# The writer: each acknowledged write (exit 0) goes to acked.txt; an unknown outcome (exit 3: the
# leader died holding it) to unknown.txt; a definite failure (1, 2) to failed.txt.
(
  n=0
  while [ ! -e stop-writer ]; do
    n=$((n+1))
    "$troupe" kv put "key-$n" "value-$n" --endpoints="$endpoints" --timeout=10s >/dev/null 2>>writer.err
    case $? in
      0) echo "key-$n value-$n" >> acked.txt ;;
      3) echo "key-$n" >> unknown.txt ;;
      *) echo "key-$n" >> failed.txt ;;
    esac
  done
) &
writer=$!
acked() { [ -e acked.txt ] && wc -l < acked.txt || echo 0; }
wait_for 60 "20 acknowledged writes" bash -c "[ \$( (cat acked.txt 2>/dev/null || true) | wc -l) -ge 20 ]"
before=$(acked)
echo "  $before writes acknowledged; SIGKILL to the leader, node $old_leader"
kill -KILL "${pids[$((old_leader-1))]}"
wait "${pids[$((old_leader-1))]}" 2>/dev/null || true
t0=$(date +%s.%N)
wait_for 30 "a new leader" leader_of "$old_leader"
new_leader=$(leader_of "$old_leader")
echo "  node $new_leader leads now (elected $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the kill)"
wait_for 60 "20 more acknowledged writes" bash -c "[ \$(wc -l < acked.txt) -ge $((before + 20)) ]"
touch stop-writer; wait "$writer"
echo "  writer stopped: $(acked) acknowledged, $( (cat unknown.txt 2>/dev/null || true) | wc -l) unknown (in flight at the kill), $( (cat failed.txt 2>/dev/null || true) | wc -l) failed"
[ ! -s failed.txt ] || die "definite write failures: $(head -3 failed.txt | tr '\n' ' ') (see writer.err)"

say "every acknowledged write reads back (linearizable get through the new leader)"
lost=0
while read -r key value; do
  got=$("$troupe" kv get "$key" --endpoints="$endpoints" 2>/dev/null) || got="<absent>"
  [ "$got" = "$value" ] || { echo "  LOST: $key = $value, read $got"; lost=$((lost+1)); }
done < acked.txt
[ "$lost" = 0 ] || die "$lost acknowledged writes lost"
echo "  all $(acked) acknowledged writes are there: none lost"

say "node $old_leader restarts from its data directory and catches up"
"$troupe" node --id="$old_leader" --listen="127.0.0.1:$((base+old_leader))" --peers="$(peers_of "$old_leader")" \
  --data-dir="$dir/data$old_leader" --cluster-id=demo --secret-file=cluster.secret \
  --client-secret-file="$dir/client.secret" --metrics="127.0.0.1:$((base+1000+old_leader))" \
  >> "node$old_leader.log" 2>&1 &
pids[$((old_leader-1))]=$!
target=$(metric "$new_leader" '^troupe_raft_applied_index')
wait_for 60 "node $old_leader to apply up to index $target" bash -c \
  "[ \$(curl -sf http://127.0.0.1:$((base+1000+old_leader))/metrics | awk '/^troupe_raft_applied_index/ { s += \$NF } END { printf \"%d\", s }') -ge $target ]"
echo "  node $old_leader applied index $(metric "$old_leader" '^troupe_raft_applied_index') (leader: $target)"
last=$(tail -1 acked.txt)
got=$("$troupe" kv get "${last%% *}" --consistency=follower --endpoints="127.0.0.1:$((base+old_leader))")
[ "$got" = "${last#* }" ] || die "node $old_leader serves ${last%% *} = $got, expected ${last#* }"
echo "  and serves ${last%% *} = $got from its own copy (follower read)"

say "replicated services on the same group: the counter and the lock service"
for n in 1 2 3; do got=$("$troupe" counter incr visits --endpoints="$endpoints") || die "counter incr failed"; done
echo "  troupe counter incr visits, three times: $got"
out=$("$troupe" counter incr visits --show-index --endpoints="$endpoints") || die "counter incr failed"
idx=${out##*index=}
got=$("$troupe" counter get visits --consistency=session --min-index="$idx" --endpoints="127.0.0.1:$((base+old_leader))") \
  || die "session read from node $old_leader failed"
[ "$got" = "${out%% *}" ] || die "session read from node $old_leader gave $got, expected ${out%% *}"
echo "  node $old_leader (a follower) answers a session read at index $idx with $got: it sees the client's own write"
"$troupe" lock acquire printer --ttl=5s --endpoints="$endpoints" > lock-holder.out 2> lock-holder.err &
holder=$!
wait_for 30 "the lock to be granted" grep -q '^token=' lock-holder.out
echo "  troupe lock acquire printer --ttl=5s: $(cat lock-holder.out) (kept alive while it runs)"
if "$troupe" lock acquire printer --ttl=5s --endpoints="$endpoints" >/dev/null 2>lock-second.err; then
  die "a second acquire got a held lock"
fi
echo "  a second acquire without --wait is refused: $(cat lock-second.err)"
kill -TERM "$holder"; wait "$holder" || die "the lock holder exited $? on SIGTERM"
got=$("$troupe" lock status printer --endpoints="$endpoints" | head -1)
[ "$got" = free ] || die "after the holder's SIGTERM the lock is '$got', not free"
echo "  the holder released it on SIGTERM: lock status printer says $got"

say "shutting down with SIGTERM"
for i in 0 1 2; do kill -TERM "${pids[$i]}"; done
for i in 0 1 2; do
  if wait "${pids[$i]}"; then echo "  node $((i+1)) exited 0"; else die "node $((i+1)) exited $?"; fi
done
pids=()
grep -h 'goodbye to every peer\| stopped$' node?.log | sed 's/^/  /'

# ---- bank: Chandy-Lamport checkpoints of a running actor system (examples/bank) -----------------
bank_port() { echo $((base+10+$1)); }
start_bank() {  # start_bank ID LOG [bank options...]
  local id=$1 log=$2; shift 2
  local peers=""
  for j in 1 2 3; do [ "$j" = "$id" ] || peers+="$j=127.0.0.1:$(bank_port "$j"),"; done
  "$troupe" bank --id="$id" --listen="127.0.0.1:$(bank_port "$id")" --peers="${peers%,}" \
    --data-dir="$dir/bank$id" --cluster-id=demo-bank --secret-file="$dir/cluster.secret" \
    --metrics="127.0.0.1:$((base+1010+id))" --accounts-per-node=20 --tick=2ms \
    --transfer-per-mille=500 --checkpoint-every=500ms --keep=0 "$@" > "$log" 2>&1 &
  pids+=($!)
}
conserved() { grep -c 'conserves money' "$1" 2>/dev/null || true; }
have_conserved() { [ "$(conserved "$1")" -ge "$2" ]; }  # have_conserved LOG N

say "bank: 60 accounts on 3 processes transfer money continuously; a checkpoint every 500 ms"
for i in 1 2 3; do start_bank "$i" "bank$i.log"; done
wait_for 60 "5 bank checkpoints" have_conserved bank1.log 5
grep -h 'DOES NOT conserve' bank1.log && die "a checkpoint does not conserve money"
grep -h 'conserves money' bank1.log | head -5 | sed 's/^.*bank: /  /'
echo "  (each total = recorded balances + transfers recorded in flight on channels; transfers kept"
echo "   flowing while each was taken: no stop-the-world)"
echo "  troupe_checkpoint_completed_total $(metric 11 '^troupe_checkpoint_completed_total'), aborted $(metric 11 '^troupe_checkpoint_aborted_total')"

say "bank: SIGKILL to every process, then fresh processes restored from the latest checkpoint"
for i in 0 1 2; do kill -KILL "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null || true; done
pids=()
for i in 1 2 3; do start_bank "$i" "bank$i-restored.log" --restore=latest; done
wait_for 60 "3 checkpoints after the restore" have_conserved bank1-restored.log 3
grep -h 'restoring checkpoint' bank1-restored.log | sed 's/^.*checkpoint: /  /'
grep -h 'DOES NOT conserve' bank1-restored.log && die "a checkpoint after the restore does not conserve money"
grep -h 'conserves money' bank1-restored.log | head -3 | sed 's/^.*bank: /  /'

say "bank: troupe checkpoint restore: the running accounts rolled back in place to an earlier checkpoint"
# Prefer a checkpoint that recorded transfers in flight, so the restore shows them delivered again.
target=$( (grep -h 'conserves money' bank1-restored.log | grep -v '(0 transfers)' || true) | head -1 \
  | sed 's/^.*checkpoint \([0-9]*\) conserves.*$/\1/')
[ -n "$target" ] || target=$(grep -h 'conserves money' bank1-restored.log | head -1 \
  | sed 's/^.*checkpoint \([0-9]*\) conserves.*$/\1/')
before=$(conserved bank1-restored.log)
TROUPE_CLUSTER_ID=demo-bank TROUPE_CLIENT_SECRET_FILE= "$troupe" checkpoint restore "$target" \
  --endpoints="127.0.0.1:$(bank_port 1)" | sed 's/^/  /' || die "restore in place of checkpoint $target failed"
wait_for 60 "3 checkpoints after the restore in place" have_conserved bank1-restored.log $((before + 3))
grep -h 'DOES NOT conserve' bank1-restored.log && die "a checkpoint after the restore in place does not conserve money"
grep -h 'conserves money' bank1-restored.log | tail -2 | sed 's/^.*bank: /  /'
for i in 0 1 2; do kill -TERM "${pids[$i]}"; done
for i in 0 1 2; do wait "${pids[$i]}" || die "bank node $((i+1)) exited $?"; done
pids=()
echo "  transfers resumed from the restored balances (and the transfers that were in flight); every total intact"

say "demo: OK (logs and data in $dir)"
