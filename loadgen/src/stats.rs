//! Per-thread statistics (HdrHistograms of latency in microseconds, counters, errors by kind and
//! status), merged at the end.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

/// Significant digits of every histogram.
pub const SIGFIG: u8 = 3;

/// A new auto-resizing latency histogram (microseconds).
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::<u64>::new(SIGFIG).unwrap_or_else(|_| unreachable!("3 sigfig is valid"));
    h.auto(true);
    h
}

/// Errors by kind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Errors {
    /// Connection attempts that failed or timed out.
    pub connect: u64,
    /// Requests with no complete answer within `--timeout`.
    pub timeout: u64,
    /// Requests lost to a read/write error or the peer closing.
    pub io: u64,
    /// Requests lost to an answer that is not valid HTTP.
    pub parse: u64,
    /// Answers a scenario found wrong, by reason.
    pub check: BTreeMap<&'static str, u64>,
    /// Answers with a status the scenario does not accept, by status.
    pub status: BTreeMap<u16, u64>,
}

impl Errors {
    /// All errors.
    pub fn total(&self) -> u64 {
        self.connect
            + self.timeout
            + self.io
            + self.parse
            + self.check.values().sum::<u64>()
            + self.status.values().sum::<u64>()
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Errors) {
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.io += other.io;
        self.parse += other.parse;
        for (k, v) in &other.check {
            *self.check.entry(k).or_default() += v;
        }
        for (k, v) in &other.status {
            *self.status.entry(*k).or_default() += v;
        }
    }
}

/// What one thread measured (only requests in the measured window).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency histogram (µs): from the intended send time in open loop, from the actual send time
    /// otherwise.
    pub latency: Histogram<u64>,
    /// In open loop, latency from the actual send time (what a closed-loop tool would report).
    pub uncorrected: Option<Histogram<u64>>,
    /// Requests sent.
    pub sent: u64,
    /// Complete answers received (every status).
    pub responses: u64,
    /// Answers by status code (index = status; 0 for out-of-range codes).
    pub status: Vec<u64>,
    /// Errors.
    pub errors: Errors,
    /// Flows completed.
    pub flows_done: u64,
    /// Flows aborted by an error.
    pub flows_failed: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Bytes written.
    pub bytes_written: u64,
}

impl Stats {
    /// Empty statistics; `open` adds the uncorrected histogram.
    pub fn new(open: bool) -> Stats {
        Stats {
            latency: new_histogram(),
            uncorrected: open.then(new_histogram),
            sent: 0,
            responses: 0,
            status: vec![0; 600],
            errors: Errors::default(),
            flows_done: 0,
            flows_failed: 0,
            bytes_read: 0,
            bytes_written: 0,
        }
    }

    /// Counts an answer's status.
    pub fn count_status(&mut self, status: u16) {
        let i = usize::from(status);
        let i = if i < self.status.len() { i } else { 0 };
        self.status[i] += 1;
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Stats) {
        let _ = self.latency.add(&other.latency);
        if let (Some(a), Some(b)) = (self.uncorrected.as_mut(), other.uncorrected.as_ref()) {
            let _ = a.add(b);
        }
        self.sent += other.sent;
        self.responses += other.responses;
        for (a, b) in self.status.iter_mut().zip(&other.status) {
            *a += b;
        }
        self.errors.merge(&other.errors);
        self.flows_done += other.flows_done;
        self.flows_failed += other.flows_failed;
        self.bytes_read += other.bytes_read;
        self.bytes_written += other.bytes_written;
    }

    /// Answers by status, as (status, count) for the statuses seen.
    pub fn status_counts(&self) -> BTreeMap<u16, u64> {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(s, c)| (s as u16, *c))
            .collect()
    }
}

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Minimum.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// 99.99th percentile.
    pub p99_99: f64,
    /// Maximum.
    pub max: f64,
}

/// Summarises a µs histogram in ms.
pub fn summarize(h: &Histogram<u64>) -> LatencySummary {
    let ms = |v: u64| v as f64 / 1000.0;
    let empty = h.is_empty();
    let q = |x: f64| {
        if empty {
            0.0
        } else {
            ms(h.value_at_quantile(x))
        }
    };
    LatencySummary {
        count: h.len(),
        min: if empty { 0.0 } else { ms(h.min()) },
        mean: if empty { 0.0 } else { h.mean() / 1000.0 },
        stdev: if empty { 0.0 } else { h.stdev() / 1000.0 },
        p50: q(0.5),
        p75: q(0.75),
        p90: q(0.9),
        p99: q(0.99),
        p99_9: q(0.999),
        p99_99: q(0.9999),
        max: if empty { 0.0 } else { ms(h.max()) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_everything() {
        let mut a = Stats::new(true);
        let mut b = Stats::new(true);
        a.latency.record(100).unwrap();
        b.latency.record(5_000_000).unwrap();
        b.uncorrected.as_mut().unwrap().record(7).unwrap();
        b.count_status(404);
        b.errors.status.insert(404, 1);
        b.errors.check.insert("x", 2);
        b.errors.timeout = 3;
        a.merge(&b);
        assert_eq!(a.latency.len(), 2);
        assert_eq!(a.uncorrected.as_ref().unwrap().len(), 1);
        assert_eq!(a.errors.total(), 6);
        assert_eq!(a.status_counts().get(&404), Some(&1));
        let s = summarize(&a.latency);
        assert!((s.max - 5000.0).abs() / 5000.0 < 0.001);
        assert_eq!(s.min, 0.1);
    }
}
