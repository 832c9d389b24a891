//! Errors of the command layer, and the one mapping from any error to an exit code.
//!
//! Every error has an `ErrorKind`; `ErrorKind::exit_code` is the only place that knows the numbers.
//! Commands raise `CliError`s with a kind, the API client raises `ApiError`s (mapped in
//! `api_kind`), and a command that has already printed its own report (per-target results, an
//! interrupted wait) returns `Reported` so that nothing is printed twice.

use crate::api::permissions::Need;
use crate::api::refusal::{Login, Refusal, Want};
use crate::api::ApiError;

/// What kind of failure an error is: it decides the exit code (DESIGN §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad flags or arguments, an ambiguous guest name, no `--yes` off a terminal.
    Usage,
    /// No host or credentials, an invalid configuration file, an unknown profile.
    Config,
    /// Authentication failed (401) or permission denied (403).
    Auth,
    /// No such guest, node, storage, volume or task.
    NotFound,
    /// The API refused the request: locked, no quorum, invalid parameter…
    Refused,
    /// The server (or a node behind it) cannot be reached or trusted.
    Unreachable,
    /// A task ran and failed.
    TaskFailed,
    /// Gave up waiting: the task is still running on the server.
    WaitTimeout,
    /// Interrupted (Ctrl-C) while waiting: the task keeps running.
    Interrupted,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Every kind, in the order of their exit codes.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Other,
        ErrorKind::Usage,
        ErrorKind::Config,
        ErrorKind::Auth,
        ErrorKind::NotFound,
        ErrorKind::Refused,
        ErrorKind::Unreachable,
        ErrorKind::TaskFailed,
        ErrorKind::WaitTimeout,
        ErrorKind::Interrupted,
    ];

    /// The exit code: the one mapping.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Other => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Config => 3,
            ErrorKind::Auth => 4,
            ErrorKind::NotFound => 5,
            ErrorKind::Refused => 6,
            ErrorKind::Unreachable => 7,
            ErrorKind::TaskFailed => 8,
            ErrorKind::WaitTimeout => 9,
            ErrorKind::Interrupted => 130,
        }
    }

    /// What the exit code means, for `--help`.
    pub fn meaning(self) -> &'static str {
        match self {
            ErrorKind::Other => "any other error",
            ErrorKind::Usage => {
                "usage error (bad flags or arguments, ambiguous guest name, no --yes off a terminal)"
            }
            ErrorKind::Config => {
                "configuration error (no host or credentials, invalid config file, unknown profile)"
            }
            ErrorKind::Auth => "authentication failed or permission denied",
            ErrorKind::NotFound => "not found (guest, node, storage, volume, task)",
            ErrorKind::Refused => {
                "the API refused the request (locked, no quorum, invalid parameter…)"
            }
            ErrorKind::Unreachable => {
                "cannot reach or trust the server (DNS, connect, TLS, timeout, node offline)"
            }
            ErrorKind::TaskFailed => "a task ran and failed",
            ErrorKind::WaitTimeout => "gave up waiting: the task is still running on the server",
            ErrorKind::Interrupted => "interrupted while waiting: the task keeps running",
        }
    }
}

/// The exit codes as `--help` lists them.
pub fn exit_codes_help() -> String {
    let mut text =
        String::from("Exit codes:\n  0  success (tasks that ended with WARNINGS included)");
    for k in ErrorKind::ALL {
        text.push_str(&format!("\n  {:<2} {}", k.exit_code(), k.meaning()));
    }
    text
}

/// An error the command layer raises itself.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CliError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Refused, message)
    }
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unreachable, message)
    }
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, message)
    }
}

/// The command has already said everything (a line per target, a summary): exit with the kind's
/// code and print nothing more.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("already reported")]
pub struct Reported(pub ErrorKind);

/// A program pvectl ran for the user (a command in a guest, `pct exec` over SSH) ended with this
/// exit code: pvectl exits with it too, after everything was printed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the command exited with {0}")]
pub struct ExitWith(pub u8);

/// The kind of an API error.
pub fn api_kind(e: &ApiError) -> ErrorKind {
    match e {
        ApiError::Auth { .. } | ApiError::Forbidden { .. } | ApiError::NeedOtp { .. } => {
            ErrorKind::Auth
        }
        ApiError::NotFound { .. } | ApiError::NoSuchNode { .. } | ApiError::NoSuchTask { .. } => {
            ErrorKind::NotFound
        }
        ApiError::Refused { .. } => ErrorKind::Refused,
        ApiError::Unreachable { .. } | ApiError::Tls { .. } | ApiError::OutcomeUnknown { .. } => {
            ErrorKind::Unreachable
        }
        ApiError::Decode { .. } | ApiError::Setup(_) => ErrorKind::Other,
        ApiError::Invalid(_) => ErrorKind::Usage,
        ApiError::Credentials(_) => ErrorKind::Config,
    }
}

/// The kind of any error: the first typed error in the chain decides.
pub fn kind_of(err: &anyhow::Error) -> ErrorKind {
    for cause in err.chain() {
        if let Some(c) = cause.downcast_ref::<CliError>() {
            return c.kind;
        }
        if let Some(Reported(kind)) = cause.downcast_ref::<Reported>() {
            return *kind;
        }
        if let Some(a) = cause.downcast_ref::<ApiError>() {
            return api_kind(a);
        }
    }
    ErrorKind::Other
}

/// The exit code of an error.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(ExitWith(code)) = err.chain().find_map(|c| c.downcast_ref::<ExitWith>()) {
        return *code;
    }
    kind_of(err).exit_code()
}

/// Whether the error was already reported by the command.
pub fn already_reported(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|c| c.is::<Reported>() || c.is::<ExitWith>())
}

/// An API error in the user's words: PVE's message, with the command to look further where one
/// helps.
fn api_text(e: &ApiError) -> String {
    match e {
        ApiError::NoSuchNode { node } => {
            format!("no node '{node}' in the cluster (see `pvectl nodes list`)")
        }
        ApiError::NoSuchTask { upid, node } => format!(
            "node {node} has no task {upid} (old tasks are rotated out; see `pvectl tasks list --node {node}`)"
        ),
        ApiError::NeedOtp { user } => format!(
            "authentication failed: {user} needs a second factor: give the one-time code with --otp CODE (or run on a terminal to be asked)"
        ),
        other => other.to_string(),
    }
}

/// The outermost part of an error (a result line names its target and action itself).
pub fn headline(err: &anyhow::Error) -> String {
    match err.downcast_ref::<ApiError>() {
        Some(a) => api_text(a),
        None => err.to_string(),
    }
}

/// The error on one line: each cause of the chain that adds something, joined with `: `.
pub fn message(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let text = match cause.downcast_ref::<ApiError>() {
            Some(a) => api_text(a),
            None => cause.to_string(),
        };
        if msg.is_empty() {
            msg = text;
        } else if !msg.contains(text.as_str()) {
            msg = format!("{msg}: {text}");
        }
    }
    msg
}

/// The hint that goes with an error, if any: what to do about it.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    let e = err.chain().find_map(|c| c.downcast_ref::<ApiError>())?;
    match e {
        ApiError::Auth { .. } | ApiError::NeedOtp { .. } => Some(
            "check the token id (user@realm!name) and its secret, or the user and password; a token can be \
             made under Datacenter > Permissions > API Tokens"
                .into(),
        ),
        ApiError::Forbidden { refusal, .. } => Some(
            refusal
                .as_deref()
                .and_then(refusal_advice)
                .unwrap_or_else(|| {
                    "grant that privilege on that path to the user (Datacenter > Permissions, or `pvectl access \
                     acl grant`); a privilege-separated token needs its own ACL entries"
                        .into()
                }),
        ),
        ApiError::Refused { message, errors, .. } => {
            if let Some(name) = crate::api::firewall::unknown_name(e) {
                return Some(unknown_name_advice(&name));
            }
            let why = std::iter::once(message)
                .chain(errors.values())
                .find_map(|m| crate::api::permissions::root_only_reason(m))?;
            Some(root_only_advice(&why))
        }
        // Connection-level failures (refused, DNS, reset), not a node behind the server or a timeout.
        ApiError::Unreachable { message } if message.starts_with("cannot reach the server") => Some(
            "check the host and port (--host, PROXMOX_HOST or host in the profile; PVE's API listens on \
             8006) and that the server is up"
                .into(),
        ),
        ApiError::Tls {
            presented_fingerprint: Some(fp),
            ..
        } => Some(format!(
            "the server presented SHA-256 fingerprint {fp}; if `pvenode cert info` on the node shows the same, \
             pin it with --fingerprint {fp} (or PROXMOX_FINGERPRINT, or fingerprint = \"{fp}\" in the profile)"
        )),
        _ => None,
    }
}

/// What to do about a refusal, on one line: the privilege and path PVE wanted and the grant that
/// gives it (to a privilege-separated token of its own, to its user, or to both), or that only
/// root@pam with a password, or no API token at all, can do it.
pub fn refusal_advice(r: &Refusal) -> Option<String> {
    match &r.want {
        Want::RootOnly(why) => Some(root_only_advice(why)),
        Want::NoToken => Some(
            "PVE lets no API token do this: log in with a password (--user USER@REALM, or a profile with \
             auth = \"password\")"
                .into(),
        ),
        Want::Unknown => None,
        Want::Privileges { needs, from_schema } => {
            let login = r.login.as_ref()?;
            Some(privileges_advice(needs, *from_schema, login))
        }
    }
}

/// Where to find the names a firewall rule may use.
fn unknown_name_advice(name: &crate::api::firewall::UnknownName) -> String {
    use crate::api::firewall::UnknownName;
    match name {
        UnknownName::Macro(m) => format!(
            "PVE knows no macro '{m}': `pvectl firewall macros` lists those it knows (SSH, HTTP, DNS…)"
        ),
        UnknownName::Alias(a) => format!(
            "no alias '{a}' where the rule is: add it (`pvectl firewall aliases add {a} CIDR`, or for a guest \
             `pvectl vm firewall aliases add GUEST {a} CIDR`), or see `… firewall aliases list`"
        ),
        UnknownName::Ipset(s) => format!(
            "no IP set '{s}' where the rule is: add it (`pvectl firewall ipsets add {s}`), or see `… firewall \
             ipsets list`"
        ),
        UnknownName::Group(g) => format!(
            "no security group '{g}': `pvectl firewall groups list` lists them"
        ),
    }
}

/// Advice for something only root@pam may do.
fn root_only_advice(why: &str) -> String {
    format!(
        "only root@pam logged in with a password may do this ({why}); no API token can, however \
         privileged: run the command with --user root@pam"
    )
}

/// `'ops@pve!ci'`: quoted when a shell would read a character of it (`!` in a token id).
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@._-/:=,+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The grant of `role` on each need's path to these users and tokens, as commands.
fn grant_commands(needs: &[Need], role: &str, users: &[&str], tokens: &[&str]) -> String {
    let mut paths: Vec<&str> = needs.iter().map(|n| n.path.as_str()).collect();
    paths.dedup();
    paths
        .iter()
        .map(|path| {
            let mut cmd = format!("`pvectl access acl grant {} {role}", shell_word(path));
            if !users.is_empty() {
                cmd.push_str(&format!(" --users {}", shell_word(&users.join(","))));
            }
            if !tokens.is_empty() {
                cmd.push_str(&format!(" --tokens {}", shell_word(&tokens.join(","))));
            }
            cmd.push('`');
            cmd
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The advice for privileges a login lacks.
pub fn privileges_advice(needs: &[Need], from_schema: bool, login: &Login) -> String {
    let wanted = needs
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    let wanted = if from_schema {
        format!("PVE's schema asks for {wanted} here")
    } else {
        format!("PVE wanted {wanted}")
    };
    let role = login.role.clone().unwrap_or_else(|| "ROLE".into());
    let user = login.user.as_str();
    let Some(token) = login.token.as_deref() else {
        return format!(
            "{wanted}, which {user} lacks; an administrator can grant it: {}",
            grant_commands(needs, &role, &[user], &[])
        );
    };
    let both = grant_commands(needs, &role, &[user], &[token]);
    match (login.privsep, login.user_holds) {
        // The user has it: the token can only lack an ACL of its own.
        (Some(true) | None, Some(true)) => format!(
            "{token} is a privilege-separated token without an ACL of its own for {} (its user {user} \
             has it): {}",
            needs
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" and "),
            grant_commands(needs, &role, &[], &[token])
        ),
        (Some(false), _) => format!(
            "{wanted}, which {user} lacks (its token {token} has its user's privileges, without \
             privilege separation): {}",
            grant_commands(needs, &role, &[user], &[])
        ),
        (Some(true), Some(false)) => format!(
            "{wanted}; {token} is a privilege-separated token, so it and its user {user} both need \
             it: {both}"
        ),
        (Some(true), None) => format!(
            "{wanted}; {token} is a privilege-separated token: it needs an ACL of its own, and its \
             user {user} the privilege too: {both}"
        ),
        (None, _) if login.holds_nothing => format!(
            "{wanted}; {token} holds no privilege anywhere, as a privilege-separated token without \
             ACLs of its own does: give it one (and its user {user} the privilege too): {both}"
        ),
        (None, _) => format!(
            "{wanted}; grant it to {user}, and to the token too if it is privilege-separated (such a \
             token needs its own ACL): {both}"
        ),
    }
}

/// Print an error that ends the command (`error: …` and `hint: …` on stderr) and return its exit
/// code; an error already reported prints nothing.
pub fn report(err: &anyhow::Error) -> u8 {
    if !already_reported(err) {
        eprintln!("error: {}", message(err));
        if let Some(h) = hint(err) {
            eprintln!("hint: {h}");
        }
    }
    exit_code(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_code() {
        let codes: std::collections::BTreeSet<u8> =
            ErrorKind::ALL.iter().map(|k| k.exit_code()).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        assert!(exit_codes_help().contains("\n  9  gave up waiting"));
    }

    fn login(token: Option<&str>, privsep: Option<bool>, user_holds: Option<bool>) -> Login {
        Login {
            authid: token.unwrap_or("ops@pve").to_string(),
            user: "ops@pve".into(),
            token: token.map(str::to_string),
            privsep,
            user_holds,
            holds_nothing: false,
            role: Some("PVEVMUser".into()),
        }
    }

    #[test]
    fn advice_names_the_grant_for_who_lacks_the_privilege() {
        let needs = [Need::new("/vms/100", &["VM.PowerMgmt"], false)];
        let user = privileges_advice(&needs, false, &login(None, None, None));
        assert_eq!(
            user,
            "PVE wanted VM.PowerMgmt on /vms/100, which ops@pve lacks; an administrator can grant it: \
             `pvectl access acl grant /vms/100 PVEVMUser --users ops@pve`"
        );
        let own_acl =
            privileges_advice(&needs, false, &login(Some("ops@pve!ci"), None, Some(true)));
        assert!(own_acl
            .starts_with("ops@pve!ci is a privilege-separated token without an ACL of its own"));
        assert!(
            own_acl.ends_with("`pvectl access acl grant /vms/100 PVEVMUser --tokens 'ops@pve!ci'`")
        );
        let no_sep = privileges_advice(&needs, true, &login(Some("ops@pve!ci"), Some(false), None));
        assert!(no_sep.starts_with(
            "PVE's schema asks for VM.PowerMgmt on /vms/100 here, which ops@pve lacks"
        ));
        assert!(no_sep.ends_with("--users ops@pve`"));
        let both = privileges_advice(
            &needs,
            false,
            &login(Some("ops@pve!ci"), Some(true), Some(false)),
        );
        assert!(
            both.ends_with("--users ops@pve --tokens 'ops@pve!ci'`"),
            "{both}"
        );
        // Several paths: a grant for each.
        let two = [
            Need::new("/access/realm/pve", &["Realm.AllocateUser"], false),
            Need::new("/access/groups", &["User.Modify"], false),
        ];
        let text = privileges_advice(&two, true, &login(None, None, None));
        assert!(
            text.contains("`pvectl access acl grant /access/realm/pve PVEVMUser --users ops@pve` and `pvectl access acl grant /access/groups"),
            "{text}"
        );
    }

    #[test]
    fn root_only_refusals_say_so_whatever_their_status() {
        let e = anyhow::Error::from(ApiError::Refused {
            status: 500,
            message: "only root can set 'hookscript' config".into(),
            errors: Default::default(),
        });
        let h = hint(&e).unwrap();
        assert!(h.starts_with("only root@pam logged in with a password may do this (only root can set 'hookscript' config)"), "{h}");
        assert_eq!(shell_word("ops@pve!ci"), "'ops@pve!ci'");
        assert_eq!(shell_word("/vms/100"), "/vms/100");
    }

    #[test]
    fn the_first_typed_error_decides() {
        let e = anyhow::Error::from(ApiError::NoSuchNode {
            node: "pve9".into(),
        })
        .context("reading the storage");
        assert_eq!(kind_of(&e), ErrorKind::NotFound);
        assert_eq!(
            message(&e),
            "reading the storage: no node 'pve9' in the cluster (see `pvectl nodes list`)"
        );
        let e = anyhow::Error::from(Reported(ErrorKind::WaitTimeout));
        assert_eq!(exit_code(&e), 9);
        assert!(already_reported(&e));
        let e = anyhow::Error::from(ExitWith(42));
        assert_eq!(exit_code(&e), 42);
        assert!(already_reported(&e));
        assert_eq!(kind_of(&anyhow::anyhow!("plain")), ErrorKind::Other);
    }
}
