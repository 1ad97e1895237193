//! The real OpenDNSSEC 2.1.12 on the same synthesized database: Debian's
//! `ods-enforcerd -d -c conf.xml --set-time T` started on it, as
//! fixtures/conformance/oracle/ods-enforcer-oracle starts it (its own mount namespace,
//! `unshare -m`, root only, with the installation's fake `bin/ods-signer` bind-mounted
//! over /usr/sbin/ods-signer, which 2.1.12 runs by absolute path), then timed: until its
//! socket answers, its `zone list` and `key list` (the `ods-enforcer` client), and until
//! its start-up enforce of every zone is done (`queue`: all worker threads idle, nothing
//! due now), bounded by a timeout. The daemon is stopped with the client's `stop`, then
//! SIGTERM and SIGKILL by its pid if it does not end.
//!
//! This is what OpenDNSSEC does to take up the same database kasp-ledger imports: it
//! has no import, it opens its database and enforces every zone once before it is idle.

use anyhow::{Context as _, Result, bail};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ENFORCERD: &str = "/usr/sbin/ods-enforcerd";
const ENFORCER: &str = "/usr/sbin/ods-enforcer";

/// What the real daemon took.
#[derive(Debug)]
pub struct Times {
    /// From the start until `queue` answers on its socket.
    pub up: Duration,
    /// `ods-enforcer zone list` and `key list`, and their output lines.
    pub zone_list: (Duration, usize),
    pub key_list: (Duration, usize),
    /// From the start until idle; `None`: not idle within the timeout.
    pub idle: Option<Duration>,
}

/// `ods-enforcer -s <sock> <args>`: its time and stdout.
fn client(sock: &Path, args: &[&str]) -> Result<(Duration, String)> {
    let t = Instant::now();
    let out = Command::new(ENFORCER)
        .arg("-s")
        .arg(sock)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    let d = t.elapsed();
    if !out.status.success() {
        bail!(
            "ods-enforcer {}: exit {:?}: {}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((d, String::from_utf8_lossy(&out.stdout).into_owned()))
}

fn idle(queue: &str) -> bool {
    queue.contains("All worker threads idle.")
        && !queue.contains("Next task scheduled immediately")
        && !queue.lines().any(|l| l.starts_with("Flush "))
}

/// Why the real OpenDNSSEC cannot be run here, if it cannot.
pub fn unavailable() -> Option<String> {
    if !Path::new(ENFORCERD).is_file() {
        return Some(format!(
            "no {ENFORCERD} (Debian opendnssec-enforcer-sqlite3; scripts/deps.sh)"
        ));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (the daemon runs in its own mount namespace)".into());
    }
    None
}

fn stop(sock: &Path, child: &mut Child) {
    // The client's `stop` (bounded: 2.1.12's client has been seen to wait on after the
    // daemon ended), then signals.
    if let Ok(mut stopping) = Command::new(ENFORCER)
        .arg("-s")
        .arg(sock)
        .arg("stop")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        for _ in 0..300 {
            if matches!(stopping.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = stopping.kill();
        let _ = stopping.wait();
    }
    let pid = child.id() as libc::pid_t;
    for signal in [None, Some(libc::SIGTERM), Some(libc::SIGKILL)] {
        if let Some(s) = signal {
            // SAFETY: the daemon is our own child (setsid, unshare and sh exec it).
            unsafe { libc::kill(pid, s) };
        }
        for _ in 0..200 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Starts the daemon on the installation in `dir` at `at` and times it.
pub fn run(dir: &Path, at: i64, timeout: Duration) -> Result<Times> {
    let conf = dir.join("conf.xml");
    let sock = dir.join("enforcer/enforcer.sock");
    let log = std::fs::File::create(dir.join("enforcerd.log"))?;
    let t = Instant::now();
    let mut child = Command::new("setsid")
        .args(["unshare", "-m", "sh", "-c"])
        .arg(r#"mount --bind "$1" /usr/sbin/ods-signer && exec "$2" -d -c "$3" --set-time "$4""#)
        .arg("oracle")
        .arg(dir.join("bin/ods-signer"))
        .arg(ENFORCERD)
        .arg(&conf)
        .arg(at.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting ods-enforcerd")?;
    let result = (|| {
        let up = loop {
            if sock.exists() && client(&sock, &["queue"]).is_ok() {
                break t.elapsed();
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "ods-enforcerd ended ({status}); see {}/enforcerd.log",
                    dir.display()
                );
            }
            if t.elapsed() > timeout {
                bail!("ods-enforcerd did not answer within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let (d, out) = client(&sock, &["zone", "list"])?;
        let zone_list = (d, out.lines().count());
        let (d, out) = client(&sock, &["key", "list"])?;
        let key_list = (d, out.lines().count());
        let idle_at = loop {
            if idle(&client(&sock, &["queue"])?.1) {
                break Some(t.elapsed());
            }
            if t.elapsed() > timeout {
                break None;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        Ok(Times {
            up,
            zone_list,
            key_list,
            idle: idle_at,
        })
    })();
    stop(&sock, &mut child);
    result
}
