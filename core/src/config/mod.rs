//! Configuration: what the person declared.
//!
//! `file` holds the TOML types exactly as written (every field optional,
//! unknown fields refused); `settings` resolves them, with the command line
//! and environment on top, into validated values in one step. `edit` changes
//! the file keeping the person's comments and order; `isolation` resolves a server's container options; `import` reads the
//! server lists of other MCP clients (JSON, TOML, YAML; `import_shapes` knows each client's shape); `watch` notices edits.

mod edit;
mod egress;
mod env_vars;
mod error;
mod file;
mod import;
mod import_shapes;
mod isolation;
mod limits;
mod paths;
pub(crate) mod private_files;
mod profiles;
mod registry;
mod settings;
mod telemetry;
mod value;
mod watch;
mod words;

pub use edit::{ConfigEditor, GatewayChange};
pub use egress::{EgressAllowList, HostPattern, Network, NetworkConfig, DEFAULT_EGRESS_PORT};
pub use env_vars::EnvVars;
pub use error::ConfigError;
pub use file::{
    ConfigFile, GatewayConfig, OAuthConfig, ServerConfig, StartMode, SurfaceMode, TransportKind,
    UpstreamProtocol,
};
pub use import::{import_servers, parse_servers, ImportedServer};
pub(crate) use import::{jsonc_options, parse_jsonc};

pub use isolation::{
    parse_memory, DockerSettings, Isolation, IsolationKind, MountSpec, SandboxSettings,
    DEFAULT_CPUS, DEFAULT_MEMORY, DEFAULT_PIDS,
};
pub use limits::{Limits, LimitsConfig};
pub use paths::Paths;
pub use profiles::{check_profile_name, glob_match, Profile, ProfileConfig};
pub use registry::{RegistryConfig, RegistrySettings, DEFAULT_REGISTRY_URL};
pub use settings::{
    Concurrency, Overrides, ServerSettings, Settings, TransportSettings, DEFAULT_LISTEN,
    DEFAULT_MAX_QUEUE, DEFAULT_RETENTION_DAYS,
};
pub use telemetry::{TelemetryConfig, TelemetrySettings, DEFAULT_SERVICE_NAME};
pub use value::{check_secret_name, ValueOrSecret, MAX_SECRET_NAME};
pub use watch::ConfigWatcher;
pub use words::{split_words, UnclosedQuote};
