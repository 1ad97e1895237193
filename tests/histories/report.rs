//! A difference between a recorded decision and the one the current code makes, and
//! how it reads in a failing test: the seq, the record's time, actor and cause, the
//! recorded decision and the new one in the log's one-line form, and for two events
//! the first lines where their full (`{:#?}`) forms differ, since the one-line form
//! does not show every field.

use kasp_events::{Event, Record};
use std::fmt;

/// Lines of the full form shown before the first differing line.
const CONTEXT: usize = 4;

/// One difference, at one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub seq: u64,
    /// `<time> <actor> "<cause>"` of the record.
    pub origin: String,
    pub what: String,
    pub recorded: String,
    pub derived: String,
    /// For two events: the first differing lines of their full forms.
    pub detail: Option<String>,
}

impl Difference {
    pub fn new(r: &Record, what: &str, recorded: String, derived: String) -> Difference {
        Difference {
            seq: r.seq.0,
            origin: format!("{} {} {:?}", r.at, r.actor, r.cause),
            what: what.to_string(),
            recorded,
            derived,
            detail: None,
        }
    }

    /// The recorded event `recorded` at `r` differs from the re-derived `derived`.
    pub fn events(r: &Record, recorded: &Event, derived: &Event) -> Difference {
        let mut d = Difference::new(
            r,
            "the re-derived decision differs",
            recorded.to_string(),
            derived.to_string(),
        );
        d.detail = Some(first_difference(
            &format!("{recorded:#?}"),
            &format!("{derived:#?}"),
        ));
        d
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seq {} ({}): {}", self.seq, self.origin, self.what)?;
        writeln!(f, "  recorded: {}", self.recorded)?;
        write!(f, "  new:      {}", self.derived)?;
        if let Some(d) = &self.detail {
            write!(f, "\n{d}")?;
        }
        Ok(())
    }
}

/// The first place two multi-line texts differ: some common lines before it, then the
/// recorded line(s) with `-` and the new one(s) with `+`, up to where they agree again.
pub fn first_difference(recorded: &str, derived: &str) -> String {
    let a: Vec<&str> = recorded.lines().collect();
    let b: Vec<&str> = derived.lines().collect();
    let i = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if i == a.len() && i == b.len() {
        return "  (the full forms are equal)".to_string();
    }
    // Where the two agree again: the shortest pair of tails that are equal.
    let (ra, rb) = (&a[i..], &b[i..]);
    let common_tail = ra
        .iter()
        .rev()
        .zip(rb.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (da, db) = (&ra[..ra.len() - common_tail], &rb[..rb.len() - common_tail]);
    let mut out = format!("  full form from line {}:\n", i + 1);
    for l in &a[i.saturating_sub(CONTEXT)..i] {
        out.push_str(&format!("      {l}\n"));
    }
    for l in da.iter().take(12) {
        out.push_str(&format!("    - {l}\n"));
    }
    for l in db.iter().take(12) {
        out.push_str(&format!("    + {l}\n"));
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::first_difference;

    #[test]
    fn the_first_difference_is_shown_with_context() {
        let d = first_difference("a\nb\nc\nd\n", "a\nb\nX\nd\n");
        assert_eq!(
            d,
            "  full form from line 3:\n      a\n      b\n    - c\n    + X"
        );
        assert_eq!(first_difference("a", "a"), "  (the full forms are equal)");
    }
}
