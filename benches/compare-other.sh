#!/usr/bin/env bash
# Print the README's table of the other issue-19 shapes, portolan beside its floor where there
# is one, in one run on this machine:
# - 50 MB `describe-security-groups` (`shared/tools/gen_aws_sg.py --mb 50`) and 50 MB
#   `az network nsg list` (`gen_input azure 860 50`), beside `examples/json_floor.rs` (serde into
#   typed structs of the fields an audit reads);
# - 10,000 mixed small files (`benches/mixed_dir.sh`: copies of the fixtures up to 64 KiB),
#   `--format concise` and the human format (both written a batch at a time), and `--format json`
#   (the whole report kept);
# - an inventory of 50 sites x 20 VRAs with host, boundary and Azure NSG hops
#   (`gen_input inventory 50 20 DIR`, `benches/gen/inventory.rs`).
# Usage: benches/compare-other.sh [RUNS]   (best of RUNS, default 3; a few minutes after a build)
# Needs GNU time (/usr/bin/time) and python3; the inputs take about 160 MB in a temporary
# directory. Not run in CI.
set -euo pipefail
runs=${1:-3}
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release --quiet --bin portolan --example json_floor --example gen_input
bin="$root/target/release"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen_aws=${GEN_AWS_SG:-$root/../shared/tools/gen_aws_sg.py}
[ -f "$gen_aws" ] || gen_aws=/work/shared/tools/gen_aws_sg.py
python3 "$gen_aws" --mb 50 -o "$work/sg50.json" >/dev/null 2>&1
"$bin/examples/gen_input" azure 860 50 "$work/nsg50.json" 2>/dev/null
benches/mixed_dir.sh "$work/mixed10k" 10000 >/dev/null
"$bin/examples/gen_input" inventory 50 20 "$work/inv50" 2>/dev/null

# best wall time over $runs runs of "$@", with that run's CPU time (user + system) and peak memory
best() {
  local t m u s bt="" bm="" bc=""
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -o "$work/time" -f '%e %M %U %S' "$@" >/dev/null 2>&1 || true
    read -r t m u s < <(tail -1 "$work/time")
    if [ -z "$bt" ] || awk -v a="$t" -v b="$bt" 'BEGIN { exit !(a < b) }'; then
      bt=$t; bm=$m; bc=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    fi
  done
  printf '%s s (CPU %s s), %d MiB' "$bt" "$bc" $((bm / 1024))
}
# portolan exits 1 when it has findings: the time is what matters here
ours() { best sh -c '"$0" "$@" || [ $? -eq 1 ]' "$bin/portolan" "$@"; }
mb() { du -sk "$1" | awk '{ printf "%.1f MB", $1 / 1024 }'; }

echo "| input | floor: serde into typed structs (\`examples/json_floor.rs\`) | portolan |"
echo "|---|---|---|"
echo "| $(mb "$work/sg50.json") \`describe-security-groups\`, \`--env vsphere --role zvm --format json\` | $(best "$bin/examples/json_floor" aws "$work/sg50.json") | $(ours audit --env vsphere --role zvm --format json "$work/sg50.json") |"
echo "| $(mb "$work/nsg50.json") \`az network nsg list\`, \`--env azure --role zvm --format json\` | $(best "$bin/examples/json_floor" azure "$work/nsg50.json") | $(ours audit --env azure --role zvm --format json "$work/nsg50.json") |"
echo "| 10,000 mixed small files ($(mb "$work/mixed10k")), \`--env vsphere --role zvm --format concise\` | | $(ours audit --env vsphere --role zvm --format concise "$work/mixed10k") |"
echo "| the same, the human format (the default) | | $(ours audit --env vsphere --role zvm "$work/mixed10k") |"
echo "| the same, \`--format json\` | | $(ours audit --env vsphere --role zvm --format json "$work/mixed10k") |"
cd "$work/inv50"
echo "| inventory: 50 sites x 20 VRAs, host + boundary + NSG hops, \`--format json\` | | $(ours audit --inventory portolan.toml --format json) |"
echo
echo "($(nproc) cores, $(date -u +%Y-%m-%d), best of $runs; $(uname -m))"
