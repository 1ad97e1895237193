//! A MariaDB server of a test's own (Debian's `mariadb-server`): a data directory made by
//! `mariadb-install-db` in a temporary directory, `mariadbd` listening on that directory's
//! socket and on 127.0.0.1 at a free port, root logging in through the socket without a
//! password; killed when dropped. Nothing system-wide is used or changed. Shared by the MySQL
//! tests of the import (tests/ods_takeover/mysql.rs) and of its reader
//! (crates/ods-database/tests/mysql.rs).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL_DB: &str = "/usr/bin/mariadb-install-db";
const SERVER: &str = "/usr/sbin/mariadbd";
const CLIENT: &str = "/usr/bin/mariadb";

/// A MariaDB server of its own, stopped when dropped.
pub struct MariaDb {
    dir: tempfile::TempDir,
    child: Child,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
}

impl MariaDb {
    pub fn start() -> MariaDb {
        for binary in [INSTALL_DB, SERVER, CLIENT] {
            assert!(
                Path::new(binary).is_file(),
                "{binary} is missing: packages mariadb-server and mariadb-client; run scripts/deps.sh"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // Its own temporary directory: two servers bootstrapping at once in /tmp collide on
        // the names of their temporary tables ("Unknown table 'mysql.tmp_user_sys'").
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        // mariadbd runs as root only when told to; as another user it runs as that user.
        // SAFETY: getuid has no preconditions and cannot fail.
        let as_root = unsafe { libc::getuid() } == 0;
        let user: &[&str] = if as_root { &["--user=root"] } else { &[] };
        let out = Command::new(INSTALL_DB)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            .args(user)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{INSTALL_DB}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let error_log = dir.path().join("error.log");
        let socket = dir.path().join("sock");
        // The port is free when picked and may be taken before mariadbd binds it: then again
        // with another.
        for attempt in 1.. {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(SERVER)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--tmpdir={}", tmp.display()))
                .arg(format!("--socket={}", socket.display()))
                .arg(format!("--port={port}"))
                .arg("--bind-address=127.0.0.1")
                .arg(format!("--pid-file={}", dir.path().join("pid").display()))
                .arg(format!("--log-error={}", error_log.display()))
                .arg("--innodb-buffer-pool-size=16M")
                .arg("--innodb-log-file-size=8M")
                .args(user)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            let failure = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break format!("exited ({status})");
                }
                if client(&socket, None, "SELECT 1").status.success() {
                    return MariaDb { dir, child, port };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break "not ready after 60 s".to_string();
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            let log = std::fs::read_to_string(&error_log).unwrap_or_default();
            if attempt < 3 && log.contains("Bind on TCP/IP port") {
                continue;
            }
            panic!("{SERVER} {failure}:\n{log}");
        }
        unreachable!()
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// Runs `sql` as root; returns what it printed.
    pub fn sql(&self, database: Option<&str>, sql: &str) -> String {
        let out = client(&self.socket(), database, sql);
        assert!(
            out.status.success(),
            "{CLIENT}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the client as root through `socket`, `sql` on its standard input.
fn client(socket: &Path, database: Option<&str>, sql: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(CLIENT)
        .arg("--no-defaults")
        .arg(format!("--socket={}", socket.display()))
        .arg("--user=root")
        .arg("--batch")
        .args(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
