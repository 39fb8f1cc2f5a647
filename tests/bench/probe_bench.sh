#!/usr/bin/env bash
# nfprobe benchmark: one large capture (tests/bench/mkpcap.py) read with
# pcap_savefile by netacct's pmacctd and by Debian's pmacctd, each with an
# nfprobe output (IPFIX, 5-tuple + tos, a cache larger than the flows) exporting
# to nfdump's nfcapd on loopback, one after the other.  For each: wall time,
# packets/s, CPU per packet (user + system of the daemon and its children) and
# the flows and packets nfcapd received.  Build netacct without sanitizers.
#
# Usage: tests/bench/probe_bench.sh [PACKETS [FLOWS]]
# Environment: NETACCT_BUILDDIR (default: the tree), BENCH_KEEP=1 keeps the work dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
builddir=${NETACCT_BUILDDIR:-$(cd "$here/../.." && pwd)}
N=${1:-1000000}
FLOWS=${2:-10000}
PORT=${BENCH_PORT:-29995}
work=$(mktemp -d /var/tmp/netacct-probebench.XXXXXX)
cap_pid=
cleanup() {
	[ -z "$cap_pid" ] || kill "$cap_pid" 2>/dev/null || true
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
command -v nfcapd >/dev/null || { echo "nfcapd not found (apt-get install nfdump)"; exit 1; }
/usr/bin/python3 "$here/mkpcap.py" "$work/big.pcap" "$N" "$FLOWS"
echo "capture: $N packets, $FLOWS flows, $(du -m "$work/big.pcap" | cut -f1) MiB"

conf() {
	printf 'pcap_savefile: %s\nplugins: nfprobe\naggregate: src_host,dst_host,src_port,dst_port,proto,tos\nnfprobe_version: 10\nnfprobe_receiver: 127.0.0.1:%d\nnfprobe_maxflows: %d\n' \
		"$work/big.pcap" "$PORT" $((FLOWS * 2))
}

# collector NAME: a fresh nfcapd for one run
collector() {
	mkdir -p "$work/$1.flows"
	nfcapd -b 127.0.0.1 -p "$PORT" -w "$work/$1.flows" -B 33554432 >"$work/$1.nfcapd" 2>&1 &
	cap_pid=$!
	for _ in $(seq 100); do
		grep -q "Startup nfcapd" "$work/$1.nfcapd" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "nfcapd did not start"
	exit 1
}

# received NAME: stop the collector, print what it got
received() {
	kill -TERM "$cap_pid"
	wait "$cap_pid" || true
	cap_pid=
	nfdump -R "$work/$1.flows" -I 2>/dev/null |
		awk -F': ' '/^Flows:/ { f = $2 } /^Packets:/ { p = $2 } /^Sequence failures:/ { s = $2 }
		END { printf "  collector: %d flows, %d packets, %d sequence failures\n", f, p, s }'
}

# run NAME CMD...: wall seconds and CPU seconds of the command and its children
run() {
	local name=$1
	shift
	local t0 t1
	t0=$(date +%s.%N)
	/usr/bin/time -f "%U %S" -o "$work/$name.time" "$@" >"$work/$name.out" 2>&1
	t1=$(date +%s.%N)
	read -r u s <"$work/$name.time"
	awk -v n="$name" -v w="$(echo "$t1 - $t0" | bc)" -v u="$u" -v s="$s" -v p="$N" \
		'BEGIN { printf "%-18s wall %7.2f s  %10.0f packets/s  cpu %6.2f s  %7.0f ns/packet\n", n, w, p / w, u + s, (u + s) * 1e9 / p }'
}

conf >"$work/netacct.conf"
collector netacct
run netacct-pmacctd "$builddir/pmacctd" -f "$work/netacct.conf"
received netacct
if [ -x /usr/sbin/pmacctd ]; then
	conf >"$work/pmacct.conf"
	collector pmacct
	# its savefile reader sleeps 2 s before reading: in the wall time, not the CPU time
	run pmacct-pmacctd /usr/sbin/pmacctd -f "$work/pmacct.conf"
	received pmacct
fi
