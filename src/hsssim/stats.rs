//! Counters for `GET /stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use super::hss::Command;

/// What the simulator has done since it started.
#[derive(Clone, Default, Serialize)]
pub struct Snapshot {
    /// Requests received, per command (`MAR`, `UAR`, `LIR`, `SAR`, `ZH-MAR`, `OTHER`).
    pub requests: BTreeMap<&'static str, u64>,
    /// Answers sent by the HSS logic, per Result-Code or Experimental-Result-Code.
    pub results: BTreeMap<u32, u64>,
    /// Error answers injected.
    pub injected_errors: u64,
    /// Requests dropped (never answered).
    pub dropped: u64,
    /// Answers held back by injected latency.
    pub delayed: u64,
    /// Requests the simulator sent (`PPR`, `RTR`).
    pub sent: BTreeMap<&'static str, u64>,
    /// Diameter connections open now.
    pub connections_open: u64,
    /// Diameter connections accepted since start.
    pub connections_total: u64,
}

/// The counters, shared by every connection.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Snapshot>,
}

impl Stats {
    fn with(&self, change: impl FnOnce(&mut Snapshot)) {
        // A poisoned lock only means another thread panicked while counting; counts go on.
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut guard);
    }

    /// A request arrived.
    pub fn request(&self, command: Command) {
        self.with(|s| *s.requests.entry(command.name()).or_default() += 1);
    }

    /// The HSS logic answered with this code.
    pub fn result(&self, code: u32) {
        self.with(|s| *s.results.entry(code).or_default() += 1);
    }

    /// An error answer was injected.
    pub fn injected(&self) {
        self.with(|s| s.injected_errors += 1);
    }

    /// A request was dropped.
    pub fn dropped(&self) {
        self.with(|s| s.dropped += 1);
    }

    /// An answer was delayed.
    pub fn delayed(&self) {
        self.with(|s| s.delayed += 1);
    }

    /// The simulator sent a request.
    pub fn sent(&self, name: &'static str) {
        self.with(|s| *s.sent.entry(name).or_default() += 1);
    }

    /// A connection was accepted.
    pub fn connection_opened(&self) {
        self.with(|s| {
            s.connections_open += 1;
            s.connections_total += 1;
        });
    }

    /// A connection ended.
    pub fn connection_closed(&self) {
        self.with(|s| s.connections_open = s.connections_open.saturating_sub(1));
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
