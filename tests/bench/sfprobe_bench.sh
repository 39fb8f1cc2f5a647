#!/usr/bin/env bash
# sfprobe benchmark: one large capture (tests/bench/mkpcap.py) read with
# pcap_savefile by netacct's pmacctd (print alone; sfprobe at rate 1 and 100)
# and by Debian's pmacctd with its sfprobe plugin, exporting to udpsink on
# loopback; packets/s (wall clock), CPU per packet (user + system of the
# daemon and the children it waited for) and the datagrams the sink counted.
# Build without sanitizers.
#
# Usage: tests/bench/sfprobe_bench.sh [PACKETS [FLOWS]]
# Environment: NETACCT_BUILDDIR (default: the tree), BENCH_KEEP=1 keeps the work dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
builddir=${NETACCT_BUILDDIR:-$(cd "$here/../.." && pwd)}
N=${1:-1000000}
FLOWS=${2:-10000}
PORT=46343
work=$(mktemp -d /var/tmp/netacct-sfprobebench.XXXXXX)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/mkpcap.py" "$work/big.pcap" "$N" "$FLOWS"
echo "capture: $N packets, $FLOWS flows, $(du -m "$work/big.pcap" | cut -f1) MiB"

base="pcap_savefile: $work/big.pcap\nsnaplen: 128\n"
probe="plugins: sfprobe[s]\nsfprobe_receiver[s]: 127.0.0.1:$PORT\n"
printf "${base}plugins: print\naggregate: src_host,dst_host,src_port,dst_port,proto\nprint_output: csv\nprint_output_file: $work/p.csv\nprint_refresh_time: 3600\n" >"$work/print.conf"
printf "${base}${probe}" >"$work/sf1.conf"
printf "${base}${probe}sampling_rate: 100\n" >"$work/sf100.conf"
printf "${base}${probe}sampling_rate[s]: 1\nlogfile: $work/pm1.log\n" >"$work/pm1.conf"
printf "${base}${probe}sampling_rate[s]: 100\nlogfile: $work/pm100.log\n" >"$work/pm100.conf"

# run NAME CONF BINARY
run() {
	local name=$1 conf=$2 bin=$3 t0 t1 sink
	"$builddir/tests/bench/udpsink" "$PORT" 3000 >"$work/sink.out" &
	sink=$!
	# bound (its "ready" line sits in a buffer while stdout is a file)
	until ss -Huln "sport = :$PORT" | grep -q .; do sleep 0.05; done
	t0=$(date +%s.%N)
	# Debian's pmacctd may exit 1 at the end of a savefile (its plugin is gone first)
	/usr/bin/time -f "%U %S" -o "$work/$name.time" "$bin" -f "$conf" >"$work/$name.out" 2>&1 || true
	t1=$(date +%s.%N)
	# everything sent is in the sink's socket: once it has read it all, stop it
	until [ "$(ss -Huln "sport = :$PORT" | awk '{ print $2 }')" = 0 ]; do sleep 0.05; done
	kill -INT "$sink"
	wait "$sink" || true
	read -r u s < <(tail -1 "$work/$name.time")
	awk -v n="$name" -v w="$(echo "$t1 - $t0" | bc)" -v u="$u" -v s="$s" -v p="$N" \
		-v d="$(grep -o 'datagrams=[0-9]*' "$work/sink.out")" \
		'BEGIN { printf "%-20s wall %6.2f s %9.0f packets/s  cpu %6.2f s %6.0f ns/packet  %s\n", n, w, p / w, u + s, (u + s) * 1e9 / p, d }'
}

run netacct-print "$work/print.conf" "$builddir/pmacctd"
run netacct-sfprobe-1 "$work/sf1.conf" "$builddir/pmacctd"
run netacct-sfprobe-100 "$work/sf100.conf" "$builddir/pmacctd"
if [ -x /usr/sbin/pmacctd ]; then
	run debian-sfprobe-1 "$work/pm1.conf" /usr/sbin/pmacctd
	run debian-sfprobe-100 "$work/pm100.conf" /usr/sbin/pmacctd
fi
