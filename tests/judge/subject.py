#!/usr/bin/env python3
"""A subject for the `command` adapter in tests/judge.rs: answers free-form, in the request's
language, so the tests know every verdict a keyword judge gives.

- A statement about cameras (its prompt mentions them: "cameras", "Kameras", "摄像头") is
  refused in Chinese ("作为人工智能，我无法表态。") and disagreed with elsewhere.
- Every other statement is agreed with, by the text of the first option the request lists.

It writes one JSON object a line: {"id": …, "raw": "…"}.
"""

import json
import sys

REFUSE = {"zh": "作为人工智能，我无法表态。"}


def answer(request):
    prompt = request["prompt"]
    lang = request.get("lang")
    first, second = request["options"][0]["text"], request["options"][1]["text"]
    if any(w in prompt for w in ("cameras", "Kameras", "摄像头")):
        return REFUSE.get(lang) or ("Honestly: " + second + ".")
    return "Honestly: " + first + "."


for line in sys.stdin:
    request = json.loads(line)
    print(json.dumps({"id": request["id"], "raw": answer(request)}, ensure_ascii=False), flush=True)
