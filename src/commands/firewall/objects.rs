//! `firewall aliases`, `firewall ipsets` (and their entries), `firewall groups` (the cluster's
//! security groups) and `firewall macros`.

use serde_json::Value;

use super::{done, need_objects, refused, rows, Ctx, ScopeArg};
use crate::api::firewall::{self, IpsetEntry, Scope};
use crate::api::GuestKind;
use crate::cli::{AliasesCmd, EntriesCmd, FwGroupsCmd, IpsetsCmd};
use crate::error::CliError;
use crate::output::{col, Column, Kind};

const ALIAS_COLUMNS: [Column; 3] = [
    col("name", "NAME", Kind::Text),
    col("cidr", "CIDR", Kind::Text),
    col("comment", "COMMENT", Kind::Text),
];

const IPSET_COLUMNS: [Column; 2] = [
    col("name", "NAME", Kind::Text),
    col("comment", "COMMENT", Kind::Text),
];

const ENTRY_COLUMNS: [Column; 3] = [
    col("cidr", "CIDR", Kind::Text),
    col("nomatch", "NOMATCH", Kind::Flag),
    col("comment", "COMMENT", Kind::Text),
];

const GROUP_COLUMNS: [Column; 2] = [
    col("group", "GROUP", Kind::Text),
    col("comment", "COMMENT", Kind::Text),
];

const MACRO_COLUMNS: [Column; 2] = [
    col("macro", "MACRO", Kind::Text),
    col("descr", "DESCRIPTION", Kind::Text),
];

fn name_of(e: &serde_json::Map<String, Value>, key: &str) -> String {
    e.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

pub async fn aliases<S: ScopeArg>(
    ctx: &Ctx,
    cmd: AliasesCmd<S>,
    kind: Option<GuestKind>,
) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        AliasesCmd::List { scope } => {
            let place = scope.place(&client, kind).await?;
            need_objects(&place, "aliases")?;
            let list = firewall::aliases(&client, &place.scope).await?;
            ctx.out.list(&ALIAS_COLUMNS, &rows(&list))
        }
        AliasesCmd::Add {
            scope,
            name,
            cidr,
            comment,
        } => {
            let place = scope.place(&client, kind).await?;
            need_objects(&place, "aliases")?;
            firewall::add_alias(&client, &place.scope, &name, &cidr, comment.as_deref())
                .await
                .map_err(|e| refused(&place, e))?;
            done(
                ctx,
                place
                    .result("alias add")
                    .done(&format!("OK ({name} = {cidr})")),
            )
        }
        AliasesCmd::Delete { scope, name, yes } => {
            let place = scope.place(&client, kind).await?;
            need_objects(&place, "aliases")?;
            let list = firewall::aliases(&client, &place.scope).await?;
            let Some(entry) = list
                .iter()
                .find(|e| name_of(e, "name").eq_ignore_ascii_case(&name))
            else {
                return Err(CliError::not_found(format!(
                    "the {} has no alias '{name}' (see `{} aliases list{}`)",
                    place.label,
                    place.command(),
                    place.args()
                ))
                .into());
            };
            ctx.confirm(
                &format!("Delete alias {name} of the {}", place.label),
                &[format!("{name} = {}", name_of(entry, "cidr"))],
                yes,
            )?;
            let digest = firewall::list_digest(&list);
            firewall::delete_alias(&client, &place.scope, &name, digest.as_deref())
                .await
                .map_err(|e| refused(&place, e))?;
            done(
                ctx,
                place.result("alias delete").done(&format!("OK ({name})")),
            )
        }
    }
}

pub async fn ipsets<S: ScopeArg>(
    ctx: &Ctx,
    cmd: IpsetsCmd<S>,
    kind: Option<GuestKind>,
) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        IpsetsCmd::List { scope } => {
            let place = scope.place(&client, kind).await?;
            need_objects(&place, "ipsets")?;
            let list = firewall::ipsets(&client, &place.scope).await?;
            ctx.out.list(&IPSET_COLUMNS, &rows(&list))
        }
        IpsetsCmd::Add {
            scope,
            name,
            comment,
        } => {
            let place = scope.place(&client, kind).await?;
            need_objects(&place, "ipsets")?;
            firewall::add_ipset(&client, &place.scope, &name, comment.as_deref())
                .await
                .map_err(|e| refused(&place, e))?;
            done(ctx, place.result("ipset add").done(&format!("OK ({name})")))
        }
        IpsetsCmd::Delete {
            scope,
            name,
            force,
            yes,
        } => {
            let place = scope.place(&client, kind).await?;
            need_objects(&place, "ipsets")?;
            let entries = firewall::ipset_entries(&client, &place.scope, &name).await?;
            if !entries.is_empty() && !force {
                return Err(CliError::usage(format!(
                    "IP set {name} of the {} has {} entries: add --force to delete it with them",
                    place.label,
                    entries.len()
                ))
                .into());
            }
            let items: Vec<String> = entries.iter().map(|e| name_of(e, "cidr")).collect();
            ctx.confirm(
                &format!("Delete IP set {name} of the {}", place.label),
                &items,
                yes,
            )?;
            firewall::delete_ipset(&client, &place.scope, &name, force)
                .await
                .map_err(|e| refused(&place, e))?;
            done(
                ctx,
                place.result("ipset delete").done(&format!("OK ({name})")),
            )
        }
        IpsetsCmd::Entries(e) => entries(ctx, &client, e, kind).await,
    }
}

async fn entries<S: ScopeArg>(
    ctx: &Ctx,
    client: &crate::api::Client,
    cmd: EntriesCmd<S>,
    kind: Option<GuestKind>,
) -> anyhow::Result<()> {
    match cmd {
        EntriesCmd::List { scope, ipset } => {
            let place = scope.place(client, kind).await?;
            need_objects(&place, "ipsets")?;
            let list = firewall::ipset_entries(client, &place.scope, &ipset).await?;
            ctx.out.list(&ENTRY_COLUMNS, &rows(&list))
        }
        EntriesCmd::Add {
            scope,
            ipset,
            cidr,
            nomatch,
            comment,
        } => {
            let place = scope.place(client, kind).await?;
            need_objects(&place, "ipsets")?;
            let entry = IpsetEntry {
                cidr: cidr.clone(),
                nomatch,
                comment,
            };
            firewall::add_ipset_entry(client, &place.scope, &ipset, &entry)
                .await
                .map_err(|e| refused(&place, e))?;
            done(
                ctx,
                place
                    .result("ipset entry add")
                    .done(&format!("OK ({ipset}: {cidr})")),
            )
        }
        EntriesCmd::Delete {
            scope,
            ipset,
            cidr,
            yes,
        } => {
            let place = scope.place(client, kind).await?;
            need_objects(&place, "ipsets")?;
            let list = firewall::ipset_entries(client, &place.scope, &ipset).await?;
            if !list.iter().any(|e| name_of(e, "cidr") == cidr) {
                let have: Vec<String> = list.iter().map(|e| name_of(e, "cidr")).collect();
                return Err(CliError::not_found(format!(
                    "IP set {ipset} of the {} has no entry '{cidr}' (it has: {})",
                    place.label,
                    if have.is_empty() {
                        "none".to_string()
                    } else {
                        have.join(", ")
                    }
                ))
                .into());
            }
            ctx.confirm(
                &format!("Remove {cidr} from IP set {ipset} of the {}", place.label),
                &[],
                yes,
            )?;
            let digest = firewall::list_digest(&list);
            firewall::delete_ipset_entry(client, &place.scope, &ipset, &cidr, digest.as_deref())
                .await
                .map_err(|e| refused(&place, e))?;
            done(
                ctx,
                place
                    .result("ipset entry delete")
                    .done(&format!("OK ({ipset}: {cidr})")),
            )
        }
    }
}

pub async fn groups(ctx: &Ctx, cmd: FwGroupsCmd) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let cluster = super::Place {
        scope: Scope::Cluster,
        label: "cluster firewall".into(),
        guest: None,
    };
    match cmd {
        FwGroupsCmd::List => {
            let list = firewall::groups(&client).await?;
            ctx.out.list(&GROUP_COLUMNS, &rows(&list))
        }
        FwGroupsCmd::Add { name, comment } => {
            firewall::add_group(&client, &name, comment.as_deref())
                .await
                .map_err(|e| refused(&cluster, e))?;
            let place = super::Place {
                scope: Scope::Group(name.clone()),
                label: format!("security group {name}"),
                guest: None,
            };
            done(ctx, place.result("group add").done("OK"))
        }
        FwGroupsCmd::Delete { name, yes } => {
            let place = super::Place {
                scope: Scope::Group(name.clone()),
                label: format!("security group {name}"),
                guest: None,
            };
            // PVE's "no such security group" is not found (exit 5).
            let rules = firewall::rules(&client, &place.scope).await?;
            if !rules.is_empty() {
                return Err(CliError::usage(format!(
                    "security group {name} still has {} rules: delete them first (`pvectl firewall rules list --group {name}`)",
                    rules.len()
                ))
                .into());
            }
            ctx.confirm(&format!("Delete security group {name}"), &[], yes)?;
            firewall::delete_group(&client, &name)
                .await
                .map_err(|e| refused(&cluster, e))?;
            done(ctx, place.result("group delete").done("OK"))
        }
    }
}

pub async fn macros(ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let list = firewall::macros(&client).await?;
    ctx.out.list(&MACRO_COLUMNS, &rows(&list))
}
