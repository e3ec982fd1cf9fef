#!/usr/bin/env bash
# Prints the time `quandary check` and `quandary fmt` take to report a file of BLOCKS
# syntax errors (each a line ` care "Care"` after a value and a profile: a name expected,
# a string found), and their peak memory. Each error's excerpt and line must cost the
# size of its own lines, not the size of the file before it: the time grows with the
# number of errors, not with its square. Give another binary as QUANDARY_BASE=path to
# time it beside this one (their reports must be the same).
#   usage: scripts/measure-errors.sh [BLOCKS]
set -euo pipefail
cd "$(dirname "$0")/.."
blocks=${1:-4000}
cargo build --release --quiet --bin quandary
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file="$dir/errors.qd"
for _ in $(seq "$blocks"); do
  printf 'value care "Care"\nprofile p "P" {\n  care 0.7\n}\n care "Care"\n'
done >"$file"
echo "input: $blocks syntax errors, $(du -h "$file" | cut -f1)"
for who in head ${QUANDARY_BASE:+base}; do
  binary=target/release/quandary
  if [ "$who" = base ]; then binary=$QUANDARY_BASE; fi
  for command in check fmt; do
    /usr/bin/time -o "$dir/time" -f "%e %M" "$binary" "$command" "$file" \
      >/dev/null 2>"$dir/$command.$who.err" || true
    # The last line: a failing command has "Command exited with non-zero status" first.
    read -r wall rss < <(tail -1 "$dir/time")
    printf '%-24s %-5s %6.2f s, peak %4.0f MB, %s errors reported\n' "$binary" "$command" \
      "$wall" "$((rss / 1024))" "$(grep -c '^Q0' "$dir/$command.$who.err")"
  done
done
if [ -n "${QUANDARY_BASE:-}" ]; then
  for command in check fmt; do
    if cmp -s "$dir/$command.head.err" "$dir/$command.base.err"; then
      echo "$command: the same report"
    else
      echo "$command: the reports differ" >&2
      exit 1
    fi
  done
fi
