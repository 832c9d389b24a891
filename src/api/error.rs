//! The one error type of the API client: what went wrong, in PVE's own words where PVE gave any.

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: the token or ticket was not accepted.
    #[error("authentication failed: {message}")]
    Auth { message: String },
    /// 403: PVE named the privilege and the path it wanted, or not; `refusal` says what the
    /// client found out about it (see `refusal`).
    #[error("permission denied: {message}")]
    Forbidden {
        message: String,
        refusal: Option<Box<super::refusal::Refusal>>,
    },
    /// The object asked for does not exist (guest, storage, volume, API path).
    #[error("{message}")]
    NotFound { message: String },
    /// A node name the cluster does not have.
    #[error("no node '{node}' in the cluster")]
    NoSuchNode { node: String },
    /// A task its node does not know (never existed, or rotated out of the task list).
    #[error("node {node} has no task {upid}")]
    NoSuchTask { upid: String, node: String },
    /// The user has a second factor and no one-time code was given.
    #[error("authentication failed: {user} needs a second factor")]
    NeedOtp { user: String },
    /// PVE answered and refused (other 4xx/5xx: locked, no quorum, invalid parameter…).
    #[error("{}", refused_text(.status, .message, .errors))]
    Refused {
        status: u16,
        message: String,
        errors: BTreeMap<String, String>,
    },
    /// The server could not be reached, or a node behind it (595/596), or the request timed out.
    #[error("{message}")]
    Unreachable { message: String },
    /// A write was sent but no answer came (timeout, dropped connection): PVE may have carried it
    /// out. Never retried; the caller can look whether it did.
    #[error("{message}; the request may have reached PVE")]
    OutcomeUnknown { message: String },
    /// The server's certificate was not trusted.
    #[error("{message}")]
    Tls {
        message: String,
        /// SHA-256 fingerprint of the leaf certificate the server presented, if the handshake got that far.
        presented_fingerprint: Option<String>,
    },
    /// The server answered something that is not PVE's JSON (an HTML page, garbage, a wrong shape).
    #[error("unexpected answer from the server ({context}): {detail}")]
    Decode { context: String, detail: String },
    /// Bad input caught before anything was sent (a malformed UPID, a bad path).
    #[error("{0}")]
    Invalid(String),
    /// Local settings the client cannot use: credentials a header cannot carry, a `ca_file` that
    /// cannot be read (a configuration error).
    #[error("{0}")]
    Credentials(String),
    /// The client itself could not be set up.
    #[error("{0}")]
    Setup(String),
}

/// PVE's text on one line: its messages and field errors may span several.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn refused_text(status: &u16, message: &str, errors: &BTreeMap<String, String>) -> String {
    let mut out = if message.is_empty() {
        format!("the server refused the request (HTTP {status})")
    } else {
        one_line(message)
    };
    if !errors.is_empty() {
        let fields: Vec<String> = errors
            .iter()
            .map(|(k, v)| format!("{k}: {}", one_line(v)))
            .collect();
        if out.ends_with('.') {
            out.pop();
        }
        out = format!("{out}: {}", fields.join("; "));
    }
    out
}

impl ApiError {
    /// HTTP status code behind the error, where there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Refused { status, .. } => Some(*status),
            ApiError::Auth { .. } | ApiError::NeedOtp { .. } => Some(401),
            ApiError::Forbidden { .. } => Some(403),
            _ => None,
        }
    }

    /// A transient failure worth another attempt for an idempotent request.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Unreachable { .. } => true,
            ApiError::Refused { status, .. } => matches!(status, 502 | 503 | 504 | 596),
            _ => false,
        }
    }

    /// The message of a `Refused` error, for matching PVE's wording.
    pub fn message(&self) -> String {
        match self {
            ApiError::Refused { message, .. }
            | ApiError::Auth { message }
            | ApiError::Forbidden { message, .. }
            | ApiError::NotFound { message }
            | ApiError::Unreachable { message }
            | ApiError::Tls { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_one_line_with_every_field() {
        let mut errors = BTreeMap::new();
        errors.insert(
            "mp0".to_string(),
            "invalid format - format error\nmp0.mp: property is missing and it is not optional\n"
                .to_string(),
        );
        errors.insert(
            "memory".to_string(),
            "value must be at least 16".to_string(),
        );
        let e = ApiError::Refused {
            status: 400,
            message: "Parameter verification failed.".into(),
            errors,
        };
        assert_eq!(
            e.to_string(),
            "Parameter verification failed: memory: value must be at least 16; mp0: invalid format - \
             format error; mp0.mp: property is missing and it is not optional"
        );
        let e = ApiError::Refused {
            status: 500,
            message: String::new(),
            errors: BTreeMap::new(),
        };
        assert_eq!(e.to_string(), "the server refused the request (HTTP 500)");
    }
}
