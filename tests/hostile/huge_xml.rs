//! Huge XML: OpenDNSSEC parses its files with libxml2's default limits (no
//! `XML_PARSE_HUGE`): a text node of at most 10,000,000 bytes, elements nested at most 256
//! deep. kasp-ledger refuses the same files with the same kind of message (libxml2's
//! `xmlSAX2Characters: huge text node`, `Excessive depth in document: 256 use
//! XML_PARSE_HUGE option`), naming the file and line, and appends nothing.

use crate::common::{KASP, Sandbox, refused};

fn populated() -> Sandbox {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    sb
}

/// The line (1-based) of `KASP` holding the first `<Description>`.
fn description_line() -> usize {
    KASP.lines()
        .position(|l| l.contains("<Description>"))
        .unwrap()
        + 1
}

#[test]
fn a_text_node_over_ten_million_bytes_is_refused() {
    let sb = populated();
    let huge = KASP.replacen(
        "<Description>",
        &format!("<Description>{}", "x".repeat(10_000_001)),
        1,
    );
    std::fs::write(sb.path("kasp.xml"), huge).unwrap();
    let r = refused(&sb, "policy import", 1, "huge text node");
    assert!(
        r.err.contains(&format!("kasp.xml:{}", description_line())),
        "{r:?}"
    );
    // Nothing of it reached the log: its size stays that of a few records.
    assert!(sb.log_bytes().len() < 5_000_000, "the log grew");
}

#[test]
fn a_text_node_of_ten_million_bytes_is_accepted() {
    let sb = populated();
    let big = KASP.replacen(
        "<Description>",
        &format!("<Description>{}", "x".repeat(9_999_000)),
        1,
    );
    std::fs::write(sb.path("kasp.xml"), big).unwrap();
    sb.ok("policy import");
}

#[test]
fn nesting_deeper_than_256_is_refused() {
    let sb = populated();
    let deep = KASP.replacen(
        "<Description>",
        &format!("<Description>{}{}", "<a>".repeat(300), "</a>".repeat(300)),
        1,
    );
    std::fs::write(sb.path("kasp.xml"), deep).unwrap();
    refused(&sb, "policy import", 1, "Excessive depth in document: 256");
    // In conf.xml too (read by every command).
    let conf = std::fs::read_to_string(sb.conf()).unwrap();
    let deep_conf = conf.replacen(
        "<Configuration>",
        &format!("<Configuration>{}{}", "<a>".repeat(300), "</a>".repeat(300)),
        1,
    );
    std::fs::write(sb.conf(), deep_conf).unwrap();
    refused(
        &sb,
        "zone list",
        4,
        "conf.xml:3: parser error : Excessive depth in document: 256",
    );
}
