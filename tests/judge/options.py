#!/usr/bin/env python3
"""A judge for `verdict actions` through the `command` adapter, in tests/judge.rs: reads the
answer between the `----` lines of the request's prompt and takes the option (of the
request's `options`) whose text it contains, the longest text first; none: `null`."""

import json
import re
import sys

for line in sys.stdin:
    request = json.loads(line)
    match = re.search(r"\n----\n(.*)\n----", request["prompt"], re.S)
    answer = (match.group(1) if match else "").lower()
    choice = None
    for option in sorted(request["options"], key=lambda o: -len(o["text"])):
        text = option["text"].lower()
        at = answer.find(text)
        if at >= 0 and not (at > 0 and answer[at - 1].isalpha()):
            choice = option["label"]
            break
    print(json.dumps({"id": request["id"], "choice": choice}), flush=True)
