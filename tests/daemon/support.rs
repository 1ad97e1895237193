//! Running `ods-enforcerd` in a sandbox: start it in the foreground (`-d`) with its log
//! on a file, wait until its socket answers, stop it with a signal or kill it.

use crate::common::{Run, Sandbox};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A policy on a seconds scale (ECDSA P-256, TTLs and delays of 1–2 s) so the
/// scheduler has something due within seconds on a system-clock log.
pub const FAST_KASP: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<KASP>
	<Policy name="fast">
		<Description>seconds-scale policy for daemon tests</Description>
		<Signatures>
			<Resign>PT10M</Resign>
			<Refresh>PT30M</Refresh>
			<Validity><Default>PT1H</Default><Denial>PT1H</Denial></Validity>
			<Jitter>PT1M</Jitter>
			<InceptionOffset>PT3600S</InceptionOffset>
			<MaxZoneTTL>PT2S</MaxZoneTTL>
		</Signatures>
		<Denial><NSEC/></Denial>
		<Keys>
			<TTL>PT2S</TTL>
			<RetireSafety>PT1S</RetireSafety>
			<PublishSafety>PT1S</PublishSafety>
			<Purge>P14D</Purge>
			<KSK>
				<Algorithm length="256">13</Algorithm>
				<Lifetime>P1Y</Lifetime>
				<Repository>SoftHSM</Repository>
			</KSK>
			<ZSK>
				<Algorithm length="256">13</Algorithm>
				<Lifetime>P30D</Lifetime>
				<Repository>SoftHSM</Repository>
			</ZSK>
		</Keys>
		<Zone>
			<PropagationDelay>PT1S</PropagationDelay>
			<SOA><TTL>PT2S</TTL><Minimum>PT2S</Minimum><Serial>unixtime</Serial></SOA>
		</Zone>
		<Parent>
			<PropagationDelay>PT1S</PropagationDelay>
			<DS><TTL>PT2S</TTL></DS>
			<SOA><TTL>PT2S</TTL><Minimum>PT2S</Minimum></SOA>
		</Parent>
	</Policy>
</KASP>
"#;

/// A sandbox with a SoftHSM token, the fast policy imported, and a log on a simulated
/// clock (2025-01-01) or, with `system_clock`, on the system clock (the daemon's
/// scheduler only wakes by itself for those).
pub fn fast_sandbox(system_clock: bool) -> Sandbox {
    let sb = Sandbox::with_token();
    std::fs::write(sb.path("kasp.xml"), FAST_KASP).unwrap();
    if system_clock {
        std::fs::remove_file(sb.log_path()).unwrap();
        sb.ok("setup");
    }
    sb.ok("policy import");
    sb
}

/// A daemon running in a sandbox.
pub struct Daemon {
    pub child: Option<Child>,
    pub socket: PathBuf,
    pub stderr: PathBuf,
}

impl Daemon {
    /// Starts `ods-enforcerd -d -c <conf> <extra>` and waits for its socket.
    pub fn start(sb: &Sandbox, extra: &[&str]) -> Daemon {
        let d = Daemon::spawn(sb, extra);
        d.wait_ready();
        d
    }

    /// Spawns the daemon without waiting.
    pub fn spawn(sb: &Sandbox, extra: &[&str]) -> Daemon {
        let stderr = sb.path("daemon.stderr");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ods-enforcerd"))
            .arg("-d")
            .arg("-c")
            .arg(sb.conf())
            .args(extra)
            .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn ods-enforcerd");
        Daemon {
            child: Some(child),
            socket: sb.path("enforcer/enforcer.sock"),
            stderr,
        }
    }

    /// Waits (at most 30 s) until this daemon answers on the socket; panics if it
    /// died. Its pid file first: after a kill, a child the old daemon was starting can
    /// hold the old listening socket for a moment, and a connection to it would look
    /// like this daemon being ready.
    pub fn wait_ready(&self) {
        let start = Instant::now();
        let pid_file = self.socket.with_file_name("enforcerd.pid");
        let pid = self.child.as_ref().map(|c| c.id().to_string());
        let ours = || {
            let written = std::fs::read_to_string(&pid_file).ok();
            pid.is_none() || written.as_deref().map(str::trim) == pid.as_deref()
        };
        while !ours() || !kasp_cli::remote::answers(&self.socket, Duration::from_secs(5)) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "daemon did not come up: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's stderr log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends `signal` and waits for the exit; returns the exit code (None: killed).
    pub fn signal(&mut self, signal: i32) -> Option<i32> {
        let mut child = self.child.take().expect("running");
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        child.wait().unwrap().code()
    }

    /// Waits for the daemon to exit by itself (after `stop`).
    pub fn wait(&mut self) -> Option<i32> {
        self.child.take().expect("running").wait().unwrap().code()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs the stock OpenDNSSEC client with `-s <socket>`; the first stdout line it prints
/// (`sock set to …`) is removed. Fails, naming the package, when the stock client is not
/// installed ([`crate::common::stock_client`]).
pub fn stock(socket: &std::path::Path, line: &str) -> Run {
    stock_with(socket, line, &[])
}

/// [`stock`] with extra environment variables.
pub fn stock_with(socket: &std::path::Path, line: &str, env: &[(&str, String)]) -> Run {
    let out = Command::new(crate::common::stock_client())
        .arg("-s")
        .arg(socket)
        .args(line.split_whitespace())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run the stock client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stdout = stdout
        .split_once('\n')
        .filter(|(first, _)| first.starts_with("sock set to"))
        .map_or(stdout.clone(), |(_, rest)| rest.to_string());
    Run {
        out: stdout,
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// splitmix64: a small seeded PRNG for the load and crash tests (no new crates).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
