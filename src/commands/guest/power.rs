//! Power verbs for `vm` and `ct`: start, stop, shutdown, reboot, reset, suspend, resume, on one
//! guest or many (`--parallel` at once), idempotent for scripts.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use super::Ctx;
use crate::api::guest::power::{self, PowerAction};
use crate::api::{Client, GuestKind, Params};
use crate::cli::PowerArgs;
use crate::error::ErrorKind;
use crate::targets::{self, Guest, KindWords};
use crate::task::{poll_until, ActionResult, Session, SHORT_WAIT};

/// The state a guest already in needs no request (idempotent for scripts).
fn already(action: PowerAction, status: Option<&str>) -> Option<&'static str> {
    match (action, status) {
        (PowerAction::Start, Some("running")) => Some("already running"),
        (PowerAction::Stop | PowerAction::Shutdown, Some("stopped")) => Some("already stopped"),
        _ => None,
    }
}

pub async fn run(
    ctx: &Ctx,
    kind: GuestKind,
    action: PowerAction,
    args: PowerArgs,
    params: Params,
) -> anyhow::Result<()> {
    let timeout = ctx.wait_limit(args.wait.wait_timeout.as_deref(), SHORT_WAIT)?;
    let client = ctx.client()?;
    let resources = targets::fetch_guests(&client).await?;
    let t = &args.targets;
    let selection = targets::select(&resources, kind, &t.guests, t.all, &t.sel)?;
    if selection.by_selector {
        confirm(ctx, kind, action, &selection.guests, t.yes)?;
    }
    let parallel = t.parallel.unwrap_or(ctx.settings.parallel).max(1) as usize;
    let session = Session::new(&ctx.out, &client, timeout);
    let no_wait = args.wait.no_wait;
    let work = stream::iter(selection.guests.iter())
        .map(|g| one(&client, &session, g, action, &params, no_wait))
        .buffered(parallel)
        .collect::<Vec<_>>();
    session.finish(work, no_wait).await
}

async fn one(
    client: &Client,
    session: &Session<'_>,
    g: &Guest,
    action: PowerAction,
    params: &Params,
    no_wait: bool,
) -> ActionResult {
    let result = ActionResult::for_guest(g, action.as_str());
    if let Some(msg) = already(action, g.status.as_deref()) {
        // `/cluster/resources` takes its state from pvestatd's last report (every ~10 s), so a guest
        // started or stopped a moment ago still shows its old state there: ask the guest itself
        // before skipping the action.
        if already(action, current_status(client, g).await.as_deref()).is_some() {
            return result.done(msg);
        }
    }
    let upid = match power::action(client, g, action, params).await {
        Ok(u) => u,
        Err(e) => return result.failed(&e.into()),
    };
    if no_wait {
        return result.started(&upid);
    }
    let mut r = session.wait(result, &upid).await;
    if r.ok && power::is_ha_request(&upid.task_type) {
        let spent = Duration::from_secs_f64(r.duration_s);
        if let Err(message) = ha_reached(client, g, action, session.waiter.timeout, spent).await {
            r = r.fail(ErrorKind::WaitTimeout, message);
        }
    }
    r
}

/// For an HA-managed guest PVE's `hastart`/`hastop` task only hands the request to the HA
/// manager, which acts some seconds later: wait until the guest is there, for what is left of
/// `limit` after the `spent` waiting for the task.
async fn ha_reached(
    client: &Client,
    g: &Guest,
    action: PowerAction,
    limit: Option<Duration>,
    spent: Duration,
) -> Result<(), String> {
    let want = match action {
        PowerAction::Start => "running",
        _ => "stopped",
    };
    let started = std::time::Instant::now();
    let reached = poll_until(limit, spent, || async {
        (current_status(client, g).await.as_deref() == Some(want)).then_some(())
    })
    .await;
    reached.ok_or_else(|| {
        format!(
            "the HA manager took the request, but the guest is not {want} after {}s; see `ha-manager status` on a node",
            (spent + started.elapsed()).as_secs()
        )
    })
}

/// The guest's own `status` (`running`/`stopped`), or None when it cannot be read (then the
/// action is sent and PVE decides).
async fn current_status(client: &Client, g: &Guest) -> Option<String> {
    power::current(client, g).await.ok()?.status
}

/// Guests picked by a selector are listed and confirmed on a terminal; elsewhere `--yes` is needed.
fn confirm(
    ctx: &Ctx,
    kind: GuestKind,
    action: PowerAction,
    guests: &[Guest],
    yes: bool,
) -> anyhow::Result<()> {
    let n = guests.len();
    let noun = if n == 1 {
        kind.noun().to_string()
    } else {
        format!("{}s", kind.noun())
    };
    let items: Vec<String> = guests.iter().map(Guest::summary).collect();
    ctx.confirm(
        &format!("{} {n} {noun} picked by a selector", action.as_str()),
        &items,
        yes,
    )
}
