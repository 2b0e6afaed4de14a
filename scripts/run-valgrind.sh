#!/bin/sh
# run-valgrind.sh BIN...: run test suites under valgrind memcheck with small
# shapes; fail on any definite leak not suppressed by tests/valgrind.supp
# (which names only the OpenCL implementation's own allocations) or any
# failing test. Slow (PoCL compiles kernels under valgrind): not part of CI.
set -u
export CLGAN_TEST_SMALL=1
logdir=build/valgrind
mkdir -p "$logdir"
bad=""
for t in "$@"; do
    name=$(basename "$t")
    log="$logdir/$name.log"
    printf '%-24s ' "$name"
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
