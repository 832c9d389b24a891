//! `vm|ct export`: guests as TOML files `pvectl apply` reads back, with their pool, HA settings and
//! firewall options; on stdout, or one file per guest with `--to DIR`.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::super::apply::document::{self, Export};
use super::Ctx;
use crate::api::guest::compare::read_only;
use crate::api::guest::config::{self, Config};
use crate::api::{firewall, ha, ApiError, GuestKind};
use crate::cli::ExportArgs;
use crate::error::{api_kind, CliError, ErrorKind};
use crate::targets::{self, Guest, KindWords};

/// One guest as read for its file.
struct Read {
    guest: Guest,
    config: Config,
    ha: Option<Map<String, Value>>,
    firewall: Option<Map<String, Value>>,
}

impl Read {
    fn export(&self) -> Export<'_> {
        Export {
            kind: self.guest.kind,
            vmid: self.guest.vmid,
            node: &self.guest.node,
            pool: Some(self.guest.resource.as_ref().and_then(|r| r.pool.as_deref())),
            config: &self.config,
            ha: self.ha.as_ref(),
            firewall: self.firewall.as_ref(),
        }
    }

    /// The file as `-o json` shows it: PVE's raw values.
    fn json(&self) -> Value {
        let config: Map<String, Value> = self
            .config
            .0
            .iter()
            .filter(|(k, _)| !read_only(self.guest.kind, k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let ha = self.ha.as_ref().map(|h| {
            h.iter()
                .filter(|(k, _)| !ha::READ_ONLY.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<String, Value>>()
        });
        let firewall = self.firewall.as_ref().map(|f| {
            let options: Map<String, Value> = f
                .iter()
                .filter(|(k, _)| *k != "digest")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            json!({ "options": options })
        });
        json!({
            "type": self.guest.kind,
            "vmid": self.guest.vmid,
            "node": self.guest.node,
            "pool": self.guest.resource.as_ref().and_then(|r| r.pool.clone()).unwrap_or_default(),
            "config": config,
            "ha": ha,
            "firewall": firewall,
        })
    }
}

pub async fn run(ctx: &Ctx, kind: GuestKind, a: ExportArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let resources = targets::fetch_guests(&client).await?;
    let picked = targets::select(&resources, kind, &a.guests, a.all, &a.sel)?;
    // Reading HA and firewall settings takes more privileges than a guest's configuration:
    // without them the files leave those sections out (and `apply` leaves them as they are).
    let ha: Option<Vec<Map<String, Value>>> = match ha::resources(&client).await {
        Ok(list) => Some(list),
        Err(e) if api_kind(&e) == ErrorKind::Auth => {
            ctx.out.warn(&format!(
                "cannot read the HA resources ({e}): the files have no [ha]"
            ));
            None
        }
        Err(e) => return Err(e.into()),
    };
    let mut read = vec![];
    for g in picked.guests {
        let unreadable = |what: &str, e: ApiError| {
            CliError::new(
                api_kind(&e),
                format!("cannot read {what} of {} on {}: {e}", g.label(), g.node),
            )
        };
        let config = config::get(&client, &g)
            .await
            .map_err(|e| unreadable("the configuration", e))?;
        let scope = firewall::guest_scope(g.kind, &g.node, g.vmid);
        let firewall = match firewall::options(&client, &scope).await {
            Ok(f) => Some(f),
            Err(e) if api_kind(&e) == ErrorKind::Auth => {
                ctx.out.warn(&format!(
                    "cannot read the firewall options of {} ({e}): its file has no [firewall.options]",
                    g.label()
                ));
                None
            }
            Err(e) => return Err(unreadable("the firewall options", e).into()),
        };
        let sid = ha::sid(g.kind, g.vmid);
        let ha = ha
            .iter()
            .flatten()
            .find(|r| r.get("sid").and_then(Value::as_str) == Some(sid.as_str()))
            .cloned();
        read.push(Read {
            guest: g,
            config,
            ha,
            firewall,
        });
    }
    match &a.to {
        Some(dir) => write_files(ctx, kind, dir, &read),
        None if ctx.out.structured() => {
            let docs: Vec<Value> = read.iter().map(Read::json).collect();
            match (docs.as_slice(), single(&a)) {
                ([one], true) => ctx.out.json(one),
                _ => ctx.out.json(&docs),
            }
        }
        None => {
            let text = match read.as_slice() {
                [one] => format!("{}{}", header(kind, one), one.export().render("")),
                many => {
                    let mut text = String::from(HOW_MANY);
                    for r in many {
                        text.push_str(&format!(
                            "\n# {}, {} on {}\n[[guest]]\n{}",
                            r.export().label(),
                            kind.a_noun(),
                            r.guest.node,
                            r.export().render("guest.")
                        ));
                    }
                    text
                }
            };
            ctx.out.lines([text.trim_end().to_string()])
        }
    }
}

/// One guest named (not a glob or a selector): its JSON is an object, not a list.
fn single(a: &ExportArgs) -> bool {
    matches!(a.guests.as_slice(), [one] if !targets::is_glob(one)) && !a.all && !a.sel.any()
}

/// What `apply` does with a file, said at its top.
const HOW: &str = "# `pvectl apply FILE` makes the guest match it: a key taken out of [config] is removed\n\
                   # from the guest; pool, [ha] and [firewall.options] taken out stay as they are.\n";
const HOW_MANY: &str = "# `pvectl apply FILE` makes each guest match its [[guest]]: a key taken out of its\n\
                        # [guest.config] is removed; pool, [guest.ha] and [guest.firewall.options] taken\n\
                        # out stay as they are.\n";

fn header(kind: GuestKind, r: &Read) -> String {
    format!(
        "# {}, {} on {}, as `pvectl {} export` read it.\n{HOW}\n",
        r.export().label(),
        kind.a_noun(),
        r.guest.node,
        kind.command()
    )
}

/// `--to DIR`: a file per guest (an earlier export of the same guest under another name is
/// replaced), and their paths on stdout.
fn write_files(ctx: &Ctx, kind: GuestKind, dir: &Path, read: &[Read]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::usage(format!("cannot create {}: {e}", dir.display())))?;
    let mut written = vec![];
    for r in read {
        let e = r.export();
        let path = dir.join(e.file_name());
        for old in earlier_exports(dir, r.guest.vmid, &path) {
            std::fs::remove_file(&old).map_err(|err| {
                CliError::other(format!("cannot remove {}: {err}", old.display()))
            })?;
            ctx.out.info(&format!(
                "removed {} (an earlier export of {})",
                old.display(),
                e.label()
            ));
        }
        let text = format!("{}{}", header(kind, r), e.render(""));
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|err| CliError::other(format!("cannot write {}: {err}", path.display())))?;
        written.push((r, path));
    }
    if ctx.out.structured() {
        let rows: Vec<Value> = written
            .iter()
            .map(|(r, path)| {
                json!({
                    "vmid": r.guest.vmid,
                    "name": r.guest.name,
                    "type": r.guest.kind,
                    "node": r.guest.node,
                    "file": path.display().to_string(),
                })
            })
            .collect();
        return ctx.out.json(&rows);
    }
    ctx.out
        .lines(written.iter().map(|(_, p)| p.display().to_string()))
}

/// Files of `dir` an earlier export wrote for this VMID (`100-oldname.toml`), other than `keep`.
fn earlier_exports(dir: &Path, vmid: u32, keep: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p != keep)
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n == format!("{vmid}.toml")
                    || (n.starts_with(&format!("{vmid}-")) && n.ends_with(".toml"))
            })
        })
        .filter(|p| {
            // Only a file that is one guest of this VMID: never a file the user wrote otherwise.
            std::fs::read_to_string(p)
                .ok()
                .and_then(|t| document::parse(&t, "").ok())
                .is_some_and(|d| d.len() == 1 && d[0].vmid == Some(vmid))
        })
        .collect()
}
