#!/usr/bin/env bash
# Installs the Debian packages kasp-ledger builds and tests with, only when missing.
#   libxml2-dev    RelaxNG validation of kasp.xml/conf.xml/zonelist.xml (as OpenDNSSEC)
#   libxml2-utils  xmllint, used by tests to validate exported XML independently
#   pkg-config     locating libxml2 at build time
#   softhsm2       PKCS#11 token the kasp-hsm tests create and use (libsofthsm2.so, softhsm2-util)
#   bind9-utils    dnssec-dsfromkey, the independent DS oracle of the kasp-hsm tests;
#                  dnssec-verify, which checks the zones the real signer signs
#   python3        the conformance normalizer (fixtures/conformance/normalize.py)
#   opendnssec-signer  the real OpenDNSSEC signer (ods-signerd) the signer test signs with
#   ldnsutils      ldns-verify-zone, the second independent verifier of signed zones
#   opendnssec-enforcer  the stock ods-enforcer client (/usr/sbin/ods-enforcer, shipped in
#                  opendnssec-enforcer-sqlite3) that the socket-protocol test (tests/wire.rs)
#                  and the daemon tests (tests/daemon/mod.rs) compare with
#   openssl        the kasp-hsm tests' check of Ed448 signatures, which ring cannot verify
#   opendnssec-enforcer-sqlite3, opendnssec-common, libhsm-bin  OpenDNSSEC 2.1.12's daemon,
#                  ods-control and ods-hsmutil: the oracle of the differential fuzzer's CI
#                  check (fixtures/conformance/oracle/run-oracle) and of OpenDNSSEC's own
#                  tests (scripts/upstream-tests); its ods-enforcer-db-setup makes the empty
#                  database crates/ods-database/tests/real_opendnssec.rs reads
#   sqlite3        run-oracle's dump of OpenDNSSEC's database rows into its traces
#   m4, xsltproc, patch  required or used by OpenDNSSEC's test framework (testing/lib.sh)
#   faketime      sets the system clock back for one command (tests/hostile/clock_jumps.rs)
#   mariadb-server, mariadb-client  the private MariaDB server (mariadb-install-db, mariadbd)
#                  and its client (mariadb) of the MySQL import tests (tests/ods_takeover/mysql.rs);
#                  the tests start their own server in a temporary directory
set -euo pipefail
need=()
for p in libxml2-dev libxml2-utils pkg-config softhsm2 bind9-utils python3 opendnssec-signer ldnsutils opendnssec-enforcer \
  openssl opendnssec-enforcer-sqlite3 sqlite3 opendnssec-common libhsm-bin m4 xsltproc patch faketime \
  mariadb-server mariadb-client; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
