//! The result of one action on one target: what `-o json` prints (with PVE's names) and what the
//! report says on stderr.

use std::time::Duration;

use serde::Serialize;

use super::waiter::Outcome;
use crate::api::{GuestKind, Upid};
use crate::error::{self, ErrorKind};
use crate::targets::Guest;

#[derive(Debug, Clone, Serialize)]
pub struct ActionResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Empty for what lives on no node (a user, the cluster's firewall).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub node: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<GuestKind>,
    pub action: String,
    pub upid: Option<String>,
    pub exitstatus: Option<String>,
    pub ok: bool,
    pub warnings: Vec<String>,
    pub duration_s: f64,
    /// What happened, in words: "OK", "already running", PVE's error.
    pub message: String,
    /// The backup archive made, restored or deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volid: Option<String>,
    /// Its size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The VMID of the guest a clone made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newid: Option<u32>,
    /// Why it failed (it decides the exit code); `None` when it did not.
    #[serde(skip)]
    pub failure: Option<ErrorKind>,
    #[serde(skip)]
    pub log_tail: Vec<String>,
    /// What helps with the error (the privilege to grant for a 403…).
    #[serde(skip)]
    pub hint: Option<String>,
    #[serde(skip)]
    pub label: String,
    /// Its line has been printed (as it ended).
    #[serde(skip)]
    pub reported: bool,
    /// How many of `warnings` are its own to print (the rest were said once for several targets).
    #[serde(skip)]
    pub shown_warnings: usize,
}

impl ActionResult {
    /// A result for one guest.
    pub fn for_guest(g: &Guest, action: &str) -> Self {
        let mut r = ActionResult::new(g.label(), g.node.clone(), action);
        r.vmid = Some(g.vmid);
        r.name = g.name.clone();
        r.kind = Some(g.kind);
        r
    }

    pub fn new(label: String, node: String, action: &str) -> Self {
        ActionResult {
            vmid: None,
            name: None,
            node,
            kind: None,
            action: action.to_string(),
            upid: None,
            exitstatus: None,
            ok: false,
            warnings: vec![],
            duration_s: 0.0,
            message: String::new(),
            volid: None,
            size: None,
            newid: None,
            failure: None,
            log_tail: vec![],
            hint: None,
            label,
            reported: false,
            shown_warnings: usize::MAX,
        }
    }

    /// Success without a task (nothing to do).
    pub fn done(mut self, message: &str) -> Self {
        self.ok = true;
        self.failure = None;
        self.message = message.to_string();
        self
    }

    /// Started, not waited for.
    pub fn started(mut self, upid: &Upid) -> Self {
        self.ok = true;
        self.upid = Some(upid.to_string());
        self.message = "started".into();
        self
    }

    /// A failure of this kind, in these words.
    pub fn fail(mut self, kind: ErrorKind, message: impl Into<String>) -> Self {
        self.ok = false;
        self.failure = Some(kind);
        self.message = message.into();
        self
    }

    pub fn from_outcome(mut self, o: Outcome) -> Self {
        self.upid = Some(o.upid.to_string());
        self.ok = o.ok;
        self.duration_s = round2(o.duration);
        // PVE's exit status says it all: `OK`, `WARNINGS: 2`, or the error.
        self.message = o.exitstatus.clone();
        self.exitstatus = Some(o.exitstatus);
        self.warnings = o.warnings;
        self.log_tail = o.log_tail;
        self.failure = (!o.ok).then_some(ErrorKind::TaskFailed);
        self
    }

    /// A failure before or while waiting.
    pub fn failed(mut self, err: &anyhow::Error) -> Self {
        self.ok = false;
        self.failure = Some(error::kind_of(err));
        self.message = error::headline(err);
        self.hint = error::hint(err);
        self
    }
}

pub(super) fn round2(d: Duration) -> f64 {
    (d.as_secs_f64() * 100.0).round() / 100.0
}
