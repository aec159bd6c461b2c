//! Interoperability with an independent Diameter stack: freeDiameter's `freeDiameterd` (Debian
//! packages freediameterd and freediameter-extensions) as a relay agent between Hearth and
//! hss-sim. Hearth's only HSS peer is the relay; the relay connects to hss-sim.
//!
//! Checked in freeDiameter's debug log: each shard's CER/CEA with the relay (which advertises
//! only the Relay application, 0xffffffff: Hearth must take that as supporting Cx), a DWR from
//! each shard answered by the relay, the MAR relayed to hss-sim and its MAA relayed back — both
//! carrying the Route-Record the relay adds — and each shard's DPR answered with a DPA when Hearth
//! stops. Checked through Hearth's REST API: the relayed MAA gives the right digest, and a
//! relayed "user unknown" answer gives 404.
//!
//! Skipped with a message without freeDiameter or openssl; failed under CI=true.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::external::{available, find_program};
use common::sim::Sim;
use common::{Server, data_dir};
use hearth_core::crypto::digest::{self, DigestAlgorithm};
use serde_json::json;

const TEST: &str = "freediameter";
const EXTENSIONS: &str = "/usr/lib/freeDiameter";
/// The relay's Diameter identity and realm (not the HSS's realm: it only relays).
const RELAY_HOST: &str = "relay.relay.test";
const RELAY_REALM: &str = "relay.test";
/// hss-sim's identity (its defaults for realm example.com).
const HSS_HOST: &str = "hss.example.com";
const SHARDS: usize = 2;
/// Hearth's watchdog interval (the RFC 3539 minimum) and the most its jitter adds.
const WATCHDOG_MS: u64 = 6_000;
const WATCHDOG_JITTER_MS: u64 = 2_000;

/// A running freeDiameterd whose debug log goes to a file.
struct FreeDiameter {
    child: Option<Child>,
    log: PathBuf,
    port: u16,
}

impl FreeDiameter {
    /// Writes the relay's configuration into `dir` and starts it; returns once it has
    /// connected to the HSS at `hss_port`.
    fn start(dir: &Path, hss_port: u16) -> FreeDiameter {
        let cert = dir.join("relay.cert.pem");
        let key = dir.join("relay.key.pem");
        // freeDiameter refuses to start without TLS credentials, even when no peer uses TLS.
        let status = Command::new(find_program("openssl").expect("openssl"))
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", &format!("/CN={RELAY_HOST}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run openssl");
        assert!(
            status.success(),
            "openssl could not make the relay's certificate"
        );

        // Hearth's shards, without TLS (IPsec-style transparent security, as a LAN link).
        let acl = dir.join("acl_wl.conf");
        std::fs::write(
            &acl,
            "ALLOW_IPSEC hearth.example.com *.hearth.example.com\n",
        )
        .expect("write acl_wl.conf");
        // Requests for the HSS realm go to the HSS. (Without this rule a realm match could pick
        // another of Hearth's shards: they share the realm and advertise Cx too.)
        let routes = dir.join("rt_default.conf");
        std::fs::write(
            &routes,
            format!("dr=\"example.com\" : \"{HSS_HOST}\" += FINALDEST ;\n"),
        )
        .expect("write rt_default.conf");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let conf = dir.join("freeDiameter.conf");
        let text = format!(
            r#"Identity = "{RELAY_HOST}";
Realm = "{RELAY_REALM}";
Port = {port};
SecPort = 0;
No_SCTP;
No_IPv6;
ListenOn = "127.0.0.1";
TLS_Cred = "{cert}", "{key}";
TLS_CA = "{cert}";
LoadExtension = "{EXTENSIONS}/acl_wl.fdx" : "{acl}";
LoadExtension = "{EXTENSIONS}/rt_default.fdx" : "{routes}";
ConnectPeer = "{HSS_HOST}" {{ ConnectTo = "127.0.0.1"; Port = {hss_port}; No_TLS; }};
"#,
            cert = cert.display(),
            key = key.display(),
            acl = acl.display(),
            routes = routes.display(),
        );
        std::fs::write(&conf, text).expect("write freeDiameter.conf");

        let log = dir.join("freeDiameter.log");
        let out = std::fs::File::create(&log).expect("create the log");
        let child = Command::new(find_program("freeDiameterd").expect("freeDiameterd"))
            .arg("-c")
            .arg(&conf)
            .arg("-dd") // debug level: every message sent and received
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .expect("start freeDiameterd");
        let mut relay = FreeDiameter {
            child: Some(child),
            log,
            port,
        };
        relay.wait_for(
            "the relay connected to hss-sim",
            Duration::from_secs(30),
            |l| l.contains("'STATE_WAITCEA'") && l.contains(&format!("'STATE_OPEN'\t'{HSS_HOST}'")),
        );
        relay
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until a log line matches; panics with the log after `wait`.
    fn wait_for(&mut self, what: &str, wait: Duration, matches: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + wait;
        loop {
            if self.lines().iter().any(|l| matches(l)) {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "freeDiameterd exited ({status}) before {what}:\n{}",
                    self.lines().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not in freeDiameter's log:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for FreeDiameter {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// freeDiameter's debug line for a message: `RCV from 'peer': ... <app>/<code> f:<flags>` or
/// `SENT to 'peer': ...`.
fn is_message(line: &str, direction: &str, peer: &str, app_code: &str, flags: &str) -> bool {
    line.contains(&format!("{direction} '{peer}': "))
        && line.contains(&format!("{app_code} f:{flags} "))
}

fn population(dir: &Path) -> PathBuf {
    let doc = json!({"subscribers": [
        {"impi": "alice@example.com", "password": "secret",
         "irs": [{"id": "alice", "impus": ["sip:alice@example.com"]}]}
    ]});
    let path = dir.join("population.json");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(doc.to_string().as_bytes()))
        .expect("write population");
    path
}

#[test]
fn freediameter_relays_cx_between_hearth_and_hss_sim() {
    if !available(
        TEST,
        &["freeDiameterd", "openssl"],
        &[
            &format!("{EXTENSIONS}/acl_wl.fdx"),
            &format!("{EXTENSIONS}/rt_default.fdx"),
        ],
        "freediameterd freediameter-extensions openssl",
    ) {
        return;
    }
    let dir = data_dir();
    let sim = Sim::start(&population(dir.path()), &[]);
    let mut relay = FreeDiameter::start(dir.path(), sim.diameter.port());
    let toml = format!(
        "diameter_timeout_ms = 2000\n[hss]\npeers = [\"127.0.0.1:{}\"]\nwatchdog_interval_ms = {WATCHDOG_MS}\n",
        relay.port
    );
    let mut s = Server::start_with_config(dir.path(), SHARDS, &toml, &[]);
    let shards: Vec<String> = (0..SHARDS)
        .map(|i| format!("shard{i}.hearth.example.com"))
        .collect();

    // A relayed MAR/MAA gives the digest the HSS holds; one for each shard's key (the owner of
    // an IMPI sends its MAR on its own connection), then a relayed 5001 gives 404.
    let ha1 = digest::ha1(
        DigestAlgorithm::Md5,
        "alice@example.com",
        "example.com",
        b"secret",
        "",
        "",
    );
    let alice = "/impi/alice%40example.com/av/digest?impu=sip%3Aalice%40example.com";
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        let a = s.sig("GET", alice, None);
        if a.status == 200 || Instant::now() > deadline {
            break a;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(answer.status, 200, "through the relay: {}", answer.body);
    assert_eq!(
        answer.json(),
        json!({"digest": {"ha1": ha1.as_hex(), "qop": "auth", "realm": "example.com"}})
    );
    for i in 0..8 {
        let a = s.sig(
            "GET",
            &format!("/impi/nobody{i}%40example.com/av?impu=sip%3Anobody{i}%40example.com"),
            None,
        );
        assert_eq!(a.status, 404, "relayed 5001: {}", a.body);
    }
    let last_request = Instant::now();

    let lines = relay.lines();
    let any = |f: &dyn Fn(&str) -> bool| lines.iter().any(|l| f(l));
    for shard in &shards {
        // CER/CEA: the relay took each shard's CER (acl_wl, no TLS) and answered; the peer is
        // open on both sides (Hearth sent Cx on it, so it took the Relay application for Cx).
        assert!(
            any(&|l| l.contains(&format!(
                "Created new peer object for incoming CER: {shard}"
            ))),
            "no CER from {shard}"
        );
        assert!(
            any(&|l| is_message(l, "SENT to", shard, "0/257", "----")),
            "no CEA to {shard}"
        );
        assert!(
            any(&|l| l.contains(&format!("'STATE_OPEN'\t'{shard}'"))),
            "{shard} never open"
        );
        // Relayed MAR and MAA; the relay adds Route-Record (AVP 282) to both.
        assert!(
            any(&|l| is_message(l, "RCV from", shard, "16777216/303", "RP--")),
            "no MAR from {shard}"
        );
        assert!(
            any(
                &|l| is_message(l, "SENT to", HSS_HOST, "16777216/303", "RP--")
                    && l.contains(&format!("src:'{shard}'"))
                    && l.contains("C:282/")
            ),
            "no MAR from {shard} relayed to the HSS with a Route-Record"
        );
        assert!(
            any(&|l| is_message(l, "SENT to", shard, "16777216/303", "-P--")
                && l.contains(&format!("src:'{HSS_HOST}'"))
                && l.contains("C:282/")),
            "no MAA relayed to {shard} with a Route-Record"
        );
    }

    // DWR/DWA: once idle for a (jittered) watchdog interval, each shard sends a DWR and the
    // relay answers it.
    let idle = Duration::from_millis(WATCHDOG_MS + WATCHDOG_JITTER_MS + 3_000);
    for shard in &shards {
        let wait = idle.saturating_sub(last_request.elapsed());
        relay.wait_for(&format!("a DWR from {shard}"), wait, |l| {
            is_message(l, "RCV from", shard, "0/280", "R---")
        });
        relay.wait_for(&format!("a DWA to {shard}"), Duration::from_secs(5), |l| {
            is_message(l, "SENT to", shard, "0/280", "----")
        });
    }

    // DPR/DPA: SIGTERM makes every shard say goodbye (REBOOTING) and wait for the answer.
    assert!(s.terminate(), "Hearth exits cleanly");
    let lines = relay.lines();
    for shard in &shards {
        assert!(
            lines
                .iter()
                .any(|l| is_message(l, "RCV from", shard, "0/282", "R---")),
            "no DPR from {shard}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("Peer '{shard}' sent a DPR with cause: REBOOTING"))),
            "DPR cause"
        );
        assert!(
            lines
                .iter()
                .any(|l| is_message(l, "SENT to", shard, "0/282", "----")),
            "no DPA to {shard}"
        );
    }
    // Nothing went wrong on the relay's side.
    let errors: Vec<&String> = lines.iter().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "freeDiameter errors: {errors:#?}");
}
