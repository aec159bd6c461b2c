//! A set of peers, sans-IO: requests go round robin to the usable peers that support their
//! application, and the pending requests of a peer that fails are resent on another one
//! (RFC 6733 §5.5.4).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::config::{ConfigError, EndToEndIds, PeerConfig, SplitMix64};
use super::{
    AnswerToken, DisconnectCause, DisconnectReason, Peer, PeerEvent, PeerState, PendingRequest,
    RequestId, Role, SendError,
};
use crate::diameter::{Message, MessageBuilder};

/// End-to-End Identifiers are split into this many interleaved partitions, one per peer, so that
/// peers never hand out the same one (a request failed over keeps its own).
const PARTITIONS: u32 = 16;

/// Names a peer of a [`PeerPool`]; never reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PeerId(pub u64);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer {}", self.0)
    }
}

/// Configuration of a [`PeerPool`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PoolConfig {
    /// Our identity, capabilities, timers and seeds, shared by every peer.
    pub peer: PeerConfig,
    /// Most peers we connect to (Homestead's `max_peers`: 2).
    pub max_peers: usize,
    /// Most incoming connections at a time.
    pub max_incoming: usize,
}

impl PoolConfig {
    /// Two outgoing peers and up to eight incoming connections.
    pub fn new(peer: PeerConfig) -> Self {
        Self {
            peer,
            max_peers: 2,
            max_incoming: 8,
        }
    }
}

/// Why a pool operation was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PoolError {
    /// `max_peers` outgoing peers, or `max_incoming` incoming connections, exist already.
    TooManyPeers,
    /// No such peer (it may have been removed).
    UnknownPeer(PeerId),
    /// Only a closed peer can be removed.
    PeerActive(PeerId),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyPeers => f.write_str("peer limit reached"),
            Self::UnknownPeer(peer) => write!(f, "no {peer}"),
            Self::PeerActive(peer) => write!(f, "{peer} is not closed"),
        }
    }
}

impl std::error::Error for PoolError {}

/// Why a request of the pool got no answer. Homestead answers both with 503.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RequestError {
    /// No answer before the request timeout.
    TimedOut,
    /// Its peer failed and no other usable peer supports its application
    /// (`DIAMETER_UNABLE_TO_DELIVER`, 3002).
    NoPeer,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimedOut => f.write_str("Diameter request timed out"),
            Self::NoPeer => f.write_str("no usable Diameter peer"),
        }
    }
}

impl std::error::Error for RequestError {}

/// What a [`PeerPool`] asks of the shell or reports.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PoolEvent {
    /// Open a transport connection for this peer, then call [`PeerPool::connected`] or
    /// [`PeerPool::connection_failed`].
    Connect {
        /// The peer.
        peer: PeerId,
    },
    /// Close this peer's transport connection once its bytes from [`PeerPool::poll_transmit`]
    /// are written.
    Disconnect {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: DisconnectReason,
    },
    /// A peer changed state.
    StateChanged {
        /// The peer.
        peer: PeerId,
        /// The previous state.
        from: PeerState,
        /// The new state.
        to: PeerState,
    },
    /// The answer to a request.
    Answer {
        /// The request.
        id: RequestId,
        /// The peer that answered.
        peer: PeerId,
        /// The answer.
        message: Message,
    },
    /// A request will get no answer.
    RequestFailed {
        /// The request.
        id: RequestId,
        /// Why.
        error: RequestError,
    },
    /// A request was resent, with the 'T' bit, on another peer after its peer failed.
    Failover {
        /// The request.
        id: RequestId,
        /// The peer that failed.
        from: PeerId,
        /// The peer it was resent on.
        to: PeerId,
    },
    /// A request from a peer; answer it with [`PeerPool::send_answer`].
    IncomingRequest {
        /// The peer it came from.
        peer: PeerId,
        /// Names it for the answer.
        token: AnswerToken,
        /// The request.
        message: Message,
    },
}

struct Slot {
    id: PeerId,
    peer: Peer,
    partition: usize,
}

/// Peers to one or more Diameter nodes: outgoing ones added with [`PeerPool::add_peer`],
/// incoming ones with [`PeerPool::accept`]. Inputs name the peer they concern; outputs
/// ([`PeerPool::poll_transmit`], [`PeerPool::poll_event`]) say which peer they are for.
///
/// A closed incoming peer is removed once its last bytes are handed out; outgoing peers stay
/// until [`PeerPool::remove_peer`].
pub struct PeerPool {
    config: Arc<PeerConfig>,
    max_peers: usize,
    max_incoming: usize,
    slots: Vec<Slot>,
    /// Where each End-to-End partition stands; `None` while a peer uses it.
    partitions: Vec<Option<EndToEndIds>>,
    rng: SplitMix64,
    next_peer: u64,
    next_request: u64,
    round_robin: usize,
    events: VecDeque<PoolEvent>,
}

impl PeerPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Result<Self, ConfigError> {
        config.peer.validate()?;
        let total = config.max_peers.saturating_add(config.max_incoming);
        if total == 0 || total > PARTITIONS as usize {
            return Err(ConfigError::PeerCount);
        }
        let mut rng = SplitMix64::new(config.peer.seed);
        let base = EndToEndIds::new(config.peer.start_time_unix_s, rng.next_u64() as u32);
        Ok(Self {
            config: Arc::new(config.peer),
            max_peers: config.max_peers,
            max_incoming: config.max_incoming,
            slots: Vec::new(),
            partitions: (0..PARTITIONS)
                .map(|index| Some(base.partition(index, PARTITIONS)))
                .collect(),
            rng,
            next_peer: 0,
            next_request: 0,
            round_robin: 0,
            events: VecDeque::new(),
        })
    }

    /// Adds a peer to connect to; a [`PoolEvent::Connect`] for it follows.
    pub fn add_peer(&mut self, now_ms: u64) -> Result<PeerId, PoolError> {
        self.add(Role::Initiator, now_ms)
    }

    /// Adds a peer for a connection the shell has just accepted; it waits for the CER.
    pub fn accept(&mut self, now_ms: u64) -> Result<PeerId, PoolError> {
        self.add(Role::Responder, now_ms)
    }

    fn add(&mut self, role: Role, now_ms: u64) -> Result<PeerId, PoolError> {
        let count = self.slots.iter().filter(|s| s.peer.role() == role).count();
        let limit = match role {
            Role::Initiator => self.max_peers,
            Role::Responder => self.max_incoming,
        };
        if count >= limit {
            return Err(PoolError::TooManyPeers);
        }
        let Some((partition, end_to_end)) = self
            .partitions
            .iter_mut()
            .enumerate()
            .find_map(|(index, slot)| slot.take().map(|ids| (index, ids)))
        else {
            return Err(PoolError::TooManyPeers);
        };
        let id = PeerId(self.next_peer);
        self.next_peer += 1;
        let rng = SplitMix64::new(self.rng.next_u64());
        let mut peer = Peer::detached(Arc::clone(&self.config), role, rng, end_to_end);
        peer.begin(now_ms);
        self.slots.push(Slot {
            id,
            peer,
            partition,
        });
        self.drain(self.slots.len() - 1, now_ms);
        Ok(id)
    }

    /// Removes a closed peer.
    pub fn remove_peer(&mut self, peer: PeerId) -> Result<(), PoolError> {
        let index = self.index(peer)?;
        if self.slots.get(index).map(|s| s.peer.state()) != Some(PeerState::Closed) {
            return Err(PoolError::PeerActive(peer));
        }
        self.release(index);
        Ok(())
    }

    /// See [`Peer::start`].
    pub fn start(&mut self, peer: PeerId, now_ms: u64) -> Result<(), PoolError> {
        self.with_peer(peer, now_ms, |p| p.start(now_ms))
    }

    /// See [`Peer::connected`].
    pub fn connected(&mut self, peer: PeerId, now_ms: u64) -> Result<(), PoolError> {
        self.with_peer(peer, now_ms, |p| p.connected(now_ms))
    }

    /// See [`Peer::connection_failed`].
    pub fn connection_failed(&mut self, peer: PeerId, now_ms: u64) -> Result<(), PoolError> {
        self.with_peer(peer, now_ms, |p| p.connection_failed(now_ms))
    }

    /// See [`Peer::connection_closed`]; its pending requests fail over to other peers.
    pub fn connection_closed(&mut self, peer: PeerId, now_ms: u64) -> Result<(), PoolError> {
        self.with_peer(peer, now_ms, |p| p.connection_closed(now_ms))
    }

    /// See [`Peer::bytes_received`].
    pub fn bytes_received(
        &mut self,
        peer: PeerId,
        data: &[u8],
        now_ms: u64,
    ) -> Result<(), PoolError> {
        self.with_peer(peer, now_ms, |p| p.bytes_received(data, now_ms))
    }

    /// See [`Peer::close`].
    pub fn close(
        &mut self,
        peer: PeerId,
        cause: DisconnectCause,
        now_ms: u64,
    ) -> Result<(), PoolError> {
        self.with_peer(peer, now_ms, |p| p.close(cause, now_ms))
    }

    /// Closes every peer (DPR where connected).
    pub fn close_all(&mut self, cause: DisconnectCause, now_ms: u64) {
        for index in 0..self.slots.len() {
            if let Some(slot) = self.slots.get_mut(index) {
                slot.peer.close(cause, now_ms);
            }
            self.drain(index, now_ms);
        }
    }

    /// Handles every timer due at `now_ms`.
    pub fn timeout(&mut self, now_ms: u64) {
        for index in 0..self.slots.len() {
            let due = self
                .slots
                .get(index)
                .and_then(|slot| slot.peer.poll_timeout())
                .is_some_and(|at| at <= now_ms);
            if due {
                if let Some(slot) = self.slots.get_mut(index) {
                    slot.peer.timeout(now_ms);
                }
                self.drain(index, now_ms);
            }
        }
    }

    /// Sends a request on the next usable peer that supports its application (round robin).
    /// [`SendError::NoPeer`] when there is none.
    pub fn send_request(
        &mut self,
        request: MessageBuilder,
        now_ms: u64,
    ) -> Result<RequestId, SendError> {
        let application_id = request.header().application_id;
        let Some(index) = self.usable(application_id, None).first().copied() else {
            return Err(SendError::NoPeer);
        };
        let id = RequestId(self.next_request);
        let slot = self.slots.get_mut(index).ok_or(SendError::NoPeer)?;
        slot.peer.send_request(id, request, now_ms)?;
        self.next_request += 1;
        self.round_robin = index + 1;
        Ok(id)
    }

    /// Answers a request received as [`PoolEvent::IncomingRequest`].
    pub fn send_answer(
        &mut self,
        peer: PeerId,
        token: AnswerToken,
        answer: Message,
    ) -> Result<(), SendError> {
        let index = self.index(peer).map_err(|_| SendError::UnknownPeer)?;
        let slot = self.slots.get_mut(index).ok_or(SendError::UnknownPeer)?;
        slot.peer.send_answer(token, answer)
    }

    /// The next bytes to write, and the peer whose connection they go to.
    pub fn poll_transmit(&mut self) -> Option<(PeerId, Bytes)> {
        let mut index = 0;
        while let Some(slot) = self.slots.get_mut(index) {
            if let Some(bytes) = slot.peer.poll_transmit() {
                return Some((slot.id, bytes));
            }
            // An incoming peer that has ended and said its last word is of no further use.
            if slot.peer.role() == Role::Responder && slot.peer.state() == PeerState::Closed {
                self.release(index);
                continue;
            }
            index += 1;
        }
        None
    }

    /// When [`PeerPool::timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.slots
            .iter()
            .filter_map(|slot| slot.peer.poll_timeout())
            .min()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<PoolEvent> {
        self.events.pop_front()
    }

    /// A peer, to look at.
    pub fn peer(&self, peer: PeerId) -> Option<&Peer> {
        self.slots.iter().find(|s| s.id == peer).map(|s| &s.peer)
    }

    /// Every peer.
    pub fn peers(&self) -> impl Iterator<Item = (PeerId, &Peer)> {
        self.slots.iter().map(|slot| (slot.id, &slot.peer))
    }

    /// Whether some peer could take a request of this application now.
    pub fn is_usable(&self, application_id: u32) -> bool {
        self.slots
            .iter()
            .any(|slot| slot.peer.supports(application_id))
    }

    /// Requests awaiting answers, over all peers.
    pub fn pending_requests(&self) -> usize {
        self.slots.iter().map(|s| s.peer.pending_requests()).sum()
    }

    fn index(&self, peer: PeerId) -> Result<usize, PoolError> {
        self.slots
            .iter()
            .position(|slot| slot.id == peer)
            .ok_or(PoolError::UnknownPeer(peer))
    }

    fn with_peer(
        &mut self,
        peer: PeerId,
        now_ms: u64,
        input: impl FnOnce(&mut Peer),
    ) -> Result<(), PoolError> {
        let index = self.index(peer)?;
        if let Some(slot) = self.slots.get_mut(index) {
            input(&mut slot.peer);
        }
        self.drain(index, now_ms);
        Ok(())
    }

    fn release(&mut self, index: usize) {
        if index < self.slots.len() {
            let slot = self.slots.remove(index);
            if let Some(partition) = self.partitions.get_mut(slot.partition) {
                *partition = Some(slot.peer.end_to_end_ids());
            }
        }
    }

    /// Peers that can take a request of `application_id`, in round-robin order, without
    /// `exclude`.
    fn usable(&self, application_id: u32, exclude: Option<usize>) -> Vec<usize> {
        let count = self.slots.len();
        (0..count)
            .map(|offset| (self.round_robin + offset) % count)
            .filter(|&index| Some(index) != exclude)
            .filter(|&index| {
                self.slots
                    .get(index)
                    .is_some_and(|slot| slot.peer.supports(application_id))
            })
            .collect()
    }

    /// Moves a peer's events to the pool's queue, resending what it fails over.
    fn drain(&mut self, index: usize, now_ms: u64) {
        loop {
            let Some(slot) = self.slots.get_mut(index) else {
                return;
            };
            let peer = slot.id;
            let Some(event) = slot.peer.poll_event() else {
                return;
            };
            let event = match event {
                PeerEvent::Connect => PoolEvent::Connect { peer },
                PeerEvent::Disconnect { reason } => PoolEvent::Disconnect { peer, reason },
                PeerEvent::StateChanged { from, to } => PoolEvent::StateChanged { peer, from, to },
                PeerEvent::Answer { id, message } => PoolEvent::Answer { id, peer, message },
                PeerEvent::RequestTimedOut { id } => PoolEvent::RequestFailed {
                    id,
                    error: RequestError::TimedOut,
                },
                PeerEvent::IncomingRequest { token, message } => PoolEvent::IncomingRequest {
                    peer,
                    token,
                    message,
                },
                PeerEvent::Failover { requests } => {
                    for request in requests {
                        self.fail_over(index, peer, request, now_ms);
                    }
                    continue;
                }
            };
            self.events.push_back(event);
        }
    }

    /// Resends a request of the peer at `from` on another usable peer, or reports it failed.
    fn fail_over(
        &mut self,
        from: usize,
        from_id: PeerId,
        mut request: PendingRequest,
        now_ms: u64,
    ) {
        let id = request.id;
        if request.deadline_ms <= now_ms {
            let error = RequestError::TimedOut;
            self.events
                .push_back(PoolEvent::RequestFailed { id, error });
            return;
        }
        let application_id = request.message.header().application_id;
        for index in self.usable(application_id, Some(from)) {
            let Some(slot) = self.slots.get_mut(index) else {
                continue;
            };
            match slot.peer.resend(request) {
                Ok(()) => {
                    let to = slot.id;
                    self.round_robin = index + 1;
                    self.events.push_back(PoolEvent::Failover {
                        id,
                        from: from_id,
                        to,
                    });
                    return;
                }
                Err((_, back)) => request = back,
            }
        }
        let error = RequestError::NoPeer;
        self.events
            .push_back(PoolEvent::RequestFailed { id, error });
    }
}
