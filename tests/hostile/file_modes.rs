//! The modes of the files the enforcer creates do not depend on the umask it was started
//! with: the log and `zones.xml` are 0640 (owner and the daemon's group), a signconf
//! 0644 (the signer reads it), under umask 000 as under 022 or 077.

use crate::common::{Run, Sandbox};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Runs `ods-enforcer -c <conf> <line>` with `umask` set first.
fn run_with_umask(sb: &Sandbox, umask: &str, line: &str) -> Run {
    let set_umask = format!("umask {umask}; exec \"$0\" \"$@\"");
    sb.run_wrapped(&["sh", "-c", &set_umask], line)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn created_files_have_their_modes_whatever_the_umask() {
    for umask in ["000", "022", "077"] {
        let sb = Sandbox::with_token();
        std::fs::remove_file(sb.log_path()).unwrap();
        let signconf = sb.path("signconf/modes.test.xml");
        for line in [
            "setup --simulated-time 2025-01-01T00:00:00Z".to_string(),
            "policy import".to_string(),
            format!(
                "zone add --zone modes.test --policy default --signerconf {}",
                signconf.display()
            ),
        ] {
            let r = run_with_umask(&sb, umask, &line);
            assert_eq!(r.code, 0, "umask {umask}: {line}: {r:?}");
        }
        for (path, want) in [
            (sb.log_path(), 0o640),
            (sb.path("enforcer/zones.xml"), 0o640),
            (signconf, 0o644),
        ] {
            assert_eq!(
                mode(&path),
                want,
                "umask {umask}: {} is {:o}",
                path.display(),
                mode(&path)
            );
        }
    }
}
