//! `portcullis secret …`: values go to the OS keyring (or, without one, the
//! encrypted file); names and where they are used are listed, never values.
//! With a gateway running, `set` goes through it, so the value lands where
//! that gateway reads it and the servers using it restart.

use std::io::{IsTerminal, Read, Write};

use portcullis::api::AdminClient;
use portcullis::config::Paths;
use portcullis::secrets::{Backend, SecretName, Secrets};
use portcullis::store::Store;
use portcullis::{list_secrets, SecretSet};

use super::args::{ConfigArgs, SecretCommand};

pub(crate) async fn run(cmd: SecretCommand) -> anyhow::Result<()> {
    match cmd {
        SecretCommand::Set { name, config } => set(&name, &config).await,
        SecretCommand::List { json, config } => list(json, &config),
        SecretCommand::Rm { name, config } => remove(&name, &config),
    }
}

fn open(paths: &Paths) -> anyhow::Result<Secrets> {
    let store = Store::open(paths.database())?;
    Ok(Secrets::open(paths, std::sync::Arc::new(store)))
}

async fn set(name: &str, config: &ConfigArgs) -> anyhow::Result<()> {
    let name = SecretName::parse(name)?;
    let paths = Paths::resolve(config.config.as_deref())?;
    let value = read_value(&name)?;
    if value.is_empty() {
        fail!(hint = format!("type it at the prompt, or pipe it in: printf %s \"$VALUE\" | portcullis secret set {name}"), "no value was given for `{name}`");
    }
    let set = match AdminClient::discover(&paths) {
        Some(client) => {
            let body = serde_json::json!({ "value": value });
            client
                .post::<SecretSet>(&format!("secrets/{name}"), &body, &paths.runtime_file())
                .await?
        }
        None => {
            let secrets = open(&paths)?;
            let owned = name.clone();
            let stored = tokio::task::spawn_blocking(move || secrets.set(&owned, &value)).await??;
            SecretSet {
                stored,
                restarted: Vec::new(),
            }
        }
    };
    if let Some(w) = &set.stored.warning {
        eprintln!("warning: {w}");
    }
    println!("stored `{name}` in {}", set.stored.backend.describe());
    if !set.restarted.is_empty() {
        println!(
            "restarted, to use the new value: {}",
            set.restarted.join(", ")
        );
    }
    Ok(())
}

/// The value: asked for without echo at a terminal, else all of stdin
/// (one trailing newline dropped, as `echo` adds it).
fn read_value(name: &SecretName) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("value of `{name}` (not shown): ");
        std::io::stderr().flush()?;
        let line = without_echo(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })?;
        eprintln!();
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let mut text = String::new();
    stdin.lock().read_to_string(&mut text)?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    Ok(text.strip_suffix('\r').unwrap_or(text).to_owned())
}

/// Runs `f` with the terminal's echo off, restoring it after.
pub(super) fn without_echo<T>(f: impl FnOnce() -> std::io::Result<T>) -> std::io::Result<T> {
    // SAFETY: termios calls on stdin with a struct this function owns.
    unsafe {
        let mut saved: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut saved) != 0 {
            return f();
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        libc::tcsetattr(0, libc::TCSANOW, &quiet);
        let out = f();
        libc::tcsetattr(0, libc::TCSANOW, &saved);
        out
    }
}

fn list(json: bool, config: &ConfigArgs) -> anyhow::Result<()> {
    let paths = Paths::resolve(config.config.as_deref())?;
    let secrets = list_secrets(&paths, &open(&paths)?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&secrets)?);
        return Ok(());
    }
    if secrets.is_empty() {
        println!("no secrets\nhint: portcullis secret set NAME, then refer to it in the config as {{ secret = \"NAME\" }}");
        return Ok(());
    }
    let width = secrets
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!("{:width$}  {:8}  USED BY", "NAME", "KEPT IN");
    for s in &secrets {
        let kept = match s.backend {
            Some(Backend::Keyring) => "keyring",
            Some(Backend::File) => "file",
            None => "NOT SET",
        };
        let used = if s.used_by.is_empty() {
            "-".to_owned()
        } else {
            s.used_by.join(", ")
        };
        println!("{:width$}  {kept:8}  {used}", s.name);
    }
    if secrets.iter().any(|s| s.backend.is_none()) {
        println!("hint: a server using a secret that is NOT SET does not start; portcullis secret set NAME");
    }
    Ok(())
}

fn remove(name: &str, config: &ConfigArgs) -> anyhow::Result<()> {
    let paths = Paths::resolve(config.config.as_deref())?;
    let secrets = open(&paths)?;
    let used_by = list_secrets(&paths, &secrets)?
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| s.used_by)
        .unwrap_or_default();
    if !secrets.remove(name)? {
        fail!(
            hint = "portcullis secret list shows the secrets there are",
            "there is no secret `{name}`"
        );
    }
    println!("removed `{name}`");
    if !used_by.is_empty() {
        eprintln!(
            "warning: still named in the config by {}; those servers will not start until it is set again",
            used_by.join(", ")
        );
    }
    Ok(())
}
