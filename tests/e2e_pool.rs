//! End-to-end: `pool` against fakepve, which keeps pools and their members as PVE does (guests
//! and storages, one pool per guest, all-or-nothing changes, refusing to delete a pool with
//! members).

mod common;

use common::helpers::{req, writes};
use common::Fake;

fn cluster() -> Fake {
    Fake::with(
        "pve.add_node('pve2')
pve.storages['nfs'] = {'type': 'nfs', 'active': 1, 'content': 'images', 'files': set(), 'shared': 1}
pve.add_vm(100, 'web-1', node='pve1', status='running')
pve.add_vm(101, 'web-2', node='pve2', status='stopped')
pve.add_ct(200, node='pve1', status='running', config={'hostname': 'dns'})
pve.add_vm(102, 'db', node='pve1', pool='data')",
    )
}

fn members(fake: &Fake, pool: &str) -> Vec<u64> {
    let v = fake.exec(&format!("result = sorted(pve.pools.get('{pool}', []))"));
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

/// Create, fill (guests by name and glob, a storage), list, show, empty and delete a pool.
#[test]
fn a_pool_from_creation_to_deletion() {
    let fake = cluster();
    let run = fake.run(&["pool", "create", "web", "--comment", "front end"]);
    run.success().stderr_has("web: create pool OK");
    fake.clear_requests();
    let run = fake.run(&["pool", "add", "web", "web-*", "dns", "--storage", "nfs"]);
    run.success()
        .stderr_has("web-1 (100): add to pool web OK")
        .stderr_has("storage nfs: add to pool web OK");
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/pools",
            &[
                ("poolid", "web"),
                ("vms", "100,101,200"),
                ("storage", "nfs")
            ]
        )]
    );
    assert_eq!(members(&fake, "web"), [100, 101, 200]);

    // Adding what is there already asks nothing of PVE (which would refuse the whole change).
    fake.clear_requests();
    fake.run(&["pool", "add", "web", "web-1"])
        .success()
        .stderr_has("web-1 (100): already in pool web");
    assert!(writes(&fake).is_empty());

    let run = fake.run(&["pool", "list"]);
    run.success()
        .stdout_has("web   front end")
        .stdout_has("data");
    let run = fake.run(&["pool", "show", "web"]);
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TYPE", "MEMBER", "NAME", "NODE", "STATUS"]
    );
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["qemu", "100", "web-1", "pve1", "running"]),
        "{}",
        run.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("storage") && l.contains("nfs")),
        "{}",
        run.stdout
    );
    let run = fake.run(&["-o", "json", "pool", "show", "web"]);
    let pool = run.json();
    assert_eq!(pool["poolid"], "web");
    assert_eq!(pool["comment"], "front end");
    assert_eq!(pool["members"].as_array().unwrap().len(), 4);

    // A pool with members is not deleted without --force (6, nothing sent); off a terminal
    // the deletion needs --yes.
    fake.clear_requests();
    let run = fake.run(&["pool", "delete", "web", "--yes"]);
    run.one_error(6);
    assert_eq!(
        run.error_line(),
        "error: pool web still has 4 member(s): web-1 (100), web-2 (101), dns (200), storage nfs; take them out first (`pvectl pool remove web …`), or add --force (the guests and storages stay, outside any pool)"
    );
    fake.run(&["pool", "delete", "web", "--force"]).one_error(2);
    assert!(writes(&fake).is_empty());

    fake.clear_requests();
    fake.run(&["pool", "remove", "web", "web-2"])
        .success()
        .stderr_has("web-2 (101): remove from pool web OK");
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/pools",
            &[("poolid", "web"), ("vms", "101"), ("delete", "1")]
        )]
    );
    fake.run(&["pool", "remove", "web", "web-2"])
        .success()
        .stderr_has("web-2 (101): already out of pool web");

    fake.clear_requests();
    let run = fake.run(&["-o", "json", "pool", "delete", "web", "--force", "--yes"]);
    run.success();
    assert_eq!(run.json()[0]["action"], "delete pool");
    assert_eq!(
        writes(&fake),
        vec![
            req(
                "PUT",
                "/pools",
                &[
                    ("poolid", "web"),
                    ("vms", "100,200"),
                    ("storage", "nfs"),
                    ("delete", "1")
                ]
            ),
            req("DELETE", "/pools", &[("poolid", "web")]),
        ]
    );
    assert!(fake.exec("result = 'web' in pve.pools").as_bool() == Some(false));
    // The guests are still there, outside any pool.
    assert!(fake.exec("result = pve.vm(100).pool").is_null());
    fake.run(&["pool", "show", "web"]).one_error(5);
}

/// A guest in another pool moves only with --move (checked before anything is sent); an empty
/// pool is deleted after asking; a member list is needed.
#[test]
fn moving_a_guest_between_pools_and_other_refusals() {
    let fake = cluster();
    fake.run(&["pool", "create", "web"]).success();
    fake.clear_requests();
    let run = fake.run(&["pool", "add", "web", "db"]);
    run.one_error(6);
    assert_eq!(
        run.error_line(),
        "error: db (102) is in pool data: add --move to move it to web; nothing was changed"
    );
    assert!(writes(&fake).is_empty());
    fake.run(&["pool", "add", "web", "db", "--move"]).success();
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/pools",
            &[("poolid", "web"), ("vms", "102"), ("allow-move", "1")]
        )]
    );
    assert_eq!(members(&fake, "web"), [102]);
    assert!(members(&fake, "data").is_empty());
    fake.run(&["pool", "add", "web"]).one_error(2);
    fake.run(&["pool", "add", "nope", "web-1"]).one_error(5);
    fake.run(&["pool", "delete", "data", "--yes"])
        .success()
        .stderr_has("data: delete pool OK");
    // PVE's own refusal of a name it does not take.
    let run = fake.run(&["pool", "create", "1bad"]);
    run.failure(6)
        .stderr_has("pool name must start with a letter");
}
