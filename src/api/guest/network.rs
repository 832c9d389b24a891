//! A guest's network interfaces and addresses as PVE reports them: the QEMU guest agent's
//! `network-get-interfaces` (in `agent`), a container's `…/lxc/{vmid}/interfaces`, and the static
//! addresses and MACs of the configuration (`ipconfigN` for cloud-init, `netN` of containers).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::super::de::{self, Extra};
use super::super::propstring::PropString;
use super::super::{ApiError, Client, Params};
use super::config::Config;
use super::{GuestKind, Located};

/// One interface, in the shape both the agent and the container endpoint use.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interface {
    #[serde(default)]
    pub name: String,
    #[serde(
        rename = "hardware-address",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub mac: Option<String>,
    #[serde(rename = "ip-addresses", default, deserialize_with = "entries")]
    pub addresses: Vec<IpEntry>,
    /// Whatever else PVE sent (the agent's `statistics`, a container's `hwaddr`, `inet`…).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One address of an interface.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IpEntry {
    #[serde(
        rename = "ip-address",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub address: Option<String>,
    /// `ipv4`/`ipv6` from the agent, `inet`/`inet6` from a container.
    #[serde(
        rename = "ip-address-type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub family: Option<String>,
    /// The agent sends a number, a container's endpoint may send a string.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u32"
    )]
    pub prefix: Option<u32>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl IpEntry {
    /// The address, parsed (an agent may report garbage; that is no address).
    pub fn ip(&self) -> Option<IpAddr> {
        let text = self.address.as_deref()?.trim();
        // Link-local IPv6 may carry a zone (`fe80::1%eth0`).
        text.split('%').next()?.parse().ok()
    }

    fn new(ip: IpAddr, prefix: Option<u32>) -> Self {
        IpEntry {
            address: Some(ip.to_string()),
            family: Some(if ip.is_ipv4() { "ipv4" } else { "ipv6" }.into()),
            prefix,
            extra: Extra::new(),
        }
    }
}

/// `ip-addresses` may be missing or null (an interface without addresses).
fn entries<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpEntry>, D::Error> {
    Ok(Option::<Vec<IpEntry>>::deserialize(d)?.unwrap_or_default())
}

/// `GET …/lxc/{vmid}/interfaces`: a running container's interfaces (`ip a` in its network
/// namespace). PVE answers null for a container that is not running: `None`.
pub async fn lxc_interfaces(
    client: &Client,
    g: &impl Located,
) -> Result<Option<Vec<Interface>>, ApiError> {
    let v: Option<Vec<Interface>> = client
        .get(&format!("{}/interfaces", g.path()), &Params::new())
        .await?;
    Ok(v)
}

/// A network device of the configuration: `netN`'s MAC (and a container's interface name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nic {
    pub index: u32,
    pub mac: Option<String>,
    /// A container's `name=` (eth0); VMs name their interfaces inside the guest.
    pub name: Option<String>,
}

fn key_index(key: &str, prefix: &str) -> Option<u32> {
    let n = key.strip_prefix(prefix)?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

fn is_mac(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The configuration's `netN`, by index. A VM's MAC is the value of its model key
/// (`virtio=BC:24:11:…`) or `macaddr`; a container's is `hwaddr`.
pub fn nics(kind: GuestKind, cfg: &Config) -> Vec<Nic> {
    let mut out: Vec<Nic> = cfg
        .0
        .iter()
        .filter_map(|(k, v)| {
            let index = key_index(k, "net")?;
            let ps = PropString::parse(v.as_str()?, None).ok()?;
            let mac = match kind {
                GuestKind::Lxc => ps.get("hwaddr").map(str::to_string),
                GuestKind::Qemu => ps
                    .get("macaddr")
                    .or_else(|| ps.iter().map(|(_, v)| v).find(|v| is_mac(v)))
                    .map(str::to_string),
            };
            Some(Nic {
                index,
                mac,
                name: ps.get("name").map(str::to_string),
            })
        })
        .collect();
    out.sort_by_key(|n| n.index);
    out
}

/// One static address of the configuration: `ip=`/`ip6=` with a prefix (`dhcp`, `auto` and
/// `manual` are no address).
fn static_entries(ps: &PropString) -> Vec<IpEntry> {
    ["ip", "ip6"]
        .iter()
        .filter_map(|key| {
            let (addr, prefix) = ps.get(key)?.split_once('/')?;
            let ip: IpAddr = addr.trim().parse().ok()?;
            Some(IpEntry::new(ip, prefix.trim().parse().ok()))
        })
        .collect()
}

/// The static addresses the configuration gives the guest, as interfaces: a VM's cloud-init
/// `ipconfigN` (named after its `netN`, with that MAC), a container's `netN` `ip=`/`ip6=`.
pub fn static_interfaces(kind: GuestKind, cfg: &Config) -> Vec<Interface> {
    let nics = nics(kind, cfg);
    let prefix = match kind {
        GuestKind::Qemu => "ipconfig",
        GuestKind::Lxc => "net",
    };
    let mut found: Vec<(u32, Interface)> = cfg
        .0
        .iter()
        .filter_map(|(k, v)| {
            let index = key_index(k, prefix)?;
            let ps = PropString::parse(v.as_str()?, None).ok()?;
            let addresses = static_entries(&ps);
            if addresses.is_empty() {
                return None;
            }
            let nic = nics.iter().find(|n| n.index == index);
            Some((
                index,
                Interface {
                    name: nic
                        .and_then(|n| n.name.clone())
                        .unwrap_or_else(|| format!("net{index}")),
                    mac: nic.and_then(|n| n.mac.clone()),
                    addresses,
                    extra: Extra::new(),
                },
            ))
        })
        .collect();
    found.sort_by_key(|(i, _)| *i);
    found.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(v: serde_json::Value) -> Config {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn macs_of_both_kinds() {
        let vm = config(json!({
            "net0": "virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1",
            "net1": "e1000=bc:24:11:00:00:02,bridge=vmbr1",
            "net10": "model=virtio,macaddr=BC:24:11:00:00:0A,bridge=vmbr0",
            "name": "web"
        }));
        let n = nics(GuestKind::Qemu, &vm);
        assert_eq!(
            n.iter()
                .map(|n| (n.index, n.mac.clone()))
                .collect::<Vec<_>>(),
            vec![
                (0, Some("BC:24:11:2A:3B:4C".into())),
                (1, Some("bc:24:11:00:00:02".into())),
                (10, Some("BC:24:11:00:00:0A".into())),
            ]
        );
        let ct = config(json!({"net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:07,ip=dhcp"}));
        assert_eq!(
            nics(GuestKind::Lxc, &ct),
            vec![Nic {
                index: 0,
                mac: Some("BC:24:11:00:00:07".into()),
                name: Some("eth0".into())
            }]
        );
    }

    #[test]
    fn static_addresses_skip_dhcp_and_auto() {
        let vm = config(json!({
            "net0": "virtio=BC:24:11:2A:3B:4C,bridge=vmbr0",
            "ipconfig0": "ip=192.0.2.10/24,gw=192.0.2.1,ip6=2001:db8::10/64",
            "ipconfig1": "ip=dhcp,ip6=auto"
        }));
        let s = static_interfaces(GuestKind::Qemu, &vm);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "net0");
        assert_eq!(s[0].mac.as_deref(), Some("BC:24:11:2A:3B:4C"));
        let addrs: Vec<String> = s[0]
            .addresses
            .iter()
            .map(|a| format!("{}/{}", a.address.clone().unwrap(), a.prefix.unwrap()))
            .collect();
        assert_eq!(addrs, vec!["192.0.2.10/24", "2001:db8::10/64"]);
        let ct = config(json!({"net0": "name=eth0,bridge=vmbr0,ip=10.0.0.5/8"}));
        assert_eq!(static_interfaces(GuestKind::Lxc, &ct)[0].name, "eth0");
    }

    #[test]
    fn interfaces_in_both_shapes() {
        let agent: Vec<Interface> = serde_json::from_value(json!([
            {"name": "eth0", "hardware-address": "bc:24:11:00:00:01",
             "ip-addresses": [{"ip-address": "fe80::1%eth0", "ip-address-type": "ipv6", "prefix": 64}],
             "statistics": {"rx-bytes": 1}},
            {"name": "lo"}
        ]))
        .unwrap();
        assert_eq!(agent[0].addresses[0].ip(), Some("fe80::1".parse().unwrap()));
        assert!(agent[1].addresses.is_empty());
        let ct: Vec<Interface> = serde_json::from_value(json!([
            {"name": "eth0", "hwaddr": "bc:24:11:00:00:07", "hardware-address": "bc:24:11:00:00:07",
             "inet": "10.0.0.5/8",
             "ip-addresses": [{"ip-address": "10.0.0.5", "ip-address-type": "inet", "prefix": "8"}]}
        ]))
        .unwrap();
        assert_eq!(ct[0].addresses[0].prefix, Some(8));
        // What PVE sent besides is kept for -o json.
        assert!(ct[0].extra.contains_key("inet"));
    }
}
