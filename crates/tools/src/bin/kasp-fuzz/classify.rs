//! Comparison of two traces (fixtures/conformance/normalize.py's trace.txt) in the
//! categories scripts/differential compares, and the class of their first difference:
//! the category, a coarse signature of what differs, and the command of the step
//! (`TASK order @leap`, `NOTIFY extra @policy import`), so that a large run can count
//! its divergences by class and a minimized scenario can keep the same one.

/// Compared line kinds, in the order normalize.py writes them within one step.
const CATEGORIES: [&str; 11] = [
    "STEP",
    "OUT",
    "NOTIFY",
    "DSCALL",
    "KEY",
    "ROLL",
    "TASK",
    "SIGNCONF",
    "ZONELIST",
    "SIGNCONF_OTHER",
    "",
];

/// The compared lines of a trace (as scripts/differential's `compared`), with the
/// differences README.md documents under "Differences from OpenDNSSEC" made equal (the
/// database `zone list` names: `Database set to:`, the event log here) and without the
/// output of `restart-at` steps, which the two runners do differently (the oracle
/// restarts 2.1.12's daemon, kasp-scenario runs `ods-enforcerd -1 --set-time`; their
/// output differs; see fixtures/conformance/oracle/ods-enforcer-oracle).
pub fn compared(trace: &str) -> Vec<String> {
    let mut restart = false;
    let mut out = Vec::new();
    for l in trace.lines() {
        let cat = category(l);
        if cat == "STEP" {
            restart = verb(l) == "restart-at";
        }
        if cat.is_empty() || (restart && cat == "OUT") {
            continue;
        }
        out.push(match l.split_once(" Database set to: ") {
            Some((head, _)) if cat == "OUT" => format!("{head} Database set to: <database>"),
            _ => l.to_string(),
        });
    }
    out
}

/// `STEP`, `OUT`, …, or "" for a line that is not compared.
fn category(line: &str) -> &'static str {
    if line.starts_with("STEP ") {
        return "STEP";
    }
    let Some(rest) = line.strip_prefix("  ") else {
        return "";
    };
    let word = rest.split(' ').next().unwrap_or("");
    CATEGORIES[1..10]
        .iter()
        .copied()
        .find(|c| *c == word)
        .unwrap_or("")
}

/// Where a category comes within a step; KEY and ROLL lines interleave, so they share one.
fn rank(cat: &str) -> usize {
    match cat {
        "STEP" => 0,
        "ROLL" => 4,
        c => CATEGORIES.iter().position(|x| *x == c).unwrap_or(10),
    }
}

/// The first difference of two traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// e.g. `TASK order @leap`.
    pub class: String,
    /// The OpenDNSSEC line and the kasp-ledger line there (`None`: the trace ended).
    pub ods: Option<String>,
    pub ours: Option<String>,
    /// The step line both traces agree on before the difference.
    pub step: String,
}

/// The compared lines with each step's queue, signer calls and DS calls sorted (tasks by
/// time, then task and owner): what is left once the order in which zones due at the
/// same second run is set aside.
fn run_order_masked(mut lines: Vec<String>) -> Vec<String> {
    let mut i = 0;
    while i < lines.len() {
        let kind = order_kind(&lines[i]);
        if kind.is_empty() {
            i += 1;
            continue;
        }
        let end = i + lines[i..]
            .iter()
            .take_while(|l| order_kind(l) == kind)
            .count();
        // A stable sort by time and zone: what one zone's run did keeps its own order
        // (a DS retract before a submit is still compared).
        lines[i..end].sort_by_key(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            // TASK T+<s> <task> <owner>; OUT nnn On T+<s> I will <task> … <zone>;
            // NOTIFY ods-signer update <zone>; DSCALL submit|retract <zone> …
            let (at, zone) = match kind {
                "TASK" => (w.get(1), w.last()),
                "OUT" => (w.get(3), w.last()),
                "KEYROW" => (None, w.get(2)),
                "NOTIFY" => (None, w.last()),
                _ => (None, w.get(2)),
            };
            let t: i64 = at
                .and_then(|t| t.strip_prefix("T+"))
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            (t, zone.map(|z| z.to_string()).unwrap_or_default())
        });
        i = end;
    }
    lines
}

/// The lines whose order is the order zones run in: the queue (TASK, and `queue`'s
/// `On T+… I will …` output lines), signer calls, DS calls, and the rows of `key list`
/// (in the order keys were made, so zones that ran in another order list theirs in
/// another order); "" for any other line.
fn order_kind(line: &str) -> &'static str {
    let w: Vec<&str> = line.split_whitespace().take(4).collect();
    match category(line) {
        "OUT" if matches!(w.get(3), Some(&("KSK" | "ZSK" | "CSK"))) => "KEYROW",
        c @ ("TASK" | "NOTIFY" | "DSCALL") => c,
        "OUT" if line.split_whitespace().nth(2) == Some("On") && line.contains(" I will ") => "OUT",
        _ => "",
    }
}

/// `None` when the compared lines are equal.
pub fn first_difference(ods_trace: &str, ours_trace: &str) -> Option<Difference> {
    difference_of(compared(ods_trace), compared(ours_trace))
}

/// As `first_difference`, with the order of zones run at the same second set aside (a
/// large run reports what else differs while that known difference is open).
pub fn first_difference_beyond_run_order(ods_trace: &str, ours_trace: &str) -> Option<Difference> {
    difference_of(
        run_order_masked(compared(ods_trace)),
        run_order_masked(compared(ours_trace)),
    )
}

fn difference_of(a: Vec<String>, b: Vec<String>) -> Option<Difference> {
    let i = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))?;
    let step = a[..i]
        .iter()
        .rev()
        .find(|l| l.starts_with("STEP "))
        .cloned()
        .unwrap_or_default();
    let (x, y) = (a.get(i), b.get(i));
    let verb = match (x, y) {
        // The step line itself differs: its own command names the class.
        (Some(l), _) if l.starts_with("STEP ") && y.is_some_and(|m| m.starts_with("STEP ")) => {
            verb(l)
        }
        _ => verb(&step),
    };
    let signature = signature(&a, &b, i);
    Some(Difference {
        class: format!("{signature} @{verb}"),
        ods: x.cloned(),
        ours: y.cloned(),
        step,
    })
}

/// The command of a STEP line, coarse: `leap` for every kind of leap, the first two
/// words of an `ods-enforcer` command, plus `--all` when it has it.
pub fn verb(step: &str) -> String {
    let cmd = step.split_once(" cmd=").map_or("", |(_, c)| c);
    let cmd = cmd.split('#').next().unwrap_or("").trim();
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let Some(first) = words.first() else {
        return "?".to_string();
    };
    match *first {
        "leap" | "leap-until" | "leap-until-time" => "leap".to_string(),
        "restart-at" | "kasp" | "zonelist-file" | "snapshot" | "queue" | "enforce" => {
            first.to_string()
        }
        _ => {
            let mut v = words.iter().take(2).copied().collect::<Vec<_>>().join(" ");
            if words.contains(&"--all") {
                v.push_str(" --all");
            }
            v
        }
    }
}

/// The `key=value` fields of a line, in order.
fn fields(line: &str) -> Vec<(&str, &str)> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .collect()
}

/// The words of a line before its first `key=value`, without the category.
fn head(line: &str) -> Vec<&str> {
    line.split_whitespace()
        .skip(1)
        .take_while(|w| !w.contains('='))
        .collect()
}

/// The first field both lines have with different values (or `value` when none).
fn differing_field(x: &str, y: &str) -> String {
    let (fx, fy) = (fields(x), fields(y));
    for (k, v) in &fx {
        match fy.iter().find(|(k2, _)| k2 == k) {
            Some((_, v2)) if v2 == v => {}
            _ => return (*k).to_string(),
        }
    }
    "value".to_string()
}

/// The lines of category `cat` in the step block around index `i`.
fn block<'a>(lines: &'a [String], i: usize, cat: &str) -> Vec<&'a str> {
    let start = lines[..i.min(lines.len())]
        .iter()
        .rposition(|l| l.starts_with("STEP "))
        .unwrap_or(0);
    lines[start..]
        .iter()
        .skip(1)
        .take_while(|l| !l.starts_with("STEP "))
        .filter(|l| category(l) == cat)
        .map(String::as_str)
        .collect()
}

fn signature(a: &[String], b: &[String], i: usize) -> String {
    let (x, y) = (a.get(i), b.get(i));
    let (cx, cy) = (x.map_or("", |l| category(l)), y.map_or("", |l| category(l)));
    let (Some(x), Some(y)) = (x, y) else {
        return if x.is_some() {
            format!("{cx} missing")
        } else {
            format!("{cy} extra")
        };
    };
    if cx != cy && !(rank(cx) == rank(cy) && rank(cx) == 4) {
        // A line only one side has: the one that comes earlier in a step's order.
        let (rx, ry) = (
            if cx == "STEP" { 99 } else { rank(cx) },
            if cy == "STEP" { 99 } else { rank(cy) },
        );
        return if rx < ry {
            format!("{cx} missing")
        } else {
            format!("{cy} extra")
        };
    }
    match cx {
        "STEP" => {
            let f = differing_field(x, y);
            match f.as_str() {
                "t" => "STEP clock".to_string(),
                "rc" => "STEP rc".to_string(),
                _ => "STEP cmd".to_string(),
            }
        }
        "KEY" | "ROLL" => {
            if cx != cy || head(x) != head(y) {
                format!("{cx} set")
            } else {
                format!("{cx} {}", differing_field(x, y))
            }
        }
        "TASK" => {
            let (mut ta, mut tb) = (block(a, i, "TASK"), block(b, i, "TASK"));
            ta.sort_unstable();
            tb.sort_unstable();
            if ta == tb {
                "TASK order".to_string()
            } else {
                let (wx, wy): (Vec<&str>, Vec<&str>) = (
                    x.split_whitespace().collect(),
                    y.split_whitespace().collect(),
                );
                if wx.get(2..) == wy.get(2..) {
                    "TASK time".to_string()
                } else {
                    "TASK queue".to_string()
                }
            }
        }
        "SIGNCONF" => {
            if head(x) != head(y) {
                "SIGNCONF set".to_string()
            } else {
                format!("SIGNCONF {}", differing_field(x, y))
            }
        }
        c => format!("{c} text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "# header\nSTEP 000 t=T+0 rc=0 cmd=policy import\n  OUT 000 ok\n\
                     STEP 001 t=T+0 rc=0 cmd=leap   # leap-until-time +3d\n  \
                     KEY z KSK1 role=KSK state=publish next=T+5\n  KEYDB z x\n  \
                     TASK T+5 enforce a\n  TASK T+5 enforce b\n";

    #[test]
    fn identical_traces_have_no_difference() {
        assert_eq!(first_difference(A, A), None);
        // Database rows are not compared.
        assert_eq!(
            first_difference(A, &A.replace("KEYDB z x", "KEYDB z y")),
            None
        );
        // Nor the database `zone list` names (a documented difference).
        let db = |path: &str| A.replace("OUT 000 ok", &format!("OUT 000 Database set to: {path}"));
        assert_eq!(
            first_difference(&db("x/kasp.db"), &db("x/events.redb")),
            None
        );
        // Nor what the runners print for a restart.
        let r = |o: &str| {
            A.replace(
                "cmd=policy import\n  OUT 000 ok",
                &format!("cmd=restart-at +1d\n  OUT 000 {o}"),
            )
        };
        assert_eq!(
            first_difference(&r("(daemon restarted)"), &r("Using 2025")),
            None
        );
    }

    #[test]
    fn task_order_is_its_own_class() {
        let b = A.replace(
            "enforce a\n  TASK T+5 enforce b",
            "enforce b\n  TASK T+5 enforce a",
        );
        assert_eq!(first_difference(A, &b).unwrap().class, "TASK order @leap");
        assert_eq!(first_difference_beyond_run_order(A, &b), None);
        let q = |x: &str, y: &str| {
            A.replace(
                "  OUT 000 ok\n",
                &format!("  OUT 000 On T+5 I will enforce zone {x}\n  OUT 000 On T+5 I will enforce zone {y}\n"),
            )
        };
        assert_eq!(
            first_difference_beyond_run_order(&q("a", "b"), &q("b", "a")),
            None
        );
        // One zone's DS calls keep their order.
        let ds = |x: &str, y: &str| {
            A.replace(
                "  OUT 000 ok\n",
                &format!("  OUT 000 ok\n  DSCALL {x} z K1 ttl=1\n  DSCALL {y} z K2 ttl=1\n"),
            )
        };
        assert_eq!(
            first_difference_beyond_run_order(&ds("retract", "submit"), &ds("submit", "retract"))
                .unwrap()
                .class,
            "DSCALL text @policy import"
        );
        let c = b.replace("T+5 enforce a", "T+4 enforce a");
        assert_eq!(
            first_difference_beyond_run_order(A, &c).unwrap().class,
            "TASK time @leap"
        );
    }

    #[test]
    fn key_field_extra_and_missing_lines() {
        let b = A.replace("state=publish", "state=ready");
        assert_eq!(first_difference(A, &b).unwrap().class, "KEY state @leap");
        let b = A.replace(
            "  OUT 000 ok\n",
            "  OUT 000 ok\n  NOTIFY ods-signer update z\n",
        );
        assert_eq!(
            first_difference(A, &b).unwrap().class,
            "NOTIFY extra @policy import"
        );
        let b = A.replace("  OUT 000 ok\n", "");
        assert_eq!(
            first_difference(A, &b).unwrap().class,
            "OUT missing @policy import"
        );
        let b = A.replace("t=T+0 rc=0 cmd=leap", "t=T+9 rc=0 cmd=leap");
        assert_eq!(first_difference(A, &b).unwrap().class, "STEP clock @leap");
    }

    #[test]
    fn verbs_are_coarse() {
        assert_eq!(
            verb("STEP 001 t=T+0 rc=0 cmd=key ds-seen --all   # auto-ds"),
            "key ds-seen --all"
        );
        assert_eq!(
            verb("STEP 001 t=T+0 rc=0 cmd=key ds-seen --zone z --keytag {KSK1}"),
            "key ds-seen"
        );
        assert_eq!(verb("STEP 001 t=T+0 rc=0 cmd=restart-at +3d"), "restart-at");
    }
}
