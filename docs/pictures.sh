#!/bin/sh
# Redraws the pictures of docs/visualization.md from the bundled example jobs at mpirun -np 2
# (1 thread per rank), in a scratch directory that sees the repository's data/ and jobs/.
#   sh docs/pictures.sh [BUILD_DIR]      (default: build)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dproc=$(cd "${1:-$root/build}" && pwd)/dproc
img=$root/docs/img
mkdir -p "$img"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run="mpirun --oversubscribe --bind-to none -np 2 $dproc -q --set run.threads=1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ln -s "$root/data" "$work/data"
ln -s "$root/jobs" "$work/jobs"
cd "$work"

# the stencil: its timeline and its final field
$run jobs/stencil_heat.ini
"$dproc" plot trace heat-trace.json -o "$img/trace-heat.svg"
cp heat.png "$img/heat.png"

# a streamed reduction of a file large enough to show reads in flight (80 MB)
$run jobs/make_input.ini
$run --set input.path=random.h5 --set input.dataset=/data --set run.chunk_mb=4 \
    --set run.prefetch=2 jobs/reduce_hdf5.ini
"$dproc" plot trace temperature-trace.json -o "$img/trace-reduce.svg"
echo "redrawn: $img/trace-heat.svg $img/heat.png $img/trace-reduce.svg"
