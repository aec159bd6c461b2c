//! What Hearth and hss-sim put on the wire, judged by an independent decoder: a Hearth ↔ hss-sim
//! session is captured on loopback with dumpcap (CER/CEA, MAR/MAA for SIP Digest, AKA and a
//! resynchronisation, UAR/UAA, SAR/SAA, LIR/LIA, a PPR/PPA and an RTR/RTA sent through the
//! simulator's control API, DWR/DWA after an idle watchdog interval, DPR/DPA at SIGTERM) and
//! decoded by tshark, which must find no malformed packet and no expert warning or error, name
//! every command, resolve the Cx AVP names and see application 16777216 on every Cx message.
//!
//! Needs tshark and dumpcap (Debian package `tshark`) and the right to capture (root, or
//! dumpcap's capabilities): skipped with a message without them, failed under CI=true.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::external::{available, find_program, skip};
use common::sim::{Sim, SipCore};
use common::{Answer, Server, data_dir, enc};
use hearth_core::crypto::aka;
use hearth_core::crypto::milenage::Milenage;
use serde_json::json;

const TEST: &str = "diameter_wire";
const ALICE_K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const ALICE_OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";
const IFC: &str = "<ServiceProfile><InitialFilterCriteria><Priority>0</Priority><ApplicationServer><ServerName>sip:mmtel.example.com</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer></InitialFilterCriteria></ServiceProfile>";
/// Hearth's watchdog interval (the RFC 3539 minimum) and the most its jitter adds.
const WATCHDOG_MS: u64 = 6_000;
const WATCHDOG_JITTER_MS: u64 = 2_000;
/// Wireshark's expert severity "warning" (PI_WARN); "error" is above it.
const EXPERT_WARNING: u32 = 0x0060_0000;

/// A dumpcap capture on loopback, written to a pcapng file.
struct Capture {
    child: Option<Child>,
    file: PathBuf,
    /// The packet count dumpcap last reported, and when it changed.
    progress: Arc<Mutex<(u64, Instant)>>,
}

/// What dumpcap says on its standard error: `File: ...` once capturing, then `Packets: N` as
/// packets are written (separated by carriage returns), or why it cannot capture.
enum Said {
    Line(String),
    Ready,
}

impl Capture {
    /// Captures TCP port `port` on `lo` into `dir/capture.pcapng`; the error is dumpcap's own
    /// words when it cannot (no permission to capture, no loopback device).
    fn start(dir: &Path, port: u16) -> Result<Capture, String> {
        let file = dir.join("capture.pcapng");
        let dumpcap = find_program("dumpcap").ok_or("dumpcap is not installed")?;
        let mut child = Command::new(dumpcap)
            .args(["-i", "lo", "-f", &format!("tcp port {port}"), "-w"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run dumpcap: {e}"))?;
        let mut stderr = child.stderr.take().expect("dumpcap's stderr");
        let progress = Arc::new(Mutex::new((0, Instant::now())));
        let (tx, rx) = mpsc::channel();
        let counter = Arc::clone(&progress);
        std::thread::spawn(move || {
            let mut pending = Vec::new();
            let mut chunk = [0u8; 1024];
            while let Ok(n @ 1..) = stderr.read(&mut chunk) {
                pending.extend_from_slice(&chunk[..n]);
                while let Some(end) = pending.iter().position(|b| *b == b'\r' || *b == b'\n') {
                    let token: Vec<u8> = pending.drain(..=end).collect();
                    let token = String::from_utf8_lossy(&token).trim().to_owned();
                    if let Some(count) = token.strip_prefix("Packets:") {
                        if let Ok(count) = count.trim().parse() {
                            *counter.lock().unwrap() = (count, Instant::now());
                        }
                    } else if token.starts_with("File:") {
                        let _ = tx.send(Said::Ready);
                    } else if !token.is_empty() {
                        let _ = tx.send(Said::Line(token));
                    }
                }
            }
        });
        let mut capture = Capture {
            child: Some(child),
            file,
            progress,
        };
        // dumpcap names the file once the device is open and the filter set.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut said = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Said::Ready) => return Ok(capture),
                Ok(Said::Line(line)) => said.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if let Some(mut child) = capture.child.take() {
                        let _ = child.wait();
                    }
                    return Err(format!("dumpcap could not capture: {}", said.join(" | ")));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() > deadline {
                capture.stop();
                return Err(format!("dumpcap did not start: {}", said.join(" | ")));
            }
        }
    }

    /// Stops the capture once dumpcap has written what the kernel holds for it: libpcap hands
    /// packets over in batches (dumpcap reads with a 250 ms timeout) and SIGTERM ends dumpcap
    /// without a last read, so its count must have stood still for a second since the stop
    /// was asked for.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let asked = Instant::now();
        let deadline = asked + Duration::from_secs(20);
        loop {
            let (_, changed) = *self.progress.lock().unwrap();
            if changed.max(asked).elapsed() > Duration::from_secs(1) || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One Diameter message as tshark decoded it.
#[derive(Debug, Default)]
struct Decoded {
    /// The command's name ("Multimedia-Auth") and code.
    command: (String, u32),
    request: bool,
    application: u32,
    /// Every AVP, nested ones included: (code, name).
    avps: Vec<(u32, String)>,
}

impl Decoded {
    fn has(&self, code: u32) -> bool {
        self.avps.iter().any(|(c, _)| *c == code)
    }
}

/// tshark on the capture, decoding `port` as Diameter.
fn tshark(file: &Path, port: u16, args: &[&str]) -> String {
    let out = Command::new(find_program("tshark").expect("tshark"))
        .arg("-r")
        .arg(file)
        .args(["-d", &format!("tcp.port=={port},diameter")])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark writes UTF-8")
}

/// `Name (123)` or `Name(123)` → ("Name", 123).
fn name_and_code(text: &str) -> Option<(String, u32)> {
    let open = text.rfind('(')?;
    let code = text[open + 1..].strip_suffix(')')?.parse().ok()?;
    Some((text[..open].trim().to_owned(), code))
}

/// Reads tshark's verbose tree (`-V`) into messages.
fn parse_verbose(text: &str) -> Vec<Decoded> {
    let mut messages: Vec<Decoded> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            inside = line == "Diameter Protocol";
            if inside {
                messages.push(Decoded::default());
            }
            continue;
        }
        let Some(message) = messages.last_mut().filter(|_| inside) else {
            continue;
        };
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Command Code: ") {
            message.command = name_and_code(rest).unwrap_or_else(|| panic!("{line}"));
        } else if let Some(rest) = line.strip_prefix("Flags: ") {
            message.request = rest.split(", ").any(|f| f == "Request");
        } else if let Some(rest) = line.strip_prefix("ApplicationId: ") {
            message.application = name_and_code(rest).unwrap_or_else(|| panic!("{line}")).1;
        } else if let Some(rest) = line.strip_prefix("AVP: ") {
            let head = rest.split(" l=").next().unwrap_or(rest);
            let (name, code) = name_and_code(head).unwrap_or_else(|| panic!("{line}"));
            message.avps.push((code, name));
        }
    }
    messages
}

fn key(text: &str) -> [u8; 16] {
    hex::decode(text).unwrap().try_into().unwrap()
}

fn population(dir: &Path) -> PathBuf {
    let doc = json!({"subscribers": [
        {"impi": "alice@example.com", "password": "secret",
         "aka": {"k": ALICE_K, "opc": ALICE_OPC, "amf": "8000", "sqn": 0},
         "irs": [{"id": "alice", "service_profiles": [{"impus": ["sip:alice@example.com"], "ifc": IFC}],
                  "charging": {"ccf1": "aaa://ccf1.example.com", "ecf1": "aaa://ecf1.example.com"}}]}
    ]});
    let path = dir.join("population.json");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(doc.to_string().as_bytes()))
        .expect("write population");
    path
}

fn get(s: &Server, path: &str) -> Answer {
    s.sig("GET", path, None)
}

/// Drives every Cx exchange Hearth has with an HSS, over the captured connection.
fn drive_session(s: &Server, sim: &Sim, core: &SipCore) {
    let alice = "/impi/alice%40example.com";
    let impu = "impu=sip%3Aalice%40example.com";
    // The link is up once a MAR is answered.
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(s, &format!("{alice}/av/digest?{impu}")).status != 200 {
        assert!(Instant::now() < deadline, "Hearth never reached hss-sim");
        std::thread::sleep(Duration::from_millis(100));
    }
    // MAR/MAA, AKA, then a resynchronisation (SIP-Authorization = RAND || AUTS).
    let a = get(s, &format!("{alice}/av/aka?{impu}"));
    assert_eq!(a.status, 200, "{}", a.body);
    let challenge = B64
        .decode(a.json()["aka"]["challenge"].as_str().expect("challenge"))
        .expect("base64");
    let milenage = Milenage::new(&key(ALICE_K), &key(ALICE_OPC));
    let rand: [u8; 16] = challenge[..16].try_into().unwrap();
    let auts = aka::build_auts(&milenage, &rand, aka::sqn_to_bytes(1 << 20).unwrap());
    let resync = [rand.as_slice(), auts.as_slice()].concat();
    let a = get(
        s,
        &format!(
            "{alice}/av/aka?{impu}&resync-auth={}",
            enc(&B64.encode(&resync))
        ),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    // UAR/UAA, SAR/SAA, LIR/LIA.
    let a = get(s, &format!("{alice}/registration-status?{impu}"));
    assert_eq!(a.status, 200, "{}", a.body);
    let a = s.sig(
        "PUT",
        "/impu/sip%3Aalice%40example.com/reg-data?private_id=alice%40example.com",
        Some(("application/json", r#"{"reqtype": "reg"}"#)),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let a = get(s, "/impu/sip%3Aalice%40example.com/location");
    assert_eq!(a.status, 200, "{}", a.body);
    // PPR/PPA with new User-Data, then RTR/RTA, from the HSS.
    let new_ifc = IFC.replace("sip:mmtel.example.com", "sip:new-as.example.com");
    let (status, ppa) = sim.post("/ppr", json!({"impi": "alice@example.com", "ifc": new_ifc}));
    assert_eq!((status, &ppa["result_code"]), (200, &json!(2001)), "{ppa}");
    let (status, rta) = sim.post(
        "/rtr",
        json!({"impis": ["alice@example.com"], "reason": "PERMANENT_TERMINATION"}),
    );
    assert_eq!((status, &rta["result_code"]), (200, &json!(2001)), "{rta}");
    assert_eq!(core.wait_for(2).len(), 2, "the SIP core was told of both");
}

#[test]
fn tshark_decodes_a_captured_hearth_hss_sim_session_cleanly() {
    if !available(TEST, &["tshark", "dumpcap"], &[], "tshark") {
        return;
    }
    let dir = data_dir();
    let sim = Sim::start(&population(dir.path()), &[]);
    let port = sim.diameter.port();
    let mut capture = match Capture::start(dir.path(), port) {
        Ok(capture) => capture,
        Err(why) => {
            skip(
                TEST,
                &format!("{why} (capturing needs root or dumpcap's capabilities)"),
            );
            return;
        }
    };
    let core = SipCore::start();
    let toml = format!(
        "[hss]\npeers = [\"{}\"]\nsip_core_url = \"http://{}\"\nwatchdog_interval_ms = {WATCHDOG_MS}\n",
        sim.diameter, core.addr
    );
    let mut s = Server::start_with_config(dir.path(), 1, &toml, &[]);
    drive_session(&s, &sim, &core);
    // Idle for longer than a jittered watchdog interval: Hearth sends a DWR.
    std::thread::sleep(Duration::from_millis(
        WATCHDOG_MS + WATCHDOG_JITTER_MS + 1_000,
    ));
    // SIGTERM: a DPR (REBOOTING) and its DPA before Hearth exits.
    assert!(s.terminate(), "Hearth exits cleanly");
    capture.stop();
    let file = capture.file.clone();

    let flagged = tshark(
        &file,
        port,
        &[
            "-Y",
            &format!("_ws.malformed || _ws.expert.severity >= {EXPERT_WARNING}"),
        ],
    );
    assert!(
        flagged.trim().is_empty(),
        "tshark flags packets (malformed, or expert warnings/errors):\n{flagged}\n{}",
        tshark(&file, port, &["-q", "-z", "expert"])
    );
    let verbose = tshark(&file, port, &["-V", "-Y", "diameter"]);
    assert!(!verbose.contains("Malformed"), "{verbose}");
    let messages = parse_verbose(&verbose);

    // Every command both ways, decoded under its name.
    let seen: BTreeSet<(String, u32, bool)> = messages
        .iter()
        .map(|m| (m.command.0.clone(), m.command.1, m.request))
        .collect();
    for (name, code) in [
        ("Capabilities-Exchange", 257),
        ("Device-Watchdog", 280),
        ("Disconnect-Peer", 282),
        ("User-Authorization", 300),
        ("Server-Assignment", 301),
        ("Location-Info", 302),
        ("Multimedia-Auth", 303),
        ("Registration-Termination", 304),
        ("Push-Profile", 305),
    ] {
        for request in [true, false] {
            assert!(
                seen.contains(&(name.to_owned(), code, request)),
                "no {name} {} decoded; seen: {seen:?}",
                if request { "Request" } else { "Answer" }
            );
        }
    }
    // Base messages in application 0, Cx in 16777216.
    for m in &messages {
        let expected = if m.command.1 < 300 { 0 } else { 16_777_216 };
        assert_eq!(m.application, expected, "{m:?}");
    }
    // No AVP left unnamed; the Cx ones under their names (Wireshark prefixes some with 3GPP-
    // or Cx-, e.g. 3GPP-SIP-Auth-Data-Item, Cx-User-Data).
    for m in &messages {
        for (code, name) in &m.avps {
            assert!(
                !name.is_empty() && !name.contains("Unknown"),
                "AVP {code} not resolved in {m:?}"
            );
        }
    }
    let names: BTreeSet<(u32, &str)> = messages
        .iter()
        .flat_map(|m| m.avps.iter().map(|(c, n)| (*c, n.as_str())))
        .collect();
    eprintln!("AVP names: {names:?}");
    for (code, expected) in [
        (600, "Visited-Network-Identifier"),
        (601, "Public-Identity"),
        (602, "Server-Name"),
        (606, "User-Data"),
        (607, "SIP-Number-Auth-Items"),
        (608, "SIP-Authentication-Scheme"),
        (609, "SIP-Authenticate"),
        (610, "SIP-Authorization"),
        (612, "SIP-Auth-Data-Item"),
        (614, "Server-Assignment-Type"),
        (615, "Deregistration-Reason"),
        (618, "Charging-Information"),
        (624, "User-Data-Already-Available"),
        (625, "Confidentiality-Key"),
        (626, "Integrity-Key"),
        (635, "SIP-Digest-Authenticate"),
        (121, "Digest-HA1"),
    ] {
        let found: Vec<&str> = names
            .iter()
            .filter(|(c, _)| *c == code)
            .map(|(_, n)| *n)
            .collect();
        assert!(
            !found.is_empty()
                && found
                    .iter()
                    .all(|n| *n == expected || n.ends_with(&format!("-{expected}"))),
            "AVP {code}: expected {expected}, tshark says {found:?}"
        );
    }
    // Each Cx request carries what identifies it.
    let carries = |code: u32, request: bool, avp: u32| {
        messages
            .iter()
            .filter(|m| m.command.1 == code && m.request == request)
            .all(|m| m.has(avp))
    };
    assert!(carries(303, true, 612), "MAR without SIP-Auth-Data-Item");
    assert!(carries(303, true, 601), "MAR without Public-Identity");
    assert!(
        carries(301, true, 614),
        "SAR without Server-Assignment-Type"
    );
    assert!(carries(304, true, 615), "RTR without Deregistration-Reason");
    assert!(carries(305, true, 606), "PPR without User-Data");
    assert!(
        messages
            .iter()
            .any(|m| m.command.1 == 301 && !m.request && m.has(606)),
        "no SAA with User-Data"
    );
}
