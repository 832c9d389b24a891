//! How long to wait for a task: the flag, else the profile's `wait_timeout`, else the verb's own
//! default; 0 waits for ever.

use std::time::Duration;

use crate::config::{parse_duration, Settings};
use crate::error::CliError;

/// Power verbs and configuration changes.
pub const SHORT_WAIT: Duration = Duration::from_secs(5 * 60);
/// Anything that may move or copy disks: backups, restores, clones, migrations, snapshots,
/// creation and deletion.
pub const LONG_WAIT: Duration = Duration::from_secs(30 * 60);

/// The client-side wait limit (`None` = for ever).
pub fn wait_limit(
    settings: &Settings,
    flag: Option<&str>,
    default: Duration,
) -> Result<Option<Duration>, CliError> {
    let d = match flag {
        Some(text) => {
            parse_duration(text).map_err(|e| CliError::usage(format!("--wait-timeout: {e}")))?
        }
        None => settings.wait_timeout.unwrap_or(default),
    };
    Ok((!d.is_zero()).then_some(d))
}
