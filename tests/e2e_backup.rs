//! End-to-end: `pvectl backup create|list|restore|delete|prune|jobs` against fakepve.
//!
//! fakepve's own vzdump is a stub, so every cluster here runs `emulate_vzdump` (and, where prune
//! matters, `emulate_prune`) from tests/support/fakepve_ctl.py: PVE's node-local vzdump with its
//! per-guest log, archives stored on the storage, PVE's prune marks. Each test checks the exit
//! code, both streams, the requests sent (parameters under PVE's names) and the server's state.

mod common;

use std::collections::BTreeMap;

use common::helpers::{cmd, guest, seen, sent, tasks, writes, Req};
use common::{Fake, Run, API};
use serde_json::{json, Value};

/// Size of every archive `emulate_vzdump` makes (its log says `archive file size: 42MB`).
const ARCHIVE_SIZE: u64 = 42 * 1024 * 1024;

/// Three nodes with VMs and containers, a shared backup storage `nfs`, and PVE's vzdump. Each
/// guest's backup takes 2 PVE seconds by its log (tasks still end at once: time_scale 0).
const CLUSTER: &str = "\
pve.add_node('pve2'); pve.add_node('pve3')
pve.add_vm(100, 'web1', node='pve1', status='running', config={'tags': 'prod'}, pool='web')
pve.add_ct(200, 'cache1', node='pve1', status='running', config={'tags': 'prod'})
pve.add_vm(101, 'web2', node='pve2', pool='web')
pve.add_ct(201, 'proxy1', node='pve2', pool='web')
pve.add_vm(102, 'db1', node='pve3', status='running', config={'tags': 'db;prod'})
pve.storages['nfs'] = {'type': 'nfs', 'shared': 1, 'content': 'backup', 'active': 1, 'files': set(),
                       'volumes': {}, 'server': '10.0.0.1', 'export': '/backup', 'path': '/mnt/pve/nfs'}
emulate_vzdump(pve, secs=2)
";

fn cluster() -> Fake {
    Fake::with(CLUSTER)
}

/// Archives of earlier days on `nfs` (and one on `usb`, a directory storage on pve2 only):
/// (storage, volume name, vmid, ctime, protected). Newest first: usb 101, 200 (Jan 4), 100 (Jan 3),
/// 200 (Jan 2, protected), 100 (Jan 1), 300 (a container that no longer exists).
#[rustfmt::skip]
const SEEDED: [(&str, &str, u32, i64, bool); 6] = [
    ("usb", "backup/vzdump-qemu-101-2026_01_05-00_00_00.vma.zst", 101, 1_767_571_200, false),
    ("nfs", "backup/vzdump-lxc-200-2026_01_04-00_00_00.tar.zst", 200, 1_767_484_800, false),
    ("nfs", "backup/vzdump-qemu-100-2026_01_03-00_00_00.vma.zst", 100, 1_767_398_400, false),
    ("nfs", "backup/vzdump-lxc-200-2026_01_02-00_00_00.tar.zst", 200, 1_767_312_000, true),
    ("nfs", "backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst", 100, 1_767_225_600, false),
    ("nfs", "backup/vzdump-lxc-300-2025_12_31-00_00_00.tar.zst", 300, 1_767_139_200, false),
];

/// The cluster with the SEEDED archives; the newest of 100 has notes.
fn cluster_with_backups() -> Fake {
    let fake = cluster();
    fake.exec(
        "pve.storages['usb'] = {'type': 'dir', 'content': 'backup', 'active': 1, 'files': set(), 'volumes': {},
                          'path': '/mnt/usb', 'nodes': 'pve2'}",
    );
    for (i, (storage, name, vmid, ctime, protected)) in SEEDED.iter().enumerate() {
        let format = name.split_once('.').unwrap().1;
        let protected = if *protected { "True" } else { "False" };
        fake.exec(&format!(
            "pve.storages['{storage}']['volumes']['{name}'] = {{'content': 'backup', 'format': '{format}', \
             'size': {size}, 'ctime': {ctime}, 'vmid': {vmid}, 'protected': {protected}}}",
            size = 1000 * (i + 1)
        ));
    }
    fake.exec("pve.storages['nfs']['volumes']['backup/vzdump-qemu-100-2026_01_03-00_00_00.vma.zst']['notes'] = 'before upgrade'");
    fake
}

fn volid(storage: &str, name: &str) -> String {
    format!("{storage}:{name}")
}

/// Parameters of a request (`Req::params`).
type Fields = Vec<(String, String)>;

/// The vzdump POSTs by node, each node's form fields sorted; a node asked twice fails the test.
fn vzdump_posts(fake: &Fake) -> BTreeMap<String, Fields> {
    let mut out = BTreeMap::new();
    for Req {
        method,
        path,
        params: mut fields,
    } in writes(fake)
    {
        let Some(node) = path
            .strip_prefix("/nodes/")
            .and_then(|p| p.strip_suffix("/vzdump"))
        else {
            continue;
        };
        assert_eq!(method, "POST");
        fields.sort();
        let before = out.insert(node.to_string(), fields);
        assert!(before.is_none(), "two vzdump requests to {node}");
    }
    out
}

/// Sorted form fields from `key=value` pairs.
fn fields(pairs: &[(&str, &str)]) -> Fields {
    let mut v: Fields = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

/// The `vmid` field of each node's vzdump request.
fn vzdump_vmids(fake: &Fake) -> BTreeMap<String, String> {
    vzdump_posts(fake)
        .into_iter()
        .map(|(node, f)| {
            let ids: Vec<&String> = f
                .iter()
                .filter(|(k, _)| k == "vmid")
                .map(|(_, v)| v)
                .collect();
            assert_eq!(ids.len(), 1, "one vmid field to {node}: {f:?}");
            (node, ids[0].clone())
        })
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The volumes a storage holds now: volume name → fakepve's record (content, size, protected…).
fn volumes(fake: &Fake, storage: &str) -> BTreeMap<String, Value> {
    let v = fake.exec(&format!(
        "result = pve.storages['{storage}'].get('volumes', {{}})"
    ));
    serde_json::from_value(v).unwrap()
}

/// The archives of one guest on a storage (volume names).
fn archives_of(fake: &Fake, storage: &str, kind: &str, vmid: u32) -> Vec<String> {
    let prefix = format!("backup/vzdump-{kind}-{vmid}-");
    volumes(fake, storage)
        .into_keys()
        .filter(|k| k.starts_with(&prefix))
        .collect()
}

/// The one archive a backup made for a guest.
#[track_caller]
fn archive_of(fake: &Fake, storage: &str, kind: &str, vmid: u32) -> String {
    let found = archives_of(fake, storage, kind, vmid);
    assert_eq!(
        found.len(),
        1,
        "one archive of {vmid} on {storage}: {found:?}"
    );
    found[0].clone()
}

/// Tasks the server ran: (type, id, exitstatus or "running").
fn outcomes(fake: &Fake) -> Vec<(String, String, String)> {
    tasks(fake)
        .iter()
        .map(|t| {
            let text = |key: &str| t[key].as_str().unwrap_or_default().to_string();
            let exitstatus = Some(text("exitstatus")).filter(|e| !e.is_empty());
            (
                text("type"),
                text("id"),
                exitstatus.unwrap_or(text("status")),
            )
        })
        .collect()
}

fn outcome(kind: &str, id: &str, exitstatus: &str) -> (String, String, String) {
    (kind.to_string(), id.to_string(), exitstatus.to_string())
}

fn task_upids(fake: &Fake, kind: &str) -> Vec<String> {
    tasks(fake)
        .iter()
        .filter(|t| t["type"] == kind)
        .map(|t| t["upid"].as_str().unwrap().to_string())
        .collect()
}

/// `pvectl` with the words of `line` as its arguments.
fn pvectl(fake: &Fake, line: &str) -> Run {
    fake.run(&cmd(line))
}

#[track_caller]
fn no_changes(fake: &Fake) {
    let c = writes(fake);
    assert!(c.is_empty(), "nothing may be sent, but: {c:?}");
}

// ------------------------------------------------------------------------------------- create

#[test]
fn create_by_names_and_vmids_of_both_kinds_sends_one_vzdump_per_node() {
    let fake = cluster();
    let mut args: Vec<&str> = "backup create web1 101 cache1 db1 --storage nfs --mode stop \
         --compress zstd --protected --exclude-path /tmp --exclude-path /var/log/*.log"
        .split_whitespace()
        .collect();
    args.extend(["--notes-template", "{{guestname}} on {{node}}"]);
    let run = fake.run(&args);
    run.success();
    run.stdout_empty();

    // vzdump is node-local: three nodes, three requests, each with its own guests.
    let options = [
        ("storage", "nfs"),
        ("mode", "stop"),
        ("compress", "zstd"),
        ("protected", "1"),
        ("notes-template", "{{guestname}} on {{node}}"),
        ("exclude-path", "/tmp"),
        ("exclude-path", "/var/log/*.log"),
    ];
    let with = |vmid: &'static str| {
        let mut f = options.to_vec();
        f.push(("vmid", vmid));
        fields(&f)
    };
    let expected: BTreeMap<String, Fields> = [
        ("pve1".to_string(), with("100,200")),
        ("pve2".to_string(), with("101")),
        ("pve3".to_string(), with("102")),
    ]
    .into();
    assert_eq!(vzdump_posts(&fake), expected);
    assert_eq!(writes(&fake).len(), 3, "only the three vzdump requests");

    // The archives are on the storage, protected, with the notes of the template.
    for (kind, vmid, name, node) in [
        ("qemu", 100, "web1", "pve1"),
        ("qemu", 101, "web2", "pve2"),
        ("lxc", 200, "cache1", "pve1"),
        ("qemu", 102, "db1", "pve3"),
    ] {
        let archive = archive_of(&fake, "nfs", kind, vmid);
        let vol = &volumes(&fake, "nfs")[&archive];
        assert_eq!(vol["protected"], true, "{archive}");
        assert_eq!(vol["notes"], format!("{name} on {node}"), "{archive}");
        run.stderr_has(&format!(
            "{name} ({vmid}): backup to {} (42 MiB) in 2.0s\n",
            volid("nfs", &archive)
        ));
    }
    // Not a terminal: a line when each node's job starts, a result per guest, the summary.
    for (node, n) in [
        ("pve1", "2 guests"),
        ("pve2", "1 guest"),
        ("pve3", "1 guest"),
    ] {
        run.stderr_has(&format!("{node} ({n}): backup task UPID:{node}:"));
    }
    let summary: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("TARGET"))
        .collect();
    assert_eq!(
        summary.len(),
        5,
        "header and a row per guest:\n{}",
        run.stderr
    );
    for (row, label) in
        summary[1..]
            .iter()
            .zip(["web1 (100)", "web2 (101)", "cache1 (200)", "db1 (102)"])
    {
        assert!(
            row.starts_with(label),
            "rows in target order:\n{}",
            run.stderr
        );
    }
    // Every job ended OK on the server.
    let jobs: Vec<_> = outcomes(&fake)
        .into_iter()
        .filter(|t| t.0 == "vzdump")
        .collect();
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|t| t.2 == "OK"), "{jobs:?}");
}

#[test]
fn create_without_storage_uses_the_default_and_names_its_volume() {
    let fake = cluster();
    let run = pvectl(&fake, "backup create web1");
    run.success();
    run.stdout_empty();
    assert_eq!(
        vzdump_posts(&fake),
        BTreeMap::from([("pve1".to_string(), fields(&[("vmid", "100")]))])
    );
    // vzdump's default storage (fakepve's vzdump.conf says `local`) is where the archive went.
    let archive = archive_of(&fake, "local", "qemu", 100);
    run.stderr_has(&format!(
        "web1 (100): backup to {} (42 MiB) in 2.0s",
        volid("local", &archive)
    ));
    // One guest: no summary table.
    assert!(!run.stderr.contains("TARGET"), "{}", run.stderr);
}

#[test]
fn stop_mode_on_guests_picked_by_a_selector_needs_yes() {
    let fake = cluster();
    // Stop mode stops running guests: picked by a selector, that needs confirmation.
    let run = pvectl(&fake, "backup create --all --storage nfs --mode stop");
    run.failure(2).stderr_has("add --yes");
    assert!(run.stderr.contains("stop mode"), "{}", run.stderr);
    assert!(
        vzdump_posts(&fake).is_empty(),
        "nothing started without --yes"
    );
    // Snapshot mode leaves the guests running: no question.
    pvectl(&fake, "backup create --all --storage nfs --mode snapshot").success();
    assert_eq!(vzdump_posts(&fake).len(), 3);
    fake.clear_requests();
    pvectl(&fake, "backup create --all --storage nfs --mode stop --yes").success();
    assert_eq!(vzdump_posts(&fake).len(), 3);
    // Named guests need no confirmation.
    fake.clear_requests();
    pvectl(&fake, "backup create web1 --storage nfs --mode stop").success();
    assert_eq!(vzdump_posts(&fake).len(), 1);
}

#[test]
fn create_all_and_all_with_exclude() {
    let fake = cluster();
    pvectl(&fake, "backup create --all --storage nfs").success();
    assert_eq!(
        vzdump_vmids(&fake),
        owned(&[("pve1", "100,200"), ("pve2", "101,201"), ("pve3", "102")])
    );
    for (kind, vmid) in [
        ("qemu", 100),
        ("lxc", 200),
        ("qemu", 101),
        ("lxc", 201),
        ("qemu", 102),
    ] {
        archive_of(&fake, "nfs", kind, vmid);
    }

    // --exclude takes names and VMIDs; a node left without guests gets no request at all.
    fake.clear_requests();
    let run = pvectl(
        &fake,
        "backup create --all --storage nfs --exclude cache1 102",
    );
    run.success();
    assert_eq!(
        vzdump_vmids(&fake),
        owned(&[("pve1", "100"), ("pve2", "101,201")])
    );
    assert!(!run.stderr.contains("cache1"), "{}", run.stderr);
    assert!(!run.stderr.contains("db1"), "{}", run.stderr);
    assert_eq!(
        archives_of(&fake, "nfs", "lxc", 200).len(),
        1,
        "200 not backed up again"
    );
    assert_eq!(archives_of(&fake, "nfs", "qemu", 100).len(), 2);

    // Excluding everything leaves nothing to do: not found, nothing sent.
    fake.clear_requests();
    let run = pvectl(&fake, "backup create --node pve3 --all --exclude db1");
    run.failure(5)
        .stderr_has("--exclude leaves no guest to back up");
    no_changes(&fake);
}

#[test]
fn create_by_pool_tag_and_node() {
    let fake = cluster();
    pvectl(&fake, "backup create --pool web --storage nfs").success();
    assert_eq!(
        vzdump_vmids(&fake),
        owned(&[("pve1", "100"), ("pve2", "101,201")])
    );

    fake.clear_requests();
    pvectl(&fake, "backup create --tag prod --storage nfs").success();
    assert_eq!(
        vzdump_vmids(&fake),
        owned(&[("pve1", "100,200"), ("pve3", "102")])
    );

    fake.clear_requests();
    let run = pvectl(&fake, "backup create --node pve2 --storage nfs");
    run.success();
    assert_eq!(vzdump_vmids(&fake), owned(&[("pve2", "101,201")]));
    run.stderr_has("web2 (101): backup to nfs:backup/vzdump-qemu-101-")
        .stderr_has("proxy1 (201): backup to nfs:backup/vzdump-lxc-201-");

    // Selectors combine: the prod guests on pve1 only.
    fake.clear_requests();
    pvectl(&fake, "backup create --tag prod --node pve1 --storage nfs").success();
    assert_eq!(vzdump_vmids(&fake), owned(&[("pve1", "100,200")]));

    // A selector that picks nothing: not found, nothing sent.
    fake.clear_requests();
    pvectl(&fake, "backup create --pool web --tag db")
        .failure(5)
        .stderr_has("the selectors pick no guest");
    no_changes(&fake);
}

#[test]
fn create_json_has_one_object_per_guest_in_target_order() {
    let fake = cluster();
    let run = pvectl(&fake, "-o json backup create db1 proxy1 web1 --storage nfs");
    run.success();
    let results = run.json();
    let results = results.as_array().expect("a JSON array");
    assert_eq!(results.len(), 3, "{results:?}");
    let upids = task_upids(&fake, "vzdump");
    for (r, (vmid, name, node, kind)) in results.iter().zip([
        (102, "db1", "pve3", "qemu"),
        (201, "proxy1", "pve2", "lxc"),
        (100, "web1", "pve1", "qemu"),
    ]) {
        let archive = archive_of(&fake, "nfs", kind, vmid);
        assert_eq!(r["vmid"], vmid, "{r}");
        assert_eq!(r["name"], name, "{r}");
        assert_eq!(r["node"], node, "{r}");
        assert_eq!(r["type"], kind, "{r}");
        assert_eq!(r["action"], "backup", "{r}");
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["exitstatus"], "OK", "{r}");
        assert_eq!(r["volid"], volid("nfs", &archive), "{r}");
        assert_eq!(r["size"], ARCHIVE_SIZE, "{r}");
        // The guest's own time from its `Finished Backup of VM N (00:00:02)` line.
        assert_eq!(r["duration_s"], 2.0, "{r}");
        assert_eq!(r["warnings"], Value::Array(vec![]), "{r}");
        let upid = r["upid"].as_str().unwrap();
        assert!(upids.iter().any(|u| u == upid), "{upid} is a server task");
        assert!(upid.starts_with(&format!("UPID:{node}:")), "{upid}");
    }
    // The array is the summary: no table on stderr.
    assert!(!run.stderr.contains("TARGET"), "{}", run.stderr);
}

#[test]
fn create_reports_each_archive_with_its_size_also_when_the_log_gives_none() {
    // A backup to PBS logs no `archive file size`: the size is read from the storage, once per
    // node, and only then.
    let fake = Fake::with(&CLUSTER.replace(
        "emulate_vzdump(pve, secs=2)",
        "emulate_vzdump(pve, secs=2, size_line=False)",
    ));
    let run = pvectl(&fake, "backup create web1 cache1 web2 --storage nfs");
    run.success().stdout_empty();
    for (name, vmid, kind) in [
        ("web1", 100, "qemu"),
        ("cache1", 200, "lxc"),
        ("web2", 101, "qemu"),
    ] {
        let archive = volid("nfs", &archive_of(&fake, "nfs", kind, vmid));
        run.stderr_has(&format!(
            "{name} ({vmid}): backup to {archive} (42 MiB) in 2.0s\n"
        ));
    }
    // The summary of several guests says it too.
    let summary: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("TARGET"))
        .collect();
    assert_eq!(summary.len(), 4, "{}", run.stderr);
    assert!(
        summary[1].starts_with("web1 (100)") && summary[1].contains(".vma.zst (42 MiB)"),
        "{}",
        run.stderr
    );
    let mut listings: Vec<String> = sent(&fake)
        .iter()
        .filter(|r| r.path.ends_with("/content"))
        .map(|r| format!("{} {:?}", r.line(), r.params))
        .collect();
    listings.sort();
    assert_eq!(
        listings,
        [
            r#"GET /nodes/pve1/storage/nfs/content [("content", "backup")]"#,
            r#"GET /nodes/pve2/storage/nfs/content [("content", "backup"), ("vmid", "101")]"#,
        ]
    );
    let run = pvectl(&fake, "-o json backup create db1 --storage nfs");
    run.success();
    assert_eq!(run.json()[0]["size"], ARCHIVE_SIZE);
    assert_eq!(
        run.json()[0]["message"],
        format!(
            "to {} (42 MiB)",
            volid("nfs", &archive_of(&fake, "nfs", "qemu", 102))
        )
    );

    // With the size in the log, the storage is not asked.
    let fake = cluster();
    pvectl(&fake, "backup create web1 web2 --storage nfs").success();
    assert!(
        sent(&fake).iter().all(|r| !r.path.ends_with("/content")),
        "{:?}",
        seen(&fake)
    );
}

#[test]
fn create_with_a_locked_guest_reports_its_error_and_backs_up_the_others() {
    let fake = cluster();
    fake.exec("pve.guest(101).lock = 'snapshot'; pve.guest(101).config['lock'] = 'snapshot'");
    let run = pvectl(&fake, "backup create --all --storage nfs");
    run.failure(8);
    run.stdout_empty();
    // PVE's reason for that guest, in its row of the summary and in the task log tail.
    run.stderr_has("web2 (101): backup failed:")
        .stderr_has("ERROR: Backup of VM 101 failed - VM is locked (snapshot)")
        .stderr_has("TASK ERROR: job errors");
    let row = run
        .stderr
        .lines()
        .find(|l| l.starts_with("web2 (101)") && l.contains("pve2"))
        .unwrap_or_else(|| panic!("a summary row for web2:\n{}", run.stderr));
    assert!(
        row.contains("FAILED: backup failed: VM is locked (snapshot)"),
        "{row}"
    );
    // The other guest of the same job and the other nodes' guests are backed up.
    assert!(archives_of(&fake, "nfs", "qemu", 101).is_empty());
    for (kind, vmid, name) in [
        ("qemu", 100, "web1"),
        ("lxc", 200, "cache1"),
        ("lxc", 201, "proxy1"),
        ("qemu", 102, "db1"),
    ] {
        let archive = archive_of(&fake, "nfs", kind, vmid);
        run.stderr_has(&format!(
            "{name} ({vmid}): backup to {}",
            volid("nfs", &archive)
        ));
    }
    assert_eq!(
        vzdump_vmids(&fake),
        owned(&[("pve1", "100,200"), ("pve2", "101,201"), ("pve3", "102")])
    );

    // The same as JSON: the failed guest and its neighbour share the failed job.
    let run = pvectl(&fake, "-o json backup create web2 proxy1 --storage nfs");
    run.failure(8);
    let results = run.json();
    let (failed, done) = (&results[0], &results[1]);
    assert_eq!(failed["vmid"], 101);
    assert_eq!(failed["ok"], false);
    assert_eq!(failed["message"], "backup failed: VM is locked (snapshot)");
    assert_eq!(failed["exitstatus"], "job errors");
    assert!(failed.get("volid").is_none(), "{failed}");
    assert_eq!(done["vmid"], 201);
    assert_eq!(done["ok"], true);
    assert_eq!(done["upid"], failed["upid"], "one vzdump for the node");
    assert_eq!(archives_of(&fake, "nfs", "lxc", 201).len(), 2);
}

#[test]
fn create_with_an_unknown_guest_starts_nothing() {
    let fake = cluster();
    pvectl(&fake, "backup create web1 nosuch --storage nfs")
        .failure(5)
        .stderr_has("no guest named 'nosuch'");
    pvectl(&fake, "backup create 999 cache1")
        .failure(5)
        .stderr_has("no guest with VMID 999");
    no_changes(&fake);
    assert!(outcomes(&fake).is_empty(), "{:?}", outcomes(&fake));
    assert!(volumes(&fake, "nfs").is_empty());
}

#[test]
fn create_with_a_guest_on_an_offline_node_backs_up_the_others() {
    let fake = cluster();
    fake.exec("pve.set_node_offline('pve2')");
    let run = pvectl(&fake, "backup create --all --storage nfs");
    run.failure(7);
    for label in ["web2 (101)", "proxy1 (201)"] {
        run.stderr_has(&format!(
            "{label}: backup failed: a node behind the server cannot be reached (HTTP 595)"
        ));
    }
    for (kind, vmid) in [("qemu", 100), ("lxc", 200), ("qemu", 102)] {
        archive_of(&fake, "nfs", kind, vmid);
    }
    assert!(archives_of(&fake, "nfs", "qemu", 101).is_empty());
    assert!(archives_of(&fake, "nfs", "lxc", 201).is_empty());
    // The offline node was asked once (and could not answer); the others ran their jobs.
    assert_eq!(
        vzdump_vmids(&fake),
        owned(&[("pve1", "100,200"), ("pve2", "101,201"), ("pve3", "102")])
    );
    let jobs: Vec<String> = outcomes(&fake)
        .into_iter()
        .filter(|t| t.0 == "vzdump")
        .map(|t| t.2)
        .collect();
    assert_eq!(jobs, ["OK", "OK"]);
}

#[test]
fn create_no_wait_prints_each_jobs_upid_once() {
    let fake = cluster();
    let run = pvectl(&fake, "backup create --all --storage nfs --no-wait");
    run.success();
    let printed: Vec<&str> = run.stdout.lines().collect();
    let mut upids = task_upids(&fake, "vzdump");
    upids.sort();
    let mut sorted = printed.clone();
    sorted.sort();
    assert_eq!(sorted, upids, "one UPID per node's job:\n{}", run.stdout);
    assert_eq!(printed.len(), 3);
    for label in [
        "web1 (100)",
        "cache1 (200)",
        "web2 (101)",
        "proxy1 (201)",
        "db1 (102)",
    ] {
        run.stderr_has(&format!("{label}: backup requested, not waited for (UPID:"));
    }

    // With -o json every guest keeps its job's UPID.
    let run = pvectl(&fake, "-o json backup create web1 cache1 --no-wait");
    run.success();
    let results = run.json();
    assert_eq!(results[0]["upid"], results[1]["upid"]);
    assert!(results[0]["upid"].as_str().unwrap().contains(":vzdump::"));
    assert_eq!(results[0]["message"], "started");
}

#[test]
fn create_to_a_storage_that_cannot_take_backups_starts_nothing() {
    let fake = cluster();
    let run = pvectl(&fake, "backup create --all --storage nope");
    run.failure(5)
        .stderr_has("cannot back up to storage 'nope'; nothing was started")
        .stderr_has("storage 'nope' does not exist");
    run.stdout_empty();
    no_changes(&fake);

    let run = pvectl(&fake, "backup create web1 --storage local-lvm");
    run.failure(6)
        .stderr_has("can't use storage 'local-lvm' for backups - wrong content type");
    no_changes(&fake);
    assert!(outcomes(&fake).is_empty());
    // PVE checked it: the vzdump defaults for that storage.
    assert!(fake
        .requests()
        .iter()
        .any(|(m, p, _)| m == "GET" && p == "/api2/json/nodes/pve1/vzdump/defaults"));
}

#[test]
fn create_usage_errors_send_nothing() {
    let fake = cluster();
    pvectl(&fake, "backup create web1 --protected")
        .failure(2)
        .stderr_has("--protected need --storage");
    pvectl(&fake, "backup create web1 --exclude cache1").failure(2);
    pvectl(&fake, "backup create")
        .failure(2)
        .stderr_has("no guests given");
    pvectl(&fake, "backup create web1 --mode fast").failure(2);
    no_changes(&fake);
}

#[test]
fn create_when_the_guest_left_the_node_says_it_was_not_backed_up() {
    let fake = cluster();
    // The guest migrates away between pvectl's lookup and its vzdump request: PVE answers "OK".
    fake.exec(
        "emulated = pve.synthesise\n\
         async def racing(match, method, info, user, values):\n\
         \x20   if method == 'POST' and match.template == '/nodes/{node}/vzdump':\n\
         \x20       pve.guest(100).node = 'pve3'\n\
         \x20   return await emulated(match, method, info, user, values)\n\
         pve.synthesise = racing",
    );
    let run = pvectl(&fake, "backup create web1 --storage nfs");
    run.failure(8)
        .stderr_has("web1 (100): backup failed: not backed up: PVE on pve1 started no backup");
    assert!(volumes(&fake, "nfs").is_empty());
}

// --------------------------------------------------------------------------------------- list

#[test]
fn list_shows_every_backup_newest_first_a_shared_storage_once() {
    let fake = cluster_with_backups();
    let run = pvectl(&fake, "backup list");
    run.success();
    assert_eq!(run.stderr, "");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1 + SEEDED.len(), "{}", run.stdout);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "VOLID",
            "VMID",
            "NAME",
            "TYPE",
            "SIZE",
            "CREATED",
            "AGE",
            "NOTES",
            "PROTECTED",
            "STORAGE",
            "NODE"
        ]
    );
    // Newest first; each backup once although `nfs` is on three nodes; names of today's guests.
    let names = ["web2", "cache1", "web1", "cache1", "web1", ""];
    for ((line, (storage, name, vmid, _, _)), guest) in lines[1..].iter().zip(SEEDED).zip(names) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[0], volid(storage, name), "{}", run.stdout);
        assert_eq!(cells[1], vmid.to_string());
        if guest.is_empty() {
            assert_eq!(cells[2], "lxc", "no name for a guest that is gone: {line}");
        } else {
            assert_eq!(cells[2], guest, "{line}");
        }
    }
    // The local storage's node is named, a shared one's is not.
    let tail = |line: &str, n: usize| -> Vec<String> {
        let cells: Vec<&str> = line.split_whitespace().collect();
        cells[cells.len() - n..]
            .iter()
            .map(|c| c.to_string())
            .collect()
    };
    assert_eq!(tail(lines[1], 3), ["no", "usb", "pve2"], "{}", lines[1]);
    assert_eq!(tail(lines[2], 2), ["no", "nfs"], "{}", lines[2]);
    assert_eq!(
        tail(lines[3], 4),
        ["before", "upgrade", "no", "nfs"],
        "{}",
        lines[3]
    );
    assert_eq!(tail(lines[4], 2), ["yes", "nfs"], "protected: {}", lines[4]);

    let run = pvectl(&fake, "-o json backup list");
    run.success();
    let rows = run.json();
    let rows = rows.as_array().unwrap();
    let volids: Vec<String> = rows
        .iter()
        .map(|r| r["volid"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = SEEDED.iter().map(|(s, n, ..)| volid(s, n)).collect();
    assert_eq!(volids, expected);
    // PVE's content entry as it is, with where it was found and the guest's current name; a
    // shared storage belongs to no node, so its backups have none.
    assert_eq!(
        rows[2],
        json!({
            "volid": "nfs:backup/vzdump-qemu-100-2026_01_03-00_00_00.vma.zst", "content": "backup",
            "format": "vma.zst", "size": 3000, "ctime": "2026-01-03T00:00:00+00:00", "vmid": 100,
            "notes": "before upgrade", "protected": 0, "subtype": "qemu",
            "name": "web1", "storage": "nfs",
        })
    );
    assert_eq!(rows[0]["node"], "pve2");
    assert_eq!(rows[3]["protected"], 1);
    assert_eq!(rows[3]["subtype"], "lxc");
    assert!(
        rows[5].get("name").is_none(),
        "a guest that is gone: {}",
        rows[5]
    );
    for r in rows {
        assert!(
            r.as_object().unwrap().values().all(|v| !v.is_null()),
            "no invented nulls: {r}"
        );
    }
    let run = pvectl(&fake, "-o tsv backup list");
    run.success();
    let tsv: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        tsv[0],
        "volid\tvmid\tname\tsubtype\tsize\tctime\tnotes\tprotected\tstorage\tnode"
    );
    assert_eq!(
        tsv[1],
        "usb:backup/vzdump-qemu-101-2026_01_05-00_00_00.vma.zst\t101\tweb2\tqemu\t1000\t2026-01-05T00:00:00+00:00\t\t0\tusb\tpve2"
    );
    assert_eq!(
        tsv[6],
        "nfs:backup/vzdump-lxc-300-2025_12_31-00_00_00.tar.zst\t300\t\tlxc\t6000\t2025-12-31T00:00:00+00:00\t\t0\tnfs\t"
    );
    // Per run: the shared nfs read once, usb where it is, the (empty) local on every node.
    let mut reads: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|(_, p, _)| p.ends_with("/content"))
        .map(|(_, p, _)| p.trim_start_matches(API).to_string())
        .collect();
    reads.sort();
    let once = [
        "/nodes/pve1/storage/local/content",
        "/nodes/pve1/storage/nfs/content",
        "/nodes/pve2/storage/local/content",
        "/nodes/pve2/storage/usb/content",
        "/nodes/pve3/storage/local/content",
    ];
    // Three runs: table, JSON and TSV.
    let thrice: Vec<&str> = once.iter().flat_map(|p| [*p, *p, *p]).collect();
    assert_eq!(reads, thrice);
}

#[test]
fn list_filters_by_guest_name_gone_vmid_and_storage() {
    let fake = cluster_with_backups();
    let volids = |run: &Run| -> Vec<String> {
        run.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["volid"].as_str().unwrap().to_string())
            .collect()
    };
    let run = pvectl(&fake, "-o json backup list web1");
    run.success();
    assert_eq!(
        volids(&run),
        [
            "nfs:backup/vzdump-qemu-100-2026_01_03-00_00_00.vma.zst",
            "nfs:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst"
        ]
    );
    // A VMID works for a guest that no longer exists.
    let run = pvectl(&fake, "-o json backup list 300");
    run.success();
    assert_eq!(
        volids(&run),
        ["nfs:backup/vzdump-lxc-300-2025_12_31-00_00_00.tar.zst"]
    );
    // Several guests, and a glob.
    let run = pvectl(&fake, "-o json backup list cache* 101");
    run.success();
    assert_eq!(
        volids(&run),
        [
            "usb:backup/vzdump-qemu-101-2026_01_05-00_00_00.vma.zst",
            "nfs:backup/vzdump-lxc-200-2026_01_04-00_00_00.tar.zst",
            "nfs:backup/vzdump-lxc-200-2026_01_02-00_00_00.tar.zst"
        ]
    );
    let run = pvectl(&fake, "-o json backup list --storage usb");
    run.success();
    assert_eq!(
        volids(&run),
        ["usb:backup/vzdump-qemu-101-2026_01_05-00_00_00.vma.zst"]
    );
    // As seen from pve2: the shared storage read there, usb too.
    fake.clear_requests();
    let run = pvectl(&fake, "-o json backup list 101 cache1 --node pve2");
    run.success();
    assert_eq!(
        volids(&run),
        [
            "usb:backup/vzdump-qemu-101-2026_01_05-00_00_00.vma.zst",
            "nfs:backup/vzdump-lxc-200-2026_01_04-00_00_00.tar.zst",
            "nfs:backup/vzdump-lxc-200-2026_01_02-00_00_00.tar.zst"
        ]
    );
    let nodes_read: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|(_, p, _)| p.ends_with("/content"))
        .map(|(_, p, _)| p.trim_start_matches(API).to_string())
        .collect();
    assert!(
        nodes_read.iter().all(|p| p.starts_with("/nodes/pve2/")),
        "{nodes_read:?}"
    );
    let run = pvectl(&fake, "-o json backup list web2 --storage nfs");
    run.success();
    assert_eq!(run.json(), Value::Array(vec![]));
    // A guest with no backups: an empty list (header only in a table), not an error.
    let run = pvectl(&fake, "backup list db1");
    run.success();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);

    pvectl(&fake, "backup list --storage nope")
        .failure(5)
        .stderr_has("no storage 'nope'");
    pvectl(&fake, "backup list --storage local-lvm")
        .failure(6)
        .stderr_has("storage 'local-lvm' does not hold backups");
    pvectl(&fake, "backup list nosuch")
        .failure(5)
        .stderr_has("no guest named 'nosuch'");
}

#[test]
fn list_includes_what_create_made() {
    let fake = cluster();
    pvectl(&fake, "backup create proxy1 db1 --storage nfs").success();
    let run = pvectl(&fake, "-o json backup list");
    run.success();
    let rows = run.json();
    let mut got: Vec<(u64, String, u64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["vmid"].as_u64().unwrap(),
                r["name"].as_str().unwrap().to_string(),
                r["size"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (102, "db1".to_string(), ARCHIVE_SIZE),
            (201, "proxy1".to_string(), ARCHIVE_SIZE)
        ]
    );
}

// ------------------------------------------------------------------------------------ restore

const CT_300: &str = "nfs:backup/vzdump-lxc-300-2025_12_31-00_00_00.tar.zst";
const CT_200_OLD: &str = "nfs:backup/vzdump-lxc-200-2026_01_02-00_00_00.tar.zst";
const CT_200_NEW: &str = "nfs:backup/vzdump-lxc-200-2026_01_04-00_00_00.tar.zst";
const VM_100: &str = "nfs:backup/vzdump-qemu-100-2026_01_03-00_00_00.vma.zst";

/// One POST and nothing else: its path and fields (sorted).
#[track_caller]
fn the_post(fake: &Fake) -> (String, Fields) {
    let c = writes(fake);
    assert_eq!(c.len(), 1, "one request that changes something: {c:?}");
    let Req {
        method,
        path,
        params: mut f,
    } = c.into_iter().next().unwrap();
    assert_eq!(method, "POST");
    f.sort();
    (path, f)
}

#[test]
fn restore_a_container_archive_creates_the_container() {
    let fake = cluster_with_backups();
    assert!(guest(&fake, 300).is_null());
    let run = pvectl(
        &fake,
        &format!("backup restore {CT_300} --storage local-lvm"),
    );
    run.success();
    run.stdout_empty();
    run.stderr_has(&format!("{CT_300} → 300: restore OK"));
    let (path, f) = the_post(&fake);
    assert_eq!(path, "/nodes/pve1/lxc");
    assert_eq!(
        f,
        fields(&[
            ("vmid", "300"),
            ("ostemplate", CT_300),
            ("restore", "1"),
            ("storage", "local-lvm")
        ])
    );
    let ct = guest(&fake, 300);
    assert_eq!(ct["kind"], "lxc");
    assert_eq!(ct["node"], "pve1");
    assert_eq!(ct["status"], "stopped");
    assert!(
        ct["config"]["rootfs"]
            .as_str()
            .unwrap()
            .starts_with("local-lvm:"),
        "{ct}"
    );
    assert!(outcomes(&fake).contains(&outcome("vzrestore", "300", "OK")));

    // On another node, given; -o json names the volume restored.
    let run = pvectl(
        &fake,
        &format!("-o json backup restore {CT_300} --vmid 310 --node pve2 --storage local-lvm"),
    );
    run.success();
    let r = &run.json()[0];
    assert_eq!(r["vmid"], 310);
    assert_eq!(r["node"], "pve2");
    assert_eq!(r["type"], "lxc");
    assert_eq!(r["action"], "restore");
    assert_eq!(r["volid"], CT_300);
    assert_eq!(r["ok"], true);
    assert_eq!(r["exitstatus"], "OK");
    assert!(
        r["upid"].as_str().unwrap().contains(":vzrestore:310:"),
        "{r}"
    );
    assert_eq!(guest(&fake, 310)["node"], "pve2");
}

#[test]
fn restore_to_a_vmid_in_use_needs_force() {
    let fake = cluster_with_backups();
    pvectl(&fake, &format!("backup restore {CT_300} --vmid 201"))
        .failure(2)
        .stderr_has("VMID 201 is in use by proxy1 (201) on pve2: add --force");
    no_changes(&fake);
    assert_eq!(guest(&fake, 201)["config"]["hostname"], "proxy1");
}

#[test]
fn restore_with_the_archives_vmid_taken_uses_the_next_free_one() {
    let fake = cluster_with_backups();
    let run = pvectl(
        &fake,
        &format!("backup restore {CT_200_NEW} --storage local-lvm"),
    );
    run.success();
    // 100–102 and 200–201 exist: PVE's next free id is 103.
    run.stderr_has("VMID 200 is in use by cache1 (200) on pve1: restoring as 103");
    let (path, f) = the_post(&fake);
    assert_eq!(path, "/nodes/pve1/lxc");
    assert_eq!(
        f,
        fields(&[
            ("vmid", "103"),
            ("ostemplate", CT_200_NEW),
            ("restore", "1"),
            ("storage", "local-lvm")
        ])
    );
    assert_eq!(guest(&fake, 103)["kind"], "lxc");
    assert_eq!(
        guest(&fake, 200)["config"]["hostname"],
        "cache1",
        "200 untouched"
    );
}

#[test]
fn restore_over_a_stopped_guest_needs_yes_without_a_terminal() {
    let fake = cluster_with_backups();
    fake.exec(
        "pve.storages['nfs']['volumes']['backup/vzdump-lxc-201-2026_01_01-00_00_00.tar.zst'] = \
         {'content': 'backup', 'format': 'tar.zst', 'size': 5, 'ctime': 1767225600, 'vmid': 201}",
    );
    let archive = "nfs:backup/vzdump-lxc-201-2026_01_01-00_00_00.tar.zst";
    let before = guest(&fake, 201);
    pvectl(&fake, &format!("backup restore {archive} --force"))
        .failure(2)
        .stderr_has(&format!(
            "overwrite proxy1 (201) on pve2 with {archive}: needs confirmation, add --yes"
        ));
    no_changes(&fake);
    assert_eq!(guest(&fake, 201), before);

    let run = pvectl(
        &fake,
        &format!("backup restore {archive} --force --yes --storage local-lvm"),
    );
    run.success();
    run.stderr_has(&format!("{archive} → 201: restore OK"));
    let (path, f) = the_post(&fake);
    // Restored where the guest lives, over it.
    assert_eq!(path, "/nodes/pve2/lxc");
    assert_eq!(
        f,
        fields(&[
            ("vmid", "201"),
            ("ostemplate", archive),
            ("restore", "1"),
            ("force", "1"),
            ("storage", "local-lvm")
        ])
    );
    let after = guest(&fake, 201);
    assert_eq!(after["node"], "pve2");
    assert_ne!(
        after["config"], before["config"],
        "the container was replaced"
    );
    assert!(outcomes(&fake).contains(&outcome("vzrestore", "201", "OK")));
}

#[test]
fn restore_over_a_running_guest_is_refused() {
    let fake = cluster_with_backups();
    let run = pvectl(&fake, &format!("backup restore {CT_200_OLD} --force --yes"));
    run.failure(6)
        .stderr_has("cache1 (200) is running: stop it first (`pvectl ct stop 200`)");
    no_changes(&fake);
    assert_eq!(guest(&fake, 200)["status"], "running");
}

#[test]
fn restore_latest_picks_the_newest_backup() {
    let fake = cluster_with_backups();
    let run = pvectl(
        &fake,
        "backup restore --latest cache1 --vmid 250 --storage local-lvm",
    );
    run.success();
    run.stderr_has(&format!("newest backup of 200: {CT_200_NEW}"));
    let (path, f) = the_post(&fake);
    assert_eq!(path, "/nodes/pve1/lxc");
    assert!(
        f.contains(&("ostemplate".into(), CT_200_NEW.into())),
        "{f:?}"
    );
    assert!(f.contains(&("vmid".into(), "250".into())), "{f:?}");
    assert_eq!(guest(&fake, 250)["kind"], "lxc");

    // By the VMID of a guest that is gone: restored under its own VMID.
    fake.clear_requests();
    pvectl(&fake, "backup restore --latest 300 --storage local-lvm")
        .success()
        .stderr_has(&format!("newest backup of 300: {CT_300}"));
    assert_eq!(guest(&fake, 300)["kind"], "lxc");

    fake.clear_requests();
    pvectl(&fake, "backup restore --latest db1")
        .failure(5)
        .stderr_has("no backup of guest 102");
    no_changes(&fake);
}

#[test]
fn restore_a_vm_archive_sends_archive_and_vmid() {
    let fake = cluster_with_backups();
    // fakepve cannot restore VM archives: it refuses as PVE refuses a request (500).
    let run = pvectl(
        &fake,
        &format!("backup restore {VM_100} --vmid 150 --unique --start"),
    );
    run.failure(6)
        .stderr_has("unable to restore VM 150 - restoring an archive is not supported");
    let (path, f) = the_post(&fake);
    assert_eq!(path, "/nodes/pve1/qemu");
    assert_eq!(
        f,
        fields(&[
            ("vmid", "150"),
            ("archive", VM_100),
            ("unique", "1"),
            ("start", "1")
        ])
    );
    assert!(guest(&fake, 150).is_null());

    // Over the stopped VM 101 on pve2: force, sent to its node.
    fake.clear_requests();
    pvectl(
        &fake,
        &format!("backup restore {VM_100} --vmid 101 --force --yes"),
    )
    .failure(6);
    let (path, f) = the_post(&fake);
    assert_eq!(path, "/nodes/pve2/qemu");
    assert_eq!(
        f,
        fields(&[("vmid", "101"), ("archive", VM_100), ("force", "1")])
    );

    // A VM archive over a container: refused before anything is sent.
    fake.clear_requests();
    pvectl(
        &fake,
        &format!("backup restore {VM_100} --vmid 201 --force --yes"),
    )
    .failure(2)
    .stderr_has("201 is a container and");
    no_changes(&fake);
}

#[test]
fn restore_of_an_unknown_volume_is_not_found() {
    let fake = cluster_with_backups();
    pvectl(
        &fake,
        "backup restore nfs:backup/vzdump-lxc-300-2020_01_01-00_00_00.tar.zst",
    )
    .failure(5)
    .stderr_has("no backup nfs:backup/vzdump-lxc-300-2020_01_01-00_00_00.tar.zst");
    pvectl(
        &fake,
        "backup restore nope:backup/vzdump-lxc-300-2020_01_01-00_00_00.tar.zst",
    )
    .failure(5)
    .stderr_has("no storage 'nope'");
    pvectl(&fake, "backup restore vzdump-lxc-300.tar.zst")
        .failure(2)
        .stderr_has("is not a volume ID");
    no_changes(&fake);
}

// ------------------------------------------------------------------------------------- delete

#[test]
fn delete_needs_yes_without_a_terminal() {
    let fake = cluster_with_backups();
    let run = pvectl(&fake, &format!("backup delete {VM_100}"));
    run.failure(2)
        .stderr_has("delete 1 backup: needs confirmation, add --yes")
        .stderr_has("nothing was done");
    run.stdout_empty();
    no_changes(&fake);
    assert!(volumes(&fake, "nfs").contains_key(VM_100.split_once(':').unwrap().1));
}

#[test]
fn delete_with_yes_removes_the_archive() {
    let fake = cluster_with_backups();
    let run = pvectl(&fake, &format!("backup delete {VM_100} {CT_300} --yes"));
    run.success();
    run.stdout_empty();
    run.stderr_has(&format!("{VM_100}: delete OK"))
        .stderr_has(&format!("{CT_300}: delete OK"));
    let c = writes(&fake);
    let deletes: Vec<(&str, &str)> = c
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        deletes,
        [
            (
                "DELETE",
                format!("/nodes/pve1/storage/nfs/content/{VM_100}").as_str()
            ),
            (
                "DELETE",
                format!("/nodes/pve1/storage/nfs/content/{CT_300}").as_str()
            ),
        ]
    );
    let left = volumes(&fake, "nfs");
    assert!(!left.contains_key(VM_100.split_once(':').unwrap().1));
    assert!(!left.contains_key(CT_300.split_once(':').unwrap().1));
    assert_eq!(left.len(), 3, "the others stay: {left:?}");
    let deletions: Vec<_> = outcomes(&fake)
        .into_iter()
        .filter(|t| t.0 == "imgdel")
        .collect();
    assert_eq!(
        deletions,
        [
            outcome("imgdel", "100@nfs", "OK"),
            outcome("imgdel", "300@nfs", "OK")
        ]
    );

    // -o json: one result per volume.
    let run = pvectl(&fake, &format!("-o json backup delete {CT_200_NEW} --yes"));
    run.success();
    let r = &run.json()[0];
    assert_eq!(r["volid"], CT_200_NEW);
    assert_eq!(r["vmid"], 200);
    assert_eq!(r["action"], "delete");
    assert_eq!(r["ok"], true);
    assert!(!volumes(&fake, "nfs").contains_key(CT_200_NEW.split_once(':').unwrap().1));
}

#[test]
fn delete_of_a_protected_backup_is_refused_and_deletes_nothing() {
    let fake = cluster_with_backups();
    let before = volumes(&fake, "nfs");
    let run = pvectl(&fake, &format!("backup delete {VM_100} {CT_200_OLD} --yes"));
    run.failure(6)
        .stderr_has(&format!(
            "cannot remove protected volume '{CT_200_OLD}' on 'nfs'"
        ))
        .stderr_has("nothing was deleted");
    no_changes(&fake);
    assert_eq!(volumes(&fake, "nfs"), before);
}

#[test]
fn delete_of_an_unknown_volume_is_not_found() {
    let fake = cluster_with_backups();
    pvectl(
        &fake,
        "backup delete nfs:backup/vzdump-qemu-100-2020_01_01-00_00_00.vma.zst --yes",
    )
    .failure(5)
    .stderr_has("no backup nfs:backup/vzdump-qemu-100-2020_01_01-00_00_00.vma.zst");
    pvectl(
        &fake,
        "backup delete nope:backup/vzdump-qemu-100-2020_01_01-00_00_00.vma.zst --yes",
    )
    .failure(5)
    .stderr_has("no storage 'nope'");
    no_changes(&fake);
    assert_eq!(volumes(&fake, "nfs").len(), 5);
}

// -------------------------------------------------------------------------------------- prune

/// nfs with four backups of 100 (one protected), one of 100 renamed by hand, two of 200, and
/// PVE's prune.
fn cluster_to_prune() -> Fake {
    let fake = cluster();
    fake.exec(
        "v = pve.storages['nfs']['volumes']\n\
         for name, vmid, ctime, protected in [\n\
         \x20   ('backup/vzdump-qemu-100-2026_01_03-00_00_00.vma.zst', 100, 1767398400, False),\n\
         \x20   ('backup/vzdump-qemu-100-2026_01_02-00_00_00.vma.zst', 100, 1767312000, False),\n\
         \x20   ('backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst', 100, 1767225600, False),\n\
         \x20   ('backup/vzdump-qemu-100-before_upgrade.vma.zst', 100, 1767052800, False),\n\
         \x20   ('backup/vzdump-qemu-100-2025_06_01-00_00_00.vma.zst', 100, 1748736000, True),\n\
         \x20   ('backup/vzdump-lxc-200-2026_01_02-00_00_00.tar.zst', 200, 1767312000, False),\n\
         \x20   ('backup/vzdump-lxc-200-2026_01_01-00_00_00.tar.zst', 200, 1767225600, False)]:\n\
         \x20   v[name] = {'content': 'backup', 'format': name.split('.', 1)[1], 'size': 10, 'ctime': ctime,\n\
         \x20              'vmid': vmid, 'protected': protected}\n\
         emulate_prune(pve)",
    );
    fake
}

/// (volid, mark) of a prune plan, as printed with -o json.
fn marks(plan: &Value) -> Vec<(String, String)> {
    plan.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["volid"].as_str().unwrap().to_string(),
                e["mark"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn prune_calls(fake: &Fake) -> Vec<(String, String, Value)> {
    let v = fake.exec("result = [[m, n, p] for (m, n, s, p) in pve.prune_calls]");
    serde_json::from_value(v).unwrap()
}

fn nfs(name: &str) -> String {
    format!("nfs:backup/vzdump-{name}")
}

#[test]
fn prune_dry_run_shows_the_marks_and_removes_nothing() {
    let fake = cluster_to_prune();
    let before = volumes(&fake, "nfs");
    let run = pvectl(&fake, "backup prune nfs --keep-last 1 --dry-run");
    run.success();
    assert_eq!(run.stderr, "dry run: 3 backups would be removed\n");
    let lines: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        ["VOLID", "VMID", "TYPE", "CREATED", "AGE", "MARK", "NODE"]
    );
    // By guest, newest first; the CREATED column is two words.
    let rows: Vec<(&str, &str, &str)> = lines[1..].iter().map(|c| (c[0], c[1], c[6])).collect();
    let n1 = nfs("qemu-100-2026_01_03-00_00_00.vma.zst");
    let n2 = nfs("qemu-100-2026_01_02-00_00_00.vma.zst");
    let n3 = nfs("qemu-100-2026_01_01-00_00_00.vma.zst");
    let renamed = nfs("qemu-100-before_upgrade.vma.zst");
    let n4 = nfs("qemu-100-2025_06_01-00_00_00.vma.zst");
    let c1 = nfs("lxc-200-2026_01_02-00_00_00.tar.zst");
    let c2 = nfs("lxc-200-2026_01_01-00_00_00.tar.zst");
    assert_eq!(
        rows,
        [
            (n1.as_str(), "100", "keep"),
            (n2.as_str(), "100", "remove"),
            (n3.as_str(), "100", "remove"),
            (renamed.as_str(), "100", "renamed"),
            (n4.as_str(), "100", "protected"),
            (c1.as_str(), "200", "keep"),
            (c2.as_str(), "200", "remove"),
        ]
    );
    // A shared storage is asked once; the simulation only.
    assert_eq!(
        prune_calls(&fake),
        [(
            "GET".to_string(),
            "pve1".to_string(),
            serde_json::json!({"prune-backups": "keep-last=1"})
        )]
    );
    no_changes(&fake);
    assert_eq!(volumes(&fake, "nfs"), before);

    // -o json: the plan with PVE's fields, and the node asked.
    let run = pvectl(
        &fake,
        "-o json backup prune nfs --keep-daily 2 --type lxc --dry-run",
    );
    run.success();
    let plan = run.json();
    assert_eq!(
        marks(&plan),
        [
            (c1.clone(), "keep".to_string()),
            (c2.clone(), "keep".to_string())
        ]
    );
    assert_eq!(plan[0]["vmid"], 200);
    assert_eq!(plan[0]["type"], "lxc");
    assert_eq!(plan[0]["ctime"], "2026-01-02T00:00:00+00:00");
    assert_eq!(plan[0]["node"], "pve1");
    assert_eq!(
        prune_calls(&fake)[1].2,
        serde_json::json!({"prune-backups": "keep-daily=2", "type": "lxc"})
    );
    no_changes(&fake);
    assert_eq!(volumes(&fake, "nfs"), before);
}

#[test]
fn prune_with_yes_removes_what_is_marked() {
    let fake = cluster_to_prune();
    // Without --yes and without a terminal: nothing happens.
    let run = pvectl(&fake, "backup prune nfs --keep-last 1 --vmid 100");
    run.failure(2)
        .stderr_has("remove the 2 backups marked 'remove' on nfs: needs confirmation, add --yes");
    no_changes(&fake);
    assert_eq!(volumes(&fake, "nfs").len(), 7);

    let run = pvectl(&fake, "backup prune nfs --keep-last 1 --vmid 100 --yes");
    run.success();
    run.stderr_has("nfs on pve1: prune OK");
    assert_eq!(
        run.stdout.lines().count(),
        6,
        "the plan, header and five rows:\n{}",
        run.stdout
    );
    let c = writes(&fake);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(
        (c[0].method.as_str(), c[0].path.as_str()),
        ("DELETE", "/nodes/pve1/storage/nfs/prunebackups")
    );
    assert_eq!(
        prune_calls(&fake).last().unwrap(),
        &(
            "DELETE".to_string(),
            "pve1".to_string(),
            serde_json::json!({"prune-backups": "keep-last=1", "vmid": 100})
        )
    );
    let left: Vec<String> = volumes(&fake, "nfs").into_keys().collect();
    assert_eq!(
        left,
        [
            "backup/vzdump-lxc-200-2026_01_01-00_00_00.tar.zst",
            "backup/vzdump-lxc-200-2026_01_02-00_00_00.tar.zst",
            "backup/vzdump-qemu-100-2025_06_01-00_00_00.vma.zst",
            "backup/vzdump-qemu-100-2026_01_03-00_00_00.vma.zst",
            "backup/vzdump-qemu-100-before_upgrade.vma.zst",
        ],
        "the newest, the protected and the renamed backup of 100 stay; 200 was not asked for"
    );
    assert_eq!(
        outcomes(&fake).last().unwrap(),
        &outcome("prunebackups", "100@nfs", "OK")
    );

    // Nothing left to remove: no DELETE.
    fake.clear_requests();
    let run = pvectl(&fake, "backup prune nfs --keep-last 1 --vmid 100 --yes");
    run.success().stderr_has("nothing to remove");
    no_changes(&fake);
}

#[test]
fn prune_json_prints_one_document() {
    let fake = cluster_to_prune();
    let run = pvectl(&fake, "-o json backup prune nfs --keep-last 2 --yes");
    run.success();
    let results = run.json();
    let results = results.as_array().expect("one JSON array on stdout");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["node"], "pve1");
    assert_eq!(results[0]["action"], "prune");
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[0]["exitstatus"], "OK");
    assert_eq!(
        volumes(&fake, "nfs").len(),
        6,
        "only the oldest unprotected 100 went"
    );

    let run = pvectl(&fake, "-o json backup prune nfs --keep-last 2 --yes");
    run.success();
    let r = &run.json()[0];
    assert_eq!(r["message"], "nothing to remove");
    assert_eq!(r["ok"], true);
}

#[test]
fn prune_without_keep_options_uses_the_storage_retention() {
    let fake = cluster_to_prune();
    let run = pvectl(&fake, "backup prune nfs --dry-run");
    run.failure(6)
        .stderr_has("no --keep-* given: using the retention configured on storage nfs")
        .stderr_has("no prune-backups options configured for storage 'nfs'");

    fake.exec("pve.storages['nfs']['prune-backups'] = 'keep-last=2'");
    let run = pvectl(&fake, "-o json backup prune nfs --dry-run");
    run.success();
    let removed: Vec<String> = marks(&run.json())
        .into_iter()
        .filter(|(_, m)| m == "remove")
        .map(|(v, _)| v)
        .collect();
    assert_eq!(removed, [nfs("qemu-100-2026_01_01-00_00_00.vma.zst")]);
    assert_eq!(prune_calls(&fake)[1].2, serde_json::json!({}));

    pvectl(&fake, "backup prune nope --keep-last 1")
        .failure(5)
        .stderr_has("no storage 'nope'");
    no_changes(&fake);
}

// --------------------------------------------------------------------------------------- jobs

#[test]
fn jobs_lists_the_scheduled_jobs() {
    let fake = cluster();
    fake.exec(
        "emulate_backup_jobs(pve, [\n\
         \x20   {'id': 'backup-nightly', 'schedule': '02:00', 'next-run': 1767232800, 'all': 1, 'exclude': '102',\n\
         \x20    'storage': 'nfs', 'mode': 'snapshot', 'comment': 'every night'},\n\
         \x20   {'id': 'backup-web', 'schedule': 'sat 03:00', 'enabled': 0, 'pool': 'web', 'storage': 'nfs',\n\
         \x20    'mode': 'stop'},\n\
         \x20   {'id': 'backup-db', 'schedule': 'hourly', 'next-run': 1767229200, 'vmid': '102,200', 'node': 'pve3',\n\
         \x20    'storage': 'local', 'mode': 'suspend'}])",
    );
    let run = pvectl(&fake, "backup jobs");
    run.success();
    assert_eq!(run.stderr, "");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    let header: Vec<&str> = lines[0]
        .split("  ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        header,
        [
            "ID",
            "ENABLED",
            "SCHEDULE",
            "NEXT RUN",
            "SELECTION",
            "NODE",
            "STORAGE",
            "MODE",
            "COMMENT"
        ]
    );
    assert!(lines[1].starts_with("backup-nightly  yes"), "{}", lines[1]);
    assert!(lines[1].contains("all except 102"), "{}", lines[1]);
    assert!(lines[1].trim_end().ends_with("every night"), "{}", lines[1]);
    assert!(lines[2].starts_with("backup-web      no"), "{}", lines[2]);
    assert!(lines[2].contains("pool web"), "{}", lines[2]);
    assert!(lines[3].contains("102,200"), "{}", lines[3]);
    assert!(lines[3].contains("pve3"), "{}", lines[3]);

    let run = pvectl(&fake, "-o json backup jobs");
    run.success();
    let jobs = run.json();
    assert_eq!(jobs.as_array().unwrap().len(), 3);
    assert_eq!(jobs[0]["id"], "backup-nightly");
    assert_eq!(jobs[0]["selection"], "all except 102");
    // Times are ISO 8601 with the offset (TZ=UTC in the tests).
    assert_eq!(jobs[0]["next-run"], "2026-01-01T02:00:00+00:00");
    assert_eq!(jobs[0]["exclude"], "102", "PVE's fields are kept");
    assert_eq!(jobs[1]["selection"], "pool web");
    assert_eq!(jobs[1]["enabled"], 0);
    assert_eq!(jobs[2]["selection"], "102,200");
    no_changes(&fake);
}
