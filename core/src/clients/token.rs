//! Client tokens: the bearer token a client presents on `/mcp`, so the
//! gateway knows which client calls (not the name it claims) and can refuse
//! a process that has none. Only a hash of each token is kept.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every token starts so, which tells a person (and a secret scanner) what it is.
pub const TOKEN_PREFIX: &str = "pc_";

/// A new random token (256 bits), to show the person once.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The hash kept of `token` (SHA-256, hex): enough to check one presented,
/// useless to present. A token is random, so no salt or slow hash is needed.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `name` can name a client: 1-64 of `A-Z a-z 0-9 . _ -`; else why not.
pub fn check_client_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 64 {
        return Err("it must be 1 to 64 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err("use only A-Z a-z 0-9 . _ -");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_only_their_hash_matches() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(
            a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 43,
            "{a}"
        );
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(token_hash(&a).len(), 64);
        assert!(check_client_name("cursor").is_ok());
        assert!(check_client_name("my client").is_err());
        assert!(check_client_name("").is_err());
    }
}
