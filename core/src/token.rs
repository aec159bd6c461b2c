//! Bearer-token validation for the ephemeral-credential service.
//!
//! A client presents `Authorization: Bearer <token>`; [`TokenValidator::validate`] decides, as a
//! pure function of the token, the configuration and the time passed in, which user the token
//! speaks for. Two kinds of token are understood:
//!
//! - **JWTs** (RFC 7519) signed with HS256 (a shared secret, or several during a rotation) or with
//!   RS256/ES256 (public keys from a JWKS document, RFC 7517, chosen by `kid`). Signatures are
//!   checked by the `jsonwebtoken` crate on its pure-Rust backend; every time-based check (`exp`,
//!   `nbf`, `iat`, with an allowed clock skew) and the `iss`/`aud` checks are done here against
//!   the `now` the caller passes in, so tests control time.
//! - **Static tokens** for labs: a table of opaque token → user, compared in constant time.
//!
//! What is refused, besides bad signatures and claims: `alg: none` and any algorithm not enabled
//! by the configuration, an HS256 token when only public keys are configured (and the reverse:
//! the algorithm picks the key *kind*, so a public key can never be used as an HMAC secret), a
//! `kid` the key set does not hold, a header with `crit` extensions, and tokens longer than
//! [`MAX_TOKEN_LEN`].
//!
//! Error texts ([`TokenError`]'s `Display`) are meant for the `error_description` of a
//! `WWW-Authenticate: Bearer` challenge: printable ASCII without `"` or `\`, and they never echo
//! anything taken from the token.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::crypto::ephemeral::MAX_USER_LEN;

/// Longest token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Most keys a JWKS document may hold.
pub const MAX_JWKS_KEYS: usize = 64;

/// Largest JWKS document accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Smallest RSA modulus accepted from a JWKS, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// A JWS algorithm this validator can accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Alg {
    /// HMAC-SHA-256 with a shared secret.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA public key from the JWKS.
    Rs256,
    /// ECDSA P-256 with SHA-256, EC public key from the JWKS.
    Es256,
}

impl Alg {
    /// The JOSE name (`"HS256"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    fn from_name(name: &str) -> Option<Alg> {
        match name {
            "HS256" => Some(Alg::Hs256),
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            Alg::Hs256 => Algorithm::HS256,
            Alg::Rs256 => Algorithm::RS256,
            Alg::Es256 => Algorithm::ES256,
        }
    }
}

/// Which claim names the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserClaim {
    /// The `sub` claim.
    #[default]
    Sub,
    /// The `email` claim; a token saying `"email_verified": false` is refused.
    Email,
}

impl UserClaim {
    fn name(self) -> &'static str {
        match self {
            UserClaim::Sub => "sub",
            UserClaim::Email => "email",
        }
    }
}

/// Why a token was refused. `Display` gives the `error_description` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Empty token.
    Empty,
    /// Longer than [`MAX_TOKEN_LEN`].
    TooLong,
    /// Not a static token and not a three-part JWS.
    UnknownToken,
    /// The JWT is not well formed (base64, JSON, header fields); the text says what.
    Malformed(&'static str),
    /// `alg: none`.
    AlgNone,
    /// An algorithm this server does not accept (or has no key for).
    AlgorithmNotAccepted,
    /// The header names a `kid` the key set does not hold.
    UnknownKid,
    /// The `kid` names a key of another kind than the algorithm needs.
    KeyAlgorithmMismatch,
    /// No `kid` while several keys could have signed it.
    MissingKid,
    /// The signature does not verify.
    BadSignature,
    /// A claim the validator needs is absent.
    MissingClaim(&'static str),
    /// A time claim (`exp`, `nbf`, `iat`) is not a number.
    BadTimeClaim(&'static str),
    /// `exp` is past (beyond the allowed skew).
    Expired,
    /// `nbf` is in the future (beyond the allowed skew).
    NotYetValid,
    /// `iat` is in the future (beyond the allowed skew).
    IssuedInFuture,
    /// `iss` differs from the configured issuer.
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    WrongAudience,
    /// The user claim is not a string, empty, too long, or has characters a SIP username cannot
    /// carry.
    BadUser,
    /// The token says `"email_verified": false`.
    EmailNotVerified,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            TokenError::Empty => "empty token",
            TokenError::TooLong => "token too long",
            TokenError::UnknownToken => "unknown token",
            TokenError::Malformed(what) => return write!(f, "malformed token: {what}"),
            TokenError::AlgNone => "unsigned tokens (alg none) are not accepted",
            TokenError::AlgorithmNotAccepted => "signature algorithm not accepted",
            TokenError::UnknownKid => "unknown key id",
            TokenError::KeyAlgorithmMismatch => "key id does not match the signature algorithm",
            TokenError::MissingKid => "token has no key id and several keys could verify it",
            TokenError::BadSignature => "signature verification failed",
            TokenError::MissingClaim(claim) => return write!(f, "token has no {claim} claim"),
            TokenError::BadTimeClaim(claim) => {
                return write!(f, "{claim} claim is not a numeric date");
            }
            TokenError::Expired => "token expired",
            TokenError::NotYetValid => "token not valid yet (nbf)",
            TokenError::IssuedInFuture => "token issued in the future (iat)",
            TokenError::WrongIssuer => "wrong issuer",
            TokenError::WrongAudience => "wrong audience",
            TokenError::BadUser => "user claim cannot be used as a SIP user",
            TokenError::EmailNotVerified => "email is not verified",
        };
        f.write_str(text)
    }
}

impl std::error::Error for TokenError {}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The user (from the configured claim, or the static table).
    pub user: String,
    /// How it was authenticated.
    pub source: Source,
}

/// How a [`Subject`] was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A signed JWT.
    Jwt {
        /// Its algorithm.
        alg: Alg,
        /// The key id used, if the key had one.
        kid: Option<String>,
    },
    /// A static token from the table.
    Static,
}

/// One usable public key of a JWKS.
#[derive(Clone)]
struct PublicKey {
    kid: Option<String>,
    alg: Alg,
    key: DecodingKey,
}

/// The public keys of a JWKS document that this validator can use (RSA ≥ 2048 bits for RS256,
/// EC P-256 for ES256), by `kid`.
#[derive(Clone, Default)]
pub struct Jwks {
    keys: Vec<PublicKey>,
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.keys
                    .iter()
                    .map(|k| (k.alg.name(), k.kid.as_deref().unwrap_or("-"))),
            )
            .finish()
    }
}

/// Why a JWKS document was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksError {
    /// Larger than [`MAX_JWKS_BYTES`].
    TooLarge(usize),
    /// Not JSON, or no `keys` array.
    NotAKeySet(String),
    /// More than [`MAX_JWKS_KEYS`] keys.
    TooManyKeys(usize),
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksError::TooLarge(n) => write!(f, "JWKS of {n} bytes is over {MAX_JWKS_BYTES}"),
            JwksError::NotAKeySet(why) => write!(f, "not a JWKS document: {why}"),
            JwksError::TooManyKeys(n) => write!(f, "JWKS has {n} keys, over {MAX_JWKS_KEYS}"),
        }
    }
}

impl std::error::Error for JwksError {}

impl Jwks {
    /// Parses a JWKS document. Keys this validator cannot use (other key types or curves,
    /// `use` other than `sig`, an `alg` other than RS256/ES256, RSA under [`MIN_RSA_BITS`],
    /// malformed members) are skipped, each with a warning in the second element; the document
    /// itself must be a JSON object with a `keys` array.
    pub fn parse(document: &[u8]) -> Result<(Jwks, Vec<String>), JwksError> {
        if document.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge(document.len()));
        }
        let value: Value =
            serde_json::from_slice(document).map_err(|e| JwksError::NotAKeySet(e.to_string()))?;
        let Some(list) = value.get("keys").and_then(Value::as_array) else {
            return Err(JwksError::NotAKeySet("no \"keys\" array".into()));
        };
        if list.len() > MAX_JWKS_KEYS {
            return Err(JwksError::TooManyKeys(list.len()));
        }
        let mut keys = Vec::new();
        let mut warnings = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
            let label = match &kid {
                Some(kid) => format!("key {i} (kid {kid:?})"),
                None => format!("key {i}"),
            };
            match Self::usable_key(entry) {
                Ok(key) => {
                    if key.kid.is_some() && keys.iter().any(|k: &PublicKey| k.kid == key.kid) {
                        warnings.push(format!("{label}: kid already used by an earlier key"));
                    }
                    keys.push(key);
                }
                Err(why) => warnings.push(format!("{label} skipped: {why}")),
            }
        }
        Ok((Jwks { keys }, warnings))
    }

    fn usable_key(entry: &Value) -> Result<PublicKey, String> {
        let jwk: Jwk = serde_json::from_value(entry.clone()).map_err(|e| e.to_string())?;
        if let Some(u) = &jwk.common.public_key_use
            && *u != PublicKeyUse::Signature
        {
            return Err("use is not \"sig\"".into());
        }
        let declared = jwk.common.key_algorithm;
        let (alg, key) = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => {
                if declared.is_some_and(|a| a != KeyAlgorithm::RS256) {
                    return Err("RSA key for an algorithm other than RS256".into());
                }
                let n = B64URL
                    .decode(rsa.n.as_bytes())
                    .map_err(|_| "n is not base64url".to_string())?;
                let bits = significant_bits(&n);
                if bits < MIN_RSA_BITS {
                    return Err(format!(
                        "RSA modulus of {bits} bits is under {MIN_RSA_BITS}"
                    ));
                }
                let key = DecodingKey::from_rsa_components(&rsa.n, &rsa.e)
                    .map_err(|_| "n or e is not base64url".to_string())?;
                (Alg::Rs256, key)
            }
            AlgorithmParameters::EllipticCurve(ec) => {
                if ec.curve != EllipticCurve::P256 {
                    return Err("EC key on a curve other than P-256".into());
                }
                if declared.is_some_and(|a| a != KeyAlgorithm::ES256) {
                    return Err("P-256 key for an algorithm other than ES256".into());
                }
                for (name, coord) in [("x", &ec.x), ("y", &ec.y)] {
                    let bytes = B64URL
                        .decode(coord.as_bytes())
                        .map_err(|_| format!("{name} is not base64url"))?;
                    if bytes.len() != 32 {
                        return Err(format!("{name} is not 32 octets"));
                    }
                }
                let key = DecodingKey::from_ec_components(&ec.x, &ec.y)
                    .map_err(|_| "x or y is not base64url".to_string())?;
                (Alg::Es256, key)
            }
            AlgorithmParameters::OctetKey(_) => {
                return Err("symmetric keys are not taken from a JWKS (use hs256_secret)".into());
            }
            _ => return Err("unsupported key type".into()),
        };
        Ok(PublicKey {
            kid: jwk.common.key_id,
            alg,
            key,
        })
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `kid`s of the usable keys (keys without one are left out).
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref())
    }

    fn has(&self, alg: Alg) -> bool {
        self.keys.iter().any(|k| k.alg == alg)
    }
}

/// Bits of a big-endian unsigned integer, leading zero bits not counted.
fn significant_bits(bytes: &[u8]) -> usize {
    match bytes.iter().position(|&b| b != 0) {
        Some(i) => (bytes.len() - i - 1) * 8 + (8 - bytes[i].leading_zeros() as usize),
        None => 0,
    }
}

/// Everything a [`TokenValidator`] is built from.
#[derive(Clone, Default)]
pub struct TokenConfig {
    /// HS256 secrets; all are accepted (rotation). Empty disables HS256.
    pub hs256_secrets: Vec<Vec<u8>>,
    /// Public keys for RS256/ES256. Empty disables both.
    pub jwks: Jwks,
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Audience that `aud` must contain, if any.
    pub audience: Option<String>,
    /// Which claim names the user.
    pub user_claim: UserClaim,
    /// Allowed clock skew for `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Static tokens: token → user.
    pub static_tokens: BTreeMap<String, String>,
}

/// Validates bearer tokens; cheap to share (immutable once built).
pub struct TokenValidator {
    hs256: Vec<DecodingKey>,
    jwks: Jwks,
    issuer: Option<String>,
    audience: Option<String>,
    user_claim: UserClaim,
    leeway: u64,
    /// SHA-256 of each static token, with its user: compared in constant time, whatever the
    /// lengths.
    statics: Vec<([u8; 32], String)>,
}

impl fmt::Debug for TokenValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenValidator")
            .field("hs256_secrets", &self.hs256.len())
            .field("jwks", &self.jwks)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("user_claim", &self.user_claim)
            .field("leeway", &self.leeway)
            .field("static_tokens", &self.statics.len())
            .finish()
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// A user the ephemeral username can carry (any format): non-empty, bounded, no control
/// characters, quotes or backslashes.
fn valid_user(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= MAX_USER_LEN
        && !user
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
}

impl TokenValidator {
    /// Builds a validator. Fails for an empty HS256 secret, and for a static table entry with an
    /// empty token or a user no SIP username can carry. A validator with nothing to accept with
    /// is allowed (a JWKS emptied to revoke its keys); see [`TokenValidator::accepts_nothing`].
    pub fn new(config: TokenConfig) -> Result<TokenValidator, String> {
        if config.hs256_secrets.iter().any(Vec::is_empty) {
            return Err("an HS256 secret is empty".into());
        }
        for (token, user) in &config.static_tokens {
            if token.is_empty() || token.len() > MAX_TOKEN_LEN {
                return Err(format!(
                    "a static token is empty or longer than {MAX_TOKEN_LEN} bytes"
                ));
            }
            if !valid_user(user) {
                return Err(format!(
                    "static token user {user:?} cannot be carried in a SIP username"
                ));
            }
        }
        Ok(TokenValidator {
            hs256: config
                .hs256_secrets
                .iter()
                .map(|s| DecodingKey::from_secret(s))
                .collect(),
            jwks: config.jwks,
            issuer: config.issuer,
            audience: config.audience,
            user_claim: config.user_claim,
            leeway: config.leeway_secs,
            statics: config
                .static_tokens
                .iter()
                .map(|(t, u)| (sha256(t.as_bytes()), u.clone()))
                .collect(),
        })
    }

    /// True when no token can pass: no HS256 secret, no usable public key, no static token.
    pub fn accepts_nothing(&self) -> bool {
        self.hs256.is_empty() && self.jwks.is_empty() && self.statics.is_empty()
    }

    /// The algorithms this validator accepts (those it has keys for).
    pub fn algorithms(&self) -> Vec<Alg> {
        let mut algs = Vec::new();
        if !self.hs256.is_empty() {
            algs.push(Alg::Hs256);
        }
        for alg in [Alg::Rs256, Alg::Es256] {
            if self.jwks.has(alg) {
                algs.push(alg);
            }
        }
        algs
    }

    /// Decides whom `token` speaks for at `now_unix`.
    pub fn validate(&self, token: &str, now_unix: u64) -> Result<Subject, TokenError> {
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong);
        }
        if !self.statics.is_empty() {
            let presented = sha256(token.as_bytes());
            let mut found: Option<&str> = None;
            // Every entry is compared; the match is remembered without an early exit.
            for (hash, user) in &self.statics {
                let hit: Choice = hash.ct_eq(&presented);
                if bool::from(hit) {
                    found = Some(user);
                }
            }
            if let Some(user) = found {
                return Ok(Subject {
                    user: user.to_owned(),
                    source: Source::Static,
                });
            }
        }
        if token.bytes().filter(|&b| b == b'.').count() != 2 {
            return Err(TokenError::UnknownToken);
        }
        self.validate_jwt(token, now_unix)
    }

    fn validate_jwt(&self, token: &str, now: u64) -> Result<Subject, TokenError> {
        let header_b64 = token.split('.').next().unwrap_or_default();
        let header_bytes = B64URL
            .decode(header_b64.as_bytes())
            .map_err(|_| TokenError::Malformed("header is not base64url"))?;
        let header: Map<String, Value> = serde_json::from_slice(&header_bytes)
            .map_err(|_| TokenError::Malformed("header is not a JSON object"))?;
        let alg_name = match header.get("alg") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(TokenError::Malformed("alg is not a string")),
            None => return Err(TokenError::Malformed("header has no alg")),
        };
        if alg_name.eq_ignore_ascii_case("none") {
            return Err(TokenError::AlgNone);
        }
        if header.contains_key("crit") {
            return Err(TokenError::Malformed(
                "critical header extensions are not supported",
            ));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(TokenError::Malformed("kid is not a string")),
        };
        let alg = Alg::from_name(alg_name).ok_or(TokenError::AlgorithmNotAccepted)?;
        // The algorithm decides where the key comes from: HS256 only ever uses the configured
        // secrets, RS256/ES256 only ever public keys of their own kind. An HS256 token can never
        // be checked against a public key used as an HMAC secret.
        let claims = match alg {
            Alg::Hs256 => {
                if self.hs256.is_empty() {
                    return Err(TokenError::AlgorithmNotAccepted);
                }
                self.verify_any(token, alg, self.hs256.iter())?
            }
            Alg::Rs256 | Alg::Es256 => {
                if !self.jwks.has(alg) {
                    return Err(TokenError::AlgorithmNotAccepted);
                }
                let candidates: Vec<&PublicKey> = match kid {
                    Some(kid) => {
                        let named: Vec<&PublicKey> = self
                            .jwks
                            .keys
                            .iter()
                            .filter(|k| k.kid.as_deref() == Some(kid))
                            .collect();
                        if named.is_empty() {
                            return Err(TokenError::UnknownKid);
                        }
                        let fitting: Vec<&PublicKey> =
                            named.into_iter().filter(|k| k.alg == alg).collect();
                        if fitting.is_empty() {
                            return Err(TokenError::KeyAlgorithmMismatch);
                        }
                        fitting
                    }
                    None => {
                        let fitting: Vec<&PublicKey> =
                            self.jwks.keys.iter().filter(|k| k.alg == alg).collect();
                        if fitting.len() > 1 {
                            return Err(TokenError::MissingKid);
                        }
                        fitting
                    }
                };
                self.verify_any(token, alg, candidates.iter().map(|k| &k.key))?
            }
        };
        self.check_claims(&claims, now)?;
        let user = self.user_of(&claims)?;
        Ok(Subject {
            user,
            source: Source::Jwt {
                alg,
                kid: kid.map(str::to_owned),
            },
        })
    }

    /// Verifies the signature with each key in turn; returns the claims of the first that
    /// verifies.
    fn verify_any<'k>(
        &self,
        token: &str,
        alg: Alg,
        keys: impl Iterator<Item = &'k DecodingKey>,
    ) -> Result<Map<String, Value>, TokenError> {
        let mut validation = Validation::new(alg.jwt());
        // Time, issuer and audience are checked by check_claims with the caller's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        let mut last = TokenError::BadSignature;
        for key in keys {
            match jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind;
                    last = match e.kind() {
                        ErrorKind::InvalidSignature
                        | ErrorKind::InvalidEcdsaKey
                        | ErrorKind::InvalidRsaKey(_)
                        | ErrorKind::InvalidKeyFormat => TokenError::BadSignature,
                        ErrorKind::Base64(_) => TokenError::Malformed("part is not base64url"),
                        ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                            TokenError::Malformed("claims are not a JSON object")
                        }
                        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                            TokenError::AlgorithmNotAccepted
                        }
                        _ => TokenError::Malformed("cannot be decoded"),
                    };
                    // A malformed token fails the same way with every key.
                    if last != TokenError::BadSignature {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }

    fn check_claims(&self, claims: &Map<String, Value>, now: u64) -> Result<(), TokenError> {
        let exp = numeric_date(claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
        // RFC 7519 4.1.4: the token must not be accepted on or after exp.
        if now >= exp.saturating_add(self.leeway) {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = numeric_date(claims, "nbf")?
            && now.saturating_add(self.leeway) < nbf
        {
            return Err(TokenError::NotYetValid);
        }
        if let Some(iat) = numeric_date(claims, "iat")?
            && iat > now.saturating_add(self.leeway)
        {
            return Err(TokenError::IssuedInFuture);
        }
        if let Some(issuer) = &self.issuer {
            match claims.get("iss") {
                Some(Value::String(iss)) if iss == issuer => {}
                None => return Err(TokenError::MissingClaim("iss")),
                Some(_) => return Err(TokenError::WrongIssuer),
            }
        }
        if let Some(audience) = &self.audience {
            let ok = match claims.get("aud") {
                Some(Value::String(aud)) => aud == audience,
                Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
                None => return Err(TokenError::MissingClaim("aud")),
                Some(_) => false,
            };
            if !ok {
                return Err(TokenError::WrongAudience);
            }
        }
        Ok(())
    }

    fn user_of(&self, claims: &Map<String, Value>) -> Result<String, TokenError> {
        let user = match claims.get(self.user_claim.name()) {
            Some(Value::String(user)) => user,
            Some(_) => return Err(TokenError::BadUser),
            None => return Err(TokenError::MissingClaim(self.user_claim.name())),
        };
        if !valid_user(user) {
            return Err(TokenError::BadUser);
        }
        if self.user_claim == UserClaim::Email
            && claims.get("email_verified") == Some(&Value::Bool(false))
        {
            return Err(TokenError::EmailNotVerified);
        }
        Ok(user.clone())
    }
}

/// A NumericDate claim (RFC 7519 §2): seconds since the epoch, possibly fractional (truncated).
/// `Ok(None)` when absent.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, TokenError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let Value::Number(n) = value else {
        return Err(TokenError::BadTimeClaim(name));
    };
    if let Some(v) = n.as_u64() {
        return Ok(Some(v));
    }
    match n.as_f64() {
        Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f.min(u64::MAX as f64) as u64)),
        _ => Err(TokenError::BadTimeClaim(name)),
    }
}

#[cfg(test)]
mod tests;
