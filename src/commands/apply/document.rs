//! The TOML files of `vm|ct export`, `vm|ct edit` and `apply`: a guest per file (or several as
//! `[[guest]]` tables in one), read into `Document`s and written from what PVE holds.
//!
//! ```toml
//! type = "qemu"          # or "lxc"
//! vmid = 100             # optional for a new guest: the next free one, found again by name
//! node = "pve1"          # where a new guest is created
//! pool = "prod"          # "" = in no pool; left out = left as it is
//!
//! [config]               # the whole configuration: a key left out is removed
//! name = "web-1"
//! memory = 2048
//! tags = ["prod", "web"]
//!
//! [create]               # only for creating: ostemplate (containers), storage, start
//! [ha]                   # state, max_restart, … (left out = left as it is)
//! [firewall.options]     # enable, policy_in, … (left out = left as it is)
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::api::guest::compare::{hidden, read_only};
use crate::api::guest::config::{known_key, Config};
use crate::api::GuestKind;
use crate::error::CliError;
use crate::targets::KindWords;

/// Settings as PVE takes them: key and value as text.
pub type Settings = BTreeMap<String, String>;

/// One guest as a file describes it.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where it came from: `web-1.toml`, or `guests.toml (guest 2)`.
    pub origin: String,
    pub kind: GuestKind,
    pub vmid: Option<u32>,
    pub node: Option<String>,
    /// `Some("")`: in no pool; `None`: the file does not say.
    pub pool: Option<String>,
    /// The configuration; `None` when the file has no `[config]`.
    pub config: Option<Settings>,
    /// Read-only keys the file gives, which are not applied.
    pub ignored: Vec<String>,
    /// Options used only to create the guest.
    pub create: Settings,
    pub ha: Option<Settings>,
    pub firewall: Option<Settings>,
}

/// Options of `[create]`, per kind.
fn create_options(kind: GuestKind) -> &'static [&'static str] {
    match kind {
        GuestKind::Qemu => &["storage", "start"],
        GuestKind::Lxc => &["ostemplate", "storage", "start"],
    }
}

/// The settings of an HA resource a file may give.
const HA_KEYS: &[&str] = &[
    "state",
    "max_restart",
    "max_relocate",
    "failback",
    "comment",
    "group",
];

impl Document {
    /// The name the file gives the guest (`name` of a VM, `hostname` of a container).
    pub fn name(&self) -> Option<&str> {
        self.config
            .as_ref()?
            .get(self.kind.name_key())
            .map(String::as_str)
            .filter(|n| !n.is_empty())
    }

    /// `web-1 (100)`, `web-1` or `100`.
    pub fn label(&self) -> String {
        match (self.name(), self.vmid) {
            (Some(n), Some(id)) => format!("{n} ({id})"),
            (Some(n), None) => n.to_string(),
            (None, Some(id)) => id.to_string(),
            (None, None) => self.origin.clone(),
        }
    }
}

// -------------------------------------------------------------------------------------- reading

/// The documents of `path`: a file, every `*.toml` file of a directory (in name order), or stdin
/// for `-`.
pub fn load(path: &Path) -> Result<Vec<Document>, CliError> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
            .map_err(|e| CliError::usage(format!("cannot read the guest file from stdin: {e}")))?;
        return parse(&text, "stdin");
    }
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_dir() {
        return parse(&read(path)?, &path.display().to_string());
    }
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CliError::usage(format!(
            "{} has no .toml files (write them with `pvectl vm export … --to {}`)",
            path.display(),
            path.display()
        )));
    }
    let mut docs = vec![];
    for f in files {
        docs.extend(parse(&read(&f)?, &f.display().to_string())?);
    }
    Ok(docs)
}

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))
}

/// The documents of one file's text (`origin` names it in errors).
pub fn parse(text: &str, origin: &str) -> Result<Vec<Document>, CliError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| syntax_error(origin, text, &e))?;
    let Some(guests) = table.get("guest") else {
        return Ok(vec![document(origin, &table)?]);
    };
    if let Some(other) = table.keys().find(|k| *k != "guest") {
        return Err(CliError::usage(format!(
            "{origin}: '{other}' beside [[guest]] tables: a file is one guest, or [[guest]] tables and nothing else"
        )));
    }
    let Some(list) = guests.as_array() else {
        return Err(CliError::usage(format!(
            "{origin}: 'guest' must be [[guest]] tables"
        )));
    };
    list.iter()
        .enumerate()
        .map(|(i, g)| {
            let origin = format!("{origin} (guest {})", i + 1);
            match g.as_table() {
                Some(t) => document(&origin, t),
                None => Err(CliError::usage(format!(
                    "{origin}: 'guest' must be [[guest]] tables"
                ))),
            }
        })
        .collect()
}

/// `file:3:5: expected …` from a TOML syntax error.
fn syntax_error(origin: &str, text: &str, e: &toml::de::Error) -> CliError {
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let at = e.span().map(|s| {
        let before = &text[..s.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!(":{line}:{col}")
    });
    CliError::usage(format!(
        "{origin}{}: {message} (not valid TOML)",
        at.unwrap_or_default()
    ))
}

fn document(origin: &str, t: &toml::Table) -> Result<Document, CliError> {
    let bad = |msg: String| CliError::usage(format!("{origin}: {msg}"));
    let kind = match t.get("type").map(|v| (v, v.as_str())) {
        Some((_, Some("qemu" | "vm"))) => GuestKind::Qemu,
        Some((_, Some("lxc" | "ct"))) => GuestKind::Lxc,
        Some((v, _)) => {
            return Err(bad(format!(
                "type = {v} is no guest type: \"qemu\" (a VM) or \"lxc\" (a container)"
            )))
        }
        None => {
            return Err(bad(
                "no `type`: add type = \"qemu\" for a VM or type = \"lxc\" for a container".into(),
            ))
        }
    };
    let vmid = match t.get("vmid") {
        None => None,
        Some(v) => match v.as_integer() {
            Some(n) if (100..=999_999_999).contains(&n) => Some(n as u32),
            _ => {
                return Err(bad(format!(
                    "vmid = {v} is no VMID: a number from 100 to 999999999"
                )))
            }
        },
    };
    let string = |key: &str| -> Result<Option<String>, CliError> {
        match t.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(bad(format!("{key} = {v} must be a string"))),
        }
    };
    let node = string("node")?.filter(|n| !n.is_empty());
    let pool = string("pool")?;
    let mut ignored = vec![];
    let config = match t.get("config") {
        None => None,
        Some(toml::Value::Table(c)) => {
            let mut out = Settings::new();
            for (k, v) in c {
                if read_only(kind, k) {
                    ignored.push(k.clone());
                    continue;
                }
                if !known_key(kind, k) && !hidden(kind, k) {
                    return Err(bad(unknown_key(kind, k)));
                }
                out.insert(k.clone(), value_text(k, v).map_err(&bad)?);
            }
            Some(out)
        }
        Some(_) => return Err(bad("config must be a table: [config]".into())),
    };
    let table = |key: &str, allowed: &[&str]| -> Result<Option<Settings>, CliError> {
        match t.get(key) {
            None => Ok(None),
            Some(toml::Value::Table(c)) => {
                let mut out = Settings::new();
                for (k, v) in c {
                    if !allowed.contains(&k.as_str()) {
                        return Err(bad(format!(
                            "[{key}] has '{k}', which is none of {}",
                            allowed.join(", ")
                        )));
                    }
                    out.insert(k.clone(), value_text(k, v).map_err(&bad)?);
                }
                Ok(Some(out))
            }
            Some(_) => Err(bad(format!("{key} must be a table: [{key}]"))),
        }
    };
    let create = table("create", create_options(kind))?.unwrap_or_default();
    let ha = table("ha", HA_KEYS)?;
    let firewall = match t.get("firewall") {
        None => None,
        Some(toml::Value::Table(f)) => {
            if let Some(k) = f.keys().find(|k| *k != "options") {
                return Err(bad(format!(
                    "[firewall] has '{k}': a guest file holds only the firewall's options ([firewall.options])"
                )));
            }
            match f.get("options") {
                None => None,
                Some(toml::Value::Table(o)) => {
                    let mut out = Settings::new();
                    for (k, v) in o {
                        out.insert(k.clone(), value_text(k, v).map_err(&bad)?);
                    }
                    Some(out)
                }
                Some(_) => return Err(bad("firewall.options must be a table".into())),
            }
        }
        Some(_) => return Err(bad("firewall must be a table: [firewall.options]".into())),
    };
    const TOP: &[&str] = &[
        "type", "vmid", "node", "pool", "config", "create", "ha", "firewall",
    ];
    if let Some(k) = t.keys().find(|k| !TOP.contains(&k.as_str())) {
        let put = if known_key(kind, k) {
            " (a configuration key goes under [config])"
        } else {
            ""
        };
        return Err(bad(format!(
            "unknown key '{k}'{put}; a guest file has type, vmid, node, pool, [config], [create], [ha] and [firewall.options]"
        )));
    }
    let doc = Document {
        origin: origin.to_string(),
        kind,
        vmid,
        node,
        pool,
        config,
        ignored,
        create,
        ha,
        firewall,
    };
    if doc.vmid.is_none() && doc.name().is_none() {
        return Err(bad(format!(
            "names no guest: give its vmid, or its {} under [config]",
            kind.name_key()
        )));
    }
    Ok(doc)
}

/// A key this kind does not have: say so, and whether the other kind has it.
fn unknown_key(kind: GuestKind, key: &str) -> String {
    let other = kind.other();
    let also = if known_key(other, key) {
        format!(" (it is a {} key)", other.noun())
    } else {
        String::new()
    };
    format!(
        "[config] has '{key}', which is no configuration key of {}{also}",
        kind.a_noun()
    )
}

/// A TOML value as PVE takes it: text, booleans as `1`/`0`, a list (of tags) joined with `;`.
fn value_text(key: &str, v: &toml::Value) -> Result<String, String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => if *b { "1" } else { "0" }.to_string(),
        toml::Value::Array(items) if key == "tags" => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("tags = {v}: a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()?
            .join(";"),
        toml::Value::Array(_) => return Err(format!("{key} = {v}: one value, not a list")),
        toml::Value::Table(_) => {
            return Err(format!(
                "{key} is a table: write PVE's property string, e.g. net0 = \"virtio,bridge=vmbr0\""
            ))
        }
        toml::Value::Datetime(d) => d.to_string(),
    })
}

// -------------------------------------------------------------------------------------- writing

/// What a file is written from: the guest as PVE holds it.
pub struct Export<'a> {
    pub kind: GuestKind,
    pub vmid: u32,
    pub node: &'a str,
    /// `Some(None)`: in no pool; `None`: the pool is not written.
    pub pool: Option<Option<&'a str>>,
    pub config: &'a Config,
    /// The HA resource's settings (None: not under HA, or not written).
    pub ha: Option<&'a Map<String, Value>>,
    pub firewall: Option<&'a Map<String, Value>>,
}

impl Export<'_> {
    /// `web-1 (100)`.
    pub fn label(&self) -> String {
        match self.config.text(self.kind.name_key()) {
            Some(n) => format!("{n} ({})", self.vmid),
            None => self.vmid.to_string(),
        }
    }

    /// The file name `export --to` gives it: `100-web-1.toml`, or `100.toml` without a name.
    pub fn file_name(&self) -> String {
        match self.config.text(self.kind.name_key()) {
            Some(n) if !n.is_empty() => {
                let safe: String = n
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("{}-{safe}.toml", self.vmid)
            }
            _ => format!("{}.toml", self.vmid),
        }
    }

    /// The TOML text; `table` is the prefix of its tables (`guest.` inside `[[guest]]`).
    pub fn render(&self, table: &str) -> String {
        let mut s = String::new();
        s.push_str(&format!("type = \"{}\"\n", self.kind.as_str()));
        s.push_str(&format!("vmid = {}\n", self.vmid));
        s.push_str(&format!("node = {}\n", quote(self.node)));
        if let Some(pool) = self.pool {
            s.push_str(&format!("pool = {}\n", quote(pool.unwrap_or(""))));
        }
        s.push_str(&format!("\n[{table}config]\n"));
        let mut keys: Vec<&String> = self.config.0.keys().collect();
        keys.sort_by_key(|k| natural(k));
        for k in keys {
            if read_only(self.kind, k) {
                continue;
            }
            let Some(v) = self.config.get(k) else {
                continue;
            };
            if hidden(self.kind, k) {
                s.push_str(&format!("# {k} is set; PVE does not show it\n"));
                continue;
            }
            s.push_str(&format!("{} = {}\n", key(k), toml_value(k, v)));
        }
        if let Some(ha) = self.ha {
            s.push_str(&format!("\n[{table}ha]\n"));
            for (k, v) in ha {
                if !crate::api::ha::READ_ONLY.contains(&k.as_str()) {
                    s.push_str(&format!("{} = {}\n", key(k), toml_value(k, v)));
                }
            }
        }
        if let Some(fw) = self.firewall {
            s.push_str(&format!("\n[{table}firewall.options]\n"));
            for (k, v) in fw {
                if k != "digest" {
                    s.push_str(&format!("{} = {}\n", key(k), toml_value(k, v)));
                }
            }
        }
        s
    }
}

/// `net10` after `net9`.
fn natural(key: &str) -> (String, u64) {
    let digits = key.len() - key.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (prefix, n) = key.split_at(key.len() - digits);
    (prefix.to_string(), n.parse().unwrap_or(0))
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

/// A value PVE sent as TOML: numbers as numbers, text as strings, tags as a list.
fn toml_value(key: &str, v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Value::String(s) if key == "tags" => {
            let tags: Vec<String> = s
                .split([';', ',', ' '])
                .filter(|t| !t.is_empty())
                .map(quote)
                .collect();
            format!("[{}]", tags.join(", "))
        }
        Value::String(s) => quote(s),
        other => quote(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(v: Value) -> Config {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn written_and_read_back() {
        let cfg = config(json!({
            "name": "web-1", "memory": "2048", "cores": 2, "net10": "virtio,bridge=vmbr1",
            "net2": "virtio,bridge=vmbr0", "tags": "prod;web", "digest": "abc", "unused0": "local:x",
            "description": "two\nlines \"quoted\"", "cipassword": "**********", "cpulimit": "0.5"
        }));
        let ha = json!({"sid": "vm:100", "type": "vm", "state": "started", "max_restart": 1, "digest": "x"});
        let fw = json!({"enable": 1, "policy_in": "DROP", "digest": "y"});
        let e = Export {
            kind: GuestKind::Qemu,
            vmid: 100,
            node: "pve1",
            pool: Some(None),
            config: &cfg,
            ha: ha.as_object(),
            firewall: fw.as_object(),
        };
        assert_eq!(e.file_name(), "100-web-1.toml");
        let text = e.render("");
        assert!(
            !text.contains("digest") && !text.contains("unused0"),
            "{text}"
        );
        assert!(text.contains("# cipassword is set"), "{text}");
        assert!(
            text.find("net2").unwrap() < text.find("net10").unwrap(),
            "{text}"
        );
        assert!(text.contains("tags = [\"prod\", \"web\"]\n"), "{text}");
        assert!(
            text.contains("cores = 2\n") && text.contains("pool = \"\"\n"),
            "{text}"
        );
        let docs = parse(&text, "web.toml").unwrap();
        let d = &docs[0];
        assert_eq!(
            (d.kind, d.vmid, d.node.as_deref()),
            (GuestKind::Qemu, Some(100), Some("pve1"))
        );
        assert_eq!(d.pool.as_deref(), Some(""));
        let c = d.config.as_ref().unwrap();
        assert_eq!(c["tags"], "prod;web");
        assert_eq!(c["cores"], "2");
        assert_eq!(c["description"], "two\nlines \"quoted\"");
        assert_eq!(c["cpulimit"], "0.5");
        assert!(!c.contains_key("cipassword"));
        assert_eq!(d.ha.as_ref().unwrap()["state"], "started");
        assert_eq!(d.ha.as_ref().unwrap()["max_restart"], "1");
        assert_eq!(d.firewall.as_ref().unwrap()["policy_in"], "DROP");
        assert_eq!(d.label(), "web-1 (100)");
    }

    #[test]
    fn several_guests_in_one_file() {
        let text = "[[guest]]\ntype = \"vm\"\nvmid = 100\n[guest.config]\nmemory = 1024\nonboot = true\n\n\
                    [[guest]]\ntype = \"ct\"\n[guest.config]\nhostname = \"dns\"\n[guest.create]\nostemplate = \"local:vztmpl/x.tar.zst\"\n";
        let docs = parse(text, "all.toml").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].config.as_ref().unwrap()["onboot"], "1");
        assert_eq!(docs[1].kind, GuestKind::Lxc);
        assert_eq!(docs[1].label(), "dns");
        assert_eq!(docs[1].origin, "all.toml (guest 2)");
        assert_eq!(docs[1].create["ostemplate"], "local:vztmpl/x.tar.zst");
    }

    #[test]
    fn mistakes_are_named_with_the_file() {
        let err = |text: &str| parse(text, "f.toml").unwrap_err().message;
        assert_eq!(
            err("type = \"qemu\"\nvmid = 100\n[config]\nmemroy = 1\n"),
            "f.toml: [config] has 'memroy', which is no configuration key of a VM"
        );
        assert!(
            err("type = \"qemu\"\nvmid = 100\n[config]\nhostname = \"x\"\n")
                .contains("(it is a container key)")
        );
        assert!(err("vmid = 100\n").contains("no `type`"));
        assert!(err("type = \"kvm\"\nvmid = 100\n").contains("no guest type"));
        assert!(err("type = \"qemu\"\nvmid = 99\n").contains("no VMID"));
        assert!(err("type = \"qemu\"\n[config]\nmemory = 1\n").contains("names no guest"));
        assert!(err("type = \"qemu\"\nvmid = 100\nmemory = 1\n")
            .contains("a configuration key goes under [config]"));
        assert!(
            err("type = \"qemu\"\nvmid = 100\n[create]\nostemplate = \"x\"\n")
                .contains("[create] has 'ostemplate'")
        );
        assert!(err("type = \"qemu\"\nvmid = 100\n[firewall.rules]\n")
            .contains("[firewall] has 'rules'"));
        assert_eq!(
            err("type = \"qemu\"\nvmid = \n"),
            "f.toml:2:8: string values must be quoted, expected literal string (not valid TOML)"
        );
        let docs = parse("type = \"lxc\"\nvmid = 200\n[config]\ndigest = \"x\"\nlock = \"backup\"\nmemory = 512\n", "f").unwrap();
        assert_eq!(docs[0].ignored, vec!["digest", "lock"]);
    }
}
