#!/bin/sh
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer: builds dproc with
# -DDPROC_SANITIZE=ON (gcc) in a directory of its own, runs the unit tests and the integration
# tests at 2 ranks there, then reads the sanitizers' logs: any memory error, undefined behaviour
# or leak allocated by dproc's own code fails. Leaks wholly inside Open MPI, libgomp and HDF5 are
# suppressed (tests/sanitize/lsan.supp, a comment for each) or, where their stacks cannot be
# followed into a library, counted and listed but not failed.
#   sh tests/sanitize/run.sh SOURCE_DIR BUILD_DIR
set -eu
src=$(cd "$1" && pwd)
build=$2
if grep -rnE '\b(v?asprintf)\(' "$src/src" "$src/kernels"; then
    echo "dproc code calls asprintf/vasprintf, which lsan.supp suppresses as Open MPI's" >&2
    exit 1
fi
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDPROC_SANITIZE=ON -DDPROC_SMPI=OFF \
    -DDPROC_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
logs=$(cd "$build" && pwd)/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# Reports go to files (one per process), so that the tests' own checks of stderr are unchanged;
# a memory error or undefined behaviour still ends the process with a non-zero status.
export ASAN_OPTIONS="log_path=$logs/asan:exitcode=86:detect_leaks=1:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$src/tests/sanitize/lsan.supp:print_suppressions=0:exitcode=0"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
export DPROC_SANITIZED=1
status=0
(cd "$build" && ctest -R '^unit_|_np2$' --output-on-failure --timeout 1800) || status=1
/usr/bin/python3 "$src/tests/sanitize/check_logs.py" "$logs" "$src" || status=1
exit $status
