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
}

impl Sandbox {
    /// A project directory with conf.xml, kasp.xml and zonelist.xml; no log yet.
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for d in ["enforcer", "signconf", "unsigned", "signed", "signer"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(
            root.join("conf.xml"),
            CONF.replace("@DIR@", &root.display().to_string())
                .replace("@PIN@", "not-a-secret-test-pin"),
        )
        .unwrap();
        std::fs::write(root.join("kasp.xml"), KASP).unwrap();
        std::fs::write(root.join("zonelist.xml"), ZONELIST).unwrap();
        Sandbox { dir }
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

    /// Runs `ods-enforcer -c <conf> <args…>`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(&self.conf(), args)
    }

    /// Runs with another conf.xml.
    pub fn run_with(&self, conf: &Path, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_ods-enforcer"))
            .arg("-c")
            .arg(conf)
            .args(args)
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
