//! The endpoints clients connect to: streamable HTTP on loopback and stdio.

mod guard;
mod http;
mod http_modern;
mod stdio;

pub use http::{serve_http, HttpServer};
pub use stdio::serve_stdio;
pub(crate) use guard::check_local;
