#!/bin/sh
# The README's first command: install, build, and watch nfacctd aggregate a
# bundled NetFlow v5 sample received on 127.0.0.1 (JSON on stdout).
set -e
cd "$(dirname "$0")/.."
contrib/deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
[ -f Makefile ] || ./configure --quiet
make -j"$(nproc)" --quiet nfacctd
LOG=$(mktemp)
./nfacctd -f contrib/examples/demo.conf 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$LOG"' EXIT
# wait until the collector is bound (it says so), not a fixed sleep
i=0
until grep -q "waiting for NetFlow/IPFIX data" "$LOG"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$LOG"; exit 1; }
	kill -0 $PID 2>/dev/null || { cat "$LOG"; exit 1; }
	sleep 0.1
done
cat "$LOG"
/usr/bin/python3 contrib/examples/send_sample.py 20550 127.0.0.1
echo "--- aggregates (printed at the next 5 s boundary and on exit) ---" >&2
sleep 6
kill -INT $PID
wait $PID
trap - EXIT
rm -f "$LOG"
