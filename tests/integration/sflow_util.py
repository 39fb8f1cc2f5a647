"""A small sFlow v2/v4/v5 datagram builder for the integration tests.

python3-scapy has no complete sFlow support, so the tests build their
datagrams here, field by field, from the layouts of the sFlow version 5
specification (and the v2/v4 layouts it superseded).  Everything is XDR:
big-endian 32-bit words, opaque data padded to a multiple of 4 bytes.
"""
import socket
import struct


def u32(*vals):
    return b"".join(struct.pack("!I", v & 0xffffffff) for v in vals)


def u64(v):
    return struct.pack("!Q", v)


def opaque(data):
    return u32(len(data)) + data + b"\0" * (-len(data) % 4)


def address(a):
    """An sFlow address: type 1 (IPv4) or 2 (IPv6); None is type 0 (unknown)."""
    if a is None:
        return u32(0)
    if ":" in a:
        return u32(2) + socket.inet_pton(socket.AF_INET6, a)
    return u32(1) + socket.inet_aton(a)


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


# ---- v5 flow records (format, length, body) -------------------------------

def record(fmt, body):
    return u32(fmt, len(body)) + body


def header_record(frame, frame_len=None, proto=1, stripped=0, version=5):
    """Raw packet header: proto 1 Ethernet, 11 IPv4, 12 IPv6."""
    if frame_len is None:
        frame_len = len(frame) + 4  # the FCS the header leaves out
    body = u32(proto, frame_len) + (u32(stripped) if version >= 5 else b"") + opaque(frame)
    return body if version < 5 else record(1, body)


def ethernet_record(length, src, dst, etype):
    return record(2, u32(length) + mac(src) + b"\0\0" + mac(dst) + b"\0\0" + u32(etype))


def ip_body(length, proto, src, dst, sport=0, dport=0, tcp_flags=0, tos=0):
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    return (u32(length, proto) + socket.inet_pton(fam, src) + socket.inet_pton(fam, dst) +
            u32(sport, dport, tcp_flags, tos))


def ipv4_record(*a, **kw):
    return record(3, ip_body(*a, **kw))


def ipv6_record(*a, **kw):
    return record(4, ip_body(*a, **kw))


def switch_body(src_vlan, src_pri, dst_vlan, dst_pri):
    return u32(src_vlan, src_pri, dst_vlan, dst_pri)


def switch_record(*a):
    return record(1001, switch_body(*a))


def router_body(nexthop, src_mask, dst_mask):
    return address(nexthop) + u32(src_mask, dst_mask)


def router_record(*a):
    return record(1002, router_body(*a))


def gateway_body(nexthop, my_as, src_as, src_peer_as, path, comms=(), local_pref=0, version=5):
    """path: a list of segments, each (type, [asns]) (type 2: AS_SEQUENCE); v2: a flat list."""
    b = address(nexthop) if version >= 5 else b""
    b += u32(my_as, src_as, src_peer_as)
    if version == 2:
        return b + u32(len(path), *path)
    b += u32(len(path))
    for seg_type, asns in path:
        b += u32(seg_type, len(asns), *asns)
    return b + u32(len(comms), *comms) + u32(local_pref)


def gateway_record(*a, **kw):
    return record(1003, gateway_body(*a, **kw))


def user_record(src_user, dst_user):
    return record(1004, u32(0) + opaque(src_user) + u32(0) + opaque(dst_user))


def url_record(direction, url, host):
    return record(1005, u32(direction) + opaque(url) + opaque(host))


def mpls_record(nexthop, in_stack, out_stack):
    return record(1006, address(nexthop) + u32(len(in_stack), *in_stack) +
                  u32(len(out_stack), *out_stack))


def nat_record(src, dst):
    return record(1007, address(src) + address(dst))


# ---- v5 samples ---------------------------------------------------------

def flow_sample(records, seq=1, source=(0, 1), rate=1, pool=None, drops=0, inp=1, out=2,
                expanded=False):
    """A (compact or expanded) flow sample holding the given records."""
    if pool is None:
        pool = seq * rate
    if expanded:
        body = u32(seq, source[0], source[1], rate, pool, drops, 0, inp, 0, out)
    else:
        body = u32(seq, source[0] << 24 | source[1], rate, pool, drops, inp, out)
    body += u32(len(records)) + b"".join(records)
    return u32(3 if expanded else 1, len(body)) + body


def generic_counters(if_index, in_octets=0, in_ucast=0, out_octets=0, out_ucast=0, speed=1000000000,
                     if_type=6, direction=1, status=3, **extra):
    vals = dict(in_mcast=0, in_bcast=0, in_discards=0, in_errors=0, in_unknown=0, out_mcast=0,
                out_bcast=0, out_discards=0, out_errors=0, promisc=0)
    vals.update(extra)
    return (u32(if_index, if_type) + u64(speed) + u32(direction, status) + u64(in_octets) +
            u32(in_ucast, vals["in_mcast"], vals["in_bcast"], vals["in_discards"],
                vals["in_errors"], vals["in_unknown"]) + u64(out_octets) +
            u32(out_ucast, vals["out_mcast"], vals["out_bcast"], vals["out_discards"],
                vals["out_errors"], vals["promisc"]))


def ethernet_counters(*vals):
    vals = list(vals) + [0] * (13 - len(vals))
    return u32(*vals)


def vlan_counters(vlan, octets, ucast, mcast=0, bcast=0, discards=0):
    return u32(vlan) + u64(octets) + u32(ucast, mcast, bcast, discards)


def counter_sample(blocks, seq=1, source=(0, 1), expanded=False):
    """blocks: list of (format, body): 1 generic, 2 Ethernet, 5 VLAN."""
    if expanded:
        body = u32(seq, source[0], source[1])
    else:
        body = u32(seq, source[0] << 24 | source[1])
    body += u32(len(blocks)) + b"".join(record(f, b) for f, b in blocks)
    return u32(4 if expanded else 2, len(body)) + body


def datagram(samples, agent="192.0.2.1", sub_id=0, seq=1, uptime=100000):
    return (u32(5) + address(agent) + u32(sub_id, seq, uptime, len(samples)) +
            b"".join(samples))


# ---- v2/v4 ----------------------------------------------------------------

def flow_sample_v24(packet, extended=(), seq=1, source=(0, 1), rate=1, pool=None, drops=0, inp=1,
                    out=2):
    """packet: (type, body) with type 1 header (header_record(..., version=4)), 2 IPv4, 3 IPv6;
    extended: list of (tag, body) with 1 switch, 2 router, 3 gateway, 4 user, 5 url."""
    if pool is None:
        pool = seq * rate
    b = u32(1, seq, source[0] << 24 | source[1], rate, pool, drops, inp, out, packet[0])
    b += packet[1] + u32(len(extended))
    for tag, body in extended:
        b += u32(tag) + body
    return b


def counter_sample_v24(version, generic=None, specific=b"", seq=1, source=(0, 1), interval=20):
    """version: 1 generic, 2 Ethernet (generic + 52 bytes), 7 VLAN only."""
    b = u32(2, seq, source[0] << 24 | source[1], interval, version)
    return b + (generic or b"") + specific


def datagram_v24(samples, version=4, agent="192.0.2.1", seq=1, uptime=100000):
    return (u32(version) + address(agent) + u32(seq, uptime, len(samples)) + b"".join(samples))
