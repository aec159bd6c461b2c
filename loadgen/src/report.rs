//! Outputs: the text summary, the `.hgrm` percentile distribution, the `.hlog` interval log and the
//! JSON document.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use serde_json::{Value, json};

use crate::stats::{LatencySummary, Stats, summarize};

/// How the run was set up, for the reports.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// A name for the run (plots, JSON).
    pub label: String,
    /// Scenario name.
    pub scenario: String,
    /// Target address.
    pub target: String,
    /// Threads.
    pub threads: usize,
    /// Connections.
    pub connections: usize,
    /// Pipelining depth.
    pub depth: usize,
    /// Asked rate.
    pub rate: Option<f64>,
    /// Latency from the intended send time.
    pub corrected: bool,
    /// Warm-up.
    pub warmup: Duration,
    /// Asked duration.
    pub duration: Option<Duration>,
    /// Asked request count.
    pub requests: Option<u64>,
    /// Measured time (window start to last answer).
    pub elapsed: Duration,
    /// Wall-clock start of the measured window.
    pub started: SystemTime,
    /// Whether the scenario has multi-step flows (report flows/s).
    pub flows: bool,
    /// Socket back end.
    pub io: crate::runner::IoMode,
}

impl RunInfo {
    /// "open", "closed".
    pub fn mode(&self) -> &'static str {
        if self.rate.is_some() && self.corrected {
            "open"
        } else {
            "closed"
        }
    }
}

fn per_sec(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 { n as f64 / s } else { 0.0 }
}

fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.2} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.2} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}

/// The human summary.
pub fn summary(info: &RunInfo, stats: &Stats) -> String {
    let mut s = String::new();
    let mode = match (info.rate, info.corrected) {
        (Some(r), true) => format!("open loop at {r} req/s"),
        (Some(r), false) => format!("closed loop paced at {r} req/s"),
        (None, _) => "closed loop".to_string(),
    };
    let _ = writeln!(s, "hearth-loadgen {} -> {}", info.scenario, info.target);
    let _ = writeln!(
        s,
        "  {mode}, {} thread{}, {} connection{}, depth {}, warm-up {:.1} s",
        info.threads,
        if info.threads == 1 { "" } else { "s" },
        info.connections,
        if info.connections == 1 { "" } else { "s" },
        info.depth,
        info.warmup.as_secs_f64()
    );
    let l = summarize(&stats.latency);
    let from = if info.corrected && info.rate.is_some() {
        "from intended send time"
    } else {
        "from actual send time"
    };
    let _ = writeln!(s, "  Latency (ms, {from}):");
    let _ = writeln!(
        s,
        "  {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "p50", "p90", "p99", "p99.9", "p99.99", "max", "mean", "stdev"
    );
    let _ = writeln!(
        s,
        "  {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
        l.p50, l.p90, l.p99, l.p99_9, l.p99_99, l.max, l.mean, l.stdev
    );
    if let Some(u) = &stats.uncorrected {
        let u = summarize(u);
        let _ = writeln!(
            s,
            "  (from actual send: p50 {:.3}, p99 {:.3}, p99.9 {:.3}, max {:.3})",
            u.p50, u.p99, u.p99_9, u.max
        );
    }
    let _ = writeln!(
        s,
        "  {} responses ({} sent) in {:.2} s, {} read, {} written",
        stats.responses,
        stats.sent,
        info.elapsed.as_secs_f64(),
        bytes(stats.bytes_read),
        bytes(stats.bytes_written)
    );
    let rate = per_sec(stats.responses, info.elapsed);
    match info.rate {
        Some(r) => {
            let _ = writeln!(s, "  Rate: {rate:.1} req/s achieved, {r:.1} asked");
        }
        None => {
            let _ = writeln!(s, "  Rate: {rate:.1} req/s");
        }
    }
    if info.flows {
        let _ = writeln!(
            s,
            "  Flows: {} completed, {} failed, {:.1} flows/s",
            stats.flows_done,
            stats.flows_failed,
            per_sec(stats.flows_done, info.elapsed)
        );
    }
    let e = &stats.errors;
    if e.total() == 0 {
        let _ = writeln!(s, "  Errors: none");
    } else {
        let mut parts = Vec::new();
        for (name, n) in [
            ("connect", e.connect),
            ("timeout", e.timeout),
            ("io", e.io),
            ("parse", e.parse),
        ] {
            if n > 0 {
                parts.push(format!("{name} {n}"));
            }
        }
        for (code, n) in &e.status {
            parts.push(format!("status {code}: {n}"));
        }
        for (why, n) in &e.check {
            parts.push(format!("check '{why}': {n}"));
        }
        let _ = writeln!(s, "  Errors: {} ({})", e.total(), parts.join(", "));
    }
    let statuses: Vec<String> = stats
        .status_counts()
        .iter()
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    if !statuses.is_empty() {
        let _ = writeln!(s, "  Status: {}", statuses.join(", "));
    }
    s
}

fn latency_json(l: &LatencySummary) -> Value {
    serde_json::to_value(l).unwrap_or(Value::Null)
}

/// The JSON document (schema in the README).
pub fn json(info: &RunInfo, stats: &Stats) -> Value {
    let e = &stats.errors;
    let statuses: serde_json::Map<String, Value> = stats
        .status_counts()
        .iter()
        .map(|(c, n)| (c.to_string(), json!(n)))
        .collect();
    let error_status: serde_json::Map<String, Value> = e
        .status
        .iter()
        .map(|(c, n)| (c.to_string(), json!(n)))
        .collect();
    let checks: serde_json::Map<String, Value> = e
        .check
        .iter()
        .map(|(c, n)| (c.to_string(), json!(n)))
        .collect();
    json!({
        "tool": "hearth-loadgen",
        "version": env!("CARGO_PKG_VERSION"),
        "label": info.label,
        "scenario": info.scenario,
        "target": info.target,
        "mode": info.mode(),
        "latency_from": if info.corrected && info.rate.is_some() { "intended" } else { "sent" },
        "threads": info.threads,
        "connections": info.connections,
        "depth": info.depth,
        "io": info.io,
        "rate_asked": info.rate,
        "warmup_s": info.warmup.as_secs_f64(),
        "duration_s": info.duration.map(|d| d.as_secs_f64()),
        "requests_asked": info.requests,
        "started_unix_s": info.started.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0),
        "elapsed_s": info.elapsed.as_secs_f64(),
        "sent": stats.sent,
        "responses": stats.responses,
        "rate_achieved": per_sec(stats.responses, info.elapsed),
        "flows": {
            "completed": stats.flows_done,
            "failed": stats.flows_failed,
            "rate": per_sec(stats.flows_done, info.elapsed),
        },
        "status": statuses,
        "errors": {
            "total": e.total(),
            "connect": e.connect,
            "timeout": e.timeout,
            "io": e.io,
            "parse": e.parse,
            "status": error_status,
            "check": checks,
        },
        "latency_ms": latency_json(&summarize(&stats.latency)),
        "latency_uncorrected_ms": stats.uncorrected.as_ref().map(|u| latency_json(&summarize(u))),
        "bytes_read": stats.bytes_read,
        "bytes_written": stats.bytes_written,
    })
}

/// One point of a percentile distribution: (quantile in 0..=1, value in ms, total count so far).
pub type PercentilePoint = (f64, f64, u64);

/// The percentile distribution of a µs histogram in ms (5 ticks per half distance, as wrk2 and
/// HdrHistogram print it).
pub fn percentiles(h: &Histogram<u64>) -> Vec<PercentilePoint> {
    let mut out = Vec::new();
    if h.is_empty() {
        return out;
    }
    let mut total = 0u64;
    for v in h.iter_quantiles(5) {
        total += v.count_since_last_iteration();
        out.push((
            v.quantile_iterated_to(),
            h.highest_equivalent(v.value_iterated_to()) as f64 / 1000.0,
            total,
        ));
    }
    out
}

/// Writes the `.hgrm` percentile distribution (HdrHistogram's classic format, values in ms).
pub fn write_hgrm(h: &Histogram<u64>, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    )?;
    for (q, v, total) in percentiles(h) {
        if q < 1.0 {
            writeln!(w, "{v:12.3} {q:2.12} {total:10} {:14.2}", 1.0 / (1.0 - q))?;
        } else {
            writeln!(w, "{v:12.3} {q:2.12} {total:10}")?;
        }
    }
    let (mean, stdev, max) = if h.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (
            h.mean() / 1000.0,
            h.stdev() / 1000.0,
            h.max() as f64 / 1000.0,
        )
    };
    writeln!(w, "#[Mean    = {mean:12.3}, StdDeviation   = {stdev:12.3}]")?;
    writeln!(
        w,
        "#[Max     = {max:12.3}, Total count    = {:12}]",
        h.len()
    )?;
    writeln!(
        w,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        (2 * 10u32.pow(u32::from(h.sigfig()))).next_power_of_two()
    )?;
    Ok(())
}

/// Reads the (quantile, ms) points of a `.hgrm` file (ours, wrk2's or HdrHistogram's).
pub fn read_hgrm(text: &str) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 3 {
            continue;
        }
        let (Ok(v), Ok(q)) = (cols[0].parse::<f64>(), cols[1].parse::<f64>()) else {
            continue;
        };
        if cols[2].parse::<u64>().is_err() || !(0.0..=1.0).contains(&q) {
            continue;
        }
        out.push((q, v));
    }
    out
}

/// Writes an HdrHistogram interval log (format 1.3, as Java's `HistogramLogWriter`): values in µs,
/// the `Interval_Max` column in ms.
pub struct HlogWriter<W: Write> {
    out: W,
    serializer: V2DeflateSerializer,
    buf: Vec<u8>,
}

impl<W: Write> HlogWriter<W> {
    /// Writes the header; `start` is the start of the measured window.
    pub fn new(mut out: W, start: SystemTime, comment: &str) -> io::Result<HlogWriter<W>> {
        let secs = start
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        writeln!(out, "#{comment}")?;
        writeln!(out, "#[Histogram log format version 1.3]")?;
        writeln!(out, "#[StartTime: {secs:.3} (seconds since epoch)]")?;
        writeln!(out, "#[BaseTime: {secs:.3} (seconds since epoch)]")?;
        writeln!(
            out,
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
        )?;
        Ok(HlogWriter {
            out,
            serializer: V2DeflateSerializer::new(),
            buf: Vec::new(),
        })
    }

    /// Writes one interval (`start` relative to the start time).
    pub fn interval(
        &mut self,
        start: Duration,
        length: Duration,
        h: &Histogram<u64>,
    ) -> io::Result<()> {
        self.buf.clear();
        self.serializer
            .serialize(h, &mut self.buf)
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
        let max = if h.is_empty() {
            0.0
        } else {
            h.max() as f64 / 1000.0
        };
        writeln!(
            self.out,
            "{:.3},{:.3},{:.3},{}",
            start.as_secs_f64(),
            length.as_secs_f64(),
            max,
            base64_encode(&self.buf)
        )
    }

    /// Flushes.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::new_histogram;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    fn sample() -> Histogram<u64> {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 100).unwrap();
        }
        h
    }

    #[test]
    fn hgrm_round_trips_through_the_reader() {
        let h = sample();
        let mut out = Vec::new();
        write_hgrm(&h, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"));
        assert!(
            text.contains("#[Max     =      100.031, Total count    =         1000]"),
            "{text}"
        );
        let pts = read_hgrm(&text);
        assert!(pts.len() > 20);
        assert_eq!(pts.last().unwrap().0, 1.0);
        // p50 ≈ 50 ms, p99 ≈ 99 ms.
        let at = |q: f64| pts.iter().find(|(p, _)| *p >= q).unwrap().1;
        assert!((at(0.5) - 50.0).abs() < 0.1, "{}", at(0.5));
        assert!((at(0.99) - 99.0).abs() < 0.2, "{}", at(0.99));
        // wrk2-style lines parse too.
        let wrk2 = "       Value   Percentile   TotalCount 1/(1-Percentile)\n\n       0.921     0.000000            1         1.00\n       5.000     1.000000          100          inf\n#[Mean    =        1.234, StdDeviation   =        0.567]\n";
        assert_eq!(read_hgrm(wrk2), vec![(0.0, 0.921), (1.0, 5.0)]);
    }

    #[test]
    fn hlog_is_readable_by_hdrhistogram() {
        let h = sample();
        let mut out = Vec::new();
        {
            let mut w =
                HlogWriter::new(&mut out, UNIX_EPOCH + Duration::from_secs(1000), "test").unwrap();
            w.interval(Duration::ZERO, Duration::from_secs(1), &h)
                .unwrap();
            w.interval(
                Duration::from_secs(1),
                Duration::from_millis(500),
                &new_histogram(),
            )
            .unwrap();
        }
        let mut d = Deserializer::new();
        let mut intervals = Vec::new();
        for e in IntervalLogIterator::new(&out) {
            match e.unwrap() {
                LogEntry::Interval(i) => {
                    let bytes = decode_b64(i.encoded_histogram());
                    let back: Histogram<u64> =
                        d.deserialize(&mut std::io::Cursor::new(bytes)).unwrap();
                    intervals.push((i.start_timestamp(), i.duration(), i.max(), back));
                }
                LogEntry::StartTime(t) => assert_eq!(t, Duration::from_secs(1000)),
                LogEntry::BaseTime(_) => {}
            }
        }
        assert_eq!(intervals.len(), 2);
        assert_eq!(intervals[0].3, h);
        assert!((intervals[0].2 - 100.031).abs() < 1e-6);
        assert_eq!(intervals[1].0, Duration::from_secs(1));
        assert_eq!(intervals[1].3.len(), 0);
    }

    fn decode_b64(s: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(decode_b64("Zm9vYmE="), b"fooba");
    }
}
