//! Creating and removing guests: create, clone, migrate, delete, template.

use serde_json::Value;

use super::super::{tasks, ApiError, Client, Params};
use super::{GuestKind, Located};

impl GuestKind {
    /// The key of a guest's name: `name` for VMs, `hostname` for containers.
    pub fn name_key(self) -> &'static str {
        match self {
            GuestKind::Qemu => "name",
            GuestKind::Lxc => "hostname",
        }
    }
}

/// `POST /nodes/{node}/{qemu|lxc}`: `vmid`, configuration keys and creation options
/// (`ostemplate`, `storage`, `pool`, `start`…); a UPID (`qmcreate`, `vzcreate`, or a restore).
pub async fn create(
    client: &Client,
    kind: GuestKind,
    node: &str,
    params: &Params,
) -> Result<Value, ApiError> {
    client
        .post(&kind.collection(node), params)
        .await
        .map_err(super::super::nodes::unknown(node))
}

/// The options of `POST …/clone`.
#[derive(Debug, Clone, Default)]
pub struct CloneOptions {
    pub newid: u32,
    pub name: Option<String>,
    pub description: Option<String>,
    pub full: bool,
    pub target: Option<String>,
    pub storage: Option<String>,
    pub snapname: Option<String>,
    pub pool: Option<String>,
    /// VMs only: raw, qcow2 or vmdk.
    pub format: Option<String>,
    pub bwlimit: Option<u64>,
}

/// `POST …/clone`: a UPID.
pub async fn clone(client: &Client, g: &impl Located, o: &CloneOptions) -> Result<Value, ApiError> {
    let params = Params::new()
        .set("newid", o.newid)
        .opt(g.kind().name_key(), o.name.as_deref())
        .opt("description", o.description.as_deref())
        .flag_if("full", o.full)
        .opt("target", o.target.as_deref())
        .opt("storage", o.storage.as_deref())
        .opt("snapname", o.snapname.as_deref())
        .opt("pool", o.pool.as_deref())
        .opt("format", o.format.as_deref())
        .opt("bwlimit", o.bwlimit);
    client.post(&format!("{}/clone", g.path()), &params).await
}

/// The options of `POST …/migrate`.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    pub target: String,
    pub online: bool,
    /// VMs only.
    pub with_local_disks: bool,
    /// A storage ID, or `SRC:DST,…`.
    pub target_storage: Option<String>,
    /// Containers only: shut down, move, start.
    pub restart: bool,
    /// Containers only: the shutdown timeout of restart mode.
    pub timeout: Option<u32>,
    pub bwlimit: Option<u64>,
}

/// `POST …/migrate`: a UPID (`qmigrate`, `vzmigrate`, or `hamigrate`).
pub async fn migrate(
    client: &Client,
    g: &impl Located,
    o: &MigrateOptions,
) -> Result<Value, ApiError> {
    // QEMU spells it `targetstorage`, LXC `target-storage`.
    let storage_key = match g.kind() {
        GuestKind::Qemu => "targetstorage",
        GuestKind::Lxc => "target-storage",
    };
    let params = Params::new()
        .set("target", &o.target)
        .flag_if("online", o.online)
        .flag_if("with-local-disks", o.with_local_disks)
        .opt(storage_key, o.target_storage.as_deref())
        .flag_if("restart", o.restart)
        .opt("timeout", o.timeout)
        .opt("bwlimit", o.bwlimit);
    client.post(&format!("{}/migrate", g.path()), &params).await
}

/// `DELETE /nodes/{node}/{qemu|lxc}/{vmid}`: a UPID (`qmdestroy`, `vzdestroy`).
pub async fn delete(
    client: &Client,
    g: &impl Located,
    purge: bool,
    destroy_unreferenced_disks: bool,
) -> Result<Value, ApiError> {
    let params = Params::new()
        .flag_if("purge", purge)
        .flag_if("destroy-unreferenced-disks", destroy_unreferenced_disks);
    client.delete(&g.path(), &params).await
}

/// `POST …/template`: a UPID for a VM. For a container PVE answers null although it starts a
/// `vztemplate` task: that task's UPID is looked up (null if it cannot be found).
pub async fn template(client: &Client, g: &impl Located) -> Result<Value, ApiError> {
    let answer: Value = client
        .post(&format!("{}/template", g.path()), &Params::new())
        .await?;
    if g.kind() == GuestKind::Lxc && answer.is_null() {
        // A container becomes a template once, so the newest such task is the one just started.
        return Ok(tasks::newest_of(client, g.node(), g.vmid(), "vztemplate")
            .await
            .ok()
            .flatten()
            .map(|u| Value::String(u.to_string()))
            .unwrap_or(Value::Null));
    }
    Ok(answer)
}
