//! Ready-to-paste client configuration.

/// The snippets for common clients, as text for the terminal.
pub(crate) fn client_snippets(mcp_url: &str) -> String {
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "portcullis".into());
    format!(
        "\nAdd Portcullis to your MCP client:\n\
         \n  Cursor (~/.cursor/mcp.json), Claude Code, and other clients that speak HTTP:\n    {{\"mcpServers\": {{\"portcullis\": {{\"url\": \"{mcp_url}\"}}}}}}\n\
         \n  VS Code (.vscode/mcp.json):\n    {{\"servers\": {{\"portcullis\": {{\"type\": \"http\", \"url\": \"{mcp_url}\"}}}}}}\n\
         \n  Claude Desktop and clients that only start commands:\n    {{\"mcpServers\": {{\"portcullis\": {{\"command\": \"{exe}\", \"args\": [\"stdio\"]}}}}}}\n"
    )
}
