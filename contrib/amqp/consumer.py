#!/usr/bin/python3
"""Read netacct's amqp output from a RabbitMQ queue and print traffic per exporter.

    contrib/amqp/consumer.py --host 127.0.0.1 --port 5672 --exchange pmacct --routing-key acct
                             [--queue netacct] [--exit-when-idle SECONDS] [--json]

Declares a durable queue bound to the exchange with the routing key (the exchange is
declared as netacct declares it: direct, durable when amqp_persistent_msg is true:
pass --durable to match), consumes every message, and prints one line per exporter
(peer_ip_src, or "-" when the aggregate lacks it): "<exporter> packets=<n> bytes=<n>
rows=<n>", or one JSON object with --json.  purge_init / purge_close markers are counted.
Needs Debian's python3-pika.
"""
import argparse
import json
import sys
import time

import pika


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5672)
    ap.add_argument("--vhost", default="/")
    ap.add_argument("--user", default="guest")
    ap.add_argument("--password", default="guest")
    ap.add_argument("--exchange", default="pmacct")
    ap.add_argument("--exchange-type", default="direct")
    ap.add_argument("--durable", action="store_true")
    ap.add_argument("--routing-key", default="acct")
    ap.add_argument("--queue", default="netacct")
    ap.add_argument("--exit-when-idle", type=float, default=0,
                    help="stop after this many seconds without a message (0: run forever)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    params = pika.ConnectionParameters(a.host, a.port, a.vhost,
                                       pika.PlainCredentials(a.user, a.password))
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.exchange_declare(a.exchange, exchange_type=a.exchange_type, durable=a.durable)
    ch.queue_declare(a.queue, durable=True)
    ch.queue_bind(a.queue, a.exchange, routing_key=a.routing_key)
    totals, markers = {}, 0
    last = time.monotonic()
    try:
        for method, props, body in ch.consume(a.queue, inactivity_timeout=0.5):
            if method is None:
                if a.exit_when_idle and time.monotonic() - last >= a.exit_when_idle:
                    break
                continue
            last = time.monotonic()
            row = json.loads(body)
            ch.basic_ack(method.delivery_tag)
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
        ch.cancel()
        conn.close()
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
