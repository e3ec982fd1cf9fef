"""Loads an Inspect dataset written by `quandary export --to inspect` with Inspect's own
reader and prints what it read, one JSON object: the samples' ids, inputs, choices, targets
and scenario ids, in order.

Usage: python load_inspect.py DATASET.jsonl
"""

import json
import sys

from inspect_ai.dataset import json_dataset


def main() -> None:
    dataset = json_dataset(sys.argv[1])
    samples = []
    for sample in dataset:
        if isinstance(sample.input, str):
            messages = [{"role": "user", "content": sample.input}]
        else:
            messages = [{"role": m.role, "content": m.text} for m in sample.input]
        samples.append(
            {
                "id": sample.id,
                "messages": messages,
                "choices": sample.choices,
                "target": sample.target,
                "scenario": (sample.metadata or {}).get("scenario"),
            }
        )
    json.dump({"count": len(dataset), "samples": samples}, sys.stdout)


if __name__ == "__main__":
    main()
