//! `api get|post|put|delete`: raw access like pvesh, PVE's JSON `data` on stdout (or, asked for,
//! as a table or TSV).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use super::Ctx;
use crate::api::Params;
use crate::cli::{ApiArgs, ApiCmd};
use crate::error::CliError;
use crate::output::{tsv_cell, Column};

pub async fn run(ctx: &Ctx, cmd: ApiCmd) -> anyhow::Result<()> {
    let (method, args) = match cmd {
        ApiCmd::Get(a) => (Method::GET, a),
        ApiCmd::Post(a) => (Method::POST, a),
        ApiCmd::Put(a) => (Method::PUT, a),
        ApiCmd::Delete(a) => (Method::DELETE, a),
    };
    let path = normalise_path(&args)?;
    let params = parse_params(&args.params)?;
    let client = ctx.client()?;
    let env = client.call(method, &path, &params).await?;
    // JSON unless another format is asked for on the command line (a profile's `output` is for
    // the other commands: `api` is raw access, like pvesh's JSON).
    match ctx.flags.output {
        None => ctx.out.json(&env.data),
        Some(_) if ctx.out.structured() => ctx.out.json(&env.data),
        Some(_) => table(ctx, &env.data),
    }
}

/// PVE's answer as a table: a list of objects with every key any of them has as a column (a
/// list of plain values as one column `value`), an object as keys and values, a plain value
/// as itself. Nested values are shown as compact JSON.
fn table(ctx: &Ctx, data: &Value) -> anyhow::Result<()> {
    match data {
        Value::Null => Ok(()),
        Value::Object(_) => ctx.out.object(data, &[]),
        Value::Array(items) => {
            let rows: Vec<Value> = items
                .iter()
                .map(|item| match item {
                    Value::Object(_) => item.clone(),
                    other => json!({ "value": other }),
                })
                .collect();
            let mut keys: BTreeSet<&str> = BTreeSet::new();
            for row in &rows {
                keys.extend(
                    row.as_object()
                        .into_iter()
                        .flat_map(|o| o.keys().map(String::as_str)),
                );
            }
            let columns: Vec<Column> = keys.into_iter().map(Column::field).collect();
            ctx.out.list(&columns, &rows)
        }
        other => ctx.out.lines([tsv_cell(Some(other))]),
    }
}

fn normalise_path(args: &ApiArgs) -> Result<String, CliError> {
    let p = args.path.trim();
    let p = p.strip_prefix("/api2/json").unwrap_or(p);
    if p.contains(['?', '#', ' ']) {
        return Err(CliError::usage(format!(
            "'{}' is not an API path: give parameters as KEY=VALUE after the path",
            args.path
        )));
    }
    Ok(if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    })
}

/// `KEY=VALUE` words; a repeated key is sent repeatedly (PVE's arrays).
fn parse_params(words: &[String]) -> Result<Params, CliError> {
    let mut params = Params::new();
    for w in words {
        match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => params.push(k, v),
            _ => {
                return Err(CliError::usage(format!(
                    "'{w}' is not KEY=VALUE (e.g. type=vm)"
                )))
            }
        }
    }
    Ok(params)
}
