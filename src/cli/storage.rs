//! `storage`.

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum StorageCmd {
    /// Storages with usage; a shared storage is listed once
    #[command(visible_alias = "ls")]
    List {
        /// Storages as seen from this node
        #[arg(long)]
        node: Option<String>,
    },
    /// Usage of one storage
    Status {
        /// Storage ID, e.g. local-lvm
        storage: String,
        /// Node to ask (default: a node that has the storage)
        #[arg(long)]
        node: Option<String>,
    },
    /// Volumes on a storage
    Content {
        /// Storage ID, e.g. local
        storage: String,
        /// Only this content type (images, rootdir, vztmpl, iso, backup, snippets, import)
        #[arg(long)]
        content: Option<String>,
        /// Only volumes of this guest (VMID or name)
        #[arg(long, value_name = "GUEST")]
        vmid: Option<String>,
        /// Node to ask (default: every node that has the storage; one for a shared storage)
        #[arg(long)]
        node: Option<String>,
    },
}
