//! Delta debugging of a divergent scenario: the shortest scenario whose first difference
//! between OpenDNSSEC and kasp-ledger has the same class (crate::classify).
//!
//! Each candidate is written to a fresh folder with the kasp files it names and run with
//! `<runner> pair <scenario.scn> <outdir>` (scripts/fuzz), which leaves both traces in
//! `<outdir>/ods/trace.txt` and `<outdir>/ours/trace.txt`. The steps, in order: the
//! shortest prefix that still differs (the steps after the first difference never matter),
//! then chunks and single lines dropped, then leap counts, `leap-until max=` and the
//! times of `leap-until-time` and `restart-at` made smaller, then the policies of the
//! kasp files the difference does not need dropped. Header lines (`#@kasp`, `#@conf`)
//! are kept.

use crate::classify;
use crate::scenario::rel;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Minimizer {
    pub runner: PathBuf,
    pub case: PathBuf,
    pub out: PathBuf,
    pub max_runs: u32,
    /// The class to keep; `None`: the class of the case as it is.
    pub class: Option<String>,
    /// Classify with the order of zones run at the same second set aside
    /// (`classify::first_difference_beyond_run_order`).
    pub beyond_run_order: bool,
}

struct State<'a> {
    m: &'a Minimizer,
    head: Vec<String>,
    class: String,
    runs: u32,
    seen: HashMap<Vec<String>, bool>,
    /// The last difference found with the class (for the report).
    last: Option<classify::Difference>,
    /// The kasp files as minimized so far (name, text); the case's own until a policy
    /// is dropped.
    kasp: Vec<(String, String)>,
}

/// Minimizes; returns the class and the number of lines left.
pub fn run(m: &Minimizer) -> Result<(String, usize), String> {
    let text = fs::read_to_string(m.case.join("scenario.scn"))
        .map_err(|e| format!("{}: {e}", m.case.join("scenario.scn").display()))?;
    let (head, body): (Vec<String>, Vec<String>) = {
        let mut h = Vec::new();
        let mut b = Vec::new();
        for l in text.lines() {
            let t = l.trim();
            if t.is_empty() {
                continue;
            }
            if t.starts_with('#') {
                h.push(t.to_string());
            } else {
                b.push(t.to_string());
            }
        }
        (h, b)
    };
    fs::create_dir_all(&m.out).map_err(|e| format!("{}: {e}", m.out.display()))?;
    let mut st = State {
        m,
        head,
        class: String::new(),
        runs: 0,
        seen: HashMap::new(),
        last: None,
        kasp: Vec::new(),
    };
    for name in kasp_files(&st.head, &body) {
        let path = m.case.join(&name);
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        st.kasp.push((name, text));
    }
    st.class = match &m.class {
        Some(c) => c.clone(),
        None => match st.classify(&body)? {
            Some(d) => d.class,
            None => return Err("the case does not differ".to_string()),
        },
    };
    eprintln!("kasp-fuzz: minimizing {} ({})", m.case.display(), st.class);
    let mut best = body;
    best = st.shortest_prefix(best);
    best = st.drop_chunks(best);
    best = st.shrink_numbers(best);
    st.drop_policies(&best);
    st.write(&best)?;
    eprintln!(
        "kasp-fuzz: {} lines left after {} runs: {}",
        best.len(),
        st.runs,
        m.out.display()
    );
    Ok((st.class.clone(), best.len()))
}

impl State<'_> {
    fn scenario(&self, body: &[String]) -> String {
        let mut s = String::new();
        for l in self.head.iter().chain(body) {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    /// Copies the kasp files the scenario names into `dir`.
    fn write_case(&self, dir: &Path, body: &[String]) -> Result<(), String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        fs::write(dir.join("scenario.scn"), self.scenario(body))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        for name in kasp_files(&self.head, body) {
            let Some((_, text)) = self.kasp.iter().find(|(n, _)| *n == name) else {
                return Err(format!("the case has no {name}"));
            };
            fs::write(dir.join(&name), text).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(())
    }

    /// Runs a candidate; `Ok(None)` when both agree, `Err` when a runner failed.
    fn classify(&mut self, body: &[String]) -> Result<Option<classify::Difference>, String> {
        self.runs += 1;
        let dir = self.m.out.join(".candidate");
        let _ = fs::remove_dir_all(&dir);
        self.write_case(&dir, body)?;
        let run = dir.join("run");
        let status = Command::new(&self.m.runner)
            .arg("pair")
            .arg(dir.join("scenario.scn"))
            .arg(&run)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("{}: {e}", self.m.runner.display()))?;
        let read = |side: &str| fs::read_to_string(run.join(side).join("trace.txt"));
        let result = match (read("ods"), read("ours")) {
            (Ok(a), Ok(b)) if self.m.beyond_run_order => {
                Ok(classify::first_difference_beyond_run_order(&a, &b))
            }
            (Ok(a), Ok(b)) => Ok(classify::first_difference(&a, &b)),
            _ => Err(format!("runner exited {status} without both traces")),
        };
        let _ = fs::remove_dir_all(&dir);
        result
    }

    /// Whether the candidate still differs with the same class (cached; false when the
    /// run budget is spent or a runner failed).
    fn keeps(&mut self, body: &[String]) -> bool {
        let key = self.cache_key(body);
        if let Some(k) = self.seen.get(&key) {
            return *k;
        }
        if self.runs >= self.m.max_runs {
            return false;
        }
        let keeps = match self.classify(body) {
            Ok(Some(d)) if d.class == self.class => {
                self.last = Some(d);
                true
            }
            _ => false,
        };
        eprintln!(
            "kasp-fuzz: run {} ({} lines): {}",
            self.runs,
            body.len(),
            if keeps { "same class" } else { "no" }
        );
        self.seen.insert(key, keeps);
        keeps
    }

    fn cache_key(&self, body: &[String]) -> Vec<String> {
        let mut key = body.to_vec();
        key.extend(self.kasp.iter().map(|(_, t)| t.clone()));
        key
    }

    /// Drops each policy of each kasp file that the difference does not need.
    fn drop_policies(&mut self, body: &[String]) {
        for f in 0..self.kasp.len() {
            let mut i = 0;
            loop {
                let text = self.kasp[f].1.clone();
                let blocks = policy_blocks(&text);
                let Some(&(start, end)) = blocks.get(i) else {
                    break;
                };
                if blocks.len() == 1 {
                    break;
                }
                self.kasp[f].1 = format!("{}{}", &text[..start], &text[end..]);
                if !self.keeps(body) {
                    self.kasp[f].1 = text;
                    i += 1;
                }
            }
        }
    }

    fn shortest_prefix(&mut self, body: Vec<String>) -> Vec<String> {
        let (mut lo, mut hi) = (0usize, body.len());
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if self.keeps(&body[..mid]) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        if hi > 0 && self.keeps(&body[..hi - 1]) {
            hi -= 1;
        }
        body[..hi].to_vec()
    }

    fn drop_chunks(&mut self, mut body: Vec<String>) -> Vec<String> {
        let mut chunk = (body.len() / 2).max(1);
        loop {
            let mut i = 0;
            while i < body.len() {
                let end = (i + chunk).min(body.len());
                let mut cand = body[..i].to_vec();
                cand.extend_from_slice(&body[end..]);
                if !cand.is_empty() && self.keeps(&cand) {
                    body = cand;
                } else {
                    i += chunk;
                }
            }
            if chunk == 1 {
                return body;
            }
            chunk /= 2;
        }
    }

    fn shrink_numbers(&mut self, mut body: Vec<String>) -> Vec<String> {
        for i in 0..body.len() {
            for smaller in smaller_versions(&body[i]) {
                let mut cand = body.clone();
                cand[i] = smaller;
                if self.keeps(&cand) {
                    body = cand;
                    break;
                }
            }
        }
        body
    }

    fn write(&self, body: &[String]) -> Result<(), String> {
        self.write_case(&self.m.out, body)?;
        let mut note = format!("class: {}\n", self.class);
        if let Some(d) = &self.last {
            note.push_str(&format!(
                "after: {}\n- OpenDNSSEC: {}\n+ kasp-ledger: {}\n",
                d.step,
                d.ods.as_deref().unwrap_or("(trace ends)"),
                d.ours.as_deref().unwrap_or("(trace ends)")
            ));
        }
        note.push_str(&format!("runs: {}\n", self.runs));
        fs::write(self.m.out.join("difference.txt"), note)
            .map_err(|e| format!("{}: {e}", self.m.out.display()))
    }
}

/// Byte ranges of the `<Policy …>…</Policy>` blocks of a kasp.xml (whole lines).
fn policy_blocks(text: &str) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("<Policy ").map(|i| from + i) {
        let Some(close) = text[open..]
            .find("</Policy>")
            .map(|i| open + i + "</Policy>".len())
        else {
            break;
        };
        let start = text[..open].rfind('\n').map_or(0, |i| i + 1);
        let end = text[close..]
            .find('\n')
            .map_or(text.len(), |i| close + i + 1);
        blocks.push((start, end));
        from = end;
    }
    blocks
}

/// The kasp files a scenario names (`#@kasp X`, `kasp X`).
fn kasp_files(head: &[String], body: &[String]) -> Vec<String> {
    let mut files = Vec::new();
    for l in head.iter().chain(body) {
        let f = l
            .strip_prefix("#@kasp ")
            .or_else(|| l.strip_prefix("kasp "))
            .map(str::trim);
        if let Some(f) = f
            && !files.iter().any(|x: &String| x == f)
        {
            files.push(f.to_string());
        }
    }
    files
}

/// Smaller versions of a line, smallest first: `leap 3` → `leap`; `leap-until max=6 …`
/// → max=1, 3; `leap-until-time +40d` and `restart-at +40d` → a quarter, half and three
/// quarters of the time (whole hours).
fn smaller_versions(line: &str) -> Vec<String> {
    let w: Vec<&str> = line.split_whitespace().collect();
    match w.as_slice() {
        ["leap", n] => match n.parse::<u32>() {
            Ok(n) if n > 1 => {
                let mut v = vec!["leap".to_string()];
                if n / 2 > 1 {
                    v.push(format!("leap {}", n / 2));
                }
                v
            }
            _ => vec![],
        },
        ["leap-until", max, rest @ ..] if max.starts_with("max=") => {
            let m: u32 = max[4..].parse().unwrap_or(0);
            [1, m / 2]
                .into_iter()
                .filter(|x| *x >= 1 && *x < m)
                .map(|x| format!("leap-until max={x} {}", rest.join(" ")))
                .collect()
        }
        [cmd @ ("leap-until-time" | "restart-at"), t] => {
            let Some(secs) = t.strip_prefix('+').and_then(parse_rel) else {
                return vec![];
            };
            [secs / 4, secs / 2, secs * 3 / 4]
                .into_iter()
                .map(|s| s / 3600 * 3600)
                .filter(|s| *s >= 3600 && *s < secs)
                .map(|s| format!("{cmd} +{}", rel(s)))
                .collect()
        }
        _ => vec![],
    }
}

/// `3d`, `7h`, `120s` (what crate::scenario::rel writes) → seconds.
fn parse_rel(t: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        total += n * match c {
            'w' => 604_800,
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
    }
    num.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaller_lines() {
        assert_eq!(smaller_versions("leap 3"), vec!["leap"]);
        assert_eq!(smaller_versions("leap 5"), vec!["leap", "leap 2"]);
        assert_eq!(
            smaller_versions("leap-until-time +4d"),
            vec![
                "leap-until-time +1d",
                "leap-until-time +2d",
                "leap-until-time +3d"
            ]
        );
        assert_eq!(
            smaller_versions("restart-at +1d"),
            vec!["restart-at +6h", "restart-at +12h", "restart-at +18h"]
        );
        assert_eq!(
            smaller_versions("leap-until max=6 waiting for ds-seen"),
            vec![
                "leap-until max=1 waiting for ds-seen",
                "leap-until max=3 waiting for ds-seen"
            ]
        );
        assert!(smaller_versions("zone add --zone a --policy p").is_empty());
        assert_eq!(parse_rel("1d2h"), Some(93_600));
    }

    #[test]
    fn policy_blocks_are_whole_lines() {
        let x = "<KASP>\n\t<Policy name=\"a\">\n\t</Policy>\n\t<Policy name=\"b\">\n\t</Policy>\n</KASP>\n";
        let b = policy_blocks(x);
        assert_eq!(b.len(), 2);
        let without_a = format!("{}{}", &x[..b[0].0], &x[b[0].1..]);
        assert_eq!(
            without_a,
            "<KASP>\n\t<Policy name=\"b\">\n\t</Policy>\n</KASP>\n"
        );
    }

    #[test]
    fn kasp_files_named() {
        let head = vec!["#@kasp kasp.xml".to_string()];
        let body = vec!["kasp kasp2.xml".to_string(), "policy import".to_string()];
        assert_eq!(kasp_files(&head, &body), vec!["kasp.xml", "kasp2.xml"]);
    }
}
