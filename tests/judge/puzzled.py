#!/usr/bin/env python3
"""A judge for the `command` adapter that answers no request as the protocol asks: text
without a `choice`, so the judge pass records each answer as an `error`."""

import json
import sys

for line in sys.stdin:
    request = json.loads(line)
    print(json.dumps({"id": request.get("id"), "text": "I cannot tell what this answer says."}), flush=True)
