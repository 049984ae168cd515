//! The CLI's way to a running gateway's admin API.

use serde::de::DeserializeOwned;

use super::RuntimeFile;
use crate::config::Paths;

/// A connection to a running gateway.
pub struct AdminClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// Talking to the running gateway failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request failed.
    #[error("the running gateway at {url} did not answer: {message}")]
    Request {
        /// Where.
        url: String,
        /// What failed.
        message: String,
        /// The runtime file.
        runtime: String,
    },
    /// The gateway refused: its message and hint.
    #[error("{message}")]
    Refused {
        /// What the gateway said.
        message: String,
        /// What to do.
        hint: Option<String>,
        /// For an approval refused because definitions changed since the
        /// person looked: each of them as it is now.
        changed: Vec<serde_json::Value>,
    },
}

fn answer_error(bytes: &[u8], status: reqwest::StatusCode) -> ClientError {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    ClientError::Refused {
        message: v.get("error").and_then(|e| e.as_str()).map_or_else(
            || format!("the gateway answered HTTP {status}"),
            str::to_owned,
        ),
        hint: v.get("hint").and_then(|h| h.as_str()).map(str::to_owned),
        changed: v
            .get("changed")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default(),
    }
}

impl AdminClient {
    /// Finds a running gateway through `gateway.json` and the CLI's token
    /// (`cli.token`, else `admin.token` of an older gateway).
    pub fn discover(paths: &Paths) -> Option<Self> {
        let rt = RuntimeFile::read(&paths.runtime_file())?;
        let token = std::fs::read_to_string(paths.cli_token())
            .or_else(|_| std::fs::read_to_string(paths.admin_token()))
            .ok()?
            .trim()
            .to_owned();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .ok()?;
        Some(Self {
            base: rt.api_url,
            token,
            http,
        })
    }

    /// POSTs JSON to `/api/v1/<path>` as the CLI; an error answer becomes the error's message and hint.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        runtime: &std::path::Path,
    ) -> Result<T, ClientError> {
        let url = format!("{}/{}", self.base, path);
        let request = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send(request, url, runtime).await
    }

    /// GETs `/api/v1/<path>`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        runtime: &std::path::Path,
    ) -> Result<T, ClientError> {
        let url = format!("{}/{}", self.base, path);
        let request = self.http.get(&url);
        self.send(request, url, runtime).await
    }

    /// DELETEs `/api/v1/<path>`.
    pub async fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        runtime: &std::path::Path,
    ) -> Result<T, ClientError> {
        let url = format!("{}/{}", self.base, path);
        let request = self.http.delete(&url);
        self.send(request, url, runtime).await
    }

    /// Sends `request` with the CLI's token and reads its JSON answer.
    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: String,
        runtime: &std::path::Path,
    ) -> Result<T, ClientError> {
        let err = |message: String| ClientError::Request {
            url: url.clone(),
            message,
            runtime: runtime.display().to_string(),
        };
        let resp = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| err(e.to_string()))?;
        if !status.is_success() {
            return Err(answer_error(&bytes, status));
        }
        serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))
    }
}

impl crate::hint::Hinted for ClientError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Request { runtime, .. } => Some(format!(
                "is it still running? remove {runtime} if it is not"
            )),
            Self::Refused { hint, .. } => hint.clone(),
        }
    }
}
