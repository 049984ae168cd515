//! The endpoints clients connect to: streamable HTTP on loopback and stdio.

mod answer;
mod connections;
mod guard;
mod http;
mod http_modern;
mod stdio;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use guard::host_is_local;
pub(crate) use guard::{check_local, normalize_origin, OriginPolicy};
pub use http::{serve_http, serve_sign_in_callback, HttpServer};
pub use stdio::{process_stdio, serve_stdio, ProcessInput, ProcessOutput};
