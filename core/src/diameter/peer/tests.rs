//! Unit tests: the bytes of every base message we emit (decoded with the codec), and each
//! transition of the peer state machine and the RFC 3539 watchdog.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::testkit::{Hss, OUR_HOST, OUR_REALM, START_TIME, mar, our_config, ppa, session_id};
use super::*;
use crate::diameter::dict::{VENDOR_3GPP, avp, cmd, disconnect_cause, result};
use crate::diameter::{Address, AvpFlags, CommandFlags, Message, validate};

const HSS_HOST: &str = "hss1.example.net";

fn config() -> Arc<PeerConfig> {
    Arc::new(our_config(42))
}

fn sent(peer: &mut Peer) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(bytes) = peer.poll_transmit() {
        out.push(Message::parse(bytes).expect("one whole message per transmit"));
    }
    out
}

fn only_sent(peer: &mut Peer) -> Message {
    let mut out = sent(peer);
    assert_eq!(out.len(), 1, "{out:?}");
    out.remove(0)
}

fn events(peer: &mut Peer) -> Vec<PeerEvent> {
    std::iter::from_fn(|| peer.poll_event()).collect()
}

fn changed(from: PeerState, to: PeerState) -> PeerEvent {
    PeerEvent::StateChanged { from, to }
}

fn is_command(message: &Message, code: u32, request: bool) -> bool {
    let header = message.header();
    header.command_code == code && header.is_request() == request && header.application_id == 0
}

/// An initiator opened at t=20 against `hss`, bytes and events drained.
fn open_peer(config: Arc<PeerConfig>, hss: &Hss) -> Peer {
    let mut peer = Peer::initiator(config, 0).expect("valid config");
    peer.connected(10);
    let cer = only_sent(&mut peer);
    peer.bytes_received(hss.cea(&cer, result::SUCCESS).as_bytes(), 20);
    assert_eq!(peer.state(), PeerState::Open);
    events(&mut peer);
    peer
}

fn u32_of(message: &Message, key: crate::diameter::AvpKey) -> Option<u32> {
    message
        .avp(key)
        .ok()
        .flatten()
        .and_then(|a| a.as_u32().ok())
}

fn str_of(message: &Message, key: crate::diameter::AvpKey) -> Option<String> {
    message
        .avp(key)
        .ok()
        .flatten()
        .and_then(|a| a.as_utf8().ok().map(str::to_owned))
}

#[test]
fn cer_carries_our_capabilities() {
    let mut peer = Peer::initiator(config(), 0).unwrap();
    assert_eq!(
        events(&mut peer),
        [
            changed(PeerState::Closed, PeerState::Connecting),
            PeerEvent::Connect
        ]
    );
    peer.connected(5);
    let cer = only_sent(&mut peer);
    let bytes = cer.as_bytes();
    // Header: version 1, length, flags R only (CER is not proxiable), code 257, application 0.
    assert_eq!(bytes[0], 1);
    assert_eq!(
        u32::from_be_bytes([0, bytes[1], bytes[2], bytes[3]]) as usize,
        bytes.len()
    );
    assert_eq!(bytes[4], 0x80);
    assert_eq!(&bytes[5..8], &[0, 1, 1]);
    assert_eq!(&bytes[8..12], &[0, 0, 0, 0]);
    // End-to-End: high 12 bits are the low 12 bits of the start time (RFC 6733 §3).
    assert_eq!(cer.header().end_to_end >> 20, (START_TIME & 0xFFF) as u32);
    validate(&cer, &[]).expect("our CER satisfies the dictionary");

    let avps = cer.avps().unwrap();
    let order: Vec<u32> = avps.iter().map(|a| a.code).collect();
    assert_eq!(order[..2], [264, 296], "Origin-Host, Origin-Realm first");
    let host = avps.get(avp::ORIGIN_HOST).unwrap();
    assert_eq!(host.as_identity().unwrap(), OUR_HOST);
    assert!(host.flags.contains(AvpFlags::MANDATORY));
    assert_eq!(
        avps.get(avp::ORIGIN_REALM).unwrap().as_identity().unwrap(),
        OUR_REALM
    );
    assert_eq!(
        avps.get(avp::HOST_IP_ADDRESS)
            .unwrap()
            .as_address()
            .unwrap(),
        Address::V4(Ipv4Addr::new(192, 0, 2, 10))
    );
    // Host-IP-Address data: family 1 then the four octets.
    assert_eq!(
        avps.get(avp::HOST_IP_ADDRESS).unwrap().data.as_ref(),
        &[0, 1, 192, 0, 2, 10]
    );
    assert_eq!(u32_of(&cer, avp::VENDOR_ID), Some(0));
    assert_eq!(str_of(&cer, avp::PRODUCT_NAME).as_deref(), Some("Hearth"));
    assert_eq!(u32_of(&cer, avp::ORIGIN_STATE_ID), Some(1_234_567));
    let supported: Vec<u32> = avps
        .all(avp::SUPPORTED_VENDOR_ID)
        .map(|a| a.as_u32().unwrap())
        .collect();
    assert_eq!(supported, [VENDOR_3GPP]);
    let applications: Vec<(u32, u32)> = avps
        .all(avp::VENDOR_SPECIFIC_APPLICATION_ID)
        .map(|group| {
            let members = group.grouped().unwrap();
            (
                members.get(avp::VENDOR_ID).unwrap().as_u32().unwrap(),
                members
                    .get(avp::AUTH_APPLICATION_ID)
                    .unwrap()
                    .as_u32()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        applications,
        [
            (VENDOR_3GPP, 16_777_216),
            (VENDOR_3GPP, 16_777_217),
            (VENDOR_3GPP, 16_777_221)
        ]
    );
    assert!(avps.get(avp::AUTH_APPLICATION_ID).is_none());
    assert_eq!(peer.state(), PeerState::WaitCea);
}

#[test]
fn ietf_application_and_firmware_revision_are_advertised_bare() {
    let mut config = our_config(1);
    config.applications = vec![Application::ietf(4)];
    config.firmware_revision = Some(7);
    config
        .host_ip_addresses
        .push(IpAddr::V6(Ipv6Addr::LOCALHOST));
    let mut peer = Peer::initiator(Arc::new(config), 0).unwrap();
    peer.connected(0);
    let cer = only_sent(&mut peer);
    validate(&cer, &[]).unwrap();
    let avps = cer.avps().unwrap();
    assert_eq!(u32_of(&cer, avp::AUTH_APPLICATION_ID), Some(4));
    assert!(avps.get(avp::VENDOR_SPECIFIC_APPLICATION_ID).is_none());
    assert_eq!(u32_of(&cer, avp::FIRMWARE_REVISION), Some(7));
    let addresses: Vec<Address> = avps
        .all(avp::HOST_IP_ADDRESS)
        .map(|a| a.as_address().unwrap())
        .collect();
    assert_eq!(
        addresses,
        [
            Address::V4(Ipv4Addr::new(192, 0, 2, 10)),
            Address::V6(Ipv6Addr::LOCALHOST)
        ]
    );
}

#[test]
fn cea_success_opens_and_records_the_peer() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = Peer::initiator(config(), 0).unwrap();
    events(&mut peer);
    peer.connected(10);
    assert_eq!(
        events(&mut peer),
        [changed(PeerState::Connecting, PeerState::WaitCea)]
    );
    let cer = only_sent(&mut peer);
    peer.bytes_received(hss.cea(&cer, result::SUCCESS).as_bytes(), 30);
    assert_eq!(
        events(&mut peer),
        [changed(PeerState::WaitCea, PeerState::Open)]
    );
    assert!(peer.is_usable());
    let remote = peer.remote().unwrap();
    assert_eq!(remote.origin_host, HSS_HOST);
    assert_eq!(remote.origin_realm, "hss.example.net");
    assert_eq!(remote.applications, [16_777_216]);
    assert_eq!(remote.product_name.as_deref(), Some("SimHSS"));
    assert_eq!(remote.origin_state_id, Some(99));
    assert_eq!(
        remote.host_ip_addresses,
        [IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7))]
    );
    assert!(peer.supports(16_777_216));
    assert!(
        !peer.supports(16_777_217),
        "Sh was not advertised by the HSS"
    );
    // The watchdog runs: Tw = 30 s ± 2 s from the CEA.
    let at = peer.poll_timeout().unwrap();
    assert!((30 + 28_000..=30 + 32_000).contains(&at), "{at}");
}

#[test]
fn cea_split_across_reads_is_framed() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = Peer::initiator(config(), 0).unwrap();
    peer.connected(10);
    let cer = only_sent(&mut peer);
    let cea = hss.cea(&cer, result::SUCCESS);
    for chunk in cea.as_bytes().chunks(3) {
        assert_eq!(peer.state(), PeerState::WaitCea);
        peer.bytes_received(chunk, 20);
    }
    assert_eq!(peer.state(), PeerState::Open);
}

#[test]
fn cea_with_relay_application_is_common_to_all() {
    let mut hss = Hss::new(HSS_HOST, 1);
    hss.applications = vec![Application::ietf(0xFFFF_FFFF)];
    let peer = open_peer(config(), &hss);
    assert_eq!(
        peer.remote().unwrap().applications,
        [16_777_216, 16_777_217, 16_777_221]
    );
}

#[test]
fn cea_with_bare_auth_application_id_counts() {
    let mut hss = Hss::new(HSS_HOST, 1);
    hss.applications = vec![Application::ietf(16_777_217)];
    let peer = open_peer(config(), &hss);
    assert_eq!(peer.remote().unwrap().applications, [16_777_217]);
}

#[test]
fn cea_failure_result_closes_and_retries_after_tw() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = Peer::initiator(config(), 0).unwrap();
    peer.connected(10);
    let cer = only_sent(&mut peer);
    events(&mut peer);
    peer.bytes_received(hss.cea(&cer, result::UNKNOWN_PEER).as_bytes(), 20);
    assert_eq!(
        events(&mut peer),
        [
            PeerEvent::Disconnect {
                reason: DisconnectReason::CapabilitiesRejected { result_code: 3010 }
            },
            changed(PeerState::WaitCea, PeerState::Down)
        ]
    );
    let retry = peer.poll_timeout().unwrap();
    assert!((20 + 28_000..=20 + 32_000).contains(&retry));
    peer.timeout(retry - 1);
    assert!(events(&mut peer).is_empty());
    peer.timeout(retry);
    assert_eq!(
        events(&mut peer),
        [
            changed(PeerState::Down, PeerState::Connecting),
            PeerEvent::Connect
        ]
    );
    // A first connection that never opened comes up straight to Open (RFC 3539 INITIAL).
    peer.connected(retry + 1);
    let cer = only_sent(&mut peer);
    peer.bytes_received(hss.cea(&cer, result::SUCCESS).as_bytes(), retry + 2);
    assert_eq!(peer.state(), PeerState::Open);
}

#[test]
fn cea_without_common_application_closes() {
    let mut hss = Hss::new(HSS_HOST, 1);
    hss.applications = vec![Application::vendor_specific(VENDOR_3GPP, 16_777_238)];
    let mut peer = Peer::initiator(config(), 0).unwrap();
    peer.connected(10);
    let cer = only_sent(&mut peer);
    events(&mut peer);
    peer.bytes_received(hss.cea(&cer, result::SUCCESS).as_bytes(), 20);
    assert_eq!(
        events(&mut peer)[0],
        PeerEvent::Disconnect {
            reason: DisconnectReason::NoCommonApplication
        }
    );
    assert_eq!(peer.state(), PeerState::Down);
}

#[test]
fn anything_but_a_cea_first_is_a_protocol_error() {
    let mut hss = Hss::new(HSS_HOST, 1);
    let mut peer = Peer::initiator(config(), 0).unwrap();
    peer.connected(10);
    sent(&mut peer);
    events(&mut peer);
    peer.bytes_received(hss.dwr().as_bytes(), 20);
    assert!(matches!(
        events(&mut peer)[0],
        PeerEvent::Disconnect {
            reason: DisconnectReason::ProtocolError(_)
        }
    ));
    assert_eq!(peer.state(), PeerState::Down);
    assert!(sent(&mut peer).is_empty(), "the DWR is not answered");
}

#[test]
fn unframeable_bytes_close_the_connection() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.bytes_received(&[2, 0, 0, 20], 100);
    assert!(matches!(
        events(&mut peer)[0],
        PeerEvent::Disconnect {
            reason: DisconnectReason::ProtocolError(_)
        }
    ));
    assert_eq!(peer.state(), PeerState::Down);
}

#[test]
fn oversized_message_closes_the_connection() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut config = our_config(42);
    config.max_message_len = 512;
    let mut peer = open_peer(Arc::new(config), &hss);
    // A header announcing 513 octets: refused before they arrive.
    peer.bytes_received(&[1, 0, 2, 1, 0, 0, 1, 0x18], 100);
    assert_eq!(peer.state(), PeerState::Down);
}

#[test]
fn handshake_times_out_while_connecting_and_waiting_for_cea() {
    let mut peer = Peer::initiator(config(), 0).unwrap();
    events(&mut peer);
    assert_eq!(peer.poll_timeout(), Some(5_000));
    peer.timeout(5_000);
    assert_eq!(
        events(&mut peer),
        [
            PeerEvent::Disconnect {
                reason: DisconnectReason::HandshakeTimeout
            },
            changed(PeerState::Connecting, PeerState::Down)
        ]
    );
    let retry = peer.poll_timeout().unwrap();
    peer.timeout(retry);
    peer.connected(retry + 100);
    sent(&mut peer);
    events(&mut peer);
    assert_eq!(peer.poll_timeout(), Some(retry + 100 + 5_000));
    peer.timeout(retry + 5_100);
    assert_eq!(
        events(&mut peer)[0],
        PeerEvent::Disconnect {
            reason: DisconnectReason::HandshakeTimeout
        }
    );
}

#[test]
fn connection_refused_retries_after_tw() {
    let mut peer = Peer::initiator(config(), 0).unwrap();
    events(&mut peer);
    peer.connection_failed(3);
    assert_eq!(
        events(&mut peer),
        [changed(PeerState::Connecting, PeerState::Down)]
    );
    let retry = peer.poll_timeout().unwrap();
    assert!((3 + 28_000..=3 + 32_000).contains(&retry));
}

#[test]
fn watchdog_probes_then_suspect_then_down_then_reopen_with_three_dwas() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut config = our_config(42);
    config.request_timeout_ms = 600_000;
    let mut peer = open_peer(Arc::new(config), &hss);
    peer.send_request(RequestId(7), mar("s7"), 20).unwrap();
    let request = only_sent(&mut peer);

    // OKAY, timer fires without traffic: a DWR, Pending set.
    let t1 = peer.poll_timeout().unwrap();
    assert!((20 + 28_000..=20 + 32_000).contains(&t1));
    peer.timeout(t1);
    let dwr = only_sent(&mut peer);
    assert!(is_command(&dwr, cmd::DEVICE_WATCHDOG, true));
    validate(&dwr, &[]).unwrap();
    assert_eq!(str_of(&dwr, avp::ORIGIN_HOST).as_deref(), Some(OUR_HOST));
    assert_eq!(u32_of(&dwr, avp::ORIGIN_STATE_ID), Some(1_234_567));
    assert!(events(&mut peer).is_empty());

    // OKAY, timer fires with Pending: SUSPECT, pending requests handed back.
    let t2 = peer.poll_timeout().unwrap();
    assert!((t1 + 28_000..=t1 + 32_000).contains(&t2));
    peer.timeout(t2);
    assert_eq!(
        events(&mut peer),
        [
            changed(PeerState::Open, PeerState::Suspect),
            PeerEvent::Failover {
                requests: vec![PendingRequest {
                    id: RequestId(7),
                    message: request,
                    deadline_ms: 20 + 600_000
                }]
            }
        ]
    );
    assert!(!peer.is_usable());
    assert_eq!(
        peer.send_request(RequestId(8), mar("s8"), t2),
        Err(SendError::NotOpen(PeerState::Suspect))
    );

    // SUSPECT, timer fires: DOWN, connection closed.
    let t3 = peer.poll_timeout().unwrap();
    peer.timeout(t3);
    assert_eq!(
        events(&mut peer),
        [
            PeerEvent::Disconnect {
                reason: DisconnectReason::WatchdogExpired
            },
            changed(PeerState::Suspect, PeerState::Down)
        ]
    );

    // DOWN, timer fires: reconnect.
    let t4 = peer.poll_timeout().unwrap();
    assert!((t3 + 28_000..=t3 + 32_000).contains(&t4));
    peer.timeout(t4);
    assert_eq!(
        events(&mut peer),
        [
            changed(PeerState::Down, PeerState::Connecting),
            PeerEvent::Connect
        ]
    );
    peer.connected(t4 + 1);
    let cer = only_sent(&mut peer);
    peer.bytes_received(hss.cea(&cer, result::SUCCESS).as_bytes(), t4 + 2);
    assert_eq!(
        events(&mut peer),
        [
            changed(PeerState::Connecting, PeerState::WaitCea),
            changed(PeerState::WaitCea, PeerState::Reopen)
        ]
    );
    // REOPEN: a DWR at once, and the next one as soon as its DWA is back; requests are refused
    // until three DWAs came back.
    let mut dwr = only_sent(&mut peer);
    let mut now = t4 + 2;
    for answered in 1..=3 {
        assert!(is_command(&dwr, cmd::DEVICE_WATCHDOG, true));
        assert_eq!(peer.state(), PeerState::Reopen);
        assert!(!peer.is_usable());
        now += 5;
        peer.bytes_received(hss.dwa(&dwr).as_bytes(), now);
        if answered < 3 {
            assert!(events(&mut peer).is_empty());
            dwr = only_sent(&mut peer);
        }
    }
    assert!(sent(&mut peer).is_empty(), "no DWR after the third DWA");
    assert_eq!(
        events(&mut peer),
        [changed(PeerState::Reopen, PeerState::Open)]
    );
    peer.send_request(RequestId(9), mar("s9"), now).unwrap();
}

#[test]
fn reopen_without_dwa_goes_down_after_two_intervals() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.connection_closed(100);
    events(&mut peer);
    let t = peer.poll_timeout().unwrap();
    peer.timeout(t);
    peer.connected(t);
    let cer = only_sent(&mut peer);
    peer.bytes_received(hss.cea(&cer, result::SUCCESS).as_bytes(), t);
    assert_eq!(peer.state(), PeerState::Reopen);
    sent(&mut peer);
    events(&mut peer);
    // Pending and NumDWA >= 0: NumDWA = -1, still REOPEN, no DWR.
    let t1 = peer.poll_timeout().unwrap();
    peer.timeout(t1);
    assert!(events(&mut peer).is_empty());
    assert!(sent(&mut peer).is_empty());
    assert_eq!(peer.state(), PeerState::Reopen);
    // Pending and NumDWA < 0: DOWN.
    let t2 = peer.poll_timeout().unwrap();
    peer.timeout(t2);
    assert_eq!(
        events(&mut peer),
        [
            PeerEvent::Disconnect {
                reason: DisconnectReason::WatchdogExpired
            },
            changed(PeerState::Reopen, PeerState::Down)
        ]
    );
}

#[test]
fn late_dwa_in_reopen_restarts_the_count() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.connection_closed(100);
    let t = peer.poll_timeout().unwrap();
    peer.timeout(t);
    peer.connected(t);
    let cer = only_sent(&mut peer);
    peer.bytes_received(hss.cea(&cer, result::SUCCESS).as_bytes(), t);
    let first = only_sent(&mut peer);
    events(&mut peer);
    let t1 = peer.poll_timeout().unwrap();
    peer.timeout(t1); // NumDWA = -1
    peer.bytes_received(hss.dwa(&first).as_bytes(), t1 + 1); // NumDWA = 0, next DWR at once
    let mut now = t1 + 1;
    for _ in 0..3 {
        assert_eq!(peer.state(), PeerState::Reopen);
        let dwr = only_sent(&mut peer);
        now += 1;
        peer.bytes_received(hss.dwa(&dwr).as_bytes(), now);
    }
    assert_eq!(peer.state(), PeerState::Open);
    assert!(sent(&mut peer).is_empty());
}

#[test]
fn reopen_exchanges_three_watchdogs_back_to_back() {
    // A restarted HSS is back in service one round trip per DWA after its CEA, not after three
    // watchdog intervals: each DWA in REOPEN is followed by the next DWR at once.
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.connection_closed(100);
    events(&mut peer);
    // DOWN: the reconnection is attempted when the watchdog timer fires.
    let t = peer.poll_timeout().unwrap();
    assert!((100 + 28_000..=100 + 32_000).contains(&t), "{t}");
    peer.timeout(t);
    assert_eq!(peer.state(), PeerState::Connecting);
    peer.connected(t + 1);
    let cer = only_sent(&mut peer);
    peer.bytes_received(hss.cea(&cer, result::SUCCESS).as_bytes(), t + 2);
    assert_eq!(peer.state(), PeerState::Reopen);
    let mut dwrs = Vec::new();
    let mut now = t + 2;
    while peer.state() == PeerState::Reopen {
        let dwr = only_sent(&mut peer);
        assert!(is_command(&dwr, cmd::DEVICE_WATCHDOG, true));
        // The watchdog timer still bounds the wait for each DWA.
        let at = peer.poll_timeout().unwrap();
        assert!(at >= now + 28_000, "{at}");
        dwrs.push(dwr.header().hop_by_hop);
        now += 3;
        peer.bytes_received(hss.dwa(&dwr).as_bytes(), now);
        assert!(dwrs.len() <= 3);
    }
    assert_eq!(dwrs.len(), 3, "three DWAs, no fewer");
    assert_eq!(peer.state(), PeerState::Open);
    assert_eq!(now, t + 2 + 9, "no timer waited between the exchanges");
    peer.send_request(RequestId(1), mar("s1"), now).unwrap();
}

#[test]
fn down_initiator_retries_at_every_watchdog_expiry() {
    let mut peer = Peer::initiator(config(), 0).unwrap();
    events(&mut peer);
    let mut now = 0;
    for attempt in 0..4 {
        // Refused at once, or timed out while connecting: DOWN again, next try after Tw.
        if attempt % 2 == 0 {
            peer.connection_failed(now + 1);
        } else {
            let deadline = peer.poll_timeout().unwrap();
            peer.timeout(deadline);
            now = deadline;
        }
        assert_eq!(peer.state(), PeerState::Down, "attempt {attempt}");
        let retry = peer.poll_timeout().unwrap();
        assert!(
            retry >= now + 28_000 && retry <= now + 1 + 32_000,
            "{retry}"
        );
        peer.timeout(retry);
        assert_eq!(peer.state(), PeerState::Connecting, "attempt {attempt}");
        assert!(events(&mut peer).contains(&PeerEvent::Connect));
        now = retry;
    }
}

#[test]
fn any_traffic_resets_the_watchdog_and_dwr_is_answered() {
    let mut hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    let dwr = hss.dwr();
    peer.bytes_received(dwr.as_bytes(), 20_000);
    let dwa = only_sent(&mut peer);
    assert!(is_command(&dwa, cmd::DEVICE_WATCHDOG, false));
    assert_eq!(dwa.header().hop_by_hop, dwr.header().hop_by_hop);
    assert_eq!(dwa.header().end_to_end, dwr.header().end_to_end);
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&dwa),
        Some(2001)
    );
    validate(&dwa, &[]).unwrap();
    let at = peer.poll_timeout().unwrap();
    assert!((20_000 + 28_000..=20_000 + 32_000).contains(&at), "{at}");
}

#[test]
fn suspect_fails_back_on_any_message() {
    let mut hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    let t1 = peer.poll_timeout().unwrap();
    peer.timeout(t1);
    sent(&mut peer);
    let t2 = peer.poll_timeout().unwrap();
    peer.timeout(t2);
    assert_eq!(peer.state(), PeerState::Suspect);
    events(&mut peer);
    // A DWR (not a DWA) from the peer is traffic too: failback.
    peer.bytes_received(hss.dwr().as_bytes(), t2 + 10);
    assert_eq!(
        events(&mut peer),
        [changed(PeerState::Suspect, PeerState::Open)]
    );
    assert!(is_command(
        &only_sent(&mut peer),
        cmd::DEVICE_WATCHDOG,
        false
    ));
    // Pending stayed set (only a DWA clears it): the next expiry is SUSPECT again.
    let t3 = peer.poll_timeout().unwrap();
    peer.timeout(t3);
    assert_eq!(peer.state(), PeerState::Suspect);
}

#[test]
fn dpr_rebooting_is_answered_and_reconnects() {
    let mut hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    let dpr = hss.dpr(disconnect_cause::REBOOTING);
    peer.bytes_received(dpr.as_bytes(), 100);
    let dpa = only_sent(&mut peer);
    assert!(is_command(&dpa, cmd::DISCONNECT_PEER, false));
    assert_eq!(dpa.header().hop_by_hop, dpr.header().hop_by_hop);
    validate(&dpa, &[]).unwrap();
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&dpa),
        Some(2001)
    );
    assert_eq!(
        events(&mut peer),
        [
            PeerEvent::Disconnect {
                reason: DisconnectReason::PeerRequested { cause: Some(0) }
            },
            changed(PeerState::Open, PeerState::Down)
        ]
    );
    assert!(peer.poll_timeout().is_some());
}

#[test]
fn dpr_busy_is_answered_and_stays_closed() {
    let mut hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.bytes_received(hss.dpr(disconnect_cause::BUSY).as_bytes(), 100);
    assert!(is_command(
        &only_sent(&mut peer),
        cmd::DISCONNECT_PEER,
        false
    ));
    assert_eq!(peer.state(), PeerState::Closed);
    assert_eq!(peer.poll_timeout(), None);
    peer.start(200);
    assert_eq!(peer.state(), PeerState::Connecting);
}

#[test]
fn close_sends_dpr_and_closes_on_dpa() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.close(DisconnectCause::DoNotWantToTalkToYou, 100);
    let dpr = only_sent(&mut peer);
    assert!(is_command(&dpr, cmd::DISCONNECT_PEER, true));
    validate(&dpr, &[]).unwrap();
    let cause = dpr
        .avp(avp::DISCONNECT_CAUSE)
        .unwrap()
        .unwrap()
        .as_enumerated()
        .unwrap();
    assert_eq!(cause, 2);
    assert_eq!(
        events(&mut peer),
        [changed(PeerState::Open, PeerState::Closing)]
    );
    assert_eq!(peer.poll_timeout(), Some(5_100));
    peer.bytes_received(hss.dpa(&dpr).as_bytes(), 150);
    assert_eq!(
        events(&mut peer),
        [
            PeerEvent::Disconnect {
                reason: DisconnectReason::Closed
            },
            changed(PeerState::Closing, PeerState::Closed)
        ]
    );
    assert_eq!(peer.poll_timeout(), None, "no reconnection");
}

#[test]
fn close_without_dpa_times_out() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.close(DisconnectCause::Rebooting, 100);
    sent(&mut peer);
    events(&mut peer);
    peer.timeout(5_100);
    assert_eq!(
        events(&mut peer),
        [
            PeerEvent::Disconnect {
                reason: DisconnectReason::DpaTimeout
            },
            changed(PeerState::Closing, PeerState::Closed)
        ]
    );
}

#[test]
fn close_while_down_or_connecting() {
    let mut peer = Peer::initiator(config(), 0).unwrap();
    events(&mut peer);
    peer.close(DisconnectCause::Rebooting, 1);
    assert_eq!(
        events(&mut peer),
        [
            PeerEvent::Disconnect {
                reason: DisconnectReason::Closed
            },
            changed(PeerState::Connecting, PeerState::Closed)
        ]
    );
    peer.start(2);
    peer.connection_failed(3);
    assert_eq!(peer.state(), PeerState::Down);
    peer.close(DisconnectCause::Rebooting, 4);
    assert_eq!(peer.state(), PeerState::Closed);
    assert_eq!(peer.poll_timeout(), None);
}

#[test]
fn answers_are_matched_by_hop_by_hop_and_duplicates_dropped() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.send_request(RequestId(1), mar("one"), 100).unwrap();
    peer.send_request(RequestId(2), mar("two"), 101).unwrap();
    let requests = sent(&mut peer);
    assert_eq!(requests.len(), 2);
    let (first, second) = (&requests[0], &requests[1]);
    assert_eq!(
        second.header().hop_by_hop,
        first.header().hop_by_hop.wrapping_add(1)
    );
    assert_ne!(first.header().end_to_end, second.header().end_to_end);
    assert!(first.header().is_proxiable() && !first.header().is_retransmitted());
    assert_eq!(peer.pending_requests(), 2);

    // Answers out of order.
    peer.bytes_received(hss.maa(second).as_bytes(), 150);
    peer.bytes_received(hss.maa(first).as_bytes(), 160);
    let answers = events(&mut peer);
    assert_eq!(answers.len(), 2);
    let PeerEvent::Answer { id, message } = &answers[0] else {
        panic!("{answers:?}")
    };
    assert_eq!(*id, RequestId(2));
    assert_eq!(session_id(message).as_deref(), Some("two"));
    assert!(matches!(
        answers[1],
        PeerEvent::Answer {
            id: RequestId(1),
            ..
        }
    ));

    // A duplicate is dropped and counted.
    peer.bytes_received(hss.maa(first).as_bytes(), 170);
    assert!(events(&mut peer).is_empty());
    assert_eq!(peer.stats().unmatched_answers, 1);
    assert_eq!(peer.pending_requests(), 0);
    assert_eq!(
        peer.poll_timeout().map(|t| t > 1_000),
        Some(true),
        "request timers cleared"
    );
}

#[test]
fn answer_with_wrong_end_to_end_is_not_taken() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.send_request(RequestId(1), mar("one"), 100).unwrap();
    let request = only_sent(&mut peer);
    let forged = MessageBuilder::answer_to(&request)
        .end_to_end(request.header().end_to_end ^ 1)
        .avp_u32(avp::RESULT_CODE, 2001)
        .finish()
        .unwrap();
    peer.bytes_received(forged.as_bytes(), 110);
    assert!(events(&mut peer).is_empty());
    assert_eq!(peer.stats().unmatched_answers, 1);
    assert_eq!(peer.pending_requests(), 1);
    peer.bytes_received(hss.maa(&request).as_bytes(), 120);
    assert!(matches!(
        events(&mut peer)[..],
        [PeerEvent::Answer {
            id: RequestId(1),
            ..
        }]
    ));
}

#[test]
fn request_times_out_and_late_answer_is_dropped() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.send_request(RequestId(5), mar("late"), 1_000).unwrap();
    let request = only_sent(&mut peer);
    assert_eq!(peer.poll_timeout(), Some(1_200));
    peer.timeout(1_199);
    assert!(events(&mut peer).is_empty());
    peer.timeout(1_200);
    assert_eq!(
        events(&mut peer),
        [PeerEvent::RequestTimedOut { id: RequestId(5) }]
    );
    peer.bytes_received(hss.maa(&request).as_bytes(), 1_300);
    assert!(events(&mut peer).is_empty());
    assert_eq!(peer.stats().unmatched_answers, 1);
}

#[test]
fn requests_are_refused_unless_open_and_supported() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = Peer::initiator(config(), 0).unwrap();
    assert_eq!(
        peer.send_request(RequestId(1), mar("x"), 0),
        Err(SendError::NotOpen(PeerState::Connecting))
    );
    let mut config = our_config(42);
    config.max_pending_requests = 1;
    let mut peer = open_peer(Arc::new(config), &hss);
    let sh = MessageBuilder::request(16_777_217, cmd::USER_DATA);
    assert_eq!(
        peer.send_request(RequestId(1), sh, 30),
        Err(SendError::ApplicationUnsupported(16_777_217))
    );
    let base = MessageBuilder::request(0, cmd::DEVICE_WATCHDOG);
    assert_eq!(
        peer.send_request(RequestId(1), base, 30),
        Err(SendError::ApplicationUnsupported(0))
    );
    let answer = MessageBuilder::new(cmd::MULTIMEDIA_AUTH, 16_777_216, CommandFlags::empty());
    assert_eq!(
        peer.send_request(RequestId(1), answer, 30),
        Err(SendError::NotARequest)
    );
    peer.send_request(RequestId(1), mar("a"), 30).unwrap();
    assert_eq!(
        peer.send_request(RequestId(2), mar("b"), 30),
        Err(SendError::TooManyPending)
    );
}

#[test]
fn connection_loss_hands_pending_requests_back_and_resend_sets_t() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.send_request(RequestId(1), mar("one"), 100).unwrap();
    peer.send_request(RequestId(2), mar("two"), 110).unwrap();
    let originals = sent(&mut peer);
    peer.connection_closed(120);
    let events = events(&mut peer);
    assert_eq!(events.len(), 2, "{events:?}");
    let PeerEvent::Failover { requests } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        requests.iter().map(|r| r.id).collect::<Vec<_>>(),
        [RequestId(1), RequestId(2)]
    );
    assert_eq!(requests[0].deadline_ms, 300);
    assert_eq!(events[1], changed(PeerState::Open, PeerState::Down));
    assert_eq!(peer.stats().failed_over, 2);

    // Resent on another peer: 'T' set, End-to-End and AVPs kept, its own Hop-by-Hop.
    let mut other = open_peer(Arc::new(our_config(7)), &hss);
    other.resend(requests[0].clone()).unwrap();
    let resent = only_sent(&mut other);
    let original = &originals[0];
    assert!(resent.header().is_retransmitted());
    assert_eq!(resent.header().end_to_end, original.header().end_to_end);
    assert_ne!(resent.header().hop_by_hop, original.header().hop_by_hop);
    assert_eq!(resent.avp_bytes(), original.avp_bytes());
    assert_eq!(resent.as_bytes()[4], 0xC0 | 0x10);
    assert_eq!(
        Message::parse(resent.as_bytes().clone()).unwrap().header(),
        resent.header()
    );
    // Its deadline is kept: it times out at 300, not 130 + 200.
    assert_eq!(other.poll_timeout(), Some(300));
    other.bytes_received(hss.maa(&resent).as_bytes(), 200);
    assert!(matches!(
        other.poll_event(),
        Some(PeerEvent::Answer {
            id: RequestId(1),
            ..
        })
    ));
    // Refused resends give the request back.
    let mut closed = Peer::initiator(config(), 0).unwrap();
    let (error, back) = closed.resend(requests[1].clone()).unwrap_err();
    assert_eq!(error, SendError::NotOpen(PeerState::Connecting));
    assert_eq!(back, requests[1]);
}

#[test]
fn responder_answers_cer_and_opens() {
    let mut hss = Hss::new(HSS_HOST, 3);
    let mut peer = Peer::responder(config(), 0).unwrap();
    assert_eq!(
        events(&mut peer),
        [changed(PeerState::Closed, PeerState::WaitCer)]
    );
    assert_eq!(peer.poll_timeout(), Some(5_000));
    let cer = hss.cer();
    peer.bytes_received(cer.as_bytes(), 10);
    let cea = only_sent(&mut peer);
    assert!(is_command(&cea, cmd::CAPABILITIES_EXCHANGE, false));
    assert_eq!(cea.header().hop_by_hop, cer.header().hop_by_hop);
    assert_eq!(cea.header().end_to_end, cer.header().end_to_end);
    validate(&cea, &[]).unwrap();
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&cea),
        Some(2001)
    );
    assert_eq!(str_of(&cea, avp::PRODUCT_NAME).as_deref(), Some("Hearth"));
    assert_eq!(
        cea.avps().unwrap().iter().next().map(|a| a.code),
        Some(268),
        "Result-Code first"
    );
    assert_eq!(
        events(&mut peer),
        [changed(PeerState::WaitCer, PeerState::Open)]
    );
    assert_eq!(peer.role(), Role::Responder);
    assert_eq!(peer.remote().unwrap().origin_host, HSS_HOST);
    // When the connection ends, a responder closes for good.
    peer.connection_closed(100);
    assert_eq!(peer.state(), PeerState::Closed);
    assert_eq!(peer.poll_timeout(), None);
}

#[test]
fn responder_refuses_unknown_peer_with_3010() {
    let mut hss = Hss::new(HSS_HOST, 3);
    let mut config = our_config(42);
    config.allowed_peers = Some(vec!["other.example.net".to_owned()]);
    let mut peer = Peer::responder(Arc::new(config), 0).unwrap();
    events(&mut peer);
    peer.bytes_received(hss.cer().as_bytes(), 10);
    let cea = only_sent(&mut peer);
    assert!(cea.header().is_error());
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&cea),
        Some(3010)
    );
    validate(&cea, &[]).unwrap();
    assert_eq!(
        events(&mut peer),
        [
            PeerEvent::Disconnect {
                reason: DisconnectReason::PeerRefused { result_code: 3010 }
            },
            changed(PeerState::WaitCer, PeerState::Closed)
        ]
    );
}

#[test]
fn allowed_peers_match_without_case() {
    let mut hss = Hss::new(HSS_HOST, 3);
    let mut config = our_config(42);
    config.allowed_peers = Some(vec!["HSS1.Example.NET".to_owned()]);
    let mut peer = Peer::responder(Arc::new(config), 0).unwrap();
    peer.bytes_received(hss.cer().as_bytes(), 10);
    assert_eq!(peer.state(), PeerState::Open);
}

#[test]
fn responder_without_common_application_answers_5010() {
    let mut hss = Hss::new(HSS_HOST, 3);
    hss.applications = vec![Application::ietf(4)];
    let mut peer = Peer::responder(config(), 0).unwrap();
    peer.bytes_received(hss.cer().as_bytes(), 10);
    let cea = only_sent(&mut peer);
    assert!(!cea.header().is_error());
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&cea),
        Some(5010)
    );
    assert!(cea.avp(avp::HOST_IP_ADDRESS).unwrap().is_some());
    validate(&cea, &[]).unwrap();
    assert_eq!(peer.state(), PeerState::Closed);
}

#[test]
fn responder_refuses_malformed_cer_with_failed_avp() {
    let mut peer = Peer::responder(config(), 0).unwrap();
    // A CER without Origin-Realm, Host-IP-Address, Vendor-Id and Product-Name.
    let cer = MessageBuilder::request(0, cmd::CAPABILITIES_EXCHANGE)
        .hop_by_hop(1)
        .end_to_end(2)
        .avp_str(avp::ORIGIN_HOST, HSS_HOST)
        .finish()
        .unwrap();
    peer.bytes_received(cer.as_bytes(), 10);
    let cea = only_sent(&mut peer);
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&cea),
        Some(5005)
    );
    assert!(cea.avp(avp::FAILED_AVP).unwrap().is_some());
    assert!(matches!(
        events(&mut peer)[..],
        [
            _,
            PeerEvent::Disconnect {
                reason: DisconnectReason::PeerRefused { result_code: 5005 }
            },
            _
        ]
    ));
}

#[test]
fn responder_times_out_without_cer_and_refuses_other_first_messages() {
    let mut peer = Peer::responder(config(), 0).unwrap();
    peer.timeout(5_000);
    assert_eq!(peer.state(), PeerState::Closed);
    let mut hss = Hss::new(HSS_HOST, 3);
    let mut peer = Peer::responder(config(), 0).unwrap();
    peer.bytes_received(hss.dwr().as_bytes(), 1);
    assert_eq!(peer.state(), PeerState::Closed);
    assert!(sent(&mut peer).is_empty());
}

#[test]
fn incoming_requests_reach_the_caller_once_and_are_answered_once() {
    let mut hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    let ppr = hss.ppr(16_777_216);
    peer.bytes_received(ppr.as_bytes(), 100);
    let mut delivered = events(&mut peer);
    assert_eq!(delivered.len(), 1);
    let PeerEvent::IncomingRequest { token, message } = delivered.remove(0) else {
        panic!()
    };
    assert_eq!(message, ppr);
    assert_eq!(token.hop_by_hop(), ppr.header().hop_by_hop);
    // The same Hop-by-Hop again while unanswered: thrown away.
    peer.bytes_received(ppr.as_bytes(), 101);
    assert!(events(&mut peer).is_empty());
    assert_eq!(peer.stats().discarded_messages, 1);

    assert_eq!(
        peer.send_answer(token, ppr.clone()),
        Err(SendError::NotAnAnswer)
    );
    let wrong = MessageBuilder::answer_to(&ppr)
        .hop_by_hop(ppr.header().hop_by_hop + 1)
        .finish()
        .unwrap();
    assert_eq!(
        peer.send_answer(token, wrong),
        Err(SendError::HopByHopMismatch)
    );
    let answer = ppa(&ppr);
    peer.send_answer(token, answer.clone()).unwrap();
    assert_eq!(only_sent(&mut peer), answer);
    assert_eq!(
        peer.send_answer(token, answer.clone()),
        Err(SendError::AlreadyAnswered)
    );

    // A token of an earlier connection is refused on the next one.
    let ppr2 = hss.ppr(16_777_216);
    peer.bytes_received(ppr2.as_bytes(), 102);
    let Some(PeerEvent::IncomingRequest { token: old, .. }) = peer.poll_event() else {
        panic!()
    };
    peer.bytes_received(hss.dpr(disconnect_cause::REBOOTING).as_bytes(), 103);
    sent(&mut peer);
    events(&mut peer);
    let t = peer.poll_timeout().unwrap();
    peer.timeout(t);
    peer.connected(t);
    let cer = only_sent(&mut peer);
    peer.bytes_received(hss.cea(&cer, 2001).as_bytes(), t);
    assert_eq!(
        peer.send_answer(old, ppa(&ppr2)),
        Err(SendError::ConnectionGone)
    );
}

#[test]
fn incoming_requests_are_checked_and_bounded() {
    let mut hss = Hss::new(HSS_HOST, 1);
    let mut config = our_config(42);
    config.max_incoming_requests = 1;
    let mut peer = open_peer(Arc::new(config), &hss);
    // An application not negotiated: 3007 without bothering the caller.
    let foreign = hss.ppr(16_777_217);
    peer.bytes_received(foreign.as_bytes(), 100);
    let answer = only_sent(&mut peer);
    assert!(answer.header().is_error());
    assert_eq!(answer.header().hop_by_hop, foreign.header().hop_by_hop);
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&answer),
        Some(3007)
    );
    assert!(events(&mut peer).is_empty());
    // One outstanding at most: the second gets 3004.
    peer.bytes_received(hss.ppr(16_777_216).as_bytes(), 101);
    assert_eq!(events(&mut peer).len(), 1);
    peer.bytes_received(hss.ppr(16_777_216).as_bytes(), 102);
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&only_sent(&mut peer)),
        Some(3004)
    );
    assert_eq!(peer.stats().rejected_requests, 2);
    // An unknown base command: 3001.
    let unknown = MessageBuilder::request(0, 271)
        .avp_str(avp::ORIGIN_HOST, HSS_HOST)
        .finish()
        .unwrap();
    peer.bytes_received(unknown.as_bytes(), 103);
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&only_sent(&mut peer)),
        Some(3001)
    );
}

#[test]
fn abandoned_incoming_requests_free_their_place() {
    let mut hss = Hss::new(HSS_HOST, 1);
    let mut config = our_config(42);
    config.max_incoming_requests = 1;
    let mut peer = open_peer(Arc::new(config), &hss);
    let first = hss.ppr(16_777_216);
    peer.bytes_received(first.as_bytes(), 100);
    let Some(PeerEvent::IncomingRequest { token, .. }) = peer.poll_event() else {
        panic!()
    };
    // Given up, not answered: nothing is sent and the one place is free again.
    assert!(peer.abandon(token));
    assert!(!peer.abandon(token));
    assert!(sent(&mut peer).is_empty());
    assert_eq!(
        peer.send_answer(token, ppa(&first)),
        Err(SendError::AlreadyAnswered)
    );
    let second = hss.ppr(16_777_216);
    peer.bytes_received(second.as_bytes(), 101);
    assert_eq!(events(&mut peer).len(), 1);
    assert!(
        sent(&mut peer).is_empty(),
        "the second request is not refused"
    );
    // A retransmission of the abandoned request is delivered again (the place is taken now).
    peer.bytes_received(first.as_bytes(), 102);
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&only_sent(&mut peer)),
        Some(3004)
    );
}

#[test]
fn reopen_throws_application_requests_away() {
    let mut hss = Hss::new(HSS_HOST, 1);
    let mut peer = open_peer(config(), &hss);
    peer.connection_closed(100);
    let t = peer.poll_timeout().unwrap();
    peer.timeout(t);
    peer.connected(t);
    let cer = only_sent(&mut peer);
    peer.bytes_received(hss.cea(&cer, 2001).as_bytes(), t);
    sent(&mut peer);
    events(&mut peer);
    peer.bytes_received(hss.ppr(16_777_216).as_bytes(), t + 1);
    assert!(events(&mut peer).is_empty());
    assert!(sent(&mut peer).is_empty());
    assert_eq!(peer.stats().discarded_messages, 1);
    // A DWR is still answered.
    peer.bytes_received(hss.dwr().as_bytes(), t + 2);
    assert!(is_command(
        &only_sent(&mut peer),
        cmd::DEVICE_WATCHDOG,
        false
    ));
}

#[test]
fn watchdog_jitter_stays_within_two_seconds_and_varies() {
    let hss = Hss::new(HSS_HOST, 1);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let peer = open_peer(Arc::new(our_config(seed)), &hss);
        let delay = peer.poll_timeout().unwrap() - 20;
        assert!((28_000..=32_000).contains(&delay), "{delay}");
        seen.insert(delay);
    }
    assert!(seen.len() > 100, "jitter spreads: {} values", seen.len());
    assert!(seen.iter().any(|&d| d < 29_000) && seen.iter().any(|&d| d > 31_000));
}

#[test]
fn same_seed_same_behaviour() {
    let hss = Hss::new(HSS_HOST, 1);
    let run = || {
        let mut peer = open_peer(config(), &hss);
        peer.send_request(RequestId(1), mar("x"), 30).unwrap();
        (peer.poll_timeout(), sent(&mut peer))
    };
    assert_eq!(run(), run());
}

#[test]
fn bytes_outside_a_connection_are_ignored() {
    let mut peer = Peer::initiator(config(), 0).unwrap();
    peer.bytes_received(&[1, 0, 0, 20], 1);
    assert_eq!(peer.stats().discarded_messages, 1);
    assert_eq!(peer.state(), PeerState::Connecting);
    // Inputs that do not apply to the state change nothing.
    peer.connection_closed(2);
    assert_eq!(peer.state(), PeerState::Down);
    peer.connected(3);
    peer.connection_failed(4);
    assert_eq!(peer.state(), PeerState::Down);
}

#[test]
fn end_to_end_identifiers_follow_rfc_6733_and_partitions_are_disjoint() {
    let mut ids = EndToEndIds::new(0x1234_5ABC, 0xFFF1_2345);
    let first = ids.next_id();
    assert_eq!(first, 0xABC1_2345);
    assert_eq!(ids.next_id(), 0xABC1_2346);
    let base = EndToEndIds::new(START_TIME, 77);
    let mut seen = std::collections::BTreeSet::new();
    for index in 0..16 {
        let mut partition = base.partition(index, 16);
        for _ in 0..1000 {
            assert!(seen.insert(partition.next_id()));
        }
    }
    // Partition 0 starts where the sequence starts.
    assert_eq!(base.partition(0, 16).peek(), base.peek());
    // Counts round up to a power of two, so wrapping keeps partitions apart.
    let mut wrapping = EndToEndIds::new(0xFFF, 0xF_FFFE).partition(1, 3);
    let a = wrapping.next_id();
    let b = wrapping.next_id();
    assert_eq!(b.wrapping_sub(a), 4);
}

#[test]
fn configuration_is_checked() {
    let good = our_config(1);
    assert_eq!(good.validate(), Ok(()));
    let mut bad = good.clone();
    bad.origin_host = "has space".into();
    assert_eq!(
        bad.validate(),
        Err(ConfigError::InvalidIdentity("Origin-Host"))
    );
    let mut bad = good.clone();
    bad.host_ip_addresses.clear();
    assert_eq!(bad.validate(), Err(ConfigError::NoHostIpAddress));
    let mut bad = good.clone();
    bad.applications.clear();
    assert_eq!(bad.validate(), Err(ConfigError::NoApplication));
    let mut bad = good.clone();
    bad.watchdog_interval_ms = 5_999;
    assert_eq!(bad.validate(), Err(ConfigError::WatchdogIntervalTooShort));
    let mut bad = good.clone();
    bad.watchdog_interval_ms = 6_000;
    bad.watchdog_jitter_ms = 3_000;
    assert_eq!(bad.validate(), Err(ConfigError::WatchdogJitterTooLarge));
    let mut bad = good.clone();
    bad.request_timeout_ms = 0;
    assert_eq!(bad.validate(), Err(ConfigError::ZeroTimeout));
    let mut bad = good.clone();
    bad.allowed_peers = Some(vec![String::new()]);
    assert!(bad.validate().is_err());
    assert!(Peer::initiator(Arc::new(bad), 0).is_err());
    let mut pool = PoolConfig::new(good);
    pool.max_incoming = 15;
    assert_eq!(PeerPool::new(pool).err(), Some(ConfigError::PeerCount));
}

// The pool.

fn pool_with_two_open(hss: &[Hss; 2], request_timeout_ms: u64) -> (PeerPool, [PeerId; 2]) {
    let mut config = our_config(9);
    config.request_timeout_ms = request_timeout_ms;
    let mut pool = PeerPool::new(PoolConfig::new(config)).unwrap();
    let ids = [pool.add_peer(0).unwrap(), pool.add_peer(0).unwrap()];
    assert_eq!(pool.add_peer(0), Err(PoolError::TooManyPeers));
    let connects: Vec<PoolEvent> = std::iter::from_fn(|| pool.poll_event())
        .filter(|e| matches!(e, PoolEvent::Connect { .. }))
        .collect();
    assert_eq!(
        connects,
        [
            PoolEvent::Connect { peer: ids[0] },
            PoolEvent::Connect { peer: ids[1] }
        ]
    );
    for (peer, hss) in ids.iter().zip(hss) {
        pool.connected(*peer, 1).unwrap();
        let (to, cer) = pool.poll_transmit().unwrap();
        assert_eq!(to, *peer);
        let cer = Message::parse(cer).unwrap();
        pool.bytes_received(*peer, hss.cea(&cer, 2001).as_bytes(), 2)
            .unwrap();
    }
    while pool.poll_event().is_some() {}
    assert!(pool.is_usable(16_777_216));
    (pool, ids)
}

fn pool_sent(pool: &mut PeerPool) -> Vec<(PeerId, Message)> {
    std::iter::from_fn(|| pool.poll_transmit())
        .map(|(peer, bytes)| (peer, Message::parse(bytes).unwrap()))
        .collect()
}

#[test]
fn pool_spreads_requests_round_robin() {
    let hss = [
        Hss::new("hss1.example.net", 1),
        Hss::new("hss2.example.net", 2),
    ];
    let (mut pool, ids) = pool_with_two_open(&hss, 200);
    let mut targets = Vec::new();
    for n in 0..4 {
        let id = pool.send_request(mar(&format!("s{n}")), 10).unwrap();
        assert_eq!(id, RequestId(n));
        targets.extend(pool_sent(&mut pool).into_iter().map(|(peer, _)| peer));
    }
    assert_eq!(targets, [ids[0], ids[1], ids[0], ids[1]]);
    assert_eq!(pool.pending_requests(), 4);
    // End-to-End Identifiers differ across peers.
    assert_eq!(
        pool.send_request(MessageBuilder::request(16_777_217, 306), 10),
        Err(SendError::NoPeer)
    );
}

#[test]
fn pool_fails_over_to_the_other_peer_with_t_and_same_end_to_end() {
    let hss = [
        Hss::new("hss1.example.net", 1),
        Hss::new("hss2.example.net", 2),
    ];
    let (mut pool, ids) = pool_with_two_open(&hss, 1_000);
    let id = pool.send_request(mar("moving"), 10).unwrap();
    let (first_peer, original) = pool_sent(&mut pool).remove(0);
    assert_eq!(first_peer, ids[0]);
    pool.connection_closed(ids[0], 20).unwrap();
    let (second_peer, resent) = pool_sent(&mut pool).remove(0);
    assert_eq!(second_peer, ids[1]);
    assert!(resent.header().is_retransmitted());
    assert_eq!(resent.header().end_to_end, original.header().end_to_end);
    let events: Vec<PoolEvent> = std::iter::from_fn(|| pool.poll_event()).collect();
    assert!(events.contains(&PoolEvent::Failover {
        id,
        from: ids[0],
        to: ids[1]
    }));
    pool.bytes_received(ids[1], hss[1].maa(&resent).as_bytes(), 30)
        .unwrap();
    let answer = pool.poll_event().unwrap();
    assert!(
        matches!(answer, PoolEvent::Answer { id: got, peer, .. } if got == id && peer == ids[1])
    );
    // With no other peer, the next failover fails the request.
    let id = pool.send_request(mar("stranded"), 40).unwrap();
    pool_sent(&mut pool);
    pool.connection_closed(ids[1], 50).unwrap();
    let events: Vec<PoolEvent> = std::iter::from_fn(|| pool.poll_event()).collect();
    assert!(events.contains(&PoolEvent::RequestFailed {
        id,
        error: RequestError::NoPeer
    }));
    assert_eq!(pool.send_request(mar("none"), 60), Err(SendError::NoPeer));
}

#[test]
fn pool_times_out_requests_and_accepts_incoming_peers() {
    let hss = [
        Hss::new("hss1.example.net", 1),
        Hss::new("hss2.example.net", 2),
    ];
    let (mut pool, _) = pool_with_two_open(&hss, 200);
    let id = pool.send_request(mar("slow"), 10).unwrap();
    pool_sent(&mut pool);
    assert_eq!(pool.poll_timeout(), Some(210));
    pool.timeout(210);
    assert_eq!(
        pool.poll_event(),
        Some(PoolEvent::RequestFailed {
            id,
            error: RequestError::TimedOut
        })
    );

    let mut caller = Hss::new("hss3.example.net", 3);
    let incoming = pool.accept(300).unwrap();
    pool.bytes_received(incoming, caller.cer().as_bytes(), 301)
        .unwrap();
    let (to, cea) = pool.poll_transmit().unwrap();
    assert_eq!(to, incoming);
    assert_eq!(
        crate::diameter::peer::testkit::result_code(&Message::parse(cea).unwrap()),
        Some(2001)
    );
    while pool.poll_event().is_some() {}
    let ppr = caller.ppr(16_777_216);
    pool.bytes_received(incoming, ppr.as_bytes(), 302).unwrap();
    let Some(PoolEvent::IncomingRequest { peer, token, .. }) = pool.poll_event() else {
        panic!()
    };
    assert_eq!(peer, incoming);
    pool.send_answer(peer, token, ppa(&ppr)).unwrap();
    assert_eq!(pool.poll_transmit().map(|(p, _)| p), Some(incoming));
    // When the incoming connection ends, its peer leaves the pool.
    pool.connection_closed(incoming, 400).unwrap();
    assert!(pool.poll_transmit().is_none());
    assert!(pool.peer(incoming).is_none());
    assert_eq!(
        pool.connected(incoming, 401),
        Err(PoolError::UnknownPeer(incoming))
    );
}

#[test]
fn pool_close_all_and_remove() {
    let hss = [
        Hss::new("hss1.example.net", 1),
        Hss::new("hss2.example.net", 2),
    ];
    let (mut pool, ids) = pool_with_two_open(&hss, 200);
    assert_eq!(pool.remove_peer(ids[0]), Err(PoolError::PeerActive(ids[0])));
    pool.close_all(DisconnectCause::Rebooting, 10);
    let dprs = pool_sent(&mut pool);
    assert_eq!(dprs.len(), 2);
    for (peer, dpr) in dprs {
        let hss = if peer == ids[0] { &hss[0] } else { &hss[1] };
        pool.bytes_received(peer, hss.dpa(&dpr).as_bytes(), 20)
            .unwrap();
    }
    for id in ids {
        assert_eq!(pool.peer(id).unwrap().state(), PeerState::Closed);
        pool.remove_peer(id).unwrap();
    }
    assert_eq!(pool.peers().count(), 0);
    assert_eq!(pool.poll_timeout(), None);
    // The slots are free again.
    pool.add_peer(30).unwrap();
}
