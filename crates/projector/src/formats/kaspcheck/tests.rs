//! Tests of the kasp.xml semantic checks.

use super::*;
use crate::formats::kasp::parse_kasp_detailed;

const STOCK: &str = include_str!("../../../../../fixtures/ods/kasp.xml");
const F: &str = "/etc/opendnssec/kasp.xml";

fn run(text: &str, repos: &[&str]) -> Vec<String> {
    let d = parse_kasp_detailed(text, F).unwrap();
    check_kasp(&d, repos, F)
        .iter()
        .map(|f| f.to_string())
        .collect()
}

#[test]
fn stock_kasp_gives_two_year_warnings() {
    assert_eq!(
        run(STOCK, &["SoftHSM"]),
        [
            "WARNING: In policy default, Y used in duration field for Keys/KSK Lifetime (P1Y) \
             in /etc/opendnssec/kasp.xml - this will be interpreted as 365 days",
            "WARNING: In policy lab, Y used in duration field for Keys/KSK Lifetime (P1Y) \
             in /etc/opendnssec/kasp.xml - this will be interpreted as 365 days",
        ]
    );
}

#[test]
fn severity_and_display() {
    let f = Finding {
        severity: Severity::Error,
        message: "x".into(),
    };
    assert_eq!(f.to_string(), "ERROR: x");
    let d = parse_kasp_detailed(STOCK, F).unwrap();
    let findings = check_kasp(&d, &["SoftHSM"], F);
    assert!(findings.iter().all(|f| f.severity == Severity::Warning));
    let findings = check_kasp(&d, &[], F);
    assert_eq!(
        findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count(),
        4,
        "unknown repository for each KSK and ZSK"
    );
}

/// A policy breaking most rules. `{}` marks where the keys go.
fn bad_policy(name: &str, keys: &str, extra_sig: &str, serial: &str) -> String {
    format!(
        "<Policy name=\"{name}\"><Description>d</Description>\
         <Signatures><Resign>P1D</Resign><Refresh>PT1H</Refresh>\
         <Validity><Default>PT1H</Default><Denial>PT30M</Denial></Validity>\
         <Jitter>PT2H</Jitter><InceptionOffset>PT2H</InceptionOffset>{extra_sig}</Signatures>\
         <Denial><NSEC3><Resalt>PT1H</Resalt><Hash><Algorithm>2</Algorithm>\
         <Iterations>150</Iterations><Salt length=\"8\"/></Hash></NSEC3></Denial>\
         <Keys><TTL>PT1H</TTL><RetireSafety>PT5M</RetireSafety><PublishSafety>P1D</PublishSafety>\
         {keys}</Keys>\
         <Zone><PropagationDelay>PT1H</PropagationDelay><SOA><TTL>PT1H</TTL>\
         <Minimum>PT1H</Minimum><Serial>{serial}</Serial></SOA></Zone>\
         <Parent><PropagationDelay>PT1H</PropagationDelay><DS><TTL>PT1H</TTL></DS>\
         <SOA><TTL>PT1H</TTL><Minimum>PT1H</Minimum></SOA></Parent></Policy>"
    )
}

#[test]
fn every_check_in_order() {
    let keys = "<KSK><Algorithm length=\"512\">5</Algorithm><Lifetime>P1M</Lifetime>\
                <Repository>Other</Repository></KSK>\
                <ZSK><Algorithm length=\"8192\">8</Algorithm><Lifetime>PT1H</Lifetime>\
                <Repository>SoftHSM</Repository></ZSK>";
    let text = format!(
        "<KASP>{}{}</KASP>",
        bad_policy("p", keys, "<MaxZoneTTL>P1Y1M</MaxZoneTTL>", "datecounter"),
        bad_policy("p", "", "", "unixtime").replacen("<Resign>P1D", "<Resign>PT10M", 1)
    );
    let got = run(&text, &["SoftHSM"]);
    let f = F;
    let expected: Vec<String> = vec![
        "ERROR: Two policies exist with the same name (p)".into(),
        format!("WARNING: No policy named 'default' in {f}. This means you will need to refer explicitly to the policy for each zone"),
        format!("WARNING: In policy p, M & Y used in duration field for Signatures/MaxZoneTTL (P1Y1M) in {f} - these will be interpreted as 31 and 365 days respectively"),
        format!("ERROR: NSEC3 Hash algorithm for p Policy in {f} is 2 but should be 1"),
        format!("WARNING: NSEC3 Hash iterations for p Policy in {f} is 150 which is larger than the recommended maximum of 100"),
        format!("WARNING: In policy p, M used in duration field for Keys/KSK Lifetime (P1M) in {f} - this will be interpreted as 31 days"),
        "ERROR: ZSK/Lifetime (3600 seconds) for policy 'p' must be greater than the DNSKEY record TTL (3600 seconds) plus the MaxZoneTTL (34214400 seconds). This time is needed to pass for the ZSK to be able to reach the ready state.".into(),
        format!("ERROR: The Refresh interval (3600 seconds) for p Policy in {f} is less than or equal to the Resign interval (86400 seconds)"),
        format!("ERROR: Validity/Default (3600 seconds) for p policy in {f} is less than or equal to the Refresh interval (3600 seconds)"),
        format!("ERROR: Validity/Denial (1800 seconds) for p policy in {f} is less than or equal to the Refresh interval (3600 seconds)"),
        format!("WARNING: Jitter time (7200 seconds) is large compared to Validity/Default (3600 seconds) for p policy in {f}"),
        format!("WARNING: InceptionOffset is higher than expected (7200 seconds) for p policy in {f}"),
        format!("WARNING: Keys/PublishSafety (86400 seconds) is greater than 5 * TTL (3600 seconds) for p policy in {f}"),
        format!("WARNING: Keys/RetireSafety (300 seconds) is less than 0.1 * TTL (3600 seconds) for p policy in {f}"),
        format!("ERROR: In policy p, incompatible algorithm (5) used for KSK NSEC3 in {f}."),
        "WARNING: NSEC3 resalt interval (3600 secs) is less than signature resign interval (86400 secs) for p Policy".into(),
        format!("WARNING: Key length of 512 used for KSK in p policy in {f}. Should probably be 1024 or more"),
        format!("ERROR: Key length of 8192 used for ZSK in p policy in {f}. Should be 4096 or less"),
        format!("ERROR: Unknown repository (Other) defined for KSK in p policy in {f}"),
        "ERROR: ZSK with algorithm 5 not found, algorithm mismatch between ZSK and KSK".into(),
        format!("ERROR: Jitter time (7200 seconds) is greater than the Default Validity (3600 seconds) for p policy in {f}"),
        format!("ERROR: Jitter time (7200 seconds) is greater than the Denial Validity (1800 seconds) for p policy in {f}"),
        // Second policy: no keys, MaxZoneTTL absent, Resign PT10M.
        format!("ERROR: NSEC3 Hash algorithm for p Policy in {f} is 2 but should be 1"),
        format!("WARNING: NSEC3 Hash iterations for p Policy in {f} is 150 which is larger than the recommended maximum of 100"),
        format!("ERROR: Validity/Default (3600 seconds) for p policy in {f} is less than or equal to the Refresh interval (3600 seconds)"),
        format!("ERROR: Validity/Denial (1800 seconds) for p policy in {f} is less than or equal to the Refresh interval (3600 seconds)"),
        format!("WARNING: Jitter time (7200 seconds) is large compared to Validity/Default (3600 seconds) for p policy in {f}"),
        format!("WARNING: InceptionOffset is higher than expected (7200 seconds) for p policy in {f}"),
        format!("WARNING: Keys/PublishSafety (86400 seconds) is greater than 5 * TTL (3600 seconds) for p policy in {f}"),
        format!("WARNING: Keys/RetireSafety (300 seconds) is less than 0.1 * TTL (3600 seconds) for p policy in {f}"),
        format!("ERROR: Jitter time (7200 seconds) is greater than the Default Validity (3600 seconds) for p policy in {f}"),
        format!("ERROR: Jitter time (7200 seconds) is greater than the Denial Validity (1800 seconds) for p policy in {f}"),
    ];
    assert_eq!(got, expected);
}

#[test]
fn csk_counts_as_both_and_max_zone_ttl_absent_is_zero() {
    // CSK lifetime equal to TTL + DS TTL, algorithm 3 under NSEC3, unknown repository.
    let keys = "<CSK><Algorithm length=\"2048\">3</Algorithm><Lifetime>PT2H</Lifetime>\
                <Repository>X</Repository></CSK>";
    let text = format!(
        "<KASP>{}</KASP>",
        bad_policy("default", keys, "", "counter")
            .replacen("<Resign>P1D", "<Resign>PT10M", 1)
            .replacen("<Refresh>PT1H", "<Refresh>PT20M", 1)
            .replacen("<Jitter>PT2H", "<Jitter>PT1M", 1)
            .replacen("<InceptionOffset>PT2H", "<InceptionOffset>PT1H", 1)
            .replacen("<Resalt>PT1H", "<Resalt>P1D", 1)
            .replacen("<Algorithm>2</Algorithm>", "<Algorithm>1</Algorithm>", 1)
            .replacen("<Iterations>150", "<Iterations>5", 1)
            .replacen("<RetireSafety>PT5M", "<RetireSafety>PT1H", 1)
            .replacen("<PublishSafety>P1D", "<PublishSafety>PT1H", 1)
    );
    let got = run(&text, &[]);
    let f = F;
    assert_eq!(
        got,
        vec![
            "ERROR: KSK/Lifetime (7200 seconds) for policy 'default' must be greater than the DNSKEY record TTL (3600 seconds) plus the DS record TTL (3600 seconds). This time is needed to pass for the KSK to be able to reach the ready state.".to_string(),
            format!("ERROR: In policy default, incompatible algorithm (3) used for KSK NSEC3 in {f}."),
            format!("ERROR: In policy default, incompatible algorithm (3) used for ZSK NSEC3 in {f}."),
            format!("ERROR: Unknown repository (X) defined for KSK in default policy in {f}"),
            "ERROR: Unknown repository (X) defined for ZSK in default policy".to_string(),
        ]
    );
}

#[test]
fn datecounter_and_safety_rounding() {
    // Resign PT10M = 144 re-signs a day; PublishSafety below 0.1 * TTL warns, RetireSafety
    // exactly 0.1 * TTL does not (compared in doubles, as in C).
    let text = format!(
        "<KASP>{}</KASP>",
        bad_policy("default", "", "", "datecounter")
            .replacen("<Resign>P1D", "<Resign>PT10M", 1)
            .replacen(
                "<TTL>PT1H</TTL><RetireSafety>PT5M",
                "<TTL>PT30S</TTL><RetireSafety>PT3S",
                1
            )
            .replacen("<PublishSafety>P1D", "<PublishSafety>PT2S", 1)
    );
    let got = run(&text, &["SoftHSM"]);
    assert!(got.contains(&format!(
        "ERROR: In {F}, policy default, serial type datecounter used but 144 re-signs \
         requested. No more than 99 re-signs per day should be used with datecounter as \
         only 2 digits are allocated for the version number."
    )));
    assert!(got.contains(&format!(
        "WARNING: Keys/PublishSafety (2 seconds) is less than 0.1 * TTL (30 seconds) for \
         default policy in {F}"
    )));
    assert!(!got.iter().any(|m| m.contains("RetireSafety")));
}

#[test]
fn duplicated_keys() {
    let mut p = crate::formats::kasp::parse_kasp(STOCK, F).unwrap();
    assert!(!has_duplicate_keys(&p[0]));
    assert_eq!(duplicate_keys(&p), None);
    let k = p[1].keys.keys[0].clone();
    p[1].keys.keys.push(k);
    assert!(has_duplicate_keys(&p[1]));
    assert_eq!(duplicate_keys(&p).map(|n| n.as_str()), Some("lab"));
    assert_eq!(
        DUPLICATE_KEYS_MESSAGE,
        "Duplicated Policy Key elements in KASP XML is not allowed!"
    );
    // Differing in one field is not a duplicate.
    p[1].keys.keys[2].standby = 1;
    assert!(!has_duplicate_keys(&p[1]));
    assert_eq!(duplicate_keys(&p), None);
}
