#!/usr/bin/env bash
# Peak RSS per aggregate at 1M aggregates (5-tuple + exporter) with refreshes under
# traffic: one worker, print every 4 s, nfsend 1M keys at 400 000 records/s for 14 s.
# Usage: tests/bench/mem_bench.sh BUILDDIR   (VER=10 V6=4: IPFIX, a quarter of the keys IPv6)
set -euo pipefail
B=${1:?usage: mem_bench.sh BUILDDIR}; d=$(mktemp -d); P=$((20000 + RANDOM % 20000))
cat >$d/nfacctd.conf <<EOF
nfacctd_ip: 127.0.0.1
nfacctd_port: $P
nfacctd_pipe_size: 33554432
reactor_workers: 1
plugins: print[bench]
aggregate[bench]: src_host,dst_host,src_port,dst_port,proto,peer_src_ip
print_output[bench]: json
print_output_file[bench]: $d/out.json
print_output_file_append[bench]: true
print_refresh_time[bench]: 4
print_cache_entries[bench]: 200000
EOF
$B/nfacctd -f $d/nfacctd.conf 2>$d/log & pid=$!
until grep -q waiting $d/log; do sleep 0.1; done
( while kill -0 $pid 2>/dev/null; do grep VmHWM /proc/$pid/status 2>/dev/null | awk '{print $2}' > $d/hwm.tmp && mv $d/hwm.tmp $d/hwm; sleep 0.1; done ) &
$B/tests/bench/nfsend --quiet --port $P --sources 1 --version ${VER:-5} ${V6:+--v6 $V6} --keys 1000000 --rate 400000 --duration 14 >/dev/null
sleep 1; kill -INT $pid; wait $pid
hwm=$(cat $d/hwm); echo "peak ${hwm} kB  $((hwm*1024/1000000)) B/aggregate"; rm -rf $d
