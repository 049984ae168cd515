//! Which URLs an OAuth sign-in may use. Metadata, authorization, token and
//! registration endpoints carry codes, secrets and tokens: they must be
//! https, or http on this machine's loopback (a local authorization server).
//! A sign-in link is shown to a person and handed to a browser: http(s)
//! only, so a `javascript:` or `file:` link from a hostile server never is.

/// The largest metadata document read, in bytes; reading stops past it.
pub(crate) const MAX_DOCUMENT: usize = 1024 * 1024;

/// The body of an answer as text, read with a running limit of
/// [`MAX_DOCUMENT`] bytes; past it, or on a read error, what was read is
/// dropped and the text is empty (the caller then reports a bad answer).
pub(crate) async fn read_text(mut resp: reqwest::Response) -> String {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT as u64)
    {
        return String::new();
    }
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return String::new();
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// Whether `url` is https, or http to a loopback host.
pub(crate) fn is_secure(url: &reqwest::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => url.host_str().is_some_and(|h| {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h.eq_ignore_ascii_case("localhost")
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }),
        _ => false,
    }
}

/// Parses `text` and checks it with [`is_secure`]; the error says why not.
pub(crate) fn secure(text: &str, what: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("{what} `{text}`: {e}"))?;
    if is_secure(&url) {
        Ok(url)
    } else {
        Err(format!(
            "{what} `{text}` is neither https nor http on this machine's loopback, so Portcullis does not send credentials there"
        ))
    }
}

/// Whether a sign-in link may be shown and opened: http or https.
pub fn is_web_link(text: &str) -> bool {
    reqwest::Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_http_only() {
        for ok in [
            "https://auth.example.com/authorize",
            "http://127.0.0.1:8080/token",
            "http://localhost/x",
            "http://[::1]:1/x",
        ] {
            assert!(secure(ok, "x").is_ok(), "{ok}");
        }
        for bad in [
            "http://auth.example.com/token",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "http://127.0.0.1.evil.com/",
            "ftp://h/x",
        ] {
            assert!(secure(bad, "x").is_err(), "{bad}");
        }
        assert!(is_web_link("http://h/x") && !is_web_link("javascript:alert(1)"));
    }
}
