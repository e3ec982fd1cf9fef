#!/usr/bin/env bash
# Prints the decisions per second of `quandary eval --adapter openai` against a server on
# 127.0.0.1 that answers at once (examples/chat_stub.rs), at concurrency 1, 4, 16 and 64:
# the median of ROUNDS runs of DECISIONS requests each (no response cache), and the threads
# the run started (clone calls, counted by strace when it is installed, over 2,000
# requests at concurrency 1). Beside them, the floor: the same requests from as many
# threads with a bare HTTP client (examples/http_floor.rs), which shows what blocking
# threads on this machine's processors do at each concurrency without quandary's work.
# Give another binary as QUANDARY_BASE=path to compare (for example a build of an earlier
# version): its runs alternate with those of this one.
# With PIN=1 the stub runs on processor 0 and the clients on the others (taskset): the
# stub then has a processor of its own, so the figures are the clients' alone. Unpinned, a
# single-threaded stub competes with every runnable client thread for the same processors,
# and at concurrency 64 it gets a smaller share: part of the fall-off from 16 to 64 seen
# unpinned is the stub's, not the client's.
#   usage: [PIN=1] scripts/measure-http.sh [DECISIONS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
decisions=${1:-20000}
rounds=${2:-5}
cargo build --release --quiet --bin quandary --example chat_stub --example http_floor
head=target/release/quandary
base=${QUANDARY_BASE:-}
dir=$(mktemp -d)
stub=
cleanup() {
  if [ -n "$stub" ]; then kill "$stub" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
# The stub stops by itself after an hour at most.
# With PIN=1: the stub's processor, and the clients'.
server=()
client=()
pinned=
if [ "${PIN:-}" = 1 ]; then
  cpus=$(nproc)
  if [ "$cpus" -lt 2 ]; then
    echo "PIN=1 needs two processors; this machine has $cpus" >&2
    exit 2
  fi
  server=(taskset -c 0)
  client=(taskset -c "1-$((cpus - 1))")
  pinned=" (stub on processor 0, clients on the others)"
fi
"${server[@]}" target/release/examples/chat_stub --for 3600 >"$dir/url" &
stub=$!
for _ in $(seq 100); do
  [ -s "$dir/url" ] && break
  sleep 0.1
done
url=$(head -1 "$dir/url")
# Twins double the count: DECISIONS scenarios, and 2,000 for counting threads.
"$head" expand scenarios/everyday.qd --count $((decisions / 2)) -o "$dir/suite.jsonl" 2>/dev/null
"$head" expand scenarios/everyday.qd --count 1000 -o "$dir/small.jsonl" 2>/dev/null

# `eval` of SUITE by BINARY at CONCURRENCY; prints its wall time in seconds.
run() {
  local binary=$1 concurrency=$2 suite=$3
  rm -f "$dir/results.jsonl"
  local start end
  start=$(date +%s.%N)
  env -u OPENAI_API_KEY "${client[@]}" "$binary" eval "$suite" --adapter openai --model stub \
    --base-url "$url" --no-cache --concurrency "$concurrency" -o "$dir/results.jsonl" \
    >/dev/null 2>"$dir/stderr" || { cat "$dir/stderr" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$start $end" | awk '{ printf "%.3f\n", $2 - $1 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Clone calls (threads and processes started) of one run of 2,000 requests at concurrency 1.
clones() {
  local binary=$1
  if ! command -v strace >/dev/null; then
    echo "n/a (no strace)"
    return
  fi
  rm -f "$dir/results.jsonl"
  env -u OPENAI_API_KEY strace -f -c -o "$dir/strace" -e trace=clone,clone3 "$binary" eval \
    "$dir/small.jsonl" --adapter openai --model stub --base-url "$url" --no-cache \
    --concurrency 1 -o "$dir/results.jsonl" >/dev/null 2>&1
  awk '/clone/ { n += $4 } END { print n + 0 }' "$dir/strace"
}

echo "$decisions decisions a run, median of $rounds runs, stub at $url$pinned"
for concurrency in 1 4 16 64; do
  : >"$dir/head.times"
  : >"$dir/base.times"
  : >"$dir/floor.rates"
  for _ in $(seq "$rounds"); do
    run "$head" "$concurrency" "$dir/suite.jsonl" >>"$dir/head.times"
    if [ -n "$base" ]; then
      run "$base" "$concurrency" "$dir/suite.jsonl" >>"$dir/base.times"
    fi
    "${client[@]}" target/release/examples/http_floor "$url" "$concurrency" "$decisions" \
      >>"$dir/floor.rates"
  done
  line=$(median <"$dir/head.times" | awk -v n="$decisions" -v c="$concurrency" \
    '{ printf "concurrency %2d: this build %6.0f decisions/s", c, n / $1 }')
  if [ -n "$base" ]; then
    line+=$(median <"$dir/base.times" | awk -v n="$decisions" \
      '{ printf ", QUANDARY_BASE %6.0f decisions/s", n / $1 }')
  fi
  line+=$(median <"$dir/floor.rates" | awk '{ printf "; floor (bare client) %6.0f/s", $1 }')
  echo "$line"
done
line="clone calls over 2,000 requests at concurrency 1: this build $(clones "$head")"
if [ -n "$base" ]; then
  line+=", QUANDARY_BASE $(clones "$base")"
fi
echo "$line"
