//! Credentials: an API token, or a user and password that `login` turns into a ticket.

use std::sync::Arc;
use std::time::Instant;

use super::secret::Secret;

/// Asks the user for a one-time code when PVE answers a login with `NeedTFA`.
pub type OtpPrompt = Arc<dyn Fn() -> Option<String> + Send + Sync>;

#[derive(Clone)]
pub enum Auth {
    /// `Authorization: PVEAPIToken=USER@REALM!ID=SECRET`.
    Token { id: String, secret: Secret },
    /// A ticket from `POST /access/ticket`, renewed during long runs.
    Password {
        user: String,
        password: Secret,
        otp: Option<Secret>,
        prompt: Option<OtpPrompt>,
    },
    /// No credentials (only for probing the server).
    None,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token { id, .. } => write!(f, "Token {{ id: {id:?}, secret: (redacted) }}"),
            Auth::Password { user, .. } => {
                write!(f, "Password {{ user: {user:?}, password: (redacted) }}")
            }
            Auth::None => f.write_str("None"),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Ticket {
    pub(super) ticket: Secret,
    pub(super) csrf: Secret,
    pub(super) obtained: Instant,
}
