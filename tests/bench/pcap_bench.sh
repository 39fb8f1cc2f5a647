#!/usr/bin/env bash
# Packet daemons benchmark: one large capture (tests/bench/mkpcap.py) read with
# pcap_savefile by netacct's pmacctd and Debian's pmacctd, and by nfdump's
# nfpcapd (-r), one after the other; packets/s (wall clock) and CPU per packet
# (user + system of the daemon and its children).  Build without sanitizers.
#
# Usage: tests/bench/pcap_bench.sh [PACKETS [FLOWS]]
# Environment: NETACCT_BUILDDIR (default: the tree), BENCH_KEEP=1 keeps the work dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
builddir=${NETACCT_BUILDDIR:-$(cd "$here/../.." && pwd)}
N=${1:-2000000}
FLOWS=${2:-10000}
work=$(mktemp -d /var/tmp/netacct-pcapbench.XXXXXX)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/mkpcap.py" "$work/big.pcap" "$N" "$FLOWS"
echo "capture: $N packets, $FLOWS flows, $(du -m "$work/big.pcap" | cut -f1) MiB"

conf() { # $1 output file
	printf 'pcap_savefile: %s\nplugins: print\naggregate: src_host,dst_host,src_port,dst_port,proto,tcpflags,flows\nprint_output: csv\nprint_output_file: %s\nprint_refresh_time: 3600\n' \
		"$work/big.pcap" "$1"
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
	awk -v n="$name" -v w="$(echo "$t1 - $t0" | bc)" -v u="$u" -v s="$s" -v p="$N" -v sub_="${2:-0}" \
		'BEGIN { printf "%-18s wall %7.2f s  %10.0f packets/s  cpu %6.2f s  %7.0f ns/packet\n", n, w, p / w, u + s, (u + s) * 1e9 / p }'
}

sum_packets() { awk -F, 'NR > 1 { s += $(NF-2) } END { print s + 0 }' "$1"; }

conf "$work/netacct.csv" >"$work/netacct.conf"
run netacct-pmacctd "$builddir/pmacctd" -f "$work/netacct.conf"
echo "  accounted $(sum_packets "$work/netacct.csv") packets"
if [ -x /usr/sbin/pmacctd ]; then
	conf "$work/pmacct.csv" >"$work/pmacct.conf"
	# its savefile reader sleeps 2 s before reading: in the wall time, not the CPU time
	run pmacct-pmacctd /usr/sbin/pmacctd -f "$work/pmacct.conf"
	echo "  accounted $(sum_packets "$work/pmacct.csv") packets (wall includes its 2 s start delay)"
fi
if command -v nfpcapd >/dev/null; then
	mkdir -p "$work/nfpcapd"
	run nfpcapd nfpcapd -r "$work/big.pcap" -l "$work/nfpcapd"
fi
