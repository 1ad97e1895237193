//! What lands on the token: OpenDNSSEC's attributes, SkipPublicKey, and keys made by
//! another store or by `softhsm2-util` being found by locator.

use std::process::Command;

use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use kasp_hsm::{Algorithm, HsmError, KeyStore, Locator, Pkcs11Store};

use crate::common::{self, config, label, open, pin, raw_session, scratch, verify};

fn objects(session: &Session, class: ObjectClass, locator: &Locator) -> Vec<ObjectHandle> {
    session
        .find_objects(&[Attribute::Class(class), Attribute::Id(locator.0.to_vec())])
        .unwrap()
}

fn attrs(session: &Session, h: ObjectHandle, types: &[AttributeType]) -> Vec<Attribute> {
    session.get_attributes(h, types).unwrap()
}

fn flag(attrs: &[Attribute], want: AttributeType) -> bool {
    attrs
        .iter()
        .find_map(|a| match (a, want) {
            (Attribute::Sensitive(v), AttributeType::Sensitive)
            | (Attribute::Extractable(v), AttributeType::Extractable)
            | (Attribute::Token(v), AttributeType::Token)
            | (Attribute::Private(v), AttributeType::Private)
            | (Attribute::Sign(v), AttributeType::Sign)
            | (Attribute::Decrypt(v), AttributeType::Decrypt) => Some(*v),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{want:?} missing"))
}

fn check_private(name: &str, locator: &Locator, extractable: bool) {
    let session = raw_session(name);
    let private = objects(&session, ObjectClass::PRIVATE_KEY, locator);
    assert_eq!(private.len(), 1);
    use AttributeType as T;
    let types = [
        T::Sensitive,
        T::Extractable,
        T::Token,
        T::Private,
        T::Sign,
        T::Decrypt,
    ];
    let a = attrs(&session, private[0], &[&types[..], &[T::Label]].concat());
    assert!(flag(&a, T::Sensitive));
    assert_eq!(flag(&a, T::Extractable), extractable);
    assert!(flag(&a, T::Token) && flag(&a, T::Private) && flag(&a, T::Sign));
    assert!(!flag(&a, T::Decrypt));
    assert!(a.contains(&Attribute::Label(locator.to_string().into_bytes())));
    let public = objects(&session, ObjectClass::PUBLIC_KEY, locator);
    assert_eq!(public.len(), 1, "a token public key with the same CKA_ID");
    let a = attrs(&session, public[0], &[T::Token, T::Label]);
    assert!(flag(&a, T::Token));
    assert!(a.contains(&Attribute::Label(locator.to_string().into_bytes())));
}

#[test]
fn private_keys_are_sensitive_and_not_extractable() {
    let mut store = open("attrs");
    for (algorithm, bits) in [
        (Algorithm::RsaSha256, 1024),
        (Algorithm::EcdsaP256Sha256, 0),
    ] {
        let locator = store.random_locator().unwrap();
        store.generate(&locator, algorithm, bits).unwrap();
        check_private("attrs", &locator, false);
    }
}

#[test]
fn allow_extraction_makes_private_keys_extractable() {
    let mut cfg = config("attrs-extract");
    cfg.allow_extraction = true;
    let mut store = Pkcs11Store::open(&cfg).unwrap();
    let locator = store.random_locator().unwrap();
    store.generate(&locator, Algorithm::Ed25519, 0).unwrap();
    check_private("attrs-extract", &locator, true);
}

#[test]
fn skip_public_key_leaves_no_rsa_public_object() {
    let mut cfg = config("skip");
    cfg.skip_public_key = true;
    let mut store = Pkcs11Store::open(&cfg).unwrap();
    let rsa = store.random_locator().unwrap();
    let public = store.generate(&rsa, Algorithm::RsaSha256, 1024).unwrap();
    let ec = store.random_locator().unwrap();
    store.generate(&ec, Algorithm::EcdsaP256Sha256, 0).unwrap();
    drop(store);
    let session = raw_session("skip");
    assert!(objects(&session, ObjectClass::PUBLIC_KEY, &rsa).is_empty());
    assert_eq!(objects(&session, ObjectClass::PRIVATE_KEY, &rsa).len(), 1);
    // Like libhsm, SkipPublicKey only concerns RSA: an EC point cannot be read back
    // from the private key, so the EC public key stays on the token.
    assert_eq!(objects(&session, ObjectClass::PUBLIC_KEY, &ec).len(), 1);
    // A fresh session reads the RSA public key from the private key object.
    let mut store = Pkcs11Store::open(&cfg).unwrap();
    assert_eq!(
        store.public_key(&rsa, Algorithm::RsaSha256).unwrap(),
        public
    );
    let sig = store.sign(&rsa, Algorithm::RsaSha256, b"data").unwrap();
    verify(Algorithm::RsaSha256, &public, b"data", &sig);
}

#[test]
fn another_store_finds_keys_by_locator() {
    let mut a = open("interop");
    let mut made = Vec::new();
    for (algorithm, bits) in [(Algorithm::RsaSha1, 1024), (Algorithm::Ed25519, 0)] {
        let locator = a.random_locator().unwrap();
        made.push((
            locator,
            algorithm,
            a.generate(&locator, algorithm, bits).unwrap(),
        ));
    }
    drop(a);
    let mut b = open("interop");
    for (locator, algorithm, public) in made {
        assert!(b.exists(&locator).unwrap());
        assert!(b.list().unwrap().contains(&locator));
        assert_eq!(b.public_key(&locator, algorithm).unwrap(), public);
        let sig = b.sign(&locator, algorithm, b"zone data").unwrap();
        verify(algorithm, &public, b"zone data", &sig);
    }
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl (Debian package openssl, see scripts/deps.sh)");
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

/// Imports an openssl key with `softhsm2-util` in OpenDNSSEC's layout (CKA_ID = the
/// locator bytes, CKA_LABEL = its hex) and returns the locator.
fn import(pem: &std::path::Path) -> Locator {
    let mut store = open("import");
    let locator = store.random_locator().unwrap();
    let hex = locator.to_string();
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", common::conf())
        .arg("--import")
        .arg(pem)
        .args(["--token", &label("import"), "--label", &hex, "--id", &hex])
        .args(["--pin", &pin("import")])
        .output()
        .expect("softhsm2-util (Debian package softhsm2, see scripts/deps.sh)");
    assert!(out.status.success(), "{out:?}");
    locator
}

#[test]
fn keys_imported_by_softhsm2_util_are_found_by_locator() {
    let dir = scratch();
    let ec = dir.path().join("ec.pem");
    let rsa = dir.path().join("rsa.pem");
    let ec_s = ec.to_str().unwrap();
    let rsa_s = rsa.to_str().unwrap();
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        ec_s,
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        rsa_s,
    ]);
    let ec_loc = import(&ec);
    let rsa_loc = import(&rsa);

    let mut store = open("import");
    assert!(store.list().unwrap().contains(&ec_loc));
    // P-256 SubjectPublicKeyInfo ends with the uncompressed point 04 || X || Y.
    let spki = openssl(&["pkey", "-in", ec_s, "-pubout", "-outform", "DER"]);
    let public = store
        .public_key(&ec_loc, Algorithm::EcdsaP256Sha256)
        .unwrap();
    assert_eq!(public, spki[spki.len() - 64..]);
    let sig = store
        .sign(&ec_loc, Algorithm::EcdsaP256Sha256, b"x")
        .unwrap();
    verify(Algorithm::EcdsaP256Sha256, &public, b"x", &sig);

    let modulus = String::from_utf8(openssl(&["rsa", "-in", rsa_s, "-noout", "-modulus"])).unwrap();
    let public = store.public_key(&rsa_loc, Algorithm::RsaSha256).unwrap();
    let (e, n) = crate::common::split_rfc3110(&public);
    assert_eq!(e, [1, 0, 1]);
    let n_hex: String = n.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(modulus.trim(), format!("Modulus={n_hex}"));
}

#[test]
fn ec_key_without_public_object_is_reported_clearly() {
    let mut store = open("no-public");
    let locator = store.random_locator().unwrap();
    let public = store
        .generate(&locator, Algorithm::EcdsaP384Sha384, 0)
        .unwrap();
    let session = raw_session("no-public");
    for h in objects(&session, ObjectClass::PUBLIC_KEY, &locator) {
        session.destroy_object(h).unwrap();
    }
    match store.public_key(&locator, Algorithm::EcdsaP384Sha384) {
        Err(HsmError::PublicKeyUnavailable { why, .. }) => {
            assert!(why.contains("EC point"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // Signing still works, and the signature checks against the recorded key.
    let sig = store
        .sign(&locator, Algorithm::EcdsaP384Sha384, b"x")
        .unwrap();
    verify(Algorithm::EcdsaP384Sha384, &public, b"x", &sig);
    // Asking for the wrong kind of key is an error, not a garbage DNSKEY.
    let err = store
        .public_key(&locator, Algorithm::RsaSha256)
        .unwrap_err()
        .to_string();
    assert!(err.contains("CKK_EC"), "{err}");
}
