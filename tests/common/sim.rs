//! Harness for HSS mode: the real `hearth hss-sim` as the HSS, and a small HTTP server standing
//! in for the SIP core (Sprout's registration API) that records what Hearth tells it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::{Answer, free_port};

/// A running `hearth hss-sim`.
pub struct Sim {
    child: Option<Child>,
    /// Its Diameter listener.
    pub diameter: SocketAddr,
    /// Its control API.
    pub control: SocketAddr,
    agent: ureq::Agent,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

impl Sim {
    /// Starts a simulator on a free port with the population file `population` (written by the
    /// caller) and extra arguments.
    pub fn start(population: &Path, extra: &[&str]) -> Sim {
        Self::start_on("127.0.0.1:0", population, extra)
    }

    /// Starts a simulator whose Diameter listener is `listen` (to restart one on its old port).
    pub fn start_on(listen: &str, population: &Path, extra: &[&str]) -> Sim {
        let population = population.to_str().expect("UTF-8 path");
        let mut args = vec!["--population", population, "--origin-realm", "example.com"];
        args.extend_from_slice(extra);
        Self::launch(listen, &args)
    }

    /// Starts a simulator on a free port with only `args` (a generated population, say).
    pub fn start_with(args: &[&str]) -> Sim {
        Self::launch("127.0.0.1:0", args)
    }

    /// Starts a simulator whose Diameter listener is `listen`, with `args`.
    pub fn launch(listen: &str, args: &[&str]) -> Sim {
        let control = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("hss-sim")
            .args(["--listen", listen])
            .args(["--control-addr", &control.to_string()])
            .args(args)
            .env("HEARTH_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start hss-sim");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("hss-sim: diameter listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let diameter: SocketAddr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("hss-sim printed its Diameter address")
            .parse()
            .expect("an address");
        let sim = Sim {
            child: Some(child),
            diameter,
            control,
            agent: agent(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while sim.get("/ping").map(|a| a.status) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "hss-sim control API did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sim
    }

    fn get(&self, path: &str) -> Option<Answer> {
        let mut resp = self
            .agent
            .get(format!("http://{}{path}", self.control))
            .call()
            .ok()?;
        Some(Answer {
            status: resp.status().as_u16(),
            body: resp.body_mut().read_to_string().unwrap_or_default(),
            location: None,
            content_type: None,
        })
    }

    /// GET on the control API: status and JSON body (null when it is not JSON).
    pub fn get_status(&self, path: &str) -> (u16, serde_json::Value) {
        let a = self.get(path).expect("control API answers");
        let body = serde_json::from_str(&a.body).unwrap_or(serde_json::Value::Null);
        (a.status, body)
    }

    /// Sets the simulator's injection (`POST /config`), which must be accepted.
    pub fn configure(&self, body: serde_json::Value) {
        let (status, answer) = self.post("/config", body);
        assert_eq!(status, 200, "{answer}");
    }

    /// POST on the control API from another thread (for commands such as `/rtr` that wait for
    /// an answer the test itself must give).
    pub fn post_in_background(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> std::thread::JoinHandle<(u16, serde_json::Value)> {
        let agent = self.agent.clone();
        let url = format!("http://{}{path}", self.control);
        std::thread::spawn(move || post(&agent, &url, body))
    }

    /// GET on the control API, as JSON.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let a = self.get(path).expect("control API answers");
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        a.json()
    }

    /// POST on the control API; status and JSON body.
    pub fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        post(&self.agent, &format!("http://{}{path}", self.control), body)
    }

    /// Requests of `command` (`MAR`, `UAR`, `LIR`, `SAR`) the simulator has seen.
    pub fn count(&self, command: &str) -> u64 {
        let stats = self.get_json("/stats");
        stats["requests"][command].as_u64().unwrap_or(0)
    }

    /// The simulator's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Stops the simulator with SIGTERM and returns how it exited.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "hss-sim ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the simulator at once (no DPR).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn post(agent: &ureq::Agent, url: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .expect("control API answers");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One request the SIP core received.
#[derive(Debug, Clone)]
pub struct Notification {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Body as JSON.
    pub body: serde_json::Value,
}

/// A stand-in for the SIP core's registration API: records every request and answers with the
/// status set by [`SipCore::answer_with`] (200 at first).
pub struct SipCore {
    /// Its address, for `[hss] sip_core_url`.
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Notification>>>,
    status: Arc<AtomicU16>,
}

impl SipCore {
    /// Starts listening on a free port.
    pub fn start() -> SipCore {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (r, s) = (Arc::clone(&received), Arc::clone(&status));
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (r, s) = (Arc::clone(&r), Arc::clone(&s));
                std::thread::spawn(move || serve(stream, &r, &s));
            }
        });
        SipCore {
            addr,
            received,
            status,
        }
    }

    /// Answers every later request with `status`.
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Notification> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests have arrived.
    pub fn wait_for(&self, count: usize) -> Vec<Notification> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the SIP core got {} notifications, not {count}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn serve(mut stream: TcpStream, received: &Mutex<Vec<Notification>>, status: &AtomicU16) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // One request per connection is all Hearth's notifier needs, but keep-alive is served.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.lines();
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let method = request_line.next().unwrap_or_default().to_string();
        let path = request_line.next().unwrap_or_default().to_string();
        let length: usize = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
        buf.drain(..head_end + length);
        received.lock().unwrap().push(Notification {
            method,
            path,
            body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
        });
        let code = status.load(Ordering::SeqCst);
        let answer = format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n");
        if stream.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
