#!/usr/bin/env python3
"""ssl-table.py [DIR]: the markdown table of scripts/ssl-runs.sh's runs (DIR,
default results/ssl): per labelled-set size and seed, the last evaluation's
test accuracy of SSL and of its supervised baseline (D's weight average),
their difference, steps and wall time; then mean and spread (sample standard
deviation) over the seeds of each size."""
import json, os, statistics, sys

d = sys.argv[1] if len(sys.argv) > 1 else "results/ssl"

def last_eval(name):
    p = os.path.join(d, name, "metrics.jsonl")
    if not os.path.exists(p) or not os.path.exists(os.path.join(d, name + ".seconds")):
        return None
    ev = [json.loads(l) for l in open(p) if "test_acc" in l]
    steps = max(json.loads(l)["step"] for l in open(p))
    secs = float(open(os.path.join(d, name + ".seconds")).read())
    return (ev[-1]["test_acc"], ev[-1]["test_errors"], steps, secs) if ev else None

print("| labels | seed | SSL test accuracy (errors) | baseline | SSL - baseline | steps | wall time SSL / baseline |")
print("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
for per in (10, 100):
    diffs, accs, bases = [], [], []
    for seed in (1, 2, 3):
        s, b = last_eval("ssl%d-s%d" % (per, seed)), last_eval("base%d-s%d" % (per, seed))
        if not s or not b:
            continue
        diffs.append(s[0] - b[0]), accs.append(s[0]), bases.append(b[0])
        print("| %d (%d per class) | %d | %.4f (%d) | %.4f (%d) | %+.2f points | %d | %.0f s / %.0f s |" % (
            10 * per, per, seed, s[0], s[1], b[0], b[1], 100 * (s[0] - b[0]), s[2], s[3], b[3]))
    if len(diffs) > 1:
        print("| %d | mean of %d | %.4f +- %.4f | %.4f +- %.4f | %+.2f +- %.2f points | | |" % (
            10 * per, len(diffs), statistics.mean(accs), statistics.stdev(accs),
            statistics.mean(bases), statistics.stdev(bases), 100 * statistics.mean(diffs),
            100 * statistics.stdev(diffs)))
