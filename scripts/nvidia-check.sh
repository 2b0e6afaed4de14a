#!/bin/sh
# nvidia-check.sh: run the test suites, the benchmark and short training runs
# on an NVIDIA GPU through NVIDIA's OpenCL, with binaries built on a Debian
# machine. Expects .dev/lib (libOpenCL.so.1 from ocl-icd, libclblast.so.1,
# libcmocka.so.0, libpng16.so.16) and .dev/data (Fashion-MNIST t10k images)
# beside build/. Writes logs and JSON under ${OUT:-/tmp/nvidia-out}.
set -u
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/nvidia-out}
mkdir -p "$out"
nv=$(ldconfig -p | awk '$1=="libnvidia-opencl.so.1" {print $NF; exit}')
[ -n "$nv" ] || nv=$(ls /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 2>/dev/null | head -n 1)
[ -n "$nv" ] || { echo "no libnvidia-opencl.so.1 here"; exit 1; }
icd=$(mktemp -d)
echo "$nv" > "$icd/nvidia.icd"
export OCL_ICD_VENDORS="$icd" LD_LIBRARY_PATH="$PWD/.dev/lib:${LD_LIBRARY_PATH:-}"
export XDG_CACHE_HOME=/tmp/clgan-cache CLGAN_DEVICE=NVIDIA
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
build/clgan devices | tee "$out/devices.txt"
build/clgan selfcheck 2>&1 | tee "$out/selfcheck.txt"
scripts/run-tests.sh $(ls build/tests/test_* | grep -v -e "\.[do]$" -e test_eval) > "$out/tests.txt" 2>&1
tail -n 3 "$out/tests.txt"
build/clgan bench --json "$out/bench.json" > "$out/bench.txt" 2>&1
tail -n 60 "$out/bench.txt"
for size in 32 64; do
    build/clgan train dcgan --data .dev/data/t10k-images-idx3-ubyte.gz --image-size $size \
        --steps 40 --log-every 10 --sample-every 0 --ckpt-every 0 --profile \
        --out "/tmp/dcgan$size" > "$out/train$size.txt" 2>&1
    tail -n 14 "$out/train$size.txt"
done
cp /tmp/dcgan32/samples/*.png "$out/" 2>/dev/null
python3 scripts/load-in-pytorch.py /tmp/dcgan32/checkpoint.safetensors -o "$out/pytorch.png" \
    > "$out/pytorch.txt" 2>&1
cat "$out/pytorch.txt"
