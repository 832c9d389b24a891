//! Consoles: the serial terminal (`POST …/termproxy`, then `GET …/vncwebsocket` with the ticket,
//! speaking PVE's xterm.js protocol), and what a graphical viewer needs (`…/vncproxy`,
//! `…/spiceproxy`).
//!
//! The terminal protocol, client to server, all text frames: first `USER:TICKET\n`, which the
//! server answers with `OK`; then `0:LEN:DATA` (input, LEN its length in bytes), `1:COLS:ROWS:`
//! (the window size) and `2` (a keep-alive). Server to client: the terminal's bytes.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::super::de;
use super::super::websocket::WsStream;
use super::super::{ApiError, Client, Params, Secret};
use super::{GuestKind, Located};

/// What `termproxy` and `vncproxy` answer: who may connect, with which ticket, to which port.
#[derive(Debug, Clone, Deserialize)]
pub struct ProxyTicket {
    pub user: String,
    #[serde(deserialize_with = "secret")]
    pub ticket: Secret,
    #[serde(deserialize_with = "de::u32_req")]
    pub port: u32,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub upid: Option<String>,
    /// vncproxy: the password of the VNC protocol itself.
    #[serde(default, deserialize_with = "opt_secret")]
    pub password: Option<Secret>,
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    Ok(Secret::new(String::deserialize(d)?))
}

fn opt_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}

/// `POST …/termproxy`: a terminal proxy for the guest (for a VM, on its serial port `serial`,
/// e.g. `serial0`; a container's console otherwise).
pub async fn termproxy(
    client: &Client,
    g: &impl Located,
    serial: Option<&str>,
) -> Result<ProxyTicket, ApiError> {
    let params = match g.kind() {
        GuestKind::Qemu => Params::new().opt("serial", serial),
        GuestKind::Lxc => Params::new(),
    };
    client
        .post(&format!("{}/termproxy", g.path()), &params)
        .await
}

/// `POST …/vncproxy` with `websocket=1`: a VNC proxy for the guest's screen, reachable through
/// `vncwebsocket` with the ticket.
pub async fn vncproxy(client: &Client, g: &impl Located) -> Result<ProxyTicket, ApiError> {
    client
        .post(
            &format!("{}/vncproxy", g.path()),
            &Params::new().flag("websocket", true),
        )
        .await
}

/// `POST …/spiceproxy`: the settings of a `remote-viewer` connection (a `.vv` file's keys),
/// through the SPICE proxy at `proxy` (the address clients reach the node by).
pub async fn spiceproxy(
    client: &Client,
    g: &impl Located,
    proxy: Option<&str>,
) -> Result<BTreeMap<String, Value>, ApiError> {
    client
        .post(
            &format!("{}/spiceproxy", g.path()),
            &Params::new().opt("proxy", proxy),
        )
        .await
}

/// `…/vncwebsocket` and its query for a ticket: the path and parameters of the websocket.
pub fn websocket_request(g: &impl Located, t: &ProxyTicket) -> (String, Params) {
    (
        format!("{}/vncwebsocket", g.path()),
        Params::new()
            .set("port", t.port)
            .set("vncticket", t.ticket.expose()),
    )
}

/// How long the server may take to accept the ticket.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Open the terminal: the websocket, the `USER:TICKET` line, PVE's `OK`. Returns the two halves
/// and any terminal output that came with the `OK`.
pub async fn open_terminal(
    client: &Client,
    g: &impl Located,
    t: &ProxyTicket,
) -> Result<(TermWriter, TermReader, Vec<u8>), ApiError> {
    let (path, params) = websocket_request(g, t);
    let ws = client
        .websocket(&path, &params, "binary")
        .await
        .map_err(|e| match e {
            // The login worked a moment ago (termproxy): a 401 here is the ticket's.
            ApiError::Auth { message } => closed(&format!(
                "the server refused the console's ticket ({message}); a ticket is good for one connection \
                 within seconds: run the command again"
            )),
            other => other,
        })?;
    let (mut sink, mut stream) = ws.split();
    let hello = format!("{}:{}\n", t.user, t.ticket.expose());
    sink.send(Message::text(hello))
        .await
        .map_err(|e| closed(&format!("sending the ticket failed: {e}")))?;
    let mut got: Vec<u8> = vec![];
    let login = async {
        while got.len() < 2 {
            match stream.next().await {
                Some(Ok(Message::Binary(b))) => got.extend_from_slice(&b),
                Some(Ok(Message::Text(s))) => got.extend_from_slice(s.as_bytes()),
                Some(Ok(Message::Close(_))) | None => {
                    return Err(closed(
                        "the server closed the console without accepting the ticket",
                    ))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    return Err(closed(&format!(
                        "the server ended the console without accepting the ticket ({e})"
                    )))
                }
            }
        }
        Ok(())
    };
    tokio::time::timeout(LOGIN_TIMEOUT, login)
        .await
        .map_err(|_| ApiError::Unreachable {
            message: format!(
                "the console did not accept the ticket within {}s",
                LOGIN_TIMEOUT.as_secs()
            ),
        })??;
    if !got.starts_with(b"OK") {
        let shown = String::from_utf8_lossy(&got);
        return Err(closed(&format!(
            "the console refused the ticket: {}",
            shown.trim()
        )));
    }
    Ok((
        TermWriter {
            sink,
            carry: vec![],
        },
        TermReader { stream },
        got.split_off(2),
    ))
}

fn closed(message: &str) -> ApiError {
    ApiError::Refused {
        status: 0,
        message: message.to_string(),
        errors: Default::default(),
    }
}

/// The sending half of a terminal.
pub struct TermWriter {
    sink: SplitSink<WsStream, Message>,
    /// The start of a UTF-8 character whose rest has not been typed yet.
    carry: Vec<u8>,
}

impl TermWriter {
    /// Send typed bytes. Frames are text, so bytes that are no UTF-8 are sent as U+FFFD; a
    /// character split across two reads is sent whole with the second.
    pub async fn input(&mut self, bytes: &[u8]) -> Result<(), ApiError> {
        match input_frame(&mut self.carry, bytes) {
            Some(frame) => self.send(frame).await,
            None => Ok(()),
        }
    }

    /// The terminal's size changed.
    pub async fn resize(&mut self, cols: u16, rows: u16) -> Result<(), ApiError> {
        self.send(format!("1:{cols}:{rows}:")).await
    }

    /// Keep the connection alive.
    pub async fn ping(&mut self) -> Result<(), ApiError> {
        self.send("2".to_string()).await
    }

    /// Say goodbye (errors do not matter any more).
    pub async fn close(&mut self) {
        let _ = self.sink.send(Message::Close(None)).await;
        let _ = self.sink.close().await;
    }

    async fn send(&mut self, frame: String) -> Result<(), ApiError> {
        self.sink
            .send(Message::text(frame))
            .await
            .map_err(|e| ApiError::Unreachable {
                message: format!("the console connection broke: {e}"),
            })
    }
}

/// The `0:LEN:DATA` frame of typed bytes (LEN in bytes of the UTF-8 text); `carry` holds the start
/// of a character whose rest comes with the next read. `None` when there is nothing to send yet.
fn input_frame(carry: &mut Vec<u8>, bytes: &[u8]) -> Option<String> {
    let mut data = std::mem::take(carry);
    data.extend_from_slice(bytes);
    let text = match std::str::from_utf8(&data) {
        Ok(t) => t.to_string(),
        Err(e) if e.error_len().is_none() => {
            *carry = data.split_off(e.valid_up_to());
            String::from_utf8_lossy(&data).into_owned()
        }
        Err(_) => String::from_utf8_lossy(&data).into_owned(),
    };
    (!text.is_empty()).then(|| format!("0:{}:{text}", text.len()))
}

/// The receiving half of a terminal.
pub struct TermReader {
    stream: SplitStream<WsStream>,
}

impl TermReader {
    /// The next output of the terminal; `None` once the server has ended the console (PVE
    /// closes the connection without a closing handshake when the terminal program exits).
    pub async fn next(&mut self) -> Option<Result<Vec<u8>, ApiError>> {
        loop {
            return match self.stream.next().await? {
                Ok(Message::Binary(b)) => Some(Ok(b.to_vec())),
                Ok(Message::Text(s)) => Some(Ok(s.as_bytes().to_vec())),
                Ok(Message::Close(_)) => None,
                Ok(_) => continue,
                Err(
                    WsError::ConnectionClosed
                    | WsError::AlreadyClosed
                    | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
                ) => None,
                Err(e) => Some(Err(ApiError::Unreachable {
                    message: format!("the console connection broke: {e}"),
                })),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_frames_count_bytes_and_keep_characters_whole() {
        let mut carry = vec![];
        assert_eq!(
            input_frame(&mut carry, b"ls\r").as_deref(),
            Some("0:3:ls\r")
        );
        // "é" is two bytes; a read that ends after the first sends nothing of it yet.
        assert_eq!(input_frame(&mut carry, b"a\xc3").as_deref(), Some("0:1:a"));
        assert_eq!(carry, b"\xc3");
        assert_eq!(input_frame(&mut carry, b"\xa9").as_deref(), Some("0:2:é"));
        assert!(carry.is_empty());
        assert_eq!(input_frame(&mut carry, b""), None);
        // Bytes that are no UTF-8 at all become U+FFFD rather than a broken frame.
        assert_eq!(
            input_frame(&mut carry, b"\xff").as_deref(),
            Some("0:3:\u{fffd}")
        );
    }

    #[test]
    fn tickets_hide_themselves() {
        let t: ProxyTicket = serde_json::from_value(serde_json::json!({
            "user": "root@pam!cli", "ticket": "PVEVNC:ABC123", "port": "5900",
            "upid": "UPID:pve1:0:0:0:vncproxy:100:root@pam:"
        }))
        .unwrap();
        assert_eq!(t.port, 5900);
        assert!(!format!("{t:?}").contains("ABC123"));
        let (path, params) = websocket_request(
            &super::super::GuestRef {
                kind: GuestKind::Lxc,
                node: "pve1".into(),
                vmid: 101,
            },
            &t,
        );
        assert_eq!(path, "/nodes/pve1/lxc/101/vncwebsocket");
        assert_eq!(params.get("vncticket"), Some("PVEVNC:ABC123"));
        assert_eq!(params.get("port"), Some("5900"));
    }
}
