//! The conformance scenario language (shared/conformance/README.md, "Scenario
//! language"): one step per line, `#` comments, `#@` directives. This module only
//! parses; the runner that executes steps against a sandbox comes with the enforcer.
//!
//! One directive is this project's own, not in the shared language: `#@conf-remove
//! <Element>` leaves `<Element>` out of the sandbox conf.xml's `<Enforcer>` section —
//! e.g. `#@conf-remove DelegationSignerSubmitCommand` for a corner without the DS hooks
//! the sandbox otherwise always configures (fixtures/conformance/corners/README.md).
//! Another, `#@require-backup`, gives the sandbox repository `<RequireBackup/>`, so that
//! its keys are used only after `backup prepare` and `backup commit`
//! (fixtures/ods-import/README.md). A third, `#@installation <dir>`, starts the scenario
//! from a captured OpenDNSSEC installation (a directory of fixtures/ods-import, relative to
//! the scenario file) instead of an empty one: the sandbox is a relocated copy of it, the
//! clock starts at its `simulated-time`, the enforcer is set up from its database
//! (`setup --import-ods`), and step 000 starts the daemon at that time (as `restart-at`),
//! in place of `policy import`. Such a scenario names no `#@kasp`; its `#@conf` elements
//! change the installation's conf.xml (an operator changing the configuration as the
//! enforcer restarts).

use kasp_events::Seconds;

/// A point in scenario time for `leap-until-time` and `restart-at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// `+90d`, `+1d12h`, `+P1DT2H` or plain seconds: after the scenario's start.
    After(Seconds),
    /// `@1735689600`: an absolute epoch time.
    At(i64),
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An `ods-enforcer` command line (placeholders not yet expanded).
    Command(String),
    /// `leap [N]`.
    Leap(u32),
    /// `leap-until-time <when>`.
    LeapUntilTime(When),
    /// `leap-until [max=M] [!] <regex>`: until `key list --verbose` matches (or, with
    /// `!`, no longer matches) the extended regular expression.
    LeapUntil {
        max: Option<u32>,
        negate: bool,
        pattern: String,
    },
    /// `restart-at <when>`.
    RestartAt(When),
    /// `snapshot`.
    Snapshot,
    /// `kasp <file>`: replace the sandbox kasp.xml (a `policy import` follows).
    Kasp(String),
    /// `zonelist-file <file>`: replace the sandbox zonelist.xml (a `zonelist import` follows).
    ZonelistFile(String),
    /// `auto-ds on|off`.
    AutoDs(bool),
}

/// A parsed scenario: its directives and steps (with their line numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    /// `#@kasp <file>`, relative to the scenario file.
    pub kasp: Option<String>,
    /// `#@conf <Element> [value]`, in order.
    pub conf: Vec<(String, Option<String>)>,
    /// `#@conf-remove <Element>` (this project's extension, see the module text).
    pub conf_remove: Vec<String>,
    /// `#@require-backup` (this project's extension, see the module text).
    pub require_backup: bool,
    /// `#@installation <dir>` (this project's extension, see the module text).
    pub installation: Option<String>,
    /// `#@trace hsm`.
    pub trace_hsm: bool,
    pub steps: Vec<(u32, Step)>,
}

/// A line the parser refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ScenarioError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// What a time in `leap-until-time` and `restart-at` may be, for messages.
pub const WHEN_FORMS: &str = "+<duration> (after the start: 90d, 12h, 3600s, 2w, 1d12h, \
                              12d3h30m, P90D, PT12H, P1DT2H) or @<epoch>";

/// Parses `+<dur>` (after the start) or `@<epoch>`. `<dur>` is one or more `<N><unit>`
/// with units `w`, `d`, `h`, `m`, `s` in that order (`90d`, `1d12h`, `12d3h30m`), plain
/// seconds (`3600`), or an ISO 8601 duration without years or months (`P90D`, `PT12H`,
/// `P1DT2H`, `P2W`). `None` for anything else, or a duration beyond `u32` seconds.
pub fn parse_when(text: &str) -> Option<When> {
    if let Some(epoch) = text.strip_prefix('@') {
        return epoch.parse().ok().map(When::At);
    }
    let rel = text.strip_prefix('+')?;
    let secs = if rel.bytes().all(|b| b.is_ascii_digit()) {
        rel.parse::<u64>().ok()
    } else if let Some(iso) = rel.strip_prefix('P') {
        parse_iso_duration(iso)
    } else {
        parse_units(
            rel,
            &[
                ('w', 604_800),
                ('d', 86_400),
                ('h', 3600),
                ('m', 60),
                ('s', 1),
            ],
        )
    }?;
    u32::try_from(secs).ok().map(|s| When::After(Seconds(s)))
}

/// `<N><unit>` repeated, each unit of `units` at most once and in the table's order;
/// the total in seconds. At least one part; nothing left over.
fn parse_units(text: &str, units: &[(char, u64)]) -> Option<u64> {
    let mut rest = text;
    let mut allowed = units;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = rest[digits..].chars().next()?;
        let n: u64 = rest[..digits].parse().ok()?;
        let at = allowed.iter().position(|(u, _)| *u == unit)?;
        total = total.checked_add(n.checked_mul(allowed[at].1)?)?;
        allowed = &allowed[at + 1..];
        rest = &rest[digits + unit.len_utf8()..];
    }
    (rest.len() < text.len()).then_some(total)
}

/// The part of an ISO 8601 duration after `P`: `[nW][nD][T[nH][nM][nS]]`, at least one
/// part, and a `T` only when a time part follows. Years and months (`Y`, `M` before
/// `T`) are refused: their length depends on the calendar.
fn parse_iso_duration(text: &str) -> Option<u64> {
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let date_secs = if date.is_empty() {
        0
    } else {
        parse_units(date, &[('W', 604_800), ('D', 86_400)])?
    };
    let time_secs = match time {
        None => 0,
        Some(t) => parse_units(t, &[('H', 3600), ('M', 60), ('S', 1)])?,
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    date_secs.checked_add(time_secs)
}

/// The message for a time [`parse_when`] refused.
fn bad_time(text: &str) -> String {
    format!("bad time '{text}': expected {WHEN_FORMS}")
}

/// Parses a scenario; `file` is used in messages only.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let mut sc = Scenario::default();
    for (i, raw) in text.lines().enumerate() {
        let line = (i + 1) as u32;
        let err = |message: String| ScenarioError {
            file: file.to_string(),
            line,
            message,
        };
        let l = raw.trim();
        if let Some(d) = l.strip_prefix("#@") {
            let mut words = d.split_whitespace();
            match words.next() {
                Some("kasp") => {
                    sc.kasp = Some(
                        words
                            .next()
                            .ok_or_else(|| err("#@kasp needs a file".into()))?
                            .to_string(),
                    )
                }
                Some("conf") => {
                    let element = words
                        .next()
                        .ok_or_else(|| err("#@conf needs an element".into()))?;
                    let value = words.collect::<Vec<_>>().join(" ");
                    sc.conf
                        .push((element.to_string(), (!value.is_empty()).then_some(value)));
                }
                Some("conf-remove") => {
                    let element = words
                        .next()
                        .ok_or_else(|| err("#@conf-remove needs an element".into()))?;
                    if words.next().is_some() {
                        return Err(err("#@conf-remove takes one element".into()));
                    }
                    sc.conf_remove.push(element.to_string());
                }
                Some("require-backup") => {
                    if words.next().is_some() {
                        return Err(err("#@require-backup takes no argument".into()));
                    }
                    sc.require_backup = true;
                }
                Some("installation") => {
                    let dir = words
                        .next()
                        .ok_or_else(|| err("#@installation needs a directory".into()))?;
                    if words.next().is_some() {
                        return Err(err("#@installation takes one directory".into()));
                    }
                    sc.installation = Some(dir.to_string());
                }
                Some("trace") => sc.trace_hsm = words.any(|w| w == "hsm"),
                other => return Err(err(format!("unknown directive #@{}", other.unwrap_or("")))),
            }
            continue;
        }
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (word, rest) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let rest = rest.trim();
        let step = match word {
            "leap" if rest.is_empty() => Step::Leap(1),
            "leap" => Step::Leap(
                rest.parse()
                    .map_err(|_| err(format!("leap: bad count '{rest}'")))?,
            ),
            "leap-until-time" => {
                Step::LeapUntilTime(parse_when(rest).ok_or_else(|| err(bad_time(rest)))?)
            }
            "restart-at" => Step::RestartAt(parse_when(rest).ok_or_else(|| err(bad_time(rest)))?),
            "leap-until" => {
                let mut pattern = rest;
                let mut max = None;
                if let Some(m) = pattern.strip_prefix("max=") {
                    let (n, tail) = m.split_once(char::is_whitespace).unwrap_or((m, ""));
                    max = Some(n.parse().map_err(|_| err(format!("bad max '{n}'")))?);
                    pattern = tail.trim_start();
                }
                let negate = pattern.starts_with("! ");
                if negate {
                    pattern = pattern[2..].trim_start();
                }
                if pattern.is_empty() {
                    return Err(err("leap-until needs a pattern".into()));
                }
                Step::LeapUntil {
                    max,
                    negate,
                    pattern: pattern.to_string(),
                }
            }
            "snapshot" => Step::Snapshot,
            "kasp" if !rest.is_empty() => Step::Kasp(rest.to_string()),
            "zonelist-file" if !rest.is_empty() => Step::ZonelistFile(rest.to_string()),
            "auto-ds" => match rest {
                "on" => Step::AutoDs(true),
                "off" => Step::AutoDs(false),
                _ => return Err(err(format!("auto-ds takes on or off, not '{rest}'"))),
            },
            _ => Step::Command(l.to_string()),
        };
        sc.steps.push((line, step));
    }
    Ok(sc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_when("+180d"), Some(When::After(Seconds(15_552_000))));
        assert_eq!(parse_when("+12h"), Some(When::After(Seconds(43_200))));
        assert_eq!(parse_when("+3600"), Some(When::After(Seconds(3600))));
        assert_eq!(parse_when("@1735689600"), Some(When::At(1_735_689_600)));
        for bad in ["", "+", "90d", "+9x", "+d", "@x", "+99999999999d"] {
            assert_eq!(parse_when(bad), None, "{bad}");
        }
    }

    #[test]
    fn compound_and_iso_durations() {
        let after = |s: u32| Some(When::After(Seconds(s)));
        assert_eq!(parse_when("+12d3h"), after(12 * 86_400 + 3 * 3600));
        assert_eq!(parse_when("+1d12h"), after(86_400 + 43_200));
        assert_eq!(
            parse_when("+12d3h30m"),
            after(12 * 86_400 + 3 * 3600 + 1800)
        );
        assert_eq!(parse_when("+2w"), after(14 * 86_400));
        assert_eq!(
            parse_when("+1w2d3h4m5s"),
            after(9 * 86_400 + 3 * 3600 + 245)
        );
        assert_eq!(parse_when("+3600s"), after(3600));
        assert_eq!(parse_when("+P90D"), after(90 * 86_400));
        assert_eq!(parse_when("+PT12H"), after(43_200));
        assert_eq!(parse_when("+P1DT2H"), after(86_400 + 7200));
        assert_eq!(parse_when("+P2W"), after(14 * 86_400));
        assert_eq!(parse_when("+PT1H30M15S"), after(5415));
        assert_eq!(parse_when("+P0D"), after(0));
        for bad in [
            "+1h1d", "+1d1d", "+1d2", "+d1", "+1dh", "+1D", "+P", "+PT", "+P1M", "+P1Y", "+P1H",
            "+PT1D", "+P1DT", "+p1d", "+P1D2", "+P-1D", "+1d ", "+50000d",
        ] {
            assert_eq!(parse_when(bad), None, "{bad}");
        }
    }

    #[test]
    fn steps_and_directives() {
        let sc = parse(
            "# comment\n#@kasp ../kasp/default.xml\n#@conf AutomaticKeyGenerationPeriod P1D\n\
             #@conf ManualKeyGeneration\n#@conf-remove DelegationSignerSubmitCommand\n#@trace hsm\n\
             zone add --zone example.com --policy default\nleap\nleap 3\n\
             leap-until waiting for ds-seen\nleap-until max=20 ! ready\n\
             leap-until-time +90d\nrestart-at +45d\nsnapshot\nauto-ds on\nkasp other.xml\n",
            "t.scn",
        )
        .unwrap();
        assert_eq!(sc.kasp.as_deref(), Some("../kasp/default.xml"));
        assert_eq!(
            sc.conf,
            vec![
                (
                    "AutomaticKeyGenerationPeriod".to_string(),
                    Some("P1D".to_string())
                ),
                ("ManualKeyGeneration".to_string(), None)
            ]
        );
        assert_eq!(sc.conf_remove, vec!["DelegationSignerSubmitCommand"]);
        assert!(sc.trace_hsm);
        let steps: Vec<Step> = sc.steps.into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            steps,
            vec![
                Step::Command("zone add --zone example.com --policy default".into()),
                Step::Leap(1),
                Step::Leap(3),
                Step::LeapUntil {
                    max: None,
                    negate: false,
                    pattern: "waiting for ds-seen".into()
                },
                Step::LeapUntil {
                    max: Some(20),
                    negate: true,
                    pattern: "ready".into()
                },
                Step::LeapUntilTime(When::After(Seconds(90 * 86_400))),
                Step::RestartAt(When::After(Seconds(45 * 86_400))),
                Step::Snapshot,
                Step::AutoDs(true),
                Step::Kasp("other.xml".into()),
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("leap\nleap x\n", "t.scn").unwrap_err();
        assert_eq!(e.to_string(), "t.scn:2: leap: bad count 'x'");
        assert!(parse("#@bogus\n", "t.scn").is_err());
        assert!(parse("#@conf-remove\n", "t.scn").is_err());
        assert!(parse("#@require-backup yes\n", "t.scn").is_err());
        assert!(parse("#@require-backup\n", "t.scn").unwrap().require_backup);
        assert_eq!(
            parse("#@installation ../02-zsk\n", "t.scn")
                .unwrap()
                .installation
                .as_deref(),
            Some("../02-zsk")
        );
        assert!(parse("#@installation\n", "t.scn").is_err());
        assert!(parse("#@installation a b\n", "t.scn").is_err());
        assert!(!parse("#@conf-remove A\n", "t.scn").unwrap().require_backup);
        assert!(parse("#@conf-remove A B\n", "t.scn").is_err());
        let e = parse("leap-until-time soon\n", "t.scn").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.scn:1: bad time 'soon': expected +<duration>")
        );
        assert_eq!(
            parse("restart-at +12d3h\n", "t.scn").unwrap().steps,
            vec![(
                1,
                Step::RestartAt(When::After(Seconds(12 * 86_400 + 3 * 3600)))
            )]
        );
        assert!(parse("leap-until max=3\n", "t.scn").is_err());
    }

    /// Every scenario of the conformance suite parses.
    #[test]
    fn the_conformance_scenarios_parse() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/conformance/scenarios"
        );
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let sc = parse(&text, &path.display().to_string()).unwrap();
            assert!(sc.kasp.is_some(), "{}", path.display());
            assert!(!sc.steps.is_empty());
            n += 1;
        }
        assert_eq!(n, 8);
    }
}
