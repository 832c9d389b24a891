//! Progress on stderr: spinners (one per task) on a terminal, one line at start and end otherwise,
//! nothing with `--quiet`. Cron mails stay readable.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Output;
use crate::api::transfer;
use crate::api::vzdump::log as vzdump;

#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
    plain: bool,
}

impl Progress {
    pub fn new(out: &Output) -> Self {
        let animated = out.term.stderr_tty && !out.quiet;
        Progress {
            multi: animated.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            plain: !animated && !out.quiet,
        }
    }

    /// A line on stderr that does not tear the spinners (silenced by `--quiet`).
    pub fn println(&self, line: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None if self.plain => eprintln!("{line}"),
            None => {}
        }
    }

    /// A line that is printed even with `--quiet` (failures).
    pub fn println_always(&self, line: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    pub fn bar(&self, label: &str, action: &str) -> TaskBar {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {elapsed:>4} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(format!("{label}: {action}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        TaskBar {
            bar,
            label: label.to_string(),
            action: action.to_string(),
            plain: self.plain,
            vzdump: None,
            transfer: false,
        }
    }

    /// A bar of bytes sent (an upload): bytes, rate and time left on a terminal; nothing without
    /// one (the command says when it starts and ends).
    pub fn bytes(&self, label: &str, action: &str, total: u64) -> ByteBar {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(total));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{label}: {action}"));
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        ByteBar { bar }
    }
}

/// A byte progress bar (see `Progress::bytes`).
#[derive(Clone)]
pub struct ByteBar {
    bar: Option<ProgressBar>,
}

impl ByteBar {
    /// `done` bytes of the total are through.
    pub fn set(&self, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

pub struct TaskBar {
    bar: Option<ProgressBar>,
    label: String,
    action: String,
    plain: bool,
    /// A vzdump job: how many guests it has and how many have started.
    vzdump: Option<(usize, AtomicUsize)>,
    /// A copy whose log reports percentages (disk moves and imports, downloads).
    transfer: bool,
}

impl TaskBar {
    /// A bar that shows nothing (for callers without progress).
    pub fn hidden() -> Self {
        TaskBar {
            bar: None,
            label: String::new(),
            action: String::new(),
            plain: false,
            vzdump: None,
            transfer: false,
        }
    }

    /// Read the log as a copy's: a real bar from the percentages it reports (`transferred … (N%)`,
    /// wget's dots).
    pub fn transfer(mut self) -> Self {
        self.transfer = true;
        self
    }

    /// Read the log as a vzdump job of `guests` guests: "guest k of n", and a real bar from the
    /// percentages QEMU backups report.
    pub fn vzdump(mut self, guests: usize) -> Self {
        self.vzdump = Some((guests, AtomicUsize::new(0)));
        self
    }

    pub fn started(&self, upid: &str) {
        if !self.plain {
            return;
        }
        // `tasks wait` follows a task something else started.
        if self.action == "wait" {
            eprintln!("{}: waiting for {upid}", self.label);
        } else {
            eprintln!("{}: {} task {upid} started", self.label, self.action);
        }
    }

    /// A line about this task that matters without a terminal too (silenced by `--quiet`).
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(format!("{}: {line}", self.label)),
            None if self.plain => eprintln!("{}: {line}", self.label),
            None => {}
        }
    }

    /// Whether the newest log line is worth fetching (only a spinner shows it).
    pub fn wants_log(&self) -> bool {
        self.bar.is_some()
    }

    pub fn log_line(&self, line: &str) {
        let Some(b) = &self.bar else { return };
        if self.transfer {
            match transfer::percent(line) {
                Some(p) => self.set_percent(p as u64),
                None => b.set_message(line.trim().to_string()),
            }
            return;
        }
        let Some((total, started)) = &self.vzdump else {
            b.set_message(line.trim().to_string());
            return;
        };
        match vzdump::parse_line(line) {
            vzdump::Event::Start { vmid, kind } => {
                let k = started.fetch_add(1, Ordering::Relaxed) + 1;
                b.set_message(format!("guest {k} of {total}: {vmid} ({kind})"));
                if b.length().is_some() {
                    b.set_position(0);
                }
            }
            vzdump::Event::Percent(p) => self.set_percent(u64::from(p)),
            _ => {}
        }
    }

    /// Show a percentage (vzdump of QEMU guests) as a real bar.
    pub fn set_percent(&self, pct: u64) {
        if let Some(b) = &self.bar {
            if b.length().is_none() {
                b.set_length(100);
                b.set_style(
                    ProgressStyle::with_template(
                        "{prefix} {elapsed:>4} [{bar:30}] {pos:>3}% {wide_msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            b.set_position(pct.min(100));
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for TaskBar {
    fn drop(&mut self) {
        self.finish();
    }
}
