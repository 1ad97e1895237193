//! `kasp-enforce-bench`: one enforce pass over 1,000, 10,000 and 100,000 zones at
//! steady state, against OpenDNSSEC 2.1.12's ~11 s per 1,000 zones (11 ms per zone).
//!
//! Run: `cargo run --release --locked -p kasp-tools --bin kasp-enforce-bench [-- --quick]`
//! (`--quick`: 100, 1,000 and 10,000 zones; `--sizes 500,2000` for others; `--keep`
//! keeps the project directories and prints where they are, e.g. for `perf`). It works
//! in a directory under the system temp dir and prints a Markdown table.
//!
//! Per size N it builds a project (see `steady.rs`): conf.xml (ManualKeyGeneration, a
//! PKCS#11 module path that does not exist, DS submit hook `/bin/true`), the ECDSA
//! policy of fixtures/conformance/kasp/perf-ecdsa.xml, and an event log in which N
//! zones have their KSK and ZSK active and their signconf written. Then, with the
//! simulated clock where the build left it:
//!
//! 1. `plan` in-process over the folded state with every zone flushed (pure: the N
//!    enforcer runs, no I/O), median of 5;
//! 2. the parts of the pass in-process: open + fold of the log (from its snapshot),
//!    and the append of the pass's N `ZoneEnforced` (+ fold + snapshot);
//! 3. `ods-enforcer -c conf.xml enforce` end to end (the real release binary: process
//!    start, conf.xml, three loads of the log, flush, decide, append, effects check),
//!    each run on a fresh copy of the steady-state log, median of 3. A run must exit 0
//!    with nothing on stderr and append exactly N `ZoneEnforced` and the flush.
//!
//! The signer notify command is `/bin/true` (KASP_SIGNER_COMMAND) for the build.

mod measure;
mod steady;

use anyhow::{Result, ensure};
use kasp_tools::benchkit::{enforcer_binary, fmt_d, fmt_n};
use measure::{Times, measure};
use std::path::Path;
use std::time::{Duration, Instant};

/// OpenDNSSEC 2.1.12: about 11 s for 1,000 zones on this kind of machine.
const ODS_PER_ZONE: Duration = Duration::from_millis(11);

/// One table row: `time` for `n` zones.
fn row(what: &str, n: u64, time: Duration, versus: bool) -> String {
    let secs = time.as_secs_f64();
    let per = secs / n as f64 * 1e6;
    let per = if per >= 100.0 {
        format!("{per:.0} µs")
    } else {
        format!("{per:.1} µs")
    };
    let ratio = if versus {
        let r = ODS_PER_ZONE.as_secs_f64() * n as f64 / secs;
        format!("{}×", fmt_n(r.round() as u64))
    } else {
        "—".into()
    };
    let rate = fmt_n((n as f64 / secs) as u64);
    format!(
        "| {what} | {} | {} | {rate} | {per} | {ratio} |",
        fmt_n(n),
        fmt_d(time)
    )
}

fn rows(n: u64, t: &Times) -> Vec<String> {
    let (lo, hi) = t.process_range;
    vec![
        row(
            &format!(
                "`ods-enforcer enforce`, end to end (runs {}–{})",
                fmt_d(lo),
                fmt_d(hi)
            ),
            n,
            t.process,
            true,
        ),
        row("`plan` in-process (the N enforcer runs)", n, t.plan, true),
        row("part: open + fold the log (snapshot)", n, t.fold, false),
        row(
            "part: append N `ZoneEnforced` + fold + snapshot",
            n,
            t.append,
            false,
        ),
    ]
}

struct Options {
    sizes: Vec<u64>,
    keep: bool,
}

fn options() -> Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Options {
        sizes: vec![1_000, 10_000, 100_000],
        keep: false,
    };
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--quick" => o.sizes = vec![100, 1_000, 10_000],
            "--keep" => o.keep = true,
            "--sizes" if i + 1 < args.len() => {
                i += 1;
                o.sizes = args[i]
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse::<u64>())
                    .collect::<Result<_, _>>()?;
            }
            other => anyhow::bail!("unknown argument {other} (--quick, --keep, --sizes N,M)"),
        }
        i += 1;
    }
    ensure!(o.sizes.iter().all(|n| *n > 0), "sizes must be positive");
    Ok(o)
}

fn run_size(dir: &Path, ws: &Path, bin: &Path, n: u64) -> Result<Vec<String>> {
    let root = dir.join(format!("zones-{n}"));
    eprintln!(
        "  {n} zones: building the steady state in {}",
        root.display()
    );
    let p = steady::build(&root, ws, n)?;
    let size = std::fs::metadata(&p.pristine)?.len();
    eprintln!(
        "    built in {} (+ {} writing {n} signconfs): {} records, {:.1} MB, clock {}",
        fmt_d(p.build),
        fmt_d(p.signconf),
        p.head.0 + 1,
        size as f64 / 1e6,
        p.now
    );
    let snapshot = kasp_events::codec::encode_value(&p.state)?.len();
    eprintln!("    state snapshot: {:.1} MB", snapshot as f64 / 1e6);
    let t = measure(&p, bin, n)?;
    Ok(rows(n, &t))
}

fn main() -> Result<()> {
    let o = options()?;
    // SAFETY: no other thread exists yet; the signconf writes of the build (this
    // process) and the measured `ods-enforcer` runs (children) read it.
    unsafe { std::env::set_var("KASP_SIGNER_COMMAND", "/bin/true") };
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = enforcer_binary()?;
    let unique = format!(
        "kasp-enforce-bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    );
    let dir = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir)?;
    eprintln!("kasp-enforce-bench in {}", dir.display());
    let t = Instant::now();
    let mut table = Vec::new();
    let mut result = Ok(());
    for &n in &o.sizes {
        match run_size(&dir, &ws, &bin, n) {
            Ok(rows) => table.extend(rows),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
        if !o.keep {
            let _ = std::fs::remove_dir_all(dir.join(format!("zones-{n}")));
        }
    }
    if o.keep {
        eprintln!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result?;
    eprintln!("total {}", fmt_d(t.elapsed()));
    println!(
        "| measurement | zones | time | zones/s | per zone | vs OpenDNSSEC 2.1.12 (11 ms/zone) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for r in table {
        println!("{r}");
    }
    Ok(())
}
