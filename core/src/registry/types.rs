//! A registry's documents as it sends them: the `server.json` of a server
//! ([`ServerDetail`]) and the envelopes of the v0.1 API around it.
//!
//! Fields Portcullis does not use are ignored rather than refused, so a
//! registry that adds fields (the API grows additively) still reads.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// `GET /v0.1/servers`: one page of servers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ServerList {
    /// The servers on this page.
    pub servers: Vec<ServerResponse>,
    /// Paging.
    #[serde(default)]
    pub metadata: ListMetadata,
}

/// The `metadata` of a page.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMetadata {
    /// Pass as `cursor` for the next page; absent or empty on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Servers on this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// One server version with the registry's own metadata beside it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ServerResponse {
    /// The `server.json` as published.
    pub server: ServerDetail,
    /// What the registry says about it.
    #[serde(rename = "_meta", default)]
    pub meta: ResponseMeta,
}

/// `_meta` of a [`ServerResponse`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ResponseMeta {
    /// The official registry's metadata (other registries may leave it out).
    #[serde(
        rename = "io.modelcontextprotocol.registry/official",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub official: Option<Official>,
}

/// `_meta["io.modelcontextprotocol.registry/official"]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Official {
    /// `active`, `deprecated` or `deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why it was deprecated or deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// When this version was published (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Whether this is the server's latest version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_latest: Option<bool>,
}

/// A `server.json`: how to get and run one MCP server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerDetail {
    /// Reverse-DNS name, e.g. `io.github.owner/weather`.
    pub name: String,
    /// What it does, in one line.
    #[serde(default)]
    pub description: String,
    /// Its version.
    pub version: String,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    /// Where its source is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<Repository>,
    /// Packages that run it locally.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    /// Hosted endpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remotes: Vec<Remote>,
}

/// `repository`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Repository {
    /// Its URL.
    pub url: String,
    /// `github`, `gitlab`…
    #[serde(default)]
    pub source: String,
    /// The folder of a monorepo the server is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subfolder: Option<String>,
}

/// One entry of `packages`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// `npm`, `pypi`, `oci`, `nuget`, `mcpb`…
    pub registry_type: String,
    /// The package registry, when not the type's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_base_url: Option<String>,
    /// Package name (or image reference, or download URL).
    pub identifier: String,
    /// Exact version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `npx`, `uvx`, `docker`, `dnx`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_hint: Option<String>,
    /// How it speaks MCP once running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// Arguments for the runtime (npx, uvx, docker).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime_arguments: Vec<Argument>,
    /// Arguments for the package's program.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub package_arguments: Vec<Argument>,
    /// Its environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_variables: Vec<KeyValue>,
}

/// The package registries Portcullis knows how to run from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PackageKind {
    /// npm, run with `npx`.
    Npm,
    /// PyPI, run with `uvx`.
    Pypi,
    /// An OCI (Docker) image.
    Oci,
    /// Anything else (`nuget`, `mcpb`, …).
    Other,
}

impl Package {
    /// Which kind of package this is.
    pub fn kind(&self) -> PackageKind {
        match self.registry_type.as_str() {
            "npm" => PackageKind::Npm,
            "pypi" => PackageKind::Pypi,
            "oci" => PackageKind::Oci,
            _ => PackageKind::Other,
        }
    }

    /// `stdio` unless the package says otherwise.
    pub fn transport_type(&self) -> &str {
        self.transport.as_ref().map_or("stdio", |t| t.kind.as_str())
    }

    /// One line: `npm @scope/pkg@1.2.3 (stdio)`.
    pub fn summary(&self) -> String {
        let version = self
            .version
            .as_deref()
            .map(|v| format!("@{v}"))
            .unwrap_or_default();
        format!(
            "{} {}{version} ({})",
            self.registry_type,
            self.identifier,
            self.transport_type()
        )
    }
}

/// A package's `transport`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Transport {
    /// `stdio`, `streamable-http` or `sse`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For HTTP transports: the local URL (a template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For HTTP transports: headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<KeyValue>,
}

/// One entry of `remotes`: a hosted endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Remote {
    /// `streamable-http` or `sse`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its URL, possibly with `{variables}`.
    pub url: String,
    /// Headers it needs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<KeyValue>,
    /// What the `{variables}` of `url` stand for.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub variables: IndexMap<String, InputSpec>,
}

/// An input: what a client may ask the person for (the schema's `Input`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputSpec {
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the server needs it.
    #[serde(default)]
    pub is_required: bool,
    /// Whether it is a password, token or key.
    #[serde(default)]
    pub is_secret: bool,
    /// A fixed value (not for the person to change), maybe with `{variables}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A sensible value to offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// An example to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// The values allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// What the `{variables}` of `value` stand for.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub variables: IndexMap<String, InputSpec>,
}

/// An environment variable or header (the schema's `KeyValueInput`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct KeyValue {
    /// Its name.
    pub name: String,
    /// What it takes.
    #[serde(flatten)]
    pub input: InputSpec,
}

/// A command-line argument (the schema's `PositionalArgument` or `NamedArgument`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Argument {
    /// `positional` or `named`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A named argument's flag, e.g. `--port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A positional argument's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_hint: Option<String>,
    /// Whether it may be given more than once.
    #[serde(default)]
    pub is_repeated: bool,
    /// What it takes.
    #[serde(flatten)]
    pub input: InputSpec,
}

impl ServerDetail {
    /// What it offers, in one line: `npm @scope/pkg@1.0.0 (stdio); remote streamable-http`.
    pub fn offers(&self) -> String {
        let mut parts: Vec<String> = self.packages.iter().map(Package::summary).collect();
        parts.extend(self.remotes.iter().map(|r| format!("remote {}", r.kind)));
        if parts.is_empty() {
            "nothing to run".to_owned()
        } else {
            parts.join("; ")
        }
    }
}
