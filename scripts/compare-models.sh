#!/bin/sh
# compare-models.sh [MINUTES] [OUT]: train GAN, cGAN (MLP and DCGAN), LAPGAN
# (plain and class-conditional) and DCGAN on Fashion-MNIST, one after the
# other, each for the same wall-clock budget (default 20 minutes), then
# score each with `clgan eval` (IS, FID, and for conditional models the
# conditional accuracy). Run it alone: a second heavy job on the machine
# takes steps from whichever run it overlaps. RESULTS.md's model table
# came from this script.
set -eu
cd "$(dirname "$0")/.."
min=${1:-20}
out=${2:-results/models}
B=build/clgan
mkdir -p "$out"
common="--minutes $min --seed 1 --sample-every 1000 --ckpt-every 1000 --log-every 200"
run() { # name, model and flags
    name=$1; shift
    echo "== $name: $B train $* $common --out $out/$name"
    $B train "$@" $common --out "$out/$name" > "$out/$name.log" 2>&1
    tail -n 2 "$out/$name.log"
}
run gan gan
run cgan-mlp cgan
run cgan-dcgan cgan --arch dcgan --image-size 32 --ngf 32 --ndf 32 --batch-size 64
run lapgan lapgan --ngf 16 --ndf 16
run lapgan-classes lapgan --classes --ngf 16 --ndf 16
run dcgan dcgan --ngf 32 --ndf 32
for name in gan cgan-mlp cgan-dcgan lapgan lapgan-classes dcgan; do
    echo "== eval $name"
    $B eval "$out/$name/checkpoint.safetensors" --json "$out/$name.eval.json" > "$out/$name.eval.txt" 2>&1
    cat "$out/$name.eval.txt"
    $B sample "$out/$name/checkpoint.safetensors" --seed 5 --plain -o "$out/$name.png" > /dev/null
done
$B sample "$out/lapgan/checkpoint.safetensors" --levels --seed 5 -o "$out/lapgan-levels.png" > /dev/null
$B sample "$out/lapgan-classes/checkpoint.safetensors" --levels --seed 5 -o "$out/lapgan-classes-levels.png" > /dev/null
