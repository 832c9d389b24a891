//! Response types, with PVE's field names. Lenient where PVE is: booleans as 0/1/true/false, numbers
//! that may arrive as strings, keys that may be absent. Fields the CLI does not interpret are kept in
//! `extra`, so `-o json` shows everything PVE sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::upid::Upid;

pub type Extra = BTreeMap<String, Value>;

/// Lenient decoders for PVE's loosely typed JSON.
pub mod de {
    use super::*;

    pub(crate) fn number(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }

    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(v.as_ref()
            .and_then(number)
            .filter(|n| *n >= 0.0)
            .map(|n| n as u64))
    }

    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(v.as_ref().and_then(number).map(|n| n as i64))
    }

    pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(v.as_ref().and_then(number))
    }

    pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        Ok(opt_u64(d)?.and_then(|n| u32::try_from(n).ok()))
    }

    pub fn u32_req<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let v = Value::deserialize(d)?;
        number(&v)
            .filter(|n| *n >= 0.0 && *n <= u32::MAX as f64)
            .map(|n| n as u32)
            .ok_or_else(|| serde::de::Error::custom(format!("expected a number, got {v}")))
    }

    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(v.as_ref()
            .and_then(number)
            .map(|n| n != 0.0)
            .unwrap_or(false))
    }

    /// Any scalar as a string (PVE sends some strings as numbers and vice versa).
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(match v {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
        })
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn ser_flag<S: serde::Serializer>(b: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(u8::from(*b))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    #[serde(default, deserialize_with = "de::opt_string")]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub release: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub repoid: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An entry of `GET /cluster/resources`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub status: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u32"
    )]
    pub vmid: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub tags: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub pool: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub lock: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub storage: Option<String>,
    #[serde(default, deserialize_with = "de::flag", serialize_with = "ser_flag")]
    pub template: bool,
    #[serde(
        default,
        deserialize_with = "de::flag",
        serialize_with = "ser_flag",
        skip_serializing_if = "is_false"
    )]
    pub shared: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Resource {
    /// The tags as a list (PVE separates them with `;`, older versions also `,` or spaces).
    pub fn tag_list(&self) -> Vec<&str> {
        self.tags
            .as_deref()
            .unwrap_or("")
            .split([';', ',', ' '])
            .filter(|t| !t.is_empty())
            .collect()
    }
}

/// An entry of `GET /cluster/status` (a `cluster` or a `node` line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterStatusEntry {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An entry of `GET /nodes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeEntry {
    pub node: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl NodeEntry {
    pub fn online(&self) -> bool {
        self.status.as_deref() == Some("online")
    }
}

/// `GET /nodes/{node}/storage` entries and `…/storage/{storage}/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StorageStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "de::flag", serialize_with = "ser_flag")]
    pub shared: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /nodes/{node}/storage/{storage}/content` entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    pub volid: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub content: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u32"
    )]
    pub vmid: Option<u32>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A task as the task lists show it (`GET /nodes/{node}/tasks`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskEntry {
    pub upid: String,
    #[serde(default)]
    pub node: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub user: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub tokenid: Option<String>,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub starttime: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_i64"
    )]
    pub endtime: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /nodes/{node}/tasks/{upid}/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskStatus {
    pub upid: Upid,
    /// `running` or `stopped`.
    pub status: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub exitstatus: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl TaskStatus {
    pub fn running(&self) -> bool {
        self.status == "running"
    }
}

/// A PVE boolean as it comes: `1`/`0`, `"1"`/`"0"`, `true`/`false`; anything else is false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::String(s) if s.trim() == "true" => true,
        other => de::number(other).is_some_and(|n| n != 0.0),
    }
}

/// PVE's own success rule (`status_is_error`): `OK` or `WARNINGS: N` succeed.
pub fn exitstatus_ok(exitstatus: &str) -> bool {
    exitstatus == "OK"
        || exitstatus
            .strip_prefix("WARNINGS: ")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// One line of `GET /nodes/{node}/tasks/{upid}/log`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogLine {
    #[serde(deserialize_with = "de::u32_req")]
    pub n: u32,
    #[serde(default)]
    pub t: String,
}

/// One entry of `GET …/{vmid}/pending`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingEntry {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u64"
    )]
    pub delete: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_as_pve_sends_them() {
        for yes in [json!(1), json!("1"), json!(true), json!("true"), json!(2)] {
            assert!(truthy(&yes), "{yes}");
        }
        for no in [
            json!(0),
            json!("0"),
            json!(false),
            json!(null),
            json!("no"),
            json!([]),
        ] {
            assert!(!truthy(&no), "{no}");
        }
    }

    #[test]
    fn resource_decodes_leniently() {
        let r: Resource = serde_json::from_value(serde_json::json!({
            "id": "qemu/100", "type": "qemu", "vmid": "100", "template": true, "tags": "a;b", "maxmem": 1
        }))
        .unwrap();
        assert_eq!(r.vmid, Some(100));
        assert!(r.template);
        assert_eq!(r.tag_list(), vec!["a", "b"]);
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["maxmem"], 1);
        assert_eq!(back["template"], 1);
    }

    #[test]
    fn exit_status_rule() {
        assert!(exitstatus_ok("OK"));
        assert!(exitstatus_ok("WARNINGS: 3"));
        assert!(!exitstatus_ok("WARNINGS: "));
        assert!(!exitstatus_ok("unexpected status"));
        assert!(!exitstatus_ok("VM 100 already running"));
    }
}
