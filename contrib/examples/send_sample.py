#!/usr/bin/python3
"""Send a small bundled sample of NetFlow v5 datagrams to a collector on loopback.

Usage: send_sample.py [PORT] [ADDRESS]   (defaults: 20550 127.0.0.1)
Only loopback destinations are accepted: this is a demo feeder, not a tool.
"""
import ipaddress
import socket
import struct
import sys
import time

# (src, dst, sport, dport, proto, packets, bytes): a web client, DNS, ping, SSH
SAMPLE = [
    ("192.0.2.10", "198.51.100.80", 51000, 443, 6, 12, 9200),
    ("198.51.100.80", "192.0.2.10", 443, 51000, 6, 10, 14200),
    ("192.0.2.10", "203.0.113.53", 53000, 53, 17, 1, 74),
    ("203.0.113.53", "192.0.2.10", 53, 53000, 17, 1, 120),
    ("192.0.2.11", "198.51.100.7", 0, 2048, 1, 4, 336),
    ("192.0.2.12", "198.51.100.22", 40022, 22, 6, 30, 4800),
]


def datagram(seq, records):
    now = int(time.time())
    hdr = struct.pack("!HHIIIIBBH", 5, len(records), 100000, now, 0, seq, 0, 0, 0)
    body = b""
    for src, dst, sport, dport, proto, pkts, octets in records:
        body += struct.pack(
            "!4s4s4sHHIIIIHHBBBBHHBBH",
            socket.inet_aton(src), socket.inet_aton(dst), socket.inet_aton("0.0.0.0"),
            1, 2, pkts, octets, 99000, 99900, sport, dport, 0,
            0x18 if proto == 6 else 0, proto, 0, 64500, 64501, 24, 24, 0)
    return hdr + body


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 20550
    addr = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    if not ipaddress.ip_address(addr).is_loopback:
        sys.exit("send_sample.py: only loopback destinations are allowed")
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    seq = 0
    for _ in range(3):  # three exports of the same flows: the aggregates add up
        s.sendto(datagram(seq, SAMPLE), (addr, port))
        seq += len(SAMPLE)
    print(f"sent 3 NetFlow v5 datagrams ({3 * len(SAMPLE)} flows) to {addr}:{port}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
