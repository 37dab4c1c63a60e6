#!/usr/bin/env bash
# Run one fuzz target with the settings the results in README.md were measured with.
# Usage: fuzz/run.sh TARGET [RUNS] [MAX_SECONDS]   (defaults: 10,000,000 runs, 900 s)
# One libFuzzer process, no sanitizer (the crate forbids unsafe code), debug assertions on
# (overflow checks included). The log goes to fuzz/logs/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")"
t=$1
runs=${2:-10000000}
secs=${3:-900}
case $t in
  iptables)       len=1024;  dict=iptables ;;
  iptables_eval)  len=512;   dict=iptables ;;
  netsh)          len=2048;  dict=windows ;;
  ps_csv|registry) len=1024; dict=windows ;;
  wfw_hive)       len=65536; dict= ;;
  ps_json|nsg|aws_sg|cloudformation) len=2048; dict=json ;;
  terraform)      len=8192;  dict=json ;;
  inventory)      len=1024;  dict= ;;
  condition)      len=256;   dict= ;;
  detect_any)     len=2048;  dict= ;;
  *) echo "unknown target $t" >&2; exit 2 ;;
esac
[ -d "corpus/$t" ] || ./seed.sh >/dev/null
mkdir -p logs "artifacts/$t"
args=(-runs="$runs" -max_total_time="$secs" -max_len="$len" -rss_limit_mb=2048 -timeout=10
      -print_final_stats=1)
[ -n "$dict" ] && args+=(-dict="dicts/$dict.dict")
unset CARGO_TARGET_DIR
RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" -s none --release -a -- "${args[@]}" 2>&1 | tee "logs/$t.log" | grep -E '^(Done|INFO: Loaded|==|SUMMARY|thread|.*panicked)' || true
grep -E 'Done [0-9]+ runs' "logs/$t.log" || { echo "$t: no Done line (crash?), see logs/$t.log"; exit 1; }
