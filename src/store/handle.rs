//! [`StoreHandle`]: the typed, asynchronous store operations shards await, whatever the backend.
//!
//! Each operation takes its arguments, hands the work to the backend and returns a
//! [`StoreReply`] future at once; nothing blocks the calling shard:
//! - the embedded backend runs it as a closure over the synchronous [`Store`] on its threads
//!   (reads on the reader pool, writes on the group-committing writer: [`StoreThreads`]);
//! - the Cassandra backend spawns it on its tokio runtime, and the reply wakes the shard's task
//!   when the queries are done.
//!
//! A failed or refused operation resolves to a [`super::StoreError`].

use hearth_core::model::{
    HssIrsRecord, IrsRecord, PrivateRecord, PublicRecord, RegistrationRecord, ServiceProfileRecord,
};

use super::cassandra::CassandraClient;
use super::threads::{StoreReply, StoreStats, StoreThreads};
use super::{AuthView, PrivateUpdate, PublicView, SqnBlock, Written};

/// Asynchronous access to the store from any executor. Cheap to clone; every shard holds one.
#[derive(Clone)]
pub struct StoreHandle {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Embedded(StoreThreads),
    Cassandra(CassandraClient),
}

/// Runs `$call` (a method of the store, called with the owned arguments) as a read or a write on
/// the backend. The arguments are moved into the work, so each must be owned already.
macro_rules! dispatch {
    ($self:ident, $kind:ident, |$s:ident| $call:expr) => {
        match &$self.backend {
            Backend::Embedded(threads) => threads.$kind(move |$s| $call),
            Backend::Cassandra(client) => client.$kind(move |$s| async move { $call.await }),
        }
    };
}

impl StoreHandle {
    /// A handle on the embedded backend's threads.
    pub fn embedded(threads: StoreThreads) -> StoreHandle {
        StoreHandle {
            backend: Backend::Embedded(threads),
        }
    }

    /// A handle on the Cassandra backend.
    pub fn cassandra(client: CassandraClient) -> StoreHandle {
        StoreHandle {
            backend: Backend::Cassandra(client),
        }
    }

    /// True when the store is shared with other Hearth nodes (their writes are not announced
    /// to this node's caches).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Cassandra(_))
    }

    /// Counters of the backend since start.
    pub fn stats(&self) -> StoreStats {
        match &self.backend {
            Backend::Embedded(threads) => threads.stats(),
            Backend::Cassandra(client) => client.stats(),
        }
    }

    /// Finishes the work handed over so far, makes it durable, and refuses later calls with
    /// [`StoreError::Unavailable`]. Blocks: call it from the main thread after the shards
    /// stopped.
    pub fn shutdown(&self) {
        match &self.backend {
            Backend::Embedded(threads) => threads.shutdown(),
            Backend::Cassandra(client) => client.shutdown(),
        }
    }

    // ------------------------------------------------------------------------------ reads

    /// The private identity's record.
    pub fn get_private(&self, impi: &str) -> StoreReply<Option<PrivateRecord>> {
        let impi = impi.to_owned();
        dispatch!(self, read, |s| s.get_private(&impi))
    }

    /// The implicit registration set's record.
    pub fn get_irs(&self, irs: &str) -> StoreReply<Option<IrsRecord>> {
        let irs = irs.to_owned();
        dispatch!(self, read, |s| s.get_irs(&irs))
    }

    /// The service profile's record.
    pub fn get_service_profile(&self, sp: &str) -> StoreReply<Option<ServiceProfileRecord>> {
        let sp = sp.to_owned();
        dispatch!(self, read, |s| s.get_service_profile(&sp))
    }

    /// The public identity's record.
    pub fn get_public(&self, impu: &str) -> StoreReply<Option<PublicRecord>> {
        let impu = impu.to_owned();
        dispatch!(self, read, |s| s.get_public(&impu))
    }

    /// The public identities of every service profile of the IRS, in the IRS's order; `None`
    /// when the IRS does not exist.
    pub fn irs_public_ids(&self, irs: &str) -> StoreReply<Option<Vec<String>>> {
        let irs = irs.to_owned();
        match &self.backend {
            Backend::Embedded(threads) => threads.read(move |s| {
                let Some(record) = s.get_irs(&irs)? else {
                    return Ok(None);
                };
                let mut ids = Vec::new();
                for sp in &record.service_profiles {
                    if let Some(profile) = s.get_service_profile(sp)? {
                        ids.extend(profile.public_ids);
                    }
                }
                Ok(Some(ids))
            }),
            Backend::Cassandra(client) => {
                client.read(move |s| async move { s.irs_public_ids(&irs).await })
            }
        }
    }

    /// A page of public identities after `after` (see [`super::StoreRead::list_public`]).
    pub fn list_public(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> StoreReply<Vec<(String, PublicRecord)>> {
        dispatch!(self, read, |s| s.list_public(after.as_deref(), limit))
    }

    /// The private identity's credentials and public identities.
    pub fn auth_view(&self, impi: &str) -> StoreReply<Option<AuthView>> {
        let impi = impi.to_owned();
        dispatch!(self, read, |s| s.auth_view(&impi))
    }

    /// The public identity with its IRS, service profiles and registration state.
    pub fn public_view(&self, impu: &str) -> StoreReply<Option<PublicView>> {
        let impu = impu.to_owned();
        dispatch!(self, read, |s| s.public_view(&impu))
    }

    /// HSS mode: the cached IRS of `impu`, unless expired by `now` (UNIX seconds).
    #[allow(dead_code)] // HSS mode's handlers (src/api) are being written
    pub fn get_hss_irs(&self, impu: &str, now: u64) -> StoreReply<Option<HssIrsRecord>> {
        let impu = impu.to_owned();
        dispatch!(self, read, |s| s.get_hss_irs(&impu, now))
    }

    /// HSS mode: the unexpired cached IRSs that `impi` registered.
    #[allow(dead_code)] // HSS mode's handlers (src/api) are being written
    pub fn hss_irs_of_impi(&self, impi: &str, now: u64) -> StoreReply<Vec<HssIrsRecord>> {
        let impi = impi.to_owned();
        dispatch!(self, read, |s| s.hss_irs_of_impi(&impi, now))
    }

    // ------------------------------------------------------------------------------ writes

    /// See [`super::Store::put_private`].
    pub fn put_private(&self, impi: &str, update: PrivateUpdate) -> StoreReply<Written> {
        let impi = impi.to_owned();
        dispatch!(self, write, |s| s.put_private(&impi, update))
    }

    /// See [`super::Store::delete_private`].
    pub fn delete_private(&self, impi: &str) -> StoreReply<Written> {
        let impi = impi.to_owned();
        dispatch!(self, write, |s| s.delete_private(&impi))
    }

    /// See [`super::Store::associate`].
    pub fn associate(&self, impi: &str, irs: &str) -> StoreReply<Written> {
        let (impi, irs) = (impi.to_owned(), irs.to_owned());
        dispatch!(self, write, |s| s.associate(&impi, &irs))
    }

    /// See [`super::Store::dissociate`].
    pub fn dissociate(&self, impi: &str, irs: &str) -> StoreReply<Written> {
        let (impi, irs) = (impi.to_owned(), irs.to_owned());
        dispatch!(self, write, |s| s.dissociate(&impi, &irs))
    }

    /// See [`super::Store::create_irs`].
    pub fn create_irs(&self, irs: &str) -> StoreReply<Written> {
        let irs = irs.to_owned();
        dispatch!(self, write, |s| s.create_irs(&irs))
    }

    /// See [`super::Store::delete_irs`].
    pub fn delete_irs(&self, irs: &str) -> StoreReply<Written> {
        let irs = irs.to_owned();
        dispatch!(self, write, |s| s.delete_irs(&irs))
    }

    /// See [`super::Store::create_service_profile`].
    pub fn create_service_profile(&self, irs: &str, sp: &str) -> StoreReply<Written> {
        let (irs, sp) = (irs.to_owned(), sp.to_owned());
        dispatch!(self, write, |s| s.create_service_profile(&irs, &sp))
    }

    /// See [`super::Store::delete_service_profile`].
    pub fn delete_service_profile(&self, irs: &str, sp: &str) -> StoreReply<Written> {
        let (irs, sp) = (irs.to_owned(), sp.to_owned());
        dispatch!(self, write, |s| s.delete_service_profile(&irs, &sp))
    }

    /// See [`super::Store::put_public`].
    pub fn put_public(
        &self,
        irs: &str,
        sp: &str,
        impu: &str,
        identity_xml: String,
    ) -> StoreReply<Written> {
        let (irs, sp, impu) = (irs.to_owned(), sp.to_owned(), impu.to_owned());
        dispatch!(self, write, |s| s.put_public(
            &irs,
            &sp,
            &impu,
            &identity_xml
        ))
    }

    /// See [`super::Store::delete_public`].
    pub fn delete_public(&self, irs: &str, sp: &str, impu: &str) -> StoreReply<Written> {
        let (irs, sp, impu) = (irs.to_owned(), sp.to_owned(), impu.to_owned());
        dispatch!(self, write, |s| s.delete_public(&irs, &sp, &impu))
    }

    /// See [`super::Store::put_filter_criteria`].
    pub fn put_filter_criteria(
        &self,
        irs: &str,
        sp: &str,
        filter_xml: String,
        filter_parts: Vec<String>,
    ) -> StoreReply<Written> {
        let (irs, sp) = (irs.to_owned(), sp.to_owned());
        dispatch!(self, write, |s| s.put_filter_criteria(
            &irs,
            &sp,
            &filter_xml,
            filter_parts
        ))
    }

    /// See [`super::Store::put_registration`].
    pub fn put_registration(&self, irs: &str, record: RegistrationRecord) -> StoreReply<Written> {
        let irs = irs.to_owned();
        dispatch!(self, write, |s| s.put_registration(&irs, record))
    }

    /// See [`super::Store::set_aka_sqn`].
    pub fn set_aka_sqn(&self, impi: &str, sqn: u64) -> StoreReply<Written> {
        let impi = impi.to_owned();
        dispatch!(self, write, |s| s.set_aka_sqn(&impi, sqn))
    }

    /// See [`super::Store::reserve_sqn`].
    pub fn reserve_sqn(&self, impi: &str, count: u64) -> StoreReply<Written<Option<SqnBlock>>> {
        let impi = impi.to_owned();
        dispatch!(self, write, |s| s.reserve_sqn(&impi, count))
    }

    /// See [`super::Store::put_hss_irs`].
    #[allow(dead_code)] // HSS mode's handlers (src/api) are being written
    pub fn put_hss_irs(&self, record: HssIrsRecord) -> StoreReply<Written> {
        dispatch!(self, write, |s| s.put_hss_irs(record))
    }

    /// See [`super::Store::delete_hss_irs`].
    #[allow(dead_code)] // HSS mode's handlers (src/api) are being written
    pub fn delete_hss_irs(&self, impu: &str) -> StoreReply<Written<Option<HssIrsRecord>>> {
        let impu = impu.to_owned();
        dispatch!(self, write, |s| s.delete_hss_irs(&impu))
    }
}
