//! `firewall …` and `vm|ct firewall …`: one implementation of every verb, for every scope (the
//! cluster, a node, a security group, a guest). Every change sends the digest of what it read,
//! so an edit made meanwhile by someone else is refused, not overwritten.

mod apply;
mod document;
mod objects;
mod options;
mod rules;

use serde_json::Value;

use super::Ctx;
use crate::api::firewall::{self, Scope};
use crate::api::{ApiError, Client, GuestKind, GuestRef};
use crate::cli::{FirewallCmd, FirewallVerbs, FwRulesScope, FwScope, GuestTarget};
use crate::error::{CliError, ErrorKind};
use crate::output::progress::Progress;
use crate::targets::{self, Guest};
use crate::task::{report, ActionResult};

/// A scope, located: what the API needs and what the user reads.
pub struct Place {
    pub scope: Scope,
    /// `cluster firewall`, `firewall of node pve1`, `security group web`, `firewall of web1 (100)`.
    pub label: String,
    pub guest: Option<Guest>,
}

impl Place {
    /// The result of a change here.
    pub fn result(&self, action: &str) -> ActionResult {
        match &self.guest {
            Some(g) => {
                let mut r = ActionResult::for_guest(g, action);
                r.label = self.label.clone();
                r
            }
            None => {
                let node = match &self.scope {
                    Scope::Node(n) => n.clone(),
                    _ => String::new(),
                };
                let mut r = ActionResult::new(self.label.clone(), node, action);
                r.name = Some(self.label.clone());
                r
            }
        }
    }

    /// The command that names this scope, for advice (`pvectl firewall`, `pvectl vm firewall`).
    pub fn command(&self) -> String {
        match (&self.scope, &self.guest) {
            (Scope::Guest(_), Some(g)) => {
                format!("pvectl {} firewall", targets::KindWords::command(g.kind))
            }
            _ => "pvectl firewall".into(),
        }
    }

    /// The scope flags or guest to repeat in such a command.
    pub fn args(&self) -> String {
        match (&self.scope, &self.guest) {
            (Scope::Node(n), _) => format!(" --node {n}"),
            (Scope::Group(g), _) => format!(" --group {g}"),
            (Scope::Guest(_), Some(g)) => format!(" {}", g.vmid),
            _ => String::new(),
        }
    }
}

/// Arguments that name a firewall scope.
pub trait ScopeArg: clap::Args {
    /// Locate it (`kind` is the guest kind of `vm|ct firewall`).
    fn place(
        &self,
        client: &Client,
        kind: Option<GuestKind>,
    ) -> impl std::future::Future<Output = anyhow::Result<Place>>;
}

impl ScopeArg for FwScope {
    async fn place(&self, _: &Client, _: Option<GuestKind>) -> anyhow::Result<Place> {
        Ok(match &self.node {
            Some(n) => Place {
                scope: Scope::Node(n.clone()),
                label: format!("firewall of node {n}"),
                guest: None,
            },
            None => Place {
                scope: Scope::Cluster,
                label: "cluster firewall".into(),
                guest: None,
            },
        })
    }
}

impl ScopeArg for FwRulesScope {
    async fn place(&self, client: &Client, kind: Option<GuestKind>) -> anyhow::Result<Place> {
        match &self.group {
            Some(g) => Ok(Place {
                scope: Scope::Group(g.clone()),
                label: format!("security group {g}"),
                guest: None,
            }),
            None => self.scope.place(client, kind).await,
        }
    }
}

impl ScopeArg for GuestTarget {
    async fn place(&self, client: &Client, kind: Option<GuestKind>) -> anyhow::Result<Place> {
        let kind = kind.unwrap_or(GuestKind::Qemu);
        let g = targets::resolve_one(client, kind, &self.guest, self.node.as_deref()).await?;
        Ok(Place {
            scope: Scope::Guest(GuestRef {
                kind,
                node: g.node.clone(),
                vmid: g.vmid,
            }),
            label: format!("firewall of {}", g.label()),
            guest: Some(g),
        })
    }
}

pub async fn run(ctx: &Ctx, cmd: FirewallCmd) -> anyhow::Result<()> {
    match cmd {
        FirewallCmd::Verbs(v) => run_verbs(ctx, v, None).await,
        FirewallCmd::Groups(g) => objects::groups(ctx, g).await,
        FirewallCmd::Macros => objects::macros(ctx).await,
    }
}

/// `vm firewall …` / `ct firewall …`.
pub async fn run_guest(
    ctx: &Ctx,
    kind: GuestKind,
    cmd: FirewallVerbs<GuestTarget, GuestTarget>,
) -> anyhow::Result<()> {
    run_verbs(ctx, cmd, Some(kind)).await
}

async fn run_verbs<S: ScopeArg, R: ScopeArg>(
    ctx: &Ctx,
    cmd: FirewallVerbs<S, R>,
    kind: Option<GuestKind>,
) -> anyhow::Result<()> {
    match cmd {
        FirewallVerbs::Rules(c) => rules::run(ctx, c, kind).await,
        FirewallVerbs::Options(c) => options::run(ctx, c, kind).await,
        FirewallVerbs::Aliases(c) => objects::aliases(ctx, c, kind).await,
        FirewallVerbs::Ipsets(c) => objects::ipsets(ctx, c, kind).await,
        FirewallVerbs::Export(a) => {
            let client = ctx.client()?;
            let place = a.scope.place(&client, kind).await?;
            document::export(ctx, &client, &place).await
        }
        FirewallVerbs::Apply(a) => {
            let client = ctx.client()?;
            let place = a.scope.place(&client, kind).await?;
            apply::run(ctx, &client, &place, &a.file, a.dry_run, a.yes).await
        }
    }
}

/// A scope without aliases and IP sets (a node's) is refused before anything is sent.
fn need_objects(place: &Place, what: &str) -> anyhow::Result<()> {
    if place.scope.has_objects() {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "a node's firewall has no {what}: they belong to the cluster (`pvectl firewall {what} …`) or a \
         guest (`pvectl vm firewall {what} …`)"
    ))
    .into())
}

/// PVE's refusal of a change, said so that the user knows what to do: a change made meanwhile
/// (the digest no longer matches) leaves everything as it was; a rule naming a macro, alias or IP
/// set PVE does not know is a refused parameter (exit 6), whatever words PVE used.
fn refused(place: &Place, e: ApiError) -> anyhow::Error {
    if let (Some(_), ApiError::NotFound { message }) = (firewall::unknown_name(&e), &e) {
        return ApiError::Refused {
            status: 400,
            message: message.clone(),
            errors: Default::default(),
        }
        .into();
    }
    if firewall::digest_conflict(&e) {
        return anyhow::Error::from(e).context(format!(
            "the {} changed since pvectl read it (another edit at the same time?): nothing was \
             changed; look again and retry",
            place.label
        ));
    }
    e.into()
}

/// Report one change (a line on stderr, the result array with `-o json`).
fn done(ctx: &Ctx, r: ActionResult) -> anyhow::Result<()> {
    report(&ctx.out, &Progress::new(&ctx.out), &[r], false)
}

/// A position that is not there.
fn no_rule(place: &Place, pos: u32, count: usize) -> anyhow::Error {
    let have = match count {
        0 => "has no rules".to_string(),
        1 => "has one rule, at position 0".to_string(),
        n => format!("has {n} rules, at positions 0 to {}", n - 1),
    };
    CliError::new(
        ErrorKind::NotFound,
        format!("no rule at position {pos}: the {} {have}", place.label),
    )
    .into()
}

/// A rule as one line (for questions and the plan of `apply`).
pub fn rule_text(r: &firewall::Rule) -> String {
    let mut parts = vec![r.kind.clone(), r.action.clone()];
    let mut add = |flag: &str, v: &Option<String>| {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{flag} {v}"));
        }
    };
    add("-macro", &r.macro_name);
    add("-iface", &r.iface);
    add("-source", &r.source);
    add("-dest", &r.dest);
    add("-p", &r.proto);
    add("-dport", &r.dport);
    add("-sport", &r.sport);
    add("-icmp-type", &r.icmp_type);
    add("-log", &r.log);
    if !r.enable {
        parts.push("(disabled)".into());
    }
    if let Some(c) = r.comment.as_deref().filter(|c| !c.is_empty()) {
        parts.push(format!("# {c}"));
    }
    parts.join(" ")
}

/// The rows of a list answer, as PVE sent them (`digest` included, for scripts).
fn rows(entries: &[serde_json::Map<String, Value>]) -> Vec<Value> {
    entries.iter().cloned().map(Value::Object).collect()
}
