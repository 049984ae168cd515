//! `[registry]`: which MCP registry `portcullis registry` and the web UI's
//! Catalog page read.

use serde::{Deserialize, Serialize};

/// The official registry.
pub const DEFAULT_REGISTRY_URL: &str = "https://registry.modelcontextprotocol.io";

/// `[registry]` as written; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// The registry's base URL (it serves `/v0.1/servers`). Default the
    /// official registry.
    pub url: Option<String>,
}

/// The resolved `[registry]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrySettings {
    /// The registry's base URL.
    pub url: reqwest::Url,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            url: reqwest::Url::parse(DEFAULT_REGISTRY_URL)
                .expect("the default registry URL parses"),
        }
    }
}

impl RegistrySettings {
    /// Checks `[registry]`; an error is (what was wrong, what to do).
    pub(super) fn resolve(file: &RegistryConfig) -> Result<Self, (String, String)> {
        let Some(text) = file.url.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Self::default());
        };
        let bad = |why: &str| {
            (
                format!("[registry] url `{text}` {why}"),
                format!("write the registry's base URL, e.g. \"{DEFAULT_REGISTRY_URL}\" (the official one, the default)"),
            )
        };
        let url = reqwest::Url::parse(text).map_err(|e| bad(&format!("is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("is not http or https"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("has a query or fragment"));
        }
        Ok(Self { url })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_registry_unless_another_is_named() {
        let official = RegistrySettings::resolve(&RegistryConfig::default()).unwrap();
        assert_eq!(
            official.url.as_str(),
            "https://registry.modelcontextprotocol.io/"
        );
        let private = RegistrySettings::resolve(&RegistryConfig {
            url: Some("http://127.0.0.1:8080/mcp-registry".into()),
        })
        .unwrap();
        assert_eq!(private.url.path(), "/mcp-registry");
        for bad in ["ftp://x", "registry", "http://h/?q=1"] {
            let (msg, hint) = RegistrySettings::resolve(&RegistryConfig {
                url: Some(bad.into()),
            })
            .unwrap_err();
            assert!(
                msg.contains("[registry] url") && hint.contains("base URL"),
                "{msg}"
            );
        }
    }
}
