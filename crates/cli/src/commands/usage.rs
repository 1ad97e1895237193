//! Usage blocks and help texts: OpenDNSSEC's (generated, in `ods_usage.rs`) and those
//! of kasp-ledger's own commands, written in the same layout.

pub use super::ods_usage::*;

pub const SETUP: &str = "setup\n\t[--simulated-time <YYYY-MM-DDTHH:MM:SSZ|epoch>]\taka -t\n";
pub const SETUP_HELP: &str = "Create a new, empty event log at <Enforcer/WorkingDirectory>/events.redb of the \
configuration in use. Refuses to overwrite an existing log.\n\nOptions:\n\
simulated-time\trun this log on a simulated clock that starts at the given time and moves only \
by recorded events (for tests and what-if runs); without it the log always uses the system \
clock, and can never be switched\n\n";

pub const LOG_VERIFY: &str = "log verify\n";
pub const LOG_VERIFY_HELP: &str = "Walk the whole hash chain of the event log and check every record \
against the one before it and the stored head. Prints the head (seq and hash) and exits 0, or names \
the first bad record and exits 3.\n\n";

pub const LOG_SHOW: &str = "log show\n\t[--zone <zone>]\t\t\t\taka -z\n\t[--since <time>]\t\t\taka -s\n\
\t[--until <time>]\t\t\taka -u\n\t[--json]\t\t\t\taka -j\n";
pub const LOG_SHOW_HELP: &str = "List the events of the log, one line each: seq, time, actor, cause \
(the command or scheduler rule) and what happened.\n\nOptions:\n\
zone\t\tonly events about this zone\n\
since\t\tonly events at or after this time (YYYY-MM-DDTHH:MM:SSZ or seconds since the epoch)\n\
until\t\tonly events at or before this time\n\
json\t\tone JSON object per line instead of text\n\n";

pub const LOG_EXPORT: &str = "log export\n\t--jsonl\t\t\t\t\taka -l\n";
pub const LOG_EXPORT_HELP: &str = "Write every record of the log to stdout as JSON, one object per \
line: seq, prev, hash, at, actor, cause, kind, version and the event body. See the README for the \
field reference.\n\n";

// ---- Audit (issue 6): checkpoints (helper: checkpoints) ----

pub const LOG_CHECKPOINT: &str = "log checkpoint\n";
pub const LOG_CHECKPOINT_HELP: &str = "Not built yet.\n\n";

// ---- Audit (issue 6): history (helper: time travel) ----

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

// ---- Audit (issue 6): explain (helper: explain) ----

pub const EXPLAIN: &str = "explain\n\t--zone <zone>\t\t\t\taka -z\n";
pub const EXPLAIN_HELP: &str = "Explain why the keys of a zone are where they are: for every record \
(DS, DNSKEY, RRSIGDNSKEY, RRSIG) of every key, its state and the state it wants, and the gate that \
holds it: settled (at its goal), waiting for the operator (the key ds-seen / ds-gone command line to \
run) or for a DS hook, a roll-type order, a validity rule (with the records it waits for), a timer \
(the exact second it expires and the terms of the interval) or a key backup. Then the zone's next \
run and what it is expected to do. Reads the log, never writes it.\n\nOptions:\n\
zone\t\tthe zone to explain\n\n";

// ---- Audit (issue 6): what-if (helper: simulate) ----

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
