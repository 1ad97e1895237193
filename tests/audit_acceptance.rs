//! The audit features' acceptance on one simulated log that runs through a KSK rollover (DS
//! hooks that succeed, the DS answered by the operator): `key list --at` a moment
//! mid-rollover prints what `key list` printed at that moment; `explain` names the
//! `key ds-seen` the zone waits for; `simulate --rollover ZSK --until P120D` lists the
//! transitions that then happen when the log is leapt forward; rewriting an event and
//! recomputing the chain is caught by `log verify` through the checkpoints.

use crate::audit_checkpoint::rewrite;
use crate::simulate::{
    DAY, ZONE, advance, next_seq, now, settled_sandbox, simulate_zsk_rollover, waiting,
    zsk_rollover_for_real,
};
use kasp_events::Seq;

/// The reads compared with their `--at` replay.
const READS: [&str; 4] = [
    "key list",
    "key list --verbose",
    "key list --debug",
    "key list --all --parsable",
];

/// The seq of the newest record.
fn head(sb: &crate::common::Sandbox) -> u64 {
    next_seq(sb) - 1
}

#[test]
fn the_log_as_evidence_through_a_ksk_rollover() {
    let sb = settled_sandbox();
    // Signed checkpoints from here on: one now, then one a day as the zone runs.
    sb.ok("log checkpoint --setup --repository SoftHSM --interval P1D");
    sb.ok(&format!("key rollover --zone {ZONE} --keytype KSK"));

    // Leap until the new KSK's DS has been submitted (by the hook) and the zone waits
    // for the operator's ds-seen; keep what `key list` printed at every moment.
    let mut seen: Vec<(u64, Vec<String>)> = Vec::new();
    let mut tag = None;
    for _ in 0..50 {
        seen.push((head(&sb), READS.iter().map(|r| sb.ok(r).out).collect()));
        if let Some((_, t)) = waiting(&sb).into_iter().find(|(c, _)| *c == "ds-seen") {
            tag = Some(t);
            break;
        }
        sb.ok("time leap");
    }
    let tag = tag.expect("the rollover reaches the ds-seen wait");
    assert!(seen.len() >= 2, "moments kept: {}", seen.len());
    let (_, mid) = seen.last().unwrap();
    assert_eq!(mid[1].matches("KSK").count(), 2, "mid-rollover: {}", mid[1]);
    let explained = sb.ok(&format!("explain --zone {ZONE}")).out;
    assert!(
        explained.contains(&format!(
            "Waiting for the operator: key ds-seen --zone {ZONE} --keytag {tag}"
        )),
        "{explained}"
    );
    assert!(
        explained.contains(&format!(
            "key ds-seen --zone {ZONE} --keytag {tag} (DS submitted"
        )),
        "{explained}"
    );

    // The rest of the rollover, the operator answering the DS at once.
    let t = now(&sb);
    advance(&sb, t + 40 * DAY, true);
    assert!(waiting(&sb).is_empty(), "{:?}", waiting(&sb));

    // What a ZSK rollover will do over 120 days, then the same for real.
    let (report, simulated) = simulate_zsk_rollover(&sb);
    assert_eq!(simulated, zsk_rollover_for_real(&sb), "{report}");

    // Every moment of the KSK rollover, mid-rollover included, exactly as it was shown.
    for (seq, outputs) in &seen {
        for (read, then) in READS.iter().zip(outputs) {
            let at = sb.ok(&format!("{read} --at {seq}")).out;
            assert_eq!(&at, then, "{read} --at {seq}");
        }
    }

    // An attacker rewrites who added the zone and recomputes the chain: the log still
    // reads as a chain, and the checkpoints catch it.
    let checkpoints = sb.ok("log verify").out;
    assert!(
        checkpoints.contains("checkpoints verified against the audit key in the HSM"),
        "{checkpoints}"
    );
    let added = sb
        .ok(&format!("log show --zone {ZONE}"))
        .out
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|s| s.parse::<u64>().ok())
        .expect("the ZoneAdded record");
    rewrite(&sb, |r, _| {
        if r.seq == Seq(added) {
            r.actor = kasp_events::Actor::Operator("nobody".into());
        }
    });
    sb.ok("zone list");
    let r = sb.sh("log verify");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.out.contains("chain intact"), "{r:?}");
    assert!(r.err.contains("FAILED checkpoint verification"), "{r:?}");
}
