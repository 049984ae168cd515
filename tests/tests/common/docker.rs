//! A Docker engine for the isolation tests, and the image they run.
//!
//! [`engine`] pings the engine at `DOCKER_HOST` (default
//! /var/run/docker.sock). When nothing answers and `dockerd` is installed
//! (scripts/setup.sh installs Debian's docker.io), it starts one, and stops
//! it by its PID when the test process exits. When no engine can be had the
//! test skips and says why, or fails with `CI` set.
//!
//! No registry is reachable, so [`test_image`] builds the image by importing
//! a root filesystem (a tar, as `docker import` does, through the API): the
//! project's echo server and probe server, and the libraries `ldd` lists for
//! them. Nothing else is in it: no shell, no package manager.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures::StreamExt;

/// Where the binaries are in the test image.
pub(crate) const PROBE_SERVER: &str = "/usr/local/bin/portcullis-probe-server";
/// The echo server in the test image.
pub(crate) const ECHO_SERVER: &str = "/usr/local/bin/portcullis-echo-server";
/// The repository of the test image (its tag is a hash of its content).
pub(crate) const IMAGE_REPO: &str = "portcullis-test-probe";

/// The dockerd these tests started, stopped at exit.
static STARTED: Mutex<Option<Child>> = Mutex::new(None);
/// Whether an engine answered (or was started) in this process.
static READY: Mutex<Option<bool>> = Mutex::new(None);
/// The imported image, once.
static IMAGE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

const ENGINE_START: Duration = Duration::from_secs(60);

/// A client of a running engine, or `None` (after saying why) when there is none.
pub(crate) async fn engine(test: &str) -> Option<Docker> {
    if let Some(d) = ping().await {
        *READY
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(true);
        return Some(d);
    }
    let why = {
        let mut ready = READY
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match *ready {
            Some(false) => Some("an earlier test could not start dockerd".to_owned()),
            _ => match start_dockerd() {
                Ok(()) => None,
                Err(e) => {
                    *ready = Some(false);
                    Some(e)
                }
            },
        }
    };
    if why.is_none() {
        let deadline = Instant::now() + ENGINE_START;
        while Instant::now() < deadline {
            if let Some(d) = ping().await {
                *READY
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(true);
                return Some(d);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let why = why.unwrap_or_else(|| {
        format!(
            "dockerd started but its API did not answer within {ENGINE_START:?}; see {}",
            dockerd_log().display()
        )
    });
    let message = format!("SKIPPED {test}: no Docker engine: {why}");
    assert!(
        std::env::var_os("CI").is_none(),
        "{message} (CI is set, so this is a failure)"
    );
    let _ = writeln!(std::io::stderr(), "{message}");
    None
}

async fn ping() -> Option<Docker> {
    let docker = Docker::connect_with_unix_defaults().ok()?;
    tokio::time::timeout(Duration::from_secs(5), docker.negotiate_version())
        .await
        .ok()?
        .ok()
}

fn dockerd_log() -> PathBuf {
    std::env::temp_dir().join("portcullis-tests-dockerd.log")
}

/// Starts `dockerd` (as PLATFORM.md describes: no systemd here) and registers its stop.
fn start_dockerd() -> Result<(), String> {
    let mut started = STARTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if started.is_some() {
        return Ok(());
    }
    let Some(dockerd) = ["/usr/sbin/dockerd", "/usr/bin/dockerd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    else {
        return Err("dockerd is not installed (scripts/setup.sh installs docker.io)".into());
    };
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("dockerd needs root to start, and this is not root".into());
    }
    let log = std::fs::File::create(dockerd_log())
        .map_err(|e| format!("cannot create {}: {e}", dockerd_log().display()))?;
    let child = Command::new(dockerd)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start dockerd: {e}"))?;
    let _ = writeln!(
        std::io::stderr(),
        "started dockerd (pid {}) for the isolation tests; log: {}",
        child.id(),
        dockerd_log().display()
    );
    *started = Some(child);
    // SAFETY: registers a plain function, run once at exit (libtest ends with process::exit).
    unsafe {
        libc::atexit(stop_dockerd);
    }
    Ok(())
}

/// Stops the dockerd these tests started: SIGTERM, then SIGKILL after 15 s.
extern "C" fn stop_dockerd() {
    let Some(mut child) = STARTED.lock().ok().and_then(|mut s| s.take()) else {
        return;
    };
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: sends a signal to the dockerd child started above.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The test image (`portcullis-test-probe:<hash>`), imported once per process.
pub(crate) async fn test_image(docker: &Docker) -> String {
    IMAGE.get_or_init(|| import_image(docker)).await.clone()
}

async fn import_image(docker: &Docker) -> String {
    let root = tempfile::tempdir().expect("a temp dir for the root filesystem");
    let bins = [
        (env!("CARGO_BIN_EXE_portcullis-probe-server"), PROBE_SERVER),
        (env!("CARGO_BIN_EXE_portcullis-echo-server"), ECHO_SERVER),
    ];
    let mut libs = BTreeSet::new();
    for (host, inside) in bins {
        copy_into(root.path(), Path::new(host), inside);
        libs.extend(ldd(Path::new(host)));
    }
    for lib in &libs {
        copy_into(root.path(), lib, &lib.display().to_string());
    }
    std::fs::create_dir_all(root.path().join("tmp")).expect("create /tmp");
    // World-writable and sticky, as in every base image: the engine gives the
    // container's tmpfs on /tmp the mode of the image's /tmp, and the server
    // runs as a user other than root.
    std::fs::set_permissions(
        root.path().join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .expect("chmod /tmp");
    std::fs::create_dir_all(root.path().join("etc")).expect("create /etc");
    // A reproducible tar, so that unchanged binaries give the same tag.
    let out = Command::new("tar")
        .args([
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-C",
        ])
        .arg(root.path())
        .args(["-cf", "-", "."])
        .output()
        .expect("run tar");
    assert!(
        out.status.success(),
        "tar failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    out.stdout.hash(&mut hasher);
    let tag = format!("{:016x}", hasher.finish());
    let image = format!("{IMAGE_REPO}:{tag}");
    if docker.inspect_image(&image).await.is_ok() {
        return image;
    }
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(IMAGE_REPO)
        .tag(&tag)
        .build();
    let mut progress = docker.create_image(
        Some(options),
        Some(bollard::body_full(out.stdout.into())),
        None,
    );
    while let Some(step) = progress.next().await {
        let step = step.unwrap_or_else(|e| panic!("importing {image} failed: {e}"));
        assert!(
            step.error_detail.is_none(),
            "importing {image} failed: {:?}",
            step.error_detail
        );
    }
    docker
        .inspect_image(&image)
        .await
        .unwrap_or_else(|e| panic!("{image} is not there after its import: {e}"));
    image
}

/// The libraries `ldd` lists for a binary (the loader included).
fn ldd(bin: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(bin).output().expect("run ldd");
    assert!(
        out.status.success(),
        "ldd {} failed: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let path = l
                .split("=>")
                .nth(1)
                .unwrap_or(l)
                .split_whitespace()
                .next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn copy_into(root: &Path, from: &Path, inside: &str) {
    let to = root.join(inside.trim_start_matches('/'));
    std::fs::create_dir_all(to.parent().expect("a parent"))
        .expect("create a folder in the root filesystem");
    std::fs::copy(from, &to)
        .unwrap_or_else(|e| panic!("copy {} into the image: {e}", from.display()));
}

/// Containers of the gateway on `home` (running or not), optionally of one server.
pub(crate) async fn containers_of(
    docker: &Docker,
    home: &Path,
    server: Option<&str>,
) -> Vec<bollard::models::ContainerSummary> {
    let mut labels = vec![format!(
        "{}={}",
        portcullis::isolation::LABEL_HOME,
        portcullis::isolation::home_label(home)
    )];
    if let Some(s) = server {
        labels.push(format!("{}={s}", portcullis::isolation::LABEL_SERVER));
    }
    let filters = std::collections::HashMap::from([("label".to_owned(), labels)]);
    let options = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    docker
        .list_containers(Some(options))
        .await
        .expect("list containers")
}

/// Waits up to `within` until `home` has no container of `server` (of any server when `None`).
pub(crate) async fn wait_gone(
    docker: &Docker,
    home: &Path,
    server: Option<&str>,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let left = containers_of(docker, home, server).await;
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "containers still there after {within:?}: {:?}",
            left.iter()
                .map(|c| (&c.names, &c.state))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
