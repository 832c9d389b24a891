//! Where a drain writes down which guests it takes off a node, so that `nodes undrain` can bring
//! them back: a JSON file per cluster and node under the user's state directory
//! (`$XDG_STATE_HOME/pvectl/drained/<server>/<node>.json`, `~/.local/state/…` by default). It is
//! written before the first guest moves and after each one, so a drain that fails halfway or is
//! interrupted can still be undone.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::error::CliError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The drained node.
    pub node: String,
    /// The API the drain went through (`https://host:port`).
    pub server: String,
    /// When the first drain of this record began (epoch seconds).
    pub drained_at: i64,
    pub guests: Vec<Placed>,
}

/// A guest the drain took off the node (or set out to).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Placed {
    pub vmid: u32,
    /// `qemu` or `lxc`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where it was sent.
    pub to: String,
    /// Whether it got there.
    pub moved: bool,
}

/// The file of a node's drain on this server.
pub fn path(server: &str, node: &str) -> Result<PathBuf, CliError> {
    let base = dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .ok_or_else(|| {
            CliError::config(
                "cannot find a state directory to record the drain in: set XDG_STATE_HOME or HOME",
            )
        })?;
    Ok(base
        .join("pvectl")
        .join("drained")
        .join(file_safe(server.trim_start_matches("https://")))
        .join(format!("{}.json", file_safe(node))))
}

/// A name as a file name: letters, digits, `.`, `-` and `_` kept, anything else `_`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The record in `file`, if there is one.
pub fn load(file: &Path) -> anyhow::Result<Option<Record>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot read {}", file.display())))
        }
    };
    let record = serde_json::from_str(&text).map_err(|e| {
        CliError::config(format!(
            "{} is not a drain record pvectl can read ({e}): move it away to start afresh",
            file.display()
        ))
    })?;
    Ok(Some(record))
}

/// Write the record (whole or not at all: a new file renamed over the old one).
pub fn save(file: &Path, record: &Record) -> anyhow::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot make the directory {}", dir.display()))?;
    }
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(record)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(())
}

/// Forget the record (all its guests are back).
pub fn remove(file: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot remove {}", file.display()))),
    }
}

impl Record {
    /// Add or update a guest (a second drain keeps what the first recorded).
    pub fn note(&mut self, p: Placed) {
        match self.guests.iter_mut().find(|g| g.vmid == p.vmid) {
            Some(g) => *g = p,
            None => self.guests.push(p),
        }
        self.guests.sort_by_key(|g| g.vmid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_file_names() {
        assert_eq!(file_safe("127.0.0.2:8006"), "127.0.0.2_8006");
        assert_eq!(file_safe("../etc"), ".._etc");
    }

    #[test]
    fn a_record_survives_a_round_trip_and_keeps_one_entry_per_guest() {
        let dir = std::env::temp_dir().join(format!("pvectl-record-{}", std::process::id()));
        let file = dir.join("pve1.json");
        let mut r = Record {
            node: "pve1".into(),
            server: "https://pve:8006".into(),
            drained_at: 1,
            guests: vec![],
        };
        let placed = |vmid, to: &str, moved| Placed {
            vmid,
            kind: "qemu".into(),
            name: None,
            to: to.into(),
            moved,
        };
        r.note(placed(101, "pve2", false));
        r.note(placed(100, "pve3", true));
        r.note(placed(101, "pve2", true));
        save(&file, &r).unwrap();
        let back = load(&file).unwrap().unwrap();
        assert_eq!(back.guests.len(), 2);
        assert!(back.guests[1].moved);
        remove(&file).unwrap();
        assert!(load(&file).unwrap().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
