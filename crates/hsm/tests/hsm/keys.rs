//! Generate, find, read and sign with every supported algorithm; signatures checked
//! outside the HSM. Also the generation timings the benchmark starts from.

use std::time::{Duration, Instant};

use kasp_hsm::{Algorithm, HsmError, HsmThread, KeyStore, Timeouts};

use crate::common::{open, verify};

const DATA: &[u8] = b"\x00\x30\x08\x02\x00\x00\x0e\x10 the RRSIG RDATA prefix and an RRset";

/// Generates, then checks exists, list, public_key and a verified signature. Returns
/// `false` when the token does not support the algorithm.
fn round_trip(store: &mut impl KeyStore, algorithm: Algorithm, bits: u32) -> bool {
    let locator = store.random_locator().unwrap();
    assert!(!store.exists(&locator).unwrap());
    let public = match store.generate(&locator, algorithm, bits) {
        Ok(public) => public,
        Err(HsmError::AlgorithmUnsupported { algorithm: a, .. }) if a == algorithm => {
            return false;
        }
        Err(e) => panic!("{algorithm}: {e}"),
    };
    assert!(store.exists(&locator).unwrap());
    assert!(store.list().unwrap().contains(&locator));
    assert_eq!(store.public_key(&locator, algorithm).unwrap(), public);
    match algorithm.curve_public_key_len() {
        Some(len) => assert_eq!(public.len(), len, "{algorithm}"),
        None => {
            let (e, n) = crate::common::split_rfc3110(&public);
            assert_eq!(e, [1, 0, 1], "exponent 65537");
            assert_eq!(n.len() * 8, bits as usize, "{algorithm} modulus size");
        }
    }
    let sig = store.sign(&locator, algorithm, DATA).unwrap();
    let how = verify(algorithm, &public, DATA, &sig);
    eprintln!(
        "{algorithm} {bits}: signature of {} bytes verified by {how}",
        sig.len()
    );
    true
}

#[test]
fn rsa_algorithms_generate_and_sign() {
    let mut store = open("keys-rsa");
    for number in [5, 7, 8, 10] {
        for bits in [1024, 2048] {
            let algorithm = Algorithm::from_number(number).unwrap();
            assert!(round_trip(&mut store, algorithm, bits), "{algorithm}");
        }
    }
    assert_eq!(store.count().unwrap(), 8);
}

#[test]
fn curve_algorithms_generate_and_sign() {
    let mut store = open("keys-curve");
    for number in [13, 14, 15] {
        let algorithm = Algorithm::from_number(number).unwrap();
        assert!(round_trip(&mut store, algorithm, 0), "{algorithm}");
    }
    // Ed448 too: the token of scripts/deps.sh (Debian's SoftHSM 2.6.1) supports it, as
    // `check_support_accepts_what_the_token_can_do` finds.
    assert!(round_trip(&mut store, Algorithm::Ed448, 0), "Ed448");
}

#[test]
fn hsm_thread_runs_a_real_store() {
    let mut thread = HsmThread::open(crate::common::config("thread"), Timeouts::default()).unwrap();
    assert!(round_trip(&mut thread, Algorithm::EcdsaP256Sha256, 0));
    assert!(round_trip(&mut thread, Algorithm::RsaSha256, 1024));
    assert_eq!(thread.count().unwrap(), 2);
}

#[test]
fn check_support_accepts_what_the_token_can_do() {
    let mut store = open("support");
    for algorithm in Algorithm::ALL {
        let bits = if algorithm.is_rsa() { 2048 } else { 0 };
        store
            .check_support(algorithm, bits)
            .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
    }
    for bits in [1024, 4096] {
        store.check_support(Algorithm::RsaSha256, bits).unwrap();
    }
    // Through the thread, with the same answer.
    let mut thread =
        HsmThread::open(crate::common::config("support"), Timeouts::default()).unwrap();
    thread.check_support(Algorithm::Ed25519, 0).unwrap();
    thread.check_support(Algorithm::RsaSha512, 2048).unwrap();
    // Nothing was generated.
    assert_eq!(store.count().unwrap(), 0);
}

#[test]
fn check_support_refuses_rsa_sizes_outside_the_token_range() {
    let mut store = open("support-rsa");
    // SoftHSM 2.6.1 reports 512 to 16384 bits for CKM_RSA_PKCS_KEY_PAIR_GEN.
    for bits in [0, 256, 32768] {
        for algorithm in [
            Algorithm::RsaSha1,
            Algorithm::RsaSha256,
            Algorithm::RsaSha512,
        ] {
            let e = store.check_support(algorithm, bits).unwrap_err();
            match &e {
                HsmError::AlgorithmUnsupported {
                    repository,
                    algorithm: a,
                    ..
                } => {
                    assert_eq!(repository, "repo-support-rsa");
                    assert_eq!(*a, algorithm);
                }
                other => panic!("{algorithm} {bits}: {other:?}"),
            }
            let text = e.to_string();
            eprintln!("{text}");
            assert!(text.contains("repo-support-rsa"), "{text}");
            assert!(text.contains(&algorithm.to_string()), "{text}");
            assert!(text.contains(&format!("{bits} bits")), "{text}");
            assert!(text.contains(" to "), "names the supported range: {text}");
        }
    }
    // generate refuses the same way, before asking the token for a key.
    let locator = store.random_locator().unwrap();
    assert!(matches!(
        store.generate(&locator, Algorithm::RsaSha256, 256),
        Err(HsmError::AlgorithmUnsupported { .. })
    ));
    // The curve algorithms ignore bits.
    store
        .check_support(Algorithm::EcdsaP256Sha256, 256)
        .unwrap();
    store.check_support(Algorithm::Ed448, 32768).unwrap();
    assert_eq!(store.count().unwrap(), 0);
}

/// A measurement: generation times for the later benchmark (`cargo test -p kasp-hsm
/// --test hsm timings -- --nocapture`); every key asked for is made, and the token then
/// holds them all.
#[test]
fn generation_timings() {
    let mut store = open("timings");
    let cases: [(Algorithm, u32, usize); 6] = [
        (Algorithm::RsaSha256, 1024, 3),
        (Algorithm::RsaSha256, 2048, 3),
        (Algorithm::EcdsaP256Sha256, 0, 5),
        (Algorithm::EcdsaP384Sha384, 0, 5),
        (Algorithm::Ed25519, 0, 5),
        (Algorithm::Ed448, 0, 5),
    ];
    for (algorithm, bits, n) in cases {
        let mut times = Vec::new();
        for _ in 0..n {
            let locator = store.random_locator().unwrap();
            let start = Instant::now();
            match store.generate(&locator, algorithm, bits) {
                Ok(_) => times.push(start.elapsed()),
                Err(e) => panic!("{algorithm} {bits}: {e}"),
            }
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let avg = times.iter().sum::<Duration>() / times.len() as u32;
        eprintln!(
            "timing {algorithm} {bits}: n={} avg {:.1} ms, min {:.1}, max {:.1}",
            times.len(),
            ms(avg),
            ms(*times.iter().min().unwrap()),
            ms(*times.iter().max().unwrap())
        );
    }
    let made: usize = cases.iter().map(|(_, _, n)| n).sum();
    assert_eq!(store.count().unwrap(), made);
}

/// `list` lets `public_key` find public-key objects without a token search
/// (crates/hsm/src/pkcs11.rs `public_objects`); what it saw is never trusted blindly: a
/// key destroyed since is not found, one made since is searched for, and another store
/// destroying a key behind this one's back is noticed.
#[test]
fn public_keys_after_list_follow_the_token() {
    let a = Algorithm::EcdsaP256Sha256;
    let mut store = open("keys-listed");
    let kept = store.random_locator().unwrap();
    let gone = store.random_locator().unwrap();
    let elsewhere = store.random_locator().unwrap();
    let public_kept = store.generate(&kept, a, 256).unwrap();
    store.generate(&gone, a, 256).unwrap();
    store.generate(&elsewhere, a, 256).unwrap();
    let listed = store.list().unwrap();
    assert!([kept, gone, elsewhere].iter().all(|l| listed.contains(l)));

    assert_eq!(store.public_key(&kept, a).unwrap(), public_kept);
    store.destroy(&gone).unwrap();
    assert!(matches!(
        store.public_key(&gone, a),
        Err(HsmError::KeyNotFound { .. })
    ));
    let made = store.random_locator().unwrap();
    let public_made = store.generate(&made, a, 256).unwrap();
    assert_eq!(store.public_key(&made, a).unwrap(), public_made);

    // Another session destroys a key whose handles this store cached at `list`.
    open("keys-listed").destroy(&elsewhere).unwrap();
    assert!(matches!(
        store.public_key(&elsewhere, a),
        Err(HsmError::KeyNotFound { .. })
    ));
}
