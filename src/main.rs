//! The `hearth` binary: the shell around `hearth-core`.
//!
//! `hearth serve` runs the shard-per-core server; `hearth tools ...` runs the key tools;
//! `hearth hss-sim` runs the HSS simulator (a Diameter test and load peer).

mod api;
mod config;
mod diameter;
mod engine;
mod hsssim;
mod store;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::Config;

/// IMS subscriber data and authentication server: Homestead and Homestead-prov APIs, GBA key tools,
/// ephemeral SIP credentials.
#[derive(Parser)]
#[command(name = "hearth", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (zero config: loopback listeners, embedded store in ./hearth-data).
    Serve(Box<ServeArgs>),
    /// Key tools: naf-key, naf-digest, gbad-passwd, gbad-ks, milenage, auts. Their options are
    /// single-dash, as in the GBA gateway's tools; `hearth tools <tool> -help` lists them.
    #[command(disable_help_flag = true)]
    Tools {
        /// The tool and its options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Print the Cassandra schema (CQL) that `serve --store cassandra` creates, with the
    /// replication and keyspace prefix of the config file; `--drop` drops those keyspaces.
    Schema(SchemaArgs),
    /// Print the Kamailio `modparam` lines for auth_ephemeral that match the `[credential]`
    /// section of a config file (every secret, sha_algorithm, username_format).
    CredentialSecrets {
        /// TOML configuration file with a `[credential]` section.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// A Diameter HSS simulator (Cx and Zh) for tests and load: generated or file population,
    /// latency and error injection, PPR/RTR on command (see README, "HSS simulator").
    HssSim(Box<hsssim::HssSimArgs>),
}

/// Options of `hearth schema`.
#[derive(clap::Args)]
struct SchemaArgs {
    /// TOML configuration file (its `[cassandra]` section).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Cassandra nodes `host:port,...` (overrides the config file).
    #[arg(long, value_name = "HOST:PORT,...", value_delimiter = ',')]
    cassandra_contact_points: Vec<String>,
    /// Prefix of the keyspace names (overrides the config file).
    #[arg(long, value_name = "PREFIX")]
    cassandra_keyspace_prefix: Option<String>,
    /// Drop every keyspace of the prefix from the cluster instead of printing the schema.
    #[arg(long)]
    drop: bool,
}

/// Options of `hearth serve`; each overrides the config file.
#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file (every key optional; see README.md for the reference).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of the embedded store [default: ./hearth-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Subscriber store [default: embedded].
    #[arg(long, value_name = "KIND")]
    store: Option<config::StoreKind>,
    /// Cassandra nodes to discover the cluster from, `host:port,...` [default: 127.0.0.1:9042].
    #[arg(long, value_name = "HOST:PORT,...", value_delimiter = ',')]
    cassandra_contact_points: Vec<String>,
    /// Prefix of the Cassandra keyspace names (several deployments or test runs on one
    /// cluster).
    #[arg(long, value_name = "PREFIX")]
    cassandra_keyspace_prefix: Option<String>,
    /// Number of shards, one executor pinned per core [default: the cores available].
    #[arg(long, value_name = "N")]
    shards: Option<usize>,
    /// Homestead signalling API listener [default: 127.0.0.1:8888].
    #[arg(long, value_name = "ADDR")]
    signalling_addr: Option<std::net::SocketAddr>,
    /// Provisioning API listener [default: 127.0.0.1:8889].
    #[arg(long, value_name = "ADDR")]
    provisioning_addr: Option<std::net::SocketAddr>,
    /// Home domain: the default realm of private identities [default: example.com].
    #[arg(long, value_name = "DOMAIN")]
    home_domain: Option<String>,
    /// S-CSCF URI answered by registration-status and location without an HSS.
    #[arg(long, value_name = "URI")]
    scscf_uri: Option<String>,
    /// Ephemeral credential service listener [default: 127.0.0.1:8085]; the service runs when
    /// the config file has a `[credential]` section.
    #[arg(long, value_name = "ADDR")]
    credential_addr: Option<std::net::SocketAddr>,
    /// External HSS host (Clearwater's hss_hostname); enables HSS mode.
    #[arg(long, value_name = "HOST")]
    hss_hostname: Option<String>,
    /// External HSS realm, discovered by NAPTR/SRV (Clearwater's hss_realm); enables HSS mode.
    #[arg(long, value_name = "REALM")]
    hss_realm: Option<String>,
    /// Diameter port of --hss-hostname [default: 3868].
    #[arg(long, value_name = "PORT")]
    hss_port: Option<u16>,
    /// A static HSS peer `host:port` (repeatable); enables HSS mode.
    #[arg(long = "hss-peer", value_name = "HOST:PORT")]
    hss_peers: Vec<String>,
    /// Listener for incoming Diameter connections from HSSs.
    #[arg(long, value_name = "ADDR")]
    diameter_addr: Option<std::net::SocketAddr>,
    /// An Origin-Host allowed to connect to `--diameter-addr` (repeatable; `*` for any).
    #[arg(long = "diameter-allowed-peer", value_name = "HOST")]
    diameter_allowed_peers: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Tools { args } => ExitCode::from(tools::run(&args)),
        Command::HssSim(args) => hsssim::run(*args),
        Command::CredentialSecrets { config } => match credential_secrets(&config) {
            Ok(lines) => {
                print!("{lines}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hearth: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Schema(args) => match schema(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hearth: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve(args) => match serve(*args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hearth: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn credential_secrets(path: &std::path::Path) -> Result<String, String> {
    let config = Config::from_file(path)?;
    let credential = config
        .credential
        .ok_or_else(|| format!("{} has no [credential] section", path.display()))?;
    credential.validate()?;
    Ok(api::credential::kamailio_params(&credential))
}

fn schema(args: SchemaArgs) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if !args.cassandra_contact_points.is_empty() {
        config.cassandra.contact_points = args.cassandra_contact_points;
    }
    if let Some(prefix) = args.cassandra_keyspace_prefix {
        config.cassandra.keyspace_prefix = Some(prefix);
    }
    config.cassandra.validate()?;
    if !args.drop {
        print!("{}", store::cassandra::schema::script(&config.cassandra));
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime
        .block_on(store::cassandra::drop_keyspaces(&config.cassandra))
        .map_err(|e| e.to_string())
}

fn serve(args: ServeArgs) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(v) = args.data_dir {
        config.data_dir = v;
    }
    if let Some(v) = args.store {
        config.store = v;
    }
    if !args.cassandra_contact_points.is_empty() {
        config.cassandra.contact_points = args.cassandra_contact_points;
    }
    if let Some(v) = args.cassandra_keyspace_prefix {
        config.cassandra.keyspace_prefix = Some(v);
    }
    if let Some(v) = args.shards {
        config.shards = v;
    }
    if let Some(v) = args.signalling_addr {
        config.signalling_addr = v;
    }
    if let Some(v) = args.provisioning_addr {
        config.provisioning_addr = v;
    }
    if let Some(v) = args.home_domain {
        config.home_domain = v;
    }
    if let Some(v) = args.scscf_uri {
        config.scscf_uri = v;
    }
    if let Some(v) = args.credential_addr {
        config.credential.get_or_insert_with(Default::default).addr = v;
    }
    if let Some(v) = args.hss_hostname {
        config.hss_hostname = Some(v);
    }
    if let Some(v) = args.hss_realm {
        config.hss_realm = Some(v);
    }
    if let Some(v) = args.hss_port {
        config.hss_port = v;
    }
    if !args.hss_peers.is_empty() {
        config.hss.peers = args.hss_peers;
    }
    if let Some(v) = args.diameter_addr {
        config.hss.diameter_addr = Some(v);
    }
    if !args.diameter_allowed_peers.is_empty() {
        config.hss.allowed_peers = args.diameter_allowed_peers;
    }
    config.validate()?;
    let credential = config
        .credential
        .as_ref()
        .map(api::credential::Service::from_config)
        .transpose()?
        .map(Arc::new);

    let store = match config.store {
        config::StoreKind::Embedded => {
            let embedded = store::EmbeddedStore::open(&config.data_dir).map_err(|e| {
                if e.to_string().contains("Locked") {
                    format!(
                        "data directory {} is in use by another hearth process",
                        config.data_dir.display()
                    )
                } else {
                    format!("cannot open store in {}: {e}", config.data_dir.display())
                }
            })?;
            store::StoreHandle::embedded(store::StoreThreads::start(Arc::new(embedded), 2))
        }
        config::StoreKind::Cassandra => {
            let client = store::cassandra::CassandraClient::start(&config.cassandra, 2)
                .map_err(|e| e.to_string())?;
            tracing::info!(
                contact_points = %config.cassandra.contact_points.join(","),
                consistency = %config.cassandra.consistency,
                "Cassandra store ready"
            );
            store::StoreHandle::cassandra(client)
        }
    };
    let result = engine::run(config, store.clone(), credential);
    // Every shard has stopped: flush what the store holds before exiting.
    store.shutdown();
    result
}
