//! Taking over a real OpenDNSSEC 2.1.12 installation (`setup --import-ods`), from the
//! installations of fixtures/ods-import (fixtures/ods-import/README.md): each copied into a
//! temporary directory, relocated there as that README says, and imported.

mod cutover;
mod mysql;
mod provenance;
mod refusals;
mod same_view;
mod shadow;

use crate::common::Run;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) use crate::ods_import_fixtures::fixtures_dir;

/// The names of the captured installations.
pub fn fixtures() -> Vec<String> {
    crate::ods_import_fixtures::fixtures()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// A copy of one captured installation in a temporary directory.
pub struct Installation {
    pub dir: tempfile::TempDir,
    pub name: String,
    /// The simulated time of the capture.
    pub time: i64,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn meta_value(meta: &str, key: &str) -> String {
    meta.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("meta.txt has no {key}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

impl Installation {
    /// Fixture `name`, relocated: `@SANDBOX@` replaced in its text files and the database's
    /// paths rewritten to the new directory.
    pub fn copy(name: &str) -> Installation {
        let module = "/usr/lib/softhsm/libsofthsm2.so";
        assert!(
            Path::new(module).is_file(),
            "{module} is missing: package softhsm2; run scripts/deps.sh"
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        copy_dir(&fixtures_dir().join(name), root);
        for d in ["signer", "signed"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let here = root.display().to_string();
        let mut texts = vec![
            root.join("conf.xml"),
            root.join("zonelist.xml"),
            root.join("softhsm2.conf"),
            root.join("enforcer/zones.xml"),
        ];
        for sub in ["signconf", "bin", "views"] {
            for e in std::fs::read_dir(root.join(sub)).unwrap() {
                texts.push(e.unwrap().path());
            }
        }
        for f in texts.iter().filter(|f| f.is_file()) {
            let text = std::fs::read_to_string(f).unwrap();
            std::fs::write(f, text.replace("@SANDBOX@", &here)).unwrap();
        }
        let meta = std::fs::read_to_string(root.join("meta.txt")).unwrap();
        let old = meta_value(&meta, "sandbox-path-in-database");
        let time = meta_value(&meta, "simulated-time").parse().unwrap();
        let db = rusqlite::Connection::open(root.join("enforcer/kasp.db")).unwrap();
        db.execute(
            "UPDATE zone SET signconfPath = replace(signconfPath, ?1, ?2), \
             inputAdapterUri = replace(inputAdapterUri, ?1, ?2), \
             outputAdapterUri = replace(outputAdapterUri, ?1, ?2)",
            [&old, &here],
        )
        .unwrap();
        Installation {
            dir,
            name: name.to_string(),
            time,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn log_path(&self) -> PathBuf {
        self.path("enforcer/events.redb")
    }

    /// The database, to change a copy before an import.
    pub fn database(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path("enforcer/kasp.db")).unwrap()
    }

    /// Runs `ods-enforcer -c <the installation's conf.xml> <line split on spaces>`.
    pub fn run(&self, line: &str) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_ods-enforcer"))
            .arg("-c")
            .arg(self.path("conf.xml"))
            .args(line.split_whitespace())
            .env("SOFTHSM2_CONF", self.path("softhsm2.conf"))
            .output()
            .expect("run ods-enforcer");
        Run {
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// Runs like [`Installation::run`] with stderr and stdout in one stream, in the order
    /// written (as the fixtures' views were captured); returns it and the exit code.
    pub fn run_combined(&self, line: &str) -> (String, i32) {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("exec \"$0\" -c \"$1\" {line} 2>&1"))
            .arg(env!("CARGO_BIN_EXE_ods-enforcer"))
            .arg(self.path("conf.xml"))
            .env("SOFTHSM2_CONF", self.path("softhsm2.conf"))
            .output()
            .expect("run ods-enforcer");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            out.status.code().unwrap_or(-1),
        )
    }

    /// `setup --import-ods` at the capture's simulated time, with `extra` options.
    pub fn import(&self, extra: &str) -> Run {
        self.run(&format!(
            "setup --import-ods --simulated-time {} {extra}",
            self.time
        ))
    }

    /// Imports and asserts it succeeded.
    pub fn imported(name: &str) -> Installation {
        let i = Installation::copy(name);
        let r = i.import("");
        assert_eq!(r.code, 0, "{name}: {r:?}");
        i
    }
}

const ODS_ENFORCERD: &str = "/usr/sbin/ods-enforcerd";
const ODS_ENFORCER: &str = "/usr/sbin/ods-enforcer";

/// The real OpenDNSSEC enforcer daemon on an installation, stopped on drop.
pub struct RealEnforcer {
    daemon: Child,
    socket: PathBuf,
}

impl RealEnforcer {
    pub fn start(i: &Installation) -> RealEnforcer {
        for b in [ODS_ENFORCERD, ODS_ENFORCER] {
            assert!(
                Path::new(b).is_file(),
                "{b} is missing: package opendnssec-enforcer-sqlite3; run scripts/deps.sh"
            );
        }
        let socket = i.path("enforcer/enforcer.sock");
        let daemon = Command::new(ODS_ENFORCERD)
            .arg("-d")
            .arg("-c")
            .arg(i.path("conf.xml"))
            .arg("--set-time")
            .arg(i.time.to_string())
            .env("SOFTHSM2_CONF", i.path("softhsm2.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ods-enforcerd");
        let e = RealEnforcer { daemon, socket };
        let began = Instant::now();
        while !e.socket.exists() || e.client("queue").is_none() {
            assert!(
                began.elapsed() < Duration::from_secs(30),
                "OpenDNSSEC's enforcer did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        e.idle();
        e
    }

    /// `ods-enforcer -s <socket> <line>`: its output, `None` if it could not connect.
    fn client(&self, line: &str) -> Option<String> {
        let out = Command::new(ODS_ENFORCER)
            .arg("-s")
            .arg(&self.socket)
            .args(line.split_whitespace())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (!text.contains("Unable to connect")).then_some(text)
    }

    /// Runs `line` and waits until every task it caused has run.
    pub fn run(&self, line: &str) -> String {
        let out = self.client(line).unwrap_or_default();
        self.idle();
        out
    }

    fn idle(&self) {
        let began = Instant::now();
        loop {
            let q = self.client("queue").unwrap_or_default();
            if q.contains("All worker threads idle.")
                && !q.contains("Next task scheduled immediately")
                && !q.contains("\nFlush ")
            {
                return;
            }
            assert!(
                began.elapsed() < Duration::from_secs(60),
                "OpenDNSSEC's enforcer stays busy: {q}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RealEnforcer {
    fn drop(&mut self) {
        // `stop` has been seen to hang and 2.1.12 to crash on shutdown: kill it.
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
