//! Fault injection: latency (with jitter), error answers and dropped requests, for all requests
//! or only some commands or identities; set from the command line and changed at run time through
//! `POST /config`.

use hearth_core::diameter::cx::CxResult;
use hearth_core::diameter::dict::VENDOR_3GPP;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::hss::Command;

/// What happens to one request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fate {
    /// Answered by the HSS after `delay_ms`.
    Answer {
        /// Injected latency.
        delay_ms: u64,
    },
    /// Answered with an injected error after `delay_ms`.
    Error {
        /// The code.
        code: CxResult,
        /// Injected latency.
        delay_ms: u64,
    },
    /// Never answered.
    Drop,
}

/// The injection settings (also the JSON of `GET /config`).
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Injection {
    /// Latency added to every answer.
    pub latency_ms: u64,
    /// Up to this much more, uniformly.
    pub latency_jitter_ms: u64,
    /// Probability (0 to 1) of an error answer instead of the HSS's.
    pub error_rate: f64,
    /// The error: a Result-Code (`3004`) or a 3GPP Experimental-Result-Code (`3gpp:5001`).
    pub error_code: String,
    /// Probability (0 to 1) that a request is not answered at all.
    pub drop_rate: f64,
    /// Commands injection applies to (`MAR`, `UAR`, `LIR`, `SAR`, `ZH-MAR`); empty: all.
    pub commands: Vec<String>,
    /// User-Names or Public-Identities injection applies to; empty: all.
    pub identities: Vec<String>,
    #[serde(skip)]
    parsed_code: CxResult,
    #[serde(skip)]
    parsed_commands: Vec<Command>,
}

impl Default for Injection {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            latency_jitter_ms: 0,
            error_rate: 0.0,
            error_code: "3004".to_owned(),
            drop_rate: 0.0,
            commands: Vec::new(),
            identities: Vec::new(),
            parsed_code: CxResult::Base(3004),
            parsed_commands: Vec::new(),
        }
    }
}

/// A partial update (`POST /config`): fields left out keep their value.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectionUpdate {
    /// See [`Injection::latency_ms`].
    pub latency_ms: Option<u64>,
    /// See [`Injection::latency_jitter_ms`].
    pub latency_jitter_ms: Option<u64>,
    /// See [`Injection::error_rate`].
    pub error_rate: Option<f64>,
    /// See [`Injection::error_code`].
    pub error_code: Option<String>,
    /// See [`Injection::drop_rate`].
    pub drop_rate: Option<f64>,
    /// See [`Injection::commands`].
    pub commands: Option<Vec<String>>,
    /// See [`Injection::identities`].
    pub identities: Option<Vec<String>>,
}

/// Reads `3004` (Result-Code) or `3gpp:5001` (3GPP Experimental-Result-Code).
pub fn parse_code(text: &str) -> Result<CxResult, String> {
    let (experimental, digits) = match text.strip_prefix("3gpp:") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let code: u32 = digits
        .parse()
        .ok()
        .filter(|c| (1000..10_000).contains(c))
        .ok_or_else(|| format!("error code {text:?} is not a 4-digit code or 3gpp:<code>"))?;
    Ok(if experimental {
        CxResult::Experimental {
            vendor_id: VENDOR_3GPP,
            code,
        }
    } else {
        CxResult::Base(code)
    })
}

impl Injection {
    /// These settings with `update` applied, checked.
    pub fn updated(&self, update: InjectionUpdate) -> Result<Self, String> {
        let mut next = self.clone();
        if let Some(v) = update.latency_ms {
            next.latency_ms = v;
        }
        if let Some(v) = update.latency_jitter_ms {
            next.latency_jitter_ms = v;
        }
        if let Some(v) = update.error_rate {
            next.error_rate = v;
        }
        if let Some(v) = update.error_code {
            next.error_code = v;
        }
        if let Some(v) = update.drop_rate {
            next.drop_rate = v;
        }
        if let Some(v) = update.commands {
            next.commands = v;
        }
        if let Some(v) = update.identities {
            next.identities = v;
        }
        for (name, rate) in [
            ("error_rate", next.error_rate),
            ("drop_rate", next.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        // An hour is far beyond any Diameter timeout; the bound keeps deadlines from overflowing.
        if next.latency_ms.saturating_add(next.latency_jitter_ms) > 3_600_000 {
            return Err("latency_ms + latency_jitter_ms must not exceed one hour".to_owned());
        }
        next.parsed_code = parse_code(&next.error_code)?;
        next.parsed_commands = next
            .commands
            .iter()
            .map(|name| {
                Command::from_name(name).ok_or_else(|| {
                    format!("command {name:?} is not MAR, UAR, LIR, SAR, ZH-MAR or OTHER")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(next)
    }

    /// Whether the settings concern this request.
    fn applies(&self, command: Command, identities: &[&str]) -> bool {
        (self.parsed_commands.is_empty() || self.parsed_commands.contains(&command))
            && (self.identities.is_empty()
                || identities
                    .iter()
                    .any(|id| self.identities.iter().any(|wanted| wanted == id)))
    }

    /// Decides the fate of one request (its command, and its User-Name and Public-Identity).
    pub fn decide(&self, command: Command, identities: &[&str], rng: &mut impl Rng) -> Fate {
        if !self.applies(command, identities) {
            return Fate::Answer { delay_ms: 0 };
        }
        if self.drop_rate > 0.0 && rng.random::<f64>() < self.drop_rate {
            return Fate::Drop;
        }
        let jitter = if self.latency_jitter_ms > 0 {
            rng.random_range(0..=self.latency_jitter_ms)
        } else {
            0
        };
        let delay_ms = self.latency_ms + jitter;
        if self.error_rate > 0.0 && rng.random::<f64>() < self.error_rate {
            return Fate::Error {
                code: self.parsed_code,
                delay_ms,
            };
        }
        Fate::Answer { delay_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn codes_parse() {
        assert_eq!(parse_code("3004"), Ok(CxResult::Base(3004)));
        assert_eq!(parse_code("3gpp:5001"), Ok(CxResult::tgpp(5001)));
        assert!(parse_code("30").is_err());
        assert!(parse_code("3gpp:x").is_err());
    }

    #[test]
    fn updates_are_checked_and_partial() {
        let base = Injection::default();
        let next = base
            .updated(InjectionUpdate {
                latency_ms: Some(50),
                error_code: Some("3gpp:5001".into()),
                commands: Some(vec!["sar".into()]),
                ..Default::default()
            })
            .expect("valid");
        assert_eq!(next.latency_ms, 50);
        assert_eq!(next.error_rate, 0.0);
        assert!(
            base.updated(InjectionUpdate {
                error_rate: Some(1.5),
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            base.updated(InjectionUpdate {
                commands: Some(vec!["XYZ".into()]),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn decisions_follow_the_rates_and_filters() {
        let mut rng = SmallRng::seed_from_u64(7);
        let all_errors = Injection::default()
            .updated(InjectionUpdate {
                error_rate: Some(1.0),
                latency_ms: Some(10),
                latency_jitter_ms: Some(5),
                commands: Some(vec!["MAR".into()]),
                identities: Some(vec!["alice".into()]),
                ..Default::default()
            })
            .expect("valid");
        for _ in 0..100 {
            match all_errors.decide(Command::Mar, &["alice"], &mut rng) {
                Fate::Error { code, delay_ms } => {
                    assert_eq!(code, CxResult::Base(3004));
                    assert!((10..=15).contains(&delay_ms));
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            all_errors.decide(Command::Sar, &["alice"], &mut rng),
            Fate::Answer { delay_ms: 0 }
        );
        assert_eq!(
            all_errors.decide(Command::Mar, &["bob"], &mut rng),
            Fate::Answer { delay_ms: 0 }
        );
        let half_drop = Injection::default()
            .updated(InjectionUpdate {
                drop_rate: Some(0.5),
                ..Default::default()
            })
            .expect("valid");
        let drops = (0..1000)
            .filter(|_| half_drop.decide(Command::Lir, &[], &mut rng) == Fate::Drop)
            .count();
        assert!((400..600).contains(&drops), "{drops}");
    }
}
