#!/bin/sh
# Builds the job-file fuzz target with clang, AddressSanitizer and UndefinedBehaviorSanitizer
# (a build directory of its own), replays the kept regression inputs, then fuzzes for a bounded
# time from a seed corpus of the example jobs and the bad-job corpus. A crash, a leak or a
# sanitizer report fails the test; the input that caused it is written to the build directory
# (crash-*, leak-*) and belongs, once fixed, in tests/fuzz/regressions/ (made for the first one).
#   sh tests/fuzz/run.sh SOURCE_DIR BUILD_DIR SECONDS
set -eu
src=$1
build=$2
secs=$3
cc=$(command -v clang-14 || command -v clang || true)
if [ -z "$cc" ]; then
    echo "FAILED: clang is not installed (bash .ci/dev installs clang-14 and libfuzzer-14-dev)"
    exit 1
fi
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug -DDPROC_TESTS=OFF \
    -DDPROC_FUZZ=ON -DDPROC_SMPI=OFF >/dev/null
cmake --build "$build" --target fuzz_job -j"$(nproc)" >/dev/null
mkdir -p "$build/corpus"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
seeds="$src/jobs $src/tests/bad_jobs"
set -- "$src"/tests/fuzz/regressions/*
if [ -e "$1" ]; then # kept findings: replayed first, then seeds
    "$build/fuzz_job" "$@"
    seeds="$seeds $src/tests/fuzz/regressions"
fi
# shellcheck disable=SC2086 # the seed directories hold no blanks
"$build/fuzz_job" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -artifact_prefix="$build/" -print_final_stats=1 "$build/corpus" $seeds
echo "fuzz_job: no crash, leak or sanitizer report in $secs s"
