//! Authentication: the API token header, or a ticket from `POST /access/ticket` (password login,
//! with a second factor when PVE asks for one), renewed during long runs.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use serde_json::Value;

use super::answer::{decode_err, interpret, reason_phrase};
use super::auth::{Auth, Ticket};
use super::client::Client;
use super::error::ApiError;
use super::params::Params;
use super::secret::Secret;

// PVE tickets live 2 hours; renew well before that.
const TICKET_RENEW_AFTER: Duration = Duration::from_secs(90 * 60);

impl Client {
    pub(super) async fn auth_headers(&self, method: &Method) -> Result<HeaderMap, ApiError> {
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
        if data.get("NeedTFA").map(super::de::truthy).unwrap_or(false) {
            let challenge = data
                .get("ticket")
                .and_then(Value::as_str)
                .ok_or_else(|| decode_err("/access/ticket", "a TFA answer without a ticket"))?;
            let code = match otp {
                Some(code) => Some(code.expose().to_string()),
                None => prompt.as_ref().and_then(|p| p()),
            };
            let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
                return Err(ApiError::NeedOtp { user: user.clone() });
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
        self.limiter.acquire(super::limiter::Priority::Normal).await;
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
