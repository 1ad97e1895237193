//! `kasp-import-bench`: `setup --import-ods` of a 10,000-zone OpenDNSSEC 2.1 database.
//!
//! Run: `cargo run --release --locked -p kasp-tools --bin kasp-import-bench` (options:
//! `--zones N` for the large database, default 10,000; `--e2e-zones M` for the one
//! imported end to end with its keys on the token, default 500; `--sample K` keys per
//! algorithm for the token's speed, default 200; `--runs R`, default 3; `--fixture DIR`,
//! default fixtures/ods-import/06-several-zones; `--keep` keeps the work directory).
//! It works in a directory under the system temp dir and prints Markdown tables.
//!
//! The databases are synthesized from a real OpenDNSSEC 2.1.12 installation (synth.rs:
//! the fixture's zones and their keys copied with new ids, names and locators). Then:
//!
//! 1. the large database's import in-process, phase by phase (phases.rs): read, zone
//!    list check, key-material checks with the token's answers from memory, genesis,
//!    log creation, first fold — median of R runs, each into a new log;
//! 2. `ods-enforcer key list` and `zone list` (the real release binary) on the log of the
//!    last run;
//! 3. the token's speed at the import's question (token.rs `sample`): the public keys of
//!    K ECDSA and K RSA keys read from a token of the bench's own, per key, and the time
//!    projected for the large database's HSM keys;
//! 4. a smaller database whose HSM keys all exist on the token (copies of the fixture's
//!    key pairs, token.rs `copy_keys`): its key-material checks against the real token
//!    in-process, then `ods-enforcer setup --import-ods --simulated-time T` end to end
//!    (process start, conf.xml, read, every check with the HSM, genesis, log), and
//!    `key list` after it;
//! 5. the real OpenDNSSEC 2.1.12 on the large database (opendnssec.rs): `ods-enforcerd`
//!    started on it, until it answers, its `zone list` and `key list`, and until its
//!    start-up enforce of every zone is done (`--ods-timeout S`, default 900;
//!    `--no-opendnssec` leaves it out).

mod opendnssec;
mod phases;
mod remembered;
mod synth;
mod token;

use anyhow::{Context as _, Result, ensure};
use kasp_engine::ods_import::read_key_material;
use kasp_tools::benchkit::{enforcer_binary, fmt_d, fmt_n, run_enforcer};
use phases::Phases;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Options {
    zones: u64,
    e2e_zones: u64,
    sample: usize,
    runs: usize,
    fixture: PathBuf,
    keep: bool,
    opendnssec: bool,
    ods_timeout: Duration,
}

fn options() -> Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut o = Options {
        zones: 10_000,
        e2e_zones: 500,
        sample: 200,
        runs: 3,
        fixture: root.join("fixtures/ods-import/06-several-zones"),
        keep: false,
        opendnssec: true,
        ods_timeout: Duration::from_secs(900),
    };
    let mut i = 0;
    let number = |s: &str| s.replace([',', '_'], "").parse::<u64>();
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--keep" => {
                o.keep = true;
                i += 1;
                continue;
            }
            "--no-opendnssec" => {
                o.opendnssec = false;
                i += 1;
                continue;
            }
            "--ods-timeout" => o.ods_timeout = Duration::from_secs(number(&value)?),
            "--zones" => o.zones = number(&value)?,
            "--e2e-zones" => o.e2e_zones = number(&value)?,
            "--sample" => o.sample = number(&value)? as usize,
            "--runs" => o.runs = number(&value)? as usize,
            "--fixture" => o.fixture = PathBuf::from(value),
            other => anyhow::bail!(
                "unknown argument {other} (--zones N, --e2e-zones M, --sample K, --runs R, \
                 --fixture DIR, --keep, --no-opendnssec, --ods-timeout S)"
            ),
        }
        i += 2;
    }
    ensure!(
        o.zones > 0 && o.e2e_zones > 0 && o.sample > 0 && o.runs > 0,
        "sizes must be positive"
    );
    Ok(o)
}

/// The fixture's HSM keys' algorithms, by locator.
fn algorithms(fixture: &Path) -> Result<BTreeMap<String, u8>> {
    let db = rusqlite::Connection::open_with_flags(
        fixture.join("enforcer/kasp.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut st = db.prepare("SELECT locator, algorithm FROM hsmKey")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Synthesizes an installation of `zones` zones in `dir`, its SoftHSM2 conf the run's.
fn installation(
    o: &Options,
    dir: &Path,
    zones: u64,
    hsm_conf: &Path,
) -> Result<synth::Installation> {
    let t = Instant::now();
    let inst = synth::synthesize(&o.fixture, dir, zones)?;
    std::fs::copy(hsm_conf, dir.join("softhsm2.conf"))?;
    eprintln!(
        "  {} zones, {} zone keys, {} HSM keys synthesized in {} ({})",
        fmt_n(inst.zones),
        fmt_n(inst.zone_keys),
        fmt_n(inst.hsm_keys),
        fmt_d(t.elapsed()),
        dir.display()
    );
    Ok(inst)
}

fn per(d: Duration, n: u64) -> String {
    let us = d.as_secs_f64() / n as f64 * 1e6;
    if us >= 100.0 {
        format!("{us:.0} µs")
    } else {
        format!("{us:.1} µs")
    }
}

fn main() -> Result<()> {
    let o = options()?;
    let work = std::env::temp_dir().join(format!("kasp-import-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let result = run(&o, &work);
    if o.keep {
        eprintln!("kept {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    result
}

fn run(o: &Options, work: &Path) -> Result<()> {
    let hsm_conf = token::prepare(work, &o.fixture)?;
    let bin = enforcer_binary()?;
    let algorithms = algorithms(&o.fixture)?;

    eprintln!("large database:");
    let big = installation(o, &work.join("large"), o.zones, &hsm_conf)?;
    let originals = token::fixture_public_keys(&big.locators, &algorithms)?;
    let public_keys: HashMap<String, Vec<u8>> = big
        .locators
        .iter()
        .map(|(l, original)| (l.clone(), originals[original].clone()))
        .collect();
    let mut runs = Vec::new();
    let log = big.dir.join("enforcer/events.redb");
    for i in 0..o.runs {
        let scratch = big.dir.join(format!("enforcer/run-{i}.redb"));
        let p = phases::run(&big, &public_keys, &scratch)?;
        eprintln!("    run {i}: {p:?}, total {}", fmt_d(p.total()));
        std::fs::remove_file(&scratch)?;
        runs.push(p);
    }
    let phases = Phases::median(&runs);
    let last = phases::run(&big, &public_keys, &log)?;
    let key_list = run_enforcer(&bin, &big.conf, &["key", "list"], true)?;
    let zone_list = run_enforcer(&bin, &big.conf, &["zone", "list"], true)?;
    eprintln!("    key list {key_list:?}, zone list {zone_list:?} (import {last:?})");

    eprintln!("token sample: {} keys per algorithm", o.sample);
    let sample = token::sample(o.sample)?;
    eprintln!("    {sample:?}");

    eprintln!("end to end:");
    let small = installation(o, &work.join("e2e"), o.e2e_zones, &hsm_conf)?;
    let t = Instant::now();
    let copied = token::copy_keys(&small.locators)?;
    let objects = token::fixture_token_objects(work, &o.fixture)?;
    eprintln!(
        "    {copied} token objects copied in {}, {objects} on the token",
        fmt_d(t.elapsed())
    );
    let snapshot = kasp_ods_database::read(&small.database, &Default::default())?;
    let mut store = token::store(token::FIXTURE_LABEL)?;
    let t = Instant::now();
    let material = read_key_material(&snapshot, "SoftHSM", &mut store, &Default::default());
    let checks_on_token = t.elapsed();
    drop(store);
    ensure!(
        material.problems.is_empty(),
        "checks on the token: {:?}",
        material.problems.first()
    );
    let read_keys = material.public_keys.len() as u64;
    let setup_args = [
        "setup",
        "--import-ods",
        "--simulated-time",
        &small.simulated_time.to_string(),
    ];
    let setup = run_enforcer(&bin, &small.conf, &setup_args, false)
        .context("ods-enforcer setup --import-ods")?;
    let e2e_key_list = run_enforcer(&bin, &small.conf, &["key", "list"], true)?;
    eprintln!(
        "    checks on the token {checks_on_token:?}, setup {setup:?}, key list {e2e_key_list:?}"
    );

    let ods = match opendnssec::unavailable() {
        _ if !o.opendnssec => Err("left out (--no-opendnssec)".to_string()),
        Some(why) => Err(why),
        None => {
            eprintln!("OpenDNSSEC 2.1.12 on the large database:");
            let times = opendnssec::run(&big.dir, big.simulated_time, o.ods_timeout)
                .map_err(|e| format!("{e:#}"));
            eprintln!("    {times:?}");
            times
        }
    };

    report(
        o,
        &big,
        &phases,
        key_list,
        zone_list,
        &sample,
        &small,
        Token {
            checks: checks_on_token,
            keys: read_keys,
            objects,
        },
        setup,
        e2e_key_list,
    );
    report_opendnssec(&big, &ods);
    Ok(())
}

fn report_opendnssec(big: &synth::Installation, ods: &Result<opendnssec::Times, String>) {
    println!(
        "\n### OpenDNSSEC 2.1.12 on the {}-zone database\n",
        fmt_n(big.zones)
    );
    let t = match ods {
        Ok(t) => t,
        Err(why) => {
            println!("Not measured: {why}.");
            return;
        }
    };
    println!(
        "| `ods-enforcerd -d --set-time {}` | time |",
        big.simulated_time
    );
    println!("|---|---:|");
    println!(
        "| start until its socket answers `queue` | {} |",
        fmt_d(t.up)
    );
    println!(
        "| `ods-enforcer zone list` ({} lines) | {} |",
        fmt_n(t.zone_list.1 as u64),
        fmt_d(t.zone_list.0)
    );
    println!(
        "| `ods-enforcer key list` ({} lines) | {} |",
        fmt_n(t.key_list.1 as u64),
        fmt_d(t.key_list.0)
    );
    match t.idle {
        Some(d) => println!(
            "| start until idle (start-up enforce of every zone done) | {} |",
            fmt_d(d)
        ),
        None => println!("| start until idle | not idle within the timeout |"),
    }
}

/// The key-material checks of the end-to-end database against its token.
struct Token {
    checks: Duration,
    keys: u64,
    /// Key objects on the token.
    objects: u64,
}

#[allow(clippy::too_many_arguments)]
fn report(
    o: &Options,
    big: &synth::Installation,
    p: &Phases,
    key_list: Duration,
    zone_list: Duration,
    sample: &token::Sample,
    small: &synth::Installation,
    on_token: Token,
    setup: Duration,
    e2e_key_list: Duration,
) {
    let n = big.zones;
    println!(
        "\n### {} zones ({} zone keys, {} HSM keys), in-process, median of {} runs\n",
        fmt_n(n),
        fmt_n(big.zone_keys),
        fmt_n(big.hsm_keys),
        o.runs
    );
    println!("| phase | time | per zone |");
    println!("|---|---:|---:|");
    for (what, d) in [
        ("read the database (`kasp_ods_database::read`)", p.read),
        ("zones.xml parsed and compared", p.zone_list),
        ("key-material checks, public keys from memory", p.key_checks),
        ("genesis events (`genesis`)", p.genesis),
        ("log created (`create_with_genesis`)", p.create),
        ("first open + fold of the new log", p.fold),
    ] {
        println!("| {what} | {} | {} |", fmt_d(d), per(d, n));
    }
    println!(
        "| **total, without the token** | **{}** | {} |",
        fmt_d(p.total()),
        per(p.total(), n)
    );
    println!(
        "| `ods-enforcer key list` afterwards (process) | {} | — |",
        fmt_d(key_list)
    );
    println!(
        "| `ods-enforcer zone list` afterwards (process) | {} | — |",
        fmt_d(zone_list)
    );
    let Token {
        checks: checks_on_token,
        keys: read_keys,
        objects,
    } = on_token;
    let half = sample.keys / 2;
    println!("\n### The token (SoftHSM2)\n");
    println!("| measurement | keys | time | per key |");
    println!("|---|---:|---:|---:|");
    for (i, what) in ["ECDSA P-256", "RSA-1024"].iter().enumerate() {
        println!(
            "| `public_key`, sample token, a token search per key, {what} | {} | {} | {} |",
            fmt_n(half),
            fmt_d(sample.searched[i]),
            per(sample.searched[i], half)
        );
    }
    println!(
        "| `list` of the sample token (one scan) | {} | {} | — |",
        fmt_n(sample.keys),
        fmt_d(sample.list)
    );
    for (i, what) in ["ECDSA P-256", "RSA-1024"].iter().enumerate() {
        println!(
            "| `public_key`, sample token, after `list`, {what} | {} | {} | {} |",
            fmt_n(half),
            fmt_d(sample.listed[i]),
            per(sample.listed[i], half)
        );
    }
    let after_list = sample.list + sample.listed[0] + sample.listed[1];
    let projected = after_list / sample.keys as u32 * big.hsm_keys as u32;
    let on_e2e = checks_on_token / read_keys.max(1) as u32;
    println!(
        "| key-material checks of the {}-zone database on its token ({} objects) | {} | {} | {} |",
        fmt_n(small.zones),
        fmt_n(objects),
        fmt_n(read_keys),
        fmt_d(checks_on_token),
        per(checks_on_token, read_keys)
    );
    println!(
        "| projected for the {}-zone database at the sample token's speed (list + reads) | {} | {} | — |",
        fmt_n(n),
        fmt_n(big.hsm_keys),
        fmt_d(projected)
    );
    println!(
        "| projected at the {}-zone token's speed | {} | {} | — |",
        fmt_n(small.zones),
        fmt_n(big.hsm_keys),
        fmt_d(on_e2e * big.hsm_keys as u32)
    );
    println!(
        "\n### End to end, {} zones, every HSM key on the token\n",
        fmt_n(small.zones)
    );
    println!("| command | time |");
    println!("|---|---:|");
    println!(
        "| `ods-enforcer setup --import-ods --simulated-time {}` | {} |",
        small.simulated_time,
        fmt_d(setup)
    );
    println!(
        "| `ods-enforcer key list` afterwards | {} |",
        fmt_d(e2e_key_list)
    );
}
