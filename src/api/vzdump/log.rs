//! The vzdump task log: what each line says, and what it says about each guest of the job.
//!
//! Lines are `INFO: …`, `WARN: …` or `ERROR: …` (pve-manager `PVE/VZDump.pm`, qemu-server
//! `VZDump/QemuServer.pm`). A guest was backed up only when its `Finished Backup of VM N` line is
//! there; its `ERROR: Backup of VM N failed - …` line says why not.

use std::collections::BTreeMap;
use std::time::Duration;

/// What one line of the log means to a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// `INFO: Starting Backup of VM 100 (qemu)`
    Start {
        vmid: u32,
        kind: &'a str,
    },
    /// `INFO:  45% (14.4 GiB of 32.0 GiB) in 1m 5s, read: …` (QEMU only)
    Percent(u8),
    /// `INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-qemu-100-….vma.zst'`, or the
    /// Proxmox Backup Server form `creating Proxmox Backup Server archive 'vm/100/…Z'`.
    Archive(&'a str),
    /// `INFO: archive file size: 4.12GB`
    Size(&'a str),
    /// `INFO: Finished Backup of VM 100 (00:02:15)`
    Finished {
        vmid: u32,
        elapsed: &'a str,
    },
    /// `ERROR: Backup of VM 100 failed - <reason>`
    Failed {
        vmid: u32,
        reason: &'a str,
    },
    /// `ERROR: Backup job failed - <reason>`: nothing after it is backed up.
    JobFailed(&'a str),
    /// `WARN: …`
    Warning(&'a str),
    Other,
}

pub fn parse_line(line: &str) -> Event<'_> {
    let line = line.trim_end();
    if let Some(w) = line.strip_prefix("WARN: ") {
        return Event::Warning(w);
    }
    if let Some(e) = line.strip_prefix("ERROR: ") {
        if let Some(reason) = e.strip_prefix("Backup job failed - ") {
            return Event::JobFailed(reason);
        }
        if let Some(rest) = e.strip_prefix("Backup of VM ") {
            if let Some((id, reason)) = rest.split_once(" failed - ") {
                if let Ok(vmid) = id.parse() {
                    return Event::Failed { vmid, reason };
                }
            }
        }
        return Event::Other;
    }
    let Some(info) = line.strip_prefix("INFO:") else {
        return Event::Other;
    };
    if let Some(pct) = percent(info) {
        return Event::Percent(pct);
    }
    let info = info.trim_start();
    if let Some(rest) = info.strip_prefix("Starting Backup of VM ") {
        if let Some((id, kind)) = rest.split_once(' ') {
            if let Ok(vmid) = id.parse() {
                let kind = kind.trim_start_matches('(').trim_end_matches(')');
                return Event::Start { vmid, kind };
            }
        }
    }
    if let Some(rest) = info.strip_prefix("Finished Backup of VM ") {
        let (id, elapsed) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Ok(vmid) = id.parse() {
            let elapsed = elapsed.trim_start_matches('(').trim_end_matches(')');
            return Event::Finished { vmid, elapsed };
        }
    }
    for prefix in [
        "creating vzdump archive '",
        "creating Proxmox Backup Server archive '",
    ] {
        if let Some(rest) = info.strip_prefix(prefix) {
            return Event::Archive(rest.trim_end_matches('\''));
        }
    }
    if let Some(size) = info.strip_prefix("archive file size: ") {
        return Event::Size(size.trim());
    }
    Event::Other
}

/// `  1% (331.0 MiB of 32.0 GiB) in 3s, read: …`: the percentage, right-aligned after `INFO:`.
fn percent(info: &str) -> Option<u8> {
    let rest = info.trim_start();
    let (num, after) = rest.split_once('%')?;
    if !after.starts_with(" (") || !after.contains(" of ") || num.is_empty() || num.len() > 3 {
        return None;
    }
    num.parse::<u8>().ok().filter(|p| *p <= 100)
}

/// `archive file size` uses its own units: `123KB`, `45MB`, `4.12GB`, `1.50TB` (powers of 1024).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = text.split_at(split);
    let n: f64 = num.trim().parse().ok()?;
    let mult: u64 = match unit {
        "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        _ => return None,
    };
    Some((n * mult as f64).round() as u64)
}

/// `00:02:15` (hours may exceed two digits).
pub fn parse_elapsed(text: &str) -> Option<Duration> {
    let mut secs = 0u64;
    let mut parts = 0;
    for p in text.trim().split(':') {
        secs = secs.checked_mul(60)?.checked_add(p.parse::<u64>().ok()?)?;
        parts += 1;
    }
    (parts == 3).then(|| Duration::from_secs(secs))
}

/// What the log says about one guest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuestLog {
    pub vmid: u32,
    pub started: bool,
    /// The archive as the log names it (a path, or a PBS snapshot name).
    pub archive: Option<String>,
    pub size: Option<u64>,
    pub elapsed: Option<Duration>,
    pub finished: bool,
    pub error: Option<String>,
    pub warnings: Vec<String>,
}

/// The whole job, guest by guest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobLog {
    pub guests: BTreeMap<u32, GuestLog>,
    /// Warnings outside any guest's section.
    pub warnings: Vec<String>,
    pub job_error: Option<String>,
}

impl JobLog {
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> JobLog {
        let mut job = JobLog::default();
        let mut current: Option<u32> = None;
        for line in lines {
            match parse_line(line) {
                Event::Start { vmid, .. } => {
                    current = Some(vmid);
                    let g = job.guest(vmid);
                    g.started = true;
                }
                Event::Archive(a) => {
                    if let Some(v) = current {
                        job.guest(v).archive = Some(a.to_string());
                    }
                }
                Event::Size(s) => {
                    if let Some(v) = current {
                        job.guest(v).size = parse_size(s);
                    }
                }
                Event::Finished { vmid, elapsed } => {
                    let g = job.guest(vmid);
                    g.finished = true;
                    g.elapsed = parse_elapsed(elapsed);
                    current = None;
                }
                Event::Failed { vmid, reason } => {
                    job.guest(vmid).error = Some(reason.to_string());
                    current = None;
                }
                Event::JobFailed(reason) => job.job_error = Some(reason.to_string()),
                Event::Warning(w) => match current {
                    Some(v) => job.guest(v).warnings.push(w.to_string()),
                    None => job.warnings.push(w.to_string()),
                },
                Event::Percent(_) | Event::Other => {}
            }
        }
        job
    }

    fn guest(&mut self, vmid: u32) -> &mut GuestLog {
        self.guests.entry(vmid).or_insert_with(|| GuestLog {
            vmid,
            ..GuestLog::default()
        })
    }
}

/// The volume ID of an archive the log names, on `storage`: a file path keeps its file name
/// (`local:backup/vzdump-qemu-100-….vma.zst`), a PBS snapshot its name (`pbs:backup/vm/100/…Z`).
pub fn volid(storage: &str, archive: &str) -> String {
    let name = if archive.starts_with('/') {
        archive.rsplit('/').next().unwrap_or(archive)
    } else {
        archive
    };
    format!("{storage}:backup/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU: &str = "INFO: starting new backup job: vzdump 100 --storage local --mode snapshot --compress zstd --node pve1
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2026-05-04 10:00:01
INFO: status = running
INFO: VM Name: web1
INFO: include disk 'scsi0' 'local-lvm:vm-100-disk-0' 32G
INFO: backup mode: snapshot
INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-qemu-100-2026_05_04-10_00_01.vma.zst'
INFO: started backup task '2f1c'
INFO:   1% (331.0 MiB of 32.0 GiB) in 3s, read: 110.3 MiB/s, write: 98.1 MiB/s
INFO:  45% (14.4 GiB of 32.0 GiB) in 1m 5s, read: 230.2 MiB/s, write: 201.7 MiB/s
INFO: 100% (32.0 GiB of 32.0 GiB) in 2m 10s, read: 250.0 MiB/s, write: 0 B/s
INFO: backup is sparse: 20.50 GiB (64%) total zero data
INFO: transferred 32.00 GiB in 130 seconds (252.1 MiB/s)
INFO: archive file size: 4.12GB
INFO: Finished Backup of VM 100 (00:02:15)
INFO: Backup finished at 2026-05-04 10:02:16
INFO: Backup job finished successfully
TASK OK";

    #[test]
    fn qemu_percentages_and_result() {
        let pcts: Vec<u8> = QEMU
            .lines()
            .filter_map(|l| match parse_line(l) {
                Event::Percent(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(pcts, vec![1, 45, 100]);
        // "backup is sparse: 20.50 GiB (64%)" is not a progress line.
        assert_eq!(
            parse_line("INFO: backup is sparse: 20.50 GiB (64%) total zero data"),
            Event::Other
        );
        let job = JobLog::parse(QEMU.lines());
        let g = &job.guests[&100];
        assert!(g.started && g.finished && g.error.is_none());
        assert_eq!(
            g.archive.as_deref(),
            Some("/var/lib/vz/dump/vzdump-qemu-100-2026_05_04-10_00_01.vma.zst")
        );
        assert_eq!(g.size, Some((4.12 * (1u64 << 30) as f64).round() as u64));
        assert_eq!(g.elapsed, Some(Duration::from_secs(135)));
        assert_eq!(
            volid("local", g.archive.as_deref().unwrap()),
            "local:backup/vzdump-qemu-100-2026_05_04-10_00_01.vma.zst"
        );
    }

    #[test]
    fn lxc_has_no_percentages() {
        let log = "INFO: Starting Backup of VM 101 (lxc)
INFO: status = running
INFO: CT Name: ct1
INFO: including mount point rootfs ('/') in backup
INFO: excluding volume mount point mp0 ('/srv') from backup (disabled)
INFO: backup mode: snapshot
INFO: create storage snapshot 'vzdump'
INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-lxc-101-2026_05_04-10_05_00.tar.zst'
INFO: Total bytes written: 1048576000 (1000MiB, 95MiB/s)
INFO: archive file size: 310MB
INFO: cleanup temporary 'vzdump' snapshot
INFO: Finished Backup of VM 101 (00:00:12)";
        assert!(log
            .lines()
            .all(|l| !matches!(parse_line(l), Event::Percent(_))));
        assert_eq!(
            parse_line("INFO: Starting Backup of VM 101 (lxc)"),
            Event::Start {
                vmid: 101,
                kind: "lxc"
            }
        );
        let job = JobLog::parse(log.lines());
        let g = &job.guests[&101];
        assert!(g.finished);
        assert_eq!(g.size, Some(310 << 20));
        assert_eq!(g.elapsed, Some(Duration::from_secs(12)));
    }

    #[test]
    fn a_failed_guest_among_several_and_warnings() {
        let log = "INFO: starting new backup job: vzdump 100 101 102 --storage local
INFO: Starting Backup of VM 100 (qemu)
WARN: no efidisk configured! Using temporary efivars disk.
INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-qemu-100-2026_05_04-10_00_01.vma.zst'
INFO: archive file size: 800MB
INFO: Finished Backup of VM 100 (00:01:00)
INFO: Starting Backup of VM 101 (qemu)
ERROR: Backup of VM 101 failed - VM is locked (snapshot)
INFO: Failed at 2026-05-04 10:01:02
INFO: Starting Backup of VM 102 (lxc)
INFO: creating vzdump archive '/var/lib/vz/dump/vzdump-lxc-102-2026_05_04-10_01_03.tar.zst'
INFO: Finished Backup of VM 102 (00:00:05)
WARN: notification failed
INFO: Backup job finished with errors
TASK ERROR: job errors";
        let job = JobLog::parse(log.lines());
        assert!(job.guests[&100].finished);
        assert_eq!(
            job.guests[&100].warnings,
            vec!["no efidisk configured! Using temporary efivars disk."]
        );
        assert!(!job.guests[&101].finished);
        assert_eq!(
            job.guests[&101].error.as_deref(),
            Some("VM is locked (snapshot)")
        );
        assert!(job.guests[&102].finished && job.guests[&102].warnings.is_empty());
        assert_eq!(job.warnings, vec!["notification failed"]);
        // A guest that does not exist never starts.
        let job = JobLog::parse(
            ["ERROR: Backup of VM 999 failed - unable to find VM '999'"]
                .iter()
                .copied(),
        );
        assert_eq!(
            job.guests[&999].error.as_deref(),
            Some("unable to find VM '999'")
        );
        assert_eq!(
            parse_line("ERROR: Backup job failed - no such storage 'nope'"),
            Event::JobFailed("no such storage 'nope'")
        );
    }

    #[test]
    fn sizes_elapsed_and_pbs_volids() {
        assert_eq!(parse_size("123KB"), Some(123 * 1024));
        assert_eq!(parse_size("1.50TB"), Some(3 << 39));
        assert_eq!(parse_size("weird"), None);
        assert_eq!(
            parse_elapsed("100:00:01"),
            Some(Duration::from_secs(360_001))
        );
        assert_eq!(parse_elapsed("00:01"), None);
        // A garbled line is no duration, not an overflow.
        assert_eq!(parse_elapsed("18446744073709551615:00:00"), None);
        assert_eq!(
            parse_line(
                "INFO: creating Proxmox Backup Server archive 'vm/100/2026-05-04T10:00:01Z'"
            ),
            Event::Archive("vm/100/2026-05-04T10:00:01Z")
        );
        assert_eq!(
            volid("pbs", "vm/100/2026-05-04T10:00:01Z"),
            "pbs:backup/vm/100/2026-05-04T10:00:01Z"
        );
    }
}
