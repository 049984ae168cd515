//! Protocol version negotiation for the session-based era.

/// The newest session-based protocol version the gateway speaks.
pub const LATEST_VERSION: &str = "2025-11-25";

/// Every session-based version the gateway accepts, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// Picks the version to answer an `initialize` with: the client's own when
/// the gateway supports it, otherwise the newest the gateway knows (the
/// client then decides whether it can go on).
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| SUPPORTED_VERSIONS.iter().copied().find(|v| *v == r))
        .unwrap_or(LATEST_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates() {
        assert_eq!(negotiate(Some("2024-11-05")), "2024-11-05");
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("1999-01-01")), LATEST_VERSION);
        assert_eq!(negotiate(None), LATEST_VERSION);
    }
}
