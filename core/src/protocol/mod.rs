//! The MCP wire protocol as far as the gateway needs it: a lossless JSON-RPC
//! message, error codes chosen in one place, protocol versions and the rule
//! that turns upstream tool names into downstream names.
//!
//! The protocol notes for people are `docs/PROTOCOL.md` at the repository root.

mod codes;
mod depth;
mod log_level;
mod message;
pub mod modern;
mod names;
mod version;

pub use codes::{http_status_for, ErrorCode};
pub use depth::{too_deep, MAX_JSON_DEPTH};
pub use log_level::LogLevel;
pub use message::{raw, to_raw, Kind, Message, ParseError};
pub use names::{NameMap, ToolName};
pub use version::{negotiate, LATEST_VERSION, SUPPORTED_VERSIONS};
