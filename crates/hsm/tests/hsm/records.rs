//! DNSKEY text, key tags and DS records of token keys, compared with BIND's
//! `dnssec-dsfromkey` (package bind9-utils) reading the DNSKEY from a zone file.

use std::process::Command;

use kasp_hsm::{
    Algorithm, FLAGS_KSK, FLAGS_ZSK, HsmError, KeyStore, dnskey_rdata, dnskey_zonefile, ds,
    ds_zonefile, key_tag,
};

use crate::common::{open, scratch};

const OWNER: &str = "example.com.";
const TTL: u32 = 3600;

fn dsfromkey(file: &std::path::Path, digest: &str) -> String {
    let mut cmd = Command::new("dnssec-dsfromkey");
    // -A: ZSKs too; -T: print the TTL; -f: read the DNSKEY from a zone file.
    cmd.args(["-A", "-T", &TTL.to_string()]);
    match digest {
        "1" => cmd.arg("-1"),
        "2" => cmd.arg("-2"),
        _ => cmd.args(["-a", "SHA-384"]),
    };
    let out = cmd
        .arg("-f")
        .arg(file)
        .arg(OWNER)
        .output()
        .expect("dnssec-dsfromkey (Debian package bind9-utils, see scripts/deps.sh)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn dnskey_key_tag_and_ds_match_dnssec_dsfromkey() {
    let mut store = open("records");
    let dir = scratch();
    let cases = [
        (Algorithm::RsaSha1, 1024),
        (Algorithm::RsaSha1Nsec3Sha1, 1024),
        (Algorithm::RsaSha256, 2048),
        (Algorithm::RsaSha512, 1024),
        (Algorithm::EcdsaP256Sha256, 0),
        (Algorithm::EcdsaP384Sha384, 0),
        (Algorithm::Ed25519, 0),
        (Algorithm::Ed448, 0),
    ];
    let mut checked = 0;
    for (algorithm, bits) in cases {
        let locator = store.random_locator().unwrap();
        let public = match store.generate(&locator, algorithm, bits) {
            Ok(p) => p,
            Err(HsmError::AlgorithmUnsupported { .. }) => continue,
            Err(e) => panic!("{e}"),
        };
        for flags in [FLAGS_KSK, FLAGS_ZSK] {
            let rdata = dnskey_rdata(flags, algorithm, &public);
            let text = dnskey_zonefile(OWNER, TTL, &rdata).unwrap();
            let prefix = format!("{OWNER} {TTL} IN DNSKEY {flags} 3 {} ", algorithm.number());
            assert!(text.starts_with(&prefix), "{text}");
            let file = dir.path().join(format!("{locator}-{flags}.key"));
            std::fs::write(&file, format!("{text}\n")).unwrap();
            for digest_type in [1u8, 2, 4] {
                let record = ds(OWNER, &rdata, digest_type).unwrap();
                assert_eq!(record.key_tag, key_tag(&rdata));
                let ours = ds_zonefile(OWNER, TTL, &record).unwrap();
                let bind = dsfromkey(&file, &digest_type.to_string());
                assert_eq!(ours, bind, "{algorithm} flags {flags} digest {digest_type}");
            }
        }
        checked += 1;
    }
    // Only Ed448 may be missing (tokens without it); SoftHSM 2.6.1 has it.
    assert!(checked >= cases.len() - 1, "{checked} algorithms checked");
}
