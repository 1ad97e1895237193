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

/// A failure of the environment or of the log, with its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn env(message: impl Into<String>) -> Self {
        Failure {
            code: exit::ENVIRONMENT,
            message: message.into(),
        }
    }
}

impl From<LogError> for Failure {
    fn from(e: LogError) -> Self {
        let code = match &e {
            LogError::Exists { .. } => exit::REFUSED,
            LogError::TooNew { .. } | LogError::Corrupt { .. } => exit::INTEGRITY,
            LogError::Missing { .. }
            | LogError::NeedsRepair { .. }
            | LogError::Locked { .. }
            | LogError::Conflict { .. }
            | LogError::ReadOnly { .. }
            | LogError::Io { .. } => exit::ENVIRONMENT,
        };
        Failure {
            code,
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
            RunError::Rejected(r) => Failure {
                code: exit::REFUSED,
                message: r.message,
            },
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
            RunError::Failed(f) => f.code,
        }
    }
}
