#!/usr/bin/env bash
# Prints, for every suite shipped in scenarios/, expanded to 1,000,000 scenarios: the
# distinct bindings, the lines that repeat a binding already written (in all, and before
# the last new binding appears, i.e. while bindings were still unused), the distinct ids,
# and the wall time and peak memory of `expand` on 2 threads. Give another binary as
# QUANDARY=... to compare (for example a build of an earlier version).
#   usage: scripts/measure-repeats.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
if [ -z "${QUANDARY:-}" ]; then
  cargo build --release --quiet
  QUANDARY=target/release/quandary
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for file in scenarios/*.qd; do
  for suite in $(grep -o '^suite [a-z_0-9]*' "$file" | cut -d' ' -f2); do
    stats=$( { /usr/bin/time -f "%e s, peak RSS %M KiB" \
      "$QUANDARY" expand "$file" --suite "$suite" --count "$count" --threads 2 -o "$out" \
      2>&1 >/dev/null; } | tail -1 )
    python3 - "$out" "$file" "$suite" "$stats" <<'PY'
import hashlib, json, sys
path, file, suite, stats = sys.argv[1:]
seen, ids, lines, repeats, early = set(), set(), 0, 0, 0
with open(path, encoding="utf-8") as f:
    next(f)
    for line in f:
        d = json.loads(line)
        lines += 1
        # A binding is the template and its bindings; a twin is the same binding.
        key = hashlib.blake2b(
            json.dumps([d["template"], d["bindings"], d.get("part"), d.get("persona")],
                       sort_keys=True).encode(), digest_size=16).digest()
        if d.get("twin_group") and d["twin_group"] != d["id"]:
            pass
        elif key in seen:
            repeats += 1
        else:
            seen.add(key)
            # Repeats so far came while bindings were still unused.
            early = repeats
        ids.add(d["id"])
per = early / max(lines, 1) * 1_000_000
print(f"{file} {suite}: {lines} lines, {len(seen)} distinct bindings, {repeats} lines repeat "
      f"one, {early} of them before the last new binding ({per:.0f} per 1,000,000 lines); "
      f"{len(ids)} distinct ids; expand {stats}")
PY
  done
done
