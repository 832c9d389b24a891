//! Carrying out a plan of `nodes drain` or `undrain`: each guest moved the way its step says
//! (live, restart mode, offline, shutdown-move-start, or through HA), `--parallel` at once, a line
//! for each as it ends, one result per guest in plan order, and the drain record kept up to date
//! after every guest. Ctrl-C leaves the moves under way to PVE and reports each guest: moved,
//! still moving (with the task or HA to follow), or not started.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};

use super::plan::{How, Step};
use crate::api::guest::power::{self, PowerAction};
use crate::api::guest::provision::{self, MigrateOptions};
use crate::api::ha::Motion;
use crate::api::{Client, GuestKind, Params, Upid};
use crate::commands::ha::motion::{self, HaWatch};
use crate::error::{ErrorKind, Reported};
use crate::targets::Guest;
use crate::task::{ActionResult, Session};

/// Where a guest's move stands, for Ctrl-C.
enum Phase {
    Task(String),
    Ha(String),
    Done(Box<ActionResult>),
}

pub struct Runner<'a> {
    pub client: &'a Client,
    pub session: &'a Session<'a>,
    pub ha: HaWatch<'a>,
    /// How long to wait for each guest's move.
    pub timeout: Option<Duration>,
    phases: Mutex<HashMap<String, Phase>>,
}

/// The action of a step, as its line says it.
pub fn action(s: &Step) -> String {
    let to = s.to.as_deref().unwrap_or("?");
    match s.how {
        How::Ha => format!("HA migrate to {to}"),
        How::ShutdownMoveStart => format!("move to {to} offline"),
        How::Restart => format!("migrate to {to} (restart)"),
        How::Offline | How::Live => format!("migrate to {to}"),
    }
}

fn blank(s: &Step) -> ActionResult {
    ActionResult::for_guest(&s.mover.guest, &action(s))
}

fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 100.0).round() / 100.0
}

impl<'a> Runner<'a> {
    pub fn new(client: &'a Client, session: &'a Session<'a>, timeout: Option<Duration>) -> Self {
        Runner {
            client,
            session,
            ha: HaWatch::new(client),
            timeout,
            phases: Mutex::new(HashMap::new()),
        }
    }

    fn phases(&self) -> std::sync::MutexGuard<'_, HashMap<String, Phase>> {
        self.phases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn at(&self, label: &str, p: Phase) {
        self.phases().insert(label.to_string(), p);
    }

    /// Move every step's guest (those with a target); `moved` is told of each guest that got
    /// there. The results come in plan order; Ctrl-C ends it with exit 130 after reporting.
    pub async fn run(
        &self,
        steps: &[&Step],
        parallel: usize,
        moved: impl Fn(&Step) + Sync,
    ) -> anyhow::Result<Vec<ActionResult>> {
        self.session.plan(steps.iter().map(|s| blank(s)));
        let moved = &moved;
        let work = stream::iter(steps.iter().copied())
            .map(|s| async move {
                let r = self.one(s).await;
                if r.ok {
                    // The next command given its VMID asks the node it is on now.
                    if let (Some(to), Some(file)) = (s.to.as_deref(), self.client.hints()) {
                        let g = &s.mover.guest;
                        crate::targets::hints::moved(file, g.vmid, g.kind, to);
                    }
                    moved(s);
                }
                let r = self.session.keep(r);
                self.at(&r.label, Phase::Done(Box::new(r.clone())));
                r
            })
            .buffer_unordered(parallel.max(1))
            .collect::<Vec<_>>();
        tokio::select! {
            r = work => Ok(r),
            _ = tokio::signal::ctrl_c() => Err(self.interrupted(steps)),
        }
    }

    /// Every guest's result after Ctrl-C, reported; the command then exits 130.
    fn interrupted(&self, steps: &[&Step]) -> anyhow::Error {
        let results: Vec<ActionResult> = {
            let phases = self.phases();
            steps
                .iter()
                .map(|s| {
                    let b = blank(s);
                    match phases.get(&b.label) {
                        Some(Phase::Done(r)) => (**r).clone(),
                        Some(Phase::Task(upid)) => {
                            let mut r = b.fail(
                                ErrorKind::Interrupted,
                                format!("interrupted: the move goes on on the server; follow it with `pvectl tasks wait {upid}`"),
                            );
                            r.upid = Some(upid.clone());
                            r
                        }
                        Some(Phase::Ha(to)) => b.fail(
                            ErrorKind::Interrupted,
                            format!("interrupted: HA goes on moving it to {to}; see `pvectl ha status`"),
                        ),
                        None => b.fail(ErrorKind::Interrupted, "not started"),
                    }
                })
                .collect()
        };
        let _ = self.session.report(&results, false);
        Reported(ErrorKind::Interrupted).into()
    }

    async fn one(&self, s: &Step) -> ActionResult {
        let started = Instant::now();
        let g = &s.mover.guest;
        let Some(to) = s.to.as_deref() else {
            return blank(s).fail(ErrorKind::Refused, s.why.clone());
        };
        let mut r = match (s.how, &s.mover.ha) {
            (How::Ha, Some(sid)) => self.through_ha(blank(s), sid, to).await,
            (How::ShutdownMoveStart, _) => {
                self.round_trip(blank(s), g, to, s.mover.local_disks).await
            }
            (how, _) => {
                self.migrate(blank(s), g, to, how, s.mover.local_disks)
                    .await
            }
        };
        r.duration_s = seconds(started.elapsed());
        r
    }

    /// `POST …/migrate`, and its task waited for.
    async fn migrate(
        &self,
        result: ActionResult,
        g: &Guest,
        to: &str,
        how: How,
        local_disks: bool,
    ) -> ActionResult {
        let live = how == How::Live;
        let options = MigrateOptions {
            target: to.to_string(),
            online: live,
            with_local_disks: live && local_disks && g.kind == GuestKind::Qemu,
            restart: how == How::Restart,
            ..MigrateOptions::default()
        };
        let answer = match provision::migrate(self.client, g, &options).await {
            Ok(a) => a,
            Err(e) => return result.failed(&e.into()),
        };
        self.follow(result, answer).await
    }

    /// Wait for the task a request answered.
    async fn follow(&self, result: ActionResult, answer: serde_json::Value) -> ActionResult {
        match answer.as_str().and_then(|u| u.parse::<Upid>().ok()) {
            Some(upid) => {
                self.at(&result.label, Phase::Task(upid.to_string()));
                self.session.wait(result, &upid).await
            }
            None => result.fail(
                ErrorKind::Other,
                format!("PVE answered {answer} instead of a task"),
            ),
        }
    }

    /// Through HA: the request, then HA's status until the guest is there.
    async fn through_ha(&self, result: ActionResult, sid: &str, to: &str) -> ActionResult {
        let bar = self.session.progress.bar(&result.label, &result.action);
        let answer = match motion::request(self.client, sid, Motion::Migrate, to).await {
            Ok(a) => a,
            Err(e) => return result.failed(&e),
        };
        bar.note(&format!("HA takes {sid} to {to}"));
        let along = answer.comigrated_sids();
        if !along.is_empty() {
            bar.note(&format!(
                "{} move along (positive resource affinity)",
                along.join(", ")
            ));
        }
        self.at(&result.label, Phase::Ha(to.to_string()));
        let reached = motion::wait_there(&self.ha, sid, to, self.timeout, Duration::ZERO).await;
        bar.finish();
        match reached {
            Ok(()) => result.done("OK"),
            Err(e) => result.fail(e.kind, e.message),
        }
    }

    /// Shut down, move offline, start on the target: for VMs whose local disks should not move
    /// live.
    async fn round_trip(
        &self,
        result: ActionResult,
        g: &Guest,
        to: &str,
        local_disks: bool,
    ) -> ActionResult {
        let label = result.label.clone();
        let step = |action: &str| {
            let mut r = ActionResult::for_guest(g, action);
            r.label = label.clone();
            r
        };
        let down = power::action(self.client, g, PowerAction::Shutdown, &Params::new()).await;
        let down = match down {
            Ok(upid) => {
                self.follow(step("shutdown"), serde_json::json!(upid.to_string()))
                    .await
            }
            Err(e) => step("shutdown").failed(&e.into()),
        };
        if !down.ok {
            return down;
        }
        let mut moved = self
            .migrate(
                step(&format!("migrate to {to}")),
                g,
                to,
                How::Offline,
                local_disks,
            )
            .await;
        if !moved.ok {
            moved.hint = Some(format!(
                "it is stopped on {}: start it with `pvectl {} start {}`",
                g.node,
                crate::targets::KindWords::command(g.kind),
                g.vmid
            ));
            return moved;
        }
        let there = Guest {
            node: to.to_string(),
            ..g.clone()
        };
        let up = match power::action(self.client, &there, PowerAction::Start, &Params::new()).await
        {
            Ok(upid) => {
                self.follow(step("start"), serde_json::json!(upid.to_string()))
                    .await
            }
            Err(e) => step("start").failed(&e.into()),
        };
        if !up.ok {
            return up;
        }
        let mut done = result.done("OK");
        done.upid = moved.upid;
        done
    }
}
