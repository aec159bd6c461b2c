//! The CQL schema of the Cassandra store: Clearwater's keyspaces with their table and column
//! names, the GBA gateway's keyspaces exactly as its manual writes them, and Hearth's own.
//!
//! Clearwater declared its tables `WITH COMPACT STORAGE` and kept lists as dynamic columns (a
//! column per element, its name a prefix and the element: `associated_irs_<uuid>`). Cassandra 5
//! has no COMPACT STORAGE, so each family of dynamic columns is one map column named after the
//! prefix (without its trailing underscores), keyed by the element; the value is when the
//! element was added (microseconds since the UNIX epoch, unique per node), which keeps the
//! order Homestead-prov lists them in. docs/cassandra.md has the whole mapping.

use crate::config::{CassandraConfig, ReplicationConfig};

/// The keyspace names, with the configured prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyspaces {
    /// Clearwater's `homestead_provisioning`.
    pub provisioning: String,
    /// Clearwater's `homestead_cache` (HSS mode).
    pub cache: String,
    /// The GBA gateway's `opencloud_gaa_bootstrap_info`.
    pub gba: String,
    /// The GBA gateway's `opencloud_nonce_info`.
    pub nonce: String,
    /// Hearth's own tables (AKA credentials and SQNs, registration state, HSS-mode indexes).
    pub hearth: String,
}

impl Keyspaces {
    /// The names under `prefix` (`<prefix>_homestead_provisioning`, ...), or the plain names.
    pub fn new(prefix: Option<&str>) -> Keyspaces {
        let name = |base: &str| match prefix {
            Some(p) if !p.is_empty() => format!("{p}_{base}"),
            _ => base.to_owned(),
        };
        Keyspaces {
            provisioning: name("homestead_provisioning"),
            cache: name("homestead_cache"),
            gba: name("opencloud_gaa_bootstrap_info"),
            nonce: name("opencloud_nonce_info"),
            hearth: name("hearth"),
        }
    }

    /// Every keyspace, in creation order.
    pub fn all(&self) -> [&str; 5] {
        [
            &self.provisioning,
            &self.cache,
            &self.gba,
            &self.nonce,
            &self.hearth,
        ]
    }
}

/// The version of Hearth's layout, kept in `<hearth>.meta`.
pub const SCHEMA_VERSION: &str = "1";

/// The replication map of a keyspace, as CQL.
fn replication(replication: &ReplicationConfig, local_dc: Option<&str>) -> String {
    if replication.class == "NetworkTopologyStrategy" {
        let mut parts = vec!["'class': 'NetworkTopologyStrategy'".to_owned()];
        if replication.datacenters.is_empty() {
            if let Some(dc) = local_dc {
                parts.push(format!("'{dc}': {}", replication.factor));
            }
        } else {
            for (dc, factor) in &replication.datacenters {
                parts.push(format!("'{dc}': {factor}"));
            }
        }
        format!("{{{}}}", parts.join(", "))
    } else {
        format!(
            "{{'class': 'SimpleStrategy', 'replication_factor': {}}}",
            replication.factor
        )
    }
}

/// One schema statement and the comment `hearth schema` prints above it.
pub struct Statement {
    /// What the statement is for (printed as a `--` comment).
    pub comment: &'static str,
    /// The CQL, without a final semicolon.
    pub cql: String,
}

/// Every statement that creates the schema, idempotently (`IF NOT EXISTS`), in order.
pub fn statements(config: &CassandraConfig) -> Vec<Statement> {
    let ks = Keyspaces::new(config.keyspace_prefix.as_deref());
    let repl = replication(&config.replication, config.local_dc.as_deref());
    let mut out = Vec::new();
    let mut add = |comment: &'static str, cql: String| out.push(Statement { comment, cql });

    let p = &ks.provisioning;
    add(
        "Clearwater's provisioning keyspace (Homestead-prov's tables and column names).",
        format!("CREATE KEYSPACE IF NOT EXISTS {p} WITH REPLICATION = {repl}"),
    );
    add(
        "An IRS. Clearwater's dynamic columns associated_private_<impi> and \
         service_profile_<uuid> are the maps associated_private and service_profile (element -> \
         when added, in microseconds).",
        format!(
            "CREATE TABLE IF NOT EXISTS {p}.implicit_registration_sets (\n    id uuid PRIMARY KEY,\n    \
             dummy text,\n    associated_private map<text, bigint>,\n    \
             service_profile map<uuid, bigint>\n)"
        ),
    );
    add(
        "A service profile: its IRS, its iFC document (initialfiltercriteria) and, for \
         Clearwater's public_id_<impu> columns, the map public_id.",
        format!(
            "CREATE TABLE IF NOT EXISTS {p}.service_profiles (\n    id uuid PRIMARY KEY,\n    \
             irs text,\n    initialfiltercriteria text,\n    public_id map<text, bigint>\n)"
        ),
    );
    add(
        "A public identity: its PublicIdentity XML and its service profile's id.",
        format!(
            "CREATE TABLE IF NOT EXISTS {p}.public (\n    public_id text PRIMARY KEY,\n    \
             publicidentity text,\n    service_profile text\n)"
        ),
    );
    add(
        "A private identity: digest credentials and, for Clearwater's associated_irs_<uuid> \
         columns, the map associated_irs.",
        format!(
            "CREATE TABLE IF NOT EXISTS {p}.private (\n    private_id text PRIMARY KEY,\n    \
             digest_ha1 text,\n    realm text,\n    plaintext_password text,\n    \
             associated_irs map<uuid, bigint>\n)"
        ),
    );

    let c = &ks.cache;
    add(
        "Clearwater's cache keyspace (Homestead's HSS-mode cache); rows expire by TTL.",
        format!("CREATE KEYSPACE IF NOT EXISTS {c} WITH REPLICATION = {repl}"),
    );
    add(
        "Digest credentials per IMPI (Homestead's; Hearth asks the HSS on every request, as \
         Homestead does, and leaves it empty). public_id_<impu> columns: the set public_id.",
        format!(
            "CREATE TABLE IF NOT EXISTS {c}.impi (\n    private_id text PRIMARY KEY,\n    \
             digest_ha1 text,\n    digest_realm text,\n    digest_qop text,\n    \
             known_preferred boolean,\n    public_id set<text>\n)"
        ),
    );
    add(
        "What the HSS said about a public identity: User-Data, registration state, charging \
         addresses. associated_impi__<impi> columns: the set associated_impi.",
        format!(
            "CREATE TABLE IF NOT EXISTS {c}.impu (\n    public_id text PRIMARY KEY,\n    \
             ims_subscription_xml text,\n    is_registered boolean,\n    primary_ccf text,\n    \
             secondary_ccf text,\n    primary_ecf text,\n    secondary_ecf text,\n    \
             associated_impi set<text>\n)"
        ),
    );
    add(
        "The IRSs (by default public identity) a private identity registered. \
         associated_primary_impu__<impu> columns: the set associated_primary_impu.",
        format!(
            "CREATE TABLE IF NOT EXISTS {c}.impi_mapping (\n    private_id text PRIMARY KEY,\n    \
             unused text,\n    associated_primary_impu set<text>\n)"
        ),
    );

    let g = &ks.gba;
    add(
        "The GBA gateway's bootstrap keyspace, as its manual creates it.",
        format!("CREATE KEYSPACE IF NOT EXISTS {g} WITH REPLICATION = {repl}"),
    );
    add(
        "TMPI to IMPI.",
        format!(
            "CREATE TABLE IF NOT EXISTS {g}.impi_by_tmpi (\n    tmpi text,\n    impi text,\n    \
             PRIMARY KEY (tmpi)\n) WITH gc_grace_seconds = 172800"
        ),
    );
    add(
        "GUSS documents by IMPI.",
        format!(
            "CREATE TABLE IF NOT EXISTS {g}.guss_by_impi (\n    impi text,\n    \
             guss_data blob,\n    PRIMARY KEY (impi)\n) WITH gc_grace_seconds = 172800"
        ),
    );
    add(
        "Authentication vectors between the BSF's challenge and the UE's answer.",
        format!(
            "CREATE TABLE IF NOT EXISTS {g}.auth_vector (\n    id blob,\n    impi text,\n    \
             tmpi text,\n    realm text,\n    rand blob,\n    autn blob,\n    xres blob,\n    \
             ck blob,\n    ik blob,\n    ha1 blob,\n    key_lifetime int,\n    used boolean,\n    \
             PRIMARY KEY (id)\n) WITH gc_grace_seconds = 172800"
        ),
    );
    add(
        "Bootstrapped security associations by B-TID.",
        format!(
            "CREATE TABLE IF NOT EXISTS {g}.bootstrap_info (\n    btid text,\n    impi text,\n    \
             ck blob,\n    ik blob,\n    rand blob,\n    PRIMARY KEY (btid)\n) \
             WITH gc_grace_seconds = 172800"
        ),
    );
    let n = &ks.nonce;
    add(
        "The NAF filter's nonce keyspace, as the GBA gateway's manual creates it.",
        format!("CREATE KEYSPACE IF NOT EXISTS {n} WITH REPLICATION = {repl}"),
    );
    add(
        "Nonces the NAF filter handed out.",
        format!(
            "CREATE TABLE IF NOT EXISTS {n}.nonce_storage (\n    nonce text,\n    \
             timestamp double,\n    remoteAddr text,\n    seen text,\n    \
             PRIMARY KEY(nonce)\n) WITH gc_grace_seconds = 172800"
        ),
    );

    let h = &ks.hearth;
    add(
        "Hearth's own keyspace: what Homestead never kept locally.",
        format!("CREATE KEYSPACE IF NOT EXISTS {h} WITH REPLICATION = {repl}"),
    );
    add(
        "Milenage credentials of a private identity and the highest SQN reserved (48 bits); \
         written only with lightweight transactions, so two nodes never reserve the same SQN.",
        format!(
            "CREATE TABLE IF NOT EXISTS {h}.aka_credentials (\n    private_id text PRIMARY KEY,\n    \
             k text,\n    opc text,\n    amf text,\n    sqn bigint\n)"
        ),
    );
    add(
        "Registration state of an IRS (reg-data without an HSS).",
        format!(
            "CREATE TABLE IF NOT EXISTS {h}.registration (\n    irs uuid PRIMARY KEY,\n    \
             state text,\n    assigned_at bigint,\n    private_id text,\n    server_name text\n)"
        ),
    );
    add(
        "HSS mode: the whole cached IRS (JSON) under its default public identity; rows expire \
         by TTL.",
        format!(
            "CREATE TABLE IF NOT EXISTS {h}.hss_irs (\n    default_public_id text PRIMARY KEY,\n    \
             record text\n)"
        ),
    );
    add(
        "HSS mode: each public identity's IRS (its default public identity); rows expire by TTL.",
        format!(
            "CREATE TABLE IF NOT EXISTS {h}.hss_impu (\n    public_id text PRIMARY KEY,\n    \
             default_public_id text\n)"
        ),
    );
    add(
        "The layout version.",
        format!(
            "CREATE TABLE IF NOT EXISTS {h}.meta (\n    name text PRIMARY KEY,\n    value text\n)"
        ),
    );
    out
}

/// The whole schema as a CQL script (`hearth schema`).
pub fn script(config: &CassandraConfig) -> String {
    let mut text = String::from(
        "-- Hearth's Cassandra schema (created idempotently when `hearth serve --store cassandra` \
         starts).\n",
    );
    for statement in statements(config) {
        text.push('\n');
        for line in wrap(statement.comment, 96) {
            text.push_str("-- ");
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str(&statement.cql);
        text.push_str(";\n");
    }
    let ks = Keyspaces::new(config.keyspace_prefix.as_deref());
    text.push_str(&format!(
        "\nINSERT INTO {}.meta (name, value) VALUES ('schema_version', '{SCHEMA_VERSION}') IF NOT EXISTS;\n",
        ks.hearth
    ));
    text
}

/// Splits `text` into lines of at most about `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_replication() {
        let ks = Keyspaces::new(Some("t1"));
        assert_eq!(ks.provisioning, "t1_homestead_provisioning");
        assert_eq!(Keyspaces::new(None).gba, "opencloud_gaa_bootstrap_info");
        let mut config = CassandraConfig::default();
        config.replication.factor = 3;
        let text = script(&config);
        assert!(text.contains(
            "CREATE KEYSPACE IF NOT EXISTS opencloud_nonce_info WITH REPLICATION = \
             {'class': 'SimpleStrategy', 'replication_factor': 3}"
        ));
        assert!(text.contains("CREATE TABLE IF NOT EXISTS homestead_provisioning.public ("));
        assert!(text.contains("remoteAddr text"));
        config.replication.class = "NetworkTopologyStrategy".into();
        config.replication.datacenters.insert("dc1".into(), 3);
        config.replication.datacenters.insert("dc2".into(), 2);
        assert!(
            script(&config).contains("{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}")
        );
    }
}
