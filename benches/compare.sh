#!/usr/bin/env bash
# Print the README's blocklist performance table: portolan beside its floor (`examples/
# tokenise_floor.rs`: read the file and split every line into words, one core) on the same
# inputs, in one run, on this machine. Inputs are generated deterministically
# (`cargo run --release --example gen_input -- blocklist N FILE`, and the iptables bench's host
# dumps of 10k, 100k and 1M rules, issue 19's kube-proxy shape) plus the real gfwlist file in
# fixtures/real2/iptables/.
# Usage: benches/compare.sh [RUNS]   (best of RUNS, default 3; a few minutes after a build)
# Needs GNU time (/usr/bin/time). Not run in CI.
set -euo pipefail
runs=${1:-3}
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release --quiet --bin portolan --example tokenise_floor --example gen_input
bin=target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for n in 2000 16000 100000; do
  "$bin/examples/gen_input" blocklist "$n" "$work/blocklist-$n.rules" 2>/dev/null
done
"$bin/examples/gen_input" iptables 10000 "$work/host-10k.rules" 2>/dev/null
"$bin/examples/gen_input" iptables 100000 "$work/host-100k.rules" 2>/dev/null
"$bin/examples/gen_input" iptables 1000000 "$work/host-1m.rules" 2>/dev/null
cp fixtures/real2/iptables/gfwlist-chnroute-nat-8k-save.v4 "$work/gfwlist-8k.rules"

# best wall time over $runs runs of "$@", with that run's CPU time (user + system) and peak memory
best() {
  local t m u s bt="" bm="" bc=""
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -o "$work/time" -f '%e %M %U %S' "$@" >/dev/null 2>&1
    read -r t m u s < <(tail -1 "$work/time")
    if [ -z "$bt" ] || awk -v a="$t" -v b="$bt" 'BEGIN { exit !(a < b) }'; then
      bt=$t; bm=$m; bc=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    fi
  done
  printf '%s s (CPU %s s), %d MiB' "$bt" "$bc" $((bm / 1024))
}

echo "| input (rules, size) | tokenise floor (1 core) | \`portolan audit --env vsphere --role zvm --format json\` |"
echo "|---|---|---|"
for f in blocklist-2000 blocklist-16000 blocklist-100000 gfwlist-8k host-10k host-100k host-1m; do
  p="$work/$f.rules"
  size=$(du -k "$p" | awk '{ printf "%.1f MB", $1 / 1024 }')
  floor=$(best "$bin/examples/tokenise_floor" "$p")
  # portolan exits 1 when it has findings: the time is what matters here
  ours=$(best sh -c '"$0" audit --env vsphere --role zvm --format json "$1" || [ $? -eq 1 ]' "$bin/portolan" "$p")
  echo "| $f ($size) | $floor | $ours |"
done
echo
echo "($(nproc) cores, $(date -u +%Y-%m-%d), best of $runs; $(uname -m))"
