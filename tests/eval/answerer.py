#!/usr/bin/env python3
"""A program for the `command` adapter in tests/eval.rs.

It picks, for every request, the option at position (sum of the bytes of the scenario id
and the steer id) modulo the number of options, so the tests can work out every choice.

    answerer.py good      JSON answers, the choice as a label, an action id or a position
    answerer.py bare      bare labels
    answerer.py reverse   waits until no request has come for 0.2 s, then answers the
                          requests it holds last first (run with --concurrency above 1)
    answerer.py lang      reasons in the request's language and ends with its final answer
                          there ("最终答案：Ｂ" in full-width forms, "Endgültige Antwort: B");
                          in German it refuses every scenario whose pick is 0 ("Als KI
                          kann ich mich nicht entscheiden."); it logs each request's
                          language, system prompt and prompt as JSON

Environment (not part of the command line, so the adapter's fingerprint stays the same):

    QUANDARY_TEST_COUNTER     a file: "start" is appended when the program starts and
                              "ask SCENARIO" for every request
                              ("ask SCENARIO epoch N" past the first epoch)
    QUANDARY_TEST_DELAY       seconds to wait before each answer
    QUANDARY_TEST_GARBAGE     when set, answers garbage to every third request
    QUANDARY_TEST_CRASH_AFTER exits with status 3 after this many answers
"""

import json
import os
import queue
import sys
import threading
import time

MODE = sys.argv[1] if len(sys.argv) > 1 else "good"
COUNTER = os.environ.get("QUANDARY_TEST_COUNTER")
DELAY = float(os.environ.get("QUANDARY_TEST_DELAY") or 0)
GARBAGE = bool(os.environ.get("QUANDARY_TEST_GARBAGE"))
CRASH_AFTER = os.environ.get("QUANDARY_TEST_CRASH_AFTER")
CRASH_AFTER = int(CRASH_AFTER) if CRASH_AFTER else None

answered = 0


def log(line):
    if COUNTER:
        with open(COUNTER, "a") as f:
            f.write(line + "\n")


def asking(request):
    epoch = request.get("epoch")
    return "ask " + request["scenario"] + (f" epoch {epoch}" if epoch is not None else "")


def pick(request):
    key = request["scenario"] + (request["steer"] or "")
    return sum(key.encode()) % len(request["options"])


def answer(request):
    global answered
    if CRASH_AFTER is not None and answered >= CRASH_AFTER:
        sys.stderr.write(f"boom: crashed after {answered} answers\n")
        sys.stderr.flush()
        sys.exit(3)
    if DELAY:
        time.sleep(DELAY)
    i = pick(request)
    option = request["options"][i]
    if GARBAGE and sum(request["scenario"].encode()) % 3 == 0:
        line = "the moon is made of cheese"
    elif MODE == "lang":
        log(json.dumps({k: request.get(k) for k in ("lang", "system", "prompt")}, ensure_ascii=False))
        lang = request.get("lang")
        if lang == "zh":
            # The label in full-width form, as Chinese text often writes it.
            wide = "".join(chr(ord(c) + 0xFEE0) for c in option["label"])
            raw = "让我想一想。\n\n最终答案：" + wide
        elif lang == "de" and i == 0:
            raw = "Als KI kann ich mich nicht entscheiden."
        elif lang == "de":
            raw = "Ich wäge ab.\n\nEndgültige Antwort: " + option["label"]
        else:
            raw = "Final answer: " + option["label"]
        line = json.dumps({"id": request["id"], "raw": raw}, ensure_ascii=False)
    elif MODE == "bare":
        line = option["label"]
    else:
        # Name the choice in one of three ways; every one means the same option.
        choice = [option["label"], option["action"], i][request["id"] % 3]
        line = json.dumps(
            {
                "id": request["id"],
                "choice": choice,
                "raw": "I choose " + option["label"],
                "tokens": {"prompt": len(request["prompt"]) // 4, "completion": 3},
            }
        )
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    answered += 1


def main():
    log("start")
    if MODE == "reverse":
        lines = queue.Queue()

        def read():
            while True:
                line = sys.stdin.readline()
                lines.put(line or None)
                if not line:
                    return

        threading.Thread(target=read, daemon=True).start()
        held = []
        done = False
        while not done:
            try:
                line = lines.get(timeout=0.2)
                if line is None:
                    done = True
                else:
                    request = json.loads(line)
                    log(asking(request))
                    held.append(request)
                    continue
            except queue.Empty:
                pass
            if len(held) > 1:
                sys.stderr.write(f"answering {len(held)} at once, last first\n")
                sys.stderr.flush()
            for request in reversed(held):
                answer(request)
            held = []
        return
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        request = json.loads(line)
        log(asking(request))
        answer(request)


if __name__ == "__main__":
    main()
