//! The real `ods-enforcerd`, run in the foreground (`-d`) on a project, and talked to
//! through its socket with the library's client (`kasp_cli::remote::command`).

use anyhow::{Context as _, Result, bail, ensure};
use kasp_cli::output::Captured;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Finds `ods-enforcerd` next to the running executable, building it first (cargo is
/// a no-op when it is up to date; a stale binary would measure old code).
pub fn daemon_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("ods-enforcerd");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let release = exe.parent().and_then(|p| p.file_name()) == Some("release".as_ref());
    let mut cmd = Command::new(cargo);
    let args = "build --locked -p kasp-cli --bin ods-enforcerd --manifest-path";
    cmd.args(args.split(' ')).arg(manifest);
    if release {
        cmd.arg("--release");
    }
    let built = cmd.status().map(|s| s.success()).unwrap_or(false);
    if !built {
        eprintln!("  (could not build ods-enforcerd; using the existing binary)");
    }
    ensure!(bin.is_file(), "no ods-enforcerd at {}", bin.display());
    Ok(bin)
}

/// The daemon's memory, from /proc/<pid>/status, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// VmRSS: resident now.
    pub rss: u64,
    /// VmHWM: the peak resident size so far.
    pub hwm: u64,
    /// RssAnon: the heap part of VmRSS (the rest is the binary and files).
    pub anon: u64,
}

/// One command's answer.
#[derive(Debug)]
pub struct Answer {
    pub code: i32,
    pub out: Captured,
    /// Connect + send + the whole answer (what an `ods-enforcer` client waits).
    pub time: Duration,
}

/// A running daemon.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    pub pid: u32,
    pub socket: PathBuf,
    /// Where its stderr (the log) goes.
    pub log: PathBuf,
    /// From spawn until the socket answered `running`.
    pub startup: Duration,
}

/// Sends one command line on a fresh connection (as the stock client does).
pub fn command(socket: &Path, line: &str) -> Result<Answer> {
    let t = Instant::now();
    let mut stream = UnixStream::connect(socket)
        .with_context(|| format!("connecting to {}", socket.display()))?;
    let mut out = Captured::default();
    let code = kasp_cli::remote::command(&mut stream, line, &mut out);
    let time = t.elapsed();
    ensure!(
        !(206..=208).contains(&code),
        "`{line}`: the conversation broke (exit {code}): {}",
        out.err
    );
    Ok(Answer { code, out, time })
}

impl Daemon {
    /// Starts `bin -d -c conf` and waits until it answers on `socket`.
    pub fn start(bin: &Path, conf: &Path, socket: &Path, log: &Path) -> Result<Daemon> {
        let stderr = std::fs::File::create(log)?;
        let stdout = stderr.try_clone()?;
        let t = Instant::now();
        let child = Command::new(bin)
            .arg("-d")
            .arg("-c")
            .arg(conf)
            .env("KASP_SIGNER_COMMAND", "/bin/true")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut d = Daemon {
            pid: child.id(),
            child,
            socket: socket.to_path_buf(),
            log: log.to_path_buf(),
            startup: Duration::ZERO,
        };
        loop {
            if let Some(status) = d.child.try_wait()? {
                bail!(
                    "ods-enforcerd exited at start-up ({status}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if let Ok(a) = command(socket, "running")
                && a.code == 0
            {
                break;
            }
            if t.elapsed() > Duration::from_secs(600) {
                bail!("ods-enforcerd did not answer within 10 minutes");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        d.startup = t.elapsed();
        Ok(d)
    }

    pub fn memory(&self) -> Result<Memory> {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let field = |name: &str| -> Result<u64> {
            let line = text
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("no {name} in /proc/{}/status", self.pid))?;
            let kb: u64 = line[name.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()?;
            Ok(kb * 1024)
        };
        Ok(Memory {
            rss: field("VmRSS:")?,
            hwm: field("VmHWM:")?,
            anon: field("RssAnon:")?,
        })
    }

    /// `stop`, then waits for the process to exit (killed after a minute).
    pub fn stop(mut self) -> Result<()> {
        let answer = command(&self.socket, "stop");
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                ensure!(status.success(), "ods-enforcerd exited with {status}");
                break;
            }
            if t.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("ods-enforcerd did not stop within a minute; killed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let a = answer?;
        ensure!(a.code == 0, "stop: exit {}: {}", a.code, a.out.err);
        Ok(())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Only when `stop` was not reached (an error on the way): do not leave it running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
