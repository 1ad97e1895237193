//! `shadow` beside the real OpenDNSSEC 2.1.12 enforcer: `ods-enforcerd` runs on a captured
//! installation (03-ksk-doubleds-ds-seen: a KSK double-DS rollover waiting for ds-seen)
//! and is driven through it and two more KSK rollovers (the DS seen and gone as soon as
//! waited for, time leaps otherwise); after every step `shadow --once` compares
//! OpenDNSSEC's decisions with kasp-ledger's and must find none differing. Then the
//! test changes a record in OpenDNSSEC's database behind its back, as a wrong decision
//! would, and the next look reports it. Shadowing writes neither to the database nor to
//! the token.

use super::{Installation, RealEnforcer};

fn token_objects(i: &Installation) -> usize {
    let mut n = 0;
    for token in std::fs::read_dir(i.path("tokens")).unwrap() {
        for f in std::fs::read_dir(token.unwrap().path()).unwrap() {
            n += usize::from(f.unwrap().path().extension().is_some_and(|e| e == "object"));
        }
    }
    n
}

#[test]
fn shadow_follows_opendnssec_through_ksk_rollovers_and_reports_a_divergence() {
    let i = Installation::copy("03-ksk-doubleds-ds-seen");
    let ods = RealEnforcer::start(&i);
    let first = i.run("shadow --once");
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.out.starts_with("Shadowing OpenDNSSEC's database"),
        "{first:?}"
    );
    assert!(i.path("enforcer/shadow.redb").is_file());

    let (mut compared, mut seen, mut gone) = (0, 0, 0);
    for step in 0..30 {
        let keys = ods.run("key list --verbose");
        let line = if keys.contains("waiting for ds-seen") {
            seen += 1;
            "key ds-seen --all"
        } else if keys.contains("waiting for ds-gone") {
            gone += 1;
            "key ds-gone --all"
        } else {
            "time leap"
        };
        ods.run(line);
        let r = i.run("shadow --once");
        assert_eq!(r.code, 0, "step {step}, {line}: {r:?}");
        assert!(
            r.out.contains(" 0 divergence(s)") || r.out.starts_with("No change"),
            "step {step}, {line}: {r:?}"
        );
        compared += usize::from(r.out.contains(" 1 zone(s) compared"));
    }
    assert!(
        seen >= 3 && gone >= 3,
        "three KSK rollovers: {seen} ds-seen, {gone} ds-gone"
    );
    assert!(compared >= 15, "OpenDNSSEC's runs compared: {compared}");

    // A decision OpenDNSSEC did not make: an omnipresent DNSKEY marked unretentive.
    drop(ods);
    let database = i.database();
    let changed = database
        .execute(
            "UPDATE keyState SET state = 3 WHERE id = (SELECT min(id) FROM keyState \
             WHERE state = 2 AND type = 2)",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1, "an omnipresent DNSKEY record");
    drop(database);
    // Looking never writes: the database and the token stay as they are.
    let (bytes, objects) = (
        std::fs::read(i.path("enforcer/kasp.db")).unwrap(),
        token_objects(&i),
    );
    let r = i.run("shadow --once");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.out.contains("divergence: zone dsroll.example ")
            && r.out.contains(" DNSKEY: OpenDNSSEC unretentive since ")
            && r.out.contains(", kasp-ledger omnipresent since "),
        "{r:?}"
    );
    let r = i.run("shadow --once");
    assert!(r.out.starts_with("No change"), "{r:?}");
    assert!(std::fs::read(i.path("enforcer/kasp.db")).unwrap() == bytes);
    assert_eq!(token_objects(&i), objects);
    let show = i.run(&format!(
        "log show --file {}",
        i.path("enforcer/shadow.redb").display()
    ));
    assert!(
        show.out.contains(" DNSKEY: OpenDNSSEC unretentive since "),
        "recorded in the shadow log: {show:?}"
    );
}

#[test]
fn bad_shadow_options_and_files_are_refused_without_writing() {
    let i = Installation::copy("01-steady");
    for (line, needle) in [
        ("shadow --once --interval 0", "--interval"),
        ("shadow --once --interval soon", "--interval"),
        ("shadow --once --log shadow.redb", "absolute path"),
    ] {
        let r = i.run(line);
        assert_eq!(r.code, 2, "{line}: {r:?}");
        assert!(r.err.contains(needle), "{line}: {r:?}");
    }
    let shadow_log = i.path("enforcer/shadow.redb");
    assert!(!shadow_log.exists());
    // No database: nothing to follow, no shadow log.
    std::fs::rename(i.path("enforcer/kasp.db"), i.path("kasp.db.away")).unwrap();
    let r = i.run("shadow --once");
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.err.contains("no such file"), "{r:?}");
    assert!(!shadow_log.exists());
    std::fs::rename(i.path("kasp.db.away"), i.path("enforcer/kasp.db")).unwrap();
    // A shadow log that is not one: refused as damaged, left as it is.
    std::fs::write(&shadow_log, b"not a log").unwrap();
    let r = i.run("shadow --once");
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(std::fs::read(&shadow_log).unwrap(), b"not a log");
}
