//! What belongs to a guest outside its configuration file: its pool (`/pools`), its HA resource
//! (`/cluster/ha/resources`) and its firewall options (`…/{vmid}/firewall/options`).

use serde_json::{Map, Value};

use super::super::{ApiError, Client, Params};
use super::{GuestKind, Located};

/// The HA resource id of a guest: `vm:100` or `ct:101`.
pub fn ha_sid(kind: GuestKind, vmid: u32) -> String {
    match kind {
        GuestKind::Qemu => format!("vm:{vmid}"),
        GuestKind::Lxc => format!("ct:{vmid}"),
    }
}

/// Fields of an HA resource entry that are no setting of it.
pub const HA_READ_ONLY: &[&str] = &["sid", "type", "digest", "errors"];

/// `GET /cluster/ha/resources`: one object per resource (`sid`, `type`, `state`, `max_restart`,
/// `max_relocate`, `failback`, `comment`, `group` before PVE 9, `digest`).
pub async fn ha_resources(client: &Client) -> Result<Vec<Map<String, Value>>, ApiError> {
    client.get("/cluster/ha/resources", &Params::new()).await
}

/// `POST /cluster/ha/resources`: put a guest under HA with these settings (synchronous: null).
pub async fn ha_add(
    client: &Client,
    sid: &str,
    settings: &[(String, String)],
) -> Result<(), ApiError> {
    let mut params = Params::new().set("sid", sid);
    for (k, v) in settings {
        params.push(k, v);
    }
    let _: Value = client.post("/cluster/ha/resources", &params).await?;
    Ok(())
}

/// `PUT /cluster/ha/resources/{sid}`: change some settings, clear others (`delete`).
pub async fn ha_update(
    client: &Client,
    sid: &str,
    set: &[(String, String)],
    delete: &[String],
) -> Result<(), ApiError> {
    let mut params = Params::new();
    for (k, v) in set {
        params.push(k, v);
    }
    if !delete.is_empty() {
        params.push("delete", delete.join(","));
    }
    let path = format!("/cluster/ha/resources/{}", super::super::seg(sid));
    let _: Value = client.put(&path, &params).await?;
    Ok(())
}

/// `GET /pools`: the pool ids.
pub async fn pool_ids(client: &Client) -> Result<Vec<String>, ApiError> {
    let pools: Vec<Map<String, Value>> = client.get("/pools", &Params::new()).await?;
    Ok(pools
        .iter()
        .filter_map(|p| p.get("poolid").and_then(Value::as_str).map(str::to_string))
        .collect())
}

/// `PUT /pools`: make a guest a member of `pool`; `allow-move` takes it out of the pool it is in.
pub async fn pool_join(
    client: &Client,
    pool: &str,
    vmid: u32,
    from_another: bool,
) -> Result<(), ApiError> {
    let params = Params::new()
        .set("poolid", pool)
        .set("vms", vmid)
        .flag_if("allow-move", from_another);
    let _: Value = client.put("/pools", &params).await?;
    Ok(())
}

/// `PUT /pools` with `delete`: take a guest out of `pool`.
pub async fn pool_leave(client: &Client, pool: &str, vmid: u32) -> Result<(), ApiError> {
    let params = Params::new()
        .set("poolid", pool)
        .set("vms", vmid)
        .flag("delete", true);
    let _: Value = client.put("/pools", &params).await?;
    Ok(())
}

/// `GET …/firewall/options` of a guest (with its `digest`).
pub async fn firewall_options(
    client: &Client,
    g: &impl Located,
) -> Result<Map<String, Value>, ApiError> {
    client
        .get(&format!("{}/firewall/options", g.path()), &Params::new())
        .await
}

/// `PUT …/firewall/options` of a guest: set some options, clear others, with the digest guard.
pub async fn set_firewall_options(
    client: &Client,
    g: &impl Located,
    set: &[(String, String)],
    delete: &[String],
    digest: Option<&str>,
) -> Result<(), ApiError> {
    let mut params = Params::new();
    for (k, v) in set {
        params.push(k, v);
    }
    if !delete.is_empty() {
        params.push("delete", delete.join(","));
    }
    let params = params.opt("digest", digest);
    let _: Value = client
        .put(&format!("{}/firewall/options", g.path()), &params)
        .await?;
    Ok(())
}
