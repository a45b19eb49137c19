#!/usr/bin/env bash
# Runs every test through CTest, tier by tier, and prints the time each tier took.
# Tiers (CTest labels): unit, scenario, sim, cluster. Cluster tests start real processes and take the
# CTest resource lock "processes", so they never run beside each other.
set -u
build=${1:-build}
cd "$build" || exit 2
export PATH="$PWD/tools:$PATH"   # promtool, unpacked by install-deps.sh

total_pass=0; total_fail=0; failed_tiers=()
for tier in unit scenario sim cluster; do
  count=$(ctest -N -L "^${tier}\$" | sed -n 's/^Total Tests: //p')
  if [ "${count:-0}" -eq 0 ]; then
    echo "== tier $tier: no tests"
    continue
  fi
  start=$(date +%s)
  ctest -L "^${tier}\$" -j2 --output-on-failure --no-tests=error > "ctest-$tier.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  tail -n 40 "ctest-$tier.log" | sed -n '/tests passed/,$p'
  grep -E '(Failed|Timeout|Exception|\*\*\*)' "ctest-$tier.log" | grep -v 'tests failed' | head -20
  pass=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "ctest-$tier.log")
  fail=$(( count - pass ))
  total_pass=$(( total_pass + pass )); total_fail=$(( total_fail + fail ))
  echo "== tier $tier: $pass passed, $fail failed in ${secs}s"
  [ $rc -ne 0 ] && failed_tiers+=("$tier")
done
echo
if [ ${#failed_tiers[@]} -gt 0 ]; then
  echo "failed tiers: ${failed_tiers[*]} (logs: $build/ctest-<tier>.log)"
fi
echo "tests: $total_pass passed, $total_fail failed"
[ ${#failed_tiers[@]} -eq 0 ]
