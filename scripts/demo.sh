#!/usr/bin/env bash
# The main job on the embedded default: a project directory (./demo) with its own
# conf.xml, kasp.xml, zonelist.xml and SoftHSM2 token, nothing outside it. Creates the
# event log, imports the stock policies, adds zones (which fills the key pool in the
# token and runs the enforcer: keys introduced, signconf files written), lists policies,
# zones, keys and rollovers, shows the log with its actors and verifies the hash chain.
# There is no signer in the demo: the signer notify goes to demo/signer-calls.log.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release --locked -q --bin ods-enforcer
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
