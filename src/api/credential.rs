//! The ephemeral SIP credential service (the reTHINK "Ephemeral Authentication Provider"):
//! `GET|POST /credential` with `Authorization: Bearer <token>` on its own listener answers
//! credentials Kamailio's `auth_ephemeral` accepts. See docs/credential.md.
//!
//! The token is validated on the shard that accepted the connection (`hearth_core::token`, a pure
//! function). The per-subject rate limit is kept by the subject's owning shard
//! (`engine::route::owner_shard`), so the limit is exact whatever shard a request lands on. The
//! credential itself is an HMAC computed where the request was accepted.
//!
//! The validator is shared by every shard behind a `RwLock<Arc<_>>` that shards only clone; a
//! background thread re-reads the JWKS file when it changes (checked once a second) and swaps in
//! a new validator. No shard ever does file IO for this.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, UNIX_EPOCH};

use hearth_core::crypto::ephemeral::{self, EphemeralError, ShaVariant, UsernameFormat};
use hearth_core::http::{Method, Request, Response};
use hearth_core::ratelimit::{RateLimiter, retry_after_secs};
use hearth_core::token::{Jwks, MAX_JWKS_BYTES, TokenConfig, TokenValidator};
use serde_json::json;

use super::method_not_allowed;
use crate::config::CredentialConfig;
use crate::engine::{Shard, unix_now};

/// The path the service answers on.
pub const PATH: &str = "/credential";

/// Realm of the Bearer challenge.
const REALM: &str = "hearth";

/// Most subjects whose rate-limit state one shard keeps.
const MAX_RATE_SUBJECTS: usize = 100_000;

/// How often the JWKS file's metadata is looked at.
const JWKS_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Everything the service needs, shared read-only by every shard (only the validator changes,
/// swapped whole).
pub struct Service {
    validator: RwLock<Arc<TokenValidator>>,
    /// The token settings minus the JWKS, to rebuild the validator on a reload.
    base: TokenConfig,
    jwks_file: Option<PathBuf>,
    secrets: Vec<Vec<u8>>,
    sha: ShaVariant,
    format: UsernameFormat,
    ttl_secs: u64,
    uris: Vec<String>,
    rate_per_minute: u32,
    rate_burst: u32,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("jwks_file", &self.jwks_file)
            .field("secrets", &self.secrets.len())
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

/// What identifies a version of the JWKS file: a change to any of these triggers a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified_ns: u128,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    let modified_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Some(FileStamp {
        modified_ns,
        len: meta.len(),
        inode: meta.ino(),
    })
}

/// Reads and parses a JWKS file (bounded), logging keys that were skipped.
fn load_jwks(path: &Path) -> Result<Jwks, String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read JWKS file {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_JWKS_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read JWKS file {}: {e}", path.display()))?;
    let (jwks, warnings) =
        Jwks::parse(&bytes).map_err(|e| format!("JWKS file {}: {e}", path.display()))?;
    for w in warnings {
        tracing::warn!(file = %path.display(), "JWKS: {w}");
    }
    Ok(jwks)
}

impl Service {
    /// Builds the service from its configuration, reading the JWKS file if one is set.
    pub fn from_config(c: &CredentialConfig) -> Result<Service, String> {
        c.validate()?;
        let base = TokenConfig {
            hs256_secrets: c
                .hs256_secret
                .values()
                .into_iter()
                .map(String::into_bytes)
                .collect(),
            jwks: Jwks::default(),
            issuer: c.issuer.clone(),
            audience: c.audience.clone(),
            user_claim: c.user_claim.into(),
            leeway_secs: c.leeway_secs,
            static_tokens: c.static_tokens.clone(),
        };
        let mut config = base.clone();
        if let Some(path) = &c.jwks_file {
            config.jwks = load_jwks(path)?;
        }
        let validator =
            TokenValidator::new(config).map_err(|e| format!("credential token settings: {e}"))?;
        if validator.accepts_nothing() {
            return Err(
                "credential service cannot accept any token: set hs256_secret, a jwks_file with \
                 usable keys, or static_tokens"
                    .into(),
            );
        }
        Ok(Service {
            validator: RwLock::new(Arc::new(validator)),
            base,
            jwks_file: c.jwks_file.clone(),
            secrets: c.secrets.iter().map(|s| s.as_bytes().to_vec()).collect(),
            sha: c.sha.into(),
            format: c.username_format.into(),
            ttl_secs: c.ttl_secs,
            uris: c.uris.clone(),
            rate_per_minute: c.rate_limit_per_minute,
            rate_burst: c.rate_limit_burst,
        })
    }

    /// The current validator (a cheap clone; the lock is held only for it).
    fn validator(&self) -> Arc<TokenValidator> {
        match self.validator.read() {
            Ok(v) => Arc::clone(&v),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// A fresh per-shard rate limiter with the configured rates.
    pub fn rate_limiter(&self) -> RateLimiter {
        RateLimiter::new(self.rate_per_minute, self.rate_burst, MAX_RATE_SUBJECTS)
    }

    /// Starts the thread that reloads the JWKS file when it changes, if one is configured. It
    /// stops once `shutdown` is set.
    pub fn spawn_reloader(self: &Arc<Self>, shutdown: Arc<AtomicBool>) -> Option<JoinHandle<()>> {
        let path = self.jwks_file.clone()?;
        let service = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("hearth-jwks".into())
            .spawn(move || service.reload_loop(&path, &shutdown));
        match spawned {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the JWKS reload thread: keys stay as loaded");
                None
            }
        }
    }

    fn reload_loop(&self, path: &Path, shutdown: &AtomicBool) {
        let mut seen = stamp(path);
        let mut next_check = Instant::now() + JWKS_CHECK_INTERVAL;
        while !shutdown.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if Instant::now() < next_check {
                continue;
            }
            next_check = Instant::now() + JWKS_CHECK_INTERVAL;
            let now = stamp(path);
            if now == seen {
                continue;
            }
            seen = now;
            if now.is_none() {
                tracing::warn!(file = %path.display(), "JWKS file is gone: keeping the keys loaded");
                continue;
            }
            self.reload(path);
        }
    }

    /// Re-reads the JWKS file and installs a validator built from it. A file that cannot be read
    /// or parsed (say, half written) leaves the current keys in place; a well-formed file is
    /// installed even with no usable key (that is how keys are revoked).
    fn reload(&self, path: &Path) {
        let jwks = match load_jwks(path) {
            Ok(jwks) => jwks,
            Err(e) => {
                tracing::warn!("{e}: keeping the keys loaded");
                return;
            }
        };
        let kids: Vec<String> = jwks.kids().map(str::to_owned).collect();
        let mut config = self.base.clone();
        config.jwks = jwks;
        match TokenValidator::new(config) {
            Ok(validator) => {
                if validator.accepts_nothing() {
                    tracing::warn!(file = %path.display(), "JWKS has no usable key: every token is refused");
                }
                match self.validator.write() {
                    Ok(mut slot) => *slot = Arc::new(validator),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(validator),
                }
                tracing::info!(file = %path.display(), ?kids, "JWKS reloaded");
            }
            Err(e) => tracing::warn!("JWKS reload: {e}: keeping the keys loaded"),
        }
    }
}

/// The `modparam` lines that configure Kamailio's `auth_ephemeral` for `c`: every secret (the
/// module tries them all), the hash and the username format.
pub fn kamailio_params(c: &CredentialConfig) -> String {
    let mut out = String::new();
    for secret in &c.secrets {
        out.push_str(&format!(
            "modparam(\"auth_ephemeral\", \"secret\", \"{secret}\")\n"
        ));
    }
    let sha: ShaVariant = c.sha.into();
    let format: UsernameFormat = c.username_format.into();
    out.push_str(&format!(
        "modparam(\"auth_ephemeral\", \"sha_algorithm\", {})\n",
        sha.module_param()
    ));
    out.push_str(&format!(
        "modparam(\"auth_ephemeral\", \"username_format\", {})\n",
        format.module_param()
    ));
    out
}

/// Milliseconds on a process-wide monotonic clock (for the rate limiter).
pub fn monotonic_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// No usable token: the plain challenge (RFC 6750 §3).
fn challenge() -> Response {
    no_store(
        Response::json(
            401,
            json!({"error": "unauthorized", "error_description": "bearer token required"})
                .to_string(),
        )
        .with_header("WWW-Authenticate", format!("Bearer realm=\"{REALM}\"")),
    )
}

/// A refused token (RFC 6750 §3.1 `invalid_token`). `description` is header-safe text.
fn invalid_token(description: &str) -> Response {
    no_store(
        Response::json(
            401,
            json!({"error": "invalid_token", "error_description": description}).to_string(),
        )
        .with_header(
            "WWW-Authenticate",
            format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{description}\""
            ),
        ),
    )
}

fn no_store(resp: Response) -> Response {
    resp.with_header("Cache-Control", "no-store")
        .with_header("Pragma", "no-cache")
}

fn json_error(status: u16, error: &str, description: &str) -> Response {
    no_store(Response::json(
        status,
        json!({"error": error, "error_description": description}).to_string(),
    ))
}

/// The bearer token of an `Authorization` header, if it uses the Bearer scheme.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let (scheme, rest) = match value.iter().position(|&b| b == b' ' || b == b'\t') {
        Some(i) => (&value[..i], &value[i..]),
        None => (value, &[][..]),
    };
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| rest.trim_ascii())
}

/// Serves one request on the credential listener.
pub async fn handle(shard: &Rc<Shard>, request: &Request) -> Response {
    let Some(service) = shard.credential.as_ref() else {
        return super::error(404, "the credential service is not configured");
    };
    if request.path() != PATH {
        return super::error(404, "not found; the credential service answers /credential");
    }
    if !matches!(request.method, Method::Get | Method::Post) {
        return method_not_allowed("GET, POST");
    }
    let Some(token) = request.header("authorization").and_then(bearer_token) else {
        return challenge();
    };
    let Ok(token) = std::str::from_utf8(token) else {
        return invalid_token("malformed token: not UTF-8");
    };
    let subject = match service.validator().validate(token, unix_now()) {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(reason = %e, "bearer token refused");
            return invalid_token(&e.to_string());
        }
    };
    if let Err(wait_ms) = shard.rate_check(&subject.user).await {
        let secs = retry_after_secs(wait_ms);
        tracing::debug!(user = %subject.user, retry_after = secs, "credential rate limit");
        return json_error(
            429,
            "rate_limited",
            &format!("too many credential requests for this subject; retry in {secs} s"),
        )
        .with_header("Retry-After", secs.to_string());
    }
    let Some(secret) = service.secrets.first() else {
        return json_error(500, "server_error", "no credential secret configured");
    };
    let credential = match ephemeral::issue(
        &subject.user,
        unix_now(),
        service.ttl_secs,
        service.format,
        secret,
        service.sha,
    ) {
        Ok(c) => c,
        Err(
            e @ (EphemeralError::UserContainsColon
            | EphemeralError::UserTooLong(_)
            | EphemeralError::UserHasForbiddenCharacter),
        ) => {
            return json_error(403, "invalid_user", &e.to_string());
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot issue a credential");
            return json_error(500, "server_error", "cannot issue a credential");
        }
    };
    tracing::debug!(user = %subject.user, expires = credential.expires, "credential issued");
    let body = json!({
        "username": credential.username,
        "password": credential.password,
        "ttl": service.ttl_secs,
        "expires": credential.expires,
        "uris": service.uris,
    });
    no_store(Response::json(200, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_trimmed() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer   abc  "), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"BEARER\tabc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Bearer"), Some(&b""[..]));
        assert_eq!(bearer_token(b"Basic YWxpY2U6cHc="), None);
        assert_eq!(bearer_token(b"Bearerabc"), None);
        assert_eq!(bearer_token(b""), None);
    }

    #[test]
    fn kamailio_lines_follow_the_config() {
        let c = CredentialConfig {
            secrets: vec!["new".into(), "old".into()],
            sha: crate::config::ShaName::Sha256,
            username_format: crate::config::FormatName::UserFirst,
            ..Default::default()
        };
        assert_eq!(
            kamailio_params(&c),
            "modparam(\"auth_ephemeral\", \"secret\", \"new\")\n\
             modparam(\"auth_ephemeral\", \"secret\", \"old\")\n\
             modparam(\"auth_ephemeral\", \"sha_algorithm\", 1)\n\
             modparam(\"auth_ephemeral\", \"username_format\", 0)\n"
        );
    }
}
