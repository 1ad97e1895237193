//! The command table and dispatch, as OpenDNSSEC's command handler does it: the first
//! entry whose words start the line wins; each command parses its own options with
//! getopt; a syntax error prints `Error parsing arguments …` and the usage block and
//! exits 255. One file per command group.

mod help;
mod log;
mod ods_usage;
mod policy;
mod setup;
pub(crate) mod table;
pub(crate) mod usage;
mod zone;
mod zonelist;

use crate::engine::{Context, Failure, exit};
use crate::getopt::{GetoptError, Opt, Parsed, getopt};
use crate::output::Sink;
use std::path::PathBuf;
pub use table::{COMMANDS, CommandSpec, Handler};

/// What every command gets: where to write, which conf.xml, who runs it, the line.
pub struct Shell<'a> {
    pub sink: &'a mut dyn Sink,
    pub conf_path: PathBuf,
    /// The command line, words joined by single spaces.
    pub line: String,
    pub user: String,
}

impl std::fmt::Debug for Shell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("conf_path", &self.conf_path)
            .field("line", &self.line)
            .finish()
    }
}

impl Shell<'_> {
    pub fn out(&mut self, text: &str) {
        self.sink.out(text);
    }

    pub fn err(&mut self, text: &str) {
        self.sink.err(text);
    }

    /// Loads conf.xml into a [`Context`].
    pub fn context(&mut self) -> Result<Context, Failure> {
        let conf = crate::config::load(&self.conf_path)?;
        Ok(Context {
            conf_path: self.conf_path.clone(),
            conf,
            line: self.line.clone(),
            user: self.user.clone(),
        })
    }

    /// Reports a failure and returns its exit code.
    pub fn fail(&mut self, f: Failure) -> i32 {
        f.report(self.sink)
    }
}

/// Runs one command line (the words after the global options).
pub fn dispatch(shell: &mut Shell<'_>, words: &[String]) -> i32 {
    if words.is_empty() {
        return exit::OK;
    }
    let Some((spec, n)) = table::find(words) else {
        shell.err(&format!("Unknown command {}.\n", shell.line));
        shell.out("Commands:\n");
        help::all_usages(shell);
        return 1;
    };
    let args = &words[n..];
    if args.iter().any(|a| a == "--help") {
        return help::command_help(shell, spec);
    }
    if words.len() > spec.nargv + 1 {
        shell.err("too many arguments\n");
        return syntax_error(shell, spec);
    }
    match spec.handler {
        Handler::Run(f) => f(shell, spec, args),
        Handler::NotYet(issue) => {
            shell.err(&format!(
                "error: '{}' is not available yet in kasp-ledger ({issue}); \
                 nothing was done\n",
                spec.name
            ));
            1
        }
    }
}

/// OpenDNSSEC's reaction to a run that returned -1: the error line on stderr, the
/// usage block on stdout, exit 255.
pub fn syntax_error(shell: &mut Shell<'_>, spec: &CommandSpec) -> i32 {
    // OpenDNSSEC 2.1.12's `zone set-policy` splits the original line in place, so its
    // message shows only the first word; operators' log filters may match on it.
    let line = if spec.name == "zone set-policy" {
        shell.line.split(' ').next().unwrap_or_default().to_string()
    } else {
        shell.line.clone()
    };
    shell.err(&format!(
        "Error parsing arguments {} command line {}\n",
        spec.name, line
    ));
    shell.out("Usage:\n\n");
    shell.out(spec.usage);
    exit::SYNTAX
}

/// Parses a command's options; on failure prints `unknown arguments` plus the usage.
pub fn parse_opts(
    shell: &mut Shell<'_>,
    spec: &CommandSpec,
    args: &[String],
    opts: &[Opt],
) -> Result<Parsed, i32> {
    match getopt(args, opts) {
        Ok(p) => Ok(p),
        Err(GetoptError::Unknown(_))
        | Err(GetoptError::Ambiguous(_))
        | Err(GetoptError::MissingValue(_))
        | Err(GetoptError::UnexpectedValue(_)) => {
            shell.err("unknown arguments\n");
            Err(syntax_error(shell, spec))
        }
    }
}
