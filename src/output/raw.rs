//! The terminal in raw mode, for a console session: every key goes to the guest as typed (Ctrl-C
//! included), nothing is echoed locally. `RawMode` puts the terminal back as it found it when it
//! is dropped, whichever way the session ends; on a panic the hook does (`output::on_panic`).

use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Mutex;

use rustix::termios::{self, OptionalActions, Termios};

/// The settings to put back while a `RawMode` lives, for the panic hook ([`restore`]).
static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

/// A terminal in raw mode until this is dropped.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Put the terminal on stdin into raw mode; `None` when stdin is no terminal.
    pub fn enter() -> std::io::Result<Option<RawMode>> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Ok(None);
        }
        let fd = stdin.as_fd();
        let saved = termios::tcgetattr(fd)?;
        let mut raw = saved.clone();
        raw.make_raw();
        // Now, not after a flush: keys typed ahead are kept for the session.
        termios::tcsetattr(fd, OptionalActions::Now, &raw)?;
        if let Ok(mut slot) = SAVED.lock() {
            *slot = Some(saved.clone());
        }
        Ok(Some(RawMode { saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Ok(mut slot) = SAVED.lock() {
            *slot = None;
        }
        let stdin = std::io::stdin();
        let _ = termios::tcsetattr(stdin.as_fd(), OptionalActions::Now, &self.saved);
    }
}

/// Leave raw mode if a `RawMode` is alive: for the panic hook, which runs before anything is
/// dropped.
pub fn restore() {
    // `try_lock`: the hook must not wait on a lock the panicking code may hold.
    let Ok(mut slot) = SAVED.try_lock() else {
        return;
    };
    if let Some(saved) = slot.take() {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), OptionalActions::Now, &saved);
    }
}

/// The terminal's size as (columns, rows), from stdout or stdin, if either is a terminal.
pub fn size() -> Option<(u16, u16)> {
    let from = |fd: BorrowedFd<'_>| {
        termios::tcgetwinsize(fd)
            .ok()
            .filter(|w| w.ws_col > 0 && w.ws_row > 0)
            .map(|w| (w.ws_col, w.ws_row))
    };
    from(std::io::stdout().as_fd()).or_else(|| from(std::io::stdin().as_fd()))
}
