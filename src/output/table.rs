//! Borderless aligned tables, as kubectl and gh print them: columns two spaces apart, no trailing
//! spaces. On a terminal the table is fitted to its width: free text (descriptions, messages) is
//! shortened with `…` first, then the columns each list marks as least important are left out.
//! An identifier (UPID, volid, name, tag list) is never broken or shortened; a table that still
//! does not fit runs past the edge rather than lie.

use std::io::Write;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The narrowest a free-text column is shortened to (or its header, if wider).
const FREE_MIN: usize = 12;
const GAP: usize = 2;

/// How a column behaves when the table is too wide.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fit {
    /// 0: always shown; otherwise left out before any column with a lower number.
    pub priority: u8,
    /// Free text that may be shortened.
    pub free: bool,
}

/// A cell's text and its colour (an ANSI SGR code such as `32`), applied without counting toward
/// the width.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    pub text: String,
    pub color: Option<&'static str>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, color: None }
    }
}

/// How many terminal columns `text` takes; printable ASCII (nearly every cell) without the
/// Unicode tables.
pub fn text_width(text: &str) -> usize {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        text.len()
    } else {
        text.width()
    }
}

/// Which columns are shown and how wide each is, for a terminal `width` columns wide (`None`: no
/// limit, every column at its natural width).
pub fn layout(
    header: Option<&[String]>,
    rows: &[Vec<Cell>],
    fits: &[Fit],
    width: Option<usize>,
) -> Vec<Option<usize>> {
    let n = fits.len();
    let mut natural = vec![0usize; n];
    let mut heads = vec![0usize; n];
    if let Some(h) = header {
        for (i, t) in h.iter().enumerate().take(n) {
            heads[i] = text_width(t);
            natural[i] = heads[i];
        }
    }
    for row in rows {
        for (w, cell) in natural.iter_mut().zip(row) {
            *w = (*w).max(text_width(&cell.text));
        }
    }
    let Some(width) = width else {
        return natural.into_iter().map(Some).collect();
    };
    let mut shown = vec![true; n];
    loop {
        let visible = shown.iter().filter(|s| **s).count();
        let gaps = GAP * visible.saturating_sub(1);
        let fixed: usize = (0..n)
            .filter(|&i| shown[i] && !fits[i].free)
            .map(|i| natural[i])
            .sum::<usize>()
            + gaps;
        let free: Vec<usize> = (0..n).filter(|&i| shown[i] && fits[i].free).collect();
        let floor = |i: usize| natural[i].min(heads[i].max(FREE_MIN));
        let floors: usize = free.iter().map(|&i| floor(i)).sum();
        if fixed + floors <= width {
            let mut widths: Vec<Option<usize>> =
                (0..n).map(|i| shown[i].then_some(natural[i])).collect();
            // Share what is left among the free columns, the narrowest first, so a short one
            // keeps its whole text and a long one takes the rest.
            let mut left = width - fixed;
            let mut order = free.clone();
            order.sort_by_key(|&i| natural[i]);
            for (k, &i) in order.iter().enumerate() {
                let share = left / (order.len() - k);
                let w = natural[i].min(share.max(floor(i)));
                widths[i] = Some(w);
                left = left.saturating_sub(w);
            }
            return widths;
        }
        // Leave out the least important column (the rightmost of equals).
        let drop = (0..n)
            .filter(|&i| shown[i] && fits[i].priority > 0)
            .max_by_key(|&i| (fits[i].priority, i));
        match drop {
            Some(i) => shown[i] = false,
            None => {
                return (0..n)
                    .map(|i| shown[i].then(|| if fits[i].free { floor(i) } else { natural[i] }))
                    .collect()
            }
        }
    }
}

/// Writes the table with the widths from [`layout`] (`None`: the column is left out).
pub fn write(
    out: &mut impl Write,
    header: Option<&[String]>,
    rows: &[Vec<Cell>],
    widths: &[Option<usize>],
    color: bool,
) -> std::io::Result<()> {
    let mut line = String::new();
    let mut emit = |cells: &mut dyn Iterator<Item = (&str, Option<&'static str>)>| {
        line.clear();
        // Spaces owed to the cells so far: written only before more text, never at the end.
        let mut pending = 0usize;
        let mut first = true;
        for ((text, paint), w) in cells.zip(widths) {
            let Some(w) = *w else { continue };
            if !first {
                pending += GAP;
            }
            first = false;
            let text = shorten(text, w);
            if !text.is_empty() {
                line.extend(std::iter::repeat_n(' ', pending));
                pending = 0;
                match paint.filter(|_| color) {
                    Some(code) => {
                        line.push_str("\x1b[");
                        line.push_str(code);
                        line.push('m');
                        line.push_str(&text);
                        line.push_str("\x1b[0m");
                    }
                    None => line.push_str(&text),
                }
            }
            pending += w.saturating_sub(text_width(&text));
        }
        writeln!(out, "{line}")
    };
    if let Some(h) = header {
        emit(&mut h.iter().map(|t| (t.as_str(), None)))?;
    }
    for row in rows {
        emit(&mut row.iter().map(|c| (c.text.as_str(), c.color)))?;
    }
    Ok(())
}

/// The text cut to `w` columns with `…` at the end, if it is wider.
fn shorten(text: &str, w: usize) -> std::borrow::Cow<'_, str> {
    if text_width(text) <= w {
        return text.into();
    }
    let mut cut = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let cw = ch.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        cut.push(ch);
        used += cw;
    }
    cut.push('…');
    cut.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(rows: &[&[&str]]) -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|r| r.iter().map(|t| Cell::from(t.to_string())).collect())
            .collect()
    }

    fn render(rows: &[&[&str]], fits: &[Fit], width: Option<usize>) -> String {
        let rows = cells(rows);
        let widths = layout(None, &rows, fits, width);
        let mut out = vec![];
        write(&mut out, None, &rows, &widths, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    const ID: Fit = Fit {
        priority: 0,
        free: false,
    };
    const FREE: Fit = Fit {
        priority: 0,
        free: true,
    };
    const LOW: Fit = Fit {
        priority: 2,
        free: false,
    };

    #[test]
    fn aligned_without_trailing_spaces() {
        let text = render(
            &[&["a", "bbb", ""], &["cccc", "d", "e"]],
            &[ID, ID, ID],
            None,
        );
        assert_eq!(text, "a     bbb\ncccc  d    e\n");
    }

    #[test]
    fn free_text_is_shortened_before_a_column_goes() {
        let rows: &[&[&str]] = &[&[
            "local:backup/vzdump-qemu-100.vma.zst",
            "5",
            "a rather long note that goes on",
        ]];
        let text = render(rows, &[ID, LOW, FREE], Some(60));
        assert_eq!(
            text,
            "local:backup/vzdump-qemu-100.vma.zst  5  a rather long note…\n"
        );
        assert!(text.trim_end().chars().count() <= 60);
    }

    #[test]
    fn low_priority_columns_go_then_identifiers_overflow_whole() {
        let rows: &[&[&str]] = &[&[
            "UPID:pve1:0001:0002:0003:qmstart:100:root@pam:",
            "pve1",
            "OK",
        ]];
        let fits = [
            ID,
            LOW,
            Fit {
                priority: 1,
                free: false,
            },
        ];
        assert_eq!(
            render(rows, &fits, Some(50)),
            "UPID:pve1:0001:0002:0003:qmstart:100:root@pam:  OK\n"
        );
        // Narrower than the identifier: it is shown whole all the same.
        assert_eq!(
            render(rows, &fits, Some(20)),
            "UPID:pve1:0001:0002:0003:qmstart:100:root@pam:\n"
        );
    }

    #[test]
    fn wide_characters_count_as_two() {
        let text = render(&[&["名前", "x"], &["ab", "y"]], &[ID, ID], None);
        assert_eq!(text, "名前  x\nab    y\n");
    }

    #[test]
    fn colour_does_not_count() {
        let rows = vec![vec![
            Cell {
                text: "running".into(),
                color: Some("32"),
            },
            Cell::from("web".to_string()),
        ]];
        let widths = layout(None, &rows, &[ID, ID], Some(80));
        let mut out = vec![];
        write(&mut out, None, &rows, &widths, true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\x1b[32mrunning\x1b[0m  web\n"
        );
    }
}
