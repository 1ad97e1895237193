//! Key material: the factory's plan, generation intents and outcomes, backup state.

use crate::given::*;
use kasp_events::{BackupState, Event, KeyRole, KeySpec, Locator, Seconds};
use kasp_projector::decide::keys::{BackupAction, KeyCommand};
use kasp_projector::decide::{Command, Outcome};
use kasp_projector::scheduler::key_factory::plan;
use kasp_projector::state::pool::{HsmKeyUse, keys_to_cover};

const YEAR: Seconds = Seconds(365 * 86_400);

fn spec(role: KeyRole, bits: u32) -> KeySpec {
    KeySpec {
        repository: "SoftHSM".to_string(),
        policy: pn("default"),
        role,
        algorithm: 8,
        bits,
    }
}

fn keys(cmd: KeyCommand) -> Command {
    Command::Keys(cmd)
}

/// The stock policies, one zone on `default`, and `n` generated keys of `spec`.
fn with_keys(spec: &KeySpec, n: u8, require_backup: bool) -> kasp_projector::State {
    let mut state = given_zones(&[("example.com", "default")]);
    for i in 0..n {
        let locator = Locator([i; 16]);
        let d = accepted(
            &state,
            keys(KeyCommand::StartGeneration {
                keys: vec![(locator, spec.clone())],
            }),
        );
        state = then_state(&state, &d);
        let d = accepted(
            &state,
            keys(KeyCommand::Generated {
                locator,
                public_key: vec![i],
                require_backup,
                adopted: false,
            }),
        );
        state = then_state(&state, &d);
    }
    state
}

#[test]
fn keys_to_cover_is_a_ceiling() {
    assert_eq!(keys_to_cover(YEAR, YEAR), 1);
    assert_eq!(keys_to_cover(YEAR, Seconds(90 * 86_400)), 5);
    assert_eq!(keys_to_cover(Seconds(1), YEAR), 1);
    assert_eq!(keys_to_cover(YEAR, Seconds(0)), 0);
}

#[test]
fn the_plan_covers_the_period_per_policy_not_per_zone() {
    let state = given_zones(&[("example.com", "default"), ("example.net", "default")]);
    let needs = plan(&state, &[pn("default"), pn("lab")], YEAR);
    // lab has no zones; default: KSK P1Y -> 1, ZSK P90D -> 5.
    let got: Vec<(KeyRole, u32, usize, usize)> = needs
        .iter()
        .map(|n| (n.spec.role, n.spec.bits, n.target, n.missing()))
        .collect();
    assert_eq!(
        got,
        vec![(KeyRole::Ksk, 2048, 1, 1), (KeyRole::Zsk, 1024, 5, 5)]
    );
    assert!(needs.iter().all(|n| n.zones == 2));
}

#[test]
fn unused_keys_in_the_pool_count() {
    let state = with_keys(&spec(KeyRole::Zsk, 1024), 3, false);
    let needs = plan(&state, &[pn("default")], YEAR);
    let zsk = needs.iter().find(|n| n.spec.role == KeyRole::Zsk).unwrap();
    assert_eq!((zsk.have, zsk.missing()), (3, 2));
    let state = with_keys(&spec(KeyRole::Zsk, 1024), 7, false);
    let needs = plan(&state, &[pn("default")], YEAR);
    let zsk = needs.iter().find(|n| n.spec.role == KeyRole::Zsk).unwrap();
    assert_eq!(zsk.missing(), 0);
}

#[test]
fn generation_is_recorded_in_two_steps() {
    let state = given_zones(&[("example.com", "default")]);
    let l = Locator([7; 16]);
    let d = accepted(
        &state,
        keys(KeyCommand::StartGeneration {
            keys: vec![(l, spec(KeyRole::Ksk, 2048))],
        }),
    );
    assert!(matches!(
        d.events.as_slice(),
        [Event::KeyGenerationStarted(_)]
    ));
    let state = then_state(&state, &d);
    assert!(state.pool.pending.contains_key(&l));
    // The same locator cannot be started twice.
    let again = refused(
        &state,
        keys(KeyCommand::StartGeneration {
            keys: vec![(l, spec(KeyRole::Ksk, 2048))],
        }),
    );
    assert!(again.contains("already in use"), "{again}");
    let d = accepted(
        &state,
        keys(KeyCommand::Generated {
            locator: l,
            public_key: vec![1, 2, 3],
            require_backup: true,
            adopted: false,
        }),
    );
    let state = then_state(&state, &d);
    assert!(state.pool.pending.is_empty());
    let k = &state.pool.keys[&l];
    assert_eq!(
        (k.usage, k.backup, k.public_key.clone()),
        (HsmKeyUse::Unused, BackupState::Required, vec![1, 2, 3])
    );
    assert!(!k.backup.usable());
    // An outcome without an intent is refused.
    let orphan = refused(
        &state,
        keys(KeyCommand::Abandon {
            locator: Locator([9; 16]),
            reason: "x".into(),
        }),
    );
    assert!(orphan.contains("no generation"), "{orphan}");
}

#[test]
fn abandoned_generations_leave_no_key() {
    let state = given_zones(&[("example.com", "default")]);
    let l = Locator([3; 16]);
    let d = accepted(
        &state,
        keys(KeyCommand::StartGeneration {
            keys: vec![(l, spec(KeyRole::Zsk, 1024))],
        }),
    );
    let state = then_state(&state, &d);
    let d = accepted(
        &state,
        keys(KeyCommand::Abandon {
            locator: l,
            reason: "capacity reached".into(),
        }),
    );
    let state = then_state(&state, &d);
    assert!(state.pool.pending.is_empty() && state.pool.keys.is_empty());
}

#[test]
fn generation_for_an_unknown_policy_is_refused() {
    let state = given([]);
    let text = refused(
        &state,
        keys(KeyCommand::StartGeneration {
            keys: vec![(Locator([1; 16]), spec(KeyRole::Ksk, 2048))],
        }),
    );
    assert_eq!(text, "Unable to find policy default!");
}

fn backup(state: &kasp_projector::State, action: BackupAction) -> (kasp_projector::State, usize) {
    let d = accepted(
        state,
        keys(KeyCommand::Backup {
            action,
            repository: Some("SoftHSM".into()),
        }),
    );
    let n = match d.outcomes.as_slice() {
        [Outcome::BackupChanged(n)] => *n,
        other => panic!("{other:?}"),
    };
    (then_state(state, &d), n)
}

#[test]
fn backup_prepare_commit_and_rollback() {
    let state = with_keys(&spec(KeyRole::Zsk, 1024), 3, true);
    let (state, n) = backup(&state, BackupAction::Prepare);
    assert_eq!(n, 3);
    assert!(
        state
            .pool
            .keys
            .values()
            .all(|k| k.backup == BackupState::Prepared)
    );
    // Rollback undoes the prepare.
    let (state, n) = backup(&state, BackupAction::Rollback);
    assert_eq!(n, 3);
    assert!(
        state
            .pool
            .keys
            .values()
            .all(|k| k.backup == BackupState::Required)
    );
    let (state, _) = backup(&state, BackupAction::Prepare);
    let (state, n) = backup(&state, BackupAction::Commit);
    assert_eq!(n, 3);
    assert!(state.pool.keys.values().all(|k| k.backup.usable()));
    // Nothing left to do: no events.
    let d = accepted(
        &state,
        keys(KeyCommand::Backup {
            action: BackupAction::Commit,
            repository: None,
        }),
    );
    assert!(d.events.is_empty());
}

#[test]
fn backup_of_an_unknown_repository_is_refused() {
    let state = with_keys(&spec(KeyRole::Zsk, 1024), 1, true);
    let text = refused(
        &state,
        keys(KeyCommand::Backup {
            action: BackupAction::Prepare,
            repository: Some("NoSuchHSM".into()),
        }),
    );
    assert!(text.contains("NoSuchHSM"), "{text}");
}

#[test]
fn a_batch_of_outcomes_is_decided_in_order() {
    let state = given_zones(&[("example.com", "default")]);
    let (a, b) = (Locator([1; 16]), Locator([2; 16]));
    let d = accepted(
        &state,
        keys(KeyCommand::StartGeneration {
            keys: vec![(a, spec(KeyRole::Zsk, 1024)), (b, spec(KeyRole::Zsk, 1024))],
        }),
    );
    let state = then_state(&state, &d);
    let d = accepted(
        &state,
        keys(KeyCommand::Batch(vec![
            KeyCommand::Generated {
                locator: a,
                public_key: vec![1],
                require_backup: false,
                adopted: false,
            },
            KeyCommand::Abandon {
                locator: b,
                reason: "capacity".into(),
            },
        ])),
    );
    assert!(matches!(
        d.events.as_slice(),
        [Event::KeyGenerated(_), Event::KeyGenerationAbandoned(_)]
    ));
    let state = then_state(&state, &d);
    assert!(state.pool.pending.is_empty());
    assert_eq!(state.pool.keys.len(), 1);
    // A batch is all or nothing: one bad item refuses the whole batch.
    let text = refused(
        &state,
        keys(KeyCommand::Batch(vec![KeyCommand::Abandon {
            locator: a,
            reason: "again".into(),
        }])),
    );
    assert!(text.contains("no generation"), "{text}");
}
