//! The RFC 6733 / RFC 3539 peer machine driven by a script of operations read from the input: raw
//! bytes from the remote side (split anywhere), well-formed remote messages (CER or CEA, DWR, DWA,
//! DPR, DPA, answers to our requests, a Cx PPR), time passing, requests from the caller, answers
//! to incoming requests, transport events and closing. Either role, with or without an allowed-
//! peers list.
//!
//! Nothing may panic, and after every operation: each transmitted chunk is exactly one message
//! that frames, requests carry the Origin-Host we configured, no more requests are pending than
//! the configuration allows, and a usable peer is open.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::BytesMut;
use hearth_core::diameter::dict::{
    VENDOR_3GPP, app, auth_session_state, avp, cmd, disconnect_cause, result,
};
use hearth_core::diameter::peer::{
    AnswerToken, Application, DisconnectCause, Peer, PeerConfig, PeerEvent, PeerState, RequestId,
};
use hearth_core::diameter::{Message, MessageBuilder, frame};
use libfuzzer_sys::fuzz_target;

const OUR_HOST: &str = "hearth.example.org";
const OUR_REALM: &str = "example.org";
const REMOTE_HOSTS: &[&str] = &["hss.example.net", "HSS.example.NET", "intruder.example.com"];
const MAX_PENDING: usize = 8;
const MAX_INCOMING: usize = 4;

/// Reads the script.
struct Script<'a> {
    data: &'a [u8],
}

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.data.split_first()?;
        self.data = rest;
        Some(first)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.byte()?, self.byte()?]))
    }

    fn bytes(&mut self, len: usize) -> &[u8] {
        let (taken, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        taken
    }
}

/// The remote node: what it last saw from us, and its identifiers.
struct Remote {
    host: &'static str,
    next_id: u32,
    /// Requests we sent, oldest first (CER, DWR, DPR, MAR).
    our_requests: Vec<Message>,
    /// Incoming requests handed to the caller and not yet answered.
    tokens: Vec<(AnswerToken, Message)>,
    /// A Connect event asked for a transport connection.
    connect_wanted: bool,
}

impl Remote {
    fn ids(&mut self) -> (u32, u32) {
        self.next_id = self.next_id.wrapping_add(1);
        (self.next_id, self.next_id.wrapping_mul(31))
    }

    fn identity(&self, builder: MessageBuilder) -> MessageBuilder {
        builder
            .avp_str(avp::ORIGIN_HOST, self.host)
            .avp_str(avp::ORIGIN_REALM, "example.net")
    }

    fn capabilities(&self, builder: MessageBuilder) -> MessageBuilder {
        self.identity(builder)
            .avp_address(avp::HOST_IP_ADDRESS, Ipv4Addr::new(198, 51, 100, 7))
            .avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
            .avp_str(avp::PRODUCT_NAME, "FuzzHSS")
            .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
                g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                    .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
            })
    }

    fn request(&mut self, command: u32) -> MessageBuilder {
        let (h, e) = self.ids();
        MessageBuilder::request(app::BASE, command)
            .hop_by_hop(h)
            .end_to_end(e)
    }

    /// The oldest request of ours with `command`, taken off the list.
    fn take_ours(&mut self, command: u32) -> Option<Message> {
        let at = self
            .our_requests
            .iter()
            .position(|m| m.header().command_code == command)?;
        Some(self.our_requests.remove(at))
    }

    /// A well-formed message from the remote, chosen by `choice`.
    fn message(&mut self, choice: u8) -> Option<Message> {
        let built = match choice % 8 {
            0 => {
                let builder = self.request(cmd::CAPABILITIES_EXCHANGE);
                self.capabilities(builder).finish()
            }
            1 => {
                let cer = self.take_ours(cmd::CAPABILITIES_EXCHANGE)?;
                let builder = MessageBuilder::answer_to(&cer).avp_u32(avp::RESULT_CODE, 2001);
                self.capabilities(builder).finish()
            }
            2 => {
                let builder = self.request(cmd::DEVICE_WATCHDOG);
                self.identity(builder).finish()
            }
            3 => {
                let dwr = self.take_ours(cmd::DEVICE_WATCHDOG)?;
                let builder = MessageBuilder::answer_to(&dwr).avp_u32(avp::RESULT_CODE, 2001);
                self.identity(builder).finish()
            }
            4 => {
                let builder = self.request(cmd::DISCONNECT_PEER);
                self.identity(builder)
                    .avp_i32(avp::DISCONNECT_CAUSE, disconnect_cause::REBOOTING)
                    .finish()
            }
            5 => {
                let dpr = self.take_ours(cmd::DISCONNECT_PEER)?;
                let builder = MessageBuilder::answer_to(&dpr).avp_u32(avp::RESULT_CODE, 2001);
                self.identity(builder).finish()
            }
            6 => {
                let mar = self.take_ours(cmd::MULTIMEDIA_AUTH)?;
                let builder = MessageBuilder::answer_to(&mar)
                    .avp_str(avp::SESSION_ID, "hss.example.net;1;2")
                    .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
                        g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                            .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
                    })
                    .avp_u32(avp::RESULT_CODE, result::SUCCESS)
                    .avp_i32(
                        avp::AUTH_SESSION_STATE,
                        auth_session_state::NO_STATE_MAINTAINED,
                    );
                self.identity(builder).finish()
            }
            _ => {
                let (h, e) = self.ids();
                let builder = MessageBuilder::request(app::CX, cmd::PUSH_PROFILE)
                    .hop_by_hop(h)
                    .end_to_end(e)
                    .set_proxiable(true)
                    .avp_str(avp::SESSION_ID, "hss.example.net;ppr;1")
                    .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
                        g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                            .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
                    })
                    .avp_i32(
                        avp::AUTH_SESSION_STATE,
                        auth_session_state::NO_STATE_MAINTAINED,
                    );
                self.identity(builder)
                    .avp_str(avp::DESTINATION_HOST, OUR_HOST)
                    .avp_str(avp::DESTINATION_REALM, OUR_REALM)
                    .avp_str(avp::USER_NAME, "alice@example.org")
                    .finish()
            }
        };
        built.ok()
    }
}

fn mar(session: u32) -> MessageBuilder {
    MessageBuilder::request(app::CX, cmd::MULTIMEDIA_AUTH)
        .set_proxiable(true)
        .avp_str(avp::SESSION_ID, &format!("{OUR_HOST};{session}"))
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
        })
        .avp_i32(
            avp::AUTH_SESSION_STATE,
            auth_session_state::NO_STATE_MAINTAINED,
        )
        .avp_str(avp::ORIGIN_HOST, OUR_HOST)
        .avp_str(avp::ORIGIN_REALM, OUR_REALM)
        .avp_str(avp::DESTINATION_REALM, "example.net")
        .avp_str(avp::USER_NAME, "alice@example.org")
        .avp_str(avp::PUBLIC_IDENTITY, "sip:alice@example.org")
        .grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
            g.avp_str(avp::SIP_AUTHENTICATION_SCHEME, "SIP Digest");
        })
        .avp_u32(avp::SIP_NUMBER_AUTH_ITEMS, 1)
        .avp_str(avp::SERVER_NAME, "sip:scscf.example.org")
}

/// Takes what the peer wants to send and the events it raised, checking the invariants.
fn drain(peer: &mut Peer, remote: &mut Remote) {
    while let Some(chunk) = peer.poll_transmit() {
        let mut buf = BytesMut::from(&chunk[..]);
        let message = match frame(&mut buf, 1 << 20) {
            Ok(Some(message)) => message,
            other => panic!("a transmitted chunk is not one message: {other:?}"),
        };
        assert!(
            buf.is_empty(),
            "a transmitted chunk holds more than one message"
        );
        if message.header().is_request() {
            let origin = message
                .avp(avp::ORIGIN_HOST)
                .ok()
                .flatten()
                .and_then(|a| a.as_utf8().ok().map(str::to_owned));
            assert_eq!(
                origin.as_deref(),
                Some(OUR_HOST),
                "our request's Origin-Host"
            );
            if remote.our_requests.len() < 64 {
                remote.our_requests.push(message);
            }
        }
    }
    while let Some(event) = peer.poll_event() {
        match event {
            PeerEvent::Connect => remote.connect_wanted = true,
            PeerEvent::IncomingRequest { token, message } => {
                if remote.tokens.len() < 64 {
                    remote.tokens.push((token, message));
                }
            }
            _ => {}
        }
    }
    assert!(
        peer.pending_requests() <= MAX_PENDING,
        "more pending than allowed"
    );
    if peer.is_usable() {
        assert_eq!(peer.state(), PeerState::Open, "usable but not open");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut script = Script { data };
    let Some(setup) = script.byte() else {
        return;
    };
    let mut config = PeerConfig::new(
        OUR_HOST,
        OUR_REALM,
        vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))],
    );
    config.applications = vec![Application::CX];
    config.supported_vendor_ids = vec![VENDOR_3GPP];
    config.max_pending_requests = MAX_PENDING;
    config.max_incoming_requests = MAX_INCOMING;
    config.max_message_len = 4096;
    config.seed = u64::from(setup);
    config.start_time_unix_s = 1_750_000_000;
    if setup & 2 != 0 {
        config.allowed_peers = Some(vec!["hss.example.net".to_owned()]);
    }
    let config = Arc::new(config);
    let mut now: u64 = 1_000;
    let responder = setup & 1 != 0;
    let mut peer = if responder {
        Peer::responder(config, now)
    } else {
        Peer::initiator(config, now)
    }
    .expect("a valid configuration");
    let mut remote = Remote {
        host: REMOTE_HOSTS[usize::from(setup >> 2) % REMOTE_HOSTS.len()],
        next_id: u32::from(setup) << 8,
        our_requests: Vec::new(),
        tokens: Vec::new(),
        connect_wanted: false,
    };
    let mut next_request: u64 = 0;
    drain(&mut peer, &mut remote);
    while let Some(op) = script.byte() {
        match op % 10 {
            0 => {
                let len = usize::from(script.byte().unwrap_or(0));
                let bytes = script.bytes(len).to_vec();
                peer.bytes_received(&bytes, now);
            }
            1 => {
                let Some(choice) = script.byte() else { break };
                if let Some(message) = remote.message(choice) {
                    // Delivered whole or split at a point from the script.
                    let bytes = message.as_bytes();
                    let split = usize::from(script.byte().unwrap_or(0)) % (bytes.len() + 1);
                    peer.bytes_received(&bytes[..split], now);
                    peer.bytes_received(&bytes[split..], now);
                }
            }
            2 => {
                now = now.saturating_add(u64::from(script.u16().unwrap_or(0)) * 4);
                peer.timeout(now);
            }
            3 => {
                // Straight to the next deadline, as a shell's timer would.
                if let Some(at) = peer.poll_timeout() {
                    now = now.max(at);
                    peer.timeout(now);
                }
            }
            4 => {
                next_request += 1;
                let _ = peer.send_request(RequestId(next_request), mar(next_request as u32), now);
            }
            5 => {
                if remote.connect_wanted {
                    remote.connect_wanted = false;
                    remote.our_requests.clear();
                    if script.byte().unwrap_or(0) & 1 == 0 {
                        peer.connected(now);
                    } else {
                        peer.connection_failed(now);
                    }
                }
            }
            6 => {
                remote.our_requests.clear();
                peer.connection_closed(now);
            }
            7 => {
                if !remote.tokens.is_empty() {
                    let (token, request) = remote.tokens.remove(0);
                    let answer = MessageBuilder::answer_to(&request)
                        .avp_u32(avp::RESULT_CODE, result::SUCCESS)
                        .avp_str(avp::ORIGIN_HOST, OUR_HOST)
                        .avp_str(avp::ORIGIN_REALM, OUR_REALM)
                        .finish();
                    if let Ok(answer) = answer {
                        let _ = peer.send_answer(token, answer);
                    }
                }
            }
            8 => {
                if !remote.tokens.is_empty() {
                    let (token, _) = remote.tokens.remove(0);
                    peer.abandon(token);
                }
            }
            _ => {
                let cause = match script.byte().unwrap_or(0) % 3 {
                    0 => DisconnectCause::Rebooting,
                    1 => DisconnectCause::Busy,
                    _ => DisconnectCause::DoNotWantToTalkToYou,
                };
                peer.close(cause, now);
                if script.byte().unwrap_or(0) & 1 == 1 {
                    peer.start(now);
                }
            }
        }
        drain(&mut peer, &mut remote);
    }
});
