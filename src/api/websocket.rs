//! Websockets to the API (the consoles' `…/vncwebsocket`): a TCP connection and TLS handshake of
//! our own, trusted exactly as the client's requests are (the same rustls configuration, so a
//! pinned fingerprint holds here too), authenticated with the same token header or ticket cookie.

use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::WebSocketStream;

use super::answer::{interpret, rustls_error, tls_words};
use super::client::Client;
use super::error::ApiError;
use super::limiter::Priority;
use super::params::Params;

/// An open websocket to the server.
pub type WsStream = WebSocketStream<TlsStream<TcpStream>>;

impl Client {
    /// Open the websocket at `path` (relative to `/api2/json`, already percent-encoded) with the
    /// query `params`, asking for the subprotocol `protocol` (PVE's consoles speak `binary`).
    pub async fn websocket(
        &self,
        path: &str,
        params: &Params,
        protocol: &str,
    ) -> Result<WsStream, ApiError> {
        let mut url = url::Url::parse(&format!("{}{}", self.api, path))
            .map_err(|e| ApiError::Invalid(format!("API path '{path}': {e}")))?;
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params.pairs());
        }
        let host = url
            .host_str()
            .ok_or_else(|| ApiError::Invalid(format!("no host in {}", self.api)))?
            .to_string();
        let port = url.port_or_known_default().unwrap_or(8006);
        let headers = self.auth_headers(&Method::GET).await?;
        self.limiter.acquire(Priority::Normal).await;
        let started = Instant::now();
        let result = self
            .open_websocket(&url, &host, port, headers, protocol, path)
            .await;
        let status = match &result {
            Ok(_) => "101".to_string(),
            Err(e) => e
                .status()
                .map_or_else(|| "error".to_string(), |s| s.to_string()),
        };
        self.trace_line(&Method::GET, path, params, &status, started, 1);
        result
    }

    async fn open_websocket(
        &self,
        url: &url::Url,
        host: &str,
        port: u16,
        headers: reqwest::header::HeaderMap,
        protocol: &str,
        path: &str,
    ) -> Result<WsStream, ApiError> {
        let unreachable = |why: String| ApiError::Unreachable {
            message: format!("cannot reach the server https://{host}:{port}: {why}"),
        };
        let tcp = tokio::time::timeout(
            self.direct.connect_timeout,
            TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port)),
        )
        .await
        .map_err(|_| ApiError::Unreachable {
            message: format!(
                "timed out connecting ({}s): https://{host}:{port}",
                self.direct.connect_timeout.as_secs()
            ),
        })?
        .map_err(|e| unreachable(e.to_string()))?;
        let config = Arc::new(self.rustls_config()?);
        let name = ServerName::try_from(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        )
        .map_err(|e| ApiError::Invalid(format!("'{host}' is no server name: {e}")))?;
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| {
                if let Some(tls) = rustls_error(&e) {
                    ApiError::Tls {
                        message: format!(
                            "cannot trust the server's TLS certificate: {}",
                            tls_words(tls)
                        ),
                        presented_fingerprint: self.presented_fingerprint(),
                    }
                } else {
                    unreachable(e.to_string())
                }
            })?;
        let mut request = url
            .as_str()
            .replace("https://", "wss://")
            .into_client_request()
            .map_err(|e| ApiError::Invalid(format!("websocket request for {path}: {e}")))?;
        for (name, value) in headers.iter() {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let proto = HeaderValue::from_str(protocol)
            .map_err(|_| ApiError::Invalid(format!("websocket protocol '{protocol}'")))?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", proto);
        match tokio_tungstenite::client_async(request, tls).await {
            Ok((ws, _)) => Ok(ws),
            // The upgrade was answered with an ordinary HTTP error: PVE's own, in its words.
            Err(WsError::Http(response)) => {
                let status = response.status();
                let reason = status.canonical_reason().unwrap_or("").to_string();
                let body = response.body().clone().unwrap_or_default();
                let status = reqwest::StatusCode::from_u16(status.as_u16())
                    .unwrap_or(reqwest::StatusCode::BAD_GATEWAY);
                Err(interpret(status, reason, &body, path)
                    .err()
                    .unwrap_or_else(|| ApiError::Refused {
                        status: status.as_u16(),
                        message: "the server did not switch to a websocket".into(),
                        errors: Default::default(),
                    }))
            }
            Err(e) => Err(unreachable(format!("websocket handshake failed: {e}"))),
        }
    }
}
