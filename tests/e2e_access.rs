//! End-to-end: `access users|groups|roles|tokens|acl|whoami|check|can|bootstrap`, and the advice
//! pvectl gives when PVE refuses a request (403), against fakepve with PVE's users, tokens, roles
//! and ACLs emulated (`emulate_access` in tests/support/fakepve_ctl.py: fakepve alone keeps none
//! of them and checks permissions without roles).
//!
//! Every test checks the exit code, both streams, the requests sent and what the server holds
//! afterwards. A token's secret must never show anywhere but on the stdout of its creation.

mod common;

use common::helpers::{cmd, req, sent, writes};
use common::{Fake, Run, PASSWORD};
use serde_json::{json, Value};

// ------------------------------------------------------------------------------------ helpers

/// A fake with PVE's access control, a VM 100 (web1) and a container 200 (db1) on pve1.
fn fake() -> Fake {
    Fake::with(
        "pve.add_vm(100, 'web1')\n\
         pve.add_ct(200, 'db1')\n\
         emulate_access(pve)",
    )
}

/// What the server holds: users (with groups and tokens), groups, custom roles, ACL entries.
fn state(fake: &Fake) -> Value {
    fake.exec(
        "ac = pve.ac\n\
         result = {\n\
           'users': {u: dict((k, sorted(v) if isinstance(v, set) else v) for k, v in e.items()) for u, e in ac['users'].items()},\n\
           'groups': ac['groups'],\n\
           'roles': {r: sorted(p) for r, p in ac['roles'].items() if not r.startswith('PVE') and r not in ('Administrator', 'NoAccess')},\n\
           'acl': sorted(ac['acl'], key=lambda e: (e['path'], e['type'], e['ugid'], e['roleid'])),\n\
           'passwords': dict(pve.users),\n\
         }",
    )
}

/// Run pvectl logged in with this full token (`user@realm!name=secret`).
fn as_token(fake: &Fake, token: &str, args: &[&str]) -> Run {
    fake.run_env(&[], &[("PROXMOX_TOKEN", token)], args)
}

/// A token `user!name` with this secret on the server (privsep 1 unless said).
fn add_token(fake: &Fake, user: &str, name: &str, secret: &str, privsep: u8) -> String {
    fake.exec(&format!(
        "pve.ac_user('{user}')\npve.ac_token('{user}', '{name}', '{secret}', privsep={privsep})"
    ));
    format!("{user}!{name}={secret}")
}

fn grant(fake: &Fake, path: &str, role: &str, ugid: &str, kind: &str) {
    fake.exec(&format!(
        "pve.ac_grant('{path}', '{role}', '{ugid}', '{kind}')"
    ));
}

/// A file holding `text`, in the fake's home.
fn file(fake: &Fake, name: &str, text: &str) -> String {
    let path = fake.home.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

// -------------------------------------------------------------------- the permission table

/// pvectl's table of the permissions of the endpoints it calls says what PVE's schema says.
#[test]
fn the_permission_table_matches_pves_schema() {
    let fake = Fake::new();
    let schema = fake.exec(
        "from fakepve import schema\n\
         paths = schema.load().paths\n\
         result = {m + ' ' + p: {'permissions': info.get('permissions'), 'allowtoken': info.get('allowtoken', 1)}\n\
                   for p, methods in paths.items() for m, info in methods.items()}",
    );
    assert!(pvectl::api::permissions::TABLE.len() > 100);
    for e in pvectl::api::permissions::TABLE {
        let key = format!("{} {}", e.method, e.path);
        let Some(s) = schema.get(&key) else {
            panic!("{key} is not in PVE's schema");
        };
        let want = match &s["permissions"] {
            Value::Null => Value::Null,
            p => {
                // The schema's check, or its `user` (what the table keeps of it).
                match p.get("check") {
                    Some(c) => json!({ "check": c }),
                    None => json!({ "user": p["user"] }),
                }
            }
        };
        assert_eq!(e.check.schema_json(), want, "{key}");
        assert_eq!(
            e.allowtoken,
            s["allowtoken"].as_i64() != Some(0),
            "{key} allowtoken"
        );
    }
}

// -------------------------------------------------------------------------------------- users

#[test]
fn users_are_created_shown_changed_and_deleted() {
    let fake = fake();
    fake.exec("pve.ac_group('ops')\npve.ac_group('dev')");
    let pw = file(&fake, "alice.pw", "correct horse battery\n");
    let run = fake.run(&[
        "access",
        "users",
        "create",
        "alice@pve",
        "--password-file",
        &pw,
        "--groups",
        "ops",
        "--expire",
        "2027-01-31",
        "--comment",
        "on call",
    ]);
    run.success().stdout_empty();
    assert_eq!(run.stderr, "alice@pve: user create OK\n");
    run.hides("correct horse");
    let w = writes(&fake);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].line(), "POST /access/users");
    let has = |k: &str, v: &str| w[0].params.contains(&(k.to_string(), v.to_string()));
    assert!(has("userid", "alice@pve") && has("groups", "ops") && has("comment", "on call"));
    assert!(has("expire", "1801353600"), "{:?}", w[0].params);
    let s = state(&fake);
    assert_eq!(s["users"]["alice@pve"]["groups"], json!(["ops"]));
    assert_eq!(s["passwords"]["alice@pve"], "correct horse battery");
    // The password logs in.
    fake.run_as("alice@pve", "correct horse battery", &["version"])
        .success();

    let run = fake.run(&["-o", "json", "access", "users", "show", "alice@pve"]);
    let v = run.success().json();
    assert_eq!(v["userid"], "alice@pve");
    assert_eq!(v["expire"], "2027-01-31T00:00:00+00:00");
    assert_eq!(v["groups"], json!(["ops"]));
    let run = fake.run(&["access", "users", "list"]);
    run.success()
        .stdout_has("USERID")
        .stdout_has("alice@pve")
        .stdout_has("2027-01-31 00:00:00");

    fake.clear_requests();
    let run = fake.run(&cmd(
        "access users set alice@pve --disable --groups dev --append --expire never",
    ));
    run.success()
        .stderr_has("alice@pve: user set OK (expire=0 groups=dev enable=0 append=1)");
    assert_eq!(writes(&fake)[0].line(), "PUT /access/users/alice@pve");
    let s = state(&fake);
    assert_eq!(s["users"]["alice@pve"]["groups"], json!(["dev", "ops"]));
    assert_eq!(s["users"]["alice@pve"]["enable"], 0);

    // Deleting asks; off a terminal it needs --yes.
    fake.clear_requests();
    let run = fake.run(&cmd("access users delete alice@pve"));
    run.one_error(2);
    assert!(writes(&fake).is_empty());
    let run = fake.run(&cmd("-o json access users delete alice@pve --yes"));
    let v = run.success().json();
    assert_eq!(v[0]["name"], "alice@pve");
    assert_eq!(v[0]["action"], "user delete");
    assert_eq!(v[0]["ok"], true);
    assert!(v[0].get("node").is_none(), "{v}");
    assert!(state(&fake)["users"].get("alice@pve").is_none());
}

#[test]
fn bad_user_input_is_refused_before_anything_is_sent() {
    let fake = fake();
    fake.clear_requests();
    let short = file(&fake, "short.pw", "abc\n");
    for (args, says) in [
        (
            vec!["access", "users", "create", "alice"],
            "needs its realm",
        ),
        (
            vec![
                "access",
                "users",
                "create",
                "bob@ldap",
                "--password-file",
                &short,
            ],
            "realm 'ldap'",
        ),
        (
            vec![
                "access",
                "users",
                "create",
                "bob@pve",
                "--password-file",
                &short,
            ],
            "shorter than 8 characters",
        ),
        (
            vec!["access", "users", "create", "bob@pve", "--expire", "soon"],
            "--expire 'soon' is not a date",
        ),
        (
            vec!["access", "users", "set", "bob@pve"],
            "nothing to change",
        ),
    ] {
        let run = fake.run(&args);
        assert!(
            run.one_error(2).error_line().contains(says),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(sent(&fake).is_empty(), "{:?}", sent(&fake));
    // PVE's own refusals keep PVE's words.
    let run = fake.run(&cmd("access users create root@pam"));
    assert!(run
        .one_error(6)
        .error_line()
        .contains("create user failed: user 'root@pam' already exists"));
    let run = fake.run(&cmd("access users show nobody@pve"));
    assert!(run.one_error(5).error_line().contains("no such user"));
}

/// A new password goes through `PUT /access/password`, which PVE refuses to API tokens.
#[test]
fn a_password_is_changed_with_a_password_login_and_never_with_a_token() {
    let fake = fake();
    fake.exec("pve.ac_user('alice@pve', password='first-password')");
    let pw = file(&fake, "new.pw", "second-password\n");
    let run = fake.run(&[
        "access",
        "users",
        "set",
        "alice@pve",
        "--password-file",
        &pw,
    ]);
    run.one_error(4).hides("second-password");
    assert!(
        run.stderr.contains("PVE lets no API token do this"),
        "{}",
        run.stderr
    );
    assert_eq!(state(&fake)["passwords"]["alice@pve"], "first-password");

    let run = fake.run_password(&[
        "access",
        "users",
        "set",
        "alice@pve",
        "--password-file",
        &pw,
    ]);
    run.success().hides("second-password");
    assert_eq!(run.stderr, "alice@pve: user set OK (password)\n");
    assert_eq!(state(&fake)["passwords"]["alice@pve"], "second-password");
}

// ------------------------------------------------------------------------------ groups, roles

#[test]
fn groups_are_created_listed_and_deleted() {
    let fake = fake();
    fake.run(&cmd("access groups create ops --comment night-shift"))
        .success();
    fake.exec("pve.ac_user('alice@pve', groups={'ops'})");
    let v = fake
        .run(&cmd("-o json access groups list"))
        .success()
        .json();
    assert_eq!(
        v,
        json!([{"groupid": "ops", "comment": "night-shift", "users": "alice@pve"}])
    );
    fake.run(&cmd("access groups delete ops --yes")).success();
    assert_eq!(state(&fake)["groups"], json!({}));
    assert_eq!(state(&fake)["users"]["alice@pve"]["groups"], json!([]));
}

#[test]
fn roles_are_checked_against_pves_privileges_before_sending() {
    let fake = fake();
    fake.clear_requests();
    let run = fake.run(&cmd("access roles create Operator vm.powermgmt VM.Audit"));
    let err = run.one_error(2).error_line();
    assert!(
        err.contains("PVE has no privilege 'vm.powermgmt' (did you mean VM.PowerMgmt?)"),
        "{err}"
    );
    assert!(writes(&fake).is_empty());
    let run = fake.run(&cmd("access roles create PVEMine VM.Audit"));
    run.one_error(2);
    assert!(writes(&fake).is_empty());

    let run = fake.run(&cmd(
        "access roles create Operator VM.PowerMgmt,VM.Console VM.Audit",
    ));
    run.success()
        .stderr_has("Operator: role create OK (VM.PowerMgmt,VM.Console,VM.Audit)");
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/access/roles",
            &[
                ("roleid", "Operator"),
                ("privs", "VM.PowerMgmt,VM.Console,VM.Audit")
            ]
        )]
    );
    assert_eq!(
        state(&fake)["roles"]["Operator"],
        json!(["VM.Audit", "VM.Console", "VM.PowerMgmt"])
    );
    let run = fake.run(&cmd("access roles show Operator"));
    assert_eq!(
        run.success().stdout,
        "PRIVILEGE\nVM.Audit\nVM.Console\nVM.PowerMgmt\n"
    );
    let v = fake.run(&cmd("-o json access roles list")).success().json();
    let op = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["roleid"] == "Operator")
        .unwrap();
    assert_eq!(op["special"], 0);
    // PVE's built-in roles stay.
    let run = fake.run(&cmd("access roles delete PVEVMAdmin --yes"));
    assert!(run
        .one_error(6)
        .error_line()
        .contains("auto-generated role 'PVEVMAdmin' cannot be deleted"));
    fake.run(&cmd("access roles delete Operator --yes"))
        .success();
    assert!(state(&fake)["roles"].get("Operator").is_none());
}

// ------------------------------------------------------------------------------------- tokens

#[test]
fn a_new_tokens_secret_is_printed_once_on_stdout_alone() {
    let fake = fake();
    fake.exec("pve.ac_user('ops@pve')");
    let run = fake.run(&cmd(
        "-v access tokens create ops@pve ci --expire 2027-01-01 --comment pipeline",
    ));
    run.success();
    let secret = run.stdout.trim_end().to_string();
    assert_eq!(
        run.stdout,
        format!("{secret}\n"),
        "the secret alone on stdout"
    );
    assert_eq!(secret.len(), 36, "{secret}");
    assert!(!run.stderr.contains(&secret), "{}", run.stderr);
    run.stderr_has("warning: this is the only time PVE shows the secret of ops@pve!ci")
        .stderr_has("POST /access/users/ops%40pve/token/ci 200");
    let w = writes(&fake);
    assert_eq!(w[0].line(), "POST /access/users/ops@pve/token/ci");
    assert!(w[0]
        .params
        .contains(&("expire".into(), "1798761600".into())));
    let s = state(&fake);
    assert_eq!(s["users"]["ops@pve"]["tokens"]["ci"]["privsep"], 1);

    // The secret logs in; it shows nowhere else afterwards.
    let full = format!("ops@pve!ci={secret}");
    let run = as_token(&fake, &full, &["-v", "access", "whoami"]);
    run.success().hides(&secret);
    assert!(
        run.stdout.starts_with("ops@pve!ci: API token of ops@pve"),
        "{}",
        run.stdout
    );

    // -o json: the full id and the value, nothing else.
    let run = fake.run(&cmd(
        "-o json access tokens create ops@pve!backup --no-privsep",
    ));
    let v = run.success().json();
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    assert_eq!(v["full-tokenid"], "ops@pve!backup");
    let value = v["value"].as_str().unwrap().to_string();
    assert!(!run.stderr.contains(&value));
    assert_eq!(
        state(&fake)["users"]["ops@pve"]["tokens"]["backup"]["privsep"],
        0
    );

    let v = fake
        .run(&cmd("-o json access tokens list ops@pve"))
        .success()
        .json();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["tokenid"], "backup");
    assert_eq!(v[1]["userid"], "ops@pve");
    let run = fake.run(&cmd("access tokens list"));
    run.success()
        .stdout_has("ops@pve   ci")
        .hides(&secret)
        .hides(&value);

    // A name PVE would refuse, and one that exists.
    let run = fake.run(&cmd("access tokens create ops@pve 9lives"));
    run.one_error(2);
    let run = fake.run(&cmd("access tokens create ops@pve ci"));
    assert!(run
        .one_error(6)
        .error_line()
        .contains("Token already exists"));

    fake.run(&cmd("access tokens delete ops@pve ci --yes"))
        .success();
    let run = as_token(&fake, &full, &["version"]);
    run.one_error(4).hides(&secret);
}

// ---------------------------------------------------------------------------------------- acl

#[test]
fn acl_entries_are_granted_listed_and_revoked_once() {
    let fake = fake();
    fake.exec(
        "pve.ac_user('ops@pve')\npve.ac_token('ops@pve', 'ci', 's3cr3t-ci')\npve.ac_group('dev')",
    );
    fake.clear_requests();
    let run = fake.run(&cmd(
        "access acl grant /vms/100 PVEVMUser --users ops@pve --tokens ops@pve!ci --group dev --no-propagate",
    ));
    run.success();
    assert_eq!(
        run.stderr,
        "PVEVMUser on /vms/100 for ops@pve,dev,ops@pve!ci: acl grant OK\n"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "PUT",
            "/access/acl",
            &[
                ("path", "/vms/100"),
                ("roles", "PVEVMUser"),
                ("users", "ops@pve"),
                ("groups", "dev"),
                ("tokens", "ops@pve!ci"),
                ("propagate", "0")
            ]
        )]
    );
    assert_eq!(state(&fake)["acl"].as_array().unwrap().len(), 3);

    // Again: nothing is sent.
    fake.clear_requests();
    let run = fake.run(&cmd(
        "access acl grant /vms/100 PVEVMUser --users ops@pve --no-propagate",
    ));
    run.success().stderr_has("already granted");
    assert!(writes(&fake).is_empty());

    let v = fake
        .run(&cmd("-o json access acl list --path /vms/100"))
        .success()
        .json();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(
        v[0],
        json!({"path": "/vms/100", "type": "group", "ugid": "dev", "roleid": "PVEVMUser", "propagate": 0})
    );
    let v = fake
        .run(&cmd("-o json access acl list --path /vms/101"))
        .success()
        .json();
    assert_eq!(v, json!([]));

    fake.run(&cmd("access acl revoke /vms/100 PVEVMUser --users ops@pve"))
        .success();
    assert_eq!(state(&fake)["acl"].as_array().unwrap().len(), 2);
    let run = fake.run(&cmd("access acl revoke /vms/100 PVEVMUser --users ops@pve"));
    run.success().stderr_has("already absent");

    // Who the role is for must be named; --user logs in, it names nobody here.
    fake.clear_requests();
    let run = fake.run(&cmd("access acl grant /vms/100 PVEVMUser"));
    assert!(run
        .one_error(2)
        .error_line()
        .contains("--users, --groups or --tokens"));
    let run = fake.run_password(&cmd("--user root@pam access acl grant / PVEAuditor"));
    assert!(run.one_error(2).error_line().contains(
        "--user logs pvectl in as root@pam; to name that user here, use --users root@pam"
    ));
    let run = fake.run(&cmd("access acl grant vms PVEVMUser --users ops@pve"));
    run.one_error(2);
    assert!(writes(&fake).is_empty());
    // PVE's refusals: a role or user that does not exist.
    let run = fake.run(&cmd("access acl grant / Nope --users ops@pve"));
    assert!(run
        .one_error(5)
        .error_line()
        .contains("role 'Nope' does not exist"));
}

// ------------------------------------------------------------------- whoami, check and can

#[test]
fn whoami_names_the_login_and_its_permissions() {
    let fake = fake();
    let token = add_token(&fake, "ops@pve", "ci", "s3cr3t-whoami", 1);
    grant(&fake, "/", "PVEAuditor", "ops@pve", "user");
    grant(&fake, "/", "PVEAuditor", "ops@pve!ci", "token");
    grant(&fake, "/vms/100", "PVEVMUser", "ops@pve!ci", "token");
    let run = as_token(&fake, &token, &["access", "whoami"]);
    run.success().hides("s3cr3t-whoami");
    let first = run.stdout.lines().next().unwrap();
    assert_eq!(
        first,
        "ops@pve!ci: API token of ops@pve, privilege separation unknown (the token may not read its own settings)"
    );
    // The token has PVEVMUser on /vms/100, but its user has not: a privilege-separated token
    // holds what both hold.
    assert!(run.stdout.contains("/vms/100"), "{}", run.stdout);
    let v = as_token(&fake, &token, &["-o", "json", "access", "whoami"])
        .success()
        .json();
    assert_eq!(v["authid"], "ops@pve!ci");
    assert_eq!(v["type"], "token");
    assert_eq!(v["privsep"], Value::Null);
    assert_eq!(
        v["permissions"]["/vms/100"],
        json!({"VM.Audit": 1, "VM.GuestAgent.Audit": 1})
    );

    // A password login; root@pam holds everything.
    fake.exec("pve.ac_user('alice@pve', password='alice-password')");
    let run = fake.run_as("alice@pve", "alice-password", &["access", "whoami"]);
    run.success();
    assert!(
        run.stdout.starts_with("alice@pve: user (password login)\n"),
        "{}",
        run.stdout
    );
    run.stderr_has("no privileges on any path");
    let run = fake.run_password(&["access", "whoami"]);
    run.success().stdout_has("/               (all privileges)");
}

#[test]
fn check_exits_0_when_held_and_4_with_the_grant_when_not() {
    let fake = fake();
    let token = add_token(&fake, "ops@pve", "ci", "s3cr3t-check", 1);
    grant(&fake, "/", "PVEVMAdmin", "ops@pve", "user");
    grant(&fake, "/", "PVEAuditor", "ops@pve!ci", "token");

    let run = as_token(&fake, &token, &cmd("access check VM.Audit /vms/100"));
    assert_eq!(
        run.success().stdout,
        "yes: ops@pve!ci holds VM.Audit on /vms/100\n"
    );
    let run = as_token(&fake, &token, &cmd("access check VM.PowerMgmt /vms/100"));
    run.one_error(4).hides("s3cr3t-check");
    assert_eq!(
        run.error_line(),
        "error: ops@pve!ci lacks VM.PowerMgmt on /vms/100"
    );
    run.stderr_has(
        "`pvectl access acl grant /vms/100 PVEVMUser --users ops@pve --tokens 'ops@pve!ci'`",
    );
    let run = as_token(
        &fake,
        &token,
        &cmd("-o json access check VM.PowerMgmt /vms/100"),
    );
    run.failure(4);
    assert_eq!(run.json()["held"], false);
    // A privilege PVE does not have, a path that is none.
    let run = fake.run(&cmd("access check VM.Powermgmt /vms/100"));
    assert!(run
        .one_error(2)
        .error_line()
        .contains("did you mean VM.PowerMgmt?"));
    fake.run(&cmd("access check VM.Audit vms")).one_error(2);
}

#[test]
fn can_tells_what_a_command_needs_and_whether_the_login_has_it() {
    let fake = fake();
    let token = add_token(&fake, "ops@pve", "ci", "s3cr3t-can", 1);
    grant(&fake, "/", "PVEVMAdmin", "ops@pve", "user");
    grant(&fake, "/", "PVEAuditor", "ops@pve!ci", "token");

    let run = as_token(&fake, &token, &cmd("access can vm start web1"));
    run.failure(4);
    assert_eq!(
        run.stdout,
        "REQUEST                                 NEEDS                     HELD\n\
         POST /nodes/pve1/qemu/100/status/start  VM.PowerMgmt on /vms/100  no\n"
    );
    run.stderr_has("error: ops@pve!ci lacks what `vm start web1` needs")
        .stderr_has("hint: ");
    // Nothing of the command was done.
    assert!(writes(&fake).is_empty());

    let run = as_token(
        &fake,
        &token,
        &cmd("-o json access can ct set db1 memory=1024"),
    );
    let v = run.failure(4).json();
    assert_eq!(v["allowed"], false);
    assert_eq!(
        v["requests"][0]["request"],
        "GET /nodes/pve1/lxc/200/config"
    );
    assert_eq!(v["requests"][0]["held"], true);
    assert_eq!(
        v["requests"][1]["request"],
        "PUT /nodes/pve1/lxc/200/config"
    );
    assert_eq!(v["requests"][1]["held"], false);

    let run = fake.run(&cmd("access can vm start web1"));
    run.success().stdout_has("yes");
    let run = fake.run(&cmd(
        "access can firewall rules add --action ACCEPT --node pve1",
    ));
    run.success()
        .stdout_has("POST /nodes/pve1/firewall/rules")
        .stdout_has("Sys.Modify on /nodes/pve1");
    let run = fake.run(&cmd("access can access users create bob@pve"));
    run.success()
        .stdout_has("Realm.AllocateUser on /access/realm/pve and User.Modify on /access/groups");
    let run = fake.run(&cmd("access can api delete /nodes/pve1/qemu/100"));
    run.success().stdout_has("VM.Allocate on /vms/100");
    // Not a command.
    let run = fake.run(&cmd("access can vm frobnicate web1"));
    assert!(run
        .one_error(2)
        .error_line()
        .contains("is no pvectl command"));
}

#[test]
fn can_knows_the_node_ha_pool_tag_edit_export_and_apply_commands() {
    let fake = fake();
    let token = add_token(&fake, "ops@pve", "ci", "s3cr3t-more", 1);
    grant(&fake, "/", "PVEAuditor", "ops@pve", "user");
    grant(&fake, "/", "PVEAuditor", "ops@pve!ci", "token");
    let can = |line: &str| as_token(&fake, &token, &cmd(&format!("-o json access can {line}")));
    // One request's row: what it is, what PVE checks, and whether the login has it.
    let row = |line: &str, i: usize| -> (String, String, bool) {
        let v = can(line).json();
        let r = &v["requests"][i];
        (
            r["request"].as_str().unwrap_or_default().to_string(),
            r["needs"].as_str().unwrap_or_default().to_string(),
            r["held"].as_bool().unwrap_or_default(),
        )
    };
    assert_eq!(
        row("nodes reboot pve1", 0),
        (
            "POST /nodes/pve1/status".into(),
            "Sys.PowerMgmt on /nodes/pve1".into(),
            false
        )
    );
    assert_eq!(
        row("nodes services pve1", 0),
        (
            "GET /nodes/pve1/services".into(),
            "Sys.Audit on /nodes/pve1".into(),
            true
        )
    );
    assert_eq!(
        row("ha set web1 --state stopped", 0),
        (
            "PUT /cluster/ha/resources/vm:100".into(),
            "Sys.Console on /".into(),
            false
        )
    );
    assert_eq!(
        row("ha rules remove keep-apart", 1),
        (
            "DELETE /cluster/ha/rules/keep-apart".into(),
            "Sys.Console on /".into(),
            false
        )
    );
    assert_eq!(
        row("pool add prod web1 db1", 1),
        (
            "PUT /pools".into(),
            "Pool.Allocate on /pool/prod".into(),
            false
        )
    );
    // One request for both guests: shown once.
    assert_eq!(
        can("pool add prod web1 db1").json()["requests"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        row("ct tag add db1 blue", 1),
        (
            "PUT /nodes/pve1/lxc/200/config".into(),
            "one of VM.Config.Disk, VM.Config.CPU, VM.Config.Memory, VM.Config.Network, VM.Config.Options on /vms/200".into(),
            false
        )
    );
    assert_eq!(
        row("vm export web1", 3),
        (
            "GET /nodes/pve1/qemu/100/firewall/options".into(),
            "VM.Audit on /vms/100".into(),
            true
        )
    );
    assert_eq!(
        row("vm edit web1", 6),
        (
            "PUT /cluster/ha/resources/vm:100".into(),
            "Sys.Console on /".into(),
            false
        )
    );
    assert_eq!(
        row("apply /nonexistent", 8),
        (
            "POST /nodes/{node}/qemu".into(),
            "VM.Allocate on /vms".into(),
            false
        )
    );
    // What the login lacks fails the check with the usual error.
    as_token(&fake, &token, &cmd("access can nodes drain pve1"))
        .failure(4)
        .stdout_has("POST /cluster/ha/resources/{sid}/migrate")
        .stderr_has("error: ops@pve!ci lacks what `nodes drain pve1` needs");
    // A command that makes no request needs nothing, with or without a server.
    let run = fake.run(&cmd("access can config show"));
    run.success()
        .stdout_empty()
        .stderr_has("`config show` makes no request to PVE: it needs no privileges");
    let run = fake.run(&cmd("-o json access can completions bash"));
    assert_eq!(run.success().json()["requests"], json!([]));
    // Not a command: the answer it always had.
    let run = fake.run(&cmd("access can pool frobnicate prod"));
    assert!(run
        .one_error(2)
        .error_line()
        .contains("is no pvectl command"));
}

// ------------------------------------------------------------------- refusals explained

/// A privilege-separated token without an ACL of its own: its user (root@pam) has everything,
/// so the token lacks its own ACL, and the grant for the token alone fixes it.
#[test]
fn a_privilege_separated_token_without_its_own_acl_is_told_the_grant_that_fixes_it() {
    let fake = fake();
    let token = add_token(&fake, "root@pam", "auto", "s3cr3t-auto", 1);
    let run = as_token(&fake, &token, &cmd("nodes status pve1"));
    run.one_error(4).hides("s3cr3t-auto");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "two lines at most:\n{}", run.stderr);
    assert_eq!(
        lines[0],
        "error: permission denied: Permission check failed (/nodes/pve1, Sys.Audit)"
    );
    assert_eq!(
        lines[1],
        "hint: root@pam!auto is a privilege-separated token without an ACL of its own for Sys.Audit on \
         /nodes/pve1 (its user root@pam has it): `pvectl access acl grant /nodes/pve1 PVEAuditor --tokens 'root@pam!auto'`"
    );
    // The grant it names, as it is, makes the command work.
    fake.run(&cmd(
        "access acl grant /nodes/pve1 PVEAuditor --tokens root@pam!auto",
    ))
    .success();
    as_token(&fake, &token, &cmd("nodes status pve1")).success();
}

/// The token can read its user's permissions (Sys.Audit on /access): pvectl knows the user has
/// the privilege and the token lacks its own ACL for it.
#[test]
fn a_token_that_may_read_its_users_permissions_gets_the_exact_grant() {
    let fake = fake();
    let token = add_token(&fake, "ops@pve", "ci", "s3cr3t-exact", 1);
    grant(&fake, "/", "Administrator", "ops@pve", "user");
    grant(&fake, "/", "PVEAuditor", "ops@pve!ci", "token");
    let run = as_token(&fake, &token, &cmd("vm start web1"));
    run.failure(4).hides("s3cr3t-exact");
    assert_eq!(
        run.stderr,
        "web1 (100): start failed: permission denied: Permission check failed (/vms/100, VM.PowerMgmt)\n    \
         hint: ops@pve!ci is a privilege-separated token without an ACL of its own for VM.PowerMgmt on /vms/100 \
         (its user ops@pve has it): `pvectl access acl grant /vms/100 PVEVMUser --tokens 'ops@pve!ci'`\n"
    );
    assert_eq!(common::helpers::status_of(&fake, 100), "stopped");
}

/// A user logging in with a password lacks the privilege: the grant is for the user.
#[test]
fn a_missing_privilege_names_the_grant_for_the_user() {
    let fake = fake();
    fake.exec("pve.ac_user('alice@pve', password='alice-password')");
    grant(&fake, "/", "PVEAuditor", "alice@pve", "user");
    let run = fake.run_as(
        "alice@pve",
        "alice-password",
        &cmd("ct set db1 memory=1024"),
    );
    run.failure(4).hides("alice-password");
    run.stderr_has("Permission check failed (/vms/200, VM.Config.Disk|VM.Config.CPU|VM.Config.Memory|VM.Config.Network|VM.Config.Options)")
        .stderr_has("hint: PVE wanted one of VM.Config.Disk, VM.Config.CPU, VM.Config.Memory, VM.Config.Network, VM.Config.Options on /vms/200, which alice@pve lacks; an administrator can grant it: `pvectl access acl grant /vms/200 PVEVMAdmin --users alice@pve`");
}

/// PVE does not always say what it wanted: the schema's rule says it.
#[test]
fn a_bare_refusal_is_explained_from_pves_schema() {
    let fake = fake();
    let token = add_token(&fake, "ops@pve", "ci", "s3cr3t-bare", 0);
    fake.exec("pve.ac_user('bob@pve')");
    let run = as_token(&fake, &token, &cmd("access tokens list bob@pve"));
    run.one_error(4);
    assert_eq!(
        run.error_line(),
        "error: permission denied: Permission check failed"
    );
    // The token may read neither its own settings nor its user's permissions, and holds nothing.
    assert_eq!(
        run.stderr.lines().nth(1).unwrap(),
        "hint: PVE's schema asks for User.Modify on /access/groups here; ops@pve!ci holds no privilege \
         anywhere, as a privilege-separated token without ACLs of its own does: give it one (and its user \
         ops@pve the privilege too): `pvectl access acl grant /access/groups PVEUserAdmin --users ops@pve \
         --tokens 'ops@pve!ci'`"
    );
}

/// Some things only root@pam, logged in with a password, may do: no grant helps.
#[test]
fn a_root_only_refusal_says_no_token_can() {
    let fake = fake();
    fake.exec(
        "pve.fail('POST', '/nodes/pve1/qemu/100/status/start', 403, 'Permission check failed (user != root@pam)')",
    );
    let run = fake.run(&cmd("vm start web1"));
    run.failure(4).stderr_has(
        "hint: only root@pam logged in with a password may do this (user != root@pam); no API token can, however privileged: run the command with --user root@pam",
    );
    // A bind mount point: the same, as pvectl says it for `ct mount add`.
    let run = fake.run(&cmd("ct mount add db1 /mnt/host /srv/host"));
    assert!(run
        .one_error(4)
        .error_line()
        .contains("an API token can never add one"));
}

// ------------------------------------------------------------------------------- bootstrap

#[test]
fn bootstrap_makes_user_token_acls_and_profile_and_is_safe_to_run_again() {
    let fake = fake();
    let admin = [
        ("PROXMOX_USERNAME", "root@pam"),
        ("PROXMOX_PASSWORD", PASSWORD),
    ];
    let boot = |extra: &[&str]| {
        let mut args = vec![
            "access",
            "bootstrap",
            "--user",
            "pvectl@pve",
            "--role",
            "PVEVMAdmin",
            "--profile",
            "lab",
        ];
        args.extend_from_slice(extra);
        fake.run_env(&["PROXMOX_TOKEN"], &admin, &args)
    };
    let run = boot(&[]);
    run.success().stdout_empty();
    let config = std::fs::read_to_string(fake.config_path()).unwrap();
    let secret = config
        .lines()
        .find_map(|l| l.strip_prefix("token_secret = \""))
        .map(|s| s.trim_end_matches('"').to_string())
        .expect("a secret in the profile");
    run.hides(&secret);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines[0], "pvectl@pve: user created");
    assert_eq!(
        lines[1],
        "pvectl@pve!pvectl: token created, privilege-separated"
    );
    assert_eq!(
        lines[2],
        "PVEVMAdmin on /: acl granted to pvectl@pve and pvectl@pve!pvectl"
    );
    assert!(
        lines[3].starts_with("lab: profile written to "),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].starts_with("pvectl@pve!pvectl: check OK: it logs in"),
        "{}",
        lines[4]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(fake.config_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(config.contains("[profiles.lab]"), "{config}");
    assert!(
        config.contains("token_id = \"pvectl@pve!pvectl\""),
        "{config}"
    );
    let s = state(&fake);
    assert_eq!(s["users"]["pvectl@pve"]["tokens"]["pvectl"]["privsep"], 1);
    assert_eq!(s["acl"].as_array().unwrap().len(), 2);

    // The profile works: a privilege-separated token with its own ACL.
    let run = fake.run_bare(
        &[("PROXMOX_FINGERPRINT", &fake.fingerprint)],
        &cmd("-P lab -o json vm list"),
    );
    assert_eq!(run.success().json().as_array().unwrap().len(), 1);
    fake.run_bare(
        &[("PROXMOX_FINGERPRINT", &fake.fingerprint)],
        &cmd("-P lab vm start web1"),
    )
    .success();

    // Again: nothing changes, and it says so.
    fake.clear_requests();
    let run = boot(&[]);
    run.success().hides(&secret);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines[0], "pvectl@pve: already exists");
    assert_eq!(
        lines[1],
        "pvectl@pve!pvectl: already exists, privilege-separated"
    );
    assert_eq!(
        lines[2],
        "PVEVMAdmin on /: already granted to the user and the token"
    );
    assert_eq!(lines[3], "lab: already holds the token");
    assert!(writes(&fake).is_empty(), "{:?}", writes(&fake));
    assert_eq!(std::fs::read_to_string(fake.config_path()).unwrap(), config);

    // A token whose secret the profile does not hold: refused unless --regenerate.
    fake.exec("pve.apitokens['pvectl@pve!pvectl'] = 'changed-elsewhere'");
    let run = boot(&[]);
    assert!(run.one_error(3).error_line().contains("add --regenerate"));
    let run = boot(&["--regenerate"]);
    run.success()
        .stderr_has("given a new secret (--regenerate)");
    let config2 = std::fs::read_to_string(fake.config_path()).unwrap();
    assert_ne!(config2, config);
    // A profile of another login is left alone.
    let run = fake.run_env(
        &["PROXMOX_TOKEN"],
        &admin,
        &cmd("access bootstrap --user other@pve --role PVEAuditor --profile lab"),
    );
    assert!(run
        .one_error(3)
        .error_line()
        .contains("profile 'lab' already exists"));
    // No user named.
    let run = fake.run_env(
        &["PROXMOX_TOKEN"],
        &admin,
        &cmd("access bootstrap --role PVEAuditor"),
    );
    run.one_error(2);
}

/// `--admin` logs in with a password for the bootstrap, whatever else the environment says.
#[test]
fn bootstrap_logs_in_as_the_admin_it_is_given() {
    let fake = fake();
    let run = fake.run_env(
        &[],
        &[("PROXMOX_PASSWORD", PASSWORD)],
        &cmd("access bootstrap --admin root@pam --user ci@pve --role PVEAuditor --path /vms --token-name deploy"),
    );
    run.success();
    assert_eq!(common::helpers::seen(&fake)[0], "POST /access/ticket");
    // The profile is named after the user.
    let config = std::fs::read_to_string(fake.config_path()).unwrap();
    assert!(config.contains("[profiles.ci]"), "{config}");
    assert!(config.contains("token_id = \"ci@pve!deploy\""), "{config}");
    let acl = state(&fake)["acl"].clone();
    assert_eq!(
        acl,
        json!([
            {"path": "/vms", "type": "token", "ugid": "ci@pve!deploy", "roleid": "PVEAuditor", "propagate": 1},
            {"path": "/vms", "type": "user", "ugid": "ci@pve", "roleid": "PVEAuditor", "propagate": 1},
        ])
    );
    // A role PVE does not have: nothing is made.
    fake.clear_requests();
    let run = fake.run_env(
        &[],
        &[("PROXMOX_PASSWORD", PASSWORD)],
        &cmd("access bootstrap --admin root@pam --user x@pve --role VMAdmin"),
    );
    assert!(run
        .one_error(2)
        .error_line()
        .contains("PVE has no role 'VMAdmin'"));
    assert!(writes(&fake).is_empty());
}

/// A firewall change refused to a token whose user (root@pam) may do it: only Administrator
/// holds Sys.Modify.
#[test]
fn a_firewall_change_refused_to_a_token_names_the_role_that_has_the_privilege() {
    let fake = fake();
    let token = add_token(&fake, "root@pam", "ro", "s3cr3t-ro", 1);
    grant(&fake, "/", "PVEAuditor", "root@pam!ro", "token");
    as_token(&fake, &token, &cmd("firewall rules list")).success();
    let run = as_token(
        &fake,
        &token,
        &cmd("firewall rules add --action ACCEPT --macro SSH"),
    );
    run.one_error(4).hides("s3cr3t-ro");
    assert_eq!(
        run.stderr,
        "error: permission denied: Permission check failed (/, Sys.Modify)\n\
         hint: root@pam!ro is a privilege-separated token without an ACL of its own for Sys.Modify on / (its user \
         root@pam has it): `pvectl access acl grant / Administrator --tokens 'root@pam!ro'`\n"
    );
    assert!(fake
        .exec("result = pve.firewall_config('cluster')['rules']")
        .as_array()
        .unwrap()
        .is_empty());
}
