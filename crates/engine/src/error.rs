//! The engine's failures and the one mapping from them to exit codes: OpenDNSSEC's for
//! its commands (0, 1, 2 for `help`, 255 for syntax errors); for kasp-ledger's own
//! failures 3 = integrity (broken chain, log format too new, corrupted file) and 4 =
//! environment (missing or locked log, unreadable configuration, I/O).

use kasp_events::LogError;
use kasp_projector::decide::Rejection;

/// Exit codes of kasp-ledger's own failures (OpenDNSSEC's commands keep theirs).
pub mod exit {
    pub const OK: i32 = 0;
    pub const REFUSED: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const INTEGRITY: i32 = 3;
    pub const ENVIRONMENT: i32 = 4;
    /// OpenDNSSEC's "syntax error" (run returned -1).
    pub const SYNTAX: i32 = 255;
}

/// What kind of failure stopped a command; [`Kind::exit_code`] is the one mapping to
/// exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A rule refused it; nothing changed (exit 1).
    Refused,
    /// The log or a signed record is not what it claims (exit 3).
    Integrity,
    /// The environment: files, the log's availability, the HSM, programs (exit 4).
    Environment,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Refused => exit::REFUSED,
            Kind::Integrity => exit::INTEGRITY,
            Kind::Environment => exit::ENVIRONMENT,
        }
    }
}

/// A failure, of a kind, with what to tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl Failure {
    /// A failure of the environment (exit 4).
    pub fn env(message: impl Into<String>) -> Self {
        Failure {
            kind: Kind::Environment,
            message: message.into(),
        }
    }

    /// A failure of integrity (exit 3).
    pub fn integrity(message: impl Into<String>) -> Self {
        Failure {
            kind: Kind::Integrity,
            message: message.into(),
        }
    }

    /// Refused by a rule, nothing changed (exit 1).
    pub fn refused(message: impl Into<String>) -> Self {
        Failure {
            kind: Kind::Refused,
            message: message.into(),
        }
    }

    /// The exit code of the failure.
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl From<LogError> for Failure {
    fn from(e: LogError) -> Self {
        let kind = match &e {
            LogError::Exists { .. } => Kind::Refused,
            LogError::TooNew { .. } | LogError::Corrupt { .. } | LogError::Replaced { .. } => {
                Kind::Integrity
            }
            LogError::Missing { .. }
            | LogError::NeedsRepair { .. }
            | LogError::Locked { .. }
            | LogError::Conflict { .. }
            | LogError::ReadOnly { .. }
            | LogError::Io { .. } => Kind::Environment,
        };
        Failure {
            kind,
            message: e.to_string(),
        }
    }
}

/// Why a decided command did not complete.
#[derive(Debug)]
pub enum RunError {
    Rejected(Rejection),
    Failed(Failure),
}

impl From<Failure> for RunError {
    fn from(f: Failure) -> Self {
        RunError::Failed(f)
    }
}

impl From<LogError> for RunError {
    fn from(e: LogError) -> Self {
        RunError::Failed(e.into())
    }
}

impl From<RunError> for Failure {
    fn from(e: RunError) -> Failure {
        match e {
            RunError::Rejected(r) => Failure::refused(r.message),
            RunError::Failed(f) => f,
        }
    }
}

impl Failure {
    /// The failure as the command reports it on stderr.
    pub fn report_text(&self) -> String {
        format!("error: {}\n", self.message)
    }
}

impl RunError {
    /// What went wrong, in words.
    pub fn message(&self) -> &str {
        match self {
            RunError::Rejected(r) => &r.message,
            RunError::Failed(f) => &f.message,
        }
    }

    /// The error as the command reports it on stderr: a rejection in OpenDNSSEC's words,
    /// a failure with `error: `.
    pub fn report_text(&self) -> String {
        match self {
            RunError::Rejected(r) => format!("{}\n", r.message),
            RunError::Failed(f) => f.report_text(),
        }
    }

    /// The exit code of the error.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Rejected(_) => exit::REFUSED,
            RunError::Failed(f) => f.exit_code(),
        }
    }
}
