//! The daemon's dealings with the operating system: the pid file, the `Privileges`
//! user and group, and detaching from the terminal (`common/util.c`,
//! `common/privdrop.c`, `daemon/engine.c:engine_setup`).
//!
//! * Pid file: a stale file (no such process, a zombie — a daemon killed a moment ago
//!   and not yet reaped — or a live process running another program) is fine and is
//!   overwritten; a file naming a live ods-enforcerd stops the start. Written atomically (temp file + rename).
//! * Privileges: names are resolved once, up front. A command run without the daemon,
//!   as root, drops to them the same way (crates/cli/src/client.rs). Without `Group` the user's primary
//!   group is used (OpenDNSSEC keeps the *current* group in that case — root's when
//!   started as root — which this port does not copy). Dropping sets the supplementary
//!   groups, then the gid, then the uid, and when leaving root checks that root cannot
//!   be regained.
//! * [`daemonize`] forks once and calls `setsid`; the parent stays until the child
//!   reports that it started ([`DaemonChild::ready`]) or failed, then exits 0 or 1.
//!   **It must be called while the process has a single thread** (before the tokio
//!   runtime or any worker exists): only the calling thread survives a fork.

use kasp_engine::logger;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::path::Path;

/// Checks the pid file before starting: absent, empty, unreadable or stale is fine.
pub fn check_pid_file(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            logger::error(&format!("[util] cannot stat pidfile {shown}: {e}"));
            return Ok(());
        }
    };
    if !meta.is_file() {
        return Ok(());
    }
    let Some(pid) = std::fs::read(path).ok().and_then(|b| parse_pid(&b)) else {
        return Ok(());
    };
    let why = match holder(pid) {
        Holder::Enforcer => {
            return Err(format!(
                "pidfile {shown} already exists, a process with pid {pid} is already running. \
                 If no ods-enforcerd process is running, a previous instance didn't shutdown \
                 cleanly, please remove this file and try again."
            ));
        }
        Holder::Gone => format!("no process with pid {pid} is running"),
        Holder::Zombie => format!("process {pid} has exited (a zombie not yet reaped)"),
        Holder::Other(name) => format!("process {pid} is {name}, not ods-enforcerd"),
    };
    logger::warning(&format!(
        "[util] pidfile {shown} already exists, but {why}. \
         A previous instance didn't shutdown cleanly, this pidfile is stale."
    ));
    Ok(())
}

/// What the process a pid file names is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    /// A live ods-enforcerd (or, where /proc cannot tell, some live process).
    Enforcer,
    /// No such process, or this very process (a pid reused after a restart).
    Gone,
    /// A process that has exited and waits to be reaped: a daemon killed a moment ago
    /// whose parent has not collected it yet.
    Zombie,
    /// A live process running another program (the pid was reused).
    Other(String),
}

/// Looks at process `pid` in /proc (its state and program name, `/proc/<pid>/stat`); a
/// program is ods-enforcerd when its name is that or this daemon's own (a renamed
/// binary). Without /proc only whether the process exists is known.
fn holder(pid: libc::pid_t) -> Holder {
    if u32::try_from(pid).ok() == Some(std::process::id()) {
        return Holder::Gone;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        if !Path::new("/proc/self/stat").exists() && process_alive(pid) {
            return Holder::Enforcer;
        }
        return Holder::Gone;
    };
    // "<pid> (<comm>) <state> …": the name may itself hold parentheses.
    let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
        return Holder::Enforcer;
    };
    let name = &stat[open + 1..close];
    let state = stat[close + 1..].split_whitespace().next().unwrap_or("");
    if matches!(state, "Z" | "X" | "x") {
        return Holder::Zombie;
    }
    let own = std::fs::read_to_string("/proc/self/comm").unwrap_or_default();
    if name == "ods-enforcerd" || name == own.trim_end_matches('\n') {
        Holder::Enforcer
    } else {
        Holder::Other(name.to_string())
    }
}

/// A positive pid from a pid file's text (`"<pid>\n"`).
fn parse_pid(bytes: &[u8]) -> Option<libc::pid_t> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.trim_start()
        .parse::<libc::pid_t>()
        .ok()
        .filter(|p| *p > 0)
}

use kasp_engine::files::process_alive;
use kasp_engine::files::{Readers, write_atomic};

/// Writes `"<pid>\n"` to `path` atomically, creating the parent directory if needed
/// (crates/engine/src/files.rs: an unpredictable temporary file, never a symlink
/// followed, mode 0644).
pub fn write_pid_file(path: &Path, pid: u32) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        std::fs::create_dir_all(d)?;
    }
    write_atomic(path, &format!("{pid}\n"), Readers::Everyone).map_err(|e| {
        let shown = format!("cannot write {}: ", path.display());
        io::Error::other(e.strip_prefix(&shown).unwrap_or(&e).to_string())
    })
}

/// Removes the pid file; a missing file or an error is ignored.
pub fn remove_pid_file(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// The user and group to run as. Names are `None` when not configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub user: Option<String>,
    pub group: Option<String>,
}

/// Resolves `Privileges/User` and `Group`. Missing parts keep the current effective
/// ids, except that a user without a group gets the user's primary group.
pub fn resolve(user: Option<&str>, group: Option<&str>) -> Result<Identity, String> {
    // SAFETY: geteuid/getegid cannot fail.
    let (mut uid, mut gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if let Some(u) = user {
        let pw = lookup_user(User::Name(u))?.ok_or_else(|| format!("user {u} does not exist"))?;
        uid = pw.0;
        gid = pw.1;
    }
    if let Some(g) = group {
        gid = lookup_group(g)?.ok_or_else(|| format!("group {g} does not exist"))?;
    }
    Ok(Identity {
        uid,
        gid,
        user: user.map(str::to_string),
        group: group.map(str::to_string),
    })
}

/// Gives `path` to the configured user and group (unconfigured parts unchanged).
pub fn chown_path(path: &Path, id: &Identity) -> Result<(), String> {
    if id.user.is_none() && id.group.is_none() {
        return Ok(());
    }
    let c = c_path(path)?;
    let uid = if id.user.is_some() { id.uid } else { u32::MAX };
    // SAFETY: `c` is NUL-terminated; u32::MAX is (uid_t)-1, "leave unchanged".
    let rc = unsafe { libc::chown(c.as_ptr(), uid, id.gid) };
    os_check(rc, || format!("chown() of {}", path.display()))
}

/// Switches the process to `id`: supplementary groups (only as root), gid, then uid,
/// each only when it differs from the current one.
pub fn drop_privileges(id: &Identity) -> Result<(), String> {
    // SAFETY: getters cannot fail.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let (user, group) = (id.user.as_deref(), id.group.as_deref());
    if euid == 0 && (id.uid != 0 || id.gid != egid) {
        let by_name = user.and_then(|u| CString::new(u).ok());
        // SAFETY: pointers are valid for the calls; setgroups reads one gid.
        let rc = unsafe {
            match &by_name {
                Some(u) => libc::initgroups(u.as_ptr(), id.gid),
                None => libc::setgroups(1, &id.gid),
            }
        };
        os_check(rc, || format!("setting the groups for gid {}", id.gid))?;
    }
    if id.gid != egid {
        // SAFETY: plain syscall on an integer.
        let rc = unsafe { libc::setgid(id.gid) };
        os_check(rc, || {
            format!("setgid() for {} ({})", group.unwrap_or("-"), id.gid)
        })?;
    }
    if id.uid != euid {
        // SAFETY: plain syscall on an integer.
        let rc = unsafe { libc::setuid(id.uid) };
        os_check(rc, || {
            format!("setuid() for {} ({})", user.unwrap_or("-"), id.uid)
        })?;
    }
    // SAFETY: as above; once root is given up this call must fail.
    if euid == 0 && id.uid != 0 && unsafe { libc::setuid(0) } == 0 {
        return Err(format!(
            "privileges not dropped: uid {} regained root",
            id.uid
        ));
    }
    Ok(())
}

/// `Err("<what> failed: <errno text>")` when a libc call returned non-zero.
fn os_check(rc: libc::c_int, what: impl FnOnce() -> String) -> Result<(), String> {
    match rc {
        0 => Ok(()),
        _ => Err(format!("{} failed: {}", what(), io::Error::last_os_error())),
    }
}

/// The login name of `uid`, or `uid:<n>` when it has none.
pub fn user_name(uid: u32) -> String {
    match lookup_user(User::Id(uid)) {
        Ok(Some((_, _, name))) => name,
        _ => format!("uid:{uid}"),
    }
}

/// Whether `uid`'s primary group or one of its supplementary groups is `gid`.
pub fn user_in_group(uid: u32, gid: u32) -> bool {
    let Ok(Some((_, primary, name))) = lookup_user(User::Id(uid)) else {
        return false;
    };
    if primary == gid {
        return true;
    }
    let Ok(c) = CString::new(name) else {
        return false;
    };
    let mut groups: Vec<libc::gid_t> = vec![0; 64];
    for _ in 0..8 {
        let mut n = libc::c_int::try_from(groups.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `groups` holds `n` entries; getgrouplist writes at most `n`.
        let rc = unsafe { libc::getgrouplist(c.as_ptr(), primary, groups.as_mut_ptr(), &mut n) };
        let count = usize::try_from(n).unwrap_or(0);
        if rc >= 0 {
            return groups.iter().take(count).any(|g| *g == gid);
        }
        groups.resize(count.max(groups.len() * 2), 0);
    }
    false
}

enum User<'a> {
    Name(&'a str),
    Id(u32),
}

/// getpwnam_r / getpwuid_r: `(uid, primary gid, name)`; `Ok(None)` if there is none.
fn lookup_user(who: User<'_>) -> Result<Option<(u32, u32, String)>, String> {
    let name = match who {
        User::Name(n) => Some(CString::new(n).map_err(|_| format!("user {n} does not exist"))?),
        User::Id(_) => None,
    };
    nss(
        "user",
        // SAFETY (both arms): the pointers come from `nss` and are valid for the call.
        |pwd, buf, len, res| match (&name, &who) {
            (Some(n), _) => unsafe { libc::getpwnam_r(n.as_ptr(), pwd, buf, len, res) },
            (None, User::Id(u)) => unsafe { libc::getpwuid_r(*u, pwd, buf, len, res) },
            (None, User::Name(_)) => libc::ENOENT,
        },
        |pwd: &libc::passwd| {
            // SAFETY: a found entry's pw_name is a NUL-terminated string in the buffer.
            let login = unsafe { CStr::from_ptr(pwd.pw_name) }.to_string_lossy();
            (pwd.pw_uid, pwd.pw_gid, login.into_owned())
        },
    )
}

/// getgrnam_r: the gid of a group name.
fn lookup_group(name: &str) -> Result<Option<u32>, String> {
    let Ok(c) = CString::new(name) else {
        return Ok(None);
    };
    // SAFETY: the pointers come from `nss` and are valid for the call.
    let call = |grp, buf, len, res| unsafe { libc::getgrnam_r(c.as_ptr(), grp, buf, len, res) };
    nss("group", call, |grp: &libc::group| grp.gr_gid)
}

/// Runs a reentrant NSS lookup (`get*_r`), growing the buffer on ERANGE, and reads
/// the entry with `read` while the buffer it points into is alive.
fn nss<T, R>(
    what: &str,
    mut call: impl FnMut(*mut T, *mut libc::c_char, usize, *mut *mut T) -> libc::c_int,
    read: impl Fn(&T) -> R,
) -> Result<Option<R>, String> {
    let mut buf = vec![0 as libc::c_char; 1024];
    loop {
        // SAFETY: passwd and group are plain C structs; all-zero is a valid value.
        let mut entry: T = unsafe { std::mem::zeroed() };
        let mut result: *mut T = std::ptr::null_mut();
        let rc = call(&mut entry, buf.as_mut_ptr(), buf.len(), &mut result);
        match rc {
            libc::ERANGE if buf.len() < (1 << 20) => buf.resize(buf.len() * 4, 0),
            0 if result.is_null() => return Ok(None),
            0 => return Ok(Some(read(&entry))),
            libc::ENOENT | libc::ESRCH => return Ok(None),
            _ => {
                let e = io::Error::from_raw_os_error(rc);
                return Err(format!("{what} lookup failed: {e}"));
            }
        }
    }
}

fn c_path(path: &Path) -> Result<CString, String> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("path {} contains a NUL byte", path.display()))
}

/// The first byte the child sends when it started; anything else is an error text.
const READY: u8 = 0;

/// The detached daemon's link to the waiting parent (or nothing, in the foreground).
#[derive(Debug)]
pub struct DaemonChild {
    pipe: Option<File>,
}

impl DaemonChild {
    /// The foreground stand-in (`-d`): `ready` and `failed` do nothing.
    pub fn foreground() -> DaemonChild {
        DaemonChild { pipe: None }
    }

    /// Startup finished: the parent exits 0, and stdin, stdout and stderr of this
    /// process are pointed at /dev/null.
    pub fn ready(mut self) {
        let Some(mut pipe) = self.pipe.take() else {
            return;
        };
        let _ = pipe.write_all(&[READY]);
        drop(pipe);
        if let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            let raw = null.into_raw_fd();
            for fd in (0..=2).filter(|fd| *fd != raw) {
                // SAFETY: dup2 onto the standard descriptors; `raw` stays open meanwhile.
                unsafe { libc::dup2(raw, fd) };
            }
            if raw > 2 {
                // SAFETY: `raw` came from into_raw_fd and is closed exactly once.
                unsafe { libc::close(raw) };
            }
        }
    }

    /// Startup failed: the parent prints `msg` and exits 1. Dropping the handle without
    /// calling [`ready`](Self::ready) has the same effect without a message.
    pub fn failed(mut self, msg: &str) {
        if let Some(mut pipe) = self.pipe.take() {
            let text = msg.replace('\0', "?");
            let _ = pipe.write_all(text.as_bytes());
        }
    }
}

/// Forks into the background and starts a new session. Returns only in the child;
/// the parent waits for the child's report and exits (0 if ready, 1 otherwise,
/// after writing the child's message and `fail to start enforcerd completely` to
/// stderr). Call it before any thread is started.
pub fn daemonize() -> Result<DaemonChild, String> {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    os_check(unsafe { libc::pipe(fds.as_mut_ptr()) }, || "pipe()".into())?;
    // SAFETY: pipe() just returned these descriptors; each is owned once.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in [&read_end, &write_end] {
        // SAFETY: setting FD_CLOEXEC on a descriptor we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: the caller guarantees a single-threaded process.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork() failed: {}", io::Error::last_os_error())),
        0 => {
            drop(read_end);
            let child = DaemonChild {
                pipe: Some(File::from(write_end)),
            };
            // SAFETY: setsid has no preconditions.
            if unsafe { libc::setsid() } == -1 {
                let msg = format!("setsid() failed: {}", io::Error::last_os_error());
                child.failed(&msg);
                return Err(msg);
            }
            Ok(child)
        }
        _ => {
            drop(write_end);
            let mut report = Vec::new();
            let _ = File::from(read_end).read_to_end(&mut report);
            if report.first() == Some(&READY) {
                std::process::exit(0);
            }
            let mut err = io::stderr().lock();
            if !report.is_empty() {
                let _ = writeln!(err, "{}", String::from_utf8_lossy(&report).trim_end());
            }
            let _ = writeln!(err, "fail to start enforcerd completely");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_lifecycle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/sub/enforcerd.pid");
        assert_eq!(check_pid_file(&path), Ok(()));
        write_pid_file(&path, std::process::id()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        // This very process: a pid reused after a restart (a daemon that is pid 1 of
        // its container, say) is no other daemon.
        assert_eq!(check_pid_file(&path), Ok(()));
        // A live process running another program.
        let mut sleep = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        write_pid_file(&path, sleep.id()).unwrap();
        assert_eq!(
            holder(sleep.id() as libc::pid_t),
            Holder::Other("sleep".into())
        );
        assert_eq!(check_pid_file(&path), Ok(()));
        // The same process once it exited and before it is reaped.
        sleep.kill().unwrap();
        while holder(sleep.id() as libc::pid_t) != Holder::Zombie {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(check_pid_file(&path), Ok(()));
        sleep.wait().unwrap();
        // Stale: a pid that cannot exist (above the kernel's pid_max).
        write_pid_file(&path, 999_999_999).unwrap();
        assert_eq!(check_pid_file(&path), Ok(()));
        for junk in ["", "garbage\n", "0\n", "-1\n"] {
            std::fs::write(&path, junk).unwrap();
            assert_eq!(check_pid_file(&path), Ok(()), "{junk:?}");
        }
        remove_pid_file(&path);
        assert!(!path.exists());
        remove_pid_file(&path);
        // A directory in the way is not a pid file.
        assert_eq!(check_pid_file(dir.path()), Ok(()));
        assert_eq!(
            std::fs::read_dir(dir.path().join("run/sub"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn identities() {
        // SAFETY: plain getter.
        let euid = unsafe { libc::geteuid() };
        let me = resolve(None, None).unwrap();
        assert_eq!(me.uid, euid);
        assert_eq!(me.user, None);
        if euid == 0 {
            let root = resolve(Some("root"), None).unwrap();
            assert_eq!((root.uid, root.gid), (0, 0));
            assert_eq!(resolve(Some("root"), Some("root")).unwrap().gid, 0);
            assert_eq!(user_name(0), "root");
            assert!(user_in_group(0, 0));
            // Dropping to the identity we already have is a no-op.
            drop_privileges(&root).unwrap();
        }
        let e = resolve(Some("no-such-user-kasp"), None).unwrap_err();
        assert_eq!(e, "user no-such-user-kasp does not exist");
        let e = resolve(None, Some("no-such-group-kasp")).unwrap_err();
        assert_eq!(e, "group no-such-group-kasp does not exist");
        assert!(resolve(Some("nul\0user"), None).is_err());
        assert_eq!(user_name(4_000_000_000), "uid:4000000000");
        assert!(!user_in_group(4_000_000_000, 0));
    }

    #[test]
    fn chown_to_self() {
        let dir = tempfile::tempdir().unwrap();
        let me = resolve(None, None).unwrap();
        chown_path(dir.path(), &me).unwrap(); // nothing configured: untouched
        let named = Identity {
            user: Some(user_name(me.uid)),
            ..me
        };
        chown_path(dir.path(), &named).unwrap();
        assert!(chown_path(&dir.path().join("missing"), &named).is_err());
    }

    /// `-d`: no parent waits for a report, and `ready` leaves stdin, stdout and stderr
    /// where they were (the detached child points them at /dev/null).
    #[test]
    fn foreground_child_is_inert() {
        let standard_files = || {
            (0..3)
                .map(|fd| {
                    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
                    // SAFETY: fstat writes one `stat` through the pointer; a closed
                    // descriptor only makes it fail.
                    let r = unsafe { libc::fstat(fd, st.as_mut_ptr()) };
                    // SAFETY: fstat filled it in when it returned 0.
                    (r == 0)
                        .then(|| unsafe { st.assume_init() })
                        .map(|st| (st.st_dev, st.st_ino))
                })
                .collect::<Vec<_>>()
        };
        let before = standard_files();
        let child = DaemonChild::foreground();
        assert!(child.pipe.is_none());
        child.failed("x");
        DaemonChild::foreground().ready();
        assert_eq!(standard_files(), before);
    }
}
