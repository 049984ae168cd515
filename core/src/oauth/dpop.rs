//! DPoP (RFC 9449): tokens bound to a key the gateway holds, so a stolen
//! access token is useless without it. Used when the authorization server
//! lists ES256 in `dpop_signing_alg_values_supported`. The key (P-256, PKCS#8)
//! is kept with the tokens in the store; each request carries a fresh proof
//! (a JWT with a new `jti`, the method, the URL without query, the time, the
//! token's hash in `ath`, and the server's nonce once it asked for one).

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use sha2::{Digest, Sha256};

use super::OAuthError;
use crate::store::UnixMillis;

fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A DPoP key.
pub(crate) struct DpopKey {
    pkcs8: Vec<u8>,
    pair: EcdsaKeyPair,
}

impl DpopKey {
    /// A new key.
    pub(crate) fn generate() -> Result<Self, OAuthError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| failed("generating a DPoP key"))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// The key stored earlier.
    pub(crate) fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, OAuthError> {
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|_| failed("reading the stored DPoP key"))?;
        Ok(Self {
            pkcs8: pkcs8.to_vec(),
            pair,
        })
    }

    /// The key as stored.
    pub(crate) fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key as a JWK (`x` and `y` from the uncompressed point).
    fn jwk(&self) -> serde_json::Value {
        let point = self.pair.public_key().as_ref();
        serde_json::json!({ "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]) })
    }

    /// A proof for one request: `method` to `url` (its query and fragment left
    /// out), with the hash of `token` when one is presented, and `nonce` when the
    /// server gave one.
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, OAuthError> {
        let mut htu =
            reqwest::Url::parse(url).map_err(|_| failed("making a DPoP proof for a bad URL"))?;
        htu.set_query(None);
        htu.set_fragment(None);
        let mut jti = [0u8; 16];
        ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut jti)
            .map_err(|_| failed("making a DPoP proof"))?;
        let mut claims = serde_json::json!({ "jti": b64(jti), "htm": method, "htu": htu.as_str(), "iat": UnixMillis::now().0 / 1000 });
        if let Some(t) = token {
            claims["ath"] = b64(Sha256::digest(t.as_bytes())).into();
        }
        if let Some(n) = nonce {
            claims["nonce"] = n.into();
        }
        let header = serde_json::json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk() });
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| failed("signing a DPoP proof"))?;
        Ok(format!("{input}.{}", b64(sig.as_ref())))
    }
}

fn failed(what: &str) -> OAuthError {
    OAuthError::Untrusted {
        message: format!("{what} failed"),
        hint: "this is a bug or a broken crypto library; sign in again, and report it if it stays"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_are_fresh_and_survive_storing_the_key() {
        let key = DpopKey::generate().unwrap();
        let again = DpopKey::from_pkcs8(key.pkcs8()).unwrap();
        assert_eq!(key.jwk(), again.jwk());
        let a = key
            .proof("POST", "http://h/mcp?x=1", Some("tok"), Some("n1"))
            .unwrap();
        let b = key
            .proof("POST", "http://h/mcp", Some("tok"), None)
            .unwrap();
        assert_ne!(a, b);
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(a.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["htu"], "http://h/mcp");
        assert_eq!(claims["nonce"], "n1");
        assert_eq!(claims["ath"], b64(Sha256::digest(b"tok")));
        let header: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(a.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert!(header["jwk"].get("d").is_none());
    }
}
