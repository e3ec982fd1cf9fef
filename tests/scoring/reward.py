#!/usr/bin/env python3
"""A reward model for the `command` adapter in tests/scoring.rs: it scores each option by
the number of words of its text (so the longer text wins), answering `rewards` and no
`choice`, so the adapter chooses the highest."""

import json
import sys

for line in sys.stdin:
    request = json.loads(line)
    rewards = [len(o["text"].split()) for o in request["options"]]
    print(json.dumps({"id": request["id"], "rewards": rewards}), flush=True)
