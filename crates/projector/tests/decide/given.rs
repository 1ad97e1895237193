//! The vocabulary of the decide tests and their given / when / then: fixtures
//! (stock policies, zones, events), the state folded from events at `T0`, and
//! commands decided at `NOW`.

use kasp_events::{
    Event, Policy, PolicyCreated, PolicyDeleted, PolicyUpdated, Timestamp, ZoneAdded, ZoneConfig,
    ZoneDeleted,
};
use kasp_projector::State;
use kasp_projector::decide::{Command, Decision, Rejection, decide};

pub use kasp_projector::testgen::{changed_policy, pn, policy, renamed, stock, zn, zone};

/// When the `given` events happened (one second apart from here).
pub const T0: Timestamp = Timestamp(1_735_689_600); // 2025-01-01T00:00:00Z
/// When the command is decided.
pub const NOW: Timestamp = Timestamp(1_735_776_000); // 2025-01-02T00:00:00Z

// ---- vocabulary ----------------------------------------------------------------

/// A stock policy with two fields changed.
pub fn changed(name: &str) -> Policy {
    changed_policy(policy(name))
}

pub fn policy_created(p: Policy) -> Event {
    PolicyCreated { policy: p }.into()
}

pub fn policy_updated(p: Policy) -> Event {
    PolicyUpdated { policy: p }.into()
}

pub fn policy_deleted(name: &str) -> Event {
    PolicyDeleted { name: pn(name) }.into()
}

pub fn zone_added(z: ZoneConfig) -> Event {
    ZoneAdded {
        zone: z,
        suspended: false,
    }
    .into()
}

pub fn zone_added_suspended(z: ZoneConfig) -> Event {
    ZoneAdded {
        zone: z,
        suspended: true,
    }
    .into()
}

pub fn zone_deleted(name: &str) -> Event {
    ZoneDeleted { zone: zn(name) }.into()
}

/// The stock policies as imported.
pub fn stock_imported() -> Vec<Event> {
    stock().into_iter().map(policy_created).collect()
}

// ---- given / when / then -------------------------------------------------------

/// The state after these events, the first at `T0`, each a second after the last.
pub fn given(events: impl IntoIterator<Item = Event>) -> State {
    let mut state = State::default();
    for (i, e) in events.into_iter().enumerate() {
        state.apply_event(&e, Timestamp(T0.0 + i as i64));
    }
    state
}

/// The stock policies, then these zones (each with its policy).
pub fn given_zones(zones: &[(&str, &str)]) -> State {
    let mut events = stock_imported();
    events.extend(zones.iter().map(|(z, p)| zone_added(zone(z, p))));
    given(events)
}

/// Decides `command` against `state` at `NOW`.
pub fn when(state: &State, command: Command) -> Result<Decision, Rejection> {
    decide(state, &command, NOW)
}

/// The decision of an accepted command.
pub fn accepted(state: &State, command: Command) -> Decision {
    match when(state, command) {
        Ok(d) => d,
        Err(r) => panic!("refused: {}", r.message),
    }
}

/// The rejection of a refused command (always a refusal, never a usage error here).
pub fn refused(state: &State, command: Command) -> String {
    match when(state, command) {
        Ok(d) => panic!("accepted: {d:?}"),
        Err(r) => {
            assert!(!r.usage, "{r:?}");
            r.message
        }
    }
}

/// The state after the decision's events are applied at `NOW`.
pub fn then_state(state: &State, d: &Decision) -> State {
    let mut next = state.clone();
    for e in &d.events {
        next.apply_event(e, NOW);
    }
    next
}

pub fn import_policies(policies: Vec<Policy>, remove_missing: bool) -> Command {
    Command::ImportPolicies {
        policies,
        remove_missing,
    }
}

pub fn import_zonelist(zones: Vec<ZoneConfig>, remove_missing: bool) -> Command {
    Command::ImportZonelist {
        zones,
        remove_missing,
    }
}

pub fn add_zone(name: &str, policy: &str) -> Command {
    Command::AddZone {
        zone: zone(name, policy),
        suspended: false,
    }
}

pub fn set_policy(zone: &str, policy: &str) -> Command {
    Command::SetZonePolicy {
        zone: zn(zone),
        policy: pn(policy),
    }
}

/// Zone name and policy of every zone, in creation order.
pub fn zones_of(state: &State) -> Vec<(String, String)> {
    state
        .zones_in_order()
        .iter()
        .map(|z| {
            (
                z.config.name.as_str().to_string(),
                z.config.policy.as_str().to_string(),
            )
        })
        .collect()
}

/// Policy names in creation order.
pub fn policies_of(state: &State) -> Vec<String> {
    state
        .policies_in_order()
        .iter()
        .map(|p| p.policy.name.as_str().to_string())
        .collect()
}
