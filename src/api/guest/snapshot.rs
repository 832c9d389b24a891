//! `…/snapshot`: list, take, roll back to and delete snapshots.

use serde_json::Value;

use super::super::params::seg;
use super::super::{ApiError, Client, Params};
use super::Located;

/// The name of the pseudo-entry for the current state in PVE's snapshot list.
pub const CURRENT: &str = "current";

/// `GET …/snapshot`: `[{name, description, snaptime?, vmstate?, parent?}]` plus the pseudo-entry
/// `current` ("You are here!").
pub async fn list(client: &Client, g: &impl Located) -> Result<Vec<Value>, ApiError> {
    client
        .get(&format!("{}/snapshot", g.path()), &Params::new())
        .await
}

/// `POST …/snapshot`: a UPID.
pub async fn create(
    client: &Client,
    g: &impl Located,
    name: &str,
    vmstate: bool,
    description: Option<&str>,
) -> Result<Value, ApiError> {
    let params = Params::new()
        .set("snapname", name)
        .flag_if("vmstate", vmstate)
        .opt("description", description);
    client
        .post(&format!("{}/snapshot", g.path()), &params)
        .await
}

/// `POST …/snapshot/{name}/rollback`: a UPID.
pub async fn rollback(
    client: &Client,
    g: &impl Located,
    name: &str,
    start: bool,
) -> Result<Value, ApiError> {
    client
        .post(
            &format!("{}/snapshot/{}/rollback", g.path(), seg(name)),
            &Params::new().flag_if("start", start),
        )
        .await
}

/// `DELETE …/snapshot/{name}`: a UPID.
pub async fn delete(
    client: &Client,
    g: &impl Located,
    name: &str,
    force: bool,
) -> Result<Value, ApiError> {
    client
        .delete(
            &format!("{}/snapshot/{}", g.path(), seg(name)),
            &Params::new().flag_if("force", force),
        )
        .await
}
