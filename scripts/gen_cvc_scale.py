#!/usr/bin/env python3
"""Writes a CVC-scale framework: 3 dimensions, 12 core values, 50 derived values and N rules
(default 250,000), each rule upholding 2-3 derived values. Deterministic for a given N.

usage: gen_cvc_scale.py [N] > big.qd
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 250_000
out = sys.stdout
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
