//! `/nodes/{node}/storage/…`: storages as a node sees them, their status and content, deleting a
//! volume, and PVE's prune simulation and removal of old backups.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::de::{self, Extra};
use super::nodes;
use super::params::seg;
use super::{ApiError, Client, Params};

/// `GET /nodes/{node}/storage` entries and `…/storage/{storage}/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StorageStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub content: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::flag",
        serialize_with = "de::ser_flag"
    )]
    pub shared: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /nodes/{node}/storage/{storage}/content` entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    pub volid: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub content: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u32"
    )]
    pub vmid: Option<u32>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Volume {
    /// Creation time (epoch seconds), 0 when PVE gave none.
    pub fn ctime(&self) -> i64 {
        self.extra.get("ctime").and_then(Value::as_i64).unwrap_or(0)
    }

    pub fn protected(&self) -> bool {
        self.extra.get("protected").is_some_and(de::truthy)
    }
}

fn storage_path(node: &str, storage: &str) -> String {
    format!("{}/storage/{}", nodes::path(node), seg(storage))
}

/// The path of one volume (`{volume}` is the whole volume ID, one percent-encoded segment).
pub fn volume_path(node: &str, storage: &str, volid: &str) -> String {
    format!("{}/content/{}", storage_path(node, storage), seg(volid))
}

/// `GET /nodes/{node}/storage`: the storages as this node sees them.
pub async fn list(client: &Client, node: &str) -> Result<Vec<StorageStatus>, ApiError> {
    client
        .get(&format!("{}/storage", nodes::path(node)), &Params::new())
        .await
        .map_err(nodes::unknown(node))
}

/// `GET /nodes/{node}/storage/{storage}/status`: an object of `type, content, enabled, active,
/// shared, total, used, avail`.
pub async fn status(
    client: &Client,
    node: &str,
    storage: &str,
) -> Result<Map<String, Value>, ApiError> {
    client
        .get(
            &format!("{}/status", storage_path(node, storage)),
            &Params::new(),
        )
        .await
        .map_err(nodes::unknown(node))
}

/// `GET /nodes/{node}/storage/{storage}/content`, optionally of one content type or one guest.
pub async fn content(
    client: &Client,
    node: &str,
    storage: &str,
    content: Option<&str>,
    vmid: Option<u32>,
) -> Result<Vec<Volume>, ApiError> {
    let params = Params::new().opt("content", content).opt("vmid", vmid);
    client
        .get(&format!("{}/content", storage_path(node, storage)), &params)
        .await
        .map_err(nodes::unknown(node))
}

/// `DELETE /nodes/{node}/storage/{storage}/content/{volume}`: a UPID (`imgdel`), or null.
pub async fn delete_volume(
    client: &Client,
    node: &str,
    storage: &str,
    volid: &str,
) -> Result<Value, ApiError> {
    client
        .delete(&volume_path(node, storage, volid), &Params::new())
        .await
}

/// Which backups to prune and by which rules (`prune-backups`, else the storage's own).
#[derive(Debug, Clone, Default)]
pub struct PruneFilter {
    pub rules: Option<String>,
    pub kind: Option<String>,
    pub vmid: Option<u32>,
}

impl PruneFilter {
    fn params(&self) -> Params {
        Params::new()
            .opt("prune-backups", self.rules.as_deref())
            .opt("type", self.kind.as_deref())
            .opt("vmid", self.vmid)
    }
}

fn prune_path(node: &str, storage: &str) -> String {
    format!("{}/prunebackups", storage_path(node, storage))
}

/// `GET …/prunebackups`: PVE's simulation, `[{volid, type, vmid, ctime, mark}]`.
pub async fn prune_plan(
    client: &Client,
    node: &str,
    storage: &str,
    filter: &PruneFilter,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    client
        .get(&prune_path(node, storage), &filter.params())
        .await
        .map_err(nodes::unknown(node))
}

/// `DELETE …/prunebackups`: removes what the simulation marks `remove` (a UPID).
pub async fn prune(
    client: &Client,
    node: &str,
    storage: &str,
    filter: &PruneFilter,
) -> Result<Value, ApiError> {
    client
        .delete(&prune_path(node, storage), &filter.params())
        .await
}

// ------------------------------------------------------------------ images and templates

/// The content types a file can be uploaded or downloaded as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Content {
    /// ISO and floppy images (`.iso`, `.img`).
    Iso,
    /// Container templates (`.tar`, `.tar.gz|xz|zst|bz2`).
    Vztmpl,
    /// Disk images and appliances to import (`.qcow2`, `.raw`, `.vmdk`, `.ova`).
    Import,
}

impl Content {
    pub fn as_str(self) -> &'static str {
        match self {
            Content::Iso => "iso",
            Content::Vztmpl => "vztmpl",
            Content::Import => "import",
        }
    }

    pub fn parse(text: &str) -> Option<Content> {
        match text {
            "iso" => Some(Content::Iso),
            "vztmpl" => Some(Content::Vztmpl),
            "import" => Some(Content::Import),
            _ => None,
        }
    }

    /// The content type a file name suggests: `.iso` an ISO, a tarball a container template,
    /// a disk image (`.qcow2`, `.raw`, `.vmdk`, `.img`) or an `.ova` something to import.
    pub fn guess(name: &str) -> Option<Content> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".iso") {
            Some(Content::Iso)
        } else if vztmpl_ext(&lower) {
            Some(Content::Vztmpl)
        } else if [".qcow2", ".raw", ".vmdk", ".img", ".ova"]
            .iter()
            .any(|e| lower.ends_with(e))
        {
            Some(Content::Import)
        } else {
            None
        }
    }

    /// Whether PVE takes a file of this name as this content (the extension checks of its
    /// upload and download-url endpoints: otherwise "wrong file extension").
    pub fn accepts(self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        let stem_ok = |ext_len: usize| name.len() > ext_len;
        match self {
            Content::Iso => [".iso", ".img"]
                .iter()
                .any(|e| lower.ends_with(e) && stem_ok(4)),
            Content::Vztmpl => vztmpl_ext(&lower),
            // Only a safe character set, and one of the import formats.
            Content::Import => {
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.+=_".contains(&b))
                    && [".ova", ".qcow2", ".raw", ".vmdk"]
                        .iter()
                        .any(|e| name.ends_with(e) && name.len() > e.len())
            }
        }
    }

    /// The extensions PVE takes for this content, for messages.
    pub fn extensions(self) -> &'static str {
        match self {
            Content::Iso => ".iso or .img",
            Content::Vztmpl => ".tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2",
            Content::Import => ".qcow2, .raw, .vmdk or .ova",
        }
    }
}

impl std::fmt::Display for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn vztmpl_ext(lower: &str) -> bool {
    [".tar", ".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2"]
        .iter()
        .any(|e| lower.ends_with(e) && lower.len() > e.len())
}

/// The name PVE stores an uploaded or downloaded file under (`normalize_content_filename`): the
/// last path component, every character but `a-zA-Z0-9_.-` replaced by `_`.
pub fn normalize_filename(name: &str) -> String {
    let name = name.trim_end_matches(['\n', '\r']);
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The volume ID a file of this content gets on a storage: `local:iso/debian.iso`.
pub fn file_volid(storage: &str, content: Content, name: &str) -> String {
    format!("{storage}:{}/{name}", content.as_str())
}

/// PVE's checksum algorithms and the length of their hex digests.
pub const CHECKSUM_ALGORITHMS: &[(&str, usize)] = &[
    ("md5", 32),
    ("sha1", 40),
    ("sha224", 56),
    ("sha256", 64),
    ("sha384", 96),
    ("sha512", 128),
];

/// A checksum PVE verifies after the transfer (`checksum-algorithm`, `checksum`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: String,
    pub hex: String,
}

impl Checksum {
    /// `ALGO:HEX`, the algorithm one of PVE's, the digest as long as the algorithm's.
    pub fn parse(text: &str) -> Result<Checksum, String> {
        let Some((algo, hex)) = text.trim().split_once(':') else {
            return Err(format!(
                "'{text}' is not ALGORITHM:HEX (e.g. sha256:9f86d0…)"
            ));
        };
        Checksum::new(&algo.to_ascii_lowercase(), hex.trim())
    }

    pub fn new(algorithm: &str, hex: &str) -> Result<Checksum, String> {
        let Some((_, len)) = CHECKSUM_ALGORITHMS.iter().find(|(a, _)| *a == algorithm) else {
            let names: Vec<&str> = CHECKSUM_ALGORITHMS.iter().map(|(a, _)| *a).collect();
            return Err(format!(
                "unknown checksum algorithm '{algorithm}': PVE knows {}",
                names.join(", ")
            ));
        };
        if hex.len() != *len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "a {algorithm} checksum is {len} hexadecimal digits, not '{hex}'"
            ));
        }
        Ok(Checksum {
            algorithm: algorithm.to_string(),
            hex: hex.to_ascii_lowercase(),
        })
    }

    /// The algorithm whose digests have this many hex digits.
    pub fn algorithm_for(hex_len: usize) -> Option<&'static str> {
        CHECKSUM_ALGORITHMS
            .iter()
            .find(|(_, l)| *l == hex_len)
            .map(|(a, _)| *a)
    }
}

/// What `POST …/download-url` takes.
#[derive(Debug, Clone)]
pub struct DownloadUrl {
    pub url: String,
    pub content: Content,
    pub filename: String,
    pub checksum: Option<Checksum>,
}

/// `POST /nodes/{node}/storage/{storage}/download-url`: the node fetches the file itself; a
/// UPID (`download`).
pub async fn download_url(
    client: &Client,
    node: &str,
    storage: &str,
    d: &DownloadUrl,
) -> Result<Value, ApiError> {
    let mut params = Params::new()
        .set("url", &d.url)
        .set("content", d.content)
        .set("filename", &d.filename);
    if let Some(c) = &d.checksum {
        params = params
            .set("checksum-algorithm", &c.algorithm)
            .set("checksum", &c.hex);
    }
    client
        .post(
            &format!("{}/download-url", storage_path(node, storage)),
            &params,
        )
        .await
        .map_err(nodes::unknown(node))
}

/// `GET …/content/{volume}`: `{path, size, used, format, notes?, protected?}` of one volume.
pub async fn volume_info(
    client: &Client,
    node: &str,
    storage: &str,
    volid: &str,
) -> Result<Map<String, Value>, ApiError> {
    client
        .get(&volume_path(node, storage, volid), &Params::new())
        .await
        .map_err(nodes::unknown(node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_name() {
        assert_eq!(Content::guess("debian-13.iso"), Some(Content::Iso));
        assert_eq!(Content::guess("alpine.tar.zst"), Some(Content::Vztmpl));
        assert_eq!(Content::guess("a.TAR.GZ"), Some(Content::Vztmpl));
        assert_eq!(Content::guess("noble.img"), Some(Content::Import));
        assert_eq!(Content::guess("debian.qcow2"), Some(Content::Import));
        assert_eq!(Content::guess("notes.txt"), None);
        assert!(Content::Iso.accepts("x.img"));
        assert!(!Content::Iso.accepts(".iso"));
        assert!(!Content::Import.accepts("noble.img"));
        assert!(!Content::Import.accepts("a b.qcow2"));
        assert!(Content::Import.accepts("debian-13-genericcloud-amd64.qcow2"));
        assert!(!Content::Vztmpl.accepts("x.zip"));
    }

    #[test]
    fn names_as_pve_stores_them() {
        assert_eq!(normalize_filename("/tmp/My ISO (1).iso"), "My_ISO__1_.iso");
        assert_eq!(normalize_filename("C:\\x\\d.iso"), "d.iso");
        assert_eq!(
            file_volid("local", Content::Import, "d.qcow2"),
            "local:import/d.qcow2"
        );
    }

    #[test]
    fn checksums() {
        let c = Checksum::parse(&format!("SHA256:{}", "AB".repeat(32))).unwrap();
        assert_eq!(c.algorithm, "sha256");
        assert_eq!(c.hex, "ab".repeat(32));
        assert!(Checksum::parse("sha256:abc")
            .unwrap_err()
            .contains("64 hexadecimal"));
        assert!(Checksum::parse("crc32:abcd")
            .unwrap_err()
            .contains("unknown"));
        assert!(Checksum::parse("abcd").is_err());
        assert_eq!(Checksum::algorithm_for(128), Some("sha512"));
    }
}
