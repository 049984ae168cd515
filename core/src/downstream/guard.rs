//! DNS-rebinding protection: only loopback Host and Origin headers pass.

use axum::http::{HeaderMap, StatusCode};

/// Checks Host and Origin; the error is the message for a 403.
pub(crate) fn check_local(headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_is_local(host) {
        return Err((StatusCode::FORBIDDEN, format!("Host `{host}` is not a loopback address; Portcullis only answers requests addressed to localhost, 127.0.0.1 or [::1]")));
    }
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_is_local(origin) {
            return Err((StatusCode::FORBIDDEN, format!("Origin `{origin}` is not a loopback origin; web pages from other sites may not use Portcullis")));
        }
    }
    Ok(())
}

fn host_is_local(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.starts_with(':') => return ip == "::1",
            _ => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1"
    ) || name
        .parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn origin_is_local(origin: &str) -> bool {
    if matches!(
        origin,
        "tauri://localhost" | "http://tauri.localhost" | "https://tauri.localhost"
    ) {
        return true;
    }
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    !rest.contains('/') && host_is_local(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in [
            "localhost",
            "localhost:7331",
            "127.0.0.1:1",
            "[::1]:80",
            "[::1]",
            "127.0.0.2",
            "LOCALHOST",
        ] {
            assert!(host_is_local(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.com",
            "evil.com:7331",
            "localhost.evil.com",
            "127.0.0.1.nip.io",
            "[::2]:1",
            "0.0.0.0:1",
            "[::1]x",
        ] {
            assert!(!host_is_local(bad), "{bad}");
        }
    }

    #[test]
    fn origins() {
        for ok in [
            "http://localhost:3000",
            "https://127.0.0.1",
            "tauri://localhost",
        ] {
            assert!(origin_is_local(ok), "{ok}");
        }
        for bad in [
            "null",
            "http://evil.com",
            "http://localhost.evil.com",
            "file://",
            "http://localhost/x",
        ] {
            assert!(!origin_is_local(bad), "{bad}");
        }
    }
}
