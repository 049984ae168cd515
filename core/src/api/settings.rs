//! `/api/v1/settings`: the Settings page's read and write, adapters over
//! [`Gateway::preferences`](crate::Gateway::preferences) and
//! [`Gateway::set_preferences`](crate::Gateway::set_preferences).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::handler::{error, Api};
use crate::config::GatewayChange;
use crate::GatewayError;

/// `GET /api/v1/settings`.
pub(super) async fn get(State(api): State<Api>) -> Response {
    match api.gw.preferences() {
        Ok(p) => Json(p).into_response(),
        Err(e) => error(e),
    }
}

/// `POST /api/v1/settings` with the fields to change, e.g. `{"surface": "direct"}`.
pub(super) async fn set(State(api): State<Api>, Json(body): Json<serde_json::Value>) -> Response {
    let change: GatewayChange = match serde_json::from_value(body) {
        Ok(c) => c,
        Err(e) => {
            return error(GatewayError::invalid(
                format!("these settings cannot be read: {e}"),
                "send any of listen (\"127.0.0.1:7331\"), surface (\"search\" or \"direct\"), notifications (true or false), activity_retention_days (1 to 3650)",
            ))
        }
    };
    match api.gw.set_preferences(&change).await {
        Ok(p) => Json(p).into_response(),
        Err(e) => error(e),
    }
}
