#!/usr/bin/env python3
"""Seed corpus for tests/fuzz/fuzz_packet.c, built with python3-scapy.

Each seed: one byte (link type in the low 3 bits, fragment holding in bit 3,
a small table in bits 4-5), then frames as 2-byte big-endian length + bytes.
Run from the repository root: /usr/bin/python3 tests/fuzz/gen_corpus_packet.py
"""
import os
import struct

from scapy.all import (GRE, ICMP, IP, UDP, TCP, VXLAN, Dot1AD, Dot1Q, Ether,
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, ICMPv6EchoRequest,
                       fragment, raw)
from scapy.contrib.mpls import MPLS

ETH, SLL, SLL2, RAW, NULL = 0, 1, 2, 3, 6
OUT = os.path.join(os.path.dirname(__file__), "corpus", "packet")


def seed(name, head, frames):
    data = bytes([head])
    for f in frames:
        b = raw(f)
        data += struct.pack(">H", len(b)) + b
    with open(os.path.join(OUT, name), "wb") as fh:
        fh.write(data)


e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
v4 = IP(src="192.0.2.1", dst="198.51.100.2")
v6 = IPv6(src="2001:db8::1", dst="2001:db8::2")
os.makedirs(OUT, exist_ok=True)
seed("eth-tcp-udp-icmp", ETH, [e / v4 / TCP(sport=1, dport=2, flags="S"),
                               e / v4 / UDP(sport=3, dport=4) / (b"x" * 8),
                               e / v4 / ICMP() / b"p"])
seed("qinq-mpls", ETH, [e / Dot1AD(vlan=10, prio=3) / Dot1Q(vlan=20) / v4 / UDP(),
                        e / MPLS(label=100, s=0) / MPLS(label=200, s=1) / v4 / TCP()])
seed("ipv6-ext", ETH, [e / v6 / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() /
                       IPv6ExtHdrDestOpt() / TCP(sport=5, dport=6),
                       e / v6 / ICMPv6EchoRequest()])
seed("vxlan", ETH, [e / v4 / UDP(sport=40000, dport=4789) / VXLAN(vni=7) /
                    Ether() / IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=7, dport=8)])
seed("gre", ETH, [e / v4 / GRE(key_present=1, key=5) / IP(src="10.0.0.1", dst="10.0.0.2") /
                  TCP(sport=9, dport=10),
                  e / v4 / GRE(proto=0x6558) / Ether() / IP() / UDP()])
frags = fragment(v4 / UDP(sport=11, dport=12) / (b"f" * 64), fragsize=24)
seed("frag-v4-held", ETH | 0x08 | 0x10, [e / f for f in reversed(frags)])
f6 = [e / v6 / IPv6ExtHdrFragment(id=9, m=1, offset=0, nh=17) / UDP(sport=13, dport=14) / (b"a" * 8),
      e / v6 / IPv6ExtHdrFragment(id=9, m=0, offset=2, nh=17) / (b"b" * 8)]
seed("frag-v6", ETH, f6)
sll = struct.pack(">HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\x01\0\0", 0x0800)
seed("sll", SLL, [sll + raw(v4 / TCP())])
sll2 = struct.pack(">HHIHBB8s", 0x86dd, 0, 2, 1, 0, 6, b"\x02\0\0\0\0\x01\0\0")
seed("sll2", SLL2, [sll2 + raw(v6 / UDP())])
seed("raw", RAW, [v4 / UDP(), v6 / TCP()])
seed("null", NULL, [struct.pack("<I", 2) + raw(v4 / UDP()), struct.pack("<I", 30) + raw(v6 / TCP())])
