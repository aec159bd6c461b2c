//! Ephemeral SIP credentials for Kamailio's `auth_ephemeral` module (the scheme of
//! draft-uberti-behave-turn-rest): a web service and the SIP server share a secret; the service
//! hands out `username = "<expiry>:<user>"` and `password = base64(HMAC(secret, username))`, and
//! the server recomputes the password and checks the expiry. No state is shared beyond the secret.
//!
//! Module parameters mirrored here:
//! - `username_format`: 1 (default, IETF draft) `"<expiry>:<user>"`, 0 (deprecated)
//!   `"<user>:<expiry>"`; see [`UsernameFormat`].
//! - `sha_algorithm`: 0 SHA-1 (default), 1 SHA-256, 2 SHA-384, 3 SHA-512; see [`ShaVariant`].
//! - `secret`: may be set several times; every secret is tried, so secrets can be rotated
//!   without breaking credentials already issued.
//!
//! The module splits a username at its *first* `':'`, reads the expiry as an unsigned 32-bit
//! UNIX timestamp and treats a credential as expired once `now > expiry`. [`make_username`]
//! refuses users the module could not split back, and [`verify`] follows the same rules as
//! `autheph_authenticate`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use subtle::{Choice, ConstantTimeEq};

/// Longest user part accepted (the part the web service's client asked for).
pub const MAX_USER_LEN: usize = 256;

/// Longest username accepted: a user part, a `':'` and a 10-digit expiry.
pub const MAX_USERNAME_LEN: usize = MAX_USER_LEN + 1 + 10;

/// Longest password [`verify`] looks at: base64 of a 64-octet SHA-512 HMAC.
pub const MAX_PASSWORD_LEN: usize = 88;

/// Longest shared secret accepted.
pub const MAX_SECRET_LEN: usize = 4096;

/// Latest expiry the module can read: it parses the timestamp into a C `unsigned int`.
pub const MAX_EXPIRY: u64 = u32::MAX as u64;

/// The HMAC hash, the module's `sha_algorithm` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ShaVariant {
    /// `sha_algorithm` 0, the default (as in the IETF draft).
    #[default]
    Sha1,
    /// `sha_algorithm` 1.
    Sha256,
    /// `sha_algorithm` 2.
    Sha384,
    /// `sha_algorithm` 3.
    Sha512,
}

impl ShaVariant {
    /// The variant for a `sha_algorithm` module parameter value, if it is one of 0 to 3.
    pub fn from_module_param(value: i64) -> Option<Self> {
        match value {
            0 => Some(Self::Sha1),
            1 => Some(Self::Sha256),
            2 => Some(Self::Sha384),
            3 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The `sha_algorithm` module parameter value for this variant.
    pub fn module_param(self) -> u8 {
        match self {
            Self::Sha1 => 0,
            Self::Sha256 => 1,
            Self::Sha384 => 2,
            Self::Sha512 => 3,
        }
    }

    /// Length of the HMAC in octets (before base64).
    pub fn mac_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// How user and expiry are joined, the module's `username_format` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UsernameFormat {
    /// `username_format` 1, the default (IETF draft format): `"<expiry>:<user>"`. The user may
    /// contain `':'`, since the module splits at the first one.
    #[default]
    ExpiryFirst,
    /// `username_format` 0, deprecated (pre-IETF draft): `"<user>:<expiry>"`. The user must not
    /// contain `':'`.
    UserFirst,
}

impl UsernameFormat {
    /// The format for a `username_format` module parameter value, if it is 0 or 1.
    pub fn from_module_param(value: i64) -> Option<Self> {
        match value {
            0 => Some(Self::UserFirst),
            1 => Some(Self::ExpiryFirst),
            _ => None,
        }
    }

    /// The `username_format` module parameter value for this format.
    pub fn module_param(self) -> u8 {
        match self {
            Self::UserFirst => 0,
            Self::ExpiryFirst => 1,
        }
    }
}

/// Why credentials could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EphemeralError {
    /// The user part is longer than [`MAX_USER_LEN`].
    UserTooLong(usize),
    /// The user contains `':'` in [`UsernameFormat::UserFirst`], where the module would read
    /// part of the user as the expiry.
    UserContainsColon,
    /// The user contains a control character, `'"'` or `'\\'`, which would break the quoted
    /// `username` of a SIP Authorization header.
    UserHasForbiddenCharacter,
    /// The expiry (now + ttl) is past [`MAX_EXPIRY`], which the module cannot read.
    ExpiryOutOfRange,
    /// The secret is empty or longer than [`MAX_SECRET_LEN`].
    InvalidSecretLength(usize),
    /// The username is longer than [`MAX_USERNAME_LEN`].
    UsernameTooLong(usize),
    /// The HMAC implementation refused the key (HMAC takes any key length, so this only reports
    /// a broken crypto backend).
    KeyRejected,
}

impl fmt::Display for EphemeralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UserTooLong(len) => {
                write!(f, "user of {len} octets is longer than {MAX_USER_LEN}")
            }
            Self::UserContainsColon => f.write_str(
                "user contains ':' which username_format 0 (\"<user>:<expiry>\") cannot carry",
            ),
            Self::UserHasForbiddenCharacter => f.write_str(
                "user contains a control character, '\"' or '\\' (not allowed in a SIP username)",
            ),
            Self::ExpiryOutOfRange => write!(
                f,
                "expiry is past {MAX_EXPIRY}, the largest timestamp auth_ephemeral can read"
            ),
            Self::InvalidSecretLength(len) => {
                write!(f, "secret of {len} octets (must be 1 to {MAX_SECRET_LEN})")
            }
            Self::UsernameTooLong(len) => write!(
                f,
                "username of {len} octets is longer than {MAX_USERNAME_LEN}"
            ),
            Self::KeyRejected => f.write_str("HMAC rejected the secret"),
        }
    }
}

impl std::error::Error for EphemeralError {}

/// Why [`verify`] refused a username/password pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The username or password is empty, too long, or its timestamp is not a number the module
    /// would accept; the text says which.
    Malformed(&'static str),
    /// The credential expired: `now > expiry`.
    Expired {
        /// The expiry read from the username.
        expiry: u64,
        /// The time it was checked at.
        now: u64,
    },
    /// No configured secret produces this password.
    BadPassword,
    /// No secret is configured, so nothing can be verified.
    NoSecrets,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed credentials: {why}"),
            Self::Expired { expiry, now } => {
                write!(f, "credentials expired at {expiry} (now {now})")
            }
            Self::BadPassword => f.write_str("password does not match any secret"),
            Self::NoSecrets => f.write_str("no shared secret configured"),
        }
    }
}

impl std::error::Error for Reason {}

/// One issued credential, as the web service returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The username to present, e.g. `"1700000000:alice@example.com"`.
    pub username: String,
    /// `base64(HMAC(secret, username))`.
    pub password: String,
    /// UNIX time after which the SIP server refuses the credential.
    pub expires: u64,
}

/// Checks a user part for what the username format can carry.
fn validate_user(user: &str, format: UsernameFormat) -> Result<(), EphemeralError> {
    if user.len() > MAX_USER_LEN {
        return Err(EphemeralError::UserTooLong(user.len()));
    }
    if user
        .chars()
        .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return Err(EphemeralError::UserHasForbiddenCharacter);
    }
    if format == UsernameFormat::UserFirst && user.contains(':') {
        return Err(EphemeralError::UserContainsColon);
    }
    Ok(())
}

/// Joins user and expiry as `format` says. An empty user gives the bare expiry, which the
/// module accepts (the user is optional in the web-service request).
pub fn make_username(
    user: &str,
    expiry: u64,
    format: UsernameFormat,
) -> Result<String, EphemeralError> {
    validate_user(user, format)?;
    if expiry > MAX_EXPIRY {
        return Err(EphemeralError::ExpiryOutOfRange);
    }
    Ok(match (user.is_empty(), format) {
        (true, _) => expiry.to_string(),
        (false, UsernameFormat::ExpiryFirst) => format!("{expiry}:{user}"),
        (false, UsernameFormat::UserFirst) => format!("{user}:{expiry}"),
    })
}

/// The HMAC of `message` under `secret` with the chosen hash.
fn mac(secret: &[u8], message: &[u8], sha: ShaVariant) -> Result<Vec<u8>, EphemeralError> {
    fn run<M: Mac + KeyInit>(secret: &[u8], message: &[u8]) -> Result<Vec<u8>, EphemeralError> {
        let mut mac =
            <M as KeyInit>::new_from_slice(secret).map_err(|_| EphemeralError::KeyRejected)?;
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
    match sha {
        ShaVariant::Sha1 => run::<Hmac<sha1::Sha1>>(secret, message),
        ShaVariant::Sha256 => run::<Hmac<sha2::Sha256>>(secret, message),
        ShaVariant::Sha384 => run::<Hmac<sha2::Sha384>>(secret, message),
        ShaVariant::Sha512 => run::<Hmac<sha2::Sha512>>(secret, message),
    }
}

/// `base64(HMAC(secret, username))`, standard alphabet with padding, as the module computes it.
///
/// Fails for an empty secret or one longer than [`MAX_SECRET_LEN`], and for a username longer
/// than [`MAX_USERNAME_LEN`].
pub fn password(secret: &[u8], username: &str, sha: ShaVariant) -> Result<String, EphemeralError> {
    if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
        return Err(EphemeralError::InvalidSecretLength(secret.len()));
    }
    if username.len() > MAX_USERNAME_LEN {
        return Err(EphemeralError::UsernameTooLong(username.len()));
    }
    Ok(BASE64.encode(mac(secret, username.as_bytes(), sha)?))
}

/// Issues a credential for `user` valid until `now_unix + ttl_secs`, signed with `secret` (the
/// newest one, when several are configured).
pub fn issue(
    user: &str,
    now_unix: u64,
    ttl_secs: u64,
    format: UsernameFormat,
    secret: &[u8],
    sha: ShaVariant,
) -> Result<Credential, EphemeralError> {
    let expires = now_unix
        .checked_add(ttl_secs)
        .ok_or(EphemeralError::ExpiryOutOfRange)?;
    let username = make_username(user, expires, format)?;
    let password = password(secret, &username, sha)?;
    Ok(Credential {
        username,
        password,
        expires,
    })
}

/// Splits a username the way the module does: at the first `':'`, unless there is none or it
/// is the last character, in which case the whole username is the timestamp. Returns
/// `(timestamp text, user)`.
fn split_username(username: &str, format: UsernameFormat) -> (&str, &str) {
    match username.split_once(':') {
        Some((before, after)) if !after.is_empty() => match format {
            UsernameFormat::ExpiryFirst => (before, after),
            UsernameFormat::UserFirst => (after, before),
        },
        _ => (username, ""),
    }
}

/// Reads the expiry: decimal digits only, fitting the module's 32-bit unsigned integer.
fn parse_expiry(text: &str) -> Result<u64, Reason> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::Malformed("timestamp in username is not a number"));
    }
    match text.parse::<u64>() {
        Ok(expiry) if expiry <= MAX_EXPIRY => Ok(expiry),
        _ => Err(Reason::Malformed("timestamp in username is out of range")),
    }
}

/// The expiry a username carries, read as the module reads it.
pub fn username_expiry(username: &str, format: UsernameFormat) -> Result<u64, Reason> {
    parse_expiry(split_username(username, format).0)
}

/// Server-side check mirroring `autheph_authenticate`: the username must carry a readable,
/// unexpired timestamp (`now_unix <= expiry`), and some secret in `secrets` must produce
/// `password`. Every secret is tried (rotation) and compared in constant time. Returns the user
/// part of the username (empty when the username is a bare timestamp).
pub fn verify(
    username: &str,
    password: &str,
    secrets: &[&[u8]],
    now_unix: u64,
    format: UsernameFormat,
    sha: ShaVariant,
) -> Result<String, Reason> {
    if username.is_empty() {
        return Err(Reason::Malformed("empty username"));
    }
    if password.is_empty() {
        return Err(Reason::Malformed("empty password"));
    }
    if username.len() > MAX_USERNAME_LEN {
        return Err(Reason::Malformed("username too long"));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(Reason::Malformed("password too long"));
    }
    let (timestamp, user) = split_username(username, format);
    let expiry = parse_expiry(timestamp)?;
    if now_unix > expiry {
        return Err(Reason::Expired {
            expiry,
            now: now_unix,
        });
    }
    if secrets.is_empty() {
        return Err(Reason::NoSecrets);
    }
    let presented = password.as_bytes();
    let mut matched = Choice::from(0);
    for secret in secrets {
        // A secret that cannot be used (empty, oversized) simply matches nothing.
        if let Ok(expected) = self::password(secret, username, sha) {
            matched |= expected.as_bytes().ct_eq(presented);
        }
    }
    if bool::from(matched) {
        Ok(user.to_owned())
    } else {
        Err(Reason::BadPassword)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"kamailio_rules";

    /// Independent computation: the hmac crate called directly, then base64.
    fn reference(secret: &[u8], username: &str, sha: ShaVariant) -> String {
        let bytes = match sha {
            ShaVariant::Sha1 => {
                let mut m = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret).unwrap();
                m.update(username.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
            ShaVariant::Sha256 => {
                let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).unwrap();
                m.update(username.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
            ShaVariant::Sha384 => {
                let mut m = <Hmac<sha2::Sha384> as KeyInit>::new_from_slice(secret).unwrap();
                m.update(username.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
            ShaVariant::Sha512 => {
                let mut m = <Hmac<sha2::Sha512> as KeyInit>::new_from_slice(secret).unwrap();
                m.update(username.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
        };
        BASE64.encode(bytes)
    }

    const ALL_SHA: [ShaVariant; 4] = [
        ShaVariant::Sha1,
        ShaVariant::Sha256,
        ShaVariant::Sha384,
        ShaVariant::Sha512,
    ];

    #[test]
    fn known_answers_every_hash_both_formats() {
        // Values computed with Python's hmac/hashlib/base64 for the module README's example
        // secret and username.
        let expected = [
            (
                ShaVariant::Sha1,
                "SKRoqQ0atcnJqdEqMBKwYlKaBMM=",
                "/ibJxIueEdVaTvi7t+31IFohq9M=",
            ),
            (
                ShaVariant::Sha256,
                "XqW0XAlLp8IgsBjRPv7dKaZok/1LKKB2DU7k32iitl0=",
                "8YVPBQ35F+3d+C1ZwZJpYGayRchFnuo+kqm2cxYC18M=",
            ),
            (
                ShaVariant::Sha384,
                "G2RyaC7EJzwBiyXXTHCPE6o0/Nb1zOJaHt5MSS7LU7GCjhUSLyESpcwXRgPRAlnO",
                "VMzVmqk6K180PVhFkwGqoZBkqPwp1aNmaBAe1qkupY9MKvokbLLAPHxPdPMPH/BD",
            ),
            (
                ShaVariant::Sha512,
                "XCI7Vr3VRLNAyyPxWtpAmCpdLJpZ8U58dcS+H3bAGnOhw8YqGXpkXRYrnUPpm9EZynqaPcrJAwH9GMcmU4nkNg==",
                "7roULMc8xTP4BlLCB1E/v5dD9GQb54cDaI+h/AMdZxJeA9S6DfxGHNKPW2TPj4+Hb7ClsLb1EXSy0vtlRaM18g==",
            ),
        ];
        for (sha, expiry_first, user_first) in expected {
            let a =
                make_username("foo@bar.com", 1_234_567_890, UsernameFormat::ExpiryFirst).unwrap();
            assert_eq!(a, "1234567890:foo@bar.com");
            let b = make_username("foo@bar.com", 1_234_567_890, UsernameFormat::UserFirst).unwrap();
            assert_eq!(b, "foo@bar.com:1234567890");
            assert_eq!(password(SECRET, &a, sha).unwrap(), expiry_first);
            assert_eq!(password(SECRET, &b, sha).unwrap(), user_first);
            assert_eq!(
                password(SECRET, &a, sha).unwrap(),
                reference(SECRET, &a, sha)
            );
            assert_eq!(BASE64.decode(expiry_first).unwrap().len(), sha.mac_len());
        }
    }

    #[test]
    fn module_parameter_numbering() {
        for (n, sha) in ALL_SHA.into_iter().enumerate() {
            assert_eq!(ShaVariant::from_module_param(n as i64), Some(sha));
            assert_eq!(sha.module_param() as usize, n);
        }
        assert_eq!(ShaVariant::from_module_param(4), None);
        assert_eq!(ShaVariant::default(), ShaVariant::Sha1);
        assert_eq!(
            UsernameFormat::from_module_param(0),
            Some(UsernameFormat::UserFirst)
        );
        assert_eq!(
            UsernameFormat::from_module_param(1),
            Some(UsernameFormat::ExpiryFirst)
        );
        assert_eq!(UsernameFormat::from_module_param(2), None);
        assert_eq!(UsernameFormat::default(), UsernameFormat::ExpiryFirst);
        assert_eq!(UsernameFormat::UserFirst.module_param(), 0);
    }

    #[test]
    fn issue_then_verify_round_trip() {
        for sha in ALL_SHA {
            for format in [UsernameFormat::ExpiryFirst, UsernameFormat::UserFirst] {
                let cred = issue(
                    "alice@example.com",
                    1_700_000_000,
                    86_400,
                    format,
                    SECRET,
                    sha,
                )
                .unwrap();
                assert_eq!(cred.expires, 1_700_086_400);
                assert_eq!(cred.password, reference(SECRET, &cred.username, sha));
                let user = verify(
                    &cred.username,
                    &cred.password,
                    &[SECRET],
                    1_700_000_100,
                    format,
                    sha,
                )
                .unwrap();
                assert_eq!(user, "alice@example.com");
                assert_eq!(username_expiry(&cred.username, format), Ok(cred.expires));
            }
        }
    }

    #[test]
    fn expiry_boundary_matches_module() {
        let cred = issue(
            "bob",
            1000,
            60,
            UsernameFormat::ExpiryFirst,
            SECRET,
            ShaVariant::Sha1,
        )
        .unwrap();
        let check = |now| {
            verify(
                &cred.username,
                &cred.password,
                &[SECRET],
                now,
                UsernameFormat::ExpiryFirst,
                ShaVariant::Sha1,
            )
        };
        assert_eq!(
            check(1060),
            Ok("bob".to_owned()),
            "still valid at now == expiry"
        );
        assert_eq!(
            check(1061),
            Err(Reason::Expired {
                expiry: 1060,
                now: 1061
            })
        );
        // Expiry is checked before the password, as the module does.
        let wrong = verify(
            &cred.username,
            "AAAA",
            &[SECRET],
            5000,
            UsernameFormat::ExpiryFirst,
            ShaVariant::Sha1,
        );
        assert!(matches!(wrong, Err(Reason::Expired { .. })));
    }

    #[test]
    fn rotated_secrets_are_all_accepted() {
        let old = b"old-secret".as_slice();
        let new = b"new-secret".as_slice();
        let from_old = issue(
            "carol",
            0,
            100,
            UsernameFormat::ExpiryFirst,
            old,
            ShaVariant::Sha256,
        )
        .unwrap();
        let from_new = issue(
            "carol",
            0,
            100,
            UsernameFormat::ExpiryFirst,
            new,
            ShaVariant::Sha256,
        )
        .unwrap();
        for cred in [&from_old, &from_new] {
            assert!(
                verify(
                    &cred.username,
                    &cred.password,
                    &[new, old],
                    50,
                    UsernameFormat::ExpiryFirst,
                    ShaVariant::Sha256,
                )
                .is_ok()
            );
        }
        assert_eq!(
            verify(
                &from_old.username,
                &from_old.password,
                &[new],
                50,
                UsernameFormat::ExpiryFirst,
                ShaVariant::Sha256,
            ),
            Err(Reason::BadPassword)
        );
        assert_eq!(
            verify(
                &from_old.username,
                &from_old.password,
                &[],
                50,
                UsernameFormat::ExpiryFirst,
                ShaVariant::Sha256,
            ),
            Err(Reason::NoSecrets)
        );
    }

    #[test]
    fn wrong_hash_or_format_or_tampering_fails() {
        let cred = issue(
            "dave",
            0,
            100,
            UsernameFormat::ExpiryFirst,
            SECRET,
            ShaVariant::Sha1,
        )
        .unwrap();
        let verify_with = |username: &str, password: &str, format, sha| {
            verify(username, password, &[SECRET], 10, format, sha)
        };
        assert_eq!(
            verify_with(
                &cred.username,
                &cred.password,
                UsernameFormat::ExpiryFirst,
                ShaVariant::Sha256
            ),
            Err(Reason::BadPassword)
        );
        // Read as "<user>:<expiry>", "100:dave" has the timestamp "dave".
        assert!(matches!(
            verify_with(
                &cred.username,
                &cred.password,
                UsernameFormat::UserFirst,
                ShaVariant::Sha1
            ),
            Err(Reason::Malformed(_))
        ));
        assert_eq!(
            verify_with(
                "100:eve",
                &cred.password,
                UsernameFormat::ExpiryFirst,
                ShaVariant::Sha1
            ),
            Err(Reason::BadPassword)
        );
        let mut flipped = cred.password.clone();
        flipped.replace_range(0..1, if flipped.starts_with('A') { "B" } else { "A" });
        assert_eq!(
            verify_with(
                &cred.username,
                &flipped,
                UsernameFormat::ExpiryFirst,
                ShaVariant::Sha1
            ),
            Err(Reason::BadPassword)
        );
    }

    #[test]
    fn usernames_split_like_the_module() {
        // Expiry first: split at the first ':', the user may contain more.
        let name = make_username("sip:frank@example.com", 42, UsernameFormat::ExpiryFirst).unwrap();
        assert_eq!(name, "42:sip:frank@example.com");
        let pw = password(SECRET, &name, ShaVariant::Sha1).unwrap();
        assert_eq!(
            verify(
                &name,
                &pw,
                &[SECRET],
                1,
                UsernameFormat::ExpiryFirst,
                ShaVariant::Sha1
            ),
            Ok("sip:frank@example.com".to_owned())
        );
        // User first cannot carry ':' in the user.
        assert_eq!(
            make_username("a:b", 42, UsernameFormat::UserFirst),
            Err(EphemeralError::UserContainsColon)
        );
        // A bare timestamp is a valid username with no user part.
        assert_eq!(
            make_username("", 42, UsernameFormat::UserFirst).unwrap(),
            "42"
        );
        let pw = password(SECRET, "42", ShaVariant::Sha1).unwrap();
        for format in [UsernameFormat::ExpiryFirst, UsernameFormat::UserFirst] {
            assert_eq!(
                verify("42", &pw, &[SECRET], 1, format, ShaVariant::Sha1),
                Ok(String::new())
            );
        }
        // A trailing ':' makes the module read the whole username as the timestamp.
        assert!(matches!(
            username_expiry("42:", UsernameFormat::ExpiryFirst),
            Err(Reason::Malformed(_))
        ));
        assert_eq!(
            username_expiry("grace:42", UsernameFormat::UserFirst),
            Ok(42)
        );
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        let check = |username: &str, password: &str| {
            verify(
                username,
                password,
                &[SECRET],
                0,
                UsernameFormat::ExpiryFirst,
                ShaVariant::Sha1,
            )
        };
        for (username, password) in [
            ("", "x"),
            ("1:u", ""),
            (":u", "x"),
            ("-1:u", "x"),
            ("+1:u", "x"),
            (" 1:u", "x"),
            ("4294967296:u", "x"),
            ("99999999999999999999999:u", "x"),
            ("１２:u", "x"),
        ] {
            assert!(
                matches!(check(username, password), Err(Reason::Malformed(_))),
                "{username}"
            );
        }
        assert!(matches!(
            check("1:u", &"A".repeat(MAX_PASSWORD_LEN + 1)),
            Err(Reason::Malformed(_))
        ));
        let long = format!("1:{}", "u".repeat(MAX_USERNAME_LEN));
        assert!(matches!(check(&long, "x"), Err(Reason::Malformed(_))));
        assert_eq!(
            username_expiry("4294967295:u", UsernameFormat::ExpiryFirst),
            Ok(MAX_EXPIRY)
        );
    }

    #[test]
    fn building_rejects_what_the_module_cannot_carry() {
        assert_eq!(
            make_username(
                &"u".repeat(MAX_USER_LEN + 1),
                1,
                UsernameFormat::ExpiryFirst
            ),
            Err(EphemeralError::UserTooLong(MAX_USER_LEN + 1))
        );
        for bad in ["a\"b", "a\\b", "a\r\nb", "a\u{7f}"] {
            assert_eq!(
                make_username(bad, 1, UsernameFormat::ExpiryFirst),
                Err(EphemeralError::UserHasForbiddenCharacter)
            );
        }
        assert_eq!(
            make_username("u", MAX_EXPIRY + 1, UsernameFormat::ExpiryFirst),
            Err(EphemeralError::ExpiryOutOfRange)
        );
        assert_eq!(
            issue(
                "u",
                u64::MAX,
                1,
                UsernameFormat::ExpiryFirst,
                SECRET,
                ShaVariant::Sha1
            ),
            Err(EphemeralError::ExpiryOutOfRange)
        );
        assert_eq!(
            password(b"", "1:u", ShaVariant::Sha1),
            Err(EphemeralError::InvalidSecretLength(0))
        );
        assert_eq!(
            password(&[0; MAX_SECRET_LEN + 1], "1:u", ShaVariant::Sha1),
            Err(EphemeralError::InvalidSecretLength(MAX_SECRET_LEN + 1))
        );
        assert!(password(SECRET, &"u".repeat(MAX_USERNAME_LEN + 1), ShaVariant::Sha1).is_err());
        // Non-ASCII users are fine (SIP quoted strings carry UTF-8).
        assert!(make_username("zoë", 1, UsernameFormat::UserFirst).is_ok());
        assert!(
            EphemeralError::UserContainsColon
                .to_string()
                .contains("username_format 0")
        );
        assert!(
            Reason::Expired { expiry: 1, now: 2 }
                .to_string()
                .contains("expired")
        );
    }
}
