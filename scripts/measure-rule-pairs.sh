#!/usr/bin/env bash
# Prints wall time and peak memory for rule pairs drawn from generated CVC-scale frameworks
# (`gen_cvc_scale.py N --pairs`: 50 derived values in 50 conflicts, N rules upholding 2–3 of
# them: about N²/8.5 candidate pairs, 7.4 billion at 250k), at each size given (default 20k,
# 50k, 100k, 250k):
#   - `check` of the framework alone (parse, resolve, check: no pick),
#   - `check` of the suite that imports it and draws rule pairs (the same, plus indexing the
#     candidates of its two `rule_conflicts` picks),
#   - `expand` of the suite's 400,000 rule-pair scenarios to /dev/null on 2 threads.
# Memory must not grow with the number of pairs, only with the rules. `cargo bench --bench
# rule_pairs` splits the time at 250k rules into parsing, loading, indexing and drawing.
#   usage: scripts/measure-rule-pairs.sh [RULES …]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(20000 50000 100000 250000)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
q=target/release/quandary
for n in "${sizes[@]}"; do
  rm -f "$dir"/*.qd
  python3 scripts/gen_cvc_scale.py "$n" --pairs "$dir"
  echo "$n rules ($(du -h "$dir/big.qd" | cut -f1)):"
  /usr/bin/time -f "  check, framework alone:        wall %e s, peak RSS %M KiB" \
    "$q" check "$dir/big.qd"
  /usr/bin/time -f "  check, rule_conflicts() suite: wall %e s, peak RSS %M KiB" \
    "$q" check "$dir/pairs.qd"
  /usr/bin/time -f "  expand, 400,000 rule pairs, 2 threads: wall %e s, peak RSS %M KiB" \
    "$q" expand "$dir/pairs.qd" --threads 2 2>&1 >/dev/null | tail -1
done
