//! `api`: raw access like pvesh.

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum ApiCmd {
    /// GET a path, e.g. `pvectl api get /nodes/pve1/qemu full=1`
    Get(ApiArgs),
    /// POST to a path
    Post(ApiArgs),
    /// PUT to a path
    Put(ApiArgs),
    /// DELETE a path
    Delete(ApiArgs),
}

#[derive(Args, Debug)]
pub struct ApiArgs {
    /// Path under /api2/json, e.g. /cluster/resources
    pub path: String,
    /// Parameters as KEY=VALUE (repeat a key for arrays)
    pub params: Vec<String>,
}
