//! End-to-end: `vm|ct tag add|remove|set` against fakepve: one guest or many (names, globs,
//! selectors), PVE's tag rules, the configuration written with its digest, and guests that
//! already have what was asked left alone.

mod common;

use common::helpers::{guest, writes};
use common::Fake;

fn cluster() -> Fake {
    Fake::with(
        "pve.add_node('pve2')
pve.add_vm(100, 'web-1', node='pve1', status='running', config={'tags': 'web;prod'})
pve.add_vm(101, 'web-2', node='pve2', status='stopped')
pve.add_vm(102, 'db', node='pve1', status='running', config={'tags': 'db'})
pve.add_ct(200, node='pve1', status='running', config={'hostname': 'dns', 'tags': 'infra'})",
    )
}

fn tags(fake: &Fake, vmid: u32) -> String {
    guest(fake, vmid)["config"]["tags"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Tags are added after those a guest has, `;`-separated; a guest that has them is left alone;
/// the write carries the configuration's digest.
#[test]
fn add_keeps_the_order_and_skips_what_is_there() {
    let fake = cluster();
    fake.clear_requests();
    let run = fake.run(&["vm", "tag", "add", "web-*", "eu,Prod"]);
    run.success()
        .stderr_has("web-1 (100): tag add OK, tags: web;prod;eu")
        .stderr_has("web-2 (101): tag add OK, tags: eu;Prod");
    assert_eq!(tags(&fake, 100), "web;prod;eu");
    assert_eq!(tags(&fake, 101), "eu;Prod");
    let w = writes(&fake);
    assert_eq!(w.len(), 2);
    let first = w
        .iter()
        .find(|r| r.path == "/nodes/pve1/qemu/100/config")
        .unwrap();
    assert_eq!(first.method, "PUT");
    assert_eq!(
        first.params[0],
        ("tags".to_string(), "web;prod;eu".to_string())
    );
    assert_eq!(first.params[1].0, "digest");

    fake.clear_requests();
    fake.run(&["vm", "tag", "add", "web-1", "PROD"])
        .success()
        .stderr_has("web-1 (100): already tagged PROD");
    assert!(writes(&fake).is_empty());
}

/// remove and set, on containers too; the last tag removed deletes the key.
#[test]
fn remove_and_set() {
    let fake = cluster();
    fake.run(&["vm", "tag", "remove", "web-1", "prod"])
        .success()
        .stderr_has("web-1 (100): tag remove OK, tags: web");
    assert_eq!(tags(&fake, 100), "web");
    fake.clear_requests();
    fake.run(&["vm", "tag", "remove", "web-1", "web"])
        .success()
        .stderr_has("web-1 (100): tag remove OK, no tags left");
    assert!(guest(&fake, 100)["config"].get("tags").is_none());
    assert_eq!(
        writes(&fake)[0].params[0],
        ("delete".to_string(), "tags".to_string())
    );
    fake.run(&["vm", "tag", "remove", "web-1", "web"])
        .success()
        .stderr_has("web-1 (100): already without web");

    let run = fake.run(&["-o", "json", "ct", "tag", "set", "dns", "a;b"]);
    run.success();
    assert_eq!(run.json()[0]["action"], "tag set");
    assert_eq!(run.json()[0]["message"], "OK, tags: a;b");
    assert_eq!(tags(&fake, 200), "a;b");
    fake.run(&["ct", "tag", "set", "dns", "b,a"])
        .success()
        .stderr_has("dns (200): already tagged b;a");
    fake.run(&["ct", "tag", "set", "dns", ""]).success();
    assert!(guest(&fake, 200)["config"].get("tags").is_none());
}

/// Selectors pick the guests (and need --yes off a terminal); tags that break PVE's rules, a
/// missing tag argument and a guest of the other kind are usage errors before anything is sent.
#[test]
fn selectors_and_bad_input() {
    let fake = cluster();
    fake.clear_requests();
    let run = fake.run(&["vm", "tag", "add", "--node", "pve1", "maint"]);
    run.one_error(2);
    assert!(
        run.error_line().contains("needs confirmation, add --yes"),
        "{}",
        run.stderr
    );
    assert!(writes(&fake).is_empty());
    fake.run(&["vm", "tag", "add", "--node", "pve1", "maint", "--yes"])
        .success();
    assert_eq!(tags(&fake, 100), "web;prod;maint");
    assert_eq!(tags(&fake, 102), "db;maint");
    assert_eq!(tags(&fake, 101), "");
    assert_eq!(tags(&fake, 200), "infra", "containers are `ct tag`");
    fake.run(&[
        "vm",
        "tag",
        "add",
        "--tag",
        "maint",
        "--yes",
        "--parallel",
        "1",
        "done",
    ])
    .success();
    assert_eq!(tags(&fake, 102), "db;maint;done");

    fake.clear_requests();
    let run = fake.run(&["vm", "tag", "add", "web-1", "bad!"]);
    run.one_error(2);
    assert!(
        run.error_line().contains("'bad!' is not a tag"),
        "{}",
        run.stderr
    );
    fake.run(&["vm", "tag", "add", "prod"]).one_error(2);
    fake.run(&["vm", "tag", "add", "web-1", ""]).one_error(2);
    fake.run(&["vm", "tag", "add", "dns", "x"]).one_error(2);
    fake.run(&["vm", "tag", "add", "nosuch", "x"]).one_error(5);
    assert!(writes(&fake).is_empty());
}
