//! The task that owns an upstream: connect, handshake, list tools, serve,
//! and on failure restart with capped exponential backoff and full jitter.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use rand::Rng;
use serde_json::Value;

use super::handle::{empty_params, Live, PendingMap};
use super::handshake::{handshake, list_tools, HANDSHAKE_TIMEOUT};
use super::{UpstreamError, UpstreamEvent, UpstreamHandle, UpstreamState};
use crate::config::{Isolation, TransportSettings};
use crate::isolation::{spawn_container, spawn_sandboxed, ContainerOptions, SandboxOptions};
use crate::protocol::{to_raw, Kind, Message};
use crate::transport::{connect_http, spawn_stdio, Connection, HttpOptions, Inbound, StdioOptions};

const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Up this long, a run counts as healthy and the backoff starts over.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);
/// How long an upstream whose call timed out has to answer a ping before it
/// counts as hung and is restarted.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn supervise(handle: UpstreamHandle) {
    let shared = handle.0.clone();
    if !shared.settings.enabled {
        set_state(&handle, UpstreamState::Disabled, None);
        return;
    }
    let mut failures: u32 = 0;
    loop {
        set_state(&handle, UpstreamState::Starting, None);
        shared.stderr.clear_tail();
        // A new process or connection starts at its own default level, and in no era yet.
        handle.set_log_level(None);
        shared.info.write().protocol_version.clear();
        *shared.listen_id.lock() = None;
        let started = Instant::now();
        let pending: Arc<PendingMap> = Arc::default();
        let attempt = tokio::select! {
            r = connect(&handle, pending.clone()) => r,
            () = shared.cancel.cancelled() => break,
        };
        let error = match attempt {
            Ok(conn) => run(&handle, conn, pending).await,
            // Shown as text (the server's last error): the hint on its last line.
            Err(e) => crate::hint::with_hint(&e),
        };
        if shared.cancel.is_cancelled() {
            break;
        }
        if error == IDLE {
            // Not a failure: it sleeps until the next call wakes it (UpstreamHandle::wake).
            shared.status.send_modify(|s| {
                s.state = UpstreamState::Idle;
                s.last_error = None;
            });
            handle.notify(UpstreamEvent::StateChanged {
                server: shared.settings.name.clone(),
            });
            return;
        }
        // Waiting for a person to sign in is not a failure: wait for them, then start at once.
        if let Some(oauth) = shared.oauth.clone().filter(|o| o.sign_in_url().is_some()) {
            tracing::info!(
                server = shared.settings.name,
                "waiting for sign-in ({error})"
            );
            shared.status.send_modify(|s| {
                s.state = UpstreamState::NeedsSignIn;
                s.last_error = Some(error);
            });
            handle.notify(UpstreamEvent::StateChanged {
                server: shared.settings.name.clone(),
            });
            tokio::select! {
                () = oauth.settled() => {}
                () = shared.cancel.cancelled() => break,
            }
            failures = 0;
            continue;
        }
        failures = if started.elapsed() > HEALTHY_AFTER {
            1
        } else {
            failures.saturating_add(1)
        };
        let delay = backoff(failures);
        tracing::warn!(
            server = shared.settings.name,
            "upstream stopped: {error}; retrying in {:.1} s",
            delay.as_secs_f64()
        );
        shared.status.send_modify(|s| {
            s.state = UpstreamState::Backoff;
            s.restart_reason = Some(error.clone());
            s.last_error = Some(error);
            s.restarts += 1;
            s.retry_at = Some(SystemTime::now() + delay);
        });
        handle.notify(UpstreamEvent::StateChanged {
            server: shared.settings.name.clone(),
        });
        let signed_in = async {
            match &shared.oauth {
                // A sign-in started by a person during the wait ends it.
                Some(oauth) => {
                    let mut rx = shared.status.subscribe();
                    let _ = rx.wait_for(|s| s.sign_in_url.is_some()).await;
                    oauth.settled().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = signed_in => {}
            () = shared.cancel.cancelled() => break,
        }
    }
    set_state(&handle, UpstreamState::Stopped, None);
}

/// Full jitter: a uniform wait between half and all of the capped exponential step.
fn backoff(failures: u32) -> Duration {
    let exp = BACKOFF_BASE
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_CAP);
    let ms = exp.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms.max(1)))
}

fn set_state(handle: &UpstreamHandle, state: UpstreamState, error: Option<String>) {
    handle.0.status.send_modify(|s| {
        s.state = if s.sign_in_url.is_some()
            && matches!(state, UpstreamState::Starting | UpstreamState::Backoff)
        {
            UpstreamState::NeedsSignIn
        } else {
            state
        };
        if error.is_some() || state == UpstreamState::Ready {
            s.last_error = error;
        }
        s.retry_at = None;
    });
    handle.notify(UpstreamEvent::StateChanged {
        server: handle.name().to_owned(),
    });
}

/// Connects, handshakes and lists tools. On error the connection is ended.
async fn connect(
    handle: &UpstreamHandle,
    pending: Arc<PendingMap>,
) -> Result<Connection, UpstreamError> {
    let shared = &handle.0;
    let name = shared.settings.name.clone();
    let inbound = inbound_sink(handle, pending.clone());
    let limit = shared.ctx.max_message_bytes;
    // Secrets are looked up now, for this connection only: the values live
    // in these maps until the process is spawned or the link is built. Off
    // the runtime: a keyring answers over D-Bus, and a locked one slowly.
    let (env, headers) = {
        let secrets = shared.ctx.secrets.clone();
        let transport = shared.settings.transport.clone();
        let resolved = tokio::task::spawn_blocking(move || match &transport {
            TransportSettings::Stdio { env, .. } => {
                secrets.resolve(env).map(|e| (e, IndexMap::new()))
            }
            TransportSettings::Http { headers, .. } => {
                secrets.resolve(headers).map(|h| (IndexMap::new(), h))
            }
        })
        .await;
        match resolved {
            Ok(Ok(maps)) => maps,
            Ok(Err(source)) => {
                return Err(UpstreamError::Secret {
                    server: name.clone(),
                    source: Box::new(source),
                })
            }
            Err(e) => {
                return Err(UpstreamError::Unavailable {
                    server: name.clone(),
                    reason: format!("looking up its secrets failed: {e}"),
                    stderr: Vec::new(),
                    hint: "Portcullis retries it; `portcullis secret list` shows its secrets"
                        .into(),
                })
            }
        }
    };
    let in_process = (shared.ctx.connector.as_ref()).and_then(|c| c(&name, inbound.clone()));
    let conn = if let Some(conn) = in_process {
        conn
    } else {
        match (&shared.settings.transport, &shared.settings.isolation) {
            (
                TransportSettings::Stdio {
                    command, args, cwd, ..
                },
                Isolation::Docker(docker),
            ) => spawn_container(
                ContainerOptions {
                    server: &name,
                    command,
                    args,
                    env: &env,
                    cwd: cwd.as_ref(),
                    settings: docker,
                    max_message_bytes: limit,
                    refused: &shared.ctx.egress_refused,
                },
                &shared.ctx.docker,
                shared.stderr.clone(),
                inbound,
                &shared.tasks,
                &shared.cancel,
            )
            .await
            .map_err(|source| UpstreamError::Isolation {
                server: name.clone(),
                source,
            })?,
            (
                TransportSettings::Stdio {
                    command, args, cwd, ..
                },
                Isolation::Sandbox(sandbox),
            ) => spawn_sandboxed(
                SandboxOptions {
                    server: &name,
                    command,
                    args,
                    env: &env,
                    cwd: cwd.as_ref(),
                    settings: sandbox,
                    data: shared.ctx.docker.data(),
                    max_message_bytes: limit,
                    groups: &shared.ctx.groups,
                    refused: &shared.ctx.egress_refused,
                },
                shared.stderr.clone(),
                inbound,
                &shared.tasks,
                &shared.cancel,
            )
            .await
            .map_err(|source| UpstreamError::Isolation {
                server: name.clone(),
                source,
            })?,
            (
                TransportSettings::Stdio {
                    command, args, cwd, ..
                },
                Isolation::None,
            ) => spawn_stdio(
                StdioOptions {
                    server: &name,
                    command,
                    args,
                    env: &env,
                    clear_env: false,
                    cwd: cwd.as_ref(),
                    max_message_bytes: limit,
                    groups: &shared.ctx.groups,
                },
                shared.stderr.clone(),
                inbound,
                &shared.tasks,
                &shared.cancel,
            )
            .map_err(|source| UpstreamError::Transport {
                server: name.clone(),
                source,
            })?,
            (TransportSettings::Http { url, kind, .. }, _) => connect_http(
                HttpOptions {
                    server: &name,
                    tool_schemas: tool_schemas(handle),
                    url,
                    headers: &headers,
                    kind: *kind,
                    max_message_bytes: limit,
                    auth: shared.oauth.clone(),
                },
                inbound,
                &shared.tasks,
                &shared.cancel,
            )
            .await
            .map_err(|source| UpstreamError::Transport {
                server: name.clone(),
                source,
            })?,
        }
    };
    let live = Arc::new(Live {
        tx: conn.tx.clone(),
        pending,
    });
    *shared.live.write() = Some(live);
    let mut conn = conn;
    // A connection that ends during the handshake fails it now: nobody else
    // would answer the requests it leaves pending.
    let result = tokio::select! {
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(handle)) => Ok(r),
        reason = &mut conn.closed => Err(reason.unwrap_or_else(|_| "the connection closed".into())),
    };
    let (failure, exit) = match result {
        Ok(Ok(Ok(()))) => return Ok(conn),
        Ok(Ok(Err(e))) => (e, None),
        Ok(Err(_)) => (
            UpstreamError::Handshake {
                server: name.clone(),
                message: format!(
                    "no answer to `initialize` within {} s",
                    HANDSHAKE_TIMEOUT.as_secs()
                ),
                stderr: handle.stderr_tail(),
            },
            None,
        ),
        Err(reason) => (
            UpstreamError::Unavailable {
                server: name.clone(),
                reason: reason.clone(),
                stderr: Vec::new(),
                hint: String::new(),
            },
            Some(reason),
        ),
    };
    *shared.live.write() = None;
    conn.cancel.cancel();
    // Let the process die so its exit status and last stderr lines are known.
    let mut closed = conn.closed;
    let exit = match exit {
        Some(reason) => Some(reason),
        None => tokio::time::timeout(Duration::from_secs(3), &mut closed)
            .await
            .ok()
            .and_then(Result::ok),
    };
    Err(match failure {
        UpstreamError::Died { .. } | UpstreamError::Unavailable { .. } => {
            UpstreamError::Handshake {
                server: name,
                message: exit.unwrap_or_else(|| "the connection closed".into()),
                stderr: handle.stderr_tail(),
            }
        }
        other => other,
    })
}

/// Serves until the connection ends or the upstream is stopped; returns why it ended.
/// A call that times out makes it ping the upstream; one that does not answer
/// within `PING_TIMEOUT` is hung, and its connection is ended so that it restarts.
async fn run(handle: &UpstreamHandle, conn: Connection, pending: Arc<PendingMap>) -> String {
    let shared = &handle.0;
    shared.status.send_modify(|s| s.pid = conn.pid);
    set_state(handle, UpstreamState::Ready, None);
    let mut closed = conn.closed;
    // `idle_stop`: looked at a few times per period.
    let idle_stop = shared.settings.idle_stop;
    let mut idle_check = tokio::time::interval(
        idle_stop
            .map_or(Duration::from_secs(3600), |d| d / 4)
            .clamp(Duration::from_millis(100), Duration::from_secs(5)),
    );
    let mut probe: Option<
        std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send + '_>>,
    > = None;
    let reason = loop {
        tokio::select! {
            r = &mut closed => break r.unwrap_or_else(|_| "the connection closed".into()),
            () = shared.cancel.cancelled() => {
                conn.cancel.cancel();
                let _ = tokio::time::timeout(Duration::from_secs(5), &mut closed).await;
                break "stopped".into();
            }
            _ = idle_check.tick(), if idle_stop.is_some() => {
                if idle_stop.is_some_and(|limit| is_idle(handle, &pending, limit)) {
                    tracing::info!(server = handle.name(), "stopping: nothing to do for {} s (idle_stop)", idle_stop.unwrap_or_default().as_secs());
                    conn.cancel.cancel();
                    let _ = tokio::time::timeout(Duration::from_secs(5), &mut closed).await;
                    break IDLE.into();
                }
            }
            () = shared.refresh.notified() => {
                if let Err(e) = list_tools(handle).await {
                    tracing::warn!(server = handle.name(), "re-listing tools failed: {e}");
                }
            }
            () = shared.stalled.notified(), if probe.is_none() => {
                let what = shared
                    .stall
                    .lock()
                    .take()
                    .unwrap_or_else(|| "a request timed out".into());
                probe = Some(Box::pin(ping(handle, what)));
            }
            hung = async {
                match probe.as_mut() {
                    Some(p) => p.await,
                    None => std::future::pending().await,
                }
            } => {
                probe = None;
                if let Some(reason) = hung {
                    tracing::warn!(server = handle.name(), "{reason}");
                    break reason;
                }
            }
        }
    };
    // Record why first, so callers woken below can say it.
    shared.status.send_modify(|s| {
        s.last_error = Some(reason.clone());
        s.pid = None;
    });
    *shared.live.write() = None;
    pending.lock().clear();
    conn.cancel.cancel();
    reason
}

/// Why a connection ended when it was stopped for idleness.
const IDLE: &str = "stopped: idle";

/// Whether the upstream had nothing to do for `limit`: no request sent
/// since, none waiting for its answer, nothing a client holds open (a
/// resource subscription). The gateway's own listen stream to a stateless
/// server does not count: it is how the gateway hears of changes, and a
/// stopped server has none.
fn is_idle(handle: &UpstreamHandle, pending: &PendingMap, limit: Duration) -> bool {
    let shared = &handle.0;
    let quiet = shared.last_request.lock().elapsed() >= limit;
    quiet
        && pending.lock().is_empty()
        && shared.resource_subscriptions.lock().is_empty()
        && !(shared.ctx.held_open)(handle.name())
}

/// Pings an upstream whose call (`what`) timed out; `Some(reason)` if it is hung.
async fn ping(handle: &UpstreamHandle, what: String) -> Option<String> {
    let answered = tokio::time::timeout(PING_TIMEOUT, async {
        match handle
            .start_request_live("ping", Some(empty_params()))
            .await
        {
            Ok(call) => call.answered().await,
            // The connection is ending: that is reported as it ends.
            Err(_) => true,
        }
    })
    .await;
    match answered {
        Ok(_) => None,
        Err(_) => Some(format!(
            "restarted because it stopped answering: {what}, then a ping went unanswered for {} s",
            PING_TIMEOUT.as_secs()
        )),
    }
}

/// Looks up a tool's input schema in the upstream's last listing.
fn tool_schemas(handle: &UpstreamHandle) -> crate::transport::ToolSchemas {
    let weak = Arc::downgrade(&handle.0);
    Arc::new(move |name: &str| {
        let shared = weak.upgrade()?;
        let tools = shared.tools.read().clone();
        tools
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.field("inputSchema"))
    })
}

/// A notification from the gateway's own listen stream, without that stream's id
/// (clients' listen streams get their own; session clients none).
fn without_subscription_id(mut msg: Message) -> Message {
    let key = crate::protocol::modern::META_SUBSCRIPTION_ID;
    if msg.params.as_ref().is_some_and(|p| p.get().contains(key)) {
        if let Ok(Some(mut params)) = msg.params_as::<serde_json::Map<String, Value>>() {
            if let Some(Value::Object(meta)) = params.get_mut("_meta") {
                meta.remove(key);
                if meta.is_empty() {
                    params.remove("_meta");
                }
            }
            msg.params = Some(to_raw(&params));
        }
    }
    msg
}

/// Where the transport hands each incoming message: responses straight to
/// their waiting callers, everything else to the gateway.
fn inbound_sink(handle: &UpstreamHandle, pending: Arc<PendingMap>) -> Inbound {
    let events = handle.0.ctx.events.clone();
    let progress = handle.0.ctx.progress.clone();
    let name = handle.name().to_owned();
    let weak = Arc::downgrade(&handle.0);
    Arc::new(move |msg: Message| match msg.kind() {
        Kind::Response => {
            let id = msg.id_key().and_then(|k| k.parse::<u64>().ok());
            let waiter = id.and_then(|id| pending.lock().remove(&id));
            match waiter {
                Some(tx) => {
                    let _ = tx.send(msg);
                }
                None => tracing::debug!(
                    server = name,
                    "a response to an unknown id {:?}",
                    msg.id_key()
                ),
            }
        }
        // The acknowledgment of the gateway's own listen stream is for the gateway.
        Kind::Notification if msg.method() == "notifications/subscriptions/acknowledged" => {}
        Kind::Notification
            if matches!(
                msg.method(),
                "notifications/progress" | "notifications/message"
            ) =>
        {
            progress(without_subscription_id(msg));
        }
        Kind::Notification if msg.method() == "notifications/tools/list_changed" => {
            if let Some(shared) = weak.upgrade() {
                shared.refresh.notify_one();
            }
        }
        Kind::Notification => {
            let msg = without_subscription_id(msg);
            if events
                .try_send(UpstreamEvent::Notification {
                    server: name.clone(),
                    msg,
                })
                .is_err()
            {
                tracing::warn!(
                    server = name,
                    "gateway event queue full; a notification was dropped"
                );
            }
        }
        Kind::Request => {
            if let Err(e) = events.try_send(UpstreamEvent::Request {
                server: name.clone(),
                msg,
            }) {
                tracing::warn!(
                    server = name,
                    "gateway event queue full; refusing a request from the upstream"
                );
                let UpstreamEvent::Request { msg, .. } = e.into_inner() else {
                    return;
                };
                if let (Some(id), Some(shared)) = (msg.id.clone(), weak.upgrade()) {
                    if let Some(live) = shared.live.read().clone() {
                        let _ = live.tx.try_send(Message::error_response(
                            id,
                            -32603,
                            "the gateway is overloaded",
                            None,
                        ));
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        for n in 1..40 {
            let d = backoff(n);
            let step = BACKOFF_BASE
                .saturating_mul(1u32 << (n - 1).min(16))
                .min(BACKOFF_CAP);
            assert!(d >= step / 2 && d <= step, "{n}: {d:?} vs {step:?}");
        }
        assert!(backoff(30) <= BACKOFF_CAP);
        let spread: std::collections::HashSet<_> = (0..20).map(|_| backoff(6)).collect();
        assert!(spread.len() > 1, "no jitter");
    }
}
