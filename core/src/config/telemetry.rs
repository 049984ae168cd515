//! `[telemetry]`: where the gateway sends traces of its calls.
//!
//! Nothing is exported unless `otlp_endpoint` is set; then each tool call
//! becomes OpenTelemetry spans sent over OTLP/HTTP (protobuf) to that
//! collector.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::ValueOrSecret;

/// `[telemetry]` as written; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// The OTLP/HTTP collector, e.g. `http://127.0.0.1:4318`: spans go to
    /// its `/v1/traces` (a URL that has a path is used as written). Unset:
    /// no traces, and no exporter runs.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the spans. Default `portcullis`.
    pub service_name: Option<String>,
    /// Headers sent with each export (an API key, say); each a value or a
    /// `{ secret = "name" }`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, ValueOrSecret>,
}

/// The resolved `[telemetry]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetrySettings {
    /// Where spans are sent (the full `/v1/traces` URL); `None`: nowhere.
    pub traces_url: Option<reqwest::Url>,
    /// `service.name`.
    pub service_name: String,
    /// Headers of each export.
    pub headers: IndexMap<String, ValueOrSecret>,
}

/// The default `service.name`.
pub const DEFAULT_SERVICE_NAME: &str = "portcullis";

impl TelemetrySettings {
    /// Checks `[telemetry]`; an error is (what was wrong, what to do).
    pub(super) fn resolve(file: &TelemetryConfig) -> Result<Self, (String, String)> {
        let traces_url = match file.otlp_endpoint.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(traces_url(text)?),
        };
        let service_name = match file.service_name.as_deref().map(str::trim) {
            None => DEFAULT_SERVICE_NAME.to_owned(),
            Some("") => {
                return Err((
                    "[telemetry] service_name is empty".into(),
                    "remove it for the default `portcullis`, or name the service".into(),
                ))
            }
            Some(name) => name.to_owned(),
        };
        for name in file.headers.keys() {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err((
                    format!("[telemetry] headers: `{name}` is not an HTTP header name"),
                    "use letters, digits and `-`, e.g. \"x-api-key\"".into(),
                ));
            }
        }
        Ok(Self {
            traces_url,
            service_name,
            headers: file.headers.clone(),
        })
    }
}

/// The `/v1/traces` URL of a collector written as its base URL (as
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is), or as written when it has a path.
fn traces_url(text: &str) -> Result<reqwest::Url, (String, String)> {
    let bad = |why: &str| {
        (
            format!("[telemetry] otlp_endpoint `{text}` {why}"),
            "write the collector's OTLP/HTTP address, e.g. \"http://127.0.0.1:4318\" (gRPC on 4317 is not supported)".to_owned(),
        )
    };
    let mut url = reqwest::Url::parse(text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("is not an http:// or https:// URL"));
    }
    if url.path() == "/" || url.path().is_empty() {
        url.set_path("/v1/traces");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(text: &str) -> Result<String, (String, String)> {
        let file = TelemetryConfig {
            otlp_endpoint: Some(text.into()),
            ..TelemetryConfig::default()
        };
        TelemetrySettings::resolve(&file).map(|s| s.traces_url.unwrap().to_string())
    }

    #[test]
    fn a_base_url_gets_the_traces_path_and_a_full_one_is_kept() {
        assert_eq!(
            endpoint("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            endpoint("https://otel.example/custom/traces").unwrap(),
            "https://otel.example/custom/traces"
        );
    }

    #[test]
    fn unset_means_no_traces_and_nonsense_is_refused() {
        let unset = TelemetrySettings::resolve(&TelemetryConfig::default()).unwrap();
        assert!(unset.traces_url.is_none());
        assert_eq!(unset.service_name, "portcullis");
        let (message, hint) = endpoint("127.0.0.1:4317").unwrap_err();
        assert!(message.contains("otlp_endpoint"), "{message}");
        assert!(hint.contains("4318"), "{hint}");
        assert!(endpoint("grpc://collector:4317").is_err());
    }
}
