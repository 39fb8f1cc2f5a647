#!/bin/sh
# The README's second command (and CI's): install everything, build with
# AddressSanitizer/UBSan, run every test suite.  Fails on the first failure.
set -e
cd "$(dirname "$0")/.."
contrib/deps.sh --test
# A plain optimised build first: gcc -O2 finds maybe-uninitialized warnings the
# sanitizer build (-O1) does not.  It runs in a copy of the tracked (and new,
# not ignored) files so that the in-tree build below stays the one configured.
o2=$(mktemp -d "${TMPDIR:-/tmp}/netacct-O2.XXXXXX")
trap 'rm -rf "$o2"' EXIT
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$o2"
(cd "$o2" && ./autogen.sh >/dev/null 2>&1 && CFLAGS=-O2 ./configure --quiet --enable-werror &&
	make -j"$(nproc)" && make -j"$(nproc)" check TESTS=)
echo "-O2 --enable-werror build: passed"
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
make fuzz-decap FUZZ_RUNS=500000
make fuzz-packet FUZZ_RUNS=1000000
make fuzz-sflow FUZZ_RUNS=1000000
make fuzz-pretag FUZZ_RUNS=200000
make distcheck DISTCHECK_CONFIGURE_FLAGS=--quiet >/dev/null
echo "distcheck: passed"
grep -E '^# (TOTAL|PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' test-suite.log
make check-integration
