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
        }
    }
}
