//! Command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::population::KeyDist;
use crate::runner::IoMode;

/// Load generator for Hearth and any Homestead-compatible server: open-loop (coordinated omission
/// corrected) or closed-loop HTTP/1.1 load, HdrHistogram percentiles, IMS flows over a subscriber
/// population, provisioning, plots.
#[derive(Parser, Debug)]
#[command(name = "hearth-loadgen", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Scenarios and tools.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// One URL over and over (wrk-like).
    Url(UrlArgs),
    /// Initial registrations: registration-status → av → reg-data {"reqtype":"reg"}.
    Register(FlowArgs),
    /// Re-registrations: registration-status → reg-data {"reqtype":"reg"}.
    Reregister(FlowArgs),
    /// Terminating calls: location → reg-data {"reqtype":"call"}.
    Call(FlowArgs),
    /// Deregistrations: registration-status?auth-type=DEREG → reg-data {"reqtype":"dereg-user"}.
    Deregister(FlowArgs),
    /// A weighted mix of the flows above.
    Mix(MixArgs),
    /// Creates N subscribers through the provisioning API, following Ellis's sequence.
    Provision(ProvisionArgs),
    /// Plots .hgrm files (ours, wrk2's, HdrHistogram's) on one latency-by-percentile SVG.
    Plot(PlotArgs),
}

/// Parses `10s`, `250ms`, `2m`, `1h`, `1.5` (seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}': expected a duration like 10s, 250ms, 2m"))?;
    let mult = match unit {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (us, ms, s, m, h)")),
    };
    if !(v >= 0.0 && (v * mult).is_finite()) {
        return Err(format!("'{s}': not a valid duration"));
    }
    Ok(Duration::from_secs_f64(v * mult))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}': expected requests per second"))?;
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(format!("'{s}': the rate must be positive"))
    }
}

/// Options of every load run.
#[derive(Args, Debug, Clone)]
pub struct LoadOpts {
    /// Executor threads, one per core (default: the number of cores).
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// Connections in all, spread over the threads.
    #[arg(short = 'c', long, default_value_t = 32)]
    pub connections: usize,
    /// Pipelining depth: requests in flight per connection.
    #[arg(short = 'p', long, default_value_t = 1)]
    pub depth: usize,
    /// Length of the measured window [default: 10s, or unlimited with --requests or for provision].
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Measured requests to send in all (stops the run when reached).
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Open loop: requests per second in all, on a fixed timeline; latency from the intended send
    /// time (coordinated omission corrected, as wrk2).
    #[arg(short = 'R', long, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// With --rate: keep the schedule but measure latency from the actual send time (closed-loop
    /// measurement, what a tool that does not correct coordinated omission reports).
    #[arg(long, requires = "rate")]
    pub closed: bool,
    /// Warm-up before the measured window [default: 2s; 0 for provision].
    #[arg(long, value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// A request with no complete answer this long after its send is a timeout error.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub timeout: Duration,
    /// Connect timeout (a failed or timed-out connect is a connect error).
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub connect_timeout: Duration,
    /// Interval of the .hlog interval log and of the progress line.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub interval: Duration,
    /// Seed of the per-connection random generators.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pin each thread to its own CPU (glommio MaxSpread placement).
    #[arg(long)]
    pub pin: bool,
    /// With `--io uring`: how long an idle thread keeps polling for I/O before it sleeps (glommio
    /// spin-before-park), lower wake-up latency for the price of CPU time. 0 sleeps at once.
    #[arg(long, value_parser = parse_duration, default_value = "0")]
    pub spin: Duration,
    /// Socket back end: `epoll` (one edge-triggered epoll set per thread, on the glommio
    /// executor) or `uring` (glommio's own io_uring sockets and timers).
    #[arg(long, value_enum, default_value_t = IoMode::Epoll)]
    pub io: IoMode,
    /// Extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Write the latency percentile distribution (.hgrm, ms) to FILE.
    #[arg(long, value_name = "FILE")]
    pub hgrm: Option<PathBuf>,
    /// Write the HdrHistogram interval log (.hlog, µs values) to FILE.
    #[arg(long, value_name = "FILE")]
    pub hlog: Option<PathBuf>,
    /// Write the JSON results to FILE (`-` for standard output; the summary then goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a latency-by-percentile SVG plot to FILE.svg.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Also draw these .hgrm files on the --plot (repeatable).
    #[arg(long, value_name = "FILE.hgrm")]
    pub overlay: Vec<PathBuf>,
    /// Name of this run in the plot legend and the JSON.
    #[arg(long)]
    pub label: Option<String>,
    /// No progress line.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `url`.
#[derive(Args, Debug)]
pub struct UrlArgs {
    /// http://host[:port]/path
    pub url: String,
    /// Request method.
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,
    /// Request body.
    #[arg(long)]
    pub body: Option<String>,
    /// With `{i}` in the URL: how many indices to put there, from `--start`.
    #[arg(short = 'N', long, default_value_t = 1000)]
    pub subscribers: u64,
    /// With `{i}` in the URL: the first index.
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    /// With `{i}` in the URL: how each request picks its index.
    #[arg(long, value_enum, default_value_t = KeyDist::Uniform)]
    pub keys: KeyDist,
    /// Zipf exponent (with --keys zipf).
    #[arg(long, default_value_t = 1.0)]
    pub zipf_s: f64,
    #[command(flatten)]
    pub load: LoadOpts,
}

/// The subscriber population.
#[derive(Args, Debug, Clone)]
pub struct PopulationOpts {
    /// Subscriber i is <prefix>{i}@<domain> (IMPI) and sip:<prefix>{i}@<domain> (IMPU).
    #[arg(long, default_value = "lg")]
    pub prefix: String,
    /// Domain of the identities (and digest realm).
    #[arg(long, default_value = "example.com")]
    pub domain: String,
    /// Number of subscribers.
    #[arg(short = 'N', long, default_value_t = 1000)]
    pub subscribers: u64,
    /// Index of the first subscriber.
    #[arg(long, default_value_t = 0)]
    pub start: u64,
}

/// Options of the Homestead flows.
#[derive(Args, Debug, Clone)]
pub struct FlowOpts {
    /// Signalling (Homestead) address.
    #[arg(long, default_value = "http://127.0.0.1:8888")]
    pub target: String,
    /// How flows pick subscribers.
    #[arg(long, value_enum, default_value_t = KeyDist::Uniform)]
    pub keys: KeyDist,
    /// Zipf exponent (with --keys zipf).
    #[arg(long, default_value_t = 1.0)]
    pub zipf_s: f64,
    /// Check answers (JSON result codes, av contents, ClearwaterRegData XML and its state); a wrong
    /// answer is a `check` error and aborts the flow.
    #[arg(long)]
    pub check: bool,
}

/// A single-kind flow scenario.
#[derive(Args, Debug)]
pub struct FlowArgs {
    #[command(flatten)]
    pub population: PopulationOpts,
    #[command(flatten)]
    pub flow: FlowOpts,
    #[command(flatten)]
    pub load: LoadOpts,
}

/// `mix`.
#[derive(Args, Debug)]
pub struct MixArgs {
    /// Weights of the flows.
    #[arg(long, default_value = "register=1,reregister=4,call=10,deregister=1")]
    pub weights: String,
    #[command(flatten)]
    pub population: PopulationOpts,
    #[command(flatten)]
    pub flow: FlowOpts,
    #[command(flatten)]
    pub load: LoadOpts,
}

/// `provision`.
#[derive(Args, Debug)]
pub struct ProvisionArgs {
    /// Provisioning (Homestead-prov) address.
    #[arg(long, default_value = "http://127.0.0.1:8889")]
    pub prov: String,
    /// Password of every subscriber (digest_ha1 = MD5(impi:domain:password)).
    #[arg(long, default_value = "password")]
    pub password: String,
    /// ServiceProfile XML with the iFCs to PUT to filter_criteria (default: one INVITE trigger
    /// to sip:mmtel.<domain>).
    #[arg(long, value_name = "FILE")]
    pub ifc: Option<PathBuf>,
    #[command(flatten)]
    pub population: PopulationOpts,
    #[command(flatten)]
    pub load: LoadOpts,
}

/// `plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Output SVG file.
    #[arg(short = 'o', long, value_name = "FILE.svg")]
    pub out: PathBuf,
    /// Title.
    #[arg(long, default_value = "Latency by percentile")]
    pub title: String,
    /// .hgrm files, one series each (named after the file).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
        let c = Cli::try_parse_from([
            "hearth-loadgen",
            "mix",
            "--weights",
            "register=1",
            "-N",
            "100000",
            "-R",
            "500",
            "--keys",
            "zipf",
        ])
        .unwrap();
        match c.command {
            Command::Mix(m) => {
                assert_eq!(m.population.subscribers, 100000);
                assert_eq!(m.load.rate, Some(500.0));
                assert_eq!(m.flow.keys, KeyDist::Zipf);
            }
            _ => panic!(),
        }
        assert!(Cli::try_parse_from(["hearth-loadgen", "url", "http://x/", "--closed"]).is_err());
    }
}
