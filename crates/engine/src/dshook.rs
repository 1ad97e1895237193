//! # The delegation-signer hooks
//!
//! Runs conf.xml's `DelegationSignerSubmitCommand` / `DelegationSignerRetractCommand` for
//! one key the way OpenDNSSEC 2.1.12 does (`keystate_ds.c:exec_dnskey_by_id`,
//! docs/state-machine.md, DS at the parent): a ` --cka_id` suffix is cut off and switches
//! on "append CKA_ID" mode; the rest must `stat()` and, if a regular file, carry an execute
//! bit; it runs as `/bin/sh -c <cmd>` with the key's DNSKEY line (ldns text, tabs turned
//! into spaces, the `;{id = …}` comment cut, so with a trailing space) on stdin. Its stdout
//! is discarded (the daemon's is detached in OpenDNSSEC), stderr is inherited, and it runs
//! in a process group of its own so that a timeout can kill all of it.
//!
//! **Deliberate difference:** OpenDNSSEC 2.1 ignores the outcome and moves the key on
//! even when the hook failed. Here the outcome is a typed [`HookOutcome`]: a missing or
//! non-executable file, a spawn or write failure, a non-zero exit status, a signal or a
//! timeout (the child's process group is killed) are [`HookOutcome::Failed`] with a
//! reason, which the caller records as an event and retries; [`HookOutcome::Ok`] lets
//! the key move on, and so does [`HookOutcome::NotConfigured`], as in 2.1.12.

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use kasp_hsm::Algorithm;
use kasp_hsm::Locator;
use kasp_hsm::dnssec::{FLAGS_KSK, dnskey_rdata, dnskey_zonefile};

/// How long a hook may run before it is killed ([`run_ds_hook`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The suffix that switches on "append CKA_ID" mode (not passed to the program).
const CKA_ID_FLAG: &str = " --cka_id";

/// What running a DS hook came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// The program read the key and exited 0.
    Ok,
    /// No command is configured (OpenDNSSEC: `No "DelegationSignersubmitCommand"
    /// configured.`); nothing ran, and the key moves on as in 2.1.12.
    NotConfigured,
    /// The hook did not run or did not succeed; the caller records this and retries.
    Failed {
        /// OpenDNSSEC's text where it has one (`Cannot stat file …`, `File … is not
        /// executable`), otherwise what went wrong.
        reason: String,
    },
}

/// Splits the configured string at the first ` --cka_id` (OpenDNSSEC's `strstr` cut):
/// the string for `/bin/sh -c`, and whether "append CKA_ID" mode is on.
pub fn split_command(command: &str) -> (&str, bool) {
    match command.find(CKA_ID_FLAG) {
        Some(at) => (&command[..at], true),
        None => (command, false),
    }
}

/// The bytes written to the hook's stdin:
/// `example.com. 3600 IN DNSKEY 257 3 8 AwEAA…== ` + `"\n"`, or in `--cka_id` mode
/// `… AwEAA…== ; {cka_id = <32 hex>}` + `"\n"`. Pure.
pub fn hook_input(
    owner: &str,
    ttl: u32,
    algorithm: u8,
    public_key: &[u8],
    locator: &Locator,
    cka_id: bool,
) -> Result<String, String> {
    let alg = Algorithm::from_number(algorithm).map_err(|e| e.to_string())?;
    let rdata = dnskey_rdata(FLAGS_KSK, alg, public_key);
    let text = dnskey_zonefile(owner, ttl, &rdata).map_err(|e| e.to_string())?;
    // ldns prints `<rr> ;{id = …}`; OpenDNSSEC turns tabs into spaces and replaces
    // everything from the first ';' with a newline, leaving the space before it.
    let mut line = text.replace('\t', " ");
    if let Some(at) = line.find(';') {
        line.truncate(at);
    }
    line.push(' ');
    if cka_id {
        line.push_str(&format!("; {{cka_id = {locator}}}"));
    }
    line.push('\n');
    Ok(line)
}

/// Runs the hook for one key with [`DEFAULT_TIMEOUT`].
pub fn run_ds_hook(
    command: Option<&str>,
    owner: &str,
    ttl: u32,
    algorithm: u8,
    public_key: &[u8],
    locator: &Locator,
) -> HookOutcome {
    let key = (owner, ttl, algorithm, public_key, locator);
    run_ds_hook_with_timeout(command, key, DEFAULT_TIMEOUT)
}

/// Runs the hook for one key `(owner, ttl, algorithm, public key, locator)`, killing it
/// (its whole process group) after `timeout`.
pub fn run_ds_hook_with_timeout(
    command: Option<&str>,
    (owner, ttl, algorithm, public_key, locator): (&str, u32, u8, &[u8], &Locator),
    timeout: Duration,
) -> HookOutcome {
    let Some(command) = command else {
        return HookOutcome::NotConfigured;
    };
    let (program, cka_id) = split_command(command);
    let failed = |reason: String| HookOutcome::Failed { reason };
    match std::fs::metadata(program) {
        Err(e) => return failed(format!("Cannot stat file {program}: {}", strerror(&e))),
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 == 0 => {
            return failed(format!("File {program} is not executable"));
        }
        Ok(_) => {}
    }
    let input = match hook_input(owner, ttl, algorithm, public_key, locator, cka_id) {
        Ok(input) => input,
        Err(why) => return failed(format!("cannot build the DNSKEY for {program}: {why}")),
    };
    let mut child = match Command::new("/bin/sh")
        .arg("-c")
        .arg(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .process_group(0)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            return failed(format!(
                "failed to run command: {program}: {}",
                strerror(&e)
            ));
        }
    };
    // The line is far below a pipe buffer, so this cannot block; dropping closes stdin.
    let written = child
        .stdin
        .take()
        .map_or(Ok(()), |stdin| feed(stdin, &input));
    if let Err(e) = written {
        kill_group(&mut child);
        return failed(format!("Failed to write to {program}: {}", strerror(&e)));
    }
    match wait_until(&mut child, Instant::now() + timeout) {
        Ok(Some(status)) if status.success() => HookOutcome::Ok,
        Ok(Some(status)) => failed(describe(program, status)),
        Ok(None) => {
            kill_group(&mut child);
            failed(format!(
                "{program} did not finish within {} s and was killed",
                timeout.as_secs_f64()
            ))
        }
        Err(e) => {
            kill_group(&mut child);
            failed(format!("failed to wait for {program}: {}", strerror(&e)))
        }
    }
}

/// Writes the hook's input. A hook that exits without reading it (a notifier that
/// needs no input, say) closes the pipe first: that is no failure of its own — its exit
/// status decides.
fn feed(mut stdin: impl Write, input: &str) -> io::Result<()> {
    match stdin.write_all(input.as_bytes()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Polls the child until it exits (`Some(status)`) or the deadline passes (`None`).
pub(crate) fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
    }
}

/// SIGKILLs the child's process group (the shell and whatever it started) and reaps it.
pub(crate) fn kill_group(child: &mut Child) {
    if let Ok(pgid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) has no memory effects; the group is ours (process_group(0))
        // and its leader is not yet reaped, so the id cannot have been reused.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Why a finished hook counts as failed.
fn describe(program: &str, status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("{program} exited with status {code}"),
        (None, Some(signal)) => format!("{program} was killed by signal {signal}"),
        (None, None) => format!("{program} ended abnormally ({status})"),
    }
}

/// The C library's `strerror` text, without std's ` (os error N)` suffix.
fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if e.raw_os_error().is_some() => text[..at].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Mutex;

    // Serialises the tests that write and run scripts (no ETXTBSY from a parallel fork).
    static SPAWN: Mutex<()> = Mutex::new(());
    const RSA: &str = "AwEAAcDBwsPExcbHyMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5ufo6err7O3u7/Dx8vP09fb3+Pn6+/z9/v/AwcLDxMXGx8jJysvMzc7P0NHS09TV1tfY2drb3N3e3+Dh4uPk5ebn6Onq6+zt7u/w8fLz9PX29/j5+vv8/f7/";
    const EC: &str =
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QA==";
    const LOC: Locator = Locator([0xab; 16]);

    fn script(dir: &Path, name: &str, body: &str, mode: u32) -> String {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn run(command: Option<&str>, timeout: Duration) -> HookOutcome {
        let key: Vec<u8> = (1..=64).collect();
        run_ds_hook_with_timeout(command, ("example.com", 3600, 13, &key, &LOC), timeout)
    }

    fn reason(outcome: HookOutcome) -> String {
        match outcome {
            HookOutcome::Failed { reason } => reason,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn input_bytes_match_opendnssec() {
        let modulus: Vec<u8> = (0..128).map(|i| 0xc0 + (i % 64) as u8).collect();
        let rsa = kasp_hsm::dnssec::rsa_public_key(&[1, 0, 1], &modulus).unwrap();
        let ec: Vec<u8> = (1..=64).collect();
        let tail = " ; {cka_id = abababababababababababababababab}\n";
        let cases = [
            ("example.com", "example.com.", 8, &rsa, RSA),
            ("a.org.", "a.org.", 13, &ec, EC),
        ];
        for (owner, shown, alg, key, b64) in cases {
            let line = format!("{shown} 3600 IN DNSKEY 257 3 {alg} {b64}");
            let plain = hook_input(owner, 3600, alg, key, &LOC, false).unwrap();
            assert_eq!(plain, format!("{line} \n"));
            let cka = hook_input(owner, 3600, alg, key, &LOC, true).unwrap();
            assert_eq!(cka, format!("{line}{tail}"));
        }
        assert!(hook_input("example.org", 60, 3, &ec, &LOC, false).is_err());
    }

    #[test]
    fn hook_receives_the_exact_bytes_and_cka_id_is_not_passed() {
        let _serial = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let body = format!("[ $# -eq 0 ] || exit 9\ncat > '{}'", out.display());
        let hook = script(dir.path(), "copy", &body, 0o755);
        for (command, cka_id) in [(hook.clone(), false), (format!("{hook} --cka_id"), true)] {
            assert_eq!(run(Some(&command), DEFAULT_TIMEOUT), HookOutcome::Ok);
            let key: Vec<u8> = (1..=64).collect();
            let want = hook_input("example.com", 3600, 13, &key, &LOC, cka_id).unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), want.as_bytes());
        }
        assert_eq!(run(None, DEFAULT_TIMEOUT), HookOutcome::NotConfigured);
    }

    #[test]
    fn failures_carry_their_reason() {
        let _serial = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let hook = script(dir.path(), "fail", "cat >/dev/null; exit 1", 0o755);
        let why = reason(run(Some(&hook), DEFAULT_TIMEOUT));
        assert_eq!(why, format!("{hook} exited with status 1"));
        let missing = format!("{}/missing", dir.path().display());
        let why = reason(run(Some(&format!("{missing} --cka_id")), DEFAULT_TIMEOUT));
        assert_eq!(
            why,
            format!("Cannot stat file {missing}: No such file or directory")
        );
        let plain = script(dir.path(), "plain", "exit 0", 0o644);
        let why = reason(run(Some(&plain), DEFAULT_TIMEOUT));
        assert_eq!(why, format!("File {plain} is not executable"));
    }

    #[test]
    fn a_hook_that_reads_no_input_is_judged_by_its_exit_status() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::StorageFull.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        assert!(feed(Closed, "example.com. 3600 IN DNSKEY 257 3 8 AwEAAQ== \n").is_ok());
        assert!(feed(Full, "x\n").is_err(), "other write errors still count");
        // And for real: a hook that exits at once without reading, many times over.
        let _serial = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..20 {
            let key = ("example.com.", 3600, 13, &[7u8; 64][..], &Locator([1; 16]));
            let outcome = run_ds_hook_with_timeout(Some("/bin/true"), key, Duration::from_secs(10));
            assert!(matches!(outcome, HookOutcome::Ok), "{outcome:?}");
        }
    }

    #[test]
    fn slow_hook_is_killed() {
        let _serial = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let body = format!("echo $$ > '{}'\nexec sleep 30", pid_file.display());
        let hook = script(dir.path(), "slow", &body, 0o755);
        let started = Instant::now();
        let why = reason(run(Some(&hook), Duration::from_millis(500)));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            why,
            format!("{hook} did not finish within 0.5 s and was killed")
        );
        let stat = format!(
            "/proc/{}/stat",
            std::fs::read_to_string(&pid_file).unwrap().trim()
        );
        // Gone, or at most a zombie left for a reaper that is not us.
        let deadline = Instant::now() + Duration::from_secs(2);
        while let Ok(s) = std::fs::read_to_string(&stat) {
            if s.rsplit(')').next().unwrap().trim_start().starts_with('Z') {
                break;
            }
            assert!(Instant::now() < deadline, "the hook still runs: {s}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
