//! Losing an HSS under load: Hearth in front of two hss-sim peers while client threads hammer
//! `GET /impi/<id>/av/digest` over keep-alive connections; one simulator is killed (SIGKILL, no
//! DPR) mid-run. Requests pending on it fail over to the other peer, so no request may fail
//! except one whose own Diameter timeout expired in flight: every failure must be a 503, there
//! can be no more of them than requests were in flight at the kill, and each must be a timeout
//! Hearth's links counted. Then the killed simulator restarts on the same port and must be back
//! in service — receiving MARs — within one watchdog interval (plus its jitter and a margin).
//!
//! The counts are printed (`cargo test --test hss_fault -- --nocapture`) for the note.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::sim::Sim;
use common::{Server, data_dir};
use hearth_core::crypto::digest::{self, DigestAlgorithm};
use serde_json::json;

const SUBSCRIBERS: usize = 64;
const THREADS: usize = 4;
/// Hearth's watchdog interval (the RFC 3539 minimum), the most its jitter adds, and the margin
/// allowed on top for reconnecting (TCP, CER/CEA, the REOPEN watchdogs) on a loaded machine.
const WATCHDOG_MS: u64 = 6_000;
const WATCHDOG_JITTER_MS: u64 = 2_000;
const MARGIN_MS: u64 = 2_000;
const DIAMETER_TIMEOUT_MS: u64 = 1_000;
/// How long each phase of the run lasts at least (both peers, one peer).
const PHASE: Duration = Duration::from_millis(1_500);

fn impi(i: usize) -> String {
    format!("user{i}@example.com")
}

fn population(dir: &Path) -> PathBuf {
    let subscribers: Vec<_> = (0..SUBSCRIBERS)
        .map(|i| {
            json!({"impi": impi(i), "password": format!("pw{i}"),
                   "irs": [{"id": format!("irs{i}"), "impus": [format!("sip:{}", impi(i))]}]})
        })
        .collect();
    let path = dir.join("population.json");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(json!({"subscribers": subscribers}).to_string().as_bytes()))
        .expect("write population");
    path
}

fn path(i: usize) -> String {
    format!("/impi/user{i}%40example.com/av/digest?impu=sip%3Auser{i}%40example.com")
}

/// The digest answer the HSS gives for subscriber `i`.
fn expected(i: usize) -> serde_json::Value {
    let ha1 = digest::ha1(
        DigestAlgorithm::Md5,
        &impi(i),
        "example.com",
        format!("pw{i}").as_bytes(),
        "",
        "",
    );
    json!({"digest": {"ha1": ha1.as_hex(), "qop": "auth", "realm": "example.com"}})
}

/// What the client threads saw.
#[derive(Default, Debug)]
struct Tally {
    /// Answers by status.
    statuses: BTreeMap<u16, u64>,
    /// 200s whose body was not the subscriber's digest.
    wrong: u64,
    /// Requests that got no HTTP answer at all.
    transport_errors: u64,
}

/// A closed-loop client: one keep-alive connection, one request in flight, until `stop`.
fn client(
    base: String,
    thread: usize,
    stop: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    tally: Arc<Mutex<Tally>>,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let mut n = thread;
    while !stop.load(Ordering::SeqCst) {
        let i = n % SUBSCRIBERS;
        n += THREADS;
        in_flight.fetch_add(1, Ordering::SeqCst);
        let answer = agent.get(format!("{base}{}", path(i))).call();
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut tally = tally.lock().unwrap();
        match answer {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                *tally.statuses.entry(status).or_default() += 1;
                if status == 200 {
                    let body = resp.body_mut().read_to_string().unwrap_or_default();
                    if serde_json::from_str::<serde_json::Value>(&body).ok() != Some(expected(i)) {
                        tally.wrong += 1;
                    }
                }
            }
            Err(_) => tally.transport_errors += 1,
        }
    }
}

/// The sum over shards of a `hearth_diameter_<name>` counter.
fn counter(s: &Server, name: &str) -> u64 {
    let metrics = s.prov("GET", "/metrics", None);
    assert_eq!(metrics.status, 200);
    let prefix = format!("hearth_diameter_{name}{{");
    metrics
        .body
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn wait_until(what: &str, wait: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < wait, "{what} within {wait:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

#[test]
fn killing_one_of_two_hss_peers_under_load_fails_only_timed_out_requests() {
    let dir = data_dir();
    let population = population(dir.path());
    let mut first = Sim::start(&population, &[]);
    let second = Sim::start(&population, &[]);
    let first_addr = first.diameter;
    let toml = format!(
        "diameter_timeout_ms = {DIAMETER_TIMEOUT_MS}\n[hss]\npeers = [\"{}\", \"{}\"]\nwatchdog_interval_ms = {WATCHDOG_MS}\n",
        first.diameter, second.diameter
    );
    let s = Server::start_with_config(dir.path(), 2, &toml, &[]);
    // Every shard connected to both peers: MARs reach both.
    wait_until("both peers in service", Duration::from_secs(30), || {
        (0..8).all(|i| s.sig("GET", &path(i), None).status == 200)
            && first.count("MAR") > 0
            && second.count("MAR") > 0
    });

    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients: Vec<_> = (0..THREADS)
        .map(|t| {
            let (stop, in_flight, tally) = (stop.clone(), in_flight.clone(), tally.clone());
            let base = format!("http://{}", s.sig);
            std::thread::spawn(move || client(base, t, stop, in_flight, tally))
        })
        .collect();
    let answered = || tally.lock().unwrap().statuses.values().sum::<u64>();

    // A few seconds under load, both peers answering.
    wait_until("load running", Duration::from_secs(30), || {
        answered() >= 300
    });
    std::thread::sleep(PHASE);
    let first_before_kill = first.count("MAR");
    let second_before_kill = second.count("MAR");
    let failovers_before = counter(&s, "failovers_total");
    let in_flight_at_kill = in_flight.load(Ordering::SeqCst);
    first.kill();
    let answered_at_kill = answered();

    // The survivor carries the load for a while.
    wait_until("load on the survivor", Duration::from_secs(30), || {
        answered() >= answered_at_kill + 300
    });
    std::thread::sleep(PHASE);
    let second_after = second.count("MAR");
    assert!(
        second_after >= second_before_kill + 300,
        "the surviving peer took the load: {second_before_kill} → {second_after} MARs"
    );

    // Restarted on the same port: back in service within one watchdog interval.
    let restarted = Sim::start_on(&first_addr.to_string(), &population, &[]);
    assert_eq!(restarted.diameter, first_addr);
    let back_after = wait_until(
        "the restarted peer receives MARs again",
        Duration::from_millis(WATCHDOG_MS + WATCHDOG_JITTER_MS + MARGIN_MS),
        || restarted.count("MAR") > 0,
    );
    // Some more load with both peers.
    let answered_back = answered();
    wait_until("load after the restart", Duration::from_secs(30), || {
        answered() >= answered_back + 200
    });
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("client thread");
    }

    let tally = tally.lock().unwrap();
    let total: u64 = tally.statuses.values().sum();
    let failed: u64 = tally
        .statuses
        .iter()
        .filter(|(status, _)| **status != 200)
        .map(|(_, n)| n)
        .sum();
    let timeouts = counter(&s, "timeouts_total");
    let no_peer = counter(&s, "no_peer_total");
    let failovers = counter(&s, "failovers_total") - failovers_before;
    eprintln!(
        "hss_fault: {total} requests ({THREADS} keep-alive clients, 2 shards, 2 peers, diameter_timeout_ms {DIAMETER_TIMEOUT_MS}); \
         killed peer had {first_before_kill} MARs, {in_flight_at_kill} requests in flight at the kill; \
         statuses {:?}; {} wrong answers, {} transport errors; link counters: {timeouts} timeouts, {no_peer} no-peer, \
         {failovers} failovers after the kill; restarted peer back after {back_after:?} (its MARs: {})",
        tally.statuses,
        tally.wrong,
        tally.transport_errors,
        restarted.count("MAR"),
    );
    assert_eq!(tally.transport_errors, 0, "every request got an answer");
    assert_eq!(tally.wrong, 0, "every 200 carried the subscriber's digest");
    assert!(
        tally.statuses.keys().all(|s| *s == 200 || *s == 503),
        "only 200 and 503: {:?}",
        tally.statuses
    );
    assert!(
        failed <= in_flight_at_kill as u64,
        "{failed} failures, but only {in_flight_at_kill} requests were in flight at the kill"
    );
    assert_eq!(
        failed, timeouts,
        "each failure is a request whose own Diameter timeout expired"
    );
    assert_eq!(no_peer, 0, "a peer was always available");
}
