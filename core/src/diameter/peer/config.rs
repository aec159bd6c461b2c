//! What a [`Peer`](super::Peer) says about itself in CER/CEA and how it times things: identity,
//! applications, the RFC 3539 watchdog interval, timeouts, limits and the seeds that make it
//! deterministic.

use std::fmt;
use std::net::IpAddr;

use crate::diameter::DEFAULT_MAX_MESSAGE_LEN;
use crate::diameter::dict::{VENDOR_3GPP, app};

/// One application advertised in CER/CEA.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Application {
    /// Vendor-Id of a vendor-specific application (advertised inside
    /// Vendor-Specific-Application-Id); `None` for an IETF application (a bare
    /// Auth-Application-Id).
    pub vendor_id: Option<u32>,
    /// The Auth-Application-Id.
    pub application_id: u32,
}

impl Application {
    /// Cx/Dx (TS 29.229), 3GPP vendor-specific.
    pub const CX: Self = Self::vendor_specific(VENDOR_3GPP, app::CX);
    /// Sh (TS 29.329), 3GPP vendor-specific.
    pub const SH: Self = Self::vendor_specific(VENDOR_3GPP, app::SH);
    /// Zh (TS 29.109), 3GPP vendor-specific.
    pub const ZH: Self = Self::vendor_specific(VENDOR_3GPP, app::ZH);

    /// A vendor-specific application.
    pub const fn vendor_specific(vendor_id: u32, application_id: u32) -> Self {
        Self {
            vendor_id: Some(vendor_id),
            application_id,
        }
    }

    /// An IETF application.
    pub const fn ietf(application_id: u32) -> Self {
        Self {
            vendor_id: None,
            application_id,
        }
    }
}

/// RFC 3539 §3.4.1: the watchdog interval must not be set below 6 seconds.
pub const MIN_WATCHDOG_INTERVAL_MS: u64 = 6_000;
/// RFC 3539 §3.4.1: the default watchdog interval, 30 seconds.
pub const DEFAULT_WATCHDOG_INTERVAL_MS: u64 = 30_000;
/// RFC 3539 §3.4.1: the watchdog interval is jittered by up to ±2 seconds.
pub const DEFAULT_WATCHDOG_JITTER_MS: u64 = 2_000;
/// Per-request timeout: Homestead's `diameter_timeout_ms` (twice its 100 ms target latency).
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 200;
/// Time allowed to connect and exchange CER/CEA, and to wait for a DPA.
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 5_000;

/// The local node as a Diameter peer: identity and capabilities sent in CER/CEA, timers, limits
/// and seeds. Build one with [`PeerConfig::new`] and adjust the public fields.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PeerConfig {
    /// Origin-Host: our DiameterIdentity.
    pub origin_host: String,
    /// Origin-Realm.
    pub origin_realm: String,
    /// Host-IP-Address values (at least one).
    pub host_ip_addresses: Vec<IpAddr>,
    /// Vendor-Id of the product (the IANA enterprise number of its vendor; 0 when it has none).
    pub vendor_id: u32,
    /// Product-Name.
    pub product_name: String,
    /// Firmware-Revision, if any.
    pub firmware_revision: Option<u32>,
    /// Origin-State-Id: must grow each time the node restarts with its state lost (the shell
    /// typically uses its start time in seconds).
    pub origin_state_id: u32,
    /// Applications advertised; a peer must share at least one.
    pub applications: Vec<Application>,
    /// Supported-Vendor-Id values.
    pub supported_vendor_ids: Vec<u32>,
    /// Tw, the RFC 3539 watchdog interval (at least [`MIN_WATCHDOG_INTERVAL_MS`]). Also the delay
    /// between reconnection attempts.
    pub watchdog_interval_ms: u64,
    /// Tw is drawn uniformly from `watchdog_interval_ms ± watchdog_jitter_ms` each time the timer
    /// is set, so that peers do not probe in lockstep (less than half the interval).
    pub watchdog_jitter_ms: u64,
    /// How long a request waits for its answer, failovers included.
    pub request_timeout_ms: u64,
    /// How long a connection attempt and the CER/CEA exchange may take, and how long a DPA is
    /// awaited after our DPR.
    pub handshake_timeout_ms: u64,
    /// Most requests awaiting an answer on one connection.
    pub max_pending_requests: usize,
    /// Most requests from the peer handed to the caller and not yet answered; beyond this they
    /// are answered with `DIAMETER_TOO_BUSY` (3004).
    pub max_incoming_requests: usize,
    /// Largest message accepted from the peer; a longer one closes the connection.
    pub max_message_len: usize,
    /// Origin-Hosts accepted in the CER of an incoming connection; `None` accepts any, others are
    /// answered with `DIAMETER_UNKNOWN_PEER` (3010).
    pub allowed_peers: Option<Vec<String>>,
    /// Seed of the generator for watchdog jitter and the first Hop-by-Hop Identifier (the shell
    /// passes a random value; tests pass a fixed one).
    pub seed: u64,
    /// Wall-clock start time in seconds since the Unix epoch: its low 12 bits become the high
    /// bits of the first End-to-End Identifier (RFC 6733 §3).
    pub start_time_unix_s: u64,
}

impl PeerConfig {
    /// A configuration with Hearth's defaults: Product-Name "Hearth", Vendor-Id 0, Cx, Sh and Zh
    /// as 3GPP vendor-specific applications, Supported-Vendor-Id 10415, Tw 30 s ± 2 s, request
    /// timeout 200 ms, handshake timeout 5 s, seed and start time 0.
    pub fn new(
        origin_host: impl Into<String>,
        origin_realm: impl Into<String>,
        host_ip_addresses: Vec<IpAddr>,
    ) -> Self {
        Self {
            origin_host: origin_host.into(),
            origin_realm: origin_realm.into(),
            host_ip_addresses,
            vendor_id: 0,
            product_name: "Hearth".to_owned(),
            firmware_revision: None,
            origin_state_id: 0,
            applications: vec![Application::CX, Application::SH, Application::ZH],
            supported_vendor_ids: vec![VENDOR_3GPP],
            watchdog_interval_ms: DEFAULT_WATCHDOG_INTERVAL_MS,
            watchdog_jitter_ms: DEFAULT_WATCHDOG_JITTER_MS,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            handshake_timeout_ms: DEFAULT_HANDSHAKE_TIMEOUT_MS,
            max_pending_requests: 4096,
            max_incoming_requests: 1024,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            allowed_peers: None,
            seed: 0,
            start_time_unix_s: 0,
        }
    }

    /// Checks what the messages built from this configuration and the timers rely on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("Origin-Host", &self.origin_host),
            ("Origin-Realm", &self.origin_realm),
        ] {
            if !is_identity(value) {
                return Err(ConfigError::InvalidIdentity(name));
            }
        }
        if let Some(allowed) = &self.allowed_peers
            && allowed.iter().any(|host| !is_identity(host))
        {
            return Err(ConfigError::InvalidIdentity("allowed peer"));
        }
        if self.host_ip_addresses.is_empty() {
            return Err(ConfigError::NoHostIpAddress);
        }
        if self.applications.is_empty() {
            return Err(ConfigError::NoApplication);
        }
        if self.product_name.len() > MAX_PRODUCT_NAME_LEN {
            return Err(ConfigError::ProductNameTooLong);
        }
        if self.watchdog_interval_ms < MIN_WATCHDOG_INTERVAL_MS {
            return Err(ConfigError::WatchdogIntervalTooShort);
        }
        if self.watchdog_jitter_ms.saturating_mul(2) >= self.watchdog_interval_ms {
            return Err(ConfigError::WatchdogJitterTooLarge);
        }
        if self.request_timeout_ms == 0 || self.handshake_timeout_ms == 0 {
            return Err(ConfigError::ZeroTimeout);
        }
        if self.max_pending_requests == 0 || self.max_incoming_requests == 0 {
            return Err(ConfigError::ZeroLimit);
        }
        if self.max_message_len < crate::diameter::HEADER_LEN {
            return Err(ConfigError::ZeroLimit);
        }
        Ok(())
    }

    /// The Application-IDs advertised.
    pub fn application_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.applications.iter().map(|a| a.application_id)
    }
}

/// Product-Name is free text; this bound keeps every CER/CEA far below any length limit.
const MAX_PRODUCT_NAME_LEN: usize = 1024;

fn is_identity(value: &str) -> bool {
    !value.is_empty() && value.len() <= 255 && value.bytes().all(|b| b.is_ascii_graphic())
}

/// Why a [`PeerConfig`] cannot be used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConfigError {
    /// An Origin-Host, Origin-Realm or allowed peer that is not 1 to 255 printable ASCII
    /// characters (the field is named).
    InvalidIdentity(&'static str),
    /// No Host-IP-Address (CER and CEA require one).
    NoHostIpAddress,
    /// No application to advertise.
    NoApplication,
    /// A Product-Name longer than 1024 octets.
    ProductNameTooLong,
    /// Tw below the 6 seconds RFC 3539 allows.
    WatchdogIntervalTooShort,
    /// A jitter of half the watchdog interval or more.
    WatchdogJitterTooLarge,
    /// A request or handshake timeout of zero.
    ZeroTimeout,
    /// A limit of zero pending requests, or a message limit below the header length.
    ZeroLimit,
    /// A pool with no peer allowed, or more than 16 peers in all.
    PeerCount,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidIdentity(name) => {
                write!(f, "{name} must be 1 to 255 printable ASCII characters")
            }
            Self::NoHostIpAddress => f.write_str("at least one Host-IP-Address is required"),
            Self::NoApplication => f.write_str("at least one application is required"),
            Self::ProductNameTooLong => f.write_str("Product-Name is longer than 1024 octets"),
            Self::WatchdogIntervalTooShort => write!(
                f,
                "the watchdog interval must be at least {MIN_WATCHDOG_INTERVAL_MS} ms (RFC 3539)"
            ),
            Self::WatchdogJitterTooLarge => {
                f.write_str("the watchdog jitter must be less than half the interval")
            }
            Self::ZeroTimeout => f.write_str("timeouts must be positive"),
            Self::ZeroLimit => f.write_str("limits must be positive"),
            Self::PeerCount => f.write_str("a pool holds 1 to 16 peers in all"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// End-to-End Identifiers (RFC 6733 §3): the first one has the low 12 bits of the start time in
/// its high 12 bits and a random low 20 bits, as the RFC suggests; the following ones count up
/// from there, so no value repeats before 2^32 requests (the RFC asks for four minutes).
///
/// A sequence can be split into interleaved partitions ([`EndToEndIds::partition`]) so that
/// several peers of one node draw from it without ever meeting.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EndToEndIds {
    next: u32,
    stride: u32,
}

impl EndToEndIds {
    /// The sequence starting at `(start_unix_s mod 4096) << 20 | (random mod 2^20)`.
    pub const fn new(start_unix_s: u64, random: u32) -> Self {
        Self {
            next: ((start_unix_s & 0xFFF) as u32) << 20 | (random & 0x000F_FFFF),
            stride: 1,
        }
    }

    /// Partition `index` of `count` interleaved partitions of this sequence: every `count`-th
    /// value, starting `index` values in. `count` is rounded up to a power of two so partitions
    /// stay disjoint when the 32-bit counter wraps; `index` is taken modulo it.
    pub const fn partition(&self, index: u32, count: u32) -> Self {
        let count = match count.checked_next_power_of_two() {
            Some(count) => count,
            None => 1 << 31,
        };
        let stride = self.stride.wrapping_mul(count);
        let stride = if stride == 0 { self.stride } else { stride };
        Self {
            next: self
                .next
                .wrapping_add(self.stride.wrapping_mul(index % count)),
            stride,
        }
    }

    /// The next identifier.
    pub fn next_id(&mut self) -> u32 {
        let id = self.next;
        self.next = self.next.wrapping_add(self.stride);
        id
    }

    /// The identifier [`EndToEndIds::next_id`] will return next.
    pub const fn peek(&self) -> u32 {
        self.next
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seeded generator for watchdog jitter and
/// starting identifiers. These need spread, not secrecy, and a sans-IO state machine must be
/// reproducible from its inputs, so it is seeded by the caller instead of reading OS entropy.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) const fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..=max`.
    pub(crate) fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(bound) => self.next_u64() % bound,
            None => self.next_u64(),
        }
    }
}
