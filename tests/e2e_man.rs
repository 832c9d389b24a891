//! End-to-end: `pvectl man` writes the man pages (no server needed), and `--help` names the
//! environment.

mod common;

use common::{clean_command, run_cmd};

#[test]
fn man_writes_a_page_per_command_and_prints_one() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("share/man/man1");
    let run = run_cmd(clean_command(home.path()).args(["man", "--dir"]).arg(&dir));
    run.success();
    assert_eq!(run.stdout, "");
    let pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        run.stderr
            .starts_with(&format!("{} man pages written to ", pages.len())),
        "{}",
        run.stderr
    );
    for page in [
        "pvectl.1",
        "pvectl-vm-start.1",
        "pvectl-config-set.1",
        "pvectl-man.1",
    ] {
        assert!(pages.iter().any(|p| p == page), "{page} missing");
    }
    assert!(pages
        .iter()
        .all(|p| p.starts_with("pvectl") && p.ends_with(".1")));

    // One page on stdout, for `man -l -`.
    let run = run_cmd(clean_command(home.path()).args(["man", "vm", "start"]));
    run.success();
    assert!(
        run.stdout.contains("\n.TH pvectl-vm-start 1 "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\\fBpvectl\\fR(1)"));
    let run = run_cmd(clean_command(home.path()).args(["man", "ct", "reset"]));
    run.failure(2)
        .stderr_has("`pvectl ct` has no command 'reset'");
    assert_eq!(run.stdout, "");
    let run = run_cmd(clean_command(home.path()).args(["man", "vm", "--dir", "/tmp"]));
    run.failure(2);
}

#[test]
fn help_names_every_environment_variable() {
    let home = tempfile::tempdir().unwrap();
    let run = run_cmd(clean_command(home.path()).arg("--help"));
    run.success();
    let env = run
        .stdout
        .split("Environment:")
        .nth(1)
        .expect("an environment block");
    for var in [
        "PROXMOX_HOST",
        "PROXMOX_PORT",
        "PROXMOX_TOKEN",
        "PROXMOX_TOKEN_ID",
        "PROXMOX_TOKEN_SECRET",
        "PROXMOX_USERNAME",
        "PROXMOX_PASSWORD",
        "PROXMOX_NODE",
        "PROXMOX_FINGERPRINT",
        "PROXMOX_INSECURE",
        "PVECTL_CONFIG",
        "PVECTL_PROFILE",
    ] {
        assert!(
            env.contains(&format!("\n  {var} ")),
            "{var} missing:\n{env}"
        );
    }
    // The flags say which variable stands for them (clap wraps the text to the width).
    let flat = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("[env: PROXMOX_HOST, PROXMOX_PORT]"), "{flat}");
    assert!(flat.contains("[env: PROXMOX_INSECURE]"), "{flat}");
    // The block fits 80 columns.
    assert!(env.lines().all(|l| l.chars().count() <= 80), "{env}");
}
