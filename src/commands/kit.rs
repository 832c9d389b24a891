//! The shapes that repeat across commands: rows for a list, and a verb that acts on one guest
//! with one task (resolve → confirm → request → wait → report).

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::api::cluster::{self, Resource, ResourceType};
use crate::api::{ApiError, Client, GuestKind, Upid};
use crate::cli::{OutputFormat, WaitArgs};
use crate::error::CliError;
use crate::output::progress::TaskBar;
use crate::output::Output;
use crate::targets::{self, Guest};
use crate::task::{self, ActionResult, Session};

/// Items as JSON rows for `Output::list` (PVE's field names kept).
pub fn rows<T: Serialize>(items: &[T]) -> anyhow::Result<Vec<Value>> {
    Ok(items
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?)
}

/// Whether the output is a table for people (labels, a tree, computed sizes) rather than data for
/// a program, which keeps PVE's field names and raw values. Every format is named, so a new one
/// has to be placed here.
pub fn for_people(out: &Output) -> bool {
    match out.format {
        OutputFormat::Table => true,
        OutputFormat::Json | OutputFormat::Tsv => false,
    }
}

/// A verb on one guest that starts one task.
pub struct TaskVerb<'a> {
    pub ctx: &'a Ctx,
    pub client: Client,
    pub guest: Guest,
    timeout: Option<Duration>,
    no_wait: bool,
}

impl<'a> TaskVerb<'a> {
    /// Check the wait limit, then resolve the guest (`--node` with a VMID saves the lookup).
    pub async fn resolve(
        ctx: &'a Ctx,
        kind: GuestKind,
        spec: &str,
        node: Option<&str>,
        wait: &WaitArgs,
        default_wait: Duration,
    ) -> anyhow::Result<TaskVerb<'a>> {
        let timeout = ctx.wait_limit(wait.wait_timeout.as_deref(), default_wait)?;
        let client = ctx.client()?;
        let guest = targets::resolve_one(&client, kind, spec, node).await?;
        Ok(TaskVerb {
            ctx,
            client,
            guest,
            timeout,
            no_wait: wait.no_wait,
        })
    }

    /// Ask first (a destructive verb), or need `--yes` off a terminal.
    pub fn confirm(&self, question: &str, yes: bool) -> anyhow::Result<()> {
        self.ctx.confirm(question, &[], yes)
    }

    /// Report what the request answered: its task waited for (unless `--no-wait`).
    pub async fn finish(&self, action: &str, answer: Value) -> anyhow::Result<()> {
        self.finish_with(ActionResult::for_guest(&self.guest, action), answer)
            .await
    }

    /// `finish` with a result the verb prepared (a clone's new VMID…).
    pub async fn finish_with(&self, result: ActionResult, answer: Value) -> anyhow::Result<()> {
        task::finish_one(
            &self.ctx.out,
            &self.client,
            self.timeout,
            result,
            answer,
            self.no_wait,
        )
        .await
    }
}

/// `Session::settle` with the task's progress line shaped by `shape` (`TaskBar::transfer` for a
/// copy whose log reports percentages).
pub async fn settle_shaped(
    session: &Session<'_>,
    answer: Result<Value, ApiError>,
    result: ActionResult,
    done: &str,
    no_wait: bool,
    shape: impl FnOnce(TaskBar) -> TaskBar,
) -> ActionResult {
    let answer = match answer {
        Ok(v) => v,
        Err(e) => return result.failed(&e.into()),
    };
    let Some(upid) = answer.as_str().and_then(|s| s.parse::<Upid>().ok()) else {
        return result.done(done);
    };
    if no_wait {
        return result.started(&upid);
    }
    let started = std::time::Instant::now();
    let covers = [result.label.clone()];
    let outcome = session
        .watch(&result.label, &result.action, &upid, &covers, shape)
        .await;
    let (volid, size, newid) = (result.volid.clone(), result.size, result.newid);
    let mut r = match outcome {
        Ok(o) => result.from_outcome(o),
        Err(e) => {
            let mut r = result.failed(&e);
            r.upid.get_or_insert_with(|| upid.to_string());
            r.duration_s = (started.elapsed().as_secs_f64() * 100.0).round() / 100.0;
            r
        }
    };
    r.volid = volid;
    r.size = size;
    r.newid = newid;
    r
}

/// The nodes to read a storage from: one for a shared storage, every node that has a local one.
pub async fn storage_nodes(client: &Client, storage: &str) -> anyhow::Result<Vec<String>> {
    let all = cluster::resources(client, Some(ResourceType::Storage)).await?;
    Ok(nodes_holding(&all, storage)?)
}

/// The nodes of `storage_nodes`, from the storage entries of `/cluster/resources`; never empty.
fn nodes_holding(all: &[Resource], storage: &str) -> Result<Vec<String>, CliError> {
    let mine: Vec<&Resource> = all
        .iter()
        .filter(|r| r.storage.as_deref() == Some(storage) && r.node.is_some())
        .collect();
    if mine.is_empty() {
        return Err(CliError::not_found(format!(
            "no storage '{storage}' in the cluster (see `pvectl storage list`)"
        )));
    }
    let available = |r: &&&Resource| r.status.as_deref() == Some("available");
    if mine.iter().any(|r| r.shared) {
        let pick = mine.iter().find(available).unwrap_or(&mine[0]);
        return Ok(pick.node.clone().into_iter().collect());
    }
    Ok(mine.iter().filter_map(|r| r.node.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    fn storage(name: &str, node: Option<&str>, shared: bool) -> Resource {
        serde_json::from_str(
            &json!({
                "id": format!("storage/{}/{name}", node.unwrap_or("?")), "type": "storage",
                "storage": name, "node": node, "shared": u8::from(shared), "status": "available",
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn nodes_holding_a_storage_are_never_an_empty_list() {
        let all = vec![
            storage("local", Some("pve1"), false),
            storage("local", Some("pve2"), false),
            storage("nfs", Some("pve1"), true),
            storage("nfs", Some("pve2"), true),
            storage("odd", None, false),
        ];
        assert_eq!(nodes_holding(&all, "local").unwrap(), vec!["pve1", "pve2"]);
        assert_eq!(nodes_holding(&all, "nfs").unwrap(), vec!["pve1"]);
        // An entry without a node cannot be read anywhere: not found, not an empty list.
        assert_eq!(
            nodes_holding(&all, "odd").unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            nodes_holding(&all, "nope").unwrap_err().kind,
            ErrorKind::NotFound
        );
    }
}
