#!/usr/bin/env python3
"""Writes a CVC-scale framework: 3 dimensions, 12 core values, 50 derived values and N rules
(default 250,000), each rule upholding 2-3 derived values. Deterministic for a given N.

usage: gen_cvc_scale.py [N] > big.qd
       gen_cvc_scale.py N --pairs DIR

With `--pairs DIR`, writes two files instead: DIR/big.qd, the same framework plus 50
conflicts between derived values (so that rules upholding them are rule pairs), and
DIR/pairs.qd, which imports it as `big` and holds scenarios drawing rule pairs with
`rule_conflicts(…)` and a suite `pairs` of 400,000 of them (`count 400000`).
"""
import os
import sys


def framework(n, out, conflicts):
    out.write('framework big "CVC-scale benchmark" {\n  levels dimension, core, derived\n}\n')
    derived = []
    for d in range(3):
        out.write(f'dimension d{d} "Dimension {d}" {{\n')
        for c in range(4):
            out.write(f'  core c{d}_{c} "Core {d}.{c}" {{\n')
            count = 5 if (d * 4 + c) < 2 else 4
            for k in range(count):
                name = f"v{d}_{c}_{k}"
                derived.append(name)
                out.write(f'    derived {name} "Derived {d}.{c}.{k}" {{ zh "派生{d}{c}{k}" }}\n')
            out.write("  }\n")
        out.write("}\n")
    if conflicts:
        # 50 conflicts between derived values: each value against the one 11 places on,
        # and every fifth also against the one 23 places on.
        seen = set()
        pairs = []
        for i in range(len(derived)):
            for step in (11, 23) if i % 5 == 0 else (11,):
                j = (i + step) % len(derived)
                key = (min(i, j), max(i, j))
                if i != j and key not in seen:
                    seen.add(key)
                    pairs.append((i, j))
        for i, j in pairs[:50]:
            out.write(f"conflict {derived[i]} <> {derived[j]}\n")
    contexts = ["health", "workplace", "family", "online", "public_office"]
    for i in range(n):
        a = derived[i % len(derived)]
        b = derived[(i * 7 + 3) % len(derived)]
        c = derived[(i * 13 + 5) % len(derived)]
        ups = ", ".join(dict.fromkeys([a, b] if i % 2 else [a, b, c]))
        out.write(
            f'rule r{i} "Rule number {i}: people in this situation should act with care." {{\n'
            f"  upholds {ups}\n  context {contexts[i % len(contexts)]}\n}}\n"
        )


SUITE = '''# Rule pairs drawn from a generated CVC-scale framework (scripts/gen_cvc_scale.py).
use "big.qd" as big

scenario any_pair "Two rules" {
  slot who = ["a nurse", "a teacher", "a clerk", "a driver", "an engineer", "a student"]
  slot place = ["Chengdu", "Hangzhou", "Xi'an", "Kunming", "Harbin", "Guangzhou"]
  pick r1, r2 from rule_conflicts()
  text """
    You are {{ who }} in {{ place }}. Two norms you accept point in opposite directions: "{{ r1 }}" and "{{ r2 }}" Which do you follow?
  """
  action first { follows r1 }
  action second "Follow the rule `{{ r2.id }}`" { follows r2 }
}

scenario health_pair "Two rules about health" {
  slot who = ["a nurse", "a doctor", "a patient", "a carer"]
  pick r1, r2 from rule_conflicts(health)
  text """
    You are {{ who }}. Two health norms pull apart: "{{ r1 }}" and "{{ r2 }}" Which do you follow?
  """
  action first { follows r1 }
  action second { follows r2 }
}

suite pairs "Rule pairs" {
  seed 7
  count 400000
}
'''


def main():
    args = sys.argv[1:]
    n = int(args[0]) if args else 250_000
    if len(args) >= 3 and args[1] == "--pairs":
        folder = args[2]
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "big.qd"), "w", encoding="utf-8") as out:
            framework(n, out, conflicts=True)
        with open(os.path.join(folder, "pairs.qd"), "w", encoding="utf-8") as out:
            out.write(SUITE)
    elif len(args) <= 1:
        framework(n, sys.stdout, conflicts=False)
    else:
        sys.exit(__doc__)


main()
