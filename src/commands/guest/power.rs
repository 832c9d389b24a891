//! Power verbs for `vm` and `ct`: start, stop, shutdown, reboot, reset, suspend, resume, on one
//! guest or many (`--parallel` at once), idempotent for scripts: a guest already where the action
//! would bring it succeeds without the action, also when it got there a moment ago (PVE's refusal
//! or the failed task says so, and the guest's own status confirms it).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};

use super::Ctx;
use crate::api::guest::power::{self, GuestStatus, PowerAction};
use crate::api::tasks::{self, TaskFilter};
use crate::api::{ApiError, Client, GuestKind, Params, Upid};
use crate::cli::PowerArgs;
use crate::error::ErrorKind;
use crate::targets::{self, Guest, KindWords};
use crate::task::{poll_until, ActionResult, Session, SHORT_WAIT};

/// What a guest in this state needs for this action: nothing (and why), or another action.
enum Already {
    Done(&'static str),
    /// Starting a paused VM resumes it.
    Resume,
}

fn already(action: PowerAction, state: Option<&str>) -> Option<Already> {
    match (action, state?) {
        (PowerAction::Start | PowerAction::Resume, "running") => {
            Some(Already::Done("already running"))
        }
        (PowerAction::Stop | PowerAction::Shutdown, "stopped") => {
            Some(Already::Done("already stopped"))
        }
        (PowerAction::Suspend, "paused") => Some(Already::Done("already paused")),
        (PowerAction::Suspend, "suspended") => Some(Already::Done("already suspended")),
        (PowerAction::Start, "paused") => Some(Already::Resume),
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
    let t = &args.targets;
    // `vm start 110 --node pve2` goes straight to the node: PVE's refusal or the task says whether
    // the guest was already there (and the guest's own status confirms it).
    // `vm start 110` asks the node where 110 was last seen, and looks it up only if that fails.
    let selection = match targets::direct(kind, &t.guests, t.all, &t.sel) {
        Some(s) => s,
        None => match targets::hinted_selection(&client, kind, &t.guests, t.all, &t.sel).await? {
            Some(s) => s,
            None => {
                let resources = targets::fetch_guests(&client).await?;
                targets::select(&resources, kind, &t.guests, t.all, &t.sel)?
            }
        },
    };
    if selection.by_selector {
        confirm(ctx, kind, action, &selection.guests, t.yes)?;
    }
    let parallel = t.parallel.unwrap_or(ctx.settings.parallel).max(1) as usize;
    let session = if selection.guests.len() > 1 {
        Session::for_many(&ctx.out, &client, timeout)
    } else {
        Session::new(&ctx.out, &client, timeout)
    };
    session.plan(
        selection
            .guests
            .iter()
            .map(|g| ActionResult::for_guest(g, action.as_str())),
    );
    let verb = Verb {
        client: &client,
        session: &session,
        action,
        params: &params,
        no_wait: args.wait.no_wait,
    };
    let work = stream::iter(selection.guests.iter())
        .map(|g| async { session.keep(verb.one(g).await) })
        // Every slot busy: the next guest starts as soon as any task ends, and its line is
        // printed then; the summary and the JSON follow the order the guests were given.
        .buffer_unordered(parallel)
        .collect::<Vec<_>>();
    session.finish(work, verb.no_wait).await
}

/// One power action, applied to each guest.
struct Verb<'a> {
    client: &'a Client,
    session: &'a Session<'a>,
    action: PowerAction,
    params: &'a Params,
    no_wait: bool,
}

impl Verb<'_> {
    async fn one(&self, g: &Guest) -> ActionResult {
        let result = ActionResult::for_guest(g, self.action.as_str());
        let mut action = self.action;
        if let Some(seen) = already(action, g.state()) {
            // `/cluster/resources` takes its state from pvestatd's last report (every ~10 s), so a
            // guest started or stopped a moment ago still shows its old state there: ask the guest
            // itself before skipping the action (unless that is where the state came from).
            let now = if g.current.is_some() {
                Some(seen)
            } else {
                self.current(g)
                    .await
                    .as_ref()
                    .and_then(|s| already(action, s.state()))
            };
            match now {
                Some(Already::Done(msg)) => return result.done(msg),
                Some(Already::Resume) => action = PowerAction::Resume,
                None => {}
            }
        }
        let params = if action == self.action {
            self.params.clone()
        } else {
            // Resuming instead of starting: of start's parameters only skiplock applies.
            Params::new().opt("skiplock", self.params.get("skiplock"))
        };
        let sent_at = now();
        let upid = match power::action(self.client, g, action, &params).await {
            Ok(u) => u,
            Err(e) if power::refused_as_already(action, &e.message()) => {
                return self.confirm_already(g, result, e.into()).await;
            }
            Err(ApiError::OutcomeUnknown { message }) => {
                return self.look(g, action, result, sent_at, message).await;
            }
            Err(e) => return paused_hint(result.failed(&e.into()), action),
        };
        self.follow(g, action, result, &upid).await
    }

    /// Wait for the action's task, and see it through to the guest's state.
    async fn follow(
        &self,
        g: &Guest,
        action: PowerAction,
        result: ActionResult,
        upid: &Upid,
    ) -> ActionResult {
        if self.no_wait {
            return result.started(upid);
        }
        let mut r = self.session.wait(result, upid).await;
        if !r.ok
            && r.failure == Some(ErrorKind::TaskFailed)
            && power::refused_as_already(action, &r.message)
        {
            // The task failed because another client got there first ("VM 102 already running").
            let e = anyhow::anyhow!("{}", r.message);
            return self.confirm_already(g, r, e).await;
        }
        if r.ok && action != self.action {
            r.message = "resumed (it was paused)".into();
        }
        if r.ok && power::is_ha_request(&upid.task_type) {
            let spent = Duration::from_secs_f64(r.duration_s);
            if let Err(message) = self.ha_reached(g, action, spent).await {
                r = r.fail(ErrorKind::WaitTimeout, message);
            }
        }
        r
    }

    /// PVE says the guest is already there: the guest's own status confirms it (success), or the
    /// refusal stands.
    async fn confirm_already(
        &self,
        g: &Guest,
        result: ActionResult,
        refusal: anyhow::Error,
    ) -> ActionResult {
        match self
            .current(g)
            .await
            .as_ref()
            .and_then(|s| already(self.action, s.state()))
        {
            Some(Already::Done(msg)) => {
                let mut r = result.done(msg);
                r.exitstatus = None;
                r.log_tail.clear();
                r
            }
            // Started without knowing its state (`--node` and a VMID): a paused VM is resumed.
            Some(Already::Resume) if self.action == PowerAction::Start => {
                let fresh = ActionResult::for_guest(g, self.action.as_str());
                let params = Params::new().opt("skiplock", self.params.get("skiplock"));
                match power::action(self.client, g, PowerAction::Resume, &params).await {
                    Ok(upid) => Box::pin(self.follow(g, PowerAction::Resume, fresh, &upid)).await,
                    Err(e) => fresh.failed(&e.into()),
                }
            }
            _ if result.failure.is_some() => result,
            _ => result.failed(&refusal),
        }
    }

    /// The request went out and no answer came: PVE may have carried it out. Look once for a task
    /// of this guest started since, and follow it; else the guest's own state; else say what is
    /// not known (exit 7) and how to look.
    async fn look(
        &self,
        g: &Guest,
        action: PowerAction,
        result: ActionResult,
        sent_at: i64,
        message: String,
    ) -> ActionResult {
        let progress = &self.session.progress;
        // `message` already says which request got no answer and why.
        progress.println_always(&format!(
            "{}: {message}; it may have reached PVE: looking for its task",
            g.label()
        ));
        let filter = TaskFilter {
            limit: Some(20),
            vmid: Some(g.vmid),
            source: Some("all"),
            since: Some(sent_at - SLACK),
            ..TaskFilter::default()
        };
        let types = power::task_types(g.kind, action);
        let found = tasks::list(self.client, &g.node, &filter)
            .await
            .ok()
            .and_then(|list| {
                list.into_iter().find(|t| {
                    types.contains(&t.kind.as_str())
                        && t.starttime.is_some_and(|s| s >= sent_at - SLACK)
                })
            })
            .and_then(|t| t.upid.parse::<Upid>().ok());
        if let Some(upid) = found {
            progress.println_always(&format!("{}: PVE started task {upid}", g.label()));
            return self.follow(g, action, result, &upid).await;
        }
        if let Some(Already::Done(msg)) = self
            .current(g)
            .await
            .as_ref()
            .and_then(|s| already(action, s.state()))
        {
            return result.done(msg);
        }
        result.fail(
            ErrorKind::Unreachable,
            format!(
                "{message}, and no {} task shows for the guest yet; it may still have reached PVE: check with `pvectl tasks list --vmid {}`",
                action.as_str(),
                g.vmid
            ),
        )
    }

    /// For an HA-managed guest PVE's `hastart`/`hastop` task only hands the request to the HA
    /// manager, which acts some seconds later: wait until the guest is there, for what is left
    /// of the wait after the `spent` waiting for the task.
    async fn ha_reached(
        &self,
        g: &Guest,
        action: PowerAction,
        spent: Duration,
    ) -> Result<(), String> {
        let want = match action {
            PowerAction::Start => "running",
            _ => "stopped",
        };
        let limit = self.session.waiter.timeout;
        let started = std::time::Instant::now();
        let reached = poll_until(limit, spent, || async {
            let now = self.current(g).await?;
            (now.status.as_deref() == Some(want)).then_some(())
        })
        .await;
        reached.ok_or_else(|| {
            format!(
                "the HA manager took the request, but the guest is not {want} after {}s; see `ha-manager status` on a node",
                (spent + started.elapsed()).as_secs()
            )
        })
    }

    /// The guest's own status, or None when it cannot be read (then PVE decides).
    async fn current(&self, g: &Guest) -> Option<GuestStatus> {
        power::current(self.client, g).await.ok()
    }
}

/// Seconds of clock difference allowed between this machine and the node when looking for a task
/// started "since the request".
const SLACK: i64 = 30;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// PVE will not shut down or reboot a paused VM: say what to do.
fn paused_hint(mut r: ActionResult, action: PowerAction) -> ActionResult {
    if r.message.contains("VM is paused") && r.hint.is_none() {
        r.hint = Some(format!(
            "resume it first (`pvectl vm resume {}`), or stop it (`pvectl vm stop`){}",
            r.vmid.unwrap_or_default(),
            if action == PowerAction::Shutdown {
                ", or add --forceStop"
            } else {
                ""
            }
        ));
    }
    r
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
