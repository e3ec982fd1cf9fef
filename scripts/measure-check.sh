#!/usr/bin/env bash
# Prints the wall time and peak memory of `quandary check` on a generated CVC-scale
# framework (50 derived values, 250,000 rules by default). With `--pairs`, the framework has
# 50 conflicts between derived values and is checked through a file that imports it and
# draws rule pairs from it with `rule_conflicts(…)` (`gen_cvc_scale.py N --pairs`).
#   usage: scripts/measure-check.sh [RULES] [--pairs]
set -euo pipefail
cd "$(dirname "$0")/.."
rules=${1:-250000}
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if [ "${2:-}" = "--pairs" ]; then
  python3 scripts/gen_cvc_scale.py "$rules" --pairs "$dir"
  file="$dir/pairs.qd"
  echo "input: $rules rules in 50 value conflicts, $(du -h "$dir/big.qd" | cut -f1), and a rule_conflicts() suite"
else
  file="$dir/big.qd"
  python3 scripts/gen_cvc_scale.py "$rules" > "$file"
  echo "input: $rules rules, $(du -h "$file" | cut -f1)"
fi
size=$(stat -c %s "${dir}/big.qd")
/usr/bin/time -o "$dir/time" -f "%e %U %S %M" target/release/quandary check "$file"
read -r wall user sys rss <"$dir/time"
awk -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v b="$size" 'BEGIN {
  printf "wall %.2f s (user %.2f s, sys %.2f s), %.1f MB/s, peak RSS %.0f MB (%.1f× the input)\n",
    w, u, s, b / 1e6 / (w > 0 ? w : 0.01), r / 1024, r * 1024 / b }'
