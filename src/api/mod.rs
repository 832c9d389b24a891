//! A typed async client for the Proxmox VE API. It knows nothing of clap, terminals or exit codes.

mod client;
pub mod error;
pub mod guest;
pub mod params;
pub mod secret;
pub mod tls;
pub mod types;
pub mod upid;

pub use client::{Auth, Client, ClientOptions, Envelope, OtpPrompt, Trace};
pub use error::ApiError;
pub use guest::GuestKind;
pub use params::{seg, Params};
pub use secret::Secret;
pub use tls::TlsMode;
pub use upid::Upid;
