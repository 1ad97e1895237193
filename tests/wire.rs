//! The socket protocol against the stock OpenDNSSEC 2.1.12 client (`/usr/sbin/
//! ods-enforcer`, Debian package opendnssec-enforcer-sqlite3, run with `-s <socket>`): a small
//! server built on `kasp_cli::wire` answers one command, and the real client must
//! relay stdout, stderr (including text longer than one frame) and the exit code.
//! Fails, naming the package, where the stock client is not installed
//! ([`crate::common::stock_client`]).

use kasp_cli::wire::{Decoder, Opcode, command, command_line, exit, text};
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::process::Command;

use crate::common::stock_client;

/// Serves one connection: reads a command line, answers with `out`, `err` and `code`;
/// returns the command line received.
fn serve_once(listener: UnixListener, out: Vec<u8>, err: Vec<u8>, code: i32) -> String {
    let (mut stream, _) = listener.accept().expect("accept");
    let mut d = Decoder::default();
    let mut buf = [0u8; 512];
    let line = loop {
        if let Some(f) = d.next_frame().expect("client speaks the protocol") {
            assert_eq!(f.op, Opcode::Stdin);
            break command_line(&f.payload);
        }
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "client closed before sending a command");
        d.feed(&buf[..n]);
    };
    stream.write_all(&text(Opcode::Stdout, &out)).unwrap();
    stream.write_all(&text(Opcode::Stderr, &err)).unwrap();
    stream.write_all(&exit(code)).unwrap();
    line
}

#[test]
fn the_stock_client_relays_our_frames() {
    let stock = stock_client();
    // Our own framing of our own command line round-trips too.
    let mut d = Decoder::default();
    d.feed(&command("zone list"));
    assert_eq!(d.next_frame().unwrap().unwrap().payload, b"zone list");

    for (code, status) in [(0, 0), (7, 7), (-1, 255)] {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("enforcer.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let long: Vec<u8> = (0..3000).map(|i| b'a' + (i % 26) as u8).collect();
        let mut out = b"Zones:\n".to_vec();
        out.extend(&long);
        out.push(b'\n');
        let err = b"warning: something\n".to_vec();
        let server = {
            let (out, err) = (out.clone(), err.clone());
            std::thread::spawn(move || serve_once(listener, out, err, code))
        };
        let r = Command::new(stock)
            .arg("-s")
            .arg(&sock)
            .args(["zone", "list"])
            .output()
            .expect("run the stock client");
        let line = server.join().unwrap();
        assert_eq!(line, "zone list");
        let stdout = String::from_utf8_lossy(&r.stdout);
        assert!(
            stdout.ends_with(std::str::from_utf8(&out).unwrap()),
            "stdout {stdout:?}"
        );
        assert!(
            String::from_utf8_lossy(&r.stderr).contains("warning: something\n"),
            "{r:?}"
        );
        assert_eq!(r.status.code(), Some(status), "{r:?}");
    }
}
