//! The OS keyring: the Secret Service over D-Bus on Linux (GNOME Keyring,
//! KWallet, KeePassXC), the Keychain on macOS, the Credential Manager on
//! Windows, through `keyring-core` and each platform's store.
//!
//! A keyring can hang: a locked collection asks the desktop to prompt for a
//! password, and with no desktop nobody answers. Every operation therefore
//! runs on a thread of its own and is given up after [`TIMEOUT`]; the
//! thread of an operation given up on ends when the keyring answers.

use std::sync::{mpsc, Arc, OnceLock};
use std::time::Duration;

use keyring_core::{CredentialStore, Entry, Error};

/// How long one keyring operation may take before it is given up.
pub(super) const TIMEOUT: Duration = Duration::from_secs(5);

/// Items of one Portcullis data folder in the OS keyring: the service is
/// `portcullis` and the data folder, the account is the secret's name.
#[derive(Debug, Clone)]
pub(super) struct Keyring {
    service: String,
}

/// The platform's store, set up once per process; why not, if it cannot be.
fn platform() -> Result<Arc<CredentialStore>, String> {
    static STORE: OnceLock<Result<Arc<CredentialStore>, String>> = OnceLock::new();
    STORE
        .get_or_init(|| bounded(new_store).and_then(|r| r))
        .clone()
}

#[cfg(target_os = "linux")]
fn new_store() -> Result<Arc<CredentialStore>, String> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty())
        && !std::env::var_os("XDG_RUNTIME_DIR")
            .map(|d| std::path::Path::new(&d).join("bus").exists())
            .unwrap_or(false)
    {
        return Err("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)".into());
    }
    zbus_secret_service_keyring_store::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| describe(&e))
}

#[cfg(target_os = "macos")]
fn new_store() -> Result<Arc<CredentialStore>, String> {
    apple_native_keyring_store::keychain::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| describe(&e))
}

#[cfg(target_os = "windows")]
fn new_store() -> Result<Arc<CredentialStore>, String> {
    windows_native_keyring_store::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| describe(&e))
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn new_store() -> Result<Arc<CredentialStore>, String> {
    Err("this platform has no OS keyring Portcullis can use".into())
}

/// Runs `f` on a thread of its own and waits at most [`TIMEOUT`] for it.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("portcullis-keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        return Err(format!("could not start a thread for it: {e}"));
    }
    rx.recv_timeout(TIMEOUT).map_err(|_| {
        format!(
            "it did not answer within {} s (is it locked and waiting for a password?)",
            TIMEOUT.as_secs()
        )
    })
}

/// What went wrong, in words; never a secret (keyring errors carry none).
fn describe(e: &Error) -> String {
    match e {
        Error::NoStorageAccess(inner) => format!("it cannot be reached: {inner}"),
        Error::PlatformFailure(inner) => format!("it failed: {inner}"),
        Error::NoDefaultStore => "no keyring store is set up".into(),
        other => other.to_string(),
    }
}

impl Keyring {
    /// The items of the data folder `data_dir`.
    pub(super) fn new(data_dir: &std::path::Path) -> Self {
        Self {
            service: format!("portcullis:{}", data_dir.display()),
        }
    }

    /// Whether the keyring answers: reads an item that does not exist.
    pub(super) fn probe(&self) -> Result<(), String> {
        self.get("portcullis-probe").map(|_| ())
    }

    fn entry(&self, name: &str) -> Result<Entry, String> {
        let store = platform()?;
        // A label a person recognises in their keyring's window (Linux only:
        // the other stores take no modifiers).
        let label = format!("Portcullis secret {name}");
        let modifiers = std::collections::HashMap::from([("label", label.as_str())]);
        if cfg!(target_os = "linux") {
            Entry::new_in_store_with_modifiers(&store, &self.service, name, &modifiers)
        } else {
            Entry::new_in_store(&store, &self.service, name)
        }
        .map_err(|e| describe(&e))
    }

    /// The value of `name`, or `None` if the keyring has no such item.
    pub(super) fn get(&self, name: &str) -> Result<Option<String>, String> {
        let entry = self.entry(name)?;
        match bounded(move || entry.get_password())? {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(describe(&e)),
        }
    }

    /// Stores `value` as `name`, replacing any earlier value.
    pub(super) fn set(&self, name: &str, value: &str) -> Result<(), String> {
        let entry = self.entry(name)?;
        let value = value.to_owned();
        bounded(move || entry.set_password(&value))?.map_err(|e| describe(&e))
    }

    /// Deletes `name`; deleting what is not there is not an error.
    pub(super) fn remove(&self, name: &str) -> Result<(), String> {
        let entry = self.entry(name)?;
        match bounded(move || entry.delete_credential())? {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(describe(&e)),
        }
    }
}
