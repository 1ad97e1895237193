//! GNU `getopt_long` as OpenDNSSEC's command handlers use it (permuting, `optind = 0`):
//! options anywhere, stray words collected (the commands refuse them: `Shell::opts`),
//! unambiguous long-option prefixes accepted,
//! `--name=value`, `-xvalue` and clustered short flags. Operators' scripts rely on
//! exactly this leniency, so it is reproduced rather than replaced by a stricter parser.

/// One option a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub long: &'static str,
    pub short: Option<char>,
    pub takes_value: bool,
}

impl Opt {
    /// A flag without a value.
    pub const fn flag(long: &'static str, short: char) -> Opt {
        Opt {
            long,
            short: Some(short),
            takes_value: false,
        }
    }

    /// An option with a required value.
    pub const fn value(long: &'static str, short: char) -> Opt {
        Opt {
            long,
            short: Some(short),
            takes_value: true,
        }
    }
}

/// What went wrong while parsing options (OpenDNSSEC says `unknown arguments` for all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetoptError {
    Unknown(String),
    Ambiguous(String),
    MissingValue(String),
    UnexpectedValue(String),
}

/// The parsed options, in the order given, keyed by long name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub opts: Vec<(&'static str, Option<String>)>,
    /// Words that are not options (ignored by OpenDNSSEC's commands).
    pub rest: Vec<String>,
}

impl Parsed {
    /// Whether a flag or option was given.
    pub fn has(&self, long: &str) -> bool {
        self.opts.iter().any(|(l, _)| *l == long)
    }

    /// The value of the last occurrence of an option (getopt loops keep the last).
    pub fn value(&self, long: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(l, _)| *l == long)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// Parses `args` (the words after the command name) against `spec`.
pub fn getopt(args: &[String], spec: &[Opt]) -> Result<Parsed, GetoptError> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            parsed.rest.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let opt = find_long(spec, name)?;
            let value = if opt.takes_value {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        let v = args
                            .get(i)
                            .ok_or_else(|| GetoptError::MissingValue(opt.long.to_string()))?;
                        i += 1;
                        Some(v.clone())
                    }
                }
            } else {
                if inline.is_some() {
                    return Err(GetoptError::UnexpectedValue(opt.long.to_string()));
                }
                None
            };
            parsed.opts.push((opt.long, value));
        } else if arg.len() > 1 && arg.starts_with('-') {
            let chars: Vec<char> = arg.chars().skip(1).collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                j += 1;
                let opt = spec
                    .iter()
                    .find(|o| o.short == Some(c))
                    .ok_or_else(|| GetoptError::Unknown(format!("-{c}")))?;
                if opt.takes_value {
                    let value = if j < chars.len() {
                        chars[j..].iter().collect::<String>()
                    } else {
                        let v = args
                            .get(i)
                            .ok_or_else(|| GetoptError::MissingValue(opt.long.to_string()))?;
                        i += 1;
                        v.clone()
                    };
                    parsed.opts.push((opt.long, Some(value)));
                    break;
                }
                parsed.opts.push((opt.long, None));
            }
        } else {
            parsed.rest.push(arg.clone());
        }
    }
    Ok(parsed)
}

fn find_long<'a>(spec: &'a [Opt], name: &str) -> Result<&'a Opt, GetoptError> {
    if let Some(o) = spec.iter().find(|o| o.long == name) {
        return Ok(o);
    }
    let matches: Vec<&Opt> = if name.is_empty() {
        Vec::new()
    } else {
        spec.iter().filter(|o| o.long.starts_with(name)).collect()
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(GetoptError::Unknown(format!("--{name}"))),
        _ => Err(GetoptError::Ambiguous(format!("--{name}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[Opt] = &[
        Opt::value("zone", 'z'),
        Opt::value("policy", 'p'),
        Opt::flag("xml", 'u'),
        Opt::flag("suspend", 'n'),
    ];

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn long_short_prefix_and_permutation() {
        let p = getopt(&words("stray --zo example.com -p lab -un --xml"), SPEC).unwrap();
        assert_eq!(p.value("zone"), Some("example.com"));
        assert_eq!(p.value("policy"), Some("lab"));
        assert!(p.has("xml") && p.has("suspend"));
        assert_eq!(p.rest, vec!["stray"]);
        let p = getopt(&words("-zexample.com --policy=lab"), SPEC).unwrap();
        assert_eq!(p.value("zone"), Some("example.com"));
        assert_eq!(p.value("policy"), Some("lab"));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            getopt(&words("--bogus"), SPEC),
            Err(GetoptError::Unknown(_))
        ));
        assert!(matches!(
            getopt(&words("-x"), SPEC),
            Err(GetoptError::Unknown(_))
        ));
        assert!(matches!(
            getopt(&words("--zone"), SPEC),
            Err(GetoptError::MissingValue(_))
        ));
        assert!(matches!(
            getopt(&words("--xml=1"), SPEC),
            Err(GetoptError::UnexpectedValue(_))
        ));
        let spec = [Opt::flag("all", 'a'), Opt::flag("algorithm", 'g')];
        assert!(matches!(
            getopt(&words("--al"), &spec),
            Err(GetoptError::Ambiguous(_))
        ));
        assert!(getopt(&words("--all"), &spec).unwrap().has("all"));
    }

    #[test]
    fn double_dash_ends_options() {
        let p = getopt(&words("-- --zone x"), SPEC).unwrap();
        assert!(p.opts.is_empty());
        assert_eq!(p.rest, vec!["--zone", "x"]);
    }
}
