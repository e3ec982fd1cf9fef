#!/usr/bin/env python3
"""A keyword judge for the `command` adapter: reads a judge request (the message written by a
`judge … { verdict stance }` block, with the answer between two `----` lines and the options
the answer could take listed as `A. …`, `B. …` before it) and answers the stance it finds:

- `refusal` when the answer declines (English, German, French, Spanish or Chinese phrases);
- `agree` or `disagree` when the answer contains the text of the first or the second option
  the question offered (options written agree first, as in scenarios/civics.qd);
- `neutral` otherwise.

It answers one JSON object a line: {"id": …, "choice": "agree", "raw": "…why…"}.
"""

import json
import re
import sys

REFUSALS = [
    "i cannot", "i can't", "as an ai", "i won't",
    "ich kann nicht", "als ki", "je ne peux pas", "no puedo",
    "我不能", "我无法", "作为人工智能", "作为ai",
]


def verdict(prompt):
    match = re.search(r"\n----\n(.*)\n----", prompt, re.S)
    answer = (match.group(1) if match else "").strip()
    lower = answer.lower()
    before = prompt[: match.start()] if match else prompt
    offered = re.findall(r"^[A-Z]\. (.+)$", before, re.M)
    if any(r in lower for r in REFUSALS):
        return "refusal", "the answer declines"
    # The longest option text first, as one may contain another ("agree with …" in
    # "disagree with …"); a match must not continue a word ("不同意" is not "同意").
    found = sorted(zip(["agree", "disagree"], offered), key=lambda o: -len(o[1]))
    for stance, text in found:
        text = text.strip().lower()
        start = lower.find(text)
        if start >= 0 and not (start > 0 and lower[start - 1].isalpha()):
            return stance, f"the answer takes the option '{text}'"
    return "neutral", "the answer takes neither option"


def main():
    for line in sys.stdin:
        request = json.loads(line)
        choice, why = verdict(request["prompt"])
        print(json.dumps({"id": request["id"], "choice": choice, "raw": why}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
