//! `log export --jsonl|--csv [--since T] [--zone Z]`: every JSON line matches the
//! documented schema (docs/log-export.schema.json), CSV is RFC 4180 and survives
//! commas, quotes and line breaks, and both formats filter alike.

use crate::common::{Sandbox, refused};

/// A word of a command line (so of its records' cause) with everything CSV must quote;
/// no space, which an argument may not hold (tests/hostile/arguments.rs).
const NASTY: &str = "note,with\"quotes\"\nand-a-line-break";
/// The cause of the records of `policy resalt NASTY`.
const NASTY_CAUSE: &str = "policy resalt note,with\"quotes\"\nand-a-line-break";

fn schema() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/log-export.schema.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("the schema file")).unwrap()
}

/// Whether `v` has JSON type `t` (JSON Schema's names).
fn has_type(v: &serde_json::Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("unknown type {other} in the schema"),
    }
}

/// Checks one line against the schema's required keys, property types and consts.
fn check_line(schema: &serde_json::Value, line: &serde_json::Value) {
    let obj = line.as_object().expect("each line is an object");
    for key in schema["required"].as_array().unwrap() {
        let key = key.as_str().unwrap();
        assert!(obj.contains_key(key), "{key} missing in {line}");
    }
    for (key, prop) in schema["properties"].as_object().unwrap() {
        let Some(v) = obj.get(key) else { continue };
        let types: Vec<&str> = match &prop["type"] {
            serde_json::Value::String(t) => vec![t.as_str()],
            serde_json::Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
            other => panic!("bad type {other} for {key}"),
        };
        assert!(
            types.iter().any(|t| has_type(v, t)),
            "{key} = {v} is not {types:?}"
        );
        if let Some(c) = prop.get("const") {
            assert_eq!(v, c, "{key}");
        }
    }
    // Every field of the export is documented.
    for key in obj.keys() {
        assert!(
            schema["properties"].get(key).is_some(),
            "{key} is not in the schema"
        );
    }
}

/// An RFC 4180 parser: rows of fields; quoted fields may hold commas, doubled quotes and
/// line breaks; rows end with CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("a bare LF ends a row"),
            c => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quote");
    assert!(
        field.is_empty() && row.is_empty(),
        "the last row has no CRLF"
    );
    rows
}

fn jsonl(sb: &Sandbox, args: &str) -> Vec<serde_json::Value> {
    sb.ok(&format!("log export --jsonl{args}"))
        .out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A log with records on two days, one of them caused by [`NASTY`].
fn populated() -> Sandbox {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    sb.ok("zone add --zone example.com");
    let r = sb.run(&["policy", "resalt", NASTY]);
    assert_eq!(r.code, 0, "{r:?}");
    sb.ok("time leap --time 2025-01-02-00:00:00");
    sb.ok("zone add --zone example.org --policy lab");
    sb
}

#[test]
fn jsonl_lines_follow_the_schema() {
    let sb = populated();
    let schema = schema();
    assert_eq!(schema["version"], 1);
    let lines = jsonl(&sb, "");
    assert!(lines.len() > 8, "{lines:?}");
    for line in &lines {
        check_line(&schema, line);
        assert_eq!(line["schema_version"], schema["version"]);
    }
    assert_eq!(lines[0]["kind"], "LogCreated");
    assert_eq!(lines[0]["zone"], serde_json::Value::Null);
    assert!(lines.iter().any(|l| l["cause"] == NASTY_CAUSE));
    for pair in lines.windows(2) {
        assert_eq!(pair[1]["prev"], pair[0]["hash"]);
    }
    // --since and --zone.
    let since = jsonl(&sb, " --since 2025-01-02T00:00:00Z");
    assert!(!since.is_empty());
    assert!(
        since
            .iter()
            .all(|l| l["at"].as_str().unwrap() >= "2025-01-02")
    );
    let all_since: Vec<_> = lines
        .iter()
        .filter(|l| l["at_epoch"].as_i64().unwrap() >= 1_735_776_000)
        .collect();
    assert_eq!(since.len(), all_since.len());
    let zone = jsonl(&sb, " --zone EXAMPLE.org");
    assert!(!zone.is_empty());
    assert!(zone.iter().all(|l| l["zone"] == "example.org"), "{zone:?}");
    let both = jsonl(&sb, " --zone example.com --since 2025-01-02T00:00:00Z");
    let expected: Vec<_> = all_since
        .into_iter()
        .filter(|l| l["zone"] == "example.com")
        .cloned()
        .collect();
    assert!(!both.is_empty());
    assert_eq!(both, expected);
}

#[test]
fn csv_is_rfc_4180_and_matches_the_jsonl() {
    let sb = populated();
    let r = sb.ok("log export --csv");
    let rows = parse_csv(&r.out);
    assert_eq!(
        rows[0],
        [
            "seq", "at", "actor", "cause", "kind", "zone", "summary", "hash"
        ]
    );
    let lines = jsonl(&sb, "");
    assert_eq!(rows.len() - 1, lines.len());
    for (row, line) in rows[1..].iter().zip(&lines) {
        assert_eq!(row.len(), 8, "{row:?}");
        assert_eq!(row[0], line["seq"].to_string());
        assert_eq!(row[1], line["at"].as_str().unwrap());
        assert_eq!(row[2], line["actor"].as_str().unwrap());
        assert_eq!(row[3], line["cause"].as_str().unwrap());
        assert_eq!(row[4], line["kind"].as_str().unwrap());
        assert_eq!(row[5], line["zone"].as_str().unwrap_or(""));
        assert_eq!(row[6], line["summary"].as_str().unwrap());
        assert_eq!(row[7], line["hash"].as_str().unwrap());
    }
    assert!(rows.iter().any(|r| r[3] == NASTY_CAUSE));
    let zone = parse_csv(&sb.ok("log export --csv --zone example.org").out);
    assert!(zone.len() > 1);
    assert!(zone[1..].iter().all(|r| r[5] == "example.org"), "{zone:?}");
    let since = parse_csv(&sb.ok("log export --csv --since 2025-01-02T00:00:00Z").out);
    assert_eq!(
        since.len() - 1,
        jsonl(&sb, " --since 2025-01-02T00:00:00Z").len()
    );
}

#[test]
fn bad_export_options_are_refused() {
    let sb = populated();
    refused(&sb, "log export", 255, "expected option --jsonl or --csv");
    refused(&sb, "log export --jsonl --csv", 2, "not both");
    refused(&sb, "log export --csv --since yesterday", 2, "yesterday");
    refused(
        &sb,
        "log export --jsonl --zone bad/zone",
        2,
        "invalid zone name",
    );
    refused(&sb, "log export --xml", 255, "unknown arguments");
}
