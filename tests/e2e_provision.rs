//! End-to-end: guest configuration and provisioning (`set`, `config --get`, `ct mount`,
//! `snapshot`, `clone`, `migrate`, `create`, `delete`, `template`) against fakepve.
//!
//! Every test checks the exit code, both streams, the requests sent (parameters under PVE's names,
//! decoded) and what the server holds afterwards.

mod common;

use common::helpers::{cmd, guest, req, seen, sent, task_types, tasks, upids, writes};
use common::{Fake, Run};
use serde_json::{json, Value};

// ------------------------------------------------------------------------------------ helpers

fn config(fake: &Fake, vmid: u32) -> Value {
    guest(fake, vmid)["config"].clone()
}

/// The config digest the server hands out now.
fn digest(fake: &Fake, vmid: u32) -> String {
    fake.exec(&format!("result = pve.guest({vmid}).digest()"))
        .as_str()
        .unwrap()
        .to_string()
}

/// The last task the server ran: (type, id, user, exitstatus).
fn last_task(fake: &Fake) -> (String, String, String, String) {
    let t = tasks(fake).pop().expect("a task");
    let s = |key: &str| t[key].as_str().unwrap_or_default().to_string();
    (s("type"), s("id"), s("user"), s("exitstatus"))
}

/// Success with nothing on stdout; returns stderr.
#[track_caller]
fn quiet_success(run: &Run) -> String {
    run.success().stdout_empty();
    run.stderr.clone()
}

/// A VM, a container and a second node: the usual starting point.
const BASIC: &str = "\
pve.add_node('pve2')
pve.add_vm(100, 'web1', config={'memory': 2048, 'cores': 1, 'scsi0': 'local-lvm:vm-100-disk-0,size=32G',
                                'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0'})
pve.add_ct(200, 'db1', config={'rootfs': 'local-lvm:vm-200-disk-0,size=8G'})
";

// -------------------------------------------------------------------------------------- set

#[test]
fn vm_set_sends_the_digest_and_waits_for_the_qmconfig_task() {
    let fake = Fake::with(BASIC);
    let before = digest(&fake, 100);
    let run = fake.run(&cmd(
        "vm set web1 memory=4096 cores=2 net1=virtio,bridge=vmbr1,firewall=1",
    ));
    let err = quiet_success(&run);
    assert!(err.contains("web1 (100): set task UPID:pve1:"), "{err}");
    assert!(err.contains("web1 (100): set OK"), "{err}");
    assert!(
        !err.contains("pending"),
        "a stopped VM takes everything: {err}"
    );
    let (kind, id, user, status) = last_task(&fake);
    assert_eq!(
        (kind.as_str(), id.as_str(), user.as_str(), status.as_str()),
        ("qmconfig", "100", "root@pam!cli", "OK")
    );
    let upid = err
        .split("task UPID:")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .map(|s| format!("UPID:{s}"))
        .unwrap();
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources".to_string(),
            "GET /nodes/pve1/qemu/100/config".into(),
            "POST /nodes/pve1/qemu/100/config".into(),
            format!("GET /nodes/pve1/tasks/{upid}/status"),
            "GET /nodes/pve1/qemu/100/pending".into(),
        ]
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/config",
            &[
                ("memory", "4096"),
                ("cores", "2"),
                ("net1", "virtio,bridge=vmbr1,firewall=1"),
                ("digest", &before),
            ]
        )]
    );
    let c = config(&fake, 100);
    assert_eq!(c["memory"], "4096");
    assert_eq!(c["cores"], "2");
    assert_eq!(c["net1"], "virtio,bridge=vmbr1,firewall=1");
    assert_eq!(c["scsi0"], "local-lvm:vm-100-disk-0,size=32G", "untouched");

    // --no-wait: the UPID on stdout, nothing waited for.
    fake.clear_requests();
    let run = fake.run(&cmd("vm set 100 --no-wait onboot=1"));
    run.success();
    assert!(
        run.stdout.starts_with("UPID:pve1:") && run.stdout.contains(":qmconfig:100:"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 1);
    assert!(
        !seen(&fake).iter().any(|l| l.contains("/tasks/")),
        "{:?}",
        seen(&fake)
    );
    assert_eq!(config(&fake, 100)["onboot"], "1");
}

#[test]
fn vm_set_on_a_running_vm_says_what_waits_for_the_restart_and_delete_is_sent() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web1', status='running', config={'memory': 2048, 'tags': 'old', 'description': 'x'})",
    );
    let before = digest(&fake, 100);
    let run = fake.run(&cmd("vm set 100 memory=4096 --delete tags,description"));
    let err = quiet_success(&run);
    assert!(err.contains("web1 (100): set OK"), "{err}");
    assert!(
        err.contains("web1 (100): pending until the next restart: memory (see `pvectl vm config 100 --pending`)"),
        "{err}"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/config",
            &[
                ("memory", "4096"),
                ("delete", "tags,description"),
                ("digest", &before)
            ]
        )]
    );
    let g = guest(&fake, 100);
    assert_eq!(g["config"]["memory"], 2048, "not applied while running");
    assert_eq!(g["pending"], json!({"memory": "4096"}));
    assert!(
        g["config"].get("tags").is_none() && g["config"].get("description").is_none(),
        "{g}"
    );

    // A later change reports only its own pending keys, not the memory change still waiting.
    let run = fake.run(&cmd("vm set 100 cores=4"));
    let err = quiet_success(&run);
    assert!(
        err.contains("web1 (100): pending until the next restart: cores (see"),
        "{err}"
    );

    // --revert goes out as PVE's `revert` list (repeatable and comma-separated alike). fakepve
    // does not model a QEMU revert (it keeps `revert` as a pending key), so only the request is
    // checked here; the container test below checks the effect.
    fake.clear_requests();
    let before = digest(&fake, 100);
    let run = fake.run(&cmd("vm set 100 --revert memory --revert cores"));
    run.success();
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/config",
            &[("revert", "memory,cores"), ("digest", &before)]
        )]
    );
}

#[test]
fn ct_set_is_synchronous_with_the_digest_and_revert_drops_a_pending_change() {
    let fake = Fake::with(
        "pve.add_ct(200, 'db1', status='running', config={'memory': 512, 'swap': 512, 'description': 'keep me'})\n\
         pve.ct(200).pending['rootfs'] = 'local-lvm:vm-200-disk-9,size=9G'",
    );
    let before = digest(&fake, 200);
    let run = fake.run(&cmd(
        "ct set db1 memory=1024 hostname=db-one --delete description",
    ));
    let err = quiet_success(&run);
    assert!(
        !err.contains("UPID"),
        "no task for a container config: {err}"
    );
    assert!(err.contains("db1 (200): set OK"), "{err}");
    // The rootfs change was pending before: not this command's news.
    assert!(!err.contains("rootfs"), "{err}");
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources",
            "GET /nodes/pve1/lxc/200/config",
            "PUT /nodes/pve1/lxc/200/config",
            "GET /nodes/pve1/lxc/200/pending",
        ]
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[
                ("memory", "1024"),
                ("hostname", "db-one"),
                ("delete", "description"),
                ("digest", &before)
            ]
        )]
    );
    let g = guest(&fake, 200);
    assert_eq!(
        g["config"]["memory"], 1024,
        "memory hot-plugs into a running container"
    );
    assert_eq!(g["config"]["hostname"], "db-one");
    assert!(g["config"].get("description").is_none(), "{g}");

    // --revert drops the pending rootfs change.
    fake.clear_requests();
    let before = digest(&fake, 200);
    let run = fake.run(&cmd("ct set 200 --revert rootfs"));
    let err = quiet_success(&run);
    assert!(!err.contains("pending until"), "{err}");
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[("revert", "rootfs"), ("digest", &before)]
        )]
    );
    assert_eq!(guest(&fake, 200)["pending"], json!({}));
}

#[test]
fn set_with_password_login() {
    let fake = Fake::with(BASIC);
    let before = digest(&fake, 200);
    let run = fake.run_password(&cmd("ct set 200 cores=4"));
    quiet_success(&run);
    assert_eq!(seen(&fake)[0], "POST /access/ticket");
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[("cores", "4"), ("digest", &before)]
        )]
    );
    assert_eq!(config(&fake, 200)["cores"], 4);
    let before = digest(&fake, 100);
    let run = fake.run_password(&["vm", "set", "100", "description=by root"]);
    assert!(quiet_success(&run).contains("web1 (100): set OK"));
    assert_eq!(
        last_task(&fake).2,
        "root@pam",
        "the task runs as the logged-in user"
    );
    assert_eq!(
        writes(&fake)[1],
        req(
            "POST",
            "/nodes/pve1/qemu/100/config",
            &[("description", "by root"), ("digest", &before)]
        )
    );
    assert_eq!(config(&fake, 100)["description"], "by root");
}

#[test]
fn set_refuses_keys_of_the_other_kind_and_unknown_keys_before_any_request() {
    let fake = Fake::with(BASIC);
    let cases: &[(&[&str], &str)] = &[
        (
            &["vm", "set", "100", "hostname=x"],
            "error: unknown key 'hostname' for a VM: it is a container key (`pvectl ct set`); `pvectl vm set --help-keys` lists them",
        ),
        (
            &["ct", "set", "200", "scsi0=local-lvm:8"],
            "error: unknown key 'scsi0' for a container: it is a VM key (`pvectl vm set`); `pvectl ct set --help-keys` lists them",
        ),
        (
            &["vm", "set", "100", "bogus=1"],
            "error: unknown key 'bogus' for a VM (`pvectl vm set --help-keys` lists them)",
        ),
        (
            &["ct", "set", "200", "--delete", "mp256"],
            "error: unknown key 'mp256' for a container: mp keys are mp0 to mp255 (`pvectl ct set --help-keys` lists them)",
        ),
        (&["vm", "set", "100", "memory"], "error: 'memory' is not KEY=VALUE (e.g. memory=4096)"),
        (&["vm", "set", "100", "memory=1", "memory=2"], "error: key 'memory' given twice"),
        (&["vm", "set", "100", "tags=a", "--delete", "tags"], "error: 'tags' is both set and deleted: pick one"),
        (
            &["vm", "set", "100"],
            "error: nothing to change: give KEY=VALUE pairs, --delete KEY or --revert KEY",
        ),
    ];
    for (args, message) in cases {
        let run = fake.run(args);
        assert_eq!(run.one_error(2).error_line(), *message, "{args:?}");
    }
    assert_eq!(seen(&fake), Vec::<String>::new(), "nothing was sent");
}

#[test]
fn a_mistyped_key_gets_the_closest_known_one_and_nothing_is_sent() {
    let fake = Fake::with(BASIC);
    let cases: &[(&[&str], &str)] = &[
        (
            &["vm", "set", "web1", "memroy=1"],
            "error: unknown key 'memroy' for a VM; did you mean 'memory'? (`pvectl vm set --help-keys` lists them)",
        ),
        (
            &["vm", "set", "100", "cores=2", "nte1=virtio,bridge=vmbr0"],
            "error: unknown key 'nte1' for a VM; did you mean 'net1'? (`pvectl vm set --help-keys` lists them)",
        ),
        (
            &["vm", "set", "100", "--delete", "ciuesr"],
            "error: unknown key 'ciuesr' for a VM; did you mean 'ciuser'? (`pvectl vm set --help-keys` lists them)",
        ),
        (
            &["vm", "set", "100", "--revert", "Memory"],
            "error: unknown key 'Memory' for a VM; did you mean 'memory'? (`pvectl vm set --help-keys` lists them)",
        ),
        (
            &["ct", "set", "db1", "hostnme=db"],
            "error: unknown key 'hostnme' for a container; did you mean 'hostname'? (`pvectl ct set --help-keys` lists them)",
        ),
        (
            &["vm", "set", "100", "scsi31=local-lvm:8"],
            "error: unknown key 'scsi31' for a VM: scsi keys are scsi0 to scsi30 (`pvectl vm set --help-keys` lists them)",
        ),
        (
            &["vm", "set", "100", "net=virtio"],
            "error: unknown key 'net' for a VM: net keys are net0 to net31 (`pvectl vm set --help-keys` lists them)",
        ),
        // create takes the same keys, checked the same way before anything is sent.
        (
            &["vm", "create", "300", "--name", "x", "memroy=512"],
            "error: unknown key 'memroy' for a VM; did you mean 'memory'? (`pvectl vm set --help-keys` lists them)",
        ),
        (
            &["ct", "create", "300", "local:vztmpl/debian.tar.zst", "swp=512"],
            "error: unknown key 'swp' for a container; did you mean 'swap'? (`pvectl ct set --help-keys` lists them)",
        ),
    ];
    for (args, message) in cases {
        let run = fake.run(args);
        assert_eq!(run.one_error(2).error_line(), *message, "{args:?}");
        assert_eq!(run.stdout, "", "{args:?}");
    }
    assert_eq!(seen(&fake), Vec::<String>::new(), "nothing was sent");

    // Numbered keys within their range are keys like any other.
    fake.run(&cmd(
        "vm set web1 net1=virtio,bridge=vmbr0 ipconfig1=ip=dhcp scsi30=local-lvm:1",
    ))
    .success();
    let w = writes(&fake);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].line(), "POST /nodes/pve1/qemu/100/config");
    for (k, v) in [
        ("net1", "virtio,bridge=vmbr0"),
        ("ipconfig1", "ip=dhcp"),
        ("scsi30", "local-lvm:1"),
    ] {
        assert!(
            w[0].params.contains(&(k.to_string(), v.to_string())),
            "{k}={v} in {:?}",
            w[0].params
        );
    }
    assert!(config(&fake, 100)["net1"]
        .as_str()
        .unwrap()
        .contains("bridge=vmbr0"));
}

#[test]
fn help_keys_lists_the_keys_of_the_kind_with_pve_descriptions() {
    // No server is asked: the keys are pvectl's copy of PVE's schema.
    let fake = Fake::new();
    let run = fake.run(&cmd("vm set --help-keys"));
    run.success();
    assert_eq!(run.stderr, "");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["KEY", "DESCRIPTION"]
    );
    let row = |key: &str| -> String {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} in:\n{}", run.stdout))
            .split_once(' ')
            .unwrap()
            .1
            .trim()
            .to_string()
    };
    assert_eq!(row("memory"), "Memory properties.");
    assert_eq!(row("cores"), "The number of cores per socket.");
    assert_eq!(row("net[n]"), "Specify network devices. (n is 0 to 31)");
    assert_eq!(
        row("scsi[n]"),
        "Use volume as SCSI hard disk or CD-ROM. (n is 0 to 30)"
    );
    assert!(!run.stdout.contains("hostname"), "a container key");

    let run = fake.run(&cmd("ct set --help-keys"));
    run.success();
    assert!(run.stdout.contains("\nhostname "), "{}", run.stdout);
    assert!(run.stdout.contains("\nmp[n] "), "{}", run.stdout);
    assert!(!run.stdout.contains("\nscsi[n] "), "{}", run.stdout);

    // JSON: PVE's text, the value's form, and a family's last index.
    let run = fake.run(&cmd("-o json ct set --help-keys"));
    run.success();
    let keys = run.json();
    let entry = |key: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["key"] == key)
            .unwrap_or_else(|| panic!("no {key}"))
            .clone()
    };
    assert_eq!(
        entry("swap"),
        json!({"key": "swap", "format": "MiB", "description": "Amount of SWAP for the container in MB."})
    );
    assert_eq!(entry("mp[n]")["max_index"], 255);
    assert!(entry("mp[n]")["description"]
        .as_str()
        .unwrap()
        .starts_with("Use volume as container mount point"));

    let run = fake.run(&cmd("-o tsv --columns key,format vm set --help-keys"));
    run.success();
    assert!(run.stdout.starts_with("key\tformat\n"), "{}", run.stdout);
    assert!(run.stdout.contains("\nonboot\t0|1\n"), "{}", run.stdout);

    // It lists; it does not also change a guest.
    let run = fake.run(&cmd("vm set 100 --help-keys"));
    run.failure(2);
    assert!(
        run.stderr.contains("'--help-keys'") && run.stderr.contains("cannot be used with"),
        "{}",
        run.stderr
    );
    assert_eq!(seen(&fake), Vec::<String>::new(), "nothing was sent");
}

#[test]
fn set_shows_pve_per_field_errors_exit_6() {
    let fake = Fake::with(BASIC);
    let before = config(&fake, 100);
    let run = fake.run(&cmd("vm set 100 cores=0"));
    assert_eq!(
        run.one_error(6).error_line(),
        "error: Parameter verification failed: cores: value must have a minimum value of 1"
    );
    let run = fake.run(&cmd("ct set 200 mp0=local-lvm:8"));
    run.failure(6);
    run.stderr_has("Parameter verification failed")
        .stderr_has("mp0.mp: property is missing and it is not optional");
    let run = fake.run(&cmd("ct set 200 swap=lots"));
    run.failure(6);
    run.stderr_has("swap: type check ('integer') failed - got 'lots'");
    assert_eq!(config(&fake, 100), before);
    assert_eq!(config(&fake, 200).get("mp0"), None);
    let tried: Vec<String> = writes(&fake)
        .iter()
        .map(|w| format!("{} {}", w.method, w.path))
        .collect();
    assert_eq!(
        tried,
        vec![
            "POST /nodes/pve1/qemu/100/config",
            "PUT /nodes/pve1/lxc/200/config",
            "PUT /nodes/pve1/lxc/200/config",
        ]
    );
}

/// `ARGS` against a guest that another client edits between pvectl's read and its write.
fn raced(kind: &str, vmid: u32, method: &str, edit: &str, args: &[&str]) -> (Fake, Run, String) {
    let fake = Fake::with(BASIC);
    let before = digest(&fake, vmid);
    fake.exec(&format!(
        "def _edit(_pve=pve):\n    _pve.guest({vmid}).config{edit}\n\
         pve.before_write = ('{method}', '/{kind}/{vmid}/config', _edit)"
    ));
    let run = fake.run(args);
    (fake, run, before)
}

#[test]
fn a_concurrent_edit_of_a_container_is_refused_by_the_digest() {
    let (fake, run, before) = raced(
        "lxc",
        200,
        "PUT",
        "['cores'] = 4",
        &["ct", "set", "200", "memory=1024"],
    );
    let err = run.one_error(6).error_line();
    assert!(
        err.contains("db1 (200)") && err.contains("changed since pvectl read it"),
        "{err}"
    );
    assert!(
        err.contains("detected modified configuration - file changed by other user? Try again."),
        "{err}"
    );
    assert!(
        err.contains("nothing was changed") && err.contains("run the command again"),
        "{err}"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[("memory", "1024"), ("digest", &before)]
        )]
    );
    let c = config(&fake, 200);
    assert_eq!(c["memory"], 512, "pvectl's change was not applied");
    assert_eq!(c["cores"], 4, "the other edit stays");
}

#[test]
fn a_concurrent_edit_of_a_vm_is_refused_by_the_digest() {
    // fakepve checks a QEMU digest inside the qmconfig task; PVE checks it before forking one.
    let (fake, run, before) = raced(
        "qemu",
        100,
        "POST",
        "['cores'] = 4",
        &["vm", "set", "100", "memory=4096"],
    );
    run.failure(6);
    assert_eq!(run.stdout, "");
    run.stderr_has("web1 (100)")
        .stderr_has("checksum mismatch (file change by other user?)")
        .stderr_has("changed since pvectl read it")
        .stderr_has("run the command again");
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/config",
            &[("memory", "4096"), ("digest", &before)]
        )]
    );
    let c = config(&fake, 100);
    assert_eq!(
        (c["memory"].clone(), c["cores"].clone()),
        (json!(2048), json!(4))
    );

    // PVE's own way: the POST itself answers 500.
    let fake = fake_basic_failing(
        "POST",
        "/nodes/pve1/qemu/100/config",
        "checksum mismatch (file change by other user?)",
    );
    let run = fake.run(&cmd("vm set 100 memory=4096"));
    let err = run.one_error(6).error_line();
    assert!(
        err.contains("web1 (100)")
            && err.contains("checksum mismatch (file change by other user?)"),
        "{err}"
    );
    assert!(err.contains("changed since pvectl read it"), "{err}");
    assert!(
        !seen(&fake).iter().any(|l| l.contains("/tasks/")),
        "no task to wait for"
    );
    assert_eq!(config(&fake, 100)["memory"], 2048);
}

fn fake_basic_failing(method: &str, path: &str, message: &str) -> Fake {
    let fake = Fake::with(BASIC);
    fake.exec(&format!("pve.fail('{method}', '{path}', 500, {message:?})"));
    fake
}

#[test]
fn config_get_prints_the_raw_value() {
    let fake = Fake::with(BASIC);
    let run = fake.run(&cmd("vm config web1 --get memory"));
    run.success();
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("2048\n", ""));
    let run = fake.run(&cmd("vm config 100 --get net0"));
    assert_eq!(run.stdout, "virtio=BC:24:11:00:00:01,bridge=vmbr0\n");
    let run = fake.run(&cmd("ct config 200 --get rootfs"));
    assert_eq!(run.stdout, "local-lvm:vm-200-disk-0,size=8G\n");
    // Raw even with -o json: the value, not a JSON document.
    let run = fake.run(&cmd("-o json ct config db1 --get hostname"));
    assert_eq!(run.stdout, "db1\n");
    assert_eq!(
        seen(&fake).last().unwrap(),
        "GET /nodes/pve1/lxc/200/config",
        "one read of the config"
    );

    // A known key that is not set: 5. A key that does not exist for the kind: 2.
    let run = fake.run(&cmd("vm config 100 --get tags"));
    assert_eq!(
        run.one_error(5).error_line(),
        "error: web1 (100) has no 'tags' set"
    );
    let run = fake.run(&cmd("ct config 200 --get mp0"));
    assert_eq!(
        run.one_error(5).error_line(),
        "error: db1 (200) has no 'mp0' set"
    );
    let run = fake.run(&cmd("vm config 100 --get hostname"));
    assert!(run
        .one_error(2)
        .error_line()
        .contains("unknown key 'hostname' for a VM: it is a container key"));
    let run = fake.run(&cmd("vm config 100 --get memory --pending"));
    run.failure(2);
}

#[test]
fn vm_set_can_drop_a_saved_vm_state() {
    let fake = Fake::with("pve.add_vm(100, 'web1', config={'vmstate': 'local-lvm:vm-100-state-suspend-2026-01-01', 'memory': 1024})");
    let before = digest(&fake, 100);
    let run = fake.run(&cmd("vm set 100 --delete vmstate"));
    quiet_success(&run);
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/config",
            &[("delete", "vmstate"), ("digest", &before)]
        )]
    );
    assert!(config(&fake, 100).get("vmstate").is_none());
    // It is not a key to set.
    let run = fake.run(&cmd("vm set 100 vmstate=local-lvm:x"));
    run.one_error(2);
    let run = fake.run(&cmd("ct set 200 --delete vmstate"));
    run.one_error(2);
}

// ------------------------------------------------------------------------------- mount points

/// A container with a volume mount point (mp0), a bind mount (mp2) and a detached volume.
const MOUNTS: &str = "\
pve.add_ct(200, 'db1', config={'rootfs': 'local-lvm:vm-200-disk-0,size=8G',
                               'mp0': 'local-lvm:vm-200-disk-1,mp=/srv/a,backup=1,size=4G',
                               'mp2': '/mnt/shared,mp=/srv/shared,ro=1',
                               'unused0': 'local-lvm:vm-200-disk-5'})
pve.add_vm(100, 'web1')
";

#[test]
fn mount_list_shows_volumes_and_bind_mounts() {
    let fake = Fake::with(MOUNTS);
    let run = fake.run(&cmd("ct mount list db1"));
    run.success();
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        "\
MP   VOLUME                   PATH         KIND    SIZE  RO   BACKUP  OPTIONS
mp0  local-lvm:vm-200-disk-1  /srv/a       volume  4G    no   yes
mp2  /mnt/shared              /srv/shared  bind          yes  no
"
    );
    // JSON: each property string as PVE decodes it, under its keys (booleans 0/1), with the
    // configuration key it is under; nothing PVE's string does not say.
    let run = fake.run(&cmd("-o json ct mount ls 200"));
    run.success();
    assert_eq!(
        run.json(),
        json!([
            {"key": "mp0", "volume": "local-lvm:vm-200-disk-1", "mp": "/srv/a", "backup": 1, "size": "4G"},
            {"key": "mp2", "volume": "/mnt/shared", "mp": "/srv/shared", "ro": 1},
        ])
    );
    let run = fake.run(&cmd("-o tsv ct mount ls 200"));
    run.success();
    assert_eq!(
        run.stdout,
        "key\tvolume\tmp\tsize\tro\tbackup\n\
         mp0\tlocal-lvm:vm-200-disk-1\t/srv/a\t4G\t\t1\n\
         mp2\t/mnt/shared\t/srv/shared\t\t1\t\n"
    );
    // The first command looks the guest up; the others ask the node that lookup saw it on.
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources",
            "GET /nodes/pve1/lxc/200/config",
            "GET /nodes/pve1/lxc/200/status/current",
            "GET /nodes/pve1/lxc/200/config",
            "GET /nodes/pve1/lxc/200/status/current",
            "GET /nodes/pve1/lxc/200/config",
        ]
    );
    let run = fake.run(&cmd("ct mount list 200 --node pve1 --no-headers"));
    run.success();
    assert_eq!(run.stdout.lines().count(), 2);
}

#[test]
fn mount_add_a_new_volume_takes_the_next_free_mp() {
    let fake = Fake::with(MOUNTS);
    let before = digest(&fake, 200);
    let run = fake.run(&cmd("ct mount add db1 local-lvm:8 /srv/data --backup"));
    run.success();
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "db1 (200): mount add mp1: local-lvm:vm-200-disk-2,backup=1,mp=/srv/data,size=8G\n"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[
                ("mp1", "local-lvm:8,mp=/srv/data,backup=1"),
                ("digest", &before)
            ]
        )]
    );
    let c = config(&fake, 200);
    assert_eq!(
        c["mp1"],
        "local-lvm:vm-200-disk-2,backup=1,mp=/srv/data,size=8G"
    );
    assert_eq!(
        c["mp0"], "local-lvm:vm-200-disk-1,mp=/srv/a,backup=1,size=4G",
        "untouched"
    );

    // With -o json: one result object saying what PVE stored.
    let run = fake.run(&cmd("-o json ct mount add 200 local-lvm:0.5 /srv/half"));
    run.success();
    let r = run.json();
    assert_eq!(r[0]["action"], "mount add");
    assert_eq!(r[0]["ok"], true);
    assert_eq!(r[0]["vmid"], 200);
    assert_eq!(
        r[0]["message"],
        "mp3: local-lvm:vm-200-disk-3,mp=/srv/half,size=512M"
    );
    assert_eq!(
        config(&fake, 200)["mp3"],
        "local-lvm:vm-200-disk-3,mp=/srv/half,size=512M"
    );
}

#[test]
fn mount_add_an_existing_volume_at_a_chosen_index() {
    let fake = Fake::with(MOUNTS);
    let before = digest(&fake, 200);
    let run = fake.run(&cmd("ct mount add 200 local-lvm:vm-200-disk-5 /srv/old --mp 7 --size 2G --mountoptions noatime --replicate 0"));
    run.success();
    assert_eq!(
        run.stderr,
        "db1 (200): mount add mp7: local-lvm:vm-200-disk-5,mountoptions=noatime,mp=/srv/old,replicate=0,size=2G\n"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[
                (
                    "mp7",
                    "local-lvm:vm-200-disk-5,mp=/srv/old,mountoptions=noatime,replicate=0,size=2G"
                ),
                ("digest", &before)
            ]
        )]
    );
    assert_eq!(
        config(&fake, 200)["mp7"],
        "local-lvm:vm-200-disk-5,mountoptions=noatime,mp=/srv/old,replicate=0,size=2G"
    );

    // An index in use is refused before anything is written.
    fake.clear_requests();
    let run = fake.run(&cmd("ct mount add 200 local-lvm:1 /srv/x --mp 2"));
    assert_eq!(
        run.one_error(2).error_line(),
        "error: mp2 of db1 (200) is in use: leave --mp out to take the next free one"
    );
    assert_eq!(writes(&fake), vec![]);
}

#[test]
fn mount_add_a_bind_mount_as_root_with_a_password_and_every_flag() {
    let fake = Fake::with(MOUNTS);
    // Permissions on: PVE lets nobody but root@pam add a bind mount.
    fake.exec("pve.grant('auditor@pve', '/', 'VM.Audit')");
    let before = digest(&fake, 200);
    let run = fake.run_password(
        &cmd("ct mount add db1 /mnt/host /srv/host --ro --backup --acl 0 --quota --replicate 0 --shared --mountoptions noatime;nodev --size 1G"),
    );
    run.success();
    assert_eq!(run.stdout, "");
    let stored = "/mnt/host,acl=0,backup=1,mountoptions=noatime;nodev,mp=/srv/host,quota=1,replicate=0,ro=1,shared=1,size=1G";
    assert_eq!(run.stderr, format!("db1 (200): mount add mp1: {stored}\n"));
    assert_eq!(seen(&fake)[0], "POST /access/ticket");
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[
                (
                    "mp1",
                    "/mnt/host,mp=/srv/host,acl=0,backup=1,mountoptions=noatime;nodev,quota=1,replicate=0,ro=1,shared=1,size=1G"
                ),
                ("digest", &before)
            ]
        )]
    );
    assert_eq!(config(&fake, 200)["mp1"], stored);
    // `--columns` takes PVE's names first (`mp` is the path, `key` the mpN), then headers.
    let run = fake.run(&cmd("ct mount list 200 --columns key,kind,options"));
    run.success();
    assert!(
        run.stdout
            .contains("mp1  bind    acl=0,mountoptions=noatime;nodev,quota=1,replicate=0,shared=1"),
        "{}",
        run.stdout
    );
}

#[test]
fn mount_add_a_bind_mount_with_a_token_explains_the_root_password_rule() {
    let fake = Fake::with(MOUNTS);
    fake.exec("pve.grant('auditor@pve', '/', 'VM.Audit')");
    let before = config(&fake, 200);
    let run = fake.run(&cmd("ct mount add 200 /mnt/host /srv/host"));
    let err = run.one_error(4).error_line();
    assert!(
        err.contains(
            "Permission check failed (mount point type bind is only allowed for root@pam)"
        ),
        "{err}"
    );
    assert!(err.contains("root@pam logged in with a password"), "{err}");
    assert!(err.contains("an API token can never add one"), "{err}");
    assert!(
        err.contains("`--user root@pam`") && err.contains("auth = \"password\""),
        "{err}"
    );
    assert_eq!(writes(&fake).len(), 1, "one refused PUT");
    assert_eq!(config(&fake, 200), before);

    // A device mount: the same rule, PVE names the type.
    let run = fake.run(&cmd("ct mount add 200 /dev/sdb1 /srv/disk"));
    let err = run.one_error(4).error_line();
    assert!(
        err.contains("mount point type device is only allowed for root@pam"),
        "{err}"
    );
    assert!(
        err.contains("device mount points can only be added by root@pam"),
        "{err}"
    );

    // Another user with a password: told who they are.
    fake.exec("pve.users['ops@pve'] = 'ops-pw'\npve.grant('ops@pve', '/vms/200', 'VM.Audit', 'VM.Config.Disk')");
    let run = fake.run_as(
        "ops@pve",
        "ops-pw",
        &cmd("ct mount add 200 /mnt/host /srv/host"),
    );
    let err = run.one_error(4).error_line();
    assert!(err.contains("(you are logged in as ops@pve)"), "{err}");
    assert_eq!(config(&fake, 200), before);

    // PVE's refusal as a real PVE sends it, with permissions left open in the fake.
    let fake = fake_basic_failing_status(
        403,
        "PUT",
        "/nodes/pve1/lxc/200/config",
        "Permission check failed (mount point type bind is only allowed for root@pam)",
    );
    let run = fake.run(&cmd("ct mount add 200 /mnt/host /srv/host"));
    let err = run.one_error(4).error_line();
    assert!(
        err.contains("only be added by root@pam logged in with a password"),
        "{err}"
    );
    assert!(config(&fake, 200).get("mp0").is_none());
}

fn fake_basic_failing_status(status: u16, method: &str, path: &str, message: &str) -> Fake {
    let fake = Fake::with(BASIC);
    fake.exec(&format!(
        "pve.fail('{method}', '{path}', {status}, {message:?})"
    ));
    fake
}

#[test]
fn mount_add_refuses_paths_in_use_and_bad_paths_without_writing() {
    let fake = Fake::with(MOUNTS);
    let cases: &[(&[&str], &str)] = &[
        (
            &["ct", "mount", "add", "200", "local-lvm:1", "/srv/a/"],
            "error: db1 (200) already mounts something at /srv/a/ (mp0): remove it first or pick another path",
        ),
        (
            &["ct", "mount", "add", "200", "/mnt/other", "/srv/shared"],
            "error: db1 (200) already mounts something at /srv/shared (mp2): remove it first or pick another path",
        ),
        (
            &["ct", "mount", "add", "200", "local-lvm:1", "/"],
            "error: '/' is the root file system (rootfs), not a mount point",
        ),
        (
            &["ct", "mount", "add", "200", "local-lvm:1", "srv/rel"],
            "error: mount path 'srv/rel' must be absolute, e.g. /srv/data",
        ),
        (
            &["ct", "mount", "add", "200", "local-lvm:1", "/srv/../etc"],
            "error: mount path '/srv/../etc' must not contain '.' or '..'",
        ),
        (
            &["ct", "mount", "add", "200", "local-lvm:1,ro=1", "/srv/b"],
            "error: 'local-lvm:1,ro=1' contains a comma: give options as flags (--ro, --backup, …)",
        ),
        (&["ct", "mount", "add", "200", "local-lvm:1", "/srv/b", "--mp", "256"], "error: --mp must be 0…255"),
    ];
    for (args, message) in cases {
        let run = fake.run(args);
        assert_eq!(run.one_error(2).error_line(), *message, "{args:?}");
    }
    assert_eq!(writes(&fake), vec![], "nothing was written");
    let run = fake.run(&cmd("ct mount add 200 local-lvm:1 /srv/b --acl 2"));
    run.failure(2);
}

#[test]
fn mount_remove_by_index_and_by_path_and_destroy() {
    let fake = Fake::with(MOUNTS);
    let before = digest(&fake, 200);
    let run = fake.run(&cmd("ct mount remove db1 mp0"));
    run.success();
    assert_eq!(
        run.stderr,
        "db1 (200): mount remove mp0 (local-lvm:vm-200-disk-1 at /srv/a) removed; the volume stays as unused1 (--destroy removes it)\n"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[("delete", "mp0"), ("digest", &before)]
        )]
    );
    let c = config(&fake, 200);
    assert!(c.get("mp0").is_none(), "{c}");
    assert_eq!(
        c["unused1"], "local-lvm:vm-200-disk-1",
        "PVE keeps the volume detached"
    );

    // A bind mount by its path (trailing slash and all): nothing is left behind.
    fake.clear_requests();
    let before = digest(&fake, 200);
    let run = fake.run(&cmd("ct mount remove 200 /srv/shared/"));
    run.success();
    assert_eq!(
        run.stderr,
        "db1 (200): mount remove mp2 (/mnt/shared at /srv/shared) removed\n"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[("delete", "mp2"), ("digest", &before)]
        )]
    );
    assert!(config(&fake, 200).get("mp2").is_none());

    // Unknown mount point: 5, nothing written.
    fake.clear_requests();
    let run = fake.run(&cmd("ct mount remove 200 /srv/nothing"));
    assert_eq!(
        run.one_error(5).error_line(),
        "error: db1 (200) has no mount point /srv/nothing (see `pvectl ct mount list 200`)"
    );
    let run = fake.run(&cmd("ct mount remove 200 mp9"));
    run.one_error(5);
    assert_eq!(writes(&fake), vec![]);
}

#[test]
fn mount_remove_destroy_deletes_the_unused_entry_and_the_volume() {
    let fake = Fake::with(MOUNTS);
    let run = fake.run(&cmd("ct mount add 200 local-lvm:2 /srv/scratch"));
    run.success();
    assert_eq!(
        config(&fake, 200)["mp1"],
        "local-lvm:vm-200-disk-2,mp=/srv/scratch,size=2G"
    );
    fake.clear_requests();
    // Destroying data needs confirmation: without a terminal, --yes.
    let run = fake.run(&cmd("ct mount remove 200 /srv/scratch --destroy"));
    run.failure(2).stderr_has("add --yes");
    assert!(writes(&fake).is_empty(), "nothing sent without --yes");
    assert_eq!(
        config(&fake, 200)["mp1"],
        "local-lvm:vm-200-disk-2,mp=/srv/scratch,size=2G"
    );
    let first = digest(&fake, 200);
    let run = fake.run_password(&cmd("ct mount remove 200 /srv/scratch --destroy --yes"));
    run.success();
    assert_eq!(
        run.stderr,
        "db1 (200): mount remove mp1 (local-lvm:vm-200-disk-2 at /srv/scratch) removed; volume destroyed\n"
    );
    let w = writes(&fake);
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(
        w[0],
        req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[("delete", "mp1"), ("digest", &first)]
        )
    );
    assert_eq!(w[1].path, "/nodes/pve1/lxc/200/config");
    assert_eq!(
        w[1].params[0],
        ("delete".to_string(), "unused1".to_string())
    );
    assert_eq!(w[1].params[1].0, "digest");
    assert_ne!(
        w[1].params[1].1, first,
        "the second write carries the new digest"
    );
    let c = config(&fake, 200);
    assert!(c.get("mp1").is_none() && c.get("unused1").is_none(), "{c}");
    assert_eq!(
        c["unused0"], "local-lvm:vm-200-disk-5",
        "other detached volumes stay"
    );
    let volumes = fake.exec("result = sorted(pve._volumes('local-lvm'))");
    assert!(
        !volumes
            .as_array()
            .unwrap()
            .contains(&json!("vm-200-disk-2")),
        "{volumes}"
    );
}

#[test]
fn vm_mount_is_a_usage_error() {
    let fake = Fake::with(MOUNTS);
    for args in [
        &["vm", "mount", "list", "100"][..],
        &["vm", "mount", "add", "100", "local-lvm:8", "/srv"],
        &["vm", "mount", "remove", "100", "mp0"],
    ] {
        fake.run(args)
            .not_for_this_kind("mount", "`pvectl ct mount` exists, but VMs have no `mount`");
    }
    assert_eq!(seen(&fake), Vec::<String>::new());
}

#[test]
fn mount_list_of_a_container_without_mount_points() {
    let fake = Fake::with(BASIC);
    let run = fake.run(&cmd("ct mount list 200"));
    run.success();
    assert_eq!(
        run.stdout,
        "MP  VOLUME  PATH  KIND  SIZE  RO  BACKUP  OPTIONS\n"
    );
    let run = fake.run(&cmd("-o json ct mount list 200"));
    assert_eq!(run.json(), json!([]));
}

#[test]
fn mount_remove_on_a_running_container_waits_for_its_restart() {
    let fake = Fake::with(&MOUNTS.replace("'db1', config", "'db1', status='running', config"));
    let run = fake.run(&cmd("ct mount remove 200 /srv/a --destroy --yes"));
    run.success();
    assert_eq!(
        run.stderr,
        "db1 (200): mount remove mp0 (local-lvm:vm-200-disk-1 at /srv/a) is removed at the next restart of the container (see `pvectl ct config 200 --pending`); the volume then stays as an unusedN entry, to delete with `pvectl ct set <ct> --delete unusedN`\n"
    );
    assert_eq!(writes(&fake).len(), 1, "nothing to destroy yet");
    let g = guest(&fake, 200);
    assert_eq!(g["pending"], json!({"mp0": null}));
    assert_eq!(
        g["config"]["mp0"],
        "local-lvm:vm-200-disk-1,mp=/srv/a,backup=1,size=4G"
    );
}

#[test]
fn mount_remove_says_so_when_the_follow_up_read_fails() {
    let fake = Fake::with(MOUNTS);
    fake.exec("pve.fail('GET', '/nodes/pve1/lxc/200/pending', 500, 'pending read failed')");
    let run = fake.run(&cmd("ct mount remove 200 mp0"));
    let err = run.one_error(6).error_line();
    assert!(
        err.contains(
            "mp0 was removed, but what became of local-lvm:vm-200-disk-1 could not be read"
        ) && err.contains("pending read failed"),
        "{err}"
    );
    assert!(
        config(&fake, 200).get("mp0").is_none(),
        "the removal itself happened"
    );
}

#[test]
fn a_concurrent_edit_refuses_mount_changes_too() {
    let (fake, run, before) = raced(
        "lxc",
        200,
        "PUT",
        "['description'] = 'edited elsewhere'",
        &["ct", "mount", "add", "200", "local-lvm:4", "/srv/data"],
    );
    let err = run.one_error(6).error_line();
    assert!(
        err.contains("db1 (200): the configuration changed since pvectl read it"),
        "{err}"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/nodes/pve1/lxc/200/config",
            &[("mp0", "local-lvm:4,mp=/srv/data"), ("digest", &before)]
        )]
    );
    assert!(config(&fake, 200).get("mp0").is_none());
}

// ---------------------------------------------------------------------------------- snapshots

#[test]
fn snapshot_list_shows_the_tree_and_where_the_guest_is() {
    let fake = Fake::with(&format!(
        "{BASIC}\n\
vm = pve.vm(100)\n\
vm.snapshots = {{'base': {{'snaptime': 1767225600, 'description': 'fresh install'}},\n\
                'upgrade': {{'snaptime': 1767312000, 'parent': 'base'}},\n\
                'experiment': {{'snaptime': 1767398400, 'parent': 'base', 'vmstate': 'local:vm-100-state-experiment'}},\n\
                'tuning': {{'snaptime': 1767484800, 'parent': 'experiment'}}}}\n\
vm.config['parent'] = 'upgrade'\n"
    ));
    let run = fake.run(&cmd("vm snapshot list web1"));
    run.success();
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        "\
NAME                    TAKEN                RAM  DESCRIPTION
base                    2026-01-01 00:00:00  no   fresh install
├ upgrade               2026-01-02 00:00:00  no
│ └ NOW (you are here)
└ experiment            2026-01-03 00:00:00  yes
  └ tuning              2026-01-04 00:00:00  no
"
    );
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources",
            "GET /nodes/pve1/qemu/100/snapshot"
        ]
    );
    // JSON: PVE's list as it is, `current` included.
    let run = fake.run(&cmd("-o json vm snapshot ls 100"));
    run.success();
    let list = run.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["base", "upgrade", "experiment", "tuning", "current"]
    );
    assert_eq!(list[4]["parent"], "upgrade");
    assert_eq!(list[4]["description"], "You are here!");
    assert_eq!(list[2]["vmstate"], 1);
    // TSV: PVE's names and values (times as ISO 8601), in the tree's order.
    let run = fake.run(&cmd("-o tsv vm snapshot ls 100"));
    run.success();
    assert_eq!(
        run.stdout,
        "\
name\tparent\tsnaptime\tvmstate\tdescription
base\t\t2026-01-01T00:00:00+00:00\t0\tfresh install
upgrade\tbase\t2026-01-02T00:00:00+00:00\t0\t
current\tupgrade\t\t\tYou are here!
experiment\tbase\t2026-01-03T00:00:00+00:00\t1\t
tuning\texperiment\t2026-01-04T00:00:00+00:00\t0\t
"
    );

    // A guest without snapshots: only where it is.
    let run = fake.run(&cmd("ct snapshot list 200"));
    run.success();
    assert_eq!(
        run.stdout,
        "NAME                TAKEN  RAM  DESCRIPTION\nNOW (you are here)\n"
    );
    let run = fake.run(&cmd("-o tsv --no-headers ct snapshot list 200"));
    run.success();
    assert_eq!(run.stdout, "current\t\t\t\tYou are here!\n");
}

#[test]
fn snapshot_create_for_vms_and_containers() {
    let fake = Fake::with(&format!("{BASIC}\npve.vm(100).status = 'running'"));
    let run = fake.run(&[
        "vm",
        "snapshot",
        "create",
        "web1",
        "before-upgrade",
        "--vmstate",
        "--description",
        "pre 13.1",
    ]);
    let err = quiet_success(&run);
    assert!(
        err.contains("web1 (100): snapshot before-upgrade task UPID:pve1:"),
        "{err}"
    );
    assert!(
        err.contains("web1 (100): snapshot before-upgrade OK"),
        "{err}"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/snapshot",
            &[
                ("snapname", "before-upgrade"),
                ("vmstate", "1"),
                ("description", "pre 13.1")
            ]
        )]
    );
    assert_eq!(last_task(&fake).0, "qmsnapshot");
    let g = guest(&fake, 100);
    assert_eq!(
        g["snapshots"],
        json!({"before-upgrade": {"parent": null, "description": "pre 13.1", "vmstate": true}})
    );
    assert_eq!(g["config"]["parent"], "before-upgrade");

    fake.clear_requests();
    let run = fake.run_password(&cmd("ct snapshot create db1 s1"));
    assert!(quiet_success(&run).contains("db1 (200): snapshot s1 OK"));
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/lxc/200/snapshot",
            &[("snapname", "s1")]
        )]
    );
    let (kind, _, user, status) = last_task(&fake);
    assert_eq!(
        (kind.as_str(), user.as_str(), status.as_str()),
        ("vzsnapshot", "root@pam", "OK")
    );
    assert_eq!(guest(&fake, 200)["snapshots"]["s1"]["parent"], Value::Null);

    // A second snapshot hangs below the first.
    let run = fake.run(&cmd("ct snapshot create 200 s2"));
    run.success();
    assert_eq!(guest(&fake, 200)["snapshots"]["s2"]["parent"], "s1");

    // Containers have no RAM to save: refused before any request.
    fake.clear_requests();
    fake.run(&cmd("ct snapshot create 200 s3 --vmstate"))
        .not_for_this_kind(
        "--vmstate",
        "--vmstate is an option of `pvectl vm snapshot create`; containers have no such parameter",
    );
    assert_eq!(seen(&fake), Vec::<String>::new());
}

#[test]
fn snapshot_names_pve_rejects() {
    let fake = Fake::with(BASIC);
    let run = fake.run(&cmd("vm snapshot create 100 current"));
    assert_eq!(
        run.one_error(6).error_line(),
        "error: unable to use snapshot name 'current' (reserved name)"
    );
    let run = fake.run(&cmd("ct snapshot create 200 vzdump"));
    assert_eq!(
        run.one_error(6).error_line(),
        "error: unable to use snapshot name 'vzdump' (reserved name)"
    );
    let run = fake.run(&["vm", "snapshot", "create", "100", "before upgrade"]);
    assert_eq!(
        run.one_error(6).error_line(),
        "error: Parameter verification failed: snapname: invalid format - invalid configuration ID 'before upgrade'"
    );
    let run = fake.run(&cmd("ct snapshot create 200 2024-01-01"));
    assert!(run
        .one_error(6)
        .error_line()
        .contains("invalid configuration ID '2024-01-01'"));
    assert!(
        !seen(&fake).iter().any(|l| l.contains("/tasks/")),
        "no task was started"
    );
    assert_eq!(guest(&fake, 100)["snapshots"], json!({}));
    assert_eq!(guest(&fake, 200)["snapshots"], json!({}));

    // A name already taken: PVE's task fails (exit 8) with its message.
    fake.run(&cmd("vm snapshot create 100 s1")).success();
    let run = fake.run(&cmd("vm snapshot create 100 s1"));
    run.failure(8);
    run.stderr_has("web1 (100): snapshot s1 failed: snapshot name 's1' already used")
        .stderr_has("TASK ERROR: snapshot name 's1' already used");
}

#[test]
fn snapshot_rollback_and_delete_need_yes_off_a_terminal() {
    let fake = Fake::with(BASIC);
    fake.run(&cmd("vm snapshot create 100 s1")).success();
    fake.run(&cmd("ct snapshot create 200 s1")).success();
    fake.exec("pve.vm(100).config['memory'] = 8192\npve.ct(200).config['memory'] = 1024");
    fake.clear_requests();
    let cases: &[(&[&str], &str)] = &[
        (
            &["vm", "snapshot", "rollback", "100", "s1"],
            "error: roll web1 (100) back to snapshot 's1' (what changed since is lost): needs confirmation, add --yes (there is no terminal to ask on); nothing was done",
        ),
        (
            &["vm", "snapshot", "delete", "web1", "s1"],
            "error: delete snapshot 's1' of web1 (100): needs confirmation, add --yes (there is no terminal to ask on); nothing was done",
        ),
        (
            &["ct", "snapshot", "rollback", "200", "s1", "--start"],
            "error: roll db1 (200) back to snapshot 's1' (what changed since is lost): needs confirmation, add --yes (there is no terminal to ask on); nothing was done",
        ),
        (
            &["ct", "snapshot", "delete", "200", "s1", "--force"],
            "error: delete snapshot 's1' of db1 (200): needs confirmation, add --yes (there is no terminal to ask on); nothing was done",
        ),
    ];
    for (args, message) in cases {
        let run = fake.run(args);
        assert_eq!(run.one_error(2).error_line(), *message, "{args:?}");
    }
    // Only the guests were looked for: the lookup, or the node a VMID was last seen on.
    assert!(
        seen(&fake).iter().all(|l| l == "GET /cluster/resources"
            || l == "GET /nodes/pve1/qemu/100/status/current"
            || l == "GET /nodes/pve1/lxc/200/status/current"),
        "only the lookup: {:?}",
        seen(&fake)
    );
    assert_eq!(config(&fake, 100)["memory"], 8192);
    assert_eq!(guest(&fake, 100)["snapshots"]["s1"]["parent"], Value::Null);
    assert_eq!(config(&fake, 200)["memory"], 1024);
    assert!(guest(&fake, 200)["snapshots"].get("s1").is_some());
}

#[test]
fn snapshot_rollback_and_delete_with_yes() {
    let fake = Fake::with(BASIC);
    fake.run(&cmd("vm snapshot create 100 s1")).success();
    fake.run(&cmd("vm snapshot create 100 s2")).success();
    fake.exec("pve.vm(100).config['memory'] = 8192");
    fake.clear_requests();
    let run = fake.run(&cmd("vm snapshot rollback 100 s1 --yes --start"));
    let err = quiet_success(&run);
    assert!(err.contains("web1 (100): rollback to s1 OK"), "{err}");
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/snapshot/s1/rollback",
            &[("start", "1")]
        )]
    );
    assert_eq!(last_task(&fake).0, "qmrollback");
    let g = guest(&fake, 100);
    assert_eq!(g["config"]["memory"], 2048, "the snapshot's memory is back");
    assert_eq!(g["config"]["parent"], "s1");
    assert_eq!(g["status"], "running", "--start");

    fake.clear_requests();
    let run = fake.run_password(&cmd("vm snapshot delete web1 s2 -y --force"));
    assert!(quiet_success(&run).contains("web1 (100): delete snapshot s2 OK"));
    assert_eq!(
        writes(&fake),
        vec![req(
            "DELETE",
            "/nodes/pve1/qemu/100/snapshot/s2",
            &[("force", "1")]
        )]
    );
    assert_eq!(last_task(&fake).0, "qmdelsnapshot");
    let snaps = guest(&fake, 100)["snapshots"].clone();
    assert_eq!(
        snaps,
        json!({"s1": {"parent": null, "description": null, "vmstate": false}})
    );

    // A snapshot that does not exist: the task says so (exit 8).
    let run = fake.run(&cmd("vm snapshot delete 100 nosuch --yes"));
    run.failure(8);
    run.stderr_has("snapshot 'nosuch' does not exist");

    // Containers alike.
    fake.run(&cmd("ct snapshot create 200 s1")).success();
    fake.exec("pve.ct(200).config['memory'] = 1024");
    fake.clear_requests();
    fake.run(&cmd("ct snapshot rollback 200 s1 --yes"))
        .success();
    assert_eq!(
        writes(&fake),
        vec![req("POST", "/nodes/pve1/lxc/200/snapshot/s1/rollback", &[])]
    );
    assert_eq!(config(&fake, 200)["memory"], 512);
    fake.run(&cmd("ct snapshot delete 200 s1 --yes")).success();
    assert_eq!(guest(&fake, 200)["snapshots"], json!({}));
    assert_eq!(
        task_types(&fake)
            .iter()
            .rev()
            .take(2)
            .cloned()
            .collect::<Vec<_>>(),
        vec!["vzdelsnapshot", "vzrollback"]
    );
}

// -------------------------------------------------------------------------------------- clone

#[test]
fn clone_takes_the_next_free_vmid_by_default() {
    let fake = Fake::with(BASIC);
    let run = fake.run(&cmd("vm clone web1"));
    let err = quiet_success(&run);
    assert!(
        err.contains("web1 (100): clone to 101 task UPID:pve1:"),
        "{err}"
    );
    assert!(err.contains("web1 (100): clone to 101 OK"), "{err}");
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources".to_string(),
            "GET /cluster/nextid".into(),
            "POST /nodes/pve1/qemu/100/clone".into(),
            format!("GET /nodes/pve1/tasks/{}/status", last_upid(&fake)),
        ]
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/clone",
            &[("newid", "101")]
        )]
    );
    let (kind, id, _, status) = last_task(&fake);
    assert_eq!(
        (kind.as_str(), id.as_str(), status.as_str()),
        ("qmclone", "100", "OK")
    );
    let g = guest(&fake, 101);
    assert_eq!(g["node"], "pve1");
    assert_eq!(g["config"]["memory"], 2048);
    assert_eq!(
        g["config"]["scsi0"], "local-lvm:vm-101-disk-0,size=32G",
        "a full copy of the disk"
    );

    // Containers: the same, with hostname.
    fake.clear_requests();
    let run = fake.run(&cmd("ct clone db1 --hostname db2"));
    assert!(quiet_success(&run).contains("db1 (200): clone to 102 OK"));
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/lxc/200/clone",
            &[("newid", "102"), ("hostname", "db2")]
        )]
    );
    let g = guest(&fake, 102);
    assert_eq!(g["config"]["hostname"], "db2");
    assert_eq!(g["config"]["rootfs"], "local-lvm:vm-102-disk-0,size=8G");
}

/// The UPID of the last task the server started.
fn last_upid(fake: &Fake) -> String {
    upids(fake).pop().expect("a task")
}

#[test]
fn clone_with_every_option() {
    let fake = Fake::with(&format!(
        "{BASIC}\npve.storages['nfs'] = {{'type': 'nfs', 'active': 1, 'content': 'images,rootdir', 'files': set(), \
         'shared': 1, 'server': '192.0.2.1', 'export': '/export', 'path': '/mnt/pve/nfs'}}\n\
         pve.pools['lab'] = set()"
    ));
    let run = fake.run(&[
        "vm",
        "clone",
        "100",
        "150",
        "--name",
        "web-copy",
        "--full",
        "--storage",
        "local-lvm",
        "--format",
        "raw",
        "--description",
        "copy of web1",
        "--pool",
        "lab",
        "--bwlimit",
        "10240",
    ]);
    assert!(quiet_success(&run).contains("web1 (100): clone to 150 OK"));
    assert!(
        !seen(&fake).contains(&"GET /cluster/nextid".to_string()),
        "an explicit newid needs no nextid"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/clone",
            &[
                ("newid", "150"),
                ("name", "web-copy"),
                ("description", "copy of web1"),
                ("full", "1"),
                ("storage", "local-lvm"),
                ("pool", "lab"),
                ("format", "raw"),
                ("bwlimit", "10240"),
            ]
        )]
    );
    let g = guest(&fake, 150);
    assert_eq!(g["config"]["name"], "web-copy");
    assert_eq!(g["config"]["description"], "copy of web1");
    // Scripts get the clone's VMID from -o json.
    let run = fake.run(&cmd("-o json vm clone 100 151"));
    run.success();
    let out = run.json();
    assert_eq!(out[0]["newid"], 151, "{out}");
    assert_eq!(out[0]["vmid"], 100, "{out}");
    assert_eq!(guest(&fake, 151)["node"], "pve1");
    assert_eq!(fake.exec("result = sorted(pve.pools['lab'])"), json!([150]));

    // --target: the clone lives on the other node (shared storage).
    fake.clear_requests();
    let run = fake.run_password(&cmd("ct clone 200 300 --target pve2 --full --storage nfs"));
    assert!(quiet_success(&run).contains("db1 (200): clone to 300 OK"));
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/lxc/200/clone",
            &[
                ("newid", "300"),
                ("full", "1"),
                ("target", "pve2"),
                ("storage", "nfs")
            ]
        )]
    );
    let g = guest(&fake, 300);
    assert_eq!(g["node"], "pve2");
    assert_eq!(g["config"]["rootfs"], "nfs:300/vm-300-disk-0.raw,size=8G");

    // PVE's refusal of a local storage on another node, shown as is.
    let run = fake.run(&cmd(
        "ct clone 200 301 --target pve2 --full --storage local-lvm",
    ));
    assert_eq!(
        run.one_error(6).error_line(),
        "error: can't clone to non-shared storage 'local-lvm'"
    );
    assert!(guest(&fake, 301).is_null());

    // --format is for VMs.
    fake.run(&cmd("ct clone 200 --format raw"))
        .not_for_this_kind(
            "--format",
            "--format is an option of `pvectl vm clone`; containers have no such parameter",
        );
}

#[test]
fn clone_of_a_template_is_linked_unless_full() {
    let fake = Fake::with(
        "pve.add_vm(9000, 'tmpl', template=True, config={'template': 1, 'scsi0': 'local-lvm:base-9000-disk-0,size=8G'})",
    );
    let run = fake.run(&cmd("vm clone tmpl 120 --name from-tmpl"));
    run.success();
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/9000/clone",
            &[("newid", "120"), ("name", "from-tmpl")]
        )]
    );
    assert_eq!(
        config(&fake, 120)["scsi0"],
        "local-lvm:vm-120-disk-0,size=8G"
    );
    assert_eq!(last_task(&fake).3, "OK");
    // A linked clone cannot choose a storage: PVE says so.
    let run = fake.run(&cmd("vm clone 9000 121 --storage local-lvm"));
    assert_eq!(
        run.one_error(6).error_line(),
        "error: parameter 'storage' not allowed for linked clones"
    );
}

#[test]
fn clone_to_a_vmid_in_use_sends_nothing() {
    let fake = Fake::with(BASIC);
    let run = fake.run(&cmd("vm clone 100 200"));
    assert_eq!(
        run.one_error(2).error_line(),
        "error: VMID 200 is in use by db1 (200) on pve1: pick another (or leave it out for the next free one)"
    );
    let run = fake.run(&cmd("ct clone 200 100 --hostname x"));
    assert_eq!(
        run.one_error(2).error_line(),
        "error: VMID 100 is in use by web1 (100) on pve1: pick another (or leave it out for the next free one)"
    );
    assert_eq!(
        seen(&fake),
        vec!["GET /cluster/resources", "GET /cluster/resources"]
    );
    let run = fake.run(&cmd("vm clone nosuch"));
    run.one_error(5);
    let run = fake.run(&cmd("ct clone 100"));
    assert!(
        run.one_error(2).error_line().contains("100 is a VM"),
        "{}",
        run.stderr
    );
    assert_eq!(writes(&fake), vec![]);
    assert_eq!(fake.exec("result = len(pve.vms) + len(pve.cts)"), 2);
}

// ------------------------------------------------------------------------------------ migrate

#[test]
fn migrate_sends_pve_parameters_per_kind() {
    let fake = Fake::with(&format!(
        "{BASIC}\npve.vm(100).status = 'running'\npve.ct(200).status = 'running'"
    ));
    let run = fake.run(&cmd("vm migrate web1 pve2 --online --with-local-disks --target-storage local-lvm --bwlimit 50000"));
    let err = quiet_success(&run);
    assert!(
        err.contains("web1 (100): migrate to pve2 task UPID:pve1:"),
        "{err}"
    );
    assert!(err.contains("web1 (100): migrate to pve2 OK"), "{err}");
    assert_eq!(
        seen(&fake)[..3],
        [
            "GET /cluster/resources",
            "GET /nodes",
            "POST /nodes/pve1/qemu/100/migrate"
        ]
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/migrate",
            &[
                ("target", "pve2"),
                ("online", "1"),
                ("with-local-disks", "1"),
                ("targetstorage", "local-lvm"),
                ("bwlimit", "50000"),
            ]
        )]
    );
    assert_eq!(last_task(&fake).3, "OK");

    // Containers: target-storage with a hyphen, restart mode with its timeout.
    fake.clear_requests();
    let run = fake.run_password(&cmd(
        "ct migrate db1 pve2 --restart --timeout 30 --targetstorage local-lvm",
    ));
    let err = quiet_success(&run);
    assert!(err.contains("db1 (200): migrate to pve2 OK"), "{err}");
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/lxc/200/migrate",
            &[
                ("target", "pve2"),
                ("target-storage", "local-lvm"),
                ("restart", "1"),
                ("timeout", "30")
            ]
        )]
    );
    let (kind, _, user, status) = last_task(&fake);
    assert_eq!(
        (kind.as_str(), user.as_str(), status.as_str()),
        ("vzmigrate", "root@pam", "OK")
    );
    let g = guest(&fake, 200);
    assert_eq!(
        (g["node"].as_str(), g["status"].as_str()),
        (Some("pve2"), Some("running"))
    );

    // Flags of the other kind are usage errors, before any request.
    fake.clear_requests();
    fake.run(&cmd("vm migrate 100 pve2 --restart"))
        .not_for_this_kind(
            "--restart",
            "--restart is an option of `pvectl ct migrate`; VMs have no such parameter",
        );
    fake.run(&cmd("ct migrate 200 pve1 --with-local-disks"))
        .not_for_this_kind(
        "--with-local-disks",
        "--with-local-disks is an option of `pvectl vm migrate`; containers have no such parameter",
    );
    assert_eq!(seen(&fake), Vec::<String>::new());
}

#[test]
fn migrate_to_an_unknown_offline_or_the_same_node() {
    let fake = Fake::with(&format!(
        "{BASIC}\npve.add_node('pve3')\npve.set_node_offline('pve3')"
    ));
    let run = fake.run(&cmd("vm migrate 100 pve9"));
    assert_eq!(
        run.one_error(5).error_line(),
        "error: no node 'pve9' in the cluster (nodes: pve1, pve2, pve3)"
    );
    let run = fake.run(&cmd("ct migrate 200 pve3"));
    assert_eq!(
        run.one_error(7).error_line(),
        "error: node pve3 is offline: a guest cannot move there now"
    );
    let run = fake.run(&cmd("vm migrate web1 pve1"));
    assert_eq!(
        run.one_error(2).error_line(),
        "error: web1 (100) is already on pve1"
    );
    assert_eq!(writes(&fake), vec![]);
    assert_eq!(guest(&fake, 100)["node"], "pve1");
    assert_eq!(guest(&fake, 200)["node"], "pve1");

    // A running container without --restart: PVE's refusal.
    fake.exec("pve.ct(200).status = 'running'");
    let run = fake.run(&cmd("ct migrate 200 pve2"));
    assert_eq!(
        run.one_error(6).error_line(),
        "error: can't migrate running container without --online or --restart"
    );
    assert_eq!(guest(&fake, 200)["node"], "pve1");
}

// ------------------------------------------------------------------------------------- create

#[test]
fn vm_create_with_flags_and_settings() {
    let fake = Fake::with(&format!(
        "{BASIC}\npve.store_file('local', 'debian-13.iso', 700 * 1024 ** 2)"
    ));
    let run = fake.run(&cmd("vm create --name newvm --memory 4096 --cores 2 --sockets 1 --net0 virtio,bridge=vmbr0 --scsi0 local-lvm:16 --iso local:iso/debian-13.iso --ostype l26 agent=1 tags=lab"));
    let err = quiet_success(&run);
    assert!(err.contains("newvm (101): create task UPID:pve1:"), "{err}");
    assert!(err.contains("newvm (101): create OK"), "{err}");
    assert_eq!(
        seen(&fake)[..4],
        [
            "GET /cluster/resources",
            "GET /cluster/nextid",
            "GET /nodes",
            "POST /nodes/pve1/qemu"
        ]
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu",
            &[
                ("vmid", "101"),
                ("name", "newvm"),
                ("memory", "4096"),
                ("cores", "2"),
                ("sockets", "1"),
                ("net0", "virtio,bridge=vmbr0"),
                ("scsi0", "local-lvm:16"),
                ("ide2", "local:iso/debian-13.iso,media=cdrom"),
                ("ostype", "l26"),
                ("agent", "1"),
                ("tags", "lab"),
            ]
        )]
    );
    assert_eq!(last_task(&fake).0, "qmcreate");
    let g = guest(&fake, 101);
    assert_eq!(g["status"], "stopped");
    let c = &g["config"];
    assert_eq!(c["name"], "newvm");
    assert_eq!(c["scsi0"], "local-lvm:vm-101-disk-0,size=16G");
    assert_eq!(c["ide2"], "local:iso/debian-13.iso,media=cdrom,size=700M");
    assert!(
        c["net0"].as_str().unwrap().starts_with("virtio=BC:24:11:"),
        "{c}"
    );
    assert_eq!(c["boot"], "order=scsi0;ide2;net0");
    assert_eq!(
        (c["agent"].clone(), c["tags"].clone()),
        (json!("1"), json!("lab"))
    );

    // An explicit VMID on a chosen node, started afterwards.
    fake.clear_requests();
    let run = fake.run_password(&cmd(
        "vm create 500 --name x --node pve2 --start memory=512",
    ));
    assert!(quiet_success(&run).contains("x (500): create OK"));
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve2/qemu",
            &[
                ("vmid", "500"),
                ("name", "x"),
                ("start", "1"),
                ("memory", "512")
            ]
        )]
    );
    assert!(!seen(&fake).contains(&"GET /cluster/nextid".to_string()));
    let g = guest(&fake, 500);
    assert_eq!(
        (g["node"].as_str(), g["status"].as_str()),
        (Some("pve2"), Some("running"))
    );
}

#[test]
fn create_refuses_mistakes_before_sending() {
    let fake = Fake::with(BASIC);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["vm", "create", "100", "--name", "dup"],
            2,
            "error: VMID 100 is in use by web1 (100) on pve1: pick another (or leave it out for the next free one)",
        ),
        (
            &["ct", "create", "200", "local:vztmpl/debian.tar.zst"],
            2,
            "error: VMID 200 is in use by db1 (200) on pve1: pick another (or leave it out for the next free one)",
        ),
        (&["vm", "create", "--memory", "1", "memory=2"], 2, "error: 'memory' is given both as a flag and as memory=…"),
        (&["vm", "create", "hostname=x"], 2, "error: unknown key 'hostname' for a VM: it is a container key (`pvectl ct set`); `pvectl vm set --help-keys` lists them"),
    ];
    for (args, code, message) in cases {
        let run = fake.run(args);
        assert_eq!(run.one_error(*code).error_line(), *message, "{args:?}");
    }
    // Flags of the other kind: clap refuses them, the tip says which kind has them.
    fake.run(&["vm", "create", "--hostname", "h"])
        .not_for_this_kind(
            "--hostname",
            "--hostname is an option of `pvectl ct create`; VMs have no such parameter",
        );
    fake.run(&[
        "ct",
        "create",
        "local:vztmpl/d.tar.zst",
        "--iso",
        "local:iso/x.iso",
    ])
    .not_for_this_kind(
        "--iso",
        "--iso is an option of `pvectl vm create`; containers have no such parameter",
    );
    let run = fake.run(&cmd("ct create --hostname x"));
    let err = run.one_error(2).error_line();
    assert!(err.contains("a container needs its OS template"), "{err}");
    assert_eq!(writes(&fake), vec![]);
    assert_eq!(fake.exec("result = len(pve.vms) + len(pve.cts)"), 2);
}

const TEMPLATE: &str = "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst";

#[test]
fn ct_create_with_password_keys_and_start_never_shows_the_password() {
    let fake = Fake::with(&format!(
        "{BASIC}\npve.store_file('local', 'debian-13-standard_13.1-2_amd64.tar.zst', 120 * 1024 ** 2, content='vztmpl')"
    ));
    let secret = "Sup3r-S3cret!pw";
    let pwfile = fake.home.path().join("ct-password");
    std::fs::write(&pwfile, format!("{secret}\n")).unwrap();
    let keys = fake.home.path().join("keys.pub");
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests ops@laptop";
    std::fs::write(&keys, format!("{key}\n")).unwrap();
    let run = fake.run(&[
        "-v",
        "ct",
        "create",
        "250",
        TEMPLATE,
        "--hostname",
        "web-ct",
        "--rootfs",
        "local-lvm:8",
        "--memory",
        "1024",
        "--swap",
        "256",
        "--cores",
        "2",
        "--net0",
        "name=eth0,bridge=vmbr0,ip=dhcp",
        "--unprivileged",
        "--password-file",
        pwfile.to_str().unwrap(),
        "--ssh-public-keys",
        keys.to_str().unwrap(),
        "--start",
        "mp0=local-lvm:2,mp=/data",
        "onboot=1",
    ]);
    run.success();
    assert_eq!(run.stdout, "");
    assert!(
        !run.stdout.contains(secret) && !run.stderr.contains(secret),
        "the password leaked:\n{}",
        run.stderr
    );
    run.stderr_has("http: POST /nodes/pve1/lxc 200")
        .stderr_has("web-ct (250): create task UPID:pve1:")
        .stderr_has("web-ct (250): create OK");
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/lxc",
            &[
                ("vmid", "250"),
                ("ostemplate", TEMPLATE),
                ("hostname", "web-ct"),
                ("memory", "1024"),
                ("cores", "2"),
                ("swap", "256"),
                ("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
                ("rootfs", "local-lvm:8"),
                ("password", secret),
                ("ssh-public-keys", &format!("{key}\n")),
                ("unprivileged", "1"),
                ("start", "1"),
                ("mp0", "local-lvm:2,mp=/data"),
                ("onboot", "1"),
            ]
        )]
    );
    let (kind, id, _, status) = last_task(&fake);
    assert_eq!(
        (kind.as_str(), id.as_str(), status.as_str()),
        ("vzcreate", "250", "OK")
    );
    let g = guest(&fake, 250);
    assert_eq!(g["status"], "running", "--start");
    let c = &g["config"];
    assert_eq!(c["hostname"], "web-ct");
    assert_eq!(c["rootfs"], "local-lvm:vm-250-disk-0,size=8G");
    assert_eq!(c["mp0"], "local-lvm:vm-250-disk-1,mp=/data,size=2G");
    assert_eq!(c["memory"], 1024);
    assert_eq!(c["unprivileged"], 1);
    assert_eq!(c["ostype"], "debian");
    assert!(
        c["net0"].as_str().unwrap().contains("hwaddr=BC:24:11:"),
        "{c}"
    );
    assert!(
        !c.to_string().contains(secret),
        "the password is not config"
    );

    // The next free VMID, a default storage, with a password login.
    fake.clear_requests();
    let run = fake.run_password(&[
        "ct",
        "create",
        TEMPLATE,
        "--hostname",
        "small",
        "--storage",
        "local-lvm",
    ]);
    assert!(quiet_success(&run).contains("small (101): create OK"));
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/lxc",
            &[
                ("vmid", "101"),
                ("ostemplate", TEMPLATE),
                ("hostname", "small"),
                ("storage", "local-lvm")
            ]
        )]
    );
    assert_eq!(
        config(&fake, 101)["rootfs"],
        "local-lvm:vm-101-disk-0,size=4G"
    );

    // A missing password file: a usage error naming it, nothing sent.
    fake.clear_requests();
    let run = fake.run(&[
        "ct",
        "create",
        TEMPLATE,
        "--password-file",
        "/nonexistent/pw",
    ]);
    let err = run.one_error(2).error_line();
    assert!(
        err.contains("--password-file: cannot read /nonexistent/pw"),
        "{err}"
    );
    assert_eq!(writes(&fake), vec![]);
}

#[test]
fn ct_create_failure_inside_the_task() {
    let fake = Fake::with(&format!(
        "{BASIC}\npve.store_file('local', 'debian-13-standard_13.1-2_amd64.tar.zst', 1024, content='vztmpl')"
    ));
    let run = fake.run(&cmd(
        "ct create 260 local:vztmpl/nosuch.tar.zst --hostname x --storage local-lvm",
    ));
    run.failure(8);
    assert_eq!(run.stdout, "");
    run.stderr_has("x (260): create failed: unable to create CT 260 - volume 'local:vztmpl/nosuch.tar.zst' does not exist");
    assert!(guest(&fake, 260).is_null(), "PVE removes what it started");
}

// ------------------------------------------------------------------------------------- delete

#[test]
fn delete_a_running_guest_needs_stop() {
    let fake = Fake::with(&format!(
        "{BASIC}\npve.vm(100).status = 'running'\npve.ct(200).status = 'running'"
    ));
    for args in [
        &["vm", "delete", "100"][..],
        &["vm", "delete", "web1", "--yes"],
    ] {
        let run = fake.run(args);
        assert_eq!(
            run.one_error(6).error_line(),
            "error: web1 (100) is running: nothing was deleted; stop it first, or add --stop"
        );
    }
    assert_eq!(
        seen(&fake),
        vec!["GET /cluster/resources", "GET /cluster/resources"]
    );
    assert_eq!(guest(&fake, 100)["status"], "running");

    // --stop without --yes and no terminal: still asks, nothing done.
    let run = fake.run(&cmd("vm delete 100 --stop"));
    assert_eq!(
        run.one_error(2).error_line(),
        "error: delete 1 VM and its disks: needs confirmation, add --yes (there is no terminal to ask on); nothing was done"
    );
    assert_eq!(writes(&fake), vec![]);

    // --stop --yes: stopped, then deleted.
    fake.clear_requests();
    let run = fake.run(&cmd("vm delete 100 --stop --yes"));
    let err = quiet_success(&run);
    assert!(err.contains("web1 (100): stop task UPID:pve1:"), "{err}");
    assert!(err.contains("web1 (100): stop OK\n"), "{err}");
    assert!(err.contains("web1 (100): delete OK"), "{err}");
    assert!(
        err.find("stop OK").unwrap() < err.find("delete task").unwrap(),
        "stopped, then deleted: {err}"
    );
    assert_eq!(
        writes(&fake),
        vec![
            req("POST", "/nodes/pve1/qemu/100/status/stop", &[]),
            req("DELETE", "/nodes/pve1/qemu/100", &[]),
        ]
    );
    assert_eq!(
        task_types(&fake)
            .iter()
            .rev()
            .take(2)
            .cloned()
            .collect::<Vec<_>>(),
        vec!["qmdestroy", "qmstop"]
    );
    assert!(guest(&fake, 100).is_null(), "the VM is gone");
    let volumes = fake.exec("result = sorted(pve._volumes('local-lvm'))");
    assert!(
        !volumes
            .as_array()
            .unwrap()
            .contains(&json!("vm-100-disk-0")),
        "its disk too: {volumes}"
    );

    fake.clear_requests();
    let run = fake.run_password(&cmd("ct delete db1 --stop -y"));
    assert!(quiet_success(&run).contains("db1 (200): delete OK"));
    assert_eq!(
        writes(&fake),
        vec![
            req("POST", "/nodes/pve1/lxc/200/status/stop", &[]),
            req("DELETE", "/nodes/pve1/lxc/200", &[]),
        ]
    );
    assert!(guest(&fake, 200).is_null());
}

#[test]
fn delete_no_wait_prints_the_upid_and_waits_only_for_the_stop() {
    let fake = Fake::with(&format!("{BASIC}\npve.vm(100).status = 'running'"));
    let run = fake.run(&cmd("vm delete 100 --stop --yes --no-wait"));
    run.success();
    // The stop is waited for (a running guest cannot be deleted), the delete is not.
    assert!(
        run.stdout.starts_with("UPID:pve1:") && run.stdout.contains(":qmdestroy:100:"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let polled: Vec<String> = seen(&fake)
        .into_iter()
        .filter(|l| l.contains("/tasks/"))
        .collect();
    assert!(
        !polled.is_empty() && polled.iter().all(|l| l.contains(":qmstop:")),
        "{polled:?}"
    );
    assert_eq!(
        writes(&fake),
        vec![
            req("POST", "/nodes/pve1/qemu/100/status/stop", &[]),
            req("DELETE", "/nodes/pve1/qemu/100", &[]),
        ]
    );
}

#[test]
fn delete_without_yes_off_a_terminal_changes_nothing() {
    let fake = Fake::with(BASIC);
    let run = fake.run(&cmd("vm delete 100"));
    assert_eq!(
        run.one_error(2).error_line(),
        "error: delete 1 VM and its disks: needs confirmation, add --yes (there is no terminal to ask on); nothing was done"
    );
    let run = fake.run(&cmd("ct delete 200 --purge"));
    assert_eq!(
        run.one_error(2).error_line(),
        "error: delete 1 container and its disks: needs confirmation, add --yes (there is no terminal to ask on); nothing was done"
    );
    assert_eq!(writes(&fake), vec![]);
    assert!(!guest(&fake, 100).is_null() && !guest(&fake, 200).is_null());

    // A glob is never a delete target.
    let run = fake.run(&cmd("vm delete web* --yes"));
    assert_eq!(
        run.one_error(2).error_line(),
        "error: 'web*' is a glob: delete takes VMIDs or names, so that nothing is deleted by accident"
    );
    let run = fake.run(&cmd("vm delete 999 --yes"));
    run.one_error(5);
    assert_eq!(writes(&fake), vec![]);
}

#[test]
fn delete_with_purge_and_several_guests() {
    let fake = Fake::with(&format!(
        "{BASIC}\npve.add_vm(101, 'web2')\npve.add_vm(102, 'locked-in', config={{'protection': 1}})"
    ));
    let run = fake.run(&cmd(
        "vm delete web2 100 --yes --purge --destroy-unreferenced-disks",
    ));
    let err = quiet_success(&run);
    assert!(
        err.contains("web2 (101): delete OK") && err.contains("web1 (100): delete OK"),
        "{err}"
    );
    assert_eq!(
        writes(&fake),
        vec![
            req(
                "DELETE",
                "/nodes/pve1/qemu/101",
                &[("purge", "1"), ("destroy-unreferenced-disks", "1")]
            ),
            req(
                "DELETE",
                "/nodes/pve1/qemu/100",
                &[("purge", "1"), ("destroy-unreferenced-disks", "1")]
            ),
        ]
    );
    assert!(guest(&fake, 100).is_null() && guest(&fake, 101).is_null());

    // Protected: PVE's message, exit 6, still there.
    fake.clear_requests();
    let run = fake.run(&cmd("vm delete 102 --yes"));
    run.failure(6);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "locked-in (102): delete failed: can't remove VM 102 - protection mode enabled\n"
    );
    assert_eq!(
        writes(&fake),
        vec![req("DELETE", "/nodes/pve1/qemu/102", &[])]
    );
    assert!(!guest(&fake, 102).is_null());

    fake.exec("pve.ct(200).config['protection'] = 1");
    let run = fake.run(&cmd("ct delete 200 --yes --purge"));
    run.failure(6);
    run.stderr_has("db1 (200): delete failed: can't remove CT 200 - protection mode enabled");
    assert!(!guest(&fake, 200).is_null());
}

// ----------------------------------------------------------------------------------- template

#[test]
fn template_refuses_a_running_guest_and_converts_a_stopped_one() {
    let fake = Fake::with(&format!("{BASIC}\npve.vm(100).status = 'running'"));
    let run = fake.run(&cmd("vm template web1"));
    assert_eq!(
        run.one_error(6).error_line(),
        "error: web1 (100) is running: shut it down first (a running guest cannot become a template)"
    );
    assert_eq!(writes(&fake), vec![]);
    assert_eq!(guest(&fake, 100)["template"], false);

    fake.exec("pve.vm(100).status = 'stopped'");
    fake.clear_requests();
    // Irreversible: without a terminal to ask on, only with --yes.
    let run = fake.run(&cmd("vm template 100"));
    assert_eq!(
        run.one_error(2).error_line(),
        "error: convert VM 100 (web1) into a template (it cannot be started or changed back): needs confirmation, add --yes (there is no terminal to ask on); nothing was done"
    );
    assert_eq!(run.stdout, "");
    assert_eq!(writes(&fake), vec![]);
    assert_eq!(guest(&fake, 100)["template"], false);
    let run = fake.run(&cmd("vm template 100 --yes"));
    let err = quiet_success(&run);
    assert!(err.contains("web1 (100): template OK"), "{err}");
    assert_eq!(
        writes(&fake),
        vec![req("POST", "/nodes/pve1/qemu/100/template", &[])]
    );
    assert_eq!(last_task(&fake).0, "qmtemplate");
    let g = guest(&fake, 100);
    assert_eq!(g["template"], true);
    assert_eq!(g["config"]["template"], 1);
    assert_eq!(g["config"]["scsi0"], "local-lvm:base-100-disk-0,size=32G");

    // Again: refused before asking, nothing sent.
    fake.clear_requests();
    let run = fake.run(&cmd("vm template 100"));
    assert_eq!(
        run.one_error(6).error_line(),
        "error: web1 (100) is a template already"
    );
    assert_eq!(writes(&fake), vec![]);
    // Told the node, pvectl does not look the guest up: PVE's own refusal.
    let run = fake.run(&cmd("vm template 100 --node pve1 -y"));
    assert_eq!(
        run.one_error(6).error_line(),
        "error: you can't convert a template to a template"
    );

    fake.clear_requests();
    let run = fake.run(&cmd("ct template db1"));
    assert!(run
        .one_error(2)
        .error_line()
        .starts_with("error: convert container 200 (db1) into a template (it cannot be started or changed back): needs confirmation, add --yes"));
    assert_eq!(writes(&fake), vec![]);
    let run = fake.run_password(&cmd("ct template db1 --yes"));
    assert!(quiet_success(&run).contains("db1 (200): template OK"));
    assert_eq!(
        writes(&fake),
        vec![req("POST", "/nodes/pve1/lxc/200/template", &[])]
    );
    let g = guest(&fake, 200);
    assert_eq!(g["config"]["template"], 1);
    assert_eq!(g["config"]["rootfs"], "local-lvm:base-200-disk-0,size=8G");
}

#[test]
fn template_of_a_guest_with_snapshots_is_refused_by_pve() {
    let fake = Fake::with(BASIC);
    fake.run(&cmd("ct snapshot create 200 s1")).success();
    let run = fake.run(&cmd("ct template 200 --yes"));
    assert_eq!(
        run.one_error(6).error_line(),
        "error: unable to create template, because CT contains snapshots"
    );
    assert_eq!(guest(&fake, 200)["template"], false);
}

/// fakepve answers a container's template request with the task's UPID; PVE answers null and
/// leaves the `vztemplate` task to be found. Make the fake answer as PVE does (and, with
/// `fail`, make the task fail as a storage without base volumes would).
fn template_answers_null(fake: &Fake, fail: Option<&str>) {
    let fail = fail
        .map(|m| format!("{m:?}"))
        .unwrap_or_else(|| "None".into());
    fake.exec(&format!(
        "from fakepve.model import TaskError\n\
         async def _ct_task(ct, ttype, user, body, _orig=pve._ct_task, **kw):\n    \
             if ttype != 'vztemplate':\n        return await _orig(ct, ttype, user, body, **kw)\n    \
             why = {fail}\n    \
             async def failing():\n        raise TaskError(why)\n    \
             await _orig(ct, ttype, user, failing if why else body, **kw)\n    \
             return None\n\
         pve._ct_task = _ct_task"
    ));
}

#[test]
fn ct_template_waits_for_the_task_pve_does_not_name() {
    let fake = Fake::with(BASIC);
    fake.run(&cmd("ct snapshot create 200 s1")).success();
    fake.run(&cmd("ct snapshot delete 200 s1 --yes")).success();
    template_answers_null(&fake, None);
    fake.clear_requests();
    let run = fake.run(&cmd("ct template 200 --yes"));
    let err = quiet_success(&run);
    let upid = last_upid(&fake);
    assert!(upid.contains(":vztemplate:200:"), "{upid}");
    assert!(
        err.contains(&format!("db1 (200): template task {upid} started")),
        "{err}"
    );
    assert!(err.contains("db1 (200): template OK"), "{err}");
    let s = sent(&fake);
    assert_eq!(
        s[2],
        req(
            "GET",
            "/nodes/pve1/tasks",
            &[
                ("vmid", "200"),
                ("typefilter", "vztemplate"),
                ("source", "all"),
                ("limit", "10")
            ]
        )
    );
    assert_eq!(s[3].path, format!("/nodes/pve1/tasks/{upid}/status"));
    assert_eq!(config(&fake, 200)["template"], 1);
}

#[test]
fn ct_template_task_that_fails_fails_the_command() {
    let fake = Fake::with(BASIC);
    template_answers_null(
        &fake,
        Some("Directory storage 'local' does not support container templates!"),
    );
    let run = fake.run(&cmd("ct template 200 --yes"));
    run.failure(8);
    assert_eq!(run.stdout, "");
    run.stderr_has("db1 (200): template failed: Directory storage 'local' does not support container templates!");
    assert_eq!(guest(&fake, 200)["template"], false);
}
