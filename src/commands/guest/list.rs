//! `vm list` / `ct list`: every guest of the kind, cluster-wide, in one request.

use super::Ctx;
use crate::api::GuestKind;
use crate::cli::ListArgs;
use crate::output::{col, Column, Kind};
use crate::targets::{self, glob};

pub async fn run(ctx: &Ctx, kind: GuestKind, a: &ListArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let name_glob = a.name.as_deref().map(glob).transpose()?;
    let mut all = targets::fetch_guests(&client).await?;
    all.retain(|r| {
        r.guest_kind() == Some(kind)
            && a.sel.matches(r)
            && name_glob
                .as_ref()
                .is_none_or(|m| r.name.as_deref().is_some_and(|n| m.is_match(n)))
    });
    all.sort_by_key(|r| r.vmid);
    ctx.out.list(&COLUMNS, &targets::rows(&all))
}

const COLUMNS: [Column; 9] = [
    col("vmid", "VMID", Kind::Text),
    col("name", "NAME", Kind::Text),
    col("node", "NODE", Kind::Text),
    col("status", "STATUS", Kind::State),
    col("cpu", "CPU", Kind::Percent),
    col("mem", "MEM", Kind::Bytes),
    col("maxmem", "MAXMEM", Kind::Bytes),
    col("uptime", "UPTIME", Kind::Duration),
    col("tags", "TAGS", Kind::Text),
];
