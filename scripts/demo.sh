#!/usr/bin/env bash
# The main job on the embedded default: a project directory (./demo) with its own
# conf.xml, kasp.xml, zonelist.xml and SoftHSM2 token, nothing outside it. Creates the
# event log, imports the stock policies, adds zones (which fills the key pool in the
# token and runs the enforcer: keys introduced, signconf files written), lists policies,
# zones, keys and rollovers, shows the log with its actors and verifies the hash chain.
# Then it starts the daemon, ods-enforcerd, and asks it for the zone list, the key list
# and the queue with our client and with OpenDNSSEC's stock client (Debian's
# opendnssec-enforcer, `-s <socket>`), shows that both get the same answers, and stops it.
# Then, through the daemon: a signed checkpoint and `log verify` against it, `explain`,
# `simulate` of a ZSK rollover, the zone's history and `zone list --at` an earlier seq.
# There is no signer in the demo: the signer notify goes to demo/signer-calls.log.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release --locked -q --bin ods-enforcer --bin ods-enforcerd
ODS="$PWD/target/release/ods-enforcer"
DEMO="$PWD/demo"
rm -rf "$DEMO"
mkdir -p "$DEMO"/{enforcer,signconf,unsigned,signed,signer,tokens}
# A fresh random PIN per demo directory: no PIN is ever committed.
PIN=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
sed -e "s#@DIR@#$DEMO#g" -e "s#@PIN@#$PIN#g" fixtures/demo/conf.xml.in > "$DEMO/conf.xml"
chmod 600 "$DEMO/conf.xml"
# A SoftHSM2 token of the demo's own, repository "SoftHSM" of conf.xml.
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$DEMO/tokens" > "$DEMO/softhsm2.conf"
export SOFTHSM2_CONF="$DEMO/softhsm2.conf"
softhsm2-util --init-token --free --label OpenDNSSEC --pin "$PIN" \
  --so-pin "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" > /dev/null
cp fixtures/ods/kasp.xml "$DEMO/kasp.xml"
cp fixtures/ods/zonelist.xml "$DEMO/zonelist.xml"
for z in example.com example.net; do
  printf '%s. 3600 IN SOA ns1.%s. hostmaster.%s. 1 3600 900 604800 3600\n' "$z" "$z" "$z" > "$DEMO/unsigned/$z"
done
printf '#!/bin/sh\necho "ods-signer $*" >> %s/signer-calls.log\n' "$DEMO" > "$DEMO/ods-signer"
chmod +x "$DEMO/ods-signer"
export KASP_SIGNER_COMMAND="$DEMO/ods-signer"
run() { echo "\$ ods-enforcer $*"; "$ODS" -c "$DEMO/conf.xml" "$@"; echo; }
run setup
run policy import
run policy list
run zone add --zone example.com --policy default
run zone add --zone example.net --policy default
run zone list
run key list --verbose
run key list --debug
run rollover list
run queue
echo "\$ ls demo/signconf; cat demo/signer-calls.log"
ls "$DEMO/signconf"; cat "$DEMO/signer-calls.log"; echo
run backup list --repository SoftHSM
run zonelist export
run log show
run log verify
run start
run running
SOCK="$DEMO/enforcer/enforcer.sock"
STOCK=/usr/sbin/ods-enforcer
for cmd in "zone list" "key list" "queue"; do
  echo "\$ ods-enforcer $cmd   # through the daemon, our client and the stock client"
  # shellcheck disable=SC2086
  ours=$("$ODS" -c "$DEMO/conf.xml" $cmd)
  # shellcheck disable=SC2086
  stock=$("$STOCK" -s "$SOCK" $cmd | sed '1{/^sock set to /d}')
  echo "$ours"
  # `queue` prints the current second: the two runs may fall on different seconds.
  if [ "$ours" = "$stock" ]; then
    echo "(stock client: identical output)"
  elif [ "$cmd" = "queue" ] && [ "$(grep -v '^It is now' <<<"$ours")" = "$(grep -v '^It is now' <<<"$stock")" ]; then
    echo "(stock client: identical output but for the clock line; a second passed between the two)"
  else
    echo "stock client answered differently:"; diff <(echo "$ours") <(echo "$stock") || true
    exit 1
  fi
  echo
done
# Audit, forensics and what-if, through the daemon: a signed checkpoint of the log head
# (audit key in the token), the log verified against it, why each key record waits, what
# a ZSK rollover would do over the next 60 days (nothing is changed), the zone's history,
# and the zone list as it was before example.net was added.
run log checkpoint --setup --repository SoftHSM --interval P1D
run log verify
run explain --zone example.com
run simulate --zone example.com --rollover ZSK --until P60D
run zone history --zone example.com
BEFORE=$(( $("$ODS" -c "$DEMO/conf.xml" log show --zone example.net | awk 'NR==1{print $1}') - 1 ))
run zone list --at "$BEFORE"
run stop
