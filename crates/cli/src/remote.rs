//! `ods-enforcer` as a client of a running daemon: send the command line over the socket,
//! relay the daemon's stdout and stderr frames, exit with its code — what OpenDNSSEC's
//! client does (docs/cli.md, ods-enforcer and Exit codes), including its exit codes for a
//! broken conversation (206 closed early, 207 read error, 208 malformed frame), `stop`
//! waiting for the daemon to be gone, `start` launching `ods-enforcerd`, and the
//! interactive mode.

use crate::output::Sink;
use crate::wire::{self, Decoder, Opcode};
use std::io::{BufRead, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Sends one command line and relays the answer; returns the exit code.
pub fn command(stream: &mut UnixStream, line: &str, sink: &mut dyn Sink) -> i32 {
    // As the stock client: the words joined by spaces, a trailing space, a NUL.
    let mut payload = format!("{line} ");
    payload.push('\0');
    if stream.write_all(&wire::command(&payload)).is_err() {
        sink.err("[Remote closed connection]\n");
        return 206;
    }
    relay(stream, sink)
}

/// Whether a live daemon answers on `socket` within `within`: it must accept and
/// answer an empty command line. A connection alone is not enough: after a daemon was
/// killed, a child it was starting holds the listening socket until its exec.
pub fn answers(socket: &Path, within: Duration) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    if stream.set_read_timeout(Some(within)).is_err()
        || stream.set_write_timeout(Some(within)).is_err()
    {
        return false;
    }
    let mut sink = crate::output::Captured::default();
    command(&mut stream, "", &mut sink) == 0
}

/// Relays frames until the EXIT frame.
fn relay(stream: &mut UnixStream, sink: &mut dyn Sink) -> i32 {
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 4096];
    loop {
        loop {
            match decoder.next_frame() {
                Ok(Some(f)) => match f.op {
                    Opcode::Stdout => sink.out(&String::from_utf8_lossy(&f.payload)),
                    Opcode::Stderr => sink.err(&String::from_utf8_lossy(&f.payload)),
                    Opcode::Exit => return wire::exit_status(f.payload[0]),
                    Opcode::Stdin | Opcode::Prompt => {}
                },
                Ok(None) => break,
                Err(_) => {
                    sink.err("Error handling message from daemon\n");
                    return 208;
                }
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                sink.err("[Remote closed connection]\n");
                return 206;
            }
            Ok(n) => decoder.feed(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                sink.err(&format!("read(): {e}\n"));
                return 207;
            }
        }
    }
}

/// After `stop` answered: waits until the daemon process is gone, as the stock client
/// does (it prints the pid first).
pub fn wait_for_stop(pid_file: Option<&Path>, socket: &Path, sink: &mut dyn Sink) {
    let pid = pid_file
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| t.trim().parse::<i32>().ok())
        .unwrap_or(0);
    sink.out(&format!("pid {pid}\n"));
    let mut waited = Duration::ZERO;
    let step = Duration::from_millis(50);
    loop {
        let alive = if pid > 0 {
            // SAFETY: signal 0 only checks that the process exists.
            let exists = unsafe { libc::kill(pid, 0) == 0 };
            // An exited daemon its parent has not reaped yet (a supervisor, a test) is
            // gone too.
            exists && !is_zombie(pid)
        } else {
            UnixStream::connect(socket).is_ok()
        };
        if !alive {
            return;
        }
        std::thread::sleep(step);
        waited += step;
        if waited.as_secs() >= 20 {
            sink.out("enforcer needs more time to stop...\n");
            waited = Duration::ZERO;
        }
    }
}

/// Whether `pid` has exited and waits to be reaped (state `Z` in /proc).
fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// `start` without a daemon: runs `ods-enforcerd -c <conf>` from the directory of this
/// program (never another enforcer found on PATH), which returns once the daemon is
/// ready or has failed.
pub fn start_daemon(conf: &Path, sink: &mut dyn Sink) -> i32 {
    let Some(program) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("ods-enforcerd")))
        .filter(|p| p.exists())
    else {
        sink.err(
            "Error: ods-enforcerd is not installed next to ods-enforcer.\nError: Daemon \
             reported a failure starting. Please consult the logfiles.\n",
        );
        return 1;
    };
    let status = std::process::Command::new(&program)
        .arg("-c")
        .arg(conf)
        .stdin(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => 0,
        Ok(s) => {
            sink.err("Error: Daemon reported a failure starting. Please consult the logfiles.\n");
            s.code().unwrap_or(1)
        }
        Err(e) => {
            sink.err(&format!(
                "Error: cannot run {}: {e}\nError: Daemon reported a failure starting. \
                 Please consult the logfiles.\n",
                program.display()
            ));
            1
        }
    }
}

/// Interactive mode: a `cmd> ` prompt, one command per line, `exit`/`quit`/EOF end.
/// `run` executes a line and returns its exit code (through the daemon or not).
pub fn interactive(sink: &mut dyn Sink, mut run: impl FnMut(&str, &mut dyn Sink) -> i32) -> i32 {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    loop {
        sink.out("cmd> ");
        sink.flush();
        let mut line = String::new();
        match lines.read_line(&mut line) {
            Ok(0) => {
                sink.out("\n");
                return 0;
            }
            Ok(_) => {}
            Err(_) => return 205,
        }
        let line = line.trim();
        if line == "exit" || line == "quit" {
            return 0;
        }
        if line.is_empty() {
            continue;
        }
        let code = run(line, sink);
        sink.err(&format!("Daemon exit code: {code}\n"));
        if line.starts_with("stop") {
            return 0;
        }
    }
}
