//! What marks a container as a gateway's: its labels, and the rule for
//! when a gateway that made one is gone (killed, crashed, power lost), so
//! that the next gateway on the same home removes what it left. A gateway
//! that still runs on the same home (`serve` next to a `stdio` gateway)
//! keeps its containers.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::transport::gateway_alive;

/// Every container the gateway makes carries it (value `true`).
pub const LABEL_MANAGED: &str = "io.portcullis.managed";
/// Which Portcullis home (data folder) it belongs to: a hash of its path.
pub const LABEL_HOME: &str = "io.portcullis.home";
/// Which gateway process made it: `<pid>:<start time>`.
pub const LABEL_GATEWAY: &str = "io.portcullis.gateway";
/// The server it runs.
pub const LABEL_SERVER: &str = "io.portcullis.server";

/// The value of [`LABEL_HOME`] on the containers of the gateway whose data folder is `data`.
pub fn home_label(data: &Path) -> String {
    hex(&Sha256::digest(data.to_string_lossy().as_bytes())[..8])
}

/// The engine's filter for what a gateway of `home` made .
pub(super) fn of_home(home: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![format!("{LABEL_HOME}={home}")])])
}

/// Whether what carries `labels` was made by a gateway that is gone: not
/// `me`, and not another that still runs on the same home.
pub(super) fn abandoned(labels: Option<&HashMap<String, String>>, me: &str) -> bool {
    let owner = labels
        .and_then(|l| l.get(LABEL_GATEWAY))
        .map_or("", String::as_str);
    owner != me && !gateway_alive(owner)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
