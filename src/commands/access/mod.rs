//! `access …`: users, groups, roles, API tokens and ACLs; who the login is (`whoami`), whether it
//! holds a privilege (`check`) and what a command would need (`can`); and `bootstrap`, a token for
//! pvectl in one command.

mod acl;
pub mod bootstrap;
mod can;
mod check;
mod roles;
mod tokens;
mod users;

use std::time::{SystemTime, UNIX_EPOCH};

use super::Ctx;
use crate::api::access;
use crate::cli::AccessCmd;
use crate::error::CliError;
use crate::output::progress::Progress;
use crate::task::{report, ActionResult};

pub async fn run(ctx: &Ctx, cmd: AccessCmd) -> anyhow::Result<()> {
    match cmd {
        AccessCmd::Users(c) => users::run(ctx, c).await,
        AccessCmd::Groups(c) => roles::groups(ctx, c).await,
        AccessCmd::Roles(c) => roles::run(ctx, c).await,
        AccessCmd::Tokens(c) => tokens::run(ctx, c).await,
        AccessCmd::Acl(c) => acl::run(ctx, c).await,
        AccessCmd::Whoami => check::whoami(ctx).await,
        AccessCmd::Check(a) => check::check(ctx, a).await,
        AccessCmd::Can(a) => can::run(ctx, a).await,
        // Runs before settings are resolved (see `bootstrap::run`).
        AccessCmd::Bootstrap(_) => Ok(()),
    }
}

/// The result of a change to an access object (a user, a token, a role…).
fn result(what: &str, action: &str) -> ActionResult {
    let mut r = ActionResult::new(what.to_string(), String::new(), action);
    r.name = Some(what.to_string());
    r
}

/// Report one change: a line on stderr, the result array with `-o json`.
fn done(ctx: &Ctx, r: ActionResult) -> anyhow::Result<()> {
    report(&ctx.out, &Progress::new(&ctx.out), &[r], false)
}

/// A user id must name its realm.
fn userid(id: &str) -> Result<&str, CliError> {
    if access::valid_userid(id) {
        Ok(id)
    } else if id.contains('!') {
        Err(CliError::usage(format!(
            "'{id}' is a token id; name the user (the part before '!')"
        )))
    } else {
        Err(CliError::usage(format!(
            "user id '{id}' needs its realm: e.g. {id}@pve (PVE's own users) or {id}@pam (system accounts)"
        )))
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An expiry as PVE takes it (seconds since 1970; 0 is never): `never`, `0`, seconds, a date
/// (`2027-01-31`, midnight UTC) or a time from now (`90d`, `12h`).
pub fn parse_expire(text: &str, now: i64) -> Result<i64, CliError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("never") {
        return Ok(0);
    }
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        return t
            .parse()
            .map_err(|_| CliError::usage(format!("--expire {t}: too large")));
    }
    let parts: Vec<&str> = t.split('-').collect();
    if parts.len() == 3 && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())) {
        let (y, m, d) = (
            parts[0].parse::<i64>().unwrap_or(0),
            parts[1].parse::<i64>().unwrap_or(0),
            parts[2].parse::<i64>().unwrap_or(0),
        );
        if (1970..=9999).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d) {
            return Ok(days_from_civil(y, m, d) * 86_400);
        }
    }
    match humantime::parse_duration(t) {
        Ok(d) => Ok(now + d.as_secs() as i64),
        Err(_) => Err(CliError::usage(format!(
            "--expire '{t}' is not a date (2027-01-31), a time from now (90d), seconds since 1970, or never"
        ))),
    }
}

/// `alice@pve!ci`, `alice@pve ci`: the user and the token's name.
fn token_parts(user: &str, tokenid: Option<&str>) -> Result<(String, String), CliError> {
    let (u, t) = match (user.split_once('!'), tokenid) {
        (Some((u, t)), None) => (u, t),
        (None, Some(t)) => (user, t),
        (Some(_), Some(_)) => {
            return Err(CliError::usage(format!(
                "'{user}' is already a full token id: leave out the second name"
            )))
        }
        (None, None) => {
            return Err(CliError::usage(format!(
                "name the token: `{user} NAME` or `{user}!NAME`"
            )))
        }
    };
    userid(u)?;
    if !access::valid_token_name(t) {
        return Err(CliError::usage(format!(
            "token name '{t}' must start with a letter and hold only letters, digits, '.', '-' and '_' (at least 2 characters)"
        )));
    }
    Ok((u.to_string(), t.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_in_every_form() {
        assert_eq!(parse_expire("never", 5).unwrap(), 0);
        assert_eq!(parse_expire("0", 5).unwrap(), 0);
        assert_eq!(parse_expire("1767225600", 5).unwrap(), 1_767_225_600);
        assert_eq!(parse_expire("2026-01-01", 5).unwrap(), 1_767_225_600);
        assert_eq!(parse_expire("1970-01-02", 5).unwrap(), 86_400);
        assert_eq!(parse_expire("90d", 100).unwrap(), 100 + 90 * 86_400);
        assert!(parse_expire("soon", 5).is_err());
        assert!(parse_expire("2026-13-01", 5).is_err());
    }

    #[test]
    fn tokens_are_named_either_way() {
        assert_eq!(
            token_parts("ops@pve!ci", None).unwrap(),
            ("ops@pve".to_string(), "ci".to_string())
        );
        assert_eq!(
            token_parts("ops@pve", Some("ci")).unwrap(),
            ("ops@pve".to_string(), "ci".to_string())
        );
        assert!(token_parts("ops", Some("ci")).is_err());
        assert!(token_parts("ops@pve", None).is_err());
        assert!(token_parts("ops@pve", Some("9x")).is_err());
    }
}
