//! Crash safety, deterministically: a crash at EVERY effect of a fixed workload, once
//! before the effect (it did not happen) and once after it (it happened in the world,
//! its outcome was never recorded), is completed by the next start-up with nothing lost
//! or duplicated. Beside the SIGKILL loop (mod.rs), which lands at random moments, this
//! one lands at each of the scheduler's effects in turn.
//!
//! The workload runs on a real SoftHSM2 token in a sandbox (the fast policy of
//! tests/daemon/support.rs, automatic key generation for one day ahead, a
//! `DelegationSignerSubmitCommand` script): two zones are added (by the binary, outside
//! the workload), then the workload leaps from task to task as `time leap` does (a
//! `Leap` recorded, then `kasp_projector::scheduler::run_due` with the commands' own
//! journal and world, as crates/engine/src/due.rs `perform_due` runs it),
//! tells the enforcer `key ds-seen --all` (a command run in this process; the effects
//! of its own scheduler run are not counted) once the KSKs were submitted, and leaps on past a ZSK rollover and the destruction of the old ZSKs'
//! material; it ends, in every run, with a leap to the end of its span and a start-up
//! run ([`restart`]). Its scheduler runs generate keys, write signconfs, run the DS hook
//! and destroy key material.
//!
//! How n is chosen: an uninterrupted run counts the world's effects in its scheduler
//! runs (every call of `World` that acts on or asks the world: salts, destruction,
//! signconf writes, DS hooks, locators, key generation, pending keys, the interval
//! checkpoint), N in all; then for every n in 1..=N and both cuts, a fresh sandbox runs
//! the workload with [`FailingWorld`], which panics at the n-th effect (before or after
//! delegating to the real world). The panic is caught around the scheduler run, and
//! what a crashed daemon does next runs with a fresh context and world: its start-up run
//! ([`restart`]: a key generation for every policy, every zone flushed, what is due
//! run); the workload then goes on. A plain `run_due` is not enough after a crash
//! between a run that scheduled a key generation and the generation (the scheduled
//! generation lives only in the crashed run): its zones would wait for their 60-second
//! retry. After the workload: the log verifies, the fold from the snapshot equals a fold
//! from scratch, no generation is pending, no key was generated twice, the HSM holds
//! exactly the keys the log knows, every zone's signconf on disk is the one last
//! recorded (check.rs `log_against_world`), and the zones, their keys' roles and record
//! states, DS states, signconf flags and the key pool equal the uninterrupted run's
//! ([`projection`]: without locators, key tags, times or other values that differ).
//!
//! It fails when completion is broken: with `resolve_pending`
//! (crates/projector/src/scheduler/keys.rs) abandoning a key it should adopt, the
//! crashes after each `generate_key` leave orphan keys in the HSM.
//!
//! Each run is a child process of this test binary (`child_runs_effects_workload`):
//! SoftHSM reads SOFTHSM2_CONF once per process, and each run has its own token. The
//! crash runs go [`PARALLEL`] at a time (they wait mostly on fsync).

use super::check::log_against_world;
use crate::common::{Sandbox, conf_element, script};
use crate::daemon::support::fast_sandbox;
use kasp_cli::output::Captured;
use kasp_engine::Session;
use kasp_engine::world::{LogJournal, RealWorld};
use kasp_events::{Actor, KeySpec, Locator, SignconfWritten, Timestamp};
use kasp_projector::State;
use kasp_projector::decide::Command;
use kasp_projector::decide::enforcer::EnforcerCommand;
use kasp_projector::scheduler::{
    self, DsHookCall, Due, KeyFailure, LogLevel, MaterialToDestroy, PendingKey, SchedulerConf,
    SignconfFile, World,
};
use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The zones the sandbox starts with.
const ZONES: [&str; 2] = ["a.test", "b.test"];
/// The workload leaps to every task due within this long after the start (a time, not
/// a number of leaps: a run completed after a crash may leave a task of its own, a
/// leap more): it reaches the first ZSK rollover (30 days after the first key's use)
/// and the destruction of the old ZSKs' material (the purge delay, 14 days, after their
/// retirement), not the second rollover, and keeps the whole test (a run before and
/// after each of its effects) near a minute.
const SPAN: i64 = 75 * 86_400;
/// At most this many leaps (a bound against a runaway).
const MAX_LEAPS: usize = 40;
/// Crash runs at once.
const PARALLEL: usize = 4;
/// The operator of the workload's commands.
const USER: &str = "effects";

/// Where the world fails: at the n-th effect, before or after carrying it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    Before,
    After,
}

/// The panic payload of a crash [`FailingWorld`] makes.
#[derive(Debug)]
struct Crash {
    n: usize,
    effect: &'static str,
}

/// A world that counts every effect and crashes (panics) at the `fail_at`-th one.
struct FailingWorld<'c, W: World> {
    inner: W,
    /// Effects so far in the whole workload, with their kinds.
    done: &'c RefCell<Vec<&'static str>>,
    fail_at: Option<(usize, Cut)>,
}

impl<W: World> FailingWorld<'_, W> {
    fn effect<R>(&mut self, effect: &'static str, f: impl FnOnce(&mut W) -> R) -> R {
        let n = {
            let mut done = self.done.borrow_mut();
            done.push(effect);
            done.len()
        };
        if self.fail_at == Some((n, Cut::Before)) {
            std::panic::panic_any(Crash { n, effect });
        }
        let result = f(&mut self.inner);
        if self.fail_at == Some((n, Cut::After)) {
            std::panic::panic_any(Crash { n, effect });
        }
        result
    }
}

impl<W: World> World for FailingWorld<'_, W> {
    type Error = W::Error;

    fn salt(&mut self, length: u8) -> Result<String, W::Error> {
        self.effect("salt", |w| w.salt(length))
    }

    fn destroy(&mut self, keys: &[MaterialToDestroy]) -> Vec<Result<(), String>> {
        self.effect("destroy", |w| w.destroy(keys))
    }

    fn write_signconfs(
        &mut self,
        state: &State,
        files: Vec<SignconfFile>,
    ) -> Vec<Result<SignconfWritten, String>> {
        self.effect("write_signconfs", |w| w.write_signconfs(state, files))
    }

    fn run_ds_hook(&mut self, call: &DsHookCall) -> Result<(), String> {
        self.effect("run_ds_hook", |w| w.run_ds_hook(call))
    }

    fn new_locators(
        &mut self,
        state: &State,
        spec: &KeySpec,
        count: usize,
    ) -> Result<Vec<Locator>, W::Error> {
        self.effect("new_locators", |w| w.new_locators(state, spec, count))
    }

    fn generate_key(
        &mut self,
        spec: &KeySpec,
        locator: &Locator,
    ) -> Result<Vec<u8>, KeyFailure<W::Error>> {
        self.effect("generate_key", |w| w.generate_key(spec, locator))
    }

    fn requires_backup(&mut self, repository: &str) -> bool {
        self.inner.requires_backup(repository)
    }

    fn find_pending(&mut self, spec: &KeySpec, locator: &Locator) -> Result<PendingKey, W::Error> {
        self.effect("find_pending", |w| w.find_pending(spec, locator))
    }

    fn interval_checkpoint(&mut self) {
        self.effect("interval_checkpoint", |w| w.interval_checkpoint())
    }

    fn warn(&mut self, text: &str) {
        self.inner.warn(text)
    }

    fn report(&mut self, error: &W::Error) {
        self.inner.report(error)
    }

    fn log(&mut self, level: LogLevel, line: &str) {
        self.inner.log(level, line)
    }
}

/// A command's session, as `ods-enforcer -c <conf>` builds it daemonless
/// (crates/cli/src/commands/mod.rs `Shell::ctx_from_disk`).
fn context(conf_path: &Path, line: &str) -> Session {
    Session::daemonless(
        conf_path.to_path_buf(),
        kasp_engine::config::load(conf_path).expect("conf.xml"),
        line.to_string(),
        USER.to_string(),
    )
}

/// Runs what is due as the commands do (`perform_due`), in `world`.
fn run_due(ctx: &Session, world: &mut FailingWorld<'_, RealWorld<'_>>) {
    let conf = SchedulerConf::from_conf(&ctx.conf);
    let due = Due {
        waiting: None,
        signconfs: true,
    };
    let mut journal = LogJournal { ctx };
    let operator = Actor::Operator(ctx.user.clone());
    if let Err(e) = scheduler::run_due(&mut journal, world, &conf, &operator, due) {
        panic!("the scheduler run failed: {e:?}");
    }
}

/// What the daemon does when it starts again after the crash, with a fresh context and
/// world (nothing of the crashed run carried over): its start-up run, OpenDNSSEC's
/// `autostart` (crates/cli/src/daemon/writer.rs `autostart`, crates/engine/src/due.rs
/// `generate_all_first_flush_and_run`): a key generation for every policy
/// (it replaces a generation the crashed run had scheduled but not carried out), then
/// every zone flushed and what is due run. The warnings it kept for the operator.
fn restart(conf: &Path) -> Vec<String> {
    let ctx = context(conf, "start-up");
    let mut warnings = Vec::new();
    let started =
        kasp_engine::due::generate_all_first_flush_and_run(&ctx, &Actor::Scheduler, &mut warnings);
    if let Err(e) = started {
        panic!("the start-up run failed: {e:?}");
    }
    warnings
}

/// A command run in this process, daemonless; asserts it succeeded.
fn command(conf: &Path, line: &str) -> Captured {
    let mut args = vec!["-c".to_string(), conf.display().to_string()];
    args.extend(line.split_whitespace().map(str::to_string));
    let mut sink = Captured::default();
    let code = kasp_cli::client::run(&args, &mut sink);
    assert_eq!(code, 0, "{line}: {sink:?}");
    sink
}

/// What one workload run did: the effects of its scheduler runs, in order, and where
/// it crashed.
struct Ran {
    effects: Vec<&'static str>,
    crashed: Option<(usize, &'static str)>,
    leaps: usize,
    warnings: Vec<String>,
}

/// The workload (see the module text), crashing at `fail_at`; after the crash, a fresh
/// context and world run the scheduler again, and the workload goes on.
fn workload(conf: &Path, fail_at: Option<(usize, Cut)>) -> Ran {
    let done = RefCell::new(Vec::new());
    let crashed = Cell::new(None);
    let mut warnings = Vec::new();
    let start = context(conf, "start")
        .load()
        .expect("load")
        .1
        .now(Timestamp(0));
    let mut seen = false;
    let mut leaps = 0;
    while leaps < MAX_LEAPS {
        let ctx = context(conf, "time leap");
        let state = ctx.load().expect("load").1;
        let now = state.now(Timestamp(0));
        // The KSKs were submitted (the DS hook ran): the parent has the DS.
        if !seen && submitted(&state) {
            drop(state);
            command(conf, "key ds-seen --all");
            seen = true;
            continue;
        }
        let Some(to) = scheduler::next_leap(&state, now).filter(|t| t.0 <= start.0 + SPAN) else {
            // The end, common to every run: a leap to the end of the span, and the
            // daemon started again, its generation for every policy and its run of every
            // zone (so a crashed run's restart, which does the same, leaves nothing the
            // uninterrupted run does not do).
            drop(state);
            let end = Timestamp(start.0 + SPAN).max(now);
            let leap = Command::Enforcer(EnforcerCommand::Leap { to: end });
            ctx.run(Actor::Operator(USER.to_string()), &leap)
                .expect("record the leap");
            warnings.extend(restart(conf));
            break;
        };
        drop(state);
        let leap = Command::Enforcer(EnforcerCommand::Leap { to: to.max(now) });
        ctx.run(Actor::Operator(USER.to_string()), &leap)
            .expect("record the leap");
        leaps += 1;
        let fail = fail_at.filter(|_| crashed.get().is_none());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut world = FailingWorld {
                inner: RealWorld::new(&ctx),
                done: &done,
                fail_at: fail,
            };
            run_due(&ctx, &mut world);
            world.inner.warnings()
        }));
        match result {
            Ok(w) => warnings.extend(w),
            Err(payload) => {
                let Some(crash) = payload.downcast_ref::<Crash>() else {
                    std::panic::resume_unwind(payload)
                };
                crashed.set(Some((crash.n, crash.effect)));
                drop(ctx);
                warnings.extend(restart(conf));
            }
        }
    }
    Ran {
        effects: done.into_inner(),
        crashed: crashed.get(),
        leaps,
        warnings,
    }
}

/// Whether a key waits for the operator's `ds-seen` (its DS was submitted).
fn submitted(state: &State) -> bool {
    state.zones.values().any(|z| {
        z.model
            .keys
            .iter()
            .any(|k| k.ds_at_parent == kasp_events::DsAtParent::Submitted)
    })
}

/// What must be the same after an interrupted and completed workload as after an
/// uninterrupted one: per zone its policy and signconf flag, its keys (role, algorithm,
/// goal, DS at the parent, the states of its four records), sorted; the key pool by
/// kind and use. Not locators, key tags, public keys or salts (random), nor times (a
/// restart's run of every zone may take a step at the crash's time that the
/// uninterrupted run takes at the zone's next run).
fn projection(state: &State) -> Vec<String> {
    let mut out = Vec::new();
    for (name, zone) in &state.zones {
        out.push(format!(
            "zone {name}: policy {}, signconf needed {}",
            zone.config.policy, zone.signconf_needed
        ));
        let mut keys: Vec<String> = zone
            .model
            .keys
            .iter()
            .map(|k| {
                let states: Vec<_> = k.records.0.iter().map(|r| r.state).collect();
                format!(
                    "  {name} {:?} alg {} introducing {} ds {:?} records {states:?}",
                    k.role, k.algorithm, k.introducing, k.ds_at_parent
                )
            })
            .collect();
        keys.sort();
        out.extend(keys);
    }
    let mut pool: std::collections::BTreeMap<String, usize> = Default::default();
    for key in state.pool.keys.values() {
        let kind = format!(
            "pool {} {:?} {:?}",
            key.spec.policy, key.spec.role, key.usage
        );
        *pool.entry(kind).or_insert(0) += 1;
    }
    out.extend(pool.into_iter().map(|(k, n)| format!("{k}: {n}")));
    out
}

/// Not a test of its own: [`every_effect_cut_short_is_completed`] runs this binary
/// again with `KASP_EFFECTS_CONF` (the sandbox's conf.xml), `KASP_EFFECTS_FAIL`
/// (`none`, or `<n>:before` / `<n>:after`) and SOFTHSM2_CONF; it runs the workload and
/// prints `EFFECTS <kind>…` and `CRASHED <n> <kind>` lines.
#[test]
#[ignore = "a child process of daemon::crash::effects::every_effect_cut_short_is_completed"]
fn child_runs_effects_workload() {
    let conf = PathBuf::from(std::env::var_os("KASP_EFFECTS_CONF").expect(
        "KASP_EFFECTS_CONF is not set: only every_effect_cut_short_is_completed runs this child",
    ));
    let fail = std::env::var("KASP_EFFECTS_FAIL").unwrap_or_default();
    let fail_at = fail.split_once(':').map(|(n, cut)| {
        let cut = if cut == "before" {
            Cut::Before
        } else {
            Cut::After
        };
        (n.parse::<usize>().expect("n"), cut)
    });
    // Only the crashes this test makes are quiet.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<Crash>().is_none() {
            hook(info)
        }
    }));
    let ran = workload(&conf, fail_at);
    println!("EFFECTS {}", ran.effects.join(" "));
    println!("LEAPS {}", ran.leaps);
    if let Some((n, effect)) = ran.crashed {
        println!("CRASHED {n} {effect}");
    }
    for w in &ran.warnings {
        println!("WARNING {}", w.trim_end());
    }
}

/// A sandbox for one run: a token, the fast policy, keys generated one day ahead, a DS
/// submit hook, the zones added.
fn sandbox() -> Sandbox {
    let mut sb = fast_sandbox(false);
    sb.env
        .push(("KASP_SIGNER_COMMAND".to_string(), "/bin/true".to_string()));
    let conf = std::fs::read_to_string(sb.conf()).unwrap().replacen(
        "<AutomaticKeyGenerationPeriod>P1Y<",
        "<AutomaticKeyGenerationPeriod>P1D<",
        1,
    );
    std::fs::write(sb.conf(), conf).unwrap();
    let submitted = sb.path("ds-submitted");
    let hook = script(
        &sb,
        "ds-submit.sh",
        &format!("cat >> {}", submitted.display()),
    );
    conf_element(
        &sb,
        &format!("<DelegationSignerSubmitCommand>{hook}</DelegationSignerSubmitCommand>"),
    );
    for zone in ZONES {
        sb.ok(&format!("zone add --zone {zone} --policy fast"));
    }
    sb
}

/// Runs the workload in a child process in `sb`, failing at `fail`; its output lines.
fn run_child(sb: &Sandbox, fail: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "daemon::crash::effects::child_runs_effects_workload",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KASP_EFFECTS_CONF", sb.conf())
        .env("KASP_EFFECTS_FAIL", fail)
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the workload failing at {fail} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The words after `tag ` on the child's line that has it (libtest may print before
/// the first line, on the same line).
fn line_of<'a>(stdout: &'a str, tag: &str) -> Option<&'a str> {
    stdout.lines().find_map(|l| {
        l.split_once(&format!("{tag} "))
            .map(|(_, rest)| rest.trim())
    })
}

/// The checks after a run, and its projection.
fn check(sb: &Sandbox, label: &str) -> Vec<String> {
    let verify = sb.sh("log verify");
    assert_eq!(verify.code, 0, "{label}: log verify: {verify:?}");
    let (_, state) = log_against_world(sb, label, true);
    projection(&state)
}

#[test]
fn every_effect_cut_short_is_completed() {
    let t0 = Instant::now();
    let sb = sandbox();
    let stdout = run_child(&sb, "none");
    let effects: Vec<&str> = line_of(&stdout, "EFFECTS")
        .expect("the child lists its effects")
        .split_whitespace()
        .collect();
    let leaps = line_of(&stdout, "LEAPS").unwrap_or("?");
    let warnings: Vec<&str> = stdout.lines().filter(|l| l.contains("WARNING ")).collect();
    assert!(
        warnings.is_empty(),
        "the uninterrupted run warned: {warnings:?}"
    );
    let expected = check(&sb, "uninterrupted");
    let submitted = std::fs::read_to_string(sb.path("ds-submitted")).unwrap_or_default();
    eprintln!(
        "effects: uninterrupted: {leaps} leaps, {} effects: {}; DS hook input {} bytes",
        effects.len(),
        effects.join(" "),
        submitted.len()
    );
    // The workload has every kind of effect this test is about.
    for kind in [
        "new_locators",
        "generate_key",
        "write_signconfs",
        "run_ds_hook",
        "destroy",
    ] {
        assert!(
            effects.contains(&kind),
            "the uninterrupted workload has no {kind}: {effects:?}"
        );
    }
    drop(sb);
    // The runs wait mostly on fsync and SoftHSM's files: a few at once.
    let runs: Vec<(usize, &str)> = (1..=effects.len())
        .flat_map(|n| [(n, "before"), (n, "after")])
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(&(n, cut)) = runs.get(i) else {
                        break;
                    };
                    let run = std::panic::catch_unwind(|| one_crash(n, cut, &effects, &expected));
                    if let Err(payload) = run {
                        let text = payload
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("crash {cut} effect {n}: {text}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} crash points were not completed as the uninterrupted run:\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n")
    );
    eprintln!(
        "effects: {} crash points, each before and after, completed; {:.1} s",
        effects.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// One run crashing `cut` effect `n`, completed and checked against the uninterrupted
/// run's projection `expected`.
fn one_crash(n: usize, cut: &str, effects: &[&str], expected: &[String]) {
    {
        {
            let label = format!("crash {cut} effect {n} ({})", effects[n - 1]);
            let sb = sandbox();
            let stdout = run_child(&sb, &format!("{n}:{cut}"));
            let crashed = line_of(&stdout, "CRASHED");
            assert_eq!(
                crashed,
                Some(format!("{n} {}", effects[n - 1]).as_str()),
                "{label}: the run did not crash where the uninterrupted run had that effect"
            );
            let got = check(&sb, &label);
            if got != expected {
                let diff: Vec<String> = expected
                    .iter()
                    .filter(|l| !got.contains(l))
                    .map(|l| format!("- {l}"))
                    .chain(
                        got.iter()
                            .filter(|l| !expected.contains(l))
                            .map(|l| format!("+ {l}")),
                    )
                    .collect();
                panic!(
                    "{label}: the completed workload differs from the uninterrupted one:\n{}",
                    diff.join("\n")
                );
            }
        }
    }
}
