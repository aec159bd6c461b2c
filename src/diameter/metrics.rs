//! What a shard's Diameter link reports: per-peer state and counters, rendered for `/metrics`.

use std::fmt::Write as _;
use std::net::SocketAddr;

use hearth_core::diameter::peer::{PeerState, Role};

/// Counters of one link since it started.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct LinkCounters {
    /// Requests handed to a peer.
    pub requests: u64,
    /// Answers delivered to the caller.
    pub answers: u64,
    /// Requests that got no answer in time (`diameter_timeout_ms`).
    pub timeouts: u64,
    /// Requests refused or failed for want of a usable peer.
    pub no_peer: u64,
    /// Requests resent on another peer after theirs failed.
    pub failovers: u64,
    /// Requests received from peers (PPR, RTR, ...).
    pub incoming_requests: u64,
    /// Of those, answered by the link itself (no handler, or the handler gave no answer).
    pub incoming_refused: u64,
    /// Transport connections opened (outgoing and accepted).
    pub connections: u64,
    /// Outgoing connection attempts that failed.
    pub connect_failures: u64,
}

/// One peer as the link sees it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PeerMetrics {
    /// The peer's address: the target for an outgoing peer, the remote end for an incoming one.
    pub address: Option<SocketAddr>,
    /// Whether we connect to it (initiator) or it connected to us (responder).
    pub role: Role,
    /// Its state.
    pub state: PeerState,
    /// Its Origin-Host, once capabilities are exchanged.
    pub origin_host: Option<String>,
    /// Requests awaiting its answer.
    pub pending: usize,
    /// Answers from it that matched no request (late or duplicate).
    pub unmatched_answers: u64,
    /// Its requests handed back for failover.
    pub failed_over: u64,
}

/// A snapshot of one shard's link.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LinkMetrics {
    /// The shard.
    pub shard: usize,
    /// Its Origin-Host.
    pub origin_host: String,
    /// Whether a Cx request could be sent now.
    pub usable: bool,
    /// Every peer.
    pub peers: Vec<PeerMetrics>,
    /// The counters.
    pub counters: LinkCounters,
}

/// The name used in metrics for a peer state.
pub fn state_name(state: PeerState) -> &'static str {
    match state {
        PeerState::Closed => "closed",
        PeerState::Connecting => "connecting",
        PeerState::WaitCea => "wait_cea",
        PeerState::WaitCer => "wait_cer",
        PeerState::Open => "open",
        PeerState::Suspect => "suspect",
        PeerState::Reopen => "reopen",
        PeerState::Closing => "closing",
        PeerState::Down => "down",
    }
}

impl LinkMetrics {
    /// Appends the Prometheus text form (`hearth_diameter_*` series labelled by shard; peers
    /// also by address, role and state). `# HELP`/`# TYPE` lines are left to the caller, which
    /// renders every shard's link under one header.
    pub fn render(&self, out: &mut String) {
        let shard = self.shard;
        let _ = writeln!(
            out,
            "hearth_diameter_link_usable{{shard=\"{shard}\"}} {}",
            u8::from(self.usable)
        );
        let c = &self.counters;
        for (name, value) in [
            ("requests_total", c.requests),
            ("answers_total", c.answers),
            ("timeouts_total", c.timeouts),
            ("no_peer_total", c.no_peer),
            ("failovers_total", c.failovers),
            ("incoming_requests_total", c.incoming_requests),
            ("incoming_refused_total", c.incoming_refused),
            ("connections_total", c.connections),
            ("connect_failures_total", c.connect_failures),
        ] {
            let _ = writeln!(out, "hearth_diameter_{name}{{shard=\"{shard}\"}} {value}");
        }
        for peer in &self.peers {
            let address = peer
                .address
                .map_or_else(|| "unknown".to_owned(), |a| a.to_string());
            let role = match peer.role {
                Role::Initiator => "outgoing",
                Role::Responder => "incoming",
            };
            let state = state_name(peer.state);
            let labels = format!("shard=\"{shard}\",peer=\"{address}\",role=\"{role}\"");
            let _ = writeln!(
                out,
                "hearth_diameter_peer_open{{{labels},state=\"{state}\"}} {}",
                u8::from(peer.state == PeerState::Open)
            );
            let _ = writeln!(
                out,
                "hearth_diameter_peer_pending{{{labels}}} {}",
                peer.pending
            );
        }
    }
}

impl std::fmt::Display for LinkMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        self.render(&mut out);
        f.write_str(&out)
    }
}
