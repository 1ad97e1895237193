//! File effects: reading input files with clear errors, and atomic writes, so a reader
//! never sees half a signconf or zone list and nobody sharing a directory can redirect
//! them.
//!
//! * Inputs ([`read_text`], [`open_regular`]): only a regular file is read — a FIFO,
//!   device, directory or socket is refused with "<path> is not a regular file" before
//!   anything could wait on it — and at most [`MAX_INPUT`] bytes of it.
//! * Outputs ([`write_atomic`]): a temporary file with an unpredictable name
//!   (`.NAME.PID.RANDOM.tmp`) created in the target's directory with
//!   `O_CREAT|O_EXCL|O_NOFOLLOW`, given its mode whatever the umask ([`Readers`]),
//!   fsynced, renamed over the target (a symlink there is replaced, never followed),
//!   then the directory fsynced.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The most bytes an input file may hold: far above any real conf.xml, kasp.xml, zone
/// list or key file, and above libxml2's own limit on one text node (10,000,000 bytes).
pub const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// Reads a text file, with a message naming the file on failure: a regular file of at
/// most [`MAX_INPUT`] bytes.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = read_bounded(path, MAX_INPUT)?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// Reads at most `limit` bytes of the regular file `path`; a longer file is refused.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {}", path.display(), io_text(&e)))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{} is larger than {} MiB; refused",
            path.display(),
            limit / (1024 * 1024)
        ));
    }
    Ok(bytes)
}

/// Opens `path` for reading if it is a regular file (a symlink to one is fine); "<path>
/// is not a regular file" otherwise. Nothing here can wait: the type is checked before
/// opening (so a device is never opened), and the open itself is non-blocking, so a
/// FIFO swapped in after the check returns at once and is refused by the type check on
/// the open file.
pub fn open_regular(path: &Path) -> Result<File, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {}", path.display(), io_text(&e));
    let not_regular = || format!("{} is not a regular file", path.display());
    if !std::fs::metadata(path).map_err(cannot)?.is_file() {
        return Err(not_regular());
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(cannot)?;
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// Who may read a file [`write_atomic`] writes (the owner may also write it); the
/// mode is set on the open file, so the umask does not change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// 0640: the owner and the daemon's group (`zones.xml`, the zone list file).
    Group,
    /// 0644: everyone (signconfs, which the signer reads; exported public keys; pictures).
    Everyone,
}

impl Readers {
    /// The file mode.
    pub fn mode(self) -> u32 {
        match self {
            Readers::Group => 0o640,
            Readers::Everyone => 0o644,
        }
    }
}

/// How many random characters a temporary file name holds (62 possibilities each).
const TEMP_RANDOM: usize = 10;

/// Writes `content` to `path` atomically, readable by `readers`.
pub fn write_atomic(path: &Path, content: &str, readers: Readers) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot write {}: {}", path.display(), io_text(&e));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mode = readers.mode();
    let result = (|| {
        // Removed again if anything below fails (NamedTempFile's drop).
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.{}.", std::process::id()))
            .suffix(".tmp")
            .rand_bytes(TEMP_RANDOM)
            .make_in(dir, |p| create_new(p, mode))?;
        let file = tmp.as_file_mut();
        // fchmod: the creation mode went through the umask; this one does not.
        file.set_permissions(Permissions::from_mode(mode))?;
        file.write_all(content.as_bytes())?;
        file.sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(fail)
}

/// Creates `path` for writing only if nothing, not even a dangling symlink, is there.
fn create_new(path: &Path, mode: u32) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
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
/// killed mid-write (`.NAME.PID.RANDOM.tmp` of a PID that no longer runs; the PID is
/// in the name for this sweep, the random part makes the name unpredictable). Returns their
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

/// The PID in a `write_atomic` temporary file name `.NAME.PID.RANDOM.tmp`.
fn stale_temp_pid(name: &str) -> Option<libc::pid_t> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (rest, random) = rest.rsplit_once('.')?;
    if random.len() != TEMP_RANDOM || !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
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
    use std::os::unix::fs::symlink;

    fn names(dir: &Path) -> Vec<String> {
        let mut left: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        left
    }

    #[test]
    fn only_temp_files_of_dead_processes_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        write_atomic(&p("a.com.xml"), "kept", Readers::Group).unwrap();
        // pid_max is at most 2^22 on Linux: this pid cannot run.
        let dead = ".a.com.xml.99999999.aB3dE6gH9j.tmp";
        let mine = format!(".a.com.xml.{}.aB3dE6gH9j.tmp", std::process::id());
        let kept = [
            mine.as_str(),
            "a.com.xml.1.aB3dE6gH9j.tmp",
            ".a.com.xml.99999999.tmp",
            ".a.com.xml.99999999.short.tmp",
            ".a.com.xml.x9.aB3dE6gH9j.tmp",
            ".x.tmp",
        ];
        for n in kept.iter().chain([&dead]) {
            std::fs::write(p(n), "").unwrap();
        }
        assert_eq!(sweep_stale_temps(dir.path()), vec![dead.to_string()]);
        let mut expected: Vec<String> = kept.iter().map(|n| n.to_string()).collect();
        expected.push("a.com.xml".into());
        expected.sort();
        assert_eq!(names(dir.path()), expected);
    }

    /// The temporary file is created only where nothing is: a symlink planted at its
    /// name (even a dangling one) is an error, never followed.
    #[test]
    fn a_symlink_at_the_temporary_path_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let planted = dir.path().join(".a.xml.1.planted.tmp");
        symlink(&victim, &planted).unwrap();
        let e = create_new(&planted, 0o644).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
        let dangling = dir.path().join(".b.xml.1.planted.tmp");
        symlink(dir.path().join("absent"), &dangling).unwrap();
        assert!(create_new(&dangling, 0o644).is_err());
        assert!(!dir.path().join("absent").exists());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        // The name OpenDNSSEC-style predictable temporaries had, planted: not used.
        let old = dir
            .path()
            .join(format!(".a.xml.{}.tmp", std::process::id()));
        symlink(&victim, &old).unwrap();
        write_atomic(&dir.path().join("a.xml"), "new", Readers::Everyone).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.xml")).unwrap(),
            "new"
        );
    }

    /// A symlink at the final path is replaced by the new file, its target untouched.
    #[test]
    fn a_symlink_at_the_final_path_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let target = dir.path().join("zones.xml");
        symlink(&victim, &target).unwrap();
        write_atomic(&target, "zones", Readers::Group).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let meta = std::fs::symlink_metadata(&target).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "zones");
        // Nothing but the victim and the file is left.
        assert_eq!(names(dir.path()), ["victim", "zones.xml"]);
    }

    #[test]
    fn the_mode_is_the_one_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        for (readers, mode) in [(Readers::Group, 0o640), (Readers::Everyone, 0o644)] {
            let path = dir.path().join(format!("{mode:o}"));
            // An existing file's mode does not carry over either.
            std::fs::write(&path, "old").unwrap();
            std::fs::set_permissions(&path, Permissions::from_mode(0o666)).unwrap();
            write_atomic(&path, "x", readers).unwrap();
            let got = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            assert_eq!(got, mode, "{readers:?}");
        }
    }

    /// Anything but a regular file is refused before it could block: a FIFO without a
    /// writer, a directory, a device, a socket.
    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let socket = dir.path().join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let link = dir.path().join("link-to-fifo");
        symlink(&fifo, &link).unwrap();
        for path in [&fifo, &link, &socket, dir.path(), Path::new("/dev/zero")] {
            let e = read_text(path).unwrap_err();
            assert_eq!(e, format!("{} is not a regular file", path.display()));
        }
        let e = read_text(&dir.path().join("absent")).unwrap_err();
        assert!(e.starts_with("cannot read "), "{e}");
        assert!(e.ends_with("No such file or directory"), "{e}");
        let file = dir.path().join("file");
        std::fs::write(&file, "text").unwrap();
        assert_eq!(read_text(&file).unwrap(), "text");
        symlink(&file, dir.path().join("link")).unwrap();
        assert_eq!(read_text(&dir.path().join("link")).unwrap(), "text");
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        std::fs::write(&file, vec![b'x'; 3 * 1024 * 1024 + 1]).unwrap();
        let e = read_bounded(&file, 3 * 1024 * 1024).unwrap_err();
        assert_eq!(
            e,
            format!("{} is larger than 3 MiB; refused", file.display())
        );
        assert_eq!(
            read_bounded(&file, 4 * 1024 * 1024).unwrap().len(),
            3 * 1024 * 1024 + 1
        );
    }
}
