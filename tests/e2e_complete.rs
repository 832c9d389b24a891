//! End-to-end: live completion (`COMPLETE=bash pvectl -- pvectl …`), invoked as the shells'
//! scripts invoke it, against fakepve and against a stub server that never answers.

mod common;

use std::time::Duration;

use common::helpers::sent;
use common::stub::{Reply, Stub};
use common::{run_cmd, Fake, Run, TOKEN_ID, TOKEN_SECRET};
use serde_json::json;

const SETUP: &str = "\
pve.add_node('pve2')
pve.add_vm(100, 'web-1', node='pve1', status='running', config={'tags': 'web;prod'})
pve.add_vm(101, 'web-2', node='pve2')
pve.add_vm(102, 'db', node='pve2')
pve.add_ct(200, 'dns', node='pve1', status='running')
pve.add_ct(201, 'web-proxy', node='pve2')
";

/// What a shell gets for `words` with the cursor on the last one (`""`: after a space):
/// `COMPLETE=SHELL pvectl -- pvectl WORDS…` with the index bash and zsh pass.
/// The server gets 10 s, not 300 ms: the suite runs on a loaded machine (the limit itself is
/// tested with a server that never answers).
fn complete_with(mut cmd: std::process::Command, shell: &str, words: &[&str]) -> Run {
    cmd.env("PVECTL_TAB_LIMIT_MS", "10000");
    complete_within(cmd, shell, words)
}

/// As the shell runs it, with the real limit.
fn complete_within(mut cmd: std::process::Command, shell: &str, words: &[&str]) -> Run {
    cmd.env("COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .arg("pvectl")
        .args(words);
    let run = run_cmd(&mut cmd);
    run.success();
    // Whatever happens, nothing but candidates: no error, no warning on the terminal.
    assert_eq!(run.stderr, "", "stderr during completion");
    run
}

fn complete(fake: &Fake, words: &[&str]) -> Vec<String> {
    values(&complete_with(fake.cmd(), "bash", words))
}

/// The candidates that are not flags.
fn values(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .map(str::to_string)
        .collect()
}

fn resource_requests(fake: &Fake) -> usize {
    sent(fake)
        .iter()
        .filter(|r| r.path == "/cluster/resources")
        .count()
}

#[test]
fn vm_verbs_offer_vms_and_ct_verbs_containers() {
    let fake = Fake::with(SETUP);
    assert_eq!(
        complete(&fake, &["vm", "start", ""]),
        ["db", "web-1", "web-2"]
    );
    assert_eq!(complete(&fake, &["vm", "start", "web"]), ["web-1", "web-2"]);
    assert_eq!(complete(&fake, &["ct", "shutdown", "w"]), ["web-proxy"]);
    assert_eq!(complete(&fake, &["ct", "status", "2"]), ["200", "201"]);
    // Several guests: each word is completed, the ones given already count for nothing.
    assert_eq!(complete(&fake, &["vm", "stop", "web-1", "d"]), ["db"]);
    // Backups take both kinds.
    assert_eq!(
        complete(&fake, &["backup", "create", "web"]),
        ["web-1", "web-2", "web-proxy"]
    );
    assert_eq!(
        complete(&fake, &["vm", "list", "--node", ""]),
        ["pve1", "pve2"]
    );
    assert_eq!(
        complete(&fake, &["vm", "migrate", "web-1", ""]),
        ["pve1", "pve2"]
    );
    assert_eq!(
        complete(&fake, &["ct", "list", "--tag", ""]),
        ["prod", "web"]
    );
    assert_eq!(
        complete(&fake, &["storage", "status", "local-"]),
        ["local-lvm"]
    );
    // zsh and fish show what each candidate is.
    let run = complete_with(fake.cmd(), "zsh", &["vm", "start", "web-1"]);
    assert!(
        run.stdout
            .lines()
            .any(|l| l == "web-1:100 on pve1, running"),
        "{}",
        run.stdout
    );
    let mut fish = fake.cmd();
    fish.env_remove("_CLAP_COMPLETE_INDEX");
    let run = complete_with(fish, "fish", &["ct", "start", "dn"]);
    assert_eq!(run.stdout, "dns\t200 on pve1, running\n");
}

#[test]
fn snapshots_of_the_guest_on_the_line_and_upids_and_profiles() {
    let fake = Fake::with(&format!(
        "{SETUP}\
vm = pve.vms[0]
vm.snapshots = {{'before-upgrade': {{'snaptime': 1767225600, 'description': 'pre 9.1'}},
                 'base': {{'snaptime': 1767139200}}}}
"
    ));
    let mut names = complete(&fake, &["vm", "snapshot", "rollback", "web-1", ""]);
    names.sort();
    assert_eq!(names, ["base", "before-upgrade"]);
    assert_eq!(
        complete(&fake, &["vm", "snapshot", "delete", "100", "be"]),
        ["before-upgrade"]
    );
    // A container of that name there is not: nothing.
    assert!(complete(&fake, &["ct", "snapshot", "rollback", "web-1", ""]).is_empty());

    // The cluster's tasks (fakepve answers /cluster/tasks with a fixed sample: PVE's list is
    // emulated).
    fake.exec("emulate_cluster_tasks(pve)");
    let run = fake.run(&["vm", "start", "db", "--no-wait"]);
    run.success();
    let upid = run.stdout.trim().to_string();
    assert!(complete(&fake, &["tasks", "status", "UPID"]).contains(&upid));
    let run = complete_with(fake.cmd(), "zsh", &["tasks", "wait", "UPID"]);
    assert!(
        run.stdout.lines().any(|l| l.ends_with(":qmstart 102 OK")),
        "{}",
        run.stdout
    );

    std::fs::write(
        fake.config_path(),
        "[profiles.home]\nhost = \"pve1\"\n[profiles.lab]\nhost = \"pve9\"\n",
    )
    .unwrap();
    assert_eq!(complete(&fake, &["config", "use", ""]), ["home", "lab"]);
    assert_eq!(complete(&fake, &["-P", "l"]), ["lab"]);
}

#[test]
fn tabs_in_a_row_ask_the_server_once_until_the_cache_ages() {
    let fake = Fake::with(SETUP);
    complete(&fake, &["vm", "start", ""]);
    complete(&fake, &["ct", "start", ""]);
    complete(&fake, &["nodes", "status", ""]);
    assert_eq!(resource_requests(&fake), 1, "{:?}", sent(&fake));
    let cache = fake.home.path().join(".cache/pvectl");
    let files: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let kept = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(
        kept.contains("web-1") && !kept.contains(TOKEN_SECRET),
        "{kept}"
    );

    // A guest made meanwhile shows once the answer is a few seconds old.
    fake.exec("pve.add_vm(103, 'web-3')");
    assert_eq!(complete(&fake, &["vm", "start", "web"]), ["web-1", "web-2"]);
    age_cache(&fake, Duration::from_secs(6));
    assert_eq!(
        complete(&fake, &["vm", "start", "web"]),
        ["web-1", "web-2", "web-3"]
    );
    assert_eq!(resource_requests(&fake), 2);
}

/// Make every answer in the test's cache older by `by`.
fn age_cache(fake: &Fake, by: Duration) {
    let cache = fake.home.path().join(".cache/pvectl");
    for f in std::fs::read_dir(cache).unwrap().flatten() {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f.path()).unwrap()).unwrap();
        let fetched = v["fetched_ms"].as_u64().unwrap();
        v["fetched_ms"] = json!(fetched - by.as_millis() as u64);
        std::fs::write(f.path(), v.to_string()).unwrap();
    }
}

#[test]
fn a_server_that_does_not_answer_holds_a_tab_300_ms_at_most() {
    let stub = Stub::new();
    let resources = json!([
        {"type": "qemu", "vmid": 100, "name": "web-1", "node": "pve1", "status": "running", "id": "qemu/100"}
    ]);
    // The first request is answered, every later one hangs.
    stub.on("GET", "/cluster/resources", Reply::data(resources));
    stub.on("GET", "/cluster/resources", Reply::Hang);
    let cmd = || {
        let mut cmd = common::clean_command(stub.home.path());
        cmd.env("PROXMOX_HOST", format!("https://127.0.0.1:{}", stub.port))
            .env("PROXMOX_TOKEN", common::full_token())
            .env("PROXMOX_FINGERPRINT", stub.fingerprint());
        cmd
    };
    let tab = || complete_within(cmd(), "bash", &["vm", "start", ""]);
    let first = complete_with(cmd(), "bash", &["vm", "start", ""]);
    assert_eq!(values(&first), ["web-1"]);
    // Fresh: no request at all.
    let again = tab();
    assert_eq!(values(&again), ["web-1"]);
    assert_eq!(stub.requests_to("GET", "/cluster/resources").len(), 1);
    // Stale: the server is asked, does not answer, and the last answer is offered after the
    // limit, not after the request timeout.
    let home = stub.home.path().join(".cache/pvectl");
    for f in std::fs::read_dir(&home).unwrap().flatten() {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f.path()).unwrap()).unwrap();
        v["fetched_ms"] = json!(v["fetched_ms"].as_u64().unwrap() - 60_000);
        std::fs::write(f.path(), v.to_string()).unwrap();
    }
    let stale = tab();
    assert_eq!(values(&stale), ["web-1"]);
    assert_eq!(stub.requests_to("GET", "/cluster/resources").len(), 2);
    assert!(
        stale.elapsed >= Duration::from_millis(300) && stale.elapsed < Duration::from_millis(1500),
        "{:?}",
        stale.elapsed
    );
    // Nothing kept: nothing offered, as fast.
    std::fs::remove_dir_all(&home).unwrap();
    let none = tab();
    assert!(values(&none).is_empty(), "{}", none.stdout);
    assert!(
        none.elapsed < Duration::from_millis(1500),
        "{:?}",
        none.elapsed
    );
}

#[test]
fn no_password_is_asked_for_no_command_run_and_no_error_shown() {
    let fake = Fake::with(SETUP);
    // Password login without a password: nothing asked, nothing sent.
    let mut cmd = fake.bare_cmd();
    cmd.env("PROXMOX_HOST", fake.addr())
        .env("PROXMOX_USERNAME", "root@pam")
        .env("PROXMOX_FINGERPRINT", &fake.fingerprint);
    assert!(values(&complete_with(cmd, "bash", &["vm", "start", ""])).is_empty());
    // With its password, the login is made and the names come.
    let mut cmd = fake.bare_cmd();
    cmd.env("PROXMOX_HOST", fake.addr())
        .env("PROXMOX_USERNAME", "root@pam")
        .env("PROXMOX_PASSWORD", common::PASSWORD)
        .env("PROXMOX_FINGERPRINT", &fake.fingerprint);
    assert_eq!(
        values(&complete_with(cmd, "bash", &["vm", "start", "w"])),
        ["web-1", "web-2"]
    );
    // A wrong secret, an untrusted certificate: no names, no error on the terminal.
    let mut cmd = fake.bare_cmd();
    cmd.env("PROXMOX_HOST", fake.addr())
        .env("PROXMOX_TOKEN", format!("{TOKEN_ID}=wrong"))
        .env("PROXMOX_FINGERPRINT", &fake.fingerprint);
    assert!(values(&complete_with(cmd, "bash", &["vm", "start", ""])).is_empty());
    let mut cmd = fake.bare_cmd();
    cmd.env("PROXMOX_HOST", fake.addr())
        .env("PROXMOX_TOKEN", common::full_token());
    assert!(values(&complete_with(cmd, "bash", &["vm", "start", ""])).is_empty());
    // A secret behind a command (which might ask for a passphrase) is not fetched.
    let marker = fake.home.path().join("ran");
    std::fs::write(
        fake.config_path(),
        format!(
            "[profiles.p]\nhost = \"{}\"\ntoken_id = \"{TOKEN_ID}\"\ntoken_secret_command = \"touch {} && echo {TOKEN_SECRET}\"\nfingerprint = \"{}\"\n",
            fake.addr(),
            marker.display(),
            fake.fingerprint
        ),
    )
    .unwrap();
    assert!(values(&complete_with(
        fake.bare_cmd(),
        "bash",
        &["vm", "start", ""]
    ))
    .is_empty());
    assert!(
        !marker.exists(),
        "token_secret_command ran during completion"
    );
    // The same profile works for a command.
    fake.run_bare(&[], &["vm", "list"]).success();
    assert!(marker.exists());
}

#[test]
fn the_shells_scripts_call_back_and_bash_fills_in_the_reply() {
    let fake = Fake::with(SETUP);
    let bin = env!("CARGO_BIN_EXE_pvectl");
    for (shell, has) in [
        (
            "bash",
            "complete -o nospace -o bashdefault -o nosort -F _clap_complete_pvectl pvectl",
        ),
        ("zsh", "#compdef pvectl"),
        ("fish", "complete --keep-order --exclusive --command pvectl"),
    ] {
        let mut cmd = fake.bare_cmd();
        cmd.env("COMPLETE", shell);
        let run = run_cmd(&mut cmd);
        run.success();
        assert!(run.stdout.contains(has), "{shell}:\n{}", run.stdout);
        assert!(run.stdout.contains(bin), "{shell}: calls {bin}");
    }
    // bash itself: source the script, press TAB after `pvectl ct start ` and read COMPREPLY.
    let mut script = fake.cmd();
    script.env("COMPLETE", "bash");
    let registration = run_cmd(&mut script).stdout;
    let file = fake.home.path().join("pvectl.bash");
    std::fs::write(&file, registration).unwrap();
    // bash with the environment of the fixture's pvectl commands.
    let mut cmd = std::process::Command::new("bash");
    cmd.env_clear();
    for (k, v) in fake.cmd().get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env("PVECTL_TAB_LIMIT_MS", "10000").arg("-c").arg(format!(
        "source {}; COMP_WORDS=(pvectl ct start ''); COMP_CWORD=3; COMP_TYPE=9; _clap_complete_pvectl pvectl '' start; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    ));
    let run = run_cmd(&mut cmd);
    run.success();
    let got: Vec<&str> = run.stdout.lines().filter(|l| !l.starts_with('-')).collect();
    assert_eq!(got, ["dns", "web-proxy"], "{}", run.stdout);
}
