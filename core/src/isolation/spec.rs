//! The container an isolated server runs in, as a create request: what it
//! runs, and the hardening that holds unless the server's config says more.
//!
//! - no network (only a loopback interface) unless `network = true`; with
//!   an allow list no network either, and the egress relay as entrypoint,
//!   carrying loopback connections to the gateway's egress proxy
//!   (`container_egress.rs`);
//! - a read-only root, only the mounts named; a tmpfs on /tmp with noexec and
//!   nosuid (nothing written there runs), and a separate tmpfs for HOME,
//!   where package managers (npx, uvx) unpack what they then run;
//! - every capability dropped, no-new-privileges, not privileged, and never
//!   root unless the config says so: the gateway's own user, or nobody
//!   (65534:65534) when the gateway itself runs as root;
//! - memory (swap included), CPU and pid limits;
//! - an init process that forwards signals and reaps zombies;
//! - environment passed as the container's env, never on its command line;
//! - no log driver: stdout carries tool results, which must not be kept on disk.

use std::collections::HashMap;
use std::path::Path;

use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountType, RestartPolicy,
    RestartPolicyNameEnum,
};
use indexmap::IndexMap;

use super::container_egress::{RELAY_INSIDE, SOCKET_DIR_INSIDE};
use crate::config::{DockerSettings, Network};

/// The home folder inside a container: its own tmpfs.
pub(crate) const HOME: &str = "/home/portcullis";

/// Who runs the program when the config names nobody: the gateway's own
/// user, except root, which becomes nobody.
pub(crate) fn default_user(uid: u32, gid: u32) -> String {
    if uid == 0 {
        "65534:65534".to_owned()
    } else {
        format!("{uid}:{gid}")
    }
}

/// What to run in the container.
pub(crate) struct ContainerSpec<'a> {
    pub(crate) command: &'a str,
    pub(crate) args: &'a [String],
    pub(crate) env: &'a IndexMap<String, String>,
    pub(crate) cwd: Option<&'a Path>,
    pub(crate) settings: &'a DockerSettings,
    pub(crate) labels: HashMap<String, String>,
    /// `uid:gid` to run as.
    pub(crate) user: Option<String>,
    /// With an allow list: how it reaches its egress proxy.
    pub(crate) egress: Option<&'a EgressSpec>,
}

/// A container's way to its egress proxy (`container_egress.rs`): the
/// relay, the proxy socket's folder, and a `/etc/resolv.conf` naming no
/// resolver (so no name is resolved, nor any query sent, but by the proxy).
pub(crate) use super::container_egress::EgressMounts as EgressSpec;

/// The create request for `spec`.
pub(crate) fn create_body(spec: ContainerSpec<'_>) -> ContainerCreateBody {
    let s = spec.settings;
    let mut env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if !spec.env.contains_key("HOME") {
        // The root is read-only: tools that keep caches under HOME (npm, uv) write there.
        env.push(format!("HOME={HOME}"));
    }
    // Both count against the memory limit; a quarter of it each at most.
    let tmpfs = HashMap::from([
        (
            "/tmp".to_owned(),
            format!("rw,noexec,nosuid,nodev,mode=1777,size={}", s.memory / 4),
        ),
        (
            HOME.to_owned(),
            format!("rw,exec,nosuid,nodev,mode=1777,size={}", s.memory / 4),
        ),
    ]);
    let bind = |host: &Path, container: &str, read_only: bool| Mount {
        typ: Some(MountType::BIND),
        source: Some(host.display().to_string()),
        target: Some(container.to_owned()),
        read_only: Some(read_only),
        ..Default::default()
    };
    let mut mounts: Vec<Mount> = s
        .mounts
        .iter()
        .map(|m| bind(&m.host, &m.container.display().to_string(), m.read_only))
        .collect();
    if let Some(egress) = spec.egress {
        mounts.push(bind(&egress.relay, RELAY_INSIDE, true));
        mounts.push(bind(&egress.sockets, SOCKET_DIR_INSIDE, true));
        mounts.push(bind(&egress.resolv_conf, "/etc/resolv.conf", true));
    }
    let host_config = HostConfig {
        // An allow list has no network either: its way out is the relay.
        network_mode: Some(match s.network {
            Network::On => "bridge".to_owned(),
            Network::Off | Network::Allow(_) => "none".to_owned(),
        }),
        readonly_rootfs: Some(true),
        tmpfs: Some(tmpfs),
        mounts: Some(mounts),
        cap_drop: Some(vec!["ALL".to_owned()]),
        security_opt: Some(vec!["no-new-privileges".to_owned()]),
        privileged: Some(false),
        memory: Some(s.memory as i64),
        memory_swap: Some(s.memory as i64),
        nano_cpus: Some((s.cpus * 1e9).round() as i64),
        pids_limit: Some(i64::from(s.pids)),
        init: Some(true),
        ipc_mode: Some("private".to_owned()),
        log_config: Some(HostConfigLogConfig {
            typ: Some("none".to_owned()),
            config: None,
        }),
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        }),
        auto_remove: Some(false),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(s.image.clone()),
        // The command is the entrypoint, so an image's own entrypoint cannot
        // change what runs; with an allow list the relay runs it.
        entrypoint: Some(match spec.egress {
            Some(egress) => egress.entrypoint(spec.command),
            None => vec![spec.command.to_owned()],
        }),
        cmd: Some(spec.args.to_vec()),
        env: Some(env),
        working_dir: spec.cwd.map(|p| p.display().to_string()),
        user: spec.user,
        labels: Some(spec.labels),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(true),
        // Our attachment ending closes its stdin: a server whose gateway is gone sees EOF.
        stdin_once: Some(true),
        tty: Some(false),
        host_config: Some(host_config),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MountSpec;

    #[test]
    fn hardened_by_default_and_secrets_only_in_env() {
        let settings = DockerSettings {
            image: "node:22-slim".into(),
            image_source: "node".into(),
            network: Network::Off,
            mounts: vec![MountSpec::parse("/srv/data:/data").unwrap()],
            memory: 512 << 20,
            cpus: 1.5,
            pids: 128,
            user: None,
        };
        let env: IndexMap<String, String> = [("TOKEN".to_owned(), "s3cret".to_owned())]
            .into_iter()
            .collect();
        let args = vec!["-y".to_owned(), "pkg".to_owned()];
        let body = create_body(ContainerSpec {
            command: "npx",
            args: &args,
            env: &env,
            cwd: None,
            settings: &settings,
            labels: HashMap::new(),
            user: Some("1000:1000".into()),
            egress: None,
        });
        let json = serde_json::to_value(&body).unwrap();
        let hc = &json["HostConfig"];
        assert_eq!(hc["NetworkMode"], "none");
        assert_eq!(hc["ReadonlyRootfs"], true);
        assert_eq!(hc["CapDrop"], serde_json::json!(["ALL"]));
        assert_eq!(hc["SecurityOpt"], serde_json::json!(["no-new-privileges"]));
        assert_eq!(
            (hc["Memory"].as_i64(), hc["MemorySwap"].as_i64()),
            (Some(512 << 20), Some(512 << 20))
        );
        assert_eq!(hc["NanoCpus"], 1_500_000_000i64);
        assert_eq!(hc["PidsLimit"], 128);
        assert_eq!(hc["LogConfig"]["Type"], "none");
        let tmp = hc["Tmpfs"]["/tmp"].as_str().unwrap();
        assert!(tmp.contains("size=134217728"), "{tmp}");
        assert!(
            tmp.contains("noexec") && tmp.contains("nosuid") && !tmp.contains(",exec"),
            "{tmp}"
        );
        assert!(hc["Tmpfs"]["/home/portcullis"]
            .as_str()
            .unwrap()
            .contains("nosuid"));
        assert_eq!(hc["Mounts"][0]["ReadOnly"], true);
        assert_eq!(json["Entrypoint"], serde_json::json!(["npx"]));
        assert_eq!(json["Cmd"], serde_json::json!(["-y", "pkg"]));
        assert_eq!(
            json["Env"],
            serde_json::json!(["TOKEN=s3cret", "HOME=/home/portcullis"])
        );
        let outside_env = serde_json::json!([
            json["Entrypoint"],
            json["Cmd"],
            json["Labels"],
            json["HostConfig"]
        ])
        .to_string();
        assert!(!outside_env.contains("s3cret"), "{outside_env}");
        let open = create_body(ContainerSpec {
            command: "npx",
            args: &args,
            env: &env,
            cwd: None,
            settings: &DockerSettings {
                network: Network::On,
                ..settings.clone()
            },
            labels: HashMap::new(),
            user: None,
            egress: None,
        });
        assert_eq!(
            open.host_config.unwrap().network_mode.as_deref(),
            Some("bridge")
        );
        let list =
            crate::config::Network::resolve(Some(&crate::config::NetworkConfig::AllowList(vec![
                "api.github.com".into(),
            ])))
            .unwrap();
        let egress = EgressSpec {
            relay: "/data/egress-relay".into(),
            sockets: "/data/container-egress/c".into(),
            resolv_conf: "/data/egress-resolv.conf".into(),
        };
        let allowed = create_body(ContainerSpec {
            command: "npx",
            args: &args,
            env: &env,
            cwd: None,
            settings: &DockerSettings {
                network: list,
                ..settings
            },
            labels: HashMap::new(),
            user: None,
            egress: Some(&egress),
        });
        let hc = allowed.host_config.unwrap();
        assert_eq!(hc.network_mode.as_deref(), Some("none"));
        let mounts: Vec<_> = hc
            .mounts
            .unwrap()
            .into_iter()
            .skip(1)
            .map(|m| (m.source.unwrap(), m.target.unwrap(), m.read_only))
            .collect();
        let ro = |host: &str, inside: &str| (host.to_owned(), inside.to_owned(), Some(true));
        assert_eq!(
            mounts,
            [
                ro("/data/egress-relay", "/.portcullis/relay"),
                ro("/data/container-egress/c", "/.portcullis/egress"),
                ro("/data/egress-resolv.conf", "/etc/resolv.conf"),
            ]
        );
        let entry = allowed.entrypoint.unwrap();
        assert_eq!(
            (entry[0].as_str(), entry.last().map(String::as_str)),
            ("/.portcullis/relay", Some("npx"))
        );
        assert_eq!(allowed.cmd, Some(args.clone()));
        assert!(!allowed.env.unwrap().iter().any(|e| e.contains("PROXY")));
    }

    #[test]
    fn root_becomes_nobody_unless_the_config_says_otherwise() {
        assert_eq!(default_user(0, 0), "65534:65534");
        assert_eq!(default_user(1000, 100), "1000:100");
    }
}
