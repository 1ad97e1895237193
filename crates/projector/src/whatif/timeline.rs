//! The zone timeline picture (`zone timeline --svg`): each key of a zone as a row of
//! four lanes (DS, DNSKEY, RRSIG DNSKEY, RRSIG), each lane a run of coloured spans, one
//! per record state, over a time axis; "now" marked.
//!
//! [`Spans`] gathers the spans from a sequence of zone views (the past folded from the
//! log, the future from a simulation's events); [`render_svg`] draws them. Pure and
//! deterministic: integer arithmetic for every coordinate, keys in id order.

use crate::enforcer::model::ZoneModel;
use crate::state::State;
use kasp_events::{Event, KeyId, KeyRole, RecordState, RecordType, Timestamp, ZoneName};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One record state held from `start` to `end` (`None`: still held at the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub state: RecordState,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
}

/// One key: its name and the spans of its four records (in [`RecordType::ALL`] order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLanes {
    pub id: KeyId,
    pub role: KeyRole,
    pub key_tag: u16,
    pub lanes: [Vec<Span>; 4],
}

/// Spans of every key a zone had, gathered view by view.
#[derive(Debug, Clone, Default)]
pub struct Spans {
    keys: BTreeMap<KeyId, KeyLanes>,
    /// When the zone was first seen.
    pub first: Option<Timestamp>,
}

impl Spans {
    /// Looks at the zone's keys as they are at `at` (`None`: the zone does not exist).
    pub fn observe(&mut self, at: Timestamp, zone: Option<&ZoneModel>) {
        let Some(model) = zone else {
            self.close_all(at, |_| true);
            return;
        };
        self.first.get_or_insert(at);
        for k in model.keys.iter().filter(|k| k.states_created) {
            let row = self.keys.entry(k.id).or_insert_with(|| KeyLanes {
                id: k.id,
                role: k.role,
                key_tag: k.key_tag,
                lanes: Default::default(),
            });
            for t in RecordType::ALL {
                let state = k.state(t);
                let lane = &mut row.lanes[t.index()];
                match lane.last_mut() {
                    Some(s) if s.end.is_none() && s.state == state => {}
                    last => {
                        if let Some(s) = last.filter(|s| s.end.is_none()) {
                            s.end = Some(at);
                        }
                        // A state held for no time at all (several changes at one
                        // moment) is not drawn; the states around it join up again.
                        if lane.last().is_some_and(|s| s.start == at) {
                            lane.pop();
                        }
                        match lane.last_mut() {
                            Some(prev) if prev.state == state && prev.end == Some(at) => {
                                prev.end = None;
                            }
                            _ => lane.push(Span {
                                state,
                                start: at,
                                end: None,
                            }),
                        }
                    }
                }
            }
        }
        self.close_all(at, |id| !model.keys.iter().any(|k| k.id == id));
    }

    fn close_all(&mut self, at: Timestamp, gone: impl Fn(KeyId) -> bool) {
        for row in self.keys.values_mut().filter(|r| gone(r.id)) {
            for lane in row.lanes.iter_mut() {
                if let Some(s) = lane.last_mut().filter(|s| s.end.is_none()) {
                    s.end = Some(at);
                }
            }
        }
    }

    /// Follows `events` (each at its time) folded onto `state`, observing `zone`.
    pub fn follow(&mut self, state: &mut State, zone: &ZoneName, events: &[(Timestamp, Event)]) {
        for (at, e) in events {
            state.apply_event(e, *at);
            self.observe(*at, state.zone(zone).map(|z| &z.model));
        }
    }

    /// The keys in id order.
    pub fn keys(&self) -> Vec<&KeyLanes> {
        self.keys.values().collect()
    }
}

/// The fill colour of a record state.
pub fn colour(state: RecordState) -> &'static str {
    match state {
        RecordState::Hidden => "#d0d0d0",
        RecordState::Rumoured => "#f4a261",
        RecordState::Omnipresent => "#2a9d8f",
        RecordState::Unretentive => "#e76f51",
        RecordState::Na => "#f4f4f4",
    }
}

const WIDTH: i64 = 1200;
const LEFT: i64 = 200;
const RIGHT: i64 = 1180;
const TOP: i64 = 60;
const LANE: i64 = 9;
const LANE_GAP: i64 = 2;
const ROW_GAP: i64 = 14;
const ROW: i64 = 4 * (LANE + LANE_GAP) + ROW_GAP;

/// What to draw.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub zone: &'a ZoneName,
    /// The axis: `from` (left edge) to `to` (right edge).
    pub from: Timestamp,
    pub to: Timestamp,
    pub now: Timestamp,
}

impl Frame<'_> {
    /// The x of a time, clamped to the axis.
    pub fn x(&self, t: Timestamp) -> i64 {
        let span = (self.to.0 - self.from.0).max(1);
        let t = t.0.clamp(self.from.0, self.to.0);
        let off = i128::from(t - self.from.0) * i128::from(RIGHT - LEFT) / i128::from(span);
        LEFT + off as i64
    }
}

/// Draws the keys as SVG.
pub fn render_svg(frame: &Frame<'_>, keys: &[&KeyLanes]) -> String {
    let height = TOP + ROW * keys.len().max(1) as i64 + 70;
    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11" data-zone="{}" data-from="{}" data-to="{}" data-now="{}">"#,
        esc(frame.zone.as_str()),
        frame.from.0,
        frame.to.0,
        frame.now.0
    );
    let _ = writeln!(
        s,
        r#"<title>Key timeline of zone {} from {} to {}</title>"#,
        esc(frame.zone.as_str()),
        frame.from,
        frame.to
    );
    let _ = writeln!(
        s,
        r#"<text x="10" y="20" font-size="14">Zone {}: key record states, {} to {} (past from the log, future simulated)</text>"#,
        esc(frame.zone.as_str()),
        frame.from,
        frame.to
    );
    let bottom = TOP + ROW * keys.len().max(1) as i64;
    axis(&mut s, frame, bottom);
    let nx = frame.x(frame.now);
    let _ = writeln!(
        s,
        r##"<rect class="future" x="{nx}" y="{}" width="{}" height="{}" fill="#000000" fill-opacity="0.04"/>"##,
        TOP - 8,
        RIGHT - nx,
        bottom - TOP + 8
    );
    for (i, k) in keys.iter().enumerate() {
        row(&mut s, frame, k, TOP + ROW * i as i64);
    }
    let _ = writeln!(
        s,
        r##"<line id="now" class="now" data-time="{}" x1="{nx}" y1="{}" x2="{nx}" y2="{bottom}" stroke="#c00000" stroke-width="2"/>"##,
        frame.now.0,
        TOP - 12
    );
    let _ = writeln!(
        s,
        r##"<text x="{nx}" y="{}" fill="#c00000" text-anchor="middle">now {}</text>"##,
        TOP - 16,
        frame.now
    );
    legend(&mut s, bottom + 40);
    s.push_str("</svg>\n");
    s
}

fn row(s: &mut String, frame: &Frame<'_>, k: &KeyLanes, y: i64) {
    let _ = writeln!(
        s,
        r#"<g class="key" data-key="{}" data-role="{}" data-keytag="{}">"#,
        k.id.0,
        k.role.as_str(),
        k.key_tag
    );
    let _ = writeln!(
        s,
        r#"<text x="10" y="{}">{} {} {}</text>"#,
        y + 2 * (LANE + LANE_GAP) + 4,
        k.id,
        k.role.as_str(),
        k.key_tag
    );
    for t in RecordType::ALL {
        let ly = y + t.index() as i64 * (LANE + LANE_GAP);
        let _ = writeln!(
            s,
            r#"<text x="120" y="{}" font-size="8">{}</text>"#,
            ly + LANE - 1,
            t.as_str()
        );
        for span in &k.lanes[t.index()] {
            let end = span.end.unwrap_or(frame.to);
            let (x0, x1) = (frame.x(span.start), frame.x(end));
            let _ = write!(
                s,
                r#"<rect class="span" data-record="{}" data-state="{}" data-start="{}" data-end="{}" x="{x0}" y="{ly}" width="{}" height="{LANE}" fill="{}">"#,
                t.as_str(),
                span.state.as_str(),
                span.start.0,
                span.end.map_or("open".to_string(), |e| e.0.to_string()),
                (x1 - x0).max(0),
                colour(span.state)
            );
            let until = span.end.map_or("the end".to_string(), |e| e.to_string());
            let _ = writeln!(
                s,
                "<title>{} {} {}: {} from {} until {until}</title></rect>",
                k.id,
                k.role.as_str(),
                t.as_str(),
                span.state.as_str(),
                span.start
            );
        }
    }
    s.push_str("</g>\n");
}

/// Day ticks: a step of 1, 2, 7, 14, 30, 60, 90, 180 or 365 days giving at most 12.
fn axis(s: &mut String, frame: &Frame<'_>, bottom: i64) {
    let days = (frame.to.0 - frame.from.0).max(1) / 86_400 + 1;
    let step = [1, 2, 7, 14, 30, 60, 90, 180, 365]
        .into_iter()
        .find(|d| days / d <= 12)
        .unwrap_or(730);
    let _ = writeln!(
        s,
        r##"<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{RIGHT}" y2="{bottom}" stroke="#333333"/>"##
    );
    let first_day = frame.from.0.div_euclid(86_400) + 1;
    let mut day = first_day;
    while day * 86_400 <= frame.to.0 {
        let t = Timestamp(day * 86_400);
        let x = frame.x(t);
        let c = t.civil();
        let _ = writeln!(
            s,
            r##"<line class="tick" data-time="{}" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#bbbbbb" stroke-dasharray="2,3"/>"##,
            t.0,
            TOP - 8,
            bottom + 4
        );
        let _ = writeln!(
            s,
            r#"<text x="{x}" y="{}" text-anchor="middle" font-size="9">{:04}-{:02}-{:02}</text>"#,
            bottom + 16,
            c.year,
            c.month,
            c.day
        );
        day += step;
    }
}

fn legend(s: &mut String, y: i64) {
    let _ = writeln!(s, r#"<g class="legend">"#);
    let states = [
        RecordState::Hidden,
        RecordState::Rumoured,
        RecordState::Omnipresent,
        RecordState::Unretentive,
        RecordState::Na,
    ];
    for (i, st) in states.into_iter().enumerate() {
        let x = LEFT + 130 * i as i64;
        let _ = writeln!(
            s,
            r##"<rect x="{x}" y="{}" width="14" height="10" fill="{}" stroke="#999999"/><text x="{}" y="{y}">{}</text>"##,
            y - 9,
            colour(st),
            x + 18,
            st.as_str()
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="{}">Lanes per key, top to bottom: DS, DNSKEY, RRSIGDNSKEY, RRSIG. Shaded: simulated.</text>"##,
        y + 18
    );
    s.push_str("</g>\n");
}

/// Escapes text for XML content and attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
