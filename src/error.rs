//! Errors of the command layer and the one mapping from any error to an exit code.

use crate::api::ApiError;

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_CONFIG: u8 = 3;
pub const EXIT_AUTH: u8 = 4;
pub const EXIT_NOT_FOUND: u8 = 5;
pub const EXIT_REFUSED: u8 = 6;
pub const EXIT_UNREACHABLE: u8 = 7;
pub const EXIT_TASK_FAILED: u8 = 8;
pub const EXIT_WAIT_TIMEOUT: u8 = 9;
pub const EXIT_INTERRUPTED: u8 = 130;

/// An error the command layer raises itself, with the exit code it means.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(EXIT_USAGE, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(EXIT_CONFIG, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(EXIT_NOT_FOUND, message)
    }
}

pub fn api_exit_code(e: &ApiError) -> u8 {
    match e {
        ApiError::Auth { .. } | ApiError::Forbidden { .. } => EXIT_AUTH,
        ApiError::NotFound { .. } => EXIT_NOT_FOUND,
        ApiError::Refused { .. } => EXIT_REFUSED,
        ApiError::Unreachable { .. } | ApiError::Tls { .. } => EXIT_UNREACHABLE,
        ApiError::Decode { .. } => EXIT_ERROR,
        ApiError::Invalid(_) => EXIT_USAGE,
        ApiError::Credentials(_) => EXIT_CONFIG,
        ApiError::Setup(_) => EXIT_ERROR,
    }
}

/// The exit code of an error: the first typed error in the chain decides.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(c) = cause.downcast_ref::<CliError>() {
            return c.code;
        }
        if let Some(a) = cause.downcast_ref::<ApiError>() {
            return api_exit_code(a);
        }
    }
    EXIT_ERROR
}

/// The hint that goes with an error, if any.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    err.chain()
        .find_map(|c| c.downcast_ref::<ApiError>())
        .and_then(crate::api::error::hint)
}
