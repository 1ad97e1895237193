//! The real OpenDNSSEC signer (`ods-signerd` 2.1.12, Debian package opendnssec-signer)
//! in a private sandbox, signing zones with keys from a test's SoftHSM2 token and the
//! signconf files kasp-ledger writes, and the two independent verifiers of what it
//! signed: BIND's `dnssec-verify` and ldns's `ldns-verify-zone`.
//!
//! How the signer is run, and why:
//!
//! * Its conf.xml (in the sandbox) names the token under `<RepositoryList>`, logs to
//!   stderr (no `<Syslog>`), and puts `<Signer><WorkingDirectory>` and
//!   `<Enforcer><WorkingDirectory>` in the sandbox. The signer reads its zone list from
//!   `<Enforcer/WorkingDirectory>/zones.xml` (the enforcer's internal list), not from
//!   `<Common><ZoneListFile>`.
//! * The signer validates conf.xml against the installed conf.rng, which has no
//!   `<Signer><PidFile>`/`<SocketFile>` (the binary would read them, the schema refuses
//!   them), so its pid file and command socket are always `/run/opendnssec/signerd.pid`
//!   and `/run/opendnssec/engine.sock`. The signer therefore runs under `unshare
//!   --user --map-root-user --mount --net`: in its own mount namespace the sandbox's
//!   `run/` directory is bind-mounted over `/run` (nothing of the host's `/run` is
//!   touched), and in its own network namespace its default DNS listener (port 15354)
//!   cannot collide with anything. No root is needed: the user namespace maps the test
//!   user to root inside, so no `<Privileges>` are configured and every file it writes
//!   belongs to the test user.
//! * `ods-signerd -d` (foreground) signs every zone of zones.xml at start-up; `-1`
//!   (single run), although listed by `--help`, is not accepted by 2.1.12. One call of
//!   [`SignerSandbox::sign`] starts a signer, waits for the signed file (the signer
//!   writes a temporary file and renames it, so once it exists it is complete), and
//!   stops it with SIGTERM. Now and then 2.1.12 crashes while shutting down (SIGSEGV
//!   in `janitor_thread_join`; `ods-signer stop` shows it too) and its crash handler
//!   then hangs, so a signer whose log shows the crash is killed with SIGKILL.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{PIN, Sandbox};

mod enforced;
mod proof;

/// Debian's SoftHSM2 PKCS#11 module.
pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// How long one signing run may take before it counts as failed.
const SIGN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a stopped signer may take to exit on SIGTERM before it is killed (it takes
/// up to about a second).
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The SoftHSM2 setup the enforcer used, as the signer needs it.
#[derive(Debug, Clone)]
pub struct SignerHsm {
    /// `<Repository name>`; the signer looks keys up by locator in every repository.
    pub repository: String,
    /// PKCS#11 module path.
    pub module: PathBuf,
    /// Token label.
    pub token_label: String,
    /// User PIN.
    pub pin: String,
    /// The SOFTHSM2_CONF file naming the token directory.
    pub softhsm_conf: PathBuf,
}

impl SignerHsm {
    /// The token of an enforcer sandbox made by [`Sandbox::with_token`].
    pub fn of_sandbox(sb: &Sandbox) -> SignerHsm {
        let softhsm_conf = sb
            .env
            .iter()
            .find(|(k, _)| k == "SOFTHSM2_CONF")
            .map(|(_, v)| PathBuf::from(v))
            .expect("a sandbox made by Sandbox::with_token");
        SignerHsm {
            repository: "SoftHSM".into(),
            module: SOFTHSM_MODULE.into(),
            token_label: "OpenDNSSEC".into(),
            pin: PIN.into(),
            softhsm_conf,
        }
    }
}

/// A directory holding everything of one signer: conf.xml, `enforcer/zones.xml`, the
/// signer's working directory `work/`, `run/` (its `/run`), the signed zones under
/// `signed/`, and the log of the last run, `signer.log`.
#[derive(Debug)]
pub struct SignerSandbox {
    dir: PathBuf,
    softhsm_conf: PathBuf,
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_path(path: &Path) -> String {
    xml_escape(&path.display().to_string())
}

/// The last `n` lines of a text.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl SignerSandbox {
    /// Makes the sandbox in `dir` (created if missing) for keys in `hsm`'s token.
    pub fn new(dir: &Path, hsm: &SignerHsm) -> SignerSandbox {
        let dir = std::path::absolute(dir).expect("absolute sandbox path");
        for d in ["enforcer", "work", "run", "signed"] {
            std::fs::create_dir_all(dir.join(d)).expect("create signer sandbox");
        }
        let d = |rel: &str| xml_path(&dir.join(rel));
        let conf = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Configuration>
  <RepositoryList>
    <Repository name="{repository}">
      <Module>{module}</Module>
      <TokenLabel>{label}</TokenLabel>
      <PIN>{pin}</PIN>
    </Repository>
  </RepositoryList>
  <Common>
    <Logging>
      <Verbosity>3</Verbosity>
    </Logging>
    <PolicyFile>{policy_file}</PolicyFile>
    <ZoneListFile>{zonelist_file}</ZoneListFile>
  </Common>
  <Enforcer>
    <Datastore><SQLite>{datastore}</SQLite></Datastore>
    <WorkingDirectory>{enforcer}</WorkingDirectory>
  </Enforcer>
  <Signer>
    <WorkingDirectory>{work}</WorkingDirectory>
    <WorkerThreads>2</WorkerThreads>
    <SignerThreads>2</SignerThreads>
  </Signer>
</Configuration>
"#,
            repository = xml_escape(&hsm.repository),
            module = xml_path(&hsm.module),
            label = xml_escape(&hsm.token_label),
            pin = xml_escape(&hsm.pin),
            policy_file = d("kasp.xml"),
            zonelist_file = d("zonelist.xml"),
            datastore = d("enforcer/kasp.db"),
            enforcer = d("enforcer"),
            work = d("work"),
        );
        std::fs::write(dir.join("conf.xml"), conf).expect("write signer conf.xml");
        SignerSandbox {
            dir,
            softhsm_conf: std::path::absolute(&hsm.softhsm_conf).expect("absolute path"),
        }
    }

    /// The signer's conf.xml.
    pub fn conf(&self) -> PathBuf {
        self.dir.join("conf.xml")
    }

    /// The log (stdout and stderr) of the last signer run.
    pub fn log(&self) -> PathBuf {
        self.dir.join("signer.log")
    }

    /// Where the signed file of `zone` is written.
    pub fn signed_path(&self, zone: &str) -> PathBuf {
        self.dir.join("signed").join(zone)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    fn failure(&self, what: &str) -> String {
        format!(
            "{what}; the signer's log {} ends with:\n{}",
            self.log().display(),
            tail(&self.log_text(), 40)
        )
    }

    /// Signs `zone` whose unsigned file is `unsigned` using the signconf XML file
    /// `signconf` (OpenDNSSEC signconf format) and returns the signed zone file path.
    ///
    /// Every call is a fresh, complete signing: the signer's saved state of the zone and
    /// the previous signed file are removed first (a signer restarted on an unchanged
    /// zone would not write it again), then a signer is started with only this zone in
    /// its zone list, and stopped once the signed file exists. Fails, with the tail of
    /// the signer's log, when the signer exits, gives up on the zone (a `crit` line or
    /// a back-off) or has not written the zone after 60 seconds.
    pub fn sign(&self, zone: &str, unsigned: &Path, signconf: &Path) -> Result<PathBuf, String> {
        let unsigned = std::path::absolute(unsigned).map_err(|e| e.to_string())?;
        let signconf = std::path::absolute(signconf).map_err(|e| e.to_string())?;
        for f in [&unsigned, &signconf] {
            if !f.is_file() {
                return Err(format!("{} does not exist", f.display()));
            }
        }
        let out = self.signed_path(zone);
        self.forget(zone, &out)?;
        let zones = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ZoneList>
  <Zone name="{name}">
    <Policy>default</Policy>
    <SignerConfiguration>{signconf}</SignerConfiguration>
    <Adapters>
      <Input>
        <Adapter type="File">{unsigned}</Adapter>
      </Input>
      <Output>
        <Adapter type="File">{out}</Adapter>
      </Output>
    </Adapters>
  </Zone>
</ZoneList>
"#,
            name = xml_escape(zone),
            signconf = xml_path(&signconf),
            unsigned = xml_path(&unsigned),
            out = xml_path(&out),
        );
        std::fs::write(self.dir.join("enforcer/zones.xml"), zones)
            .map_err(|e| format!("write zones.xml: {e}"))?;
        let mut signer = self.start()?;
        let started = Instant::now();
        loop {
            if out.is_file() {
                return Ok(out);
            }
            if let Some(status) = signer.child.try_wait().map_err(|e| e.to_string())? {
                return Err(self.failure(&format!(
                    "ods-signerd exited ({status}) without writing {}",
                    out.display()
                )));
            }
            if self
                .log_text()
                .lines()
                .any(|l| l.contains("] crit ") || l.contains("back-off task"))
            {
                return Err(self.failure(&format!("ods-signerd failed to sign {zone}")));
            }
            if started.elapsed() > SIGN_TIMEOUT {
                return Err(self.failure(&format!(
                    "ods-signerd did not write {} within {} s",
                    out.display(),
                    SIGN_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Removes the signer's saved state of `zone`, its signed file, and any pid file or
    /// socket a killed signer left behind.
    fn forget(&self, zone: &str, out: &Path) -> Result<(), String> {
        let prefix = format!("{zone}.");
        let mut stale: Vec<PathBuf> = vec![out.to_path_buf()];
        for d in ["work", "run/opendnssec"] {
            let Ok(entries) = std::fs::read_dir(self.dir.join(d)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if d != "work" || name.starts_with(&prefix) {
                    stale.push(e.path());
                }
            }
        }
        for f in stale {
            match std::fs::remove_file(&f) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(format!("remove {}: {e}", f.display()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Starts `ods-signerd -d` in its own user, mount and network namespaces, with the
    /// sandbox's `run/` as `/run`.
    fn start(&self) -> Result<RunningSigner, String> {
        let log = File::create(self.log()).map_err(|e| format!("create signer log: {e}"))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "--net", "--"])
            .args([
                "sh",
                "-c",
                r#"mount --bind "$1" /run && mkdir -p /run/opendnssec && shift && exec "$@""#,
                "sh",
            ])
            .arg(self.dir.join("run"))
            .args(["ods-signerd", "-d", "-c"])
            .arg(self.conf())
            .current_dir(&self.dir)
            .env("SOFTHSM2_CONF", &self.softhsm_conf)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("cannot run unshare (util-linux) for ods-signerd: {e}"))?;
        Ok(RunningSigner {
            child,
            log: self.log(),
        })
    }
}

/// A running signer, stopped when dropped, whatever happened meanwhile: SIGTERM, then
/// SIGKILL after [`STOP_TIMEOUT`] or as soon as its log shows the crash 2.1.12 sometimes
/// has on shutdown (a segmentation fault in `janitor_thread_join`, after which its
/// crash handler hangs). The signer only reads the token, so killing it loses nothing.
/// `unshare` and `sh` exec, so the child is the signer itself.
#[derive(Debug)]
struct RunningSigner {
    child: Child,
    /// Its stdout and stderr.
    log: PathBuf,
}

impl Drop for RunningSigner {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return;
        };
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet
        // (try_wait above returned None), so the pid cannot belong to another process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let asked = Instant::now();
        while asked.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if log.contains("Segmentation fault") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_verifier(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what} (see scripts/deps.sh): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} refused the zone ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `dnssec-verify -o <zone> <signed>` (bind9-utils).
pub fn dnssec_verify(zone: &str, signed: &Path) -> Result<(), String> {
    let mut cmd = Command::new("dnssec-verify");
    cmd.args(["-o", zone]).arg(signed);
    run_verifier(cmd, "dnssec-verify")
}

/// `ldns-verify-zone <signed>` (ldnsutils).
pub fn ldns_verify(signed: &Path) -> Result<(), String> {
    let mut cmd = Command::new("ldns-verify-zone");
    cmd.arg(signed);
    run_verifier(cmd, "ldns-verify-zone")
}

// ---------------------------------------------------------------------------------------
// The proof that the harness works.

pub const ZONE: &str = "example.com";

/// A small zone: SOA, apex NS and TXT, addresses, and a delegation with glue.
pub const UNSIGNED: &str = "$ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1.example.com. hostmaster.example.com. 2025010101 3600 900 604800 3600
@       IN NS   ns1.example.com.
@       IN NS   ns2.example.net.
@       IN TXT  \"kasp-ledger signer test\"
ns1     IN A    192.0.2.1
ns1     IN AAAA 2001:db8::1
www     IN A    192.0.2.10
www     IN AAAA 2001:db8::10
mail    IN A    192.0.2.25
@       IN MX   10 mail.example.com.
sub     IN NS   ns.sub.example.com.
ns.sub  IN A    192.0.2.53
";

/// The DNSKEY records of a zone file: (flags, algorithm) each.
pub fn dnskeys(zone_file: &str) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = zone_file
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 6 && f[3] == "DNSKEY").then(|| (f[4].to_string(), f[6].to_string()))
        })
        .collect();
    keys.sort();
    keys
}
