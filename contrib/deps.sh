#!/bin/sh
# Install what netacct needs to build and test on Debian 12 (run as root).
#   contrib/deps.sh          build dependencies only
#   contrib/deps.sh --test   plus everything the test suite starts or compares with
set -e
BUILD="build-essential autoconf automake libtool pkg-config libevent-dev libjansson-dev"
OPTIONAL="librdkafka-dev librabbitmq-dev libhiredis-dev libpq-dev libmariadb-dev \
  libsqlite3-dev libndpi-dev libmaxminddb-dev libnetfilter-log-dev libzmq3-dev libpcap-dev"
TEST="libcmocka-dev python3 python3-pytest python3-scapy softflowd pmacct clang clang-format git \
  libclang-rt-14-dev procps afl++ postgresql mariadb-server mariadb-client sqlite3"
PKGS="$BUILD"
[ "${1:-}" = "--test" ] && PKGS="$BUILD $OPTIONAL $TEST"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
