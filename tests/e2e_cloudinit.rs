//! End-to-end: cloud-init (`vm cloudinit set|show|regenerate`) and the one-command VM from a
//! cloud image (`vm create --image`) against fakepve.
//!
//! fakepve validates the cloud-init keys against PVE's schema (`sshkeys` must be URL-encoded,
//! `ipconfigN` well-formed) but only synthesises `cloudinit/dump` (the text "fake") and the
//! regenerate call: those tests check the request pvectl sent and that PVE's answer reaches
//! stdout as it is. `emulate_disks` and `emulate_images` give the import of the image, the
//! cloud-init drive, the disk resize and the download PVE's behaviour.

mod common;

use common::helpers::{cmd, guest, req, seen, sent, task_types, writes};
use common::{Fake, Run};
use serde_json::Value;

// ------------------------------------------------------------------------------------ helpers

const KEYS: &str = "# laptop\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG+x/y7Q= me@laptop\n\nssh-rsa AAAAB3NzaC1yc2E= backup key\n";
/// KEYS without the comment and blank lines, URL-encoded as PVE wants `sshkeys`.
const KEYS_ENCODED: &str = "ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIG%2Bx%2Fy7Q%3D%20me%40laptop%0Assh-rsa%20AAAAB3NzaC1yc2E%3D%20backup%20key";

const SETUP: &str = "\
emulate_disks(pve)
emulate_images(pve)
pve.storages['local']['content'] = 'iso,vztmpl,backup,import'
pve.store_file('local', 'debian-13-genericcloud-amd64.qcow2', 3 << 30, content='import')
pve.store_file('local', 'debian.iso', 1000)
pve.add_vm(100, 'web1', config={'memory': 2048, 'scsi0': 'local-lvm:vm-100-disk-0,size=8G',
                                'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0'})
pve.add_vm(101, 'ci', config={'scsi0': 'local-lvm:vm-101-disk-0,size=8G',
                              'ide2': 'local-lvm:vm-101-cloudinit,media=cdrom', 'ipconfig0': 'ip=dhcp,ip6=auto'})
";

fn fake() -> Fake {
    let fake = Fake::with(SETUP);
    fake.clear_requests();
    fake
}

fn config(fake: &Fake, vmid: u32) -> Value {
    guest(fake, vmid)["config"].clone()
}

fn keys_file(fake: &Fake, text: &str) -> String {
    let p = fake.home.path().join("id_ed25519.pub");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn param<'a>(r: &'a common::helpers::Req, key: &str) -> Option<&'a str> {
    r.params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
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

// ------------------------------------------------------------------------------ cloudinit set

#[test]
fn set_writes_the_keys_encodes_sshkeys_and_adds_a_drive() {
    let fake = fake();
    let keys = keys_file(&fake, KEYS);
    let digest = fake.exec("result = pve.guest(100).digest()");
    let run = fake.run(&[
        "vm",
        "cloudinit",
        "set",
        "web1",
        "--ciuser",
        "debian",
        "--ssh-keys-file",
        &keys,
        "--ip0",
        "10.0.0.5/24,gw=10.0.0.1",
        "--dns",
        "192.0.2.53",
        "--search",
        "example.org",
    ]);
    run.success().stdout_empty();
    run.stderr_has("web1 (100): cloudinit set ciuser, sshkeys, nameserver, searchdomain, ipconfig0=ip=10.0.0.5/24,gw=10.0.0.1, cloud-init drive ide2 on local-lvm (OK)");
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/qemu/100/config",
            &[
                ("ciuser", "debian"),
                ("sshkeys", KEYS_ENCODED),
                ("nameserver", "192.0.2.53"),
                ("searchdomain", "example.org"),
                ("ipconfig0", "ip=10.0.0.5/24,gw=10.0.0.1"),
                ("ide2", "local-lvm:cloudinit"),
                ("digest", digest.as_str().unwrap()),
            ]
        )]
    );
    // PVE took them (its schema refuses sshkeys that are not URL-encoded).
    let cfg = config(&fake, 100);
    assert_eq!(cfg["sshkeys"], KEYS_ENCODED);
    assert_eq!(cfg["ipconfig0"], "ip=10.0.0.5/24,gw=10.0.0.1");
    assert_eq!(cfg["ide2"], "local-lvm:vm-100-cloudinit,media=cdrom");
    assert_eq!(task_types(&fake), vec!["qmconfig"]);
    let v = fake.run(&cmd("-o json vm disk list web1")).json();
    assert_eq!(v[0]["media"], "cloudinit");
}

#[test]
fn set_merges_the_address_kept_and_adds_no_second_drive() {
    let fake = fake();
    fake.run(&cmd(
        "vm cloudinit set ci --ip6-0 2001:db8::5/64,gw6=2001:db8::1",
    ))
    .success();
    let w = &writes(&fake)[0];
    assert_eq!(
        param(w, "ipconfig0"),
        Some("ip=dhcp,ip6=2001:db8::5/64,gw6=2001:db8::1")
    );
    assert!(
        w.params
            .iter()
            .all(|(k, _)| !k.starts_with("ide") && !k.starts_with("sata")),
        "{w:?}"
    );
    assert_eq!(
        config(&fake, 101)["ipconfig0"],
        "ip=dhcp,ip6=2001:db8::5/64,gw6=2001:db8::1"
    );
}

#[test]
fn the_password_goes_to_pve_and_nowhere_else() {
    let fake = fake();
    let pw = fake.home.path().join("pw");
    std::fs::write(&pw, "Sup3r-s3cret!\n").unwrap();
    let run = fake.run(&[
        "-v",
        "vm",
        "cloudinit",
        "set",
        "ci",
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    run.success().hides("Sup3r-s3cret!");
    let w = &writes(&fake)[0];
    assert_eq!(param(w, "cipassword"), Some("Sup3r-s3cret!"));
}

#[test]
fn set_bad_input_sends_nothing() {
    let fake = fake();
    let private = keys_file(
        &fake,
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    fails_sending_nothing(
        &fake,
        &[
            "vm",
            "cloudinit",
            "set",
            "web1",
            "--ssh-keys-file",
            &private,
        ],
        2,
        "this is a private key: give the public one (the .pub file)",
    );
    let junk = keys_file(&fake, "hello\n");
    fails_sending_nothing(
        &fake,
        &["vm", "cloudinit", "set", "web1", "--ssh-keys-file", &junk],
        2,
        "line 1 is no SSH public key",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm cloudinit set web1 --ssh-keys-file /nonexistent/key.pub"),
        2,
        "--ssh-keys-file: cannot read /nonexistent/key.pub",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm cloudinit set web1 --ip0 10.0.0.5"),
        2,
        "--ip0: '10.0.0.5' is neither dhcp nor an address with a prefix length",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm cloudinit set web1 --ip0 dhcp,gw=10.0.0.1"),
        2,
        "dhcp takes no gateway",
    );
    fails_sending_nothing(&fake, &cmd("vm cloudinit set web1"), 2, "nothing to set");
    fails_sending_nothing(
        &fake,
        &cmd("vm cloudinit set web1 --ciuser x --storage local"),
        2,
        "storage 'local' does not hold VM disks",
    );
    fails_sending_nothing(
        &fake,
        &cmd("vm cloudinit set nope --ciuser x"),
        5,
        "no VM named 'nope'",
    );
}

// ------------------------------------------------------------------------- show, regenerate

#[test]
fn show_prints_what_pve_generates() {
    let fake = fake();
    // fakepve synthesises the document ("fake"): the request and the passing-through are tested.
    let run = fake.run(&cmd("vm cloudinit show ci"));
    run.success();
    assert_eq!(run.stdout, "fake\n");
    let r = sent(&fake).pop().unwrap();
    assert_eq!(
        r,
        req(
            "GET",
            "/nodes/pve1/qemu/101/cloudinit/dump",
            &[("type", "user")]
        )
    );
    fake.run(&cmd("vm cloudinit show ci network")).success();
    assert_eq!(param(&sent(&fake).pop().unwrap(), "type"), Some("network"));
    let v = fake.run(&cmd("-o json vm cloudinit show ci meta")).json();
    assert_eq!(v["type"], "meta");
    assert_eq!(v["content"], "fake");
    assert_eq!(v["vmid"], 101);
    let run = fake.run(&cmd("vm cloudinit show ci vendor"));
    run.failure(2);
}

#[test]
fn regenerate_puts_cloudinit() {
    let fake = fake();
    let run = fake.run(&cmd("vm cloudinit regenerate ci"));
    run.success()
        .stderr_has("ci (101): cloudinit regenerate OK");
    assert_eq!(
        writes(&fake),
        vec![req("PUT", "/nodes/pve1/qemu/101/cloudinit", &[])]
    );
}

// ------------------------------------------------------------------------ vm create --image

/// The guest agent of VM `vmid` answers once the VM runs (as a booting guest's would, a moment
/// after the start).
fn agent_comes_up(fake: &Fake, vmid: u32) {
    fake.exec(&format!(
        "async def agent():\n\
         \x20   for _ in range(2000):\n\
         \x20       vm = pve.vm({vmid})\n\
         \x20       if vm is not None and vm.status == 'running':\n\
         \x20           await asyncio.sleep(0.4)\n\
         \x20           vm.agent = {{}}\n\
         \x20           return\n\
         \x20       await asyncio.sleep(0.01)\n\
         asyncio.ensure_future(agent())"
    ));
}

#[test]
fn create_from_an_image_volume_boots_ready_and_prints_its_address() {
    let fake = fake();
    let keys = keys_file(&fake, KEYS);
    agent_comes_up(&fake, 102);
    let run = fake.run(&[
        "vm",
        "create",
        "--name",
        "web-4",
        "--image",
        "local:import/debian-13-genericcloud-amd64.qcow2",
        "--storage",
        "local-lvm",
        "--disk-size",
        "20G",
        "--memory",
        "2048",
        "--cores",
        "2",
        "--ssh-keys-file",
        &keys,
        "--ip0",
        "dhcp",
        "--wait-ip",
    ]);
    run.success();
    assert_eq!(
        run.stdout, "192.0.2.10\n",
        "the address, and only it, on stdout"
    );
    run.stderr_has("web-4 (102): image local:import/debian-13-genericcloud-amd64.qcow2 (3 GiB) on pve1")
        .stderr_has("web-4 (102): create boot disk scsi0 from local:import/debian-13-genericcloud-amd64.qcow2, cloud-init drive ide2, serial console, guest agent (OK)")
        .stderr_has("web-4 (102): resize scsi0: 3 GiB → 20 GiB (OK)")
        .stderr_has("web-4 (102): start OK")
        .stderr_has("web-4 (102): wait-ip 192.0.2.10");
    let w = writes(&fake);
    let lines: Vec<String> = w.iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [
            "POST /nodes/pve1/qemu",
            "PUT /nodes/pve1/qemu/102/resize",
            "POST /nodes/pve1/qemu/102/status/start"
        ]
    );
    let create = &w[0];
    for (k, v) in [
        ("vmid", "102"),
        ("name", "web-4"),
        ("memory", "2048"),
        ("cores", "2"),
        ("ide2", "local-lvm:cloudinit"),
        ("sshkeys", KEYS_ENCODED),
        ("ipconfig0", "ip=dhcp"),
        ("ostype", "l26"),
        ("net0", "virtio,bridge=vmbr0"),
        ("scsihw", "virtio-scsi-single"),
        ("boot", "order=scsi0"),
        ("serial0", "socket"),
        ("vga", "serial0"),
        ("agent", "enabled=1"),
        (
            "scsi0",
            "local-lvm:0,import-from=local:import/debian-13-genericcloud-amd64.qcow2",
        ),
    ] {
        assert_eq!(param(create, k), Some(v), "{k} in {create:?}");
    }
    assert!(
        param(create, "start").is_none(),
        "started only after the resize"
    );
    assert_eq!(param(&w[1], "disk"), Some("scsi0"));
    assert_eq!(param(&w[1], "size"), Some("20G"));
    let g = guest(&fake, 102);
    assert_eq!(g["status"], "running");
    assert_eq!(g["config"]["scsi0"], "local-lvm:vm-102-disk-0,size=20G");
    assert_eq!(
        g["config"]["ide2"],
        "local-lvm:vm-102-cloudinit,media=cdrom"
    );
    // The agent was asked until it answered.
    assert!(seen(&fake)
        .iter()
        .any(|l| l == "GET /nodes/pve1/qemu/102/agent/network-get-interfaces"));
}

#[test]
fn create_as_json_reports_every_step() {
    let fake = fake();
    agent_comes_up(&fake, 150);
    let run = fake.run(&cmd(
        "-o json vm create 150 --name web-5 --image local:import/debian-13-genericcloud-amd64.qcow2 --storage local-lvm --wait-ip",
    ));
    run.success();
    let v = run.json();
    let actions: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "start", "wait-ip"]);
    assert_eq!(v[0]["vmid"], 150);
    assert_eq!(v[2]["message"], "192.0.2.10");
    assert!(v.as_array().unwrap().iter().all(|r| r["ok"] == true));
}

#[test]
fn create_from_a_url_downloads_the_image_first() {
    let fake = fake();
    let url = "https://cloud.example/trixie/debian-13-genericcloud-arm64.qcow2";
    fake.exec(&format!("pve.urls['{url}'] = {{'size': 400 << 20}}"));
    let run = fake.run(&[
        "vm",
        "create",
        "--name",
        "web-6",
        "--image",
        url,
        "--storage",
        "local-lvm",
    ]);
    run.success().stdout_empty();
    run.stderr_has("local:import/debian-13-genericcloud-arm64.qcow2: download OK");
    let w = writes(&fake);
    assert_eq!(w[0].line(), "POST /nodes/pve1/storage/local/download-url");
    assert_eq!(param(&w[0], "content"), Some("import"));
    assert_eq!(
        param(&w[1], "scsi0"),
        Some("local-lvm:0,import-from=local:import/debian-13-genericcloud-arm64.qcow2")
    );
    assert_eq!(w.len(), 2, "not started without --start");
    assert_eq!(guest(&fake, 102)["status"], "stopped");
    // A second VM from the same URL finds the image there.
    let run = fake.run(&[
        "vm",
        "create",
        "--name",
        "web-7",
        "--image",
        url,
        "--storage",
        "local-lvm",
    ]);
    run.success()
        .stderr_has("local:import/debian-13-genericcloud-arm64.qcow2: already present");
    assert_eq!(writes(&fake).len(), 3);
}

#[test]
fn a_failed_download_creates_nothing() {
    let fake = fake();
    let url = "https://cloud.example/gone.qcow2";
    fake.exec(&format!(
        "pve.urls['{url}'] = {{'status': '404 Not Found'}}"
    ));
    let run = fake.run(&[
        "vm",
        "create",
        "--name",
        "x",
        "--image",
        url,
        "--storage",
        "local-lvm",
    ]);
    run.failure(8);
    run.stderr_has("local:import/gone.qcow2: download failed: wget: server returned error")
        .stderr_has("what exists now:\n  no VM was created");
    assert_eq!(writes(&fake).len(), 1);
    assert!(guest(&fake, 102).is_null());
}

#[test]
fn a_failure_half_way_says_what_exists_and_removes_nothing() {
    let fake = fake();
    fake.exec("pve.fail('PUT', '/nodes/{node}/qemu/{vmid}/resize', status=500, message='storage is full')");
    let run = fake.run(&cmd(
        "vm create --name web-8 --image local:import/debian-13-genericcloud-amd64.qcow2 --storage local-lvm --disk-size 20G --start",
    ));
    run.failure(6);
    run.stderr_has("web-8 (102): resize failed: storage is full")
        .stderr_has("what exists now:\n  VM web-8 (102) exists on pve1 (stopped)\n  its boot disk has the image's size: `pvectl vm disk resize 102 scsi0 20G` grows it\n  it was not started: `pvectl vm start 102`\n  nothing was removed; `pvectl vm delete 102 --yes` removes the VM");
    let lines: Vec<String> = writes(&fake).iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        ["POST /nodes/pve1/qemu", "PUT /nodes/pve1/qemu/102/resize"]
    );
    let g = guest(&fake, 102);
    assert_eq!(g["status"], "stopped");
    assert_eq!(g["config"]["scsi0"], "local-lvm:vm-102-disk-0,size=3G");
}

#[test]
fn waiting_for_an_address_gives_up_at_the_wait_timeout() {
    let fake = fake();
    let run = fake.run(&cmd(
        "vm create --name quiet --image local:import/debian-13-genericcloud-amd64.qcow2 --storage local-lvm --wait-ip --wait-timeout 2s",
    ));
    run.failure(9).stdout_empty();
    run.stderr_has("quiet (102): wait-ip failed: gave up waiting after 2s: quiet (102): its guest agent is not running (not installed, or not started yet)")
        .stderr_has("VM quiet (102) exists on pve1 (running)");
    assert_eq!(guest(&fake, 102)["status"], "running");
}

#[test]
fn create_image_bad_input_creates_nothing() {
    let fake = fake();
    let keys = keys_file(&fake, "not a key\n");
    let img = "local:import/debian-13-genericcloud-amd64.qcow2";
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["vm", "create", "--image", img],
            2,
            "--image needs --storage",
        ),
        (
            vec![
                "vm",
                "create",
                "--image",
                "local:import/none.qcow2",
                "--storage",
                "local-lvm",
            ],
            5,
            "no volume local:import/none.qcow2 on pve1",
        ),
        (
            vec![
                "vm",
                "create",
                "--image",
                "local:iso/debian.iso",
                "--storage",
                "local-lvm",
            ],
            2,
            "is an ISO image",
        ),
        (
            vec![
                "vm",
                "create",
                "--image",
                "https://x.example/d.iso",
                "--storage",
                "local-lvm",
            ],
            2,
            "an ISO is an installer, not a cloud image",
        ),
        (
            vec![
                "vm",
                "create",
                "--image",
                "debian.qcow2",
                "--storage",
                "local-lvm",
            ],
            2,
            "is neither a volume",
        ),
        (
            vec!["vm", "create", "--image", img, "--storage", "local"],
            2,
            "storage 'local' does not hold VM disks",
        ),
        (
            vec![
                "vm",
                "create",
                "--image",
                img,
                "--storage",
                "local-lvm",
                "--disk-size",
                "+5G",
            ],
            2,
            "--disk-size +5G: give the size the disk should have",
        ),
        (
            vec![
                "vm",
                "create",
                "--image",
                img,
                "--storage",
                "local-lvm",
                "--ssh-keys-file",
                &keys,
            ],
            2,
            "line 1 is no SSH public key",
        ),
        (
            vec![
                "vm",
                "create",
                "100",
                "--image",
                img,
                "--storage",
                "local-lvm",
            ],
            2,
            "VMID 100 is in use by web1 (100)",
        ),
        (
            vec![
                "vm",
                "create",
                "--image",
                img,
                "--storage",
                "local-lvm",
                "scsi0=local-lvm:4",
            ],
            2,
            "--image makes scsi0",
        ),
        (
            vec![
                "vm",
                "create",
                "--image",
                img,
                "--storage",
                "local-lvm",
                "--no-wait",
            ],
            2,
            "--no-wait does not go with --image",
        ),
        (
            vec!["vm", "create", "--name", "plain", "--ssh-keys-file", &keys],
            2,
            "the cloud-init flags of `vm create` go with --image",
        ),
    ];
    for (args, code, text) in cases {
        let run = fake.run(&args);
        run.one_error(code);
        assert!(
            run.error_line().contains(text),
            "{args:?}: {}",
            run.error_line()
        );
    }
    assert!(writes(&fake).is_empty());
    let run = fake.run(&cmd("vm create --name x --wait-ip"));
    run.failure(2).stderr_has("--image");
}

#[test]
fn ctrl_c_half_way_says_what_exists_and_what_keeps_running() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let fake = Fake::with_time_scale(0.05);
    fake.exec(SETUP);
    // The VM it creates takes 100 PVE seconds (5 s) to start.
    fake.exec(
        "create = pve._qm_create\n\
         async def slow_to_start(values, user):\n\
         \x20   upid = await create(values, user)\n\
         \x20   pve.vm(int(values['vmid'])).start_secs = 100\n\
         \x20   return upid\n\
         pve._qm_create = slow_to_start",
    );
    let mut child = fake
        .cmd()
        .args(cmd(
            "vm create --name web --image local:import/debian-13-genericcloud-amd64.qcow2 --storage local-lvm --start",
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "stderr ended:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("web (102): start task UPID:") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "pvectl did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    stderr.read_to_string(&mut seen).unwrap();
    assert_eq!(code, 130, "{seen}");
    assert!(
        seen.contains("keeps running on the server; follow it with `pvectl tasks wait UPID:pve1:"),
        "{seen}"
    );
    assert!(
        seen.contains("what exists now:\n  the start task keeps running on pve1 (named above)\n  VM web (102) exists on pve1 (stopped)\n  nothing was removed"),
        "{seen}"
    );
    assert!(!guest(&fake, 102).is_null(), "nothing was removed");
}

#[test]
fn with_a_static_address_wait_ip_gives_it_as_vm_ip_does() {
    let fake = fake();
    // No guest agent answers: the address is the static one of the cloud-init configuration.
    let run = fake.run(&cmd(
        "vm create --name static --image local:import/debian-13-genericcloud-amd64.qcow2 --storage local-lvm --ip0 10.0.0.5/24,gw=10.0.0.1 --wait-ip",
    ));
    run.success();
    assert_eq!(run.stdout, "10.0.0.5\n");
    run.stderr_has("the address is the static one of its configuration (ipconfig0)");
    assert_eq!(
        guest(&fake, 102)["config"]["ipconfig0"],
        "ip=10.0.0.5/24,gw=10.0.0.1"
    );
}
