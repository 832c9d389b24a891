//! End-to-end: images onto storages (`storage upload`, `storage download`, `storage templates`,
//! `storage delete-volume`) against fakepve.
//!
//! fakepve accepts uploads and download-url but checks less than PVE; `emulate_images`
//! (tests/support/fakepve_ctl.py) makes them behave like PVE's: the upload streamed and its
//! multipart parts checked in pveproxy's order, the checksum verified in the `imgcopy` task,
//! wget's progress in the `download` task log, the appliance catalog. Every test checks the exit
//! code, both streams, the requests sent and what the storage holds afterwards.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::helpers::{cmd, req, sent, task_types, tasks, write_lines, writes};
use common::{Fake, Run};
use serde_json::Value;
use sha2::{Digest, Sha256};

// ------------------------------------------------------------------------------------ helpers

/// A fake with PVE's upload, download-url and catalog, and `local` taking import content too.
fn fake() -> Fake {
    Fake::with(
        "emulate_images(pve)\n\
         pve.storages['local']['content'] = 'iso,vztmpl,backup,import'",
    )
}

/// A file of `size` bytes (a repeating pattern) under the fake's home; returns its path.
fn file(fake: &Fake, name: &str, size: usize) -> PathBuf {
    let path = fake.home.path().join(name);
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, data).unwrap();
    path
}

fn sha256_hex(path: &Path) -> String {
    let data = std::fs::read(path).unwrap();
    Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The volumes the storage holds: volid → size.
fn volumes(fake: &Fake, storage: &str) -> Value {
    fake.exec(&format!(
        "result = {{'{storage}:' + k: v.get('size') for k, v in pve._volumes('{storage}').items()}}"
    ))
}

/// The uploads the server received (see emulate_images).
fn uploads(fake: &Fake) -> Vec<Value> {
    fake.exec("result = pve.uploads")
        .as_array()
        .unwrap()
        .clone()
}

fn run_path(fake: &Fake, args: &[&str], path: &Path) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    let p = path.to_str().unwrap();
    all.push(p);
    fake.run(&all)
}

// -------------------------------------------------------------------------------------- upload

#[test]
fn an_iso_is_streamed_to_its_node_and_the_imgcopy_task_waited_for() {
    let fake = fake();
    let iso = file(&fake, "debian-13.iso", 3 << 20);
    let run = run_path(&fake, &cmd("storage upload local"), &iso);
    run.success().stdout_empty();
    run.stderr_has("local:iso/debian-13.iso: uploading debian-13.iso (3 MiB) to pve1")
        .stderr_has("local:iso/debian-13.iso: upload task UPID:pve1:")
        .stderr_has("local:iso/debian-13.iso: upload OK");
    // Nothing animated without a terminal.
    assert!(
        !run.stderr.contains('\r') && !run.stderr.contains("ETA"),
        "{}",
        run.stderr
    );
    let u = &uploads(&fake)[0];
    assert_eq!(u["parts"], serde_json::json!(["content", "filename"]));
    assert_eq!(u["fields"]["content"], "iso");
    assert_eq!(u["filename"], "debian-13.iso");
    assert_eq!(u["chunked"], false, "PVE refuses chunked bodies");
    assert!(
        u["content_length"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 3 << 20
    );
    assert_eq!(u["size"], 3 << 20);
    assert_eq!(u["sha256"], sha256_hex(&iso));
    assert_eq!(volumes(&fake, "local")["local:iso/debian-13.iso"], 3 << 20);
    assert_eq!(
        write_lines(&fake),
        vec!["POST /nodes/pve1/storage/local/upload"]
    );
    let t = tasks(&fake).pop().unwrap();
    assert_eq!(
        (t["type"].as_str(), t["exitstatus"].as_str()),
        (Some("imgcopy"), Some("OK"))
    );
}

#[test]
fn upload_as_json_reports_the_volume_and_its_size() {
    let fake = fake();
    let tpl = file(&fake, "alpine.tar.zst", 1000);
    let run = run_path(&fake, &cmd("-o json storage upload local"), &tpl);
    run.success();
    let r = &run.json()[0];
    assert_eq!(r["action"], "upload");
    assert_eq!(r["volid"], "local:vztmpl/alpine.tar.zst");
    assert_eq!(r["size"], 1000);
    assert_eq!(r["ok"], true);
    assert_eq!(r["exitstatus"], "OK");
    assert_eq!(uploads(&fake)[0]["fields"]["content"], "vztmpl");
}

#[test]
fn a_checksum_goes_before_the_file_and_pve_verifies_it() {
    let fake = fake();
    let iso = file(&fake, "debian.iso", 100_000);
    let sum = sha256_hex(&iso);
    let run = run_path(
        &fake,
        &[
            "storage",
            "upload",
            "local",
            "--checksum",
            &format!("SHA256:{}", sum.to_uppercase()),
        ],
        &iso,
    );
    run.success();
    let u = &uploads(&fake)[0];
    assert_eq!(
        u["parts"],
        serde_json::json!(["content", "checksum-algorithm", "checksum", "filename"])
    );
    assert_eq!(u["fields"]["checksum-algorithm"], "sha256");
    assert_eq!(u["fields"]["checksum"], sum);
    let log: Vec<String> = tasks(&fake).pop().unwrap()["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert!(
        log.iter().any(|l| l.ends_with("OK, checksum verified")),
        "{log:?}"
    );
}

#[test]
fn the_checksum_comes_from_a_sha256sums_file() {
    let fake = fake();
    let img = file(&fake, "debian-13-genericcloud-amd64.qcow2", 4096);
    let sums = fake.home.path().join("SHA256SUMS");
    let other = "0".repeat(128);
    std::fs::write(
        &sums,
        format!(
            "{other}  other.qcow2\n{}  debian-13-genericcloud-amd64.qcow2\n",
            "ab".repeat(32)
        ),
    )
    .unwrap();
    // The digest's length says sha256; it does not match this file, so PVE refuses it.
    let run = run_path(
        &fake,
        &[
            "storage",
            "upload",
            "local",
            "--checksum-file",
            sums.to_str().unwrap(),
        ],
        &img,
    );
    run.failure(8);
    assert_eq!(uploads(&fake)[0]["fields"]["checksum-algorithm"], "sha256");
    assert_eq!(uploads(&fake)[0]["fields"]["checksum"], "ab".repeat(32));
    let good = sha256_hex(&img);
    std::fs::write(
        &sums,
        format!("SHA256 (images/debian-13-genericcloud-amd64.qcow2) = {good}\n"),
    )
    .unwrap();
    let run = run_path(
        &fake,
        &[
            "storage",
            "upload",
            "local",
            "--checksum-file",
            sums.to_str().unwrap(),
        ],
        &img,
    );
    run.success();
    assert_eq!(
        volumes(&fake, "local")["local:import/debian-13-genericcloud-amd64.qcow2"],
        4096
    );
    // A file that lists no checksum for it: nothing is sent.
    std::fs::write(&sums, format!("{good}  another.qcow2\n")).unwrap();
    let before = uploads(&fake).len();
    let run = run_path(
        &fake,
        &[
            "storage",
            "upload",
            "local",
            "--force",
            "--checksum-file",
            sums.to_str().unwrap(),
        ],
        &img,
    );
    run.one_error(2);
    assert!(run
        .error_line()
        .contains("has no checksum for debian-13-genericcloud-amd64.qcow2"));
    assert_eq!(uploads(&fake).len(), before);
}

#[test]
fn a_checksum_that_does_not_match_fails_the_task_and_stores_nothing() {
    let fake = fake();
    let iso = file(&fake, "debian.iso", 50_000);
    let wrong = "0".repeat(64);
    let run = run_path(
        &fake,
        &[
            "storage",
            "upload",
            "local",
            "--checksum",
            &format!("sha256:{wrong}"),
        ],
        &iso,
    );
    run.failure(8).stdout_empty();
    run.stderr_has("local:iso/debian.iso: upload failed: checksum mismatch: got '")
        .stderr_has(&format!("!= expect '{wrong}'"))
        .stderr_has("hint: PVE removed the transferred file: nothing was stored")
        .stderr_has("--- last lines of the task log");
    assert!(volumes(&fake, "local")
        .get("local:iso/debian.iso")
        .is_none());
    assert_eq!(task_types(&fake), vec!["imgcopy"]);
}

#[test]
fn the_same_name_and_size_is_already_present_and_force_replaces_it() {
    let fake = fake();
    let iso = file(&fake, "debian.iso", 2048);
    fake.exec("pve.store_file('local', 'debian.iso', 2048)");
    let run = run_path(&fake, &cmd("storage upload local"), &iso);
    run.success();
    run.stderr_has("local:iso/debian.iso: already present");
    assert!(uploads(&fake).is_empty(), "nothing was sent");
    assert!(writes(&fake).is_empty());
    let run = run_path(&fake, &cmd("-o json storage upload local"), &iso);
    assert_eq!(run.json()[0]["message"], "already present");
    let run = run_path(&fake, &cmd("storage upload local --force"), &iso);
    run.success();
    assert_eq!(uploads(&fake).len(), 1);
    // Another file of that name but another size is not replaced without --force.
    let bigger = file(&fake, "debian.iso", 4096);
    let run = run_path(&fake, &cmd("storage upload local"), &bigger);
    run.one_error(6);
    assert!(
        run.error_line().contains("local:iso/debian.iso on pve1 is already there (2 KiB; this file is 4 KiB): --force replaces it"),
        "{}",
        run.error_line()
    );
    assert_eq!(uploads(&fake).len(), 1);
}

#[test]
fn bad_input_is_refused_before_a_byte_is_sent() {
    let fake = fake();
    let iso = file(&fake, "debian.iso", 1000);
    let odd = file(&fake, "notes.txt", 10);
    let disk = file(&fake, "disk.qcow2", 10);
    let cases: Vec<(Vec<&str>, &Path, i32, &str)> = vec![
        (cmd("storage upload local-lvm"), &iso, 2, "storage 'local-lvm' does not take iso content (it takes: images, rootdir)"),
        (cmd("storage upload nope"), &iso, 5, "no storage 'nope' in the cluster"),
        (cmd("storage upload local"), &odd, 2, "cannot tell from the name 'notes.txt' what it is: give --content iso, vztmpl or import"),
        (cmd("storage upload local --content iso"), &disk, 2, "'disk.qcow2' cannot be stored as iso content: PVE wants a name ending in .iso or .img"),
        (cmd("storage upload local --checksum sha256:abc"), &iso, 2, "--checksum: a sha256 checksum is 64 hexadecimal digits"),
        (cmd("storage upload local --checksum crc32:abcd"), &iso, 2, "unknown checksum algorithm 'crc32'"),
        (cmd("storage upload local --node pve9"), &iso, 5, "storage 'local' is not available on node 'pve9'"),
    ];
    for (args, path, code, text) in cases {
        let run = run_path(&fake, &args, path);
        run.one_error(code);
        assert!(
            run.error_line().contains(text),
            "{args:?}: {}",
            run.error_line()
        );
    }
    let missing = fake.home.path().join("missing.iso");
    let run = run_path(&fake, &cmd("storage upload local"), &missing);
    run.one_error(2);
    assert!(
        run.error_line().contains("cannot read"),
        "{}",
        run.error_line()
    );
    let run = fake.run(&[
        "storage",
        "upload",
        "local",
        fake.home.path().to_str().unwrap(),
    ]);
    run.one_error(2);
    assert!(run.error_line().ends_with("is not a file"));
    assert!(uploads(&fake).is_empty());
    assert!(writes(&fake).is_empty());
}

#[test]
fn a_cloud_image_named_img_is_stored_as_import_under_its_format() {
    let fake = fake();
    let path = fake.home.path().join("noble-server-cloudimg-amd64.img");
    let mut data = b"QFI\xfb".to_vec();
    data.extend(std::iter::repeat_n(7u8, 5000));
    std::fs::write(&path, &data).unwrap();
    let run = run_path(&fake, &cmd("storage upload local"), &path);
    run.success();
    run.stderr_has("stored as noble-server-cloudimg-amd64.qcow2: PVE takes disk images to import only as .qcow2, .raw, .vmdk or .ova");
    assert_eq!(
        uploads(&fake)[0]["filename"],
        "noble-server-cloudimg-amd64.qcow2"
    );
    assert_eq!(uploads(&fake)[0]["fields"]["content"], "import");
    assert_eq!(
        volumes(&fake, "local")["local:import/noble-server-cloudimg-amd64.qcow2"],
        5004
    );
    // Named as ISO content, an .img stays what it is.
    let run = run_path(&fake, &cmd("storage upload local --content iso"), &path);
    run.success();
    assert!(volumes(&fake, "local")
        .get("local:iso/noble-server-cloudimg-amd64.img")
        .is_some());
}

#[test]
fn a_storage_local_to_several_nodes_needs_the_node() {
    let fake = fake();
    fake.exec("pve.add_node('pve2')");
    let iso = file(&fake, "debian.iso", 1000);
    let run = run_path(&fake, &cmd("storage upload local"), &iso);
    run.one_error(2);
    assert!(
        run.error_line().contains(
            "storage 'local' is local to each of 2 nodes (pve1, pve2): say which one with --node"
        ),
        "{}",
        run.error_line()
    );
    let run = run_path(&fake, &cmd("storage upload local --node pve2"), &iso);
    run.success();
    assert_eq!(
        writes(&fake),
        vec![req("POST", "/nodes/pve2/storage/local/upload", &[])]
    );
    // A shared storage goes to any node that has it online.
    fake.exec(
        "pve.storages['nfs'] = {'type': 'nfs', 'shared': 1, 'content': 'iso', 'active': 1, 'files': set(), \
         'volumes': {}, 'server': '10.0.0.1', 'export': '/x', 'path': '/mnt/pve/nfs'}",
    );
    let run = run_path(&fake, &cmd("storage upload nfs"), &iso);
    run.success();
    assert_eq!(writes(&fake)[1].path, "/nodes/pve1/storage/nfs/upload");
}

#[test]
fn an_upload_works_with_a_password_login_too() {
    let fake = fake();
    let iso = file(&fake, "debian.iso", 70_000);
    let run = fake.run_password(&["storage", "upload", "local", iso.to_str().unwrap()]);
    run.success().hides(common::PASSWORD);
    assert_eq!(uploads(&fake)[0]["size"], 70_000);
    assert!(volumes(&fake, "local")
        .get("local:iso/debian.iso")
        .is_some());
}

#[test]
fn an_upload_the_server_stops_taking_gives_up_after_the_request_timeout() {
    let fake = fake();
    fake.exec("pve.upload_stall = 4");
    let iso = file(&fake, "big.iso", 48 << 20);
    let started = Instant::now();
    let run = run_path(
        &fake,
        &cmd("--request-timeout 1s storage upload local"),
        &iso,
    );
    run.failure(7);
    assert!(
        run.stderr
            .contains("upload failed: upload stalled: the server took no data for 1s"),
        "{}",
        run.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(tasks(&fake).is_empty());
}

/// `pvectl ARGS` with stderr piped, as a child process.
fn spawn(fake: &Fake, args: &[&str]) -> Child {
    fake.cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pvectl")
}

#[test]
fn ctrl_c_during_an_upload_leaves_nothing_behind() {
    let fake = fake();
    // The server waits before it reads the body, as a slow link would; pvectl is mid-upload.
    fake.exec("pve.upload_stall = 1.5");
    let iso = file(&fake, "big.iso", 48 << 20);
    let mut child = spawn(
        &fake,
        &["storage", "upload", "local", iso.to_str().unwrap()],
    );
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "stderr ended:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("uploading big.iso") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "pvectl did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    seen.push_str(&rest);
    assert_eq!(code, 130, "{seen}");
    assert!(
        seen.contains("interrupted: the upload of big.iso to local on pve1 was cancelled after")
            && seen.contains("PVE discards a partial upload, nothing was stored"),
        "{seen}"
    );
    // Once the server has seen the body end early: no file, no task.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let u = uploads(&fake);
        if u.first()
            .is_some_and(|u| u.get("error").is_some() || u["complete"] == true)
        {
            assert_eq!(u[0]["complete"], false, "the body was cut short");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never finished reading: {u:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(volumes(&fake, "local").get("local:iso/big.iso").is_none());
    assert!(tasks(&fake).is_empty(), "no imgcopy task was started");
}

// ------------------------------------------------------------------------------------ download

const CLOUD: &str = "https://cloud.example/images/debian-13-genericcloud-amd64.qcow2";

#[test]
fn download_lets_the_node_fetch_the_url_and_gives_the_tasks_verdict() {
    let fake = fake();
    fake.exec(&format!(
        "pve.urls['{CLOUD}'] = {{'size': 350 << 20, 'sha512': 'ab' * 64}}"
    ));
    let run = fake.run(&["storage", "download", "local", CLOUD]);
    run.success().stdout_empty();
    run.stderr_has(&format!(
        "local:import/debian-13-genericcloud-amd64.qcow2: pve1 fetches {CLOUD}"
    ))
    .stderr_has("local:import/debian-13-genericcloud-amd64.qcow2: download OK");
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/storage/local/download-url",
            &[
                ("url", CLOUD),
                ("content", "import"),
                ("filename", "debian-13-genericcloud-amd64.qcow2")
            ]
        )]
    );
    assert_eq!(
        volumes(&fake, "local")["local:import/debian-13-genericcloud-amd64.qcow2"],
        350u64 << 20
    );
    assert_eq!(task_types(&fake), vec!["download"]);
    // A second time it is there already: nothing is sent.
    let run = fake.run(&["-o", "json", "storage", "download", "local", CLOUD]);
    assert_eq!(run.json()[0]["message"], "already present");
    assert_eq!(writes(&fake).len(), 1);
}

#[test]
fn download_with_a_checksum_that_does_not_match_fails_and_stores_nothing() {
    let fake = fake();
    fake.exec(&format!(
        "pve.urls['{CLOUD}'] = {{'size': 1000, 'sha512': 'ab' * 64}}"
    ));
    let wrong = "cd".repeat(64);
    let run = fake.run(&[
        "storage",
        "download",
        "local",
        CLOUD,
        "--checksum",
        &format!("sha512:{wrong}"),
    ]);
    run.failure(8);
    run.stderr_has("download failed: checksum mismatch: got '")
        .stderr_has("hint: PVE removed the transferred file: nothing was stored");
    let w = &writes(&fake)[0];
    assert!(w
        .params
        .contains(&("checksum-algorithm".into(), "sha512".into())));
    assert!(w.params.contains(&("checksum".into(), wrong.clone())));
    assert!(volumes(&fake, "local")
        .get("local:import/debian-13-genericcloud-amd64.qcow2")
        .is_none());
}

#[test]
fn a_download_that_fails_on_the_node_shows_the_end_of_its_log() {
    let fake = fake();
    let url = "https://cloud.example/gone.iso";
    fake.exec(&format!(
        "pve.urls['{url}'] = {{'status': '404 Not Found'}}"
    ));
    let run = fake.run(&["storage", "download", "local", url]);
    run.failure(8);
    run.stderr_has(
        "local:iso/gone.iso: download failed: wget: server returned error: HTTP/1.1 404 Not Found",
    )
    .stderr_has("--- last lines of the task log");
    assert!(volumes(&fake, "local").get("local:iso/gone.iso").is_none());
}

#[test]
fn download_bad_input_sends_nothing() {
    let fake = fake();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            cmd("storage download local ftp://x.example/a.iso"),
            2,
            "is not an http(s) URL",
        ),
        (
            cmd("storage download local https://x.example/"),
            2,
            "names no file: give --name",
        ),
        (
            cmd("storage download local-lvm https://x.example/a.iso"),
            2,
            "does not take iso content",
        ),
        (
            cmd("storage download local https://x.example/a.zip"),
            2,
            "cannot tell from the name 'a.zip' what it is",
        ),
        (
            cmd("storage download nope https://x.example/a.iso"),
            5,
            "no storage 'nope'",
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
}

#[test]
fn a_downloaded_img_becomes_a_qcow2_import_image() {
    let fake = fake();
    let run = fake.run(&[
        "storage",
        "download",
        "local",
        "https://cloud-images.example/noble/current/noble-server-cloudimg-amd64.img?x=1",
    ]);
    run.success();
    let w = &writes(&fake)[0];
    assert!(w.params.contains(&(
        "filename".into(),
        "noble-server-cloudimg-amd64.qcow2".into()
    )));
    assert!(w.params.contains(&("content".into(), "import".into())));
}

// ----------------------------------------------------------------------------------- templates

#[test]
fn templates_lists_pves_catalog_by_section_and_word() {
    let fake = fake();
    let run = fake.run(&cmd("storage templates"));
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("TEMPLATE") && lines[0].contains("SECTION"),
        "{}",
        run.stdout
    );
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert!(lines[1].starts_with("alpine-3.22-default_20250617_amd64.tar.xz"));
    assert!(lines[3].starts_with("debian-12-turnkey-nextcloud_18.1-1_amd64.tar.gz"));
    assert_eq!(sent(&fake).last().unwrap().path, "/nodes/pve1/aplinfo");
    let run = fake.run(&cmd("-o json storage templates --section turnkeylinux"));
    let v = run.json();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["package"], "turnkey-nextcloud");
    assert_eq!(v[0]["sha512sum"], "ef".repeat(64));
    let run = fake.run(&cmd(
        "storage templates --search TRIXIE --no-headers -o tsv --columns template",
    ));
    assert_eq!(run.stdout, "debian-13-standard_13.1-2_amd64.tar.zst\n");
    let run = fake.run(&cmd("storage templates --search nothing-like-it -o json"));
    assert_eq!(run.json(), serde_json::json!([]));
    let run = fake.run(&cmd("storage templates --section mail"));
    run.one_error(2);
    assert_eq!(
        run.error_line(),
        "error: the catalog of pve1 has no section 'mail': it has system, turnkeylinux"
    );
}

#[test]
fn templates_download_fetches_one_onto_a_storage() {
    let fake = fake();
    let t = "debian-13-standard_13.1-2_amd64.tar.zst";
    let run = fake.run(&["storage", "templates", "download", "local", t]);
    run.success();
    run.stderr_has(&format!("local:vztmpl/{t}: download OK"));
    assert_eq!(
        writes(&fake),
        vec![req(
            "POST",
            "/nodes/pve1/aplinfo",
            &[("storage", "local"), ("template", t)]
        )]
    );
    assert!(volumes(&fake, "local")
        .get(format!("local:vztmpl/{t}").as_str())
        .is_some());
    let log = tasks(&fake).pop().unwrap()["log"].to_string();
    assert!(log.contains("OK, checksum verified"), "{log}");
    // Again: there already.
    let run = fake.run(&["storage", "templates", "download", "local", t]);
    run.success()
        .stderr_has(&format!("local:vztmpl/{t}: already present"));
    assert_eq!(writes(&fake).len(), 1);
}

#[test]
fn templates_download_of_an_unknown_template_or_onto_the_wrong_storage() {
    let fake = fake();
    let run = fake.run(&cmd("storage templates download local debian-13-standard"));
    run.one_error(5);
    assert!(
        run.error_line().contains("no template 'debian-13-standard' in the catalog of pve1 (similar: debian-13-standard_13.1-2_amd64.tar.zst)"),
        "{}",
        run.error_line()
    );
    let run = fake.run(&cmd(
        "storage templates download local-lvm debian-13-standard_13.1-2_amd64.tar.zst",
    ));
    run.one_error(2);
    assert!(run.error_line().contains("does not take vztmpl content"));
    assert!(writes(&fake).is_empty());
}

// ------------------------------------------------------------------------------ delete-volume

#[test]
fn delete_volume_asks_then_deletes() {
    let fake = fake();
    fake.exec("pve.store_file('local', 'old.iso', 5000)");
    let run = fake.run(&cmd("storage delete-volume local:iso/old.iso"));
    run.one_error(2);
    assert!(run
        .error_line()
        .contains("delete 1 volume (the data is lost): needs confirmation, add --yes"));
    assert!(writes(&fake).is_empty());
    let run = fake.run(&cmd(
        "-o json storage delete-volume local:iso/old.iso --yes",
    ));
    run.success();
    assert_eq!(run.json()[0]["volid"], "local:iso/old.iso");
    assert_eq!(run.json()[0]["exitstatus"], "OK");
    assert_eq!(
        write_lines(&fake),
        vec!["DELETE /nodes/pve1/storage/local/content/local:iso/old.iso"]
    );
    assert!(volumes(&fake, "local").get("local:iso/old.iso").is_none());
}

#[test]
fn delete_volume_refuses_what_a_guest_still_uses() {
    let fake = fake();
    fake.exec(
        "pve.store_file('local', 'debian.iso', 5000)\n\
         pve.add_vm(100, 'web1', config={'ide2': 'local:iso/debian.iso,media=cdrom', \
         'scsi0': 'local-lvm:vm-100-disk-0,size=8G'})",
    );
    let run = fake.run(&cmd("storage delete-volume local:iso/debian.iso --yes"));
    run.one_error(6);
    assert_eq!(
        run.error_line(),
        "error: local:iso/debian.iso is in use by VM web1 (100) as ide2: nothing was deleted; remove it from that VM first (see `pvectl vm config 100`)"
    );
    let run = fake.run(&cmd("storage delete-volume local-lvm:vm-100-disk-0 --yes"));
    run.one_error(6);
    assert!(run
        .error_line()
        .contains("in use by VM web1 (100) as scsi0"));
    assert!(writes(&fake).is_empty());
    assert!(volumes(&fake, "local")
        .get("local:iso/debian.iso")
        .is_some());
}

#[test]
fn delete_volume_of_what_is_not_there() {
    let fake = fake();
    let cases: Vec<(&str, i32, &str)> = vec![
        (
            "local:iso/none.iso",
            5,
            "no volume local:iso/none.iso (see `pvectl storage content local`)",
        ),
        ("nope:iso/a.iso", 5, "no storage 'nope' in the cluster"),
        ("just-a-name", 2, "'just-a-name' is not a volume ID"),
    ];
    for (volid, code, text) in cases {
        let run = fake.run(&["storage", "delete-volume", volid, "--yes"]);
        run.one_error(code);
        assert!(
            run.error_line().contains(text),
            "{volid}: {}",
            run.error_line()
        );
    }
    assert!(writes(&fake).is_empty());
}
