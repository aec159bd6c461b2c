//! Test harness: starts the real `hearth` binary on free loopback ports with a temporary data
//! directory, and talks to it over HTTP like a SIP core or Ellis would.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod external;
pub mod hss;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod sim;

/// A running server.
pub struct Server {
    child: Option<Child>,
    /// With the Cassandra store: the keyspace prefix of this server's keyspaces.
    pub keyspace_prefix: Option<String>,
    /// Signalling listener.
    pub sig: SocketAddr,
    /// Provisioning listener.
    pub prov: SocketAddr,
    /// Its data directory (kept by `data`).
    pub data_dir: PathBuf,
    agent: ureq::Agent,
}

/// A temporary test directory that outlives server restarts: the data directory of the
/// embedded store, or, with the Cassandra store, the keyspace prefix of the servers started in
/// it. Dropping it removes the directory and drops those keyspaces.
pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if let Ok(prefix) = std::fs::read_to_string(self.dir.path().join(PREFIX_FILE)) {
            drop_keyspaces(prefix.trim());
        }
    }
}

/// Where a test directory keeps its keyspace prefix.
const PREFIX_FILE: &str = "cassandra-keyspace-prefix";

/// A temporary data directory that outlives server restarts.
pub fn data_dir() -> TestDir {
    TestDir {
        dir: tempfile::Builder::new()
            .prefix("hearth-test-")
            .tempdir()
            .expect("temp dir"),
    }
}

/// The keyspace prefix of the test directory `dir`, chosen on first use.
pub fn keyspace_prefix_of(dir: &Path) -> String {
    let file = dir.join(PREFIX_FILE);
    if let Ok(prefix) = std::fs::read_to_string(&file) {
        return prefix.trim().to_owned();
    }
    let prefix = new_keyspace_prefix();
    std::fs::write(&file, &prefix).expect("write the keyspace prefix");
    prefix
}

/// A loopback address free for a server to listen on. Chosen below the kernel's ephemeral range
/// (32768-60999 on Linux), at random: a port from that range could be taken, between this probe
/// and the server's bind, as the local port of some outgoing connection (Hearth's own towards an
/// HSS, say), which made listeners fail with "address in use" under a loaded test run.
pub fn free_port() -> SocketAddr {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 10_000;
    const SPAN: u32 = 20_000;
    // Ports are handed out in turn from a random starting point, so two calls in one test
    // process never return the same port (two independent random picks could, and a server
    // given the same port for signalling and provisioning refuses to start).
    static START: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = *START.get_or_init(|| {
        (RandomState::new().hash_one((std::process::id(), Instant::now())) % u64::from(SPAN)) as u32
    });
    for _ in 0..SPAN {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        let port = (FIRST + offset) as u16;
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            return l.local_addr().expect("addr");
        }
    }
    panic!("no free port between 10000 and 30000 on loopback")
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body as text.
    pub body: String,
    /// Location header, if any.
    pub location: Option<String>,
    /// Content-Type header, if any.
    pub content_type: Option<String>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

impl Server {
    /// Starts a server with `shards` shards on a fresh data directory inside `dir`.
    pub fn start(dir: &Path, shards: usize) -> Server {
        Self::start_with(dir, shards, &[])
    }

    /// Starts a server with a TOML configuration file (written into `dir`) and extra
    /// command-line arguments.
    pub fn start_with_config(dir: &Path, shards: usize, toml: &str, extra: &[&str]) -> Server {
        let path = dir.join("hearth.toml");
        std::fs::write(&path, toml).expect("write config");
        let path = path.to_str().expect("UTF-8 path").to_owned();
        let mut args = vec!["--config", path.as_str()];
        args.extend_from_slice(extra);
        Self::start_with(dir, shards, &args)
    }

    /// Starts a server with extra command-line arguments. With HEARTH_TEST_STORE=cassandra the
    /// server uses the Cassandra store, with the keyspaces of the test directory `dir` (every
    /// server started in `dir` shares them; dropping the [`TestDir`] drops them).
    pub fn start_with(dir: &Path, shards: usize, extra: &[&str]) -> Server {
        if cassandra_mode() {
            Self::start_cassandra(dir, shards, extra)
        } else {
            Self::launch(dir, shards, extra, None)
        }
    }

    /// Starts a server on the Cassandra store at [`cassandra_contact_point`], with the
    /// keyspaces of the test directory `dir`.
    pub fn start_cassandra(dir: &Path, shards: usize, extra: &[&str]) -> Server {
        let prefix = keyspace_prefix_of(dir);
        let prefix = prefix.as_str();
        let contact = cassandra_contact_point();
        let mut args: Vec<&str> = vec![
            "--store",
            "cassandra",
            "--cassandra-contact-points",
            &contact,
            "--cassandra-keyspace-prefix",
            prefix,
        ];
        args.extend_from_slice(extra);
        Self::launch(dir, shards, &args, Some(prefix.to_owned()))
    }

    fn launch(
        dir: &Path,
        shards: usize,
        extra: &[&str],
        keyspace_prefix: Option<String>,
    ) -> Server {
        let sig = free_port();
        let prov = free_port();
        let data_dir = dir.join("data");
        let child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("serve")
            .arg("--shards")
            .arg(shards.to_string())
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--signalling-addr")
            .arg(sig.to_string())
            .arg("--provisioning-addr")
            .arg(prov.to_string())
            .args(["--home-domain", "example.com"])
            .args(extra)
            .env(
                "HEARTH_LOG",
                std::env::var("HEARTH_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .spawn()
            .expect("start hearth");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let mut server = Server {
            child: Some(child),
            keyspace_prefix,
            sig,
            prov,
            data_dir,
            agent,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        // Creating the Cassandra schema takes a few seconds.
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("hearth exited during start-up: {status}");
            }
            let sig_ok = self
                .get_sig("/ping")
                .map(|a| a.status == 200)
                .unwrap_or(false);
            let prov_ok = self
                .get_prov("/ping")
                .map(|a| a.status == 200)
                .unwrap_or(false);
            if sig_ok && prov_ok {
                return;
            }
            assert!(Instant::now() < deadline, "hearth did not start in time");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A signalling request with extra headers.
    pub fn sig_with_headers(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &str)>,
    ) -> Answer {
        self.request_with(self.sig, method, path, headers, body)
            .expect("signalling request")
    }

    fn request(
        &self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        body: Option<(&str, &str)>,
    ) -> Result<Answer, ureq::Error> {
        self.request_with(addr, method, path, &[], body)
    }

    fn request_with(
        &self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &str)>,
    ) -> Result<Answer, ureq::Error> {
        let url = format!("http://{addr}{path}");
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let mut resp = match body {
            Some((ctype, text)) => self.agent.run(
                req.header("Content-Type", ctype)
                    .body(text.to_string())
                    .unwrap(),
            )?,
            None => self.agent.run(req.body(()).unwrap())?,
        };
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header("location");
        let content_type = header("content-type");
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        Ok(Answer {
            status,
            body,
            location,
            content_type,
        })
    }

    /// GET on the signalling listener (errors as transport errors).
    pub fn get_sig(&self, path: &str) -> Result<Answer, ureq::Error> {
        self.request(self.sig, "GET", path, None)
    }

    /// GET on the provisioning listener.
    pub fn get_prov(&self, path: &str) -> Result<Answer, ureq::Error> {
        self.request(self.prov, "GET", path, None)
    }

    /// Any request on the signalling listener; panics on transport errors.
    pub fn sig(&self, method: &str, path: &str, body: Option<(&str, &str)>) -> Answer {
        self.request(self.sig, method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Any request on the provisioning listener; panics on transport errors.
    pub fn prov(&self, method: &str, path: &str, body: Option<(&str, &str)>) -> Answer {
        self.request(self.prov, method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Sends raw bytes to `addr` and returns whatever comes back before the server closes or
    /// `wait` passes.
    pub fn raw(addr: SocketAddr, bytes: &[u8], wait: Duration) -> Vec<u8> {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(wait)).unwrap();
        // The server may answer and close before reading everything: ignore write errors.
        let _ = s.write_all(bytes);
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    }

    /// SIGTERM, then wait for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// True when the suites run against Cassandra (HEARTH_TEST_STORE=cassandra).
pub fn cassandra_mode() -> bool {
    std::env::var("HEARTH_TEST_STORE").is_ok_and(|v| v == "cassandra")
}

/// The Cassandra node tests use: HEARTH_TEST_CASSANDRA, or 127.0.0.1:9042.
pub fn cassandra_contact_point() -> String {
    std::env::var("HEARTH_TEST_CASSANDRA").unwrap_or_else(|_| "127.0.0.1:9042".to_owned())
}

/// Whether a Cassandra node answers at [`cassandra_contact_point`]. Without one a
/// Cassandra-only test skips with a message, except under CI=true, where it fails: CI starts
/// Cassandra (tests/run) and a missing one is an error there.
pub fn cassandra_available(test: &str) -> bool {
    let contact = cassandra_contact_point();
    let reachable = contact
        .parse::<SocketAddr>()
        .ok()
        .and_then(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
        .is_some();
    if reachable {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{test}: no Cassandra at {contact} (tests/cassandra/cassandra.sh start)"
    );
    eprintln!("skipping {test}: no Cassandra at {contact} (tests/cassandra/cassandra.sh start)");
    false
}

/// A keyspace prefix no other test (of this run or an earlier one) uses.
pub fn new_keyspace_prefix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mix = (nanos ^ (u128::from(std::process::id()) << 40)) & 0xff_ffff_ffff;
    format!(
        "t{mix:010x}{:03}",
        NEXT.fetch_add(1, Ordering::Relaxed) % 1000
    )
}

/// Drops the keyspaces of `prefix` (`hearth schema --drop`).
pub fn drop_keyspaces(prefix: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["schema", "--drop", "--cassandra-contact-points"])
        .arg(cassandra_contact_point())
        .args(["--cassandra-keyspace-prefix", prefix])
        .stdin(Stdio::null())
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("could not drop the keyspaces of {prefix}: {status:?}");
    }
}

/// Percent-encodes an identity for a URL path segment (everything but RFC 3986 unreserved).
pub fn enc(id: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(id, SEGMENT).to_string()
}

/// The XML body Ellis PUTs for a public identity.
pub fn public_identity_xml(impu: &str) -> String {
    format!("<PublicIdentity><Identity>{impu}</Identity></PublicIdentity>")
}

/// A ServiceProfile with one iFC, as Ellis PUTs to filter_criteria.
pub const IFC_XML: &str = "<ServiceProfile><InitialFilterCriteria><Priority>1</Priority>\
<TriggerPoint><ConditionTypeCNF>0</ConditionTypeCNF><SPT><ConditionNegated>0</ConditionNegated>\
<Group>0</Group><Method>INVITE</Method><Extension></Extension></SPT></TriggerPoint>\
<ApplicationServer><ServerName>sip:mmtel.example.com</ServerName><DefaultHandling>0</DefaultHandling>\
</ApplicationServer></InitialFilterCriteria></ServiceProfile>";

/// What `provision` created.
pub struct Subscriber {
    /// The IRS uuid.
    pub irs: String,
    /// The service profile uuid.
    pub sp: String,
}

/// Provisions one subscriber exactly as Ellis does: private ID with digest_ha1, IRS, association,
/// service profile, public IDs, iFCs.
pub fn provision(server: &Server, impi: &str, impus: &[&str], ha1: &str) -> Subscriber {
    let body = format!(r#"{{"digest_ha1": "{ha1}", "realm": "example.com"}}"#);
    let r = server.prov(
        "PUT",
        &format!("/private/{}", enc(impi)),
        Some(("application/json", &body)),
    );
    assert_eq!(r.status, 200, "PUT private: {}", r.body);
    let r = server.prov("POST", "/irs/", None);
    assert_eq!(r.status, 201, "POST irs: {}", r.body);
    let irs = r
        .location
        .expect("IRS Location")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let r = server.prov(
        "PUT",
        &format!(
            "/private/{}/associated_implicit_registration_sets/{irs}",
            enc(impi)
        ),
        None,
    );
    assert_eq!(r.status, 200, "associate: {}", r.body);
    let r = server.prov("POST", &format!("/irs/{irs}/service_profiles"), None);
    assert_eq!(r.status, 201, "POST service profile: {}", r.body);
    let sp_url = r.location.expect("SP Location");
    let sp = sp_url.rsplit('/').next().unwrap().to_string();
    for impu in impus {
        let r = server.prov(
            "PUT",
            &format!("{sp_url}/public_ids/{}", enc(impu)),
            Some(("application/xml", &public_identity_xml(impu))),
        );
        assert_eq!(r.status, 200, "PUT public id: {}", r.body);
    }
    let r = server.prov(
        "PUT",
        &format!("{sp_url}/filter_criteria"),
        Some(("application/xml", IFC_XML)),
    );
    assert_eq!(r.status, 200, "PUT filter criteria: {}", r.body);
    Subscriber { irs, sp }
}
