//! QEMU and LXC differ by a value, not by a copy of the code.

use std::fmt;

use super::params::seg;

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

    /// The noun with its article: "a VM" or "a container".
    pub fn a_noun(self) -> &'static str {
        match self {
            GuestKind::Qemu => "a VM",
            GuestKind::Lxc => "a container",
        }
    }

    /// The noun a user reads: "VM" or "container".
    pub fn noun(self) -> &'static str {
        match self {
            GuestKind::Qemu => "VM",
            GuestKind::Lxc => "container",
        }
    }

    /// The pvectl noun for this kind.
    pub fn command(self) -> &'static str {
        match self {
            GuestKind::Qemu => "vm",
            GuestKind::Lxc => "ct",
        }
    }

    /// `/nodes/{node}/{qemu|lxc}/{vmid}`.
    pub fn path(self, node: &str, vmid: u32) -> String {
        format!("/nodes/{}/{}/{vmid}", seg(node), self.as_str())
    }
}

impl fmt::Display for GuestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
