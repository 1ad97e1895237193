//! Default paths for `zone add`, as OpenDNSSEC resolves them.
//!
//! OpenDNSSEC compiles in `/var/lib/opendnssec` (state) and `/etc/opendnssec`
//! (configuration). kasp-ledger derives them instead: the state directory is the parent
//! of `Enforcer/WorkingDirectory` and the configuration directory is the one holding
//! conf.xml. For the stock configuration (`/var/lib/opendnssec/enforcer`,
//! `/etc/opendnssec/conf.xml`) that gives exactly OpenDNSSEC's paths, and a project
//! directory keeps everything inside itself. (Listed under "Differences".)

use crate::Session;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The directories relative paths are resolved against.
#[derive(Debug, Clone)]
pub struct Paths {
    pub state_dir: String,
    pub conf_dir: String,
}

fn join(dir: &str, rest: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{rest}")
    } else {
        format!("{dir}/{rest}")
    }
}

impl Paths {
    pub fn new(ctx: &Session) -> Paths {
        let wd = Path::new(&ctx.conf.enforcer.working_directory);
        let state_dir = wd
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/var/lib/opendnssec".to_string());
        let conf_dir = ctx
            .conf_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/etc/opendnssec".to_string());
        Paths {
            state_dir,
            conf_dir,
        }
    }

    /// `--signerconf`: absolute, or relative to `<state>/signconf/` (no `.xml` added);
    /// default `<state>/signconf/<zone>.xml`.
    pub fn signconf(&self, zone: &str, given: Option<&str>) -> String {
        match given {
            Some(p) if p.starts_with('/') => p.to_string(),
            Some(p) => join(&join(&self.state_dir, "signconf"), p),
            None => join(&join(&self.state_dir, "signconf"), &format!("{zone}.xml")),
        }
    }

    /// `--input`: absolute, or relative to the configuration directory (DNS) or
    /// `<state>/unsigned/` (File); defaults `addns.xml` and `<zone>`.
    pub fn input(&self, zone: &str, kind: &str, given: Option<&str>) -> String {
        self.adapter(zone, kind, given, "unsigned")
    }

    /// `--output`: like `--input`, with `<state>/signed/`.
    pub fn output(&self, zone: &str, kind: &str, given: Option<&str>) -> String {
        self.adapter(zone, kind, given, "signed")
    }

    fn adapter(&self, zone: &str, kind: &str, given: Option<&str>, sub: &str) -> String {
        let dns = kind == "DNS";
        match given {
            Some(p) if p.starts_with('/') => p.to_string(),
            Some(p) if dns => join(&self.conf_dir, p),
            Some(p) => join(&join(&self.state_dir, sub), p),
            None if dns => join(&self.conf_dir, "addns.xml"),
            None => join(&join(&self.state_dir, sub), zone),
        }
    }
}

/// OpenDNSSEC's warning when a zone's input file is missing or unreadable (without
/// the trailing space `zone add` adds).
pub fn check_input(path: &str, zone: &str) -> Option<String> {
    check_file(path, zone, "input")
}

/// The same check for a DNS output adapter's file.
pub fn check_output(path: &str, zone: &str) -> Option<String> {
    check_file(path, zone, "output")
}

fn check_file(path: &str, zone: &str, which: &str) -> Option<String> {
    // Non-blocking: a FIFO without a writer answers at once instead of hanging the check.
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    match opened {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(format!(
            "WARNING: The {which} file {path} for zone {zone} does not currently exist. \
             The zone will be added to the database anyway."
        )),
        Err(_) if Path::new(path).is_dir() => None,
        Err(_) => Some(format!(
            "WARNING: Read access to {which} file {path} for zone {zone} denied!"
        )),
    }
}

/// A deleted zone's signconf is renamed to `<path>.ZONE_DELETED`, as OpenDNSSEC does,
/// so the signer stops using it but an operator can still read it.
pub fn retire_signconf(path: &str) {
    if Path::new(path).exists() {
        let _ = std::fs::rename(path, format!("{path}.ZONE_DELETED"));
    }
}
