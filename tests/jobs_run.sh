#!/bin/sh
# Runs every example job in jobs/ as it is (2 ranks), from a scratch directory that sees the
# repository's data/ and jobs/, and checks that each exits 0 and writes what it names. The
# example plugins are those the build made beside dproc (plugins/).
set -eu
src=$1
mpiexec=$2
dproc=$3
DPROC_PLUGIN_PATH=$(cd "$(dirname "$dproc")" && pwd)/plugins
export DPROC_PLUGIN_PATH
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ln -s "$src/data" "$work/data"
ln -s "$src/jobs" "$work/jobs"
cd "$work"
passed=0
failed=0
for job in jobs/*.ini; do
    extra=""
    [ "$job" = jobs/make_input.ini ] && extra="--set input.shape=400,250"
    if timeout 120 $mpiexec -np 2 "$dproc" -q $extra "$job"; then
        echo "ok: $job"
        passed=$((passed + 1))
    else
        echo "FAILED: $job"
        failed=$((failed + 1))
    fi
done
for f in temperature-report.json ensemble-report.json ensemble-mean.h5 ensemble-mean-report.json time-mean.h5 temperature-trace.json heat-trace.json heat.png sample_sqrt.png sample_sqrt.h5 sample_sqrt-report.json sample_raw.h5 sample_raw-report.json random.h5 heat.h5 heat-report.json heat.ckpt.h5 star-report.json heat-cluster-report.json above-report.json temperature_f.h5 temperature_f-report.json http-status.tsv http-status-report.json wordcount.tsv wordcount-report.json stations-by-city.tsv stations-by-city-report.json; do
    if [ -s "$f" ]; then passed=$((passed + 1)); else echo "FAILED: $f not written"; failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
