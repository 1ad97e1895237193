//! Usage blocks and help texts: OpenDNSSEC's (generated, in `ods_usage.rs`) and those
//! of kasp-ledger's own commands, written in the same layout.

pub use super::ods_usage::*;

pub const SETUP: &str = "setup\n\t[--simulated-time <YYYY-MM-DDTHH:MM:SSZ|epoch>]\taka -t\n\
\t[--testing]\t\t\t\taka -T\n\
\t[--import-ods]\t\t\t\taka -i\n\
\t[--write-signconf]\t\t\taka -w\n";
pub const SETUP_HELP: &str = "Create a new event log at <Enforcer/WorkingDirectory>/events.redb of the \
configuration in use: empty, or with --import-ods holding the state of an OpenDNSSEC installation. \
Refuses to overwrite an existing log.\n\nOptions:\n\
simulated-time\trun this log on a simulated clock that starts at the given time and moves only \
by recorded events (for tests and what-if runs)\n\
testing\t\tset this log up for testing: it follows the system clock until the first time \
leap (or ods-enforcerd --set-time), then stands at the time it leapt to, moved only by further \
leaps, as OpenDNSSEC's clock does\n\
import-ods\ttake over the OpenDNSSEC 2.1 installation this conf.xml describes: read its \
enforcer database (<Datastore>, never written to) as one consistent moment, check every key it \
names against the HSM (present, same key tag) and its zones against the enforcer's zone list \
(zones.xml), and create the log holding its policies, zones, keys, rollovers in progress and \
key pool, exactly as stored. Stop OpenDNSSEC's enforcer first. Refused, with every reason and \
no log created, when anything does not check out; differences between the database's policies \
and kasp.xml are reported, and the database's are imported\n\
write-signconf\twith --import-ods: import zones whose signconf OpenDNSSEC had not written yet \
(kasp-ledger writes it at its first run) instead of refusing them\n\
Without --simulated-time or --testing the log always uses the system clock and refuses time \
leap; a log's clock can never be switched.\n\n";

pub const SHADOW: &str = "shadow\n\t[--log <file>]\t\t\t\taka -l\n\
\t[--once]\t\t\t\taka -o\n\
\t[--interval <seconds>]\t\t\taka -i\n";
pub const SHADOW_HELP: &str = "Run beside a running OpenDNSSEC 2.1 enforcer before taking it over: \
follow its database (<Datastore> of this conf.xml) read-only, and at every change seen compare \
what OpenDNSSEC decided with what kasp-ledger decides from the state before, at the moment of \
OpenDNSSEC's run. Every divergence (zone, key, record, OpenDNSSEC's value and kasp-ledger's, \
time) is printed and recorded in the shadow log, a log of its own, with every state seen. \
Nothing is written to OpenDNSSEC's database or to the HSM.\n\nOptions:\n\
log\t\tthe shadow log (an absolute path; default <Enforcer/WorkingDirectory>/shadow.redb)\n\
once\t\tlook once and exit: 0 when both agree or nothing changed, 1 on a divergence\n\
interval\tseconds between looks (default 60)\n\n";

pub const LOG_VERIFY: &str = "log verify\n\t[--from-checkpoint]\t\t\taka -f\n\
\t[--audit-key <file>]\t\t\taka -k\n";
pub const LOG_VERIFY_HELP: &str = "Walk the whole hash chain of the event log and check every record \
against the one before it and the stored head, then check every signed checkpoint: the record it \
signed must still have the signed hash, and its signature must verify with the audit key, read from \
the HSM (and compared with the key the log recorded) or from --audit-key. Prints the head (seq and \
hash) and the checkpoints checked and exits 0, or names the first bad record or the failing \
checkpoints and exits 3. Without the HSM or --audit-key the signatures are checked against the key \
recorded in the log only, with a warning that this proves nothing against a rewritten log.\n\n\
Options:\n\
from-checkpoint\tcheck the newest checkpoint, then only the chain from the record it signed to the \
head (the whole log when there is no checkpoint)\n\
audit-key\tan audit key file written by 'log checkpoint --export-key', for auditors without access \
to the HSM\n\n";

pub const LOG_SHOW: &str = "log show\n\t[--zone <zone>]\t\t\t\taka -z\n\t[--since <time>]\t\t\taka -s\n\
\t[--until <time>]\t\t\taka -u\n\t[--json]\t\t\t\taka -j\n\t[--no-verify]\t\t\t\taka -n\n\
\t[--file <log>]\t\t\t\taka -f\n";
pub const LOG_SHOW_HELP: &str = "List the events of the log, one line each: seq, time, actor, cause \
(the command or scheduler rule) and what happened.\n\nOptions:\n\
zone\t\tonly events about this zone\n\
since\t\tonly events at or after this time (YYYY-MM-DDTHH:MM:SSZ or seconds since the epoch)\n\
until\t\tonly events at or before this time\n\
json\t\tone JSON object per line instead of text\n\
no-verify\tshow every record even after a break in the hash chain (those from it on marked \
`!`, `\"unverified\": true` in JSON); without it the listing stops there with exit 3\n\
file\t\tanother log than the enforcer's, by absolute path: the shadow log of 'shadow'\n\n";

pub const LOG_EXPORT: &str = "log export\n\t--jsonl | --csv\t\t\t\taka -l | -c\n\
\t[--since <time>]\t\t\taka -s\n\t[--zone <zone>]\t\t\t\taka -z\n\t[--no-verify]\t\t\t\taka -n\n";
pub const LOG_EXPORT_HELP: &str = "Write the records of the log to stdout, for auditors and SIEMs.\n\n\
Options:\n\
jsonl\t\tone JSON object per line: schema_version, seq, prev, hash, at, at_epoch, actor, cause, \
kind, version, zone, summary and the event body (schema: docs/log-export.schema.json; see the \
README)\n\
csv\t\tRFC 4180 CSV with a header row: seq, at, actor, cause, kind, zone, summary, hash\n\
since\t\tonly records at or after this time (YYYY-MM-DDTHH:MM:SSZ or seconds since the epoch)\n\
zone\t\tonly records about this zone\n\
no-verify\twrite every record even after a break in the hash chain (those from it on marked: \
`\"unverified\": true`, `UNVERIFIED: ` before the CSV summary); without it the export stops \
there with exit 3\n\n";

// ---- Audit: checkpoints ----

pub const LOG_CHECKPOINT: &str = "log checkpoint\n\
\t[--setup --repository <repository>]\taka -s -r\n\
\t[--interval <duration>|off]\t\taka -i\n\
\t[--export-key <file>]\t\t\taka -e\n";
pub const LOG_CHECKPOINT_HELP: &str = "Sign the head of the event log (its seq and hash) with the \
audit key in the HSM and append the signature as a Checkpoint event. 'log verify' checks every \
checkpoint, so a log whose records were rewritten and whose hash chain was recomputed is still \
caught.\n\n\
Options:\n\
setup\t\tgenerate a new audit key (ECDSA P-256, algorithm 13) in the given repository of \
conf.xml, record it and sign a first checkpoint; older audit keys stay in the HSM so that the \
checkpoints they signed stay verifiable\n\
repository\tthe repository for --setup\n\
interval\truns of the enforcer (daemon or command line) append a checkpoint when this much time \
(an ISO 8601 duration such as PT1H or P1D) has passed since the last one and the log grew; 'off' \
stops that\n\
export-key\twrite the audit public key, read from the HSM, to a file for auditors ('log verify \
--audit-key')\n\n";

// ---- Audit: history and time travel ----

pub const ZONE_HISTORY: &str = "zone history\n\t--zone <zone>\t\t\t\taka -z\n";
pub const ZONE_HISTORY_HELP: &str = "The zone's facts from the event log as a timeline, one line per \
fact, oldest first: seq, time, actor, cause (the command line) and what happened. Every life of the \
zone (added, policy changed, deleted, added again), each key introduced (role, id, keytag, \
locator), each record transition of each key, DS changes at the parent, rollovers requested, \
keys retired and purged, key material released and deleted, signconfs written. A zone that was \
never in the log is refused (exit 1).\n\nOptions:\n\
zone\t\tname of the zone\n\n";

pub const KEY_HISTORY: &str = "key history\n\t--zone <zone> --keytag <keytag>\t\taka -z -x\n\
key history\n\t--cka_id <CKA_ID>\t\t\taka -k\n";
pub const KEY_HISTORY_HELP: &str = "A key's facts from the event log as a timeline, one line per fact, \
oldest first, in the layout of 'zone history': generation (started, generated or adopted, \
abandoned), backup, assignment to zones, each record transition, DS changes at the parent, \
rollovers, retirement, purge, key material released and deleted. A key not in the log is \
refused (exit 1).\n\nOptions:\n\
zone\t\tthe zone the key tag is looked up in (key tags repeat across zones)\n\
keytag\t\tthe key tag of the key's DNSKEY\n\
cka_id\t\tthe locator (CKA_ID) of the key material, in every zone that used it\n\n";

// ---- Audit: explain ----

pub const EXPLAIN: &str = "explain\n\t--zone <zone>\t\t\t\taka -z\n";
pub const EXPLAIN_HELP: &str = "Explain why the keys of a zone are where they are: for every record \
(DS, DNSKEY, RRSIGDNSKEY, RRSIG) of every key, its state and the state it wants, and the gate that \
holds it: settled (at its goal), waiting for the operator (the key ds-seen / ds-gone command line to \
run) or for a DS hook, a roll-type order, a validity rule (with the records it waits for), a timer \
(the exact second it expires and the terms of the interval) or a key backup. Then the zone's next \
run and what it is expected to do. Reads the log, never writes it.\n\nOptions:\n\
zone\t\tthe zone to explain\n\n";

// ---- Audit: what-if (simulate, zone timeline) ----

pub const SIMULATE: &str = "simulate\n\t--zone <zone>\t\t\t\taka -z\n\t--until <duration>\t\t\taka -u\n\
\t[--rollover <KSK|ZSK|CSK>]\t\taka -r\n\t[--policy-file <kasp.xml> --policy <policy>]\taka -f, -p\n\
\t[--ds <auto|manual>]\t\t\taka -d\n";
pub const SIMULATE_HELP: &str = "What-if: run the enforcer for one zone on a copy of its state, on a \
simulated clock from now until now + <duration>, and print the timeline: every key record transition, \
every signconf change, every DS change and every operator action needed with its earliest time. The \
log is only read, never changed.\n\nOptions:\n\
zone\t\tthe zone to simulate\n\
until\t\thow far ahead (an ODS duration, e.g. P120D)\n\
rollover\tstart with 'key rollover --keytype' of this key type\n\
policy-file\tstart with 'policy import' of --policy from this kasp.xml, 'zone set-policy' to it \
and 'enforce --zone'\n\
ds\t\tauto: give the operator's DS commands (ds-submit, ds-seen, ds-retract, ds-gone) as soon as \
a key waits for one; manual (default): list them as actions, the keys keep waiting\n\n";

pub const ZONE_TIMELINE: &str = "zone timeline\n\t--zone <zone>\t\t\t\taka -z\n\t--svg <file>\t\t\t\taka -s\n\
\t[--until <duration>]\t\t\taka -u\n\t[--ds <auto|manual>]\t\t\taka -d\n";
pub const ZONE_TIMELINE_HELP: &str = "Draw the zone's keys over time as an SVG picture: one row per \
key, one lane per record (DS, DNSKEY, RRSIG DNSKEY, RRSIG) coloured by state; the past from the log, \
the future simulated with no change up to now + <duration> (default P90D), now marked. The file is \
written atomically (an absolute path when the daemon runs the command).\n\nOptions:\n\
zone\t\tthe zone to draw\n\
svg\t\tthe file to write\n\
until\t\thow far ahead to simulate (an ODS duration, default P90D)\n\
ds\t\tDS answers in the simulated future: manual (default) or auto, as for simulate\n\n";
