//! hearth-loadgen: open-loop and closed-loop load for Hearth and Homestead-compatible servers.

mod cli;
mod epoll;
mod http;
mod plot;
mod population;
mod report;
mod runner;
mod scenario;
mod stats;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

use cli::{Cli, Command, LoadOpts};
use http::Target;
use population::{KeyChooser, KeyDist, Naming};
use report::{HlogWriter, RunInfo};
use runner::{Observer, Plan, Progress};
use scenario::{FlowKind, HomesteadScenario, ProvisionScenario, Scenario, UrlScenario};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hearth-loadgen: {e}");
            ExitCode::from(2)
        }
    }
}

/// What kind of run, for defaults and the exit status.
#[derive(PartialEq, Eq)]
enum Kind {
    Load,
    Provision,
}

fn dispatch(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Plot(a) => {
            let mut series = Vec::new();
            for f in &a.files {
                series.push(load_series(f)?);
            }
            plot::plot_svg(&a.out, &a.title, &series)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Url(a) => {
            let target = Target::parse(&a.url)?;
            let headers = parse_headers(&a.load.headers)?;
            let body = a.body.clone().unwrap_or_default();
            if body.contains("{i}") {
                return Err("{i} is replaced in the URL only, not in the body".into());
            }
            let request = http::encode_request(
                &a.method,
                &target.path,
                &target.host,
                &headers,
                body.as_bytes(),
            );
            let name = format!("url {} {}", a.method, a.url);
            let keys = KeyChooser::new(a.keys, a.start, a.subscribers, a.zipf_s);
            let scenario = UrlScenario::new(request, keys, a.method == "HEAD", name);
            run_load(Arc::new(scenario), target, Vec::new(), &a.load, Kind::Load)
        }
        Command::Register(a) => flows(a, FlowKind::Register),
        Command::Reregister(a) => flows(a, FlowKind::Reregister),
        Command::Call(a) => flows(a, FlowKind::Call),
        Command::Deregister(a) => flows(a, FlowKind::Deregister),
        Command::Mix(a) => {
            let weights = scenario::parse_weights(&a.weights)?;
            let target = Target::parse(&a.flow.target)?;
            let s = HomesteadScenario::new(
                naming(&a.population),
                keys(&a.population, a.flow.keys, a.flow.zipf_s),
                weights,
                true,
                a.flow.check,
            );
            let headers = encoded_headers(&a.load.headers)?;
            run_load(Arc::new(s), target, headers, &a.load, Kind::Load)
        }
        Command::Provision(a) => {
            let target = Target::parse(&a.prov)?;
            let ifc = match &a.ifc {
                Some(p) => {
                    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?
                }
                None => scenario::default_ifc(&a.population.domain),
            };
            let s = ProvisionScenario::new(
                naming(&a.population),
                keys(&a.population, KeyDist::Seq, 1.0),
                a.password.clone(),
                ifc,
            );
            let headers = encoded_headers(&a.load.headers)?;
            run_load(Arc::new(s), target, headers, &a.load, Kind::Provision)
        }
    }
}

fn flows(a: cli::FlowArgs, kind: FlowKind) -> Result<ExitCode, String> {
    let target = Target::parse(&a.flow.target)?;
    let s = HomesteadScenario::new(
        naming(&a.population),
        keys(&a.population, a.flow.keys, a.flow.zipf_s),
        vec![(kind, 1)],
        false,
        a.flow.check,
    );
    let headers = encoded_headers(&a.load.headers)?;
    run_load(Arc::new(s), target, headers, &a.load, Kind::Load)
}

fn naming(p: &cli::PopulationOpts) -> Naming {
    Naming {
        prefix: p.prefix.clone(),
        domain: p.domain.clone(),
    }
}

fn keys(p: &cli::PopulationOpts, dist: KeyDist, zipf_s: f64) -> KeyChooser {
    KeyChooser::new(dist, p.start, p.subscribers, zipf_s)
}

fn parse_headers(raw: &[String]) -> Result<Vec<(String, String)>, String> {
    raw.iter()
        .map(|h| {
            let (n, v) = h
                .split_once(':')
                .ok_or_else(|| format!("header '{h}': expected 'Name: value'"))?;
            let n = n.trim();
            if n.is_empty()
                || n.bytes()
                    .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
            {
                return Err(format!("header '{h}': bad name"));
            }
            if v.bytes().any(|b| b == b'\r' || b == b'\n') {
                return Err(format!("header '{h}': bad value"));
            }
            Ok((n.to_string(), v.trim().to_string()))
        })
        .collect()
}

fn encoded_headers(raw: &[String]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (n, v) in parse_headers(raw)? {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    Ok(out)
}

fn load_series(path: &Path) -> Result<plot::Series, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let points = report::read_hgrm(&text);
    if points.is_empty() {
        return Err(format!("{}: no percentile lines found", path.display()));
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(plot::Series { name, points })
}

/// The live progress line and the interval log.
struct Live {
    bar: ProgressBar,
    total_flows: Option<u64>,
    duration: Option<Duration>,
    requests: Option<u64>,
    tm: Option<Instant>,
    hlog_path: Option<std::path::PathBuf>,
    hlog: Option<HlogWriter<BufWriter<File>>>,
    hlog_error: Option<String>,
    comment: String,
    last: Option<(Instant, u64)>,
    rate: f64,
    started_wall: SystemTime,
}

impl Observer for Live {
    fn started(&mut self, tm: Instant, wall: SystemTime) {
        self.tm = Some(tm);
        self.started_wall = wall;
        if let Some(p) = &self.hlog_path {
            match File::create(p)
                .and_then(|f| HlogWriter::new(BufWriter::new(f), wall, &self.comment))
            {
                Ok(w) => self.hlog = Some(w),
                Err(e) => self.hlog_error = Some(format!("{}: {e}", p.display())),
            }
        }
    }

    fn tick(&mut self, now: Instant, p: &Progress) {
        let Some(tm) = self.tm else { return };
        match self.last {
            Some((t, n)) if now.duration_since(t) >= Duration::from_millis(900) => {
                self.rate =
                    (p.responses.saturating_sub(n)) as f64 / now.duration_since(t).as_secs_f64();
                self.last = Some((now, p.responses));
            }
            None if now >= tm => self.last = Some((now, p.responses)),
            _ => {}
        }
        if let Some(total) = self.total_flows {
            self.bar.set_length(total);
            self.bar.set_position(p.flows.min(total));
        } else if let Some(d) = self.duration {
            self.bar.set_length(d.as_millis() as u64);
            self.bar.set_position(
                (now.saturating_duration_since(tm).as_millis() as u64).min(d.as_millis() as u64),
            );
        } else if let Some(n) = self.requests {
            self.bar.set_length(n);
            self.bar.set_position(p.sent.min(n));
        }
        if now < tm {
            self.bar.set_message("warm-up");
        } else {
            self.bar.set_message(format!(
                "{:.0} req/s, {} responses, {} errors",
                self.rate, p.responses, p.errors
            ));
        }
    }

    fn interval(&mut self, _index: u64, start: Duration, length: Duration, h: &Histogram<u64>) {
        if let Some(w) = self.hlog.as_mut()
            && let Err(e) = w.interval(start, length, h)
        {
            self.hlog_error = Some(e.to_string());
            self.hlog = None;
        }
    }
}

fn write_file(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = BufWriter::new(file);
    f(&mut w)
        .and_then(|()| w.flush())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn run_load(
    scenario: Arc<dyn Scenario>,
    target: Target,
    extra_headers: Vec<u8>,
    o: &LoadOpts,
    kind: Kind,
) -> Result<ExitCode, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let connections = o.connections.max(1);
    let threads = o.threads.unwrap_or(cores).clamp(1, connections);
    let depth = o.depth.max(1);
    let duration = match (o.duration, o.requests, &kind) {
        (Some(d), _, _) => Some(d),
        (None, Some(_), _) | (None, None, Kind::Provision) => None,
        (None, None, Kind::Load) => Some(Duration::from_secs(10)),
    };
    let warmup = o.warmup.unwrap_or(if kind == Kind::Provision {
        Duration::ZERO
    } else {
        Duration::from_secs(2)
    });
    if o.timeout.is_zero() || o.connect_timeout.is_zero() || o.interval.is_zero() {
        return Err("--timeout, --connect-timeout and --interval must be positive".into());
    }
    let name = scenario.name();
    let label = o.label.clone().unwrap_or_else(|| name.clone());
    let total_flows = scenario.total_flows();
    let flows_report = !matches!(kind, Kind::Load) || !name.starts_with("url ");
    let plan = Plan {
        scenario,
        target: target.clone(),
        extra_headers,
        threads,
        connections,
        depth,
        rate: o.rate,
        corrected: !o.closed,
        warmup,
        duration,
        requests: o.requests,
        timeout: o.timeout,
        connect_timeout: o.connect_timeout,
        interval: o.interval,
        seed: o.seed,
        pin: o.pin,
        spin: o.spin,
        io: o.io,
    };
    let bar = if o.quiet {
        ProgressBar::hidden()
    } else {
        let template = if total_flows.is_some() {
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} flows, {msg}"
        } else if duration.is_some() {
            "{spinner} [{elapsed_precise}] {bar:40} {msg}"
        } else {
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} sent, {msg}"
        };
        let b = ProgressBar::new(1);
        if let Ok(style) = ProgressStyle::with_template(template) {
            b.set_style(style);
        }
        b.enable_steady_tick(Duration::from_millis(200));
        b
    };
    let mut live = Live {
        bar,
        total_flows,
        duration,
        requests: o.requests,
        tm: None,
        hlog_path: o.hlog.clone(),
        hlog: None,
        hlog_error: None,
        comment: format!(
            "hearth-loadgen {name} -> {}; values in microseconds",
            target.addr
        ),
        last: None,
        rate: 0.0,
        started_wall: SystemTime::now(),
    };
    let out = runner::run(plan, &mut live)?;
    live.bar.finish_and_clear();
    if let Some(w) = live.hlog.as_mut()
        && let Err(e) = w.flush()
    {
        live.hlog_error = Some(e.to_string());
    }
    let info = RunInfo {
        label: label.clone(),
        scenario: name,
        target: target.addr.to_string(),
        threads,
        connections,
        depth,
        rate: o.rate,
        corrected: !o.closed,
        warmup,
        duration,
        requests: o.requests,
        elapsed: out.elapsed(),
        started: live.started_wall,
        flows: flows_report,
        io: o.io,
    };
    let stats = &out.stats;
    let summary = report::summary(&info, stats);
    let json_stdout = o.json.as_deref().is_some_and(|p| p == Path::new("-"));
    if json_stdout {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    let mut problems = Vec::new();
    if let Some(e) = live.hlog_error {
        problems.push(e);
    }
    if let Some(p) = &o.json {
        let doc = report::json(&info, stats);
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        if json_stdout {
            println!("{text}");
        } else if let Err(e) = write_file(p, |w| writeln!(w, "{text}")) {
            problems.push(e);
        }
    }
    if let Some(p) = &o.hgrm
        && let Err(e) = write_file(p, |w| report::write_hgrm(&stats.latency, w))
    {
        problems.push(e);
    }
    if let Some(p) = &o.plot {
        let mut series = vec![plot::Series {
            name: label,
            points: report::percentiles(&stats.latency)
                .into_iter()
                .map(|(q, v, _)| (q, v))
                .collect(),
        }];
        for f in &o.overlay {
            match load_series(f) {
                Ok(s) => series.push(s),
                Err(e) => problems.push(e),
            }
        }
        if let Err(e) = plot::plot_svg(p, "Latency by percentile", &series) {
            problems.push(e);
        }
    }
    for p in &problems {
        eprintln!("hearth-loadgen: {p}");
    }
    if !problems.is_empty() {
        return Ok(ExitCode::from(2));
    }
    if kind == Kind::Provision {
        let expected = total_flows.unwrap_or(0);
        if stats.flows_failed > 0 || stats.flows_done < expected {
            eprintln!(
                "hearth-loadgen: provisioned {} of {expected} subscribers ({} failed)",
                stats.flows_done, stats.flows_failed
            );
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}
