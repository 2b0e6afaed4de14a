#!/bin/sh
# ssl-runs.sh [EPOCHS] [OUT]: the semi-supervised table of RESULTS.md on
# Fashion-MNIST: `clgan train ssl` against its supervised baseline (the same
# D on the labelled examples alone: --unlabeled-weight 0) with 10 labels per
# class (seeds 1, 2, 3) and 100 per class (seed 1), each for EPOCHS epochs
# (default 1; 600 steps of batch 100 each). Test accuracy is D's weight
# average's on the 10,000 test images after the last epoch (metrics.jsonl).
# Then `clgan eval` of the first SSL run (IS / FID of G and the model's own
# test accuracy). About 10 minutes an SSL epoch on 2 PoCL cores (AVX2), 2
# for the baseline. CLGAN=path picks another binary; ONLY="ssl10-s3
# base10-s3" runs those alone (the others' files stay).
set -eu
cd "$(dirname "$0")/.."
epochs=${1:-1}
out=${2:-results/ssl}
B=${CLGAN:-build/clgan}
mkdir -p "$out"
run() { # name, flags
    name=$1; shift
    case " ${ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    echo "== $name: $B train ssl --epochs $epochs $* --out $out/$name"
    start=$(date +%s)
    $B train ssl --epochs "$epochs" --log-every 100 --sample-every 600 --ckpt-every 600 "$@" \
        --out "$out/$name" > "$out/$name.log" 2>&1
    echo "$(( $(date +%s) - start ))" > "$out/$name.seconds"
    grep evaluation "$out/$name.log" | tail -1
}
run ssl10-s1 --labels-per-class 10 --seed 1
run base10-s1 --labels-per-class 10 --seed 1 --unlabeled-weight 0
run ssl100-s1 --labels-per-class 100 --seed 1
run base100-s1 --labels-per-class 100 --seed 1 --unlabeled-weight 0
for s in 2 3; do
    run ssl10-s$s --labels-per-class 10 --seed $s
    run base10-s$s --labels-per-class 10 --seed $s --unlabeled-weight 0
done
case " ${ONLY:-ssl10-s1} " in *" ssl10-s1 "*) ;; *) exit 0 ;; esac
$B eval "$out/ssl10-s1/checkpoint.safetensors" --json "$out/ssl10-s1.eval.json" \
    > "$out/ssl10-s1.eval.txt" 2>&1
cat "$out/ssl10-s1.eval.txt"
