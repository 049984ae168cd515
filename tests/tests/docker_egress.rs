//! `isolation = "docker"` with an egress allow list, against a real Docker
//! engine: the server's container has no network but loopback, where the
//! egress relay carries connections to the gateway's egress proxy, and
//! reaches the listed host and nothing else.
//!
//! The hosts are two containers of the test image serving HTTP
//! (`portcullis-probe-server --http`) on a network this test creates: the
//! allowed one answers through the proxy; the other is refused by address,
//! a name not on the list is refused, a direct connection finds no route,
//! no name resolves inside, and a service listening on every address of
//! this machine is reached at none of them. The refusals are in the
//! activity log; the proxy's folder goes when the gateway stops, and at its
//! next start when it was killed.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use rmcp::model::CallToolRequestParam;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

use common::docker::{engine, test_image, PROBE_SERVER};
use common::{toml_str, Admin, Gateway};

/// Bounds every client operation, so a hang fails the test instead of the CI job.
const STEP: Duration = Duration::from_secs(60);
/// The port the host containers serve HTTP on.
const HTTP_PORT: u16 = 8080;
const UNLISTED: &str = "unlisted.portcullis-test.example";

type Client = RunningService<RoleClient, ()>;

async fn call(client: &Client, name: &str, arguments: Value) -> String {
    let result = tokio::time::timeout(
        STEP,
        client.call_tool(CallToolRequestParam {
            name: name.to_owned().into(),
            arguments: arguments.as_object().cloned(),
        }),
    )
    .await
    .unwrap_or_else(|_| panic!("{name} took longer than {STEP:?}"))
    .unwrap_or_else(|e| panic!("calling {name} failed: {e}"));
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Differs between runs and between processes.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{:x}{:06x}", std::process::id(), nanos & 0xff_ffff)
}

/// A network of the test's own with HTTP servers on it, removed at the end.
struct Hosts {
    docker: Docker,
    network: String,
    containers: Vec<String>,
}

impl Hosts {
    async fn start(docker: &Docker) -> Self {
        let suffix = unique();
        let network = format!("portcullis-egress-test-{suffix}");
        docker
            .create_network(NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".into()),
                ..Default::default()
            })
            .await
            .expect("create the test's network");
        Self {
            docker: docker.clone(),
            network,
            containers: Vec::new(),
        }
    }

    /// Runs an HTTP server named `name` on the network; returns its address.
    async fn serve(&mut self, image: &str, name: &str) -> String {
        let container = format!("{}-{name}", self.network);
        let body = ContainerCreateBody {
            image: Some(image.to_owned()),
            entrypoint: Some(vec![PROBE_SERVER.to_owned()]),
            cmd: Some(vec![
                "--http".into(),
                HTTP_PORT.to_string(),
                name.to_owned(),
            ]),
            host_config: Some(HostConfig {
                network_mode: Some(self.network.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::default()
                        .name(&container)
                        .build(),
                ),
                body,
            )
            .await
            .expect("create a host container");
        self.containers.push(container.clone());
        self.docker
            .start_container(&container, None)
            .await
            .expect("start a host container");
        let inspect = self
            .docker
            .inspect_container(&container, None)
            .await
            .expect("inspect a host container");
        inspect
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|n| n.get(&self.network).cloned())
            .and_then(|e| e.ip_address)
            .filter(|ip| !ip.is_empty())
            .expect("the host container has an address")
    }
}

impl Drop for Hosts {
    /// Removes the containers, then the network, also when the test failed:
    /// on a thread of its own, as the test's runtime may be unwinding.
    fn drop(&mut self) {
        let (docker, network) = (self.docker.clone(), self.network.clone());
        let containers = std::mem::take(&mut self.containers);
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                for c in &containers {
                    let force = RemoveContainerOptionsBuilder::default().force(true).build();
                    let _ = docker.remove_container(c, Some(force)).await;
                }
                let _ = docker.remove_network(&network).await;
            });
        });
        let _ = cleanup.join();
    }
}

/// The host's address on the engine's network `name`.
async fn host_address_on(docker: &Docker, name: &str) -> Option<String> {
    docker
        .inspect_network(name, None)
        .await
        .ok()?
        .ipam?
        .config?
        .into_iter()
        .find_map(|c| c.gateway.filter(|g| !g.is_empty()))
}

/// This machine's non-loopback addresses a container could try: on the
/// engine's default bridge, on the test's network, and the default route's
/// source (no packet is sent to find it).
async fn host_addresses(docker: &Docker, network: &str) -> Vec<String> {
    let mut all = Vec::new();
    for name in ["bridge", network] {
        all.extend(host_address_on(docker, name).await);
    }
    let routed = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|u| u.connect("192.0.2.1:9").and(u.local_addr()));
    if let Ok(local) = routed {
        all.push(local.ip().to_string());
    }
    all.retain(|a| a != "0.0.0.0");
    all.dedup();
    all
}

/// The egress folders of the containers the gateway of `home` runs.
fn egress_folders(home: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(home.join("container-egress"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_list_reaches_only_its_hosts_through_the_relay() {
    let Some(docker) = engine("an_allow_list_reaches_only_its_hosts_through_the_relay").await
    else {
        return;
    };
    let image = test_image(&docker).await;
    let mut hosts = Hosts::start(&docker).await;
    let allowed = hosts.serve(&image, "allowed").await;
    let other = hosts.serve(&image, "other").await;
    // Unique per run: the container label names it, and an earlier run's must not count.
    let server = format!("egress{}", unique());

    let dir = tempfile::tempdir().expect("a temp dir");
    let config = format!(
        "[servers.{server}]\ncommand = {}\nisolation = \"docker\"\nimage = {}\nnetwork = [{}]\n",
        toml_str(PROBE_SERVER),
        toml_str(&image),
        toml_str(&format!("{allowed}:{HTTP_PORT}")),
    );
    let home = common::home_with(dir.path(), &config);
    let gw = Gateway::start(&home);
    let admin = Admin::of(&home);
    admin.approve_all(&[server.as_str()]).await;
    let transport = StreamableHttpClientTransport::from_uri(gw.url.clone());
    let client = tokio::time::timeout(STEP, ().serve(transport))
        .await
        .expect("initialize in time")
        .unwrap_or_else(|e| panic!("initialize failed: {e}\n{}", gw.stderr()));
    let tool = |name: &str| format!("{server}__{name}");

    // No network but loopback, the relay named as its proxy, one folder for it.
    let interfaces = call(&client, &tool("interfaces"), json!({})).await;
    assert_eq!(interfaces, "lo");
    let proxy = call(&client, &tool("env"), json!({ "name": "HTTPS_PROXY" })).await;
    assert!(proxy.starts_with("http://127.0.0.1:"), "{proxy}");
    assert_eq!(egress_folders(&home).len(), 1);

    // The allowed host answers through the proxy.
    let target = format!("{allowed}:{HTTP_PORT}");
    let got = call(&client, &tool("try_proxy"), json!({ "target": target })).await;
    assert_eq!(
        got,
        "HTTP/1.1 200 Connection established | hello from allowed"
    );

    // Another host by address, and a host not on the list by name: refused.
    let by_ip = format!("{other}:{HTTP_PORT}");
    let got = call(&client, &tool("try_proxy"), json!({ "target": by_ip })).await;
    assert_eq!(got, "HTTP/1.1 403 Forbidden");
    let by_name = format!("{UNLISTED}:{HTTP_PORT}");
    let got = call(&client, &tool("try_proxy"), json!({ "target": by_name })).await;
    assert_eq!(got, "HTTP/1.1 403 Forbidden");
    // The allowed port of another host is refused too.
    let got = call(
        &client,
        &tool("try_proxy"),
        json!({ "target": format!("{allowed}:{}", HTTP_PORT + 1) }),
    )
    .await;
    assert_eq!(got, "HTTP/1.1 403 Forbidden");

    // Without the proxy there is no way out: no route, and no name resolves.
    let direct = call(
        &client,
        &tool("try_connect"),
        json!({ "host": allowed, "port": HTTP_PORT }),
    )
    .await;
    assert!(direct.starts_with("failed"), "{direct}");
    let started = Instant::now();
    for name in [
        UNLISTED,
        "localhost.portcullis-test.example",
        &format!("{}-allowed", hosts.network),
    ] {
        let resolved = call(&client, &tool("resolve"), json!({ "name": name })).await;
        assert!(resolved.starts_with("failed"), "{name}: {resolved}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "lookups fail at once, no query waits for an answer"
    );

    // Nor is a service of this machine reached, at any of its addresses.
    let service = std::net::TcpListener::bind("0.0.0.0:0").expect("listen on every address");
    let port = service.local_addr().expect("its port").port();
    let addresses = host_addresses(&docker, &hosts.network).await;
    assert!(!addresses.is_empty());
    for address in &addresses {
        assert!(
            std::net::TcpStream::connect((address.as_str(), port)).is_ok(),
            "the service answers at {address} from this machine"
        );
        let got = call(
            &client,
            &tool("try_connect"),
            json!({ "host": address, "port": port }),
        )
        .await;
        assert!(got.starts_with("failed"), "{address}: {got}");
    }

    // Each refusal is in the activity log with the server and the host.
    let deadline = Instant::now() + Duration::from_secs(20);
    let refused = loop {
        let logged: Vec<String> = admin
            .activity(&server)
            .await
            .iter()
            .filter(|e| e["outcome"]["status"] == "blocked")
            .filter_map(|e| e["tool"].as_str().map(str::to_owned))
            .collect();
        if logged.len() >= 3 || Instant::now() > deadline {
            break logged;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for host in [&by_ip, &by_name, &format!("{allowed}:{}", HTTP_PORT + 1)] {
        assert!(
            refused.contains(&format!("egress {host}")),
            "{host} not in {refused:?}"
        );
    }

    // A killed gateway leaves the proxy's folder; its next start removes it.
    // A gateway that stops removes its own.
    drop(client);
    let mut gw = gw;
    let first = egress_folders(&home);
    gw.kill_hard();
    assert_eq!(egress_folders(&home), first, "killed: nothing removed it");
    let gw = Gateway::start(&home);
    let deadline = Instant::now() + Duration::from_secs(30);
    while egress_folders(&home).contains(&first[0]) {
        assert!(
            Instant::now() < deadline,
            "the orphan folder {first:?} was not removed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stderr = gw.stop();
    assert!(
        egress_folders(&home).is_empty(),
        "the proxy's folder was not removed\n--- gateway stderr ---\n{stderr}"
    );
    // Nor a container, even one whose start the stop interrupted.
    let filters = HashMap::from([(
        "label".to_owned(),
        vec![format!("{}={server}", portcullis::isolation::LABEL_SERVER)],
    )]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let left = docker
        .list_containers(Some(options))
        .await
        .expect("list containers");
    assert!(left.is_empty(), "containers left: {left:?}");
    drop(hosts);
}
