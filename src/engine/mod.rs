//! The shard-per-core engine: one glommio executor per core, each pinned, each binding every listener
//! with SO_REUSEPORT, each owning a partition of the subscriber caches.
//!
//! A request accepted on shard A whose key (IMPI or IMPU) hashes to shard B is forwarded to B over a
//! cross-shard channel; B does the work against its cache partition and A writes the answer. Nothing
//! is shared between shards but channels and the store handle.

mod conn;
pub mod route;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_channel::oneshot;
use glommio::channels::channel_mesh::{MeshBuilder, Senders};
use glommio::channels::local_channel::LocalReceiver;
use glommio::net::TcpListener;
use glommio::{LocalExecutorPoolBuilder, PoolPlacement};
use hearth_core::http::{HttpDate, Request, Response};

use crate::api::ShardState;
use crate::config::Config;
use crate::store::{Affected, StoreHandle};

/// Which front door a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// Homestead signalling API (SIP cores).
    Signalling,
    /// Provisioning API (Homestead-prov).
    Provisioning,
    /// Ephemeral SIP credential service (`/credential`).
    Credential,
}

/// What a handler answers: a whole response, or a head followed by a stream of body chunks
/// (sent with chunked transfer encoding as they are produced).
pub enum Reply {
    /// A complete response.
    Full(Response),
    /// A response whose body is streamed; the head's own body is ignored.
    Chunked {
        /// Status and headers.
        head: Response,
        /// Body pieces, in order; the stream ends when the sender is dropped.
        chunks: LocalReceiver<Bytes>,
    },
}

impl From<Response> for Reply {
    fn from(r: Response) -> Self {
        Reply::Full(r)
    }
}

/// A request handed to its owning shard, with the way back.
pub struct Forwarded {
    listener: ListenerKind,
    request: Request,
    reply: oneshot::Sender<Response>,
}

/// What shards send each other.
pub enum ShardMessage {
    /// A request for the receiver, which owns its key.
    Request(Forwarded),
    /// Drop cached views of these identities (owned by the receiver); acknowledge when done.
    Invalidate {
        /// IMPIs whose authentication views changed.
        impis: Vec<String>,
        /// IMPUs whose registration views changed.
        impus: Vec<String>,
        /// Completed once the entries are gone.
        done: oneshot::Sender<()>,
    },
    /// Take one credential from the rate-limit bucket of this subject (owned by the receiver);
    /// answered with the milliseconds to wait when the bucket is empty.
    RateCheck {
        /// The subject.
        key: String,
        /// The verdict.
        reply: oneshot::Sender<Result<(), u64>>,
    },
    /// A snapshot of the receiver's Diameter link, for `/metrics` (none without an HSS).
    LinkMetrics {
        /// The snapshot.
        reply: oneshot::Sender<Option<crate::diameter::LinkMetrics>>,
    },
}

/// Everything one shard owns. Lives on its executor thread only (`Rc`), never shared.
pub struct Shard {
    /// This shard's index, 0..nr_shards.
    pub id: usize,
    /// Number of shards in the process.
    pub nr_shards: usize,
    /// The configuration, shared read-only.
    pub config: Arc<Config>,
    /// The store side, reached over channels.
    pub store: StoreHandle,
    /// Application state of this shard (cache partition and the like).
    pub state: ShardState,
    /// The ephemeral credential service, when configured (shared by every shard).
    pub credential: Option<Arc<crate::api::credential::Service>>,
    /// This shard's Diameter link to the HSS, in HSS mode (`config.hss_mode()`).
    pub diameter: Option<Rc<crate::diameter::DiameterLink>>,
    forward: Senders<ShardMessage>,
    date: RefCell<(u64, HttpDate)>,
    shutdown: Arc<AtomicBool>,
    open_connections: Cell<usize>,
}

impl Shard {
    /// The HTTP `Date` value for now, re-formatted at most once a second.
    fn http_date(&self) -> std::cell::Ref<'_, HttpDate> {
        let now = unix_now();
        {
            let mut d = self.date.borrow_mut();
            if d.0 != now {
                d.0 = now;
                d.1.set(now);
            }
        }
        std::cell::Ref::map(self.date.borrow(), |d| &d.1)
    }

    /// True once SIGTERM (or SIGINT) has been received.
    pub fn shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// Runs `request` on the shard that owns its key, or here if it has none or we own it.
    async fn dispatch(self: &Rc<Self>, listener: ListenerKind, request: Request) -> Reply {
        // With one shard every key is ours: skip decoding the key.
        let owner = if self.nr_shards > 1 {
            crate::api::routing_key(listener, &request)
                .map(|key| route::owner_shard(key.as_bytes(), self.nr_shards))
        } else {
            None
        };
        match owner {
            Some(owner) if owner != self.id => {
                let (tx, rx) = oneshot::channel();
                let msg = ShardMessage::Request(Forwarded {
                    listener,
                    request,
                    reply: tx,
                });
                if self.forward.send_to(owner, msg).await.is_err() {
                    return Response::text(503, "owning shard is not available").into();
                }
                match rx.await {
                    Ok(response) => Reply::Full(response),
                    Err(_) => Response::text(503, "owning shard dropped the request").into(),
                }
            }
            _ => crate::api::handle(self, listener, request).await,
        }
    }

    /// Takes one token from `key`'s rate-limit bucket, on the shard that owns `key` (so the limit
    /// holds across shards). `Err` carries the milliseconds until a token is back.
    pub async fn rate_check(self: &Rc<Self>, key: &str) -> Result<(), u64> {
        let owner = route::owner_shard(key.as_bytes(), self.nr_shards);
        if owner == self.id {
            return self.local_rate_check(key);
        }
        let (reply, verdict) = oneshot::channel();
        let msg = ShardMessage::RateCheck {
            key: key.to_owned(),
            reply,
        };
        // An owner that is gone (shutting down) cannot keep count: let the request through
        // rather than refuse a valid token.
        if self.forward.send_to(owner, msg).await.is_err() {
            return Ok(());
        }
        verdict.await.unwrap_or(Ok(()))
    }

    fn local_rate_check(&self, key: &str) -> Result<(), u64> {
        self.state
            .credential_rate
            .borrow_mut()
            .check(key, crate::api::credential::monotonic_ms())
    }

    /// Drops the cached views of every identity a store write changed, on the shards that own
    /// them, and returns once they all have: answers given after this reflect the write.
    pub async fn invalidate(self: &Rc<Self>, affected: &Affected) {
        if affected.is_empty() {
            return;
        }
        let mut per_shard: Vec<(Vec<String>, Vec<String>)> =
            vec![Default::default(); self.nr_shards];
        for impi in &affected.impis {
            per_shard[route::owner_shard(impi.as_bytes(), self.nr_shards)]
                .0
                .push(impi.clone());
        }
        for impu in &affected.impus {
            per_shard[route::owner_shard(impu.as_bytes(), self.nr_shards)]
                .1
                .push(impu.clone());
        }
        let mut acks = Vec::new();
        for (shard_id, (impis, impus)) in per_shard.into_iter().enumerate() {
            if impis.is_empty() && impus.is_empty() {
                continue;
            }
            if shard_id == self.id {
                self.drop_cached(&impis, &impus);
                continue;
            }
            let (done, ack) = oneshot::channel();
            let msg = ShardMessage::Invalidate { impis, impus, done };
            if self.forward.send_to(shard_id, msg).await.is_ok() {
                acks.push(ack);
            }
        }
        for ack in acks {
            // A shard that stopped has no cache left to be stale.
            let _ = ack.await;
        }
    }

    /// Every shard's Diameter link snapshot, in shard order (empty without an HSS).
    pub async fn link_metrics(self: &Rc<Self>) -> Vec<crate::diameter::LinkMetrics> {
        let mut snapshots = Vec::with_capacity(self.nr_shards);
        for shard_id in 0..self.nr_shards {
            if shard_id == self.id {
                snapshots.extend(self.diameter.as_ref().map(|l| l.metrics()));
                continue;
            }
            let (reply, snapshot) = oneshot::channel();
            let msg = ShardMessage::LinkMetrics { reply };
            // A shard that stopped has nothing to report.
            if self.forward.send_to(shard_id, msg).await.is_ok()
                && let Ok(Some(s)) = snapshot.await
            {
                snapshots.push(s);
            }
        }
        snapshots
    }

    fn drop_cached(&self, impis: &[String], impus: &[String]) {
        let mut auth = self.state.auth.borrow_mut();
        for impi in impis {
            auth.invalidate(impi);
        }
        let mut public = self.state.public.borrow_mut();
        for impu in impus {
            public.invalidate(impu);
        }
    }

    /// Handles a request forwarded to us as its owner. Streams are never forwarded, so a handler
    /// that answered with one is turned into an error rather than lost silently.
    async fn serve_forwarded(self: &Rc<Self>, msg: Forwarded) {
        let response = match crate::api::handle(self, msg.listener, msg.request).await {
            Reply::Full(r) => r,
            Reply::Chunked { .. } => Response::text(500, "streamed reply cannot be forwarded"),
        };
        // The requesting connection may have gone away; nothing to do then.
        let _ = msg.reply.send(response);
    }
}

/// Seconds since the UNIX epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Starts every shard and blocks until they have all stopped after SIGTERM/SIGINT.
pub fn run(
    config: Config,
    store: StoreHandle,
    credential: Option<Arc<crate::api::credential::Service>>,
) -> Result<(), String> {
    let nr_shards = config.shard_count();
    let config = Arc::new(config);
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown))
            .map_err(|e| format!("cannot install signal handler: {e}"))?;
    }

    // Fail early, with a clear message, when a listener address cannot be bound at all; each shard
    // then binds its own socket with SO_REUSEPORT.
    let credential_addr = credential
        .as_ref()
        .and_then(|_| config.credential.as_ref().map(|c| c.addr));
    for addr in [config.signalling_addr, config.provisioning_addr]
        .into_iter()
        .chain(credential_addr)
    {
        std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    }
    if config.hss_mode()
        && let Some(addr) = config.hss.diameter_addr
    {
        std::net::TcpListener::bind(addr)
            .map_err(|e| format!("cannot listen for Diameter on {addr}: {e}"))?;
    }
    // HSS peers are resolved on their own thread (`hearth-dns`); shards read what it publishes.
    let discovery = if config.hss_mode() {
        Some(crate::diameter::Discovery::start(&config)?)
    } else {
        None
    };
    let peer_targets = discovery.as_ref().map(|d| d.targets());
    // The JWKS file is watched from a plain thread: no shard ever blocks on file IO for it.
    let reloader = credential
        .as_ref()
        .and_then(|svc| svc.spawn_reloader(Arc::clone(&shutdown)));

    let mesh = MeshBuilder::full(nr_shards, 1024);
    let placement = placement(nr_shards);
    tracing::info!(
        shards = nr_shards,
        signalling = %config.signalling_addr,
        provisioning = %config.provisioning_addr,
        credential = ?credential_addr,
        "starting"
    );
    let cfg = Arc::clone(&config);
    let sd = Arc::clone(&shutdown);
    let busy = Arc::new(AtomicUsize::new(nr_shards));
    let handles = LocalExecutorPoolBuilder::new(placement)
        .name("hearth-shard")
        .on_all_shards(move || {
            shard_main(
                cfg,
                store,
                credential,
                peer_targets,
                mesh,
                sd,
                BusyShard(busy),
            )
        })
        .map_err(|e| format!("cannot start shards: {e}"))?;
    let mut failures = Vec::new();
    for result in handles.join_all() {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(format!("shard thread failed: {e}")),
        }
    }
    // Stops the DNS thread (it is not waited for).
    drop(discovery);
    // Shards set the flag when one fails; make sure the reloader sees it either way.
    shutdown.store(true, Ordering::Relaxed);
    if let Some(handle) = reloader {
        let _ = handle.join();
    }
    if failures.is_empty() {
        tracing::info!("all shards stopped");
        Ok(())
    } else {
        // Other shards keep no state worth waiting for once one failed: report them all.
        Err(failures.join("; "))
    }
}

/// Pins one shard per CPU among those this process may run on (so `taskset`, cgroups and systemd's
/// CPUAffinity= decide where shards go); more shards than CPUs run unpinned.
fn placement(nr_shards: usize) -> PoolPlacement {
    let allowed = allowed_cpus();
    let cpus = glommio::CpuSet::online()
        .map(|set| set.filter(|loc| allowed.as_ref().is_none_or(|a| a.contains(&loc.cpu))));
    match cpus {
        Ok(set) if set.len() >= nr_shards => PoolPlacement::MaxSpread(nr_shards, Some(set)),
        _ => {
            tracing::warn!(
                shards = nr_shards,
                "fewer usable CPUs than shards: shards run unpinned"
            );
            PoolPlacement::Unbound(nr_shards)
        }
    }
}

/// The CPUs in this process's affinity mask, or None if it cannot be read.
fn allowed_cpus() -> Option<Vec<usize>> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        Some(
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
                .collect(),
        )
    }
}

/// One count in the number of shards that may still have requests in flight; given back when the
/// shard's own connections are done, or when it stops for any other reason (dropped).
struct BusyShard(Arc<AtomicUsize>);

impl Drop for BusyShard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn shard_main(
    config: Arc<Config>,
    store: StoreHandle,
    credential: Option<Arc<crate::api::credential::Service>>,
    peer_targets: Option<Arc<crate::diameter::PeerTargets>>,
    mesh: MeshBuilder<ShardMessage, glommio::channels::channel_mesh::Full>,
    shutdown: Arc<AtomicBool>,
    busy: BusyShard,
) -> Result<(), String> {
    let (senders, mut receivers) = mesh
        .join()
        .await
        .map_err(|_| "cannot join the shard mesh".to_string())?;
    let id = senders.peer_id();
    let nr_shards = senders.nr_consumers();
    // A shard that cannot listen stops the whole process: half a server is worse than none.
    let bind = |addr| {
        TcpListener::bind(addr).map_err(|e| {
            shutdown.store(true, Ordering::Relaxed);
            format!("shard {id}: cannot listen on {addr}: {e}")
        })
    };
    let signalling = bind(config.signalling_addr)?;
    let provisioning = bind(config.provisioning_addr)?;
    let credential_listener = match (&credential, &config.credential) {
        (Some(_), Some(c)) => Some(bind(c.addr)?),
        _ => None,
    };

    // Other nodes' writes to a shared store are not announced to this node's caches: bound
    // how long a cached view may be served.
    let view_ttl = store
        .is_shared()
        .then(|| std::time::Duration::from_millis(config.cassandra.view_cache_ttl_ms));
    // HSS mode: this shard's own Diameter link (own Origin-Host, own connections), and its
    // incoming-connection listener when configured.
    let diameter = match peer_targets {
        Some(targets) => Some(
            crate::diameter::DiameterLink::new(&config, id, nr_shards, targets).map_err(|e| {
                shutdown.store(true, Ordering::Relaxed);
                format!("shard {id}: {e}")
            })?,
        ),
        None => None,
    };
    let diameter_listener = match (&diameter, config.hss.diameter_addr) {
        (Some(_), Some(addr)) => Some(crate::diameter::listener::bind(addr).map_err(|e| {
            shutdown.store(true, Ordering::Relaxed);
            format!("shard {id}: {e}")
        })?),
        _ => None,
    };

    let shard = Rc::new(Shard {
        id,
        nr_shards,
        state: ShardState::new(credential.as_ref().map(|svc| svc.rate_limiter()), view_ttl),
        credential,
        diameter,
        config,
        store,
        forward: senders,
        date: RefCell::new((0, HttpDate::new(0))),
        shutdown,
        open_connections: Cell::new(0),
    });
    // The HSS's requests (RTR, PPR) arriving on this shard's Diameter links.
    crate::api::install_hss_handlers(&shard);

    // Serve requests other shards forward to us.
    for (_, stream) in receivers.streams() {
        let shard = Rc::clone(&shard);
        glommio::spawn_local(async move {
            while let Some(msg) = stream.recv().await {
                match msg {
                    ShardMessage::Request(fwd) => {
                        let shard = Rc::clone(&shard);
                        glommio::spawn_local(async move { shard.serve_forwarded(fwd).await })
                            .detach();
                    }
                    ShardMessage::Invalidate { impis, impus, done } => {
                        shard.drop_cached(&impis, &impus);
                        let _ = done.send(());
                    }
                    ShardMessage::RateCheck { key, reply } => {
                        let _ = reply.send(shard.local_rate_check(&key));
                    }
                    ShardMessage::LinkMetrics { reply } => {
                        let _ = reply.send(shard.diameter.as_ref().map(|l| l.metrics()));
                    }
                }
            }
        })
        .detach();
    }

    if let Some(link) = &shard.diameter {
        link.start(diameter_listener);
    }

    let sig = glommio::spawn_local(accept_loop(
        Rc::clone(&shard),
        signalling,
        ListenerKind::Signalling,
    ));
    let prov = glommio::spawn_local(accept_loop(
        Rc::clone(&shard),
        provisioning,
        ListenerKind::Provisioning,
    ));
    let cred = credential_listener.map(|listener| {
        glommio::spawn_local(accept_loop(
            Rc::clone(&shard),
            listener,
            ListenerKind::Credential,
        ))
    });
    sig.await;
    prov.await;
    if let Some(cred) = cred {
        cred.await;
    }

    // Drain: let open connections finish the requests they have, up to the drain timeout.
    let deadline = Instant::now() + Duration::from_secs(shard.config.http.drain_timeout_secs);
    while shard.open_connections.get() > 0 && Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(20)).await;
    }
    // Requests still in flight on other shards may need this one (a key it owns, or its cache
    // to invalidate after a write): keep serving them until every shard is done, within the same
    // deadline. A shard that stopped early would leave them waiting on a channel nobody reads.
    let all_busy = Arc::clone(&busy.0);
    drop(busy);
    while all_busy.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(20)).await;
    }
    // Only now is the Diameter link closed (DPR to every peer, up to 2 s for the DPAs): the
    // requests drained above may have needed it.
    if let Some(link) = &shard.diameter {
        link.shutdown().await;
    }
    tracing::debug!(shard = shard.id, "stopped");
    Ok(())
}

async fn accept_loop(shard: Rc<Shard>, listener: TcpListener, kind: ListenerKind) {
    loop {
        let accepted = futures_lite::future::or(async { Some(listener.accept().await) }, async {
            while !shard.shutting_down() {
                glommio::timer::sleep(Duration::from_millis(50)).await;
            }
            None
        })
        .await;
        let stream = match accepted {
            None => return,
            Some(Ok(stream)) => stream,
            Some(Err(e)) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(shard = shard.id, error = %e, "accept failed");
                glommio::timer::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if shard.open_connections.get() >= shard.config.http.max_connections_per_shard {
            drop(stream);
            continue;
        }
        shard.open_connections.set(shard.open_connections.get() + 1);
        let shard = Rc::clone(&shard);
        glommio::spawn_local(async move {
            conn::serve(&shard, stream, kind).await;
            shard
                .open_connections
                .set(shard.open_connections.get().saturating_sub(1));
        })
        .detach();
    }
}
