#!/usr/bin/env bash
# Troupe's key-value service beside etcd under the same load (../shared/anchors/etcd/README.md):
# runs the etcd anchor's bench.sh and `troupe bench kv` interleaved (etcd, troupe, etcd, troupe, ...)
# RUNS times each on this machine, then prints, per level, the median of each system's throughput,
# p99 latency and server CPU per 1,000 operations, and the ratios troupe/etcd of the medians.
# A benchmark, not a test: never part of `make test`.
#
# Usage: scripts/bench-kv-vs-etcd.sh [BUILD_DIR]      (default build/)
# Env:   RUNS=3         runs of each system
#        SCALE=1        multiplies every op count of both (e.g. 0.1 for a quick look)
#        ETCD_ANCHOR=DIR  the anchor (default: ../shared/anchors/etcd from the repository root)
#        OUT=DIR        keep every run's output there (default: a mktemp dir, printed)
#        QUIET_WAIT, QUIET_PCT, RETRIES, OTHER_MAX_PCT   passed to the anchor's bench.sh
# Output: the raw level lines of every run, then a table; the last lines are machine-readable:
#   ratio put c=64 ops_s=3.12 p99_ms=0.80 server_cpu_ms_per_kop=0.41   (troupe / etcd medians)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
TROUPE=$BUILD/bin/troupe
ANCHOR=${ETCD_ANCHOR:-$ROOT/../shared/anchors/etcd}
RUNS=${RUNS:-3}
SCALE=${SCALE:-1}
OUT=${OUT:-$(mktemp -d /tmp/troupe-vs-etcd.XXXXXX)}
mkdir -p "$OUT"

[[ -x $TROUPE ]] || { echo "bench-kv-vs-etcd: $TROUPE not built (make build)" >&2; exit 2; }
[[ -x $ANCHOR/bench.sh ]] || { echo "bench-kv-vs-etcd: no etcd anchor at $ANCHOR" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench-kv-vs-etcd: RUNS must be a positive integer" >&2; exit 2; }

echo "# $RUNS interleaved runs each, SCALE=$SCALE, raw output in $OUT" >&2
for ((run = 1; run <= RUNS; run++)); do
  echo "## run $run/$RUNS: etcd" >&2
  OUT="$OUT/etcd-$run.raw" SCALE=$SCALE FSYNC_SECS=0 "$ANCHOR/bench.sh" >"$OUT/etcd-$run.txt" 2>"$OUT/etcd-$run.err" || {
    echo "etcd run $run failed; see $OUT/etcd-$run.err" >&2; exit 1; }
  grep -E '^etcd (put|get|range) ' "$OUT/etcd-$run.txt" | tee -a "$OUT/all.txt"
  echo "## run $run/$RUNS: troupe" >&2
  "$TROUPE" bench kv --scale="$SCALE" >"$OUT/troupe-$run.txt" 2>"$OUT/troupe-$run.err" || {
    echo "troupe run $run failed; see $OUT/troupe-$run.err" >&2; exit 1; }
  grep -E '^troupe (put|get) ' "$OUT/troupe-$run.txt" | tee -a "$OUT/all.txt"
done

# Medians per (system, level, field), then ratios troupe/etcd.
awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    if (n == 0) return ""
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    sys = $1; kind = ($2 == "range") ? "get" : $2; c = ""
    for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    level = kind " c=" v["c"]
    if (!(level in seen)) { seen[level] = 1; order[++nlevels] = level }
    for (f in want) if (v[f] != "" && v[f] != "na") vals[sys, level, f] = vals[sys, level, f] " " v[f]
    delete v
  }
  BEGIN { want["ops_s"]; want["p99_ms"]; want["server_cpu_ms_per_kop"] }
  END {
    printf "\n%-11s %12s %12s %7s   %10s %10s %6s   %12s %12s %6s\n", "level", "etcd ops/s", "troupe ops/s", "ratio",
           "etcd p99", "troupe p99", "ratio", "etcd cpu/k", "troupe cpu/k", "ratio"
    for (k = 1; k <= nlevels; k++) {
      l = order[k]
      for (f in want) { e[f] = median(vals["etcd", l, f]); t[f] = median(vals["troupe", l, f]); r[f] = (e[f] > 0 && t[f] != "") ? t[f] / e[f] : "na" }
      printf "%-11s %12.0f %12.0f %7s   %10.2f %10.2f %6s   %12.1f %12.1f %6s\n", l, e["ops_s"], t["ops_s"],
             fmt(r["ops_s"]), e["p99_ms"], t["p99_ms"], fmt(r["p99_ms"]), e["server_cpu_ms_per_kop"],
             t["server_cpu_ms_per_kop"], fmt(r["server_cpu_ms_per_kop"])
      lines[k] = sprintf("ratio %s ops_s=%s p99_ms=%s server_cpu_ms_per_kop=%s", l, fmt(r["ops_s"]), fmt(r["p99_ms"]),
                         fmt(r["server_cpu_ms_per_kop"]))
    }
    print "(medians of each system over the runs; ratio = troupe / etcd; cpu/k = server CPU ms per 1,000 ops)"
    print "=== ratios (machine-readable) ==="
    for (k = 1; k <= nlevels; k++) print lines[k]
  }
  function fmt(x) { return (x == "na") ? "na" : sprintf("%.2f", x) }
' "$OUT/all.txt"
