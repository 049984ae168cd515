//! Where each client keeps its user-level MCP config, on each platform.
//!
//! `config` below is the per-user config folder (`dirs::config_dir`):
//! `$XDG_CONFIG_HOME` or `~/.config` on Linux, `~/Library/Application Support`
//! on macOS, `%APPDATA%` (Roaming) on Windows. The sources each path was
//! checked against:
//! - Codex: `~/.codex/config.toml` everywhere (openai/codex `find_codex_home`:
//!   `$CODEX_HOME`, else the home folder's `.codex`).
//! - Zed: `config/zed/settings.json` on Linux, `~/.config/zed/settings.json`
//!   on macOS, `%APPDATA%\Zed\settings.json` on Windows
//!   (zed-industries/zed `crates/paths/src/paths.rs`, `config_dir`).
//! - Cline: VS Code's global storage of the `saoudrizwan.claude-dev`
//!   extension, `config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json`
//!   (cline/cline `GlobalFileNames.mcpSettings`, docs.cline.bot).
//! - Continue: `~/.continue/config.yaml` everywhere (continuedev/continue
//!   `core/util/paths.ts`: `os.homedir()/.continue`).
//! - opencode: `~/.config/opencode/` everywhere, `$XDG_CONFIG_HOME` on Linux
//!   (its `Global.Path.config` is xdg-basedir's config folder, which is
//!   `~/.config` on macOS and Windows too); `opencode.jsonc` when it exists,
//!   else `opencode.json` (opencode.ai/docs/config).
//! - Goose: `config/goose/config.yaml` on Linux, `~/.config/goose/config.yaml`
//!   on macOS, `%APPDATA%\Block\goose\config\config.yaml` on Windows
//!   (block.github.io/goose/docs/guides/config-files; block/goose uses
//!   etcetera's app strategy with author "Block").

use std::path::{Path, PathBuf};

use super::client::Client;

/// The platforms whose folders differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Platform {
    Linux,
    MacOs,
    Windows,
}

impl Platform {
    /// The one this binary runs on (other Unixes lay files out as Linux does).
    pub(super) const CURRENT: Platform = if cfg!(target_os = "macos") {
        Platform::MacOs
    } else if cfg!(windows) {
        Platform::Windows
    } else {
        Platform::Linux
    };
}

impl Client {
    /// The files this client reads its servers from, most preferred first;
    /// Portcullis edits the first that exists, or creates the last.
    pub(super) fn config_paths(self, home: &Path, config: &Path, on: Platform) -> Vec<PathBuf> {
        // Where XDG-minded tools look on every platform.
        let xdg = match on {
            Platform::Linux => config.to_path_buf(),
            Platform::MacOs | Platform::Windows => home.join(".config"),
        };
        let one = match self {
            Client::ClaudeDesktop => config.join("Claude").join("claude_desktop_config.json"),
            Client::Cursor => home.join(".cursor").join("mcp.json"),
            Client::VsCode => config.join("Code").join("User").join("mcp.json"),
            Client::ClaudeCode => home.join(".claude.json"),
            Client::Windsurf => home
                .join(".codeium")
                .join("windsurf")
                .join("mcp_config.json"),
            Client::GeminiCli => home.join(".gemini").join("settings.json"),
            Client::LmStudio => home.join(".lmstudio").join("mcp.json"),
            Client::Codex => home.join(".codex").join("config.toml"),
            Client::Zed => match on {
                Platform::Windows => config.join("Zed").join("settings.json"),
                Platform::Linux | Platform::MacOs => xdg.join("zed").join("settings.json"),
            },
            Client::Cline => config
                .join("Code")
                .join("User")
                .join("globalStorage")
                .join("saoudrizwan.claude-dev")
                .join("settings")
                .join("cline_mcp_settings.json"),
            Client::Continue => home.join(".continue").join("config.yaml"),
            Client::OpenCode => {
                let dir = xdg.join("opencode");
                return vec![dir.join("opencode.jsonc"), dir.join("opencode.json")];
            }
            Client::Goose => match on {
                Platform::Windows => config
                    .join("Block")
                    .join("goose")
                    .join("config")
                    .join("config.yaml"),
                Platform::Linux | Platform::MacOs => xdg.join("goose").join("config.yaml"),
            },
        };
        vec![one]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_has_the_documented_paths() {
        let cases = [
            (
                Platform::Linux,
                "/home/p",
                "/home/p/.config",
                [
                    "/home/p/.codex/config.toml",
                    "/home/p/.config/zed/settings.json",
                    "/home/p/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
                    "/home/p/.continue/config.yaml",
                    "/home/p/.config/opencode/opencode.json",
                    "/home/p/.config/goose/config.yaml",
                ],
            ),
            (
                Platform::MacOs,
                "/Users/p",
                "/Users/p/Library/Application Support",
                [
                    "/Users/p/.codex/config.toml",
                    "/Users/p/.config/zed/settings.json",
                    "/Users/p/Library/Application Support/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
                    "/Users/p/.continue/config.yaml",
                    "/Users/p/.config/opencode/opencode.json",
                    "/Users/p/.config/goose/config.yaml",
                ],
            ),
            (
                Platform::Windows,
                "/C/Users/p",
                "/C/Users/p/AppData/Roaming",
                [
                    "/C/Users/p/.codex/config.toml",
                    "/C/Users/p/AppData/Roaming/Zed/settings.json",
                    "/C/Users/p/AppData/Roaming/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
                    "/C/Users/p/.continue/config.yaml",
                    "/C/Users/p/.config/opencode/opencode.json",
                    "/C/Users/p/AppData/Roaming/Block/goose/config/config.yaml",
                ],
            ),
        ];
        for (on, home, config, want) in cases {
            let clients = [
                Client::Codex,
                Client::Zed,
                Client::Cline,
                Client::Continue,
                Client::OpenCode,
                Client::Goose,
            ];
            for (client, want) in clients.into_iter().zip(want) {
                let paths = client.config_paths(Path::new(home), Path::new(config), on);
                assert_eq!(
                    paths.last().unwrap(),
                    Path::new(want),
                    "{} on {on:?}",
                    client.label()
                );
            }
        }
    }
}
