//! The steps of one sign-in: discovery, the client identity, the
//! authorization URL (PKCE S256, `state`, `resource`, scopes), the code
//! exchange with its `iss` check (RFC 9207), and refreshing.

use std::collections::HashMap;

use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use std::sync::Arc;

use super::discovery::{self, Challenge, ServerMetadata};
use super::dpop::DpopKey;
use super::machine::{client_credentials, jwt_bearer, JWT_BEARER};
use super::token_endpoint::{
    describe_error, dpop_key_for, random_token, record_of, refused, token_request, OFFLINE_ACCESS,
};
use super::{OAuthClient, OAuthError};
use crate::store::{OAuthClientRecord, OAuthTokenRecord};

/// A flow waiting for its callback.
#[derive(Clone)]
pub(super) struct Pending {
    pub(super) url: String,
    pub(super) state: String,
    verifier: String,
    redirect_uri: String,
    client: OAuthClientRecord,
    metadata: ServerMetadata,
    resource: Option<String>,
    dpop: Option<Arc<DpopKey>>,
}

fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What a sign-in needs next.
// Built once per sign-in and matched at once: the size of either variant does
// not matter, and boxing one only moves the warning to the other.
#[allow(clippy::large_enum_variant)]
pub(super) enum Prepared {
    /// A person, at this authorization URL.
    Browser(Pending),
    /// Nobody: the client credentials grant gave these tokens.
    Machine(OAuthTokenRecord),
}

/// Discovers, then either builds the authorization URL (after picking the
/// client) or, where the authorization server only offers the client
/// credentials grant and a client is configured, gets a token at once.
pub(super) async fn prepare(
    client: &OAuthClient,
    challenge: Challenge,
) -> Result<Prepared, OAuthError> {
    let http = &client.ctx.http;
    let prm = discovery::resource_metadata(http, &client.url, &challenge).await?;
    let (issuer, resource, scopes_supported) = match &prm {
        Some(m) => {
            if let Some(r) = &m.resource {
                if !discovery::resource_covers(r, &client.url) {
                    return Err(OAuthError::Untrusted {
                        message: format!("the server's protected resource metadata is for `{r}`, not for {}", client.url),
                        hint: "a token for another resource must not be sent here; check the server's URL, or ask its operator to fix `resource`".into(),
                    });
                }
            }
            let issuer =
                m.authorization_servers
                    .first()
                    .cloned()
                    .ok_or_else(|| OAuthError::Discovery {
                        what: "protected resource metadata",
                        message: "it names no authorization server".into(),
                        hint: "ask the server's operator to list `authorization_servers`".into(),
                    })?;
            (
                issuer,
                m.resource.clone().or_else(|| Some(client.url.clone())),
                m.scopes_supported.clone(),
            )
        }
        None => {
            // Older servers (MCP 2025-03-26): the authorization server is the server's own origin.
            let u = reqwest::Url::parse(&client.url).map_err(|e| OAuthError::Discovery {
                what: "server URL",
                message: e.to_string(),
                hint: "fix `url`".into(),
            })?;
            (
                u.origin().ascii_serialization(),
                Some(client.url.clone()),
                None,
            )
        }
    };
    let metadata = discovery::server_metadata(http, &issuer).await?;
    if let Some(methods) = &metadata.code_challenge_methods_supported {
        if !methods.iter().any(|m| m == "S256") {
            return Err(OAuthError::Untrusted {
                message: format!(
                    "the authorization server {issuer} does not support PKCE with S256"
                ),
                hint: "Portcullis only signs in with PKCE (S256), as the MCP spec requires".into(),
            });
        }
    }
    let previous = client.scopes.lock().clone();
    let scopes = choose_scopes(
        client.config.scope.as_deref(),
        challenge.scope.as_deref(),
        scopes_supported.as_deref(),
        metadata.scopes_supported.as_deref(),
        &previous,
    );
    if !scopes.is_empty() {
        *client.scopes.lock() = scopes
            .iter()
            .filter(|s| *s != OFFLINE_ACCESS)
            .cloned()
            .collect();
    }
    let grants = metadata
        .grant_types_supported
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let browser = grants.iter().any(|g| g == "authorization_code");
    if let (Some(file), false, true) = (
        &client.config.assertion_file,
        browser,
        grants.iter().any(|g| g == JWT_BEARER),
    ) {
        return jwt_bearer(client, &metadata, file, resource, &scopes)
            .await
            .map(Prepared::Machine);
    }
    if client.config.client_id.is_some()
        && grants.iter().any(|g| g == "client_credentials")
        && !browser
    {
        return client_credentials(client, &metadata, resource, &scopes)
            .await
            .map(Prepared::Machine);
    }
    let redirect_uri = client.ctx.redirect_uri(&client.server).await?;
    let authorization_endpoint =
        metadata
            .authorization_endpoint
            .clone()
            .ok_or_else(|| OAuthError::Discovery {
                what: "authorization server metadata",
                message: format!("{issuer} names no authorization_endpoint"),
                hint: "ask the server's operator".into(),
            })?;
    let client_record = identity(client, &metadata, &redirect_uri).await?;

    let verifier = random_token();
    let state = random_token();
    let mut url =
        reqwest::Url::parse(&authorization_endpoint).map_err(|e| OAuthError::Discovery {
            what: "authorization server metadata",
            message: format!("authorization_endpoint: {e}"),
            hint: "ask the server's operator".into(),
        })?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &client_record.client_id);
        q.append_pair("redirect_uri", &redirect_uri);
        q.append_pair("code_challenge", &challenge_of(&verifier));
        q.append_pair("code_challenge_method", "S256");
        q.append_pair("state", &state);
        if !scopes.is_empty() {
            q.append_pair("scope", &scopes.join(" "));
        }
        if let Some(r) = &resource {
            q.append_pair("resource", r);
        }
    }
    let dpop = dpop_key_for(&metadata)?;
    Ok(Prepared::Browser(Pending {
        url: url.to_string(),
        state,
        verifier,
        redirect_uri,
        client: client_record,
        metadata,
        resource,
        dpop,
    }))
}

/// The scopes to ask for, as the MCP spec's scope selection says: the person's
/// choice, else the challenge's, else everything the resource lists, else none;
/// always with what was asked before (a step-up must not lose what was granted),
/// and `offline_access` (for a refresh token) when the authorization server lists
/// it and other scopes are asked for.
fn choose_scopes(
    configured: Option<&str>,
    challenged: Option<&str>,
    resource_lists: Option<&[String]>,
    server_lists: Option<&[String]>,
    previous: &[String],
) -> Vec<String> {
    let wanted: Vec<String> = match (configured, challenged, resource_lists) {
        (Some(c), _, _) => c.split_whitespace().map(str::to_owned).collect(),
        (None, Some(c), _) => c.split_whitespace().map(str::to_owned).collect(),
        (None, None, Some(list)) => list.to_vec(),
        (None, None, None) => Vec::new(),
    };
    let mut scopes = previous.to_vec();
    for s in wanted {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    if !scopes.is_empty()
        && !scopes.iter().any(|s| s == OFFLINE_ACCESS)
        && server_lists.is_some_and(|l| l.iter().any(|s| s == OFFLINE_ACCESS))
    {
        scopes.push(OFFLINE_ACCESS.to_owned());
    }
    scopes
}

/// The client identity: pre-registered, stored, a metadata document URL, or a new registration.
async fn identity(
    client: &OAuthClient,
    metadata: &ServerMetadata,
    redirect_uri: &str,
) -> Result<OAuthClientRecord, OAuthError> {
    let store = &client.ctx.vault;
    let supported = metadata
        .token_endpoint_auth_methods_supported
        .clone()
        .unwrap_or_else(|| vec!["client_secret_basic".into()]);
    let with_secret = |secret: &Option<String>| -> String {
        match secret {
            None => "none".into(),
            Some(_) if supported.iter().any(|m| m == "client_secret_basic") => {
                "client_secret_basic".into()
            }
            Some(_) if supported.iter().any(|m| m == "client_secret_post") => {
                "client_secret_post".into()
            }
            Some(_) => "client_secret_basic".into(),
        }
    };
    let record = if let Some(id) = &client.config.client_id {
        OAuthClientRecord {
            issuer: metadata.issuer.clone(),
            redirect_uri: redirect_uri.to_owned(),
            client_id: id.clone(),
            client_secret: client.configured_secret(),
            auth_method: with_secret(&client.configured_secret()),
        }
    } else if let Some(stored) = store
        .client(&client.server, &metadata.issuer, redirect_uri)
        .ok()
        .flatten()
    {
        return Ok(stored);
    } else if let (true, Some(url)) = (
        metadata.client_id_metadata_document_supported,
        &client.config.client_metadata_url,
    ) {
        OAuthClientRecord {
            issuer: metadata.issuer.clone(),
            redirect_uri: redirect_uri.to_owned(),
            client_id: url.clone(),
            client_secret: None,
            auth_method: "none".into(),
        }
    } else {
        register(client, metadata, redirect_uri, &supported).await?
    };
    if let Err(e) = store.save_client(&client.server, &record) {
        tracing::warn!(
            server = client.server,
            "storing its client registration failed: {e}"
        );
    }
    Ok(record)
}

#[derive(Deserialize)]
struct Registration {
    client_id: String,
    client_secret: Option<String>,
    token_endpoint_auth_method: Option<String>,
}

/// Dynamic client registration (RFC 7591).
async fn register(
    client: &OAuthClient,
    metadata: &ServerMetadata,
    redirect_uri: &str,
    supported: &[String],
) -> Result<OAuthClientRecord, OAuthError> {
    let what = "the client registration";
    let Some(endpoint) = &metadata.registration_endpoint else {
        return Err(OAuthError::Refused {
            what,
            message: format!("{} offers no dynamic client registration", metadata.issuer),
            hint: format!("register a client there by hand (redirect URI {redirect_uri}) and set client_id (and client_secret) under [servers.{}.oauth]", client.server),
        });
    };
    let method = ["none", "client_secret_basic", "client_secret_post"]
        .into_iter()
        .find(|m| supported.iter().any(|s| s == m))
        .unwrap_or("client_secret_basic");
    let body = serde_json::json!({
        "client_name": "Portcullis",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
        "application_type": "native",
    });
    let resp = client
        .ctx
        .http
        .post(endpoint)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| refused(what, e.to_string()))?;
    let status = resp.status();
    let text = super::urls::read_text(resp).await;
    if !status.is_success() {
        return Err(refused(what, describe_error(status.as_u16(), &text)));
    }
    let reg: Registration = serde_json::from_str(&text)
        .map_err(|e| refused(what, format!("its answer is not a registration: {e}")))?;
    let auth_method = reg.token_endpoint_auth_method.clone().unwrap_or_else(|| {
        if reg.client_secret.is_some() {
            method.to_owned()
        } else {
            "none".into()
        }
    });
    Ok(OAuthClientRecord {
        issuer: metadata.issuer.clone(),
        redirect_uri: redirect_uri.to_owned(),
        client_id: reg.client_id,
        client_secret: reg.client_secret,
        auth_method,
    })
}

/// Checks the callback and trades its code for tokens.
pub(super) async fn exchange(
    client: &OAuthClient,
    pending: &Pending,
    query: &HashMap<String, String>,
) -> Result<OAuthTokenRecord, OAuthError> {
    let issuer = &pending.metadata.issuer;
    if let Some(error) = query.get("error") {
        let detail = query
            .get("error_description")
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Err(OAuthError::Incomplete {
            server: client.server.clone(),
            message: format!("the authorization server answered `{error}`{detail}"),
        });
    }
    match query.get("iss") {
        Some(iss) if iss != issuer => {
            return Err(OAuthError::Untrusted {
                message: format!("the answer came from issuer `{iss}`, but the sign-in was started at `{issuer}`"),
                hint: "another authorization server may be trying to mix in its answer (RFC 9207); sign in again".into(),
            })
        }
        None if pending.metadata.authorization_response_iss_parameter_supported => {
            return Err(OAuthError::Untrusted {
                message: format!("`{issuer}` promises an `iss` parameter in its answers, and this one has none"),
                hint: "the answer may not come from that authorization server (RFC 9207); sign in again".into(),
            })
        }
        _ => {}
    }
    let code = query.get("code").ok_or_else(|| OAuthError::Incomplete {
        server: client.server.clone(),
        message: "the answer carries no authorization code".into(),
    })?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", pending.redirect_uri.as_str()),
        ("code_verifier", pending.verifier.as_str()),
    ];
    if let Some(r) = &pending.resource {
        form.push(("resource", r.as_str()));
    }
    let answer = token_request(
        client,
        &pending.metadata,
        &pending.client,
        &form,
        "the code exchange",
        pending.dpop.as_deref(),
    )
    .await?;
    let asked = Some(client.scopes.lock().join(" ")).filter(|s| !s.is_empty());
    Ok(record_of(
        client,
        issuer,
        &pending.client.client_id,
        pending.resource.clone(),
        answer,
        None,
        asked,
        pending.dpop.as_deref(),
    ))
}

/// Trades the refresh token of `old` for new tokens.
pub(super) async fn refresh(
    client: &OAuthClient,
    old: &OAuthTokenRecord,
) -> Result<OAuthTokenRecord, OAuthError> {
    let Some(refresh_token) = &old.refresh_token else {
        return Err(OAuthError::Incomplete {
            server: client.server.clone(),
            message: "no refresh token".into(),
        });
    };
    let metadata = discovery::server_metadata(&client.ctx.http, &old.issuer).await?;
    let record = match client
        .ctx
        .vault
        .client_by_id(&client.server, &old.issuer, &old.client_id)
        .ok()
        .flatten()
    {
        Some(r) => r,
        None => OAuthClientRecord {
            issuer: old.issuer.clone(),
            redirect_uri: String::new(),
            client_id: old.client_id.clone(),
            client_secret: client
                .configured_secret()
                .filter(|_| client.config.client_id.as_deref() == Some(old.client_id.as_str())),
            auth_method: "none".into(),
        },
    };
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    if let Some(r) = &old.resource {
        form.push(("resource", r.as_str()));
    }
    let dpop = old
        .dpop_key
        .as_deref()
        .map(DpopKey::from_pkcs8)
        .transpose()?;
    let answer = token_request(
        client,
        &metadata,
        &record,
        &form,
        "a token refresh",
        dpop.as_ref(),
    )
    .await?;
    Ok(record_of(
        client,
        &old.issuer,
        &old.client_id,
        old.resource.clone(),
        answer,
        old.refresh_token.clone(),
        old.scope.clone(),
        dpop.as_ref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn scopes_follow_the_spec_order_and_accumulate() {
        let listed = words("a b c");
        assert_eq!(
            choose_scopes(None, Some("x"), Some(&listed), None, &[]),
            words("x")
        );
        assert_eq!(
            choose_scopes(None, None, Some(&listed), None, &[]),
            words("a b c")
        );
        assert!(choose_scopes(None, None, None, None, &[]).is_empty());
        assert_eq!(
            choose_scopes(Some("mine"), Some("x"), Some(&listed), None, &[]),
            words("mine")
        );
        // A step-up keeps what was asked before.
        assert_eq!(
            choose_scopes(None, Some("write"), None, None, &words("read")),
            words("read write")
        );
        // offline_access only when the authorization server lists it, and never alone.
        let server = words("read offline_access");
        assert_eq!(
            choose_scopes(None, Some("read"), None, Some(&server), &[]),
            words("read offline_access")
        );
        assert!(choose_scopes(None, None, None, Some(&server), &[]).is_empty());
        assert_eq!(
            choose_scopes(None, Some("read"), None, Some(&words("read")), &[]),
            words("read")
        );
    }

    #[test]
    fn pkce_challenge_is_s256_of_the_verifier() {
        // Cross-checked with Python: base64url(sha256(verifier)) without padding.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mJ92K1qtyGmjfjzgPBsbfnS3fqMwrQ"),
            "wHlSLaCpXkfkWaJbprUQbz2fL7gHpKYdN9en33ABJZE"
        );
        assert_ne!(random_token(), random_token());
        assert!(random_token().len() >= 43);
    }
}
