#!/bin/sh
# run-mpich.sh BUILD: the MPI suite (BUILD/tests/test_dist, linked with
# MPICH) under MPICH's launcher. The suite runs `mpirun` and `build/clgan`
# from its working folder: it runs in BUILD/mpich-run, where `build` is
# BUILD and `mpirun` (first on PATH) is MPICH's (Hydra finds its proxy
# beside the real binary, so a wrapper, not a link).
set -eu
b=$(cd "$1" && pwd)
run=$b/mpich-run
mkdir -p "$run/bin"
ln -sfn "$b" "$run/build"
printf '#!/bin/sh\nexec mpirun.mpich "$@"\n' > "$run/bin/mpirun"
chmod +x "$run/bin/mpirun"
export PATH="$run/bin:$PATH"
mpirun --version | sed -n '/Version:/{p;q}'
ldd "$b/clgan" | grep -q libmpich || { echo "run-mpich: $b/clgan is not linked with MPICH" >&2; exit 1; }
cd "$run"
exec "$b/tests/test_dist"
