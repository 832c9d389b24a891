//! End-to-end: what pvectl does when things go wrong. Each section is one case of the fault list in
//! README.md ("What pvectl does when things go wrong"): a hung server, a guest that moves under
//! pvectl's feet, paused guests, writes whose outcome is unknown, extreme arguments, backups that
//! warn or outlast the wait, Ctrl-C, configuration and message wording, filters.
//!
//! fakepve for everything it can produce (with `before_write` for another client acting between
//! pvectl's look and its write, and a time scale for slow tasks); the scripted stub for hangs,
//! dropped connections and bytes a fake cluster never sends. Every test checks the exit code, both
//! streams and what the server saw or holds afterwards.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::helpers::{guest, sent, status_of, tasks, upids, write_lines, Req};
use common::stub::{task_log, Reply, Stub};
use common::{Fake, Run};
use serde_json::{json, Value};

// ------------------------------------------------------------------------------------ helpers

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A UPID as PVE names it, for a task of `kind` on VM `id` started at `start` by the test token.
fn upid(kind: &str, id: u32, start: i64) -> String {
    format!("UPID:pve1:0003A1F2:01B2C3D4:{start:08X}:{kind}:{id}:root@pam!cli:")
}

/// A UPID as one percent-encoded path segment, as pvectl sends it.
fn enc(upid: &str) -> String {
    upid.replace(':', "%3A")
        .replace('@', "%40")
        .replace('!', "%21")
}

fn status_path(upid: &str) -> String {
    format!("/nodes/pve1/tasks/{}/status", enc(upid))
}

fn log_path(upid: &str) -> String {
    format!("/nodes/pve1/tasks/{}/log", enc(upid))
}

/// `GET …/tasks/{upid}/status` of a task in `status` (`running`, or `stopped` with `exitstatus`).
fn task_status(upid: &str, status: &str, exitstatus: Option<&str>) -> Reply {
    let kind = upid.split(':').nth(5).unwrap_or_default();
    let mut t = json!({
        "upid": upid, "node": "pve1", "pid": 238066, "pstart": 28493780, "starttime": now(),
        "type": kind, "id": "100", "user": "root@pam", "tokenid": "cli", "status": status,
    });
    if let Some(e) = exitstatus {
        t["exitstatus"] = json!(e);
    }
    Reply::data(t)
}

/// A stub whose cluster holds VM 100 `web1` on pve1 in `state`.
fn stub_with_vm(state: &str) -> Stub {
    let stub = Stub::new();
    stub.on(
        "GET",
        "/cluster/resources",
        Reply::data(json!([
            { "id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1", "status": state,
              "name": "web1", "maxmem": 2147483648u64, "template": 0 }
        ])),
    );
    stub
}

/// The requests a fake saw for `METHOD path`.
fn requests_to(fake: &Fake, method: &str, path: &str) -> Vec<Req> {
    sent(fake)
        .into_iter()
        .filter(|r| r.method == method && r.path == path)
        .collect()
}

/// The value of parameter `key` in a request.
fn param<'a>(r: &'a Req, key: &str) -> Option<&'a str> {
    r.params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `pvectl ARGS` as a child process with both streams piped.
fn spawn(mut cmd: Command, args: &[&str]) -> Child {
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pvectl")
}

/// Read stderr lines until `n` of them contain `text`; returns what was read and the rest.
fn stderr_until(
    child: &mut Child,
    text: &str,
    n: usize,
) -> (String, BufReader<std::process::ChildStderr>) {
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut found = 0;
    while found < n {
        let mut line = String::new();
        let read = reader.read_line(&mut line).unwrap();
        assert!(read > 0, "stderr ended before {text:?}:\n{seen}");
        seen.push_str(&line);
        if line.contains(text) {
            found += 1;
        }
    }
    (seen, reader)
}

/// Wait for the child (at most `limit`) and collect the rest of both streams.
fn finish(
    mut child: Child,
    mut stderr: impl Read,
    stderr_so_far: String,
    started: Instant,
    limit: Duration,
) -> Run {
    // Read stdout on the side: a full pipe must not block the child.
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
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
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    Run::new(
        status.code().unwrap_or(-1),
        reader.join().unwrap(),
        stderr_so_far + &rest,
        started.elapsed(),
    )
}

/// Send SIGINT to a child, as Ctrl-C on a terminal does.
fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

// ------------------------------------------------------- 1. --wait-timeout bounds the whole wait

/// A task whose status GET never answers: the wait still ends at its deadline (each poll is cut
/// at the time left), whatever the request timeout, with exit 9 and the command to follow it.
#[test]
fn a_hung_status_poll_ends_the_wait_at_its_deadline() {
    let start = upid("qmstart", 100, now());
    let stub = stub_with_vm("stopped");
    stub.on(
        "POST",
        "/nodes/pve1/qemu/100/status/start",
        Reply::data(json!(start)),
    );
    stub.on("GET", &status_path(&start), Reply::Hang);
    let run = stub.run(&[
        "--request-timeout",
        "30s",
        "vm",
        "start",
        "100",
        "--node",
        "pve1",
        "--wait-timeout",
        "3s",
    ]);
    run.failure(9)
        .stdout_empty()
        .stderr_has(&format!(
            "100: start still running: gave up waiting after 3s; follow it with `pvectl tasks wait {start}`"
        ))
        .stderr_lacks("start failed");
    assert!(
        run.elapsed >= Duration::from_secs(3) && run.elapsed < Duration::from_secs(5),
        "exit 9 must come at the 3 s deadline, not after the 30 s request timeout: {:?}",
        run.elapsed
    );
    assert_eq!(
        stub.requests_to("POST", "/nodes/pve1/qemu/100/status/start")
            .len(),
        1
    );
    // Nothing was cancelled: only the start and the polls.
    assert!(stub
        .requests()
        .iter()
        .all(|r| r.method == "GET" || r.api_path().ends_with("/status/start")));

    // With -o json the result says how long it waited, not 0.0.
    let run = stub.run(&[
        "-o",
        "json",
        "--request-timeout",
        "30s",
        "vm",
        "start",
        "100",
        "--node",
        "pve1",
        "--wait-timeout",
        "2s",
    ]);
    run.failure(9);
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
    let r = &run.json()[0];
    assert_eq!(r["ok"], false);
    assert_eq!(r["upid"], start.as_str());
    assert!(r["exitstatus"].is_null(), "{r}");
    let waited = r["duration_s"].as_f64().unwrap();
    assert!((1.9..3.0).contains(&waited), "duration_s {waited}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains(&format!("pvectl tasks wait {start}")),
        "{r}"
    );
}

#[test]
fn tasks_wait_on_a_hung_status_poll_ends_at_its_deadline() {
    let start = upid("qmstart", 100, now());
    let stub = Stub::new();
    // The first poll answers (the task exists and runs), the next ones hang.
    stub.on(
        "GET",
        &status_path(&start),
        task_status(&start, "running", None),
    );
    stub.on("GET", &status_path(&start), Reply::Hang);
    let run = stub.run(&[
        "--request-timeout",
        "30s",
        "tasks",
        "wait",
        &start,
        "--wait-timeout",
        "2s",
    ]);
    run.failure(9)
        .stdout_empty()
        .stderr_has(&format!(
            "qmstart 100: wait still running: gave up waiting after 2s; follow it with `pvectl tasks wait {start}`"
        ))
        .stderr_lacks("failed");
    assert!(
        run.elapsed >= Duration::from_secs(2) && run.elapsed < Duration::from_secs(4),
        "{:?}",
        run.elapsed
    );
    assert!(stub.requests().iter().all(|r| r.method == "GET"));

    // A server that hangs from the first poll on: the same deadline.
    let stub = Stub::new();
    stub.on("GET", &status_path(&start), Reply::Hang);
    let run = stub.run(&[
        "--request-timeout",
        "30s",
        "tasks",
        "wait",
        &start,
        "--wait-timeout",
        "2s",
    ]);
    run.failure(9)
        .stderr_has(&format!("pvectl tasks wait {start}"));
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
}

#[test]
fn tasks_log_follow_on_a_hung_status_poll_ends_at_its_deadline() {
    let start = upid("qmstart", 100, now());
    // The first status answers (the task runs), the next ones hang; the log has two lines.
    let stub_with_log = || {
        let stub = Stub::new();
        stub.on(
            "GET",
            &status_path(&start),
            task_status(&start, "running", None),
        );
        stub.on("GET", &status_path(&start), Reply::Hang);
        stub.on(
            "GET",
            &log_path(&start),
            task_log(&["starting VM 100", "waiting for the disks"]),
        );
        stub
    };
    let stub = stub_with_log();
    let run = stub.run(&[
        "--request-timeout",
        "30s",
        "tasks",
        "log",
        &start,
        "--follow",
        "--wait-timeout",
        "2s",
    ]);
    run.failure(9)
        .stdout_has("starting VM 100\nwaiting for the disks\n")
        .stderr_has(&format!("pvectl tasks wait {start}"));
    assert!(
        run.elapsed >= Duration::from_secs(2) && run.elapsed < Duration::from_secs(4),
        "{:?}",
        run.elapsed
    );

    // With -o json the lines read so far are still the one JSON document on stdout.
    let stub = stub_with_log();
    let run = stub.run(&[
        "-o",
        "json",
        "--request-timeout",
        "30s",
        "tasks",
        "log",
        &start,
        "--follow",
        "--wait-timeout",
        "2s",
    ]);
    run.failure(9);
    let texts: Vec<Value> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["t"].clone())
        .collect();
    assert_eq!(
        texts,
        [json!("starting VM 100"), json!("waiting for the disks")]
    );

    // A server that hangs from the first request on: the same deadline.
    let stub = Stub::new();
    stub.on("GET", &status_path(&start), Reply::Hang);
    let run = stub.run(&[
        "--request-timeout",
        "30s",
        "tasks",
        "log",
        &start,
        "--follow",
        "--wait-timeout",
        "2s",
    ]);
    run.failure(9)
        .stdout_empty()
        .stderr_has(&format!("pvectl tasks wait {start}"));
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
}

// ---------------------------------------------------------- 4. writes whose outcome is unknown

/// A stop POST that gets no answer within the request timeout may have been carried out: pvectl
/// says so, finds the guest's task in the node's task list, follows it, and succeeds.
#[test]
fn a_stop_without_an_answer_is_found_in_the_task_list_and_followed() {
    let stop = upid("qmstop", 100, now());
    let stub = stub_with_vm("running");
    stub.on("POST", "/nodes/pve1/qemu/100/status/stop", Reply::Hang);
    stub.on(
        "GET",
        "/nodes/pve1/tasks",
        Reply::data(json!([
            { "upid": stop, "node": "pve1", "pid": 238066, "pstart": 28493780, "starttime": now(),
              "type": "qmstop", "id": "100", "user": "root@pam", "tokenid": "cli" }
        ])),
    );
    stub.on(
        "GET",
        &status_path(&stop),
        task_status(&stop, "stopped", Some("OK")),
    );
    let run = stub.run(&["--request-timeout", "1s", "vm", "stop", "web1"]);
    run.success()
        .stdout_empty()
        .stderr_has("web1 (100): no answer to POST /nodes/pve1/qemu/100/status/stop: timed out waiting for an answer from https://127.0.0.1:")
        .stderr_has("it may have reached PVE")
        .stderr_has(&format!("web1 (100): PVE started task {stop}"))
        .stderr_has("web1 (100): stop OK");
    assert_eq!(
        stub.requests_to("POST", "/nodes/pve1/qemu/100/status/stop")
            .len(),
        1,
        "a write that may have reached PVE is never sent again"
    );
    // One look at the node's tasks of this guest, started since about the request.
    let looks = stub.requests_to("GET", "/nodes/pve1/tasks");
    assert_eq!(looks.len(), 1);
    assert_eq!(looks[0].param("vmid"), Some("100"));
    let since: i64 = looks[0].param("since").unwrap().parse().unwrap();
    assert!((now() - 120..=now()).contains(&since), "since={since}");
    assert_eq!(stub.requests_to("GET", &status_path(&stop)).len(), 1);
}

/// A reset POST whose connection closes after it was sent: no task shows and the guest gives no
/// sign, so the outcome is unknown (exit 7) and pvectl says how to check; the server did answer
/// before, so it is no "check the host and port".
#[test]
fn a_reset_whose_connection_drops_is_unknown_and_says_how_to_check() {
    let stub = stub_with_vm("running");
    stub.on("POST", "/nodes/pve1/qemu/100/status/reset", Reply::Close);
    stub.on("GET", "/nodes/pve1/tasks", Reply::data(json!([])));
    stub.on(
        "GET",
        "/nodes/pve1/qemu/100/status/current",
        Reply::data(json!({ "vmid": 100, "status": "running", "qmpstatus": "running" })),
    );
    let run = stub.run(&["vm", "reset", "web1"]);
    run.failure(7)
        .stdout_empty()
        .stderr_has(
            "no answer to POST /nodes/pve1/qemu/100/status/reset: lost the connection to https://127.0.0.1:",
        )
        .stderr_has("it may have reached PVE")
        .stderr_has("pvectl tasks list --vmid 100")
        .stderr_lacks("check the host and port")
        .stderr_lacks("cannot reach the server");
    assert_eq!(
        stub.requests_to("POST", "/nodes/pve1/qemu/100/status/reset")
            .len(),
        1,
        "a write that may have reached PVE is never sent again"
    );
    assert_eq!(stub.requests_to("GET", "/nodes/pve1/tasks").len(), 1);
}

// ------------------------------------------------- 2. idempotence against a moving cluster

/// Python for `Fake::exec`: just before the server handles `POST …{suffix}`, guest `vmid` is put
/// in `status` (another client started or stopped it after pvectl looked).
fn moved_before(vmid: u32, suffix: &str, status: &str) -> String {
    format!(
        "g = pve.guest({vmid})\n\
         def move():\n    g.status = '{status}'\n    if hasattr(g, 'qmpstatus'):\n        g.qmpstatus = '{status}'\n\
         pve.before_write = ('POST', '{suffix}', move)"
    )
}

/// The guest's own status was read exactly once, after the action's POST: the confirmation of
/// PVE's refusal, not a look before every write.
#[track_caller]
fn confirmed_once(fake: &Fake, kind: &str, vmid: u32, action: &str) {
    let lines: Vec<String> = sent(fake).iter().map(Req::line).collect();
    let current = format!("GET /nodes/pve1/{kind}/{vmid}/status/current");
    let post = format!("POST /nodes/pve1/{kind}/{vmid}/status/{action}");
    let reads: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == current).collect();
    let posts: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == post).collect();
    assert_eq!(posts.len(), 1, "{lines:#?}");
    assert_eq!(reads.len(), 1, "{lines:#?}");
    assert!(reads[0] > posts[0], "{lines:#?}");
}

/// A VM started by someone else between pvectl's look and its POST: PVE's qmstart task fails
/// "VM 100 already running"; the guest's own status confirms it, and that is success.
#[test]
fn a_vm_started_meanwhile_is_already_running() {
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    fake.exec(&moved_before(100, "/qemu/100/status/start", "running"));
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "vm", "start", "web1"]);
    run.success().stderr_has("web1 (100): already running");
    run.stderr_lacks("failed");
    let r = &run.json()[0];
    assert_eq!(r["ok"], true);
    assert_eq!(r["message"], "already running");
    assert!(r["exitstatus"].is_null(), "{r}");
    confirmed_once(&fake, "qemu", 100, "start");
    // PVE's task did fail: pvectl read the refusal from it.
    let t = tasks(&fake);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["type"], "qmstart");
    assert_eq!(t[0]["exitstatus"], "VM 100 already running");
    assert_eq!(status_of(&fake, 100), "running");
}

/// `vm shutdown 101 103` where 103 was stopped meanwhile: PVE refuses 103's shutdown ("VM 103
/// not running"), pvectl confirms and reports it already stopped; 101 is shut down.
#[test]
fn a_vm_stopped_meanwhile_is_already_stopped_among_others() {
    let fake = Fake::with(
        "pve.add_vm(101, 'web2', status='running')\npve.add_vm(103, 'web4', status='running')",
    );
    fake.exec(&moved_before(103, "/qemu/103/status/shutdown", "stopped"));
    fake.clear_requests();
    let run = fake.run(&["vm", "shutdown", "101", "103"]);
    run.success()
        .stdout_empty()
        .stderr_has("web2 (101): shutdown OK")
        .stderr_has("web4 (103): already stopped")
        .stderr_lacks("not running");
    confirmed_once(&fake, "qemu", 103, "shutdown");
    assert_eq!(status_of(&fake, 101), "stopped");
    assert_eq!(status_of(&fake, 103), "stopped");
    // Only 101's shutdown started a task; 103's was refused.
    let types: Vec<(String, String)> = tasks(&fake)
        .iter()
        .map(|t| {
            (
                t["type"].as_str().unwrap().into(),
                t["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(types, [("qmshutdown".to_string(), "101".to_string())]);
}

/// Containers: PVE refuses at once (500 "CT 200 already running" / "CT 200 not running").
#[test]
fn a_container_that_moved_meanwhile_is_already_there() {
    for (verb, before, after, said) in [
        ("start", "stopped", "running", "already running"),
        ("stop", "running", "stopped", "already stopped"),
        ("shutdown", "running", "stopped", "already stopped"),
    ] {
        let fake = Fake::with(&format!("pve.add_ct(200, 'db1', status='{before}')"));
        fake.exec(&moved_before(
            200,
            &format!("/lxc/200/status/{verb}"),
            after,
        ));
        fake.clear_requests();
        let run = fake.run(&["-o", "json", "ct", verb, "db1"]);
        run.success().stderr_has(&format!("db1 (200): {said}"));
        assert_eq!(run.json()[0]["message"], said, "{verb}");
        confirmed_once(&fake, "lxc", 200, verb);
        assert!(
            tasks(&fake).is_empty(),
            "{verb}: PVE refused before any task"
        );
        assert_eq!(status_of(&fake, 200), after);
    }
}

/// A refusal that is not "already there" still fails: the guest's status does not confirm it.
#[test]
fn a_refusal_the_guest_does_not_confirm_stands() {
    // Another client locked the VM meanwhile: PVE's task fails, and 100 is still stopped.
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    fake.exec(
        "g = pve.vm(100)\n\
         def lock():\n    g.lock = 'backup'\n\
         pve.before_write = ('POST', '/qemu/100/status/start', lock)",
    );
    let run = fake.run(&["vm", "start", "web1"]);
    run.failure(8).stderr_has("VM is locked (backup)");
    assert_eq!(status_of(&fake, 100), "stopped");
}

/// Five `vm start 102` at once: each one either starts it or finds it already running. The start
/// takes half a second, so they all see the VM stopped and send their start; PVE runs one, the
/// others wait for the config lock and then fail "VM 102 already running".
#[test]
fn five_concurrent_starts_all_succeed() {
    let fake = Fake::with_time_scale(0.02);
    fake.exec("vm = pve.add_vm(102, 'web3')\nvm.start_secs = 25\npve.lock_wait = 1000");
    let children: Vec<(Child, Instant)> = (0..5)
        .map(|_| (spawn(fake.cmd(), &["vm", "start", "102"]), Instant::now()))
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|(mut c, started)| {
            let err = c.stderr.take().unwrap();
            finish(c, err, String::new(), started, Duration::from_secs(20))
        })
        .collect();
    let mut started = 0;
    for run in &runs {
        run.success().stdout_empty().stderr_lacks("failed");
        if run.stderr.contains("web3 (102): start OK") {
            started += 1;
        } else {
            run.stderr_has("web3 (102): already running");
        }
    }
    assert_eq!(started, 1, "exactly one run started it");
    assert_eq!(status_of(&fake, 102), "running");
    let ok: Vec<Value> = tasks(&fake)
        .into_iter()
        .filter(|t| t["exitstatus"] == "OK")
        .collect();
    assert_eq!(ok.len(), 1);
    // The race did happen: PVE ran starts that found the VM already running.
    assert!(
        tasks(&fake)
            .iter()
            .any(|t| t["exitstatus"] == "VM 102 already running"),
        "{:?}",
        tasks(&fake)
    );
}

// ------------------------------------------------------------------------ 3. paused guests

#[test]
fn a_paused_vm_is_shown_paused_and_start_resumes_it() {
    let fake = Fake::with("pve.add_vm(100, 'web1', status='running')\npve.add_vm(101, 'web2')");
    fake.run(&["vm", "suspend", "web1"]).success();
    assert_eq!(guest(&fake, 100)["qmpstatus"], "paused");

    // Lists and status show it paused, as PVE's web UI does.
    let run = fake.run(&["vm", "list"]);
    run.success();
    let row = run.stdout.lines().find(|l| l.contains("web1")).unwrap();
    assert!(row.split_whitespace().any(|w| w == "paused"), "{row}");
    let run = fake.run(&["-o", "json", "vm", "list"]);
    run.success();
    assert_eq!(run.json()[0]["status"], "paused");
    let run = fake.run(&["vm", "status", "web1", "--columns", "status"]);
    run.success();
    assert!(run.stdout.contains("status  paused"), "{}", run.stdout);
    // JSON keeps PVE's own fields: the process runs, QEMU is paused.
    let run = fake.run(&["-o", "json", "vm", "status", "web1"]);
    assert_eq!(run.json()["qmpstatus"], "paused");

    // --status selects it; anything but a known state is a usage error.
    let run = fake.run(&["-o", "json", "vm", "list", "--status", "paused"]);
    let list = run.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["vmid"], 100);
    let run = fake.run(&["vm", "list", "--status", "bogus"]);
    run.failure(2).stdout_empty().stderr_has("bogus");

    // Suspending it again needs nothing.
    fake.clear_requests();
    let run = fake.run(&["vm", "suspend", "web1"]);
    run.success().stderr_has("web1 (100): already paused");
    assert!(write_lines(&fake).is_empty(), "{:?}", write_lines(&fake));

    // Starting it resumes it.
    fake.clear_requests();
    let run = fake.run(&["-o", "json", "vm", "start", "web1"]);
    run.success()
        .stderr_has("web1 (100): start resumed (it was paused)")
        .stderr_lacks("already running");
    assert_eq!(run.json()[0]["message"], "resumed (it was paused)");
    assert_eq!(
        write_lines(&fake),
        ["POST /nodes/pve1/qemu/100/status/resume"]
    );
    assert_eq!(guest(&fake, 100)["qmpstatus"], "running");
    let run = fake.run(&["-o", "json", "vm", "list", "--status", "running"]);
    assert_eq!(run.json()[0]["vmid"], 100);
}

/// A VM hibernated to disk (`suspend --todisk`: stopped, locked `suspended`) is `suspended`, as in
/// PVE's web UI; suspending it again needs nothing, and starting it is PVE's start (which resumes
/// it from disk).
#[test]
fn a_vm_hibernated_to_disk_is_shown_suspended() {
    let fake = Fake::with("pve.add_vm(100, 'web1', status='running')\npve.add_vm(101, 'web2')");
    fake.run(&["vm", "suspend", "web1", "--todisk"]).success();
    assert_eq!(guest(&fake, 100)["lock"], "suspended");

    let run = fake.run(&["vm", "list", "--status", "suspended"]);
    run.success();
    let rows: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{}", run.stdout);
    assert!(rows[0].starts_with("100 "), "{}", run.stdout);
    assert!(
        rows[0].split_whitespace().any(|w| w == "suspended"),
        "{}",
        run.stdout
    );
    // JSON keeps PVE's own fields.
    let run = fake.run(&["-o", "json", "vm", "list", "--status", "suspended"]);
    let list = run.json();
    assert_eq!(list[0]["status"], "stopped");
    assert_eq!(list[0]["lock"], "suspended");
    let run = fake.run(&["vm", "status", "web1", "--columns", "status"]);
    assert!(run.stdout.contains("status  suspended"), "{}", run.stdout);
    // TSV too: the table's word is for people.
    let run = fake.run(&[
        "-o",
        "tsv",
        "--no-headers",
        "--columns",
        "vmid,status,lock",
        "vm",
        "list",
    ]);
    run.success();
    assert_eq!(run.stdout, "100\tstopped\tsuspended\n101\tstopped\t\n");
    let run = fake.run(&[
        "-o",
        "tsv",
        "vm",
        "status",
        "web1",
        "--columns",
        "status,lock",
    ]);
    run.success();
    assert_eq!(run.stdout, "key\tvalue\nstatus\tstopped\nlock\tsuspended\n");

    fake.clear_requests();
    let run = fake.run(&["vm", "suspend", "web1"]);
    run.success().stderr_has("web1 (100): already suspended");
    assert!(write_lines(&fake).is_empty(), "{:?}", write_lines(&fake));

    fake.clear_requests();
    let run = fake.run(&["vm", "start", "web1"]);
    run.success().stderr_has("web1 (100): start OK");
    assert_eq!(
        write_lines(&fake),
        ["POST /nodes/pve1/qemu/100/status/start"]
    );
    assert_eq!(status_of(&fake, 100), "running");
}

// ------------------------------------------------------ 5. no panics, whatever the arguments

/// The guests the extreme-value table acts on.
fn extremes_cluster() -> Fake {
    Fake::with(
        "pve.add_vm(100, 'web1')\n\
         pve.add_vm(101, 'web2', status='running')\n\
         pve.add_ct(200, 'db1', status='running')\n\
         emulate_vzdump(pve, secs=0)",
    )
}

/// Every duration, number and size argument at and past its limits: a huge duration means for
/// ever (or is refused, exit 2, before anything is sent), a number that does not fit is clap's
/// usage error, a value PVE's schema refuses is PVE's refusal (6), and nothing panics (the
/// harness fails a run that panics).
#[test]
fn extreme_values_of_every_duration_number_and_size_never_panic() {
    let fake = extremes_cluster();
    // A finished task to wait for and read.
    fake.run(&["vm", "reboot", "web2"]).success();
    let done = upids(&fake).pop().unwrap();
    // (command line, exit code, the parameter it must reach PVE with: (path, key, value))
    type Row<'a> = (String, i32, Option<(&'a str, &'a str, &'a str)>);
    let rows: Vec<Row> = vec![
        // --wait-timeout, the flag: past Instant's range means for ever.
        (
            "vm start web1 --wait-timeout 18446744073709551615s".into(),
            0,
            None,
        ),
        (
            "vm stop web1 --wait-timeout 9223372036854000000s".into(),
            0,
            None,
        ),
        ("vm start web1 --wait-timeout 0".into(), 0, None),
        (
            "vm start web1 --wait-timeout 18446744073709551616s".into(),
            2,
            None,
        ),
        (
            "vm start web1 --wait-timeout 99999999999999999999".into(),
            2,
            None,
        ),
        (
            "vm start web1 --wait-timeout 1000000000000y".into(),
            2,
            None,
        ),
        ("vm start web1 --wait-timeout=-5s".into(), 2, None),
        ("vm start web1 --wait-timeout -5s".into(), 2, None),
        ("vm start web1 --wait-timeout 5x".into(), 2, None),
        ("vm start web1 --wait-timeout 1e9".into(), 2, None),
        ("vm start web1 --wait-timeout=".into(), 2, None),
        // … on tasks wait and tasks log --follow.
        (
            format!("tasks wait {done} --wait-timeout 18446744073709551615s"),
            0,
            None,
        ),
        (
            format!("tasks log {done} --follow --wait-timeout 18446744073709551615s"),
            0,
            None,
        ),
        (format!("tasks wait {done} --wait-timeout -1"), 2, None),
        // --request-timeout.
        (
            "--request-timeout 18446744073709551615s vm list".into(),
            0,
            None,
        ),
        ("--request-timeout 99999999999h vm list".into(), 0, None),
        ("--request-timeout 0 vm list".into(), 2, None),
        ("--request-timeout 0s vm list".into(), 2, None),
        ("--request-timeout=-1s vm list".into(), 2, None),
        (
            "--request-timeout 18446744073709551616 vm list".into(),
            2,
            None,
        ),
        // --parallel: 0 is one at a time.
        ("vm start web1 --parallel 0".into(), 0, None),
        ("vm start web1 --parallel 4294967295".into(), 0, None),
        ("vm start web1 --parallel 4294967296".into(), 2, None),
        ("vm start web1 --parallel=-1".into(), 2, None),
        // tasks list --limit goes to PVE as given.
        (
            "tasks list --limit 0".into(),
            0,
            Some(("/nodes/pve1/tasks", "limit", "0")),
        ),
        (
            "tasks list --limit 4294967295".into(),
            0,
            Some(("/nodes/pve1/tasks", "limit", "4294967295")),
        ),
        ("tasks list --limit 4294967296".into(), 2, None),
        // PVE-side timeouts (seconds) go to PVE as given.
        (
            "vm reboot web2 --timeout 4294967295".into(),
            0,
            Some((
                "/nodes/pve1/qemu/101/status/reboot",
                "timeout",
                "4294967295",
            )),
        ),
        (
            "ct reboot db1 --timeout 4294967295".into(),
            0,
            Some(("/nodes/pve1/lxc/200/status/reboot", "timeout", "4294967295")),
        ),
        ("vm reboot web2 --timeout 4294967296".into(), 2, None),
        ("vm reboot web2 --timeout=-1".into(), 2, None),
        // Mount point numbers: PVE has mp0 to mp255.
        (
            "ct mount add db1 local-lvm:8 /srv/a --mp 4294967295".into(),
            2,
            None,
        ),
        (
            "ct mount add db1 local-lvm:8 /srv/a --mp 256".into(),
            2,
            None,
        ),
        (
            "ct mount add db1 local-lvm:8 /srv/a --mp 4294967296".into(),
            2,
            None,
        ),
        // A volume size is PVE's to judge (the fake allocates anything).
        (
            "ct mount add db1 local-lvm:18446744073709551615 /srv/b".into(),
            0,
            Some((
                "/nodes/pve1/lxc/200/config",
                "mp0",
                "local-lvm:18446744073709551615,mp=/srv/b",
            )),
        ),
        // vzdump's numbers: beyond the type is a usage error, beyond PVE's schema its refusal.
        ("backup create web1 --ionice 256".into(), 2, None),
        ("backup create web1 --ionice 255".into(), 6, None),
        (
            "backup create web1 --bwlimit 18446744073709551615".into(),
            0,
            Some(("/nodes/pve1/vzdump", "bwlimit", "18446744073709551615")),
        ),
        (
            "backup create web1 --bwlimit 18446744073709551616".into(),
            2,
            None,
        ),
        (
            "backup create web1 --lockwait 4294967295".into(),
            0,
            Some(("/nodes/pve1/vzdump", "lockwait", "4294967295")),
        ),
        ("backup create web1 --zstd 4294967296".into(), 2, None),
        (
            "backup prune local --keep-last 4294967295 --dry-run".into(),
            0,
            None,
        ),
        (
            "backup prune local --keep-last 4294967296 --dry-run".into(),
            2,
            None,
        ),
        // VMIDs: below 100 or above 999999999 is no VMID; PVE refuses one as a new id.
        ("vm status 4294967296".into(), 2, None),
        ("vm status 1000000000".into(), 2, None),
        ("vm status 999999999".into(), 5, None),
        ("vm clone web1 4294967295".into(), 6, None),
        ("vm clone web1 4294967296".into(), 2, None),
        ("tasks list --vmid 4294967295".into(), 2, None),
        ("backup list --vmid 4294967296".into(), 2, None),
    ];
    for (line, code, reaches) in &rows {
        fake.clear_requests();
        let args: Vec<&str> = line.split(' ').collect();
        let run = fake.run(&args);
        assert_eq!(
            run.code, *code,
            "{line}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        if *code == 2 {
            assert!(
                write_lines(&fake).is_empty(),
                "{line}: a usage error sends nothing: {:?}",
                write_lines(&fake)
            );
            assert!(run.stderr.contains("error:"), "{line}: {}", run.stderr);
        }
        if let Some((path, key, value)) = reaches {
            let reqs = requests_to_any(&fake, path);
            assert!(
                reqs.iter().any(|r| param(r, key) == Some(value)),
                "{line}: {key}={value} not sent to {path}: {reqs:?}"
            );
        }
    }
}

/// The requests a fake saw for `path`, of any method.
fn requests_to_any(fake: &Fake, path: &str) -> Vec<Req> {
    sent(fake).into_iter().filter(|r| r.path == path).collect()
}

/// The same extremes from the profile: a huge `wait_timeout` or `timeout` means for ever, a
/// negative or wrong one is a configuration error (3) that says what is expected.
#[test]
fn extreme_durations_in_the_profile_never_panic() {
    let fake = extremes_cluster();
    for (profile, code, said) in [
        ("wait_timeout = \"18446744073709551615s\"", 0, ""),
        ("wait_timeout = 9223372036854775807", 0, ""),
        ("timeout = \"18446744073709551615s\"", 0, ""),
        ("timeout = 9223372036854775807", 0, ""),
        (
            "wait_timeout = \"18446744073709551616s\"",
            3,
            "wait_timeout: '18446744073709551616s' is not a duration",
        ),
        (
            "wait_timeout = -1",
            3,
            "-1 is negative: give seconds (e.g. 90) or a duration (e.g. \"10m\")",
        ),
        (
            "timeout = 1.5",
            3,
            "expected seconds (e.g. 90) or a duration (e.g. \"10m\")",
        ),
        (
            "timeout = 0",
            3,
            "timeout in the profile must be more than 0",
        ),
        ("parallel = 4294967296", 3, "4294967296"),
        ("parallel = 0", 0, ""),
    ] {
        std::fs::write(fake.config_path(), format!("[profiles.t]\n{profile}\n")).unwrap();
        for verb in ["start", "stop"] {
            let run = fake.run(&["vm", verb, "web1"]);
            assert_eq!(run.code, code, "{profile}: {}", run.stderr);
            if code != 0 {
                run.one_error(code).stderr_has(said);
                run.stderr_lacks("DurationValue");
            }
        }
    }
}

/// A closed stdout (`| head`) ends the command quietly, as for every other command.
#[test]
fn completions_into_a_pipe_closed_early_end_quietly() {
    let home = tempfile::tempdir().unwrap();
    let mut child = spawn(common::clean_command(home.path()), &["completions", "fish"]);
    let started = Instant::now();
    // `| head -5`: read five lines, then close the pipe while pvectl still writes (the script is
    // far larger than a pipe holds).
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut head = String::new();
    for _ in 0..5 {
        out.read_line(&mut head).unwrap();
    }
    drop(out);
    assert_eq!(head.lines().count(), 5, "{head}");
    assert!(head.contains("function __fish_pvectl"), "{head}");
    let err = child.stderr.take().unwrap();
    child.stdout = None;
    let run = finish_closed(child, err, started);
    run.success();
    assert_eq!(run.stderr, "", "nothing on stderr");
    // The whole script is bigger than a pipe's buffer, so the close was seen.
    let full = common::run_cmd(common::clean_command(home.path()).args(["completions", "fish"]));
    assert!(full.stdout.len() > 256 * 1024, "{}", full.stdout.len());
}

/// Wait for a child whose stdout the test has closed.
fn finish_closed(mut child: Child, mut stderr: impl Read, started: Instant) -> Run {
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "pvectl did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    Run::new(
        status.code().unwrap_or(-1),
        String::new(),
        err,
        started.elapsed(),
    )
}

// ------------------------------------------------------------------------------ 6. backups

/// A job-level `WARN:` line (outside any guest's part of the log) and a job that ends
/// `WARNINGS: 1`: success, the line said once on stderr, and kept in every guest's JSON.
#[test]
fn a_backup_job_warning_is_printed_once_and_kept_for_every_guest() {
    const WARN: &str = "unable to parse configuration file '/etc/vzdump.conf' - error at line 3";
    let fake = Fake::with(&format!(
        "pve.add_vm(100, 'web1')\npve.add_vm(101, 'web2')\n\
         emulate_vzdump(pve, secs=0, job_warnings=[{WARN:?}])"
    ));
    let run = fake.run(&["-o", "json", "backup", "create", "web1", "web2"]);
    run.success()
        .stderr_has(&format!("pve1 (2 guests): WARN: {WARN}"));
    assert_eq!(run.stderr.matches(WARN).count(), 1, "{}", run.stderr);
    let results = run.json();
    for r in results.as_array().unwrap() {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["exitstatus"], "WARNINGS: 1", "{r}");
        assert_eq!(r["warnings"], json!([WARN]), "{r}");
        assert!(
            r["volid"]
                .as_str()
                .unwrap()
                .starts_with("local:backup/vzdump-qemu-"),
            "{r}"
        );
    }
    let job = &tasks(&fake)[0];
    assert_eq!(job["type"], "vzdump");
    assert_eq!(job["exitstatus"], "WARNINGS: 1");
}

/// The wait ends while the second guest is still being backed up: the first is backed up (its
/// archive is there), the second still running; exit 9.
#[test]
fn a_backup_wait_timeout_reports_the_guests_already_backed_up() {
    // 2 s per guest: the first is done at 2 s, the wait ends at 3 s, the second ends at 4 s.
    let fake = Fake::with_time_scale(0.1);
    fake.exec("pve.add_vm(100, 'web1')\npve.add_vm(101, 'web2')\nemulate_vzdump(pve, secs=20)");
    let run = fake.run(&[
        "-o",
        "json",
        "backup",
        "create",
        "web1",
        "web2",
        "--wait-timeout",
        "3s",
    ]);
    run.failure(9);
    let upid = upids(&fake).pop().unwrap();
    let results = run.json();
    let (first, second) = (&results[0], &results[1]);
    assert_eq!(first["vmid"], 100);
    assert_eq!(first["ok"], true, "{first}");
    let volid = first["volid"].as_str().unwrap();
    assert!(
        volid.starts_with("local:backup/vzdump-qemu-100-"),
        "{first}"
    );
    assert_eq!(second["vmid"], 101);
    assert_eq!(second["ok"], false, "{second}");
    assert!(second["volid"].is_null(), "{second}");
    assert_eq!(second["upid"], upid.as_str());
    assert!(second["duration_s"].as_f64().unwrap() >= 2.9, "{second}");
    run.stderr_has(&format!("web1 (100): backup to {volid}"))
        .stderr_has(&format!(
            "web2 (101): backup still running: gave up waiting after 3s; follow it with `pvectl tasks wait {upid}`"
        ))
        .stderr_lacks("backup failed");
    // The archive of the first is on the storage; the job goes on.
    let stored = fake.exec("result = sorted(pve.storages['local'].get('volumes', {}))");
    assert_eq!(
        stored,
        json!([volid.trim_start_matches("local:")]),
        "only the first guest's archive is there yet"
    );
    assert_eq!(tasks(&fake)[0]["status"], "running");
}

// ------------------------------------------------------------- 7. Ctrl-C keeps the script's output

/// `-o json vm shutdown a b c d --parallel 2`, Ctrl-C while the first two shut down: one JSON
/// array of four results (two interrupted with their UPIDs, two not started), exit 130, and the
/// tasks go on.
#[test]
fn ctrl_c_prints_one_result_per_target_and_leaves_the_tasks_running() {
    let fake = Fake::with_time_scale(0.05);
    fake.exec(
        "pve.shutdown_default_timeout = 1000\n\
         for vmid, name in ((100, 'a'), (101, 'b'), (102, 'c'), (103, 'd')):\n\
         \x20   pve.add_vm(vmid, name, status='running').shutdown_secs = 200",
    );
    let started = Instant::now();
    let mut child = spawn(
        fake.cmd(),
        &[
            "-o",
            "json",
            "vm",
            "shutdown",
            "a",
            "b",
            "c",
            "d",
            "--parallel",
            "2",
        ],
    );
    let (seen, rest) = stderr_until(&mut child, "UPID:pve1:", 2);
    interrupt(&child);
    let run = finish(child, rest, seen, started, Duration::from_secs(10));
    run.failure(130);
    let results = run.json();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 4, "{results:?}");
    let running = upids(&fake);
    assert_eq!(running.len(), 2, "two shutdowns started");
    for (r, vmid) in results.iter().zip(100..) {
        assert_eq!(r["vmid"], vmid, "in the order given: {r}");
        assert_eq!(r["ok"], false, "{r}");
        assert_eq!(r["action"], "shutdown", "{r}");
    }
    for r in &results[..2] {
        let upid = r["upid"].as_str().unwrap();
        assert!(running.iter().any(|u| u == upid), "{r}");
        let message = r["message"].as_str().unwrap();
        assert!(message.starts_with("interrupted"), "{r}");
        assert!(
            message.contains(&format!("pvectl tasks wait {upid}")),
            "{r}"
        );
    }
    for r in &results[2..] {
        assert_eq!(r["message"], "not started", "{r}");
        assert!(r["upid"].is_null(), "{r}");
    }
    // Ctrl-C never cancels a task.
    for t in tasks(&fake) {
        assert_eq!(t["status"], "running", "{t}");
    }
    for vmid in 100..104 {
        assert_eq!(status_of(&fake, vmid), "running");
    }
    assert!(
        write_lines(&fake)
            .iter()
            .all(|w| w.starts_with("POST") && w.ends_with("/status/shutdown")),
        "{:?}",
        write_lines(&fake)
    );
}

// --------------------------------------------------------------------------- 8. configuration

#[test]
fn a_configuration_file_named_but_missing_is_exit_3() {
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    fake.clear_requests();
    let run = fake.run(&["--config", "/nonexistent/x.toml", "vm", "list"]);
    run.one_error(3)
        .stderr_has("/nonexistent/x.toml")
        .stderr_has("--config")
        .stderr_has("does not exist");
    let run = fake.run_env(
        &[],
        &[("PVECTL_CONFIG", "/nonexistent/x.toml")],
        &["vm", "list"],
    );
    run.one_error(3)
        .stderr_has("/nonexistent/x.toml")
        .stderr_has("PVECTL_CONFIG");
    assert!(sent(&fake).is_empty(), "nothing is sent");
}

#[test]
fn a_request_timeout_of_0_is_a_usage_error_and_the_help_says_what_is_allowed() {
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    fake.clear_requests();
    for zero in ["0", "0s"] {
        let run = fake.run(&["--request-timeout", zero, "vm", "list"]);
        run.one_error(2)
            .stderr_has("--request-timeout must be more than 0");
    }
    // A wrong one does not offer 0 either.
    let run = fake.run(&["--request-timeout", "soon", "vm", "list"]);
    run.one_error(2)
        .stderr_has("--request-timeout: 'soon' is not a duration: use e.g. 30s, 2m or 90");
    assert!(sent(&fake).is_empty(), "nothing is sent");

    let help = fake.run(&["--help"]);
    help.success();
    let text = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("--request-timeout <DURATION> HTTP request timeout: 30s, 2m, or seconds; more than 0 (default 60s)"),
        "{}",
        help.stdout
    );
    let help = fake.run(&["vm", "start", "--help"]);
    let text = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains(
            "--wait-timeout <DURATION> Give up waiting after this long (90s, 10m; 0 = for ever)"
        ),
        "{}",
        help.stdout
    );
}

// -------------------------------------------------------------------------------- 9. messages

/// A port that speaks plain HTTP: it answers a TLS ClientHello with an HTTP error.
fn plain_http_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(8) {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request",
            );
        }
    });
    port
}

#[test]
fn a_plain_http_port_is_said_to_not_speak_tls() {
    let port = plain_http_port();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = common::clean_command(home.path());
    cmd.env("PROXMOX_HOST", format!("127.0.0.1:{port}"))
        .env("PROXMOX_TOKEN", common::full_token());
    let run = common::run_cmd(cmd.args(["version"]));
    run.one_error(7)
        .stderr_has(&format!(
            "the server at https://127.0.0.1:{port} did not answer in TLS"
        ))
        .stderr_lacks("certificate")
        .stderr_lacks("fingerprint");
}

#[test]
fn a_hung_server_says_how_long_and_how_many_attempts() {
    let stub = Stub::new();
    stub.on("GET", "/version", Reply::Hang);
    let run = stub.run(&["--request-timeout", "1s", "version"]);
    run.one_error(7);
    let line = run.error_line();
    assert!(
        line.starts_with(&format!(
            "error: timed out waiting for an answer from https://127.0.0.1:{} after 1s (3 attempts in ",
            stub.port
        )),
        "{line}"
    );
    assert_eq!(stub.requests_to("GET", "/version").len(), 3);
}

/// An answer that begins but trickles in slower than the request timeout: the error names the
/// server (it used to end with an empty URL).
#[test]
fn a_slow_drip_answer_times_out_naming_the_server() {
    let stub = Stub::new();
    let body = json!({ "data": { "version": "9.0.3", "release": "9.0", "repoid": "0123abcd" } });
    stub.on(
        "GET",
        "/version",
        Reply::Drip {
            body: body.to_string().into_bytes(),
            every: Duration::from_millis(200),
        },
    );
    let run = stub.run(&["--request-timeout", "1s", "version"]);
    run.one_error(7);
    let line = run.error_line();
    assert!(
        line.contains(&format!(
            "timed out waiting for an answer from https://127.0.0.1:{} after 1s",
            stub.port
        )),
        "{line}"
    );
    assert!(!line.contains("1s: \n") && !line.ends_with(": "), "{line}");
}

#[test]
fn an_untrusted_certificate_is_explained_in_words() {
    let stub = Stub::new();
    stub.on(
        "GET",
        "/version",
        Reply::data(json!({ "version": "9.0.3" })),
    );
    let run = common::run_cmd(stub.cmd_untrusted().args(["version"]));
    run.one_error(7)
        .stderr_has("cannot trust the server's TLS certificate: it is signed by an authority the system does not trust")
        .stderr_has(stub.fingerprint())
        .stderr_lacks("UnknownIssuer");
    assert!(stub.requests().is_empty());
}

#[test]
fn guest_and_task_addressing_errors_say_what_is_wrong() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web-1')\npve.add_vm(102, 'web3', status='running')\npve.add_ct(200, 'db1')",
    );
    // A number below 100 is no VMID.
    let run = fake.run(&["vm", "status", "99"]);
    run.one_error(2)
        .stderr_has("'99' is not a VMID: VMIDs are 100 to 999999999");
    // --columns that match nothing on an object: a usage error, as for lists.
    let run = fake.run(&["vm", "status", "102", "--columns", "foo"]);
    run.one_error(2)
        .stderr_has("none of the columns given is a field here");
    // The name as typed, for a guest of the other kind.
    let run = fake.run(&["ct", "status", "web-1"]);
    run.one_error(2)
        .stderr_has("'web-1' (100) is a VM: use 'pvectl vm …'");
    // A UPID of a node the cluster does not have.
    let run = fake.run(&[
        "tasks",
        "status",
        "UPID:pve9:0003A1F2:01B2C3D4:66F1A2B3:qmstart:100:root@pam!cli:",
    ]);
    run.one_error(5)
        .stderr_has("no node 'pve9' in the cluster")
        .stderr_lacks("tasks list --node pve9");
}

/// Lines that read as what happened: no "start started", no "start already running", no
/// "task UPID…:: OK".
#[test]
fn progress_lines_read_well() {
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    let run = fake.run(&["vm", "start", "web1"]);
    run.success()
        .stderr_has("web1 (100): start task UPID:pve1:")
        .stderr_lacks("start started");
    let run = fake.run(&["vm", "start", "web1"]);
    run.success()
        .stderr_has("web1 (100): already running")
        .stderr_lacks("start already");
    let upid = upids(&fake).pop().unwrap();
    let run = fake.run(&["tasks", "log", &upid, "--follow"]);
    run.success()
        .stdout_has("TASK OK")
        .stderr_has(&format!("the task ended OK: {upid}"))
        .stderr_lacks(":: OK");
}

// --------------------------------------------------------------------------------- 10. filters

#[test]
fn vm_list_on_an_unknown_node_is_not_found() {
    let fake = Fake::with("pve.add_vm(100, 'web1')\npve.add_node('pve2')");
    let run = fake.run(&["vm", "list", "--node", "pve9"]);
    run.one_error(5).stderr_has("no node 'pve9'");
    // A node that exists but holds no VM is an empty list.
    let run = fake.run(&["-o", "json", "vm", "list", "--node", "pve2"]);
    run.success();
    assert_eq!(run.json(), json!([]));
}

#[test]
fn tasks_list_and_storage_content_take_a_guest_name() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web-01', config={'scsi0': 'local-lvm:vm-100-disk-0,size=8G'})\n\
         pve.add_vm(101, 'web-02', config={'scsi0': 'local-lvm:vm-101-disk-0,size=4G'})",
    );
    fake.run(&["vm", "start", "web-01", "web-02"]).success();

    fake.clear_requests();
    let run = fake.run(&["-o", "json", "tasks", "list", "--vmid", "web-01"]);
    run.success();
    let list = run.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], "100");
    let asked = requests_to(&fake, "GET", "/nodes/pve1/tasks");
    assert_eq!(param(&asked[0], "vmid"), Some("100"));

    fake.clear_requests();
    let run = fake.run(&[
        "-o",
        "json",
        "storage",
        "content",
        "local-lvm",
        "--vmid",
        "web-01",
    ]);
    run.success();
    let list = run.json();
    let volids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["volid"].as_str().unwrap())
        .collect();
    assert_eq!(volids, ["local-lvm:vm-100-disk-0"]);
    let asked = requests_to(&fake, "GET", "/nodes/pve1/storage/local-lvm/content");
    assert_eq!(param(&asked[0], "vmid"), Some("100"));

    // An unknown name is not found, and nothing is listed.
    for args in [
        &["tasks", "list", "--vmid", "nosuch"][..],
        &["storage", "content", "local-lvm", "--vmid", "nosuch"][..],
    ] {
        fake.clear_requests();
        let run = fake.run(args);
        run.one_error(5).stderr_has("no guest named 'nosuch'");
        assert!(
            requests_to(&fake, "GET", "/nodes/pve1/tasks").is_empty()
                && requests_to(&fake, "GET", "/nodes/pve1/storage/local-lvm/content").is_empty(),
            "{:?}",
            sent(&fake)
        );
    }
}

/// fakepve ignores `errors` and `typefilter` (as some PVE versions do): pvectl filters too.
#[test]
fn tasks_list_errors_and_type_filter_on_this_side_too() {
    let fake = Fake::with(
        "pve.add_vm(100, 'web1')\n\
         pve.add_vm(101, 'broken').start_error = 'start failed: QEMU exited with code 1'",
    );
    fake.run(&["vm", "start", "web1"]).success();
    fake.run(&["vm", "start", "broken"]).failure(8);
    fake.run(&["vm", "stop", "web1"]).success();
    assert_eq!(tasks(&fake).len(), 3);

    fake.clear_requests();
    let run = fake.run(&["-o", "json", "tasks", "list", "--errors"]);
    run.success();
    let list = run.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], "101");
    assert_eq!(list[0]["status"], "start failed: QEMU exited with code 1");
    let asked = requests_to(&fake, "GET", "/nodes/pve1/tasks");
    assert_eq!(param(&asked[0], "errors"), Some("1"));

    fake.clear_requests();
    let run = fake.run(&["-o", "json", "tasks", "list", "--type", "qmstart"]);
    run.success();
    let list = run.json();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["type"], "qmstart", "{t}");
            t["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 2, "{list}");
    let asked = requests_to(&fake, "GET", "/nodes/pve1/tasks");
    assert_eq!(param(&asked[0], "typefilter"), Some("qmstart"));
}
