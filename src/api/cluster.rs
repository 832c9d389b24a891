//! `/version` and `/cluster/…`: the server's version, the cluster's status, its resources (the one
//! request that locates every guest), the next free VMID and the scheduled backup jobs.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::de::{self, Extra};
use super::guest::GuestKind;
use super::{ApiError, Client, Params};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub version: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub release: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub repoid: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /version`.
pub async fn version(client: &Client) -> Result<Version, ApiError> {
    client.get("/version", &Params::new()).await
}

/// An entry of `GET /cluster/resources`: the fields pvectl looks at, decoded, and the entry as PVE
/// sent it, kept raw (a cluster of thousands of guests is decoded only as far as it is used, and
/// written back out, with `-o json`, as it came).
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    pub kind: String,
    pub node: Option<String>,
    pub status: Option<String>,
    pub name: Option<String>,
    pub vmid: Option<u32>,
    pub tags: Option<String>,
    pub pool: Option<String>,
    pub lock: Option<String>,
    pub storage: Option<String>,
    pub template: bool,
    pub shared: bool,
    raw: Box<RawValue>,
}

/// The fields of an entry pvectl reads; the others are skipped while decoding.
#[derive(Deserialize)]
struct Probe {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    node: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_u32")]
    vmid: Option<u32>,
    #[serde(default, deserialize_with = "de::opt_string")]
    tags: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pool: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    lock: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    storage: Option<String>,
    #[serde(default, deserialize_with = "de::flag")]
    template: bool,
    #[serde(default, deserialize_with = "de::flag")]
    shared: bool,
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let p: Probe = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        Ok(Resource {
            id: p.id,
            kind: p.kind,
            node: p.node,
            status: p.status,
            name: p.name,
            vmid: p.vmid,
            tags: p.tags,
            pool: p.pool,
            lock: p.lock,
            storage: p.storage,
            template: p.template,
            shared: p.shared,
            raw,
        })
    }
}

impl Serialize for Resource {
    /// The entry as PVE sent it (its tokens streamed into the serializer: pretty JSON stays pretty).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut d = serde_json::Deserializer::from_str(self.raw.get());
        serde_transcode::transcode(&mut d, s)
    }
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
        self.field(key).as_ref().and_then(de::number)
    }

    /// The HA state of an HA-managed guest (`started`, `stopped`…); `None` when HA does not
    /// manage it.
    pub fn ha_state(&self) -> Option<String> {
        self.field("hastate")
            .and_then(|v| v.as_str().map(str::to_string))
            .filter(|s| !s.is_empty())
    }

    /// Only these fields of the entry, as PVE sent them (a row of a list).
    pub fn pick(&self, keys: &[&str]) -> Map<String, Value> {
        de::pick(self.raw.get(), keys)
    }

    /// Any field of the entry (decoded when asked for: the usual ones are fields of `Resource`).
    pub fn field(&self, key: &str) -> Option<Value> {
        let map: Map<String, Value> = serde_json::from_str(self.raw.get()).ok()?;
        map.get(key).cloned()
    }

    /// Whether a storage entry takes this content type.
    pub fn holds(&self, content: &str) -> bool {
        self.content_types().iter().any(|c| c == content)
    }

    /// A storage entry's content types (`images,rootdir,backup`), as a list.
    pub fn content_types(&self) -> Vec<String> {
        self.field("content")
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
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

/// `GET /cluster/tasks`: the recent tasks of every node (without `Sys.Audit` on `/`, only the
/// caller's own), newest first.
pub async fn tasks(client: &Client) -> Result<Vec<super::tasks::TaskEntry>, ApiError> {
    client.get("/cluster/tasks", &Params::new()).await
}

/// An entry of `GET /cluster/status` (a `cluster` or a `node` line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterStatusEntry {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
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
        let r: Resource = serde_json::from_str(
            r#"{"id": "qemu/100", "type": "qemu", "vmid": "100", "template": true, "tags": "a;b", "maxmem": 1}"#,
        )
        .unwrap();
        assert_eq!(r.vmid, Some(100));
        assert!(r.template);
        assert_eq!(r.tag_list(), vec!["a", "b"]);
        assert_eq!(r.guest_kind(), Some(GuestKind::Qemu));
        // Written back as PVE sent it.
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["maxmem"], 1);
        assert_eq!(back["template"], true);
        assert_eq!(r.field("maxmem"), Some(serde_json::json!(1)));
    }
}
