//! The HTTP client: one reqwest client per process, authentication, retries, a rate cap, and the
//! mapping of PVE's answers (envelope, status codes, messages) to `ApiError`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use super::error::ApiError;
use super::params::{is_secret_key, Params};
use super::secret::Secret;
use super::tls::{self, PresentedCert, TlsMode};

/// Asks the user for a one-time code when PVE answers a login with `NeedTFA`.
pub type OtpPrompt = Arc<dyn Fn() -> Option<String> + Send + Sync>;
/// Receives one line per request for `--verbose`.
pub type Trace = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone)]
pub enum Auth {
    /// `Authorization: PVEAPIToken=USER@REALM!ID=SECRET`.
    Token { id: String, secret: Secret },
    /// A ticket from `POST /access/ticket`, renewed during long runs.
    Password {
        user: String,
        password: Secret,
        otp: Option<Secret>,
        prompt: Option<OtpPrompt>,
    },
    /// No credentials (only for probing the server).
    None,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token { id, .. } => write!(f, "Token {{ id: {id:?}, secret: (redacted) }}"),
            Auth::Password { user, .. } => {
                write!(f, "Password {{ user: {user:?}, password: (redacted) }}")
            }
            Auth::None => f.write_str("None"),
        }
    }
}

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
        }
    }
}

#[derive(Clone)]
struct Ticket {
    ticket: Secret,
    csrf: Secret,
    obtained: Instant,
}

// PVE tickets live 2 hours; renew well before that.
const TICKET_RENEW_AFTER: Duration = Duration::from_secs(90 * 60);

pub struct Client {
    http: reqwest::Client,
    api: String,
    auth: Auth,
    ticket: Mutex<Option<Ticket>>,
    presented: PresentedCert,
    limiter: RateLimiter,
    attempts: u32,
    trace: Option<Trace>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.api)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// What a raw request returned: the `data` member and the optional `total`.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub data: Value,
    pub total: Option<u64>,
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
            .user_agent(concat!("pvectl/", env!("CARGO_PKG_VERSION")))
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
        })
    }

    pub fn with_trace(mut self, trace: Trace) -> Self {
        self.trace = Some(trace);
        self
    }

    /// The fingerprint of the certificate the server presented in the last handshake.
    pub fn presented_fingerprint(&self) -> Option<String> {
        self.presented.get()
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        decode(path, self.call(Method::GET, path, params).await?.data)
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        decode(path, self.call(Method::POST, path, params).await?.data)
    }

    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        decode(path, self.call(Method::PUT, path, params).await?.data)
    }

    pub async fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        decode(path, self.call(Method::DELETE, path, params).await?.data)
    }

    /// One API call with retries: `path` is relative to `/api2/json` and already percent-encoded.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        params: &Params,
    ) -> Result<Envelope, ApiError> {
        if !path.starts_with('/') {
            return Err(ApiError::Invalid(format!(
                "API path '{path}' must start with '/'"
            )));
        }
        let mut attempt = 1;
        let mut relogged = false;
        loop {
            let result = self.attempt(&method, path, params, attempt).await;
            match result {
                Ok(env) => return Ok(env),
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
                        return Err(error);
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        params: &Params,
        attempt: u32,
    ) -> Result<Envelope, Failure> {
        let headers = self.auth_headers(method).await.map_err(Failure::unsent)?;
        self.limiter.acquire().await;
        let url = format!("{}{}", self.api, path);
        let mut req = self.http.request(method.clone(), &url).headers(headers);
        if *method == Method::GET || *method == Method::DELETE {
            if !params.is_empty() {
                req = req.query(params.pairs());
            }
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
        let status = response.status();
        let reason = reason_phrase(&response);
        let body = response.bytes().await;
        self.trace_line(method, path, params, status.as_str(), started, attempt);
        let body = body.map_err(|e| Failure {
            error: self.transport_error(e),
            sent: true,
            status: None,
        })?;
        interpret(status, reason, &body, path).map_err(|error| Failure {
            error,
            sent: true,
            status: Some(status.as_u16()),
        })
    }

    async fn auth_headers(&self, method: &Method) -> Result<HeaderMap, ApiError> {
        let mut headers = HeaderMap::new();
        match &self.auth {
            Auth::None => {}
            Auth::Token { id, secret } => {
                let mut value =
                    HeaderValue::from_str(&format!("PVEAPIToken={id}={}", secret.expose()))
                        .map_err(|_| {
                            ApiError::Credentials(
                        "the token id or secret holds characters not allowed in an HTTP header: check them for stray spaces or line breaks"
                            .into(),
                    )
                        })?;
                value.set_sensitive(true);
                headers.insert(reqwest::header::AUTHORIZATION, value);
            }
            Auth::Password { .. } => {
                let ticket = self.current_ticket().await?;
                let mut cookie =
                    HeaderValue::from_str(&format!("PVEAuthCookie={}", ticket.ticket.expose()))
                        .map_err(|_| ApiError::Decode {
                            context: "login".into(),
                            detail: "the ticket is not a valid header value".into(),
                        })?;
                cookie.set_sensitive(true);
                headers.insert(reqwest::header::COOKIE, cookie);
                if *method != Method::GET {
                    let mut csrf = HeaderValue::from_str(ticket.csrf.expose()).map_err(|_| {
                        ApiError::Decode {
                            context: "login".into(),
                            detail: "the CSRF token is not a valid header value".into(),
                        }
                    })?;
                    csrf.set_sensitive(true);
                    headers.insert("CSRFPreventionToken", csrf);
                }
            }
        }
        Ok(headers)
    }

    async fn current_ticket(&self) -> Result<Ticket, ApiError> {
        let mut slot = self.ticket.lock().await;
        if let Some(t) = slot.as_ref() {
            if t.obtained.elapsed() < TICKET_RENEW_AFTER {
                return Ok(t.clone());
            }
            // PVE renews a ticket posted as the password; fall back to a fresh login.
            if let Ok(t2) = self.renew(t).await {
                *slot = Some(t2.clone());
                return Ok(t2);
            }
        }
        let t = self.login().await?;
        *slot = Some(t.clone());
        Ok(t)
    }

    async fn renew(&self, old: &Ticket) -> Result<Ticket, ApiError> {
        let Auth::Password { user, .. } = &self.auth else {
            return Err(ApiError::Invalid("not a password login".into()));
        };
        let params = Params::new()
            .set("username", user)
            .set("password", old.ticket.expose());
        let data = self.ticket_request(&params).await?;
        ticket_from(&data)
    }

    async fn login(&self) -> Result<Ticket, ApiError> {
        let Auth::Password {
            user,
            password,
            otp,
            prompt,
        } = &self.auth
        else {
            return Err(ApiError::Invalid("not a password login".into()));
        };
        let params = Params::new()
            .set("username", user)
            .set("password", password.expose());
        let data = self.ticket_request(&params).await?;
        if data
            .get("NeedTFA")
            .map(crate::api::types::truthy)
            .unwrap_or(false)
        {
            let challenge = data
                .get("ticket")
                .and_then(Value::as_str)
                .ok_or_else(|| decode_err("/access/ticket", "a TFA answer without a ticket"))?;
            let code = match otp {
                Some(code) => Some(code.expose().to_string()),
                None => prompt.as_ref().and_then(|p| p()),
            };
            let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
                return Err(ApiError::Auth {
                    message: format!(
                        "{user} needs a second factor: give the one-time code with --otp CODE (or run on a terminal to be asked)"
                    ),
                });
            };
            let code = code.trim();
            let response = if code.contains(':') {
                code.to_string()
            } else {
                format!("totp:{code}")
            };
            let params = Params::new()
                .set("username", user)
                .set("tfa-challenge", challenge)
                .set("password", response);
            let data = self.ticket_request(&params).await?;
            return ticket_from(&data);
        }
        ticket_from(&data)
    }

    async fn ticket_request(&self, params: &Params) -> Result<Value, ApiError> {
        self.limiter.acquire().await;
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/access/ticket", self.api))
            .form(params.pairs())
            .send()
            .await;
        let redacted = Params::new();
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                self.trace_line(
                    &Method::POST,
                    "/access/ticket",
                    &redacted,
                    "error",
                    started,
                    1,
                );
                return Err(self.transport_error(e));
            }
        };
        let status = response.status();
        let reason = reason_phrase(&response);
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        self.trace_line(
            &Method::POST,
            "/access/ticket",
            &redacted,
            status.as_str(),
            started,
            1,
        );
        Ok(interpret(status, reason, &body, "/access/ticket")?.data)
    }

    fn transport_error(&self, e: reqwest::Error) -> ApiError {
        let chain = error_chain(&e);
        if e.is_connect() && refused_by_tls(&e) {
            return ApiError::Tls {
                message: format!(
                    "cannot trust the server's TLS certificate: {}",
                    tls_reason(&chain)
                ),
                presented_fingerprint: self.presented.get(),
            };
        }
        if e.is_timeout() {
            let what = if e.is_connect() {
                "connecting"
            } else {
                "waiting for an answer"
            };
            return ApiError::Unreachable {
                message: format!(
                    "timed out {what} ({}s): {}",
                    self.timeout.as_secs(),
                    short_url(&e)
                ),
            };
        }
        ApiError::Unreachable {
            message: format!(
                "cannot reach the server {}: {}",
                short_url(&e),
                tls_reason(&chain)
            ),
        }
    }

    fn trace_line(
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

fn ticket_from(data: &Value) -> Result<Ticket, ApiError> {
    let get = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
    match (get("ticket"), get("CSRFPreventionToken")) {
        (Some(ticket), Some(csrf)) => Ok(Ticket {
            ticket: Secret::new(ticket),
            csrf: Secret::new(csrf),
            obtained: Instant::now(),
        }),
        _ => Err(decode_err(
            "/access/ticket",
            "no ticket in the login answer",
        )),
    }
}

fn decode_err(context: &str, detail: &str) -> ApiError {
    ApiError::Decode {
        context: context.to_string(),
        detail: detail.to_string(),
    }
}

fn decode<T: DeserializeOwned>(path: &str, data: Value) -> Result<T, ApiError> {
    serde_json::from_value(data).map_err(|e| decode_err(path, &e.to_string()))
}

fn reason_phrase(response: &reqwest::Response) -> String {
    response
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .and_then(|r| std::str::from_utf8(r.as_bytes()).ok())
        .map(str::to_string)
        .or_else(|| response.status().canonical_reason().map(str::to_string))
        .unwrap_or_default()
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
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
fn tls_reason(chain: &str) -> String {
    chain
        .rsplit(": ")
        .find(|part| !part.starts_with("http://") && !part.starts_with("https://"))
        .unwrap_or(chain)
        .to_string()
}

/// Whether rustls refused the handshake (an untrusted or unpinned certificate, no common protocol),
/// as opposed to a connection that closed during it. rustls' error travels inside (nested)
/// `io::Error`s, whose `source()` skips the error they wrap, so step into those.
fn refused_by_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<rustls::Error>() {
            return true;
        }
        cause = match c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    false
}

fn short_url(e: &reqwest::Error) -> String {
    e.url()
        .map(|u| format!("{}://{}", u.scheme(), u.authority()))
        .unwrap_or_default()
}

/// Turn an HTTP answer into the `data` envelope or an error of the right kind.
pub(crate) fn interpret(
    status: StatusCode,
    reason: String,
    body: &[u8],
    path: &str,
) -> Result<Envelope, ApiError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if status.is_success() {
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
        return Ok(Envelope {
            data: obj.remove("data").unwrap_or(Value::Null),
            total,
        });
    }
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
    Err(match code {
        401 => ApiError::Auth {
            message: if message.is_empty() {
                "401 Unauthorized".into()
            } else {
                message
            },
        },
        403 => ApiError::Forbidden { message },
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
    })
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

/// At most `rate` requests per second, with a burst of the same size.
struct RateLimiter {
    rate: u32,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    fn new(rate: u32) -> Self {
        RateLimiter {
            rate,
            state: Mutex::new((rate as f64, Instant::now())),
        }
    }

    async fn acquire(&self) {
        if self.rate == 0 {
            return;
        }
        let wait = {
            let mut st = self.state.lock().await;
            let rate = self.rate as f64;
            let now = Instant::now();
            let refill = now.duration_since(st.1).as_secs_f64() * rate;
            st.0 = (st.0 + refill).min(rate);
            st.1 = now;
            st.0 -= 1.0;
            if st.0 >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-st.0 / rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
