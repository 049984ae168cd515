//! The MCP Registry: finding servers in a registry of `server.json`
//! documents (the official one at `registry.modelcontextprotocol.io`, or a
//! private one at `[registry] url`) and turning the one a person picks into
//! a `[servers.NAME]` entry.
//!
//! What it guarantees: nothing from a registry runs by itself. [`plan`] only
//! describes a server config; adding it goes through the same path as
//! `portcullis upstream add`, so its tools wait in quarantine like any
//! other's. Values a `server.json` marks secret are never put in the config:
//! the plan carries them apart, to be stored as secrets. The endpoints used are
//! listed in `client.rs`; which `server.json` fields are read, in `types.rs`.

mod client;
mod error;
mod install;
mod types;

pub use client::{RegistryClient, DEFAULT_PAGE};
pub use error::RegistryError;
pub use install::{
    derive_name, inputs, plan, Input, InputPlace, InstallPlan, InstallRequest, SecretValue, Via,
};
pub use types::{
    Argument, InputSpec, KeyValue, ListMetadata, Official, Package, PackageKind, Remote,
    Repository, ResponseMeta, ServerDetail, ServerList, ServerResponse, Transport,
};
