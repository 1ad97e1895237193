//! The pure parts of `key export` / `key import`: ldns' record layout, C's `atoi`,
//! glibc's `strptime` + `mktime` for `--inception_time`, and the import tables.

use super::import::{ImportState, atoi, import_ttls, parse_inception};
use super::ldns_fields;
use kasp_events::{Denial, DsAtParent, KeyRole, RecordState, Seconds, Timestamp};

fn t(text: &str) -> Option<i64> {
    parse_inception(text).map(|t| t.0)
}

fn utc(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    Timestamp::from_civil(y, mo, d, h, mi, s).unwrap().0
}

#[test]
fn inception_time_is_read_as_strptime_and_mktime_do() {
    assert_eq!(t("2024-01-02-03:04:05"), Some(utc(2024, 1, 2, 3, 4, 5)));
    assert_eq!(t("2024-1-2-3:4:5"), Some(utc(2024, 1, 2, 3, 4, 5)));
    // Anything after the seconds is ignored; white space before a number is skipped.
    assert_eq!(t("2024-01-02-03:04:05Z"), Some(utc(2024, 1, 2, 3, 4, 5)));
    assert_eq!(t("2024-01-02-03:04:059"), Some(utc(2024, 1, 2, 3, 4, 5)));
    assert_eq!(t("2024-\t01-02-03:04:05"), Some(utc(2024, 1, 2, 3, 4, 5)));
    // mktime normalises days past the month's end and leap seconds.
    assert_eq!(t("2023-02-31-00:00:00"), Some(utc(2023, 3, 3, 0, 0, 0)));
    assert_eq!(t("2023-12-31-23:59:60"), Some(utc(2024, 1, 1, 0, 0, 0)));
    assert_eq!(t("2023-12-31-23:59:61"), Some(utc(2024, 1, 1, 0, 0, 1)));
    for bad in [
        "",
        "2024",
        "2024-01-02",
        "2024-01-02 03:04:05",
        "2024-01-02T03:04:05",
        "20245-01-02-03:04:05",
        "2024-13-02-03:04:05",
        "2024-00-02-03:04:05",
        "2024-01-32-03:04:05",
        "2024-01-00-03:04:05",
        "2024-01-02-24:04:05",
        "2024-01-02-03:60:05",
        "2024-01-02-03:04:62",
        "2024-01-02-03:04:",
        "x2024-01-02-03:04:05",
        "1969-12-31-23:59:59",
    ] {
        assert_eq!(t(bad), None, "{bad:?}");
    }
    assert_eq!(t("1970-01-01-00:00:00"), Some(0));
}

#[test]
fn atoi_reads_like_c() {
    assert_eq!(atoi("8"), 8);
    assert_eq!(atoi("  13abc"), 13);
    assert_eq!(atoi("+7"), 7);
    assert_eq!(atoi("-1"), -1);
    assert_eq!(atoi("abc"), 0);
    assert_eq!(atoi(""), 0);
    assert_eq!(atoi("2048"), 2048);
}

#[test]
fn import_tables_are_opendnssecs() {
    use ImportState::*;
    use RecordState::{Hidden as H, Na, Omnipresent as O, Rumoured as R, Unretentive as U};
    let ksk = [
        (Generate, [H, H, H, Na], DsAtParent::Unsubmitted),
        (Publish, [H, R, R, Na], DsAtParent::Unsubmitted),
        (Ready, [R, O, O, Na], DsAtParent::Submit),
        (Active, [R, O, O, Na], DsAtParent::Seen),
        (Retire, [U, O, O, Na], DsAtParent::Retracted),
    ];
    for (s, records, ds) in ksk {
        assert_eq!(s.records(KeyRole::Ksk), records, "{s:?}");
        assert_eq!(s.ds_at_parent(KeyRole::Ksk), ds, "{s:?}");
    }
    let zsk = [
        (Generate, [Na, H, Na, H]),
        (Publish, [Na, R, Na, H]),
        (Ready, [Na, O, Na, R]),
        (Active, [Na, O, Na, O]),
        (Retire, [Na, O, Na, U]),
    ];
    for role in [KeyRole::Zsk, KeyRole::Csk] {
        for (s, records) in zsk {
            assert_eq!(s.records(role), records, "{role:?} {s:?}");
            assert_eq!(s.ds_at_parent(role), DsAtParent::Unsubmitted);
        }
    }
    assert_eq!(ImportState::parse("ACTIVE"), Some(Active));
    assert_eq!(ImportState::parse("revoke"), None);
    assert_eq!(ImportState::parse("mixed"), None);
}

#[test]
fn import_ttls_follow_the_policy() {
    let text = include_str!("../../../../../fixtures/ods/kasp.xml");
    let policies = kasp_projector::formats::kasp::parse_kasp(text, "kasp.xml").unwrap();
    let default = policies
        .iter()
        .find(|p| p.name.as_str() == "default")
        .unwrap();
    // DS TTL, Keys TTL twice, max(min(SOA TTL, SOA minimum), max(MaxZoneTTL, NSEC3 TTL)).
    assert_eq!(
        import_ttls(default).map(|s| s.0),
        [3600, 3600, 3600, 86_400]
    );
    let mut p = default.clone();
    p.signatures.max_zone_ttl = Seconds(60);
    p.zone.soa_ttl = Seconds(900);
    p.zone.soa_minimum = Seconds(300);
    assert_eq!(import_ttls(&p)[3], Seconds(300));
    if let Denial::Nsec3(n) = &mut p.denial {
        n.ttl = Seconds(500);
    }
    assert_eq!(import_ttls(&p)[3], Seconds(500));
    p.denial = Denial::Nsec;
    assert_eq!(import_ttls(&p)[3], Seconds(300));
}

#[test]
fn ldns_separates_the_first_fields_with_tabs() {
    assert_eq!(
        ldns_fields("example.com. 3600 IN DNSKEY 257 3 8 AwEAAc=="),
        "example.com.\t3600\tIN\tDNSKEY\t257 3 8 AwEAAc=="
    );
}
