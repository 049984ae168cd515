//! Which image runs a command: chosen from the command's runtime, so that
//! `npx …` runs where there is Node and `uvx …` where there are Python and
//! uv. A server's `image` (or `[gateway] docker_image` for other commands)
//! overrides it. Images are never pulled implicitly: a missing one is an
//! error that says how to get it.

/// The image for Node commands (`node`, `npx`, `npm`, `pnpm`, `yarn`).
pub const NODE_IMAGE: &str = "node:22-slim";
/// The image for Python commands (`python`, `python3`, `pip`, `pipx`).
pub const PYTHON_IMAGE: &str = "python:3.12-slim";
/// The image for uv commands (`uv`, `uvx`): Python with uv installed.
pub const UV_IMAGE: &str = "ghcr.io/astral-sh/uv:python3.12-bookworm-slim";

/// The image for a command and the runtime it was chosen for, or `None`
/// when the runtime is not recognised.
pub(crate) fn image_for(command: &str) -> Option<(&'static str, &'static str)> {
    let program = command
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(command)
        .trim_end_matches(".exe");
    // `python3.12`, `pip3` and the like count as their runtime.
    let base = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match base {
        "node" | "nodejs" | "npx" | "npm" | "pnpm" | "pnpx" | "yarn" => Some((NODE_IMAGE, "node")),
        "python" | "pip" | "pipx" => Some((PYTHON_IMAGE, "python")),
        "uv" | "uvx" => Some((UV_IMAGE, "uv")),
        _ => None,
    }
}

/// How to get an image that the engine does not have.
pub(crate) fn how_to_get(image: &str) -> String {
    format!("get it with `docker pull {image}`; an image that is not in a registry must be built or imported under that name (`docker build -t {image} .`, or `docker import rootfs.tar {image}`)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_choose_images() {
        assert_eq!(image_for("npx"), Some((NODE_IMAGE, "node")));
        assert_eq!(image_for("/usr/bin/node"), Some((NODE_IMAGE, "node")));
        assert_eq!(image_for("uvx"), Some((UV_IMAGE, "uv")));
        assert_eq!(image_for("python3.12"), Some((PYTHON_IMAGE, "python")));
        assert_eq!(image_for("pip3"), Some((PYTHON_IMAGE, "python")));
        assert_eq!(image_for("/opt/mcp/server"), None);
        assert_eq!(image_for("nodemon"), None);
    }
}
