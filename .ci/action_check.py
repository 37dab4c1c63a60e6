#!/usr/bin/env python3
"""Hold action.yml to itself and to release.yml (actionlint reads workflows, not an action's
metadata): every `inputs.X` and `steps.Y` the action uses is declared, and every target the
action downloads is one release.yml builds, under the archive name release.yml gives it."""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
action = (root / "action.yml").read_text(encoding="utf-8")
release = (root / ".github/workflows/release.yml").read_text(encoding="utf-8")
problems = []

section = re.search(r"^inputs:\n(.*?)^\S", action, re.S | re.M).group(1)
declared = set(re.findall(r"^  ([a-z][a-z0-9-]*):", section, re.M))
for used in sorted(set(re.findall(r"inputs\.([a-z][a-z0-9-]*)", action))):
    if used not in declared:
        problems.append(f"action.yml uses inputs.{used}, which it does not declare")
ids = set(re.findall(r"^\s+id: ([a-z][a-z0-9-]*)$", action, re.M))
for used in sorted(set(re.findall(r"steps\.([a-z][a-z0-9-]*)\.outputs", action))):
    if used not in ids:
        problems.append(f"action.yml reads steps.{used}, a step it does not have")

built = set(re.findall(r"target: ([a-z0-9_-]+)", release))
wanted = set(re.findall(r"\) target=([a-z0-9_-]+) ;;", action))
for t in sorted(wanted - built):
    problems.append(f"action.yml downloads {t}, which release.yml does not build")
if 'name="portolan-$TAG-$TARGET"' not in release or '"portolan-$VERSION-$target.*"' not in action:
    problems.append("the archive name of release.yml and the pattern of action.yml differ")

for p in problems:
    print(p)
print(f"action.yml: {len(declared)} inputs, {len(wanted)} targets; {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
