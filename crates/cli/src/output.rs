//! Where command output goes. OpenDNSSEC separates stdout and stderr text (and the
//! socket protocol carries them as separate frames), so commands write through a
//! [`Sink`] that keeps the two apart and in order.

use std::io::Write;

/// A destination for a command's stdout and stderr text.
pub trait Sink {
    /// Text for stdout, written as given (include the newline).
    fn out(&mut self, text: &str);
    /// Text for stderr, written as given (include the newline).
    fn err(&mut self, text: &str);
    /// Makes what was written so far visible (a prompt waiting for input).
    fn flush(&mut self) {}
}

/// The process's own stdout (buffered) and stderr. On a terminal, stdout is flushed
/// before anything goes to stderr so both show in order. Redirected, stdout is written
/// when the command ends and stderr at once, as OpenDNSSEC's client prints the daemon's
/// frames with stdio (ods-enforcer.c: `fprintf(stdout, …)`, fully buffered when not a
/// terminal, flushed at the exit frame): a file holding both has the errors first.
pub struct StdSink {
    out: std::io::BufWriter<std::io::Stdout>,
    /// Whether stdout is a terminal (then stdout is flushed before stderr).
    terminal: bool,
}

impl std::fmt::Debug for StdSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StdSink")
    }
}

impl StdSink {
    pub fn new() -> Self {
        use std::io::IsTerminal;
        StdSink {
            out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
            terminal: std::io::stdout().is_terminal(),
        }
    }
}

impl Default for StdSink {
    fn default() -> Self {
        Self::new()
    }
}

impl Sink for StdSink {
    fn out(&mut self, text: &str) {
        // A closed pipe (e.g. `| head`) is not an error worth a panic.
        let _ = self.out.write_all(text.as_bytes());
    }

    fn err(&mut self, text: &str) {
        if self.terminal {
            let _ = self.out.flush();
        }
        let _ = std::io::stderr().write_all(text.as_bytes());
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }
}

impl Drop for StdSink {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

/// Collects output in memory (tests, and the daemon's framing later).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Captured {
    pub out: String,
    pub err: String,
}

impl Sink for Captured {
    fn out(&mut self, text: &str) {
        self.out.push_str(text);
    }

    fn err(&mut self, text: &str) {
        self.err.push_str(text);
    }
}
