//! Power verbs for `vm` and `ct`: start, stop, shutdown, reboot, reset, suspend, resume. One
//! implementation; the kind decides the path and which of PVE's parameters are allowed.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};

use super::Ctx;
use crate::actions::{ActionResult, Session};
use crate::api::{Client, GuestKind, Params, Upid};
use crate::cli::{Targets, WaitArgs};
use crate::config::parse_duration;
use crate::error::{CliError, EXIT_WAIT_TIMEOUT};
use crate::guests::{self, Guest, Selectors};
use crate::wait::poll_interval;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerAction {
    Start,
    Stop,
    Shutdown,
    Reboot,
    Reset,
    Suspend,
    Resume,
}

impl PowerAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PowerAction::Start => "start",
            PowerAction::Stop => "stop",
            PowerAction::Shutdown => "shutdown",
            PowerAction::Reboot => "reboot",
            PowerAction::Reset => "reset",
            PowerAction::Suspend => "suspend",
            PowerAction::Resume => "resume",
        }
    }

    /// The state a guest already in needs no request (idempotent for scripts).
    fn already(self, status: Option<&str>) -> Option<&'static str> {
        match (self, status) {
            (PowerAction::Start, Some("running")) => Some("already running"),
            (PowerAction::Stop | PowerAction::Shutdown, Some("stopped")) => Some("already stopped"),
            _ => None,
        }
    }
}

/// One of PVE's power parameters, and the kinds that accept it.
pub struct PowerParam {
    pub flag: &'static str,
    pub name: &'static str,
    pub value: Option<String>,
    pub qemu: bool,
    pub lxc: bool,
}

impl PowerParam {
    pub fn flag(flag: &'static str, name: &'static str, set: bool, qemu: bool, lxc: bool) -> Self {
        PowerParam {
            flag,
            name,
            value: set.then(|| "1".to_string()),
            qemu,
            lxc,
        }
    }

    pub fn value(
        flag: &'static str,
        name: &'static str,
        v: Option<String>,
        qemu: bool,
        lxc: bool,
    ) -> Self {
        PowerParam {
            flag,
            name,
            value: v,
            qemu,
            lxc,
        }
    }
}

/// The parameters PVE gets, refusing flags this kind does not have.
fn build_params(
    kind: GuestKind,
    action: PowerAction,
    list: Vec<PowerParam>,
) -> Result<Params, CliError> {
    if kind == GuestKind::Lxc && action == PowerAction::Reset {
        return Err(CliError::usage(
            "containers have no reset: use `pvectl ct reboot`, or `pvectl ct stop` then `start`",
        ));
    }
    let mut params = Params::new();
    for p in list {
        let Some(v) = p.value else { continue };
        let allowed = match kind {
            GuestKind::Qemu => p.qemu,
            GuestKind::Lxc => p.lxc,
        };
        if !allowed {
            return Err(CliError::usage(format!(
                "{} is not an option of `pvectl {} {}` ({}s have no such parameter)",
                p.flag,
                kind.command(),
                action.as_str(),
                kind.noun()
            )));
        }
        params.push(p.name, v);
    }
    Ok(params)
}

pub struct PowerRequest {
    pub action: PowerAction,
    pub targets: Targets,
    pub wait: WaitArgs,
    pub params: Vec<PowerParam>,
}

/// The client-side wait limit: the flag, else the profile's, else the verb's default; 0 = for ever.
pub fn wait_limit(
    ctx: &Ctx,
    flag: Option<&str>,
    default: Duration,
) -> Result<Option<Duration>, CliError> {
    let d = match flag {
        Some(text) => {
            parse_duration(text).map_err(|e| CliError::usage(format!("--wait-timeout: {e}")))?
        }
        None => ctx.settings.wait_timeout.unwrap_or(default),
    };
    Ok((!d.is_zero()).then_some(d))
}

pub async fn run(ctx: &Ctx, kind: GuestKind, req: PowerRequest) -> anyhow::Result<()> {
    let params = build_params(kind, req.action, req.params)?;
    let timeout = wait_limit(
        ctx,
        req.wait.wait_timeout.as_deref(),
        Duration::from_secs(300),
    )?;
    let client = ctx.client()?;
    let resources = guests::fetch_guests(&client).await?;
    let t = &req.targets;
    let sel = Selectors {
        all: t.all,
        tag: t.tag.clone(),
        pool: t.pool.clone(),
        node: t.node.clone(),
        status: t.status.clone(),
    };
    let selection = guests::select(&resources, kind, &t.guests, &sel)?;
    if selection.by_selector {
        confirm(ctx, kind, req.action.as_str(), &selection.guests, t.yes)?;
    }
    let parallel = t.parallel.unwrap_or(ctx.settings.parallel).max(1) as usize;
    let session = Session::new(&ctx.out, &client, timeout);
    let work = stream::iter(selection.guests.iter())
        .map(|g| one(&client, &session, g, req.action, &params, req.wait.no_wait))
        .buffered(parallel)
        .collect::<Vec<_>>();
    session.finish(work, req.wait.no_wait).await
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
    if let Some(msg) = action.already(g.status.as_deref()) {
        // `/cluster/resources` takes its state from pvestatd's last report (every ~10 s), so a guest
        // started or stopped a moment ago still shows its old state there: ask the guest itself
        // before skipping the action.
        if action
            .already(current_status(client, g).await.as_deref())
            .is_some()
        {
            return result.done(msg);
        }
    }
    let path = format!("{}/status/{}", g.path(), action.as_str());
    let upid: Upid = match client.post(&path, params).await {
        Ok(u) => u,
        Err(e) => return result.failed(&e.into()),
    };
    if no_wait {
        return result.started(&upid);
    }
    let mut r = session.wait(result, &upid).await;
    if r.ok && matches!(upid.task_type.as_str(), "hastart" | "hastop") {
        let spent = Duration::from_secs_f64(r.duration_s);
        if let Err(message) = ha_reached(client, g, action, session.waiter.timeout, spent).await {
            r.ok = false;
            r.code = EXIT_WAIT_TIMEOUT;
            r.message = message;
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
    let started = Instant::now()
        .checked_sub(spent)
        .unwrap_or_else(Instant::now);
    loop {
        if current_status(client, g).await.as_deref() == Some(want) {
            return Ok(());
        }
        let waited = started.elapsed();
        if limit.is_some_and(|l| waited >= l) {
            return Err(format!(
                "the HA manager took the request, but the guest is not {want} after {}s; see `ha-manager status` on a node",
                waited.as_secs()
            ));
        }
        let pause = poll_interval(waited);
        let pause = limit.map_or(pause, |l| pause.min(l.saturating_sub(waited)));
        tokio::time::sleep(pause).await;
    }
}

/// The guest's own `status` (`running`/`stopped`), or None when it cannot be read (then the
/// action is sent and PVE decides).
async fn current_status(client: &Client, g: &Guest) -> Option<String> {
    let current: serde_json::Value = client
        .get(&format!("{}/status/current", g.path()), &Params::new())
        .await
        .ok()?;
    current
        .get("status")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
}

/// Guests picked by a selector are listed and confirmed on a terminal; elsewhere `--yes` is needed.
fn confirm(
    ctx: &Ctx,
    kind: GuestKind,
    action: &str,
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
    super::confirm(
        ctx,
        &format!("{action} {n} {noun} picked by a selector"),
        &items,
        yes,
    )
}
