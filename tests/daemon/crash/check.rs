//! The crash test's checks after a restart: the token intact, the HSM against the log,
//! replay against the daemon's answers, the fold from the snapshot against a fold from
//! scratch, every signconf on disk against the log.

use super::{READS, via_daemon};
use crate::common::Sandbox;
use crate::daemon::support::Daemon;
use kasp_events::{Access, Event, EventLog, Locator, Seq};
use kasp_projector::State;
use kasp_projector::state::pool::HsmKeyUse;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// SoftHSM rewrites the token's own file (`token.object`: label, PIN blobs, flags) in
/// place on every successful C_Login; a kill during that write leaves it empty and the
/// token uninitialised, every key in it unreachable. Checked after each restart so such
/// a loss is named for what it is.
pub(super) fn token_intact(sb: &Sandbox, label: &str) {
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
    let mut keys = BTreeMap::new();
    for locator in crate::common::token_keys(sb) {
        *keys.entry(locator).or_insert(0) += 1;
    }
    keys
}

/// The log folded as the enforcer folds it (newest snapshot, then the tail), and
/// folded record by record from the first; with every record, for the signconf check.
fn fold_twice(sb: &Sandbox) -> (State, State, Vec<kasp_events::Record>, bool) {
    let log = EventLog::open(&sb.log_path(), Access::ReadOnly).expect("open the log");
    let (folded, snapshot) = kasp_engine::replay::fold(&log).expect("fold");
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
pub(super) fn full_check(sb: &Sandbox, d: &mut Daemon, label: &str, last_check: bool) -> String {
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

    log_against_world(sb, label, last_check).0
}

/// The checks of the log against the world, with no process writing to either: the
/// fold from the snapshot against a fold from scratch, no generation unresolved, no key
/// generated twice, the HSM against the log (with `last_check`, no key deleted from the
/// HSM whose deletion is not yet recorded), every zone's signconf on disk against the
/// log. Returns a summary line and the state folded from the log.
pub(super) fn log_against_world(sb: &Sandbox, label: &str, last_check: bool) -> (String, State) {
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
    (summary, state)
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
    let now = kasp_engine::signconf::signconf_text(state, zone).unwrap_or_default();
    let mut before = State::default();
    for r in records.iter().take_while(|r| r.seq.0 < seq) {
        before.apply(r);
    }
    let then = before
        .zones
        .get(key)
        .and_then(|z| kasp_engine::signconf::signconf_text(&before, z))
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
