//! The bench's own SoftHSM2 token, in the bench's temp dir: the spare keys the load
//! test's `zone add`s take are generated on it for real, and the daemon destroys
//! them there after the matching `zone delete` (the steady-state zones' keys are
//! kasp-enforce-bench's fake ones: no steady-state pass may touch the HSM).

use anyhow::{Context as _, Result, bail};
use kasp_hsm::{HsmThread, RepositoryConfig, Secret, Timeouts};
use std::path::{Path, PathBuf};

/// conf.xml.in's token label; steady.rs's PIN.
const LABEL: &str = "OpenDNSSEC";
const PIN: &str = "bench-pin";
/// The repository name of conf.xml.in (and of perf-ecdsa.xml's keys).
const REPOSITORY: &str = "SoftHSM";
/// What steady.rs puts in conf.xml.
const NO_MODULE: &str = "<Module>/nonexistent/kasp-enforce-bench.so</Module>";

const MODULES: [&str; 3] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The bench's token.
#[derive(Debug)]
pub struct Token {
    pub module: PathBuf,
}

/// Writes `dir/softhsm2.conf` (tokens in `dir/tokens`) and returns its path; the caller
/// puts it in SOFTHSM2_CONF before any thread starts.
pub fn config(dir: &Path) -> Result<PathBuf> {
    kasp_cli::softhsm::write_conf(dir).map_err(anyhow::Error::msg)
}

/// Initialises the token (SOFTHSM2_CONF must be set).
pub fn init() -> Result<Token> {
    let module = MODULES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .context("no SoftHSM2 module found (apt-get install softhsm2)")?;
    kasp_cli::softhsm::init_token(None, LABEL, PIN, "bench-so-pin").map_err(anyhow::Error::msg)?;
    Ok(Token { module })
}

impl Token {
    /// The token on its HSM thread, as the enforcer opens it.
    pub fn open(&self) -> Result<HsmThread> {
        let config = RepositoryConfig::new(REPOSITORY, &self.module, LABEL, Some(Secret::new(PIN)));
        Ok(HsmThread::open(config, Timeouts::default())?)
    }

    /// Points a steady.rs conf.xml at this token.
    pub fn use_in(&self, conf: &Path) -> Result<()> {
        let text = std::fs::read_to_string(conf)?;
        if !text.contains(NO_MODULE) {
            bail!("{}: no {NO_MODULE}", conf.display());
        }
        let module = format!("<Module>{}</Module>", self.module.display());
        std::fs::write(conf, text.replace(NO_MODULE, &module))?;
        kasp_engine::config::load(conf).map_err(|f| anyhow::anyhow!("conf.xml: {}", f.message))?;
        Ok(())
    }
}
