//! `Pkcs11Store`: a [`KeyStore`] on one PKCS#11 token, with OpenDNSSEC's key layout
//! (see `token.rs` for opening and the templates).
//!
//! With SkipPublicKey an RSA public key is made as a session object and destroyed once
//! its modulus and exponent are read (they stay readable on the private key, which is
//! where libhsm reads them for such keys). Like OpenDNSSEC, EC and EdDSA public keys are
//! always token objects: PKCS#11 has no way to read an EC point back from a sensitive
//! private key, and the signer must be able to publish the DNSKEY.
//!
//! Capacity is checked against a running count: the token's private keys are counted
//! once per session (or at every `count`/`list`), then this store's own generate and
//! destroy adjust it; keys another process adds meanwhile show at the next count.
//!
//! Finding an object costs time linear in the token's object count with SoftHSM, so
//! locator→private-key handles are cached for the session and checked with one cheap
//! `C_GetAttributeValue` (CKA_ID) before use.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{MechanismInfo, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::Slot;
use kasp_events::Locator;

use crate::algorithm::Algorithm;
use crate::dnssec::{ec_point_public_key, rsa_public_key};
use crate::repository::RepositoryConfig;
use crate::store::{HsmError, KeyStore};
use crate::token;

/// One logged-in RW session on the token of one repository.
pub struct Pkcs11Store {
    repository: String,
    capacity: Option<u64>,
    skip_public_key: bool,
    allow_extraction: bool,
    mechanisms: Vec<MechanismType>,
    /// The module context and slot, for `C_GetMechanismInfo`.
    ctx: Arc<Pkcs11>,
    slot: Slot,
    handles: HashMap<Locator, ObjectHandle>,
    /// Public-key objects by CKA_ID as `list` last saw them, for `public_key`: a handle
    /// is used only after its CKA_ID is read back, and a locator not found here is
    /// searched for (a token search is linear in the object count, so reading the keys
    /// of a whole database, as `setup --import-ods` does, one search each, is quadratic).
    public_handles: HashMap<Locator, Vec<ObjectHandle>>,
    /// Private keys on the token as last counted, kept up to date by this store's own
    /// generate and destroy, so Capacity costs one token-wide search per session.
    key_count: Option<usize>,
    /// Locators this store drew from the token's random generator and has not used
    /// yet: `generate` needs no token search (linear in the object count) to know they
    /// are free. Any other locator is searched for first.
    fresh: std::collections::HashSet<Locator>,
    session: Session,
}

impl fmt::Debug for Pkcs11Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Store")
            .field("repository", &self.repository)
            .field("cached_handles", &self.handles.len())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Store {
    /// Loads the module (once per process), finds the token by label, opens an RW
    /// session and logs in with the configured PIN. Takes the config by value or by
    /// reference.
    pub fn open(config: impl Borrow<RepositoryConfig>) -> Result<Pkcs11Store, HsmError> {
        let config = config.borrow();
        let token::LoggedIn {
            session,
            mechanisms,
            ctx,
            slot,
        } = token::login(config)?;
        Ok(Pkcs11Store {
            repository: config.name.clone(),
            capacity: config.capacity,
            skip_public_key: config.skip_public_key,
            allow_extraction: config.allow_extraction,
            mechanisms,
            ctx,
            slot,
            handles: HashMap::new(),
            public_handles: HashMap::new(),
            key_count: None,
            fresh: std::collections::HashSet::new(),
            session,
        })
    }

    /// The repository name this store was opened for.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    fn fail(&self, op: &'static str) -> impl Fn(CkError) -> HsmError + '_ {
        move |e| token::pkcs11_error(&self.repository, op, e)
    }

    fn not_found(&self, locator: &Locator) -> HsmError {
        HsmError::KeyNotFound {
            repository: self.repository.clone(),
            locator: *locator,
        }
    }

    /// The private key with this CKA_ID: a cached handle still carrying that ID, else a
    /// token search (whose hit is cached).
    fn find_private(&mut self, locator: &Locator) -> Result<Option<ObjectHandle>, HsmError> {
        if let Some(&h) = self.handles.get(locator) {
            match self.session.get_attributes(h, &[AttributeType::Id]) {
                Ok(attrs) if id_of(&attrs) == Some(&locator.0[..]) => return Ok(Some(h)),
                _ => {
                    self.handles.remove(locator);
                }
            }
        }
        let found = self
            .session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(locator.0.to_vec()),
            ])
            .map_err(self.fail("find key"))?;
        let first = found.first().copied();
        if let Some(h) = first {
            self.handles.insert(*locator, h);
        }
        Ok(first)
    }

    fn find_public(&self, locator: &Locator) -> Result<Vec<ObjectHandle>, HsmError> {
        self.session
            .find_objects(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::Id(locator.0.to_vec()),
            ])
            .map_err(self.fail("find public key"))
    }

    /// The public-key objects with this CKA_ID: those `list` saw that still carry it,
    /// else a token search.
    fn public_objects(&mut self, locator: &Locator) -> Result<Vec<ObjectHandle>, HsmError> {
        if let Some(seen) = self.public_handles.get(locator) {
            let still: Vec<ObjectHandle> = seen
                .iter()
                .copied()
                .filter(|h| {
                    self.session
                        .get_attributes(*h, &[AttributeType::Id])
                        .is_ok_and(|a| id_of(&a) == Some(&locator.0[..]))
                })
                .collect();
            if !still.is_empty() {
                return Ok(still);
            }
            self.public_handles.remove(locator);
        }
        self.find_public(locator)
    }

    /// The DNSKEY public-key field from the attributes of `handle`, or `None` when the
    /// object does not carry them.
    fn read_public(
        &self,
        handle: ObjectHandle,
        algorithm: Algorithm,
    ) -> Result<Option<Vec<u8>>, HsmError> {
        let bad = |e: crate::dnssec::RecordError| HsmError::Pkcs11 {
            repository: self.repository.clone(),
            op: "read public key",
            detail: e.to_string(),
        };
        if algorithm.is_rsa() {
            let attrs = self
                .session
                .get_attributes(
                    handle,
                    &[AttributeType::Modulus, AttributeType::PublicExponent],
                )
                .map_err(self.fail("read public key"))?;
            let (mut n, mut e) = (None, None);
            for a in &attrs {
                match a {
                    Attribute::Modulus(v) => n = Some(v),
                    Attribute::PublicExponent(v) => e = Some(v),
                    _ => {}
                }
            }
            match (e, n) {
                (Some(e), Some(n)) => Ok(Some(rsa_public_key(e, n).map_err(bad)?)),
                _ => Ok(None),
            }
        } else {
            let attrs = self
                .session
                .get_attributes(handle, &[AttributeType::EcPoint])
                .map_err(self.fail("read public key"))?;
            match attrs.iter().find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p),
                _ => None,
            }) {
                Some(p) => Ok(Some(ec_point_public_key(algorithm, p).map_err(bad)?)),
                None => Ok(None),
            }
        }
    }

    /// Refuses to read a key as `algorithm` when CKA_KEY_TYPE says otherwise.
    fn check_key_type(&self, handle: ObjectHandle, algorithm: Algorithm) -> Result<(), HsmError> {
        let attrs = self
            .session
            .get_attributes(handle, &[AttributeType::KeyType])
            .map_err(self.fail("read key type"))?;
        let want = token::key_type(algorithm);
        match attrs.iter().find_map(|a| match a {
            Attribute::KeyType(t) => Some(*t),
            _ => None,
        }) {
            Some(t) if t == want => Ok(()),
            found => Err(HsmError::Pkcs11 {
                repository: self.repository.clone(),
                op: "read public key",
                detail: format!(
                    "the key is {}, not the {want} that algorithm {algorithm} needs",
                    found.map_or("of unknown type".to_string(), |t| t.to_string())
                ),
            }),
        }
    }

    fn unsupported(&self, algorithm: Algorithm, detail: impl Into<String>) -> HsmError {
        HsmError::AlgorithmUnsupported {
            repository: self.repository.clone(),
            algorithm,
            detail: detail.into(),
        }
    }

    /// `C_GetMechanismInfo` of a mechanism `algorithm` needs; refused as unsupported
    /// when the token does not list it.
    fn mechanism_info(
        &self,
        algorithm: Algorithm,
        mechanism: MechanismType,
    ) -> Result<MechanismInfo, HsmError> {
        if !self.mechanisms.contains(&mechanism) {
            return Err(
                self.unsupported(algorithm, format!("no {mechanism} in its mechanism list"))
            );
        }
        match self.ctx.get_mechanism_info(self.slot, mechanism) {
            Ok(info) => Ok(info),
            Err(CkError::Pkcs11(RvError::MechanismInvalid, _)) => {
                Err(self.unsupported(algorithm, format!("no {mechanism} in its mechanism list")))
            }
            Err(e) => Err(self.fail("check algorithm support")(e)),
        }
    }
}

impl KeyStore for Pkcs11Store {
    fn random_locator(&mut self) -> Result<Locator, HsmError> {
        let mut id = [0u8; 16];
        self.session
            .generate_random_slice(&mut id)
            .map_err(self.fail("random"))?;
        // 2^-128 odds of a clash are not worth a token search per key (linear in the
        // object count): `generate` trusts a locator drawn here, and searches for any
        // other before using it.
        let locator = Locator(id);
        self.fresh.insert(locator);
        Ok(locator)
    }

    fn generate(
        &mut self,
        locator: &Locator,
        algorithm: Algorithm,
        bits: u32,
    ) -> Result<Vec<u8>, HsmError> {
        let drawn_here = self.fresh.remove(locator);
        if !drawn_here && self.exists(locator)? {
            return Err(HsmError::KeyExists {
                repository: self.repository.clone(),
                locator: *locator,
            });
        }
        let held = match self.key_count {
            Some(n) => n,
            None => self.count()?,
        };
        if let Some(capacity) = self.capacity
            && held as u64 >= capacity
        {
            return Err(HsmError::CapacityReached {
                repository: self.repository.clone(),
                capacity,
            });
        }
        let token_public = !(self.skip_public_key && algorithm.is_rsa());
        let template = token::key_pair_template(
            locator,
            algorithm,
            bits,
            token_public,
            self.allow_extraction,
        );
        self.check_support(algorithm, bits)?;
        let (pub_h, priv_h) = match self.session.generate_key_pair(
            &template.mechanism,
            &template.public,
            &template.private,
        ) {
            Ok(pair) => pair,
            Err(CkError::Pkcs11(
                rv @ (RvError::MechanismInvalid
                | RvError::CurveNotSupported
                | RvError::DomainParamsInvalid),
                function,
            )) => {
                return Err(self.unsupported(algorithm, format!("C_{function:?} returned {rv:?}")));
            }
            Err(CkError::Pkcs11(rv @ RvError::AttributeValueInvalid, function))
                if !algorithm.is_rsa() =>
            {
                return Err(self.unsupported(
                    algorithm,
                    format!("C_{function:?} returned {rv:?} (the curve is probably not supported)"),
                ));
            }
            Err(e) => return Err(self.fail("generate")(e)),
        };
        let key = self.read_public(pub_h, algorithm).and_then(|k| {
            k.ok_or_else(|| HsmError::Pkcs11 {
                repository: self.repository.clone(),
                op: "generate",
                detail: "the new public key has no key material".to_string(),
            })
        });
        if !token_public || key.is_err() {
            // A session object would vanish anyway; destroy it now (as libhsm does).
            let _ = self.session.destroy_object(pub_h);
        }
        if key.is_err() {
            let _ = self.session.destroy_object(priv_h);
            return key;
        }
        self.handles.insert(*locator, priv_h);
        self.key_count = Some(held + 1);
        key
    }

    fn check_support(&mut self, algorithm: Algorithm, bits: u32) -> Result<(), HsmError> {
        let generate = token::key_pair_mechanism(algorithm).mechanism_type();
        let sign = token::sign_mechanism(algorithm).mechanism_type();
        let generate_info = self.mechanism_info(algorithm, generate)?;
        if !generate_info.generate_key_pair() {
            return Err(self.unsupported(
                algorithm,
                format!("its {generate} cannot generate key pairs"),
            ));
        }
        let sign_info = self.mechanism_info(algorithm, sign)?;
        if !sign_info.sign() {
            return Err(self.unsupported(algorithm, format!("its {sign} cannot sign")));
        }
        if algorithm.is_rsa() {
            // Sizes are in bits for RSA; a maximum of 0 is read as "no stated limit".
            let bits_usize = bits as usize;
            for (mechanism, info) in [(generate, &generate_info), (sign, &sign_info)] {
                let (min, max) = (info.min_key_size(), info.max_key_size());
                if bits_usize < min || (max != 0 && bits_usize > max) {
                    let range = if max == 0 {
                        format!("at least {min} bits")
                    } else {
                        format!("{min} to {max} bits")
                    };
                    return Err(self.unsupported(
                        algorithm,
                        format!(
                            "RSA keys of {bits} bits are outside the sizes its {mechanism} \
                             supports ({range})"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn exists(&mut self, locator: &Locator) -> Result<bool, HsmError> {
        Ok(self.find_private(locator)?.is_some())
    }

    fn public_key(&mut self, locator: &Locator, algorithm: Algorithm) -> Result<Vec<u8>, HsmError> {
        let private = self
            .find_private(locator)?
            .ok_or_else(|| self.not_found(locator))?;
        self.check_key_type(private, algorithm)?;
        // RSA private keys carry modulus and exponent (libhsm falls back to them for
        // SkipPublicKey keys); some tokens expose CKA_EC_POINT on EC private keys too.
        if let Some(key) = self.read_public(private, algorithm)? {
            return Ok(key);
        }
        for public in self.public_objects(locator)? {
            if let Some(key) = self.read_public(public, algorithm)? {
                return Ok(key);
            }
        }
        let why = if algorithm.is_rsa() {
            "neither the private nor a public key object has CKA_MODULUS and CKA_PUBLIC_EXPONENT"
        } else {
            "there is no public-key object with this CKA_ID, and PKCS#11 cannot derive an EC \
             point from a sensitive private key (OpenDNSSEC cannot either); such a key cannot \
             be published: import its public key onto the token or retire it"
        };
        Err(HsmError::PublicKeyUnavailable {
            repository: self.repository.clone(),
            locator: *locator,
            why: why.to_string(),
        })
    }

    fn sign(
        &mut self,
        locator: &Locator,
        algorithm: Algorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, HsmError> {
        let key = self
            .find_private(locator)?
            .ok_or_else(|| self.not_found(locator))?;
        let input = algorithm.sign_input(data);
        self.session
            .sign(&token::sign_mechanism(algorithm), key, &input)
            .map_err(self.fail("sign"))
    }

    fn destroy(&mut self, locator: &Locator) -> Result<(), HsmError> {
        let private = self.find_private(locator)?;
        if let Some(private) = private {
            self.session
                .destroy_object(private)
                .map_err(self.fail("destroy"))?;
            self.handles.remove(locator);
            self.key_count = self.key_count.map(|n| n.saturating_sub(1));
        }
        // Public objects go too, also when the private key is already gone: a process
        // killed between the two leaves the public half behind.
        for public in self.find_public(locator)? {
            self.session
                .destroy_object(public)
                .map_err(self.fail("destroy public key"))?;
        }
        match private {
            Some(_) => Ok(()),
            None => Err(self.not_found(locator)),
        }
    }

    fn list(&mut self) -> Result<Vec<Locator>, HsmError> {
        let all = self
            .session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
            .map_err(self.fail("list"))?;
        self.key_count = Some(all.len());
        let mut out = Vec::with_capacity(all.len());
        for h in all {
            let attrs = self
                .session
                .get_attributes(h, &[AttributeType::Id])
                .map_err(self.fail("list"))?;
            if let Some(Ok(id)) = id_of(&attrs).map(<[u8; 16]>::try_from) {
                let locator = Locator(id);
                self.handles.insert(locator, h);
                out.push(locator);
            }
        }
        // The public-key objects too, for `public_key` (one scan instead of one search
        // per key when a caller reads the keys of many).
        let public = self
            .session
            .find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY)])
            .map_err(self.fail("list"))?;
        self.public_handles.clear();
        for h in public {
            let attrs = self
                .session
                .get_attributes(h, &[AttributeType::Id])
                .map_err(self.fail("list"))?;
            if let Some(Ok(id)) = id_of(&attrs).map(<[u8; 16]>::try_from) {
                self.public_handles.entry(Locator(id)).or_default().push(h);
            }
        }
        Ok(out)
    }

    fn count(&mut self) -> Result<usize, HsmError> {
        let all = self
            .session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
            .map_err(self.fail("count"))?;
        self.key_count = Some(all.len());
        Ok(all.len())
    }
}

fn id_of(attrs: &[Attribute]) -> Option<&[u8]> {
    attrs.iter().find_map(|a| match a {
        Attribute::Id(id) => Some(&id[..]),
        _ => None,
    })
}
