//! End-to-end: `config init|show|profiles|use|current|set|delete-profile` and reading the
//! configuration file, against fakepve; the defaults on a PVE node against a stub server.

mod common;

use common::helpers::closed_port;
use common::{full_token, Fake, PASSWORD, TOKEN_ID, TOKEN_SECRET};
use serde_json::json;

/// The configuration file as TOML (panics if it is missing or invalid).
fn config(fake: &Fake) -> toml::Value {
    let text = std::fs::read_to_string(fake.config_path()).expect("the configuration file");
    toml::from_str(&text).unwrap_or_else(|e| panic!("invalid TOML ({e}):\n{text}"))
}

fn write_config(fake: &Fake, text: &str) {
    std::fs::write(fake.config_path(), text).unwrap();
    set_mode(fake, 0o600);
}

fn set_mode(fake: &Fake, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(fake.config_path(), std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(fake: &Fake) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(fake.config_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// The fixture's pinned profile, written by hand.
fn token_profile(fake: &Fake, name: &str) -> String {
    format!(
        "[profiles.{name}]\nhost = \"{}\"\ntoken_id = \"{TOKEN_ID}\"\ntoken_secret = \"{TOKEN_SECRET}\"\nfingerprint = \"{}\"\n",
        fake.addr(),
        fake.fingerprint
    )
}

#[test]
fn init_trusts_on_first_use_with_yes_and_the_profile_works() {
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    let addr = fake.addr();
    let token = full_token();
    let env = [
        ("PROXMOX_HOST", addr.as_str()),
        ("PROXMOX_TOKEN", token.as_str()),
    ];
    let run = fake.run_bare(&env, &["config", "init", "--yes"]);
    run.success();
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("not trusted by the system roots")
            && run
                .stderr
                .contains(&format!("SHA-256 fingerprint: {}", fake.fingerprint))
            && run.stderr.contains("pvenode cert info"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "profile 'default' written to {} (server: pve-manager 9.0.10)",
            fake.config_path().display()
        )),
        "{}",
        run.stderr
    );
    run.hides(TOKEN_SECRET);

    let file = config(&fake);
    assert_eq!(file["default_profile"].as_str(), Some("default"));
    let p = &file["profiles"]["default"];
    assert_eq!(p["host"].as_str(), Some(addr.as_str()));
    assert_eq!(p["token_id"].as_str(), Some(TOKEN_ID));
    assert_eq!(p["token_secret"].as_str(), Some(TOKEN_SECRET));
    assert_eq!(p["fingerprint"].as_str(), Some(fake.fingerprint.as_str()));
    assert_eq!(mode(&fake), 0o600, "the file holds a secret");
    // The credentials were checked once the certificate was pinned.
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].1, "/api2/json/version");

    // From now on the file alone is enough.
    let run = fake.run_bare(&[], &["-o", "json", "vm", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()[0]["vmid"], 100);
    assert_eq!(run.stderr, "");
}

#[test]
fn init_without_yes_refuses_an_untrusted_certificate() {
    let fake = Fake::new();
    let addr = fake.addr();
    let token = full_token();
    let run = fake.run_bare(
        &[("PROXMOX_HOST", &addr), ("PROXMOX_TOKEN", &token)],
        &["config", "init"],
    );
    run.failure(7);
    assert_eq!(run.stdout, "");
    let last = run.stderr.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "error: certificate not trusted: rerun with --fingerprint {} (after checking it) or --yes",
            fake.fingerprint
        )
    );
    assert!(!fake.config_path().exists(), "nothing written");
    assert!(
        fake.requests().is_empty(),
        "no credentials sent to an untrusted server"
    );
    run.hides(TOKEN_SECRET);
}

#[test]
fn init_with_a_fingerprint_and_quiet() {
    let fake = Fake::new();
    let addr = fake.addr();
    let secret_file = fake.home.path().join("token.secret");
    std::fs::write(&secret_file, format!("{TOKEN_SECRET}\n")).unwrap();
    let run = fake.run_bare(
        &[("PROXMOX_HOST", &addr)],
        &[
            "config",
            "init",
            "--token-id",
            TOKEN_ID,
            "--token-secret-file",
            secret_file.to_str().unwrap(),
            "--fingerprint",
            &fake.fingerprint.to_lowercase(),
            "--node",
            "pve1",
            "-q",
        ],
    );
    run.success();
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "", "-q: nothing to say when all went well");
    let p = &config(&fake)["profiles"]["default"];
    assert_eq!(p["fingerprint"].as_str(), Some(fake.fingerprint.as_str()));
    assert_eq!(p["token_secret_file"].as_str(), secret_file.to_str());
    assert!(
        p.get("token_secret").is_none(),
        "the secret stays in its file"
    );
    assert_eq!(p["node"].as_str(), Some("pve1"));
    let content = std::fs::read_to_string(fake.config_path()).unwrap();
    assert!(!content.contains(TOKEN_SECRET));

    // --yes and -q: the first-use notice is informational, so it goes too.
    let other = fake.home.path().join("other.toml");
    let token = full_token();
    let run = fake.run_bare(
        &[("PROXMOX_HOST", &addr), ("PROXMOX_TOKEN", &token)],
        &[
            "--config",
            other.to_str().unwrap(),
            "-q",
            "config",
            "init",
            "--yes",
        ],
    );
    run.success();
    assert_eq!(run.stderr, "");
    assert!(other.exists());
}

#[test]
fn init_again_reads_the_profiles_secret_file_under_home() {
    let fake = Fake::new();
    std::fs::write(
        fake.home.path().join("token.secret"),
        format!("{TOKEN_SECRET}\n"),
    )
    .unwrap();
    let profile = format!(
        "[profiles.default]\nhost = \"{}\"\ntoken_id = \"{TOKEN_ID}\"\ntoken_secret_file = \"~/token.secret\"\n",
        fake.addr()
    );
    write_config(&fake, &profile);
    // Every command reads `~/token.secret` from the home directory; so does `config init`.
    fake.run_bare(&[], &["-k", "-q", "cluster", "nextid"])
        .success();
    let run = fake.run_bare(
        &[],
        &[
            "config",
            "init",
            "--fingerprint",
            &fake.fingerprint,
            "--node",
            "pve1",
            "-q",
        ],
    );
    run.success();
    run.hides(TOKEN_SECRET);
    let p = &config(&fake)["profiles"]["default"];
    assert_eq!(p["token_secret_file"].as_str(), Some("~/token.secret"));
    assert_eq!(p["node"].as_str(), Some("pve1"));
    assert!(p.get("token_secret").is_none());
}

#[test]
fn init_with_token_variables_and_bad_input() {
    let fake = Fake::new();
    let addr = fake.addr();
    let fp = fake.fingerprint.clone();

    // The id and the secret in two variables.
    let run = fake.run_bare(
        &[
            ("PROXMOX_HOST", &addr),
            ("PROXMOX_FINGERPRINT", &fp),
            ("PROXMOX_TOKEN_ID", TOKEN_ID),
            ("PROXMOX_TOKEN_SECRET", TOKEN_SECRET),
        ],
        &["-P", "lab", "config", "init"],
    );
    run.success();
    let file = config(&fake);
    assert_eq!(file["default_profile"].as_str(), Some("lab"));
    assert_eq!(
        file["profiles"]["lab"]["token_secret"].as_str(),
        Some(TOKEN_SECRET)
    );

    // A wrong secret: nothing is written, nothing echoed.
    let wrong = "0f6b1c2e-0000-0000-0000-notthesecret";
    let run = fake.run_bare(
        &[
            ("PROXMOX_HOST", &addr),
            ("PROXMOX_FINGERPRINT", &fp),
            ("PROXMOX_TOKEN", &format!("{TOKEN_ID}={wrong}")),
        ],
        &["-P", "broken", "config", "init"],
    );
    run.failure(4).stderr_has("authentication failed");
    run.hides(wrong);
    assert!(config(&fake)["profiles"].get("broken").is_none());

    // No host, no token id, a bad token id: configuration errors that say what to pass.
    let run = fake.run_bare(&[("PROXMOX_TOKEN", &full_token())], &["config", "init"]);
    run.failure(3)
        .stderr_has("error: no host given: pass --host HOST (or set PROXMOX_HOST)");
    let run = fake.run_bare(&[("PROXMOX_HOST", &addr)], &["config", "init"]);
    run.failure(3).stderr_has("--token-id USER@REALM!NAME");
    let run = fake.run_bare(
        &[("PROXMOX_HOST", &addr)],
        &["config", "init", "--token-id", "root-pam-cli"],
    );
    run.failure(3)
        .stderr_has("token id 'root-pam-cli' must look like USER@REALM!NAME");
    let run = fake.run_bare(
        &[("PROXMOX_HOST", &addr), ("PROXMOX_TOKEN_ID", TOKEN_ID)],
        &["config", "init"],
    );
    run.failure(3)
        .stderr_has("no secret for token root@pam!cli: pass --token-secret-file PATH");
    let run = fake.run_bare(
        &[("PROXMOX_TOKEN", &full_token())],
        &["config", "init", "--host", "http://pve1"],
    );
    run.failure(3).stderr_has("https only");

    // A server that does not answer.
    let port = closed_port();
    let run = fake.run_bare(
        &[("PROXMOX_TOKEN", &full_token())],
        &[
            "config",
            "init",
            "--yes",
            "--host",
            &format!("127.0.0.1:{port}"),
            "-P",
            "gone",
        ],
    );
    run.failure(7).stderr_has("Connection refused");
    assert!(config(&fake)["profiles"].get("gone").is_none());
}

#[test]
fn init_with_password_login() {
    let fake = Fake::with("pve.add_ct(200, 'db1')");
    let addr = fake.addr();
    let pwfile = fake.home.path().join("pw");
    std::fs::write(&pwfile, format!("{PASSWORD}\n")).unwrap();
    let run = fake.run_bare(
        &[
            ("PROXMOX_HOST", &addr),
            ("PROXMOX_FINGERPRINT", &fake.fingerprint),
        ],
        &[
            "--user",
            "root@pam",
            "config",
            "init",
            "--password-file",
            pwfile.to_str().unwrap(),
        ],
    );
    run.success();
    run.hides(PASSWORD);
    let p = &config(&fake)["profiles"]["default"];
    assert_eq!(p["auth"].as_str(), Some("password"));
    assert_eq!(p["user"].as_str(), Some("root@pam"));
    assert_eq!(p["password_file"].as_str(), pwfile.to_str());
    assert!(p.get("token_id").is_none());
    let reqs = fake.requests();
    assert_eq!(reqs[0].1, "/api2/json/access/ticket");

    fake.clear_requests();
    let run = fake.run_bare(&[], &["-o", "json", "ct", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()[0]["vmid"], 200);
    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.1).collect();
    assert_eq!(
        paths,
        ["/api2/json/access/ticket", "/api2/json/cluster/resources"]
    );

    // A wrong password is refused before anything is written.
    std::fs::write(&pwfile, "wrong-password-42\n").unwrap();
    let run = fake.run_bare(
        &[
            ("PROXMOX_HOST", &addr),
            ("PROXMOX_FINGERPRINT", &fake.fingerprint),
        ],
        &[
            "--user",
            "root@pam",
            "-P",
            "bad",
            "config",
            "init",
            "--password-file",
            pwfile.to_str().unwrap(),
        ],
    );
    run.failure(4);
    run.hides("wrong-password-42");
    assert!(config(&fake)["profiles"].get("bad").is_none());
}

#[test]
fn profiles_shows_the_login_the_profile_uses() {
    let fake = Fake::new();
    // The token id may come from the environment: a profile that says `auth = "token"`, or keeps
    // a token secret, logs in with the token even though it names a user.
    write_config(
        &fake,
        "[profiles.a]\nauth = \"token\"\nuser = \"root@pam\"\n\n\
         [profiles.b]\nuser = \"root@pam\"\ntoken_secret_command = \"echo s\"\n\n\
         [profiles.c]\nuser = \"root@pam\"\n\n\
         [profiles.d]\nauth = \"password\"\nuser = \"root@pam\"\ntoken_id = \"root@pam!x\"\n",
    );
    let run = fake.run_bare(&[], &["-o", "json", "config", "profiles"]);
    run.success();
    let auth: Vec<serde_json::Value> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["auth"].clone())
        .collect();
    assert_eq!(auth, vec!["token", "token", "password", "password"]);
}

#[test]
fn show_profiles_and_use() {
    let fake = Fake::new();
    write_config(
        &fake,
        &format!(
            "default_profile = \"home\"\n\n{}\n{}",
            token_profile(&fake, "home"),
            token_profile(&fake, "work")
        ),
    );

    let run = fake.run_bare(&[], &["config", "profiles"]);
    run.success();
    let addr = fake.addr();
    let rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["PROFILE", "IN", "USE", "DEFAULT", "HOST", "AUTH"],
            vec!["home", "yes", "yes", addr.as_str(), "token"],
            vec!["work", "no", "no", addr.as_str(), "token"],
        ]
    );
    assert_eq!(run.stderr, "");
    let run = fake.run_bare(&[], &["-o", "json", "config", "profiles"]);
    assert_eq!(
        run.json(),
        json!([
            {"name": "home", "selected": true, "default": true, "host": addr, "auth": "token"},
            {"name": "work", "selected": false, "default": false, "host": addr, "auth": "token"},
        ])
    );
    // The profile this command line would use is the one marked.
    let run = fake.run_bare(&[], &["-P", "work", "-o", "json", "config", "profiles"]);
    assert_eq!(run.json()[1]["selected"], true);
    assert_eq!(run.json()[0]["selected"], false);
    assert_eq!(
        run.json()[0]["default"],
        true,
        "the file's default is still home"
    );

    let run = fake.run_bare(&[], &["-o", "json", "config", "show"]);
    run.success();
    assert_eq!(
        run.json(),
        json!({
            "config_file": fake.config_path().display().to_string(),
            "profile": "home",
            "host": format!("https://{addr}"),
            "auth": "token",
            "token_id": TOKEN_ID,
            "token_secret": "(redacted)",
            "tls": "pinned",
            "fingerprint": fake.fingerprint,
            "timeout_s": 60,
            "parallel": 4,
            "max_requests_per_second": 10,
            "output": "json",
            // Where each value came from.
            "sources": {
                "config_file": "default",
                "profile": "default_profile",
                "host": "profile home",
                "auth": "profile home",
                "token_id": "profile home",
                "token_secret": "profile home",
                "tls": "profile home",
                "fingerprint": "profile home",
                "timeout_s": "default",
                "parallel": "default",
                "max_requests_per_second": "default",
                "output": "flag --output",
            },
        })
    );
    let run = fake.run_bare(&[], &["config", "show"]);
    run.success();
    assert!(run
        .stdout
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>()
            == ["token_secret", "(redacted)", "profile", "home"]));
    assert!(run
        .stdout
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["parallel", "4", "default"]));
    run.hides(TOKEN_SECRET);

    // Selection by flag and by variable; the environment beats the profile.
    let run = fake.run_bare(
        &[("PVECTL_PROFILE", "work")],
        &["-o", "json", "config", "show"],
    );
    assert_eq!(run.json()["profile"], "work");
    let run = fake.run_bare(
        &[("PROXMOX_HOST", "pve.example.com")],
        &["-P", "work", "-o", "json", "config", "show"],
    );
    assert_eq!(run.json()["profile"], "work");
    assert_eq!(run.json()["host"], "https://pve.example.com:8006");
    assert_eq!(run.json()["sources"]["profile"], "flag --profile");
    assert_eq!(run.json()["sources"]["host"], "env PROXMOX_HOST");
    let run = fake.run_bare(
        &[],
        &[
            "--host",
            "https://10.0.0.1:443",
            "-o",
            "json",
            "config",
            "show",
        ],
    );
    assert_eq!(run.json()["host"], "https://10.0.0.1:443");

    let run = fake.run_bare(&[], &["config", "use", "work"]);
    run.success();
    assert_eq!(run.stderr, "default profile is now 'work'\n");
    assert_eq!(config(&fake)["default_profile"].as_str(), Some("work"));
    assert_eq!(mode(&fake), 0o600);
    let run = fake.run_bare(&[], &["-o", "json", "config", "profiles"]);
    assert_eq!(run.json()[0]["default"], false);
    assert_eq!(run.json()[1]["default"], true);
    assert_eq!(run.json()[1]["selected"], true);
    let run = fake.run_bare(&[], &["-q", "config", "use", "home"]);
    run.success();
    assert_eq!(run.stderr, "");
    assert_eq!(config(&fake)["default_profile"].as_str(), Some("home"));

    let run = fake.run_bare(&[], &["config", "use", "lab"]);
    run.failure(3);
    assert_eq!(
        run.stderr,
        "error: unknown profile 'lab' (profiles: home, work); create it with `pvectl -P lab config init`\n"
    );
    let run = fake.run_bare(&[], &["-P", "lab", "config", "show"]);
    run.failure(3).stderr_has("unknown profile 'lab'");
    // None of this talked to the server.
    assert!(fake.requests().is_empty());
}

#[test]
fn profiles_without_a_file() {
    let fake = Fake::new();
    let run = fake.run_bare(&[], &["config", "profiles"]);
    run.success();
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "no profiles in {}: create one with `pvectl config init --host HOST`\n",
            fake.config_path().display()
        )
    );
    let run = fake.run_bare(&[], &["config", "use", "x"]);
    run.failure(3)
        .stderr_has("unknown profile 'x' (profiles: none)");
    // config show works without any configuration and says so.
    let run = fake.run_bare(&[], &["-o", "json", "config", "show"]);
    run.success();
    assert_eq!(run.json()["auth"], "none");
    assert!(run.json().get("host").is_none());
}

#[test]
fn a_readable_secret_is_warned_about() {
    let fake = Fake::new();
    write_config(&fake, &token_profile(&fake, "home"));
    let run = fake.run_bare(&[], &["cluster", "nextid"]);
    run.success();
    assert_eq!(run.stdout, "100\n");
    assert_eq!(run.stderr, "");

    set_mode(&fake, 0o644);
    let run = fake.run_bare(&[], &["cluster", "nextid"]);
    run.success();
    assert_eq!(run.stdout, "100\n");
    let path = fake.config_path().display().to_string();
    assert_eq!(
        run.stderr,
        format!(
            "warning: {path} holds a token secret and is readable by group or others: run chmod 600 {path}\n"
        )
    );
    run.hides(TOKEN_SECRET);

    // A secret kept in its own file: that file is checked the same way.
    use std::os::unix::fs::PermissionsExt;
    let secret_file = fake.config_path().with_file_name("home.secret");
    std::fs::write(&secret_file, format!("{TOKEN_SECRET}\n")).unwrap();
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    write_config(
        &fake,
        &format!(
            "[profiles.home]\nhost = \"{}\"\ntoken_id = \"{TOKEN_ID}\"\ntoken_secret_file = \"{}\"\nfingerprint = \"{}\"\n",
            fake.addr(),
            secret_file.display(),
            fake.fingerprint
        ),
    );
    let run = fake.run_bare(&[], &["cluster", "nextid"]);
    run.success();
    assert_eq!(run.stderr, "");
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = fake.run_bare(&[], &["cluster", "nextid"]);
    run.success();
    let shown = secret_file.display().to_string();
    assert_eq!(
        run.stderr,
        format!(
            "warning: {shown} holds a secret and is readable by group or others: run chmod 600 {shown}\n"
        )
    );
    run.hides(TOKEN_SECRET);
}

#[test]
fn profile_values_and_their_errors() {
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    let addr = fake.addr();
    // A URL with its port, a secret command, and the environment's port for a bare name.
    write_config(
        &fake,
        &format!(
            "[profiles.url]\nhost = \"https://{addr}\"\ntoken_id = \"{TOKEN_ID}\"\ntoken_secret_command = \"echo {TOKEN_SECRET}\"\nfingerprint = \"{}\"\n",
            fake.fingerprint
        ),
    );
    let run = fake.run_bare(&[], &["-o", "json", "vm", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()[0]["name"], "web1");
    let run = fake.run_bare(
        &[
            ("PROXMOX_HOST", &fake.host),
            ("PROXMOX_PORT", &fake.port.to_string()),
        ],
        &["cluster", "nextid"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "101\n");

    for (line, why) in [
        (
            "token_secret_command = \"exit 3\"",
            "token_secret_command: the command failed",
        ),
        (
            "token_secret_command = \"true\"",
            "token_secret_command: the command printed nothing",
        ),
        (
            "token_secret_file = \"/nonexistent/secret\"",
            "token_secret_file: cannot read /nonexistent/secret",
        ),
    ] {
        write_config(
            &fake,
            &format!(
                "[profiles.p]\nhost = \"{addr}\"\ntoken_id = \"{TOKEN_ID}\"\n{line}\nfingerprint = \"{}\"\n",
                fake.fingerprint
            ),
        );
        let run = fake.run_bare(&[], &["vm", "list"]);
        run.failure(3).stderr_has(why);
    }
    write_config(
        &fake,
        "[profiles.p]\nhost = \"pve1\"\nauth = \"password\"\n",
    );
    let run = fake.run_bare(&[], &["vm", "list"]);
    run.failure(3)
        .stderr_has("auth = \"password\" but names no user: add user = \"root@pam\"");
    write_config(
        &fake,
        "[profiles.p]\nhost = \"pve1\"\nauth = \"kerberos\"\n",
    );
    let run = fake.run_bare(&[], &["vm", "list"]);
    run.failure(3).stderr_has("line 3");
    write_config(
        &fake,
        "[profiles.p]\nhost = \"pve1\"\ntoken_secret = \"zq-secret-99\"\n",
    );
    let run = fake.run_bare(&[], &["vm", "list"]);
    run.failure(3)
        .stderr_has("a token secret is set (the profile) but no token id");
    run.hides("zq-secret-99");
}

#[test]
fn current_set_and_delete_profile() {
    let fake = Fake::with("pve.add_vm(100, 'web1')");
    let run = fake.run_bare(&[], &["config", "current"]);
    run.failure(3).stderr_has("no profile in use");
    assert_eq!(run.stdout, "");

    // `set` on an empty configuration makes the profile "default" (or -P's) and its file 0600.
    let secret = fake.home.path().join("homelab.secret");
    std::fs::write(&secret, format!("{TOKEN_SECRET}\n")).unwrap();
    for (k, v) in [
        ("host", fake.addr()),
        ("token_id", TOKEN_ID.to_string()),
        ("token_secret_file", secret.display().to_string()),
        ("fingerprint", fake.fingerprint.clone()),
        ("parallel", "8".to_string()),
    ] {
        let run = fake.run_bare(&[], &["-P", "homelab", "config", "set", k, &v]);
        run.success();
        assert_eq!(
            run.stderr,
            format!(
                "{k} set in profile 'homelab' ({})\n",
                fake.config_path().display()
            )
        );
    }
    assert_eq!(mode(&fake), 0o600);
    let file = config(&fake);
    assert_eq!(
        file["profiles"]["homelab"]["parallel"].as_integer(),
        Some(8)
    );
    assert_eq!(file["default_profile"].as_str(), Some("homelab"));
    let run = fake.run_bare(&[], &["config", "current"]);
    run.success();
    assert_eq!(run.stdout, "homelab\n");
    let run = fake.run_bare(
        &[("PVECTL_PROFILE", "homelab")],
        &["-o", "json", "config", "current"],
    );
    assert_eq!(
        run.json(),
        json!({"profile": "homelab", "chosen_by": "env PVECTL_PROFILE"})
    );
    // The profile made with `set` works.
    fake.run_bare(&[], &["vm", "list"])
        .success()
        .stdout_has("web1");

    // Wrong keys and values change nothing.
    let before = std::fs::read_to_string(fake.config_path()).unwrap();
    for (args, says) in [
        (
            ["config", "set", "parallel", "lots"],
            "error: parallel: invalid type: string \"lots\", expected u32",
        ),
        (
            ["config", "set", "hots", "pve1"],
            "error: hots: unknown field `hots`, expected one of `host`",
        ),
        (
            ["config", "set", "insecure", "maybe"],
            "error: insecure: invalid type: string \"maybe\", expected a boolean",
        ),
        (
            ["config", "set", "token_secret", "s3cr3t"],
            "error: the token secret is not taken on the command line",
        ),
    ] {
        let run = fake.run_bare(&[], &args);
        run.failure(2);
        assert!(run.stderr.starts_with(says), "{}", run.stderr);
        run.hides("s3cr3t");
    }
    assert_eq!(std::fs::read_to_string(fake.config_path()).unwrap(), before);

    // delete-profile asks (no terminal here: needs --yes), and forgets the default.
    let run = fake.run_bare(&[], &["config", "delete-profile", "homelab"]);
    run.failure(2).stderr_has("needs confirmation, add --yes");
    let run = fake.run_bare(&[], &["config", "delete-profile", "nope", "--yes"]);
    run.failure(3)
        .stderr_has("unknown profile 'nope' (profiles: homelab)");
    let run = fake.run_bare(&[], &["config", "delete-profile", "homelab", "--yes"]);
    run.success()
        .stderr_has("'homelab' was the default profile");
    let file = config(&fake);
    assert!(file.get("default_profile").is_none(), "{file}");
    assert!(file["profiles"].as_table().unwrap().is_empty());
}

#[test]
fn on_a_pve_node_localhost_and_pves_ca_are_the_default() {
    use common::stub::{pki, Reply, Stub};
    let stub = Stub::new();
    stub.on(
        "GET",
        "/version",
        Reply::data(json!({"version": "9.0.10", "release": "9.0"})),
    );
    let ca = stub.home.path().join("pve-root-ca.pem");
    std::fs::write(&ca, &pki().ca_pem).unwrap();
    let port = stub.port.to_string();
    let token = full_token();
    let env = [
        ("PVECTL_PVE_ROOT_CA", ca.to_str().unwrap()),
        ("PROXMOX_PORT", port.as_str()),
        ("PROXMOX_TOKEN", token.as_str()),
    ];
    let run = || {
        let mut cmd = common::clean_command(stub.home.path());
        cmd.envs(env);
        cmd
    };
    let out = common::run_cmd(run().args(["-o", "json", "config", "show"]));
    out.success();
    let v = out.json();
    assert_eq!(v["host"], format!("https://localhost:{port}"));
    assert_eq!(v["ca_file"], ca.display().to_string());
    assert_eq!(v["tls"], "verify");
    assert_eq!(v["sources"]["host"], "PVE node");
    assert_eq!(v["sources"]["ca_file"], "PVE node");
    let out = common::run_cmd(run().args(["config", "show"]));
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["host", &format!("https://localhost:{port}"), "PVE", "node"]),
        "{}",
        out.stdout
    );
    // The certificate (signed by that CA, for localhost) is verified: no pin, no warning.
    let out = common::run_cmd(run().arg("version"));
    out.success().stdout_has("9.0.10");
    assert_eq!(out.stderr, "");
    assert_eq!(stub.requests_to("GET", "/version").len(), 1);
}
