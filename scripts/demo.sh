#!/bin/sh
# demo.sh: what `make demo` runs after building: list the devices, self-check
# the kernels on the default device, train DCGAN-32 on Fashion-MNIST for a
# fixed time (DEMO_MINUTES, default 7), draw the loss curve, score the
# checkpoint (IS and FID of 1,000 samples: quick, and FID from 1,000 samples
# reads higher than the 10,000-sample figures of RESULTS.md), and say where
# everything is. CLGAN_DEVICE picks another device; DEMO_OUT another folder.
set -eu
cd "$(dirname "$0")/.."
out=${DEMO_OUT:-demo}
minutes=${DEMO_MINUTES:-7}
echo "== OpenCL devices (clgan devices)"
build/clgan devices
echo
echo "== Kernel self-check on the default device (clgan selfcheck)"
build/clgan selfcheck
echo
rm -rf "$out/samples" # a fresh grid series: the last one printed below is this run's
echo "== DCGAN-32 on Fashion-MNIST for $minutes minutes (clgan train dcgan)"
build/clgan train dcgan --data fashion-mnist --image-size 32 --ngf 32 --ndf 32 \
    --batch-size 64 --minutes "$minutes" --sample-every 100 --ckpt-every 200 \
    --log-every 20 --out "$out"
scripts/plot-losses.sh "$out" >/dev/null
last=$(ls "$out"/samples/*.png | tail -n 1)
echo
echo "== Scores of the checkpoint, 1,000 samples (clgan eval -n 1000)"
build/clgan eval "$out/checkpoint.safetensors" -n 1000 | grep -e "^real data" -e "^samples"
echo "(RESULTS.md scores 10,000 samples: FID from 1,000 reads higher)"
echo
echo "Samples:     $last (real images for comparison: $out/real.png)"
echo "Loss curve:  $out/loss.png"
echo "Checkpoint:  $out/checkpoint.safetensors"
echo "More samples: build/clgan sample $out/checkpoint.safetensors -n 64 -o grid.png"
