#!/bin/sh
# run-valgrind.sh BIN...: run test suites under valgrind memcheck with small
# shapes; fail on any definite leak not suppressed by tests/valgrind.supp
# (which names only the OpenCL implementation's own allocations) or any
# failing test. Slow: not part of CI.
#
# PoCL's kernels are generated for plain x86-64 (SSE2) here, not for the
# host CPU. Under valgrind PoCL sees a Haswell (valgrind hides AVX-512) and
# emits scalar FMAs, and valgrind 3.19 executes VFMADD213SS / VFMADD231SS
# wrongly: it zeroes lanes 1-3 of the destination, which the instruction
# must keep. LLVM keeps live values in those lanes, so kernels computed
# wrong numbers under valgrind only (test_reduce's variances). Repro: run
#   vfmadd231ss %xmm0, %xmm0, %xmm1   with xmm1 = {10, 20, 30, 40}
# natively (lanes 1-3 stay 20 30 40) and under valgrind (they become 0).
#
# Each suite first runs natively with the same settings, so PoCL's kernel
# cache and clgan's program cache are warm and valgrind does not have to
# run LLVM's compiler (which took > 15 minutes for CLBlast's kernels).
set -u
export CLGAN_TEST_SMALL=1
export POCL_LLVM_CPU_NAME=x86-64 POCL_KERNELLIB_NAME=sse2
logdir=build/valgrind
mkdir -p "$logdir"
bad=""
for t in "$@"; do
    name=$(basename "$t")
    log="$logdir/$name.log"
    printf '%-24s ' "$name"
    "$t" >"$log.native" 2>&1 || { echo "FAIL natively (log: $log.native)"; bad="$bad $name"; continue; }
    valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --suppressions=tests/valgrind.supp --error-exitcode=99 "$t" >"$log" 2>&1
    rc=$?
    lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        echo "FAIL (exit $rc, definitely lost: ${lost:-0} bytes; log: $log)"
        bad="$bad $name"
    else
        echo "clean (definitely lost: ${lost:-0} bytes)"
    fi
done
[ -z "$bad" ] || { echo "valgrind: failures in:$bad"; exit 1; }
echo "valgrind: all suites clean"
