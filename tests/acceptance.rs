//! The first acceptance run: setup, policy import, zone add, zone list, policy list,
//! log verify, log show; then one corrupted byte makes `log verify` exit 3.

use crate::common::Sandbox;

#[test]
fn foundation_acceptance() {
    let sb = Sandbox::new();
    let r = sb.ok("setup");
    assert!(r.out.starts_with("Created event log "), "{r:?}");
    let r = sb.ok("policy import");
    assert_eq!(
        r.out,
        "Created policy default successfully\nCreated policy lab successfully\n"
    );
    let r = sb.ok("zone add --zone example.com --policy default");
    let root = sb.root().display().to_string();
    assert_eq!(
        r.out,
        format!(
            "input is set to {root}/unsigned/example.com. \noutput is set to {root}/signed/example.com. \nZone example.com added successfully\n"
        )
    );
    // The zone ran at once; without key material (manual key generation, empty pool)
    // it retries a minute later (docs/state-machine.md, Policy step, key material).
    let r = sb.ok("zone list");
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(lines.len(), 4, "{r:?}");
    assert_eq!(
        lines[0],
        format!("Database set to: {root}/enforcer/events.redb")
    );
    assert!(
        lines[3].starts_with("example.com                     default       "),
        "{r:?}"
    );
    assert!(!lines[3].contains("as soon as possible"), "{r:?}");
    assert!(
        lines[3].ends_with(&format!("{root}/signconf/example.com.xml")),
        "{r:?}"
    );
    let r = sb.ok("policy list");
    assert_eq!(
        r.out,
        "Policy:                         Description:                                    \n\
         default                         A default policy that will amaze you and your friends\n\
         lab                             Quick turnaround policy for lab work            \n"
    );
    let r = sb.ok("log verify");
    // LogCreated, two policies, the default policy's first NSEC3 salt, the zone, its
    // first enforcer run.
    assert!(r.out.contains("verified: 6 records"), "{r:?}");
    assert!(r.out.contains("Head: seq 5 hash "), "{r:?}");
    let r = sb.ok("log show");
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(lines.len(), 6, "{r:?}");
    let user = kasp_engine::actor::current_user();
    assert!(
        lines[0].contains(&format!("operator:{user}")) && lines[0].contains("Event log created")
    );
    assert!(
        lines[1].contains(&format!("import:{user}")) && lines[1].contains("Policy default created")
    );
    // The first salt and the zone's first run are the scheduler's decisions, caused by
    // the import and by zone add.
    assert!(lines[3].contains("scheduler") && lines[3].contains("resalted"));
    assert!(lines[3].contains("\"policy import\""));
    assert!(lines[4].contains(&format!("operator:{user}")));
    assert!(lines[4].contains("\"zone add --zone example.com --policy default\""));
    assert!(lines[4].contains("Zone example.com added with policy default"));
    assert!(lines[5].contains("Zone example.com enforced"), "{r:?}");
    assert!(lines[5].contains("scheduler"), "{r:?}");

    // Corrupt one byte of a stored record in the file.
    sb.flip_a_bit_in_record("zone add --zone example.com --policy default");
    let r = sb.sh("log verify");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.err.contains("at record 4"), "{r:?}");
    // Other commands refuse the tampered log too.
    let r = sb.sh("zone list");
    assert_eq!(r.code, 3, "{r:?}");
}

#[test]
fn import_that_changes_nothing_appends_nothing() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    let before = sb.log_bytes();
    let r = sb.ok("policy import");
    assert_eq!(
        r.out,
        "Policy default already up-to-date\nPolicy lab already up-to-date\n"
    );
    assert_eq!(before, sb.log_bytes());
    let r = sb.ok("log verify");
    assert!(r.out.contains("4 records"), "{r:?}");
}

#[test]
fn log_show_filters_and_json() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com");
    sb.ok("zone add --zone example.net --policy lab");
    // Added, then its first enforcer run.
    let r = sb.ok("log show --zone example.net");
    assert_eq!(r.out.lines().count(), 2, "{r:?}");
    assert!(r.out.contains("Zone example.net enforced"), "{r:?}");
    let r = sb.ok("log show --json --since 2025-01-01T00:00:00Z");
    for line in r.out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["seq"].is_u64() && v["actor"].is_string() && v["summary"].is_string());
    }
    assert_eq!(sb.ok("log show --until 2024-12-31T23:59:59Z").out, "");
    let r = sb.ok("log export --jsonl");
    let lines: Vec<serde_json::Value> = r
        .out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[0]["kind"], "LogCreated");
    assert_eq!(lines[1]["prev"], lines[0]["hash"]);
    assert_eq!(lines[3]["kind"], "SaltChanged");
    assert_eq!(lines[5]["kind"], "ZoneEnforced");
    assert_eq!(lines[6]["event"]["zone"]["name"], "example.net");
}

#[test]
fn exports_validate_against_the_schemas() {
    use kasp_engine::schema::{Schema, validate};
    let sb = Sandbox::with_log();
    // A policy with what OpenDNSSEC's export gets wrong: RegistrationDelay, Passthrough.
    let kasp = crate::common::KASP.replacen(
        "<Policy name=\"lab\">",
        "<Policy name=\"lab\">\n\t\t<Passthrough/>",
        1,
    );
    let kasp = kasp.replacen(
        "</SOA>\n\t\t</Parent>",
        "</SOA>\n\t\t\t<RegistrationDelay>P1D</RegistrationDelay>\n\t\t</Parent>",
        1,
    );
    assert_ne!(kasp, crate::common::KASP, "the fixture edits did not apply");
    std::fs::write(sb.path("kasp.xml"), &kasp).unwrap();
    sb.ok("policy import");
    let out = sb.ok("policy export --all").out;
    assert!(
        out.contains("<RegistrationDelay>P1D</RegistrationDelay>"),
        "{out}"
    );
    assert!(out.contains("<Passthrough/>"), "{out}");
    validate(&out, "export", Schema::Kasp).unwrap_or_else(|e| panic!("{e:?}\n{out}"));
    // Importing the export changes nothing.
    std::fs::write(sb.path("kasp.xml"), &out).unwrap();
    let r = sb.ok("policy import");
    assert_eq!(
        r.out,
        "Policy default already up-to-date\nPolicy lab already up-to-date\n"
    );
    sb.ok("zone add --zone example.com");
    sb.ok("zonelist export");
    let zl = std::fs::read_to_string(sb.path("zonelist.xml")).unwrap();
    validate(&zl, "zonelist", Schema::Zonelist).unwrap_or_else(|e| panic!("{e:?}\n{zl}"));
    let internal = std::fs::read_to_string(sb.path("enforcer/zones.xml")).unwrap();
    validate(&internal, "zones.xml", Schema::Zonelist).unwrap();
}

#[test]
fn the_pin_never_reaches_the_log_or_the_output() {
    let sb = Sandbox::with_log();
    let mut seen = String::new();
    for line in [
        "policy import",
        "zone add --zone example.com",
        "zonelist export",
        "log show",
        "log export --jsonl",
        "help",
        "zone list",
    ] {
        let r = sb.ok(line);
        seen.push_str(&r.out);
        seen.push_str(&r.err);
    }
    let pin = "not-a-secret-test-pin";
    assert!(std::fs::read_to_string(sb.conf()).unwrap().contains(pin));
    assert!(!seen.contains(pin));
    let log = sb.log_bytes();
    assert!(!log.windows(pin.len()).any(|w| w == pin.as_bytes()));
}

#[test]
fn nsec3_policies_get_a_salt_on_import_and_on_policy_resalt() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    let salts = |sb: &Sandbox| -> Vec<String> {
        sb.ok("log show")
            .out
            .lines()
            .filter(|l| l.contains("resalted"))
            .map(str::to_string)
            .collect()
    };
    let first = salts(&sb);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0].contains("Policy default resalted (salt "),
        "{first:?}"
    );
    // An import that changes nothing draws no salt.
    sb.ok("policy import");
    assert_eq!(salts(&sb).len(), 1);
    // policy resalt: silent, exit 0, a new salt for every NSEC3 policy.
    let r = sb.ok("policy resalt");
    assert_eq!((r.out.as_str(), r.err.as_str()), ("", ""));
    let all = salts(&sb);
    assert_eq!(all.len(), 2);
    assert_ne!(all[0].rsplit(' ').next(), all[1].rsplit(' ').next());
}

/// Every shape the signconf renderer produces validates against OpenDNSSEC's
/// signconf.rng (the signer checks it before using the file).
#[test]
fn rendered_signconfs_validate_against_the_schema() {
    use kasp_engine::schema::{Schema, validate};
    use kasp_events::{Denial, KeyRole, Locator, Seconds, ZoneName};
    use kasp_projector::formats::signconf::{SignconfKey, render_signconf};
    let policies =
        kasp_projector::formats::kasp::parse_kasp(crate::common::KASP, "kasp.xml").unwrap();
    let key = |role, n: u8| SignconfKey {
        role,
        algorithm: 13,
        locator: Locator([n; 16]),
        active_ksk: n.is_multiple_of(2),
        active_zsk: n.is_multiple_of(3),
        publish: !n.is_multiple_of(5),
    };
    let keys = [
        key(KeyRole::Ksk, 2),
        key(KeyRole::Zsk, 3),
        key(KeyRole::Csk, 6),
        key(KeyRole::Zsk, 5),
    ];
    let zone = ZoneName::new("example.com").unwrap();
    for mut p in policies {
        for variant in 0..3 {
            if variant == 1 {
                p.passthrough = true;
                p.signatures.validity_keyset = Seconds(3600);
                p.signatures.max_zone_ttl = Seconds(0);
                if let Denial::Nsec3(n) = &mut p.denial {
                    n.opt_out = true;
                    n.ttl = Seconds(300);
                }
            }
            let keys = if variant == 2 { &keys[..0] } else { &keys[..] };
            let xml = render_signconf(&zone, &p, Some("a1b2c3d4"), keys);
            validate(&xml, "signconf.xml", Schema::Signconf)
                .unwrap_or_else(|e| panic!("{} variant {variant}: {e:?}\n{xml}", p.name));
        }
    }
}
