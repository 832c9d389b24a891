//! A scripted HTTPS stub for protocol tests: it answers what a test tells it to, byte for byte
//! (reason phrases, 595/596, broken bodies, dropped connections, silence, a slow drip), and
//! records every request as it arrived on the wire. fakepve cannot produce these cases on demand.
//!
//! Plain threads and blocking rustls: every test runs the `pvectl` binary synchronously, so the
//! stub only has to serve a handful of connections at a time.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{clean_command, full_token, run_cmd, Run, API};

/// The stub's PKI: a root CA and a leaf for 127.0.0.1 / localhost signed by it (as PVE's own
/// `pve-root-ca` signs each node's `pve-ssl.pem`).
pub struct Pki {
    pub ca_pem: String,
    pub leaf_der: Vec<u8>,
    key_der: Vec<u8>,
    /// SHA-256 of the leaf, `AB:CD:…` upper-case, as `pvenode cert info` shows it.
    pub fingerprint: String,
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Stub Proxmox Virtual Environment CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca.self_signed(&ca_key).expect("CA certificate");

        let leaf_key = KeyPair::generate().expect("leaf key");
        let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
            .expect("leaf params");
        leaf.distinguished_name.push(DnType::CommonName, "pve1");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let leaf = leaf
            .signed_by(&leaf_key, &ca, &ca_key)
            .expect("leaf certificate");

        let leaf_der = leaf.der().to_vec();
        Pki {
            ca_pem: ca.pem(),
            fingerprint: fingerprint(&leaf_der),
            leaf_der,
            key_der: leaf_key.serialize_der(),
        }
    })
}

fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn server_config() -> Arc<ServerConfig> {
    let pki = pki();
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(pki.leaf_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key_der.clone())),
            )
            .expect("server certificate");
    Arc::new(config)
}

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Request {
    /// Number of the TCP connection it came on (0 = the first).
    pub conn: usize,
    pub method: String,
    /// The request target exactly as sent: path and query, still percent-encoded.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the whole request had arrived.
    pub at: Instant,
}

impl Request {
    /// The path without the query string, as sent.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The path relative to `/api2/json`, as sent.
    pub fn api_path(&self) -> &str {
        let p = self.path();
        p.strip_prefix(API).unwrap_or(p)
    }

    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// A query parameter (only for values that need no decoding, such as numbers).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query()?
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What the stub does with a request.
#[derive(Clone)]
pub enum Reply {
    /// An HTTP answer; `reason` is the status line's reason phrase, sent verbatim.
    Http {
        status: u16,
        reason: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Read the request, then close the connection without a word.
    Close,
    /// Read the request and never answer (the connection stays open until the stub is dropped).
    Hang,
    /// Announce `declared` bytes of body, send `body`, then close.
    Truncated {
        status: u16,
        declared: usize,
        body: Vec<u8>,
    },
    /// 200 with `body` announced in full, then sent one byte per `every` (a slow or stalling
    /// link: the answer has begun but does not end within the request timeout).
    Drip { body: Vec<u8>, every: Duration },
    /// Decide from the request (e.g. page a task log by `start` and `limit`).
    Dynamic(Arc<dyn Fn(&Request) -> Reply + Send + Sync>),
}

impl Reply {
    /// 200 with PVE's envelope `{"data": …}`.
    pub fn data(data: Value) -> Reply {
        Reply::json(200, "OK", &json!({ "data": data }))
    }

    /// Any status with a JSON body.
    pub fn json(status: u16, reason: &str, body: &Value) -> Reply {
        Reply::raw(
            status,
            reason,
            "application/json;charset=UTF-8",
            body.to_string(),
        )
    }

    /// An error as current PVE sends it: the first line as reason, the full message in the body.
    pub fn error(status: u16, message: &str) -> Reply {
        let reason = message.lines().next().unwrap_or("").to_string();
        Reply::json(
            status,
            &reason,
            &json!({ "data": null, "message": message }),
        )
    }

    /// A status line and an empty body (PVE's 401, the proxy's 595/596, old servers).
    pub fn status(status: u16, reason: &str) -> Reply {
        Reply::raw(status, reason, "", Vec::new())
    }

    pub fn dynamic(f: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Reply {
        Reply::Dynamic(Arc::new(f))
    }

    pub fn raw(status: u16, reason: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        let mut headers = vec![];
        if !content_type.is_empty() {
            headers.push(("Content-Type".to_string(), content_type.to_string()));
        }
        Reply::Http {
            status,
            reason: reason.to_string(),
            headers,
            body: body.into(),
        }
    }
}

struct Route {
    method: String,
    path: String,
    replies: VecDeque<Reply>,
}

#[derive(Default)]
struct State {
    routes: Mutex<Vec<Route>>,
    requests: Mutex<Vec<Request>>,
    /// Connections to close right after accepting them, before the TLS handshake.
    drop_connections: AtomicUsize,
    connections: AtomicUsize,
    shutdown: AtomicBool,
}

impl State {
    /// The next scripted reply: queued replies are used in order, the last one repeats.
    fn reply_for(&self, req: &Request) -> Reply {
        let mut routes = self.routes.lock().unwrap();
        let path = req.api_path().to_string();
        match routes
            .iter_mut()
            .find(|r| r.method == req.method && r.path == path)
        {
            Some(route) if route.replies.len() > 1 => route.replies.pop_front().unwrap(),
            Some(route) => route.replies.front().cloned().unwrap(),
            // As pve-http-server answers an unknown path.
            None => Reply::json(
                501,
                "Not Implemented",
                &json!({ "data": null, "message": format!("Method '{} {}' not implemented", req.method, path) }),
            ),
        }
    }
}

/// A running stub on 127.0.0.1 with its own port; stops when dropped.
pub struct Stub {
    pub port: u16,
    state: Arc<State>,
    pub home: tempfile::TempDir,
}

impl Stub {
    pub fn new() -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let config = server_config();
        let st = state.clone();
        std::thread::spawn(move || accept_loop(listener, config, st));
        Stub {
            port,
            state,
            home: tempfile::tempdir().expect("temporary home"),
        }
    }

    /// Script the answers to `METHOD path` (path relative to `/api2/json`, percent-encoded as the
    /// client must send it). Several calls queue replies in order; the last one repeats.
    pub fn on(&self, method: &str, path: &str, reply: Reply) -> &Self {
        let mut routes = self.state.routes.lock().unwrap();
        match routes
            .iter_mut()
            .find(|r| r.method == method && r.path == path)
        {
            Some(route) => route.replies.push_back(reply),
            None => routes.push(Route {
                method: method.to_string(),
                path: path.to_string(),
                replies: VecDeque::from([reply]),
            }),
        }
        self
    }

    /// Close the next `n` connections before the TLS handshake (nothing can have been sent).
    pub fn drop_next_connections(&self, n: usize) {
        self.state.drop_connections.store(n, Ordering::SeqCst);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The requests for `METHOD path` (path relative to `/api2/json`, as sent).
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.api_path() == path)
            .collect()
    }

    /// TCP connections accepted so far (including dropped ones).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    pub fn fingerprint(&self) -> &'static str {
        &pki().fingerprint
    }

    /// A `pvectl` command with a clean environment: token auth, no config file, and no TLS trust
    /// configured (the test adds a pin, a CA file or `-k`).
    pub fn cmd_untrusted(&self) -> assert_cmd::Command {
        let mut pvectl = clean_command(self.home.path());
        pvectl
            .env("PROXMOX_HOST", format!("https://127.0.0.1:{}", self.port))
            .env("PROXMOX_TOKEN", full_token());
        let mut cmd = assert_cmd::Command::from_std(pvectl);
        // A hung client must fail the test, not the suite.
        cmd.timeout(Duration::from_secs(30));
        cmd
    }

    /// A `pvectl` command that pins the stub's certificate.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = self.cmd_untrusted();
        cmd.env("PROXMOX_FINGERPRINT", self.fingerprint());
        cmd
    }

    /// Run `pvectl ARGS` with the certificate pinned.
    pub fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd().args(args))
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.state.shutdown.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn accept_loop(listener: TcpListener, config: Arc<ServerConfig>, state: Arc<State>) {
    for stream in listener.incoming() {
        if state.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let Ok(tcp) = stream else { continue };
        let conn = state.connections.fetch_add(1, Ordering::SeqCst);
        let dropped = state
            .drop_connections
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if dropped {
            let _ = tcp.shutdown(Shutdown::Both);
            continue;
        }
        let (config, state) = (config.clone(), state.clone());
        std::thread::spawn(move || serve(conn, tcp, config, state));
    }
}

fn serve(conn: usize, tcp: TcpStream, config: Arc<ServerConfig>, state: Arc<State>) {
    // A safety net: no connection thread outlives a test by much.
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(server) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = StreamOwned::new(server, tcp);
    let mut buf = Vec::new();
    loop {
        // The handshake happens on the first read; a client that rejects the certificate ends here.
        let Some(req) = read_request(conn, &mut tls, &mut buf) else {
            return;
        };
        state.requests.lock().unwrap().push(req.clone());
        let mut reply = state.reply_for(&req);
        while let Reply::Dynamic(f) = reply {
            reply = f(&req);
        }
        match reply {
            Reply::Http {
                status,
                reason,
                headers,
                body,
            } => {
                let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
                for (k, v) in &headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                let mut out = head.into_bytes();
                out.extend_from_slice(&body);
                if tls.write_all(&out).and_then(|_| tls.flush()).is_err() {
                    return;
                }
            }
            Reply::Close => {
                let _ = tls.sock.shutdown(Shutdown::Both);
                return;
            }
            Reply::Hang => {
                while !state.shutdown.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
            Reply::Drip { body, every } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if tls
                    .write_all(head.as_bytes())
                    .and_then(|_| tls.flush())
                    .is_err()
                {
                    return;
                }
                for b in body {
                    std::thread::sleep(every);
                    if state.shutdown.load(Ordering::SeqCst)
                        || tls.write_all(&[b]).and_then(|_| tls.flush()).is_err()
                    {
                        return;
                    }
                }
            }
            Reply::Dynamic(_) => unreachable!("resolved above"),
            Reply::Truncated {
                status,
                declared,
                body,
            } => {
                let mut out = format!(
                    "HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
                )
                .into_bytes();
                out.extend_from_slice(&body);
                let _ = tls.write_all(&out).and_then(|_| tls.flush());
                let _ = tls.sock.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Read more bytes into `buf`; false on end of stream or error.
fn fill(stream: &mut impl Read, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

/// One HTTP/1.1 request from the connection (keep-alive: `buf` carries what was read ahead).
fn read_request(conn: usize, stream: &mut impl Read, buf: &mut Vec<u8>) -> Option<Request> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if !fill(stream, buf) {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body = if header("Transfer-Encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(stream, buf)?
    } else {
        let len: usize = header("Content-Length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < len {
            if !fill(stream, buf) {
                return None;
            }
        }
        buf.drain(..len).collect()
    };
    Some(Request {
        conn,
        method,
        target,
        headers,
        body,
        at: Instant::now(),
    })
}

fn read_chunked(stream: &mut impl Read, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut body = vec![];
    loop {
        let line_end = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            if !fill(stream, buf) {
                return None;
            }
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        buf.drain(..line_end + 2);
        while buf.len() < size + 2 {
            if !fill(stream, buf) {
                return None;
            }
        }
        body.extend(buf.drain(..size));
        buf.drain(..2);
        if size == 0 {
            return Some(body);
        }
    }
}

/// `GET …/tasks/{upid}/log` as PVE pages it: `start` lines skipped, `limit` lines (default 50, 0 =
/// all), `total` = lines in the file; an empty log is the placeholder line `no content`.
pub fn task_log(lines: &[&str]) -> Reply {
    let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    Reply::dynamic(move |req| {
        if lines.is_empty() {
            return Reply::json(
                200,
                "OK",
                &json!({ "data": [{ "n": 1, "t": "no content" }], "total": 1 }),
            );
        }
        let start: usize = req.param("start").and_then(|v| v.parse().ok()).unwrap_or(0);
        let limit: usize = req
            .param("limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(50);
        let limit = if limit == 0 { usize::MAX } else { limit };
        let page: Vec<Value> = lines
            .iter()
            .enumerate()
            .skip(start)
            .take(limit)
            .map(|(i, t)| json!({ "n": i + 1, "t": t }))
            .collect();
        Reply::json(200, "OK", &json!({ "data": page, "total": lines.len() }))
    })
}
