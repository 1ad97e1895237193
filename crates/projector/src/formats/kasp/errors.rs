//! Tests that bad kasp.xml input gives the right error at the right place.

use super::*;

const STOCK: &str = include_str!("../../../../../fixtures/ods/kasp.xml");

/// The stock file with one substring replaced (which must occur).
fn edited(from: &str, to: &str) -> String {
    assert!(STOCK.contains(from), "{from}");
    STOCK.replacen(from, to, 1)
}

/// Line (1-based) of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> u32 {
    let at = text.find(needle).unwrap();
    text[..at].matches('\n').count() as u32 + 1
}

fn err(text: &str) -> FormatError {
    parse_kasp(text, "k.xml").unwrap_err()
}

#[test]
fn bad_inputs_are_positioned() {
    let cases: Vec<(String, &str, &str)> = vec![
        // (document, text on the expected line, part of the message)
        (
            edited("<Resign>PT2H</Resign>", "<Resign>PT2H</Resgn>"),
            "</Resgn>",
            "malformed XML: expected 'Resign' tag, not 'Resgn'",
        ),
        (
            edited("</Signatures>", "</Signatures"),
            "<Denial>\n\t\t\t<NSEC3>",
            "malformed XML",
        ),
        (
            edited(
                "<Resign>PT2H</Resign>\n\t\t\t<Refresh>P3D</Refresh>",
                "<Refresh>P3D</Refresh>\n\t\t\t<Resign>PT2H</Resign>",
            ),
            "<Refresh>P3D",
            "expected <Resign> in <Signatures>, found <Refresh>",
        ),
        (
            edited("<Jitter>PT12H</Jitter>", "<Jitter>PT12H</Jitter><Bogus/>"),
            "<Bogus/>",
            "expected <InceptionOffset> in <Signatures>, found <Bogus>",
        ),
        (
            edited(
                "<MaxZoneTTL>P1D</MaxZoneTTL>",
                "<MaxZoneTTL>P1D</MaxZoneTTL><Bogus/>",
            ),
            "<Bogus/>",
            "unexpected element <Bogus> in <Signatures>",
        ),
        (
            edited("\t\t\t<RetireSafety>PT3600S</RetireSafety>\n", ""),
            "<PublishSafety>PT3600S",
            "expected <RetireSafety> in <Keys>, found <PublishSafety>",
        ),
        (
            edited("\t\t\t\t<Serial>unixtime</Serial>\n", ""),
            "<SOA>\n\t\t\t\t<TTL>PT3600S</TTL>\n\t\t\t\t<Minimum>PT3600S</Minimum>\n\t\t\t</SOA>\n\t\t</Zone>",
            "missing <Serial> in <SOA>",
        ),
        (
            edited("<Resign>PT2H</Resign>", "<Resign>PT2X</Resign>"),
            "<Resign>PT2X",
            "Signatures/Resign: invalid duration 'PT2X'",
        ),
        (
            edited("<Lifetime>P1Y</Lifetime>", "<Lifetime>P100Y</Lifetime>"),
            "<Lifetime>P100Y",
            "too long",
        ),
        (
            edited("<Jitter>PT12H</Jitter>", "<Jitter>-PT12H</Jitter>"),
            "<Jitter>-PT12H",
            "signed durations are not supported",
        ),
        (
            edited("<Jitter>PT12H</Jitter>", "<Jitter>PT1.5H</Jitter>"),
            "<Jitter>PT1.5H",
            "fractions are not supported",
        ),
        (
            edited("<Purge>P14D</Purge>", "<Purge>P2W</Purge>"),
            "<Purge>P2W",
            "weeks",
        ),
        (
            edited(
                "<Iterations>5</Iterations>",
                "<Iterations>70000</Iterations>",
            ),
            "<Iterations>70000",
            "<Iterations> must be a whole number from 0 to 65535, found '70000'",
        ),
        (
            edited("<Algorithm>1</Algorithm>", "<Algorithm>256</Algorithm>"),
            "<Algorithm>256",
            "from 0 to 255",
        ),
        (
            edited("<Salt length=\"8\"/>", "<Salt length=\"-8\"/>"),
            "<Salt length",
            "Salt@length must be a whole number from 0 to 255, found '-8'",
        ),
        (
            edited("<Algorithm length=\"2048\">8", "<Algorithm length=\"0\">8"),
            "<Algorithm length=\"0\"",
            "Algorithm@length must be a whole number from 1 to 2147483647",
        ),
        (
            edited("<Algorithm length=\"2048\">8", "<Algorithm>8"),
            "<Algorithm>8",
            "<Algorithm> needs the attribute 'length'",
        ),
        (
            edited(
                "<Algorithm length=\"2048\">8",
                "<Algorithm length=\"2048\" bits=\"1\">8",
            ),
            "<Algorithm length=\"2048\" bits",
            "unexpected attribute 'bits' on <Algorithm>",
        ),
        (
            edited("<Serial>unixtime</Serial>", "<Serial>sometimes</Serial>"),
            "<Serial>sometimes",
            "<Serial> must be one of counter, datecounter, unixtime, keep; found 'sometimes'",
        ),
        (
            edited(
                "<Repository>SoftHSM</Repository>\n\t\t\t</KSK>",
                "<Repository>SoftHSM</Repository><KskRollType>ZskPrePublication</KskRollType></KSK>",
            ),
            "<KskRollType>",
            "<KskRollType> must be one of KskDoubleRRset, KskDoubleDS, KskDoubleSignature, found 'ZskPrePublication'",
        ),
        (
            edited(
                "<Repository>SoftHSM</Repository>\n\t\t\t\t<!-- <ManualRollover/> -->",
                "<Repository>SoftHSM</Repository><RFC5011/>",
            ),
            "<RFC5011/>",
            "unexpected element <RFC5011> in <ZSK>",
        ),
        (
            edited("<Policy name=\"default\">", "<Policy name=\"de fault\">"),
            "<Policy name=\"de fault\">",
            "invalid policy name 'de fault'",
        ),
        (
            edited("<Policy name=\"default\">", "<Policy>"),
            "<Policy>",
            "<Policy> needs the attribute 'name'",
        ),
        (
            edited("<Signatures>", "<Signatures>stray"),
            "<Signatures>stray",
            "unexpected text in <Signatures>",
        ),
        (
            edited("<NSEC/>", "<NSEC><x/></NSEC>"),
            "<NSEC><x/>",
            "<NSEC> must be empty, found <x>",
        ),
        (
            edited("<NSEC/>", ""),
            "<Denial>\n\t\t\t\n\t\t</Denial>",
            "missing <NSEC> or <NSEC3> in <Denial>",
        ),
        (
            edited("<Resign>PT2H</Resign>", "<Resign>PT<b/>2H</Resign>"),
            "<Resign>PT<b/>",
            "<Resign> must contain only text, found <b>",
        ),
        (
            edited("<KASP>", "<Kasp>").replacen("</KASP>", "</Kasp>", 1),
            "<Kasp>",
            "expected root element <KASP>, found <Kasp>",
        ),
        (
            edited(
                "<Minimum>PT10800S</Minimum>\n\t\t\t</SOA>",
                "<Minimum>PT10800S</Minimum>\n\t\t\t</SOA><RegistrationDelay>P1D</RegistrationDelay><RegistrationDelay>P1D</RegistrationDelay>",
            ),
            "</SOA><RegistrationDelay>P1D</RegistrationDelay><Reg",
            "unexpected element <RegistrationDelay> in <Parent>",
        ),
    ];
    for (text, at, msg) in cases {
        let e = err(&text);
        assert!(e.message.contains(msg), "{msg:?} not in {e}");
        assert_eq!(e.line, line_of(&text, at), "{e}");
        assert_eq!(e.file, "k.xml");
        assert!(e.to_string().starts_with(&format!("k.xml:{}:", e.line)));
    }
}

#[test]
fn key_roles_must_be_in_order() {
    let text = edited(
        "<!-- Parameters for KSK only -->",
        "<CSK><Algorithm length=\"256\">13</Algorithm><Lifetime>P1D</Lifetime><Repository>S</Repository></CSK>",
    );
    let e = err(&text);
    assert_eq!(
        e.message,
        "<KSK> after <CSK>: key elements must come in the order KSK, ZSK, CSK"
    );
    assert_eq!(e.line, line_of(&text, "<KSK>"));
}
