//! kasp-ledger's enforcer drives the real signer: the keys it made in SoftHSM2 and the
//! signconf it wrote are signed with by `ods-signerd`, and `dnssec-verify` and
//! `ldns-verify-zone` accept the signed zone at steady state, in the middle of a ZSK
//! rollover (new ZSK published, then signing while the old one is still published)
//! and in the middle of a KSK rollover (both KSKs published and signing the DNSKEY
//! RRset).

use super::{SignerHsm, SignerSandbox, UNSIGNED, ZONE, dnskeys, dnssec_verify, ldns_verify};
use crate::common::Sandbox;

/// Signs the zone with the enforcer's current signconf and checks it with both
/// verifiers; returns the DNSKEYs (flags, algorithm) of the signed zone.
fn sign_and_verify(sb: &Sandbox, signer: &SignerSandbox, when: &str) -> Vec<(String, String)> {
    let signed = signer
        .sign(
            ZONE,
            &sb.path("unsigned/example.com"),
            &sb.path("signconf/example.com.xml"),
        )
        .unwrap_or_else(|e| panic!("{when}: {e}"));
    dnssec_verify(ZONE, &signed).unwrap_or_else(|e| panic!("{when}: {e}"));
    ldns_verify(&signed).unwrap_or_else(|e| panic!("{when}: {e}"));
    dnskeys(&std::fs::read_to_string(&signed).unwrap())
}

fn debug_states(sb: &Sandbox) -> String {
    sb.ok("key list --debug").out
}

fn leap_until(sb: &Sandbox, done: impl Fn(&str) -> bool, what: &str) {
    for _ in 0..20 {
        if done(&debug_states(sb)) {
            return;
        }
        sb.ok("time leap");
    }
    panic!("{what} never happened:\n{}", debug_states(sb));
}

/// No DS hook is configured, so the ds-submit task has marked the DS submitted (as
/// OpenDNSSEC 2.1.12 does); the operator confirms it.
fn ds_seen(sb: &Sandbox) {
    let r = sb.ok("key ds-seen --all");
    assert!(r.out.contains("KSKs changed"), "{r:?}");
}

#[test]
fn the_real_signer_signs_what_the_enforcer_decided_and_validators_accept_it() {
    let mut sb = Sandbox::with_token();
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    std::fs::write(sb.path("unsigned/example.com"), UNSIGNED).unwrap();
    let signer = SignerSandbox::new(&sb.path("ods-signer"), &SignerHsm::of_sandbox(&sb));
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");

    // Steady state: KSK and ZSK omnipresent, the DS seen at the parent.
    leap_until(
        &sb,
        |s| s.contains("rumoured     omnipresent  omnipresent"),
        "DS rumoured",
    );
    ds_seen(&sb);
    leap_until(
        &sb,
        |s| s.contains("KSK           omnipresent  omnipresent  omnipresent"),
        "DS omnipresent",
    );
    let keys = sign_and_verify(&sb, &signer, "steady state");
    assert_eq!(
        keys,
        [("256".into(), "8".into()), ("257".into(), "8".into())]
    );

    // ZSK rollover (pre-publication): the new ZSK is published first...
    sb.ok("key rollover --zone example.com --keytype ZSK");
    let states = debug_states(&sb);
    assert!(
        states.contains("NA           rumoured     NA           hidden"),
        "{states}"
    );
    let keys = sign_and_verify(&sb, &signer, "ZSK rollover, new ZSK published");
    assert_eq!(keys.len(), 3, "{keys:?}");
    // ...then signs while the old one stays published.
    leap_until(
        &sb,
        |s| s.contains("NA           omnipresent  NA           unretentive"),
        "ZSK swap",
    );
    let keys = sign_and_verify(&sb, &signer, "ZSK rollover, new ZSK signing");
    assert_eq!(keys.len(), 3, "{keys:?}");

    // KSK rollover (double signature): both KSKs published and signing the DNSKEYs.
    sb.ok("key rollover --zone example.com --keytype KSK");
    let states = debug_states(&sb);
    assert_eq!(states.matches("KSK ").count(), 2, "{states}");
    let keys = sign_and_verify(&sb, &signer, "KSK rollover, new KSK published");
    assert!(
        keys.iter().filter(|(f, _)| f == "257").count() == 2,
        "{keys:?}"
    );
    leap_until(
        &sb,
        |s| {
            s.contains("waiting for ds-seen") || s.contains("rumoured     omnipresent  omnipresent")
        },
        "new DS",
    );
    let keys = sign_and_verify(&sb, &signer, "KSK rollover, DS swap pending");
    assert!(
        keys.iter().filter(|(f, _)| f == "257").count() == 2,
        "{keys:?}"
    );
}
