//! Where a file goes: the storage and the node that stores it (the storage's only node, `--node`,
//! or any online node of a shared storage), whether the storage takes that content, the name PVE
//! stores it under, and the checksum to verify it with. Shared by `upload`, `download`,
//! `templates download` and `vm create --image`.

use std::path::Path;

use crate::api::cluster::{self, Resource, ResourceType};
use crate::api::storage::{self, Checksum, Content};
use crate::api::Client;
use crate::cli::TransferArgs;
use crate::commands::Ctx;
use crate::error::CliError;

/// A storage on the node that will hold the file.
#[derive(Debug, Clone)]
pub struct Place {
    pub storage: String,
    pub node: String,
    /// The content types the storage takes.
    pub content: Vec<String>,
    /// Its type (`dir`, `nfs`, `lvmthin`…), when PVE said.
    pub plugintype: Option<String>,
}

impl Place {
    pub fn takes(&self, content: &str) -> bool {
        self.content.iter().any(|c| c == content)
    }

    /// Refuse before sending a byte when the storage does not take this content.
    pub fn require(&self, content: Content) -> Result<(), CliError> {
        if self.takes(content.as_str()) {
            return Ok(());
        }
        // Only a file system storage can hold files at all.
        let file_based = matches!(
            self.plugintype.as_deref(),
            Some("dir" | "nfs" | "cifs" | "cephfs" | "btrfs" | "glusterfs")
        );
        let fix = if file_based {
            format!(
                ", or allow it with `pvesm set {} --content {},{content}`",
                self.storage,
                self.content.join(",")
            )
        } else {
            String::new()
        };
        Err(CliError::usage(format!(
            "storage '{}' does not take {content} content (it takes: {}): pick another storage (see `pvectl storage list`){fix}",
            self.storage,
            if self.content.is_empty() { "nothing".to_string() } else { self.content.join(", ") },
        )))
    }
}

/// The storage entries of `/cluster/resources` for `storage`, one per node that has it.
fn entries<'a>(all: &'a [Resource], storage: &str) -> Vec<&'a Resource> {
    let mut v: Vec<&Resource> = all
        .iter()
        .filter(|r| {
            r.kind == "storage" && r.storage.as_deref() == Some(storage) && r.node.is_some()
        })
        .collect();
    v.sort_by(|a, b| a.node.cmp(&b.node));
    v
}

/// Pick the node for `storage` from the storage entries of `/cluster/resources`: `--node` if
/// given (it must have the storage), else the storage's only node, else for a shared storage the
/// profile's node or the first one where it is available.
pub fn pick(
    all: &[Resource],
    storage: &str,
    flag: Option<&str>,
    profile_node: Option<&str>,
) -> Result<Place, CliError> {
    let mine = entries(all, storage);
    if mine.is_empty() {
        return Err(CliError::not_found(format!(
            "no storage '{storage}' in the cluster (see `pvectl storage list`)"
        )));
    }
    let nodes: Vec<&str> = mine.iter().filter_map(|r| r.node.as_deref()).collect();
    let available = |r: &&&Resource| r.status.as_deref() == Some("available");
    let chosen: &Resource = if let Some(n) = flag {
        mine.iter()
            .find(|r| r.node.as_deref() == Some(n))
            .copied()
            .ok_or_else(|| {
                CliError::not_found(format!(
                    "storage '{storage}' is not available on node '{n}' (it is on {})",
                    nodes.join(", ")
                ))
            })?
    } else if mine.len() == 1 {
        mine[0]
    } else if mine.iter().any(|r| r.shared) {
        let preferred = mine
            .iter()
            .filter(available)
            .find(|r| profile_node.is_some() && r.node.as_deref() == profile_node);
        preferred
            .or_else(|| mine.iter().find(available))
            .copied()
            .unwrap_or(mine[0])
    } else if let Some(r) = mine
        .iter()
        .find(|r| profile_node.is_some() && r.node.as_deref() == profile_node)
    {
        r
    } else {
        return Err(CliError::usage(format!(
            "storage '{storage}' is local to each of {} nodes ({}): say which one with --node",
            nodes.len(),
            nodes.join(", ")
        )));
    };
    let node = chosen.node.clone().unwrap_or_default();
    if chosen.status.as_deref() != Some("available") {
        return Err(CliError::unreachable(format!(
            "storage '{storage}' is not available on {node} (status {}): is the node online and the storage active?",
            chosen.status.as_deref().unwrap_or("unknown")
        )));
    }
    Ok(Place {
        storage: storage.to_string(),
        node,
        content: chosen.content_types(),
        plugintype: chosen
            .field("plugintype")
            .and_then(|v| v.as_str().map(str::to_string)),
    })
}

/// `pick` with the cluster's storage entries read now.
pub async fn image_place(
    ctx: &Ctx,
    client: &Client,
    storage: &str,
    node: Option<&str>,
) -> anyhow::Result<Place> {
    let all = cluster::resources(client, Some(ResourceType::Storage)).await?;
    Ok(pick(&all, storage, node, ctx.settings.node.as_deref())?)
}

/// The content type and the name a file is stored under: `--content` or the type its name
/// suggests, `--name` or its own name, spelt as PVE stores it. `format` tells the image format of
/// a `.img` file (PVE takes import images only as `.qcow2`, `.raw`, `.vmdk` or `.ova`). Returns
/// a note when the name changed.
pub fn content_and_name(
    a: &TransferArgs,
    original: &str,
    format: impl FnOnce() -> &'static str,
) -> Result<(Content, String, Option<String>), CliError> {
    let given = a.name.as_deref().unwrap_or(original);
    let content = match &a.content {
        Some(c) => Content::parse(c)
            .ok_or_else(|| CliError::usage(format!("unknown content type '{c}'")))?,
        None => Content::guess(given).ok_or_else(|| {
            CliError::usage(format!(
                "cannot tell from the name '{given}' what it is: give --content iso, vztmpl or import"
            ))
        })?,
    };
    let mut name = storage::normalize_filename(given);
    let mut note = (name != given.rsplit(['/', '\\']).next().unwrap_or(given)).then(|| {
        format!("stored as {name} (PVE replaces other characters than a-z, 0-9, '_', '.', '-')")
    });
    if content == Content::Import && a.name.is_none() && name.to_ascii_lowercase().ends_with(".img")
    {
        let stem = &name[..name.len() - 4];
        let renamed = format!("{stem}.{}", format());
        note = Some(format!(
            "stored as {renamed}: PVE takes disk images to import only as .qcow2, .raw, .vmdk or .ova (--name sets another name)"
        ));
        name = renamed;
    }
    if name.is_empty() || name.starts_with('.') {
        return Err(CliError::usage(format!(
            "'{given}' is no usable file name: give --name"
        )));
    }
    if !content.accepts(&name) {
        return Err(CliError::usage(format!(
            "'{name}' cannot be stored as {content} content: PVE wants a name ending in {} (give --name or --content)",
            content.extensions()
        )));
    }
    Ok((content, name, note))
}

/// The image format a disk image file holds, from its first bytes: qcow2, vmdk, else raw.
pub fn sniff_format(path: &Path) -> &'static str {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    match (read, &magic) {
        (Ok(()), b"QFI\xfb") => "qcow2",
        (Ok(()), b"KDMV") => "vmdk",
        _ => "raw",
    }
}

/// The checksum to verify: `--checksum ALGO:HEX`, or the entry for `name` in `--checksum-file`.
pub fn checksum(a: &TransferArgs, name: &str) -> Result<Option<Checksum>, CliError> {
    if let Some(text) = &a.checksum {
        return Checksum::parse(text)
            .map(Some)
            .map_err(|e| CliError::usage(format!("--checksum: {e}")));
    }
    let Some(path) = &a.checksum_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(crate::config::expand_home(path)).map_err(|e| {
        CliError::usage(format!(
            "--checksum-file: cannot read {}: {e}",
            path.display()
        ))
    })?;
    match find_checksum(&text, name) {
        Some((algo, hex)) => Checksum::new(&algo, &hex)
            .map(Some)
            .map_err(|e| CliError::usage(format!("--checksum-file {}: {e}", path.display()))),
        None => Err(CliError::usage(format!(
            "--checksum-file {} has no checksum for {name}",
            path.display()
        ))),
    }
}

/// The (algorithm, hex) for `name` in a checksum file: GNU lines `HEX  NAME` / `HEX *NAME`
/// (the algorithm from the digest's length) or BSD lines `SHA256 (NAME) = HEX`.
pub fn find_checksum(text: &str, name: &str) -> Option<(String, String)> {
    let base = |n: &str| n.trim().rsplit('/').next().unwrap_or("").to_string();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // BSD: `SHA256 (debian.iso) = 9f86…`
        if let Some((left, hex)) = line.rsplit_once(") = ") {
            if let Some((algo, file)) = left.split_once(" (") {
                if base(file) == name {
                    return Some((algo.trim().to_ascii_lowercase(), hex.trim().to_string()));
                }
            }
            continue;
        }
        // GNU: `9f86…  debian.iso`, `9f86… *debian.iso`
        let Some((hex, file)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let file = file.trim_start().trim_start_matches('*');
        if base(file) == name && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let algo = Checksum::algorithm_for(hex.len())?;
            return Some((algo.to_string(), hex.to_string()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    fn entry(name: &str, node: &str, shared: bool, status: &str) -> Resource {
        serde_json::from_value(json!({
            "id": format!("storage/{node}/{name}"), "type": "storage", "storage": name,
            "node": node, "shared": u8::from(shared), "status": status, "content": "iso,vztmpl,import",
        }))
        .unwrap()
    }

    #[test]
    fn the_node_a_file_goes_to() {
        let all = vec![
            entry("local", "pve1", false, "available"),
            entry("local", "pve2", false, "available"),
            entry("nfs", "pve1", true, "unknown"),
            entry("nfs", "pve2", true, "available"),
            entry("solo", "pve2", false, "available"),
        ];
        assert_eq!(pick(&all, "solo", None, None).unwrap().node, "pve2");
        assert_eq!(pick(&all, "nfs", None, None).unwrap().node, "pve2");

        assert_eq!(
            pick(&all, "local", None, Some("pve2")).unwrap().node,
            "pve2"
        );
        assert_eq!(
            pick(&all, "local", Some("pve1"), None).unwrap().node,
            "pve1"
        );
        let e = pick(&all, "local", None, None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Usage);
        assert!(e.message.contains("--node"), "{}", e.message);
        assert_eq!(
            pick(&all, "nope", None, None).unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            pick(&all, "solo", Some("pve1"), None).unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            pick(&all, "nfs", Some("pve1"), None).unwrap_err().kind,
            ErrorKind::Unreachable
        );
        let p = pick(&all, "solo", None, None).unwrap();
        assert!(p.require(Content::Iso).is_ok());
        let mut p2 = p.clone();
        p2.content = vec!["images".into()];
        assert!(p2
            .require(Content::Iso)
            .unwrap_err()
            .message
            .contains("does not take iso"));
    }

    #[test]
    fn checksum_files_of_both_styles() {
        let gnu = format!(
            "{}  debian.iso\n{} *other.iso\n",
            "a".repeat(64),
            "b".repeat(128)
        );
        assert_eq!(
            find_checksum(&gnu, "debian.iso"),
            Some(("sha256".into(), "a".repeat(64)))
        );
        assert_eq!(
            find_checksum(&gnu, "other.iso"),
            Some(("sha512".into(), "b".repeat(128)))
        );
        let bsd = format!("SHA512 (images/debian.qcow2) = {}\n", "c".repeat(128));
        assert_eq!(
            find_checksum(&bsd, "debian.qcow2"),
            Some(("sha512".into(), "c".repeat(128)))
        );
        assert_eq!(find_checksum(&gnu, "missing.iso"), None);
    }

    #[test]
    fn names_and_content_types() {
        let args = |content: Option<&str>, name: Option<&str>| TransferArgs {
            content: content.map(str::to_string),
            name: name.map(str::to_string),
            checksum: None,
            checksum_file: None,
            node: None,
            wait: Default::default(),
        };
        let (c, n, note) = content_and_name(&args(None, None), "noble.img", || "qcow2").unwrap();
        assert_eq!((c, n.as_str()), (Content::Import, "noble.qcow2"));
        assert!(note.unwrap().contains("noble.qcow2"));
        let (c, n, note) =
            content_and_name(&args(Some("iso"), None), "boot.img", || "raw").unwrap();
        assert_eq!((c, n.as_str(), note), (Content::Iso, "boot.img", None));
        let (_, n, note) = content_and_name(&args(None, None), "My Disk.iso", || "raw").unwrap();
        assert_eq!(n, "My_Disk.iso");
        assert!(note.is_some());
        let e = content_and_name(&args(Some("iso"), None), "d.qcow2", || "raw").unwrap_err();
        assert!(e.message.contains(".iso or .img"), "{}", e.message);
        assert!(content_and_name(&args(None, None), "notes.txt", || "raw").is_err());
    }
}
