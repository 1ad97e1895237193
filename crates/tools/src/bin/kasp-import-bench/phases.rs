//! The import's phases timed in-process, each on its own, with the library calls
//! `ods_import::prepare` and `setup --import-ods` make (crates/engine/src/ods_import/mod.rs,
//! crates/cli/src/commands/setup.rs), the token's public-key reads answered from memory
//! (remembered.rs), then the first fold of the new log, as every later command begins
//! (`kasp_engine::replay::fold`).

use crate::remembered::Remembered;
use crate::synth::Installation;
use anyhow::{Result, ensure};
use kasp_engine::ods_import::genesis::genesis;
use kasp_engine::ods_import::{GenesisInput, compare_zone_list, read_key_material};
use kasp_engine::replay::fold;
use kasp_events::{
    Access, Actor, ClockMode, EventLog, FORMAT, InstanceId, LogCreated, NewEvent, OdsDatastore,
    Timestamp,
};
use kasp_ods_database::ReadOptions;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

/// One run's times.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    /// `kasp_ods_database::read`: the SQLite read, decoding and reference checks.
    pub read: Duration,
    /// zones.xml parsed and compared with the database's zones.
    pub zone_list: Duration,
    /// `read_key_material` with the public keys from memory: the import's own work on
    /// the key material, without the token.
    pub key_checks: Duration,
    /// `genesis` with the public-key map.
    pub genesis: Duration,
    /// `EventLog::create_with_genesis`: the log written and made durable.
    pub create: Duration,
    /// Open + fold of the new log.
    pub fold: Duration,
}

impl Phases {
    pub fn total(&self) -> Duration {
        self.read + self.zone_list + self.key_checks + self.genesis + self.create + self.fold
    }

    /// The median of each phase over the runs.
    pub fn median(runs: &[Phases]) -> Phases {
        let m =
            |f: fn(&Phases) -> Duration| kasp_tools::benchkit::median(runs.iter().map(f).collect());
        Phases {
            read: m(|p| p.read),
            zone_list: m(|p| p.zone_list),
            key_checks: m(|p| p.key_checks),
            genesis: m(|p| p.genesis),
            create: m(|p| p.create),
            fold: m(|p| p.fold),
        }
    }
}

/// One import of `inst` into a new log at `log`, the HSM's answers being `public_keys`
/// (by the synthesized locators).
pub fn run(
    inst: &Installation,
    public_keys: &HashMap<String, Vec<u8>>,
    log: &Path,
) -> Result<Phases> {
    let mut p = Phases::default();
    let t = Instant::now();
    let snapshot = kasp_ods_database::read(
        &inst.database,
        &ReadOptions {
            busy_timeout: Duration::from_secs(5),
        },
    )?;
    p.read = t.elapsed();
    ensure!(
        snapshot.zones.len() as u64 == inst.zones,
        "read: not {} zones",
        inst.zones
    );

    let t = Instant::now();
    let path = inst.dir.join("enforcer/zones.xml");
    let text = std::fs::read_to_string(&path)?;
    let listed = kasp_projector::formats::zonelist::parse_zonelist(&text, "zones.xml")?;
    let differences = compare_zone_list(&snapshot, &listed);
    p.zone_list = t.elapsed();
    ensure!(
        differences.is_empty(),
        "zone list: {:?}",
        differences.first()
    );

    let keys = public_keys
        .iter()
        .map(|(l, k)| Ok((kasp_hsm::Locator::parse(l)?, k.clone())))
        .collect::<Result<HashMap<_, _>>>()?;
    let mut store = Remembered { keys };
    let t = Instant::now();
    let material = read_key_material(&snapshot, "SoftHSM", &mut store, &Default::default());
    p.key_checks = t.elapsed();
    ensure!(
        material.problems.is_empty(),
        "key material: {:?}",
        material.problems.first()
    );

    let public_keys: BTreeMap<_, _> = material.public_keys;
    let t = Instant::now();
    let built = genesis(
        &snapshot,
        GenesisInput {
            datastore: OdsDatastore::Sqlite,
            location: inst.database.display().to_string(),
            public_keys: &public_keys,
            kasp_differences: Vec::new(),
            write_signconfs: false,
        },
    )
    .map_err(|r| anyhow::anyhow!("genesis refused: {:?}", r.0.first()))?;
    p.genesis = t.elapsed();

    let at = Timestamp(inst.simulated_time);
    let actor = Actor::Operator("bench".into());
    let cause = "setup --import-ods";
    let t = Instant::now();
    let events: Vec<NewEvent> = built
        .events
        .into_iter()
        .map(|event| NewEvent {
            at,
            actor: actor.clone(),
            cause: cause.into(),
            event,
        })
        .collect();
    let created = LogCreated {
        format: FORMAT,
        instance: InstanceId([7; 16]),
        clock: ClockMode::Simulated { start: at },
    };
    let made = EventLog::create_with_genesis(log, created, at, actor, cause, events)?;
    drop(made);
    p.create = t.elapsed();

    let t = Instant::now();
    let opened = EventLog::open(log, Access::ReadOnly)?;
    let (state, _) = fold(&opened)?;
    p.fold = t.elapsed();
    ensure!(
        state.zones.len() as u64 == inst.zones,
        "fold: not {} zones",
        inst.zones
    );
    Ok(p)
}
