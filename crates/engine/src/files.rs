//! File effects: reading input files with clear errors, and atomic writes (temporary
//! file in the same directory, fsync, rename, fsync of the directory), so a reader
//! never sees half a signconf or zone list.

use std::io::Write;
use std::path::Path;

/// Reads a text file, with a message naming the file on failure.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read {}: {}", path.display(), io_text(&e)))?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// Writes `content` to `path` atomically.
pub fn write_atomic(path: &Path, content: &str) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot write {}: {}", path.display(), io_text(&e));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

/// An I/O error as text without Rust's "(os error N)" suffix.
pub fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Removes the temporary files [`write_atomic`] left in `dir` when its process was
/// killed mid-write (`.NAME.PID.tmp` of a PID that no longer runs). Returns their
/// names; a directory that cannot be read has none.
pub fn sweep_stale_temps(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = stale_temp_pid(&name) else {
            continue;
        };
        if pid as u32 == std::process::id() || crate::files::process_alive(pid) {
            continue;
        }
        if std::fs::remove_file(entry.path()).is_ok() {
            removed.push(name);
        }
    }
    removed.sort();
    removed
}

/// The PID in a `write_atomic` temporary file name `.NAME.PID.tmp`.
fn stale_temp_pid(name: &str) -> Option<libc::pid_t> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, pid) = rest.rsplit_once('.')?;
    if target.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().filter(|p| *p > 0)
}

/// Whether a process with this pid exists (ours to signal or not).
pub fn process_alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temp_files_of_dead_processes_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        write_atomic(&p("a.com.xml"), "kept").unwrap();
        // pid_max is at most 2^22 on Linux: this pid cannot run.
        let dead = ".a.com.xml.99999999.tmp";
        let mine = format!(".a.com.xml.{}.tmp", std::process::id());
        for n in [
            dead,
            mine.as_str(),
            "a.com.xml.1.tmp",
            ".x.tmp",
            ".a.1x.tmp",
        ] {
            std::fs::write(p(n), "").unwrap();
        }
        assert_eq!(sweep_stale_temps(dir.path()), vec![dead.to_string()]);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut expected = vec![mine, ".a.1x.tmp".into(), ".x.tmp".into()];
        expected.extend(["a.com.xml".into(), "a.com.xml.1.tmp".into()]);
        expected.sort();
        assert_eq!(left, expected);
    }
}
