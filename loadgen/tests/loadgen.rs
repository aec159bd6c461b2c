//! Integration tests of the hearth-loadgen binary against small HTTP servers written here (std
//! threads, one per connection): the open-loop correctness test (coordinated omission corrected from
//! the schedule), the `url` scenario (pipelining, chunked answers, errors by status, timeouts,
//! output files) and `provision` against a fake Homestead-prov that checks Ellis's sequence.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A request as the fake servers see it.
struct Req {
    method: String,
    /// Percent-decoded path (without the query).
    path: String,
    body: Vec<u8>,
}

/// What a handler answers: raw response bytes, or nothing (the request is never answered).
type Handler = dyn Fn(&Req) -> Option<Vec<u8>> + Send + Sync;

/// One line of the server's log: when the request arrived and when its answer was written.
#[derive(Clone, Copy)]
struct Seen {
    arrived: Instant,
    answered: Instant,
}

struct Fake {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Seen>>>,
    count: Arc<AtomicU64>,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8 path")
}

fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut s = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (n, v) in headers {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str("\r\n");
    let mut v = s.into_bytes();
    v.extend_from_slice(body);
    v
}

impl Fake {
    fn start(handler: Arc<Handler>) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicU64::new(0));
        let (l2, c2) = (log.clone(), count.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (h, l, c) = (handler.clone(), l2.clone(), c2.clone());
                thread::spawn(move || serve(conn, &*h, &l, &c));
            }
        });
        Fake { addr, log, count }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn serve(mut conn: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>, count: &AtomicU64) {
    let _ = conn.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        // One complete request at the front of `buf`?
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())
                        .flatten()
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let arrived = Instant::now();
                let mut line = head.lines().next().unwrap_or("").split(' ');
                let method = line.next().unwrap_or("").to_string();
                let target = line.next().unwrap_or("");
                let path = percent_decode(target.split('?').next().unwrap_or(""));
                let body = buf[end + 4..end + 4 + len].to_vec();
                buf.drain(..end + 4 + len);
                count.fetch_add(1, Ordering::SeqCst);
                let req = Req { method, path, body };
                match handler(&req) {
                    Some(resp) => {
                        if conn.write_all(&resp).is_err() {
                            return;
                        }
                        log.lock().unwrap().push(Seen {
                            arrived,
                            answered: Instant::now(),
                        });
                    }
                    None => {
                        // Never answer: hold the connection until the client goes away.
                        while matches!(conn.read(&mut chunk), Ok(n) if n > 0) {}
                        return;
                    }
                }
                continue;
            }
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn loadgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth-loadgen"))
        .args(args)
        .output()
        .expect("run hearth-loadgen")
}

fn run_json(args: &[&str], json: &Path) -> Value {
    let out = loadgen(args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "hearth-loadgen {args:?} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let text = std::fs::read_to_string(json).expect("JSON output");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("hearth-loadgen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Value at quantile `q` as HdrHistogram computes it: the smallest value with at least
/// ceil(q * n) values at or below it.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn f(v: &Value, path: &[&str]) -> f64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path:?} missing in {v}"))
}

/// A server that answers at once, except that it stalls one answer for 1 s: that of the first
/// request arriving 2 s or more after the first request of the run.
fn stalling_server() -> Fake {
    let first: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let stalled = Arc::new(AtomicBool::new(false));
    Fake::start(Arc::new(move |_req: &Req| {
        let now = Instant::now();
        let t0 = *first.lock().unwrap().get_or_insert(now);
        if now.duration_since(t0) >= Duration::from_secs(2) && !stalled.swap(true, Ordering::SeqCst)
        {
            thread::sleep(Duration::from_secs(1));
        }
        Some(response(200, &[], b"ok"))
    }))
}

/// Checks an open-loop run through the stall against the schedule and what the server saw.
fn check_open_loop(open: &Value, srv: &Fake, io: &str) {
    // Every slot of the schedule was sent and answered: 6 s × 100/s, none skipped.
    assert_eq!(open["mode"], "open");
    assert_eq!(open["latency_from"], "intended");
    assert_eq!(f(open, &["responses"]), 600.0, "{io}: {open}");
    assert_eq!(f(open, &["errors", "total"]), 0.0);
    assert_eq!(srv.count.load(Ordering::SeqCst), 600);

    // Expected open-loop latencies from the schedule: request k is due at T0 + 10k ms; the server
    // saw when each answer left. T0 is estimated from the requests that were not held back.
    let log = srv.log.lock().unwrap().clone();
    assert_eq!(log.len(), 600);
    let slot = Duration::from_millis(10);
    let t0 = log
        .iter()
        .enumerate()
        .map(|(k, s)| s.arrived - slot * k as u32)
        .min()
        .unwrap();
    let mut expected: Vec<f64> = log
        .iter()
        .enumerate()
        .map(|(k, s)| (s.answered - (t0 + slot * k as u32)).as_secs_f64() * 1000.0)
        .collect();
    expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // The stall is where it was designed: ~100 requests held back, the worst by ~1 s.
    let held = expected.iter().filter(|&&l| l >= 5.0).count();
    assert!((95..=130).contains(&held), "{io}: held back: {held}");
    let (exp_p90, exp_p99) = (quantile(&expected, 0.90), quantile(&expected, 0.99));
    // Pure schedule: the held-back latencies are 1000 - 10j ms (j = 0..99) plus catch-up time.
    assert!(
        (395.0..=440.0).contains(&exp_p90),
        "{io}: expected p90 {exp_p90}"
    );
    assert!(
        (935.0..=975.0).contains(&exp_p99),
        "{io}: expected p99 {exp_p99}"
    );
    let (p90, p99) = (
        f(open, &["latency_ms", "p90"]),
        f(open, &["latency_ms", "p99"]),
    );
    eprintln!(
        "open loop ({io}): held back {held}; p90 {p90} (expected {exp_p90:.3}), \
         p99 {p99} (expected {exp_p99:.3})"
    );
    let close = |got: f64, want: f64| (got - want).abs() <= (want * 0.01).max(3.0);
    assert!(
        close(p90, exp_p90),
        "{io}: open-loop p90 {p90} ms, expected {exp_p90} ms: {open}"
    );
    assert!(
        close(p99, exp_p99),
        "{io}: open-loop p99 {p99} ms, expected {exp_p99} ms"
    );
    let max = f(open, &["latency_ms", "max"]);
    assert!((995.0..1100.0).contains(&max), "{io}: open-loop max {max}");
    // The same run measured from the actual send time shows only one slow request.
    let unc_p99 = f(open, &["latency_uncorrected_ms", "p99"]);
    assert!(unc_p99 < 50.0, "{io}: uncorrected p99 {unc_p99}");
}

/// Open loop at 100 req/s on one connection for 6 s through a 1 s stall: the latencies of the
/// requests scheduled during the stall run from their scheduled times (1000, 990, ..., 10 ms), so
/// p90 and p99 reflect the stall; the same load measured closed-loop hides it (only one request
/// sees 1 s). Open loop is checked with both socket back ends.
#[test]
fn open_loop_corrects_coordinated_omission() {
    let dir = temp_dir("openloop");
    let servers: Vec<Fake> = (0..3).map(|_| stalling_server()).collect();
    let runs: [(&str, &[&str]); 3] = [
        ("open-epoll", &["--io", "epoll"]),
        ("open-uring", &["--io", "uring"]),
        ("closed", &["--closed"]),
    ];
    let common = [
        "-t", "1", "-c", "1", "-R", "100", "-d", "6s", "--warmup", "0", "-q",
    ];
    // All runs at once (each is mostly idle): the test takes ~6 s, not 18.
    let results: Vec<Value> = thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .zip(&servers)
            .map(|((name, extra), srv)| {
                let json = dir.join(format!("{name}.json"));
                let common = &common;
                s.spawn(move || {
                    let url = srv.url("/");
                    let mut args = vec!["url", url.as_str()];
                    args.extend(common.iter());
                    args.extend(extra.iter());
                    args.extend(["--json", json.to_str().unwrap()]);
                    run_json(&args, &json)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    check_open_loop(&results[0], &servers[0], "epoll");
    check_open_loop(&results[1], &servers[1], "uring");

    // Closed-loop measurement of the same load: p99 is far below the stall, max is the stall.
    let closed = &results[2];
    assert_eq!(closed["mode"], "closed");
    assert_eq!(closed["latency_from"], "sent");
    assert_eq!(f(closed, &["responses"]), 600.0);
    let c_p99 = f(closed, &["latency_ms", "p99"]);
    let c_max = f(closed, &["latency_ms", "max"]);
    eprintln!("closed loop: p99 {c_p99}, max {c_max}");
    assert!(
        c_p99 < 50.0,
        "closed-loop p99 {c_p99} should not show the stall"
    );
    assert!((995.0..1100.0).contains(&c_max), "closed-loop max {c_max}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `url`: pipelined closed-loop load with Content-Length and chunked answers, errors by status,
/// timeouts, and the output files.
#[test]
fn url_scenario_counts_answers_errors_and_writes_outputs() {
    let dir = temp_dir("url");
    let srv = Fake::start(Arc::new(|req: &Req| {
        match req.path.as_str() {
        "/ok" => Some(response(200, &[], b"hello")),
        "/chunked" => Some(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\n!!!\r\n0\r\n\r\n"
                .to_vec(),
        ),
        "/slow" => None,
        _ => Some(response(404, &[], b"no")),
    }
    }));
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();

    // 1000 requests exactly, 4 connections × depth 4, plain and chunked, both socket back ends.
    for (path, io) in [
        ("/ok", "epoll"),
        ("/chunked", "epoll"),
        ("/ok", "uring"),
        ("/chunked", "uring"),
    ] {
        let before = srv.count.load(Ordering::SeqCst);
        let (json, hgrm, hlog, svg) = (p("a.json"), p("a.hgrm"), p("a.hlog"), p("a.svg"));
        let url = srv.url(path);
        let v = run_json(
            &[
                "url", &url, "-t", "2", "-c", "4", "-p", "4", "-n", "1000", "--warmup", "0", "-q",
                "--io", io, "--json", &json, "--hgrm", &hgrm, "--hlog", &hlog, "--plot", &svg,
            ],
            Path::new(&json),
        );
        assert_eq!(f(&v, &["responses"]), 1000.0, "{v}");
        assert_eq!(f(&v, &["sent"]), 1000.0);
        assert_eq!(f(&v, &["errors", "total"]), 0.0, "{v}");
        assert_eq!(f(&v, &["status", "200"]), 1000.0);
        assert_eq!(f(&v, &["depth"]), 4.0);
        assert_eq!(srv.count.load(Ordering::SeqCst) - before, 1000);
        let hgrm_text = std::fs::read_to_string(&hgrm).unwrap();
        assert!(hgrm_text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
        assert!(
            hgrm_text.contains("Total count    =         1000]"),
            "{hgrm_text}"
        );
        let hlog_text = std::fs::read_to_string(&hlog).unwrap();
        assert!(hlog_text.contains("#[Histogram log format version 1.3]"));
        assert!(
            hlog_text.lines().any(|l| l.starts_with("0.000,")),
            "{hlog_text}"
        );
        let svg_text = std::fs::read_to_string(&svg).unwrap();
        assert!(svg_text.starts_with("<svg") && svg_text.contains("99%"));
    }

    // Non-2xx/3xx answers are errors by status (and still answers with a latency).
    let json = p("b.json");
    let url = srv.url("/missing");
    let v = run_json(
        &[
            "url", &url, "-t", "1", "-c", "2", "-n", "50", "--warmup", "0", "-q", "--json", &json,
        ],
        Path::new(&json),
    );
    assert_eq!(f(&v, &["responses"]), 50.0);
    assert_eq!(f(&v, &["errors", "status", "404"]), 50.0, "{v}");
    assert_eq!(f(&v, &["errors", "total"]), 50.0);

    // Requests never answered are timeouts; the connection is replaced and the run goes on.
    let json = p("c.json");
    let url = srv.url("/slow");
    let v = run_json(
        &[
            "url",
            &url,
            "-t",
            "1",
            "-c",
            "2",
            "-d",
            "1s",
            "--timeout",
            "300ms",
            "--warmup",
            "0",
            "-q",
            "--json",
            &json,
        ],
        Path::new(&json),
    );
    assert_eq!(f(&v, &["responses"]), 0.0);
    let timeouts = f(&v, &["errors", "timeout"]);
    assert!(
        (4.0..=8.0).contains(&timeouts),
        "timeouts: {timeouts} ({v})"
    );

    // A refused connection is a connect error, not a hang.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let json = p("d.json");
    let url = format!("http://{closed}/");
    let v = run_json(
        &[
            "url", &url, "-t", "1", "-c", "1", "-d", "300ms", "--warmup", "0", "-q", "--json",
            &json,
        ],
        Path::new(&json),
    );
    assert!(f(&v, &["errors", "connect"]) >= 1.0, "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fake Homestead-prov that enforces Ellis's order: private ID, IRS, association, service
/// profile, public ID, iFCs.
#[derive(Default)]
struct Prov {
    privates: HashMap<String, Value>,
    irs: HashMap<String, Option<String>>, // IRS → associated IMPI
    sps: HashMap<String, String>,         // SP → IRS
    publics: HashMap<String, String>,     // IMPU → SP
    ifcs: HashSet<String>,                // SPs with iFCs
    next: u64,
}

fn prov_handler(state: Arc<Mutex<Prov>>) -> Arc<Handler> {
    Arc::new(move |req: &Req| {
        let mut st = state.lock().unwrap();
        let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        let ok = || Some(response(200, &[], b""));
        let bad = |why: &str| Some(response(400, &[], why.as_bytes()));
        match (req.method.as_str(), segs.as_slice()) {
            ("PUT", ["private", impi]) => {
                let Ok(v) = serde_json::from_slice::<Value>(&req.body) else {
                    return bad("json");
                };
                st.privates.insert(impi.to_string(), v);
                ok()
            }
            ("POST", ["irs"]) => {
                st.next += 1;
                let id = format!("irs-{}", st.next);
                st.irs.insert(id.clone(), None);
                Some(response(201, &[("Location", &format!("/irs/{id}"))], b""))
            }
            (
                "PUT",
                [
                    "private",
                    impi,
                    "associated_implicit_registration_sets",
                    irs,
                ],
            ) => {
                if !st.privates.contains_key(*impi) || !st.irs.contains_key(*irs) {
                    return Some(response(404, &[], b""));
                }
                st.irs.insert(irs.to_string(), Some(impi.to_string()));
                ok()
            }
            ("POST", ["irs", irs, "service_profiles"]) => {
                if st.irs.get(*irs).is_none_or(|a| a.is_none()) {
                    return Some(response(404, &[], b""));
                }
                st.next += 1;
                let sp = format!("sp-{}", st.next);
                st.sps.insert(sp.clone(), irs.to_string());
                let loc = format!("/irs/{irs}/service_profiles/{sp}");
                Some(response(201, &[("Location", &loc)], b""))
            }
            ("PUT", ["irs", irs, "service_profiles", sp, "public_ids", impu]) => {
                if st.sps.get(*sp).map(String::as_str) != Some(*irs) {
                    return Some(response(404, &[], b""));
                }
                let want = format!("<PublicIdentity><Identity>{impu}</Identity></PublicIdentity>");
                if req.body != want.as_bytes() {
                    return bad("PublicIdentity body");
                }
                st.publics.insert(impu.to_string(), sp.to_string());
                ok()
            }
            ("PUT", ["irs", irs, "service_profiles", sp, "filter_criteria"]) => {
                if st.sps.get(*sp).map(String::as_str) != Some(*irs)
                    || !st.publics.values().any(|s| s == sp)
                {
                    return Some(response(404, &[], b""));
                }
                if !req
                    .body
                    .starts_with(b"<ServiceProfile><InitialFilterCriteria>")
                {
                    return bad("iFC body");
                }
                st.ifcs.insert(sp.to_string());
                ok()
            }
            _ => Some(response(404, &[], b"")),
        }
    })
}

/// `provision` creates exactly the population the flows use, following Ellis's sequence over many
/// connections; a server that refuses a step makes it fail with exit status 1.
#[test]
fn provision_creates_the_population() {
    let dir = temp_dir("prov");
    let state = Arc::new(Mutex::new(Prov::default()));
    let srv = Fake::start(prov_handler(state.clone()));
    let json = dir.join("p.json");
    let prov = format!("http://{}", srv.addr);
    let v = run_json(
        &[
            "provision",
            "--prov",
            &prov,
            "-N",
            "300",
            "--start",
            "1000",
            "--prefix",
            "sub",
            "--domain",
            "ims.test",
            "-t",
            "2",
            "-c",
            "8",
            "-p",
            "2",
            "-q",
            "--json",
            json.to_str().unwrap(),
        ],
        &json,
    );
    assert_eq!(f(&v, &["flows", "completed"]), 300.0, "{v}");
    assert_eq!(f(&v, &["flows", "failed"]), 0.0);
    assert_eq!(f(&v, &["responses"]), 1800.0);
    assert_eq!(f(&v, &["errors", "total"]), 0.0);
    let st = state.lock().unwrap();
    assert_eq!(st.privates.len(), 300);
    assert_eq!(st.publics.len(), 300);
    assert_eq!(st.ifcs.len(), 300);
    for i in [1000u64, 1150, 1299] {
        let impi = format!("sub{i}@ims.test");
        let p = &st.privates[&impi];
        let ha1 = hearth_core::crypto::digest::ha1(
            hearth_core::crypto::digest::DigestAlgorithm::Md5,
            &impi,
            "ims.test",
            b"password",
            "",
            "",
        );
        assert_eq!(p["digest_ha1"], ha1.as_hex(), "{p}");
        assert_eq!(p["realm"], "ims.test");
        let sp = &st.publics[&format!("sip:{impi}")];
        let irs = &st.sps[sp];
        assert_eq!(st.irs[irs].as_deref(), Some(impi.as_str()));
    }
    assert!(!st.privates.contains_key("sub999@ims.test"));
    assert!(!st.privates.contains_key("sub1300@ims.test"));
    drop(st);

    // A server without the provisioning API: every flow fails at its first step.
    let srv = Fake::start(Arc::new(|_req: &Req| Some(response(404, &[], b""))));
    let prov = format!("http://{}", srv.addr);
    let out = loadgen(&["provision", "--prov", &prov, "-N", "5", "-c", "1", "-q"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
