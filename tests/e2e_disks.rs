//! End-to-end: a guest's disks (`vm disk list|resize|move|detach|import`, `ct disk
//! list|resize|move`) against fakepve.
//!
//! fakepve models a container's resize; for the rest it only synthesises an answer, so
//! `emulate_disks` (tests/support/fakepve_ctl.py) does what qemu-server and pve-container do:
//! resize, move_disk/move_volume (to a storage or to another guest), unlink, and `import-from` in a
//! configuration change. Every test checks the exit code, both streams, the requests sent and the
//! disks the server holds afterwards.

mod common;

use common::helpers::{cmd, guest, req, task_types, tasks, writes};
use common::{Fake, Run};
use serde_json::Value;

// ------------------------------------------------------------------------------------ helpers

/// Two VMs and a container on pve1, a VM on pve2, and a directory storage `tank` for disks.
const SETUP: &str = "\
emulate_disks(pve)
pve.add_node('pve2')
pve.storages['tank'] = {'type': 'dir', 'path': '/tank', 'content': 'images,rootdir', 'active': 1,
                        'files': set(), 'volumes': {}}
pve.storages['local']['content'] = 'iso,vztmpl,backup,import'
pve.store_file('local', 'debian.iso', 1000)
pve.store_file('local', 'debian-13-genericcloud-amd64.qcow2', 3 << 30, content='import')
pve.add_vm(100, 'web1', config={'memory': 2048, 'scsi0': 'local-lvm:vm-100-disk-0,size=32G',
                                'ide2': 'local:iso/debian.iso,media=cdrom', 'scsi1': 'local-lvm:vm-100-disk-1,backup=0,cache=writeback,size=4G',
                                'unused0': 'local-lvm:vm-100-disk-2'})
pve.add_vm(101, 'web2', config={'scsi0': 'local-lvm:vm-101-disk-0,size=8G'})
pve.add_vm(102, 'far', node='pve2', config={'scsi0': 'local-lvm:vm-102-disk-0,size=8G'})
pve.add_ct(200, 'db1', config={'rootfs': 'local-lvm:vm-200-disk-0,size=8G',
                               'mp0': 'local-lvm:vm-200-disk-1,mp=/srv,backup=1,size=4G',
                               'mp1': '/mnt/host,mp=/host'})
pve.add_ct(201, 'db2', config={'rootfs': 'local-lvm:vm-201-disk-0,size=8G'})
";

fn fake() -> Fake {
    let fake = Fake::with(SETUP);
    fake.clear_requests();
    fake
}

fn config(fake: &Fake, vmid: u32) -> Value {
    guest(fake, vmid)["config"].clone()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Whether the storage still holds the volume.
fn exists(fake: &Fake, volid: &str) -> bool {
    let (sid, name) = volid.split_once(':').unwrap();
    fake.exec(&format!("result = '{name}' in pve._volumes('{sid}')")) == true
}

#[track_caller]
fn fails_sending_nothing(fake: &Fake, args: &[&str], code: i32, text: &str) -> Run {
    let run = fake.run(args);
    run.one_error(code);
    assert!(
        run.error_line().contains(text),
        "{args:?}: {}",
        run.error_line()
    );
    assert!(writes(fake).is_empty(), "{args:?} sent {:?}", writes(fake));
    run
}

// ---------------------------------------------------------------------------------------- list

#[test]
fn vm_disk_list_shows_every_disk_with_its_facts() {
    let fake = fake();
    let run = fake.run(&cmd("vm disk list web1"));
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["DISK", "BUS", "VOLUME", "SIZE", "STORAGE", "FORMAT", "MEDIA", "CACHE", "BACKUP"]
    );
    let keys: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(keys, ["ide2", "scsi0", "scsi1", "unused0"]);
    assert!(
        lines[2].contains("32 GiB") && lines[2].contains("yes"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].contains("writeback") && lines[3].trim_end().ends_with("no"),
        "{}",
        lines[3]
    );
    let v = fake.run(&cmd("-o json vm disk list web1")).json();
    let scsi0 = &v[1];
    assert_eq!(scsi0["disk"], "scsi0");
    assert_eq!(scsi0["bus"], "scsi");
    assert_eq!(scsi0["size"], 32u64 << 30);
    assert_eq!(scsi0["storage"], "local-lvm");
    assert_eq!(scsi0["format"], "raw");
    assert_eq!(scsi0["backup"], 1);
    assert_eq!(v[0]["media"], "cdrom");
    assert_eq!(v[3]["bus"], "unused");
    assert!(v[3].get("backup").is_none(), "{}", v[3]);
    assert!(v[3].get("media").is_none(), "{}", v[3]);
}

#[test]
fn ct_disk_list_shows_rootfs_and_mount_points() {
    let fake = fake();
    let v = fake.run(&cmd("-o json ct disk list db1")).json();
    let keys: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| text(&d["disk"]))
        .collect();
    assert_eq!(keys, ["rootfs", "mp0", "mp1"]);
    assert_eq!(v[0]["backup"], 1);
    assert_eq!(v[1]["mp"], "/srv");
    assert_eq!(v[1]["size"], 4u64 << 30);
    assert_eq!(v[2]["volume"], "/mnt/host");
    assert!(v[2].get("storage").is_none(), "{}", v[2]);
    let run = fake.run(&cmd("ct disk list 100"));
    run.one_error(2);
    assert!(run.error_line().contains("100 is a VM: use 'pvectl vm …'"));
}

// -------------------------------------------------------------------------------------- resize

#[test]
fn vm_disk_resize_grows_by_or_to_a_size_with_the_digest() {
    let fake = fake();
    let digest = fake.exec("result = pve.guest(100).digest()");
    let run = fake.run(&cmd("vm disk resize web1 scsi0 +10G"));
    run.success().stdout_empty();
    run.stderr_has("web1 (100): resize scsi0: 32 GiB → 42 GiB (OK)");
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/qemu/100/resize",
            &[
                ("disk", "scsi0"),
                ("size", "+10G"),
                ("digest", digest.as_str().unwrap())
            ]
        )]
    );
    assert_eq!(
        config(&fake, 100)["scsi0"],
        "local-lvm:vm-100-disk-0,size=42G"
    );
    assert_eq!(task_types(&fake), vec!["resize"]);
    let run = fake.run(&cmd("-o json vm disk resize web1 scsi0 64G"));
    assert_eq!(run.json()[0]["exitstatus"], "OK");
    assert_eq!(
        config(&fake, 100)["scsi0"],
        "local-lvm:vm-100-disk-0,size=64G"
    );
}

#[test]
fn resizing_to_the_size_it_has_sends_nothing() {
    let fake = fake();
    let run = fake.run(&cmd("vm disk resize web1 scsi0 32G"));
    run.success().stderr_has("web1 (100): already 32G (scsi0)");
    assert!(writes(&fake).is_empty());
}

#[test]
fn shrinking_and_other_bad_sizes_are_refused_before_sending() {
    let fake = fake();
    fails_sending_nothing(
        &fake,
        &cmd("vm disk resize web1 scsi0 16G"),
        2,
        "scsi0 of web1 (100) is 32G; 16G would shrink it, which PVE refuses: nothing was sent",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk resize web1 scsi0 -4G"),
        2,
        "disks cannot shrink",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk resize web1 scsi0 40"),
        2,
        "'40' has no unit, which PVE reads as bytes: write e.g. 40G",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk resize web1 scsi0 lots"),
        2,
        "'lots' is not a size",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk resize web1 ide2 +1G"),
        2,
        "ide2 of web1 (100) is a CD-ROM drive",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk resize web1 unused0 +1G"),
        2,
        "unused0 of web1 (100) is not attached",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk resize web1 scsi7 +1G"),
        5,
        "web1 (100) has no disk scsi7; it has ide2, scsi0, scsi1, unused0 (see `pvectl vm disk list 100`)",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk resize nope scsi0 +1G"),
        5,
        "no VM named 'nope'",
    );
    fails_sending_nothing(
        &fake,
        &cmd("ct disk resize db1 rootfs 4G"),
        2,
        "rootfs of db1 (200) is 8G; 4G would shrink it",
    );
    fails_sending_nothing(
        &fake,
        &cmd("ct disk resize db1 mp1 +1G"),
        2,
        "is /mnt/host on the host",
    );
    fails_sending_nothing(
        &fake,
        &cmd("ct disk resize db1 scsi0 +1G"),
        5,
        "db1 (200) has no volume scsi0",
    );
    assert_eq!(
        config(&fake, 100)["scsi0"],
        "local-lvm:vm-100-disk-0,size=32G"
    );
}

#[test]
fn ct_disk_resize_grows_rootfs_and_mount_points() {
    let fake = fake();
    let run = fake.run(&cmd("ct disk resize db1 rootfs +2G"));
    run.success()
        .stderr_has("db1 (200): resize rootfs: 8 GiB → 10 GiB (OK)");
    assert_eq!(writes(&fake)[0].path, "/nodes/pve1/lxc/200/resize");
    assert!(writes(&fake)[0]
        .params
        .contains(&("size".into(), "+2G".into())));
    assert_eq!(
        config(&fake, 200)["rootfs"],
        "local-lvm:vm-200-disk-0,size=10G"
    );
    fake.run(&cmd("ct disk resize db1 mp0 6G")).success();
    assert!(text(&config(&fake, 200)["mp0"]).contains("size=6G"));
}

// ---------------------------------------------------------------------------------------- move

#[test]
fn vm_disk_move_copies_to_a_storage_and_keeps_the_source_as_unused() {
    let fake = fake();
    let run = fake.run(&cmd("vm disk move web1 scsi1 tank --format qcow2"));
    run.success();
    run.stderr_has("web1 (100): move scsi1 → tank (OK)")
        .stderr_has("the source local-lvm:vm-100-disk-1 stays as unused1 (`pvectl vm disk detach 100 unused1 --destroy` removes it)");
    let w = &writes(&fake)[0];
    assert_eq!(w.line(), "POST /nodes/pve1/qemu/100/move_disk");
    for p in [("disk", "scsi1"), ("storage", "tank"), ("format", "qcow2")] {
        assert!(w.params.contains(&(p.0.into(), p.1.into())), "{w:?}");
    }
    assert!(w.params.iter().any(|(k, _)| k == "digest"));
    let cfg = config(&fake, 100);
    assert!(
        text(&cfg["scsi1"]).starts_with("tank:100/vm-100-disk-"),
        "{cfg}"
    );
    assert!(text(&cfg["scsi1"]).contains(".qcow2,"), "{cfg}");
    assert_eq!(cfg["unused1"], "local-lvm:vm-100-disk-1");
    let log = tasks(&fake).pop().unwrap()["log"].to_string();
    assert!(
        log.contains("transferred 4.0 GiB of 4.0 GiB (100.00%)"),
        "{log}"
    );
}

#[test]
fn vm_disk_move_with_delete_removes_the_source() {
    let fake = fake();
    fake.run(&cmd("vm disk move web1 scsi0 tank --delete"))
        .success();
    assert!(writes(&fake)[0]
        .params
        .contains(&("delete".into(), "1".into())));
    assert!(!exists(&fake, "local-lvm:vm-100-disk-0"));
    let cfg = config(&fake, 100);
    assert!(cfg.get("unused1").is_none(), "{cfg}");
}

#[test]
fn moving_where_it_is_already_is_done() {
    let fake = fake();
    let run = fake.run(&cmd("-o json vm disk move web1 scsi0 local-lvm"));
    run.success();
    assert_eq!(run.json()[0]["message"], "already on local-lvm (scsi0)");
    assert!(writes(&fake).is_empty());
}

#[test]
fn vm_disk_move_to_another_vm_takes_a_free_slot_there() {
    let fake = fake();
    let run = fake.run(&cmd("vm disk move web1 scsi1 --target-vmid 101"));
    run.success();
    run.stderr_has("web1 (100): reassign scsi1 → 101 as scsi1 (OK)");
    let w = &writes(&fake)[0];
    for p in [
        ("disk", "scsi1"),
        ("target-vmid", "101"),
        ("target-disk", "scsi1"),
    ] {
        assert!(w.params.contains(&(p.0.into(), p.1.into())), "{w:?}");
    }
    assert!(w.params.iter().any(|(k, _)| k == "target-digest"));
    assert!(config(&fake, 100).get("scsi1").is_none());
    assert!(text(&config(&fake, 101)["scsi1"]).starts_with("local-lvm:vm-101-disk-"));
    // scsi0 is taken on 101: the next free one.
    fake.clear_requests();
    fake.run(&cmd("vm disk move web1 scsi0 --target-vmid 101"))
        .success();
    assert!(writes(&fake)[0]
        .params
        .contains(&("target-disk".into(), "scsi2".into())));
}

#[test]
fn vm_disk_move_bad_input() {
    let fake = fake();
    fake.exec("pve.vm(101).status = 'running'");
    fails_sending_nothing(
        &fake,
        &cmd("vm disk move web1 scsi0 local"),
        2,
        "storage 'local' does not hold VM disks (it takes: iso, vztmpl, backup, import)",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk move web1 scsi0 nope"),
        5,
        "no storage 'nope' in the cluster",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk move web1 ide2 tank"),
        2,
        "ide2 of web1 (100) is a CD-ROM drive",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk move web1 scsi5 tank"),
        5,
        "web1 (100) has no disk scsi5",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk move web1 scsi0 --target-vmid 102"),
        2,
        "web1 (100) is on pve1 and far (102) on pve2",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk move web1 scsi0 --target-vmid 100"),
        2,
        "is web1 (100) itself",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk move web1 scsi0 --target-vmid 200"),
        2,
        "200 is a container",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk move web2 scsi0 --target-vmid 100"),
        6,
        "web2 (101) is running",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk move web1 scsi0 --target-vmid 101 --target-disk scsi0"),
        2,
        "scsi0 of web2 (101) is in use",
    );
    let run = fake.run(&cmd("vm disk move web1 scsi0 tank --target-vmid 101"));
    run.failure(2).stderr_has("cannot be used with");
    let run = fake.run(&cmd("vm disk move web1 scsi0"));
    run.failure(2);
    assert!(
        run.stderr.contains("required arguments were not provided"),
        "{}",
        run.stderr
    );
}

#[test]
fn ct_disk_move_to_a_storage_and_to_another_container() {
    let fake = fake();
    let run = fake.run(&cmd("ct disk move db1 mp0 tank"));
    run.success();
    run.stderr_has("db1 (200): move mp0 → tank (OK)")
        .stderr_has("stays as unused0 (`pvectl ct set 200 --delete unused0` removes it)");
    let w = &writes(&fake)[0];
    assert_eq!(w.line(), "POST /nodes/pve1/lxc/200/move_volume");
    assert!(w.params.contains(&("volume".into(), "mp0".into())));
    let cfg = config(&fake, 200);
    assert!(
        text(&cfg["mp0"]).starts_with("tank:200/vm-200-disk-"),
        "{cfg}"
    );
    assert!(text(&cfg["mp0"]).contains("mp=/srv"), "{cfg}");
    // A mount point volume to another container: the next free mpN there.
    fake.clear_requests();
    fake.run(&cmd("ct disk move db1 unused0 --target-vmid 201"))
        .success();
    let w = &writes(&fake)[0];
    assert!(w.params.contains(&("target-vmid".into(), "201".into())));
    assert!(w
        .params
        .contains(&("target-volume".into(), "unused0".into())));
    assert!(config(&fake, 201).get("unused0").is_some());
    // Refusals before sending.
    fake.clear_requests();
    fails_sending_nothing(
        &fake,
        &cmd("ct disk move db1 rootfs --target-vmid 201"),
        2,
        "rootfs cannot move to another container",
    );
    fails_sending_nothing(
        &fake,
        &cmd("ct disk move db1 mp1 tank"),
        2,
        "is /mnt/host on the host",
    );
    fails_sending_nothing(
        &fake,
        &cmd("ct disk move db1 rootfs local"),
        2,
        "does not hold container disks",
    );
    fake.exec("pve.ct(200).status = 'running'");
    fails_sending_nothing(
        &fake,
        &cmd("ct disk move db1 rootfs tank"),
        6,
        "db1 (200) is running: PVE moves a container's volumes only while it is stopped",
    );
    let run = fake.run(&cmd("ct disk move db1 rootfs tank --format qcow2"));
    run.failure(2);
}

// -------------------------------------------------------------------------------------- detach

#[test]
fn vm_disk_detach_keeps_the_volume_as_unused() {
    let fake = fake();
    let run = fake.run(&cmd("vm disk detach web1 scsi1"));
    run.success().stdout_empty();
    run.stderr_has("web1 (100): detach scsi1: local-lvm:vm-100-disk-1 stays as unused1 (`pvectl vm disk detach 100 unused1 --destroy` removes it)");
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/qemu/100/unlink",
            &[("idlist", "scsi1")]
        )]
    );
    assert_eq!(config(&fake, 100)["unused1"], "local-lvm:vm-100-disk-1");
    assert!(exists(&fake, "local-lvm:vm-100-disk-1"));
}

#[test]
fn vm_disk_detach_destroy_asks_and_destroys() {
    let fake = fake();
    let run = fake.run(&cmd("vm disk detach web1 scsi1 --destroy"));
    run.one_error(2);
    assert!(run.error_line().contains(
        "detach scsi1 of web1 (100) and destroy its volume local-lvm:vm-100-disk-1 (the data on it is lost): needs confirmation, add --yes"
    ));
    assert!(writes(&fake).is_empty());
    let run = fake.run(&cmd("-o json vm disk detach web1 scsi1 --destroy --yes"));
    run.success();
    assert_eq!(
        run.json()[0]["message"],
        "scsi1: volume local-lvm:vm-100-disk-1 destroyed"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/qemu/100/unlink",
            &[("idlist", "scsi1"), ("force", "1")]
        )]
    );
    assert!(!exists(&fake, "local-lvm:vm-100-disk-1"));
    assert!(config(&fake, 100).get("scsi1").is_none());
    // An unused volume is only ever destroyed.
    fake.clear_requests();
    fails_sending_nothing(
        &fake,
        &cmd("vm disk detach web1 unused0"),
        2,
        "unused0 of web1 (100) is detached already; --destroy removes its volume",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk detach web1 ide2 --destroy --yes"),
        2,
        "detaching it never destroys the image",
    );
    fake.run(&cmd("vm disk detach web1 unused0 --destroy --yes"))
        .success();
    assert!(!exists(&fake, "local-lvm:vm-100-disk-2"));
}

// -------------------------------------------------------------------------------------- import

#[test]
fn vm_disk_import_takes_the_next_free_slot_of_the_bus() {
    let fake = fake();
    let digest = fake.exec("result = pve.guest(101).digest()");
    let run = fake.run(&cmd(
        "vm disk import web2 local:import/debian-13-genericcloud-amd64.qcow2 local-lvm",
    ));
    run.success().stdout_empty();
    run.stderr_has("web2 (101): importing local:import/debian-13-genericcloud-amd64.qcow2 (3 GiB) as scsi1 on local-lvm")
        .stderr_has("web2 (101): import scsi1: local-lvm:vm-101-disk-1,size=3G (OK)");
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/101/config",
            &[
                (
                    "scsi1",
                    "local-lvm:0,import-from=local:import/debian-13-genericcloud-amd64.qcow2"
                ),
                ("digest", digest.as_str().unwrap())
            ]
        )]
    );
    assert_eq!(
        config(&fake, 101)["scsi1"],
        "local-lvm:vm-101-disk-1,size=3G"
    );
    let log = tasks(&fake).pop().unwrap()["log"].to_string();
    assert!(
        log.contains("transferred 3.0 GiB of 3.0 GiB (100.00%)"),
        "{log}"
    );
    // Another bus, or an exact slot.
    fake.clear_requests();
    fake.run(&cmd(
        "vm disk import web2 local-lvm:vm-100-disk-2 tank --bus virtio --format qcow2",
    ))
    .success();
    assert_eq!(
        writes(&fake)[0].params[0],
        (
            "virtio0".to_string(),
            "tank:0,import-from=local-lvm:vm-100-disk-2,format=qcow2".to_string()
        )
    );
    fake.clear_requests();
    fake.run(&cmd(
        "vm disk import web2 local:import/debian-13-genericcloud-amd64.qcow2 local-lvm --as sata3",
    ))
    .success();
    assert!(config(&fake, 101)["sata3"]
        .as_str()
        .unwrap()
        .starts_with("local-lvm:vm-101-disk-"));
}

#[test]
fn vm_disk_import_bad_input() {
    let fake = fake();
    fails_sending_nothing(
        &fake,
        &cmd("vm disk import web2 local:iso/debian.iso local-lvm"),
        2,
        "local:iso/debian.iso is an ISO image",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk import web2 local:import/none.qcow2 local-lvm"),
        5,
        "no volume local:import/none.qcow2 on pve1",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk import web2 debian.qcow2 local-lvm"),
        2,
        "neither a volume ID",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm disk import web2 local:import/debian-13-genericcloud-amd64.qcow2 local"),
        2,
        "does not hold VM disks",
    );
    fails_sending_nothing(&fake, &cmd("vm disk import web2 local:import/debian-13-genericcloud-amd64.qcow2 local-lvm --as scsi0"), 2, "scsi0 of web2 (101) is in use");
    fails_sending_nothing(&fake, &cmd("vm disk import web2 local:import/debian-13-genericcloud-amd64.qcow2 local-lvm --as net0"), 2, "give a disk slot");
}

#[test]
fn ct_has_no_detach_or_import() {
    let fake = fake();
    fake.run(&cmd("ct disk detach db1 mp0")).not_for_this_kind(
        "detach",
        "`pvectl vm disk detach` exists, but containers have no `detach`",
    );
    fake.run(&cmd("ct disk import db1 local:import/x.qcow2 local-lvm"))
        .not_for_this_kind(
            "import",
            "`pvectl vm disk import` exists, but containers have no `import`",
        );
    fake.run(&cmd("ct cloudinit show db1")).not_for_this_kind(
        "cloudinit",
        "`pvectl vm cloudinit` exists, but containers have no `cloudinit`",
    );
    assert!(writes(&fake).is_empty());
}
