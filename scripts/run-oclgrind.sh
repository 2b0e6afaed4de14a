#!/bin/sh
# run-oclgrind.sh BIN...: run the kernel test suites under Oclgrind with
# --data-races, small shapes (CLGAN_TEST_SMALL=1), and fail on any error
# Oclgrind reports (out-of-bounds access, data race, barrier divergence) or
# any failing test.
# Not --uninitialized: Oclgrind 21.10 reports false "uninitialized value"
# stores when a released buffer is followed by a larger one (seen with
# adam_step: sizes 1 then 7, every input written by the host or a kernel;
# clean when the size-1 run is left out).
# Skipped: test_runtime (tests the host runtime and the PoCL binary cache, not
# kernels), test_gemm (CLBlast's kernels, not ours), test_data, test_formats
# test_metrics and test_cli (host only; test_cli runs build/clgan), test_dcgan, test_models, test_improved, test_eval
# test_ssl and test_dist (training runs and a classifier over 1000 images:
# too slow simulated, and test_dist's runs are other processes under mpirun;
# every kernel they launch has its own suite here, and test_net runs every
# layer kind through the network code).
set -u
export CLGAN_TEST_SMALL=1 CLGAN_NO_CACHE=1
logdir=${OCLGRIND_LOGDIR:-build/oclgrind}
mkdir -p "$logdir"
bad=""
ran=0
for t in "$@"; do
    name=$(basename "$t")
    case "$name" in test_runtime|test_gemm|test_data|test_formats|test_metrics|test_cli|test_dcgan|test_models|test_improved|test_eval|test_ssl|test_dist) continue ;; esac
    log="$logdir/$name.log"
    printf '%-24s ' "$name"
    start=$(date +%s)
    timeout 900 oclgrind --data-races "$t" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    errs=$(grep -cE '^(Invalid (read|write)|Uninitialized|Work-group divergence|Work-item divergence)|data race|[Bb]arrier divergence|Oclgrind .*[Ee]rror' "$log")
    if [ "$rc" -ne 0 ] || [ "$errs" -ne 0 ]; then
        echo "FAIL (exit $rc, $errs Oclgrind report(s), ${secs}s; log: $log)"
        grep -E -A6 '^(Invalid|Uninitialized)|data race|divergence' "$log" | head -n 40
        grep -E '^\[  (FAILED|ERROR) ' "$log" | head -n 20
        bad="$bad $name"
    else
        echo "clean (${secs}s)"
    fi
    ran=$((ran + 1))
done
if [ -n "$bad" ]; then
    echo "oclgrind: failures in:$bad"
    exit 1
fi
echo "oclgrind: $ran suite(s) clean"
