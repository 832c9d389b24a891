//! PVE's unique task id (UPID), parsed with the grammar of pve-common's `PVE::UPID::decode`.

use std::fmt;
use std::str::FromStr;

/// `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:` (the trailing colon is part of it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Upid {
    pub node: String,
    pub pid: u32,
    pub pstart: u64,
    pub starttime: i64,
    pub task_type: String,
    pub id: String,
    pub user: String,
    /// The text as PVE sent it, so display round-trips exactly (hex case and width included).
    raw: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a task id (UPID); expected UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:")]
pub struct UpidParseError(pub String);

impl Upid {
    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The guest id of the task, when its id field is a VMID.
    pub fn vmid(&self) -> Option<u32> {
        self.id.parse().ok()
    }
}

fn is_node_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

fn hex_field(s: &str, min: usize, max: usize) -> Option<u64> {
    if s.len() < min || s.len() > max || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

fn free_field(s: &str, allow_empty: bool) -> bool {
    (allow_empty || !s.is_empty()) && !s.chars().any(|c| c == ':' || c == '/' || c.is_whitespace())
}

impl FromStr for Upid {
    type Err = UpidParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UpidParseError(s.to_string());
        let rest = s.strip_prefix("UPID:").ok_or_else(err)?;
        let rest = rest.strip_suffix(':').ok_or_else(err)?;
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() != 7 {
            return Err(err());
        }
        if !is_node_name(parts[0]) || !free_field(parts[4], false) || !free_field(parts[5], true) {
            return Err(err());
        }
        if !free_field(parts[6], false) {
            return Err(err());
        }
        Ok(Upid {
            node: parts[0].to_string(),
            pid: hex_field(parts[1], 8, 8).ok_or_else(err)? as u32,
            pstart: hex_field(parts[2], 8, 9).ok_or_else(err)?,
            starttime: hex_field(parts[3], 8, 8).ok_or_else(err)? as i64,
            task_type: parts[4].to_string(),
            id: parts[5].to_string(),
            user: parts[6].to_string(),
            raw: s.to_string(),
        })
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl serde::Serialize for Upid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> serde::Deserialize<'de> for Upid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_token_user_and_round_trips() {
        let text = "UPID:pve1:0003A1F2:01B2C3D4:66F1A2B3:vzdump:100:automation@pve!cli:";
        let upid: Upid = text.parse().unwrap();
        assert_eq!(upid.node(), "pve1");
        assert_eq!(upid.pid, 0x0003A1F2);
        assert_eq!(upid.pstart, 0x01B2C3D4);
        assert_eq!(upid.starttime, 0x66F1A2B3);
        assert_eq!(upid.task_type, "vzdump");
        assert_eq!(upid.id, "100");
        assert_eq!(upid.vmid(), Some(100));
        assert_eq!(upid.user, "automation@pve!cli");
        assert_eq!(upid.to_string(), text);
    }

    #[test]
    fn accepts_nine_hex_pstart_empty_and_non_numeric_id() {
        let long: Upid = "UPID:node-2:00000001:1234ABCDE:66F1A2B3:vzdump::root@pam:"
            .parse()
            .unwrap();
        assert_eq!(long.pstart, 0x1234ABCDE);
        assert_eq!(long.id, "");
        assert_eq!(long.vmid(), None);
        let imgdel: Upid = "UPID:pve:00000001:00000002:66F1A2B3:imgdel:100@local:root@pam:"
            .parse()
            .unwrap();
        assert_eq!(imgdel.id, "100@local");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "UPID:pve1:0003A1F2:01B2C3D4:66F1A2B3:vzdump:100:root@pam",
            "UPID:pve1:3A1F2:01B2C3D4:66F1A2B3:vzdump:100:root@pam:",
            "UPID:-pve:0003A1F2:01B2C3D4:66F1A2B3:vzdump:100:root@pam:",
            "UPID:pve1:0003A1F2:01B2C3D4:66F1A2B3:vzdump:100::",
            "UPID:pve1:0003A1F2:01B2C3D4:66F1A2B3:vz dump:100:root@pam:",
            "UPID:pve1:0003A1F2:01B2C3D4:66F1A2B3:vzdump:1/0:root@pam:",
            "hello",
        ] {
            assert!(bad.parse::<Upid>().is_err(), "{bad} should not parse");
        }
    }
}
