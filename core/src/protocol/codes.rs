//! JSON-RPC error codes, chosen in one place.

/// The error codes the gateway answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The body is not JSON.
    ParseError,
    /// The JSON is not a valid request.
    InvalidRequest,
    /// No such method (or no upstream offers it).
    MethodNotFound,
    /// Unknown tool, bad arguments, or a tool that may not be called.
    InvalidParams,
    /// The gateway or an upstream failed.
    InternalError,
    /// The request was cancelled or timed out.
    RequestTimeout,
    /// The upstream is down or restarting.
    UpstreamUnavailable,
    /// The tool or server waits for a person's approval, or was blocked.
    NotApproved,
    /// The person paused the gateway: no request reaches an upstream until they resume it.
    GatewayPaused,
    /// The upstream has `max_concurrent` requests running and a full queue.
    UpstreamBusy,
    /// An HTTP routing header disagrees with the body (2026-07-28).
    HeaderMismatch,
    /// The request needs a client capability it did not declare (2026-07-28).
    MissingCapability,
    /// The request's protocol version is not served (2026-07-28).
    UnsupportedVersion,
}

impl ErrorCode {
    /// The number sent on the wire.
    pub fn code(self) -> i64 {
        match self {
            Self::ParseError => -32700,
            Self::InvalidRequest => -32600,
            Self::MethodNotFound => -32601,
            Self::InvalidParams => -32602,
            Self::InternalError => -32603,
            Self::RequestTimeout => -32001,
            Self::UpstreamUnavailable => -32002,
            Self::NotApproved => -32003,
            Self::GatewayPaused => -32004,
            Self::UpstreamBusy => -32005,
            Self::HeaderMismatch => -32020,
            Self::MissingCapability => -32021,
            Self::UnsupportedVersion => -32022,
        }
    }
}

/// The HTTP status for a JSON-RPC error answered to a stateless (2026-07-28)
/// request: the spec ties malformed requests to 400 and unknown methods to
/// 404; every other error is a normal 200 answer.
pub fn http_status_for(code: i64) -> u16 {
    match code {
        -32700 | -32600 | -32602 | -32020 | -32021 | -32022 => 400,
        -32601 => 404,
        _ => 200,
    }
}
