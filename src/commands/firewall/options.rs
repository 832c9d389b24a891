//! `firewall options show|set`: the options of a scope, set with the digest of what was read.

use serde_json::Value;

use super::{done, refused, Ctx, Place, ScopeArg};
use crate::api::firewall;
use crate::api::GuestKind;
use crate::cli::OptionsCmd;
use crate::error::CliError;

/// Options PVE reads as booleans (`1`/`0`; it refuses `true`).
const BOOLEANS: &[&str] = &[
    "enable",
    "ebtables",
    "dhcp",
    "ipfilter",
    "macfilter",
    "ndp",
    "radv",
    "nosmurfs",
    "tcpflags",
    "protection_synflood",
    "nf_conntrack_allow_invalid",
    "log_nf_conntrack",
    "nftables",
];

pub async fn run<S: ScopeArg>(
    ctx: &Ctx,
    cmd: OptionsCmd<S>,
    kind: Option<GuestKind>,
) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        OptionsCmd::Show { scope } => {
            let place = scope.place(&client, kind).await?;
            let options = firewall::options(&client, &place.scope).await?;
            let mut shown = options.clone();
            if ctx.out.format != crate::cli::OutputFormat::Json {
                shown.remove("digest");
            }
            ctx.out.object(&Value::Object(shown), &[])
        }
        OptionsCmd::Set { scope, set, delete } => {
            let place = scope.place(&client, kind).await?;
            let changes = parse(&place, &set, &delete)?;
            let current = firewall::options(&client, &place.scope).await?;
            let digest = current
                .get("digest")
                .and_then(Value::as_str)
                .map(str::to_string);
            firewall::set_options(&client, &place.scope, &changes, &delete, digest.as_deref())
                .await
                .map_err(|e| refused(&place, e))?;
            let mut said: Vec<String> = changes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            said.extend(delete.iter().map(|k| format!("-{k}")));
            done(
                ctx,
                place
                    .result("options set")
                    .done(&format!("OK ({})", said.join(" "))),
            )
        }
    }
}

/// KEY=VALUE pairs checked against the scope's options, booleans as 1/0, policies in capitals.
pub fn parse(
    place: &Place,
    set: &[String],
    delete: &[String],
) -> Result<Vec<(String, String)>, CliError> {
    let names = place.scope.option_names();
    if names.is_empty() {
        return Err(CliError::usage(format!(
            "the {} has no options",
            place.label
        )));
    }
    if set.is_empty() && delete.is_empty() {
        return Err(CliError::usage(format!(
            "nothing to set: give KEY=VALUE… or --delete KEY (options: {})",
            names.join(", ")
        )));
    }
    let known = |k: &str| -> Result<(), CliError> {
        if names.contains(&k) {
            Ok(())
        } else {
            Err(CliError::usage(format!(
                "the {} has no option '{k}'; options: {}",
                place.label,
                names.join(", ")
            )))
        }
    };
    let mut out = vec![];
    for item in set {
        let Some((k, v)) = item.split_once('=') else {
            return Err(CliError::usage(format!(
                "'{item}' is not KEY=VALUE (e.g. enable=1, policy_in=DROP)"
            )));
        };
        let (k, v) = (k.trim(), v.trim());
        known(k)?;
        if delete.iter().any(|d| d == k) {
            return Err(CliError::usage(format!("'{k}' is both set and deleted")));
        }
        let v = option_value(k, v)?;
        out.push((k.to_string(), v));
    }
    for k in delete {
        known(k)?;
    }
    Ok(out)
}

/// A value as PVE takes it: booleans `1`/`0`, policies in capitals.
pub fn option_value(key: &str, value: &str) -> Result<String, CliError> {
    if BOOLEANS.contains(&key) {
        return match value.to_ascii_lowercase().as_str() {
            "1" | "yes" | "on" | "true" => Ok("1".into()),
            "0" | "no" | "off" | "false" => Ok("0".into()),
            _ => Err(CliError::usage(format!(
                "{key} is on or off: give {key}=1 or {key}=0, not '{value}'"
            ))),
        };
    }
    if key.starts_with("policy_") {
        let v = value.to_ascii_uppercase();
        if !["ACCEPT", "DROP", "REJECT"].contains(&v.as_str()) {
            return Err(CliError::usage(format!(
                "{key} is ACCEPT, DROP or REJECT, not '{value}'"
            )));
        }
        return Ok(v);
    }
    Ok(value.to_string())
}
