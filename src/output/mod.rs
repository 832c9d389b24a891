//! Rendering: commands hand over rows (JSON objects with PVE's field names) and a column spec; this
//! module turns them into a table, JSON or TSV. Terminal detection lives here too, in one place.

pub mod chart;
pub mod format;
pub mod live;
pub mod progress;
pub mod prompt;
#[cfg(unix)]
pub mod raw;

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use comfy_table::{presets, Cell, Color, ContentArrangement, Table};
use serde_json::Value;

use crate::cli::{ColorChoice, GlobalArgs, OutputFormat};
use crate::error::CliError;
pub use format::{bytes, duration_secs, epoch, percent};

/// How a column's raw value is shown in a table (JSON and TSV always show the raw value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bytes,
    /// A fraction 0..1 shown as a percentage.
    Percent,
    /// Seconds shown as `3d 4h`.
    Duration,
    /// UNIX epoch shown as a UTC date.
    Epoch,
    /// 0/1 shown as yes/no.
    Flag,
    /// A guest or node state, coloured on a terminal.
    State,
}

#[derive(Clone, Debug)]
pub struct Column {
    /// The field name in the row (PVE's name), also the TSV header and the `--columns` name.
    pub key: Cow<'static, str>,
    /// The table header.
    pub header: Cow<'static, str>,
    pub kind: Kind,
}

pub const fn col(key: &'static str, header: &'static str, kind: Kind) -> Column {
    Column {
        key: Cow::Borrowed(key),
        header: Cow::Borrowed(header),
        kind,
    }
}

/// What the terminal is, asked once.
#[derive(Clone, Copy, Debug)]
pub struct Term {
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    pub stdin_tty: bool,
}

impl Term {
    pub fn detect() -> Self {
        Term {
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            stdin_tty: std::io::stdin().is_terminal(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Output {
    pub format: OutputFormat,
    pub headers: bool,
    pub columns: Option<Vec<String>>,
    pub color: bool,
    pub quiet: bool,
    pub term: Term,
}

impl Output {
    pub fn new(flags: &GlobalArgs, format: OutputFormat, term: Term, no_color_env: bool) -> Self {
        let color = match flags.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => term.stdout_tty && !no_color_env,
        };
        Output {
            format,
            headers: !flags.no_headers,
            columns: flags.columns.clone(),
            color,
            quiet: flags.quiet,
            term,
        }
    }

    /// Informational line on stderr (silenced by `--quiet`).
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// Warning on stderr (always shown).
    pub fn warn(&self, msg: &str) {
        eprintln!("warning: {msg}");
    }

    /// A line on stderr that is always shown, also with `--quiet` (what was interrupted, a question's context).
    pub fn notice(&self, msg: &str) {
        eprintln!("{msg}");
    }

    /// Any serialisable value as pretty JSON on stdout (with `-o json`, or where JSON is the data).
    pub fn json<T: serde::Serialize + ?Sized>(&self, value: &T) -> anyhow::Result<()> {
        let mut stdout = buffered();
        serde_json::to_writer_pretty(&mut stdout, value)?;
        writeln!(stdout)?;
        stdout.flush()?;
        Ok(())
    }

    /// One line on stdout at once (a log being followed): flushed, so a pipe sees it now.
    pub fn line_now(&self, line: &str) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
        Ok(())
    }

    /// A plain aligned table on stderr (the summary of a run over several targets).
    pub fn stderr_table(&self, headers: &[&str], rows: Vec<Vec<String>>) {
        let mut table = Table::new();
        table.load_preset(presets::NOTHING);
        table.set_header(headers.iter().copied());
        for row in rows {
            table.add_row(row);
        }
        for col in table.column_iter_mut() {
            col.set_padding((0, 2));
        }
        for line in table.to_string().lines() {
            eprintln!("{}", line.trim_end());
        }
    }

    fn pick(&self, all: &[Column], rows: &[Value]) -> Result<Vec<Column>, CliError> {
        let Some(wanted) = &self.columns else {
            return Ok(all.to_vec());
        };
        let mut out = vec![];
        for name in wanted.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            if let Some(c) = all
                .iter()
                .find(|c| c.key.eq_ignore_ascii_case(name) || c.header.eq_ignore_ascii_case(name))
            {
                out.push(c.clone());
            } else if rows.iter().any(|r| r.get(name).is_some()) {
                // Any field PVE sent can be a column, shown raw.
                out.push(Column {
                    key: Cow::Owned(name.to_string()),
                    header: Cow::Owned(name.to_uppercase()),
                    kind: Kind::Text,
                });
            } else {
                let known: Vec<&str> = all.iter().map(|c| c.key.as_ref()).collect();
                return Err(CliError::usage(format!(
                    "unknown column '{name}'; columns: {}",
                    known.join(",")
                )));
            }
        }
        Ok(out)
    }

    /// A list: table or TSV of the columns, or a JSON array of the whole rows.
    pub fn list(&self, columns: &[Column], rows: &[Value]) -> anyhow::Result<()> {
        if self.format == OutputFormat::Json {
            return self.json(rows);
        }
        let mut stdout = buffered();
        match self.format {
            OutputFormat::Json => {}
            OutputFormat::Tsv => {
                let cols = self.pick(columns, rows)?;
                if self.headers {
                    let names: Vec<&str> = cols.iter().map(|c| c.key.as_ref()).collect();
                    writeln!(stdout, "{}", names.join("\t"))?;
                }
                for row in rows {
                    let cells: Vec<String> = cols
                        .iter()
                        .map(|c| tsv_cell(row.get(c.key.as_ref())))
                        .collect();
                    writeln!(stdout, "{}", cells.join("\t"))?;
                }
            }
            OutputFormat::Table if !self.term.stdout_tty && !self.color => {
                // Plain aligned columns for pipes and files, without a table engine: a list of
                // thousands of guests is written in a few milliseconds.
                let cols = self.pick(columns, rows)?;
                let mut lines: Vec<Vec<String>> = Vec::with_capacity(rows.len() + 1);
                if self.headers {
                    lines.push(cols.iter().map(|c| c.header.to_string()).collect());
                }
                for row in rows {
                    lines.push(
                        cols.iter()
                            .map(|c| human(c.kind, row.get(c.key.as_ref())))
                            .collect(),
                    );
                }
                write_aligned(&mut stdout, &lines)?;
            }
            OutputFormat::Table => {
                let cols = self.pick(columns, rows)?;
                let mut table = self.table();
                if self.headers {
                    table.set_header(cols.iter().map(|c| Cell::new(c.header.as_ref())));
                }
                for row in rows {
                    table.add_row(
                        cols.iter()
                            .map(|c| self.cell(c.kind, row.get(c.key.as_ref()))),
                    );
                }
                if !rows.is_empty() || self.headers {
                    writeln!(stdout, "{}", self.finish(table))?;
                }
            }
        }
        stdout.flush()?;
        Ok(())
    }

    /// One object: key/value table, TSV of key and value, or the JSON object.
    pub fn object(&self, value: &Value, kinds: &[Column]) -> anyhow::Result<()> {
        if self.format == OutputFormat::Json {
            return self.json(value);
        }
        let mut stdout = buffered();
        let Some(map) = value.as_object() else {
            writeln!(stdout, "{}", tsv_cell(Some(value)))?;
            stdout.flush()?;
            return Ok(());
        };
        let kind_of = |k: &str| {
            kinds
                .iter()
                .find(|c| c.key == k)
                .map(|c| c.kind)
                .unwrap_or(Kind::Text)
        };
        // `--columns` picks keys in its own order, case-insensitively; a key PVE left out (it
        // omits unset ones, such as `lock`) is simply not shown.
        let keys: Vec<&String> = match &self.columns {
            Some(wanted) => wanted
                .iter()
                .filter_map(|w| map.keys().find(|k| k.eq_ignore_ascii_case(w.trim())))
                .collect(),
            None => map.keys().collect(),
        };
        if keys.is_empty() && !map.is_empty() {
            let known: Vec<&str> = map.keys().map(String::as_str).collect();
            return Err(CliError::usage(format!(
                "none of the columns given is a field here; fields: {}",
                known.join(",")
            ))
            .into());
        }
        if self.format == OutputFormat::Tsv {
            if self.headers {
                writeln!(stdout, "key\tvalue")?;
            }
            for k in keys {
                writeln!(stdout, "{k}\t{}", tsv_cell(map.get(k.as_str())))?;
            }
            stdout.flush()?;
            return Ok(());
        }
        let mut table = self.table();
        if self.headers {
            table.set_header(vec![Cell::new("KEY"), Cell::new("VALUE")]);
        }
        for k in keys {
            table.add_row(vec![
                Cell::new(k),
                self.cell(kind_of(k), map.get(k.as_str())),
            ]);
        }
        writeln!(stdout, "{}", self.finish(table))?;
        stdout.flush()?;
        Ok(())
    }

    /// Plain lines on stdout (task logs, single values).
    pub fn lines<I: IntoIterator<Item = String>>(&self, lines: I) -> anyhow::Result<()> {
        let mut stdout = buffered();
        for l in lines {
            writeln!(stdout, "{l}")?;
        }
        stdout.flush()?;
        Ok(())
    }

    fn table(&self) -> Table {
        let mut table = Table::new();
        if self.term.stdout_tty {
            table.load_preset(presets::UTF8_FULL_CONDENSED);
            table.set_content_arrangement(ContentArrangement::Dynamic);
        } else {
            // Plain aligned columns for pipes and files.
            table.load_preset(presets::NOTHING);
            table.force_no_tty();
        }
        if self.color {
            table.enforce_styling();
        }
        table
    }

    /// The table as text: without a terminal, plain columns that start at the left margin.
    fn finish(&self, mut table: Table) -> String {
        if !self.term.stdout_tty {
            for col in table.column_iter_mut() {
                col.set_padding((0, 2));
            }
        }
        trim_lines(&table.to_string())
    }

    fn cell(&self, kind: Kind, value: Option<&Value>) -> Cell {
        let text = human(kind, value);
        let cell = Cell::new(&text);
        if !self.color || kind != Kind::State {
            return cell;
        }
        match text.as_str() {
            "running" | "online" | "available" | "OK" => cell.fg(Color::Green),
            "stopped" | "offline" | "unknown" => cell.fg(Color::DarkGrey),
            "paused" | "suspended" => cell.fg(Color::Yellow),
            _ => cell,
        }
    }
}

/// Rows as left-aligned columns two spaces apart, without trailing spaces.
fn write_aligned(out: &mut impl Write, lines: &[Vec<String>]) -> std::io::Result<()> {
    use unicode_width::UnicodeWidthStr;
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for line in lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.width());
        }
    }
    let mut text = String::new();
    for line in lines {
        text.clear();
        for (i, cell) in line.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < line.len() {
                text.extend(std::iter::repeat_n(' ', widths[i] - cell.width() + 2));
            }
        }
        writeln!(out, "{}", text.trim_end())?;
    }
    Ok(())
}

/// stdout with a large buffer: Rust's stdout flushes at every newline, which is thousands of
/// `write` calls for a large list. Every caller flushes at its end (to see a closed pipe).
fn buffered() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock())
}

fn trim_lines(s: &str) -> String {
    s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The human form of a value in a table.
pub fn human(kind: Kind, value: Option<&Value>) -> String {
    let Some(v) = value.filter(|v| !v.is_null()) else {
        return String::new();
    };
    match kind {
        Kind::Bytes => number(v).map(bytes).unwrap_or_else(|| tsv_cell(Some(v))),
        Kind::Percent => number(v).map(percent).unwrap_or_else(|| tsv_cell(Some(v))),
        Kind::Duration => number(v)
            .map(|n| duration_secs(n as u64))
            .unwrap_or_else(|| tsv_cell(Some(v))),
        Kind::Epoch => number(v)
            .map(|n| epoch(n as i64))
            .unwrap_or_else(|| tsv_cell(Some(v))),
        Kind::Flag => match number(v) {
            Some(n) if n != 0.0 => "yes".into(),
            Some(_) => "no".into(),
            None => match v {
                Value::Bool(true) => "yes".into(),
                Value::Bool(false) => "no".into(),
                _ => tsv_cell(Some(v)),
            },
        },
        Kind::Text | Kind::State => tsv_cell(Some(v)),
    }
}

/// A raw value for TSV: strings as they are (tabs and newlines escaped), other JSON compact.
pub fn tsv_cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.replace('\t', "\\t").replace('\n', "\\n"),
        Some(other) => other.to_string(),
    }
}
