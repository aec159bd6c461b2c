//! The Cassandra store: Homestead-prov's model in Clearwater's tables, on the scylla driver.
//!
//! Every operation of the embedded store exists here as an `async fn` with the same name,
//! arguments and answers (outcomes and affected identities), so a shard cannot tell the
//! backends apart except by latency. They run on a tokio runtime of their own ([`client`]);
//! shards reach them through the [`super::StoreHandle`].
//!
//! Writes read what they need, then apply every row they change as one logged batch (all or
//! nothing, though not isolated: a concurrent reader may see part of it). SQNs are reserved
//! with lightweight transactions, so nodes sharing the cluster never hand out the same SQN.
//! docs/cassandra.md describes the tables, the consistency and what is weaker than the
//! embedded store.

mod client;
pub mod schema;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::try_join_all;
use hearth_core::model::{
    AkaCredentials, HssIrsRecord, IrsRecord, PrivateRecord, PublicRecord, RegState,
    RegistrationRecord, ServiceProfileRecord,
};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::deserialize::row::DeserializeRow;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::response::PagingState;
use scylla::response::query_result::QueryResult;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::{Consistency, SerialConsistency};
use scylla::value::{CqlValue, Row};
use uuid::Uuid;

pub use client::CassandraClient;
use schema::{Keyspaces, SCHEMA_VERSION};

use super::{
    Affected, AkaUpdate, AuthView, MAX_LIST_PAGE, MAX_SQN, Missing, Outcome, PrivateUpdate,
    PublicIdentityEntry, PublicView, ServiceProfileView, SqnBlock, StoreError, Written, check_key,
    key_is_usable,
};
use crate::config::CassandraConfig;

/// How often a lightweight transaction is retried when another node changed the row first.
const CAS_ATTEMPTS: usize = 16;

/// Rows fetched per page when listing public identities.
const LIST_FETCH_PAGE: i32 = 1_000;

fn consistency(name: &str) -> Result<Consistency, StoreError> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "ONE" => Consistency::One,
        "TWO" => Consistency::Two,
        "THREE" => Consistency::Three,
        "QUORUM" => Consistency::Quorum,
        "ALL" => Consistency::All,
        "LOCAL_QUORUM" => Consistency::LocalQuorum,
        "EACH_QUORUM" => Consistency::EachQuorum,
        "LOCAL_ONE" => Consistency::LocalOne,
        other => {
            return Err(StoreError::Invalid(format!(
                "unknown consistency level {other:?}"
            )));
        }
    })
}

/// A driver error as a store error: timeouts (the driver's request timeout, a coordinator's
/// read or write timeout, a contended lightweight transaction) are `Timeout` (504); everything
/// else, unreachable nodes included, is `Unavailable` (502).
fn execution_error(context: &str, error: &ExecutionError) -> StoreError {
    let timed_out = match error {
        ExecutionError::RequestTimeout(_) => true,
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, _)) => matches!(
            db,
            DbError::ReadTimeout { .. } | DbError::WriteTimeout { .. }
        ),
        _ => false,
    };
    if timed_out {
        tracing::warn!("cassandra {context}: {error}");
        StoreError::Timeout
    } else {
        StoreError::Unavailable(format!("cassandra {context}: {error}"))
    }
}

fn corrupt(context: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("cassandra {context}: {error}"))
}

/// The elements of a Clearwater dynamic-column map, in the order they were added.
fn in_order<K: ToString>(map: Option<BTreeMap<K, i64>>) -> Vec<String> {
    let mut entries: Vec<(i64, String)> = map
        .unwrap_or_default()
        .into_iter()
        .map(|(k, added)| (added, k.to_string()))
        .collect();
    entries.sort();
    entries.into_iter().map(|(_, k)| k).collect()
}

fn parse_uuid(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

fn reg_state_name(state: RegState) -> &'static str {
    state.as_str()
}

fn reg_state(name: &str) -> Result<RegState, StoreError> {
    match name {
        "REGISTERED" => Ok(RegState::Registered),
        "UNREGISTERED" => Ok(RegState::Unregistered),
        "NOT_REGISTERED" => Ok(RegState::NotRegistered),
        other => Err(corrupt("registration", format!("unknown state {other:?}"))),
    }
}

/// A row of values for a batched statement.
type Values = Box<dyn SerializeRow + Send + Sync>;

/// The statements of one write, applied together by [`CassandraStore::commit`].
#[derive(Default)]
struct Changes {
    statements: Vec<(PreparedStatement, Values)>,
    impis: BTreeSet<String>,
    impus: BTreeSet<String>,
}

impl Changes {
    fn add(
        &mut self,
        statement: &PreparedStatement,
        values: impl SerializeRow + Send + Sync + 'static,
    ) {
        self.statements
            .push((statement.clone(), Box::new(values) as Values));
    }

    fn affected(self) -> Affected {
        Affected {
            impis: self.impis.into_iter().collect(),
            impus: self.impus.into_iter().collect(),
        }
    }
}

/// Nothing written, nothing affected.
fn unchanged<T>(outcome: T) -> Result<Written<T>, StoreError> {
    Ok(Written {
        outcome,
        affected: Affected::default(),
    })
}

/// A private identity's row in `private`.
struct PrivateRow {
    digest_ha1: String,
    realm: String,
    plaintext_password: Option<String>,
    irs: Vec<String>,
}

/// The prepared statements, one per query shape.
struct Queries {
    // private
    private_get: PreparedStatement,
    private_put: PreparedStatement,
    private_delete: PreparedStatement,
    private_add_irs: PreparedStatement,
    private_remove_irs: PreparedStatement,
    // aka_credentials (lightweight transactions only, but for reads)
    aka_get: PreparedStatement,
    aka_insert: PreparedStatement,
    aka_replace: PreparedStatement,
    aka_set_sqn: PreparedStatement,
    aka_cas_sqn: PreparedStatement,
    aka_delete: PreparedStatement,
    // implicit_registration_sets
    irs_get: PreparedStatement,
    irs_create: PreparedStatement,
    irs_delete: PreparedStatement,
    irs_add_private: PreparedStatement,
    irs_remove_private: PreparedStatement,
    irs_add_sp: PreparedStatement,
    irs_remove_sp: PreparedStatement,
    // service_profiles
    sp_get: PreparedStatement,
    sp_members: PreparedStatement,
    sp_create: PreparedStatement,
    sp_delete: PreparedStatement,
    sp_set_ifc: PreparedStatement,
    sp_add_public: PreparedStatement,
    sp_remove_public: PreparedStatement,
    // public
    public_get: PreparedStatement,
    public_put: PreparedStatement,
    public_delete: PreparedStatement,
    public_list_first: PreparedStatement,
    public_list_from: PreparedStatement,
    // registration
    reg_get: PreparedStatement,
    reg_put: PreparedStatement,
    reg_delete: PreparedStatement,
    // HSS-mode cache
    hss_irs_get: PreparedStatement,
    hss_irs_put: PreparedStatement,
    hss_irs_delete: PreparedStatement,
    hss_impu_get: PreparedStatement,
    hss_impu_put: PreparedStatement,
    hss_impu_delete: PreparedStatement,
    cache_impu_put: PreparedStatement,
    cache_impu_delete: PreparedStatement,
    cache_mapping_get: PreparedStatement,
    cache_mapping_add: PreparedStatement,
    cache_mapping_remove: PreparedStatement,
}

impl Queries {
    async fn prepare(session: &Session, ks: &Keyspaces) -> Result<Queries, StoreError> {
        let p = &ks.provisioning;
        let h = &ks.hearth;
        let c = &ks.cache;
        let prepare = |cql: String| async move {
            let mut statement = session
                .prepare(cql.as_str())
                .await
                .map_err(|e| StoreError::Unavailable(format!("cassandra: preparing {cql}: {e}")))?;
            // Reads and plain writes may be retried on another node; the outcome is the same.
            statement.set_is_idempotent(!cql.contains(" IF "));
            Ok::<_, StoreError>(statement)
        };
        Ok(Queries {
            private_get: prepare(format!(
                "SELECT digest_ha1, realm, plaintext_password, associated_irs FROM {p}.private \
                 WHERE private_id = ?"
            ))
            .await?,
            private_put: prepare(format!(
                "INSERT INTO {p}.private (private_id, digest_ha1, realm, plaintext_password) \
                 VALUES (?, ?, ?, ?)"
            ))
            .await?,
            private_delete: prepare(format!("DELETE FROM {p}.private WHERE private_id = ?"))
                .await?,
            private_add_irs: prepare(format!(
                "UPDATE {p}.private SET associated_irs[?] = ? WHERE private_id = ?"
            ))
            .await?,
            private_remove_irs: prepare(format!(
                "DELETE associated_irs[?] FROM {p}.private WHERE private_id = ?"
            ))
            .await?,
            aka_get: prepare(format!(
                "SELECT k, opc, amf, sqn FROM {h}.aka_credentials WHERE private_id = ?"
            ))
            .await?,
            aka_insert: prepare(format!(
                "INSERT INTO {h}.aka_credentials (private_id, k, opc, amf, sqn) \
                 VALUES (?, ?, ?, ?, ?) IF NOT EXISTS"
            ))
            .await?,
            aka_replace: prepare(format!(
                "UPDATE {h}.aka_credentials SET k = ?, opc = ?, amf = ?, sqn = ? \
                 WHERE private_id = ? IF sqn = ?"
            ))
            .await?,
            aka_set_sqn: prepare(format!(
                "UPDATE {h}.aka_credentials SET sqn = ? WHERE private_id = ? IF EXISTS"
            ))
            .await?,
            aka_cas_sqn: prepare(format!(
                "UPDATE {h}.aka_credentials SET sqn = ? WHERE private_id = ? IF sqn = ?"
            ))
            .await?,
            aka_delete: prepare(format!(
                "DELETE FROM {h}.aka_credentials WHERE private_id = ? IF EXISTS"
            ))
            .await?,
            irs_get: prepare(format!(
                "SELECT dummy, associated_private, service_profile \
                 FROM {p}.implicit_registration_sets WHERE id = ?"
            ))
            .await?,
            irs_create: prepare(format!(
                "INSERT INTO {p}.implicit_registration_sets (id, dummy) VALUES (?, '')"
            ))
            .await?,
            irs_delete: prepare(format!(
                "DELETE FROM {p}.implicit_registration_sets WHERE id = ?"
            ))
            .await?,
            irs_add_private: prepare(format!(
                "UPDATE {p}.implicit_registration_sets SET associated_private[?] = ? WHERE id = ?"
            ))
            .await?,
            irs_remove_private: prepare(format!(
                "DELETE associated_private[?] FROM {p}.implicit_registration_sets WHERE id = ?"
            ))
            .await?,
            irs_add_sp: prepare(format!(
                "UPDATE {p}.implicit_registration_sets SET service_profile[?] = ? WHERE id = ?"
            ))
            .await?,
            irs_remove_sp: prepare(format!(
                "DELETE service_profile[?] FROM {p}.implicit_registration_sets WHERE id = ?"
            ))
            .await?,
            sp_get: prepare(format!(
                "SELECT irs, initialfiltercriteria, public_id FROM {p}.service_profiles \
                 WHERE id = ?"
            ))
            .await?,
            sp_members: prepare(format!(
                "SELECT irs, public_id FROM {p}.service_profiles WHERE id = ?"
            ))
            .await?,
            sp_create: prepare(format!(
                "INSERT INTO {p}.service_profiles (id, irs) VALUES (?, ?)"
            ))
            .await?,
            sp_delete: prepare(format!("DELETE FROM {p}.service_profiles WHERE id = ?")).await?,
            sp_set_ifc: prepare(format!(
                "UPDATE {p}.service_profiles SET initialfiltercriteria = ? WHERE id = ?"
            ))
            .await?,
            sp_add_public: prepare(format!(
                "UPDATE {p}.service_profiles SET public_id[?] = ? WHERE id = ?"
            ))
            .await?,
            sp_remove_public: prepare(format!(
                "DELETE public_id[?] FROM {p}.service_profiles WHERE id = ?"
            ))
            .await?,
            public_get: prepare(format!(
                "SELECT publicidentity, service_profile FROM {p}.public WHERE public_id = ?"
            ))
            .await?,
            public_put: prepare(format!(
                "INSERT INTO {p}.public (public_id, publicidentity, service_profile) \
                 VALUES (?, ?, ?)"
            ))
            .await?,
            public_delete: prepare(format!("DELETE FROM {p}.public WHERE public_id = ?")).await?,
            public_list_first: prepare(format!(
                "SELECT token(public_id), public_id, publicidentity, service_profile \
                 FROM {p}.public"
            ))
            .await?,
            public_list_from: prepare(format!(
                "SELECT token(public_id), public_id, publicidentity, service_profile \
                 FROM {p}.public WHERE token(public_id) >= token(?)"
            ))
            .await?,
            reg_get: prepare(format!(
                "SELECT state, assigned_at, private_id, server_name FROM {h}.registration \
                 WHERE irs = ?"
            ))
            .await?,
            reg_put: prepare(format!(
                "INSERT INTO {h}.registration (irs, state, assigned_at, private_id, server_name) \
                 VALUES (?, ?, ?, ?, ?)"
            ))
            .await?,
            reg_delete: prepare(format!("DELETE FROM {h}.registration WHERE irs = ?")).await?,
            hss_irs_get: prepare(format!(
                "SELECT record FROM {h}.hss_irs WHERE default_public_id = ?"
            ))
            .await?,
            hss_irs_put: prepare(format!(
                "INSERT INTO {h}.hss_irs (default_public_id, record) VALUES (?, ?) USING TTL ?"
            ))
            .await?,
            hss_irs_delete: prepare(format!(
                "DELETE FROM {h}.hss_irs WHERE default_public_id = ?"
            ))
            .await?,
            hss_impu_get: prepare(format!(
                "SELECT default_public_id FROM {h}.hss_impu WHERE public_id = ?"
            ))
            .await?,
            hss_impu_put: prepare(format!(
                "INSERT INTO {h}.hss_impu (public_id, default_public_id) VALUES (?, ?) USING TTL ?"
            ))
            .await?,
            hss_impu_delete: prepare(format!("DELETE FROM {h}.hss_impu WHERE public_id = ?"))
                .await?,
            cache_impu_put: prepare(format!(
                "INSERT INTO {c}.impu (public_id, ims_subscription_xml, is_registered, \
                 primary_ccf, secondary_ccf, primary_ecf, secondary_ecf, associated_impi) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"
            ))
            .await?,
            cache_impu_delete: prepare(format!("DELETE FROM {c}.impu WHERE public_id = ?")).await?,
            cache_mapping_get: prepare(format!(
                "SELECT associated_primary_impu FROM {c}.impi_mapping WHERE private_id = ?"
            ))
            .await?,
            cache_mapping_add: prepare(format!(
                "UPDATE {c}.impi_mapping USING TTL ? SET associated_primary_impu = \
                 associated_primary_impu + ? WHERE private_id = ?"
            ))
            .await?,
            cache_mapping_remove: prepare(format!(
                "UPDATE {c}.impi_mapping SET associated_primary_impu = \
                 associated_primary_impu - ? WHERE private_id = ?"
            ))
            .await?,
        })
    }
}

/// The store on a Cassandra cluster. Its methods are the [`super::Store`] operations, async.
pub struct CassandraStore {
    session: Session,
    q: Queries,
    /// The last order key handed out (microseconds), so keys are unique and increasing here.
    last_order: AtomicU64,
}

impl CassandraStore {
    /// Connects to the cluster, creates the schema if it is missing (idempotently), checks its
    /// version and prepares every statement.
    pub async fn connect(config: &CassandraConfig) -> Result<CassandraStore, StoreError> {
        let consistency = consistency(&config.consistency)?;
        let serial = if matches!(
            consistency,
            Consistency::LocalQuorum | Consistency::LocalOne
        ) {
            SerialConsistency::LocalSerial
        } else {
            SerialConsistency::Serial
        };
        let mut policy = DefaultPolicy::builder().token_aware(true);
        if let Some(dc) = &config.local_dc {
            policy = policy
                .prefer_datacenter(dc.clone())
                .permit_dc_failover(false);
        }
        let timeout = Duration::from_millis(config.query_timeout_ms);
        let profile = ExecutionProfile::builder()
            .consistency(consistency)
            .serial_consistency(Some(serial))
            .request_timeout(Some(timeout))
            .load_balancing_policy(policy.build())
            .build();
        let session = SessionBuilder::new()
            .known_nodes(&config.contact_points)
            .connection_timeout(Duration::from_millis(config.connect_timeout_ms))
            .default_execution_profile_handle(profile.into_handle())
            .build()
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot connect to Cassandra at {}: {e}",
                    config.contact_points.join(",")
                ))
            })?;
        let ks = Keyspaces::new(config.keyspace_prefix.as_deref());
        create_schema(&session, config, &ks).await?;
        let q = Queries::prepare(&session, &ks).await?;
        Ok(CassandraStore {
            session,
            q,
            last_order: AtomicU64::new(0),
        })
    }

    /// A key that orders dynamic-column elements by when they were added: the time in
    /// microseconds, made unique and increasing on this node.
    fn order_key(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX >> 1));
        let mut last = self.last_order.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self.last_order.compare_exchange_weak(
                last,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return i64::try_from(next).unwrap_or(i64::MAX),
                Err(seen) => last = seen,
            }
        }
    }

    // ---------------------------------------------------------------------------- plumbing

    async fn execute(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
        context: &str,
    ) -> Result<QueryResult, StoreError> {
        self.session
            .execute_unpaged(statement, values)
            .await
            .map_err(|e| execution_error(context, &e))
    }

    /// The first row of a query, if any.
    async fn one<R>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
        context: &str,
    ) -> Result<Option<R>, StoreError>
    where
        R: for<'f> DeserializeRow<'f, 'f>,
    {
        let result = self.execute(statement, values, context).await?;
        let rows = result.into_rows_result().map_err(|e| corrupt(context, e))?;
        rows.maybe_first_row::<R>().map_err(|e| corrupt(context, e))
    }

    /// Applies a write's statements: one alone, several as a logged batch (all or none).
    async fn commit<T>(&self, changes: Changes, outcome: T) -> Result<Written<T>, StoreError> {
        match changes.statements.len() {
            0 => {}
            1 => {
                let (statement, values) = &changes.statements[0];
                self.execute(statement, values, "write").await?;
            }
            _ => {
                let mut batch = Batch::new(BatchType::Logged);
                let mut values = Vec::with_capacity(changes.statements.len());
                for (statement, row) in &changes.statements {
                    batch.append_statement(statement.clone());
                    values.push(row);
                }
                self.session
                    .batch(&batch, values)
                    .await
                    .map_err(|e| execution_error("batch write", &e))?;
            }
        }
        Ok(Written {
            outcome,
            affected: changes.affected(),
        })
    }

    /// Runs a lightweight transaction; true when it was applied.
    async fn cas(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
        context: &str,
    ) -> Result<bool, StoreError> {
        let row: Option<Row> = self.one(statement, values, context).await?;
        match row.as_ref().and_then(|r| r.columns.first()) {
            Some(Some(CqlValue::Boolean(applied))) => Ok(*applied),
            _ => Err(corrupt(context, "no [applied] column in the answer")),
        }
    }

    // ---------------------------------------------------------------------------- rows

    async fn private_row(&self, impi: &str) -> Result<Option<PrivateRow>, StoreError> {
        if !key_is_usable(impi) {
            return Ok(None);
        }
        type R = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<BTreeMap<Uuid, i64>>,
        );
        let row: Option<R> = self
            .one(&self.q.private_get, (impi,), "reading private")
            .await?;
        // A row without digest_ha1 is what is left of a deleted identity that a concurrent
        // write touched: it does not exist.
        Ok(row.and_then(|(ha1, realm, password, irs)| {
            Some(PrivateRow {
                digest_ha1: ha1?,
                realm: realm.unwrap_or_default(),
                plaintext_password: password,
                irs: in_order(irs),
            })
        }))
    }

    async fn aka_row(&self, impi: &str) -> Result<Option<AkaCredentials>, StoreError> {
        if !key_is_usable(impi) {
            return Ok(None);
        }
        type R = (Option<String>, Option<String>, Option<String>, Option<i64>);
        let row: Option<R> = self
            .one(&self.q.aka_get, (impi,), "reading aka_credentials")
            .await?;
        Ok(row.and_then(|(k, opc, amf, sqn)| {
            Some(AkaCredentials {
                k: k?,
                opc: opc?,
                amf: amf?,
                sqn: u64::try_from(sqn?).ok()?,
            })
        }))
    }

    async fn irs_row(&self, irs: &str) -> Result<Option<IrsRecord>, StoreError> {
        let Some(id) = parse_uuid(irs) else {
            return Ok(None);
        };
        type R = (
            Option<String>,
            Option<BTreeMap<String, i64>>,
            Option<BTreeMap<Uuid, i64>>,
        );
        let row: Option<R> = self
            .one(&self.q.irs_get, (id,), "reading implicit_registration_sets")
            .await?;
        Ok(row.and_then(|(dummy, privates, profiles)| {
            dummy?;
            Some(IrsRecord {
                private_ids: in_order(privates),
                service_profiles: in_order(profiles),
            })
        }))
    }

    async fn sp_row(&self, sp: &str) -> Result<Option<ServiceProfileRecord>, StoreError> {
        let Some(id) = parse_uuid(sp) else {
            return Ok(None);
        };
        type R = (
            Option<String>,
            Option<String>,
            Option<BTreeMap<String, i64>>,
        );
        let row: Option<R> = self
            .one(&self.q.sp_get, (id,), "reading service_profiles")
            .await?;
        let Some((Some(irs), filter_xml, publics)) = row else {
            return Ok(None);
        };
        // The IMSSubscription parts are derived from the stored document, so a document
        // written by another tool is served the same way.
        let filter_parts = match &filter_xml {
            None => Vec::new(),
            Some(doc) => vec![
                hearth_core::xml::service_profile::parse_service_profile(doc.as_bytes())
                    .map_err(|e| corrupt(&format!("initialfiltercriteria of {sp}"), e))?
                    .content,
            ],
        };
        Ok(Some(ServiceProfileRecord {
            irs,
            filter_xml,
            filter_parts,
            public_ids: in_order(publics),
        }))
    }

    /// A service profile's IRS and public identities, without its iFC document.
    async fn sp_members(&self, sp: &str) -> Result<Option<(String, Vec<String>)>, StoreError> {
        let Some(id) = parse_uuid(sp) else {
            return Ok(None);
        };
        type R = (Option<String>, Option<BTreeMap<String, i64>>);
        let row: Option<R> = self
            .one(&self.q.sp_members, (id,), "reading service_profiles")
            .await?;
        Ok(row.and_then(|(irs, publics)| Some((irs?, in_order(publics)))))
    }

    /// A public identity's XML and service profile id.
    async fn public_row(&self, impu: &str) -> Result<Option<(String, String)>, StoreError> {
        if !key_is_usable(impu) {
            return Ok(None);
        }
        type R = (Option<String>, Option<String>);
        let row: Option<R> = self
            .one(&self.q.public_get, (impu,), "reading public")
            .await?;
        Ok(row.and_then(|(xml, sp)| Some((xml.unwrap_or_default(), sp?))))
    }

    async fn registration_row(&self, irs: &str) -> Result<Option<RegistrationRecord>, StoreError> {
        let Some(id) = parse_uuid(irs) else {
            return Ok(None);
        };
        type R = (Option<String>, Option<i64>, Option<String>, Option<String>);
        let row: Option<R> = self
            .one(&self.q.reg_get, (id,), "reading registration")
            .await?;
        let Some((Some(state), assigned_at, private_id, server_name)) = row else {
            return Ok(None);
        };
        Ok(Some(RegistrationRecord {
            state: reg_state(&state)?,
            assigned_at: assigned_at.and_then(|t| u64::try_from(t).ok()).unwrap_or(0),
            private_id,
            server_name,
        }))
    }

    /// Marks the IRS's public identities (and, with `with_privates`, its private identities)
    /// as affected, as the IRS stands now.
    async fn touch_irs(
        &self,
        changes: &mut Changes,
        irs: &str,
        with_privates: bool,
    ) -> Result<(), StoreError> {
        let Some(record) = self.irs_row(irs).await? else {
            return Ok(());
        };
        let members =
            try_join_all(record.service_profiles.iter().map(|sp| self.sp_members(sp))).await?;
        for (_, publics) in members.into_iter().flatten() {
            changes.impus.extend(publics);
        }
        if with_privates {
            changes.impis.extend(record.private_ids);
        }
        Ok(())
    }

    // ---------------------------------------------------------------------------- reads

    /// See [`super::StoreRead::get_private`].
    pub async fn get_private(&self, impi: &str) -> Result<Option<PrivateRecord>, StoreError> {
        let (row, aka) = futures_util::try_join!(self.private_row(impi), self.aka_row(impi))?;
        Ok(row.map(|row| PrivateRecord {
            digest_ha1: row.digest_ha1,
            realm: row.realm,
            plaintext_password: row.plaintext_password,
            aka,
            irs: row.irs,
        }))
    }

    /// See [`super::StoreRead::get_irs`].
    pub async fn get_irs(&self, irs: &str) -> Result<Option<IrsRecord>, StoreError> {
        self.irs_row(irs).await
    }

    /// See [`super::StoreRead::get_service_profile`].
    pub async fn get_service_profile(
        &self,
        sp: &str,
    ) -> Result<Option<ServiceProfileRecord>, StoreError> {
        self.sp_row(sp).await
    }

    /// See [`super::StoreRead::get_public`]. The IRS comes from the service profile's row.
    pub async fn get_public(&self, impu: &str) -> Result<Option<PublicRecord>, StoreError> {
        let Some((identity_xml, sp)) = self.public_row(impu).await? else {
            return Ok(None);
        };
        let Some((irs, _)) = self.sp_members(&sp).await? else {
            return Ok(None);
        };
        Ok(Some(PublicRecord {
            identity_xml,
            service_profile: sp,
            irs,
        }))
    }

    /// The public identities of every service profile of the IRS, in the IRS's order.
    pub async fn irs_public_ids(&self, irs: &str) -> Result<Option<Vec<String>>, StoreError> {
        let Some(record) = self.irs_row(irs).await? else {
            return Ok(None);
        };
        let members =
            try_join_all(record.service_profiles.iter().map(|sp| self.sp_members(sp))).await?;
        Ok(Some(
            members
                .into_iter()
                .flatten()
                .flat_map(|(_, publics)| publics)
                .collect(),
        ))
    }

    /// See [`super::StoreRead::list_public`]. Cassandra keeps partitions in token order, so
    /// pages come in token order (the order of `SELECT ... FROM public`), not byte order;
    /// `after` still names the last identity of the previous page.
    pub async fn list_public(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, PublicRecord)>, StoreError> {
        let limit = limit.min(MAX_LIST_PAGE);
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Rows sharing the cursor's token sort by key bytes after it (Cassandra orders
        // partitions by token, then key); skip those up to the cursor itself.
        let cursor = match after.filter(|a| !a.is_empty()) {
            Some(after) => {
                let token = self
                    .q
                    .public_get
                    .calculate_token(&(after,))
                    .map_err(|e| corrupt("listing public", e))?
                    .map(|t| t.value());
                Some((after, token))
            }
            None => None,
        };
        let mut statement = match cursor {
            Some(_) => self.q.public_list_from.clone(),
            None => self.q.public_list_first.clone(),
        };
        statement.set_page_size(LIST_FETCH_PAGE);
        let mut found: Vec<(String, String, String)> = Vec::with_capacity(limit.min(1024));
        let mut paging = PagingState::start();
        'pages: loop {
            let (result, next) = match cursor {
                Some((after, _)) => {
                    self.session
                        .execute_single_page(&statement, (after,), paging)
                        .await
                }
                None => {
                    self.session
                        .execute_single_page(&statement, (), paging)
                        .await
                }
            }
            .map_err(|e| execution_error("listing public", &e))?;
            let rows = result
                .into_rows_result()
                .map_err(|e| corrupt("listing public", e))?;
            type R = (i64, String, Option<String>, Option<String>);
            for row in rows.rows::<R>().map_err(|e| corrupt("listing public", e))? {
                let (token, impu, xml, sp) = row.map_err(|e| corrupt("listing public", e))?;
                if let Some((after, after_token)) = cursor
                    && Some(token) == after_token
                    && impu.as_bytes() <= after.as_bytes()
                {
                    continue;
                }
                let Some(sp) = sp else { continue };
                found.push((impu, xml.unwrap_or_default(), sp));
                if found.len() == limit {
                    break 'pages;
                }
            }
            match next.into_paging_control_flow() {
                std::ops::ControlFlow::Break(()) => break,
                std::ops::ControlFlow::Continue(state) => paging = state,
            }
        }
        // Each profile's IRS, read once per page, concurrently.
        let profiles: BTreeSet<&str> = found.iter().map(|(_, _, sp)| sp.as_str()).collect();
        let irss = try_join_all(profiles.iter().map(|sp| async move {
            Ok::<_, StoreError>((*sp, self.sp_members(sp).await?.map(|(irs, _)| irs)))
        }))
        .await?;
        let irs_of: HashMap<&str, Option<String>> = irss.into_iter().collect();
        let mut page = Vec::with_capacity(found.len());
        for (impu, identity_xml, sp) in &found {
            // A public identity whose profile is gone is a dangling row: not listed.
            let Some(Some(irs)) = irs_of.get(sp.as_str()) else {
                continue;
            };
            page.push((
                impu.clone(),
                PublicRecord {
                    identity_xml: identity_xml.clone(),
                    service_profile: sp.clone(),
                    irs: irs.clone(),
                },
            ));
        }
        Ok(page)
    }

    /// See [`super::StoreRead::auth_view`].
    pub async fn auth_view(&self, impi: &str) -> Result<Option<AuthView>, StoreError> {
        let (row, aka) = futures_util::try_join!(self.private_row(impi), self.aka_row(impi))?;
        let Some(row) = row else { return Ok(None) };
        let irss = try_join_all(row.irs.iter().map(|irs| self.irs_row(irs))).await?;
        let profiles: Vec<&String> = irss
            .iter()
            .flatten()
            .flat_map(|irs| &irs.service_profiles)
            .collect();
        let members = try_join_all(profiles.iter().map(|sp| self.sp_members(sp))).await?;
        let mut impus: Vec<String> = Vec::new();
        for (_, publics) in members.into_iter().flatten() {
            for impu in publics {
                if !impus.contains(&impu) {
                    impus.push(impu);
                }
            }
        }
        Ok(Some(AuthView {
            digest_ha1: row.digest_ha1,
            realm: row.realm,
            aka,
            impus,
        }))
    }

    /// See [`super::StoreRead::public_view`].
    pub async fn public_view(&self, impu: &str) -> Result<Option<PublicView>, StoreError> {
        let Some(record) = self.get_public(impu).await? else {
            return Ok(None);
        };
        let (irs, registration) = futures_util::try_join!(
            self.irs_row(&record.irs),
            self.registration_row(&record.irs)
        )?;
        let Some(irs) = irs else {
            return Err(corrupt(
                "public_view",
                format!(
                    "public identity {impu:?} belongs to IRS {:?}, which does not exist",
                    record.irs
                ),
            ));
        };
        let profiles = try_join_all(irs.service_profiles.iter().map(|sp| self.sp_row(sp))).await?;
        let mut service_profiles = Vec::with_capacity(profiles.len());
        for (id, profile) in irs.service_profiles.iter().zip(profiles) {
            let Some(profile) = profile else { continue };
            let members =
                try_join_all(profile.public_ids.iter().map(|m| self.public_row(m))).await?;
            let public_identities = profile
                .public_ids
                .iter()
                .zip(members)
                .filter_map(|(member, row)| {
                    row.map(|(identity_xml, _)| PublicIdentityEntry {
                        impu: member.clone(),
                        identity_xml,
                    })
                })
                .collect();
            service_profiles.push(ServiceProfileView {
                id: id.clone(),
                record: profile,
                public_identities,
            });
        }
        Ok(Some(PublicView {
            impu: impu.to_owned(),
            record,
            irs,
            service_profiles,
            registration,
        }))
    }

    /// See [`super::StoreRead::get_hss_irs`].
    pub async fn get_hss_irs(
        &self,
        impu: &str,
        now: u64,
    ) -> Result<Option<HssIrsRecord>, StoreError> {
        if !key_is_usable(impu) {
            return Ok(None);
        }
        let Some((Some(key),)) = self
            .one::<(Option<String>,)>(&self.q.hss_impu_get, (impu,), "reading hss_impu")
            .await?
        else {
            return Ok(None);
        };
        Ok(self
            .hss_record(&key)
            .await?
            .filter(|record| record.expires_at > now))
    }

    /// See [`super::StoreRead::hss_irs_of_impi`].
    pub async fn hss_irs_of_impi(
        &self,
        impi: &str,
        now: u64,
    ) -> Result<Vec<HssIrsRecord>, StoreError> {
        if !key_is_usable(impi) {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = self
            .one::<(Option<Vec<String>>,)>(
                &self.q.cache_mapping_get,
                (impi,),
                "reading impi_mapping",
            )
            .await?
            .and_then(|(set,)| set)
            .unwrap_or_default();
        let records = try_join_all(keys.iter().map(|key| self.hss_record(key))).await?;
        Ok(records
            .into_iter()
            .flatten()
            .filter(|record| {
                record.expires_at > now && record.private_ids.iter().any(|p| p == impi)
            })
            .collect())
    }

    async fn hss_record(&self, key: &str) -> Result<Option<HssIrsRecord>, StoreError> {
        let row = self
            .one::<(Option<String>,)>(&self.q.hss_irs_get, (key,), "reading hss_irs")
            .await?;
        match row {
            Some((Some(json),)) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| corrupt(&format!("hss_irs record {key:?}"), e)),
            _ => Ok(None),
        }
    }

    // ---------------------------------------------------------------------------- writes

    /// See [`super::Store::put_private`]. The `private` row and the AKA credentials are two
    /// writes (the credentials are changed by a lightweight transaction, which cannot share a
    /// batch with other partitions): the row first, then the credentials.
    pub async fn put_private(
        &self,
        impi: &str,
        update: PrivateUpdate,
    ) -> Result<Written, StoreError> {
        check_key("private identity", impi)?;
        if let AkaUpdate::Set(aka) = &update.aka
            && aka.sqn > MAX_SQN
        {
            return Err(StoreError::Invalid(format!(
                "SQN {} does not fit in 48 bits",
                aka.sqn
            )));
        }
        let outcome = if self.private_row(impi).await?.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        let mut changes = Changes::default();
        changes.add(
            &self.q.private_put,
            (
                impi.to_owned(),
                update.digest_ha1,
                update.realm,
                update.plaintext_password,
            ),
        );
        changes.impis.insert(impi.to_owned());
        let written = self.commit(changes, outcome).await?;
        match update.aka {
            AkaUpdate::Keep => {}
            AkaUpdate::Remove => {
                self.cas(&self.q.aka_delete, (impi,), "deleting aka_credentials")
                    .await?;
            }
            AkaUpdate::Set(aka) => self.set_aka(impi, aka).await?,
        }
        Ok(written)
    }

    /// Stores AKA credentials; with the same K, the stored SQN is kept when higher.
    async fn set_aka(&self, impi: &str, mut aka: AkaCredentials) -> Result<(), StoreError> {
        let wanted_sqn = aka.sqn;
        for _ in 0..CAS_ATTEMPTS {
            let applied = match self.aka_row(impi).await? {
                None => {
                    self.cas(
                        &self.q.aka_insert,
                        (impi, &aka.k, &aka.opc, &aka.amf, sqn_value(aka.sqn)?),
                        "inserting aka_credentials",
                    )
                    .await?
                }
                Some(old) => {
                    aka.sqn = if old.k.eq_ignore_ascii_case(&aka.k) {
                        wanted_sqn.max(old.sqn)
                    } else {
                        wanted_sqn
                    };
                    self.cas(
                        &self.q.aka_replace,
                        (
                            &aka.k,
                            &aka.opc,
                            &aka.amf,
                            sqn_value(aka.sqn)?,
                            impi,
                            sqn_value(old.sqn)?,
                        ),
                        "replacing aka_credentials",
                    )
                    .await?
                }
            };
            if applied {
                return Ok(());
            }
        }
        Err(StoreError::Timeout)
    }

    /// See [`super::Store::delete_private`].
    pub async fn delete_private(&self, impi: &str) -> Result<Written, StoreError> {
        check_key("private identity", impi)?;
        let Some(private) = self.private_row(impi).await? else {
            return unchanged(Outcome::NotFound(Missing::Private));
        };
        let mut changes = Changes::default();
        for irs in &private.irs {
            self.touch_irs(&mut changes, irs, false).await?;
            if let Some(id) = parse_uuid(irs) {
                changes.add(&self.q.irs_remove_private, (impi.to_owned(), id));
            }
        }
        changes.add(&self.q.private_delete, (impi.to_owned(),));
        changes.impis.insert(impi.to_owned());
        let written = self.commit(changes, Outcome::Removed).await?;
        self.cas(&self.q.aka_delete, (impi,), "deleting aka_credentials")
            .await?;
        Ok(written)
    }

    /// See [`super::Store::associate`].
    pub async fn associate(&self, impi: &str, irs: &str) -> Result<Written, StoreError> {
        check_key("private identity", impi)?;
        check_key("IRS id", irs)?;
        let (private, irs_record) =
            futures_util::try_join!(self.private_row(impi), self.irs_row(irs))?;
        let (private, irs_record) = match (private, irs_record) {
            (Some(p), Some(i)) => (p, i),
            (None, None) => return unchanged(Outcome::NotFound(Missing::PrivateAndIrs)),
            (None, Some(_)) => return unchanged(Outcome::NotFound(Missing::Private)),
            (Some(_), None) => return unchanged(Outcome::NotFound(Missing::Irs)),
        };
        let Some(id) = parse_uuid(irs) else {
            return unchanged(Outcome::NotFound(Missing::Irs));
        };
        let mut changes = Changes::default();
        let order = self.order_key();
        if !private.irs.iter().any(|x| x == irs) {
            changes.add(&self.q.private_add_irs, (id, order, impi.to_owned()));
        }
        if !irs_record.private_ids.iter().any(|x| x == impi) {
            changes.add(&self.q.irs_add_private, (impi.to_owned(), order, id));
        }
        if changes.statements.is_empty() {
            return unchanged(Outcome::Unchanged);
        }
        self.touch_irs(&mut changes, irs, false).await?;
        changes.impis.insert(impi.to_owned());
        self.commit(changes, Outcome::Updated).await
    }

    /// See [`super::Store::dissociate`].
    pub async fn dissociate(&self, impi: &str, irs: &str) -> Result<Written, StoreError> {
        check_key("private identity", impi)?;
        check_key("IRS id", irs)?;
        let (private, irs_record) =
            futures_util::try_join!(self.private_row(impi), self.irs_row(irs))?;
        let outcome = match (&private, &irs_record) {
            (None, None) => Outcome::NotFound(Missing::PrivateAndIrs),
            (None, Some(_)) => Outcome::NotFound(Missing::Private),
            (Some(_), None) => Outcome::NotFound(Missing::Irs),
            (Some(_), Some(_)) => Outcome::Removed,
        };
        let mut changes = Changes::default();
        if let Some(id) = parse_uuid(irs) {
            if private.is_some_and(|p| p.irs.iter().any(|x| x == irs)) {
                changes.add(&self.q.private_remove_irs, (id, impi.to_owned()));
            }
            if irs_record.is_some_and(|r| r.private_ids.iter().any(|x| x == impi)) {
                changes.add(&self.q.irs_remove_private, (impi.to_owned(), id));
            }
        }
        if changes.statements.is_empty() {
            let outcome = match outcome {
                Outcome::Removed => Outcome::Unchanged,
                other => other,
            };
            return unchanged(outcome);
        }
        self.touch_irs(&mut changes, irs, false).await?;
        changes.impis.insert(impi.to_owned());
        self.commit(changes, outcome).await
    }

    /// See [`super::Store::create_irs`]. The id must be a UUID (Clearwater's `id uuid`).
    pub async fn create_irs(&self, irs: &str) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        let id = parse_uuid(irs)
            .ok_or_else(|| StoreError::Invalid(format!("IRS id {irs:?} is not a UUID")))?;
        if self.irs_row(irs).await?.is_some() {
            return unchanged(Outcome::Unchanged);
        }
        let mut changes = Changes::default();
        changes.add(&self.q.irs_create, (id,));
        self.commit(changes, Outcome::Created).await
    }

    /// See [`super::Store::delete_irs`].
    pub async fn delete_irs(&self, irs: &str) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        let Some(irs_record) = self.irs_row(irs).await? else {
            return unchanged(Outcome::NotFound(Missing::Irs));
        };
        let Some(id) = parse_uuid(irs) else {
            return unchanged(Outcome::NotFound(Missing::Irs));
        };
        let mut changes = Changes::default();
        self.touch_irs(&mut changes, irs, true).await?;
        for sp in &irs_record.service_profiles {
            let Some((owner, publics)) = self.sp_members(sp).await? else {
                continue;
            };
            if owner != irs {
                continue;
            }
            self.delete_members(&mut changes, sp, &publics).await?;
            if let Some(sp_id) = parse_uuid(sp) {
                changes.add(&self.q.sp_delete, (sp_id,));
            }
        }
        for impi in &irs_record.private_ids {
            changes.add(&self.q.private_remove_irs, (id, impi.clone()));
        }
        changes.add(&self.q.reg_delete, (id,));
        changes.add(&self.q.irs_delete, (id,));
        self.commit(changes, Outcome::Removed).await
    }

    /// Deletes the `public` rows of a profile's members that still belong to it.
    async fn delete_members(
        &self,
        changes: &mut Changes,
        sp: &str,
        publics: &[String],
    ) -> Result<(), StoreError> {
        let rows = try_join_all(publics.iter().map(|impu| self.public_row(impu))).await?;
        for (impu, row) in publics.iter().zip(rows) {
            if row.is_some_and(|(_, owner)| owner == sp) {
                changes.add(&self.q.public_delete, (impu.clone(),));
            }
        }
        Ok(())
    }

    /// See [`super::Store::create_service_profile`]. The id must be a UUID.
    pub async fn create_service_profile(&self, irs: &str, sp: &str) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        check_key("service profile id", sp)?;
        let sp_id = parse_uuid(sp).ok_or_else(|| {
            StoreError::Invalid(format!("service profile id {sp:?} is not a UUID"))
        })?;
        let (irs_record, existing) =
            futures_util::try_join!(self.irs_row(irs), self.sp_members(sp))?;
        let (Some(irs_record), Some(irs_id)) = (irs_record, parse_uuid(irs)) else {
            return unchanged(Outcome::NotFound(Missing::Irs));
        };
        let mut changes = Changes::default();
        let listed = irs_record.service_profiles.iter().any(|x| x == sp);
        if let Some((owner, _)) = existing {
            if owner != irs {
                return unchanged(Outcome::Conflict);
            }
            // Exists here already; repair the IRS's list if it lost the profile.
            if listed {
                return unchanged(Outcome::Unchanged);
            }
            changes.add(&self.q.irs_add_sp, (sp_id, self.order_key(), irs_id));
            self.touch_irs(&mut changes, irs, false).await?;
            return self.commit(changes, Outcome::Unchanged).await;
        }
        self.touch_irs(&mut changes, irs, false).await?;
        changes.add(&self.q.sp_create, (sp_id, irs.to_owned()));
        if !listed {
            changes.add(&self.q.irs_add_sp, (sp_id, self.order_key(), irs_id));
        }
        self.commit(changes, Outcome::Created).await
    }

    /// See [`super::Store::delete_service_profile`].
    pub async fn delete_service_profile(&self, irs: &str, sp: &str) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        check_key("service profile id", sp)?;
        let Some((_, publics)) = self.sp_members(sp).await?.filter(|(owner, _)| owner == irs)
        else {
            return unchanged(Outcome::NotFound(Missing::ServiceProfile));
        };
        let (Some(irs_id), Some(sp_id)) = (parse_uuid(irs), parse_uuid(sp)) else {
            return unchanged(Outcome::NotFound(Missing::ServiceProfile));
        };
        let mut changes = Changes::default();
        self.touch_irs(&mut changes, irs, true).await?;
        self.delete_members(&mut changes, sp, &publics).await?;
        changes.add(&self.q.irs_remove_sp, (sp_id, irs_id));
        changes.add(&self.q.sp_delete, (sp_id,));
        self.commit(changes, Outcome::Removed).await
    }

    /// See [`super::Store::put_public`].
    pub async fn put_public(
        &self,
        irs: &str,
        sp: &str,
        impu: &str,
        identity_xml: &str,
    ) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        check_key("service profile id", sp)?;
        check_key("public identity", impu)?;
        let (irs_record, members, old) = futures_util::try_join!(
            self.irs_row(irs),
            self.sp_members(sp),
            self.public_row(impu)
        )?;
        if irs_record.is_none() {
            return unchanged(Outcome::NotFound(Missing::Irs));
        }
        let (Some((owner, publics)), Some(sp_id)) = (members, parse_uuid(sp)) else {
            return unchanged(Outcome::NotFound(Missing::ServiceProfile));
        };
        if owner != irs {
            return unchanged(Outcome::NotFound(Missing::ServiceProfile));
        }
        let mut changes = Changes::default();
        self.touch_irs(&mut changes, irs, true).await?;
        changes.impus.insert(impu.to_owned());
        let outcome = match old {
            None => Outcome::Created,
            Some((_, old_sp)) => {
                if old_sp != sp {
                    // A move: leave the old profile (and tell the old IRS's caches).
                    if let Some((old_irs, _)) = self.sp_members(&old_sp).await? {
                        self.touch_irs(&mut changes, &old_irs, true).await?;
                    }
                    if let Some(old_id) = parse_uuid(&old_sp) {
                        changes.add(&self.q.sp_remove_public, (impu.to_owned(), old_id));
                    }
                }
                Outcome::Updated
            }
        };
        if !publics.iter().any(|x| x == impu) {
            changes.add(
                &self.q.sp_add_public,
                (impu.to_owned(), self.order_key(), sp_id),
            );
        }
        changes.add(
            &self.q.public_put,
            (impu.to_owned(), identity_xml.to_owned(), sp.to_owned()),
        );
        self.commit(changes, outcome).await
    }

    /// See [`super::Store::delete_public`].
    pub async fn delete_public(
        &self,
        irs: &str,
        sp: &str,
        impu: &str,
    ) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        check_key("service profile id", sp)?;
        check_key("public identity", impu)?;
        let (row, members) = futures_util::try_join!(self.public_row(impu), self.sp_members(sp))?;
        let belongs = row.is_some_and(|(_, owner)| owner == sp)
            && members.as_ref().is_some_and(|(owner, _)| owner == irs);
        let Some(sp_id) = parse_uuid(sp).filter(|_| belongs) else {
            return unchanged(Outcome::NotFound(Missing::Public));
        };
        let mut changes = Changes::default();
        self.touch_irs(&mut changes, irs, true).await?;
        changes.impus.insert(impu.to_owned());
        changes.add(&self.q.sp_remove_public, (impu.to_owned(), sp_id));
        changes.add(&self.q.public_delete, (impu.to_owned(),));
        self.commit(changes, Outcome::Removed).await
    }

    /// See [`super::Store::put_filter_criteria`]. Only the document is stored
    /// (`initialfiltercriteria`); its parts are derived from it when read.
    pub async fn put_filter_criteria(
        &self,
        irs: &str,
        sp: &str,
        filter_xml: &str,
        _filter_parts: Vec<String>,
    ) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        check_key("service profile id", sp)?;
        let found = self
            .sp_members(sp)
            .await?
            .is_some_and(|(owner, _)| owner == irs);
        let Some(sp_id) = parse_uuid(sp).filter(|_| found) else {
            return unchanged(Outcome::NotFound(Missing::ServiceProfile));
        };
        let mut changes = Changes::default();
        changes.add(&self.q.sp_set_ifc, (filter_xml.to_owned(), sp_id));
        self.touch_irs(&mut changes, irs, false).await?;
        self.commit(changes, Outcome::Updated).await
    }

    /// See [`super::Store::put_registration`].
    pub async fn put_registration(
        &self,
        irs: &str,
        record: RegistrationRecord,
    ) -> Result<Written, StoreError> {
        check_key("IRS id", irs)?;
        let (irs_record, old) =
            futures_util::try_join!(self.irs_row(irs), self.registration_row(irs))?;
        let (Some(_), Some(id)) = (irs_record, parse_uuid(irs)) else {
            return unchanged(Outcome::NotFound(Missing::Irs));
        };
        let outcome = if old.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        let mut changes = Changes::default();
        changes.add(
            &self.q.reg_put,
            (
                id,
                reg_state_name(record.state).to_owned(),
                i64::try_from(record.assigned_at).unwrap_or(i64::MAX),
                record.private_id,
                record.server_name,
            ),
        );
        self.touch_irs(&mut changes, irs, false).await?;
        self.commit(changes, outcome).await
    }

    /// See [`super::Store::set_aka_sqn`].
    pub async fn set_aka_sqn(&self, impi: &str, sqn: u64) -> Result<Written, StoreError> {
        check_key("private identity", impi)?;
        if sqn > MAX_SQN {
            return Err(StoreError::Invalid(format!(
                "SQN {sqn} does not fit in 48 bits"
            )));
        }
        if self.private_row(impi).await?.is_none() {
            return unchanged(Outcome::NotFound(Missing::Private));
        }
        let applied = self
            .cas(
                &self.q.aka_set_sqn,
                (sqn_value(sqn)?, impi),
                "setting the SQN",
            )
            .await?;
        if !applied {
            return unchanged(Outcome::NotFound(Missing::AkaCredentials));
        }
        Ok(Written {
            outcome: Outcome::Updated,
            affected: Affected {
                impis: vec![impi.to_owned()],
                impus: Vec::new(),
            },
        })
    }

    /// See [`super::Store::reserve_sqn`]: compare-and-set on the stored SQN, retried when
    /// another node reserved first.
    pub async fn reserve_sqn(
        &self,
        impi: &str,
        count: u64,
    ) -> Result<Written<Option<SqnBlock>>, StoreError> {
        check_key("private identity", impi)?;
        let count = count.max(1);
        let (private, mut aka) =
            futures_util::try_join!(self.private_row(impi), self.aka_row(impi))?;
        if private.is_none() {
            return unchanged(None);
        }
        for _ in 0..CAS_ATTEMPTS {
            let Some(mut current) = aka else {
                return unchanged(None);
            };
            let first_sqn = current.sqn.saturating_add(1);
            let last_sqn = match current.sqn.checked_add(count) {
                Some(last) if last <= MAX_SQN => last,
                _ => {
                    return Err(StoreError::Invalid(format!(
                        "reserving {count} SQNs after {} passes the 48-bit SQN space",
                        current.sqn
                    )));
                }
            };
            let applied = self
                .cas(
                    &self.q.aka_cas_sqn,
                    (sqn_value(last_sqn)?, impi, sqn_value(current.sqn)?),
                    "reserving SQNs",
                )
                .await?;
            if applied {
                current.sqn = last_sqn;
                return Ok(Written {
                    outcome: Some(SqnBlock {
                        aka: current,
                        first_sqn,
                    }),
                    affected: Affected {
                        impis: vec![impi.to_owned()],
                        impus: Vec::new(),
                    },
                });
            }
            aka = self.aka_row(impi).await?;
        }
        Err(StoreError::Timeout)
    }

    /// See [`super::Store::put_hss_irs`]: Clearwater's `impu` rows (one per public identity,
    /// as Homestead wrote them) and `impi_mapping`, Hearth's `hss_irs` and `hss_impu`, all
    /// with the record's remaining lifetime as TTL.
    pub async fn put_hss_irs(&self, record: HssIrsRecord) -> Result<Written, StoreError> {
        let Some(key) = record.default_impu().map(str::to_owned) else {
            return Err(StoreError::Invalid(
                "an IRS without public identities cannot be cached".into(),
            ));
        };
        for identity in record.impus.iter().chain(&record.private_ids) {
            check_key("identity", identity)?;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let ttl = i32::try_from(record.expires_at.saturating_sub(now).clamp(1, 630_720_000))
            .unwrap_or(i32::MAX);
        let earlier: Vec<Option<(Option<String>,)>> = try_join_all(
            record
                .impus
                .iter()
                .map(|impu| self.one(&self.q.hss_impu_get, (impu.as_str(),), "reading hss_impu")),
        )
        .await?;
        let earlier: BTreeSet<String> =
            earlier.into_iter().flatten().filter_map(|(k,)| k).collect();
        let outcome = if earlier.contains(&key) {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        let mut changes = Changes::default();
        for old_key in &earlier {
            self.drop_hss_irs(&mut changes, old_key, &record).await?;
        }
        let json =
            serde_json::to_string(&record).map_err(|e| corrupt("encoding an hss_irs record", e))?;
        let registered = record.registration.state == RegState::Registered;
        let impis: Vec<String> = record.private_ids.clone();
        for impu in &record.impus {
            changes.add(&self.q.hss_impu_put, (impu.clone(), key.clone(), ttl));
            changes.add(
                &self.q.cache_impu_put,
                (
                    impu.clone(),
                    record.ims_subscription_xml.clone(),
                    registered,
                    record.ccfs.first().cloned(),
                    record.ccfs.get(1).cloned(),
                    record.ecfs.first().cloned(),
                    record.ecfs.get(1).cloned(),
                    impis.clone(),
                    ttl,
                ),
            );
        }
        for impi in &record.private_ids {
            changes.add(
                &self.q.cache_mapping_add,
                (ttl, vec![key.clone()], impi.clone()),
            );
        }
        changes.add(&self.q.hss_irs_put, (key.clone(), json, ttl));
        self.commit(changes, outcome).await
    }

    /// Drops the cached IRS stored under `key` with its index entries, but for the rows `keep`
    /// (the record about to replace it) writes anew.
    async fn drop_hss_irs(
        &self,
        changes: &mut Changes,
        key: &str,
        keep: &HssIrsRecord,
    ) -> Result<Option<HssIrsRecord>, StoreError> {
        let Some(old) = self.hss_record(key).await? else {
            return Ok(None);
        };
        for impu in &old.impus {
            if !keep.impus.contains(impu) {
                changes.add(&self.q.hss_impu_delete, (impu.clone(),));
                changes.add(&self.q.cache_impu_delete, (impu.clone(),));
            }
        }
        let rewritten = keep.default_impu() == Some(key);
        for impi in &old.private_ids {
            // A removal and an addition of the same element in one batch share a timestamp,
            // and the removal would win: leave alone what the new record writes again.
            if !(rewritten && keep.private_ids.contains(impi)) {
                changes.add(
                    &self.q.cache_mapping_remove,
                    (vec![key.to_owned()], impi.clone()),
                );
            }
        }
        if keep.default_impu() != Some(key) {
            changes.add(&self.q.hss_irs_delete, (key.to_owned(),));
        }
        Ok(Some(old))
    }

    /// See [`super::Store::delete_hss_irs`].
    pub async fn delete_hss_irs(
        &self,
        impu: &str,
    ) -> Result<Written<Option<HssIrsRecord>>, StoreError> {
        if !key_is_usable(impu) {
            return unchanged(None);
        }
        let Some((Some(key),)) = self
            .one::<(Option<String>,)>(&self.q.hss_impu_get, (impu,), "reading hss_impu")
            .await?
        else {
            return unchanged(None);
        };
        let mut changes = Changes::default();
        let old = self
            .drop_hss_irs(&mut changes, &key, &HssIrsRecord::default())
            .await?;
        if old.is_none() {
            // A dangling index entry.
            changes.add(&self.q.hss_impu_delete, (impu.to_owned(),));
        }
        self.commit(changes, old).await
    }
}

fn sqn_value(sqn: u64) -> Result<i64, StoreError> {
    i64::try_from(sqn).map_err(|_| StoreError::Invalid(format!("SQN {sqn} is out of range")))
}

/// Creates the keyspaces and tables (each `IF NOT EXISTS`), waits for schema agreement, and
/// checks or records the layout version.
async fn create_schema(
    session: &Session,
    config: &CassandraConfig,
    ks: &Keyspaces,
) -> Result<(), StoreError> {
    for statement in schema::statements(config) {
        session
            .query_unpaged(statement.cql.as_str(), ())
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "cassandra: creating the schema ({}): {e}",
                    statement.cql.lines().next().unwrap_or_default()
                ))
            })?;
    }
    session
        .await_schema_agreement()
        .await
        .map_err(|e| StoreError::Unavailable(format!("cassandra: schema agreement: {e}")))?;
    let h = &ks.hearth;
    session
        .query_unpaged(
            format!(
                "INSERT INTO {h}.meta (name, value) VALUES ('schema_version', ?) IF NOT EXISTS"
            ),
            (SCHEMA_VERSION,),
        )
        .await
        .map_err(|e| StoreError::Unavailable(format!("cassandra: recording the version: {e}")))?;
    let version: Option<(Option<String>,)> = session
        .query_unpaged(
            format!("SELECT value FROM {h}.meta WHERE name = 'schema_version'"),
            (),
        )
        .await
        .map_err(|e| StoreError::Unavailable(format!("cassandra: reading the version: {e}")))?
        .into_rows_result()
        .map_err(|e| corrupt("meta", e))?
        .maybe_first_row()
        .map_err(|e| corrupt("meta", e))?;
    match version {
        Some((Some(v),)) if v == SCHEMA_VERSION => Ok(()),
        other => Err(StoreError::Corrupt(format!(
            "keyspace {h}: schema version {:?}, this build reads {SCHEMA_VERSION}",
            other.and_then(|(v,)| v)
        ))),
    }
}

/// Drops every keyspace of the configured prefix (`hearth schema --drop`; tests).
pub async fn drop_keyspaces(config: &CassandraConfig) -> Result<(), StoreError> {
    let session = SessionBuilder::new()
        .known_nodes(&config.contact_points)
        .connection_timeout(Duration::from_millis(config.connect_timeout_ms))
        .build()
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot connect to Cassandra: {e}")))?;
    let ks = Keyspaces::new(config.keyspace_prefix.as_deref());
    for name in ks.all() {
        session
            .query_unpaged(format!("DROP KEYSPACE IF EXISTS {name}"), ())
            .await
            .map_err(|e| StoreError::Unavailable(format!("cassandra: dropping {name}: {e}")))?;
    }
    Ok(())
}
