//! What every admin API handler shares: the state it is given ([`Api`]) and
//! how a gateway error becomes an HTTP answer ([`error`]).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::StoreError;
use crate::{Gateway, GatewayError};

/// The handlers' state: the gateway, and the channels whose tokens are accepted.
#[derive(Clone)]
pub(super) struct Api {
    pub(super) gw: Gateway,
    pub(super) channels: Arc<super::Channels>,
}

/// A gateway error as an HTTP answer: status, message and hint apart.
pub(super) fn error(e: GatewayError) -> Response {
    use crate::clients::ClientError;
    use crate::config::ConfigError;
    use crate::registry::RegistryError;
    let status = match &e {
        GatewayError::Registry(RegistryError::UnknownServer { .. }) => StatusCode::NOT_FOUND,
        GatewayError::Registry(
            RegistryError::Unreachable { .. }
            | RegistryError::Status { .. }
            | RegistryError::Malformed { .. },
        ) => StatusCode::BAD_GATEWAY,
        GatewayError::Registry(_) => StatusCode::BAD_REQUEST,
        GatewayError::UnknownServer { .. }
        | GatewayError::UnknownTool { .. }
        | GatewayError::Config(ConfigError::UnknownServer { .. }) => StatusCode::NOT_FOUND,
        GatewayError::Config(ConfigError::DuplicateServer { .. })
        | GatewayError::ChangedSinceShown { .. }
        | GatewayError::Store {
            error: StoreError::HighSeverityUnconfirmed { .. },
        }
        | GatewayError::Client(
            ClientError::NothingToUndo { .. }
            | ClientError::ChangedSince { .. }
            | ClientError::Unreadable { .. }
            | ClientError::EditUnsafe { .. },
        ) => StatusCode::CONFLICT,
        GatewayError::Secret(crate::secrets::SecretError::NotFound { .. }) => StatusCode::NOT_FOUND,
        GatewayError::InvalidParams(_)
        | GatewayError::InvalidInput { .. }
        | GatewayError::Secret(crate::secrets::SecretError::InvalidName { .. })
        | GatewayError::Store { .. }
        | GatewayError::Config(
            ConfigError::Syntax { .. } | ConfigError::Invalid { .. } | ConfigError::Import { .. },
        ) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    // The new definitions travel with the refusal, so the person sees them at once.
    let current = match &e {
        GatewayError::ChangedSinceShown { current, .. } => serde_json::to_value(current).ok(),
        _ => None,
    };
    // What an approval held back for want of confirmation, so a front end
    // can name it when it asks.
    let held = match &e {
        GatewayError::Store {
            error: StoreError::HighSeverityUnconfirmed { held, .. },
        } => serde_json::to_value(held).ok(),
        _ => None,
    };
    let hint = crate::hint::Hinted::hint(&e);
    let mut body = json!({ "error": e.to_string(), "hint": hint });
    // The values a registry server still needs, so a form can ask for them.
    if let GatewayError::Registry(RegistryError::MissingValues { missing, .. }) = &e {
        body["missing"] = serde_json::to_value(missing).unwrap_or_default();
    }
    if let Some(current) = current {
        body["changed"] = current;
    }
    if let Some(held) = held {
        body["high_findings"] = held;
    }
    (status, Json(body)).into_response()
}
