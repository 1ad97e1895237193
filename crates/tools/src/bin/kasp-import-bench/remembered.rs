//! A key store that answers `public_key` from public keys read beforehand from the real
//! token (token.rs `fixture_public_keys`): what lets the in-process measurement time the
//! import's own work on the key material (`read_key_material`: the lookups, the key tags
//! recomputed and compared) without the token's time, which is measured on its own.
//! Every other operation is refused: the import asks for nothing else.

use kasp_hsm::{Algorithm, HsmError, KeyStore, Locator};
use std::collections::HashMap;

pub struct Remembered {
    pub keys: HashMap<Locator, Vec<u8>>,
}

fn refused(op: &'static str) -> HsmError {
    HsmError::Pkcs11 {
        repository: "SoftHSM".into(),
        op,
        detail: "kasp-import-bench answers public_key only".into(),
    }
}

impl KeyStore for Remembered {
    fn random_locator(&mut self) -> Result<Locator, HsmError> {
        Err(refused("random_locator"))
    }

    fn generate(&mut self, _: &Locator, _: Algorithm, _: u32) -> Result<Vec<u8>, HsmError> {
        Err(refused("generate"))
    }

    fn check_support(&mut self, _: Algorithm, _: u32) -> Result<(), HsmError> {
        Err(refused("check_support"))
    }

    fn exists(&mut self, locator: &Locator) -> Result<bool, HsmError> {
        Ok(self.keys.contains_key(locator))
    }

    fn public_key(&mut self, locator: &Locator, _: Algorithm) -> Result<Vec<u8>, HsmError> {
        self.keys
            .get(locator)
            .cloned()
            .ok_or_else(|| HsmError::KeyNotFound {
                repository: "SoftHSM".into(),
                locator: *locator,
            })
    }

    fn sign(&mut self, _: &Locator, _: Algorithm, _: &[u8]) -> Result<Vec<u8>, HsmError> {
        Err(refused("sign"))
    }

    fn destroy(&mut self, _: &Locator) -> Result<(), HsmError> {
        Err(refused("destroy"))
    }

    fn list(&mut self) -> Result<Vec<Locator>, HsmError> {
        Ok(self.keys.keys().copied().collect())
    }

    fn count(&mut self) -> Result<usize, HsmError> {
        Ok(self.keys.len())
    }
}
