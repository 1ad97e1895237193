//! The raw side: the token through cryptoki alone, and token set-up.

use super::*;

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn module() -> Result<PathBuf> {
    if let Some(m) = std::env::var_os("KASP_HSM_BENCH_MODULE") {
        return Ok(m.into());
    }
    MODULES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .context(
            "no SoftHSM2 module found (apt-get install softhsm2, or set KASP_HSM_BENCH_MODULE)",
        )
}

/// `softhsm2-util --init-token` for a fresh token in the tokendir of `SOFTHSM2_CONF`.
pub(crate) fn init_token(pin: &str, so_pin: &str) -> Result<()> {
    kasp_cli::softhsm::init_token(None, LABEL, pin, so_pin).map_err(anyhow::Error::msg)
}

/// The token reached directly through cryptoki, without kasp-hsm.
pub(crate) struct Raw {
    pub(crate) session: Session,
}

impl Raw {
    pub(crate) fn open(module: &Path, pin: &str) -> Result<Raw> {
        let ctx = Pkcs11::new(module)?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(e.into()),
        }
        let slot = ctx
            .get_slots_with_token()?
            .into_iter()
            .find(|s| {
                ctx.get_token_info(*s)
                    .is_ok_and(|i| i.label().trim_end() == LABEL)
            })
            .context("the bench token is not there")?;
        let session = ctx.open_rw_session(slot)?;
        let auth: AuthPin = pin.to_string().into();
        match session.login(UserType::User, Some(&auth)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(e.into()),
        }
        // `ctx` may go: the session holds the context, and dropping it does not finalize.
        Ok(Raw { session })
    }

    pub(crate) fn id(&self) -> Result<[u8; 16]> {
        let mut id = [0u8; 16];
        self.session.generate_random_slice(&mut id)?;
        Ok(id)
    }

    /// `C_GenerateKeyPair` with OpenDNSSEC's templates (libhsm's `hsm_generate_*_key`,
    /// as kasp-hsm's `token::key_pair_template` makes them with every option off).
    pub(crate) fn generate(
        &self,
        id: &[u8; 16],
        algorithm: Algorithm,
        bits: u32,
    ) -> Result<(ObjectHandle, ObjectHandle)> {
        // Exactly the templates `Pkcs11Store::generate` uses (OpenDNSSEC's layout).
        let t = key_pair_template(&Locator(*id), algorithm, bits, true, false);
        let (mechanism, public, private) = (t.mechanism, t.public, t.private);
        Ok(self
            .session
            .generate_key_pair(&mechanism, &public, &private)?)
    }

    /// Times the private-key search by CKA_ID that `Pkcs11Store::generate` makes first
    /// (`exists`), for an ID not on the token.
    pub(crate) fn find(&self) -> Result<Duration> {
        let id = self.id()?;
        let t = Instant::now();
        let found = self.session.find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Id(id.to_vec()),
        ])?;
        let d = t.elapsed();
        ensure!(found.is_empty(), "a random CKA_ID is taken");
        Ok(d)
    }

    /// Times the read of a new public key that `Pkcs11Store::generate` makes last.
    pub(crate) fn read(&self, public: ObjectHandle, algorithm: Algorithm) -> Result<Duration> {
        let wanted: &[AttributeType] = if algorithm.is_rsa() {
            &[AttributeType::Modulus, AttributeType::PublicExponent]
        } else {
            &[AttributeType::EcPoint]
        };
        let t = Instant::now();
        let attrs = self.session.get_attributes(public, wanted)?;
        let d = t.elapsed();
        ensure!(attrs.len() == wanted.len(), "public key attributes missing");
        Ok(d)
    }

    /// Destroys every object on the token; returns how many there were.
    pub(crate) fn clear(&self) -> Result<usize> {
        let all = self.session.find_objects(&[])?;
        for h in &all {
            self.session.destroy_object(*h)?;
        }
        Ok(all.len())
    }
}
