#!/usr/bin/env python3
"""Write a large Ethernet/IPv4 capture for the packet daemons' benchmark: N packets over
K flows (TCP and UDP, sizes 64..1500 bytes), one packet every 10 us.  The bytes are
packed directly (scapy would take minutes for millions of packets).

usage: mkpcap.py OUT.pcap [PACKETS [FLOWS]]"""
import struct
import sys


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff


def frame(k, size):
    proto = 6 if k % 3 else 17
    src = struct.pack("!I", 0x0a000000 + k)
    dst = struct.pack("!I", 0xc6336400 + k % 251)
    l4 = (struct.pack("!HHIIBBHHH", 1024 + k % 60000, 80 + k % 7, k, 0, 0x50, 0x18, 65535, 0, 0)
          if proto == 6 else struct.pack("!HHHH", 1024 + k % 60000, 53, size - 28, 0))
    pay = b"\0" * (size - 20 - len(l4))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size, k & 0xffff, 0, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x0b\x02\0\0\0\0\x0a\x08\x00" + ip + l4 + pay


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000000
    flows = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    sizes = (64, 576, 1500, 100, 40 + 20)
    cache = {}
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        t = 1700000000 * 1000000
        for i in range(n):
            k = (i * 7919) % flows
            size = sizes[i % len(sizes)]
            key = (k, size)
            fr = cache.get(key)
            if fr is None:
                fr = frame(k, max(size, 60))
                if len(cache) < 200000:
                    cache[key] = fr
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(fr), len(fr)))
            f.write(fr)
            t += 10


if __name__ == "__main__":
    main()
