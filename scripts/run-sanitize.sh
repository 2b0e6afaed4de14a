#!/bin/sh
# run-sanitize.sh BIN...: the test suites built with -fsanitize=address,undefined
# (make sanitize), through run-tests.sh. Any ASan report (out-of-bounds,
# use-after-free, double free), UBSan report (halts: -fno-sanitize-recover)
# or leak of ours fails the suite. tests/lsan.supp silences the leaks of the
# OpenCL stack (PoCL, its LLVM, the ICD loader, CLBlast), which we cannot fix.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
# detect_leaks: LeakSanitizer at exit. PoCL's compiled kernels are loaded
# with dlopen and its threads outlive the test; neither is our memory.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:allocator_may_return_null=1}"
export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
exec "$here/scripts/run-tests.sh" "$@"
