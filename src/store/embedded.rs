//! The embedded store: one fjall database in the data directory, one keyspace per record type,
//! records serialised as JSON and keyed by their identity or id.
//!
//! Every write runs as a small transaction: it reads through a snapshot plus its own staged
//! changes, and commits everything it staged as one fjall write batch, so a cascade is applied
//! whole or not at all. A mutex makes the read-modify-write of writes serial (the handle already
//! sends all writes through one thread, so it is never contended there); reads take a snapshot
//! and never wait for writers. Batches go to the journal without fsync; [`Store::sync`] fsyncs.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable, Snapshot};
use hearth_core::model::{
    HssIrsRecord, IrsRecord, PrivateRecord, PublicRecord, RegistrationRecord, ServiceProfileRecord,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{
    Affected, AkaUpdate, AuthView, MAX_LIST_PAGE, MAX_SQN, Missing, Outcome, PrivateUpdate,
    PublicIdentityEntry, PublicView, ServiceProfileView, SqnBlock, Store, StoreError, StoreRead,
    Written, check_key, key_is_usable,
};

/// Version of the on-disk layout, kept in the `meta` keyspace.
const SCHEMA_VERSION: &str = "1";
const SCHEMA_KEY: &str = "schema_version";

/// The record tables (one fjall keyspace each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Table {
    Private,
    Irs,
    ServiceProfile,
    Public,
    Registration,
    HssIrs,
    HssImpu,
    HssImpi,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Private => "private",
            Table::Irs => "irs",
            Table::ServiceProfile => "service_profile",
            Table::Public => "public",
            Table::Registration => "registration",
            Table::HssIrs => "hss_irs",
            Table::HssImpu => "hss_impu",
            Table::HssImpi => "hss_impi",
        }
    }
}

/// A stored record type and its table.
trait Record: Serialize + DeserializeOwned {
    const TABLE: Table;
}

impl Record for PrivateRecord {
    const TABLE: Table = Table::Private;
}
impl Record for IrsRecord {
    const TABLE: Table = Table::Irs;
}
impl Record for ServiceProfileRecord {
    const TABLE: Table = Table::ServiceProfile;
}
impl Record for PublicRecord {
    const TABLE: Table = Table::Public;
}
impl Record for RegistrationRecord {
    const TABLE: Table = Table::Registration;
}
impl Record for HssIrsRecord {
    const TABLE: Table = Table::HssIrs;
}

/// HSS cache index: a public identity → the key of its cached IRS.
#[derive(Serialize, Deserialize)]
struct HssImpuIndex {
    irs: String,
}
impl Record for HssImpuIndex {
    const TABLE: Table = Table::HssImpu;
}

/// HSS cache index: a private identity → the keys of the cached IRSs it registered.
#[derive(Serialize, Deserialize, Default)]
struct HssImpiIndex {
    irs: Vec<String>,
}
impl Record for HssImpiIndex {
    const TABLE: Table = Table::HssImpi;
}

fn backend_error(context: &str, error: fjall::Error) -> StoreError {
    StoreError::Unavailable(format!("{context}: {error}"))
}

fn decode<R: Record>(key: &str, bytes: &[u8]) -> Result<R, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("{} record {key:?}: {e}", R::TABLE.name())))
}

fn encode<R: Record>(key: &str, record: &R) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record).map_err(|e| {
        StoreError::Corrupt(format!(
            "cannot encode {} record {key:?}: {e}",
            R::TABLE.name()
        ))
    })
}

/// Removes every occurrence of `item`; true if there was one.
fn remove_item(list: &mut Vec<String>, item: &str) -> bool {
    let before = list.len();
    list.retain(|x| x != item);
    list.len() != before
}

/// Appends `item` unless present; true if appended.
fn push_unique(list: &mut Vec<String>, item: &str) -> bool {
    if list.iter().any(|x| x == item) {
        false
    } else {
        list.push(item.to_owned());
        true
    }
}

/// The subscriber store on an embedded fjall database.
pub struct EmbeddedStore {
    db: Database,
    private: Keyspace,
    irs: Keyspace,
    service_profile: Keyspace,
    public: Keyspace,
    registration: Keyspace,
    hss_irs: Keyspace,
    hss_impu: Keyspace,
    hss_impi: Keyspace,
    /// Serialises writes: each is a read-modify-write over several records.
    write_lock: Mutex<()>,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<EmbeddedStore, StoreError> {
        let context = format!("opening store in {}", data_dir.display());
        let db = Database::builder(data_dir)
            .open()
            .map_err(|e| backend_error(&context, e))?;
        let keyspace = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(|e| backend_error(&context, e))
        };
        let meta = keyspace("meta")?;
        let store = EmbeddedStore {
            private: keyspace(Table::Private.name())?,
            irs: keyspace(Table::Irs.name())?,
            service_profile: keyspace(Table::ServiceProfile.name())?,
            public: keyspace(Table::Public.name())?,
            registration: keyspace(Table::Registration.name())?,
            hss_irs: keyspace(Table::HssIrs.name())?,
            hss_impu: keyspace(Table::HssImpu.name())?,
            hss_impi: keyspace(Table::HssImpi.name())?,
            write_lock: Mutex::new(()),
            db,
        };
        match meta
            .get(SCHEMA_KEY)
            .map_err(|e| backend_error(&context, e))?
        {
            Some(version) if version.as_ref() == SCHEMA_VERSION.as_bytes() => {}
            Some(version) => {
                return Err(StoreError::Corrupt(format!(
                    "{}: schema version {:?}, this build reads {SCHEMA_VERSION}",
                    data_dir.display(),
                    String::from_utf8_lossy(&version)
                )));
            }
            None => {
                meta.insert(SCHEMA_KEY, SCHEMA_VERSION)
                    .map_err(|e| backend_error(&context, e))?;
                store
                    .db
                    .persist(PersistMode::SyncAll)
                    .map_err(|e| backend_error(&context, e))?;
            }
        }
        Ok(store)
    }

    fn keyspace(&self, table: Table) -> &Keyspace {
        match table {
            Table::Private => &self.private,
            Table::Irs => &self.irs,
            Table::ServiceProfile => &self.service_profile,
            Table::Public => &self.public,
            Table::Registration => &self.registration,
            Table::HssIrs => &self.hss_irs,
            Table::HssImpu => &self.hss_impu,
            Table::HssImpi => &self.hss_impi,
        }
    }

    fn view(&self) -> View<'_> {
        View {
            store: self,
            snapshot: self.db.snapshot(),
        }
    }

    /// Starts a write: takes the write lock, then a snapshot that sees every earlier write.
    fn begin(&self) -> Tx<'_> {
        // The lock guards no data, so a panic while it was held left nothing half-done in
        // memory (a write batch either committed or did not): recover from poisoning.
        let guard = self
            .write_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Tx {
            _guard: guard,
            view: self.view(),
            staged: BTreeMap::new(),
            impis: BTreeSet::new(),
            impus: BTreeSet::new(),
        }
    }
}

/// A consistent read-only view of the store.
struct View<'a> {
    store: &'a EmbeddedStore,
    snapshot: Snapshot,
}

impl View<'_> {
    fn get<R: Record>(&self, key: &str) -> Result<Option<R>, StoreError> {
        if !key_is_usable(key) {
            return Ok(None);
        }
        let bytes = self
            .snapshot
            .get(self.store.keyspace(R::TABLE), key)
            .map_err(|e| backend_error(&format!("reading {} {key:?}", R::TABLE.name()), e))?;
        bytes.map(|b| decode(key, &b)).transpose()
    }

    fn auth_view(&self, impi: &str) -> Result<Option<AuthView>, StoreError> {
        let Some(private) = self.get::<PrivateRecord>(impi)? else {
            return Ok(None);
        };
        let mut impus = Vec::new();
        for irs_id in &private.irs {
            // A dangling reference names nothing: skip it.
            let Some(irs) = self.get::<IrsRecord>(irs_id)? else {
                continue;
            };
            for sp_id in &irs.service_profiles {
                if let Some(sp) = self.get::<ServiceProfileRecord>(sp_id)? {
                    for impu in &sp.public_ids {
                        push_unique(&mut impus, impu);
                    }
                }
            }
        }
        Ok(Some(AuthView {
            digest_ha1: private.digest_ha1,
            realm: private.realm,
            aka: private.aka,
            impus,
        }))
    }

    fn public_view(&self, impu: &str) -> Result<Option<PublicView>, StoreError> {
        let Some(record) = self.get::<PublicRecord>(impu)? else {
            return Ok(None);
        };
        let Some(irs) = self.get::<IrsRecord>(&record.irs)? else {
            return Err(StoreError::Corrupt(format!(
                "public identity {impu:?} belongs to IRS {:?}, which does not exist",
                record.irs
            )));
        };
        let mut service_profiles = Vec::with_capacity(irs.service_profiles.len());
        for sp_id in &irs.service_profiles {
            let Some(sp) = self.get::<ServiceProfileRecord>(sp_id)? else {
                continue;
            };
            let mut public_identities = Vec::with_capacity(sp.public_ids.len());
            for member in &sp.public_ids {
                if let Some(public) = self.get::<PublicRecord>(member)? {
                    public_identities.push(PublicIdentityEntry {
                        impu: member.clone(),
                        identity_xml: public.identity_xml,
                    });
                }
            }
            service_profiles.push(ServiceProfileView {
                id: sp_id.clone(),
                record: sp,
                public_identities,
            });
        }
        let registration = self.get::<RegistrationRecord>(&record.irs)?;
        Ok(Some(PublicView {
            impu: impu.to_owned(),
            record,
            irs,
            service_profiles,
            registration,
        }))
    }

    fn hss_irs(&self, impu: &str, now: u64) -> Result<Option<HssIrsRecord>, StoreError> {
        let Some(index) = self.get::<HssImpuIndex>(impu)? else {
            return Ok(None);
        };
        Ok(self
            .get::<HssIrsRecord>(&index.irs)?
            .filter(|record| record.expires_at > now))
    }

    fn hss_irs_of_impi(&self, impi: &str, now: u64) -> Result<Vec<HssIrsRecord>, StoreError> {
        let Some(index) = self.get::<HssImpiIndex>(impi)? else {
            return Ok(Vec::new());
        };
        let mut records = Vec::with_capacity(index.irs.len());
        for key in &index.irs {
            if let Some(record) = self.get::<HssIrsRecord>(key)?
                && record.expires_at > now
            {
                records.push(record);
            }
        }
        Ok(records)
    }

    fn list_public(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, PublicRecord)>, StoreError> {
        let limit = limit.min(MAX_LIST_PAGE);
        let lower = match after {
            Some(after) if !after.is_empty() => Bound::Excluded(after.as_bytes()),
            _ => Bound::Unbounded,
        };
        let range: (Bound<&[u8]>, Bound<&[u8]>) = (lower, Bound::Unbounded);
        let mut page = Vec::with_capacity(limit.min(1024));
        for guard in self
            .snapshot
            .range::<&[u8], _>(&self.store.public, range)
            .take(limit)
        {
            let (key, value) = guard
                .into_inner()
                .map_err(|e| backend_error("listing public identities", e))?;
            let impu = String::from_utf8(key.to_vec()).map_err(|_| {
                StoreError::Corrupt("a public identity key is not UTF-8".to_owned())
            })?;
            let record = decode::<PublicRecord>(&impu, &value)?;
            page.push((impu, record));
        }
        Ok(page)
    }
}

/// One write in progress: reads see the snapshot overlaid with the staged changes; commit
/// writes all staged changes in one atomic batch.
struct Tx<'a> {
    _guard: MutexGuard<'a, ()>,
    view: View<'a>,
    /// Staged record bytes (`None`: delete), in a stable order for the batch.
    staged: BTreeMap<(Table, String), Option<Vec<u8>>>,
    impis: BTreeSet<String>,
    impus: BTreeSet<String>,
}

impl Tx<'_> {
    fn get<R: Record>(&self, key: &str) -> Result<Option<R>, StoreError> {
        match self.staged.get(&(R::TABLE, key.to_owned())) {
            Some(Some(bytes)) => decode(key, bytes).map(Some),
            Some(None) => Ok(None),
            None => self.view.get(key),
        }
    }

    fn put<R: Record>(&mut self, key: &str, record: &R) -> Result<(), StoreError> {
        let bytes = encode(key, record)?;
        self.staged.insert((R::TABLE, key.to_owned()), Some(bytes));
        Ok(())
    }

    fn delete<R: Record>(&mut self, key: &str) {
        self.staged.insert((R::TABLE, key.to_owned()), None);
    }

    /// Marks the IRS's public identities (and, with `with_privates`, its private identities)
    /// as affected, as the IRS stands now in this transaction.
    fn touch_irs(&mut self, irs_id: &str, with_privates: bool) -> Result<(), StoreError> {
        let Some(irs) = self.get::<IrsRecord>(irs_id)? else {
            return Ok(());
        };
        for sp_id in &irs.service_profiles {
            if let Some(sp) = self.get::<ServiceProfileRecord>(sp_id)? {
                self.impus.extend(sp.public_ids);
            }
        }
        if with_privates {
            self.impis.extend(irs.private_ids);
        }
        Ok(())
    }

    /// HSS cache: removes the IRS record stored under `key` and every index entry pointing at it.
    fn drop_hss_irs(&mut self, key: &str) -> Result<Option<HssIrsRecord>, StoreError> {
        let Some(old) = self.get::<HssIrsRecord>(key)? else {
            return Ok(None);
        };
        for impu in &old.impus {
            if self
                .get::<HssImpuIndex>(impu)?
                .is_some_and(|index| index.irs == key)
            {
                self.delete::<HssImpuIndex>(impu);
            }
        }
        for impi in &old.private_ids {
            if let Some(mut index) = self.get::<HssImpiIndex>(impi)? {
                if remove_item(&mut index.irs, key) && index.irs.is_empty() {
                    self.delete::<HssImpiIndex>(impi);
                } else {
                    self.put(impi, &index)?;
                }
            }
        }
        self.delete::<HssIrsRecord>(key);
        Ok(Some(old))
    }

    /// Writes the staged changes as one batch and reports the outcome.
    fn commit<T>(self, outcome: T) -> Result<Written<T>, StoreError> {
        if !self.staged.is_empty() {
            let store = self.view.store;
            let mut batch = store.db.batch();
            for ((table, key), value) in self.staged {
                let keyspace = store.keyspace(table);
                match value {
                    Some(bytes) => batch.insert(keyspace, key, bytes),
                    None => batch.remove(keyspace, key),
                }
            }
            batch
                .commit()
                .map_err(|e| backend_error("committing a write", e))?;
        }
        Ok(Written {
            outcome,
            affected: Affected {
                impis: self.impis.into_iter().collect(),
                impus: self.impus.into_iter().collect(),
            },
        })
    }
}

/// Nothing written, nothing affected.
fn unchanged<T>(outcome: T) -> Result<Written<T>, StoreError> {
    Ok(Written {
        outcome,
        affected: Affected::default(),
    })
}

impl StoreRead for EmbeddedStore {
    fn get_private(&self, impi: &str) -> Result<Option<PrivateRecord>, StoreError> {
        self.view().get(impi)
    }

    fn get_irs(&self, irs: &str) -> Result<Option<IrsRecord>, StoreError> {
        self.view().get(irs)
    }

    fn get_service_profile(&self, sp: &str) -> Result<Option<ServiceProfileRecord>, StoreError> {
        self.view().get(sp)
    }

    fn get_public(&self, impu: &str) -> Result<Option<PublicRecord>, StoreError> {
        self.view().get(impu)
    }

    #[cfg(test)]
    fn get_registration(&self, irs: &str) -> Result<Option<RegistrationRecord>, StoreError> {
        self.view().get(irs)
    }

    fn list_public(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, PublicRecord)>, StoreError> {
        self.view().list_public(after, limit)
    }

    fn auth_view(&self, impi: &str) -> Result<Option<AuthView>, StoreError> {
        self.view().auth_view(impi)
    }

    fn public_view(&self, impu: &str) -> Result<Option<PublicView>, StoreError> {
        self.view().public_view(impu)
    }

    fn get_hss_irs(&self, impu: &str, now: u64) -> Result<Option<HssIrsRecord>, StoreError> {
        self.view().hss_irs(impu, now)
    }

    fn hss_irs_of_impi(&self, impi: &str, now: u64) -> Result<Vec<HssIrsRecord>, StoreError> {
        self.view().hss_irs_of_impi(impi, now)
    }
}

impl Store for EmbeddedStore {
    fn put_private(&self, impi: &str, update: PrivateUpdate) -> Result<Written, StoreError> {
        check_key("private identity", impi)?;
        let mut tx = self.begin();
        let existing = tx.get::<PrivateRecord>(impi)?;
        let outcome = if existing.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        let (irs, old_aka) = existing.map(|r| (r.irs, r.aka)).unwrap_or_default();
        let aka = match update.aka {
            AkaUpdate::Keep => old_aka,
            AkaUpdate::Remove => None,
            AkaUpdate::Set(mut aka) => {
                if aka.sqn > MAX_SQN {
                    return Err(StoreError::Invalid(format!(
                        "SQN {} does not fit in 48 bits",
                        aka.sqn
                    )));
                }
                // Same key: never let the SQN go back, or vectors would repeat.
                if let Some(old) = old_aka.filter(|old| old.k.eq_ignore_ascii_case(&aka.k)) {
                    aka.sqn = aka.sqn.max(old.sqn);
                }
                Some(aka)
            }
        };
        let record = PrivateRecord {
            digest_ha1: update.digest_ha1,
            realm: update.realm,
            plaintext_password: update.plaintext_password,
            aka,
            irs,
        };
        tx.put(impi, &record)?;
        tx.impis.insert(impi.to_owned());
        tx.commit(outcome)
    }

    fn delete_private(&self, impi: &str) -> Result<Written, StoreError> {
        check_key("private identity", impi)?;
        let mut tx = self.begin();
        let Some(private) = tx.get::<PrivateRecord>(impi)? else {
            return unchanged(Outcome::NotFound(Missing::Private));
        };
        for irs_id in &private.irs {
            tx.touch_irs(irs_id, false)?;
            if let Some(mut irs) = tx.get::<IrsRecord>(irs_id)?
                && remove_item(&mut irs.private_ids, impi)
            {
                tx.put(irs_id, &irs)?;
            }
        }
        tx.delete::<PrivateRecord>(impi);
        tx.impis.insert(impi.to_owned());
        tx.commit(Outcome::Removed)
    }

    fn associate(&self, impi: &str, irs: &str) -> Result<Written, StoreError> {
        check_key("private identity", impi)?;
        check_key("IRS id", irs)?;
        let mut tx = self.begin();
        let private = tx.get::<PrivateRecord>(impi)?;
        let irs_record = tx.get::<IrsRecord>(irs)?;
        let (mut private, mut irs_record) = match (private, irs_record) {
            (Some(p), Some(i)) => (p, i),
            (None, None) => return unchanged(Outcome::NotFound(Missing::PrivateAndIrs)),
            (None, Some(_)) => return unchanged(Outcome::NotFound(Missing::Private)),
            (Some(_), None) => return unchanged(Outcome::NotFound(Missing::Irs)),
        };
        let mut changed = false;
        if push_unique(&mut private.irs, irs) {
            tx.put(impi, &private)?;
            changed = true;
        }
        if push_unique(&mut irs_record.private_ids, impi) {
            tx.put(irs, &irs_record)?;
            changed = true;
        }
        if !changed {
            return unchanged(Outcome::Unchanged);
        }
        tx.touch_irs(irs, false)?;
        tx.impis.insert(impi.to_owned());
        tx.commit(Outcome::Updated)
    }

    fn dissociate(&self, impi: &str, irs: &str) -> Result<Written, StoreError> {
        check_key("private identity", impi)?;
        check_key("IRS id", irs)?;
        let mut tx = self.begin();
        let private = tx.get::<PrivateRecord>(impi)?;
        let irs_record = tx.get::<IrsRecord>(irs)?;
        let outcome = match (&private, &irs_record) {
            (None, None) => Outcome::NotFound(Missing::PrivateAndIrs),
            (None, Some(_)) => Outcome::NotFound(Missing::Private),
            (Some(_), None) => Outcome::NotFound(Missing::Irs),
            (Some(_), Some(_)) => Outcome::Removed,
        };
        let mut changed = false;
        if let Some(mut private) = private
            && remove_item(&mut private.irs, irs)
        {
            tx.put(impi, &private)?;
            changed = true;
        }
        if let Some(mut irs_record) = irs_record
            && remove_item(&mut irs_record.private_ids, impi)
        {
            tx.put(irs, &irs_record)?;
            changed = true;
        }
        if !changed {
            let outcome = match outcome {
                Outcome::Removed => Outcome::Unchanged,
                other => other,
            };
            return unchanged(outcome);
        }
        tx.touch_irs(irs, false)?;
        tx.impis.insert(impi.to_owned());
        tx.commit(outcome)
    }

    fn create_irs(&self, irs: &str) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        let mut tx = self.begin();
        if tx.get::<IrsRecord>(irs)?.is_some() {
            return unchanged(Outcome::Unchanged);
        }
        tx.put(irs, &IrsRecord::default())?;
        tx.commit(Outcome::Created)
    }

    fn delete_irs(&self, irs: &str) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        let mut tx = self.begin();
        let Some(irs_record) = tx.get::<IrsRecord>(irs)? else {
            return unchanged(Outcome::NotFound(Missing::Irs));
        };
        tx.touch_irs(irs, true)?;
        for sp_id in &irs_record.service_profiles {
            let Some(sp) = tx.get::<ServiceProfileRecord>(sp_id)? else {
                continue;
            };
            if sp.irs != irs {
                continue;
            }
            for impu in &sp.public_ids {
                if tx
                    .get::<PublicRecord>(impu)?
                    .is_some_and(|p| p.service_profile == *sp_id)
                {
                    tx.delete::<PublicRecord>(impu);
                }
            }
            tx.delete::<ServiceProfileRecord>(sp_id);
        }
        for impi in &irs_record.private_ids {
            if let Some(mut private) = tx.get::<PrivateRecord>(impi)?
                && remove_item(&mut private.irs, irs)
            {
                tx.put(impi, &private)?;
            }
        }
        tx.delete::<RegistrationRecord>(irs);
        tx.delete::<IrsRecord>(irs);
        tx.commit(Outcome::Removed)
    }

    fn create_service_profile(&self, irs: &str, sp: &str) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        check_key("service profile id", sp)?;
        let mut tx = self.begin();
        let Some(mut irs_record) = tx.get::<IrsRecord>(irs)? else {
            return unchanged(Outcome::NotFound(Missing::Irs));
        };
        if let Some(existing) = tx.get::<ServiceProfileRecord>(sp)? {
            if existing.irs != irs {
                return unchanged(Outcome::Conflict);
            }
            // Exists here already; repair the IRS's list if it lost the profile.
            if !push_unique(&mut irs_record.service_profiles, sp) {
                return unchanged(Outcome::Unchanged);
            }
            tx.put(irs, &irs_record)?;
            tx.touch_irs(irs, false)?;
            return tx.commit(Outcome::Unchanged);
        }
        tx.touch_irs(irs, false)?;
        let record = ServiceProfileRecord {
            irs: irs.to_owned(),
            ..ServiceProfileRecord::default()
        };
        tx.put(sp, &record)?;
        push_unique(&mut irs_record.service_profiles, sp);
        tx.put(irs, &irs_record)?;
        tx.commit(Outcome::Created)
    }

    fn delete_service_profile(&self, irs: &str, sp: &str) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        check_key("service profile id", sp)?;
        let mut tx = self.begin();
        let Some(sp_record) = tx
            .get::<ServiceProfileRecord>(sp)?
            .filter(|record| record.irs == irs)
        else {
            return unchanged(Outcome::NotFound(Missing::ServiceProfile));
        };
        tx.touch_irs(irs, true)?;
        for impu in &sp_record.public_ids {
            if tx
                .get::<PublicRecord>(impu)?
                .is_some_and(|p| p.service_profile == sp)
            {
                tx.delete::<PublicRecord>(impu);
            }
        }
        if let Some(mut irs_record) = tx.get::<IrsRecord>(irs)?
            && remove_item(&mut irs_record.service_profiles, sp)
        {
            tx.put(irs, &irs_record)?;
        }
        tx.delete::<ServiceProfileRecord>(sp);
        tx.commit(Outcome::Removed)
    }

    fn put_public(
        &self,
        irs: &str,
        sp: &str,
        impu: &str,
        identity_xml: &str,
    ) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        check_key("service profile id", sp)?;
        check_key("public identity", impu)?;
        let mut tx = self.begin();
        if tx.get::<IrsRecord>(irs)?.is_none() {
            return unchanged(Outcome::NotFound(Missing::Irs));
        }
        if tx
            .get::<ServiceProfileRecord>(sp)?
            .is_none_or(|record| record.irs != irs)
        {
            return unchanged(Outcome::NotFound(Missing::ServiceProfile));
        }
        tx.touch_irs(irs, true)?;
        tx.impus.insert(impu.to_owned());
        let outcome = match tx.get::<PublicRecord>(impu)? {
            None => Outcome::Created,
            Some(old) => {
                if old.service_profile != sp {
                    // A move: leave the old profile (and tell the old IRS's caches).
                    tx.touch_irs(&old.irs, true)?;
                    if let Some(mut old_sp) =
                        tx.get::<ServiceProfileRecord>(&old.service_profile)?
                        && remove_item(&mut old_sp.public_ids, impu)
                    {
                        tx.put(&old.service_profile, &old_sp)?;
                    }
                }
                Outcome::Updated
            }
        };
        // Read again: the move above may have staged a change (never to this profile, but
        // reading through the transaction keeps that true by construction).
        if let Some(mut sp_record) = tx.get::<ServiceProfileRecord>(sp)?
            && push_unique(&mut sp_record.public_ids, impu)
        {
            tx.put(sp, &sp_record)?;
        }
        let record = PublicRecord {
            identity_xml: identity_xml.to_owned(),
            service_profile: sp.to_owned(),
            irs: irs.to_owned(),
        };
        tx.put(impu, &record)?;
        tx.commit(outcome)
    }

    fn delete_public(&self, irs: &str, sp: &str, impu: &str) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        check_key("service profile id", sp)?;
        check_key("public identity", impu)?;
        let mut tx = self.begin();
        if !tx
            .get::<PublicRecord>(impu)?
            .is_some_and(|p| p.service_profile == sp && p.irs == irs)
        {
            return unchanged(Outcome::NotFound(Missing::Public));
        }
        tx.touch_irs(irs, true)?;
        tx.impus.insert(impu.to_owned());
        if let Some(mut sp_record) = tx.get::<ServiceProfileRecord>(sp)?
            && remove_item(&mut sp_record.public_ids, impu)
        {
            tx.put(sp, &sp_record)?;
        }
        tx.delete::<PublicRecord>(impu);
        tx.commit(Outcome::Removed)
    }

    fn put_filter_criteria(
        &self,
        irs: &str,
        sp: &str,
        filter_xml: &str,
        filter_parts: Vec<String>,
    ) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        check_key("service profile id", sp)?;
        let mut tx = self.begin();
        let Some(mut sp_record) = tx
            .get::<ServiceProfileRecord>(sp)?
            .filter(|record| record.irs == irs)
        else {
            return unchanged(Outcome::NotFound(Missing::ServiceProfile));
        };
        sp_record.filter_xml = Some(filter_xml.to_owned());
        sp_record.filter_parts = filter_parts;
        tx.put(sp, &sp_record)?;
        tx.touch_irs(irs, false)?;
        tx.commit(Outcome::Updated)
    }

    fn put_registration(
        &self,
        irs: &str,
        record: RegistrationRecord,
    ) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        let mut tx = self.begin();
        if tx.get::<IrsRecord>(irs)?.is_none() {
            return unchanged(Outcome::NotFound(Missing::Irs));
        }
        let outcome = if tx.get::<RegistrationRecord>(irs)?.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        tx.put(irs, &record)?;
        tx.touch_irs(irs, false)?;
        tx.commit(outcome)
    }

    fn put_hss_irs(&self, record: HssIrsRecord) -> Result<Written, StoreError> {
        let Some(key) = record.default_impu().map(str::to_owned) else {
            return Err(StoreError::Invalid(
                "an IRS without public identities cannot be cached".into(),
            ));
        };
        for identity in record.impus.iter().chain(&record.private_ids) {
            check_key("identity", identity)?;
        }
        let mut tx = self.begin();
        // Whatever any of these identities pointed at before is replaced: an identity belongs
        // to one IRS.
        let mut earlier = BTreeSet::new();
        for impu in &record.impus {
            if let Some(index) = tx.get::<HssImpuIndex>(impu)? {
                earlier.insert(index.irs);
            }
        }
        let outcome = if earlier.contains(&key) {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        for old in earlier {
            tx.drop_hss_irs(&old)?;
        }
        for impu in &record.impus {
            tx.put(impu, &HssImpuIndex { irs: key.clone() })?;
        }
        for impi in &record.private_ids {
            let mut index = tx.get::<HssImpiIndex>(impi)?.unwrap_or_default();
            push_unique(&mut index.irs, &key);
            tx.put(impi, &index)?;
        }
        tx.put(&key, &record)?;
        tx.commit(outcome)
    }

    fn delete_hss_irs(&self, impu: &str) -> Result<Written<Option<HssIrsRecord>>, StoreError> {
        if !key_is_usable(impu) {
            return unchanged(None);
        }
        let mut tx = self.begin();
        let Some(index) = tx.get::<HssImpuIndex>(impu)? else {
            return unchanged(None);
        };
        let old = tx.drop_hss_irs(&index.irs)?;
        if old.is_none() {
            // A dangling index entry.
            tx.delete::<HssImpuIndex>(impu);
        }
        tx.commit(old)
    }

    fn set_aka_sqn(&self, impi: &str, sqn: u64) -> Result<Written, StoreError> {
        check_key("private identity", impi)?;
        if sqn > MAX_SQN {
            return Err(StoreError::Invalid(format!(
                "SQN {sqn} does not fit in 48 bits"
            )));
        }
        let mut tx = self.begin();
        let Some(mut private) = tx.get::<PrivateRecord>(impi)? else {
            return unchanged(Outcome::NotFound(Missing::Private));
        };
        let Some(aka) = private.aka.as_mut() else {
            return unchanged(Outcome::NotFound(Missing::AkaCredentials));
        };
        aka.sqn = sqn;
        tx.put(impi, &private)?;
        tx.impis.insert(impi.to_owned());
        tx.commit(Outcome::Updated)
    }

    fn reserve_sqn(&self, impi: &str, count: u64) -> Result<Written<Option<SqnBlock>>, StoreError> {
        check_key("private identity", impi)?;
        let count = count.max(1);
        let mut tx = self.begin();
        let Some(mut private) = tx.get::<PrivateRecord>(impi)? else {
            return unchanged(None);
        };
        let Some(aka) = private.aka.as_mut() else {
            return unchanged(None);
        };
        let first_sqn = aka.sqn.saturating_add(1);
        let last_sqn = match aka.sqn.checked_add(count) {
            Some(last) if last <= MAX_SQN => last,
            _ => {
                return Err(StoreError::Invalid(format!(
                    "reserving {count} SQNs after {} passes the 48-bit SQN space",
                    aka.sqn
                )));
            }
        };
        aka.sqn = last_sqn;
        let block = SqnBlock {
            aka: aka.clone(),
            first_sqn,
        };
        tx.put(impi, &private)?;
        tx.impis.insert(impi.to_owned());
        tx.commit(Some(block))
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.db
            .persist(PersistMode::SyncAll)
            .map_err(|e| backend_error("syncing the journal", e))
    }
}
