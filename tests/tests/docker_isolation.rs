//! Isolation against a real Docker engine: servers with `isolation =
//! "docker"` run in hardened containers that the gateway creates through
//! the Docker API, and a real MCP client reaches their tools through the
//! gateway's HTTP endpoint. Each guarantee is checked from inside the
//! container (the probe server tries things and reports) and from the
//! engine's inspect data.
//!
//! The engine and the image come from `common::docker`: dockerd is started
//! when none answers, and the image is imported from a root filesystem
//! holding the probe and echo servers with their libraries. The test of an
//! unreachable engine needs no engine at all.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParam;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

use common::docker::{containers_of, engine, test_image, wait_gone, ECHO_SERVER, PROBE_SERVER};
use common::{toml_str, Admin, Gateway};

/// Bounds every client operation, so a hang fails the test instead of the CI job.
const STEP: Duration = Duration::from_secs(60);
const SECRET: &str = "probe-s3cret-7f1c";

type Client = RunningService<RoleClient, ()>;

/// `[servers.<name>]` run in `image` with `extra` lines.
fn isolated(name: &str, image: &str, command: &str, extra: &str) -> String {
    format!(
        "[servers.{name}]\ncommand = {}\nisolation = \"docker\"\nimage = {}\n{extra}\n",
        toml_str(command),
        toml_str(image)
    )
}

async fn connect(gw: &Gateway) -> Client {
    let transport = StreamableHttpClientTransport::from_uri(gw.url.clone());
    tokio::time::timeout(STEP, ().serve(transport))
        .await
        .expect("initialize in time")
        .unwrap_or_else(|e| {
            panic!(
                "initialize failed: {e}\n--- gateway stderr ---\n{}",
                gw.stderr()
            )
        })
}

async fn call(client: &Client, name: &str, arguments: Value) -> String {
    let arguments = match arguments {
        Value::Object(map) => Some(map),
        _ => None,
    };
    let result = tokio::time::timeout(
        STEP,
        client.call_tool(CallToolRequestParam {
            name: name.to_owned().into(),
            arguments,
        }),
    )
    .await
    .unwrap_or_else(|_| panic!("{name} took longer than {STEP:?}"))
    .unwrap_or_else(|e| panic!("calling {name} failed: {e}"));
    let text = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(
        result.is_error,
        Some(true),
        "{name} answered with an error: {text}"
    );
    text
}

/// The servers as the admin API shows them, polled until `done` says yes.
async fn wait_servers(home: &Path, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let servers = Admin::of(home).servers().await;
        if done(&servers) {
            return servers;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 30 s; servers: {servers:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `172.17.0.1` for `172.17.0.0/16`.
fn first_address(subnet: &str) -> Option<String> {
    let base: std::net::Ipv4Addr = subnet.split('/').next()?.parse().ok()?;
    Some(std::net::Ipv4Addr::from(u32::from(base) + 1).to_string())
}

fn server<'a>(servers: &'a [Value], name: &str) -> &'a Value {
    servers
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no server {name} in {servers:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_containerised_server_is_served_and_held_to_every_guarantee() {
    let Some(docker) = engine("a_containerised_server_is_served_and_held_to_every_guarantee").await
    else {
        return;
    };
    let image = test_image(&docker).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let (data, out) = (dir.path().join("data"), dir.path().join("out"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    // The server runs as the gateway's user, or as nobody when the gateway
    // runs as root (as here): that user must be able to write to an rw mount.
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    std::fs::write(data.join("in.txt"), "mounted for reading").unwrap();
    let probe_extra = format!(
        "env = {{ PROBE_SECRET = {} }}\nmemory = \"256m\"\ncpus = 0.5\npids = 64\nmounts = [{}, {}]\n",
        toml_str(SECRET),
        toml_str(&format!("{}:/data", data.display())),
        toml_str(&format!("{}:/out:rw", out.display()))
    );
    let config = isolated("boxed_echo", &image, ECHO_SERVER, "")
        + &isolated("probe", &image, PROBE_SERVER, &probe_extra)
        + &isolated("netprobe", &image, PROBE_SERVER, "network = true");
    let home = common::home_with(dir.path(), &config);
    let gw = Gateway::start(&home);
    Admin::of(&home)
        .approve_all(&["boxed_echo", "probe", "netprobe"])
        .await;
    let servers = Admin::of(&home).servers().await;
    assert_eq!(server(&servers, "probe")["transport"], "docker");

    // A real client lists and calls the containerised servers' tools.
    let client = connect(&gw).await;
    let tools = tokio::time::timeout(STEP, client.list_all_tools())
        .await
        .expect("tools/list in time")
        .expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for want in [
        "boxed_echo__echo",
        "probe__try_connect",
        "probe__try_write",
        "probe__env",
        "netprobe__interfaces",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let echoed = call(
        &client,
        "boxed_echo__echo",
        json!({ "message": "from inside a container" }),
    )
    .await;
    assert!(echoed.contains("from inside a container"), "{echoed}");

    // No network: only a loopback interface, and a listener on this machine's
    // Docker bridge address (which a container with network could reach) is not.
    assert_eq!(call(&client, "probe__interfaces", json!({})).await, "lo");
    assert!(
        call(&client, "netprobe__interfaces", json!({}))
            .await
            .split(',')
            .any(|i| i.starts_with("eth")),
        "`network = true` gives an interface"
    );
    let bridge = docker
        .inspect_network("bridge", None)
        .await
        .expect("inspect the bridge network");
    let ipam = bridge.ipam.and_then(|i| i.config).unwrap_or_default();
    // Older engines name only the subnet; its first address is the bridge's own.
    let bridge_ip = ipam
        .iter()
        .find_map(|c| c.gateway.clone())
        .or_else(|| {
            ipam.iter()
                .find_map(|c| first_address(c.subnet.as_deref()?))
        })
        .expect("the bridge network has an address on this machine");
    let listener =
        std::net::TcpListener::bind((bridge_ip.as_str(), 0)).expect("listen on the bridge address");
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let tried = call(
        &client,
        "probe__try_connect",
        json!({ "host": bridge_ip, "port": port }),
    )
    .await;
    assert!(
        tried.starts_with("failed:") && tried.contains("unreachable"),
        "a connection from a container without network: {tried}"
    );
    assert!(
        listener.accept().is_err(),
        "the listener saw a connection from the container"
    );
    let gateway_port: u16 = gw
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("the gateway's port");
    let tried = call(
        &client,
        "probe__try_connect",
        json!({ "host": "127.0.0.1", "port": gateway_port }),
    )
    .await;
    assert!(
        tried.starts_with("failed:"),
        "the gateway's loopback port from inside: {tried}"
    );

    // A read-only root, a writable /tmp, and only the mounts named (read-only unless :rw).
    for path in ["/probe.txt", "/usr/local/bin/planted", "/etc/passwd"] {
        let wrote = call(&client, "probe__try_write", json!({ "path": path })).await;
        assert!(
            wrote.contains("Read-only file system"),
            "writing {path}: {wrote}"
        );
    }
    assert_eq!(
        call(
            &client,
            "probe__try_write",
            json!({ "path": "/tmp/scratch.txt" })
        )
        .await,
        "wrote"
    );
    // What is written to /tmp never runs (noexec); where nothing may be
    // written, nothing can be placed to run.
    let exec_tmp = call(&client, "probe__try_exec", json!({ "path": "/tmp/run-me" })).await;
    assert!(
        exec_tmp.starts_with("failed: ") && exec_tmp.contains("Permission denied"),
        "running a program written to /tmp: {exec_tmp}"
    );
    let exec_root = call(&client, "probe__try_exec", json!({ "path": "/run-me" })).await;
    assert!(
        exec_root.starts_with("failed to place it") && exec_root.contains("Read-only file system"),
        "{exec_root}"
    );
    assert_eq!(
        call(&client, "probe__read", json!({ "path": "/data/in.txt" })).await,
        "mounted for reading"
    );
    assert!(call(
        &client,
        "probe__try_write",
        json!({ "path": "/data/new.txt" })
    )
    .await
    .contains("Read-only file system"));
    assert_eq!(
        call(
            &client,
            "probe__try_write",
            json!({ "path": "/out/result.txt" })
        )
        .await,
        "wrote"
    );
    assert!(
        out.join("result.txt").is_file(),
        "a write to an rw mount reaches the host"
    );
    assert!(!data.join("new.txt").exists());

    // No capabilities, no way to gain privileges and not root, seen from inside.
    let whoami = call(&client, "probe__whoami", json!({})).await;
    assert!(!whoami.starts_with("uid=0\t"), "runs as root: {whoami}");
    assert!(
        whoami.contains("CapEff=0000000000000000")
            && whoami.contains("CapBnd=0000000000000000")
            && whoami.contains("NoNewPrivs=1"),
        "{whoami}"
    );

    // The secret reached the server through its environment…
    assert_eq!(
        call(&client, "probe__env", json!({ "name": "PROBE_SECRET" })).await,
        SECRET
    );
    assert_eq!(
        call(&client, "probe__env", json!({ "name": "PORTCULLIS_HOME" })).await,
        "unset",
        "the gateway's own environment stays outside"
    );
    // …and the engine holds it only there: not in the command, entrypoint or args.
    let probe = containers_of(&docker, &home, Some("probe")).await;
    assert_eq!(probe.len(), 1, "one container for probe: {probe:?}");
    let inspect = docker
        .inspect_container(probe[0].id.as_deref().unwrap(), None)
        .await
        .expect("inspect the container");
    let config = inspect.config.clone().expect("its config");
    let on_command_line =
        json!([config.cmd, config.entrypoint, inspect.path, inspect.args]).to_string();
    assert!(
        !on_command_line.contains(SECRET),
        "the secret is on a command line: {on_command_line}"
    );
    assert!(on_command_line.contains(PROBE_SERVER), "{on_command_line}");
    assert!(config
        .env
        .unwrap_or_default()
        .contains(&format!("PROBE_SECRET={SECRET}")));
    let everything = serde_json::to_string(&inspect).unwrap();
    assert_eq!(
        everything.matches(SECRET).count(),
        1,
        "the secret appears only in the env: {everything}"
    );

    // The limits and the hardening, as the engine applied them.
    let hc = inspect.host_config.expect("its host config");
    assert_eq!(
        (hc.memory, hc.memory_swap),
        (Some(256 << 20), Some(256 << 20))
    );
    assert_eq!(hc.nano_cpus, Some(500_000_000));
    assert_eq!(hc.pids_limit, Some(64));
    assert_eq!(hc.cap_drop.as_deref(), Some(&["ALL".to_owned()][..]));
    assert!(hc
        .security_opt
        .unwrap_or_default()
        .iter()
        .any(|o| o.starts_with("no-new-privileges")));
    assert_eq!(hc.readonly_rootfs, Some(true));
    assert_eq!(hc.privileged, Some(false));
    assert_eq!(hc.network_mode.as_deref(), Some("none"));
    let tmpfs = hc.tmpfs.unwrap_or_default();
    let tmp = tmpfs.get("/tmp").expect("a tmpfs on /tmp");
    assert!(
        tmp.contains("noexec") && tmp.contains("nosuid"),
        "/tmp options: {tmp}"
    );
    assert_eq!(
        hc.log_config.and_then(|l| l.typ).as_deref(),
        Some("none"),
        "tool results are not logged to the engine's disk"
    );

    // A server that stops (here: removed from the config) takes its container with it.
    let without_probe = isolated("boxed_echo", &image, ECHO_SERVER, "")
        + &isolated("netprobe", &image, PROBE_SERVER, "network = true");
    std::fs::write(
        home.join("config.toml"),
        common::direct_unless_said(&without_probe),
    )
    .unwrap();
    wait_gone(&docker, &home, Some("probe"), Duration::from_secs(20)).await;
    assert_eq!(
        containers_of(&docker, &home, Some("boxed_echo"))
            .await
            .len(),
        1,
        "the other servers keep theirs"
    );
    assert!(call(
        &client,
        "boxed_echo__echo",
        json!({ "message": "still here" })
    )
    .await
    .contains("still here"));

    // The gateway stopping (SIGTERM) removes every container it made.
    let _ = client.cancel().await;
    drop(gw);
    wait_gone(&docker, &home, None, Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_of_a_killed_gateway_are_removed_at_its_next_start() {
    let Some(docker) = engine("orphans_of_a_killed_gateway_are_removed_at_its_next_start").await
    else {
        return;
    };
    let image = test_image(&docker).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let home = common::home_with(dir.path(), &isolated("orphan", &image, PROBE_SERVER, ""));
    let mut gw = Gateway::start(&home);
    Admin::of(&home).approve_all(&["orphan"]).await;
    let first = containers_of(&docker, &home, None).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let first_id = first[0].id.clone().unwrap();

    gw.kill_hard();
    // A check that something does not happen (nobody removes the container once its
    // gateway is gone, not even Docker when the server sees its stdin close) needs a
    // window: the one fixed wait this file keeps, on purpose.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let left = containers_of(&docker, &home, None).await;
    assert!(
        left.iter()
            .any(|c| c.id.as_deref() == Some(first_id.as_str())),
        "SIGKILL leaves the container behind (an orphan): {left:?}"
    );

    let gw = Gateway::start(&home);
    wait_servers(&home, "the restarted gateway starting `orphan`", |s| {
        server(s, "orphan")["state"] == "ready"
    })
    .await;
    let now = containers_of(&docker, &home, None).await;
    assert!(
        now.iter()
            .all(|c| c.id.as_deref() != Some(first_id.as_str())),
        "the orphan is still there: {now:?}"
    );
    assert_eq!(now.len(), 1, "exactly the new container: {now:?}");
    assert!(
        gw.stderr().contains("left by an earlier gateway"),
        "the gateway says what it removed:\n{}",
        gw.stderr()
    );
    drop(gw);
    wait_gone(&docker, &home, None, Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounts_that_hand_over_the_host_are_refused_with_the_reason() {
    let Some(docker) = engine("mounts_that_hand_over_the_host_are_refused_with_the_reason").await
    else {
        return;
    };
    let image = test_image(&docker).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let socket = Path::new("/var/run/docker.sock");
    let mount = |host: &Path, inside: &str| {
        format!(
            "mounts = [{}]\n",
            toml_str(&format!("{}:{inside}:rw", host.display()))
        )
    };
    // `dir` holds the home below, which is the gateway's data folder.
    let mut refused = vec![(
        "holder",
        dir.path().to_path_buf(),
        "Portcullis's data folder",
    )];
    if socket.exists() {
        refused.push(("engine", socket.to_path_buf(), "container engine's socket"));
    }
    let config: String = refused
        .iter()
        .map(|(name, host, _)| isolated(name, &image, PROBE_SERVER, &mount(host.as_path(), "/mnt")))
        .chain([isolated("fine", &image, PROBE_SERVER, "")])
        .collect();
    let home = common::home_with(dir.path(), &config);
    // The home folder itself is also its data folder here.
    let with_home = config
        + &isolated(
            "homebody",
            &image,
            PROBE_SERVER,
            &mount(home.as_path(), "/mnt"),
        );
    std::fs::write(
        home.join("config.toml"),
        common::direct_unless_said(&with_home),
    )
    .unwrap();
    refused.push(("homebody", home.clone(), "Portcullis's data folder"));
    let _gw = Gateway::start(&home);
    let admin = Admin::of(&home);
    for (name, _, _) in &refused {
        admin.approve(name, json!({})).await;
    }
    admin.approve_all(&["fine"]).await;
    let servers = wait_servers(&home, "every dangerous mount refused", |s| {
        refused.iter().all(|(name, _, _)| {
            server(s, name)["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("is refused"))
        })
    })
    .await;
    for (name, host, why) in &refused {
        let error = server(&servers, name)["last_error"].as_str().unwrap();
        assert!(
            error.contains(&format!("mount source {} is refused", host.display()))
                && error.contains(why)
                && error.contains("hint: mount only the folders the server needs"),
            "{name}: {error}"
        );
        assert_ne!(server(&servers, name)["state"], "ready", "{name}");
        assert!(
            containers_of(&docker, &home, Some(*name)).await.is_empty(),
            "a container was made for {name}"
        );
    }
    // A server without such mounts runs as usual beside them.
    wait_servers(&home, "`fine` ready", |s| {
        server(s, "fine")["state"] == "ready"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_keeps_the_server_down_and_says_how_to_get_it() {
    let Some(docker) = engine("a_missing_image_keeps_the_server_down_and_says_how_to_get_it").await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    // The command exists on this host: were the server run outside its container, it would start.
    let probe_on_host = env!("CARGO_BIN_EXE_portcullis-probe-server");
    let config = isolated("ghost", "portcullis-test-missing:none", probe_on_host, "")
        + &common::stdio_server(
            "plain",
            Path::new(env!("CARGO_BIN_EXE_portcullis-echo-server")),
            &[],
        );
    let home = common::home_with(dir.path(), &config);
    let gw = Gateway::start(&home);
    let admin = Admin::of(&home);
    admin.approve("ghost", json!({})).await;
    admin.approve_all(&["plain"]).await;
    let servers = wait_servers(&home, "ghost reporting its missing image", |s| {
        server(s, "ghost")["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("docker pull portcullis-test-missing:none"))
    })
    .await;
    let ghost = server(&servers, "ghost");
    assert_ne!(ghost["state"], "ready");
    let error = ghost["last_error"].as_str().unwrap();
    assert!(
        error.contains("image `portcullis-test-missing:none` is not in the Docker engine")
            && error.contains("never runs outside its container")
            && error.contains("docker import"),
        "{error}"
    );
    assert!(
        containers_of(&docker, &home, None).await.is_empty(),
        "no container was made"
    );
    // A command the image does not have is named as such, and its container does not stay.
    let image = test_image(&docker).await;
    let with_absent = config.clone() + &isolated("absent", &image, "/usr/bin/not-in-the-image", "");
    std::fs::write(
        home.join("config.toml"),
        common::direct_unless_said(&with_absent),
    )
    .unwrap();
    wait_servers(&home, "`absent` to be known", |s| {
        s.iter().any(|s| s["name"] == "absent")
    })
    .await;
    admin.approve("absent", json!({})).await;
    let servers = wait_servers(&home, "absent reporting its command missing", |s| {
        server(s, "absent")["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("was not found in the image"))
    })
    .await;
    let error = server(&servers, "absent")["last_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.contains(&format!(
            "`/usr/bin/not-in-the-image` was not found in the image `{image}`"
        )),
        "{error}"
    );
    wait_gone(&docker, &home, Some("absent"), Duration::from_secs(10)).await;
    let on_host: Vec<String> = common::processes_of(&home)
        .into_iter()
        .filter(|p| p.contains("probe-server"))
        .collect();
    assert!(
        on_host.is_empty(),
        "the server ran on the host: {on_host:?}"
    );
    // The rest of the gateway serves.
    let client = connect(&gw).await;
    assert!(
        call(&client, "plain__echo", json!({ "message": "unaffected" }))
            .await
            .contains("unaffected")
    );
    let _ = client.cancel().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_engine_is_an_error_state_with_a_hint_and_the_rest_serves() {
    // Needs no engine: DOCKER_HOST names a socket that does not exist.
    let dir = tempfile::tempdir().expect("a temp dir");
    let socket = dir.path().join("no-such-docker.sock");
    let docker_host = format!("unix://{}", socket.display());
    let config = isolated("boxed", "portcullis-test-probe:any", PROBE_SERVER, "")
        + &common::stdio_server(
            "plain",
            Path::new(env!("CARGO_BIN_EXE_portcullis-echo-server")),
            &[],
        );
    let home = common::home_with(dir.path(), &config);
    let gw = Gateway::start_with_env(&home, &[("DOCKER_HOST", &docker_host)]);
    let admin = Admin::of(&home);
    admin.approve("boxed", json!({})).await;
    admin.approve_all(&["plain"]).await;
    // Between its tries it waits in `backoff` with the error (a try itself is `starting`).
    let servers = wait_servers(
        &home,
        "boxed waiting in backoff, reporting Docker missing",
        |s| {
            server(s, "boxed")["state"] == "backoff"
                && server(s, "boxed")["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("Docker is not available"))
        },
    )
    .await;
    let boxed = server(&servers, "boxed");
    let error = boxed["last_error"].as_str().unwrap();
    assert!(
        error.contains(&format!("no Docker engine socket at {docker_host}"))
            && error.contains("hint: start the Docker engine"),
        "{error}"
    );

    let client = connect(&gw).await;
    assert!(
        call(&client, "plain__echo", json!({ "message": "unaffected" }))
            .await
            .contains("unaffected")
    );
    let _ = client.cancel().await;

    // `upstream list` shows it too.
    let list = std::process::Command::new(common::gateway_bin())
        .args(["upstream", "list"])
        .env("PORTCULLIS_HOME", &home)
        .output()
        .expect("run upstream list");
    let text = String::from_utf8_lossy(&list.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("boxed"))
        .unwrap_or_else(|| panic!("no line for boxed in:\n{text}"));
    assert!(
        line.contains("docker")
            && line.contains("backoff")
            && line.contains("Docker is not available"),
        "{line}"
    );
}
