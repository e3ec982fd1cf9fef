#!/usr/bin/env python3
"""A `command` adapter for tests/report.rs that always chooses the first option shown: an
answerer ruled by position, whose twins always flip."""

import json
import sys

for line in sys.stdin:
    request = json.loads(line)
    sys.stdout.write(json.dumps({"id": request["id"], "choice": 0, "raw": "A"}) + "\n")
    sys.stdout.flush()
