//! `--at <moment>`: kasp-ledger's time travel for the read commands (`key list`, `zone
//! list`, `rollover list`, `policy export`, `signconf`). The views are computed by
//! replaying the log up to the moment; nothing is written.
//!
//! A moment is a seq (`N` or `seq:N`: the log up to and including record N), a time
//! (`YYYY-MM-DDTHH:MM:SSZ`, OpenDNSSEC's `YYYY-MM-DD-HH:MM:SS`, or `@<seconds since the
//! epoch>`: the longest prefix of the log with no record later than it). "Now" for the
//! view is the moment itself — the time given, or record N's time — and on a log with a
//! simulated clock the simulated clock at that point, so the output is what the command
//! printed then. A time after the log's clock (the system clock, or the simulated one)
//! is refused: the log cannot say what will have happened.
//!
//! `--at` is taken out of the arguments before OpenDNSSEC's option parsing sees them
//! (only the exact words `--at <m>` and `--at=<m>`), so every line without it parses,
//! abbreviates and counts its words exactly as in OpenDNSSEC 2.1.12.

use super::{Exit, Shell};
use kasp_engine::replay::{Until, fold_until};
use kasp_engine::{Session, exit, system_now};
use kasp_events::{Seq, Timestamp};
use kasp_projector::State;
use std::sync::Arc;

/// Commands that take `--at`.
const TAKES_AT: &[&str] = &[
    "key list",
    "zone list",
    "rollover list",
    "policy export",
    "signconf",
];

/// A moment of the log, as `--at` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    Seq(Seq),
    Time(Timestamp),
}

impl Moment {
    /// Parses `N`, `seq:N`, `@<epoch>`, `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD-HH:MM:SS`.
    pub fn parse(text: &str) -> Result<Moment, String> {
        let bad = || {
            format!(
                "invalid --at value '{text}': expected a seq (N or seq:N), a time \
                 (YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD-HH:MM:SS) or @<seconds since the epoch>"
            )
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let seq = text.strip_prefix("seq:").unwrap_or(text);
        if digits(seq) {
            return seq.parse().map(|n| Moment::Seq(Seq(n))).map_err(|_| bad());
        }
        if let Some(epoch) = text.strip_prefix('@') {
            let body = epoch.strip_prefix('-').unwrap_or(epoch);
            if !digits(body) {
                return Err(bad());
            }
            return epoch
                .parse()
                .map(|s| Moment::Time(Timestamp(s)))
                .map_err(|_| bad());
        }
        // Plain digits were taken as a seq above, so only calendar forms reach this.
        Timestamp::parse(text).map(Moment::Time).map_err(|_| bad())
    }
}

impl std::fmt::Display for Moment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Moment::Seq(s) => write!(f, "seq {s}"),
            Moment::Time(t) => write!(f, "{t}"),
        }
    }
}

/// Where `--at` sits in `args`: (index of its first word, words it takes, its value).
fn find(args: &[String]) -> Option<(usize, usize, Option<&str>)> {
    args.iter().enumerate().rev().find_map(|(i, a)| {
        if a == "--at" {
            Some((i, 2, args.get(i + 1).map(String::as_str)))
        } else {
            a.strip_prefix("--at=").map(|v| (i, 1, Some(v)))
        }
    })
}

/// How many words of `args` are `--at` options of a command that takes them (they do
/// not count against OpenDNSSEC's word limit).
pub fn extension_words(command: &str, args: &[String]) -> usize {
    if !TAKES_AT.contains(&command) {
        return 0;
    }
    let mut rest = args.to_vec();
    let mut n = 0;
    while let Some((i, len, _)) = find(&rest) {
        let len = len.min(rest.len() - i);
        rest.drain(i..i + len);
        n += len;
    }
    n
}

/// Takes every `--at` out of `args` (the last one counts, as getopt keeps the last);
/// returns the moment and the other words. A missing or malformed value: exit 2.
pub fn take(shell: &mut Shell<'_>, args: &[String]) -> Result<(Option<Moment>, Vec<String>), Exit> {
    let mut rest = args.to_vec();
    let mut value: Option<Option<String>> = None;
    while let Some((i, len, v)) = find(&rest) {
        if value.is_none() {
            value = Some(v.map(str::to_string));
        }
        let len = len.min(rest.len() - i);
        rest.drain(i..i + len);
    }
    let moment = match value {
        None => None,
        Some(None) => return Err(shell.misuse("option --at requires a value")),
        Some(Some(v)) => Some(Moment::parse(&v).map_err(|e| shell.misuse(e))?),
    };
    Ok((moment, rest))
}

/// What a read command renders: a state and the "now" it is shown at.
#[derive(Debug, Clone)]
pub struct View {
    pub state: Arc<State>,
    pub now: Timestamp,
}

/// The current state and time, or (with a moment) the state replayed up to it.
pub fn view(shell: &mut Shell<'_>, ctx: &Session, at: Option<Moment>) -> Result<View, Exit> {
    let Some(moment) = at else {
        let state = shell.state(ctx)?;
        let now = state.now(system_now());
        return Ok(View { state, now });
    };
    let (state, now) = replay(shell, ctx, moment, None)?;
    Ok(View {
        state: Arc::new(state),
        now,
    })
}

/// Replays the log up to `moment` (see [`fold_until`] for `observe`); the state and the
/// "now" of that moment. A moment outside the log: exit 2.
pub fn replay(
    shell: &mut Shell<'_>,
    ctx: &Session,
    moment: Moment,
    observe: Option<kasp_engine::replay::Observer<'_>>,
) -> Result<(State, Timestamp), Exit> {
    let log = ctx.reader().map_err(|f| shell.fail(f))?;
    let until = match moment {
        Moment::Seq(s) => Until::Seq(s),
        Moment::Time(t) => Until::Time(t),
    };
    let head = log.head().seq;
    let replayed = fold_until(&log, until, observe).map_err(|e| shell.fail(e.into()))?;
    drop(log);
    let Some(r) = replayed else {
        return Err(match moment {
            Moment::Seq(s) => shell.misuse(format!(
                "--at seq {s} is beyond the end of the log (its last record is seq {head})"
            )),
            Moment::Time(t) => shell.misuse(format!("--at {t} is before the log's first record")),
        });
    };
    let at = match moment {
        Moment::Seq(_) => r.last_at,
        Moment::Time(t) => {
            // Past the last record the state is the current one; past the log's clock
            // (the system's, or the simulated one) it would be a guess about the future.
            let clock = r.state.now(system_now());
            if r.last == head && t > clock {
                return Err(shell.misuse(format!(
                    "--at {t} is in the future (the log's clock reads {clock})"
                )));
            }
            t
        }
    };
    let now = r.state.now(at);
    Ok((r.state, now))
}

/// One zone's signconf as last written: the text, where, and the record that says so.
struct Written {
    text: String,
    path: String,
    digest: String,
    seq: Seq,
}

/// `signconf --at M [--zone Z]`: prints the signconf each zone (or zone Z) had at that
/// moment, the one last written for it, rebuilt from the state it was written from and
/// checked against the digest recorded with it. Writes nothing, appends nothing. With
/// several zones each file is headed `==> <path> <==` (as head(1) does).
pub fn signconf(
    shell: &mut Shell<'_>,
    spec: &super::table::CommandSpec,
    moment: Moment,
    args: &[String],
) -> super::Ran {
    let p = shell.opts(spec, args, &[crate::getopt::Opt::value("zone", 'z')])?;
    let only = match p.value("zone") {
        None => None,
        Some(z) => Some(kasp_events::ZoneName::new(z).map_err(|e| shell.misuse(e))?),
    };
    let ctx = shell.ctx()?;
    let mut written: std::collections::BTreeMap<String, Written> = Default::default();
    let mut observe = |state: &State, r: &kasp_events::Record| match &r.event {
        kasp_events::Event::SignconfWritten(e)
            if only.as_ref().is_none_or(|z| z.key() == e.zone.key()) =>
        {
            let text = state
                .zone(&e.zone)
                .and_then(|z| kasp_engine::signconf::signconf_text(state, z));
            if let Some(text) = text {
                let w = Written {
                    text,
                    path: e.path.clone(),
                    digest: e.digest.clone(),
                    seq: r.seq,
                };
                written.insert(e.zone.key(), w);
            }
        }
        kasp_events::Event::ZoneDeleted(e) => {
            written.remove(&e.zone.key());
        }
        _ => {}
    };
    let (state, _) = replay(shell, &ctx, moment, Some(&mut observe))?;
    let zones: Vec<_> = state
        .zones_in_order()
        .into_iter()
        .filter(|z| only.as_ref().is_none_or(|n| n.key() == z.config.name.key()))
        .map(|z| z.config.name.clone())
        .collect();
    if let Some(z) = &only
        && zones.is_empty()
    {
        return Err(shell.refuse(&format!("zone {z} does not exist at {moment}")));
    }
    let mut first = true;
    for name in zones {
        let Some(w) = written.get(&name.key()) else {
            let message = format!("no signconf had been written for zone {name} at {moment}");
            if only.is_some() {
                return Err(shell.refuse(&message));
            }
            shell.err(&format!("{message}\n"));
            continue;
        };
        if blake3::hash(w.text.as_bytes()).to_hex().as_str() != w.digest {
            shell.err(&format!(
                "warning: zone {name}: the signconf rebuilt from the log does not match the \
                 digest recorded at seq {} ({})\n",
                w.seq, w.digest
            ));
        }
        if only.is_none() {
            if !first {
                shell.out("\n");
            }
            shell.out(&format!("==> {} <==\n", w.path));
        }
        first = false;
        shell.out(&w.text);
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_parse_unambiguously() {
        assert_eq!(Moment::parse("12"), Ok(Moment::Seq(Seq(12))));
        assert_eq!(Moment::parse("seq:0"), Ok(Moment::Seq(Seq(0))));
        assert_eq!(
            Moment::parse("@1735689600"),
            Ok(Moment::Time(Timestamp(1_735_689_600)))
        );
        assert_eq!(
            Moment::parse("2025-01-01T00:00:00Z"),
            Ok(Moment::Time(Timestamp(1_735_689_600)))
        );
        assert_eq!(
            Moment::parse("2025-01-01-00:00:00"),
            Ok(Moment::Time(Timestamp(1_735_689_600)))
        );
        for bad in [
            "",
            "seq:",
            "seq:x",
            "@",
            "@x",
            "-1",
            "99999999999999999999",
            "yesterday",
            "2025-02-30T00:00:00Z",
            "@--1",
        ] {
            assert!(Moment::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn at_words_are_found_and_counted() {
        let w = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(extension_words("key list", &w("--zone z --at 3 -v")), 2);
        assert_eq!(extension_words("key list", &w("--at=3 --at 4")), 3);
        assert_eq!(extension_words("key list", &w("--at")), 1);
        assert_eq!(extension_words("zone add", &w("--at 3")), 0);
        assert_eq!(extension_words("key list", &w("--all --a 3")), 0);
    }
}
