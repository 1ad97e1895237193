//! A sandbox: a temporary project directory with its own conf.xml (every path inside
//! it), the stock kasp.xml and zonelist.xml, and a way to run `ods-enforcer` in it.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const KASP: &str = include_str!("../fixtures/ods/kasp.xml");
pub const ZONELIST: &str = include_str!("../fixtures/ods/zonelist.xml");
const CONF: &str = include_str!("../fixtures/demo/conf.xml.in");

/// What a command printed and returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub out: String,
    pub err: String,
    pub code: i32,
}

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// Environment for every run (SOFTHSM2_CONF when the sandbox has a token).
    pub env: Vec<(String, String)>,
}

/// The PIN of sandbox tokens (also written into the sandbox conf.xml).
pub const PIN: &str = "not-a-secret-test-pin";

impl Sandbox {
    /// A project directory with conf.xml (manual key generation), kasp.xml and
    /// zonelist.xml; no log, no HSM token.
    pub fn new() -> Sandbox {
        let sb = Sandbox::bare();
        let conf = std::fs::read_to_string(sb.conf()).unwrap().replacen(
            "<AutomaticKeyGenerationPeriod>",
            "<ManualKeyGeneration/>\n\t\t<AutomaticKeyGenerationPeriod>",
            1,
        );
        std::fs::write(sb.conf(), conf).unwrap();
        sb
    }

    /// A sandbox with its own SoftHSM2 token (label OpenDNSSEC, PIN [`PIN`]) as
    /// repository SoftHSM, automatic key generation, and a log at the simulated start.
    pub fn with_token() -> Sandbox {
        let mut sb = Sandbox::bare();
        let softhsm_conf = kasp_cli::softhsm::write_conf(sb.root()).unwrap();
        sb.env = vec![("SOFTHSM2_CONF".into(), softhsm_conf.display().to_string())];
        kasp_cli::softhsm::init_token(
            Some(&softhsm_conf),
            "OpenDNSSEC",
            PIN,
            "not-a-secret-so-pin",
        )
        .unwrap();
        let r = sb.run(&["setup", "--simulated-time", "2025-01-01T00:00:00Z"]);
        assert_eq!(r.code, 0, "{r:?}");
        sb
    }

    fn bare() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for d in ["enforcer", "signconf", "unsigned", "signed", "signer"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(
            root.join("conf.xml"),
            CONF.replace("@DIR@", &root.display().to_string())
                .replace("@PIN@", PIN),
        )
        .unwrap();
        std::fs::write(root.join("kasp.xml"), KASP).unwrap();
        std::fs::write(root.join("zonelist.xml"), ZONELIST).unwrap();
        Sandbox { dir, env: vec![] }
    }

    /// A sandbox with a log created at the given simulated time.
    pub fn with_log() -> Sandbox {
        let sb = Sandbox::new();
        let r = sb.run(&["setup", "--simulated-time", "2025-01-01T00:00:00Z"]);
        assert_eq!(r.code, 0, "{r:?}");
        sb
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn conf(&self) -> PathBuf {
        self.path("conf.xml")
    }

    pub fn log_path(&self) -> PathBuf {
        self.path("enforcer/events.redb")
    }

    pub fn log_bytes(&self) -> Vec<u8> {
        std::fs::read(self.log_path()).unwrap_or_default()
    }

    /// Damages the log file as a stray write would: flips one bit of the stored record
    /// whose bytes hold `text` (its cause, say), a few bytes into it.
    pub fn flip_a_bit_in_record(&self, text: &str) {
        let mut bytes = self.log_bytes();
        let at = bytes
            .windows(text.len())
            .position(|w| w == text.as_bytes())
            .expect("record bytes in the file");
        bytes[at + 5] ^= 0x01;
        std::fs::write(self.log_path(), &bytes).unwrap();
    }

    /// Runs `ods-enforcer -c <conf> <args…>`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(&self.conf(), args)
    }

    /// Runs with another conf.xml.
    pub fn run_with(&self, conf: &Path, args: &[&str]) -> Run {
        self.run_through(&[], conf, args)
    }

    /// Runs `ods-enforcer` as the last arguments of `wrapper` (a program and its first
    /// arguments, e.g. `faketime -f -1d`, or `sh -c 'umask 000; exec "$0" "$@"'`).
    pub fn run_wrapped(&self, wrapper: &[&str], line: &str) -> Run {
        let words: Vec<&str> = line.split_whitespace().collect();
        self.run_through(wrapper, &self.conf(), &words)
    }

    fn run_through(&self, wrapper: &[&str], conf: &Path, args: &[&str]) -> Run {
        let binary = Path::new(env!("CARGO_BIN_EXE_ods-enforcer"));
        let mut command = match wrapper.split_first() {
            Some((program, first)) => {
                let mut c = Command::new(program);
                c.args(first).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let out = command
            .arg("-c")
            .arg(conf)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run ods-enforcer");
        Run {
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// Runs a command line split on spaces.
    pub fn sh(&self, line: &str) -> Run {
        let words: Vec<&str> = line.split_whitespace().collect();
        self.run(&words)
    }

    /// Runs and asserts exit 0.
    pub fn ok(&self, line: &str) -> Run {
        let r = self.sh(line);
        assert_eq!(r.code, 0, "{line}: {r:?}");
        r
    }
}

/// Runs `line` and checks that it was refused: the exit code, a message containing
/// `needle`, the log byte-for-byte unchanged, and no PIN in the output.
pub fn refused(sb: &Sandbox, line: &str, code: i32, needle: &str) -> Run {
    let before = sb.log_bytes();
    let r = sb.sh(line);
    assert_eq!(r.code, code, "{line}: {r:?}");
    assert!(
        r.err.contains(needle) || r.out.contains(needle),
        "{line}: expected {needle:?} in {r:?}"
    );
    assert!(before == sb.log_bytes(), "{line} changed the log");
    assert!(
        !r.out.contains(PIN) && !r.err.contains(PIN),
        "{line} printed the PIN"
    );
    r
}

/// Opens the sandbox token (repository SoftHSM, label OpenDNSSEC, [`PIN`]) in this
/// process; for the child processes the tests re-run themselves as, with SOFTHSM2_CONF
/// set (SoftHSM reads it once per process).
pub fn open_token() -> kasp_hsm::Pkcs11Store {
    let config = kasp_hsm::RepositoryConfig::new(
        "SoftHSM",
        "/usr/lib/softhsm/libsofthsm2.so",
        "OpenDNSSEC",
        Some(kasp_hsm::Secret::new(PIN)),
    );
    kasp_hsm::Pkcs11Store::open(config).unwrap()
}

/// The locators of the key objects in the sandbox token, one entry per object (a
/// locator held twice is listed twice). Listed by [`child_lists_the_token`] in a child
/// process, because a PKCS#11 module reads SOFTHSM2_CONF once per process.
pub fn token_keys(sb: &Sandbox) -> Vec<kasp_events::Locator> {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "common::child_lists_the_token",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KASP_TEST_LIST_TOKEN", "1")
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "listing the token failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // libtest prints `test … ... ` before the first line of output, on the same line.
    stdout
        .lines()
        .filter_map(|l| l.split_once("TOKENKEY ").map(|(_, l)| l))
        .map(|l| kasp_events::Locator::parse(l.trim()).unwrap())
        .collect()
}

/// Not a test of its own: when [`token_keys`] runs this binary again with
/// `KASP_TEST_LIST_TOKEN=1` (and SOFTHSM2_CONF), it prints the CKA_ID of every private
/// key in the sandbox token, one `TOKENKEY <locator>` line each. Ignored in a plain run,
/// where it would do nothing.
#[test]
#[ignore = "a child process of common::token_keys"]
fn child_lists_the_token() {
    assert!(
        std::env::var_os("KASP_TEST_LIST_TOKEN").is_some(),
        "KASP_TEST_LIST_TOKEN is not set: only token_keys runs this child"
    );
    use kasp_hsm::KeyStore;
    let mut store = open_token();
    for locator in store.list().unwrap() {
        println!("TOKENKEY {locator}");
    }
}

/// Sets `<Element>value</Element>` in conf.xml's `<Enforcer>` (before
/// AutomaticKeyGenerationPeriod, as conf.rng orders them).
pub fn conf_element(sb: &Sandbox, xml: &str) {
    let conf = std::fs::read_to_string(sb.conf()).unwrap();
    let conf = conf.replacen(
        "<AutomaticKeyGenerationPeriod>",
        &format!("{xml}\n\t\t<AutomaticKeyGenerationPeriod>"),
        1,
    );
    std::fs::write(sb.conf(), conf).unwrap();
}

/// An executable shell script `name` in the sandbox with `body`; its path.
pub fn script(sb: &Sandbox, name: &str, body: &str) -> String {
    let path = sb.path(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut perm = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&path, perm).unwrap();
    path.display().to_string()
}

/// OpenDNSSEC 2.1.12's own `ods-enforcer` client, which tests compare kasp-ledger with.
/// Debian ships it in the package opendnssec-enforcer-sqlite3 (pulled in by
/// opendnssec-enforcer), which scripts/deps.sh installs; where it is missing the test fails
/// and says so (a comparison never passes without running).
pub fn stock_client() -> &'static Path {
    let path = Path::new("/usr/sbin/ods-enforcer");
    assert!(
        path.is_file(),
        "{} is missing: OpenDNSSEC's stock client, package opendnssec-enforcer-sqlite3; \
         run scripts/deps.sh",
        path.display()
    );
    path
}
