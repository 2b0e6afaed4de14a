#!/bin/sh
# install-deps.sh [fuzz]: install clgan's Debian packages that are missing.
# Does nothing when all are present; without root or sudo it prints the
# apt-get line to run and fails. `fuzz`: what `make fuzz` needs instead
# (clang and its libFuzzer runtime; `make test` does not need clang);
# `mpich`: MPICH beside Open MPI, for `make test-mpich` (Debian keeps Open
# MPI as mpicc and mpirun; MPICH's are mpicc.mpich and mpirun.mpich).
set -eu
PKGS="ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libclblast-dev libpng-dev
zlib1g-dev libcmocka-dev clinfo oclgrind dataset-fashion-mnist gnuplot-nox
libopenmpi-dev openmpi-bin"
if [ "${1:-}" = fuzz ]; then
    PKGS="clang"
    if command -v clang >/dev/null 2>&1 &&
       [ ! -f "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]; then
        # Debian ships the runtime as a recommendation of clang's own version.
        PKGS="clang libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
    fi
fi
[ "${1:-}" = mpich ] && PKGS="mpich libmpich-dev"
missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
echo "clgan: installing missing packages:$missing"
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
else
    echo "clgan: need root to install packages; run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
