"""Process-level behaviour: daemonize, debug and syslog logging, and a stalled output.

A blocked output must never stall packet reception: the writer's queue is bounded and
what does not fit is dropped and counted, while the workers keep receiving.
"""
import os
import select
import signal
import socket
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import (NFACCTD, READY, Sender, base_config, free_port, read_json, read_text,
                      v5_datagram, wait_for)

GOOD = v5_datagram([dict(src="10.1.2.3", packets=5, octets=500)], seq=0)


def json_out(tmp_path, name="out.json"):
    out = Path(tmp_path) / name
    return out, "plugins: print[a]\naggregate: src_host\nprint_output: json\n" \
                "print_output_file: %s\n" % out


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_daemonize_pidfile_signals(tmp_path):
    """daemonize: the launcher returns at once, the daemon runs detached under the PID in
    the pidfile, answers SIGUSR1, flushes on SIGTERM and removes its pidfile."""
    port = free_port()
    out, plugin = json_out(tmp_path)
    log = tmp_path / "d.log"
    pidfile = tmp_path / "d.pid"
    conf = tmp_path / "d.conf"
    conf.write_text(base_config(port) + "daemonize: true\npidfile: %s\nlogfile: %s\n%s" %
                    (pidfile, log, plugin))
    launcher = subprocess.run([str(NFACCTD), "-f", str(conf)], cwd=str(tmp_path),
                              capture_output=True, text=True, timeout=10,
                              stdin=subprocess.DEVNULL)
    assert launcher.returncode == 0, launcher.stderr
    wait_for(lambda: READY in read_text(log), what="readiness in the log file")
    pid = int(wait_for(lambda: read_text(pidfile).strip(), what="pidfile"))
    try:
        assert pid_alive(pid)
        assert os.getsid(pid) != os.getsid(0)  # a session of its own, no controlling terminal
        Sender(port).send(GOOD)

        def counted():
            # ask again until the worker has read the datagram: the signal may come first
            os.kill(pid, signal.SIGUSR1)
            return "datagrams=1 " in read_text(log)
        wait_for(counted, what="a stats line counting the datagram")
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not pid_alive(pid), what="daemon exit")
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert not pidfile.exists()
    assert "SIGTERM received: flushing outputs and exiting" in read_text(log)
    assert read_json(out) == [{"event_type": "purge", "ip_src": "10.1.2.3", "packets": 5,
                               "bytes": 500}]


@pytest.mark.parametrize("debug", [True, False])
def test_debug_lines_only_with_debug(nfacctd, tmp_path, debug):
    out, plugin = json_out(tmp_path)
    d = nfacctd("debug: %s\n%s" % ("true" if debug else "false", plugin))
    d.stop()
    log = d.log_text()
    assert ("DEBUG ( default/core ): worker 0: socket" in log) == debug
    assert (" DEBUG " in log) == debug


def test_syslog_bad_facility_is_a_config_error(tmp_path):
    conf = tmp_path / "s.conf"
    conf.write_text(base_config(free_port()) + "syslog: kernel-of-doom\n")
    p = subprocess.run([str(NFACCTD), "-f", str(conf)], capture_output=True, text=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    assert p.returncode == 1
    assert "syslog: unknown facility 'kernel-of-doom'" in p.stderr


@pytest.mark.skipif(os.path.exists("/dev/log") or not os.access("/dev", os.W_OK),
                    reason="needs root and no syslog daemon owning /dev/log")
def test_syslog_lines_reach_dev_log(nfacctd, tmp_path):
    """With `syslog`, lines go to the local syslog socket (and to the log file too)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind("/dev/log")
    srv.settimeout(10)
    try:
        out, plugin = json_out(tmp_path)
        d = nfacctd("syslog: local3\n" + plugin)
        msgs = []
        wait_for(lambda: msgs.append(srv.recv(4096).decode(errors="replace")) or
                 any(READY in m for m in msgs), what="readiness line via syslog")
        d.stop()
    finally:
        srv.close()
        os.unlink("/dev/log")
    line = next(m for m in msgs if READY in m)
    # <PRI>: facility local3 (19) * 8 + info (6) = 158
    assert line.startswith("<158>")
    assert "INFO ( default/core ):" in line
    assert READY in d.log_text()


def test_stalled_output_drops_and_counts_but_reception_goes_on(nfacctd, tmp_path):
    """print_output_file is a FIFO nobody reads: the writer blocks in open().  Hand-offs
    beyond flush_queue_size are dropped and counted; the worker keeps receiving."""
    fifo = tmp_path / "stuck.fifo"
    os.mkfifo(fifo)
    d = nfacctd("plugins: print[a]\naggregate: src_host\nprint_output: csv\n"
                "print_output_file: %s\nprint_output_file_append: true\n"
                "print_refresh_time: 1\nflush_queue_size: 1\n" % fifo)
    s = Sender(d.port)
    s.send(GOOD)

    def dropped():
        st = d.stats()
        return st if st.outputs["a"]["dropped_tables"] >= 1 else None
    st = wait_for(dropped, what="a dropped hand-off")
    assert st.outputs["a"]["written_entries"] == 0
    # reception is unaffected while the writer is stuck
    before = st.total("datagrams")
    s.send(GOOD, GOOD)
    st = d.wait_datagrams(before + 2)
    assert st.total("records") == before + 2
    assert "writer queue full, interval dropped" in d.log_text()

    # unblock the writer: keep the FIFO open for reading until the daemon has exited, so
    # every queued interval and the final flush can be written
    got = []
    done = threading.Event()

    def drain():
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            while not done.is_set():
                r, _, _ = select.select([fd], [], [], 0.05)
                if r:
                    try:
                        got.append(os.read(fd, 65536))
                    except BlockingIOError:
                        pass  # readable, then taken: the writer reopens the FIFO each flush
        finally:
            os.close(fd)
    reader = threading.Thread(target=drain)
    reader.start()
    try:
        d.stop()
    finally:
        done.set()
        reader.join(10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    text = b"".join(got).decode()
    assert "10.1.2.3," in text  # appended rows (a FIFO gets no CSV header: it has no start)
