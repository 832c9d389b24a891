//! Wait for a running VM's address: poll its QEMU guest agent (`network-get-interfaces`) on the
//! waiter's schedule until it reports a global address. Used by `vm create --wait-ip`; the agent
//! is not there while the guest boots, which is no error.

use std::time::Duration;

use crate::api::guest::netif::{self, agent_not_configured, agent_not_ready, guest_address};
use crate::api::Client;
use crate::error::{CliError, ErrorKind};
use crate::output::progress::Progress;
use crate::targets::Guest;
use crate::task::{poll_until, transient};

/// The guest's address once its agent reports one; `limit` bounds the wait (`None`: for ever).
pub async fn wait_ip(
    client: &Client,
    g: &Guest,
    limit: Option<Duration>,
    progress: &Progress,
) -> anyhow::Result<String> {
    let bar = progress.bar(&g.label(), "wait-ip");
    bar.log_line("waiting for the guest agent to report an address");
    let found = poll_until(limit, Duration::ZERO, || async {
        match netif::interfaces(client, g).await {
            Ok(list) => guest_address(&list).map(Ok),
            Err(e) if agent_not_configured(&e) => Some(Err(e)),
            Err(e) if agent_not_ready(&e) || transient(&e) => None,
            Err(e) => Some(Err(e)),
        }
    })
    .await;
    bar.finish();
    match found {
        Some(Ok(ip)) => Ok(ip),
        Some(Err(e)) if agent_not_configured(&e) => Err(CliError::refused(format!(
            "{}: {e}: enable it with `pvectl vm set {} agent=enabled=1` (and install qemu-guest-agent in the guest)",
            g.label(),
            g.vmid
        ))
        .into()),
        Some(Err(e)) => Err(e.into()),
        None => Err(CliError::new(
            ErrorKind::WaitTimeout,
            format!(
                "gave up waiting for an address after {}s: {} runs, but its guest agent reported none (does the image have qemu-guest-agent? `pvectl vm status {}` shows the VM)",
                limit.map(|l| l.as_secs()).unwrap_or_default(),
                g.label(),
                g.vmid
            ),
        )
        .into()),
    }
}
