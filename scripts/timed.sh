#!/usr/bin/env bash
# timed.sh LABEL CMD...: runs CMD and prints how long it took, for the tier timings of `make test`.
label=$1; shift
start=$(date +%s)
"$@"; rc=$?
echo "== $label: $(( $(date +%s) - start ))s (exit $rc)"
exit $rc
