//! The Cx/Dx application (TS 29.228 procedures, TS 29.229 messages) as typed values, in both
//! directions: an S-CSCF/Homestead client builds requests and reads answers; an HSS (such as
//! `hearth hss-sim`) reads requests and builds answers. The HSS-initiated commands (PPR, RTR) work
//! the same way round.
//!
//! Every request carries what TS 29.229 and Homestead put in it: Session-Id (see [`SessionIds`]),
//! Vendor-Specific-Application-Id {Vendor-Id 10415, Auth-Application-Id 16777216},
//! Auth-Session-State NO_STATE_MAINTAINED, Origin-Host/Realm, Destination-Realm and, when
//! configured, Destination-Host. AVPs are written in the order of the command's ABNF, and their
//! 'M' and 'V' bits come from the dictionary. Answers copy the request's identifiers and Proxy-Info
//! (RFC 6733 §6.2) and set the 'E' bit for 3xxx Result-Codes.
//!
//! [`map_maa`], [`map_uaa`], [`map_lia`], [`map_saa`] and [`map_timeout`] are Homestead's
//! translation of Cx answers into HTTP answers for Sprout, with the JSON bodies it returns.
//!
//! Parsing never panics: a message that is not the expected command, misses a required AVP or
//! holds a value of the wrong type gives a [`CxError`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::avp::{Avp, AvpError, AvpKey, AvpList, ValueError};
use super::builder::{BuildError, GroupBuilder, MessageBuilder};
use super::dict::{self, VENDOR_3GPP, app, auth_session_state, avp, cmd, cx_result, result};
use super::message::{Message, ResultCode};
use crate::crypto::aka::{AUTS_LEN, AuthVector};
use crate::regdata;

#[cfg(test)]
mod tests;

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a message could not be read as, or written as, a Cx command.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum CxError {
    /// The message is another command, another application, or a request where an answer was
    /// expected (or the reverse).
    UnexpectedCommand {
        /// Command Code expected.
        expected: u32,
        /// Whether a request was expected.
        expected_request: bool,
        /// Application-ID received.
        application_id: u32,
        /// Command Code received.
        command_code: u32,
        /// Whether a request was received.
        request: bool,
    },
    /// The AVPs cannot be framed.
    Framing(AvpError),
    /// A required AVP is absent.
    Missing(AvpKey),
    /// An AVP's data does not hold a value of its type.
    Value {
        /// The AVP.
        avp: AvpKey,
        /// What is wrong with it.
        error: ValueError,
    },
    /// An Enumerated AVP holds a value this module does not define.
    UnknownValue {
        /// The AVP.
        avp: AvpKey,
        /// The value received.
        value: i32,
    },
    /// An OctetString whose length is fixed by the specification has another length (RAND||AUTS
    /// in SIP-Authorization).
    Length {
        /// The AVP.
        avp: AvpKey,
        /// Octets required.
        expected: usize,
        /// Octets received.
        actual: usize,
    },
    /// An answer with neither Result-Code nor Experimental-Result.
    NoResult,
    /// The message could not be encoded.
    Build(BuildError),
}

impl CxError {
    fn value(avp: AvpKey, error: ValueError) -> Self {
        Self::Value { avp, error }
    }
}

/// The dictionary name of an AVP, or its code.
struct AvpLabel(AvpKey);

impl fmt::Display for AvpLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match dict::avp_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "AVP {}", self.0),
        }
    }
}

impl fmt::Display for CxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |request: bool| if request { "request" } else { "answer" };
        match self {
            Self::UnexpectedCommand {
                expected,
                expected_request,
                application_id,
                command_code,
                request,
            } => write!(
                f,
                "expected Cx command {expected} {}, got command {command_code} {} of application \
                 {application_id}",
                kind(*expected_request),
                kind(*request)
            ),
            Self::Framing(error) => write!(f, "AVP framing: {error}"),
            Self::Missing(key) => write!(f, "{} is missing", AvpLabel(*key)),
            Self::Value { avp, error } => write!(f, "{}: {error}", AvpLabel(*avp)),
            Self::UnknownValue { avp, value } => {
                write!(f, "{}: undefined value {value}", AvpLabel(*avp))
            }
            Self::Length {
                avp,
                expected,
                actual,
            } => write!(
                f,
                "{}: {actual} octets, {expected} required",
                AvpLabel(*avp)
            ),
            Self::NoResult => f.write_str("answer has neither Result-Code nor Experimental-Result"),
            Self::Build(error) => write!(f, "encoding: {error}"),
        }
    }
}

impl std::error::Error for CxError {}

impl From<AvpError> for CxError {
    fn from(error: AvpError) -> Self {
        Self::Framing(error)
    }
}

impl From<BuildError> for CxError {
    fn from(error: BuildError) -> Self {
        Self::Build(error)
    }
}

// ---------------------------------------------------------------------------------------------
// Who sends, where to, and Session-Id

/// A Diameter node's identity: what it puts in Origin-Host and Origin-Realm.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Origin {
    /// Origin-Host (a DiameterIdentity: the node's FQDN).
    pub host: String,
    /// Origin-Realm.
    pub realm: String,
}

impl Origin {
    /// An identity from its host and realm.
    pub fn new(host: impl Into<String>, realm: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            realm: realm.into(),
        }
    }
}

/// Where requests go: Homestead's `hss_realm` and, when configured, `hss_hostname` (which is then
/// put in Destination-Host so that relays deliver to that host).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Destination {
    /// Destination-Realm.
    pub realm: String,
    /// Destination-Host, if a particular host is wanted.
    pub host: Option<String>,
}

/// The AVPs every Cx request starts with besides the fixed application ones: Session-Id, the
/// sender's Origin-Host/Realm and the Destination-Realm/Host.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Routing {
    /// Session-Id (unique per request for Cx, which keeps no session state).
    pub session_id: String,
    /// Origin-Host and Origin-Realm of the sender.
    pub origin: Origin,
    /// Destination-Realm.
    pub destination_realm: String,
    /// Destination-Host (required in RTR and PPR, whose sender knows the S-CSCF).
    pub destination_host: Option<String>,
}

impl Routing {
    /// Routing for a request from `origin` to `destination` under a fresh Session-Id.
    pub fn new(session_id: impl Into<String>, origin: &Origin, destination: &Destination) -> Self {
        Self {
            session_id: session_id.into(),
            origin: origin.clone(),
            destination_realm: destination.realm.clone(),
            destination_host: destination.host.clone(),
        }
    }
}

/// A Session-Id as RFC 6733 §8.8 lays it out:
/// `<DiameterIdentity>;<high 32 bits>;<low 32 bits>[;<optional value>]`, the two numbers in
/// decimal.
pub fn session_id(origin_host: &str, high: u32, low: u32, optional: Option<&str>) -> String {
    match optional {
        Some(extra) => format!("{origin_host};{high};{low};{extra}"),
        None => format!("{origin_host};{high};{low}"),
    }
}

/// Issues Session-Ids from a monotonically increasing 64-bit value (RFC 6733 §8.8): the high 32
/// bits start at a value the caller supplies (the RFC suggests the boot time in NTP seconds, so
/// that ids stay unique across restarts) and the low 32 bits at zero.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SessionIds {
    origin_host: String,
    next: u64,
}

impl SessionIds {
    /// Ids for `origin_host`, the high half starting at `high`.
    pub fn new(origin_host: impl Into<String>, high: u32) -> Self {
        Self::starting_at(origin_host, high, 0)
    }

    /// Ids for `origin_host` whose first id has the given halves (to continue a saved counter).
    pub fn starting_at(origin_host: impl Into<String>, high: u32, low: u32) -> Self {
        Self {
            origin_host: origin_host.into(),
            next: u64::from(high) << 32 | u64::from(low),
        }
    }

    /// The next Session-Id. The counter wraps after 2^64 ids.
    pub fn next_id(&mut self) -> String {
        let value = self.next;
        self.next = self.next.wrapping_add(1);
        session_id(&self.origin_host, (value >> 32) as u32, value as u32, None)
    }
}

// ---------------------------------------------------------------------------------------------
// Result codes

/// The outcome a Cx answer reports: a Result-Code (RFC 6733) or an Experimental-Result, which for
/// Cx comes with Vendor-Id 10415 (TS 29.229 §6.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CxResult {
    /// A Result-Code AVP.
    Base(u32),
    /// An Experimental-Result AVP.
    Experimental {
        /// Its Vendor-Id (10415 for every Cx code).
        vendor_id: u32,
        /// Its Experimental-Result-Code.
        code: u32,
    },
}

impl CxResult {
    /// Result-Code 2001 DIAMETER_SUCCESS.
    pub const SUCCESS: Self = Self::Base(result::SUCCESS);

    /// A 3GPP Experimental-Result (Vendor-Id 10415).
    pub const fn tgpp(code: u32) -> Self {
        Self::Experimental {
            vendor_id: VENDOR_3GPP,
            code,
        }
    }

    /// The numeric code, whichever AVP carried it.
    pub const fn code(&self) -> u32 {
        match self {
            Self::Base(code) | Self::Experimental { code, .. } => *code,
        }
    }

    /// Whether this is the Result-Code `code`.
    pub const fn is_base(&self, code: u32) -> bool {
        matches!(self, Self::Base(c) if *c == code)
    }

    /// Whether this is the 3GPP Experimental-Result-Code `code`.
    pub const fn is_tgpp(&self, code: u32) -> bool {
        matches!(self, Self::Experimental { vendor_id, code: c } if *vendor_id == VENDOR_3GPP && *c == code)
    }

    /// Whether the code is in the 2xxx success class.
    pub const fn is_success(&self) -> bool {
        matches!(self.code(), 2000..=2999)
    }

    /// Whether this is a 3xxx Result-Code, answered with the 'E' bit (RFC 6733 §7.1.3).
    pub const fn is_protocol_error(&self) -> bool {
        matches!(self, Self::Base(3000..=3999))
    }
}

impl From<ResultCode> for CxResult {
    fn from(code: ResultCode) -> Self {
        match code {
            ResultCode::Base(code) => Self::Base(code),
            ResultCode::Experimental { vendor_id, code } => Self::Experimental { vendor_id, code },
        }
    }
}

impl From<CxResult> for ResultCode {
    fn from(code: CxResult) -> Self {
        match code {
            CxResult::Base(code) => Self::Base(code),
            CxResult::Experimental { vendor_id, code } => Self::Experimental { vendor_id, code },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Enumerations

/// SIP-Authentication-Scheme (TS 29.229 §6.3.9), with the names Homestead sends: `/impi/<id>/av`
/// asks for "Unknown" (the HSS chooses), `/digest` for "SIP Digest", `/aka` for
/// "Digest-AKAv1-MD5" and `/aka2` for "Digest-AKAv2-SHA-256".
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum AuthScheme {
    /// "Unknown": let the HSS pick the subscriber's scheme.
    Unknown,
    /// "SIP Digest" (RFC 2617/7616 with an HA1 from the HSS).
    SipDigest,
    /// "Digest-AKAv1-MD5" (RFC 3310, IMS AKA).
    DigestAkaV1Md5,
    /// "Digest-AKAv2-SHA-256" (RFC 4169).
    DigestAkaV2Sha256,
    /// Any other name (NASS-Bundled, Early-IMS-Security, or an operator's own spelling).
    Other(String),
}

impl AuthScheme {
    /// The scheme a wire name denotes (names are compared exactly, as Homestead does).
    pub fn from_wire(name: &str) -> Self {
        match name {
            "Unknown" => Self::Unknown,
            "SIP Digest" => Self::SipDigest,
            "Digest-AKAv1-MD5" => Self::DigestAkaV1Md5,
            "Digest-AKAv2-SHA-256" => Self::DigestAkaV2Sha256,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The name sent on the wire.
    pub fn wire_name(&self) -> &str {
        match self {
            Self::Unknown => "Unknown",
            Self::SipDigest => "SIP Digest",
            Self::DigestAkaV1Md5 => "Digest-AKAv1-MD5",
            Self::DigestAkaV2Sha256 => "Digest-AKAv2-SHA-256",
            Self::Other(name) => name,
        }
    }

    /// The AKA version (1 or 2) of an AKA scheme.
    pub const fn aka_version(&self) -> Option<u8> {
        match self {
            Self::DigestAkaV1Md5 => Some(1),
            Self::DigestAkaV2Sha256 => Some(2),
            _ => None,
        }
    }
}

/// User-Authorization-Type (TS 29.229 §6.3.24).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum UserAuthorizationType {
    /// REGISTRATION (0); also what an absent AVP means (TS 29.228 §6.1.1.1).
    #[default]
    Registration,
    /// DE_REGISTRATION (1).
    DeRegistration,
    /// REGISTRATION_AND_CAPABILITIES (2).
    RegistrationAndCapabilities,
}

impl UserAuthorizationType {
    /// The enumerated value.
    pub const fn value(self) -> i32 {
        match self {
            Self::Registration => dict::user_authorization_type::REGISTRATION,
            Self::DeRegistration => dict::user_authorization_type::DE_REGISTRATION,
            Self::RegistrationAndCapabilities => {
                dict::user_authorization_type::REGISTRATION_AND_CAPABILITIES
            }
        }
    }

    /// The type an enumerated value denotes.
    pub const fn from_value(value: i32) -> Option<Self> {
        match value {
            dict::user_authorization_type::REGISTRATION => Some(Self::Registration),
            dict::user_authorization_type::DE_REGISTRATION => Some(Self::DeRegistration),
            dict::user_authorization_type::REGISTRATION_AND_CAPABILITIES => {
                Some(Self::RegistrationAndCapabilities)
            }
            _ => None,
        }
    }

    /// The type Homestead's `auth-type` query parameter names: `REG`, `DEREG` or `CAPAB`.
    pub fn from_auth_type(auth_type: &str) -> Option<Self> {
        match auth_type {
            "REG" => Some(Self::Registration),
            "DEREG" => Some(Self::DeRegistration),
            "CAPAB" => Some(Self::RegistrationAndCapabilities),
            _ => None,
        }
    }
}

/// Server-Assignment-Type (TS 29.229 §6.3.15), every value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ServerAssignmentType {
    /// NO_ASSIGNMENT (0): fetch the profile without changing the assignment.
    NoAssignment,
    /// REGISTRATION (1).
    Registration,
    /// RE_REGISTRATION (2).
    ReRegistration,
    /// UNREGISTERED_USER (3): serve an unregistered user.
    UnregisteredUser,
    /// TIMEOUT_DEREGISTRATION (4).
    TimeoutDeregistration,
    /// USER_DEREGISTRATION (5).
    UserDeregistration,
    /// TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME (6).
    TimeoutDeregistrationStoreServerName,
    /// USER_DEREGISTRATION_STORE_SERVER_NAME (7).
    UserDeregistrationStoreServerName,
    /// ADMINISTRATIVE_DEREGISTRATION (8).
    AdministrativeDeregistration,
    /// AUTHENTICATION_FAILURE (9).
    AuthenticationFailure,
    /// AUTHENTICATION_TIMEOUT (10).
    AuthenticationTimeout,
    /// DEREGISTRATION_TOO_MUCH_DATA (11).
    DeregistrationTooMuchData,
    /// AAA_USER_DATA_REQUEST (12).
    AaaUserDataRequest,
    /// PGW_UPDATE (13).
    PgwUpdate,
    /// RESTORATION (14).
    Restoration,
}

impl ServerAssignmentType {
    /// Every value, in numeric order.
    pub const ALL: [Self; 15] = [
        Self::NoAssignment,
        Self::Registration,
        Self::ReRegistration,
        Self::UnregisteredUser,
        Self::TimeoutDeregistration,
        Self::UserDeregistration,
        Self::TimeoutDeregistrationStoreServerName,
        Self::UserDeregistrationStoreServerName,
        Self::AdministrativeDeregistration,
        Self::AuthenticationFailure,
        Self::AuthenticationTimeout,
        Self::DeregistrationTooMuchData,
        Self::AaaUserDataRequest,
        Self::PgwUpdate,
        Self::Restoration,
    ];

    /// The enumerated value.
    pub const fn value(self) -> i32 {
        use dict::server_assignment_type as v;
        match self {
            Self::NoAssignment => v::NO_ASSIGNMENT,
            Self::Registration => v::REGISTRATION,
            Self::ReRegistration => v::RE_REGISTRATION,
            Self::UnregisteredUser => v::UNREGISTERED_USER,
            Self::TimeoutDeregistration => v::TIMEOUT_DEREGISTRATION,
            Self::UserDeregistration => v::USER_DEREGISTRATION,
            Self::TimeoutDeregistrationStoreServerName => {
                v::TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME
            }
            Self::UserDeregistrationStoreServerName => v::USER_DEREGISTRATION_STORE_SERVER_NAME,
            Self::AdministrativeDeregistration => v::ADMINISTRATIVE_DEREGISTRATION,
            Self::AuthenticationFailure => v::AUTHENTICATION_FAILURE,
            Self::AuthenticationTimeout => v::AUTHENTICATION_TIMEOUT,
            Self::DeregistrationTooMuchData => v::DEREGISTRATION_TOO_MUCH_DATA,
            Self::AaaUserDataRequest => v::AAA_USER_DATA_REQUEST,
            Self::PgwUpdate => v::PGW_UPDATE,
            Self::Restoration => v::RESTORATION,
        }
    }

    /// The type an enumerated value denotes.
    pub fn from_value(value: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.value() == value)
    }

    /// Whether Homestead puts a known Wildcarded-Public-Identity on a SAR of this type: only for
    /// UNREGISTERED_USER, NO_ASSIGNMENT, the deregistrations by timeout (with or without storing the
    /// server name), ADMINISTRATIVE_DEREGISTRATION and DEREGISTRATION_TOO_MUCH_DATA.
    pub const fn carries_wildcard(self) -> bool {
        matches!(
            self,
            Self::UnregisteredUser
                | Self::NoAssignment
                | Self::TimeoutDeregistrationStoreServerName
                | Self::AdministrativeDeregistration
                | Self::DeregistrationTooMuchData
                | Self::TimeoutDeregistration
        )
    }
}

impl From<regdata::ServerAssignmentType> for ServerAssignmentType {
    fn from(kind: regdata::ServerAssignmentType) -> Self {
        use regdata::ServerAssignmentType as R;
        match kind {
            R::Registration => Self::Registration,
            R::ReRegistration => Self::ReRegistration,
            R::UnregisteredUser => Self::UnregisteredUser,
            R::TimeoutDeregistration => Self::TimeoutDeregistration,
            R::UserDeregistration => Self::UserDeregistration,
            R::AdministrativeDeregistration => Self::AdministrativeDeregistration,
            R::AuthenticationFailure => Self::AuthenticationFailure,
            R::AuthenticationTimeout => Self::AuthenticationTimeout,
        }
    }
}

/// Reason-Code of Deregistration-Reason (TS 29.229 §6.3.17).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ReasonCode {
    /// PERMANENT_TERMINATION (0): the subscription is gone.
    PermanentTermination,
    /// NEW_SERVER_ASSIGNED (1): another S-CSCF now serves the user.
    NewServerAssigned,
    /// SERVER_CHANGE (2): the user is to re-register with another S-CSCF.
    ServerChange,
    /// REMOVE_S-CSCF (3): this S-CSCF is being taken out of service for the user.
    RemoveScscf,
}

impl ReasonCode {
    /// The enumerated value.
    pub const fn value(self) -> i32 {
        use dict::reason_code as v;
        match self {
            Self::PermanentTermination => v::PERMANENT_TERMINATION,
            Self::NewServerAssigned => v::NEW_SERVER_ASSIGNED,
            Self::ServerChange => v::SERVER_CHANGE,
            Self::RemoveScscf => v::REMOVE_S_CSCF,
        }
    }

    /// The reason an enumerated value denotes.
    pub const fn from_value(value: i32) -> Option<Self> {
        use dict::reason_code as v;
        match value {
            v::PERMANENT_TERMINATION => Some(Self::PermanentTermination),
            v::NEW_SERVER_ASSIGNED => Some(Self::NewServerAssigned),
            v::SERVER_CHANGE => Some(Self::ServerChange),
            v::REMOVE_S_CSCF => Some(Self::RemoveScscf),
            _ => None,
        }
    }

    /// Whether Homestead asks Sprout to notify the UEs (`send-notifications=true` on its
    /// `DELETE /registrations`): for SERVER_CHANGE and REMOVE_S-CSCF, whose users are to register
    /// again.
    pub const fn send_notifications(self) -> bool {
        matches!(self, Self::ServerChange | Self::RemoveScscf)
    }

    /// Whether Homestead names the private identities to Sprout (only for PERMANENT_TERMINATION,
    /// whose bindings go for good).
    pub const fn names_private_identities(self) -> bool {
        matches!(self, Self::PermanentTermination)
    }

    /// Whether the Public-Identity AVPs of the RTR restrict the deregistration. For SERVER_CHANGE
    /// and NEW_SERVER_ASSIGNED Homestead ignores them and deregisters every IRS of the private
    /// identities.
    pub const fn honours_public_identities(self) -> bool {
        matches!(self, Self::PermanentTermination | Self::RemoveScscf)
    }
}

/// `UAR-Flags` bit 0: the registration is an IMS emergency registration (Homestead sets it for
/// `sos=true`).
pub const UAR_FLAG_IMS_EMERGENCY_REGISTRATION: u32 = 1;

// ---------------------------------------------------------------------------------------------
// Grouped values

/// RAND || AUTS, carried in the SIP-Authorization of a MAR to resynchronise the sequence number
/// (TS 29.229 §6.3.13, TS 33.203).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Resync {
    /// The RAND of the challenge the terminal rejected.
    pub rand: [u8; 16],
    /// The terminal's AUTS.
    pub auts: [u8; AUTS_LEN],
}

impl Resync {
    /// Octets of RAND || AUTS.
    pub const LEN: usize = 16 + AUTS_LEN;

    /// RAND || AUTS.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        let (rand, auts) = out.split_at_mut(16);
        rand.copy_from_slice(&self.rand);
        auts.copy_from_slice(&self.auts);
        out
    }

    /// Splits RAND || AUTS; `None` unless exactly 30 octets are given.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; Self::LEN] = bytes.try_into().ok()?;
        let (rand, auts) = bytes.split_at(16);
        Some(Self {
            rand: rand.try_into().ok()?,
            auts: auts.try_into().ok()?,
        })
    }
}

impl From<([u8; 16], [u8; AUTS_LEN])> for Resync {
    fn from((rand, auts): ([u8; 16], [u8; AUTS_LEN])) -> Self {
        Self { rand, auts }
    }
}

/// SIP-Digest-Authenticate (TS 29.229 §6.3.36): the RFC 4740 Digest-Realm, Digest-QoP and
/// Digest-HA1 of a SIP Digest subscriber.
#[derive(Clone, Eq, Default)]
pub struct DigestAuthenticate {
    /// Digest-Realm.
    pub realm: String,
    /// Digest-QoP (may be empty; Homestead then answers "auth").
    pub qop: String,
    /// Digest-HA1 in hex (a secret).
    pub ha1: String,
    /// Digest-Algorithm, if given.
    pub algorithm: Option<String>,
}

impl PartialEq for DigestAuthenticate {
    fn eq(&self, other: &Self) -> bool {
        self.realm == other.realm
            && self.qop == other.qop
            && self.algorithm == other.algorithm
            && bool::from(self.ha1.as_bytes().ct_eq(other.ha1.as_bytes()))
    }
}

impl fmt::Debug for DigestAuthenticate {
    /// The HA1 is a password equivalent and is not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestAuthenticate")
            .field("realm", &self.realm)
            .field("qop", &self.qop)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// SIP-Auth-Data-Item (TS 29.229 §6.3.13): one authentication vector of a MAA (or a PPR), or the
/// scheme and resynchronisation data of a MAR.
#[derive(Clone, Eq, Default)]
pub struct SipAuthDataItem {
    /// SIP-Item-Number, when several items are returned.
    pub item_number: Option<u32>,
    /// SIP-Authentication-Scheme.
    pub scheme: Option<AuthScheme>,
    /// SIP-Authenticate: RAND || AUTN for AKA.
    pub authenticate: Option<Bytes>,
    /// SIP-Authorization: XRES for AKA (a secret).
    pub authorization: Option<Bytes>,
    /// Confidentiality-Key: CK (a secret).
    pub confidentiality_key: Option<Bytes>,
    /// Integrity-Key: IK (a secret).
    pub integrity_key: Option<Bytes>,
    /// SIP-Digest-Authenticate, for SIP Digest.
    pub digest: Option<DigestAuthenticate>,
}

impl SipAuthDataItem {
    /// A SIP Digest item: scheme "SIP Digest" and its SIP-Digest-Authenticate.
    pub fn digest(
        realm: impl Into<String>,
        qop: impl Into<String>,
        ha1: impl Into<String>,
    ) -> Self {
        Self {
            scheme: Some(AuthScheme::SipDigest),
            digest: Some(DigestAuthenticate {
                realm: realm.into(),
                qop: qop.into(),
                ha1: ha1.into(),
                algorithm: None,
            }),
            ..Self::default()
        }
    }

    /// An AKA item from a vector: SIP-Authenticate RAND || AUTN, SIP-Authorization XRES,
    /// Confidentiality-Key CK and Integrity-Key IK.
    pub fn aka(scheme: AuthScheme, vector: &AuthVector) -> Self {
        Self {
            scheme: Some(scheme),
            authenticate: Some(Bytes::copy_from_slice(&vector.challenge_bytes())),
            authorization: Some(Bytes::copy_from_slice(&vector.xres)),
            confidentiality_key: Some(Bytes::copy_from_slice(&vector.ck)),
            integrity_key: Some(Bytes::copy_from_slice(&vector.ik)),
            ..Self::default()
        }
    }

    fn write(&self, group: &mut GroupBuilder<'_>) {
        if let Some(number) = self.item_number {
            group.avp_u32(avp::SIP_ITEM_NUMBER, number);
        }
        if let Some(scheme) = &self.scheme {
            group.avp_str(avp::SIP_AUTHENTICATION_SCHEME, scheme.wire_name());
        }
        if let Some(authenticate) = &self.authenticate {
            group.avp_bytes(avp::SIP_AUTHENTICATE, authenticate);
        }
        if let Some(authorization) = &self.authorization {
            group.avp_bytes(avp::SIP_AUTHORIZATION, authorization);
        }
        if let Some(key) = &self.confidentiality_key {
            group.avp_bytes(avp::CONFIDENTIALITY_KEY, key);
        }
        if let Some(key) = &self.integrity_key {
            group.avp_bytes(avp::INTEGRITY_KEY, key);
        }
        if let Some(digest) = &self.digest {
            group.grouped(avp::SIP_DIGEST_AUTHENTICATE, |g| {
                g.avp_str(avp::DIGEST_REALM, &digest.realm);
                if let Some(algorithm) = &digest.algorithm {
                    g.avp_str(avp::DIGEST_ALGORITHM, algorithm);
                }
                g.avp_str(avp::DIGEST_QOP, &digest.qop)
                    .avp_str(avp::DIGEST_HA1, &digest.ha1);
            });
        }
    }

    fn read(item: &Avp) -> Result<Self, CxError> {
        let members = item.grouped()?;
        let digest = match members.get(avp::SIP_DIGEST_AUTHENTICATE) {
            Some(group) => Some(read_digest(&group.grouped()?)?),
            None => None,
        };
        Ok(Self {
            item_number: unsigned(&members, avp::SIP_ITEM_NUMBER)?,
            scheme: text(&members, avp::SIP_AUTHENTICATION_SCHEME)?
                .map(|name| AuthScheme::from_wire(&name)),
            authenticate: octets(&members, avp::SIP_AUTHENTICATE),
            authorization: octets(&members, avp::SIP_AUTHORIZATION),
            confidentiality_key: octets(&members, avp::CONFIDENTIALITY_KEY),
            integrity_key: octets(&members, avp::INTEGRITY_KEY),
            digest,
        })
    }
}

/// The Digest-* members: the RFC 4740 AVPs (no Vendor-Id) as TS 29.229 specifies, or the same
/// codes with Vendor-Id 10415, which some HSSs (OpenIMSCore among them) send; Homestead reads both.
fn read_digest(members: &AvpList) -> Result<DigestAuthenticate, CxError> {
    let either = |key: AvpKey| -> Result<Option<String>, CxError> {
        match text(members, key)? {
            Some(value) => Ok(Some(value)),
            None => text(members, AvpKey::vendor(key.code, VENDOR_3GPP)),
        }
    };
    Ok(DigestAuthenticate {
        realm: either(avp::DIGEST_REALM)?.ok_or(CxError::Missing(avp::DIGEST_REALM))?,
        qop: either(avp::DIGEST_QOP)?.unwrap_or_default(),
        ha1: either(avp::DIGEST_HA1)?.ok_or(CxError::Missing(avp::DIGEST_HA1))?,
        algorithm: either(avp::DIGEST_ALGORITHM)?,
    })
}

fn ct_eq_option(a: &Option<Bytes>, b: &Option<Bytes>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => bool::from(a.as_ref().ct_eq(b.as_ref())),
        (None, None) => true,
        _ => false,
    }
}

impl PartialEq for SipAuthDataItem {
    /// Secret fields (XRES, CK, IK, HA1) are compared in constant time.
    fn eq(&self, other: &Self) -> bool {
        let secrets_equal = ct_eq_option(&self.authorization, &other.authorization)
            & ct_eq_option(&self.confidentiality_key, &other.confidentiality_key)
            & ct_eq_option(&self.integrity_key, &other.integrity_key);
        secrets_equal
            && self.item_number == other.item_number
            && self.scheme == other.scheme
            && self.authenticate == other.authenticate
            && self.digest == other.digest
    }
}

impl fmt::Debug for SipAuthDataItem {
    /// XRES, CK and IK are secrets and are not printed; RAND || AUTN travels in clear.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SipAuthDataItem")
            .field("item_number", &self.item_number)
            .field("scheme", &self.scheme)
            .field("authenticate", &self.authenticate.as_ref().map(hex::encode))
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// Server-Capabilities (TS 29.229 §6.3.4): what an I-CSCF needs to choose an S-CSCF.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct ServerCapabilities {
    /// Mandatory-Capability values.
    pub mandatory: Vec<u32>,
    /// Optional-Capability values.
    pub optional: Vec<u32>,
    /// Server-Name values (S-CSCFs to choose from).
    pub server_names: Vec<String>,
}

impl ServerCapabilities {
    fn write(&self, group: &mut GroupBuilder<'_>) {
        for value in &self.mandatory {
            group.avp_u32(avp::MANDATORY_CAPABILITY, *value);
        }
        for value in &self.optional {
            group.avp_u32(avp::OPTIONAL_CAPABILITY, *value);
        }
        for name in &self.server_names {
            group.avp_str(avp::SERVER_NAME, name);
        }
    }

    fn read(group: &Avp) -> Result<Self, CxError> {
        let members = group.grouped()?;
        Ok(Self {
            mandatory: all_unsigned(&members, avp::MANDATORY_CAPABILITY)?,
            optional: all_unsigned(&members, avp::OPTIONAL_CAPABILITY)?,
            server_names: all_text(&members, avp::SERVER_NAME)?,
        })
    }
}

/// Charging-Information (TS 29.229 §6.3.19): the charging functions of the subscriber, which
/// Homestead reports as ChargingAddresses (CCF and ECF, priority 1 and 2).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct ChargingInformation {
    /// Primary-Event-Charging-Function-Name.
    pub primary_ecf: Option<String>,
    /// Secondary-Event-Charging-Function-Name.
    pub secondary_ecf: Option<String>,
    /// Primary-Charging-Collection-Function-Name.
    pub primary_ccf: Option<String>,
    /// Secondary-Charging-Collection-Function-Name.
    pub secondary_ccf: Option<String>,
}

impl ChargingInformation {
    fn write(&self, group: &mut GroupBuilder<'_>) {
        let names = [
            (avp::PRIMARY_EVENT_CHARGING_FUNCTION_NAME, &self.primary_ecf),
            (
                avp::SECONDARY_EVENT_CHARGING_FUNCTION_NAME,
                &self.secondary_ecf,
            ),
            (
                avp::PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME,
                &self.primary_ccf,
            ),
            (
                avp::SECONDARY_CHARGING_COLLECTION_FUNCTION_NAME,
                &self.secondary_ccf,
            ),
        ];
        for (key, name) in names {
            if let Some(name) = name {
                group.avp_str(key, name);
            }
        }
    }

    fn read(group: &Avp) -> Result<Self, CxError> {
        let members = group.grouped()?;
        Ok(Self {
            primary_ecf: text(&members, avp::PRIMARY_EVENT_CHARGING_FUNCTION_NAME)?,
            secondary_ecf: text(&members, avp::SECONDARY_EVENT_CHARGING_FUNCTION_NAME)?,
            primary_ccf: text(&members, avp::PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME)?,
            secondary_ccf: text(&members, avp::SECONDARY_CHARGING_COLLECTION_FUNCTION_NAME)?,
        })
    }
}

/// Supported-Features (TS 29.229 §6.3.29): one feature list of a vendor.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SupportedFeatures {
    /// Vendor-Id.
    pub vendor_id: u32,
    /// Feature-List-ID.
    pub feature_list_id: u32,
    /// Feature-List (a bit mask).
    pub feature_list: u32,
}

impl SupportedFeatures {
    /// Cx feature list 1, bit 0: Shared iFC Sets (TS 29.229 §7.2.1), which Homestead advertises on
    /// its SARs when `request_shared_ifcs` is set.
    pub const SHARED_IFC_SETS: Self = Self {
        vendor_id: VENDOR_3GPP,
        feature_list_id: 1,
        feature_list: 1,
    };

    fn write_all(features: &[Self], mut builder: MessageBuilder) -> MessageBuilder {
        for feature in features {
            builder = builder.grouped(avp::SUPPORTED_FEATURES, |g| {
                g.avp_u32(avp::VENDOR_ID, feature.vendor_id)
                    .avp_u32(avp::FEATURE_LIST_ID, feature.feature_list_id)
                    .avp_u32(avp::FEATURE_LIST, feature.feature_list);
            });
        }
        builder
    }

    fn read_all(avps: &AvpList) -> Result<Vec<Self>, CxError> {
        avps.all(avp::SUPPORTED_FEATURES)
            .map(|group| {
                let members = group.grouped()?;
                Ok(Self {
                    vendor_id: required(unsigned(&members, avp::VENDOR_ID)?, avp::VENDOR_ID)?,
                    feature_list_id: required(
                        unsigned(&members, avp::FEATURE_LIST_ID)?,
                        avp::FEATURE_LIST_ID,
                    )?,
                    feature_list: required(
                        unsigned(&members, avp::FEATURE_LIST)?,
                        avp::FEATURE_LIST,
                    )?,
                })
            })
            .collect()
    }
}

/// Deregistration-Reason (TS 29.229 §6.3.16).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct DeregistrationReason {
    /// Reason-Code.
    pub code: ReasonCode,
    /// Reason-Info: text for the user, if any.
    pub info: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Reading and writing helpers

fn required<T>(value: Option<T>, key: AvpKey) -> Result<T, CxError> {
    value.ok_or(CxError::Missing(key))
}

/// The first AVP `key` as UTF-8 text.
fn text(avps: &AvpList, key: AvpKey) -> Result<Option<String>, CxError> {
    avps.get(key)
        .map(|a| {
            a.as_utf8()
                .map(str::to_owned)
                .map_err(|e| CxError::value(key, e))
        })
        .transpose()
}

/// Every AVP `key`, as UTF-8 text.
fn all_text(avps: &AvpList, key: AvpKey) -> Result<Vec<String>, CxError> {
    avps.all(key)
        .map(|a| {
            a.as_utf8()
                .map(str::to_owned)
                .map_err(|e| CxError::value(key, e))
        })
        .collect()
}

/// The first AVP `key` as a DiameterIdentity.
fn identity(avps: &AvpList, key: AvpKey) -> Result<Option<String>, CxError> {
    avps.get(key)
        .map(|a| {
            a.as_identity()
                .map(str::to_owned)
                .map_err(|e| CxError::value(key, e))
        })
        .transpose()
}

fn unsigned(avps: &AvpList, key: AvpKey) -> Result<Option<u32>, CxError> {
    avps.get(key)
        .map(|a| a.as_u32().map_err(|e| CxError::value(key, e)))
        .transpose()
}

fn all_unsigned(avps: &AvpList, key: AvpKey) -> Result<Vec<u32>, CxError> {
    avps.all(key)
        .map(|a| a.as_u32().map_err(|e| CxError::value(key, e)))
        .collect()
}

/// The first AVP `key` as an Enumerated value, converted by `from_value`.
fn enumerated<T>(
    avps: &AvpList,
    key: AvpKey,
    from_value: impl Fn(i32) -> Option<T>,
) -> Result<Option<T>, CxError> {
    let Some(avp) = avps.get(key) else {
        return Ok(None);
    };
    let value = avp.as_enumerated().map_err(|e| CxError::value(key, e))?;
    from_value(value)
        .map(Some)
        .ok_or(CxError::UnknownValue { avp: key, value })
}

fn octets(avps: &AvpList, key: AvpKey) -> Option<Bytes> {
    avps.get(key).map(|a| a.data)
}

/// The User-Name members of an Associated-Identities (or Associated-Registered-Identities).
fn user_names(avps: &AvpList, key: AvpKey) -> Result<Vec<String>, CxError> {
    match avps.get(key) {
        Some(group) => all_text(&group.grouped()?, avp::USER_NAME),
        None => Ok(Vec::new()),
    }
}

fn write_user_names(builder: MessageBuilder, key: AvpKey, names: &[String]) -> MessageBuilder {
    if names.is_empty() {
        return builder;
    }
    builder.grouped(key, |g| {
        for name in names {
            g.avp_str(avp::USER_NAME, name);
        }
    })
}

fn write_option(builder: MessageBuilder, key: AvpKey, value: Option<&str>) -> MessageBuilder {
    match value {
        Some(value) => builder.avp_str(key, value),
        None => builder,
    }
}

/// Checks the header and returns the AVPs.
fn expect(message: &Message, command: u32, request: bool) -> Result<AvpList, CxError> {
    let header = message.header();
    if header.application_id != app::CX
        || header.command_code != command
        || header.is_request() != request
    {
        return Err(CxError::UnexpectedCommand {
            expected: command,
            expected_request: request,
            application_id: header.application_id,
            command_code: header.command_code,
            request: header.is_request(),
        });
    }
    Ok(message.avps()?)
}

/// Where Destination-Host goes relative to Destination-Realm in a command's ABNF.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DestinationOrder {
    /// `{ Destination-Realm } [ Destination-Host ]` (MAR).
    RealmFirst,
    /// `[ Destination-Host ] { Destination-Realm }` (UAR, SAR, LIR, RTR, PPR).
    HostFirst,
}

fn application_id(builder: MessageBuilder) -> MessageBuilder {
    builder.grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
        g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
            .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
    })
}

/// A request up to and including the Destination AVPs.
fn request_start(command: u32, routing: &Routing, order: DestinationOrder) -> MessageBuilder {
    let builder =
        MessageBuilder::request(app::CX, command).avp_str(avp::SESSION_ID, &routing.session_id);
    let builder = application_id(builder)
        .avp_i32(
            avp::AUTH_SESSION_STATE,
            auth_session_state::NO_STATE_MAINTAINED,
        )
        .avp_str(avp::ORIGIN_HOST, &routing.origin.host)
        .avp_str(avp::ORIGIN_REALM, &routing.origin.realm);
    let host = routing.destination_host.as_deref();
    match order {
        DestinationOrder::RealmFirst => write_option(
            builder.avp_str(avp::DESTINATION_REALM, &routing.destination_realm),
            avp::DESTINATION_HOST,
            host,
        ),
        DestinationOrder::HostFirst => write_option(builder, avp::DESTINATION_HOST, host)
            .avp_str(avp::DESTINATION_REALM, &routing.destination_realm),
    }
}

fn read_routing(avps: &AvpList) -> Result<Routing, CxError> {
    Ok(Routing {
        session_id: required(text(avps, avp::SESSION_ID)?, avp::SESSION_ID)?,
        origin: Origin {
            host: required(identity(avps, avp::ORIGIN_HOST)?, avp::ORIGIN_HOST)?,
            realm: required(identity(avps, avp::ORIGIN_REALM)?, avp::ORIGIN_REALM)?,
        },
        destination_realm: required(
            identity(avps, avp::DESTINATION_REALM)?,
            avp::DESTINATION_REALM,
        )?,
        destination_host: identity(avps, avp::DESTINATION_HOST)?,
    })
}

/// The answer to `request` up to Origin-Realm: Session-Id, Vendor-Specific-Application-Id, the
/// result, Auth-Session-State, Origin-Host and Origin-Realm; the 'E' bit for 3xxx codes.
fn answer_start(
    request: &Message,
    command: u32,
    session_id: &str,
    origin: &Origin,
    outcome: CxResult,
) -> Result<MessageBuilder, CxError> {
    expect(request, command, true)?;
    let mut builder = MessageBuilder::answer_to(request);
    if outcome.is_protocol_error() {
        builder = builder.set_flag_e();
    }
    builder = application_id(builder.avp_str(avp::SESSION_ID, session_id));
    builder = match outcome {
        CxResult::Base(code) => builder.avp_u32(avp::RESULT_CODE, code),
        CxResult::Experimental { vendor_id, code } => {
            builder.grouped(avp::EXPERIMENTAL_RESULT, |g| {
                g.avp_u32(avp::VENDOR_ID, vendor_id)
                    .avp_u32(avp::EXPERIMENTAL_RESULT_CODE, code);
            })
        }
    };
    Ok(builder
        .avp_i32(
            avp::AUTH_SESSION_STATE,
            auth_session_state::NO_STATE_MAINTAINED,
        )
        .avp_str(avp::ORIGIN_HOST, &origin.host)
        .avp_str(avp::ORIGIN_REALM, &origin.realm))
}

/// Copies the request's Proxy-Info AVPs, in order (RFC 6733 §6.2), and encodes the answer.
fn answer_finish(mut builder: MessageBuilder, request: &Message) -> Result<Message, CxError> {
    for proxy_info in request.avps()?.all(avp::PROXY_INFO) {
        builder = builder.avp_copy(&proxy_info);
    }
    Ok(builder.finish()?)
}

/// Session-Id, origin and outcome of an answer.
struct AnswerCommon {
    avps: AvpList,
    session_id: String,
    origin: Origin,
    result: CxResult,
}

fn read_answer(message: &Message, command: u32) -> Result<AnswerCommon, CxError> {
    let avps = expect(message, command, false)?;
    // An error answer ('E' bit) may come from a relay that left Session-Id out (RFC 6733 §7.2).
    let session_id = match text(&avps, avp::SESSION_ID)? {
        Some(id) => id,
        None if message.header().is_error() => String::new(),
        None => return Err(CxError::Missing(avp::SESSION_ID)),
    };
    let origin = Origin {
        host: required(identity(&avps, avp::ORIGIN_HOST)?, avp::ORIGIN_HOST)?,
        realm: required(identity(&avps, avp::ORIGIN_REALM)?, avp::ORIGIN_REALM)?,
    };
    let result = read_result(&avps)?;
    Ok(AnswerCommon {
        avps,
        session_id,
        origin,
        result,
    })
}

fn read_result(avps: &AvpList) -> Result<CxResult, CxError> {
    if let Some(code) = unsigned(avps, avp::RESULT_CODE)? {
        return Ok(CxResult::Base(code));
    }
    let Some(experimental) = avps.get(avp::EXPERIMENTAL_RESULT) else {
        return Err(CxError::NoResult);
    };
    let members = experimental.grouped()?;
    Ok(CxResult::Experimental {
        vendor_id: required(unsigned(&members, avp::VENDOR_ID)?, avp::VENDOR_ID)?,
        code: required(
            unsigned(&members, avp::EXPERIMENTAL_RESULT_CODE)?,
            avp::EXPERIMENTAL_RESULT_CODE,
        )?,
    })
}

// ---------------------------------------------------------------------------------------------
// Multimedia-Auth (MAR/MAA)

/// Multimedia-Auth-Request (TS 29.229 §6.1.7): authentication vectors for a private identity.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Mar {
    /// Session-Id, origin and destination.
    pub routing: Routing,
    /// User-Name: the private identity (IMPI).
    pub user_name: String,
    /// Public-Identity: the public identity (IMPU) being registered.
    pub public_identity: String,
    /// SIP-Authentication-Scheme of the SIP-Auth-Data-Item.
    pub scheme: AuthScheme,
    /// RAND || AUTS in the item's SIP-Authorization, to resynchronise AKA.
    pub resync: Option<Resync>,
    /// SIP-Number-Auth-Items (Homestead asks for 1).
    pub number_auth_items: u32,
    /// Server-Name: the S-CSCF's SIP URI.
    pub server_name: String,
}

impl Mar {
    /// The encoded request, identifiers still 0 (the peer sets them when it sends).
    pub fn builder(&self) -> MessageBuilder {
        let builder = request_start(
            cmd::MULTIMEDIA_AUTH,
            &self.routing,
            DestinationOrder::RealmFirst,
        )
        .avp_str(avp::USER_NAME, &self.user_name)
        .avp_str(avp::PUBLIC_IDENTITY, &self.public_identity)
        .grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
            g.avp_str(avp::SIP_AUTHENTICATION_SCHEME, self.scheme.wire_name());
            if let Some(resync) = &self.resync {
                g.avp_bytes(avp::SIP_AUTHORIZATION, &resync.to_bytes());
            }
        });
        builder
            .avp_u32(avp::SIP_NUMBER_AUTH_ITEMS, self.number_auth_items)
            .avp_str(avp::SERVER_NAME, &self.server_name)
    }

    /// The encoded request with the given Hop-by-Hop and End-to-End identifiers.
    pub fn to_message(&self, hop_by_hop: u32, end_to_end: u32) -> Result<Message, CxError> {
        Ok(self
            .builder()
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end)
            .finish()?)
    }

    /// Reads a MAR (the HSS side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let avps = expect(message, cmd::MULTIMEDIA_AUTH, true)?;
        let item = required(avps.get(avp::SIP_AUTH_DATA_ITEM), avp::SIP_AUTH_DATA_ITEM)?;
        let members = item.grouped()?;
        let scheme = required(
            text(&members, avp::SIP_AUTHENTICATION_SCHEME)?,
            avp::SIP_AUTHENTICATION_SCHEME,
        )?;
        let resync = match members.get(avp::SIP_AUTHORIZATION) {
            Some(authorization) => Some(Resync::from_bytes(&authorization.data).ok_or(
                CxError::Length {
                    avp: avp::SIP_AUTHORIZATION,
                    expected: Resync::LEN,
                    actual: authorization.data.len(),
                },
            )?),
            None => None,
        };
        Ok(Self {
            routing: read_routing(&avps)?,
            user_name: required(text(&avps, avp::USER_NAME)?, avp::USER_NAME)?,
            public_identity: required(text(&avps, avp::PUBLIC_IDENTITY)?, avp::PUBLIC_IDENTITY)?,
            scheme: AuthScheme::from_wire(&scheme),
            resync,
            number_auth_items: required(
                unsigned(&avps, avp::SIP_NUMBER_AUTH_ITEMS)?,
                avp::SIP_NUMBER_AUTH_ITEMS,
            )?,
            server_name: required(text(&avps, avp::SERVER_NAME)?, avp::SERVER_NAME)?,
        })
    }
}

/// Multimedia-Auth-Answer (TS 29.229 §6.1.8).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Maa {
    /// Session-Id of the request (empty in an error answer that left it out).
    pub session_id: String,
    /// Origin-Host and Origin-Realm of the HSS.
    pub origin: Origin,
    /// Result-Code or Experimental-Result.
    pub result: CxResult,
    /// User-Name.
    pub user_name: Option<String>,
    /// Public-Identity.
    pub public_identity: Option<String>,
    /// SIP-Number-Auth-Items: how many items follow.
    pub number_auth_items: Option<u32>,
    /// SIP-Auth-Data-Items.
    pub auth_data: Vec<SipAuthDataItem>,
}

impl Maa {
    /// The answer to `request` (the HSS side).
    pub fn to_message(&self, request: &Message) -> Result<Message, CxError> {
        let mut builder = answer_start(
            request,
            cmd::MULTIMEDIA_AUTH,
            &self.session_id,
            &self.origin,
            self.result,
        )?;
        builder = write_option(builder, avp::USER_NAME, self.user_name.as_deref());
        builder = write_option(
            builder,
            avp::PUBLIC_IDENTITY,
            self.public_identity.as_deref(),
        );
        if let Some(count) = self.number_auth_items {
            builder = builder.avp_u32(avp::SIP_NUMBER_AUTH_ITEMS, count);
        }
        for item in &self.auth_data {
            builder = builder.grouped(avp::SIP_AUTH_DATA_ITEM, |g| item.write(g));
        }
        answer_finish(builder, request)
    }

    /// Reads a MAA (the client side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let common = read_answer(message, cmd::MULTIMEDIA_AUTH)?;
        let avps = &common.avps;
        Ok(Self {
            user_name: text(avps, avp::USER_NAME)?,
            public_identity: text(avps, avp::PUBLIC_IDENTITY)?,
            number_auth_items: unsigned(avps, avp::SIP_NUMBER_AUTH_ITEMS)?,
            auth_data: avps
                .all(avp::SIP_AUTH_DATA_ITEM)
                .map(|item| SipAuthDataItem::read(&item))
                .collect::<Result<_, _>>()?,
            session_id: common.session_id,
            origin: common.origin,
            result: common.result,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// User-Authorization (UAR/UAA)

/// User-Authorization-Request (TS 29.229 §6.1.1): may this user register here, and which S-CSCF
/// serves it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Uar {
    /// Session-Id, origin and destination.
    pub routing: Routing,
    /// User-Name: the private identity.
    pub user_name: String,
    /// Public-Identity.
    pub public_identity: String,
    /// Visited-Network-Identifier (Homestead: `visited-network`, else the home domain); an
    /// OctetString on the wire, read as UTF-8 text.
    pub visited_network: String,
    /// User-Authorization-Type (Homestead: from `auth-type`; always sent). An absent AVP reads as
    /// REGISTRATION.
    pub authorization_type: UserAuthorizationType,
    /// UAR-Flags ([`UAR_FLAG_IMS_EMERGENCY_REGISTRATION`] for `sos=true`); sent only when not 0.
    pub uar_flags: u32,
}

impl Uar {
    /// Whether the IMS emergency registration flag is set.
    pub const fn is_emergency(&self) -> bool {
        self.uar_flags & UAR_FLAG_IMS_EMERGENCY_REGISTRATION != 0
    }

    /// The encoded request, identifiers still 0.
    pub fn builder(&self) -> MessageBuilder {
        let builder = request_start(
            cmd::USER_AUTHORIZATION,
            &self.routing,
            DestinationOrder::HostFirst,
        )
        .avp_str(avp::USER_NAME, &self.user_name)
        .avp_str(avp::PUBLIC_IDENTITY, &self.public_identity)
        .avp_str(avp::VISITED_NETWORK_IDENTIFIER, &self.visited_network)
        .avp_i32(
            avp::USER_AUTHORIZATION_TYPE,
            self.authorization_type.value(),
        );
        if self.uar_flags != 0 {
            builder.avp_u32(avp::UAR_FLAGS, self.uar_flags)
        } else {
            builder
        }
    }

    /// The encoded request with the given identifiers.
    pub fn to_message(&self, hop_by_hop: u32, end_to_end: u32) -> Result<Message, CxError> {
        Ok(self
            .builder()
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end)
            .finish()?)
    }

    /// Reads a UAR (the HSS side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let avps = expect(message, cmd::USER_AUTHORIZATION, true)?;
        Ok(Self {
            routing: read_routing(&avps)?,
            user_name: required(text(&avps, avp::USER_NAME)?, avp::USER_NAME)?,
            public_identity: required(text(&avps, avp::PUBLIC_IDENTITY)?, avp::PUBLIC_IDENTITY)?,
            visited_network: required(
                text(&avps, avp::VISITED_NETWORK_IDENTIFIER)?,
                avp::VISITED_NETWORK_IDENTIFIER,
            )?,
            authorization_type: enumerated(
                &avps,
                avp::USER_AUTHORIZATION_TYPE,
                UserAuthorizationType::from_value,
            )?
            .unwrap_or_default(),
            uar_flags: unsigned(&avps, avp::UAR_FLAGS)?.unwrap_or(0),
        })
    }
}

/// User-Authorization-Answer (TS 29.229 §6.1.2).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Uaa {
    /// Session-Id of the request.
    pub session_id: String,
    /// Origin-Host and Origin-Realm of the HSS.
    pub origin: Origin,
    /// Result-Code or Experimental-Result (2001 first / 2002 subsequent registration, ...).
    pub result: CxResult,
    /// Server-Name: the S-CSCF already assigned.
    pub server_name: Option<String>,
    /// Server-Capabilities, for the I-CSCF to choose an S-CSCF.
    pub capabilities: Option<ServerCapabilities>,
}

impl Uaa {
    /// The answer to `request` (the HSS side).
    pub fn to_message(&self, request: &Message) -> Result<Message, CxError> {
        let builder = answer_start(
            request,
            cmd::USER_AUTHORIZATION,
            &self.session_id,
            &self.origin,
            self.result,
        )?;
        let builder = write_server(
            builder,
            self.server_name.as_deref(),
            self.capabilities.as_ref(),
        );
        answer_finish(builder, request)
    }

    /// Reads a UAA (the client side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let common = read_answer(message, cmd::USER_AUTHORIZATION)?;
        let (server_name, capabilities) = read_server(&common.avps)?;
        Ok(Self {
            session_id: common.session_id,
            origin: common.origin,
            result: common.result,
            server_name,
            capabilities,
        })
    }
}

fn write_server(
    builder: MessageBuilder,
    server_name: Option<&str>,
    capabilities: Option<&ServerCapabilities>,
) -> MessageBuilder {
    let builder = write_option(builder, avp::SERVER_NAME, server_name);
    match capabilities {
        Some(capabilities) => builder.grouped(avp::SERVER_CAPABILITIES, |g| capabilities.write(g)),
        None => builder,
    }
}

fn read_server(avps: &AvpList) -> Result<(Option<String>, Option<ServerCapabilities>), CxError> {
    let capabilities = match avps.get(avp::SERVER_CAPABILITIES) {
        Some(group) => Some(ServerCapabilities::read(&group)?),
        None => None,
    };
    Ok((text(avps, avp::SERVER_NAME)?, capabilities))
}

// ---------------------------------------------------------------------------------------------
// Location-Info (LIR/LIA)

/// Location-Info-Request (TS 29.229 §6.1.5): which S-CSCF serves a public identity.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Lir {
    /// Session-Id, origin and destination.
    pub routing: Routing,
    /// Originating-Request (ORIGINATING) present: the request is for an originating session
    /// (Homestead: `originating=true`).
    pub originating: bool,
    /// Public-Identity.
    pub public_identity: String,
    /// User-Authorization-Type (Homestead sends only REGISTRATION_AND_CAPABILITIES, for
    /// `auth-type=CAPAB`).
    pub authorization_type: Option<UserAuthorizationType>,
}

impl Lir {
    /// The encoded request, identifiers still 0.
    pub fn builder(&self) -> MessageBuilder {
        let mut builder = request_start(
            cmd::LOCATION_INFO,
            &self.routing,
            DestinationOrder::HostFirst,
        );
        if self.originating {
            builder = builder.avp_i32(
                avp::ORIGINATING_REQUEST,
                dict::originating_request::ORIGINATING,
            );
        }
        builder = builder.avp_str(avp::PUBLIC_IDENTITY, &self.public_identity);
        match self.authorization_type {
            Some(kind) => builder.avp_i32(avp::USER_AUTHORIZATION_TYPE, kind.value()),
            None => builder,
        }
    }

    /// The encoded request with the given identifiers.
    pub fn to_message(&self, hop_by_hop: u32, end_to_end: u32) -> Result<Message, CxError> {
        Ok(self
            .builder()
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end)
            .finish()?)
    }

    /// Reads a LIR (the HSS side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let avps = expect(message, cmd::LOCATION_INFO, true)?;
        let originating = enumerated(&avps, avp::ORIGINATING_REQUEST, |value| {
            (value == dict::originating_request::ORIGINATING).then_some(())
        })?
        .is_some();
        Ok(Self {
            routing: read_routing(&avps)?,
            originating,
            public_identity: required(text(&avps, avp::PUBLIC_IDENTITY)?, avp::PUBLIC_IDENTITY)?,
            authorization_type: enumerated(
                &avps,
                avp::USER_AUTHORIZATION_TYPE,
                UserAuthorizationType::from_value,
            )?,
        })
    }
}

/// Location-Info-Answer (TS 29.229 §6.1.6).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Lia {
    /// Session-Id of the request.
    pub session_id: String,
    /// Origin-Host and Origin-Realm of the HSS.
    pub origin: Origin,
    /// Result-Code or Experimental-Result (2003 unregistered service, 5003 not registered, ...).
    pub result: CxResult,
    /// Server-Name: the serving S-CSCF.
    pub server_name: Option<String>,
    /// Server-Capabilities, when no S-CSCF is assigned.
    pub capabilities: Option<ServerCapabilities>,
    /// Wildcarded-Public-Identity the public identity matched.
    pub wildcarded_public_identity: Option<String>,
}

impl Lia {
    /// The answer to `request` (the HSS side).
    pub fn to_message(&self, request: &Message) -> Result<Message, CxError> {
        let builder = answer_start(
            request,
            cmd::LOCATION_INFO,
            &self.session_id,
            &self.origin,
            self.result,
        )?;
        let builder = write_server(
            builder,
            self.server_name.as_deref(),
            self.capabilities.as_ref(),
        );
        let builder = write_option(
            builder,
            avp::WILDCARDED_PUBLIC_IDENTITY,
            self.wildcarded_public_identity.as_deref(),
        );
        answer_finish(builder, request)
    }

    /// Reads a LIA (the client side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let common = read_answer(message, cmd::LOCATION_INFO)?;
        let (server_name, capabilities) = read_server(&common.avps)?;
        Ok(Self {
            wildcarded_public_identity: text(&common.avps, avp::WILDCARDED_PUBLIC_IDENTITY)?,
            session_id: common.session_id,
            origin: common.origin,
            result: common.result,
            server_name,
            capabilities,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Server-Assignment (SAR/SAA)

/// Server-Assignment-Request (TS 29.229 §6.1.3): assign (or release) this S-CSCF for a user and
/// fetch the user's profile.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Sar {
    /// Session-Id, origin and destination.
    pub routing: Routing,
    /// User-Name: the private identity, when known (Homestead: `private_id`, else the PrivateID
    /// of the cached User-Data, else left out).
    pub user_name: Option<String>,
    /// Supported-Features ([`SupportedFeatures::SHARED_IFC_SETS`] for `request_shared_ifcs`).
    pub supported_features: Vec<SupportedFeatures>,
    /// Public-Identity AVPs (Homestead sends one; TS 29.229 allows none or several).
    pub public_identities: Vec<String>,
    /// Wildcarded-Public-Identity (see [`ServerAssignmentType::carries_wildcard`]).
    pub wildcarded_public_identity: Option<String>,
    /// Server-Name: the S-CSCF's SIP URI.
    pub server_name: String,
    /// Server-Assignment-Type.
    pub server_assignment_type: ServerAssignmentType,
    /// User-Data-Already-Available (Homestead always says USER_DATA_NOT_AVAILABLE, false).
    pub user_data_already_available: bool,
}

impl Sar {
    /// The encoded request, identifiers still 0.
    pub fn builder(&self) -> MessageBuilder {
        let mut builder = request_start(
            cmd::SERVER_ASSIGNMENT,
            &self.routing,
            DestinationOrder::HostFirst,
        );
        builder = write_option(builder, avp::USER_NAME, self.user_name.as_deref());
        builder = SupportedFeatures::write_all(&self.supported_features, builder);
        for identity in &self.public_identities {
            builder = builder.avp_str(avp::PUBLIC_IDENTITY, identity);
        }
        builder = write_option(
            builder,
            avp::WILDCARDED_PUBLIC_IDENTITY,
            self.wildcarded_public_identity.as_deref(),
        );
        let already_available = if self.user_data_already_available {
            dict::user_data_already_available::USER_DATA_ALREADY_AVAILABLE
        } else {
            dict::user_data_already_available::USER_DATA_NOT_AVAILABLE
        };
        builder
            .avp_str(avp::SERVER_NAME, &self.server_name)
            .avp_i32(
                avp::SERVER_ASSIGNMENT_TYPE,
                self.server_assignment_type.value(),
            )
            .avp_i32(avp::USER_DATA_ALREADY_AVAILABLE, already_available)
    }

    /// The encoded request with the given identifiers.
    pub fn to_message(&self, hop_by_hop: u32, end_to_end: u32) -> Result<Message, CxError> {
        Ok(self
            .builder()
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end)
            .finish()?)
    }

    /// Reads a SAR (the HSS side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let avps = expect(message, cmd::SERVER_ASSIGNMENT, true)?;
        let already_available =
            enumerated(
                &avps,
                avp::USER_DATA_ALREADY_AVAILABLE,
                |value| match value {
                    dict::user_data_already_available::USER_DATA_NOT_AVAILABLE => Some(false),
                    dict::user_data_already_available::USER_DATA_ALREADY_AVAILABLE => Some(true),
                    _ => None,
                },
            )?;
        Ok(Self {
            routing: read_routing(&avps)?,
            user_name: text(&avps, avp::USER_NAME)?,
            supported_features: SupportedFeatures::read_all(&avps)?,
            public_identities: all_text(&avps, avp::PUBLIC_IDENTITY)?,
            wildcarded_public_identity: text(&avps, avp::WILDCARDED_PUBLIC_IDENTITY)?,
            server_name: required(text(&avps, avp::SERVER_NAME)?, avp::SERVER_NAME)?,
            server_assignment_type: required(
                enumerated(
                    &avps,
                    avp::SERVER_ASSIGNMENT_TYPE,
                    ServerAssignmentType::from_value,
                )?,
                avp::SERVER_ASSIGNMENT_TYPE,
            )?,
            user_data_already_available: required(
                already_available,
                avp::USER_DATA_ALREADY_AVAILABLE,
            )?,
        })
    }
}

/// Server-Assignment-Answer (TS 29.229 §6.1.4).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Saa {
    /// Session-Id of the request.
    pub session_id: String,
    /// Origin-Host and Origin-Realm of the HSS.
    pub origin: Origin,
    /// Result-Code or Experimental-Result (5007 with a Wildcarded-Public-Identity asks for the
    /// SAR to be repeated for the wildcard).
    pub result: CxResult,
    /// User-Name: the private identity.
    pub user_name: Option<String>,
    /// Supported-Features the HSS shares.
    pub supported_features: Vec<SupportedFeatures>,
    /// User-Data: the IMSSubscription XML document (TS 29.228 Annex E), which must be UTF-8.
    pub user_data: Option<String>,
    /// Charging-Information.
    pub charging: Option<ChargingInformation>,
    /// Associated-Identities: the private identities sharing the IRS.
    pub associated_identities: Vec<String>,
    /// Server-Name (the S-CSCF the HSS has stored, for some answers).
    pub server_name: Option<String>,
    /// Wildcarded-Public-Identity.
    pub wildcarded_public_identity: Option<String>,
}

impl Saa {
    /// The answer to `request` (the HSS side).
    pub fn to_message(&self, request: &Message) -> Result<Message, CxError> {
        let mut builder = answer_start(
            request,
            cmd::SERVER_ASSIGNMENT,
            &self.session_id,
            &self.origin,
            self.result,
        )?;
        builder = write_option(builder, avp::USER_NAME, self.user_name.as_deref());
        builder = SupportedFeatures::write_all(&self.supported_features, builder);
        if let Some(user_data) = &self.user_data {
            builder = builder.avp_str(avp::USER_DATA, user_data);
        }
        if let Some(charging) = &self.charging {
            builder = builder.grouped(avp::CHARGING_INFORMATION, |g| charging.write(g));
        }
        builder = write_user_names(
            builder,
            avp::ASSOCIATED_IDENTITIES,
            &self.associated_identities,
        );
        builder = write_option(builder, avp::SERVER_NAME, self.server_name.as_deref());
        builder = write_option(
            builder,
            avp::WILDCARDED_PUBLIC_IDENTITY,
            self.wildcarded_public_identity.as_deref(),
        );
        answer_finish(builder, request)
    }

    /// Reads a SAA (the client side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let common = read_answer(message, cmd::SERVER_ASSIGNMENT)?;
        let avps = &common.avps;
        let charging = match avps.get(avp::CHARGING_INFORMATION) {
            Some(group) => Some(ChargingInformation::read(&group)?),
            None => None,
        };
        Ok(Self {
            user_name: text(avps, avp::USER_NAME)?,
            supported_features: SupportedFeatures::read_all(avps)?,
            user_data: text(avps, avp::USER_DATA)?,
            charging,
            associated_identities: user_names(avps, avp::ASSOCIATED_IDENTITIES)?,
            server_name: text(avps, avp::SERVER_NAME)?,
            wildcarded_public_identity: text(avps, avp::WILDCARDED_PUBLIC_IDENTITY)?,
            session_id: common.session_id,
            origin: common.origin,
            result: common.result,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Push-Profile (PPR/PPA), HSS-initiated

/// Push-Profile-Request (TS 29.229 §6.1.11): the HSS pushes a changed profile and/or charging
/// information for a private identity (the public identities are inside the User-Data).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Ppr {
    /// Session-Id, origin (the HSS) and destination (the S-CSCF; Destination-Host required).
    pub routing: Routing,
    /// User-Name: the private identity.
    pub user_name: String,
    /// User-Data: the new IMSSubscription document (UTF-8).
    pub user_data: Option<String>,
    /// Charging-Information.
    pub charging: Option<ChargingInformation>,
    /// SIP-Auth-Data-Item (new authentication data, e.g. a changed SIP Digest password).
    pub auth_data: Option<SipAuthDataItem>,
}

impl Ppr {
    /// The encoded request, identifiers still 0. Fails without a Destination-Host.
    pub fn builder(&self) -> Result<MessageBuilder, CxError> {
        if self.routing.destination_host.is_none() {
            return Err(CxError::Missing(avp::DESTINATION_HOST));
        }
        let mut builder = request_start(
            cmd::PUSH_PROFILE,
            &self.routing,
            DestinationOrder::HostFirst,
        )
        .avp_str(avp::USER_NAME, &self.user_name);
        if let Some(user_data) = &self.user_data {
            builder = builder.avp_str(avp::USER_DATA, user_data);
        }
        if let Some(charging) = &self.charging {
            builder = builder.grouped(avp::CHARGING_INFORMATION, |g| charging.write(g));
        }
        if let Some(item) = &self.auth_data {
            builder = builder.grouped(avp::SIP_AUTH_DATA_ITEM, |g| item.write(g));
        }
        Ok(builder)
    }

    /// The encoded request with the given identifiers.
    pub fn to_message(&self, hop_by_hop: u32, end_to_end: u32) -> Result<Message, CxError> {
        Ok(self
            .builder()?
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end)
            .finish()?)
    }

    /// Reads a PPR (the S-CSCF/Homestead side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let avps = expect(message, cmd::PUSH_PROFILE, true)?;
        let routing = read_routing(&avps)?;
        required(routing.destination_host.as_ref(), avp::DESTINATION_HOST)?;
        let charging = match avps.get(avp::CHARGING_INFORMATION) {
            Some(group) => Some(ChargingInformation::read(&group)?),
            None => None,
        };
        let auth_data = match avps.get(avp::SIP_AUTH_DATA_ITEM) {
            Some(item) => Some(SipAuthDataItem::read(&item)?),
            None => None,
        };
        Ok(Self {
            routing,
            user_name: required(text(&avps, avp::USER_NAME)?, avp::USER_NAME)?,
            user_data: text(&avps, avp::USER_DATA)?,
            charging,
            auth_data,
        })
    }
}

/// Push-Profile-Answer (TS 29.229 §6.1.12).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Ppa {
    /// Session-Id of the request.
    pub session_id: String,
    /// Origin-Host and Origin-Realm of the S-CSCF (Homestead).
    pub origin: Origin,
    /// 2001, or 5012 DIAMETER_UNABLE_TO_COMPLY when Homestead cannot apply the profile.
    pub result: CxResult,
}

impl Ppa {
    /// The answer to `request` (the S-CSCF/Homestead side).
    pub fn to_message(&self, request: &Message) -> Result<Message, CxError> {
        let builder = answer_start(
            request,
            cmd::PUSH_PROFILE,
            &self.session_id,
            &self.origin,
            self.result,
        )?;
        answer_finish(builder, request)
    }

    /// Reads a PPA (the HSS side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let common = read_answer(message, cmd::PUSH_PROFILE)?;
        Ok(Self {
            session_id: common.session_id,
            origin: common.origin,
            result: common.result,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Registration-Termination (RTR/RTA), HSS-initiated

/// Registration-Termination-Request (TS 29.229 §6.1.9): the HSS deregisters identities.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Rtr {
    /// Session-Id, origin (the HSS) and destination (the S-CSCF; Destination-Host required).
    pub routing: Routing,
    /// User-Name: the private identity.
    pub user_name: String,
    /// Associated-Identities: further private identities to deregister.
    pub associated_identities: Vec<String>,
    /// Public-Identity AVPs: the public identities to deregister (none: all of them).
    pub public_identities: Vec<String>,
    /// Deregistration-Reason.
    pub reason: DeregistrationReason,
}

/// Which registrations an RTR ends, as Homestead reads it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RtrTarget {
    /// Every IRS of these private identities (User-Name and Associated-Identities).
    PrivateIdentities(Vec<String>),
    /// The IRSs of these public identities.
    PublicIdentities(Vec<String>),
}

impl Rtr {
    /// User-Name followed by the Associated-Identities.
    pub fn private_identities(&self) -> Vec<String> {
        std::iter::once(self.user_name.clone())
            .chain(self.associated_identities.iter().cloned())
            .collect()
    }

    /// What Homestead deregisters: the listed public identities when there are some and the
    /// reason honours them ([`ReasonCode::honours_public_identities`]), otherwise every IRS of the
    /// private identities.
    pub fn target(&self) -> RtrTarget {
        if self.reason.code.honours_public_identities() && !self.public_identities.is_empty() {
            RtrTarget::PublicIdentities(self.public_identities.clone())
        } else {
            RtrTarget::PrivateIdentities(self.private_identities())
        }
    }

    /// The encoded request, identifiers still 0. Fails without a Destination-Host.
    pub fn builder(&self) -> Result<MessageBuilder, CxError> {
        if self.routing.destination_host.is_none() {
            return Err(CxError::Missing(avp::DESTINATION_HOST));
        }
        let mut builder = request_start(
            cmd::REGISTRATION_TERMINATION,
            &self.routing,
            DestinationOrder::HostFirst,
        )
        .avp_str(avp::USER_NAME, &self.user_name);
        builder = write_user_names(
            builder,
            avp::ASSOCIATED_IDENTITIES,
            &self.associated_identities,
        );
        for identity in &self.public_identities {
            builder = builder.avp_str(avp::PUBLIC_IDENTITY, identity);
        }
        Ok(builder.grouped(avp::DEREGISTRATION_REASON, |g| {
            g.avp_i32(avp::REASON_CODE, self.reason.code.value());
            if let Some(info) = &self.reason.info {
                g.avp_str(avp::REASON_INFO, info);
            }
        }))
    }

    /// The encoded request with the given identifiers.
    pub fn to_message(&self, hop_by_hop: u32, end_to_end: u32) -> Result<Message, CxError> {
        Ok(self
            .builder()?
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end)
            .finish()?)
    }

    /// Reads an RTR (the S-CSCF/Homestead side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let avps = expect(message, cmd::REGISTRATION_TERMINATION, true)?;
        let routing = read_routing(&avps)?;
        required(routing.destination_host.as_ref(), avp::DESTINATION_HOST)?;
        let reason = required(
            avps.get(avp::DEREGISTRATION_REASON),
            avp::DEREGISTRATION_REASON,
        )?;
        let members = reason.grouped()?;
        Ok(Self {
            routing,
            user_name: required(text(&avps, avp::USER_NAME)?, avp::USER_NAME)?,
            associated_identities: user_names(&avps, avp::ASSOCIATED_IDENTITIES)?,
            public_identities: all_text(&avps, avp::PUBLIC_IDENTITY)?,
            reason: DeregistrationReason {
                code: required(
                    enumerated(&members, avp::REASON_CODE, ReasonCode::from_value)?,
                    avp::REASON_CODE,
                )?,
                info: text(&members, avp::REASON_INFO)?,
            },
        })
    }
}

/// Registration-Termination-Answer (TS 29.229 §6.1.10).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Rta {
    /// Session-Id of the request.
    pub session_id: String,
    /// Origin-Host and Origin-Realm of the S-CSCF (Homestead).
    pub origin: Origin,
    /// 2001, or 5012 DIAMETER_UNABLE_TO_COMPLY when the deregistration failed.
    pub result: CxResult,
    /// Associated-Identities: the private identities deregistered.
    pub associated_identities: Vec<String>,
}

impl Rta {
    /// The answer to `request` (the S-CSCF/Homestead side).
    pub fn to_message(&self, request: &Message) -> Result<Message, CxError> {
        let builder = answer_start(
            request,
            cmd::REGISTRATION_TERMINATION,
            &self.session_id,
            &self.origin,
            self.result,
        )?;
        let builder = write_user_names(
            builder,
            avp::ASSOCIATED_IDENTITIES,
            &self.associated_identities,
        );
        answer_finish(builder, request)
    }

    /// Reads an RTA (the HSS side).
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let common = read_answer(message, cmd::REGISTRATION_TERMINATION)?;
        Ok(Self {
            associated_identities: user_names(&common.avps, avp::ASSOCIATED_IDENTITIES)?,
            session_id: common.session_id,
            origin: common.origin,
            result: common.result,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Homestead's HTTP mapping

/// What Homestead answers Sprout: a status and, for 200, a JSON body.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HttpOutcome {
    /// HTTP status code.
    pub status: u16,
    /// JSON body, if any.
    pub body: Option<String>,
}

impl HttpOutcome {
    /// A status without a body.
    pub const fn status(status: u16) -> Self {
        Self { status, body: None }
    }

    /// 200 with the given value serialised as JSON (500 if it cannot be, which the plain structs
    /// here never cause).
    fn json(body: &impl Serialize) -> Self {
        match serde_json::to_string(body) {
            Ok(text) => Self {
                status: 200,
                body: Some(text),
            },
            Err(_) => Self::status(500),
        }
    }
}

/// A Cx request that got no answer within `diameter_timeout_ms`: 503, so that Sprout tries another
/// Homestead (Homestead turns the timeout into SERVER_UNAVAILABLE for every command).
pub const fn map_timeout() -> HttpOutcome {
    HttpOutcome::status(503)
}

/// The first item Homestead can use: SIP Digest with its SIP-Digest-Authenticate, or AKA (v1 or
/// v2) with SIP-Authenticate and SIP-Authorization. Items of other schemes are skipped, as the
/// Clearwater documentation says ("details for other authentication methods are silently
/// ignored").
fn usable_item(maa: &Maa) -> Option<&SipAuthDataItem> {
    maa.auth_data.iter().find(|item| match &item.scheme {
        Some(AuthScheme::SipDigest) => item.digest.is_some(),
        Some(AuthScheme::DigestAkaV1Md5 | AuthScheme::DigestAkaV2Sha256) => {
            item.authenticate.is_some() && item.authorization.is_some()
        }
        _ => false,
    })
}

/// `GET /impi/<id>/av[/digest|/aka|/aka2]` from a MAA: Result-Code 2001 → 200 with
/// `{"digest":{"ha1","qop","realm"}}` (an empty QoP becomes "auth") or
/// `{"aka":{"challenge","response","crypt_key","integrity_key","cryptkey","integritykey","version"}}`
/// (challenge: base64 of SIP-Authenticate; response: hex of SIP-Authorization; keys in base64 and
/// in hex, the same shape as Hearth's own answers), or 404 when no item has a scheme Homestead
/// supports; 3002 → 503; 3GPP 5001 (user unknown) → 404; 3004 → 504; anything else → 500.
///
/// Homestead's code answers a MAR's 3004 with 500; 504 is used here as for every other command, so
/// a busy HSS looks the same to Sprout on every path.
pub fn map_maa(maa: &Maa) -> HttpOutcome {
    if maa.result.is_base(result::SUCCESS) {
        let Some(item) = usable_item(maa) else {
            return HttpOutcome::status(404);
        };
        if let Some(digest) = &item.digest {
            return HttpOutcome::json(&DigestBody {
                digest: DigestFields::of(digest),
            });
        }
        let empty = Bytes::new();
        let key = |key: &Option<Bytes>| key.clone().unwrap_or_else(|| empty.clone());
        let (ck, ik) = (key(&item.confidentiality_key), key(&item.integrity_key));
        return HttpOutcome::json(&AkaBody {
            aka: AkaFields {
                challenge: BASE64.encode(key(&item.authenticate)),
                response: hex::encode(key(&item.authorization)),
                crypt_key: BASE64.encode(&ck),
                integrity_key: BASE64.encode(&ik),
                cryptkey: hex::encode(&ck),
                integritykey: hex::encode(&ik),
                version: item
                    .scheme
                    .as_ref()
                    .and_then(AuthScheme::aka_version)
                    .unwrap_or(1),
            },
        });
    }
    failure_status(maa.result, &[(result::TOO_BUSY, 504)])
}

/// Homestead's legacy `GET /impi/<id>/digest?public_id=` from a MAA for "SIP Digest": 200 with
/// `{"digest_ha1": …}`, 404 when the HSS returned AKA (or nothing usable); failures as
/// [`map_maa`].
pub fn map_maa_legacy_digest(maa: &Maa) -> HttpOutcome {
    if maa.result.is_base(result::SUCCESS) {
        return match usable_item(maa).and_then(|item| item.digest.as_ref()) {
            Some(digest) => HttpOutcome::json(&LegacyDigestBody {
                digest_ha1: &digest.ha1,
            }),
            None => HttpOutcome::status(404),
        };
    }
    failure_status(maa.result, &[(result::TOO_BUSY, 504)])
}

/// `GET /impi/<id>/registration-status` from a UAA: Result-Code 2001 or 3GPP 2001/2002 → 200
/// with `{"result-code": <code>, "scscf": …}` or the capability lists; 3GPP 5001/5002 → 404;
/// Result-Code 5003 or 3GPP 5004 → 403; 3004 → 504; 3002 → 503; anything else → 500.
pub fn map_uaa(uaa: &Uaa) -> HttpOutcome {
    let outcome = uaa.result;
    let success = outcome.is_base(result::SUCCESS)
        || outcome.is_tgpp(cx_result::FIRST_REGISTRATION)
        || outcome.is_tgpp(cx_result::SUBSEQUENT_REGISTRATION);
    if success {
        return HttpOutcome::json(&ServerBody::of(
            outcome.code(),
            uaa.server_name.as_deref(),
            uaa.capabilities.as_ref(),
            None,
        ));
    }
    if outcome.is_tgpp(cx_result::ERROR_USER_UNKNOWN)
        || outcome.is_tgpp(cx_result::ERROR_IDENTITIES_DONT_MATCH)
    {
        return HttpOutcome::status(404);
    }
    if outcome.is_base(result::AUTHORIZATION_REJECTED)
        || outcome.is_tgpp(cx_result::ERROR_ROAMING_NOT_ALLOWED)
    {
        return HttpOutcome::status(403);
    }
    failure_status(outcome, &[(result::TOO_BUSY, 504)])
}

/// `GET /impu/<id>/location` from a LIA: Result-Code 2001, 3GPP 2003 (unregistered service) or
/// 3GPP 5003 (identity not registered) → 200 with `{"result-code": <code>, "scscf": …}` or the
/// capability lists, plus `"wildcard-identity"` when the HSS returned one; 3GPP 5001 → 404;
/// 3004 → 504; 3002 → 503; anything else → 500.
pub fn map_lia(lia: &Lia) -> HttpOutcome {
    let outcome = lia.result;
    let success = outcome.is_base(result::SUCCESS)
        || outcome.is_tgpp(cx_result::UNREGISTERED_SERVICE)
        || outcome.is_tgpp(cx_result::ERROR_IDENTITY_NOT_REGISTERED);
    if success {
        return HttpOutcome::json(&ServerBody::of(
            outcome.code(),
            lia.server_name.as_deref(),
            lia.capabilities.as_ref(),
            lia.wildcarded_public_identity.as_deref(),
        ));
    }
    failure_status(outcome, &[(result::TOO_BUSY, 504)])
}

/// What a reg-data PUT does with a SAA.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SaaOutcome {
    /// Answer Sprout with this status (200 when the assignment succeeded: cache the User-Data and
    /// Charging-Information, or drop the cached data for a deregistration).
    Status(u16),
    /// The HSS answered 5007 DIAMETER_ERROR_IN_ASSIGNMENT_TYPE with a Wildcarded-Public-Identity
    /// other than the one sent: redo the reg-data processing for that wildcard.
    RetryWithWildcard(String),
}

/// A reg-data PUT's SAA, given the Wildcarded-Public-Identity the SAR was about (the one Sprout
/// sent or one a previous 5007 returned): Result-Code 2001 → 200; 3002 → 503; 3GPP 5001 → 404;
/// 3GPP 5007 with a new Wildcarded-Public-Identity → [`SaaOutcome::RetryWithWildcard`] (the same
/// wildcard again, or none, → 500, so the retry cannot loop); 3004 → 504; anything else → 500.
///
/// Homestead's own code answers 3004 on a SAR with 500; 504 is used here as for UAR and LIR, so
/// that a busy HSS looks the same to Sprout on every path. Its API document says 502 for other
/// HSS errors; its code (which Sprout is used to) says 500, as here.
pub fn map_saa(saa: &Saa, sent_wildcard: Option<&str>) -> SaaOutcome {
    let outcome = saa.result;
    if outcome.is_base(result::SUCCESS) {
        return SaaOutcome::Status(200);
    }
    if outcome.is_tgpp(cx_result::ERROR_USER_UNKNOWN) {
        return SaaOutcome::Status(404);
    }
    if outcome.is_tgpp(cx_result::ERROR_IN_ASSIGNMENT_TYPE) {
        return match saa.wildcarded_public_identity.as_deref() {
            Some(wildcard) if !wildcard.is_empty() && Some(wildcard) != sent_wildcard => {
                SaaOutcome::RetryWithWildcard(wildcard.to_owned())
            }
            _ => SaaOutcome::Status(500),
        };
    }
    SaaOutcome::Status(failure_status(outcome, &[(result::TOO_BUSY, 504)]).status)
}

/// The status of an unsuccessful answer: 3002 DIAMETER_UNABLE_TO_DELIVER → 503 (Sprout then tries
/// another Homestead), 3GPP 5001 → 404, the command's own extra Result-Codes, else 500.
fn failure_status(outcome: CxResult, extra: &[(u32, u16)]) -> HttpOutcome {
    if outcome.is_base(result::UNABLE_TO_DELIVER) {
        return HttpOutcome::status(503);
    }
    if outcome.is_tgpp(cx_result::ERROR_USER_UNKNOWN) {
        return HttpOutcome::status(404);
    }
    for (code, status) in extra {
        if outcome.is_base(*code) {
            return HttpOutcome::status(*status);
        }
    }
    HttpOutcome::status(500)
}

#[derive(Serialize)]
struct DigestFields<'a> {
    ha1: &'a str,
    qop: &'a str,
    realm: &'a str,
}

impl<'a> DigestFields<'a> {
    fn of(digest: &'a DigestAuthenticate) -> Self {
        Self {
            ha1: &digest.ha1,
            qop: if digest.qop.is_empty() {
                "auth"
            } else {
                &digest.qop
            },
            realm: &digest.realm,
        }
    }
}

#[derive(Serialize)]
struct DigestBody<'a> {
    digest: DigestFields<'a>,
}

#[derive(Serialize)]
struct LegacyDigestBody<'a> {
    digest_ha1: &'a str,
}

#[derive(Serialize)]
struct AkaFields {
    challenge: String,
    response: String,
    crypt_key: String,
    integrity_key: String,
    cryptkey: String,
    integritykey: String,
    version: u8,
}

#[derive(Serialize)]
struct AkaBody {
    aka: AkaFields,
}

/// Homestead's UAA/LIA body: the code, then either the Server-Name as `scscf`, or the first
/// Server-Name of the capabilities (if any) and both capability lists (empty when the HSS sent no
/// Server-Capabilities); `wildcard-identity` last, for LIA.
#[derive(Serialize)]
struct ServerBody<'a> {
    #[serde(rename = "result-code")]
    result_code: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    scscf: Option<&'a str>,
    #[serde(
        rename = "mandatory-capabilities",
        skip_serializing_if = "Option::is_none"
    )]
    mandatory: Option<&'a [u32]>,
    #[serde(
        rename = "optional-capabilities",
        skip_serializing_if = "Option::is_none"
    )]
    optional: Option<&'a [u32]>,
    #[serde(rename = "wildcard-identity", skip_serializing_if = "Option::is_none")]
    wildcard: Option<&'a str>,
}

impl<'a> ServerBody<'a> {
    fn of(
        result_code: u32,
        server_name: Option<&'a str>,
        capabilities: Option<&'a ServerCapabilities>,
        wildcard: Option<&'a str>,
    ) -> Self {
        let wildcard = wildcard.filter(|w| !w.is_empty());
        if let Some(name) = server_name.filter(|name| !name.is_empty()) {
            return Self {
                result_code,
                scscf: Some(name),
                mandatory: None,
                optional: None,
                wildcard,
            };
        }
        let (scscf, mandatory, optional): (Option<&str>, &[u32], &[u32]) = match capabilities {
            Some(capabilities) => (
                capabilities.server_names.first().map(String::as_str),
                &capabilities.mandatory,
                &capabilities.optional,
            ),
            None => (None, &[], &[]),
        };
        Self {
            result_code,
            scscf: scscf.filter(|name| !name.is_empty()),
            mandatory: Some(mandatory),
            optional: Some(optional),
            wildcard,
        }
    }
}
