//! `zone timeline`: the SVG of a zone that went through a KSK rollover, parsed: one row
//! per key, ordered non-overlapping spans per lane, the past spans the log's states,
//! "now" at its place, the same bytes twice, the log untouched.

use super::{DAY, ZONE, after_ksk_rollover, export, now, record_word, state_word};
use std::collections::BTreeMap;

/// The spans of one lane: (state, start, end) with `end` "open" at the right edge.
type Lane = Vec<(String, i64, String)>;

#[test]
fn the_timeline_picture_matches_the_log_and_marks_now() {
    let sb = after_ksk_rollover();
    let svg_path = sb.path("timeline.svg");
    let before = sb.log_bytes();
    let r = sb.ok(&format!(
        "zone timeline --zone {ZONE} --svg {} --until P30D",
        svg_path.display()
    ));
    assert!(
        r.out.starts_with("Timeline of zone example.com written to"),
        "{r:?}"
    );
    assert!(before == sb.log_bytes(), "zone timeline changed the log");
    let text = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("valid XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let num =
        |n: roxmltree::Node<'_, '_>, a: &str| -> i64 { n.attribute(a).unwrap().parse().unwrap() };
    let (from, to, now_at) = (
        num(root, "data-from"),
        num(root, "data-to"),
        num(root, "data-now"),
    );
    assert_eq!(now_at, now(&sb));
    assert_eq!(to, now_at + 30 * DAY);
    assert!(from < now_at);
    // "now" at its x.
    let marker = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("now"))
        .expect("now marker");
    assert_eq!(num(marker, "data-time"), now_at);
    let x = num(marker, "x1");
    let expected = 200 + (now_at - from) * (1180 - 200) / (to - from);
    assert_eq!(x, expected);
    // One row per key the zone ever had.
    let rows: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("key"))
        .collect();
    let ids: Vec<u64> = rows
        .iter()
        .map(|r| r.attribute("data-key").unwrap().parse().unwrap())
        .collect();
    let mut logged_ids: Vec<u64> = export(&sb)
        .iter()
        .filter(|r| r["kind"] == "ZoneEnforced")
        .flat_map(|r| {
            r["event"]["new_keys"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|k| k["id"].as_u64().unwrap())
        .collect();
    logged_ids.sort();
    // Keys introduced in the simulated future come after the logged ones.
    assert_eq!(&ids[..logged_ids.len()], &logged_ids[..], "{ids:?}");
    // Per lane: spans in order, not overlapping; the past ones are the log's states.
    let mut lanes: BTreeMap<(u64, String), Lane> = BTreeMap::new();
    for (row, id) in rows.iter().zip(&ids) {
        for span in row
            .descendants()
            .filter(|n| n.attribute("class") == Some("span"))
        {
            lanes
                .entry((*id, span.attribute("data-record").unwrap().to_string()))
                .or_default()
                .push((
                    span.attribute("data-state").unwrap().to_string(),
                    num(span, "data-start"),
                    span.attribute("data-end").unwrap().to_string(),
                ));
        }
    }
    assert_eq!(lanes.len(), ids.len() * 4);
    for (lane, spans) in &lanes {
        for w in spans.windows(2) {
            let end: i64 = w[0]
                .2
                .parse()
                .unwrap_or_else(|_| panic!("{lane:?} {spans:?}"));
            assert!(w[0].1 < end && end <= w[1].1, "{lane:?} {spans:?}");
            assert_ne!(w[0].0, w[1].0, "{lane:?} {spans:?}");
        }
        if let Some(last) = spans.last() {
            assert!(last.2 == "open" || last.2.parse::<i64>().unwrap() <= to);
        }
    }
    // The log's transitions, per lane: the states at each moment (the last at a time).
    let mut logged: BTreeMap<(u64, String), Vec<(i64, String)>> = BTreeMap::new();
    let mut created: BTreeMap<u64, i64> = BTreeMap::new();
    for r in export(&sb).iter().filter(|r| r["kind"] == "ZoneEnforced") {
        let at = r["at_epoch"].as_i64().unwrap();
        for k in r["event"]["state_machine"]["created_states"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            created.insert(k.as_u64().unwrap(), at);
        }
        for t in r["event"]["state_machine"]["transitions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let lane = logged
                .entry((
                    t["key"].as_u64().unwrap(),
                    record_word(t["record"].as_str().unwrap()),
                ))
                .or_default();
            if lane.is_empty() {
                let key = t["key"].as_u64().unwrap();
                lane.push((created[&key], state_word(t["from"].as_str().unwrap())));
            }
            let to_state = state_word(t["to"].as_str().unwrap());
            if lane.last().is_some_and(|(t0, _)| *t0 == at) {
                lane.pop();
            }
            if lane.last().map(|(_, s)| s) != Some(&to_state) {
                lane.push((at, to_state));
            }
        }
    }
    assert!(!logged.is_empty());
    for (lane, states) in &logged {
        let past: Vec<&String> = lanes[lane]
            .iter()
            .filter(|(_, start, _)| *start <= now_at)
            .map(|(s, _, _)| s)
            .collect();
        let want: Vec<&String> = states.iter().map(|(_, s)| s).collect();
        assert_eq!(past, want, "{lane:?}");
        // Each logged change starts a span at its time (the first: the key's creation).
        for (at, state) in states.iter().skip(1) {
            assert!(
                lanes[lane]
                    .iter()
                    .any(|(s, start, _)| s == state && start == at),
                "{lane:?} {state} at {at}: {:?}",
                lanes[lane]
            );
        }
    }
    // Deterministic: the same picture again.
    sb.ok(&format!(
        "zone timeline --zone {ZONE} --svg {} --until P30D",
        svg_path.display()
    ));
    assert_eq!(std::fs::read_to_string(&svg_path).unwrap(), text);
}
