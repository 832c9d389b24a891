//! `/cluster/ha/…`: PVE 9's HA stack. Resources (`vm:100`, `ct:101`) with their requested state,
//! the manager's view of them (`status/current`), moving them (`migrate`, `relocate`: the CRM acts
//! on the request some seconds later, so the answer is no task), and the rules that replaced HA
//! groups in PVE 9 (`node-affinity`, `resource-affinity`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::de::{self, Extra};
use super::guest::GuestKind;
use super::params::seg;
use super::{ApiError, Client, Params};

/// The HA resource id of a guest: `vm:100` or `ct:101`.
pub fn sid(kind: GuestKind, vmid: u32) -> String {
    match kind {
        GuestKind::Qemu => format!("vm:{vmid}"),
        GuestKind::Lxc => format!("ct:{vmid}"),
    }
}

/// The guest of an HA resource id (`vm:100`, `ct:101`; a bare `100` is PVE's shorthand for a VM
/// or container, so the kind is unknown then).
pub fn parse_sid(sid: &str) -> Option<(Option<GuestKind>, u32)> {
    let (kind, id) = match sid.split_once(':') {
        Some(("vm", id)) => (Some(GuestKind::Qemu), id),
        Some(("ct", id)) => (Some(GuestKind::Lxc), id),
        Some(_) => return None,
        None => (None, sid),
    };
    Some((kind, id.parse().ok()?))
}

// ---------------------------------------------------------------------------------- status

/// An entry of `GET /cluster/ha/status/current`: the quorum, the manager (`master`), fencing,
/// one `lrm` per node, and one `service` per resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusEntry {
    #[serde(default)]
    pub id: String,
    /// `quorum`, `master`, `fencing`, `lrm` or `service`.
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub node: Option<String>,
    /// PVE's own line for it: `pve1 (active, Tue Nov 25 10:00:00 2026)`, `vm:100 (pve1, started)`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub status: Option<String>,
    /// Services: the resource id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub sid: Option<String>,
    /// Services: the verbose state (`started`, `migrate`, `starting`, `error`, `queued`…).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub state: Option<String>,
    /// Services: the state the CRM holds (`started`, `migrate`, `relocate`, `fence`…).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub crm_state: Option<String>,
    /// Services: the state requested in the resource's configuration.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub request_state: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl StatusEntry {
    /// The state in one word: a service's verbose state; the quorum's `OK` or `no quorum`; for the
    /// manager and each node's LRM, the first word PVE puts in brackets after the node name
    /// (`pve1 (active, …)` → `active`, `pve2 (old timestamp - dead?, …)` → `old timestamp - dead?`).
    pub fn word(&self) -> Option<String> {
        match self.kind.as_str() {
            "service" => self.state.clone(),
            "quorum" => Some(
                if self.extra.get("quorate").is_some_and(de::truthy) {
                    "OK"
                } else {
                    "no quorum"
                }
                .to_string(),
            ),
            "fencing" => self
                .extra
                .get("armed-state")
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => {
                let text = self.status.as_deref()?;
                let inner = text.split_once(" (")?.1;
                Some(inner.split([',', ')']).next()?.trim().to_string())
            }
        }
    }
}

/// States of a service on its way somewhere: the CRM has not finished with it.
pub fn in_motion(state: &str) -> bool {
    matches!(
        state,
        "migrate" | "relocate" | "queued" | "starting" | "stopping" | "request_stop" | "recovery"
    )
}

/// `GET /cluster/ha/status/current`.
pub async fn status(client: &Client) -> Result<Vec<StatusEntry>, ApiError> {
    client
        .get("/cluster/ha/status/current", &Params::new())
        .await
}

/// `GET /cluster/ha/status/current`, as a poll (yields the request budget to actions).
pub async fn status_polling(client: &Client) -> Result<Vec<StatusEntry>, ApiError> {
    client
        .get_polling("/cluster/ha/status/current", &Params::new())
        .await
}

// ------------------------------------------------------------------------------- resources

/// An entry of `GET /cluster/ha/resources` (and `…/resources/{sid}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub sid: String,
    /// `vm` or `ct`.
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub kind: Option<String>,
    /// The requested state: `started`, `stopped`, `ignored`, `disabled` (`enabled` = started).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub state: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u32"
    )]
    pub max_restart: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u32"
    )]
    pub max_relocate: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Fields of an HA resource entry that are no setting of it.
pub const READ_ONLY: &[&str] = &["sid", "type", "digest", "errors"];

/// `GET /cluster/ha/resources`: as `Resource`s, or as PVE's objects (`Map<String, Value>`: `sid`,
/// `type`, `state`, `max_restart`, `max_relocate`, `failback`, `comment`, `group` before PVE 9,
/// `digest`) where every key counts as PVE sent it.
pub async fn resources<T: DeserializeOwned>(client: &Client) -> Result<Vec<T>, ApiError> {
    client.get("/cluster/ha/resources", &Params::new()).await
}

/// What `ha add` and `ha set` change on a resource.
#[derive(Debug, Clone, Default)]
pub struct ResourceOptions {
    pub state: Option<String>,
    pub max_restart: Option<u32>,
    pub max_relocate: Option<u32>,
    pub comment: Option<String>,
    pub failback: Option<bool>,
    /// Settings by PVE's names and in their text form, sent as given (a file's `[ha]` table).
    pub settings: Vec<(String, String)>,
    /// Settings to clear (`delete`; an update only).
    pub delete: Vec<String>,
}

impl ResourceOptions {
    fn params(&self) -> Params {
        let mut p = Params::new()
            .opt("state", self.state.as_deref())
            .opt("max_restart", self.max_restart)
            .opt("max_relocate", self.max_relocate)
            .opt("comment", self.comment.as_deref());
        if let Some(f) = self.failback {
            p = p.flag("failback", f);
        }
        for (k, v) in &self.settings {
            p.push(k, v);
        }
        if !self.delete.is_empty() {
            p.push("delete", self.delete.join(","));
        }
        p
    }

    pub fn is_empty(&self) -> bool {
        self.params().is_empty()
    }
}

/// `POST /cluster/ha/resources`: put a guest under HA (synchronous: null).
pub async fn add(client: &Client, sid: &str, o: &ResourceOptions) -> Result<(), ApiError> {
    let mut params = Params::new().set("sid", sid);
    for (k, v) in o.params().pairs() {
        params.push(k, v);
    }
    let _: Value = client.post("/cluster/ha/resources", &params).await?;
    Ok(())
}

/// `PUT /cluster/ha/resources/{sid}` ("update resources config failed: no such resource
/// 'vm:100'" for a guest HA does not manage: not found).
pub async fn update(client: &Client, sid: &str, o: &ResourceOptions) -> Result<(), ApiError> {
    let answer: Result<Value, ApiError> = client.put(&resource_path(sid), &o.params()).await;
    match answer {
        Ok(_) => Ok(()),
        Err(e) if e.message().contains("no such resource") => Err(ApiError::NotFound {
            message: e.to_string(),
        }),
        Err(e) => Err(e),
    }
}

/// What removing a resource did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    Removed,
    /// PVE said the guest was not HA-managed: nothing to remove.
    NotManaged,
}

/// `DELETE /cluster/ha/resources/{sid}` (PVE 9 also takes the resource out of its rules).
pub async fn remove(client: &Client, sid: &str) -> Result<Removed, ApiError> {
    let answer: Result<Value, ApiError> = client.delete(&resource_path(sid), &Params::new()).await;
    match answer {
        Ok(_) => Ok(Removed::Removed),
        // "cannot delete service 'vm:100', not HA managed!"
        Err(e) if e.message().contains("not HA managed") => Ok(Removed::NotManaged),
        Err(e) => Err(e),
    }
}

fn resource_path(sid: &str) -> String {
    format!("/cluster/ha/resources/{}", seg(sid))
}

/// An HA resource that keeps another from moving (`blocking-resources` of a migrate answer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Blocking {
    pub sid: String,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub cause: Option<String>,
}

/// PVE's answer to a migrate or relocate request: the CRM has it queued; resources in positive
/// affinity move along (`comigrated-resources`), resources in negative affinity on the target
/// keep it where it is (`blocking-resources`, and then nothing moves).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MotionAnswer {
    #[serde(default)]
    pub sid: String,
    #[serde(rename = "requested-node", default)]
    pub requested_node: String,
    #[serde(rename = "comigrated-resources", default)]
    pub comigrated: Vec<Value>,
    #[serde(rename = "blocking-resources", default)]
    pub blocking: Vec<Blocking>,
}

impl MotionAnswer {
    /// The resources that move along, as ids.
    pub fn comigrated_sids(&self) -> Vec<String> {
        self.comigrated
            .iter()
            .filter_map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.get("sid").and_then(Value::as_str).map(str::to_string))
            })
            .collect()
    }
}

/// How a resource moves: `migrate` (live for VMs) or `relocate` (stop, move, start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Motion {
    Migrate,
    Relocate,
}

impl Motion {
    pub fn as_str(self) -> &'static str {
        match self {
            Motion::Migrate => "migrate",
            Motion::Relocate => "relocate",
        }
    }
}

/// `POST /cluster/ha/resources/{sid}/migrate|relocate`: a request to the CRM (PVE answers at
/// once; the guest moves some seconds later).
pub async fn request_move(
    client: &Client,
    sid: &str,
    motion: Motion,
    node: &str,
) -> Result<MotionAnswer, ApiError> {
    let answer: Value = client
        .post(
            &format!("{}/{}", resource_path(sid), motion.as_str()),
            &Params::new().set("node", node),
        )
        .await?;
    // Before PVE 9 the answer was null: the request was queued all the same.
    if answer.is_null() {
        return Ok(MotionAnswer {
            sid: sid.to_string(),
            requested_node: node.to_string(),
            comigrated: vec![],
            blocking: vec![],
        });
    }
    serde_json::from_value(answer).map_err(|e| ApiError::Decode {
        context: format!("HA {} of {sid}", motion.as_str()),
        detail: e.to_string(),
    })
}

// ----------------------------------------------------------------------------------- rules

/// An entry of `GET /cluster/ha/rules` (PVE 9).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    pub rule: String,
    /// `node-affinity` or `resource-affinity`.
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub kind: Option<String>,
    /// `vm:100,ct:101`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub resources: Option<String>,
    /// Node-affinity: `pve1:2,pve2` (a node with an optional priority).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub nodes: Option<String>,
    /// `positive` or `negative`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub affinity: Option<String>,
    #[serde(
        default,
        deserialize_with = "de::flag",
        serialize_with = "de::ser_flag"
    )]
    pub strict: bool,
    #[serde(
        default,
        deserialize_with = "de::flag",
        serialize_with = "de::ser_flag"
    )]
    pub disable: bool,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Rule {
    /// The resource ids of the rule.
    pub fn resource_ids(&self) -> Vec<&str> {
        split_list(self.resources.as_deref().unwrap_or(""))
    }

    /// The nodes of a node-affinity rule with their priorities (0 when none is given).
    pub fn node_priorities(&self) -> Vec<(&str, i64)> {
        split_list(self.nodes.as_deref().unwrap_or(""))
            .into_iter()
            .map(|n| match n.split_once(':') {
                Some((node, pri)) => (node, pri.parse().unwrap_or(0)),
                None => (n, 0),
            })
            .collect()
    }

    pub fn is_node_affinity(&self) -> bool {
        self.kind.as_deref() == Some("node-affinity")
    }

    /// A node-affinity rule keeps its resources on its nodes (`positive`, PVE's default) or off
    /// them (`negative`).
    pub fn negative(&self) -> bool {
        self.affinity.as_deref() == Some("negative")
    }
}

fn split_list(text: &str) -> Vec<&str> {
    text.split([',', ';', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// `GET /cluster/ha/rules`, optionally of one type or of one resource.
pub async fn rules(
    client: &Client,
    kind: Option<&str>,
    resource: Option<&str>,
) -> Result<Vec<Rule>, ApiError> {
    let params = Params::new().opt("type", kind).opt("resource", resource);
    client.get("/cluster/ha/rules", &params).await
}

/// `GET /cluster/ha/rules/{rule}` ("no such ha rule" when there is none).
pub async fn rule(client: &Client, rule: &str) -> Result<Rule, ApiError> {
    client
        .get(&format!("/cluster/ha/rules/{}", seg(rule)), &Params::new())
        .await
}

/// A new rule, as `POST /cluster/ha/rules` takes it.
#[derive(Debug, Clone, Default)]
pub struct NewRule {
    pub rule: String,
    /// `node-affinity` or `resource-affinity`.
    pub kind: String,
    pub resources: Vec<String>,
    pub nodes: Option<String>,
    pub affinity: Option<String>,
    pub strict: bool,
    pub disable: bool,
    pub comment: Option<String>,
}

/// `POST /cluster/ha/rules` (synchronous: null).
pub async fn add_rule(client: &Client, r: &NewRule) -> Result<(), ApiError> {
    let params = Params::new()
        .set("rule", &r.rule)
        .set("type", &r.kind)
        .set("resources", r.resources.join(","))
        .opt("nodes", r.nodes.as_deref())
        .opt("affinity", r.affinity.as_deref())
        .flag_if("strict", r.strict)
        .flag_if("disable", r.disable)
        .opt("comment", r.comment.as_deref());
    let _: Value = client.post("/cluster/ha/rules", &params).await?;
    Ok(())
}

/// `DELETE /cluster/ha/rules/{rule}`.
pub async fn remove_rule(client: &Client, rule: &str) -> Result<(), ApiError> {
    let _: Value = client
        .delete(&format!("/cluster/ha/rules/{}", seg(rule)), &Params::new())
        .await?;
    Ok(())
}

/// PVE before 9 has HA groups instead of rules: its API has no `/cluster/ha/rules`.
pub fn is_before_rules(e: &ApiError) -> bool {
    matches!(e, ApiError::NotFound { message } if message.contains("/cluster/ha/rules"))
        || e.message().contains("ha groups have not been migrated yet")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resource_ids() {
        assert_eq!(sid(GuestKind::Qemu, 100), "vm:100");
        assert_eq!(sid(GuestKind::Lxc, 101), "ct:101");
        assert_eq!(parse_sid("ct:101"), Some((Some(GuestKind::Lxc), 101)));
        assert_eq!(parse_sid("105"), Some((None, 105)));
        assert_eq!(parse_sid("fake"), None);
        assert_eq!(parse_sid("srv:1"), None);
    }

    #[test]
    fn status_entries_in_one_word() {
        let e: StatusEntry = serde_json::from_value(json!({
            "id": "lrm:pve2", "type": "lrm", "node": "pve2",
            "status": "pve2 (old timestamp - dead?, watchdog standby, Tue Nov 25 10:00:00 2026)"
        }))
        .unwrap();
        assert_eq!(e.word().as_deref(), Some("old timestamp - dead?"));
        let q: StatusEntry = serde_json::from_value(json!({
            "id": "quorum", "type": "quorum", "node": "pve1", "status": "OK", "quorate": 1
        }))
        .unwrap();
        assert_eq!(q.word().as_deref(), Some("OK"));
        let s: StatusEntry = serde_json::from_value(json!({
            "id": "service:vm:100", "type": "service", "sid": "vm:100", "node": "pve1",
            "state": "migrate", "status": "vm:100 (pve1, migrate)"
        }))
        .unwrap();
        assert_eq!(s.word().as_deref(), Some("migrate"));
        assert!(in_motion("migrate") && !in_motion("started"));
    }

    #[test]
    fn motion_answers_of_pve_9_and_before() {
        let a: MotionAnswer = serde_json::from_value(json!({
            "sid": "vm:100", "requested-node": "pve2",
            "comigrated-resources": ["vm:101"],
            "blocking-resources": [{"sid": "vm:102", "cause": "resource-affinity"}]
        }))
        .unwrap();
        assert_eq!(a.comigrated_sids(), vec!["vm:101"]);
        assert_eq!(a.blocking[0].sid, "vm:102");
    }

    #[test]
    fn rules_read_their_lists() {
        let r: Rule = serde_json::from_value(json!({
            "rule": "db-on-pve1", "type": "node-affinity", "resources": "vm:100,ct:101",
            "nodes": "pve1:2,pve2", "strict": 1, "digest": "x", "order": 1
        }))
        .unwrap();
        assert_eq!(r.resource_ids(), vec!["vm:100", "ct:101"]);
        assert_eq!(r.node_priorities(), vec![("pve1", 2), ("pve2", 0)]);
        assert!(r.strict && r.is_node_affinity() && !r.negative());
    }
}
