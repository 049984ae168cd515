//! A value in the config that may be a secret kept elsewhere: an
//! environment variable, a header or a client secret is either written out
//! (`K = "value"`) or refers to a secret by name (`K = { secret = "name" }`),
//! whose value lives in the OS keyring and is looked up when the server starts.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A config value: written out, or a secret's name.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ValueOrSecret {
    /// The value itself, as written in the file.
    Plain(String),
    /// The name of a secret (see `portcullis secret`).
    Secret(String),
}

impl ValueOrSecret {
    /// The secret's name, for a reference.
    pub fn secret_name(&self) -> Option<&str> {
        match self {
            Self::Secret(name) => Some(name),
            Self::Plain(_) => None,
        }
    }

    /// What it is without its value: `{ secret = "name" }` for a reference,
    /// `(a value)` for a value written out.
    pub fn describe(&self) -> String {
        match self {
            Self::Secret(name) => format!("{{ secret = \"{name}\" }}"),
            Self::Plain(_) => "(a value)".to_owned(),
        }
    }
}

/// The longest secret name.
pub const MAX_SECRET_NAME: usize = 128;

/// Whether `name` can name a secret: 1-128 of `A-Z a-z 0-9 . _ -`; else why not.
pub fn check_secret_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("it is empty")
    } else if name.len() > MAX_SECRET_NAME {
        Err("it is longer than 128 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        Err("it has a character other than A-Z a-z 0-9 . _ -")
    } else {
        Ok(())
    }
}

impl ValueOrSecret {
    /// Values as written, none of them secrets yet.
    pub fn plain_map(
        map: indexmap::IndexMap<String, String>,
    ) -> indexmap::IndexMap<String, ValueOrSecret> {
        map.into_iter().map(|(k, v)| (k, Self::Plain(v))).collect()
    }
}

impl From<&str> for ValueOrSecret {
    fn from(value: &str) -> Self {
        Self::Plain(value.to_owned())
    }
}

impl From<String> for ValueOrSecret {
    fn from(value: String) -> Self {
        Self::Plain(value)
    }
}

/// Never the value: config values may be secrets written out by hand.
impl fmt::Debug for ValueOrSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Serialize for ValueOrSecret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Plain(v) => s.serialize_str(v),
            Self::Secret(name) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("secret", name)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ValueOrSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ValueOrSecret;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, or { secret = \"name\" } naming a secret")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ValueOrSecret::Plain(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut name: Option<String> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "secret" {
                        return Err(de::Error::custom(format!(
                            "unknown key `{key}`: a secret is written {{ secret = \"name\" }}"
                        )));
                    }
                    name = Some(map.next_value()?);
                }
                let name = name.ok_or_else(|| {
                    de::Error::custom("a secret is written { secret = \"name\" }")
                })?;
                if let Err(reason) = check_secret_name(&name) {
                    return Err(de::Error::custom(format!(
                        "`{name}` is not a secret name: {reason} (use 1-128 of A-Z a-z 0-9 . _ -)"
                    )));
                }
                Ok(ValueOrSecret::Secret(name))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;

    #[derive(Deserialize, Serialize)]
    struct T {
        env: IndexMap<String, ValueOrSecret>,
    }

    #[test]
    fn both_forms_read_and_write_back() {
        let t: T = toml::from_str("env = { A = \"x\", B = { secret = \"github-pat\" } }").unwrap();
        assert_eq!(t.env["A"], ValueOrSecret::Plain("x".into()));
        assert_eq!(t.env["B"], ValueOrSecret::Secret("github-pat".into()));
        let text = toml::to_string(&t).unwrap();
        let back: T = toml::from_str(&text).unwrap();
        assert_eq!(back.env, t.env);
    }

    #[test]
    fn mistakes_say_how_to_write_it() {
        for (text, expect) in [
            ("env = { B = { secrt = \"x\" } }", "unknown key `secrt`"),
            (
                "env = { B = { secret = \"has space\" } }",
                "not a secret name",
            ),
            ("env = { B = 3 }", "{ secret = \"name\" }"),
        ] {
            let err = toml::from_str::<T>(text).err().unwrap().to_string();
            assert!(err.contains(expect), "{text}: {err}");
        }
    }

    #[test]
    fn debug_never_shows_a_value() {
        let v = ValueOrSecret::Plain("ghp_secret".into());
        assert!(!format!("{v:?}").contains("ghp_"));
    }
}
