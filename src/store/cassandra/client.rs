//! [`CassandraClient`]: the tokio runtime the Cassandra store runs on, and how shards hand it
//! work.
//!
//! A shard calls [`CassandraClient::run`] with the operation; it is spawned on the runtime at
//! once and its answer comes back on a `futures_channel` oneshot, whose waker wakes the
//! shard's glommio task from the runtime's thread. Neither side blocks: the shard awaits, the
//! runtime multiplexes every operation in flight over the driver's connections. Each operation
//! is bounded by the query timeout (504 beyond it), and the number in flight by
//! `max_in_flight` (502 beyond it).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

use super::CassandraStore;
use crate::config::CassandraConfig;
use crate::store::StoreError;
use crate::store::threads::{StoreReply, StoreStats};

#[derive(Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    timeouts: AtomicU64,
    rejected: AtomicU64,
    panics: AtomicU64,
}

struct Shared {
    runtime: std::sync::Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    store: Arc<CassandraStore>,
    timeout: Duration,
    max_in_flight: usize,
    in_flight: AtomicUsize,
    closed: AtomicBool,
    counters: Counters,
}

/// The Cassandra backend of a [`crate::store::StoreHandle`]. Cheap to clone.
#[derive(Clone)]
pub struct CassandraClient {
    shared: Arc<Shared>,
}

/// Whether an operation reads or writes (for the counters).
#[derive(Clone, Copy)]
enum Kind {
    /// A read.
    Read,
    /// A write.
    Write,
}

impl CassandraClient {
    /// Starts the runtime (`threads` workers), connects, creates the schema and prepares the
    /// statements. Blocks until done: call it before the shards start.
    pub fn start(config: &CassandraConfig, threads: usize) -> Result<CassandraClient, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("hearth-cql")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot start the CQL runtime: {e}")))?;
        let store = runtime.block_on(CassandraStore::connect(config))?;
        Ok(CassandraClient {
            shared: Arc::new(Shared {
                handle: runtime.handle().clone(),
                runtime: std::sync::Mutex::new(Some(runtime)),
                store: Arc::new(store),
                timeout: Duration::from_millis(config.query_timeout_ms),
                max_in_flight: config.max_in_flight,
                in_flight: AtomicUsize::new(0),
                closed: AtomicBool::new(false),
                counters: Counters::default(),
            }),
        })
    }

    /// Spawns `work` on the runtime; the reply resolves to its answer, to
    /// [`StoreError::Timeout`] when it takes longer than the query timeout, or to
    /// [`StoreError::Unavailable`] when too many operations are in flight or the client is shut
    /// down.
    fn run<R, F, Fut>(&self, kind: Kind, work: F) -> StoreReply<R>
    where
        F: FnOnce(Arc<CassandraStore>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<R, StoreError>> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, receiver) = oneshot::channel();
        let shared = &self.shared;
        let admitted = if shared.closed.load(Ordering::Acquire) {
            Err(StoreError::Unavailable("the store is shut down".to_owned()))
        } else if shared.in_flight.fetch_add(1, Ordering::AcqRel) >= shared.max_in_flight {
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
            Err(StoreError::Unavailable(format!(
                "{} Cassandra operations in flight already",
                shared.max_in_flight
            )))
        } else {
            Ok(())
        };
        if let Err(error) = admitted {
            shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
            return StoreReply::new(Err(error), receiver);
        }
        match kind {
            Kind::Read => shared.counters.reads.fetch_add(1, Ordering::Relaxed),
            Kind::Write => shared.counters.writes.fetch_add(1, Ordering::Relaxed),
        };
        let task_shared = Arc::clone(shared);
        let operation = work(Arc::clone(&shared.store));
        shared.handle.spawn(async move {
            let guarded = AssertUnwindSafe(tokio::time::timeout(task_shared.timeout, operation))
                .catch_unwind()
                .await;
            let answer = match guarded {
                Ok(Ok(answer)) => answer,
                Ok(Err(_elapsed)) => Err(StoreError::Timeout),
                Err(_panic) => {
                    task_shared.counters.panics.fetch_add(1, Ordering::Relaxed);
                    tracing::error!("a Cassandra store operation panicked");
                    Err(StoreError::Unavailable(
                        "the store operation failed unexpectedly".to_owned(),
                    ))
                }
            };
            if matches!(answer, Err(StoreError::Timeout)) {
                task_shared
                    .counters
                    .timeouts
                    .fetch_add(1, Ordering::Relaxed);
            }
            task_shared.in_flight.fetch_sub(1, Ordering::AcqRel);
            // The caller may have given up waiting; nothing to do then.
            let _ = reply.send(answer);
        });
        StoreReply::new(Ok(()), receiver)
    }

    /// Runs a read operation (see [`CassandraClient::run`]).
    pub fn read<R, F, Fut>(&self, work: F) -> StoreReply<R>
    where
        F: FnOnce(Arc<CassandraStore>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<R, StoreError>> + Send + 'static,
        R: Send + 'static,
    {
        self.run(Kind::Read, work)
    }

    /// Runs a write operation (see [`CassandraClient::run`]).
    pub fn write<R, F, Fut>(&self, work: F) -> StoreReply<R>
    where
        F: FnOnce(Arc<CassandraStore>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<R, StoreError>> + Send + 'static,
        R: Send + 'static,
    {
        self.run(Kind::Write, work)
    }

    /// Counters since start (`syncs` stays 0: Cassandra acknowledges a write once its replicas
    /// have it in their commit logs).
    pub fn stats(&self) -> StoreStats {
        let c = &self.shared.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StoreStats {
            reads: get(&c.reads),
            writes: get(&c.writes),
            syncs: 0,
            sync_failures: 0,
            timeouts: get(&c.timeouts),
            rejected: get(&c.rejected),
            panics: get(&c.panics),
        }
    }

    /// Refuses new operations, lets those in flight finish (up to the query timeout), then
    /// stops the runtime. Blocks: call it from the main thread after the shards stopped.
    pub fn shutdown(&self) {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let deadline = std::time::Instant::now() + self.shared.timeout;
        while self.shared.in_flight.load(Ordering::Acquire) > 0
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let runtime = self
            .shared
            .runtime
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(runtime) = runtime {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
