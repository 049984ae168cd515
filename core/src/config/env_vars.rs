//! Every environment variable Portcullis reads, listed once.

/// Names of the environment variables Portcullis reads.
pub struct EnvVars;

impl EnvVars {
    /// Puts the config file, the data dir and the logs under one folder.
    pub const PORTCULLIS_HOME: &'static str = "PORTCULLIS_HOME";
    /// The address to listen on, below `--listen` and above the file.
    pub const PORTCULLIS_LISTEN: &'static str = "PORTCULLIS_LISTEN";
    /// A tracing filter, e.g. `portcullis=debug`.
    pub const PORTCULLIS_LOG: &'static str = "PORTCULLIS_LOG";
    /// The Docker engine's socket for isolated servers (`unix://…`), as the
    /// Docker CLI reads it. Default `unix:///var/run/docker.sock`.
    pub const DOCKER_HOST: &'static str = "DOCKER_HOST";
    /// A passphrase sealing the encrypted secrets file (used where there is
    /// no OS keyring), instead of the key file beside it.
    pub const PORTCULLIS_SECRETS_KEY: &'static str = "PORTCULLIS_SECRETS_KEY";
}
