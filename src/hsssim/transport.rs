//! Diameter over TCP for the simulator: plain `std::net` with two threads per connection.
//!
//! Why not the glommio engine: the simulator is a test and load peer, not the product. What it
//! must get right is protocol behaviour under injected faults (late answers, drops, DPR,
//! HSS-initiated requests) with many connections (Hearth opens one per shard per peer), and
//! threads make that simple and robust: a blocked or slow connection cannot stall another, and
//! no runtime is shared with the server's engine. Connections are few (tens) so two threads
//! each cost nothing that matters, and the HSS work per request (a Milenage vector, an XML
//! concatenation) is microseconds.
//!
//! Per connection, a reader thread turns socket reads into events, and a driver thread owns the
//! core's sans-IO [`Peer`] (responder: CER/CEA, DWR/DWA, DPR/DPA, watchdog) and waits on one
//! channel for those events, for requests the control API wants sent (PPR, RTR) and for
//! shutdown, with a timeout set to the next deadline: the peer's timers or the next delayed
//! answer. Injected latency puts answers in a queue ordered by due time, so answers are delayed
//! without being serialised: any number of requests can be in flight on one connection, and
//! they are answered as they fall due, not in arrival order. The HSS state changes when a
//! request is handled (on arrival), whatever its answer's delay.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hearth_core::diameter::dict::avp;
use hearth_core::diameter::peer::{
    AnswerToken, Application, DisconnectCause, Peer, PeerConfig, PeerEvent, RequestId,
};
use hearth_core::diameter::{Message, MessageBuilder};
use rand::RngExt;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::hss::{Command, Hss, injected_answer};
use super::inject::{Fate, Injection};
use super::stats::Stats;

/// Largest read from a socket at once.
const READ_CHUNK: usize = 64 * 1024;
/// How long a write may block before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How the simulator presents itself on every connection.
#[derive(Clone, Debug)]
pub struct PeerSettings {
    /// Origin-Host.
    pub origin_host: String,
    /// Origin-Realm.
    pub origin_realm: String,
    /// How long a PPR or RTR waits for its answer.
    pub request_timeout_ms: u64,
    /// The RFC 3539 watchdog interval Tw.
    pub watchdog_ms: u64,
    /// Origin-State-Id (the start time).
    pub origin_state_id: u32,
}

/// Something for a connection's driver to do.
pub enum Event {
    /// Bytes read from the socket.
    Bytes(Vec<u8>),
    /// The socket reached its end or failed.
    Closed,
    /// Send this request (PPR, RTR) and report its answer.
    Send {
        /// The request, identifiers unset.
        request: MessageBuilder,
        /// Where the answer (or why there is none) goes.
        reply: Sender<Result<Message, String>>,
    },
    /// The simulator is stopping: send DPR and close.
    Shutdown,
}

struct Connection {
    /// The peer's Origin-Host, once capabilities are exchanged.
    origin_host: Option<String>,
    events: Sender<Event>,
}

/// What every thread shares.
pub struct Shared {
    /// The HSS.
    pub hss: Mutex<Hss>,
    /// Fault injection settings.
    pub injection: RwLock<Injection>,
    /// Counters.
    pub stats: Stats,
    /// Identity and timers of our side.
    pub settings: PeerSettings,
    connections: Mutex<BTreeMap<u64, Connection>>,
    next_connection: Mutex<u64>,
    stopping: AtomicBool,
    clock: Instant,
}

impl Shared {
    /// State shared by the listeners, connections and control API.
    pub fn new(hss: Hss, injection: Injection, settings: PeerSettings) -> Self {
        Self {
            hss: Mutex::new(hss),
            injection: RwLock::new(injection),
            stats: Stats::default(),
            settings,
            connections: Mutex::new(BTreeMap::new()),
            next_connection: Mutex::new(0),
            stopping: AtomicBool::new(false),
            clock: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn connections(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Connection>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The HSS, locked.
    pub fn hss(&self) -> std::sync::MutexGuard<'_, Hss> {
        self.hss.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The injection settings now.
    pub fn injection(&self) -> Injection {
        self.injection
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the injection settings.
    pub fn set_injection(&self, injection: Injection) {
        *self.injection.write().unwrap_or_else(|e| e.into_inner()) = injection;
    }

    /// How many connections are open.
    pub fn open_connections(&self) -> usize {
        self.connections().len()
    }

    /// Sends a request on a connection whose peer is `host` and waits for its answer.
    pub fn request(&self, host: &str, request: MessageBuilder) -> Result<Message, String> {
        let events = self
            .connections()
            .values()
            .find(|c| {
                c.origin_host
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(host))
            })
            .map(|c| c.events.clone())
            .ok_or_else(|| format!("no connection from {host}"))?;
        let (reply, answer) = mpsc::channel();
        events
            .send(Event::Send { request, reply })
            .map_err(|_| format!("the connection from {host} has closed"))?;
        let wait = Duration::from_millis(self.settings.request_timeout_ms.saturating_add(2_000));
        answer
            .recv_timeout(wait)
            .map_err(|_| format!("no answer from {host}"))?
    }

    /// Asks every connection to send DPR and close; waits until they have or `within` passes.
    pub fn shut_down(&self, within: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        for connection in self.connections().values() {
            // A connection whose driver has gone no longer needs telling.
            let _ = connection.events.send(Event::Shutdown);
        }
        let deadline = Instant::now() + within;
        while self.open_connections() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Binds a listener; its accept loop runs on its own thread.
pub fn listen(shared: &Arc<Shared>, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let shared = Arc::clone(shared);
    thread::Builder::new()
        .name(format!("hss-sim-listen-{local}"))
        .spawn(move || {
            for stream in listener.incoming() {
                if shared.stopping.load(Ordering::SeqCst) {
                    break;
                }
                match stream {
                    Ok(stream) => {
                        let shared = Arc::clone(&shared);
                        let spawned = thread::Builder::new()
                            .name("hss-sim-conn".to_owned())
                            .spawn(move || serve_connection(&shared, stream));
                        if let Err(e) = spawned {
                            eprintln!("hss-sim: cannot start a connection thread: {e}");
                        }
                    }
                    Err(e) => eprintln!("hss-sim: accept failed: {e}"),
                }
            }
        })?;
    Ok(local)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Serves one accepted connection until it closes.
fn serve_connection(shared: &Arc<Shared>, stream: TcpStream) {
    let local_ip = match stream.local_addr().map(|a| a.ip()) {
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let settings = &shared.settings;
    let mut config = PeerConfig::new(
        settings.origin_host.clone(),
        settings.origin_realm.clone(),
        vec![local_ip],
    );
    config.product_name = "hearth-hss-sim".to_owned();
    config.applications = vec![Application::CX, Application::ZH];
    config.origin_state_id = settings.origin_state_id;
    config.request_timeout_ms = settings.request_timeout_ms.max(1);
    config.watchdog_interval_ms = settings.watchdog_ms;
    config.watchdog_jitter_ms = (settings.watchdog_ms / 4).min(2_000);
    // Requests held back by injected latency are outstanding (dropped ones are abandoned): room
    // for a second of delay at 65k requests/s on one connection; beyond, 3004 TOO_BUSY.
    config.max_incoming_requests = 1 << 16;
    config.seed = rand::rng().random();
    config.start_time_unix_s = unix_now();
    let now = shared.now_ms();
    let peer = match Peer::responder(Arc::new(config), now) {
        Ok(peer) => peer,
        Err(e) => {
            eprintln!("hss-sim: peer configuration refused: {e}");
            return;
        }
    };
    let (events, inbox) = mpsc::channel();
    let reader = match stream.try_clone() {
        Ok(reader) => reader,
        Err(e) => {
            eprintln!("hss-sim: cannot clone the socket: {e}");
            return;
        }
    };
    let id = {
        let mut next = shared
            .next_connection
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *next += 1;
        *next
    };
    shared.connections().insert(
        id,
        Connection {
            origin_host: None,
            events: events.clone(),
        },
    );
    shared.stats.connection_opened();
    if shared.stopping.load(Ordering::SeqCst) {
        let _ = events.send(Event::Shutdown);
    }
    let reader_thread = thread::Builder::new()
        .name("hss-sim-read".to_owned())
        .spawn(move || read_loop(reader, &events));
    // Writes that block longer than this mean the peer has stopped reading.
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let mut driver = Driver {
        shared: Arc::clone(shared),
        id,
        peer,
        socket: stream,
        delayed: BTreeMap::new(),
        next_delayed: 0,
        waiting: HashMap::new(),
        next_request: 0,
        rng: StdRng::from_rng(&mut rand::rng()),
        done: false,
    };
    driver.run(&inbox);
    let _ = driver.socket.shutdown(Shutdown::Both);
    shared.connections().remove(&id);
    shared.stats.connection_closed();
    if let Ok(handle) = reader_thread {
        let _ = handle.join();
    }
}

fn read_loop(mut socket: TcpStream, events: &Sender<Event>) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = events.send(Event::Closed);
                return;
            }
            Ok(n) => {
                let chunk = buf.get(..n).unwrap_or_default().to_vec();
                if events.send(Event::Bytes(chunk)).is_err() {
                    return;
                }
            }
        }
    }
}

struct Driver {
    shared: Arc<Shared>,
    id: u64,
    peer: Peer,
    socket: TcpStream,
    /// Answers held back by injected latency: (due time, sequence) → answer.
    delayed: BTreeMap<(u64, u64), (AnswerToken, Message)>,
    next_delayed: u64,
    /// Our requests (PPR, RTR) awaiting answers.
    waiting: HashMap<RequestId, Sender<Result<Message, String>>>,
    next_request: u64,
    rng: StdRng,
    done: bool,
}

impl Driver {
    fn run(&mut self, inbox: &Receiver<Event>) {
        while !self.done {
            let now = self.shared.now_ms();
            let deadline = [
                self.peer.poll_timeout(),
                self.delayed.keys().next().map(|&(due, _)| due),
            ]
            .into_iter()
            .flatten()
            .min();
            let event = match deadline {
                Some(at) => {
                    match inbox.recv_timeout(Duration::from_millis(at.saturating_sub(now))) {
                        Ok(event) => Some(event),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                None => match inbox.recv() {
                    Ok(event) => Some(event),
                    Err(_) => return,
                },
            };
            let now = self.shared.now_ms();
            match event {
                Some(Event::Bytes(bytes)) => self.peer.bytes_received(&bytes, now),
                Some(Event::Closed) => {
                    self.peer.connection_closed(now);
                    self.done = true;
                }
                Some(Event::Send { request, reply }) => {
                    let id = RequestId(self.next_request);
                    self.next_request += 1;
                    match self.peer.send_request(id, request, now) {
                        Ok(()) => {
                            self.waiting.insert(id, reply);
                        }
                        Err(e) => {
                            let _ = reply.send(Err(format!("cannot send: {e}")));
                        }
                    }
                }
                Some(Event::Shutdown) => {
                    self.peer.close(DisconnectCause::Rebooting, now);
                }
                None => {}
            }
            if self.peer.poll_timeout().is_some_and(|at| at <= now) {
                self.peer.timeout(now);
            }
            self.release_due(now);
            self.handle_events(now);
            self.flush();
        }
        for (_, reply) in self.waiting.drain() {
            let _ = reply.send(Err("the connection closed".to_owned()));
        }
    }

    /// Sends the delayed answers that are due.
    fn release_due(&mut self, now: u64) {
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (token, answer) = entry.remove();
            // The connection may have ended meanwhile; the answer then has nowhere to go.
            let _ = self.peer.send_answer(token, answer);
        }
    }

    fn handle_events(&mut self, now: u64) {
        while let Some(event) = self.peer.poll_event() {
            match event {
                PeerEvent::IncomingRequest { token, message } => {
                    self.on_request(token, &message, now);
                }
                PeerEvent::Answer { id, message } => {
                    if let Some(reply) = self.waiting.remove(&id) {
                        let _ = reply.send(Ok(message));
                    }
                }
                PeerEvent::RequestTimedOut { id } => {
                    if let Some(reply) = self.waiting.remove(&id) {
                        let _ = reply.send(Err(format!(
                            "no answer within {} ms",
                            self.shared.settings.request_timeout_ms
                        )));
                    }
                }
                PeerEvent::Failover { requests } => {
                    for request in requests {
                        if let Some(reply) = self.waiting.remove(&request.id) {
                            let _ = reply.send(Err("the connection failed".to_owned()));
                        }
                    }
                }
                PeerEvent::StateChanged { .. } => {
                    let host = self.peer.remote().map(|r| r.origin_host.clone());
                    if let Some(connection) = self.shared.connections().get_mut(&self.id) {
                        connection.origin_host = host;
                    }
                }
                PeerEvent::Disconnect { reason } => {
                    if !matches!(
                        reason,
                        hearth_core::diameter::peer::DisconnectReason::PeerRequested { .. }
                            | hearth_core::diameter::peer::DisconnectReason::Closed
                    ) {
                        eprintln!("hss-sim: closing a connection: {reason}");
                    }
                    self.done = true;
                }
                PeerEvent::Connect => {}
            }
        }
    }

    fn on_request(&mut self, token: AnswerToken, request: &Message, now: u64) {
        let shared = Arc::clone(&self.shared);
        let command = Command::of(request);
        shared.stats.request(command);
        let identities = request_identities(request);
        let names: Vec<&str> = identities.iter().map(String::as_str).collect();
        let fate = shared
            .injection
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .decide(command, &names, &mut self.rng);
        let (answer, delay_ms) = match fate {
            Fate::Drop => {
                shared.stats.dropped();
                // Lost on purpose: nothing will answer it, so it must not stay outstanding.
                self.peer.abandon(token);
                return;
            }
            Fate::Error { code, delay_ms } => {
                shared.stats.injected();
                let origin = shared.hss().origin().clone();
                (injected_answer(request, code, &origin), delay_ms)
            }
            Fate::Answer { delay_ms } => {
                let from = self
                    .peer
                    .remote()
                    .map(|r| r.origin_host.clone())
                    .unwrap_or_default();
                let handled = shared.hss().handle(request, &from, &mut self.rng);
                shared.stats.result(handled.result_code);
                (handled.answer, delay_ms)
            }
        };
        if delay_ms == 0 {
            let _ = self.peer.send_answer(token, answer);
        } else {
            shared.stats.delayed();
            // `now` is whole milliseconds rounded down: one more makes the delay at least the
            // one asked for.
            let due = now.saturating_add(delay_ms).saturating_add(1);
            self.delayed
                .insert((due, self.next_delayed), (token, answer));
            self.next_delayed += 1;
        }
    }

    /// Writes what the peer has queued; a failed write ends the connection.
    fn flush(&mut self) {
        while let Some(bytes) = self.peer.poll_transmit() {
            if self.socket.write_all(&bytes).is_err() {
                let now = self.shared.now_ms();
                self.peer.connection_closed(now);
                self.done = true;
                return;
            }
        }
    }
}

/// The User-Name and Public-Identity of a request, for the injection filters.
fn request_identities(request: &Message) -> Vec<String> {
    let Ok(avps) = request.avps() else {
        return Vec::new();
    };
    [avp::USER_NAME, avp::PUBLIC_IDENTITY]
        .into_iter()
        .filter_map(|key| avps.get(key))
        .filter_map(|a| a.as_utf8().ok().map(str::to_owned))
        .collect()
}
