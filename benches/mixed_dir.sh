#!/usr/bin/env bash
# Make a directory of N small firewall exports of every format (copies of the firewall fixtures,
# round-robin, each under its own numbered name), for the README's "directory of 10,000 mixed
# files" figure. Deterministic: the same N gives the same tree.
# Usage: benches/mixed_dir.sh OUT_DIR [N]   (default N = 10000; OUT_DIR must not exist)
set -euo pipefail
out=$1
n=${2:-10000}
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -e "$out" ] && { echo "$out exists; give a new directory" >&2; exit 2; }
mapfile -t files < <(cd "$root/fixtures" && find . -type f \
  -not -path './sarif/*' -not -path './inventory/*' -not -name '*.toml' | LC_ALL=C sort)
mkdir -p "$out"
for ((i = 0; i < n; i++)); do
  f=${files[i % ${#files[@]}]}
  d="$out/$((i / 500))"
  mkdir -p "$d"
  b=$(basename "$f")
  cp "$root/fixtures/$f" "$d/$i-$b"
done
echo "$n files from ${#files[@]} fixtures in $out"
