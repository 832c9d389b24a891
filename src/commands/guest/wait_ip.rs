//! `vm create --wait-ip`: the new VM's address, found as `vm ip --wait` finds it (the guest
//! agent, else the static address of its cloud-init configuration), with a progress line.

use std::time::Duration;

use super::address::{self, Want};
use crate::api::Client;
use crate::output::progress::Progress;
use crate::targets::Guest;

/// The address to reach the guest at, once there is one; `limit` bounds the wait (`None`: for
/// ever).
pub async fn wait_ip(
    client: &Client,
    g: &Guest,
    limit: Option<Duration>,
    progress: &Progress,
) -> anyhow::Result<String> {
    let bar = progress.bar(&g.label(), "wait-ip");
    bar.log_line("waiting for the guest agent to report an address");
    let found = address::find(client, g, &Want::default(), Some(limit), None).await;
    bar.finish();
    let found = found?;
    if let Some(note) = &found.note {
        progress.println(note);
    }
    // `find` gives addresses or an error, never an empty list.
    Ok(found
        .addresses
        .first()
        .map(|a| a.to_string())
        .unwrap_or_default())
}
