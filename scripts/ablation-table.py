#!/usr/bin/env python3
"""ablation-table.py [DIR] [TIMES]: the markdown table of scripts/ablation.sh's
runs (DIR, default results/ablation): IS, IS / real, FID, the class
histogram's smallest share (of the samples the evaluation classifier puts in
each class), and time per step from TIMES (a file of "name ms-per-step"
lines, scripts/ablation-times.sh) when given, else from the runs' own wall
time (which counts whatever else the machine did)."""
import json, os, sys

d = sys.argv[1] if len(sys.argv) > 1 else "results/ablation"
times = {}
if len(sys.argv) > 2:
    for line in open(sys.argv[2]):
        name, ms = line.split()
        times[name] = float(ms)
rows = [("plain", "plain DCGAN"), ("mbd", "+ minibatch discrimination (100,5)"),
        ("smooth", "+ one-sided label smoothing (0.9)"), ("vbn", "+ virtual batch norm in G"),
        ("fm", "+ feature matching"), ("hist", "+ historical averaging (W = 1e-3)"),
        ("all", "all together"), ("labels", "all together, with labels (the K+1 D)"),
        ("nofm", "all but feature matching (as the paper combines them for samples)")]
print("| configuration | IS | IS / real | FID | smallest class share | ms / step |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name, label in rows:
    p = os.path.join(d, name + ".eval.json")
    if not os.path.exists(p):
        continue
    e = json.load(open(p))
    h = e["histogram"]
    steps = 2811
    if name in times:
        ms = "%.0f" % times[name]
    else:
        ms = "%.0f (wall)" % (1000.0 * float(open(os.path.join(d, name + ".seconds")).read()) / steps)
    print("| %s | %.3f +- %.3f | %.3f | %.2f | %.4f | %s |" % (
        label, e["is_mean"], e["is_std"], e["is_mean"] / e["real_is_mean"], e["fid"],
        min(h) / float(sum(h)), ms))
