#!/bin/sh
# demo.sh: what `make demo` runs after building: list the devices, self-check
# the kernels on the default device, train DCGAN-32 on Fashion-MNIST for a
# fixed time (DEMO_MINUTES, default 7), draw the loss curve, score the
# checkpoint (IS and FID of 10,000 samples, as RESULTS.md's figures: about
# 20 s), and say where everything is. CLGAN_DEVICE picks another device;
# DEMO_OUT another folder. The settings were chosen by quality per minute
# on 2 PoCL cores (RESULTS.md, "The demo"): learning rate 4e-4 and samples
# from an average of G's weights (decay 0.99) beat 2e-4 and the raw weights.
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
    --batch-size 64 --lr 0.0004 --ema 0.99 --minutes "$minutes" --sample-every 100 \
    --ckpt-every 200 --log-every 20 --out "$out"
scripts/plot-losses.sh "$out" >/dev/null
last=$(ls "$out"/samples/*.png | tail -n 1)
echo
echo "== Scores of the checkpoint, 10,000 samples (clgan eval)"
build/clgan eval "$out/checkpoint.safetensors" | grep -e "^real data" -e "^samples"
build/clgan sample "$out/checkpoint.safetensors" -n 64 -o "$out/samples-averaged.png" >/dev/null
echo
echo "Samples:     $out/samples-averaged.png (G's averaged weights, as scored above;"
echo "             the grids of G's trained weights during the run: $out/samples/, the last $last)"
echo "Real images: $out/real.png"
echo "Loss curve:  $out/loss.png"
echo "Checkpoint:  $out/checkpoint.safetensors"
echo "More samples: build/clgan sample $out/checkpoint.safetensors -n 64 -o grid.png"
