//! `/pools`: resource pools, whose members are guests and storages. PVE 8.1+ addresses a pool by
//! the `poolid` parameter (`/pools/{poolid}` is deprecated, as nested pools have `/` in their ids).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::de::{self, Extra};
use super::{ApiError, Client, Params};

/// An entry of `GET /pools`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolEntry {
    pub poolid: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A member of a pool: a guest (`qemu`, `lxc`) or a storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
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
    pub storage: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One pool with its members (`GET /pools?poolid=`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pool {
    pub poolid: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub comment: Option<String>,
    #[serde(default)]
    pub members: Vec<Member>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /pools`.
pub async fn list(client: &Client) -> Result<Vec<PoolEntry>, ApiError> {
    client.get("/pools", &Params::new()).await
}

/// `GET /pools?poolid=…`: the pool and its members (PVE answers a list of the one pool).
pub async fn get(client: &Client, poolid: &str) -> Result<Pool, ApiError> {
    let mut list: Vec<Pool> = client
        .get("/pools", &Params::new().set("poolid", poolid))
        .await?;
    if list.is_empty() {
        return Err(ApiError::NotFound {
            message: format!("pool '{poolid}' does not exist"),
        });
    }
    Ok(list.remove(0))
}

/// `POST /pools`.
pub async fn create(client: &Client, poolid: &str, comment: Option<&str>) -> Result<(), ApiError> {
    let params = Params::new().set("poolid", poolid).opt("comment", comment);
    let _: Value = client.post("/pools", &params).await?;
    Ok(())
}

/// A change of a pool's members or comment (`PUT /pools`).
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub vms: Vec<u32>,
    pub storages: Vec<String>,
    /// Remove the members instead of adding them.
    pub delete: bool,
    /// Take guests out of the pool they are in.
    pub allow_move: bool,
    pub comment: Option<String>,
}

/// `PUT /pools`: add or remove members (all or nothing: PVE writes the change once).
pub async fn update(client: &Client, poolid: &str, c: &Change) -> Result<(), ApiError> {
    let vms: Vec<String> = c.vms.iter().map(u32::to_string).collect();
    let params = Params::new()
        .set("poolid", poolid)
        .opt("vms", (!vms.is_empty()).then(|| vms.join(",")))
        .opt(
            "storage",
            (!c.storages.is_empty()).then(|| c.storages.join(",")),
        )
        .flag_if("delete", c.delete)
        .flag_if("allow-move", c.allow_move)
        .opt("comment", c.comment.as_deref());
    let _: Value = client.put("/pools", &params).await?;
    Ok(())
}

/// `DELETE /pools?poolid=…` (PVE refuses a pool that still has members).
pub async fn delete(client: &Client, poolid: &str) -> Result<(), ApiError> {
    let _: Value = client
        .delete("/pools", &Params::new().set("poolid", poolid))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_of_both_kinds() {
        let p: Pool = serde_json::from_value(json!({
            "poolid": "web", "comment": "front",
            "members": [
                {"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1", "name": "web-1", "status": "running"},
                {"id": "storage/pve1/nfs", "type": "storage", "node": "pve1", "storage": "nfs"}
            ]
        }))
        .unwrap();
        assert_eq!(p.members[0].vmid, Some(100));
        assert_eq!(p.members[1].storage.as_deref(), Some("nfs"));
    }
}
