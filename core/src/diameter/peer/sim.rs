//! Deterministic simulation of a [`PeerPool`] with two peers against two simulated HSSs over a
//! simulated network, with a virtual clock and a seeded generator (TigerBeetle style): every run
//! is reproducible from its seed, and invariants are checked after every step.
//!
//! The network keeps TCP's guarantees (bytes in order per direction) with random latency and
//! random splitting of writes into chunks. The HSSs answer with random processing delays (so
//! answers come back reordered), lose some requests, answer some twice, and go through episodes:
//! silent for a while (the peer that never answers), crashed (connections dropped and refused),
//! a dropped connection, a DPR, a PPR or a DWR of their own.
//!
//! Invariants, after every step:
//! - every request gets exactly one outcome (answer, timeout or no peer), failovers in between;
//!   none is lost: the requests without outcome are exactly those pending in the pool;
//! - an answer is the answer to its request (Session-Id and End-to-End Identifier) and comes
//!   before its deadline; a timeout comes at its deadline, not before;
//! - on each connection the first message is the CER, and Hop-by-Hop Identifiers never repeat;
//!   End-to-End Identifiers never repeat except on a retransmission ('T' bit) of the same
//!   request;
//! - application requests reach an HSS only after its CEA, and on a reopened connection only
//!   after three DWAs;
//! - state changes follow the edges of RFC 6733 §5.6 and RFC 3539, a connection that comes up
//!   after a failure goes through REOPEN, and REOPEN ends in OKAY only after three DWAs;
//! - an incoming PPR is answered exactly once, unless its connection ended first;
//! - time never stalls: the pool never asks to be woken at the same instant forever.
//!
//! At the end the HSSs behave again; after a quiet period both peers must be Open, nothing is
//! pending, and a last request must be answered.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::testkit::{Hss, mar, our_config, ppa, session_id};
use super::*;
use crate::diameter::dict::{app, cmd, disconnect_cause};
use crate::diameter::{Message, frame};

const TW: u64 = 6_000;
const JITTER: u64 = 2_000;
const HANDSHAKE: u64 = 3_000;
const SETTLE: u64 = 150_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Normal,
    /// Receives everything, answers nothing.
    Mute,
    /// Refuses connections.
    Crashed,
}

#[derive(Clone, Copy, Debug)]
enum Episode {
    Mute(u64),
    Crash(u64),
    Drop,
    Dpr,
    Ppr,
    Dwr,
}

#[derive(Debug)]
enum Action {
    ConnectDone { conn: u64, ok: bool },
    ToHss { conn: u64, bytes: Bytes },
    ToPeer { conn: u64, bytes: Bytes },
    HssReply { conn: u64, message: Message },
    HssClosed { conn: u64 },
    Episode { hss: usize, episode: Episode },
    Mode { hss: usize, mode: Mode },
    NewRequest,
}

struct Conn {
    peer: PeerId,
    hss: usize,
    up: bool,
    /// Closed on our side (or dropped): bytes to us are lost.
    closed: bool,
    /// Gone at the HSS: bytes to it are lost.
    gone_at_hss: bool,
    last_to_hss: u64,
    last_to_peer: u64,
    recv: BytesMut,
    got_cer: bool,
    cea_sent: bool,
    reopen: bool,
    dwa_sent: u32,
    hop_by_hops: BTreeSet<u32>,
    pprs: BTreeSet<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Answered,
    TimedOut,
    NoPeer,
}

struct Record {
    session: String,
    sent_at: u64,
    outcome: Option<Outcome>,
    failed_over: bool,
}

#[derive(Clone, Copy, Debug)]
struct Knobs {
    request_timeout: u64,
    loss: f64,
    duplicate: f64,
    max_processing: u64,
    request_gap: u64,
    work_ms: u64,
}

/// What the runs exercised, summed over seeds to show the simulation reaches every case.
#[derive(Clone, Copy, Default, Debug)]
struct Coverage {
    requests: u64,
    answered: u64,
    timed_out: u64,
    no_peer: u64,
    refused_at_send: u64,
    failovers: u64,
    answered_after_failover: u64,
    retransmissions_seen: u64,
    suspect: u64,
    down_after_open: u64,
    reopen: u64,
    reopened: u64,
    failback: u64,
    connects: u64,
    handshake_timeouts: u64,
    unmatched_answers: u64,
    duplicates_sent: u64,
    lost: u64,
    dpr_from_hss: u64,
    ppr_answered: u64,
    ppr_orphaned: u64,
    reordered_answers: u64,
    split_writes: u64,
}

impl Coverage {
    fn add(&mut self, other: &Self) {
        macro_rules! sum {
            ($($field:ident),*) => { $( self.$field += other.$field; )* };
        }
        sum!(
            requests,
            answered,
            timed_out,
            no_peer,
            refused_at_send,
            failovers,
            answered_after_failover,
            retransmissions_seen,
            suspect,
            down_after_open,
            reopen,
            reopened,
            failback,
            connects,
            handshake_timeouts,
            unmatched_answers,
            duplicates_sent,
            lost,
            dpr_from_hss,
            ppr_answered,
            ppr_orphaned,
            reordered_answers,
            split_writes
        );
    }
}

struct Sim {
    seed: u64,
    rng: StdRng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    actions: BTreeMap<u64, Action>,
    pool: PeerPool,
    hss: Vec<Hss>,
    modes: Vec<Mode>,
    hss_conn: Vec<Option<u64>>,
    peer_hss: BTreeMap<PeerId, usize>,
    peers: Vec<PeerId>,
    conns: BTreeMap<u64, Conn>,
    by_peer: BTreeMap<PeerId, u64>,
    next_conn: u64,
    states: BTreeMap<PeerId, PeerState>,
    /// RFC 3539: the peer failed after being up, so its next connection must go through REOPEN.
    reopen_due: BTreeMap<PeerId, bool>,
    requests: BTreeMap<RequestId, Record>,
    outstanding: usize,
    /// End-to-End Identifiers seen by the HSSs: the request's Session-Id, and whether its
    /// original (without 'T') has arrived.
    end_to_ends: BTreeMap<u32, (Option<String>, bool)>,
    session_end_to_end: BTreeMap<String, u32>,
    last_answered_sent_at: u64,
    next_session: u64,
    knobs: Knobs,
    working: bool,
    coverage: Coverage,
    transitions: Vec<(PeerId, PeerState, PeerState, u64)>,
}

impl Sim {
    fn new(seed: u64, knobs: Knobs) -> Self {
        let mut config = our_config(seed);
        config.watchdog_interval_ms = TW;
        config.watchdog_jitter_ms = JITTER;
        config.handshake_timeout_ms = HANDSHAKE;
        config.request_timeout_ms = knobs.request_timeout;
        let pool = PeerPool::new(PoolConfig::new(config)).expect("valid configuration");
        let mut sim = Self {
            seed,
            rng: StdRng::seed_from_u64(seed),
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            actions: BTreeMap::new(),
            pool,
            hss: vec![
                Hss::new("hss1.example.net", seed as u32),
                Hss::new("hss2.example.net", (seed as u32).wrapping_add(1)),
            ],
            modes: vec![Mode::Normal; 2],
            hss_conn: vec![None; 2],
            peer_hss: BTreeMap::new(),
            peers: Vec::new(),
            conns: BTreeMap::new(),
            by_peer: BTreeMap::new(),
            next_conn: 0,
            states: BTreeMap::new(),
            reopen_due: BTreeMap::new(),
            requests: BTreeMap::new(),
            outstanding: 0,
            end_to_ends: BTreeMap::new(),
            session_end_to_end: BTreeMap::new(),
            last_answered_sent_at: 0,
            next_session: 0,
            knobs,
            working: true,
            coverage: Coverage::default(),
            transitions: Vec::new(),
        };
        for hss in 0..2 {
            let peer = sim.pool.add_peer(0).expect("room for two peers");
            sim.peer_hss.insert(peer, hss);
            sim.peers.push(peer);
            sim.states.insert(peer, PeerState::Closed);
        }
        sim.at(1, Action::NewRequest);
        sim
    }

    fn fail(&self, what: &str) -> ! {
        panic!("seed {} at {} ms: {what}", self.seed, self.now)
    }

    fn at(&mut self, time: u64, action: Action) {
        self.seq += 1;
        self.queue.push(Reverse((time, self.seq)));
        self.actions.insert(self.seq, action);
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        self.rng.random_range(low..=high)
    }

    /// Random episodes for each HSS during the working period.
    fn schedule_chaos(&mut self) {
        for hss in 0..2 {
            let mut t = self.between(2_000, 20_000);
            loop {
                let episode = match self.between(0, 99) {
                    0..=14 => Episode::Mute(self.between(TW, 6 * TW)),
                    15..=29 => Episode::Crash(self.between(1_000, 5 * TW)),
                    30..=49 => Episode::Drop,
                    50..=59 => Episode::Dpr,
                    60..=84 => Episode::Ppr,
                    _ => Episode::Dwr,
                };
                let length = match episode {
                    Episode::Mute(d) | Episode::Crash(d) => d,
                    _ => 0,
                };
                if t + length >= self.knobs.work_ms {
                    break;
                }
                self.at(t, Action::Episode { hss, episode });
                t += length + self.between(1_000, 30_000);
            }
        }
    }

    /// Sends bytes on a connection towards the HSS, keeping TCP order, in random chunks.
    fn send_to_hss(&mut self, conn_id: u64, bytes: Bytes) {
        for chunk in self.chunks(bytes) {
            let latency = self.between(0, 20);
            let Some(conn) = self.conns.get_mut(&conn_id) else {
                return;
            };
            let t = (self.now + latency).max(conn.last_to_hss);
            conn.last_to_hss = t;
            self.at(
                t,
                Action::ToHss {
                    conn: conn_id,
                    bytes: chunk,
                },
            );
        }
    }

    fn send_to_peer(&mut self, conn_id: u64, bytes: Bytes) {
        for chunk in self.chunks(bytes) {
            let latency = self.between(0, 20);
            let Some(conn) = self.conns.get_mut(&conn_id) else {
                return;
            };
            let t = (self.now + latency).max(conn.last_to_peer);
            conn.last_to_peer = t;
            self.at(
                t,
                Action::ToPeer {
                    conn: conn_id,
                    bytes: chunk,
                },
            );
        }
    }

    fn chunks(&mut self, bytes: Bytes) -> Vec<Bytes> {
        if bytes.len() < 2 || self.rng.random_bool(0.7) {
            return vec![bytes];
        }
        self.coverage.split_writes += 1;
        let cut = self.between(1, bytes.len() as u64 - 1) as usize;
        vec![bytes.slice(..cut), bytes.slice(cut..)]
    }

    fn run_until(&mut self, end: u64) {
        let mut spins = 0u32;
        loop {
            self.flush();
            self.check();
            let next_action = self.queue.peek().map(|Reverse((t, _))| *t);
            let next_timer = self.pool.poll_timeout();
            let Some(t) = [next_action, next_timer].into_iter().flatten().min() else {
                break;
            };
            if t > end {
                break;
            }
            if t < self.now {
                self.fail(&format!("asked to wake at {t}, in the past"));
            }
            spins = if t == self.now { spins + 1 } else { 0 };
            if spins > 100_000 {
                self.fail("livelock: endless work at one instant");
            }
            self.now = t;
            let timer_due = next_timer.is_some_and(|x| x <= t);
            let action_due = next_action.is_some_and(|x| x <= t);
            if timer_due && (!action_due || self.rng.random_bool(0.5)) {
                self.pool.timeout(t);
            } else if let Some(Reverse((_, seq))) = self.queue.pop()
                && let Some(action) = self.actions.remove(&seq)
            {
                self.perform(action);
            }
        }
        self.now = self.now.max(end);
    }

    fn flush(&mut self) {
        loop {
            let mut progressed = false;
            while let Some((peer, bytes)) = self.pool.poll_transmit() {
                progressed = true;
                let Some(&conn) = self.by_peer.get(&peer) else {
                    self.fail(&format!("{peer} transmits without a connection"));
                };
                if !self.conns.get(&conn).is_some_and(|c| c.up && !c.closed) {
                    self.fail(&format!("{peer} transmits on a connection not up"));
                }
                self.send_to_hss(conn, bytes);
            }
            while let Some(event) = self.pool.poll_event() {
                progressed = true;
                self.on_event(event);
            }
            if !progressed {
                return;
            }
        }
    }

    fn check(&self) {
        if self.pool.pending_requests() != self.outstanding {
            self.fail(&format!(
                "{} requests pending in the pool, {} without outcome",
                self.pool.pending_requests(),
                self.outstanding
            ));
        }
        for (peer, state) in &self.states {
            if self.pool.peer(*peer).map(Peer::state) != Some(*state) {
                self.fail(&format!("{peer}: state change not reported"));
            }
        }
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::NewRequest => self.new_request(),
            Action::ConnectDone { conn, ok } => self.connect_done(conn, ok),
            Action::ToHss { conn, bytes } => self.at_hss(conn, &bytes),
            Action::ToPeer { conn, bytes } => {
                let Some(c) = self.conns.get(&conn) else {
                    return;
                };
                if c.closed || self.by_peer.get(&c.peer) != Some(&conn) {
                    return;
                }
                let peer = c.peer;
                self.pool
                    .bytes_received(peer, &bytes, self.now)
                    .expect("peer exists");
            }
            Action::HssReply { conn, message } => self.hss_reply(conn, message),
            Action::HssClosed { conn } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.gone_at_hss = true;
                    let hss = c.hss;
                    if self.hss_conn[hss] == Some(conn) {
                        self.hss_conn[hss] = None;
                    }
                }
            }
            Action::Mode { hss, mode } => self.modes[hss] = mode,
            Action::Episode { hss, episode } => self.episode(hss, episode),
        }
    }

    fn new_request(&mut self) {
        if !self.working {
            return;
        }
        let session = format!("hearth.example.org;{};{}", self.seed, self.next_session);
        self.next_session += 1;
        match self.pool.send_request(mar(&session), self.now) {
            Ok(id) => {
                self.coverage.requests += 1;
                self.outstanding += 1;
                let record = Record {
                    session,
                    sent_at: self.now,
                    outcome: None,
                    failed_over: false,
                };
                if self.requests.insert(id, record).is_some() {
                    self.fail(&format!("{id} handed out twice"));
                }
            }
            Err(SendError::NoPeer) => {
                self.coverage.refused_at_send += 1;
                if self.pool.is_usable(app::CX) {
                    self.fail("NoPeer while a peer is usable");
                }
            }
            Err(error) => self.fail(&format!("send_request: {error}")),
        }
        let gap = self.between(1, self.knobs.request_gap);
        self.at(self.now + gap, Action::NewRequest);
    }

    fn connect_done(&mut self, conn_id: u64, ok: bool) {
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return;
        };
        if conn.closed {
            return; // abandoned by a Disconnect
        }
        let (peer, hss) = (conn.peer, conn.hss);
        if ok {
            conn.up = true;
            if let Some(old) = self.hss_conn[hss].replace(conn_id)
                && let Some(previous) = self.conns.get_mut(&old)
            {
                previous.gone_at_hss = true;
            }
            self.pool.connected(peer, self.now).expect("peer exists");
        } else {
            conn.closed = true;
            conn.gone_at_hss = true;
            self.by_peer.remove(&peer);
            self.pool
                .connection_failed(peer, self.now)
                .expect("peer exists");
        }
    }

    fn drop_connection(&mut self, conn_id: u64) {
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return;
        };
        if conn.closed || !conn.up {
            return;
        }
        conn.closed = true;
        conn.gone_at_hss = true;
        let (peer, hss) = (conn.peer, conn.hss);
        if self.hss_conn[hss] == Some(conn_id) {
            self.hss_conn[hss] = None;
        }
        if self.by_peer.get(&peer) == Some(&conn_id) {
            self.by_peer.remove(&peer);
            self.pool
                .connection_closed(peer, self.now)
                .expect("peer exists");
        }
    }

    fn episode(&mut self, hss: usize, episode: Episode) {
        let current = self.hss_conn[hss].filter(|c| {
            self.conns
                .get(c)
                .is_some_and(|c| c.up && !c.gone_at_hss && c.cea_sent)
        });
        match episode {
            Episode::Mute(duration) => {
                self.modes[hss] = Mode::Mute;
                self.at(
                    self.now + duration,
                    Action::Mode {
                        hss,
                        mode: Mode::Normal,
                    },
                );
            }
            Episode::Crash(duration) => {
                self.modes[hss] = Mode::Crashed;
                if let Some(conn) = self.hss_conn[hss] {
                    self.drop_connection(conn);
                }
                self.at(
                    self.now + duration,
                    Action::Mode {
                        hss,
                        mode: Mode::Normal,
                    },
                );
            }
            Episode::Drop => {
                if let Some(conn) = current {
                    self.drop_connection(conn);
                }
            }
            Episode::Dpr if self.modes[hss] == Mode::Normal => {
                if let Some(conn) = current {
                    self.coverage.dpr_from_hss += 1;
                    let dpr = self.hss[hss].dpr(disconnect_cause::REBOOTING);
                    self.send_to_peer(conn, dpr.as_bytes().clone());
                }
            }
            Episode::Ppr if self.modes[hss] == Mode::Normal => {
                if let Some(conn) = current {
                    let ppr = self.hss[hss].ppr(app::CX);
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.pprs.insert(ppr.header().hop_by_hop);
                    }
                    self.send_to_peer(conn, ppr.as_bytes().clone());
                }
            }
            Episode::Dwr if self.modes[hss] == Mode::Normal => {
                if let Some(conn) = current {
                    let dwr = self.hss[hss].dwr();
                    self.send_to_peer(conn, dwr.as_bytes().clone());
                }
            }
            Episode::Dpr | Episode::Ppr | Episode::Dwr => {}
        }
    }

    fn at_hss(&mut self, conn_id: u64, bytes: &[u8]) {
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return;
        };
        if conn.gone_at_hss {
            return;
        }
        conn.recv.extend_from_slice(bytes);
        let mut messages = Vec::new();
        loop {
            match frame(&mut conn.recv, 1 << 20) {
                Ok(Some(message)) => messages.push(message),
                Ok(None) => break,
                Err(error) => self.fail(&format!("our bytes do not frame: {error}")),
            }
        }
        for message in messages {
            self.hss_handle(conn_id, message);
        }
    }

    fn hss_handle(&mut self, conn_id: u64, message: Message) {
        let header = *message.header();
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return;
        };
        let hss = conn.hss;
        let base = header.application_id == app::BASE;
        if !header.is_request() {
            match (header.application_id, header.command_code) {
                (app::CX, cmd::PUSH_PROFILE) => {
                    if !conn.pprs.remove(&header.hop_by_hop) {
                        self.fail("PPA for no outstanding PPR (answered twice?)");
                    }
                    self.coverage.ppr_answered += 1;
                }
                (app::BASE, cmd::DISCONNECT_PEER | cmd::DEVICE_WATCHDOG) => {}
                other => self.fail(&format!("unexpected answer {other:?}")),
            }
            return;
        }
        let is_cer = base && header.command_code == cmd::CAPABILITIES_EXCHANGE;
        if !conn.got_cer && !is_cer {
            self.fail("first message on a connection is not a CER");
        }
        if is_cer {
            if conn.got_cer {
                self.fail("second CER on a connection");
            }
            conn.got_cer = true;
        }
        if !conn.hop_by_hops.insert(header.hop_by_hop) {
            self.fail("Hop-by-Hop Identifier reused on a connection");
        }
        if !base {
            if !conn.cea_sent {
                self.fail("application request before the CEA");
            }
            if conn.reopen && conn.dwa_sent < 3 {
                self.fail("application request on a reopened connection before three DWAs");
            }
        }
        let session = if base { None } else { session_id(&message) };
        let original = !header.is_retransmitted();
        if !original {
            self.coverage.retransmissions_seen += 1;
        }
        // One End-to-End Identifier, one request; of its copies only the first send lacks the
        // 'T' bit (a resend may overtake the original still in flight on the failed connection).
        let reused = match self.end_to_ends.get_mut(&header.end_to_end) {
            Some((previous, original_seen)) => {
                let reused = base || *previous != session || (original && *original_seen);
                *original_seen |= original;
                reused.then(|| previous.clone())
            }
            None => {
                self.end_to_ends
                    .insert(header.end_to_end, (session.clone(), original));
                None
            }
        };
        if let Some(previous) = reused {
            self.fail(&format!(
                "End-to-End Identifier {:#x} reused: {previous:?} then {session:?} ({header:?})",
                header.end_to_end
            ));
        }
        if let Some(session) = &session {
            let e2e = *self
                .session_end_to_end
                .entry(session.clone())
                .or_insert(header.end_to_end);
            if e2e != header.end_to_end {
                self.fail("a request resent with another End-to-End Identifier");
            }
        }
        if self.modes[hss] != Mode::Normal {
            return;
        }
        let reply = match (header.application_id, header.command_code) {
            (app::BASE, cmd::CAPABILITIES_EXCHANGE) => self.hss[hss].cea(&message, 2001),
            (app::BASE, cmd::DEVICE_WATCHDOG) => self.hss[hss].dwa(&message),
            (app::BASE, cmd::DISCONNECT_PEER) => self.hss[hss].dpa(&message),
            (app::CX, cmd::MULTIMEDIA_AUTH) => {
                if self.rng.random_bool(self.knobs.loss) {
                    self.coverage.lost += 1;
                    return;
                }
                let maa = self.hss[hss].maa(&message);
                if self.rng.random_bool(self.knobs.duplicate) {
                    self.coverage.duplicates_sent += 1;
                    let later = self.between(1, 2 * self.knobs.max_processing);
                    self.at(
                        self.now + later,
                        Action::HssReply {
                            conn: conn_id,
                            message: maa.clone(),
                        },
                    );
                }
                let delay = self.between(1, self.knobs.max_processing);
                self.at(
                    self.now + delay,
                    Action::HssReply {
                        conn: conn_id,
                        message: maa,
                    },
                );
                return;
            }
            other => self.fail(&format!("unexpected request {other:?}")),
        };
        let delay = self.between(0, 3);
        self.at(
            self.now + delay,
            Action::HssReply {
                conn: conn_id,
                message: reply,
            },
        );
    }

    fn hss_reply(&mut self, conn_id: u64, message: Message) {
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return;
        };
        if conn.gone_at_hss || self.modes[conn.hss] != Mode::Normal {
            return;
        }
        let header = message.header();
        if header.application_id == app::BASE {
            match header.command_code {
                cmd::CAPABILITIES_EXCHANGE => conn.cea_sent = true,
                cmd::DEVICE_WATCHDOG => conn.dwa_sent += 1,
                _ => {}
            }
        }
        self.send_to_peer(conn_id, message.as_bytes().clone());
    }

    fn on_event(&mut self, event: PoolEvent) {
        match event {
            PoolEvent::Connect { peer } => {
                self.coverage.connects += 1;
                if self.states.get(&peer) != Some(&PeerState::Connecting) {
                    self.fail("Connect outside Connecting");
                }
                if self.by_peer.contains_key(&peer) {
                    self.fail("Connect while a connection exists");
                }
                let hss = self.peer_hss[&peer];
                let conn_id = self.next_conn;
                self.next_conn += 1;
                self.conns.insert(
                    conn_id,
                    Conn {
                        peer,
                        hss,
                        up: false,
                        closed: false,
                        gone_at_hss: false,
                        last_to_hss: 0,
                        last_to_peer: 0,
                        recv: BytesMut::new(),
                        got_cer: false,
                        cea_sent: false,
                        reopen: false,
                        dwa_sent: 0,
                        hop_by_hops: BTreeSet::new(),
                        pprs: BTreeSet::new(),
                    },
                );
                self.by_peer.insert(peer, conn_id);
                let ok = self.modes[hss] != Mode::Crashed;
                let delay = self.between(1, if ok { 30 } else { 5 });
                self.at(self.now + delay, Action::ConnectDone { conn: conn_id, ok });
            }
            PoolEvent::Disconnect { peer, reason } => {
                if reason == DisconnectReason::HandshakeTimeout {
                    self.coverage.handshake_timeouts += 1;
                }
                if let Some(conn_id) = self.by_peer.remove(&peer)
                    && let Some(conn) = self.conns.get_mut(&conn_id)
                {
                    conn.closed = true;
                    // FIN after the bytes already written.
                    let t = self.now.max(conn.last_to_hss) + 1;
                    self.at(t, Action::HssClosed { conn: conn_id });
                }
            }
            PoolEvent::StateChanged { peer, from, to } => self.on_transition(peer, from, to),
            PoolEvent::Answer { id, peer, message } => {
                let deadline_passed = self
                    .requests
                    .get(&id)
                    .is_some_and(|r| self.now > r.sent_at + self.knobs.request_timeout);
                let Some(record) = self.requests.get_mut(&id) else {
                    self.fail(&format!("answer to unknown {id}"));
                };
                if record.outcome.is_some() {
                    self.fail(&format!("second outcome for {id}"));
                }
                record.outcome = Some(Outcome::Answered);
                let (session, sent_at, moved) =
                    (record.session.clone(), record.sent_at, record.failed_over);
                self.outstanding -= 1;
                self.coverage.answered += 1;
                if moved {
                    self.coverage.answered_after_failover += 1;
                }
                if deadline_passed {
                    self.fail(&format!("{id} answered after its deadline"));
                }
                if session_id(&message).as_deref() != Some(session.as_str()) {
                    self.fail(&format!("{id} got the answer of another request"));
                }
                if self.session_end_to_end.get(&session) != Some(&message.header().end_to_end) {
                    self.fail(&format!("{id}: answer's End-to-End is not the request's"));
                }
                if self.pool.peer(peer).is_none() {
                    self.fail("answer from an unknown peer");
                }
                if sent_at < self.last_answered_sent_at {
                    self.coverage.reordered_answers += 1;
                }
                self.last_answered_sent_at = self.last_answered_sent_at.max(sent_at);
            }
            PoolEvent::RequestFailed { id, error } => {
                let timeout = self.knobs.request_timeout;
                let now = self.now;
                let Some(record) = self.requests.get_mut(&id) else {
                    self.fail(&format!("failure of unknown {id}"));
                };
                if record.outcome.is_some() {
                    self.fail(&format!("second outcome for {id}"));
                }
                let early = error == RequestError::TimedOut && now < record.sent_at + timeout;
                record.outcome = Some(match error {
                    RequestError::TimedOut => Outcome::TimedOut,
                    RequestError::NoPeer => Outcome::NoPeer,
                });
                self.outstanding -= 1;
                if early {
                    self.fail(&format!("{id} timed out before its deadline"));
                }
                match error {
                    RequestError::TimedOut => self.coverage.timed_out += 1,
                    RequestError::NoPeer => self.coverage.no_peer += 1,
                }
            }
            PoolEvent::Failover { id, from, to } => {
                self.coverage.failovers += 1;
                if from == to {
                    self.fail("failover to the same peer");
                }
                match self.requests.get_mut(&id) {
                    Some(record) if record.outcome.is_none() => record.failed_over = true,
                    _ => self.fail(&format!("failover of {id}, which has an outcome")),
                }
            }
            PoolEvent::IncomingRequest {
                peer,
                token,
                message,
            } => match self.pool.send_answer(peer, token, ppa(&message)) {
                Ok(()) => {}
                Err(SendError::ConnectionGone) => {
                    self.coverage.ppr_orphaned += 1;
                    let state = self.pool.peer(peer).map(Peer::state);
                    if state.is_some_and(PeerState::is_connected) {
                        self.fail("a live connection refused an answer");
                    }
                }
                Err(error) => self.fail(&format!("send_answer: {error}")),
            },
        }
    }

    fn on_transition(&mut self, peer: PeerId, from: PeerState, to: PeerState) {
        use PeerState::*;
        self.transitions.push((peer, from, to, self.now));
        if self.states.get(&peer) != Some(&from) {
            self.fail(&format!(
                "{peer}: change from {from:?} but it was {:?}",
                self.states.get(&peer)
            ));
        }
        let allowed = matches!(
            (from, to),
            (Closed, Connecting)
                | (Connecting, WaitCea | Down | Closed)
                | (WaitCea, Open | Reopen | Down | Closed)
                | (Open, Suspect | Closing | Down | Closed)
                | (Suspect, Open | Down | Closing | Closed)
                | (Reopen, Open | Down | Closing | Closed)
                | (Closing, Closed)
                | (Down, Connecting | Closed)
        );
        if !allowed {
            self.fail(&format!("{peer}: {from:?} -> {to:?} is not an edge"));
        }
        let due = self.reopen_due.get(&peer).copied().unwrap_or(false);
        match (from, to) {
            (WaitCea, Open) if due => self.fail("connection after a failure skipped REOPEN"),
            (WaitCea, Reopen) if !due => self.fail("REOPEN without an earlier failure"),
            (WaitCea, Reopen) => {
                self.coverage.reopen += 1;
                if let Some(conn) = self.by_peer.get(&peer).and_then(|c| self.conns.get_mut(c)) {
                    conn.reopen = true;
                }
            }
            (Reopen, Open) => {
                self.coverage.reopened += 1;
                let dwas = self
                    .by_peer
                    .get(&peer)
                    .and_then(|c| self.conns.get(c))
                    .map_or(0, |c| c.dwa_sent);
                if dwas < 3 {
                    self.fail("REOPEN ended before three DWAs");
                }
                self.reopen_due.insert(peer, false);
            }
            (Open, Suspect) => self.coverage.suspect += 1,
            (Suspect, Open) => self.coverage.failback += 1,
            (Open | Suspect | Reopen, Down) => {
                self.coverage.down_after_open += 1;
                self.reopen_due.insert(peer, true);
            }
            _ => {}
        }
        self.states.insert(peer, to);
    }

    /// The end of the working period: the HSSs behave, nothing is lost or duplicated any more,
    /// and after a quiet period everything must be settled.
    fn settle(&mut self) {
        self.working = false;
        for hss in 0..2 {
            self.modes[hss] = Mode::Normal;
        }
        self.knobs.loss = 0.0;
        self.knobs.duplicate = 0.0;
        self.knobs.max_processing = self.knobs.max_processing.min(20);
        let end = self.now + SETTLE;
        self.run_until(end);
        if let Some((id, _)) = self.requests.iter().find(|(_, r)| r.outcome.is_none()) {
            self.fail(&format!("{id} has no outcome"));
        }
        for peer in self.peers.clone() {
            if self.states[&peer] != PeerState::Open {
                self.fail(&format!(
                    "{peer} is {:?} after a quiet period",
                    self.states[&peer]
                ));
            }
        }
        if self.pool.pending_requests() != 0 {
            self.fail("requests still pending");
        }
        // A last request is answered.
        self.working = true;
        let session = format!("final;{}", self.seed);
        let id = self
            .pool
            .send_request(mar(&session), self.now)
            .unwrap_or_else(|e| self.fail(&format!("final request: {e}")));
        self.working = false;
        self.outstanding += 1;
        self.requests.insert(
            id,
            Record {
                session,
                sent_at: self.now,
                outcome: None,
                failed_over: false,
            },
        );
        let end = self.now + self.knobs.request_timeout;
        self.run_until(end);
        if self.requests[&id].outcome != Some(Outcome::Answered) {
            self.fail("final request not answered");
        }
        for peer in &self.peers {
            if let Some(p) = self.pool.peer(*peer) {
                self.coverage.unmatched_answers += p.stats().unmatched_answers;
            }
        }
    }
}

fn random_knobs(seed: u64) -> Knobs {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED_0FC0_FFEE);
    Knobs {
        request_timeout: [200, 1_000, 3_000, 20_000][rng.random_range(0..4)],
        loss: rng.random_range(0.0..0.05),
        duplicate: rng.random_range(0.0..0.08),
        max_processing: [20, 150, 400][rng.random_range(0..3)],
        request_gap: [200, 800][rng.random_range(0..2)],
        work_ms: 150_000,
    }
}

fn run_seed(seed: u64) -> Coverage {
    let mut sim = Sim::new(seed, random_knobs(seed));
    sim.schedule_chaos();
    let work = sim.knobs.work_ms;
    sim.run_until(work);
    sim.settle();
    sim.coverage
}

#[test]
fn simulation_many_seeds() {
    let seeds: u64 = std::env::var("HEARTH_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let first: u64 = std::env::var("HEARTH_SIM_FIRST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut total = Coverage::default();
    for seed in first..first + seeds {
        total.add(&run_seed(seed));
    }
    println!("coverage over {seeds} seeds: {total:#?}");
    if seeds >= 100 {
        // The runs must reach every case they are meant to test.
        let reached = [
            ("answered", total.answered),
            ("timed out", total.timed_out),
            ("no peer after failover", total.no_peer),
            ("refused at send", total.refused_at_send),
            ("failovers", total.failovers),
            ("answered after failover", total.answered_after_failover),
            ("retransmissions at the HSS", total.retransmissions_seen),
            ("suspect", total.suspect),
            ("failback", total.failback),
            ("down after open", total.down_after_open),
            ("reopen", total.reopen),
            ("reopened", total.reopened),
            ("handshake timeouts", total.handshake_timeouts),
            ("unmatched answers", total.unmatched_answers),
            ("duplicates sent", total.duplicates_sent),
            ("lost", total.lost),
            ("DPR from HSS", total.dpr_from_hss),
            ("PPR answered", total.ppr_answered),
            ("reordered answers", total.reordered_answers),
            ("split writes", total.split_writes),
        ];
        for (what, count) in reached {
            assert!(count > 0, "the simulation never reached: {what}");
        }
    }
}

#[test]
fn same_seed_same_run() {
    let a = run_seed(17);
    let b = run_seed(17);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

/// The peer that never answers: HSS 1 goes silent while requests are pending on it. The
/// watchdog takes its peer to SUSPECT (requests resent to HSS 2 with the 'T' bit and answered
/// there), then DOWN; reconnection attempts time out while it stays silent; when it speaks again
/// the connection goes through REOPEN and three DWAs back to OKAY.
#[test]
fn silent_hss_is_suspected_failed_over_and_reopened() {
    let knobs = Knobs {
        request_timeout: 60_000,
        loss: 0.0,
        duplicate: 0.0,
        max_processing: 10,
        request_gap: 300,
        work_ms: 120_000,
    };
    let mut sim = Sim::new(4242, knobs);
    sim.at(
        10_000,
        Action::Episode {
            hss: 0,
            episode: Episode::Mute(70_000),
        },
    );
    sim.run_until(knobs.work_ms);
    sim.settle();
    let silent = sim.peers[0];
    let path: Vec<(PeerState, PeerState)> = sim
        .transitions
        .iter()
        .filter(|(peer, _, _, at)| *peer == silent && *at >= 10_000)
        .map(|(_, from, to, _)| (*from, *to))
        .collect();
    let position = |edge: (PeerState, PeerState), after: usize| {
        path.iter()
            .skip(after)
            .position(|e| *e == edge)
            .map(|p| p + after)
            .unwrap_or_else(|| panic!("no {edge:?} after step {after} in {path:?}"))
    };
    use PeerState::*;
    let suspect = position((Open, Suspect), 0);
    let down = position((Suspect, Down), suspect);
    let reopen = position((WaitCea, Reopen), down);
    position((Reopen, Open), reopen);
    assert!(
        path[down..reopen].contains(&(WaitCea, Down)),
        "attempts failed while silent: {path:?}"
    );
    // Silent for 70 s with Tw about 6 s: several attempts timed out in between.
    assert!(sim.coverage.handshake_timeouts >= 3, "{:?}", sim.coverage);
    // Requests pending on the silent HSS moved to the other one and were answered there.
    assert!(sim.coverage.failovers > 0, "{:?}", sim.coverage);
    assert_eq!(
        sim.coverage.answered_after_failover, sim.coverage.failovers,
        "{:?}",
        sim.coverage
    );
    assert!(sim.coverage.retransmissions_seen > 0);
    assert_eq!(sim.coverage.timed_out, 0, "{:?}", sim.coverage);
}
