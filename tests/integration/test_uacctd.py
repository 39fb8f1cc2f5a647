"""uacctd: packets from a real NFLOG group (issue 10).

In a network namespace the test creates, an nftables rule logs UDP datagrams to an
NFLOG group (`log group N`, input and output hooks) and uacctd accounts them: the
addresses, ports, the in/out interface from the NFLOG attributes, the MACs from the
hardware header the kernel passes for received packets, and the flows counter.
"""
import shutil
import signal
import subprocess

import pytest

from conftest import TIMEOUT, read_csv
from packet_util import (UACCTD, PacketDaemon, VethPair, need_netns, print_config, sh,
                         wait_packets)

GROUP = 7
AGG = ["src_mac", "dst_mac", "in_iface", "out_iface", "src_host", "dst_host", "src_port",
       "dst_port", "proto", "flows"]


def nft_log_rules(v):
    if not shutil.which("nft"):
        pytest.skip("nft not found (apt-get install nftables)")
    rules = """
table inet nt {
  chain in { type filter hook input priority 0; udp dport 9999 log group %d; }
  chain out { type filter hook output priority 0; udp dport 9998 log group %d; }
}
""" % (GROUP, GROUP)
    p = subprocess.run(v.exec_a() + ["nft", "-f", "-"], input=rules, text=True,
                       capture_output=True, timeout=TIMEOUT)
    if p.returncode != 0:
        pytest.skip("nftables refused the log rules: %s" % p.stderr)


def test_uacctd_nflog_veth(tmp_path):
    need_netns()
    with VethPair() as v:
        nft_log_rules(v)
        out = tmp_path / "u.csv"
        conf = "uacctd_group: %d\nuacctd_nl_size: 262144\nsnaplen: 256\n" % GROUP + \
            print_config(out, AGG)
        d = PacketDaemon(tmp_path, conf, binary=UACCTD, name="uacctd", prefix=v.exec_a())
        d.start()
        assert d.nworkers == 1
        sports = (41000, 41001, 41002)
        v.send_udp_from_b(v.addr_a, 9999, 20, 100, sports)  # logged on input
        v.send_udp_from_b("fd99::1", 9999, 5, 30)           # IPv6 too
        code = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "s.bind(('', 42000))\n"
                "for i in range(7): s.sendto(b'o' * 10, ('%s', 9998))\n" % v.addr_b)
        subprocess.run(v.exec_a() + ["/usr/bin/python3", "-c", code], check=True,
                       timeout=TIMEOUT)                      # logged on output
        wait_packets(d, 20 * len(sports) + 5 + 7)
        d.stop(signal.SIGTERM)
        ifx = v.ifindex_a()
        got = {(r["SRC_MAC"], r["DST_MAC"], r["IN_IFACE"], r["OUT_IFACE"], r["SRC_IP"],
                r["DST_IP"], r["SRC_PORT"], r["DST_PORT"], r["PROTOCOL"]):
               (int(r["PACKETS"]), int(r["BYTES"]), int(r["FLOWS"])) for r in read_csv(out)}
        ma, mb, zero = v.mac("a"), v.mac("b"), "00:00:00:00:00:00"
        want = {(mb, ma, str(ifx), "0", v.addr_b, v.addr_a, str(sp), "9999", "udp"):
                (20, 20 * 128, 1) for sp in sports}
        want[(mb, ma, str(ifx), "0", "fd99::2", "fd99::1", "40000", "9999", "udp")] = \
            (5, 5 * 78, 1)
        # sent by the host itself: no hardware header, the output interface
        want[(zero, zero, "0", str(ifx), v.addr_a, v.addr_b, "42000", "9998", "udp")] = \
            (7, 7 * 38, 1)
        assert got == want


def test_uacctd_group_needs_no_fanout_and_errors_name_it(tmp_path):
    """Two uacctd on one group: the second fails at start with a message naming the
    group (the kernel gives a group to one socket)."""
    need_netns()
    with VethPair() as v:
        conf = "uacctd_group: %d\n" % GROUP + print_config(tmp_path / "x.csv", ["proto"])
        d = PacketDaemon(tmp_path, conf, binary=UACCTD, name="first", prefix=v.exec_a())
        d.start()
        (tmp_path / "second.conf").write_text(conf.replace("x.csv", "y.csv"))
        p = subprocess.run(v.exec_a() + [str(UACCTD), "-f", str(tmp_path / "second.conf")],
                           capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        d.stop(signal.SIGTERM)
        assert p.returncode != 0 and ("NFLOG group %d" % GROUP) in p.stderr, p.stderr


def test_uacctd_threshold_batches(tmp_path):
    """uacctd_threshold: the kernel sends several packets per message; all are accounted."""
    need_netns()
    with VethPair() as v:
        nft_log_rules(v)
        out = tmp_path / "t.csv"
        conf = "uacctd_group: %d\nuacctd_threshold: 4\n" % GROUP + \
            print_config(out, ["src_host", "proto"])
        d = PacketDaemon(tmp_path, conf, binary=UACCTD, name="uacctd", prefix=v.exec_a())
        d.start()
        v.send_udp_from_b(v.addr_a, 9999, 10, 20)
        wait_packets(d, 10, timeout=TIMEOUT * 2)  # the last 2 wait for the kernel's flush
        st = d.stats()
        d.stop(signal.SIGTERM)
        assert st.workers[0]["nflog_packets"] == 10
        assert [(r["SRC_IP"], r["PACKETS"]) for r in read_csv(out)] == [(v.addr_b, "10")]
