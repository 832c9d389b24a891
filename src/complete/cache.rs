//! What completion fetched, kept under `$XDG_CACHE_HOME/pvectl/` (else `~/.cache/pvectl/`) so
//! that TABs in a row ask the server once: fresh for a few seconds, and used past that only when
//! the server does not answer in time. One file per server and login, readable by its owner only
//! (the names of a cluster's guests are nobody else's business).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::config::{cache_dir, cache_key, write_cache_file, Env};

/// How long an answer is used without asking again.
pub const FRESH: Duration = Duration::from_secs(5);
/// How old an answer may be and still be offered when the server is too slow.
pub const STALE_LIMIT: Duration = Duration::from_secs(24 * 3600);

pub struct Cache {
    dir: PathBuf,
    /// Names the server and the login (never the secret).
    key: String,
}

impl Cache {
    pub fn new(env: &Env, base_url: &str, login: &str) -> Cache {
        Cache {
            dir: cache_dir(env),
            key: cache_key(base_url, login),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("complete-{}-{name}.json", self.key))
    }

    /// The data kept under `name` and its age; `None` when there is none (or it is unreadable).
    pub fn read(&self, name: &str) -> Option<(Duration, Value)> {
        let text = std::fs::read_to_string(self.path(name)).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        let fetched = Duration::from_millis(v.get("fetched_ms")?.as_u64()?);
        let age = now().saturating_sub(fetched);
        Some((age, v.get("data")?.clone()))
    }

    /// Keep `data` under `name`; a failure to write only means the next TAB asks again.
    pub fn write(&self, name: &str, data: &Value) {
        let _ = self.try_write(name, data);
    }

    fn try_write(&self, name: &str, data: &Value) -> std::io::Result<()> {
        let body = json!({ "fetched_ms": now().as_millis() as u64, "data": data });
        write_cache_file(&self.path(name), body.to_string().as_bytes())
    }
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_per_server_and_login_for_the_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let env: Env = [(
            "XDG_CACHE_HOME".to_string(),
            dir.path().display().to_string(),
        )]
        .into();
        let a = Cache::new(&env, "https://pve1:8006", "root@pam!cli");
        let b = Cache::new(&env, "https://pve2:8006", "root@pam!cli");
        assert!(a.read("resources").is_none());
        a.write("resources", &json!([{"vmid": 100}]));
        let (age, data) = a.read("resources").unwrap();
        assert!(age < FRESH);
        assert_eq!(data, json!([{"vmid": 100}]));
        assert!(b.read("resources").is_none());
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("pvectl")), 0o700);
        assert_eq!(mode(&a.path("resources")), 0o600);
        // Nothing of the login in the name.
        assert!(!a.path("resources").display().to_string().contains("root"));
    }
}
