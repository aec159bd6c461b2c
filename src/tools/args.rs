//! Single-dash option parsing for the key tools (`-k HEX -op HEX -d`), matching the GBA gateway's
//! JCommander-style tools flag for flag. clap does not parse multi-letter single-dash options, which
//! is why this small parser exists.

use std::collections::HashMap;

/// One option a tool accepts.
pub struct Opt {
    /// Name without the dash, e.g. `"nonce"`.
    pub name: &'static str,
    /// Other names, e.g. `"help"` for `"h"`.
    pub aliases: &'static [&'static str],
    /// Whether the option takes a value (otherwise it is a boolean switch).
    pub takes_value: bool,
    /// Whether it must be given.
    pub required: bool,
    /// The text shown in the usage message.
    pub help: &'static str,
    /// Shown as `Default: ...` in the usage message.
    pub default: Option<&'static str>,
    /// A switch that does its own job (such as listing), so required options are not needed.
    pub standalone: bool,
}

impl Opt {
    /// An option with a value.
    pub const fn value(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            aliases: &[],
            takes_value: true,
            required: false,
            help,
            default: None,
            standalone: false,
        }
    }

    /// A boolean switch (default false).
    pub const fn switch(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            aliases: &[],
            takes_value: false,
            required: false,
            help,
            default: Some("false"),
            standalone: false,
        }
    }

    /// Marks the option as required.
    pub const fn required(mut self) -> Opt {
        self.required = true;
        self
    }

    /// Marks a switch as doing its own job: required options are not checked when it is given.
    pub const fn standalone(mut self) -> Opt {
        self.standalone = true;
        self
    }

    /// Sets the default shown in the usage message.
    pub const fn default(mut self, value: &'static str) -> Opt {
        self.default = Some(value);
        self
    }

    fn matches(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

/// The parsed options of one invocation.
#[derive(Debug, Default)]
pub struct Parsed {
    values: HashMap<&'static str, String>,
    switches: Vec<&'static str>,
}

/// What parsing decided.
pub enum Outcome {
    /// Run the tool with these options.
    Run(Parsed),
    /// `-h`/`-help` was given: print the usage and exit 0.
    Help,
}

impl Parsed {
    /// The value of an option, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether a switch was given.
    pub fn flag(&self, name: &str) -> bool {
        self.switches.contains(&name)
    }
}

/// Parses `args` (without the tool name) against `opts`. `-h`/`-help` anywhere means help.
pub fn parse(opts: &[Opt], args: &[String]) -> Result<Outcome, String> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let name = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("unexpected argument '{arg}' (options start with '-')"))?;
        if name == "h" || name == "help" {
            return Ok(Outcome::Help);
        }
        let (name, inline) = match name.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (name, None),
        };
        let opt = opts
            .iter()
            .find(|o| o.matches(name))
            .ok_or_else(|| format!("unknown option '-{name}'"))?;
        if opt.takes_value {
            let value = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| format!("option '-{}' needs a value", opt.name))?
                }
            };
            if parsed.values.insert(opt.name, value).is_some() {
                return Err(format!("option '-{}' given more than once", opt.name));
            }
        } else {
            if inline.is_some() {
                return Err(format!("option '-{}' takes no value", opt.name));
            }
            parsed.switches.push(opt.name);
        }
        i += 1;
    }
    let standalone = opts
        .iter()
        .any(|o| o.standalone && parsed.switches.contains(&o.name));
    if let Some(missing) = opts
        .iter()
        .find(|o| o.required && !standalone && !parsed.values.contains_key(o.name))
    {
        return Err(format!("the option '-{}' is required", missing.name));
    }
    Ok(Outcome::Run(parsed))
}

/// The usage text, in the shape of the gateway tools' help (`*` marks required options).
pub fn usage(tool: &str, opts: &[Opt]) -> String {
    let mut all: Vec<&Opt> = opts.iter().collect();
    all.sort_by_key(|o| o.name);
    let mut out = format!("Usage: {tool} [options]\n  Options:\n");
    let mut lines: Vec<(String, &Opt)> = all
        .into_iter()
        .map(|o| {
            let mut names = vec![format!("-{}", o.name)];
            names.extend(o.aliases.iter().map(|a| format!("-{a}")));
            (names.join(", "), o)
        })
        .collect();
    lines.push((
        "-h, -help".into(),
        &Opt {
            name: "h",
            aliases: &[],
            takes_value: false,
            required: false,
            help: "Display this usage message",
            default: Some("false"),
            standalone: true,
        },
    ));
    lines.sort_by(|a, b| a.0.trim_start_matches('-').cmp(b.0.trim_start_matches('-')));
    for (names, o) in lines {
        let star = if o.required { "* " } else { "  " };
        out.push_str(&format!("  {star}{names}\n      {}\n", o.help));
        if let Some(d) = o.default {
            out.push_str(&format!("      Default: {d}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        Opt::value("k", "key").required(),
        Opt::value("o", "format").default("hex"),
        Opt::switch("d", "debug"),
    ];

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_values_and_switches() {
        let Ok(Outcome::Run(p)) = parse(OPTS, &args(&["-k", "00", "-d", "-o=base64"])) else {
            panic!("expected run");
        };
        assert_eq!(p.get("k"), Some("00"));
        assert_eq!(p.get("o"), Some("base64"));
        assert!(p.flag("d"));
    }

    #[test]
    fn rejects_bad_input_with_reasons() {
        let err = |a: &[&str]| match parse(OPTS, &args(a)) {
            Err(e) => e,
            Ok(_) => panic!("expected an error for {a:?}"),
        };
        assert!(err(&[]).contains("'-k' is required"));
        assert!(err(&["-k"]).contains("needs a value"));
        assert!(err(&["-k", "1", "-k", "2"]).contains("more than once"));
        assert!(err(&["-x", "1"]).contains("unknown option"));
        assert!(err(&["k"]).contains("unexpected argument"));
        assert!(err(&["-k", "1", "-d=yes"]).contains("takes no value"));
    }

    #[test]
    fn help_wins() {
        assert!(matches!(parse(OPTS, &args(&["-help"])), Ok(Outcome::Help)));
        assert!(matches!(
            parse(OPTS, &args(&["-k", "1", "-h"])),
            Ok(Outcome::Help)
        ));
        let u = usage("naf-key", OPTS);
        assert!(u.contains("* -k"));
        assert!(u.contains("Default: hex"));
    }
}
