//! The HTTP transport: one reqwest client per process (keep-alive, one TLS handshake), retries of
//! what may be retried, the request budget and `--verbose`-style traces. `login` adds the
//! credentials, `answer` reads PVE's answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::answer::{
    data, envelope, error_chain, failed, not_tls, reason_phrase, rustls_error, tls_reason,
    tls_words, Envelope,
};
use super::auth::{Auth, Ticket};
use super::error::ApiError;
use super::limiter::{Priority, RateLimiter};
use super::params::{is_secret_key, Params};
use super::tls::{self, PresentedCert, TlsMode};

/// Receives one line per request (method, path, status, milliseconds, attempt).
pub type Trace = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// `https://host:port`, without the `/api2/json` suffix.
    pub base_url: String,
    pub auth: Auth,
    pub tls: TlsMode,
    pub ca_file: Option<std::path::PathBuf>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Requests per second (0 = unlimited).
    pub rate: u32,
    /// Attempts for a retryable request (at least 1).
    pub attempts: u32,
    pub user_agent: String,
    /// On a refusal (403), find out why (see `refusal`): a few reads more, only then.
    pub explain_refusals: bool,
}

impl ClientOptions {
    pub fn new(base_url: impl Into<String>, auth: Auth) -> Self {
        ClientOptions {
            base_url: base_url.into(),
            auth,
            tls: TlsMode::Verify,
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            rate: 10,
            attempts: 3,
            user_agent: concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")).into(),
            explain_refusals: true,
        }
    }
}

pub struct Client {
    pub(super) http: reqwest::Client,
    pub(super) api: String,
    pub(super) auth: Auth,
    pub(super) ticket: Mutex<Option<Ticket>>,
    presented: PresentedCert,
    pub(super) limiter: RateLimiter,
    attempts: u32,
    trace: Option<Trace>,
    timeout: Duration,
    connect_timeout: Duration,
    /// `https://host:port`, for messages.
    base: String,
    /// Whether the server has answered anything yet (a failure after that is a lost connection,
    /// not a wrong host or port).
    answered: AtomicBool,
    /// What a connection outside reqwest (the console's websocket) needs to be made alike.
    pub(super) direct: DirectConnect,
    /// Whether a refusal is looked into (`ClientOptions::explain_refusals`).
    pub(super) explain_refusals: bool,
    /// Where the guests' nodes are kept between runs (see `targets::hints`), if anywhere.
    hints: Option<std::path::PathBuf>,
}

/// How to open a connection of our own to the server: the same trust and connect timeout.
pub(super) struct DirectConnect {
    pub(super) tls: TlsMode,
    pub(super) ca_file: Option<std::path::PathBuf>,
    pub(super) connect_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.api)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Self, ApiError> {
        let presented = PresentedCert::default();
        let tls = tls::client_config(&opts.tls, opts.ca_file.as_deref(), presented.clone())?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(opts.user_agent.as_str())
            .build()
            .map_err(|e| ApiError::Setup(format!("cannot build the HTTP client: {e}")))?;
        let base = opts.base_url.trim_end_matches('/').to_string();
        Ok(Client {
            http,
            api: format!("{base}/api2/json"),
            auth: opts.auth,
            ticket: Mutex::new(None),
            presented,
            limiter: RateLimiter::new(opts.rate),
            attempts: opts.attempts.max(1),
            trace: None,
            timeout: opts.request_timeout,
            connect_timeout: opts.connect_timeout,
            base,
            answered: AtomicBool::new(false),
            direct: DirectConnect {
                tls: opts.tls,
                ca_file: opts.ca_file,
                connect_timeout: opts.connect_timeout,
            },
            explain_refusals: opts.explain_refusals,
            hints: None,
        })
    }

    pub fn with_trace(mut self, trace: Trace) -> Self {
        self.trace = Some(trace);
        self
    }

    /// Keep where the cluster's guests were seen in this file (one per server and login).
    pub fn with_hints(mut self, file: std::path::PathBuf) -> Self {
        self.hints = Some(file);
        self
    }

    /// The file that says where the cluster's guests were last seen, for this server and login.
    pub fn hints(&self) -> Option<&std::path::Path> {
        self.hints.as_deref()
    }

    /// The fingerprint of the certificate the server presented in the last handshake.
    pub fn presented_fingerprint(&self) -> Option<String> {
        self.presented.get()
    }

    /// The rustls configuration of this client (pinned fingerprint, CA file…), for connections
    /// made outside reqwest; it records the presented certificate like the client's own.
    pub(super) fn rustls_config(&self) -> Result<rustls::ClientConfig, ApiError> {
        tls::client_config(
            &self.direct.tls,
            self.direct.ca_file.as_deref(),
            self.presented.clone(),
        )
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        self.typed(Method::GET, path, params, Priority::Normal)
            .await
    }

    /// A GET that only asks how a task is doing: it yields the request budget to actions.
    pub async fn get_polling<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        self.typed(Method::GET, path, params, Priority::Poll).await
    }

    /// `get_polling`, and when the request that answered went out (the answer shows the server's
    /// state from then on).
    pub async fn get_polling_sent<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<(T, Instant), ApiError> {
        let (body, sent) = self
            .send_at(Method::GET, path, params, Priority::Poll)
            .await?;
        Ok((data(&body, path)?, sent))
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        self.typed(Method::POST, path, params, Priority::Normal)
            .await
    }

    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        self.typed(Method::PUT, path, params, Priority::Normal)
            .await
    }

    pub async fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        self.typed(Method::DELETE, path, params, Priority::Normal)
            .await
    }

    /// A call whose `data` is decoded straight into `T` (no intermediate JSON tree).
    async fn typed<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        priority: Priority,
    ) -> Result<T, ApiError> {
        let body = self.send(method, path, params, priority).await?;
        data(&body, path)
    }

    /// One API call with retries: `path` is relative to `/api2/json` and already percent-encoded.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        params: &Params,
    ) -> Result<Envelope, ApiError> {
        let body = self.send(method, path, params, Priority::Normal).await?;
        envelope(&body, path)
    }

    /// A log page or another paged answer of a task, with the budget of a poll.
    pub async fn call_polling(&self, path: &str, params: &Params) -> Result<Envelope, ApiError> {
        let body = self.send(Method::GET, path, params, Priority::Poll).await?;
        envelope(&body, path)
    }

    /// Send with retries; the body of a successful answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        priority: Priority,
    ) -> Result<Bytes, ApiError> {
        Ok(self.send_at(method, path, params, priority).await?.0)
    }

    /// `send`, and when the request that answered went out; a refusal (403) says why.
    async fn send_at(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        priority: Priority,
    ) -> Result<(Bytes, Instant), ApiError> {
        match self.exchange(method.clone(), path, params, priority).await {
            Err(e @ ApiError::Forbidden { .. }) => {
                Err(self.explain(e, method.as_str(), path, params).await)
            }
            other => other,
        }
    }

    /// A GET asked once, within `limit` (at most the request timeout), its refusal not looked
    /// into: a question whose failure only means asking another way. `Err(Some(_))` when it could
    /// not be sent at all (no connection, TLS, a login refused), where another way would fail
    /// alike; `Err(None)` for any other failure (an error answer, no answer in time).
    pub async fn get_once<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
        limit: Duration,
    ) -> Result<T, Option<ApiError>> {
        let started = Instant::now();
        let asked = self.attempt(&Method::GET, path, params, 1, Priority::Normal);
        match tokio::time::timeout(limit.min(self.timeout), asked).await {
            Ok(Ok((body, _))) => data(&body, path).map_err(|_| None),
            Ok(Err(Failure {
                error, sent: false, ..
            })) => Err(Some(error)),
            Ok(Err(_)) => Err(None),
            Err(_) => {
                self.trace_line(&Method::GET, path, params, "timeout", started, 1);
                Err(None)
            }
        }
    }

    /// A GET whose refusal is not looked into (what `explain` itself reads).
    pub(super) async fn get_plain<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        let (body, _) = self
            .exchange(Method::GET, path, params, Priority::Normal)
            .await?;
        data(&body, path)
    }

    /// One request with its retries.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        priority: Priority,
    ) -> Result<(Bytes, Instant), ApiError> {
        if !path.starts_with('/') {
            return Err(ApiError::Invalid(format!(
                "API path '{path}' must start with '/'"
            )));
        }
        let mut attempt = 1;
        let mut relogged = false;
        let started = Instant::now();
        loop {
            let result = self.attempt(&method, path, params, attempt, priority).await;
            match result {
                Ok(answer) => return Ok(answer),
                Err(Failure {
                    error,
                    sent,
                    status,
                }) => {
                    // A stale or revoked ticket: log in again once.
                    if matches!(error, ApiError::Auth { .. })
                        && matches!(self.auth, Auth::Password { .. })
                        && !relogged
                        && self.ticket.lock().await.is_some()
                    {
                        *self.ticket.lock().await = None;
                        relogged = true;
                        continue;
                    }
                    if attempt >= self.attempts || !retryable(&method, &error, sent, status) {
                        // A proxy that could not reach the node at all (595) carried nothing out.
                        let sent = sent && status != Some(595);
                        return Err(self.settled(error, &method, path, sent, attempt, started));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    /// The error a caller gets: a write that may have reached PVE says so (its outcome is
    /// unknown), and a failure after retries says how many attempts over how long.
    fn settled(
        &self,
        error: ApiError,
        method: &Method,
        path: &str,
        sent: bool,
        attempts: u32,
        started: Instant,
    ) -> ApiError {
        let ApiError::Unreachable { message } = error else {
            return error;
        };
        if sent && *method != Method::GET {
            return ApiError::OutcomeUnknown {
                message: format!("no answer to {method} {path}: {message}"),
            };
        }
        let message = if attempts > 1 {
            format!(
                "{message} ({attempts} attempts in {:.1}s)",
                started.elapsed().as_secs_f64()
            )
        } else {
            message
        };
        ApiError::Unreachable { message }
    }

    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        params: &Params,
        attempt: u32,
        priority: Priority,
    ) -> Result<(Bytes, Instant), Failure> {
        let headers = self.auth_headers(method).await.map_err(Failure::unsent)?;
        self.limiter.acquire(priority).await;
        let url = format!("{}{}", self.api, path);
        let mut req = self.http.request(method.clone(), &url).headers(headers);
        if *method == Method::GET || *method == Method::DELETE {
            if !params.is_empty() {
                req = req.query(params.pairs());
            }
        } else if let Some(body) = params.json_body() {
            req = req.json(body);
        } else {
            // Always a Content-Length: PVE refuses chunked bodies.
            req = req.form(params.pairs());
        }
        let started = Instant::now();
        let response = req.send().await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                let sent = !e.is_connect();
                let error = self.transport_error(e);
                self.trace_line(method, path, params, "error", started, attempt);
                return Err(Failure {
                    error,
                    sent,
                    status: None,
                });
            }
        };
        self.answered.store(true, Ordering::Relaxed);
        let status = response.status();
        let reason = reason_phrase(&response);
        let body = response.bytes().await;
        self.trace_line(method, path, params, status.as_str(), started, attempt);
        let body = body.map_err(|e| Failure {
            error: self.transport_error(e),
            sent: true,
            status: None,
        })?;
        if status.is_success() {
            return Ok((body, started));
        }
        Err(Failure {
            error: failed(status, reason, &body, path),
            sent: true,
            status: Some(status.as_u16()),
        })
    }

    pub(super) fn transport_error(&self, e: reqwest::Error) -> ApiError {
        let chain = error_chain(&e);
        let url = &self.base;
        if let Some(tls) = rustls_error(&e).filter(|_| e.is_connect()) {
            if not_tls(tls) {
                return ApiError::Unreachable {
                    message: format!(
                        "the server at {url} did not answer in TLS: is this PVE's API (https, port 8006)?"
                    ),
                };
            }
            return ApiError::Tls {
                message: format!(
                    "cannot trust the server's TLS certificate: {}",
                    tls_words(tls)
                ),
                presented_fingerprint: self.presented.get(),
            };
        }
        if e.is_timeout() {
            let message = if e.is_connect() {
                format!(
                    "timed out connecting to {url} after {}",
                    humantime::format_duration(self.connect_timeout)
                )
            } else {
                format!(
                    "timed out waiting for an answer from {url} after {}",
                    humantime::format_duration(self.timeout)
                )
            };
            return ApiError::Unreachable { message };
        }
        let message = if self.answered.load(Ordering::Relaxed) {
            format!("lost the connection to {url}: {}", tls_reason(&chain))
        } else {
            format!("cannot reach the server {url}: {}", tls_reason(&chain))
        };
        ApiError::Unreachable { message }
    }

    pub(super) fn trace_line(
        &self,
        method: &Method,
        path: &str,
        params: &Params,
        status: &str,
        started: Instant,
        attempt: u32,
    ) {
        let Some(trace) = &self.trace else { return };
        let mut target = path.to_string();
        if (*method == Method::GET || *method == Method::DELETE) && !params.is_empty() {
            let q: Vec<String> = params
                .pairs()
                .iter()
                .map(|(k, v)| {
                    if is_secret_key(k) {
                        format!("{k}=(redacted)")
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect();
            target = format!("{target}?{}", q.join("&"));
        }
        trace(&format!(
            "{method} {target} {status} {}ms attempt {attempt}",
            started.elapsed().as_millis()
        ));
    }
}

struct Failure {
    error: ApiError,
    /// Whether the request may have reached the server.
    sent: bool,
    /// The HTTP status, when the server answered.
    status: Option<u16>,
}

impl Failure {
    fn unsent(error: ApiError) -> Self {
        Failure {
            error,
            sent: false,
            status: None,
        }
    }
}

fn retryable(method: &Method, error: &ApiError, sent: bool, status: Option<u16>) -> bool {
    if matches!(error, ApiError::Tls { .. }) {
        return false;
    }
    if *method == Method::GET {
        // 595: pveproxy could not connect to the node at all; asking again at once does not help.
        return error.is_transient() && status != Some(595);
    }
    // Writes: only when nothing reached the server, or PVE could not take the config lock.
    if !sent && matches!(error, ApiError::Unreachable { .. }) {
        return true;
    }
    let msg = error.message();
    msg.contains("can't lock file") && msg.contains("got timeout")
}

fn backoff(attempt: u32) -> Duration {
    let base = 200u64 * (1 << (attempt - 1).min(5));
    let jitter = rand::thread_rng().gen_range(0..=base / 2);
    Duration::from_millis(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::super::answer::interpret;
    use super::*;
    use reqwest::StatusCode;

    fn err(status: u16, reason: &str, body: &str) -> ApiError {
        interpret(
            StatusCode::from_u16(status).unwrap(),
            reason.into(),
            body.as_bytes(),
            "/x",
        )
        .unwrap_err()
    }

    #[test]
    fn body_message_wins_over_reason_and_loses_its_newline() {
        let e = err(
            500,
            "VM 100 not running",
            r#"{"data":null,"message":"VM 100 not running\n"}"#,
        );
        assert!(
            matches!(e, ApiError::Refused { status: 500, ref message, .. } if message == "VM 100 not running")
        );
    }

    #[test]
    fn reason_phrase_when_the_body_is_empty() {
        let e = err(401, "Authentication failed!", "");
        assert!(matches!(e, ApiError::Auth { ref message } if message == "Authentication failed!"));
    }

    #[test]
    fn per_field_errors_are_listed() {
        let e = err(
            400,
            "Parameter verification failed.",
            r#"{"data":null,"errors":{"memory":"type check ('integer') failed - got 'lots'"},"message":"Parameter verification failed.\n"}"#,
        );
        assert_eq!(
            e.to_string(),
            "Parameter verification failed: memory: type check ('integer') failed - got 'lots'"
        );
    }

    #[test]
    fn missing_things_are_not_found() {
        let e = err(
            500,
            "x",
            r#"{"message":"Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist\n"}"#,
        );
        assert!(matches!(e, ApiError::NotFound { .. }));
        let e = err(
            400,
            "Parameter verification failed.",
            r#"{"errors":{"upid":"no such task"}}"#,
        );
        assert!(matches!(e, ApiError::NotFound { .. }));
    }

    #[test]
    fn proxy_errors_mean_unreachable() {
        let e = err(
            595,
            "Errors during connection establishment, proxy handshake: No route to host",
            "",
        );
        assert!(matches!(e, ApiError::Unreachable { .. }));
        assert!(e.to_string().contains("No route to host"));
        // The node is down: no retry. A timeout behind the proxy (596) is worth another GET.
        assert!(!retryable(&Method::GET, &e, true, Some(595)));
        let e = err(596, "Connection timed out", "");
        assert!(retryable(&Method::GET, &e, true, Some(596)));
    }

    #[test]
    fn the_reason_is_the_innermost_cause_but_never_a_link() {
        assert_eq!(
            tls_reason("error sending request: connection error: peer closed connection without sending TLS close_notify: https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof"),
            "peer closed connection without sending TLS close_notify"
        );
        assert_eq!(
            tls_reason("client error (Connect): tls handshake eof"),
            "tls handshake eof"
        );
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let e = interpret(
            StatusCode::OK,
            "OK".into(),
            b"<html>hello</html>",
            "/version",
        )
        .unwrap_err();
        assert!(matches!(e, ApiError::Decode { .. }));
    }

    #[test]
    fn writes_retry_only_on_lock_timeouts() {
        let lock = ApiError::Refused {
            status: 500,
            message: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout".into(),
            errors: Default::default(),
        };
        assert!(retryable(&Method::POST, &lock, true, Some(500)));
        let other = ApiError::Refused {
            status: 503,
            message: "busy".into(),
            errors: Default::default(),
        };
        assert!(!retryable(&Method::POST, &other, true, Some(503)));
        assert!(retryable(&Method::GET, &other, true, Some(503)));
    }
}
