#!/usr/bin/env python3
"""Regenerate the seed corpus for fuzz_nf9 (tests/fuzz/corpus/nf9/).

Each seed is: one option byte, then frames |len (2, BE)|datagram|, see
fuzz_nf9.c.  Seeds are hand-built v5/v8/v9/IPFIX datagrams plus, when the
pmacct fixtures are next to the repository, the UDP payloads of their
captures.  Usage: gen_corpus_nf9.py [fixtures dir]
"""
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "nf9")


def frames(opt, dgs):
    return bytes([opt]) + b"".join(struct.pack(">H", len(d)) + d for d in dgs)


def fs(t, ln, pen=0):
    return struct.pack(">HHI", t | 0x8000, ln, pen) if pen else struct.pack(">HH", t, ln)


def setb(sid, body):
    return struct.pack(">HH", sid, 4 + len(body)) + body


def v9(sets, seq=1, srcid=0):
    return struct.pack(">HHIIII", 9, len(sets), 100000, 1700000000, seq, srcid) + b"".join(sets)


def ipfix(sets, seq=0, odid=0):
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), 1700000000, seq, odid) + body


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def v9_seeds():
    tpl = struct.pack(">HH", 256, 8) + fs(8, 4) + fs(12, 4) + fs(7, 2) + fs(11, 2) + \
        fs(4, 1) + fs(1, 4) + fs(2, 4) + fs(22, 4)
    rec = ip4("10.0.0.1") + ip4("10.0.0.2") + struct.pack(">HHBIII", 1234, 80, 6, 1500, 3, 90000)
    opt = struct.pack(">HHH", 257, 4, 12) + fs(1, 4) + fs(48, 1) + fs(49, 1) + fs(50, 4)
    optd = struct.pack(">IBBI", 0, 1, 2, 100) + b"\0\0"
    tpl2 = struct.pack(">HH", 258, 3) + fs(8, 4) + fs(48, 1) + fs(70, 3)
    d2 = ip4("10.1.1.1") + b"\x01" + b"\x00\x10\x01"
    return [
        frames(0, [v9([setb(0, tpl), setb(256, rec + rec)])]),
        frames(1, [v9([setb(0, tpl)]), v9([setb(256, rec)], 2)]),
        frames(0, [v9([setb(1, opt + b"\0\0"), setb(257, optd), setb(0, tpl2), setb(258, d2 + b"\0")])]),
    ]


def ipfix_seeds():
    tpl = struct.pack(">HH", 256, 5) + fs(8, 4) + fs(82, 0xFFFF) + fs(1234, 4, 9) + fs(7, 2) + fs(152, 8)
    rec = ip4("10.0.0.1") + b"\x03et0" + b"\xde\xad\xbe\xef" + struct.pack(">HQ", 80, 1700000000000)
    rec2 = ip4("10.0.0.2") + b"\xff\x01\x2c" + b"x" * 300 + b"\0\0\0\1" + struct.pack(">HQ", 81, 0)
    opt = struct.pack(">HHH", 300, 4, 1) + fs(302, 8) + fs(77, 2, 29305) + fs(305, 4) + fs(306, 4)
    optd = struct.pack(">QHII", 5, 7, 1, 99) + b"\0\0\0"
    tpl6 = struct.pack(">HH", 257, 6) + fs(27, 16) + fs(28, 16) + fs(154, 8) + fs(159, 4) + fs(160, 8) + fs(22, 4)
    rec6 = bytes(range(16)) + bytes(range(16, 32)) + struct.pack(">QIQI", (3909000000 << 32), 5, 1699990000000, 1000)
    wd = struct.pack(">HH", 256, 0)
    return [
        frames(4, [ipfix([setb(2, tpl), setb(256, rec + rec2)])]),
        frames(2, [ipfix([setb(3, opt), setb(300, optd)]), ipfix([setb(2, tpl6), setb(257, rec6)], 1)]),
        frames(4, [ipfix([setb(2, tpl)]), ipfix([setb(2, wd), setb(256, rec)]), ipfix([setb(2, struct.pack(">HH", 2, 0))])]),
    ]


def names_seeds():
    """VRF / interface tables as options data (IPFIX variable-length names, v9 Interface
    scope) and flows that look names up or carry them (IE 82, 236, 90)."""
    vrf = struct.pack(">HHH", 300, 4, 1) + fs(234, 4) + fs(235, 4) + fs(236, 0xFFFF) + fs(90, 8)
    vrfd = struct.pack(">II", 1, 1) + b"\x02A4" + struct.pack(">Q", 0x0002FBF00036000E)
    ifc = struct.pack(">HHH", 301, 3, 1) + fs(10, 4) + fs(82, 0xFFFF) + fs(83, 0xFFFF)
    ifcd = struct.pack(">I", 3) + b"\x06Gi0/0/" + b"\xff\x00\x04desc"
    tpl = struct.pack(">HH", 256, 6) + fs(8, 4) + fs(10, 4) + fs(14, 4) + fs(234, 4) + \
        fs(236, 0xFFFF) + fs(90, 8)
    rec = ip4("10.0.0.1") + struct.pack(">III", 3, 4, 1) + b"\x03RED" + struct.pack(">Q", 7)
    v9ifc = struct.pack(">HHH", 302, 4, 8) + fs(2, 4) + fs(82, 8) + fs(83, 8)
    v9ifcd = struct.pack(">I", 3) + b"Gi0/1\0\0\0" + b"uplink\0\0"
    v9tpl = struct.pack(">HH", 257, 3) + fs(10, 2) + fs(14, 2) + fs(82, 8)
    v9rec = struct.pack(">HH", 3, 4) + b"Te0/1\0\0\0"
    return [
        frames(0, [ipfix([setb(3, vrf + ifc), setb(2, tpl)]), ipfix([setb(300, vrfd), setb(301, ifcd)]),
                   ipfix([setb(256, rec + rec)], 2)]),
        frames(0, [v9([setb(1, v9ifc), setb(0, v9tpl)]), v9([setb(302, v9ifcd), setb(257, v9rec)], 2)]),
    ]


def v5_v8_seeds():
    v5 = struct.pack(">HHIIIIBBH", 5, 1, 100000, 1700000000, 0, 1, 0, 0, 0x4064) + \
        ip4("10.0.0.1") + ip4("10.0.0.2") + ip4("10.0.0.254") + struct.pack(">HHIIIIHHBBBBHHBBH", 1, 2, 3, 300, 90000, 95000, 1234, 80, 0, 0x12, 6, 0, 65001, 65002, 24, 16, 0)
    v8 = struct.pack(">HHIIIIBBBBI", 8, 1, 100000, 1700000000, 0, 7, 1, 2, 5, 2, 0) + \
        struct.pack(">IIIII", 4, 10, 1000, 90000, 95000) + ip4("10.1.0.0") + ip4("10.2.0.0") + struct.pack(">BBHHHHH", 24, 16, 0, 1, 2, 3, 4)
    return [frames(0, [v5, v8])]


def pcap_payloads(path):
    with open(path, "rb") as f:
        data = f.read()
    le = data[:4] == b"\xd4\xc3\xb2\xa1"
    e = "<" if le else ">"
    link = struct.unpack(e + "I", data[20:24])[0]
    off, out = 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if link == 1:
            l3, et = 14, struct.unpack(">H", pkt[12:14])[0]
            if et == 0x8100:
                l3, et = 18, struct.unpack(">H", pkt[16:18])[0]
        elif link == 113:
            l3, et = 16, struct.unpack(">H", pkt[14:16])[0]
        else:
            continue
        if et == 0x0800 and pkt[l3 + 9] == 17:
            l4 = l3 + (pkt[l3] & 15) * 4
        elif et == 0x86DD and pkt[l3 + 6] == 17:
            l4 = l3 + 40
        else:
            continue
        ulen = struct.unpack(">H", pkt[l4 + 4:l4 + 6])[0]
        out.append(pkt[l4 + 8:l4 + ulen])
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {}
    for i, s in enumerate(v9_seeds()):
        seeds["v9-%d" % i] = s
    for i, s in enumerate(ipfix_seeds()):
        seeds["ipfix-%d" % i] = s
    seeds["v5-v8"] = v5_v8_seeds()[0]
    for i, s in enumerate(names_seeds()):
        seeds["names-%d" % i] = s
    fx = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(OUT), "..", "..", "..", "..", "shared", "fixtures", "pmacct")
    if os.path.isdir(fx):
        for name in sorted(os.listdir(fx)):
            p = os.path.join(fx, name, "traffic-00.pcap")
            if name[:1] == "1" and os.path.exists(p):
                dgs = pcap_payloads(p)[:40]
                seeds["pmacct-" + name.split("-")[0]] = frames(0, dgs)
    for k, v in seeds.items():
        with open(os.path.join(OUT, k), "wb") as f:
            f.write(v)
    print("wrote %d seeds to %s" % (len(seeds), OUT))


if __name__ == "__main__":
    main()
