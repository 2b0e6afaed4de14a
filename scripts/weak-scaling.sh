#!/bin/sh
# weak-scaling.sh [ROUNDS]: issue 14's weak-scaling figure on one machine:
# DCGAN-32 (ngf = ndf = 32), batch 64 per rank, one PoCL compute unit per
# rank (POCL_MAX_PTHREAD_COUNT=1, each rank bound to a core), 40 steps with
# --profile. Each round runs, in turn: 1 rank; 1 rank waiting for every step
# (CLGAN_SYNC_STEPS=1, as several ranks do); 2 ranks; 2 ranks with
# --sync-bn; 2 ranks averaging the gradients in buckets overlapped with the
# backward pass (--grad-buckets $BUCKET_MB, default 0.25); 2 ranks over Open
# MPI's TCP transport instead of shared memory. Prints each run's step time
# and the 2-rank runs' gradient averaging. Efficiency = step(1 rank) /
# step(2 ranks). Needs Open MPI's mpirun and build/clgan; run it on an
# otherwise idle machine.
set -u
cd "$(dirname "$0")/.."
rounds=${1:-5}
bucket=${BUCKET_MB:-0.25}
export POCL_MAX_PTHREAD_COUNT=1 CLGAN_QUICK_TUNE=0
data=${CLGAN_DATA_DIR:-/usr/share/datasets/fashion-mnist}/t10k-images-idx3-ubyte.gz
F="--data $data --ngf 32 --ndf 32 --steps 40 --log-every 40 --profile --sample-every 0 --ckpt-every 0"
M="mpirun --allow-run-as-root --bind-to core"
out=$(mktemp -d)
r=1
while [ "$r" -le "$rounds" ]; do
    echo "== round $r, load $(cut -d' ' -f1 /proc/loadavg)"
    echo "-- 1 rank"
    $M -np 1 build/clgan train dcgan $F --batch-size 64 --out "$out/1" 2>&1 | grep -E "ms per step"
    echo "-- 1 rank, every step waited"
    $M -np 1 -x CLGAN_SYNC_STEPS=1 build/clgan train dcgan $F --batch-size 64 --out "$out/1w" 2>&1 |
        grep -E "ms per step"
    echo "-- 2 ranks"
    $M -np 2 build/clgan train dcgan $F --batch-size 128 --out "$out/2" 2>&1 | grep -E "data-parallel"
    echo "-- 2 ranks, --sync-bn"
    $M -np 2 build/clgan train dcgan $F --batch-size 128 --sync-bn --out "$out/2s" 2>&1 |
        grep -E "data-parallel"
    echo "-- 2 ranks, --grad-buckets $bucket"
    $M -np 2 build/clgan train dcgan $F --batch-size 128 --grad-buckets "$bucket" \
        --out "$out/2b" 2>&1 | grep -E "data-parallel"
    echo "-- 2 ranks over TCP (--mca btl tcp,self: the transport between machines)"
    $M --mca btl tcp,self -np 2 build/clgan train dcgan $F --batch-size 128 \
        --out "$out/2t" 2>&1 | grep -E "data-parallel"
    r=$((r + 1))
done
rm -rf "$out"
