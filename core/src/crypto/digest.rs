//! HTTP and SIP digest computations (RFC 2617, RFC 7616; SIP uses the same construction per RFC 3261).
//!
//! Every step of the calculation is a public function so that a caller can show its intermediate
//! values (the `naf-digest` tool prints HA1, HA2 and the response):
//!
//! - [`ha1`] / [`ha1_from_stored`]: `H(A1)`, from a password or from a stored `H(username:realm:password)`;
//! - [`ha2`]: `H(A2)` for a request (`auth-int` also hashes the body);
//! - [`response`]: the `response` parameter of an `Authorization` header;
//! - [`rspauth`]: the `rspauth` parameter of an `Authentication-Info` header;
//! - [`verify`]: a server's whole check of parsed credentials against the challenge it issued.
//!
//! Each returns a [`DigestValue`], which holds the raw hash and its lowercase hex form. Hash inputs
//! that the RFCs write as `H(...)` of a previous hash use that hash's lowercase hex text.
//!
//! For the `-sess` algorithms the session HA1 is `H(hex(H(user:realm:password)):nonce:cnonce)`, as
//! RFC 7616 §3.4.2 specifies and curl, Apache and Python do. RFC 2617's sample C code instead fed the
//! 16 raw bytes of the inner hash; that variant is not supported.

use std::fmt;
use std::str::FromStr;

use md5::Md5;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::digest_header::{AlgorithmParam, DigestChallenge, DigestCredentials};

/// The longest output of any supported hash (SHA-256), in bytes.
const MAX_DIGEST_LEN: usize = 32;

/// A digest algorithm as named in the `algorithm` parameter (RFC 7616 §3.3 and §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// `MD5` (the default when the parameter is absent).
    Md5,
    /// `MD5-sess`: HA1 is bound to the nonce and client nonce.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`: HA1 is bound to the nonce and client nonce.
    Sha256Sess,
}

impl DigestAlgorithm {
    /// The algorithm used when a header carries no `algorithm` parameter (RFC 7616 §3.3).
    pub const DEFAULT: DigestAlgorithm = DigestAlgorithm::Md5;

    /// Parses a wire name (`MD5`, `MD5-sess`, `SHA-256`, `SHA-256-sess`), ignoring ASCII case.
    pub fn from_wire(name: &str) -> Option<DigestAlgorithm> {
        [
            DigestAlgorithm::Md5,
            DigestAlgorithm::Md5Sess,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|algorithm| algorithm.wire_name().eq_ignore_ascii_case(name))
    }

    /// The name written in headers, in the RFC's spelling.
    pub fn wire_name(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Md5Sess => "MD5-sess",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether this is a `-sess` variant, whose HA1 also covers the nonce and client nonce.
    pub fn is_session(self) -> bool {
        matches!(self, DigestAlgorithm::Md5Sess | DigestAlgorithm::Sha256Sess)
    }

    /// The length of the raw hash output in bytes (16 for MD5, 32 for SHA-256).
    pub fn output_len(self) -> usize {
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => 16,
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => 32,
        }
    }

    /// Hashes the `parts` joined by `:`, the shape of every digest input.
    fn hash_joined(self, parts: &[&[u8]]) -> DigestValue {
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => {
                let mut hasher = Md5::new();
                feed_joined(&mut hasher, parts);
                DigestValue::from_raw(&hasher.finalize())
            }
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => {
                let mut hasher = Sha256::new();
                feed_joined(&mut hasher, parts);
                DigestValue::from_raw(&hasher.finalize())
            }
        }
    }
}

fn feed_joined<H: sha2::Digest>(hasher: &mut H, parts: &[&[u8]]) {
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            hasher.update(b":");
        }
        hasher.update(part);
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

impl FromStr for DigestAlgorithm {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        DigestAlgorithm::from_wire(name).ok_or(UnknownName {
            kind: "digest algorithm",
        })
    }
}

/// Quality of protection (`qop`). Its absence (the RFC 2069 compatible form) is `Option::None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: authentication only.
    Auth,
    /// `auth-int`: authentication with integrity protection of the message body.
    AuthInt,
}

impl Qop {
    /// Parses a wire name (`auth`, `auth-int`), ignoring ASCII case.
    pub fn from_wire(name: &str) -> Option<Qop> {
        [Qop::Auth, Qop::AuthInt]
            .into_iter()
            .find(|qop| qop.wire_name().eq_ignore_ascii_case(name))
    }

    /// The name written in headers.
    pub fn wire_name(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

impl FromStr for Qop {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Qop::from_wire(name).ok_or(UnknownName { kind: "qop" })
    }
}

/// A name that is not one of the known algorithm or qop names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownName {
    kind: &'static str,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} name", self.kind)
    }
}

impl std::error::Error for UnknownName {}

/// One digest output: the raw hash bytes and their lowercase hex text.
///
/// Equality (`==`) compares the bytes in constant time, so comparing a computed value with one
/// derived from a request does not leak how many leading bytes matched.
#[derive(Clone, Copy)]
pub struct DigestValue {
    raw: [u8; MAX_DIGEST_LEN],
    hex: [u8; 2 * MAX_DIGEST_LEN],
    len: usize,
}

impl DigestValue {
    /// Wraps a hash output; at most 32 bytes are kept (the longest supported hash).
    fn from_raw(bytes: &[u8]) -> DigestValue {
        let len = bytes.len().min(MAX_DIGEST_LEN);
        let mut raw = [0u8; MAX_DIGEST_LEN];
        let mut hex_text = [0u8; 2 * MAX_DIGEST_LEN];
        raw[..len].copy_from_slice(&bytes[..len]);
        // The buffers are sized for each other, so encoding cannot fail.
        let encoded = hex::encode_to_slice(&raw[..len], &mut hex_text[..2 * len]);
        debug_assert!(encoded.is_ok());
        DigestValue {
            raw,
            hex: hex_text,
            len,
        }
    }

    /// Parses a hex digest of exactly `len` bytes (either letter case); `None` if malformed.
    fn from_hex(text: &str, len: usize) -> Option<DigestValue> {
        let mut raw = [0u8; MAX_DIGEST_LEN];
        let target = raw.get_mut(..len)?;
        hex::decode_to_slice(text, target).ok()?;
        Some(DigestValue::from_raw(target))
    }

    /// The raw hash bytes (16 for MD5, 32 for SHA-256), e.g. for printing as base64.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw[..self.len]
    }

    /// The lowercase hex text, the form digest headers and the next hashing step use.
    pub fn as_hex(&self) -> &str {
        // Only ASCII hex digits are ever stored, so this conversion cannot fail.
        std::str::from_utf8(&self.hex[..2 * self.len]).unwrap_or_default()
    }

    /// Compares with a hex digest received from outside, ignoring letter case, in constant time
    /// (apart from the length, which is public).
    pub fn matches_hex(&self, candidate: &str) -> bool {
        match DigestValue::from_hex(candidate, self.len) {
            Some(other) => *self == other,
            None => false,
        }
    }
}

impl PartialEq for DigestValue {
    fn eq(&self, other: &DigestValue) -> bool {
        self.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl Eq for DigestValue {}

impl fmt::Display for DigestValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_hex())
    }
}

impl fmt::Debug for DigestValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DigestValue({})", self.as_hex())
    }
}

/// `H(A1)` from a password (RFC 7616 §3.4.2).
///
/// `password` is bytes because GBA and AKA use raw key material (Ks_NAF, RES) as the password. For
/// the `-sess` algorithms the result is `H(H(username:realm:password):nonce:cnonce)`; for the
/// others `nonce` and `cnonce` are ignored.
pub fn ha1(
    algorithm: DigestAlgorithm,
    username: &str,
    realm: &str,
    password: &[u8],
    nonce: &str,
    cnonce: &str,
) -> DigestValue {
    let user_ha1 = algorithm.hash_joined(&[username.as_bytes(), realm.as_bytes(), password]);
    session_ha1(algorithm, user_ha1, nonce, cnonce)
}

/// `H(A1)` from a stored `H(username:realm:password)` in hex (Homestead's `digest_ha1`).
///
/// For the `-sess` algorithms the stored value is bound to `nonce` and `cnonce`; for the others it is
/// returned normalised to lowercase. Fails if the stored value is not hex of the algorithm's length.
pub fn ha1_from_stored(
    algorithm: DigestAlgorithm,
    stored_ha1_hex: &str,
    nonce: &str,
    cnonce: &str,
) -> Result<DigestValue, InvalidStoredHa1> {
    let user_ha1 =
        DigestValue::from_hex(stored_ha1_hex, algorithm.output_len()).ok_or(InvalidStoredHa1 {
            expected_hex_len: 2 * algorithm.output_len(),
            found_len: stored_ha1_hex.len(),
        })?;
    Ok(session_ha1(algorithm, user_ha1, nonce, cnonce))
}

fn session_ha1(
    algorithm: DigestAlgorithm,
    user_ha1: DigestValue,
    nonce: &str,
    cnonce: &str,
) -> DigestValue {
    if algorithm.is_session() {
        algorithm.hash_joined(&[
            user_ha1.as_hex().as_bytes(),
            nonce.as_bytes(),
            cnonce.as_bytes(),
        ])
    } else {
        user_ha1
    }
}

/// A stored HA1 that is not a hex digest of the algorithm's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidStoredHa1 {
    /// How many hex digits the algorithm needs (32 for MD5, 64 for SHA-256).
    pub expected_hex_len: usize,
    /// The length of the value given.
    pub found_len: usize,
}

impl fmt::Display for InvalidStoredHa1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stored HA1 must be {} hex digits, got {} characters that are not",
            self.expected_hex_len, self.found_len
        )
    }
}

impl std::error::Error for InvalidStoredHa1 {}

/// `H(A2)` for a request (RFC 7616 §3.4.3): `H(method:uri)`, or `H(method:uri:H(body))` for
/// `auth-int`. `body` is ignored unless `qop` is `auth-int`.
pub fn ha2(
    algorithm: DigestAlgorithm,
    qop: Option<Qop>,
    method: &str,
    uri: &str,
    body: &[u8],
) -> DigestValue {
    match qop {
        Some(Qop::AuthInt) => {
            let body_hash = algorithm.hash_joined(&[body]);
            algorithm.hash_joined(&[
                method.as_bytes(),
                uri.as_bytes(),
                body_hash.as_hex().as_bytes(),
            ])
        }
        Some(Qop::Auth) | None => algorithm.hash_joined(&[method.as_bytes(), uri.as_bytes()]),
    }
}

/// The `response` value (RFC 7616 §3.4.1): `H(HA1:nonce:nc:cnonce:qop:HA2)`, or, when `qop` is
/// absent, the RFC 2069 form `H(HA1:nonce:HA2)` (then `nc` and `cnonce` are ignored).
///
/// `nc` is hashed exactly as given: a client that sent `nc=1` was answered over the text `1`.
pub fn response(
    algorithm: DigestAlgorithm,
    ha1_hex: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
    qop: Option<Qop>,
    ha2_hex: &str,
) -> DigestValue {
    match qop {
        Some(qop) => algorithm.hash_joined(&[
            ha1_hex.as_bytes(),
            nonce.as_bytes(),
            nc.as_bytes(),
            cnonce.as_bytes(),
            qop.wire_name().as_bytes(),
            ha2_hex.as_bytes(),
        ]),
        None => algorithm.hash_joined(&[ha1_hex.as_bytes(), nonce.as_bytes(), ha2_hex.as_bytes()]),
    }
}

/// The `rspauth` value of `Authentication-Info` (RFC 7616 §3.5): the response computed with an
/// empty method, so `A2` is `:uri` (or `:uri:H(body)` for `auth-int`, over the response body).
#[allow(clippy::too_many_arguments)] // one argument per term of the RFC formula
pub fn rspauth(
    algorithm: DigestAlgorithm,
    ha1_hex: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
    qop: Option<Qop>,
    uri: &str,
    response_body: &[u8],
) -> DigestValue {
    let server_ha2 = ha2(algorithm, qop, "", uri, response_body);
    response(
        algorithm,
        ha1_hex,
        nonce,
        nc,
        cnonce,
        qop,
        server_ha2.as_hex(),
    )
}

/// `H(username:realm)`, the hashed username sent when `userhash=true` (RFC 7616 §3.4.4).
pub fn userhash(algorithm: DigestAlgorithm, username: &str, realm: &str) -> DigestValue {
    algorithm.hash_joined(&[username.as_bytes(), realm.as_bytes()])
}

/// What a server knows about the user, to check a response against.
#[derive(Clone, Copy, Debug)]
pub enum DigestSecret<'a> {
    /// The password (or raw key bytes); HA1 is computed with the credentials' username.
    Password(&'a [u8]),
    /// A stored `H(username:realm:password)` in hex, as Homestead keeps `digest_ha1`.
    StoredHa1(&'a str),
}

/// A successful verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedDigest {
    /// The algorithm the credentials used.
    pub algorithm: DigestAlgorithm,
    /// The HA1 the response was checked with (the session HA1 for `-sess`), for [`rspauth`].
    pub ha1: DigestValue,
}

/// Why [`verify`] refused credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The credentials' realm is not the challenge's.
    RealmMismatch,
    /// The credentials answer another nonce than the challenge's.
    NonceMismatch,
    /// The challenge had an `opaque` value and the credentials did not return it unchanged.
    OpaqueMismatch,
    /// The credentials use another algorithm than the challenge offered.
    AlgorithmMismatch {
        /// The challenge's algorithm (MD5 when it named none).
        offered: AlgorithmParam,
        /// The credentials' algorithm (MD5 when they named none).
        used: AlgorithmParam,
    },
    /// The credentials' qop (or its absence) is not one the challenge offered.
    QopNotOffered {
        /// The credentials' qop; `None` when they carried none although the challenge offered some.
        used: Option<Qop>,
    },
    /// The credentials carry a qop but no `cnonce` or `nc`.
    MissingQopParam(&'static str),
    /// `userhash=true` credentials carry `H(username:realm)` instead of the username, so a password
    /// alone cannot be checked: look the user up and pass [`DigestSecret::StoredHa1`].
    UserhashNeedsStoredHa1,
    /// The stored HA1 is malformed.
    InvalidStoredHa1(InvalidStoredHa1),
    /// The response does not match.
    ResponseMismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::RealmMismatch => f.write_str("realm differs from the challenge's"),
            VerifyError::NonceMismatch => f.write_str("nonce differs from the challenge's"),
            VerifyError::OpaqueMismatch => f.write_str("opaque was not returned unchanged"),
            VerifyError::AlgorithmMismatch { offered, used } => {
                write!(f, "algorithm {used} used where {offered} was offered")
            }
            VerifyError::QopNotOffered { used: Some(qop) } => {
                write!(f, "qop {qop} was not offered")
            }
            VerifyError::QopNotOffered { used: None } => {
                f.write_str("qop missing although the challenge offered qop")
            }
            VerifyError::MissingQopParam(param) => write!(f, "qop given without {param}"),
            VerifyError::UserhashNeedsStoredHa1 => {
                f.write_str("userhash credentials can only be checked against a stored HA1")
            }
            VerifyError::InvalidStoredHa1(error) => error.fmt(f),
            VerifyError::ResponseMismatch => f.write_str("response does not match"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// A server's check of parsed `Authorization` credentials against the challenge it issued.
///
/// Checks that realm, nonce, opaque, algorithm and qop agree with `challenge`, computes the
/// expected response for `method` (and `body` for `auth-int`) and compares it with the received one
/// in constant time. The caller still owns the checks that need state or the request: that the nonce
/// is fresh and `nc` increases, that `uri` names the request target, and which user `username` is.
pub fn verify(
    challenge: &DigestChallenge,
    credentials: &DigestCredentials,
    method: &str,
    body: &[u8],
    secret: DigestSecret<'_>,
) -> Result<VerifiedDigest, VerifyError> {
    if credentials.realm != challenge.realm {
        return Err(VerifyError::RealmMismatch);
    }
    if credentials.nonce != challenge.nonce {
        return Err(VerifyError::NonceMismatch);
    }
    if challenge.opaque.is_some() && credentials.opaque != challenge.opaque {
        return Err(VerifyError::OpaqueMismatch);
    }
    let used = credentials.algorithm.unwrap_or(AlgorithmParam::DEFAULT);
    let offered = challenge.algorithm.unwrap_or(AlgorithmParam::DEFAULT);
    if used != offered {
        return Err(VerifyError::AlgorithmMismatch { offered, used });
    }
    let algorithm = used.digest;
    let qop_acceptable = match credentials.qop {
        Some(qop) => challenge.qop.contains(&qop),
        None => challenge.qop.is_empty(),
    };
    if !qop_acceptable {
        return Err(VerifyError::QopNotOffered {
            used: credentials.qop,
        });
    }
    // Without qop the RFC 2069 form ignores these; the -sess HA1 still uses cnonce if present.
    let cnonce = credentials.cnonce.as_deref().unwrap_or("");
    let nc = credentials.nc.as_ref().map(|nc| nc.as_str()).unwrap_or("");
    if credentials.qop.is_some() {
        if credentials.cnonce.is_none() {
            return Err(VerifyError::MissingQopParam("cnonce"));
        }
        if credentials.nc.is_none() {
            return Err(VerifyError::MissingQopParam("nc"));
        }
    }

    let session_ha1 = match secret {
        DigestSecret::Password(password) => {
            if credentials.userhash {
                return Err(VerifyError::UserhashNeedsStoredHa1);
            }
            ha1(
                algorithm,
                &credentials.username,
                &credentials.realm,
                password,
                &credentials.nonce,
                cnonce,
            )
        }
        DigestSecret::StoredHa1(stored) => {
            ha1_from_stored(algorithm, stored, &credentials.nonce, cnonce)
                .map_err(VerifyError::InvalidStoredHa1)?
        }
    };
    let request_ha2 = ha2(algorithm, credentials.qop, method, &credentials.uri, body);
    let expected = response(
        algorithm,
        session_ha1.as_hex(),
        &credentials.nonce,
        nc,
        cnonce,
        credentials.qop,
        request_ha2.as_hex(),
    );
    if expected.matches_hex(&credentials.response) {
        Ok(VerifiedDigest {
            algorithm,
            ha1: session_ha1,
        })
    } else {
        Err(VerifyError::ResponseMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::digest_header::{NonceCount, UsernameForm};
    use base64::Engine as _;

    // RFC 2617 §3.5.
    const RFC2617_NONCE: &str = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
    const RFC2617_CNONCE: &str = "0a4f113b";
    const RFC2617_REALM: &str = "testrealm@host.com";
    const RFC2617_PASSWORD: &[u8] = b"Circle Of Life";
    // RFC 7616 §3.9.1 (the password has a small "of", erratum 4495).
    const RFC7616_REALM: &str = "http-auth@example.org";
    const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    const RFC7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
    const RFC7616_PASSWORD: &[u8] = b"Circle of Life";
    const URI: &str = "/dir/index.html";

    /// One request's inputs (user Mufasa, nc 00000001, uri /dir/index.html throughout).
    struct Case<'a> {
        algorithm: DigestAlgorithm,
        realm: &'a str,
        password: &'a [u8],
        nonce: &'a str,
        cnonce: &'a str,
        qop: Option<Qop>,
        method: &'a str,
        body: &'a [u8],
    }

    impl Case<'_> {
        /// RFC 2617 §3.5's request.
        fn rfc2617(algorithm: DigestAlgorithm) -> Self {
            Case {
                algorithm,
                realm: RFC2617_REALM,
                password: RFC2617_PASSWORD,
                nonce: RFC2617_NONCE,
                cnonce: RFC2617_CNONCE,
                qop: Some(Qop::Auth),
                method: "GET",
                body: b"",
            }
        }

        /// The response computed through ha1, ha2 and response.
        fn response(&self) -> DigestValue {
            let ha1 = ha1(
                self.algorithm,
                "Mufasa",
                self.realm,
                self.password,
                self.nonce,
                self.cnonce,
            );
            let ha2 = ha2(self.algorithm, self.qop, self.method, URI, self.body);
            response(
                self.algorithm,
                ha1.as_hex(),
                self.nonce,
                "00000001",
                self.cnonce,
                self.qop,
                ha2.as_hex(),
            )
        }
    }

    #[test]
    fn rfc2617_section_3_5_example() {
        let value = Case::rfc2617(DigestAlgorithm::Md5).response();
        assert_eq!(value.as_hex(), "6629fae49393a05397450978507c4ef1");
        assert_eq!(value.as_bytes().len(), 16);
    }

    #[test]
    fn rfc7616_section_3_9_1_md5_example() {
        let ha1 = ha1(
            DigestAlgorithm::Md5,
            "Mufasa",
            RFC7616_REALM,
            RFC7616_PASSWORD,
            RFC7616_NONCE,
            RFC7616_CNONCE,
        );
        // The RFC prints a wrong HA1 (an unfixed erratum); these follow from its inputs.
        assert_eq!(ha1.as_hex(), "3d78807defe7de2157e2b0b6573a855f");
        let ha2 = ha2(DigestAlgorithm::Md5, Some(Qop::Auth), "GET", URI, b"");
        assert_eq!(ha2.as_hex(), "39aff3a2bab6126f332b942af96d3366");
        let value = response(
            DigestAlgorithm::Md5,
            ha1.as_hex(),
            RFC7616_NONCE,
            "00000001",
            RFC7616_CNONCE,
            Some(Qop::Auth),
            ha2.as_hex(),
        );
        assert_eq!(value.as_hex(), "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rfc7616_section_3_9_1_sha256_example() {
        let value = Case {
            realm: RFC7616_REALM,
            password: RFC7616_PASSWORD,
            nonce: RFC7616_NONCE,
            cnonce: RFC7616_CNONCE,
            ..Case::rfc2617(DigestAlgorithm::Sha256)
        }
        .response();
        assert_eq!(
            value.as_hex(),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        assert_eq!(value.as_bytes().len(), 32);
    }

    #[test]
    fn naf_digest_tool_example_from_seed_004() {
        // naf-digest -method GET -body bodyOfMessage -realm foo -qop auth-int -username btid -uri /
        //   -password kSny510OWEdJfE64NaObkys/wh2cJ4+M+qSjTsJ2GjI= -nc 1 -cnonce foo -nonce bar
        let algorithm = DigestAlgorithm::Md5;
        let ha1 = ha1(
            algorithm,
            "btid",
            "foo",
            b"kSny510OWEdJfE64NaObkys/wh2cJ4+M+qSjTsJ2GjI=",
            "bar",
            "foo",
        );
        assert_eq!(ha1.as_hex(), "cc6a87adf243559f903fc0007be77083");
        let ha2 = ha2(algorithm, Some(Qop::AuthInt), "GET", "/", b"bodyOfMessage");
        assert_eq!(ha2.as_hex(), "27bf6af15f6e290f34330a07b896e363");
        let value = response(
            algorithm,
            ha1.as_hex(),
            "bar",
            "1",
            "foo",
            Some(Qop::AuthInt),
            ha2.as_hex(),
        );
        assert_eq!(value.as_hex(), "4a5ca659f406b6625d143adbd4124f3c");
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(value.as_bytes()),
            "SlymWfQGtmJdFDrb1BJPPA=="
        );
    }

    // The cases below have no published vector; the expected values were computed with Python's
    // hashlib from the RFC formulas, independently of this code.

    #[test]
    fn auth_int_hashes_the_body() {
        let value = Case {
            qop: Some(Qop::AuthInt),
            method: "POST",
            body: b"Hello, body",
            ..Case::rfc2617(DigestAlgorithm::Md5)
        }
        .response();
        assert_eq!(value.as_hex(), "abc29e347114f1464f4957a6c88cc26e");
        let ha2_int = ha2(
            DigestAlgorithm::Md5,
            Some(Qop::AuthInt),
            "POST",
            URI,
            b"Hello, body",
        );
        assert_eq!(ha2_int.as_hex(), "7578930741b8449eeaa5b00d4621528f");
        // A different body changes the digest; with qop=auth the body is ignored.
        let other = ha2(
            DigestAlgorithm::Md5,
            Some(Qop::AuthInt),
            "POST",
            URI,
            b"Hello, bodY",
        );
        assert_ne!(ha2_int, other);
        assert_eq!(
            ha2(DigestAlgorithm::Md5, Some(Qop::Auth), "POST", URI, b"x"),
            ha2(DigestAlgorithm::Md5, Some(Qop::Auth), "POST", URI, b"y")
        );
    }

    #[test]
    fn sess_algorithms_bind_ha1_to_nonce_and_cnonce() {
        let md5_sess = ha1(
            DigestAlgorithm::Md5Sess,
            "Mufasa",
            RFC2617_REALM,
            RFC2617_PASSWORD,
            RFC2617_NONCE,
            RFC2617_CNONCE,
        );
        assert_eq!(md5_sess.as_hex(), "5edb191b66dce1584c16cb7e7346fcee");
        let value = Case::rfc2617(DigestAlgorithm::Md5Sess).response();
        assert_eq!(value.as_hex(), "8e3825c57e897f5a0dec6c2d4e5059d0");
        let sha_sess = Case::rfc2617(DigestAlgorithm::Sha256Sess).response();
        assert_eq!(
            sha_sess.as_hex(),
            "b8822e12417cb7750f4e2b8515f0dcf25b7dd26993e80bee1426201446a7f59b"
        );
        // The stored-HA1 path gives the same session key.
        let stored = ha1(
            DigestAlgorithm::Md5,
            "Mufasa",
            RFC2617_REALM,
            RFC2617_PASSWORD,
            "",
            "",
        );
        let from_stored = ha1_from_stored(
            DigestAlgorithm::Md5Sess,
            &stored.as_hex().to_uppercase(),
            RFC2617_NONCE,
            RFC2617_CNONCE,
        );
        assert_eq!(from_stored, Ok(md5_sess));
    }

    #[test]
    fn stored_ha1_is_validated_and_normalised() {
        let upper = "939E7578ED9E3C518A452ACEE763BCE9";
        let value = ha1_from_stored(DigestAlgorithm::Md5, upper, "n", "c");
        assert_eq!(
            value.map(|v| v.as_hex().to_owned()),
            Ok("939e7578ed9e3c518a452acee763bce9".to_owned())
        );
        for bad in [
            "",
            "939e",
            "zz9e7578ed9e3c518a452acee763bce9",
            &"a".repeat(64),
        ] {
            assert_eq!(
                ha1_from_stored(DigestAlgorithm::Md5, bad, "n", "c"),
                Err(InvalidStoredHa1 {
                    expected_hex_len: 32,
                    found_len: bad.len()
                })
            );
        }
        assert!(ha1_from_stored(DigestAlgorithm::Sha256, upper, "n", "c").is_err());
    }

    #[test]
    fn rfc2069_form_without_qop() {
        let value = Case {
            cnonce: "ignored",
            qop: None,
            ..Case::rfc2617(DigestAlgorithm::Md5)
        }
        .response();
        assert_eq!(value.as_hex(), "670fd8c2df070c60b045671b8b24ff02");
    }

    #[test]
    fn rspauth_uses_an_empty_method() {
        let ha1 = ha1(
            DigestAlgorithm::Md5,
            "Mufasa",
            RFC2617_REALM,
            RFC2617_PASSWORD,
            "",
            "",
        );
        let value = rspauth(
            DigestAlgorithm::Md5,
            ha1.as_hex(),
            RFC2617_NONCE,
            "00000001",
            RFC2617_CNONCE,
            Some(Qop::Auth),
            URI,
            b"",
        );
        assert_eq!(value.as_hex(), "376602cfd2f4e8e5e78b948a85263e85");
    }

    #[test]
    fn userhash_value() {
        let value = userhash(DigestAlgorithm::Sha256, "Mufasa", RFC7616_REALM);
        assert_eq!(
            value.as_hex(),
            "a947aad205e80e429958a387394944c6b496301e79f89d35a4cc23b6ee12b5b6"
        );
    }

    #[test]
    fn raw_password_bytes_for_aka() {
        // An AKA RES used as the password is raw bytes, not text.
        let res = [0x9e, 0x36, 0xe4, 0x50, 0x4d, 0x6c, 0x16, 0x42];
        let ha1 = ha1(
            DigestAlgorithm::Md5,
            "user@ims",
            "ims.example",
            &res,
            "",
            "",
        );
        assert_eq!(ha1.as_hex(), "22bfd1694f495e7e1f8415659c82e080");
    }

    #[test]
    fn wire_names_round_trip_and_ignore_case() {
        for algorithm in [
            DigestAlgorithm::Md5,
            DigestAlgorithm::Md5Sess,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha256Sess,
        ] {
            assert_eq!(
                DigestAlgorithm::from_wire(algorithm.wire_name()),
                Some(algorithm)
            );
            assert_eq!(algorithm.to_string().parse(), Ok(algorithm));
        }
        assert_eq!(
            DigestAlgorithm::from_wire("md5-SESS"),
            Some(DigestAlgorithm::Md5Sess)
        );
        assert_eq!(
            DigestAlgorithm::from_wire("sha-256"),
            Some(DigestAlgorithm::Sha256)
        );
        assert_eq!(DigestAlgorithm::from_wire("SHA-512-256"), None);
        assert_eq!(DigestAlgorithm::from_wire("MD5 "), None);
        assert!("SHA256".parse::<DigestAlgorithm>().is_err());
        assert_eq!(Qop::from_wire("AUTH-int"), Some(Qop::AuthInt));
        assert_eq!("auth".parse(), Ok(Qop::Auth));
        assert_eq!(Qop::from_wire("auth-conf"), None);
        assert!(DigestAlgorithm::Sha256Sess.is_session());
        assert!(!DigestAlgorithm::Sha256.is_session());
    }

    #[test]
    fn matches_hex_ignores_case_and_rejects_malformed() {
        let value = userhash(DigestAlgorithm::Md5, "a", "b");
        assert!(value.matches_hex(value.as_hex()));
        assert!(value.matches_hex(&value.as_hex().to_uppercase()));
        assert!(!value.matches_hex(&value.as_hex()[..30]));
        assert!(!value.matches_hex(""));
        let mut wrong = value.as_hex().to_owned();
        wrong.replace_range(31.., if wrong.ends_with('0') { "1" } else { "0" });
        assert!(!value.matches_hex(&wrong));
    }

    fn rfc7616_challenge(algorithm: DigestAlgorithm) -> DigestChallenge {
        DigestChallenge {
            realm: RFC7616_REALM.to_owned(),
            nonce: RFC7616_NONCE.to_owned(),
            opaque: Some(RFC7616_OPAQUE.to_owned()),
            algorithm: Some(AlgorithmParam::plain(algorithm)),
            qop: vec![Qop::Auth, Qop::AuthInt],
            ..DigestChallenge::default()
        }
    }

    fn rfc7616_credentials(algorithm: DigestAlgorithm, response: &str) -> DigestCredentials {
        DigestCredentials {
            username: "Mufasa".to_owned(),
            username_form: UsernameForm::Quoted,
            realm: RFC7616_REALM.to_owned(),
            nonce: RFC7616_NONCE.to_owned(),
            uri: URI.to_owned(),
            response: response.to_owned(),
            algorithm: Some(AlgorithmParam::plain(algorithm)),
            cnonce: Some(RFC7616_CNONCE.to_owned()),
            opaque: Some(RFC7616_OPAQUE.to_owned()),
            qop: Some(Qop::Auth),
            nc: Some(NonceCount::from_count(1)),
            ..DigestCredentials::default()
        }
    }

    const RFC7616_SHA256_RESPONSE: &str =
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";

    #[test]
    fn verify_accepts_the_rfc7616_examples_with_password_or_stored_ha1() {
        let challenge = rfc7616_challenge(DigestAlgorithm::Sha256);
        let credentials = rfc7616_credentials(DigestAlgorithm::Sha256, RFC7616_SHA256_RESPONSE);
        let verified = verify(
            &challenge,
            &credentials,
            "GET",
            b"",
            DigestSecret::Password(RFC7616_PASSWORD),
        );
        let expected_ha1 = ha1(
            DigestAlgorithm::Sha256,
            "Mufasa",
            RFC7616_REALM,
            RFC7616_PASSWORD,
            "",
            "",
        );
        assert_eq!(
            verified,
            Ok(VerifiedDigest {
                algorithm: DigestAlgorithm::Sha256,
                ha1: expected_ha1
            })
        );
        let stored = expected_ha1.as_hex().to_owned();
        assert!(
            verify(
                &challenge,
                &credentials,
                "GET",
                b"",
                DigestSecret::StoredHa1(&stored)
            )
            .is_ok()
        );

        // MD5, response sent in upper case.
        let challenge = rfc7616_challenge(DigestAlgorithm::Md5);
        let credentials =
            rfc7616_credentials(DigestAlgorithm::Md5, "8CA523F5E9506FED4657C9700EEBDBEC");
        assert!(
            verify(
                &challenge,
                &credentials,
                "GET",
                b"",
                DigestSecret::Password(RFC7616_PASSWORD)
            )
            .is_ok()
        );
    }

    #[test]
    fn verify_refuses_each_mismatch() {
        let challenge = rfc7616_challenge(DigestAlgorithm::Sha256);
        let good = rfc7616_credentials(DigestAlgorithm::Sha256, RFC7616_SHA256_RESPONSE);
        let password = DigestSecret::Password(RFC7616_PASSWORD);
        let check =
            |credentials: &DigestCredentials| verify(&challenge, credentials, "GET", b"", password);

        assert_eq!(
            verify(
                &challenge,
                &good,
                "GET",
                b"",
                DigestSecret::Password(b"Circle Of Life")
            ),
            Err(VerifyError::ResponseMismatch)
        );
        assert_eq!(
            verify(&challenge, &good, "POST", b"", password),
            Err(VerifyError::ResponseMismatch)
        );
        assert_eq!(
            verify(
                &challenge,
                &good,
                "GET",
                b"",
                DigestSecret::StoredHa1("abc")
            ),
            Err(VerifyError::InvalidStoredHa1(InvalidStoredHa1 {
                expected_hex_len: 64,
                found_len: 3
            }))
        );

        let mut wrong = good.clone();
        wrong.realm.push('x');
        assert_eq!(check(&wrong), Err(VerifyError::RealmMismatch));

        let mut wrong = good.clone();
        wrong.nonce.push('x');
        assert_eq!(check(&wrong), Err(VerifyError::NonceMismatch));

        let mut wrong = good.clone();
        wrong.opaque = None;
        assert_eq!(check(&wrong), Err(VerifyError::OpaqueMismatch));

        let mut wrong = good.clone();
        wrong.algorithm = None;
        assert_eq!(
            check(&wrong),
            Err(VerifyError::AlgorithmMismatch {
                offered: AlgorithmParam::plain(DigestAlgorithm::Sha256),
                used: AlgorithmParam::DEFAULT
            })
        );

        let mut wrong = good.clone();
        wrong.qop = None;
        assert_eq!(
            check(&wrong),
            Err(VerifyError::QopNotOffered { used: None })
        );

        let mut wrong = good.clone();
        wrong.cnonce = None;
        assert_eq!(check(&wrong), Err(VerifyError::MissingQopParam("cnonce")));

        let mut wrong = good.clone();
        wrong.nc = None;
        assert_eq!(check(&wrong), Err(VerifyError::MissingQopParam("nc")));

        let mut wrong = good.clone();
        wrong.nc = Some(NonceCount::from_count(2));
        assert_eq!(check(&wrong), Err(VerifyError::ResponseMismatch));

        let mut wrong = good.clone();
        wrong.response = "not hex".to_owned();
        assert_eq!(check(&wrong), Err(VerifyError::ResponseMismatch));

        let mut hashed = good.clone();
        hashed.userhash = true;
        assert_eq!(check(&hashed), Err(VerifyError::UserhashNeedsStoredHa1));

        let mut auth_only = challenge.clone();
        auth_only.qop = vec![Qop::Auth];
        let mut int = good.clone();
        int.qop = Some(Qop::AuthInt);
        assert_eq!(
            verify(&auth_only, &int, "GET", b"", password),
            Err(VerifyError::QopNotOffered {
                used: Some(Qop::AuthInt)
            })
        );
        // Error messages name the problem.
        assert_eq!(
            VerifyError::QopNotOffered {
                used: Some(Qop::AuthInt)
            }
            .to_string(),
            "qop auth-int was not offered"
        );
    }

    #[test]
    fn verify_rfc2617_auth_int_and_no_qop() {
        let challenge = DigestChallenge {
            realm: RFC2617_REALM.to_owned(),
            nonce: RFC2617_NONCE.to_owned(),
            qop: vec![Qop::Auth, Qop::AuthInt],
            ..DigestChallenge::default()
        };
        let credentials = DigestCredentials {
            username: "Mufasa".to_owned(),
            realm: RFC2617_REALM.to_owned(),
            nonce: RFC2617_NONCE.to_owned(),
            uri: URI.to_owned(),
            response: "abc29e347114f1464f4957a6c88cc26e".to_owned(),
            cnonce: Some(RFC2617_CNONCE.to_owned()),
            qop: Some(Qop::AuthInt),
            nc: Some(NonceCount::from_count(1)),
            ..DigestCredentials::default()
        };
        let password = DigestSecret::Password(RFC2617_PASSWORD);
        assert!(verify(&challenge, &credentials, "POST", b"Hello, body", password).is_ok());
        assert_eq!(
            verify(&challenge, &credentials, "POST", b"Hello, bodY", password),
            Err(VerifyError::ResponseMismatch)
        );

        let legacy_challenge = DigestChallenge {
            qop: Vec::new(),
            ..challenge
        };
        let legacy = DigestCredentials {
            response: "670fd8c2df070c60b045671b8b24ff02".to_owned(),
            qop: None,
            cnonce: None,
            nc: None,
            ..credentials
        };
        assert!(verify(&legacy_challenge, &legacy, "GET", b"", password).is_ok());
        let mut with_qop = legacy.clone();
        with_qop.qop = Some(Qop::Auth);
        assert_eq!(
            verify(&legacy_challenge, &with_qop, "GET", b"", password),
            Err(VerifyError::QopNotOffered {
                used: Some(Qop::Auth)
            })
        );
    }
}
