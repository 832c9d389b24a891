//! QEMU cloud-init: what PVE generates for a VM (`…/cloudinit/dump`), regenerating the drive
//! (`PUT …/cloudinit`), and the values PVE wants in the configuration: `sshkeys` URL-encoded (on
//! top of the form encoding of the request), `ipconfigN` as `ip=…,gw=…,ip6=…,gw6=…`.

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use super::super::propstring::PropString;
use super::super::{ApiError, Client, Params};
use super::Located;

/// Which document `…/cloudinit/dump` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpType {
    User,
    Network,
    Meta,
}

impl DumpType {
    pub fn as_str(self) -> &'static str {
        match self {
            DumpType::User => "user",
            DumpType::Network => "network",
            DumpType::Meta => "meta",
        }
    }
}

impl fmt::Display for DumpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET …/cloudinit/dump?type=…`: the generated user-data, network-config or meta-data (text).
pub async fn dump(client: &Client, g: &impl Located, t: DumpType) -> Result<String, ApiError> {
    let v: Value = client
        .get(
            &format!("{}/cloudinit/dump", g.path()),
            &Params::new().set("type", t),
        )
        .await?;
    Ok(match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// `PUT …/cloudinit`: write the cloud-init drive anew from the configuration (null).
pub async fn regenerate(client: &Client, g: &impl Located) -> Result<(), ApiError> {
    let _: Value = client
        .put(&format!("{}/cloudinit", g.path()), &Params::new())
        .await?;
    Ok(())
}

// encodeURIComponent's set, the one PVE's `urlencoded` format accepts unescaped.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The `sshkeys` value PVE wants: the keys, one per line, URL-encoded (PVE decodes it once more
/// after the form encoding, and refuses anything else with "invalid urlencoded string").
pub fn encode_sshkeys(keys: &str) -> String {
    utf8_percent_encode(keys, URI_COMPONENT).to_string()
}

/// Key types OpenSSH writes at the start of a public key line.
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// The public keys of an `authorized_keys`-style text, one per line, comments and blank lines
/// dropped (PVE checks every line with `ssh-keygen` and refuses the lot for one bad line).
pub fn public_keys(text: &str) -> Result<String, String> {
    if text.contains("PRIVATE KEY-----") {
        return Err("this is a private key: give the public one (the .pub file)".into());
    }
    let mut keys = vec![];
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Options may come first (`from="…" ssh-ed25519 AAAA…`): a key type must appear.
        let fields: Vec<&str> = line.split_whitespace().collect();
        let found = fields.iter().position(|f| KEY_TYPES.contains(f));
        match found.and_then(|i| fields.get(i + 1)) {
            Some(blob)
                if blob
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) =>
            {
                keys.push(line.to_string())
            }
            _ => {
                return Err(format!(
                    "line {} is no SSH public key (expected e.g. `ssh-ed25519 AAAA… comment`)",
                    n + 1
                ))
            }
        }
    }
    if keys.is_empty() {
        return Err("no SSH public key in it".into());
    }
    Ok(keys.join("\n"))
}

/// An address setting of `ipconfigN`: `dhcp` (or `auto` for IPv6), or a CIDR with an optional
/// gateway, as `--ip0 10.0.0.5/24,gw=10.0.0.1` gives it.
fn address_part(text: &str, v6: bool) -> Result<Vec<(String, String)>, String> {
    let (ip_key, gw_key) = if v6 { ("ip6", "gw6") } else { ("ip", "gw") };
    let mut out = vec![];
    for (i, item) in text.split(',').map(str::trim).enumerate() {
        let (k, v) = match item.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None if i == 0 => (ip_key, item),
            None => return Err(format!("'{item}' is not {gw_key}=ADDRESS")),
        };
        let k = match k {
            "ip" | "ip6" if i == 0 => ip_key,
            "gw" | "gw6" if i > 0 => gw_key,
            _ => {
                return Err(format!(
                    "unexpected '{item}': give ADDRESS/PREFIX[,{gw_key}=GATEWAY]"
                ))
            }
        };
        if v.is_empty() {
            return Err(format!("'{item}' has no value"));
        }
        if k == ip_key {
            let keyword = v == "dhcp" || (v6 && v == "auto");
            let cidr = v.split_once('/').is_some_and(|(a, p)| {
                !a.is_empty()
                    && p.parse::<u8>()
                        .is_ok_and(|p| p <= if v6 { 128 } else { 32 })
            });
            if !keyword && !cidr {
                return Err(format!(
                    "'{v}' is neither {} nor an address with a prefix length (e.g. {})",
                    if v6 { "dhcp, auto" } else { "dhcp" },
                    if v6 { "2001:db8::5/64" } else { "10.0.0.5/24" }
                ));
            }
            if keyword && text.contains(',') {
                return Err(format!("{v} takes no gateway"));
            }
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// The `ipconfigN` value with the IPv4 and/or IPv6 part replaced (the part not given is kept
/// from `current`).
pub fn ipconfig(
    current: Option<&str>,
    v4: Option<&str>,
    v6: Option<&str>,
) -> Result<String, String> {
    let mut ps = current
        .and_then(|c| PropString::parse(c, None).ok())
        .unwrap_or_default();
    let mut replace = |part: Option<&str>, v6: bool, keys: [&str; 2]| -> Result<(), String> {
        let Some(text) = part else { return Ok(()) };
        for k in keys {
            ps.remove(k);
        }
        for (k, v) in address_part(text, v6)? {
            ps.set(&k, v);
        }
        Ok(())
    };
    replace(v4, false, ["ip", "gw"])?;
    replace(v6, true, ["ip6", "gw6"])?;
    // PVE writes the IPv4 part first.
    let mut ordered = PropString::default();
    for k in ["ip", "gw", "ip6", "gw6"] {
        if let Some(v) = ps.get(k) {
            ordered.set(k, v);
        }
    }
    Ok(ordered.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_keys_are_encoded_once_more() {
        let keys = "ssh-ed25519 AAAAC3Nza+C1/lZDI1NTE5= me@laptop\nssh-rsa AAAAB3 you@desk";
        let enc = encode_sshkeys(keys);
        assert_eq!(
            enc,
            "ssh-ed25519%20AAAAC3Nza%2BC1%2FlZDI1NTE5%3D%20me%40laptop%0Assh-rsa%20AAAAB3%20you%40desk"
        );
        // Only what PVE's `urlencoded` format allows.
        assert!(enc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-%_.!~*'()".contains(&b)));
    }

    #[test]
    fn public_keys_only() {
        let text =
            "# laptop\n\nssh-ed25519 AAAAC3Nza me@laptop\n  from=\"10.0.0.0/8\" ssh-rsa AAAAB3 x\n";
        assert_eq!(
            public_keys(text).unwrap(),
            "ssh-ed25519 AAAAC3Nza me@laptop\nfrom=\"10.0.0.0/8\" ssh-rsa AAAAB3 x"
        );
        assert!(public_keys("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n")
            .unwrap_err()
            .contains("private key"));
        assert!(public_keys("hello world\n").unwrap_err().contains("line 1"));
        assert!(public_keys("# nothing\n").is_err());
    }

    #[test]
    fn ipconfig_parts() {
        assert_eq!(ipconfig(None, Some("dhcp"), None).unwrap(), "ip=dhcp");
        assert_eq!(
            ipconfig(None, Some("10.0.0.5/24,gw=10.0.0.1"), None).unwrap(),
            "ip=10.0.0.5/24,gw=10.0.0.1"
        );
        assert_eq!(
            ipconfig(Some("ip=dhcp,ip6=auto"), Some("ip=10.0.0.5/24"), None).unwrap(),
            "ip=10.0.0.5/24,ip6=auto"
        );
        assert_eq!(
            ipconfig(
                Some("ip=10.0.0.5/24,gw=10.0.0.1"),
                None,
                Some("2001:db8::5/64,gw6=2001:db8::1")
            )
            .unwrap(),
            "ip=10.0.0.5/24,gw=10.0.0.1,ip6=2001:db8::5/64,gw6=2001:db8::1"
        );
        for bad in [
            "10.0.0.5",
            "dhcp,gw=10.0.0.1",
            "10.0.0.5/24,via=1.2.3.4",
            "10.0.0.5/40",
            "",
        ] {
            assert!(ipconfig(None, Some(bad), None).is_err(), "{bad}");
        }
        assert!(ipconfig(None, None, Some("auto")).is_ok());
        assert!(ipconfig(None, Some("auto"), None).is_err());
    }
}
