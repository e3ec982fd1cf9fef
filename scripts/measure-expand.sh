#!/usr/bin/env bash
# Prints wall time and peak memory of `quandary expand`: 10 million scenarios of the
# benchmark template to /dev/null (streaming: memory must not grow with the count), and the
# 400,000 rule-pair scenarios of scenarios/cvc_rules.qd, each on 1 and 2 threads.
#   usage: scripts/measure-expand.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
big=$(mktemp --suffix=.qd)
trap 'rm -f "$big"' EXIT
sed 's/^  count 100000$/  count 10000000/' benches/data/floor.qd > "$big"
for threads in 1 2; do
  /usr/bin/time -f "10M scenarios, $threads thread(s): wall %e s, peak RSS %M KiB" \
    target/release/quandary expand "$big" --threads "$threads" 2>&1 >/dev/null | tail -1
done
for threads in 1 2; do
  /usr/bin/time -f "cvc_rules (400,000 rule pairs), $threads thread(s): wall %e s, peak RSS %M KiB" \
    target/release/quandary expand scenarios/cvc_rules.qd --threads "$threads" 2>&1 >/dev/null | tail -1
done
