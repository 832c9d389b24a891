//! End-to-end: live views and graphs against fakepve: `--watch` without a terminal (a new block
//! per interval, within the request budget, Ctrl-C ends it with success), `--graph` of nodes and
//! guests (fakepve only synthesises `rrddata`; `emulate_rrd` answers PVE 9's series, so these
//! tests check the request and what pvectl draws and computes from PVE's shape), and `cluster
//! top`. The terminal side (alternate screen) is in e2e_terminal.rs.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::helpers::sent;
use common::{Fake, Run};
use serde_json::Value;

fn cluster() -> Fake {
    Fake::with(
        "pve.add_node('pve2')
pve.add_vm(100, 'web-1', node='pve1', status='running', config={'memory': 2048})
pve.add_vm(101, 'web-2', node='pve2', status='running')
pve.add_ct(200, node='pve1', status='running', config={'hostname': 'dns'})
emulate_rrd(pve)",
    )
}

/// Run `pvectl ARGS` until stdout shows `blocks` blocks (lines matching `marker`), then Ctrl-C it.
fn watch_until(fake: &Fake, args: &[&str], marker: &str, blocks: usize) -> Run {
    let started = Instant::now();
    let mut child = fake
        .cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut stdout = String::new();
    let mut seen = 0;
    while seen < blocks {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "stdout ended after {seen} blocks:\n{stdout}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "too slow:\n{stdout}"
        );
        if line.contains(marker) {
            seen += 1;
        }
        stdout.push_str(&line);
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap().code().unwrap_or(-1);
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    stdout.push_str(&rest);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Run::new(code, stdout, stderr, started.elapsed())
}

// ------------------------------------------------------------------------------------ --watch

/// Without a terminal `--watch` prints a new block each interval (an empty line between tables,
/// the time of each on stderr), one request a refresh, until Ctrl-C, which ends it with 0.
#[test]
fn watch_without_a_terminal_prints_a_block_per_interval() {
    let fake = cluster();
    fake.clear_requests();
    let run = watch_until(&fake, &["vm", "list", "--watch", "1"], "VMID", 3);
    run.success()
        .stderr_has("pvectl vm list at ")
        .stderr_lacks("error");
    let blocks: Vec<&str> = run.stdout.split("\n\n").collect();
    assert!(blocks.len() >= 3, "{}", run.stdout);
    for b in &blocks[..3] {
        assert!(b.starts_with("VMID  NAME"), "{b}");
        assert!(b.contains("web-1"), "{b}");
    }
    let lists = sent(&fake)
        .iter()
        .filter(|r| r.path == "/cluster/resources")
        .count();
    assert!((3..=4).contains(&lists), "{lists} requests for 3 blocks");
    // About a second apart.
    assert!(
        run.elapsed >= Duration::from_millis(1900),
        "{:?}",
        run.elapsed
    );

    // JSON: one document per refresh, as jq reads a stream.
    let run = watch_until(
        &fake,
        &["-o", "json", "ct", "list", "--watch", "1s"],
        "\"vmid\": 200",
        2,
    );
    run.success();
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&run.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(docs.len() >= 2);
    assert_eq!(docs[0][0]["vmid"], 200);

    // vm status and ha status (two requests a refresh) watch the same way.
    let run = watch_until(&fake, &["vm", "status", "web-1", "--watch", "1"], "KEY", 2);
    run.success();
}

/// A refresh that would take more than half the request budget is made less often (and said
/// so); a watch interval that is no duration is a usage error; below 1 s is 1 s.
#[test]
fn watch_stays_within_the_request_budget() {
    let fake = cluster();
    fake.exec("pve.add_node('pve3')");
    let run = watch_until(
        &fake,
        &["--max-rps", "2", "tasks", "list", "--watch", "1"],
        "STARTED",
        1,
    );
    run.success().stderr_has(
        "--watch: every 4.0s, so that 4 requests a refresh stay within half the request budget (2 per second, --max-rps)",
    );
    let run = watch_until(&fake, &["nodes", "list", "--watch", "100ms"], "NODE", 1);
    run.success().stderr_has("--watch: every 1s at least");
    let run = fake.run(&["vm", "list", "--watch", "often"]);
    run.one_error(2);
    assert_eq!(
        run.error_line(),
        "error: --watch: 'often' is not a duration: use e.g. 90s, 10m, 1h or 0"
    );
}

// ------------------------------------------------------------------------------------ --graph

/// `vm status --graph`: a chart per metric with min/avg/max, scaled to the guest's memory; the
/// request asks PVE's averages of the timeframe.
#[test]
fn guest_graphs_from_pve_statistics() {
    let fake = cluster();
    fake.clear_requests();
    let run = fake.run(&["vm", "status", "web-1", "--graph"]);
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("web-1 (100) on pve1, the last hour: 60 points, one every 1m, "),
        "{}",
        run.stdout
    );
    for heading in [
        "CPU  min ",
        "memory  min ",
        "net in  min ",
        "net out  min ",
        "disk read  min ",
        "disk write  min ",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(heading)),
            "no {heading:?}:\n{}",
            run.stdout
        );
    }
    assert!(lines
        .iter()
        .any(|l| l.starts_with("memory  min ") && l.ends_with("  of 2 GiB")));
    // 4 rows of braille per chart; the first points have no data: blank cells on the left.
    let cpu = lines.iter().position(|l| l.starts_with("CPU")).unwrap();
    for row in &lines[cpu + 1..cpu + 5] {
        assert!(row.starts_with("  ⠀⠀"), "{row}");
        assert!(
            row.chars()
                .skip(2)
                .take(30)
                .all(|c| ('\u{2800}'..='\u{28ff}').contains(&c)),
            "{row}"
        );
    }
    assert!(lines[cpu + 1].ends_with("%"), "{}", lines[cpu + 1]);
    assert!(lines[cpu + 4].ends_with(" 0"));
    assert_eq!(
        sent(&fake)
            .last()
            .map(|r| (r.path.clone(), r.params.clone())),
        Some((
            "/nodes/pve1/qemu/100/rrddata".to_string(),
            vec![
                ("timeframe".to_string(), "hour".to_string()),
                ("cf".to_string(), "AVERAGE".to_string())
            ]
        ))
    );

    // One-line sparklines, another timeframe, a container.
    let run = fake.run(&[
        "ct",
        "status",
        "dns",
        "--graph",
        "--height",
        "1",
        "--timeframe",
        "week",
    ]);
    run.success();
    assert!(
        run.stdout
            .starts_with("dns (200) on pve1, the last week: 336 points, one every 30m"),
        "{}",
        run.stdout
    );
    let spark = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("CPU"))
        .nth(1)
        .unwrap();
    assert!(
        spark
            .chars()
            .skip(2)
            .take(10)
            .all(|c| " ▁▂▃▄▅▆▇█".contains(c)),
        "{spark}"
    );
    assert_eq!(
        sent(&fake).last().unwrap().path,
        "/nodes/pve1/lxc/200/rrddata"
    );
    // --timeframe without --graph is clap's usage error.
    fake.run(&["vm", "status", "web-1", "--timeframe", "day"])
        .failure(2)
        .stdout_empty()
        .stderr_has("--graph");
}

/// `-o json` gives PVE's series and the figures computed from them; `-o tsv` the points.
#[test]
fn graph_series_as_json_and_tsv() {
    let fake = cluster();
    let run = fake.run(&[
        "-o",
        "json",
        "nodes",
        "status",
        "pve1",
        "--graph",
        "--timeframe",
        "day",
    ]);
    run.success();
    let v = run.json();
    assert_eq!(v["node"], "pve1");
    assert_eq!(v["timeframe"], "day");
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 1440);
    assert!(points[0].get("cpu").is_none(), "no data yet: only the time");
    let cpus: Vec<f64> = points.iter().filter_map(|p| p["cpu"].as_f64()).collect();
    let min = cpus.iter().copied().fold(f64::INFINITY, f64::min);
    let max = cpus.iter().copied().fold(0.0, f64::max);
    let avg = cpus.iter().sum::<f64>() / cpus.len() as f64;
    let s = &v["summary"]["cpu"];
    assert!((s["min"].as_f64().unwrap() - min).abs() < 1e-9);
    assert!((s["max"].as_f64().unwrap() - max).abs() < 1e-9);
    assert!((s["avg"].as_f64().unwrap() - avg).abs() < 1e-9);
    assert!(v["summary"]["memused"]["max"].as_f64().unwrap() > 0.0);

    let run = fake.run(&["-o", "tsv", "vm", "status", "web-1", "--graph"]);
    run.success();
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        "time\tcpu\tmem\tnetin\tnetout\tdiskread\tdiskwrite"
    );
    assert_eq!(lines.count(), 60);
    fake.run(&["nodes", "status", "pve9", "--graph"])
        .one_error(5);
}

// ---------------------------------------------------------------------------------- cluster top

/// `cluster top --once`: two samples an interval apart, so the disk and network rates are known;
/// the busiest guests first, as many as --limit; nodes with their load.
#[test]
fn top_ranks_the_busiest_guests() {
    let fake = cluster();
    fake.exec(
        "pve.vm(100).stats['cpu'] = 0.9
pve.vm(101).stats['cpu'] = 0.1
async def grow():
    while True:
        pve.vm(101).stats['diskread'] = pve.vm(101).stats.get('diskread', 0) + 1048576
        await asyncio.sleep(0.1)
pve.grower = asyncio.ensure_future(grow())",
    );
    let run = fake.run(&["-o", "json", "cluster", "top", "--once", "--interval", "1s"]);
    run.success();
    let v = run.json();
    let nodes: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["pve1", "pve2"]);
    let order: Vec<u64> = v["guests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["vmid"].as_u64().unwrap())
        .collect();
    assert_eq!(order[0], 100, "the busiest CPU first: {order:?}");
    let web2 = v["guests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["vmid"] == 101)
        .unwrap();
    let rate = web2["diskread_rate"].as_f64().unwrap();
    assert!(
        (4.0 * 1048576.0..16.0 * 1048576.0).contains(&rate),
        "{rate}"
    );
    assert_eq!(
        sent(&fake)
            .iter()
            .filter(|r| r.path == "/cluster/resources")
            .count(),
        2
    );

    let run = fake.run(&[
        "cluster",
        "top",
        "--once",
        "--interval",
        "1s",
        "--sort",
        "disk",
        "--limit",
        "1",
    ]);
    run.success();
    let tables: Vec<&str> = run.stdout.split("\n\n").collect();
    assert!(tables[0].starts_with("NODE"), "{}", run.stdout);
    let guests: Vec<&str> = tables[1].lines().collect();
    assert_eq!(guests.len(), 2, "{}", run.stdout);
    assert_eq!(
        guests[0].split_whitespace().collect::<Vec<_>>(),
        ["VMID", "NAME", "NODE", "CPU", "CPUS", "MEM", "DISK/S", "NET/S"]
    );
    assert!(guests[1].starts_with("101"), "{}", run.stdout);
    assert!(guests[1].contains("MiB"), "{}", run.stdout);
    fake.exec("pve.grower.cancel()");
}

#[test]
fn a_guest_after_watch_is_taken_for_its_interval_and_the_tip_says_so() {
    let fake = Fake::with("pve.add_vm(100, 'web-1')");
    let run = fake.run(&["vm", "status", "--watch", "web-1"]);
    run.failure(2).stderr_has(
        "tip: --watch took 'web-1' for its interval; name it first (`pvectl vm status web-1 --watch`), or write the interval as --watch=5s",
    );
    assert_eq!(run.stdout, "");
    assert!(sent(&fake).is_empty(), "nothing was asked");
    // An interval there is no mistake: no tip for other missing arguments.
    let run = fake.run(&["vm", "status", "--watch", "5s"]);
    run.failure(2);
    assert!(!run.stderr.contains("tip:"), "{}", run.stderr);
    // As the tip says, it works: the guest's status, again every second.
    let run = watch_until(&fake, &["vm", "status", "web-1", "--watch=1s"], "web-1", 2);
    let names = run
        .stdout
        .lines()
        .filter(|l| l.split_whitespace().eq(["name", "web-1"]))
        .count();
    assert_eq!(names, 2, "{}", run.stdout);
}
