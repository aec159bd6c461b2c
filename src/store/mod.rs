//! The subscriber store: a synchronous, backend-agnostic [`Store`] trait, the embedded
//! [`EmbeddedStore`] on fjall, and the [`StoreHandle`] through which shards reach it.
//!
//! Shards never touch a store directly: a store call may block on disk (or, later, on the network),
//! and a shard thread must never block. The handle ships each call as a closure to dedicated
//! threads (a reader pool and one writer) and hands back a future that any executor can await.
//!
//! Every write is atomic and carries the Homestead-prov semantics, cascades included, so a backend
//! is a complete implementation of the provisioning model, not a bag of tables. A write is made
//! durable by [`Store::sync`]; the handle's writer calls it once per group of writes (group commit)
//! before it answers any of them, so an answer to a write means the write survives a crash.
//!
//! Writes report what they changed as [`Affected`] IMPIs and IMPUs: the keys of the derived views
//! ([`AuthView`], [`PublicView`]) that shards cache and must drop.

pub mod cassandra;
mod embedded;
mod handle;
mod threads;

#[cfg(test)]
mod tests;

use std::fmt;

use hearth_core::model::{
    AkaCredentials, HssIrsRecord, IrsRecord, PrivateRecord, PublicRecord, RegistrationRecord,
    ServiceProfileRecord,
};

pub use embedded::EmbeddedStore;
pub use handle::StoreHandle;
#[cfg(test)]
pub use threads::StoreOptions;
#[cfg(test)]
pub use threads::StoreReply;
pub use threads::StoreThreads;

/// Longest key (identity or id) a store accepts, in bytes. Identities are limited to
/// `MAX_IDENTITY_LEN` by the API layer; this bound keeps every key far inside what any backend
/// can hold (fjall refuses empty keys and keys over 64 KiB).
pub const MAX_KEY_LEN: usize = 1024;

/// Largest page [`StoreRead::list_public`] returns, whatever limit is asked for.
pub const MAX_LIST_PAGE: usize = 10_000;

/// Largest SQN value (SQN is 48 bits, TS 33.102 Annex C).
pub const MAX_SQN: u64 = (1 << 48) - 1;

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The backend cannot serve the call: I/O failure, failed sync, stopped store threads, full
    /// queue.
    Unavailable(String),
    /// The call waited too long for the backend.
    Timeout,
    /// A stored record cannot be decoded or breaks an invariant of the model.
    Corrupt(String),
    /// The call itself is unacceptable (an empty or oversized key, an SQN beyond 48 bits): the
    /// caller should have refused it earlier.
    Invalid(String),
}

impl StoreError {
    /// The HTTP status to answer with, as Homestead does: a backend error is 502, a timeout 504.
    /// Corrupt data is an internal error (500); an invalid call a client error (400).
    pub fn status(&self) -> u16 {
        match self {
            StoreError::Unavailable(_) => 502,
            StoreError::Timeout => 504,
            StoreError::Corrupt(_) => 500,
            StoreError::Invalid(_) => 400,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(reason) => write!(f, "store unavailable: {reason}"),
            StoreError::Timeout => f.write_str("store timed out"),
            StoreError::Corrupt(reason) => write!(f, "store data corrupt: {reason}"),
            StoreError::Invalid(reason) => write!(f, "invalid store request: {reason}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The identities whose derived views a write may have changed: a shard drops its cached
/// [`AuthView`] of each IMPI and [`PublicView`] of each IMPU. Sorted, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Affected {
    /// Private identities whose [`AuthView`] may have changed.
    pub impis: Vec<String>,
    /// Public identities whose [`PublicView`] may have changed.
    pub impus: Vec<String>,
}

impl Affected {
    /// True when the write changed no derived view.
    pub fn is_empty(&self) -> bool {
        self.impis.is_empty() && self.impus.is_empty()
    }
}

/// What a write found missing when it could not do its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The private identity does not exist.
    Private,
    /// The implicit registration set does not exist.
    Irs,
    /// Neither the private identity nor the IRS exists.
    PrivateAndIrs,
    /// The service profile does not exist, or not in the IRS named.
    ServiceProfile,
    /// The public identity does not exist, or not in the service profile named.
    Public,
    /// The private identity has no AKA credentials.
    AkaCredentials,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Missing::Private => "private ID",
            Missing::Irs => "implicit registration set",
            Missing::PrivateAndIrs => "private ID and implicit registration set",
            Missing::ServiceProfile => "service profile",
            Missing::Public => "public ID",
            Missing::AkaCredentials => "AKA credentials",
        })
    }
}

/// The result of a write, from the caller's point of view. Each write documents which variants
/// it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new record was created.
    Created,
    /// An existing record was changed.
    Updated,
    /// Nothing needed changing (already associated, already created, not associated).
    Unchanged,
    /// The record was removed.
    Removed,
    /// The write could not be done: something it needs is missing. Nothing was written, except
    /// where a write documents a clean-up of dangling references.
    NotFound(Missing),
    /// The id is already used elsewhere (a service profile id in another IRS). Nothing written.
    Conflict,
}

/// What a write returns: its outcome and the derived views it may have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written<T = Outcome> {
    /// The operation's answer.
    pub outcome: T,
    /// Identities whose cached views must be dropped.
    pub affected: Affected,
}

/// How [`Store::put_private`] treats AKA credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AkaUpdate {
    /// Keep whatever is stored (the Homestead-prov body has no AKA part).
    Keep,
    /// Store these credentials. If the stored credentials have the same K, the stored SQN is
    /// kept when it is higher, so re-provisioning never makes SQNs repeat.
    Set(AkaCredentials),
    /// Remove stored AKA credentials.
    Remove,
}

/// The new credentials of a private identity for [`Store::put_private`].
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateUpdate {
    /// H(username:realm:password), lowercase hex.
    pub digest_ha1: String,
    /// The realm of the digest.
    pub realm: String,
    /// The plaintext password when provisioned with one; `None` removes a stored one (an update
    /// with `digest_ha1` drops the password).
    pub plaintext_password: Option<String>,
    /// AKA credentials.
    pub aka: AkaUpdate,
}

impl fmt::Debug for PrivateUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // HA1 and the password are password equivalents: never print them.
        f.debug_struct("PrivateUpdate")
            .field("realm", &self.realm)
            .field(
                "plaintext_password",
                &self.plaintext_password.as_ref().map(|_| "…"),
            )
            .field("aka", &self.aka)
            .finish_non_exhaustive()
    }
}

/// A block of SQNs reserved by [`Store::reserve_sqn`].
#[derive(Clone, PartialEq, Eq)]
pub struct SqnBlock {
    /// The credentials, with `sqn` already advanced to the last SQN of the block.
    pub aka: AkaCredentials,
    /// The first SQN of the block; the block is `first_sqn ..= aka.sqn`.
    pub first_sqn: u64,
}

impl fmt::Debug for SqnBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // AkaCredentials' Debug already hides K and OPc.
        f.debug_struct("SqnBlock")
            .field("aka", &self.aka)
            .field("first_sqn", &self.first_sqn)
            .finish()
    }
}

/// Everything the authentication hot path needs about a private identity.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthView {
    /// H(A1), lowercase hex.
    pub digest_ha1: String,
    /// Realm of the digest.
    pub realm: String,
    /// Milenage credentials, if provisioned.
    pub aka: Option<AkaCredentials>,
    /// Every public identity of every IRS the IMPI authenticates, in association order, then
    /// service profile order, then public identity order.
    pub impus: Vec<String>,
}

impl fmt::Debug for AuthView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // HA1 is a password equivalent: never print it.
        f.debug_struct("AuthView")
            .field("realm", &self.realm)
            .field("aka", &self.aka)
            .field("impus", &self.impus)
            .finish_non_exhaustive()
    }
}

/// A public identity of a service profile, as a [`PublicView`] carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicIdentityEntry {
    /// The public identity.
    pub impu: String,
    /// Its `PublicIdentity` element, canonical XML.
    pub identity_xml: String,
}

/// A service profile with its public identities, as a [`PublicView`] carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProfileView {
    /// The service profile id.
    pub id: String,
    /// The stored record (filter criteria XML and parts, public identity list).
    pub record: ServiceProfileRecord,
    /// The public identities of the profile with their XML, in the record's order.
    pub public_identities: Vec<PublicIdentityEntry>,
}

/// Everything needed to answer for a public identity: build its IMSSubscription, list its
/// private identities, run its registration state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicView {
    /// The public identity this view is for.
    pub impu: String,
    /// Its record (identity XML, service profile, IRS).
    pub record: PublicRecord,
    /// Its IRS's record.
    pub irs: IrsRecord,
    /// Every service profile of the IRS, in the IRS's order.
    pub service_profiles: Vec<ServiceProfileView>,
    /// The IRS's registration state, if any was ever stored.
    pub registration: Option<RegistrationRecord>,
}

impl PublicView {
    /// The private identities that authenticate the IRS.
    pub fn private_ids(&self) -> &[String] {
        &self.irs.private_ids
    }
}

/// The reads of a store. Each call sees one consistent state of the store.
///
/// A missing record is `Ok(None)`; an empty or oversized key can name no record and reads as
/// missing.
pub trait StoreRead: Send + Sync + 'static {
    /// The private identity's record.
    fn get_private(&self, impi: &str) -> Result<Option<PrivateRecord>, StoreError>;
    /// The implicit registration set's record.
    fn get_irs(&self, irs: &str) -> Result<Option<IrsRecord>, StoreError>;
    /// The service profile's record.
    fn get_service_profile(&self, sp: &str) -> Result<Option<ServiceProfileRecord>, StoreError>;
    /// The public identity's record.
    fn get_public(&self, impu: &str) -> Result<Option<PublicRecord>, StoreError>;
    /// The IRS's registration record (the server reads it through `public_view`).
    #[cfg(test)]
    fn get_registration(&self, irs: &str) -> Result<Option<RegistrationRecord>, StoreError>;
    /// Up to `limit` (at most [`MAX_LIST_PAGE`]) public identities sorted by their bytes,
    /// starting after `after` (from the first when `None`): a cursor for streaming listings.
    fn list_public(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, PublicRecord)>, StoreError>;
    /// The private identity's credentials and public identities.
    fn auth_view(&self, impi: &str) -> Result<Option<AuthView>, StoreError>;
    /// The public identity with its IRS, service profiles and registration state.
    fn public_view(&self, impu: &str) -> Result<Option<PublicView>, StoreError>;
    /// HSS mode: the cached IRS that `impu` belongs to, unless it expired by `now` (UNIX
    /// seconds).
    fn get_hss_irs(&self, impu: &str, now: u64) -> Result<Option<HssIrsRecord>, StoreError>;
    /// HSS mode: the unexpired cached IRSs that `impi` registered.
    fn hss_irs_of_impi(&self, impi: &str, now: u64) -> Result<Vec<HssIrsRecord>, StoreError>;
}

/// A complete store: reads, atomic writes with the Homestead-prov semantics, and durability.
///
/// Each write is atomic: either all of it (cascades included) or none of it is applied. Writes
/// need not be durable when they return; [`Store::sync`] makes every earlier write durable.
/// An empty or oversized key fails a write with [`StoreError::Invalid`].
pub trait Store: StoreRead {
    /// Creates or updates a private identity, keeping its IRS associations.
    /// Outcome: `Created` or `Updated`. Affected: the IMPI.
    fn put_private(&self, impi: &str, update: PrivateUpdate) -> Result<Written, StoreError>;

    /// Deletes a private identity and removes it from every IRS it authenticates.
    /// Outcome: `Removed` or `NotFound(Private)`. Affected: the IMPI and the public identities
    /// of its IRSs.
    fn delete_private(&self, impi: &str) -> Result<Written, StoreError>;

    /// Lets the private identity authenticate the IRS (both records are updated).
    /// Outcome: `Updated`, `Unchanged` (already associated) or `NotFound(Private | Irs |
    /// PrivateAndIrs)`. Affected: the IMPI and the public identities of the IRS.
    fn associate(&self, impi: &str, irs: &str) -> Result<Written, StoreError>;

    /// Stops the private identity authenticating the IRS (both records are updated).
    /// Outcome: `Removed`, `Unchanged` (not associated) or `NotFound(Private | Irs |
    /// PrivateAndIrs)`; when only one side exists, a dangling reference to the other is still
    /// removed from it. Affected: the IMPI and the public identities of the IRS.
    fn dissociate(&self, impi: &str, irs: &str) -> Result<Written, StoreError>;

    /// Creates an empty IRS with the id chosen by the caller (a UUID).
    /// Outcome: `Created` or `Unchanged` (exists). Affected: nothing.
    fn create_irs(&self, irs: &str) -> Result<Written, StoreError>;

    /// Deletes an IRS with its service profiles, their public identities, its registration
    /// record, and its place in its private identities' IRS lists.
    /// Outcome: `Removed` or `NotFound(Irs)`. Affected: its private and public identities.
    fn delete_irs(&self, irs: &str) -> Result<Written, StoreError>;

    /// Creates an empty service profile in an existing IRS, with the id chosen by the caller.
    /// Outcome: `Created`, `Unchanged` (exists in this IRS), `Conflict` (the id belongs to
    /// another IRS) or `NotFound(Irs)`. Affected: the public identities of the IRS.
    fn create_service_profile(&self, irs: &str, sp: &str) -> Result<Written, StoreError>;

    /// Deletes a service profile of the IRS with its public identities.
    /// Outcome: `Removed` or `NotFound(ServiceProfile)` (missing or in another IRS).
    /// Affected: the IRS's private identities and public identities (removed ones included).
    fn delete_service_profile(&self, irs: &str, sp: &str) -> Result<Written, StoreError>;

    /// Creates or updates a public identity in a service profile of the IRS. A public identity
    /// provisioned elsewhere moves here (it leaves its old profile).
    /// Outcome: `Created`, `Updated` or `NotFound(Irs | ServiceProfile)`.
    /// Affected: the private and public identities of the IRS (and of the old IRS on a move).
    fn put_public(
        &self,
        irs: &str,
        sp: &str,
        impu: &str,
        identity_xml: &str,
    ) -> Result<Written, StoreError>;

    /// Deletes a public identity of a service profile of the IRS.
    /// Outcome: `Removed` or `NotFound(Public)` (missing or not in that profile and IRS).
    /// Affected: the private and public identities of the IRS (the removed one included).
    fn delete_public(&self, irs: &str, sp: &str, impu: &str) -> Result<Written, StoreError>;

    /// Sets the initial filter criteria of a service profile of the IRS: the `ServiceProfile`
    /// document and its parts ready for the IMSSubscription.
    /// Outcome: `Updated` or `NotFound(ServiceProfile)`. Affected: the IRS's public identities.
    fn put_filter_criteria(
        &self,
        irs: &str,
        sp: &str,
        filter_xml: &str,
        filter_parts: Vec<String>,
    ) -> Result<Written, StoreError>;

    /// Stores the registration state of an existing IRS.
    /// Outcome: `Created`, `Updated` or `NotFound(Irs)`. Affected: the IRS's public identities.
    fn put_registration(
        &self,
        irs: &str,
        record: RegistrationRecord,
    ) -> Result<Written, StoreError>;

    /// Sets the stored SQN (after a resynchronisation), which may move it backwards.
    /// Outcome: `Updated`, `NotFound(Private)` or `NotFound(AkaCredentials)`; an SQN beyond 48
    /// bits is `Invalid`. Affected: the IMPI.
    fn set_aka_sqn(&self, impi: &str, sqn: u64) -> Result<Written, StoreError>;

    /// Reserves the next `count` SQNs (at least one) of the private identity: advances the
    /// stored SQN by `count` and returns the block, so a shard can hand out vectors without a
    /// store round trip each. The advance is written (and, through the handle, synced) before
    /// the block is used, so no SQN is reused after a crash. `None` when the IMPI or its AKA
    /// credentials are missing; `Invalid` when the block would pass the 48-bit SQN space.
    /// Affected: the IMPI.
    fn reserve_sqn(&self, impi: &str, count: u64) -> Result<Written<Option<SqnBlock>>, StoreError>;

    /// HSS mode: caches an IRS under its first public identity, indexed by each of its public
    /// identities and private identities; replaces the record (and drops the index entries)
    /// of any earlier IRS of those identities. Outcome: `Created` or `Updated`.
    fn put_hss_irs(&self, record: HssIrsRecord) -> Result<Written, StoreError>;

    /// HSS mode: drops the cached IRS that `impu` belongs to, with its index entries.
    /// Outcome: the dropped record, if there was one.
    fn delete_hss_irs(&self, impu: &str) -> Result<Written<Option<HssIrsRecord>>, StoreError>;

    /// Makes every write that returned before this call durable (journal fsync).
    fn sync(&self) -> Result<(), StoreError>;
}

/// Checks a key before it reaches a backend.
fn check_key(what: &str, key: &str) -> Result<(), StoreError> {
    if key.is_empty() {
        return Err(StoreError::Invalid(format!("{what} is empty")));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(StoreError::Invalid(format!(
            "{what} is {} bytes long; the limit is {MAX_KEY_LEN}",
            key.len()
        )));
    }
    Ok(())
}

/// True when a key can name a record (reads of other keys find nothing).
fn key_is_usable(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN
}
