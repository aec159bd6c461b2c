//! Server configuration: defaults, the TOML file (`--config`) and command-line overrides.
//!
//! Names follow what operators know: Clearwater's shared_config names (`home_domain`, `scscf_uri`,
//! `hss_reregistration_time`, `reg_max_expires`, ...) for the Homestead side.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The whole configuration of one `hearth serve` process.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
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
    /// HTTP limits and timeouts.
    pub http: HttpConfig,
    /// AKA settings.
    pub aka: AkaConfig,
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

/// Settings of local AKA vector generation.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AkaConfig {
    /// Width of the IND part of SQN (TS 33.102 Annex C).
    pub ind_bits: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("hearth-data"),
            shards: 0,
            signalling_addr: ([127, 0, 0, 1], 8888).into(),
            provisioning_addr: ([127, 0, 0, 1], 8889).into(),
            home_domain: "example.com".into(),
            scscf_uri: "sip:scscf.example.com:5054;transport=TCP".into(),
            hss_reregistration_time: 1800,
            reg_max_expires: 300,
            http: HttpConfig::default(),
            aka: AkaConfig::default(),
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
        Ok(())
    }
}
