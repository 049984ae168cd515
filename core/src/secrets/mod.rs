//! Secrets: values a person does not want in a file (API keys, tokens,
//! passwords) and the OAuth tokens, client secrets and keys Portcullis holds.
//!
//! A secret has a name; its value lives in the OS keyring ([`keyring`]),
//! or, where there is none (no desktop session), in an encrypted file in the
//! data folder ([`file`]), with a one-line warning saying what that protects.
//! The store records which of the two holds each name, never a value, so a
//! value set from an SSH session (the file) is still found by the gateway
//! started at login (which has a keyring), and `portcullis secret list`
//! needs neither. The config refers to a secret by name
//! (`{ secret = "github-pat" }`); [`Secrets::resolve`] looks the values up
//! when a server starts, for that server only.

mod detect;
mod error;
mod file;
mod keyring;
mod seal;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;
use serde::Serialize;

use crate::config::{check_secret_name, Paths, ValueOrSecret, MAX_SECRET_NAME};
use crate::store::{Store, UnixMillis};

pub use detect::looks_secret;
pub use error::SecretError;
pub use seal::{Moved, SealOptions};

/// A secret's name as a person gives it: 1-128 of `A-Z a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SecretName(String);

impl SecretName {
    /// Checks a name.
    pub fn parse(name: &str) -> Result<Self, SecretError> {
        check_secret_name(name).map_err(|reason| SecretError::InvalidName {
            name: name.to_owned(),
            reason,
        })?;
        Ok(Self(name.to_owned()))
    }

    /// The name, for a value a person gave as `KEY` of `server`: `server.KEY`,
    /// other characters replaced with `-`.
    pub fn for_value(server: &str, key: &str) -> Self {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._-".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        };
        let mut name = format!("{}.{}", clean(server), clean(key));
        name.truncate(MAX_SECRET_NAME);
        Self(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SecretName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a secret's value is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The OS keyring.
    Keyring,
    /// The encrypted file in the data folder.
    File,
}

impl Backend {
    fn as_str(self) -> &'static str {
        match self {
            Self::Keyring => "keyring",
            Self::File => "file",
        }
    }

    /// Where it is, for a person: "the OS keyring" or "the encrypted secrets file".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Keyring => "the OS keyring",
            Self::File => "the encrypted secrets file",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "keyring" {
            Self::Keyring
        } else {
            Self::File
        }
    }
}

/// One secret as `portcullis secret list` shows it: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretInfo {
    /// Its name.
    pub name: String,
    /// Where its value is kept.
    pub backend: Backend,
    /// When it was last set.
    pub updated_at: UnixMillis,
}

/// What storing a secret did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Stored {
    /// Where the value went.
    pub backend: Backend,
    /// Said once per process when the value went to the encrypted file
    /// because there is no usable keyring.
    pub warning: Option<String>,
}

/// The secrets of one data folder. Clones share it.
#[derive(Clone)]
pub struct Secrets {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    keyring: keyring::Keyring,
    file: file::SecretFile,
    /// Whether the keyring answered when first asked (once per process).
    reachable: OnceLock<Result<(), String>>,
    warned: AtomicBool,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets").finish_non_exhaustive()
    }
}

impl Secrets {
    /// The secrets of the data folder in `paths`, recorded in `store`.
    /// Nothing is read until a secret is asked for.
    pub fn open(paths: &Paths, store: Arc<Store>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                keyring: keyring::Keyring::new(&paths.data),
                file: file::SecretFile::new(&paths.data),
                reachable: OnceLock::new(),
                warned: AtomicBool::new(false),
            }),
        }
    }

    /// Where the store records `name` as kept, if it does.
    fn recorded(&self, name: &str) -> Result<Option<Backend>, SecretError> {
        Ok(self
            .inner
            .store
            .secret_backend(name)?
            .map(|b| Backend::parse(&b)))
    }

    fn keyring(&self) -> Result<(), String> {
        self.inner
            .reachable
            .get_or_init(|| self.inner.keyring.probe())
            .clone()
    }

    /// Stores `value` as `name`: in the keyring, or in the encrypted file
    /// when no keyring can be used (saying so once).
    pub fn set(&self, name: &SecretName, value: &str) -> Result<Stored, SecretError> {
        self.store_value(name.as_str(), value)
    }

    pub(crate) fn store_value(&self, name: &str, value: &str) -> Result<Stored, SecretError> {
        let inner = &self.inner;
        let previous = self.recorded(name)?;
        let why_not = match self.keyring().and_then(|()| inner.keyring.set(name, value)) {
            Ok(()) => {
                if previous == Some(Backend::File) {
                    let _ = inner.file.remove(name);
                }
                inner.store.record_secret(name, Backend::Keyring.as_str())?;
                return Ok(Stored {
                    backend: Backend::Keyring,
                    warning: None,
                });
            }
            Err(e) => e,
        };
        inner
            .file
            .set(name, value)
            .map_err(|reason| SecretError::Write {
                name: name.to_owned(),
                reason: format!("the OS keyring: {why_not}; the encrypted file: {reason}"),
            })?;
        if previous == Some(Backend::Keyring) {
            let _ = inner.keyring.remove(name);
        }
        inner.store.record_secret(name, Backend::File.as_str())?;
        let warning = (!inner.warned.swap(true, Ordering::Relaxed)).then(|| {
            let w = format!(
                "no OS keyring ({why_not}): secrets are kept in {}, encrypted with {}; that protects copies of the file (backups, synced folders), not against programs running as you",
                inner.file.path().display(),
                inner.file.key_source()
            );
            tracing::warn!("{w}");
            w
        });
        Ok(Stored {
            backend: Backend::File,
            warning,
        })
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Result<String, SecretError> {
        self.value(name)?.ok_or_else(|| SecretError::NotFound {
            name: name.to_owned(),
        })
    }

    /// The value of `name`, or `None` if it is not set.
    pub(crate) fn value(&self, name: &str) -> Result<Option<String>, SecretError> {
        let inner = &self.inner;
        let unavailable = |backend: Backend, reason: String, hint: Option<String>| {
            let (place, general) = match backend {
                Backend::Keyring => (backend.describe().to_owned(), format!("unlock the keyring (log in to the desktop session), or run `portcullis secret set {name}` again where there is none to keep it in the encrypted file")),
                Backend::File => (inner.file.path().display().to_string(), format!("fix what the reason says, or run `portcullis secret set {name}` again")),
            };
            // A reason that knows the fix says it; else the general one.
            SecretError::Unavailable {
                name: name.to_owned(),
                backend: place,
                reason,
                hint: hint.unwrap_or(general),
            }
        };
        match self.recorded(name)? {
            Some(Backend::Keyring) => self
                .keyring()
                .and_then(|()| inner.keyring.get(name))
                .map_err(|r| unavailable(Backend::Keyring, r, None)),
            Some(Backend::File) => inner
                .file
                .get(name)
                .map_err(|f| unavailable(Backend::File, f.reason, f.hint)),
            // Not set through this data folder: an item the person put in
            // the keyring by hand under Portcullis's service is still found.
            None => Ok(match self.keyring() {
                Ok(()) => inner.keyring.get(name).ok().flatten(),
                Err(_) => None,
            }),
        }
    }

    /// Removes `name` from wherever it is kept; whether it was recorded.
    pub fn remove(&self, name: &str) -> Result<bool, SecretError> {
        let inner = &self.inner;
        let recorded = self.recorded(name)?;
        let result = match recorded {
            Some(Backend::File) => inner.file.remove(name).map_err(|f| f.reason),
            _ => self.keyring().and_then(|()| inner.keyring.remove(name)),
        };
        if let Err(reason) = result {
            if recorded.is_some() {
                return Err(SecretError::Write {
                    name: name.to_owned(),
                    reason: format!("removing it failed: {reason}"),
                });
            }
        }
        Ok(inner.store.forget_secret(name)?)
    }

    /// Every secret a person named (not the ones Portcullis keeps for OAuth), by name.
    pub fn list(&self) -> Result<Vec<SecretInfo>, SecretError> {
        Ok(self
            .inner
            .store
            .secret_rows()?
            .into_iter()
            .filter(|r| SecretName::parse(&r.name).is_ok())
            .map(|r| SecretInfo {
                backend: Backend::parse(&r.backend),
                name: r.name,
                updated_at: r.updated_at,
            })
            .collect())
    }

    /// The values of `map` (an environment or headers), secrets looked up.
    pub fn resolve(
        &self,
        map: &IndexMap<String, ValueOrSecret>,
    ) -> Result<IndexMap<String, String>, SecretError> {
        map.iter()
            .map(|(k, v)| {
                let value = match v {
                    ValueOrSecret::Plain(p) => p.clone(),
                    ValueOrSecret::Secret(name) => self.get(name)?,
                };
                Ok((k.clone(), value))
            })
            .collect()
    }

    /// The store the records are in.
    pub(crate) fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_derived_names_are_valid() {
        assert!(SecretName::parse("github-pat").is_ok());
        assert!(SecretName::parse("a b").is_err());
        assert!(SecretName::parse("oauth:x").is_err());
        assert!(SecretName::parse("").is_err());
        let derived = SecretName::for_value("github", "X-Api Key");
        assert_eq!(derived.as_str(), "github.X-Api-Key");
        assert!(SecretName::parse(derived.as_str()).is_ok());
    }

    /// Without a D-Bus session the value goes to the encrypted file, with
    /// the warning once, and is found again from the record.
    #[test]
    fn without_a_keyring_values_go_to_the_encrypted_file() {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
            return; // the keyring case is tested end to end (tests/python/test_secrets.py)
        }
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let store = Arc::new(Store::open(paths.database()).unwrap());
        let secrets = Secrets::open(&paths, store);
        let name = SecretName::parse("github-pat").unwrap();
        let stored = secrets.set(&name, "ghp_value").unwrap();
        assert_eq!(stored.backend, Backend::File);
        assert!(stored.warning.unwrap().contains("encrypted"));
        assert!(secrets.set(&name, "ghp_value2").unwrap().warning.is_none());
        assert_eq!(secrets.get("github-pat").unwrap(), "ghp_value2");
        assert_eq!(secrets.list().unwrap().len(), 1);
        assert!(matches!(
            secrets.get("other"),
            Err(SecretError::NotFound { .. })
        ));
        assert!(secrets.remove("github-pat").unwrap());
        assert!(matches!(
            secrets.get("github-pat"),
            Err(SecretError::NotFound { .. })
        ));
    }
}
