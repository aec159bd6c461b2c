//! The load engine: one glommio executor per thread, many keep-alive connections per thread, each
//! connection a task with its own schedule.
//!
//! Timing. `t0` is the common start (after every connection is open); the measured window starts at
//! `tm = t0 + warmup` and ends at `tend = tm + duration`. In open loop (`--rate R`), connection `g` of
//! `C` owns the global slots `g, g + C, g + 2C, ...` of a timeline with one slot every `1/R` s, so the
//! connections are evenly phase-shifted; a request is sent at its slot time, or at once when the
//! connection is behind (no slot is ever skipped), and its latency runs from the slot time, not from
//! the moment it could be sent (coordinated omission corrected, as wrk2 does). In closed loop the next
//! request goes as soon as a response frees a pipeline place, and latency runs from the actual send.
//! A request belongs to the measured window when its intended (open) or actual (closed) send time is
//! in `[tm, tend)`; the run then waits for the answers still in flight (up to `--timeout`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use futures_lite::{AsyncRead, AsyncWriteExt};
use glommio::net::TcpStream;
use glommio::timer::Timer;
use glommio::{LocalExecutorPoolBuilder, PoolPlacement};
use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::epoll::{EpollStream, Reactor, ReadOutcome};
use crate::http::{BodySpan, RequestWriter, Response, Target, dechunk, parse_response};
use crate::scenario::{Flow, FlowCtx, Outcome, Scenario};
use crate::stats::{Stats, new_histogram};

/// Everything a run needs.
pub struct Plan {
    /// What to send.
    pub scenario: Arc<dyn Scenario>,
    /// Where to send it.
    pub target: Target,
    /// Extra request headers, encoded (`Name: value\r\n` each).
    pub extra_headers: Vec<u8>,
    /// Executor threads.
    pub threads: usize,
    /// Connections in all (spread over the threads).
    pub connections: usize,
    /// Requests in flight per connection (pipelining depth).
    pub depth: usize,
    /// Requests per second in all (open loop or paced), or `None` for closed loop at full speed.
    pub rate: Option<f64>,
    /// With a rate: measure latency from the intended send time (open loop). Without: from the
    /// actual send time (paced closed loop, coordinated omission not corrected).
    pub corrected: bool,
    /// Warm-up before the measured window.
    pub warmup: Duration,
    /// Length of the measured window (`None`: until `requests` or the population is used up).
    pub duration: Option<Duration>,
    /// Measured requests to send in all.
    pub requests: Option<u64>,
    /// Per-request timeout (from its send).
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Interval of the interval log and the progress line.
    pub interval: Duration,
    /// Seed of the per-connection generators.
    pub seed: u64,
    /// Pin threads to CPUs.
    pub pin: bool,
    /// How long an idle executor polls for I/O before it sleeps (zero: sleep at once).
    pub spin: Duration,
    /// Socket back end.
    pub io: IoMode,
}

/// Socket back end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IoMode {
    /// One edge-triggered epoll set per thread, driven by a reactor task on the glommio executor.
    Epoll,
    /// glommio's own sockets and timers (io_uring one-shot polls).
    Uring,
}

impl Plan {
    fn open_loop(&self) -> bool {
        self.rate.is_some() && self.corrected
    }
}

/// The common timeline.
#[derive(Clone, Copy, Debug)]
struct Clock {
    t0: Instant,
    tm: Instant,
    tend: Option<Instant>,
}

/// Messages from the threads to the coordinating thread.
enum Msg {
    Ready,
    Interval {
        shard: usize,
        index: u64,
        hist: Histogram<u64>,
        progress: Progress,
    },
    Final {
        shard: usize,
        stats: Box<Stats>,
        finished: Instant,
    },
}

/// Cumulative counters of one thread (or of all, summed), measured window only.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Requests sent.
    pub sent: u64,
    /// Answers received.
    pub responses: u64,
    /// Errors of every kind.
    pub errors: u64,
    /// Flows ended (completed or failed).
    pub flows: u64,
}

impl Progress {
    fn add(&mut self, o: &Progress) {
        self.sent += o.sent;
        self.responses += o.responses;
        self.errors += o.errors;
        self.flows += o.flows;
    }
}

/// What the coordinating thread tells its observer.
pub trait Observer {
    /// The measured window has started at `tm` (`wall` is the same moment on the wall clock).
    fn started(&mut self, tm: Instant, wall: SystemTime);
    /// Periodically: cumulative counters of all threads.
    fn tick(&mut self, now: Instant, progress: &Progress);
    /// Interval `index` is complete (latency of the answers received in it, all threads merged).
    fn interval(&mut self, index: u64, start: Duration, length: Duration, hist: &Histogram<u64>);
}

/// The result of a run.
pub struct RunOutput {
    /// All threads' statistics merged.
    pub stats: Stats,
    /// Start of the measured window.
    pub tm: Instant,
    /// When the last thread finished.
    pub finished: Instant,
}

impl RunOutput {
    /// Measured time: from the start of the window to the last answer.
    pub fn elapsed(&self) -> Duration {
        self.finished.saturating_duration_since(self.tm)
    }
}

/// Runs `plan` on its threads; blocks until done.
pub fn run(plan: Plan, observer: &mut dyn Observer) -> Result<RunOutput, String> {
    let plan = Arc::new(plan);
    let threads = plan.threads.max(1);
    let (tx, rx) = channel::<Msg>();
    let go: Arc<(Mutex<Option<Instant>>, Condvar)> = Arc::new((Mutex::new(None), Condvar::new()));
    let counter = Arc::new(AtomicUsize::new(0));
    let budget = Arc::new(AtomicU64::new(plan.requests.unwrap_or(u64::MAX)));
    let placement = if plan.pin {
        PoolPlacement::MaxSpread(threads, None)
    } else {
        PoolPlacement::Unbound(threads)
    };
    let gen_plan = plan.clone();
    let gen_go = go.clone();
    let gen_tx = tx.clone();
    let mut builder = LocalExecutorPoolBuilder::new(placement).name("hearth-loadgen");
    if !plan.spin.is_zero() {
        builder = builder.spin_before_park(plan.spin);
    }
    let handles = builder
        .on_all_shards(move || async move {
            let shard = counter.fetch_add(1, Ordering::Relaxed);
            shard_main(gen_plan, shard, gen_tx, gen_go, budget).await;
        })
        .map_err(|e| format!("cannot start executors: {e}"))?;
    drop(tx);

    let result = coordinate(&plan, threads, &rx, &go, observer);
    // Let the threads go even if coordination failed before the start signal.
    {
        let mut g = go.0.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_none() {
            *g = Some(Instant::now());
        }
        go.1.notify_all();
    }
    for r in handles.join_all() {
        if let Err(e) = r {
            return Err(format!("executor failed: {e}"));
        }
    }
    result
}

fn coordinate(
    plan: &Plan,
    threads: usize,
    rx: &Receiver<Msg>,
    go: &(Mutex<Option<Instant>>, Condvar),
    observer: &mut dyn Observer,
) -> Result<RunOutput, String> {
    // Wait until every thread has opened its connections.
    let mut ready = 0;
    while ready < threads {
        match rx.recv() {
            Ok(Msg::Ready) => ready += 1,
            Ok(_) => {}
            Err(_) => return Err("a load thread exited before starting".into()),
        }
    }
    let t0 = Instant::now() + Duration::from_millis(5);
    let tm = t0 + plan.warmup;
    let wall_tm = SystemTime::now() + Duration::from_millis(5) + plan.warmup;
    {
        let mut g = go.0.lock().unwrap_or_else(|e| e.into_inner());
        *g = Some(t0);
        go.1.notify_all();
    }
    observer.started(tm, wall_tm);

    let mut latest = vec![Progress::default(); threads];
    let mut last_index: Vec<Option<u64>> = vec![None; threads];
    let mut finals: Vec<Option<Box<Stats>>> = (0..threads).map(|_| None).collect();
    let mut finished_at = tm;
    let mut pending: std::collections::BTreeMap<u64, Histogram<u64>> = Default::default();
    let mut next_write = 0u64;
    let mut last_tick = Instant::now();
    let tick_every = Duration::from_millis(200);

    let mut write_ready = |pending: &mut std::collections::BTreeMap<u64, Histogram<u64>>,
                           last_index: &[Option<u64>],
                           finals: &[Option<Box<Stats>>],
                           finished_at: Instant,
                           all: bool,
                           observer: &mut dyn Observer| {
        loop {
            let complete = all
                || (0..threads)
                    .all(|s| finals[s].is_some() || last_index[s].is_some_and(|i| i >= next_write));
            if !complete {
                break;
            }
            let Some(h) = pending.remove(&next_write) else {
                if all && pending.is_empty() {
                    break;
                }
                if !all {
                    break;
                }
                next_write += 1;
                continue;
            };
            let start = plan.interval * next_write as u32;
            let end = if all {
                (start + plan.interval).min(finished_at.saturating_duration_since(tm))
            } else {
                start + plan.interval
            };
            observer.interval(next_write, start, end.saturating_sub(start), &h);
            next_write += 1;
        }
    };

    while finals.iter().any(Option::is_none) {
        match rx.recv_timeout(tick_every) {
            Ok(Msg::Interval {
                shard,
                index,
                hist,
                progress,
            }) => {
                latest[shard] = progress;
                last_index[shard] = Some(index);
                match pending.entry(index) {
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(hist);
                    }
                    std::collections::btree_map::Entry::Occupied(mut o) => {
                        let _ = o.get_mut().add(&hist);
                    }
                }
                write_ready(
                    &mut pending,
                    &last_index,
                    &finals,
                    finished_at,
                    false,
                    observer,
                );
            }
            Ok(Msg::Final {
                shard,
                stats,
                finished,
            }) => {
                latest[shard] = Progress {
                    sent: stats.sent,
                    responses: stats.responses,
                    errors: stats.errors.total(),
                    flows: stats.flows_done + stats.flows_failed,
                };
                finished_at = finished_at.max(finished);
                finals[shard] = Some(stats);
            }
            Ok(Msg::Ready) => {}
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err("a load thread exited without its results".into());
            }
        }
        let now = Instant::now();
        if now.duration_since(last_tick) >= tick_every || finals.iter().all(Option::is_some) {
            last_tick = now;
            let mut sum = Progress::default();
            for p in &latest {
                sum.add(p);
            }
            observer.tick(now, &sum);
        }
    }
    write_ready(
        &mut pending,
        &last_index,
        &finals,
        finished_at,
        true,
        observer,
    );
    let mut stats = Stats::new(plan.open_loop());
    for s in finals.into_iter().flatten() {
        stats.merge(&s);
    }
    Ok(RunOutput {
        stats,
        tm,
        finished: finished_at,
    })
}

/// State shared by the tasks of one thread.
struct Shared {
    plan: Arc<Plan>,
    reactor: Option<Rc<Reactor>>,
    clock: Clock,
    budget: Arc<AtomicU64>,
    state: RefCell<ShardState>,
}

struct ShardState {
    stats: Stats,
    interval: Histogram<u64>,
    next_index: u64,
}

impl ShardState {
    fn progress(&self) -> Progress {
        Progress {
            sent: self.stats.sent,
            responses: self.stats.responses,
            errors: self.stats.errors.total(),
            flows: self.stats.flows_done + self.stats.flows_failed,
        }
    }

    fn flush(&mut self, shard: usize, tx: &Sender<Msg>) {
        let hist = std::mem::replace(&mut self.interval, new_histogram());
        let index = self.next_index;
        self.next_index += 1;
        let _ = tx.send(Msg::Interval {
            shard,
            index,
            hist,
            progress: self.progress(),
        });
    }
}

/// A connection of either back end.
enum Sock {
    Uring(TcpStream),
    Epoll(EpollStream),
}

impl Sock {
    async fn read_until(&mut self, buf: &mut [u8], until: Instant) -> ReadOutcome {
        match self {
            Sock::Uring(s) => uring_read_until(s, buf, until).await,
            Sock::Epoll(s) => s.read_until(buf, until).await,
        }
    }

    async fn write_all(&mut self, buf: &[u8], deadline: Instant) -> io::Result<()> {
        match self {
            Sock::Uring(s) => s.write_all(buf).await,
            Sock::Epoll(s) => s.write_all(buf, deadline).await,
        }
    }
}

async fn connect(plan: &Plan, reactor: Option<&Rc<Reactor>>) -> io::Result<Sock> {
    if let Some(r) = reactor {
        return EpollStream::connect(r, plan.target.addr, plan.connect_timeout)
            .await
            .map(Sock::Epoll);
    }
    let stream = TcpStream::connect_timeout(plan.target.addr, plan.connect_timeout)
        .await
        .map_err(io::Error::from)?;
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(plan.timeout));
    Ok(Sock::Uring(stream))
}

/// Sleeps until `when`, on the reactor's timer slot `slot` or on a glommio timer.
async fn sleep_until(reactor: Option<&Rc<Reactor>>, slot: usize, when: Instant) {
    match reactor {
        Some(r) => r.sleep_until(slot, when).await,
        None => {
            let now = Instant::now();
            if when > now {
                Timer::new(when - now).await;
            }
        }
    }
}

async fn shard_main(
    plan: Arc<Plan>,
    shard: usize,
    tx: Sender<Msg>,
    go: Arc<(Mutex<Option<Instant>>, Condvar)>,
    budget: Arc<AtomicU64>,
) {
    let threads = plan.threads.max(1);
    let conns: Vec<usize> = (shard..plan.connections).step_by(threads).collect();
    let reactor = match plan.io {
        IoMode::Epoll => match Reactor::new() {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("hearth-loadgen: cannot create an epoll reactor: {e}");
                return;
            }
        },
        IoMode::Uring => None,
    };
    let reactor_task = reactor.clone().map(|r| glommio::spawn_local(r.run()));
    // Open the connections concurrently before the start.
    let mut tasks = Vec::with_capacity(conns.len());
    for _ in &conns {
        let p = plan.clone();
        let r = reactor.clone();
        tasks.push(glommio::spawn_local(async move {
            connect(&p, r.as_ref()).await
        }));
    }
    let mut streams = Vec::with_capacity(conns.len());
    let mut initial_failures = 0;
    for t in tasks {
        let s = t.await;
        if s.is_err() {
            initial_failures += 1;
        }
        streams.push(s.ok());
    }
    if tx.send(Msg::Ready).is_err() {
        return;
    }
    // Wait for the common start (blocking this thread is fine: nothing else runs yet).
    let t0 = {
        let mut g = go.0.lock().unwrap_or_else(|e| e.into_inner());
        while g.is_none() {
            g = go.1.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        g.unwrap_or_else(Instant::now)
    };
    let tm = t0 + plan.warmup;
    let clock = Clock {
        t0,
        tm,
        tend: plan.duration.map(|d| tm + d),
    };
    let mut stats = Stats::new(plan.open_loop());
    stats.errors.connect += initial_failures;
    let shared = Rc::new(Shared {
        plan: plan.clone(),
        reactor: reactor.clone(),
        clock,
        budget,
        state: RefCell::new(ShardState {
            stats,
            interval: new_histogram(),
            next_index: 0,
        }),
    });

    // Interval flusher.
    let done = Rc::new(std::cell::Cell::new(false));
    {
        let shared = shared.clone();
        let done = done.clone();
        let tx = tx.clone();
        let slot = reactor.as_ref().map_or(0, |r| r.slot());
        glommio::spawn_local(async move {
            loop {
                let index = shared.state.borrow().next_index;
                let at = tm + shared.plan.interval * (index as u32 + 1);
                sleep_until(shared.reactor.as_ref(), slot, at).await;
                if done.get() {
                    break;
                }
                shared.state.borrow_mut().flush(shard, &tx);
            }
        })
        .detach();
    }

    // Nothing is sent before the common start.
    let start_slot = reactor.as_ref().map_or(0, |r| r.slot());
    sleep_until(reactor.as_ref(), start_slot, t0).await;
    let mut handles = Vec::with_capacity(conns.len());
    for (g, stream) in conns.into_iter().zip(streams) {
        let conn = Conn::new(shared.clone(), g, stream);
        handles.push(glommio::spawn_local(conn.run()));
    }
    for h in handles {
        h.await;
    }
    let finished = Instant::now();
    done.set(true);
    let final_stats = {
        let mut st = shared.state.borrow_mut();
        st.flush(shard, &tx);
        Box::new(st.stats.clone())
    };
    let _ = tx.send(Msg::Final {
        shard,
        stats: final_stats,
        finished,
    });
    if let (Some(r), Some(t)) = (reactor, reactor_task) {
        r.stop();
        t.await;
    }
}

/// One request sent (or about to be) and not yet answered.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    lane: usize,
    intended: Instant,
    sent: Instant,
    measured: bool,
    head: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorKind {
    Timeout,
    Io,
    Parse,
}

/// Reads what is available, giving up at `until`. The timer is only created when the read has to
/// wait, so an answer already there costs no timer.
async fn uring_read_until(stream: &mut TcpStream, buf: &mut [u8], until: Instant) -> ReadOutcome {
    let mut timer: Option<Timer> = None;
    futures_lite::future::poll_fn(|cx| {
        match Pin::new(&mut *stream).poll_read(cx, buf) {
            Poll::Ready(Ok(0)) => return Poll::Ready(ReadOutcome::Eof),
            Poll::Ready(Ok(n)) => return Poll::Ready(ReadOutcome::Data(n)),
            Poll::Ready(Err(_)) => return Poll::Ready(ReadOutcome::Error),
            Poll::Pending => {}
        }
        let t = timer
            .get_or_insert_with(|| Timer::new(until.saturating_duration_since(Instant::now())));
        match Pin::new(t).poll(cx) {
            Poll::Ready(_) => Poll::Ready(ReadOutcome::Elapsed),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Largest answer accepted (the read buffer grows up to this).
const MAX_RESPONSE: usize = 64 << 20;

/// One connection: its socket, buffers, lanes (one flow per pipeline place) and schedule.
struct Conn {
    shared: Rc<Shared>,
    /// Global connection number.
    g: usize,
    /// The reactor slot of this connection's timers (epoll back end).
    timer: usize,
    stream: Option<Sock>,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    chunk: Vec<u8>,
    wbuf: Vec<u8>,
    unsent: usize,
    lanes: Lanes,
    slot: u64,
    stopping: bool,
}

/// Records a value, growing the histogram as needed (`saturating_record` would clamp at the
/// current size of an auto-resizing histogram).
fn record(h: &mut Histogram<u64>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// The flows of a connection.
struct Lanes {
    flows: Vec<Flow>,
    ready: VecDeque<usize>,
    inflight: VecDeque<InFlight>,
    ctx: FlowCtx,
}

impl Lanes {
    /// Starts a new flow on `lane` (or leaves it idle when the scenario has nothing left).
    fn restart(&mut self, scenario: &dyn Scenario, lane: usize) {
        let flow = &mut self.flows[lane];
        flow.reset();
        if scenario.start(flow, &mut self.ctx) {
            self.ready.push_back(lane);
        }
    }

    /// Handles one complete answer.
    fn complete(&mut self, shared: &Shared, f: InFlight, resp: &Response<'_>, completed: Instant) {
        let scenario = &*shared.plan.scenario;
        let mut st = shared.state.borrow_mut();
        if f.measured {
            let from = if shared.plan.corrected {
                f.intended
            } else {
                f.sent
            };
            let us = completed.saturating_duration_since(from).as_micros() as u64;

            record(&mut st.stats.latency, us);
            record(&mut st.interval, us);
            if let Some(u) = st.stats.uncorrected.as_mut() {
                record(
                    u,
                    completed.saturating_duration_since(f.sent).as_micros() as u64,
                );
            }
            st.stats.responses += 1;
            st.stats.count_status(resp.status);
        }
        let flow = &mut self.flows[f.lane];
        let outcome = if scenario.accepts(flow, resp.status) {
            scenario.on_response(flow, resp, &mut self.ctx)
        } else {
            if f.measured {
                *st.stats.errors.status.entry(resp.status).or_default() += 1;
            }
            Outcome::Fail("")
        };
        match outcome {
            Outcome::Next => {
                self.ready.push_back(f.lane);
                return;
            }
            Outcome::Done => {
                if f.measured {
                    st.stats.flows_done += 1;
                }
            }
            Outcome::Fail(reason) => {
                if f.measured {
                    st.stats.flows_failed += 1;
                    if !reason.is_empty() {
                        *st.stats.errors.check.entry(reason).or_default() += 1;
                    }
                }
            }
        }
        drop(st);
        self.restart(scenario, f.lane);
    }
}

impl Conn {
    fn new(shared: Rc<Shared>, g: usize, stream: Option<Sock>) -> Conn {
        let plan = &shared.plan;
        let depth = plan.depth.max(1);
        let mut lanes = Lanes {
            flows: vec![Flow::default(); depth],
            ready: VecDeque::with_capacity(depth),
            inflight: VecDeque::with_capacity(depth),
            ctx: FlowCtx {
                rng: SmallRng::seed_from_u64(
                    plan.seed ^ (g as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                ),
                registered: VecDeque::new(),
            },
        };
        for lane in 0..depth {
            lanes.restart(&*plan.scenario, lane);
        }
        let timer = shared.reactor.as_ref().map_or(0, |r| r.slot());
        Conn {
            shared,
            g,
            timer,
            stream,
            rbuf: vec![0; 16 << 10],
            rstart: 0,
            rend: 0,
            chunk: Vec::new(),
            wbuf: Vec::with_capacity(4096),
            unsent: 0,
            lanes,
            slot: 0,
            stopping: false,
        }
    }

    /// Intended send time of this connection's slot `k` (open loop / paced).
    fn slot_time(&self, k: u64, rate: f64) -> Instant {
        let c = self.shared.plan.connections.max(1) as f64;
        let secs = (self.g as f64 + k as f64 * c) / rate;
        self.shared.clock.t0 + Duration::from_secs_f64(secs)
    }

    /// Counts the in-flight requests as errors of `kind`, aborts their flows and drops the socket.
    fn fail_all(&mut self, kind: ErrorKind) {
        let shared = self.shared.clone();
        let scenario = &*shared.plan.scenario;
        {
            let mut st = shared.state.borrow_mut();
            for f in &self.lanes.inflight {
                if f.measured {
                    match kind {
                        ErrorKind::Timeout => st.stats.errors.timeout += 1,
                        ErrorKind::Io => st.stats.errors.io += 1,
                        ErrorKind::Parse => st.stats.errors.parse += 1,
                    }
                    st.stats.flows_failed += 1;
                }
            }
        }
        let lanes: Vec<usize> = self.lanes.inflight.drain(..).map(|f| f.lane).collect();
        for lane in lanes {
            self.lanes.restart(scenario, lane);
        }
        self.close();
    }

    fn close(&mut self) {
        self.stream = None;
        self.rstart = 0;
        self.rend = 0;
        self.wbuf.clear();
        self.unsent = 0;
    }

    fn budget_claim(&self) -> bool {
        if self.shared.plan.requests.is_none() {
            return true;
        }
        self.shared
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
            .is_ok()
    }

    /// Whether the connection has nothing more to do. (The end of the window is decided by
    /// `fill` from the slot times, so that a connection running behind still sends every slot of
    /// the window; a connection that cannot reconnect gives up `timeout` after the window.)
    fn finished(&self) -> bool {
        let plan = &self.shared.plan;
        self.lanes.inflight.is_empty()
            && (self.stopping
                || self.lanes.ready.is_empty()
                || (plan.requests.is_some() && self.shared.budget.load(Ordering::Relaxed) == 0)
                || (self.stream.is_none()
                    && self
                        .shared
                        .clock
                        .tend
                        .is_some_and(|t| Instant::now() >= t + plan.timeout)))
    }

    /// Queues requests into the write buffer while the pipeline has room and their time has come.
    /// Returns the next slot time when the connection must wake up to send (open loop, pipeline
    /// not full).
    async fn fill(&mut self) -> Option<Instant> {
        let shared = self.shared.clone();
        let plan = &*shared.plan;
        let clock = shared.clock;
        let depth = plan.depth.max(1);
        while self.lanes.inflight.len() < depth && !self.stopping {
            let &lane = self.lanes.ready.front()?;
            let now = Instant::now();
            let intended = match plan.rate {
                Some(r) => self.slot_time(self.slot, r),
                None => now,
            };
            if clock.tend.is_some_and(|t| intended >= t) {
                self.stopping = true;
                break;
            }
            if intended > now {
                if self.lanes.inflight.is_empty() && self.wbuf.is_empty() {
                    sleep_until(shared.reactor.as_ref(), self.timer, intended).await;
                    continue;
                }
                return Some(intended);
            }
            let measured = intended >= clock.tm;
            if measured && !self.budget_claim() {
                self.stopping = true;
                break;
            }
            self.lanes.ready.pop_front();
            let mut w = RequestWriter::new(
                &mut self.wbuf,
                &plan.target.host,
                &plan.target.prefix,
                &plan.extra_headers,
            );
            plan.scenario.write_request(&self.lanes.flows[lane], &mut w);
            let head = w.is_head();
            self.lanes.inflight.push_back(InFlight {
                lane,
                intended,
                sent: now,
                measured,
                head,
            });
            self.unsent += 1;
            if measured {
                shared.state.borrow_mut().stats.sent += 1;
            }
            if plan.rate.is_some() {
                self.slot += 1;
            }
        }
        None
    }

    /// Parses every complete answer in the read buffer. Returns false when the connection was
    /// dropped (bad answer, or the server closes).
    fn process(&mut self, eof: bool) -> bool {
        let shared = self.shared.clone();
        let completed = Instant::now();
        let mut close = false;
        while self.rstart < self.rend {
            let Some(&front) = self.lanes.inflight.front() else {
                // Bytes nobody asked for.
                self.fail_all(ErrorKind::Parse);
                return false;
            };
            let buf = &self.rbuf[self.rstart..self.rend];
            let parsed = match parse_response(buf, front.head, eof) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(_) => {
                    self.fail_all(ErrorKind::Parse);
                    return false;
                }
            };
            let body: &[u8] = match parsed.body {
                BodySpan::Plain(n) => &buf[parsed.head_len..parsed.head_len + n],
                BodySpan::Chunked => {
                    self.chunk.clear();
                    dechunk(&buf[parsed.head_len..parsed.total], &mut self.chunk);
                    &self.chunk
                }
            };
            let resp = Response {
                status: parsed.status,
                head: &buf[..parsed.head_len],
                body,
            };
            self.lanes.inflight.pop_front();
            self.lanes.complete(&shared, front, &resp, completed);
            self.rstart += parsed.total;
            if parsed.close {
                close = true;
                break;
            }
        }
        if self.rstart == self.rend {
            self.rstart = 0;
            self.rend = 0;
        }
        if close {
            // Requests pipelined behind a closing answer are lost.
            self.fail_all(ErrorKind::Io);
            return false;
        }
        true
    }

    async fn run(mut self) {
        let shared = self.shared.clone();
        let plan = &*shared.plan;
        let backoff = plan.connect_timeout.min(Duration::from_millis(100));
        loop {
            if self.finished() {
                break;
            }
            if self.stream.is_none() {
                match connect(plan, shared.reactor.as_ref()).await {
                    Ok(s) => self.stream = Some(s),
                    Err(_) => {
                        if Instant::now() >= shared.clock.tm {
                            shared.state.borrow_mut().stats.errors.connect += 1;
                        }
                        let at = Instant::now() + backoff;
                        sleep_until(shared.reactor.as_ref(), self.timer, at).await;
                        continue;
                    }
                }
            }
            let wake = self.fill().await;
            if !self.wbuf.is_empty() {
                let sent = Instant::now();
                let n = self.unsent;
                for f in self.lanes.inflight.iter_mut().rev().take(n) {
                    f.sent = sent;
                }
                let Some(stream) = self.stream.as_mut() else {
                    continue;
                };
                match stream.write_all(&self.wbuf, sent + plan.timeout).await {
                    Ok(()) => {
                        if sent >= shared.clock.tm {
                            shared.state.borrow_mut().stats.bytes_written += self.wbuf.len() as u64;
                        }
                        self.wbuf.clear();
                        self.unsent = 0;
                    }
                    Err(e) => {
                        let kind = if e.kind() == io::ErrorKind::TimedOut {
                            ErrorKind::Timeout
                        } else {
                            ErrorKind::Io
                        };
                        self.fail_all(kind);
                        continue;
                    }
                }
            }
            let Some(front) = self.lanes.inflight.front() else {
                continue;
            };
            let deadline = front.sent + plan.timeout;
            let until = wake.map_or(deadline, |w| w.min(deadline));
            if self.rend == self.rbuf.len() {
                if self.rstart > 0 {
                    self.rbuf.copy_within(self.rstart..self.rend, 0);
                    self.rend -= self.rstart;
                    self.rstart = 0;
                } else if self.rbuf.len() < MAX_RESPONSE {
                    let n = self.rbuf.len() * 2;
                    self.rbuf.resize(n, 0);
                } else {
                    self.fail_all(ErrorKind::Parse);
                    continue;
                }
            }
            let Some(stream) = self.stream.as_mut() else {
                continue;
            };
            match stream.read_until(&mut self.rbuf[self.rend..], until).await {
                ReadOutcome::Data(n) => {
                    self.rend += n;
                    if Instant::now() >= shared.clock.tm {
                        shared.state.borrow_mut().stats.bytes_read += n as u64;
                    }
                    self.process(false);
                }
                ReadOutcome::Eof => {
                    if self.process(true) && !self.lanes.inflight.is_empty() {
                        self.fail_all(ErrorKind::Io);
                    } else {
                        self.close();
                    }
                }
                ReadOutcome::Elapsed => {
                    if Instant::now() >= deadline {
                        self.fail_all(ErrorKind::Timeout);
                    }
                }
                ReadOutcome::Error => self.fail_all(ErrorKind::Io),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_grows_the_histogram() {
        let mut h = new_histogram();
        record(&mut h, 3);
        record(&mut h, 1_000_000);
        record(&mut h, 3_600_000_000);
        assert_eq!(h.len(), 3);
        assert!(h.max() >= 3_600_000_000);
        assert!((h.value_at_quantile(0.6) as f64 - 1e6).abs() < 1e3);
    }
}
