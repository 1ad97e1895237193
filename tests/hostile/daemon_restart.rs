//! The daemon's pid file after a crash: a pid file naming a process that is gone, a
//! zombie (the killed daemon, not yet reaped by its parent) or a live process running
//! another program is stale, and the daemon starts; one naming a live ods-enforcerd
//! stops the start (crates/cli/src/daemon/process.rs, `check_pid_file`).

use crate::common::Sandbox;
use crate::daemon::support::Daemon;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The state letter of process `pid` (`/proc/<pid>/stat`).
fn proc_state(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().next().map(str::to_string)
}

#[test]
fn a_restart_right_after_a_crash_starts() {
    let sb = Sandbox::with_token();
    let pid_file = sb.path("enforcer/enforcerd.pid");
    let mut first = Daemon::start(&sb, &[]);
    // A live ods-enforcerd: a second one is refused.
    let second = Command::new(env!("CARGO_BIN_EXE_ods-enforcerd"))
        .args(["-d", "-c"])
        .arg(sb.conf())
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(second.status.code(), Some(0), "{second:?}");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("already running"), "{said}");

    // SIGKILL, and leave it unreaped: a zombie, as a supervisor that has not yet
    // collected its child would.
    let mut killed = first.child.take().unwrap();
    let pid = killed.id();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let start = Instant::now();
    while proc_state(pid).as_deref() != Some("Z") {
        assert!(start.elapsed() < Duration::from_secs(10), "never a zombie");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    let mut restarted = Daemon::start(&sb, &[]);
    assert_eq!(sb.ok("running").out, "Engine running.\n");
    let log = restarted.log();
    assert!(
        log.contains(&format!("process {pid} has exited")) && log.contains("stale"),
        "{log}"
    );
    assert_eq!(sb.sh("stop").code, 0);
    assert_eq!(restarted.wait(), Some(0), "{}", restarted.log());
    killed.wait().unwrap();

    // A live process that is not ods-enforcerd (the pid was reused): stale too.
    let mut sleep = Command::new("sleep").arg("60").spawn().unwrap();
    std::fs::write(&pid_file, format!("{}\n", sleep.id())).unwrap();
    let mut again = Daemon::start(&sb, &[]);
    assert_eq!(sb.ok("running").out, "Engine running.\n");
    let log = again.log();
    assert!(
        log.contains(&format!(
            "process {} is sleep, not ods-enforcerd",
            sleep.id()
        )),
        "{log}"
    );
    assert_eq!(sb.sh("stop").code, 0);
    assert_eq!(again.wait(), Some(0), "{}", again.log());
    let _ = sleep.kill();
    let _ = sleep.wait();
}
