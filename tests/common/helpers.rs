//! What end-to-end tests look at besides the run itself: the requests a fakepve received, the
//! guests and tasks it holds afterwards, and small things several tests need (a command line split
//! into arguments, a port nobody listens on).

use serde_json::Value;

use super::Fake;

// ------------------------------------------------------------------------------------ requests

/// One request as the server received it: method, path under /api2/json, and its parameters
/// (query string, then form body), percent-decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl Req {
    /// `METHOD path`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A request as a test expects it.
pub fn req(method: &str, path: &str, params: &[(&str, &str)]) -> Req {
    Req {
        method: method.into(),
        path: path.into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

/// Every request since the fake started (or since `Fake::clear_requests`).
pub fn sent(fake: &Fake) -> Vec<Req> {
    fake.exec("result = pve.sent")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Req {
            method: text(&r[0]),
            path: text(&r[1]),
            params: r[3]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (text(&p[0]), text(&p[1])))
                .collect(),
        })
        .collect()
}

/// `METHOD path` of every request, in order.
pub fn seen(fake: &Fake) -> Vec<String> {
    sent(fake).iter().map(Req::line).collect()
}

/// `METHOD target` of every request, in order, the target as sent: the path still
/// percent-encoded, and the query string.
pub fn seen_as_sent(fake: &Fake) -> Vec<String> {
    fake.exec("result = [[m, t] for (m, p, t, q) in pve.sent]")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", text(&r[0]), text(&r[1])))
        .collect()
}

/// The requests that could change something (not GETs, not the password login).
pub fn writes(fake: &Fake) -> Vec<Req> {
    sent(fake)
        .into_iter()
        .filter(|r| r.method != "GET" && r.path != "/access/ticket")
        .collect()
}

/// `METHOD path` of each of the `writes`.
pub fn write_lines(fake: &Fake) -> Vec<String> {
    writes(fake).iter().map(Req::line).collect()
}

// ------------------------------------------------------------------------------ server state

/// The guest as the server holds it, or null when it does not exist: kind (`qemu` or `lxc`),
/// node, status, qmpstatus (VMs), lock, config, pending, template, checkpoint, snapshots.
pub fn guest(fake: &Fake, vmid: u32) -> Value {
    fake.exec(&format!(
        "g = pve.guest({vmid})\n\
         result = None if g is None else {{'kind': 'lxc' if g in pve.cts else 'qemu', \
         'node': g.node, 'status': g.status, 'qmpstatus': getattr(g, 'qmpstatus', None), \
         'lock': g.lock, 'config': g.config, 'pending': g.pending, 'template': bool(g.template), \
         'checkpoint': getattr(g, 'checkpoint', None), \
         'snapshots': {{n: {{'parent': s.get('parent'), 'description': s.get('description'), \
         'vmstate': bool(s.get('vmstate'))}} for n, s in g.snapshots.items()}}}}"
    ))
}

/// The guest's status (`running`, `stopped`…); the guest must exist.
#[track_caller]
pub fn status_of(fake: &Fake, vmid: u32) -> String {
    let g = guest(fake, vmid);
    assert!(!g.is_null(), "no guest {vmid} on the server");
    text(&g["status"])
}

/// The tasks the server has run, oldest first: PVE's task records (upid, type, id, user, status,
/// exitstatus once it ended, log…).
pub fn tasks(fake: &Fake) -> Vec<Value> {
    let v = fake.exec("result = pve.tasklog");
    v.as_array().unwrap().clone()
}

/// Every UPID the server has started, oldest first.
pub fn upids(fake: &Fake) -> Vec<String> {
    tasks(fake).iter().map(|t| text(&t["upid"])).collect()
}

/// The types of the tasks the server has run, oldest first.
pub fn task_types(fake: &Fake) -> Vec<String> {
    tasks(fake).iter().map(|t| text(&t["type"])).collect()
}

/// The task record of one UPID (status, exitstatus, log…).
#[track_caller]
pub fn task(fake: &Fake, upid: &str) -> Value {
    let t = fake.exec(&format!("result = pve.tasks.get({upid:?})"));
    assert!(!t.is_null(), "no task {upid} on the server");
    t
}

// ------------------------------------------------------------------------------------- other

/// A command line split on whitespace (arguments with spaces are written as arrays).
pub fn cmd(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The file in which pvectl keeps where the fake's guests were last seen (one per server and
/// login, under the test's home).
pub fn hint_file(fake: &Fake) -> std::path::PathBuf {
    let dir = fake.home.path().join(".cache").join("pvectl");
    let found: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("nodes-")
        })
        .collect();
    assert_eq!(found.len(), 1, "one file of guests' nodes in {found:?}");
    found[0].clone()
}

/// The node pvectl keeps for guest `vmid`.
pub fn kept_node(fake: &Fake, vmid: u32) -> Option<String> {
    let kept = std::fs::read_to_string(hint_file(fake)).unwrap();
    let id = vmid.to_string();
    kept.lines().find_map(|l| {
        let f: Vec<&str> = l.split('\t').collect();
        (f.first() == Some(&id.as_str())).then(|| f.get(2).unwrap_or(&"").to_string())
    })
}
