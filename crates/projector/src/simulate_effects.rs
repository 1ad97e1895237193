//! The side effects of the simulated enforcer loop, each replaced by its expected
//! outcome (see [`crate::simulate`]): salts, signconf writes, the DS tasks, the key
//! generation with synthetic key material, and the operator's DS commands.

use crate::decide::Command;
use crate::decide_enforce::EnforcerCommand;
use crate::decide_keys::KeyCommand;
use crate::enforcer::ds::{DsArgs, DsCommand, DsHook, DsStatus, ds_command};
use crate::resalt::due_for_salt;
use crate::simulate::{Sim, SimError};
use crate::simulate_items::Item;
use kasp_events::{
    DsStateChanged, DsTrigger, Event, Locator, SignconfWritten, Timestamp, ZoneName,
};

impl Sim<'_> {
    /// Deterministic salts for every NSEC3 policy (the decision uses the due ones).
    pub(crate) fn salts(&mut self) -> Vec<(kasp_events::PolicyName, String)> {
        let mut salts = Vec::new();
        for (policy, length) in due_for_salt(&self.state, Timestamp(i64::MAX), true) {
            self.serial += 1;
            let byte = (self.serial % 256) as u8;
            let salt: String = (0..length).map(|_| format!("{byte:02x}")).collect();
            salts.push((policy, salt));
        }
        salts
    }

    /// `SignconfWritten` for every zone that needs a signconf; while a key generation
    /// waits, not for the zones whose tasks wait for it (the shell's
    /// `write_needed_signconfs`).
    pub(crate) fn signconfs(&self, generation_waiting: bool) -> Vec<Event> {
        self.state
            .zones_in_task_order()
            .into_iter()
            .filter(|z| z.signconf_needed)
            .filter(|z| {
                !(generation_waiting
                    && crate::factory::waits_for_key_generation(z.config.name.as_str()))
            })
            .map(|z| {
                let digest = crate::signconf::zone_signconf(&self.state, z)
                    .map(|t| crate::simulate_items::digest(&t))
                    .unwrap_or_default();
                SignconfWritten {
                    zone: z.config.name.clone(),
                    path: z.config.signconf_path.clone(),
                    digest,
                    notify: Ok(()),
                }
                .into()
            })
            .collect()
    }

    /// The ds-submit / ds-retract tasks (the shell's `effects::ds_tasks`); a
    /// configured hook succeeds.
    pub(crate) fn ds_tasks(&self) -> Vec<Event> {
        let conf = &self.req.conf;
        let commands = crate::ds_tasks::DsCommands {
            submit: conf.ds_submit_command.as_deref(),
            retract: conf.ds_retract_command.as_deref(),
        };
        crate::ds_tasks::ds_task_events(&self.state, self.now, commands, |_| None)
    }

    /// A waiting key generation carried out (the shell's `generate_waiting`); every
    /// key is made.
    pub(crate) fn generate(&mut self, task: &crate::factory::KeyGenTask) -> Result<(), SimError> {
        let Some(period) = self.req.conf.key_generation else {
            return Ok(());
        };
        let needs = crate::factory::task_plan(&self.state, task, period);
        for need in needs.iter().filter(|n| n.missing() > 0) {
            let keys: Vec<(Locator, kasp_events::KeySpec)> = (0..need.missing())
                .map(|_| (self.fresh_locator(), need.spec.clone()))
                .collect();
            self.run(Command::Keys(KeyCommand::StartGeneration {
                keys: keys.clone(),
            }))?;
            let require_backup = self.req.conf.require_backup.contains(&need.spec.repository);
            let outcomes = keys
                .iter()
                .map(|(locator, _)| KeyCommand::Generated {
                    locator: *locator,
                    public_key: synthetic_public_key(locator),
                    require_backup,
                    adopted: false,
                })
                .collect();
            self.run(Command::Keys(KeyCommand::Batch(outcomes)))?;
        }
        Ok(())
    }

    /// A locator no key or generation of the pool uses.
    pub(crate) fn fresh_locator(&mut self) -> Locator {
        loop {
            self.serial += 1;
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(b"kasp-sim");
            bytes[8..].copy_from_slice(&self.serial.to_be_bytes());
            let l = Locator(bytes);
            if !self.state.pool.keys.contains_key(&l) && !self.state.pool.pending.contains_key(&l) {
                return l;
            }
        }
    }

    /// `key <command> --zone Z --keytag T` as the shell's `ds.rs` runs it (a configured
    /// hook succeeds). Whether anything changed.
    pub(crate) fn answer(&mut self, command: DsCommand, key_tag: u16) -> Result<bool, SimError> {
        let zone_text = self.zone.to_string();
        let tag_text = key_tag.to_string();
        let args = DsArgs {
            zone: Some(&zone_text),
            keytag: Some(&tag_text),
            ..DsArgs::default()
        };
        let result =
            crate::ds_tasks::with_ds_world(&self.state, |world| ds_command(command, &args, world));
        self.observer.push(
            self.now,
            Item::Answered(format!(
                "{} --zone {} --keytag {}",
                command.name(),
                self.zone,
                key_tag
            )),
        );
        let conf = &self.req.conf;
        let events: Vec<Event> = result
            .changes
            .iter()
            .filter_map(|c| {
                let zone = ZoneName::new(&c.zone).ok()?;
                let hook = match c.hook {
                    Some(DsHook::Submit) => conf.ds_submit_command.clone(),
                    Some(DsHook::Retract) => conf.ds_retract_command.clone(),
                    None => None,
                };
                Some(
                    DsStateChanged {
                        zone,
                        key: c.key,
                        from: c.from,
                        to: c.to,
                        trigger: DsTrigger::Command,
                        hook,
                        next_change_now: result.reset_next_change.as_deref() == Some(&c.zone),
                    }
                    .into(),
                )
            })
            .collect();
        let changed = !events.is_empty();
        if changed {
            self.enforcer(EnforcerCommand::Record { events })?;
        }
        if result.status == DsStatus::Exit(0) && result.flush_all {
            self.enforcer(EnforcerCommand::Flush { zones: None })?;
            self.run_due()?;
        } else if changed {
            self.run_due()?;
        }
        Ok(changed)
    }
}

/// A stand-in DNSKEY public key, fixed by the locator (only the key tag depends on it).
fn synthetic_public_key(locator: &Locator) -> Vec<u8> {
    let mut key = vec![3, 1, 0, 1];
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in locator.0 {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    for _ in 0..8 {
        x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        key.extend_from_slice(&x.to_be_bytes());
    }
    key
}
