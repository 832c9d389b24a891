//! Request parameters as PVE reads them: form-encoded, booleans as `1`/`0` (or, for the few
//! endpoints that take arrays, a JSON body).

use std::fmt::Display;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>, Option<Value>);

/// Parameters that carry a secret (a container's root password, a login): never shown.
pub(crate) fn is_secret_key(key: &str) -> bool {
    // `cipassword` (cloud-init) and every other `…password` too.
    matches!(key, "ticket" | "vncticket" | "otp" | "tfa-challenge")
        || key.contains("password")
        || key.contains("secret")
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, v)| {
                let v = if is_secret_key(k) { "(redacted)" } else { v };
                (k, v)
            }))
            .finish()
    }
}

impl Params {
    pub fn new() -> Self {
        Params(Vec::new(), None)
    }

    /// A POST/PUT body sent as JSON instead of a form: how an array parameter (`command` of
    /// `agent/exec`) reaches PVE intact whatever its length (PVE turns a lone form value into a
    /// one-element array only as a deprecated fallback).
    pub fn json(body: Value) -> Self {
        Params(Vec::new(), Some(body))
    }

    /// The JSON body, when the parameters are one.
    pub fn json_body(&self) -> Option<&Value> {
        self.1.as_ref()
    }

    pub fn set(mut self, key: &str, value: impl Display) -> Self {
        self.push(key, value);
        self
    }

    /// PVE rejects `true`: booleans are `1` or `0`.
    pub fn flag(self, key: &str, value: bool) -> Self {
        self.set(key, if value { "1" } else { "0" })
    }

    pub fn opt(self, key: &str, value: Option<impl Display>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    /// Send `key=1` only when `value` is true (PVE's default for flags is 0).
    pub fn flag_if(self, key: &str, value: bool) -> Self {
        if value {
            self.flag(key, true)
        } else {
            self
        }
    }

    pub fn push(&mut self, key: &str, value: impl Display) {
        self.0.push((key.to_string(), value.to_string()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty() && self.1.is_none()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

// encodeURIComponent's set: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) is escaped, except that we
// also escape `!` so a token user in a UPID (`user@realm!id`) never reaches the path raw.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One path segment, percent-encoded (UPIDs, volume IDs, names from the user).
pub fn seg(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_one_and_zero() {
        let p = Params::new()
            .flag("full", true)
            .flag("purge", false)
            .flag_if("force", false);
        assert_eq!(
            p.pairs(),
            &[("full".into(), "1".into()), ("purge".into(), "0".into())]
        );
    }

    #[test]
    fn debug_output_hides_secret_values() {
        let p = Params::new()
            .set("vmid", 200)
            .set("password", "hunter2-root")
            .set("ssh-public-keys", "ssh-ed25519 AAAA");
        let shown = format!("{p:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("\"vmid\", \"200\""), "{shown}");
        assert_eq!(p.get("password"), Some("hunter2-root"));
    }

    #[test]
    fn segments_escape_upid_and_volid() {
        assert_eq!(
            seg("UPID:pve1:00000001:00000002:66F1A2B3:qmstart:100:api@pve!cli:"),
            "UPID%3Apve1%3A00000001%3A00000002%3A66F1A2B3%3Aqmstart%3A100%3Aapi%40pve%21cli%3A"
        );
        assert_eq!(
            seg("local:backup/vzdump-qemu-100.vma.zst"),
            "local%3Abackup%2Fvzdump-qemu-100.vma.zst"
        );
    }
}
