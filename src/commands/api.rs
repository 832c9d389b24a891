//! `api get|post|put|delete`: raw access like pvesh, PVE's JSON `data` on stdout.

use reqwest::Method;

use super::Ctx;
use crate::api::Params;
use crate::cli::{ApiArgs, ApiCmd};
use crate::error::CliError;

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
    ctx.out.json(&env.data)
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
