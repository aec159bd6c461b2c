//! [`StoreThreads`]: how shards reach the embedded [`Store`] (a synchronous one) without
//! blocking.
//!
//! A call is a closure sent over a crossbeam channel to a store thread; the answer comes back
//! on a `futures_channel` oneshot, which any executor can await (glommio wakes a task from a
//! foreign thread through its notifier). Sending never blocks: the channels are unbounded and
//! the handle itself refuses work beyond a queue capacity.
//!
//! Reads go to a pool of reader threads sharing one queue. Writes go to one writer thread that
//! commits in groups: it takes the first queued write, drains more (up to a limit), runs them
//! all, calls [`Store::sync`] once, and only then answers them; a failed sync fails them all.
//! One fsync thus covers every write that queued while the previous fsync ran.
//!
//! A future never hangs: if its job is dropped unanswered (store thread stopped or panicked),
//! it resolves to [`StoreError::Unavailable`]. A job that waited in a queue longer than the
//! queue timeout is answered [`StoreError::Timeout`] without being run.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use futures_channel::oneshot;

use super::{Store, StoreError, StoreRead};

/// Tuning of the store threads.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Reader threads (at least one).
    pub readers: usize,
    /// Most writes committed by one sync.
    pub write_batch_limit: usize,
    /// Most jobs waiting in each queue (reads, writes); beyond it calls fail at once with
    /// [`StoreError::Unavailable`] rather than queue without bound.
    pub queue_capacity: usize,
    /// A job that waited longer than this in its queue is answered [`StoreError::Timeout`]
    /// without being run.
    pub queue_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            readers: 2,
            write_batch_limit: 256,
            queue_capacity: 65_536,
            queue_timeout: Duration::from_secs(5),
        }
    }
}

/// Counters of the store threads since start (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Read jobs run.
    pub reads: u64,
    /// Write jobs run.
    pub writes: u64,
    /// Syncs called (one per group of writes).
    pub syncs: u64,
    /// Syncs that failed (each failed its whole group).
    pub sync_failures: u64,
    /// Jobs answered `Timeout` after waiting too long in a queue.
    pub timeouts: u64,
    /// Calls refused because a queue was full or the store was shut down.
    pub rejected: u64,
    /// Jobs that panicked (their callers got `Unavailable`).
    pub panics: u64,
}

#[derive(Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    syncs: AtomicU64,
    sync_failures: AtomicU64,
    timeouts: AtomicU64,
    rejected: AtomicU64,
    panics: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }
}

/// A read job: runs against the store and answers its caller.
trait ReadJob: Send {
    fn enqueued_at(&self) -> Instant;
    fn run(self: Box<Self>, store: &dyn StoreRead);
    fn fail(self: Box<Self>, error: StoreError);
}

/// A write job: runs against the store and returns the answer to send once synced.
trait WriteJob: Send {
    fn enqueued_at(&self) -> Instant;
    fn run(self: Box<Self>, store: &dyn Store) -> Box<dyn PendingReply>;
    fn fail(self: Box<Self>, error: StoreError);
}

/// A write's answer held back until the group's sync finished.
trait PendingReply: Send {
    fn complete(self: Box<Self>, synced: Result<(), &StoreError>);
}

type ReplySender<R> = oneshot::Sender<Result<R, StoreError>>;

struct Job<F, R> {
    work: F,
    reply: ReplySender<R>,
    enqueued_at: Instant,
}

impl<F, R> ReadJob for Job<F, R>
where
    F: FnOnce(&dyn StoreRead) -> Result<R, StoreError> + Send,
    R: Send,
{
    fn enqueued_at(&self) -> Instant {
        self.enqueued_at
    }

    fn run(self: Box<Self>, store: &dyn StoreRead) {
        let job = *self;
        let result = (job.work)(store);
        // The caller may have given up waiting; nothing to do then.
        let _ = job.reply.send(result);
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

impl<F, R> WriteJob for Job<F, R>
where
    F: FnOnce(&dyn Store) -> Result<R, StoreError> + Send,
    R: Send + 'static,
{
    fn enqueued_at(&self) -> Instant {
        self.enqueued_at
    }

    fn run(self: Box<Self>, store: &dyn Store) -> Box<dyn PendingReply> {
        let job = *self;
        let result = (job.work)(store);
        Box::new(Pending {
            result,
            reply: job.reply,
        })
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

struct Pending<R> {
    result: Result<R, StoreError>,
    reply: ReplySender<R>,
}

impl<R: Send> PendingReply for Pending<R> {
    fn complete(self: Box<Self>, synced: Result<(), &StoreError>) {
        let answer = match (self.result, synced) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(sync_error)) => Err(sync_error.clone()),
            (Err(error), _) => Err(error),
        };
        let _ = self.reply.send(answer);
    }
}

enum ReaderMsg {
    Job(Box<dyn ReadJob>),
    Stop,
}

enum WriterMsg {
    Job(Box<dyn WriteJob>),
    Stop,
}

/// The answer to a call through a [`StoreHandle`]: a future of the operation's result. The work
/// is queued (or spawned) when the call is made, not when the future is first polled.
#[must_use = "the store call's result is only known by awaiting it"]
pub struct StoreReply<R> {
    state: ReplyState<R>,
}

impl<R> StoreReply<R> {
    /// A reply waiting on `receiver`, or refused at once with `queued`'s error.
    pub(super) fn new(
        queued: Result<(), StoreError>,
        receiver: oneshot::Receiver<Result<R, StoreError>>,
    ) -> StoreReply<R> {
        StoreReply {
            state: match queued {
                Ok(()) => ReplyState::Waiting(receiver),
                Err(error) => ReplyState::Refused(Some(error)),
            },
        }
    }
}

enum ReplyState<R> {
    Refused(Option<StoreError>),
    Waiting(oneshot::Receiver<Result<R, StoreError>>),
}

impl<R> Future for StoreReply<R> {
    type Output = Result<R, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            ReplyState::Refused(error) => Poll::Ready(Err(error.take().unwrap_or_else(|| {
                StoreError::Unavailable("store reply polled after completion".to_owned())
            }))),
            ReplyState::Waiting(receiver) => match Pin::new(receiver).poll(cx) {
                Poll::Ready(Ok(answer)) => Poll::Ready(answer),
                Poll::Ready(Err(oneshot::Canceled)) => Poll::Ready(Err(StoreError::Unavailable(
                    "the store thread dropped the request (stopped or failed)".to_owned(),
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

struct Shared {
    reads: Sender<ReaderMsg>,
    writes: Sender<WriterMsg>,
    options: StoreOptions,
    closed: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
    store: Arc<dyn Store>,
    counters: Arc<Counters>,
}

/// The embedded backend's threads: closures over a synchronous [`Store`] run on a reader pool
/// and a group-committing writer. Cheap to clone.
#[derive(Clone)]
pub struct StoreThreads {
    shared: Arc<Shared>,
}

impl StoreThreads {
    /// Starts the store threads with `readers` reader threads and default options.
    pub fn start(store: Arc<dyn Store>, readers: usize) -> StoreThreads {
        StoreThreads::start_with(
            store,
            StoreOptions {
                readers,
                ..StoreOptions::default()
            },
        )
    }

    /// Starts the store threads.
    pub fn start_with(store: Arc<dyn Store>, options: StoreOptions) -> StoreThreads {
        let options = StoreOptions {
            readers: options.readers.max(1),
            write_batch_limit: options.write_batch_limit.max(1),
            queue_capacity: options.queue_capacity.max(1),
            queue_timeout: options.queue_timeout,
        };
        // Unbounded channels: a send never blocks a shard, and when the receiving thread is
        // gone the queued jobs are dropped, which resolves their futures as Unavailable.
        let (read_tx, read_rx) = crossbeam_channel::unbounded::<ReaderMsg>();
        let (write_tx, write_rx) = crossbeam_channel::unbounded::<WriterMsg>();
        let counters = Arc::new(Counters::default());
        let mut threads = Vec::with_capacity(options.readers + 1);

        for index in 0..options.readers {
            let rx = read_rx.clone();
            let store = Arc::clone(&store);
            let counters = Arc::clone(&counters);
            let timeout = options.queue_timeout;
            let spawned = std::thread::Builder::new()
                .name(format!("hearth-store-r{index}"))
                .spawn(move || reader_loop(&rx, &*store, &counters, timeout));
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(e) => tracing::error!("cannot start store reader thread {index}: {e}"),
            }
        }
        drop(read_rx);

        let writer_store = Arc::clone(&store);
        let writer_counters = Arc::clone(&counters);
        let batch_limit = options.write_batch_limit;
        let timeout = options.queue_timeout;
        let spawned = std::thread::Builder::new()
            .name("hearth-store-w".to_owned())
            .spawn(move || {
                writer_loop(
                    &write_rx,
                    &*writer_store,
                    &writer_counters,
                    batch_limit,
                    timeout,
                );
            });
        match spawned {
            Ok(thread) => threads.push(thread),
            // The receiver went down with the closure: writes fail as Unavailable.
            Err(e) => tracing::error!("cannot start store writer thread: {e}"),
        }

        StoreThreads {
            shared: Arc::new(Shared {
                reads: read_tx,
                writes: write_tx,
                options,
                closed: AtomicBool::new(false),
                threads: Mutex::new(threads),
                store,
                counters,
            }),
        }
    }

    /// Runs `work` on a reader thread. Each store call inside `work` sees one consistent state;
    /// several calls may see writes made between them.
    pub fn read<R, F>(&self, work: F) -> StoreReply<R>
    where
        F: FnOnce(&dyn StoreRead) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, receiver) = oneshot::channel();
        let job = Box::new(Job {
            work,
            reply,
            enqueued_at: Instant::now(),
        });
        let queued = self.admit(self.shared.reads.len()).and_then(|()| {
            self.shared
                .reads
                .try_send(ReaderMsg::Job(job))
                .map_err(|_| stopped())
        });
        self.reply(queued, receiver)
    }

    /// Runs `work` on the writer thread; the answer comes after the sync that made the write
    /// durable (group commit), or is the sync's error if that failed.
    pub fn write<R, F>(&self, work: F) -> StoreReply<R>
    where
        F: FnOnce(&dyn Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, receiver) = oneshot::channel();
        let job = Box::new(Job {
            work,
            reply,
            enqueued_at: Instant::now(),
        });
        let queued = self.admit(self.shared.writes.len()).and_then(|()| {
            self.shared
                .writes
                .try_send(WriterMsg::Job(job))
                .map_err(|_| stopped())
        });
        self.reply(queued, receiver)
    }

    /// Counters since start.
    pub fn stats(&self) -> StoreStats {
        let c = &self.shared.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StoreStats {
            reads: get(&c.reads),
            writes: get(&c.writes),
            syncs: get(&c.syncs),
            sync_failures: get(&c.sync_failures),
            timeouts: get(&c.timeouts),
            rejected: get(&c.rejected),
            panics: get(&c.panics),
        }
    }

    /// Stops the store threads after they finished the jobs queued so far, then syncs the store
    /// once more. Later calls resolve to [`StoreError::Unavailable`]. Blocks: call it from the
    /// main thread after the shards stopped. A second call returns at once.
    pub fn shutdown(&self) {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // Stop messages queue behind the jobs already sent, so those jobs still run.
        let _ = self.shared.writes.send(WriterMsg::Stop);
        for _ in 0..self.shared.options.readers {
            let _ = self.shared.reads.send(ReaderMsg::Stop);
        }
        let threads = std::mem::take(
            &mut *self
                .shared
                .threads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for thread in threads {
            if thread.join().is_err() {
                tracing::error!("a store thread panicked");
            }
        }
        if let Err(e) = self.shared.store.sync() {
            tracing::error!("final store sync failed: {e}");
        }
    }

    fn admit(&self, queued: usize) -> Result<(), StoreError> {
        let refusal = if self.shared.closed.load(Ordering::Acquire) {
            StoreError::Unavailable("the store is shut down".to_owned())
        } else if queued >= self.shared.options.queue_capacity {
            StoreError::Unavailable(format!("the store queue is full ({queued} jobs waiting)"))
        } else {
            return Ok(());
        };
        Counters::bump(&self.shared.counters.rejected, 1);
        Err(refusal)
    }

    fn reply<R>(
        &self,
        queued: Result<(), StoreError>,
        receiver: oneshot::Receiver<Result<R, StoreError>>,
    ) -> StoreReply<R> {
        StoreReply::new(queued, receiver)
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the store threads have stopped".to_owned())
}

fn expired(enqueued_at: Instant, timeout: Duration) -> bool {
    enqueued_at.elapsed() > timeout
}

fn reader_loop(
    queue: &Receiver<ReaderMsg>,
    store: &dyn StoreRead,
    counters: &Counters,
    timeout: Duration,
) {
    while let Ok(ReaderMsg::Job(job)) = queue.recv() {
        if expired(job.enqueued_at(), timeout) {
            Counters::bump(&counters.timeouts, 1);
            job.fail(StoreError::Timeout);
            continue;
        }
        // A panicking job drops its reply sender (its caller sees Unavailable); the thread
        // lives on for the others.
        if catch_unwind(AssertUnwindSafe(|| job.run(store))).is_err() {
            Counters::bump(&counters.panics, 1);
            tracing::error!("a store read job panicked");
        }
        Counters::bump(&counters.reads, 1);
    }
}

fn writer_loop(
    queue: &Receiver<WriterMsg>,
    store: &dyn Store,
    counters: &Counters,
    batch_limit: usize,
    timeout: Duration,
) {
    let mut stopping = false;
    let mut group = Vec::with_capacity(batch_limit);
    while !stopping {
        match queue.recv() {
            Ok(WriterMsg::Job(job)) => group.push(job),
            Ok(WriterMsg::Stop) | Err(_) => break,
        }
        while group.len() < batch_limit {
            match queue.try_recv() {
                Ok(WriterMsg::Job(job)) => group.push(job),
                Ok(WriterMsg::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }

        let mut pending = Vec::with_capacity(group.len());
        for job in group.drain(..) {
            if expired(job.enqueued_at(), timeout) {
                Counters::bump(&counters.timeouts, 1);
                job.fail(StoreError::Timeout);
                continue;
            }
            match catch_unwind(AssertUnwindSafe(|| job.run(store))) {
                Ok(reply) => pending.push(reply),
                Err(_) => {
                    Counters::bump(&counters.panics, 1);
                    tracing::error!("a store write job panicked");
                }
            }
        }
        if pending.is_empty() {
            continue;
        }
        Counters::bump(&counters.writes, pending.len() as u64);
        Counters::bump(&counters.syncs, 1);
        let synced = catch_unwind(AssertUnwindSafe(|| store.sync())).unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the store sync panicked".to_owned(),
            ))
        });
        if let Err(e) = &synced {
            Counters::bump(&counters.sync_failures, 1);
            tracing::error!("store sync failed; failing {} writes: {e}", pending.len());
        }
        for reply in pending {
            reply.complete(synced.as_ref().map(|_| ()));
        }
    }
}
