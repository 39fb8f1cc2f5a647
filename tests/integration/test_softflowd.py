"""softflowd (a real exporter) reads a crafted pcap and exports it to netacct."""
import pytest

from conftest import canon, read_json
from softflowd_util import AGGREGATE, expected_rows, export, have_softflowd, write_pcap

pytestmark = pytest.mark.skipif(not have_softflowd(), reason="softflowd/softflowctl not installed")


def run_export(nfacctd, tmp_path, version, ip="127.0.0.1", host="127.0.0.1"):
    pcap = tmp_path / "flows.pcap"
    pkts = write_pcap(pcap)
    out = tmp_path / "out.json"
    d = nfacctd("plugins: print[a]\naggregate[a]: %s\nprint_output[a]: json\n"
                "print_output_file[a]: %s\nprint_refresh_time[a]: 3600\n" % (AGGREGATE, out),
                ip=ip)
    sent = export(pcap, d.port, version, tmp_path, host=host)
    st = d.wait_datagrams(sent["datagrams"])
    d.stop()
    return pkts, sent, st, read_json(out)


def test_expected_rows_sanity():
    """The expectations are derived from the packets; pin a few numbers so a scapy change shows."""
    from softflowd_util import build_packets
    rows = {(r["ip_src"], r["ip_dst"], r["port_src"], r["port_dst"]): r
            for r in expected_rows(build_packets())}
    assert len(rows) == 8
    assert rows[("10.1.0.1", "10.2.0.1", 40001, 80)]["packets"] == 4
    assert rows[("10.1.0.1", "10.2.0.1", 40001, 80)]["bytes"] == 4 * 40 + 120
    assert rows[("10.2.0.1", "10.1.0.1", 80, 40001)]["bytes"] == 40 + 940 + 373
    assert rows[("10.1.0.4", "10.2.0.4", 5000, 6000)]["bytes"] == 4 * 28 + 1710
    assert rows[("10.1.0.3", "10.2.0.3", 0, 2048)]["packets"] == 2
    assert rows[("10.2.0.3", "10.1.0.3", 0, 0)]["bytes"] == 84


def test_softflowd_v5_exact_aggregates(nfacctd, tmp_path):
    pkts, sent, st, rows = run_export(nfacctd, tmp_path, 5)
    expected = expected_rows(pkts)
    assert sent["records"] == len(expected)
    assert st.total("records") == len(expected)
    assert st.total("malformed") == 0
    assert st.exporter("127.0.0.1")["seq_gaps"] == 0
    assert canon(rows) == canon(expected)


def test_softflowd_v5_over_ipv6(nfacctd, tmp_path):
    pkts, sent, st, rows = run_export(nfacctd, tmp_path, 5, ip="::1", host="::1")
    assert canon(rows) == canon(expected_rows(pkts))


@pytest.mark.parametrize("version", [9, 10], ids=["v9", "ipfix"])
def test_softflowd_v9_ipfix_exact_aggregates(nfacctd, tmp_path, version):
    pkts, sent, st, rows = run_export(nfacctd, tmp_path, version)
    expected = expected_rows(pkts)
    assert st.total("malformed") == 0
    assert st.total("records") == len(expected)
    assert canon(rows) == canon(expected)
