//! Turning a `server.json` into a server config: which package or remote,
//! what command or URL, and which values the person must give.
//!
//! - npm → `npx -y IDENTIFIER@VERSION ARGS…`; PyPI → `uvx IDENTIFIER@VERSION ARGS…`;
//!   only packages that speak stdio (Portcullis starts the command itself).
//! - a remote → its URL, `streamable-http` or `sse`.
//! - environment variables and headers: a fixed `value` is written out; a
//!   value the person gives for a secret input becomes `{ secret = "NAME.KEY" }`
//!   and travels in [`InstallPlan::secrets`], never in the config; a required
//!   input with neither a value nor a default is asked for.
//! - `{variables}` in values and URLs are filled from what the person gave,
//!   else their defaults.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::types::{Argument, InputSpec, KeyValue, Package, PackageKind, Remote, ServerDetail};
use super::RegistryError;
use crate::config::{IsolationKind, ServerConfig, TransportKind, ValueOrSecret};
use crate::secrets::SecretName;

/// Run a package, or reach a remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// The first package Portcullis can run.
    Package,
    /// The first remote.
    Remote,
}

/// What a person asks for when adding a server from a registry.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstallRequest {
    /// The local server name; default derived from the registry name.
    #[serde(default)]
    pub local_name: Option<String>,
    /// Package or remote; default a package when there is one Portcullis can run.
    #[serde(default)]
    pub via: Option<Via>,
    /// `docker` runs the package's command in a hardened container.
    #[serde(default)]
    pub isolation: Option<IsolationKind>,
    /// Values by environment variable, header, argument or variable name.
    #[serde(default)]
    pub values: IndexMap<String, String>,
}

/// Where an input goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputPlace {
    /// An environment variable.
    Env,
    /// An HTTP header.
    Header,
    /// A command-line argument.
    Argument,
    /// A `{variable}` of a URL or value.
    Variable,
}

/// A value the person may (or must) give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// Its key: `API_KEY`, `Authorization`, `--port`, `host`.
    pub key: String,
    /// Where it goes.
    pub place: InputPlace,
    /// What the server.json says it is.
    pub description: Option<String>,
    /// Whether the server needs it.
    pub required: bool,
    /// Whether it is stored as a secret.
    pub secret: bool,
    /// Used when none is given.
    pub default: Option<String>,
    /// The values allowed.
    pub choices: Vec<String>,
}

impl Input {
    /// `API_KEY (secret): API key for the service`.
    pub fn describe(&self) -> String {
        let secret = if self.secret { " (secret)" } else { "" };
        match &self.description {
            Some(d) => format!("{}{secret}: {d}", self.key),
            None => format!("{}{secret}", self.key),
        }
    }

    /// The command-line flag that gives it: `--env API_KEY=…`.
    pub fn flag(&self) -> String {
        format!("--env {}=…", self.key)
    }
}

/// A server config ready to add, with the secrets to store for it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallPlan {
    /// The local name.
    pub name: String,
    /// The config (secrets by name only).
    pub config: ServerConfig,
    /// Values to store as secrets before the config is written.
    pub secrets: Vec<SecretValue>,
    /// What it runs, for the person: `npm @scope/pkg@1.0.0`.
    pub source: String,
}

/// A value to keep as a secret, which the config names.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue {
    /// `env` or `headers`.
    pub table: &'static str,
    /// The variable or header.
    pub key: String,
    /// The secret's name, `SERVER.KEY`.
    pub name: SecretName,
    /// The value.
    pub value: String,
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the value, whatever prints a plan.
        write!(
            f,
            "SecretValue({} {} as {})",
            self.table, self.key, self.name
        )
    }
}

/// The local name for a registry name: the part after `/`, with other
/// characters than `A-Z a-z 0-9 _ -` replaced, at most 64.
pub fn derive_name(registry_name: &str) -> String {
    let tail = registry_name.rsplit('/').next().unwrap_or(registry_name);
    let mut name: String = tail
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(64);
    if name.is_empty() {
        "server".to_owned()
    } else {
        name
    }
}

/// The first package Portcullis can run: npm or PyPI over stdio.
fn runnable(detail: &ServerDetail) -> Option<&Package> {
    detail.packages.iter().find(|p| {
        matches!(p.kind(), PackageKind::Npm | PackageKind::Pypi) && p.transport_type() == "stdio"
    })
}

enum Chosen<'a> {
    Package(&'a Package),
    Remote(&'a Remote),
}

fn choose(detail: &ServerDetail, via: Option<Via>) -> Result<Chosen<'_>, RegistryError> {
    let not = |hint: &str| RegistryError::NotInstallable {
        name: detail.name.clone(),
        found: detail.offers(),
        hint: hint.to_owned(),
    };
    let remote = detail
        .remotes
        .iter()
        .find(|r| matches!(r.kind.as_str(), "streamable-http" | "sse"));
    match via {
        Some(Via::Remote) => remote
            .map(Chosen::Remote)
            .ok_or_else(|| not("it has no remote: add it as a package (leave out --remote)")),
        Some(Via::Package) => runnable(detail)
            .map(Chosen::Package)
            .ok_or_else(|| not(&package_hint(detail))),
        None => runnable(detail)
            .map(Chosen::Package)
            .or(remote.map(Chosen::Remote))
            .ok_or_else(|| not(&package_hint(detail))),
    }
}

fn package_hint(detail: &ServerDetail) -> String {
    match detail.packages.iter().find(|p| p.kind() == PackageKind::Oci) {
        Some(oci) => format!("Portcullis runs npm and PyPI packages over stdio, and remotes; an OCI image's own entrypoint is not run yet. Add it by hand with the server's command in that image: portcullis upstream add --name {} --isolation docker --image {} --command COMMAND", derive_name(&detail.name), image_ref(oci)),
        None => "Portcullis runs npm and PyPI packages over stdio, and remotes (streamable-http, sse); add another way by hand with `portcullis upstream add`".to_owned(),
    }
}

/// `identifier`, with `:version` when it names no tag or digest.
fn image_ref(p: &Package) -> String {
    let last = p.identifier.rsplit('/').next().unwrap_or(&p.identifier);
    match &p.version {
        Some(v) if !last.contains(':') && !last.contains('@') => format!("{}:{v}", p.identifier),
        _ => p.identifier.clone(),
    }
}

/// Every value the chosen package or remote takes, in order.
pub fn inputs(detail: &ServerDetail, via: Option<Via>) -> Result<Vec<Input>, RegistryError> {
    let mut out = Vec::new();
    match choose(detail, via)? {
        Chosen::Package(p) => {
            for a in p.runtime_arguments.iter().chain(&p.package_arguments) {
                argument_inputs(a, &mut out);
            }
            for e in &p.environment_variables {
                key_value_inputs(e, InputPlace::Env, &mut out);
            }
        }
        Chosen::Remote(r) => {
            for (k, v) in &r.variables {
                out.push(input(k, InputPlace::Variable, v));
            }
            for h in &r.headers {
                key_value_inputs(h, InputPlace::Header, &mut out);
            }
        }
    }
    Ok(out)
}

fn input(key: &str, place: InputPlace, spec: &InputSpec) -> Input {
    Input {
        key: key.to_owned(),
        place,
        description: spec.description.clone(),
        required: spec.is_required,
        secret: spec.is_secret,
        default: spec.default.clone(),
        choices: spec.choices.clone(),
    }
}

fn key_value_inputs(kv: &KeyValue, place: InputPlace, out: &mut Vec<Input>) {
    if kv.input.value.is_none() {
        out.push(input(&kv.name, place, &kv.input));
    }
    for (k, v) in &kv.input.variables {
        out.push(input(k, InputPlace::Variable, v));
    }
}

fn argument_inputs(a: &Argument, out: &mut Vec<Input>) {
    if a.input.value.is_none() {
        if let Some(key) = a.name.as_ref().or(a.value_hint.as_ref()) {
            out.push(input(key, InputPlace::Argument, &a.input));
        }
    }
    for (k, v) in &a.input.variables {
        out.push(input(k, InputPlace::Variable, v));
    }
}

/// The config for `detail` as `request` asks; [`RegistryError::MissingValues`]
/// names every required value not given.
pub fn plan(detail: &ServerDetail, request: &InstallRequest) -> Result<InstallPlan, RegistryError> {
    let name = match request.local_name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => derive_name(&detail.name),
    };
    let chosen = choose(detail, request.via)?;
    let known = inputs(detail, request.via)?;
    if let Some(key) = request
        .values
        .keys()
        .find(|k| !known.iter().any(|i| &i.key == *k))
    {
        return Err(RegistryError::UnknownValue {
            name: detail.name.clone(),
            key: key.clone(),
            known: known.iter().map(|i| i.key.clone()).collect(),
        });
    }
    let mut b = Builder {
        server: &name,
        values: &request.values,
        missing: Vec::new(),
        secrets: Vec::new(),
    };
    let mut config = ServerConfig::default();
    let source = match chosen {
        Chosen::Package(p) => {
            let (command, spec) = match p.kind() {
                PackageKind::Npm => ("npx", versioned(p, "@")),
                _ => ("uvx", versioned(p, "@")),
            };
            let mut args = Vec::new();
            if command == "npx" {
                args.push("-y".to_owned());
            }
            for a in &p.runtime_arguments {
                b.argument(a, &mut args);
            }
            args.push(spec);
            for a in &p.package_arguments {
                b.argument(a, &mut args);
            }
            config.command = Some(command.to_owned());
            config.args = Some(args);
            config.env = b.table(&p.environment_variables, InputPlace::Env);
            config.isolation = request.isolation;
            p.summary()
        }
        Chosen::Remote(r) => {
            if request.isolation.is_some_and(|i| i != IsolationKind::None) {
                return Err(RegistryError::Invalid {
                    message: format!("`{}` is reached at a URL: only a command can run in a container or the sandbox", detail.name),
                    hint: "leave out --isolation, or add one of its packages instead (leave out --remote)".into(),
                });
            }
            config.url = Some(b.fill(&r.url, &r.variables));
            config.transport = Some(if r.kind == "sse" {
                TransportKind::Sse
            } else {
                TransportKind::StreamableHttp
            });
            config.headers = b.table(&r.headers, InputPlace::Header);
            format!("remote {} {}", r.kind, r.url)
        }
    };
    let (missing, secrets) = (b.missing, b.secrets);
    if !missing.is_empty() {
        return Err(RegistryError::MissingValues {
            name: detail.name.clone(),
            missing,
        });
    }
    Ok(InstallPlan {
        name,
        config,
        secrets,
        source,
    })
}

/// `identifier@version`, or the identifier alone when it has no version.
fn versioned(p: &Package, at: &str) -> String {
    match &p.version {
        Some(v) => format!("{}{at}{v}", p.identifier),
        None => p.identifier.clone(),
    }
}

struct Builder<'a> {
    server: &'a str,
    values: &'a IndexMap<String, String>,
    missing: Vec<Input>,
    secrets: Vec<SecretValue>,
}

impl Builder<'_> {
    /// The value for `key`: given, else the fixed value, else (if required) the default.
    fn value(&mut self, key: &str, place: InputPlace, spec: &InputSpec) -> Option<String> {
        if let Some(fixed) = &spec.value {
            return Some(self.fill(fixed, &spec.variables));
        }
        if let Some(given) = self.values.get(key) {
            return Some(given.clone());
        }
        if !spec.is_required {
            return None;
        }
        match &spec.default {
            Some(d) if !spec.is_secret => Some(d.clone()),
            _ => {
                self.missing.push(input(key, place, spec));
                None
            }
        }
    }

    /// `text` with each `{variable}` replaced by its given value or default.
    fn fill(&mut self, text: &str, variables: &IndexMap<String, InputSpec>) -> String {
        let mut out = text.to_owned();
        for (k, spec) in variables {
            let pattern = format!("{{{k}}}");
            if !out.contains(&pattern) {
                continue;
            }
            let value = self
                .values
                .get(k)
                .cloned()
                .or_else(|| spec.default.clone())
                .or_else(|| spec.value.clone());
            match value {
                Some(v) => out = out.replace(&pattern, &v),
                None => self.missing.push(input(k, InputPlace::Variable, spec)),
            }
        }
        out
    }

    fn argument(&mut self, a: &Argument, args: &mut Vec<String>) {
        let key = a
            .name
            .as_deref()
            .or(a.value_hint.as_deref())
            .unwrap_or("argument");
        let Some(value) = self.value(key, InputPlace::Argument, &a.input) else {
            return;
        };
        if a.kind == "named" {
            if let Some(flag) = &a.name {
                args.push(flag.clone());
            }
        }
        args.push(value);
    }

    fn table(
        &mut self,
        items: &[KeyValue],
        place: InputPlace,
    ) -> Option<IndexMap<String, ValueOrSecret>> {
        let mut map = IndexMap::new();
        for kv in items {
            let Some(value) = self.value(&kv.name, place, &kv.input) else {
                continue;
            };
            // A fixed value built from a secret variable is a secret too.
            if kv.input.is_secret || kv.input.variables.values().any(|v| v.is_secret) {
                let secret = SecretName::for_value(self.server, &kv.name);
                map.insert(kv.name.clone(), ValueOrSecret::Secret(secret.to_string()));
                self.secrets.push(SecretValue {
                    table: if place == InputPlace::Header {
                        "headers"
                    } else {
                        "env"
                    },
                    key: kv.name.clone(),
                    name: secret,
                    value,
                });
            } else {
                map.insert(kv.name.clone(), ValueOrSecret::Plain(value));
            }
        }
        (!map.is_empty()).then_some(map)
    }
}

#[cfg(test)]
#[path = "install_tests.rs"]
mod tests;
