//! `ods-enforcerd`'s command line, read the way `ods-enforcerd.c:main` reads it:
//! GNU `getopt_long` with the short options `1c:dhivV` and the long-only `--set-time`.
//!
//! Options are processed left to right, so `-h` and `-V` win over anything wrong that
//! comes *after* them (`ods-enforcerd -h --bogus` prints the help and exits 0), while an
//! unknown option *before* them is a usage error (exit 2). Words that are not options
//! are a usage error too. Only then is `--set-time` interpreted; a value it cannot read
//! stops the daemon with exit 1 and the fixed message [`BAD_SET_TIME`].
//!
//! `--set-time` accepts what `common/duration.c:set_time_now_str` accepts: first
//! `strptime("%Y-%m-%d-%H:%M:%S")` — which ignores anything after the seconds and lets
//! `mktime` roll an out-of-range day over (`2023-02-30-…` is the 2nd of March) — else a
//! C `strtol(…, 0)` number (decimal, `0x` hex or leading-`0` octal, optional sign and
//! surrounding blanks). Differences: the calendar form is taken as **UTC** (OpenDNSSEC
//! uses local time), and a number too large for 64 bits is refused instead of clamped.
//! Like OpenDNSSEC, a result of 0 means "not set": `--set-time 0` leaves the clock running.

use crate::getopt::{GetoptError, Opt, Parsed, getopt};
use kasp_events::Timestamp;
use std::fmt;

/// `ODS_SE_CFGFILE`: the configuration read when `-c` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/opendnssec/conf.xml";

/// The message (without newline) for an unreadable `--set-time`; exit code 1.
pub const BAD_SET_TIME: &str =
    "Error: Failed to interpret start time argument.  Daemon not started.";

/// The first line the daemon prints on stdout when it starts (not for `-h`/`-V`).
pub const BANNER: &str = "OpenDNSSEC key and signing policy enforcer version 2.1.12";

/// `ods-enforcerd -h` text (stdout, exit 0; stderr with exit 2 after a usage error).
pub const USAGE: &str = concat!(
    "Usage: ods-enforcerd [OPTIONS]\n",
    "Start the OpenDNSSEC key and signing policy enforcer daemon.\n",
    "\n",
    "Supported options:\n",
    " -c | --config <cfgfile> Read configuration from file.\n",
    " -d | --no-daemon        Do not daemonize the enforcer engine.\n",
    " -1 | --single-run       Run once, then exit.\n",
    " -h | --help             Show this help and exit.\n",
    " -i | --info             Print configuration and exit.\n",
    " -v | --verbose          Increase verbosity.\n",
    " -V | --version          Show version and exit.\n",
    "      --set-time <time>  Start daemon at specific time. ",
    "Notation \"YYYY-MM-DD-HH:MM:SS\" or seconds since Unix epoch.\n",
    "\n",
    "BSD licensed, see LICENSE in source package for details.\n",
    "Version 2.1.12 (kasp-ledger ",
    env!("CARGO_PKG_VERSION"),
    "). Report bugs to <http://bugs.opendnssec.org/>.\n",
);

/// `ods-enforcerd -V` text (stdout, exit 0), with a trailing newline.
pub fn version_text() -> String {
    format!(
        "opendnssec version 2.1.12 (kasp-ledger {})\n\
         Written by the kasp-ledger authors, after OpenDNSSEC's enforcer by \
         Matthijs Mekking, Yuri Schaeffer, René Post.\n\n\
         Copyright (C) kasp-ledger contributors; OpenDNSSEC (C) 2010-2011 NLnet Labs.  \
         This is free software.\n\
         See source files for more license information\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// What the daemon should do, from its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonOptions {
    /// `-c`: the configuration file (last one wins), default [`DEFAULT_CONFIG`].
    pub config: String,
    /// `-d`: stay in the foreground.
    pub no_daemon: bool,
    /// `-1`: run the startup sequence once, then exit.
    pub single_run: bool,
    /// Number of `-v`; when > 0 it replaces conf.xml's `Verbosity`.
    pub verbose: u32,
    /// `--set-time`: the frozen start time; `None` when absent or 0 (OpenDNSSEC's
    /// "not set" value).
    pub set_time: Option<Timestamp>,
}

impl DaemonOptions {
    /// The verbosity to log with: the `-v` count if any, else conf.xml's.
    pub fn effective_verbosity(&self, conf_verbosity: u32) -> u32 {
        if self.verbose > 0 {
            self.verbose
        } else {
            conf_verbosity
        }
    }
}

/// The outcome of a well-formed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Start the daemon.
    Run(DaemonOptions),
    /// `-h`: print [`USAGE`] to stdout, exit 0.
    Help,
    /// `-V`: print [`version_text`] to stdout, exit 0.
    Version,
    /// `-i`: print the configuration (`info::render`) and exit 0.
    Info(DaemonOptions),
}

/// A command line the daemon refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// Unknown, ambiguous or malformed option, or stray words: print the display text
    /// (if any) then [`USAGE`] to stderr, exit 2. The text is glibc's getopt message.
    Usage(Option<String>),
    /// `--set-time` unreadable: print [`BAD_SET_TIME`] to stderr, exit 1.
    BadSetTime(String),
}

impl UsageError {
    /// The process exit code OpenDNSSEC uses.
    pub fn exit_code(&self) -> i32 {
        match self {
            UsageError::Usage(_) => 2,
            UsageError::BadSetTime(_) => 1,
        }
    }

    /// Everything to write to stderr, newline-terminated.
    pub fn stderr_text(&self) -> String {
        match self {
            UsageError::Usage(Some(m)) => format!("{m}\n{USAGE}"),
            UsageError::Usage(None) => USAGE.to_string(),
            UsageError::BadSetTime(_) => format!("{BAD_SET_TIME}\n"),
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::Usage(Some(m)) => f.write_str(m),
            UsageError::Usage(None) => f.write_str("ods-enforcerd: unexpected arguments"),
            UsageError::BadSetTime(_) => f.write_str(BAD_SET_TIME),
        }
    }
}

impl std::error::Error for UsageError {}

const SPEC: &[Opt] = &[
    Opt::flag("single-run", '1'),
    Opt::value("config", 'c'),
    Opt::flag("no-daemon", 'd'),
    Opt::flag("help", 'h'),
    Opt::flag("info", 'i'),
    Opt::flag("verbose", 'v'),
    Opt::flag("version", 'V'),
    Opt {
        long: "set-time",
        short: None,
        takes_value: true,
    },
];

/// Reads the daemon's arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Invocation, UsageError> {
    let parsed = match getopt(args, SPEC) {
        Ok(p) => p,
        Err(e) => return first_stop(args, &e),
    };
    if let Some(stop) = early_exit(&parsed) {
        return Ok(stop);
    }
    if !parsed.rest.is_empty() {
        return Err(UsageError::Usage(None));
    }
    let set_time = match parsed.value("set-time") {
        None => None,
        Some(t) => match parse_set_time(t) {
            Some(0) => None,
            Some(secs) => Some(Timestamp(secs)),
            None => return Err(UsageError::BadSetTime(t.to_string())),
        },
    };
    let opts = DaemonOptions {
        config: parsed.value("config").unwrap_or(DEFAULT_CONFIG).to_string(),
        no_daemon: parsed.has("no-daemon"),
        single_run: parsed.has("single-run"),
        verbose: u32::try_from(parsed.opts.iter().filter(|(l, _)| *l == "verbose").count())
            .unwrap_or(u32::MAX),
        set_time,
    };
    Ok(if parsed.has("info") {
        Invocation::Info(opts)
    } else {
        Invocation::Run(opts)
    })
}

/// After an error: a `-h` or `-V` given before it still wins (getopt stops at the
/// first of them); found by growing the argument list one word at a time.
fn first_stop(args: &[String], err: &GetoptError) -> Result<Invocation, UsageError> {
    for k in 1..=args.len() {
        match getopt(&args[..k], SPEC) {
            Ok(p) => {
                if let Some(stop) = early_exit(&p) {
                    return Ok(stop);
                }
            }
            // The value may be the next word.
            Err(GetoptError::MissingValue(_)) if k < args.len() => {}
            Err(e) => {
                if let GetoptError::Unknown(bad) = &e
                    && let Some(stop) = exit_in_cluster(&args[k - 1], bad)
                {
                    return Ok(stop);
                }
                return Err(UsageError::Usage(Some(getopt_message(&e))));
            }
        }
    }
    Err(UsageError::Usage(Some(getopt_message(err))))
}

fn early_exit(p: &Parsed) -> Option<Invocation> {
    p.opts.iter().find_map(|(l, _)| match *l {
        "help" => stop_letter('h'),
        "version" => stop_letter('V'),
        _ => None,
    })
}

fn stop_letter(c: char) -> Option<Invocation> {
    match c {
        'h' => Some(Invocation::Help),
        'V' => Some(Invocation::Version),
        _ => None,
    }
}

/// `-h`/`-V` before the unknown letter of a cluster (`-dhx`) still take effect.
fn exit_in_cluster(word: &str, bad: &str) -> Option<Invocation> {
    let cluster = word.strip_prefix('-').filter(|s| !s.starts_with('-'))?;
    let bad = bad.strip_prefix('-')?.chars().next()?;
    cluster
        .chars()
        .take_while(|c| *c != bad)
        .find_map(stop_letter)
}

/// glibc's diagnostic for a getopt error, as `getopt_long` prints it.
fn getopt_message(e: &GetoptError) -> String {
    let text = match e {
        GetoptError::Unknown(o) if o.starts_with("--") => format!("unrecognized option '{o}'"),
        GetoptError::Unknown(o) => format!("invalid option -- '{}'", o.trim_start_matches('-')),
        GetoptError::Ambiguous(o) => {
            let all = SPEC
                .iter()
                .filter(|s| s.long.starts_with(o.trim_start_matches('-')));
            let names: Vec<String> = all.map(|s| format!("'--{}'", s.long)).collect();
            format!(
                "option '{o}' is ambiguous; possibilities: {}",
                names.join(" ")
            )
        }
        GetoptError::MissingValue(o) => format!("option '--{o}' requires an argument"),
        GetoptError::UnexpectedValue(o) => format!("option '--{o}' doesn't allow an argument"),
    };
    format!("ods-enforcerd: {text}")
}

/// Reads a `--set-time` value into epoch seconds (see the module notes), `None` if
/// OpenDNSSEC would refuse it.
pub fn parse_set_time(s: &str) -> Option<i64> {
    parse_calendar(s).or_else(|| parse_strtol(s))
}

/// glibc `strptime("%Y-%m-%d-%H:%M:%S")` + `mktime`, in UTC.
fn parse_calendar(s: &str) -> Option<i64> {
    let mut rest = s.as_bytes();
    let mut field = |max_digits: usize, lo: u32, hi: u32, sep: Option<u8>| -> Option<u32> {
        // glibc skips blanks before a number, reads up to `max_digits` digits and stops
        // early once another digit would exceed the field's maximum.
        while let [c, tail @ ..] = rest
            && c.is_ascii_whitespace()
        {
            rest = tail;
        }
        let mut val: u32 = 0;
        let mut n = 0;
        while let [c @ b'0'..=b'9', tail @ ..] = rest {
            if n == max_digits || (n > 0 && val * 10 > hi) {
                break;
            }
            val = val * 10 + u32::from(c - b'0');
            rest = tail;
            n += 1;
        }
        if n == 0 || val < lo || val > hi {
            return None;
        }
        if let Some(sep) = sep {
            match rest {
                [c, tail @ ..] if *c == sep => rest = tail,
                _ => return None,
            }
        }
        Some(val)
    };
    let y = field(4, 0, 9999, Some(b'-'))?;
    let mo = field(2, 1, 12, Some(b'-'))?;
    let d = field(2, 1, 31, Some(b'-'))?;
    let h = field(2, 0, 23, Some(b':'))?;
    let mi = field(2, 0, 59, Some(b':'))?;
    let sec = field(2, 0, 61, None)?;
    // Anything after the seconds is ignored, as strptime's caller here ignores it.
    let first = Timestamp::from_civil(i64::from(y), mo, 1, 0, 0, 0)?;
    let within = i64::from(d - 1) * 86_400 + i64::from(h * 3600 + mi * 60 + sec);
    Some(first.0 + within)
}

/// C `strtol(s, &end, 0)` that must consume everything but trailing blanks.
fn parse_strtol(s: &str) -> Option<i64> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or(t.strip_prefix("0X"))
        && h.starts_with(|c: char| c.is_ascii_hexdigit())
    {
        (16, h)
    } else if t.starts_with('0') {
        (8, t)
    } else {
        (10, t)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0
        || !digits[end..]
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .is_empty()
    {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits[..end], radix).ok()?;
    i64::try_from(if neg { -magnitude } else { magnitude }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Result<Invocation, UsageError> {
        let args: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        parse(&args)
    }

    fn opts(s: &str) -> DaemonOptions {
        match run(s) {
            Ok(Invocation::Run(o) | Invocation::Info(o)) => o,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn defaults_and_flags() {
        let o = opts("");
        assert_eq!(o.config, DEFAULT_CONFIG);
        assert!(!o.no_daemon && !o.single_run && o.verbose == 0 && o.set_time.is_none());
        let o = opts("-d1 -vvv --verbose -c /a --config=/b");
        assert!(o.no_daemon && o.single_run);
        assert_eq!(o.verbose, 4);
        assert_eq!(o.config, "/b");
        assert_eq!(o.effective_verbosity(3), 4);
        assert_eq!(opts("").effective_verbosity(3), 3);
        assert!(matches!(run("-i -c x"), Ok(Invocation::Info(_))));
        assert!(matches!(run("--info"), Ok(Invocation::Info(_))));
        assert!(opts("--no-daemon --single").single_run);
    }

    #[test]
    fn help_and_version_stop_parsing() {
        assert_eq!(run("-h"), Ok(Invocation::Help));
        assert_eq!(run("--help --bogus"), Ok(Invocation::Help));
        assert_eq!(run("-V extra"), Ok(Invocation::Version));
        assert_eq!(run("-dVh"), Ok(Invocation::Version));
        assert_eq!(run("-dhx"), Ok(Invocation::Help));
        assert_eq!(opts("-c -h").config, "-h");
        assert_eq!(run("-c x -h --set-time bad"), Ok(Invocation::Help));
        assert_eq!(run("--bogus -h").map_err(|e| e.exit_code()), Err(2));
    }

    #[test]
    fn usage_errors() {
        for bad in [
            "stray", "-x", "--bogus", "-c", "--ver", "--help=1", "-- -d", "-",
        ] {
            let e = run(bad).expect_err(bad);
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.stderr_text().ends_with(USAGE));
        }
        assert_eq!(
            run("--ver").unwrap_err().to_string(),
            "ods-enforcerd: option '--ver' is ambiguous; possibilities: '--verbose' '--version'"
        );
        assert_eq!(
            run("-x").unwrap_err().to_string(),
            "ods-enforcerd: invalid option -- 'x'"
        );
        assert_eq!(run("stray").unwrap_err(), UsageError::Usage(None));
    }

    #[test]
    fn set_time_forms() {
        let t = |s: &str| opts(&format!("--set-time {s}")).set_time.map(|t| t.0);
        assert_eq!(t("2025-01-01-00:00:00"), Some(1_735_689_600));
        assert_eq!(t("1735689600"), Some(1_735_689_600));
        assert_eq!(t("0"), None);
        assert_eq!(
            parse_set_time("2023-02-30-00:00:00"),
            parse_set_time("2023-03-02-00:00:00")
        );
        assert_eq!(parse_set_time("2025-1-1-0:0:0"), Some(1_735_689_600));
        assert_eq!(parse_set_time("2025-01-01-00:00:00Z"), Some(1_735_689_600));
        assert_eq!(parse_set_time(" 0x10 "), Some(16));
        assert_eq!(parse_set_time("010"), Some(8));
        assert_eq!(parse_set_time("-5"), Some(-5));
        let bad = [
            "",
            "x",
            "12abc",
            "08",
            "0x",
            "2025-13-01-0:0:0",
            "99999999999999999999",
        ];
        for bad in bad {
            assert_eq!(parse_set_time(bad), None, "{bad}");
        }
        let e = run("--set-time=tomorrow").unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.stderr_text(), format!("{BAD_SET_TIME}\n"));
        // Stray words are reported before the time is looked at.
        assert_eq!(run("--set-time bad stray").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn texts() {
        assert!(USAGE.starts_with("Usage: ods-enforcerd [OPTIONS]\n"));
        assert!(version_text().starts_with("opendnssec version 2.1.12 (kasp-ledger "));
    }
}
