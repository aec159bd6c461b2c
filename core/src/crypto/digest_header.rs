//! Parser and writer for the Digest header values of HTTP and SIP: `Authorization` /
//! `Proxy-Authorization` credentials, `WWW-Authenticate` / `Proxy-Authenticate` challenges and
//! `Authentication-Info` (RFC 7235, RFC 7616, RFC 7615, RFC 3261, RFC 3310).
//!
//! Syntax accepted (RFC 7230 §3.2.6 and §7, RFC 7235 §2.1):
//!
//! - the scheme `Digest` in any letter case, then a comma-separated list of `name=value`;
//! - names in any case and any order, each at most once; unknown ones are kept, not refused;
//! - values as tokens or quoted strings with backslash escapes, whichever a parameter's RFC says
//!   (senders often quote what should be a token, or the reverse; both mean the same value);
//! - spaces and tabs around `=` and commas, CRLF line folding followed by a space or tab, and empty
//!   list elements (`a=1,,b=2,`);
//! - `username*` in the RFC 8187 form `UTF-8''percent-encoded` (RFC 7616 §3.4.4);
//! - `algorithm` in RFC 3310's AKA namespace, such as `AKAv1-MD5`, as GBA Ub and IMS send it.
//!
//! Refused with a [`DigestHeaderError`] saying which parameter is wrong and how: control characters,
//! unterminated quotes, duplicated or missing parameters, unknown algorithms, a `qop` list in
//! credentials, a malformed `nc`, and values over the configured size or parameter count.
//!
//! `nc` must be exactly 8 hex digits by default, as RFC 7616 §3.4 demands. Some SIP stacks send it
//! unpadded (`nc=1`); [`NonceCountSyntax::Lenient`] accepts 1 to 8 hex digits. Either way the text
//! is kept as sent, since the response is computed over that text.
//!
//! The writers produce a canonical value: RFC 7616's quoting (quoted: username, realm, nonce, uri,
//! response, cnonce, opaque, domain, challenge qop, rspauth, nextnonce, auts and unknown parameters;
//! bare: algorithm, credentials qop, nc, stale, charset, userhash), `", "` between parameters and a
//! fixed parameter order. Writing refuses values that would not survive (control characters, which
//! would also allow header injection). Parsing what was written gives back the same struct.

use std::borrow::Cow;
use std::fmt;

use super::digest::{DigestAlgorithm, Qop};

/// The default limit on the length of a header value, in bytes.
pub const DEFAULT_MAX_LEN: usize = 8 * 1024;

/// The default limit on the number of parameters in one header value.
pub const DEFAULT_MAX_PARAMS: usize = 64;

/// The longest piece of outside input quoted back in an error message, in characters.
const SNIPPET_CHARS: usize = 48;

/// Which `nc` spellings are accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NonceCountSyntax {
    /// Exactly 8 hex digits, as RFC 2617 and RFC 7616 specify (`nc=00000001`).
    #[default]
    Strict,
    /// 1 to 8 hex digits, for SIP stacks that send the count unpadded (`nc=1`).
    Lenient,
}

/// Limits and leniency for parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// The longest header value accepted, in bytes.
    pub max_len: usize,
    /// The most parameters accepted in one header value.
    pub max_params: usize,
    /// Which `nc` spellings are accepted.
    pub nonce_count: NonceCountSyntax,
}

impl ParseOptions {
    /// Strict `nc`, 8 KiB and 64 parameters.
    pub const DEFAULT: ParseOptions = ParseOptions {
        max_len: DEFAULT_MAX_LEN,
        max_params: DEFAULT_MAX_PARAMS,
        nonce_count: NonceCountSyntax::Strict,
    };

    /// The default limits with the lenient `nc` syntax some SIP stacks need.
    pub const SIP_LENIENT: ParseOptions = ParseOptions {
        nonce_count: NonceCountSyntax::Lenient,
        ..ParseOptions::DEFAULT
    };
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions::DEFAULT
    }
}

/// Why a header value could not be parsed or written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DigestHeaderError {
    /// The value is longer than the configured limit.
    TooLong {
        /// The value's length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The value has more parameters than the configured limit.
    TooManyParams {
        /// The limit.
        max: usize,
    },
    /// The value is empty or only whitespace where a scheme was expected.
    Empty,
    /// The scheme is not `Digest`.
    WrongScheme {
        /// The scheme found (shortened).
        found: String,
    },
    /// A character that the syntax does not allow at this place.
    UnexpectedByte {
        /// Byte offset in the value.
        position: usize,
        /// The byte found.
        found: u8,
        /// What the syntax allows there.
        expected: &'static str,
    },
    /// The value ends where the syntax needs more.
    UnexpectedEnd {
        /// What the syntax needs there.
        expected: &'static str,
    },
    /// A control character (other than a tab, or CRLF folding) in the value.
    ControlCharacter {
        /// Byte offset in the value.
        position: usize,
        /// The parameter it appeared in, when known (shortened).
        param: Option<String>,
    },
    /// A parameter has `=` but no value, or no `=` at all.
    MissingValue {
        /// The parameter's name (shortened).
        param: String,
    },
    /// A quoted string has no closing quote.
    UnterminatedQuote {
        /// The parameter's name (shortened).
        param: String,
    },
    /// A value is not UTF-8.
    InvalidUtf8 {
        /// The parameter's name (shortened).
        param: String,
    },
    /// A parameter appears twice (names compare without regard to case).
    DuplicateParam {
        /// The parameter's name (shortened).
        param: String,
    },
    /// A required parameter is absent.
    MissingParam {
        /// The parameter's name.
        param: &'static str,
    },
    /// `qop` is present but a parameter it requires (`cnonce`, `nc`) is not.
    MissingForQop {
        /// The parameter's name.
        param: &'static str,
    },
    /// Both `username` and `username*` are present (RFC 7616 §3.4.4 forbids it).
    BothUsernameForms,
    /// `nc` is not 8 hex digits (or 1 to 8 in lenient mode).
    InvalidNonceCount {
        /// The value found (shortened).
        value: String,
        /// The syntax that was applied.
        syntax: NonceCountSyntax,
    },
    /// `algorithm` names no supported algorithm.
    UnknownAlgorithm {
        /// The value found (shortened).
        value: String,
    },
    /// `qop` names no known quality of protection.
    UnknownQop {
        /// The value found (shortened).
        value: String,
    },
    /// `qop` in credentials or `Authentication-Info` lists several values; one is required.
    QopNotSingle {
        /// The value found (shortened).
        value: String,
    },
    /// A boolean parameter (`stale`, `userhash`) is neither `true` nor `false`.
    InvalidBoolean {
        /// The parameter's name.
        param: &'static str,
        /// The value found (shortened).
        value: String,
    },
    /// `charset` is not `UTF-8`, the only value RFC 7616 allows.
    InvalidCharset {
        /// The value found (shortened).
        value: String,
    },
    /// A `username*` value is not a valid RFC 8187 extended value.
    InvalidExtValue {
        /// The parameter's name.
        param: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A struct holds a value that cannot be written into a header.
    Unwritable {
        /// The parameter's name (shortened).
        param: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for DigestHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestHeaderError::TooLong { len, max } => {
                write!(f, "header value is {len} bytes, over the limit of {max}")
            }
            DigestHeaderError::TooManyParams { max } => {
                write!(f, "header value has more than {max} parameters")
            }
            DigestHeaderError::Empty => f.write_str("header value is empty"),
            DigestHeaderError::WrongScheme { found } => {
                write!(f, "authentication scheme {found:?} is not Digest")
            }
            DigestHeaderError::UnexpectedByte {
                position,
                found,
                expected,
            } => {
                if found.is_ascii_graphic() || *found == b' ' {
                    write!(f, "unexpected {:?} at byte {position}", char::from(*found))?;
                } else {
                    write!(f, "unexpected byte 0x{found:02x} at byte {position}")?;
                }
                write!(f, ", expected {expected}")
            }
            DigestHeaderError::UnexpectedEnd { expected } => {
                write!(f, "value ends early, expected {expected}")
            }
            DigestHeaderError::ControlCharacter { position, param } => {
                write!(f, "control character at byte {position}")?;
                match param {
                    Some(param) => write!(f, " in parameter {param}"),
                    None => Ok(()),
                }
            }
            DigestHeaderError::MissingValue { param } => {
                write!(f, "parameter {param} has no value")
            }
            DigestHeaderError::UnterminatedQuote { param } => {
                write!(f, "quoted value of parameter {param} has no closing quote")
            }
            DigestHeaderError::InvalidUtf8 { param } => {
                write!(f, "value of parameter {param} is not UTF-8")
            }
            DigestHeaderError::DuplicateParam { param } => {
                write!(f, "parameter {param} appears more than once")
            }
            DigestHeaderError::MissingParam { param } => {
                write!(f, "required parameter {param} is missing")
            }
            DigestHeaderError::MissingForQop { param } => {
                write!(f, "parameter {param} is required when qop is present")
            }
            DigestHeaderError::BothUsernameForms => {
                f.write_str("username and username* must not both be present")
            }
            DigestHeaderError::InvalidNonceCount { value, syntax } => {
                let rule = match syntax {
                    NonceCountSyntax::Strict => "exactly 8 hex digits",
                    NonceCountSyntax::Lenient => "1 to 8 hex digits",
                };
                write!(f, "nc {value:?} is not {rule}")
            }
            DigestHeaderError::UnknownAlgorithm { value } => {
                write!(f, "algorithm {value:?} is not supported")
            }
            DigestHeaderError::UnknownQop { value } => write!(f, "qop {value:?} is unknown"),
            DigestHeaderError::QopNotSingle { value } => {
                write!(f, "qop {value:?} must be a single value here")
            }
            DigestHeaderError::InvalidBoolean { param, value } => {
                write!(f, "parameter {param} is {value:?}, expected true or false")
            }
            DigestHeaderError::InvalidCharset { value } => {
                write!(f, "charset {value:?} is not UTF-8")
            }
            DigestHeaderError::InvalidExtValue { param, reason } => {
                write!(
                    f,
                    "parameter {param} is not a valid extended value: {reason}"
                )
            }
            DigestHeaderError::Unwritable { param, reason } => {
                write!(f, "cannot write parameter {param}: {reason}")
            }
        }
    }
}

impl std::error::Error for DigestHeaderError {}

/// A nonce count (`nc`): the text as sent, and its value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NonceCount {
    text: String,
    count: u32,
}

impl NonceCount {
    /// The canonical 8-digit lowercase hex form of `count`.
    pub fn from_count(count: u32) -> NonceCount {
        NonceCount {
            text: format!("{count:08x}"),
            count,
        }
    }

    /// Parses `nc` text with the given syntax, keeping the text as it is.
    pub fn parse(text: &str, syntax: NonceCountSyntax) -> Result<NonceCount, DigestHeaderError> {
        let length_ok = match syntax {
            NonceCountSyntax::Strict => text.len() == 8,
            NonceCountSyntax::Lenient => (1..=8).contains(&text.len()),
        };
        let invalid = || DigestHeaderError::InvalidNonceCount {
            value: snippet(text),
            syntax,
        };
        if !length_ok || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let count = u32::from_str_radix(text, 16).map_err(|_| invalid())?;
        Ok(NonceCount {
            text: text.to_owned(),
            count,
        })
    }

    /// The text as sent, which is what the response hashes.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The numeric count.
    pub fn count(&self) -> u32 {
        self.count
    }
}

impl fmt::Display for NonceCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The value of an `algorithm` parameter: a digest algorithm, optionally in RFC 3310's AKA
/// namespace (`AKAv1-MD5`, `AKAv2-MD5`), where the version says how the password was derived from
/// the AKA vector and the digest algorithm is used as usual.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AlgorithmParam {
    /// The AKA version for `AKAv<n>-...`, `None` for a plain digest algorithm.
    pub aka_version: Option<u8>,
    /// The digest algorithm the response is computed with.
    pub digest: DigestAlgorithm,
}

impl AlgorithmParam {
    /// What an absent `algorithm` parameter means: plain MD5.
    pub const DEFAULT: AlgorithmParam = AlgorithmParam::plain(DigestAlgorithm::DEFAULT);

    /// A plain digest algorithm, outside the AKA namespace.
    pub const fn plain(digest: DigestAlgorithm) -> AlgorithmParam {
        AlgorithmParam {
            aka_version: None,
            digest,
        }
    }

    /// Parses `MD5`, `SHA-256-sess`, `AKAv1-MD5`, ... ignoring ASCII case; `None` if unsupported.
    pub fn from_wire(name: &str) -> Option<AlgorithmParam> {
        let aka_prefix = name.get(..4).filter(|p| p.eq_ignore_ascii_case("AKAv"));
        let Some(rest) = aka_prefix.and_then(|_| name.get(4..)) else {
            return DigestAlgorithm::from_wire(name).map(AlgorithmParam::plain);
        };
        let (version, digest) = rest.split_once('-')?;
        if version.is_empty() || !version.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        Some(AlgorithmParam {
            aka_version: Some(version.parse().ok()?),
            digest: DigestAlgorithm::from_wire(digest)?,
        })
    }
}

impl fmt::Display for AlgorithmParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(version) = self.aka_version {
            write!(f, "AKAv{version}-")?;
        }
        f.write_str(self.digest.wire_name())
    }
}

/// An auth-param the typed structs do not know, kept as received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthParam {
    /// The name, in the letter case received.
    pub name: String,
    /// The value, unquoted and unescaped.
    pub value: String,
}

/// How the username travels in credentials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UsernameForm {
    /// `username="..."`.
    #[default]
    Quoted,
    /// `username*=UTF-8''...`, for names a quoted string cannot carry (RFC 7616 §3.4.4).
    Extended,
}

/// Digest credentials from an `Authorization` or `Proxy-Authorization` header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DigestCredentials {
    /// The username (decoded from `username*` when [`UsernameForm::Extended`]); with `userhash`
    /// it is the hex `H(username:realm)`.
    pub username: String,
    /// Which parameter carried the username, and will carry it when written.
    pub username_form: UsernameForm,
    /// The realm.
    pub realm: String,
    /// The server nonce being answered.
    pub nonce: String,
    /// The request target the response covers (`digest-uri`).
    pub uri: String,
    /// The response digest in hex, as received.
    pub response: String,
    /// The algorithm; `None` when absent, which means MD5.
    pub algorithm: Option<AlgorithmParam>,
    /// The client nonce (required with qop).
    pub cnonce: Option<String>,
    /// The challenge's opaque value, returned unchanged.
    pub opaque: Option<String>,
    /// The quality of protection; `None` for the RFC 2069 compatible form.
    pub qop: Option<Qop>,
    /// The nonce count (required with qop).
    pub nc: Option<NonceCount>,
    /// Whether `username` is hashed (RFC 7616 §3.4.4).
    pub userhash: bool,
    /// The AKA resynchronisation token `auts` (RFC 3310 §3.4), base64 as received.
    pub auts: Option<String>,
    /// Parameters not listed above, kept and otherwise ignored.
    pub extra: Vec<AuthParam>,
}

impl DigestCredentials {
    /// Parses an `Authorization` value with the default options.
    pub fn parse(value: &str) -> Result<DigestCredentials, DigestHeaderError> {
        DigestCredentials::parse_with(value, &ParseOptions::DEFAULT)
    }

    /// Parses an `Authorization` value.
    pub fn parse_with(
        value: &str,
        options: &ParseOptions,
    ) -> Result<DigestCredentials, DigestHeaderError> {
        DigestCredentials::parse_bytes(value.as_bytes(), options)
    }

    /// Parses an `Authorization` value given as bytes, as an HTTP parser hands it over.
    pub fn parse_bytes(
        value: &[u8],
        options: &ParseOptions,
    ) -> Result<DigestCredentials, DigestHeaderError> {
        let mut params = ParamSet::parse(value, Some(SCHEME), options)?;
        let quoted_username = params.take("username");
        let extended_username = params.take("username*");
        let (username, username_form) = match (quoted_username, extended_username) {
            (Some(_), Some(_)) => return Err(DigestHeaderError::BothUsernameForms),
            (Some(username), None) => (username, UsernameForm::Quoted),
            (None, Some(encoded)) => (
                decode_ext_value("username*", &encoded)?,
                UsernameForm::Extended,
            ),
            (None, None) => return Err(DigestHeaderError::MissingParam { param: "username" }),
        };
        let realm = params.require("realm")?;
        let nonce = params.require("nonce")?;
        let uri = params.require("uri")?;
        let response = params.require("response")?;
        let algorithm = params
            .take("algorithm")
            .map(|v| parse_algorithm(&v))
            .transpose()?;
        let cnonce = params.take("cnonce");
        let opaque = params.take("opaque");
        let qop = params
            .take("qop")
            .map(|v| parse_single_qop(&v))
            .transpose()?;
        let nc = params
            .take("nc")
            .map(|v| NonceCount::parse(&v, options.nonce_count))
            .transpose()?;
        let userhash = params.take_bool("userhash")?;
        let auts = params.take("auts");
        if qop.is_some() {
            if cnonce.is_none() {
                return Err(DigestHeaderError::MissingForQop { param: "cnonce" });
            }
            if nc.is_none() {
                return Err(DigestHeaderError::MissingForQop { param: "nc" });
            }
        }
        Ok(DigestCredentials {
            username,
            username_form,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            cnonce,
            opaque,
            qop,
            nc,
            userhash,
            auts,
            extra: params.into_extra(),
        })
    }

    /// The digest algorithm in force: the one named, or MD5 when absent.
    pub fn effective_algorithm(&self) -> DigestAlgorithm {
        self.algorithm.unwrap_or(AlgorithmParam::DEFAULT).digest
    }

    /// Appends the canonical header value (`Digest username="...", ...`) to `out`.
    /// On error `out` is left unchanged.
    pub fn write_to(&self, out: &mut String) -> Result<(), DigestHeaderError> {
        let mut writer = ParamWriter::new(Some(SCHEME));
        match self.username_form {
            UsernameForm::Quoted => writer.quoted("username", &self.username)?,
            UsernameForm::Extended => {
                writer.bare("username*", &encode_ext_value(&self.username));
            }
        }
        writer.quoted("realm", &self.realm)?;
        writer.quoted("uri", &self.uri)?;
        if let Some(algorithm) = self.algorithm {
            writer.bare("algorithm", &algorithm.to_string());
        }
        writer.quoted("nonce", &self.nonce)?;
        if let Some(nc) = &self.nc {
            writer.bare("nc", nc.as_str());
        }
        writer.optional_quoted("cnonce", self.cnonce.as_deref())?;
        if let Some(qop) = self.qop {
            writer.bare("qop", qop.wire_name());
        }
        writer.quoted("response", &self.response)?;
        writer.optional_quoted("opaque", self.opaque.as_deref())?;
        if self.userhash {
            writer.bare("userhash", "true");
        }
        writer.optional_quoted("auts", self.auts.as_deref())?;
        writer.extra(&self.extra, CREDENTIALS_PARAMS)?;
        writer.finish(out);
        Ok(())
    }

    /// The canonical header value.
    pub fn to_header_value(&self) -> Result<String, DigestHeaderError> {
        let mut out = String::new();
        self.write_to(&mut out)?;
        Ok(out)
    }
}

/// A Digest challenge from a `WWW-Authenticate` or `Proxy-Authenticate` header.
///
/// One header value holds one challenge here; a server that lists several schemes in one header
/// line must be split by the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DigestChallenge {
    /// The realm.
    pub realm: String,
    /// The protection space URIs (`domain`), split on whitespace.
    pub domain: Vec<String>,
    /// The server nonce.
    pub nonce: String,
    /// The opaque value the client must return.
    pub opaque: Option<String>,
    /// Whether the previous request failed only because its nonce was stale.
    pub stale: bool,
    /// The algorithm; `None` when absent, which means MD5.
    pub algorithm: Option<AlgorithmParam>,
    /// The offered qop values; unknown ones are dropped, as RFC 7616 §3.3 says to ignore them.
    /// Empty when the parameter was absent (RFC 2069 compatible form).
    pub qop: Vec<Qop>,
    /// Whether `charset=UTF-8` was given.
    pub charset_utf8: bool,
    /// Whether the server supports hashed usernames.
    pub userhash: bool,
    /// Parameters not listed above, kept and otherwise ignored.
    pub extra: Vec<AuthParam>,
}

impl DigestChallenge {
    /// Parses a `WWW-Authenticate` value with the default options.
    pub fn parse(value: &str) -> Result<DigestChallenge, DigestHeaderError> {
        DigestChallenge::parse_with(value, &ParseOptions::DEFAULT)
    }

    /// Parses a `WWW-Authenticate` value.
    pub fn parse_with(
        value: &str,
        options: &ParseOptions,
    ) -> Result<DigestChallenge, DigestHeaderError> {
        DigestChallenge::parse_bytes(value.as_bytes(), options)
    }

    /// Parses a `WWW-Authenticate` value given as bytes.
    pub fn parse_bytes(
        value: &[u8],
        options: &ParseOptions,
    ) -> Result<DigestChallenge, DigestHeaderError> {
        let mut params = ParamSet::parse(value, Some(SCHEME), options)?;
        let realm = params.require("realm")?;
        let domain = params
            .take("domain")
            .map(|v| v.split_ascii_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let nonce = params.require("nonce")?;
        let opaque = params.take("opaque");
        let stale = params.take_bool("stale")?;
        let algorithm = params
            .take("algorithm")
            .map(|v| parse_algorithm(&v))
            .transpose()?;
        let qop = params
            .take("qop")
            .map(|v| {
                v.split(',')
                    .filter_map(|option| Qop::from_wire(option.trim_matches([' ', '\t'])))
                    .collect()
            })
            .unwrap_or_default();
        let charset_utf8 = match params.take("charset") {
            Some(charset) if charset.eq_ignore_ascii_case("UTF-8") => true,
            Some(charset) => {
                return Err(DigestHeaderError::InvalidCharset {
                    value: snippet(&charset),
                });
            }
            None => false,
        };
        let userhash = params.take_bool("userhash")?;
        Ok(DigestChallenge {
            realm,
            domain,
            nonce,
            opaque,
            stale,
            algorithm,
            qop,
            charset_utf8,
            userhash,
            extra: params.into_extra(),
        })
    }

    /// The digest algorithm in force: the one named, or MD5 when absent.
    pub fn effective_algorithm(&self) -> DigestAlgorithm {
        self.algorithm.unwrap_or(AlgorithmParam::DEFAULT).digest
    }

    /// Appends the canonical header value (`Digest realm="...", ...`) to `out`.
    /// On error `out` is left unchanged.
    pub fn write_to(&self, out: &mut String) -> Result<(), DigestHeaderError> {
        let mut writer = ParamWriter::new(Some(SCHEME));
        writer.quoted("realm", &self.realm)?;
        if !self.domain.is_empty() {
            if self
                .domain
                .iter()
                .any(|uri| uri.is_empty() || uri.contains(|c: char| c.is_ascii_whitespace()))
            {
                return Err(DigestHeaderError::Unwritable {
                    param: "domain".to_owned(),
                    reason: "a URI is empty or contains whitespace",
                });
            }
            writer.quoted("domain", &self.domain.join(" "))?;
        }
        if !self.qop.is_empty() {
            let options: Vec<&str> = self.qop.iter().map(|qop| qop.wire_name()).collect();
            writer.quoted("qop", &options.join(","))?;
        }
        if let Some(algorithm) = self.algorithm {
            writer.bare("algorithm", &algorithm.to_string());
        }
        writer.quoted("nonce", &self.nonce)?;
        writer.optional_quoted("opaque", self.opaque.as_deref())?;
        if self.stale {
            writer.bare("stale", "true");
        }
        if self.charset_utf8 {
            writer.bare("charset", "UTF-8");
        }
        if self.userhash {
            writer.bare("userhash", "true");
        }
        writer.extra(&self.extra, CHALLENGE_PARAMS)?;
        writer.finish(out);
        Ok(())
    }

    /// The canonical header value.
    pub fn to_header_value(&self) -> Result<String, DigestHeaderError> {
        let mut out = String::new();
        self.write_to(&mut out)?;
        Ok(out)
    }
}

/// The `Authentication-Info` header a server returns after successful Digest authentication
/// (RFC 7615, RFC 7616 §3.5). It has no scheme, only parameters, all optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthenticationInfo {
    /// The nonce the client should use next.
    pub nextnonce: Option<String>,
    /// The quality of protection the server applied.
    pub qop: Option<Qop>,
    /// The response authentication digest in hex.
    pub rspauth: Option<String>,
    /// The client nonce being answered.
    pub cnonce: Option<String>,
    /// The nonce count being answered.
    pub nc: Option<NonceCount>,
    /// Parameters not listed above, kept and otherwise ignored.
    pub extra: Vec<AuthParam>,
}

impl AuthenticationInfo {
    /// Parses an `Authentication-Info` value with the default options.
    pub fn parse(value: &str) -> Result<AuthenticationInfo, DigestHeaderError> {
        AuthenticationInfo::parse_with(value, &ParseOptions::DEFAULT)
    }

    /// Parses an `Authentication-Info` value.
    pub fn parse_with(
        value: &str,
        options: &ParseOptions,
    ) -> Result<AuthenticationInfo, DigestHeaderError> {
        AuthenticationInfo::parse_bytes(value.as_bytes(), options)
    }

    /// Parses an `Authentication-Info` value given as bytes.
    pub fn parse_bytes(
        value: &[u8],
        options: &ParseOptions,
    ) -> Result<AuthenticationInfo, DigestHeaderError> {
        let mut params = ParamSet::parse(value, None, options)?;
        Ok(AuthenticationInfo {
            nextnonce: params.take("nextnonce"),
            qop: params
                .take("qop")
                .map(|v| parse_single_qop(&v))
                .transpose()?,
            rspauth: params.take("rspauth"),
            cnonce: params.take("cnonce"),
            nc: params
                .take("nc")
                .map(|v| NonceCount::parse(&v, options.nonce_count))
                .transpose()?,
            extra: params.into_extra(),
        })
    }

    /// Appends the canonical header value to `out`. On error `out` is left unchanged.
    pub fn write_to(&self, out: &mut String) -> Result<(), DigestHeaderError> {
        let mut writer = ParamWriter::new(None);
        writer.optional_quoted("nextnonce", self.nextnonce.as_deref())?;
        if let Some(qop) = self.qop {
            writer.bare("qop", qop.wire_name());
        }
        writer.optional_quoted("rspauth", self.rspauth.as_deref())?;
        writer.optional_quoted("cnonce", self.cnonce.as_deref())?;
        if let Some(nc) = &self.nc {
            writer.bare("nc", nc.as_str());
        }
        writer.extra(&self.extra, AUTHENTICATION_INFO_PARAMS)?;
        writer.finish(out);
        Ok(())
    }

    /// The canonical header value.
    pub fn to_header_value(&self) -> Result<String, DigestHeaderError> {
        let mut out = String::new();
        self.write_to(&mut out)?;
        Ok(out)
    }
}

const SCHEME: &str = "Digest";

/// The parameters [`DigestCredentials`] has fields for.
const CREDENTIALS_PARAMS: &[&str] = &[
    "username",
    "username*",
    "realm",
    "nonce",
    "uri",
    "response",
    "algorithm",
    "cnonce",
    "opaque",
    "qop",
    "nc",
    "userhash",
    "auts",
];

/// The parameters [`DigestChallenge`] has fields for.
const CHALLENGE_PARAMS: &[&str] = &[
    "realm",
    "domain",
    "nonce",
    "opaque",
    "stale",
    "algorithm",
    "qop",
    "charset",
    "userhash",
];

/// The parameters [`AuthenticationInfo`] has fields for.
const AUTHENTICATION_INFO_PARAMS: &[&str] = &["nextnonce", "qop", "rspauth", "cnonce", "nc"];

fn parse_algorithm(value: &str) -> Result<AlgorithmParam, DigestHeaderError> {
    AlgorithmParam::from_wire(value).ok_or_else(|| DigestHeaderError::UnknownAlgorithm {
        value: snippet(value),
    })
}

fn parse_single_qop(value: &str) -> Result<Qop, DigestHeaderError> {
    if value.contains([',', ' ', '\t']) {
        return Err(DigestHeaderError::QopNotSingle {
            value: snippet(value),
        });
    }
    Qop::from_wire(value).ok_or_else(|| DigestHeaderError::UnknownQop {
        value: snippet(value),
    })
}

/// Outside text shortened for an error message (Display quotes it with escapes).
fn snippet(text: &str) -> String {
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// RFC 7230 `tchar`.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Bytes a header value may not carry: C0 controls other than tab, and DEL.
fn is_forbidden_control(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t') || byte == 0x7f
}

/// RFC 8187 `attr-char`: what an extended value may carry without percent-encoding.
fn is_attr_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte)
}

/// Decodes an RFC 8187 `ext-value` (`UTF-8'[language]'percent-encoded`).
fn decode_ext_value(param: &'static str, value: &str) -> Result<String, DigestHeaderError> {
    let invalid = |reason| DigestHeaderError::InvalidExtValue { param, reason };
    let (charset, rest) = value
        .split_once('\'')
        .ok_or_else(|| invalid("expected charset'language'value"))?;
    let (language, encoded) = rest
        .split_once('\'')
        .ok_or_else(|| invalid("expected charset'language'value"))?;
    if !charset.eq_ignore_ascii_case("UTF-8") {
        return Err(invalid("charset must be UTF-8"));
    }
    if !language
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
    {
        return Err(invalid("malformed language tag"));
    }
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut bytes = encoded.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let high = bytes.next().and_then(hex_digit_value);
            let low = bytes.next().and_then(hex_digit_value);
            match (high, low) {
                (Some(high), Some(low)) => decoded.push((high << 4) | low),
                _ => return Err(invalid("% is not followed by two hex digits")),
            }
        } else if is_attr_char(byte) {
            decoded.push(byte);
        } else {
            return Err(invalid("character must be percent-encoded"));
        }
    }
    let text = String::from_utf8(decoded).map_err(|_| invalid("decoded value is not UTF-8"))?;
    if text.bytes().any(is_forbidden_control) {
        return Err(invalid("decoded value contains a control character"));
    }
    Ok(text)
}

fn hex_digit_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// Encodes a value as an RFC 8187 `ext-value` in UTF-8 without a language.
fn encode_ext_value(value: &str) -> String {
    let mut encoded = String::with_capacity(7 + value.len());
    encoded.push_str("UTF-8''");
    for byte in value.bytes() {
        if is_attr_char(byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// One `name=value` as parsed: the name as written, the value unquoted.
struct RawParam<'a> {
    name: &'a str,
    value: Cow<'a, str>,
}

/// The parameters of one header value, taken out one by one as the typed struct is filled.
struct ParamSet<'a> {
    params: Vec<Option<RawParam<'a>>>,
}

impl<'a> ParamSet<'a> {
    /// Tokenises `input`: optional scheme, then `#auth-param` (RFC 7235 §2.1).
    fn parse(
        input: &'a [u8],
        scheme: Option<&str>,
        options: &ParseOptions,
    ) -> Result<ParamSet<'a>, DigestHeaderError> {
        if input.len() > options.max_len {
            return Err(DigestHeaderError::TooLong {
                len: input.len(),
                max: options.max_len,
            });
        }
        let mut cursor = Cursor { input, pos: 0 };
        cursor.skip_whitespace();
        if let Some(expected) = scheme {
            let found = cursor.take_token();
            if found.is_empty() {
                return Err(match cursor.peek() {
                    None => DigestHeaderError::Empty,
                    Some(_) => cursor.unexpected("the authentication scheme", None),
                });
            }
            if !found.eq_ignore_ascii_case(expected.as_bytes()) {
                return Err(DigestHeaderError::WrongScheme {
                    found: snippet(&String::from_utf8_lossy(found)),
                });
            }
            if !cursor.skip_whitespace() && cursor.peek().is_some() {
                return Err(cursor.unexpected("a space after the scheme", None));
            }
        }

        let mut params: Vec<Option<RawParam<'a>>> = Vec::new();
        loop {
            cursor.skip_whitespace();
            match cursor.peek() {
                None => break,
                // Empty list elements are allowed (RFC 7230 §7).
                Some(b',') => {
                    cursor.pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name_bytes = cursor.take_token();
            if name_bytes.is_empty() {
                return Err(cursor.unexpected("a parameter name", None));
            }
            // Tokens are ASCII, so this cannot fail.
            let name = std::str::from_utf8(name_bytes).unwrap_or_default();
            cursor.skip_whitespace();
            match cursor.peek() {
                Some(b'=') => cursor.pos += 1,
                None | Some(b',') => {
                    return Err(DigestHeaderError::MissingValue {
                        param: snippet(name),
                    });
                }
                Some(_) => {
                    return Err(cursor.unexpected("'=' after the parameter name", Some(name)));
                }
            }
            cursor.skip_whitespace();
            let value_bytes = match cursor.peek() {
                Some(b'"') => cursor.take_quoted(name)?,
                _ => {
                    let token = cursor.take_token();
                    if token.is_empty() {
                        return Err(match cursor.peek() {
                            None | Some(b',') => DigestHeaderError::MissingValue {
                                param: snippet(name),
                            },
                            Some(_) => {
                                cursor.unexpected("a token or quoted-string value", Some(name))
                            }
                        });
                    }
                    Cow::Borrowed(token)
                }
            };
            let value = match value_bytes {
                Cow::Borrowed(bytes) => std::str::from_utf8(bytes).map(Cow::Borrowed).ok(),
                Cow::Owned(bytes) => String::from_utf8(bytes).map(Cow::Owned).ok(),
            }
            .ok_or_else(|| DigestHeaderError::InvalidUtf8 {
                param: snippet(name),
            })?;

            if params.len() >= options.max_params {
                return Err(DigestHeaderError::TooManyParams {
                    max: options.max_params,
                });
            }
            if params
                .iter()
                .flatten()
                .any(|seen| seen.name.eq_ignore_ascii_case(name))
            {
                return Err(DigestHeaderError::DuplicateParam {
                    param: snippet(name),
                });
            }
            params.push(Some(RawParam { name, value }));

            cursor.skip_whitespace();
            match cursor.peek() {
                None => break,
                Some(b',') => cursor.pos += 1,
                Some(_) => {
                    return Err(cursor.unexpected("',' after the value", Some(name)));
                }
            }
        }
        Ok(ParamSet { params })
    }

    /// Removes and returns the value of `name` (any letter case).
    fn take(&mut self, name: &str) -> Option<String> {
        self.params
            .iter_mut()
            .find(|slot| {
                slot.as_ref()
                    .is_some_and(|param| param.name.eq_ignore_ascii_case(name))
            })
            .and_then(Option::take)
            .map(|param| param.value.into_owned())
    }

    fn require(&mut self, name: &'static str) -> Result<String, DigestHeaderError> {
        self.take(name)
            .ok_or(DigestHeaderError::MissingParam { param: name })
    }

    /// A `true`/`false` parameter (any letter case); absent means false.
    fn take_bool(&mut self, name: &'static str) -> Result<bool, DigestHeaderError> {
        match self.take(name) {
            None => Ok(false),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
            Some(value) => Err(DigestHeaderError::InvalidBoolean {
                param: name,
                value: snippet(&value),
            }),
        }
    }

    /// The parameters not taken, in their original order.
    fn into_extra(self) -> Vec<AuthParam> {
        self.params
            .into_iter()
            .flatten()
            .map(|param| AuthParam {
                name: param.name.to_owned(),
                value: param.value.into_owned(),
            })
            .collect()
    }
}

struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn slice(&self, start: usize, end: usize) -> &'a [u8] {
        self.input.get(start..end).unwrap_or_default()
    }

    /// Skips spaces, tabs and CRLF line folding; tells whether anything was skipped.
    fn skip_whitespace(&mut self) -> bool {
        let start = self.pos;
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\r')
                    if self.input.get(self.pos + 1) == Some(&b'\n')
                        && matches!(self.input.get(self.pos + 2), Some(b' ' | b'\t')) =>
                {
                    self.pos += 3;
                }
                _ => return self.pos > start,
            }
        }
    }

    fn take_token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        self.slice(start, self.pos)
    }

    /// Reads a quoted-string starting at the opening quote, returning its unescaped content.
    fn take_quoted(&mut self, param: &str) -> Result<Cow<'a, [u8]>, DigestHeaderError> {
        self.pos += 1;
        let start = self.pos;
        // Allocated only once an escape shows that the content differs from the raw bytes.
        let mut unescaped: Option<Vec<u8>> = None;
        loop {
            match self.peek() {
                None => {
                    return Err(DigestHeaderError::UnterminatedQuote {
                        param: snippet(param),
                    });
                }
                Some(b'"') => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok(match unescaped {
                        Some(bytes) => Cow::Owned(bytes),
                        None => Cow::Borrowed(self.slice(start, end)),
                    });
                }
                Some(b'\\') => {
                    let escaped = match self.input.get(self.pos + 1).copied() {
                        None => {
                            return Err(DigestHeaderError::UnterminatedQuote {
                                param: snippet(param),
                            });
                        }
                        Some(byte) if is_forbidden_control(byte) => {
                            return Err(DigestHeaderError::ControlCharacter {
                                position: self.pos + 1,
                                param: Some(snippet(param)),
                            });
                        }
                        Some(byte) => byte,
                    };
                    unescaped
                        .get_or_insert_with(|| self.slice(start, self.pos).to_vec())
                        .push(escaped);
                    self.pos += 2;
                }
                Some(byte) if is_forbidden_control(byte) => {
                    return Err(DigestHeaderError::ControlCharacter {
                        position: self.pos,
                        param: Some(snippet(param)),
                    });
                }
                Some(byte) => {
                    if let Some(bytes) = unescaped.as_mut() {
                        bytes.push(byte);
                    }
                    self.pos += 1;
                }
            }
        }
    }

    /// The error for the byte at the cursor, which the syntax does not allow there.
    fn unexpected(&self, expected: &'static str, param: Option<&str>) -> DigestHeaderError {
        match self.peek() {
            Some(byte) if is_forbidden_control(byte) => DigestHeaderError::ControlCharacter {
                position: self.pos,
                param: param.map(snippet),
            },
            Some(found) => DigestHeaderError::UnexpectedByte {
                position: self.pos,
                found,
                expected,
            },
            None => DigestHeaderError::UnexpectedEnd { expected },
        }
    }
}

/// Builds a header value parameter by parameter, separated by `", "`.
struct ParamWriter {
    text: String,
    first: bool,
}

impl ParamWriter {
    fn new(scheme: Option<&str>) -> ParamWriter {
        let mut text = String::new();
        if let Some(scheme) = scheme {
            text.push_str(scheme);
            text.push(' ');
        }
        ParamWriter { text, first: true }
    }

    fn name(&mut self, name: &str) {
        if !self.first {
            self.text.push_str(", ");
        }
        self.first = false;
        self.text.push_str(name);
        self.text.push('=');
    }

    /// A value known to be a token.
    fn bare(&mut self, name: &str, value: &str) {
        self.name(name);
        self.text.push_str(value);
    }

    fn quoted(&mut self, name: &str, value: &str) -> Result<(), DigestHeaderError> {
        if value.bytes().any(is_forbidden_control) {
            return Err(DigestHeaderError::Unwritable {
                param: snippet(name),
                reason: "value contains a control character",
            });
        }
        self.name(name);
        self.text.push('"');
        for c in value.chars() {
            if c == '"' || c == '\\' {
                self.text.push('\\');
            }
            self.text.push(c);
        }
        self.text.push('"');
        Ok(())
    }

    fn optional_quoted(
        &mut self,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), DigestHeaderError> {
        match value {
            Some(value) => self.quoted(name, value),
            None => Ok(()),
        }
    }

    /// Writes the unknown parameters, which must not reuse a name the struct owns (`known`) or
    /// each other's, since parsing would then refuse or misread the value.
    fn extra(&mut self, extra: &[AuthParam], known: &[&str]) -> Result<(), DigestHeaderError> {
        for (index, param) in extra.iter().enumerate() {
            let unwritable = |reason| DigestHeaderError::Unwritable {
                param: snippet(&param.name),
                reason,
            };
            if param.name.is_empty() || !param.name.bytes().all(is_tchar) {
                return Err(unwritable("parameter name is not a token"));
            }
            let clashes = known
                .iter()
                .copied()
                .chain(
                    extra
                        .iter()
                        .take(index)
                        .map(|earlier| earlier.name.as_str()),
                )
                .any(|other| other.eq_ignore_ascii_case(&param.name));
            if clashes {
                return Err(unwritable("parameter name is already used"));
            }
            self.quoted(&param.name, &param.value)?;
        }
        Ok(())
    }

    fn finish(mut self, out: &mut String) {
        if self.first {
            // A scheme without parameters: drop the trailing space.
            self.text.truncate(self.text.trim_end().len());
        }
        out.push_str(&self.text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::digest::{self, DigestSecret};

    type E = DigestHeaderError;

    /// RFC 2617 §3.5, folded over lines as printed.
    const RFC2617_CHALLENGE: &str = "Digest\r\n                 realm=\"testrealm@host.com\",\r\n                 qop=\"auth,auth-int\",\r\n                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n                 opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    const RFC2617_AUTHORIZATION: &str = "Digest username=\"Mufasa\",\r\n                 realm=\"testrealm@host.com\",\r\n                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n                 uri=\"/dir/index.html\",\r\n                 qop=auth,\r\n                 nc=00000001,\r\n                 cnonce=\"0a4f113b\",\r\n                 response=\"6629fae49393a05397450978507c4ef1\",\r\n                 opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    /// RFC 7616 §3.9.1.
    const RFC7616_CHALLENGE_SHA256: &str = "Digest\r\n    realm=\"http-auth@example.org\",\r\n    qop=\"auth, auth-int\",\r\n    algorithm=SHA-256,\r\n    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    const RFC7616_AUTHORIZATION_MD5: &str = "Digest username=\"Mufasa\",\r\n    realm=\"http-auth@example.org\",\r\n    uri=\"/dir/index.html\",\r\n    algorithm=MD5,\r\n    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n    nc=00000001,\r\n    cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n    qop=auth,\r\n    response=\"8ca523f5e9506fed4657c9700eebdbec\",\r\n    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    const RFC7616_AUTHORIZATION_SHA256: &str = "Digest username=\"Mufasa\",\r\n    realm=\"http-auth@example.org\",\r\n    uri=\"/dir/index.html\",\r\n    algorithm=SHA-256,\r\n    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n    nc=00000001,\r\n    cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n    qop=auth,\r\n    response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\",\r\n    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    /// RFC 7616 §3.9.2 (second request), whose SHA-512-256 this crate does not support.
    const RFC7616_USERNAME_STAR: &str = "Digest\r\n       username*=UTF-8''J%C3%A4s%C3%B8n%20Doe,\r\n       realm=\"api@example.org\",\r\n       uri=\"/doe.json\",\r\n       algorithm=SHA-512-256,\r\n       nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\",\r\n       nc=00000001,\r\n       cnonce=\"NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v\",\r\n       qop=auth,\r\n       response=\"3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5\",\r\n       opaque=\"HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS\",\r\n       userhash=false";

    fn credentials_round_trip(credentials: &DigestCredentials) -> String {
        let written = credentials.to_header_value().expect("writable");
        assert_eq!(
            DigestCredentials::parse_with(&written, &ParseOptions::SIP_LENIENT).as_ref(),
            Ok(credentials),
            "{written}"
        );
        written
    }

    fn challenge_round_trip(challenge: &DigestChallenge) -> String {
        let written = challenge.to_header_value().expect("writable");
        assert_eq!(
            DigestChallenge::parse(&written).as_ref(),
            Ok(challenge),
            "{written}"
        );
        written
    }

    #[test]
    fn parses_rfc2617_example_and_verifies_it() {
        let challenge = DigestChallenge::parse(RFC2617_CHALLENGE).unwrap();
        assert_eq!(challenge.realm, "testrealm@host.com");
        assert_eq!(challenge.qop, vec![Qop::Auth, Qop::AuthInt]);
        assert_eq!(challenge.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
        assert_eq!(
            challenge.opaque.as_deref(),
            Some("5ccc069c403ebaf9f0171e9517f40e41")
        );
        assert_eq!(challenge.algorithm, None);
        assert_eq!(challenge.effective_algorithm(), DigestAlgorithm::Md5);

        let credentials = DigestCredentials::parse(RFC2617_AUTHORIZATION).unwrap();
        assert_eq!(credentials.username, "Mufasa");
        assert_eq!(credentials.uri, "/dir/index.html");
        assert_eq!(credentials.qop, Some(Qop::Auth));
        assert_eq!(credentials.nc.as_ref().map(NonceCount::count), Some(1));
        assert_eq!(credentials.cnonce.as_deref(), Some("0a4f113b"));
        assert_eq!(credentials.response, "6629fae49393a05397450978507c4ef1");
        assert!(credentials.extra.is_empty());
        assert!(
            digest::verify(
                &challenge,
                &credentials,
                "GET",
                b"",
                DigestSecret::Password(b"Circle Of Life")
            )
            .is_ok()
        );
        credentials_round_trip(&credentials);
        challenge_round_trip(&challenge);
    }

    #[test]
    fn parses_rfc7616_examples_and_verifies_them() {
        let challenge = DigestChallenge::parse(RFC7616_CHALLENGE_SHA256).unwrap();
        assert_eq!(challenge.qop, vec![Qop::Auth, Qop::AuthInt]);
        assert_eq!(
            challenge.algorithm,
            Some(AlgorithmParam::plain(DigestAlgorithm::Sha256))
        );
        let credentials = DigestCredentials::parse(RFC7616_AUTHORIZATION_SHA256).unwrap();
        let password = DigestSecret::Password(b"Circle of Life");
        assert!(digest::verify(&challenge, &credentials, "GET", b"", password).is_ok());
        assert_eq!(
            credentials_round_trip(&credentials),
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", \
             algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
             cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
             response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
        assert_eq!(
            challenge_round_trip(&challenge),
            "Digest realm=\"http-auth@example.org\", qop=\"auth,auth-int\", algorithm=SHA-256, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );

        let md5_challenge = DigestChallenge::parse(
            &RFC7616_CHALLENGE_SHA256.replace("algorithm=SHA-256", "algorithm=MD5"),
        )
        .unwrap();
        let md5 = DigestCredentials::parse(RFC7616_AUTHORIZATION_MD5).unwrap();
        assert!(digest::verify(&md5_challenge, &md5, "GET", b"", password).is_ok());
        // The SHA-256 answer is refused against the MD5 challenge.
        assert!(digest::verify(&md5_challenge, &credentials, "GET", b"", password).is_err());
    }

    #[test]
    fn username_star_is_decoded_and_reencoded() {
        // The RFC text as printed uses SHA-512-256, which is refused with a clear reason.
        assert_eq!(
            DigestCredentials::parse(RFC7616_USERNAME_STAR),
            Err(E::UnknownAlgorithm {
                value: "SHA-512-256".to_owned()
            })
        );
        let supported = RFC7616_USERNAME_STAR.replace("SHA-512-256", "SHA-256");
        let credentials = DigestCredentials::parse(&supported).unwrap();
        assert_eq!(credentials.username, "J\u{e4}s\u{f8}n Doe");
        assert_eq!(credentials.username_form, UsernameForm::Extended);
        assert!(!credentials.userhash);
        let written = credentials_round_trip(&credentials);
        assert!(
            written.starts_with("Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, "),
            "{written}"
        );

        // A language tag and lower-case charset are accepted.
        let tagged = supported.replace("UTF-8''", "utf-8'en'");
        assert_eq!(
            DigestCredentials::parse(&tagged).map(|c| c.username),
            Ok("J\u{e4}s\u{f8}n Doe".to_owned())
        );
    }

    #[test]
    fn username_star_rejections() {
        let with = |value: &str| {
            DigestCredentials::parse(&format!(
                "Digest username*={value}, realm=\"r\", nonce=\"n\", uri=\"/\", response=\"x\""
            ))
        };
        let reason = |reason| {
            Err(E::InvalidExtValue {
                param: "username*",
                reason,
            })
        };
        assert_eq!(with("ISO-8859-1''J%E4son"), reason("charset must be UTF-8"));
        assert_eq!(
            with("UTF-8'J%C3%A4s"),
            reason("expected charset'language'value")
        );
        assert_eq!(with("J%C3%A4s"), reason("expected charset'language'value"));
        assert_eq!(with("UTF-8'e!n'x"), reason("malformed language tag"));
        assert_eq!(with("UTF-8''%C3"), reason("decoded value is not UTF-8"));
        assert_eq!(
            with("UTF-8''%4"),
            reason("% is not followed by two hex digits")
        );
        assert_eq!(
            with("UTF-8''%zz"),
            reason("% is not followed by two hex digits")
        );
        assert_eq!(
            with("UTF-8''a%0Ab"),
            reason("decoded value contains a control character")
        );
        assert_eq!(
            with("\"UTF-8''a b\""),
            reason("character must be percent-encoded")
        );
        assert_eq!(
            DigestCredentials::parse(
                "Digest username=\"a\", username*=UTF-8''a, realm=\"r\", nonce=\"n\", uri=\"/\", response=\"x\""
            ),
            Err(E::BothUsernameForms)
        );
    }

    #[test]
    fn authentication_info_parses_and_round_trips() {
        let info = AuthenticationInfo::parse(
            "nextnonce=\"abc\", qop=auth, rspauth=\"376602cfd2f4e8e5e78b948a85263e85\", cnonce=\"0a4f113b\", nc=00000001",
        )
        .unwrap();
        assert_eq!(info.nextnonce.as_deref(), Some("abc"));
        assert_eq!(info.qop, Some(Qop::Auth));
        assert_eq!(
            info.rspauth.as_deref(),
            Some("376602cfd2f4e8e5e78b948a85263e85")
        );
        assert_eq!(info.nc.as_ref().map(NonceCount::as_str), Some("00000001"));
        let written = info.to_header_value().unwrap();
        assert_eq!(
            written,
            "nextnonce=\"abc\", qop=auth, rspauth=\"376602cfd2f4e8e5e78b948a85263e85\", cnonce=\"0a4f113b\", nc=00000001"
        );
        assert_eq!(AuthenticationInfo::parse(&written), Ok(info));
        assert_eq!(
            AuthenticationInfo::parse(""),
            Ok(AuthenticationInfo::default())
        );
        assert_eq!(
            AuthenticationInfo::default().to_header_value(),
            Ok(String::new())
        );
        assert_eq!(
            AuthenticationInfo::parse("qop=\"auth,auth-int\""),
            Err(E::QopNotSingle {
                value: "auth,auth-int".to_owned()
            })
        );
        // No scheme: a leading "Digest" is a parameter name without '='.
        assert!(matches!(
            AuthenticationInfo::parse("Digest rspauth=\"x\""),
            Err(E::UnexpectedByte {
                expected: "'=' after the parameter name",
                ..
            })
        ));
    }

    #[test]
    fn syntax_quirks_are_tolerated() {
        let credentials = DigestCredentials::parse(
            "dIgEsT  ,, USERNAME = \"a\\\"b\\\\c\" ,Realm=\"r\\x\",\tnonce=n0nce ,uri=\"sip:x@y;transport=tcp\",\
             response=\"0123\",QOP=\"auth\",NC=0000000a,cnonce=c,  algorithm = md5-Sess, Opaque=\"\", \
             Foo=bar, baz=\"q,u=o\\\"te\" , ,",
        )
        .unwrap();
        assert_eq!(credentials.username, "a\"b\\c");
        assert_eq!(credentials.realm, "rx");
        assert_eq!(credentials.nonce, "n0nce");
        assert_eq!(credentials.uri, "sip:x@y;transport=tcp");
        assert_eq!(credentials.qop, Some(Qop::Auth));
        assert_eq!(credentials.nc.as_ref().map(NonceCount::count), Some(10));
        assert_eq!(
            credentials.algorithm,
            Some(AlgorithmParam::plain(DigestAlgorithm::Md5Sess))
        );
        assert_eq!(credentials.opaque.as_deref(), Some(""));
        assert_eq!(
            credentials.extra,
            vec![
                AuthParam {
                    name: "Foo".to_owned(),
                    value: "bar".to_owned()
                },
                AuthParam {
                    name: "baz".to_owned(),
                    value: "q,u=o\"te".to_owned()
                },
            ]
        );
        let written = credentials_round_trip(&credentials);
        assert!(written.contains("username=\"a\\\"b\\\\c\""), "{written}");
        assert!(written.contains("baz=\"q,u=o\\\"te\""), "{written}");

        // A value can be UTF-8 inside quotes; the scheme alone, then the required check fires.
        let utf8 = DigestChallenge::parse("Digest realm=\"r\u{e9}alm\", nonce=\"n\"").unwrap();
        assert_eq!(utf8.realm, "r\u{e9}alm");
        assert_eq!(
            DigestChallenge::parse("Digest"),
            Err(E::MissingParam { param: "realm" })
        );
    }

    #[test]
    fn challenge_fields() {
        let challenge = DigestChallenge::parse(
            "Digest realm=\"r\", domain=\"/a  http://x/b\", nonce=\"n\", stale=TRUE, \
             algorithm=AKAv1-MD5, qop=\"auth-int, auth-conf,,auth\", charset=utf-8, userhash=true, ik=\"01\"",
        )
        .unwrap();
        assert_eq!(
            challenge.domain,
            vec!["/a".to_owned(), "http://x/b".to_owned()]
        );
        assert!(challenge.stale);
        assert_eq!(
            challenge.algorithm,
            Some(AlgorithmParam {
                aka_version: Some(1),
                digest: DigestAlgorithm::Md5
            })
        );
        // The unknown auth-conf is dropped as RFC 7616 says.
        assert_eq!(challenge.qop, vec![Qop::AuthInt, Qop::Auth]);
        assert!(challenge.charset_utf8);
        assert!(challenge.userhash);
        assert_eq!(challenge.extra.len(), 1);
        assert_eq!(
            challenge_round_trip(&challenge),
            "Digest realm=\"r\", domain=\"/a http://x/b\", qop=\"auth-int,auth\", algorithm=AKAv1-MD5, \
             nonce=\"n\", stale=true, charset=UTF-8, userhash=true, ik=\"01\""
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=\"r\", nonce=\"n\", charset=latin1"),
            Err(E::InvalidCharset {
                value: "latin1".to_owned()
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=\"r\", nonce=\"n\", stale=yes"),
            Err(E::InvalidBoolean {
                param: "stale",
                value: "yes".to_owned()
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=\"r\""),
            Err(E::MissingParam { param: "nonce" })
        );
        assert_eq!(
            DigestChallenge::parse("Digest nonce=\"n\""),
            Err(E::MissingParam { param: "realm" })
        );
    }

    #[test]
    fn aka_credentials_with_auts() {
        // An IMS resynchronisation: empty response, RFC 3310 auts, AKA algorithm.
        let credentials = DigestCredentials::parse(
            "Digest username=\"user@ims.example\", realm=\"ims.example\", nonce=\"bm9uY2U=\", \
             uri=\"sip:ims.example\", response=\"\", algorithm=AKAv1-MD5, auts=\"CjkyMzRmMmZhMTIz\", \
             integrity-protected=\"no\"",
        )
        .unwrap();
        assert_eq!(credentials.auts.as_deref(), Some("CjkyMzRmMmZhMTIz"));
        assert_eq!(credentials.response, "");
        assert_eq!(credentials.effective_algorithm(), DigestAlgorithm::Md5);
        assert_eq!(credentials.algorithm.map(|a| a.aka_version), Some(Some(1)));
        credentials_round_trip(&credentials);
        for bad in [
            "AKAv-MD5",
            "AKAv1",
            "AKAv1-SHA-1",
            "AKAv999-MD5",
            "AKAvx-MD5",
            "AKA-MD5",
        ] {
            assert_eq!(AlgorithmParam::from_wire(bad), None, "{bad}");
        }
        assert_eq!(
            AlgorithmParam::from_wire("akav2-sha-256").map(|a| a.to_string()),
            Some("AKAv2-SHA-256".to_owned())
        );
    }

    const MINIMAL: &str =
        "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"/\", response=\"x\"";

    #[test]
    fn every_required_credentials_param_is_checked() {
        for param in ["username", "realm", "nonce", "uri", "response"] {
            let without: Vec<&str> = MINIMAL
                .trim_start_matches("Digest ")
                .split(", ")
                .filter(|item| !item.starts_with(&format!("{param}=")))
                .collect();
            let value = format!("Digest {}", without.join(", "));
            assert_eq!(
                DigestCredentials::parse(&value),
                Err(E::MissingParam { param }),
                "{value}"
            );
        }
        assert_eq!(
            DigestCredentials::parse(&format!("{MINIMAL}, qop=auth, nc=00000001")),
            Err(E::MissingForQop { param: "cnonce" })
        );
        assert_eq!(
            DigestCredentials::parse(&format!("{MINIMAL}, qop=auth, cnonce=\"c\"")),
            Err(E::MissingForQop { param: "nc" })
        );
        // Without qop, nc and cnonce are not required.
        let minimal = DigestCredentials::parse(MINIMAL).unwrap();
        assert_eq!(minimal.qop, None);
        credentials_round_trip(&minimal);
    }

    #[test]
    fn credentials_value_rejections() {
        let with = |extra: &str| DigestCredentials::parse(&format!("{MINIMAL}, {extra}"));
        assert_eq!(
            with("realm=\"again\""),
            Err(E::DuplicateParam {
                param: "realm".to_owned()
            })
        );
        assert_eq!(
            with("X=1, x=2"),
            Err(E::DuplicateParam {
                param: "x".to_owned()
            })
        );
        assert_eq!(
            with("algorithm=SHA-1"),
            Err(E::UnknownAlgorithm {
                value: "SHA-1".to_owned()
            })
        );
        assert_eq!(
            with("qop=\"auth,auth-int\", nc=00000001, cnonce=c"),
            Err(E::QopNotSingle {
                value: "auth,auth-int".to_owned()
            })
        );
        assert_eq!(
            with("qop=\"auth auth-int\", nc=00000001, cnonce=c"),
            Err(E::QopNotSingle {
                value: "auth auth-int".to_owned()
            })
        );
        assert_eq!(
            with("qop=auth-conf, nc=00000001, cnonce=c"),
            Err(E::UnknownQop {
                value: "auth-conf".to_owned()
            })
        );
        assert_eq!(
            with("userhash=1"),
            Err(E::InvalidBoolean {
                param: "userhash",
                value: "1".to_owned()
            })
        );
    }

    #[test]
    fn nonce_count_strict_and_lenient() {
        let parse = |nc: &str, options: &ParseOptions| {
            DigestCredentials::parse_with(
                &format!("{MINIMAL}, qop=auth, cnonce=\"c\", nc={nc}"),
                options,
            )
            .map(|c| c.nc)
        };
        let strict = ParseOptions::DEFAULT;
        let lenient = ParseOptions::SIP_LENIENT;
        assert_eq!(
            parse("0000001F", &strict),
            Ok(Some(
                NonceCount::parse("0000001F", NonceCountSyntax::Strict).unwrap()
            ))
        );
        assert_eq!(
            parse("ffffffff", &strict).unwrap().unwrap().count(),
            u32::MAX
        );
        for bad in ["1", "0000001", "000000001", "0000000g", "\"\""] {
            let value = bad.trim_matches('"');
            assert_eq!(
                parse(bad, &strict),
                Err(E::InvalidNonceCount {
                    value: value.to_owned(),
                    syntax: NonceCountSyntax::Strict
                }),
                "{bad}"
            );
        }
        // Lenient keeps the text as sent, since the response hashes it.
        let one = parse("1", &lenient).unwrap().unwrap();
        assert_eq!((one.as_str(), one.count()), ("1", 1));
        assert!(parse("00000001", &lenient).is_ok());
        for bad in ["000000001", "-1", "0x1", "\"\""] {
            assert!(
                matches!(parse(bad, &lenient), Err(E::InvalidNonceCount { .. })),
                "{bad}"
            );
        }
        assert_eq!(NonceCount::from_count(0x1a).as_str(), "0000001a");
        assert_eq!(
            E::InvalidNonceCount {
                value: "1".to_owned(),
                syntax: NonceCountSyntax::Strict
            }
            .to_string(),
            "nc \"1\" is not exactly 8 hex digits"
        );
    }

    #[test]
    fn syntax_rejections() {
        assert_eq!(DigestChallenge::parse(""), Err(E::Empty));
        assert_eq!(DigestChallenge::parse(" \t "), Err(E::Empty));
        assert_eq!(
            DigestChallenge::parse("Basic realm=\"r\""),
            Err(E::WrongScheme {
                found: "Basic".to_owned()
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digestrealm=\"r\""),
            Err(E::WrongScheme {
                found: "Digestrealm".to_owned()
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest,realm=\"r\", nonce=n"),
            Err(E::UnexpectedByte {
                position: 6,
                found: b',',
                expected: "a space after the scheme"
            })
        );
        assert_eq!(
            DigestChallenge::parse("\"Digest\" realm=r"),
            Err(E::UnexpectedByte {
                position: 0,
                found: b'"',
                expected: "the authentication scheme"
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=\"r, nonce=n"),
            Err(E::UnterminatedQuote {
                param: "realm".to_owned()
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=\"r\\"),
            Err(E::UnterminatedQuote {
                param: "realm".to_owned()
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=\"a\nb\", nonce=n"),
            Err(E::ControlCharacter {
                position: 15,
                param: Some("realm".to_owned())
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=\"a\\\x01\", nonce=n"),
            Err(E::ControlCharacter {
                position: 16,
                param: Some("realm".to_owned())
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=\"a\x7f\", nonce=n"),
            Err(E::ControlCharacter {
                position: 15,
                param: Some("realm".to_owned())
            })
        );
        // A bare LF (no CRLF folding) and a CR not followed by LF SP are refused.
        assert_eq!(
            DigestChallenge::parse("Digest realm=r,\n nonce=n"),
            Err(E::ControlCharacter {
                position: 15,
                param: None
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=r\r\nnonce=n"),
            Err(E::ControlCharacter {
                position: 14,
                param: Some("realm".to_owned())
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=\x00"),
            Err(E::ControlCharacter {
                position: 13,
                param: Some("realm".to_owned())
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm"),
            Err(E::MissingValue {
                param: "realm".to_owned()
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=, nonce=n"),
            Err(E::MissingValue {
                param: "realm".to_owned()
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=  "),
            Err(E::MissingValue {
                param: "realm".to_owned()
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=r nonce=n"),
            Err(E::UnexpectedByte {
                position: 15,
                found: b'n',
                expected: "',' after the value"
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=\"r\"x, nonce=n"),
            Err(E::UnexpectedByte {
                position: 16,
                found: b'x',
                expected: "',' after the value"
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm r"),
            Err(E::UnexpectedByte {
                position: 13,
                found: b'r',
                expected: "'=' after the parameter name"
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest =r"),
            Err(E::UnexpectedByte {
                position: 7,
                found: b'=',
                expected: "a parameter name"
            })
        );
        // Token68 is not Digest syntax.
        assert_eq!(
            DigestChallenge::parse("Digest YWJj=="),
            Err(E::UnexpectedByte {
                position: 12,
                found: b'=',
                expected: "a token or quoted-string value"
            })
        );
        assert_eq!(
            DigestChallenge::parse_bytes(b"Digest realm=\"\xff\", nonce=n", &ParseOptions::DEFAULT),
            Err(E::InvalidUtf8 {
                param: "realm".to_owned()
            })
        );
        // Non-ASCII text must be quoted.
        assert_eq!(
            DigestChallenge::parse_bytes(b"Digest realm=\xc3\xa9, nonce=n", &ParseOptions::DEFAULT),
            Err(E::UnexpectedByte {
                position: 13,
                found: 0xc3,
                expected: "a token or quoted-string value"
            })
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=r\u{e9}, nonce=n"),
            Err(E::UnexpectedByte {
                position: 14,
                found: 0xc3,
                expected: "',' after the value"
            })
        );
    }

    #[test]
    fn limits_are_enforced() {
        let long = format!("Digest realm=\"{}\", nonce=n", "a".repeat(DEFAULT_MAX_LEN));
        assert_eq!(
            DigestChallenge::parse(&long),
            Err(E::TooLong {
                len: long.len(),
                max: DEFAULT_MAX_LEN
            })
        );
        let options = ParseOptions {
            max_len: usize::MAX,
            ..ParseOptions::DEFAULT
        };
        assert!(DigestChallenge::parse_with(&long, &options).is_ok());

        let many: Vec<String> = (0..DEFAULT_MAX_PARAMS - 2)
            .map(|i| format!("p{i}=v"))
            .collect();
        let at_limit = format!("Digest realm=r, nonce=n, {}", many.join(", "));
        assert_eq!(
            DigestChallenge::parse(&at_limit).map(|c| c.extra.len()),
            Ok(DEFAULT_MAX_PARAMS - 2)
        );
        assert_eq!(
            DigestChallenge::parse(&format!("{at_limit}, one=more")),
            Err(E::TooManyParams {
                max: DEFAULT_MAX_PARAMS
            })
        );
        // Empty list elements do not count.
        assert!(DigestChallenge::parse(&format!("{at_limit}{}", ",".repeat(100))).is_ok());
    }

    #[test]
    fn writers_refuse_unwritable_values() {
        let mut credentials = DigestCredentials::parse(MINIMAL).unwrap();
        credentials.uri = "/a\r\nX-Injected: 1".to_owned();
        assert_eq!(
            credentials.to_header_value(),
            Err(E::Unwritable {
                param: "uri".to_owned(),
                reason: "value contains a control character"
            })
        );
        let mut out = String::from("kept");
        assert!(credentials.write_to(&mut out).is_err());
        assert_eq!(out, "kept");

        let mut credentials = DigestCredentials::parse(MINIMAL).unwrap();
        credentials.extra.push(AuthParam {
            name: "bad name".to_owned(),
            value: String::new(),
        });
        assert!(matches!(
            credentials.to_header_value(),
            Err(E::Unwritable {
                reason: "parameter name is not a token",
                ..
            })
        ));
        credentials.extra = vec![AuthParam {
            name: "Realm".to_owned(),
            value: "x".to_owned(),
        }];
        assert!(matches!(
            credentials.to_header_value(),
            Err(E::Unwritable {
                reason: "parameter name is already used",
                ..
            })
        ));

        let challenge = DigestChallenge {
            realm: "r".to_owned(),
            nonce: "n".to_owned(),
            domain: vec!["/a b".to_owned()],
            ..DigestChallenge::default()
        };
        assert!(matches!(
            challenge.to_header_value(),
            Err(E::Unwritable { .. })
        ));
    }

    #[test]
    fn built_structs_round_trip() {
        let credentials = DigestCredentials {
            username: "\u{1F600} 100% \"odd\" \\ user".to_owned(),
            username_form: UsernameForm::Extended,
            realm: "tab\there".to_owned(),
            nonce: "n".to_owned(),
            uri: "sip:a@b".to_owned(),
            response: "r".to_owned(),
            algorithm: Some(AlgorithmParam {
                aka_version: Some(2),
                digest: DigestAlgorithm::Sha256Sess,
            }),
            cnonce: Some("c".to_owned()),
            opaque: Some("o\"q".to_owned()),
            qop: Some(Qop::AuthInt),
            nc: Some(NonceCount::from_count(7)),
            userhash: true,
            auts: Some("YXV0cw==".to_owned()),
            extra: vec![AuthParam {
                name: "x-y".to_owned(),
                value: String::new(),
            }],
        };
        credentials_round_trip(&credentials);
        let quoted = DigestCredentials {
            username_form: UsernameForm::Quoted,
            ..credentials
        };
        credentials_round_trip(&quoted);
    }

    #[test]
    fn errors_read_well() {
        let cases: Vec<(&str, &str)> = vec![
            ("Basic x", "authentication scheme \"Basic\" is not Digest"),
            (
                "Digest realm=\"r",
                "quoted value of parameter realm has no closing quote",
            ),
            (
                "Digest realm=\"a\x01\"",
                "control character at byte 15 in parameter realm",
            ),
            (
                "Digest realm=r, realm=s",
                "parameter realm appears more than once",
            ),
            ("Digest realm=r", "required parameter nonce is missing"),
            (
                "Digest realm=r;",
                "unexpected ';' at byte 14, expected ',' after the value",
            ),
            (
                "Digest realm=\u{e9}",
                "unexpected byte 0xc3 at byte 13, expected a token or quoted-string value",
            ),
            (
                "Digest realm=r, nonce=n, algorithm=SHA-1",
                "algorithm \"SHA-1\" is not supported",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(
                DigestChallenge::parse(input).unwrap_err().to_string(),
                message,
                "{input}"
            );
        }
        // Outside text is shortened in messages, names as well as values (found by fuzzing).
        let long_name = format!("Digest realm=r, nonce=n, {}", "G".repeat(5000));
        let message = DigestChallenge::parse(&long_name).unwrap_err().to_string();
        assert_eq!(
            message,
            format!("parameter {}... has no value", "G".repeat(SNIPPET_CHARS))
        );
        let long_value = format!("Digest realm=r, nonce=n, algorithm={}", "A".repeat(100));
        let message = DigestChallenge::parse(&long_value).unwrap_err().to_string();
        assert!(message.len() < 100, "{message}");
        assert_eq!(
            DigestCredentials::parse(&format!("{MINIMAL}, qop=auth, nc=1, cnonce=c"))
                .unwrap_err()
                .to_string(),
            "nc \"1\" is not exactly 8 hex digits"
        );
    }
}
