//! A VM's network interfaces as its QEMU guest agent reports them
//! (`GET …/agent/network-get-interfaces`), and which of their addresses is the one to reach the
//! guest at.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::{ApiError, Client, Params};
use super::Located;

/// One interface of the agent's answer (QEMU's names, hyphens and all).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interface {
    #[serde(default)]
    pub name: String,
    #[serde(rename = "hardware-address", default)]
    pub hardware_address: Option<String>,
    #[serde(rename = "ip-addresses", default)]
    pub ip_addresses: Vec<Address>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Address {
    #[serde(rename = "ip-address")]
    pub ip_address: String,
    /// `ipv4` or `ipv6`.
    #[serde(rename = "ip-address-type", default)]
    pub ip_address_type: Option<String>,
    #[serde(default)]
    pub prefix: Option<Value>,
}

/// `GET …/agent/network-get-interfaces`: PVE wraps the agent's list in `{"result": […]}`.
pub async fn interfaces(client: &Client, g: &impl Located) -> Result<Vec<Interface>, ApiError> {
    let v: Value = client
        .get(
            &format!("{}/agent/network-get-interfaces", g.path()),
            &Params::new(),
        )
        .await?;
    let list = v.get("result").cloned().unwrap_or(v);
    serde_json::from_value(list).map_err(|e| ApiError::Decode {
        context: "agent network-get-interfaces".into(),
        detail: e.to_string(),
    })
}

/// The agent is not (yet) answering: the VM is still booting, or the agent is not installed.
/// PVE says "QEMU guest agent is not running", or a QMP timeout for an agent that hangs.
pub fn agent_not_ready(e: &ApiError) -> bool {
    let m = e.message();
    m.contains("guest agent is not running")
        || m.contains("got timeout")
        || m.contains("not running")
}

/// PVE refuses agent commands for a VM without `agent: 1` in its configuration.
pub fn agent_not_configured(e: &ApiError) -> bool {
    e.message().contains("No QEMU guest agent configured")
}

/// The address to reach the guest at: the first global IPv4 address of an interface other than
/// loopback, else the first global IPv6 one.
pub fn guest_address(interfaces: &[Interface]) -> Option<String> {
    let addrs: Vec<IpAddr> = interfaces
        .iter()
        .filter(|i| i.name != "lo")
        .flat_map(|i| i.ip_addresses.iter())
        .filter_map(|a| a.ip_address.parse::<IpAddr>().ok())
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !(v4.is_loopback() || v4.is_link_local() || v4.is_unspecified()),
            IpAddr::V6(v6) => {
                !(v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xffc0) == 0xfe80)
            }
        })
        .collect();
    addrs
        .iter()
        .find(|ip| ip.is_ipv4())
        .or_else(|| addrs.first())
        .map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_address_to_reach_the_guest_at() {
        let list: Vec<Interface> = serde_json::from_value(json!([
            {"name": "lo", "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]},
            {"name": "eth0", "hardware-address": "bc:24:11:00:00:01", "ip-addresses": [
                {"ip-address": "fe80::1", "ip-address-type": "ipv6", "prefix": 64},
                {"ip-address": "2001:db8::5", "ip-address-type": "ipv6", "prefix": 64},
                {"ip-address": "192.0.2.10", "ip-address-type": "ipv4", "prefix": 24}]}
        ]))
        .unwrap();
        assert_eq!(guest_address(&list).as_deref(), Some("192.0.2.10"));
        let v6_only: Vec<Interface> = serde_json::from_value(json!([
            {"name": "eth0", "ip-addresses": [{"ip-address": "fe80::1"}, {"ip-address": "2001:db8::5"}]}
        ]))
        .unwrap();
        assert_eq!(guest_address(&v6_only).as_deref(), Some("2001:db8::5"));
        let none: Vec<Interface> = serde_json::from_value(json!([
            {"name": "eth0", "ip-addresses": [{"ip-address": "169.254.1.1"}]}, {"name": "eth1"}
        ]))
        .unwrap();
        assert_eq!(guest_address(&none), None);
    }
}
