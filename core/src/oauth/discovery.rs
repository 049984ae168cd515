//! Finding who to ask: the `WWW-Authenticate` challenge, the protected
//! resource metadata (RFC 9728, with its well-known fallbacks) and the
//! authorization server metadata (RFC 8414 and OpenID discovery, with the
//! path-insertion variants the MCP authorization spec lists, in its order).

use serde::Deserialize;

use super::OAuthError;

/// The parameters of a `Bearer` challenge.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) resource_metadata: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) error: Option<String>,
}

impl Challenge {
    /// Reads the `Bearer` challenge of a `WWW-Authenticate` value (RFC 6750 §3).
    pub(crate) fn parse(header: Option<&str>) -> Self {
        let mut out = Self::default();
        let Some(text) = header else { return out };
        // The `Bearer` challenge, else a `DPoP` one (RFC 9449 §7.1): the same parameters.
        let lower = text.to_ascii_lowercase();
        let Some((start, scheme)) = lower
            .find("bearer")
            .map(|i| (i, "bearer"))
            .or_else(|| lower.find("dpop").map(|i| (i, "dpop")))
        else {
            return out;
        };
        let mut rest = &text[start + scheme.len()..];
        loop {
            rest = rest.trim_start_matches([' ', ',', '\t']);
            let Some(eq) = rest.find('=') else { break };
            let key = rest[..eq].trim().to_ascii_lowercase();
            if key.contains(' ') {
                break; // the next challenge's scheme
            }
            rest = &rest[eq + 1..];
            let value;
            if let Some(quoted) = rest.strip_prefix('"') {
                let mut v = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                v.push(n);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                value = v;
                rest = &quoted[end.min(quoted.len())..];
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                value = rest[..end].trim().to_owned();
                rest = &rest[end..];
            }
            match key.as_str() {
                "resource_metadata" => out.resource_metadata = Some(value),
                "scope" => out.scope = Some(value).filter(|s| !s.trim().is_empty()),
                "error" => out.error = Some(value),
                _ => {}
            }
        }
        out
    }
}

/// Protected resource metadata (RFC 9728).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResourceMetadata {
    pub(crate) resource: Option<String>,
    #[serde(default)]
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) scopes_supported: Option<Vec<String>>,
}

/// Authorization server metadata (RFC 8414).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ServerMetadata {
    pub(crate) issuer: String,
    pub(crate) authorization_endpoint: Option<String>,
    pub(crate) token_endpoint: Option<String>,
    pub(crate) registration_endpoint: Option<String>,
    pub(crate) scopes_supported: Option<Vec<String>>,
    pub(crate) token_endpoint_auth_methods_supported: Option<Vec<String>>,
    pub(crate) code_challenge_methods_supported: Option<Vec<String>>,
    pub(crate) grant_types_supported: Option<Vec<String>>,
    pub(crate) dpop_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) client_id_metadata_document_supported: bool,
    #[serde(default)]
    pub(crate) authorization_response_iss_parameter_supported: bool,
}

/// GETs a JSON document; `None` when it is not there (any 4xx).
async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<Option<T>, String> {
    super::urls::secure(url, "a metadata URL")?;
    let mut resp = http
        .get(url)
        .header("accept", "application/json")
        .header("mcp-protocol-version", crate::protocol::LATEST_VERSION)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    if status.is_client_error() {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(format!("{url} answered HTTP {}", status.as_u16()));
    }
    // A running limit: a huge (or endless) document is refused as it passes 1 MiB, not after.
    let limit = super::urls::MAX_DOCUMENT;
    let too_large = || format!("{url}: the document is larger than {} KiB", limit / 1024);
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| format!("{url} is not valid metadata: {e}"))
}

/// The URL with its path replaced, no query or fragment.
fn with_path(base: &reqwest::Url, path: &str) -> String {
    let mut u = base.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.set_path(path);
    u.to_string()
}

/// The protected resource metadata of `server_url`: where the challenge
/// says, else the path-aware well-known URL, else the root one.
pub(crate) async fn resource_metadata(
    http: &reqwest::Client,
    server_url: &str,
    challenge: &Challenge,
) -> Result<Option<ResourceMetadata>, OAuthError> {
    let url = reqwest::Url::parse(server_url)
        .map_err(|e| discovery("protected resource metadata", e.to_string()))?;
    let mut candidates = Vec::new();
    if let Some(m) = &challenge.resource_metadata {
        candidates.push(m.clone());
    }
    let path = url.path().trim_end_matches('/');
    if !path.is_empty() {
        candidates.push(with_path(
            &url,
            &format!("/.well-known/oauth-protected-resource{path}"),
        ));
    }
    candidates.push(with_path(&url, "/.well-known/oauth-protected-resource"));
    let mut tried = Vec::new();
    for c in candidates {
        match get_json::<ResourceMetadata>(http, &c).await {
            Ok(Some(m)) => return Ok(Some(m)),
            Ok(None) => tried.push(c),
            Err(e) => tried.push(e),
        }
    }
    tracing::debug!("no protected resource metadata: tried {}", tried.join(", "));
    Ok(None)
}

/// The metadata of the authorization server `issuer`, checked to name itself.
pub(crate) async fn server_metadata(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<ServerMetadata, OAuthError> {
    let what = "authorization server metadata";
    let url = reqwest::Url::parse(issuer)
        .map_err(|e| discovery(what, format!("issuer `{issuer}`: {e}")))?;
    let path = url.path().trim_end_matches('/').to_owned();
    let candidates = if path.is_empty() {
        vec![
            with_path(&url, "/.well-known/oauth-authorization-server"),
            with_path(&url, "/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            with_path(
                &url,
                &format!("/.well-known/oauth-authorization-server{path}"),
            ),
            with_path(&url, &format!("/.well-known/openid-configuration{path}")),
            with_path(&url, &format!("{path}/.well-known/openid-configuration")),
        ]
    };
    let mut tried = Vec::new();
    for c in &candidates {
        match get_json::<ServerMetadata>(http, c).await {
            Ok(Some(m)) => {
                for (what, endpoint) in [
                    ("authorization_endpoint", &m.authorization_endpoint),
                    ("token_endpoint", &m.token_endpoint),
                    ("registration_endpoint", &m.registration_endpoint),
                ] {
                    if let Some(e) = endpoint {
                        super::urls::secure(e, what).map_err(|message| OAuthError::Untrusted {
                            message: format!("the metadata at {c}: {message}"),
                            hint: "an authorization server must use https (or http on this machine's loopback); ask its operator".into(),
                        })?;
                    }
                }
                if m.issuer != issuer {
                    return Err(OAuthError::Untrusted {
                        message: format!("the metadata at {c} names issuer `{}`, not `{issuer}`", m.issuer),
                        hint: "the authorization server's metadata does not belong to it; ask the server's operator to fix `issuer`".into(),
                    });
                }
                return Ok(m);
            }
            Ok(None) => tried.push(c.clone()),
            Err(e) => tried.push(e),
        }
    }
    Err(discovery(
        what,
        format!("nothing found at {}", tried.join(", ")),
    ))
}

fn discovery(what: &'static str, message: String) -> OAuthError {
    OAuthError::Discovery { what, message, hint: "check the server's URL; if it needs a token you got elsewhere, put it in `headers` under its [servers.<name>] table".into() }
}

/// Whether protected resource metadata naming `resource` may speak for `server_url`:
/// same origin, and the server's path inside the resource's.
pub(crate) fn resource_covers(resource: &str, server_url: &str) -> bool {
    let (Ok(r), Ok(s)) = (
        reqwest::Url::parse(resource),
        reqwest::Url::parse(server_url),
    ) else {
        return false;
    };
    if r.origin() != s.origin() {
        return false;
    }
    let rp = r.path().trim_end_matches('/');
    let sp = s.path().trim_end_matches('/');
    sp == rp || sp.starts_with(&format!("{rp}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_read() {
        let c = Challenge::parse(Some(
            r#"Bearer error="insufficient_scope", scope="a b", resource_metadata="http://h/.well-known/x", error_description="no \"way\"""#,
        ));
        assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(c.scope.as_deref(), Some("a b"));
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("http://h/.well-known/x")
        );
        let c = Challenge::parse(Some("Bearer realm=x, scope=read"));
        assert_eq!(c.scope.as_deref(), Some("read"));
        assert_eq!(Challenge::parse(None), Challenge::default());
    }

    #[test]
    fn resources_cover_their_paths_only() {
        assert!(resource_covers("http://h:1/mcp", "http://h:1/mcp"));
        assert!(resource_covers("http://h:1", "http://h:1/mcp"));
        assert!(resource_covers("http://h:1/", "http://h:1/mcp"));
        assert!(!resource_covers(
            "https://evil.example.com/mcp",
            "http://h:1/mcp"
        ));
        assert!(!resource_covers("http://h:1/mc", "http://h:1/mcp"));
        assert!(!resource_covers("http://h:2/mcp", "http://h:1/mcp"));
    }
}
