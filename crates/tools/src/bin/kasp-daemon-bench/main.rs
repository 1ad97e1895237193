//! `kasp-daemon-bench`: the `ods-enforcerd` daemon at steady state with 10,000 and
//! 100,000 ECDSA zones — the time of a full enforce pass, memory (RSS) per zone, and
//! command latency under load (p50, p99).
//!
//! Run: `cargo run --release --locked -p kasp-tools --bin kasp-daemon-bench [-- options]`
//!
//! - `--zones 10000,100000` the sizes (default); `--quick` is `--zones 1000`;
//! - `--clients 8` concurrent clients in the load test (default 8);
//! - `--cycles 10` cycles of the 10-command mix per client (default 10);
//! - `--passes 3` full enforce passes (median reported);
//! - `--keep` keeps the projects and the daemon logs; `--perf` runs one more enforce
//!   pass and one more load test under `perf record --call-graph dwarf` (not in the
//!   tables: perf slows the daemon) and keeps the profiles in `<dir>/perf/`.
//!
//! It works in a directory under the system temp dir and prints Markdown tables.
//!
//! Per size N it builds kasp-enforce-bench's steady-state project (`steady.rs`, shared
//! with that bench: conf.xml with ManualKeyGeneration and a PKCS#11 module path that
//! does not exist, the ECDSA policy of perf-ecdsa.xml, a log in which N zones have
//! their KSK and ZSK active and their signconf written, on a simulated clock), points
//! conf.xml at the bench's own SoftHSM2 token (in the temp dir), generates there a
//! spare pool of keys for the zones the load test adds (recorded in the log), and
//! starts the real release `ods-enforcerd -d -c conf.xml` (signer notify `/bin/true`).
//! Through the socket, with the library's client:
//!
//! 1. start-up: from spawn until the socket answers `running` (open + fold of the log);
//! 2. `enforce` (flush every zone, run them all: N `ZoneEnforced`, nothing else), a few
//!    passes, median reported;
//! 3. the daemon's VmRSS / RssAnon / VmHWM from /proc after start and after the
//!    passes; then the daemon is stopped, the passes' records are checked (exactly N
//!    `ZoneEnforced` per pass, and the flushes) and a fresh daemon runs the load test,
//!    measured after it; per zone = (RSS − RSS of a daemon on a log with the policy
//!    and no zones) / N;
//! 4. latency: the same 10-command cycle sent first by one client (service times),
//!    then by `--clients` concurrent clients (service time + queueing behind the
//!    others: the daemon runs commands one at a time on its writer thread), one
//!    connection per command as `ods-enforcer` does. p50 and p99 per command kind and
//!    overall, nearest rank.
//!
//! Plus in-process timings, on the same state, of the whole-state operations daemon
//! commands do (state clone and drop, zones.xml, snapshot encoding, `next_task`).

mod daemon;
mod hsm;
mod load;
mod prep;
mod report;
#[path = "../kasp-enforce-bench/steady.rs"]
mod steady;

use anyhow::{Result, ensure};
use daemon::{Daemon, Memory, command, daemon_binary};
use kasp_tools::benchkit::{fmt_d, median};
use load::Phase;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub(crate) struct Options {
    sizes: Vec<u64>,
    clients: usize,
    cycles: usize,
    passes: usize,
    keep: bool,
    perf: bool,
}

fn options() -> Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Options {
        sizes: vec![10_000, 100_000],
        clients: 8,
        cycles: 10,
        passes: 3,
        keep: false,
        perf: false,
    };
    let mut i = 0;
    let number = |s: &str| s.trim().replace('_', "").parse::<u64>();
    while i < args.len() {
        let value = args.get(i + 1).map(String::as_str);
        match (args[i].as_str(), value) {
            ("--quick", _) => o.sizes = vec![1_000],
            ("--keep", _) => o.keep = true,
            ("--perf", _) => o.perf = true,
            ("--zones" | "--sizes", Some(v)) => {
                o.sizes = v.split(',').map(number).collect::<Result<_, _>>()?;
                i += 1;
            }
            ("--clients", Some(v)) => {
                o.clients = number(v)? as usize;
                i += 1;
            }
            ("--cycles", Some(v)) => {
                o.cycles = number(v)? as usize;
                i += 1;
            }
            ("--passes", Some(v)) => {
                o.passes = number(v)? as usize;
                i += 1;
            }
            (other, _) => anyhow::bail!(
                "unknown argument {other} (--quick, --zones N,M, --clients C, --cycles K, \
                 --passes P, --keep, --perf)"
            ),
        }
        i += 1;
    }
    ensure!(o.sizes.iter().all(|n| *n > 0), "sizes must be positive");
    ensure!(
        o.clients > 0 && o.cycles > 0 && o.passes > 0,
        "clients, cycles and passes must be positive"
    );
    Ok(o)
}

/// A `perf record` of the daemon, stopped (SIGINT) by [`Perf::finish`].
struct Perf(Option<std::process::Child>);

impl Perf {
    fn start(on: bool, pid: u32, out: &Path) -> Perf {
        if !on {
            return Perf(None);
        }
        let child = std::process::Command::new("perf")
            .args(["record", "-F", "99", "--call-graph", "dwarf,16384"])
            .args(["-p", &pid.to_string(), "-o"])
            .arg(out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match child {
            Ok(c) => {
                // Let it attach before the measured work starts.
                std::thread::sleep(Duration::from_millis(500));
                Perf(Some(c))
            }
            Err(e) => {
                eprintln!("    (perf not started: {e})");
                Perf(None)
            }
        }
    }

    fn finish(self) {
        if let Some(mut c) = self.0 {
            // SAFETY: signals the perf process this bench started (its own pid).
            unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
            let _ = c.wait();
        }
    }
}

/// Everything measured on one size.
pub(crate) struct Run {
    n: u64,
    startup: Duration,
    passes: Vec<Duration>,
    after_start: Memory,
    after_pass: Memory,
    after_load: Memory,
    single: Phase,
    loaded: Phase,
    parts: prep::Parts,
    records: u64,
    log_bytes: u64,
}

/// The empty daemon: a log with the policy and no zones; its memory after start and
/// one `enforce`.
fn baseline(dir: &Path, ws: &Path, bin: &Path) -> Result<Memory> {
    let root = dir.join("zones-0");
    let p = steady::build(&root, ws, 0)?;
    let socket = root.join("enforcer/enforcer.sock");
    let d = Daemon::start(bin, &p.conf, &socket, &root.join("daemon.log"))?;
    let a = command(&socket, "enforce")?;
    ensure!(
        a.code == 0 && a.out.err.is_empty(),
        "enforce: {}",
        a.out.err
    );
    let m = d.memory()?;
    d.stop()?;
    Ok(m)
}

fn run_size(
    dir: &Path,
    ws: &Path,
    bin: &Path,
    token: &hsm::Token,
    n: u64,
    o: &Options,
) -> Result<Run> {
    let root = dir.join(format!("zones-{n}"));
    eprintln!(
        "  {n} zones: building the steady state in {}",
        root.display()
    );
    let p = steady::build(&root, ws, n)?;
    eprintln!(
        "    built in {} (+ {} writing {n} signconfs): {} records, clock {}",
        fmt_d(p.build),
        fmt_d(p.signconf),
        p.head.0 + 1,
        p.now
    );
    // The daemon works on the log itself; the copy kasp-enforce-bench keeps is not needed.
    std::fs::remove_file(&p.pristine)?;
    // Every zone the phases add gets a KSK and a ZSK from the pool (`--perf` runs the
    // load test once more, profiled).
    let rounds = if o.perf {
        2 * o.clients + 1
    } else {
        o.clients + 1
    };
    let adds = rounds * o.cycles;
    token.use_in(&p.conf)?;
    let t = Instant::now();
    prep::add_spare_keys(&p, &mut token.open()?, adds as u64)?;
    eprintln!(
        "    {} spare keys generated on the token in {}",
        2 * adds,
        fmt_d(t.elapsed())
    );
    let targets = prep::targets(&p)?;
    let mut parts = prep::parts(&p.state, &root, 3)?;
    parts.hsm_open = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                drop(token.open()?);
                Ok(t.elapsed())
            })
            .collect::<Result<Vec<_>>>()?,
    );
    eprintln!("    in-process parts: {parts:?}");
    let socket = root.join("enforcer/enforcer.sock");
    let perf_dir = dir.join("perf");
    if o.perf {
        std::fs::create_dir_all(&perf_dir)?;
    }
    let head = {
        let log = kasp_events::EventLog::open(&p.log_path, kasp_events::Access::ReadOnly)?;
        log.head().seq
    };
    let records = head.0 + 1;
    let log_bytes = std::fs::metadata(&p.log_path)?.len();
    let d = Daemon::start(bin, &p.conf, &socket, &root.join("daemon.log"))?;
    eprintln!(
        "    daemon pid {} answered after {} (log: {})",
        d.pid,
        fmt_d(d.startup),
        d.log.display()
    );
    let after_start = d.memory()?;
    let mut passes = Vec::new();
    for pass in 0..o.passes {
        let a = command(&socket, "enforce")?;
        ensure!(
            a.code == 0 && a.out.err.is_empty() && a.out.out.is_empty(),
            "enforce: exit {}: {}",
            a.code,
            a.out.err
        );
        eprintln!("    enforce pass {pass}: {}", fmt_d(a.time));
        passes.push(a.time);
    }
    let after_pass = d.memory()?;
    if o.perf {
        // One more pass, profiled (perf slows the daemon: not in the tables).
        let perf = Perf::start(true, d.pid, &perf_dir.join(format!("enforce-{n}.data")));
        let a = command(&socket, "enforce")?;
        perf.finish();
        eprintln!("    enforce pass under perf: {}", fmt_d(a.time));
    }
    eprintln!("    memory after start {after_start:?}, after the passes {after_pass:?}");
    let startup = d.startup;
    // What the passes appended: exactly N `ZoneEnforced` each, and their flushes.
    d.stop()?;
    let (enforced, other) = appended(&p.log_path, head)?;
    let runs = o.passes + usize::from(o.perf);
    ensure!(
        enforced == n * runs as u64 && other == 0,
        "{runs} enforce passes appended {enforced} ZoneEnforced and {other} other records"
    );
    // The load test on a fresh daemon, so its memory shows what commands leave behind.
    let d = Daemon::start(bin, &p.conf, &socket, &root.join("daemon-load.log"))?;
    let single = load::run(&socket, &targets, 1, o.cycles, "one")?;
    eprintln!(
        "    1 client: {} commands in {}",
        single.count(),
        fmt_d(single.wall)
    );
    let loaded = load::run(&socket, &targets, o.clients, o.cycles, "many")?;
    eprintln!(
        "    {} clients: {} commands in {}",
        o.clients,
        loaded.count(),
        fmt_d(loaded.wall)
    );
    let after_load = d.memory()?;
    if o.perf {
        let perf = Perf::start(true, d.pid, &perf_dir.join(format!("load-{n}.data")));
        let profiled = load::run(&socket, &targets, o.clients, o.cycles, "perf")?;
        perf.finish();
        eprintln!(
            "    load test under perf: {} commands in {}",
            profiled.count(),
            fmt_d(profiled.wall)
        );
    }
    d.stop()?;
    for phase in [&single, &loaded] {
        for (kind, (count, example)) in &phase.unexpected {
            eprintln!(
                "    UNEXPECTED ({} clients) {kind:?} ×{count}: {example}",
                phase.clients
            );
        }
        eprintln!(
            "    exit codes ({} clients): {:?}",
            phase.clients, phase.codes
        );
    }
    Ok(Run {
        n,
        startup,
        passes,
        after_start,
        after_pass,
        after_load,
        single,
        loaded,
        parts,
        records,
        log_bytes,
    })
}

/// The records after `head`: (ZoneEnforced, others than EnforceRequested).
fn appended(log: &Path, head: kasp_events::Seq) -> Result<(u64, u64)> {
    let log = kasp_events::EventLog::open(log, kasp_events::Access::ReadOnly)?;
    let (mut enforced, mut other) = (0, 0);
    log.for_each(kasp_events::Seq(head.0 + 1), |s| {
        match s.record.event {
            kasp_events::Event::ZoneEnforced(_) => enforced += 1,
            kasp_events::Event::EnforceRequested(_) => {}
            _ => other += 1,
        }
        Ok::<(), kasp_events::LogError>(())
    })?;
    Ok((enforced, other))
}

fn main() -> Result<()> {
    let o = options()?;
    // SAFETY: no other thread exists yet; the signconf writes of the build (this
    // process) and the daemon (a child) read it.
    unsafe { std::env::set_var("KASP_SIGNER_COMMAND", "/bin/true") };
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = daemon_binary()?;
    let unique = format!(
        "kasp-daemon-bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    );
    let dir: PathBuf = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir)?;
    let softhsm = hsm::config(&dir)?;
    // SAFETY: still no other thread; the token's users (this process's HSM thread,
    // softhsm2-util and the daemon) read it.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &softhsm) };
    eprintln!("kasp-daemon-bench in {}", dir.display());
    let t = Instant::now();
    let result = (|| -> Result<(Memory, Vec<Run>)> {
        let token = hsm::init()?;
        let base = baseline(&dir, &ws, &bin)?;
        eprintln!("  empty daemon: {base:?}");
        let mut runs = Vec::new();
        for &n in &o.sizes {
            runs.push(run_size(&dir, &ws, &bin, &token, n, &o)?);
            if !o.keep {
                let _ = std::fs::remove_dir_all(dir.join(format!("zones-{n}")));
            }
        }
        Ok((base, runs))
    })();
    if o.keep || o.perf {
        eprintln!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (base, runs) = result?;
    eprintln!("total {}", fmt_d(t.elapsed()));
    report::print_tables(&base, &runs, &o);
    Ok(())
}
