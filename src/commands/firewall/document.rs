//! The firewall of one scope as a document: what `firewall export` prints (TOML, or JSON with
//! `-o json`) and `firewall apply` reads. Sections: `options`, `rules`, `aliases`, `ipsets` (with
//! their entries) and, for the cluster, `groups` (security groups with their rules). A section
//! left out of a document is left alone by `apply`; a section given is made to match exactly.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Ctx, Place};
use crate::api::firewall::{self, IpsetEntry, Rule, Scope};
use crate::api::Client;
use crate::cli::OutputFormat;
use crate::error::CliError;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<Alias>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipsets: Option<Vec<Ipset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Group>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    pub name: String,
    pub cidr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ipset {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default)]
    pub entries: Vec<IpsetEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

fn text_of(e: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    e.get(key)
        .map(crate::api::de::text)
        .filter(|t| !t.is_empty())
}

/// The rules of a list as PVE has them.
pub async fn read_rules(client: &Client, scope: &Scope) -> anyhow::Result<Vec<Rule>> {
    let list = firewall::rules(client, scope).await?;
    Ok(list
        .iter()
        .map(Rule::from_entry)
        .collect::<Result<_, _>>()?)
}

/// The whole firewall of a scope, as it is now.
pub async fn current(client: &Client, place: &Place) -> anyhow::Result<Document> {
    let scope = &place.scope;
    let mut doc = Document::default();
    if scope.has_options() {
        let mut options = firewall::options(client, scope).await?;
        options.remove("digest");
        doc.options = Some(options.into_iter().collect());
    }
    doc.rules = Some(read_rules(client, scope).await?);
    if scope.has_objects() {
        let aliases = firewall::aliases(client, scope).await?;
        doc.aliases = Some(
            aliases
                .iter()
                .map(|a| Alias {
                    name: text_of(a, "name").unwrap_or_default(),
                    cidr: text_of(a, "cidr").unwrap_or_default(),
                    comment: text_of(a, "comment"),
                })
                .collect(),
        );
        let mut ipsets = vec![];
        for set in firewall::ipsets(client, scope).await? {
            let name = text_of(&set, "name").unwrap_or_default();
            let mut entries: Vec<IpsetEntry> = firewall::ipset_entries(client, scope, &name)
                .await?
                .iter()
                .map(IpsetEntry::from_entry)
                .collect();
            entries.sort_by(|a, b| a.cidr.cmp(&b.cidr));
            ipsets.push(Ipset {
                name,
                comment: text_of(&set, "comment"),
                entries,
            });
        }
        doc.ipsets = Some(ipsets);
    }
    if *scope == Scope::Cluster {
        let mut groups = vec![];
        for g in firewall::groups(client).await? {
            let name = text_of(&g, "group").unwrap_or_default();
            let rules = read_rules(client, &Scope::Group(name.clone())).await?;
            groups.push(Group {
                name,
                comment: text_of(&g, "comment"),
                rules,
            });
        }
        doc.groups = Some(groups);
    }
    Ok(doc)
}

/// `firewall export`: the document on stdout.
pub async fn export(ctx: &Ctx, client: &Client, place: &Place) -> anyhow::Result<()> {
    let doc = current(client, place).await?;
    if ctx.out.format == OutputFormat::Json {
        return ctx.out.json(&doc);
    }
    let text = toml::to_string_pretty(&doc)?;
    ctx.out.lines([format!(
        "# the {}, as `pvectl … firewall export` wrote it; `firewall apply` makes a scope match it",
        place.label
    )])?;
    ctx.out.lines(text.lines().map(str::to_string))
}

/// A document from a file (`-` is stdin): JSON when it starts with `{`, else TOML.
pub fn read(path: &Path) -> anyhow::Result<Document> {
    let shown = path.display();
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| CliError::usage(format!("cannot read the document from stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("cannot read {shown}: {e}")))?
    };
    let doc: Document = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text)
            .map_err(|e| CliError::usage(format!("{shown} is not a firewall document: {e}")))?
    } else {
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            CliError::usage(format!(
                "{shown} is not a firewall document: {}{}",
                line.map(|l| format!("line {l}: ")).unwrap_or_default(),
                e.message().trim()
            ))
        })?
    };
    Ok(normalized(doc))
}

/// Addresses as PVE keeps them in an IP set: a single address without its `/32` (`/128`).
fn normalized(mut doc: Document) -> Document {
    for set in doc.ipsets.iter_mut().flatten() {
        for e in &mut set.entries {
            let host = if e.cidr.contains(':') { "/128" } else { "/32" };
            if let Some(addr) = e.cidr.strip_suffix(host) {
                e.cidr = addr.to_string();
            }
        }
        set.entries.sort_by(|a, b| a.cidr.cmp(&b.cidr));
    }
    doc
}
