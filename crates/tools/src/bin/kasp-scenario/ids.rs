//! Stable key names and placeholder expansion, exactly as `normalize.py` does it
//! (`IdMap`, `subst`): keys are read from `key list --verbose --parsable` after every
//! step and numbered per zone and role in order of first appearance (KSK1, ZSK2, …);
//! `{KSK1}` expands to that key's keytag, `{KSK1.cka}` to its CKA_ID,
//! `{example.com/KSK2}` names the zone, `{SANDBOX}` is the sandbox path, and braces
//! that are regex quantifiers (`{32}`, `{2,}`) are left alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One key of `key list --verbose --parsable`
/// (`zone;role;state;next;bits;alg;cka_id;repository;keytag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    pub zone: String,
    pub role: String,
    pub cka: String,
    pub keytag: String,
}

/// Parses `key list --verbose --parsable` output; lines without exactly nine fields
/// (headers, error messages) are skipped, as in normalize.py.
pub fn parse_verbose_p(text: &str) -> Vec<ListedKey> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(';').collect();
            (f.len() == 9).then(|| ListedKey {
                zone: f[0].to_string(),
                role: f[1].to_string(),
                cka: f[6].to_string(),
                keytag: f[8].to_string(),
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
struct KeyInfo {
    keytag: String,
    cka: String,
}

/// Zone + CKA_ID → stable id (`KSK1`), and what each id stands for.
#[derive(Debug, Default)]
pub struct IdMap {
    by_cka: HashMap<(String, String), String>,
    info: BTreeMap<(String, String), KeyInfo>,
    count: HashMap<(String, String), u32>,
}

impl IdMap {
    /// Takes in the keys one step listed (in `key list` order).
    pub fn feed(&mut self, keys: &[ListedKey]) {
        for k in keys {
            let key = (k.zone.clone(), k.cka.clone());
            if let Some(id) = self.by_cka.get(&key) {
                if let Some(info) = self.info.get_mut(&(k.zone.clone(), id.clone())) {
                    info.keytag = k.keytag.clone();
                }
                continue;
            }
            let n = self
                .count
                .entry((k.zone.clone(), k.role.clone()))
                .or_insert(0);
            *n += 1;
            let id = format!("{}{}", k.role, n);
            self.by_cka.insert(key, id.clone());
            self.info.insert(
                (k.zone.clone(), id),
                KeyInfo {
                    keytag: k.keytag.clone(),
                    cka: k.cka.clone(),
                },
            );
        }
    }

    fn zones(&self) -> BTreeSet<&str> {
        self.info.keys().map(|(z, _)| z.as_str()).collect()
    }

    /// Expands every placeholder of `line`; the error names the first one that cannot
    /// be expanded and why.
    pub fn expand(&self, line: &str, sandbox: &str) -> Result<String, String> {
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find(['{', '}']) {
                Some(close) if close > 0 && after[close..].starts_with('}') => {
                    let token = &after[..close];
                    match self.token(token, sandbox)? {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push('{');
                            out.push_str(token);
                            out.push('}');
                        }
                    }
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The value of one `{token}`; `None` for a regex quantifier (left as it is).
    fn token(&self, token: &str, sandbox: &str) -> Result<Option<String>, String> {
        if token == "SANDBOX" {
            return Ok(Some(sandbox.to_string()));
        }
        if is_quantifier(token) {
            return Ok(None);
        }
        let unknown = || format!("unknown placeholder {{{token}}}");
        let (zone, rest) = match token.split_once('/') {
            Some((z, r)) if !z.is_empty() => (Some(z), r),
            Some(_) => return Err(unknown()),
            None => (None, token),
        };
        let (id, what) = match rest.split_once('.') {
            Some((id, w @ ("keytag" | "cka"))) => (id, w),
            Some(_) => return Err(unknown()),
            None => (rest, "keytag"),
        };
        if !is_key_id(id) {
            return Err(unknown());
        }
        let zone = match zone {
            Some(z) => z.to_string(),
            None => {
                let zones = self.zones();
                match (zones.len(), zones.first()) {
                    (1, Some(z)) => z.to_string(),
                    (0, _) => {
                        return Err(format!(
                            "placeholder {{{token}}}: `key list` has listed no keys yet"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "placeholder {{{token}}} needs a zone (zones with keys: {})",
                            zones.into_iter().collect::<Vec<_>>().join(", ")
                        ));
                    }
                }
            }
        };
        let info = self
            .info
            .get(&(zone, id.to_string()))
            .ok_or_else(|| format!("placeholder {{{token}}}: no such key yet"))?;
        Ok(Some(if what == "cka" {
            info.cka.clone()
        } else {
            info.keytag.clone()
        }))
    }
}

/// `32`, `2,`, `2,5`: a regex repetition count.
fn is_quantifier(token: &str) -> bool {
    let (a, b) = token.split_once(',').unwrap_or((token, ""));
    !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
}

/// `KSK1`, `ZSK12`, `CSK3`.
fn is_key_id(id: &str) -> bool {
    ["KSK", "ZSK", "CSK"].iter().any(|role| {
        id.strip_prefix(role)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_ZONE: &str = "Keys:\n\
        example.com;KSK;ready;waiting for ds-seen;2048;8;8eca0f5069420e23766c59669ce681ec;SoftHSM;56650\n\
        example.com;ZSK;active;2025-04-01 00:00:00;1024;8;b5a1dc7843cdeaa0132dd960cdb7c574;SoftHSM;31273\n";

    fn map(text: &str) -> IdMap {
        let mut m = IdMap::default();
        m.feed(&parse_verbose_p(text));
        m
    }

    #[test]
    fn keys_are_numbered_per_zone_and_role() {
        let mut m = map(ONE_ZONE);
        m.feed(&parse_verbose_p(
            "example.com;ZSK;publish;-;1024;8;cccccccccccccccccccccccccccccccc;SoftHSM;111\n\
             example.com;KSK;ready;-;2048;8;8eca0f5069420e23766c59669ce681ec;SoftHSM;56651\n",
        ));
        let e = |s: &str| m.expand(s, "/sb");
        assert_eq!(e("--keytag {KSK1}").unwrap(), "--keytag 56651");
        assert_eq!(
            e("{ZSK2} {ZSK1.cka}").unwrap(),
            "111 b5a1dc7843cdeaa0132dd960cdb7c574"
        );
        assert_eq!(e("{example.com/ZSK1.keytag}").unwrap(), "31273");
        assert_eq!(e("{SANDBOX}/signconf").unwrap(), "/sb/signconf");
    }

    #[test]
    fn quantifiers_and_stray_braces_stay() {
        let m = map(ONE_ZONE);
        let e = |s: &str| m.expand(s, "/sb");
        assert_eq!(
            e("[0-9a-f]{32} x{2,} {{KSK1}").unwrap(),
            "[0-9a-f]{32} x{2,} {56650"
        );
        assert_eq!(e("a } { {").unwrap(), "a } { {");
        // As in normalize.py, any other braced word is a placeholder.
        assert_eq!(e("a { b }").unwrap_err(), "unknown placeholder { b }");
        assert_eq!(e("{}").unwrap(), "{}");
    }

    #[test]
    fn errors_say_why() {
        let m = map(ONE_ZONE);
        assert_eq!(
            m.expand("{KSK2}", "/sb").unwrap_err(),
            "placeholder {KSK2}: no such key yet"
        );
        assert_eq!(
            m.expand("{FOO}", "/sb").unwrap_err(),
            "unknown placeholder {FOO}"
        );
        assert!(m.expand("{KSK1.bits}", "/sb").is_err());
        let mut two = map(ONE_ZONE);
        two.feed(&parse_verbose_p(
            "b.example;KSK;publish;-;2048;8;dd;SoftHSM;7\n",
        ));
        assert_eq!(
            two.expand("{KSK1}", "/sb").unwrap_err(),
            "placeholder {KSK1} needs a zone (zones with keys: b.example, example.com)"
        );
        assert_eq!(two.expand("{b.example/KSK1}", "/sb").unwrap(), "7");
        assert_eq!(
            IdMap::default().expand("{KSK1}", "/sb").unwrap_err(),
            "placeholder {KSK1}: `key list` has listed no keys yet"
        );
    }
}
