//! Fault cases: what the operator sees when configuration or token state is wrong.

use kasp_hsm::{Algorithm, HsmError, KeyStore, Pkcs11Store, Secret};

use crate::common::{config, open, pin};

fn open_err(cfg: &kasp_hsm::RepositoryConfig) -> HsmError {
    Pkcs11Store::open(cfg).unwrap_err()
}

#[test]
fn missing_module_is_named() {
    let mut cfg = config("no-pin");
    cfg.module = "/nonexistent/libpkcs11.so".into();
    let err = open_err(&cfg);
    assert!(matches!(err, HsmError::ModuleMissing { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("/nonexistent/libpkcs11.so") && text.contains("repo-no-pin"));
}

#[test]
fn a_file_that_is_no_module_fails_to_load() {
    // A text file this test writes (a file of the machine may be missing: another error).
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("libnot-a-module.so");
    std::fs::write(&text, "not a shared object\n").unwrap();
    let mut cfg = config("no-pin");
    cfg.module = text;
    let err = open_err(&cfg);
    assert!(matches!(err, HsmError::ModuleLoad { .. }), "{err:?}");
}

#[test]
fn unknown_token_label() {
    let mut cfg = config("no-pin");
    cfg.token_label = "no-such-token".into();
    let err = open_err(&cfg);
    assert_eq!(
        err,
        HsmError::TokenNotFound {
            repository: "repo-no-pin".into(),
            label: "no-such-token".into()
        }
    );
    assert!(err.to_string().contains("\"no-such-token\""));
}

#[test]
fn missing_pin_says_conf_xml_needs_it() {
    let mut cfg = config("no-pin");
    cfg.pin = None;
    let text = open_err(&cfg).to_string();
    assert!(
        text.contains("<PIN>") && text.contains("conf.xml"),
        "{text}"
    );
}

#[test]
fn wrong_pin_is_reported_without_the_pin() {
    let mut cfg = config("wrong-pin");
    let wrong = format!("{}x", pin("wrong-pin"));
    cfg.pin = Some(Secret::new(wrong.clone()));
    let err = open_err(&cfg);
    assert_eq!(
        err,
        HsmError::WrongPin {
            repository: "repo-wrong-pin".into()
        }
    );
    let text = format!("{err} {err:?} {cfg:?}");
    assert!(
        !text.contains(&wrong) && !text.contains(&pin("wrong-pin")),
        "{text}"
    );
}

#[test]
fn capacity_stops_generation() {
    let mut cfg = config("capacity");
    cfg.capacity = Some(2);
    let mut store = Pkcs11Store::open(&cfg).unwrap();
    for _ in 0..2 {
        let l = store.random_locator().unwrap();
        store.generate(&l, Algorithm::Ed25519, 0).unwrap();
    }
    let l = store.random_locator().unwrap();
    let err = store.generate(&l, Algorithm::Ed25519, 0).unwrap_err();
    assert_eq!(
        err,
        HsmError::CapacityReached {
            repository: "repo-capacity".into(),
            capacity: 2
        }
    );
    assert!(!store.exists(&l).unwrap());
    assert_eq!(store.count().unwrap(), 2);
    // Destroying a key makes room again.
    let first = store.list().unwrap()[0];
    store.destroy(&first).unwrap();
    store.generate(&l, Algorithm::Ed25519, 0).unwrap();
    let l2 = store.random_locator().unwrap();
    assert!(matches!(
        store.generate(&l2, Algorithm::Ed25519, 0),
        Err(HsmError::CapacityReached { .. })
    ));
}

#[test]
fn unknown_algorithm_numbers() {
    for n in [1, 3, 6, 12, 17] {
        let err = Algorithm::from_number(n).unwrap_err();
        assert!(matches!(err, HsmError::AlgorithmUnknown { algorithm, .. } if algorithm == n));
    }
}

#[test]
fn destroy_removes_a_public_half_left_behind() {
    // A process killed between destroying the private key and the public one.
    let mut store = open("half-destroyed");
    let l = store.random_locator().unwrap();
    store.generate(&l, Algorithm::EcdsaP256Sha256, 0).unwrap();
    let session = crate::common::raw_session("half-destroyed");
    let private = session
        .find_objects(&[
            cryptoki::object::Attribute::Class(cryptoki::object::ObjectClass::PRIVATE_KEY),
            cryptoki::object::Attribute::Id(l.0.to_vec()),
        ])
        .unwrap();
    assert_eq!(private.len(), 1);
    session.destroy_object(private[0]).unwrap();
    let left = || {
        session
            .find_objects(&[cryptoki::object::Attribute::Id(l.0.to_vec())])
            .unwrap()
            .len()
    };
    assert_eq!(left(), 1, "the public half is still there");
    let err = store.destroy(&l).unwrap_err();
    assert!(matches!(err, HsmError::KeyNotFound { .. }), "{err:?}");
    assert_eq!(left(), 0, "and is gone after destroy");
}

#[test]
fn destroy_removes_both_halves() {
    let mut store = open("destroy");
    let l = store.random_locator().unwrap();
    store.generate(&l, Algorithm::EcdsaP256Sha256, 0).unwrap();
    // Generating again under the same locator is refused.
    let err = store
        .generate(&l, Algorithm::EcdsaP256Sha256, 0)
        .unwrap_err();
    assert!(matches!(err, HsmError::KeyExists { .. }), "{err:?}");
    store.destroy(&l).unwrap();
    assert!(!store.exists(&l).unwrap());
    assert!(!store.list().unwrap().contains(&l));
    let session = crate::common::raw_session("destroy");
    let left = session
        .find_objects(&[cryptoki::object::Attribute::Id(l.0.to_vec())])
        .unwrap();
    assert!(left.is_empty(), "public key destroyed too");
    let missing = HsmError::KeyNotFound {
        repository: "repo-destroy".into(),
        locator: l,
    };
    assert_eq!(store.destroy(&l).unwrap_err(), missing);
    assert_eq!(
        store
            .sign(&l, Algorithm::EcdsaP256Sha256, b"x")
            .unwrap_err(),
        missing
    );
    assert_eq!(
        store
            .public_key(&l, Algorithm::EcdsaP256Sha256)
            .unwrap_err(),
        missing
    );
}
