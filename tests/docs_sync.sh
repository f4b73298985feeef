#!/bin/sh
# The job-file reference in docs/job-file.md is exactly what `dproc --help-job` prints (the
# option tables are the single source of truth). Regenerate the block with:
#   build/dproc --help-job   and paste it between the markers.
set -eu
doc=$1
dproc=$2
expected=$(mktemp)
actual=$(mktemp)
trap 'rm -f "$expected" "$actual"' EXIT
"$dproc" --help-job >"$expected"
sed -n '/^<!-- BEGIN dproc --help-job -->$/,/^<!-- END dproc --help-job -->$/p' "$doc" |
    sed '1d;$d' >"$actual"
if diff -u "$expected" "$actual"; then
    echo "1 passed, 0 failed"
else
    echo "docs/job-file.md is out of date with dproc --help-job"
    echo "0 passed, 1 failed"
    exit 1
fi
