#!/usr/bin/env bash
# Checks the dependency rules of docs/design.md: the file layer (cairn-fs) on no cairn crate, engines only on
# the file layer, models only on engines,
# nothing on the binary. Run from the project root. Exits 1 and names each broken rule.
set -euo pipefail
cargo metadata --format-version 1 --no-deps 2>/dev/null | python3 -c '
import json, sys
layer = {"cairn-fs": -1, "cairn-log": 0, "cairn-page": 0, "cairn-sqlite": 0,
         "cairn-kv": 1, "cairn-sql": 1, "cairn-blob": 1,
         "cairn-server": 2, "cairn": 3, "cairn-slt": 2}
meta = json.load(sys.stdin)
broken = 0
for pkg in meta["packages"]:
    name = pkg["name"]
    if name not in layer:
        continue
    for dep in pkg["dependencies"]:
        d = dep["name"]
        if d not in layer or dep.get("kind") == "dev":
            continue
        if layer[d] >= layer[name]:
            print(f"layer rule broken: {name} (layer {layer[name]}) depends on {d} (layer {layer[d]})")
            broken += 1
print("layers: ok" if not broken else f"layers: {broken} broken")
sys.exit(1 if broken else 0)
'
