//! Commands run as root without the daemon, with conf.xml naming `<Privileges>`: they
//! take on that user and group, as the daemon does, so the log, the files and the HSM
//! objects they create belong to the daemon's user — never root-owned objects the
//! daemon could not read. A user that does not exist is refused before anything is
//! done. (These cases need root; the suite runs as root in CI.)

use crate::common::{Sandbox, conf_element, refused};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// `nobody`'s uid and gid (the user every Linux system has).
const NOBODY: u32 = 65534;

fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test runs commands as root with <Privileges> and must itself run as root"
    );
}

/// Every file and directory under `dir` with its owner.
fn owners(dir: &Path, out: &mut Vec<(String, u32)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        out.push((entry.path().display().to_string(), meta.uid()));
        if meta.is_dir() {
            owners(&entry.path(), out);
        }
    }
}

/// A sandbox with a token and no log, given to `nobody`, whose conf.xml names `nobody`.
fn nobodys_sandbox() -> Sandbox {
    require_root();
    let sb = Sandbox::with_token();
    std::fs::remove_file(sb.log_path()).unwrap();
    conf_element(&sb, "<Privileges><User>nobody</User></Privileges>");
    let r = std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{NOBODY}:{NOBODY}"))
        .arg(sb.root())
        .status()
        .unwrap();
    assert!(r.success());
    sb
}

#[test]
fn root_without_the_daemon_creates_everything_as_the_privileges_user() {
    let sb = nobodys_sandbox();
    sb.ok("setup --simulated-time 2025-01-01T00:00:00Z");
    sb.ok("policy import");
    sb.ok("zone add --zone nobody.test --policy default");
    let r = sb.ok("key list --verbose");
    assert!(r.out.contains("nobody.test"), "{r:?}");
    // The log records who ran the commands: root.
    let r = sb.ok("log show");
    assert!(r.out.contains("root"), "{r:?}");
    let mut all = Vec::new();
    owners(sb.root(), &mut all);
    let tokens = all.iter().filter(|(p, _)| p.contains("/tokens/")).count();
    assert!(tokens > 1, "no token files: {all:?}");
    let roots: Vec<_> = all.iter().filter(|(_, uid)| *uid != NOBODY).collect();
    assert!(
        roots.is_empty(),
        "created as another user than nobody: {roots:?}"
    );
}

#[test]
fn a_privileges_user_that_does_not_exist_is_refused() {
    let sb = Sandbox::with_log();
    require_root();
    conf_element(
        &sb,
        "<Privileges><User>no-such-user-kasp</User></Privileges>",
    );
    refused(
        &sb,
        "policy import",
        4,
        "cannot run as the user and group of conf.xml's Privileges: user no-such-user-kasp \
         does not exist",
    );
}
