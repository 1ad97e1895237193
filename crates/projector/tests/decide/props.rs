//! Invariants over random command sequences.

use crate::given::{NOW, given, stock_imported};
use kasp_events::Timestamp;
use kasp_projector::decide::{Command, decide};
use kasp_projector::testgen::arb_command;
use proptest::prelude::*;

/// Commands that, once applied, change nothing when decided again.
fn is_idempotent(c: &Command) -> bool {
    !matches!(c, Command::AddZone { .. } | Command::DeleteZone { .. })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the operator does, every zone uses a policy that exists, imports
    /// report one outcome per item, and a command repeated right after itself
    /// changes nothing.
    #[test]
    fn random_command_sequences_keep_the_invariants(
        commands in prop::collection::vec(arb_command(), 1..40)
    ) {
        let mut state = given(stock_imported());
        for (i, command) in commands.iter().enumerate() {
            let now = Timestamp(NOW.0 + i as i64);
            let Ok(d) = decide(&state, command, now) else { continue };
            match command {
                Command::ImportPolicies { policies, remove_missing: false } => {
                    prop_assert_eq!(d.outcomes.len(), policies.len());
                }
                Command::ImportZonelist { zones, remove_missing: false } => {
                    prop_assert_eq!(d.outcomes.len(), zones.len());
                }
                Command::UpdateAll { policies, zones, .. } => {
                    prop_assert_eq!(d.outcomes.len(), policies.len() + zones.len());
                }
                _ => {}
            }
            for e in &d.events {
                state.apply_event(e, now);
            }
            for z in state.zones.values() {
                prop_assert!(
                    state.policies.contains_key(&z.config.policy),
                    "zone {} uses missing policy {} after {:?}",
                    z.config.name, z.config.policy, command
                );
            }
            for (key, z) in &state.zones {
                prop_assert_eq!(key, &z.config.name.key());
            }
            if is_idempotent(command) {
                let again = decide(&state, command, now);
                prop_assert!(
                    again.as_ref().is_ok_and(|a| a.events.is_empty()),
                    "{:?} again: {:?}", command, again
                );
            }
        }
    }
}
