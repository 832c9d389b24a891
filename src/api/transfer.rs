//! How far a copy has got, from the task logs of PVE's copying tasks: `qemu-img convert` (disk
//! moves and imports: `transferred 1.0 GiB of 32.0 GiB (3.12%)`), a running VM's drive mirror
//! (`drive-scsi0: transferred … (3.12%) in 2s`) and wget's dots in `download-url` and template
//! downloads (` 32768K ........ ........  45% 52.1M 5s`).

/// The percentage a task log line reports, if it reports one.
pub fn percent(line: &str) -> Option<f64> {
    let line = line.trim_end();
    if line.contains("transferred ") {
        // `… (12.50%)…`
        let start = line.rfind('(')?;
        let end = start + line[start..].find("%)")?;
        return bounded(line[start + 1..end].trim().parse().ok()?);
    }
    // wget --progress=dot: an offset in K, dots, then `NN% RATE ETA` (`100% RATE=TIME` at the end).
    let trimmed = line.trim_start();
    let offset = trimmed.split_whitespace().next()?;
    let is_offset = offset
        .strip_suffix('K')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !is_offset || !trimmed.contains('.') {
        return None;
    }
    trimmed
        .split_whitespace()
        .find_map(|w| w.strip_suffix('%').and_then(|n| n.parse::<f64>().ok()))
        .and_then(bounded)
}

fn bounded(p: f64) -> Option<f64> {
    (0.0..=100.0).contains(&p).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_of_copying_tasks() {
        assert_eq!(
            percent("transferred 1.0 GiB of 32.0 GiB (3.12%)"),
            Some(3.12)
        );
        assert_eq!(
            percent("drive-scsi0: transferred 32.0 GiB of 32.0 GiB (100.00%) in 1m 5s, ready"),
            Some(100.0)
        );
        assert_eq!(
            percent(" 32768K ........ ........ ........ ........  45% 52.1M 5s"),
            Some(45.0)
        );
        assert_eq!(
            percent("327680K ........        100% 60.0M=5.6s"),
            Some(100.0)
        );
        assert_eq!(
            percent("downloading https://x/y.iso to /var/lib/vz/template/iso/y.iso"),
            None
        );
        assert_eq!(
            percent("Length: 335544320 (320M) [application/octet-stream]"),
            None
        );
        assert_eq!(percent("INFO:  45% (14.4 GiB of 32.0 GiB) in 1m 5s"), None);
        assert_eq!(percent("transferred nothing (nope%)"), None);
    }
}
