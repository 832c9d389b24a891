//! End-to-end: declarative use (`vm|ct export`, `apply`, `vm|ct edit`) against fakepve.
//!
//! Every test checks the exit code, both streams, the requests sent (parameters under PVE's names,
//! decoded) and what the server holds afterwards. Files are written into a temporary directory;
//! `edit` runs a stand-in editor (a shell script that rewrites the file with sed).

mod common;

use std::path::{Path, PathBuf};

use common::helpers::{guest, req, seen, writes};
use common::{Fake, Run};
use serde_json::{json, Value};

// ------------------------------------------------------------------------------------ helpers

/// Two nodes, a VM with a disk, a NIC and tags, a running VM, a container, a template and an empty
/// pool; PVE's view of pending changes and its HA resources emulated.
const CLUSTER: &str = "\
emulate_pending_config(pve)
emulate_ha(pve)
pve.add_node('pve2')
pve.add_vm(100, 'web1', config={'memory': 2048, 'cores': 2, 'onboot': 1, 'tags': 'prod;web',
                                'scsi0': 'local-lvm:vm-100-disk-0,iothread=1,size=32G',
                                'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0'})
pve.add_vm(101, 'web2', node='pve2', status='running', config={'memory': 1024})
pve.add_ct(200, 'db1', config={'rootfs': 'local-lvm:vm-200-disk-0,size=8G',
                               'net0': 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth'})
pve.add_vm(900, 'tmpl')
pve.guest(900).template = 1
pve.pools['prod'] = set()
";

fn cluster() -> Fake {
    let fake = Fake::with(CLUSTER);
    fake.clear_requests();
    fake
}

fn config(fake: &Fake, vmid: u32) -> Value {
    guest(fake, vmid)["config"].clone()
}

fn digest(fake: &Fake, vmid: u32) -> String {
    fake.exec(&format!("result = pve.guest({vmid}).digest()"))
        .as_str()
        .unwrap()
        .to_string()
}

/// A directory for the test's files.
fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The guest's firewall options on the server.
fn firewall(fake: &Fake, vmid: u32) -> Value {
    fake.exec(&format!(
        "result = pve.firewall_config('vm', vmid={vmid})['options']"
    ))
}

// -------------------------------------------------------------------------------------- export

#[test]
fn vm_export_prints_the_guest_as_toml_apply_reads_back() {
    let fake = cluster();
    let run = fake.run(&["vm", "export", "web1"]);
    run.success();
    assert_eq!(
        run.stdout,
        "# web1 (100), a VM on pve1, as `pvectl vm export` read it.\n\
         # `pvectl apply FILE` makes the guest match it: a key taken out of [config] is removed\n\
         # from the guest; pool, [ha] and [firewall.options] taken out stay as they are.\n\
         \n\
         type = \"qemu\"\n\
         vmid = 100\n\
         node = \"pve1\"\n\
         pool = \"\"\n\
         \n\
         [config]\n\
         cores = 2\n\
         memory = \"2048\"\n\
         name = \"web1\"\n\
         net0 = \"virtio=BC:24:11:00:00:01,bridge=vmbr0\"\n\
         onboot = 1\n\
         scsi0 = \"local-lvm:vm-100-disk-0,iothread=1,size=32G\"\n\
         tags = [\"prod\", \"web\"]\n\
         \n\
         [firewall.options]\n"
    );
    assert_eq!(run.stderr, "");
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources",
            "GET /cluster/ha/resources",
            "GET /nodes/pve1/qemu/100/config",
            "GET /nodes/pve1/qemu/100/firewall/options",
        ],
        "reads only"
    );
    // What export wrote, apply finds nothing to change in.
    let d = dir();
    let file = write(d.path(), "web1.toml", &run.stdout);
    fake.clear_requests();
    let again = fake.run(&["apply", p(&file), "--yes"]);
    again.success().stdout_empty();
    assert_eq!(again.stderr, "No changes: 1 guest matches its file.\n");
    assert!(writes(&fake).is_empty(), "{:?}", writes(&fake));
}

#[test]
fn export_writes_pool_ha_and_firewall_options_and_json_keeps_pves_values() {
    let fake = cluster();
    fake.exec(
        "pve.pools['prod'].add(100); pve._sync_pools()\n\
         pve.guest(100).ha_state = 'started'\n\
         pve.firewall_config('vm', vmid=100)['options'] = {'enable': 1, 'policy_in': 'DROP'}",
    );
    fake.exec(
        "pve.ha_resources['vm:100'] = {'state': 'started', 'max_restart': 2, 'comment': 'front'}",
    );
    let run = fake.run(&["vm", "export", "100"]);
    run.success();
    run.stdout_has("pool = \"prod\"\n")
        .stdout_has("\n[ha]\ncomment = \"front\"\nmax_restart = 2\nstate = \"started\"\n")
        .stdout_has("\n[firewall.options]\nenable = 1\npolicy_in = \"DROP\"\n");
    assert!(!run.stdout.contains("digest"), "{}", run.stdout);

    let json = fake.run(&["-o", "json", "vm", "export", "100"]);
    let v = json.success().json();
    assert_eq!(v["type"], "qemu");
    assert_eq!(v["vmid"], 100);
    assert_eq!(v["pool"], "prod");
    assert_eq!(v["config"]["memory"], "2048");
    assert_eq!(v["config"]["cores"], 2);
    assert_eq!(v["config"]["tags"], "prod;web");
    assert!(v["config"].get("digest").is_none());
    assert_eq!(
        v["ha"],
        json!({"state": "started", "max_restart": 2, "comment": "front"})
    );
    assert_eq!(
        v["firewall"],
        json!({"options": {"enable": 1, "policy_in": "DROP"}})
    );
}

#[test]
fn export_to_a_directory_writes_a_file_per_guest_and_replaces_an_earlier_name() {
    let fake = cluster();
    let d = dir();
    let stale = write(
        d.path(),
        "100-oldname.toml",
        "type = \"qemu\"\nvmid = 100\n[config]\nname = \"oldname\"\n",
    );
    let mine = write(
        d.path(),
        "100-notes.toml",
        "# my own notes, not a guest file\n",
    );
    let run = fake.run(&["vm", "export", "--all", "--to", p(d.path())]);
    run.success();
    let files: Vec<String> = run.stdout.lines().map(str::to_string).collect();
    assert_eq!(
        files,
        vec![
            d.path().join("100-web1.toml").display().to_string(),
            d.path().join("101-web2.toml").display().to_string(),
        ],
        "--all leaves templates out"
    );
    run.stderr_has(&format!(
        "removed {} (an earlier export of web1 (100))",
        stale.display()
    ));
    assert!(!stale.exists());
    assert!(mine.exists(), "a file that is no export of 100 stays");
    assert!(read(&d.path().join("101-web2.toml")).contains("node = \"pve2\"\n"));

    let ct = fake.run(&["-o", "json", "ct", "export", "db1", "--to", p(d.path())]);
    let v = ct.success().json();
    assert_eq!(
        v,
        json!([{"vmid": 200, "name": "db1", "type": "lxc", "node": "pve1",
                "file": d.path().join("200-db1.toml").display().to_string()}])
    );
    let text = read(&d.path().join("200-db1.toml"));
    assert!(
        text.contains("type = \"lxc\"\n") && text.contains("hostname = \"db1\"\n"),
        "{text}"
    );

    // The directory as export left it: nothing to change (apply would refuse the notes, a .toml
    // file that describes no guest).
    std::fs::remove_file(&mine).unwrap();
    fake.clear_requests();
    let apply = fake.run(&["apply", p(d.path()), "--dry-run"]);
    apply.success();
    assert_eq!(
        apply.stdout,
        "Plan: 0 to create, 0 to change, 0 to delete; 3 unchanged.\n"
    );
    assert!(writes(&fake).is_empty());
}

#[test]
fn export_of_several_guests_on_stdout_is_one_file_of_guest_tables() {
    let fake = cluster();
    let run = fake.run(&["vm", "export", "web*"]);
    run.success()
        .stdout_has("[[guest]]\ntype = \"qemu\"\nvmid = 100\n")
        .stdout_has("[guest.config]\nmemory = \"1024\"\nname = \"web2\"\n");
    let d = dir();
    let file = write(d.path(), "all.toml", &run.stdout);
    let apply = fake.run(&["apply", p(&file), "--dry-run"]);
    apply.success();
    assert_eq!(
        apply.stdout,
        "Plan: 0 to create, 0 to change, 0 to delete; 2 unchanged.\n"
    );
    let none = fake.run(&["vm", "export", "nope*"]);
    none.one_error(5);
    let other = fake.run(&["vm", "export", "db1"]);
    other.one_error(2);
    assert_eq!(
        other.error_line(),
        "error: 'db1' (200) is a container: use 'pvectl ct …'"
    );
}

// ------------------------------------------------------------------------------------ apply

const CHANGED: &str = "\
type = \"qemu\"
vmid = 100
node = \"pve1\"

[config]
name = \"web1\"
cores = 4
memory = 2048
scsi0 = \"local-lvm:vm-100-disk-0,iothread=1,size=32G\"
net0 = \"virtio=BC:24:11:00:00:01,bridge=vmbr1\"
tags = [\"web\", \"prod\"]
";

#[test]
fn apply_dry_run_shows_the_plan_and_changes_nothing() {
    let fake = cluster();
    let d = dir();
    let file = write(d.path(), "web1.toml", CHANGED);
    let run = fake.run(&["apply", p(&file), "--dry-run"]);
    run.success();
    // A change too long for 80 columns takes a line per value.
    assert_eq!(
        run.stdout,
        "~ web1 (100), VM on pve1: change\n\
         \x20   ~ cores: 2 → 4\n\
         \x20   ~ net0:\n\
         \x20       - virtio=BC:24:11:00:00:01,bridge=vmbr0\n\
         \x20       + virtio=BC:24:11:00:00:01,bridge=vmbr1\n\
         \x20   - onboot (was 1)\n\
         Plan: 0 to create, 1 to change, 0 to delete; 0 unchanged.\n"
    );
    assert_eq!(run.stderr, "");
    assert!(writes(&fake).is_empty());
    let json = fake.run(&["-o", "json", "apply", p(&file), "--dry-run"]);
    let v = json.success().json();
    assert_eq!(v[0]["action"], "change");
    assert_eq!(v[0]["vmid"], 100);
    assert_eq!(v[0]["type"], "qemu");
    assert_eq!(v[0]["file"], p(&file));
    assert_eq!(
        v[0]["changes"][0],
        json!({"section": "config", "key": "cores", "old": "2", "new": "4"})
    );
    assert_eq!(
        v[0]["changes"][2],
        json!({"section": "config", "key": "onboot", "old": "1", "new": null})
    );
    let tsv = fake.run(&["-o", "tsv", "apply", p(&file), "--dry-run"]);
    tsv.success();
    let lines: Vec<&str> = tsv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "file\ttype\tvmid\tname\tnode\taction\tsection\tkey\told\tnew"
    );
    assert_eq!(
        lines[1],
        format!(
            "{}\tqemu\t100\tweb1\tpve1\tchange\tconfig\tcores\t2\t4",
            p(&file)
        )
    );
}

#[test]
fn apply_changes_the_guest_with_the_digest_and_a_second_apply_changes_nothing() {
    let fake = cluster();
    let d = dir();
    let file = write(d.path(), "web1.toml", CHANGED);
    let before = digest(&fake, 100);
    let run = fake.run(&["apply", p(&file), "--yes"]);
    run.success().stdout_empty();
    run.stderr_has("~ web1 (100), VM on pve1: change\n")
        .stderr_has("Plan: 0 to create, 1 to change, 0 to delete; 0 unchanged.\n")
        .stderr_has("web1 (100): change OK");
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/config",
            &[
                ("cores", "4"),
                ("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr1"),
                ("delete", "onboot"),
                ("digest", &before)
            ]
        )]
    );
    let c = config(&fake, 100);
    assert_eq!(c["cores"], "4");
    assert!(c.get("onboot").is_none());
    assert_eq!(
        c["tags"], "prod;web",
        "the same tags in another order are no change"
    );

    fake.clear_requests();
    let again = fake.run(&["-o", "json", "apply", p(&file), "--yes"]);
    again.success();
    assert_eq!(again.json(), json!([]));
    assert_eq!(again.stderr, "No changes: 1 guest matches its file.\n");
    assert!(writes(&fake).is_empty());
}

#[test]
fn apply_results_as_json_and_the_pending_changes_of_a_running_guest() {
    let fake = cluster();
    let d = dir();
    let file = write(
        d.path(),
        "web2.toml",
        "type = \"qemu\"\nvmid = 101\n[config]\nname = \"web2\"\nmemory = 4096\n",
    );
    let run = fake.run(&["-o", "json", "apply", p(&file), "--yes"]);
    run.success();
    let v = run.json();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["vmid"], 101);
    assert_eq!(v[0]["node"], "pve2");
    assert_eq!(v[0]["type"], "qemu");
    assert_eq!(v[0]["action"], "change");
    assert_eq!(v[0]["ok"], true);
    assert_eq!(v[0]["exitstatus"], "OK");
    assert!(v[0]["upid"].as_str().unwrap().contains(":qmconfig:101:"));
    run.stderr_has(
        "web2 (101): pending until the next restart: memory (see `pvectl vm config 101 --pending`)",
    );
    assert_eq!(guest(&fake, 101)["pending"]["memory"], "4096");
    // PVE shows the pending value: applying again changes nothing.
    fake.clear_requests();
    fake.run(&["apply", p(&file), "--yes"])
        .success()
        .stderr_has("No changes");
    assert!(writes(&fake).is_empty());
}

#[test]
fn apply_without_a_terminal_needs_yes_and_changes_nothing() {
    let fake = cluster();
    let d = dir();
    let file = write(d.path(), "web1.toml", CHANGED);
    let run = fake.run(&["apply", p(&file)]);
    run.failure(2).stdout_empty();
    run.stderr_has("~ web1 (100), VM on pve1: change\n");
    assert_eq!(
        run.error_line(),
        "error: apply these changes: needs confirmation, add --yes (there is no terminal to ask on); nothing was done"
    );
    assert!(writes(&fake).is_empty());
}

#[test]
fn apply_creates_guests_from_files_and_finds_them_again_by_name() {
    let fake = cluster();
    let d = dir();
    write(
        d.path(),
        "build.toml",
        "type = \"qemu\"\nnode = \"pve2\"\npool = \"prod\"\n\n[config]\nname = \"build\"\nmemory = 4096\n\
         cores = 4\nscsi0 = \"local-lvm:32,iothread=1\"\nnet0 = \"virtio,bridge=vmbr0\"\ntags = [\"ci\"]\n\n\
         [firewall.options]\nenable = 1\npolicy_in = \"DROP\"\n\n[ha]\nstate = \"stopped\"\n",
    );
    write(
        d.path(),
        "dns.toml",
        "type = \"lxc\"\nvmid = 250\n\n[config]\nhostname = \"dns\"\nnet0 = \"name=eth0,bridge=vmbr0,ip=dhcp\"\n\
         rootfs = \"local-lvm:8\"\n\n[create]\nostemplate = \"local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst\"\n",
    );
    let plan = fake.run(&["apply", p(d.path()), "--dry-run"]);
    plan.success();
    assert_eq!(
        plan.stdout,
        "+ build, a new VM on pve2: create\n\
         \x20   cores = 4\n\
         \x20   memory = 4096\n\
         \x20   name = build\n\
         \x20   net0 = virtio,bridge=vmbr0\n\
         \x20   scsi0 = local-lvm:32,iothread=1\n\
         \x20   tags = ci\n\
         \x20   pool = prod\n\
         \x20   ha.state = stopped\n\
         \x20   firewall.enable = 1\n\
         \x20   firewall.policy_in = DROP\n\
         + dns (250), a new container on pve1: create\n\
         \x20   hostname = dns\n\
         \x20   net0 = name=eth0,bridge=vmbr0,ip=dhcp\n\
         \x20   rootfs = local-lvm:8\n\
         Plan: 2 to create, 0 to change, 0 to delete; 0 unchanged.\n"
    );
    let run = fake.run(&["-o", "json", "apply", p(d.path()), "--yes"]);
    run.success();
    let v = run.json();
    assert_eq!(v[0]["action"], "create");
    assert_eq!(v[0]["vmid"], 102, "the next free VMID");
    assert_eq!(v[0]["newid"], 102);
    assert_eq!(v[0]["node"], "pve2");
    assert_eq!(v[1]["vmid"], 250);
    run.stderr_has("build: create OK (VMID 102)")
        .stderr_has("dns (250): create OK");
    let w = writes(&fake);
    assert_eq!(
        w[0],
        req(
            "POST",
            "/nodes/pve2/qemu",
            &[
                ("vmid", "102"),
                ("cores", "4"),
                ("memory", "4096"),
                ("name", "build"),
                ("net0", "virtio,bridge=vmbr0"),
                ("scsi0", "local-lvm:32,iothread=1"),
                ("tags", "ci"),
                ("pool", "prod")
            ]
        )
    );
    assert_eq!(
        w[1],
        req(
            "POST",
            "/cluster/ha/resources",
            &[("sid", "vm:102"), ("state", "stopped")]
        )
    );
    assert_eq!(
        w[2],
        req(
            "PUT",
            "/nodes/pve2/qemu/102/firewall/options",
            &[("enable", "1"), ("policy_in", "DROP")]
        )
    );
    assert_eq!(
        w[3],
        req(
            "POST",
            "/nodes/pve1/lxc",
            &[
                ("vmid", "250"),
                ("hostname", "dns"),
                ("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
                ("rootfs", "local-lvm:8"),
                (
                    "ostemplate",
                    "local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst"
                )
            ]
        )
    );
    let g = guest(&fake, 102);
    assert_eq!(
        (g["kind"].clone(), g["node"].clone()),
        (json!("qemu"), json!("pve2"))
    );
    assert!(g["config"]["scsi0"]
        .as_str()
        .unwrap()
        .starts_with("local-lvm:vm-102-disk-0"));
    assert_eq!(
        fake.exec("result = pve.guest(102).pool"),
        "prod",
        "created in the pool"
    );
    assert_eq!(firewall(&fake, 102)["policy_in"], "DROP");
    assert_eq!(fake.exec("result = pve.guest(102).ha_state"), "stopped");
    assert_eq!(guest(&fake, 250)["kind"], "lxc");

    // PVE named the new disk, gave the NIC a MAC and filled in keys of its own: still no change.
    fake.clear_requests();
    let again = fake.run(&["apply", p(d.path()), "--dry-run"]);
    again.success();
    assert_eq!(
        again.stdout,
        "Plan: 0 to create, 0 to change, 0 to delete; 2 unchanged.\n"
    );
}

#[test]
fn apply_moves_a_guest_between_pools_and_changes_ha_and_firewall_options() {
    let fake = cluster();
    fake.exec(
        "pve.pools['old'] = {100}; pve._sync_pools()\n\
         pve.ha_resources['vm:100'] = {'state': 'started', 'max_restart': 3}\n\
         pve.guest(100).ha_state = 'started'\n\
         pve.firewall_config('vm', vmid=100)['options'] = {'enable': 1, 'log_level_in': 'info'}",
    );
    let fw_digest = fake
        .run(&["api", "get", "/nodes/pve1/qemu/100/firewall/options"])
        .json()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    fake.clear_requests();
    let d = dir();
    let file = write(
        d.path(),
        "web1.toml",
        "type = \"qemu\"\nvmid = 100\npool = \"prod\"\n\n[ha]\nstate = \"stopped\"\n\n\
         [firewall.options]\nenable = 1\npolicy_in = \"DROP\"\n",
    );
    let run = fake.run(&["apply", p(&file), "--yes"]);
    run.success();
    run.stderr_has("    ~ pool: old → prod\n")
        .stderr_has("    ~ ha.state: started → stopped\n")
        .stderr_has("    - ha.max_restart (was 3)\n")
        .stderr_has("    + firewall.policy_in = DROP\n")
        .stderr_has("    - firewall.log_level_in (was info)\n");
    assert_eq!(
        writes(&fake),
        vec![
            req(
                "PUT",
                "/pools",
                &[("poolid", "prod"), ("vms", "100"), ("allow-move", "1")]
            ),
            req(
                "PUT",
                "/cluster/ha/resources/vm:100",
                &[("state", "stopped"), ("delete", "max_restart")]
            ),
            req(
                "PUT",
                "/nodes/pve1/qemu/100/firewall/options",
                &[
                    ("policy_in", "DROP"),
                    ("delete", "log_level_in"),
                    ("digest", &fw_digest)
                ]
            ),
        ]
    );
    assert_eq!(fake.exec("result = pve.guest(100).pool"), "prod");
    assert_eq!(
        fake.exec("result = pve.ha_resources['vm:100']"),
        json!({"state": "stopped"})
    );
    assert_eq!(
        firewall(&fake, 100),
        json!({"enable": 1, "policy_in": "DROP"})
    );
    // `pool = ""` takes it out of its pool.
    let out = write(
        d.path(),
        "web1.toml",
        "type = \"qemu\"\nvmid = 100\npool = \"\"\n",
    );
    fake.clear_requests();
    fake.run(&["apply", p(&out), "--yes"]).success();
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/pools",
            &[("poolid", "prod"), ("vms", "100"), ("delete", "1")]
        )]
    );
    assert_eq!(fake.exec("result = pve.guest(100).pool"), Value::Null);
}

#[test]
fn prune_deletes_the_guests_no_file_describes_but_never_templates_or_running_ones() {
    let fake = cluster();
    let d = dir();
    let mine = fake.run(&["vm", "export", "web1"]);
    write(d.path(), "web1.toml", &mine.stdout);
    fake.clear_requests();
    let plan = fake.run(&["apply", p(d.path()), "--prune", "--dry-run"]);
    plan.success();
    assert_eq!(
        plan.stdout,
        "! web2 (101), VM on pve2: not deleted, it is running: stop it first\n\
         \x20   (`pvectl vm stop 101`)\n\
         Plan: 0 to create, 0 to change, 0 to delete; 1 unchanged. 1 cannot be deleted.\n"
    );
    // Without the flag, apply deletes nothing.
    fake.run(&["apply", p(d.path()), "--yes"]).success();
    assert!(writes(&fake).is_empty());

    fake.exec("pve.guest(101).status = 'stopped'");
    let ask = fake.run(&["apply", p(d.path()), "--prune"]);
    ask.failure(2);
    assert_eq!(
        ask.error_line(),
        "error: delete 1 guest and its disks, which no file describes: needs confirmation, add --yes (there is no terminal to ask on); nothing was done"
    );
    assert!(writes(&fake).is_empty());
    let run = fake.run(&["apply", p(d.path()), "--prune", "--yes"]);
    run.success();
    run.stderr_has("- web2 (101), VM on pve2: delete (no file describes it)\n")
        .stderr_has("web2 (101): delete OK");
    assert_eq!(
        writes(&fake),
        vec![req("DELETE", "/nodes/pve2/qemu/101", &[])]
    );
    assert!(guest(&fake, 101).is_null());
    assert!(!guest(&fake, 900).is_null(), "templates are never pruned");
    assert!(
        !guest(&fake, 200).is_null(),
        "the files name no container: containers stay"
    );
}

#[test]
fn prune_of_a_running_guest_fails_its_result_and_sends_nothing_for_it() {
    let fake = cluster();
    let d = dir();
    write(
        d.path(),
        "web1.toml",
        &fake.run(&["vm", "export", "web1"]).stdout,
    );
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "apply", p(d.path()), "--prune", "--yes"]);
    run.failure(6);
    let v = run.json();
    assert_eq!(v[0]["vmid"], 101);
    assert_eq!(v[0]["action"], "delete");
    assert_eq!(v[0]["ok"], false);
    assert_eq!(
        v[0]["message"],
        "it is running: stop it first (`pvectl vm stop 101`)"
    );
    assert!(writes(&fake).is_empty());
    assert_eq!(guest(&fake, 101)["status"], "running");
}

// -------------------------------------------------------------------------- refusals of apply

#[test]
fn a_config_changed_during_apply_is_refused_by_the_digest() {
    let fake = cluster();
    let d = dir();
    write(d.path(), "1-web1.toml", CHANGED);
    write(
        d.path(),
        "2-db1.toml",
        "type = \"lxc\"\nvmid = 200\n[config]\nhostname = \"db1\"\nmemory = 1024\n\
         rootfs = \"local-lvm:vm-200-disk-0,size=8G\"\nnet0 = \"name=eth0,bridge=vmbr0,ip=dhcp\"\n",
    );
    let before = digest(&fake, 100);
    // Another client edits web1 between pvectl's read and its write.
    fake.exec(
        "def _edit(_pve=pve):\n    _pve.guest(100).config['cores'] = 8\n\
         pve.before_write = ('POST', '/qemu/100/config', _edit)",
    );
    let run = fake.run(&["apply", p(d.path()), "--yes"]);
    run.failure(6).stdout_empty();
    run.stderr_has("web1 (100): change failed: the configuration changed since pvectl read it (checksum mismatch (file change by other user?)); nothing was changed, run the command again")
        .stderr_has("db1 (200): change OK");
    let w = writes(&fake);
    assert_eq!(w[0].path, "/nodes/pve1/qemu/100/config");
    assert!(w[0].params.contains(&("digest".to_string(), before)));
    assert_eq!(
        config(&fake, 100)["cores"],
        8,
        "the other client's edit stays"
    );
    assert_eq!(
        config(&fake, 100)["onboot"],
        1,
        "nothing of the file was applied"
    );
    assert_eq!(
        config(&fake, 200)["memory"],
        1024,
        "the other guest was changed"
    );
}

#[test]
fn a_stale_digest_refused_by_pve_itself_is_exit_6_without_a_task() {
    // PVE checks a VM's digest before it forks the qmconfig task: the POST answers 500.
    let fake = cluster();
    fake.exec(
        "pve.fail('POST', '/nodes/pve1/qemu/100/config', 500, 'checksum mismatch (file change by other user?)')",
    );
    let d = dir();
    let file = write(d.path(), "web1.toml", CHANGED);
    let run = fake.run(&["-o", "json", "apply", p(&file), "--yes"]);
    run.failure(6);
    let v = run.json();
    assert_eq!(v[0]["ok"], false);
    assert_eq!(v[0]["upid"], Value::Null);
    assert_eq!(
        v[0]["message"],
        "the configuration changed since pvectl read it (checksum mismatch (file change by other user?)); nothing was changed, run the command again"
    );
    assert!(
        !seen(&fake).iter().any(|l| l.contains("/tasks/")),
        "no task"
    );
    assert_eq!(config(&fake, 100)["cores"], 2);
}

#[test]
fn an_unknown_key_a_bad_file_or_a_vmid_of_the_other_kind_changes_nothing() {
    let fake = cluster();
    let d = dir();
    let bad = write(
        d.path(),
        "web1.toml",
        "type = \"qemu\"\nvmid = 100\n[config]\nname = \"web1\"\nmemroy = 4096\n",
    );
    let run = fake.run(&["apply", p(&bad), "--yes"]);
    run.one_error(2);
    assert_eq!(
        run.error_line(),
        format!(
            "error: {}: [config] has 'memroy', which is no configuration key of a VM",
            p(&bad)
        )
    );
    assert!(seen(&fake).is_empty(), "refused before any request");

    let syntax = write(
        d.path(),
        "web1.toml",
        "type = \"qemu\"\nvmid = 100\n[config\n",
    );
    let run = fake.run(&["apply", p(d.path())]);
    run.one_error(2);
    assert!(
        run.error_line()
            .starts_with(&format!("error: {}:3:8: ", p(&syntax)))
            && run.error_line().ends_with("(not valid TOML)"),
        "{}",
        run.error_line()
    );

    write(
        d.path(),
        "web1.toml",
        "type = \"qemu\"\nvmid = 200\n[config]\nname = \"db1\"\nmemory = 512\n",
    );
    let run = fake.run(&["apply", p(d.path()), "--yes"]);
    run.one_error(2);
    assert_eq!(
        run.error_line(),
        format!(
            "error: {}: VMID 200 is a container (db1 (200) on pve1), but the file describes a VM (type = \"qemu\"); nothing was changed",
            d.path().join("web1.toml").display()
        )
    );

    write(
        d.path(),
        "web1.toml",
        "type = \"qemu\"\nvmid = 100\nmemory = 512\n",
    );
    let run = fake.run(&["apply", p(d.path())]);
    run.one_error(2)
        .stderr_has("a configuration key goes under [config]");

    let empty = dir();
    let run = fake.run(&["apply", p(empty.path())]);
    run.one_error(2).stderr_has("has no .toml files");
    let run = fake.run(&["apply", "/nonexistent/x.toml"]);
    run.one_error(2)
        .stderr_has("cannot read /nonexistent/x.toml");
    assert!(writes(&fake).is_empty());
}

#[test]
fn two_files_for_one_guest_are_refused() {
    let fake = cluster();
    let d = dir();
    write(
        d.path(),
        "a.toml",
        "type = \"qemu\"\nvmid = 100\n[config]\nname = \"web1\"\n",
    );
    write(
        d.path(),
        "b.toml",
        "type = \"qemu\"\n[config]\nname = \"web1\"\ncores = 1\n",
    );
    let run = fake.run(&["apply", p(d.path()), "--yes"]);
    run.one_error(2);
    assert_eq!(
        run.error_line(),
        format!(
            "error: {} and {} both describe VMID 100: keep one; nothing was changed",
            d.path().join("a.toml").display(),
            d.path().join("b.toml").display()
        )
    );
    assert!(writes(&fake).is_empty());
}

#[test]
fn a_guest_on_an_offline_node_stops_apply_before_any_change() {
    let fake = cluster();
    fake.exec("pve.nodes['pve2']['online'] = False");
    let d = dir();
    write(d.path(), "1-web1.toml", CHANGED);
    write(
        d.path(),
        "2-web2.toml",
        "type = \"qemu\"\nvmid = 101\n[config]\nname = \"web2\"\nmemory = 2048\n",
    );
    let run = fake.run(&["apply", p(d.path()), "--yes"]);
    run.one_error(7);
    assert_eq!(
        run.error_line(),
        format!(
            "error: {}: cannot read the configuration of web2 (101) on pve2: a node behind the server cannot be reached (HTTP 595): No route to host; nothing was changed",
            d.path().join("2-web2.toml").display()
        )
    );
    assert!(writes(&fake).is_empty(), "web1 was not changed either");

    // Creating a guest on an offline node is refused the same way.
    let d = dir();
    write(
        d.path(),
        "new.toml",
        "type = \"qemu\"\nnode = \"pve2\"\n[config]\nname = \"new\"\n",
    );
    let run = fake.run(&["apply", p(d.path()), "--yes"]);
    run.one_error(7);
    assert_eq!(
        run.error_line(),
        format!(
            "error: {}: node pve2 is offline, so new cannot be created there; nothing was changed",
            d.path().join("new.toml").display()
        )
    );
    write(
        d.path(),
        "new.toml",
        "type = \"qemu\"\nnode = \"pve9\"\n[config]\nname = \"new\"\n",
    );
    fake.run(&["apply", p(d.path()), "--yes"])
        .one_error(5)
        .stderr_has("there is no node 'pve9' in the cluster");
    assert!(writes(&fake).is_empty());
}

#[test]
fn a_new_container_needs_its_template_and_a_pool_must_exist() {
    let fake = cluster();
    let d = dir();
    write(
        d.path(),
        "dns.toml",
        "type = \"lxc\"\n[config]\nhostname = \"dns\"\n",
    );
    fake.run(&["apply", p(d.path()), "--yes"])
        .one_error(2)
        .stderr_has("a new container needs its template: add [create] with ostemplate");
    write(
        d.path(),
        "dns.toml",
        "type = \"qemu\"\nvmid = 100\npool = \"nosuch\"\n",
    );
    fake.run(&["apply", p(d.path()), "--yes"])
        .one_error(5)
        .stderr_has("there is no pool 'nosuch' in the cluster");
    assert!(writes(&fake).is_empty());
}

#[test]
fn apply_reads_a_file_from_stdin() {
    let fake = cluster();
    let mut cmd = fake.cmd();
    cmd.args(["apply", "-", "--yes"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(
                b"type = \"lxc\"\nvmid = 200\n[config]\nhostname = \"db2\"\ndigest = \"x\"\n",
            )
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("~ hostname: db1 → db2"), "{stderr}");
    assert!(
        stderr.contains("warning: stdin: read-only, not applied: digest"),
        "{stderr}"
    );
    assert!(
        stderr.contains("    - net0 (was name=eth0,"),
        "a key left out is removed: {stderr}"
    );
    assert!(
        !stderr.contains("rootfs") && !stderr.contains("memory"),
        "keys PVE fills in itself stay: {stderr}"
    );
    assert_eq!(config(&fake, 200)["hostname"], "db2");
}

// -------------------------------------------------------------------------------------- edit

/// A stand-in editor: a script that runs `sed SCRIPT` on the file it is given.
fn editor(dir: &Path, sed: &str) -> String {
    let path = dir.join("editor.sh");
    std::fs::write(&path, format!("#!/bin/sh\nsed -i -e '{sed}' \"$1\"\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path.display().to_string()
}

/// `pvectl ARGS` with `VISUAL` set and the temporary directory as TMPDIR.
fn edit(fake: &Fake, visual: &str, tmp: &Path, args: &[&str]) -> Run {
    fake.run_env(
        &[],
        &[("VISUAL", visual), ("TMPDIR", tmp.to_str().unwrap())],
        args,
    )
}

/// The edits kept in `tmp`.
fn kept(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pvectl-edit-"))
        })
        .collect()
}

#[test]
fn edit_applies_the_difference_with_the_digest_it_read() {
    let fake = cluster();
    let d = dir();
    let ed = editor(
        d.path(),
        "s/^cores = 2/cores = 6/; /^onboot/d; s/^memory = .*/balloon = 512\\nmemory = 2048/",
    );
    let before = digest(&fake, 100);
    let run = edit(&fake, &ed, d.path(), &["vm", "edit", "web1"]);
    run.success().stdout_empty();
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| !l.contains(" task UPID:"))
            .map(|l| l.split(" in ").next().unwrap_or(l))
            .collect::<Vec<_>>(),
        vec![
            "~ web1 (100), VM on pve1: change",
            "    + balloon = 512",
            "    ~ cores: 2 → 6",
            "    - onboot (was 1)",
            "web1 (100): change OK",
        ]
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/config",
            &[
                ("balloon", "512"),
                ("cores", "6"),
                ("delete", "onboot"),
                ("digest", &before)
            ]
        )]
    );
    assert_eq!(config(&fake, 100)["cores"], "6");
    assert!(kept(d.path()).is_empty(), "the edit's file is removed");
}

#[test]
fn edit_shows_the_configuration_without_read_only_keys_and_an_unchanged_edit_does_nothing() {
    let fake = cluster();
    fake.exec("pve.guest(200).config['lock'] = 'backup'; pve.guest(200).config['unused0'] = 'local-lvm:vm-200-disk-9'");
    let d = dir();
    // `cat` as the editor: the file as offered, unchanged.
    let run = edit(&fake, "cat", d.path(), &["ct", "edit", "db1"]);
    run.success();
    assert_eq!(
        run.stdout,
        "# The configuration of db1 (200), a container on pve1.\n\
         # Save and close to apply it (PVE refuses it if someone changed it meanwhile; your edit is\n\
         # then kept); take a line out to remove that key. Read-only keys are not shown.\n\
         \n\
         type = \"lxc\"\n\
         vmid = 200\n\
         node = \"pve1\"\n\
         \n\
         [config]\n\
         arch = \"amd64\"\n\
         hostname = \"db1\"\n\
         memory = 512\n\
         net0 = \"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth\"\n\
         ostype = \"debian\"\n\
         rootfs = \"local-lvm:vm-200-disk-0,size=8G\"\n\
         swap = 512\n\
         unprivileged = 1\n"
    );
    assert_eq!(run.stderr, "db1 (200): no changes\n");
    assert!(writes(&fake).is_empty());
    assert!(kept(d.path()).is_empty());
    // A change of comments only is no change either.
    let ed = editor(d.path(), "1d");
    edit(&fake, &ed, d.path(), &["ct", "edit", "200"])
        .success()
        .stderr_has("db1 (200): no changes");
    assert!(writes(&fake).is_empty());
}

#[test]
fn edit_with_an_unknown_key_keeps_the_file_and_apply_takes_it_once_corrected() {
    let fake = cluster();
    let d = dir();
    let ed = editor(d.path(), "s/^memory = .*/memroy = 4096/");
    let run = edit(&fake, &ed, d.path(), &["vm", "edit", "web1"]);
    run.one_error(2);
    let files = kept(d.path());
    assert_eq!(files.len(), 1);
    let file = files[0].display().to_string();
    assert_eq!(
        run.error_line(),
        format!("error: {file}: [config] has 'memroy', which is no configuration key of a VM")
    );
    run.stderr_has(&format!(
        "hint: your edit is kept in {file}: correct it and apply it with `pvectl apply {file}` (or start again with `pvectl vm edit 100`)"
    ));
    assert!(read(&files[0]).contains("memroy = 4096"));
    assert!(writes(&fake).is_empty());
    // Corrected, the kept file is a guest file apply takes.
    std::fs::write(&files[0], read(&files[0]).replace("memroy", "memory")).unwrap();
    fake.run(&["apply", &file, "--yes"]).success();
    assert_eq!(config(&fake, 100)["memory"], "4096");
}

#[test]
fn edit_of_a_configuration_changed_meanwhile_is_refused_and_kept() {
    let fake = cluster();
    let d = dir();
    let ed = editor(d.path(), "s/^cores = 2/cores = 6/");
    let before = digest(&fake, 100);
    // Someone changes the VM while the editor is open (here: just before pvectl's write).
    fake.exec(
        "def _edit(_pve=pve):\n    _pve.guest(100).config['memory'] = 8192\n\
         pve.before_write = ('POST', '/qemu/100/config', _edit)",
    );
    let run = edit(&fake, &ed, d.path(), &["vm", "edit", "web1"]);
    run.failure(6).stdout_empty();
    let files = kept(d.path());
    assert_eq!(files.len(), 1, "the edit is kept");
    let file = files[0].display().to_string();
    run.stderr_has("web1 (100): change failed: the configuration changed since pvectl read it (checksum mismatch (file change by other user?)); nothing was changed")
        .stderr_has(&format!(
            "    hint: your edit is kept in {file}: see what is there now with `pvectl vm config 100`, then apply your edit with `pvectl apply {file}`"
        ));
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/config",
            &[("cores", "6"), ("digest", &before)]
        )]
    );
    let c = config(&fake, 100);
    assert_eq!(
        (c["cores"].clone(), c["memory"].clone()),
        (json!(2), json!(8192))
    );
    assert!(read(&files[0]).contains("cores = 6"));
}

#[test]
fn edit_refuses_another_guest_and_a_failing_or_missing_editor() {
    let fake = cluster();
    let d = dir();
    let ed = editor(d.path(), "s/^vmid = 100/vmid = 101/");
    let run = edit(&fake, &ed, d.path(), &["vm", "edit", "web1"]);
    run.one_error(2).stderr_has("the edit names another guest");
    assert_eq!(kept(d.path()).len(), 1);
    for f in kept(d.path()) {
        std::fs::remove_file(f).unwrap();
    }
    let run = edit(&fake, "false", d.path(), &["vm", "edit", "web1"]);
    run.one_error(1);
    assert_eq!(
        run.error_line(),
        "error: nothing was changed: the editor (false) exited with 1: set VISUAL or EDITOR to the one you use"
    );
    assert!(kept(d.path()).is_empty(), "an untouched file is not kept");
    let run = fake.run_env(
        &[],
        &[("TMPDIR", d.path().to_str().unwrap())],
        &["vm", "edit", "web1"],
    );
    run.one_error(2);
    assert_eq!(
        run.error_line(),
        "error: no editor: set VISUAL or EDITOR (there is no terminal to run vi on); nothing was done"
    );
    assert!(writes(&fake).is_empty());
}

#[test]
fn edit_of_a_running_guest_says_what_waits_for_its_restart_and_json_has_the_result() {
    let fake = cluster();
    let d = dir();
    let ed = editor(d.path(), "s/^memory = .*/memory = 4096/");
    let run = edit(&fake, &ed, d.path(), &["-o", "json", "vm", "edit", "web2"]);
    run.success();
    let v = run.json();
    assert_eq!(v[0]["vmid"], 101);
    assert_eq!(v[0]["action"], "change");
    assert_eq!(v[0]["ok"], true);
    run.stderr_has(
        "web2 (101): pending until the next restart: memory (see `pvectl vm config 101 --pending`)",
    );
    assert_eq!(guest(&fake, 101)["pending"]["memory"], "4096");
}

#[test]
fn the_file_of_a_guest_that_is_gone_recreates_it_and_names_the_volumes_it_uses() {
    let fake = cluster();
    let d = dir();
    let file = write(
        d.path(),
        "web1.toml",
        &fake.run(&["vm", "export", "web1"]).stdout,
    );
    fake.run(&["vm", "delete", "web1", "--yes"]).success();
    fake.clear_requests();
    let plan = fake.run(&["apply", p(&file), "--dry-run"]);
    plan.success()
        .stdout_has("+ web1 (100), a new VM on pve1: create\n")
        .stdout_has(
            "    note: scsi0 is the existing volume local-lvm:vm-100-disk-0; for a new disk\n          write STORAGE:SIZE_GiB (e.g. local-lvm:32)\n",
        );
    // The volume went with the guest: PVE's task says so.
    let run = fake.run(&["apply", p(&file), "--yes"]);
    run.failure(8)
        .stderr_has("web1 (100): create failed")
        .stderr_has("volume local-lvm:vm-100-disk-0 does not exist");
    assert!(guest(&fake, 100).is_null());
    // With a new disk instead, it is created.
    std::fs::write(
        &file,
        read(&file).replace(
            "scsi0 = \"local-lvm:vm-100-disk-0,iothread=1,size=32G\"",
            "scsi0 = \"local-lvm:32,iothread=1\"",
        ),
    )
    .unwrap();
    fake.run(&["apply", p(&file), "--yes"]).success();
    assert_eq!(
        config(&fake, 100)["scsi0"],
        "local-lvm:vm-100-disk-0,iothread=1,size=32G"
    );
    assert_eq!(
        config(&fake, 100)["net0"],
        "virtio=BC:24:11:00:00:01,bridge=vmbr0"
    );
}

#[test]
fn a_disk_size_or_a_node_that_differs_is_said_and_changes_nothing() {
    let fake = cluster();
    let d = dir();
    let file = write(
        d.path(),
        "web1.toml",
        &CHANGED
            .replace("node = \"pve1\"", "node = \"pve2\"")
            .replace("cores = 4", "cores = 2\nonboot = 1")
            .replace(
                "scsi0 = \"local-lvm:vm-100-disk-0,iothread=1,size=32G\"",
                "scsi0 = \"local-lvm:40,iothread=1\"",
            )
            .replace("bridge=vmbr1", "bridge=vmbr0"),
    );
    let plan = fake.run(&["apply", p(&file), "--dry-run"]);
    plan.success();
    assert_eq!(
        plan.stdout,
        "  web1 (100), VM on pve1: no changes\n\
         \x20   note: scsi0 has 32G, the file says 40G: sizes change with\n\
         \x20         `pvectl vm disk resize`\n\
         \x20   note: the file says node pve2, the guest is on pve1: apply moves no guest\n\
         \x20         (use `pvectl vm migrate`)\n\
         Plan: 0 to create, 0 to change, 0 to delete; 1 unchanged.\n"
    );
    let run = fake.run(&["apply", p(&file), "--yes"]);
    run.success()
        .stderr_has("note: scsi0 has 32G")
        .stderr_has("No changes");
    assert!(writes(&fake).is_empty());
}
