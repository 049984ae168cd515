//! The HTTP endpoint's connections: accepted one by one, capped in number,
//! each with a deadline for its request headers.
//!
//! `axum::serve` has neither a cap nor a timeout, so 3,000 idle sockets (or a
//! thousand that send a header byte a minute) could hold every file
//! descriptor the gateway has. Here:
//! - at start the soft `RLIMIT_NOFILE` is raised to the hard one;
//! - at most `[limits] max_connections` connections are open at once, and
//!   always a headroom (half the descriptor limit, at most 256) below the
//!   descriptor limit, so upstream pipes, the store and the logs can still
//!   open files; a connection past the cap is closed at once, counted;
//! - a connection must deliver a request's complete headers within
//!   `[limits] header_timeout` of the gateway starting to wait for them,
//!   which also closes a keep-alive connection idle that long (a response
//!   being written, such as an event stream, is not waiting for headers);
//! - a request body must arrive within `[limits] body_timeout` (checked where
//!   the MCP endpoint reads it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::gateway::Gateway;

/// Descriptors kept free for everything but client connections, at most.
const FD_HEADROOM: u64 = 256;

/// How long a connection may take to finish its response once the gateway stops.
const DRAIN: Duration = Duration::from_secs(2);

/// Raises the soft limit on open files to the hard one; the soft limit now.
pub(crate) fn raise_fd_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own and pass by pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass by pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    Some(lim.rlim_cur)
}

/// The connection cap: `max`, and a headroom below the descriptor limit.
pub(crate) fn connection_cap(max: usize, fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(soft) => {
            let headroom = (soft / 2).min(FD_HEADROOM);
            let room = usize::try_from(soft - headroom).unwrap_or(usize::MAX);
            max.min(room).max(1)
        }
        None => max,
    }
}

/// Accepts connections on `listener` and serves `app` on each until the
/// gateway is cancelled. Runs as a task of the gateway.
pub(crate) async fn serve(gw: Gateway, listener: TcpListener, app: Router) {
    let limits = gw.settings().limits.clone();
    let fd_limit = raise_fd_limit();
    let cap = connection_cap(limits.max_connections, fd_limit);
    tracing::debug!(
        cap,
        fd_limit,
        "serving at most {cap} client connections at once"
    );
    let permits = Arc::new(Semaphore::new(cap));
    let refused = AtomicU64::new(0);
    let cancel = gw.cancellation();
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors (or another passing error): let some close.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            let n = refused.fetch_add(1, Ordering::Relaxed) + 1;
            if n == 1 || n.is_multiple_of(1000) {
                tracing::warn!(
                    refused = n,
                    "closed a new connection: {cap} are open already (raise `max_connections` in [limits] if that is expected)"
                );
            }
            drop(stream);
            continue;
        };
        let header_timeout = gw.settings().limits.header_timeout;
        let service = TowerToHyperService::new(app.clone());
        let cancel = cancel.clone();
        gw.tasks().spawn(async move {
            let _permit = permit;
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = cancel.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(DRAIN, conn).await;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_headroom_below_the_descriptor_limit() {
        assert_eq!(connection_cap(1024, Some(1024)), 768);
        assert_eq!(connection_cap(1024, Some(1 << 20)), 1024);
        assert_eq!(connection_cap(1024, Some(100)), 50);
        assert_eq!(connection_cap(1024, None), 1024);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let soft = raise_fd_limit().expect("getrlimit works here");
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        assert_eq!((soft, lim.rlim_cur), (lim.rlim_max, lim.rlim_max));
    }
}
