//! `vm ip` / `ct ip`: a guest's addresses, one per line with the one to use first (so
//! `ssh $(pvectl vm ip web-1 | head -1)` works), or with `-o json` the interfaces they are on.

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use super::address::{self, Found, Want};
use super::Ctx;
use crate::api::GuestKind;
use crate::cli::IpArgs;
use crate::error::{self, ErrorKind, Reported};
use crate::targets::Guest;

pub async fn run(ctx: &Ctx, kind: GuestKind, a: IpArgs) -> anyhow::Result<()> {
    let wait = address::wait_limit(a.pick.wait.as_deref(), &ctx.settings)?;
    let want = Want {
        v4_only: a.pick.ipv4,
        v6_only: a.pick.ipv6,
        all: a.all,
    };
    let client = ctx.client()?;
    let (guests, single) = super::guests_of(&client, kind, &a.guests, a.node.as_deref()).await?;
    let parallel = a.parallel.unwrap_or(ctx.settings.parallel).max(1) as usize;
    let results: Vec<(Guest, anyhow::Result<Found>)> = stream::iter(guests)
        .map(|g| {
            let client = &client;
            let want = &want;
            async move {
                let r = address::find(client, &g, want, wait, None).await;
                (g, r)
            }
        })
        .buffered(parallel)
        .collect()
        .await;

    for (_, r) in &results {
        if let Ok(Found { note: Some(n), .. }) = r {
            ctx.out.info(n);
        }
    }
    let found: Vec<(&Guest, &Found)> = results
        .iter()
        .filter_map(|(g, r)| r.as_ref().ok().map(|f| (g, f)))
        .collect();
    if ctx.out.structured() {
        // One guest named: its object (as `vm exec`); names and globs: an array.
        let rows: Vec<Value> = found.iter().map(|(g, f)| row(g, f)).collect();
        match (single, rows.first()) {
            (true, Some(one)) => ctx.out.json(one)?,
            (true, None) => {}
            (false, _) => ctx.out.json(&rows)?,
        }
    } else if single {
        ctx.out.lines(
            found
                .iter()
                .flat_map(|(_, f)| f.addresses.iter().map(|a| a.to_string())),
        )?;
    } else {
        ctx.out.lines(found.iter().flat_map(|(g, f)| {
            let name = g.name.clone().unwrap_or_else(|| g.vmid.to_string());
            f.addresses.iter().map(move |a| format!("{name}\t{a}"))
        }))?;
    }

    let mut failures = results.into_iter().filter_map(|(_, r)| r.err());
    if single {
        return match failures.next() {
            Some(e) => Err(e),
            None => Ok(()),
        };
    }
    let mut first: Option<ErrorKind> = None;
    for e in failures {
        first.get_or_insert(error::kind_of(&e));
        ctx.out.notice(&format!("error: {}", error::message(&e)));
    }
    match first {
        Some(kind) => Err(Reported(kind).into()),
        None => Ok(()),
    }
}

/// A guest's entry of `-o json`: who, where the addresses come from, the addresses in order and
/// the interfaces they are on (as PVE reported them, with only the addresses kept).
fn row(g: &Guest, f: &Found) -> Value {
    json!({
        "vmid": g.vmid,
        "name": g.name,
        "node": g.node,
        "type": g.kind,
        "source": f.source,
        "addresses": f.addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "interfaces": f.interfaces,
    })
}
