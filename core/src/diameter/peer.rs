//! Diameter peers, sans-IO: the peer state machine of RFC 6733 §5 (CER/CEA, DWR/DWA, DPR/DPA)
//! joined with the RFC 3539 watchdog (OKAY, SUSPECT, DOWN, REOPEN), request/answer matching,
//! per-request timeouts and failover of pending requests (RFC 6733 §5.5.4).
//!
//! A [`Peer`] is the state of one remote Diameter node across its successive transport
//! connections. The shell feeds it events — [`Peer::connected`], [`Peer::bytes_received`],
//! [`Peer::connection_closed`], [`Peer::timeout`], [`Peer::send_request`], [`Peer::close`], with
//! the time in milliseconds of the shell's monotonic clock — and polls what to do:
//! [`Peer::poll_transmit`] (bytes to write, in order), [`Peer::poll_timeout`] (when to call
//! [`Peer::timeout`] next) and [`Peer::poll_event`] ([`PeerEvent`]: connect, disconnect,
//! answers, timeouts, failovers, requests from the peer). After each input the shell writes
//! everything `poll_transmit` returns, then handles the events: a [`PeerEvent::Disconnect`] means
//! "close the transport once those bytes are written". Nothing here reads a clock, a socket or
//! OS entropy; randomness (watchdog jitter, starting identifiers) comes from seeds in
//! [`PeerConfig`].
//!
//! A [`PeerPool`] holds several peers (two HSS connections by default, plus incoming ones),
//! spreads requests over the usable ones and resends the pending requests of a peer that fails to
//! another one, with the 'T' bit set and the End-to-End Identifier kept.
//!
//! The election of RFC 6733 §5.6.4 (simultaneous connections in both directions between the same
//! two nodes) is not performed: each connection is a separate peer.

mod config;
mod pool;
mod wire;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use config::{
    Application, ConfigError, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS,
    DEFAULT_WATCHDOG_INTERVAL_MS, DEFAULT_WATCHDOG_JITTER_MS, EndToEndIds,
    MIN_WATCHDOG_INTERVAL_MS, PeerConfig,
};
pub use pool::{PeerId, PeerPool, PoolConfig, PoolError, PoolEvent, RequestError};

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::dict::{app, cmd, disconnect_cause, result};
use super::{BuildError, Message, MessageBuilder, Rejection, frame, validate};
use config::SplitMix64;

/// Identifies a request from [`Peer::send_request`] to its outcome. Chosen by the caller (the
/// [`PeerPool`] numbers them); it survives failover to another peer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request {}", self.0)
    }
}

/// States of a [`Peer`]: those of RFC 6733 §5.6 with the RFC 3539 watchdog states folded in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PeerState {
    /// No connection and none wanted: not started, closed by [`Peer::close`], told by the peer
    /// not to reconnect, or an incoming connection that ended.
    Closed,
    /// The shell is opening a transport connection ([`PeerEvent::Connect`]); RFC 6733
    /// Wait-Conn-Ack.
    Connecting,
    /// Connected, CER sent, waiting for the CEA (RFC 6733 Wait-I-CEA).
    WaitCea,
    /// An incoming connection waiting for the peer's CER.
    WaitCer,
    /// Capabilities exchanged and the watchdog content (RFC 6733 I-Open/R-Open, RFC 3539 OKAY):
    /// requests may be sent.
    Open,
    /// A watchdog request went unanswered for a whole interval (RFC 3539 SUSPECT): pending
    /// requests were handed back for failover and new ones should go elsewhere.
    Suspect,
    /// Reconnected after a failure; three watchdog exchanges must succeed before requests are
    /// sent again (RFC 3539 REOPEN). They are made back to back: each DWA is followed by the next
    /// DWR at once rather than at the next watchdog expiry.
    Reopen,
    /// DPR sent, waiting for the DPA.
    Closing,
    /// The connection failed (RFC 3539 DOWN); a new one is attempted when the watchdog timer
    /// fires.
    Down,
}

impl PeerState {
    /// Whether a transport connection exists in this state.
    pub const fn is_connected(self) -> bool {
        matches!(
            self,
            Self::WaitCea
                | Self::WaitCer
                | Self::Open
                | Self::Suspect
                | Self::Reopen
                | Self::Closing
        )
    }
}

/// Which side opened the transport connection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Role {
    /// We connect (and reconnect) to the peer and send the CER.
    Initiator,
    /// The peer connected to us and sends the CER; when the connection ends the peer is closed.
    Responder,
}

/// Disconnect-Cause of a DPR (RFC 6733 §5.4.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DisconnectCause {
    /// A scheduled reboot is imminent; the receiver may reconnect.
    Rebooting,
    /// Resources are constrained; the receiver should not reconnect.
    Busy,
    /// No messages are expected in the near future; the receiver should not reconnect.
    DoNotWantToTalkToYou,
}

impl DisconnectCause {
    /// The Enumerated value.
    pub const fn code(self) -> i32 {
        match self {
            Self::Rebooting => disconnect_cause::REBOOTING,
            Self::Busy => disconnect_cause::BUSY,
            Self::DoNotWantToTalkToYou => disconnect_cause::DO_NOT_WANT_TO_TALK_TO_YOU,
        }
    }
}

/// Why a [`Peer`] asks the shell to close its transport connection.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum DisconnectReason {
    /// [`Peer::close`] was called and the DPR answered, or there was no open connection to send
    /// one on.
    Closed,
    /// [`Peer::close`] was called and the DPA did not come within the handshake timeout.
    DpaTimeout,
    /// The peer sent a DPR (its Disconnect-Cause, if readable); the DPA is queued before this.
    PeerRequested {
        /// Disconnect-Cause of the DPR.
        cause: Option<i32>,
    },
    /// The watchdog gave up: no answer in SUSPECT (RFC 3539 DOWN), or in REOPEN.
    WatchdogExpired,
    /// Connecting or the CER/CEA exchange took longer than the handshake timeout.
    HandshakeTimeout,
    /// The peer's CEA carried this Result-Code instead of 2001.
    CapabilitiesRejected {
        /// The Result-Code.
        result_code: u32,
    },
    /// The peer's CEA advertises none of our applications.
    NoCommonApplication,
    /// We answered the peer's CER with this Result-Code (unknown peer, no common application,
    /// malformed CER).
    PeerRefused {
        /// The Result-Code sent in the CEA.
        result_code: u32,
    },
    /// The peer broke the protocol: bytes that cannot be framed, or a message where the state
    /// machine allows none (the reason says which).
    ProtocolError(String),
    /// A message of ours could not be encoded (a configuration too large for its fields).
    EncodingFailed(BuildError),
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("closed"),
            Self::DpaTimeout => f.write_str("no DPA within the handshake timeout"),
            Self::PeerRequested { cause: Some(cause) } => {
                write!(f, "peer sent DPR with Disconnect-Cause {cause}")
            }
            Self::PeerRequested { cause: None } => f.write_str("peer sent DPR"),
            Self::WatchdogExpired => f.write_str("watchdog expired"),
            Self::HandshakeTimeout => f.write_str("connection or CER/CEA timed out"),
            Self::CapabilitiesRejected { result_code } => {
                write!(f, "peer answered CER with Result-Code {result_code}")
            }
            Self::NoCommonApplication => f.write_str("no application in common"),
            Self::PeerRefused { result_code } => {
                write!(f, "peer's CER refused with Result-Code {result_code}")
            }
            Self::ProtocolError(reason) => write!(f, "protocol error: {reason}"),
            Self::EncodingFailed(error) => write!(f, "cannot encode: {error}"),
        }
    }
}

/// A request sent and not yet answered, as handed back for failover: the message as last sent
/// (its Hop-by-Hop Identifier belongs to the failed connection) and its deadline.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PendingRequest {
    /// The caller's identifier.
    pub id: RequestId,
    /// The request as sent.
    pub message: Message,
    /// When it times out, on the shell's clock; kept across failovers.
    pub deadline_ms: u64,
}

/// Names a request received from the peer, for [`Peer::send_answer`]; valid on the connection it
/// arrived on only.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AnswerToken {
    connection: u64,
    hop_by_hop: u32,
}

impl AnswerToken {
    /// The Hop-by-Hop Identifier the answer must carry.
    pub const fn hop_by_hop(&self) -> u32 {
        self.hop_by_hop
    }
}

/// What a [`Peer`] asks of the shell or reports.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PeerEvent {
    /// Open a transport connection to the peer, then call [`Peer::connected`] or
    /// [`Peer::connection_failed`].
    Connect,
    /// Close the transport connection (or abandon the connection attempt) once every byte from
    /// [`Peer::poll_transmit`] is written.
    Disconnect {
        /// Why.
        reason: DisconnectReason,
    },
    /// The state changed.
    StateChanged {
        /// The previous state.
        from: PeerState,
        /// The new state.
        to: PeerState,
    },
    /// The answer to a request.
    Answer {
        /// The request's identifier.
        id: RequestId,
        /// The answer.
        message: Message,
    },
    /// A request got no answer before its deadline.
    RequestTimedOut {
        /// The request's identifier.
        id: RequestId,
    },
    /// Requests that were sent on a connection that failed or turned SUSPECT, to be resent
    /// elsewhere (RFC 6733 §5.5.4). Their answers, should they still come on this peer, are
    /// dropped.
    Failover {
        /// The requests, oldest deadline first.
        requests: Vec<PendingRequest>,
    },
    /// A request from the peer (such as a Cx PPR or RTR from an HSS), checked against the
    /// dictionary; answer it with [`Peer::send_answer`].
    IncomingRequest {
        /// Names it for the answer.
        token: AnswerToken,
        /// The request.
        message: Message,
    },
}

/// Why a request or answer was not sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SendError {
    /// Requests are sent in [`PeerState::Open`] only.
    NotOpen(PeerState),
    /// The message given as a request has the 'R' bit clear.
    NotARequest,
    /// The message given as an answer has the 'R' bit set.
    NotAnAnswer,
    /// The peer did not advertise this application in its capabilities (base-protocol commands
    /// are the peer's own business).
    ApplicationUnsupported(u32),
    /// [`PeerConfig::max_pending_requests`] requests await answers already.
    TooManyPending,
    /// The message could not be encoded.
    Build(BuildError),
    /// The connection the request arrived on has ended.
    ConnectionGone,
    /// The answer's Hop-by-Hop Identifier is not the request's.
    HopByHopMismatch,
    /// The request was answered already.
    AlreadyAnswered,
    /// No peer of the pool is usable for this application (the Cx layer reports it as
    /// `DIAMETER_UNABLE_TO_DELIVER`, 3002).
    NoPeer,
    /// No such peer in the pool.
    UnknownPeer,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotOpen(state) => write!(f, "peer is {state:?}, not Open"),
            Self::NotARequest => f.write_str("message is not a request"),
            Self::NotAnAnswer => f.write_str("message is not an answer"),
            Self::ApplicationUnsupported(id) => {
                write!(f, "peer does not support application {id}")
            }
            Self::TooManyPending => f.write_str("too many requests awaiting answers"),
            Self::Build(error) => write!(f, "cannot encode: {error}"),
            Self::ConnectionGone => f.write_str("the request's connection has ended"),
            Self::HopByHopMismatch => {
                f.write_str("answer's Hop-by-Hop Identifier is not the request's")
            }
            Self::AlreadyAnswered => f.write_str("request already answered"),
            Self::NoPeer => f.write_str("no usable peer"),
            Self::UnknownPeer => f.write_str("no such peer"),
        }
    }
}

impl std::error::Error for SendError {}

/// What the peer said about itself in its CER or CEA.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RemotePeer {
    /// Its Origin-Host.
    pub origin_host: String,
    /// Its Origin-Realm.
    pub origin_realm: String,
    /// Its Host-IP-Address values (IPv4 and IPv6 ones).
    pub host_ip_addresses: Vec<IpAddr>,
    /// Its Product-Name.
    pub product_name: Option<String>,
    /// Its Origin-State-Id.
    pub origin_state_id: Option<u32>,
    /// The applications both sides advertise.
    pub applications: Vec<u32>,
}

/// Counters of what a peer dropped or refused.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct PeerStats {
    /// Answers matching no pending request: duplicates, late answers after a timeout or
    /// failover, or bogus identifiers.
    pub unmatched_answers: u64,
    /// Messages thrown away: application requests in REOPEN (RFC 3539), requests reusing the
    /// Hop-by-Hop Identifier of one still unanswered, bytes outside a connection.
    pub discarded_messages: u64,
    /// Requests from the peer answered with an error without reaching the caller.
    pub rejected_requests: u64,
    /// Requests handed back for failover.
    pub failed_over: u64,
}

/// The number of watchdog answers in a row that take a peer from REOPEN to OKAY (RFC 3539).
const REOPEN_DWAS: i32 = 3;

/// One remote Diameter node and our connection to it; see the [module documentation](self).
#[derive(Debug)]
pub struct Peer {
    config: Arc<PeerConfig>,
    role: Role,
    state: PeerState,
    rng: SplitMix64,
    end_to_end: EndToEndIds,
    next_hop_by_hop: u32,
    /// Counts connections, so that answer tokens of an old one are refused.
    connection: u64,
    /// No reconnection: set by [`Peer::close`] and by a DPR other than REBOOTING.
    stopped: bool,
    /// RFC 3539: a connection that comes up after a failure goes through REOPEN.
    reopen_on_up: bool,
    recv: BytesMut,
    transmit: VecDeque<Bytes>,
    events: VecDeque<PeerEvent>,
    /// The RFC 3539 timer: watchdog in OKAY/SUSPECT/REOPEN, reconnection in DOWN.
    watchdog_at: Option<u64>,
    /// RFC 3539 `Pending`: a DWR is outstanding.
    dwa_pending: bool,
    /// RFC 3539 `NumDWA`.
    num_dwa: i32,
    /// Deadline of the connection attempt, the CER/CEA exchange or the DPA.
    handshake_at: Option<u64>,
    pending: BTreeMap<u32, PendingRequest>,
    deadlines: BTreeSet<(u64, u32)>,
    /// Hop-by-Hop Identifiers of requests delivered to the caller and not answered yet.
    incoming: BTreeSet<u32>,
    remote: Option<RemotePeer>,
    stats: PeerStats,
}

impl Peer {
    /// A peer we connect to: it starts in [`PeerState::Connecting`] with a
    /// [`PeerEvent::Connect`] queued, and reconnects after failures.
    pub fn initiator(config: Arc<PeerConfig>, now_ms: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut rng = SplitMix64::new(config.seed);
        let end_to_end = EndToEndIds::new(config.start_time_unix_s, rng.next_u64() as u32);
        let mut peer = Self::detached(config, Role::Initiator, rng, end_to_end);
        peer.begin(now_ms);
        Ok(peer)
    }

    /// A peer that has just connected to us: it waits for the CER in [`PeerState::WaitCer`].
    pub fn responder(config: Arc<PeerConfig>, now_ms: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut rng = SplitMix64::new(config.seed);
        let end_to_end = EndToEndIds::new(config.start_time_unix_s, rng.next_u64() as u32);
        let mut peer = Self::detached(config, Role::Responder, rng, end_to_end);
        peer.begin(now_ms);
        Ok(peer)
    }

    /// A closed peer from a configuration already validated.
    pub(crate) fn detached(
        config: Arc<PeerConfig>,
        role: Role,
        mut rng: SplitMix64,
        end_to_end: EndToEndIds,
    ) -> Self {
        let next_hop_by_hop = rng.next_u64() as u32;
        Self {
            config,
            role,
            state: PeerState::Closed,
            rng,
            end_to_end,
            next_hop_by_hop,
            connection: 0,
            stopped: false,
            reopen_on_up: false,
            recv: BytesMut::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            watchdog_at: None,
            dwa_pending: false,
            num_dwa: 0,
            handshake_at: None,
            pending: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            incoming: BTreeSet::new(),
            remote: None,
            stats: PeerStats::default(),
        }
    }

    /// Starts a detached peer: an initiator connects, a responder waits for the CER.
    pub(crate) fn begin(&mut self, now_ms: u64) {
        match self.role {
            Role::Initiator => self.start(now_ms),
            Role::Responder => {
                self.connection += 1;
                self.set_state(PeerState::WaitCer);
                self.handshake_at = Some(now_ms.saturating_add(self.config.handshake_timeout_ms));
            }
        }
    }

    /// Connects again an initiator that is [`PeerState::Closed`] (after [`Peer::close`] or a DPR
    /// asking us not to reconnect) or [`PeerState::Down`] (without waiting for the watchdog
    /// timer). Does nothing in other states or for a responder.
    pub fn start(&mut self, now_ms: u64) {
        if self.role != Role::Initiator {
            return;
        }
        match self.state {
            PeerState::Closed => {
                self.stopped = false;
                self.reopen_on_up = false;
                self.begin_connect(now_ms);
            }
            PeerState::Down => self.begin_connect(now_ms),
            _ => {}
        }
    }

    /// The transport connection asked for by [`PeerEvent::Connect`] is up: the CER is sent.
    pub fn connected(&mut self, now_ms: u64) {
        if self.state != PeerState::Connecting {
            return;
        }
        self.connection += 1;
        self.recv.clear();
        // Anything still queued belongs to an earlier connection.
        self.transmit.clear();
        let (hop_by_hop, end_to_end) = self.next_ids();
        let cer = wire::capabilities_request(&self.config, hop_by_hop, end_to_end);
        if self.queue(cer, now_ms) {
            self.set_state(PeerState::WaitCea);
            self.handshake_at = Some(now_ms.saturating_add(self.config.handshake_timeout_ms));
        }
    }

    /// The connection attempt failed; another is made when the watchdog timer fires.
    pub fn connection_failed(&mut self, now_ms: u64) {
        if self.state == PeerState::Connecting {
            self.connection_ended(now_ms);
        }
    }

    /// The transport connection was closed or broke. Pending requests are handed back
    /// ([`PeerEvent::Failover`]).
    pub fn connection_closed(&mut self, now_ms: u64) {
        if self.state.is_connected() {
            self.transmit.clear();
            self.connection_ended(now_ms);
        } else {
            self.connection_failed(now_ms);
        }
    }

    /// Bytes read from the transport connection. Complete messages are processed at once; a
    /// stream that cannot be framed closes the connection.
    pub fn bytes_received(&mut self, data: &[u8], now_ms: u64) {
        if !self.state.is_connected() {
            if !data.is_empty() {
                self.stats.discarded_messages += 1;
            }
            return;
        }
        self.recv.extend_from_slice(data);
        while self.state.is_connected() {
            match frame(&mut self.recv, self.config.max_message_len) {
                Ok(Some(message)) => self.handle_message(message, now_ms),
                Ok(None) => return,
                Err(error) => {
                    self.fail_connection(
                        DisconnectReason::ProtocolError(error.to_string()),
                        now_ms,
                    );
                }
            }
        }
        self.recv.clear();
    }

    /// Handles every timer due at `now_ms`: request deadlines, the handshake deadline and the
    /// RFC 3539 watchdog.
    pub fn timeout(&mut self, now_ms: u64) {
        while let Some(&(deadline, hop_by_hop)) = self.deadlines.first() {
            if deadline > now_ms {
                break;
            }
            self.deadlines.pop_first();
            if let Some(request) = self.pending.remove(&hop_by_hop) {
                self.events
                    .push_back(PeerEvent::RequestTimedOut { id: request.id });
            }
        }
        if self.handshake_at.is_some_and(|at| at <= now_ms) {
            self.handshake_at = None;
            match self.state {
                PeerState::Connecting | PeerState::WaitCea | PeerState::WaitCer => {
                    self.fail_connection(DisconnectReason::HandshakeTimeout, now_ms);
                }
                PeerState::Closing => self.fail_connection(DisconnectReason::DpaTimeout, now_ms),
                _ => {}
            }
        }
        if self.watchdog_at.is_some_and(|at| at <= now_ms) {
            self.watchdog_at = None;
            self.watchdog_expired(now_ms);
        }
    }

    /// Sends a request (not a base-protocol command) and starts its timer. The peer sets the
    /// Hop-by-Hop and End-to-End Identifiers. `id` is the caller's and must not be in use.
    pub fn send_request(
        &mut self,
        id: RequestId,
        request: MessageBuilder,
        now_ms: u64,
    ) -> Result<(), SendError> {
        self.check_sendable(request.header())?;
        let (hop_by_hop, end_to_end) = self.next_ids();
        let message = request
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end)
            .finish()
            .map_err(SendError::Build)?;
        let deadline_ms = now_ms.saturating_add(self.config.request_timeout_ms);
        self.track(PendingRequest {
            id,
            message,
            deadline_ms,
        });
        Ok(())
    }

    /// Sends again a request handed back by another peer's [`PeerEvent::Failover`]: 'T' bit set,
    /// a Hop-by-Hop Identifier of this connection, End-to-End Identifier, identifier and deadline
    /// unchanged. On failure the request is given back.
    pub fn resend(&mut self, request: PendingRequest) -> Result<(), (SendError, PendingRequest)> {
        if let Err(error) = self.check_sendable(request.message.header()) {
            return Err((error, request));
        }
        let hop_by_hop = self.next_hop_by_hop();
        let message = wire::retransmission(&request.message, hop_by_hop);
        self.track(PendingRequest { message, ..request });
        Ok(())
    }

    /// Answers a request received as [`PeerEvent::IncomingRequest`] (build it with
    /// [`MessageBuilder::answer_to`]).
    pub fn send_answer(&mut self, token: AnswerToken, answer: Message) -> Result<(), SendError> {
        let connected = matches!(
            self.state,
            PeerState::Open | PeerState::Suspect | PeerState::Reopen | PeerState::Closing
        );
        if !connected || token.connection != self.connection {
            return Err(SendError::ConnectionGone);
        }
        if answer.header().is_request() {
            return Err(SendError::NotAnAnswer);
        }
        if answer.header().hop_by_hop != token.hop_by_hop {
            return Err(SendError::HopByHopMismatch);
        }
        if !self.incoming.remove(&token.hop_by_hop) {
            return Err(SendError::AlreadyAnswered);
        }
        self.transmit.push_back(answer.as_bytes().clone());
        Ok(())
    }

    /// Gives up a request received as [`PeerEvent::IncomingRequest`] without answering it (a
    /// simulated HSS losing it): it stops counting towards `max_incoming_requests`, and a
    /// retransmission with its Hop-by-Hop Identifier is delivered again. False when the token is
    /// not awaiting an answer on the current connection.
    pub fn abandon(&mut self, token: AnswerToken) -> bool {
        token.connection == self.connection && self.incoming.remove(&token.hop_by_hop)
    }

    /// Closes the connection for good: a DPR with `cause` when it is up (the connection closes on
    /// the DPA, or after the handshake timeout), else at once. No reconnection follows until
    /// [`Peer::start`].
    pub fn close(&mut self, cause: DisconnectCause, now_ms: u64) {
        self.stopped = true;
        match self.state {
            PeerState::Open | PeerState::Suspect | PeerState::Reopen => {
                let (hop_by_hop, end_to_end) = self.next_ids();
                let dpr =
                    wire::disconnect_request(&self.config, cause.code(), hop_by_hop, end_to_end);
                if self.queue(dpr, now_ms) {
                    self.set_state(PeerState::Closing);
                    self.watchdog_at = None;
                    self.handshake_at =
                        Some(now_ms.saturating_add(self.config.handshake_timeout_ms));
                }
            }
            PeerState::Connecting | PeerState::WaitCea | PeerState::WaitCer => {
                self.fail_connection(DisconnectReason::Closed, now_ms);
            }
            PeerState::Down => {
                self.watchdog_at = None;
                self.set_state(PeerState::Closed);
            }
            PeerState::Closing | PeerState::Closed => {}
        }
    }

    /// The next bytes to write to the transport connection.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.pop_front()
    }

    /// When [`Peer::timeout`] must be called next, on the shell's clock.
    pub fn poll_timeout(&self) -> Option<u64> {
        let request = self.deadlines.first().map(|&(deadline, _)| deadline);
        [self.watchdog_at, self.handshake_at, request]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        self.events.pop_front()
    }

    /// The current state.
    pub const fn state(&self) -> PeerState {
        self.state
    }

    /// Which side opened the connection.
    pub const fn role(&self) -> Role {
        self.role
    }

    /// Whether new requests may be sent ([`PeerState::Open`]).
    pub fn is_usable(&self) -> bool {
        self.state == PeerState::Open
    }

    /// Whether the peer is usable and advertised `application_id`.
    pub fn supports(&self, application_id: u32) -> bool {
        self.is_usable()
            && self
                .remote
                .as_ref()
                .is_some_and(|remote| remote.applications.contains(&application_id))
    }

    /// What the peer advertised, once capabilities are exchanged on the current connection.
    pub fn remote(&self) -> Option<&RemotePeer> {
        self.remote.as_ref()
    }

    /// Requests awaiting answers.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// Counters of dropped and refused messages.
    pub const fn stats(&self) -> &PeerStats {
        &self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// The End-to-End Identifier this peer will use next (the pool keeps it for a successor).
    pub(crate) const fn end_to_end_ids(&self) -> EndToEndIds {
        self.end_to_end
    }

    fn check_sendable(&self, header: &super::Header) -> Result<(), SendError> {
        if self.state != PeerState::Open {
            return Err(SendError::NotOpen(self.state));
        }
        if !header.is_request() {
            return Err(SendError::NotARequest);
        }
        let application_id = header.application_id;
        if application_id == app::BASE || !self.supports(application_id) {
            return Err(SendError::ApplicationUnsupported(application_id));
        }
        if self.pending.len() >= self.config.max_pending_requests {
            return Err(SendError::TooManyPending);
        }
        Ok(())
    }

    fn track(&mut self, request: PendingRequest) {
        let hop_by_hop = request.message.header().hop_by_hop;
        self.transmit.push_back(request.message.as_bytes().clone());
        self.deadlines.insert((request.deadline_ms, hop_by_hop));
        self.pending.insert(hop_by_hop, request);
    }

    fn set_state(&mut self, to: PeerState) {
        let from = self.state;
        if from != to {
            self.state = to;
            self.events.push_back(PeerEvent::StateChanged { from, to });
        }
    }

    /// RFC 3539 SetWatchdog(): Tw with jitter.
    fn set_watchdog(&mut self, now_ms: u64) {
        let jitter = self.config.watchdog_jitter_ms;
        let delay = self.config.watchdog_interval_ms - jitter + self.rng.up_to(2 * jitter);
        self.watchdog_at = Some(now_ms.saturating_add(delay));
    }

    fn next_hop_by_hop(&mut self) -> u32 {
        // Skip identifiers still awaiting an answer (possible only after 2^32 requests).
        loop {
            let id = self.next_hop_by_hop;
            self.next_hop_by_hop = id.wrapping_add(1);
            if !self.pending.contains_key(&id) {
                return id;
            }
        }
    }

    fn next_ids(&mut self) -> (u32, u32) {
        (self.next_hop_by_hop(), self.end_to_end.next_id())
    }

    /// Queues a message of ours; an encoding failure closes the connection.
    fn queue(&mut self, built: Result<Message, BuildError>, now_ms: u64) -> bool {
        match built {
            Ok(message) => {
                self.transmit.push_back(message.as_bytes().clone());
                true
            }
            Err(error) => {
                self.fail_connection(DisconnectReason::EncodingFailed(error), now_ms);
                false
            }
        }
    }

    fn begin_connect(&mut self, now_ms: u64) {
        self.set_state(PeerState::Connecting);
        self.events.push_back(PeerEvent::Connect);
        self.watchdog_at = None;
        self.handshake_at = Some(now_ms.saturating_add(self.config.handshake_timeout_ms));
    }

    /// We end the connection: the shell is told to close it.
    fn fail_connection(&mut self, reason: DisconnectReason, now_ms: u64) {
        self.events.push_back(PeerEvent::Disconnect { reason });
        self.connection_ended(now_ms);
    }

    /// The connection (or attempt) is over, whoever ended it: pending requests are handed back
    /// and the peer goes DOWN (to reconnect) or CLOSED.
    fn connection_ended(&mut self, now_ms: u64) {
        let was = self.state;
        self.fail_over_pending();
        self.incoming.clear();
        self.recv.clear();
        self.remote = None;
        self.handshake_at = None;
        self.dwa_pending = false;
        self.num_dwa = 0;
        if matches!(
            was,
            PeerState::Open | PeerState::Suspect | PeerState::Reopen
        ) {
            self.reopen_on_up = true;
        }
        if self.role == Role::Initiator && !self.stopped {
            self.set_state(PeerState::Down);
            self.set_watchdog(now_ms);
        } else {
            self.set_state(PeerState::Closed);
            self.watchdog_at = None;
        }
    }

    /// RFC 3539 Failover(): every pending request is handed back.
    fn fail_over_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut requests: Vec<PendingRequest> =
            std::mem::take(&mut self.pending).into_values().collect();
        self.deadlines.clear();
        requests.sort_by_key(|request| (request.deadline_ms, request.id));
        self.stats.failed_over += requests.len() as u64;
        self.events.push_back(PeerEvent::Failover { requests });
    }

    /// RFC 3539 SendWatchdog(), then Pending = TRUE and SetWatchdog().
    fn probe(&mut self, now_ms: u64) {
        let (hop_by_hop, end_to_end) = self.next_ids();
        let dwr = wire::watchdog_request(&self.config, hop_by_hop, end_to_end);
        if self.queue(dwr, now_ms) {
            self.dwa_pending = true;
            self.set_watchdog(now_ms);
        }
    }

    /// The RFC 3539 timer fired.
    fn watchdog_expired(&mut self, now_ms: u64) {
        match self.state {
            PeerState::Open if self.dwa_pending => {
                self.set_state(PeerState::Suspect);
                self.fail_over_pending();
                self.set_watchdog(now_ms);
            }
            PeerState::Open | PeerState::Reopen if !self.dwa_pending => self.probe(now_ms),
            PeerState::Suspect => self.fail_connection(DisconnectReason::WatchdogExpired, now_ms),
            PeerState::Reopen if self.num_dwa < 0 => {
                self.fail_connection(DisconnectReason::WatchdogExpired, now_ms);
            }
            PeerState::Reopen => {
                self.num_dwa = -1;
                self.set_watchdog(now_ms);
            }
            PeerState::Down => self.begin_connect(now_ms),
            _ => {}
        }
    }

    /// RFC 3539: what a received message does to the watchdog.
    fn watchdog_received(&mut self, is_dwa: bool, now_ms: u64) {
        if is_dwa {
            self.dwa_pending = false;
        }
        match self.state {
            PeerState::Open => self.set_watchdog(now_ms),
            PeerState::Suspect => {
                // Failback.
                self.set_state(PeerState::Open);
                self.set_watchdog(now_ms);
            }
            PeerState::Reopen if is_dwa => {
                self.num_dwa += 1;
                if self.num_dwa >= REOPEN_DWAS {
                    self.reopen_on_up = false;
                    self.set_state(PeerState::Open);
                } else {
                    // RFC 3539 sends the next DWR only when the watchdog timer fires, so a peer
                    // back from a restart would wait about three intervals. The three exchanges
                    // are made back to back instead: each DWA is answered with the next DWR at
                    // once (the timer, reset here, still bounds each wait). Three DWAs are still
                    // required; only the idle time between them is gone.
                    self.probe(now_ms);
                }
            }
            _ => {}
        }
    }

    fn handle_message(&mut self, message: Message, now_ms: u64) {
        match self.state {
            PeerState::WaitCer => self.on_capabilities_request(message, now_ms),
            PeerState::WaitCea => self.on_capabilities_answer(&message, now_ms),
            PeerState::Open | PeerState::Suspect | PeerState::Reopen | PeerState::Closing => {
                let header = *message.header();
                let is_dwa = !header.is_request()
                    && header.application_id == app::BASE
                    && header.command_code == cmd::DEVICE_WATCHDOG;
                if self.state != PeerState::Closing {
                    self.watchdog_received(is_dwa, now_ms);
                }
                if header.is_request() {
                    self.on_request(message, now_ms);
                } else {
                    self.on_answer(message, now_ms);
                }
            }
            _ => self.stats.discarded_messages += 1,
        }
    }

    /// Responder: the first message must be a CER; it is answered and the peer opens, or refused
    /// and the connection closed.
    fn on_capabilities_request(&mut self, cer: Message, now_ms: u64) {
        let header = cer.header();
        if !(header.is_request()
            && header.application_id == app::BASE
            && header.command_code == cmd::CAPABILITIES_EXCHANGE)
        {
            let reason = format!(
                "expected CER, received command {} of application {}",
                header.command_code, header.application_id
            );
            self.fail_connection(DisconnectReason::ProtocolError(reason), now_ms);
            return;
        }
        match self.judge_capabilities_request(&cer) {
            Ok(remote) => {
                let cea = wire::capabilities_answer(&self.config, &cer, None);
                if self.queue(cea, now_ms) {
                    self.remote = Some(remote);
                    self.handshake_at = None;
                    self.dwa_pending = false;
                    self.set_state(PeerState::Open);
                    self.set_watchdog(now_ms);
                }
            }
            Err(rejection) => {
                let cea = wire::capabilities_answer(&self.config, &cer, Some(&rejection));
                if self.queue(cea, now_ms) {
                    let result_code = rejection.result_code;
                    self.fail_connection(DisconnectReason::PeerRefused { result_code }, now_ms);
                }
            }
        }
    }

    fn judge_capabilities_request(&self, cer: &Message) -> Result<RemotePeer, Rejection> {
        validate(cer, &[])?;
        let capabilities = wire::read_capabilities(cer)
            .map_err(|reason| Rejection::new(result::INVALID_AVP_VALUE, reason))?;
        if let Some(allowed) = &self.config.allowed_peers
            && !allowed
                .iter()
                .any(|host| host.eq_ignore_ascii_case(&capabilities.origin_host))
        {
            return Err(Rejection::new(
                result::UNKNOWN_PEER,
                format!("{} is not a known peer", capabilities.origin_host),
            ));
        }
        let applications =
            wire::common_applications(&self.config.applications, &capabilities.applications);
        if applications.is_empty() {
            return Err(Rejection::new(
                result::NO_COMMON_APPLICATION,
                "no application in common",
            ));
        }
        Ok(remote_peer(capabilities, applications))
    }

    /// Initiator: the first message must be the CEA; success opens the peer (or starts REOPEN
    /// after a failure), anything else closes the connection.
    fn on_capabilities_answer(&mut self, cea: &Message, now_ms: u64) {
        let header = cea.header();
        if header.is_request()
            || header.application_id != app::BASE
            || header.command_code != cmd::CAPABILITIES_EXCHANGE
        {
            let reason = format!(
                "expected CEA, received command {} of application {}",
                header.command_code, header.application_id
            );
            self.fail_connection(DisconnectReason::ProtocolError(reason), now_ms);
            return;
        }
        let capabilities = match wire::read_capabilities(cea) {
            Ok(capabilities) => capabilities,
            Err(reason) => {
                self.fail_connection(DisconnectReason::ProtocolError(reason), now_ms);
                return;
            }
        };
        match capabilities.result_code {
            Some(result::SUCCESS) => {}
            Some(result_code) => {
                self.fail_connection(
                    DisconnectReason::CapabilitiesRejected { result_code },
                    now_ms,
                );
                return;
            }
            None => {
                let reason = "CEA without Result-Code".to_owned();
                self.fail_connection(DisconnectReason::ProtocolError(reason), now_ms);
                return;
            }
        }
        let applications =
            wire::common_applications(&self.config.applications, &capabilities.applications);
        if applications.is_empty() {
            self.fail_connection(DisconnectReason::NoCommonApplication, now_ms);
            return;
        }
        self.remote = Some(remote_peer(capabilities, applications));
        self.handshake_at = None;
        if self.reopen_on_up {
            // RFC 3539 DOWN, connection up: NumDWA = 0, SendWatchdog, SetWatchdog, Pending.
            self.set_state(PeerState::Reopen);
            self.num_dwa = 0;
            self.probe(now_ms);
        } else {
            // RFC 3539 INITIAL, connection up: SetWatchdog, OKAY.
            self.dwa_pending = false;
            self.set_state(PeerState::Open);
            self.set_watchdog(now_ms);
        }
    }

    fn on_request(&mut self, request: Message, now_ms: u64) {
        let header = *request.header();
        let base = header.application_id == app::BASE;
        if !base && self.state == PeerState::Reopen {
            // RFC 3539 REOPEN: Throwaway() until the connection has proven itself.
            self.stats.discarded_messages += 1;
            return;
        }
        let applications = self
            .remote
            .as_ref()
            .map(|remote| remote.applications.clone())
            .unwrap_or_default();
        if let Err(rejection) = validate(&request, &applications) {
            self.reject(&request, &rejection, now_ms);
            return;
        }
        if base {
            self.on_base_request(&request, now_ms);
            return;
        }
        if self.incoming.len() >= self.config.max_incoming_requests {
            let rejection = Rejection::new(result::TOO_BUSY, "too many requests in progress");
            self.reject(&request, &rejection, now_ms);
            return;
        }
        if !self.incoming.insert(header.hop_by_hop) {
            self.stats.discarded_messages += 1;
            return;
        }
        let token = AnswerToken {
            connection: self.connection,
            hop_by_hop: header.hop_by_hop,
        };
        self.events.push_back(PeerEvent::IncomingRequest {
            token,
            message: request,
        });
    }

    fn reject(&mut self, request: &Message, rejection: &Rejection, now_ms: u64) {
        self.stats.rejected_requests += 1;
        let answer = wire::rejection_answer(&self.config, request, rejection);
        self.queue(answer, now_ms);
    }

    fn on_base_request(&mut self, request: &Message, now_ms: u64) {
        match request.header().command_code {
            cmd::DEVICE_WATCHDOG => {
                let dwa = wire::watchdog_answer(&self.config, request);
                self.queue(dwa, now_ms);
            }
            cmd::CAPABILITIES_EXCHANGE => {
                // RFC 6733 §5.6, I-Open/R-Open: Rcv-CER → Snd-CEA.
                let cea = wire::capabilities_answer(&self.config, request, None);
                self.queue(cea, now_ms);
            }
            cmd::DISCONNECT_PEER => {
                let cause = wire::disconnect_cause(request);
                let dpa = wire::disconnect_answer(&self.config, request);
                if self.queue(dpa, now_ms) {
                    // RFC 6733 §5.4.3: only REBOOTING invites a reconnection.
                    if cause != Some(disconnect_cause::REBOOTING) {
                        self.stopped = true;
                    }
                    self.fail_connection(DisconnectReason::PeerRequested { cause }, now_ms);
                }
            }
            other => {
                let rejection = Rejection::new(
                    result::COMMAND_UNSUPPORTED,
                    format!("command {other} is not supported"),
                );
                self.reject(request, &rejection, now_ms);
            }
        }
    }

    fn on_answer(&mut self, answer: Message, now_ms: u64) {
        let header = *answer.header();
        if header.application_id == app::BASE {
            match header.command_code {
                // DWA: the watchdog has taken note; a stray CEA changes nothing.
                cmd::DEVICE_WATCHDOG | cmd::CAPABILITIES_EXCHANGE => return,
                cmd::DISCONNECT_PEER => {
                    if self.state == PeerState::Closing {
                        self.fail_connection(DisconnectReason::Closed, now_ms);
                    }
                    return;
                }
                _ => {}
            }
        }
        let matches = self.pending.get(&header.hop_by_hop).is_some_and(|request| {
            let sent = request.message.header();
            sent.end_to_end == header.end_to_end
                && sent.command_code == header.command_code
                && sent.application_id == header.application_id
        });
        let request = if matches {
            self.pending.remove(&header.hop_by_hop)
        } else {
            None
        };
        match request {
            Some(request) => {
                self.deadlines
                    .remove(&(request.deadline_ms, header.hop_by_hop));
                self.events.push_back(PeerEvent::Answer {
                    id: request.id,
                    message: answer,
                });
            }
            None => self.stats.unmatched_answers += 1,
        }
    }
}

fn remote_peer(capabilities: wire::Capabilities, applications: Vec<u32>) -> RemotePeer {
    RemotePeer {
        origin_host: capabilities.origin_host,
        origin_realm: capabilities.origin_realm,
        host_ip_addresses: capabilities.host_ip_addresses,
        product_name: capabilities.product_name,
        origin_state_id: capabilities.origin_state_id,
        applications,
    }
}
