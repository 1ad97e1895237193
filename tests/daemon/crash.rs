//! Crash safety: `ods-enforcerd` is killed with SIGKILL at 50 random moments while a
//! client drives a workload that generates keys in SoftHSM, rolls them, destroys key
//! material and writes signconfs, and is restarted after each kill. After every restart
//! the log verifies; every few rounds and at the end, with the daemon stopped cleanly:
//! the reads the daemon served equal the same reads folded daemonless, the fold from
//! the snapshot equals a fold of every record from scratch, no generation is left
//! unresolved, the HSM holds exactly the keys the log knows (none duplicated, none
//! lost, no orphan), and every zone's signconf on disk is the one the log last recorded.
//!
//! The kill moments come from a seeded PRNG (`KASP_CRASH_SEED` picks the seed; the
//! seed is printed), spread over the first second of each round's workload, so they land
//! in key generation, HSM destruction, appends and signconf writes. Each round starts
//! once the restarted daemon has answered (its start-up run resolved what the last kill
//! interrupted): SoftHSM's file store rewrites `token.object` in place on every
//! C_Login, so a kill inside the daemon's one start-up login empties the token — a
//! SoftHSM hazard no enforcer can prevent, checked for by name after each restart
//! (`token_intact`). For debugging,
//! `KASP_CRASH_KEEP=1` keeps the sandbox (its path is printed) and
//! `KASP_CRASH_FULL_EVERY=n` runs the full check every n rounds (default 5).

use super::support::{Daemon, Rng, fast_sandbox};
use crate::common::{Run, Sandbox};
use kasp_cli::output::Captured;
use kasp_cli::remote;
use kasp_events::{Access, Event, EventLog, Locator, Seq, Timestamp};
use kasp_projector::State;
use kasp_projector::pool::HsmKeyUse;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Kills (and restarts) of the daemon.
const ROUNDS: usize = 50;
/// A full check every this many rounds (and after the last).
const FULL_EVERY: usize = 5;
/// Kill moments are drawn from 0..KILL_WINDOW_MS after the workload starts.
const KILL_WINDOW_MS: u64 = 1000;
/// The zones the workload adds, deletes and rolls (re-added after deletes).
const ZONES: usize = 5;

/// The reads compared between the daemon and a daemonless fold of the same log.
const READS: [&str; 8] = [
    "zone list",
    "key list --debug",
    "key list --verbose",
    "key list --all --debug",
    "queue",
    "rollover list",
    "policy list",
    "backup list",
];

/// Exit codes a workload command may end with: done, refused (a zone that exists or
/// does not), or the connection broke because the daemon was killed mid-command.
const ACCEPTED: [i32; 4] = [0, 1, 206, 207];

/// Sends one command line to the daemon on a fresh connection; `None` when the daemon
/// does not answer the connection (it was killed).
fn send(socket: &Path, line: &str) -> Option<(i32, Captured)> {
    let mut stream = UnixStream::connect(socket).ok()?;
    let mut sink = Captured::default();
    let code = remote::command(&mut stream, line, &mut sink);
    Some((code, sink))
}

/// Runs `line` through the daemon's socket (never daemonless, as the client would when
/// the daemon is gone); panics when the daemon does not answer.
fn via_daemon(d: &mut Daemon, line: &str) -> Run {
    match send(&d.socket, line) {
        Some((code, got)) if code != 206 && code != 207 => Run {
            out: got.out,
            err: got.err,
            code,
        },
        other => {
            let exit = d.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            let log = d.log();
            let tail: Vec<&str> = log.lines().rev().take(6).collect();
            panic!(
                "the daemon did not answer '{line}' ({other:?}; exit status {exit:?}); \
                 its log ends:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        }
    }
}

/// What one workload run sent and got.
#[derive(Debug, Default)]
struct Sent {
    /// (command line, exit code, stdout + stderr) of every answered command.
    answers: Vec<(String, i32, String)>,
}

/// The simulated time `queue` reports (`It is now … (N seconds since epoch)`).
fn now_of(queue: &str) -> Option<i64> {
    let line = queue.lines().find(|l| l.starts_with("It is now"))?;
    let inner = line.rsplit_once('(')?.1;
    inner.split_whitespace().next()?.parse().ok()
}

/// The workload: random commands until the daemon stops answering.
fn workload(socket: PathBuf, seed: u64) -> Sent {
    let mut rng = Rng(seed);
    let mut sent = Sent::default();
    loop {
        let zone = format!("z{}.test", rng.below(ZONES as u64));
        let line = match rng.below(20) {
            0..=4 => format!("zone add --zone {zone} --policy fast"),
            5..=6 => format!("zone delete --zone {zone}"),
            7..=9 => "time leap".to_string(),
            10..=11 => {
                // Jump hours to weeks ahead, so ZSKs (30 days) roll by themselves and
                // retired keys pass the purge delay (14 days).
                let Some((_, q)) = send(&socket, "queue") else {
                    return sent;
                };
                let Some(now) = now_of(&q.out) else {
                    return sent;
                };
                let ahead = 3600 + rng.below(10 * 86_400) as i64;
                let to = Timestamp(now + ahead).to_string();
                let to = to.trim_end_matches('Z').replacen('T', "-", 1);
                format!("time leap --time {to}")
            }
            12..=13 => format!("key rollover --zone {zone} --keytype ZSK"),
            14 => "enforce".to_string(),
            15 => "signconf".to_string(),
            16 => "flush".to_string(),
            17 => "key generate --policy fast --duration P2Y".to_string(),
            18 => format!("key purge --zone {zone} --delete"),
            _ => "key list --all --debug".to_string(),
        };
        let Some((code, got)) = send(&socket, &line) else {
            return sent;
        };
        let text = format!("{}{}", got.out, got.err);
        let broken = code == 206 || code == 207;
        sent.answers.push((line, code, text));
        if broken {
            return sent;
        }
    }
}

/// Problems a command's answer shows that crash recovery must not cause.
fn suspicious(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            l.contains("warning: ")
                || l.contains("internal error")
                || l.contains("key generation did not complete")
        })
        .collect()
}

/// Not a test of its own: when [`hsm_keys`] runs this binary again with
/// `KASP_TEST_LIST_HSM_KEYS=1` (and SOFTHSM2_CONF), it prints the CKA_ID of every
/// private key in the sandbox token, one `HSMKEY <locator>` line each. A child process
/// because a PKCS#11 module reads SOFTHSM2_CONF once per process.
#[test]
fn child_lists_hsm_keys() {
    if std::env::var_os("KASP_TEST_LIST_HSM_KEYS").is_none() {
        return;
    }
    use kasp_hsm::KeyStore;
    let mut store = crate::common::open_token();
    for locator in store.list().unwrap() {
        println!("HSMKEY {locator}");
    }
}

/// SoftHSM rewrites the token's own file (`token.object`: label, PIN blobs, flags) in
/// place on every successful C_Login; a kill during that write leaves it empty and the
/// token uninitialised, every key in it unreachable. Checked after each restart so such
/// a loss is named for what it is.
fn token_intact(sb: &Sandbox, label: &str) {
    let tokens = std::fs::read_dir(sb.path("tokens")).unwrap();
    for dir in tokens.filter_map(|e| e.ok()) {
        let file = dir.path().join("token.object");
        let len = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 0,
            "{label}: the SoftHSM token was wiped by the last kill: {} is empty (SoftHSM \
             rewrites it in place on every C_Login; the daemon logs in at start-up and \
             reload only, so a kill landed in a login)",
            file.display()
        );
    }
}

/// The locators of the private keys in the sandbox token, with their multiplicity.
fn hsm_keys(sb: &Sandbox) -> BTreeMap<Locator, usize> {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "daemon::crash::child_lists_hsm_keys",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KASP_TEST_LIST_HSM_KEYS", "1")
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "listing the token failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut keys = BTreeMap::new();
    // libtest prints `test … ... ` before the first line of output, on the same line.
    for l in stdout
        .lines()
        .filter_map(|l| l.split_once("HSMKEY ").map(|(_, l)| l))
    {
        *keys.entry(Locator::parse(l.trim()).unwrap()).or_insert(0) += 1;
    }
    keys
}

/// The log folded as the enforcer folds it (newest snapshot, then the tail), and
/// folded record by record from the first; with every record, for the signconf check.
fn fold_twice(sb: &Sandbox) -> (State, State, Vec<kasp_events::Record>, bool) {
    let log = EventLog::open(&sb.log_path(), Access::ReadOnly).expect("open the log");
    let (folded, snapshot) = kasp_cli::engine::fold(&log).expect("fold");
    let mut scratch = State::default();
    let mut records = Vec::new();
    log.for_each(Seq(0), |sealed| -> Result<(), kasp_events::LogError> {
        scratch.apply(&sealed.record);
        records.push(sealed.record);
        Ok(())
    })
    .expect("read every record");
    (folded, scratch, records, snapshot.is_some())
}

/// The full check, with the daemon `d` running and its start-up run done: reads
/// through it, then stopped cleanly, the same reads daemonless, the two folds, the
/// HSM and the signconfs. Returns a summary line.
fn full_check(sb: &Sandbox, d: &mut Daemon, label: &str, last_check: bool) -> String {
    let verify = via_daemon(d, "log verify");
    assert_eq!(
        verify.code, 0,
        "{label}: log verify via the daemon: {verify:?}"
    );
    let through_daemon: Vec<_> = READS.iter().map(|r| via_daemon(d, r)).collect();
    let stop = via_daemon(d, "stop");
    assert_eq!(stop.code, 0, "{label}: stop: {stop:?}");
    assert_eq!(d.wait(), Some(0), "{label}: daemon exit\n{}", d.log());
    let verify = sb.sh("log verify");
    assert_eq!(verify.code, 0, "{label}: log verify daemonless: {verify:?}");
    for (line, daemon) in READS.iter().zip(&through_daemon) {
        assert_eq!(daemon.code, 0, "{label}: {line} via the daemon: {daemon:?}");
        assert_eq!(
            &sb.sh(line),
            daemon,
            "{label}: daemonless '{line}' differs from the daemon's answer"
        );
    }

    let (folded, scratch, records, from_snapshot) = fold_twice(sb);
    assert!(
        folded == scratch,
        "{label}: the fold from the snapshot differs from a fold of every record"
    );
    let state = folded;

    // Key generation: nothing left unresolved after the start-up run.
    assert!(
        state.pool.pending.is_empty(),
        "{label}: generations left unresolved after a restart: {:?}",
        state.pool.pending.keys().collect::<Vec<_>>()
    );
    // Every key the log ever introduced, once: a locator generated twice would be a
    // duplicate the pool folds away silently.
    let mut generated: BTreeMap<Locator, usize> = BTreeMap::new();
    for r in &records {
        if let Event::KeyGenerated(e) = &r.event {
            *generated.entry(e.locator).or_insert(0) += 1;
        }
    }
    let twice: Vec<_> = generated.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{label}: keys generated twice: {twice:?}");
    // Material a run decided to destroy is destroyed by the start-up run's retry.
    let destroying = state.pool.destroying();
    // The HSM against the log.
    token_intact(sb, label);
    let hsm = hsm_keys(sb);
    let duplicated: Vec<_> = hsm.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "{label}: locators held twice by the HSM: {duplicated:?}"
    );
    let in_hsm: BTreeSet<Locator> = hsm.keys().copied().collect();
    let in_log: BTreeSet<Locator> = state.pool.keys.keys().copied().collect();
    // Material released for deletion (usage DELETE) that `key purge --delete` destroyed
    // in the HSM before a kill kept it from recording that: the next enforcer run of any
    // zone decides to destroy it again and records the deletion (an absent key counts as
    // destroyed). Between the restart and that run the log still lists it; the last
    // check, after a flush, allows none.
    let (pending_delete, lost): (Vec<&Locator>, Vec<&Locator>) = in_log
        .difference(&in_hsm)
        .partition(|l| !last_check && state.pool.keys[*l].usage == HsmKeyUse::Delete);
    let orphans: Vec<_> = in_hsm.difference(&in_log).collect();
    assert!(
        lost.is_empty() && orphans.is_empty() && destroying.is_empty(),
        "{label}: HSM and log disagree after a restart\n  lost (in the log, not in the \
         HSM): {lost:?}\n  orphans (in the HSM, not in the log): {orphans:?}\n  \
         destroying (destruction decided, not confirmed): {destroying:?}\n{}",
        pool_history(&records, lost.iter().copied().chain(destroying.iter()))
    );

    // Signconfs: for every zone, the file at the path of its last SignconfWritten has
    // the digest recorded there, and nothing is left to write.
    let mut last: BTreeMap<String, (String, String, u64)> = BTreeMap::new();
    for r in &records {
        match &r.event {
            Event::SignconfWritten(e) => {
                last.insert(e.zone.key(), (e.path.clone(), e.digest.clone(), r.seq.0));
            }
            Event::ZoneDeleted(e) => {
                last.remove(&e.zone.key());
            }
            _ => {}
        }
    }
    let (mut checked, mut unrecorded) = (0, 0);
    for (key, zone) in &state.zones {
        assert!(
            !zone.signconf_needed,
            "{label}: zone {key}: signconf still to be written after a restart"
        );
        let Some((path, digest, seq)) = last.get(key) else {
            // No signconf recorded since the zone was added (its first runs have not
            // asked for one yet): then none may be on disk either.
            let path = &zone.config.signconf_path;
            assert!(
                !Path::new(path).exists(),
                "{label}: zone {key}: {path} is on disk but the log recorded no signconf \
                 since the zone was added"
            );
            unrecorded += 1;
            continue;
        };
        assert_eq!(
            path, &zone.config.signconf_path,
            "{label}: zone {key}: recorded signconf path"
        );
        let bytes = std::fs::read(path)
            .unwrap_or_else(|e| panic!("{label}: zone {key}: signconf {path}: {e}"));
        let on_disk = blake3::hash(&bytes).to_hex().to_string();
        if &on_disk != digest {
            panic!(
                "{label}: zone {key}: {path} (blake3 {on_disk}) is not the signconf recorded \
                 at #{seq} ({digest}); signconf_needed is {}\n{}",
                zone.signconf_needed,
                explain_signconf(&records, *seq, key, &state, zone, &bytes)
            );
        }
        checked += 1;
    }
    let summary = format!(
        "{label}: {} records (snapshot used: {from_snapshot}), {} zones, {} signconfs \
         checked ({unrecorded} zones without one yet), {} HSM keys, {} log keys ({} deleted \
         from the HSM, deletion not yet recorded), {} generated in all",
        records.len(),
        state.zones.len(),
        checked,
        in_hsm.len(),
        in_log.len(),
        pending_delete.len(),
        generated.len()
    );
    eprintln!("crash: {summary}");
    summary
}

/// Why a signconf on disk is not the one recorded: the file against the text the state
/// renders now and the text the state rendered before the recorded write, and what the
/// log says about the zone since.
fn explain_signconf(
    records: &[kasp_events::Record],
    seq: u64,
    key: &str,
    state: &State,
    zone: &kasp_projector::state::ZoneView,
    file: &[u8],
) -> String {
    let file = String::from_utf8_lossy(file);
    let now = kasp_cli::effects::signconf_text(state, zone).unwrap_or_default();
    let mut before = State::default();
    for r in records.iter().take_while(|r| r.seq.0 < seq) {
        before.apply(r);
    }
    let then = before
        .zones
        .get(key)
        .and_then(|z| kasp_cli::effects::signconf_text(&before, z))
        .unwrap_or_default();
    let digest = |t: &str| blake3::hash(t.as_bytes()).to_hex().to_string();
    let mut out = format!(
        "  the file is the text the state renders now: {}; the text rendered from the state \
         before #{seq}: {} ({})\n",
        *file == now,
        *file == then,
        digest(&then)
    );
    // A line diff that ignores moves: what the recorded text has that the file lacks,
    // and the other way round.
    let (file_lines, then_lines): (BTreeSet<&str>, BTreeSet<&str>) =
        (file.lines().collect(), then.lines().collect());
    for l in then_lines.difference(&file_lines) {
        out.push_str(&format!("    recorded only: {}\n", l.trim()));
    }
    for l in file_lines.difference(&then_lines) {
        out.push_str(&format!("    file only:     {}\n", l.trim()));
    }
    out.push_str("  records since, about the zone or key material:\n");
    for r in records.iter().filter(|r| r.seq.0 >= seq) {
        let text = format!("{:?}", r.event);
        let about_zone = text.contains(&format!("\"{key}\""));
        let material = matches!(
            r.event,
            Event::KeyMaterialDeleted(_) | Event::KeysPurged(_) | Event::ZoneDeleted(_)
        );
        if about_zone || material {
            out.push_str(&format!(
                "    #{} {:?}: {}\n",
                r.seq.0,
                r.cause,
                text.chars().take(240).collect::<String>()
            ));
        }
    }
    out
}

/// The records about some locators, to explain a mismatch.
fn pool_history<'a>(
    records: &[kasp_events::Record],
    locators: impl Iterator<Item = &'a Locator>,
) -> String {
    let wanted: BTreeSet<String> = locators.map(|l| l.to_string()).collect();
    if wanted.is_empty() {
        return String::new();
    }
    let mut out = String::from("  records naming them:\n");
    for r in records {
        let text = format!("{:?}", r.event);
        let debug_hex: Vec<&String> = wanted
            .iter()
            .filter(|w| text.contains(w.as_str()) || mentions(&r.event, w))
            .collect();
        if !debug_hex.is_empty() {
            out.push_str(&format!(
                "    #{} {} {:?}: {}\n",
                r.seq.0,
                r.at,
                r.cause,
                text.chars().take(300).collect::<String>()
            ));
        }
    }
    out
}

/// Whether an event names a locator (events print locators as byte arrays in Debug).
fn mentions(event: &Event, locator: &str) -> bool {
    let l = |x: &Locator| x.to_string() == locator;
    match event {
        Event::KeyGenerationStarted(e) => l(&e.locator),
        Event::KeyGenerated(e) => l(&e.locator),
        Event::KeyGenerationAbandoned(e) => l(&e.locator),
        Event::KeyMaterialDeleted(e) => e.locators.iter().any(l),
        Event::ZoneEnforced(e) => e.destroyed.iter().any(l),
        Event::KeysPurged(e) => e.released.iter().any(l),
        _ => false,
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing() {
    let t0 = Instant::now();
    let seed = std::env::var("KASP_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash: seed {seed} (rerun with KASP_CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let mut sb = fast_sandbox(false);
    // A signer notify that always succeeds, whether or not OpenDNSSEC is installed.
    sb.env
        .push(("KASP_SIGNER_COMMAND".to_string(), "/bin/true".to_string()));
    if std::env::var_os("KASP_CRASH_KEEP").is_some() {
        sb.dir.disable_cleanup(true);
        eprintln!("crash: sandbox kept at {}", sb.root().display());
    }
    let socket = sb.path("enforcer/enforcer.sock");
    let full_every = std::env::var("KASP_CRASH_FULL_EVERY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(FULL_EVERY);
    let mut codes: BTreeMap<i32, usize> = BTreeMap::new();
    let mut commands = 0;
    let mut oddities: Vec<String> = Vec::new();
    let mut in_flight: BTreeMap<String, usize> = BTreeMap::new();
    let (mut checking, mut running) = (Duration::ZERO, Duration::ZERO);
    for round in 0..ROUNDS {
        let mut d = Daemon::start(&sb, &[]);
        // The log survived the last kill (checked through the restarted daemon).
        let verify = via_daemon(&mut d, "log verify");
        assert_eq!(verify.code, 0, "round {round}: log verify: {verify:?}");
        token_intact(&sb, &format!("round {round}"));
        if round > 0 && round % full_every == 0 {
            let t = Instant::now();
            full_check(&sb, &mut d, &format!("round {round}"), false);
            d = Daemon::start(&sb, &[]);
            // Its start-up (and its one HSM login) done before the workload starts, as
            // in every round: a kill inside SoftHSM's C_Login empties the token file
            // whoever logs in (see token_intact), which no enforcer can prevent.
            let verify = via_daemon(&mut d, "log verify");
            assert_eq!(verify.code, 0, "round {round}: log verify: {verify:?}");
            checking += t.elapsed();
        }
        let t = Instant::now();
        let kill_after = Duration::from_millis(rng.below(KILL_WINDOW_MS + 1));
        let work_seed = rng.next();
        let worker = {
            let socket = socket.clone();
            std::thread::spawn(move || workload(socket, work_seed))
        };
        std::thread::sleep(kill_after);
        assert_eq!(d.signal(libc::SIGKILL), None, "round {round}: killed");
        let sent = worker.join().expect("workload thread");
        running += t.elapsed();
        for (i, (line, code, text)) in sent.answers.iter().enumerate() {
            commands += 1;
            *codes.entry(*code).or_insert(0) += 1;
            let last = i + 1 == sent.answers.len();
            if last && (*code == 206 || *code == 207) {
                let verb: String = line.split(' ').take(2).collect::<Vec<_>>().join(" ");
                *in_flight.entry(verb).or_insert(0) += 1;
            }
            // `key purge` of a zone that does not exist is OpenDNSSEC's syntax error.
            let unknown_zone = *code == 255 && text.contains("unknown zone");
            let bad = if last { Vec::new() } else { suspicious(text) };
            if !(ACCEPTED.contains(code) || unknown_zone) || !bad.is_empty() {
                let shown = if bad.is_empty() {
                    text.clone()
                } else {
                    bad.join("\n")
                };
                let odd = format!("round {round}: {line} → {code}: {shown}");
                eprintln!("crash: unexpected: {odd}");
                oddities.push(odd);
            }
        }
        eprintln!(
            "crash: round {round}: killed after {} ms, {} commands, last: {:?}",
            kill_after.as_millis(),
            sent.answers.len(),
            sent.answers.last().map(|(l, c, _)| (l.as_str(), *c))
        );
    }
    // The last restart: its start-up run resolves what the last kill interrupted; then
    // a zone of its own (so that some zone runs, whatever the workload left) and a flush
    // run every zone once more.
    let t = Instant::now();
    let mut d = Daemon::start(&sb, &[]);
    for line in ["zone add --zone last.test --policy fast", "flush"] {
        let r = via_daemon(&mut d, line);
        assert_eq!(r.code, 0, "final {line}: {r:?}");
        for l in suspicious(&format!("{}{}", r.out, r.err)) {
            oddities.push(format!("final {line}: {l}"));
        }
    }
    let summary = full_check(&sb, &mut d, "final", true);
    checking += t.elapsed();
    let daemon_log = d.log();
    let daemon_trouble: Vec<&str> = daemon_log
        .lines()
        .filter(|l| {
            // What the scheduler's runs (the start-up run after each kill) reported.
            l.contains("panicked")
                || l.contains("internal error")
                || l.contains("[scheduler] warning:")
                || l.contains("[scheduler] error:")
                || l.contains("key generation did not complete")
        })
        .collect();
    let strays: Vec<_> = std::fs::read_dir(sb.path("signconf"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    eprintln!(
        "crash: {ROUNDS} kills, {commands} commands answered {codes:?}; killed in flight: \
         {in_flight:?}; stray signconf temp files: {}; running {:.1} s, checking {:.1} s, \
         total {:.1} s",
        strays.len(),
        running.as_secs_f64(),
        checking.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    eprintln!("crash: {summary}");
    // The last start-up swept what the kills left half-written.
    assert!(
        strays.is_empty(),
        "seed {seed}: temporary files left in the signconf directory: {strays:?}"
    );
    assert!(
        oddities.is_empty(),
        "seed {seed}: unexpected answers:\n{}",
        oddities.join("\n")
    );
    assert!(
        daemon_trouble.is_empty(),
        "seed {seed}: the daemon logged trouble:\n{}",
        daemon_trouble.join("\n")
    );
}
