//! Signing in on the way, written once for both HTTP transports: each POST
//! of streamable HTTP, and the stream's GET and each POST to the message
//! endpoint of legacy SSE.
//!
//! A refusal for want of a sign-in (401, or 403 with `insufficient_scope`)
//! is answered by refreshing the token or waiting for the person's sign-in,
//! then sending again. A 401 with `use_dpop_nonce` that brings a nonce not
//! tried yet (RFC 9449 §9) is answered by sending again at once, with that
//! nonce in a fresh proof. Any answer's `DPoP-Nonce` is kept for the next
//! request. At most [`MAX_AUTHORIZATIONS`] rounds, so a server that keeps
//! refusing cannot loop the gateway or the person.

use bytes::Bytes;
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, Response, Url};

use super::link::{error_chain, put_token, Link};
use super::TransportError;
use crate::oauth::MAX_AUTHORIZATIONS;

/// What to do with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// The answer stands: it goes to the caller.
    Done,
    /// Send again at once: the proof now carries the server's new nonce.
    AgainWithNonce,
    /// Sign in (refresh, or wait for the person), then send again.
    SignIn,
}

/// Decides from an answer's status and `WWW-Authenticate`, whether it
/// brought a DPoP nonce not used before, and how many rounds were done.
pub(super) fn next_step(
    status: u16,
    www_authenticate: Option<&str>,
    fresh_nonce: bool,
    rounds: u32,
) -> Next {
    if rounds >= MAX_AUTHORIZATIONS {
        return Next::Done;
    }
    let says = |what: &str| www_authenticate.is_some_and(|w| w.contains(what));
    if status == 401 && fresh_nonce && says("use_dpop_nonce") {
        Next::AgainWithNonce
    } else if status == 401 || (status == 403 && says("insufficient_scope")) {
        Next::SignIn
    } else {
        Next::Done
    }
}

/// Sends `method` to `url` with `headers` (and `body`), presenting the
/// upstream's token when it has OAuth, and signs in on the way as the
/// module says. Returns the answer that stands, whatever its status.
pub(super) async fn send(
    link: &Link,
    method: Method,
    url: &Url,
    headers: HeaderMap,
    body: Option<Bytes>,
) -> Result<Response, TransportError> {
    let mut rounds = 0;
    loop {
        let mut h = headers.clone();
        let sent = match &link.auth {
            Some(auth) => auth.token().await,
            None => None,
        };
        if let (Some(auth), Some(token)) = (&link.auth, &sent) {
            put_token(&mut h, auth, method.as_str(), url.as_str(), token);
        }
        let mut req = link.http.request(method.clone(), url.clone()).headers(h);
        if let Some(b) = &body {
            req = req.body(b.clone());
        }
        let resp = req.send().await.map_err(|e| TransportError::Unreachable {
            url: url.to_string(),
            message: error_chain(&e),
        })?;
        let Some(auth) = &link.auth else {
            return Ok(resp);
        };
        let status = resp.status().as_u16();
        let www = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let fresh_nonce = resp
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|n| auth.set_nonce(n));
        match next_step(status, www.as_deref(), fresh_nonce, rounds) {
            Next::Done => {
                if resp.status().is_success() && sent.is_some() {
                    auth.note_success();
                }
                return Ok(resp);
            }
            Next::AgainWithNonce => rounds += 1,
            Next::SignIn => {
                rounds += 1;
                tokio::select! {
                    () = link.cancel.cancelled() => return Err(TransportError::Unreachable {
                        url: url.to_string(),
                        message: "the connection was closed while waiting for sign-in".into(),
                    }),
                    r = auth.on_challenge(status, www.as_deref(), sent.as_deref()) => r?,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#;

    #[test]
    fn a_fresh_nonce_is_tried_at_once() {
        assert_eq!(next_step(401, Some(NONCE), true, 0), Next::AgainWithNonce);
    }

    #[test]
    fn a_nonce_already_tried_means_signing_in() {
        assert_eq!(next_step(401, Some(NONCE), false, 0), Next::SignIn);
    }

    #[test]
    fn a_nonce_without_the_error_is_only_kept() {
        let www = r#"Bearer resource_metadata="http://h/.well-known/oauth-protected-resource""#;
        assert_eq!(next_step(401, Some(www), true, 0), Next::SignIn);
        assert_eq!(next_step(200, None, true, 0), Next::Done);
    }

    #[test]
    fn refusals_for_want_of_a_sign_in() {
        assert_eq!(next_step(401, None, false, 0), Next::SignIn);
        let scope = r#"Bearer error="insufficient_scope", scope="write""#;
        assert_eq!(next_step(403, Some(scope), false, 2), Next::SignIn);
        assert_eq!(next_step(403, None, false, 0), Next::Done);
        assert_eq!(next_step(404, None, false, 0), Next::Done);
        assert_eq!(next_step(500, Some(NONCE), true, 0), Next::Done);
    }

    #[test]
    fn rounds_are_counted_so_a_refusing_server_cannot_loop() {
        assert_eq!(
            next_step(401, Some(NONCE), true, MAX_AUTHORIZATIONS),
            Next::Done
        );
        assert_eq!(next_step(401, None, false, MAX_AUTHORIZATIONS), Next::Done);
    }
}
