//! Portcullis: a local MCP gateway.
//!
//! One MCP endpoint on localhost in front of many upstream MCP servers, with
//! tool search, quarantine of new and changed tools, and isolation. The CLI,
//! the admin API, the MCP surface and the desktop app are adapters over one
//! typed [`Gateway`] API.
#![warn(missing_docs)]

pub mod api;
pub mod clients;
pub mod config;
mod downstream;
#[cfg(test)]
mod fuzz_tests;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod gateway;
pub mod hint;
pub mod isolation;
mod oauth;
pub mod protocol;
pub mod registry;
pub mod search;
pub mod secrets;
pub mod serve;
pub mod store;
pub mod telemetry;
pub mod transport;
pub mod trust;
pub mod upstream;

pub use downstream::{
    process_stdio, serve_http, serve_sign_in_callback, serve_stdio, HttpServer, ProcessInput,
    ProcessOutput,
};
pub use gateway::{
    add_client, list_clients, remove_client, Admission, Caller, ClientView, Door, NewClient,
    Refusal,
};
pub use gateway::{check_profile, profile_views, put_profile, remove_profile, ProfileView};
pub use gateway::{list_secrets, secret_uses, CallRate, SecretSet, SecretView};
pub use gateway::{
    ClientInfo, ClientSetups, Decision, Era, Gateway, GatewayError, GatewayEvent, Listener,
    Preferences, RegistryAdded, RegistryServerView, ServerEditor, ServerView, ServersAdded,
    Session, SessionTransport, ToolDetail, ToolEntry,
};
pub use oauth::{is_web_link, OAuthError, MAX_AUTHORIZATIONS};
