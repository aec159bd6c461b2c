//! The Diameter links of the real `hearth` binary in HSS mode, against a fake HSS written with
//! hearth-core's codec (tests/common/hss.rs): every shard connects with its own Origin-Host and
//! advertises Cx, answers DWR, hands the HSS's requests to the HSS-mode handler, sends DPR at
//! SIGTERM; a restarted HSS is reconnected and back in service after one watchdog interval; an
//! HSS may connect to `--diameter-addr`; peers are found by NAPTR/SRV/A on a realm (dnsmasq).
//!
//! The discovery test needs `dnsmasq` (Debian `dnsmasq-base`; `tests/run` installs it). Without
//! it the test is skipped with a message, unless CI is set, where its absence is a failure.

mod common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::hss::{
    FakeHss, HSS_HOST, HSS_REALM, is_command, result_code, text, vendor_applications,
};
use common::{Server, data_dir};
use hearth_core::diameter::dict::{VENDOR_3GPP, app, avp, cmd, disconnect_cause, result};
use hearth_core::diameter::{CommandFlags, Message, MessageBuilder};

/// Bound for things that should happen at once (liveness only).
const PROMPTLY: Duration = Duration::from_secs(10);
/// The watchdog interval the tests configure (RFC 3539's minimum) and its jitter.
const TW: Duration = Duration::from_secs(6);
const TW_JITTER: Duration = Duration::from_secs(2);

fn free_addr() -> SocketAddr {
    common::free_port()
}

fn is_cer(r: &common::hss::Received) -> bool {
    r.is(cmd::CAPABILITIES_EXCHANGE, true)
}

fn u32_avp(message: &Message, key: hearth_core::diameter::AvpKey) -> Option<u32> {
    message
        .avp(key)
        .ok()
        .flatten()
        .and_then(|a| a.as_u32().ok())
}

fn i32_avp(message: &Message, key: hearth_core::diameter::AvpKey) -> Option<i32> {
    message
        .avp(key)
        .ok()
        .flatten()
        .and_then(|a| a.as_i32().ok())
}

/// An RTR from the fake HSS for `destination_host`.
fn rtr(hss: &FakeHss, destination_host: &str, session_id: &str) -> Message {
    let (h, e) = hss.ids();
    hearth_core::diameter::cx::Rtr {
        routing: hearth_core::diameter::cx::Routing {
            session_id: session_id.into(),
            origin: hearth_core::diameter::cx::Origin::new(HSS_HOST, HSS_REALM),
            destination_realm: "example.com".into(),
            destination_host: Some(destination_host.into()),
        },
        user_name: "alice@example.com".into(),
        associated_identities: Vec::new(),
        public_identities: Vec::new(),
        reason: hearth_core::diameter::cx::DeregistrationReason {
            code: hearth_core::diameter::cx::ReasonCode::PermanentTermination,
            info: None,
        },
    }
    .to_message(h, e)
    .unwrap()
}

#[test]
fn each_shard_has_its_own_connection_and_origin_host() {
    let dir = data_dir();
    let hss = FakeHss::listen("127.0.0.1:0");
    let peer = hss.addr.to_string();
    let mut server = Server::start_with(dir.path(), 2, &["--hss-peer", &peer]);

    // One CER per shard, each with the shard's own Origin-Host, advertising Cx.
    let cers = hss.wait_for("CER", 2, PROMPTLY, is_cer);
    let hosts: BTreeSet<String> = cers
        .iter()
        .map(|r| text(&r.message, avp::ORIGIN_HOST).unwrap())
        .collect();
    assert_eq!(
        hosts,
        BTreeSet::from([
            "shard0.hearth.example.com".to_owned(),
            "shard1.hearth.example.com".to_owned()
        ])
    );
    assert_ne!(cers[0].conn, cers[1].conn);
    for cer in &cers {
        let m = &cer.message;
        assert_eq!(text(m, avp::ORIGIN_REALM).as_deref(), Some("example.com"));
        assert_eq!(text(m, avp::PRODUCT_NAME).as_deref(), Some("Hearth"));
        assert!(
            vendor_applications(m).contains(&(VENDOR_3GPP, app::CX)),
            "Vendor-Specific-Application-Id Cx: {:?}",
            vendor_applications(m)
        );
        assert_eq!(u32_avp(m, avp::SUPPORTED_VENDOR_ID), Some(VENDOR_3GPP));
        assert!(m.avp(avp::HOST_IP_ADDRESS).unwrap().is_some());
    }

    // Each shard answers a DWR on its own connection, under its own name.
    for cer in &cers {
        let dwr = hss.dwr();
        hss.send(cer.conn, &dwr);
        let dwa = hss.wait_for("DWA", 1, PROMPTLY, |r| {
            r.conn == cer.conn
                && r.is(cmd::DEVICE_WATCHDOG, false)
                && r.message.header().hop_by_hop == dwr.header().hop_by_hop
        });
        assert_eq!(result_code(&dwa[0].message), Some(result::SUCCESS));
        assert_eq!(
            text(&dwa[0].message, avp::ORIGIN_HOST),
            text(&cer.message, avp::ORIGIN_HOST)
        );
    }

    // An RTR reaches the link and the HSS-mode handler: nobody is registered, so there is
    // nothing to deregister (2001), answered on the connection it came on, matching the request.
    let conn = cers[0].conn;
    let host = text(&cers[0].message, avp::ORIGIN_HOST).unwrap();
    let request = rtr(&hss, &host, "hss.hss.test;77;1");
    hss.send(conn, &request);
    let rta = hss.wait_for("RTA", 1, PROMPTLY, |r| {
        r.is(cmd::REGISTRATION_TERMINATION, false)
    });
    let rta = &rta[0];
    assert_eq!(rta.conn, conn);
    assert_eq!(rta.message.header().hop_by_hop, request.header().hop_by_hop);
    assert_eq!(rta.message.header().end_to_end, request.header().end_to_end);
    assert_eq!(result_code(&rta.message), Some(result::SUCCESS));
    assert_eq!(
        text(&rta.message, avp::SESSION_ID).as_deref(),
        Some("hss.hss.test;77;1")
    );
    assert_eq!(text(&rta.message, avp::ORIGIN_HOST), Some(host));

    // A Cx request only an HSS serves: 3001 DIAMETER_COMMAND_UNSUPPORTED, 'E' bit set.
    let (h, e) = hss.ids();
    let mar = MessageBuilder::request(app::CX, cmd::MULTIMEDIA_AUTH)
        .hop_by_hop(h)
        .end_to_end(e)
        .avp_str(avp::SESSION_ID, "hss.hss.test;77;2")
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
        })
        .avp_i32(avp::AUTH_SESSION_STATE, 1)
        .avp_str(avp::ORIGIN_HOST, HSS_HOST)
        .avp_str(avp::ORIGIN_REALM, HSS_REALM)
        .avp_str(avp::DESTINATION_REALM, "example.com")
        .avp_str(avp::USER_NAME, "alice@example.com")
        .avp_str(avp::PUBLIC_IDENTITY, "sip:alice@example.com")
        .grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
            g.avp_str(avp::SIP_AUTHENTICATION_SCHEME, "SIP Digest");
        })
        .avp_u32(avp::SIP_NUMBER_AUTH_ITEMS, 1)
        .avp_str(avp::SERVER_NAME, "sip:scscf.example.com")
        .finish()
        .unwrap();
    hss.send(conn, &mar);
    let answer = hss.wait_for("MAA", 1, PROMPTLY, |r| r.is(cmd::MULTIMEDIA_AUTH, false));
    assert_eq!(
        result_code(&answer[0].message),
        Some(result::COMMAND_UNSUPPORTED)
    );
    assert!(
        answer[0]
            .message
            .header()
            .flags
            .contains(CommandFlags::ERROR)
    );

    // SIGTERM: a DPR (REBOOTING) on every connection, then a clean exit.
    assert!(server.terminate(), "hearth did not exit cleanly");
    let dprs = hss.wait_for("DPR", 2, PROMPTLY, |r| r.is(cmd::DISCONNECT_PEER, true));
    let conns: BTreeSet<usize> = dprs.iter().map(|r| r.conn).collect();
    assert_eq!(conns.len(), 2, "one DPR per shard connection");
    for dpr in &dprs {
        assert_eq!(
            i32_avp(&dpr.message, avp::DISCONNECT_CAUSE),
            Some(disconnect_cause::REBOOTING)
        );
    }
}

#[test]
fn restarted_hss_is_back_in_service_within_one_watchdog_interval() {
    let dir = data_dir();
    let hss = FakeHss::listen("127.0.0.1:0");
    let addr = hss.addr;
    let mut server = Server::start_with_config(
        dir.path(),
        1,
        "[hss]\nwatchdog_interval_ms = 6000\n",
        &["--hss-peer", &addr.to_string()],
    );
    hss.wait_for("CER", 1, PROMPTLY, is_cer);

    // The HSS crashes and comes back at once on the same address.
    hss.kill();
    let killed = Instant::now();
    let hss = FakeHss::listen(&addr.to_string());

    // A DOWN peer retries at the next watchdog expiry: within Tw (+ jitter) of the failure.
    let cer = hss.wait_for("CER after restart", 1, TW + TW_JITTER + PROMPTLY, is_cer);
    let reconnected = cer[0].at.duration_since(killed);
    assert!(
        reconnected <= TW + TW_JITTER + Duration::from_secs(1),
        "reconnected {reconnected:?} after the failure"
    );
    // REOPEN: three DWR/DWA exchanges back to back (not one per watchdog interval), after which
    // the peer is open again.
    let dwrs = hss.wait_for("three DWRs in REOPEN", 3, PROMPTLY, |r| {
        r.is(cmd::DEVICE_WATCHDOG, true)
    });
    let reopened = dwrs[2].at.duration_since(cer[0].at);
    assert!(
        reopened < TW / 2,
        "the three watchdog exchanges took {reopened:?}: they should not wait for the timer"
    );
    assert!(
        killed.elapsed() < TW + TW_JITTER + Duration::from_secs(4),
        "back in service {:?} after the failure",
        killed.elapsed()
    );

    // Open again: it answers our DWR, and says goodbye at SIGTERM.
    let dwr = hss.dwr();
    hss.send(cer[0].conn, &dwr);
    hss.wait_for("DWA", 1, PROMPTLY, |r| r.is(cmd::DEVICE_WATCHDOG, false));
    assert!(server.terminate());
    hss.wait_for("DPR", 1, PROMPTLY, |r| r.is(cmd::DISCONNECT_PEER, true));
}

#[test]
fn a_failed_peer_is_replaced_by_a_spare_address() {
    let dir = data_dir();
    let first = FakeHss::listen("127.0.0.1:0");
    let spare = FakeHss::listen("127.0.0.1:0");
    // One peer wanted, two addresses known: the first is used, the second is the spare.
    let mut server = Server::start_with_config(
        dir.path(),
        2,
        &format!(
            "max_peers = 1\n[hss]\npeers = [\"{}\", \"{}\"]\n",
            first.addr, spare.addr
        ),
        &[],
    );
    first.wait_for("CER", 2, PROMPTLY, is_cer);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        spare.received().is_empty(),
        "the spare is not used while the first peer works"
    );

    // The first HSS dies: each shard's link blacklists it and connects to the spare at once,
    // not after a watchdog interval of retrying the dead address.
    first.kill();
    let killed = Instant::now();
    let cers = spare.wait_for("CER at the spare", 2, PROMPTLY, is_cer);
    assert!(
        cers[1].at.duration_since(killed) < TW,
        "replaced after {:?}",
        cers[1].at.duration_since(killed)
    );
    // Both links are usable again, on the spare alone (the dead peer was removed, not kept).
    let deadline = Instant::now() + PROMPTLY;
    loop {
        let m = server.prov("GET", "/metrics", None).body;
        let open = format!(
            "peer=\"{}\",role=\"outgoing\",state=\"open\"}} 1",
            spare.addr
        );
        let usable =
            (0..2).all(|s| m.contains(&format!("hearth_diameter_link_usable{{shard=\"{s}\"}} 1")));
        if usable && m.matches(&open).count() == 2 && !m.contains(&first.addr.to_string()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "links not back on the spare:\n{m}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The first address comes back: the working spare stays (no churn).
    let first = FakeHss::listen(&first.addr.to_string());
    std::thread::sleep(TW + TW_JITTER);
    assert!(
        !first.received().iter().any(is_cer),
        "the link went back to the first address while the spare worked"
    );
    assert!(server.terminate());
    spare.wait_for("DPR", 2, PROMPTLY, |r| r.is(cmd::DISCONNECT_PEER, true));
}

#[test]
fn an_hss_may_connect_to_the_diameter_listener() {
    let dir = data_dir();
    let hss = FakeHss::listen("127.0.0.1:0");
    let diameter = free_addr();
    let mut server = Server::start_with(
        dir.path(),
        2,
        &[
            "--hss-peer",
            &hss.addr.to_string(),
            "--diameter-addr",
            &diameter.to_string(),
            "--diameter-allowed-peer",
            "HSS.hss.test",
        ],
    );
    // An Origin-Host not allowed is refused with DIAMETER_UNKNOWN_PEER and the connection closed:
    // whoever could connect might otherwise deregister users with an RTR.
    let (stranger, _) = FakeHss::connect_as(diameter, "intruder.hss.test");
    let refusal = stranger.wait_for("CEA", 1, PROMPTLY, |r| {
        r.is(cmd::CAPABILITIES_EXCHANGE, false)
    });
    assert_eq!(result_code(&refusal[0].message), Some(result::UNKNOWN_PEER));
    stranger.wait_for_close(PROMPTLY);
    // Whichever shard the kernel hands the connection to answers the CER under its name.
    let (incoming, conn) = FakeHss::connect(diameter);
    let cea = incoming.wait_for("CEA", 1, PROMPTLY, |r| {
        r.is(cmd::CAPABILITIES_EXCHANGE, false)
    });
    let cea = &cea[0].message;
    assert_eq!(result_code(cea), Some(result::SUCCESS));
    let host = text(cea, avp::ORIGIN_HOST).unwrap();
    assert!(
        ["shard0.hearth.example.com", "shard1.hearth.example.com"].contains(&host.as_str()),
        "{host}"
    );
    assert!(vendor_applications(cea).contains(&(VENDOR_3GPP, app::CX)));

    let request = rtr(&incoming, &host, "hss.hss.test;88;1");
    incoming.send(conn, &request);
    let rta = incoming.wait_for("RTA", 1, PROMPTLY, |r| {
        r.is(cmd::REGISTRATION_TERMINATION, false)
    });
    assert_eq!(result_code(&rta[0].message), Some(result::SUCCESS));
    assert_eq!(
        rta[0].message.header().hop_by_hop,
        request.header().hop_by_hop
    );
    // The incoming connection is closed with a DPR at SIGTERM too.
    assert!(server.terminate());
    incoming.wait_for("DPR", 1, PROMPTLY, |r| r.is(cmd::DISCONNECT_PEER, true));
}

// --- discovery ------------------------------------------------------------------------------

fn dnsmasq_binary() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("dnsmasq"))
        .find(|p| p.is_file())
}

/// The dnsmasq binary, or None when the test must be skipped (never under CI).
fn require_dnsmasq(test: &str) -> Option<PathBuf> {
    let found = dnsmasq_binary();
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(
            !ci,
            "{test}: dnsmasq is required under CI (tests/run installs dnsmasq-base)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIP {test}: dnsmasq not installed (apt-get install dnsmasq-base)"
        );
    }
    found
}

/// dnsmasq in the foreground on a free loopback port, serving only the records given.
struct Dnsmasq {
    child: Child,
    port: u16,
}

impl Dnsmasq {
    fn start(binary: &PathBuf, records: &[String]) -> Dnsmasq {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .args([
                "--no-daemon",
                &format!("--port={port}"),
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--pid-file",
                "--local-ttl=1",
            ])
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dnsmasq");
        let dnsmasq = Dnsmasq { child, port };
        // Ready once it answers on TCP too.
        let deadline = Instant::now() + PROMPTLY;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "dnsmasq did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        dnsmasq
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn hss_realm_is_resolved_by_naptr_then_srv_then_a() {
    let Some(binary) = require_dnsmasq("hss_realm_is_resolved_by_naptr_then_srv_then_a") else {
        return;
    };
    let by_naptr = FakeHss::listen("127.0.0.1:0");
    let by_srv = FakeHss::listen("127.0.0.1:0");
    let by_a = FakeHss::listen("127.0.0.1:0");
    // An SRV record under the NAPTR realm's default name: NAPTR takes precedence over it.
    let decoy = FakeHss::listen("127.0.0.1:0");
    let dns = Dnsmasq::start(
        &binary,
        &[
            // naptr.test: NAPTR (AAA+D2T, "S") → SRV → A.
            "--naptr-record=naptr.test,10,10,S,AAA+D2T,,_diameter._tcp.hss.naptr.test".into(),
            // A NAPTR for Diameter over SCTP is not ours.
            "--naptr-record=naptr.test,5,10,S,AAA+D2S,,_diameter._sctp.naptr.test".into(),
            format!(
                "--srv-host=_diameter._tcp.hss.naptr.test,hss1.naptr.test,{},0,10",
                by_naptr.addr.port()
            ),
            format!(
                "--srv-host=_diameter._tcp.naptr.test,decoy.naptr.test,{}",
                decoy.addr.port()
            ),
            format!(
                "--srv-host=_diameter._sctp.naptr.test,decoy.naptr.test,{}",
                decoy.addr.port()
            ),
            "--host-record=hss1.naptr.test,127.0.0.1".into(),
            "--host-record=decoy.naptr.test,127.0.0.1".into(),
            // srv.test: no NAPTR, `_diameter._tcp` SRV.
            format!(
                "--srv-host=_diameter._tcp.srv.test,hss2.srv.test,{}",
                by_srv.addr.port()
            ),
            "--host-record=hss2.srv.test,127.0.0.1".into(),
            // a.test: neither, only an address; the port is hss_port.
            "--host-record=a.test,127.0.0.1".into(),
        ],
    );
    let toml = |realm: &str, port: Option<u16>| {
        let port = port.map_or(String::new(), |p| format!("hss_port = {p}\n"));
        format!(
            "hss_realm = \"{realm}\"\nhss_hostname = \"hss1.{realm}\"\n{port}\
             [hss]\ndns_servers = [\"127.0.0.1:{}\"]\n",
            dns.port
        )
    };
    let dirs: Vec<_> = (0..3).map(|_| data_dir()).collect();
    let mut servers = vec![
        Server::start_with_config(dirs[0].path(), 1, &toml("naptr.test", None), &[]),
        Server::start_with_config(dirs[1].path(), 1, &toml("srv.test", None), &[]),
        Server::start_with_config(
            dirs[2].path(),
            1,
            &toml("a.test", Some(by_a.addr.port())),
            &[],
        ),
    ];
    for (name, hss) in [("NAPTR", &by_naptr), ("SRV", &by_srv), ("A", &by_a)] {
        let cer = hss.wait_for(&format!("CER via {name}"), 1, PROMPTLY, is_cer);
        assert_eq!(
            text(&cer[0].message, avp::ORIGIN_HOST).as_deref(),
            Some("hearth.example.com")
        );
        // The CEA came back: the peer opens and answers our DWR.
        let dwr = hss.dwr();
        hss.send(cer[0].conn, &dwr);
        hss.wait_for("DWA", 1, PROMPTLY, |r| r.is(cmd::DEVICE_WATCHDOG, false));
    }
    assert!(
        decoy
            .received()
            .iter()
            .all(|r| !is_command(&r.message, cmd::CAPABILITIES_EXCHANGE, true)),
        "the fallback SRV or an SCTP NAPTR was used although a TCP NAPTR exists"
    );
    for server in &mut servers {
        assert!(server.terminate());
    }
}
