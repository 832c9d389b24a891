//! End-to-end: `ha` against fakepve. fakepve only synthesises `/cluster/ha/…`; the emulation in
//! tests/support/fakepve_ctl.py (`emulate_ha`) keeps resources and rules and answers in PVE 9's
//! documented shapes (status entries, the migrate answer with `blocking-resources`, PVE's
//! refusals), so these tests check the requests pvectl sends and what it makes of the answers.

mod common;

use std::time::{Duration, Instant};

use common::helpers::{req, sent, writes};
use common::Fake;

/// VM 100 `web-1` (HA, started) and 101 `web-2` on pve1, container 200 `dns` on pve2; pve3.
fn cluster(time_scale: f64, secs: f64) -> Fake {
    let fake = Fake::with_time_scale(time_scale);
    fake.exec(&format!(
        "pve.add_node('pve2'); pve.add_node('pve3')
pve.add_vm(100, 'web-1', node='pve1', status='running')
pve.vm(100).ha_state = 'started'
pve.add_vm(101, 'web-2', node='pve1', status='running')
pve.add_ct(200, node='pve2', status='running', config={{'hostname': 'dns'}})
emulate_ha(pve, secs={secs})"
    ));
    fake
}

fn ha_writes(fake: &Fake) -> Vec<common::helpers::Req> {
    writes(fake)
        .into_iter()
        .filter(|r| r.path.starts_with("/cluster/ha/"))
        .collect()
}

/// `ha status` shows the manager, each node's LRM and each resource, with guests by name; `-o
/// json` keeps PVE's entries.
#[test]
fn status_shows_the_manager_the_nodes_and_the_resources() {
    let fake = cluster(0.0, 0.0);
    fake.exec("pve.set_node_offline('pve3')");
    let run = fake.run(&["ha", "status"]);
    run.success();
    let rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows[0], ["TYPE", "ID", "GUEST", "NODE", "STATE"]);
    assert!(
        rows.contains(&vec!["quorum", "quorum", "pve1", "OK"]),
        "{}",
        run.stdout
    );
    assert!(
        rows.contains(&vec!["master", "master", "pve1", "active"]),
        "{}",
        run.stdout
    );
    assert!(
        rows.contains(&vec!["lrm", "lrm:pve3", "pve3", "old timestamp - dead?"]),
        "{}",
        run.stdout
    );
    assert!(
        rows.contains(&vec![
            "service",
            "service:vm:100",
            "web-1 (100)",
            "pve1",
            "started"
        ]),
        "{}",
        run.stdout
    );
    let run = fake.run(&["-o", "json", "ha", "status"]);
    let entries = run.json();
    let svc = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "service")
        .unwrap();
    assert_eq!(svc["sid"], "vm:100");
    assert_eq!(svc["status"], "vm:100 (pve1, started)");
    assert_eq!(svc["request_state"], "started");
    assert_eq!(
        sent(&fake)
            .iter()
            .filter(|r| r.path == "/cluster/ha/status/current")
            .count(),
        2
    );
}

/// `ha add|set|remove` by name, with PVE's parameter names; adding twice is PVE's refusal with a
/// hint, removing a guest HA does not manage is no error.
#[test]
fn add_set_and_remove_a_resource() {
    let fake = cluster(0.0, 0.0);
    fake.clear_requests();
    let run = fake.run(&[
        "ha",
        "add",
        "dns",
        "--state",
        "stopped",
        "--max-restart",
        "2",
        "--max-relocate",
        "0",
        "--comment",
        "resolver",
        "--failback",
        "no",
    ]);
    run.success()
        .stdout_empty()
        .stderr_has("dns (200): add to HA OK");
    assert_eq!(
        ha_writes(&fake),
        vec![req(
            "POST",
            "/cluster/ha/resources",
            &[
                ("sid", "ct:200"),
                ("state", "stopped"),
                ("max_restart", "2"),
                ("max_relocate", "0"),
                ("comment", "resolver"),
                ("failback", "0"),
            ]
        )]
    );
    let res = fake.exec("result = pve.ha_resources['ct:200']");
    assert_eq!(res["state"], "stopped");
    assert_eq!(res["max_restart"], 2);

    let run = fake.run(&["ha", "add", "web-1"]);
    run.failure(6)
        .stderr_has("web-1 (100): add to HA failed: create resource failed: resource ID 'vm:100' already defined")
        .stderr_has("hint: it is under HA already: change its settings with `pvectl ha set 100`");

    fake.clear_requests();
    let run = fake.run(&["-o", "json", "ha", "set", "200", "--state", "started"]);
    run.success();
    assert_eq!(run.json()[0]["action"], "change HA settings");
    assert_eq!(
        ha_writes(&fake),
        vec![req(
            "PUT",
            "/cluster/ha/resources/ct:200",
            &[("state", "started")]
        )]
    );
    fake.run(&["ha", "set", "dns"]).one_error(2);
    let run = fake.run(&["ha", "set", "web-2", "--state", "stopped"]);
    run.failure(5)
        .stderr_has("no such resource 'vm:101'")
        .stderr_has("hint: it is not under HA: `pvectl ha add 101`");

    fake.clear_requests();
    fake.run(&["ha", "remove", "dns"])
        .success()
        .stderr_has("dns (200): remove from HA OK");
    assert_eq!(
        ha_writes(&fake),
        vec![req("DELETE", "/cluster/ha/resources/ct:200", &[])]
    );
    assert!(fake.exec("result = 'ct:200' in pve.ha_resources").as_bool() == Some(false));
    fake.run(&["ha", "remove", "dns"])
        .success()
        .stderr_has("dns (200): already out of HA");
    fake.run(&["ha", "add", "nosuch"]).one_error(5);

    // `ha list`: the resources with their guests' names and nodes.
    let run = fake.run(&["ha", "list"]);
    run.success();
    let line = run.stdout.lines().nth(1).unwrap();
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[..4], ["vm:100", "web-1", "pve1", "started"]);
}

/// `ha migrate` asks HA and waits until HA's status shows the guest on the node; `--no-wait`
/// only asks; a guest on the node already asks nothing; an unknown or offline node is refused
/// before asking; a guest HA does not manage is PVE's refusal with the way out.
#[test]
fn migrate_through_ha_waits_until_ha_reports_it_there() {
    let fake = cluster(0.05, 10.0);
    fake.clear_requests();
    let started = Instant::now();
    let run = fake.run(&["ha", "migrate", "web-1", "pve2"]);
    run.success()
        .stderr_has("web-1 (100): HA migrate to pve2 OK");
    // The CRM moves it 0.5 s after the request: pvectl waited for it.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        ha_writes(&fake),
        vec![req(
            "POST",
            "/cluster/ha/resources/vm:100/migrate",
            &[("node", "pve2")]
        )]
    );
    let polls = sent(&fake)
        .iter()
        .filter(|r| r.path == "/cluster/ha/status/current")
        .count();
    assert!(polls >= 2, "{polls}");
    assert_eq!(
        fake.exec("result = pve.vm(100).node").as_str(),
        Some("pve2")
    );

    fake.clear_requests();
    fake.run(&["ha", "migrate", "web-1", "pve2"])
        .success()
        .stderr_has("web-1 (100): already on pve2");
    assert!(ha_writes(&fake).is_empty());

    let run = fake.run(&["ha", "relocate", "web-1", "pve3", "--no-wait"]);
    run.success()
        .stderr_has("web-1 (100): HA relocate to pve3 requested");
    assert_eq!(
        ha_writes(&fake),
        vec![req(
            "POST",
            "/cluster/ha/resources/vm:100/relocate",
            &[("node", "pve3")]
        )]
    );

    fake.clear_requests();
    fake.exec("pve.set_node_offline('pve3')");
    fake.run(&["ha", "migrate", "web-1", "pve3"]).one_error(7);
    fake.run(&["ha", "migrate", "web-1", "pve9"]).one_error(5);
    assert!(ha_writes(&fake).is_empty());

    let run = fake.run(&["ha", "migrate", "web-2", "pve2"]);
    run.failure(6)
        .stderr_has("web-2 (101): HA migrate to pve2 failed: resource 'vm:101' is not HA managed")
        .stderr_has("hint: put it under HA first (`pvectl ha add 101`), or move it without HA (`pvectl vm migrate 101 pve2`)");
}

/// HA does not move the guest in time: exit 9 with what HA shows; PVE 9's `blocking-resources`
/// answer (a resource-affinity rule keeps it away) is a refusal (6), and nothing is waited for.
#[test]
fn ha_not_moving_in_time_and_blocked_moves() {
    let fake = cluster(0.01, 1.0);
    fake.exec("pve.ha_stuck.add('vm:100')");
    let run = fake.run(&["ha", "migrate", "web-1", "pve2", "--wait-timeout", "1s"]);
    run.failure(9).stderr_has(
        "web-1 (100): HA migrate to pve2 still running: HA has not moved it to pve2 after 1s (HA shows it migrate on pve1); the request stands: follow it with `pvectl ha status`",
    );
    fake.exec(
        "pve.ha_stuck.clear()
pve.ha_crm.clear()
pve.ha_blocking['vm:100'] = [{'sid': 'ct:200', 'cause': 'resource-affinity'}]",
    );
    let run = fake.run(&["ha", "migrate", "web-1", "pve2"]);
    run.failure(6).stderr_has(
        "web-1 (100): HA migrate to pve2 failed: HA will not move vm:100 to pve2: ct:200 (resource-affinity) keeps it away (an HA rule)",
    );
    assert_eq!(
        fake.exec("result = pve.vm(100).node").as_str(),
        Some("pve1")
    );
}

/// `ha rules add|list|remove`: node-affinity and resource-affinity rules with guests by name,
/// the checks made before sending, PVE's refusals, and a rule that is not there (5, nothing sent).
#[test]
fn rules_of_both_kinds() {
    let fake = cluster(0.0, 0.0);
    fake.exec("pve.vm(101).ha_state = 'started'");
    fake.clear_requests();
    let run = fake.run(&[
        "ha",
        "rules",
        "add",
        "web-on-1",
        "web-*",
        "--type",
        "node-affinity",
        "--nodes",
        "pve1:2,pve2",
        "--strict",
        "--comment",
        "keep close",
    ]);
    run.success().stderr_has("web-on-1: add HA rule OK");
    assert_eq!(
        ha_writes(&fake),
        vec![req(
            "POST",
            "/cluster/ha/rules",
            &[
                ("rule", "web-on-1"),
                ("type", "node-affinity"),
                ("resources", "vm:100,vm:101"),
                ("nodes", "pve1:2,pve2"),
                ("strict", "1"),
                ("comment", "keep close"),
            ]
        )]
    );
    fake.clear_requests();
    let run = fake.run(&[
        "ha",
        "rules",
        "add",
        "apart",
        "100",
        "web-2",
        "--type",
        "resource-affinity",
        "--affinity",
        "negative",
    ]);
    run.success();
    assert_eq!(
        ha_writes(&fake),
        vec![req(
            "POST",
            "/cluster/ha/rules",
            &[
                ("rule", "apart"),
                ("type", "resource-affinity"),
                ("resources", "vm:100,vm:101"),
                ("affinity", "negative"),
            ]
        )]
    );
    // Checked before anything is sent.
    fake.clear_requests();
    fake.run(&[
        "ha",
        "rules",
        "add",
        "x",
        "web-1",
        "--type",
        "node-affinity",
    ])
    .one_error(2);
    fake.run(&[
        "ha",
        "rules",
        "add",
        "x",
        "web-1",
        "--type",
        "resource-affinity",
    ])
    .one_error(2);
    fake.run(&[
        "ha",
        "rules",
        "add",
        "x",
        "web-1",
        "--type",
        "resource-affinity",
        "--affinity",
        "positive",
        "--strict",
    ])
    .one_error(2);
    assert!(ha_writes(&fake).is_empty());
    // PVE's refusal of a guest that is not under HA, with the way out.
    let run = fake.run(&[
        "ha",
        "rules",
        "add",
        "x",
        "dns",
        "--type",
        "node-affinity",
        "--nodes",
        "pve2",
    ]);
    run.failure(6)
        .stderr_has("cannot use unmanaged resource(s) ct:200.")
        .stderr_has("hint: put the guests under HA first: `pvectl ha add <guest>`");

    let run = fake.run(&["ha", "rules", "list"]);
    run.success();
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("web-on-1"))
        .unwrap();
    assert!(
        line.contains("web-1 (100), web-2 (101)")
            && line.contains("pve1:2,pve2")
            && line.contains("yes"),
        "{line}"
    );
    let run = fake.run(&["-o", "json", "ha", "rules", "list", "--guest", "dns"]);
    assert_eq!(run.json().as_array().unwrap().len(), 0);
    assert!(sent(&fake).iter().any(|r| r.path == "/cluster/ha/rules"
        && r.params
            .contains(&("resource".to_string(), "ct:200".to_string()))));
    let run = fake.run(&[
        "-o",
        "json",
        "ha",
        "rules",
        "list",
        "--type",
        "resource-affinity",
    ]);
    let rules = run.json();
    assert_eq!(rules.as_array().unwrap().len(), 1);
    assert_eq!(rules[0]["rule"], "apart");

    fake.clear_requests();
    fake.run(&["ha", "rules", "remove", "apart"])
        .success()
        .stderr_has("apart: remove HA rule OK");
    assert_eq!(
        ha_writes(&fake),
        vec![req("DELETE", "/cluster/ha/rules/apart", &[])]
    );
    fake.clear_requests();
    let run = fake.run(&["ha", "rules", "remove", "apart"]);
    run.one_error(5);
    assert_eq!(
        run.error_line(),
        "error: no HA rule 'apart' (see `pvectl ha rules list`)"
    );
    assert!(ha_writes(&fake).is_empty());
}

/// A PVE without HA rules (before 9: the path does not exist) is told in words.
#[test]
fn a_pve_without_rules_says_so() {
    let fake = Fake::new();
    fake.exec("pve.fail('GET', '/cluster/ha/rules', 501, \"Method 'GET /cluster/ha/rules' not implemented\")");
    let run = fake.run(&["ha", "rules", "list"]);
    run.one_error(6);
    assert!(
        run.error_line()
            .contains("this PVE has no HA rules (PVE 9 replaced HA groups with rules)"),
        "{}",
        run.stderr
    );
}
