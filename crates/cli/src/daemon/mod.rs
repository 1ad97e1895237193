//! # `ods-enforcerd`: the enforcer as a daemon
//!
//! Start-up follows OpenDNSSEC's order (docs/cli.md, ods-enforcerd): read and check
//! conf.xml (exit 2), refuse a live pid file (exit 3), detach unless `-d`, bind the socket
//! (0660, owned by the `Privileges` user and group), open the log for writing — the daemon
//! is its single writer while it runs — write the pid file, drop privileges, then serve.
//! The writer thread ([`writer`]) owns the log and runs every command and every scheduler
//! wake-up one at a time; the event loop ([`server`]) relays frames and timers.
//! SIGTERM/SIGINT and `stop` finish the job in flight and exit; SIGHUP and `reload` re-read
//! conf.xml. The steps of the start that touch the command line and the operating system
//! are modules of their own: [`options`] (options, usage and version texts, exit codes of
//! bad command lines), [`process`] (pid file, users and groups, privilege dropping, peer
//! credentials, `daemonize`) and [`info`] (the `-i` print of the configuration). Where
//! they depart from OpenDNSSEC (UTC for `--set-time`, the stderr log line, a user's own
//! primary group when no `Group` is configured, escaped XML in `-i`) the module says so.

pub mod info;
pub mod options;
pub mod process;
pub mod reader;
pub mod server;
pub mod writer;

use kasp_engine::logger;
use kasp_engine::{Held, Session};
use kasp_events::Timestamp;
use kasp_projector::decide::Command;
use kasp_projector::decide::enforcer::EnforcerCommand;
use kasp_projector::formats::conf::Conf;
use options::{BANNER, DaemonOptions, Invocation};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Runs `ods-enforcerd` with `args` (without the program name); the exit code.
pub fn main(args: &[String]) -> i32 {
    let invocation = match options::parse(args) {
        Ok(i) => i,
        Err(e) => {
            eprint!("{}", e.stderr_text());
            return e.exit_code();
        }
    };
    match invocation {
        Invocation::Help => {
            print!("{}", options::USAGE);
            0
        }
        Invocation::Version => {
            print!("{}", options::version_text());
            0
        }
        Invocation::Info(opts) => {
            println!("{BANNER}");
            match load_conf(&opts) {
                Ok(conf) => {
                    print!("{}", info::render(&conf));
                    0
                }
                Err(code) => code,
            }
        }
        Invocation::Run(opts) => {
            println!("{BANNER}");
            run(&opts)
        }
    }
}

fn load_conf(opts: &DaemonOptions) -> Result<Conf, i32> {
    kasp_engine::config::load(Path::new(&opts.config)).map_err(|f| {
        eprintln!("[engine] cfgfile {} has errors: {}", opts.config, f.message);
        2
    })
}

/// A start-up failure: OpenDNSSEC's `setup failed` and exit 3.
fn setup_failed(message: &str) -> i32 {
    logger::log(
        logger::Level::Crit,
        &format!("[engine] setup failed: {message}"),
    );
    eprintln!("setup failed: {message}");
    3
}

fn run(opts: &DaemonOptions) -> i32 {
    let conf = match load_conf(opts) {
        Ok(c) => c,
        Err(code) => return code,
    };
    logger::init(
        conf.logging.syslog_facility.as_deref(),
        opts.effective_verbosity(conf.logging.verbosity),
    );
    let pid_file = PathBuf::from(&conf.enforcer.pid_file);
    if let Err(e) = process::check_pid_file(&pid_file) {
        return setup_failed(&e);
    }
    let privileges = &conf.enforcer.privileges;
    if let Some(dir) = &privileges.directory {
        logger::log(
            logger::Level::Warning,
            &format!("[engine] Privileges/Directory {dir}: chroot is not supported, ignored"),
        );
    }
    let identity = match process::resolve(privileges.user.as_deref(), privileges.group.as_deref()) {
        Ok(id) => id,
        Err(e) => return setup_failed(&e),
    };
    // Fork before any thread exists (the log's locks belong to a process, so the child
    // opens it).
    let child = if opts.no_daemon {
        process::DaemonChild::foreground()
    } else {
        match process::daemonize() {
            Ok(c) => c,
            Err(e) => return setup_failed(&e),
        }
    };
    let socket = PathBuf::from(&conf.enforcer.socket_file);
    match startup(opts, &conf, &identity, &socket, &pid_file) {
        Ok((listener, held)) => {
            child.ready();
            let code = serve(opts, conf, held, listener, &identity);
            let _ = std::fs::remove_file(&socket);
            process::remove_pid_file(&pid_file);
            logger::msg(&format!(
                "[engine] enforcerd (pid: {}) stopped with exitcode {code}",
                std::process::id()
            ));
            code
        }
        Err((message, created_socket)) => {
            if created_socket {
                let _ = std::fs::remove_file(&socket);
            }
            let code = setup_failed(&message);
            child.failed(&message);
            code
        }
    }
}

/// Everything between detaching and serving: the socket, the log (and `--set-time`),
/// the pid file, the privilege drop. An error says whether the socket was created.
fn startup(
    opts: &DaemonOptions,
    conf: &Conf,
    identity: &process::Identity,
    socket: &Path,
    pid_file: &Path,
) -> Result<(std::os::unix::net::UnixListener, Held), (String, bool)> {
    let log_path = Path::new(&conf.enforcer.working_directory).join("events.redb");
    if opts.set_time.is_some() {
        // Refuse before opening for writing, which touches the file.
        check_simulated(&log_path).map_err(|e| (e, false))?;
    }
    let listener = bind(socket, identity).map_err(|e| (e, false))?;
    let held = Held::open(&log_path).map_err(|f| {
        // A damaged log is not one to create again: it is reported as it is.
        let message = match f.exit_code() {
            kasp_engine::exit::INTEGRITY => f.message,
            _ => format!("{} (create the log with 'ods-enforcer setup')", f.message),
        };
        (message, true)
    })?;
    // A testing log's clock forgets its leaps at every start, as OpenDNSSEC's does.
    let held = startup_command(
        opts,
        conf,
        held,
        "ods-enforcerd".to_string(),
        EnforcerCommand::ReleaseClock,
    )
    .map_err(|e| (e, true))?;
    let held = match opts.set_time {
        Some(t) => set_time(opts, conf, held, t).map_err(|e| (e, true))?,
        None => held,
    };
    process::write_pid_file(pid_file, std::process::id()).map_err(|e| {
        (
            format!("cannot write pid file {}: {e}", pid_file.display()),
            true,
        )
    })?;
    let _ = process::chown_path(pid_file, identity);
    if let Err(e) = process::drop_privileges(identity) {
        process::remove_pid_file(pid_file);
        return Err((e, true));
    }
    Ok((listener, held))
}

/// Binds the socket (a stale file is removed first), mode 0660, owned by the daemon's
/// user and group.
fn bind(
    socket: &Path,
    identity: &process::Identity,
) -> Result<std::os::unix::net::UnixListener, String> {
    if let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    if crate::remote::answers(socket, std::time::Duration::from_secs(2)) {
        return Err(format!(
            "another daemon answers on the socket {}",
            socket.display()
        ));
    }
    let _ = std::fs::remove_file(socket);
    let listener = std::os::unix::net::UnixListener::bind(socket)
        .map_err(|e| format!("cannot create the socket {}: {e}", socket.display()))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| format!("cannot set the mode of {}: {e}", socket.display()))?;
    process::chown_path(socket, identity)?;
    Ok(listener)
}

/// Why `--set-time` is refused on a production log.
const SET_TIME_REFUSED: &str = "--set-time needs a log with a simulated clock (ods-enforcer \
                                setup --simulated-time) or one set up for testing \
                                (ods-enforcer setup --testing); this log follows the system clock";

/// `--set-time` is only for a log on a simulated clock or set up for testing.
fn check_simulated(log_path: &Path) -> Result<(), String> {
    let log = kasp_events::EventLog::open(log_path, kasp_events::Access::ReadOnly)
        .map_err(|e| format!("{e} (create the log with 'ods-enforcer setup')"))?;
    let (state, _) = kasp_engine::replay::fold(&log).map_err(|e| e.to_string())?;
    if state.leaps_allowed() {
        Ok(())
    } else {
        Err(SET_TIME_REFUSED.to_string())
    }
}

/// `--set-time`: moves a simulated clock to `t` (recorded, so replay stays exact).
/// A log that follows the system clock cannot be time-shifted.
fn set_time(opts: &DaemonOptions, conf: &Conf, held: Held, t: Timestamp) -> Result<Held, String> {
    let state = held.state().unwrap_or_default();
    if !state.leaps_allowed() {
        return Err(SET_TIME_REFUSED.to_string());
    }
    let clock = state.now(kasp_engine::system_now());
    if t < clock {
        logger::warning(&format!(
            "[engine] --set-time {t} is before the log's clock, {clock}: the clock does not \
             go back and stays at {clock}"
        ));
    }
    startup_command(
        opts,
        conf,
        held,
        format!("ods-enforcerd --set-time {}", t.0),
        EnforcerCommand::Leap { to: t },
    )
}

/// Decides and records `command` on the log the daemon holds, before it serves, as the
/// OS user running it, with `line` as the cause.
fn startup_command(
    opts: &DaemonOptions,
    conf: &Conf,
    held: Held,
    line: String,
    command: EnforcerCommand,
) -> Result<Held, String> {
    let held = Rc::new(held);
    let ctx = Session::in_daemon(
        PathBuf::from(&opts.config),
        conf.clone(),
        line,
        process::user_name(unsafe_uid()),
        held.clone(),
        Default::default(),
    );
    let actor = kasp_events::Actor::Operator(ctx.user.clone());
    ctx.run(actor, &Command::Enforcer(command))
        .map_err(|e| e.message().to_string())?;
    drop(ctx);
    Rc::try_unwrap(held).map_err(|_| "internal: the log is still shared".to_string())
}

fn unsafe_uid() -> u32 {
    // SAFETY: getuid has no preconditions and never fails.
    unsafe { libc::getuid() }
}

fn serve(
    opts: &DaemonOptions,
    conf: Conf,
    held: Held,
    listener: std::os::unix::net::UnixListener,
    identity: &process::Identity,
) -> i32 {
    let (jobs, queue) = std::sync::mpsc::channel();
    let stopping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (status, status_rx) = tokio::sync::watch::channel(writer::Status::Next(None));
    let worker_threads = conf.enforcer.worker_threads;
    let board = std::sync::Arc::new(reader::Board::new(PathBuf::from(&opts.config)));
    let setup = writer::WriterSetup {
        board: board.clone(),
        conf_path: PathBuf::from(&opts.config),
        conf,
        user: process::user_name(unsafe_uid()),
        cli_verbosity: opts.verbose,
        single_run: opts.single_run,
        stopping: stopping.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("writer".to_string())
        .spawn(move || writer::run(setup, held, queue, status));
    let thread = match thread {
        Ok(t) => t,
        Err(e) => return setup_failed(&format!("cannot start the writer thread: {e}")),
    };
    let access = server::Access {
        uid: identity.uid,
        gid: identity.gid,
    };
    let result = server::serve(
        listener,
        access,
        server::Channels {
            jobs,
            status: status_rx,
            board,
        },
        worker_threads,
        stopping,
    );
    let _ = thread.join();
    match result {
        Ok(()) => 0,
        Err(e) => {
            logger::log(logger::Level::Crit, &format!("[engine] {e}"));
            4
        }
    }
}
