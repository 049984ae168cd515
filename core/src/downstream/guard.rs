//! DNS-rebinding and cross-site protection, before any route runs.
//!
//! `Host` must be one loopback authority, parsed strictly (RFC 3986: a
//! bracketed IPv6 address, an IPv4 address or a plain name, then at most a
//! numeric port): anything else, `[::1]:@evil.com` included, is refused.
//! `Origin` must be absent (no browser page: an agent, the CLI) or exactly
//! one the person allowed: the gateway's own origin (its address with its
//! port, under the loopback names; the desktop app's windows load the UI from
//! there too), or one listed in `[gateway] allowed_origins`. Any other local
//! page (another dev server on a loopback port, any Tauri app's
//! `tauri://localhost`) is a different origin and is refused.

use axum::http::{HeaderMap, StatusCode};

/// The origins whose pages may call the gateway.
#[derive(Debug, Clone, Default)]
pub(crate) struct OriginPolicy {
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// The gateway's own origins on `port` and `extra`
    /// (already normalized by [`normalize_origin`]).
    pub(crate) fn new(port: u16, extra: &[String]) -> Self {
        let mut allowed: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|h| format!("http://{h}:{port}"))
            .collect();
        allowed.extend(extra.iter().cloned());
        Self { allowed }
    }

    fn allows(&self, origin: &str) -> bool {
        normalize_origin(origin).is_some_and(|o| self.allowed.contains(&o))
    }
}

/// Checks Host and Origin; the error is the status and message of the refusal.
pub(crate) fn check_local(
    headers: &HeaderMap,
    policy: &OriginPolicy,
) -> Result<(), (StatusCode, String)> {
    let hosts: Vec<_> = headers.get_all(axum::http::header::HOST).iter().collect();
    let host = match hosts.as_slice() {
        [one] => one.to_str().unwrap_or(""),
        [] => "",
        _ => {
            return Err((
                StatusCode::BAD_REQUEST,
                "the Host header appears more than once".into(),
            ))
        }
    };
    if !host_is_local(host) {
        return Err((StatusCode::FORBIDDEN, format!("Host `{}` is not a loopback address; Portcullis only answers requests addressed to localhost, 127.0.0.1 or [::1]", printable(host))));
    }
    let origins: Vec<_> = headers.get_all(axum::http::header::ORIGIN).iter().collect();
    match origins.as_slice() {
        [] => Ok(()),
        [one] => {
            let origin = one.to_str().unwrap_or("");
            if policy.allows(origin) {
                Ok(())
            } else {
                Err((StatusCode::FORBIDDEN, format!("Origin `{}` is not allowed: only the gateway's own pages (the desktop app's windows among them) may call it (a person can allow another origin in [gateway] allowed_origins)", printable(origin))))
            }
        }
        _ => Err((
            StatusCode::FORBIDDEN,
            "the Origin header appears more than once".into(),
        )),
    }
}

/// A header value as it may be quoted back: visible ASCII, at most 200 characters.
fn printable(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// A host of an authority, as parsed.
#[derive(Debug, PartialEq, Eq)]
enum HostPart<'a> {
    Ipv6(std::net::Ipv6Addr),
    Ipv4(std::net::Ipv4Addr),
    Name(&'a str),
}

/// Parses `host[:port]` strictly; `None` for anything else (user info,
/// paths, spaces, a non-numeric or out-of-range port, empty parts).
fn parse_authority(text: &str) -> Option<(HostPart<'_>, Option<u16>)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let ip: std::net::Ipv6Addr = ip.parse().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (HostPart::Ipv6(ip), port)
    } else {
        let (name, port) = match text.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (text, None),
        };
        let valid = !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !valid {
            return None;
        }
        let host = match name.parse::<std::net::Ipv4Addr>() {
            Ok(ip) => HostPart::Ipv4(ip),
            Err(_) => HostPart::Name(name),
        };
        (host, port)
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// Whether an authority names this machine by a loopback address or `localhost`.
pub(crate) fn host_is_local(host: &str) -> bool {
    match parse_authority(host) {
        Some((HostPart::Ipv6(ip), _)) => ip.is_loopback(),
        Some((HostPart::Ipv4(ip), _)) => ip.is_loopback(),
        Some((HostPart::Name(name), _)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// An origin as browsers serialize it, `scheme://host[:port]` in lower case,
/// or `None` when the text is not one (a path, user info, `null`, a bad port).
pub(crate) fn normalize_origin(text: &str) -> Option<String> {
    let (scheme, authority) = text.split_once("://")?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok {
        return None;
    }
    parse_authority(authority)?;
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
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
            "[::1]:@evil.com",
            "[::1]:80@evil.com",
            "localhost:@evil.com",
            "user@localhost",
            "localhost:80:80",
            "localhost:99999",
            "localhost:",
            "localhost/x",
            "localhost :80",
            "[::1",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(!host_is_local(bad), "{bad}");
        }
    }

    #[test]
    fn origins_must_be_exactly_allowed() {
        let policy = OriginPolicy::new(7331, &["http://localhost:5173".into()]);
        for ok in [
            "http://localhost:7331",
            "http://127.0.0.1:7331",
            "http://[::1]:7331",
            "HTTP://LOCALHOST:7331",
            "http://localhost:5173",
        ] {
            assert!(policy.allows(ok), "{ok}");
        }
        for bad in [
            "null",
            "http://localhost:3000",
            "https://127.0.0.1:7331",
            "http://127.0.0.1",
            "http://evil.com",
            "http://localhost.evil.com:7331",
            "file://",
            "http://localhost:7331/x",
            "http://user@localhost:7331",
            "tauri://other-app",
            "tauri://localhost",
            "http://tauri.localhost",
            "",
        ] {
            assert!(!policy.allows(bad), "{bad}");
        }
    }

    #[test]
    fn a_second_host_or_origin_is_refused() {
        let policy = OriginPolicy::new(1, &[]);
        let mut h = HeaderMap::new();
        h.append("host", "localhost:1".parse().unwrap());
        assert!(check_local(&h, &policy).is_ok());
        h.append("origin", "http://localhost:1".parse().unwrap());
        assert!(check_local(&h, &policy).is_ok());
        h.append("origin", "http://localhost:1".parse().unwrap());
        assert!(check_local(&h, &policy).is_err());
        h.remove("origin");
        h.append("host", "localhost:1".parse().unwrap());
        assert!(check_local(&h, &policy).is_err());
    }
}
