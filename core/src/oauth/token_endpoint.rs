//! The token endpoint, as every grant uses it: the request with the
//! client's authentication (secret, Basic, or a `private_key_jwt`
//! assertion) and a DPoP proof (again with the server's nonce when it asks),
//! the answer as a token record, and the refusals in a person's terms.

use std::sync::Arc;

use base64::Engine;
use rand::RngCore;
use serde::Deserialize;

use super::discovery::ServerMetadata;
use super::dpop::DpopKey;
use super::{OAuthClient, OAuthError};
use crate::config::ValueOrSecret;
use crate::store::{OAuthClientRecord, OAuthTokenRecord, UnixMillis};

/// The scope that asks for a refresh token.
pub(super) const OFFLINE_ACCESS: &str = "offline_access";

/// 32 random bytes, URL-safe base64: verifiers, `state`, `jti`.
pub(super) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(super) fn refused(what: &'static str, message: String) -> OAuthError {
    OAuthError::Refused { what, message, hint: "try signing in again; if it keeps failing, the authorization server's operator can tell why".into() }
}

/// `error: error_description` of an OAuth error answer, never the rest of the body.
pub(super) fn describe_error(status: u16, body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    match (
        v.get("error").and_then(|e| e.as_str()),
        v.get("error_description").and_then(|e| e.as_str()),
    ) {
        (Some(e), Some(d)) => format!("HTTP {status}, {e}: {d}"),
        (Some(e), None) => format!("HTTP {status}, {e}"),
        _ => format!("HTTP {status}"),
    }
}

fn bearer() -> String {
    "Bearer".into()
}

#[derive(Deserialize)]
pub(super) struct TokenAnswer {
    access_token: String,
    #[serde(default = "bearer")]
    token_type: String,
    refresh_token: Option<String>,
    expires_in: Option<f64>,
    scope: Option<String>,
}

/// POSTs a form to the token endpoint with the client's authentication (and a
/// DPoP proof when the token is to be bound to `dpop`; once more with the
/// server's nonce when it asks for one).
pub(super) async fn token_request(
    client: &OAuthClient,
    metadata: &ServerMetadata,
    record: &OAuthClientRecord,
    form: &[(&str, &str)],
    what: &'static str,
    dpop: Option<&DpopKey>,
) -> Result<TokenAnswer, OAuthError> {
    let endpoint = metadata
        .token_endpoint
        .clone()
        .ok_or_else(|| refused(what, format!("{} names no token_endpoint", metadata.issuer)))?;
    let mut nonce: Option<String> = None;
    for _attempt in 0..2 {
        let mut encoded = reqwest::Url::parse("http://form.invalid/")
            .map_err(|e| refused(what, e.to_string()))?;
        {
            let mut q = encoded.query_pairs_mut();
            for (k, v) in form {
                q.append_pair(k, v);
            }
            match (record.auth_method.as_str(), &record.client_secret) {
                ("client_secret_post", Some(secret)) => {
                    q.append_pair("client_id", &record.client_id);
                    q.append_pair("client_secret", secret);
                }
                ("client_secret_basic", Some(_)) => {}
                ("private_key_jwt", _) => {
                    q.append_pair("client_id", &record.client_id);
                    q.append_pair(
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    );
                    q.append_pair(
                        "client_assertion",
                        &client_assertion(client, &record.client_id, &metadata.issuer)?,
                    );
                }
                _ => {
                    q.append_pair("client_id", &record.client_id);
                }
            }
        }
        let body = encoded.query().unwrap_or_default().to_owned();
        let mut req = client
            .ctx
            .http
            .post(&endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        if let ("client_secret_basic", Some(secret)) =
            (record.auth_method.as_str(), &record.client_secret)
        {
            let enc = |s: &str| -> String {
                let mut u = reqwest::Url::parse("http://x.invalid/")
                    .unwrap_or_else(|_| unreachable!("a constant URL parses"));
                u.query_pairs_mut().append_pair("v", s);
                u.query()
                    .unwrap_or_default()
                    .trim_start_matches("v=")
                    .to_owned()
            };
            let pair = format!("{}:{}", enc(&record.client_id), enc(secret));
            req = req.header(
                "authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ),
            );
        }
        if let Some(key) = dpop {
            req = req.header(
                "dpop",
                key.proof("POST", &endpoint, None, nonce.as_deref())?,
            );
        }
        let resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| refused(what, e.to_string()))?;
        let status = resp.status();
        let offered = resp
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = super::urls::read_text(resp).await;
        if status.is_success() {
            return serde_json::from_str(&text)
                .map_err(|_| refused(what, "its answer is not a token response".into()));
        }
        let asks_nonce = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error")?.as_str().map(|e| e == "use_dpop_nonce"))
            .unwrap_or(false);
        match (dpop, asks_nonce, offered) {
            (Some(_), true, Some(n)) if nonce.as_deref() != Some(n.as_str()) => nonce = Some(n),
            _ => return Err(refused(what, describe_error(status.as_u16(), &text))),
        }
    }
    Err(refused(what, "it kept asking for a new DPoP nonce".into()))
}

/// A new DPoP key when the authorization server binds tokens with ES256 proofs.
pub(super) fn dpop_key_for(metadata: &ServerMetadata) -> Result<Option<Arc<DpopKey>>, OAuthError> {
    match &metadata.dpop_signing_alg_values_supported {
        Some(algs) if algs.iter().any(|a| a == "ES256") => Ok(Some(Arc::new(DpopKey::generate()?))),
        _ => Ok(None),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn record_of(
    client: &OAuthClient,
    issuer: &str,
    client_id: &str,
    resource: Option<String>,
    answer: TokenAnswer,
    old_refresh: Option<String>,
    asked: Option<String>,
    dpop: Option<&DpopKey>,
) -> OAuthTokenRecord {
    OAuthTokenRecord {
        url: client.url.clone(),
        issuer: issuer.to_owned(),
        client_id: client_id.to_owned(),
        resource,
        access_token: answer.access_token,
        refresh_token: answer.refresh_token.or(old_refresh),
        scope: answer.scope.or(asked),
        expires_at: answer
            .expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| UnixMillis(UnixMillis::now().0 + (s * 1000.0) as i64)),
        // A proof was sent, but only a `DPoP` answer says the token is bound to the key.
        dpop_key: dpop
            .filter(|_| answer.token_type.eq_ignore_ascii_case("dpop"))
            .map(|k| k.pkcs8().to_vec()),
        token_type: if answer.token_type.eq_ignore_ascii_case("dpop") && dpop.is_some() {
            "DPoP".into()
        } else {
            "Bearer".into()
        },
    }
}

/// A `private_key_jwt` client assertion (RFC 7523 §2.2): ES256, issued by and
/// about the client, for the authorization server, valid for five minutes.
pub(super) fn client_assertion(
    client: &OAuthClient,
    client_id: &str,
    audience: &str,
) -> Result<String, OAuthError> {
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let bad_key = |message: String| {
        OAuthError::Untrusted { message, hint: format!("set `private_key` under [servers.{}.oauth] to a PEM file with an unencrypted P-256 key in PKCS#8 (BEGIN PRIVATE KEY)", client.server) }
    };
    let (pem, path) = match client.config.private_key.clone() {
        Some(ValueOrSecret::Secret(name)) => (
            client
                .ctx
                .vault
                .secrets()
                .get(&name)
                .map_err(|e| bad_key(e.to_string()))?,
            std::path::PathBuf::from(format!("the secret `{name}`")),
        ),
        plain => {
            let path = std::path::PathBuf::from(match plain {
                Some(ValueOrSecret::Plain(p)) => p,
                _ => String::new(),
            });
            let pem = std::fs::read_to_string(&path).map_err(|e| {
                bad_key(format!(
                    "cannot read the client's private key {}: {e}",
                    path.display()
                ))
            })?;
            (pem, path)
        }
    };
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN PRIVATE KEY"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|_| bad_key(format!("{} is not a PEM private key", path.display())))?;
    let rng = ring::rand::SystemRandom::new();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng).map_err(|_| {
            bad_key(format!(
                "{} is not a P-256 private key in PKCS#8",
                path.display()
            ))
        })?;
    let now = UnixMillis::now().0 / 1000;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let header = serde_json::json!({ "alg": "ES256", "typ": "JWT" });
    let claims = serde_json::json!({ "iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 300, "jti": random_token() });
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let signature = key
        .sign(&rng, input.as_bytes())
        .map_err(|_| bad_key("signing the client assertion failed".into()))?;
    Ok(format!(
        "{input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}
