//! The encrypted file, for a machine without an OS keyring (a server with no
//! desktop session, a container).
//!
//! `<data dir>/secrets.enc` holds each secret sealed with ChaCha20-Poly1305
//! under its own random nonce, with the secret's name as associated data (an
//! entry moved to another name does not open). The key is 32 random bytes in
//! `<data dir>/secrets.key` (0600), made on the first write; or, when
//! `PORTCULLIS_SECRETS_KEY` is set, derived from that passphrase with
//! PBKDF2-HMAC-SHA256 and the file's salt, so no key is on disk at all.
//!
//! What it protects: a copy of the file alone (a backup, a synced folder, a
//! dotfile repository) that leaves the key behind. What it does not: anything
//! running as the same user, which can read the key as Portcullis does.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::config::private_files;
use crate::config::EnvVars;

const FORMAT: &str = "portcullis-secrets/1";
const KEY_LEN: usize = 32;
/// PBKDF2 rounds for a passphrase (OWASP's 2023 figure for HMAC-SHA256).
const ROUNDS: u32 = 600_000;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Sealed {
    format: String,
    /// `file` (the key file) or `passphrase` (PORTCULLIS_SECRETS_KEY).
    key: String,
    /// The PBKDF2 salt, for a passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    nonce: String,
    sealed: String,
}

/// The encrypted file of one data folder.
#[derive(Debug, Clone)]
pub(super) struct SecretFile {
    path: PathBuf,
    key_path: PathBuf,
    /// The key last derived from a passphrase, with the salt and passphrase
    /// it came from: derivation is slow on purpose, and a server's start
    /// reads each of its secrets.
    derived: std::sync::Arc<parking_lot::Mutex<Option<Derived>>>,
}

/// A key derived from a passphrase and a salt.
struct Derived {
    salt: Vec<u8>,
    phrase: String,
    key: [u8; KEY_LEN],
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Derived(..)")
    }
}

impl SecretFile {
    pub(super) fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join("secrets.enc"),
            key_path: data_dir.join("secrets.key"),
            derived: std::sync::Arc::default(),
        }
    }

    /// The file's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// What keeps the file's key, for the warning: the key file or the passphrase.
    pub(super) fn key_source(&self) -> String {
        if passphrase().is_some() {
            format!("the passphrase in {}", EnvVars::PORTCULLIS_SECRETS_KEY)
        } else {
            format!("the key in {}", self.key_path.display())
        }
    }

    pub(super) fn get(&self, name: &str) -> Result<Option<String>, Failure> {
        let sealed = self.load()?;
        let Some(entry) = sealed.entries.get(name) else {
            return Ok(None);
        };
        let key = self.key(&sealed, false)?;
        Ok(open(&key, name, entry).map(Some)?)
    }

    pub(super) fn set(&self, name: &str, value: &str) -> Result<(), Failure> {
        self.update(|sealed, key| {
            sealed
                .entries
                .insert(name.to_owned(), seal(key, name, value)?);
            Ok(())
        })
    }

    pub(super) fn remove(&self, name: &str) -> Result<(), Failure> {
        if !self.path.exists() {
            return Ok(());
        }
        self.update(|sealed, _| {
            sealed.entries.remove(name);
            Ok(())
        })
    }

    /// Reads, changes and writes the file under an exclusive lock, so a CLI
    /// and a running gateway writing at once both land.
    fn update(
        &self,
        change: impl FnOnce(&mut Sealed, &LessSafeKey) -> Result<(), String>,
    ) -> Result<(), Failure> {
        let _lock = Lock::take(&self.path.with_extension("enc.lock"))?;
        let mut sealed = self.load()?;
        if sealed.format.is_empty() {
            self.start(&mut sealed)?;
        }
        let key = self.key(&sealed, true)?;
        change(&mut sealed, &key)?;
        let text = serde_json::to_vec_pretty(&sealed).map_err(|e| e.to_string())?;
        private_files::write_atomic(&self.path, &text)
            .map_err(|e| format!("writing {} failed: {e}", self.path.display()).into())
    }

    /// A new file: sealed with the passphrase when one is given, else with
    /// the key file.
    fn start(&self, sealed: &mut Sealed) -> Result<(), String> {
        sealed.format = FORMAT.to_owned();
        if passphrase().is_some() {
            sealed.key = "passphrase".to_owned();
            sealed.salt = Some(B64.encode(random::<16>()?));
        } else {
            sealed.key = "file".to_owned();
        }
        Ok(())
    }

    /// The key `sealed` is sealed with; with `create`, a missing key file
    /// of a file with no entries yet is made.
    fn key(&self, sealed: &Sealed, create: bool) -> Result<LessSafeKey, Failure> {
        let bytes = match sealed.key.as_str() {
            "passphrase" => {
                let Some(phrase) = passphrase() else {
                    return Err(Failure {
                        reason: format!("{} is sealed with a passphrase", self.path.display()),
                        hint: Some(format!("set {} to it", EnvVars::PORTCULLIS_SECRETS_KEY)),
                    });
                };
                let salt = sealed
                    .salt
                    .as_deref()
                    .and_then(|s| B64.decode(s).ok())
                    .ok_or_else(|| format!("{} has no salt", self.path.display()))?;
                let mut derived = self.derived.lock();
                match derived.as_ref() {
                    Some(d) if d.salt == salt && d.phrase == phrase => d.key,
                    _ => {
                        let mut key = [0u8; KEY_LEN];
                        ring::pbkdf2::derive(
                            ring::pbkdf2::PBKDF2_HMAC_SHA256,
                            NonZeroU32::new(ROUNDS).expect("non-zero"),
                            &salt,
                            phrase.as_bytes(),
                            &mut key,
                        );
                        *derived = Some(Derived { salt, phrase, key });
                        key
                    }
                }
            }
            _ => match std::fs::read(&self.key_path) {
                Ok(b) if b.len() == KEY_LEN => b.try_into().expect("length checked"),
                Ok(_) => {
                    return Err(format!(
                        "{} is not a key Portcullis made (it must be {KEY_LEN} bytes)",
                        self.key_path.display()
                    )
                    .into())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && create && sealed.entries.is_empty() => {
                    let key = random::<KEY_LEN>()?;
                    private_files::write_atomic(&self.key_path, &key).map_err(|e| {
                        format!("writing {} failed: {e}", self.key_path.display())
                    })?;
                    key
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Failure {
                        reason: format!(
                            "the key of {} is missing ({} does not exist)",
                            self.path.display(),
                            self.key_path.display()
                        ),
                        hint: Some(format!(
                            "copy secrets.key from the machine the secrets came from, or remove {} and set the secrets again",
                            self.path.display()
                        )),
                    })
                }
                Err(e) => {
                    return Err(format!("reading {} failed: {e}", self.key_path.display()).into())
                }
            },
        };
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| "bad key".to_owned())?;
        Ok(LessSafeKey::new(key))
    }

    fn load(&self) -> Result<Sealed, String> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                let sealed: Sealed = serde_json::from_slice(&bytes).map_err(|e| {
                    format!(
                        "{} is not a secrets file Portcullis can read: {e}",
                        self.path.display()
                    )
                })?;
                if sealed.format != FORMAT {
                    return Err(format!(
                        "{} has format `{}`; this Portcullis reads `{FORMAT}`",
                        self.path.display(),
                        sealed.format
                    ));
                }
                Ok(sealed)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Sealed::default()),
            Err(e) => Err(format!("reading {} failed: {e}", self.path.display())),
        }
    }
}

/// Why the file could not be used: what went wrong, and what to do when
/// that is known.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) reason: String,
    pub(super) hint: Option<String>,
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Self { reason, hint: None }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The passphrase the person gave for the file, if any.
fn passphrase() -> Option<String> {
    std::env::var(EnvVars::PORTCULLIS_SECRETS_KEY)
        .ok()
        .filter(|p| !p.is_empty())
}

fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| "the system's random source failed".to_owned())?;
    Ok(out)
}

fn seal(key: &LessSafeKey, name: &str, value: &str) -> Result<Entry, String> {
    let nonce = random::<NONCE_LEN>()?;
    let mut data = value.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(name.as_bytes()),
        &mut data,
    )
    .map_err(|_| "sealing failed".to_owned())?;
    Ok(Entry {
        nonce: B64.encode(nonce),
        sealed: B64.encode(data),
    })
}

fn open(key: &LessSafeKey, name: &str, entry: &Entry) -> Result<String, String> {
    let broken = || {
        format!("the secret `{name}` in the secrets file does not open: the key is not the one it was sealed with, or the file was changed")
    };
    let nonce: [u8; NONCE_LEN] = B64
        .decode(&entry.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(broken)?;
    let mut data = B64.decode(&entry.sealed).map_err(|_| broken())?;
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(name.as_bytes()),
            &mut data,
        )
        .map_err(|_| broken())?;
    String::from_utf8(plain.to_vec()).map_err(|_| broken())
}

/// An exclusive lock on a lock file beside the secrets file, released on drop.
struct Lock(#[allow(dead_code)] std::fs::File);

impl Lock {
    fn take(path: &Path) -> Result<Self, String> {
        use std::os::unix::io::AsRawFd;
        let file = private_files::open_append(path)
            .map_err(|e| format!("opening {} failed: {e}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(format!(
                "locking {} failed: {}",
                path.display(),
                std::io::Error::last_os_error()
            ));
        }
        Ok(Self(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_the_file_holds_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = SecretFile::new(dir.path());
        file.set("github-pat", "ghp_s3cretvalue").unwrap();
        file.set("other", "two").unwrap();
        assert_eq!(
            file.get("github-pat").unwrap().as_deref(),
            Some("ghp_s3cretvalue")
        );
        assert_eq!(file.get("missing").unwrap(), None);
        let bytes = std::fs::read(file.path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("s3cret"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secrets.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        file.remove("github-pat").unwrap();
        assert_eq!(file.get("github-pat").unwrap(), None);
        assert_eq!(file.get("other").unwrap().as_deref(), Some("two"));
    }

    #[test]
    fn an_entry_moved_to_another_name_or_a_lost_key_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let file = SecretFile::new(dir.path());
        file.set("a", "value-a").unwrap();
        let text = std::fs::read_to_string(file.path()).unwrap();
        std::fs::write(file.path(), text.replace("\"a\"", "\"b\"")).unwrap();
        let err = file.get("b").unwrap_err();
        assert!(err.reason.contains("does not open"), "{err}");
        std::fs::remove_file(dir.path().join("secrets.key")).unwrap();
        let err = file.set("c", "x").unwrap_err();
        assert!(err.reason.contains("secrets.key"), "{err}");
        assert!(err.hint.is_some_and(|h| h.contains("copy secrets.key")));
    }
}
