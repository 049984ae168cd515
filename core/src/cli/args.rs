//! The command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Portcullis: one MCP endpoint on localhost in front of all your MCP servers.
#[derive(Parser)]
#[command(name = "portcullis", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run the gateway: the MCP endpoint and the admin API on loopback.
    Serve(ServeArgs),
    /// Serve the gateway over stdin/stdout, for clients that only spawn commands.
    Stdio(StdioArgs),
    /// Add, list, remove, import, approve and block upstream MCP servers.
    #[command(subcommand)]
    Upstream(UpstreamCommand),
    /// Find servers in an MCP registry (`[registry] url`, default the
    /// official one) and add them; they wait in quarantine like any other.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Search, list and review the tools of every upstream.
    #[command(subcommand)]
    Tools(ToolsCommand),
    /// Show tool calls and decisions.
    Activity(ActivityArgs),
    /// Set, list and remove secrets (API keys, tokens) the config names with
    /// `{ secret = "name" }`: kept in the OS keyring, never in a file.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Make, list and remove the bearer tokens clients present on /mcp, so
    /// the gateway knows which client calls and refuses processes without one.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Add, list and remove profiles: named views of the gateway (some
    /// servers, some tools) served at /mcp/p/NAME and bindable to a client.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Run a command in the sandbox: how the gateway starts a server with
    /// `isolation = "sandbox"` (not for people). It is taken before the rest
    /// of the CLI starts (`portcullis::isolation::sandbox_exec_main`); this
    /// entry documents its grammar.
    #[command(hide = true)]
    SandboxExec {
        /// Only check that this kernel can build the sandbox.
        #[arg(long)]
        check: bool,
        /// The rules (JSON) the gateway wrote for this server.
        rules: Option<PathBuf>,
        /// The command and its arguments, after `--`.
        #[arg(last = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Measure tool search on a labeled data set (P@1, R@5, Hit@5, nDCG@10).
    SearchEval {
        /// A folder with tools.jsonl and queries.jsonl.
        dir: PathBuf,
        /// Ranking to measure: keyword-only, or keywords fused with the embedding model.
        #[arg(long, value_enum, default_value_t = EvalMode::Hybrid)]
        mode: EvalMode,
    },
    /// Measure the poisoning scanner on a labeled data set (recall per category, false flags).
    ScanEval {
        /// A folder with poisoned.jsonl and benign.jsonl.
        dir: PathBuf,
        /// Also list every miss and every false flag with its findings.
        #[arg(long)]
        verbose: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum RegistryCommand {
    /// Servers whose name or description has TEXT (their latest versions).
    Search {
        /// What to look for, e.g. `github` or `weather`.
        text: String,
        /// At most this many.
        #[arg(long, default_value_t = 30)]
        limit: u32,
        /// Print the registry's answer as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// A server's description, version, packages, remotes and the values it takes.
    Show {
        /// Its registry name, e.g. io.github.owner/weather.
        name: String,
        /// A version other than the latest.
        #[arg(long)]
        version: Option<String>,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Adds a server to the config: its package's command, or its remote's URL.
    Add(RegistryAddArgs),
}

#[derive(Args)]
pub(crate) struct RegistryAddArgs {
    /// Its registry name, e.g. io.github.owner/weather.
    pub(crate) name: String,
    /// The local server name (default: the part after the `/`).
    #[arg(long = "name", value_name = "LOCAL")]
    pub(crate) local_name: Option<String>,
    /// A version other than the latest.
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// Use its remote (a URL) rather than a package.
    #[arg(long)]
    pub(crate) remote: bool,
    /// `docker`: run the package's command in a hardened container.
    #[arg(long)]
    pub(crate) isolation: Option<String>,
    /// A value it takes (environment variable, header, argument or
    /// variable), KEY=VALUE; repeatable. Secret ones go to the keyring.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub(crate) values: Vec<String>,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

#[derive(Subcommand)]
pub(crate) enum ClientCommand {
    /// Make a token for a client (shown once; a client that had one gets a
    /// new one, and the old stops working).
    Add {
        /// The client's name (1-64 of A-Z a-z 0-9 . _ -), e.g. cursor.
        name: String,
        /// Bind the token to this profile (`[profiles.NAME]`).
        #[arg(long)]
        profile: Option<String>,
        /// Print JSON (with the token).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List the clients with a token; never tokens.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Remove a client's token: it stops working at once.
    Rm {
        /// The client's name.
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum ProfileCommand {
    /// Add a profile to the config (a running gateway serves it within a second).
    Add {
        /// Its name (1-64 of A-Z a-z 0-9 _ -); served at /mcp/p/NAME.
        name: String,
        /// The servers it offers: names or globs, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        servers: Vec<String>,
        /// Only these tools of those servers: globs over the names the
        /// servers give them, or SERVER/GLOB, comma-separated. Default: all.
        #[arg(long, value_delimiter = ',')]
        tools: Option<Vec<String>>,
        /// What it is for.
        #[arg(long)]
        description: Option<String>,
        /// What agents see there (default: `[gateway] surface`).
        #[arg(long, value_enum)]
        surface: Option<SurfaceArg>,
        /// Replace a profile of that name.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List the profiles, the servers each covers and the clients bound to it.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Remove a profile from the config.
    Rm {
        /// The profile's name.
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// `--surface`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum SurfaceArg {
    /// Every tool of the profile, by name.
    Direct,
    /// search_tools, describe_tool and call_tool.
    Search,
}

#[derive(Subcommand)]
pub(crate) enum SecretCommand {
    /// Store a secret's value (asked for without echo, or read from stdin);
    /// a running gateway restarts the servers that use it.
    Set {
        /// The secret's name (1-128 of A-Z a-z 0-9 . _ -), e.g. github-pat.
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List secrets by name, where each is kept and which servers use it; never values.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Remove a secret from the keyring (or the encrypted file).
    Rm {
        /// The secret's name.
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum ToolsCommand {
    /// Search every tool (quarantined ones too) the way agents do.
    Search {
        /// What you want to do, in plain words.
        query: String,
        /// Most results.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Only this server's tools.
        #[arg(long)]
        server: Option<String>,
        /// Say which fields matched.
        #[arg(long)]
        explain: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List tools with their approval state.
    List {
        /// Only this server's tools.
        #[arg(long)]
        server: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Tools waiting for approval (new or changed), with scanner findings.
    Pending {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Show the approved and the current definition of a changed tool side by side.
    Diff {
        /// The tool, as <server>__<tool>.
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Args)]
pub(crate) struct ActivityArgs {
    /// How many entries.
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: usize,
    /// Keep printing new entries.
    #[arg(long)]
    pub(crate) follow: bool,
    /// Print JSON (one object per line with --follow).
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

#[derive(Args, Clone)]
pub(crate) struct ConfigArgs {
    /// The config file (default: $PORTCULLIS_HOME/config.toml or the XDG config dir).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct StdioArgs {
    /// Serve only what this profile offers (`[profiles.NAME]`).
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:7331 (port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

#[derive(Subcommand)]
pub(crate) enum UpstreamCommand {
    /// Add a server to the config (a running gateway starts it within a second).
    Add(Box<AddArgs>),
    /// List servers with their transport, state, tool count and last error.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Remove a server from the config.
    Remove {
        /// The server's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Import servers from an MCP client's config: `mcpServers` (Claude Desktop, Cursor, Cline, Continue…), VS Code's `servers`, Zed's `context_servers`, opencode's `mcp`, Codex's config.toml or Goose's config.yaml.
    Import {
        /// The config file (`.toml` and `.yaml` by their name, JSON with comments otherwise).
        file: PathBuf,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Approve a server (it starts), or some or all of its tools (they become callable).
    Approve(DecideArgs),
    /// Block a server (it stops), or some or all of its tools.
    Block(DecideArgs),
    /// Enable a server.
    Enable {
        /// The server's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Sign in to an HTTP server that asks for OAuth: prints the URL to open
    /// (and tries to open it), then waits until the sign-in completes.
    Login {
        /// The server's name.
        #[arg(long)]
        name: String,
        /// Only print the URL; do not try to open a browser.
        #[arg(long)]
        no_browser: bool,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Disable a server (it stays configured but stopped).
    Disable {
        /// The server's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Args)]
pub(crate) struct AddArgs {
    /// Name of the server (1-64 of A-Z a-z 0-9 _ -); its tools appear as <name>__<tool>.
    #[arg(long)]
    pub(crate) name: String,
    /// Program to run for a stdio server.
    #[arg(long, conflicts_with = "url")]
    pub(crate) command: Option<String>,
    /// Arguments for the program; repeat it, or give several in one quoted string.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true, num_args = 1)]
    pub(crate) args: Vec<String>,
    /// Environment for the program, K=V; repeatable. A value that looks like
    /// a credential (by its name or its shape) goes to the OS keyring and the
    /// config refers to it by name.
    #[arg(long, value_name = "K=V")]
    pub(crate) env: Vec<String>,
    /// Environment kept in the config file as written, even if it looks like a credential; repeatable.
    #[arg(long, value_name = "K=V")]
    pub(crate) plain_env: Vec<String>,
    /// Working directory for the program.
    #[arg(long)]
    pub(crate) cwd: Option<PathBuf>,
    /// URL of an HTTP server.
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// HTTP header, K=V; repeatable. Credentials (Authorization, API keys)
    /// go to the OS keyring, as with --env.
    #[arg(long, value_name = "K=V")]
    pub(crate) header: Vec<String>,
    /// HTTP header kept in the config file as written; repeatable.
    #[arg(long, value_name = "K=V")]
    pub(crate) plain_header: Vec<String>,
    /// streamable-http, sse or auto (default for a URL: auto).
    #[arg(long)]
    pub(crate) transport: Option<String>,
    /// Per-call timeout in seconds.
    #[arg(long)]
    pub(crate) timeout: Option<f64>,
    /// Add it disabled.
    #[arg(long)]
    pub(crate) disabled: bool,
    /// Start it on the first request that needs it (once its tools are approved), not with the gateway.
    #[arg(long)]
    pub(crate) on_demand: bool,
    /// Stop it after this long with nothing to do, e.g. 10m (the next call starts it again).
    #[arg(long, value_name = "DURATION")]
    pub(crate) idle_stop: Option<String>,
    /// At most this many requests to it at once; more wait (see --max-queue).
    #[arg(long, value_name = "N")]
    pub(crate) max_concurrent: Option<u32>,
    /// With --max-concurrent: how many requests may wait before more are refused as busy (default 16).
    #[arg(long, value_name = "N", requires = "max_concurrent")]
    pub(crate) max_queue: Option<u32>,
    /// `sandbox` runs the command in Linux namespaces under Landlock and seccomp (no Docker); `docker` in a hardened container; `none` (default) as a plain process.
    #[arg(long, value_name = "KIND")]
    pub(crate) isolation: Option<String>,
    /// The container image (docker only; default: chosen from the command: node for npx/node, python for python/pip, uv for uvx).
    #[arg(long, requires = "isolation")]
    pub(crate) image: Option<String>,
    /// Let it reach the network (default: no network).
    #[arg(long, requires = "isolation", conflicts_with = "allow_host")]
    pub(crate) network: bool,
    /// Let it reach only this host, HOST[:PORT] (port 443 unless given; `*.example.com` for the names below it), through the gateway's egress proxy; repeatable.
    #[arg(long, value_name = "HOST[:PORT]", requires = "isolation")]
    pub(crate) allow_host: Vec<String>,
    /// A host path it may use: /host:/container[:ro|:rw] for docker, /path[:ro|:rw] for the sandbox (read-only by default); repeatable.
    #[arg(long, value_name = "SPEC", requires = "isolation")]
    pub(crate) mount: Vec<String>,
    /// Its memory limit, e.g. 512m (default) or 1g (in the sandbox: per process).
    #[arg(long, requires = "isolation")]
    pub(crate) memory: Option<String>,
    /// The container's CPU limit in CPUs (docker only; default 1).
    #[arg(long, requires = "isolation")]
    pub(crate) cpus: Option<f64>,
    /// Its limit on processes and threads (default 256).
    #[arg(long, requires = "isolation")]
    pub(crate) pids: Option<i64>,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

#[derive(Args)]
pub(crate) struct DecideArgs {
    /// The server's name.
    #[arg(long)]
    pub(crate) name: String,
    /// Tools by their name at the server, comma-separated (e.g. "create_pull_request,list_issues").
    #[arg(long, value_delimiter = ',', conflicts_with = "all_tools")]
    pub(crate) tools: Vec<String>,
    /// Every tool of the server that waits for approval: each definition is
    /// printed, and exactly those are approved.
    #[arg(long)]
    pub(crate) all_tools: bool,
    /// Something else the server says to the model, as KIND:NAME (kinds:
    /// instructions, prompt, resource, resource_template), e.g.
    /// "prompt:review" or "instructions:instructions"; with --hash.
    #[arg(long, value_name = "KIND:NAME", conflicts_with_all = ["tools", "all_tools"])]
    pub(crate) item: Option<String>,
    /// With one tool in --tools, or with --item: approve only the definition
    /// with this hash (the full hash `portcullis tools pending` printed when
    /// you read it).
    #[arg(long, value_name = "SHA256")]
    pub(crate) hash: Option<String>,
    /// Approve definitions with high-severity findings without asking.
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

/// `search-eval --mode`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum EvalMode {
    /// BM25 only.
    Bm25,
    /// BM25 fused with the embedding model's ranking.
    Hybrid,
}
