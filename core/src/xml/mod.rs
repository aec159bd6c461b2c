//! XML documents Hearth reads and writes: TS 29.228 Cx data (`PublicIdentity`, `ServiceProfile`,
//! `IMSSubscription`) and Clearwater's `ClearwaterRegData`.
//!
//! Everything is read with quick-xml's `Reader` and written with quick-xml's escaping; nothing
//! here tokenises XML by hand. Every reader refuses DOCTYPE declarations outright (so no entity
//! is ever defined or expanded), resolves only the five predefined entities and character
//! references, and limits input size and nesting depth before doing real work.
//!
//! Provisioning bodies are stored in a canonical form (see [`PublicIdentityDoc::xml`] and
//! [`ServiceProfileDoc::content`]) that can be concatenated into an `IMSSubscription` with
//! [`build_ims_subscription`] without parsing anything on the request path.

mod error;
pub mod ims_subscription;
pub mod public_identity;
pub mod reg_data;
pub mod service_profile;
mod tree;

pub use error::XmlError;
pub use ims_subscription::{
    ParsedServiceProfile, ParsedSubscription, ProfileParts, UNSPECIFIED_PRIVATE_ID,
    USER_DATA_MAX_BYTES, UserDataDoc, UserDataProfile, XML_DECLARATION, build_ims_subscription,
    parse_user_data,
};
pub use public_identity::{PUBLIC_IDENTITY_MAX_BYTES, PublicIdentityDoc, parse_public_identity};
pub use reg_data::{
    ChargingAddresses, REG_DATA_MAX_BYTES, RegDataDoc, RegistrationState,
    parse_clearwater_reg_data, write_clearwater_reg_data,
};
pub use service_profile::{SERVICE_PROFILE_MAX_BYTES, ServiceProfileDoc, parse_service_profile};

/// Deepest element nesting any reader accepts (the root element is depth 1). TS 29.228 documents
/// need about ten levels; the limit keeps hostile nesting cheap.
pub const MAX_DEPTH: usize = 32;
