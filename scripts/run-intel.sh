#!/bin/sh
# run-intel.sh BUILD BIN...: run the test suites on Intel's OpenCL CPU
# runtime, a second OpenCL implementation with its own compiler (beside PoCL),
# installed from PyPI wheels (intel-opencl-rt, tbb, intel-cmplr-lib-rt) under
# BUILD/intel the first time (about 700 MB; needs python3 -m pip and the
# network once). It runs on x86-64 CPUs, AMD's too.
#
# The runtime is registered through OCL_ICD_VENDORS (a folder with one .icd
# naming libintelocl.so by absolute path), so the system's ICD loader
# (ocl-icd) loads it and sees no other platform. The wheel's own
# libOpenCL.so is never put on the library path: BUILD/intel/deps links
# every library of the wheels but that one.
set -eu
b=$1
shift
root=$(cd "$b" && pwd)/intel
lib=$root/lib
if [ ! -f "$lib/libintelocl.so" ] || [ ! -f "$lib/libimf.so" ] || [ ! -f "$lib/libtbb.so.12" ]; then
    echo "clgan: installing Intel's OpenCL CPU runtime (PyPI wheels) under $root"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
        --no-warn-script-location --prefix "$root" intel-opencl-rt tbb intel-cmplr-lib-rt
fi
mkdir -p "$root/vendors" "$root/deps"
echo "$lib/libintelocl.so" > "$root/vendors/intel-cpu.icd"
for f in "$lib"/*.so*; do
    case $(basename "$f") in libOpenCL.so*) ;; *) ln -sf "$f" "$root/deps/" ;; esac
done
export OCL_ICD_VENDORS="$root/vendors"
export LD_LIBRARY_PATH="$root/deps${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CLGAN_DEVICE=0:0
unset CLGAN_NO_CACHE
# Say which device the suites run on, and stop if it is not Intel's.
devs=$("$b/clgan" devices 2>&1) || { printf '%s\n' "$devs"; exit 1; }
printf '%s\n' "$devs" | grep -q 'platform: Intel(R) OpenCL' || {
    printf 'run-intel: Intel'"'"'s platform is not the one listed:\n%s\n' "$devs"
    exit 1
}
printf '%s\n' "$devs" | sed -n '1,2p'
exec "$(dirname "$0")/run-tests.sh" "$@"
