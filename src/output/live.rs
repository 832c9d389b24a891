//! Live views on a terminal (`--watch`, `cluster top`): the alternate screen, as `watch` and `top`
//! use it, left however the command ends (Ctrl-C, an error, a panic), and each frame drawn from
//! the top of a clean screen.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether a `Screen` is alive, for the panic hook ([`restore`]).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The alternate screen of stdout's terminal, with the cursor hidden, until this is dropped.
pub struct Screen(());

impl Screen {
    pub fn enter() -> Screen {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"\x1b[?1049h\x1b[?25l");
        let _ = out.flush();
        ACTIVE.store(true, Ordering::SeqCst);
        Screen(())
    }

    /// Start a frame: the cursor to the top left, the screen cleared.
    pub fn frame(&self) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"\x1b[H\x1b[2J");
        let _ = out.flush();
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Back to the main screen with the cursor shown, if a `Screen` is alive (once: the panic hook
/// and the drop may both ask).
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"\x1b[?25h\x1b[?1049l");
        let _ = out.flush();
    }
}

/// The terminal's size as (columns, rows), when there is one.
pub fn size() -> Option<(u16, u16)> {
    #[cfg(unix)]
    {
        super::raw::size()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The panic hook and the drop both restore; the screen is left once.
    #[test]
    fn the_alternate_screen_is_left_once() {
        let screen = Screen::enter();
        assert!(ACTIVE.load(Ordering::SeqCst));
        restore();
        assert!(!ACTIVE.load(Ordering::SeqCst));
        drop(screen);
        assert!(!ACTIVE.load(Ordering::SeqCst));
    }
}
