//! End-to-end: power verbs of `vm` and `ct`, and the `tasks` commands, against fakepve.
//!
//! Every test checks the exit code, both streams, what the server holds afterwards and the requests
//! sent (parameters under PVE's names).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::helpers::{guest, hint_file, seen, status_of, task, task_types, upids};
use common::{Fake, Run, API};
use serde_json::Value;

// ------------------------------------------------------------------------------------ helpers

/// The POSTs the fake has seen: `(path under /api2/json, form body)`.
fn posts(fake: &Fake) -> Vec<(String, String)> {
    fake.requests()
        .into_iter()
        .filter(|(m, _, _)| m == "POST")
        .map(|(_, p, b)| (p.trim_start_matches(API).to_string(), b))
        .collect()
}

/// The one UPID in a text, checked against the server's tasks.
fn upid_in(fake: &Fake, text: &str) -> String {
    let found: Vec<String> = upids(fake)
        .into_iter()
        .filter(|u| text.contains(u.as_str()))
        .collect();
    assert_eq!(found.len(), 1, "expected one known UPID in:\n{text}");
    found[0].clone()
}

/// Run a power verb that must succeed with exactly one POST, to `path` with `body`.
#[track_caller]
fn act(fake: &Fake, args: &[&str], path: &str, body: &str) -> Run {
    fake.clear_requests();
    let run = fake.run(args);
    run.success();
    assert_eq!(
        run.stdout, "",
        "power verbs print nothing on stdout by default"
    );
    assert_eq!(posts(fake), vec![(path.to_string(), body.to_string())]);
    run
}

/// `pvectl ARGS` running as a child process with both streams piped.
struct Running {
    child: Child,
    started: Instant,
}

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

fn spawn(fake: &Fake, args: &[&str]) -> Running {
    let started = Instant::now();
    let child = fake
        .cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pvectl");
    Running { child, started }
}

/// Read stderr lines until one contains `text`; returns what was read.
fn stderr_until(child: &mut Child, text: &str) -> (String, BufReader<std::process::ChildStderr>) {
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).unwrap();
        assert!(n > 0, "stderr ended before {text:?}:\n{seen}");
        seen.push_str(&line);
        if line.contains(text) {
            return (seen, reader);
        }
    }
}

/// Wait for the child (at most `limit`), collecting the rest of both streams.
fn finish(
    mut child: Running,
    mut stderr: impl Read,
    stderr_so_far: String,
    limit: Duration,
) -> Run {
    let deadline = Instant::now() + limit;
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
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    Run::new(
        status.code().unwrap_or(-1),
        stdout,
        stderr_so_far + &rest,
        child.started.elapsed(),
    )
}

// ----------------------------------------------------------------------- vm verbs, one by one

#[test]
fn vm_start_by_name_costs_three_requests() {
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    fake.clear_requests();
    let run = fake.run(&["vm", "start", "web1"]);
    run.success()
        .stderr_has("web1 (100): start task UPID:pve1:")
        .stderr_has("web1 (100): start OK");
    assert_eq!(run.stdout, "");
    let upid = upid_in(&fake, &run.stderr);
    assert!(upid.contains(":qmstart:100:root@pam!cli:"), "{upid}");
    assert_eq!(
        seen(&fake),
        vec![
            "GET /cluster/resources".to_string(),
            "POST /nodes/pve1/qemu/100/status/start".to_string(),
            format!("GET /nodes/pve1/tasks/{upid}/status"),
        ]
    );
    assert_eq!(posts(&fake)[0].1, "", "no parameters were asked for");
    assert_eq!(status_of(&fake, 100), "running");
    assert_eq!(task(&fake, &upid)["exitstatus"], "OK");
}

#[test]
fn vm_power_verbs_by_vmid_change_the_guest_and_send_pve_parameters() {
    let fake = Fake::with("pve.add_vm(100, 'web1', pending={'memory': 2048})");
    let p = |action: &str| format!("/nodes/pve1/qemu/100/status/{action}");

    act(
        &fake,
        &["vm", "start", "100", "--timeout", "30", "--machine", "q35"],
        &p("start"),
        "timeout=30&machine=q35",
    )
    .stderr_has("web1 (100): start OK");
    let g = guest(&fake, 100);
    assert_eq!(g["status"], "running");
    assert_eq!(
        g["config"]["memory"], 2048,
        "a start applies pending changes"
    );

    act(&fake, &["vm", "suspend", "100"], &p("suspend"), "").stderr_has("web1 (100): suspend OK");
    let g = guest(&fake, 100);
    assert_eq!(
        (g["status"].as_str(), g["qmpstatus"].as_str()),
        (Some("running"), Some("paused"))
    );

    act(&fake, &["vm", "resume", "100"], &p("resume"), "").stderr_has("web1 (100): resume OK");
    assert_eq!(guest(&fake, 100)["qmpstatus"], "running");

    let before = fake.exec("result = pve.vm(100).started_at");
    std::thread::sleep(Duration::from_millis(20));
    act(&fake, &["vm", "reset", "100"], &p("reset"), "").stderr_has("web1 (100): reset OK");
    let after = fake.exec("result = pve.vm(100).started_at");
    assert!(
        after.as_f64() > before.as_f64(),
        "a reset restarts the guest: {before} -> {after}"
    );
    assert_eq!(status_of(&fake, 100), "running");

    fake.exec("pve.vm(100).pending['cores'] = 4");
    act(
        &fake,
        &["vm", "reboot", "100", "--timeout", "45"],
        &p("reboot"),
        "timeout=45",
    )
    .stderr_has("web1 (100): reboot OK");
    let g = guest(&fake, 100);
    assert_eq!(g["status"], "running");
    assert_eq!(g["config"]["cores"], 4, "a reboot applies pending changes");

    // The guest ignores ACPI for longer than --timeout: forceStop makes PVE pull the plug.
    fake.exec("pve.vm(100).shutdown_secs = 90");
    act(
        &fake,
        &["vm", "shutdown", "100", "--forceStop", "--timeout", "30"],
        &p("shutdown"),
        "timeout=30&forceStop=1",
    )
    .stderr_has("web1 (100): shutdown OK");
    assert_eq!(status_of(&fake, 100), "stopped");

    act(&fake, &["vm", "start", "100"], &p("start"), "");
    act(
        &fake,
        &[
            "vm",
            "stop",
            "100",
            "--timeout",
            "20",
            "--overrule-shutdown",
        ],
        &p("stop"),
        "timeout=20&overrule-shutdown=1",
    )
    .stderr_has("web1 (100): stop OK");
    assert_eq!(status_of(&fake, 100), "stopped");

    // A clean shutdown (the kebab-case spelling of the flag works too).
    act(&fake, &["vm", "start", "100"], &p("start"), "");
    fake.exec("pve.vm(100).shutdown_secs = 5");
    act(
        &fake,
        &["vm", "shutdown", "web1", "--force-stop"],
        &p("shutdown"),
        "forceStop=1",
    );
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn vm_verbs_by_glob_act_on_every_match_and_nothing_else() {
    let fake = Fake::with(
        "pve.add_node('pve2')\n\
         pve.add_vm(100, 'web-1')\n\
         pve.add_vm(101, 'web-2', node='pve2')\n\
         pve.add_vm(102, 'db-1')\n\
         pve.add_ct(200, 'web-ct')",
    );
    fake.clear_requests();
    let run = fake.run(&["vm", "start", "web-*"]);
    run.success()
        .stderr_has("web-1 (100): start OK")
        .stderr_has("web-2 (101): start OK");
    let mut sent: Vec<String> = posts(&fake).into_iter().map(|(p, _)| p).collect();
    sent.sort();
    assert_eq!(
        sent,
        vec![
            "/nodes/pve1/qemu/100/status/start",
            "/nodes/pve2/qemu/101/status/start"
        ]
    );
    assert_eq!(status_of(&fake, 100), "running");
    assert_eq!(status_of(&fake, 101), "running");
    assert_eq!(status_of(&fake, 102), "stopped");
    assert_eq!(status_of(&fake, 200), "stopped", "a container is no VM");
    // Two targets: a summary table on stderr.
    run.stderr_has("TARGET").stderr_has("RESULT");
}

// ------------------------------------------------------------------------------------ ct verbs

#[test]
fn ct_power_verbs_by_name_and_glob() {
    let fake = Fake::with("pve.add_ct(200, 'db1')\npve.add_ct(201, 'db2')");
    let p = |vmid: u32, action: &str| format!("/nodes/pve1/lxc/{vmid}/status/{action}");

    act(
        &fake,
        &["ct", "start", "db1", "--debug"],
        &p(200, "start"),
        "debug=1",
    )
    .stderr_has("db1 (200): start OK");
    assert_eq!(status_of(&fake, 200), "running");

    act(&fake, &["ct", "suspend", "db1"], &p(200, "suspend"), "")
        .stderr_has("db1 (200): suspend OK");
    let g = guest(&fake, 200);
    assert_eq!(g["checkpoint"], true, "suspended to a checkpoint: {g}");

    act(&fake, &["ct", "resume", "db1"], &p(200, "resume"), "").stderr_has("db1 (200): resume OK");
    assert_eq!(status_of(&fake, 200), "running");

    act(
        &fake,
        &["ct", "reboot", "200", "--timeout", "20"],
        &p(200, "reboot"),
        "timeout=20",
    )
    .stderr_has("db1 (200): reboot OK");
    assert_eq!(status_of(&fake, 200), "running");

    act(
        &fake,
        &["ct", "shutdown", "db1", "--forceStop", "--timeout", "15"],
        &p(200, "shutdown"),
        "timeout=15&forceStop=1",
    )
    .stderr_has("db1 (200): shutdown OK");
    assert_eq!(status_of(&fake, 200), "stopped");

    // A glob: both containers.
    fake.clear_requests();
    let run = fake.run(&["ct", "start", "db*"]);
    run.success();
    assert_eq!(posts(&fake).len(), 2, "{:?}", posts(&fake));
    assert_eq!(status_of(&fake, 200), "running");
    assert_eq!(status_of(&fake, 201), "running");

    act(&fake, &["ct", "stop", "db2"], &p(201, "stop"), "").stderr_has("db2 (201): stop OK");
    assert_eq!(status_of(&fake, 201), "stopped");
    assert_eq!(status_of(&fake, 200), "running");
}

#[test]
fn ct_reset_is_refused_before_any_request() {
    let fake = Fake::with("pve.add_ct(200, 'db1', status='running')");
    fake.clear_requests();
    let run = fake.run(&["ct", "reset", "db1"]);
    // `ct --help` has no reset; the error says where the verb lives.
    run.not_for_this_kind(
        "reset",
        "`pvectl vm reset` exists, but containers have no `reset`",
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    assert_eq!(status_of(&fake, 200), "running");
}

#[test]
fn a_flag_the_kind_lacks_is_a_usage_error() {
    let fake = Fake::with("pve.add_ct(200, 'db1')\npve.add_vm(100, 'web1', status='running')");
    fake.clear_requests();
    for (args, flag, tip) in [
        (
            &["ct", "start", "db1", "--machine", "q35"][..],
            "--machine",
            "`pvectl vm start`; containers",
        ),
        (
            &["ct", "start", "db1", "--timeout", "5"][..],
            "--timeout",
            "`pvectl vm start`; containers",
        ),
        (
            &["vm", "start", "web1", "--debug"][..],
            "--debug",
            "`pvectl ct start`; VMs",
        ),
        (
            &["ct", "suspend", "db1", "--todisk"][..],
            "--todisk",
            "`pvectl vm suspend`; containers",
        ),
        (
            &["ct", "stop", "db1", "--keepActive"][..],
            "--keepActive",
            "`pvectl vm stop`; containers",
        ),
    ] {
        fake.run(args).not_for_this_kind(
            flag,
            &format!("{flag} is an option of {tip} have no such parameter"),
        );
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    assert_eq!(status_of(&fake, 200), "stopped");
}

// --------------------------------------------------------------------------------- idempotency

#[test]
fn starting_a_running_guest_or_stopping_a_stopped_one_sends_nothing() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web1', status='running')\n\
         pve.add_vm(101, 'web2')\n\
         pve.add_ct(200, 'db1', status='running')\n\
         pve.add_ct(201, 'db2')",
    );
    for (args, said, guest) in [
        (
            &["vm", "start", "web1"][..],
            "web1 (100): already running",
            "qemu/100",
        ),
        (
            &["vm", "stop", "web2"][..],
            "web2 (101): already stopped",
            "qemu/101",
        ),
        (
            &["vm", "shutdown", "101"][..],
            "web2 (101): already stopped",
            "qemu/101",
        ),
        (
            &["ct", "start", "200"][..],
            "db1 (200): already running",
            "lxc/200",
        ),
        (
            &["ct", "stop", "db2"][..],
            "db2 (201): already stopped",
            "lxc/201",
        ),
        (
            &["ct", "shutdown", "db2"][..],
            "db2 (201): already stopped",
            "lxc/201",
        ),
    ] {
        fake.clear_requests();
        let run = fake.run(args);
        run.success().stderr_has(said);
        assert_eq!(run.stdout, "");
        let status = format!("GET /nodes/pve1/{guest}/status/current");
        if args[2].parse::<u32>().is_ok() {
            // A VMID an earlier lookup saw: its node is asked at once, and its answer is the
            // guest's own state (nothing to confirm).
            assert_eq!(seen(&fake), vec![status], "{args:?}");
        } else {
            // The state in /cluster/resources may lag: the guest's own status confirms it.
            assert_eq!(
                seen(&fake),
                vec!["GET /cluster/resources".to_string(), status],
                "{args:?}"
            );
        }
    }
    assert!(upids(&fake).is_empty(), "no task was started");
    assert_eq!(status_of(&fake, 100), "running");
    assert_eq!(status_of(&fake, 101), "stopped");

    // The same in JSON: a result without a task.
    let run = fake.run(&["-o", "json", "vm", "start", "web1"]);
    run.success();
    let v = run.json();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["ok"], true);
    assert_eq!(v[0]["upid"], Value::Null);
    assert_eq!(v[0]["action"], "start");
    assert_eq!(v[0]["message"], "already running");
}

// ---------------------------------------------------------------------------------- failures

#[test]
fn a_locked_guest_fails_as_pve_says() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web1', lock='backup')\n\
         pve.add_vm(101, 'web2', status='running', lock='backup')\n\
         pve.add_ct(200, 'db1', lock='backup')",
    );
    // A start checks the lock inside its worker: the task fails (8) with PVE's message.
    let run = fake.run(&["vm", "start", "web1"]);
    run.failure(8)
        .stderr_has("web1 (100): start failed: VM is locked (backup)")
        .stderr_has("--- last lines of the task log (UPID:pve1:")
        .stderr_has("TASK ERROR: VM is locked (backup)");
    assert_eq!(run.stdout, "");
    let upid = upid_in(&fake, &run.stderr);
    assert_eq!(task(&fake, &upid)["exitstatus"], "VM is locked (backup)");
    assert_eq!(status_of(&fake, 100), "stopped");

    // A stop is refused at once (HTTP 500): the API refused the request (6), no task.
    let before = upids(&fake).len();
    let run = fake.run(&["vm", "stop", "web2"]);
    run.failure(6)
        .stderr_has("web2 (101): stop failed: VM is locked (backup)");
    assert_eq!(upids(&fake).len(), before);
    assert_eq!(status_of(&fake, 101), "running");

    let run = fake.run(&["ct", "start", "db1"]);
    run.failure(8)
        .stderr_has("db1 (200): start failed: CT is locked (backup)");
    assert_eq!(status_of(&fake, 200), "stopped");

    // Another task holds the config lock: the worker cannot take it, the task fails.
    fake.exec("pve.unlock(100)\nawait pve.hold_config_lock(100, None)");
    let run = fake.run(&["vm", "start", "web1"]);
    run.failure(8).stderr_has(
        "web1 (100): start failed: can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout",
    );
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn a_failed_task_exits_8_with_the_end_of_its_log() {
    let fake = Fake::with(
        "vm = pve.add_vm(100, 'web1')\n\
         vm.start_error = 'start failed: QEMU exited with code 1'",
    );
    let run = fake.run(&["vm", "start", "web1"]);
    run.failure(8)
        .stderr_has("web1 (100): start failed: QEMU exited with code 1\n")
        .stderr_has("    TASK ERROR: start failed: QEMU exited with code 1");
    assert_eq!(run.stdout, "");
    let upid = upid_in(&fake, &run.stderr);
    let t = task(&fake, &upid);
    assert_eq!(t["status"], "stopped");
    assert_eq!(t["exitstatus"], "start failed: QEMU exited with code 1");
    assert_eq!(status_of(&fake, 100), "stopped");
    // The verdict needs the log; the status was polled and the log read.
    let reqs = seen(&fake);
    assert!(
        reqs.contains(&format!("GET /nodes/pve1/tasks/{upid}/log")),
        "{reqs:?}"
    );
}

#[test]
fn an_ha_managed_guest_is_reported_started_only_once_it_runs() {
    // PVE's hastart/hastop task ends at once; the HA manager acts 10 PVE seconds (0.5 s) later.
    let fake = Fake::with_time_scale(0.05);
    fake.exec(
        "vm = pve.add_vm(100, 'web1')\nvm.ha_state = 'stopped'\n\
         ct = pve.add_ct(200, 'db1')\nct.ha_state = 'stopped'",
    );
    for (args, vmid, want) in [
        (&["vm", "start", "web1"][..], 100, "running"),
        (&["vm", "stop", "web1"][..], 100, "stopped"),
        (&["ct", "start", "db1"][..], 200, "running"),
        (&["ct", "shutdown", "db1"][..], 200, "stopped"),
    ] {
        let run = fake.run(args);
        run.success();
        assert_eq!(status_of(&fake, vmid), want, "{args:?}:\n{}", run.stderr);
    }
    assert_eq!(
        task_types(&fake),
        ["hastart", "hastop", "hastart", "hastop"]
    );

    // An HA manager that does not act in time: exit 9, and no `tasks wait` hint (the task is over).
    fake.exec("pve.ha_delay = 1000");
    let run = fake.run(&["vm", "start", "web1", "--wait-timeout", "1s"]);
    run.failure(9)
        .stderr_has("web1 (100): start not done yet: the HA manager took the request, but the guest is not running after 1s");
    assert!(!run.stderr.contains("pvectl tasks wait"), "{}", run.stderr);
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn a_shutdown_outliving_wait_timeout_exits_9_and_keeps_running() {
    let fake = Fake::with_time_scale(0.05);
    // The shutdown needs 5 s; the client gives up after 1 s.
    fake.exec("vm = pve.add_vm(100, 'web1', status='running')\nvm.shutdown_secs = 100");
    let started = Instant::now();
    let run = fake.run(&["vm", "shutdown", "web1", "--wait-timeout", "1s"]);
    let took = started.elapsed();
    run.failure(9).stderr_has("gave up waiting after 1s");
    assert_eq!(run.stdout, "");
    assert!(took < Duration::from_secs(4), "waited {took:?}");
    let upid = upid_in(&fake, &run.stderr);
    run.stderr_has(&format!("pvectl tasks wait {upid}"));
    // The hint is given once, not twice.
    assert_eq!(
        run.stderr.matches("pvectl tasks wait").count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(task(&fake, &upid)["status"], "running");
    assert_eq!(status_of(&fake, 100), "running");

    // `tasks wait` with its own limit gives up the same way.
    let run = fake.run(&["tasks", "wait", &upid, "--wait-timeout", "1s"]);
    run.failure(9).stderr_has(&upid);
    assert_eq!(task(&fake, &upid)["status"], "running");
}

#[test]
fn permission_denied_shows_path_and_privilege() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web1')\n\
         pve.apitokens['ops@pve!cli'] = 'ops-secret'\n\
         pve.grant('ops@pve', '/vms', 'VM.Audit')",
    );
    let run = common::run_cmd(
        fake.cmd()
            .env("PROXMOX_TOKEN", "ops@pve!cli=ops-secret")
            .args(["vm", "start", "web1"]),
    );
    run.failure(4)
        .stderr_has("Permission check failed (/vms/100, VM.PowerMgmt)")
        .stderr_has("hint:")
        .stderr_has("privilege-separated token");
    assert_eq!(run.stdout, "");
    assert!(upids(&fake).is_empty());
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn lost_quorum_is_refused_with_6() {
    let fake = Fake::with("pve.add_vm(100, 'web1')\npve.lose_quorum()");
    let run = fake.run(&["vm", "start", "web1"]);
    run.failure(6)
        .stderr_has("web1 (100): start failed: cluster not ready - no quorum?");
    assert_eq!(run.stdout, "");
    assert!(upids(&fake).is_empty());
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn a_guest_on_an_offline_node_exits_7() {
    let fake = Fake::with(
        "pve.add_node('pve2')\n\
         pve.add_vm(101, 'web2', node='pve2')\n\
         pve.set_node_offline('pve2')",
    );
    let run = fake.run(&["vm", "start", "web2"]);
    run.failure(7)
        .stderr_has("web2 (101): start failed:")
        .stderr_has("595")
        .stderr_has("No route to host");
    assert_eq!(run.stdout, "");
    assert!(upids(&fake).is_empty());
    assert_eq!(status_of(&fake, 101), "stopped");
}

#[test]
fn a_flaky_network_while_polling_does_not_change_the_verdict() {
    let fake = Fake::with_time_scale(0.02);
    // Once the task exists (the POST has been answered), drop connections: with this seed the first
    // six requests after it are reset, so the status poll fails several times in a row.
    fake.exec(
        "vm = pve.add_vm(100, 'web1', status='running')\n\
         vm.shutdown_secs = 40\n\
         async def flaky_once_the_task_runs():\n\
         \x20   while not pve.tasks:\n\
         \x20       await asyncio.sleep(0.002)\n\
         \x20   pve._random.seed(4)\n\
         \x20   pve.flaky_network(drop_rate=0.5)\n\
         asyncio.ensure_future(flaky_once_the_task_runs())",
    );
    let run = fake.run(&["-v", "vm", "shutdown", "web1"]);
    run.success().stderr_has("web1 (100): shutdown OK");
    assert_eq!(run.stdout, "");
    let dropped = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("http: GET /nodes/pve1/tasks/") && l.contains(" error "))
        .count();
    assert!(
        dropped >= 3,
        "expected dropped polls in the trace:\n{}",
        run.stderr
    );
    assert_eq!(status_of(&fake, 100), "stopped");
    let upid = upid_in(&fake, &run.stderr);
    assert_eq!(task(&fake, &upid)["exitstatus"], "OK");
    assert_eq!(posts(&fake).len(), 1, "the POST is not repeated");
}

#[test]
fn ctrl_c_while_waiting_exits_130_and_leaves_the_task_running() {
    let fake = Fake::with_time_scale(0.05);
    fake.exec("vm = pve.add_vm(100, 'web1', status='running')\nvm.shutdown_secs = 200");
    let mut child = spawn(&fake, &["vm", "shutdown", "web1"]);
    let (seen, rest) = stderr_until(&mut child, "shutdown task UPID");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let run = finish(child, rest, seen, Duration::from_secs(5));
    run.failure(130).stderr_has("interrupted");
    assert_eq!(run.stdout, "");
    let upid = upid_in(&fake, &run.stderr);
    run.stderr_has(&format!("pvectl tasks wait {upid}"));
    assert_eq!(
        task(&fake, &upid)["status"],
        "running",
        "Ctrl-C never cancels the task"
    );
    assert_eq!(status_of(&fake, 100), "running");
    assert!(
        !fake.requests().iter().any(|(m, _, _)| m == "DELETE"),
        "nothing was stopped"
    );
}

#[test]
fn an_unknown_guest_among_several_starts_nothing() {
    let fake = Fake::with("pve.add_vm(100, 'web1')\npve.add_vm(101, 'web2')");
    for args in [
        &["vm", "start", "100", "999", "101"][..],
        &["vm", "start", "web1", "nosuch", "web2"][..],
        &["vm", "start", "web1", "nosuch-*"][..],
    ] {
        fake.clear_requests();
        let run = fake.run(args);
        run.failure(5);
        assert_eq!(run.stdout, "");
        assert!(
            run.stderr.contains("999") || run.stderr.contains("nosuch"),
            "{}",
            run.stderr
        );
        assert!(posts(&fake).is_empty(), "{args:?}: {:?}", posts(&fake));
    }
    assert_eq!(status_of(&fake, 100), "stopped");
    assert_eq!(status_of(&fake, 101), "stopped");
}

#[test]
fn a_guest_of_the_other_kind_is_a_usage_error() {
    let fake = Fake::with("pve.add_vm(100, 'web1')\npve.add_ct(200, 'db1')");
    let run = fake.run(&["vm", "start", "200"]);
    run.failure(2)
        .stderr_has("200 is a container: use 'pvectl ct");
    let run = fake.run(&["vm", "start", "web1", "db1"]);
    run.failure(2)
        .stderr_has("'db1' (200) is a container: use 'pvectl ct");
    // The name as typed, with the VMID it stands for.
    let run = fake.run(&["ct", "stop", "web1"]);
    run.failure(2)
        .stderr_has("'web1' (100) is a VM: use 'pvectl vm");
    assert!(posts(&fake).is_empty(), "{:?}", posts(&fake));
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn an_ambiguous_name_lists_the_guests_and_starts_nothing() {
    let fake = Fake::with(
        "pve.add_node('pve2')\n\
         pve.add_vm(100, 'dup')\n\
         pve.add_vm(101, 'dup', node='pve2')\n\
         pve.add_vm(102, 'web1')",
    );
    let run = fake.run(&["vm", "start", "web1", "dup"]);
    run.failure(2)
        .stderr_has("100 on pve1")
        .stderr_has("101 on pve2")
        .stderr_has("use the VMID");
    assert!(posts(&fake).is_empty(), "{:?}", posts(&fake));
    assert_eq!(status_of(&fake, 102), "stopped");
}

#[test]
fn quiet_silences_progress_but_not_failures() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web1')\n\
         vm = pve.add_vm(101, 'web2')\n\
         vm.start_error = 'start failed: no such disk'",
    );
    let run = fake.run(&["-q", "vm", "start", "web1"]);
    run.success();
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert_eq!(status_of(&fake, 100), "running");
    let run = fake.run(&["-q", "vm", "start", "web2"]);
    run.failure(8)
        .stderr_has("web2 (101): start failed: no such disk\n");
    assert!(!run.stderr.contains(" started "), "{}", run.stderr);
}

#[test]
fn a_malformed_wait_timeout_is_a_usage_error() {
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    fake.clear_requests();
    fake.run(&["vm", "start", "web1", "--wait-timeout", "soon"])
        .failure(2)
        .stderr_has("--wait-timeout");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn a_refused_action_shows_pve_message() {
    // PVE refuses a reset of a VM that is not running at once (HTTP 500).
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    let run = fake.run(&["vm", "reset", "web1"]);
    run.failure(6)
        .stderr_has("web1 (100): reset failed: VM 100 not running");
    assert_eq!(posts(&fake).len(), 1);
    assert!(upids(&fake).is_empty());
}

// --------------------------------------------------------------------------------- selectors

fn selector_cluster() -> Fake {
    Fake::with(
        "pve.add_node('pve2')\n\
         pve.add_vm(100, 'web1', config={'tags': 'prod'}, pool='pool1')\n\
         pve.add_vm(101, 'web2', node='pve2', config={'tags': 'test'})\n\
         pve.add_vm(102, 'web3', node='pve2', status='running', config={'tags': 'prod;db'})\n\
         pve.add_vm(103, 'tmpl', template=True)\n\
         pve.add_ct(200, 'db1', config={'tags': 'prod'})",
    )
}

fn started_vmids(fake: &Fake) -> Vec<u32> {
    let mut ids: Vec<u32> = posts(fake)
        .iter()
        .map(|(p, _)| p.split('/').nth(4).unwrap().parse().unwrap())
        .collect();
    ids.sort();
    ids
}

#[test]
fn selectors_without_a_terminal_need_yes() {
    let fake = selector_cluster();
    for sel in [
        &["--all"][..],
        &["--tag", "prod"][..],
        &["--pool", "pool1"][..],
        &["--node", "pve2"][..],
        &["--status", "stopped"][..],
    ] {
        fake.clear_requests();
        let mut args = vec!["vm", "start"];
        args.extend_from_slice(sel);
        let run = fake.run(&args);
        run.failure(2).stderr_has("--yes");
        assert_eq!(run.stdout, "");
        assert!(posts(&fake).is_empty(), "{sel:?} started something");
    }
    assert!(upids(&fake).is_empty());
    for vmid in [100, 101, 200] {
        assert_eq!(status_of(&fake, vmid), "stopped");
    }
}

#[test]
fn selectors_with_yes_act_on_every_target() {
    for (sel, want) in [
        (&["--all"][..], vec![100, 101]), // 102 is already running, 103 is a template, 200 a container
        (&["--tag", "prod"][..], vec![100]),
        (&["--pool", "pool1"][..], vec![100]),
        (&["--node", "pve2"][..], vec![101]),
        (&["--status", "stopped"][..], vec![100, 101]),
    ] {
        let fake = selector_cluster();
        fake.clear_requests();
        let mut args = vec!["vm", "start", "--yes"];
        args.extend_from_slice(sel);
        let run = fake.run(&args);
        run.success();
        assert_eq!(run.stdout, "");
        assert_eq!(started_vmids(&fake), want, "{sel:?}");
        for vmid in &want {
            assert_eq!(status_of(&fake, *vmid), "running", "{sel:?}");
        }
        assert_eq!(
            status_of(&fake, 103),
            "stopped",
            "templates are never picked"
        );
        assert_eq!(status_of(&fake, 200), "stopped");
    }
    // --all also lists the running guest, which needs nothing.
    let fake = selector_cluster();
    let run = fake.run(&["vm", "start", "--all", "-y"]);
    run.success().stderr_has("web3 (102): already running");

    // A stop picked by state.
    let run = fake.run(&["vm", "stop", "--status", "running", "--yes"]);
    run.success();
    for vmid in [100, 101, 102] {
        assert_eq!(status_of(&fake, vmid), "stopped");
    }
}

#[test]
fn explicit_guests_need_no_yes() {
    let fake = selector_cluster();
    fake.clear_requests();
    // Named guests, even filtered by a selector, are not a selection to confirm.
    let run = fake.run(&["vm", "start", "web1", "web2"]);
    run.success();
    assert_eq!(started_vmids(&fake), vec![100, 101]);
    fake.clear_requests();
    let run = fake.run(&["vm", "stop", "web*", "--node", "pve2"]);
    run.success();
    assert_eq!(started_vmids(&fake), vec![101, 102]);
    assert_eq!(status_of(&fake, 100), "running");
}

#[test]
fn parallel_bounds_how_many_tasks_run_at_once() {
    // Each start takes 0.5 s on the server; the fake notes, at every start POST, how many tasks
    // are running.
    let setup = "pve.add_vm(100, 'a1')\npve.add_vm(101, 'a2')\npve.add_vm(102, 'a3')\n\
                 for v in pve.vms: v.start_secs = 50\n\
                 pve.running_at_post = []\n\
                 def _rec(request, body, _pve=pve, _orig=pve._record):\n\
                 \x20   if request.method == 'POST' and request.path.endswith('/status/start'):\n\
                 \x20       _pve.running_at_post.append(sum(1 for t in _pve.tasklog if t['status'] == 'running'))\n\
                 \x20   _orig(request, body)\n\
                 pve._record = _rec";
    let running_at_posts = |fake: &Fake| -> Vec<u64> {
        fake.exec("result = pve.running_at_post")
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };

    let fake = Fake::with_time_scale(0.01);
    fake.exec(setup);
    fake.run(&["vm", "start", "a1", "a2", "a3", "--parallel", "1"])
        .success();
    // One at a time: each task has ended before the next POST.
    assert_eq!(running_at_posts(&fake), vec![0, 0, 0]);

    let fake = Fake::with_time_scale(0.01);
    fake.exec(setup);
    fake.run(&["vm", "start", "a1", "a2", "a3"]).success();
    // By default (4 at once) all three are started while the first still runs.
    assert_eq!(running_at_posts(&fake), vec![0, 1, 2]);
    for vmid in [100, 101, 102] {
        assert_eq!(status_of(&fake, vmid), "running");
    }
}

#[test]
fn the_first_failure_in_target_order_decides_the_exit_code() {
    let fake = Fake::with(
        "pve.add_node('pve2')\n\
         pve.add_vm(100, 'ok1')\n\
         pve.add_vm(101, 'off', node='pve2')\n\
         pve.add_vm(102, 'locked', lock='backup')\n\
         pve.add_vm(103, 'ok2')\n\
         pve.set_node_offline('pve2')",
    );
    let run = fake.run(&["vm", "start", "ok1", "off", "locked", "ok2"]);
    run.failure(7)
        .stderr_has("TARGET")
        .stderr_has("RESULT")
        .stderr_has("FAILED:");
    assert_eq!(run.stdout, "");
    // Every target was tried: the others still started.
    assert_eq!(status_of(&fake, 100), "running");
    assert_eq!(status_of(&fake, 103), "running");
    assert_eq!(posts(&fake).len(), 4);
    // The summary has one row per target, in target order.
    let rows: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("TARGET"))
        .skip(1)
        .collect();
    assert_eq!(rows.len(), 4, "{}", run.stderr);
    assert!(
        rows[0].starts_with("ok1 (100)") && rows[0].contains("OK"),
        "{rows:?}"
    );
    assert!(
        rows[1].starts_with("off (101)") && rows[1].contains("FAILED"),
        "{rows:?}"
    );
    assert!(
        rows[2].starts_with("locked (102)") && rows[2].contains("FAILED"),
        "{rows:?}"
    );
    assert!(rows[3].starts_with("ok2 (103)"), "{rows:?}");

    // The other order: the task failure comes first.
    let run = fake.run(&["vm", "start", "locked", "off"]);
    run.failure(8);
}

// ----------------------------------------------------------------------------- output modes

#[test]
fn json_output_has_one_object_per_target() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web1')\n\
         pve.add_vm(101, 'web2', status='running')\n\
         vm = pve.add_vm(102, 'web3')\n\
         vm.start_error = 'start failed: no such disk'",
    );
    let run = fake.run(&["-o", "json", "vm", "start", "web1", "web2", "web3"]);
    run.failure(8);
    let v = run.json();
    let list = v.as_array().expect("a JSON array");
    assert_eq!(list.len(), 3);
    for (obj, (vmid, name)) in list
        .iter()
        .zip([(100, "web1"), (101, "web2"), (102, "web3")])
    {
        for key in [
            "vmid",
            "name",
            "node",
            "type",
            "action",
            "upid",
            "exitstatus",
            "ok",
            "warnings",
            "duration_s",
        ] {
            assert!(obj.get(key).is_some(), "{key} missing in {obj}");
        }
        assert_eq!(obj["vmid"], vmid);
        assert_eq!(obj["name"], name);
        assert_eq!(obj["node"], "pve1");
        assert_eq!(obj["type"], "qemu");
        assert_eq!(obj["action"], "start");
        assert!(obj["warnings"].as_array().unwrap().is_empty());
        assert!(obj["duration_s"].is_number());
    }
    let upid = list[0]["upid"].as_str().unwrap();
    assert_eq!(task(&fake, upid)["type"], "qmstart");
    assert_eq!(
        (list[0]["exitstatus"].as_str(), list[0]["ok"].as_bool()),
        (Some("OK"), Some(true))
    );
    assert_eq!(list[1]["upid"], Value::Null);
    assert_eq!(list[1]["ok"], true);
    assert_eq!(list[2]["ok"], false);
    assert_eq!(list[2]["exitstatus"], "start failed: no such disk");
    assert!(list[2]["upid"].as_str().unwrap().contains(":qmstart:102:"));
    // The failure is still told on stderr; the array is the summary, so no table there.
    run.stderr_has("start failed: no such disk");
    assert!(!run.stderr.contains("TARGET"), "{}", run.stderr);
}

#[test]
fn no_wait_prints_the_upids_and_does_not_poll() {
    let fake = Fake::with_time_scale(0.05);
    fake.exec(
        "for vmid, name in ((100, 'web1'), (101, 'web2')):\n\
         \x20   vm = pve.add_vm(vmid, name)\n\
         \x20   vm.start_secs = 100",
    );
    fake.clear_requests();
    let run = fake.run(&["vm", "start", "web1", "web2", "--no-wait"]);
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    // In target order on stdout; the server may have seen the two POSTs in either order.
    assert!(
        lines[0].contains(":qmstart:100:") && lines[1].contains(":qmstart:101:"),
        "{lines:?}"
    );
    let mut known = upids(&fake);
    known.sort();
    let mut printed = lines.clone();
    printed.sort();
    assert_eq!(printed, known);
    for l in &lines {
        assert_eq!(
            task(&fake, l)["status"],
            "running",
            "the tasks go on without us"
        );
    }
    assert!(
        !seen(&fake).iter().any(|l| l.contains("/tasks/")),
        "{:?}",
        seen(&fake)
    );

    // --async is the same flag; a script can pipe the UPID on.
    let fake = Fake::with("pve.add_ct(200, 'db1', status='running')");
    let run = fake.run(&["ct", "shutdown", "db1", "--async"]);
    run.success();
    let upid = run.stdout.trim();
    assert!(
        upid.starts_with("UPID:pve1:") && upid.contains(":vzshutdown:200:"),
        "{upid}"
    );
    assert_eq!(task(&fake, upid)["exitstatus"], "OK");
}

// ------------------------------------------------------------------------------------- tasks

#[test]
fn tasks_wait_exits_with_the_task_verdict() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web1')\n\
         vm = pve.add_vm(101, 'web2')\n\
         vm.start_error = 'start failed: QEMU exited with code 1'",
    );
    let good = fake.run(&["vm", "start", "web1", "--no-wait"]);
    let good = good.success().stdout.trim().to_string();
    let bad = fake.run(&["vm", "start", "web2", "--no-wait"]);
    let bad = bad.success().stdout.trim().to_string();

    fake.clear_requests();
    let run = fake.run(&["tasks", "wait", &good]);
    run.success().stderr_has("OK");
    assert_eq!(run.stdout, "");
    assert_eq!(
        seen(&fake),
        vec![format!("GET /nodes/pve1/tasks/{good}/status")]
    );

    // Thirty more lines in the failed task's log: only the last twenty are shown.
    fake.exec(&format!(
        "log = pve.tasks[{bad:?}]['log']\nlog[0:0] = ['line %02d' % i for i in range(30)]"
    ));
    let run = fake.run(&["tasks", "wait", &bad]);
    run.failure(8)
        .stderr_has("start failed: QEMU exited with code 1")
        .stderr_has("    TASK ERROR: start failed: QEMU exited with code 1")
        .stderr_has("    line 29");
    assert!(!run.stderr.contains("line 05"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("task failed: task failed"),
        "said twice: {}",
        run.stderr
    );

    // Both at once: the first failure decides.
    let run = fake.run(&["tasks", "wait", &good, &bad]);
    run.failure(8);

    // An unknown (well-formed) UPID is not found; a malformed one is a usage error.
    let unknown = good.replace(":qmstart:", ":qmstop:");
    fake.run(&["tasks", "wait", &unknown]).failure(5);
    fake.run(&["tasks", "wait", "not-a-upid"]).failure(2);
}

#[test]
fn tasks_log_follow_prints_lines_until_the_task_ends() {
    let fake = Fake::with_time_scale(0.05);
    fake.exec("vm = pve.add_vm(100, 'web1', status='running')\nvm.shutdown_secs = 40");
    let run = fake.run(&["vm", "shutdown", "web1", "--no-wait"]);
    let upid = run.success().stdout.trim().to_string();
    fake.exec(&format!("pve.tasks[{upid:?}]['log'].append('first line')"));

    let mut child = spawn(&fake, &["tasks", "log", &upid, "--follow"]);
    // A line logged while the command follows the task shows up too.
    std::thread::sleep(Duration::from_millis(500));
    fake.exec(&format!("pve.tasks[{upid:?}]['log'].append('second line')"));
    let stderr = child.stderr.take().unwrap();
    let run = finish(child, stderr, String::new(), Duration::from_secs(10));
    run.success();
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        vec!["first line", "second line", "TASK OK"]
    );
    run.stderr_has("OK");
    assert_eq!(task(&fake, &upid)["status"], "stopped");
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn tasks_log_follow_exits_8_when_the_task_fails() {
    let fake = Fake::with_time_scale(0.05);
    fake.exec("vm = pve.add_vm(100, 'web1', status='running')\nvm.shutdown_secs = 100");
    let run = fake.run(&["vm", "shutdown", "web1", "--timeout", "10", "--no-wait"]);
    let upid = run.success().stdout.trim().to_string();
    let run = fake.run(&["tasks", "log", &upid, "--follow"]);
    run.failure(8)
        .stderr_has("VM quit/powerdown failed - got timeout");
    assert_eq!(
        run.stdout.lines().last(),
        Some("TASK ERROR: VM quit/powerdown failed - got timeout")
    );
    assert_eq!(task(&fake, &upid)["status"], "stopped");
    assert_eq!(status_of(&fake, 100), "running");

    // With -o json the whole log is one array, and the verdict is the same.
    let run = fake.run(&["-o", "json", "tasks", "log", &upid, "--follow"]);
    run.failure(8);
    let lines = run.json();
    let last = lines.as_array().and_then(|l| l.last()).cloned();
    assert_eq!(
        last.map(|l| l["t"].clone()),
        Some(serde_json::json!(
            "TASK ERROR: VM quit/powerdown failed - got timeout"
        ))
    );
}

/// fakepve answers `DELETE /nodes/{node}/tasks/{upid}` from the schema alone and stops nothing. Teach
/// it what PVE does: kill the worker, which then ends with `received interrupt`.
fn fake_task_stop(fake: &Fake) {
    fake.exec(
        "import time\n\
         generic = pve.synthesise\n\
         async def synthesise(match, method, info, user, values):\n\
         \x20   if method == 'DELETE' and match.template == '/nodes/{node}/tasks/{upid}':\n\
         \x20       rec = pve.tasks[values['upid']]\n\
         \x20       if rec['status'] == 'running':\n\
         \x20           for t in asyncio.all_tasks():\n\
         \x20               frame = t.get_coro().cr_frame\n\
         \x20               if frame is not None and frame.f_locals.get('record') is rec:\n\
         \x20                   t.cancel()\n\
         \x20           rec.update(status='stopped', exitstatus='received interrupt', endtime=int(time.time()))\n\
         \x20           rec['log'].append('TASK ERROR: received interrupt')\n\
         \x20       return None\n\
         \x20   return await generic(match, method, info, user, values)\n\
         pve.synthesise = synthesise",
    );
}

#[test]
fn tasks_stop_stops_a_running_task() {
    let fake = Fake::with_time_scale(0.05);
    fake_task_stop(&fake);
    fake.exec("vm = pve.add_vm(100, 'web1', status='running')\nvm.shutdown_secs = 200");
    let run = fake.run(&["vm", "shutdown", "web1", "--no-wait"]);
    let upid = run.success().stdout.trim().to_string();

    fake.clear_requests();
    let run = fake.run(&["tasks", "stop", &upid]);
    run.success().stderr_has("stop requested").stderr_has(&upid);
    assert_eq!(run.stdout, "");
    assert_eq!(
        seen(&fake),
        vec![
            format!("GET /nodes/pve1/tasks/{upid}/status"),
            format!("DELETE /nodes/pve1/tasks/{upid}"),
        ]
    );
    let t = task(&fake, &upid);
    assert_eq!(t["status"], "stopped");
    assert_eq!(t["exitstatus"], "received interrupt");
    assert_eq!(status_of(&fake, 100), "running");

    // The task's verdict is now a failure.
    fake.run(&["tasks", "wait", &upid])
        .failure(8)
        .stderr_has("received interrupt");

    // Stopping an ended task sends nothing.
    fake.clear_requests();
    let run = fake.run(&["tasks", "stop", &upid]);
    run.success().stderr_has("already ended");
    assert!(
        !fake.requests().iter().any(|(m, _, _)| m == "DELETE"),
        "{:?}",
        fake.requests()
    );
}

#[test]
fn tasks_list_running_shows_a_running_task() {
    let fake = Fake::with_time_scale(0.05);
    fake.exec(
        "vm = pve.add_vm(100, 'web1', status='running')\nvm.shutdown_secs = 200\n\
         pve.add_vm(101, 'web2')",
    );
    let run = fake.run(&["vm", "start", "web2"]);
    let done = upid_in(&fake, &run.success().stderr);
    let run = fake.run(&["vm", "shutdown", "web1", "--no-wait"]);
    let running = run.success().stdout.trim().to_string();

    let run = fake.run(&["tasks", "list", "--running"]);
    run.success();
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(&running))
        .unwrap_or_else(|| panic!("running task not listed:\n{}", run.stdout));
    assert!(
        line.contains("qmshutdown") && line.contains("RUNNING"),
        "{line}"
    );
    let line = run.stdout.lines().find(|l| l.contains(&done)).unwrap();
    assert!(line.contains("qmstart") && line.contains("OK"), "{line}");

    let run = fake.run(&["-o", "json", "tasks", "list", "--running"]);
    run.success();
    let v = run.json();
    let t = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["upid"] == running.as_str())
        .expect("the running task in JSON");
    assert_eq!(t["type"], "qmshutdown");
    assert!(t.get("endtime").is_none(), "{t}");
    assert_eq!(task(&fake, &running)["status"], "running");
}

#[test]
fn every_slot_stays_busy_and_each_line_comes_when_its_task_ends() {
    // 100 takes 3 s to shut down, 101 and 102 half a second; two at once.
    let fake = Fake::with_time_scale(0.05);
    fake.exec(
        "for v, secs in ((100, 60), (101, 10), (102, 10)):\n\
         \x20   vm = pve.add_vm(v, 'g{0}'.format(v), status='running')\n\
         \x20   vm.shutdown_secs = secs",
    );
    let started = Instant::now();
    let run = fake.run(&[
        "-o",
        "json",
        "vm",
        "shutdown",
        "100",
        "101",
        "102",
        "--parallel",
        "2",
    ]);
    run.success();
    // 102 starts when 101 ends (not when 100 does): the run lasts about as long as 100.
    assert!(
        started.elapsed() < Duration::from_millis(4500),
        "{:?}",
        started.elapsed()
    );
    let pos = |text: &str| {
        run.stderr
            .find(text)
            .unwrap_or_else(|| panic!("{text}:\n{}", run.stderr))
    };
    assert!(
        pos("g101 (101): shutdown OK") < pos("g100 (100): shutdown OK"),
        "{}",
        run.stderr
    );
    assert!(
        pos("g102 (102): shutdown OK") < pos("g100 (100): shutdown OK"),
        "{}",
        run.stderr
    );
    // The JSON follows the order the guests were given.
    let vmids: Vec<u64> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["vmid"].as_u64().unwrap())
        .collect();
    assert_eq!(vmids, vec![100, 101, 102]);
    for vmid in [100, 101, 102] {
        assert_eq!(status_of(&fake, vmid), "stopped");
    }
}

#[test]
fn a_vmid_and_its_node_go_straight_to_the_node() {
    let fake = Fake::with(
        "pve.add_node('pve2')\n\
         pve.add_vm(100, 'web1')\n\
         pve.add_vm(101, 'web2', status='running')",
    );
    // Nothing to look up: the POST and one poll.
    fake.clear_requests();
    let run = fake.run(&["vm", "start", "100", "--node", "pve1"]);
    run.success().stderr_has("100: start OK");
    assert_eq!(run.stdout, "");
    let upid = upid_in(&fake, &run.stderr);
    assert_eq!(
        seen(&fake),
        vec![
            "POST /nodes/pve1/qemu/100/status/start".to_string(),
            format!("GET /nodes/pve1/tasks/{upid}/status"),
        ]
    );
    assert_eq!(status_of(&fake, 100), "running");

    // Already running: PVE's refusal, confirmed by the guest's own status, is a success.
    fake.clear_requests();
    let run = fake.run(&["vm", "start", "101", "--node", "pve1"]);
    run.success().stderr_has("101: already running");
    assert_eq!(
        seen(&fake).last().map(String::as_str),
        Some("GET /nodes/pve1/qemu/101/status/current")
    );
    assert_eq!(status_of(&fake, 101), "running");

    // Paused: start resumes it, as it does when the state was looked up first.
    fake.run(&["vm", "suspend", "101"]).success();
    assert_eq!(guest(&fake, 101)["qmpstatus"], "paused");
    let run = fake.run(&["-o", "json", "vm", "start", "101", "--node", "pve1"]);
    run.success();
    assert_eq!(run.json()[0]["message"], "resumed (it was paused)");
    assert_eq!(guest(&fake, 101)["qmpstatus"], "running");

    // The wrong node: PVE has no such guest there; nothing is started anywhere.
    fake.run(&["vm", "stop", "100"]).success();
    fake.clear_requests();
    let run = fake.run(&["vm", "start", "100", "--node", "pve2"]);
    run.failure(5).stderr_has("100");
    assert_eq!(status_of(&fake, 100), "stopped");
}

// ------------------------------------------------------------ where a guest was last seen

/// The requests of a power verb on a guest found through its node: that node's status of it, the
/// action, one poll of its task.
#[track_caller]
fn found_through_its_node(fake: &Fake, node: &str, guest: &str, action: &str) {
    let seen = seen(fake);
    let at = format!("/nodes/{node}/{guest}");
    let tasks = format!("GET /nodes/{node}/tasks/");
    assert!(
        seen.len() == 3
            && seen[0] == format!("GET {at}/status/current")
            && seen[1] == format!("POST {at}/status/{action}")
            && seen[2].starts_with(&tasks),
        "{seen:?}"
    );
}

#[test]
fn a_vmid_goes_to_the_node_the_last_lookup_saw_it_on() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web1')\n\
         pve.add_vm(101, 'web2', node='pve2')\n\
         pve.add_ct(200, 'db1', node='pve2')",
    );
    // Nothing seen yet: the lookup, the start, one poll.
    act(
        &fake,
        &["vm", "start", "100"],
        "/nodes/pve1/qemu/100/status/start",
        "",
    );
    assert_eq!(seen(&fake)[0], "GET /cluster/resources");
    assert_eq!(seen(&fake).len(), 3, "{:?}", seen(&fake));
    // What the lookup saw is kept, for the owner only: VMID, kind and node of every guest.
    let file = hint_file(&fake);
    let kept = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = kept.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        ["100\tqemu\tpve1", "101\tqemu\tpve2", "200\tlxc\tpve2"]
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        !kept.contains(common::TOKEN_SECRET) && !name.contains("root") && !name.contains("pam")
    );

    // Now the guest's node is asked at once: still three requests, none of them the cluster's
    // list; the name comes from the node's answer.
    let run = act(
        &fake,
        &["vm", "start", "101"],
        "/nodes/pve2/qemu/101/status/start",
        "",
    );
    run.stderr_has("web2 (101): start OK");
    found_through_its_node(&fake, "pve2", "qemu/101", "start");
    assert_eq!(status_of(&fake, 101), "running");
    // Containers alike; and a state the node gave needs no second look.
    let run = act(
        &fake,
        &["ct", "start", "200"],
        "/nodes/pve2/lxc/200/status/start",
        "",
    );
    run.stderr_has("db1 (200): start OK");
    fake.clear_requests();
    fake.run(&["ct", "start", "200"])
        .success()
        .stderr_has("db1 (200): already running");
    assert_eq!(
        common::helpers::seen(&fake),
        ["GET /nodes/pve2/lxc/200/status/current"]
    );
    // Read commands too: the status of 101 is the answer of its node, asked once.
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "vm", "status", "101"]);
    run.success();
    assert_eq!(run.json()["name"], "web2");
    assert_eq!(run.json()["status"], "running");
    assert_eq!(run.json()["node"], "pve2");
    assert_eq!(
        common::helpers::seen(&fake),
        ["GET /nodes/pve2/qemu/101/status/current"]
    );
    // The table shows a paused VM as paused, as when it was looked up.
    fake.exec("pve.vm(101).qmpstatus = 'paused'");
    let run = fake.run(&["vm", "status", "101"]);
    run.success();
    assert!(
        run.stdout
            .lines()
            .any(|l| l.split_whitespace().eq(["status", "paused"])),
        "{}",
        run.stdout
    );
}

#[test]
fn a_guest_that_moved_or_changed_kind_since_is_looked_up_again() {
    let fake = Fake::with("pve.add_vm(100, 'web1')\npve.add_vm(101, 'web2')");
    fake.run(&["vm", "list"]).success();
    assert!(std::fs::read_to_string(hint_file(&fake))
        .unwrap()
        .contains("100\tqemu\tpve1\n"));

    // Moved to pve2 (by someone else): pve1 says it has no such guest, the lookup finds it.
    fake.exec("pve.vm(100).node = 'pve2'");
    let run = act(
        &fake,
        &["vm", "start", "100"],
        "/nodes/pve2/qemu/100/status/start",
        "",
    );
    run.stderr_has("web1 (100): start OK");
    assert_eq!(
        seen(&fake)[..3],
        [
            "GET /nodes/pve1/qemu/100/status/current",
            "GET /cluster/resources",
            "POST /nodes/pve2/qemu/100/status/start"
        ]
    );
    assert_eq!(status_of(&fake, 100), "running");
    // … and the new place is kept.
    assert!(std::fs::read_to_string(hint_file(&fake))
        .unwrap()
        .contains("100\tqemu\tpve2\n"));

    // Destroyed, and the VMID reused by a container: the VM verb says what 101 is now.
    fake.exec("pve.vms.remove(pve.vm(101))\npve.add_ct(101, 'db1')");
    fake.clear_requests();
    let run = fake.run(&["vm", "start", "101"]);
    run.one_error(2)
        .stderr_has("101 is a container: use 'pvectl ct");
    assert_eq!(
        seen(&fake),
        [
            "GET /nodes/pve1/qemu/101/status/current",
            "GET /cluster/resources"
        ]
    );
    assert_eq!(status_of(&fake, 101), "stopped");

    // The node it was seen on is down: the lookup has the last word, as without the hint.
    fake.run(&["vm", "stop", "100"]).success();
    fake.exec("pve.set_node_offline('pve2')");
    fake.clear_requests();
    let run = fake.run(&["vm", "start", "100"]);
    run.failure(7).stderr_has(
        "web1 (100): start failed: a node behind the server cannot be reached (HTTP 595)",
    );
    assert_eq!(
        seen(&fake),
        [
            "GET /nodes/pve2/qemu/100/status/current",
            "GET /cluster/resources",
            "POST /nodes/pve2/qemu/100/status/start"
        ]
    );
}

#[test]
fn a_paused_vm_found_through_its_node_is_resumed_at_once() {
    let fake = Fake::with("pve.add_vm(100, 'web1', status='running')");
    fake.run(&["vm", "list"]).success();
    fake.run(&["vm", "suspend", "100"]).success();
    assert_eq!(guest(&fake, 100)["qmpstatus"], "paused");
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "vm", "start", "100"]);
    run.success();
    assert_eq!(run.json()[0]["message"], "resumed (it was paused)");
    assert_eq!(guest(&fake, 100)["qmpstatus"], "running");
    // The node's answer says paused: no second look, no start sent.
    found_through_its_node(&fake, "pve1", "qemu/100", "resume");
}

#[test]
fn a_migration_pvectl_saw_through_moves_the_guest_in_the_kept_nodes() {
    // A container: fakepve carries out container migrations (a VM's it only answers).
    let fake = Fake::with("pve.add_ct(200, 'db1')\npve.add_node('pve2')");
    fake.run(&["ct", "migrate", "200", "pve2"]).success();
    assert_eq!(guest(&fake, 200)["node"], "pve2");
    assert!(std::fs::read_to_string(hint_file(&fake))
        .unwrap()
        .contains("200\tlxc\tpve2\n"));
    // The next command asks pve2 at once, not the node the guest left.
    act(
        &fake,
        &["ct", "start", "200"],
        "/nodes/pve2/lxc/200/status/start",
        "",
    );
    found_through_its_node(&fake, "pve2", "lxc/200", "start");
    assert_eq!(status_of(&fake, 200), "running");
}

#[test]
fn a_refused_login_is_not_asked_twice_differently() {
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    fake.run(&["vm", "list"]).success();
    fake.clear_requests();
    // A revoked token: the node says 401, and so does the lookup; the error is the login's.
    fake.exec("pve.apitokens['root@pam!cli'] = 'another-secret'");
    let run = fake.run(&["vm", "start", "100"]);
    run.one_error(4).stderr_has("authentication failed");
    assert_eq!(
        seen(&fake),
        [
            "GET /nodes/pve1/qemu/100/status/current",
            "GET /cluster/resources"
        ]
    );
    assert_eq!(status_of(&fake, 100), "stopped");
}

#[test]
fn a_node_that_does_not_answer_in_time_is_passed_by() {
    // Real time (pauses are seconds); the start itself takes none.
    let fake = Fake::with_time_scale(1.0);
    fake.exec("pve.add_vm(100, 'web1')\npve.vm(100).start_secs = 0");
    fake.run(&["vm", "list"]).success();
    // The guest moved to pve2, and pve1, where it was seen, answers only after 7 s: it gets 5 s
    // (less than the request timeout of 60 s), then the guest is looked up.
    fake.exec("pve.add_node('pve2')\npve.vm(100).node = 'pve2'\npve.slow_network(7, node='pve1')");
    fake.clear_requests();
    let run = fake.run(&["-v", "vm", "start", "100"]);
    run.success()
        .stderr_has("http: GET /nodes/pve1/qemu/100/status/current timeout")
        .stderr_has("web1 (100): start OK");
    assert!(
        run.elapsed >= Duration::from_secs(5) && run.elapsed < Duration::from_secs(7),
        "{:?}",
        run.elapsed
    );
    assert_eq!(status_of(&fake, 100), "running");
    let seen = seen(&fake);
    assert!(
        seen.contains(&"GET /cluster/resources".to_string())
            && seen.contains(&"POST /nodes/pve2/qemu/100/status/start".to_string()),
        "{seen:?}"
    );
}
