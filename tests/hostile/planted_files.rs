//! Symlinks planted in a directory the enforcer writes into (the working directory with
//! `zones.xml`, a signconf directory), by someone less privileged who shares it: where
//! the temporary file of an atomic write would once have gone (`.NAME.<pid>.tmp`, a name
//! anyone could predict) and at the final path. The file they point at is never written;
//! the enforcer's files are written as regular files in their place.

use crate::common::Sandbox;
use crate::daemon::support::{Daemon, fast_sandbox};
use std::os::unix::fs::symlink;
use std::path::Path;

const PRECIOUS: &str = "precious: root's file, which nobody may change\n";

/// The file the symlinks point at.
fn victim(sb: &Sandbox) -> std::path::PathBuf {
    let path = sb.path("victim");
    std::fs::write(&path, PRECIOUS).unwrap();
    path
}

fn assert_untouched(victim: &Path) {
    assert_eq!(
        std::fs::read_to_string(victim).unwrap(),
        PRECIOUS,
        "{} was written through a planted symlink",
        victim.display()
    );
}

/// A regular file (not a symlink) holding `needle`.
fn assert_regular_with(path: &Path, needle: &str) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(
        meta.file_type().is_file(),
        "{} is not a regular file",
        path.display()
    );
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(needle), "{}: {text}", path.display());
}

/// The daemon's pid is known, so are the names its writes once used: symlinks planted
/// under those names (and at the final paths) for `zones.xml` and a zone's signconf.
#[test]
fn the_daemon_never_writes_through_a_planted_symlink() {
    let sb = fast_sandbox(false);
    let victim = victim(&sb);
    let signconf = sb.path("signconf/planted.test.xml");
    let d = Daemon::start(&sb, &[]);
    let pid = d.child.as_ref().unwrap().id();
    for target in [sb.path("enforcer/zones.xml"), signconf.clone()] {
        let name = target.file_name().unwrap().to_str().unwrap();
        symlink(&victim, target.with_file_name(format!(".{name}.{pid}.tmp"))).unwrap();
    }
    let final_link = sb.path("signconf/other.test.xml");
    symlink(&victim, &final_link).unwrap();
    let line = format!(
        "zone add --zone planted.test --policy fast --signerconf {}",
        signconf.display()
    );
    sb.ok(&line);
    sb.ok(&format!(
        "zone add --zone other.test --policy fast --signerconf {}",
        final_link.display()
    ));
    assert_untouched(&victim);
    assert_regular_with(&sb.path("enforcer/zones.xml"), "planted.test");
    assert_regular_with(&signconf, "<SignerConfiguration>");
    assert_regular_with(&final_link, "<SignerConfiguration>");
    drop(d);
}

/// Without the daemon the writer's pid is not known in advance: symlinks for the next
/// few thousand pids (Linux hands them out in order) at the old temporary names of
/// `zones.xml` and of the zone list file, and at `zones.xml` itself.
#[test]
fn a_daemonless_command_never_writes_through_a_planted_symlink() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    let victim = victim(&sb);
    let next = std::process::Command::new("true").spawn().unwrap();
    let first = next.id();
    let _ = { next }.wait();
    for target in [sb.path("enforcer/zones.xml"), sb.path("zonelist.xml")] {
        let name = target.file_name().unwrap().to_str().unwrap();
        for pid in first..first + 3000 {
            let planted = target.with_file_name(format!(".{name}.{pid}.tmp"));
            symlink(&victim, planted).unwrap();
        }
    }
    std::fs::remove_file(sb.path("enforcer/zones.xml")).ok();
    symlink(&victim, sb.path("enforcer/zones.xml")).unwrap();
    sb.ok("zone add --zone planted.test --policy default --xml");
    assert_untouched(&victim);
    assert_regular_with(&sb.path("enforcer/zones.xml"), "planted.test");
    assert_regular_with(&sb.path("zonelist.xml"), "planted.test");
}
