//! Traces: OpenTelemetry spans of each tool call, client → gateway →
//! upstream, exported over OTLP/HTTP when `[telemetry] otlp_endpoint` is
//! set. Unset, [`Telemetry`] is an empty handle: no exporter, no thread, and
//! the request path pays one branch.
//!
//! `propagation` reads and writes W3C trace context (`traceparent`,
//! `tracestate`) in HTTP headers and in a request's `params._meta`, the
//! place the OpenTelemetry conventions for MCP give it; `spans` makes the
//! spans of one call. `logs` sets up the process's own log on stderr.

mod logs;
mod propagation;
mod spans;

use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use crate::config::TelemetrySettings;
use crate::secrets::Secrets;

pub use logs::init_logging;
pub(crate) use propagation::{copy_to_headers, remote_parent};
pub(crate) use spans::{CallSpan, Outcome};

/// How long one export may take before it is given up.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why traces cannot be sent.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be made.
    #[error("traces cannot be sent to {url}: {reason}")]
    Exporter {
        /// The collector's URL.
        url: String,
        /// What failed.
        reason: String,
    },
}

/// Where spans go, if anywhere. Clones share one exporter.
#[derive(Clone, Default)]
pub struct Telemetry {
    exporting: Option<Arc<Exporting>>,
}

struct Exporting {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

impl Telemetry {
    /// Starts exporting as `settings` say, with `headers` (secrets already
    /// looked up) on each export; nothing runs when no endpoint is set.
    pub fn start(
        settings: &TelemetrySettings,
        headers: IndexMap<String, String>,
    ) -> Result<Self, TelemetryError> {
        let Some(url) = &settings.traces_url else {
            return Ok(Self::default());
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(url.as_str())
            .with_timeout(EXPORT_TIMEOUT)
            .with_headers(headers.into_iter().collect())
            .build()
            .map_err(|e| TelemetryError::Exporter {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(settings.service_name.clone())
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("portcullis");
        tracing::info!("sending traces to {url}");
        Ok(Self {
            exporting: Some(Arc::new(Exporting { provider, tracer })),
        })
    }

    /// Whether spans are made and sent.
    pub fn is_enabled(&self) -> bool {
        self.exporting.is_some()
    }

    fn tracer(&self) -> Option<&SdkTracer> {
        self.exporting.as_ref().map(|e| &e.tracer)
    }

    /// The exporter `[telemetry]` asks for, with its headers' secrets looked
    /// up; none, saying why, when it cannot be made: traces are not worth
    /// refusing to serve for.
    pub fn configured(settings: &TelemetrySettings, secrets: &Secrets) -> Self {
        if settings.traces_url.is_none() {
            return Self::default();
        }
        let started = secrets
            .resolve(&settings.headers)
            .map_err(|e| format!("a header's secret cannot be read ({e})"))
            .and_then(|headers| Self::start(settings, headers).map_err(|e| e.to_string()));
        started.unwrap_or_else(|why| {
            tracing::error!("[telemetry]: {why}; no traces are sent this run");
            Self::default()
        })
    }

    /// Sends what is queued and stops the exporter, waiting at most
    /// `deadline`. Later spans are dropped.
    pub async fn stop(&self, deadline: Duration) {
        let Some(e) = self.exporting.clone() else {
            return;
        };
        // The export blocks: off the runtime's threads.
        let flush = tokio::task::spawn_blocking(move || {
            if let Err(err) = e.provider.shutdown_with_timeout(deadline) {
                tracing::debug!("stopping the trace exporter: {err}");
            }
        });
        let _ = tokio::time::timeout(deadline, flush).await;
    }
}
