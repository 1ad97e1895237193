//! Zones in the sandbox: the options a scenario's `zone add` gets (`--signerconf`,
//! `--input`, `--output` under the sandbox unless given), the small unsigned zone file
//! written for every zone (normalize.py's `mkzone`), and the zone names of a zonelist.

use crate::sandbox::Sandbox;
use anyhow::{Context as _, Result};
use std::fs;

/// `zone add`: appends `--signerconf/--input/--output` in the sandbox `root` unless
/// the line has them, and names the zone (for its unsigned file). Other lines: `None`.
pub fn complete_zone_add(command: &str, root: &str) -> Option<(String, String)> {
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.get(..2) != Some(&["zone", "add"][..]) {
        return None;
    }
    let zone = option_value(&words, "--zone", "-z")?;
    let mut line = command.trim_end().to_string();
    for (long, short, value) in [
        ("--signerconf", "-s", format!("{root}/signconf/{zone}.xml")),
        ("--input", "-i", format!("{root}/unsigned/{zone}")),
        ("--output", "-o", format!("{root}/signed/{zone}")),
    ] {
        if option_value(&words, long, short).is_none() {
            line.push_str(&format!(" {long} {value}"));
        }
    }
    Some((line, zone.to_string()))
}

/// The value of `--long V`, `--long=V`, `-s V` or `-sV` in `words`.
fn option_value<'w>(words: &[&'w str], long: &str, short: &str) -> Option<&'w str> {
    words.iter().enumerate().find_map(|(i, w)| {
        if *w == long || *w == short {
            words.get(i + 1).copied()
        } else if let Some(v) = w.strip_prefix(long).and_then(|r| r.strip_prefix('=')) {
            Some(v)
        } else if !w.starts_with("--") && w.len() > short.len() {
            w.strip_prefix(short)
        } else {
            None
        }
    })
}

/// The `name` attributes of the `<Zone>` elements of a zonelist (a lenient scan: the
/// file may be invalid on purpose).
pub fn zone_names(xml: &str) -> Vec<String> {
    xml.split("<Zone")
        .skip(1)
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
            let at = tag.find("name=")? + 5;
            let quote = tag[at..]
                .chars()
                .next()
                .filter(|c| *c == '"' || *c == '\'')?;
            let value = &tag[at + 1..];
            Some(value[..value.find(quote)?].to_string())
        })
        .collect()
}

/// normalize.py's `mkzone`: a small unsigned zone.
const ZONE_TEMPLATE: &str = "$ORIGIN {z}.
$TTL 3600
@\tIN\tSOA\tns1.{z}. hostmaster.{z}. 1 7200 3600 1209600 3600
@\tIN\tNS\tns1.{z}.
@\tIN\tNS\tns2.{z}.
ns1\tIN\tA\t192.0.2.1
ns2\tIN\tA\t192.0.2.2
www\tIN\tA\t192.0.2.10
www\tIN\tAAAA\t2001:db8::10
mail\tIN\tA\t192.0.2.20
@\tIN\tMX\t10 mail.{z}.
@\tIN\tTXT\t\"ods-oracle test zone\"
";

/// Writes `<sandbox>/unsigned/<zone>`; names that are no plain file name are skipped.
pub fn write_unsigned_zone(sb: &Sandbox, zone: &str) -> Result<()> {
    let name = zone.trim_end_matches('.');
    if name.is_empty() || name.starts_with('.') || name.contains('/') {
        return Ok(());
    }
    let path = sb.path("unsigned").join(name);
    fs::write(&path, ZONE_TEMPLATE.replace("{z}", name))
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let w: Vec<&str> = "zone add --zone example.com -s /x --input=/in -o/out"
            .split_whitespace()
            .collect();
        assert_eq!(option_value(&w, "--zone", "-z"), Some("example.com"));
        assert_eq!(option_value(&w, "--signerconf", "-s"), Some("/x"));
        assert_eq!(option_value(&w, "--input", "-i"), Some("/in"));
        assert_eq!(option_value(&w, "--output", "-o"), Some("/out"));
        assert_eq!(option_value(&w, "--policy", "-p"), None);
        let bare = ["zone", "add", "--zone"];
        assert_eq!(option_value(&bare, "--zone", "-z"), None);
    }

    #[test]
    fn zonelist_names() {
        let xml = "<ZoneList>\n<!-- <Zone name=\"c\"> -->\n<Zone name=\"a.example\">\
                   <Policy>p</Policy></Zone>\n<Zone  name='b.example'/><ZoneX name=\"no\"/></ZoneList>";
        // The lenient scan also sees zones in comments: a spare unsigned file is harmless.
        assert_eq!(zone_names(xml), ["c", "a.example", "b.example"]);
    }
    #[test]
    fn zone_add_gets_the_sandbox_paths() {
        let (line, zone) =
            complete_zone_add("zone add --zone example.com --policy default ", "/sb").unwrap();
        assert_eq!(zone, "example.com");
        assert_eq!(
            line,
            "zone add --zone example.com --policy default \
             --signerconf /sb/signconf/example.com.xml --input /sb/unsigned/example.com \
             --output /sb/signed/example.com"
        );
        let (line, _) = complete_zone_add("zone add -z a.example --input /in", "/sb").unwrap();
        assert_eq!(
            line,
            "zone add -z a.example --input /in --signerconf /sb/signconf/a.example.xml \
             --output /sb/signed/a.example"
        );
        assert_eq!(complete_zone_add("zone add", "/sb"), None);
        assert_eq!(complete_zone_add("zone list", "/sb"), None);
    }
}
