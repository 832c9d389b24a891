//! `backup jobs`: the cluster's scheduled backup jobs.

use serde_json::{json, Value};

use super::Ctx;
use crate::api::cluster;
use crate::api::de::truthy;
use crate::output::{col, Column, Kind};

pub async fn run(ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let jobs = cluster::backup_jobs(&client).await?;
    let rows: Vec<Value> = jobs
        .into_iter()
        .map(|mut j| {
            let what = selection(&Value::Object(j.clone()));
            j.insert("selection".into(), json!(what));
            Value::Object(j)
        })
        .collect();
    ctx.out.list(&JOB_COLUMNS, &rows)
}

/// What a job backs up, in words: `all`, `all except 100,101`, `pool web`, `100,101`.
fn selection(job: &Value) -> String {
    let text = |k: &str| {
        job.get(k).and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let all = job.get("all").is_some_and(truthy);
    if all {
        return match text("exclude") {
            Some(ex) => format!("all except {ex}"),
            None => "all".into(),
        };
    }
    if let Some(pool) = text("pool") {
        return format!("pool {pool}");
    }
    text("vmid").unwrap_or_default()
}

const JOB_COLUMNS: [Column; 9] = [
    col("id", "ID", Kind::Text),
    col("enabled", "ENABLED", Kind::Flag),
    col("schedule", "SCHEDULE", Kind::Text).priority(2),
    col("next-run", "NEXT RUN", Kind::Epoch).priority(1),
    col("selection", "SELECTION", Kind::Text).free(),
    col("node", "NODE", Kind::Text).priority(3),
    col("storage", "STORAGE", Kind::Text).priority(2),
    col("mode", "MODE", Kind::Text).priority(4),
    col("comment", "COMMENT", Kind::Text).free().priority(5),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_selection_in_words() {
        assert_eq!(
            selection(&json!({"all": 1, "exclude": "100,101"})),
            "all except 100,101"
        );
        assert_eq!(
            selection(&json!({"all": 0, "pool": "web", "exclude": ""})),
            "pool web"
        );
        assert_eq!(selection(&json!({"vmid": "100,101"})), "100,101");
    }
}
