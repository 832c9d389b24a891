//! pvectl: manage Proxmox VE clusters over the REST API.
//!
//! The data path is the module tree: `cli` (the clap surface) → `commands` (one folder per noun:
//! resolve targets, call the API, wait, render) → `api` (the typed PVE client, usable on its own),
//! `task` (everything after a UPID), `targets` (guest addressing) and `output` (renderers,
//! progress, prompts). `config` merges flags, environment and profiles; `error` maps every error to
//! one exit code; `complete` answers the shell's TAB.

pub mod api;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod config;
pub mod error;
pub mod output;
pub mod targets;
pub mod task;
