#!/usr/bin/env bash
# Measures `quandary lsp` as an editor meets it:
#  1. diagnostics after a change of scenarios/everyday.qd (with what it imports): the time
#     from didChange to the publishDiagnostics of the new version, over 30 changes;
#  2. a generated CVC-scale framework (250,000 rules by default, scripts/gen_cvc_scale.py):
#     the time to its first diagnostics, and how long requests (hover, completion,
#     documentSymbol on a small open file) wait while it is analysed after an edit.
#   usage: scripts/measure-lsp.sh [RULES]        (BIN=path/to/quandary to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
rules=${1:-250000}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/quandary
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 scripts/gen_cvc_scale.py "$rules" > "$dir/big.qd"
printf 'value a "A"\nvalue b "B"\nconflict a <> b\n' > "$dir/small.qd"
echo "input: scenarios/everyday.qd ($(wc -c < scenarios/everyday.qd) bytes); $rules rules, $(du -h "$dir/big.qd" | cut -f1)"
python3 - "$BIN" "$PWD/scenarios/everyday.qd" "$dir/big.qd" "$dir/small.qd" <<'PY'
import json, subprocess, sys, threading, queue, time, statistics

binary, everyday, big, small = sys.argv[1:5]
p = subprocess.Popen([binary, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
inbox = queue.Queue()

def reader():
    out = p.stdout
    while True:
        length = None
        while True:
            line = out.readline()
            if not line:
                return
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        inbox.put((time.perf_counter(), json.loads(out.read(length))))

threading.Thread(target=reader, daemon=True).start()
next_id = [0]

def send(msg):
    body = json.dumps(msg).encode()
    p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    p.stdin.flush()

def request(method, params):
    next_id[0] += 1
    send({"jsonrpc": "2.0", "id": next_id[0], "method": method, "params": params})
    return next_id[0]

def wait(pred, timeout=600):
    deadline = time.perf_counter() + timeout
    while True:
        at, m = inbox.get(timeout=max(0.01, deadline - time.perf_counter()))
        if pred(m):
            return at, m

def uri(path):
    return "file://" + path

def is_diag(path, version):
    return lambda m: m.get("method") == "textDocument/publishDiagnostics" and \
        m["params"]["uri"] == uri(path) and m["params"].get("version") == version

i = request("initialize", {"processId": None, "capabilities": {}})
wait(lambda m: m.get("id") == i)
send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

# 1. everyday.qd
text = open(everyday, encoding="utf-8").read()
lines = text.count("\n")
send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
    "uri": uri(everyday), "languageId": "quandary", "version": 1, "text": text}}})
t0 = time.perf_counter()
at, _ = wait(is_diag(everyday, 1))
print(f"everyday.qd: first diagnostics {1000 * (at - t0):.0f} ms after didOpen")
times = []
for v in range(2, 32):
    edit = {"range": {"start": {"line": lines, "character": 0}, "end": {"line": lines, "character": 0}},
            "text": "# edit %d\n" % v}
    t0 = time.perf_counter()
    send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri(everyday), "version": v}, "contentChanges": [edit]}})
    at, _ = wait(is_diag(everyday, v))
    times.append(1000 * (at - t0))
    lines += 1
print(f"everyday.qd: didChange → diagnostics: median {statistics.median(times):.0f} ms, "
      f"max {max(times):.0f} ms over {len(times)} changes (20 ms of it the debounce)")

# 2. the large framework
small_text = open(small).read()
send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
    "uri": uri(small), "languageId": "quandary", "version": 1, "text": small_text}}})
wait(is_diag(small, 1))
big_text = open(big, encoding="utf-8").read()
t0 = time.perf_counter()
send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
    "uri": uri(big), "languageId": "quandary", "version": 1, "text": big_text}}})
sent = time.perf_counter()

def probe():
    """Requests sent one after another while the large file is analysed: their latencies."""
    waits = []
    for k in range(10):
        for method, params in [
            ("textDocument/hover", {"textDocument": {"uri": uri(small)}, "position": {"line": 0, "character": 7}}),
            ("textDocument/completion", {"textDocument": {"uri": uri(small)}, "position": {"line": 2, "character": 0}}),
            ("textDocument/documentSymbol", {"textDocument": {"uri": uri(small)}}),
        ]:
            r0 = time.perf_counter()
            rid = request(method, params)
            at, _ = wait(lambda m: m.get("id") == rid)
            waits.append(1000 * (at - r0))
    return waits

waits = probe()
probed = time.perf_counter()
at, m = wait(is_diag(big, 1))
print(f"big.qd: didOpen sent in {1000 * (sent - t0):.0f} ms; first diagnostics after {at - t0:.1f} s "
      f"({len(m['params']['diagnostics'])} diagnostics)")
print(f"big.qd: {len(waits)} requests during that analysis (all answered {at - probed:.1f} s before it ended): "
      f"median {statistics.median(waits):.1f} ms, max {max(waits):.1f} ms")
# An edit of the large file, then requests while it is analysed again.
t0 = time.perf_counter()
send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
    "textDocument": {"uri": uri(big), "version": 2},
    "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                        "text": "# edited\n"}]}})
waits = probe()
h0 = time.perf_counter()
rid = request("textDocument/hover", {"textDocument": {"uri": uri(big)}, "position": {"line": 6, "character": 20}})
at_h, h = wait(lambda m: m.get("id") == rid)
at, _ = wait(is_diag(big, 2))
print(f"big.qd: after an edit, diagnostics after {at - t0:.1f} s; {len(waits)} requests meanwhile: "
      f"median {statistics.median(waits):.1f} ms, max {max(waits):.1f} ms")
print(f"big.qd: a hover on it during the re-analysis answered in {1000 * (at_h - h0):.1f} ms (from the earlier analysis)")
rid = request("shutdown", None)
wait(lambda m: m.get("id") == rid)
send({"jsonrpc": "2.0", "method": "exit"})
p.wait(timeout=60)
PY
