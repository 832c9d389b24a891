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
    #[serde(default, deserialize_with = "de::opt_string")]
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
