#!/usr/bin/env bash
# netacct benchmark: replay pre-built NetFlow over loopback into netacct's
# nfacctd, then into Debian's pmacct nfacctd and nfdump's nfcapd, same input,
# one after the other, and compare records accounted per CPU-second; and into
# tests/bench/recvfloor, which only receives (the socket's share of the cost).
# See README.md.
#
# Usage: tests/bench/run.sh [SCENARIO...]   a b c d e s (default): e = 1M keys,
#        s = 1 vs 2 workers from many exporters; x = exactness check
# Environment:
#   BENCH_SECONDS   send duration per run (default 10)
#   BENCH_DAEMONS   which daemons, in order (default "netacct pmacct nfcapd floor")
#   BENCH_SOURCES   exporters (sender sockets, 127.0.0.1..N; default 4)
#   BENCH_WORKERS   netacct reactor_workers (default: unset = online CPUs)
#   BENCH_RATE_B    send rate of scenario b, records/s (default 2200000)
#   BENCH_RATE_E    send rate of scenario e (1M keys), records/s (default 400000)
#   BENCH_SCALE_SOURCES  exporters in scenario s (default 32: 127.0.0.1..32)
#   BENCH_RATE      pace scenarios a, c and d at this many records/s (default: full speed)
#   BENCH_KEYS      keys of scenarios a, c, d and v (default 64)
#   BENCH_PIPE      receive buffer (nfacctd_pipe_size, nfcapd -B), bytes (default 33554432);
#                   "default": netacct gets no nfacctd_pipe_size (its own default buffer)
#   BENCH_PLUGIN_CONF  pmacct core->plugin pipe keys (netacct ignores them)
#   BENCH_EXTRA_CONF   more config lines for both daemons
#   BENCH_KEEP      keep the work directory (configs, logs, outputs)
#   BENCH_REPEAT    runs of each daemon per scenario, interleaved (default 1); the
#                   ratios use each daemon's median records per CPU-second
#   NETACCT_BUILDDIR  build tree holding nfacctd and tests/bench/nfsend
#   NETACCT_NFACCTD, PMACCT_NFACCTD, NFCAPD, NFDUMP, NFSEND, RECVFLOOR  explicit binaries
# It builds nothing: run `make` (or `make bench`) first.
set -euo pipefail
set -m # own process groups: background daemons must not inherit SIGINT=ignored

here=$(cd "$(dirname "$0")" && pwd)
builddir=${NETACCT_BUILDDIR:-$(cd "$here/../.." && pwd)}
NETACCT=${NETACCT_NFACCTD:-$builddir/nfacctd}
PMACCT=${PMACCT_NFACCTD:-/usr/sbin/nfacctd}
NFCAPD=${NFCAPD:-/usr/bin/nfcapd}
NFDUMP=${NFDUMP:-/usr/bin/nfdump}
NFSEND=${NFSEND:-$builddir/tests/bench/nfsend}
RECVFLOOR=${RECVFLOOR:-$builddir/tests/bench/recvfloor}
SECS=${BENCH_SECONDS:-10}
DAEMONS=${BENCH_DAEMONS:-netacct pmacct nfcapd floor}
SOURCES=${BENCH_SOURCES:-4}
RATE_B=${BENCH_RATE_B:-2200000}
RATE_E=${BENCH_RATE_E:-400000}
SCALE_SOURCES=${BENCH_SCALE_SOURCES:-32}
RATE=${BENCH_RATE:-}
PIPE=${BENCH_PIPE:-33554432}
KEYS=${BENCH_KEYS:-64}
REPEAT=${BENCH_REPEAT:-1}
REFRESH=5
PLUGIN_CONF=${BENCH_PLUGIN_CONF-"plugin_pipe_size: 10240000
plugin_buffer_size: 10240"}
SCENARIOS=()
for s in "$@"; do
	case $s in
	x) SCENARIOS+=(x5 x9 x10) ;;
	*) SCENARIOS+=("$s") ;;
	esac
done
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(a b c d e s)
AGG_BENCH="src_host, dst_host, src_port, dst_port, proto"
AGG_WIDE="src_host, dst_host, src_port, dst_port, proto, tos, src_as, dst_as, in_iface, out_iface, src_mask, dst_mask, tcpflags"

die() { echo "bench: $*" >&2; exit 2; }
[ -x "$NFSEND" ] || die "$NFSEND not built (run 'make' or 'make bench')"
for b in "$NETACCT" "$NFSEND"; do
	if [ -x "$b" ] && ldd "$b" 2>/dev/null | grep -q 'libasan'; then
		echo "bench: WARNING: $b is a sanitizer build (--enable-sanitizers): figures not representative" >&2
	fi
done
command -v python3 >/dev/null || die "python3 is required"

work=$(mktemp -d /tmp/netacct-bench.XXXXXX)
old_rmem=$(cat /proc/sys/net/core/rmem_max)
daemon_pid=
cleanup() {
	# set -m: the daemon leads its own process group, which holds pmacct's
	# plugin processes too.
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -KILL -- "-$daemon_pid" 2>/dev/null || kill -KILL "$daemon_pid" 2>/dev/null || true
	fi
	if [ "$(cat /proc/sys/net/core/rmem_max)" != "$old_rmem" ]; then
		echo "$old_rmem" >/proc/sys/net/core/rmem_max 2>/dev/null || true
	fi
	[ -n "${BENCH_KEEP:-}" ] && echo "bench: work directory kept: $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Let both daemons get the SO_RCVBUF they ask for (root only; restored on exit).
if [ "$old_rmem" -lt "${PIPE/default/33554432}" ] && [ -w /proc/sys/net/core/rmem_max ]; then
	echo "${PIPE/default/33554432}" >/proc/sys/net/core/rmem_max
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# "TICKS HWM_KB NPROC" of a process tree: utime+stime of every process (all
# its threads) plus cutime+cstime (reaped children, e.g. pmacct's purge
# forks), and the sum of VmHWM.
tree_stats() {
	python3 - "$1" <<'EOF'
import os, sys
root = int(sys.argv[1])
kids, stat = {}, {}
for d in os.listdir('/proc'):
    if not d.isdigit():
        continue
    try:
        with open('/proc/%s/stat' % d) as f:
            s = f.read()
    except OSError:
        continue
    rest = s[s.rindex(')') + 2:].split()   # fields from 3 (state) on
    pid, ppid = int(d), int(rest[1])
    kids.setdefault(ppid, []).append(pid)
    stat[pid] = sum(int(x) for x in rest[11:15])   # utime stime cutime cstime
ticks = hwm = n = 0
todo = [root]
while todo:
    p = todo.pop()
    if p not in stat:
        continue
    n += 1
    ticks += stat[p]
    try:
        with open('/proc/%d/status' % p) as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    hwm += int(line.split()[1])
    except OSError:
        pass
    todo.extend(kids.get(p, []))
print(ticks, hwm, n)
EOF
}

tree_pids() {
	python3 - "$1" <<'EOF'
import os, sys
kids = {}
for d in os.listdir('/proc'):
    if d.isdigit():
        try:
            s = open('/proc/%s/stat' % d).read()
        except OSError:
            continue
        kids.setdefault(int(s[s.rindex(')') + 2:].split()[1]), []).append(d)
todo, out = [sys.argv[1]], []
while todo:
    p = todo.pop()
    out.append(p)
    todo.extend(kids.get(int(p), []))
print(' '.join(out))
EOF
}

# Kernel drops on full UDP receive buffers (global counter, /proc/net/snmp).
rcvbuf_errors() {
	awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RcvbufErrors"] }' /proc/net/snmp
}

# "RECORDS KEYS LINES" from a JSON-lines print output: sum of packets (each
# sent record carries packets=1), distinct 5-tuples, lines.
summarize() {
	python3 - "$1" <<'EOF'
import json, sys
pk, keys, lines = 0, set(), 0
try:
    f = open(sys.argv[1])
except OSError:
    print(0, 0, 0); sys.exit()
for line in f:
    line = line.strip()
    if not line.startswith('{'):
        continue
    try:
        o = json.loads(line)
    except ValueError:
        continue
    lines += 1
    pk += int(o.get('packets', 0))
    keys.add((o.get('ip_src'), o.get('ip_dst'), o.get('port_src'), o.get('port_dst'), o.get('ip_proto')))
print(pk, len(keys), lines)
EOF
}

# "RECORDS KEYS LINES" from nfcapd's files: it stores every record (no
# aggregation, so no key count); packets = records, each carrying packets=1.
summarize_nfcapd() {
	"$NFDUMP" -R "$1" -I 2>/dev/null | awk '/^Packets:/ { p += $2 } /^Flows:/ { f += $2 }
		END { print p + 0, "-", f + 0 }'
}

# write_config DAEMON DIR PORT AGGREGATE
write_config() {
	local daemon=$1 dir=$2 port=$3 agg=$4
	cat >"$dir/nfacctd.conf" <<EOF
! generated by tests/bench/run.sh for $daemon
logfile: $dir/nfacctd.log
nfacctd_ip: 127.0.0.1
nfacctd_port: $port
$([ "$PIPE" = default ] && [ "${daemon#netacct}" != "$daemon" ] || echo "nfacctd_pipe_size: ${PIPE/default/33554432}")
${PLUGIN_CONF}
plugins: print[bench]
aggregate[bench]: $agg
print_output[bench]: json
print_output_file[bench]: $dir/out.json
print_output_file_append[bench]: true
print_refresh_time[bench]: $REFRESH
EOF
	if [ -n "${BENCH_EXTRA_CONF:-}" ]; then
		printf '%s\n' "$BENCH_EXTRA_CONF" >>"$dir/nfacctd.conf"
	fi
	case $daemon in
	netacct) [ -z "${BENCH_WORKERS:-}" ] || echo "reactor_workers: $BENCH_WORKERS" >>"$dir/nfacctd.conf" ;;
	netacct1w) echo "reactor_workers: 1" >>"$dir/nfacctd.conf" ;;
	netacct2w) echo "reactor_workers: 2" >>"$dir/nfacctd.conf" ;;
	esac
}

# Ready = the log has every PATTERN.  pmacct logs "waiting for NetFlow/IPFIX
# data" from its core process before the print plugin process has finished
# starting, and what the core receives meanwhile never reaches the output; so
# for pmacct we also wait for the JSON plugin's last start-up line.
wait_ready() { # LOG PID PATTERN...
	local log=$1 pid=$2 p ok
	shift 2
	for _ in $(seq 1 200); do
		ok=1
		for p in "$@"; do
			grep -q -- "$p" "$log" 2>/dev/null || ok=0
		done
		[ $ok = 1 ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# Wait until the tree has stopped burning CPU (the backlog is drained):
# less than one tick per 0.5 s, at most 60 s.
wait_idle() { # PID
	local prev cur
	prev=$(tree_stats "$1" | cut -d' ' -f1)
	for _ in $(seq 1 120); do
		sleep 0.5
		cur=$(tree_stats "$1" | cut -d' ' -f1)
		[ $((cur - prev)) -le 1 ] && return 0
		prev=$cur
	done
	return 0
}

# run_one SCEN DAEMON BIN AGGREGATE NFSEND_ARGS...   appends a row to $work/results
run_one() {
	local scen=$1 daemon=$2 bin=$3 agg=$4
	shift 4
	local dir="$work/$scen-$daemon${rep_suffix:-}" port hz t0 t1 hwm n sendout sent rate dgrams
	local kd0 kd1 pids acc keys status=ok
	mkdir -p "$dir"
	port=$(free_port)
	write_config "$daemon" "$dir" "$port" "$agg"
	hz=$(getconf CLK_TCK)

	local ready=('waiting for NetFlow/IPFIX data')
	if [ "$daemon" = nfcapd ]; then
		# nfdump's collector: stores every record in its files (-t: one file
		# for the run), the same socket buffer as the others (-B)
		mkdir -p "$dir/flows"
		"$bin" -w "$dir/flows" -b 127.0.0.1 -p "$port" -B "${PIPE/default/33554432}" -t 3600 -v \
			>"$dir/nfacctd.log" 2>&1 &
		ready=('Startup nfcapd')
	elif [ "$daemon" = floor ]; then
		# the receive floor: netacct's sockets and read pattern, nothing else
		"$bin" --port "$port" --rcvbuf "${PIPE/default/33554432}" \
			${BENCH_WORKERS:+--workers "$BENCH_WORKERS"} >"$dir/nfacctd.log" 2>&1 &
		ready=('ready')
	else
		"$bin" -f "$dir/nfacctd.conf" >"$dir/stdout" 2>"$dir/stderr" &
	fi
	daemon_pid=$!
	[ "$daemon" = pmacct ] && ready+=('JSON: setting object handlers')
	if ! wait_ready "$dir/nfacctd.log" "$daemon_pid" "${ready[@]}"; then
		echo "bench: $daemon did not become ready; see below" >&2
		tail -n 5 "$dir/nfacctd.log" "$dir/stderr" >&2 2>/dev/null || true
		kill -KILL "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
		daemon_pid=
		printf '%s\t%s\tFAILED\n' "$scen" "$daemon" >>"$work/results"
		return 1
	fi
	sleep 0.2
	read -r t0 _ _ < <(tree_stats "$daemon_pid")
	kd0=$(rcvbuf_errors)

	sendout=$("$NFSEND" --quiet --port "$port" --sources "$SOURCES" "$@")
	sent=$(sed -n 's/.*records=\([0-9]*\).*/\1/p' <<<"$sendout")
	rate=$(sed -n 's/.* rate=\([0-9]*\).*/\1/p' <<<"$sendout")
	dgrams=$(sed -n 's/.* datagrams=\([0-9]*\).*/\1/p' <<<"$sendout")

	wait_idle "$daemon_pid"
	read -r t1 hwm n < <(tree_stats "$daemon_pid")
	kd1=$(rcvbuf_errors)
	pids=$(tree_pids "$daemon_pid")

	# pmacct: a SIGINT that lands while a refresh purge is running can make
	# the exit purge write the same entries again (seen with v9: every
	# counter doubled).  So wait for the next refresh purge to end, then stop
	# it right away, a whole refresh period away from the next one.
	if [ "$daemon" = pmacct ]; then
		local purged
		purged=$(grep -c 'Purging cache - END' "$dir/nfacctd.log" || true)
		for _ in $(seq 1 $((REFRESH * 20 + 40))); do
			[ "$(grep -c 'Purging cache - END' "$dir/nfacctd.log" || true)" -gt "$purged" ] && break
			sleep 0.05
		done
	fi
	kill -INT "$daemon_pid"
	for _ in $(seq 1 600); do
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$daemon_pid" 2>/dev/null; then
		echo "bench: $daemon did not exit 60 s after SIGINT; killed" >&2
		kill -KILL "$daemon_pid" 2>/dev/null || true
		status=killed
	fi
	wait "$daemon_pid" 2>/dev/null || true
	daemon_pid=
	# pmacct's plugin may outlive the core process by a moment: wait for it.
	for _ in $(seq 1 100); do
		local alive=0 p
		for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done

	# netacct counts its own sockets' kernel drops (kdrop is host-wide)
	local own=-
	case $daemon in netacct*)
		own=$(grep -o 'kernel_drops=[0-9]*' "$dir/nfacctd.log" | awk -F= '{ s += $2 } END { print s + 0 }') ;;
	esac
	if [ "$daemon" = nfcapd ]; then
		read -r acc keys _ < <(summarize_nfcapd "$dir/flows")
	elif [ "$daemon" = floor ]; then
		# it decodes nothing: records = datagrams read x the sender's records per datagram
		# (template datagrams left out: the sender counts them apart)
		local got tpl
		got=$(sed -n 's/^datagrams=\([0-9]*\).*/\1/p' "$dir/nfacctd.log")
		tpl=$(sed -n 's/.* templates=\([0-9]*\).*/\1/p' <<<"$sendout")
		got=$(( ${got:-0} - ${tpl:-0} ))
		acc=$(( dgrams > 0 && got > 0 ? got * sent / dgrams : 0 ))
		keys=-
	else
		read -r acc keys _ < <(summarize "$dir/out.json")
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$daemon" "$sent" "$rate" \
		"$acc" "$keys" "$((kd1 - kd0))" "$(( t1 - t0 ))" "$hz" "$hwm" "$n" "$status" "$dgrams" "$own" \
		>>"$work/results"
}

scenario_args() { # SCEN -> "label|nfsend args"
	local x="--keys 1000 --records 20000 --rate 200000" speed="full speed" pace=
	if [ -n "$RATE" ]; then
		speed="paced $RATE/s"
		pace="--rate $RATE "
	fi
	case $1 in
	x5|x9|x10) echo "exactness check, v${1#x}, 13 primitives|--version ${1#x} $x" ;;
	a) echo "v5, $KEYS keys, $speed|--version 5 --keys $KEYS $pace--duration $SECS" ;;
	b) echo "v5, 100k keys, paced $RATE_B/s|--version 5 --keys 100000 --rate $RATE_B --duration $SECS" ;;
	c) echo "v9, $KEYS keys, $speed|--version 9 --keys $KEYS $pace--duration $SECS" ;;
	d) echo "IPFIX, $KEYS keys, $speed|--version 10 --keys $KEYS $pace--duration $SECS" ;;
	e) echo "v5, 1M keys + exporter, paced $RATE_E/s|--version 5 --keys 1000000 --rate $RATE_E --duration $SECS" ;;
	v) echo "IPFIX + 2 vlen fields, $KEYS keys, $speed|--version 10 --vlen --keys $KEYS $pace--duration $SECS" ;;
	s) echo "v5, 64 keys, $SCALE_SOURCES exporters, full speed|--version 5 --keys 64 --duration $SECS" ;;
	*) die "unknown scenario '$1' (a b c d e v s x)" ;;
	esac
}

: >"$work/results"
failed=0
for s in "${SCENARIOS[@]}"; do
	IFS='|' read -r label args <<<"$(scenario_args "$s")"
	agg=$AGG_BENCH
	[ "${s#x}" != "$s" ] && agg=$AGG_WIDE
	# the memory goal's aggregate: 5-tuple + exporter, one exporter (1M aggregates)
	[ "$s" = e ] && agg="$AGG_BENCH, peer_src_ip"
	echo "bench: scenario $s ($label)" >&2
	daemons=$DAEMONS
	# scaling: netacct alone, one worker then two, exporters from many addresses
	[ "$s" = s ] && daemons="netacct1w netacct2w"
	# repeats interleave the daemons, so a slow spell of the host is shared
	for rep in $(seq 1 "$REPEAT"); do
	rep_suffix=
	[ "$rep" = 1 ] || rep_suffix=.$rep
	for d in $daemons; do
		case $d in
		netacct | netacct1w | netacct2w) bin=$NETACCT ;;
		pmacct) bin=$PMACCT ;;
		nfcapd) bin=$NFCAPD ;;
		floor) bin=$RECVFLOOR ;;
		*) die "unknown daemon '$d'" ;;
		esac
		if [ ! -x "$bin" ]; then
			echo "bench: $bin not found; skipping $d" >&2
			printf '%s\t%s\tMISSING\n' "$s" "$d" >>"$work/results"
			continue
		fi
		src=$SOURCES
		[ "$s" = s ] && src=$SCALE_SOURCES
		[ "$s" = e ] && src=1
		# shellcheck disable=SC2086 # args is a word list
		SOURCES=$src run_one "$s" "$d" "$bin" "$agg" $args || failed=1
	done
	done
done

# The table.  CPU = utime+stime of the daemon's whole process tree (threads,
# plugin processes, reaped children) from ready to drained, before SIGINT.
# rec/cpu-s counts records accounted; recv/cpu-s counts records that reached
# the daemon's socket (sent minus kernel receive-buffer drops), which credits
# a daemon for records it decoded and then lost internally (pmacct's
# core->plugin pipe).  kdrop is the host-wide UDP RcvbufErrors delta.
python3 - "$work/results" "${SCENARIOS[*]}" "$RATE" "$SECS" "$KEYS" <<'EOF'
import sys
sp = 'paced' if sys.argv[3] else 'full'
k = sys.argv[5] + ' keys, '
labels = {'a': 'a: v5, ' + k + sp, 'b': 'b: v5, 100k keys, paced',
          'c': 'c: v9, ' + k + sp, 'd': 'd: IPFIX, ' + k + sp,
          'e': 'e: v5, 1M keys+exp', 'v': 'v: IPFIX vlen, ' + k + sp,
          's': 's: 1 vs 2 workers, full',
          'x5': 'x5: v5 exactness', 'x9': 'x9: v9 exactness', 'x10': 'x10: IPFIX exactness'}
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if l.strip()]
hdr = ('scenario', 'daemon', 'sent', 'send/s', 'accounted', 'keys', 'loss', 'kdrop', 'owndrop',
       'cpu s', 'rec/cpu-s', 'recv/cpu-s', 'peakRSS MB', 'B/key', 'procs')
fmt = '%-24s %-9s %10s %9s %10s %7s %7s %8s %7s %6s %10s %10s %10s %6s %5s'
print(fmt % hdr)
per = {}
for r in rows:
    scen, daemon = r[0], r[1]
    if len(r) < 14:
        print('%-24s %-8s %s' % (labels.get(scen, scen), daemon, r[2]))
        continue
    sent, rate, acc, keys, kdrop, ticks, hz, hwm, n, status, dgrams, own = r[2:14]
    sent, acc, kdrop, ticks, hz, dgrams = map(int, (sent, acc, kdrop, ticks, hz, dgrams))
    cpu = ticks / hz
    loss = 1 - acc / sent if sent else 0.0
    # the daemon's own count when it has one: the host-wide one sees other traffic too
    drops = int(own) if own.isdigit() else kdrop
    recv = max(0, sent - drops * (sent / dgrams if dgrams else 0))
    rps = acc / cpu if cpu > 0 else 0.0
    rcps = recv / cpu if cpu > 0 else 0.0
    per.setdefault(scen, {}).setdefault(daemon, []).append((rps, rcps, acc))
    # peak memory per aggregate: meaningful where the keys dominate (b, e)
    bkey = '%.0f' % (int(hwm) * 1024 / int(keys)) if keys.isdigit() and int(keys) >= 10000 else '-'
    print(fmt % (labels.get(scen, scen), daemon, sent, rate, acc, keys, '%.2f%%' % (100 * loss),
                 kdrop, own, '%.2f' % cpu, '%.0f' % rps, '%.0f' % rcps, '%.1f' % (int(hwm) / 1024),
                 bkey, n)
          + ('' if status == 'ok' else '  [' + status + ']'))
print()
def median(runs):
    runs = sorted(runs)
    return runs[len(runs) // 2] if len(runs) % 2 else tuple(
        (a + b) / 2 for a, b in zip(runs[len(runs) // 2 - 1], runs[len(runs) // 2]))
runs = max(len(r) for p in per.values() for r in p.values()) if per else 0
per = {s: {d: median(r) for d, r in p.items()} for s, p in per.items()}
if runs > 1:
    print('(each ratio from the daemons\' medians of %d runs)' % runs)
# ceiling: the floor's records per CPU-second over the peer's, the ratio a
# collector would reach if everything but receiving cost it nothing
print('ratio                      records per CPU-second: accounted   received    ceiling')
for scen in sys.argv[2].split():
    if scen.startswith('x'):   # too little CPU to compare
        continue
    p = per.get(scen, {})
    for peer in ('pmacct', 'nfcapd'):
        if 'netacct' not in p or peer not in p:
            continue
        name = '%s (netacct/%s)' % (scen, peer)
        if p[peer][0] > 0:
            recv = '%.2fx' % (p['netacct'][1] / p[peer][1]) if p[peer][1] > 0 else 'n/a'
            ceil = '%.2fx' % (p['floor'][0] / p[peer][0]) if 'floor' in p else '-'
            print('%-26s %33.2fx %10s %10s' % (name, p['netacct'][0] / p[peer][0], recv, ceil))
        else:
            print('%-26s %34s' % (name, 'n/a (%s accounted nothing)' % peer))
    if 'netacct' in p and 'floor' in p and p['floor'][0] > 0:
        print('%-26s %33.0f%% (of netacct\'s CPU per record)'
              % (scen + ' (receiving)', 100 * p['netacct'][0] / p['floor'][0]))
    if 'netacct1w' in p and 'netacct2w' in p and p['netacct1w'][2] > 0:
        # scaling: records accounted in the same sending time, 2 workers over 1
        print('%-26s %33.2fx (records accounted, 2 workers / 1)'
              % ('s (scaling)', p['netacct2w'][2] / p['netacct1w'][2]))
EOF

# Exactness (scenario x): netacct's and pmacct's outputs must hold the same
# keys with the same packets and bytes (the sender paces slowly: no loss).
for s in "${SCENARIOS[@]}"; do
	[ "${s#x}" != "$s" ] || continue
	python3 - "$work/$s-netacct/out.json" "$work/$s-pmacct/out.json" "$s" <<'EOF' || failed=1
import json, sys
def load(path):
    out = {}
    for line in open(path):
        o = json.loads(line)
        k = tuple(sorted((a, str(b)) for a, b in o.items()
                         if a not in ('event_type', 'packets', 'bytes', 'flows')))
        c = out.setdefault(k, [0, 0])
        c[0] += int(o.get('packets', 0))
        c[1] += int(o.get('bytes', 0))
    return out
try:
    a, b = load(sys.argv[1]), load(sys.argv[2])
except (OSError, ValueError) as e:
    print('%s: cannot compare: %s' % (sys.argv[3], e)); sys.exit(1)
if a == b:
    print('%s: netacct == pmacct: %d keys, %d records, identical counters'
          % (sys.argv[3], len(a), sum(c[0] for c in a.values())))
    sys.exit(0)
print('%s: netacct != pmacct: %d/%d keys, only netacct %d, only pmacct %d, counters differ on %d'
      % (sys.argv[3], len(a), len(b), len(set(a) - set(b)), len(set(b) - set(a)),
         sum(1 for k in set(a) & set(b) if a[k] != b[k])))
sys.exit(1)
EOF
done
exit $failed
