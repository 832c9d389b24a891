//! `/version` and `/cluster/…`: the server's version, the cluster's status, its resources (the one
//! request that locates every guest), the next free VMID and the scheduled backup jobs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::de::{self, Extra};
use super::guest::GuestKind;
use super::{ApiError, Client, Params};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    #[serde(default, deserialize_with = "de::opt_string")]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub release: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub repoid: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /version`.
pub async fn version(client: &Client) -> Result<Version, ApiError> {
    client.get("/version", &Params::new()).await
}

/// An entry of `GET /cluster/resources`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub status: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u32"
    )]
    pub vmid: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub tags: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub pool: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub lock: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub storage: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::flag",
        serialize_with = "de::ser_flag"
    )]
    pub template: bool,
    #[serde(
        default,
        deserialize_with = "de::flag",
        serialize_with = "de::ser_flag",
        skip_serializing_if = "de::is_false"
    )]
    pub shared: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Resource {
    /// The tags as a list (PVE separates them with `;`, older versions also `,` or spaces).
    pub fn tag_list(&self) -> Vec<&str> {
        self.tags
            .as_deref()
            .unwrap_or("")
            .split([';', ',', ' '])
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// The guest kind of a `qemu` or `lxc` entry.
    pub fn guest_kind(&self) -> Option<GuestKind> {
        GuestKind::from_type(&self.kind)
    }

    /// A numeric field as PVE sent it (`maxmem`, `mem`, `cpu`, `maxcpu`, `diskread`…).
    pub fn number(&self, key: &str) -> Option<f64> {
        self.extra.get(key).and_then(de::number)
    }

    /// The HA state of an HA-managed guest (`started`, `stopped`…); `None` when HA does not
    /// manage it.
    pub fn ha_state(&self) -> Option<&str> {
        self.extra
            .get("hastate")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// A storage entry's content types (`images,rootdir,backup`), as a list.
    pub fn content_types(&self) -> Vec<&str> {
        self.extra
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect()
    }
}

/// The `type` filter of `/cluster/resources` (pools only appear without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceType {
    Vm,
    Node,
    Storage,
    Sdn,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Vm => "vm",
            ResourceType::Node => "node",
            ResourceType::Storage => "storage",
            ResourceType::Sdn => "sdn",
        }
    }
}

/// `GET /cluster/resources`, as PVE sent the entries (each type has its own fields).
pub async fn resources_raw(
    client: &Client,
    kind: Option<ResourceType>,
) -> Result<Vec<Value>, ApiError> {
    let params = Params::new().opt("type", kind.map(ResourceType::as_str));
    client.get("/cluster/resources", &params).await
}

/// `GET /cluster/resources`, typed.
pub async fn resources(
    client: &Client,
    kind: Option<ResourceType>,
) -> Result<Vec<Resource>, ApiError> {
    let params = Params::new().opt("type", kind.map(ResourceType::as_str));
    client.get("/cluster/resources", &params).await
}

/// Every VM and container of the cluster with its node, name and state: one request.
pub async fn guests(client: &Client) -> Result<Vec<Resource>, ApiError> {
    let all = resources(client, Some(ResourceType::Vm)).await?;
    Ok(all
        .into_iter()
        .filter(|r| r.guest_kind().is_some() && r.vmid.is_some())
        .collect())
}

/// An entry of `GET /cluster/status` (a `cluster` or a `node` line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterStatusEntry {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /cluster/status`.
pub async fn status(client: &Client) -> Result<Vec<ClusterStatusEntry>, ApiError> {
    client.get("/cluster/status", &Params::new()).await
}

/// The next free VMID (`GET /cluster/nextid`, which PVE answers as a string).
pub async fn next_id(client: &Client) -> Result<u32, ApiError> {
    let v: Value = client.get("/cluster/nextid", &Params::new()).await?;
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64().and_then(|n| u32::try_from(n).ok()))
        .ok_or_else(|| ApiError::Decode {
            context: "/cluster/nextid".into(),
            detail: format!("PVE answered {v} for the next free VMID"),
        })
}

/// `GET /cluster/backup`: the scheduled backup jobs, as PVE sends them (`prune-backups`,
/// `fleecing` and `performance` come decoded as objects).
pub async fn backup_jobs(client: &Client) -> Result<Vec<Map<String, Value>>, ApiError> {
    client.get("/cluster/backup", &Params::new()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_decodes_leniently() {
        let r: Resource = serde_json::from_value(serde_json::json!({
            "id": "qemu/100", "type": "qemu", "vmid": "100", "template": true, "tags": "a;b", "maxmem": 1
        }))
        .unwrap();
        assert_eq!(r.vmid, Some(100));
        assert!(r.template);
        assert_eq!(r.tag_list(), vec!["a", "b"]);
        assert_eq!(r.guest_kind(), Some(GuestKind::Qemu));
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["maxmem"], 1);
        assert_eq!(back["template"], 1);
    }
}
