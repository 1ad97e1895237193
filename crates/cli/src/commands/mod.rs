//! The command table and dispatch, as OpenDNSSEC's command handler does it: the first
//! entry whose words start the line wins; each command parses its own options with
//! getopt; a syntax error prints `Error parsing arguments …` and the usage block and
//! exits 255. One file per command group.
//!
//! Handlers return `Result<i32, Exit>`: `Ok(code)` when they ran to the end, `Err(Exit)`
//! when they stopped early after printing why. The [`Shell`] helpers print the message
//! of every failure they return, so a handler is a straight line of `?`s.

mod at;
mod checkpoint;
mod ctrl;
mod ds;
mod enforce;
mod explain;
mod export;
mod help;
mod history;
mod hsm;
mod keyio;
mod keylist;
mod keys;
mod log;
mod ods_usage;
mod policy;
mod rollover;
mod setup;
mod shadow;
mod simulate;
pub(crate) mod table;
mod timeline;
pub(crate) mod usage;
mod verify;
mod zone;
mod zonelist;

use crate::getopt::{Opt, Parsed, getopt};
use crate::output::Sink;
pub use checkpoint::{next_wake, next_wake_after};
pub use enforce::{flush_and_run, generate_all_first_flush_and_run, next_leap, next_task, run_due};
use kasp_engine::{Committed, Failure, RunError, Session, exit};
use kasp_events::Actor;
use kasp_projector::State;
use kasp_projector::decide::Command;
use std::path::PathBuf;
pub use table::{COMMANDS, CommandSpec, Handler};

/// A command stopped early with this exit code; its reason is already printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit(pub i32);

/// What a handler returns.
pub type Ran = Result<i32, Exit>;

/// What every command gets: where to write, which conf.xml, who runs it, the line.
pub struct Shell<'a> {
    pub sink: &'a mut dyn Sink,
    pub conf_path: PathBuf,
    /// The command line, words joined by single spaces.
    pub line: String,
    pub user: String,
    /// The daemon running this command; `None` daemonless.
    pub host: Option<std::rc::Rc<crate::host::Host>>,
    /// The view the daemon's writer published, for a read-only command answered beside
    /// it (crates/cli/src/daemon/reader.rs); `None` otherwise.
    pub published: Option<std::sync::Arc<kasp_engine::Published>>,
    /// conf.xml as the client already read it (to find the daemon's socket), used
    /// instead of reading it again by the first [`Shell::ctx`].
    pub loaded_conf: Option<kasp_projector::formats::conf::Conf>,
    /// Daemonless: how long to wait for the log while another process writes it
    /// (`ods-enforcer --wait-lock`, crates/engine/src/lock_wait.rs).
    pub wait_lock: std::time::Duration,
    /// Set once a session of this command appended anything ([`Shell::fail`]).
    pub appended: std::rc::Rc<std::cell::Cell<bool>>,
}

impl std::fmt::Debug for Shell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("conf_path", &self.conf_path)
            .field("line", &self.line)
            .finish()
    }
}

impl<'a> Shell<'a> {
    /// A shell for `line` run by `user` with conf.xml at `conf_path`: daemonless, with
    /// the default wait for the log, until the caller sets the fields that differ.
    pub fn new(
        sink: &'a mut dyn Sink,
        conf_path: PathBuf,
        line: String,
        user: String,
    ) -> Shell<'a> {
        Shell {
            sink,
            conf_path,
            line,
            user,
            host: None,
            published: None,
            loaded_conf: None,
            wait_lock: kasp_engine::lock_wait::DEFAULT_LIMIT,
            appended: Default::default(),
        }
    }
}

impl Shell<'_> {
    pub fn out(&mut self, text: &str) {
        self.sink.out(text);
    }

    pub fn err(&mut self, text: &str) {
        self.sink.err(text);
    }

    /// Prints a failure; the returned [`Exit`] carries its code. A command's exit code
    /// says whether it was recorded: once it appended anything, a failure of the
    /// environment or of integrity in what follows (the scheduler's run, effects, key
    /// generation) is reported as a warning and the command ends with exit 0; the next
    /// run does what was left.
    pub fn fail(&mut self, f: Failure) -> Exit {
        if self.appended.get() && f.kind != kasp_engine::error::Kind::Refused {
            self.err(&format!(
                "warning: {}\nwarning: the command was recorded; what failed after it is \
                 retried by the next run\n",
                f.message
            ));
            return Exit(exit::OK);
        }
        self.err(&f.report_text());
        Exit(f.exit_code())
    }

    /// Runs `f` in the real world of `ctx` (kasp_engine::world), then prints what the
    /// world had to tell the operator.
    pub fn in_world<R>(
        &mut self,
        ctx: &Session,
        f: impl FnOnce(&mut kasp_engine::world::RealWorld<'_>) -> R,
    ) -> R {
        let mut world = kasp_engine::world::RealWorld::new(ctx);
        let result = f(&mut world);
        for warning in world.warnings() {
            self.err(&warning);
        }
        result
    }

    /// Prints `message` on stderr and refuses with exit 1.
    pub fn refuse(&mut self, message: &str) -> Exit {
        self.err(&format!("{message}\n"));
        Exit(exit::REFUSED)
    }

    /// The command's [`Session`]: the daemon's configuration and log, or (daemonless)
    /// conf.xml read now.
    pub fn ctx(&mut self) -> Result<Session, Exit> {
        if let Some(published) = &self.published {
            let (path, line, user) = (self.conf_path.clone(), self.line.clone(), self.user.clone());
            return Ok(Session::on_published(path, published.clone(), line, user));
        }
        if let Some(host) = &self.host {
            let mut session = host.session(&self.line, &self.user);
            session.report_appends_to(self.appended.clone());
            return Ok(session);
        }
        self.ctx_from_disk()
    }

    /// A [`Session`] with conf.xml read from disk now, also under a daemon (the `update`
    /// commands), whose configuration it then replaces.
    pub fn ctx_from_disk(&mut self) -> Result<Session, Exit> {
        let conf = match self.loaded_conf.take() {
            Some(conf) => conf,
            None => kasp_engine::config::load(&self.conf_path).map_err(|f| self.fail(f))?,
        };
        if let Some(host) = &self.host {
            *host.conf.borrow_mut() = conf.clone();
            *host.hsm.borrow_mut() = Default::default();
            host.request(crate::host::Control::Reload);
        }
        let (path, line, user) = (self.conf_path.clone(), self.line.clone(), self.user.clone());
        let mut session = match &self.host {
            Some(h) => Session::in_daemon(path, conf, line, user, h.held.clone(), h.hsm.clone()),
            None => {
                let mut session = Session::daemonless(path, conf, line, user);
                session.set_lock_wait(kasp_engine::lock_wait::LockWait {
                    limit: self.wait_lock,
                    // Printed as it happens, not at the end: the operator sees why the
                    // command has not answered yet.
                    progress: Some(std::rc::Rc::new(|line: &str| eprintln!("{line}"))),
                });
                session
            }
        };
        session.report_appends_to(self.appended.clone());
        Ok(session)
    }

    /// The current state of the log.
    pub fn state(&mut self, ctx: &Session) -> Result<std::sync::Arc<State>, Exit> {
        ctx.load().map(|(_, s, _)| s).map_err(|f| self.fail(f))
    }

    /// Decides and appends a command as `actor`; a rejection prints OpenDNSSEC's text
    /// (or the usage block, for OpenDNSSEC's syntax-error rejections).
    pub fn commit(
        &mut self,
        spec: &CommandSpec,
        ctx: &Session,
        actor: Actor,
        command: &Command,
    ) -> Result<Committed, Exit> {
        match ctx.run(actor, command) {
            Ok(done) => Ok(done),
            Err(RunError::Rejected(r)) if r.usage => Err(self.usage_error(spec, &r.message)),
            Err(RunError::Rejected(r)) => Err(self.refuse(&r.message)),
            Err(RunError::Failed(f)) => Err(self.fail(f)),
        }
    }

    /// Parses a command's options; on failure prints `unknown arguments` plus the usage.
    /// Words left over are refused (`too many arguments`), where OpenDNSSEC's commands
    /// ignore them: its client joins the arguments with spaces and its daemon splits the
    /// line on them, so `--zone 'b c.test'` arrives as `--zone b c.test`, and ignoring
    /// `c.test` would act on zone `b` (README, "Differences from OpenDNSSEC").
    pub fn opts(
        &mut self,
        spec: &CommandSpec,
        args: &[String],
        opts: &[Opt],
    ) -> Result<Parsed, Exit> {
        self.opts_and_words(spec, args, opts, 0)
    }

    /// [`Shell::opts`] for a command that also takes up to `words` words of its own
    /// (`backup`'s action).
    pub fn opts_and_words(
        &mut self,
        spec: &CommandSpec,
        args: &[String],
        opts: &[Opt],
        words: usize,
    ) -> Result<Parsed, Exit> {
        let parsed = getopt(args, opts).map_err(|_| self.usage_error(spec, "unknown arguments"))?;
        if let Some(extra) = parsed.rest.get(words..).filter(|w| !w.is_empty()) {
            let message = format!("too many arguments: {}", extra.join(" "));
            return Err(self.usage_error(spec, &message));
        }
        Ok(parsed)
    }

    /// A usage error of kasp-ledger's own commands (a bad option value, options that
    /// do not go together): `error: <message>`, exit 2.
    pub fn misuse(&mut self, message: impl std::fmt::Display) -> Exit {
        self.err(&format!("error: {message}\n"));
        Exit(exit::USAGE)
    }

    /// Prints `message` and OpenDNSSEC's syntax-error block; exit 255.
    pub fn usage_error(&mut self, spec: &CommandSpec, message: &str) -> Exit {
        self.err(&format!("{message}\n"));
        Exit(syntax_error(self, spec))
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
    // kasp-ledger's `--at` does not count against OpenDNSSEC's word limit.
    if words.len() - at::extension_words(spec.name, args) > spec.nargv + 1 {
        shell.err("too many arguments\n");
        return syntax_error(shell, spec);
    }
    match spec.handler {
        Handler::Run(f) => match f(shell, spec, args) {
            Ok(code) | Err(Exit(code)) => code,
        },
    }
}

/// The commands a daemon answers from the view its writer published, beside the
/// writer (crates/cli/src/daemon/reader.rs): they only read the state (no log, no HSM,
/// no files) and print the same text either way.
const READ_ONLY: &[&str] = &[
    "zone list",
    "key list",
    "rollover list",
    "policy list",
    "queue",
];

/// Whether the daemon answers `words` from its published view: a [`READ_ONLY`]
/// command without `--at` (which replays the log).
pub fn answered_from_published(words: &[String]) -> bool {
    match table::find(words) {
        Some((spec, n)) => {
            READ_ONLY.contains(&spec.name) && at::extension_words(spec.name, &words[n..]) == 0
        }
        None => false,
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
