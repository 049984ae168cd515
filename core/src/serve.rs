//! A serving gateway: the [`Gateway`], its HTTP listener (MCP endpoint and
//! admin API), the runtime file the CLI looks for, and the config watcher.
//!
//! `portcullis serve` and the desktop app both run exactly this, so the two
//! cannot drift apart: same config, same data dir, same routes. What is left
//! to each front end is how it talks to its person (a terminal, a tray).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::api::{self, Channels, RuntimeFile, ServedBy};
use crate::config::{ConfigError, ConfigFile, ConfigWatcher, Overrides, Paths, Settings};
use crate::trust::Actor;
use crate::{serve_http, Gateway, GatewayError, GatewayEvent};

/// Resolves the paths and settings a gateway runs with: the config file
/// (`config_override`, else the standard place), the environment, then `overrides`.
pub fn load_settings(
    config_override: Option<&Path>,
    overrides: &Overrides,
) -> Result<(Paths, Settings), ConfigError> {
    let paths = Paths::resolve(config_override)?;
    let file = ConfigFile::load(&paths.config)?;
    let settings = Settings::resolve(&file, overrides, &paths.config)?;
    Ok((paths, settings))
}

/// A gateway serving on its listen address. Drop does not stop it: call
/// [`Server::shutdown`].
pub struct Server {
    gw: Gateway,
    paths: Paths,
    addr: SocketAddr,
    channels: Channels,
}

impl Server {
    /// Starts the gateway and its upstreams, listens on `settings.listen`,
    /// writes the runtime file and applies later edits of the config file
    /// (resolved again with `overrides`).
    pub async fn start(
        paths: Paths,
        settings: Settings,
        overrides: Overrides,
    ) -> Result<Self, GatewayError> {
        Self::start_as(paths, settings, overrides, ServedBy::Serve).await
    }

    /// [`Server::start`] for a front end that says who it is in the runtime
    /// file, so a second front end can tell the person who already serves.
    pub async fn start_as(
        paths: Paths,
        settings: Settings,
        overrides: Overrides,
        served_by: ServedBy,
    ) -> Result<Self, GatewayError> {
        if !settings.listen.ip().is_loopback() {
            tracing::warn!("listening on {}, which is not a loopback address; requests must still name localhost in Host", settings.listen);
        }
        let listen = settings.listen;
        let gw = Gateway::start(paths.clone(), settings)?;
        let started = async {
            let channels = Channels::load(&paths.admin_token(), &paths.cli_token())?;
            let http = serve_http(&gw, listen, api::router(gw.clone(), channels.clone())).await?;
            Ok::<_, GatewayError>((channels, http.addr))
        };
        let (channels, addr) = match started.await {
            Ok(v) => v,
            Err(e) => {
                gw.shutdown(SHUTDOWN_DEADLINE).await;
                return Err(e);
            }
        };
        let server = Self {
            gw,
            paths,
            addr,
            channels,
        };
        let runtime = RuntimeFile {
            pid: std::process::id(),
            served_by,
            mcp_url: server.mcp_url(),
            api_url: server.api_url(),
        };
        if let Err(source) = runtime.write(&server.paths.runtime_file()) {
            let error = GatewayError::Io {
                path: server.paths.runtime_file().display().to_string(),
                source,
            };
            server.shutdown(SHUTDOWN_DEADLINE).await;
            return Err(error);
        }
        watch_config(&server.gw, &server.paths, overrides);
        Ok(server)
    }

    /// The gateway (clones share it).
    pub fn gateway(&self) -> &Gateway {
        &self.gw
    }

    /// Where the files are.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The address it listens on (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin API token (decisions taken with it are recorded as `api`).
    pub fn token(&self) -> &str {
        self.channels.token(Actor::Api).unwrap_or_default()
    }

    /// The admin API token of one channel: the desktop app gives its window
    /// [`Actor::Window`]'s and its popup [`Actor::Popup`]'s, so the activity
    /// log says where a person decided. `None` for a channel without one.
    pub fn channel_token(&self, actor: Actor) -> Option<&str> {
        self.channels.token(actor)
    }

    /// The MCP endpoint, e.g. `http://127.0.0.1:7331/mcp`.
    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// The admin API base, e.g. `http://127.0.0.1:7331/api/v1`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// The web UI, e.g. `http://127.0.0.1:7331/ui/`.
    pub fn ui_url(&self) -> String {
        format!("http://{}/ui/", self.addr)
    }

    /// Stops listening, stops every upstream (reaping its process) and waits
    /// for the gateway's tasks, each up to `deadline`; removes the runtime file.
    pub async fn shutdown(&self, deadline: Duration) {
        RuntimeFile::remove(&self.paths.runtime_file());
        self.gw.shutdown(deadline).await;
    }
}

/// How long shutdown waits for upstreams and tasks before it gives up on them.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// Applies edits of the config file while serving; a broken edit is reported
/// (as [`GatewayEvent::ConfigRejected`]) and ignored. The watcher is a task of
/// the gateway and ends with it.
pub fn watch_config(gw: &Gateway, paths: &Paths, overrides: Overrides) {
    let mut watcher = ConfigWatcher::new(&paths.config);
    let (g, path, cancel) = (gw.clone(), paths.config.clone(), gw.cancellation());
    gw.tasks().spawn(async move {
        loop {
            let next = tokio::select! {
                () = cancel.cancelled() => return,
                n = watcher.next() => n,
            };
            let settings = next.and_then(|file| Settings::resolve(&file, &overrides, &path));
            match settings {
                Ok(s) => {
                    tracing::info!("{} changed; applying it", path.display());
                    g.apply_settings(s).await;
                }
                Err(e) => {
                    tracing::error!("ignoring the new config: {e}");
                    g.emit_event(GatewayEvent::ConfigRejected {
                        error: e.to_string(),
                    });
                }
            }
        }
    });
}
