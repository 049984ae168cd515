//! Process groups a gateway leaves behind when it dies without stopping them.
//!
//! Each stdio upstream runs in its own process group. The parent-death signal
//! reaches only the group's first process, so what that process started (the
//! node of `npx`, the python of `uvx`, a server that forks) outlives a gateway
//! killed by SIGKILL, with init as its parent and nobody to stop it. So a
//! gateway records every group it starts, one file per group in
//! `<data>/groups/` naming the group, its first process's start time and the
//! gateway (pid and start time, so a reused pid is not taken for it), and
//! removes the record once the group is stopped. At start a gateway stops the
//! recorded groups of gateways that no longer run: SIGTERM to the group,
//! SIGKILL to what is left after a grace period. A gateway that still runs on
//! the same home (`serve` next to a `stdio` gateway) keeps its groups.
//!
//! A recorded group id is signalled only while it still names that group: not
//! when a process of that id started at another time (the id was reused), nor
//! when a member is older than the group's first process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::private_files;

/// How long the strays of a dead gateway get between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How often the sweep looks whether they are gone.
const POLL: Duration = Duration::from_millis(50);

/// The records of the process groups of the gateways on one home.
pub(crate) struct ProcessGroups {
    dir: PathBuf,
    /// This gateway, as `gateway_id` writes it.
    me: String,
}

/// One recorded group; removing it says the group was stopped.
pub(crate) struct GroupRecord {
    path: PathBuf,
}

impl GroupRecord {
    /// Forgets the group (its processes were reaped or killed).
    pub(crate) fn remove(self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(
                    "could not remove the process group record {}: {e}",
                    self.path.display()
                );
            }
        }
    }
}

/// What a record says.
#[derive(Debug, PartialEq, Eq)]
struct Recorded {
    pgid: u32,
    /// Start time of the group's first process (0: unknown).
    leader_start: u64,
    gateway: String,
}

impl Recorded {
    fn parse(text: &str) -> Option<Self> {
        let mut pgid = None;
        let mut leader_start = None;
        let mut gateway = None;
        for word in text.split_whitespace() {
            match word.split_once('=')? {
                ("pgid", v) => pgid = v.parse().ok(),
                ("leader_start", v) => leader_start = v.parse().ok(),
                ("gateway", v) => gateway = Some(v.to_owned()),
                _ => {}
            }
        }
        Some(Self {
            pgid: pgid.filter(|p| *p > 1)?,
            leader_start: leader_start?,
            gateway: gateway?,
        })
    }

    fn render(&self) -> String {
        format!(
            "pgid={} leader_start={} gateway={}\n",
            self.pgid, self.leader_start, self.gateway
        )
    }
}

impl ProcessGroups {
    /// The records in `dir` (`<data>/groups`), written as this process.
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            me: gateway_id(std::process::id()),
        }
    }

    /// Records the group whose first process is `pgid`. A record that cannot be
    /// written is logged: the group still runs, it is only not swept after a crash.
    pub(crate) fn record(&self, pgid: u32) -> Option<GroupRecord> {
        let leader_start = start_time(pgid).unwrap_or(0);
        let path = self.dir.join(format!("{pgid}-{leader_start}"));
        let text = Recorded {
            pgid,
            leader_start,
            gateway: self.me.clone(),
        }
        .render();
        let written = private_files::private_dir(&self.dir)
            .and_then(|()| private_files::write_atomic(&path, text.as_bytes()));
        match written {
            Ok(()) => Some(GroupRecord { path }),
            Err(e) => {
                tracing::warn!(
                    "could not record process group {pgid} in {}: {e}",
                    self.dir.display()
                );
                None
            }
        }
    }

    /// Stops the recorded groups of gateways that no longer run and forgets
    /// them; returns the ids of the groups that had processes left.
    pub(crate) async fn sweep(&self) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut strays = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Some(rec) = Recorded::parse(&text) else {
                tracing::warn!(
                    "ignoring an unreadable process group record {}",
                    path.display()
                );
                let _ = std::fs::remove_file(&path);
                continue;
            };
            if rec.gateway == self.me || gateway_alive(&rec.gateway) {
                continue;
            }
            if still_ours(&rec) {
                signal_group(rec.pgid, libc::SIGTERM);
                strays.push((rec.pgid, path));
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
        if strays.is_empty() {
            return Vec::new();
        }
        let ids: Vec<u32> = strays.iter().map(|(pgid, _)| *pgid).collect();
        tracing::warn!(
            "stopping process groups {ids:?} left by an earlier gateway on this home that did not stop them"
        );
        let deadline = tokio::time::Instant::now() + GRACE;
        while tokio::time::Instant::now() < deadline
            && strays
                .iter()
                .any(|(pgid, _)| !live_members(*pgid).is_empty())
        {
            tokio::time::sleep(POLL).await;
        }
        for (pgid, path) in strays {
            if !live_members(pgid).is_empty() {
                signal_group(pgid, libc::SIGKILL);
            }
            let _ = std::fs::remove_file(&path);
        }
        ids
    }
}

/// Whether the recorded id still names the group this record is about, and it
/// has processes left.
fn still_ours(rec: &Recorded) -> bool {
    let members = members(rec.pgid);
    if members.is_empty() {
        return false;
    }
    members.iter().all(|m| {
        // A process with the group's id that started at another time is a
        // newer group (an id in use as a group id is never given to a new process).
        let reused = m.pid == rec.pgid && rec.leader_start != 0 && m.start != rec.leader_start;
        // Nothing in the group can be older than the process that made it.
        let older = m.start < rec.leader_start;
        !reused && !older
    })
}

/// A process in a group.
struct Member {
    pid: u32,
    start: u64,
    zombie: bool,
}

/// The processes whose group is `pgid` (empty where there is no /proc).
fn members(pgid: u32) -> Vec<Member> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = Stat::read(pid)?;
            (stat.pgrp == pgid).then_some(Member {
                pid,
                start: stat.start,
                zombie: stat.state == 'Z',
            })
        })
        .collect()
}

fn live_members(pgid: u32) -> Vec<u32> {
    members(pgid)
        .into_iter()
        .filter(|m| !m.zombie)
        .map(|m| m.pid)
        .collect()
}

/// The fields of /proc/<pid>/stat the gateway reads.
struct Stat {
    state: char,
    pgrp: u32,
    /// Clock ticks since boot.
    start: u64,
}

impl Stat {
    fn read(pid: u32) -> Option<Self> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Self::parse(&text)
    }

    /// The fields after the command name, which may hold spaces and parentheses.
    fn parse(text: &str) -> Option<Self> {
        let (_, rest) = text.rsplit_once(") ")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(Self {
            state: fields.first()?.chars().next()?,
            pgrp: fields.get(2)?.parse().ok()?,
            start: fields.get(19)?.parse().ok()?,
        })
    }
}

/// A process as `<pid>:<start time>`, the start time telling a reused pid
/// apart (0 where it cannot be read).
pub(crate) fn gateway_id(pid: u32) -> String {
    format!("{pid}:{}", start_time(pid).unwrap_or(0))
}

/// Whether the gateway named by `gateway_id` still runs.
pub(crate) fn gateway_alive(label: &str) -> bool {
    let Some((pid, start)) = label.split_once(':') else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(raw, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && (start == 0 || start_time(pid).is_none_or(|now| now == start))
}

/// A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat).
fn start_time(pid: u32) -> Option<u64> {
    Stat::read(pid).map(|s| s.start)
}

/// Sends `sig` to every process of the group `pgid`.
pub(super) fn signal_group(pgid: u32, sig: libc::c_int) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid) {
        if pgid <= 1 {
            return;
        }
        // SAFETY: killpg only sends a signal; a stale group id fails harmlessly.
        unsafe {
            libc::killpg(pgid, sig);
        }
    }
}

/// The folder of the records under a data folder.
pub(crate) fn groups_dir(data: &Path) -> PathBuf {
    data.join("groups")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_is_alive_only_while_its_process_is() {
        let me = gateway_id(std::process::id());
        assert!(gateway_alive(&me), "{me}");
        let (pid, start) = me.split_once(':').unwrap();
        if start != "0" {
            assert!(
                !gateway_alive(&format!("{pid}:{}", start.parse::<u64>().unwrap() + 1)),
                "a reused pid is not the same gateway"
            );
        }
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = gateway_id(child.id());
        child.wait().unwrap();
        assert!(!gateway_alive(&gone));
        for bad in ["", "x", "0:0", "-1:0", "12"] {
            assert!(!gateway_alive(bad), "{bad}");
        }
    }

    #[test]
    fn records_round_trip_and_nonsense_is_refused() {
        let rec = Recorded {
            pgid: 4242,
            leader_start: 77,
            gateway: "10:20".into(),
        };
        assert_eq!(Recorded::parse(&rec.render()), Some(rec));
        for bad in ["", "pgid=1 leader_start=0 gateway=1:2", "pgid=x", "garbage"] {
            assert_eq!(Recorded::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn stat_fields_are_read_after_a_name_with_spaces_and_parentheses() {
        let text = "12 (a b) c) S 1 99 99 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 123456 0 0";
        let stat = Stat::parse(text).unwrap();
        assert_eq!((stat.state, stat.pgrp, stat.start), ('S', 99, 123456));
    }

    #[tokio::test]
    async fn a_dead_gateways_group_is_stopped_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let groups = ProcessGroups::new(dir.path().to_path_buf());
        let spawn = || {
            use std::os::unix::process::CommandExt;
            std::process::Command::new("sleep")
                .arg("60")
                .process_group(0)
                .spawn()
                .unwrap()
        };
        // Ours (a live gateway): kept.
        let mut mine = spawn();
        let kept = groups.record(mine.id()).unwrap();
        // A dead gateway's: stopped and forgotten.
        let mut stray = spawn();
        let dead = {
            let mut c = std::process::Command::new("true").spawn().unwrap();
            let id = gateway_id(c.id());
            c.wait().unwrap();
            id
        };
        let stray_rec = Recorded {
            pgid: stray.id(),
            leader_start: start_time(stray.id()).unwrap(),
            gateway: dead,
        };
        std::fs::write(dir.path().join("stray"), stray_rec.render()).unwrap();

        assert_eq!(groups.sweep().await, vec![stray.id()]);
        assert!(stray.wait().unwrap().code().is_none(), "killed by a signal");
        assert!(
            mine.try_wait().unwrap().is_none(),
            "a live gateway's group was stopped"
        );
        assert!(!dir.path().join("stray").exists());
        assert!(kept.path.exists());
        kept.remove();
        mine.kill().unwrap();
        mine.wait().unwrap();
    }

    #[tokio::test]
    async fn a_reused_group_id_is_not_signalled() {
        let dir = tempfile::tempdir().unwrap();
        let groups = ProcessGroups::new(dir.path().to_path_buf());
        let mut other = {
            use std::os::unix::process::CommandExt;
            std::process::Command::new("sleep")
                .arg("60")
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let rec = Recorded {
            pgid: other.id(),
            // The recorded group's first process started at another time.
            leader_start: start_time(other.id()).unwrap() + 1,
            gateway: "999999999:1".into(),
        };
        std::fs::write(dir.path().join("old"), rec.render()).unwrap();
        assert!(groups.sweep().await.is_empty());
        assert!(
            other.try_wait().unwrap().is_none(),
            "an unrelated group was signalled"
        );
        assert!(!dir.path().join("old").exists());
        other.kill().unwrap();
        other.wait().unwrap();
    }
}
