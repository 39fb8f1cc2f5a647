#!/usr/bin/env python3
"""Write the seed corpus of fuzz_sflow (tests/fuzz/corpus/sflow).

Each seed is a sequence of datagrams, each a 2-byte big-endian length and the
datagram, built with the integration tests' sFlow builder: v5 flow samples
with every record type (raw headers: Ethernet with 802.1Q and QinQ tags,
IPv6, VXLAN), counter samples, and the v2/v4 layouts.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from sflow_util import (counter_sample, counter_sample_v24, datagram, datagram_v24,  # noqa: E402
                        ethernet_counters, ethernet_record, flow_sample, flow_sample_v24,
                        gateway_body, gateway_record, generic_counters, header_record, ip_body,
                        ipv4_record, ipv6_record, mpls_record, nat_record, router_body,
                        router_record, switch_body, switch_record, url_record, user_record,
                        vlan_counters)


def eth(dst, src, etype, tags=()):
    b = bytes(dst) + bytes(src)
    for tpid, tci in tags:
        b += struct.pack("!HH", tpid, tci)
    return b + struct.pack("!H", etype)


def ipv4(src, dst, proto, payload, tos=0):
    return struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), 1, 0, 64, proto, 0,
                       bytes(src), bytes(dst)) + payload


def tcp(sport, dport, flags=0x18):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 8192, 0, 0)


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


M1, M2 = [0, 0x11, 0x22, 0x33, 0x44, 0x55], [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb]
F_VLAN = eth(M2, M1, 0x0800, [(0x8100, 0xa02a)]) + ipv4([10, 1, 0, 1], [10, 1, 0, 2], 6,
                                                         tcp(1111, 22))
F_QINQ = eth(M2, M1, 0x0800, [(0x88a8, 100), (0x8100, 200)]) + ipv4([10, 2, 0, 1], [10, 2, 0, 2],
                                                                    17, udp(53, 5353))
INNER = eth(M1, M2, 0x0800) + ipv4([192, 168, 0, 1], [192, 168, 0, 2], 6, tcp(80, 40000))
F_VXLAN = eth(M2, M1, 0x0800) + ipv4([10, 3, 0, 1], [10, 3, 0, 2], 17,
                                     udp(49152, 4789, struct.pack("!II", 0x08000000, 100 << 8) +
                                         INNER))
F_V6 = (eth(M2, M1, 0x86dd) + struct.pack("!IHBB", 0x60000000, 8, 17, 64) +
        bytes(range(16)) + bytes(range(16, 32)) + udp(1, 2))


def seeds():
    full = datagram([
        flow_sample([header_record(F_VLAN), switch_record(10, 3, 20, 0),
                     router_record("10.9.9.9", 24, 16),
                     gateway_record("10.8.8.8", 65000, 65001, 65002,
                                    [(2, [65010, 65020]), (1, [65030])],
                                    [65001 << 16 | 1, 0xFFFFFF01], 200),
                     user_record(b"alice", b"bob"), url_record(1, b"/x", b"example.org"),
                     mpls_record("10.7.7.7", [0x1234f], [0x5678f]),
                     nat_record("198.51.100.1", "198.51.100.2")], seq=1, rate=100),
        flow_sample([header_record(F_QINQ)], seq=2, rate=100, expanded=True),
        flow_sample([header_record(F_VXLAN)], seq=3, rate=100),
        flow_sample([header_record(F_V6)], seq=4, rate=100),
        flow_sample([ipv4_record(1000, 6, "10.0.0.1", "10.0.0.2", 1, 2),
                     ethernet_record(1018, "00:11:22:33:44:55", "66:77:88:99:aa:bb", 0x800)],
                    seq=5),
        flow_sample([ipv6_record(1280, 17, "2001:db8::1", "2001:db8::2", 3, 4)], seq=6),
        counter_sample([(1, generic_counters(7, 1000, 10, 2000, 20)), (2, ethernet_counters(1, 2)),
                        (5, vlan_counters(42, 5555, 1))], seq=1),
    ], agent="2001:db8::1", sub_id=2, seq=1)
    v4 = datagram_v24([
        flow_sample_v24((2, ip_body(700, 17, "10.4.0.1", "10.4.0.2", 1000, 2000)),
                        [(1, switch_body(100, 0, 200, 0)), (2, router_body("10.9.9.9", 8, 8)),
                         (3, gateway_body(None, 1, 2, 3, [(2, [4, 5])], [7], 9, version=4))]),
        flow_sample_v24((1, header_record(F_VLAN, version=4)), seq=2),
        counter_sample_v24(2, generic_counters(7), ethernet_counters(1)),
        counter_sample_v24(7, None, vlan_counters(300, 77, 1)),
    ], version=4)
    v2 = datagram_v24([
        flow_sample_v24((2, ip_body(700, 6, "10.5.0.1", "10.5.0.2", 1, 2)),
                        [(3, gateway_body(None, 1, 2, 3, [10, 20, 30], version=2))])],
                      version=2)
    yield "v5_all_records", [full, full]
    yield "v4_flow_counters", [v4]
    yield "v2_gateway", [v2]
    yield "mixed", [v2, full, v4]


def main():
    out = os.path.join(HERE, "corpus", "sflow")
    os.makedirs(out, exist_ok=True)
    for name, dgrams in seeds():
        with open(os.path.join(out, name), "wb") as f:
            for d in dgrams:
                f.write(struct.pack("!H", len(d)) + d)


if __name__ == "__main__":
    main()
