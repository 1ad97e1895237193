//! The daemon out of file descriptors: clients that hold more connections than its
//! descriptor limit allows leave the accept loop failing with EMFILE. It pauses between
//! attempts (exponentially, capped) and reports the failures once per interval with a
//! count — not a line per attempt at full speed — and answers again once the
//! connections are gone (crates/cli/src/daemon/server.rs, `AcceptFailures`).

use crate::common::Sandbox;
use crate::daemon::support::Daemon;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The daemon's descriptor limit in this test: enough to start and answer, few enough
/// for a test to exhaust.
const NOFILE: libc::rlim_t = 64;

/// Starts the daemon with its descriptor limit lowered to [`NOFILE`].
fn start_limited(sb: &Sandbox) -> Daemon {
    let stderr = sb.path("daemon.stderr");
    let file = std::fs::File::create(&stderr).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ods-enforcerd"));
    command
        .args(["-d", "-c"])
        .arg(sb.conf())
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: NOFILE,
                rlim_max: NOFILE,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let d = Daemon {
        child: Some(command.spawn().unwrap()),
        socket: sb.path("enforcer/enforcer.sock"),
        stderr,
    };
    d.wait_ready();
    d
}

#[test]
fn descriptors_running_out_pause_the_accept_loop() {
    let sb = Sandbox::with_token();
    let mut d = start_limited(&sb);
    assert_eq!(sb.ok("running").out, "Engine running.\n");
    // More connections than the daemon has descriptors: it accepts until EMFILE, the
    // rest wait in the listen queue, and every further accept fails.
    let mut held = Vec::new();
    for _ in 0..(NOFILE as usize + 16) {
        held.push(UnixStream::connect(&d.socket).unwrap());
    }
    let start = Instant::now();
    while !d.log().contains("accept failed") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the daemon never ran out of descriptors: {}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(3));
    let log = d.log();
    let failures = log.matches("accept failed").count();
    assert!(
        failures <= 3 && log.len() < 64 * 1024,
        "{failures} reports, {} bytes of log in 3 s:\n{}",
        log.len(),
        &log[..log.len().min(4000)]
    );
    drop(held);
    // The queued connections are accepted (and closed by their clients); the daemon
    // answers again.
    let start = Instant::now();
    loop {
        let r = sb.sh("running");
        if r.code == 0 {
            assert_eq!(r.out, "Engine running.\n");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the daemon does not answer again: {r:?}\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        d.log().contains("accepting connections again"),
        "{}",
        d.log()
    );
    assert_eq!(sb.sh("stop").code, 0);
    assert_eq!(d.wait(), Some(0), "{}", d.log());
}
