//! `portcullis client …`: the bearer tokens clients present on `/mcp`.
//! With a gateway running the change goes through it (its tokens change at
//! once); otherwise straight to the store, which a gateway started later reads.

use portcullis::api::AdminClient;
use portcullis::config::Paths;
use portcullis::store::Store;
use portcullis::{ClientView, NewClient};

use super::args::ClientCommand;

pub(crate) async fn run(cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Add {
            name,
            profile,
            json,
            config,
        } => {
            let paths = Paths::resolve(config.config.as_deref())?;
            let added: NewClient = match AdminClient::discover(&paths) {
                Some(client) => {
                    let body = serde_json::json!({ "name": name, "profile": profile });
                    client
                        .post("client-tokens", &body, &paths.runtime_file())
                        .await?
                }
                None => {
                    if let Some(p) = &profile {
                        let (_, settings) = portcullis::serve::load_settings(
                            config.config.as_deref(),
                            &portcullis::config::Overrides::default(),
                        )?;
                        portcullis::check_profile(&settings, p)?;
                    }
                    portcullis::add_client(
                        &Store::open(paths.database())?,
                        &name,
                        profile.as_deref(),
                    )?
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&added)?);
                return Ok(());
            }
            println!(
                "token for `{}` (shown only now; only its hash is kept):\n\n  {}\n",
                added.name, added.token
            );
            println!(
                "Give it to the client as an HTTP header:\n\n  Authorization: Bearer {}\n",
                added.token
            );
            if let Some(p) = &added.profile {
                println!("It sees profile `{p}` only, at /mcp and at /mcp/p/{p}.\n");
            }
            println!("Once a client token exists, /mcp refuses HTTP requests without one (`[gateway] require_client_token = false` allows them).");
            Ok(())
        }
        ClientCommand::List { json, config } => {
            let paths = Paths::resolve(config.config.as_deref())?;
            let clients: Vec<ClientView> = match AdminClient::discover(&paths) {
                Some(client) => {
                    #[derive(serde::Deserialize)]
                    struct Answer {
                        clients: Vec<ClientView>,
                    }
                    let answer: Answer = client.get("client-tokens", &paths.runtime_file()).await?;
                    answer.clients
                }
                None => portcullis::list_clients(&Store::open(paths.database())?)?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&clients)?);
            } else if clients.is_empty() {
                println!("no client tokens: /mcp takes requests without one (portcullis client add NAME makes one)");
            } else {
                let width = clients
                    .iter()
                    .map(|c| c.name.len())
                    .max()
                    .unwrap_or(0)
                    .max(6);
                println!("{:width$}  {:12}  created", "CLIENT", "PROFILE");
                for c in &clients {
                    let [y, mo, d, h, mi, _] = c.created_at.utc();
                    println!(
                        "{:width$}  {:12}  {y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC",
                        c.name,
                        c.profile.as_deref().unwrap_or("-"),
                    );
                }
            }
            Ok(())
        }
        ClientCommand::Rm { name, config } => {
            let paths = Paths::resolve(config.config.as_deref())?;
            let removed = match AdminClient::discover(&paths) {
                Some(client) => {
                    #[derive(serde::Deserialize)]
                    struct Answer {
                        removed: bool,
                    }
                    let answer: Answer = client
                        .delete(&format!("client-tokens/{name}"), &paths.runtime_file())
                        .await?;
                    answer.removed
                }
                None => portcullis::remove_client(&Store::open(paths.database())?, &name)?,
            };
            if !removed {
                fail!(
                    hint = "portcullis client list shows the clients with a token",
                    "there is no client `{name}`"
                );
            }
            println!("removed `{name}`: its token no longer works");
            Ok(())
        }
    }
}
