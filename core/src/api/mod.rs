//! The admin API: JSON over HTTP on loopback under `/api/v1`, for the CLI,
//! the web UI and the desktop app. Every request needs a bearer token: the
//! one kept in `admin.token` (mode 0600), or another channel's (see
//! [`Channels`]), which also names who decided. It is served on the same listener as the
//! MCP endpoint, so Host and Origin are checked the same way. The web UI is
//! served beside it at `/ui/`.

mod channel;
mod client;
mod client_tokens;
mod connect;
mod handler;
mod profiles;
mod registry;
mod routes;
mod runtime;
mod secrets;
mod servers;
mod settings;
mod token;
mod ui;

pub use channel::Channels;
pub use client::{AdminClient, ClientError};
pub use routes::router;
pub use runtime::{RuntimeFile, ServedBy};
pub use token::load_or_create_token;
