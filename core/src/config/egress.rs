//! An isolated server's `network`: `false` (no network, the default),
//! `true` (the whole network), or an egress allow list such as
//! `["api.github.com", "*.slack.com:443"]`: the server then reaches only
//! those hosts, through the gateway's egress proxy (`isolation/egress_proxy.rs`).
//!
//! A pattern is `HOST[:PORT]`. `HOST` is a name (`api.github.com`), a name
//! under a wildcard (`*.slack.com`: any name below `slack.com`, at any
//! depth, not `slack.com` itself), an IPv4 address, or an IPv6 address in
//! brackets. Without a port a pattern allows port 443 (HTTPS) only: plain
//! HTTP or another port must be written (`example.com:80`). A name pattern
//! never matches an address, nor the other way round: `localhost` does not
//! allow `127.0.0.1`. Names are resolved by the proxy only, so what the
//! list allows is what the server reaches.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// The port a pattern without one allows.
pub const DEFAULT_EGRESS_PORT: u16 = 443;
/// The most patterns one server's list may hold.
const MAX_PATTERNS: usize = 256;

/// `network` as written in the file: `true`, `false` or a list of hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkConfig {
    /// `network = true` or `false`.
    Switch(bool),
    /// `network = ["api.github.com", "*.slack.com:443"]`.
    AllowList(Vec<String>),
}

impl Serialize for NetworkConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Switch(b) => s.serialize_bool(*b),
            Self::AllowList(list) => list.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for NetworkConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NetworkConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false, or a list of hosts such as [\"api.github.com\", \"*.slack.com:443\"]")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(NetworkConfig::Switch(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    if out.len() == MAX_PATTERNS {
                        return Err(de::Error::custom(format!(
                            "more than {MAX_PATTERNS} hosts in `network`"
                        )));
                    }
                    out.push(s);
                }
                Ok(NetworkConfig::AllowList(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `network`, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Network {
    /// Only a loopback interface (the default).
    #[default]
    Off,
    /// The host's network (sandbox) or Docker's default bridge.
    On,
    /// Only the hosts on the list, through the gateway's egress proxy.
    Allow(EgressAllowList),
}

impl Network {
    /// Resolves what the file says; `None` is off. The error says what is
    /// wrong with which entry.
    pub fn resolve(config: Option<&NetworkConfig>) -> Result<Self, String> {
        match config {
            None | Some(NetworkConfig::Switch(false)) => Ok(Self::Off),
            Some(NetworkConfig::Switch(true)) => Ok(Self::On),
            Some(NetworkConfig::AllowList(list)) if list.is_empty() => {
                Err("`network = []` allows no host; write network = false for no network".into())
            }
            Some(NetworkConfig::AllowList(list)) => {
                let patterns = list
                    .iter()
                    .map(|p| HostPattern::parse(p))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Self::Allow(EgressAllowList(patterns)))
            }
        }
    }

    /// The value the approval fingerprint holds: `false`, `true`, or the
    /// patterns as normalized (so an approval of `network = true` stays valid).
    pub fn fingerprint(&self) -> serde_json::Value {
        match self {
            Self::Off => false.into(),
            Self::On => true.into(),
            Self::Allow(list) => list.specs().into(),
        }
    }
}

/// The hosts an isolated server may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressAllowList(Vec<HostPattern>);

impl EgressAllowList {
    /// Whether `host` (a name, an IPv4 address, or an IPv6 address with or
    /// without brackets) on `port` is on the list.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let Some(host) = RequestHost::parse(host) else {
            return false;
        };
        self.0
            .iter()
            .any(|p| p.port == port && p.host.matches(&host))
    }

    /// The patterns, normalized (`HOST:PORT`).
    pub fn specs(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

/// One `HOST[:PORT]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: HostMatch,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    /// This name only.
    Name(String),
    /// Any name below this one (`*.slack.com` holds `slack.com`).
    Below(String),
    /// This address only.
    Ip(IpAddr),
}

/// A host as a client asks for it.
enum RequestHost {
    Name(String),
    Ip(IpAddr),
}

impl RequestHost {
    fn parse(text: &str) -> Option<Self> {
        let t = text.trim().trim_end_matches('.').to_ascii_lowercase();
        let bare = t
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(&t);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Some(Self::Ip(ip));
        }
        is_name(&t).then_some(Self::Name(t))
    }
}

impl HostMatch {
    fn matches(&self, host: &RequestHost) -> bool {
        match (self, host) {
            (Self::Name(n), RequestHost::Name(h)) => n == h,
            (Self::Below(n), RequestHost::Name(h)) => h
                .strip_suffix(n.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            (Self::Ip(a), RequestHost::Ip(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            HostMatch::Name(n) => write!(f, "{n}:{}", self.port),
            HostMatch::Below(n) => write!(f, "*.{n}:{}", self.port),
            HostMatch::Ip(IpAddr::V4(a)) => write!(f, "{a}:{}", self.port),
            HostMatch::Ip(IpAddr::V6(a)) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

impl HostPattern {
    /// Parses `HOST[:PORT]`; the error names the entry and what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("network entry `{text}` {why}");
        let t = text.trim().to_ascii_lowercase();
        if t.is_empty() {
            return Err(bad("is empty"));
        }
        if t.contains("://") || t.contains('/') {
            return Err(bad(
                "is a URL; write the host only, e.g. \"api.github.com\" or \"api.github.com:443\"",
            ));
        }
        let (host, port) = if let Some(rest) = t.strip_prefix('[') {
            let (addr, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("has no closing `]`"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("has text after `]`"))?,
                ),
            };
            let ip: Ipv6Addr = addr
                .parse()
                .map_err(|_| bad("is not an IPv6 address in brackets"))?;
            (HostMatch::Ip(IpAddr::V6(ip)), port)
        } else {
            let (host, port) = match t.split_once(':') {
                Some((_, p)) if p.contains(':') => {
                    return Err(bad("has more than one `:`; write an IPv6 address in brackets, e.g. \"[2001:db8::1]:443\""))
                }
                Some((h, p)) => (h, Some(p)),
                None => (t.as_str(), None),
            };
            let host = host.trim_end_matches('.');
            let host = if let Ok(ip) = host.parse::<Ipv4Addr>() {
                HostMatch::Ip(IpAddr::V4(ip))
            } else if host == "*" {
                return Err(bad(
                    "allows every host; write network = true for the whole network",
                ));
            } else if let Some(below) = host.strip_prefix("*.") {
                if !is_name(below) {
                    return Err(bad("is not `*.` followed by a host name"));
                }
                if !below.contains('.') {
                    return Err(bad(
                        "would allow a whole top-level domain; name the domain, e.g. \"*.slack.com\"",
                    ));
                }
                HostMatch::Below(below.to_owned())
            } else if host.contains('*') {
                return Err(bad(
                    "has a `*` that is not the whole first label; only `*.domain` is allowed",
                ));
            } else if is_name(host) {
                HostMatch::Name(host.to_owned())
            } else {
                return Err(bad(
                    "is not a host name (letters, digits and `-` between dots), an IPv4 address or an IPv6 address in brackets",
                ));
            };
            (host, port)
        };
        let port = match port {
            None => DEFAULT_EGRESS_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(bad("has a port that is not a number from 1 to 65535")),
            },
        };
        Ok(Self { host, port })
    }
}

/// A DNS name: dot-separated labels of letters, digits and `-` (not at
/// either end of a label), at most 253 characters.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> EgressAllowList {
        match Network::resolve(Some(&NetworkConfig::AllowList(
            items.iter().map(|s| (*s).to_owned()).collect(),
        )))
        .unwrap()
        {
            Network::Allow(l) => l,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_wildcards_addresses_and_ports_match_as_documented() {
        let l = list(&[
            "API.GitHub.com",
            "*.slack.com:443",
            "127.0.0.1:8080",
            "[::1]:9000",
            "plain.example:80",
        ]);
        assert!(l.allows("api.github.com", 443));
        assert!(l.allows("api.github.com.", 443));
        assert!(!l.allows("api.github.com", 80), "no port means 443 only");
        assert!(!l.allows("github.com", 443));
        assert!(!l.allows("evil-api.github.com", 443));
        assert!(l.allows("files.slack.com", 443));
        assert!(l.allows("a.b.slack.com", 443));
        assert!(
            !l.allows("slack.com", 443),
            "the wildcard is below the domain"
        );
        assert!(!l.allows("notslack.com", 443));
        assert!(l.allows("127.0.0.1", 8080));
        assert!(!l.allows("127.0.0.1", 8081));
        assert!(
            !l.allows("localhost", 8080),
            "a name never matches an address"
        );
        assert!(l.allows("[::1]", 9000) && l.allows("::1", 9000));
        assert!(l.allows("plain.example", 80) && !l.allows("plain.example", 443));
        assert!(!l.allows("", 443) && !l.allows("bad host", 443));
        assert_eq!(
            l.specs(),
            [
                "api.github.com:443",
                "*.slack.com:443",
                "127.0.0.1:8080",
                "[::1]:9000",
                "plain.example:80"
            ]
        );
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        for (entry, says) in [
            ("https://api.github.com", "is a URL"),
            ("api.github.com/v3", "is a URL"),
            ("*", "network = true"),
            ("*.com", "top-level domain"),
            ("api.*.com", "first label"),
            ("a..b", "is not a host name"),
            ("host:0", "port"),
            ("host:99999", "port"),
            ("host:x", "port"),
            ("::1", "brackets"),
            ("[::1", "closing"),
            ("[1.2.3.4]", "IPv6"),
            ("", "empty"),
        ] {
            let e = HostPattern::parse(entry).unwrap_err();
            assert!(e.contains(says) && e.contains(entry), "{entry}: {e}");
        }
        let e = Network::resolve(Some(&NetworkConfig::AllowList(vec![]))).unwrap_err();
        assert!(e.contains("network = false"), "{e}");
    }

    #[test]
    fn the_file_takes_a_switch_or_a_list() {
        #[derive(Deserialize)]
        struct T {
            network: NetworkConfig,
        }
        let t: T = toml::from_str("network = true").unwrap();
        assert_eq!(t.network, NetworkConfig::Switch(true));
        let t: T = toml::from_str("network = [\"a.example\"]").unwrap();
        assert_eq!(
            t.network,
            NetworkConfig::AllowList(vec!["a.example".into()])
        );
        let e = toml::from_str::<T>("network = \"a.example\"")
            .err()
            .unwrap();
        assert!(e.to_string().contains("a list of hosts"), "{e}");
        assert_eq!(
            Network::resolve(Some(&NetworkConfig::Switch(true)))
                .unwrap()
                .fingerprint(),
            serde_json::json!(true)
        );
        assert_eq!(Network::resolve(None).unwrap(), Network::Off);
    }
}
