//! The daemon's event loop (tokio): the socket, the scheduler's timer and the signals.
//!
//! Connections are served concurrently, but each command line is handed to the writer
//! thread as a [`Job`] and the connection only relays the frames the writer produces,
//! so the log has exactly one writer. The read-only commands are the exception: they
//! are answered from the view the writer last published, on a blocking thread, without
//! waiting for the writer (crates/cli/src/daemon/reader.rs). The scheduler task sleeps until the next task
//! the writer published (at most a minute at a time, so a changed wall clock is noticed)
//! and wakes early whenever a command changes the schedule.

use super::reader::{self, Board};
use super::writer::{Job, Status};
use crate::daemon::process;
use crate::wire::{self, Decoder, Opcode};
use kasp_engine::logger::{self, Level};
use kasp_engine::system_now;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Who may talk to the daemon: root, its own user, and members of its group.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    pub uid: u32,
    pub gid: u32,
}

impl Access {
    /// Whether a peer with these credentials may send commands.
    pub fn allows(&self, uid: u32, gid: u32) -> bool {
        uid == 0 || uid == self.uid || gid == self.gid || process::user_in_group(uid, self.gid)
    }
}

/// The longest the scheduler sleeps before looking at the clock again.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How long replies in flight may take to reach their clients at shutdown.
const GRACE: Duration = Duration::from_secs(2);

/// How the event loop reaches the writer.
#[derive(Debug)]
pub struct Channels {
    /// Jobs for the writer.
    pub jobs: mpsc::Sender<Job>,
    /// What the writer tells (the next task, or that it stopped).
    pub status: watch::Receiver<Status>,
    /// The view the writer published, for the read-only commands.
    pub board: Arc<Board>,
}

/// Serves clients until the writer stops. `listener` is bound already (before the
/// privileges were dropped).
pub fn serve(
    listener: std::os::unix::net::UnixListener,
    access: Access,
    channels: Channels,
    worker_threads: u32,
    stopping: Arc<AtomicBool>,
) -> Result<(), String> {
    let runtime = if worker_threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads as usize)
            .enable_all()
            .build()
    }
    .map_err(|e| format!("cannot start the event loop: {e}"))?;
    runtime.block_on(event_loop(listener, access, channels, stopping))
}

async fn event_loop(
    listener: std::os::unix::net::UnixListener,
    access: Access,
    channels: Channels,
    stopping: Arc<AtomicBool>,
) -> Result<(), String> {
    let Channels {
        jobs,
        mut status,
        board,
    } = channels;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("socket: {e}"))?;
    let listener =
        tokio::net::UnixListener::from_std(listener).map_err(|e| format!("socket: {e}"))?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut clients = JoinSet::new();
    let timer = tokio::spawn(scheduler(status.clone(), jobs.clone()));
    let mut failures = AcceptFailures::default();
    loop {
        let paused = failures.paused_until();
        tokio::select! {
            accepted = listener.accept(), if paused.is_none() => match accepted {
                Ok((stream, _)) => {
                    failures.accepted();
                    clients.spawn(connection(stream, jobs.clone(), board.clone(), access));
                }
                Err(e) => failures.failed(&e),
            },
            _ = tokio::time::sleep_until(paused.unwrap_or_else(tokio::time::Instant::now)),
                if paused.is_some() => failures.resume(),
            _ = term.recv() => {
                logger::log(Level::Msg, "[engine] received SIGTERM, stopping");
                stopping.store(true, Ordering::SeqCst);
                let _ = jobs.send(Job::Shutdown);
            }
            _ = int.recv() => {
                logger::log(Level::Msg, "[engine] received SIGINT, stopping");
                stopping.store(true, Ordering::SeqCst);
                let _ = jobs.send(Job::Shutdown);
            }
            _ = hup.recv() => {
                logger::log(Level::Msg, "[engine] received SIGHUP, reloading");
                let _ = jobs.send(Job::Reload);
            }
            changed = status.changed() => {
                if changed.is_err() || *status.borrow() == Status::Stopped {
                    break;
                }
            }
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
        }
    }
    drop(listener);
    timer.abort();
    // Let the answers already produced (e.g. `stop`'s) reach their clients.
    let _ = tokio::time::timeout(GRACE, async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    clients.abort_all();
    Ok(())
}

/// The first pause after a failed accept; it doubles with each failure in a row.
const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(10);
/// The longest pause between two accepts that fail.
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);
/// Failed accepts are reported at most once in this interval, with their count.
const ACCEPT_REPORT_EVERY: Duration = Duration::from_secs(10);

/// Failed accepts in a row (EMFILE when the daemon's descriptors run out, ENFILE,
/// ENOBUFS): the connection stays queued, so accepting again at once fails again at
/// once. The loop pauses between attempts, exponentially up to [`ACCEPT_PAUSE_MAX`],
/// and reports once per [`ACCEPT_REPORT_EVERY`] with a count instead of once per
/// attempt; the first accept that succeeds ends the pauses and is reported.
#[derive(Debug, Default)]
struct AcceptFailures {
    /// Failures since the last success.
    in_a_row: u64,
    /// Failures since the last report.
    unreported: u64,
    last_report: Option<tokio::time::Instant>,
    pause: Duration,
    paused_until: Option<tokio::time::Instant>,
}

impl AcceptFailures {
    fn paused_until(&self) -> Option<tokio::time::Instant> {
        self.paused_until
    }

    fn resume(&mut self) {
        self.paused_until = None;
    }

    fn failed(&mut self, e: &std::io::Error) {
        let now = tokio::time::Instant::now();
        self.in_a_row += 1;
        self.unreported += 1;
        self.pause = (self.pause * 2).clamp(ACCEPT_PAUSE_MIN, ACCEPT_PAUSE_MAX);
        self.paused_until = Some(now + self.pause);
        if self
            .last_report
            .is_none_or(|t| now.duration_since(t) >= ACCEPT_REPORT_EVERY)
        {
            let count = match self.unreported {
                1 => String::new(),
                n => format!(" ({n} failures since the last report)"),
            };
            logger::log(
                Level::Error,
                &format!(
                    "[cmdhandler] accept failed: {e}{count}; retrying in up to {} ms",
                    ACCEPT_PAUSE_MAX.as_millis()
                ),
            );
            self.last_report = Some(now);
            self.unreported = 0;
        }
    }

    /// An accept succeeded. The reports keep their interval: descriptors that run out
    /// again at once (one client leaves, the next takes its descriptor) are not a
    /// report per connection.
    fn accepted(&mut self) {
        if self.in_a_row > 0 {
            logger::log(
                Level::Msg,
                &format!(
                    "[cmdhandler] accepting connections again after {} failed accepts",
                    self.in_a_row
                ),
            );
            self.in_a_row = 0;
        }
        self.pause = Duration::ZERO;
        self.paused_until = None;
    }
}

/// Wakes the writer when the next task is due.
async fn scheduler(mut status: watch::Receiver<Status>, jobs: mpsc::Sender<Job>) {
    let mut last_tick: Option<tokio::time::Instant> = None;
    loop {
        let next = match *status.borrow_and_update() {
            Status::Stopped => return,
            Status::Next(next) => next,
        };
        let now = system_now();
        let wait = match next {
            None => MAX_SLEEP,
            Some(t) if t <= now => Duration::ZERO,
            Some(t) => Duration::from_secs(u64::try_from(t.0 - now.0).unwrap_or(0)),
        }
        .min(MAX_SLEEP);
        if wait.is_zero() {
            // A run that could not make progress (an HSM down, say) leaves its task due:
            // try again at most once a second.
            if let Some(t) = last_tick
                && t.elapsed() < Duration::from_secs(1)
            {
                tokio::time::sleep(Duration::from_secs(1) - t.elapsed()).await;
            }
            last_tick = Some(tokio::time::Instant::now());
            if jobs.send(Job::Tick).is_err() {
                return;
            }
            if status.changed().await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = status.changed() => if changed.is_err() { return },
        }
    }
}

/// How long a refused client is given to send its command before it is answered.
const REFUSAL_WAIT: Duration = Duration::from_secs(2);

/// Reads until the client's first frame is complete (or it closes the connection).
async fn first_frame(stream: &mut UnixStream) {
    let mut decoder = Decoder::default();
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            return;
        }
        decoder.feed(&buf[..n]);
        if !matches!(decoder.next_frame(), Ok(None)) {
            return;
        }
    }
}

/// One client: check its credentials, then run each command line it sends.
async fn connection(
    mut stream: UnixStream,
    jobs: mpsc::Sender<Job>,
    board: Arc<Board>,
    access: Access,
) {
    let (uid, gid) = match stream.peer_cred() {
        Ok(c) => (c.uid(), c.gid()),
        Err(e) => {
            logger::log(
                Level::Warning,
                &format!("[cmdhandler] refused a client without credentials: {e}"),
            );
            return;
        }
    };
    let user = process::user_name(uid);
    if !access.allows(uid, gid) {
        logger::log(
            Level::Warning,
            &format!(
                "[cmdhandler] refused client uid {uid} ({user}) gid {gid}: not root, \
                 the daemon's user or a member of its group"
            ),
        );
        let mut refusal = wire::text(
            Opcode::Stderr,
            b"Access denied: not root, the enforcer's user or a member of its group.\n",
        );
        refusal.extend(wire::exit(1));
        // The refusal answers the client's command: read it first, or the client may
        // still be writing it when the socket closes and see a broken pipe instead.
        let _ = tokio::time::timeout(REFUSAL_WAIT, first_frame(&mut stream)).await;
        let _ = stream.write_all(&refusal).await;
        return;
    }
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 4096];
    loop {
        loop {
            let frame = match decoder.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    logger::log(Level::Warning, &format!("[cmdhandler] bad frame: {e}"));
                    return;
                }
            };
            if frame.op != Opcode::Stdin {
                continue;
            }
            let line = wire::command_line(&frame.payload);
            if line.is_empty() {
                if stream.write_all(&wire::exit(0)).await.is_err() {
                    return;
                }
                continue;
            }
            let (reply, mut replies) = tokio::sync::mpsc::unbounded_channel();
            let words: Vec<String> = line
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            let published = crate::commands::answered_from_published(&words)
                .then(|| board.latest())
                .flatten();
            if let Some(view) = published {
                let (board, user) = (board.clone(), user.clone());
                // Dropped when done, which ends the relay below.
                tokio::task::spawn_blocking(move || {
                    reader::answer(&board, view, &words, &user, reply);
                });
            } else {
                let job = Job::Command {
                    line,
                    user: user.clone(),
                    reply,
                };
                if jobs.send(job).is_err() {
                    return;
                }
            }
            while let Some(bytes) = replies.recv().await {
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => decoder.feed(&buf[..n]),
        }
    }
}
