//! End-to-end: read commands against fakepve.

mod common;
use common::Fake;

#[test]
fn vm_list_is_one_request_and_filters_by_kind() {
    let fake = Fake::new();
    fake.exec(
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
