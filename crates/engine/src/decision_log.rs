//! The daemon log's account of what the enforcer decided and did, in OpenDNSSEC 2.1.12's
//! words and at its levels (the catalogue: docs/daemon-log.md).
//!
//! The projector stays pure: it records facts as events. Once a command's events are
//! appended, [`committed`] turns them into the lines OpenDNSSEC logs at the moment it
//! makes the same decision (`[zone_add_cmd] zone Z added [policy: P]`, `[enforce_task]
//! please submit DS with keytag N for zone Z`, …), reading the state after the append
//! where a line names something the event does not carry (a key's tag). Lines about
//! files and commands the event log does not hold (the internal zone list) are logged
//! by the command that wrote them.
//!
//! Without a daemon the logger is not initialised and these lines go nowhere (only
//! `crit` would reach stderr): a daemonless command's output is OpenDNSSEC's command
//! output, unchanged.

use crate::logger;
use kasp_events::{DsAtParent, Event, Seconds, Timestamp, ZoneEnforced};
use kasp_projector::State;

/// What the lines need to know beyond the events and the state after them.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// When the events were decided.
    pub now: Timestamp,
    /// conf.xml's `RolloverNotification` (0 when absent).
    pub rollover_notification: Seconds,
}

/// Logs what the events just appended (in order) mean, `after` being the state they
/// produced.
pub fn committed(events: &[Event], after: &State, ctx: Context) {
    if !logger::enabled(logger::Level::Error) {
        return;
    }
    for event in events {
        for (level, line) in lines(event, after, ctx) {
            logger::log(level, &line);
        }
    }
}

/// The lines one event gives, in OpenDNSSEC's order.
pub fn lines(event: &Event, after: &State, ctx: Context) -> Vec<(logger::Level, String)> {
    use logger::Level::{Msg, Warning};
    let mut v = Vec::new();
    match event {
        Event::PolicyCreated(e) => v.push((
            Msg,
            format!("[policy_import] policy {} created", e.policy.name),
        )),
        Event::PolicyUpdated(e) => v.push((
            Msg,
            format!("[policy_import] policy {} updated", e.policy.name),
        )),
        Event::PolicyDeleted(e) => {
            v.push((Msg, format!("[policy_import] policy {} deleted", e.name)))
        }
        Event::ZoneAdded(e) => v.push((
            Msg,
            format!(
                "[zone_add_cmd] zone {} added [policy: {}]",
                e.zone.name, e.zone.policy
            ),
        )),
        Event::ZoneDeleted(e) => v.push((Msg, format!("[zone_del_cmd] zone {} deleted", e.zone))),
        Event::RolloverRequested(e) => {
            let what = if e.roles.len() > 1 {
                "all keys".to_string()
            } else {
                e.roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            v.push((
                Msg,
                format!(
                    "[keystate_rollover_cmd] Manual rollover initiated for {what} on Zone: {}",
                    e.zone
                ),
            ));
        }
        Event::ZoneEnforced(e) => {
            let policy = after
                .zone(&e.zone)
                .and_then(|z| after.policies.get(&z.config.policy));
            let passthrough = policy.is_some_and(|p| p.policy.passthrough);
            let keyless = policy.is_some_and(|p| p.policy.keys.keys.is_empty());
            if passthrough {
                // enforcer/enforce_task.c: no update, the signconf is written.
                v.push((Msg, format!("Passing through zone {}.", e.zone)));
            } else {
                v.push((Msg, format!("[enforcer] update zone: {}", e.zone)));
                if let Some(line) = impending(e, ctx) {
                    v.push((Msg, line));
                }
                if keyless {
                    v.push((
                        Msg,
                        format!(
                            "[enforcer] No keys configured for {}, zone will become unsigned eventually",
                            e.zone
                        ),
                    ));
                }
                // updatePolicy, before the purge (enforcer/enforcer.c): a key the
                // pool could not give (hsmkey/hsm_key_factory.c for the first line).
                if let Some(policy) = policy {
                    for _ in &e.no_key {
                        v.push((
                            Warning,
                            "[hsm_key_factory_get_key] no keys available".to_string(),
                        ));
                        v.push((
                            Warning,
                            format!(
                                "[enforcer] updatePolicy: No keys available in HSM for policy {}, \
                                 retry in 60 seconds",
                                policy.policy.name
                            ),
                        ));
                    }
                }
                // removeDeadKeys runs only for a policy that purges (enforcer.c).
                if policy.is_some_and(|p| p.policy.keys.purge.0 > 0) {
                    v.push((
                        Msg,
                        "[hsm_key_factory_delete_key] looking for keys to purge from HSM"
                            .to_string(),
                    ));
                    v.push((
                        Msg,
                        format!(
                            "[enforcer] removeDeadKeys: keys deleted from HSM: {}",
                            e.destroyed.len()
                        ),
                    ));
                }
                if !e.destroyed.is_empty() {
                    v.push((
                        Msg,
                        "[enforcer] reschedule enforcing policy due to deleting keys".to_string(),
                    ));
                }
                if !e.signconf_needed {
                    v.push((
                        Msg,
                        format!(
                            "[enforce_task] No changes to signconf file required for zone {}",
                            e.zone
                        ),
                    ));
                }
            }
            if let Some(zone) = after.zone(&e.zone) {
                for key in &zone.model.keys {
                    let verb = match key.ds_at_parent {
                        DsAtParent::Submit => "submit",
                        DsAtParent::Retract => "retract",
                        _ => continue,
                    };
                    v.push((
                        Warning,
                        format!(
                            "[enforce_task] please {verb} DS with keytag {} for zone {}",
                            key.key_tag, e.zone
                        ),
                    ));
                }
            }
        }
        Event::KeyMaterialDeleted(e) => {
            for locator in &e.locators {
                v.push((
                    Msg,
                    format!("[hsm_key_factory_delete_key] removing key {locator} from HSM"),
                ));
            }
        }
        Event::SignconfWritten(e) => {
            v.push((
                Msg,
                format!("[signconf_cmd] performing signconf for zone {}", e.zone),
            ));
            v.push((
                Msg,
                format!(
                    "[signconf_cmd] signconf done for zone {}, notifying signer",
                    e.zone
                ),
            ));
            if let Err(why) = &e.notify {
                v.push((
                    logger::Level::Error,
                    format!(
                        "[signconf_cmd] unable to notify signer of signconf changes for zone {}! ({why})",
                        e.zone
                    ),
                ));
            }
        }
        _ => {}
    }
    v
}

/// RolloverNotification (enforcer/enforcer.c `update`): a KSK roll (else, without a KSK
/// roll time, a CSK roll) due within the notification period, not this very second.
/// 2.1.12 reads the roll time before the run; here it is the time after it, the same
/// unless the run moved it (a roll it started is due `now`, which 2.1.12 leaves out).
fn impending(e: &ZoneEnforced, ctx: Context) -> Option<String> {
    let notification = ctx.rollover_notification.0;
    if notification == 0 {
        return None;
    }
    let set = |t: Option<Timestamp>| t.filter(|t| t.0 > 0);
    let [ksk, _, csk] = e.next_roll;
    let (role, at) = match (set(ksk), set(csk)) {
        (Some(t), _) => ("KSK", t),
        (None, Some(t)) => ("CSK", t),
        (None, None) => return None,
    };
    let due = at.0 - i64::from(notification) <= ctx.now.0 && at != ctx.now;
    due.then(|| {
        format!(
            "[enforcer] {role} Rollover for zone {} is impending, rollover will happen at {}",
            e.zone,
            at.ctime()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_CONTEXT: Context = Context {
        now: Timestamp(0),
        rollover_notification: Seconds(0),
    };
    use kasp_events::{KeyRole, RolloverRequested, ZoneDeleted, ZoneName};

    #[test]
    fn rollover_and_delete_lines() {
        let state = State::default();
        let zone = ZoneName::new("ods").unwrap();
        let one = lines(
            &RolloverRequested {
                zone: zone.clone(),
                roles: vec![KeyRole::Zsk],
            }
            .into(),
            &state,
            NO_CONTEXT,
        );
        assert_eq!(
            one,
            vec![(
                logger::Level::Msg,
                "[keystate_rollover_cmd] Manual rollover initiated for ZSK on Zone: ods"
                    .to_string()
            )]
        );
        let all = lines(
            &RolloverRequested {
                zone: zone.clone(),
                roles: vec![KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk],
            }
            .into(),
            &state,
            NO_CONTEXT,
        );
        assert!(all[0].1.ends_with("for all keys on Zone: ods"));
        let del = lines(&ZoneDeleted { zone }.into(), &state, NO_CONTEXT);
        assert_eq!(del[0].1, "[zone_del_cmd] zone ods deleted");
    }

    fn enforced(next_roll: [Option<Timestamp>; 3]) -> ZoneEnforced {
        ZoneEnforced {
            zone: ZoneName::new("ods").unwrap(),
            new_keys: vec![],
            retired: vec![],
            next_roll,
            roll_cleared: vec![],
            state_machine: None,
            purged: vec![],
            purged_dependencies: vec![],
            released: vec![],
            destroyed: vec![],
            signconf_needed: false,
            next_change: None,
            updated: true,
            no_key: vec![],
        }
    }

    /// RolloverNotification: a KSK roll within the period is announced, not one due this
    /// second, not one beyond the period, none without a notification period; a CSK roll
    /// only without a KSK roll time.
    #[test]
    fn impending_rollovers() {
        let ctx = |now: i64, n: u32| Context {
            now: Timestamp(now),
            rollover_notification: Seconds(n),
        };
        let roll = Timestamp(1_000_000);
        let ksk = enforced([Some(roll), None, None]);
        let line = impending(&ksk, ctx(1_000_000 - 3600, 86_400)).unwrap();
        assert!(
            line.starts_with(
                "[enforcer] KSK Rollover for zone ods is impending, rollover will happen at "
            ) && line.ends_with(&roll.ctime()),
            "{line}"
        );
        assert_eq!(impending(&ksk, ctx(1_000_000, 86_400)), None);
        assert_eq!(impending(&ksk, ctx(1_000_000 - 90_000, 86_400)), None);
        assert_eq!(impending(&ksk, ctx(1_000_000 - 3600, 0)), None);
        let csk = enforced([None, None, Some(roll)]);
        assert!(
            impending(&csk, ctx(1_000_000 - 1, 3600))
                .unwrap()
                .contains("CSK Rollover")
        );
    }
}
