//! End-to-end: `firewall …` (the cluster's, a node's, security groups) and `vm|ct firewall …` (a
//! guest's) against fakepve, which keeps the whole firewall with PVE's digests and checks.
//!
//! Every test checks the exit code, both streams, the requests sent (each change with the digest
//! of what was read) and the firewall the server holds afterwards.

mod common;

use common::helpers::{cmd, req, sent, writes, Req};
use common::{Fake, Run};
use serde_json::{json, Value};

// ------------------------------------------------------------------------------------ helpers

fn fake() -> Fake {
    Fake::with("pve.add_vm(100, 'web1')\npve.add_ct(200, 'db1')\npve.add_node('pve2')")
}

/// A scope's firewall as the server holds it: 'cluster', ('host', node) or ('vm', vmid).
fn fw(fake: &Fake, scope: &str) -> Value {
    fake.exec(&format!("result = pve.firewall_config({scope})"))
}

/// The rules of the cluster firewall as (type, action, macro/dport, enable) lines.
fn rules(fake: &Fake, scope: &str) -> Vec<String> {
    fw(fake, scope)["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let what = r
                .get("macro")
                .or(r.get("dport"))
                .or(r.get("source"))
                .map(|v| v.as_str().unwrap().to_string())
                .unwrap_or_default();
            format!(
                "{} {} {what} {}",
                r["type"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
                r["enable"]
            )
        })
        .collect()
}

/// The digest PVE lists with the cluster's rules now.
fn rules_digest(fake: &Fake, scope: &str, path: &str) -> String {
    fake.exec(&format!(
        "from fakepve.firewall import copy_list_with_digest\n\
         result = copy_list_with_digest(pve.firewall_config({scope})['{path}'])[1]"
    ))
    .as_str()
    .unwrap()
    .to_string()
}

fn param<'a>(r: &'a Req, key: &str) -> Option<&'a str> {
    r.params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[track_caller]
fn ok_quiet(run: &Run) -> &Run {
    run.success().stdout_empty()
}

// -------------------------------------------------------------------------------------- rules

#[test]
fn rules_are_added_where_asked_listed_moved_switched_and_deleted() {
    let fake = fake();
    let run = fake.run(&cmd(
        "firewall rules add --action ACCEPT --macro SSH --source 10.0.0.0/8 --comment ssh",
    ));
    ok_quiet(&run);
    assert_eq!(
        run.stderr,
        "cluster firewall: rule add OK at position 0 (in ACCEPT -macro SSH -source 10.0.0.0/8 # ssh)\n"
    );
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/cluster/firewall/rules",
            &[
                ("type", "in"),
                ("action", "ACCEPT"),
                ("macro", "SSH"),
                ("source", "10.0.0.0/8"),
                ("comment", "ssh"),
                ("enable", "1")
            ]
        )]
    );
    // Further down: PVE adds at the top, then the rule is moved, with the list's digest.
    fake.clear_requests();
    let run = fake.run(&cmd(
        "firewall rules add --action drop --proto tcp --dport 23 --pos 1",
    ));
    ok_quiet(&run).stderr_has("at position 1");
    let w = writes(&fake);
    assert_eq!(w.len(), 2);
    assert_eq!(w[0].line(), "POST /cluster/firewall/rules");
    assert_eq!(param(&w[0], "action"), Some("DROP"));
    assert_eq!(w[1].line(), "PUT /cluster/firewall/rules/0");
    assert_eq!(param(&w[1], "moveto"), Some("2"));
    assert!(param(&w[1], "digest").is_some_and(|d| d.len() == 40));
    assert_eq!(
        rules(&fake, "'cluster'"),
        vec!["in ACCEPT SSH 1", "in DROP 23 1"]
    );

    let run = fake.run(&cmd("firewall rules list"));
    assert_eq!(
        run.success().stdout,
        "POS  ON   TYPE  ACTION  MACRO  SOURCE      PROTO  DPORT  COMMENT\n\
         0    yes  in    ACCEPT  SSH    10.0.0.0/8                ssh\n\
         1    yes  in    DROP                       tcp    23\n"
    );
    // The columns no rule fills are left out, unless asked for.
    let run = fake.run(&cmd("firewall rules list --columns pos,iface,dport"));
    assert_eq!(
        run.success().stdout,
        "POS  IFACE  DPORT\n0\n1           23\n"
    );
    let v = fake
        .run(&cmd("-o json firewall rules list"))
        .success()
        .json();
    assert_eq!(v[1]["pos"], 1);
    assert_eq!(v[1]["dport"], "23");

    // Move, disable, enable: each with the digest of the list as read.
    fake.clear_requests();
    let digest = rules_digest(&fake, "'cluster'", "rules");
    ok_quiet(&fake.run(&cmd("firewall rules move 1 0"))).stderr_has("rule move OK (1 → 0)");
    let w = writes(&fake);
    assert_eq!(
        w,
        vec![req(
            "PUT",
            "/cluster/firewall/rules/1",
            &[("moveto", "0"), ("digest", &digest)]
        )]
    );
    assert_eq!(
        rules(&fake, "'cluster'"),
        vec!["in DROP 23 1", "in ACCEPT SSH 1"]
    );
    ok_quiet(&fake.run(&cmd("firewall rules disable 1")));
    assert_eq!(rules(&fake, "'cluster'")[1], "in ACCEPT SSH 0");
    fake.clear_requests();
    let run = fake.run(&cmd("firewall rules disable 1"));
    ok_quiet(&run).stderr_has("already disabled");
    assert!(writes(&fake).is_empty());
    ok_quiet(&fake.run(&cmd("firewall rules enable 1")));
    assert_eq!(rules(&fake, "'cluster'")[1], "in ACCEPT SSH 1");

    // Delete asks; the position must be there.
    fake.clear_requests();
    let run = fake.run(&cmd("firewall rules delete 0"));
    run.one_error(2);
    let run = fake.run(&cmd("firewall rules delete 5 --yes"));
    assert_eq!(
        run.one_error(5).error_line(),
        "error: no rule at position 5: the cluster firewall has 2 rules, at positions 0 to 1"
    );
    assert!(writes(&fake).is_empty());
    let digest = rules_digest(&fake, "'cluster'", "rules");
    let run = fake.run(&cmd("-o json firewall rules delete 0 --yes"));
    let v = run.success().json();
    assert_eq!(v[0]["action"], "rule delete");
    assert_eq!(v[0]["name"], "cluster firewall");
    assert_eq!(
        writes(&fake),
        vec![req(
            "DELETE",
            "/cluster/firewall/rules/0",
            &[("digest", &digest)]
        )]
    );
    assert_eq!(rules(&fake, "'cluster'"), vec!["in ACCEPT SSH 1"]);
}

/// Someone else edits the rules between pvectl's read and its write: PVE refuses the change
/// (the digest no longer matches), nothing of theirs is lost and nothing of ours is done.
#[test]
fn a_concurrent_edit_is_refused_not_lost() {
    let fake = fake();
    fake.run(&cmd("firewall rules add --action ACCEPT --macro SSH"))
        .success();
    fake.run(&cmd("firewall rules add --action ACCEPT --macro HTTP"))
        .success();
    // Another admin puts a DROP rule at the top just before pvectl deletes rule 1 (SSH).
    fake.exec(
        "def other():\n    pve.firewall_config('cluster')['rules'].insert(0, {'type': 'in', 'action': 'DROP', 'dport': '25', 'proto': 'tcp', 'enable': 1})\n\
         pve.before_write = ('DELETE', '/cluster/firewall/rules/1', other)",
    );
    let run = fake.run(&cmd("firewall rules delete 1 --yes"));
    run.one_error(6);
    assert_eq!(
        run.error_line(),
        "error: the cluster firewall changed since pvectl read it (another edit at the same time?): nothing was \
         changed; look again and retry: detected modified configuration - file changed by other user? Try again."
    );
    // Without the digest, rule 1 would now be HTTP: both rules are still there.
    assert_eq!(
        rules(&fake, "'cluster'"),
        vec!["in DROP 25 1", "in ACCEPT HTTP 1", "in ACCEPT SSH 1"]
    );
}

#[test]
fn unknown_macros_aliases_and_ipsets_are_refused_with_where_to_look() {
    let fake = fake();
    let run = fake.run(&cmd("firewall rules add --action ACCEPT --macro Sshh"));
    run.one_error(6);
    assert_eq!(
        run.error_line(),
        "error: Parameter verification failed: macro: unknown macro 'Sshh'"
    );
    run.stderr_has(
        "hint: PVE knows no macro 'Sshh': `pvectl firewall macros` lists those it knows",
    );
    let run = fake.run(&cmd("firewall rules add --action ACCEPT --source mgmt"));
    run.one_error(6);
    assert_eq!(
        run.error_line(),
        "error: Parameter verification failed: source: no such alias 'mgmt'"
    );
    run.stderr_has(
        "hint: no alias 'mgmt' where the rule is: add it (`pvectl firewall aliases add mgmt CIDR`",
    );
    let run = fake.run(&cmd(
        "vm firewall rules add web1 --action ACCEPT --dest +admins",
    ));
    run.one_error(6).stderr_has("no such ipset 'admins'");
    assert_eq!(rules(&fake, "'cluster'"), Vec::<String>::new());
    // What PVE would refuse anyway is refused before anything is sent.
    fake.clear_requests();
    let run = fake.run(&cmd(
        "vm firewall rules add web1 --type forward --action ACCEPT",
    ));
    assert!(run
        .one_error(2)
        .error_line()
        .contains("takes rules of type in, out, group"));
    let run = fake.run(&cmd("firewall rules add --action ALLOW"));
    run.one_error(2);
    assert!(writes(&fake).is_empty());
    let macros = fake.run(&cmd("firewall macros"));
    assert!(
        macros
            .success()
            .stdout
            .lines()
            .any(|l| l.starts_with("SSH ") && l.ends_with(" Secure shell traffic")),
        "{}",
        macros.stdout
    );
}

// ------------------------------------------------------------------------------------ scopes

#[test]
fn every_scope_has_its_own_paths() {
    let fake = fake();
    for (args, path) in [
        (
            "firewall rules add --node pve2 --action ACCEPT --macro SSH",
            "/nodes/pve2/firewall/rules",
        ),
        (
            "vm firewall rules add web1 --action ACCEPT --macro HTTP --iface net0",
            "/nodes/pve1/qemu/100/firewall/rules",
        ),
        (
            "ct firewall rules add db1 --action ACCEPT --proto tcp --dport 5432",
            "/nodes/pve1/lxc/200/firewall/rules",
        ),
    ] {
        fake.clear_requests();
        fake.run(&cmd(args)).success();
        assert_eq!(writes(&fake)[0].path, path, "{args}");
    }
    assert_eq!(rules(&fake, "'host', 'pve2'"), vec!["in ACCEPT SSH 1"]);
    assert_eq!(rules(&fake, "'vm', vmid=100"), vec!["in ACCEPT HTTP 1"]);
    assert_eq!(rules(&fake, "'ct', vmid=200"), vec!["in ACCEPT 5432 1"]);
    let run = fake.run(&cmd("vm firewall rules list 100"));
    run.success().stdout_has("HTTP   net0");
    // A node has no aliases; a container is no VM; a node that is not there.
    let run = fake.run(&cmd("firewall aliases list --node pve2"));
    assert!(run
        .one_error(2)
        .error_line()
        .contains("a node's firewall has no aliases"));
    let run = fake.run(&cmd("vm firewall rules list db1"));
    run.one_error(2);
    let run = fake.run(&cmd("firewall rules list --node pve9"));
    run.one_error(5);
}

// ----------------------------------------------------------------------------------- options

#[test]
fn options_are_shown_and_set_with_the_digest() {
    let fake = fake();
    let run = fake.run(&cmd(
        "firewall options set enable=on policy_in=drop log_ratelimit=enable=1,rate=10/second",
    ));
    ok_quiet(&run).stderr_has(
        "options set OK (enable=1 policy_in=DROP log_ratelimit=enable=1,rate=10/second)",
    );
    let w = writes(&fake);
    assert_eq!(w[0].line(), "PUT /cluster/firewall/options");
    assert_eq!(param(&w[0], "enable"), Some("1"));
    assert_eq!(param(&w[0], "policy_in"), Some("DROP"));
    assert!(param(&w[0], "digest").is_some());
    let v = fake
        .run(&cmd("-o json firewall options show"))
        .success()
        .json();
    assert_eq!(v["policy_in"], "DROP");
    assert!(v["digest"].is_string());
    let run = fake.run(&cmd("firewall options show"));
    run.success().stdout_has("policy_in").stdout_has("DROP");
    assert!(!run.stdout.contains("digest"));

    fake.clear_requests();
    let run = fake.run(&cmd(
        "vm firewall options set web1 enable=1 --delete policy_in",
    ));
    run.success();
    assert_eq!(param(&writes(&fake)[0], "delete"), Some("policy_in"));
    for (args, says) in [
        (
            "firewall options set policy_in=ALLOW",
            "policy_in is ACCEPT, DROP or REJECT",
        ),
        ("firewall options set dhcp=1", "has no option 'dhcp'"),
        (
            "firewall options set --node pve2 enable=maybe",
            "enable is on or off",
        ),
        ("firewall options set", "nothing to set"),
    ] {
        fake.clear_requests();
        let run = fake.run(&cmd(args));
        assert!(
            run.one_error(2).error_line().contains(says),
            "{args}: {}",
            run.stderr
        );
        assert!(writes(&fake).is_empty());
    }
}

// ------------------------------------------------------------------- aliases, ipsets, groups

#[test]
fn aliases_ipsets_and_security_groups() {
    let fake = fake();
    fake.run(&cmd(
        "firewall aliases add mgmt 10.1.0.0/24 --comment management",
    ))
    .success();
    let v = fake
        .run(&cmd("-o json firewall aliases list"))
        .success()
        .json();
    assert_eq!(v[0]["name"], "mgmt");
    assert_eq!(v[0]["cidr"], "10.1.0.0/24");

    fake.run(&cmd("vm firewall ipsets add web1 admins"))
        .success();
    fake.run(&cmd(
        "vm firewall ipsets entries add web1 admins 10.1.0.5 --comment alice",
    ))
    .success();
    fake.run(&cmd(
        "vm firewall ipsets entries add web1 admins 10.1.0.66 --nomatch",
    ))
    .success();
    let run = fake.run(&cmd("vm firewall ipsets entries list web1 admins"));
    run.success().stdout_has("10.1.0.66  yes");
    // Not empty: --force is needed; the entries are shown when asking.
    fake.clear_requests();
    let run = fake.run(&cmd("vm firewall ipsets delete web1 admins --yes"));
    assert!(run
        .one_error(2)
        .error_line()
        .contains("has 2 entries: add --force"));
    assert!(writes(&fake).is_empty());
    let run = fake.run(&cmd(
        "vm firewall ipsets entries delete web1 admins 10.9.9.9 --yes",
    ));
    run.one_error(5);
    fake.run(&cmd(
        "vm firewall ipsets entries delete web1 admins 10.1.0.66 --yes",
    ))
    .success();
    let w = writes(&fake);
    assert_eq!(
        w[0].line(),
        "DELETE /nodes/pve1/qemu/100/firewall/ipset/admins/10.1.0.66"
    );
    assert!(param(&w[0], "digest").is_some());
    fake.run(&cmd("vm firewall ipsets delete web1 admins --force --yes"))
        .success();
    assert_eq!(fw(&fake, "'vm', vmid=100")["ipset"], json!({}));

    // A security group and its rules (--group), then the group used by a rule.
    fake.run(&cmd("firewall groups add webservers --comment web"))
        .success();
    fake.run(&cmd(
        "firewall rules add --group webservers --action ACCEPT --macro HTTPS",
    ))
    .success();
    fake.run(&cmd(
        "vm firewall rules add web1 --type group --action webservers",
    ))
    .success();
    let v = fake
        .run(&cmd("-o json firewall groups list"))
        .success()
        .json();
    assert_eq!(v[0]["group"], "webservers");
    let run = fake.run(&cmd("firewall groups delete webservers --yes"));
    assert!(run.one_error(2).error_line().contains("still has 1 rules"));
    fake.run(&cmd("firewall rules delete 0 --group webservers --yes"))
        .success();
    fake.run(&cmd("firewall groups delete webservers --yes"))
        .success();
    let run = fake.run(&cmd("firewall groups delete nope --yes"));
    run.one_error(5);

    fake.clear_requests();
    let run = fake.run(&cmd("firewall aliases delete mgmt"));
    run.one_error(2);
    fake.run(&cmd("firewall aliases delete mgmt --yes"))
        .success();
    let w = writes(&fake);
    assert_eq!(w[0].line(), "DELETE /cluster/firewall/aliases/mgmt");
    assert!(param(&w[0], "digest").is_some());
    let run = fake.run(&cmd("firewall aliases delete mgmt --yes"));
    run.one_error(5);
}

// ------------------------------------------------------------------------ export and apply

const DOCUMENT: &str = r#"
[options]
enable = 1
policy_in = "DROP"

[[rules]]
type = "in"
action = "DROP"
proto = "tcp"
dport = "23"

[[rules]]
type = "in"
action = "ACCEPT"
macro = "SSH"
source = "+admins"
comment = "ssh from admins"

[[rules]]
type = "group"
action = "webservers"

[[aliases]]
name = "mgmt"
cidr = "10.1.0.0/24"

[[ipsets]]
name = "admins"
entries = [{ cidr = "10.1.0.5" }, { cidr = "mgmt", comment = "the whole net" }]

[[groups]]
name = "webservers"
rules = [{ type = "in", action = "ACCEPT", macro = "HTTP" }]
"#;

fn document(fake: &Fake, name: &str, text: &str) -> String {
    let path = fake.home.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn apply_makes_the_scope_match_and_export_gives_it_back() {
    let fake = fake();
    // What is there: an open policy, a rule accepting telnet and one accepting everything from a
    // network, which the document replaces.
    fake.run(&cmd("firewall options set policy_in=ACCEPT"))
        .success();
    fake.run(&cmd(
        "firewall rules add --action ACCEPT --proto tcp --dport 23",
    ))
    .success();
    fake.run(&cmd(
        "firewall rules add --action ACCEPT --source 192.0.2.0/24",
    ))
    .success();
    let file = document(&fake, "fw.toml", DOCUMENT);

    // The plan, in the order it would be applied; nothing is changed.
    fake.clear_requests();
    let run = fake.run(&["firewall", "apply", &file, "--dry-run"]);
    assert_eq!(
        run.success().stdout,
        "+ security group webservers\n\
         + alias mgmt = 10.1.0.0/24\n\
         + ipset admins\n\
         ~ options enable=1 policy_in=DROP (was ACCEPT)\n\
         + rule 0: in DROP -p tcp -dport 23\n\
         - rule: in ACCEPT -p tcp -dport 23\n\
         - rule: in ACCEPT -source 192.0.2.0/24\n\
         + ipset admins: 10.1.0.5\n\
         + ipset admins: mgmt\n\
         + rule 1: in ACCEPT -macro SSH -source +admins # ssh from admins\n\
         + rule 2: group webservers\n\
         + rule 0 (security group webservers): in ACCEPT -macro HTTP\n"
    );
    assert!(writes(&fake).is_empty());
    // Off a terminal it needs --yes.
    let run = fake.run(&["firewall", "apply", &file]);
    run.one_error(2);
    assert!(writes(&fake).is_empty());

    let run = fake.run(&["firewall", "apply", &file, "--yes"]);
    ok_quiet(&run).stderr_has("cluster firewall: 12 changes made");
    // What closes came before what opens: the policy, then the DROP rule, before the accepting
    // rules left; the SSH rule after its IP set was filled.
    let lines: Vec<String> = writes(&fake).iter().map(Req::line).collect();
    let at = |line: &str| {
        lines
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line} in {lines:?}"))
    };
    assert!(at("PUT /cluster/firewall/options") < at("POST /cluster/firewall/rules"));
    let posts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == "POST /cluster/firewall/rules")
        .map(|(i, _)| i)
        .collect();
    let deletes: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("DELETE /cluster/firewall/rules/"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(posts.len(), 3);
    assert_eq!(deletes.len(), 2);
    assert!(posts[0] < deletes[0] && deletes[1] < posts[1], "{lines:?}");
    assert!(at("POST /cluster/firewall/ipset/admins") < posts[1]);
    // Every rule change went with a digest.
    for w in writes(&fake).iter().filter(|w| w.path.contains("/rules/")) {
        assert!(param(w, "digest").is_some(), "{w:?}");
    }
    assert_eq!(
        rules(&fake, "'cluster'"),
        vec!["in DROP 23 1", "in ACCEPT SSH 1", "group webservers  1"]
    );

    // Again: nothing to do.
    fake.clear_requests();
    let run = fake.run(&["firewall", "apply", &file, "--yes"]);
    run.success().stderr_has("already matches the document");
    assert!(writes(&fake).is_empty());

    // Export and apply to another cluster: the same firewall.
    let exported = fake.run(&cmd("firewall export"));
    exported.success();
    assert!(
        exported.stdout.starts_with("# the cluster firewall"),
        "{}",
        exported.stdout
    );
    let other = self::fake();
    let file2 = document(&other, "exported.toml", &exported.stdout);
    other.run(&["firewall", "apply", &file2, "--yes"]).success();
    let again = other.run(&cmd("firewall export"));
    assert_eq!(again.success().stdout, exported.stdout);
    let json_doc = fake.run(&cmd("-o json firewall export")).success().json();
    assert_eq!(json_doc["options"]["policy_in"], "DROP");
    assert_eq!(json_doc["groups"][0]["name"], "webservers");
    let file3 = document(&other, "exported.json", &json_doc.to_string());
    let run = other.run(&["firewall", "apply", &file3, "--dry-run"]);
    run.success().stdout_empty().stderr_has("already matches");
}

#[test]
fn apply_refuses_a_document_pve_would_refuse_before_changing_anything() {
    let fake = fake();
    fake.clear_requests();
    for (text, says) in [
        (
            "[[rules]]\ntype = \"in\"\naction = \"ACCEPT\"\nmacro = \"Sshh\"\n",
            "uses the macro 'Sshh', which PVE does not know",
        ),
        (
            "[[rules]]\ntype = \"in\"\naction = \"ACCEPT\"\nsource = \"mgmt\"\n",
            "refers to 'mgmt', which is no alias or IP set",
        ),
        ("[options]\ndhcp = 1\n", "has no option 'dhcp'"),
        (
            "[[rules]]\ntype = \"in\"\naction = \"ALLOW\"\n",
            "the action must be ACCEPT, DROP or REJECT",
        ),
        ("rules = 3\n", "is not a firewall document"),
        ("[[rulez]]\n", "unknown field `rulez`"),
    ] {
        let file = document(&fake, "bad.toml", text);
        let run = fake.run(&["firewall", "apply", &file, "--yes"]);
        assert!(
            run.one_error(2).error_line().contains(says),
            "{text}: {}",
            run.stderr
        );
    }
    // A guest's firewall has no security groups; a node's no aliases.
    let file = document(&fake, "g.toml", "[[groups]]\nname = \"x\"\n");
    let run = fake.run(&["vm", "firewall", "apply", "web1", &file, "--yes"]);
    assert!(run
        .one_error(2)
        .error_line()
        .contains("security groups belong to the cluster"));
    let file = document(
        &fake,
        "a.toml",
        "[[aliases]]\nname = \"x\"\ncidr = \"10.0.0.1\"\n",
    );
    let run = fake.run(&["firewall", "apply", "--node", "pve2", &file, "--yes"]);
    assert!(run
        .one_error(2)
        .error_line()
        .contains("has no aliases or IP sets"));
    assert!(writes(&fake).is_empty(), "{:?}", writes(&fake));
    assert!(sent(&fake).iter().all(|r| r.method == "GET"));
}

/// A guest's firewall from a document, the alias of the cluster usable in its rules.
#[test]
fn apply_on_a_guest_and_a_stop_in_the_middle_says_where() {
    let fake = fake();
    fake.run(&cmd("firewall aliases add mgmt 10.1.0.0/24"))
        .success();
    let file = document(
        &fake,
        "guest.toml",
        "[options]\nenable = 1\n\n[[rules]]\ntype = \"in\"\naction = \"ACCEPT\"\nmacro = \"SSH\"\nsource = \"dc/mgmt\"\n\n\
         [[rules]]\ntype = \"in\"\naction = \"ACCEPT\"\nmacro = \"HTTP\"\n",
    );
    let run = fake.run(&[
        "-o", "json", "vm", "firewall", "apply", "web1", &file, "--yes",
    ]);
    let v = run.success().json();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[0]["vmid"], 100);
    assert_eq!(v[0]["action"], "apply");
    assert_eq!(
        rules(&fake, "'vm', vmid=100"),
        vec!["in ACCEPT SSH 1", "in ACCEPT HTTP 1"]
    );

    // PVE refuses a change in the middle: the run stops there and says what was done.
    let file = document(
        &fake,
        "guest2.toml",
        "[[rules]]\ntype = \"in\"\naction = \"ACCEPT\"\nmacro = \"SSH\"\nsource = \"dc/mgmt\"\n\n\
         [[rules]]\ntype = \"in\"\naction = \"DROP\"\nmacro = \"HTTP\"\n",
    );
    fake.exec("pve.fail('POST', '/nodes/pve1/qemu/100/firewall/rules', 500, 'cluster not ready - no quorum?')");
    let run = fake.run(&["vm", "firewall", "apply", "web1", &file, "--yes"]);
    run.failure(6).stdout_empty();
    run.stderr_has(
        "error: firewall of web1 (100): stopped at change 1 of 2 (+ rule 1: in DROP -macro HTTP)",
    )
    .stderr_has("cluster not ready - no quorum?");
    assert_eq!(
        rules(&fake, "'vm', vmid=100"),
        vec!["in ACCEPT SSH 1", "in ACCEPT HTTP 1"]
    );
}
