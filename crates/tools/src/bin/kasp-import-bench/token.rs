//! The SoftHSM2 side: one token directory for the whole run (the fixture's token,
//! label `OpenDNSSEC`, copied into it, and a token of the bench's own for the sample),
//! the HSM objects of a synthesized installation's copies, and the token's speed at
//! reading public keys.
//!
//! The copies' key pairs are the fixture's, copied on the token with `C_CopyObject` under
//! the copy's CKA_ID and CKA_LABEL (synth.rs `locator`): the key material, and so the key
//! tag the database stores, stays that of the fixture's key, and no key is generated.

use anyhow::{Context as _, Result, ensure};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::Attribute;
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use kasp_hsm::{Algorithm, KeyStore, Locator, Pkcs11Store, RepositoryConfig, Secret};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The fixture token's label and user PIN (fixtures/ods-import/README.md: a test token).
pub const FIXTURE_LABEL: &str = "OpenDNSSEC";
pub const PIN: &str = "1234";
/// The bench's own token for the sample of generated keys.
const SAMPLE_LABEL: &str = "sample";

/// The token directory of the run: `dir/softhsm2.conf` (made the process's
/// `SOFTHSM2_CONF`, which every child inherits) and `dir/tokens` with the fixture's token
/// and an empty token for the sample. Must run before the module is first loaded.
pub fn prepare(dir: &Path, fixture: &Path) -> Result<PathBuf> {
    let conf = kasp_cli::softhsm::write_conf(dir).map_err(anyhow::Error::msg)?;
    // SAFETY: set while the process has only this thread.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    for e in std::fs::read_dir(fixture.join("tokens"))? {
        let from = e?.path();
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(&from)
            .arg(dir.join("tokens"))
            .status()?;
        ensure!(status.success(), "copying {}", from.display());
    }
    kasp_cli::softhsm::init_token(None, SAMPLE_LABEL, PIN, PIN).map_err(anyhow::Error::msg)?;
    Ok(conf)
}

pub fn module() -> PathBuf {
    PathBuf::from(kasp_cli::softhsm::MODULE)
}

/// A store of kasp-hsm on the token with `label`, as the import opens it.
pub fn store(label: &str) -> Result<Pkcs11Store> {
    let config = RepositoryConfig::new("SoftHSM", module(), label, Some(Secret::new(PIN)));
    Ok(Pkcs11Store::open(config)?)
}

/// A logged-in session straight through cryptoki.
fn session(label: &str) -> Result<Session> {
    let ctx = Pkcs11::new(module())?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(e.into()),
    }
    let slot = ctx
        .get_slots_with_token()?
        .into_iter()
        .find(|s| {
            ctx.get_token_info(*s)
                .is_ok_and(|i| i.label().trim_end() == label)
        })
        .with_context(|| format!("no token {label}"))?;
    let session = ctx.open_rw_session(slot)?;
    let auth: AuthPin = PIN.to_string().into();
    match session.login(UserType::User, Some(&auth)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(session)
}

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// Copies every object of each fixture key to the copies' locators (`(copy, fixture)`
/// pairs; pairs whose locators are equal, copy 0, are the fixture's own). Returns the
/// number of objects made.
pub fn copy_keys(locators: &[(String, String)]) -> Result<u64> {
    let session = session(FIXTURE_LABEL)?;
    let mut objects = BTreeMap::new();
    let mut made = 0;
    for (copy, original) in locators {
        if copy == original {
            continue;
        }
        if !objects.contains_key(original) {
            let found = session.find_objects(&[Attribute::Id(bytes(original))])?;
            ensure!(
                !found.is_empty(),
                "no object {original} on the fixture's token"
            );
            objects.insert(original.clone(), found);
        }
        for h in &objects[original] {
            session
                .copy_object(
                    *h,
                    &[
                        Attribute::Id(bytes(copy)),
                        Attribute::Label(copy.as_bytes().to_vec()),
                    ],
                )
                .with_context(|| format!("C_CopyObject of {original}"))?;
            made += 1;
        }
    }
    Ok(made)
}

/// The public keys of the fixture's keys, read from its token by kasp-hsm.
pub fn fixture_public_keys(
    locators: &[(String, String)],
    algorithms: &BTreeMap<String, u8>,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut store = store(FIXTURE_LABEL)?;
    let mut keys = BTreeMap::new();
    for (_, original) in locators {
        if keys.contains_key(original) {
            continue;
        }
        let algorithm = Algorithm::from_number(algorithms[original])?;
        let key = store.public_key(&Locator::parse(original)?, algorithm)?;
        keys.insert(original.clone(), key);
    }
    Ok(keys)
}

/// The token's speed at the import's question, on a sample: `count` keys of each of
/// ECDSAP256SHA256 and RSASHA256 (1024 bits, the fixture's ZSK size) generated on the
/// bench's own token, then each one's public key read once by a freshly opened store,
/// twice: searching the token for each key (no cached handles), and after one `list`
/// (the token-wide scan `read_key_material` begins with).
#[derive(Debug)]
pub struct Sample {
    pub keys: u64,
    /// Per algorithm, a search per key.
    pub searched: [Duration; 2],
    /// The `list` scan, then per algorithm the reads after it.
    pub list: Duration,
    pub listed: [Duration; 2],
}

pub fn sample(count: usize) -> Result<Sample> {
    let mut generating = store(SAMPLE_LABEL)?;
    let mut made = Vec::new();
    for (algorithm, bits) in [
        (Algorithm::EcdsaP256Sha256, 256),
        (Algorithm::RsaSha256, 1024),
    ] {
        for _ in 0..count {
            let l = generating.random_locator()?;
            generating.generate(&l, algorithm, bits)?;
            made.push((l, algorithm));
        }
    }
    drop(generating);
    let read = |reading: &mut Pkcs11Store| -> Result<[Duration; 2]> {
        let mut by_algorithm = [Duration::ZERO; 2];
        for (l, algorithm) in &made {
            let t = Instant::now();
            let key = reading.public_key(l, *algorithm)?;
            by_algorithm[usize::from(algorithm.is_rsa())] += t.elapsed();
            ensure!(!key.is_empty(), "an empty public key");
        }
        Ok(by_algorithm)
    };
    let searched = read(&mut store(SAMPLE_LABEL)?)?;
    let mut reading = store(SAMPLE_LABEL)?;
    let t = Instant::now();
    let listed_keys = reading.list()?;
    let list = t.elapsed();
    ensure!(
        listed_keys.len() == made.len(),
        "list: {} keys",
        listed_keys.len()
    );
    let listed = read(&mut reading)?;
    Ok(Sample {
        keys: made.len() as u64,
        searched,
        list,
        listed,
    })
}

/// The key objects in the fixture's token as copied into the run's token directory
/// (SoftHSM2's file store: one `<uuid>.object` file per object beside `token.object`).
pub fn fixture_token_objects(dir: &Path, fixture: &Path) -> Result<u64> {
    let mut n = 0;
    for e in std::fs::read_dir(fixture.join("tokens"))? {
        let copied = dir.join("tokens").join(e?.file_name());
        for f in std::fs::read_dir(copied)? {
            let name = f?.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".object") && name != "token.object" {
                n += 1;
            }
        }
    }
    Ok(n)
}
