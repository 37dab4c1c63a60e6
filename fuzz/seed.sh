#!/usr/bin/env bash
# Seed fuzz/corpus/<target>/ from the repository's fixtures (corpora are not committed).
# Usage: fuzz/seed.sh            (from anywhere; existing corpus entries are kept)
set -euo pipefail
cd "$(dirname "$0")"
fx=../fixtures

seed() { # target, then files
  local t=$1; shift
  mkdir -p "corpus/$t"
  for f in "$@"; do
    [ -f "$f" ] && cp "$f" "corpus/$t/$(echo "${f#"$fx"/}" | tr / _)"
  done
  return 0
}

shopt -s globstar nullglob
ipt=("$fx"/iptables/**/*.rules "$fx"/iptables/**/*.v4 "$fx"/iptables/**/*.v6 "$fx"/iptables/**/*.txt "$fx"/repo/**/*.rules)
seed iptables "${ipt[@]}"
seed iptables_eval "${ipt[@]}"
seed netsh "$fx"/windows/*netsh*.txt
seed ps_csv "$fx"/windows/**/*.csv
seed ps_json "$fx"/windows/**/*.ps.json
seed registry "$fx"/windows/**/*.reg "$fx"/windows/**/*.wfw.values.txt
seed wfw_hive "$fx"/windows/**/*.wfw
seed nsg "$fx"/azure/**/*.json "$fx"/terraform/zca-azure-plan.json
seed aws_sg "$fx"/aws/**/*.json
seed cloudformation "$fx"/aws/**/*.yaml "$fx"/aws/**/cfn-*.json
seed terraform "$fx"/terraform/**/*.json "$fx"/aws/**/terraform-*.json
seed inventory "$fx"/inventory/*.toml "$fx"/repo/portolan.toml
seed detect_any $(find "$fx" -type f -not -path '*/sarif/*')

# JSON fixtures are mostly larger than the targets' -max_len, and a truncated document no longer
# parses: also seed compact forms, and forms keeping only the first one or two items of each array
if command -v python3 >/dev/null; then
  for f in "$fx"/aws/**/*.json "$fx"/azure/**/*.json "$fx"/terraform/**/*.json "$fx"/windows/**/*.json; do
    python3 - "$f" <<'PY' || true
import json, sys
f = sys.argv[1]
try:
    d = json.load(open(f, encoding="utf-8-sig"))
except Exception:
    sys.exit()
def shrink(v, n):
    if isinstance(v, list):
        return [shrink(x, n) for x in v[:n]]
    if isinstance(v, dict):
        return {k: shrink(x, n) for k, x in v.items()}
    return v
name = f.split("fixtures/", 1)[1].replace("/", "_")
targets = {"aws": ["aws_sg"], "azure": ["nsg"], "terraform": ["terraform", "nsg", "aws_sg"],
           "windows": ["ps_json"]}[f.split("fixtures/", 1)[1].split("/")[0]]
if "terraform-plan" in name:
    targets = ["terraform", "aws_sg"]
for t in targets + ["detect_any"]:
    for tag, v in (("compact", d), ("two", shrink(d, 2)), ("one", shrink(d, 1))):
        open(f"corpus/{t}/{name}.{tag}.json", "w").write(json.dumps(v, separators=(",", ":")))
PY
  done
fi

# conditions: the catalogue's own, one per file
mkdir -p corpus/condition
grep -ho '^condition = ".*"' ../src/catalog/*.toml | sed 's/^condition = "\(.*\)"$/\1/' | sort -u |
  while IFS= read -r c; do printf '%s' "$c" > "corpus/condition/$(printf '%s' "$c" | cksum | cut -d' ' -f1)"; done
printf '%s' "not (a == 'x' or b != 1.2.3) and c >= 8.0" > corpus/condition/hand-1

for d in corpus/*/; do printf '%-16s %s files\n' "$(basename "$d")" "$(ls "$d" | wc -l)"; done
