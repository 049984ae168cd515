//! Whether a value a person gives (an environment variable, a header) looks
//! like a credential, so that it goes to the keyring instead of the file.
//!
//! Two independent signs, either enough:
//! - the name says so: one of its words is TOKEN, KEY, SECRET, PASSWORD,
//!   PAT, AUTH, CREDENTIAL…, unless its last word says it names something
//!   else (`…_KEY_FILE`, `…_TOKEN_URL`, `…_KEY_ID`);
//! - the value's shape says so: a known credential form (a PEM private key,
//!   a JWT, `Bearer …`, `user:password@` in a URL) or a long run of mixed
//!   letters and digits with the entropy of random bytes.
//!
//! Values that refer to something else (`${VAR}`, a path, an ordinary URL,
//! a number, a word) are never taken for credentials by shape.

/// Words in a name that mark a credential.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "TOKENS",
    "KEY",
    "KEYS",
    "APIKEY",
    "SECRET",
    "SECRETS",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "PASSPHRASE",
    "PAT",
    "AUTH",
    "AUTHORIZATION",
    "CREDENTIAL",
    "CREDENTIALS",
    "CRED",
    "CREDS",
    "COOKIE",
    "SESSION",
    "BEARER",
    "PRIVATE",
    "SIGNATURE",
    "DSN",
];

/// Last words of a name that say the value names or locates something
/// rather than being the credential itself.
const REFERENCE_WORDS: &[&str] = &[
    "FILE", "PATH", "DIR", "URL", "URI", "ENDPOINT", "HOST", "PORT", "ID", "NAME", "USER",
    "USERNAME", "REGION", "TYPE", "MODE", "VERSION", "HEADER", "PREFIX", "EXPIRY", "EXPIRES",
    "TTL", "LENGTH", "SIZE", "ENABLED", "DISABLED",
];

/// Whether `name = value` looks like a credential.
pub fn looks_secret(name: &str, value: &str) -> bool {
    let value = value.trim();
    if value.is_empty() || value.contains("${") {
        return false;
    }
    secret_name(name) || secret_shape(value)
}

/// The words of a name: split at `_`, `-`, `.` and lower-to-upper case changes.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        word.push(c.to_ascii_uppercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn secret_name(name: &str) -> bool {
    let words = words(name);
    let Some(last) = words.last() else {
        return false;
    };
    if REFERENCE_WORDS.contains(&last.as_str()) {
        return false;
    }
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        // APIKEY, ACCESSTOKEN, CLIENTSECRET written as one word.
        || words.iter().any(|w| {
            ["TOKEN", "SECRET", "PASSWORD", "APIKEY"]
                .iter()
                .any(|s| w.len() > s.len() && w.ends_with(s))
        })
}

fn secret_shape(value: &str) -> bool {
    if value.contains("PRIVATE KEY-----") {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    for scheme in ["bearer ", "basic ", "token ", "dpop "] {
        if let Some(rest) = lower.strip_prefix(scheme) {
            return rest.trim().len() >= 8;
        }
    }
    if let Ok(url) = reqwest::Url::parse(value) {
        // An ordinary URL is not a credential; one carrying a password is.
        return url.password().is_some_and(|p| !p.is_empty());
    }
    if value.contains(char::is_whitespace) || value.starts_with('/') || value.starts_with('~') {
        return false;
    }
    if is_jwt(value) {
        return true;
    }
    random_looking(value)
}

/// Three base64url segments, the first a JSON header (`eyJ`).
fn is_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

/// At least 20 characters of token alphabet with letters and digits mixed
/// and the character entropy of random text, not of words or a UUID.
fn random_looking(value: &str) -> bool {
    let token_alphabet = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.+/=:~".contains(&b));
    if value.len() < 20 || !token_alphabet {
        return false;
    }
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let letters = value.bytes().filter(u8::is_ascii_alphabetic).count();
    if digits == 0 || letters == 0 || is_uuid(value) {
        return false;
    }
    // Identifiers and versions (`claude-sonnet-4-20250514`) keep letters
    // and digits in separate parts; random tokens mix them within one.
    let mixed_part = value.split(|c: char| "-_.+/=:~".contains(c)).any(|p| {
        p.len() >= 8
            && p.bytes().any(|b| b.is_ascii_digit())
            && p.bytes().any(|b| b.is_ascii_alphabetic())
    });
    mixed_part && entropy(value) >= 3.5
}

fn is_uuid(value: &str) -> bool {
    value.len() == 36
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Shannon entropy of the characters, in bits per character.
fn entropy(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in value.bytes() {
        counts[b as usize] += 1;
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::looks_secret;

    #[test]
    fn credentials_by_name() {
        for (k, v) in [
            ("GITHUB_PERSONAL_ACCESS_TOKEN", "abc"),
            ("OPENAI_API_KEY", "x"),
            ("DB_PASSWORD", "hunter2"),
            ("clientSecret", "s"),
            ("SLACK_BOT_TOKEN", "x"),
            ("GITLAB_PAT", "x"),
            ("Authorization", "whatever"),
            ("X-Api-Key", "k"),
            ("APIKEY", "k"),
            ("SENTRY_DSN", "https://k@o1.ingest.example/1"),
        ] {
            assert!(looks_secret(k, v), "{k}");
        }
    }

    #[test]
    fn credentials_by_shape() {
        for v in [
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "sk-proj-3xAmpl3K3yW1thD1g1tsAndL3tt3rs",
            "xoxb-2048-1234567890-AbC1dEf2GhI3jKl4",
            "AKIAIOSFODNN7EXAMPLE0",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "Bearer abcdefgh12345",
            "postgres://app:hunter2@db:5432/app",
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
        ] {
            assert!(looks_secret("VALUE", v), "{v}");
        }
    }

    #[test]
    fn ordinary_values_stay_in_the_file() {
        for (k, v) in [
            ("LOG_LEVEL", "debug"),
            ("PORT", "8080"),
            ("GITHUB_TOKEN_URL", "https://github.example/login/oauth"),
            ("SSH_KEY_FILE", "/home/me/.ssh/id_ed25519"),
            ("AWS_ACCESS_KEY_ID", "AKIA_not_checked_by_name"),
            ("PROJECT", "0b6f3f0e-8c2a-4c36-9a55-3f1c2d1e9b7a"),
            ("ROOT", "/srv/data/projects-2024/archive_v2"),
            ("API_BASE", "https://api.example.com/v1/projects"),
            ("GITHUB_TOKEN", "${GITHUB_TOKEN}"),
            ("NODE_OPTIONS", "--max-old-space-size=4096"),
            ("MODEL", "claude-sonnet-4-20250514"),
            ("TZ", "Europe/Amsterdam"),
        ] {
            assert!(!looks_secret(k, v), "{k}={v}");
        }
    }
}
