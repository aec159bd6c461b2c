//! The link in-process, on a glommio executor, against the fake HSS of the integration tests
//! (std sockets on other threads): answers, timeouts, no peer, connection loss, failover,
//! shutdown and incoming connections. Every request must resolve.

use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_core::diameter::cx::{AuthScheme, Mar, Routing};
use hearth_core::diameter::dict::{avp, cmd, result};
use hearth_core::diameter::peer::{PeerState, RequestError};
use hearth_core::diameter::{Message, MessageBuilder};

use super::{DiameterLink, PeerTargets};
use crate::config::Config;

#[path = "../../tests/common/hss.rs"]
mod hss;

use hss::{FakeHss, HSS_HOST, is_command, result_code, text};

/// Generous bound for anything that should happen promptly (liveness only).
const PROMPTLY: Duration = Duration::from_secs(10);

fn config(timeout_ms: u64) -> Config {
    let mut config = Config::default();
    config.hss.peers = vec!["127.0.0.1:1".into()]; // HSS mode; targets are given directly
    config.diameter_timeout_ms = timeout_ms;
    config.hss.allowed_peers = vec![HSS_HOST.into()];
    config
}

/// Runs blocking test code (the fake HSS's side) off the executor; a panic there fails the test
/// instead of leaving the awaiting future pending for ever.
async fn blocking<T: Send + 'static>(code: impl FnOnce() -> T + Send + 'static) -> T {
    let outcome = glommio::executor()
        .spawn_blocking(move || std::panic::catch_unwind(std::panic::AssertUnwindSafe(code)))
        .await;
    outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn link(config: &Config, peers: &[SocketAddr]) -> Rc<DiameterLink> {
    let link = DiameterLink::new(config, 0, 1, PeerTargets::fixed(peers.to_vec())).unwrap();
    link.start(None);
    link
}

fn run<F, Fut>(test: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    glommio::LocalExecutorBuilder::default()
        .spawn(test)
        .unwrap()
        .join()
        .unwrap();
}

/// Waits (without blocking the executor) until `condition` holds.
async fn until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + PROMPTLY;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
}

fn open_peers(link: &DiameterLink) -> usize {
    link.metrics()
        .peers
        .iter()
        .filter(|p| p.state == PeerState::Open)
        .count()
}

fn received(hss: &FakeHss, command_code: u32) -> usize {
    hss.received()
        .iter()
        .filter(|r| r.is(command_code, true))
        .count()
}

fn mar(link: &DiameterLink) -> MessageBuilder {
    Mar {
        routing: Routing::new(link.next_session_id(), link.origin(), link.destination()),
        user_name: "alice@example.com".into(),
        public_identity: "sip:alice@example.com".into(),
        scheme: AuthScheme::SipDigest,
        resync: None,
        number_auth_items: 1,
        server_name: "sip:scscf.example.com".into(),
    }
    .builder()
}

#[test]
fn origin_host_per_shard() {
    assert_eq!(
        super::link::origin_host("hearth.example.com", 0, 1),
        "hearth.example.com"
    );
    assert_eq!(
        super::link::origin_host("hearth.example.com", 3, 4),
        "shard3.hearth.example.com"
    );
}

#[test]
fn request_is_answered_on_the_shards_own_connection() {
    let hss = FakeHss::listen("127.0.0.1:0");
    let addr = hss.addr;
    run(move || async move {
        let link = link(&config(2_000), &[addr]);
        until("peer open", || link.is_usable()).await;
        let cer = &hss.received()[0].message;
        assert!(is_command(cer, cmd::CAPABILITIES_EXCHANGE, true));
        assert_eq!(
            text(cer, avp::ORIGIN_HOST).as_deref(),
            Some("hearth.example.com")
        );
        let request = mar(&link);
        let answer: Message = link.request(request).await.expect("answer");
        assert_eq!(result_code(&answer), Some(result::SUCCESS));
        assert_eq!(answer.header().command_code, cmd::MULTIMEDIA_AUTH);
        let sent = hss
            .received()
            .into_iter()
            .find(|r| r.is(cmd::MULTIMEDIA_AUTH, true))
            .unwrap();
        assert_eq!(
            text(&sent.message, avp::SESSION_ID),
            text(&answer, avp::SESSION_ID)
        );
        assert!(
            text(&sent.message, avp::SESSION_ID)
                .unwrap()
                .starts_with("hearth.example.com;")
        );
        let metrics = link.metrics();
        assert!(metrics.usable);
        assert_eq!(metrics.counters.requests, 1);
        assert_eq!(metrics.counters.answers, 1);
        assert_eq!(metrics.peers.len(), 1);
        assert_eq!(metrics.peers[0].address, Some(addr));
        assert_eq!(metrics.peers[0].origin_host.as_deref(), Some(HSS_HOST));
        let text = metrics.to_string();
        assert!(
            text.contains("hearth_diameter_link_usable{shard=\"0\"} 1"),
            "{text}"
        );
        assert!(text.contains(&format!(
            "hearth_diameter_peer_open{{shard=\"0\",peer=\"{addr}\",role=\"outgoing\",state=\"open\"}} 1"
        )));
        link.shutdown().await;
    });
}

#[test]
fn silent_peer_times_out() {
    let hss = FakeHss::listen("127.0.0.1:0");
    hss.answer_cx(false);
    let addr = hss.addr;
    run(move || async move {
        let link = link(&config(300), &[addr]);
        until("peer open", || link.is_usable()).await;
        let started = Instant::now();
        assert_eq!(link.request(mar(&link)).await, Err(RequestError::TimedOut));
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(started.elapsed() < PROMPTLY);
        assert_eq!(link.metrics().counters.timeouts, 1);
        link.shutdown().await;
        drop(hss);
    });
}

#[test]
fn no_open_peer_is_no_peer_at_once() {
    // Nothing listens on the peer's port: the connection is refused and retried later.
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    run(move || async move {
        let link = link(&config(2_000), &[refused]);
        until("a failed connection attempt", || {
            link.metrics().counters.connect_failures >= 1
        })
        .await;
        assert!(!link.is_usable());
        assert_eq!(link.request(mar(&link)).await, Err(RequestError::NoPeer));
        assert_eq!(link.metrics().peers[0].state, PeerState::Down);
        link.shutdown().await;
        // No peer at all.
        let empty = super::tests::link(&config(2_000), &[]);
        assert_eq!(empty.request(mar(&empty)).await, Err(RequestError::NoPeer));
        empty.shutdown().await;
    });
}

#[test]
fn connection_loss_resolves_pending_requests() {
    let hss = Arc::new(FakeHss::listen("127.0.0.1:0"));
    hss.answer_cx(false);
    let addr = hss.addr;
    run(move || async move {
        let link = link(&config(30_000), &[addr]);
        until("peer open", || link.is_usable()).await;
        let pending = glommio::spawn_local({
            let link = Rc::clone(&link);
            async move { link.request(mar(&link)).await }
        });
        until("the MAR at the HSS", || {
            received(&hss, cmd::MULTIMEDIA_AUTH) == 1
        })
        .await;
        let started = Instant::now();
        let killed = Arc::clone(&hss);
        glommio::executor()
            .spawn_blocking(move || killed.kill())
            .await;
        // No other peer to fail over to: NoPeer, long before the 30 s timeout.
        assert_eq!(pending.await, Err(RequestError::NoPeer));
        assert!(started.elapsed() < PROMPTLY);
        assert!(!link.is_usable());
        link.shutdown().await;
    });
}

#[test]
fn requests_fail_over_to_the_other_peer() {
    let silent = Arc::new(FakeHss::listen("127.0.0.1:0"));
    silent.answer_cx(false);
    let answering = FakeHss::listen("127.0.0.1:0");
    let peers = [silent.addr, answering.addr];
    run(move || async move {
        let link = link(&config(30_000), &peers);
        until("two peers open", || open_peers(&link) == 2).await;
        // Round robin: one request on each peer.
        let requests: Vec<_> = (0..2)
            .map(|_| {
                let link = Rc::clone(&link);
                glommio::spawn_local(async move { link.request(mar(&link)).await })
            })
            .collect();
        until("a MAR at the silent HSS", || {
            received(&silent, cmd::MULTIMEDIA_AUTH) == 1
        })
        .await;
        let killed = Arc::clone(&silent);
        glommio::executor()
            .spawn_blocking(move || killed.kill())
            .await;
        for request in requests {
            let answer = request.await.expect("answered by the other peer");
            assert_eq!(result_code(&answer), Some(result::SUCCESS));
        }
        // The failed-over copy carries the 'T' flag.
        let resent = answering
            .received()
            .into_iter()
            .filter(|r| r.is(cmd::MULTIMEDIA_AUTH, true))
            .filter(|r| {
                r.message
                    .header()
                    .flags
                    .contains(hearth_core::diameter::CommandFlags::RETRANSMITTED)
            })
            .count();
        assert_eq!(resent, 1);
        let counters = link.metrics().counters;
        assert_eq!((counters.answers, counters.failovers), (2, 1));
        link.shutdown().await;
    });
}

#[test]
fn shutdown_sends_dpr_and_resolves_waiters() {
    let hss = Arc::new(FakeHss::listen("127.0.0.1:0"));
    hss.answer_cx(false);
    let addr = hss.addr;
    run(move || async move {
        let link = link(&config(30_000), &[addr]);
        until("peer open", || link.is_usable()).await;
        let pending = glommio::spawn_local({
            let link = Rc::clone(&link);
            async move { link.request(mar(&link)).await }
        });
        until("the MAR at the HSS", || {
            received(&hss, cmd::MULTIMEDIA_AUTH) == 1
        })
        .await;
        let started = Instant::now();
        link.shutdown().await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "DPA came back: no 2 s wait"
        );
        assert_eq!(received(&hss, cmd::DISCONNECT_PEER), 1);
        assert_eq!(pending.await, Err(RequestError::NoPeer));
        assert_eq!(link.request(mar(&link)).await, Err(RequestError::NoPeer));
    });
}

#[test]
fn incoming_connection_rtr_without_handler_gets_5012() {
    run(|| async {
        let listener = glommio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let link = DiameterLink::new(&config(2_000), 0, 1, PeerTargets::fixed(Vec::new())).unwrap();
        link.start(Some(listener));
        let exchange = blocking(move || {
            let (hss, conn) = FakeHss::connect(addr);
            let cea = hss.wait_for("CEA", 1, PROMPTLY, |r| {
                r.is(cmd::CAPABILITIES_EXCHANGE, false)
            });
            let (h, e) = hss.ids();
            let rtr = hearth_core::diameter::cx::Rtr {
                routing: Routing {
                    session_id: "hss.hss.test;1;2".into(),
                    origin: hearth_core::diameter::cx::Origin::new(HSS_HOST, hss::HSS_REALM),
                    destination_realm: "example.com".into(),
                    destination_host: Some("hearth.example.com".into()),
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
            .unwrap();
            hss.send(conn, &rtr);
            let rta = hss.wait_for("RTA", 1, PROMPTLY, |r| {
                r.is(cmd::REGISTRATION_TERMINATION, false)
            });
            (cea[0].message.clone(), rta[0].message.clone(), h)
        });
        let (cea, rta, hop_by_hop) = exchange.await;
        assert_eq!(result_code(&cea), Some(result::SUCCESS));
        assert_eq!(
            text(&cea, avp::ORIGIN_HOST).as_deref(),
            Some("hearth.example.com")
        );
        assert_eq!(rta.header().hop_by_hop, hop_by_hop);
        assert_eq!(result_code(&rta), Some(result::UNABLE_TO_COMPLY));
        assert_eq!(
            text(&rta, avp::SESSION_ID).as_deref(),
            Some("hss.hss.test;1;2")
        );
        let counters = link.metrics().counters;
        assert_eq!(
            (counters.incoming_requests, counters.incoming_refused),
            (1, 1)
        );
        link.shutdown().await;
    });
}

#[test]
fn incoming_requests_reach_the_handler() {
    run(|| async {
        let listener = glommio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let link = DiameterLink::new(&config(2_000), 0, 1, PeerTargets::fixed(Vec::new())).unwrap();
        let origin = link.origin().clone();
        link.set_request_handler(Rc::new(move |request: Message| {
            let origin = origin.clone();
            Box::pin(async move {
                let ppr = hearth_core::diameter::cx::Ppr::from_message(&request).ok()?;
                hearth_core::diameter::cx::Ppa {
                    session_id: ppr.routing.session_id,
                    origin,
                    result: hearth_core::diameter::cx::CxResult::SUCCESS,
                }
                .to_message(&request)
                .ok()
            })
        }));
        link.start(Some(listener));
        let exchange = blocking(move || {
            let (hss, conn) = FakeHss::connect(addr);
            hss.wait_for("CEA", 1, PROMPTLY, |r| {
                r.is(cmd::CAPABILITIES_EXCHANGE, false)
            });
            let (h, e) = hss.ids();
            let ppr =
                MessageBuilder::request(hearth_core::diameter::dict::app::CX, cmd::PUSH_PROFILE)
                    .hop_by_hop(h)
                    .end_to_end(e)
                    .avp_str(avp::SESSION_ID, "hss.hss.test;3;4")
                    .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
                        g.avp_u32(avp::VENDOR_ID, hearth_core::diameter::dict::VENDOR_3GPP)
                            .avp_u32(
                                avp::AUTH_APPLICATION_ID,
                                hearth_core::diameter::dict::app::CX,
                            );
                    })
                    .avp_i32(avp::AUTH_SESSION_STATE, 1)
                    .avp_str(avp::ORIGIN_HOST, HSS_HOST)
                    .avp_str(avp::ORIGIN_REALM, hss::HSS_REALM)
                    .avp_str(avp::DESTINATION_HOST, "hearth.example.com")
                    .avp_str(avp::DESTINATION_REALM, "example.com")
                    .avp_str(avp::USER_NAME, "alice@example.com")
                    .finish()
                    .unwrap();
            hss.send(conn, &ppr);
            let ppa = hss.wait_for("PPA", 1, PROMPTLY, |r| r.is(cmd::PUSH_PROFILE, false));
            ppa[0].message.clone()
        });
        let ppa = exchange.await;
        assert_eq!(result_code(&ppa), Some(result::SUCCESS));
        assert_eq!(
            text(&ppa, avp::SESSION_ID).as_deref(),
            Some("hss.hss.test;3;4")
        );
        assert_eq!(link.metrics().counters.incoming_refused, 0);
        link.shutdown().await;
    });
}

#[test]
fn peers_follow_the_published_targets() {
    let first = Arc::new(FakeHss::listen("127.0.0.1:0"));
    let second = Arc::new(FakeHss::listen("127.0.0.1:0"));
    let third = Arc::new(FakeHss::listen("127.0.0.1:0"));
    let (a, b, c) = (first.addr, second.addr, third.addr);
    run(move || async move {
        let mut config = config(2_000);
        config.max_peers = 1;
        let targets = PeerTargets::fixed(vec![a]);
        let link = DiameterLink::new(&config, 0, 1, Arc::clone(&targets)).unwrap();
        link.start(None);
        until("first peer open", || link.is_usable()).await;
        // A new DNS answer: the old peer is told goodbye (DPR, DO_NOT_WANT_TO_TALK_TO_YOU) and
        // removed, the new one connected. Beyond max_peers, addresses are not used.
        targets.publish(vec![b, c]);
        until("DPR to the first peer", || {
            received(&first, cmd::DISCONNECT_PEER) == 1
        })
        .await;
        let dpr = first
            .received()
            .into_iter()
            .find(|r| r.is(cmd::DISCONNECT_PEER, true))
            .unwrap();
        assert_eq!(
            dpr.message
                .avp(avp::DISCONNECT_CAUSE)
                .unwrap()
                .unwrap()
                .as_i32()
                .unwrap(),
            hearth_core::diameter::dict::disconnect_cause::DO_NOT_WANT_TO_TALK_TO_YOU
        );
        until("second peer open", || {
            let metrics = link.metrics();
            metrics.peers.len() == 1
                && metrics.peers[0].address == Some(b)
                && metrics.peers[0].state == PeerState::Open
        })
        .await;
        let answer = link.request(mar(&link)).await.expect("answer");
        assert_eq!(result_code(&answer), Some(result::SUCCESS));
        assert_eq!(received(&second, cmd::MULTIMEDIA_AUTH), 1);
        assert_eq!(received(&first, cmd::MULTIMEDIA_AUTH), 0);
        assert!(third.received().is_empty(), "max_peers = 1");
        link.shutdown().await;
    });
}
