//! A SoftHSM2 token of one's own, as the tools around the enforcer make it (scenario
//! runner, history recorder, benchmarks, tests): a `softhsm2.conf` pointing at a token
//! directory of its own, and `softhsm2-util --init-token`. The enforcer itself never
//! creates tokens; it opens the ones conf.xml names.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's SoftHSM2 PKCS#11 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Writes `dir/softhsm2.conf` with its tokens in `dir/tokens` (created) and the file
/// object store; returns the conf path (for `SOFTHSM2_CONF`).
pub fn write_conf(dir: &Path) -> Result<PathBuf, String> {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens)
        .map_err(|e| format!("cannot create {}: {e}", tokens.display()))?;
    let conf = dir.join("softhsm2.conf");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
        tokens.display()
    );
    std::fs::write(&conf, text).map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
    Ok(conf)
}

/// Initialises a fresh token with this label and PINs in the token directory of
/// `conf` (`None`: of the `SOFTHSM2_CONF` this process has).
pub fn init_token(conf: Option<&Path>, label: &str, pin: &str, so_pin: &str) -> Result<(), String> {
    let mut command = Command::new("softhsm2-util");
    if let Some(conf) = conf {
        command.env("SOFTHSM2_CONF", conf);
    }
    let out = command
        .args(["--init-token", "--free", "--label", label])
        .args(["--pin", pin, "--so-pin", so_pin])
        .output()
        .map_err(|e| {
            format!("cannot run softhsm2-util (Debian package softhsm2; scripts/deps.sh installs it): {e}")
        })?;
    if !out.status.success() {
        return Err(format!(
            "softhsm2-util --init-token failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}
