#!/bin/sh
# nvidia-prepare.sh: what scripts/nvidia-check.sh needs on a GPU machine that
# has NVIDIA's driver and PyTorch but no build tools or Debian libraries:
# binaries built here without MPI (make B=build-gpu MPI=0), stripped, in
# .dev/build; the shared libraries they load in .dev/lib; the Fashion-MNIST
# files in .dev/data. Then carry `.dev` to the machine and run
# `scripts/nvidia-check.sh` there (about 40 MB travel).
set -eu
cd "$(dirname "$0")/.."
tests=$(ls tests/test_*.c | sed 's|tests/\(.*\)\.c|build-gpu/tests/\1|')
make -s B=build-gpu MPI=0 -j2 build-gpu/clgan $tests
rm -rf .dev && mkdir -p .dev/build/tests .dev/lib .dev/data
cp build-gpu/clgan .dev/build/
for t in $tests; do cp "$t" .dev/build/tests/; done
strip .dev/build/clgan .dev/build/tests/*
for l in libOpenCL.so.1 libclblast.so.1 libcmocka.so.0 libpng16.so.16; do
    cp -L "/lib/x86_64-linux-gnu/$l" .dev/lib/
done
src=${CLGAN_DATA_DIR:-/usr/share/datasets/fashion-mnist}
# the whole set: the model tests train on it (about 30 MB, 48 MB with the rest)
cp "$src"/*-ubyte.gz .dev/data/
du -sh .dev
