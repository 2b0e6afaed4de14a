#!/bin/sh
# ablation.sh [STEPS] [OUT]: Salimans et al.'s Table 3 on Fashion-MNIST:
# DCGAN-32 (ngf = ndf = 32, seed 1) trained for the same number of steps
# (default 2811, three epochs of batch 64) in each configuration, then
# scored by `clgan eval` (IS, FID, class histogram). Run it alone: about
# 12 minutes a configuration on 2 PoCL cores for plain DCGAN; the table in
# RESULTS.md says what each took. CLGAN=path picks another binary (a
# copy, so that rebuilding build/ during the run changes nothing).
# ONLY="vbn all" runs those configurations alone (the others' files stay).
set -eu
cd "$(dirname "$0")/.."
steps=${1:-2811}
out=${2:-results/ablation}
B=${CLGAN:-build/clgan}
mkdir -p "$out"
common="--ngf 32 --ndf 32 --seed 1 --steps $steps --sample-every 1000 --ckpt-every 1000 --log-every 200"
. scripts/ablation-configs.sh
cfg() { # name, flags
    name=$1; shift
    case " ${ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    echo "== $name: $B train dcgan $common $* --out $out/$name"
    start=$(date +%s)
    $B train dcgan $common "$@" --out "$out/$name" > "$out/$name.log" 2>&1
    echo "$(( $(date +%s) - start ))" > "$out/$name.seconds"
    $B eval "$out/$name/checkpoint.safetensors" --json "$out/$name.eval.json" > "$out/$name.eval.txt" 2>&1
    cat "$out/$name.eval.txt"
}
ablation_configs
