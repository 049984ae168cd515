//! What can go wrong with a secret: always its name and what to do, never its value.

/// A secret could not be read, stored or removed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The name is not one a secret can have.
    #[error("`{name}` is not a secret name: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No value is stored under the name.
    #[error("the secret `{name}` is not set")]
    NotFound {
        /// The name.
        name: String,
    },
    /// The backend holding it cannot be used now.
    #[error("the secret `{name}` is kept in {backend}, which cannot be used now: {reason}")]
    Unavailable {
        /// The name.
        name: String,
        /// Where it is kept.
        backend: String,
        /// Why it cannot be read.
        reason: String,
        /// What to do.
        hint: String,
    },
    /// Neither the keyring nor the encrypted file took the value.
    #[error("the secret `{name}` could not be stored: {reason}")]
    Write {
        /// The name.
        name: String,
        /// What failed.
        reason: String,
    },
    /// The store's record of secrets failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl crate::hint::Hinted for SecretError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::InvalidName { .. } => {
                Some("use 1-128 of A-Z a-z 0-9 . _ -, e.g. github-pat".to_owned())
            }
            Self::NotFound { name, .. } => Some(format!("portcullis secret set {name}")),
            Self::Unavailable { hint, .. } => Some(hint.clone()),
            Self::Store(e) => e.hint(),
            _ => None,
        }
    }
}
