//! The command line being completed: its global flags (which profile, which host) and the guest
//! it names, read leniently from the words the shell passed (`pvectl -- pvectl vm … <word>`).

use std::ffi::OsString;

use clap::FromArgMatches;

use super::Offer;
use crate::cli::GlobalArgs;
use crate::config::{self, Env};

/// The line up to the word being completed.
pub struct Line {
    pub flags: GlobalArgs,
    /// The guest named on the line (`vm snapshot rollback web-1 <TAB>`).
    pub guest: Option<String>,
    pub env: Env,
}

impl Line {
    /// From this process's arguments, as clap_complete's shell scripts pass them: the words after
    /// `--`, and the index of the word being completed in `_CLAP_COMPLETE_INDEX` (bash and zsh;
    /// fish passes the words up to the cursor).
    pub fn from_process() -> Line {
        let args: Vec<OsString> = std::env::args_os().collect();
        let words: Vec<OsString> = match args.iter().position(|a| a == "--") {
            Some(i) => args[i + 1..].to_vec(),
            None => vec![],
        };
        let index = std::env::var("_CLAP_COMPLETE_INDEX")
            .ok()
            .and_then(|i| i.parse::<usize>().ok());
        Line::parse(&words, index, config::process_env())
    }

    /// The words before the one at `index` (the last one without an index) are parsed as far as
    /// they go; whatever does not parse is left out.
    pub fn parse(words: &[OsString], index: Option<usize>, env: Env) -> Line {
        let end = index
            .unwrap_or(words.len().saturating_sub(1))
            .min(words.len());
        let before = &words[..end];
        let matches = crate::cli::command()
            .ignore_errors(true)
            .try_get_matches_from(before.iter().cloned())
            .ok();
        let flags = matches
            .as_ref()
            .and_then(|m| GlobalArgs::from_arg_matches(m).ok())
            .unwrap_or_default();
        let guest = matches.as_ref().and_then(|m| {
            let mut leaf = m;
            while let Some((_, sub)) = leaf.subcommand() {
                leaf = sub;
            }
            leaf.try_get_raw("guest")
                .ok()
                .flatten()
                .and_then(|mut v| v.next())
                .and_then(|v| v.to_str())
                .map(str::to_string)
        });
        Line { flags, guest, env }
    }

    /// The profiles of the configuration file this line uses.
    pub fn profiles(&self) -> Vec<Offer> {
        let Ok((_, file, _)) = config::load_configured(&self.flags, &self.env) else {
            return vec![];
        };
        file.profiles
            .iter()
            .map(|(name, p)| Offer {
                value: name.clone(),
                help: p.host.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(words: &[&str]) -> Line {
        let words: Vec<OsString> = words.iter().map(OsString::from).collect();
        Line::parse(&words, None, Env::new())
    }

    #[test]
    fn global_flags_anywhere_on_the_line_are_read() {
        let l = line(&["pvectl", "-P", "lab", "vm", "start", "--host", "pve9", "w"]);
        assert_eq!(l.flags.profile.as_deref(), Some("lab"));
        assert_eq!(l.flags.host.as_deref(), Some("pve9"));
        assert_eq!(l.guest, None);
    }

    #[test]
    fn the_guest_before_the_word() {
        let l = line(&["pvectl", "vm", "snapshot", "rollback", "web-1", "be"]);
        assert_eq!(l.guest.as_deref(), Some("web-1"));
        // The word being completed is not taken for the guest.
        let l = line(&["pvectl", "vm", "snapshot", "rollback", "we"]);
        assert_eq!(l.guest, None);
        // An index in the middle of the line: the words after it do not count.
        let words: Vec<OsString> = ["pvectl", "-P", "a", "vm", "status", "", "--host", "x"]
            .iter()
            .map(OsString::from)
            .collect();
        let l = Line::parse(&words, Some(5), Env::new());
        assert_eq!(l.flags.profile.as_deref(), Some("a"));
        assert_eq!(l.flags.host, None);
    }
}
