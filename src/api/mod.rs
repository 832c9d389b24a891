//! A typed async client for the Proxmox VE API, organised like PVE's own path tree.
//!
//! `Client` is the transport (authentication, TLS, the `{"data": …}` envelope, retries, the
//! request budget, error mapping); each area module has one function per endpoint with typed
//! parameters and results: `cluster`, `nodes`, `storage`, `tasks`, `vzdump`, `guest/…`, `access`,
//! `firewall`, `ha`, `pools` and `rrd` (`websocket` opens the consoles' connections; `permissions`
//! holds PVE's permission rules of those endpoints, `refusal` finds out why a request was refused).
//! Every path string, every PVE quirk and every match on a PVE message lives here. Nothing here knows of
//! a command line, a terminal or exit codes, so it can be used as a library on its own:
//!
//! ```no_run
//! # async fn demo() -> Result<(), pvectl::api::ApiError> {
//! use pvectl::api::{cluster, guest, Auth, Client, ClientOptions, Secret};
//! let auth = Auth::Token { id: "root@pam!cli".into(), secret: Secret::new("…") };
//! let client = Client::new(ClientOptions::new("https://pve1:8006", auth))?;
//! for g in cluster::guests(&client).await? {
//!     println!("{:?} {:?} on {:?}", g.vmid, g.name, g.node);
//! }
//! # Ok(()) }
//! ```

pub mod access;
mod answer;
pub mod aplinfo;
mod auth;
mod client;
pub mod cluster;
pub mod de;
pub mod error;
pub mod firewall;
pub mod guest;
pub mod ha;
mod limiter;
mod login;
pub mod nodes;
pub mod params;
pub mod permissions;
pub mod pools;
pub mod propstring;
pub mod refusal;
pub mod rrd;
pub mod secret;
pub mod storage;
pub mod tasks;
pub mod tls;
pub mod transfer;
pub mod upid;
pub mod upload;
pub mod vzdump;
pub mod websocket;

pub use answer::Envelope;
pub use auth::{Auth, OtpPrompt};
pub use client::{Client, ClientOptions, Trace};
pub use error::ApiError;
pub use guest::{GuestKind, GuestRef, Located};
pub use params::{seg, Params};
pub use secret::Secret;
pub use tls::TlsMode;
pub use upid::Upid;
