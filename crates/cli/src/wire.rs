//! # OpenDNSSEC's socket protocol (docs/cli.md, ods-enforcer)
//!
//! Between `ods-enforcer` and the daemon every message is `opcode (1 byte) | length
//! (2 bytes, big-endian) | payload`. The daemon sends STDOUT / STDERR text and one EXIT
//! frame (a signed byte) per command; the client sends each command line as STDIN.
//! The stock C client reads into a 1024-byte buffer, so a compatible daemon sends at
//! most [`MAX_PAYLOAD`] payload bytes per frame and cuts longer text into pieces.
//!
//! Pure: encoding to bytes and an incremental decoder; the I/O belongs to the daemon
//! ([`crate::daemon`]) and the client ([`crate::remote`]).

use std::fmt;

/// The largest payload one frame may carry for the stock client (1024 − 3).
pub const MAX_PAYLOAD: usize = 1021;

/// A frame's opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// Daemon → client: text for stdout.
    Stdout = 0,
    /// Daemon → client: text for stderr.
    Stderr = 1,
    /// Client → daemon: one command line.
    Stdin = 2,
    /// Daemon → client: a prompt (the enforcer never sends it).
    Prompt = 3,
    /// Daemon → client: the command's exit code (one signed byte).
    Exit = 4,
}

impl Opcode {
    fn from_byte(b: u8) -> Option<Opcode> {
        Some(match b {
            0 => Opcode::Stdout,
            1 => Opcode::Stderr,
            2 => Opcode::Stdin,
            3 => Opcode::Prompt,
            4 => Opcode::Exit,
            _ => return None,
        })
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub op: Opcode,
    pub payload: Vec<u8>,
}

/// A byte stream that is not OpenDNSSEC's protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// An opcode outside 0–4.
    UnknownOpcode(u8),
    /// An EXIT frame whose payload is not exactly one byte.
    BadExit(usize),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::UnknownOpcode(b) => write!(f, "unknown opcode {b} in the command stream"),
            WireError::BadExit(n) => write!(f, "EXIT frame with {n} payload bytes (must be 1)"),
        }
    }
}

impl std::error::Error for WireError {}

/// The bytes of one frame. Panics on a payload over 65535 bytes, which no encoder in
/// this module produces.
fn frame(op: Opcode, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len()).expect("payload fits a frame");
    let mut out = Vec::with_capacity(3 + payload.len());
    out.push(op as u8);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Text for stdout or stderr as frames of at most [`MAX_PAYLOAD`] bytes (empty text:
/// no frame).
pub fn text(op: Opcode, text: &[u8]) -> Vec<u8> {
    text.chunks(MAX_PAYLOAD)
        .flat_map(|chunk| frame(op, chunk))
        .collect()
}

/// A command line for the daemon.
pub fn command(line: &str) -> Vec<u8> {
    let bytes = line.as_bytes();
    frame(Opcode::Stdin, &bytes[..bytes.len().min(u16::MAX as usize)])
}

/// The command line a STDIN payload carries, as the daemon reads it: the stock client
/// sends the words joined by spaces with a trailing space and a NUL (`zone list \0`),
/// which are trimmed with the surrounding white space.
pub fn command_line(payload: &[u8]) -> String {
    String::from_utf8_lossy(payload)
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .to_string()
}

/// The EXIT frame of `code`, as the daemon sends it: the code as a signed byte.
pub fn exit(code: i32) -> Vec<u8> {
    frame(Opcode::Exit, &[(code as i8) as u8])
}

/// The process exit status a client derives from an EXIT payload byte
/// (`(int)(signed char)b & 0xff`, so -1 gives 255).
pub fn exit_status(byte: u8) -> i32 {
    i32::from(byte as i8) & 0xff
}

/// Incremental decoder: feed bytes as they arrive, take complete frames.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Adds received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, WireError> {
        let Some(&op) = self.buf.first() else {
            return Ok(None);
        };
        let op = Opcode::from_byte(op).ok_or(WireError::UnknownOpcode(op))?;
        if self.buf.len() < 3 {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([self.buf[1], self.buf[2]]));
        if op == Opcode::Exit && len != 1 {
            return Err(WireError::BadExit(len));
        }
        if self.buf.len() < 3 + len {
            return Ok(None);
        }
        let payload = self.buf[3..3 + len].to_vec();
        self.buf.drain(..3 + len);
        Ok(Some(Frame { op, payload }))
    }

    /// Bytes received that do not make a whole frame yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(bytes: &[u8]) -> Vec<Frame> {
        let mut d = Decoder::default();
        d.feed(bytes);
        let mut out = Vec::new();
        while let Some(f) = d.next_frame().unwrap() {
            out.push(f);
        }
        assert_eq!(d.pending(), 0);
        out
    }

    #[test]
    fn long_text_is_cut_for_the_stock_client() {
        let big = vec![b'x'; 2 * MAX_PAYLOAD + 5];
        let frames = decode_all(&text(Opcode::Stdout, &big));
        let sizes: Vec<usize> = frames.iter().map(|f| f.payload.len()).collect();
        assert_eq!(sizes, [MAX_PAYLOAD, MAX_PAYLOAD, 5]);
        assert!(text(Opcode::Stderr, b"").is_empty());
    }

    #[test]
    fn exit_codes_round_trip_as_the_client_sees_them() {
        for (code, status) in [(0, 0), (1, 1), (11, 11), (-1, 255), (255, 255)] {
            let f = &decode_all(&exit(code))[0];
            assert_eq!(f.op, Opcode::Exit);
            assert_eq!(exit_status(f.payload[0]), status, "{code}");
        }
    }

    #[test]
    fn malformed_streams_are_refused() {
        let mut d = Decoder::default();
        d.feed(&[9, 0, 0]);
        assert_eq!(d.next_frame(), Err(WireError::UnknownOpcode(9)));
        let mut d = Decoder::default();
        d.feed(&[4, 0, 2, 0, 0]);
        assert_eq!(d.next_frame(), Err(WireError::BadExit(2)));
    }

    #[test]
    fn a_frame_waits_for_all_its_bytes() {
        let bytes = command("zone list");
        let mut d = Decoder::default();
        for b in &bytes[..bytes.len() - 1] {
            d.feed(std::slice::from_ref(b));
            assert_eq!(d.next_frame(), Ok(None));
        }
        d.feed(&bytes[bytes.len() - 1..]);
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!((f.op, f.payload), (Opcode::Stdin, b"zone list".to_vec()));
        assert_eq!(command_line(b" zone list \0"), "zone list");
    }

    proptest! {
        #[test]
        fn any_output_survives_any_split(
            out in proptest::collection::vec(any::<u8>(), 0..4000),
            err in proptest::collection::vec(any::<u8>(), 0..1500),
            code in any::<i8>(),
            cut in any::<proptest::sample::Index>(),
        ) {
            let mut bytes = text(Opcode::Stdout, &out);
            bytes.extend(text(Opcode::Stderr, &err));
            bytes.extend(exit(i32::from(code)));
            let at = cut.index(bytes.len() + 1);
            let mut d = Decoder::default();
            let (mut got_out, mut got_err, mut got_exit) = (Vec::new(), Vec::new(), None);
            for part in [&bytes[..at], &bytes[at..]] {
                d.feed(part);
                while let Some(f) = d.next_frame().unwrap() {
                    prop_assert!(f.payload.len() <= MAX_PAYLOAD);
                    match f.op {
                        Opcode::Stdout => got_out.extend(f.payload),
                        Opcode::Stderr => got_err.extend(f.payload),
                        Opcode::Exit => got_exit = Some(exit_status(f.payload[0])),
                        _ => prop_assert!(false, "unexpected {:?}", f.op),
                    }
                }
            }
            prop_assert_eq!(got_out, out);
            prop_assert_eq!(got_err, err);
            prop_assert_eq!(got_exit, Some(i32::from(code) & 0xff));
        }
    }
}
