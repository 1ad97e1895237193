//! `kasp-scenario`: runs one conformance scenario (shared/conformance/README.md, the
//! scenario language) with this project's `ods-enforcer` in a fresh sandbox, writes the
//! raw captures `<outdir>/raw/NNN/`, `<outdir>/meta.tsv` and `steps.tsv`, then
//! `<outdir>/trace.txt` and `trace-cli.txt` with `normalize.py trace <outdir>`.
//!
//! Usually started by `scripts/run-scenario <scenario.scn> <outdir>`:
//!
//! ```text
//! kasp-scenario [--enforcer PATH] [--daemon PATH] [--normalize PATH] [--start EPOCH]
//!               [--record FILE.redb] <scenario.scn> <outdir>
//! ```
//!
//! `--enforcer` defaults to the `ods-enforcer` next to this binary, `--daemon` (the
//! program `restart-at` runs, with ods-enforcerd's options, see runner.rs; needed only
//! by scenarios with a `restart-at` step) to the `ods-enforcerd` next to it, `--normalize` to the
//! repository's fixtures/conformance/normalize.py, `--start` to 1735689600
//! (2025-01-01T00:00:00Z). With `KASP_KEEP_SANDBOX=1` the sandbox is kept (its path is
//! printed). Earlier results in `<outdir>` (raw/, signconf/, zonelist/, the traces) are
//! replaced. `--record` keeps the finished event log as a recorded history
//! (`fixtures/histories/`, see `kasp_tools::recorded`): a copy at FILE.redb and its
//! inputs at FILE.inputs; it refuses to overwrite either.
//!
//! Exit codes: 0 the scenario ran as written; 1 it ran, but some steps could not run as
//! written (listed on stderr; the traces are still written); 2 usage error or bad
//! scenario (`file:line: …`); 3 the sandbox, an I/O operation or normalize.py failed.

mod capture;
mod ids;
mod runner;
mod sandbox;
mod zones;

use anyhow::Context as _;
use kasp_tools::scenario::{self, Scenario, Step};
use runner::{Runner, ScenarioFile};
use sandbox::{Sandbox, Spec};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: kasp-scenario [--enforcer PATH] [--daemon PATH] [--normalize PATH] \
                     [--start EPOCH] [--record FILE.redb] <scenario.scn> <outdir>";
/// 2025-01-01T00:00:00Z, the conformance suite's start.
const DEFAULT_START: i64 = 1_735_689_600;

/// Why the runner itself failed, with its exit code.
#[derive(Debug)]
struct Fail {
    code: u8,
    msg: String,
}

impl Fail {
    fn usage(msg: impl Into<String>) -> Fail {
        Fail {
            code: 2,
            msg: msg.into(),
        }
    }
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Fail {
        Fail {
            code: 3,
            msg: format!("{e:#}"),
        }
    }
}

#[derive(Debug, Clone)]
struct Args {
    enforcer: PathBuf,
    daemon: PathBuf,
    normalize: PathBuf,
    start: i64,
    record: Option<PathBuf>,
    scenario: PathBuf,
    outdir: PathBuf,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match parse_args(argv).and_then(|a| run(&a)) {
        Ok(problems) if problems.is_empty() => ExitCode::SUCCESS,
        Ok(problems) => {
            eprintln!(
                "kasp-scenario: {} step(s) could not run as written (see above); traces written",
                problems.len()
            );
            ExitCode::from(1)
        }
        Err(f) => {
            eprintln!("kasp-scenario: {}", f.msg);
            ExitCode::from(f.code)
        }
    }
}

fn parse_args(argv: Vec<String>) -> Result<Args, Fail> {
    let mut enforcer = None;
    let mut daemon = None;
    let mut normalize = None;
    let mut start = DEFAULT_START;
    let mut record = None;
    let mut positional = Vec::new();
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| Fail::usage(format!("{name} needs a value\n{USAGE}")))
        };
        match a.as_str() {
            "--enforcer" => enforcer = Some(PathBuf::from(value("--enforcer")?)),
            "--daemon" => daemon = Some(PathBuf::from(value("--daemon")?)),
            "--normalize" => normalize = Some(PathBuf::from(value("--normalize")?)),
            "--record" => record = Some(PathBuf::from(value("--record")?)),
            "--start" => {
                let v = value("--start")?;
                start = v
                    .parse()
                    .map_err(|_| Fail::usage(format!("--start: '{v}' is no epoch time")))?;
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(Fail::usage(format!("unknown option {s}\n{USAGE}")));
            }
            _ => positional.push(PathBuf::from(a)),
        }
    }
    let [scenario, outdir]: [PathBuf; 2] = positional.try_into().map_err(|_| Fail::usage(USAGE))?;
    // Absolute: ods-enforcer runs with the sandbox as its working directory.
    let enforcer = enforcer.unwrap_or_else(|| next_to_this_binary("ods-enforcer"));
    let enforcer = std::path::absolute(&enforcer).unwrap_or(enforcer);
    let daemon = daemon.unwrap_or_else(|| next_to_this_binary("ods-enforcerd"));
    let daemon = std::path::absolute(&daemon).unwrap_or(daemon);
    Ok(Args {
        enforcer,
        daemon,
        normalize: normalize.unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conformance/normalize.py")
        }),
        start,
        record,
        scenario,
        outdir,
    })
}

/// The program `name` next to this binary.
fn next_to_this_binary(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The whole run; returns the problems of steps that could not run as written.
fn run(args: &Args) -> Result<Vec<String>, Fail> {
    let file = read_scenario(&args.scenario)?;
    let sc = scenario::parse(&file.text, &file.name).map_err(|e| Fail::usage(e.to_string()))?;
    let kasp = check_scenario(&file, &sc)?;
    if !args.enforcer.is_file() {
        return Err(Fail::usage(format!(
            "no ods-enforcer at {}",
            args.enforcer.display()
        )));
    }
    let restarts = sc.installation.is_some()
        || sc
            .steps
            .iter()
            .any(|(_, s)| matches!(s, Step::RestartAt(_)));
    if restarts && !args.daemon.is_file() {
        return Err(Fail::usage(format!(
            "no ods-enforcerd at {} (restart-at runs it; --daemon names another)",
            args.daemon.display()
        )));
    }
    if !args.normalize.is_file() {
        return Err(Fail::usage(format!(
            "no normalize.py at {}",
            args.normalize.display()
        )));
    }
    if let Some(to) = &args.record
        && (to.exists() || kasp_tools::recorded::inputs_path(to).exists())
    {
        return Err(Fail::usage(format!(
            "--record: {} exists: recorded histories are never regenerated",
            to.display()
        )));
    }
    prepare_outdir(&args.outdir)?;
    let installation = sc.installation.as_ref().map(|d| file.dir.join(d));
    let start = match &installation {
        Some(dir) => sandbox::installation_time(dir).map_err(|e| Fail::usage(format!("{e:#}")))?,
        None => args.start,
    };
    let args = &Args {
        start,
        ..args.clone()
    };
    let sb = Sandbox::create(&Spec {
        enforcer: &args.enforcer,
        kasp: &kasp,
        conf: &sc.conf,
        conf_remove: &sc.conf_remove,
        require_backup: sc.require_backup,
        start: args.start,
        installation: installation.as_deref(),
        keep: std::env::var_os("KASP_KEEP_SANDBOX").is_some_and(|v| v == "1"),
    })?;
    write_meta(args, &file, &sc, &kasp, &sb)?;
    let rec = capture::Recorder::new(&args.outdir, args.start)?;
    let (rec, problems) = Runner::new(&sb, &args.daemon, rec, &file, args.start)
        .starting_an_installation(installation.is_some())
        .run(&sc.steps)?;
    fs::write(args.outdir.join("steps.tsv"), rec.steps_tsv()).context("cannot write steps.tsv")?;
    for log in ["signer-calls.log", "ds-calls.log"] {
        fs::write(
            args.outdir.join(log),
            fs::read(sb.path(log)).unwrap_or_default(),
        )
        .with_context(|| format!("cannot write {log}"))?;
    }
    normalize(&args.normalize, &args.outdir, sb.root())?;
    if let Some(to) = &args.record {
        record_history(&sb, &file.name, to)?;
    }
    Ok(problems)
}

/// `--record`: the sandbox's finished log becomes a recorded history.
fn record_history(sb: &Sandbox, source: &str, to: &Path) -> Result<(), Fail> {
    let conf = kasp_engine::config::load(&sb.path("conf.xml")).map_err(|f| Fail {
        code: 3,
        msg: format!("--record: {}", f.message),
    })?;
    let log = sb.path("enforcer/events.redb");
    let conf = kasp_projector::scheduler::plan::PlanConf::from_conf(&conf);
    let head = kasp_tools::recorded::record(&log, to, source, conf).map_err(|msg| Fail {
        code: 3,
        msg: format!("--record: {msg}"),
    })?;
    eprintln!(
        "kasp-scenario: recorded {} (head {} {})",
        to.display(),
        head.seq,
        head.hash
    );
    Ok(())
}

fn read_scenario(path: &Path) -> Result<ScenarioFile, Fail> {
    let name = path.display().to_string();
    let text = fs::read_to_string(path)
        .map_err(|e| Fail::usage(format!("cannot read scenario {name}: {e}")))?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(ScenarioFile { name, dir, text })
}

/// Checks what the parser leaves to the runner: the `#@kasp` file and the files of
/// `kasp`/`zonelist-file` steps exist, `#@conf` names are element names. Returns the
/// kasp.xml path.
fn check_scenario(file: &ScenarioFile, sc: &Scenario) -> Result<PathBuf, Fail> {
    let at = |prefix: &str| {
        let line = file
            .text
            .lines()
            .position(|l| l.trim_start().starts_with(prefix))
            .map_or(0, |i| i + 1);
        format!("{}:{line}", file.name)
    };
    if let Some(dir) = &sc.installation {
        let path = file.dir.join(dir);
        if !path.join("meta.txt").is_file() || !path.join("enforcer/kasp.db").is_file() {
            return Err(Fail::usage(format!(
                "{}: #@installation {dir}: {} is not a captured installation (no meta.txt or \
                 enforcer/kasp.db; fixtures/ods-import/README.md)",
                at("#@installation"),
                path.display()
            )));
        }
        if sc.kasp.is_some() || !sc.conf_remove.is_empty() || sc.require_backup {
            return Err(Fail::usage(format!(
                "{}: a scenario from an installation takes its kasp.xml and conf.xml from it \
                 (no #@kasp, #@conf-remove or #@require-backup; #@conf changes its conf.xml)",
                file.name
            )));
        }
        return Ok(path.join("kasp.xml"));
    }
    let Some(kasp) = &sc.kasp else {
        return Err(Fail::usage(format!(
            "{}: no '#@kasp <file>' line names the scenario's kasp.xml",
            file.name
        )));
    };
    let kasp_path = file.dir.join(kasp);
    if !kasp_path.is_file() {
        return Err(Fail::usage(format!(
            "{}: #@kasp {kasp}: no such file {}",
            at("#@kasp"),
            kasp_path.display()
        )));
    }
    for (name, _) in &sc.conf {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(Fail::usage(format!(
                "{}: #@conf {name}: not an element name",
                at(&format!("#@conf {name}"))
            )));
        }
    }
    for name in &sc.conf_remove {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(Fail::usage(format!(
                "{}: #@conf-remove {name}: not an element name",
                at(&format!("#@conf-remove {name}"))
            )));
        }
    }
    for (line, step) in &sc.steps {
        if let Step::Kasp(f) | Step::ZonelistFile(f) = step
            && !file.dir.join(f).is_file()
        {
            return Err(Fail::usage(format!(
                "{}:{line}: no such file {}",
                file.name,
                file.dir.join(f).display()
            )));
        }
    }
    Ok(kasp_path)
}

/// Creates `outdir` and removes what an earlier run wrote into it.
fn prepare_outdir(outdir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(outdir).with_context(|| format!("cannot create {}", outdir.display()))?;
    for d in ["raw", "signconf", "zonelist"] {
        let p = outdir.join(d);
        if p.is_dir() {
            fs::remove_dir_all(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    for f in [
        "trace.txt",
        "trace-cli.txt",
        "trace.json",
        "meta.tsv",
        "steps.tsv",
    ] {
        let p = outdir.join(f);
        if p.is_file() {
            fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    Ok(())
}

/// meta.tsv (what normalize.py reads: `start`, `scenario`, `kasp`, `version`,
/// `trace_hsm`), plus copies of the scenario and its kasp.xml.
fn write_meta(
    args: &Args,
    file: &ScenarioFile,
    sc: &Scenario,
    kasp: &Path,
    sb: &Sandbox,
) -> anyhow::Result<()> {
    let name = args
        .scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut meta = format!(
        "name\t{name}\nscenario\t{}\nkasp\t{}\nstart\t{}\nworkers\t1\nversion\t{}\n",
        file.name,
        kasp.display(),
        args.start,
        sb.version()
    );
    if !sc.conf.is_empty() {
        let conf: Vec<String> = sc
            .conf
            .iter()
            .map(|(n, v)| v.as_ref().map_or(n.clone(), |v| format!("{n}={v}")))
            .collect();
        meta.push_str(&format!("conf\t{}\n", conf.join(" ")));
    }
    if sc.require_backup {
        meta.push_str("require_backup\t1\n");
    }
    if !sc.conf_remove.is_empty() {
        meta.push_str(&format!("conf_remove\t{}\n", sc.conf_remove.join(" ")));
    }
    if sc.trace_hsm {
        meta.push_str("trace_hsm\t1\n");
    }
    if let Some(dir) = &sc.installation {
        meta.push_str(&format!("installation\t{dir}\n"));
    }
    fs::write(args.outdir.join("meta.tsv"), meta).context("cannot write meta.tsv")?;
    fs::write(args.outdir.join("scenario.scn"), &file.text).context("cannot write scenario.scn")?;
    fs::copy(kasp, args.outdir.join("kasp.xml")).context("cannot copy kasp.xml")?;
    Ok(())
}

/// `python3 normalize.py trace <outdir>` with `ODS_ORACLE_SB` = the sandbox path.
fn normalize(script: &Path, outdir: &Path, sandbox: &Path) -> anyhow::Result<()> {
    let status = Command::new("python3")
        .arg(script)
        .arg("trace")
        .arg(outdir)
        .env("ODS_ORACLE_SB", sandbox)
        .status()
        .context("cannot run python3 (needed for normalize.py)")?;
    if !status.success() {
        anyhow::bail!(
            "{} trace {} failed ({status})",
            script.display(),
            outdir.display()
        );
    }
    Ok(())
}
