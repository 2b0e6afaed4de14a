#!/bin/sh
# nvidia-check.sh: the checks of a lent NVIDIA GPU machine, in one run of
# 4 to 9 minutes, most valuable first: training steps with --profile (host
# overhead, with lagged statistics and with CLGAN_SYNC_STEPS=1), `clgan bench`
# (conv against CLBlast, BN/VBN against the copy roofline, MBD's share of D),
# scripts/compare-pytorch.py against PyTorch CUDA on the same GPU (DCGAN-64
# and DCGAN-32 steps, every conv pass), a checkpoint read by PyTorch, and
# the test suites. Needs what scripts/nvidia-prepare.sh puts in .dev (carry
# it). Each phase has a time limit; everything lands in ${OUT:-/tmp/nvidia-out}
# as summary.txt (also on stdout) and all.tgz (logs, JSON, Markdown, samples).
# NVIDIA_CHECK_ANY=1 runs it on whatever OpenCL device is there (to try the
# script itself on a CPU machine, with SCALE=small for short phases).
set -u
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/nvidia-out}
logs=$(mktemp -d)
mkdir -p "$out"
B=.dev/build
data=.dev/data/t10k-images-idx3-ubyte.gz
export LD_LIBRARY_PATH="$PWD/.dev/lib:${LD_LIBRARY_PATH:-}"
export XDG_CACHE_HOME=/tmp/clgan-cache CLGAN_DATA_DIR="$PWD/.dev/data" PYTHONUNBUFFERED=1
if [ "${NVIDIA_CHECK_ANY:-0}" != 1 ]; then
    nv=$(ldconfig -p | awk '$1=="libnvidia-opencl.so.1" {print $NF; exit}')
    [ -n "$nv" ] || nv=$(ls /usr/local/nvidia/lib64/libnvidia-opencl.so.1 \
        /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 2>/dev/null | head -n 1)
    [ -n "$nv" ] || { echo "no libnvidia-opencl.so.1 here"; exit 1; }
    icd=$(mktemp -d)
    echo "$nv" > "$icd/nvidia.icd"
    export OCL_ICD_VENDORS="$icd" CLGAN_DEVICE=NVIDIA
fi
steps=60 rounds=2 reps=10 bfilter= nets="dcgan64 64 64,fmnist32 32 32"
[ "${SCALE:-}" = small ] && steps=4 rounds=1 reps=1 bfilter="--filter bn_fwd" nets="fmnist32 32 32"
summary="$out/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }
phase() { # name, seconds, command...: its output in $logs/name.txt
    name=$1 secs=$2; shift 2
    t0=$(date +%s)
    timeout "$secs" "$@" > "$logs/$name.txt" 2>&1
    rc=$?
    note "== $name: exit $rc in $(( $(date +%s) - t0 )) s"
    tar czf "$out/all.tgz" -C "$logs" . # after each phase: a run cut short keeps what it did
}

note "== $(date -u '+%Y-%m-%d %H:%M') UTC; $(nvidia-smi --query-gpu=name,driver_version \
    --format=csv,noheader 2>/dev/null)"
$B/clgan devices 2>&1 | tee -a "$summary"

# 0. The quick conv tune, once (later phases would otherwise spend their time on it).
phase quick-tune 60 $B/clgan train dcgan --data $data --image-size 32 --steps 1 \
    --sample-every 0 --ckpt-every 0 --out /tmp/quick-tune
grep -h default /tmp/clgan-cache/clgan/conv-tune-*.txt 2>/dev/null | tee -a "$summary"

# 1. Training steps: DCGAN-32 (the demo's width and ngf = 64) and DCGAN-64,
#    host overhead with and without the lagged statistics.
for cfg in "32 32" "32 64" "64 64"; do
    set -- $cfg
    for mode in lag sync; do
        name=train$1-ngf$2-$mode
        sync=0; [ $mode = sync ] && sync=1
        phase $name 45 env CLGAN_SYNC_STEPS=$sync $B/clgan train dcgan --data $data \
            --image-size $1 --ngf $2 --ndf $2 --steps $steps --log-every 1000 \
            --sample-every 0 --ckpt-every 0 --profile --out /tmp/$name
        grep -E "ms per step|host overhead|images/s" "$logs/$name.txt" | tail -n 3 | tee -a "$summary"
    done
done
# The per-channel BN/VBN kernels (CPUs' path) in the same DCGAN-64 step.
phase train64-ngf64-lag-bncpu 45 env CLGAN_BN_PATH=cpu $B/clgan train dcgan --data $data \
    --image-size 64 --ngf 64 --ndf 64 --steps $steps --log-every 1000 --sample-every 0 \
    --ckpt-every 0 --profile --out /tmp/train64-bncpu
grep -E "batchnorm|ms per step|host overhead" "$logs/train64-ngf64-lag-bncpu.txt" | tee -a "$summary"
grep -E "batchnorm" "$logs/train64-ngf64-lag.txt" | tee -a "$summary"

# The demo's DCGAN-32 (width 32) by kernel: where its host-bound step goes.
phase train32-ngf32-kernels 45 env CLGAN_PROFILE_KERNELS=1 $B/clgan train dcgan --data $data \
    --image-size 32 --ngf 32 --ndf 32 --steps $steps --log-every 1000 --sample-every 0 \
    --ckpt-every 0 --profile --out /tmp/train32-kernels
grep -E "launches|ms per step" "$logs/train32-ngf32-kernels.txt" | sort -k2 -n -r | head -n 12 |
    tee -a "$summary"

# 2. The benchmark (conv vs CLBlast, norm vs copy, MBD).
phase bench 120 $B/clgan bench $bfilter --json "$logs/bench.json"
grep -E "^(copy|sgemm|bn_|vbn_|dnet|mbd_fwd\+bwd)|whole" "$logs/bench.txt" | tee -a "$summary"

# 3. Against PyTorch CUDA on the same GPU.
if [ "${NVIDIA_CHECK_ANY:-0}" != 1 ]; then tdev=cuda; else tdev=cpu; fi
IFS=,; set -- $nets; unset IFS
for cmp in "$@"; do
    set -- $cmp
    phase compare-$1 120 python3 scripts/compare-pytorch.py --clgan $B/clgan --nets $1 \
        --image-size $2 --ngf $3 --ndf $3 --rounds $rounds --reps $reps --steps $steps \
        --torch-device $tdev --data $data --out "$logs/compare-$1.md" --json "$logs/compare-$1.json"
    grep -E "^\| \*\*|ms per step|images/s|^clgan against" "$logs/compare-$1.md" 2>/dev/null |
        tee -a "$summary"
done

# 4. A checkpoint read by PyTorch.
phase pytorch 60 python3 scripts/load-in-pytorch.py /tmp/train32-ngf32-lag/checkpoint.safetensors \
    -o "$logs/pytorch.png"
tail -n 3 "$logs/pytorch.txt" | tee -a "$summary"

# 5. The test suites, last: the slowest phase (a run cut at its limit keeps the
#    figures above). test_dist needs mpirun: not here.
tests=$(ls $B/tests/test_* | grep -v test_dist)
phase tests 180 scripts/run-tests.sh $tests
tail -n 4 "$logs/tests.txt" | tee -a "$summary"
grep -E "FAILED|ERROR" "$logs/tests.txt" | head -n 20 | tee -a "$summary"

cp /tmp/train32-ngf32-lag/samples/*.png "$logs/" 2>/dev/null
tar czf "$out/all.tgz" -C "$logs" .
note "== done"
