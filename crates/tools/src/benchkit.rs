//! Helpers the benchmark binaries share (`kasp-bench`, `kasp-enforce-bench`): number
//! and duration formatting for their Markdown tables, the median of repeated runs, and
//! running the real `ods-enforcer` binary. Not used by the enforcer itself.

use anyhow::{Context as _, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `812 µs`, `3.4 ms`, `1.25 s`.
pub fn fmt_d(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else if d < Duration::from_secs(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// `100,000`.
pub fn fmt_n(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The median of at least one run.
pub fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// Finds `ods-enforcer` next to the running executable, building it first (cargo is a
/// no-op when it is up to date; a stale binary would measure old code).
pub fn enforcer_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("ods-enforcer");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let release = exe.parent().and_then(|p| p.file_name()) == Some("release".as_ref());
    let mut cmd = Command::new(cargo);
    let args = "build --locked -p kasp-cli --bin ods-enforcer --manifest-path";
    cmd.args(args.split(' ')).arg(manifest);
    if release {
        cmd.arg("--release");
    }
    let built = cmd.status().map(|s| s.success()).unwrap_or(false);
    if !built {
        eprintln!("  (could not build ods-enforcer; using the existing binary)");
    }
    ensure!(bin.is_file(), "no ods-enforcer at {}", bin.display());
    Ok(bin)
}

/// Runs `ods-enforcer -c <conf> <args>` and returns its wall time; fails unless it
/// exits 0, and with `quiet` also unless its stderr is empty.
pub fn run_enforcer(bin: &Path, conf: &Path, args: &[&str], quiet: bool) -> Result<Duration> {
    let t = Instant::now();
    let out = Command::new(bin)
        .arg("-c")
        .arg(conf)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let d = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || (quiet && !stderr.is_empty()) {
        bail!(
            "ods-enforcer {}: exit {:?}: {stderr}",
            args.join(" "),
            out.status.code()
        );
    }
    Ok(d)
}
