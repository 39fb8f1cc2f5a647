"""End-to-end conformance against real router captures from pmacct's regression suite.

Each test replays one capture (UDP payloads to the fixture's collector port, in file order,
one local socket per original exporter socket) into netacct's nfacctd on loopback, stops it
with SIGINT (the shutdown flush writes every row), reads the print plugin's JSON and compares
it, as a multiset of rows, with the fixture's expected Kafka output after normalisation
(fixtures_replay.py):

* the upstream replayer placeholders (172.21.1.10N, 192.168.100.N, fd25::10N, cafe::N) are
  rewritten to our replay address (127.0.0.1, or ::1 for the IPv6-transport variants);
* Avro nests custom primitives in "custom_primitives": {...} with string values; netacct
  prints custom primitives as top-level keys, so the object is flattened (values unchanged);
* the upstream volatile fields (timestamp_arrival, timestamp_min, timestamp_max,
  stamp_inserted, stamp_updated) and the per-test dropped fields are removed, and the
  expected rows are re-aggregated over the remaining fields (packets and bytes summed,
  tcp_flags OR-ed as pmacct accumulates them): upstream aggregated on more primitives and
  inside a time bin;
* always dropped from the expected side: `writer_id` (Kafka framing, writer_id_string) and
  `flows` (null in Avro: upstream did not count flows).  Avro records have no `event_type`
  while netacct's JSON rows carry "event_type": "purge" (as pmacct's JSON encodings do): it
  is checked and removed from netacct's rows, except for 103's Kafka JSON file, which has it
  and where it is compared.

netacct is configured with the upstream settings it implements: JSON print output,
tcpflags_encode_as_array, fwd_status_encode_as_string, mpls_label_stack_encode_as_array,
timestamps_secs, timestamps_since_epoch, nfacctd_time_new, and the aggregate primitives of
the upstream test that it supports plus `flows` (checked to be a positive integer on every
row, then removed: there is nothing to compare it with).  timestamp_arrival is never
aggregated: it is volatile and would split rows across a second boundary.

Every case is a full comparison: mpls_vpn_rd (with its origin) and the VRF names come from
the flows, the routers' options data and flow_to_rd_map, the labels from pre_tag_map (102
drops its label: see its test).

Set NETACCT_FIXTURES_DAEMON=pmacct to run the same replays against Debian's pmacct nfacctd
(a development cross-check of the normalisation; 1.7.7 lacks some newer features).
"""
import pytest

import fixtures_replay as fr

pytestmark = pytest.mark.skipif(not fr.FIXTURES.exists(),
                                reason="pmacct fixtures not found in %s" % fr.FIXTURES)

# Fields produced upstream by features netacct does not have (yet).
RD = ("mpls_vpn_rd", "mpls_vpn_rd_origin")    # when flow_to_rd_map set them (origin "map")
FRAMING = ("writer_id", "flows")              # Kafka/Avro framing; flows null upstream

CUSTOM5 = ("vrf_id_ingress", "vrf_id_egress", "mpls_tl_ipv4_address", "mpls_tl_prefix_length",
           "mpls_tl_type")
CUSTOM2 = ("vrf_id_ingress", "vrf_id_egress")

BASE = ("peer_src_ip", "in_iface", "out_iface", "src_host", "dst_host", "src_port", "dst_port",
        "tcpflags", "fwd_status", "mpls_label_stack", "proto", "tos")
NETS = ("src_net", "dst_net", "src_mask", "dst_mask")
TIMES = ("timestamp_start", "timestamp_end")

ADDRS = {"ipv4": "127.0.0.1", "ipv6": "::1"}


def write_map(tmp_path, fixture, rel, addr, name=None):
    """Copy a fixture map into tmp_path with the placeholders rewritten; return its path."""
    text = (fr.fixture_dir(fixture) / rel).read_text()
    dst = tmp_path / (name or rel.replace("/", "_"))
    dst.write_text(fr.rewrite_placeholders(text, addr))
    return dst


def actual_rows(rows, event_type=False):
    """Check and remove `flows` from netacct's rows (no expected value exists).  Unless the
    expected file is a Kafka JSON one (event_type compared), also check and remove
    "event_type": "purge", which the JSON print output carries and Avro records lack."""
    out = []
    for r in rows:
        r = dict(r)
        # stitching's timestamp_min/max (101, 106) are volatile: upstream ignores them too
        r.pop("timestamp_min", None)
        r.pop("timestamp_max", None)
        f = r.pop("flows", None)
        assert isinstance(f, int) and f >= 1, "bad flows counter %r in %s" % (f, r)
        if not event_type:
            e = r.pop("event_type", None)
            assert e == "purge", "event_type %r in %s" % (e, r)
        out.append(r)
    return out


def check(nfacctd, tmp_path, fixture, aggregate, drop, expected="output-flow-00.json",
          extra=None, addr="127.0.0.1", dport=9991, custom=(), event_type=False):
    payloads = fr.pcap_payloads(fr.fixture_dir(fixture) / "traffic-00.pcap", dport)
    aggregate = list(aggregate) + list(custom) + ["flows"]
    rows, st = fr.run_collector(nfacctd, tmp_path, payloads, aggregate, extra, addr)
    exp = fr.normalise_expected(fr.load_expected(fr.fixture_dir(fixture) / expected, addr), drop)
    if fr.daemon_kind() == "netacct":
        got = actual_rows(rows, event_type)
    else:  # development cross-check against pmacct 1.7.7: not an assertion on netacct
        got = [{k: v for k, v in r.items() if k not in ("flows", "event_type")} for r in rows]
        exp, dropped = fr.pmacct_align(got, exp)
        print("pmacct 1.7.7 did not print: %s" % dropped)
    fr.assert_rows_equal(got, exp, "%s/%s" % (fixture, expected))
    if st is not None:
        assert st.total("malformed") == 0, "malformed datagrams: %s" % st.workers
    return rows


def custom_extra(tmp_path, fixture, addr, rel="pmacct_mount/custom-primitives-00.map", **kw):
    extra = {"aggregate_primitives": write_map(tmp_path, fixture, rel, addr)}
    extra.update(kw)
    return extra


# --------------------------------------------------------------------------
# 100: Cisco IOS XR IPFIX, templates 260/261, MPLS-labelled IPv4/IPv6


F100 = "100-IPFIXv10-CISCO"


def test_100_ipfix_cisco(nfacctd, tmp_path):
    """100 default, the upstream comparison in full: peer_ip_src, iface_in, iface_out,
    ip_src, ip_dst, net_src, net_dst, mask_src, mask_dst, port_src, port_dst, tcp_flags,
    fwd_status, mpls_label_stack, ip_proto, tos, mpls_vpn_rd with mpls_vpn_rd_origin (no VRF
    in these flows: "0:0:0", "unknown"), packets, bytes.
    Dropped: writer_id, flows (Kafka/Avro framing)."""
    # upstream's nfacctd_pre_processing_checks too: the router's datagrams pass them
    check(nfacctd, tmp_path, F100, BASE + NETS + ("mpls_vpn_rd",), FRAMING,
          extra={"nfacctd_pre_processing_checks": "true"})


def test_100_ipfix_cisco_nat_timestamps(nfacctd, tmp_path):
    """100 scenario-01: as the default plus post_nat_ip_src, post_nat_ip_dst,
    post_nat_port_src, post_nat_port_dst, nat_event, timestamp_start, timestamp_end,
    timestamp_export, mpls_vpn_rd, mpls_vpn_rd_origin.  Dropped: writer_id, flows; upstream
    also had nfacctd_stitching (not in netacct), whose timestamp_min/max are volatile
    anyway, and timestamp_arrival (volatile)."""
    nat = ("post_nat_src_host", "post_nat_dst_host", "post_nat_src_port", "post_nat_dst_port",
           "nat_event")
    check(nfacctd, tmp_path, F100,
          BASE + NETS + nat + TIMES + ("timestamp_export", "mpls_vpn_rd"),
          FRAMING, expected="scenario-01/output-flow-00.json")


# --------------------------------------------------------------------------
# 101: Cisco NetFlow v9 template 313 with custom primitives


F101 = "101-NFv9-CISCO-cust_primitives"


def test_101_nfv9_custom_primitives(nfacctd, tmp_path):
    """101, the upstream comparison in full: peer_ip_src, iface_in, iface_out, ip_src, ip_dst,
    port_src, port_dst, tcp_flags, fwd_status, mpls_label_stack, ip_proto, tos,
    timestamp_start, timestamp_end, mpls_vpn_rd and its origin ("vrfid:<IE 234>", "flow":
    the router exports no RD), vrf_name ("": no VRF table in the capture), the custom
    primitives vrf_id_ingress (IE 234), vrf_id_egress (235), mpls_tl_ipv4_address (47),
    mpls_tl_prefix_length (91), mpls_tl_type (46) (flattened from Avro's custom_primitives
    object, string values), packets, bytes.
    Dropped: writer_id, flows (framing); timestamp_arrival (volatile)."""
    check(nfacctd, tmp_path, F101, BASE + TIMES + ("mpls_vpn_rd", "vrf_name"), FRAMING,
          custom=CUSTOM5,
          extra=custom_extra(tmp_path, F101, "127.0.0.1", nfacctd_stitching="true"))



# --------------------------------------------------------------------------
# 102: NetFlow v9, two source IDs, sampling_map + renormalize, pre_tag/f2rd maps, reload


F102 = "102-NFv9-CISCO-f2rd-pretag-sampling-reload"
DROP102 = ("label",) + FRAMING


def extra102(tmp_path, addr, suffix="00"):
    return custom_extra(tmp_path, F102, addr,
                        sampling_map=write_map(tmp_path, F102,
                                               "pmacct_mount/sampling-%s.map" % suffix, addr,
                                               name="sampling.map"),
                        flow_to_rd_map=write_map(tmp_path, F102,
                                                 "pmacct_mount/f2rd-%s.map" % suffix, addr,
                                                 name="f2rd.map"),
                        nfacctd_renormalize="true")


def test_102_nfv9_sampling_map(nfacctd, tmp_path):
    """102 run 1 (-00 maps): compares peer_ip_src, iface_in, iface_out, ip_src, ip_dst,
    net_src, net_dst, mask_src, mask_dst, port_src, port_dst, tcp_flags, fwd_status,
    mpls_label_stack, ip_proto, tos, timestamp_start, timestamp_end, vrf_name, mpls_vpn_rd
    and its origin (from flow_to_rd_map by exporter and interface: "map"; otherwise the
    flow's VRF id: "flow"), the five custom primitives of test 101, packets, bytes
    (renormalized by sampling_map rate 1).  Dropped: label (upstream, 2 of the 35 rows carry
    an empty label, {}, although their exporter matches the pre_tag_map's first rule like
    the other 33; netacct labels every row), writer_id, flows."""
    check(nfacctd, tmp_path, F102, BASE + NETS + TIMES + ("vrf_name", "mpls_vpn_rd"), DROP102,
          custom=CUSTOM5, extra=extra102(tmp_path, "127.0.0.1"))


def test_102_nfv9_sampling_map_reload(nfacctd, tmp_path):
    """102 run 2: after run 1, the sampling map is swapped for sampling-01.map (rate 1000),
    SIGUSR2 reloads the maps and the capture is replayed again.  netacct has no time bins
    here, so the table holds both replays: expected = output-flow-00 (x1) + output-flow-01
    (already x1000 upstream), re-aggregated, i.e. counters x1001.  Same fields compared and
    dropped as in run 1, and mpls_vpn_rd too: this run checks the sampling map's reload
    (the -01 pre_tag/flow_to_rd maps stay out of it)."""
    import signal
    addr = "127.0.0.1"
    extra = extra102(tmp_path, addr)
    payloads = fr.pcap_payloads(fr.fixture_dir(F102) / "traffic-00.pcap")

    def reload_and_replay(d, sent):
        write_map(tmp_path, F102, "pmacct_mount/sampling-01.map", addr, name="sampling.map")
        start = len(d.log_text())
        d.send_signal(signal.SIGUSR2)
        if fr.daemon_kind() == "netacct":
            d.wait_log(r"sampling_map \S+: 1 entries reloaded", start=start)
        fr.replay(payloads, d.port, addr)
        if fr.daemon_kind() == "netacct":
            d.wait_datagrams(2 * sent)

    aggregate = list(BASE + NETS + TIMES + ("vrf_name",) + CUSTOM5) + ["flows"]
    rows, _ = fr.run_collector(nfacctd, tmp_path, payloads, aggregate, extra, addr,
                               between=reload_and_replay)
    exp = [r for f in ("output-flow-00.json", "output-flow-01.json")
           for r in fr.normalise_expected(fr.load_expected(fr.fixture_dir(F102) / f, addr),
                                          DROP102 + RD)]
    exp = fr.merge(exp)
    if fr.daemon_kind() == "netacct":
        got = actual_rows(rows)
    else:  # development cross-check against pmacct 1.7.7: not an assertion on netacct
        got = [{k: v for k, v in r.items() if k not in ("flows", "event_type")} for r in rows]
        exp, dropped = fr.pmacct_align(got, exp)
    fr.assert_rows_equal(got, exp, F102 + " reload")


# --------------------------------------------------------------------------
# 103: same capture as 100, JSON and Avro encodings, pre_tag_map label


F103 = "103-IPFIXv10-CISCO-pretag-JSON_encoding"
SCEN103 = ["output-flow-00.json"] + ["scenario-0%d/output-flow-00.json" % i for i in range(1, 6)]
DROP103 = ("event_type", "label", "writer_id")


def _drop103(f):
    # the JSON variants (default, 01, 02) carry event_type and no flows; Avro ones the reverse
    json_variant = f in SCEN103[:3]
    return DROP103 if json_variant else tuple(x for x in DROP103 if x != "event_type") + ("flows",)


def test_103_normalised_scenarios_agree():
    """Harness self-check: once label, event_type, writer_id and flows are dropped, the JSON (default, 01, 02) and Avro (03-05) renderings of the six scenarios
    are the same rows, so running netacct once against the default covers all of them."""
    ref = fr.normalise_expected(fr.load_expected(fr.fixture_dir(F103) / SCEN103[0], "x"),
                                _drop103(SCEN103[0]))
    for f in SCEN103[1:]:
        rows = fr.normalise_expected(fr.load_expected(fr.fixture_dir(F103) / f, "x"), _drop103(f))
        fr.assert_rows_equal(rows, ref, f)


def test_103_ipfix_json_encoding(nfacctd, tmp_path):
    """103 default (Kafka JSON): compares peer_ip_src, iface_in, iface_out, ip_src, ip_dst,
    net_src, net_dst, mask_src, mask_dst, port_src, port_dst, tcp_flags, fwd_status,
    mpls_label_stack, ip_proto, tos, timestamp_start, timestamp_end, mpls_vpn_rd,
    mpls_vpn_rd_origin, label ("": no pre_tag_map), packets, bytes.  This is the one
    JSON-encoded expected file with no label map, so event_type ("purge") is compared too.
    Dropped: writer_id (Kafka framing); timestamp_arrival (volatile)."""
    check(nfacctd, tmp_path, F103, BASE + NETS + TIMES + ("mpls_vpn_rd", "label"),
          tuple(f for f in DROP103 if f not in ("event_type", "label")), event_type=True)


@pytest.mark.parametrize("scenario, as_map", [("scenario-01", False), ("scenario-02", True)])
def test_103_pretag_label(nfacctd, tmp_path, scenario, as_map):
    """103 scenario-01 / -02 (Kafka JSON) in full: label from the scenario's pre_tag_map (by
    exporter address, a catch-all rule after it), as a string or, with
    pre_tag_label_encode_as_map, as an object ({"nkey": "NODE_ID", "pkey": "PLATFORM_ID"}),
    plus every field of test_103_ipfix_json_encoding and event_type.  Dropped: writer_id
    (Kafka framing)."""
    extra = {"pre_tag_map": write_map(tmp_path, F103, scenario + "/pretag-00.map", "127.0.0.1")}
    if as_map:
        extra["pre_tag_label_encode_as_map[x]"] = "true"
    check(nfacctd, tmp_path, F103, BASE + NETS + TIMES + ("label", "mpls_vpn_rd"),
          ("writer_id",), expected=scenario + "/output-flow-00.json", extra=extra,
          event_type=True)


# --------------------------------------------------------------------------
# 104: Cisco IPFIX over IPv6, sampler option template 257, renormalize


F104 = "104-IPFIXv10-IPv6-CISCO-sampling_option"


@pytest.mark.parametrize("transport", ["ipv4", "ipv6"])
def test_104_ipfix_sampling_option_renormalize(nfacctd, tmp_path, transport):
    """104 (capture sent to udp/9992): compares peer_ip_src, iface_in, iface_out, ip_src,
    ip_dst, port_src, port_dst, tcp_flags, fwd_status, mpls_label_stack, ip_proto, tos, the
    custom primitives vrf_id_ingress/vrf_id_egress (flattened, string values), mpls_vpn_rd
    and its origin ("vrfid:<id>", "flow"), vrf_name (""), label (the upstream pre_tag_map's
    catch-all rule, encoded as a map: {"nkey": "unknown", "pkey": "unknown"}), packets and
    bytes renormalized (nfacctd_renormalize: true) by the sampling interval of the option
    records.  Dropped: writer_id, flows (framing).  Upstream used IPv6 transport; both are
    replayed here."""
    addr = ADDRS[transport]
    pretag = write_map(tmp_path, F104, "pmacct_mount/pretag-00.map", addr)
    check(nfacctd, tmp_path, F104, BASE + ("mpls_vpn_rd", "vrf_name", "label"), FRAMING,
          custom=CUSTOM2,
          addr=addr, dport=9992,
          extra=custom_extra(tmp_path, F104, addr, nfacctd_renormalize="true",
                             pre_tag_map=pretag, **{"pre_tag_label_encode_as_map[x]": "true"}))


# --------------------------------------------------------------------------
# 106: Huawei IPFIX with VRF information


F106 = "106-IPFIXv10-HUAWEI-vrf_name"


@pytest.mark.parametrize("transport", ["ipv4", "ipv6"])
def test_106_ipfix_huawei(nfacctd, tmp_path, transport):
    """106: compares peer_ip_src, iface_in, iface_out, ip_src, ip_dst, net_src, net_dst,
    mask_src, mask_dst, port_src, port_dst, tcp_flags, fwd_status, mpls_label_stack,
    ip_proto, tos, timestamp_start, timestamp_end, mpls_vpn_rd and its origin (the RD of
    the VRF from the router's options data, "flow"), vrf_name, ingress_vrf_name,
    egress_vrf_name (VRF id -> name from the options data), label ("": no pre_tag_map), the
    five custom primitives of test 101 (flattened, string values), packets, bytes
    (nfacctd_renormalize: true, as upstream).  Dropped: writer_id, flows (framing).
    Upstream also had nfacctd_stitching (its timestamp_min/max are volatile).  Upstream
    used IPv6 transport; both are replayed."""
    addr = ADDRS[transport]
    check(nfacctd, tmp_path, F106,
          BASE + NETS + TIMES + ("mpls_vpn_rd", "vrf_name", "ingress_vrf_name",
                                 "egress_vrf_name", "label"),
          FRAMING, custom=CUSTOM5, addr=addr,
          extra=custom_extra(tmp_path, F106, addr, nfacctd_renormalize="true",
                             nfacctd_stitching="true"))
