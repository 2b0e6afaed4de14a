#!/usr/bin/env python3
"""compare-pytorch.py: clgan against PyTorch on the same CPU, interleaved.

Times, in PyTorch (torch.set_num_threads = the device's compute units, or
--threads), each conv layer's three passes (forward, backward-data,
backward-weight) at the shapes `clgan bench` uses, and one DCGAN training
step (Adam, BN, the non-saturating loss, random 1x32x32 data), then runs
`clgan bench --no-reference --json` and `clgan train dcgan --profile` for
the same shapes. Rounds alternate clgan, PyTorch, clgan, PyTorch ...; each
figure keeps its best (lowest) time over the rounds. Writes one Markdown
table of ratios (stdout, or --out FILE) and, with --json, the raw figures.

  clgan / PyTorch   clgan's time over PyTorch's (below 1: clgan faster)
  speed             PyTorch's time over clgan's: the issue's "0.7x" targets

PyTorch is for comparison only: nothing of clgan's build or tests needs it.
Run from the repository root after `make`, e.g.
  nice -n 19 python3 scripts/compare-pytorch.py --rounds 3 --out cmp.md
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

# (net, layer, transposed, Cin, Cout, Hin, k, stride, pad): cli/bench_conv.c's table.
NETS = {
    "fmnist32": [  # the demo's model: DCGAN-32, ngf = ndf = 32, nc = 1
        ("D1", 0, 1, 32, 32, 4, 2, 1), ("D2", 0, 32, 64, 16, 4, 2, 1),
        ("D3", 0, 64, 128, 8, 4, 2, 1), ("D4", 0, 128, 1, 4, 4, 1, 0),
        ("G1", 1, 100, 128, 1, 4, 1, 0), ("G2", 1, 128, 64, 4, 4, 2, 1),
        ("G3", 1, 64, 32, 8, 4, 2, 1), ("G4", 1, 32, 1, 16, 4, 2, 1)],
    "dcgan32": [  # ngf = ndf = 64, nc = 3
        ("D1", 0, 3, 64, 32, 4, 2, 1), ("D2", 0, 64, 128, 16, 4, 2, 1),
        ("D3", 0, 128, 256, 8, 4, 2, 1), ("D4", 0, 256, 1, 4, 4, 1, 0),
        ("G1", 1, 100, 256, 1, 4, 1, 0), ("G2", 1, 256, 128, 4, 4, 2, 1),
        ("G3", 1, 128, 64, 8, 4, 2, 1), ("G4", 1, 64, 3, 16, 4, 2, 1)],
    "dcgan64": [
        ("D1", 0, 3, 64, 64, 4, 2, 1), ("D2", 0, 64, 128, 32, 4, 2, 1),
        ("D3", 0, 128, 256, 16, 4, 2, 1), ("D4", 0, 256, 512, 8, 4, 2, 1),
        ("D5", 0, 512, 1, 4, 4, 1, 0), ("G1", 1, 100, 512, 1, 4, 1, 0),
        ("G2", 1, 512, 256, 4, 4, 2, 1), ("G3", 1, 256, 128, 8, 4, 2, 1),
        ("G4", 1, 128, 64, 16, 4, 2, 1), ("G5", 1, 64, 3, 32, 4, 2, 1)],
}
DIRS = ("fwd", "bwd_data", "bwd_weight")
BATCH = 64


def out_side(h, k, s, p, transposed):
    return (h - 1) * s - 2 * p + k if transposed else (h + 2 * p - k) // s + 1


def layer_flops(layer):
    """2 x the multiply-adds of one pass (the same for all three)."""
    _, tr, cin, cout, h, k, s, p = layer
    small = h if tr else out_side(h, k, s, p, tr)  # the conv-side output plane
    return 2.0 * BATCH * cin * cout * k * k * small * small


# ---- PyTorch ---------------------------------------------------------------

def torch_layer_ops(torch, layer, dev):
    """The three passes as closures, through aten.convolution_backward (what
    autograd calls) so each direction is timed alone."""
    _, tr, cin, cout, h, k, s, p = layer
    ho = out_side(h, k, s, p, tr)
    x = torch.randn(BATCH, cin, h, h, device=dev)
    w = torch.randn(*((cin, cout, k, k) if tr else (cout, cin, k, k)), device=dev)
    dy = torch.randn(BATCH, cout, ho, ho, device=dev)
    conv = torch.nn.functional.conv_transpose2d if tr else torch.nn.functional.conv2d
    bwd = torch.ops.aten.convolution_backward

    def back(mask):
        return lambda: bwd(dy, x, w, None, [s, s], [p, p], [1, 1], bool(tr), [0, 0], 1, mask)

    return {"fwd": lambda: conv(x, w, stride=s, padding=p),
            "bwd_data": back([True, False, False]),
            "bwd_weight": back([False, True, False])}


def synced(torch, dev, fn):
    """fn, then (on a GPU) a wait for the device: the time of the work itself."""
    if dev == "cpu":
        return fn

    def run_and_wait():
        fn()
        torch.cuda.synchronize()
    return run_and_wait


def best_time(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def torch_dcgan(torch, nz, ngf, ndf, nc, size):
    """pytorch/examples' DCGAN for size x size images (32: 4 layers each, 64: 5)."""
    nn = torch.nn
    n = {32: 4, 64: 5}[size]
    g, mult = [], 2 ** (n - 2)
    g += [nn.ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * mult),
          nn.ReLU(True)]
    while mult > 1:
        g += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),
              nn.BatchNorm2d(ngf * mult // 2), nn.ReLU(True)]
        mult //= 2
    g += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
    d = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    mult = 1
    while mult < 2 ** (n - 2):
        d += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False),
              nn.BatchNorm2d(ndf * mult * 2), nn.LeakyReLU(0.2, True)]
        mult *= 2
    d += [nn.Conv2d(ndf * mult, 1, 4, 1, 0, bias=False)]  # a logit: BCEWithLogits, as clgan
    return nn.Sequential(*g), nn.Sequential(*d)


def torch_step_fn(torch, args):
    """One pytorch/examples DCGAN step: D on real and on G(z).detach(), Adam;
    then G through D's second look at the same fake, Adam."""
    nz, dev, size = 100, args.torch_device, args.image_size
    g, d = torch_dcgan(torch, nz, args.ngf, args.ndf, 1, size)
    g, d = g.to(dev), d.to(dev)
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    crit = torch.nn.BCEWithLogitsLoss()
    real = torch.rand(BATCH, 1, size, size, device=dev) * 2 - 1
    ones, zeros = torch.ones(BATCH, device=dev), torch.zeros(BATCH, device=dev)

    def step():
        d.zero_grad()
        crit(d(real).view(-1), ones).backward()
        fake = g(torch.randn(BATCH, nz, 1, 1, device=dev))
        crit(d(fake.detach()).view(-1), zeros).backward()
        od.step()
        g.zero_grad()
        crit(d(fake).view(-1), ones).backward()
        og.step()

    return synced(torch, dev, step)


def median_time(fn, steps, warmup=2):
    """Median of single steps: a step stalled by another job's time slice
    (OpenMP threads wait for each other) does not count."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def torch_round(torch, args, nets, res):
    with torch.no_grad():
        for net in nets:
            for layer in NETS[net]:
                ops = torch_layer_ops(torch, layer, args.torch_device)
                for dr in DIRS:
                    key = "conv_%s_%s_%s" % (net, layer[0], dr)
                    fn = synced(torch, args.torch_device, ops[dr])
                    res.setdefault(key, []).append(best_time(fn, args.reps))
    if args.steps > 0:
        step = torch_step_fn(torch, args)
        res.setdefault("step", []).append(median_time(step, args.steps))


# ---- clgan -----------------------------------------------------------------

def run(cmd, env=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if r.returncode != 0:
        sys.exit("compare-pytorch: %s failed (%d):\n%s" % (" ".join(cmd), r.returncode,
                                                           r.stdout[-3000:]))
    return r.stdout


def clgan_round(args, binary, nets, res, info):
    with tempfile.TemporaryDirectory() as tmp:
        for net in nets:
            path = os.path.join(tmp, net + ".json")
            text = run([binary, "bench", "--no-reference", "--filter", "conv_%s_" % net,
                        "--reps", str(args.reps), "--json", path] + args.device_args, args.env)
            m = re.search(r"^device: (.*)$", text, re.M)
            if m:
                info["device"] = m.group(1)
            with open(path) as f:
                for r in json.load(f):
                    if r["impl"] == "clgan" and r["name"].startswith("conv_"):
                        res.setdefault(r["name"], []).append(r["ms"])
        if args.steps > 0:
            out = os.path.join(tmp, "train")
            text = run([binary, "train", "dcgan", "--ngf", str(args.ngf), "--ndf",
                        str(args.ndf), "--image-size", str(args.image_size), "--steps", str(args.steps + 1), "--profile",
                        "--sample-every", "0", "--ckpt-every", "0", "--log-every", "1000",
                        "--out", out] + args.data_args + args.device_args, args.env)
            m = re.search(r"^\s*step\s+([0-9.]+) ms per step", text, re.M)
            if not m:
                sys.exit("compare-pytorch: no step time in clgan train --profile:\n" + text)
            res.setdefault("step", []).append(float(m.group(1)))


# ---- the table ---------------------------------------------------------------

def peak_gflops(args, info):
    cu, mhz = info.get("compute_units"), info.get("clock_mhz")
    if not cu or not mhz:
        return None
    return cu * args.fma_lanes * 2 * mhz / 1e3


def table(args, nets, ours, theirs, info, base):
    """The ratio table; with a baseline (--baseline) a column of its times
    and the speed-up of clgan over it."""
    peak = peak_gflops(args, info)
    bh, bs = ("baseline ms | ", "---: | ") if base else ("", "")
    lines = ["| layer, pass | shape | %sclgan ms | PyTorch ms | clgan / PyTorch | speed | "
             "%sclgan GFLOP/s | %% of peak |" % (bh, "vs baseline | " if base else ""),
             "| --- | --- | %s---: | ---: | ---: | ---: | %s---: | ---: |" % (bs, bs)]
    for net in nets:
        sum_o = sum_t = sum_b = 0.0
        for layer in NETS[net]:
            name, tr, cin, cout, h, k, s, p = layer
            shape = "%s %d->%d %dx%d k%d s%d p%d" % ("convT" if tr else "conv", cin, cout, h, h,
                                                  k, s, p)
            fl = layer_flops(layer)
            for dr in DIRS:
                key = "conv_%s_%s_%s" % (net, name, dr)
                if key not in ours or key not in theirs:
                    continue
                o, t = min(ours[key]), min(theirs[key])
                b = min(base[key]) if base else 0.0
                sum_o, sum_t, sum_b = sum_o + o, sum_t + t, sum_b + b
                gf = fl / (o * 1e6)
                pk = "%.1f%%" % (100 * gf / peak) if peak else "-"
                bc, sc = ("%.2f | " % b, "%.2fx | " % (b / o)) if base else ("", "")
                lines.append("| %s %s %s | %s | %s%.2f | %.2f | %.2f | %.2fx | %s%.1f | %s |" % (
                    net, name, dr, shape, bc, o, t, o / t, t / o, sc, gf, pk))
        if sum_t > 0:
            bc, sc = ("**%.1f** | " % sum_b, "**%.2fx** | " % (sum_b / sum_o)) if base else ("", "")
            lines.append("| **%s, all conv passes** | | %s**%.1f** | **%.1f** | **%.2f** | "
                         "**%.2fx** | %s| |" % (net, bc, sum_o, sum_t, sum_o / sum_t,
                                                 sum_t / sum_o, sc))
    if "step" in ours and "step" in theirs:
        o, t = min(ours["step"]), min(theirs["step"])
        b = min(base["step"]) if base and "step" in base else 0.0
        bh = " baseline |" if base else ""
        bs = " ---: |" if base else ""
        lines += ["", "| DCGAN-%d training step (ngf = %d, ndf = %d, batch %d) |%s clgan | "
                  "PyTorch | clgan / PyTorch |" % (args.image_size, args.ngf, args.ndf, BATCH, bh),
                  "| --- |%s ---: | ---: | ---: |" % bs,
                  "| ms per step |%s %.1f | %.1f | %.2f |" % (
                      " %.1f |" % b if base else "", o, t, o / t),
                  "| images/s |%s %.0f | %.0f | %.2fx |" % (
                      " %.0f |" % (BATCH * 1e3 / b) if base else "", BATCH * 1e3 / o,
                      BATCH * 1e3 / t, t / o)]
    return "\n".join(lines)


def device_info(args, info):
    """PoCL's compute units and clock for the peak, from clinfo when present."""
    try:
        text = subprocess.run(["clinfo"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout
    except OSError:
        return
    m = re.search(r"Max compute units\s+(\d+)", text)
    if m:
        info["compute_units"] = int(m.group(1))
    m = re.search(r"Max clock frequency\s+(\d+)", text)
    if m:
        info["clock_mhz"] = int(m.group(1))
    m = re.search(r"Platform Version\s+(.*)", text)
    if m:
        info["platform"] = m.group(1).strip()


def cuda_lanes(torch):
    """FP32 cores per SM (NVIDIA's CUDA C guide, arithmetic throughput table):
    128 from compute capability 8.6 on (and 5.x, 6.1), 64 on 6.0, 7.x and 8.0."""
    major, minor = torch.cuda.get_device_capability(0)
    return 64 if (major, minor) in ((6, 0), (8, 0)) or major == 7 else 128


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            return m.group(1) if m else platform.processor()
    except OSError:
        return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clgan", default="build/clgan")
    ap.add_argument("--baseline", help="another clgan binary (say, before a change) timed in "
                                       "the same rounds: a column of its times and the speed-up")
    ap.add_argument("--nets", default="fmnist32", help="comma list of: " + ", ".join(NETS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10, help="timed runs per pass and round")
    ap.add_argument("--steps", type=int, default=8,
                    help="training steps timed per round (0: no training step)")
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--ndf", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0,
                    help="threads on both sides: PyTorch's set_num_threads and PoCL's "
                         "POCL_MAX_PTHREAD_COUNT (default: the device's compute units, "
                         "PoCL left as it is)")
    ap.add_argument("--fma-lanes", type=int,
                    help="float FMAs per cycle and compute unit for the peak (default on a "
                         "CPU 16: two 256-bit FMA pipes, AVX2 cores and AMD Zen 4; 32: two "
                         "512-bit pipes; with --torch-device cuda, the FP32 cores per SM of "
                         "the GPU's compute capability)")
    ap.add_argument("--device", help="clgan --device")
    ap.add_argument("--torch-device", default="cpu",
                    help="PyTorch's device: cpu, or cuda to compare clgan on an NVIDIA GPU "
                         "(NVIDIA's OpenCL) with PyTorch CUDA (cuDNN) on the same GPU")
    ap.add_argument("--tf32", action="store_true",
                    help="let PyTorch CUDA use TF32 tensor cores (its default for convolutions); "
                         "off by default: float32 on both sides")
    ap.add_argument("--image-size", type=int, default=32, choices=(32, 64),
                    help="the training step's DCGAN (clgan train --image-size)")
    ap.add_argument("--data", help="clgan train --data (default: its own default)")
    ap.add_argument("--out", help="write the Markdown here")
    ap.add_argument("--json", help="write every round's raw times here")
    args = ap.parse_args()
    nets = [n for n in args.nets.split(",") if n]
    for n in nets:
        if n not in NETS:
            sys.exit("compare-pytorch: unknown net '%s' (%s)" % (n, ", ".join(NETS)))
    try:
        import torch
    except ImportError:
        sys.exit("compare-pytorch: PyTorch is not installed for %s; install it (e.g. in a venv: "
                 "python3 -m venv /tmp/venv && /tmp/venv/bin/pip install torch) and run this "
                 "script with that python. Nothing was measured." % sys.executable)
    for b in [args.clgan] + ([args.baseline] if args.baseline else []):
        if not os.access(b, os.X_OK):
            sys.exit("compare-pytorch: %s not found: run make first" % b)
    args.device_args = ["--device", args.device] if args.device else []
    args.data_args = ["--data", args.data] if args.data else []
    info = {}
    device_info(args, info)
    args.env = None
    if args.threads:
        args.env = dict(os.environ, POCL_MAX_PTHREAD_COUNT=str(args.threads))
        info["compute_units"] = args.threads  # PoCL reports what it is allowed
    threads = args.threads or info.get("compute_units") or os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    if args.fma_lanes is None:
        args.fma_lanes = cuda_lanes(torch) if args.torch_device != "cpu" else 16
    if args.torch_device != "cpu":
        torch.backends.cudnn.benchmark = True  # cuDNN's own per-shape tuning, as users run it
        # float32 arithmetic as clgan's, unless asked: TF32 tensor cores round inputs to 10 bits
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
    ours, theirs, base = {}, {}, {}
    load0 = os.getloadavg()[0]
    for r in range(args.rounds):
        if args.baseline:
            print("round %d/%d: baseline" % (r + 1, args.rounds), file=sys.stderr, flush=True)
            clgan_round(args, args.baseline, nets, base, info)
        print("round %d/%d: clgan" % (r + 1, args.rounds), file=sys.stderr, flush=True)
        clgan_round(args, args.clgan, nets, ours, info)
        print("round %d/%d: PyTorch" % (r + 1, args.rounds), file=sys.stderr, flush=True)
        torch_round(torch, args, nets, theirs)
    peak = peak_gflops(args, info)
    where = ("%d threads, oneDNN %s) on the same CPU" % (threads,
             torch.backends.mkldnn.is_available()) if args.torch_device == "cpu" else
             "CUDA %s, cuDNN %s) on the same GPU, %s" % (
                 torch.version.cuda, torch.backends.cudnn.version(),
                 torch.cuda.get_device_name(0)) + (", TF32 on" if args.tf32 else ", TF32 off"))
    head = [
        "clgan against PyTorch %s (%s, %s UTC." % (
            torch.__version__, where, time.strftime("%Y-%m-%d %H:%M", time.gmtime())),
        "CPU: %s; clgan device: %s; %s." % (cpu_model(), info.get("device", "?"),
                                           info.get("platform", "platform unknown")),
        "Best of %d interleaved rounds (baseline if any, clgan, PyTorch, ...), each the best "
        "of %d runs; training step: the best round of %d steps (clgan: the mean step of "
        "`train dcgan --profile`, its first step left out; PyTorch: the median step)."
        % (args.rounds, args.reps, args.steps),
        "Peak: %s." % ("%d compute units x %d FMA lanes x 2 x %.3f GHz = %.0f GFLOP/s" % (
            info["compute_units"], args.fma_lanes, info["clock_mhz"] / 1e3, peak)
            if peak else "unknown (no clinfo)"),
        "Load average (1 min) %.1f before, %.1f after: other jobs on the machine slow both "
        "sides, PyTorch's spinning OpenMP threads more than PoCL's." % (load0, os.getloadavg()[0]),
        "Command: `%s`" % " ".join([os.path.basename(sys.executable)] + sys.argv), ""]
    md = "\n".join(head) + "\n" + table(args, nets, ours, theirs, info, base) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(md)
    print(md)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"clgan": ours, "pytorch": theirs, "baseline": base, "info": info,
                       "threads": threads,
                       "torch": torch.__version__, "median_clgan":
                       {k: statistics.median(v) for k, v in ours.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
