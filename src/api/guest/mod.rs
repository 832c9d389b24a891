//! `/nodes/{node}/qemu|lxc/{vmid}/…`: VMs and containers. QEMU and LXC differ by a value
//! (`GuestKind`), not by a copy of the code: every endpoint here takes the kind with the guest.

pub mod agent;
pub mod cloudinit;
pub mod compare;
pub mod config;
pub mod console;
pub mod disk;
pub mod keys;
pub mod network;
pub mod power;
pub mod provision;
pub mod snapshot;

use std::fmt;

use super::nodes;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestKind {
    Qemu,
    Lxc,
}

impl GuestKind {
    /// The path segment and the `type` of `/cluster/resources`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestKind::Qemu => "qemu",
            GuestKind::Lxc => "lxc",
        }
    }

    pub fn from_type(t: &str) -> Option<Self> {
        match t {
            "qemu" => Some(GuestKind::Qemu),
            "lxc" => Some(GuestKind::Lxc),
            _ => None,
        }
    }

    /// The other kind.
    pub fn other(self) -> Self {
        match self {
            GuestKind::Qemu => GuestKind::Lxc,
            GuestKind::Lxc => GuestKind::Qemu,
        }
    }

    /// `/nodes/{node}/{qemu|lxc}` (where guests are created).
    pub fn collection(self, node: &str) -> String {
        format!("{}/{}", nodes::path(node), self.as_str())
    }

    /// `/nodes/{node}/{qemu|lxc}/{vmid}`.
    pub fn path(self, node: &str, vmid: u32) -> String {
        format!("{}/{vmid}", self.collection(node))
    }
}

impl fmt::Display for GuestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a guest lives: what every guest endpoint needs.
pub trait Located {
    fn kind(&self) -> GuestKind;
    fn node(&self) -> &str;
    fn vmid(&self) -> u32;

    /// `/nodes/{node}/{qemu|lxc}/{vmid}`.
    fn path(&self) -> String {
        self.kind().path(self.node(), self.vmid())
    }
}

/// A guest's address, for callers that have nothing richer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestRef {
    pub kind: GuestKind,
    pub node: String,
    pub vmid: u32,
}

impl Located for GuestRef {
    fn kind(&self) -> GuestKind {
        self.kind
    }
    fn node(&self) -> &str {
        &self.node
    }
    fn vmid(&self) -> u32 {
        self.vmid
    }
}
