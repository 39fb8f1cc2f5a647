#!/bin/sh
# The README's second command (and CI's): install everything, build with
# AddressSanitizer/UBSan, run every test suite.  Fails on the first failure.
set -e
cd "$(dirname "$0")/.."
contrib/deps.sh --test
./autogen.sh >/dev/null 2>&1
./configure --quiet --enable-sanitizers --enable-werror
make -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
make check-docs
make check-format
make -j"$(nproc)" check || { cat test-suite.log; exit 1; }
make fuzz-nf9 FUZZ_RUNS=200000
make fuzz-conf FUZZ_RUNS=600000
make fuzz-maps FUZZ_RUNS=500000
make distcheck DISTCHECK_CONFIGURE_FLAGS=--quiet >/dev/null
echo "distcheck: passed"
grep -E '^# (TOTAL|PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' test-suite.log
make check-integration
