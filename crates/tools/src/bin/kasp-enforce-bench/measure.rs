//! The measurements on a steady-state project: `plan` in-process, the parts of the
//! pass in-process (fold, append), and the real `ods-enforcer enforce` end to end.

use crate::steady::Project;
use anyhow::{Context as _, Result, ensure};
use kasp_engine::replay::fold;
use kasp_engine::session::append_folding;
use kasp_events::{Access, Actor, EnforceRequested, Event, EventLog, NewEvent, Seq};
use kasp_projector::State;
use kasp_projector::scheduler::plan::{PlanConf, plan};
use kasp_tools::benchkit::{median, run_enforcer};
use std::path::Path;
use std::time::{Duration, Instant};

/// Repetitions of the in-process measurements (median reported).
const REPEAT: usize = 5;
/// Runs of the real binary, each on a fresh copy of the log (median reported).
const RUNS: usize = 3;

/// The medians of one size.
#[derive(Debug, Default)]
pub struct Times {
    pub plan: Duration,
    pub fold: Duration,
    pub append: Duration,
    pub process: Duration,
    /// The fastest and slowest process runs.
    pub process_range: (Duration, Duration),
}

/// The state with every zone flushed at `now` (what `enforce` records first).
fn flushed(p: &Project) -> State {
    let mut s = p.state.clone();
    let flush: Event = EnforceRequested { zones: None }.into();
    s.apply_event(&flush, p.now);
    s
}

/// `plan` over the flushed steady state: the pure decision of the pass.
fn time_plan(p: &Project, n: u64) -> Result<Duration> {
    let state = flushed(p);
    let mut runs = Vec::new();
    for _ in 0..REPEAT {
        let t = Instant::now();
        let events = plan(&state, p.now, PlanConf::default());
        runs.push(t.elapsed());
        ensure!(events.len() as u64 == n, "plan: {} events", events.len());
        let quiet = events.iter().all(|e| match e {
            Event::ZoneEnforced(z) => !z.signconf_needed && z.new_keys.is_empty(),
            _ => false,
        });
        ensure!(quiet, "the steady-state pass changes keys or signconfs");
    }
    Ok(median(runs))
}

/// A fresh copy of the steady-state log where conf.xml expects it, written back to
/// disk before the clock starts (else the pass's first durable commit would pay for
/// flushing the whole copy).
fn fresh_copy(p: &Project) -> Result<()> {
    std::fs::copy(&p.pristine, &p.log_path).context("copying the pristine log")?;
    std::fs::File::open(&p.log_path)?.sync_all()?;
    Ok(())
}

/// Open + fold of the pristine log (what each of the pass's three loads does), and
/// the append of the pass's N `ZoneEnforced` with its fold and snapshot.
fn time_parts(p: &Project, n: u64) -> Result<(Duration, Duration)> {
    let mut folds = Vec::new();
    for _ in 0..REPEAT {
        let t = Instant::now();
        let log = EventLog::open(&p.pristine, Access::ReadOnly)?;
        let (state, snap) = fold(&log)?;
        folds.push(t.elapsed());
        ensure!(snap.is_some(), "the steady-state log has no snapshot");
        ensure!(state.zones.len() as u64 == n, "fold: not {n} zones");
    }
    let mut appends = Vec::new();
    for _ in 0..RUNS {
        fresh_copy(p)?;
        let mut log = EventLog::open(&p.log_path, Access::ReadWrite)?;
        let (mut state, snap) = fold(&log)?;
        let at = p.now;
        let new = |event: Event| NewEvent {
            at,
            actor: Actor::Operator("bench".into()),
            cause: "enforce".into(),
            event,
        };
        let flush = vec![new(EnforceRequested { zones: None }.into())];
        let head = log.head();
        append_folding(&mut log, head, flush, &mut state, snap)?;
        let events: Vec<NewEvent> = plan(&state, at, PlanConf::default())
            .into_iter()
            .map(new)
            .collect();
        let head = log.head();
        let t = Instant::now();
        append_folding(&mut log, head, events, &mut state, snap)?;
        appends.push(t.elapsed());
    }
    Ok((median(folds), median(appends)))
}

/// What the pass appended after the pristine head: (records, ZoneEnforced, others
/// than EnforceRequested/ZoneEnforced/ClockAdvanced).
fn appended(p: &Project) -> Result<(u64, u64, u64)> {
    let log = EventLog::open(&p.log_path, Access::ReadOnly)?;
    let (mut all, mut runs, mut other) = (0, 0, 0);
    log.for_each(Seq(p.head.0 + 1), |s| {
        all += 1;
        match s.record.event {
            Event::ZoneEnforced(_) => runs += 1,
            Event::EnforceRequested(_) | Event::ClockAdvanced(_) => {}
            _ => other += 1,
        }
        Ok::<(), kasp_events::LogError>(())
    })?;
    Ok((all, runs, other))
}

/// The real binary, end to end, on fresh copies of the log.
fn time_process(p: &Project, bin: &Path, n: u64, args: &[&str]) -> Result<Vec<Duration>> {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        fresh_copy(p)?;
        // Quiet: a warning (failed signconf, HSM opened) would mean more than a steady pass.
        runs.push(run_enforcer(bin, &p.conf, args, true)?);
        let (all, enforced, other) = appended(p)?;
        ensure!(
            enforced == n && other == 0,
            "`{}` appended {all} records: {enforced} ZoneEnforced, {other} others",
            args.join(" ")
        );
    }
    Ok(runs)
}

/// Every measurement of one size.
pub fn measure(p: &Project, bin: &Path, n: u64) -> Result<Times> {
    let plan = time_plan(p, n)?;
    eprintln!("    plan: {plan:?}");
    let (fold, append) = time_parts(p, n)?;
    eprintln!("    open + fold: {fold:?}, append + snapshot: {append:?}");
    let runs = time_process(p, bin, n, &["enforce"])?;
    eprintln!("    ods-enforcer enforce: {runs:?}");
    let process_range = (
        *runs.iter().min().expect("runs"),
        *runs.iter().max().expect("runs"),
    );
    Ok(Times {
        plan,
        fold,
        append,
        process: median(runs),
        process_range,
    })
}
