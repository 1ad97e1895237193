//! The harness's own proof: keys made with kasp-hsm, signconf files rendered by
//! kasp-projector, the real signer, both verifiers, and checks that the verifiers can
//! fail.

use super::{
    SOFTHSM_MODULE, SignerHsm, SignerSandbox, UNSIGNED, ZONE, dnskeys, dnssec_verify, ldns_verify,
};
use crate::common::{PIN, Sandbox};
use kasp_events::{KeyRole, Locator, ZoneName};
use kasp_projector::formats::signconf::{SignconfKey, render_signconf};
use kasp_projector::testgen;
use std::process::Command;

const CHILD_ENV: &str = "KASP_TEST_SIGNER_KEYS";

/// Not a test of its own: run again by [`make_keys`] with `KASP_TEST_SIGNER_KEYS=
/// <locator>:<algorithm>:<bits>,…` (and SOFTHSM2_CONF), it makes those keys in the token
/// with kasp-hsm, in a process of its own so that SoftHSM is loaded with that token
/// directory and no other test's. Ignored in a plain run, where it would do nothing;
/// [`make_keys`] runs it with `--ignored`.
#[test]
#[ignore = "a child process of signer::proof::make_keys"]
fn child_makes_signer_keys() {
    let spec = std::env::var(CHILD_ENV)
        .unwrap_or_else(|_| panic!("{CHILD_ENV} is not set: only make_keys runs this child"));
    use kasp_hsm::KeyStore;
    let config = kasp_hsm::RepositoryConfig::new(
        "SoftHSM",
        SOFTHSM_MODULE,
        "OpenDNSSEC",
        Some(kasp_hsm::Secret::new(PIN)),
    );
    let mut store = kasp_hsm::Pkcs11Store::open(config).unwrap();
    for key in spec.split(',') {
        let parts: Vec<&str> = key.split(':').collect();
        let locator = Locator::parse(parts[0]).unwrap();
        let algorithm = kasp_hsm::Algorithm::from_number(parts[1].parse().unwrap()).unwrap();
        store
            .generate(&locator, algorithm, parts[2].parse().unwrap())
            .unwrap();
    }
}

/// Makes keys in the sandbox's token: (locator, algorithm, bits) each.
fn make_keys(sb: &Sandbox, keys: &[(Locator, u8, u32)]) {
    let spec: Vec<String> = keys
        .iter()
        .map(|(l, a, b)| format!("{l}:{a}:{b}"))
        .collect();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "signer::proof::child_makes_signer_keys",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, spec.join(","))
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The KSK and the ZSK, both published and active, as the enforcer's signconf names
/// them once a zone is signed.
fn signconf_keys(algorithm: u8, ksk: Locator, zsk: Locator) -> Vec<SignconfKey> {
    vec![
        SignconfKey {
            role: KeyRole::Ksk,
            algorithm,
            locator: ksk,
            active_ksk: true,
            active_zsk: false,
            publish: true,
        },
        SignconfKey {
            role: KeyRole::Zsk,
            algorithm,
            locator: zsk,
            active_ksk: false,
            active_zsk: true,
            publish: true,
        },
    ]
}

#[test]
fn the_real_signer_signs_with_kasp_keys_and_both_verifiers_accept() {
    let sb = Sandbox::with_token();
    let rsa_ksk = Locator([0x81; 16]);
    let rsa_zsk = Locator([0x82; 16]);
    let ec_ksk = Locator([0xd1; 16]);
    let ec_zsk = Locator([0xd2; 16]);
    make_keys(
        &sb,
        &[
            (rsa_ksk, 8, 2048),
            (rsa_zsk, 8, 1024),
            (ec_ksk, 13, 256),
            (ec_zsk, 13, 256),
        ],
    );
    let signer = SignerSandbox::new(&sb.path("ods-signer"), &SignerHsm::of_sandbox(&sb));
    let unsigned = sb.path("unsigned/example.com");
    std::fs::write(&unsigned, UNSIGNED).unwrap();
    let zone = ZoneName::new(ZONE).unwrap();
    let signconf = sb.path("signconf/example.com.xml");

    // The default policy: NSEC3 with a salt, RSASHA256 2048-bit KSK and 1024-bit ZSK.
    let xml = render_signconf(
        &zone,
        &testgen::policy("default"),
        Some("a1b2c3d4e5f60708"),
        &signconf_keys(8, rsa_ksk, rsa_zsk),
    );
    std::fs::write(&signconf, xml).unwrap();
    let signed = signer.sign(ZONE, &unsigned, &signconf).unwrap();
    let text = std::fs::read_to_string(&signed).unwrap();
    assert_eq!(
        dnskeys(&text),
        [("256".into(), "8".into()), ("257".into(), "8".into())],
        "{text}"
    );
    assert!(
        text.contains("NSEC3PARAM\t1 0 5 a1b2c3d4e5f60708"),
        "{text}"
    );
    dnssec_verify(ZONE, &signed).unwrap();
    ldns_verify(&signed).unwrap();

    // The verifiers are not vacuous: they refuse the unsigned zone and a signed zone
    // whose data was changed after signing.
    let e = dnssec_verify(ZONE, &unsigned).unwrap_err();
    assert!(e.contains("dnssec-verify refused"), "{e}");
    let e = ldns_verify(&unsigned).unwrap_err();
    assert!(e.contains("ldns-verify-zone refused"), "{e}");
    let tampered = sb.path("tampered");
    assert!(text.contains("\t192.0.2.10\n"), "{text}");
    std::fs::write(&tampered, text.replace("\t192.0.2.10\n", "\t192.0.2.11\n")).unwrap();
    let e = dnssec_verify(ZONE, &tampered).unwrap_err();
    assert!(e.contains("dnssec-verify refused"), "{e}");
    let e = ldns_verify(&tampered).unwrap_err();
    assert!(e.contains("ldns-verify-zone refused"), "{e}");

    // The same sandbox signs the zone again from scratch under the lab policy: NSEC,
    // ECDSAP256SHA256 keys.
    let xml = render_signconf(
        &zone,
        &testgen::policy("lab"),
        None,
        &signconf_keys(13, ec_ksk, ec_zsk),
    );
    std::fs::write(&signconf, xml).unwrap();
    let signed = signer.sign(ZONE, &unsigned, &signconf).unwrap();
    let text = std::fs::read_to_string(&signed).unwrap();
    assert_eq!(
        dnskeys(&text),
        [("256".into(), "13".into()), ("257".into(), "13".into())],
        "{text}"
    );
    assert!(
        text.contains("\tNSEC\t") && !text.contains("NSEC3"),
        "{text}"
    );
    dnssec_verify(ZONE, &signed).unwrap();
    ldns_verify(&signed).unwrap();

    // A signconf naming a key the token does not have: the harness reports the
    // signer's failure with its log instead of waiting for the timeout.
    let xml = render_signconf(
        &zone,
        &testgen::policy("lab"),
        None,
        &signconf_keys(13, ec_ksk, Locator([0xee; 16])),
    );
    std::fs::write(&signconf, xml).unwrap();
    let e = signer.sign(ZONE, &unsigned, &signconf).unwrap_err();
    assert!(e.contains("failed to sign example.com"), "{e}");
    assert!(
        e.contains("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee not found"),
        "{e}"
    );
    assert!(!signer.signed_path(ZONE).exists());
}
