//! Hints: what a person can do about an error, kept apart from what went
//! wrong. Each error of the library says its message through `Display` and
//! its hint through [`Hinted`]; each front end renders the two its own way
//! (the CLI as a `hint:` line, the admin API and the desktop app as a
//! `hint` field, an agent's JSON-RPC error as one text with the hint last).

use std::error::Error;

/// An error that may say what to do about it.
pub trait Hinted: Error {
    /// What a person can do, when there is something to say beyond the message.
    fn hint(&self) -> Option<String>;
}

/// An error made by a front end itself: a message and a hint.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HintedError {
    /// What went wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

impl HintedError {
    /// `message`, with `hint` as what to do.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

impl Hinted for HintedError {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

/// The hint of `err` or of the first error of its sources that has one.
pub fn hint_of(err: &(dyn Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(hint) = as_hinted(e).and_then(Hinted::hint) {
            return Some(hint);
        }
        next = e.source();
    }
    None
}

/// `err` as one text, its hint on a last line (`…\nhint: …`): for readers
/// of plain text, such as an agent reading a JSON-RPC error.
pub fn with_hint(err: &(dyn Error + 'static)) -> String {
    match hint_of(err) {
        Some(hint) => format!("{err}\nhint: {hint}"),
        None => err.to_string(),
    }
}

/// `err` as a [`Hinted`], if it is one of the library's errors.
fn as_hinted<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a dyn Hinted> {
    macro_rules! first_of {
        ($($ty:ty),* $(,)?) => {
            $(if let Some(e) = err.downcast_ref::<$ty>() {
                return Some(e);
            })*
        };
    }
    first_of!(
        HintedError,
        crate::gateway::GatewayError,
        crate::gateway::Refusal,
        crate::config::ConfigError,
        crate::store::StoreError,
        crate::upstream::UpstreamError,
        crate::transport::TransportError,
        crate::isolation::IsolationError,
        crate::oauth::OAuthError,
        crate::secrets::SecretError,
        crate::search::SearchError,
        crate::api::ClientError,
        crate::clients::ClientError,
        crate::registry::RegistryError,
        crate::trust::eval::ScanEvalError,
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::GatewayError;
    use crate::upstream::UpstreamError;

    #[test]
    fn a_hint_is_found_through_wrappers_and_rendered_last() {
        let timeout = GatewayError::Upstream(UpstreamError::Timeout {
            server: "slow".into(),
            method: "tools/call".into(),
            after: std::time::Duration::from_secs(5),
        });
        assert!(!timeout.to_string().contains("hint"), "{timeout}");
        let hint = hint_of(&timeout).expect("a hint");
        assert!(hint.contains("[servers.slow]"), "{hint}");
        assert_eq!(with_hint(&timeout), format!("{timeout}\nhint: {hint}"));
        // Through a front end's own wrapping (anyhow's context) too.
        let wrapped = anyhow::Error::from(timeout).context("calling a tool");
        assert_eq!(hint_of(wrapped.as_ref()), Some(hint));
        let plain = std::io::Error::other("no hint here");
        assert_eq!(with_hint(&plain), "no hint here");
    }

    /// Messages say what went wrong; what to do is the hint's: no error
    /// attribute of the library writes its hint into the message.
    #[test]
    fn no_error_message_carries_its_hint() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src];
        let mut offenders = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (n, line) in text.lines().enumerate() {
                        if line.trim_start().starts_with("#[error(") && line.contains("\\nhint") {
                            offenders.push(format!("{}:{}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "put these hints in the error's `Hinted` impl: {offenders:?}"
        );
    }
}
