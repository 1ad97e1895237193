//! `kasp-fuzz`: the differential fuzzer's Rust half (scripts/fuzz drives it).
//!
//! ```text
//! kasp-fuzz generate --seed N <dir>
//!     writes <dir>/scenario.scn and its kasp files (kasp.xml, kasp2.xml when the
//!     scenario imports a changed one): a random valid policy set and operator scenario,
//!     the same for the same seed everywhere
//! kasp-fuzz classify <ods-trace.txt> <ours-trace.txt>
//!     prints `identical`, or the class of the first difference (e.g. `TASK order @leap`)
//!     then the step and both lines; then, when it is another one, `beyond run order:
//!     <class>`: the first difference once the order in which zones due at the same
//!     second run is set aside (each step's queue, `queue` output, signer and DS calls
//!     sorted by time and zone); exit 0 identical, 1 different, 2 usage or I/O
//! kasp-fuzz minimize --runner PATH [--max-runs N] [--class C] [--beyond-run-order]
//!                    <case-dir> <out-dir>
//!     delta-debugs <case-dir>/scenario.scn to the shortest scenario whose first
//!     difference keeps its class (with --beyond-run-order: the class beyond run order);
//!     PATH is run as `PATH pair <scenario.scn> <outdir>` (scripts/fuzz); writes
//!     <out-dir>/scenario.scn, its kasp files and difference.txt
//! ```
//!
//! The modules: `policy` (kasp.xml), `scenario` (operator steps), `classify` (the first
//! difference of two traces and its class), `minimize` (delta debugging), `rng`.

mod classify;
mod minimize;
mod policy;
mod rng;
mod scenario;

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: kasp-fuzz generate --seed N <dir>\n       \
                     kasp-fuzz classify <ods-trace.txt> <ours-trace.txt>\n       \
                     kasp-fuzz minimize --runner PATH [--max-runs N] [--class C] \
                     [--beyond-run-order] <case-dir> <out-dir>";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = match argv.first().map(String::as_str) {
        Some("generate") => generate(&argv[1..]),
        Some("classify") => classify(&argv[1..]),
        Some("minimize") => minimize(&argv[1..]),
        Some("--help" | "-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("kasp-fuzz: {e}");
            ExitCode::from(2)
        }
    }
}

/// Options as (`--name`, value) pairs, then the positional arguments.
type Args = (Vec<(String, String)>, Vec<String>);

/// Options (`--name value`) and positional arguments.
fn split_args(args: &[String], options: &[&str]) -> Result<Args, String> {
    let mut opts = Vec::new();
    let mut pos = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a.starts_with("--") {
            if !options.contains(&a.as_str()) {
                return Err(format!("unknown option {a}\n{USAGE}"));
            }
            let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
            opts.push((a.clone(), v.clone()));
        } else {
            pos.push(a.clone());
        }
    }
    Ok((opts, pos))
}

fn option<'a>(opts: &'a [(String, String)], name: &str) -> Option<&'a str> {
    opts.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn generate(args: &[String]) -> Result<u8, String> {
    let (opts, pos) = split_args(args, &["--seed"])?;
    let seed: u64 = option(&opts, "--seed")
        .ok_or("generate needs --seed N")?
        .parse()
        .map_err(|_| "--seed: not a number".to_string())?;
    let [dir] = pos.as_slice() else {
        return Err(USAGE.to_string());
    };
    let dir = PathBuf::from(dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let case = scenario::generate(seed);
    let write = |name: &str, text: &str| {
        fs::write(dir.join(name), text).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    write("scenario.scn", &case.scenario)?;
    for (name, text) in &case.files {
        write(name, text)?;
    }
    Ok(0)
}

fn classify(args: &[String]) -> Result<u8, String> {
    let [a, b] = args else {
        return Err(USAGE.to_string());
    };
    let read = |p: &str| fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let (a, b) = (read(a)?, read(b)?);
    let beyond = classify::first_difference_beyond_run_order(&a, &b);
    match classify::first_difference(&a, &b) {
        None => {
            println!("identical");
            Ok(0)
        }
        Some(d) => {
            println!("{}", d.class);
            println!("after: {}", d.step);
            println!("- {}", d.ods.as_deref().unwrap_or("(trace ends)"));
            println!("+ {}", d.ours.as_deref().unwrap_or("(trace ends)"));
            match beyond {
                None => println!("beyond run order: identical"),
                Some(e) if e == d => {}
                Some(e) => {
                    println!("beyond run order: {}", e.class);
                    println!("after: {}", e.step);
                    println!("- {}", e.ods.as_deref().unwrap_or("(trace ends)"));
                    println!("+ {}", e.ours.as_deref().unwrap_or("(trace ends)"));
                }
            }
            Ok(1)
        }
    }
}

fn minimize(args: &[String]) -> Result<u8, String> {
    let beyond_run_order = args.iter().any(|a| a == "--beyond-run-order");
    let args: Vec<String> = args
        .iter()
        .filter(|a| *a != "--beyond-run-order")
        .cloned()
        .collect();
    let (opts, pos) = split_args(&args, &["--runner", "--max-runs", "--class"])?;
    let [case, out] = pos.as_slice() else {
        return Err(USAGE.to_string());
    };
    let m = minimize::Minimizer {
        runner: PathBuf::from(option(&opts, "--runner").ok_or("minimize needs --runner PATH")?),
        case: PathBuf::from(case),
        out: PathBuf::from(out),
        max_runs: match option(&opts, "--max-runs") {
            Some(v) => v
                .parse()
                .map_err(|_| "--max-runs: not a number".to_string())?,
            None => 40,
        },
        class: option(&opts, "--class").map(str::to_string),
        beyond_run_order,
    };
    let (class, lines) = minimize::run(&m)?;
    println!("{class}\t{lines}");
    Ok(0)
}
