#!/bin/sh
# demo.sh: what `make demo` runs after building. Until the DCGAN training
# issue lands, the demo lists the OpenCL devices and self-checks every kernel
# family on the default device (CLGAN_DEVICE or --device picks another).
set -eu
cd "$(dirname "$0")/.."
echo "== OpenCL devices (clgan devices)"
build/clgan devices
echo
echo "== Kernel self-check on the default device (clgan selfcheck)"
build/clgan selfcheck
