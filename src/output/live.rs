//! Live views on a terminal (`--watch`, `cluster top`): the alternate screen, as `watch` and `top`
//! use it, left however the command ends (Ctrl-C, an error, a panic), and each frame drawn from
//! the top of a clean screen.

use std::io::Write;

/// The alternate screen of stdout's terminal, with the cursor hidden, until this is dropped.
pub struct Screen(());

impl Screen {
    pub fn enter() -> Screen {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"\x1b[?1049h\x1b[?25l");
        let _ = out.flush();
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
