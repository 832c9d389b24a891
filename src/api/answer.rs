//! PVE's answers: the `{"data": …}` envelope, its status codes and messages mapped to `ApiError`
//! (PVE has no 404: "does not exist" comes as a 500), and transport failures described in words.

use serde::de::DeserializeOwned;
use serde_json::Value;

use reqwest::StatusCode;

use super::error::ApiError;

/// What a raw request returned: the `data` member and the optional `total`.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub data: Value,
    pub total: Option<u64>,
}

pub(super) fn decode_err(context: &str, detail: &str) -> ApiError {
    ApiError::Decode {
        context: context.to_string(),
        detail: detail.to_string(),
    }
}

pub(super) fn decode<T: DeserializeOwned>(path: &str, data: Value) -> Result<T, ApiError> {
    serde_json::from_value(data).map_err(|e| decode_err(path, &e.to_string()))
}

/// The status line's reason phrase: PVE puts its error message there (an empty body is common).
/// reqwest keeps the phrase only where it differs from the standard one, in an extension of the
/// HTTP layer's own type; its status error carries it in its text, `(500 the phrase)`, escaped
/// as Rust byte strings are (`\n`, `\"`, `\xNN`), so it is read back from there.
pub(super) fn reason_phrase(response: &reqwest::Response) -> String {
    let status = response.status();
    let carried = match response.error_for_status_ref() {
        Err(e) => phrase_in_status_error(&e.without_url().to_string(), status.as_str()),
        // Below 400 reqwest keeps no error; PVE's phrases that matter come with errors.
        Ok(_) => None,
    };
    carried
        .or_else(|| status.canonical_reason().map(str::to_string))
        .unwrap_or_default()
}

/// `HTTP status server error (500 phrase)` → `phrase`, unescaped; `None` without a phrase.
fn phrase_in_status_error(text: &str, code: &str) -> Option<String> {
    let start = text.find(&format!("({code} "))? + code.len() + 2;
    let escaped = text.get(start..)?.strip_suffix(')')?;
    let mut bytes = Vec::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next()? {
            'n' => bytes.push(b'\n'),
            'r' => bytes.push(b'\r'),
            't' => bytes.push(b'\t'),
            '0' => bytes.push(0),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                bytes.push(u8::from_str_radix(&hex, 16).ok()?);
            }
            other => {
                let mut buf = [0; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

pub(super) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}

/// The most specific part of an error chain (the innermost cause; rustls ends some of its
/// messages with a link to its manual, which is no reason).
pub(super) fn tls_reason(chain: &str) -> String {
    chain
        .rsplit(": ")
        .find(|part| !part.starts_with("http://") && !part.starts_with("https://"))
        .unwrap_or(chain)
        .to_string()
}

/// Whether rustls refused the handshake (an untrusted or unpinned certificate, no common protocol),
/// as opposed to a connection that closed during it. rustls' error travels inside (nested)
/// `io::Error`s, whose `source()` skips the error they wrap, so step into those.
pub(super) fn rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        cause = match c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    None
}

/// What a TLS failure means, in words (rustls names its reasons as enum variants).
pub(super) fn tls_words(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                "it is signed by an authority the system does not trust (PVE's own \
                                 self-signed CA, unless its certificate was replaced)"
                    .into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "it is not issued for this host name".into()
            }
            C::Expired | C::ExpiredContext { .. } => "it has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet".into(),
            C::Revoked => "it has been revoked".into(),
            C::BadSignature => "its signature is invalid".into(),
            C::BadEncoding => "it cannot be decoded".into(),
            C::UnhandledCriticalExtension => {
                "it has a critical extension this client cannot check".into()
            }
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                "it is not meant for a TLS server".into()
            }
            other => format!("{other:?}"),
        },
        rustls::Error::General(text) => text.clone(),
        other => other.to_string(),
    }
}

/// rustls read something that is no TLS record: the port speaks plain HTTP (or something else).
pub(super) fn not_tls(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }
    )
}

/// A successful answer's envelope: `data` and the optional `total`.
pub(crate) fn envelope(body: &[u8], path: &str) -> Result<Envelope, ApiError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let Some(Value::Object(mut obj)) = parsed else {
        let snippet: String = String::from_utf8_lossy(body).chars().take(80).collect();
        return Err(decode_err(
            path,
            &format!("expected PVE's JSON envelope, got {:?}", snippet.trim()),
        ));
    };
    let total = obj
        .get("total")
        .and_then(|t| t.as_u64().or_else(|| t.as_str()?.parse().ok()));
    Ok(Envelope {
        data: obj.remove("data").unwrap_or(Value::Null),
        total,
    })
}

/// A successful answer's `data`, decoded straight into `T` (the common case: no intermediate JSON
/// tree); on any trouble the slow path says what was wrong.
pub(crate) fn data<T: DeserializeOwned>(body: &[u8], path: &str) -> Result<T, ApiError> {
    #[derive(serde::Deserialize)]
    struct Data<T> {
        data: Option<T>,
    }
    match serde_json::from_slice::<Data<T>>(body) {
        Ok(Data { data: Some(d) }) => Ok(d),
        _ => decode(path, envelope(body, path)?.data),
    }
}

/// Turn an HTTP answer into the `data` envelope or an error of the right kind.
pub(crate) fn interpret(
    status: StatusCode,
    reason: String,
    body: &[u8],
    path: &str,
) -> Result<Envelope, ApiError> {
    if status.is_success() {
        envelope(body, path)
    } else {
        Err(failed(status, reason, body, path))
    }
}

/// An answer that is not a success, as the error of the right kind.
pub(crate) fn failed(status: StatusCode, reason: String, body: &[u8], path: &str) -> ApiError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(|m| m.trim_end().to_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| reason.trim().to_string());
    let errors: std::collections::BTreeMap<String, String> = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    (k.clone(), text.trim_end().to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let code = status.as_u16();
    match code {
        401 => ApiError::Auth {
            message: if message.is_empty() {
                "401 Unauthorized".into()
            } else {
                message
            },
        },
        403 => ApiError::Forbidden {
            message,
            refusal: None,
        },
        595..=599 => ApiError::Unreachable {
            message: format!("a node behind the server cannot be reached (HTTP {code}): {message}"),
        },
        404 => ApiError::NotFound {
            message: format!("no such API path: {path}"),
        },
        501 if message.contains("not implemented") => ApiError::NotFound {
            message: format!("no such API path: {message}"),
        },
        _ if is_not_found(&message, &errors) => {
            let text = ApiError::Refused {
                status: code,
                message: message.clone(),
                errors: errors.clone(),
            }
            .to_string();
            ApiError::NotFound { message: text }
        }
        _ => ApiError::Refused {
            status: code,
            message,
            errors,
        },
    }
}

/// PVE has no 404: "does not exist" comes as 500, "no such task" as a 400 field error.
fn is_not_found(message: &str, errors: &std::collections::BTreeMap<String, String>) -> bool {
    let hit = |m: &str| {
        let m = m.to_ascii_lowercase();
        m.contains("does not exist")
            || m.starts_with("no such")
            || m.contains("unable to find configuration file")
            || m.contains("unable to find vm")
            || m.contains("volume does not exist")
            // The UPID was checked locally before sending, so this means the task is unknown.
            || m.starts_with("unable to parse worker upid")
            // pveproxy cannot resolve a node name that is not in the cluster.
            || (m.starts_with("hostname lookup") && m.contains("failed"))
    };
    hit(message) || errors.values().any(|v| hit(v))
}

#[cfg(test)]
mod tests {
    use super::phrase_in_status_error;

    #[test]
    fn the_reason_phrase_is_read_back_from_the_status_error() {
        let text = r#"HTTP status server error (500 can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout)"#;
        assert_eq!(
            phrase_in_status_error(text, "500").as_deref(),
            Some("can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout")
        );
        // Escapes as reqwest writes them, and a phrase that has parentheses of its own.
        let text = r#"HTTP status client error (401 say \"no\" (twice)\t\xc3\xa9)"#;
        assert_eq!(
            phrase_in_status_error(text, "401").as_deref(),
            Some("say \"no\" (twice)\té")
        );
        assert_eq!(
            phrase_in_status_error("HTTP status server error (500)", "500"),
            None
        );
    }
}
