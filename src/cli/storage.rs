//! `storage`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::args::WaitArgs;

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum StorageCmd {
    /// Storages with usage; a shared storage is listed once
    #[command(visible_alias = "ls")]
    List {
        /// Storages as seen from this node
        #[arg(long)]
        node: Option<String>,
    },
    /// Usage of one storage: on each node that has it (a shared one once), or on --node
    Status {
        /// Storage ID, e.g. local-lvm
        storage: String,
        /// Only this node (default: every node that has the storage)
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
    /// Upload an ISO, a container template or a disk image to a storage, streamed, with progress
    Upload(UploadArgs),
    /// Have a node download a file from a URL onto a storage, with progress from the task log
    Download(DownloadArgs),
    /// PVE's appliance catalog (container templates); `templates download` fetches one
    Templates(TemplatesArgs),
    /// Delete volumes by volume ID (asks first, or --yes); refused while a guest uses one
    DeleteVolume(DeleteVolumeArgs),
}

// How the content type and checksum of a file are given.
#[derive(Args, Debug, Clone)]
pub struct TransferArgs {
    /// Content type (default: guessed from the file name: .iso → iso, .tar.* → vztmpl,
    /// .qcow2/.raw/.vmdk/.img/.ova → import)
    #[arg(long, value_parser = ["iso", "vztmpl", "import"])]
    pub content: Option<String>,
    /// Name to store it under (default: the file's own name)
    #[arg(long)]
    pub name: Option<String>,
    /// Checksum PVE verifies afterwards: ALGO:HEX (md5, sha1, sha224, sha256, sha384, sha512)
    #[arg(long, value_name = "ALGO:HEX", conflicts_with = "checksum_file")]
    pub checksum: Option<String>,
    /// A SHA256SUMS-style file (`HEX  NAME` lines, or BSD `SHA256 (NAME) = HEX`) to take the
    /// checksum from
    #[arg(long, value_name = "PATH")]
    pub checksum_file: Option<PathBuf>,
    /// Node to store it on (default: the storage's only node; any online node of a shared one)
    #[arg(long)]
    pub node: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct UploadArgs {
    /// Storage ID, e.g. local
    pub storage: String,
    /// The file to upload
    pub file: PathBuf,
    #[command(flatten)]
    pub transfer: TransferArgs,
    /// Upload even if a file of that name and size is there already (it is replaced)
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DownloadArgs {
    /// Storage ID, e.g. local
    pub storage: String,
    /// http(s) URL the node fetches the file from
    pub url: String,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

#[derive(Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TemplatesArgs {
    #[command(subcommand)]
    pub cmd: Option<TemplatesCmd>,
    /// Only this section: system or turnkeylinux
    #[arg(long)]
    pub section: Option<String>,
    /// Only templates whose name, OS or description contains this word
    #[arg(long, value_name = "WORD")]
    pub search: Option<String>,
    /// Node whose catalog to read (default: the profile's node, else the first online one)
    #[arg(long)]
    pub node: Option<String>,
}

#[derive(Subcommand, Debug, Clone)]
#[command(defer = true)]
pub enum TemplatesCmd {
    /// Download a template of the catalog onto a storage (PVE checks its checksum)
    Download(TemplateDownloadArgs),
}

#[derive(Args, Debug, Clone)]
pub struct TemplateDownloadArgs {
    /// Storage ID that holds container templates, e.g. local
    pub storage: String,
    /// The template, as `storage templates` lists it (e.g. debian-13-standard_13.1-2_amd64.tar.zst)
    pub template: String,
    /// Node to store it on (default: the storage's only node; any online node of a shared one)
    #[arg(long)]
    pub node: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct DeleteVolumeArgs {
    /// Volume IDs, e.g. local:iso/old.iso local-lvm:vm-100-disk-3
    #[arg(required = true)]
    pub volids: Vec<String>,
    /// Node of a node-local storage (default: every node that has it is searched)
    #[arg(long)]
    pub node: Option<String>,
    /// Do not ask
    #[arg(short, long)]
    pub yes: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}
