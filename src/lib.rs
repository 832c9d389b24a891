//! pvectl: manage Proxmox VE clusters over the REST API.
//!
//! `api` is the typed client (no clap, no terminal); `cli` is the command-line surface; `commands`
//! are the thin verbs; `output` renders rows; `config` merges flags, environment and profiles.

pub mod actions;
pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod guests;
pub mod output;
pub mod propstring;
pub mod vzdump;
pub mod wait;
