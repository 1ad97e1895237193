//! Time travel and history: `--at <seq|time>` on `key list`, `zone list`,
//! `rollover list`, `policy export` and `signconf` reproduces, byte for byte, what those
//! commands printed (and the signconf files as they were) at moments of a simulated log
//! driven through a KSK rollover; `zone history` and `key history` tell the story; bad
//! input is refused with the log untouched.

use crate::common::{Run, Sandbox, refused};
use crate::daemon::support::Daemon;
use kasp_events::Timestamp;

/// Every read compared at each moment.
const READS: &[&str] = &[
    "key list",
    "key list --verbose",
    "key list --debug",
    "key list --full",
    "key list --verbose --parsable",
    "key list --debug --parsable",
    "key list --parsable",
    "key list --all",
    "key list --zone example.com --verbose",
    "key list --keytype KSK --debug",
    "key list --keystate active",
    "key list --keystate ready --verbose",
    "key list --zone nosuch.example",
    "zone list",
    "rollover list",
    "rollover list --zone example.com",
    "policy export --all",
    "policy export --policy default",
];

const ZONES: [&str; 2] = ["example.com", "example.org"];

/// What the reads printed at one moment, and the signconf files then.
struct Capture {
    seq: u64,
    secs: i64,
    reads: Vec<(&'static str, Run)>,
    signconfs: Vec<(String, String)>,
}

/// A token sandbox whose signer notify and DS hooks succeed (the hook reads the DNSKEY
/// it is given: /bin/true could exit before the enforcer wrote it).
fn sandbox() -> Sandbox {
    let mut sb = Sandbox::with_token();
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    let hook = sb.path("ds-hook");
    std::fs::write(&hook, "#!/bin/sh\ncat >/dev/null\n").unwrap();
    let mut perm = std::fs::metadata(&hook).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&hook, perm).unwrap();
    let hook = hook.display();
    let conf = std::fs::read_to_string(sb.conf()).unwrap().replacen(
        "<AutomaticKeyGenerationPeriod>",
        &format!(
            "<DelegationSignerSubmitCommand>{hook}</DelegationSignerSubmitCommand>\n\t\t\
             <DelegationSignerRetractCommand>{hook}</DelegationSignerRetractCommand>\n\t\t\
             <AutomaticKeyGenerationPeriod>"
        ),
        1,
    );
    std::fs::write(sb.conf(), conf).unwrap();
    sb
}

fn head_seq(sb: &Sandbox) -> u64 {
    let out = sb.ok("log verify").out;
    let at = out.find("Head: seq ").expect("head") + 10;
    out[at..].split(' ').next().unwrap().parse().unwrap()
}

/// The simulated clock, from `queue`.
fn sim_secs(sb: &Sandbox) -> i64 {
    let out = sb.ok("queue").out;
    let at = out.find("It is now").expect("now");
    let open = out[at..].find('(').unwrap() + at + 1;
    out[open..].split(' ').next().unwrap().parse().unwrap()
}

fn capture(sb: &Sandbox) -> Capture {
    let reads = READS.iter().map(|l| (*l, sb.sh(l))).collect();
    let signconfs = ZONES
        .iter()
        .map(|z| {
            let path = sb.path(&format!("signconf/{z}.xml"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            (path.display().to_string(), text)
        })
        .collect();
    Capture {
        seq: head_seq(sb),
        secs: sim_secs(sb),
        reads,
        signconfs,
    }
}

/// The key tag of `zone`'s key of `role` in state `state` (the first one listed).
fn key_tag(sb: &Sandbox, zone: &str, role: &str, state: &str) -> String {
    let list = sb.ok("key list --verbose --parsable").out;
    list.lines()
        .map(|l| l.split(';').collect::<Vec<_>>())
        .find(|f| f.len() == 9 && f[0] == zone && f[1] == role && f[2] == state)
        .map(|f| f[8].to_string())
        .unwrap_or_else(|| panic!("no {role} {state} in {zone}: {list}"))
}

/// Leaps (capturing before each leap) until `key list` shows `until` for the zone, or
/// `max` leaps. Captures are taken only right before a leap: the next record then
/// belongs to a later moment, so the capture's time names exactly that state.
fn leap_until(sb: &Sandbox, caps: &mut Vec<Capture>, zone: &str, until: &str, max: usize) {
    for _ in 0..max {
        let list = sb.ok(&format!("key list --zone {zone}")).out;
        if list.contains(until) {
            return;
        }
        caps.push(capture(sb));
        sb.ok("time leap");
    }
    let list = sb.ok("key list --verbose").out;
    assert!(list.contains(until), "never reached {until:?}: {list}");
}

/// A log through both zones' first DS and a KSK rollover of example.com, with
/// captures at every moment before a leap.
fn ksk_rollover_log() -> (Sandbox, Vec<Capture>) {
    let sb = sandbox();
    let mut caps = Vec::new();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    sb.ok("zone add --zone example.org --policy default");
    leap_until(&sb, &mut caps, "example.com", "waiting for ds-seen", 6);
    for z in ZONES {
        let tag = key_tag(&sb, z, "KSK", "ready");
        sb.ok(&format!("key ds-seen --zone {z} --keytag {tag}"));
    }
    leap_until(&sb, &mut caps, "example.com", "active", 4);
    caps.push(capture(&sb));
    sb.ok("time leap");
    let r = sb.ok("key rollover --zone example.com --keytype KSK");
    assert_eq!(r.out, "rolling KSK for zone example.com\n");
    leap_until(&sb, &mut caps, "example.com", "waiting for ds-seen", 6);
    let tag = key_tag(&sb, "example.com", "KSK", "ready");
    sb.ok(&format!("key ds-seen --zone example.com --keytag {tag}"));
    leap_until(&sb, &mut caps, "example.com", "waiting for ds-gone", 6);
    let old = key_tag(&sb, "example.com", "KSK", "retire");
    sb.ok(&format!("key ds-gone --zone example.com --keytag {old}"));
    for _ in 0..4 {
        caps.push(capture(&sb));
        sb.ok("time leap");
    }
    caps.push(capture(&sb));
    (sb, caps)
}

fn time_forms(secs: i64) -> [String; 3] {
    let t = Timestamp(secs).to_string();
    let ods = format!("{}-{}", &t[..10], &t[11..19]);
    [t, ods, format!("@{secs}")]
}

#[test]
fn at_reproduces_what_the_reads_printed_through_a_ksk_rollover() {
    let (sb, caps) = ksk_rollover_log();
    // The log went through the whole rollover: two KSKs of example.com seen mid-way.
    let mid = caps
        .iter()
        .filter(|c| {
            let list = &c.reads[0].1.out;
            list.lines()
                .filter(|l| l.starts_with("example.com") && l.contains("KSK"))
                .count()
                == 2
        })
        .count();
    assert!(mid >= 2, "no capture mid-rollover");
    let log = sb.log_bytes();
    for (i, c) in caps.iter().enumerate() {
        let forms = time_forms(c.secs);
        // Every capture by seq; by time in all three spellings for a few (each spelling
        // goes through the same replay), and by the RFC 3339 one for all.
        let mut moments = vec![
            c.seq.to_string(),
            format!("seq:{}", c.seq),
            forms[0].clone(),
        ];
        if i % 4 == 0 {
            moments.extend(forms[1..].iter().cloned());
        }
        for m in &moments {
            for (line, then) in &c.reads {
                let now = sb.sh(&format!("{line} --at {m}"));
                assert_eq!(&now, then, "{line} --at {m} (capture {i})");
            }
            for (z, (path, text)) in ZONES.iter().zip(&c.signconfs) {
                let r = sb.sh(&format!("signconf --at {m} --zone {z}"));
                assert_eq!(
                    (r.code, &r.out, &r.err),
                    (0, text, &String::new()),
                    "{path} at {m}"
                );
            }
            let all = sb.ok(&format!("signconf --at={m}"));
            let expected = format!(
                "==> {} <==\n{}\n==> {} <==\n{}",
                c.signconfs[0].0, c.signconfs[0].1, c.signconfs[1].0, c.signconfs[1].1
            );
            assert_eq!(all.out, expected, "signconf --at {m}");
        }
    }
    // Reads only: the log and the signconf files are as they were.
    assert!(log == sb.log_bytes(), "--at changed the log");
    let last = caps.last().unwrap();
    for (path, text) in &last.signconfs {
        assert_eq!(&std::fs::read_to_string(path).unwrap(), text);
    }
    // Through the daemon (which holds the log open for writing), the same answers, and
    // nothing appended by them.
    let d = Daemon::start(&sb, &[]);
    let head = head_seq(&sb);
    let c = &caps[caps.len() / 2];
    for (line, then) in &c.reads[..4] {
        assert_eq!(
            &sb.sh(&format!("{line} --at {}", c.seq)),
            then,
            "daemon {line}"
        );
    }
    let z = sb.ok(&format!("signconf --at {} --zone example.com", c.seq));
    assert_eq!(z.out, c.signconfs[0].1);
    let history = sb.ok("zone history --zone example.com");
    assert_eq!(head_seq(&sb), head, "reads through the daemon appended");
    drop(d);
    assert_eq!(sb.ok("zone history --zone example.com"), history);
    histories(&sb);
}

/// Histories of the rollover log, then of a zone deleted and added again.
fn histories(sb: &Sandbox) {
    let h = sb.ok("zone history --zone example.com").out;
    let seqs: Vec<u64> = h
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] <= w[1]),
        "not oldest first: {h}"
    );
    for needle in [
        "operator:",
        "scheduler",
        "\"zone add --zone example.com --policy default\" zone added with policy default",
        "introduced, locator",
        "DNSKEY hidden -> rumoured",
        "DS at parent submit -> submitted (DS task, ran ",
        "DS at parent submitted -> seen (operator command)",
        "\"key rollover --zone example.com --keytype KSK\" rollover requested for KSK",
        "KSK rollover request served",
        "retired (goal: remove)",
        "DS at parent retracted -> unsubmitted (operator command)",
        "signconf written to",
        "\"time leap\"",
    ] {
        assert!(h.contains(needle), "{needle:?} not in:\n{h}");
    }
    // Only this zone's facts (another zone's commands may be the cause of its runs).
    assert_eq!(h.matches("zone added").count(), 1, "{h}");
    assert!(!h.contains("signconf/example.org.xml"), "{h}");
    // Key history: by key tag and zone, and by locator, the same story.
    let tag = key_tag(sb, "example.com", "KSK", "active");
    let by_tag = sb
        .ok(&format!("key history --zone example.com --keytag {tag}"))
        .out;
    let list = sb
        .ok("key list --verbose --parsable --zone example.com --keytype KSK")
        .out;
    let locator = list
        .lines()
        .find(|l| l.ends_with(&format!(";{tag}")))
        .and_then(|l| l.split(';').nth(6))
        .unwrap()
        .to_string();
    let by_id = sb.ok(&format!("key history --cka_id {locator}")).out;
    assert_eq!(by_tag, by_id);
    for needle in [
        "generation started: KSK for policy default",
        "generated in repository SoftHSM",
        "zone example.com KSK #",
        &format!("(keytag {tag}): introduced, locator {locator}"),
        "DS at parent submitted -> seen",
    ] {
        assert!(by_tag.contains(needle), "{needle:?} not in:\n{by_tag}");
    }
    assert!(
        !by_tag.contains("retired") && !by_tag.contains("hook failed"),
        "{by_tag}"
    );
    // The KSK rolled out: retired, purged, its material deleted.
    let h = sb.ok("zone history --zone example.com").out;
    let old = h
        .lines()
        .find(|l| l.contains("KSK #") && l.contains("retired (goal: remove)"))
        .and_then(|l| l.split("(keytag ").nth(1))
        .and_then(|t| t.split(')').next())
        .unwrap()
        .to_string();
    let old = sb
        .ok(&format!("key history --zone example.com --keytag {old}"))
        .out;
    for needle in [
        "generated in repository SoftHSM",
        "DS at parent seen -> retract",
        "rollover requested",
        "retired (goal: remove)",
        "DNSKEY unretentive -> hidden",
        "purged",
        "key material released: no key uses it any more",
        "key material deleted from the HSM",
    ] {
        assert!(old.contains(needle), "{needle:?} not in:\n{old}");
    }
    // A zone deleted and added again: both lives.
    sb.ok("zone delete --zone example.org");
    sb.ok("zone add --zone example.org --policy default");
    let h = sb.ok("zone history --zone example.org").out;
    let added = h.match_indices("zone added with policy default").count();
    let deleted = h.find("zone deleted").expect("deleted");
    assert_eq!(added, 2, "{h}");
    assert!(h.find("zone added").unwrap() < deleted && h.rfind("zone added").unwrap() > deleted);
    assert!(
        h[deleted..].contains("introduced"),
        "new keys in the second life: {h}"
    );
}

#[test]
fn bad_moments_and_unknown_subjects_are_refused_with_the_log_untouched() {
    let sb = sandbox();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com --policy default");
    let head = head_seq(&sb);
    for (line, code, needle) in [
        (
            "key list --at yesterday",
            2,
            "invalid --at value 'yesterday'",
        ),
        ("key list --at", 2, "option --at requires a value"),
        ("zone list --at=seq:x", 2, "invalid --at value"),
        ("rollover list --at @x", 2, "invalid --at value"),
        (
            "policy export --all --at 2025-02-30T00:00:00Z",
            2,
            "invalid --at value",
        ),
        ("key list --at 99999999", 2, "beyond the end of the log"),
        (
            "key list --at 2024-12-31T23:59:59Z",
            2,
            "before the log's first record",
        ),
        (
            "signconf --at 1999-01-01-00:00:00",
            2,
            "before the log's first record",
        ),
        (
            "signconf --at 1 --zone example.com",
            1,
            "zone example.com does not exist at seq 1",
        ),
        ("signconf --at 0 --zone bad..name", 2, "error:"),
        ("zone history", 2, "expected option --zone"),
        (
            "zone history --zone nosuch.example",
            1,
            "zone nosuch.example is not in the event log",
        ),
        ("key history", 2, "expected either --keytag"),
        ("key history --keytag 5", 2, "--keytag needs --zone"),
        (
            "key history --zone example.com --keytag x",
            2,
            "invalid key tag 'x'",
        ),
        ("key history --cka_id zz", 2, "error:"),
        (
            "key history --zone example.com --keytag 5 --cka_id 00",
            2,
            "expected either",
        ),
        ("key history --bogus", 255, "unknown arguments"),
    ] {
        refused(&sb, line, code, needle);
    }
    refused(
        &sb,
        "key history --cka_id 00000000000000000000000000000000",
        1,
        "no key with CKA_ID 00000000000000000000000000000000 is in the event log",
    );
    // A key tag no key of the zone has (tags are 16 bits; pick one not in use).
    let list = sb.ok("key list --verbose --parsable").out;
    let unused = (0u16..)
        .find(|t| !list.contains(&format!(";{t}\n")))
        .unwrap();
    refused(
        &sb,
        &format!("key history --zone example.com --keytag {unused}"),
        1,
        "is in the event log",
    );
    // `--at` does not count against OpenDNSSEC's word limit; without it, the limit and
    // the abbreviations are OpenDNSSEC's.
    let r = sb.sh(&format!("rollover list --zone example.com --at {head}"));
    assert_eq!(r, sb.sh("rollover list --zone example.com"));
    assert_eq!(sb.sh("rollover list --zone example.com x y").code, 255);
    assert_eq!(sb.sh("key list --a"), sb.sh("key list --all"));
    // `signconf --at` writes nothing and appends nothing.
    let file = sb.path("signconf/example.com.xml");
    let before = (sb.log_bytes(), std::fs::read(&file).unwrap());
    std::fs::remove_file(&file).unwrap();
    sb.ok(&format!("signconf --at {head}"));
    assert!(!file.exists(), "signconf --at wrote the file");
    assert!(before.0 == sb.log_bytes(), "signconf --at appended");
    std::fs::write(&file, &before.1).unwrap();
    // At record 0 there are no zones yet and no policies.
    assert_eq!(
        sb.ok("zone list --at 0").out,
        format!(
            "Database set to: {}\nNo zones in database.\n",
            sb.log_path().display()
        )
    );
    assert_eq!(sb.ok("signconf --at 0").out, "");
}
