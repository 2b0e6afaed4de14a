#!/bin/sh
# plot-losses.sh OUT_DIR: draw OUT_DIR/loss.png (loss_D and loss_G against
# the step, and D(x), D(G(z)) below) from OUT_DIR/metrics.jsonl with gnuplot.
set -eu
dir=${1:?usage: scripts/plot-losses.sh OUT_DIR}
metrics="$dir/metrics.jsonl"
[ -s "$metrics" ] || { echo "plot-losses: no metrics in $metrics" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot-losses: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One row per line: step loss_d loss_g d_x d_g_z1 (the keys clgan writes).
sed -n 's/.*"step": \([0-9]*\), "loss_d": \([^,]*\), "loss_g": \([^,]*\), "d_x": \([^,]*\), "d_g_z1": \([^,]*\),.*/\1 \2 \3 \4 \5/p' \
    "$metrics" > "$data"
[ -s "$data" ] || { echo "plot-losses: $metrics has no metric lines" >&2; exit 1; }
gnuplot <<GP
set terminal pngcairo size 900,700
set output "$dir/loss.png"
set multiplot layout 2,1 title "clgan DCGAN training ($dir)"
set xlabel "step"
set ylabel "loss"
set grid
plot "$data" using 1:2 with lines title "loss D", "$data" using 1:3 with lines title "loss G"
set ylabel "D output"
set yrange [0:1]
plot "$data" using 1:4 with lines title "D(x)", "$data" using 1:5 with lines title "D(G(z))"
unset multiplot
GP
echo "$dir/loss.png"
