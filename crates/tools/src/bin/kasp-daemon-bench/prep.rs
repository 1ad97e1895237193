//! What the daemon bench adds to kasp-enforce-bench's steady-state project: a spare
//! key pool on the bench's SoftHSM token (so the `zone add`s of the load test get their
//! KSK and ZSK from the pool, as with ManualKeyGeneration in production), the targets of the command mix (zone
//! names, KSK locators), and in-process timings of the whole-state operations the
//! daemon's commands do (to explain their latencies).

use crate::steady::Project;
use anyhow::{Context as _, Result, ensure};
use kasp_engine::replay::fold;
use kasp_engine::session::append_folding;
use kasp_events::{
    Access, Actor, BackupState, Event, EventLog, KeyGenerated, KeyRole, KeySpec, NewEvent,
    ZoneConfig,
};
use kasp_hsm::{Algorithm, HsmThread, KeyStore};
use kasp_projector::State;
use std::time::{Duration, Instant};

/// Generates `zones` × (KSK + ZSK) keys of the project's one policy on the token and
/// records them in its log (`key generate`; the outcomes in one transaction).
pub fn add_spare_keys(p: &Project, hsm: &mut HsmThread, zones: u64) -> Result<()> {
    let mut log = EventLog::open(&p.log_path, Access::ReadWrite).context("opening the log")?;
    let (mut state, snap) = fold(&log)?;
    let policy = state
        .policies
        .values()
        .next()
        .context("the log has no policy")?
        .policy
        .clone();
    let mut events = Vec::new();
    for _ in 0..zones {
        for role in [KeyRole::Ksk, KeyRole::Zsk] {
            let pk = policy.keys.keys.iter().find(|k| k.role == role);
            let pk = pk.context("the policy has no KSK or no ZSK")?;
            let locator = hsm.random_locator()?;
            let public_key =
                hsm.generate(&locator, Algorithm::from_number(pk.algorithm)?, pk.bits)?;
            let event: Event = KeyGenerated {
                locator,
                spec: KeySpec {
                    repository: pk.repository.clone(),
                    policy: policy.name.clone(),
                    role,
                    algorithm: pk.algorithm,
                    bits: pk.bits,
                },
                public_key,
                backup: BackupState::NotRequired,
                adopted: false,
            }
            .into();
            events.push(NewEvent {
                at: p.now,
                actor: Actor::Operator("bench".into()),
                cause: "key generate --policy ecdsa (spare pool)".into(),
                event,
            });
        }
    }
    if events.is_empty() {
        return Ok(());
    }
    let head = log.head();
    append_folding(&mut log, head, events, &mut state, snap)?;
    Ok(())
}

/// What the command mix works on.
#[derive(Debug, Clone)]
pub struct Targets {
    /// The steady-state zones' names.
    pub zones: Vec<String>,
    /// The locator (CKA_ID) of each zone's KSK, same order.
    pub ksk: Vec<String>,
    pub policy: String,
    /// An existing, empty unsigned zone file for `zone add --input`.
    pub input: String,
    /// Where `zone add --output` may point.
    pub signed_dir: String,
}

pub fn targets(p: &Project) -> Result<Targets> {
    let s = &p.state;
    let mut zones = Vec::new();
    let mut ksk = Vec::new();
    for z in s.zones_in_order() {
        let k = z.model.keys.iter().find(|k| k.role == KeyRole::Ksk);
        let k = k.context("a steady zone without a KSK")?;
        let m = k.hsm.and_then(|h| s.pool.by_id(h.0));
        let m = m.context("a KSK without key material")?;
        zones.push(z.config.name.to_string());
        ksk.push(m.locator.to_string());
    }
    let policy = s.policies.values().next().context("no policy")?;
    let root = p.conf.parent().context("conf.xml has no directory")?;
    Ok(Targets {
        zones,
        ksk,
        policy: policy.policy.name.to_string(),
        input: root.join("unsigned/input.zone").display().to_string(),
        signed_dir: root.join("signed").display().to_string(),
    })
}

/// In-process timings of the whole-state operations (median of `repeat`), on the
/// project's folded state: what a daemon command pays when it does them.
#[derive(Debug, Default)]
pub struct Parts {
    /// `State::clone` (an append while someone else still holds the cached Arc).
    pub clone: Duration,
    /// Dropping such a clone.
    pub drop: Duration,
    /// `zones_in_order` (collect + sort by id).
    pub in_order: Duration,
    /// `commands::next_task` (the writer's `publish` after every job, system clock).
    pub next_task: Duration,
    /// The internal zones.xml text (`after_zone_change`, every zone add/delete).
    pub zonelist: Duration,
    pub zonelist_bytes: usize,
    /// Writing it with `files::write_atomic` (write + fsync + rename + dir fsync).
    pub zonelist_write: Duration,
    /// Encoding the state snapshot (every 1,000 appended records).
    pub snapshot: Duration,
    pub snapshot_bytes: usize,
    /// The pool's locators as text (the DS commands' `DsWorld`).
    pub locators: Duration,
    /// Opening the token on an HSM thread (module, C_Initialize, login), as the daemon
    /// does for each command that destroys key material.
    pub hsm_open: Duration,
    /// Heap bytes of one copy of the folded state (glibc's in-use bytes around a clone).
    pub state_heap: u64,
}

/// Bytes in use in glibc's heap (all arenas, plus mmapped blocks).
fn heap_in_use() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let m = unsafe { libc::mallinfo2() };
    (m.uordblks + m.hblkhd) as u64
}

fn median_of(repeat: usize, mut f: impl FnMut() -> Result<Duration>) -> Result<Duration> {
    let mut runs = Vec::new();
    for _ in 0..repeat {
        runs.push(f()?);
    }
    Ok(kasp_tools::benchkit::median(runs))
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

pub fn parts(state: &State, scratch: &std::path::Path, repeat: usize) -> Result<Parts> {
    let mut p = Parts::default();
    let mut drops = Vec::new();
    p.clone = median_of(repeat, || {
        let (copy, d) = timed(|| state.clone());
        let ((), dropped) = timed(|| drop(copy));
        drops.push(dropped);
        Ok(d)
    })?;
    p.drop = kasp_tools::benchkit::median(drops);
    let before = heap_in_use();
    let copy = state.clone();
    p.state_heap = heap_in_use().saturating_sub(before);
    drop(copy);
    p.in_order = median_of(repeat, || {
        let (v, d) = timed(|| state.zones_in_order());
        ensure!(v.len() == state.zones.len());
        Ok(d)
    })?;
    p.next_task = median_of(repeat, || {
        Ok(timed(|| kasp_cli::commands::next_task(state)).1)
    })?;
    let mut text = String::new();
    p.zonelist = median_of(repeat, || {
        let (t, d) = timed(|| {
            let zones: Vec<&ZoneConfig> = state
                .zones_in_order()
                .into_iter()
                .map(|z| &z.config)
                .collect();
            kasp_projector::formats::zonelist::export_zonelist(&zones, false)
        });
        text = t;
        Ok(d)
    })?;
    p.zonelist_bytes = text.len();
    let file = scratch.join("zones-bench.xml");
    p.zonelist_write = median_of(repeat, || {
        let (r, d) = timed(|| {
            kasp_engine::files::write_atomic(&file, &text, kasp_engine::files::Readers::Group)
        });
        r.map_err(|e| anyhow::anyhow!(e))?;
        Ok(d)
    })?;
    let _ = std::fs::remove_file(&file);
    let mut size = 0;
    p.snapshot = median_of(repeat, || {
        let (r, d) = timed(|| kasp_events::codec::encode_value(state));
        size = r?.len();
        Ok(d)
    })?;
    p.snapshot_bytes = size;
    p.locators = median_of(repeat, || {
        let (v, d) = timed(|| {
            state
                .pool
                .by_id
                .iter()
                .map(|(id, l)| (*id, l.to_string()))
                .collect::<Vec<_>>()
        });
        ensure!(v.len() == state.pool.by_id.len());
        Ok(d)
    })?;
    Ok(p)
}
