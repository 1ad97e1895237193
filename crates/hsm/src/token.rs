//! Reaching a token, and OpenDNSSEC's object layout on it.
//!
//! Opening: each PKCS#11 module is loaded and `C_Initialize`d (with OS locking) once per
//! process, through a registry keyed by the module's canonical path, so two stores on
//! the same module share one context. The token is looked up by label on every open
//! because SoftHSM renumbers slots; login failures become typed errors.
//!
//! Layout (libhsm's `hsm_generate_*_key`, reproduced attribute for attribute): CKA_ID =
//! the 16 locator bytes and CKA_LABEL = their lower-case hex on both halves; the public
//! key verifies only, the private key signs only and is token, private, sensitive, with
//! CKA_EXTRACTABLE = AllowExtraction.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, KeyType};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use kasp_events::Locator;

use crate::algorithm::{Algorithm, KeyFamily};
use crate::repository::RepositoryConfig;
use crate::store::HsmError;

/// Loaded and initialised modules, by canonical path.
static MODULES: OnceLock<Mutex<HashMap<PathBuf, Arc<Pkcs11>>>> = OnceLock::new();

/// A logged-in RW session on a token, with what is needed to ask about its mechanisms.
pub(crate) struct LoggedIn {
    pub session: Session,
    /// The token's mechanism list (`C_GetMechanismList`), read at login.
    pub mechanisms: Vec<MechanismType>,
    /// The module's context and the token's slot, for `C_GetMechanismInfo`.
    pub ctx: Arc<Pkcs11>,
    pub slot: Slot,
}

/// A logged-in RW session on the repository's token, with the token's mechanisms.
pub(crate) fn login(config: &RepositoryConfig) -> Result<LoggedIn, HsmError> {
    let repository = &config.name;
    let ctx = module(config)?;
    let slot = find_token(&ctx, config)?;
    let Some(pin) = config.pin.as_ref() else {
        return Err(HsmError::PinRequired {
            repository: repository.clone(),
        });
    };
    let fail = |op| move |e| pkcs11_error(repository, op, e);
    let mechanisms = ctx.get_mechanism_list(slot).map_err(fail("open"))?;
    let session = ctx.open_rw_session(slot).map_err(fail("open"))?;
    let auth: AuthPin = pin.expose().to_string().into();
    match session.login(UserType::User, Some(&auth)) {
        // Login state is per token and process: another store may have logged in.
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(LoggedIn {
            session,
            mechanisms,
            ctx,
            slot,
        }),
        Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
            Err(HsmError::WrongPin {
                repository: repository.clone(),
            })
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(HsmError::PinLocked {
            repository: repository.clone(),
        }),
        Err(e) => Err(fail("login")(e)),
    }
}

/// The process-wide, initialised context of the repository's module.
fn module(config: &RepositoryConfig) -> Result<Arc<Pkcs11>, HsmError> {
    let path = &config.module;
    if !path.is_file() {
        return Err(HsmError::ModuleMissing {
            repository: config.name.clone(),
            path: path.clone(),
        });
    }
    let load_error = |detail: String| HsmError::ModuleLoad {
        repository: config.name.clone(),
        path: path.clone(),
        detail,
    };
    let key = std::fs::canonicalize(path).map_err(|e| load_error(e.to_string()))?;
    let registry = MODULES.get_or_init(Default::default);
    let mut modules = registry.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(ctx) = modules.get(&key) {
        return Ok(Arc::clone(ctx));
    }
    let ctx = Pkcs11::new(&key).map_err(|e| load_error(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(load_error(format!("C_Initialize failed: {e}"))),
    }
    let ctx = Arc::new(ctx);
    modules.insert(key, Arc::clone(&ctx));
    Ok(ctx)
}

/// The slot whose token has the configured label.
fn find_token(ctx: &Pkcs11, config: &RepositoryConfig) -> Result<Slot, HsmError> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| pkcs11_error(&config.name, "find token", e))?;
    for slot in slots {
        // A slot that cannot report its token is simply not the one we want.
        if let Ok(info) = ctx.get_token_info(slot)
            && info.label().trim_end() == config.token_label
        {
            return Ok(slot);
        }
    }
    Err(HsmError::TokenNotFound {
        repository: config.name.clone(),
        label: config.token_label.clone(),
    })
}

/// A cryptoki failure as an [`HsmError::Pkcs11`], e.g. `C_Sign returned KeyHandleInvalid`.
pub(crate) fn pkcs11_error(repository: &str, op: &'static str, e: CkError) -> HsmError {
    let detail = match &e {
        CkError::Pkcs11(rv, function) => format!("C_{function:?} returned {rv:?}"),
        other => other.to_string(),
    };
    HsmError::Pkcs11 {
        repository: repository.to_string(),
        op,
        detail,
    }
}

/// The CKA_KEY_TYPE of an algorithm's keys.
pub(crate) fn key_type(algorithm: Algorithm) -> KeyType {
    match algorithm.family() {
        KeyFamily::Rsa => KeyType::RSA,
        KeyFamily::Ecdsa { .. } => KeyType::EC,
        KeyFamily::EdDsa { .. } => KeyType::EC_EDWARDS,
    }
}

/// The signing mechanism: the token only pads or signs, hashing is done in software.
pub(crate) fn sign_mechanism(algorithm: Algorithm) -> Mechanism<'static> {
    match algorithm.family() {
        KeyFamily::Rsa => Mechanism::RsaPkcs,
        KeyFamily::Ecdsa { .. } => Mechanism::Ecdsa,
        KeyFamily::EdDsa { .. } => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
    }
}

/// The key-pair generation mechanism of an algorithm's family.
pub(crate) fn key_pair_mechanism(algorithm: Algorithm) -> Mechanism<'static> {
    match algorithm.family() {
        KeyFamily::Rsa => Mechanism::RsaPkcsKeyPairGen,
        KeyFamily::Ecdsa { .. } => Mechanism::EccKeyPairGen,
        KeyFamily::EdDsa { .. } => Mechanism::EccEdwardsKeyPairGen,
    }
}

/// A key pair to generate: mechanism and the two templates.
#[derive(Debug)]
pub struct KeyPairTemplate {
    pub mechanism: Mechanism<'static>,
    pub public: Vec<Attribute>,
    pub private: Vec<Attribute>,
}

/// OpenDNSSEC's templates for a key pair named `locator`. `token_public` false makes the
/// public key a session object (SkipPublicKey, RSA only). Public so that a benchmark can
/// ask the token for exactly the key pairs the store asks for.
pub fn key_pair_template(
    locator: &Locator,
    algorithm: Algorithm,
    bits: u32,
    token_public: bool,
    extractable: bool,
) -> KeyPairTemplate {
    let id = locator.0.to_vec();
    let label = locator.to_string().into_bytes();
    let key_type = key_type(algorithm);
    let mut public = vec![
        Attribute::Label(label.clone()),
        Attribute::Id(id.clone()),
        Attribute::KeyType(key_type),
        Attribute::Verify(true),
        Attribute::Encrypt(false),
        Attribute::Wrap(false),
        Attribute::Token(token_public),
    ];
    match algorithm.family() {
        KeyFamily::Rsa => {
            public.push(Attribute::ModulusBits(u64::from(bits).into()));
            public.push(Attribute::PublicExponent(vec![1, 0, 1]));
        }
        KeyFamily::Ecdsa { ec_params } | KeyFamily::EdDsa { ec_params } => {
            public.insert(0, Attribute::EcParams(ec_params.to_vec()));
        }
    }
    let mechanism = key_pair_mechanism(algorithm);
    let private = vec![
        Attribute::Label(label),
        Attribute::Id(id),
        Attribute::KeyType(key_type),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Unwrap(false),
        Attribute::Sensitive(true),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Extractable(extractable),
    ];
    KeyPairTemplate {
        mechanism,
        public,
        private,
    }
}
