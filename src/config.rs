//! Server configuration: defaults, the TOML file (`--config`) and command-line overrides.
//!
//! Names follow what operators know: Clearwater's shared_config names (`home_domain`, `scscf_uri`,
//! `hss_reregistration_time`, `reg_max_expires`, ...) for the Homestead side.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hearth_core::crypto::ephemeral::{MAX_SECRET_LEN, ShaVariant, UsernameFormat};
use hearth_core::token::UserClaim;
use serde::Deserialize;

/// The whole configuration of one `hearth serve` process.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Which store holds the subscribers: `embedded` (fjall in `data_dir`) or `cassandra`
    /// (`[cassandra]`).
    pub store: StoreKind,
    /// Directory of the embedded store.
    pub data_dir: PathBuf,
    /// Number of shards (executors, one per core). 0 means "one per available core".
    pub shards: usize,
    /// Homestead signalling API listener (SIP cores).
    pub signalling_addr: SocketAddr,
    /// Provisioning API listener (Homestead-prov, Ellis, OSS).
    pub provisioning_addr: SocketAddr,
    /// The home domain: default realm of private identities.
    pub home_domain: String,
    /// S-CSCF URI returned by registration-status and location in local (no HSS) mode.
    pub scscf_uri: String,
    /// Seconds after which a registration refreshes its Server-Assignment (HSS mode) — also used
    /// for the record TTL.
    pub hss_reregistration_time: u64,
    /// Longest registration expiry the S-CSCF allows, in seconds.
    pub reg_max_expires: u64,
    /// The HSS to connect to (Clearwater's `hss_hostname`; empty or `0.0.0.0` means none). With
    /// `hss_realm` too, it is only the Destination-Host of every request.
    pub hss_hostname: Option<String>,
    /// The HSS's Diameter realm (`hss_realm`): peers are found by NAPTR/SRV on it; also the
    /// Destination-Realm (defaults to `home_domain`).
    pub hss_realm: Option<String>,
    /// Diameter port of `hss_hostname` (`hss_port`).
    pub hss_port: u16,
    /// Most HSS peers connected at a time (`max_peers`).
    pub max_peers: usize,
    /// How long a Cx request may wait for its answer before the SIP core gets 503
    /// (`diameter_timeout_ms`).
    pub diameter_timeout_ms: u64,
    /// Our Diameter identity, the Origin-Host (`hs_diameteridentity`; defaults to
    /// `hearth.<home_domain>`).
    pub hs_diameteridentity: Option<String>,
    /// HSS mode settings beyond Clearwater's names (`[hss]`).
    pub hss: HssConfig,
    /// HTTP limits and timeouts.
    pub http: HttpConfig,
    /// AKA settings.
    pub aka: AkaConfig,
    /// The ephemeral SIP credential service (`[credential]`); its listener runs only when the
    /// section is present (or `--credential-addr` is given).
    pub credential: Option<CredentialConfig>,
    /// The Cassandra store (`[cassandra]`), used when `store = "cassandra"`.
    pub cassandra: CassandraConfig,
}

/// The subscriber store backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// fjall in the data directory: one node, durable on every acknowledged write.
    #[default]
    Embedded,
    /// Apache Cassandra (or ScyllaDB): several Hearth nodes share one subscriber base.
    Cassandra,
}

/// The Cassandra store: where it is, how it replicates, how long a query may take.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CassandraConfig {
    /// Nodes to discover the cluster from, `host:port` (the BSF's `cassandraContactPoints`).
    pub contact_points: Vec<String>,
    /// The local datacenter: requests go to its nodes first (token-aware within it), and
    /// `LOCAL_*` consistencies count its replicas.
    pub local_dc: Option<String>,
    /// Consistency of every read and write: `LOCAL_QUORUM` (default), `QUORUM`, `ONE`,
    /// `LOCAL_ONE`, `TWO`, `THREE`, `ALL`, `EACH_QUORUM`.
    pub consistency: String,
    /// Replication of the keyspaces Hearth creates.
    pub replication: ReplicationConfig,
    /// Longest time one store operation may take, in milliseconds (the BSF's
    /// `CassandraQueryTimeoutMS`); beyond it the request gets 504.
    pub query_timeout_ms: u64,
    /// How long connecting to the cluster may take at start, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Prefix of every keyspace name (`<prefix>_homestead_provisioning`, ...), so several
    /// deployments or test runs share one cluster; none by default.
    pub keyspace_prefix: Option<String>,
    /// How long a shard may answer from its cached view of an identity, in milliseconds. Other
    /// Hearth nodes' writes are not seen by this node's caches, so 0 (the default) reads the
    /// store on every request; a few hundred milliseconds trade that staleness for throughput
    /// when each identity is routed to one node.
    pub view_cache_ttl_ms: u64,
    /// Most store operations in flight at once; beyond it requests fail at once with 502.
    pub max_in_flight: usize,
}

/// The consistency levels `cassandra.consistency` accepts.
pub const CONSISTENCIES: [&str; 8] = [
    "ONE",
    "TWO",
    "THREE",
    "QUORUM",
    "ALL",
    "LOCAL_QUORUM",
    "EACH_QUORUM",
    "LOCAL_ONE",
];

/// Replication of the keyspaces Hearth creates.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicationConfig {
    /// `SimpleStrategy` or `NetworkTopologyStrategy`.
    pub class: String,
    /// Replicas (SimpleStrategy; with NetworkTopologyStrategy, for `local_dc` when
    /// `datacenters` is empty).
    pub factor: u32,
    /// NetworkTopologyStrategy: replicas per datacenter.
    pub datacenters: BTreeMap<String, u32>,
}

impl Default for CassandraConfig {
    fn default() -> Self {
        CassandraConfig {
            contact_points: vec!["127.0.0.1:9042".into()],
            local_dc: None,
            consistency: "LOCAL_QUORUM".into(),
            replication: ReplicationConfig::default(),
            query_timeout_ms: 5_000,
            connect_timeout_ms: 10_000,
            keyspace_prefix: None,
            view_cache_ttl_ms: 0,
            max_in_flight: 16_384,
        }
    }
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            class: "SimpleStrategy".into(),
            factor: 1,
            datacenters: BTreeMap::new(),
        }
    }
}

impl CassandraConfig {
    /// Checks the values before anything connects.
    pub fn validate(&self) -> Result<(), String> {
        if self.contact_points.is_empty() {
            return Err("cassandra.contact_points must list at least one node".into());
        }
        if let Some(prefix) = &self.keyspace_prefix
            && (prefix.is_empty()
                || prefix.len() > 16
                || !prefix.starts_with(|c: char| c.is_ascii_lowercase())
                || !prefix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        {
            return Err(
                "cassandra.keyspace_prefix must be 1 to 16 characters a-z, 0-9 or _, starting \
                 with a letter"
                    .into(),
            );
        }
        if !(10..=600_000).contains(&self.query_timeout_ms) {
            return Err("cassandra.query_timeout_ms must be between 10 and 600000".into());
        }
        if self.max_in_flight == 0 {
            return Err("cassandra.max_in_flight must be at least 1".into());
        }
        if !CONSISTENCIES.contains(&self.consistency.to_ascii_uppercase().as_str()) {
            return Err(format!(
                "cassandra.consistency {:?} is not one of {}",
                self.consistency,
                CONSISTENCIES.join(", ")
            ));
        }
        let r = &self.replication;
        match r.class.as_str() {
            "SimpleStrategy" => {
                if r.factor == 0 {
                    return Err("cassandra.replication.factor must be at least 1".into());
                }
            }
            "NetworkTopologyStrategy" => {
                if r.datacenters.is_empty() && (self.local_dc.is_none() || r.factor == 0) {
                    return Err(
                        "NetworkTopologyStrategy needs cassandra.replication.datacenters \
                         or local_dc and factor"
                            .into(),
                    );
                }
                let bad_name = |n: &str| {
                    n.is_empty()
                        || !n
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
                };
                if r.datacenters.keys().any(|n| bad_name(n))
                    || self.local_dc.as_deref().is_some_and(bad_name)
                {
                    return Err("datacenter names may hold letters, digits, _ - . only".into());
                }
            }
            other => {
                return Err(format!(
                    "cassandra.replication.class {other:?} is neither SimpleStrategy nor \
                     NetworkTopologyStrategy"
                ));
            }
        }
        Ok(())
    }
}

/// Limits and timeouts applied to every HTTP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Longest request line, in bytes (414 beyond).
    pub max_request_line: usize,
    /// Largest request head (request line and headers), in bytes (431 beyond).
    pub max_head_bytes: usize,
    /// Most headers in one request (431 beyond).
    pub max_headers: usize,
    /// Largest request body, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// A keep-alive connection with no request in progress is closed after this many seconds.
    pub idle_timeout_secs: u64,
    /// A request must arrive whole within this many seconds of its first byte (slow clients).
    pub request_timeout_secs: u64,
    /// Most open connections per shard; further connections are closed at once.
    pub max_connections_per_shard: usize,
    /// How long SIGTERM waits for in-flight requests before closing connections.
    pub drain_timeout_secs: u64,
}

/// External HSS mode settings that Clearwater's shared_config has no name for.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HssConfig {
    /// Static HSS peers as `host:port` (in addition to, or instead of, `hss_hostname` and
    /// `hss_realm` discovery); several give failover without DNS.
    pub peers: Vec<String>,
    /// Listener for incoming Diameter connections (`--diameter-addr`); none by default.
    pub diameter_addr: Option<SocketAddr>,
    /// Origin-Hosts accepted in the CER of an incoming connection (`--diameter-allowed-peer`),
    /// compared without case; `"*"` accepts any. Empty means `hss_hostname` alone. Others are
    /// refused with DIAMETER_UNKNOWN_PEER (3010): whoever connects may send RTR and PPR.
    pub allowed_peers: Vec<String>,
    /// Our Origin-Realm (defaults to `home_domain`).
    pub origin_realm: Option<String>,
    /// RFC 3539 watchdog interval Tw, in milliseconds (Clearwater's
    /// `homestead_diameter_watchdog_timer`, 6 s); at least 6000.
    pub watchdog_interval_ms: u64,
    /// DNS servers for NAPTR/SRV discovery of `hss_realm` (`ip:port`); the system's resolver
    /// configuration when empty.
    pub dns_servers: Vec<SocketAddr>,
    /// Seconds a "user unknown" answer from the HSS is remembered (0: not cached).
    pub negative_cache_ttl_secs: u64,
    /// Base URL of the SIP core's registration API (Sprout's `http://<sprout>:9888`) that RTR and
    /// PPR notifications go to; none means RTR/PPR are applied to the cache only.
    pub sip_core_url: Option<String>,
}

impl Default for HssConfig {
    fn default() -> Self {
        HssConfig {
            peers: Vec::new(),
            diameter_addr: None,
            allowed_peers: Vec::new(),
            origin_realm: None,
            watchdog_interval_ms: 6_000,
            dns_servers: Vec::new(),
            negative_cache_ttl_secs: 30,
            sip_core_url: None,
        }
    }
}

/// Settings of local AKA vector generation.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AkaConfig {
    /// Width of the IND part of SQN (TS 33.102 Annex C).
    pub ind_bits: u8,
}

/// The ephemeral SIP credential service: bearer token in, Kamailio `auth_ephemeral` credentials
/// out (see docs/credential.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialConfig {
    /// Listener of `GET|POST /credential`.
    pub addr: SocketAddr,
    /// Lifetime of issued credentials, in seconds.
    pub ttl_secs: u64,
    /// Secrets shared with the SIP server: the first signs, all are published for the server
    /// (rotation).
    pub secrets: Vec<String>,
    /// HMAC hash, as the module's `sha_algorithm`.
    pub sha: ShaName,
    /// Username layout, as the module's `username_format`.
    pub username_format: FormatName,
    /// SIP server URIs returned with each credential.
    pub uris: Vec<String>,
    /// HS256 secret(s) for bearer JWTs: one string or a list (all accepted, for rotation).
    pub hs256_secret: OneOrMany,
    /// JWKS file with the public keys for RS256/ES256 bearer JWTs; re-read when it changes.
    pub jwks_file: Option<PathBuf>,
    /// Required `iss` of bearer JWTs.
    pub issuer: Option<String>,
    /// Audience that the `aud` of bearer JWTs must contain.
    pub audience: Option<String>,
    /// Claim naming the user: `sub` or `email`.
    pub user_claim: ClaimName,
    /// Allowed clock skew for `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Static bearer tokens for labs: token = user.
    pub static_tokens: BTreeMap<String, String>,
    /// Credentials one subject may get per minute (0: no limit).
    pub rate_limit_per_minute: u32,
    /// Credentials one subject may get at once before the per-minute rate applies.
    pub rate_limit_burst: u32,
}

/// `sha` values.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ShaName {
    /// HMAC-SHA-1 (`sha_algorithm` 0, the module's default).
    #[default]
    Sha1,
    /// HMAC-SHA-256 (`sha_algorithm` 1).
    Sha256,
    /// HMAC-SHA-384 (`sha_algorithm` 2).
    Sha384,
    /// HMAC-SHA-512 (`sha_algorithm` 3).
    Sha512,
}

impl From<ShaName> for ShaVariant {
    fn from(n: ShaName) -> Self {
        match n {
            ShaName::Sha1 => ShaVariant::Sha1,
            ShaName::Sha256 => ShaVariant::Sha256,
            ShaName::Sha384 => ShaVariant::Sha384,
            ShaName::Sha512 => ShaVariant::Sha512,
        }
    }
}

/// `username_format` values.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FormatName {
    /// `<expiry>:<user>` (`username_format` 1, the module's default).
    #[default]
    ExpiryFirst,
    /// `<user>:<expiry>` (`username_format` 0, deprecated).
    UserFirst,
}

impl From<FormatName> for UsernameFormat {
    fn from(n: FormatName) -> Self {
        match n {
            FormatName::ExpiryFirst => UsernameFormat::ExpiryFirst,
            FormatName::UserFirst => UsernameFormat::UserFirst,
        }
    }
}

/// `user_claim` values.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClaimName {
    /// `sub`.
    #[default]
    Sub,
    /// `email`.
    Email,
}

impl From<ClaimName> for UserClaim {
    fn from(n: ClaimName) -> Self {
        match n {
            ClaimName::Sub => UserClaim::Sub,
            ClaimName::Email => UserClaim::Email,
        }
    }
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl OneOrMany {
    /// The values, in order.
    pub fn values(&self) -> Vec<String> {
        match self {
            OneOrMany::One(v) => vec![v.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

impl Default for CredentialConfig {
    fn default() -> Self {
        CredentialConfig {
            addr: ([127, 0, 0, 1], 8085).into(),
            ttl_secs: 86_400,
            secrets: Vec::new(),
            sha: ShaName::default(),
            username_format: FormatName::default(),
            uris: Vec::new(),
            hs256_secret: OneOrMany::default(),
            jwks_file: None,
            issuer: None,
            audience: None,
            user_claim: ClaimName::default(),
            leeway_secs: 60,
            static_tokens: BTreeMap::new(),
            rate_limit_per_minute: 60,
            rate_limit_burst: 10,
        }
    }
}

impl CredentialConfig {
    /// Checks what would make the service misbehave (the token side is checked when the
    /// validator is built).
    pub fn validate(&self) -> Result<(), String> {
        if self.secrets.is_empty() {
            return Err("credential.secrets must hold at least one secret".into());
        }
        if let Some(s) = self
            .secrets
            .iter()
            .find(|s| s.is_empty() || s.len() > MAX_SECRET_LEN)
        {
            return Err(format!(
                "a credential secret of {} bytes (must be 1 to {MAX_SECRET_LEN})",
                s.len()
            ));
        }
        // Kamailio's config language quotes the secret: it must survive that.
        if self
            .secrets
            .iter()
            .any(|s| s.chars().any(|c| c.is_control() || c == '"' || c == '\\'))
        {
            return Err(
                "credential secrets must not contain control characters, '\"' or '\\'".into(),
            );
        }
        if !(1..=10 * 365 * 86_400).contains(&self.ttl_secs) {
            return Err("credential.ttl_secs must be between 1 and 315360000".into());
        }
        if self.leeway_secs > 3600 {
            return Err("credential.leeway_secs must be at most 3600".into());
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            store: StoreKind::Embedded,
            data_dir: PathBuf::from("hearth-data"),
            shards: 0,
            signalling_addr: ([127, 0, 0, 1], 8888).into(),
            provisioning_addr: ([127, 0, 0, 1], 8889).into(),
            home_domain: "example.com".into(),
            scscf_uri: "sip:scscf.example.com:5054;transport=TCP".into(),
            hss_reregistration_time: 1800,
            reg_max_expires: 300,
            hss_hostname: None,
            hss_realm: None,
            hss_port: 3868,
            max_peers: 2,
            diameter_timeout_ms: 200,
            hs_diameteridentity: None,
            hss: HssConfig::default(),
            http: HttpConfig::default(),
            aka: AkaConfig::default(),
            credential: None,
            cassandra: CassandraConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_request_line: 8 * 1024,
            max_head_bytes: 16 * 1024,
            max_headers: 64,
            max_body_bytes: 1024 * 1024,
            idle_timeout_secs: 60,
            request_timeout_secs: 10,
            max_connections_per_shard: 20_000,
            drain_timeout_secs: 10,
        }
    }
}

impl Default for AkaConfig {
    fn default() -> Self {
        AkaConfig { ind_bits: 5 }
    }
}

impl Config {
    /// Reads a TOML configuration file; every key is optional and unknown keys are an error.
    pub fn from_file(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }

    /// Number of shards to run, resolving 0 to the cores this process may use.
    pub fn shard_count(&self) -> usize {
        if self.shards > 0 {
            return self.shards;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// Idle keep-alive timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.http.idle_timeout_secs.max(1))
    }

    /// Whole-request timeout for slow clients.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.http.request_timeout_secs.max(1))
    }

    /// The configured HSS hostname, if any (`0.0.0.0` and empty mean none, as in Clearwater).
    pub fn hss_host(&self) -> Option<&str> {
        self.hss_hostname
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty() && *h != "0.0.0.0")
    }

    /// True when an external HSS is configured: Cx answers the signalling API and the
    /// provisioning API is read-only.
    pub fn hss_mode(&self) -> bool {
        self.hss_host().is_some() || self.hss_realm.is_some() || !self.hss.peers.is_empty()
    }

    /// The Origin-Hosts an incoming Diameter connection may present, or `None` for any
    /// (`[hss] allowed_peers` with `"*"`); `hss_hostname` when none are listed.
    pub fn incoming_peers(&self) -> Option<Vec<String>> {
        if self.hss.allowed_peers.iter().any(|p| p == "*") {
            return None;
        }
        if self.hss.allowed_peers.is_empty() {
            return Some(self.hss_host().map(str::to_owned).into_iter().collect());
        }
        Some(self.hss.allowed_peers.clone())
    }

    /// Our Diameter identity (Origin-Host).
    pub fn diameter_identity(&self) -> String {
        self.hs_diameteridentity
            .clone()
            .unwrap_or_else(|| format!("hearth.{}", self.home_domain))
    }

    /// Our Diameter realm (Origin-Realm).
    pub fn origin_realm(&self) -> &str {
        self.hss
            .origin_realm
            .as_deref()
            .unwrap_or(&self.home_domain)
    }

    /// The HSS's realm (Destination-Realm).
    pub fn destination_realm(&self) -> &str {
        self.hss_realm.as_deref().unwrap_or(&self.home_domain)
    }

    /// How long HSS data is cached: Homestead's `record_ttl`, max(2 × hss_reregistration_time,
    /// reg_max_expires + 10) seconds.
    pub fn record_ttl_secs(&self) -> u64 {
        (2 * self.hss_reregistration_time).max(self.reg_max_expires + 10)
    }

    /// Checks values that would make the server misbehave.
    pub fn validate(&self) -> Result<(), String> {
        if self.shards > 1024 {
            return Err(format!("shards = {} is more than 1024", self.shards));
        }
        if self.home_domain.is_empty() {
            return Err("home_domain must not be empty".into());
        }
        if self.signalling_addr == self.provisioning_addr {
            return Err("signalling_addr and provisioning_addr must differ".into());
        }
        if self.http.max_headers == 0 || self.http.max_head_bytes < 64 {
            return Err("http limits are too small to accept any request".into());
        }
        if !(1..=16).contains(&self.aka.ind_bits) {
            return Err("aka.ind_bits must be between 1 and 16".into());
        }
        if self.hss_mode() {
            if self.max_peers == 0 || self.max_peers > 8 {
                return Err("max_peers must be between 1 and 8".into());
            }
            if !(10..=60_000).contains(&self.diameter_timeout_ms) {
                return Err("diameter_timeout_ms must be between 10 and 60000".into());
            }
            if self.hss.watchdog_interval_ms < 6_000 {
                return Err("hss.watchdog_interval_ms must be at least 6000 (RFC 3539)".into());
            }
            if self.hss.peers.len() > 8 {
                return Err("hss.peers may list at most 8 peers".into());
            }
            if self.hss.diameter_addr.is_some()
                && self.incoming_peers().is_some_and(|peers| peers.is_empty())
            {
                return Err(
                    "hss.diameter_addr needs hss.allowed_peers (or hss_hostname): the \
                            Origin-Hosts allowed to connect, or \"*\" for any"
                        .into(),
                );
            }
            if self.hss.allowed_peers.len() > 64
                || self.hss.allowed_peers.iter().any(|p| p.trim().is_empty())
            {
                return Err("hss.allowed_peers takes at most 64 non-empty names".into());
            }
            if let Some(url) = &self.hss.sip_core_url
                && !url.starts_with("http://")
            {
                return Err("hss.sip_core_url must be an http:// URL".into());
            }
        }
        if self.store == StoreKind::Cassandra {
            self.cassandra.validate()?;
        }
        if let Some(c) = &self.credential {
            c.validate()?;
            if c.addr == self.signalling_addr || c.addr == self.provisioning_addr {
                return Err("credential.addr must differ from the other listeners".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        toml::from_str::<Config>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn hss_mode_follows_clearwater_names() {
        let c = parse("").unwrap();
        assert!(!c.hss_mode());
        let c = parse("hss_hostname = \"0.0.0.0\"\n").unwrap();
        assert!(!c.hss_mode(), "0.0.0.0 means no HSS");
        let c = parse("hss_hostname = \"hss.example.com\"\nhss_port = 3869\n").unwrap();
        assert!(c.hss_mode());
        assert_eq!(c.hss_port, 3869);
        assert_eq!(c.destination_realm(), "example.com");
        assert_eq!(c.diameter_identity(), "hearth.example.com");
        assert_eq!(c.record_ttl_secs(), 3600);
        let c = parse("[hss]\npeers = [\"127.0.0.1:3868\"]\n").unwrap();
        assert!(c.hss_mode());
        c.validate().unwrap();
        let c = parse("hss_realm = \"r\"\n[hss]\nwatchdog_interval_ms = 100\n").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn incoming_diameter_peers_must_be_named() {
        let listener = "[hss]\npeers = [\"127.0.0.1:3868\"]\ndiameter_addr = \"127.0.0.1:3869\"\n";
        let c = parse(listener).unwrap();
        let err = c.validate().unwrap_err();
        assert!(err.contains("allowed_peers"), "{err}");
        let c = parse(&format!("hss_hostname = \"hss.example.net\"\n{listener}")).unwrap();
        c.validate().unwrap();
        assert_eq!(c.incoming_peers(), Some(vec!["hss.example.net".to_owned()]));
        let c = parse(&format!(
            "{listener}allowed_peers = [\"a.example\", \"b.example\"]\n"
        ))
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.incoming_peers().map(|p| p.len()), Some(2));
        let c = parse(&format!("{listener}allowed_peers = [\"*\"]\n")).unwrap();
        c.validate().unwrap();
        assert_eq!(c.incoming_peers(), None);
        let c = parse(&format!("{listener}allowed_peers = [\" \"]\n")).unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn cassandra_section() {
        let c = parse("").unwrap();
        assert_eq!(c.store, StoreKind::Embedded);
        assert_eq!(c.cassandra.consistency, "LOCAL_QUORUM");
        assert_eq!(c.cassandra.query_timeout_ms, 5000);
        let c = parse(
            r#"
store = "cassandra"
[cassandra]
contact_points = ["10.0.0.1:9042", "10.0.0.2:9042"]
local_dc = "dc1"
consistency = "QUORUM"
query_timeout_ms = 2000
keyspace_prefix = "site_a"
[cassandra.replication]
class = "NetworkTopologyStrategy"
datacenters = { dc1 = 3, dc2 = 3 }
"#,
        )
        .unwrap();
        assert_eq!(c.store, StoreKind::Cassandra);
        c.validate().unwrap();
        assert_eq!(c.cassandra.replication.datacenters["dc2"], 3);
        let bad = |text: &str| parse(text).unwrap().validate().is_err();
        assert!(bad(
            "store = \"cassandra\"\n[cassandra]\nkeyspace_prefix = \"A-b\"\n"
        ));
        assert!(bad(
            "store = \"cassandra\"\n[cassandra]\ncontact_points = []\n"
        ));
        assert!(bad(
            "store = \"cassandra\"\n[cassandra.replication]\nclass = \"Other\"\n"
        ));
        assert!(parse("store = \"mysql\"\n").is_err());
    }

    #[test]
    fn credential_section_is_optional() {
        assert!(parse("").unwrap().credential.is_none());
    }

    #[test]
    fn credential_section_parses_every_key() {
        let c = parse(
            r#"
[credential]
addr = "127.0.0.1:9085"
ttl_secs = 3600
secrets = ["new", "old"]
sha = "sha512"
username_format = "user-first"
uris = ["sip:sip.example.com"]
hs256_secret = ["jwt-new", "jwt-old"]
jwks_file = "/etc/hearth/jwks.json"
issuer = "https://idp.example.com"
audience = "hearth"
user_claim = "email"
leeway_secs = 30
rate_limit_per_minute = 6
rate_limit_burst = 2

[credential.static_tokens]
"lab-token" = "alice"
"#,
        )
        .unwrap();
        let c = c.credential.unwrap();
        c.validate().unwrap();
        assert_eq!(c.addr, "127.0.0.1:9085".parse().unwrap());
        assert_eq!(c.ttl_secs, 3600);
        assert_eq!(c.secrets, vec!["new", "old"]);
        assert_eq!(ShaVariant::from(c.sha), ShaVariant::Sha512);
        assert_eq!(
            UsernameFormat::from(c.username_format),
            UsernameFormat::UserFirst
        );
        assert_eq!(c.hs256_secret.values(), vec!["jwt-new", "jwt-old"]);
        assert_eq!(UserClaim::from(c.user_claim), UserClaim::Email);
        assert_eq!(c.static_tokens["lab-token"], "alice");
        assert_eq!((c.rate_limit_per_minute, c.rate_limit_burst), (6, 2));
    }

    #[test]
    fn credential_defaults_and_single_hs256_secret() {
        let c = parse("[credential]\nsecrets = [\"s\"]\nhs256_secret = \"one\"\n")
            .unwrap()
            .credential
            .unwrap();
        assert_eq!(c.addr, "127.0.0.1:8085".parse().unwrap());
        assert_eq!(c.ttl_secs, 86_400);
        assert_eq!(c.sha, ShaName::Sha1);
        assert_eq!(c.username_format, FormatName::ExpiryFirst);
        assert_eq!(c.user_claim, ClaimName::Sub);
        assert_eq!(c.hs256_secret.values(), vec!["one"]);
    }

    #[test]
    fn bad_credential_sections_are_refused() {
        assert!(parse("[credential]\nsecret = \"typo\"\n").is_err());
        assert!(parse("[credential]\nsha = \"md5\"\n").is_err());
        assert!(parse("[credential]\nusername_format = \"expiry_first\"\n").is_err());
        let check = |text: &str| parse(text).unwrap().validate();
        assert!(check("[credential]\n").is_err(), "no secret");
        assert!(check("[credential]\nsecrets = [\"\"]\n").is_err());
        assert!(check("[credential]\nsecrets = [\"a\\\"b\"]\n").is_err());
        assert!(check("[credential]\nsecrets = [\"s\"]\nttl_secs = 0\n").is_err());
        assert!(
            check("[credential]\nsecrets = [\"s\"]\naddr = \"127.0.0.1:8888\"\n").is_err(),
            "same address as the signalling listener"
        );
        assert!(check("[credential]\nsecrets = [\"s\"]\n").is_ok());
    }
}
