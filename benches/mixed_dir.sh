#!/usr/bin/env bash
# Make a directory of N small firewall exports of every format (copies of the firewall fixtures,
# round-robin, each under its own numbered name), for the README's "directory of 10,000 mixed
# files" figure. Deterministic: the same N gives the same tree.
# Small files only: fixtures up to MAX_BYTES (default 64 KiB). The figure measures what each file
# costs and that memory does not grow with their number; the few large fixtures (an 8,450-rule
# blocklist, .wfw hives, a 150 KB NSG list) are the shapes of the other rows, and copied 50 times
# each they were a third of the run. MAX_BYTES=0 copies every fixture.
# Usage: benches/mixed_dir.sh OUT_DIR [N]   (default N = 10000; OUT_DIR must not exist)
set -euo pipefail
out=$1
n=${2:-10000}
max=${MAX_BYTES:-65536}
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -e "$out" ] && { echo "$out exists; give a new directory" >&2; exit 2; }
size=()
[ "$max" -gt 0 ] && size=(-size "-$((max + 1))c")
mapfile -t files < <(cd "$root/fixtures" && find . -type f "${size[@]}" \
  -not -path './sarif/*' -not -path './inventory/*' -not -name '*.toml' | LC_ALL=C sort)
mkdir -p "$out"
for ((i = 0; i < n; i++)); do
  f=${files[i % ${#files[@]}]}
  d="$out/$((i / 500))"
  mkdir -p "$d"
  b=$(basename "$f")
  cp "$root/fixtures/$f" "$d/$i-$b"
done
cap="up to $max bytes"
[ "$max" -gt 0 ] || cap="of any size"
echo "$n files from ${#files[@]} fixtures ($cap) in $out"
