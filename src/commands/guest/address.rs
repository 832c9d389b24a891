//! Finding a guest's addresses, for `ip` and `ssh`: what the guest reports (the QEMU guest agent,
//! a container's interfaces), else the static addresses of its configuration; the usable ones
//! only (no loopback, link-local or container-runtime bridges unless asked), the interface of
//! `net0` first; waiting for one when asked; and why there is none, in words.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::api::guest::agent::{self, Unavailable};
use crate::api::guest::config::{self, Config};
use crate::api::guest::network::{self, Interface, Nic};
use crate::api::{ApiError, Client, GuestKind};
use crate::config::parse_duration;
use crate::error::{CliError, ErrorKind};
use crate::targets::{Guest, KindWords};
use crate::task::{self, poll_until, SHORT_WAIT};

/// Which addresses are wanted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Want {
    pub v4_only: bool,
    pub v6_only: bool,
    /// Loopback, link-local and bridges too.
    pub all: bool,
}

/// Where the addresses came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The QEMU guest agent.
    Agent,
    /// The container's network namespace (`…/lxc/{vmid}/interfaces`).
    Interfaces,
    /// The configuration (`ipconfigN`, a container's `netN`).
    Config,
}

/// A guest's addresses.
#[derive(Clone, Debug)]
pub struct Found {
    /// The interfaces kept, in order, with only the addresses kept.
    pub interfaces: Vec<Interface>,
    /// The addresses, the one to use first.
    pub addresses: Vec<IpAddr>,
    pub source: Source,
    /// Why the addresses come from the configuration, when they do.
    pub note: Option<String>,
}

/// Why a guest has no address to give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoAddress {
    /// No `agent` key in the configuration.
    AgentNotConfigured,
    /// `agent: 0`.
    AgentDisabled,
    /// The agent does not answer.
    AgentNotRunning,
    /// The guest is not running.
    Stopped,
    /// It runs and answers, but has no usable address (yet).
    NoneYet,
}

impl NoAddress {
    /// What may change by waiting.
    fn passes(self) -> bool {
        matches!(
            self,
            NoAddress::AgentNotRunning | NoAddress::Stopped | NoAddress::NoneYet
        )
    }

    /// 5 when the guest answered without an address, 6 when it could not be asked.
    pub fn kind(self) -> ErrorKind {
        match self {
            NoAddress::NoneYet => ErrorKind::NotFound,
            _ => ErrorKind::Refused,
        }
    }

    /// The reason as a clause ("the guest agent is not running").
    fn reason(self, g: &Guest) -> String {
        match self {
            NoAddress::AgentNotConfigured => "it has no guest agent configured".into(),
            NoAddress::AgentDisabled => "its guest agent is disabled (agent: 0)".into(),
            NoAddress::AgentNotRunning => {
                "its guest agent is not running (not installed, or not started yet)".into()
            }
            NoAddress::Stopped => format!("the {} is not running", g.kind.noun()),
            NoAddress::NoneYet => "it has no address yet".into(),
        }
    }

    /// The whole message, with what to do.
    pub fn message(self, g: &Guest, want: &Want) -> String {
        let who = g.label();
        let cmd = g.kind.command();
        let name = g.name.clone().unwrap_or_else(|| g.vmid.to_string());
        match self {
            NoAddress::AgentNotConfigured | NoAddress::AgentDisabled => format!(
                "{who}: {} and no static address (ipconfigN): enable the agent with `pvectl vm set {name} agent=1`, \
                 install qemu-guest-agent in the guest and restart the VM (the agent's device is added at start)",
                self.reason(g)
            ),
            NoAddress::AgentNotRunning => format!(
                "{who}: {} and it has no static address (ipconfigN): install and start qemu-guest-agent in the guest \
                 (e.g. apt install qemu-guest-agent), or wait for it with --wait",
                self.reason(g)
            ),
            NoAddress::Stopped => format!(
                "{who} is not running: start it with `pvectl {cmd} start {name}`, or wait for it with --wait"
            ),
            NoAddress::NoneYet => {
                let family = if want.v4_only {
                    "IPv4 "
                } else if want.v6_only {
                    "IPv6 "
                } else {
                    ""
                };
                let skipped = if want.all {
                    ""
                } else {
                    " (loopback, link-local and container bridges are left out; --all shows them)"
                };
                format!("{who} has no {family}address yet{skipped}: wait for one with --wait")
            }
        }
    }
}

/// `--wait [DURATION]`: `None` without it, else the limit (`None` inside = for ever).
pub fn wait_limit(
    flag: Option<&str>,
    settings: &crate::config::Settings,
) -> Result<Option<Option<Duration>>, CliError> {
    let Some(text) = flag else {
        return Ok(None);
    };
    if text.is_empty() {
        return Ok(Some(task::wait_limit(settings, None, SHORT_WAIT)?));
    }
    let d = parse_duration(text).map_err(|e| {
        CliError::usage(format!(
            "--wait: {e}; a guest goes before --wait (or write --wait=DURATION)"
        ))
    })?;
    Ok(Some((!d.is_zero()).then_some(d)))
}

fn usable(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_multicast())
        }
        IpAddr::V6(v6) => {
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || link_local)
        }
    }
}

/// Interfaces of the guest's own loopback and of container runtimes and virtual bridges inside
/// it: their addresses are no way to reach the guest.
pub fn is_internal_interface(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "docker", "veth", "br-", "cni", "flannel", "cali", "cilium", "kube-", "weave", "vxlan",
        "tunl", "virbr", "lxcbr", "lxdbr", "podman", "nerdctl", "tap", "vnet",
    ];
    name == "lo" || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The addresses wanted of `interfaces`, ordered: the interfaces of the configuration's NICs
/// first (net0's MAC, then net1's…; a container's also by name), the others as reported; IPv4
/// before IPv6 within each.
pub fn pick(interfaces: &[Interface], nics: &[Nic], want: &Want) -> Vec<Interface> {
    let mut kept: Vec<Interface> = interfaces
        .iter()
        .filter(|i| want.all || !is_internal_interface(&i.name))
        .filter_map(|i| {
            let mut addrs: Vec<_> = i
                .addresses
                .iter()
                .filter(|a| {
                    a.ip().is_some_and(|ip| {
                        (want.all || usable(&ip))
                            && !(want.v4_only && ip.is_ipv6())
                            && !(want.v6_only && ip.is_ipv4())
                    })
                })
                .cloned()
                .collect();
            addrs.sort_by_key(|a| a.ip().is_some_and(|ip| ip.is_ipv6()));
            (!addrs.is_empty()).then(|| Interface {
                addresses: addrs,
                ..i.clone()
            })
        })
        .collect();
    let rank = |i: &Interface| {
        nics.iter()
            .position(|n| {
                let by_mac = match (&n.mac, &i.mac) {
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => false,
                };
                by_mac || n.name.as_deref() == Some(i.name.as_str())
            })
            .unwrap_or(usize::MAX)
    };
    kept.sort_by_key(rank);
    kept
}

fn addresses(interfaces: &[Interface]) -> Vec<IpAddr> {
    interfaces
        .iter()
        .flat_map(|i| i.addresses.iter().filter_map(|a| a.ip()))
        .collect()
}

/// The guest's addresses, asking what it reports and falling back to its configuration; with
/// `wait`, until there are some (or the limit passes: exit 9). `config` is the guest's
/// configuration if the caller has read it already.
pub async fn find(
    client: &Client,
    g: &Guest,
    want: &Want,
    wait: Option<Option<Duration>>,
    config: Option<Config>,
) -> anyhow::Result<Found> {
    let cache = &Mutex::new(config);
    let last = &Mutex::new(NoAddress::NoneYet);
    let probe = move || async move {
        match once(client, g, want, cache).await {
            Ok(found) => Some(Ok(found)),
            Err(Miss::No(why)) => {
                if let Ok(mut l) = last.lock() {
                    *l = why;
                }
                (!(wait.is_some() && why.passes()))
                    .then(|| Err(CliError::new(why.kind(), why.message(g, want)).into()))
            }
            Err(Miss::Failed(e)) if wait.is_some() && crate::task::transient(&e) => None,
            Err(Miss::Failed(e)) => Some(Err(e.into())),
            Err(Miss::Other(e)) => Some(Err(e)),
        }
    };
    let limit = wait.flatten();
    let started = std::time::Instant::now();
    match poll_until(limit, Duration::ZERO, probe).await {
        Some(result) => result,
        None => {
            let why = last.lock().map(|l| *l).unwrap_or(NoAddress::NoneYet);
            Err(CliError::new(
                ErrorKind::WaitTimeout,
                format!(
                    "gave up waiting after {}s: {}: {}",
                    started.elapsed().as_secs(),
                    g.label(),
                    why.reason(g)
                ),
            )
            .into())
        }
    }
}

enum Miss {
    No(NoAddress),
    Failed(ApiError),
    Other(anyhow::Error),
}

impl From<ApiError> for Miss {
    fn from(e: ApiError) -> Self {
        Miss::Failed(e)
    }
}

/// The configuration, read once.
async fn config_of(
    client: &Client,
    g: &Guest,
    cache: &Mutex<Option<Config>>,
) -> Result<Config, ApiError> {
    if let Some(c) = cache.lock().ok().and_then(|c| c.clone()) {
        return Ok(c);
    }
    let c = config::get(client, g).await?;
    if let Ok(mut slot) = cache.lock() {
        *slot = Some(c.clone());
    }
    Ok(c)
}

/// One look: what the guest reports, else its configuration.
async fn once(
    client: &Client,
    g: &Guest,
    want: &Want,
    cache: &Mutex<Option<Config>>,
) -> Result<Found, Miss> {
    let (reported, source) = match g.kind {
        GuestKind::Qemu => match agent::network_interfaces(client, g).await {
            Ok(i) => (Ok(i), Source::Agent),
            Err(e) => match agent::unavailable(&e) {
                Some(Unavailable::NotConfigured) => {
                    (Err(NoAddress::AgentNotConfigured), Source::Agent)
                }
                Some(Unavailable::NotRunning) => (Err(NoAddress::AgentNotRunning), Source::Agent),
                Some(Unavailable::GuestStopped) => return Err(Miss::No(NoAddress::Stopped)),
                None => return Err(e.into()),
            },
        },
        GuestKind::Lxc => match network::lxc_interfaces(client, g).await? {
            Some(i) => (Ok(i), Source::Interfaces),
            None => return Err(Miss::No(NoAddress::Stopped)),
        },
    };
    let why = match reported {
        Ok(interfaces) => {
            // The configuration's MACs only matter when there is more than one interface to order.
            let mut kept = pick(&interfaces, &[], want);
            if kept.len() > 1 {
                let cfg = config_of(client, g, cache).await?;
                kept = pick(&interfaces, &network::nics(g.kind, &cfg), want);
            }
            if !kept.is_empty() {
                return Ok(Found {
                    addresses: addresses(&kept),
                    interfaces: kept,
                    source,
                    note: None,
                });
            }
            NoAddress::NoneYet
        }
        Err(why) => why,
    };
    // Nothing reported: the static addresses of the configuration, if any.
    let cfg = config_of(client, g, cache).await?;
    let why = match why {
        NoAddress::AgentNotRunning
            if cfg
                .text("agent")
                .is_some_and(|v| !agent::enabled_in_config(&v)) =>
        {
            NoAddress::AgentDisabled
        }
        other => other,
    };
    let statics = network::static_interfaces(g.kind, &cfg);
    let kept = pick(&statics, &network::nics(g.kind, &cfg), want);
    if kept.is_empty() {
        return Err(Miss::No(why));
    }
    let keys: Vec<String> = match g.kind {
        GuestKind::Qemu => statics
            .iter()
            .filter(|s| kept.iter().any(|k| k.name == s.name))
            .map(|s| s.name.replacen("net", "ipconfig", 1))
            .collect(),
        GuestKind::Lxc => vec!["netN ip=".into()],
    };
    Ok(Found {
        addresses: addresses(&kept),
        interfaces: kept,
        source: Source::Config,
        note: Some(format!(
            "{}: {}; the address is the static one of its configuration ({})",
            g.label(),
            why.reason(g),
            keys.join(", ")
        )),
    })
}

impl From<anyhow::Error> for Miss {
    fn from(e: anyhow::Error) -> Self {
        Miss::Other(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ifaces(v: serde_json::Value) -> Vec<Interface> {
        serde_json::from_value(v).unwrap()
    }

    fn shown(kept: &[Interface]) -> Vec<String> {
        addresses(kept).iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn loopback_link_local_and_bridges_are_left_out() {
        let all = ifaces(json!([
            {"name": "lo", "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]},
            {"name": "docker0", "hardware-address": "02:42:00:00:00:01",
             "ip-addresses": [{"ip-address": "172.17.0.1", "ip-address-type": "ipv4", "prefix": 16}]},
            {"name": "eth0", "hardware-address": "bc:24:11:00:00:01", "ip-addresses": [
                {"ip-address": "fe80::be24:11ff:fe00:1%eth0", "ip-address-type": "ipv6", "prefix": 64},
                {"ip-address": "2001:db8::10", "ip-address-type": "ipv6", "prefix": 64},
                {"ip-address": "192.0.2.10", "ip-address-type": "ipv4", "prefix": 24},
                {"ip-address": "169.254.3.4", "ip-address-type": "ipv4", "prefix": 16}]},
            {"name": "veth1234", "ip-addresses": [{"ip-address": "10.1.0.1", "ip-address-type": "ipv4", "prefix": 24}]}
        ]));
        let kept = pick(&all, &[], &Want::default());
        assert_eq!(shown(&kept), vec!["192.0.2.10", "2001:db8::10"]);
        let v6 = Want {
            v6_only: true,
            ..Want::default()
        };
        assert_eq!(shown(&pick(&all, &[], &v6)), vec!["2001:db8::10"]);
        let every = Want {
            all: true,
            ..Want::default()
        };
        assert_eq!(pick(&all, &[], &every).len(), 4);
    }

    #[test]
    fn the_interface_of_net0_comes_first() {
        let all = ifaces(json!([
            {"name": "ens19", "hardware-address": "bc:24:11:00:00:02",
             "ip-addresses": [{"ip-address": "10.0.0.7", "ip-address-type": "ipv4", "prefix": 24}]},
            {"name": "ens18", "hardware-address": "BC:24:11:00:00:01",
             "ip-addresses": [{"ip-address": "192.0.2.10", "ip-address-type": "ipv4", "prefix": 24}]},
            {"name": "wg0", "ip-addresses": [{"ip-address": "10.9.0.1", "ip-address-type": "ipv4", "prefix": 24}]}
        ]));
        let nics = vec![
            Nic {
                index: 0,
                mac: Some("bc:24:11:00:00:01".into()),
                name: None,
            },
            Nic {
                index: 1,
                mac: Some("bc:24:11:00:00:02".into()),
                name: None,
            },
        ];
        assert_eq!(
            shown(&pick(&all, &nics, &Want::default())),
            vec!["192.0.2.10", "10.0.0.7", "10.9.0.1"]
        );
    }

    #[test]
    fn internal_interfaces() {
        for n in [
            "lo",
            "docker0",
            "veth9f8e",
            "br-1a2b3c",
            "cni0",
            "flannel.1",
            "virbr0",
        ] {
            assert!(is_internal_interface(n), "{n}");
        }
        for n in ["eth0", "ens18", "enp0s3", "wg0", "bond0", "vmbr0"] {
            assert!(!is_internal_interface(n), "{n}");
        }
    }
}
