//! The registry's v0.1 REST API, as far as finding and reading servers:
//! `GET /v0.1/servers?search=&limit=&cursor=&version=latest` and
//! `GET /v0.1/servers/{name}/versions/{version}` (`latest` for the newest).

use std::time::Duration;

use futures::StreamExt;
use reqwest::Url;

use super::{RegistryError, ServerList, ServerResponse};

/// Servers per page when none is asked for.
pub const DEFAULT_PAGE: u32 = 30;
/// The most a registry's answer may weigh.
const MAX_BODY: usize = 8 << 20;
/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A client of one registry. Clones share the connection pool.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    base: Url,
    http: reqwest::Client,
}

impl RegistryClient {
    /// A client of the registry at `base` (e.g. `https://registry.modelcontextprotocol.io`).
    pub fn new(base: Url) -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { base, http }
    }

    /// The registry's base URL, as configured.
    pub fn url(&self) -> &Url {
        &self.base
    }

    fn base_text(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// The latest version of each server whose name (or, on the official
    /// registry, description) contains `text`; one page of at most `limit`.
    pub async fn search(
        &self,
        text: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<ServerList, RegistryError> {
        let mut url = self.endpoint(&["v0.1", "servers"]);
        {
            let mut q = url.query_pairs_mut();
            if !text.trim().is_empty() {
                q.append_pair("search", text.trim());
            }
            q.append_pair("limit", &limit.clamp(1, 100).to_string());
            q.append_pair("version", "latest");
            if let Some(c) = cursor.filter(|c| !c.is_empty()) {
                q.append_pair("cursor", c);
            }
        }
        self.get(url).await?.ok_or_else(|| RegistryError::Status {
            url: self.base_text(),
            path: "/v0.1/servers".into(),
            status: 404,
            detail: None,
        })
    }

    /// One server at `version` (default: its latest).
    pub async fn server(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<ServerResponse, RegistryError> {
        let url = self.endpoint(&[
            "v0.1",
            "servers",
            name,
            "versions",
            version.unwrap_or("latest"),
        ]);
        self.get(url)
            .await?
            .ok_or_else(|| RegistryError::UnknownServer {
                url: self.base_text(),
                name: name.to_owned(),
                version: version.map(str::to_owned),
            })
    }

    /// `base` + path segments, each percent-encoded (a server name's `/` too).
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// GETs `url` and reads its JSON; `None` for a 404.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<Option<T>, RegistryError> {
        let path = url.path().to_owned();
        let unreachable = |e: reqwest::Error| RegistryError::Unreachable {
            url: self.base_text(),
            reason: error_chain(&e),
        };
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.map_err(unreachable)?);
            if body.len() > MAX_BODY {
                return Err(RegistryError::Malformed {
                    url: self.base_text(),
                    path,
                    reason: format!("the answer is larger than {} MiB", MAX_BODY >> 20),
                });
            }
        }
        if !status.is_success() {
            let detail = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
            return Err(RegistryError::Status {
                url: self.base_text(),
                path,
                status: status.as_u16(),
                detail,
            });
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| RegistryError::Malformed {
                url: self.base_text(),
                path,
                reason: e.to_string(),
            })
    }
}

/// An error with its causes (reqwest's own message omits the interesting part).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let line = s.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = s.source();
    }
    text
}
