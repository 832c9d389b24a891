//! `man`: the man pages, generated from the clap tree: `pvectl(1)` with the exit codes, the
//! environment and the files, and one page per command and subcommand (`pvectl-vm-start(1)`).

use std::io::Write;
use std::path::Path;

use crate::cli::ManArgs;
use crate::error::{exit_codes_help, CliError, ErrorKind};

pub fn run(args: &ManArgs, quiet: bool) -> anyhow::Result<()> {
    let root = built();
    if let Some(dir) = &args.dir {
        let written = write_all(&root, dir)?;
        if !quiet {
            eprintln!("{written} man pages written to {}", dir.display());
        }
        return Ok(());
    }
    let mut cmd = &root;
    for word in &args.command {
        cmd = cmd
            .get_subcommands()
            .find(|s| s.get_name() == word || s.get_all_aliases().any(|a| a == word))
            .ok_or_else(|| {
                let names: Vec<&str> = cmd
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                    .map(|s| s.get_name())
                    .collect();
                CliError::usage(format!(
                    "`{}` has no command '{word}'; its commands: {}",
                    cmd.get_display_name().unwrap_or("pvectl").replace('-', " "),
                    names.join(", ")
                ))
            })?;
    }
    let page = render(cmd, std::ptr::eq(cmd, &root))?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&page)?;
    stdout.flush()?;
    Ok(())
}

/// The clap tree, built: every subcommand knows its display name (`pvectl-vm-start`).
fn built() -> clap::Command {
    let mut root = crate::cli::command().disable_help_subcommand(true);
    root.build();
    root
}

/// Every page into `dir` (created if needed); how many were written.
fn write_all(root: &clap::Command, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::new(
            ErrorKind::Other,
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let mut count = 0;
    let mut todo = vec![(root, true)];
    while let Some((cmd, is_root)) = todo.pop() {
        let name = format!("{}.1", page_name(cmd));
        let path = dir.join(&name);
        std::fs::write(&path, render(cmd, is_root)?).map_err(|e| {
            CliError::new(
                ErrorKind::Other,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
        count += 1;
        todo.extend(pages_below(cmd).map(|c| (c, false)));
    }
    Ok(count)
}

fn pages_below(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

fn page_name(cmd: &clap::Command) -> &str {
    cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
}

/// One page in roff. pvectl's own carries the exit codes, the environment and the files in
/// sections of their own; every other page points back to it.
fn render(cmd: &clap::Command, is_root: bool) -> anyhow::Result<Vec<u8>> {
    let version = cmd.get_version().unwrap_or(env!("CARGO_PKG_VERSION"));
    let mut buf = Vec::new();
    if is_root {
        let page = cmd.clone().after_help(None::<&str>);
        let man = clap_mangen::Man::new(page)
            .source(format!("pvectl {version}"))
            .manual("pvectl manual");
        man.render_title(&mut buf)?;
        man.render_name_section(&mut buf)?;
        man.render_synopsis_section(&mut buf)?;
        man.render_description_section(&mut buf)?;
        man.render_options_section(&mut buf)?;
        man.render_subcommands_section(&mut buf)?;
        section(&mut buf, "EXIT STATUS", &exit_codes_help())?;
        let env: Vec<(String, String)> = crate::config::ENVIRONMENT
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tagged(&mut buf, "ENVIRONMENT", &env)?;
        tagged(
            &mut buf,
            "FILES",
            &[
                (
                    "~/.config/pvectl/config.toml".into(),
                    "profiles ($XDG_CONFIG_HOME/pvectl/config.toml when set; --config or PVECTL_CONFIG name another); mode 0600".into(),
                ),
                (
                    "~/.cache/pvectl/".into(),
                    "what live completion fetched, kept for a few seconds ($XDG_CACHE_HOME/pvectl/ when set)".into(),
                ),
                (
                    crate::config::PVE_ROOT_CA.into(),
                    "on a PVE node with nothing configured: https://localhost:8006 is used, verified with this CA".into(),
                ),
            ],
        )?;
        man.render_version_section(&mut buf)?;
        buf = once_preamble(&buf);
    } else {
        clap_mangen::Man::new(cmd.clone())
            .source(format!("pvectl {version}"))
            .manual("pvectl manual")
            .render(&mut buf)?;
        writeln!(buf, ".SH \"SEE ALSO\"\n\\fBpvectl\\fR(1)")?;
    }
    Ok(buf)
}

/// Each of clap_mangen's sections starts with the same two-line preamble: keep the first.
fn once_preamble(page: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(page);
    let mut lines: Vec<&str> = text.lines().collect();
    let preamble: Vec<&str> = lines.iter().take(2).copied().collect();
    let mut i = 2;
    while i + 1 < lines.len() {
        if lines[i] == preamble[0] && lines[i + 1] == preamble[1] {
            lines.drain(i..i + 2);
        } else {
            i += 1;
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

/// A section of plain lines (the first line, a heading such as "Exit codes:", is left out).
fn section(buf: &mut Vec<u8>, title: &str, text: &str) -> std::io::Result<()> {
    writeln!(buf, ".SH \"{title}\"")?;
    let mut rows = vec![];
    for line in text.lines().skip(1) {
        let line = line.trim();
        let (code, meaning) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        rows.push((code.to_string(), meaning.trim().to_string()));
    }
    tag_rows(buf, &rows)
}

fn tagged(buf: &mut Vec<u8>, title: &str, rows: &[(String, String)]) -> std::io::Result<()> {
    writeln!(buf, ".SH \"{title}\"")?;
    tag_rows(buf, rows)
}

fn tag_rows(buf: &mut Vec<u8>, rows: &[(String, String)]) -> std::io::Result<()> {
    for (tag, text) in rows {
        writeln!(buf, ".TP\n\\fB{}\\fR\n{}", escape(tag), escape(text))?;
    }
    Ok(())
}

/// Text safe in roff: backslashes and hyphens escaped, no line taken for a request.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_for_every_command_and_subcommand() {
        let root = built();
        let dir = tempfile::tempdir().unwrap();
        let written = write_all(&root, dir.path()).unwrap();
        fn count(cmd: &clap::Command) -> usize {
            1 + pages_below(cmd).map(count).sum::<usize>()
        }
        assert_eq!(written, count(&root));
        assert!(written > 100, "{written}");
        for name in [
            "pvectl.1",
            "pvectl-vm.1",
            "pvectl-vm-start.1",
            "pvectl-ct-mount-add.1",
        ] {
            let page = std::fs::read_to_string(dir.path().join(name)).unwrap();
            assert!(page.contains("\n.TH "), "{name}: {page}");
            assert!(page.contains(".SH NAME"), "{name}");
        }
        // `vm reset` exists, `ct reset` does not: the pages follow the trees.
        assert!(dir.path().join("pvectl-vm-reset.1").exists());
        assert!(!dir.path().join("pvectl-ct-reset.1").exists());
        assert!(!dir.path().join("pvectl-help.1").exists());
        let top = std::fs::read_to_string(dir.path().join("pvectl.1")).unwrap();
        for part in [
            ".SH \"EXIT STATUS\"",
            "gave up waiting",
            ".SH \"ENVIRONMENT\"",
            "PROXMOX_TOKEN_SECRET",
            ".SH \"FILES\"",
        ] {
            assert!(top.contains(part), "{part} missing:\n{top}");
        }
        assert!(!top.contains(".SH EXTRA"), "{top}");
        assert_eq!(top.matches(".ds Aq").count(), 2, "one preamble:\n{top}");
    }

    #[test]
    fn roff_requests_cannot_be_smuggled_in() {
        assert_eq!(escape(".SH x"), "\\&.SH x");
        assert_eq!(escape("a-b\\c"), "a\\-b\\ec");
    }
}
