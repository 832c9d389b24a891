//! End-to-end: node maintenance against fakepve: `nodes drain` and `undrain` with real moves of
//! VMs and containers (fakepve moves containers itself; VM migrations, HA, the nodes' memory and
//! CPU are emulated as PVE does them, see tests/support/fakepve_ctl.py), `nodes reboot|shutdown`,
//! `services` and `updates`.
//!
//! Every test checks the exit code, both streams, where the guests are afterwards, the requests
//! sent with their parameters, and the drain record.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::helpers::{guest, kept_node, req, sent, write_lines, writes, Req};
use common::{Fake, Run};
use serde_json::Value;

// ------------------------------------------------------------------------------------ helpers

/// pve1 (to drain, 32 GiB), pve2 (8 GiB, busy CPU) and pve3 (16 GiB); a shared `nfs`
/// storage; VMs 100 (2 GiB, on nfs), 101 (1 GiB, local-lvm: a local disk), 103 (stopped) and a
/// container 200 (512 MiB) on pve1, a container 201 on pve2. Migrations take `secs` PVE seconds.
fn cluster(time_scale: f64, secs: f64) -> Fake {
    let fake = Fake::with_time_scale(time_scale);
    fake.exec(&format!(
        "pve.add_node('pve2'); pve.add_node('pve3')
pve.storages['nfs'] = {{'type': 'nfs', 'active': 1, 'content': 'images,rootdir', 'files': set(), 'shared': 1}}
pve.add_vm(100, 'web-1', node='pve1', status='running', config={{'scsi0': 'nfs:100/vm-100-disk-0.qcow2,size=8G', 'memory': 2048}})
pve.add_vm(101, 'web-2', node='pve1', status='running', config={{'scsi0': 'local-lvm:vm-101-disk-0,size=8G', 'memory': 1024}})
pve.add_vm(103, 'old', node='pve1', status='stopped', config={{'scsi0': 'nfs:103/vm-103-disk-0.qcow2,size=8G'}})
pve.add_ct(200, node='pve1', status='running', config={{'hostname': 'dns', 'memory': 512}})
pve.add_ct(201, node='pve2', status='running', config={{'hostname': 'mail', 'memory': 512}})
emulate_node_usage(pve, {{'pve1': {{'maxmem': 32*GiB}}, 'pve2': {{'maxmem': 8*GiB, 'cpu': 0.5}}, 'pve3': {{'maxmem': 16*GiB, 'cpu': 0.1}}}})
emulate_migration(pve, secs={secs})
emulate_ha(pve, secs={secs})"
    ));
    fake
}

fn node_of(fake: &Fake, vmid: u32) -> String {
    guest(fake, vmid)["node"].as_str().unwrap().to_string()
}

/// The drain record of `node` under the test's home.
fn record_file(fake: &Fake, node: &str) -> PathBuf {
    fake.home
        .path()
        .join(".local/state/pvectl/drained")
        .join(format!("{}_{}", fake.host, fake.port))
        .join(format!("{node}.json"))
}

fn record(fake: &Fake, node: &str) -> Value {
    let text = std::fs::read_to_string(record_file(fake, node)).expect("the drain record");
    serde_json::from_str(&text).unwrap()
}

/// The migrate POSTs, as `(path, parameters)`.
fn migrations(fake: &Fake) -> Vec<Req> {
    writes(fake)
        .into_iter()
        .filter(|r| r.path.ends_with("/migrate"))
        .collect()
}

fn migration_of(fake: &Fake, vmid: u32) -> Req {
    migrations(fake)
        .into_iter()
        .find(|r| r.path.contains(&format!("/{vmid}/migrate")))
        .unwrap_or_else(|| panic!("no migration of {vmid}: {:?}", migrations(fake)))
}

/// Send SIGINT to a child, as Ctrl-C on a terminal does.
fn interrupt(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

// ------------------------------------------------------------------------------------- drain

/// Running VMs move live (with their local disks), the container in restart mode, each to the
/// node with the most free memory at that point; the stopped VM stays; the record names them all.
#[test]
fn drain_moves_running_guests_and_records_where_they_went() {
    let fake = cluster(0.0, 0.0);
    let run = fake.run(&["nodes", "drain", "pve1", "--yes"]);
    run.success().stdout_empty();
    run.stderr_has("web-1 (100): migrate to pve3 OK")
        .stderr_has("web-2 (101): migrate to pve3 OK")
        .stderr_has("dns (200): migrate to pve3 (restart) OK")
        .stderr_has("1 stopped guest(s) stay on pve1: old (103) (--include-stopped moves them too)")
        .stderr_has("`pvectl nodes undrain pve1` moves them back")
        .stderr_has("TARGET       NODE  RESULT  TIME");
    // pve3: 14 GiB free; pve2: 5.5 GiB with its container.
    for vmid in [100, 101, 200] {
        assert_eq!(node_of(&fake, vmid), "pve3", "{vmid}");
        // The next command by VMID asks pve3 first.
        assert_eq!(kept_node(&fake, vmid).as_deref(), Some("pve3"), "{vmid}");
    }
    assert_eq!(node_of(&fake, 103), "pve1");
    // Only the moves are noted (the drain looked no guest up).
    assert_eq!(kept_node(&fake, 103), None);
    assert_eq!(
        migration_of(&fake, 100),
        req(
            "POST",
            "/nodes/pve1/qemu/100/migrate",
            &[("target", "pve3"), ("online", "1")]
        )
    );
    assert_eq!(
        migration_of(&fake, 101),
        req(
            "POST",
            "/nodes/pve1/qemu/101/migrate",
            &[
                ("target", "pve3"),
                ("online", "1"),
                ("with-local-disks", "1")
            ]
        )
    );
    assert_eq!(
        migration_of(&fake, 200),
        req(
            "POST",
            "/nodes/pve1/lxc/200/migrate",
            &[("target", "pve3"), ("restart", "1")]
        )
    );
    assert_eq!(migrations(&fake).len(), 3, "the stopped VM stays");
    let rec = record(&fake, "pve1");
    assert_eq!(rec["node"], "pve1");
    let moved: Vec<(u64, &str, bool)> = rec["guests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["vmid"].as_u64().unwrap(),
                g["to"].as_str().unwrap(),
                g["moved"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        moved,
        vec![
            (100, "pve3", true),
            (101, "pve3", true),
            (200, "pve3", true)
        ]
    );

    // Undrain brings them back, each the way it left, and forgets the drain.
    fake.clear_requests();
    let run = fake.run(&["nodes", "undrain", "pve1", "--yes"]);
    run.success()
        .stderr_has("web-1 (100): migrate to pve1 OK")
        .stderr_has("dns (200): migrate to pve1 (restart) OK")
        .stderr_has("the drain of pve1 is undone");
    for vmid in [100, 101, 200] {
        assert_eq!(node_of(&fake, vmid), "pve1", "{vmid}");
        assert_eq!(kept_node(&fake, vmid).as_deref(), Some("pve1"), "{vmid}");
    }
    assert_eq!(
        migration_of(&fake, 101),
        req(
            "POST",
            "/nodes/pve3/qemu/101/migrate",
            &[
                ("target", "pve1"),
                ("online", "1"),
                ("with-local-disks", "1")
            ]
        )
    );
    assert!(!record_file(&fake, "pve1").exists());
    // Nothing recorded any more: undrain says so (5).
    let run = fake.run(&["nodes", "undrain", "pve1", "--yes"]);
    run.one_error(5);
    assert!(
        run.error_line().contains("no drain of pve1 is recorded"),
        "{}",
        run.stderr
    );
}

/// `--dry-run` shows the plan (guest, from, to, how, why) and moves nothing; `-o json` gives it
/// with PVE's names; `--include-stopped` adds the stopped VM, moved offline.
#[test]
fn dry_run_shows_the_plan_and_moves_nothing() {
    let fake = cluster(0.0, 0.0);
    fake.clear_requests();
    let run = fake.run(&["nodes", "drain", "pve1", "--dry-run"]);
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["GUEST", "TYPE", "FROM", "TO", "HOW", "WHY"]
    );
    assert!(
        lines[1].starts_with("web-1 (100)  qemu  pve1  pve3  live"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("most free memory: 14 GiB, CPU 10.0%"),
        "{}",
        run.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("old (103)")
            && l.contains("stays")
            && l.contains("--include-stopped")),
        "{}",
        run.stdout
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("dns (200)") && l.contains("restart")));
    assert!(writes(&fake).is_empty(), "{:?}", write_lines(&fake));
    assert!(!record_file(&fake, "pve1").exists());

    let run = fake.run(&[
        "-o",
        "json",
        "nodes",
        "drain",
        "pve1",
        "--dry-run",
        "--include-stopped",
    ]);
    run.success();
    let plan = run.json();
    let old = plan
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["vmid"] == 103)
        .unwrap();
    assert_eq!(old["how"], "offline");
    assert_eq!(old["from"], "pve1");
    assert!(old["to"].is_string());
    assert_eq!(old["memory"], 0, "a stopped guest needs no memory");
    assert!(writes(&fake).is_empty());

    // --include-stopped for real: the stopped VM moves offline (no `online`).
    let run = fake.run(&["nodes", "drain", "pve1", "--include-stopped", "--yes"]);
    run.success();
    let m = migration_of(&fake, 103);
    assert!(m.params.iter().all(|(k, _)| k != "online"), "{m:?}");
    assert_ne!(node_of(&fake, 103), "pve1");
}

/// The rest of the cluster cannot take a guest: the drain is refused before anything moves (6),
/// with each guest that has no place and why; nothing is recorded.
#[test]
fn a_cluster_that_cannot_take_the_guests_is_refused_before_anything_moves() {
    let fake = cluster(0.0, 0.0);
    fake.exec(
        "pve.add_vm(102, 'big', node='pve1', status='running', config={'scsi0': 'nfs:102/d.qcow2', 'memory': 20480})",
    );
    fake.clear_requests();
    let run = fake.run(&["nodes", "drain", "pve1", "--yes"]);
    run.failure(6).stdout_empty();
    run.stderr_has("  big (102): pve2 has 5.5 GiB free, it needs 20 GiB; pve3 has 14 GiB free, it needs 20 GiB")
        .stderr_has("error: the rest of the cluster cannot take 1 of the 4 guests: nothing was moved (`--dry-run` shows the whole plan)");
    assert!(writes(&fake).is_empty(), "{:?}", write_lines(&fake));
    assert_eq!(node_of(&fake, 100), "pve1");
    assert!(!record_file(&fake, "pve1").exists());

    // A storage the others lack is as good a reason; --dry-run shows the plan and exits 6 too.
    fake.exec(
        "pve.vms = [v for v in pve.vms if v.vmid != 102]
pve.storages['zfs1'] = {'type': 'zfspool', 'active': 1, 'content': 'images', 'files': set(), 'nodes': 'pve1'}
pve.vm(100).config['scsi1'] = 'zfs1:vm-100-disk-1,size=4G'",
    );
    let run = fake.run(&["nodes", "drain", "pve1", "--dry-run"]);
    run.failure(6);
    assert!(
        run.stdout.lines().any(|l| l.starts_with("web-1 (100)")
            && l.contains("pve2 has no storage zfs1; pve3 has no storage zfs1")),
        "{}",
        run.stdout
    );
    run.stderr_has("cannot take 1 of the 3 guests: nothing was moved");
    assert!(writes(&fake).is_empty());

    // A CD-ROM image on local storage keeps a VM home whatever the room.
    fake.exec(
        "del pve.vm(100).config['scsi1']
pve.vm(100).config['ide2'] = 'local:iso/debian.iso,media=cdrom'",
    );
    let run = fake.run(&["nodes", "drain", "pve1", "--yes"]);
    run.failure(6).stderr_has(
        "  web-1 (100): a CD-ROM image on local storage (ide2: local:iso/debian.iso): eject it first (`pvectl vm set 100 ide2=none,media=cdrom`)",
    );
    assert!(writes(&fake).is_empty());
}

/// An offline node is never a target; naming one with --to is refused (7) before anything moves,
/// and an unknown one is not found (5).
#[test]
fn an_offline_target_is_refused_and_never_chosen() {
    let fake = cluster(0.0, 0.0);
    fake.exec(
        "pve.add_node('pve4')
pve.node_usage['pve4'] = {'maxmem': 256*GiB}
pve.set_node_offline('pve4')",
    );
    fake.clear_requests();
    let run = fake.run(&["nodes", "drain", "pve1", "--to", "pve4", "--yes"]);
    run.one_error(7);
    assert_eq!(
        run.error_line(),
        "error: node pve4 is offline: guests cannot move there now"
    );
    let run = fake.run(&["nodes", "drain", "pve1", "--to", "pve9", "--yes"]);
    run.one_error(5);
    assert!(run
        .error_line()
        .contains("no node 'pve9' in the cluster (nodes: pve1, pve2, pve3, pve4)"));
    let run = fake.run(&["nodes", "drain", "pve1", "--to", "pve1", "--yes"]);
    run.one_error(2);
    assert!(writes(&fake).is_empty());

    // Without --to, pve4 (with the most memory, but offline) is not used.
    let run = fake.run(&["nodes", "drain", "pve1", "--yes"]);
    run.success();
    for vmid in [100, 101, 200] {
        assert_ne!(node_of(&fake, vmid), "pve4");
    }
    assert!(migrations(&fake)
        .iter()
        .all(|m| !m.params.contains(&("target".into(), "pve4".into()))));

    // --to limits the targets to the nodes named.
    fake.exec("for g in pve.vms + pve.cts:\n    g.node = 'pve1' if g.vmid != 201 else 'pve2'");
    std::fs::remove_file(record_file(&fake, "pve1")).unwrap();
    fake.clear_requests();
    let run = fake.run(&["nodes", "drain", "pve1", "--to", "pve2", "--yes"]);
    run.success();
    for vmid in [100, 101, 200] {
        assert_eq!(node_of(&fake, vmid), "pve2");
    }

    // A drained node that is offline itself cannot be drained (7).
    fake.exec("pve.set_node_offline('pve3')");
    let run = fake.run(&["nodes", "drain", "pve3", "--yes"]);
    run.one_error(7);
    assert!(run
        .error_line()
        .starts_with("error: node pve3 is offline: its guests cannot be migrated from it"));
}

/// A migration fails halfway: the others are moved and reported, the exit code is the failure's
/// (8), PVE's reason and the end of the task log are shown, and undrain still brings the moved
/// guests back (the failed one is already home).
#[test]
fn a_migration_failing_halfway_leaves_the_rest_moved_and_undrain_possible() {
    let fake = cluster(0.0, 0.0);
    fake.exec("pve.migrate_errors[101] = 'target storage is full'");
    let run = fake.run(&["-o", "json", "nodes", "drain", "pve1", "--yes"]);
    run.failure(8);
    run.stderr_has("web-2 (101): migrate to pve3 failed: migration problems")
        .stderr_has("ERROR: migration aborted: target storage is full")
        .stderr_has("web-1 (100): migrate to pve3 OK")
        .stderr_has("dns (200): migrate to pve3 (restart) OK");
    let results = run.json();
    let oks: Vec<(u64, bool)> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["vmid"].as_u64().unwrap(), r["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(oks, vec![(100, true), (101, false), (200, true)]);
    assert_eq!(results[1]["exitstatus"], "migration problems");
    assert_eq!(results[1]["action"], "migrate to pve3");
    assert_eq!(node_of(&fake, 100), "pve3");
    assert_eq!(node_of(&fake, 101), "pve1");
    assert_eq!(node_of(&fake, 200), "pve3");
    let rec = record(&fake, "pve1");
    let moved: Vec<(u64, bool)> = rec["guests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["vmid"].as_u64().unwrap(), g["moved"].as_bool().unwrap()))
        .collect();
    assert_eq!(moved, vec![(100, true), (101, false), (200, true)]);

    fake.clear_requests();
    let run = fake.run(&["nodes", "undrain", "pve1", "--yes"]);
    run.success()
        .stderr_has("web-2 (101): already on pve1")
        .stderr_has("web-1 (100): migrate to pve1 OK")
        .stderr_has("dns (200): migrate to pve1 (restart) OK");
    assert_eq!(migrations(&fake).len(), 2);
    assert_eq!(node_of(&fake, 100), "pve1");
    assert_eq!(node_of(&fake, 200), "pve1");
    assert!(!record_file(&fake, "pve1").exists());
}

/// HA-managed guests move through HA (`/cluster/ha/resources/{sid}/migrate`), and the drain waits
/// until HA's status shows them on the target; a node-affinity rule that would bring one back is
/// warned about, with HA's own maintenance mode named. (fakepve synthesises HA: the emulation
/// answers PVE 9's shapes and moves the guest a few seconds after the request, as the CRM does.)
#[test]
fn ha_guests_move_through_ha_and_the_drain_waits_for_ha() {
    let fake = cluster(0.05, 20.0);
    fake.exec(
        "pve.add_vm(104, 'ha-vm', node='pve1', status='running', config={'scsi0': 'nfs:104/d.qcow2', 'memory': 1024})
pve.vm(104).ha_state = 'started'
pve.ha_rules['prefer-pve1'] = {'type': 'node-affinity', 'resources': 'vm:104', 'nodes': 'pve1:2,pve2:1'}",
    );
    let run = fake.run(&["nodes", "drain", "pve1", "--yes"]);
    run.success()
        .stderr_has("warning: vm:104: HA rule 'prefer-pve1' prefers pve1 (pve1:2,pve2:1): HA may move it back while pve1 is up")
        .stderr_has("`ha-manager crm-command node-maintenance enable pve1` on a node (and `… disable pve1` after)")
        .stderr_has("ha-vm (104): HA takes vm:104 to pve2")
        .stderr_has("ha-vm (104): HA migrate to pve2 OK");
    // The rule's next node, although pve3 has more room.
    assert_eq!(node_of(&fake, 104), "pve2");
    let reqs = sent(&fake);
    assert!(reqs.contains(&req(
        "POST",
        "/cluster/ha/resources/vm:104/migrate",
        &[("node", "pve2")]
    )));
    assert!(!reqs
        .iter()
        .any(|r| r.path == "/nodes/pve1/qemu/104/migrate"));
    // It waited for HA: the status was asked until the CRM had moved it (1 s here).
    let polls = reqs
        .iter()
        .filter(|r| r.path == "/cluster/ha/status/current")
        .count();
    assert!(polls >= 2, "{polls} status reads");
    assert_eq!(record(&fake, "pve1")["guests"][2]["vmid"], 104);

    // Undrain takes it back through HA too.
    fake.clear_requests();
    fake.run(&["nodes", "undrain", "pve1", "--yes"]).success();
    assert_eq!(node_of(&fake, 104), "pve1");
    assert!(sent(&fake).contains(&req(
        "POST",
        "/cluster/ha/resources/vm:104/migrate",
        &[("node", "pve1")]
    )));
}

/// HA does not move a guest within --wait-timeout: that guest's result is "not done yet" (9), the
/// others are moved, and the request stands (HA may still move it; undrain handles either).
#[test]
fn ha_maintenance_timing_out_is_reported_and_the_rest_moves() {
    let fake = cluster(0.01, 1.0);
    fake.exec(
        "pve.add_vm(104, 'ha-vm', node='pve1', status='running', config={'scsi0': 'nfs:104/d.qcow2', 'memory': 1024})
pve.vm(104).ha_state = 'started'
pve.ha_stuck.add('vm:104')",
    );
    let started = Instant::now();
    let run = fake.run(&["nodes", "drain", "pve1", "--yes", "--wait-timeout", "2s"]);
    run.failure(9);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    run.stderr_has("ha-vm (104): HA migrate to pve3 still running: HA has not moved it")
        .stderr_has("HA has not moved it to pve3 after 2s (HA shows it migrate on pve1); the request stands: follow it with `pvectl ha status`")
        .stderr_has("web-1 (100): migrate to pve3 OK");
    assert_eq!(node_of(&fake, 104), "pve1");
    assert_eq!(node_of(&fake, 100), "pve3");
    let rec = record(&fake, "pve1");
    let ha = rec["guests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["vmid"] == 104)
        .unwrap()
        .clone();
    assert_eq!(ha["moved"], false);
}

/// `--offline-local-disks`: a running VM with a local disk is shut down, moved offline and started
/// on the target, instead of moving live with its disk.
#[test]
fn offline_local_disks_shuts_down_moves_and_starts() {
    let fake = cluster(0.0, 0.0);
    let run = fake.run(&["nodes", "drain", "pve1", "--offline-local-disks", "--yes"]);
    run.success()
        .stderr_has("web-2 (101): move to pve3 offline OK");
    let lines = write_lines(&fake);
    let mine: Vec<&String> = lines.iter().filter(|l| l.contains("/101/")).collect();
    assert_eq!(
        mine,
        [
            "POST /nodes/pve1/qemu/101/status/shutdown",
            "POST /nodes/pve1/qemu/101/migrate",
            "POST /nodes/pve3/qemu/101/status/start"
        ]
    );
    assert!(!migration_of(&fake, 101)
        .params
        .iter()
        .any(|(k, _)| k == "online" || k == "with-local-disks"));
    let g = guest(&fake, 101);
    assert_eq!(
        (g["node"].as_str(), g["status"].as_str()),
        (Some("pve3"), Some("running"))
    );
    // The VM on shared storage still moved live.
    assert!(migration_of(&fake, 100)
        .params
        .contains(&("online".into(), "1".into())));
}

/// Off a terminal a drain needs --yes (2, nothing moved); a node that does not exist is 5.
#[test]
fn a_drain_needs_yes_without_a_terminal() {
    let fake = cluster(0.0, 0.0);
    fake.clear_requests();
    let run = fake.run(&["nodes", "drain", "pve1"]);
    run.one_error(2);
    assert_eq!(
        run.error_line(),
        "error: move 3 guest(s) off pve1: needs confirmation, add --yes (there is no terminal to ask on); nothing was done"
    );
    assert!(writes(&fake).is_empty());
    assert!(!record_file(&fake, "pve1").exists());
    let run = fake.run(&["nodes", "drain", "pve7", "--yes"]);
    run.one_error(5);
    // Nothing runs on pve3: nothing to do (`-o json`: no results).
    let run = fake.run(&["-o", "json", "nodes", "drain", "pve3", "--yes"]);
    run.success()
        .stderr_has("nothing to move: no guest runs on pve3");
    assert_eq!(run.json(), serde_json::json!([]));
}

/// Ctrl-C in the middle of a drain: the moves under way go on on the server, every guest gets its
/// result (moved, still moving with its task, or not started), exit 130; the record lets undrain
/// bring back whatever moved.
#[test]
fn ctrl_c_during_a_drain_reports_every_guest_and_undrain_still_works() {
    let fake = cluster(0.05, 20.0);
    let mut child = fake
        .cmd()
        .args(["nodes", "drain", "pve1", "--yes", "--parallel", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first migration task is under way.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fake
        .exec("result = any(t['type'] == 'qmigrate' for t in pve.tasklog)")
        .as_bool()
        .unwrap()
    {
        assert!(Instant::now() < deadline, "no migration started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    interrupt(child.id());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let run = Run::new(
        status.code().unwrap_or(-1),
        String::new(),
        stderr,
        Duration::ZERO,
    );
    run.failure(130)
        .stderr_has("web-1 (100): migrate to pve3 interrupted: the move goes on on the server; follow it with `pvectl tasks wait UPID:pve1:")
        .stderr_has("web-2 (101): migrate to pve3 not started")
        .stderr_has("dns (200): migrate to pve3 (restart) not started");
    // The record was written before anything moved.
    assert_eq!(record(&fake, "pve1")["guests"].as_array().unwrap().len(), 3);
    // Once the migration under way is over, undrain brings web-1 back and leaves the rest.
    let deadline = Instant::now() + Duration::from_secs(10);
    while node_of(&fake, 100) != "pve3" {
        assert!(Instant::now() < deadline, "the migration did not end");
        std::thread::sleep(Duration::from_millis(100));
    }
    let run = fake.run(&["nodes", "undrain", "pve1", "--yes"]);
    run.success()
        .stderr_has("web-2 (101): already on pve1")
        .stderr_has("web-1 (100): migrate to pve1 OK");
    assert_eq!(node_of(&fake, 100), "pve1");
}

// ------------------------------------------------------------------------ reboot, shutdown

/// A node with running guests is not rebooted (6) unless --force; a drained one is, after asking
/// (or --yes): `POST /nodes/{node}/status command=reboot`.
#[test]
fn reboot_and_shutdown_refuse_while_guests_run() {
    let fake = cluster(0.0, 0.0);
    fake.clear_requests();
    let run = fake.run(&["nodes", "reboot", "pve1", "--yes"]);
    run.one_error(6);
    assert_eq!(
        run.error_line(),
        "error: pve1 still runs 3 guest(s): web-1 (100), web-2 (101), dns (200); move them off first (`pvectl nodes drain pve1`), or add --force"
    );
    assert!(writes(&fake).is_empty());
    // Off a terminal it needs --yes.
    let run = fake.run(&["nodes", "reboot", "pve3"]);
    run.one_error(2);
    assert!(writes(&fake).is_empty());

    let run = fake.run(&["nodes", "reboot", "pve3", "--yes"]);
    run.success()
        .stdout_empty()
        .stderr_has("pve3: reboot requested");
    assert_eq!(
        writes(&fake),
        vec![req("POST", "/nodes/pve3/status", &[("command", "reboot")])]
    );
    fake.clear_requests();
    let run = fake.run(&[
        "-o", "json", "nodes", "shutdown", "pve1", "--force", "--yes",
    ]);
    run.success()
        .stderr_has("warning: pve1 still runs 3 guest(s) (--force)");
    assert_eq!(run.json()[0]["action"], "shutdown");
    assert_eq!(run.json()[0]["ok"], true);
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/status",
            &[("command", "shutdown")]
        )]
    );
    fake.exec("pve.set_node_offline('pve2')");
    fake.run(&["nodes", "reboot", "pve2", "--yes"]).one_error(7);
    fake.run(&["nodes", "reboot", "pve9", "--yes"]).one_error(5);
}

// ------------------------------------------------------------------------ services, updates

/// `nodes services` lists PVE's services; `nodes updates` the packages apt would upgrade, after
/// `apt update` with --refresh (a task, waited for). (fakepve synthesises both answers in PVE's
/// shapes.)
#[test]
fn services_and_updates_of_a_node() {
    let fake = Fake::new();
    let run = fake.run(&["nodes", "services", "pve1"]);
    run.success();
    let first: Vec<&str> = run
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(first, ["SERVICE", "STATE", "ACTIVE", "UNIT", "DESCRIPTION"]);
    assert!(run.stdout.lines().any(|l| l.starts_with("pveproxy")
        && l.contains("running")
        && l.contains("PVE API Proxy Server")));
    let run = fake.run(&["nodes", "updates", "pve1"]);
    run.success();
    assert!(run.stdout.starts_with("PACKAGE"), "{}", run.stdout);
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "nodes", "updates", "pve1", "--refresh"]);
    run.success().stderr_has("pve1: apt update OK");
    assert!(run.json().is_array());
    let seen = common::helpers::seen(&fake);
    assert_eq!(
        seen.first().map(String::as_str),
        Some("POST /nodes/pve1/apt/update")
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("GET /nodes/pve1/apt/update")
    );
    assert!(
        seen[1].starts_with("GET /nodes/pve1/tasks/UPID:pve1:"),
        "{seen:?}"
    );
    fake.run(&["nodes", "services", "pve9"]).one_error(5);
}
