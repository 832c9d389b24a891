//! End-to-end: inside the guest — addresses (`ip`), commands (`vm exec`, `ct exec` over SSH),
//! files (`vm file get|put`) and `ssh` — against fakepve, with PVE's agent behaviour emulated
//! (`emulate_agent`: PVE's reasons when the agent cannot be asked, byte-exact files). Every test
//! checks stdout, stderr, the exit code, and what reached the server (the requests, what the
//! agent was asked, the files it holds). `ssh` is a stand-in script on PATH that records its
//! arguments.

mod common;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::helpers::seen;
use common::{Fake, Run};
use serde_json::{json, Value};

/// A running VM `web-1` (100) with the agent enabled and answering: PVE's agent behaviour, and
/// net0's MAC the one of the agent's default `eth0`.
const WEB: &str = "\
emulate_agent(pve)
vm = pve.add_vm(100, 'web-1', status='running',
                config={'agent': '1', 'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0'})
vm.agent = {}
";

fn web() -> Fake {
    let fake = Fake::with(WEB);
    fake.clear_requests();
    fake
}

/// What the agent of `vmid` was asked: `[command, parameters]`, oldest first.
fn agent_requests(fake: &Fake, vmid: u32) -> Vec<Value> {
    fake.exec(&format!(
        "result = [[c, p] for (c, p) in pve.vm({vmid}).agent_requests]"
    ))
    .as_array()
    .unwrap()
    .clone()
}

fn agent_commands(fake: &Fake, vmid: u32) -> Vec<String> {
    agent_requests(fake, vmid)
        .iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect()
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// pvectl failed with `code` and one error line that says each of `texts`.
#[track_caller]
fn error_says(run: &Run, code: i32, texts: &[&str]) {
    run.one_error(code);
    for text in texts {
        assert!(
            run.error_line().contains(text),
            "the error should say {text:?}:\n{}",
            run.stderr
        );
    }
}

// ----------------------------------------------------------------------------------------- ip

#[test]
fn vm_ip_prints_the_agents_address_in_two_requests() {
    let fake = web();
    let run = fake.run(&["vm", "ip", "web-1"]);
    run.success();
    assert_eq!(run.stdout, "192.0.2.10\n", "loopback is left out");
    assert_eq!(run.stderr, "");
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources",
            "GET /nodes/pve1/qemu/100/agent/network-get-interfaces"
        ]
    );
    // With --node and a VMID nothing is looked up.
    fake.clear_requests();
    fake.run(&["vm", "ip", "100", "--node", "pve1"]).success();
    assert_eq!(seen(&fake).len(), 1);
}

/// A docker host with two NICs: lo, docker0, a veth, and the agent listing net1's NIC first.
const DOCKER_HOST: &str = "\
emulate_agent(pve)
vm = pve.add_vm(100, 'web-1', status='running',
                config={'agent': '1', 'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
                        'net1': 'virtio=BC:24:11:00:00:02,bridge=vmbr1'})
vm.agent = {'interfaces': [
    {'name': 'lo', 'hardware-address': '00:00:00:00:00:00', 'ip-addresses': [
        {'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', 'prefix': 8},
        {'ip-address': '::1', 'ip-address-type': 'ipv6', 'prefix': 128}]},
    {'name': 'ens19', 'hardware-address': 'bc:24:11:00:00:02', 'ip-addresses': [
        {'ip-address': '10.0.0.7', 'ip-address-type': 'ipv4', 'prefix': 24}]},
    {'name': 'docker0', 'hardware-address': '02:42:ac:11:00:01', 'ip-addresses': [
        {'ip-address': '172.17.0.1', 'ip-address-type': 'ipv4', 'prefix': 16}]},
    {'name': 'ens18', 'hardware-address': 'bc:24:11:00:00:01', 'ip-addresses': [
        {'ip-address': 'fe80::be24:11ff:fe00:1', 'ip-address-type': 'ipv6', 'prefix': 64},
        {'ip-address': '2001:db8::10', 'ip-address-type': 'ipv6', 'prefix': 64},
        {'ip-address': '192.0.2.10', 'ip-address-type': 'ipv4', 'prefix': 24}]},
    {'name': 'veth3f2a1b', 'hardware-address': '6a:1f:00:00:00:01', 'ip-addresses': [
        {'ip-address': '169.254.10.1', 'ip-address-type': 'ipv4', 'prefix': 16}]}]}
";

#[test]
fn vm_ip_puts_net0_first_and_leaves_out_loopback_link_local_and_bridges() {
    let fake = Fake::with(DOCKER_HOST);
    fake.clear_requests();
    let run = fake.run(&["vm", "ip", "web-1"]);
    run.success();
    assert_eq!(
        lines(&run.stdout),
        vec!["192.0.2.10", "2001:db8::10", "10.0.0.7"]
    );
    // Two interfaces to order: the configuration's MACs were read for it.
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources",
            "GET /nodes/pve1/qemu/100/agent/network-get-interfaces",
            "GET /nodes/pve1/qemu/100/config"
        ]
    );
    let run = fake.run(&["vm", "ip", "web-1", "--ipv4"]);
    assert_eq!(lines(&run.success().stdout), vec!["192.0.2.10", "10.0.0.7"]);
    let run = fake.run(&["vm", "ip", "web-1", "-6"]);
    assert_eq!(lines(&run.success().stdout), vec!["2001:db8::10"]);
    let run = fake.run(&["vm", "ip", "web-1", "--all"]);
    let all = lines(&run.success().stdout);
    for a in [
        "127.0.0.1",
        "::1",
        "172.17.0.1",
        "fe80::be24:11ff:fe00:1",
        "169.254.10.1",
    ] {
        assert!(all.contains(&a), "--all shows {a}: {all:?}");
    }
    assert_eq!(all[0], "192.0.2.10");
    fake.run(&["vm", "ip", "web-1", "-4", "-6"]).failure(2);
}

#[test]
fn vm_ip_as_json_gives_interfaces_with_macs_and_prefixes() {
    let fake = Fake::with(DOCKER_HOST);
    let run = fake.run(&["-o", "json", "vm", "ip", "web-1"]);
    // One guest named: its object.
    let g = &run.success().json();
    assert_eq!(g["vmid"], 100);
    assert_eq!(g["name"], "web-1");
    assert_eq!(g["node"], "pve1");
    assert_eq!(g["type"], "qemu");
    assert_eq!(g["source"], "agent");
    assert_eq!(
        g["addresses"],
        json!(["192.0.2.10", "2001:db8::10", "10.0.0.7"])
    );
    let first = &g["interfaces"][0];
    assert_eq!(first["name"], "ens18");
    assert_eq!(first["hardware-address"], "bc:24:11:00:00:01");
    assert_eq!(
        first["ip-addresses"][0],
        json!({"ip-address": "192.0.2.10", "ip-address-type": "ipv4", "prefix": 24})
    );
    assert_eq!(g["interfaces"].as_array().map(Vec::len), Some(2));
}

#[test]
fn vm_ip_without_an_agent_in_the_configuration_says_how_to_enable_it() {
    let fake = Fake::with("emulate_agent(pve)\npve.add_vm(100, 'web-1', status='running')");
    let run = fake.run(&["vm", "ip", "web-1"]);
    error_says(
        &run,
        6,
        &[
            "no guest agent configured",
            "pvectl vm set web-1 agent=1",
            "qemu-guest-agent",
        ],
    );
    // The same with the agent switched off.
    fake.exec("vm = pve.vm(100)\nvm.config['agent'] = '0'\nvm.agent = {}");
    let run = fake.run(&["vm", "ip", "web-1"]);
    error_says(&run, 6, &["disabled (agent: 0)"]);
}

#[test]
fn vm_ip_while_the_agent_is_not_running_says_so() {
    let fake = Fake::with(
        "emulate_agent(pve)\npve.add_vm(100, 'web-1', status='running', config={'agent': '1'})",
    );
    let run = fake.run(&["vm", "ip", "web-1"]);
    error_says(
        &run,
        6,
        &[
            "guest agent is not running",
            "install and start qemu-guest-agent",
            "--wait",
        ],
    );
}

#[test]
fn vm_ip_of_a_stopped_vm_says_how_to_start_it() {
    let fake = Fake::with(
        "emulate_agent(pve)\nvm = pve.add_vm(100, 'web-1', config={'agent': '1'})\nvm.agent = {}",
    );
    let run = fake.run(&["vm", "ip", "web-1"]);
    error_says(
        &run,
        6,
        &["web-1 (100) is not running: start it with `pvectl vm start web-1`"],
    );
}

#[test]
fn vm_ip_without_an_address_yet_exits_5() {
    let fake = Fake::with(
        "emulate_agent(pve)\nvm = pve.add_vm(100, 'web-1', status='running', config={'agent': '1'})\n\
         vm.agent = {'interfaces': [{'name': 'lo', 'ip-addresses': [{'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', 'prefix': 8}]},\n\
         {'name': 'eth0', 'hardware-address': 'bc:24:11:00:00:01', 'ip-addresses': [{'ip-address': 'fe80::1', 'ip-address-type': 'ipv6', 'prefix': 64}]}]}",
    );
    let run = fake.run(&["vm", "ip", "web-1"]);
    error_says(&run, 5, &["has no address yet"]);
    assert!(run.error_line().contains("--all"), "{}", run.stderr);
    let run = fake.run(&["vm", "ip", "web-1", "--all"]);
    assert_eq!(lines(&run.success().stdout), vec!["127.0.0.1", "fe80::1"]);
}

#[test]
fn vm_ip_falls_back_to_the_cloud_init_address_of_the_configuration() {
    let fake = Fake::with(
        "emulate_agent(pve)\npve.add_vm(100, 'web-1', status='running', config={'agent': '1',\n\
         'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0', 'ipconfig0': 'ip=192.0.2.50/24,gw=192.0.2.1,ip6=dhcp'})",
    );
    let run = fake.run(&["vm", "ip", "web-1"]);
    run.success();
    assert_eq!(run.stdout, "192.0.2.50\n");
    run.stderr_has("web-1 (100): its guest agent is not running")
        .stderr_has("the static one of its configuration (ipconfig0)");
    let v = fake.run(&["-o", "json", "vm", "ip", "web-1"]).json();
    assert_eq!(v["source"], "config");
    assert_eq!(v["interfaces"][0]["name"], "net0");
    assert_eq!(v["interfaces"][0]["hardware-address"], "BC:24:11:00:00:01");
    // -q keeps stderr quiet; stdout still has the address.
    let run = fake.run(&["-q", "vm", "ip", "web-1"]);
    assert_eq!(run.success().stdout, "192.0.2.50\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn vm_ip_wait_gives_up_after_the_limit_with_exit_9() {
    let fake = Fake::with(
        "emulate_agent(pve)\npve.add_vm(100, 'web-1', status='running', config={'agent': '1'})",
    );
    fake.clear_requests();
    let run = fake.run(&["vm", "ip", "web-1", "--wait", "1s"]);
    error_says(
        &run,
        9,
        &["gave up waiting after 1s", "guest agent is not running"],
    );
    assert!(run.elapsed >= Duration::from_secs(1), "{:?}", run.elapsed);
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
    let polls = seen(&fake)
        .iter()
        .filter(|l| l.ends_with("network-get-interfaces"))
        .count();
    assert!((3..=12).contains(&polls), "polled {polls} times in 1 s");
    // A guest right after --wait is taken as its value: a usage error that says so.
    let run = fake.run(&["vm", "ip", "--wait", "web-1"]);
    run.failure(2).stdout_empty();
    run.stderr_has("pvectl vm ip --wait [<DURATION>] <GUESTS>...");
    let run = fake.run(&["vm", "ip", "--wait", "web-1", "web-2"]);
    error_says(
        &run,
        2,
        &[
            "--wait: 'web-1' is not a duration",
            "a guest goes before --wait",
        ],
    );
}

#[test]
fn vm_ip_wait_returns_once_the_guest_has_an_address() {
    let fake = Fake::with(
        "emulate_agent(pve)\nvm = pve.add_vm(100, 'web-1', config={'agent': '1'})\nvm.agent = {}",
    );
    let child = fake
        .cmd()
        .args(["vm", "ip", "web-1", "--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    // The VM boots: it runs, and DHCP gives it an address.
    fake.exec("vm = pve.vm(100)\nvm.status = 'running'");
    let run = wait_for(child, Duration::from_secs(10));
    run.success();
    assert_eq!(run.stdout, "192.0.2.10\n");
}

#[test]
fn ct_ip_reads_the_containers_interfaces() {
    let fake = Fake::with(
        "pve.add_ct(101, 'dns', status='running', config={'net0': 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:07,ip=10.0.0.5/24,ip6=2001:db8::5/64'})",
    );
    fake.clear_requests();
    let run = fake.run(&["ct", "ip", "dns"]);
    assert_eq!(
        lines(&run.success().stdout),
        vec!["10.0.0.5", "2001:db8::5"]
    );
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources",
            "GET /nodes/pve1/lxc/101/interfaces"
        ]
    );
    let v = fake.run(&["-o", "json", "ct", "ip", "dns"]).json();
    assert_eq!(v["source"], "interfaces");
    assert_eq!(v["type"], "lxc");
    // A glob is a list, even of one.
    let v = fake.run(&["-o", "json", "ct", "ip", "d*"]).json();
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    // Stopped: PVE answers null.
    fake.exec("pve.guest(101).status = 'stopped'");
    let run = fake.run(&["ct", "ip", "dns"]);
    error_says(&run, 6, &["`pvectl ct start dns`"]);
    // A VM is not a container.
    fake.exec("pve.add_vm(100, 'web-1')");
    fake.run(&["ct", "ip", "web-1"]).one_error(2);
}

#[test]
fn ip_of_several_guests_names_each_line_and_reports_each_failure() {
    let fake = Fake::with(&format!(
        "{WEB}vm2 = pve.add_vm(101, 'web-2', node='pve1', status='running', config={{'agent': '1'}})\n\
         vm2.agent = {{'interfaces': [{{'name': 'eth0', 'hardware-address': 'bc:24:11:00:00:09', 'ip-addresses': [{{'ip-address': '192.0.2.11', 'ip-address-type': 'ipv4', 'prefix': 24}}]}}]}}\n\
         pve.add_vm(102, 'web-3', status='running', config={{'agent': '1'}})"
    ));
    let run = fake.run(&["vm", "ip", "web-*"]);
    run.failure(6);
    assert_eq!(
        lines(&run.stdout),
        vec!["web-1\t192.0.2.10", "web-2\t192.0.2.11"]
    );
    run.stderr_has("error: web-3 (102): its guest agent is not running");
    let run = fake.run(&["-o", "json", "vm", "ip", "web-1", "web-2"]);
    let v = run.success().json();
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    assert_eq!(v[1]["addresses"], json!(["192.0.2.11"]));
}

// --------------------------------------------------------------------------------------- exec

/// What the agent answers for a command (`exec-status`), by the command line joined with spaces.
fn answer_exec(fake: &Fake, vmid: u32, argv: &str, status: &str) {
    fake.exec(&format!(
        "vm = pve.vm({vmid})\nvm.agent.setdefault('exec', {{}})[{argv:?}] = {status}"
    ));
}

#[test]
fn vm_exec_passes_argv_intact_and_exits_with_the_guests_code() {
    let fake = web();
    answer_exec(
        &fake,
        100,
        "sh -c echo hi; echo oops >&2; exit 3",
        "{'exitcode': 3, 'out-data': 'hi\\n', 'err-data': 'oops\\n'}",
    );
    let run = fake.run(&[
        "vm",
        "exec",
        "web-1",
        "--",
        "sh",
        "-c",
        "echo hi; echo oops >&2; exit 3",
    ]);
    run.failure(3);
    assert_eq!(run.stdout, "hi\n");
    assert_eq!(run.stderr, "oops\n", "the guest's stderr, and nothing else");
    // The argv as a list, not joined into one string; then one status poll.
    assert_eq!(
        fake.exec("result = list(pve.vm(100).agent_execs.values())"),
        json!([["sh", "-c", "echo hi; echo oops >&2; exit 3"]])
    );
    assert_eq!(agent_commands(&fake, 100), vec!["exec", "exec-status"]);
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources",
            "POST /nodes/pve1/qemu/100/agent/exec",
            "GET /nodes/pve1/qemu/100/agent/exec-status"
        ]
    );
}

#[test]
fn vm_exec_of_one_word_sends_a_list_of_one() {
    let fake = web();
    answer_exec(
        &fake,
        100,
        "uptime",
        "{'out-data': ' 10:00:00 up 1 day\\n'}",
    );
    let run = fake.run(&["vm", "exec", "web-1", "--", "uptime"]);
    assert_eq!(run.success().stdout, " 10:00:00 up 1 day\n");
    assert_eq!(
        fake.exec("result = list(pve.vm(100).agent_execs.values())"),
        json!([["uptime"]])
    );
}

#[test]
fn vm_exec_writes_the_guests_bytes_as_they_were() {
    let fake = web();
    // PVE sends the output as one character per byte: UTF-8 "Grüße" arrives as "GrÃ¼Ã\x9fe".
    answer_exec(
        &fake,
        100,
        "cat /etc/motd",
        "{'out-data': 'Gr\\u00c3\\u00bc\\u00c3\\u009fe\\n'}",
    );
    let out = fake
        .cmd()
        .args(["vm", "exec", "web-1", "--", "cat", "/etc/motd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, "Grüße\n".as_bytes());
}

#[test]
fn vm_exec_sends_a_pipe_or_an_input_file_as_stdin() {
    let fake = web();
    let mut child = fake
        .cmd()
        .args(["vm", "exec", "web-1", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("héllo\n".as_bytes())
        .unwrap();
    let run = wait_for(child, Duration::from_secs(10));
    run.success();
    let asked = agent_requests(&fake, 100);
    // One character per byte, as PVE reads it back into bytes for the agent.
    assert_eq!(asked[0][1]["input-data"], "hÃ©llo\n");
    assert_eq!(asked[0][1]["command"], json!(["cat"]));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.bin");
    std::fs::write(&file, [0u8, 1, 0xff, b'\n']).unwrap();
    fake.run(&[
        "vm",
        "exec",
        "web-1",
        "--input",
        file.to_str().unwrap(),
        "--",
        "cat",
    ])
    .success();
    let asked = agent_requests(&fake, 100);
    assert_eq!(asked[2][1]["input-data"], "\u{0}\u{1}\u{ff}\n");
    // No pipe, no --input: no input-data at all.
    fake.run(&["vm", "exec", "web-1", "--", "cat"]).success();
    let asked = agent_requests(&fake, 100);
    assert!(asked[4][1].get("input-data").is_none(), "{}", asked[4][1]);
}

#[test]
fn vm_exec_input_beyond_64_kib_is_refused_before_anything_runs() {
    let fake = web();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big");
    std::fs::write(&file, vec![b'x'; 64 * 1024 + 1]).unwrap();
    let run = fake.run(&[
        "vm",
        "exec",
        "web-1",
        "--input",
        file.to_str().unwrap(),
        "--",
        "cat",
    ]);
    error_says(&run, 2, &["at most 65536 bytes"]);
    assert!(seen(&fake).is_empty(), "nothing was sent");
}

#[test]
fn vm_exec_as_json_prints_exitcode_out_err_truncated_and_signal() {
    let fake = web();
    answer_exec(
        &fake,
        100,
        "dmesg",
        "{'exitcode': 0, 'out-data': 'x' * 10, 'out-truncated': True}",
    );
    let run = fake.run(&["-o", "json", "vm", "exec", "web-1", "--", "dmesg"]);
    run.success();
    let v = run.json();
    assert_eq!(v["exitcode"], 0);
    assert_eq!(v["signal"], Value::Null);
    assert_eq!(v["out"], "xxxxxxxxxx");
    assert_eq!(v["err"], "");
    assert_eq!(v["truncated"], true);
    assert_eq!(v["vmid"], 100);
    assert_eq!(v["pid"], 1001);
    // Truncation is said on a terminal-less run too.
    let run = fake.run(&["vm", "exec", "web-1", "--", "dmesg"]);
    run.success().stderr_has(
        "warning: web-1 (100): the guest agent kept only the start of the command's stdout",
    );
}

#[test]
fn vm_exec_killed_by_a_signal_exits_128_plus_it() {
    let fake = web();
    answer_exec(&fake, 100, "sleep 100", "{'exitcode': None, 'signal': 9}");
    fake.run(&["vm", "exec", "web-1", "--", "sleep", "100"])
        .failure(137);
}

#[test]
fn vm_exec_timeout_exits_9_with_the_pid_and_how_to_look_later() {
    let fake = web();
    answer_exec(&fake, 100, "sleep 3600", "{'exited': False}");
    let run = fake.run(&[
        "vm",
        "exec",
        "web-1",
        "--timeout",
        "1s",
        "--",
        "sleep",
        "3600",
    ]);
    error_says(
        &run,
        9,
        &[
            "gave up waiting after 1s",
            "keeps running in web-1 (100) as PID 1001",
            "pvectl api get /nodes/pve1/qemu/100/agent/exec-status pid=1001",
        ],
    );
    assert!(run.elapsed < Duration::from_secs(5));
}

#[test]
fn ctrl_c_during_vm_exec_exits_130_and_the_command_keeps_running() {
    let fake = web();
    answer_exec(&fake, 100, "sleep 3600", "{'exited': False}");
    let child = fake
        .cmd()
        .args(["vm", "exec", "web-1", "--", "sleep", "3600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !agent_commands(&fake, 100).contains(&"exec-status".to_string()) {
        assert!(Instant::now() < deadline, "pvectl never polled");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let run = wait_for(child, Duration::from_secs(5));
    run.failure(130);
    assert_eq!(run.stdout, "");
    run.stderr_has("interrupted: the command keeps running in web-1 (100) as PID 1001")
        .stderr_has("exec-status pid=1001");
}

#[test]
fn vm_exec_says_why_the_agent_cannot_be_asked() {
    let fake = Fake::with("emulate_agent(pve)\npve.add_vm(100, 'web-1', status='running')");
    let run = fake.run(&["vm", "exec", "web-1", "--", "uptime"]);
    error_says(&run, 6, &["web-1 (100) has no guest agent configured: enable it with `pvectl vm set web-1 agent=1`"]);
    fake.exec("pve.vm(100).config['agent'] = '1'");
    let run = fake.run(&["vm", "exec", "web-1", "--", "uptime"]);
    error_says(&run, 6, &["the guest agent of web-1 (100) is not running"]);
    fake.exec("vm = pve.vm(100)\nvm.agent = {}\nvm.status = 'stopped'");
    let run = fake.run(&["vm", "exec", "web-1", "--", "uptime"]);
    error_says(
        &run,
        6,
        &["web-1 (100) is not running: start it with `pvectl vm start web-1`"],
    );
    assert!(
        fake.exec("result = pve.vm(100).agent_execs")
            .as_object()
            .unwrap()
            .is_empty(),
        "nothing ran"
    );
}

#[test]
fn vm_exec_on_several_vms_exits_with_the_worst_code() {
    let fake = Fake::with(&format!(
        "{WEB}vm2 = pve.add_vm(101, 'web-2', status='running', config={{'agent': '1'}})\nvm2.agent = {{}}\n\
         pve.add_vm(102, 'web-3', status='running', config={{'agent': '1'}})"
    ));
    answer_exec(&fake, 100, "hostname", "{'out-data': 'web-1\\n'}");
    answer_exec(
        &fake,
        101,
        "hostname",
        "{'exitcode': 2, 'out-data': 'web-2\\n'}",
    );
    let run = fake.run(&["vm", "exec", "web-1", "web-2", "--", "hostname"]);
    run.failure(2);
    // Off a terminal: each output as it was, in the order given.
    assert_eq!(run.stdout, "web-1\nweb-2\n");
    run.stderr_has("web-2 (101): exited with 2");
    // A VM whose agent does not run counts with pvectl's code (6 is worse than 2).
    let run = fake.run(&["-o", "json", "vm", "exec", "web-*", "--", "hostname"]);
    run.failure(6);
    let v = run.json();
    assert_eq!(v.as_array().map(Vec::len), Some(3));
    assert_eq!(v[0]["out"], "web-1\n");
    assert_eq!(v[1]["exitcode"], 2);
    assert_eq!(v[2]["exitcode"], Value::Null);
    assert!(
        v[2]["error"].as_str().unwrap().contains("is not running"),
        "{}",
        v[2]
    );
}

#[test]
fn vm_exec_needs_the_command_after_two_dashes() {
    let fake = web();
    let run = fake.run(&["vm", "exec", "web-1"]);
    run.failure(2).stdout_empty();
    assert!(seen(&fake).is_empty());
    // ct exec is no agent call: it has no --timeout.
    fake.run(&["ct", "exec", "x", "--timeout", "1s", "--", "ls"])
        .failure(2);
}

// --------------------------------------------------------------------------------------- files

#[test]
fn file_put_and_get_move_any_bytes() {
    let fake = web();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("blob");
    let data: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&local, &data).unwrap();
    let run = fake.run(&[
        "vm",
        "file",
        "put",
        "web-1",
        local.to_str().unwrap(),
        "/srv/blob",
    ]);
    run.success()
        .stderr_has("web-1 (100): file put wrote 40000 bytes to /srv/blob");
    assert_eq!(
        fake.exec("import base64\nresult = base64.b64encode(pve.vm(100).agent_files['/srv/blob']).decode()"),
        json!(base64_of(&data))
    );
    let asked = agent_requests(&fake, 100);
    assert_eq!(asked[0][0], "file-write");
    assert_eq!(
        asked[0][1]["encode"], 0,
        "base64 made by pvectl: {}",
        asked[0][1]
    );

    let back = dir.path().join("back");
    let run = fake.run(&[
        "vm",
        "file",
        "get",
        "web-1",
        "/srv/blob",
        back.to_str().unwrap(),
    ]);
    run.success().stderr_has("(40000 bytes)");
    assert_eq!(std::fs::read(&back).unwrap(), data);
    // Into a directory: the guest file's name; to stdout without LOCAL.
    fake.run(&[
        "vm",
        "file",
        "get",
        "web-1",
        "/srv/blob",
        dir.path().to_str().unwrap(),
    ])
    .success();
    assert_eq!(std::fs::read(dir.path().join("blob")).unwrap(), data);
    let out = fake
        .cmd()
        .args(["vm", "file", "get", "web-1", "/srv/blob"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, data);
    let json_run = fake.run(&[
        "-o",
        "json",
        "vm",
        "file",
        "put",
        "web-1",
        local.to_str().unwrap(),
        "/srv/b2",
    ]);
    let v = json_run.success().json();
    assert_eq!(v[0]["action"], "file put");
    assert_eq!(v[0]["ok"], true);
}

#[test]
fn file_get_of_more_than_16_mib_reads_it_in_pieces() {
    let fake = web();
    fake.exec("pve.vm(100).agent_files = {'/var/big': bytes(range(256)) * (17 * 4096 + 3)}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big");
    fake.clear_requests();
    fake.run(&[
        "vm",
        "file",
        "get",
        "web-1",
        "/var/big",
        out.to_str().unwrap(),
    ])
    .success();
    let got = std::fs::read(&out).unwrap();
    assert_eq!(got.len(), 256 * (17 * 4096 + 3));
    assert!(got
        .chunks(256)
        .all(|c| c.iter().enumerate().all(|(i, b)| *b as usize == i)));
    let reads: Vec<Value> = agent_requests(&fake, 100)
        .into_iter()
        .filter(|r| r[0] == "file-read")
        .map(|r| r[1].clone())
        .collect();
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert_eq!(reads[1]["offset"], 16 * 1024 * 1024);
}

#[test]
fn file_put_beyond_pves_limit_is_refused_and_nothing_is_written() {
    let fake = web();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("big");
    std::fs::write(&local, vec![0u8; 46_081]).unwrap();
    let run = fake.run(&[
        "vm",
        "file",
        "put",
        "web-1",
        local.to_str().unwrap(),
        "/srv/big",
    ]);
    error_says(
        &run,
        2,
        &["46081 bytes", "46080 bytes (45 KiB)", "nothing was written"],
    );
    assert!(seen(&fake).is_empty());
    // Exactly the limit goes.
    std::fs::write(&local, vec![0u8; 46_080]).unwrap();
    fake.run(&[
        "vm",
        "file",
        "put",
        "web-1",
        local.to_str().unwrap(),
        "/srv/big",
    ])
    .success();
}

#[test]
fn file_get_of_a_missing_file_exits_5_and_writes_nothing() {
    let fake = web();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let run = fake.run(&["vm", "file", "get", "web-1", "/nope", out.to_str().unwrap()]);
    error_says(&run, 5, &["web-1 (100) has no file /nope"]);
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file left"
    );
}

fn base64_of(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// --------------------------------------------------------------------------------- ssh, ct exec

/// A stand-in `ssh` first on PATH: it writes its arguments, one per line, to `args`, prints a
/// line, and exits with $FAKE_SSH_EXIT.
struct StandIn {
    dir: tempfile::TempDir,
}

impl StandIn {
    fn new() -> StandIn {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("ssh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\necho 'hello from the stand-in ssh'\nexit ${{FAKE_SSH_EXIT:-0}}\n",
                dir.path().join("args").display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        StandIn { dir }
    }

    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The arguments ssh got; none when it did not run.
    fn args(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("args"))
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn run(&self, fake: &Fake, extra: &[(&str, &str)], args: &[&str]) -> Run {
        let path = self.path();
        let mut env = vec![("PATH", path.as_str())];
        env.extend_from_slice(extra);
        fake.run_env(&[], &env, args)
    }
}

fn write_profile(fake: &Fake, body: &str) -> PathBuf {
    let path = fake.config_path();
    std::fs::write(&path, format!("[profiles.p]\n{body}")).unwrap();
    path
}

#[test]
fn ct_exec_without_ssh_allowed_says_why_and_how() {
    let fake = Fake::with("pve.add_ct(101, 'dns', status='running')");
    let ssh = StandIn::new();
    let run = ssh.run(&fake, &[], &["ct", "exec", "dns", "--", "uptime"]);
    error_says(
        &run,
        2,
        &[
            "containers have no exec endpoint in PVE's API",
            "--ssh",
            "ssh = true",
        ],
    );
    assert!(ssh.args().is_empty(), "ssh did not run");
}

#[test]
fn ct_exec_runs_pct_exec_on_the_node_over_ssh() {
    let fake = Fake::with("pve.add_ct(101, 'dns', status='running')");
    fake.clear_requests();
    let ssh = StandIn::new();
    let run = ssh.run(
        &fake,
        &[("FAKE_SSH_EXIT", "4")],
        &[
            "ct", "exec", "dns", "--ssh", "--", "echo", "hi there", "it's",
        ],
    );
    run.failure(4);
    assert_eq!(run.stdout, "hello from the stand-in ssh\n");
    run.stderr_has(
        "dns (101): on pve1 (192.0.2.11) as root over ssh: pct exec 101 -- echo 'hi there'",
    );
    assert_eq!(
        ssh.args(),
        vec![
            "-l",
            "root",
            "-T",
            "192.0.2.11",
            "--",
            "pct exec 101 -- echo 'hi there' 'it'\\''s'"
        ]
    );
    assert_eq!(
        seen(&fake),
        vec!["GET /cluster/resources", "GET /cluster/status"]
    );
}

#[test]
fn ct_exec_with_the_profiles_ssh_settings_and_as_json() {
    let fake = Fake::with("pve.add_ct(101, 'dns', status='running')");
    write_profile(
        &fake,
        "ssh = true\nnode_ssh_user = \"admin\"\nssh_key = \"/keys/pve\"\n",
    );
    let ssh = StandIn::new();
    let run = ssh.run(
        &fake,
        &[],
        &["-o", "json", "ct", "exec", "dns", "--", "hostname"],
    );
    run.success();
    let v = run.json();
    assert_eq!(v["exitcode"], 0);
    assert_eq!(v["out"], "hello from the stand-in ssh\n");
    assert_eq!(
        ssh.args(),
        vec![
            "-i",
            "/keys/pve",
            "-l",
            "admin",
            "-T",
            "192.0.2.11",
            "--",
            "pct exec 101 -- hostname"
        ]
    );
}

#[test]
fn vm_ssh_logs_in_as_the_cloud_init_user_at_the_agents_address() {
    let fake = Fake::with(&format!("{WEB}pve.vm(100).config['ciuser'] = 'debian'\n"));
    let ssh = StandIn::new();
    let run = ssh.run(
        &fake,
        &[("FAKE_SSH_EXIT", "7")],
        &["vm", "ssh", "web-1", "--", "-p", "2222", "uptime"],
    );
    // pvectl became ssh: its output and exit code are ssh's.
    run.failure(7);
    assert_eq!(run.stdout, "hello from the stand-in ssh\n");
    run.stderr_has("web-1 (100): ssh -l debian 192.0.2.10 -p 2222 uptime");
    assert_eq!(
        ssh.args(),
        vec!["-l", "debian", "192.0.2.10", "-p", "2222", "uptime"]
    );
    // -l wins over cloud-init; the profile's key is used.
    write_profile(&fake, "ssh_user = \"admin\"\nssh_key = \"/keys/guest\"\n");
    ssh.run(&fake, &[], &["vm", "ssh", "web-1", "-l", "root"])
        .success();
    assert_eq!(
        ssh.args(),
        vec!["-i", "/keys/guest", "-l", "root", "192.0.2.10"]
    );
}

#[test]
fn ct_ssh_uses_the_profiles_user_and_vm_ssh_says_why_there_is_no_address() {
    let fake = Fake::with(
        "pve.add_ct(101, 'dns', status='running', config={'net0': 'name=eth0,bridge=vmbr0,ip=10.0.0.5/24'})\n\
         emulate_agent(pve)\npve.add_vm(100, 'web-1', status='running')",
    );
    write_profile(&fake, "ssh_user = \"admin\"\n");
    let ssh = StandIn::new();
    ssh.run(&fake, &[], &["ct", "ssh", "dns"]).success();
    assert_eq!(ssh.args(), vec!["-l", "admin", "10.0.0.5"]);
    let ssh = StandIn::new();
    let run = ssh.run(&fake, &[], &["vm", "ssh", "web-1"]);
    error_says(&run, 6, &["no guest agent configured"]);
    assert!(ssh.args().is_empty());
}

// ------------------------------------------------------------------------------------ helpers

/// Wait for a spawned `pvectl` (at most `limit`) and collect what it left.
fn wait_for(mut child: std::process::Child, limit: Duration) -> Run {
    let started = Instant::now();
    let deadline = started + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pvectl did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut stdout).unwrap();
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut stderr).unwrap();
    }
    Run::new(
        status.code().unwrap_or(-1),
        stdout,
        stderr,
        started.elapsed(),
    )
}
