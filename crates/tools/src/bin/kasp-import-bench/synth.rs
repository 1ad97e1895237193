//! The synthesized installation: a real OpenDNSSEC 2.1.12 installation of
//! fixtures/ods-import (by default `06-several-zones`: four zones on four policies, ten
//! zone keys, twelve unused pool keys), relocated as fixtures/ods-import/README.md says,
//! whose database is then grown to N zones by copying the fixture's zones with all that
//! hangs on them.
//!
//! Copy `c` of the fixture (c = 0, 1, …) holds a copy of every `zone`, `keyData`,
//! `keyState`, `keyDependency` and `hsmKey` row, with ids shifted by `c` times the
//! table's largest id and every reference between them shifted alike; the `policy` and
//! `policyKey` rows are the fixture's, shared by all copies. Copy 0 is the fixture
//! itself. In the other copies a zone `a.example` becomes `z<c>.a.example` (its signconf
//! path and adapter URIs follow), and an HSM key's locator keeps the fixture's last 24
//! hex digits after `<c>` as 8 hex digits. Everything else — times, key states, key
//! tags, flags, revision counters — is the fixture's, so every copy is a state the real
//! enforcer reached, and the key tags stay those of the public keys when the copies'
//! HSM objects are copies of the fixture's (`token.rs`). When N is not a multiple of the
//! fixture's zone count the last copy holds the first zones only (its HSM keys are all
//! copied). The internal zone list (`enforcer/zones.xml`) lists the N zones, and each zone's signconf is the fixture zone's with the copy's locators.
//! The unsigned zone files are not copied (neither enforcer reads them).

use anyhow::{Context as _, Result, bail, ensure};
use rusqlite::Connection;
use rusqlite::types::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The placeholder of the fixture's text files.
const PLACEHOLDER: &str = "@SANDBOX@";

/// A relocated, grown installation.
#[derive(Debug)]
pub struct Installation {
    pub dir: PathBuf,
    pub conf: PathBuf,
    pub database: PathBuf,
    /// `simulated-time` of the fixture's meta.txt.
    pub simulated_time: i64,
    pub zones: u64,
    pub zone_keys: u64,
    pub hsm_keys: u64,
    /// Each HSM key's locator and the fixture's locator it copies, for every copy.
    pub locators: Vec<(String, String)>,
}

/// The fixture's `key: value` in meta.txt.
fn meta(fixture: &Path, key: &str) -> Result<String> {
    let text = std::fs::read_to_string(fixture.join("meta.txt"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .map(|v| v.split(' ').next().unwrap_or_default().to_string())
        .with_context(|| format!("no {key} in {}/meta.txt", fixture.display()))
}

/// Copies `fixture` to `dir` and replaces the placeholder in its text files
/// (fixtures/ods-import/README.md, "Using a fixture", steps 1 and 2).
fn relocate(fixture: &Path, dir: &Path) -> Result<()> {
    let status = Command::new("cp")
        .arg("-a")
        .arg(fixture)
        .arg(dir)
        .status()?;
    ensure!(status.success(), "cp -a {} failed", fixture.display());
    for d in ["signer", "signed"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    let here = dir.to_str().context("a temp dir that is not UTF-8")?;
    let mut files = vec![
        dir.join("conf.xml"),
        dir.join("zonelist.xml"),
        dir.join("softhsm2.conf"),
        dir.join("enforcer/zones.xml"),
    ];
    for sub in ["signconf", "bin"] {
        for e in std::fs::read_dir(dir.join(sub))? {
            files.push(e?.path());
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).with_context(|| f.display().to_string())?;
        std::fs::write(&f, text.replace(PLACEHOLDER, here))?;
    }
    Ok(())
}

/// One table's rows, every column as SQLite holds it.
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    fn read(db: &Connection, name: &str) -> Result<Table> {
        let mut st = db.prepare(&format!("SELECT * FROM {name} ORDER BY id"))?;
        let columns: Vec<String> = st.column_names().iter().map(|c| c.to_string()).collect();
        let n = columns.len();
        let rows = st
            .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())?
            .collect::<Result<Vec<Vec<Value>>, _>>()?;
        Ok(Table { columns, rows })
    }

    fn col(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn max_id(&self) -> i64 {
        self.rows
            .iter()
            .map(|r| int(&r[self.col("id")]))
            .max()
            .unwrap_or(0)
    }

    fn insert_sql(&self, name: &str) -> String {
        let marks = vec!["?"; self.columns.len()].join(",");
        format!(
            "INSERT INTO {name} ({}) VALUES ({marks})",
            self.columns.join(",")
        )
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        other => panic!("not an integer: {other:?}"),
    }
}

fn text(v: &Value) -> &str {
    match v {
        Value::Text(t) => t,
        other => panic!("not text: {other:?}"),
    }
}

/// The name of fixture zone `name` in copy `c`.
pub fn zone_name(c: u64, name: &str) -> String {
    if c == 0 {
        name.to_string()
    } else {
        format!("z{c}.{name}")
    }
}

/// The locator of fixture HSM key `locator` in copy `c`.
pub fn locator(c: u64, locator: &str) -> String {
    if c == 0 {
        locator.to_string()
    } else {
        format!("{c:08x}{}", &locator[8..])
    }
}

/// A zone list file cut into the text before its zones, its `<Zone>` elements (with
/// their zone names) and the text after them.
struct ZoneElements {
    head: String,
    zones: Vec<(String, String)>,
    tail: String,
}

fn zone_elements(list: &str) -> Result<ZoneElements> {
    let first = list
        .find("  <Zone ")
        .context("no <Zone> in the zone list")?;
    let end = list.rfind("</Zone>").context("no </Zone>")? + "</Zone>\n".len();
    let mut zones = Vec::new();
    let mut rest = &list[first..end];
    while let Some(start) = rest.find("  <Zone name=\"") {
        let stop = rest[start..]
            .find("</Zone>\n")
            .context("an unclosed <Zone>")?
            + start
            + 8;
        let element = &rest[start..stop];
        let name = element["  <Zone name=\"".len()..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_string();
        zones.push((name, element.to_string()));
        rest = &rest[stop..];
    }
    Ok(ZoneElements {
        head: list[..first].to_string(),
        zones,
        tail: list[end..].to_string(),
    })
}

/// Relocates `fixture` to `dir` and grows its database to `zones` zones.
pub fn synthesize(fixture: &Path, dir: &Path, zones: u64) -> Result<Installation> {
    relocate(fixture, dir)?;
    let old = meta(fixture, "sandbox-path-in-database")?;
    let simulated_time: i64 = meta(fixture, "simulated-time")?.parse()?;
    let here = dir.to_str().context("not UTF-8")?.to_string();
    let database = dir.join("enforcer/kasp.db");
    let mut db = Connection::open(&database)?;
    let tx = db.transaction()?;
    let zone = Table::read(&tx, "zone")?;
    let key_data = Table::read(&tx, "keyData")?;
    let key_state = Table::read(&tx, "keyState")?;
    let dependency = Table::read(&tx, "keyDependency")?;
    let hsm_key = Table::read(&tx, "hsmKey")?;
    let per_copy = zone.rows.len() as u64;
    ensure!(per_copy > 0, "the fixture has no zones");
    let copies = zones.div_ceil(per_copy);
    for t in ["keyDependency", "keyState", "keyData", "zone", "hsmKey"] {
        tx.execute(&format!("DELETE FROM {t}"), [])?;
    }
    let shift = |t: &Table, c: u64| c as i64 * t.max_id();
    let (z_name, z_id) = (zone.col("name"), zone.col("id"));
    let zone_paths = [
        zone.col("signconfPath"),
        zone.col("inputAdapterUri"),
        zone.col("outputAdapterUri"),
    ];
    let mut names = Vec::new();
    let mut locators = Vec::new();
    let (mut zone_keys, mut kept_keys) = (0u64, std::collections::HashSet::new());
    {
        let mut ins = tx.prepare(&zone.insert_sql("zone"))?;
        for c in 0..copies {
            for (j, r) in zone.rows.iter().enumerate() {
                if c * per_copy + j as u64 >= zones {
                    break;
                }
                let mut r = r.clone();
                let name = text(&r[z_name]).to_string();
                let new = zone_name(c, &name);
                for p in zone_paths {
                    let path = text(&r[p]).replace(&old, &here);
                    r[p] = Value::Text(path.replace(&format!("/{name}"), &format!("/{new}")));
                }
                r[z_name] = Value::Text(new.clone());
                r[z_id] = Value::Integer(int(&r[z_id]) + shift(&zone, c));
                kept_keys.insert(int(&r[z_id]));
                ins.execute(rusqlite::params_from_iter(r.iter()))?;
                names.push((c, name, new));
            }
        }
        let mut ins = tx.prepare(&hsm_key.insert_sql("hsmKey"))?;
        let (id, loc) = (hsm_key.col("id"), hsm_key.col("locator"));
        for c in 0..copies {
            for r in &hsm_key.rows {
                let mut r = r.clone();
                let original = text(&r[loc]).to_string();
                r[loc] = Value::Text(locator(c, &original));
                locators.push((locator(c, &original), original));
                r[id] = Value::Integer(int(&r[id]) + shift(&hsm_key, c));
                ins.execute(rusqlite::params_from_iter(r.iter()))?;
            }
        }
        let mut ins = tx.prepare(&key_data.insert_sql("keyData"))?;
        let (id, zid, hid) = (
            key_data.col("id"),
            key_data.col("zoneId"),
            key_data.col("hsmKeyId"),
        );
        let mut kept_data = std::collections::HashSet::new();
        for c in 0..copies {
            for r in &key_data.rows {
                let mut r = r.clone();
                r[zid] = Value::Integer(int(&r[zid]) + shift(&zone, c));
                if !kept_keys.contains(&int(&r[zid])) {
                    continue;
                }
                r[id] = Value::Integer(int(&r[id]) + shift(&key_data, c));
                r[hid] = Value::Integer(int(&r[hid]) + shift(&hsm_key, c));
                kept_data.insert(int(&r[id]));
                ins.execute(rusqlite::params_from_iter(r.iter()))?;
                zone_keys += 1;
            }
        }
        let mut ins = tx.prepare(&key_state.insert_sql("keyState"))?;
        let (id, kid) = (key_state.col("id"), key_state.col("keyDataId"));
        for c in 0..copies {
            for r in &key_state.rows {
                let mut r = r.clone();
                r[kid] = Value::Integer(int(&r[kid]) + shift(&key_data, c));
                if !kept_data.contains(&int(&r[kid])) {
                    continue;
                }
                r[id] = Value::Integer(int(&r[id]) + shift(&key_state, c));
                ins.execute(rusqlite::params_from_iter(r.iter()))?;
            }
        }
        let mut ins = tx.prepare(&dependency.insert_sql("keyDependency"))?;
        let cols = [
            (dependency.col("id"), shift(&dependency, 1)),
            (dependency.col("zoneId"), shift(&zone, 1)),
            (dependency.col("fromKeyDataId"), shift(&key_data, 1)),
            (dependency.col("toKeyDataId"), shift(&key_data, 1)),
        ];
        for c in 0..copies {
            for r in &dependency.rows {
                let mut r = r.clone();
                for (i, step) in cols {
                    r[i] = Value::Integer(int(&r[i]) + c as i64 * step);
                }
                if !kept_keys.contains(&int(&r[cols[1].0])) {
                    continue;
                }
                ins.execute(rusqlite::params_from_iter(r.iter()))?;
            }
        }
    }
    // The enforcer continues its ids after the largest (AUTOINCREMENT).
    for t in ["zone", "keyData", "keyState", "keyDependency", "hsmKey"] {
        tx.execute(
            &format!("UPDATE sqlite_sequence SET seq = (SELECT max(id) FROM {t}) WHERE name = ?1"),
            [t],
        )?;
    }
    tx.commit()?;
    drop(db);
    write_zone_lists(dir, &names)?;
    write_signconfs(dir, &names, &locators, hsm_key.rows.len())?;
    Ok(Installation {
        conf: dir.join("conf.xml"),
        dir: dir.to_path_buf(),
        database,
        simulated_time,
        zones,
        zone_keys,
        hsm_keys: locators.len() as u64,
        locators,
    })
}

/// `enforcer/zones.xml` with every zone: each fixture zone's element with the copy's
/// name (which its paths carry). (The fixture's zonelist.xml, the operator's file, is
/// empty and stays so: neither enforcer reads it unless told to.)
fn write_zone_lists(dir: &Path, names: &[(u64, String, String)]) -> Result<()> {
    for file in ["enforcer/zones.xml"] {
        let path = dir.join(file);
        let list = std::fs::read_to_string(&path)?;
        let ZoneElements { head, zones, tail } = zone_elements(&list)?;
        let elements: BTreeMap<String, String> = zones.into_iter().collect();
        let mut out = head;
        for (_, name, new) in names {
            let Some(e) = elements.get(name) else {
                bail!("{file} does not list {name}");
            };
            out.push_str(&e.replace(name.as_str(), new));
        }
        out.push_str(&tail);
        std::fs::write(&path, out)?;
    }
    Ok(())
}

/// Each zone's signconf: the fixture zone's, with the copy's locators.
fn write_signconfs(
    dir: &Path,
    names: &[(u64, String, String)],
    locators: &[(String, String)],
    per_copy: usize,
) -> Result<()> {
    let mut originals = BTreeMap::new();
    for (c, name, new) in names {
        if *c == 0 {
            continue;
        }
        let text = match originals.get(name) {
            Some(t) => t,
            None => {
                let t = std::fs::read_to_string(dir.join(format!("signconf/{name}.xml")))?;
                originals.entry(name.clone()).or_insert(t)
            }
        };
        let mut text = text.replace(&format!("\"{name}\""), &format!("\"{new}\""));
        let copy = &locators[*c as usize * per_copy..(*c as usize + 1) * per_copy];
        for (new_locator, original) in copy {
            text = text.replace(original.as_str(), new_locator);
        }
        std::fs::write(dir.join(format!("signconf/{new}.xml")), text)?;
    }
    Ok(())
}
