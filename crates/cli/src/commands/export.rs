//! `log export --jsonl|--csv [--since T] [--zone Z]`: the log for auditors and SIEMs.
//!
//! JSON Lines follow the versioned schema in `docs/log-export.schema.json` (each line
//! carries `schema_version`); the version changes only when a field is removed or its
//! meaning or type changes, never for added fields. CSV (RFC 4180: a header row, CRLF
//! line ends, fields with a comma, quote or line break quoted and their quotes doubled)
//! has one row per record with the columns of [`CSV_HEADER`].

use super::log::{stream, time_opt, with_log};
use super::table::CommandSpec;
use super::{Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::exit;
use kasp_events::{Sealed, ZoneName};

/// The version of the JSON Lines schema (`docs/log-export.schema.json`).
pub const SCHEMA_VERSION: u32 = 1;

/// The CSV columns.
pub const CSV_HEADER: [&str; 8] = [
    "seq", "at", "actor", "cause", "kind", "zone", "summary", "hash",
];

/// One record as the documented JSON of `log export --jsonl`.
pub fn record_json(s: &Sealed) -> serde_json::Value {
    let r = &s.record;
    let body = serde_json::to_value(&r.event)
        .ok()
        .and_then(|mut v| v.get_mut("body").map(serde_json::Value::take))
        .unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "seq": r.seq.0,
        "prev": r.prev.to_string(),
        "hash": s.hash.to_string(),
        "at": r.at.to_string(),
        "at_epoch": r.at.0,
        "actor": r.actor.to_string(),
        "cause": r.cause,
        "kind": r.event.kind(),
        "version": r.event.version(),
        "zone": r.event.zone().map(|z| z.as_str()),
        "summary": r.event.to_string(),
        "event": body,
    })
}

/// One CSV field, quoted when it must be (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One record as a CSV row (with its CRLF); an unverified one (`--no-verify` after a
/// break in the hash chain) has `UNVERIFIED: ` before its summary.
fn record_csv(s: &Sealed, unverified: bool) -> String {
    let r = &s.record;
    let fields = [
        r.seq.to_string(),
        r.at.to_string(),
        r.actor.to_string(),
        r.cause.clone(),
        r.event.kind().to_string(),
        r.event.zone().map(|z| z.to_string()).unwrap_or_default(),
        if unverified {
            format!("UNVERIFIED: {}", r.event)
        } else {
            r.event.to_string()
        },
        s.hash.to_string(),
    ];
    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    format!("{}\r\n", row.join(","))
}

/// `log export --jsonl|--csv [--since T] [--zone Z] [--no-verify]`. The hash chain is
/// checked as the records stream (`log::stream`); with `--no-verify` the records from a
/// break on are marked: `"unverified": true` in JSON Lines, `UNVERIFIED: ` before the
/// summary in CSV.
pub fn export(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::flag("jsonl", 'l'),
        Opt::flag("csv", 'c'),
        Opt::value("since", 's'),
        Opt::value("zone", 'z'),
        Opt::flag("no-verify", 'n'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let csv = match (p.has("jsonl"), p.has("csv")) {
        (true, false) => false,
        (false, true) => true,
        (true, true) => return Err(shell.misuse("give one of --jsonl and --csv, not both")),
        (false, false) => {
            return Err(shell.usage_error(spec, "expected option --jsonl or --csv"));
        }
    };
    let since = time_opt(shell, p.value("since"))?;
    let zone = p
        .value("zone")
        .map(ZoneName::new)
        .transpose()
        .map_err(|e| shell.misuse(e))?
        .map(|z| z.key());
    let no_verify = p.has("no-verify");
    with_log(shell, |shell, log| {
        if csv {
            shell.out(&format!("{}\r\n", CSV_HEADER.join(",")));
        }
        stream(shell, log, no_verify, |shell, s, unverified| {
            let r = &s.record;
            if since.is_some_and(|t| r.at < t) {
                return;
            }
            if let Some(z) = &zone
                && r.event.zone().map(ZoneName::key).as_ref() != Some(z)
            {
                return;
            }
            if csv {
                shell.out(&record_csv(s, unverified));
            } else {
                let mut line = record_json(s);
                if unverified {
                    line["unverified"] = serde_json::Value::Bool(true);
                }
                shell.out(&format!("{line}\n"));
            }
        })?;
        Ok(exit::OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(csv_field("zone add"), "zone add");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(""), "");
    }
}
