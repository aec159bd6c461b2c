//! Durability and shutdown against the real binary: every acknowledged write survives SIGKILL,
//! SIGTERM lets in-flight requests finish before a clean exit, and a data directory serves one
//! process at a time.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Server, data_dir, enc, public_identity_xml};

/// Subscribers provisioned by each scenario.
const SUBSCRIBERS: usize = 1000;
/// Concurrent clients used to provision and check them.
const CLIENTS: usize = 8;

/// One provisioned subscriber.
#[derive(Clone, Debug)]
struct Sub {
    impi: String,
    impu: String,
    ha1: String,
    irs: String,
    sp: String,
}

fn ha1_of(i: usize) -> String {
    format!("{:032x}", (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15)
}

/// A client of its own (the harness's panics on transport errors; these threads must tell a
/// transport error from an answer).
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// What one request got: an answer whose body was read whole, or why not.
#[derive(Debug)]
enum Got {
    Answer {
        status: u16,
        body: String,
        location: Option<String>,
    },
    /// No answer began (connection refused, reset or closed before the status line).
    NoAnswer(String),
    /// The status line came but the body broke off: an answer cut short.
    CutShort { status: u16, error: String },
}

fn call(
    agent: &ureq::Agent,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Got {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    let sent = match body {
        Some(text) => agent.run(
            req.header("Content-Type", "application/json")
                .body(text.to_string())
                .unwrap(),
        ),
        None => agent.run(req.body(()).unwrap()),
    };
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => return Got::NoAnswer(e.to_string()),
    };
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match resp.body_mut().read_to_string() {
        Ok(body) => Got::Answer {
            status,
            body,
            location,
        },
        Err(e) => Got::CutShort {
            status,
            error: e.to_string(),
        },
    }
}

/// `call` that must be answered.
fn must(
    agent: &ureq::Agent,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, String, Option<String>) {
    match call(agent, addr, method, path, body) {
        Got::Answer {
            status,
            body,
            location,
        } => (status, body, location),
        Got::NoAnswer(error) => panic!("{method} {path}: no answer: {error}"),
        Got::CutShort { status, error } => panic!("{method} {path}: {status} cut short: {error}"),
    }
}

/// Provisions subscriber `i` with the lean sequence: PUT private, POST irs, associate, POST
/// service profile, PUT public ID. Every step must be acknowledged.
fn provision_one(agent: &ureq::Agent, prov: SocketAddr, i: usize) -> Sub {
    let impi = format!("dur{i}@example.com");
    let impu = format!("sip:dur{i}@example.com");
    let ha1 = ha1_of(i);
    let body = format!(r#"{{"digest_ha1":"{ha1}","realm":"example.com"}}"#);
    let (st, b, _) = must(
        agent,
        prov,
        "PUT",
        &format!("/private/{}", enc(&impi)),
        Some(&body),
    );
    assert_eq!(st, 200, "PUT private {i}: {b}");
    let (st, b, loc) = must(agent, prov, "POST", "/irs/", None);
    assert_eq!(st, 201, "POST irs {i}: {b}");
    let irs = loc
        .expect("IRS Location")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (st, b, _) = must(
        agent,
        prov,
        "PUT",
        &format!(
            "/private/{}/associated_implicit_registration_sets/{irs}",
            enc(&impi)
        ),
        None,
    );
    assert_eq!(st, 200, "associate {i}: {b}");
    let (st, b, loc) = must(
        agent,
        prov,
        "POST",
        &format!("/irs/{irs}/service_profiles"),
        None,
    );
    assert_eq!(st, 201, "POST service profile {i}: {b}");
    let sp = loc
        .expect("SP Location")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let req = ureq::http::Request::builder()
        .method("PUT")
        .uri(format!(
            "http://{prov}/irs/{irs}/service_profiles/{sp}/public_ids/{}",
            enc(&impu)
        ))
        .header("Content-Type", "application/xml")
        .body(public_identity_xml(&impu))
        .unwrap();
    let mut resp = agent.run(req).expect("PUT public ID");
    assert_eq!(
        resp.status().as_u16(),
        200,
        "PUT public ID {i}: {}",
        resp.body_mut().read_to_string().unwrap_or_default()
    );
    Sub {
        impi,
        impu,
        ha1,
        irs,
        sp,
    }
}

/// Runs `work(agent, i)` for i in 0..n on `CLIENTS` threads; results in index order.
fn parallel<T: Send>(n: usize, work: impl Fn(&ureq::Agent, usize) -> T + Sync) -> Vec<T> {
    let results: Mutex<BTreeMap<usize, T>> = Mutex::new(BTreeMap::new());
    let next = AtomicUsize::new(0);
    thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                let agent = agent();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let value = work(&agent, i);
                    results.lock().unwrap().insert(i, value);
                }
            });
        }
    });
    results.into_inner().unwrap().into_values().collect()
}

fn provision_all(s: &Server) -> Vec<Sub> {
    let prov = s.prov;
    parallel(SUBSCRIBERS, |agent, i| provision_one(agent, prov, i))
}

/// The registration state reported by GET reg-data.
fn reg_state(agent: &ureq::Agent, sig: SocketAddr, impu: &str) -> String {
    let (st, body, _) = must(
        agent,
        sig,
        "GET",
        &format!("/impu/{}/reg-data", enc(impu)),
        None,
    );
    assert_eq!(st, 200, "reg-data {impu}: {body}");
    let start = body
        .find("<RegistrationState>")
        .unwrap_or_else(|| panic!("no RegistrationState for {impu}: {body}"))
        + "<RegistrationState>".len();
    let end = body[start..].find('<').unwrap() + start;
    body[start..end].to_string()
}

/// Checks every part of every subscriber, and the registration state of each: `registered(i)`
/// says whether it must be registered, or `None` when either state is right (a registration that
/// was in flight, unacknowledged, when the process died).
fn check_all(s: &Server, subs: &[Sub], registered: impl Fn(usize) -> Option<bool> + Sync) {
    let (prov, sig) = (s.prov, s.sig);
    parallel(subs.len(), |agent, i| {
        let sub = &subs[i];
        let (st, body, _) = must(
            agent,
            prov,
            "GET",
            &format!("/private/{}", enc(&sub.impi)),
            None,
        );
        assert_eq!(st, 200, "private {i} lost: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["digest_ha1"], sub.ha1.as_str(), "private {i}");
        let (st, body, loc) = must(
            agent,
            prov,
            "GET",
            &format!("/public/{}/service_profile", enc(&sub.impu)),
            None,
        );
        assert_eq!(st, 303, "public {i} lost: {body}");
        assert_eq!(
            loc.as_deref(),
            Some(format!("/irs/{}/service_profiles/{}", sub.irs, sub.sp).as_str()),
            "public {i}"
        );
        let (st, body, _) = must(
            agent,
            prov,
            "GET",
            &format!("/irs/{}/private_ids", sub.irs),
            None,
        );
        assert_eq!(st, 200, "IRS {i} lost: {body}");
        assert!(body.contains(&sub.impi), "association {i} lost: {body}");
        let (st, body, _) = must(
            agent,
            sig,
            "GET",
            &format!("/impi/{}/av/digest?impu={}", enc(&sub.impi), enc(&sub.impu)),
            None,
        );
        assert_eq!(st, 200, "digest AV {i}: {body}");
        assert!(body.contains(&sub.ha1), "digest AV {i}: {body}");
        let state = reg_state(agent, sig, &sub.impu);
        match registered(i) {
            Some(true) => assert_eq!(state, "REGISTERED", "registration of {i}"),
            Some(false) => assert_eq!(state, "NOT_REGISTERED", "registration of {i}"),
            None => assert!(
                matches!(state.as_str(), "REGISTERED" | "NOT_REGISTERED"),
                "registration of {i}: {state}"
            ),
        }
    });
}

fn register(s: &Server, subs: &[Sub], which: impl Fn(usize) -> bool + Sync) {
    let sig = s.sig;
    parallel(subs.len(), |agent, i| {
        if which(i) {
            let (st, body, _) = must(
                agent,
                sig,
                "PUT",
                &format!("/impu/{}/reg-data", enc(&subs[i].impu)),
                Some(r#"{"reqtype":"reg"}"#),
            );
            assert_eq!(st, 200, "reg {i}: {body}");
            assert!(
                body.contains("<RegistrationState>REGISTERED<"),
                "reg {i}: {body}"
            );
        }
    });
}

fn listing_len(body: &str) -> Result<usize, String> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("listing is not JSON ({e})"))?;
    v["public_ids"]
        .as_array()
        .map(Vec::len)
        .ok_or_else(|| "listing has no public_ids".to_string())
}

fn write_config(dir: &Path, toml: &str) -> String {
    let path = dir.join("hearth.toml");
    std::fs::write(&path, toml).unwrap();
    path.to_str().unwrap().to_string()
}

// ------------------------------------------------------------------ SIGKILL

#[test]
fn every_acknowledged_write_survives_sigkill() {
    let dir = data_dir();
    let mut s = Server::start(dir.path(), 2);
    let subs = provision_all(&s);
    register(&s, &subs, |i| i % 2 == 0);

    // Writers still busy when the process is killed: whatever they were told is done must be
    // there afterwards (what was in flight may or may not be).
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (prov, sig) = (s.prov, s.sig);
            let stop = Arc::clone(&stop);
            let progress = Arc::clone(&progress);
            let subs = subs.clone();
            thread::spawn(move || {
                let agent = agent();
                let mut acked_private = Vec::new();
                let mut acked_reg = Vec::new();
                let mut tried_reg = Vec::new();
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let impi = format!("late{t}-{n}@example.com");
                    let body = format!(r#"{{"digest_ha1":"{}"}}"#, ha1_of(100_000 + n));
                    match call(
                        &agent,
                        prov,
                        "PUT",
                        &format!("/private/{}", enc(&impi)),
                        Some(&body),
                    ) {
                        Got::Answer { status: 200, .. } => acked_private.push(n),
                        Got::Answer { status, body, .. } => {
                            panic!("late write {impi}: {status} {body}")
                        }
                        _ => break,
                    }
                    // Register some odd subscribers too (odd ones were left unregistered).
                    let i = 1 + 2 * ((t * 125 + n) % (SUBSCRIBERS / 2));
                    tried_reg.push(i);
                    match call(
                        &agent,
                        sig,
                        "PUT",
                        &format!("/impu/{}/reg-data", enc(&subs[i].impu)),
                        Some(r#"{"reqtype":"reg"}"#),
                    ) {
                        Got::Answer { status: 200, .. } => acked_reg.push(i),
                        Got::Answer { status, body, .. } => panic!("late reg {i}: {status} {body}"),
                        _ => break,
                    }
                    progress.fetch_add(1, Ordering::SeqCst);
                }
                (t, acked_private, acked_reg, tried_reg)
            })
        })
        .collect();
    let until = Instant::now() + Duration::from_secs(60);
    while progress.load(Ordering::SeqCst) < 40 && Instant::now() < until {
        thread::sleep(Duration::from_millis(10));
    }
    s.kill();
    stop.store(true, Ordering::SeqCst);
    let mut late_private = Vec::new();
    let mut late_reg = BTreeSet::new();
    let mut tried_reg = BTreeSet::new();
    for w in writers {
        let (t, private, reg, tried) = w.join().unwrap();
        late_private.extend(private.into_iter().map(|n| (t, n)));
        late_reg.extend(reg);
        tried_reg.extend(tried);
    }
    assert!(!late_private.is_empty(), "no late write was acknowledged");

    let s = Server::start(dir.path(), 2);
    check_all(&s, &subs, |i| {
        if i % 2 == 0 || late_reg.contains(&i) {
            Some(true)
        } else if tried_reg.contains(&i) {
            None
        } else {
            Some(false)
        }
    });
    let late = late_private.clone();
    let prov = s.prov;
    parallel(late.len(), |agent, k| {
        let (t, n) = late[k];
        let (st, body, _) = must(
            agent,
            prov,
            "GET",
            &format!("/private/{}", enc(&format!("late{t}-{n}@example.com"))),
            None,
        );
        assert_eq!(st, 200, "acknowledged late write {t}-{n} lost: {body}");
        assert!(body.contains(&ha1_of(100_000 + n)), "{body}");
    });
    let listing = s.prov("GET", "/public/", None);
    assert_eq!(listing_len(&listing.body), Ok(SUBSCRIBERS));
}

// ------------------------------------------------------------------ SIGTERM

/// A raw connection holding a request of which only `first` has been sent.
struct Partial {
    stream: TcpStream,
    rest: Vec<u8>,
    what: String,
}

impl Partial {
    fn start(addr: SocketAddr, request: &[u8], split: usize, what: String) -> Partial {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(&request[..split]).unwrap();
        Partial {
            stream,
            rest: request[split..].to_vec(),
            what,
        }
    }

    /// Sends the rest and returns the whole answer (read until the server closes).
    fn finish(mut self) -> (String, String) {
        let sent = self.stream.write_all(&self.rest);
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        if let Err(e) = sent {
            out.extend_from_slice(format!("<write failed: {e}>").as_bytes());
        }
        (self.what, String::from_utf8_lossy(&out).into_owned())
    }
}

/// Waits until `addr` refuses connections (the server stopped accepting).
fn wait_refused(addr: SocketAddr) {
    let until = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
        assert!(Instant::now() < until, "{addr} still accepts after SIGTERM");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_drains_in_flight_requests_then_exits_cleanly() {
    let dir = data_dir();
    let drain_secs = 8;
    let config = write_config(
        dir.path(),
        &format!("[http]\ndrain_timeout_secs = {drain_secs}\nrequest_timeout_secs = 30\n"),
    );
    let mut s = Server::start_with(dir.path(), 2, &["--config", &config]);
    let subs = provision_all(&s);

    // Requests caught half-sent by SIGTERM, on both listeners, with keys owned by both shards;
    // they are completed one after another once the server has stopped accepting.
    let mut partials = Vec::new();
    for (k, sub) in subs.iter().enumerate().take(12) {
        if k % 3 == 0 {
            let body = format!(
                r#"{{"digest_ha1":"{}","realm":"drain.net"}}"#,
                ha1_of(50_000 + k)
            );
            let req = format!(
                "PUT /private/drain{k}%40example.com HTTP/1.1\r\nHost: hearth\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let split = req.len() - body.len() / 2;
            partials.push(Partial::start(
                s.prov,
                req.as_bytes(),
                split,
                format!("PUT drain{k}"),
            ));
        } else {
            let req = format!(
                "GET /impi/{}/av/digest?impu={} HTTP/1.1\r\nHost: hearth\r\n\r\n",
                enc(&sub.impi),
                enc(&sub.impu)
            );
            partials.push(Partial::start(
                s.sig,
                req.as_bytes(),
                25,
                format!("digest AV {k}"),
            ));
        }
    }

    // A chunked body of which one chunk arrived: the parser holds the head and the buffer is
    // empty, and the request is still in flight.
    {
        let body = format!(r#"{{"digest_ha1":"{}"}}"#, ha1_of(60_000));
        let (one, two) = body.split_at(10);
        let req = format!(
            "PUT /private/chunked-drain%40example.com HTTP/1.1\r\nHost: hearth\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
             {:x}\r\n{one}\r\n{:x}\r\n{two}\r\n0\r\n\r\n",
            one.len(),
            two.len()
        );
        let split = req.find(&format!("{:x}\r\n{two}", two.len())).unwrap();
        partials.push(Partial::start(
            s.prov,
            req.as_bytes(),
            split,
            "PUT chunked".to_string(),
        ));
    }

    // One more, finished last and alone (after every other connection is done): a filter
    // criteria update of an IRS whose 16 public IDs are spread over both shards, so answering it
    // needs every shard to drop its cached views — including shards with no connection left.
    let spread_impus: Vec<String> = (0..16)
        .map(|j| format!("sip:spread{j}@example.com"))
        .collect();
    let spread_refs: Vec<&str> = spread_impus.iter().map(String::as_str).collect();
    let spread = common::provision(&s, "spread@example.com", &spread_refs, &ha1_of(7));
    let listed = SUBSCRIBERS + spread_impus.len();
    let spread_sp = format!("/irs/{}/service_profiles/{}", spread.irs, spread.sp);
    let drained_ifc = common::IFC_XML.replace("sip:mmtel.example.com", "sip:drained.example.com");
    let last = {
        let req = format!(
            "PUT {spread_sp}/filter_criteria HTTP/1.1\r\nHost: hearth\r\n\
             Content-Type: application/xml\r\nContent-Length: {}\r\n\r\n{drained_ifc}",
            drained_ifc.len()
        );
        let split = req.len() - 20;
        Partial::start(
            s.prov,
            req.as_bytes(),
            split,
            "PUT filter_criteria".to_string(),
        )
    };

    // Clients hammering both listeners: listings of all 1,000, AVs, reads and writes.
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let load: Vec<_> = (0..6)
        .map(|t| {
            let (prov, sig) = (s.prov, s.sig);
            let subs = subs.clone();
            let stop = Arc::clone(&stop);
            let progress = Arc::clone(&progress);
            thread::spawn(move || {
                let agent = agent();
                let mut bad = Vec::new();
                let mut answered = 0usize;
                let mut acked = Vec::new();
                for n in 0usize.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let sub = &subs[(t * 131 + n * 7) % subs.len()];
                    let (addr, method, path, body) = match (t, n % 3) {
                        (0 | 1, _) => (prov, "GET", "/public/".to_string(), None),
                        (_, 0) => (
                            sig,
                            "GET",
                            format!("/impi/{}/av/digest?impu={}", enc(&sub.impi), enc(&sub.impu)),
                            None,
                        ),
                        (_, 1) => (prov, "GET", format!("/private/{}", enc(&sub.impi)), None),
                        _ => (
                            prov,
                            "PUT",
                            format!("/private/load{t}-{n}%40example.com"),
                            Some(format!(r#"{{"digest_ha1":"{}"}}"#, ha1_of(200_000 + n))),
                        ),
                    };
                    match call(&agent, addr, method, &path, body.as_deref()) {
                        Got::Answer { status, body, .. } => {
                            answered += 1;
                            let ok = match (method, path.as_str()) {
                                (_, "/public/") => {
                                    status == 200 && listing_len(&body) == Ok(listed)
                                }
                                ("PUT", _) => status == 200,
                                _ => status == 200 && body.contains(&sub.ha1),
                            };
                            if !ok {
                                bad.push(format!(
                                    "{method} {path}: {status} {}",
                                    &body[..body.len().min(200)]
                                ));
                            } else if method == "PUT" {
                                acked.push(n);
                            }
                        }
                        Got::CutShort { status, error } => {
                            bad.push(format!("{method} {path}: {status} cut short: {error}"));
                        }
                        // The server stopped accepting, or closed an idle keep-alive connection:
                        // nothing was in flight.
                        Got::NoAnswer(_) => break,
                    }
                    progress.fetch_add(1, Ordering::SeqCst);
                }
                (t, answered, bad, acked)
            })
        })
        .collect();
    let until = Instant::now() + Duration::from_secs(60);
    while progress.load(Ordering::SeqCst) < 60 && Instant::now() < until {
        thread::sleep(Duration::from_millis(10));
    }

    // SIGTERM (terminate() waits for the exit); the half-sent requests are completed meanwhile,
    // staggered, after the listeners closed.
    let sig_addr = s.sig;
    let finisher = thread::spawn(move || {
        wait_refused(sig_addr);
        let mut answers = partials
            .into_iter()
            .map(|p| {
                thread::sleep(Duration::from_millis(250));
                p.finish()
            })
            .collect::<Vec<_>>();
        thread::sleep(Duration::from_millis(750));
        answers.push(last.finish());
        answers
    });
    let started = Instant::now();
    let clean = s.terminate();
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    assert!(clean, "hearth did not exit with status 0 after SIGTERM");
    assert!(
        took < Duration::from_secs(drain_secs + 10),
        "exit took {took:?} with a drain timeout of {drain_secs} s"
    );

    for (what, answer) in finisher.join().unwrap() {
        assert!(
            answer.starts_with("HTTP/1.1 200 "),
            "{what}, in flight at SIGTERM, got: {answer:?}"
        );
        assert!(answer.contains("Connection: close"), "{what}: {answer:?}");
        if what.starts_with("digest") {
            let k: usize = what.rsplit(' ').next().unwrap().parse().unwrap();
            assert!(answer.contains(&subs[k].ha1), "{what}: {answer:?}");
        }
    }
    let mut acked_load = Vec::new();
    let mut answered = 0;
    for l in load {
        let (t, n, bad, acked) = l.join().unwrap();
        assert!(bad.is_empty(), "client {t} got invalid answers: {bad:#?}");
        answered += n;
        acked_load.extend(acked.into_iter().map(|n| (t, n)));
    }
    assert!(answered > 0);

    // Everything is there after a restart: the subscribers, the writes completed during the
    // drain, and every acknowledged write of the load.
    let mut s = Server::start_with(dir.path(), 2, &["--config", &config]);
    check_all(&s, &subs, |_| Some(false));
    for k in (0..12).step_by(3) {
        let r = s.prov("GET", &format!("/private/drain{k}%40example.com"), None);
        assert_eq!(r.status, 200, "drain write {k} lost");
        assert_eq!(r.json()["digest_ha1"], ha1_of(50_000 + k).as_str());
        assert_eq!(r.json()["realm"], "drain.net");
    }
    let r = s.prov("GET", "/private/chunked-drain%40example.com", None);
    assert_eq!(r.status, 200, "chunked drain write lost");
    assert_eq!(r.json()["digest_ha1"], ha1_of(60_000).as_str());
    let r = s.prov("GET", &format!("{spread_sp}/filter_criteria"), None);
    assert!(r.body.contains("sip:drained.example.com"), "{}", r.body);
    for (t, n) in &acked_load {
        let r = s.prov("GET", &format!("/private/load{t}-{n}%40example.com"), None);
        assert_eq!(r.status, 200, "acknowledged load write {t}-{n} lost");
    }

    // A client that never finishes its request cannot hold the exit past the drain timeout.
    let mut stuck = TcpStream::connect(s.prov).unwrap();
    stuck
        .write_all(b"PUT /private/stuck%40example.com HTTP/1.1\r\nHost: hea")
        .unwrap();
    let idle = TcpStream::connect(s.sig).unwrap();
    thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert!(s.terminate(), "no clean exit with a stuck client");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(drain_secs + 10),
        "a stuck client held the exit for {took:?}"
    );
    stuck
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 256];
    let end = stuck.read(&mut buf);
    assert!(
        matches!(end, Ok(0))
            || end
                .as_ref()
                .is_err_and(|e| e.kind() != ErrorKind::WouldBlock),
        "stuck connection still open after exit: {end:?}"
    );
    drop(idle);

    let s = Server::start_with(dir.path(), 2, &["--config", &config]);
    let r = s.prov("GET", "/public/?excludeuuids=true", None);
    assert_eq!(listing_len(&r.body), Ok(listed));
    assert_eq!(
        s.prov("GET", "/private/drain0%40example.com", None).status,
        200
    );
}

// ------------------------------------------------------------------ one process per directory

fn free_port() -> SocketAddr {
    common::free_port()
}

#[test]
fn a_second_server_on_the_same_data_directory_refuses_to_start() {
    let dir = data_dir();
    let mut s = Server::start(dir.path(), 2);
    let subs: Vec<Sub> = {
        let agent = agent();
        (0..5).map(|i| provision_one(&agent, s.prov, i)).collect()
    };

    let mut second = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("serve")
        .args(["--shards", "1", "--data-dir"])
        .arg(&s.data_dir)
        .arg("--signalling-addr")
        .arg(free_port().to_string())
        .arg("--provisioning-addr")
        .arg(free_port().to_string())
        .env("HEARTH_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = second.kill();
            let _ = second.wait();
            panic!("a second server started on a data directory in use");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success(), "second server exited with {status}");
    let dir_text = s.data_dir.display().to_string();
    assert!(
        stderr.contains(&dir_text) && stderr.contains("in use by another hearth process"),
        "unclear error: {stderr:?}"
    );

    // The first one is unaffected and keeps its data; once it has stopped, the directory can be
    // opened again.
    let agent = agent();
    check_all(&s, &subs, |_| Some(false));
    let more = provision_one(&agent, s.prov, 5);
    assert!(s.terminate());
    let s = Server::start(dir.path(), 1);
    check_all(&s, &[subs, vec![more]].concat(), |_| Some(false));
}
