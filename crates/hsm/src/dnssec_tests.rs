//! Known-answer tests of `dnssec.rs`: the examples of RFC 4034/4509, RFC 6605 and
//! RFC 8080 (each digest also confirmed with BIND 9.18 `dnssec-dsfromkey`).

use super::*;
use domain::utils::{base16, base64};

fn b64(s: &str) -> Vec<u8> {
    base64::decode(s).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    base16::decode_vec(s).unwrap()
}

/// RFC 4034 section 5.4 / RFC 4509 section 2.2.1: `dskey.example.com.` ZSK, algorithm 5.
const RFC4034_KEY: &str = "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZ\
DRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2\
w/rljwvFw==";

#[test]
fn rfc4034_and_rfc4509_rsasha1() {
    let rdata = dnskey_rdata(FLAGS_ZSK, Algorithm::RsaSha1, &b64(RFC4034_KEY));
    assert_eq!(key_tag(&rdata), 60485);
    let ds1 = ds("dskey.example.com.", &rdata, 1).unwrap();
    assert_eq!(ds1.key_tag, 60485);
    assert_eq!(ds1.algorithm, 5);
    assert_eq!(ds1.digest, hex("2BB183AF5F22588179A53B0A98631FAD1A292118"));
    let ds2 = ds("dskey.example.com", &rdata, 2).unwrap();
    assert_eq!(
        ds2.digest,
        hex("D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A")
    );
    assert_eq!(
        ds_zonefile("dskey.example.com", 86400, &ds2).unwrap(),
        "dskey.example.com. 86400 IN DS 60485 5 2 \
         D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A"
    );
}

#[test]
fn owner_case_does_not_change_the_digest() {
    let rdata = dnskey_rdata(FLAGS_ZSK, Algorithm::RsaSha1, &b64(RFC4034_KEY));
    assert_eq!(
        ds("DSKEY.Example.COM.", &rdata, 1).unwrap(),
        ds("dskey.example.com.", &rdata, 1).unwrap()
    );
}

#[test]
fn rfc6605_p256_and_p384() {
    let p256 =
        "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==";
    let rdata = dnskey_rdata(FLAGS_KSK, Algorithm::EcdsaP256Sha256, &b64(p256));
    let ds2 = ds("example.net.", &rdata, 2).unwrap();
    assert_eq!(ds2.key_tag, 55648);
    assert_eq!(
        ds_zonefile("example.net.", 3600, &ds2).unwrap(),
        "example.net. 3600 IN DS 55648 13 2 \
         B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17"
    );
    assert_eq!(
        dnskey_zonefile("example.net.", 3600, &rdata).unwrap(),
        format!("example.net. 3600 IN DNSKEY 257 3 13 {p256}")
    );

    let p384 = "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkr\
bYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40";
    let rdata = dnskey_rdata(FLAGS_KSK, Algorithm::EcdsaP384Sha384, &b64(p384));
    let ds4 = ds("example.net.", &rdata, 4).unwrap();
    assert_eq!(ds4.key_tag, 10771);
    assert_eq!(
        ds4.digest,
        hex(
            "72D7B62976CE06438E9C0BF319013CF801F09ECC84B8D7E9495F27E305C6A9B0\
             563A9B5F4D288405C3008A946DF983D6"
        )
    );
}

#[test]
fn rfc8080_ed25519_and_ed448() {
    let ed25519 = "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=";
    let rdata = dnskey_rdata(FLAGS_KSK, Algorithm::Ed25519, &b64(ed25519));
    let ds2 = ds("example.com.", &rdata, 2).unwrap();
    assert_eq!(ds2.key_tag, 3613);
    assert_eq!(
        ds2.digest,
        hex("3AA5AB37EFCE57F737FC1627013FEE07BDF241BD10F3B1964AB55C78E79A304B")
    );
    let ds1 = ds("example.com.", &rdata, 1).unwrap();
    assert_eq!(ds1.digest, hex("B2C63605467C4A40942B47A953E9C0D38F81083A"));

    let ed448 = "3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA";
    let rdata = dnskey_rdata(FLAGS_KSK, Algorithm::Ed448, &b64(ed448));
    let ds2 = ds("example.com.", &rdata, 2).unwrap();
    assert_eq!(ds2.key_tag, 9713);
    assert_eq!(
        ds2.digest,
        hex("6CCF18D5BC5D7FC2FCEB1D59D17321402F2AA8D368048DB93DD811F5CB2B19C7")
    );
}

#[test]
fn key_tag_agrees_with_domain() {
    for (alg, key) in [
        (Algorithm::RsaSha1, b64(RFC4034_KEY)),
        (Algorithm::Ed25519, vec![0xff; 32]),
        (Algorithm::Ed448, vec![0x01; 57]),
    ] {
        for flags in [FLAGS_ZSK, FLAGS_KSK, 385] {
            let rdata = dnskey_rdata(flags, alg, &key);
            let theirs = Dnskey::new(
                flags,
                3,
                SecurityAlgorithm::from_int(alg.number()),
                &key[..],
            )
            .unwrap();
            assert_eq!(key_tag(&rdata), theirs.key_tag());
        }
    }
}

#[test]
fn rfc3110_encoding() {
    let n = [0x00, 0xc3, 0x55];
    assert_eq!(
        rsa_public_key(&[1, 0, 1], &n).unwrap(),
        vec![3, 1, 0, 1, 0xc3, 0x55]
    );
    // Leading zeros of the exponent are dropped as well.
    assert_eq!(
        rsa_public_key(&[0, 0, 3], &n).unwrap(),
        vec![1, 3, 0xc3, 0x55]
    );
    // An exponent longer than 255 bytes takes the three-byte length form.
    let e = vec![0x01; 256];
    let out = rsa_public_key(&e, &n).unwrap();
    assert_eq!(&out[..3], &[0, 1, 0]);
    assert_eq!(out.len(), 3 + 256 + 2);
    assert!(rsa_public_key(&[], &n).is_err());
}

#[test]
fn ec_point_wrapper_is_stripped() {
    let mut point = vec![0x04];
    point.extend(1..=64u8);
    let mut der = vec![0x04, 65];
    der.extend_from_slice(&point);
    let want: Vec<u8> = (1..=64u8).collect();
    let alg = Algorithm::EcdsaP256Sha256;
    assert_eq!(ec_point_public_key(alg, &der).unwrap(), want);
    assert_eq!(ec_point_public_key(alg, &point).unwrap(), want);
    assert!(ec_point_public_key(Algorithm::EcdsaP384Sha384, &der).is_err());

    let ed = [7u8; 57];
    let mut der = vec![0x04, 57];
    der.extend_from_slice(&ed);
    assert_eq!(ec_point_public_key(Algorithm::Ed448, &der).unwrap(), ed);
    assert_eq!(ec_point_public_key(Algorithm::Ed448, &ed).unwrap(), ed);
    // A bare Ed25519 key that happens to look like a DER header is still taken whole.
    let mut tricky = vec![0x04, 30];
    tricky.extend_from_slice(&[9u8; 30]);
    assert_eq!(
        ec_point_public_key(Algorithm::Ed25519, &tricky).unwrap(),
        tricky
    );
    assert!(ec_point_public_key(Algorithm::RsaSha256, &der).is_err());
}

#[test]
fn bad_inputs_are_errors() {
    let rdata = dnskey_rdata(FLAGS_KSK, Algorithm::Ed25519, &[1; 32]);
    assert_eq!(ds("a.", &rdata, 3), Err(RecordError::DigestType(3)));
    assert!(matches!(
        ds("a..b", &rdata, 2),
        Err(RecordError::Owner { .. })
    ));
    assert!(ds("a.", &[1, 1, 2, 15, 1], 2).is_err());
    assert!(ds("a.", &[1, 1, 3], 2).is_err());
    assert!(dnskey_zonefile("a.", 1, &[1, 1, 3, 15]).is_err());
}
