//! The QEMU guest agent through PVE (`/nodes/{node}/qemu/{vmid}/agent/…`): the guest's network
//! interfaces, running a command (`exec`, then `exec-status`), reading and writing files; PVE's
//! size limits; and the words PVE uses when the agent cannot be asked.
//!
//! PVE passes bytes from and to the agent as Perl byte strings, which its JSON encoder writes as
//! one character per byte (U+0000…U+00FF) and its form decoder reads back the same way. So the
//! guest's output arrives as such characters (`pve_bytes` turns them back into the bytes), and
//! the command's input is sent as such characters (`latin1`): both are exact for any bytes.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::super::de;
use super::super::{ApiError, Client, Params};
use super::network::Interface;
use super::Located;

/// `input-data` of `agent/exec`: at most 64 KiB.
pub const EXEC_INPUT_MAX: usize = 64 * 1024;
/// `agent/file-read` reads at most 16 MiB per request (its `count`).
pub const FILE_READ_MAX: u64 = 16 * 1024 * 1024;
/// `agent/file-write` takes at most 60 KiB of `content`; sent base64-encoded (binary-safe), that is
/// 45 KiB of file.
pub const FILE_WRITE_CONTENT_MAX: usize = 60 * 1024;
pub const FILE_WRITE_MAX: usize = FILE_WRITE_CONTENT_MAX / 4 * 3;

/// Why PVE could not ask the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The configuration has no `agent` key ("No QEMU guest agent configured").
    NotConfigured,
    /// The VM is not running ("VM 100 is not running").
    GuestStopped,
    /// The agent does not answer: not installed or not started in the guest, or hanging.
    NotRunning,
}

/// What PVE's refusal of an agent request means, if it is one of the agent's own.
pub fn unavailable(e: &ApiError) -> Option<Unavailable> {
    let ApiError::Refused { message, .. } = e else {
        return None;
    };
    let m = message.as_str();
    if m.contains("No QEMU guest agent configured") {
        Some(Unavailable::NotConfigured)
    } else if m.contains("guest agent is not running")
        // The agent took the command and never answered (qemu-server's qmp timeout).
        || (m.contains("qmp command 'guest-") && m.contains("got timeout"))
    {
        Some(Unavailable::NotRunning)
    } else if m.starts_with("VM ")
        && (m.ends_with(" is not running") || m.ends_with(" not running"))
    {
        Some(Unavailable::GuestStopped)
    } else {
        None
    }
}

/// The agent could not open a file that is not there (qemu-ga's "No such file or directory").
pub fn no_such_file(e: &ApiError) -> bool {
    matches!(e, ApiError::Refused { message, .. } if message.contains("No such file or directory"))
}

/// Whether a configuration's `agent` value turns the agent on (`1`, `enabled=1,…`).
pub fn enabled_in_config(value: &str) -> bool {
    let first = value.split(',').next().unwrap_or("").trim();
    let v = first.strip_prefix("enabled=").unwrap_or(first);
    matches!(v, "1" | "on" | "yes" | "true")
}

fn agent_path(g: &impl Located, command: &str) -> String {
    format!("{}/agent/{command}", g.path())
}

/// `GET …/agent/network-get-interfaces`: the guest's interfaces as the agent sees them.
pub async fn network_interfaces(
    client: &Client,
    g: &impl Located,
) -> Result<Vec<Interface>, ApiError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        result: Option<Vec<Interface>>,
    }
    let a: Answer = client
        .get(&agent_path(g, "network-get-interfaces"), &Params::new())
        .await?;
    Ok(a.result.unwrap_or_default())
}

/// Bytes as PVE reads them from a form or JSON string: one character per byte.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Bytes PVE wrote as one character per byte, back as bytes. A string with a character beyond
/// U+00FF was not written that way (a PVE that decodes the output as text): its UTF-8.
pub fn pve_bytes(text: &str) -> Vec<u8> {
    if text.chars().all(|c| (c as u32) <= 0xFF) {
        text.chars().map(|c| c as u8).collect()
    } else {
        text.as_bytes().to_vec()
    }
}

/// `POST …/agent/exec`: start `argv` (program and arguments, passed as they are: no shell) with
/// `input` on its stdin; the PID in the guest. The body is JSON so `command` is an array however
/// short.
pub async fn exec(
    client: &Client,
    g: &impl Located,
    argv: &[String],
    input: Option<&[u8]>,
) -> Result<u64, ApiError> {
    if let Some(data) = input {
        if data.len() > EXEC_INPUT_MAX {
            return Err(ApiError::Invalid(format!(
                "the input is {} bytes; PVE passes at most {EXEC_INPUT_MAX} bytes to a command",
                data.len()
            )));
        }
    }
    let mut body = json!({ "command": argv });
    if let Some(data) = input.filter(|d| !d.is_empty()) {
        body["input-data"] = Value::String(latin1(data));
    }
    #[derive(Deserialize)]
    struct Answer {
        #[serde(deserialize_with = "de::opt_u64", default)]
        pid: Option<u64>,
    }
    let path = agent_path(g, "exec");
    let a: Answer = client.post(&path, &Params::json(body)).await?;
    a.pid.ok_or_else(|| ApiError::Decode {
        context: path,
        detail: "no pid in the answer".into(),
    })
}

/// `GET …/agent/exec-status?pid=`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExecStatus {
    #[serde(default, deserialize_with = "de::flag")]
    pub exited: bool,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub exitcode: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub signal: Option<i64>,
    #[serde(rename = "out-data", default, deserialize_with = "de::opt_string")]
    pub out_data: Option<String>,
    #[serde(rename = "err-data", default, deserialize_with = "de::opt_string")]
    pub err_data: Option<String>,
    #[serde(rename = "out-truncated", default, deserialize_with = "de::flag")]
    pub out_truncated: bool,
    #[serde(rename = "err-truncated", default, deserialize_with = "de::flag")]
    pub err_truncated: bool,
}

impl ExecStatus {
    /// What the command wrote to stdout, as bytes.
    pub fn stdout(&self) -> Vec<u8> {
        self.out_data.as_deref().map(pve_bytes).unwrap_or_default()
    }

    /// What the command wrote to stderr, as bytes.
    pub fn stderr(&self) -> Vec<u8> {
        self.err_data.as_deref().map(pve_bytes).unwrap_or_default()
    }
}

pub async fn exec_status(
    client: &Client,
    g: &impl Located,
    pid: u64,
) -> Result<ExecStatus, ApiError> {
    client
        .get(
            &agent_path(g, "exec-status"),
            &Params::new().set("pid", pid),
        )
        .await
}

/// A piece of a file read through the agent.
#[derive(Debug, Clone, Default)]
pub struct FileChunk {
    pub data: Vec<u8>,
    /// PVE stopped before the end of the file (at `count`).
    pub truncated: bool,
}

/// `GET …/agent/file-read`: up to `FILE_READ_MAX` bytes of `file` from `offset` on, base64
/// transported (`decode=0`) so any bytes survive.
pub async fn file_read(
    client: &Client,
    g: &impl Located,
    file: &str,
    offset: u64,
) -> Result<FileChunk, ApiError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default, deserialize_with = "de::opt_string")]
        content: Option<String>,
        #[serde(default, deserialize_with = "de::flag")]
        truncated: bool,
    }
    let path = agent_path(g, "file-read");
    let mut params = Params::new()
        .set("file", file)
        .set("count", FILE_READ_MAX)
        .flag("decode", false);
    // Only PVE 9 knows `offset`: sent only to read past the first piece.
    if offset > 0 {
        params.push("offset", offset);
    }
    let a: Answer = client.get(&path, &params).await?;
    let data =
        decode_pieces(a.content.as_deref().unwrap_or("")).map_err(|detail| ApiError::Decode {
            context: path,
            detail,
        })?;
    Ok(FileChunk {
        data,
        truncated: a.truncated,
    })
}

/// `POST …/agent/file-write`: `data` as the whole new content of `file`, base64-encoded by us
/// (`encode=0`); at most `FILE_WRITE_MAX` bytes.
pub async fn file_write(
    client: &Client,
    g: &impl Located,
    file: &str,
    data: &[u8],
) -> Result<(), ApiError> {
    if data.len() > FILE_WRITE_MAX {
        return Err(ApiError::Invalid(format!(
            "{} bytes is more than PVE's guest agent writes at once ({FILE_WRITE_MAX} bytes)",
            data.len()
        )));
    }
    let content = base64::engine::general_purpose::STANDARD.encode(data);
    let params = Params::new()
        .set("file", file)
        .set("content", content)
        .flag("encode", false);
    let _: Value = client.post(&agent_path(g, "file-write"), &params).await?;
    Ok(())
}

/// PVE reads a file in 1 MiB pieces and, with `decode=0`, joins their base64 texts as they are,
/// padding included: decode each padded piece on its own.
fn decode_pieces(text: &str) -> Result<Vec<u8>, String> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if clean.len() % 4 != 0 {
        return Err(format!(
            "the file's base64 content has {} characters, not a multiple of 4",
            clean.len()
        ));
    }
    let engine = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    let mut start = 0;
    for (i, group) in clean.chunks(4).enumerate() {
        let end = (i + 1) * 4;
        if group.contains(&b'=') || end == clean.len() {
            engine
                .decode_vec(&clean[start..end], &mut out)
                .map_err(|e| format!("the file's base64 content does not decode: {e}"))?;
            start = end;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(message: &str) -> ApiError {
        ApiError::Refused {
            status: 500,
            message: message.into(),
            errors: Default::default(),
        }
    }

    #[test]
    fn pve_says_why_the_agent_cannot_be_asked() {
        assert_eq!(
            unavailable(&refused("No QEMU guest agent configured")),
            Some(Unavailable::NotConfigured)
        );
        assert_eq!(
            unavailable(&refused("VM 100 is not running")),
            Some(Unavailable::GuestStopped)
        );
        assert_eq!(
            unavailable(&refused("QEMU guest agent is not running")),
            Some(Unavailable::NotRunning)
        );
        assert_eq!(
            unavailable(&refused(
                "VM 100 qmp command 'guest-network-get-interfaces' failed - got timeout"
            )),
            Some(Unavailable::NotRunning)
        );
        assert_eq!(unavailable(&refused("VM is locked (backup)")), None);
    }

    #[test]
    fn agent_values_in_the_configuration() {
        for on in [
            "1",
            "enabled=1",
            "1,fstrim_cloned_disks=1",
            "enabled=1,type=virtio",
        ] {
            assert!(enabled_in_config(on), "{on}");
        }
        for off in ["0", "enabled=0", "0,type=isa", ""] {
            assert!(!enabled_in_config(off), "{off}");
        }
    }

    #[test]
    fn bytes_travel_as_one_character_each() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(pve_bytes(&latin1(&bytes)), bytes);
        // UTF-8 output, as PVE sends it: each byte one character.
        assert_eq!(pve_bytes("GrÃ¼Ã\u{9f}e\n"), "Grüße\n".as_bytes());
        // Text PVE did decode (a character beyond U+00FF) stays text.
        assert_eq!(pve_bytes("€ 5"), "€ 5".as_bytes());
    }

    #[test]
    fn pieces_of_base64_are_joined_with_their_padding() {
        let engine = base64::engine::general_purpose::STANDARD;
        let a = b"hello w".to_vec();
        let b = b"orld\x00\xff".to_vec();
        let joined = format!("{}{}", engine.encode(&a), engine.encode(&b));
        assert!(joined[..12].contains('='), "{joined}");
        assert_eq!(decode_pieces(&joined).unwrap(), [a, b].concat());
        assert_eq!(decode_pieces("").unwrap(), Vec::<u8>::new());
        assert!(decode_pieces("abc").is_err());
    }

    #[test]
    fn the_write_limit_is_what_fits_in_60_kib_of_base64() {
        assert_eq!(FILE_WRITE_MAX, 46080);
        let engine = base64::engine::general_purpose::STANDARD;
        assert_eq!(
            engine.encode(vec![0u8; FILE_WRITE_MAX]).len(),
            FILE_WRITE_CONTENT_MAX
        );
    }
}
