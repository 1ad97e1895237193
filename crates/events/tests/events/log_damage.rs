//! `EventLog` on files it did not write the way it expects: newer formats, garbage,
//! flipped bytes, and a writer in another process.

use crate::common::{log_created, new_event};
use kasp_events::{Access, Actor, EventLog, FORMAT, LogError, Seq, Timestamp, VerifyOutcome};
use redb::{Builder, ConcurrencyMode, TableDefinition};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.redb");
    (dir, path)
}

/// A closed log of records 0..=n, record k (k >= 1) with cause `marker-k-of-the-log`.
fn make_log(path: &Path, n: u64) {
    let (mut log, _) =
        EventLog::create(path, log_created(), Timestamp(0), Actor::System, "setup").unwrap();
    for k in 1..=n {
        log.append(log.head(), vec![new_event(k, &cause(k))], |_| None)
            .unwrap();
    }
}

fn cause(k: u64) -> String {
    format!("marker-{k}-of-the-log")
}

fn rewrite_meta(path: &Path, key: &str, value: &[u8]) {
    let mut b = Builder::new();
    b.set_concurrency_mode(ConcurrencyMode::SingleWriter);
    let db = b.open(path).unwrap();
    let tx = db.begin_write().unwrap();
    tx.open_table(META).unwrap().insert(key, value).unwrap();
    tx.commit().unwrap();
}

fn read_meta(path: &Path, key: &str) -> Vec<u8> {
    use redb::ReadableDatabase;
    let mut b = Builder::new();
    b.set_concurrency_mode(ConcurrencyMode::SingleWriter);
    let db = b.open_read_only(path).unwrap();
    let tx = db.begin_read().unwrap();
    let table = tx.open_table(META).unwrap();
    table.get(key).unwrap().unwrap().value().to_vec()
}

#[test]
fn newer_format_is_too_new() {
    let (_dir, path) = tmp();
    make_log(&path, 1);
    rewrite_meta(&path, "format", &(FORMAT + 1).to_le_bytes());
    let head = read_meta(&path, "head");
    let before = std::fs::read(&path).unwrap();
    match EventLog::open(&path, Access::ReadOnly) {
        Err(LogError::TooNew { found, .. }) => assert_eq!(found, FORMAT + 1),
        other => panic!("read-only: expected TooNew, got {other:?}"),
    }
    assert!(
        std::fs::read(&path).unwrap() == before,
        "a refused read-only open wrote"
    );
    match EventLog::open(&path, Access::ReadWrite) {
        Err(LogError::TooNew { found, .. }) => assert_eq!(found, FORMAT + 1),
        other => panic!("read-write: expected TooNew, got {other:?}"),
    }
    // A read-write redb open always writes (a flag byte at open, allocator state at
    // close), so only the content is unchanged.
    assert_eq!(read_meta(&path, "format"), (FORMAT + 1).to_le_bytes());
    assert_eq!(read_meta(&path, "head"), head);
}

#[test]
fn bad_meta_is_corrupt() {
    for (key, value) in [("format", &[1u8, 0][..]), ("head", &[0u8; 39][..])] {
        let (_dir, path) = tmp();
        make_log(&path, 1);
        rewrite_meta(&path, key, value);
        for access in [Access::ReadOnly, Access::ReadWrite] {
            let err = EventLog::open(&path, access).unwrap_err();
            assert!(matches!(err, LogError::Corrupt { .. }), "{key}: {err:?}");
        }
    }
}

/// A small deterministic generator (xorshift), so failures reproduce.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn assert_refused(path: &Path, what: &str) {
    let before = std::fs::read(path).unwrap();
    for access in [Access::ReadOnly, Access::ReadWrite] {
        match EventLog::open(path, access) {
            Err(LogError::Corrupt { .. } | LogError::Io { .. }) => {}
            other => panic!("{what} ({access:?}): expected Corrupt or Io, got {other:?}"),
        }
    }
    assert!(
        std::fs::read(path).unwrap() == before,
        "{what}: a refused open changed it"
    );
}

#[test]
fn garbage_files_are_refused_without_panic() {
    let (dir, _) = tmp();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        (
            "text".into(),
            b"<KASP>\n  <Policy name=\"default\"/>\n</KASP>\n".to_vec(),
        ),
        ("zeros".into(), vec![0; 8192]),
        ("ones".into(), vec![0xff; 8192]),
    ];
    for (i, len) in [1usize, 7, 64, 511, 512, 4096, 4097, 65_536, 300_000]
        .into_iter()
        .enumerate()
    {
        files.push((format!("random {len}"), bytes(i as u64 + 1, len)));
    }
    // A redb file header magic followed by garbage.
    let (_d, real) = tmp();
    make_log(&real, 1);
    let mut magic = std::fs::read(&real).unwrap()[..9].to_vec();
    magic.extend(bytes(99, 8192));
    files.push(("redb magic then garbage".into(), magic));
    for (name, content) in files {
        let path = dir.path().join(name.replace(' ', "-"));
        std::fs::write(&path, &content).unwrap();
        assert_refused(&path, &name);
    }
}

/// A valid log cut short anywhere is refused or opens; nothing panics.
#[test]
fn truncated_logs_never_panic() {
    let (dir, path) = tmp();
    make_log(&path, 3);
    let full = std::fs::read(&path).unwrap();
    let mut cuts: Vec<usize> = (0..full.len()).step_by(997).collect();
    cuts.extend([1, 8, 9, 64, 512, 4096, full.len() - 1]);
    for cut in cuts {
        let p = dir.path().join(format!("cut-{cut}"));
        std::fs::write(&p, &full[..cut]).unwrap();
        for access in [Access::ReadOnly, Access::ReadWrite] {
            if let Ok(log) = EventLog::open(&p, access) {
                let _ = log.verify();
            }
        }
    }
}

/// Single-bit flips anywhere in a real log file: the read paths report Ok, Broken or
/// Corrupt, and never panic out of `EventLog` (redb 4.6 itself panics on some of these
/// files; `EventLog` turns that into `Corrupt`). Appending to such a file is not
/// covered: a panic inside a write transaction is left to redb.
#[test]
fn bit_flips_anywhere_never_panic_the_read_paths() {
    let (dir, path) = tmp();
    let (mut log, _) =
        EventLog::create(&path, log_created(), Timestamp(0), Actor::System, "setup").unwrap();
    for k in 1..=20 {
        log.append(log.head(), vec![new_event(k, &cause(k))], |_| {
            Some((1, vec![k as u8; 100]))
        })
        .unwrap();
    }
    drop(log);
    let full = std::fs::read(&path).unwrap();
    let flips = 600;
    let positions = bytes(7, flips * 8);
    for i in 0..flips {
        let word = u64::from_le_bytes(positions[i * 8..i * 8 + 8].try_into().unwrap());
        let pos = (word % full.len() as u64) as usize;
        let mut damaged = full.clone();
        damaged[pos] ^= 1 << (word >> 61);
        let p = dir.path().join("damaged");
        std::fs::write(&p, &damaged).unwrap();
        for access in [Access::ReadOnly, Access::ReadWrite] {
            let r = std::panic::catch_unwind(|| {
                let Ok(log) = EventLog::open(&p, access) else {
                    return;
                };
                match log.verify() {
                    Ok(_) | Err(VerifyOutcome::Broken(_)) => {}
                    Err(VerifyOutcome::Log(e)) => {
                        assert!(matches!(e, LogError::Corrupt { .. } | LogError::Io { .. }))
                    }
                }
                let _ = log.for_each(Seq(0), |_| Ok::<(), LogError>(()));
                let _ = log.latest_snapshot();
            });
            assert!(
                r.is_ok(),
                "byte {pos} ({access:?}): a panic escaped EventLog"
            );
        }
    }
}

/// Flips a byte of every copy of `needle` in the file (redb pages are copy-on-write,
/// so older copies of a record's page may linger; only the live one matters).
fn flip_in_file(path: &Path, needle: &[u8], offset: usize) -> usize {
    let mut file = std::fs::read(path).unwrap();
    let hits: Vec<usize> = file
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    for &at in &hits {
        // xor 1 keeps an ASCII letter a letter, so the record still decodes.
        file[at + offset] ^= 1;
    }
    std::fs::write(path, file).unwrap();
    hits.len()
}

#[test]
fn flipped_byte_in_the_file_is_reported_at_its_record() {
    let n = 5;
    for k in 1..=n {
        let (_dir, path) = tmp();
        make_log(&path, n);
        EventLog::open(&path, Access::ReadOnly)
            .unwrap()
            .verify()
            .unwrap();
        let hits = flip_in_file(&path, cause(k).as_bytes(), 2);
        assert!(hits > 0, "cause of record {k} not found in the file");
        for access in [Access::ReadOnly, Access::ReadWrite] {
            let log = EventLog::open(&path, access).unwrap();
            match log.verify() {
                Err(VerifyOutcome::Broken(e)) => assert_eq!(e.seq, Seq(k), "{e}"),
                other => panic!("record {k} ({access:?}): expected Broken, got {other:?}"),
            }
        }
    }
}

#[test]
fn flipped_byte_making_a_record_undecodable() {
    let (_dir, path) = tmp();
    make_log(&path, 3);
    // 0xc3 before a letter is the start of a two-byte character that never completes.
    let needle = cause(2);
    let mut file = std::fs::read(&path).unwrap();
    let mut hits = 0;
    for at in 0..file.len() - needle.len() {
        if &file[at..at + needle.len()] == needle.as_bytes() {
            file[at] = 0xc3;
            hits += 1;
        }
    }
    assert!(hits > 0);
    std::fs::write(&path, file).unwrap();
    let log = EventLog::open(&path, Access::ReadOnly).unwrap();
    match log.verify() {
        Err(VerifyOutcome::Broken(e)) => assert_eq!(e.seq, Seq(2), "{e}"),
        other => panic!("expected Broken, got {other:?}"),
    }
    let r = log.for_each(Seq(0), |_| Ok::<(), LogError>(()));
    assert!(matches!(r, Err(LogError::Corrupt { .. })), "{r:?}");
}

#[test]
fn flipped_head_in_meta_is_reported() {
    let (_dir, path) = tmp();
    make_log(&path, 2);
    let head = EventLog::open(&path, Access::ReadOnly).unwrap().head();
    let mut value = head.seq.0.to_le_bytes().to_vec();
    let mut hash = head.hash;
    hash.0[31] ^= 0x10;
    value.extend_from_slice(&hash.0);
    rewrite_meta(&path, "head", &value);
    match EventLog::open(&path, Access::ReadOnly).unwrap().verify() {
        Err(VerifyOutcome::Broken(e)) => assert_eq!(e.seq, Seq(2), "{e}"),
        other => panic!("expected Broken, got {other:?}"),
    }
}

const CHILD_ENV: &str = "KASP_EVENTS_TEST_HOLD_WRITER";

/// Not a test on its own: run by `writer_in_another_process_locks` in a child process,
/// it holds a read-write handle until its stdin closes. Ignored in a plain run, where it
/// would do nothing; [`spawn_writer`] runs it with `--ignored`.
#[test]
#[ignore = "a child process of log_damage::spawn_writer"]
fn child_holds_writer() {
    let path = std::env::var(CHILD_ENV)
        .unwrap_or_else(|_| panic!("{CHILD_ENV} is not set: only spawn_writer runs this child"));
    let mut log = EventLog::open(Path::new(&path), Access::ReadWrite).unwrap();
    log.append(log.head(), vec![new_event(1, "from the child")], |_| None)
        .unwrap();
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

/// Runs `child_holds_writer` in a child process and waits until it holds the log.
fn spawn_writer(path: &Path) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "log_damage::child_holds_writer",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("ready") {
        line.clear();
        assert_ne!(
            out.read_line(&mut line).unwrap(),
            0,
            "the child exited early"
        );
    }
    // Drain the rest, so the child's test harness can write its summary.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    child
}

#[test]
fn writer_in_another_process_locks() {
    let (_dir, path) = tmp();
    make_log(&path, 0);
    let mut child = spawn_writer(&path);
    let err = EventLog::open(&path, Access::ReadWrite).unwrap_err();
    assert!(matches!(err, LogError::Locked { .. }), "{err:?}");
    let reader = EventLog::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(reader.head().seq, Seq(1));
    assert_eq!(reader.verify().unwrap(), reader.head());
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    EventLog::open(&path, Access::ReadWrite).unwrap();
}

/// A writer killed while it holds the log (SIGKILL, no clean close): its commits are
/// durable, and the next read-write open repairs the file and sees them.
#[test]
fn killed_writer_leaves_a_usable_log() {
    let (_dir, path) = tmp();
    make_log(&path, 0);
    let mut child = spawn_writer(&path);
    child.kill().unwrap();
    child.wait().unwrap();
    // redb needs a read-write open to repair the file; until then a read-only open is
    // refused with NeedsRepair (the CLI then repairs it with a read-write open).
    match EventLog::open(&path, Access::ReadOnly) {
        Err(LogError::NeedsRepair { .. }) => {}
        other => panic!("expected NeedsRepair, got {other:?}"),
    }
    let log = EventLog::open(&path, Access::ReadWrite).unwrap();
    assert_eq!(log.head().seq, Seq(1));
    assert_eq!(log.verify().unwrap(), log.head());
    drop(log);
    let ro = EventLog::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(ro.head().seq, Seq(1));
}
