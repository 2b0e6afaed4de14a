#!/bin/sh
# ablation-times.sh [ROUNDS] > times.txt: time per step of each
# configuration of scripts/ablation.sh on a quiet machine: `clgan train
# dcgan ... --steps 30 --profile` (the first step, which compiles, left
# out), the configurations interleaved, ROUNDS rounds (default 2), the
# fastest round kept. Prints "name ms-per-step" lines for
# scripts/ablation-table.py. ONLY="vbn all" times those alone.
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-2}
B=${CLGAN:-build/clgan}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common="--ngf 32 --ndf 32 --seed 1 --steps 30 --sample-every 1000 --ckpt-every 1000 --log-every 100 --profile"
. scripts/ablation-configs.sh
cfg() { # name, flags
    name=$1; shift
    case " ${ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    ms=$($B train dcgan $common "$@" --out "$tmp/$name" 2>&1 | awk '/^  step /{print $2}')
    rm -rf "$tmp/$name"
    echo "$name $ms" >> "$tmp/times.txt"
}
r=0
while [ $r -lt "$rounds" ]; do
    ablation_configs
    r=$((r + 1))
done
sort -k1,1 -k2,2n "$tmp/times.txt" | awk '!seen[$1]++'
