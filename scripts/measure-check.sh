#!/usr/bin/env bash
# Prints the wall time and peak memory of `quandary check` on a generated CVC-scale
# framework (50 derived values, 250,000 rules by default).
#   usage: scripts/measure-check.sh [RULES]
set -euo pipefail
cd "$(dirname "$0")/.."
rules=${1:-250000}
cargo build --release --quiet
file=$(mktemp --suffix=.qd)
trap 'rm -f "$file"' EXIT
python3 scripts/gen_cvc_scale.py "$rules" > "$file"
echo "input: $rules rules, $(du -h "$file" | cut -f1)"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" target/release/quandary check "$file"
