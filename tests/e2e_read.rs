//! End-to-end: read commands, output modes, both logins, and every kind of bad input, against
//! fakepve. Each test starts its own fake; stdout, stderr and the exit code are all checked.

mod common;
use std::process::Command;

use common::helpers::{closed_port, seen_as_sent};
use common::{full_token, run_cmd, Fake, PASSWORD, TOKEN_ID, TOKEN_SECRET};
use serde_json::{json, Value};

/// A small two-node cluster: VMs 100-103 (two named `dup`), containers 200-201, a shared NFS storage.
const CLUSTER: &str = "\
pve.add_node('pve2')
pve.add_vm(100, 'web1', status='running', pool='prod',
           config={'memory': 2048, 'cores': 2, 'tags': 'prod;web', 'scsi0': 'local-lvm:vm-100-disk-0,size=32G'})
pve.add_vm(101, 'web2', node='pve2', config={'tags': 'web'})
pve.add_vm(102, 'dup', node='pve2')
pve.add_vm(103, 'dup')
pve.add_ct(200, 'db1', node='pve2', status='running', config={'tags': 'prod'})
pve.add_ct(201, 'cache')
pve.storages['nfs'] = {'type': 'nfs', 'active': 1, 'content': 'images,backup', 'files': set(), 'shared': 1,
                       'server': '192.0.2.1', 'export': '/export', 'path': '/mnt/pve/nfs'}
";

/// A fake holding `CLUSTER`, with no requests seen yet.
fn cluster() -> Fake {
    Fake::with(CLUSTER)
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

fn ids(list: &Value, key: &str) -> Vec<Value> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|g| g[key].clone())
        .collect()
}

/// Add a finished task with a fixed start time and log; returns its UPID.
fn add_task(
    fake: &Fake,
    node: &str,
    start: u32,
    kind: &str,
    id: &str,
    exitstatus: &str,
    log: &[&str],
) -> String {
    let pid = 0x4000 + start % 0x1000;
    let upid = format!(
        "UPID:{node}:{pid:08X}:{:08X}:{start:08X}:{kind}:{id}:root@pam:",
        pid * 7
    );
    let mut log: Vec<String> = log.iter().map(|l| l.to_string()).collect();
    log.push(if exitstatus == "OK" {
        "TASK OK".into()
    } else {
        format!("TASK ERROR: {exitstatus}")
    });
    let record = json!({
        "upid": upid, "node": node, "pid": pid, "pstart": pid * 7, "starttime": start, "type": kind,
        "id": id, "user": "root@pam", "status": "stopped", "exitstatus": exitstatus,
        "endtime": start + 7, "log": log,
    });
    let literal = serde_json::to_string(&record.to_string()).unwrap();
    fake.exec(&format!(
        "import json\nr = json.loads({literal})\npve.tasks[r['upid']] = r\npve.tasklog.append(r)"
    ));
    upid
}

// ----------------------------------------------------------------------------- read commands

#[test]
fn vm_list_is_one_request_and_filters_by_kind() {
    let fake = Fake::with(
        "pve.add_node('pve2')\n\
         pve.add_vm(100, 'web1', status='running')\n\
         pve.add_vm(101, 'web2', node='pve2')\n\
         pve.add_ct(200, 'db1', node='pve2', status='running')",
    );
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "vm", "list"]);
    run.success();
    let list = run.json();
    let ids: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["vmid"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![100, 101]);
    assert_eq!(list[1]["node"], "pve2");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].1, "/api2/json/cluster/resources");
}

#[test]
fn version_shows_client_and_server() {
    let fake = cluster();
    let run = fake.run(&["version"]);
    run.success();
    assert_eq!(
        run.stdout,
        format!(
            "client: pvectl {}\nserver: pve-manager 9.0.10 (release 9.0, repoid fakepve)\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(run.stderr, "");
    assert_eq!(seen_as_sent(&fake), ["GET /version"]);

    let run = fake.run(&["-o", "json", "version"]);
    run.success();
    assert_eq!(
        run.json(),
        json!({"client": env!("CARGO_PKG_VERSION"), "version": "9.0.10", "release": "9.0", "repoid": "fakepve"})
    );
}

#[test]
fn cluster_status_shows_quorum_and_nodes() {
    let fake = cluster();
    fake.exec("pve.add_node('pve3', online=False)");
    let run = fake.run(&["cluster", "status"]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        [
            "TYPE     NAME         ID         NODEID  IP          ONLINE  QUORATE",
            "cluster  fakecluster  cluster                        yes     yes",
            "node     pve1         node/pve1  1       192.0.2.11  yes",
            "node     pve2         node/pve2  2       192.0.2.12  yes",
            "node     pve3         node/pve3  3       192.0.2.13  no",
        ]
    );
    assert_eq!(run.stderr, "");

    let run = fake.run(&["-o", "json", "cluster", "status"]);
    run.success();
    let list = run.json();
    assert_eq!(list[0]["type"], "cluster");
    assert_eq!(list[0]["quorate"], 1);
    assert_eq!(list[0]["nodes"], 3);
    assert_eq!(list[3]["name"], "pve3");
    assert_eq!(list[3]["online"], 0);

    fake.exec("pve.lose_quorum()");
    let run = fake.run(&[
        "-o",
        "tsv",
        "--columns",
        "type,name,quorate",
        "cluster",
        "status",
    ]);
    run.success();
    assert_eq!(
        lines(&run.stdout)[..2],
        ["type\tname\tquorate", "cluster\tfakecluster\t0"]
    );
}

#[test]
fn cluster_resources_lists_everything_or_one_type() {
    let fake = cluster();
    let run = fake.run(&["-o", "json", "cluster", "resources"]);
    run.success();
    let all = run.json();
    let kinds: std::collections::BTreeSet<String> = ids(&all, "type")
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["lxc", "node", "qemu", "storage"]
    );
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == "qemu/100" && r["maxmem"] == 2147483648u64 && r["cpu"] == 0.02));
    // Entries as PVE sent them: no guest fields added to nodes and storages.
    for r in all.as_array().unwrap() {
        if r["type"] == "node" || r["type"] == "storage" {
            assert!(r.get("template").is_none(), "{r}");
        }
    }

    for (flag, want) in [
        ("node", vec!["node"]),
        ("vm", vec!["qemu", "lxc"]),
        ("storage", vec!["storage"]),
    ] {
        fake.clear_requests();
        let run = fake.run(&["-o", "json", "cluster", "resources", "--type", flag]);
        run.success();
        let list = run.json();
        assert!(!list.as_array().unwrap().is_empty());
        for r in list.as_array().unwrap() {
            assert!(want.contains(&r["type"].as_str().unwrap()), "{flag}: {r}");
        }
        assert_eq!(
            seen_as_sent(&fake),
            [format!("GET /cluster/resources?type={flag}")]
        );
    }

    let run = fake.run(&["cluster", "resources", "--type", "node"]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        [
            "ID         TYPE  NODE  NAME  STATUS  CPU   MEM    MAXMEM  UPTIME",
            "node/pve1  node  pve1        online  2.0%  2 GiB  8 GiB   1h 0m",
            "node/pve2  node  pve2        online  2.0%  2 GiB  8 GiB   1h 0m",
        ]
    );

    let run = fake.run(&["cluster", "resources", "--type", "pool"]);
    run.failure(2)
        .stderr_has("invalid value 'pool' for '--type");
    assert_eq!(run.stdout, "");
}

#[test]
fn cluster_nextid_is_a_bare_number() {
    let fake = cluster();
    let run = fake.run(&["cluster", "nextid"]);
    run.success();
    // 100-103 are VMs, 200-201 containers.
    assert_eq!(run.stdout, "104\n");
    assert_eq!(run.stderr, "");
    let run = fake.run(&["-o", "json", "cluster", "nextid"]);
    run.success();
    assert_eq!(run.json(), json!(104));
    assert_eq!(
        seen_as_sent(&fake),
        ["GET /cluster/nextid", "GET /cluster/nextid"]
    );
}

#[test]
fn nodes_list_and_status() {
    let fake = cluster();
    fake.exec("pve.add_node('pve3', online=False)");
    let run = fake.run(&["nodes", "list"]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        [
            "NODE  STATUS   CPU   CPUS  MEM    MAXMEM  UPTIME",
            "pve1  online   2.0%  4     2 GiB  8 GiB   1h 0m",
            "pve2  online   2.0%  4     2 GiB  8 GiB   1h 0m",
            "pve3  offline",
        ]
    );
    assert_eq!(run.stderr, "");
    let run = fake.run(&["-o", "json", "nodes", "ls"]);
    run.success();
    let list = run.json();
    assert_eq!(
        ids(&list, "node"),
        [json!("pve1"), json!("pve2"), json!("pve3")]
    );
    assert_eq!(list[0]["maxmem"], 8589934592u64);
    assert_eq!(list[0]["uptime"], 3600);

    fake.clear_requests();
    let run = fake.run(&["nodes", "status", "pve2"]);
    run.success();
    assert!(run.stdout.starts_with("KEY "), "{}", run.stdout);
    assert!(lines(&run.stdout)
        .iter()
        .any(|l| l.starts_with("uptime") && l.ends_with("1h 0m")));
    assert_eq!(seen_as_sent(&fake), ["GET /nodes/pve2/status"]);
    let run = fake.run(&["-o", "json", "nodes", "status", "pve1"]);
    run.success();
    let status = run.json();
    assert!(
        status["memory"].is_object() && status["cpuinfo"].is_object(),
        "{status}"
    );
    assert_eq!(status["uptime"], 3600);

    let run = fake.run(&["nodes", "status", "pve9"]);
    let err = &run.one_error(5).stderr;
    assert!(
        err.contains("no node 'pve9'") && err.contains("pvectl nodes list"),
        "{err}"
    );

    let run = fake.run(&["nodes", "status", "pve3"]);
    let err = &run.one_error(7).stderr;
    assert!(err.contains("No route to host"), "{err}");
}

#[test]
fn vm_and_ct_list_is_one_request_with_filters() {
    let fake = cluster();
    let cases: &[(&[&str], &[u64])] = &[
        (&["vm", "list"], &[100, 101, 102, 103]),
        (&["ct", "list"], &[200, 201]),
        (&["vm", "ls", "--node", "pve2"], &[101, 102]),
        (&["vm", "list", "--status", "running"], &[100]),
        (
            &["vm", "list", "--status", "stopped", "--node", "pve1"],
            &[103],
        ),
        (&["vm", "list", "--tag", "web"], &[100, 101]),
        (&["vm", "list", "--tag", "prod"], &[100]),
        (&["ct", "list", "--tag", "prod"], &[200]),
        (&["vm", "list", "--pool", "prod"], &[100]),
        (&["vm", "list", "--name", "web*"], &[100, 101]),
        (&["vm", "list", "--name", "d?p"], &[102, 103]),
        (&["vm", "list", "--name", "web*", "--node", "pve2"], &[101]),
        (&["ct", "list", "--status", "stopped"], &[201]),
        (&["vm", "list", "--tag", "nope"], &[]),
    ];
    for (args, want) in cases {
        fake.clear_requests();
        let mut all = vec!["-o", "json"];
        all.extend_from_slice(args);
        let run = fake.run(&all);
        run.success();
        let got: Vec<u64> = ids(&run.json(), "vmid")
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(&got, want, "{args:?}");
        assert_eq!(run.stderr, "", "{args:?}");
        assert_eq!(
            seen_as_sent(&fake),
            ["GET /cluster/resources?type=vm"],
            "{args:?}"
        );
    }

    let run = fake.run(&["vm", "list", "--columns", "vmid,name,node,status,tags"]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        [
            "VMID  NAME  NODE  STATUS   TAGS",
            "100   web1  pve1  running  prod;web",
            "101   web2  pve2  stopped  web",
            "102   dup   pve2  stopped",
            "103   dup   pve1  stopped",
        ]
    );

    let run = fake.run(&["-o", "json", "vm", "list", "--node", "pve1"]);
    let web1 = &run.json()[0];
    assert_eq!(web1["maxmem"], 2147483648u64);
    assert_eq!(web1["mem"], 67108864);
    assert_eq!(web1["cpu"], 0.02);
    assert_eq!(web1["type"], "qemu");
    assert_eq!(web1["pool"], "prod");

    let run = fake.run(&["vm", "list", "--name", "[web"]);
    let err = &run.one_error(2).stderr;
    assert!(err.contains("'[web' is not a valid glob"), "{err}");
}

#[test]
fn guest_status_by_vmid_name_and_node() {
    let fake = cluster();
    let run = fake.run(&["-o", "json", "vm", "status", "100"]);
    run.success();
    let st = run.json();
    assert_eq!(st["vmid"], 100);
    assert_eq!(st["name"], "web1");
    assert_eq!(st["status"], "running");
    assert_eq!(st["qmpstatus"], "running");
    assert_eq!(st["node"], "pve1");
    assert_eq!(st["type"], "qemu");
    assert_eq!(st["maxmem"], 2147483648u64);
    assert_eq!(run.stderr, "");
    assert_eq!(
        seen_as_sent(&fake),
        [
            "GET /cluster/resources?type=vm",
            "GET /nodes/pve1/qemu/100/status/current"
        ]
    );

    // By name: the lookup finds the node.
    fake.clear_requests();
    let run = fake.run(&["vm", "status", "web2"]);
    run.success();
    let rows = lines(&run.stdout);
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["KEY", "VALUE"]
    );
    for (key, value) in [
        ("name", "web2"),
        ("node", "pve2"),
        ("status", "stopped"),
        ("vmid", "101"),
    ] {
        assert!(
            rows.iter()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [key, value]),
            "{key} {value} missing:\n{}",
            run.stdout
        );
    }
    assert_eq!(
        seen_as_sent(&fake),
        [
            "GET /cluster/resources?type=vm",
            "GET /nodes/pve2/qemu/101/status/current"
        ]
    );

    // A VMID with --node needs no lookup.
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "vm", "status", "101", "--node", "pve2"]);
    run.success();
    assert_eq!(run.json()["name"], "web2");
    assert_eq!(
        seen_as_sent(&fake),
        ["GET /nodes/pve2/qemu/101/status/current"]
    );

    // A name with --node picks the guest on that node.
    let run = fake.run(&["-o", "json", "vm", "status", "dup", "--node", "pve1"]);
    run.success();
    assert_eq!(run.json()["vmid"], 103);

    fake.clear_requests();
    let run = fake.run(&["-o", "json", "ct", "status", "db1"]);
    run.success();
    let st = run.json();
    assert_eq!(st["vmid"], 200);
    assert_eq!(st["type"], "lxc");
    assert_eq!(st["node"], "pve2");
    assert_eq!(st["status"], "running");
    assert_eq!(
        seen_as_sent(&fake),
        [
            "GET /cluster/resources?type=vm",
            "GET /nodes/pve2/lxc/200/status/current"
        ]
    );

    // Table units are human, TSV raw.
    let run = fake.run(&[
        "-o",
        "tsv",
        "--columns",
        "maxmem,status",
        "vm",
        "status",
        "web1",
    ]);
    run.success();
    assert_eq!(
        run.stdout,
        "key\tvalue\nmaxmem\t2147483648\nstatus\trunning\n"
    );
    // The order asked for, any case; a key PVE did not send is left out.
    let run = fake.run(&[
        "-o",
        "tsv",
        "--columns",
        "STATUS,lock,MaxMem",
        "vm",
        "status",
        "web1",
    ]);
    run.success();
    assert_eq!(
        run.stdout,
        "key\tvalue\nstatus\trunning\nmaxmem\t2147483648\n"
    );
    let run = fake.run(&[
        "--no-headers",
        "--columns",
        "maxmem",
        "vm",
        "status",
        "web1",
    ]);
    run.success();
    assert_eq!(
        run.stdout.split_whitespace().collect::<Vec<_>>(),
        ["maxmem", "2", "GiB"]
    );
}

#[test]
fn guest_config_and_pending() {
    let fake = cluster();
    fake.exec(
        "vm = pve.vm(100)\n\
         vm.pending['memory'] = 4096\n\
         vm.pending['tags'] = None\n\
         ct = pve.ct(200)\n\
         ct.pending['swap'] = 1024",
    );
    let run = fake.run(&["-o", "json", "vm", "config", "web1"]);
    run.success();
    let cfg = run.json();
    assert_eq!(cfg["memory"], "2048");
    assert_eq!(cfg["cores"], 2);
    assert_eq!(cfg["name"], "web1");
    assert_eq!(cfg["scsi0"], "local-lvm:vm-100-disk-0,size=32G");
    assert_eq!(cfg["digest"].as_str().map(str::len), Some(40), "{cfg}");
    assert_eq!(
        seen_as_sent(&fake),
        [
            "GET /cluster/resources?type=vm",
            "GET /nodes/pve1/qemu/100/config"
        ]
    );

    let run = fake.run(&["vm", "config", "100"]);
    run.success();
    let rows = lines(&run.stdout);
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["KEY", "VALUE"]
    );
    assert!(rows
        .iter()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["memory", "2048"]));

    fake.clear_requests();
    let run = fake.run(&["vm", "config", "100", "--node", "pve1", "--pending"]);
    run.success();
    assert_eq!(seen_as_sent(&fake), ["GET /nodes/pve1/qemu/100/pending"]);
    let rows = lines(&run.stdout);
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["KEY", "VALUE", "PENDING", "DELETE"]
    );
    let memory: Vec<&str> = rows
        .iter()
        .find(|l| l.starts_with("memory"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(memory, ["memory", "2048", "4096"]);
    let tags: Vec<&str> = rows
        .iter()
        .find(|l| l.starts_with("tags"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(tags, ["tags", "prod;web", "1"]);

    let run = fake.run(&["-o", "json", "vm", "config", "100", "--pending"]);
    run.success();
    let pending = run.json();
    let memory = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "memory")
        .unwrap();
    assert_eq!(
        memory,
        &json!({"key": "memory", "value": 2048, "pending": 4096})
    );
    let tags = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "tags")
        .unwrap();
    assert_eq!(tags["delete"], 1);

    let run = fake.run(&["-o", "json", "ct", "config", "db1"]);
    run.success();
    let cfg = run.json();
    assert_eq!(cfg["hostname"], "db1");
    assert_eq!(cfg["rootfs"], "local-lvm:vm-200-disk-0,size=8G");
    let run = fake.run(&["-o", "json", "ct", "config", "200", "--pending"]);
    run.success();
    let swap = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "swap")
        .cloned()
        .unwrap();
    assert_eq!(swap, json!({"key": "swap", "value": 512, "pending": 1024}));
}

#[test]
fn guest_addressing_errors() {
    let fake = cluster();

    let run = fake.run(&["vm", "status", "999"]);
    let err = &run.one_error(5).stderr;
    assert!(
        err.contains("no VM with VMID 999") && err.contains("pvectl vm list"),
        "{err}"
    );
    let run = fake.run(&["ct", "config", "nosuch"]);
    let err = &run.one_error(5).stderr;
    assert!(
        err.contains("no container named 'nosuch'") && err.contains("pvectl ct list"),
        "{err}"
    );

    let run = fake.run(&["vm", "status", "dup"]);
    let err = &run.one_error(2).stderr;
    assert!(
        err.contains("'dup' names 2 VMs")
            && err.contains("102 on pve2")
            && err.contains("103 on pve1")
            && err.contains("use the VMID"),
        "{err}"
    );
    let run = fake.run(&["vm", "config", "dup", "--pending"]);
    run.one_error(2);

    let run = fake.run(&["vm", "status", "200"]);
    let err = &run.one_error(2).stderr;
    assert!(err.contains("200 is a container: use 'pvectl ct"), "{err}");
    let run = fake.run(&["ct", "config", "web1"]);
    let err = &run.one_error(2).stderr;
    assert!(
        err.contains("'web1' (100) is a VM: use 'pvectl vm"),
        "{err}"
    );

    let run = fake.run(&["vm", "status", "web*"]);
    let err = &run.one_error(2).stderr;
    assert!(err.contains("'web*' is a glob"), "{err}");

    let run = fake.run(&["vm", "status", "web1", "--node", "pve2"]);
    let err = &run.one_error(5).stderr;
    assert!(err.contains("no VM 'web1' on node pve2"), "{err}");

    // With --node the lookup is skipped, so PVE's own answer says what is missing.
    let run = fake.run(&["vm", "status", "100", "--node", "pve2"]);
    let err = &run.one_error(5).stderr;
    assert!(err.contains("nodes/pve2/qemu-server/100.conf"), "{err}");

    // No request that changes anything was sent by any of these.
    assert!(seen_as_sent(&fake).iter().all(|r| r.starts_with("GET ")));
}

#[test]
fn storage_list_shows_a_shared_storage_once() {
    let fake = cluster();
    fake.exec("pve.store_file('local', 'debian.iso', 30 * 1024 ** 3)");
    fake.clear_requests();
    let run = fake.run(&["storage", "list"]);
    run.success();
    assert_eq!(run.stderr, "");
    assert_eq!(
        lines(&run.stdout),
        [
            "STORAGE    NODE  TYPE     CONTENT            SHARED  USED    TOTAL    AVAIL    USED%",
            "local      pve1  dir      iso,vztmpl,backup  no      30 GiB  50 GiB   20 GiB   60.0%",
            "local      pve2  dir      iso,vztmpl,backup  no      30 GiB  50 GiB   20 GiB   60.0%",
            "local-lvm  pve1  lvmthin  images,rootdir     no      0 B     100 GiB  100 GiB  0.0%",
            "local-lvm  pve2  lvmthin  images,rootdir     no      0 B     100 GiB  100 GiB  0.0%",
            "nfs        pve1  nfs      images,backup      yes     0 B     100 GiB  100 GiB  0.0%",
        ]
    );
    assert_eq!(seen_as_sent(&fake), ["GET /cluster/resources?type=storage"]);
    let run = fake.run(&[
        "storage",
        "list",
        "--columns",
        "storage,node,type,shared,nodes",
    ]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        [
            "STORAGE    NODE  TYPE     SHARED  NODES",
            "local      pve1  dir      no",
            "local      pve2  dir      no",
            "local-lvm  pve1  lvmthin  no",
            "local-lvm  pve2  lvmthin  no",
            "nfs        pve1  nfs      yes     pve1,pve2",
        ]
    );

    // JSON: the entries of /cluster/resources as PVE sent them, a shared one once with `nodes`.
    let run = fake.run(&["-o", "json", "storage", "list"]);
    run.success();
    let list = run.json();
    let nfs: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["storage"] == "nfs")
        .collect();
    assert_eq!(
        *nfs,
        [&json!({
            "id": "storage/pve1/nfs", "type": "storage", "node": "pve1", "storage": "nfs",
            "status": "available", "plugintype": "nfs", "content": "images,backup", "shared": 1,
            "disk": 0, "maxdisk": 107374182400u64, "nodes": "pve1,pve2",
        })]
    );
    assert_eq!(list[0]["disk"], json!(30u64 << 30));
    assert!(list[0].get("nodes").is_none(), "{}", list[0]);
    for s in list.as_array().unwrap() {
        for invented in ["used", "total", "avail", "used_fraction"] {
            assert!(s.get(invented).is_none(), "{invented} in {s}");
        }
    }
    // TSV: the same names and raw values.
    let run = fake.run(&["-o", "tsv", "storage", "list"]);
    run.success();
    assert_eq!(
        lines(&run.stdout)[..2],
        [
            "storage\tnode\tplugintype\tcontent\tshared\tstatus\tdisk\tmaxdisk\tnodes",
            "local\tpve1\tdir\tiso,vztmpl,backup\t0\tavailable\t32212254720\t53687091200\t",
        ]
    );

    // One node: its own storage list, with its names (used, total, avail, type).
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "storage", "list", "--node", "pve2"]);
    run.success();
    assert_eq!(seen_as_sent(&fake), ["GET /nodes/pve2/storage"]);
    let list = run.json();
    assert_eq!(
        ids(&list, "storage"),
        [json!("local"), json!("local-lvm"), json!("nfs")]
    );
    assert!(list.as_array().unwrap().iter().all(|s| s["node"] == "pve2"));
    assert_eq!(list[0]["used"], 30u64 << 30);
    assert_eq!(list[0]["avail"], 20u64 << 30);
    assert_eq!(list[0]["type"], "dir");
    let run = fake.run(&["-o", "tsv", "storage", "list", "--node", "pve2"]);
    run.success();
    assert_eq!(
        lines(&run.stdout)[..2],
        [
            "storage\tnode\ttype\tcontent\tshared\tenabled\tactive\tused\ttotal\tavail",
            "local\tpve2\tdir\tiso,vztmpl,backup\t0\t1\t1\t32212254720\t53687091200\t21474836480",
        ]
    );
    let run = fake.run(&["storage", "list", "--node", "pve2"]);
    run.success();
    assert_eq!(
        lines(&run.stdout)[..2],
        [
            "STORAGE    NODE  TYPE     CONTENT            SHARED  USED    TOTAL    AVAIL    USED%",
            "local      pve2  dir      iso,vztmpl,backup  no      30 GiB  50 GiB   20 GiB   60.0%",
        ]
    );

    let run = fake.run(&["storage", "list", "--node", "pve9"]);
    let err = &run.one_error(5).stderr;
    assert!(err.contains("no node 'pve9'"), "{err}");
}

#[test]
fn storage_status_shows_each_node_that_has_the_storage() {
    let fake = cluster();
    fake.exec("pve.store_file('local', 'debian.iso', 1024 ** 3)");
    fake.clear_requests();
    // A storage of every node: one row per node, each node asked.
    let run = fake.run(&["storage", "status", "local"]);
    run.success();
    assert_eq!(run.stderr, "");
    assert_eq!(
        lines(&run.stdout),
        [
            "STORAGE  NODE  TYPE  CONTENT            SHARED  USED   TOTAL   AVAIL   USED%",
            "local    pve1  dir   iso,vztmpl,backup  no      1 GiB  50 GiB  49 GiB  2.0%",
            "local    pve2  dir   iso,vztmpl,backup  no      1 GiB  50 GiB  49 GiB  2.0%",
        ]
    );
    let mut reqs = seen_as_sent(&fake);
    reqs.sort();
    assert_eq!(
        reqs,
        [
            "GET /cluster/resources?type=storage",
            "GET /nodes/pve1/storage/local/status",
            "GET /nodes/pve2/storage/local/status"
        ]
    );
    let run = fake.run(&["-o", "json", "storage", "status", "local"]);
    run.success();
    let st = run.json();
    assert_eq!(ids(&st, "node"), [json!("pve1"), json!("pve2")]);
    assert_eq!(
        st[0],
        json!({
            "storage": "local", "node": "pve1", "type": "dir", "content": "iso,vztmpl,backup",
            "enabled": 1, "active": 1, "shared": 0, "used": 1u64 << 30, "total": 50u64 << 30,
            "avail": 49u64 << 30,
        })
    );
    let run = fake.run(&["-o", "tsv", "--no-headers", "storage", "status", "local"]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        [
            "local\tpve1\tdir\tiso,vztmpl,backup\t0\t1\t1\t1073741824\t53687091200\t52613349376",
            "local\tpve2\tdir\tiso,vztmpl,backup\t0\t1\t1\t1073741824\t53687091200\t52613349376",
        ]
    );

    // A shared storage: one row, from one node.
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "storage", "status", "nfs"]);
    run.success();
    let st = run.json();
    assert_eq!(st.as_array().unwrap().len(), 1, "{st}");
    assert_eq!(st[0]["node"], "pve1");
    assert_eq!(st[0]["shared"], 1);
    assert_eq!(
        seen_as_sent(&fake),
        [
            "GET /cluster/resources?type=storage",
            "GET /nodes/pve1/storage/nfs/status"
        ]
    );

    // --node: that node's status, one object; the lookup is skipped.
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "storage", "status", "local", "--node", "pve2"]);
    run.success();
    assert_eq!(
        seen_as_sent(&fake),
        ["GET /nodes/pve2/storage/local/status"]
    );
    let st = run.json();
    assert_eq!(st["node"], "pve2");
    assert_eq!(st["used"], 1u64 << 30);
    let run = fake.run(&["storage", "status", "nfs", "--node", "pve2"]);
    run.success();
    let rows = lines(&run.stdout);
    for (key, value) in [
        ("storage", "nfs"),
        ("node", "pve2"),
        ("shared", "yes"),
        ("total", "100 GiB"),
    ] {
        assert!(
            rows.iter().any(|l| {
                let (k, v) = l.split_once(' ').unwrap_or((l, ""));
                k == key && v.trim() == value
            }),
            "{key}={value} missing:\n{}",
            run.stdout
        );
    }

    // A node that cannot be reached: the others are shown, and the failure says which.
    fake.exec("pve.set_node_offline('pve2')");
    let run = fake.run(&["storage", "status", "local"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(
        lines(&run.stdout),
        [
            "STORAGE  NODE  TYPE  CONTENT            SHARED  USED   TOTAL   AVAIL   USED%",
            "local    pve1  dir   iso,vztmpl,backup  no      1 GiB  50 GiB  49 GiB  2.0%",
        ]
    );
    assert!(
        run.stderr
            .starts_with("error: storage 'local' on pve2, missing from the list above: "),
        "{}",
        run.stderr
    );

    let run = fake.run(&["storage", "status", "nope"]);
    let err = &run.one_error(5).stderr;
    assert!(
        err.contains("no storage 'nope'") && err.contains("pvectl storage list"),
        "{err}"
    );
    let run = fake.run(&["storage", "status", "local", "--node", "pve9"]);
    let err = &run.one_error(5).stderr;
    assert!(err.contains("no node 'pve9'"), "{err}");
}

#[test]
fn storage_content_by_type_and_guest() {
    let fake = cluster();
    fake.exec(
        "pve.store_file('local', 'debian-13.iso', 700 * 1024 ** 2)\n\
         pve.store_file('nfs', 'vzdump-qemu-100-2026_01_01-00_00_00.vma.zst', 50 * 1024 ** 2, content='backup')",
    );
    // A shared storage is read from one node.
    let run = fake.run(&["-o", "json", "storage", "content", "nfs"]);
    run.success();
    let list = run.json();
    assert_eq!(
        ids(&list, "volid"),
        [json!(
            "nfs:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst"
        )]
    );
    assert_eq!(list[0]["size"], 50 * 1024 * 1024);
    assert_eq!(list[0]["content"], "backup");
    assert_eq!(
        seen_as_sent(&fake),
        [
            "GET /cluster/resources?type=storage",
            "GET /nodes/pve1/storage/nfs/content"
        ]
    );

    // A local storage is read on every node that has it.
    fake.clear_requests();
    let run = fake.run(&[
        "-o",
        "json",
        "storage",
        "content",
        "local-lvm",
        "--vmid",
        "100",
    ]);
    run.success();
    let list = run.json();
    assert!(!list.as_array().unwrap().is_empty());
    for v in list.as_array().unwrap() {
        assert_eq!(v["volid"], "local-lvm:vm-100-disk-0");
        assert_eq!(v["vmid"], 100);
        assert_eq!(v["size"], 32u64 * 1024 * 1024 * 1024);
    }
    let mut reqs = seen_as_sent(&fake);
    reqs.sort();
    assert_eq!(
        reqs,
        [
            "GET /cluster/resources?type=storage",
            "GET /nodes/pve1/storage/local-lvm/content?vmid=100",
            "GET /nodes/pve2/storage/local-lvm/content?vmid=100",
        ]
    );

    fake.clear_requests();
    let run = fake.run(&[
        "storage",
        "content",
        "local",
        "--content",
        "iso",
        "--node",
        "pve1",
    ]);
    run.success();
    assert_eq!(
        seen_as_sent(&fake),
        ["GET /nodes/pve1/storage/local/content?content=iso"]
    );
    let rows = lines(&run.stdout);
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["VOLID", "CONTENT", "FORMAT", "SIZE", "VMID", "CREATED", "AGE", "NODE"]
    );
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(
        rows[1].starts_with("local:iso/debian-13.iso  iso      iso     700 MiB"),
        "{}",
        rows[1]
    );
    assert!(rows[1].ends_with("pve1"), "{}", rows[1]);

    let run = fake.run(&[
        "-o",
        "tsv",
        "--no-headers",
        "--columns",
        "volid,size",
        "storage",
        "content",
        "local",
        "--content",
        "vztmpl",
        "--node",
        "pve1",
    ]);
    run.success();
    assert_eq!(run.stdout, "");

    let run = fake.run(&["storage", "content", "nope"]);
    let err = &run.one_error(5).stderr;
    assert!(err.contains("no storage 'nope'"), "{err}");
    let run = fake.run(&["storage", "content", "local", "--node", "pve9"]);
    let err = &run.one_error(5).stderr;
    assert!(err.contains("no node 'pve9'"), "{err}");
}

// ------------------------------------------------------------------------------------- tasks

#[test]
fn times_are_local_in_tables_iso_with_the_offset_in_data_and_utc_on_request() {
    let fake = cluster();
    // 2026-01-01 00:00:00 UTC; summer and winter rules as the system zone would have them.
    let upid = add_task(&fake, "pve1", 1_767_225_600, "qmstart", "100", "OK", &[]);
    let berlin = [("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")];

    let run = fake.run_env(
        &[],
        &berlin,
        &["tasks", "list", "--columns", "starttime,age,upid"],
    );
    run.success();
    let row = run.stdout.lines().nth(1).unwrap_or_default().to_string();
    assert!(row.starts_with("2026-01-01 01:00:00  "), "{}", run.stdout);
    // The age counts from now, in days for a task of 2026-01-01.
    let age = row.split_whitespace().nth(2).unwrap_or_default();
    assert!(
        age.ends_with('d') || age.ends_with('y'),
        "{age}: {}",
        run.stdout
    );
    assert!(row.ends_with(&upid), "{}", run.stdout);

    for format in ["json", "jsonl", "yaml", "tsv"] {
        let run = fake.run_env(&[], &berlin, &["-o", format, "tasks", "list"]);
        run.success()
            .stdout_has("2026-01-01T01:00:00+01:00")
            .stdout_has(&upid);
        let run = fake.run_env(&[], &berlin, &["--utc", "-o", format, "tasks", "list"]);
        run.success().stdout_has("2026-01-01T00:00:00+00:00");
    }
    let run = fake.run_env(&[], &berlin, &["--utc", "tasks", "list"]);
    run.success().stdout_has("2026-01-01 00:00:00");
}

#[test]
fn jsonl_yaml_and_columns_under_json() {
    let fake = cluster();
    let run = fake.run(&["-o", "jsonl", "vm", "list"]);
    run.success();
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert_eq!(lines[0]["vmid"], 100);
    assert_eq!(lines[0]["name"], "web1");

    // `--columns` picks the fields of each object, by PVE's name or the table's header.
    let run = fake.run(&["-o", "json", "--columns", "vmid,NAME", "vm", "list"]);
    let v = run.success().json();
    assert_eq!(v[0], json!({"vmid": 100, "name": "web1"}));
    let run = fake.run(&["-o", "json", "--columns", "vmid,bogus", "vm", "list"]);
    run.one_error(2).stderr_has("unknown column 'bogus'");

    let run = fake.run(&["-o", "yaml", "--columns", "vmid,name,tags", "vm", "list"]);
    run.success();
    assert!(
        run.stdout
            .starts_with("- name: web1\n  tags: \"prod;web\"\n  vmid: 100\n- name: web2\n"),
        "{}",
        run.stdout
    );
    let run = fake.run(&["-o", "yaml", "vm", "status", "web1"]);
    run.success()
        .stdout_has("\nname: web1\n")
        .stdout_has("\nstatus: running\n");
}

#[test]
fn tasks_list_is_newest_first_across_nodes() {
    let fake = cluster();
    let t1 = add_task(&fake, "pve1", 1_767_225_600, "qmstart", "100", "OK", &[]);
    let t2 = add_task(&fake, "pve2", 1_767_225_700, "vzstop", "200", "OK", &[]);
    let t3 = add_task(
        &fake,
        "pve1",
        1_767_225_800,
        "qmstop",
        "103",
        "VM quit/powerdown failed",
        &[],
    );
    let t4 = add_task(&fake, "pve2", 1_767_225_900, "qmstart", "101", "OK", &[]);
    fake.clear_requests();

    let run = fake.run(&["-o", "json", "tasks", "list"]);
    run.success();
    assert_eq!(run.stderr, "");
    let list = run.json();
    assert_eq!(
        ids(&list, "upid"),
        [json!(t4), json!(t3), json!(t2), json!(t1)]
    );
    assert_eq!(list[1]["status"], "VM quit/powerdown failed");
    assert_eq!(list[1]["starttime"], "2026-01-01T00:03:20+00:00");
    let mut reqs = seen_as_sent(&fake);
    reqs.sort();
    assert_eq!(
        reqs,
        [
            "GET /nodes",
            "GET /nodes/pve1/tasks?limit=50",
            "GET /nodes/pve2/tasks?limit=50"
        ]
    );

    let run = fake.run(&[
        "tasks",
        "list",
        "--columns",
        "starttime,node,type,id,status",
    ]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        [
            "STARTED              NODE  TYPE     ID   STATUS",
            "2026-01-01 00:05:00  pve2  qmstart  101  OK",
            "2026-01-01 00:03:20  pve1  qmstop   103  VM quit/powerdown failed",
            "2026-01-01 00:01:40  pve2  vzstop   200  OK",
            "2026-01-01 00:00:00  pve1  qmstart  100  OK",
        ]
    );

    // The limit holds for the merged list too.
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "tasks", "list", "--limit", "3"]);
    run.success();
    assert_eq!(ids(&run.json(), "upid"), [json!(t4), json!(t3), json!(t2)]);
    assert!(seen_as_sent(&fake).contains(&"GET /nodes/pve1/tasks?limit=3".to_string()));

    fake.clear_requests();
    let run = fake.run(&["-o", "json", "tasks", "list", "--node", "pve1"]);
    run.success();
    assert_eq!(ids(&run.json(), "upid"), [json!(t3), json!(t1)]);
    assert_eq!(seen_as_sent(&fake), ["GET /nodes/pve1/tasks?limit=50"]);

    let run = fake.run(&["-o", "json", "tasks", "list", "--vmid", "101"]);
    run.success();
    assert_eq!(ids(&run.json(), "upid"), [json!(t4)]);

    // fakepve does not filter by type or errors: check what reached the server.
    fake.clear_requests();
    let run = fake.run(&[
        "tasks", "ls", "--node", "pve2", "--type", "qmstart", "--errors", "--limit", "5",
    ]);
    run.success();
    assert_eq!(
        seen_as_sent(&fake),
        ["GET /nodes/pve2/tasks?limit=5&typefilter=qmstart&errors=1"]
    );
    fake.clear_requests();
    fake.run(&["tasks", "list", "--node", "pve2", "--running"])
        .success();
    assert_eq!(
        seen_as_sent(&fake),
        ["GET /nodes/pve2/tasks?limit=50&source=all"]
    );

    let run = fake.run(&["tasks", "list", "--limit", "many"]);
    run.failure(2)
        .stderr_has("invalid value 'many' for '--limit");
}

#[test]
fn tasks_list_warns_about_offline_nodes() {
    let fake = cluster();
    let t = add_task(&fake, "pve1", 1_767_225_600, "qmstart", "100", "OK", &[]);
    fake.exec("pve.set_node_offline('pve2')");
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "tasks", "list"]);
    run.success();
    assert_eq!(ids(&run.json(), "upid"), [json!(t)]);
    assert_eq!(
        run.stderr,
        "warning: node pve2 is offline: its tasks are not listed\n"
    );
    assert_eq!(
        seen_as_sent(&fake),
        ["GET /nodes", "GET /nodes/pve1/tasks?limit=50"]
    );
}

#[test]
fn tasks_status_and_log() {
    let fake = cluster();
    let ok = add_task(
        &fake,
        "pve2",
        1_767_225_600,
        "qmstart",
        "101",
        "OK",
        &["starting VM 101"],
    );
    let failed = add_task(
        &fake,
        "pve1",
        1_767_225_700,
        "qmstart",
        "103",
        "VM 103 already running",
        &["first line", "second line"],
    );
    fake.clear_requests();

    let run = fake.run(&["-o", "json", "tasks", "status", &ok]);
    run.success();
    let st = run.json();
    assert_eq!(st["upid"], ok);
    assert_eq!(st["status"], "stopped");
    assert_eq!(st["exitstatus"], "OK");
    assert_eq!(st["node"], "pve2");
    assert_eq!(st["starttime"], "2026-01-01T00:00:00+00:00");
    // The UPID is one percent-encoded path segment on the node of the UPID.
    let encoded = ok.replace(':', "%3A").replace('@', "%40");
    assert_eq!(
        seen_as_sent(&fake),
        [format!("GET /nodes/pve2/tasks/{encoded}/status")]
    );

    let run = fake.run(&["tasks", "status", &failed]);
    run.success();
    let rows = lines(&run.stdout);
    assert!(rows
        .iter()
        .any(|l| l.starts_with("exitstatus") && l.ends_with("VM 103 already running")));
    assert!(rows
        .iter()
        .any(|l| l.starts_with("starttime") && l.ends_with("2026-01-01 00:01:40")));

    let run = fake.run(&["tasks", "log", &failed]);
    run.success();
    assert_eq!(
        run.stdout,
        "first line\nsecond line\nTASK ERROR: VM 103 already running\n"
    );
    assert_eq!(run.stderr, "");
    let run = fake.run(&["-o", "json", "tasks", "log", &ok]);
    run.success();
    assert_eq!(
        run.json(),
        json!([{"n": 1, "t": "starting VM 101"}, {"n": 2, "t": "TASK OK"}])
    );

    // A long log arrives whole.
    let many: Vec<String> = (1..=1500).map(|i| format!("INFO: line {i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let long = add_task(&fake, "pve1", 1_767_225_800, "vzdump", "", "OK", &refs);
    let run = fake.run(&["tasks", "log", &long]);
    run.success();
    let out = lines(&run.stdout);
    assert_eq!(out.len(), 1501);
    assert_eq!(out[0], "INFO: line 1");
    assert_eq!(out[1499], "INFO: line 1500");
    assert_eq!(out[1500], "TASK OK");
}

#[test]
fn tasks_unknown_and_malformed_upids() {
    let fake = cluster();
    let unknown = "UPID:pve1:00001234:00007F6C:6955B3C0:qmstart:100:root@pam:";
    for verb in ["status", "log"] {
        let run = fake.run(&["tasks", verb, unknown]);
        let err = &run.one_error(5).stderr;
        assert!(err.contains(unknown), "{verb}: {err}");
        assert!(err.contains("pve1 has no task"), "{verb}: {err}");
    }
    // PVE's own answer for a task it does not know.
    fake.exec(&format!(
        "pve.fail('GET', '/nodes/pve1/tasks/{unknown}/status', error='param_upid_no_such_task')"
    ));
    let run = fake.run(&["tasks", "status", unknown]);
    let err = &run.one_error(5).stderr;
    assert!(err.contains("pve1 has no task"), "{err}");

    fake.clear_requests();
    for bad in [
        "notaupid",
        "UPID:pve1:1234:00007F6C:6955B3C0:qmstart:100:root@pam:",
        "UPID:pve1:00001234:00007F6C:6955B3C0:qmstart:100:root@pam",
    ] {
        for verb in ["status", "log"] {
            let run = fake.run(&["tasks", verb, bad]);
            let err = &run.one_error(2).stderr;
            assert!(
                err.contains(&format!("'{bad}' is not a task id (UPID)"))
                    && err.contains("UPID:<node>:<pid>"),
                "{err}"
            );
        }
    }
    assert_eq!(
        seen_as_sent(&fake),
        Vec::<String>::new(),
        "a malformed UPID is never sent"
    );
}

// --------------------------------------------------------------------------------------- api

#[test]
fn api_get_post_put_delete() {
    let fake = cluster();
    let run = fake.run(&["api", "get", "/version"]);
    run.success();
    assert_eq!(
        run.json(),
        json!({"version": "9.0.10", "release": "9.0", "repoid": "fakepve"})
    );
    assert_eq!(run.stderr, "");

    // Parameters go in the query; the /api2/json prefix and a missing slash are tolerated.
    fake.clear_requests();
    let run = fake.run(&["api", "get", "cluster/resources", "type=node"]);
    run.success();
    assert_eq!(
        ids(&run.json(), "id"),
        [json!("node/pve1"), json!("node/pve2")]
    );
    let run = fake.run(&["api", "get", "/api2/json/nodes/pve1/qemu/100/config"]);
    run.success();
    assert_eq!(run.json()["memory"], "2048");
    assert_eq!(
        seen_as_sent(&fake),
        [
            "GET /cluster/resources?type=node",
            "GET /nodes/pve1/qemu/100/config"
        ]
    );

    // PUT sends a form body and changes the server.
    fake.clear_requests();
    let run = fake.run(&[
        "api",
        "put",
        "/nodes/pve2/qemu/101/config",
        "description=from the api",
        "onboot=1",
    ]);
    run.success();
    assert_eq!(run.stdout.trim(), "null");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, "PUT");
    assert_eq!(reqs[0].2, "description=from+the+api&onboot=1");
    let cfg = fake.exec("result = pve.vm(101).config");
    assert_eq!(cfg["description"], "from the api");

    // POST prints the UPID as a JSON string; the task ran.
    let run = fake.run(&["api", "post", "/nodes/pve2/qemu/101/status/start"]);
    run.success();
    let upid = run.json();
    assert!(upid.as_str().unwrap().starts_with("UPID:pve2:"), "{upid}");
    assert_eq!(fake.exec("result = pve.vm(101).status"), "running");

    let run = fake.run(&["api", "delete", "/nodes/pve2/qemu/101/snapshot/nosnap"]);
    run.success();
    assert!(run.json().as_str().unwrap().contains(":qmdelsnapshot:101:"));
    assert_eq!(fake.requests().last().unwrap().0, "DELETE");

    // Errors keep their kind.
    let run = fake.run(&["api", "get", "/cluster/nextid", "vmid=100"]);
    let err = &run.one_error(6).stderr;
    assert!(
        err.contains("Parameter verification failed: vmid: VM 100 already exists"),
        "{err}"
    );
    let run = fake.run(&["api", "get", "/nodes/pve1/nosuch"]);
    let err = &run.one_error(5).stderr;
    assert!(err.contains("no such API path"), "{err}");

    fake.clear_requests();
    let run = fake.run(&["api", "get", "/version?x=1"]);
    let err = &run.one_error(2).stderr;
    assert!(err.contains("give parameters as KEY=VALUE"), "{err}");
    let run = fake.run(&["api", "post", "/nodes/pve1/qemu/100/status/start", "force"]);
    let err = &run.one_error(2).stderr;
    assert!(err.contains("'force' is not KEY=VALUE"), "{err}");
    assert!(seen_as_sent(&fake).is_empty(), "{:?}", seen_as_sent(&fake));
}

#[test]
fn api_output_as_a_table_or_tsv_when_asked() {
    let fake = cluster();
    // A list of objects: every key any of them has is a column.
    let run = fake.run(&[
        "-o",
        "table",
        "--columns",
        "vmid,name,status,node",
        "api",
        "get",
        "/cluster/resources",
        "type=vm",
    ]);
    run.success();
    assert_eq!(run.stderr, "");
    assert_eq!(
        lines(&run.stdout),
        [
            "VMID  NAME   STATUS   NODE",
            "100   web1   running  pve1",
            "101   web2   stopped  pve2",
            "102   dup    stopped  pve2",
            "103   dup    stopped  pve1",
            "200   db1    running  pve2",
            "201   cache  stopped  pve1",
        ]
    );
    let run = fake.run(&["-o", "tsv", "api", "get", "/nodes"]);
    run.success();
    let rows = lines(&run.stdout);
    let header: Vec<&str> = rows[0].split('\t').collect();
    for key in [
        "node",
        "status",
        "cpu",
        "maxmem",
        "ssl_fingerprint",
        "uptime",
    ] {
        assert!(header.contains(&key), "{key} in {header:?}");
    }
    let node = header.iter().position(|k| *k == "node").unwrap();
    let maxmem = header.iter().position(|k| *k == "maxmem").unwrap();
    let first: Vec<&str> = rows[1].split('\t').collect();
    assert_eq!(first[node], "pve1");
    assert!(
        first[maxmem].parse::<u64>().is_ok(),
        "raw bytes: {}",
        rows[1]
    );
    assert_eq!(rows.len(), 3, "{}", run.stdout);

    // An object: keys and values; nested values as sub-rows (dotted keys in TSV).
    let run = fake.run(&["-o", "table", "api", "get", "/version"]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        [
            "KEY      VALUE",
            "release  9.0",
            "repoid   fakepve",
            "version  9.0.10",
        ]
    );
    let run = fake.run(&["-o", "tsv", "api", "get", "/nodes/pve1/status"]);
    run.success();
    assert!(run.stdout.starts_with("key\tvalue\n"), "{}", run.stdout);
    assert!(
        lines(&run.stdout)
            .iter()
            .any(|l| l.starts_with("memory.total\t")),
        "{}",
        run.stdout
    );
    // A list of plain values is one column; a plain value is itself.
    let run = fake.run(&["-o", "tsv", "api", "get", "/cluster/nextid"]);
    run.success();
    assert_eq!(run.stdout, "104\n");
    let run = fake.run(&[
        "-o",
        "table",
        "api",
        "post",
        "/nodes/pve2/qemu/101/status/start",
    ]);
    run.success();
    assert!(
        run.stdout.starts_with("UPID:pve2:") && !run.stdout.contains('"'),
        "{}",
        run.stdout
    );

    // JSON stays JSON, and is what `api` prints without -o.
    let run = fake.run(&["-o", "json", "api", "get", "/version"]);
    assert_eq!(
        run.json(),
        json!({"version": "9.0.10", "release": "9.0", "repoid": "fakepve"})
    );
}

// ------------------------------------------------------------------------------- completions

#[test]
fn completions_need_no_server() {
    let fake = Fake::new();
    let run = fake.run_bare(&[], &["completions", "bash"]);
    run.success();
    assert!(
        run.stdout.contains("_pvectl()"),
        "{}",
        &run.stdout[..200.min(run.stdout.len())]
    );
    assert!(run.stdout.contains("complete -F _pvectl"));
    for word in ["nodes", "storage", "tasks", "completions", "--output"] {
        assert!(run.stdout.contains(word), "{word} missing");
    }
    assert_eq!(run.stderr, "");
    let run = fake.run_bare(&[], &["completions", "zsh"]);
    run.success();
    assert!(run.stdout.starts_with("#compdef pvectl"));
    let run = fake.run_bare(&[], &["completions", "tcsh"]);
    run.failure(2).stderr_has("invalid value 'tcsh'");
    assert_eq!(run.stdout, "");
    assert!(fake.requests().is_empty());
}

// ------------------------------------------------------------------------------ output modes

#[test]
fn output_modes_columns_headers_quiet_and_colour() {
    let fake = cluster();
    let tsv = fake.run(&["-o", "tsv", "vm", "list", "--node", "pve2"]);
    tsv.success();
    assert_eq!(
        lines(&tsv.stdout),
        [
            "vmid\tname\tnode\tstatus\tcpu\tmem\tmaxmem\tuptime\ttags",
            "101\tweb2\tpve2\tstopped\t0\t0\t536870912\t0\tweb",
            "102\tdup\tpve2\tstopped\t0\t0\t536870912\t0\t",
        ]
    );
    let run = fake.run(&[
        "-o",
        "tsv",
        "--no-headers",
        "--columns",
        "name,vmid",
        "ct",
        "list",
    ]);
    run.success();
    assert_eq!(run.stdout, "db1\t200\ncache\t201\n");

    // Header names work as column names; any field PVE sent can be a column.
    let run = fake.run(&[
        "--columns",
        "VMID,maxmem,pool",
        "vm",
        "list",
        "--node",
        "pve1",
    ]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        [
            "VMID  MAXMEM   POOL",
            "100   2 GiB    prod",
            "103   512 MiB"
        ]
    );
    let run = fake.run(&["--no-headers", "--columns", "vmid,status", "vm", "list"]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        [
            "100  running",
            "101  stopped",
            "102  stopped",
            "103  stopped"
        ]
    );

    let run = fake.run(&["--columns", "vmid,nosuch", "vm", "list"]);
    let err = &run.one_error(2).stderr;
    assert!(
        err.contains("unknown column 'nosuch'") && err.contains("vmid,name,node"),
        "{err}"
    );

    // An empty list: the header only, or nothing at all.
    let run = fake.run(&["vm", "list", "--tag", "none"]);
    run.success();
    assert_eq!(lines(&run.stdout).len(), 1);
    let run = fake.run(&["--no-headers", "vm", "list", "--tag", "none"]);
    run.success();
    assert_eq!(run.stdout, "");
    let run = fake.run(&["-o", "json", "vm", "list", "--tag", "none"]);
    run.success();
    assert_eq!(run.json(), json!([]));

    // -q changes nothing on stdout, and errors still print.
    let plain = fake.run(&["-o", "tsv", "vm", "list", "--node", "pve2"]);
    let quiet = fake.run(&["-q", "-o", "tsv", "vm", "list", "--node", "pve2"]);
    quiet.success();
    assert_eq!(quiet.stdout, plain.stdout);
    assert_eq!(quiet.stderr, "");
    let run = fake.run(&["--quiet", "vm", "status", "999"]);
    run.one_error(5);

    // No colour without a terminal, unless asked for.
    let run = fake.run(&["vm", "list"]);
    assert!(!run.stdout.contains('\x1b'));
    let run = fake.run(&["--color", "always", "vm", "list"]);
    run.success();
    assert!(run.stdout.contains("\x1b["), "{}", run.stdout);
    let run = fake.run_env(
        &[],
        &[("NO_COLOR", "1")],
        &["--color", "auto", "vm", "list"],
    );
    assert!(!run.stdout.contains('\x1b'));
    let run = fake.run(&["--color", "always", "-o", "json", "vm", "list"]);
    assert!(!run.stdout.contains('\x1b'));
    run.json();
}

#[test]
fn json_output_is_valid_everywhere() {
    let fake = cluster();
    let upid = add_task(&fake, "pve1", 1_767_225_600, "qmstart", "100", "OK", &[]);
    for args in [
        vec!["version"],
        vec!["cluster", "status"],
        vec!["cluster", "resources"],
        vec!["cluster", "nextid"],
        vec!["nodes", "list"],
        vec!["nodes", "status", "pve1"],
        vec!["vm", "list"],
        vec!["ct", "list"],
        vec!["vm", "status", "web1"],
        vec!["ct", "status", "db1"],
        vec!["vm", "config", "web1"],
        vec!["vm", "config", "web1", "--pending"],
        vec!["ct", "config", "db1", "--pending"],
        vec!["storage", "list"],
        vec!["storage", "status", "local"],
        vec!["storage", "content", "local-lvm"],
        vec!["tasks", "list"],
        vec!["tasks", "status", &upid],
        vec!["tasks", "log", &upid],
    ] {
        let mut all = vec!["--output", "json"];
        all.extend(args.iter().copied());
        let run = fake.run(&all);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr, "", "{args:?}");
        let v: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{}", run.stdout));
        assert!(!v.is_null(), "{args:?}");
    }
}

// ------------------------------------------------------------------------------ password login

#[test]
fn password_login_reads() {
    let fake = cluster();
    let upid = add_task(&fake, "pve1", 1_767_225_600, "qmstart", "100", "OK", &[]);
    fake.clear_requests();

    let run = fake.run_password(&["version"]);
    run.success();
    assert!(run.stdout.contains("pve-manager 9.0.10"));
    assert_eq!(run.stderr, "");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(
        (reqs[0].0.as_str(), reqs[0].1.as_str()),
        ("POST", "/api2/json/access/ticket")
    );
    // fakepve records the password as ***.
    assert_eq!(reqs[0].2, "username=root%40pam&password=***");
    assert_eq!(reqs[1].1, "/api2/json/version");

    // One login per run, however many requests follow.
    fake.clear_requests();
    let run = fake.run_password(&["-o", "json", "tasks", "list"]);
    run.success();
    assert_eq!(ids(&run.json(), "upid"), [json!(upid)]);
    let reqs = seen_as_sent(&fake);
    assert_eq!(
        reqs.iter().filter(|r| r.contains("/access/ticket")).count(),
        1,
        "{reqs:?}"
    );
    assert_eq!(reqs.len(), 4, "{reqs:?}");

    // The same answers as with the token (stopped guests: no uptime ticking between the runs).
    for args in [
        vec!["-o", "json", "vm", "list", "--node", "pve2"],
        vec!["-o", "json", "nodes", "list"],
        vec!["-o", "json", "vm", "status", "web2"],
        vec!["-o", "json", "ct", "config", "db1"],
        vec![
            "-o",
            "json",
            "storage",
            "content",
            "local-lvm",
            "--vmid",
            "200",
        ],
        vec!["-o", "json", "tasks", "log", &upid],
    ] {
        let run = fake.run_password(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        let with_token = fake.run(&args);
        assert_eq!(run.json(), with_token.json(), "{args:?}");
    }

    // A write through `api` carries the CSRF token.
    let run = fake.run_password(&[
        "api",
        "put",
        "/nodes/pve1/qemu/100/config",
        "description=by password",
    ]);
    run.success();
    assert_eq!(
        fake.exec("result = pve.vm(100).config['description']"),
        "by password"
    );
}

#[test]
fn password_login_with_user_flag_and_password_file() {
    let fake = cluster();
    let pwfile = fake.home.path().join("password");
    std::fs::write(&pwfile, format!("{PASSWORD}\n")).unwrap();
    std::fs::write(
        fake.config_path(),
        format!(
            "[profiles.lab]\nhost = \"{}\"\nfingerprint = \"{}\"\nuser = \"root@pam\"\npassword_file = \"{}\"\n",
            fake.addr(),
            fake.fingerprint,
            pwfile.display()
        ),
    )
    .unwrap();
    // The profile alone (a user and a password file, no token) logs in with the password.
    let run = fake.run_bare(&[], &["-o", "json", "vm", "list", "--node", "pve1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(ids(&run.json(), "vmid"), [json!(100), json!(103)]);
    // --user switches a token setup to password login for one command.
    fake.clear_requests();
    let run = run_cmd(
        fake.cmd()
            .env_remove("PROXMOX_HOST")
            .env_remove("PROXMOX_FINGERPRINT")
            .args(["--user", "root@pam", "-o", "json", "nodes", "list"]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(ids(&run.json(), "node"), [json!("pve1"), json!("pve2")]);
    assert_eq!(
        seen_as_sent(&fake),
        ["POST /access/ticket", "GET /nodes"],
        "a ticket, not the token"
    );

    // Another user, with PROXMOX_PASSWORD.
    fake.exec("pve.users['ops@pve'] = 'ops-password-77'");
    let run = fake.run_env(
        &[],
        &[("PROXMOX_PASSWORD", "ops-password-77")],
        &["--user", "ops@pve", "cluster", "nextid"],
    );
    run.success();
    assert_eq!(run.stdout, "104\n");
    run.hides("ops-password-77");
}

#[test]
fn wrong_password_is_an_auth_error_without_the_password() {
    let fake = cluster();
    let wrong = "hunter2-not-it";
    let run = fake.run_env(
        &["PROXMOX_TOKEN"],
        &[
            ("PROXMOX_USERNAME", "root@pam"),
            ("PROXMOX_PASSWORD", wrong),
        ],
        &["vm", "list"],
    );
    let err = &run.one_error(4).stderr;
    assert!(
        err.contains("authentication failed: authentication failure"),
        "{err}"
    );
    assert!(err.contains("hint: ") && err.contains("password"), "{err}");
    run.hides(wrong);
    // Nothing but the login was tried.
    assert_eq!(seen_as_sent(&fake), ["POST /access/ticket"]);

    let run = fake.run_env(
        &["PROXMOX_TOKEN"],
        &[
            ("PROXMOX_USERNAME", "root@pam"),
            ("PROXMOX_PASSWORD", wrong),
        ],
        &["-v", "version"],
    );
    run.failure(4);
    assert!(
        run.stderr.contains("http: POST /access/ticket 401"),
        "{}",
        run.stderr
    );
    run.hides(wrong);

    // No password and no terminal to ask on.
    let run = fake.run_env(
        &["PROXMOX_TOKEN"],
        &[],
        &["--user", "root@pam", "vm", "list"],
    );
    let err = &run.one_error(3).stderr;
    assert!(
        err.contains("no password for root@pam") && err.contains("PROXMOX_PASSWORD"),
        "{err}"
    );
}

// ------------------------------------------------------------------------- configuration errors

#[test]
fn no_host_or_no_credentials() {
    let fake = Fake::new();
    let run = fake.run_bare(&[], &["vm", "list"]);
    let err = &run.one_error(3).stderr;
    assert!(
        err.contains("no Proxmox host configured")
            && err.contains("PROXMOX_HOST")
            && err.contains("--host"),
        "{err}"
    );
    let run = fake.run_bare(&[("PROXMOX_HOST", &fake.addr())], &["version"]);
    let err = &run.one_error(3).stderr;
    assert!(
        err.contains("no credentials configured")
            && err.contains("PROXMOX_TOKEN")
            && err.contains("config init"),
        "{err}"
    );
    let run = fake.run_bare(
        &[
            ("PROXMOX_HOST", &fake.addr()),
            ("PROXMOX_TOKEN_ID", TOKEN_ID),
        ],
        &["version"],
    );
    let err = &run.one_error(3).stderr;
    assert!(
        err.contains("no secret for token root@pam!cli") && err.contains("PROXMOX_TOKEN_SECRET"),
        "{err}"
    );
    let run = fake.run_bare(
        &[
            ("PROXMOX_HOST", &fake.addr()),
            ("PROXMOX_TOKEN", "s3cr3t-without-an-id"),
        ],
        &["version"],
    );
    let err = &run.one_error(3).stderr;
    assert!(err.contains("USER@REALM!NAME=SECRET"), "{err}");
    run.hides("s3cr3t-without-an-id");
    // Nothing reached the server.
    assert!(fake.requests().is_empty());
}

#[test]
fn invalid_or_unreadable_config_file() {
    let fake = Fake::new();
    let path = fake.config_path();
    std::fs::write(&path, "[profiles.lab]\nhost = \"pve1\"\ntoken_id = \n").unwrap();
    let run = fake.run(&["version"]);
    let err = &run.one_error(3).stderr;
    assert!(
        err.contains(&format!("invalid configuration file {}", path.display()))
            && err.contains("line 3"),
        "{err}"
    );

    std::fs::write(
        &path,
        "[profiles.lab]\nhost = \"pve1\"\n\ncolour = \"red\"\n",
    )
    .unwrap();
    let run = fake.run(&["vm", "list"]);
    let err = &run.one_error(3).stderr;
    assert!(
        err.contains("line 4") && err.contains("unknown field `colour`") && err.contains("`host`"),
        "{err}"
    );

    // A path that cannot be read as a file (a directory: also unreadable for root).
    let dir = fake.home.path().join("conf.d");
    std::fs::create_dir(&dir).unwrap();
    let run = run_cmd(
        fake.cmd()
            .args(["--config", dir.to_str().unwrap(), "version"]),
    );
    let err = &run.one_error(3).stderr;
    assert!(
        err.contains(&format!(
            "cannot read the configuration file {}",
            dir.display()
        )),
        "{err}"
    );
    let run = fake.run_env(
        &[],
        &[("PVECTL_CONFIG", dir.to_str().unwrap())],
        &["nodes", "list"],
    );
    run.one_error(3);

    // A bad value is named with its key.
    std::fs::write(&path, "[profiles.lab]\ntimeout = \"soon\"\n").unwrap();
    let run = fake.run(&["version"]);
    let err = &run.one_error(3).stderr;
    assert!(
        err.contains("timeout") && err.contains("'soon' is not a duration"),
        "{err}"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn unknown_profile() {
    let fake = Fake::new();
    std::fs::write(
        fake.config_path(),
        "[profiles.home]\nhost = \"pve1\"\n[profiles.work]\nhost = \"pve2\"\n",
    )
    .unwrap();
    let run = fake.run(&["-P", "lab", "version"]);
    let err = &run.one_error(3).stderr;
    assert!(
        err.contains("unknown profile 'lab' (profiles: home, work)")
            && err.contains("pvectl -P lab config init"),
        "{err}"
    );
    let run = fake.run_env(&[], &[("PVECTL_PROFILE", "lab")], &["vm", "list"]);
    let err = &run.one_error(3).stderr;
    assert!(err.contains("unknown profile 'lab'"), "{err}");
    let run = fake.run(&["--profile", "nope", "nodes", "list"]);
    run.one_error(3);
}

#[test]
fn host_that_is_not_a_host() {
    let fake = Fake::new();
    for (host, why) in [
        ("http://pve1", "https only"),
        ("pve 1", "e.g. pve1.example.com"),
        ("https://pve1:8006/api2/json/nodes", "no path"),
        ("https://root@pve1", "no user"),
        ("", "empty"),
    ] {
        let run = fake.run(&["--host", host, "version"]);
        let err = &run.one_error(3).stderr;
        assert!(
            err.contains(&format!(
                "host '{host}' is not a host name, IP address or https URL"
            )) && err.contains(why)
                && err.contains("https://pve1:8006"),
            "{host}: {err}"
        );
    }
    let run = fake.run_env(&[], &[("PROXMOX_HOST", "ftp://pve1")], &["version"]);
    run.one_error(3);
    let run = fake.run_env(&[], &[("PROXMOX_PORT", "eighty")], &["version"]);
    let err = &run.one_error(3).stderr;
    assert!(
        err.contains("PROXMOX_PORT 'eighty' is not a port number"),
        "{err}"
    );
    assert!(fake.requests().is_empty());
}

// -------------------------------------------------------------------------- connection and TLS

#[test]
fn connection_refused() {
    let fake = Fake::new();
    let port = closed_port();
    let run = fake.run_env(
        &[],
        &[("PROXMOX_HOST", &format!("127.0.0.1:{port}"))],
        &["vm", "list"],
    );
    let err = &run.one_error(7).stderr;
    assert!(
        err.contains(&format!("cannot reach the server https://127.0.0.1:{port}"))
            && err.contains("Connection refused")
            && err.contains("hint: check the host and port"),
        "{err}"
    );
    run.hides(TOKEN_SECRET);
}

#[test]
fn untrusted_certificate_shows_the_fingerprint_to_pin() {
    let fake = cluster();
    let run = fake.run_env(&["PROXMOX_FINGERPRINT"], &[], &["vm", "list"]);
    let err = &run.one_error(7).stderr;
    assert!(
        err.contains("cannot trust the server's TLS certificate"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "presented SHA-256 fingerprint {}",
            fake.fingerprint
        )) && err.contains(&format!("--fingerprint {}", fake.fingerprint))
            && err.contains("PROXMOX_FINGERPRINT")
            && err.contains("fingerprint = "),
        "{err}"
    );
    run.hides(TOKEN_SECRET);
    assert!(
        fake.requests().is_empty(),
        "nothing was sent to an untrusted server"
    );

    // A pinned fingerprint that does not match is refused the same way.
    let other = "AB:".repeat(31) + "AB";
    let run = fake.run_env(&[], &[("PROXMOX_FINGERPRINT", &other)], &["version"]);
    let err = &run.one_error(7).stderr;
    assert!(err.contains(&fake.fingerprint), "{err}");
    assert!(fake.requests().is_empty());

    // The fix works: pin it, trust its CA, or switch verification off (with a warning).
    let run = fake.run_env(
        &["PROXMOX_FINGERPRINT"],
        &[],
        &[
            "--fingerprint",
            &fake.fingerprint.to_lowercase(),
            "cluster",
            "nextid",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = fake.run_env(
        &["PROXMOX_FINGERPRINT"],
        &[],
        &["--ca-file", &fake.cafile, "cluster", "nextid"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "104\n");
    let run = fake.run_env(&["PROXMOX_FINGERPRINT"], &[], &["-k", "cluster", "nextid"]);
    run.success();
    assert_eq!(run.stdout, "104\n");
    assert!(
        run.stderr.starts_with("warning: TLS verification is off"),
        "{}",
        run.stderr
    );
    let run = fake.run_env(
        &["PROXMOX_FINGERPRINT"],
        &[("PROXMOX_INSECURE", "1")],
        &["cluster", "nextid"],
    );
    run.success();
    assert!(run.stderr.contains("warning: TLS verification is off"));

    let run = fake.run_env(&[], &[("PROXMOX_FINGERPRINT", "AB:CD")], &["version"]);
    run.one_error(3);
}

// -------------------------------------------------------------------- authentication and ACLs

#[test]
fn wrong_token_is_an_auth_error_without_the_secret() {
    let fake = cluster();
    let wrong = "deadbeef-0000-4000-8000-wrongwrongwr";
    let token = format!("{TOKEN_ID}={wrong}");
    let run = fake.run_env(&[], &[("PROXMOX_TOKEN", &token)], &["vm", "list"]);
    let err = &run.one_error(4).stderr;
    assert!(err.contains("authentication failed"), "{err}");
    assert!(
        err.contains("hint: check the token id (user@realm!name) and its secret"),
        "{err}"
    );
    run.hides(wrong);

    let run = fake.run_env(
        &[],
        &[("PROXMOX_TOKEN", &token)],
        &["-v", "vm", "status", "100"],
    );
    run.failure(4);
    assert!(
        run.stderr
            .contains("http: GET /cluster/resources?type=vm 401"),
        "{}",
        run.stderr
    );
    run.hides(wrong);

    // An unknown token id is no different.
    let run = fake.run_env(
        &["PROXMOX_TOKEN"],
        &[
            ("PROXMOX_TOKEN_ID", "nobody@pve!x"),
            ("PROXMOX_TOKEN_SECRET", wrong),
        ],
        &["nodes", "list"],
    );
    run.one_error(4);
    run.hides(wrong);
}

#[test]
fn missing_privilege_names_path_and_privilege() {
    let fake = cluster();
    let secret = "ro-0a1b2c3d-limited";
    fake.exec(&format!(
        "pve.apitokens['ops@pve!ro'] = '{secret}'\n\
         pve.grant('ops@pve!ro', '/vms/100', 'VM.Audit')"
    ));
    let token = format!("ops@pve!ro={secret}");
    let ops = |args: &[&str]| fake.run_env(&[], &[("PROXMOX_TOKEN", &token)], args);

    // What the token may see works; lists only show that.
    let run = ops(&["-o", "json", "vm", "list"]);
    run.success();
    assert_eq!(ids(&run.json(), "vmid"), [json!(100)]);
    ops(&["vm", "status", "web1"]).success();

    for (args, path_and_priv) in [
        (
            vec!["vm", "status", "101", "--node", "pve2"],
            "(/vms/101, VM.Audit)",
        ),
        (vec!["nodes", "status", "pve1"], "(/nodes/pve1, Sys.Audit)"),
        (
            vec!["storage", "content", "local", "--node", "pve1"],
            "(/storage/local, Datastore.Audit|Datastore.AllocateSpace)",
        ),
        (
            vec!["storage", "status", "nfs"],
            "(/storage/nfs, Datastore.Audit|Datastore.AllocateSpace)",
        ),
    ] {
        let run = ops(&args);
        let err = &run.one_error(4).stderr;
        assert!(
            err.contains(&format!(
                "permission denied: Permission check failed {path_and_priv}"
            )),
            "{args:?}: {err}"
        );
        // The advice names what PVE wanted and the grant for the token and its user.
        assert!(
            err.contains("hint: PVE wanted ")
                && err.contains("privilege-separated token")
                && err.contains("`pvectl access acl grant ")
                && err.contains("--tokens 'ops@pve!ro'`"),
            "{err}"
        );
        run.hides(secret);
    }

    // A guest the token cannot see is unknown to it.
    let run = ops(&["vm", "status", "101"]);
    let err = &run.one_error(5).stderr;
    assert!(err.contains("no VM with VMID 101"), "{err}");

    // The same for a user logging in with a password.
    fake.exec(
        "pve.users['ops@pve'] = 'ops-pw'\n\
         pve.grant('ops@pve', '/vms/100', 'VM.Audit')",
    );
    let run = fake.run_env(
        &["PROXMOX_TOKEN"],
        &[
            ("PROXMOX_USERNAME", "ops@pve"),
            ("PROXMOX_PASSWORD", "ops-pw"),
        ],
        &["nodes", "status", "pve2"],
    );
    let err = &run.one_error(4).stderr;
    assert!(
        err.contains("Permission check failed (/nodes/pve2, Sys.Audit)"),
        "{err}"
    );
}

#[test]
fn token_secret_never_shows_not_even_verbose() {
    let fake = cluster();
    let upid = add_task(
        &fake,
        "pve1",
        1_767_225_600,
        "qmstart",
        "100",
        "OK",
        &["hello"],
    );
    for args in [
        vec!["-v", "version"],
        vec!["-v", "vm", "list"],
        vec!["-v", "vm", "status", "web1"],
        vec!["-v", "-o", "json", "ct", "config", "db1"],
        vec!["-v", "storage", "content", "nfs"],
        vec!["-v", "tasks", "list"],
        vec!["-v", "tasks", "log", &upid],
        vec!["-v", "api", "get", "/access/permissions"],
        vec![
            "-v",
            "api",
            "put",
            "/nodes/pve1/qemu/100/config",
            "description=x",
        ],
        vec!["-v", "vm", "status", "999"],
        vec!["-v", "-o", "json", "config", "show"],
        vec!["config", "show"],
    ] {
        let run = fake.run(&args);
        run.hides(TOKEN_SECRET);
    }
    let run = fake.run(&["-v", "vm", "status", "web1"]);
    run.success();
    let trace: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(trace.len(), 2, "{}", run.stderr);
    assert!(
        trace[0].starts_with("http: GET /cluster/resources?type=vm 200 ")
            && trace[0].ends_with(" attempt 1")
    );
    assert!(trace[1].starts_with("http: GET /nodes/pve1/qemu/100/status/current 200 "));

    // The full token as a flag works, warns, and is not echoed.
    let run = fake.run_env(
        &["PROXMOX_TOKEN"],
        &[],
        &["--token", &full_token(), "-v", "cluster", "nextid"],
    );
    run.success();
    assert_eq!(run.stdout, "104\n");
    assert!(
        run.stderr
            .contains("warning: --token puts the secret on the command line"),
        "{}",
        run.stderr
    );
    run.hides(TOKEN_SECRET);

    // Nor the secret of a profile, a secret file or a secret command.
    let file = fake.home.path().join("secret");
    std::fs::write(&file, TOKEN_SECRET).unwrap();
    for secret_line in [
        format!("token_secret = \"{TOKEN_SECRET}\""),
        format!("token_secret_file = \"{}\"", file.display()),
        format!("token_secret_command = \"cat {}\"", file.display()),
    ] {
        std::fs::write(
            fake.config_path(),
            format!(
                "[profiles.lab]\nhost = \"{}\"\nfingerprint = \"{}\"\ntoken_id = \"{TOKEN_ID}\"\n{secret_line}\n",
                fake.addr(),
                fake.fingerprint
            ),
        )
        .unwrap();
        let run = fake.run_bare(&[], &["-v", "-o", "json", "vm", "list", "--node", "pve2"]);
        assert_eq!(run.code, 0, "{secret_line}: {}", run.stderr);
        assert_eq!(ids(&run.json(), "vmid"), [json!(101), json!(102)]);
        run.hides(TOKEN_SECRET);
        let run = fake.run_bare(&[], &["config", "show"]);
        run.success();
        run.hides(TOKEN_SECRET);
    }
}

// ---------------------------------------------------------------------------------- usage

#[test]
fn usage_errors_exit_2() {
    let fake = Fake::new();
    for args in [
        vec!["vm", "list", "--bogus"],
        vec!["vm", "status"],
        vec!["nodes", "status"],
        vec!["-o", "xml", "vm", "list"],
        vec!["frobnicate"],
        vec!["tasks", "status"],
    ] {
        let run = fake.run(&args);
        run.failure(2);
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
        run.hides(TOKEN_SECRET);
    }
    assert!(fake.requests().is_empty());

    let run = run_cmd(Command::new(env!("CARGO_BIN_EXE_pvectl")).arg("--help"));
    run.success();
    assert!(run.stdout.contains("Exit codes:") && run.stdout.contains("130 interrupted"));
    let run = run_cmd(Command::new(env!("CARGO_BIN_EXE_pvectl")).arg("--version"));
    run.success();
    assert_eq!(
        run.stdout,
        format!("pvectl {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_token_no_header_can_carry_is_a_configuration_error() {
    let fake = Fake::new();
    // A secret pasted with a line break in the middle cannot be sent.
    let run = run_cmd(
        fake.cmd()
            .env("PROXMOX_TOKEN", "root@pam!cli=abc\ndef")
            .args(["vm", "list"]),
    );
    run.failure(3)
        .stderr_has("characters not allowed in an HTTP header");
    assert!(!run.stderr.contains("abc"), "{}", run.stderr);
    assert!(fake.requests().is_empty(), "nothing was sent");
}
