//! `/nodes` and `/nodes/{node}/status` (and rebooting or shutting a node down through it), the
//! node's services and pending package updates, and how PVE answers a node name it does not know.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::de::{self, Extra};
use super::params::seg;
use super::{ApiError, Client, Params};

/// An entry of `GET /nodes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeEntry {
    pub node: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl NodeEntry {
    pub fn online(&self) -> bool {
        self.status.as_deref() == Some("online")
    }
}

/// `GET /nodes`.
pub async fn list(client: &Client) -> Result<Vec<NodeEntry>, ApiError> {
    client.get("/nodes", &Params::new()).await
}

/// `GET /nodes/{node}/status`: an open-ended object (`cpu`, `memory{…}`, `rootfs{…}`, `cpuinfo{…}`…).
pub async fn status(client: &Client, node: &str) -> Result<Value, ApiError> {
    client
        .get(&format!("/nodes/{}/status", seg(node)), &Params::new())
        .await
        .map_err(unknown(node))
}

/// What `POST /nodes/{node}/status` does to a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodePower {
    Reboot,
    Shutdown,
}

impl NodePower {
    pub fn as_str(self) -> &'static str {
        match self {
            NodePower::Reboot => "reboot",
            NodePower::Shutdown => "shutdown",
        }
    }
}

/// `POST /nodes/{node}/status` with `command=reboot|shutdown`: PVE answers at once (null) and
/// the node goes down after.
pub async fn power(client: &Client, node: &str, what: NodePower) -> Result<(), ApiError> {
    let _: Value = client
        .post(
            &format!("{}/status", path(node)),
            &Params::new().set("command", what.as_str()),
        )
        .await
        .map_err(unknown(node))?;
    Ok(())
}

/// `GET /nodes/{node}/services`: `service`, `name`, `desc`, `state`, `active-state`,
/// `unit-state` of each of PVE's services.
pub async fn services(client: &Client, node: &str) -> Result<Vec<Value>, ApiError> {
    client
        .get(&format!("{}/services", path(node)), &Params::new())
        .await
        .map_err(unknown(node))
}

/// `GET /nodes/{node}/apt/update`: the packages with an update, as the last `apt update` saw
/// them (`Package`, `OldVersion`, `Version`, `Origin`, `Priority`, `Title`…).
pub async fn updates(client: &Client, node: &str) -> Result<Vec<Value>, ApiError> {
    client
        .get(&format!("{}/apt/update", path(node)), &Params::new())
        .await
        .map_err(unknown(node))
}

/// `POST /nodes/{node}/apt/update`: refresh the package index (`apt update`), a task (`aptupdate`).
pub async fn refresh_updates(client: &Client, node: &str) -> Result<Value, ApiError> {
    client
        .post(&format!("{}/apt/update", path(node)), &Params::new())
        .await
        .map_err(unknown(node))
}

/// `/nodes/{node}` as a path prefix.
pub(crate) fn path(node: &str) -> String {
    format!("/nodes/{}", seg(node))
}

/// PVE answers a node name it does not know with "hostname lookup '…' failed" (pveproxy cannot
/// forward the request): that is `NoSuchNode`. Every endpoint under `/nodes/{node}` maps its
/// errors through this.
pub(crate) fn unknown(node: &str) -> impl FnOnce(ApiError) -> ApiError + '_ {
    move |e| match &e {
        ApiError::NotFound { message } if message.contains("hostname lookup") => {
            ApiError::NoSuchNode {
                node: node.to_string(),
            }
        }
        _ => e,
    }
}
