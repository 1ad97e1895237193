//! File arguments that could block a reader for ever: a FIFO nobody writes to, a device,
//! a directory, a socket — given as `zonelist import --file`, as conf.xml's PolicyFile
//! or ZoneListFile, or as conf.xml itself. Each is refused at once ("<path> is not a
//! regular file"), nothing is appended, and a daemon asked to read one goes on serving.

use crate::common::{PIN, Run, Sandbox};
use crate::daemon::support::{Daemon, fast_sandbox};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long an answer may take: a refusal is immediate; a blocked read never ends.
const PROMPTLY: Duration = Duration::from_secs(20);

/// Runs `ods-enforcer -c <conf> <line>`; panics if it has not finished within
/// [`PROMPTLY`] (and kills it).
fn run_promptly(sb: &Sandbox, conf: &Path, line: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ods-enforcer"))
        .arg("-c")
        .arg(conf)
        .args(line.split_whitespace())
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > PROMPTLY {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{line}: no answer within {PROMPTLY:?}: blocked");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        out: std::fs::read_to_string(out).unwrap(),
        err: std::fs::read_to_string(err).unwrap(),
        code: status.code().unwrap_or(-1),
    }
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// A FIFO, a device, a directory and a socket in the sandbox (the socket's listener
/// is kept alive by the caller).
fn not_regular(sb: &Sandbox) -> (Vec<PathBuf>, std::os::unix::net::UnixListener) {
    let fifo = sb.path("fifo.xml");
    mkfifo(&fifo);
    let socket = sb.path("socket.xml");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::create_dir(sb.path("dir.xml")).unwrap();
    let paths = vec![fifo, PathBuf::from("/dev/null"), sb.path("dir.xml"), socket];
    (paths, listener)
}

/// `run` refused `path`: exit `code`, the message, nothing appended, no PIN.
fn assert_refused(sb: &Sandbox, before: &[u8], line: &str, r: &Run, code: i32, path: &Path) {
    assert_eq!(r.code, code, "{line}: {r:?}");
    let message = format!("{} is not a regular file", path.display());
    assert!(r.err.contains(&message), "{line}: {r:?}");
    assert!(before == sb.log_bytes(), "{line} changed the log");
    assert!(
        !r.out.contains(PIN) && !r.err.contains(PIN),
        "{line}: {r:?}"
    );
}

#[test]
fn file_arguments_that_are_not_regular_files_are_refused_at_once() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    let (paths, _listener) = not_regular(&sb);
    let before = sb.log_bytes();
    for path in &paths {
        let line = format!("zonelist import --file {}", path.display());
        let r = run_promptly(&sb, &sb.conf(), &line);
        assert_refused(&sb, &before, &line, &r, 1, path);
    }
    // conf.xml's PolicyFile and ZoneListFile.
    let conf = std::fs::read_to_string(sb.conf()).unwrap();
    let fifo = &paths[0];
    let other = sb.path("fifo-conf.xml");
    let policy = conf.replace(
        &sb.path("kasp.xml").display().to_string(),
        fifo.to_str().unwrap(),
    );
    std::fs::write(&other, policy).unwrap();
    let r = run_promptly(&sb, &other, "policy import");
    assert_refused(&sb, &before, "policy import", &r, 1, fifo);
    let zonelist = conf.replace(
        &sb.path("zonelist.xml").display().to_string(),
        fifo.to_str().unwrap(),
    );
    std::fs::write(&other, zonelist).unwrap();
    let r = run_promptly(&sb, &other, "zonelist import");
    assert_refused(&sb, &before, "zonelist import", &r, 1, fifo);
    // conf.xml itself.
    let r = run_promptly(&sb, fifo, "zone list");
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.err
            .contains(&format!("{} is not a regular file", fifo.display())),
        "{r:?}"
    );
    assert!(before == sb.log_bytes(), "the log changed");
}

/// Through a daemon: the refusal comes at once, and the daemon answers the next client.
#[test]
fn a_daemon_asked_to_read_a_fifo_refuses_and_goes_on_serving() {
    let sb = fast_sandbox(false);
    let d = Daemon::start(&sb, &[]);
    let (paths, _listener) = not_regular(&sb);
    let before = sb.log_bytes();
    for path in &paths {
        let line = format!("zonelist import --file {}", path.display());
        let r = run_promptly(&sb, &sb.conf(), &line);
        assert_refused(&sb, &before, &line, &r, 1, path);
    }
    let r = run_promptly(&sb, &sb.conf(), "zone list");
    assert_eq!(r.code, 0, "{r:?}");
    run_promptly(&sb, &sb.conf(), "zone add --zone after.test --policy fast");
    let r = run_promptly(&sb, &sb.conf(), "zone list");
    assert!(r.out.contains("after.test"), "{r:?}");
    drop(d);
}

/// A zone list larger than 64 MiB (sparse: no disk is used) is refused before it is
/// parsed, with its size in the message.
#[test]
fn an_input_file_above_64_mib_is_refused() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    let big = sb.path("big.xml");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(64 * 1024 * 1024 + 1).unwrap();
    let before = sb.log_bytes();
    let line = format!("zonelist import --file {}", big.display());
    let r = run_promptly(&sb, &sb.conf(), &line);
    assert_eq!(r.code, 1, "{r:?}");
    let message = format!("{} is larger than 64 MiB; refused", big.display());
    assert!(r.err.contains(&message), "{r:?}");
    assert!(before == sb.log_bytes(), "the log changed");
}
