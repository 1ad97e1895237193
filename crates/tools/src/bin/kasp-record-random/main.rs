//! `kasp-record-random`: records a long seeded random run as a history for
//! `fixtures/histories/` (see `kasp_tools::recorded` and fixtures/histories/README.md).
//!
//! ```text
//! kasp-record-random [--seed N] [--zones N] [--years N] <FILE.redb>
//! ```
//!
//! It makes a sandbox (conf.xml, a kasp.xml with RSA, ECDSA, CSK and shared-key
//! policies, a SoftHSM2 token, a log on a simulated clock from 2025-01-01) and plays an
//! operator for `--years` simulated years with `ods-enforcer`'s own command code, run
//! in-process (`kasp_cli::client::run`, exactly what the binary runs): zones added in
//! waves, the clock leapt from task to task, DS seen and gone at the parent a random
//! while after the enforcer asks, manual rollovers, zones moved to other policies and
//! deleted, the policies changed once mid-run, a forced resalt now and then. The seed
//! drives the operator only; key material and salts are random as in production. The
//! finished log is copied to FILE.redb with its inputs at FILE.inputs; existing files are
//! never overwritten.
//!
//! Exit codes: 0 recorded; 2 usage, or the history exists; 3 the sandbox, a command or
//! the recording failed.

mod driver;
mod sandbox;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: kasp-record-random [--seed N] [--zones N] [--years N] <FILE.redb>";

/// The run's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub seed: u64,
    pub zones: u32,
    pub years: u32,
    pub out: PathBuf,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    // The second stage runs inside the sandbox, with SOFTHSM2_CONF set for it.
    if argv.first().map(String::as_str) == Some("--in-sandbox") {
        return match parse(&argv[2..]).and_then(|s| {
            let dir = PathBuf::from(argv.get(1).cloned().unwrap_or_default());
            driver::drive(&s, &dir)
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kasp-record-random: {e}");
                ExitCode::from(3)
            }
        };
    }
    let settings = match parse(&argv) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kasp-record-random: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    for p in [
        settings.out.clone(),
        kasp_tools::recorded::inputs_path(&settings.out),
    ] {
        if p.exists() {
            eprintln!(
                "kasp-record-random: {} exists: recorded histories are never regenerated",
                p.display()
            );
            return ExitCode::from(2);
        }
    }
    match sandbox::record(&settings, &argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kasp-record-random: {e}");
            ExitCode::from(3)
        }
    }
}

fn parse(argv: &[String]) -> Result<Settings, String> {
    let mut s = Settings {
        seed: 1,
        zones: 24,
        years: 4,
        out: PathBuf::new(),
    };
    let mut out = None;
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or_else(|| format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name}: '{v}' is no number"))
        };
        match a.as_str() {
            "--seed" => s.seed = num("--seed")?,
            "--zones" => s.zones = u32::try_from(num("--zones")?).map_err(|e| e.to_string())?,
            "--years" => s.years = u32::try_from(num("--years")?).map_err(|e| e.to_string())?,
            o if o.starts_with('-') => return Err(format!("unknown option {o}")),
            _ if out.is_none() => out = Some(PathBuf::from(a)),
            _ => return Err("one output file only".to_string()),
        }
    }
    s.out = out.ok_or("no output file")?;
    if !(1..=200).contains(&s.zones) || !(1..=10).contains(&s.years) {
        return Err("--zones must be 1..200 and --years 1..10".to_string());
    }
    Ok(s)
}
