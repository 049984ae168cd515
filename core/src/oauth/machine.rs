//! Sign-ins where no person is present: the client credentials grant
//! (SEP-1046, with a client secret or a `private_key_jwt` assertion) and the
//! JWT bearer grant of workload identity federation (SEP-1933).

use super::discovery::ServerMetadata;
use super::token_endpoint::{dpop_key_for, record_of, token_request, OFFLINE_ACCESS};
use super::{OAuthClient, OAuthError};
use crate::store::{OAuthClientRecord, OAuthTokenRecord};

pub(super) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The JWT bearer grant (RFC 7523 §2.1) for workload identity federation
/// (SEP-1933): the assertion is a token the platform gives the workload, read
/// afresh from its file each time (platforms rotate it).
pub(super) async fn jwt_bearer(
    client: &OAuthClient,
    metadata: &ServerMetadata,
    file: &std::path::Path,
    resource: Option<String>,
    scopes: &[String],
) -> Result<OAuthTokenRecord, OAuthError> {
    let assertion = std::fs::read_to_string(file).map_err(|e| OAuthError::Untrusted {
        message: format!("cannot read the workload identity token {}: {e}", file.display()),
        hint: format!("point `assertion_file` under [servers.{}.oauth] at the token file your platform provides", client.server),
    })?;
    let client_id = client.config.client_id.clone().unwrap_or_default();
    let record = OAuthClientRecord {
        issuer: metadata.issuer.clone(),
        redirect_uri: String::new(),
        client_id: client_id.clone(),
        client_secret: client.configured_secret(),
        auth_method: if client.config.client_secret.is_some() {
            "client_secret_basic".into()
        } else {
            "none".into()
        },
    };
    let grant = [("grant_type", JWT_BEARER), ("assertion", assertion.trim())];
    let what = "the workload identity (JWT bearer) grant";
    machine_grant(client, metadata, &record, &grant, what, resource, scopes).await
}

/// A grant where no person signs in (JWT bearer, client credentials): the
/// `grant` fields with the scopes and resource, sent as `record`'s client,
/// DPoP-bound where the server offers it; the token record it answers.
async fn machine_grant(
    client: &OAuthClient,
    metadata: &ServerMetadata,
    record: &OAuthClientRecord,
    grant: &[(&str, &str)],
    what: &'static str,
    resource: Option<String>,
    scopes: &[String],
) -> Result<OAuthTokenRecord, OAuthError> {
    let scope = scopes
        .iter()
        .filter(|s| *s != OFFLINE_ACCESS)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let mut form = grant.to_vec();
    if !scope.is_empty() {
        form.push(("scope", scope.as_str()));
    }
    if let Some(r) = &resource {
        form.push(("resource", r.as_str()));
    }
    let dpop = dpop_key_for(metadata)?;
    let answer = token_request(client, metadata, record, &form, what, dpop.as_deref()).await?;
    Ok(record_of(
        client,
        &metadata.issuer,
        &record.client_id,
        resource,
        answer,
        None,
        Some(scope).filter(|s| !s.is_empty()),
        dpop.as_deref(),
    ))
}

/// The client credentials grant (OAuth 2.1 §4.2, the MCP extension SEP-1046): the
/// configured client authenticates with its secret or a signed JWT.
pub(super) async fn client_credentials(
    client: &OAuthClient,
    metadata: &ServerMetadata,
    resource: Option<String>,
    scopes: &[String],
) -> Result<OAuthTokenRecord, OAuthError> {
    let client_id = client.config.client_id.clone().unwrap_or_default();
    let supported = metadata
        .token_endpoint_auth_methods_supported
        .clone()
        .unwrap_or_else(|| vec!["client_secret_basic".into()]);
    let auth_method = if client.config.private_key.is_some() {
        "private_key_jwt"
    } else if client.config.client_secret.is_some()
        && !supported.iter().any(|m| m == "client_secret_basic")
        && supported.iter().any(|m| m == "client_secret_post")
    {
        "client_secret_post"
    } else if client.config.client_secret.is_some() {
        "client_secret_basic"
    } else {
        "none"
    };
    let record = OAuthClientRecord {
        issuer: metadata.issuer.clone(),
        redirect_uri: String::new(),
        client_id: client_id.clone(),
        client_secret: client.configured_secret(),
        auth_method: auth_method.into(),
    };
    if let Err(e) = client.ctx.vault.save_client(&client.server, &record) {
        tracing::warn!(server = client.server, "storing its client failed: {e}");
    }
    let grant = [("grant_type", "client_credentials")];
    let what = "the client credentials grant";
    machine_grant(client, metadata, &record, &grant, what, resource, scopes).await
}
