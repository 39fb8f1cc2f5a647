#!/usr/bin/python3
"""Read netacct's kafka output and print traffic per exporter.

    contrib/kafka/consumer.py --bootstrap 127.0.0.1:9092 --topic pmacct.acct [--group g]
                              [--from-beginning] [--exit-at-end] [--json]
                              [--avro-schema FILE]

Each message is one aggregated row (JSON, field names as in the print output);
purge_init / purge_close markers (kafka_markers) are counted, not summed.
With kafka_output: avro, pass the schema netacct wrote (avro_schema_file) as
--avro-schema: rows are then decoded with Debian's python3-avro (markers stay
JSON: a message starting with '{' is one).  kafka_output: avro_json needs no
option (it is JSON text).
Prints one line per exporter (peer_ip_src, or "-" when the aggregate lacks it):
"<exporter> packets=<n> bytes=<n> rows=<n>", or one JSON object with --json.
Needs Debian's python3-confluent-kafka.
"""
import argparse
import io
import json
import sys

from confluent_kafka import Consumer, KafkaError


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", default="pmacct.acct")
    ap.add_argument("--group", default="netacct-consumer")
    ap.add_argument("--from-beginning", action="store_true")
    ap.add_argument("--exit-at-end", action="store_true",
                    help="stop once every partition has been read to its end")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--avro-schema", metavar="FILE",
                    help="decode binary Avro rows with this schema (avro_schema_file)")
    a = ap.parse_args()
    decode = json.loads
    if a.avro_schema:
        import avro.io
        import avro.schema
        with open(a.avro_schema) as f:
            reader = avro.io.DatumReader(avro.schema.parse(f.read()))

        def decode(v):
            if v[:1] == b"{":  # a marker
                return json.loads(v)
            return reader.read(avro.io.BinaryDecoder(io.BytesIO(v)))

    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group,
                  "auto.offset.reset": "earliest" if a.from_beginning else "latest",
                  "enable.partition.eof": a.exit_at_end})
    c.subscribe([a.topic])
    totals, markers, eof, parts = {}, 0, set(), None
    try:
        while True:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                    if parts is None:
                        parts = len(c.list_topics(a.topic).topics[a.topic].partitions)
                    if len(eof) >= parts:
                        break
                    continue
                print("kafka: %s" % m.error(), file=sys.stderr)
                return 1
            row = decode(m.value())
            if row.get("event_type") != "purge":
                markers += 1
                continue
            t = totals.setdefault(row.get("peer_ip_src", "-"), [0, 0, 0])
            t[0] += row.get("packets", 0)
            t[1] += row.get("bytes", 0)
            t[2] += 1
    except KeyboardInterrupt:
        pass
    finally:
        c.close()
    if a.json:
        print(json.dumps({k: {"packets": v[0], "bytes": v[1], "rows": v[2]}
                          for k, v in sorted(totals.items())}))
    else:
        for k, v in sorted(totals.items()):
            print("%s packets=%d bytes=%d rows=%d" % (k, v[0], v[1], v[2]))
        if markers:
            print("markers=%d" % markers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
