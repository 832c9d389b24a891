//! Where each guest was last seen: VMID → kind and node, kept from the last lookup
//! (`GET /cluster/resources`) in the cache directory, one file per server and login.
//!
//! A hint is never trusted: a command given a bare VMID asks the hinted node about the guest
//! (`…/status/current`), and PVE answers that only from the node that holds the guest's
//! configuration; any other answer means a lookup as without the hint. Only VMIDs are kept
//! (a VMID names one guest in a cluster; a name can pass to another guest).

use std::path::{Path, PathBuf};

use crate::api::cluster::Resource;
use crate::api::GuestKind;
use crate::config::{cache_dir, cache_key, write_cache_file, Env};

/// The file for this server and login.
pub fn file(env: &Env, base_url: &str, login: &str) -> PathBuf {
    cache_dir(env).join(format!("nodes-{}.tsv", cache_key(base_url, login)))
}

/// Where the last lookup saw guest `vmid`: its kind and node.
pub fn read(file: &Path, vmid: u32) -> Option<(GuestKind, String)> {
    let text = std::fs::read_to_string(file).ok()?;
    let id = vmid.to_string();
    text.lines().find_map(|line| {
        let mut fields = line.split('\t');
        if fields.next()? != id {
            return None;
        }
        let kind = GuestKind::from_type(fields.next()?)?;
        let node = fields.next().filter(|n| !n.is_empty())?;
        Some((kind, node.to_string()))
    })
}

/// Keep where these guests are (all of the cluster's, as a lookup saw them). A failure to write
/// costs only the next command a lookup.
pub fn write(file: &Path, guests: &[Resource]) {
    let mut seen: Vec<(u32, GuestKind, &str)> = guests
        .iter()
        .filter_map(|r| Some((r.vmid?, r.guest_kind()?, r.node.as_deref()?)))
        .collect();
    // PVE lists guests in no fixed order: sorted, an unchanged cluster gives an unchanged file.
    seen.sort_unstable_by_key(|(vmid, ..)| *vmid);
    store(file, seen.into_iter());
}

/// Guest `vmid` is now on `node` (a migration pvectl saw through).
pub fn moved(file: &Path, vmid: u32, kind: GuestKind, node: &str) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut seen: Vec<(u32, GuestKind, &str)> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let id = fields.next()?.parse().ok()?;
            Some((id, GuestKind::from_type(fields.next()?)?, fields.next()?))
        })
        .filter(|(id, ..)| *id != vmid)
        .collect();
    seen.push((vmid, kind, node));
    seen.sort_unstable_by_key(|(id, ..)| *id);
    store(file, seen.into_iter());
}

fn store<'a>(file: &Path, seen: impl ExactSizeIterator<Item = (u32, GuestKind, &'a str)>) {
    use std::fmt::Write;
    let mut body = String::with_capacity(seen.len() * 20);
    for (vmid, kind, node) in seen {
        let _ = writeln!(body, "{vmid}\t{kind}\t{node}");
    }
    // Guests seldom move: an unchanged file is left alone (a read is cheaper than a rename).
    if std::fs::read(file).is_ok_and(|kept| kept == body.as_bytes()) {
        return;
    }
    let _ = write_cache_file(file, body.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(json: &str) -> Resource {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_lookup_is_kept_and_read_back_by_vmid() {
        let dir = tempfile::tempdir().unwrap();
        let env: Env = [(
            "XDG_CACHE_HOME".to_string(),
            dir.path().display().to_string(),
        )]
        .into();
        let f = file(&env, "https://pve1:8006", "root@pam!cli");
        assert_eq!(read(&f, 100), None);
        write(
            &f,
            &[
                resource(r#"{"id":"lxc/1000","type":"lxc","vmid":1000,"node":"pve2"}"#),
                resource(r#"{"id":"qemu/100","type":"qemu","vmid":100,"node":"pve1"}"#),
            ],
        );
        assert_eq!(read(&f, 100), Some((GuestKind::Qemu, "pve1".into())));
        assert_eq!(read(&f, 1000), Some((GuestKind::Lxc, "pve2".into())));
        // In VMID order, whatever order PVE listed them in.
        let kept = std::fs::read_to_string(&f).unwrap();
        assert_eq!(kept, "100\tqemu\tpve1\n1000\tlxc\tpve2\n");
        moved(&f, 1000, GuestKind::Lxc, "pve3");
        moved(&f, 7, GuestKind::Qemu, "pve1");
        assert_eq!(read(&f, 1000), Some((GuestKind::Lxc, "pve3".into())));
        let kept = std::fs::read_to_string(&f).unwrap();
        assert_eq!(kept, "7\tqemu\tpve1\n100\tqemu\tpve1\n1000\tlxc\tpve3\n");
        // 10 is not a prefix match of 100 or 1000.
        assert_eq!(read(&f, 10), None);
        // Another server or login has its own file.
        assert_ne!(f, file(&env, "https://pve2:8006", "root@pam!cli"));
        assert_ne!(f, file(&env, "https://pve1:8006", "admin@pve!cli"));
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(f.parent().unwrap()), 0o700);
    }
}
