//! Shared set-up: the SoftHSM token directory, one token per test, raw PKCS#11 access
//! for inspecting what the store left on the token, and signature verification.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use kasp_hsm::{Algorithm, Pkcs11Store, RepositoryConfig, Secret};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature;

/// Debian's SoftHSM2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Every token the tests use; each test takes its own so they can run in parallel.
const TOKENS: &[&str] = &[
    "keys-rsa",
    "keys-curve",
    "records",
    "attrs",
    "attrs-extract",
    "skip",
    "interop",
    "import",
    "no-public",
    "capacity",
    "wrong-pin",
    "no-pin",
    "destroy",
    "half-destroyed",
    "thread",
    "timings",
    "support",
    "support-rsa",
    "keys-listed",
];

struct Setup {
    dir: PathBuf,
    conf: PathBuf,
    pins: HashMap<&'static str, String>,
}

static SETUP: OnceLock<Setup> = OnceLock::new();

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    SystemRandom::new().fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn setup() -> &'static Setup {
    SETUP.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stale_dirs(base);
        let dir = tempfile::Builder::new()
            .prefix("kasp-hsm-softhsm-")
            .tempdir_in(base)
            .unwrap()
            .keep();
        let tokens = dir.join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        // SAFETY: runs once, before this process loads SoftHSM; the other test threads
        // are parked on this OnceLock and read no environment meanwhile.
        unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
        let mut pins = HashMap::new();
        for name in TOKENS {
            let pin = random_hex(8);
            let out = Command::new("softhsm2-util")
                .env("SOFTHSM2_CONF", &conf)
                .args(["--init-token", "--free", "--label", &label(name)])
                .args(["--pin", &pin, "--so-pin", &random_hex(8)])
                .output()
                .expect("softhsm2-util (Debian package softhsm2, see scripts/deps.sh)");
            assert!(out.status.success(), "{out:?}");
            pins.insert(*name, pin);
        }
        Setup { dir, conf, pins }
    })
}

/// Token directories of runs older than an hour (a run takes seconds).
fn remove_stale_dirs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < hour_ago);
        if old
            && e.file_name()
                .to_string_lossy()
                .starts_with("kasp-hsm-softhsm-")
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The token label of a test token (labels are unique within the run's token dir).
pub fn label(name: &str) -> String {
    format!("kasp-{name}")
}

/// The SoftHSM configuration file, for `softhsm2-util` calls.
pub fn conf() -> &'static Path {
    &setup().conf
}

/// A scratch directory inside this run's directory.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(&setup().dir).unwrap()
}

/// The user PIN of a test token.
pub fn pin(name: &str) -> String {
    setup()
        .pins
        .get(name)
        .unwrap_or_else(|| panic!("token {name} not in TOKENS"))
        .clone()
}

/// A repository on the test token `name`.
pub fn config(name: &str) -> RepositoryConfig {
    RepositoryConfig::new(
        format!("repo-{name}"),
        MODULE,
        label(name),
        Some(Secret::new(pin(name))),
    )
}

/// A store on the test token `name`.
pub fn open(name: &str) -> Pkcs11Store {
    Pkcs11Store::open(config(name)).unwrap()
}

/// A raw, logged-in cryptoki session on the test token, to look at objects directly.
pub fn raw_session(name: &str) -> Session {
    setup();
    static RAW: OnceLock<Pkcs11> = OnceLock::new();
    let ctx = RAW.get_or_init(|| {
        let ctx = Pkcs11::new(MODULE).unwrap();
        // The stores may have initialised the library already; that is fine.
        let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
        ctx
    });
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == label(name))
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    let auth: AuthPin = pin(name).into();
    match session.login(UserType::User, Some(&auth)) {
        Ok(()) => {}
        Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("{e}"),
    }
    session
}

/// Checks a DNSSEC signature with ring (and with the openssl CLI for Ed448, which ring
/// lacks: package openssl, installed by scripts/deps.sh). Returns how it was checked.
pub fn verify(algorithm: Algorithm, public_key: &[u8], data: &[u8], sig: &[u8]) -> &'static str {
    use signature::*;
    let rsa = |alg: &'static RsaParameters| {
        let (e, n) = split_rfc3110(public_key);
        RsaPublicKeyComponents { n, e }
            .verify(alg, data, sig)
            .expect("RSA signature");
        "ring"
    };
    let unparsed = |alg: &'static dyn VerificationAlgorithm, key: &[u8]| {
        UnparsedPublicKey::new(alg, key)
            .verify(data, sig)
            .expect("signature");
        "ring"
    };
    let point = || [&[4u8][..], public_key].concat();
    match algorithm {
        Algorithm::RsaSha1 | Algorithm::RsaSha1Nsec3Sha1 => {
            rsa(&RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY)
        }
        Algorithm::RsaSha256 => rsa(&RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY),
        Algorithm::RsaSha512 => rsa(&RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY),
        Algorithm::EcdsaP256Sha256 => unparsed(&ECDSA_P256_SHA256_FIXED, &point()),
        Algorithm::EcdsaP384Sha384 => unparsed(&ECDSA_P384_SHA384_FIXED, &point()),
        Algorithm::Ed25519 => unparsed(&ED25519, public_key),
        Algorithm::Ed448 => verify_ed448_with_openssl(public_key, data, sig),
    }
}

/// Exponent and modulus of an RFC 3110 public-key field.
pub fn split_rfc3110(key: &[u8]) -> (&[u8], &[u8]) {
    let (len, rest) = match key[0] {
        0 => (usize::from(u16::from_be_bytes([key[1], key[2]])), &key[3..]),
        n => (usize::from(n), &key[1..]),
    };
    rest.split_at(len)
}

fn verify_ed448_with_openssl(public_key: &[u8], data: &[u8], sig: &[u8]) -> &'static str {
    assert_eq!(sig.len(), 114, "Ed448 signatures are 114 bytes");
    if let Err(e) = Command::new("openssl").arg("version").output() {
        panic!(
            "openssl is missing ({e}): the Ed448 signature check needs it, package openssl; \
             run scripts/deps.sh"
        );
    }
    let dir = scratch();
    // SubjectPublicKeyInfo of an Ed448 key (RFC 8410): fixed header + 57 key bytes.
    let mut spki = vec![
        0x30, 0x43, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71, 0x03, 0x3a, 0x00,
    ];
    spki.extend_from_slice(public_key);
    let (k, d, s) = (
        dir.path().join("k.der"),
        dir.path().join("d"),
        dir.path().join("s"),
    );
    std::fs::write(&k, spki).unwrap();
    std::fs::write(&d, data).unwrap();
    std::fs::write(&s, sig).unwrap();
    let out = Command::new("openssl")
        .args([
            "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-rawin", "-inkey",
        ])
        .arg(&k)
        .arg("-in")
        .arg(&d)
        .arg("-sigfile")
        .arg(&s)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl refused the Ed448 signature: {out:?}"
    );
    "openssl"
}
