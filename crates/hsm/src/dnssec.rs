//! Pure DNSSEC record arithmetic: the DNSKEY public-key field from a token's key
//! material, DNSKEY RDATA, key tags, DS digests, and zone-file text.
//!
//! Encodings: RFC 3110 for RSA (exponent length, exponent, modulus; leading zeros
//! dropped), RFC 6605 for ECDSA (X||Y, the uncompressed point without its 0x04),
//! RFC 8080 for EdDSA (the encoded point). PKCS#11 hands out `CKA_EC_POINT` DER-wrapped
//! as an OCTET STRING; the wrapper is stripped here. Digests (RFC 4034 section 5.1.4,
//! RFC 4509, RFC 6605) are computed with ring over the canonical owner name followed by
//! the DNSKEY RDATA; the `domain` crate only renders the records as text.

use std::str::FromStr;

use domain::base::iana::{Class, DigestAlgorithm, SecurityAlgorithm};
use domain::base::name::ToName;
use domain::base::zonefile_fmt::{DisplayKind, ZonefileFmt};
use domain::base::{Name, Record, Ttl};
use domain::rdata::{Dnskey, Ds};
use ring::digest;

use crate::algorithm::Algorithm;

/// DNSKEY flags of a zone-signing key (Zone Key).
pub const FLAGS_ZSK: u16 = 256;
/// DNSKEY flags of a key-signing key (Zone Key + Secure Entry Point).
pub const FLAGS_KSK: u16 = 257;

/// Why a record could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The owner is not a valid domain name.
    #[error("invalid owner name '{owner}'")]
    Owner {
        /// The name as given.
        owner: String,
    },
    /// Only DS digest types 1 (SHA-1), 2 (SHA-256) and 4 (SHA-384) are computed.
    #[error("DS digest type {0} is not supported (use 1, 2 or 4)")]
    DigestType(u8),
    /// The token's public-key material does not have the expected shape.
    #[error("unexpected public key for algorithm {algorithm}: {why}")]
    PublicKey {
        /// The algorithm the key was read for.
        algorithm: Algorithm,
        /// What was wrong.
        why: String,
    },
    /// The bytes are not DNSKEY RDATA (flags, protocol 3, algorithm, key).
    #[error("malformed DNSKEY RDATA: {0}")]
    Rdata(&'static str),
}

/// A DS record's fields (RFC 4034 section 5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsRecord {
    /// Key tag of the DNSKEY (RFC 4034 App. B).
    pub key_tag: u16,
    /// DNSSEC algorithm number of the DNSKEY.
    pub algorithm: u8,
    /// 1 SHA-1, 2 SHA-256, 4 SHA-384.
    pub digest_type: u8,
    /// The digest over canonical owner name + DNSKEY RDATA.
    pub digest: Vec<u8>,
}

/// The RFC 3110 public-key field from `CKA_PUBLIC_EXPONENT` and `CKA_MODULUS`
/// (big-endian, leading zeros ignored): one length byte for exponents up to 255
/// bytes, else a zero byte and a two-byte length.
pub fn rsa_public_key(exponent: &[u8], modulus: &[u8]) -> Result<Vec<u8>, RecordError> {
    let bad = |why: &str| RecordError::PublicKey {
        algorithm: Algorithm::RsaSha256,
        why: why.to_string(),
    };
    let e = strip_leading_zeros(exponent);
    let n = strip_leading_zeros(modulus);
    if e.is_empty() || n.is_empty() {
        return Err(bad("empty exponent or modulus"));
    }
    let mut out = Vec::with_capacity(3 + e.len() + n.len());
    match u8::try_from(e.len()) {
        Ok(len) => out.push(len),
        Err(_) => {
            let len = u16::try_from(e.len()).map_err(|_| bad("exponent longer than 65535"))?;
            out.push(0);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    out.extend_from_slice(e);
    out.extend_from_slice(n);
    Ok(out)
}

/// The public-key field of a curve algorithm from `CKA_EC_POINT`: the DER OCTET STRING
/// wrapper is removed (a bare point is accepted too), then for ECDSA the leading 0x04
/// of the uncompressed point. The result has exactly the algorithm's length.
pub fn ec_point_public_key(algorithm: Algorithm, ec_point: &[u8]) -> Result<Vec<u8>, RecordError> {
    let bad = |why: String| RecordError::PublicKey { algorithm, why };
    let Some(want) = algorithm.curve_public_key_len() else {
        return Err(bad("an RSA key has no EC point".to_string()));
    };
    let ecdsa = !matches!(algorithm, Algorithm::Ed25519 | Algorithm::Ed448);
    let unwrap_point = |point: &[u8]| -> Option<Vec<u8>> {
        if ecdsa {
            match point.split_first() {
                Some((0x04, xy)) if xy.len() == want => Some(xy.to_vec()),
                _ => None,
            }
        } else {
            (point.len() == want).then(|| point.to_vec())
        }
    };
    if let Some(inner) = der_octet_string(ec_point)
        && let Some(key) = unwrap_point(inner)
    {
        return Ok(key);
    }
    unwrap_point(ec_point).ok_or_else(|| {
        bad(format!(
            "CKA_EC_POINT of {} bytes is neither a DER OCTET STRING nor a bare point",
            ec_point.len()
        ))
    })
}

/// DNSKEY RDATA: flags, protocol 3, algorithm, public key (RFC 4034 section 2.1).
pub fn dnskey_rdata(flags: u16, algorithm: Algorithm, public_key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + public_key.len());
    out.extend_from_slice(&flags.to_be_bytes());
    out.push(3);
    out.push(algorithm.number());
    out.extend_from_slice(public_key);
    out
}

/// The key tag of DNSKEY RDATA (RFC 4034 Appendix B; algorithm 1 is not handled).
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for (i, b) in rdata.iter().enumerate() {
        acc += if i % 2 == 0 {
            u32::from(*b) << 8
        } else {
            u32::from(*b)
        };
    }
    acc += (acc >> 16) & 0xffff;
    (acc & 0xffff) as u16
}

/// The DS record of a DNSKEY: `digest_type` 1 (SHA-1), 2 (SHA-256) or 4 (SHA-384)
/// over the canonical (lower-case, uncompressed) owner name followed by the RDATA.
pub fn ds(owner: &str, rdata: &[u8], digest_type: u8) -> Result<DsRecord, RecordError> {
    let alg: &'static digest::Algorithm = match digest_type {
        1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        2 => &digest::SHA256,
        4 => &digest::SHA384,
        other => return Err(RecordError::DigestType(other)),
    };
    let (_, algorithm, _) = split_rdata(rdata)?;
    let mut input = canonical_owner(owner)?;
    input.extend_from_slice(rdata);
    Ok(DsRecord {
        key_tag: key_tag(rdata),
        algorithm,
        digest_type,
        digest: digest::digest(alg, &input).as_ref().to_vec(),
    })
}

/// The DNSKEY as one zone-file line: `example.com. 3600 IN DNSKEY 257 3 8 AwEAA…`.
pub fn dnskey_zonefile(owner: &str, ttl: u32, rdata: &[u8]) -> Result<String, RecordError> {
    let (flags, algorithm, key) = split_rdata(rdata)?;
    let data = Dnskey::new(
        flags,
        3,
        SecurityAlgorithm::from_int(algorithm),
        key.to_vec(),
    )
    .map_err(|_| RecordError::Rdata("longer than 65535 bytes"))?;
    let record = Record::new(parse_owner(owner)?, Class::IN, Ttl::from_secs(ttl), data);
    Ok(record.display_zonefile(DisplayKind::Simple).to_string())
}

/// The DS as one zone-file line: `example.com. 3600 IN DS 61604 8 2 99C8…`.
pub fn ds_zonefile(owner: &str, ttl: u32, ds: &DsRecord) -> Result<String, RecordError> {
    let data = Ds::new(
        ds.key_tag,
        SecurityAlgorithm::from_int(ds.algorithm),
        DigestAlgorithm::from_int(ds.digest_type),
        ds.digest.clone(),
    )
    .map_err(|_| RecordError::Rdata("digest longer than 65535 bytes"))?;
    let record = Record::new(parse_owner(owner)?, Class::IN, Ttl::from_secs(ttl), data);
    Ok(record.display_zonefile(DisplayKind::Simple).to_string())
}

/// Flags, algorithm number and public key of DNSKEY RDATA; protocol must be 3.
fn split_rdata(rdata: &[u8]) -> Result<(u16, u8, &[u8]), RecordError> {
    match rdata {
        [f0, f1, 3, alg, key @ ..] if !key.is_empty() => {
            Ok((u16::from_be_bytes([*f0, *f1]), *alg, key))
        }
        [_, _, 3, _, ..] => Err(RecordError::Rdata("empty public key")),
        [_, _, _, _, ..] => Err(RecordError::Rdata("protocol is not 3")),
        _ => Err(RecordError::Rdata("shorter than 5 bytes")),
    }
}

fn parse_owner(owner: &str) -> Result<Name<Vec<u8>>, RecordError> {
    Name::<Vec<u8>>::from_str(owner).map_err(|_| RecordError::Owner {
        owner: owner.to_string(),
    })
}

/// The owner in canonical wire form (RFC 4034 section 6.2): uncompressed, lower case.
fn canonical_owner(owner: &str) -> Result<Vec<u8>, RecordError> {
    let mut out = Vec::new();
    let name = parse_owner(owner)?;
    match name.compose_canonical(&mut out) {
        Ok(()) => Ok(out),
        Err(never) => match never {},
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// The content of a DER OCTET STRING that spans all of `der`, if it is one.
fn der_octet_string(der: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x04 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, body) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => (usize::from(*rest.first()?), &rest[1..]),
        0x82 => {
            let l = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]);
            (usize::from(l), &rest[2..])
        }
        _ => return None,
    };
    (body.len() == len).then_some(body)
}

#[cfg(test)]
#[path = "dnssec_tests.rs"]
mod tests;
