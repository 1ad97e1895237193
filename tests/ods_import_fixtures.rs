//! The OpenDNSSEC 2.1.12 state fixtures of fixtures/ods-import (made by
//! scripts/capture-ods-state, described in fixtures/ods-import/README.md) stay whole:
//! every scenario has its fixture and every fixture its scenario and README entry; each
//! holds the files a consumer needs, its database is a complete SQLite file with no
//! journal beside it, its SoftHSM token has its objects, its views are non-empty, and no
//! path of the sandbox it was captured in is left outside the database (and meta.txt,
//! which names it). Cheap checks that
//! run without OpenDNSSEC, SQLite or SoftHSM.

use std::fs;
use std::path::{Path, PathBuf};

pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ods-import")
}

/// The captured fixture directories (every directory but `scenarios/` and `future/`), sorted.
pub(crate) fn fixtures() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures_dir())
        .expect("fixtures/ods-import")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n != "scenarios" && n != "future")
        })
        .collect();
    dirs.sort();
    dirs
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The views scripts/capture-ods-state takes at the end of every run.
const VIEWS: &[&str] = &[
    "key-list",
    "key-list-verbose",
    "key-list-verbose-parsable",
    "key-list-debug",
    "key-list-debug-parsable",
    "key-list-full",
    "key-list-all-verbose",
    "key-list-all-debug",
    "rollover-list",
    "zone-list",
    "policy-list",
    "policy-export-all",
    "queue",
    "backup-list",
];

#[test]
fn every_scenario_has_its_fixture_and_readme_entry() {
    let readme = fs::read_to_string(fixtures_dir().join("README.md")).expect("README.md");
    let mut scenarios: Vec<String> = fs::read_dir(fixtures_dir().join("scenarios"))
        .expect("fixtures/ods-import/scenarios")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "scn"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    scenarios.sort();
    let captured: Vec<String> = fixtures().iter().map(|p| name(p)).collect();
    assert!(
        captured.len() >= 10,
        "only {} fixtures in fixtures/ods-import",
        captured.len()
    );
    assert_eq!(
        scenarios, captured,
        "fixtures/ods-import: scenarios/*.scn and the captured directories differ"
    );
    for n in &captured {
        assert!(
            readme.contains(&format!("`{n}`")),
            "fixtures/ods-import/README.md does not describe `{n}`"
        );
        let copied = fs::read_to_string(fixtures_dir().join(n).join("scenario.scn"))
            .unwrap_or_else(|e| panic!("{n}/scenario.scn: {e}"));
        let source = fs::read_to_string(fixtures_dir().join("scenarios").join(format!("{n}.scn")))
            .expect("scenario source");
        assert_eq!(
            copied, source,
            "{n}/scenario.scn is not the scenario it was captured from (recapture it)"
        );
    }
}

#[test]
fn every_fixture_has_its_files() {
    for dir in fixtures() {
        let n = name(&dir);
        for f in [
            "scenario.scn",
            "meta.txt",
            "conf.xml",
            "kasp.xml",
            "zonelist.xml",
            "softhsm2.conf",
            "enforcer/kasp.db",
            "enforcer/zones.xml",
            "views/rc.txt",
        ] {
            assert!(dir.join(f).is_file(), "{n}: {f} missing");
        }
        assert!(dir.join("signconf").is_dir(), "{n}: signconf/ missing");
        let meta = fs::read_to_string(dir.join("meta.txt")).unwrap();
        for line in [
            "opendnssec: opendnssec version 2.1.12\n",
            "schema-version: 1\n",
            "journal-mode: delete\n",
            "second run, rows: same number in every table",
        ] {
            assert!(meta.contains(line), "{n}/meta.txt lacks {line:?}:\n{meta}");
        }
        assert!(
            meta.lines().any(|l| l.starts_with("simulated-time: ")),
            "{n}/meta.txt has no simulated-time"
        );
        let rc = fs::read_to_string(dir.join("views/rc.txt")).unwrap();
        for v in VIEWS {
            let text = fs::read_to_string(dir.join("views").join(format!("{v}.txt")))
                .unwrap_or_else(|e| panic!("{n}/views/{v}.txt: {e}"));
            assert!(!text.trim().is_empty(), "{n}/views/{v}.txt is empty");
            assert!(
                rc.lines().any(|l| l.split_whitespace().next() == Some(*v)),
                "{n}/views/rc.txt has no line for {v}"
            );
        }
    }
}

#[test]
fn every_database_is_a_whole_sqlite_file() {
    for dir in fixtures() {
        let n = name(&dir);
        let db = fs::read(dir.join("enforcer/kasp.db")).unwrap();
        assert!(
            db.starts_with(b"SQLite format 3\0"),
            "{n}/enforcer/kasp.db is not an SQLite 3 database"
        );
        // Bytes 16..18: the page size (big-endian; 1 means 65536). A copy cut short or
        // edited as text is no longer a whole number of pages.
        let page = match u16::from_be_bytes([db[16], db[17]]) {
            1 => 65536,
            p => usize::from(p),
        };
        assert!(
            page >= 512 && db.len() % page == 0,
            "{n}/enforcer/kasp.db: {} bytes, not a whole number of {page}-byte pages",
            db.len()
        );
        // Bytes 28..32: the database size in pages, as SQLite last wrote it.
        let pages = u32::from_be_bytes([db[28], db[29], db[30], db[31]]) as usize;
        assert_eq!(
            pages * page,
            db.len(),
            "{n}/enforcer/kasp.db: size in header"
        );
        for side in ["kasp.db-wal", "kasp.db-journal", "kasp.db-shm"] {
            assert!(
                !dir.join("enforcer").join(side).exists(),
                "{n}: {side} beside the database (captured while in use?)"
            );
        }
    }
}

#[test]
fn every_token_has_its_objects() {
    for dir in fixtures() {
        let n = name(&dir);
        let conf = fs::read_to_string(dir.join("softhsm2.conf")).unwrap();
        assert!(
            conf.contains("directories.tokendir = @SANDBOX@/tokens\n"),
            "{n}/softhsm2.conf: {conf}"
        );
        let tokens: Vec<PathBuf> = fs::read_dir(dir.join("tokens"))
            .unwrap_or_else(|e| panic!("{n}/tokens: {e}"))
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(tokens.len(), 1, "{n}: one token directory expected");
        let files: Vec<String> = fs::read_dir(&tokens[0])
            .unwrap()
            .map(|e| name(&e.unwrap().path()))
            .collect();
        assert!(
            files.iter().any(|f| f == "token.object"),
            "{n}: no token.object"
        );
        let keys = files
            .iter()
            .filter(|f| f.ends_with(".object") && *f != "token.object")
            .count();
        assert!(keys >= 2, "{n}: {keys} key objects in the token");
    }
}

#[test]
fn no_sandbox_path_outside_the_database() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if name(&p) != "tokens" {
                    walk(&p, out);
                }
            } else if name(&p) != "kasp.db" && name(&p) != "meta.txt" {
                out.push(p);
            }
        }
    }
    for dir in fixtures() {
        let n = name(&dir);
        let mut files = Vec::new();
        walk(&dir, &mut files);
        for f in files {
            let text = fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(
                !text.contains("/kasp-scenario-"),
                "{n}: {} names the capture sandbox",
                f.display()
            );
        }
        let conf = fs::read_to_string(dir.join("conf.xml")).unwrap();
        assert!(
            conf.contains("<SQLite>@SANDBOX@/enforcer/kasp.db</SQLite>"),
            "{n}/conf.xml: {conf}"
        );
    }
}
