#!/usr/bin/env bash
# Alternated A/B run of the issuance benchmarks on two release builds of
# the benchmark executable (build each with
#   swift build -c release --product IssuanceBenchmark
# at the commit to compare, and copy .build/release/IssuanceBenchmark away).
#
#   Benchmarks/Issuance/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
#
# Runs the executables directly (no plugin, no rebuild between runs), in the
# order old, new, old, new, …, and prints per run the mean of
# "certs/s (durable)" for the worker and the pipeline case, then the mean of
# the runs for each side. The benchmark library's interposer must be on
# LD_LIBRARY_PATH (it is next to the plugin's build:
# .build/release/libMallocInterposerSwift.so, or set BENCH_LIB).
set -euo pipefail
old=$1 new=$2 rounds=${3:-4}
lib=${BENCH_LIB:-$(dirname "$(find .build -name libMallocInterposerSwift.so -path '*release*' | head -1)")}
filters=('Worker.*P-256 CA, SQLite' 'Issue 512 submitted requests, ECDSA P-256 CA, SQLite')
declare -A sum count
metric() { awk -v want="$1" '$0 == want":" {found=1; next} found && /#\[Mean/ {gsub(/,/,""); print $3; exit}'; }
for round in $(seq "$rounds"); do
  for side in old new; do
    binary=${!side}
    for filter in "${filters[@]}"; do
      output=$(LD_LIBRARY_PATH=$lib "$binary" --filter "$filter" 2>&1 | tr -d '\r')
      value=$(metric "certs/s (durable)" <<<"$output")
      echo "round $round $side [$filter] certs/s (durable) mean $value"
      sum["$side|$filter"]=$(echo "${sum["$side|$filter"]:-0} + $value" | bc)
      count["$side|$filter"]=$(( ${count["$side|$filter"]:-0} + 1 ))
    done
  done
done
for filter in "${filters[@]}"; do
  o=$(echo "scale=1; ${sum["old|$filter"]} / ${count["old|$filter"]}" | bc)
  n=$(echo "scale=1; ${sum["new|$filter"]} / ${count["new|$filter"]}" | bc)
  echo "[$filter] old $o new $n new/old $(echo "scale=3; $n / $o" | bc)"
done
