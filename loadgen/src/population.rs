//! The subscriber population: deterministic naming shared by `provision` and the flows, and the
//! choice of which subscriber a flow uses (uniform, Zipf or sequential).

use rand::RngExt;
use rand::rngs::SmallRng;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::http::{push_encoded, push_u64};

/// Subscriber `i` has IMPI `<prefix>{i}@<domain>` and IMPU `sip:<prefix>{i}@<domain>`.
#[derive(Clone, Debug)]
pub struct Naming {
    /// The user-part prefix.
    pub prefix: String,
    /// The domain (also the digest realm).
    pub domain: String,
}

impl Naming {
    /// The private identity of subscriber `i`.
    pub fn impi(&self, i: u64) -> String {
        format!("{}{i}@{}", self.prefix, self.domain)
    }

    /// The public identity of subscriber `i`.
    pub fn impu(&self, i: u64) -> String {
        format!("sip:{}", self.impi(i))
    }

    /// Appends the percent-encoded IMPI of subscriber `i`.
    pub fn push_impi(&self, out: &mut Vec<u8>, i: u64) {
        push_encoded(out, &self.prefix);
        push_u64(out, i);
        out.extend_from_slice(b"%40");
        push_encoded(out, &self.domain);
    }

    /// Appends the percent-encoded IMPU of subscriber `i`.
    pub fn push_impu(&self, out: &mut Vec<u8>, i: u64) {
        out.extend_from_slice(b"sip%3A");
        self.push_impi(out, i);
    }
}

/// How flows pick subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyDist {
    /// Every subscriber equally likely.
    Uniform,
    /// Zipf over ranks: subscriber `start` is the most popular, then `start+1`, ...
    Zipf,
    /// Each subscriber once, in order (shared by all connections); the run ends when all are used.
    Seq,
}

/// Picks subscriber indices in `[start, start + n)`.
#[derive(Debug)]
pub struct KeyChooser {
    start: u64,
    n: u64,
    kind: Chooser,
}

#[derive(Debug)]
enum Chooser {
    Uniform,
    Zipf(Zipf),
    Seq(AtomicU64),
}

impl KeyChooser {
    /// A chooser over `n` subscribers from `start`. `zipf_s` is the Zipf exponent.
    pub fn new(dist: KeyDist, start: u64, n: u64, zipf_s: f64) -> KeyChooser {
        let kind = match dist {
            KeyDist::Uniform => Chooser::Uniform,
            KeyDist::Zipf => Chooser::Zipf(Zipf::new(n.max(1), zipf_s)),
            KeyDist::Seq => Chooser::Seq(AtomicU64::new(0)),
        };
        KeyChooser { start, n, kind }
    }

    /// The next subscriber, or `None` when a sequential population is used up.
    pub fn next(&self, rng: &mut SmallRng) -> Option<u64> {
        if self.n == 0 {
            return None;
        }
        match &self.kind {
            Chooser::Uniform => Some(self.start + rng.random_range(0..self.n)),
            Chooser::Zipf(z) => Some(self.start + z.sample(rng) - 1),
            Chooser::Seq(next) => {
                let i = next.fetch_add(1, Ordering::Relaxed);
                (i < self.n).then(|| self.start + i)
            }
        }
    }

    /// How many keys a sequential chooser hands out in all (`None` for random choosers).
    pub fn total(&self) -> Option<u64> {
        matches!(self.kind, Chooser::Seq(_)).then_some(self.n)
    }
}

/// Zipf distribution over `1..=n` with exponent `s` (P(k) ∝ k^-s), sampled by rejection-inversion
/// (Hörmann and Derflinger, "Rejection-inversion to generate variates from monotone discrete
/// distributions", 1996): constant time and memory whatever `n`.
#[derive(Debug, Clone)]
pub struct Zipf {
    n: f64,
    s: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    threshold: f64,
}

fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))
    }
}

impl Zipf {
    /// Zipf over `1..=n` (n ≥ 1) with exponent `s` > 0.
    pub fn new(n: u64, s: f64) -> Zipf {
        let s = if s > 0.0 { s } else { 1.0 };
        let mut z = Zipf {
            n: n as f64,
            s,
            h_integral_x1: 0.0,
            h_integral_n: 0.0,
            threshold: 0.0,
        };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(z.n + 0.5);
        z.threshold = 2.0 - z.h_integral_inverse(z.h_integral(2.5) - z.h(2.0));
        z
    }

    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    fn h_integral(&self, x: f64) -> f64 {
        let log_x = x.ln();
        helper2((1.0 - self.s) * log_x) * log_x
    }

    fn h_integral_inverse(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (helper1(t) * x).exp()
    }

    /// A rank in `1..=n`.
    pub fn sample(&self, rng: &mut SmallRng) -> u64 {
        loop {
            let r: f64 = rng.random();
            let u = self.h_integral_n + r * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inverse(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.threshold || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn naming_is_deterministic_and_encoded() {
        let n = Naming {
            prefix: "lg".into(),
            domain: "example.com".into(),
        };
        assert_eq!(n.impi(7), "lg7@example.com");
        assert_eq!(n.impu(7), "sip:lg7@example.com");
        let mut v = Vec::new();
        n.push_impu(&mut v, 42);
        assert_eq!(v, b"sip%3Alg42%40example.com");
    }

    #[test]
    fn zipf_matches_its_law() {
        let z = Zipf::new(1000, 1.0);
        let mut rng = SmallRng::seed_from_u64(7);
        let mut counts = vec![0u64; 1001];
        let draws = 200_000;
        for _ in 0..draws {
            let k = z.sample(&mut rng);
            assert!((1..=1000).contains(&k));
            counts[k as usize] += 1;
        }
        // P(1) = 1/H(1000) ≈ 0.1336; P(1)/P(2) = 2.
        let p1 = counts[1] as f64 / draws as f64;
        assert!((p1 - 0.1336).abs() < 0.005, "p1 = {p1}");
        let ratio = counts[1] as f64 / counts[2] as f64;
        assert!((ratio - 2.0).abs() < 0.1, "ratio = {ratio}");
    }

    #[test]
    fn sequential_chooser_ends() {
        let c = KeyChooser::new(KeyDist::Seq, 10, 3, 1.0);
        let mut rng = SmallRng::seed_from_u64(1);
        let got: Vec<_> = (0..5).map(|_| c.next(&mut rng)).collect();
        assert_eq!(got, vec![Some(10), Some(11), Some(12), None, None]);
        let u = KeyChooser::new(KeyDist::Uniform, 5, 2, 1.0);
        for _ in 0..100 {
            assert!((5..7).contains(&u.next(&mut rng).unwrap()));
        }
    }
}
