//! Integration tests of kasp-events, one test binary: the codec, the wire-format golden
//! file, the hash chain, the log on real files (including damaged ones), replay into a
//! projection, and time.

mod chain;
mod codec_roundtrip;
mod common;
mod golden;
mod log_damage;
mod log_file;
mod log_identity;
mod replay;
mod time;
