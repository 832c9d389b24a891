//! The server's part of completion: one `/cluster/resources` request names the guests, nodes,
//! storages, tags and pools; snapshots and tasks take one request each. Each answer is kept in
//! the cache; a request gets 300 ms in all (one attempt, no password prompt, nothing printed),
//! after which the last answer is offered, however old, or nothing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cache::{Cache, FRESH, STALE_LIMIT};
use super::context::Line;
use super::{Offer, What};
use crate::api::{cluster, guest, Auth, Client, ClientOptions, GuestKind, GuestRef};
use crate::config::{self, Commands, Credentials};

/// The most a TAB waits for the server.
pub const LIMIT: Duration = Duration::from_millis(300);
/// Tasks offered for a UPID (the newest).
const MAX_TASKS: usize = 100;
/// The fields of a `/cluster/resources` entry completion uses (all that is kept).
const RESOURCE_KEYS: [&str; 9] = [
    "type", "vmid", "name", "node", "status", "storage", "tags", "pool", "template",
];

/// Names another limit in milliseconds (for tests on a loaded machine).
pub const LIMIT_VAR: &str = "PVECTL_TAB_LIMIT_MS";

/// What to offer for `what`; `current` is the word typed so far.
pub fn values(what: What, line: &Line, current: &str) -> Vec<Offer> {
    let limit = line
        .env
        .get(LIMIT_VAR)
        .and_then(|ms| ms.parse().ok())
        .map_or(LIMIT, Duration::from_millis);
    let deadline = Instant::now() + limit;
    let Some(server) = Server::for_line(line, limit) else {
        return vec![];
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return vec![];
    };
    runtime.block_on(server.offers(what, line, current, deadline))
}

/// The server a line talks to, as far as it can be known without asking anyone anything.
struct Server {
    options: ClientOptions,
    cache: Cache,
}

impl Server {
    fn for_line(line: &Line, limit: Duration) -> Option<Server> {
        let settings = config::resolve_with(&line.flags, &line.env, Commands::Skip).ok()?;
        let base = settings.base_url.clone()?;
        let (auth, login) = match settings.credentials.clone()? {
            Credentials::Token { id, secret } => (
                Auth::Token {
                    id: id.clone(),
                    secret,
                },
                id,
            ),
            Credentials::Password {
                user,
                password: Some(password),
            } => (
                Auth::Password {
                    user: user.clone(),
                    password,
                    otp: None,
                    prompt: None,
                },
                user,
            ),
            // No password to log in with: asking for one is no business of a TAB.
            Credentials::Password { password: None, .. } => return None,
        };
        let mut options = ClientOptions::new(base.clone(), auth);
        options.tls = settings.tls.clone();
        options.ca_file = settings.ca_file.clone();
        options.attempts = 1;
        options.rate = 0;
        options.connect_timeout = limit;
        options.request_timeout = limit;
        Some(Server {
            cache: Cache::new(&line.env, &base, &login),
            options,
        })
    }

    async fn offers(self, what: What, line: &Line, current: &str, deadline: Instant) -> Vec<Offer> {
        let mut client = None;
        match what {
            What::Snapshots(kind) => {
                let Some(name) = &line.guest else {
                    return vec![];
                };
                let Some(resources) = self.resources(&mut client, deadline).await else {
                    return vec![];
                };
                let Some(g) = find_guest(&resources, name, kind) else {
                    return vec![];
                };
                let key = format!("snapshots-{}", g.vmid);
                let data = self
                    .cached(&key, &mut client, deadline, |c| {
                        let g = g.clone();
                        async move {
                            let list = guest::snapshot::list(&c, &g).await.ok()?;
                            Some(Value::Array(snapshot_offers(&list)))
                        }
                    })
                    .await;
                offers_of(data)
            }
            What::Upids => {
                let data = self
                    .cached("tasks", &mut client, deadline, |c| async move {
                        let tasks = cluster::tasks(&c).await.ok()?;
                        let offers: Vec<Value> = tasks
                            .iter()
                            .take(MAX_TASKS)
                            .map(|t| {
                                let state = t.ended().unwrap_or("running");
                                let id = t.id.as_deref().unwrap_or("");
                                offer(&t.upid, Some(format!("{} {id} {state}", t.kind)))
                            })
                            .collect();
                        Some(Value::Array(offers))
                    })
                    .await;
                offers_of(data)
            }
            What::Profiles => vec![],
            _ => match self.resources(&mut client, deadline).await {
                Some(resources) => from_resources(&resources, what, current),
                None => vec![],
            },
        }
    }

    async fn resources(
        &self,
        client: &mut Option<std::sync::Arc<Client>>,
        deadline: Instant,
    ) -> Option<Vec<Value>> {
        let data = self
            .cached("resources", client, deadline, |c| async move {
                let all = cluster::resources(&c, None).await.ok()?;
                let kept: Vec<Value> = all
                    .iter()
                    .map(|r| Value::Object(r.pick(&RESOURCE_KEYS)))
                    .collect();
                Some(Value::Array(kept))
            })
            .await?;
        data.as_array().cloned()
    }

    /// The cache's answer while fresh; else the server's, if it comes before the deadline; else
    /// the cache's, if not too old.
    async fn cached<F, Fut>(
        &self,
        name: &str,
        client: &mut Option<std::sync::Arc<Client>>,
        deadline: Instant,
        fetch: F,
    ) -> Option<Value>
    where
        F: FnOnce(std::sync::Arc<Client>) -> Fut,
        Fut: std::future::Future<Output = Option<Value>>,
    {
        let kept = self.cache.read(name);
        if let Some((age, data)) = &kept {
            if *age < FRESH {
                return Some(data.clone());
            }
        }
        let stale = || {
            kept.clone()
                .filter(|(age, _)| *age < STALE_LIMIT)
                .map(|(_, d)| d)
        };
        let c = match client {
            Some(c) => c.clone(),
            None => match Client::new(self.options.clone()) {
                Ok(c) => client.insert(std::sync::Arc::new(c)).clone(),
                Err(_) => return stale(),
            },
        };
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, fetch(c)).await {
            Ok(Some(data)) => {
                self.cache.write(name, &data);
                Some(data)
            }
            _ => stale(),
        }
    }
}

fn offer(value: &str, help: Option<String>) -> Value {
    serde_json::json!({ "value": value, "help": help })
}

fn offers_of(data: Option<Value>) -> Vec<Offer> {
    data.as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| {
            Some(Offer {
                value: o.get("value")?.as_str()?.to_string(),
                help: o.get("help").and_then(Value::as_str).map(str::to_string),
            })
        })
        .collect()
}

fn snapshot_offers(list: &[Value]) -> Vec<Value> {
    list.iter()
        .filter_map(|s| {
            let name = s.get("name")?.as_str()?;
            (name != guest::snapshot::CURRENT).then(|| {
                let help = s
                    .get("description")
                    .and_then(Value::as_str)
                    .map(|d| d.lines().next().unwrap_or("").to_string())
                    .filter(|d| !d.is_empty());
                offer(name, help)
            })
        })
        .collect()
}

fn text<'a>(entry: &'a Value, key: &str) -> Option<&'a str> {
    entry
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn vmid(entry: &Value) -> Option<u32> {
    match entry.get("vmid")? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn guests(resources: &[Value], kind: Option<GuestKind>) -> impl Iterator<Item = &Value> {
    resources.iter().filter(move |e| {
        let k = text(e, "type").and_then(GuestKind::from_type);
        k.is_some() && (kind.is_none() || k == kind) && vmid(e).is_some()
    })
}

/// The guest a line names (a VMID or a name) among the cluster's.
fn find_guest(resources: &[Value], word: &str, kind: Option<GuestKind>) -> Option<GuestRef> {
    let by_id = word.parse::<u32>().ok();
    guests(resources, kind)
        .find(|e| vmid(e) == by_id || text(e, "name") == Some(word))
        .and_then(|e| {
            Some(GuestRef {
                kind: GuestKind::from_type(text(e, "type")?)?,
                node: text(e, "node")?.to_string(),
                vmid: vmid(e)?,
            })
        })
}

/// Names (or, when digits are typed, VMIDs), nodes, storages, tags or pools.
pub fn from_resources(resources: &[Value], what: What, current: &str) -> Vec<Offer> {
    let mut offers = BTreeMap::new();
    let mut add = |value: &str, help: String| {
        offers
            .entry(value.to_string())
            .or_insert_with(|| Some(help).filter(|h| !h.is_empty()));
    };
    match what {
        What::Guests(kind) => {
            let digits = !current.is_empty() && current.chars().all(|c| c.is_ascii_digit());
            for e in guests(resources, kind) {
                let id = vmid(e).unwrap_or_default().to_string();
                let node = text(e, "node").unwrap_or("?");
                let mut state = text(e, "status").unwrap_or("").to_string();
                if e.get("template").is_some_and(|t| t == 1 || t == true) {
                    state = "template".into();
                }
                match text(e, "name") {
                    Some(name) if !digits => add(name, format!("{id} on {node}, {state}")),
                    Some(name) => add(&id, format!("{name} on {node}, {state}")),
                    None => add(&id, format!("on {node}, {state}")),
                }
            }
        }
        What::Nodes => {
            for e in resources.iter().filter(|e| text(e, "type") == Some("node")) {
                if let Some(node) = text(e, "node") {
                    add(node, text(e, "status").unwrap_or("").to_string());
                }
            }
        }
        What::Storages => {
            let mut nodes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for e in resources
                .iter()
                .filter(|e| text(e, "type") == Some("storage"))
            {
                if let (Some(s), Some(n)) = (text(e, "storage"), text(e, "node")) {
                    nodes.entry(s).or_default().push(n);
                }
            }
            for (storage, on) in nodes {
                add(storage, format!("on {}", on.join(", ")));
            }
        }
        What::Tags => {
            for e in guests(resources, None) {
                for tag in text(e, "tags")
                    .unwrap_or("")
                    .split([';', ',', ' '])
                    .filter(|t| !t.is_empty())
                {
                    add(tag, String::new());
                }
            }
        }
        What::Pools => {
            for e in resources.iter() {
                if let Some(pool) = text(e, "pool") {
                    add(pool, String::new());
                }
            }
        }
        What::Snapshots(_) | What::Upids | What::Profiles => {}
    }
    offers
        .into_iter()
        .map(|(value, help)| Offer { value, help })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resources() -> Vec<Value> {
        vec![
            json!({"type": "qemu", "vmid": 100, "name": "web-1", "node": "pve1", "status": "running", "tags": "web;prod"}),
            json!({"type": "qemu", "vmid": 101, "name": "tmpl", "node": "pve2", "status": "stopped", "template": 1}),
            json!({"type": "lxc", "vmid": 200, "name": "dns", "node": "pve1", "status": "running", "pool": "infra", "tags": "infra"}),
            json!({"type": "node", "node": "pve1", "status": "online"}),
            json!({"type": "node", "node": "pve2", "status": "online"}),
            json!({"type": "storage", "storage": "local", "node": "pve1"}),
            json!({"type": "storage", "storage": "local", "node": "pve2"}),
            json!({"type": "pool", "pool": "infra"}),
        ]
    }

    fn values(what: What, current: &str) -> Vec<String> {
        from_resources(&resources(), what, current)
            .into_iter()
            .map(|o| o.value)
            .collect()
    }

    #[test]
    fn guests_of_the_kind_by_name_or_by_vmid() {
        assert_eq!(
            values(What::Guests(Some(GuestKind::Qemu)), ""),
            ["tmpl", "web-1"]
        );
        assert_eq!(values(What::Guests(Some(GuestKind::Lxc)), "d"), ["dns"]);
        // Digits typed: VMIDs (`candidates` keeps those that start with them).
        assert_eq!(values(What::Guests(None), "1"), ["100", "101", "200"]);
        let o = from_resources(&resources(), What::Guests(Some(GuestKind::Qemu)), "");
        assert_eq!(o[0].help.as_deref(), Some("101 on pve2, template"));
        assert_eq!(o[1].help.as_deref(), Some("100 on pve1, running"));
    }

    #[test]
    fn nodes_storages_tags_pools() {
        assert_eq!(values(What::Nodes, ""), ["pve1", "pve2"]);
        assert_eq!(values(What::Storages, ""), ["local"]);
        let o = from_resources(&resources(), What::Storages, "");
        assert_eq!(o[0].help.as_deref(), Some("on pve1, pve2"));
        assert_eq!(values(What::Tags, ""), ["infra", "prod", "web"]);
        assert_eq!(values(What::Pools, ""), ["infra"]);
    }

    #[test]
    fn the_guest_of_a_snapshot_by_name_or_vmid_of_its_kind() {
        let r = resources();
        let g = find_guest(&r, "web-1", Some(GuestKind::Qemu)).unwrap();
        assert_eq!((g.vmid, g.node.as_str()), (100, "pve1"));
        assert!(find_guest(&r, "200", Some(GuestKind::Qemu)).is_none());
        assert_eq!(find_guest(&r, "200", None).unwrap().kind, GuestKind::Lxc);
    }
}
