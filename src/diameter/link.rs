//! [`DiameterLink`]: one shard's Diameter connections to the HSS, driving a sans-IO
//! [`PeerPool`] on the shard's executor.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_channel::oneshot;
use glommio::channels::local_channel::{self, LocalReceiver, LocalSender};
use glommio::net::{TcpListener, TcpStream};
use hearth_core::diameter::cx::{self, CxResult, Destination, Origin, SessionIds};
use hearth_core::diameter::dict::{app, avp, cmd, result};
use hearth_core::diameter::peer::{
    AnswerToken, Application, DisconnectCause, PeerConfig, PeerId, PeerPool, PeerState, PoolConfig,
    PoolEvent, RequestError, RequestId, SendError,
};
use hearth_core::diameter::{Message, MessageBuilder, Rejection, error_answer};

use super::conn::{self, Conn};
use super::discovery::PeerTargets;
use super::metrics::{LinkCounters, LinkMetrics, PeerMetrics, state_name};
use crate::config::Config;

/// Handles a request from a peer (a Cx PPR or RTR from the HSS, already checked against the
/// dictionary by the core) and returns the answer to send; `None` makes the link answer
/// itself (5012 DIAMETER_UNABLE_TO_COMPLY to a PPR or RTR, 3001 to anything else).
pub type RequestHandler = Rc<dyn Fn(Message) -> Pin<Box<dyn Future<Output = Option<Message>>>>>;

/// How often the timer task looks for a new DNS result even when no pool timer is due.
const TARGETS_POLL: Duration = Duration::from_millis(500);
/// How long the address of a failed peer is passed over when another resolved address can take
/// its place (Clearwater's Diameter stack blacklists a failed peer for 30 s too).
const FAILED_PEER_BLACKLIST_MS: u64 = 30_000;
/// How long [`DiameterLink::shutdown`] waits for DPAs.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// How often the listener and the shutdown wait look at their flags.
const POLL: Duration = Duration::from_millis(20);

/// The Origin-Host of shard `shard` out of `nr_shards`: the configured identity itself with one
/// shard, `shard<i>.<identity>` with several.
///
/// Every shard has its own connections to each HSS peer, and a Diameter peer is named by its
/// Origin-Host: two connections with one Origin-Host would be one peer to the HSS, which would run
/// the RFC 6733 election between them and drop one, or send a shard's answers to another.
/// Prefixing a label keeps all of a node's identities under one name that an HSS's peer list can
/// match with a wildcard (`*.hearth.example.com`).
pub fn origin_host(identity: &str, shard: usize, nr_shards: usize) -> String {
    if nr_shards <= 1 {
        identity.to_owned()
    } else {
        format!("shard{shard}.{identity}")
    }
}

/// An outgoing peer: the address it connects to, and whether it is being removed (the address
/// left the DNS answer, or it failed and another address takes its place).
struct Outgoing {
    peer: PeerId,
    addr: SocketAddr,
    retiring: bool,
}

/// One shard's Diameter link to the HSS: its own Origin-Host, its own connections to every HSS
/// peer (outgoing, plus those an HSS opens to `[hss] diameter_addr`), a [`PeerPool`] spreading
/// requests over them with failover, and the tasks that drive it (one per connection, one timer).
///
/// Everything lives on the shard's thread; nothing blocks: sockets are glommio's, DNS runs on the
/// `hearth-dns` thread ([`super::Discovery`]).
pub struct DiameterLink {
    me: Weak<DiameterLink>,
    shard: usize,
    origin: Origin,
    destination: Destination,
    epoch: Instant,
    connect_timeout: Duration,
    write_timeout: Duration,
    max_peers: usize,
    pool: RefCell<PeerPool>,
    session_ids: RefCell<SessionIds>,
    /// Callers awaiting the outcome of their request.
    waiting: RefCell<HashMap<RequestId, oneshot::Sender<Result<Message, RequestError>>>>,
    /// The current connection (or attempt) of each peer.
    conns: RefCell<HashMap<PeerId, Rc<Conn>>>,
    outgoing: RefCell<Vec<Outgoing>>,
    targets: Arc<PeerTargets>,
    seen_generation: Cell<u64>,
    /// Re-read the targets at the next occasion (a retiring peer freed its place).
    targets_dirty: Cell<bool>,
    /// Addresses of failed peers, passed over until the pool time given.
    blacklist: RefCell<HashMap<SocketAddr, u64>>,
    handler: RefCell<Option<RequestHandler>>,
    timer_wake: LocalSender<()>,
    timer_wake_rx: RefCell<Option<LocalReceiver<()>>>,
    /// The pool time the timer task sleeps until.
    armed_at: Cell<Option<u64>>,
    counters: Cell<LinkCounters>,
    /// Shutdown has begun: no new peers, no new connections.
    stopping: Cell<bool>,
    /// Shutdown is over: the tasks end.
    finished: Cell<bool>,
    started: Cell<bool>,
}

impl DiameterLink {
    /// The link of shard `shard` (of `nr_shards`) for `config`, following `targets`. Nothing runs
    /// until [`DiameterLink::start`].
    pub fn new(
        config: &Config,
        shard: usize,
        nr_shards: usize,
        targets: Arc<PeerTargets>,
    ) -> Result<Rc<Self>, String> {
        let host = origin_host(&config.diameter_identity(), shard, nr_shards);
        let origin = Origin::new(host.clone(), config.origin_realm());
        let destination = Destination {
            realm: config.destination_realm().to_owned(),
            host: config.hss_host().map(str::to_owned),
        };
        let start_unix = crate::engine::unix_now();
        let mut peer = PeerConfig::new(
            host.clone(),
            config.origin_realm(),
            vec![local_address(config)],
        );
        peer.product_name = "Hearth".to_owned();
        peer.applications = vec![Application::CX, Application::SH, Application::ZH];
        peer.supported_vendor_ids = vec![hearth_core::diameter::dict::VENDOR_3GPP];
        peer.allowed_peers = config.incoming_peers();
        peer.watchdog_interval_ms = config.hss.watchdog_interval_ms;
        peer.watchdog_jitter_ms = peer
            .watchdog_jitter_ms
            .min(config.hss.watchdog_interval_ms.saturating_sub(1) / 2);
        // The pool's clock is whole milliseconds rounded down: one more keeps a request waiting at
        // least diameter_timeout_ms of real time, never a fraction of a millisecond less.
        peer.request_timeout_ms = config.diameter_timeout_ms + 1;
        peer.origin_state_id = u32::try_from(start_unix).unwrap_or(u32::MAX);
        peer.start_time_unix_s = start_unix;
        peer.seed = rand::random();
        let connect_timeout = Duration::from_millis(peer.handshake_timeout_ms);
        let write_timeout = Duration::from_millis(peer.watchdog_interval_ms);
        let mut pool_config = PoolConfig::new(peer);
        pool_config.max_peers = config.max_peers;
        pool_config.max_incoming = 16usize.saturating_sub(config.max_peers).min(8);
        let pool = PeerPool::new(pool_config).map_err(|e| format!("Diameter link: {e}"))?;
        let session_ids = SessionIds::new(host, u32::try_from(start_unix).unwrap_or(0));
        let (timer_wake, timer_wake_rx) = local_channel::new_bounded(1);
        Ok(Rc::new_cyclic(|me| Self {
            me: me.clone(),
            shard,
            origin,
            destination,
            epoch: Instant::now(),
            connect_timeout,
            write_timeout,
            max_peers: config.max_peers,
            pool: RefCell::new(pool),
            session_ids: RefCell::new(session_ids),
            waiting: RefCell::new(HashMap::new()),
            conns: RefCell::new(HashMap::new()),
            outgoing: RefCell::new(Vec::new()),
            targets,
            seen_generation: Cell::new(0),
            targets_dirty: Cell::new(false),
            blacklist: RefCell::new(HashMap::new()),
            handler: RefCell::new(None),
            timer_wake,
            timer_wake_rx: RefCell::new(Some(timer_wake_rx)),
            armed_at: Cell::new(None),
            counters: Cell::new(LinkCounters::default()),
            stopping: Cell::new(false),
            finished: Cell::new(false),
            started: Cell::new(false),
        }))
    }

    /// Starts the link on the current shard's executor: the timer task (which also adds the
    /// peers as they are resolved) and, when given, the accept loop of the incoming-connection
    /// listener (bound by every shard with SO_REUSEPORT). Call once.
    pub fn start(self: &Rc<Self>, listener: Option<TcpListener>) {
        if self.started.replace(true) {
            return;
        }
        if let Some(wake) = self.timer_wake_rx.borrow_mut().take() {
            glommio::spawn_local(timer_task(Rc::clone(self), wake)).detach();
        }
        if let Some(listener) = listener {
            glommio::spawn_local(super::listener::accept_loop(Rc::clone(self), listener)).detach();
        }
        self.sync_targets(self.now_ms());
        self.flush();
    }

    /// Closes the link: a DPR (Disconnect-Cause REBOOTING) to every open peer, up to 2 s for the
    /// DPAs, then every connection is closed and every request still waiting fails with
    /// [`RequestError::NoPeer`]. Later requests fail at once.
    pub async fn shutdown(&self) {
        if self.stopping.replace(true) {
            return;
        }
        let now = self.now_ms();
        self.pool
            .borrow_mut()
            .close_all(DisconnectCause::Rebooting, now);
        self.flush();
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while Instant::now() < deadline && self.any_peer_in(PeerState::Closing) {
            glommio::timer::sleep(POLL).await;
        }
        for (_, conn) in self.conns.borrow_mut().drain() {
            conn.close();
        }
        for (_, waiter) in self.waiting.borrow_mut().drain() {
            let _ = waiter.send(Err(RequestError::NoPeer));
        }
        self.finished.set(true);
        let _ = self.timer_wake.try_send(());
        tracing::debug!(shard = self.shard, "Diameter link closed");
    }
}

/// The API of the HSS-mode handlers (src/api).
impl DiameterLink {
    /// Origin-Host (this shard's, see [`origin_host`]) and Origin-Realm of our requests.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Destination-Realm (`hss_realm`, else the home domain) and, when `hss_hostname` is
    /// configured, Destination-Host of our requests.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// A fresh Session-Id for a Cx request (RFC 6733 §8.8, under this shard's Origin-Host).
    pub fn next_session_id(&self) -> String {
        self.session_ids.borrow_mut().next_id()
    }

    /// Sends a request (built with identifiers 0: the peer sets them) on the next usable peer and
    /// waits for its answer. Never hangs: the outcome is the answer,
    /// [`RequestError::TimedOut`] after `diameter_timeout_ms` (failovers included), or
    /// [`RequestError::NoPeer`] when no peer is open at send time or none is left to fail over
    /// to (also when the link shuts down).
    pub async fn request(&self, request: MessageBuilder) -> Result<Message, RequestError> {
        if self.stopping.get() {
            self.count(|c| c.no_peer += 1);
            return Err(RequestError::NoPeer);
        }
        let now = self.now_ms();
        let sent = self.pool.borrow_mut().send_request(request, now);
        let id = match sent {
            Ok(id) => id,
            Err(error) => {
                if !matches!(error, SendError::NoPeer | SendError::NotOpen(_)) {
                    tracing::warn!(shard = self.shard, %error, "Diameter request not sent");
                }
                self.count(|c| c.no_peer += 1);
                return Err(RequestError::NoPeer);
            }
        };
        self.count(|c| c.requests += 1);
        let (tx, rx) = oneshot::channel();
        self.waiting.borrow_mut().insert(id, tx);
        self.flush();
        // A dropped sender means the link is gone: no peer will answer.
        rx.await.unwrap_or(Err(RequestError::NoPeer))
    }

    /// Sets the handler of requests from peers (PPR, RTR). Without one, Cx PPR and RTR are
    /// answered 5012 DIAMETER_UNABLE_TO_COMPLY and other requests 3001
    /// DIAMETER_COMMAND_UNSUPPORTED.
    /// (`handler` is a [`RequestHandler`]: `Rc<dyn Fn(Message) -> Pin<Box<dyn Future<Output =
    /// Option<Message>>>>>`.)
    pub fn set_request_handler(&self, handler: RequestHandler) {
        *self.handler.borrow_mut() = Some(handler);
    }

    /// Whether a Cx request could be sent now (some peer is open and supports Cx).
    pub fn is_usable(&self) -> bool {
        self.pool.borrow().is_usable(app::CX)
    }

    /// Per-peer state and the link's counters, for `/metrics`.
    pub fn metrics(&self) -> LinkMetrics {
        let pool = self.pool.borrow();
        let outgoing = self.outgoing.borrow();
        let conns = self.conns.borrow();
        let peers = pool
            .peers()
            .map(|(id, peer)| PeerMetrics {
                address: outgoing
                    .iter()
                    .find(|o| o.peer == id)
                    .map(|o| o.addr)
                    .or_else(|| conns.get(&id).and_then(|c| c.remote.get())),
                role: peer.role(),
                state: peer.state(),
                origin_host: peer.remote().map(|r| r.origin_host.clone()),
                pending: peer.pending_requests(),
                unmatched_answers: peer.stats().unmatched_answers,
                failed_over: peer.stats().failed_over,
            })
            .collect();
        LinkMetrics {
            shard: self.shard,
            origin_host: self.origin.host.clone(),
            usable: self.is_usable(),
            peers,
            counters: self.counters.get(),
        }
    }
}

impl DiameterLink {
    // --- used by the connection tasks -------------------------------------------------------

    pub(super) fn shard(&self) -> usize {
        self.shard
    }

    /// Whether shutdown has begun.
    pub(super) fn stopping(&self) -> bool {
        self.stopping.get()
    }

    pub(super) fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    pub(super) fn write_timeout(&self) -> Duration {
        self.write_timeout
    }

    /// An outgoing connection is up: the CER goes out.
    pub(super) fn connection_up(&self, peer: PeerId, conn: &Rc<Conn>, stream: &TcpStream) {
        conn.remote.set(stream.peer_addr().ok());
        self.count(|c| c.connections += 1);
        self.input(|pool, now| pool.connected(peer, now));
    }

    /// An outgoing connection attempt failed; the pool retries at the next watchdog expiry.
    pub(super) fn connection_failed(&self, peer: PeerId, conn: &Rc<Conn>) {
        self.forget_conn(peer, conn);
        self.count(|c| c.connect_failures += 1);
        self.input(|pool, now| pool.connection_failed(peer, now));
    }

    /// A connection ended without the pool asking (the remote end closed it or it broke).
    pub(super) fn connection_closed(&self, peer: PeerId, conn: &Rc<Conn>) {
        self.forget_conn(peer, conn);
        self.input(|pool, now| pool.connection_closed(peer, now));
    }

    pub(super) fn bytes_received(&self, peer: PeerId, data: &[u8]) {
        self.input(|pool, now| pool.bytes_received(peer, data, now));
    }

    // --- driving the pool -------------------------------------------------------------------

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn count(&self, update: impl FnOnce(&mut LinkCounters)) {
        let mut counters = self.counters.get();
        update(&mut counters);
        self.counters.set(counters);
    }

    fn any_peer_in(&self, state: PeerState) -> bool {
        self.pool.borrow().peers().any(|(_, p)| p.state() == state)
    }

    /// Feeds the pool one input, then carries out what it asks.
    fn input<E: std::fmt::Debug>(&self, input: impl FnOnce(&mut PeerPool, u64) -> Result<(), E>) {
        let now = self.now_ms();
        let outcome = input(&mut self.pool.borrow_mut(), now);
        if let Err(error) = outcome {
            // A peer removed meanwhile: nothing to do.
            tracing::debug!(shard = self.shard, ?error, "Diameter pool input refused");
        }
        self.flush();
    }

    fn forget_conn(&self, peer: PeerId, conn: &Rc<Conn>) {
        let mut conns = self.conns.borrow_mut();
        if conns.get(&peer).is_some_and(|c| Rc::ptr_eq(c, conn)) {
            conns.remove(&peer);
        }
    }

    /// Writes out what the pool has to send and handles its events, until it has nothing more;
    /// then makes sure the timer task wakes for the pool's next deadline.
    fn flush(&self) {
        loop {
            let transmit = self.pool.borrow_mut().poll_transmit();
            if let Some((peer, bytes)) = transmit {
                match self.conns.borrow().get(&peer) {
                    Some(conn) => conn.send(bytes),
                    None => {
                        tracing::debug!(shard = self.shard, %peer, "bytes for no connection dropped")
                    }
                }
                continue;
            }
            let event = self.pool.borrow_mut().poll_event();
            match event {
                Some(event) => self.on_event(event),
                None if self.targets_dirty.get() && !self.stopping.get() => {
                    self.sync_targets(self.now_ms());
                }
                None => break,
            }
        }
        // The timer task sleeps until `armed_at`; wake it when the pool now needs it earlier.
        // (`None`: it is running and will look at the pool before it sleeps again.)
        let next = self.pool.borrow().poll_timeout();
        if let (Some(next), Some(armed)) = (next, self.armed_at.get())
            && next < armed
        {
            let _ = self.timer_wake.try_send(());
        }
    }

    fn on_event(&self, event: PoolEvent) {
        match event {
            PoolEvent::Connect { peer } => self.open_connection(peer),
            PoolEvent::Disconnect { peer, reason } => {
                tracing::info!(shard = self.shard, %peer, %reason, "Diameter connection closed");
                if let Some(conn) = self.conns.borrow_mut().remove(&peer) {
                    conn.close();
                }
            }
            PoolEvent::StateChanged { peer, from, to } => {
                let addr = self.address_of(peer);
                tracing::info!(
                    shard = self.shard,
                    %peer,
                    addr = ?addr,
                    from = state_name(from),
                    to = state_name(to),
                    "Diameter peer state"
                );
                match to {
                    PeerState::Closed => self.remove_if_retiring(peer),
                    PeerState::Down => self.replace_failed(peer),
                    _ => {}
                }
            }
            PoolEvent::Answer { id, message, .. } => {
                self.count(|c| c.answers += 1);
                if let Some(waiter) = self.waiting.borrow_mut().remove(&id) {
                    let _ = waiter.send(Ok(message));
                }
            }
            PoolEvent::RequestFailed { id, error } => {
                self.count(|c| match error {
                    RequestError::TimedOut => c.timeouts += 1,
                    RequestError::NoPeer => c.no_peer += 1,
                });
                if let Some(waiter) = self.waiting.borrow_mut().remove(&id) {
                    let _ = waiter.send(Err(error));
                }
            }
            PoolEvent::Failover { id, from, to } => {
                self.count(|c| c.failovers += 1);
                tracing::debug!(shard = self.shard, %id, %from, %to, "Diameter request failed over");
            }
            PoolEvent::IncomingRequest {
                peer,
                token,
                message,
            } => {
                self.count(|c| c.incoming_requests += 1);
                if let Some(me) = self.me.upgrade() {
                    glommio::spawn_local(answer_incoming(me, peer, token, message)).detach();
                }
            }
        }
    }

    fn address_of(&self, peer: PeerId) -> Option<SocketAddr> {
        self.outgoing
            .borrow()
            .iter()
            .find(|o| o.peer == peer)
            .map(|o| o.addr)
            .or_else(|| self.conns.borrow().get(&peer).and_then(|c| c.remote.get()))
    }

    /// The pool wants a connection for an outgoing peer: a task opens it.
    fn open_connection(&self, peer: PeerId) {
        let addr = self.address_of(peer);
        let (Some(addr), Some(me)) = (addr, self.me.upgrade()) else {
            // Not one of ours (cannot happen) or the link is being dropped.
            let now = self.now_ms();
            let _ = self.pool.borrow_mut().connection_failed(peer, now);
            return;
        };
        if self.stopping.get() {
            let now = self.now_ms();
            let _ = self.pool.borrow_mut().connection_failed(peer, now);
            return;
        }
        let (conn, rx) = Conn::new(Some(addr));
        if let Some(old) = self.conns.borrow_mut().insert(peer, Rc::clone(&conn)) {
            old.close();
        }
        tracing::debug!(shard = self.shard, %peer, %addr, "connecting to Diameter peer");
        glommio::spawn_local(conn::connect(me, peer, addr, conn, rx)).detach();
    }

    /// An accepted connection from a peer (an HSS opening the connection): it becomes a responder
    /// peer of the pool, which waits for its CER.
    pub(super) fn accept_connection(&self, stream: TcpStream) {
        let Some(me) = self.me.upgrade() else {
            return;
        };
        let remote = stream.peer_addr().ok();
        let now = self.now_ms();
        let accepted = self.pool.borrow_mut().accept(now);
        let peer = match accepted {
            Ok(peer) => peer,
            Err(error) => {
                tracing::warn!(shard = self.shard, ?remote, %error, "incoming Diameter connection refused");
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        self.count(|c| c.connections += 1);
        let (conn, rx) = Conn::new(remote);
        self.conns.borrow_mut().insert(peer, Rc::clone(&conn));
        tracing::info!(shard = self.shard, %peer, ?remote, "incoming Diameter connection");
        glommio::spawn_local(conn::serve(me, peer, stream, conn, rx)).detach();
        self.flush();
    }

    /// Brings the outgoing peers in line with the published targets: peers whose address went
    /// away are closed (DPR) and removed; the others stay, and free places (up to `max_peers`)
    /// go to the first resolved addresses not yet used and not blacklisted.
    fn sync_targets(&self, now: u64) {
        self.targets_dirty.set(false);
        if self.stopping.get() {
            return;
        }
        let (generation, addrs) = self.targets.snapshot();
        self.seen_generation.set(generation);
        self.blacklist.borrow_mut().retain(|_, until| *until > now);
        let mut to_close = Vec::new();
        for outgoing in self.outgoing.borrow_mut().iter_mut() {
            if !outgoing.retiring && !addrs.contains(&outgoing.addr) {
                outgoing.retiring = true;
                to_close.push(outgoing.peer);
            }
        }
        for peer in to_close {
            tracing::info!(shard = self.shard, %peer, "Diameter peer no longer resolved: closing it");
            self.retire(peer, now);
        }
        for addr in self.candidates(&addrs) {
            if self.outgoing.borrow().len() >= self.max_peers {
                break;
            }
            let added = self.pool.borrow_mut().add_peer(now);
            match added {
                Ok(peer) => {
                    tracing::info!(shard = self.shard, %peer, %addr, "Diameter peer added");
                    self.outgoing.borrow_mut().push(Outgoing {
                        peer,
                        addr,
                        retiring: false,
                    });
                }
                Err(error) => {
                    tracing::warn!(shard = self.shard, %addr, %error, "Diameter peer not added");
                }
            }
        }
    }

    /// The resolved addresses, in order, that no peer uses and that are not blacklisted.
    fn candidates(&self, addrs: &[SocketAddr]) -> Vec<SocketAddr> {
        let outgoing = self.outgoing.borrow();
        let blacklist = self.blacklist.borrow();
        addrs
            .iter()
            .filter(|addr| !outgoing.iter().any(|o| o.addr == **addr && !o.retiring))
            .filter(|addr| !blacklist.contains_key(addr))
            .copied()
            .collect()
    }

    /// An outgoing peer's connection failed (DOWN). When another resolved address is free, the
    /// failed address is blacklisted and the peer retired so that address takes its place;
    /// otherwise the peer stays and reconnects at its watchdog expiry.
    fn replace_failed(&self, peer: PeerId) {
        if self.stopping.get() {
            return;
        }
        let Some(addr) = self
            .outgoing
            .borrow()
            .iter()
            .find(|o| o.peer == peer && !o.retiring)
            .map(|o| o.addr)
        else {
            return;
        };
        let now = self.now_ms();
        self.blacklist.borrow_mut().retain(|_, until| *until > now);
        let (_, addrs) = self.targets.snapshot();
        if self.candidates(&addrs).is_empty() {
            return;
        }
        tracing::warn!(shard = self.shard, %peer, %addr, "Diameter peer failed: blacklisted for 30 s, another address takes its place");
        self.blacklist
            .borrow_mut()
            .insert(addr, now + FAILED_PEER_BLACKLIST_MS);
        if let Some(o) = self
            .outgoing
            .borrow_mut()
            .iter_mut()
            .find(|o| o.peer == peer)
        {
            o.retiring = true;
        }
        self.retire(peer, now);
        self.targets_dirty.set(true);
    }

    /// Closes a peer marked retiring; it is removed from the pool once closed.
    fn retire(&self, peer: PeerId, now: u64) {
        let _ = self
            .pool
            .borrow_mut()
            .close(peer, DisconnectCause::DoNotWantToTalkToYou, now);
        let closed = self
            .pool
            .borrow()
            .peer(peer)
            .is_some_and(|p| p.state() == PeerState::Closed);
        if closed {
            self.remove_if_retiring(peer);
        }
    }

    fn remove_if_retiring(&self, peer: PeerId) {
        let retiring = self
            .outgoing
            .borrow()
            .iter()
            .any(|o| o.peer == peer && o.retiring);
        if retiring && self.pool.borrow_mut().remove_peer(peer).is_ok() {
            self.outgoing.borrow_mut().retain(|o| o.peer != peer);
            self.targets_dirty.set(true);
        }
    }
}

/// The pool's timers (watchdogs, request deadlines, handshakes) and new DNS results.
async fn timer_task(link: Rc<DiameterLink>, wake: LocalReceiver<()>) {
    while !link.finished.get() {
        let now = link.now_ms();
        let poll_limit = now.saturating_add(TARGETS_POLL.as_millis() as u64);
        let next = link.pool.borrow().poll_timeout();
        let until = next.map_or(poll_limit, |next| next.min(poll_limit));
        link.armed_at.set(Some(until));
        if until > now {
            futures_lite::future::or(
                async {
                    glommio::timer::sleep(Duration::from_millis(until - now)).await;
                },
                async {
                    let _ = wake.recv().await;
                },
            )
            .await;
        }
        link.armed_at.set(None);
        if link.finished.get() {
            break;
        }
        let now = link.now_ms();
        link.pool.borrow_mut().timeout(now);
        if link.targets.generation() != link.seen_generation.get() {
            link.sync_targets(now);
        }
        link.flush();
    }
}

/// Answers one request from a peer: the handler's answer, else the link's own refusal.
async fn answer_incoming(
    link: Rc<DiameterLink>,
    peer: PeerId,
    token: AnswerToken,
    request: Message,
) {
    let handler = link.handler.borrow().clone();
    let answer = match &handler {
        Some(handler) => handler(request.clone()).await,
        None => None,
    };
    let answer = match answer {
        Some(answer) => Some(answer),
        None => {
            link.count(|c| c.incoming_refused += 1);
            link.refusal(&request)
        }
    };
    let Some(answer) = answer else {
        return;
    };
    let sent = link.pool.borrow_mut().send_answer(peer, token, answer);
    match sent {
        Ok(()) => {}
        Err(SendError::HopByHopMismatch | SendError::NotAnAnswer) => {
            // The handler's answer cannot go out as it is: refuse instead, so that the peer is
            // not left waiting.
            tracing::warn!(shard = link.shard, %peer, "request handler gave an unusable answer");
            if let Some(refusal) = link.refusal(&request) {
                let _ = link.pool.borrow_mut().send_answer(peer, token, refusal);
            }
        }
        Err(error) => {
            tracing::debug!(shard = link.shard, %peer, %error, "answer not sent");
        }
    }
    link.flush();
}

impl DiameterLink {
    /// The link's own answer to a request it cannot serve: 5012 DIAMETER_UNABLE_TO_COMPLY for a
    /// Cx PPR or RTR (no handler, or the handler could not read it), 3001
    /// DIAMETER_COMMAND_UNSUPPORTED for any other request (an S-CSCF serves no others).
    fn refusal(&self, request: &Message) -> Option<Message> {
        let header = request.header();
        let notification = header.application_id == app::CX
            && matches!(
                header.command_code,
                cmd::PUSH_PROFILE | cmd::REGISTRATION_TERMINATION
            );
        let built = if notification {
            let session_id = request
                .avp(avp::SESSION_ID)
                .ok()
                .flatten()
                .and_then(|a| a.as_utf8().ok().map(str::to_owned));
            match (header.application_id, header.command_code, session_id) {
                (app::CX, cmd::REGISTRATION_TERMINATION, Some(session_id)) => cx::Rta {
                    session_id,
                    origin: self.origin.clone(),
                    result: CxResult::Base(result::UNABLE_TO_COMPLY),
                    associated_identities: Vec::new(),
                }
                .to_message(request)
                .map_err(|e| e.to_string()),
                (app::CX, cmd::PUSH_PROFILE, Some(session_id)) => cx::Ppa {
                    session_id,
                    origin: self.origin.clone(),
                    result: CxResult::Base(result::UNABLE_TO_COMPLY),
                }
                .to_message(request)
                .map_err(|e| e.to_string()),
                _ => self.error_answer(request, result::UNABLE_TO_COMPLY, "unable to comply"),
            }
        } else {
            self.error_answer(
                request,
                result::COMMAND_UNSUPPORTED,
                "command not supported by this node",
            )
        };
        match built {
            Ok(answer) => Some(answer),
            Err(error) => {
                tracing::warn!(shard = self.shard, %error, "cannot build the answer to a peer's request");
                None
            }
        }
    }

    fn error_answer(&self, request: &Message, code: u32, reason: &str) -> Result<Message, String> {
        error_answer(
            request,
            &Rejection::new(code, reason),
            &self.origin.host,
            &self.origin.realm,
        )
        .finish()
        .map_err(|e| e.to_string())
    }
}

/// The Host-IP-Address we advertise: the `[hss] diameter_addr` address when it names one, else
/// the local address the kernel would use towards the first static peer with an IP address
/// (found with an unconnected-then-connected UDP socket: no packet is sent), else the signalling
/// listener's address, else 127.0.0.1.
fn local_address(config: &Config) -> IpAddr {
    if let Some(addr) = config.hss.diameter_addr
        && !addr.ip().is_unspecified()
    {
        return addr.ip();
    }
    let first_peer = config
        .hss
        .peers
        .iter()
        .filter_map(|p| p.parse::<SocketAddr>().ok())
        .chain(
            config
                .hss_host()
                .and_then(|h| h.parse::<IpAddr>().ok())
                .map(|ip| SocketAddr::new(ip, config.hss_port)),
        )
        .next();
    if let Some(peer) = first_peer {
        let bind: SocketAddr = if peer.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        if let Ok(socket) = UdpSocket::bind(bind)
            && socket.connect(peer).is_ok()
            && let Ok(local) = socket.local_addr()
            && !local.ip().is_unspecified()
        {
            return local.ip();
        }
    }
    if !config.signalling_addr.ip().is_unspecified() {
        return config.signalling_addr.ip();
    }
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

impl Drop for DiameterLink {
    fn drop(&mut self) {
        // Callers still waiting learn there will be no answer (their receivers see the senders
        // dropped, which `request` maps to NoPeer).
        self.waiting.get_mut().clear();
        for (_, conn) in self.conns.get_mut().drain() {
            conn.close();
        }
    }
}
