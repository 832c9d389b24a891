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
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET …/status/current`.
pub async fn current(client: &Client, g: &impl Located) -> Result<GuestStatus, ApiError> {
    client
        .get(&format!("{}/status/current", g.path()), &Params::new())
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
