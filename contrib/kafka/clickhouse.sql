-- netacct -> Kafka -> ClickHouse, for the JSON output of this aggregate:
--
--   plugins: kafka[ch]
--   kafka_topic[ch]: netacct.flows
--   kafka_partition_key[ch]: $peer_src_ip
--   kafka_history[ch]: 5m
--   aggregate[ch]: peer_src_ip, in_iface, out_iface, src_host, dst_host, src_port, dst_port, proto, tos, src_as, dst_as
--
-- The Kafka engine table reads the topic (one JSON object per message: JSONEachRow),
-- the materialized view moves each row into a MergeTree table; SummingMergeTree adds up
-- packets and bytes of rows with the same key when parts merge. Keying the messages by
-- $peer_src_ip keeps each exporter on one partition, so consumers scale by partition.
-- Column names are netacct's JSON field names (tests/integration/test_kafka.py checks
-- that this list matches what netacct emits for the aggregate above).

CREATE TABLE netacct_flows_queue
(
    event_type     LowCardinality(String),
    stamp_inserted DateTime,
    as_src         UInt32,
    as_dst         UInt32,
    peer_ip_src    String,
    iface_in       UInt32,
    iface_out      UInt32,
    ip_src         String,
    ip_dst         String,
    port_src       UInt16,
    port_dst       UInt16,
    ip_proto       LowCardinality(String),
    tos            UInt8,
    stamp_updated  DateTime,
    packets        UInt64,
    bytes          UInt64
)
ENGINE = Kafka
SETTINGS kafka_broker_list = '127.0.0.1:9092',
         kafka_topic_list = 'netacct.flows',
         kafka_group_name = 'clickhouse-netacct',
         kafka_format = 'JSONEachRow',
         kafka_num_consumers = 1;

CREATE TABLE netacct_flows
(
    stamp_inserted DateTime,
    peer_ip_src    IPv6,
    iface_in       UInt32,
    iface_out      UInt32,
    ip_src         IPv6,
    ip_dst         IPv6,
    port_src       UInt16,
    port_dst       UInt16,
    ip_proto       LowCardinality(String),
    tos            UInt8,
    as_src         UInt32,
    as_dst         UInt32,
    packets        UInt64,
    bytes          UInt64
)
ENGINE = SummingMergeTree((packets, bytes))
PARTITION BY toYYYYMMDD(stamp_inserted)
ORDER BY (stamp_inserted, peer_ip_src, ip_src, ip_dst, port_src, port_dst, ip_proto,
          iface_in, iface_out, tos, as_src, as_dst);

CREATE MATERIALIZED VIEW netacct_flows_mv TO netacct_flows AS
SELECT stamp_inserted,
       toIPv6(peer_ip_src) AS peer_ip_src,
       iface_in, iface_out,
       toIPv6(ip_src) AS ip_src,
       toIPv6(ip_dst) AS ip_dst,
       port_src, port_dst, ip_proto, tos, as_src, as_dst, packets, bytes
FROM netacct_flows_queue
WHERE event_type = 'purge';
