//! Protocol tests: the built binary against a scripted HTTPS stub, for what a fake cluster cannot
//! produce on demand: certificate trouble, broken bodies, proxy errors, dropped connections, silence,
//! and the exact bytes on the wire.

mod common;

use std::time::Duration;

use common::stub::{pki, task_log, Reply, Stub};
use common::{run_cmd, Run, TOKEN_ID, TOKEN_SECRET};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A qmstart task of VM 100 started with the token, as PVE names it.
const UPID: &str = "UPID:pve1:0003A1F2:01B2C3D4:66F1A2B3:qmstart:100:root@pam!cli:";
/// The same UPID as one percent-encoded path segment (`encodeURIComponent`, plus `!`).
const UPID_ENC: &str =
    "UPID%3Apve1%3A0003A1F2%3A01B2C3D4%3A66F1A2B3%3Aqmstart%3A100%3Aroot%40pam%21cli%3A";

fn status_path() -> String {
    format!("/nodes/pve1/tasks/{UPID_ENC}/status")
}

fn log_path() -> String {
    format!("/nodes/pve1/tasks/{UPID_ENC}/log")
}

fn version() -> Reply {
    Reply::data(json!({ "version": "9.0.3", "release": "9.0", "repoid": "0123abcd" }))
}

/// A stub that answers `GET /version`.
fn version_stub() -> Stub {
    let stub = Stub::new();
    stub.on("GET", "/version", version());
    stub
}

fn task(status: &str, exitstatus: Option<&str>) -> Reply {
    let mut t = json!({
        "upid": UPID, "node": "pve1", "pid": 238066, "pstart": 28493780, "starttime": 1727111859,
        "type": "qmstart", "id": "100", "user": "root@pam", "tokenid": "cli", "status": status,
    });
    if let Some(e) = exitstatus {
        t["exitstatus"] = json!(e);
    }
    Reply::data(t)
}

fn done(exitstatus: &str) -> Reply {
    task("stopped", Some(exitstatus))
}

/// A stub with one stopped VM 100 on pve1 whose start returns `UPID`.
fn vm_stub() -> Stub {
    vm_stub_in("stopped")
}

fn vm_stub_in(state: &str) -> Stub {
    let stub = Stub::new();
    stub.on(
        "GET",
        "/cluster/resources",
        Reply::data(json!([
            { "id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1", "status": state,
              "name": "web1", "maxmem": 2147483648u64, "template": 0 },
            { "id": "lxc/200", "type": "lxc", "vmid": 200, "node": "pve1", "status": "running",
              "name": "db1", "template": 0 }
        ])),
    );
    stub.on(
        "POST",
        "/nodes/pve1/qemu/100/status/start",
        Reply::data(json!(UPID)),
    );
    stub
}

/// The trace lines of `-v`.
fn trace_lines(run: &Run) -> Vec<String> {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("http: "))
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// TLS: system roots plus a CA file, a pinned leaf fingerprint, or no verification
// ---------------------------------------------------------------------------------------------

#[test]
fn a_pinned_fingerprint_is_accepted_in_any_case_with_or_without_colons() {
    let stub = version_stub();
    let fp = stub.fingerprint().to_string();
    let spellings = [
        fp.clone(),
        fp.to_lowercase(),
        fp.replace(':', ""),
        fp.replace(':', "").to_lowercase(),
    ];
    for pin in &spellings {
        let run = run_cmd(
            stub.cmd_untrusted()
                .env("PROXMOX_FINGERPRINT", pin)
                .arg("version"),
        );
        run.success().stdout_has("pve-manager 9.0.3");
        assert_eq!(run.stderr, "", "pin {pin}");
    }
    // The flag works as well as the environment.
    let run = run_cmd(
        stub.cmd_untrusted()
            .args(["--fingerprint", &fp.to_lowercase(), "version"]),
    );
    run.success().stdout_has("pve-manager 9.0.3");
    assert_eq!(
        stub.requests_to("GET", "/version").len(),
        spellings.len() + 1
    );
}

#[test]
fn a_fingerprint_mismatch_exits_7_names_the_presented_one_and_sends_nothing() {
    let stub = version_stub();
    let fp = stub.fingerprint();
    let other = "AB:".repeat(31) + "AB";
    let run = stub.run(&["--fingerprint", &other, "version"]);
    run.failure(7)
        .stderr_has("does not match the pinned fingerprint")
        .stderr_has(fp)
        .stderr_has(&format!("--fingerprint {fp}"))
        .stderr_has(&format!("fingerprint = \"{fp}\""));
    assert_eq!(run.stdout, "");
    // The token never went to a server that is not trusted, and a refused certificate is not retried.
    assert!(stub.requests().is_empty(), "{:?}", stub.requests());
    assert_eq!(stub.connections(), 1);
}

#[test]
fn an_untrusted_certificate_without_a_pin_exits_7_with_its_fingerprint() {
    let stub = version_stub();
    let fp = stub.fingerprint();
    let run = run_cmd(stub.cmd_untrusted().arg("version"));
    run.failure(7)
        .stderr_has("cannot trust the server's TLS certificate")
        .stderr_has(&format!("--fingerprint {fp}"));
    assert_eq!(run.stdout, "");
    assert!(stub.requests().is_empty(), "{:?}", stub.requests());
    assert_eq!(stub.connections(), 1);
}

#[test]
fn a_ca_file_with_the_servers_ca_is_trusted() {
    let stub = version_stub();
    let ca = stub.home.path().join("pve-root-ca.pem");
    std::fs::write(&ca, &pki().ca_pem).unwrap();
    let run = run_cmd(
        stub.cmd_untrusted()
            .arg("--ca-file")
            .arg(&ca)
            .arg("version"),
    );
    run.success().stdout_has("pve-manager 9.0.3");
    assert_eq!(run.stderr, "");
    assert_eq!(stub.requests().len(), 1);

    // A ca_file that cannot be used is a configuration error (3), found before connecting.
    let missing = stub.home.path().join("missing.pem");
    let not_pem = stub.home.path().join("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    for (file, says) in [
        (&missing, "cannot read ca_file"),
        (&not_pem, "holds no PEM certificate"),
    ] {
        let run = run_cmd(
            stub.cmd_untrusted()
                .arg("--ca-file")
                .arg(file)
                .arg("version"),
        );
        run.failure(3).stderr_has(says);
    }
    assert_eq!(stub.requests().len(), 1, "nothing more was sent");
}

#[test]
fn insecure_mode_connects_and_warns() {
    let stub = version_stub();
    let run = run_cmd(stub.cmd_untrusted().args(["-k", "version"]));
    run.success()
        .stdout_has("pve-manager 9.0.3")
        .stderr_has("warning: TLS verification is off");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    let run = run_cmd(
        stub.cmd_untrusted()
            .env("PROXMOX_INSECURE", "1")
            .arg("version"),
    );
    run.success().stderr_has("warning: TLS verification is off");
}

#[test]
fn insecure_from_a_flag_or_the_environment_beats_a_fingerprint_pinned_in_the_profile() {
    // Flags > environment > profile: `-k` for one command works even when the profile pins a
    // certificate the node no longer has; a fingerprint given with it still wins.
    let stub = version_stub();
    let old = "00:".repeat(31) + "00";
    std::fs::write(
        common::config_file(stub.home.path()),
        format!("[profiles.a]\nfingerprint = \"{old}\"\n"),
    )
    .unwrap();
    let run = run_cmd(stub.cmd_untrusted().arg("version"));
    run.failure(7)
        .stderr_has("does not match the pinned fingerprint");
    let run = run_cmd(stub.cmd_untrusted().args(["-k", "version"]));
    run.success()
        .stdout_has("pve-manager 9.0.3")
        .stderr_has("warning: TLS verification is off");
    let run = run_cmd(
        stub.cmd_untrusted()
            .env("PROXMOX_INSECURE", "1")
            .arg("version"),
    );
    run.success().stderr_has("warning: TLS verification is off");
    let run = run_cmd(
        stub.cmd_untrusted()
            .args(["-k", "--fingerprint", &old, "version"]),
    );
    run.failure(7)
        .stderr_has("does not match the pinned fingerprint");
}

// ---------------------------------------------------------------------------------------------
// Bodies and status codes: PVE's message, else the reason phrase; the exit code by kind
// ---------------------------------------------------------------------------------------------

#[test]
fn a_200_that_is_not_pves_json_is_an_error_not_a_panic() {
    let cases: Vec<(&str, Reply)> = vec![
        (
            "html",
            Reply::raw(
                200,
                "OK",
                "text/html",
                "<html><body>Proxmox login</body></html>",
            ),
        ),
        (
            "garbage",
            Reply::raw(
                200,
                "OK",
                "application/octet-stream",
                vec![0u8, 0x9f, 0x92, 0x96, 0xff],
            ),
        ),
        ("empty", Reply::raw(200, "OK", "application/json", "")),
        (
            "truncated JSON",
            Reply::raw(200, "OK", "application/json", r#"{"data":{"vers"#),
        ),
        (
            "not an envelope",
            Reply::raw(200, "OK", "application/json", "[1,2,3]"),
        ),
        ("wrong shape", Reply::data(json!(["9.0.3"]))),
    ];
    for (name, reply) in cases {
        let stub = Stub::new();
        stub.on("GET", "/version", reply);
        let run = stub.run(&["version"]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(
            run.error_line()
                .starts_with("error: unexpected answer from the server (/version)"),
            "{name}: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{name}");
        // A server that answers 200 has answered: no retry.
        assert_eq!(stub.requests().len(), 1, "{name}");
    }
}

#[test]
fn objects_that_are_not_objects_are_an_error_not_a_panic() {
    // Commands that add a field to what PVE sent (the node, a job's selection) must not index
    // into a value of the wrong shape.
    let stub = Stub::new();
    stub.on(
        "GET",
        "/nodes/pve1/storage/local/status",
        Reply::data(json!("available")),
    );
    stub.on("GET", "/cluster/backup", Reply::data(json!([1, "daily"])));
    for args in [
        &["storage", "status", "local", "--node", "pve1"][..],
        &["backup", "jobs"][..],
    ] {
        let run = stub.run(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.error_line()
                .starts_with("error: unexpected answer from the server"),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{args:?}");
    }
}

#[test]
fn a_body_cut_short_on_the_wire_is_a_connection_error() {
    let stub = Stub::new();
    stub.on(
        "GET",
        "/version",
        Reply::Truncated {
            status: 200,
            declared: 200,
            body: br#"{"data":{"version":"9"#.to_vec(),
        },
    );
    let run = stub.run(&["version"]);
    run.failure(7);
    assert_eq!(run.stdout, "");
    let line = run.error_line();
    // The server did answer (headers came): the connection was lost, the host is right.
    assert!(
        line.contains("lost the connection to https://127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("(3 attempts in "), "{line}");
    assert!(
        !run.stderr.contains("check the host and port"),
        "{}",
        run.stderr
    );
    // The innermost cause, not a documentation link.
    assert!(!line.contains("docs.rs"), "{line}");
}

#[test]
fn the_reason_phrase_is_the_message_when_the_body_is_empty() {
    let stub = Stub::new();
    stub.on("GET", "/version", Reply::status(500, "got timeout"));
    let run = stub.run(&["version"]);
    run.failure(6);
    assert_eq!(run.error_line(), "error: got timeout");
    assert_eq!(run.stdout, "");

    // A body that is not PVE's JSON (a proxy's error page) is not the message either.
    let stub = Stub::new();
    stub.on(
        "GET",
        "/version",
        Reply::raw(
            500,
            "Internal Server Error",
            "text/html",
            "<html><body><h1>500</h1></body></html>",
        ),
    );
    let run = stub.run(&["version"]);
    run.failure(6);
    assert_eq!(run.error_line(), "error: Internal Server Error");
}

#[test]
fn an_unknown_path_is_not_found() {
    // pve-http-server's 501 for a path it has no handler for.
    let stub = Stub::new();
    let run = stub.run(&["api", "get", "/nodes/pve1/nothing-here"]);
    run.failure(5)
        .stderr_has("Method 'GET /nodes/pve1/nothing-here' not implemented");
    assert_eq!(stub.requests().len(), 1);
}

#[test]
fn the_body_message_wins_without_its_trailing_newline() {
    let stub = Stub::new();
    stub.on(
        "GET",
        "/version",
        Reply::json(
            500,
            "Internal Server Error",
            &json!({ "data": null, "message": "unable to read file '/etc/pve/nodes'\n" }),
        ),
    );
    let run = stub.run(&["version"]);
    run.failure(6);
    assert_eq!(
        run.error_line(),
        "error: unable to read file '/etc/pve/nodes'"
    );
    assert!(!run.stderr.contains("\n\n"), "{:?}", run.stderr);
    assert!(
        !run.stderr.contains("Internal Server Error"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_400_lists_every_field_error() {
    let stub = Stub::new();
    stub.on(
        "GET",
        "/version",
        Reply::json(
            400,
            "Parameter verification failed.",
            &json!({
                "data": null,
                "errors": {
                    "memory": "type check ('integer') failed - got 'lots'\n",
                    "cores": "value must have a minimum value of 1",
                },
                "message": "Parameter verification failed.\n",
            }),
        ),
    );
    let run = stub.run(&["version"]);
    run.failure(6);
    let line = run.error_line();
    assert!(line.contains("Parameter verification failed"), "{line}");
    assert!(
        line.contains("memory: type check ('integer') failed - got 'lots'"),
        "{line}"
    );
    assert!(
        line.contains("cores: value must have a minimum value of 1"),
        "{line}"
    );
}

#[test]
fn a_401_exits_4_with_a_hint_about_the_token() {
    let stub = Stub::new();
    // As PVE answers a bad token: the reason phrase only, an empty body.
    stub.on(
        "GET",
        "/version",
        Reply::status(401, "Authentication failed!"),
    );
    let run = stub.run(&["version"]);
    run.failure(4)
        .stderr_has("Authentication failed!")
        .stderr_has("hint: ");
    assert!(
        run.error_line().contains("authentication failed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("token id"), "{}", run.stderr);
    assert!(!run.stderr.contains(TOKEN_SECRET));
    assert_eq!(stub.requests().len(), 1, "a 401 is not retried");
}

#[test]
fn a_403_exits_4_and_names_the_privilege() {
    let stub = Stub::new();
    stub.on(
        "GET",
        "/version",
        Reply::error(403, "Permission check failed (/vms/100, VM.PowerMgmt)\n"),
    );
    let run = stub.run(&["version"]);
    run.failure(4)
        .stderr_has("Permission check failed (/vms/100, VM.PowerMgmt)")
        .stderr_has("privilege-separated");
    assert_eq!(
        stub.requests_to("GET", "/version").len(),
        1,
        "a 403 is not retried"
    );
    // What pvectl reads to explain it (the roles, for the grant to suggest) is never a write.
    assert!(stub.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn proxy_errors_595_and_596_mean_a_node_cannot_be_reached() {
    for (code, reason, attempts) in [
        // The node is down or refuses: asking again at once does not help.
        (
            595,
            "Errors during connection establishment, proxy handshake: No route to host",
            1,
        ),
        // A timeout behind the proxy is transient: a GET is retried (3 attempts).
        (596, "Connection timed out", 3),
    ] {
        let stub = Stub::new();
        stub.on("GET", "/version", Reply::status(code, reason));
        let run = stub.run(&["version"]);
        run.failure(7).stderr_has(reason);
        let line = run.error_line();
        assert!(line.contains("cannot be reached"), "{code}: {line}");
        assert!(line.contains(&code.to_string()), "{code}: {line}");
        assert_eq!(stub.requests().len(), attempts, "HTTP {code}");
    }
}

// ---------------------------------------------------------------------------------------------
// Retries: a GET on connection errors and 502/503/504/596; a POST only when nothing was sent
// or PVE could not take the lock
// ---------------------------------------------------------------------------------------------

#[test]
fn a_get_is_retried_after_a_connection_closed_without_an_answer() {
    let stub = Stub::new();
    stub.on("GET", "/version", Reply::Close)
        .on("GET", "/version", version());
    let run = stub.run(&["-v", "version"]);
    run.success().stdout_has("pve-manager 9.0.3");
    assert_eq!(stub.requests_to("GET", "/version").len(), 2);
    let trace = trace_lines(&run);
    assert_eq!(trace.len(), 2, "{trace:?}");
    assert!(
        trace[0].ends_with("attempt 1") && trace[1].ends_with("attempt 2"),
        "{trace:?}"
    );
}

#[test]
fn a_get_is_retried_on_502_503_504_and_596() {
    for codes in [[502, 503], [504, 596]] {
        let stub = Stub::new();
        stub.on("GET", "/version", Reply::status(codes[0], "Bad Gateway"))
            .on(
                "GET",
                "/version",
                Reply::status(codes[1], "Service Unavailable"),
            )
            .on("GET", "/version", version());
        let run = stub.run(&["version"]);
        run.success().stdout_has("pve-manager 9.0.3");
        assert_eq!(stub.requests().len(), 3, "{codes:?}");
    }
}

#[test]
fn a_get_gives_up_after_three_attempts() {
    let stub = Stub::new();
    stub.on("GET", "/version", Reply::status(503, "Service Unavailable"));
    let run = stub.run(&["-v", "version"]);
    run.failure(6);
    assert_eq!(run.error_line(), "error: Service Unavailable");
    assert_eq!(stub.requests().len(), 3);
    let trace = trace_lines(&run);
    assert_eq!(trace.len(), 3, "{trace:?}");
    assert!(trace[2].ends_with("attempt 3"), "{trace:?}");
}

#[test]
fn a_get_is_not_retried_on_an_ordinary_500() {
    let stub = Stub::new();
    stub.on("GET", "/version", Reply::error(500, "VM 100 not running\n"))
        .on("GET", "/version", version());
    let run = stub.run(&["version"]);
    run.failure(6);
    assert_eq!(run.error_line(), "error: VM 100 not running");
    assert_eq!(stub.requests().len(), 1);
}

#[test]
fn a_get_is_retried_when_the_connection_drops_before_the_handshake() {
    let stub = version_stub();
    stub.drop_next_connections(1);
    let run = stub.run(&["version"]);
    run.success().stdout_has("pve-manager 9.0.3");
    assert_eq!(stub.connections(), 2);
    assert_eq!(stub.requests().len(), 1);
}

const START: &str = "/nodes/pve1/qemu/100/status/start";

#[test]
fn a_post_is_not_retried_once_it_was_sent() {
    let cases: Vec<(&str, Reply, i32)> = vec![
        ("503", Reply::status(503, "Service Unavailable"), 6),
        ("596", Reply::status(596, "Connection timed out"), 7),
        ("closed without an answer", Reply::Close, 7),
    ];
    for (name, reply, code) in cases {
        let stub = Stub::new();
        stub.on("POST", START, reply)
            .on("POST", START, Reply::data(json!(UPID)));
        let run = stub.run(&["api", "post", START]);
        assert_eq!(run.code, code, "{name}: {}", run.stderr);
        assert_eq!(stub.requests_to("POST", START).len(), 1, "{name}");
        assert_eq!(run.stdout, "", "{name}");
    }
}

#[test]
fn a_post_is_retried_when_pve_could_not_take_the_lock() {
    let stub = Stub::new();
    stub.on(
        "POST",
        START,
        Reply::error(
            500,
            "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n",
        ),
    )
    .on("POST", START, Reply::data(json!(UPID)));
    let run = stub.run(&["api", "post", START]);
    run.success().stdout_has(UPID);
    assert_eq!(stub.requests_to("POST", START).len(), 2);
}

#[test]
fn a_post_is_retried_when_the_connection_failed_before_sending() {
    let stub = Stub::new();
    stub.on("POST", START, Reply::data(json!(UPID)));
    stub.drop_next_connections(1);
    let run = stub.run(&["api", "post", START]);
    run.success().stdout_has(UPID);
    assert_eq!(stub.connections(), 2);
    assert_eq!(stub.requests_to("POST", START).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Wire format: form-encoded bodies, 1/0 booleans, GET/DELETE without a body, encoded segments
// ---------------------------------------------------------------------------------------------

#[test]
fn every_request_carries_the_api_token_and_no_ticket() {
    let stub = vm_stub();
    stub.on("GET", &status_path(), done("OK"));
    stub.run(&["vm", "start", "100"]).success();
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_eq!(
            r.header("Authorization"),
            Some(format!("PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}").as_str()),
            "{} {}",
            r.method,
            r.target
        );
        assert_eq!(r.header("CSRFPreventionToken"), None);
        assert_eq!(r.header("Cookie"), None);
    }
}

#[test]
fn a_post_is_form_encoded_with_booleans_as_1_and_0() {
    // A shutdown of a stopped guest is skipped, so this one runs.
    let stub = vm_stub_in("running");
    let shutdown = "/nodes/pve1/qemu/100/status/shutdown";
    stub.on("POST", shutdown, Reply::data(json!(UPID)));
    let run = stub.run(&[
        "vm",
        "shutdown",
        "100",
        "--forceStop",
        "--timeout",
        "30",
        "--no-wait",
    ]);
    run.success();
    assert_eq!(run.stdout.trim(), UPID);
    let posts = stub.requests_to("POST", shutdown);
    assert_eq!(posts.len(), 1);
    let p = &posts[0];
    assert_eq!(p.body_text(), "timeout=30&forceStop=1");
    assert_eq!(
        p.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(p.header("Content-Length"), Some("22"));
    assert_eq!(
        p.header("Transfer-Encoding"),
        None,
        "PVE refuses chunked bodies"
    );
    assert_eq!(p.query(), None);

    // Values that need escaping are escaped in the form body.
    let stub = vm_stub();
    let run = stub.run(&[
        "vm",
        "start",
        "100",
        "--skiplock",
        "--machine",
        "pc-q35-9.0+pve0",
        "--no-wait",
    ]);
    run.success();
    let posts = stub.requests_to("POST", START);
    assert_eq!(posts[0].body_text(), "skiplock=1&machine=pc-q35-9.0%2Bpve0");
}

#[test]
fn gets_and_deletes_have_parameters_in_the_query_and_no_body() {
    let stub = Stub::new();
    stub.on("GET", "/nodes/pve1/tasks", Reply::data(json!([])));
    let run = stub.run(&[
        "tasks", "list", "--node", "pve1", "--errors", "--limit", "5",
    ]);
    run.success();
    let gets = stub.requests_to("GET", "/nodes/pve1/tasks");
    assert_eq!(gets.len(), 1);
    let g = &gets[0];
    assert_eq!(g.query(), Some("limit=5&errors=1"));
    assert!(g.body.is_empty());
    assert_eq!(g.header("Transfer-Encoding"), None);
    assert!(
        g.header("Content-Length").is_none_or(|l| l == "0"),
        "PVE answers 501 to a GET with a body"
    );

    // `tasks stop`: the status, then DELETE on the UPID as one encoded segment.
    let stub = Stub::new();
    stub.on("GET", &status_path(), task("running", None));
    stub.on(
        "DELETE",
        &format!("/nodes/pve1/tasks/{UPID_ENC}"),
        Reply::data(Value::Null),
    );
    let run = stub.run(&["tasks", "stop", UPID]);
    run.success();
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    let d = &reqs[1];
    assert_eq!(d.method, "DELETE");
    assert_eq!(d.target, format!("/api2/json/nodes/pve1/tasks/{UPID_ENC}"));
    assert!(d.body.is_empty());
    assert_eq!(d.header("Transfer-Encoding"), None);
    assert!(d.header("Content-Length").is_none_or(|l| l == "0"));
}

#[test]
fn a_upid_is_one_percent_encoded_path_segment() {
    let stub = Stub::new();
    stub.on("GET", &status_path(), done("OK"));
    let run = stub.run(&["-o", "json", "tasks", "status", UPID]);
    run.success();
    assert_eq!(run.json()["exitstatus"], "OK");
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].target,
        "/api2/json/nodes/pve1/tasks/UPID%3Apve1%3A0003A1F2%3A01B2C3D4%3A66F1A2B3%3Aqmstart%3A100%3Aroot%40pam%21cli%3A/status"
    );
}

#[test]
fn a_volume_id_is_one_percent_encoded_path_segment() {
    let volid = "local:backup/vzdump-qemu-100-2026_05_04-10_00_01.vma.zst";
    let stub = Stub::new();
    stub.on(
        "GET",
        "/cluster/resources",
        Reply::data(
            json!([{ "id": "storage/pve1/local", "type": "storage", "storage": "local",
                             "node": "pve1", "status": "available", "content": "iso,backup,vztmpl",
                             "shared": 0, "plugintype": "dir" }]),
        ),
    );
    stub.on(
        "GET",
        "/nodes/pve1/storage/local/content",
        Reply::data(
            json!([{ "volid": volid, "content": "backup", "vmid": 100, "format": "vma.zst",
                             "size": 1234567, "ctime": 1777888801 }]),
        ),
    );
    let encoded = "local%3Abackup%2Fvzdump-qemu-100-2026_05_04-10_00_01.vma.zst";
    stub.on(
        "DELETE",
        &format!("/nodes/pve1/storage/local/content/{encoded}"),
        Reply::data(Value::Null),
    );
    let run = stub.run(&["backup", "delete", volid, "--yes"]);
    run.success();
    let deletes: Vec<_> = stub
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1, "{:?}", stub.requests());
    assert_eq!(
        deletes[0].target,
        format!("/api2/json/nodes/pve1/storage/local/content/{encoded}")
    );
    assert!(deletes[0].body.is_empty());
}

#[test]
fn verbose_prints_one_line_per_request_and_never_the_secret() {
    let stub = vm_stub();
    stub.on("GET", &status_path(), done("OK"));
    let run = stub.run(&["-v", "vm", "start", "100"]);
    run.success();
    let trace = trace_lines(&run);
    assert_eq!(trace.len(), stub.requests().len(), "{}", run.stderr);
    assert!(
        trace[0].starts_with("http: GET /cluster/resources?type=vm 200 "),
        "{trace:?}"
    );
    assert!(
        trace[1].starts_with(&format!("http: POST {START} 200 ")),
        "{trace:?}"
    );
    assert!(
        trace[2].starts_with(&format!("http: GET {} 200 ", status_path())),
        "{trace:?}"
    );
    for line in &trace {
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(
            words.len(),
            7,
            "method, path, status, time, attempt: {line}"
        );
        assert!(words[4].ends_with("ms") && words[5] == "attempt", "{line}");
    }
    assert!(!run.stderr.contains(TOKEN_SECRET), "{}", run.stderr);
    assert!(!run.stdout.contains(TOKEN_SECRET), "{}", run.stdout);
}

#[test]
fn verbose_redacts_secret_parameters_in_queries() {
    let stub = Stub::new();
    stub.on("GET", "/access/permissions", Reply::data(json!({})));
    let run = stub.run(&[
        "-v",
        "api",
        "get",
        "/access/permissions",
        "password=hunter2",
        "path=/",
    ]);
    run.success();
    let trace = trace_lines(&run);
    assert_eq!(trace.len(), 1, "{}", run.stderr);
    assert!(trace[0].contains("path=/"), "{trace:?}");
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// Request timeout
// ---------------------------------------------------------------------------------------------

#[test]
fn a_silent_server_times_out_with_exit_7() {
    let stub = Stub::new();
    stub.on("GET", "/version", Reply::Hang);
    let run = stub.run(&["--request-timeout", "1s", "version"]);
    run.failure(7);
    let line = run.error_line();
    assert!(line.contains("timed out"), "{line}");
    assert!(line.contains("1s"), "{line}");
    // At most three attempts of one second each, plus backoff.
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    assert!(run.elapsed >= Duration::from_secs(1), "{:?}", run.elapsed);
}

#[test]
fn a_post_to_a_silent_server_times_out_once() {
    let stub = Stub::new();
    stub.on("POST", START, Reply::Hang);
    let run = stub.run(&["--request-timeout", "1s", "api", "post", START]);
    run.failure(7);
    assert!(run.error_line().contains("timed out"), "{}", run.stderr);
    assert_eq!(stub.requests_to("POST", START).len(), 1);
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
}

// ---------------------------------------------------------------------------------------------
// Task verdicts through the waiter: OK and WARNINGS: N succeed, anything else exits 8
// ---------------------------------------------------------------------------------------------

#[test]
fn vm_start_of_a_task_done_at_once_costs_three_requests_on_one_connection() {
    let stub = vm_stub();
    stub.on("GET", &status_path(), done("OK"));
    let run = stub.run(&["vm", "start", "100"]);
    run.success();
    let reqs = stub.requests();
    let seen: Vec<(String, String)> = reqs
        .iter()
        .map(|r| (r.method.clone(), r.target.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "GET".to_string(),
                "/api2/json/cluster/resources?type=vm".to_string()
            ),
            ("POST".to_string(), format!("/api2/json{START}")),
            ("GET".to_string(), format!("/api2/json{}", status_path())),
        ]
    );
    // Keep-alive: one TLS handshake per run.
    assert_eq!(stub.connections(), 1);
    assert!(reqs.iter().all(|r| r.conn == 0));
    // The first poll comes as soon as the POST has answered.
    let first_poll = reqs[2].at.duration_since(reqs[1].at);
    assert!(first_poll <= Duration::from_millis(100), "{first_poll:?}");
}

#[test]
fn giving_up_on_a_running_task_exits_9_and_leaves_it_running() {
    let stub = Stub::new();
    stub.on("GET", &status_path(), task("running", None));
    let run = stub.run(&["tasks", "wait", "--wait-timeout", "1s", UPID]);
    run.failure(9)
        .stderr_has(UPID)
        .stderr_has(&format!("pvectl tasks wait {UPID}"));
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
    let polls = stub.requests_to("GET", &status_path()).len();
    assert!((2..=10).contains(&polls), "{polls} polls in one second");
    // Only polls: the task is not stopped on the server.
    assert!(stub.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn requests_are_held_to_about_ten_per_second() {
    // `tasks list` asks every online node: 1 + 20 requests.
    let stub = Stub::new();
    let nodes: Vec<Value> = (1..=20)
        .map(|i| json!({ "node": format!("pve{i}"), "status": "online", "type": "node" }))
        .collect();
    stub.on("GET", "/nodes", Reply::data(json!(nodes)));
    for i in 1..=20 {
        stub.on(
            "GET",
            &format!("/nodes/pve{i}/tasks"),
            Reply::data(json!([])),
        );
    }
    let run = stub.run(&["tasks", "list"]);
    run.success();
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 21);
    // A burst of ten, then ten per second: the 21st request comes a second after the first.
    let spread = reqs[20].at.duration_since(reqs[0].at);
    assert!(spread >= Duration::from_millis(900), "{spread:?}");
    assert!(spread <= Duration::from_secs(3), "{spread:?}");
}

#[test]
fn vm_start_as_json_reports_the_result() {
    let stub = vm_stub();
    stub.on("GET", &status_path(), done("OK"));
    let run = stub.run(&["-o", "json", "vm", "start", "web1"]);
    run.success();
    let v = run.json();
    let r = if v.is_array() { v[0].clone() } else { v };
    assert_eq!(r["vmid"], 100);
    assert_eq!(r["node"], "pve1");
    assert_eq!(r["type"], "qemu");
    assert_eq!(r["action"], "start");
    assert_eq!(r["upid"], UPID);
    assert_eq!(r["exitstatus"], "OK");
    assert_eq!(r["ok"], true);
    assert_eq!(r["warnings"], json!([]));
    assert!(r["duration_s"].as_f64().is_some_and(|d| d >= 0.0), "{r}");
}

#[test]
fn a_state_in_cluster_resources_that_lags_behind_the_guest_does_not_skip_the_action() {
    // pvestatd updates /cluster/resources every ~10 s: a VM stopped a moment ago still shows
    // `running` there. Its own status says `stopped`, so `start` must be sent, not skipped.
    let stub = vm_stub_in("running");
    stub.on(
        "GET",
        "/nodes/pve1/qemu/100/status/current",
        Reply::data(json!({ "vmid": 100, "status": "stopped", "qmpstatus": "stopped" })),
    );
    stub.on("GET", &status_path(), done("OK"));
    let run = stub.run(&["vm", "start", "web1"]);
    run.success()
        .stderr_lacks("already running")
        .stderr_has("web1 (100): start OK");
    assert_eq!(
        stub.requests_to("POST", "/nodes/pve1/qemu/100/status/start")
            .len(),
        1
    );

    // When the guest confirms the state, nothing is sent.
    let stub = vm_stub_in("running");
    stub.on(
        "GET",
        "/nodes/pve1/qemu/100/status/current",
        Reply::data(json!({ "vmid": 100, "status": "running", "qmpstatus": "running" })),
    );
    let run = stub.run(&["vm", "start", "web1"]);
    run.success().stderr_has("web1 (100): already running");
    assert!(stub
        .requests_to("POST", "/nodes/pve1/qemu/100/status/start")
        .is_empty());
}

#[test]
fn a_task_that_ends_with_warnings_succeeds_and_prints_them() {
    let lines = [
        "starting VM 100",
        "WARN: iothread is only valid with virtio disk or virtio-scsi-single controller, ignoring",
        "some progress",
        "WARN: the guest agent is not running",
        "TASK WARNINGS: 2",
    ];
    // `tasks wait`
    let stub = Stub::new();
    stub.on("GET", &status_path(), done("WARNINGS: 2"));
    stub.on("GET", &log_path(), task_log(&lines));
    let run = stub.run(&["tasks", "wait", UPID]);
    run.success().stderr_has(lines[1]).stderr_has(lines[3]);
    assert!(!run.stderr.contains("some progress"), "{}", run.stderr);
    assert_eq!(stub.requests_to("GET", &status_path()).len(), 1);

    // `vm start -o json`: the warnings are in the result too.
    let stub = vm_stub();
    stub.on("GET", &status_path(), done("WARNINGS: 2"));
    stub.on("GET", &log_path(), task_log(&lines));
    let run = stub.run(&["-o", "json", "vm", "start", "100"]);
    run.success().stderr_has(lines[1]);
    let v = run.json();
    let r = if v.is_array() { v[0].clone() } else { v };
    assert_eq!(r["exitstatus"], "WARNINGS: 2");
    assert_eq!(r["ok"], true);
    assert_eq!(r["warnings"], json!([lines[1], lines[3]]));
}

#[test]
fn a_failed_task_exits_8_with_the_end_of_its_log() {
    let mut lines: Vec<String> = (1..=39).map(|i| format!("step {i:02}")).collect();
    lines.push("TASK ERROR: some error".into());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();

    let stub = Stub::new();
    stub.on("GET", &status_path(), done("some error"));
    stub.on("GET", &log_path(), task_log(&lines));
    let run = stub.run(&["tasks", "wait", UPID]);
    run.failure(8)
        .stderr_has("some error")
        .stderr_has("step 39")
        .stderr_has("TASK ERROR: some error")
        .stderr_lacks("step 01");
    assert_eq!(stub.requests_to("GET", &status_path()).len(), 1);

    let stub = vm_stub();
    stub.on("GET", &status_path(), done("some error"));
    stub.on("GET", &log_path(), task_log(&lines));
    let run = stub.run(&["-o", "json", "vm", "start", "100"]);
    run.failure(8).stderr_has("TASK ERROR: some error");
    let v = run.json();
    let r = if v.is_array() { v[0].clone() } else { v };
    assert_eq!(r["exitstatus"], "some error");
    assert_eq!(r["ok"], false);
}

#[test]
fn a_poll_that_fails_once_does_not_change_the_verdict() {
    let node_down = Reply::status(
        595,
        "Errors during connection establishment, proxy handshake: No route to host",
    );
    // The last number: how often the waiter itself saw the failure (the client already retries
    // a GET on 596 and on a closed connection, so those never reach it).
    let cases: Vec<(&str, Reply, &str, i32, usize)> = vec![
        ("595", node_down.clone(), "OK", 0, 1),
        ("595", node_down, "some error", 8, 1),
        (
            "596",
            Reply::status(596, "Connection timed out"),
            "OK",
            0,
            0,
        ),
        ("500", Reply::status(500, "got timeout"), "some error", 8, 1),
        ("closed", Reply::Close, "OK", 0, 0),
    ];
    for (name, failure, verdict, code, said) in cases {
        let stub = Stub::new();
        stub.on("GET", &status_path(), failure)
            .on("GET", &status_path(), done(verdict));
        stub.on("GET", &log_path(), task_log(&["TASK ERROR: some error"]));
        let run = stub.run(&["tasks", "wait", UPID]);
        assert_eq!(run.code, code, "{name} then {verdict}: {}", run.stderr);
        assert_eq!(
            stub.requests_to("GET", &status_path()).len(),
            2,
            "{name} then {verdict}"
        );
        // A failed poll the waiter sees is said once, also without a terminal.
        assert_eq!(
            run.stderr.matches("cannot read the task's status").count(),
            said,
            "{name} then {verdict}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_running_task_is_polled_until_it_ends() {
    let stub = vm_stub();
    stub.on("GET", &status_path(), task("running", None))
        .on("GET", &status_path(), task("running", None))
        .on("GET", &status_path(), done("OK"));
    let run = stub.run(&["vm", "start", "100"]);
    run.success();
    assert_eq!(stub.requests_to("GET", &status_path()).len(), 3);
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
}
