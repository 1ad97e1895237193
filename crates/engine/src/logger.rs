//! The daemon's process-wide logger, after OpenDNSSEC's `common/log.c`.
//!
//! Six message classes ([`Level`]); a message is written when the current verbosity is
//! at least its level (OpenDNSSEC's "log level = verbosity + 2" rule). With a syslog
//! facility from conf.xml the logger calls `openlog("ods-enforcerd", LOG_NDELAY, …)`
//! and sends every message with `syslog(priority, "%s", msg)`; an unknown facility
//! name falls back to `LOG_DAEMON` with a warning. Without one it writes
//! `[YYYY-MM-DD HH:MM:SS UTC] ods-enforcerd: <tag>: <msg>` lines to stderr.
//!
//! Differences from OpenDNSSEC, on purpose: the stderr line carries an ISO date in UTC
//! from the real clock (OpenDNSSEC writes `[<ctime>] ods-enforcerd[<priority>] <tag
//! padded to 7>: <msg>` with the daemon's possibly frozen `time_now()`), and before
//! [`init`] messages go to stderr in that same format rather than bare to stdout
//! (the verbosity is 0 until then, as in OpenDNSSEC: only `crit` gets through).
//! Messages longer than 1024 bytes are cut at a character boundary; NUL bytes are
//! replaced by `?` so that syslog sees the whole text.
//!
//! The state is in statics, so every thread logs through the same settings; changing
//! them ([`init`], [`set_verbosity`]) is safe at any time.

use kasp_events::Timestamp;
use std::ffi::CString;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Longest message kept, in bytes (OpenDNSSEC's `ODS_SE_MAXLINE`).
pub const MAX_MESSAGE: usize = 1024;

/// A message class, in increasing verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum Level {
    /// Emitted at verbosity 0 and up, as LOG_CRIT.
    Crit = 0,
    /// Verbosity 1, LOG_ERR.
    Error = 1,
    /// Verbosity 2, LOG_WARNING.
    Warning = 2,
    /// Verbosity 3 (the default), LOG_NOTICE.
    Msg = 3,
    /// Verbosity 4, LOG_INFO.
    Verbose = 4,
    /// Verbosity 5, LOG_DEBUG.
    Debug = 5,
}

impl Level {
    /// The tag in stderr lines.
    pub fn tag(self) -> &'static str {
        match self {
            Level::Crit => "crit",
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Msg => "msg",
            Level::Verbose => "verbose",
            Level::Debug => "debug",
        }
    }

    /// The syslog priority messages of this class are sent at.
    pub fn syslog_priority(self) -> libc::c_int {
        match self {
            Level::Crit => libc::LOG_CRIT,
            Level::Error => libc::LOG_ERR,
            Level::Warning => libc::LOG_WARNING,
            Level::Msg => libc::LOG_NOTICE,
            Level::Verbose => libc::LOG_INFO,
            Level::Debug => libc::LOG_DEBUG,
        }
    }
}

static VERBOSITY: AtomicU32 = AtomicU32::new(0);
static TO_SYSLOG: AtomicBool = AtomicBool::new(false);
/// Serialises [`init`] (openlog/closelog) against itself.
static INIT: Mutex<()> = Mutex::new(());

/// The syslog facility for a conf.xml name (case-insensitive), `None` if unknown.
pub fn facility_from_name(name: &str) -> Option<libc::c_int> {
    let table = [
        ("kern", libc::LOG_KERN),
        ("user", libc::LOG_USER),
        ("mail", libc::LOG_MAIL),
        ("daemon", libc::LOG_DAEMON),
        ("auth", libc::LOG_AUTH),
        ("lpr", libc::LOG_LPR),
        ("news", libc::LOG_NEWS),
        ("uucp", libc::LOG_UUCP),
        ("cron", libc::LOG_CRON),
        ("local0", libc::LOG_LOCAL0),
        ("local1", libc::LOG_LOCAL1),
        ("local2", libc::LOG_LOCAL2),
        ("local3", libc::LOG_LOCAL3),
        ("local4", libc::LOG_LOCAL4),
        ("local5", libc::LOG_LOCAL5),
        ("local6", libc::LOG_LOCAL6),
        ("local7", libc::LOG_LOCAL7),
    ];
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, f)| *f)
}

/// Sets the destination (`Some(facility)` = syslog, `None` = stderr) and verbosity.
/// May be called again (a reload); the previous syslog connection is closed first.
pub fn init(facility: Option<&str>, verbosity: u32) {
    let _guard = INIT.lock().unwrap_or_else(|p| p.into_inner());
    VERBOSITY.store(verbosity, Ordering::Relaxed);
    if TO_SYSLOG.swap(false, Ordering::Relaxed) {
        // SAFETY: closelog has no preconditions.
        unsafe { libc::closelog() };
    }
    let Some(name) = facility else {
        verbose(&format!(
            "[log] switching log to stderr verbosity {verbosity} (log level {})",
            u64::from(verbosity) + 2
        ));
        return;
    };
    let code = facility_from_name(name);
    // SAFETY: the ident is a 'static C string, as openlog keeps the pointer.
    unsafe {
        libc::openlog(
            c"ods-enforcerd".as_ptr(),
            libc::LOG_NDELAY,
            code.unwrap_or(libc::LOG_DAEMON),
        )
    };
    TO_SYSLOG.store(true, Ordering::Relaxed);
    if code.is_none() {
        warning(&format!(
            "[log] syslog facility {name} not supported, logging to log_daemon"
        ));
    }
    verbose(&format!(
        "[log] switching log to syslog verbosity {verbosity} (log level {})",
        u64::from(verbosity) + 2
    ));
}

/// Changes the verbosity (the `verbosity` command, `-v`).
pub fn set_verbosity(verbosity: u32) {
    VERBOSITY.store(verbosity, Ordering::Relaxed);
}

/// The current verbosity.
pub fn verbosity() -> u32 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// Whether a message of this class would be written now (to skip costly formatting).
pub fn enabled(level: Level) -> bool {
    verbosity() >= level as u32
}

/// Writes one message if the verbosity allows it. Never fails.
pub fn log(level: Level, msg: &str) {
    if !enabled(level) {
        return;
    }
    if TO_SYSLOG.load(Ordering::Relaxed) {
        let text = truncate(msg).replace('\0', "?");
        if let Ok(c) = CString::new(text) {
            // SAFETY: both strings are NUL-terminated and live across the call; the
            // format consumes exactly one string argument.
            unsafe { libc::syslog(level.syslog_priority(), c"%s".as_ptr(), c.as_ptr()) };
        }
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let line = format_stderr_line(now, level, msg);
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The stderr form of a message, newline included.
pub fn format_stderr_line(now_secs: i64, level: Level, msg: &str) -> String {
    // Keep the calendar arithmetic in a range where it cannot overflow.
    let c = Timestamp(now_secs.clamp(-(1 << 50), 1 << 50)).civil();
    format!(
        "[{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC] ods-enforcerd: {}: {}\n",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        level.tag(),
        truncate(msg).replace('\0', "?")
    )
}

/// `msg` cut to at most [`MAX_MESSAGE`] bytes, on a character boundary.
fn truncate(msg: &str) -> &str {
    if msg.len() <= MAX_MESSAGE {
        return msg;
    }
    let mut end = MAX_MESSAGE;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    &msg[..end]
}

/// Logs at [`Level::Crit`].
pub fn crit(msg: &str) {
    log(Level::Crit, msg);
}

/// Logs at [`Level::Error`].
pub fn error(msg: &str) {
    log(Level::Error, msg);
}

/// Logs at [`Level::Warning`].
pub fn warning(msg: &str) {
    log(Level::Warning, msg);
}

/// Logs at [`Level::Msg`] (OpenDNSSEC's `ods_log_info`).
pub fn msg(msg: &str) {
    log(Level::Msg, msg);
}

/// Logs at [`Level::Verbose`].
pub fn verbose(msg: &str) {
    log(Level::Verbose, msg);
}

/// Logs at [`Level::Debug`].
pub fn debug(msg: &str) {
    log(Level::Debug, msg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_line_format() {
        assert_eq!(
            format_stderr_line(1_735_740_245, Level::Msg, "[engine] enforcer started"),
            "[2025-01-01 14:04:05 UTC] ods-enforcerd: msg: [engine] enforcer started\n"
        );
        assert_eq!(
            format_stderr_line(0, Level::Crit, "a\0b"),
            "[1970-01-01 00:00:00 UTC] ods-enforcerd: crit: a?b\n"
        );
        // Extreme clocks do not panic.
        let _ = format_stderr_line(i64::MIN, Level::Debug, "x");
        let _ = format_stderr_line(i64::MAX, Level::Debug, "x");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let long = "é".repeat(700); // 1400 bytes
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_MESSAGE && cut.len() >= MAX_MESSAGE - 1);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(truncate("short"), "short");
        let line = format_stderr_line(0, Level::Error, &"x".repeat(5000));
        assert_eq!(line.matches('x').count(), MAX_MESSAGE);
    }

    #[test]
    fn levels_tags_and_facilities() {
        let tags: Vec<_> = [
            Level::Crit,
            Level::Error,
            Level::Warning,
            Level::Msg,
            Level::Verbose,
            Level::Debug,
        ]
        .iter()
        .map(|l| (l.tag(), *l as u32))
        .collect();
        assert_eq!(
            tags,
            [
                ("crit", 0),
                ("error", 1),
                ("warning", 2),
                ("msg", 3),
                ("verbose", 4),
                ("debug", 5)
            ]
        );
        assert_eq!(Level::Msg.syslog_priority(), libc::LOG_NOTICE);
        assert_eq!(facility_from_name("LOCAL0"), Some(libc::LOG_LOCAL0));
        assert_eq!(facility_from_name("Daemon"), Some(libc::LOG_DAEMON));
        assert_eq!(facility_from_name("local8"), None);
        assert_eq!(facility_from_name(""), None);
    }

    #[test]
    fn verbosity_gate() {
        // The only test that touches the global state.
        set_verbosity(3);
        assert_eq!(verbosity(), 3);
        assert!(enabled(Level::Msg) && !enabled(Level::Verbose));
        set_verbosity(0);
        assert!(enabled(Level::Crit) && !enabled(Level::Error));
        log(Level::Debug, "not written");
    }
}
