//! Tests of zonelist.xml reading and `zonelist export`.

use super::*;
use proptest::prelude::*;

const STOCK: &str = include_str!("../../../../../fixtures/ods/zonelist.xml");

const TWO: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<ZoneList>
  <Zone name=\"example.com\">
    <Policy>default</Policy>
    <SignerConfiguration>/var/lib/opendnssec/signconf/example.com.xml</SignerConfiguration>
    <Adapters>
      <Input>
        <File>/var/lib/opendnssec/unsigned/example.com</File>
      </Input>
      <Output>
        <Adapter type=\"File\">/var/lib/opendnssec/signed/example.com</Adapter>
      </Output>
    </Adapters>
  </Zone>
  <Zone name=\"example.net\">
    <Policy>lab</Policy>
    <SignerConfiguration>/s/example.net.xml</SignerConfiguration>
    <Adapters>
      <Input>
        <Adapter type=\"DNS\">/etc/opendnssec/addns.xml</Adapter>
      </Input>
      <Output>
        <Adapter type=\"DNS\">/etc/opendnssec/addns.xml</Adapter>
      </Output>
    </Adapters>
  </Zone>
</ZoneList>
";

fn line_of(text: &str, needle: &str) -> u32 {
    let at = text.find(needle).unwrap();
    text[..at].matches('\n').count() as u32 + 1
}

fn zone(name: &str, policy: &str, kind: &str) -> ZoneConfig {
    ZoneConfig {
        name: ZoneName::new(name).unwrap(),
        policy: PolicyName::new(policy).unwrap(),
        signconf_path: format!("/var/lib/opendnssec/signconf/{name}.xml"),
        input: Adapter {
            kind: kind.into(),
            uri: format!("/var/lib/opendnssec/unsigned/{name}"),
        },
        output: Adapter {
            kind: kind.into(),
            uri: format!("/var/lib/opendnssec/signed/{name}"),
        },
    }
}

#[test]
fn stock_zonelist_is_empty() {
    assert_eq!(parse_zonelist(STOCK, "zonelist.xml").unwrap(), vec![]);
}

#[test]
fn reads_both_adapter_forms() {
    let z = parse_zonelist(TWO, "z").unwrap();
    assert_eq!(z.len(), 2);
    assert_eq!(z[0], zone("example.com", "default", "File"));
    assert_eq!(z[1].policy.as_str(), "lab");
    assert_eq!(z[1].signconf_path, "/s/example.net.xml");
    assert_eq!(
        z[1].input,
        Adapter {
            kind: "DNS".into(),
            uri: "/etc/opendnssec/addns.xml".into()
        }
    );
}

#[test]
fn export_layout() {
    let z = zone("example.com", "default", "File");
    let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<ZoneList>
  <Zone name=\"example.com\">
    <Policy>default</Policy>
    <SignerConfiguration>/var/lib/opendnssec/signconf/example.com.xml</SignerConfiguration>
    <Adapters>
      <Input>
        <Adapter type=\"File\">/var/lib/opendnssec/unsigned/example.com</Adapter>
      </Input>
      <Output>
        <Adapter type=\"File\">/var/lib/opendnssec/signed/example.com</Adapter>
      </Output>
    </Adapters>
  </Zone>
</ZoneList>
";
    assert_eq!(export_zonelist(&[&z], false), expected);
    let with = export_zonelist(&[&z], true);
    let comment = format!("<ZoneList>\n  <!--{ZONELIST_COMMENT}-->\n  <Zone name=");
    assert!(with.contains(&comment), "{with}");
    assert!(with.contains(
        "<!--\n\n********* Important changes to zonelist.xml in 2.0 ***************\n\nIn 2.0,"
    ));
    assert!(with.contains("(or ods-enforcer update zonelist)\n\n-->\n"));
    assert_eq!(parse_zonelist(&with, "z").unwrap(), vec![z]);
    assert_eq!(
        export_zonelist(&[], false),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ZoneList/>\n"
    );
    assert!(export_zonelist(&[], true).ends_with("-->\n</ZoneList>\n"));
}

#[test]
fn round_trip_of_read_file() {
    let z = parse_zonelist(TWO, "z").unwrap();
    let refs: Vec<&ZoneConfig> = z.iter().collect();
    let out = export_zonelist(&refs, true);
    assert!(!out.contains("<File>"));
    assert_eq!(parse_zonelist(&out, "z").unwrap(), z);
}

#[test]
fn bad_zonelists_are_positioned() {
    let cases: Vec<(String, &str, &str)> = vec![
        (TWO.replacen("</Policy>", "</Polic>", 1), "</Polic>", "malformed XML"),
        (
            TWO.replacen("example.net\"", "bad name.net\"", 1),
            "<Zone name=\"bad name",
            "invalid zone name 'bad name.net'",
        ),
        (
            TWO.replacen("example.net\"", "Example.COM.\"", 1),
            "<Zone name=\"Example.COM.",
            "zone 'Example.COM.' is listed twice (first on line 3)",
        ),
        (
            TWO.replacen("<Policy>lab</Policy>", "<Policy>l a b</Policy>", 1),
            "<Policy>l a b",
            "invalid policy name 'l a b'",
        ),
        (
            TWO.replacen("    <Policy>default</Policy>\n", "", 1),
            "<SignerConfiguration>/var",
            "expected <Policy> in <Zone>, found <SignerConfiguration>",
        ),
        (
            TWO.replacen("<Adapter type=\"DNS\">", "<Adapter>", 1),
            "<Adapter>",
            "<Adapter> needs the attribute 'type'",
        ),
        (
            TWO.replacen("<File>", "<Files>", 1).replacen("</File>", "</Files>", 1),
            "<Files>",
            "expected <File> or <Adapter> in <Input>, found <Files>",
        ),
        (
            TWO.replacen("</Adapters>", "</Adapters><Extra/>", 1),
            "<Extra/>",
            "unexpected element <Extra> in <Zone>",
        ),
        (
            TWO.replacen(
                "      <Output>\n        <Adapter type=\"File\">/var/lib/opendnssec/signed/example.com</Adapter>\n      </Output>\n",
                "",
                1,
            ),
            "<Adapters>",
            "missing <Output> in <Adapters>",
        ),
        (
            TWO.replacen("<ZoneList>", "<ZoneList version=\"1\">", 1),
            "<ZoneList version",
            "unexpected attribute 'version' on <ZoneList>",
        ),
    ];
    for (text, at, msg) in cases {
        let e = parse_zonelist(&text, "zonelist.xml").unwrap_err();
        assert!(e.message.contains(msg), "{msg:?} not in {e}");
        assert_eq!(e.line, line_of(&text, at), "{e}");
    }
}

proptest! {
    #[test]
    fn export_then_parse_is_identity(
        names in proptest::collection::btree_set("[a-z0-9]{1,10}(\\.[a-z]{2,5}){0,2}", 0..5),
        kind in "[A-Za-z]{1,6}",
        path in "[ -~\u{e9}]{0,30}",
    ) {
        let zones: Vec<ZoneConfig> = names
            .iter()
            .map(|n| {
                let mut z = zone(n, "p", &kind);
                z.input.uri = path.clone();
                z
            })
            .collect();
        let refs: Vec<&ZoneConfig> = zones.iter().collect();
        for with in [false, true] {
            prop_assert_eq!(parse_zonelist(&export_zonelist(&refs, with), "z").unwrap(), zones.clone());
        }
    }
}
