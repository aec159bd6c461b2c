//! The subscriber data model: what the provisioning API writes and the signalling API reads.
//!
//! These are the stored records (serialised by the store) and the derived views the shards cache.
//! Shapes follow Clearwater's homestead_provisioning tables: private IDs, implicit registration sets
//! (IRS), service profiles and public IDs, plus what Homestead never had locally: AKA credentials and
//! registration state.

use serde::{Deserialize, Serialize};

/// Longest private or public identity accepted (bytes). Outsiders choose these strings.
pub const MAX_IDENTITY_LEN: usize = 512;

/// A private identity (IMPI) and its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateRecord {
    /// H(username:realm:password) as lowercase hex (RFC 2617 MD5).
    pub digest_ha1: String,
    /// The realm the HA1 was computed in.
    pub realm: String,
    /// Kept only when provisioned with `plaintext_password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext_password: Option<String>,
    /// Milenage credentials for local AKA, if provisioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aka: Option<AkaCredentials>,
    /// The implicit registration sets this IMPI authenticates, in association order.
    #[serde(default)]
    pub irs: Vec<String>,
}

/// Milenage subscriber credentials and sequence state (never echoed by the API).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AkaCredentials {
    /// Subscriber key K, hex.
    pub k: String,
    /// OPc, hex (OP is converted to OPc at provisioning time and not kept).
    pub opc: String,
    /// Authentication management field, hex (2 octets).
    pub amf: String,
    /// The highest SQN handed out so far (48 bits).
    pub sqn: u64,
}

impl std::fmt::Debug for AkaCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print K or OPc.
        f.debug_struct("AkaCredentials")
            .field("amf", &self.amf)
            .field("sqn", &self.sqn)
            .finish_non_exhaustive()
    }
}

/// An implicit registration set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IrsRecord {
    /// Private IDs that authenticate this IRS.
    #[serde(default)]
    pub private_ids: Vec<String>,
    /// Service profiles of this IRS, in creation order.
    #[serde(default)]
    pub service_profiles: Vec<String>,
}

/// A service profile inside an IRS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceProfileRecord {
    /// The IRS this profile belongs to.
    pub irs: String,
    /// The `ServiceProfile` document last PUT to `filter_criteria`, canonical XML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_xml: Option<String>,
    /// The serialised `InitialFilterCriteria` (and allowed sibling) elements of that document, ready
    /// to be concatenated into an IMSSubscription.
    #[serde(default)]
    pub filter_parts: Vec<String>,
    /// Public IDs using this profile, in creation order.
    #[serde(default)]
    pub public_ids: Vec<String>,
}

/// A public identity (IMPU).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicRecord {
    /// The `PublicIdentity` element as provisioned, canonical XML.
    pub identity_xml: String,
    /// Its service profile.
    pub service_profile: String,
    /// Its implicit registration set.
    pub irs: String,
}

/// Registration state of an IRS as Homestead's reg-data state machine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RegState {
    /// Registered at an S-CSCF.
    Registered,
    /// Assigned to an S-CSCF for unregistered service.
    Unregistered,
    /// Not assigned to any S-CSCF.
    #[default]
    NotRegistered,
}

impl RegState {
    /// The wire name used in `ClearwaterRegData`.
    pub fn as_str(self) -> &'static str {
        match self {
            RegState::Registered => "REGISTERED",
            RegState::Unregistered => "UNREGISTERED",
            RegState::NotRegistered => "NOT_REGISTERED",
        }
    }
}

/// Stored registration state of one IRS (all its public IDs share it, as in IMS).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationRecord {
    /// Current state.
    pub state: RegState,
    /// When the last Server-Assignment (real or, without an HSS, notional) was made, UNIX seconds.
    pub assigned_at: u64,
    /// The private ID of the last registration, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_id: Option<String>,
    /// The S-CSCF name of the last assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

/// External HSS mode: what the HSS said about one implicit registration set (IRS), cached for
/// `record_ttl` (Homestead's cache of User-Data, charging addresses and registration state).
///
/// Stored once per IRS, under its first public identity, and found from any of its public
/// identities and from the private identities that registered it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HssIrsRecord {
    /// Every public identity of the IRS, as the User-Data lists them (the first is the default
    /// public identity, the key of the record).
    pub impus: Vec<String>,
    /// The `IMSSubscription` document from the HSS (canonical XML, no declaration).
    pub ims_subscription_xml: String,
    /// Charging Collection Function addresses, in priority order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ccfs: Vec<String>,
    /// Event Charging Function addresses, in priority order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ecfs: Vec<String>,
    /// Registration state; `private_id` is the IMPI of the last registration.
    pub registration: RegistrationRecord,
    /// The private identities that registered the IRS (for RTRs naming IMPIs and PPRs).
    #[serde(default)]
    pub private_ids: Vec<String>,
    /// The wildcarded public identity the HSS assigned under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wildcard: Option<String>,
    /// When the record stops being usable, UNIX seconds.
    pub expires_at: u64,
}

impl HssIrsRecord {
    /// The default public identity (the record's key), if the IRS has any.
    pub fn default_impu(&self) -> Option<&str> {
        self.impus.first().map(String::as_str)
    }
}

/// Checks an identity taken from a URL or a body: non-empty, bounded, no control characters.
pub fn validate_identity(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("identity is empty".into());
    }
    if id.len() > MAX_IDENTITY_LEN {
        return Err(format!(
            "identity is {} bytes long; the limit is {MAX_IDENTITY_LEN}",
            id.len()
        ));
    }
    if id.chars().any(char::is_control) {
        return Err("identity contains control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aka_debug_hides_keys() {
        let aka = AkaCredentials {
            k: "465b5ce8b199b49faa5f0a2ee238a6bc".into(),
            opc: "cd63cb71954a9f4e48a5994e37a02baf".into(),
            amf: "b9b9".into(),
            sqn: 7,
        };
        let text = format!("{aka:?}");
        assert!(!text.contains("465b5c"));
        assert!(!text.contains("cd63cb"));
        assert!(text.contains("b9b9"));
    }

    #[test]
    fn identity_validation() {
        assert!(validate_identity("sip:alice@example.com").is_ok());
        assert!(validate_identity("").is_err());
        assert!(validate_identity("a\nb").is_err());
        assert!(validate_identity(&"x".repeat(MAX_IDENTITY_LEN + 1)).is_err());
    }

    #[test]
    fn record_round_trip() {
        let rec = PrivateRecord {
            digest_ha1: "abc".into(),
            realm: "example.com".into(),
            plaintext_password: None,
            aka: None,
            irs: vec!["u1".into()],
        };
        let json = serde_json::to_string(&rec).unwrap();
        assert!(!json.contains("plaintext_password"));
        assert_eq!(serde_json::from_str::<PrivateRecord>(&json).unwrap(), rec);
    }
}
