#!/usr/bin/env python3
"""ssl-reference.py: openai/improved-gan's train_mnist_feature_matching.py
rewritten in PyTorch, as a yardstick for `clgan train ssl` (issue 12): the
same networks, losses, Adam (epsilon inside the square root), data-dependent
initialisation and schedule as the Theano original, on the IDX files clgan
reads. Never part of the build or the tests; it needs PyTorch.

    scripts/ssl-reference.py --train DIR/train-images-idx3-ubyte.gz \\
        --test DIR/t10k-images-idx3-ubyte.gz --count 10 --epochs 10 --seed 1

(the label files are read from beside the image files, MNIST-named). Prints,
after each epoch, the test accuracy of D itself, of the reference's weight
average (rate 1e-4 from zero, no correction) and of clgan's (rate 0.01,
bias-corrected). --unlabeled-weight 0 trains D on the labelled examples alone
(clgan's baseline). An epoch is (training images / batch) steps, as in the
reference; --steps caps the whole run."""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def labels_beside(images):
    d, b = os.path.split(images)
    for a, c in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1")):
        if a in b:
            return os.path.join(d, b.replace(a, c))
    sys.exit("no MNIST-named label file beside " + images)


def load(images):
    x = read_idx(images).reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(labels_beside(images)).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


class WNDense(torch.nn.Module):
    """nn.DenseLayer of the reference: W = theta * scale / ||theta|| (per
    output), scale trained only when train_scale, data-dependent init."""

    def __init__(self, n_in, n_out, train_scale=False, relu=True):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.randn(n_in, n_out) * 0.1)
        self.scale = torch.nn.Parameter(torch.ones(n_out), requires_grad=train_scale)
        self.b = torch.nn.Parameter(torch.zeros(n_out))
        self.relu = relu

    def forward(self, x, init=False):
        w = self.theta * (self.scale / torch.sqrt((self.theta ** 2).sum(0)))
        a = x @ w
        if init:
            with torch.no_grad():
                ma = a.mean(0)
                a = a - ma
                stdv = torch.sqrt((a ** 2).mean(0))
                a = a / stdv
                self.scale.data /= stdv
                self.b.data = -ma / stdv
        else:
            a = a + self.b
        return F.relu(a) if self.relu else a


class D(torch.nn.Module):
    def __init__(self):
        super().__init__()
        sizes = [784, 1000, 500, 250, 250, 250]
        self.hidden = torch.nn.ModuleList(WNDense(a, b) for a, b in zip(sizes, sizes[1:]))
        self.out = WNDense(250, 10, train_scale=True, relu=False)

    def forward(self, x, noisy=True, init=False, features=False):
        h = x + 0.3 * torch.randn_like(x) if noisy else x
        for k, layer in enumerate(self.hidden):
            h = layer(h, init)
            if features and k == len(self.hidden) - 1:
                return h  # layers[-3]: the last hidden dense layer, before its noise
            if noisy:
                h = h + 0.5 * torch.randn_like(h)
        return self.out(h, init)


class BN(torch.nn.Module):
    """nn.batch_norm(..., g=None): a shift, no scale, eps 1e-6, batch statistics."""

    def __init__(self, n):
        super().__init__()
        self.b = torch.nn.Parameter(torch.zeros(n))

    def forward(self, x):
        m = x.mean(0)
        c = x - m
        return c / torch.sqrt(1e-6 + (c ** 2).mean(0)) + self.b


class G(torch.nn.Module):
    def __init__(self):
        super().__init__()
        glorot = lambda a, b: (torch.rand(a, b) * 2 - 1) * math.sqrt(6.0 / (a + b))
        self.w1 = torch.nn.Parameter(glorot(100, 500))
        self.bn1 = BN(500)
        self.w2 = torch.nn.Parameter(glorot(500, 500))
        self.bn2 = BN(500)
        self.w3 = torch.nn.Parameter(glorot(500, 784))
        self.s3 = torch.nn.Parameter(torch.ones(784))  # l2normalize's W_scale
        self.b3 = torch.nn.Parameter(torch.zeros(784))

    def forward(self, n):
        z = torch.rand(n, 100)
        h = F.softplus(self.bn1(z @ self.w1))
        h = F.softplus(self.bn2(h @ self.w2))
        w = self.w3 * (self.s3 / torch.sqrt(1e-6 + (self.w3 ** 2).sum(0)))
        return torch.sigmoid(h @ w + self.b3)


class Adam:
    """nn.adam_updates: bias-corrected, epsilon 1e-8 inside the square root."""

    def __init__(self, params, lr, mom1=0.5, mom2=0.999):
        self.p = [p for p in params if p.requires_grad]
        self.m = [torch.zeros_like(p) for p in self.p]
        self.v = [torch.zeros_like(p) for p in self.p]
        self.lr, self.b1, self.b2, self.t = lr, mom1, mom2, 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        for p, m, v in zip(self.p, self.m, self.v):
            g = p.grad
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            mh = m / (1 - self.b1 ** self.t)
            vh = v / (1 - self.b2 ** self.t)
            p.sub_(self.lr * mh / torch.sqrt(vh + 1e-8))
            p.grad = None


def lse(x):
    return torch.logsumexp(x, 1)


@torch.no_grad()
def accuracy(d, params, x, y):
    saved = [p.detach().clone() for p in d.parameters()]
    for p, a in zip(d.parameters(), params):
        p.copy_(a)
    acc = (d(x, noisy=False).argmax(1) == y).float().mean().item()
    for p, s in zip(d.parameters(), saved):
        p.copy_(s)
    return acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", default="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    ap.add_argument("--test", default="/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
    ap.add_argument("--count", type=int, default=10, help="labelled examples per class")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: none)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--unlabeled-weight", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.RandomState(a.seed)
    x, y = load(a.train)
    tx, ty = load(a.test)
    inds = torch.from_numpy(rng.permutation(len(x)))
    x, y = x[inds], y[inds]
    lab = torch.cat([torch.nonzero(y == k)[: a.count, 0] for k in range(10)])
    xl, yl = x[lab], y[lab]
    d, g = D(), G()
    with torch.no_grad():
        d(x[:500], noisy=True, init=True)
    opt_d, opt_g = Adam(d.parameters(), a.lr), Adam(g.parameters(), a.lr)
    ref_avg = [torch.zeros_like(p) for p in d.parameters()]
    ema = [torch.zeros_like(p) for p in d.parameters()]
    batches = len(x) // a.batch
    step, t0 = 0, time.time()
    for epoch in range(a.epochs):
        reps = len(x) // len(xl)
        order = torch.cat([torch.from_numpy(rng.permutation(len(xl))) for _ in range(reps)])
        unl = x[torch.from_numpy(rng.permutation(len(x)))]
        unl2 = x[torch.from_numpy(rng.permutation(len(x)))]
        for t in range(batches):
            sl = slice(t * a.batch, (t + 1) * a.batch)
            xb, yb, ub = xl[order[sl]], yl[order[sl]], unl[sl]
            out_lab = d(xb)
            loss_lab = -out_lab.gather(1, yb[:, None]).mean() + lse(out_lab).mean()
            loss = loss_lab
            if a.unlabeled_weight > 0:
                with torch.no_grad():
                    fake = g(a.batch)
                l_unl, l_fake = lse(d(ub)), lse(d(fake))
                loss_unl = (-0.5 * l_unl.mean() + 0.5 * F.softplus(l_unl).mean()
                            + 0.5 * F.softplus(l_fake).mean())
                loss = loss + a.unlabeled_weight * loss_unl
            loss.backward()
            opt_d.step()
            step += 1
            with torch.no_grad():
                for p, r, e in zip(d.parameters(), ref_avg, ema):
                    r.add_(1e-4 * (p - r))
                    e.add_(0.01 * (p - e))
            if a.unlabeled_weight > 0:
                m_real = d(unl2[sl], features=True).mean(0).detach()
                m_fake = d(g(a.batch), features=True).mean(0)
                loss_g = ((m_fake - m_real) ** 2).mean()
                loss_g.backward()
                for p in d.parameters():
                    p.grad = None
                opt_g.step()
            if a.steps and step >= a.steps:
                break
        corr = 1 - 0.99 ** step
        ps = list(d.parameters())  # the hidden layers' fixed scales are not averaged
        fix = lambda avg: [v if p.requires_grad else p.detach() for p, v in zip(ps, avg)]
        acc = (accuracy(d, [p.detach() for p in ps], tx, ty), accuracy(d, fix(ref_avg), tx, ty),
               accuracy(d, fix([e / corr for e in ema]), tx, ty))
        print("epoch %d step %d (%.0f s): test acc D %.4f, reference average %.4f, "
              "clgan's average %.4f" % (epoch + 1, step, time.time() - t0, *acc), flush=True)
        if a.steps and step >= a.steps:
            break


if __name__ == "__main__":
    main()
