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

mod check;
mod effects;

use super::support::{Daemon, Rng, fast_sandbox};
use crate::common::Run;
use check::{full_check, token_intact};
use kasp_cli::output::Captured;
use kasp_cli::remote;
use kasp_events::Timestamp;
use std::collections::BTreeMap;
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
        // The kill at a random moment of the workload is what is tested.
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
