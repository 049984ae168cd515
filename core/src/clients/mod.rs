//! MCP clients pointed at Portcullis: the snippet Claude Desktop, Cursor,
//! VS Code, Claude Code, Windsurf, Gemini CLI and LM Studio each need, and
//! writing it into that client's own config file.
//!
//! Writing is careful: the file is parsed and only the `portcullis` entry is
//! added or replaced (everything else stays, in order); the file as it was is
//! kept as a timestamped backup beside it; the write is atomic. `undo`
//! restores the backup, but only while the file is still exactly what
//! Portcullis wrote, so it never loses an edit made since.

mod install;
mod snippet;

pub use install::{ClientError, ClientFiles, Installed, Undone};
pub use snippet::{terminal_snippets, Client, ClientSetup, ClientStatus, Target, UndoInfo};
