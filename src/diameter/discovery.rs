//! Where the HSS peers are: the static `[hss] peers`, `hss_hostname` + `hss_port`, or the
//! NAPTR/SRV records of `hss_realm` (Clearwater's rules), resolved on one plain thread
//! (`hearth-dns`) so that no shard ever waits on DNS.
//!
//! The thread publishes the addresses in a [`PeerTargets`] that every shard reads when its
//! generation changes; shards add and remove pool peers to match. Records are looked up again
//! when their TTL runs out, clamped to 5–300 s as Clearwater does.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};

use crate::config::Config;

/// Shortest time a result is kept before it is looked up again, also the retry delay after a
/// failed lookup (Clearwater's lower clamp).
pub const MIN_REFRESH: Duration = Duration::from_secs(5);
/// Longest time a result is kept (Clearwater's upper clamp).
pub const MAX_REFRESH: Duration = Duration::from_secs(300);
/// NAPTR services naming Diameter over TCP (RFC 6733 §5.2 S-NAPTR; compared ignoring case).
const NAPTR_SERVICE_TCP: &str = "aaa+d2t";

/// The HSS peer addresses, as last resolved. Written by the DNS thread, read by every shard.
#[derive(Debug, Default)]
pub struct PeerTargets {
    generation: AtomicU64,
    addrs: Mutex<(u64, Vec<SocketAddr>)>,
}

impl PeerTargets {
    /// Targets fixed from the start (no DNS needed), generation 1.
    pub fn fixed(addrs: Vec<SocketAddr>) -> Arc<Self> {
        let targets = Arc::new(Self::default());
        targets.publish(addrs);
        targets
    }

    /// Changes whenever the addresses do (0: nothing published yet).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The addresses in order of preference, with their generation.
    pub fn snapshot(&self) -> (u64, Vec<SocketAddr>) {
        match self.addrs.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the addresses; the generation moves only when they differ.
    pub fn publish(&self, addrs: Vec<SocketAddr>) {
        let mut guard = match self.addrs.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.0 != 0 && guard.1 == addrs {
            return;
        }
        guard.0 += 1;
        guard.1 = addrs;
        self.generation.store(guard.0, Ordering::Release);
    }
}

/// One place peers come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A host (name or IP literal) and port: an `[hss] peers` entry, or `hss_hostname` with
    /// `hss_port` when no realm is configured.
    Host {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// `hss_realm`: NAPTR (AAA+D2T) → SRV, else `_diameter._tcp.<realm>` SRV, else A/AAAA of the
    /// realm on `port`; up to `max` peers.
    Realm {
        /// The realm.
        realm: String,
        /// Port for the A/AAAA fallback (`hss_port`).
        port: u16,
        /// Most addresses taken from it ([`MAX_RESOLVED_ADDRESSES`]): the links use the first
        /// `max_peers`, the rest are spares for failed ones.
        max: usize,
    },
}

/// Most addresses kept from one realm's DNS answers (which an outsider may fill): the first
/// `max_peers` are connected, the others replace a peer that fails.
pub const MAX_RESOLVED_ADDRESSES: usize = 8;

/// The sources a configuration names, in order of preference: static peers first, then the realm
/// (or, without one, `hss_hostname`). With a realm, `hss_hostname` is only the Destination-Host.
pub fn sources(config: &Config) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    for entry in &config.hss.peers {
        let (host, port) = split_host_port(entry)
            .ok_or_else(|| format!("hss.peers: {entry:?} is not host:port"))?;
        sources.push(Source::Host { host, port });
    }
    if let Some(realm) = config.hss_realm.as_deref().map(str::trim) {
        if realm.is_empty() {
            return Err("hss_realm must not be empty".into());
        }
        sources.push(Source::Realm {
            realm: realm.to_owned(),
            port: config.hss_port,
            max: MAX_RESOLVED_ADDRESSES.max(config.max_peers),
        });
    } else if let Some(host) = config.hss_host() {
        sources.push(Source::Host {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: config.hss_port,
        });
    }
    Ok(sources)
}

/// `host:port`, `[v6]:port` or `v6-literal` is refused without brackets.
fn split_host_port(entry: &str) -> Option<(String, u16)> {
    let entry = entry.trim();
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some((addr.ip().to_string(), addr.port()));
    }
    let (host, port) = entry.rsplit_once(':')?;
    let port = port.parse::<u16>().ok().filter(|&p| p != 0)?;
    if host.is_empty() || host.contains(':') || host.contains('[') {
        return None;
    }
    Some((host.to_owned(), port))
}

/// The addresses of sources that need no DNS (IP literals only); `None` when some source does.
fn literal_targets(sources: &[Source]) -> Option<Vec<SocketAddr>> {
    let mut addrs = Vec::new();
    for source in sources {
        match source {
            Source::Host { host, port } => {
                let ip: IpAddr = host.parse().ok()?;
                push_unique(&mut addrs, SocketAddr::new(ip, *port));
            }
            Source::Realm { .. } => return None,
        }
    }
    Some(addrs)
}

fn push_unique(addrs: &mut Vec<SocketAddr>, addr: SocketAddr) {
    if !addrs.contains(&addr) {
        addrs.push(addr);
    }
}

/// The peer discovery of one process: the published targets, and the DNS thread when names must
/// be resolved.
pub struct Discovery {
    targets: Arc<PeerTargets>,
    /// Dropping it stops the DNS thread at its next wake-up.
    _stop: Option<mpsc::Sender<()>>,
}

impl Discovery {
    /// Starts discovery for `config`: IP literals are published at once; anything with a name
    /// starts the `hearth-dns` thread, which publishes its first result as soon as it has one.
    pub fn start(config: &Config) -> Result<Self, String> {
        let sources = sources(config)?;
        if let Some(addrs) = literal_targets(&sources) {
            return Ok(Self {
                targets: PeerTargets::fixed(addrs),
                _stop: None,
            });
        }
        let targets = Arc::new(PeerTargets::default());
        let (stop, stopped) = mpsc::channel();
        let dns_servers = config.hss.dns_servers.clone();
        let published = Arc::clone(&targets);
        // The thread is not joined at exit: it holds nothing worth waiting for, and a lookup in
        // progress must not delay the shutdown.
        std::thread::Builder::new()
            .name("hearth-dns".into())
            .spawn(move || dns_thread(&sources, &dns_servers, &published, &stopped))
            .map_err(|e| format!("cannot start the DNS thread: {e}"))?;
        Ok(Self {
            targets,
            _stop: Some(stop),
        })
    }

    /// The published targets.
    pub fn targets(&self) -> Arc<PeerTargets> {
        Arc::clone(&self.targets)
    }
}

fn dns_thread(
    sources: &[Source],
    dns_servers: &[SocketAddr],
    targets: &PeerTargets,
    stopped: &mpsc::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "DNS thread: cannot start its runtime; HSS peers with names will not be resolved");
            return;
        }
    };
    let resolver = match runtime.block_on(async { build_resolver(dns_servers) }) {
        Ok(resolver) => resolver,
        Err(e) => {
            tracing::error!(error = %e, "DNS thread: cannot configure a resolver; HSS peers with names will not be resolved");
            return;
        }
    };
    // Each source's last good result, kept through failed lookups: a DNS outage must not drop
    // working peers.
    let mut kept: Vec<Vec<SocketAddr>> = vec![Vec::new(); sources.len()];
    let mut published: Option<Vec<SocketAddr>> = None;
    loop {
        let mut refresh = MAX_REFRESH;
        for (source, kept) in sources.iter().zip(kept.iter_mut()) {
            let resolved = runtime.block_on(resolve(&resolver, source));
            refresh = refresh.min(resolved.refresh);
            if resolved.addrs.is_empty() {
                tracing::warn!(
                    ?source,
                    failed = resolved.failed,
                    "no HSS peer address found (retrying)"
                );
                if resolved.failed {
                    continue;
                }
            }
            *kept = resolved.addrs;
        }
        let mut addrs = Vec::new();
        for addr in kept.iter().flatten() {
            push_unique(&mut addrs, *addr);
        }
        if published.as_ref() != Some(&addrs) {
            tracing::info!(peers = ?addrs, "HSS peers resolved");
            targets.publish(addrs.clone());
            published = Some(addrs);
        }
        match stopped.recv_timeout(refresh.clamp(MIN_REFRESH, MAX_REFRESH)) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn build_resolver(dns_servers: &[SocketAddr]) -> Result<TokioResolver, String> {
    let mut builder = if dns_servers.is_empty() {
        TokioResolver::builder_tokio().map_err(|e| e.to_string())?
    } else {
        let servers = dns_servers
            .iter()
            .map(|server| {
                let mut config = NameServerConfig::udp_and_tcp(server.ip());
                for connection in &mut config.connections {
                    connection.port = server.port();
                }
                config
            })
            .collect();
        TokioResolver::builder_with_config(
            ResolverConfig::from_parts(None, Vec::new(), servers),
            TokioRuntimeProvider::default(),
        )
    };
    let options = builder.options_mut();
    options.timeout = Duration::from_secs(2);
    options.attempts = 2;
    builder.build().map_err(|e| e.to_string())
}

/// What one source resolved to.
struct Resolved {
    addrs: Vec<SocketAddr>,
    /// When to look again: the smallest TTL seen (clamped by the caller).
    refresh: Duration,
    /// A lookup failed (as opposed to answering that there is nothing).
    failed: bool,
}

impl Resolved {
    fn empty(failed: bool) -> Self {
        Self {
            addrs: Vec::new(),
            refresh: MIN_REFRESH,
            failed,
        }
    }
}

async fn resolve(resolver: &TokioResolver, source: &Source) -> Resolved {
    match source {
        Source::Host { host, port } => {
            if let Ok(ip) = host.parse::<IpAddr>() {
                return Resolved {
                    addrs: vec![SocketAddr::new(ip, *port)],
                    refresh: MAX_REFRESH,
                    failed: false,
                };
            }
            match lookup_host(resolver, host).await {
                Ok((ips, ttl)) => Resolved {
                    // One peer per host: a node's several addresses are one Diameter peer.
                    addrs: ips
                        .first()
                        .map(|ip| SocketAddr::new(*ip, *port))
                        .into_iter()
                        .collect(),
                    refresh: ttl,
                    failed: false,
                },
                Err(failed) => Resolved::empty(failed),
            }
        }
        Source::Realm { realm, port, max } => resolve_realm(resolver, realm, *port, *max).await,
    }
}

/// Clearwater's order for a realm: NAPTR → SRV, else `_diameter._tcp` SRV, else A/AAAA.
async fn resolve_realm(resolver: &TokioResolver, realm: &str, port: u16, max: usize) -> Resolved {
    let mut refresh = MAX_REFRESH;
    let mut failed = false;
    // NAPTR: records for Diameter over TCP, with the "S" flag (the replacement is an SRV name).
    let mut srv_names = Vec::new();
    match lookup(resolver, realm, RecordType::NAPTR).await {
        Ok(records) => {
            let mut naptrs: Vec<_> = records
                .iter()
                .filter_map(|record| match &record.data {
                    RData::NAPTR(naptr) => Some((record.ttl, naptr)),
                    _ => None,
                })
                .filter(|(_, naptr)| {
                    naptr
                        .services
                        .eq_ignore_ascii_case(NAPTR_SERVICE_TCP.as_bytes())
                        && naptr.flags.eq_ignore_ascii_case(b"s")
                })
                .collect();
            naptrs.sort_by_key(|(_, naptr)| (naptr.order, naptr.preference));
            for (ttl, naptr) in naptrs {
                refresh = refresh.min(ttl_of(ttl));
                srv_names.push(naptr.replacement.to_ascii());
            }
        }
        Err(lookup_failed) => failed |= lookup_failed,
    }
    if srv_names.is_empty() {
        srv_names.push(format!("_diameter._tcp.{realm}"));
    }
    let mut addrs = Vec::new();
    for name in &srv_names {
        match lookup(resolver, name, RecordType::SRV).await {
            Ok(records) => {
                let mut srvs: Vec<_> = records
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::SRV(srv) => Some((record.ttl, srv)),
                        _ => None,
                    })
                    // A target of "." means the service is not offered.
                    .filter(|(_, srv)| !srv.target.is_root() && srv.port != 0)
                    .collect();
                // Lowest priority first; among equals the heaviest first (deterministic, so every
                // shard and every refresh picks the same peers).
                srvs.sort_by_key(|(_, srv)| (srv.priority, std::cmp::Reverse(srv.weight)));
                for (ttl, srv) in srvs {
                    if addrs.len() >= max {
                        break;
                    }
                    refresh = refresh.min(ttl_of(ttl));
                    match lookup_host(resolver, &srv.target.to_ascii()).await {
                        Ok((ips, ttl)) => {
                            refresh = refresh.min(ttl);
                            if let Some(ip) = ips.first() {
                                push_unique(&mut addrs, SocketAddr::new(*ip, srv.port));
                            }
                        }
                        Err(lookup_failed) => failed |= lookup_failed,
                    }
                }
            }
            Err(lookup_failed) => failed |= lookup_failed,
        }
        if addrs.len() >= max {
            break;
        }
    }
    if addrs.is_empty() {
        // No SRV: the realm's own addresses, each a peer on hss_port.
        match lookup_host(resolver, realm).await {
            Ok((ips, ttl)) => {
                refresh = refresh.min(ttl);
                for ip in ips.into_iter().take(max) {
                    push_unique(&mut addrs, SocketAddr::new(ip, port));
                }
            }
            Err(lookup_failed) => failed |= lookup_failed,
        }
    }
    if addrs.is_empty() {
        return Resolved::empty(failed);
    }
    Resolved {
        addrs,
        refresh,
        failed: false,
    }
}

fn ttl_of(seconds: u32) -> Duration {
    Duration::from_secs(u64::from(seconds))
}

/// A fully qualified name (a trailing dot: no search list, one query).
fn fqdn(name: &str) -> Result<Name, bool> {
    let name = if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    };
    Name::from_ascii(&name).map_err(|e| {
        tracing::warn!(name = %name, error = %e, "not a DNS name");
        false
    })
}

/// The records of one lookup. `Err(true)`: the lookup failed (timeout, server error);
/// `Err(false)`: the name has no such records.
async fn lookup(
    resolver: &TokioResolver,
    name: &str,
    record_type: RecordType,
) -> Result<Vec<Record>, bool> {
    let name = fqdn(name)?;
    match resolver.lookup(name.clone(), record_type).await {
        Ok(lookup) => Ok(lookup.answers().to_vec()),
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Err(false),
        Err(e) => {
            tracing::warn!(name = %name, ?record_type, error = %e, "DNS lookup failed");
            Err(true)
        }
    }
}

/// A and AAAA addresses of a host (A first), with the smallest TTL.
async fn lookup_host(
    resolver: &TokioResolver,
    host: &str,
) -> Result<(Vec<IpAddr>, Duration), bool> {
    let name = fqdn(host)?;
    match resolver.lookup_ip(name.clone()).await {
        Ok(lookup) => {
            let mut ips: Vec<IpAddr> = lookup.iter().collect();
            ips.sort_by_key(|ip| ip.is_ipv6());
            let ttl = lookup
                .as_lookup()
                .answers()
                .iter()
                .map(|record| ttl_of(record.ttl))
                .min()
                .unwrap_or(MIN_REFRESH);
            if ips.is_empty() {
                Err(false)
            } else {
                Ok((ips, ttl))
            }
        }
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Err(false),
        Err(e) => {
            tracing::warn!(name = %name, error = %e, "DNS lookup failed");
            Err(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn host_port_entries() {
        assert_eq!(
            split_host_port("hss.example.com:3868"),
            Some(("hss.example.com".into(), 3868))
        );
        assert_eq!(split_host_port("[::1]:3869"), Some(("::1".into(), 3869)));
        assert_eq!(split_host_port("10.0.0.1:1"), Some(("10.0.0.1".into(), 1)));
        for bad in ["hss", "hss:", ":3868", "hss:0", "hss:70000", "::1:3868"] {
            assert_eq!(split_host_port(bad), None, "{bad}");
        }
    }

    #[test]
    fn sources_follow_clearwater_rules() {
        // A hostname alone: one peer on hss_port.
        let c = config("hss_hostname = \"hss.example.com\"\nhss_port = 3869\n");
        assert_eq!(
            sources(&c).unwrap(),
            [Source::Host {
                host: "hss.example.com".into(),
                port: 3869
            }]
        );
        // A realm too: discovery on the realm, the hostname is only the Destination-Host.
        let c = config("hss_hostname = \"hss.example.com\"\nhss_realm = \"hss.test\"\n");
        assert_eq!(
            sources(&c).unwrap(),
            [Source::Realm {
                realm: "hss.test".into(),
                port: 3868,
                max: MAX_RESOLVED_ADDRESSES
            }]
        );
        // Static peers come first.
        let c = config("hss_realm = \"r.test\"\n[hss]\npeers = [\"127.0.0.1:5000\"]\n");
        assert_eq!(sources(&c).unwrap().len(), 2);
        assert_eq!(literal_targets(&sources(&c).unwrap()), None);
        let c = config("[hss]\npeers = [\"127.0.0.1:5000\", \"[::1]:5001\", \"127.0.0.1:5000\"]\n");
        assert_eq!(
            literal_targets(&sources(&c).unwrap()),
            Some(vec![
                "127.0.0.1:5000".parse().unwrap(),
                "[::1]:5001".parse().unwrap()
            ])
        );
        let c = config("[hss]\npeers = [\"nonsense\"]\n");
        assert!(sources(&c).is_err());
    }

    #[test]
    fn generation_moves_only_on_change() {
        let targets = PeerTargets::default();
        assert_eq!(targets.generation(), 0);
        targets.publish(Vec::new());
        assert_eq!(
            targets.generation(),
            1,
            "the first result counts, even empty"
        );
        targets.publish(Vec::new());
        assert_eq!(targets.generation(), 1);
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        targets.publish(vec![addr]);
        assert_eq!(targets.snapshot(), (2, vec![addr]));
    }
}
