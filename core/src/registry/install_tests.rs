//! The `server.json` → config mapping, over the real documents the
//! end-to-end tests serve (`tests/python/fixtures/registry/servers/`).

use super::*;
use crate::registry::ServerDetail;

fn fixture(name: &str) -> ServerDetail {
    let text = match name {
        "server-everything" => {
            include_str!("../../../tests/python/fixtures/registry/servers/server-everything.json")
        }
        "with-package" => {
            include_str!("../../../tests/python/fixtures/registry/servers/with-package.json")
        }
        "with-remote" => {
            include_str!("../../../tests/python/fixtures/registry/servers/with-remote.json")
        }
        "minimal" => include_str!("../../../tests/python/fixtures/registry/servers/minimal.json"),
        _ => unreachable!(),
    };
    serde_json::from_str(text).unwrap()
}

fn values(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn an_npm_package_becomes_npx_with_its_exact_version_and_arguments() {
    let plan = plan(&fixture("server-everything"), &InstallRequest::default()).unwrap();
    assert_eq!(plan.name, "server-everything");
    assert_eq!(plan.config.command.as_deref(), Some("npx"));
    assert_eq!(
        plan.config.args.unwrap(),
        [
            "-y",
            "@modelcontextprotocol/server-everything@2026.8.31",
            "stdio"
        ]
    );
    // The stdio package is chosen, not the one that serves HTTP on a local port.
    assert_eq!(plan.config.env, None);
    assert!(plan.secrets.is_empty());
    assert_eq!(
        plan.source,
        "npm @modelcontextprotocol/server-everything@2026.8.31 (stdio)"
    );
}

#[test]
fn a_secret_environment_variable_becomes_a_secret_reference_and_never_a_value() {
    let detail = fixture("with-package");
    let err = plan(&detail, &InstallRequest::default()).unwrap_err();
    let RegistryError::MissingValues { missing, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        missing.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["API_KEY"]
    );
    assert!(
        crate::hint::with_hint(&err).contains("hint: give --env API_KEY=…"),
        "{err}"
    );

    let request = InstallRequest {
        local_name: Some("weather".into()),
        values: values(&[("API_KEY", "sk-live-1234")]),
        ..Default::default()
    };
    let plan = plan(&detail, &request).unwrap();
    let env = plan.config.env.as_ref().unwrap();
    assert_eq!(
        env["API_KEY"],
        ValueOrSecret::Secret("weather.API_KEY".into())
    );
    let stored = &plan.secrets[0];
    assert_eq!(
        (
            stored.table,
            stored.key.as_str(),
            stored.name.as_str(),
            stored.value.as_str()
        ),
        ("env", "API_KEY", "weather.API_KEY", "sk-live-1234")
    );
    assert!(
        !format!("{plan:?}").contains("sk-live"),
        "a plan never prints a secret"
    );
    // Optional positional without a value is left out; a named one with a value is passed.
    assert_eq!(
        plan.config.args.clone().unwrap(),
        [
            "-y",
            "@modelcontextprotocol/server-weather@1.0.0",
            "--port",
            "8080"
        ]
    );
    let toml = toml::to_string(&plan.config).unwrap();
    assert!(!toml.contains("sk-live"), "{toml}");
}

#[test]
fn a_remote_becomes_its_url_with_variables_filled_and_secret_headers() {
    let detail = fixture("with-remote");
    let request = InstallRequest {
        values: values(&[("Authorization", "Bearer abc")]),
        ..Default::default()
    };
    let plan = plan(&detail, &request).unwrap();
    assert_eq!(plan.name, "remote-weather");
    assert_eq!(
        plan.config.url.as_deref(),
        Some("https://api.example.com/mcp")
    );
    assert_eq!(plan.config.transport, Some(TransportKind::StreamableHttp));
    assert_eq!(
        plan.config.headers.unwrap()["Authorization"],
        ValueOrSecret::Secret("remote-weather.Authorization".into())
    );
    let request = InstallRequest {
        values: values(&[("Authorization", "Bearer abc"), ("host", "eu.example.com")]),
        isolation: Some(IsolationKind::Docker),
        ..Default::default()
    };
    assert!(matches!(
        plan_err(&detail, &request),
        RegistryError::Invalid { .. }
    ));
    let request = InstallRequest {
        isolation: None,
        ..request
    };
    let p = super::plan(&detail, &request).unwrap();
    assert_eq!(p.config.url.as_deref(), Some("https://eu.example.com/mcp"));
}

fn plan_err(detail: &ServerDetail, request: &InstallRequest) -> RegistryError {
    plan(detail, request).unwrap_err()
}

#[test]
fn a_server_with_nothing_to_run_or_reach_says_so() {
    let err = plan_err(&fixture("minimal"), &InstallRequest::default());
    assert!(matches!(err, RegistryError::NotInstallable { .. }), "{err}");
    assert!(err.to_string().contains("nothing to run"), "{err}");
    let err = plan_err(
        &fixture("server-everything"),
        &InstallRequest {
            via: Some(Via::Remote),
            ..Default::default()
        },
    );
    assert!(
        crate::hint::with_hint(&err).contains("has no remote"),
        "{err}"
    );
}

#[test]
fn a_value_the_server_does_not_take_is_refused() {
    let err = plan_err(
        &fixture("server-everything"),
        &InstallRequest {
            values: values(&[("TOKEN", "x")]),
            ..Default::default()
        },
    );
    assert!(matches!(err, RegistryError::UnknownValue { .. }), "{err}");
}

#[test]
fn pypi_runs_with_uvx_and_oci_alone_points_to_a_command_by_hand() {
    let detail: ServerDetail = serde_json::from_value(serde_json::json!({
        "name": "io.github.example/time", "description": "t", "version": "0.6.2",
        "packages": [
            { "registryType": "oci", "identifier": "mcp/time", "version": "0.6.2", "transport": { "type": "stdio" } },
            { "registryType": "pypi", "identifier": "mcp-server-time", "version": "0.6.2", "transport": { "type": "stdio" },
              "packageArguments": [{ "type": "named", "name": "--local-timezone", "isRequired": true, "default": "UTC" }] }
        ]
    }))
    .unwrap();
    let p = plan(
        &detail,
        &InstallRequest {
            isolation: Some(IsolationKind::Docker),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(p.config.command.as_deref(), Some("uvx"));
    assert_eq!(
        p.config.args.unwrap(),
        ["mcp-server-time@0.6.2", "--local-timezone", "UTC"]
    );
    assert_eq!(p.config.isolation, Some(IsolationKind::Docker));

    let oci_only = ServerDetail {
        packages: detail.packages[..1].to_vec(),
        ..detail
    };
    let err = crate::hint::with_hint(&plan_err(&oci_only, &InstallRequest::default()));
    assert!(err.contains("--image mcp/time:0.6.2"), "{err}");
}

#[test]
fn local_names_come_from_the_part_after_the_slash() {
    assert_eq!(derive_name("io.github.owner/my.server"), "my-server");
    assert_eq!(derive_name("com.example/weather"), "weather");
}
