#!/usr/bin/env bash
# Prints the decisions per second of `quandary eval` with the in-process profile agent
# (`--adapter profile:care_and_fairness`) on SCENARIOS scenarios of scenarios/everyday.qd,
# end to end (reading the suite, asking, writing the results journal): the median of
# ROUNDS runs, with the wall time of expanding the same suite for comparison. Give another
# binary as QUANDARY_BASE=path to compare (for example a build of an earlier version): its
# runs alternate with those of this one, and the two journals and summaries are compared,
# which must be the same but for the time each decision took (`latency_ms`) and the run's
# seconds.
#   usage: scripts/measure-eval.sh [SCENARIOS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios=${1:-100000}
rounds=${2:-5}
cargo build --release --quiet --bin quandary
head=$PWD/target/release/quandary
base=${QUANDARY_BASE:+$(realpath "$QUANDARY_BASE")}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
suite=$dir/suite.jsonl

seconds() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f\n", e - s }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Twins double the count.
start=$(date +%s.%N)
"$head" expand "$PWD/scenarios/everyday.qd" --count $((scenarios / 2)) -o "$suite" 2>/dev/null
expanded=$(seconds "$start" "$(date +%s.%N)")

# `eval` of the suite by BINARY into NAME/results.jsonl (its summary in NAME.out); prints
# its wall time and its processor time (user and system) in seconds. Processor time moves
# less than wall time when other work shares the machine.
run() {
  local binary=$1 name=$2
  mkdir -p "$dir/$name"
  rm -f "$dir/$name/results.jsonl"
  local TIMEFORMAT='%R %U %S'
  { time (cd "$dir/$name" && "$binary" eval "$suite" --adapter profile:care_and_fairness \
    -o results.jsonl >"$dir/$name.out" 2>&1) || { cat "$dir/$name.out" >&2; exit 1; }; } \
    2>&1 | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }'
}

: >"$dir/head.times"
: >"$dir/base.times"
for _ in $(seq "$rounds"); do
  run "$head" head >>"$dir/head.times"
  if [ -n "$base" ]; then
    run "$base" base >>"$dir/base.times"
  fi
done
echo "$scenarios scenarios, median of $rounds runs; expand wrote them in $expanded s"
# The medians of the wall times and of the processor times.
report() {
  local wall cpu
  wall=$(cut -d' ' -f1 <"$2" | median)
  cpu=$(cut -d' ' -f2 <"$2" | median)
  awk -v n="$scenarios" -v w="$wall" -v c="$cpu" -v who="$1" 'BEGIN {
    printf "%-15s %8.0f decisions/s (%.3f s); %8.0f decisions per processor-second (%.3f s)\n",
      who, n / w, w, n / c, c }'
}
report "this build:" "$dir/head.times"
if [ -n "$base" ]; then
  report "QUANDARY_BASE:" "$dir/base.times"
  # The time a decision took, and the run's seconds, are all that may differ.
  for name in head base; do
    sed -E 's/"latency_ms":[^,]*,/"latency_ms":0,/' "$dir/$name/results.jsonl" >"$dir/$name.same"
    sed -E 's/[0-9]+\.[0-9]+ s;/N s;/' "$dir/$name.out" >"$dir/$name.said"
  done
  if cmp -s "$dir/head.same" "$dir/base.same" && cmp -s "$dir/head.said" "$dir/base.said"; then
    echo "journals and summaries: the same (but for latency_ms and the run's seconds)"
  else
    echo "journals or summaries DIFFER" >&2
    cmp "$dir/head.same" "$dir/base.same" >&2 || true
    diff "$dir/head.said" "$dir/base.said" >&2 || true
    exit 1
  fi
fi
