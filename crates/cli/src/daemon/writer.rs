//! The writer: the one thread that owns the log and the state while the daemon runs.
//!
//! Every command line from a client and every wake-up of the scheduler becomes a
//! [`Job`] on one queue; the writer takes them one at a time, runs the same command
//! code as daemonless `ods-enforcer` against the log it holds open, streams the
//! command's output back as socket frames, and after each job publishes the time of
//! the next task so the scheduler knows when to wake it. Jobs never interleave, so
//! every append checks the head it decided against and nothing is decided on a stale
//! view. HSM calls run on the HSM's own thread behind per-call timeouts, signconf
//! files on a thread of their own with a time limit per file, DS hooks and the signer
//! notify in child processes with timeouts.

use crate::commands::{Shell, dispatch};
use crate::host::{Control, Host};
use crate::output::Sink;
use crate::wire::{self, Opcode};
use kasp_engine::due;
use kasp_engine::logger::{self, Level};
use kasp_engine::{Held, Session, system_now};
use kasp_events::{Actor, Timestamp};
use kasp_projector::clock::Reading;
use kasp_projector::formats::conf::Conf;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc;
use tokio::sync::{mpsc::UnboundedSender, watch};

/// Work for the writer.
#[derive(Debug)]
pub enum Job {
    /// A client's command line, run as `user`; its frames go to `reply`.
    Command {
        line: String,
        user: String,
        reply: UnboundedSender<Vec<u8>>,
    },
    /// The scheduler's timer fired: run what is due.
    Tick,
    /// SIGHUP: re-read conf.xml.
    Reload,
    /// SIGTERM/SIGINT: stop after the job in flight (queued commands are answered
    /// without being run, see [`WriterSetup::stopping`]).
    Shutdown,
}

/// What the writer tells the rest of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Running; the next task (or interval checkpoint) is due at this time (`None`:
    /// nothing scheduled, or the log follows a simulated clock, which only moves by
    /// `time leap`).
    Next(Option<Timestamp>),
    /// The writer has stopped (a `stop` command or a signal).
    Stopped,
}

/// Frames a command's output for the socket: text of one stream is gathered and sent
/// in pieces of [`CHUNK`] bytes (a `zone list` of 100,000 zones is not 100,000 socket
/// writes), and a switch of stream sends what was gathered first, so the client sees
/// stdout and stderr in the order they were written.
pub(super) struct FrameSink {
    reply: UnboundedSender<Vec<u8>>,
    op: Opcode,
    pending: Vec<u8>,
}

/// How much output is gathered before it is sent.
const CHUNK: usize = 64 * 1024;

impl FrameSink {
    pub(super) fn new(reply: UnboundedSender<Vec<u8>>) -> FrameSink {
        FrameSink {
            reply,
            op: Opcode::Stdout,
            pending: Vec::new(),
        }
    }

    fn write(&mut self, op: Opcode, text: &str) {
        if op != self.op {
            Sink::flush(self);
            self.op = op;
        }
        self.pending.extend_from_slice(text.as_bytes());
        if self.pending.len() >= CHUNK {
            Sink::flush(self);
        }
    }
}

impl Sink for FrameSink {
    fn out(&mut self, text: &str) {
        self.write(Opcode::Stdout, text);
    }

    fn err(&mut self, text: &str) {
        // Warnings and progress reach the operator at once.
        self.write(Opcode::Stderr, text);
        Sink::flush(self);
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let _ = self.reply.send(wire::text(self.op, &self.pending));
            self.pending.clear();
        }
    }
}

/// Where the scheduler's own runs write: the daemon's log.
struct LogSink;

impl Sink for LogSink {
    fn out(&mut self, text: &str) {
        for line in text.lines().filter(|l| !l.is_empty()) {
            logger::log(Level::Verbose, &format!("[scheduler] {line}"));
        }
    }

    fn err(&mut self, text: &str) {
        for line in text.lines().filter(|l| !l.is_empty()) {
            logger::log(Level::Warning, &format!("[scheduler] {line}"));
        }
    }
}

/// The writer's configuration.
#[derive(Debug, Clone)]
pub struct WriterSetup {
    pub conf_path: PathBuf,
    pub conf: Conf,
    /// The OS user the daemon runs as.
    pub user: String,
    /// `-v` count; overrides conf.xml's verbosity when above 0 (also after a reload).
    pub cli_verbosity: u32,
    /// `-1`: run what is due once, then stop.
    pub single_run: bool,
    /// Set by the event loop on SIGTERM/SIGINT: the job in flight finishes, the jobs
    /// still queued are answered without being run.
    pub stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Where the view the read-only commands are answered from is published.
    pub board: std::sync::Arc<super::reader::Board>,
}

/// The writer's state.
struct Writer {
    host: Rc<Host>,
    /// The next task of the state at this seq (see [`Writer::publish`]).
    next_task: std::cell::Cell<Option<(kasp_events::Seq, Option<Timestamp>)>>,
    user: String,
    cli_verbosity: u32,
    status: watch::Sender<Status>,
    board: std::sync::Arc<super::reader::Board>,
}

impl Writer {
    /// A session of the daemon's own, as the OS user it runs as, with `line` as the
    /// cause of what it records.
    fn session(&self, line: &str) -> Session {
        self.host.session(line, &self.user)
    }

    fn shell<'a>(&self, sink: &'a mut dyn Sink, line: &str, user: &str) -> Shell<'a> {
        Shell {
            host: Some(self.host.clone()),
            ..Shell::new(
                sink,
                self.host.conf_path.clone(),
                line.to_string(),
                user.to_string(),
            )
        }
    }

    fn command(&self, line: &str, user: &str, reply: UnboundedSender<Vec<u8>>) {
        logger::log(Level::Verbose, &format!("[cmdhandler] {user}: {line}"));
        let mut sink = FrameSink::new(reply.clone());
        let words: Vec<String> = line
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        // A bug in one command must not take the daemon down: the command fails with
        // exit 4 and the next one folds the log afresh (an append in flight either
        // committed or did not; the cached state was let go before folding into it).
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut shell = self.shell(&mut sink, &words.join(" "), user);
            dispatch(&mut shell, &words)
        }));
        let code = run.unwrap_or_else(|_| {
            logger::log(
                Level::Crit,
                &format!("[cmdhandler] internal error running: {line}"),
            );
            *self.host.held.cache.borrow_mut() = None;
            let _ = reply.send(wire::text(
                Opcode::Stderr,
                b"error: internal error in the enforcer daemon; nothing more was done\n",
            ));
            kasp_engine::exit::ENVIRONMENT
        });
        sink.flush();
        // Before the acknowledgement: the client's next read sees what this did.
        self.publish_view();
        let _ = reply.send(wire::exit(code));
    }

    /// Publishes the state and configuration as they stand for the read-only commands
    /// (crates/cli/src/daemon/reader.rs).
    fn publish_view(&self) {
        let conf = self.host.conf.borrow().clone();
        self.board
            .publish(kasp_engine::Published::of(&self.host.held, conf));
    }

    /// Runs what is due now (the scheduler's wake-up).
    fn tick(&self) {
        self.scheduler_run(false);
    }

    /// The start-up run, OpenDNSSEC's `autostart` (enforcer/src/enforcer/autostart_cmd.c):
    /// the task queue starts empty, a key generation for every policy is scheduled (unless
    /// key generation is manual; the workers, started first, take it at once), resalts
    /// run if due, and every zone is enforced now (`enforce_task_flush_all`) — once,
    /// whatever was due before. With no worker threads all of it waits for `time leap
    /// --attach` (kasp_engine::due::holds_tasks).
    fn autostart(&self) {
        self.scheduler_run(true);
    }

    /// Runs what is due now, after flushing every zone when `flush_all`; what it has to
    /// tell goes to the daemon's log.
    fn scheduler_run(&self, flush_all: bool) {
        let session = self.session("scheduler");
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut warnings = Vec::new();
            let actor = &Actor::Scheduler;
            let done = if flush_all {
                due::generate_all_first_flush_and_run(&session, actor, &mut warnings)
            } else {
                due::run_due(&session, actor, &mut warnings)
            };
            let stopped = done.err().map(|e| e.report_text());
            for text in warnings.iter().chain(&stopped) {
                LogSink.err(text);
            }
        }));
        if run.is_err() {
            logger::log(
                Level::Crit,
                "[scheduler] internal error running the due tasks",
            );
            *self.host.held.cache.borrow_mut() = None;
        }
    }

    /// At start-up: removes the temporary files a killed predecessor left in the
    /// signconf directories and the working directory (its writes were never
    /// recorded; the log says what is still to be written).
    fn sweep(&self) {
        let mut sink = LogSink;
        let mut shell = self.shell(&mut sink, "scheduler", &self.user);
        let Ok(ctx) = shell.ctx() else { return };
        let Ok(state) = shell.state(&ctx) else { return };
        let mut dirs = std::collections::BTreeSet::new();
        dirs.insert(std::path::PathBuf::from(
            &ctx.conf.enforcer.working_directory,
        ));
        for zone in state.zones.values() {
            if let Some(dir) = std::path::Path::new(&zone.config.signconf_path).parent() {
                dirs.insert(dir.to_path_buf());
            }
        }
        for dir in dirs {
            for name in kasp_engine::files::sweep_stale_temps(&dir) {
                logger::log(
                    Level::Msg,
                    &format!(
                        "[engine] removed {}, left by an interrupted write",
                        dir.join(name).display()
                    ),
                );
            }
        }
    }

    /// Opens (and logs in to) every configured repository now, before any command:
    /// the daemon then holds one session each for its lifetime. SoftHSM's file store
    /// rewrites the token file on every login, so a login is the one HSM moment a
    /// kill can cost the token; this keeps it at start-up and reload. A repository
    /// that cannot be opened is logged and opened again when a command needs it.
    fn open_repositories(&self) {
        let mut sink = LogSink;
        let mut shell = self.shell(&mut sink, "scheduler", &self.user);
        let Ok(ctx) = shell.ctx() else { return };
        let names: Vec<String> = ctx
            .conf
            .repository_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut repos = self.host.hsm.borrow_mut();
        for name in names {
            if let Err(f) = repos.get(&ctx.conf, &ctx.conf_path, &name) {
                logger::log(
                    Level::Warning,
                    &format!(
                        "[hsm] repository {name}: {}; opened again when needed",
                        f.message
                    ),
                );
            }
        }
    }

    fn reload(&self) {
        match kasp_engine::config::load(&self.host.conf_path) {
            Ok(conf) => {
                // Repositories may have changed: open them again.
                *self.host.hsm.borrow_mut() = Default::default();
                let old = self.host.conf.replace(conf);
                let new = self.host.conf.borrow();
                logger::set_verbosity(if self.cli_verbosity > 0 {
                    self.cli_verbosity
                } else {
                    new.logging.verbosity
                });
                if old.enforcer.socket_file != new.enforcer.socket_file
                    || old.enforcer.pid_file != new.enforcer.pid_file
                    || old.enforcer.working_directory != new.enforcer.working_directory
                    || old.enforcer.privileges != new.enforcer.privileges
                {
                    logger::log(
                        Level::Warning,
                        "[engine] the socket, pid file, working directory and privileges \
                         change only with a restart",
                    );
                }
                logger::log(Level::Msg, "[engine] configuration reloaded");
                drop(new);
                self.open_repositories();
            }
            Err(f) => logger::log(
                Level::Error,
                &format!(
                    "[engine] cfgfile {} has errors, keeping the old configuration: {}",
                    self.host.conf_path.display(),
                    f.message
                ),
            ),
        }
    }

    /// `WorkerThreads` 0 on a log that cannot leap: 2.1.12 would never run a task
    /// (only `time leap --attach` does, a testing tool); kasp-ledger runs them as with
    /// one worker thread and says so.
    fn warn_no_workers(&self) {
        let Some(state) = self.host.held.state() else {
            return;
        };
        if self.host.conf.borrow().enforcer.worker_threads == 0 && !state.leaps_allowed() {
            logger::log(
                Level::Warning,
                "[engine] WorkerThreads is 0: OpenDNSSEC would run no task until a 'time \
                 leap --attach', which this log (following the system clock) refuses; \
                 the tasks run as with one worker thread",
            );
        }
    }

    /// Whether the tasks wait for `time leap --attach` (no worker threads).
    fn tasks_held(&self, state: &kasp_projector::State) -> bool {
        due::holds_tasks(&self.host.conf.borrow(), state)
    }

    /// Publishes the view for the read-only commands, and when the next task (or
    /// interval checkpoint) is due.
    fn publish(&self) {
        self.publish_view();
        let next = self.host.held.state().and_then(|state| {
            // A stopped clock moves only by `time leap`; with no worker threads the
            // tasks wait for `time leap --attach`.
            if state.clock_stopped() || self.tasks_held(&state) {
                return None;
            }
            // The next task only changes with the log: a read-only command does not
            // pay for a scan of every zone.
            let task = match self.next_task.get() {
                Some((seq, task)) if state.last_seq == Some(seq) => task,
                _ => {
                    let task = crate::commands::next_task(&state);
                    self.next_task.set(state.last_seq.map(|seq| (seq, task)));
                    task
                }
            };
            let now = system_now();
            let next = crate::commands::next_wake_after(task, &state, now);
            // Behind the log's last record nothing runs (kasp_engine::due): wake when the
            // clock has caught up, not every second until then.
            match state.reading(now) {
                Reading::Behind { log, .. } => next.map(|t| t.max(log)),
                Reading::Now(_) => next,
            }
        });
        let _ = self.status.send(Status::Next(next));
    }
}

/// Answers a command that was queued when the daemon was told to stop.
fn not_run(job: Job) {
    if let Job::Command { line, reply, .. } = job {
        logger::log(
            Level::Verbose,
            &format!("[cmdhandler] not run, the enforcer is stopping: {line}"),
        );
        let _ = reply.send(wire::text(
            Opcode::Stderr,
            b"error: the enforcer is stopping; the command was not run\n",
        ));
        let _ = reply.send(wire::exit(kasp_engine::exit::ENVIRONMENT));
    }
}

/// The writer thread's body: takes jobs until `stop`, a signal, or every sender gone.
pub fn run(
    setup: WriterSetup,
    held: Held,
    jobs: mpsc::Receiver<Job>,
    status: watch::Sender<Status>,
) {
    let host = Rc::new(Host {
        conf_path: setup.conf_path.clone(),
        conf: std::cell::RefCell::new(setup.conf),
        held: Rc::new(held),
        requests: Default::default(),
        hsm: Default::default(),
    });
    let setup_single_run = setup.single_run;
    let writer = Writer {
        host,
        next_task: Default::default(),
        user: setup.user,
        cli_verbosity: setup.cli_verbosity,
        status,
        board: setup.board.clone(),
    };
    // OpenDNSSEC's start-up lines (daemon/engine.c), before the start-up run.
    logger::log(
        Level::Msg,
        &format!("[engine] running as pid {}", std::process::id()),
    );
    logger::log(Level::Msg, "[engine] enforcer started");
    // Reads are answered from the log as opened while the start-up run goes on.
    writer.publish_view();
    writer.warn_no_workers();
    writer.sweep();
    writer.open_repositories();
    writer.autostart();
    writer.publish();
    let stopping = || setup.stopping.load(std::sync::atomic::Ordering::SeqCst);
    loop {
        if setup_single_run {
            break;
        }
        let Ok(job) = jobs.recv() else { break };
        if stopping() {
            not_run(job);
            break;
        }
        match job {
            Job::Command { line, user, reply } => writer.command(&line, &user, reply),
            Job::Tick => writer.tick(),
            Job::Reload => writer.reload(),
            Job::Shutdown => break,
        }
        let mut stop = stopping();
        for request in writer.host.take_requests() {
            match request {
                Control::Stop => stop = true,
                Control::Reload => writer.reload(),
            }
        }
        if stop {
            break;
        }
        writer.publish();
    }
    // Commands that were waiting when the daemon was told to stop are answered, not
    // run and not dropped without a word.
    for job in jobs.try_iter() {
        not_run(job);
    }
    logger::log(Level::Msg, "[engine] enforcer shutdown");
    let _ = writer.status.send(Status::Stopped);
}
