//! The sandbox a scenario runs in (shared/conformance/README.md): a fresh directory
//! under the system temp dir with its own conf.xml (repository `SoftHSM` = a SoftHSM2
//! token labelled `OpenDNSSEC`, PIN 1234, in the sandbox; one worker thread; DS
//! submit/retract hooks that only log what they get; the scenario's `#@conf` elements,
//! less those it names with `#@conf-remove`),
//! the scenario's kasp.xml, an empty zonelist.xml, signconf/ unsigned/ signed/, a fake
//! `ods-signer` first in PATH that logs its calls, and an event log on a simulated clock
//! (`setup --simulated-time`). Removed on drop unless kept.
//!
//! A scenario from a captured OpenDNSSEC installation (`#@installation`, crates/tools/src/
//! scenario.rs) gets a copy of that installation instead, relocated as
//! fixtures/ods-import/README.md says (its text files' `@SANDBOX@` and the paths its
//! database holds), with its own token, conf.xml and fake programs, and its log made by
//! `setup --import-ods` at the installation's simulated time.

use anyhow::{Context as _, Result, bail};
use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The PKCS#11 module of conf.xml's repository `SoftHSM`.
use kasp_cli::softhsm::MODULE as SOFTHSM_MODULE;
/// The token PIN (the conformance README's sandbox uses 1234).
const PIN: &str = "1234";
/// The ZoneListFile the sandbox starts with: no zones.
pub const INITIAL_ZONELIST: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ZoneList>\n</ZoneList>\n";
/// How long one `ods-enforcer` run may take before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);
/// The exit code recorded for a run that was killed after [`COMMAND_TIMEOUT`].
pub const TIMED_OUT: i32 = 124;

/// What the sandbox is made from.
#[derive(Debug)]
pub struct Spec<'a> {
    /// The `ods-enforcer` binary.
    pub enforcer: &'a Path,
    /// The scenario's kasp.xml.
    pub kasp: &'a Path,
    /// `#@conf` elements for `<Enforcer>`.
    pub conf: &'a [(String, Option<String>)],
    /// `#@conf-remove` elements: left out of `<Enforcer>`.
    pub conf_remove: &'a [String],
    /// `#@require-backup`: the repository has `<RequireBackup/>`.
    pub require_backup: bool,
    /// The simulated clock's start (epoch seconds).
    pub start: i64,
    /// `#@installation`: the captured installation the sandbox is a copy of.
    pub installation: Option<&'a Path>,
    /// Keep the directory after the run.
    pub keep: bool,
}

/// A sandbox directory and the way to run `ods-enforcer` in it.
#[derive(Debug)]
pub struct Sandbox {
    root: PathBuf,
    enforcer: PathBuf,
    path_env: OsString,
    keep: bool,
}

impl Sandbox {
    /// Makes the directory, its files and token, and the event log.
    pub fn create(spec: &Spec<'_>) -> Result<Sandbox> {
        let root = make_temp_dir()?;
        let mut path_env = OsString::from(root.join("bin"));
        if let Some(p) = std::env::var_os("PATH") {
            path_env.push(":");
            path_env.push(p);
        }
        let sb = Sandbox {
            root,
            enforcer: spec.enforcer.to_path_buf(),
            path_env,
            keep: spec.keep,
        };
        if spec.keep {
            eprintln!("kasp-scenario: sandbox kept at {}", sb.root.display());
        }
        match spec.installation {
            Some(dir) => {
                sb.populate_from_installation(dir, spec.conf)?;
                sb.setup(&["--import-ods", "--simulated-time", &spec.start.to_string()])?;
            }
            None => {
                sb.populate(spec)?;
                sb.init_token()?;
                sb.setup(&["--simulated-time", &spec.start.to_string()])?;
            }
        }
        Ok(sb)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Runs `ods-enforcer -c <conf> <args>` with stdout and stderr into `out` (appended
    /// to it with `append`); returns the exit code (128 + signal when killed by one,
    /// [`TIMED_OUT`] after [`COMMAND_TIMEOUT`]).
    pub fn run(&self, args: &[&str], out: &Path, append: bool) -> Result<i32> {
        self.run_program(&self.enforcer, args, out, append)
    }

    /// Runs `<program> -c <conf> <args>` the way [`run`](Self::run) runs `ods-enforcer`
    /// (the sandbox's PATH, SoftHSM2 configuration and time zone, its directory).
    pub fn run_program(
        &self,
        program: &Path,
        args: &[&str],
        out: &Path,
        append: bool,
    ) -> Result<i32> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        let err = file.try_clone()?;
        let child = Command::new(program)
            .arg("-c")
            .arg(self.path("conf.xml"))
            .args(args)
            .env("PATH", &self.path_env)
            .env("SOFTHSM2_CONF", self.path("softhsm2.conf"))
            .env("TZ", "UTC")
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot run {}", program.display()))?;
        let rc = wait_with_timeout(child, COMMAND_TIMEOUT)?;
        if rc == TIMED_OUT {
            let mut f = OpenOptions::new().append(true).open(out)?;
            std::io::Write::write_all(
                &mut f,
                format!(
                    "kasp-scenario: killed after {} s\n",
                    COMMAND_TIMEOUT.as_secs()
                )
                .as_bytes(),
            )?;
        }
        Ok(rc)
    }

    /// `ods-enforcer --version`, for meta.tsv.
    pub fn version(&self) -> String {
        Command::new(&self.enforcer)
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.lines().next().map(str::to_string))
            .unwrap_or_else(|| "?".to_string())
    }

    /// Directories, scripts, conf.xml, kasp.xml, zonelist.xml, softhsm2.conf.
    fn populate(&self, spec: &Spec<'_>) -> Result<()> {
        for d in [
            "bin", "enforcer", "signconf", "unsigned", "signed", "signer", "tokens",
        ] {
            fs::create_dir_all(self.path(d))?;
        }
        let q = |name: &str| shell_quote(&self.path(name));
        write_script(
            &self.path("bin/ods-signer"),
            &format!("echo \"ods-signer $*\" >> {}", q("signer-calls.log")),
        )?;
        for kind in ["submit", "retract"] {
            write_script(
                &self.path(&format!("bin/ds-{kind}")),
                &format!("{{ printf '{kind} '; cat; }} >> {}", q("ds-calls.log")),
            )?;
        }
        fs::write(
            self.path("conf.xml"),
            conf_xml(&self.root, spec.conf, spec.conf_remove, spec.require_backup),
        )?;
        fs::copy(spec.kasp, self.path("kasp.xml"))
            .with_context(|| format!("cannot copy {}", spec.kasp.display()))?;
        fs::write(self.path("zonelist.xml"), INITIAL_ZONELIST)?;
        kasp_cli::softhsm::write_conf(&self.root).map_err(anyhow::Error::msg)?;
        Ok(())
    }

    /// A SoftHSM2 token labelled OpenDNSSEC with PIN [`PIN`].
    fn init_token(&self) -> Result<()> {
        if !Path::new(SOFTHSM_MODULE).exists() {
            bail!(
                "{SOFTHSM_MODULE} not found: install the Debian package softhsm2 (scripts/deps.sh does)"
            );
        }
        let conf = self.path("softhsm2.conf");
        kasp_cli::softhsm::init_token(Some(&conf), "OpenDNSSEC", PIN, PIN)
            .map_err(anyhow::Error::msg)?;
        Ok(())
    }

    /// `ods-enforcer setup <options>`.
    fn setup(&self, options: &[&str]) -> Result<()> {
        let out = self.path("setup.out");
        let mut args = vec!["setup"];
        args.extend_from_slice(options);
        let rc = self.run(&args, &out, false)?;
        if rc != 0 {
            bail!(
                "`ods-enforcer {}` failed (exit {rc}): {}\n\
                 (the sandbox conf.xml holds the scenario's #@conf elements; \
                 KASP_KEEP_SANDBOX=1 keeps the sandbox to look at it)",
                args.join(" "),
                fs::read_to_string(&out).unwrap_or_default().trim()
            );
        }
        Ok(())
    }

    /// A relocated copy of the captured installation `dir` (fixtures/ods-import/README.md,
    /// Using a fixture): every file of it, `@SANDBOX@` replaced by the sandbox path in its
    /// text files, and the sandbox path it was captured in replaced in its database; the
    /// `#@conf` elements `conf` set in its conf.xml's `<Enforcer>` (an operator changing
    /// the configuration as the enforcer restarts).
    fn populate_from_installation(
        &self,
        dir: &Path,
        conf: &[(String, Option<String>)],
    ) -> Result<()> {
        copy_tree(dir, &self.root)?;
        for d in ["signer", "signed", "signconf", "unsigned", "bin"] {
            fs::create_dir_all(self.path(d))?;
        }
        let here = self.root.display().to_string();
        let mut texts = vec![
            self.path("conf.xml"),
            self.path("zonelist.xml"),
            self.path("softhsm2.conf"),
            self.path("enforcer/zones.xml"),
        ];
        for sub in ["signconf", "bin", "views"] {
            if let Ok(entries) = fs::read_dir(self.path(sub)) {
                for e in entries {
                    texts.push(e?.path());
                }
            }
        }
        for f in texts.iter().filter(|f| f.is_file()) {
            let text =
                fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
            fs::write(f, text.replace("@SANDBOX@", &here))?;
        }
        let conf_path = self.path("conf.xml");
        let mut text = fs::read_to_string(&conf_path)?;
        for (name, value) in conf {
            text = set_enforcer_element(&text, name, value.as_deref())?;
        }
        fs::write(&conf_path, text)?;
        let meta = fs::read_to_string(dir.join("meta.txt"))?;
        let old = meta_value(&meta, "sandbox-path-in-database")?;
        let db = rusqlite::Connection::open(self.path("enforcer/kasp.db"))?;
        db.execute(
            "UPDATE zone SET signconfPath = replace(signconfPath, ?1, ?2), \
             inputAdapterUri = replace(inputAdapterUri, ?1, ?2), \
             outputAdapterUri = replace(outputAdapterUri, ?1, ?2)",
            [&old, &here],
        )?;
        Ok(())
    }
}

/// The simulated time a captured installation was captured at (`simulated-time` of its
/// meta.txt), where a scenario from it starts.
pub fn installation_time(dir: &Path) -> Result<i64> {
    let meta = fs::read_to_string(dir.join("meta.txt"))
        .with_context(|| format!("cannot read {}/meta.txt", dir.display()))?;
    let t = meta_value(&meta, "simulated-time")?;
    t.parse().with_context(|| {
        format!(
            "{}/meta.txt: simulated-time {t} is no epoch time",
            dir.display()
        )
    })
}

/// `text` (a conf.xml) with `<name>value</name>` (or `<name/>`) in its `<Enforcer>`: in
/// place of the element if it is there, else at the end of the section.
fn set_enforcer_element(text: &str, name: &str, value: Option<&str>) -> Result<String> {
    let element = match value {
        Some(v) => format!("<{name}>{}</{name}>", escape(v)),
        None => format!("<{name}/>"),
    };
    let (start, end) = match (text.find("<Enforcer>"), text.find("</Enforcer>")) {
        (Some(s), Some(e)) if s < e => (s, e),
        _ => bail!("conf.xml has no <Enforcer> section"),
    };
    let section = &text[start..end];
    let open = format!("<{name}>");
    let empty = format!("<{name}/>");
    let close = format!("</{name}>");
    let replaced = if let Some(i) = section.find(&open) {
        let j = section[i..]
            .find(&close)
            .with_context(|| format!("conf.xml: <{name}> is not closed"))?;
        format!(
            "{}{element}{}",
            &section[..i],
            &section[i + j + close.len()..]
        )
    } else if let Some(i) = section.find(&empty) {
        format!("{}{element}{}", &section[..i], &section[i + empty.len()..])
    } else {
        format!("{section}\t{element}\n\t")
    };
    Ok(format!("{}{replaced}{}", &text[..start], &text[end..]))
}

/// The first word after `key: ` in meta.txt.
fn meta_value(meta: &str, key: &str) -> Result<String> {
    meta.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_string)
        .with_context(|| format!("meta.txt has no {key}"))
}

/// Copies the files and directories under `from` into `to`.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// A new, empty directory `kasp-scenario-<random>` under the system temp dir.
fn make_temp_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    for _ in 0..16 {
        let suffix = kasp_engine::random::hex(6).map_err(|f| anyhow::anyhow!(f.message))?;
        let dir = base.join(format!("kasp-scenario-{suffix}"));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }
    bail!("cannot create a sandbox directory in {}", base.display())
}

/// Waits for `child`; kills it after `limit`.
fn wait_with_timeout(mut child: Child, limit: Duration) -> Result<i32> {
    let began = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(exit_code(status));
        }
        if began.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            eprintln!(
                "kasp-scenario: warning: ods-enforcer killed after {} s",
                limit.as_secs()
            );
            return Ok(TIMED_OUT);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// An executable `#!/bin/sh` script.
fn write_script(path: &Path, body: &str) -> Result<()> {
    fs::write(path, format!("#!/bin/sh\n{body}\n"))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// `'path'` for /bin/sh.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// XML text content.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The sandbox conf.xml. `<Enforcer>` is an interleave in conf.rng, so the `#@conf`
/// elements may go anywhere in it; one that is already there is replaced. The elements
/// named in `remove` (`#@conf-remove`, e.g. the DS hook commands) are left out.
/// `require_backup` (`#@require-backup`) adds `<RequireBackup/>` to the repository.
pub fn conf_xml(
    root: &Path,
    extra: &[(String, Option<String>)],
    remove: &[String],
    require_backup: bool,
) -> String {
    let dir = escape(&root.display().to_string());
    let mut enforcer: Vec<(String, Option<String>)> = vec![
        (
            "Datastore".into(),
            Some(format!("<SQLite>{dir}/enforcer/kasp.db</SQLite>")),
        ),
        (
            "PidFile".into(),
            Some(format!("{dir}/enforcer/enforcerd.pid")),
        ),
        (
            "SocketFile".into(),
            Some(format!("{dir}/enforcer/enforcer.sock")),
        ),
        ("WorkingDirectory".into(), Some(format!("{dir}/enforcer"))),
        ("WorkerThreads".into(), Some("1".into())),
        (
            "DelegationSignerSubmitCommand".into(),
            Some(format!("{dir}/bin/ds-submit")),
        ),
        (
            "DelegationSignerRetractCommand".into(),
            Some(format!("{dir}/bin/ds-retract")),
        ),
    ];
    for (name, value) in extra {
        let value = value.as_deref().map(escape);
        match enforcer.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => enforcer.push((name.clone(), value)),
        }
    }
    enforcer.retain(|(n, _)| !remove.contains(n));
    let body: String = enforcer
        .iter()
        .map(|(n, v)| match v {
            Some(v) => format!("\t\t<{n}>{v}</{n}>\n"),
            None => format!("\t\t<{n}/>\n"),
        })
        .collect();
    let backup = if require_backup {
        "\t\t\t<RequireBackup/>\n"
    } else {
        ""
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!-- kasp-scenario sandbox -->\n\
         <Configuration>\n\
         \t<RepositoryList>\n\
         \t\t<Repository name=\"SoftHSM\">\n\
         \t\t\t<Module>{SOFTHSM_MODULE}</Module>\n\
         \t\t\t<TokenLabel>OpenDNSSEC</TokenLabel>\n\
         \t\t\t<PIN>{PIN}</PIN>\n\
         {backup}\
         \t\t\t<SkipPublicKey/>\n\
         \t\t</Repository>\n\
         \t</RepositoryList>\n\
         \t<Common>\n\
         \t\t<Logging>\n\t\t\t<Verbosity>3</Verbosity>\n\t\t</Logging>\n\
         \t\t<PolicyFile>{dir}/kasp.xml</PolicyFile>\n\
         \t\t<ZoneListFile>{dir}/zonelist.xml</ZoneListFile>\n\
         \t</Common>\n\
         \t<Enforcer>\n{body}\t</Enforcer>\n\
         \t<Signer>\n\t\t<WorkingDirectory>{dir}/signer</WorkingDirectory>\n\t</Signer>\n\
         </Configuration>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_directives_replace_or_add() {
        let xml = conf_xml(
            Path::new("/sb"),
            &[
                ("WorkerThreads".into(), Some("2".into())),
                ("AutomaticKeyGenerationPeriod".into(), Some("P1D".into())),
                ("ManualKeyGeneration".into(), None),
            ],
            &[],
            false,
        );
        assert!(
            xml.contains("\t\t<WorkerThreads>2</WorkerThreads>\n"),
            "{xml}"
        );
        assert!(!xml.contains("<WorkerThreads>1<"));
        assert!(xml.contains("<AutomaticKeyGenerationPeriod>P1D</AutomaticKeyGenerationPeriod>"));
        assert!(xml.contains("<ManualKeyGeneration/>\n\t</Enforcer>"));
        assert!(xml.contains("<DelegationSignerSubmitCommand>/sb/bin/ds-submit<"));
        assert!(xml.contains("<WorkingDirectory>/sb/enforcer</WorkingDirectory>"));
    }

    #[test]
    fn conf_remove_leaves_elements_out() {
        let xml = conf_xml(
            Path::new("/sb"),
            &[],
            &[
                "DelegationSignerSubmitCommand".into(),
                "DelegationSignerRetractCommand".into(),
            ],
            false,
        );
        assert!(!xml.contains("DelegationSigner"), "{xml}");
        assert!(xml.contains("<WorkerThreads>1</WorkerThreads>"));
    }

    #[test]
    fn require_backup_goes_into_the_repository() {
        let xml = conf_xml(Path::new("/sb"), &[], &[], true);
        assert!(
            xml.contains("<PIN>1234</PIN>\n\t\t\t<RequireBackup/>\n\t\t\t<SkipPublicKey/>"),
            "{xml}"
        );
        assert!(!conf_xml(Path::new("/sb"), &[], &[], false).contains("RequireBackup"));
    }

    #[test]
    fn an_installations_conf_gets_its_elements_set() {
        let conf = "<Configuration>\n\t<Enforcer>\n\t\t<WorkerThreads>0</WorkerThreads>\n\t\t<ManualKeyGeneration/>\n\t</Enforcer>\n</Configuration>\n";
        let one = set_enforcer_element(conf, "WorkerThreads", Some("1")).unwrap();
        assert!(
            one.contains("<WorkerThreads>1</WorkerThreads>") && !one.contains(">0<"),
            "{one}"
        );
        let flag = set_enforcer_element(conf, "ManualKeyGeneration", Some("x")).unwrap();
        assert!(
            flag.contains("<ManualKeyGeneration>x</ManualKeyGeneration>"),
            "{flag}"
        );
        let added =
            set_enforcer_element(conf, "AutomaticKeyGenerationPeriod", Some("P1D")).unwrap();
        assert!(
            added.contains(
                "<AutomaticKeyGenerationPeriod>P1D</AutomaticKeyGenerationPeriod>\n\t</Enforcer>"
            ),
            "{added}"
        );
        assert!(set_enforcer_element("<Configuration/>", "A", None).is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(Path::new("/a b/it's")), "'/a b/it'\\''s'");
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }
}
