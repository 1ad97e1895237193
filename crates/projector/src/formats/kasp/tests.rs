//! Tests of kasp.xml reading and `policy export`.

use super::*;

const STOCK: &str = include_str!("../../../../../fixtures/ods/kasp.xml");
const DEFAULT_EXPORT: &str = include_str!("../../../../../fixtures/ods/default-policy-export.xml");
const CONFORMANCE: &[(&str, &str)] = &[
    (
        "csk-prepub",
        include_str!("../../../../../fixtures/ods/conformance-csk-prepub.xml"),
    ),
    (
        "ecdsa-doublesig",
        include_str!("../../../../../fixtures/ods/conformance-ecdsa-doublesig.xml"),
    ),
    (
        "kskroll",
        include_str!("../../../../../fixtures/ods/conformance-kskroll.xml"),
    ),
    (
        "perf-ecdsa",
        include_str!("../../../../../fixtures/ods/conformance-perf-ecdsa.xml"),
    ),
    (
        "shared",
        include_str!("../../../../../fixtures/ods/conformance-shared.xml"),
    ),
    (
        "mechanisms",
        include_str!("../../../../../fixtures/ods/conformance-mechanisms.xml"),
    ),
];

fn stock() -> Vec<Policy> {
    parse_kasp(STOCK, "kasp.xml").unwrap()
}

/// The stock file with one substring replaced (which must occur).
fn edited(from: &str, to: &str) -> String {
    assert!(STOCK.contains(from), "{from}");
    STOCK.replacen(from, to, 1)
}

#[test]
fn stock_values() {
    let p = stock();
    assert_eq!(p.len(), 2);
    let d = &p[0];
    assert_eq!(d.name.as_str(), "default");
    assert_eq!(
        d.description,
        "A default policy that will amaze you and your friends"
    );
    assert!(!d.passthrough);
    let s = &d.signatures;
    assert_eq!(
        (s.resign, s.refresh, s.validity_default, s.validity_denial),
        (
            Seconds(7200),
            Seconds(259200),
            Seconds(1209600),
            Seconds(1209600)
        )
    );
    assert_eq!(
        (
            s.validity_keyset,
            s.jitter,
            s.inception_offset,
            s.max_zone_ttl
        ),
        (Seconds(0), Seconds(43200), Seconds(3600), Seconds(86400))
    );
    assert_eq!(
        d.denial,
        Denial::Nsec3(Nsec3 {
            ttl: Seconds(0),
            opt_out: false,
            resalt: Seconds(8_640_000),
            algorithm: 1,
            iterations: 5,
            salt_length: 8
        })
    );
    assert_eq!(
        (d.keys.ttl, d.keys.retire_safety, d.keys.publish_safety),
        (Seconds(3600), Seconds(3600), Seconds(3600))
    );
    assert!(!d.keys.share_keys);
    assert_eq!(d.keys.purge, Seconds(1209600));
    assert_eq!(
        d.keys.keys,
        vec![
            PolicyKey {
                role: KeyRole::Ksk,
                algorithm: 8,
                bits: 2048,
                lifetime: Seconds(31_536_000),
                repository: "SoftHSM".into(),
                standby: 0,
                manual_rollover: false,
                rfc5011: false,
                minimize: 4
            },
            PolicyKey {
                role: KeyRole::Zsk,
                algorithm: 8,
                bits: 1024,
                lifetime: Seconds(7_776_000),
                repository: "SoftHSM".into(),
                standby: 0,
                manual_rollover: false,
                rfc5011: false,
                minimize: 1
            },
        ]
    );
    assert_eq!(
        d.zone,
        ZoneTiming {
            propagation_delay: Seconds(43200),
            soa_ttl: Seconds(3600),
            soa_minimum: Seconds(3600),
            soa_serial: SerialKind::UnixTime
        }
    );
    assert_eq!(
        d.parent,
        ParentTiming {
            registration_delay: Seconds(0),
            propagation_delay: Seconds(9999),
            ds_ttl: Seconds(3600),
            soa_ttl: Seconds(172800),
            soa_minimum: Seconds(10800)
        }
    );
    let lab = &p[1];
    assert_eq!(lab.name.as_str(), "lab");
    assert_eq!(lab.denial, Denial::Nsec);
    assert_eq!(lab.signatures.max_zone_ttl, Seconds(300));
    assert_eq!(lab.keys.keys[1].lifetime, Seconds(4 * 3600));
}

#[test]
fn stock_default_exports_byte_identical() {
    let p = stock();
    assert_eq!(export_kasp(&[&p[0]]), DEFAULT_EXPORT);
}

#[test]
fn export_of_nothing() {
    assert_eq!(
        export_kasp(&[]),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<KASP/>\n"
    );
    assert!(parse_kasp("<KASP/>", "k").unwrap().is_empty());
}

#[test]
fn round_trips() {
    let mut files = vec![("stock", STOCK)];
    files.extend_from_slice(CONFORMANCE);
    for (name, text) in files {
        let policies = parse_kasp(text, name).unwrap();
        assert!(!policies.is_empty(), "{name}");
        let refs: Vec<&Policy> = policies.iter().collect();
        let exported = export_kasp(&refs);
        assert_eq!(parse_kasp(&exported, name).unwrap(), policies, "{name}");
        // Exporting again gives the same bytes.
        let again = parse_kasp(&exported, name).unwrap();
        let refs: Vec<&Policy> = again.iter().collect();
        assert_eq!(export_kasp(&refs), exported, "{name}");
    }
}

#[test]
fn conformance_roll_types() {
    let p = parse_kasp(CONFORMANCE[5].1, "m").unwrap();
    let mins: Vec<(KeyRole, u8)> = p
        .iter()
        .flat_map(|p| p.keys.keys.iter().map(|k| (k.role, k.minimize)))
        .collect();
    use KeyRole::*;
    assert_eq!(
        mins,
        vec![
            (Ksk, 4),
            (Zsk, 1),
            (Ksk, 0),
            (Zsk, 0),
            (Ksk, 2),
            (Zsk, 2),
            (Csk, 5)
        ]
    );
    let shared = parse_kasp(CONFORMANCE[4].1, "s").unwrap();
    assert!(shared[0].keys.share_keys);
}

#[test]
fn optional_elements_and_export_omissions() {
    let text = edited(
        "<Description>A default",
        "<Passthrough/><Description>A default",
    )
    .replacen(
        "<Denial>P14D</Denial>",
        "<Denial>P14D</Denial><Keyset>PT5H</Keyset>",
        1,
    )
    .replacen("<!-- <TTL>PT0S</TTL> -->", "<TTL>PT30M</TTL><OptOut/>", 1)
    .replacen("<!-- <ShareKeys/> -->", "<ShareKeys/>", 1)
    .replacen(
        "<Repository>SoftHSM</Repository>\n\t\t\t</KSK>",
        "<Repository>SoftHSM</Repository><Standby>2</Standby><ManualRollover/>\
             <KskRollType>KskDoubleDS</KskRollType><RFC5011/></KSK>\
             <CSK><Algorithm length=\"256\">13</Algorithm><Lifetime>P10D</Lifetime>\
             <Repository>R &amp; D</Repository></CSK>",
        1,
    )
    .replacen("<KSK>", "<KSK >", 1)
    .replacen(
        "<Minimum>PT10800S</Minimum>\n\t\t\t</SOA>",
        "<Minimum>PT10800S</Minimum>\n\t\t\t</SOA><RegistrationDelay>P1D</RegistrationDelay>",
        1,
    );
    // The CSK must come after the ZSK: move it.
    let text = {
        let start = text.find("<CSK>").unwrap();
        let end = text.find("</CSK>").unwrap() + "</CSK>".len();
        let csk = text[start..end].to_string();
        let without = format!("{}{}", &text[..start], &text[end..]);
        let at = without.find("</ZSK>").unwrap() + "</ZSK>".len();
        format!("{}{}{}", &without[..at], csk, &without[at..])
    };
    let p = parse_kasp(&text, "k").unwrap();
    let d = &p[0];
    assert!(d.passthrough && d.keys.share_keys);
    assert_eq!(d.signatures.validity_keyset, Seconds(5 * 3600));
    let Denial::Nsec3(n) = &d.denial else {
        panic!("nsec3")
    };
    assert_eq!((n.ttl, n.opt_out), (Seconds(1800), true));
    let ksk = &d.keys.keys[0];
    assert_eq!(
        (ksk.standby, ksk.manual_rollover, ksk.minimize, ksk.rfc5011),
        (2, true, 2, true)
    );
    let csk = &d.keys.keys[2];
    assert_eq!(
        (csk.role, csk.minimize, csk.repository.as_str()),
        (KeyRole::Csk, 5, "R & D")
    );
    assert_eq!(d.parent.registration_delay, Seconds(86400));

    let out = export_kasp(&[d]);
    assert!(
        out.contains("  <Policy name=\"p\">\n    <Passthrough/>\n    <Description>")
            || out.contains("<Passthrough/>\n    <Description>")
    );
    assert!(out.contains("        <Keyset>PT5H</Keyset>\n"));
    assert!(out.contains("      <NSEC3>\n        <TTL>PT30M</TTL>\n        <OptOut/>\n"));
    assert!(out.contains("      <ShareKeys/>\n"));
    assert!(out.contains(
        "        <Standby>2</Standby>\n        <ManualRollover/>\n        \
         <KskRollType>KskDoubleDS</KskRollType>\n        <RFC5011/>\n      </KSK>"
    ));
    assert!(out.contains(
        "<Repository>R &amp; D</Repository>\n        <CskRollType>CskPrePublication</CskRollType>\n      </CSK>"
    ));
    assert!(
        out.contains(
            "      </SOA>\n      <RegistrationDelay>P1D</RegistrationDelay>\n    </Parent>"
        )
    );
    // Reads back to the same policy (kasp-ledger exports what OpenDNSSEC drops).
    let back = parse_kasp(&out, "k").unwrap().remove(0);
    assert_eq!(&back, d);
}

#[test]
fn absent_optionals_get_defaults() {
    let text = edited("\t\t\t<MaxZoneTTL>P1D</MaxZoneTTL>\n", "").replacen(
        "\t\t\t<Purge>P14D</Purge>\n",
        "",
        1,
    );
    let p = parse_kasp(&text, "k").unwrap();
    assert_eq!(p[0].signatures.max_zone_ttl, Seconds(86400));
    assert_eq!(p[0].keys.purge, Seconds(0));
    let out = export_kasp(&[&p[0]]);
    assert!(out.contains("<MaxZoneTTL>P1D</MaxZoneTTL>") && !out.contains("<Purge>"));
}

#[test]
fn roll_type_tables() {
    for role in [KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk] {
        let name = roll_type_name(role, default_minimize(role)).unwrap();
        assert_eq!(roll_type_minimize(role, name), Some(default_minimize(role)));
    }
    assert_eq!(roll_type_name(KeyRole::Zsk, 4), None);
    assert_eq!(roll_type_minimize(KeyRole::Ksk, "ZskPrePublication"), None);
    assert_eq!(roll_type_element(KeyRole::Csk), "CskRollType");
}

#[test]
fn detailed_records_checked_durations() {
    let d = parse_kasp_detailed(STOCK, "k").unwrap();
    let fields: Vec<&str> = d
        .durations
        .iter()
        .filter(|u| u.policy == 0)
        .map(|u| u.field)
        .collect();
    assert_eq!(
        fields,
        [
            "Signatures/Resign",
            "Signatures/Refresh",
            "Signatures/Validity/Default",
            "Signatures/Validity/Denial",
            "Signatures/Jitter",
            "Signatures/InceptionOffset",
            "Signatures/MaxZoneTTL",
            "Denial/NSEC3/Resalt",
            "Keys/TTL",
            "Keys/RetireSafety",
            "Keys/PublishSafety",
            "Keys/KSK Lifetime",
            "Keys/ZSK Lifetime",
            "Parent/DS/TTL",
        ]
    );
    let ksk = d
        .durations
        .iter()
        .find(|u| u.field == "Keys/KSK Lifetime")
        .unwrap();
    assert_eq!(
        (ksk.value.as_str(), ksk.seconds),
        ("P1Y", Seconds(31_536_000))
    );
    assert!(d.durations.iter().any(|u| u.policy == 1));
}

#[test]
fn white_space_around_values_is_ignored() {
    let text = edited("<Resign>PT2H</Resign>", "<Resign>\n  PT2H  </Resign>")
        .replacen(
            "<Iterations>5</Iterations>",
            "<Iterations> 5 </Iterations>",
            1,
        )
        .replacen(
            "<Serial>unixtime</Serial>",
            "<Serial> unixtime\n</Serial>",
            1,
        );
    assert_eq!(parse_kasp(&text, "k").unwrap(), stock());
}
