#!/usr/bin/env bash
# Prints wall time and peak memory of `quandary report` on a million results with 1,000
# bootstrap resamples: 500,000 dilemmas of scenarios/everyday.qd and their twins, answered by
# the suite's profile at temperature 0.5 (the inputs of benches/report.rs, made once into
# target/bench-report/), then of `quandary report --format html`.
#   usage: scripts/measure-report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
dir=target/bench-report
mkdir -p "$dir"
if [ ! -s "$dir/measure.results.jsonl" ]; then
  target/release/quandary expand scenarios/everyday.qd --count 500000 -o "$dir/measure.suite.jsonl" 2>/dev/null
  target/release/quandary eval "$dir/measure.suite.jsonl" --temperature 0.5 --adapter-seed 1 \
    -o "$dir/measure.results.jsonl" 2>/dev/null
fi
for format in json html; do
  /usr/bin/time -f "report --format $format, 1,000,000 results, 1,000 resamples: wall %e s (user %U s, sys %S s), peak RSS %M KiB" \
    target/release/quandary report "$dir/measure.results.jsonl" --resamples 1000 --format "$format" \
    -o "$dir/measure.report.$format" 2>&1 | tail -1
done
