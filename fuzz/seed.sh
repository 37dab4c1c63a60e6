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

# conditions: the catalogue's own, one per file
mkdir -p corpus/condition
grep -ho '^condition = ".*"' ../src/catalog/*.toml | sed 's/^condition = "\(.*\)"$/\1/' | sort -u |
  while IFS= read -r c; do printf '%s' "$c" > "corpus/condition/$(printf '%s' "$c" | cksum | cut -d' ' -f1)"; done
printf '%s' "not (a == 'x' or b != 1.2.3) and c >= 8.0" > corpus/condition/hand-1

for d in corpus/*/; do printf '%-16s %s files\n' "$(basename "$d")" "$(ls "$d" | wc -l)"; done
