//! `…/status/current` and the power actions (`…/status/start|stop|shutdown|…`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::de::{self, Extra};
use super::super::upid::Upid;
use super::super::{ApiError, Client, Params};
use super::Located;

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
    /// The path segment, and the word PVE's own tools use.
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
}

/// `GET …/status/current`: the guest's own view of itself (`/cluster/resources` lags by the
/// ~10 s of pvestatd's reports).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuestStatus {
    /// `running` or `stopped`: only the QEMU process (a paused VM is `running`).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub status: Option<String>,
    /// QEMU's own state: `running`, `paused`, `prelaunch`, `suspended`…
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub qmpstatus: Option<String>,
    /// The configuration lock (`backup`, `migrate`, `suspended` for a VM hibernated to disk…).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub lock: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl GuestStatus {
    /// The state as PVE's web UI shows it (see `state`).
    pub fn state(&self) -> Option<&str> {
        state(
            self.status.as_deref(),
            self.qmpstatus.as_deref(),
            self.lock.as_deref(),
        )
    }
}

/// The state of a guest as PVE's web UI shows it: `status` is only whether the QEMU process
/// runs, so a paused VM (`qmpstatus: paused`) shows as `paused`, and a VM hibernated to disk
/// (stopped, locked `suspended`) as `suspended`. `/cluster/resources` already reports QEMU's
/// state in `status` (pvestatd writes `qmpstatus || status`), but not the hibernated one.
pub fn state<'a>(
    status: Option<&'a str>,
    qmpstatus: Option<&'a str>,
    lock: Option<&'a str>,
) -> Option<&'a str> {
    match (status, qmpstatus, lock) {
        (Some("running"), Some(q), _) if q != "running" => Some(q),
        (Some("stopped"), _, Some("suspended")) => Some("suspended"),
        (s, _, _) => s,
    }
}

/// PVE refused the action (or its task failed) because the guest is already where the action
/// would bring it: "VM 100 already running", "CT 101 already running" for start and resume,
/// "CT 101 not running" / "VM 100 not running" for stop and shutdown.
pub fn refused_as_already(action: PowerAction, message: &str) -> bool {
    match action {
        PowerAction::Start | PowerAction::Resume => message.contains("already running"),
        PowerAction::Stop | PowerAction::Shutdown => message.contains("not running"),
        _ => false,
    }
}

/// The task types an action starts (`hastart`/`hastop` for HA-managed guests).
pub fn task_types(kind: super::GuestKind, action: PowerAction) -> &'static [&'static str] {
    use super::GuestKind::{Lxc, Qemu};
    match (kind, action) {
        (Qemu, PowerAction::Start) => &["qmstart", "hastart"],
        (Qemu, PowerAction::Stop) => &["qmstop", "hastop"],
        (Qemu, PowerAction::Shutdown) => &["qmshutdown", "hastop"],
        (Qemu, PowerAction::Reboot) => &["qmreboot"],
        (Qemu, PowerAction::Reset) => &["qmreset"],
        (Qemu, PowerAction::Suspend) => &["qmpause", "qmsuspend"],
        (Qemu, PowerAction::Resume) => &["qmresume"],
        (Lxc, PowerAction::Start) => &["vzstart", "hastart"],
        (Lxc, PowerAction::Stop) => &["vzstop", "hastop"],
        (Lxc, PowerAction::Shutdown) => &["vzshutdown", "hastop"],
        (Lxc, PowerAction::Reboot) => &["vzreboot"],
        (Lxc, PowerAction::Reset) => &[],
        (Lxc, PowerAction::Suspend) => &["vzsuspend"],
        (Lxc, PowerAction::Resume) => &["vzresume"],
    }
}

/// `GET …/status/current`.
pub async fn current(client: &Client, g: &impl Located) -> Result<GuestStatus, ApiError> {
    client
        .get(&format!("{}/status/current", g.path()), &Params::new())
        .await
}

/// `GET …/status/current` asked once within `limit`, to learn whether the guest is on that node
/// (PVE answers only from the node that holds its configuration): see `Client::get_once`.
pub async fn current_once(
    client: &Client,
    g: &impl Located,
    limit: std::time::Duration,
) -> Result<Value, Option<ApiError>> {
    client
        .get_once(
            &format!("{}/status/current", g.path()),
            &Params::new(),
            limit,
        )
        .await
}

/// `GET …/status/current`, as PVE sent it (every field, for display).
pub async fn current_raw(client: &Client, g: &impl Located) -> Result<Value, ApiError> {
    client
        .get(&format!("{}/status/current", g.path()), &Params::new())
        .await
}

/// `POST …/status/{action}`: a UPID (`qmstart`, `vzstop`…; `hastart`/`hastop` for HA-managed
/// guests, whose task ends as soon as the HA manager has the request).
pub async fn action(
    client: &Client,
    g: &impl Located,
    action: PowerAction,
    params: &Params,
) -> Result<Upid, ApiError> {
    client
        .post(&format!("{}/status/{}", g.path(), action.as_str()), params)
        .await
}

/// Task types PVE's HA stack uses instead of the guest's own start and stop.
pub fn is_ha_request(task_type: &str) -> bool {
    matches!(task_type, "hastart" | "hastop")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_as_the_web_ui_shows_them() {
        assert_eq!(state(Some("running"), Some("paused"), None), Some("paused"));
        assert_eq!(
            state(Some("running"), Some("running"), None),
            Some("running")
        );
        assert_eq!(state(Some("paused"), None, None), Some("paused"));
        assert_eq!(
            state(Some("stopped"), None, Some("suspended")),
            Some("suspended")
        );
        assert_eq!(
            state(Some("stopped"), Some("stopped"), Some("backup")),
            Some("stopped")
        );
    }

    #[test]
    fn refusals_that_mean_already_there() {
        assert!(refused_as_already(
            PowerAction::Start,
            "VM 102 already running"
        ));
        assert!(refused_as_already(
            PowerAction::Resume,
            "CT 102 already running"
        ));
        assert!(refused_as_already(
            PowerAction::Shutdown,
            "CT 103 not running"
        ));
        assert!(!refused_as_already(
            PowerAction::Start,
            "VM is locked (backup)"
        ));
        assert!(!refused_as_already(
            PowerAction::Reboot,
            "VM 102 not running"
        ));
    }
}
