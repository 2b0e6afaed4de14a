#!/bin/sh
# run-fuzz.sh BUILD SECONDS TARGET...: run each libFuzzer target BUILD/fuzz/fuzz_TARGET
# for SECONDS on its corpus BUILD/fuzz/corpus/TARGET (seeded by gen_seeds the
# first time; what the fuzzer finds is kept there for the next run). A crash,
# a leak, a timeout (10 s per input) or an allocation past 2 GiB fails the
# target; its input is saved as BUILD/fuzz/crash-TARGET-* for the regression
# test. Exits non-zero if any target failed.
set -u
b=$1
secs=$2
shift 2
corpus=$b/fuzz/corpus
[ -d "$corpus" ] || "$b/fuzz/gen_seeds" "$corpus" || exit 1
bad=""
for t in "$@"; do
    log=$b/fuzz/$t.log
    printf 'fuzz %-12s %3ss ' "$t" "$secs"
    "$b/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$b/fuzz/crash-$t-" "$corpus/$t" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$rc" -ne 0 ]; then
        echo "FAIL (exit $rc; log: $log)"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5
        bad="$bad $t"
    else
        echo "ok (${runs:-?} inputs)"
    fi
done
if [ -n "$bad" ]; then
    echo "fuzz: failures in:$bad"
    exit 1
fi
echo "fuzz: $# target(s) clean"
