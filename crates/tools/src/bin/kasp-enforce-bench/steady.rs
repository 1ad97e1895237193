//! Building the steady-state project: conf.xml, kasp.xml and an event log of N zones
//! whose KSK and ZSK are both active (DS seen at the parent and omnipresent), with
//! every signconf written for real.
//!
//! The log is written like the engine writes it (`engine::append_folding`, so the
//! snapshots are there), but the zones are driven in memory: `decide_enforcer(RunDue)`
//! (the NSEC3 salt and `plan`) at each due time, the automatic ds-submit task's
//! `DsStateChanged` (hook `/bin/true`, as configured) and the operator's `key ds-seen`
//! as `DsStateChanged`, the clock moved with `ClockAdvanced` as `time leap` does — one
//! large append per step instead of one `ods-enforcer` process per step.

use anyhow::{Context as _, Result, bail, ensure};
use kasp_engine::session::append_folding;
use kasp_engine::signconf::write_signconf;
use kasp_events::{
    Actor, Adapter, BackupState, ClockAdvanced, ClockMode, DsAtParent, DsStateChanged, DsTrigger,
    Event, EventLog, FORMAT, InstanceId, KeyGenerated, KeyRole, KeySpec, Locator, LogCreated,
    NewEvent, Policy, PolicyCreated, RecordState, Seq, Timestamp, ZoneAdded, ZoneConfig, ZoneName,
};
use kasp_projector::State;
use kasp_projector::decide::enforcer::{EnforcerCommand, decide_enforcer};
use kasp_projector::formats::kasp::parse_kasp;
use kasp_projector::scheduler::plan::PlanConf;
use kasp_projector::state::ZoneView;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const START: Timestamp = Timestamp(1_735_689_600); // 2025-01-01T00:00:00Z
/// The DS submit hook of the bench's conf.xml (always succeeds).
const DS_HOOK: &str = "/bin/true";
/// Events per append transaction while building.
const BATCH: usize = 50_000;
/// Threads writing signconf files (each mostly waits for fsync and the notify child).
const WRITERS: usize = 16;

/// A project at steady state.
#[derive(Debug)]
pub struct Project {
    pub conf: PathBuf,
    /// The steady-state log, kept aside; each measured run gets a fresh copy.
    pub pristine: PathBuf,
    /// Where conf.xml's WorkingDirectory puts the log.
    pub log_path: PathBuf,
    /// The folded state of the pristine log.
    pub state: State,
    pub now: Timestamp,
    pub head: Seq,
    pub build: Duration,
    pub signconf: Duration,
}

/// The policy of fixtures/conformance/kasp/perf-ecdsa.xml.
fn ecdsa_policy(text: &str) -> Result<Policy> {
    let mut policies = parse_kasp(text, "perf-ecdsa.xml").map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(policies.len() == 1, "perf-ecdsa.xml: expected one policy");
    Ok(policies.remove(0))
}

fn write_files(root: &Path, ws: &Path) -> Result<(PathBuf, String)> {
    for d in ["enforcer", "signconf", "unsigned", "signed", "signer"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    let kasp = std::fs::read_to_string(ws.join("fixtures/conformance/kasp/perf-ecdsa.xml"))?;
    std::fs::write(root.join("kasp.xml"), &kasp)?;
    std::fs::write(root.join("unsigned/input.zone"), "")?;
    let conf_in = std::fs::read_to_string(ws.join("fixtures/demo/conf.xml.in"))?;
    // No HSM is needed at steady state: the module path does not exist, so a pass that
    // opened the HSM would fail (and print it) instead of passing unnoticed.
    let module = "<Module>/usr/lib/softhsm/libsofthsm2.so</Module>";
    ensure!(conf_in.contains(module), "conf.xml.in: no stock <Module>");
    let enforcer = "<Enforcer>\n";
    ensure!(conf_in.contains(enforcer), "conf.xml.in: no <Enforcer>");
    let conf = conf_in
        .replace("@DIR@", &root.display().to_string())
        .replace("@PIN@", "bench-pin")
        .replace(
            module,
            "<Module>/nonexistent/kasp-enforce-bench.so</Module>",
        )
        .replace(
            enforcer,
            &format!(
                "{enforcer}\t\t<ManualKeyGeneration/>\n\t\t\
                 <DelegationSignerSubmitCommand>{DS_HOOK}</DelegationSignerSubmitCommand>\n"
            ),
        );
    let path = root.join("conf.xml");
    std::fs::write(&path, conf)?;
    kasp_engine::config::load(&path).map_err(|f| anyhow::anyhow!("conf.xml: {}", f.message))?;
    Ok((path, kasp))
}

/// Deterministic pseudo-random bytes for key `i` (`what` separates the uses).
fn bytes<const L: usize>(what: &str, i: u64) -> [u8; L] {
    let mut h = blake3::Hasher::new();
    h.update(what.as_bytes()).update(&i.to_le_bytes());
    let mut out = [0u8; L];
    h.finalize_xof().fill(&mut out);
    out
}

fn key(policy: &Policy, role: KeyRole, i: u64) -> Event {
    let pk = policy.keys.keys.iter().find(|k| k.role == role);
    let pk = pk.expect("perf-ecdsa.xml has a KSK and a ZSK");
    KeyGenerated {
        locator: Locator(bytes("locator", i)),
        spec: KeySpec {
            repository: pk.repository.clone(),
            policy: policy.name.clone(),
            role,
            algorithm: pk.algorithm,
            bits: pk.bits,
        },
        // An ECDSA P-256 public key is 64 bytes (x, y); these are not on the curve.
        public_key: bytes::<64>("public key", i).to_vec(),
        backup: BackupState::NotRequired,
        adopted: false,
    }
    .into()
}

fn zone(root: &Path, policy: &Policy, i: u64) -> Event {
    let name = format!("zone{i}.example");
    let file = |kind: &str, uri: String| Adapter {
        kind: kind.into(),
        uri,
    };
    let r = root.display();
    ZoneAdded {
        zone: ZoneConfig {
            name: ZoneName::new(&name).expect("valid zone name"),
            policy: policy.name.clone(),
            signconf_path: format!("{r}/signconf/{name}.xml"),
            input: file("File", format!("{r}/unsigned/input.zone")),
            output: file("File", format!("{r}/signed/{name}")),
        },
        suspended: false,
    }
    .into()
}

/// The log being written and its folded state.
struct Writer {
    log: EventLog,
    state: State,
    last_snapshot: Option<Seq>,
    now: Timestamp,
}

impl Writer {
    fn append(&mut self, actor: &Actor, cause: &str, events: Vec<Event>) -> Result<()> {
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let batch: Vec<NewEvent> = events
                .by_ref()
                .take(BATCH)
                .map(|event| NewEvent {
                    at: self.now,
                    actor: actor.clone(),
                    cause: cause.to_string(),
                    event,
                })
                .collect();
            let head = self.log.head();
            let sealed = append_folding(
                &mut self.log,
                head,
                batch,
                &mut self.state,
                self.last_snapshot,
            )?;
            // append_folding's rule: a snapshot once SNAPSHOT_EVERY records accumulated.
            let last = sealed.last().map_or(0, |s| s.record.seq.0);
            let since = last.saturating_sub(self.last_snapshot.map_or(0, |s| s.0));
            if since >= kasp_engine::session::SNAPSHOT_EVERY {
                self.last_snapshot = Some(Seq(last));
            }
        }
        Ok(())
    }
}

/// Whether the zone's KSK and ZSK are active with nothing left to move.
pub fn steady(z: &ZoneView) -> bool {
    let keys = &z.model.keys;
    let settled = |s: RecordState| matches!(s, RecordState::Omnipresent | RecordState::Na);
    keys.len() == 2
        && keys.iter().any(|k| k.role == KeyRole::Ksk)
        && keys.iter().any(|k| k.role == KeyRole::Zsk)
        && keys.iter().all(|k| {
            k.records.states().into_iter().all(settled)
                && (k.role != KeyRole::Ksk || k.ds_at_parent == DsAtParent::Seen)
        })
}

/// The DS changes of every zone's keys in `from` (task or operator).
fn ds_changes(state: &State, from: DsAtParent, to: DsAtParent, task: bool) -> Vec<Event> {
    let mut events = Vec::new();
    for z in state.zones_in_order() {
        for k in z.model.keys.iter().filter(|k| k.ds_at_parent == from) {
            events.push(
                DsStateChanged {
                    zone: z.config.name.clone(),
                    key: k.id,
                    from,
                    to,
                    trigger: if task {
                        DsTrigger::Task
                    } else {
                        DsTrigger::Command
                    },
                    hook: task.then(|| DS_HOOK.to_string()),
                    // The operator's is `key ds-seen --all`, which only flushes.
                    next_change_now: task,
                }
                .into(),
            );
        }
    }
    events
}

/// Drives every zone to steady state (see the module text).
fn drive(w: &mut Writer, policy: &Policy) -> Result<()> {
    let scheduler = Actor::Scheduler;
    let operator = Actor::Operator("bench".into());
    let salt = (policy.name.clone(), "0123456789abcdef".to_string());
    let conf = PlanConf::default();
    for step in 0..64 {
        // The bench's pool is made up front (manual key generation).
        let run = EnforcerCommand::RunDue {
            salts: vec![salt.clone()],
            conf,
            keygen: None,
        };
        let d = decide_enforcer(&w.state, &run, w.now).map_err(|r| anyhow::anyhow!(r.message))?;
        let runs = d.events.len();
        w.append(&scheduler, "enforce (run due)", d.events)?;
        let tasks = ds_changes(&w.state, DsAtParent::Submit, DsAtParent::Submitted, true);
        let submitted = tasks.len();
        w.append(&scheduler, "ds-submit task", tasks)?;
        let seen = ds_changes(&w.state, DsAtParent::Submitted, DsAtParent::Seen, false);
        let seen_n = seen.len();
        w.append(&operator, "key ds-seen --all", seen)?;
        eprintln!(
            "    step {step} at {}: {runs} run events, {submitted} DS submitted, {seen_n} DS seen",
            w.now
        );
        if runs + submitted + seen_n > 0 {
            continue;
        }
        if w.state.zones.values().all(steady) {
            return Ok(());
        }
        let next = w.state.zones.values().filter_map(|z| z.due).min();
        let Some(next) = next.filter(|t| *t > w.now) else {
            bail!("zones are not steady and nothing is scheduled at {}", w.now);
        };
        let leap = ClockAdvanced {
            from: w.now,
            to: next,
        };
        w.append(&operator, "time leap", vec![leap.into()])?;
        w.now = next;
    }
    bail!("no steady state after 64 steps")
}

/// Writes the signconf of every zone that needs one, on `WRITERS` threads, and
/// returns the `SignconfWritten` events in zone order.
fn write_signconfs(state: &State) -> Result<Vec<Event>> {
    let zones: Vec<&ZoneView> = state
        .zones_in_order()
        .into_iter()
        .filter(|z| z.signconf_needed)
        .collect();
    let chunk = zones.len().div_ceil(WRITERS).max(1);
    let results: Vec<Result<Vec<Event>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = zones
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|z| write_signconf(state, z)).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("writer panicked".into())))
            .collect()
    });
    let mut events = Vec::with_capacity(zones.len());
    for r in results {
        events.extend(r.map_err(|e| anyhow::anyhow!(e))?);
    }
    for e in &events {
        if let Event::SignconfWritten(w) = e {
            ensure!(w.notify.is_ok(), "signer notify failed: {:?}", w.notify);
        }
    }
    Ok(events)
}

/// Builds the project of `n` zones under `root` (`ws` is the workspace root).
pub fn build(root: &Path, ws: &Path, n: u64) -> Result<Project> {
    let t = Instant::now();
    let (conf, kasp) = write_files(root, ws)?;
    let policy = ecdsa_policy(&kasp)?;
    let log_path = root.join("enforcer/events.redb");
    let created = LogCreated {
        format: FORMAT,
        instance: InstanceId(bytes("instance", n)),
        clock: ClockMode::Simulated { start: START },
    };
    let bench = Actor::Operator("bench".into());
    let (log, _) = EventLog::create(&log_path, created, START, bench.clone(), "setup")
        .context("creating the log")?;
    let mut w = Writer {
        log,
        state: State::default(),
        last_snapshot: None,
        now: START,
    };
    // The state of record 0 (append_folding folds only what it appends).
    w.state = kasp_engine::replay::fold(&w.log)?.0;
    let import = Actor::Import("bench".into());
    let created = PolicyCreated {
        policy: policy.clone(),
    };
    w.append(&import, "policy import", vec![created.into()])?;
    let keys = (0..n)
        .flat_map(|i| {
            [
                key(&policy, KeyRole::Ksk, 2 * i),
                key(&policy, KeyRole::Zsk, 2 * i + 1),
            ]
        })
        .collect();
    w.append(&bench, "key generate --policy ecdsa --duration P1D", keys)?;
    let zones = (0..n).map(|i| zone(root, &policy, i)).collect();
    w.append(&import, "zonelist import", zones)?;
    drive(&mut w, &policy)?;
    let build = t.elapsed();
    let t = Instant::now();
    let written = write_signconfs(&w.state)?;
    ensure!(
        written.len() as u64 == n,
        "{} signconfs for {n} zones",
        written.len()
    );
    let signconf = t.elapsed();
    w.append(&Actor::Scheduler, "enforce (signconf)", written)?;
    ensure!(
        w.state
            .zones
            .values()
            .all(|z| steady(z) && !z.signconf_needed),
        "not every zone is at steady state"
    );
    let head = w.log.head().seq;
    let (state, now) = (w.state, w.now);
    drop(w.log);
    let pristine = root.join("steady.redb");
    std::fs::copy(&log_path, &pristine)?;
    std::fs::File::open(&pristine)?.sync_all()?;
    Ok(Project {
        conf,
        pristine,
        log_path,
        state,
        now,
        head,
        build,
        signconf,
    })
}
