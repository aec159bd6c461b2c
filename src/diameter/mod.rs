//! The Diameter links of the server (HSS mode): each shard has its own [`DiameterLink`] — its own
//! Origin-Host, its own connections to every HSS peer — driving the sans-IO
//! [`hearth_core::diameter::peer::PeerPool`] on the shard's executor. A Cx request is sent by the
//! shard that owns the identity, and its answer comes back to that shard: no cross-shard hop on
//! the Cx path. See docs/ARCHITECTURE.md, "Diameter links".
//!
//! - [`link`]: the link (public API for the handlers, the pool driver, the timer task).
//! - [`conn`]: one task per transport connection (connect, read, write in order, close).
//! - [`listener`]: incoming connections on `[hss] diameter_addr`.
//! - [`discovery`]: static peers, `hss_hostname`, NAPTR/SRV of `hss_realm`, on the `hearth-dns`
//!   thread.
//! - [`metrics`]: per-peer state and counters for `/metrics`.

mod conn;
pub mod discovery;
pub mod link;
pub mod listener;
pub mod metrics;

#[cfg(test)]
mod tests;

pub use discovery::{Discovery, PeerTargets};
pub use link::DiameterLink;
pub use metrics::LinkMetrics;
