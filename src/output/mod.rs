//! Rendering: commands hand over rows (JSON objects with PVE's field names) and a column spec; this
//! module turns them into a table (fitted to the terminal), JSON, JSON lines, YAML or TSV. Terminal
//! detection lives here too, in one place.
//!
//! What every format shares: `--columns` picks fields (also under json/yaml), times (columns of
//! kind `Epoch` or `Age`) are ISO 8601 with the offset in json/jsonl/yaml/tsv and local in tables.

pub mod chart;
pub mod format;
pub mod live;
pub mod progress;
pub mod prompt;
#[cfg(unix)]
pub mod raw;
pub mod table;
pub mod time;
mod yaml;

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use serde_json::{Map, Value};

use crate::cli::{ColorChoice, GlobalArgs, OutputFormat};
use crate::error::CliError;
pub use format::{bytes, duration_secs, percent};
use table::{Cell, Fit};
pub use time::Clock;

/// How a column's raw value is shown in a table (JSON and TSV show the raw value, times as ISO 8601).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bytes,
    /// A fraction 0..1 shown as a percentage.
    Percent,
    /// Seconds shown as `3d 4h`.
    Duration,
    /// UNIX epoch shown as a local date and time.
    Epoch,
    /// UNIX epoch shown as how long ago (`3h`): a table-only view of a time field that another
    /// column (or json/tsv) shows as the time itself.
    Age,
    /// 0/1 shown as yes/no.
    Flag,
    /// A guest or node state, coloured on a terminal.
    State,
}

#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// The field name in the row (PVE's name), also the TSV header and the `--columns` name; in an
    /// object's kinds a dotted path where `*` stands for any key (`nics.*.netin`).
    pub key: &'static str,
    /// The table header.
    pub header: &'static str,
    pub kind: Kind,
    /// On a narrow terminal: 0 is always shown, others are left out the highest number first.
    pub priority: u8,
    /// Free text (a description, a message): shortened with `…` to fit before columns are left out.
    pub free: bool,
    /// Shown with `-o wide` (or when `--columns` names it) only.
    pub wide: bool,
    /// Only meaningful while the guest or node runs: blank in tables when it does not.
    pub live: bool,
}

pub const fn col(key: &'static str, header: &'static str, kind: Kind) -> Column {
    Column {
        key,
        header,
        kind,
        priority: 0,
        free: false,
        wide: false,
        live: false,
    }
}

impl Column {
    /// A column for a field only known at run time (named by `--columns`, or in an answer of
    /// `api get`), shown raw under its name in capitals. The few bytes of its name live as long
    /// as the process.
    pub fn field(name: &str) -> Column {
        let key: &'static str = Box::leak(name.to_string().into_boxed_str());
        let header: &'static str = Box::leak(name.to_uppercase().into_boxed_str());
        col(key, header, Kind::Text)
    }

    /// Left out of a narrow terminal's table before columns with a lower number.
    pub const fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// Free text, shortened with `…` on a narrow terminal.
    pub const fn free(mut self) -> Self {
        self.free = true;
        self
    }

    /// Only in `-o wide` tables (or when `--columns` names it).
    pub const fn wide(mut self) -> Self {
        self.wide = true;
        self
    }

    /// Blank in tables for a stopped guest or an offline node (CPU, memory, uptime).
    pub const fn live(mut self) -> Self {
        self.live = true;
        self
    }

    fn is_time(&self) -> bool {
        matches!(self.kind, Kind::Epoch | Kind::Age)
    }

    fn named(&self, name: &str) -> bool {
        self.key.eq_ignore_ascii_case(name) || self.header.eq_ignore_ascii_case(name)
    }
}

/// Put the terminal back before a panic's message is printed: raw mode off (a console session),
/// the main screen and the cursor (a live view). Otherwise the message would be drawn on the
/// alternate screen, which unwinding then leaves, and vanish with it. Installed first thing in
/// `main`.
pub fn on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        #[cfg(unix)]
        raw::restore();
        live::restore();
        default(info);
    }));
}

/// What the terminal is, asked once.
#[derive(Clone, Copy, Debug)]
pub struct Term {
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    pub stdin_tty: bool,
    /// The width of the terminal stdout writes to; `None` off a terminal or when it reports no
    /// size (a 0×0 pseudo-terminal), which is then treated as no terminal for layout.
    pub width: Option<usize>,
}

impl Term {
    pub fn detect() -> Self {
        let stdout_tty = std::io::stdout().is_terminal();
        Term {
            stdout_tty,
            stderr_tty: std::io::stderr().is_terminal(),
            stdin_tty: std::io::stdin().is_terminal(),
            width: if stdout_tty { stdout_width() } else { None },
        }
    }
}

#[cfg(unix)]
fn stdout_width() -> Option<usize> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    (size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn stdout_width() -> Option<usize> {
    None
}

#[derive(Clone, Debug)]
pub struct Output {
    pub format: OutputFormat,
    pub headers: bool,
    pub columns: Option<Vec<String>>,
    pub color: bool,
    pub quiet: bool,
    pub term: Term,
    /// The time zone times are shown in, and "now" for ages.
    pub clock: Clock,
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
            clock: Clock::new(flags.utc),
        }
    }

    /// Whether stdout carries structured data (json, jsonl, yaml) rather than a table or TSV.
    pub fn structured(&self) -> bool {
        matches!(
            self.format,
            OutputFormat::Json | OutputFormat::Jsonl | OutputFormat::Yaml
        )
    }

    /// Whether stdout carries a table for people (table or wide).
    pub fn tabular(&self) -> bool {
        matches!(self.format, OutputFormat::Table | OutputFormat::Wide)
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

    /// Any serialisable value on stdout as data: pretty JSON, or with `-o jsonl` one compact line
    /// per element of an array (the value itself if it is not one), or with `-o yaml` YAML.
    pub fn json<T: serde::Serialize + ?Sized>(&self, value: &T) -> anyhow::Result<()> {
        let mut stdout = buffered();
        match self.format {
            OutputFormat::Jsonl => match serde_json::to_value(value)? {
                Value::Array(items) => {
                    for item in items {
                        serde_json::to_writer(&mut stdout, &item)?;
                        writeln!(stdout)?;
                    }
                }
                one => {
                    serde_json::to_writer(&mut stdout, &one)?;
                    writeln!(stdout)?;
                }
            },
            OutputFormat::Yaml => {
                stdout.write_all(yaml::to_string(&serde_json::to_value(value)?).as_bytes())?
            }
            _ => {
                serde_json::to_writer_pretty(&mut stdout, value)?;
                writeln!(stdout)?;
            }
        }
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
        let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let rows: Vec<Vec<Cell>> = rows
            .into_iter()
            .map(|r| r.into_iter().map(Cell::from).collect())
            .collect();
        let widths = table::layout(
            Some(&header),
            &rows,
            &vec![Fit::default(); header.len()],
            None,
        );
        let mut text = vec![];
        if table::write(&mut text, Some(&header), &rows, &widths, false).is_ok() {
            eprint!("{}", String::from_utf8_lossy(&text));
        }
    }

    /// The columns shown: those `--columns` names (in its order), or the list's own for the format.
    fn pick(&self, all: &[Column], rows: &[Value]) -> Result<Vec<Column>, CliError> {
        let Some(wanted) = &self.columns else {
            return Ok(all
                .iter()
                .filter(|c| match self.format {
                    OutputFormat::Wide => true,
                    OutputFormat::Table => !c.wide,
                    // Scripts get each field once: an age is a view of a time they already have.
                    _ => !c.wide && c.kind != Kind::Age,
                })
                .cloned()
                .collect());
        };
        let mut out = vec![];
        for name in wanted.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            if let Some(c) = all
                .iter()
                .find(|c| c.key.eq_ignore_ascii_case(name))
                .or_else(|| all.iter().find(|c| c.named(name)))
            {
                out.push(*c);
            } else if rows.iter().any(|r| r.get(name).is_some()) {
                // Any field PVE sent can be a column, shown raw.
                out.push(Column::field(name));
            } else {
                let mut known: Vec<String> = vec![];
                for c in all {
                    let n = if c.kind == Kind::Age {
                        c.header.to_lowercase()
                    } else {
                        c.key.to_string()
                    };
                    if !known.contains(&n) {
                        known.push(n);
                    }
                }
                return Err(CliError::usage(format!(
                    "unknown column '{name}'; columns: {}",
                    known.join(",")
                )));
            }
        }
        Ok(out)
    }

    /// A list: a table of the columns, TSV of their raw values, or the rows as data (the whole
    /// rows, or the fields `--columns` names).
    pub fn list(&self, columns: &[Column], rows: &[Value]) -> anyhow::Result<()> {
        if self.structured() {
            return self.list_data(columns, rows);
        }
        let cols = self.pick(columns, rows)?;
        let mut stdout = buffered();
        if self.format == OutputFormat::Tsv {
            if self.headers {
                let names: Vec<&str> = cols.iter().map(|c| c.key).collect();
                writeln!(stdout, "{}", names.join("\t"))?;
            }
            let mut line = String::new();
            for row in rows {
                line.clear();
                for (i, c) in cols.iter().enumerate() {
                    if i > 0 {
                        line.push('\t');
                    }
                    line.push_str(&self.raw(c, row.get(c.key)));
                }
                writeln!(stdout, "{line}")?;
            }
        } else {
            let header: Option<Vec<String>> = self
                .headers
                .then(|| cols.iter().map(|c| c.header.to_string()).collect());
            let cells: Vec<Vec<Cell>> = rows
                .iter()
                .map(|row| {
                    let alive = alive(row);
                    cols.iter().map(|c| self.cell(c, row, alive)).collect()
                })
                .collect();
            if !cells.is_empty() || header.is_some() {
                self.write_table(&mut stdout, header.as_deref(), &cols, &cells)?;
            }
        }
        stdout.flush()?;
        Ok(())
    }

    fn list_data(&self, columns: &[Column], rows: &[Value]) -> anyhow::Result<()> {
        let times: Vec<&Column> = columns.iter().filter(|c| c.is_time()).collect();
        if self.columns.is_none() && times.is_empty() {
            return self.json(rows);
        }
        let picked = match self.columns {
            Some(_) => Some(self.pick(columns, rows)?),
            None => None,
        };
        let data: Vec<Value> = rows
            .iter()
            .map(|row| {
                let Value::Object(map) = row else {
                    return row.clone();
                };
                let mut out = match &picked {
                    Some(cols) => {
                        let mut m = Map::new();
                        for c in cols {
                            if let Some(v) = map.get(c.key) {
                                m.insert(c.key.to_string(), v.clone());
                            }
                        }
                        m
                    }
                    None => map.clone(),
                };
                for c in &times {
                    self.iso_in_place(&mut out, c.key);
                }
                Value::Object(out)
            })
            .collect();
        self.json(&data)
    }

    /// The time at `key` (a dotted path into nested objects) as ISO 8601; 0 (never) as null.
    fn iso_in_place(&self, map: &mut Map<String, Value>, key: &str) {
        let mut parts = key.split('.');
        let Some(first) = parts.next() else { return };
        let mut slot = map.get_mut(first);
        for part in parts {
            slot = slot.and_then(|v| v.get_mut(part));
        }
        if let Some(v) = slot {
            if let Some(n) = number(v) {
                *v = if n > 0.0 {
                    Value::String(self.clock.iso(n as i64))
                } else {
                    Value::Null
                };
            }
        }
    }

    fn write_table(
        &self,
        out: &mut impl Write,
        header: Option<&[String]>,
        cols: &[Column],
        cells: &[Vec<Cell>],
    ) -> std::io::Result<()> {
        let fits: Vec<Fit> = cols
            .iter()
            .map(|c| Fit {
                priority: c.priority,
                free: c.free,
            })
            .collect();
        // `--columns` asks for exactly those: they are not left out.
        let width = match self.format {
            OutputFormat::Table if self.columns.is_none() => self.term.width,
            OutputFormat::Table => self.term.width.map(|_| usize::MAX),
            _ => None,
        };
        let widths = table::layout(header, cells, &fits, width);
        table::write(out, header, cells, &widths, self.color)
    }

    /// One object: key/value table (nested objects as indented sub-rows), TSV of key and value
    /// (nested keys dotted), or the object as data.
    pub fn object(&self, value: &Value, kinds: &[Column]) -> anyhow::Result<()> {
        let Some(map) = value.as_object() else {
            if self.structured() {
                return self.json(value);
            }
            let mut stdout = buffered();
            writeln!(stdout, "{}", tsv_cell(Some(value)))?;
            stdout.flush()?;
            return Ok(());
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
        if self.structured() {
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), map[k.as_str()].clone());
            }
            for c in kinds.iter().filter(|c| c.is_time()) {
                self.iso_in_place(&mut out, c.key);
            }
            return self.json(&Value::Object(out));
        }
        let mut flat = vec![];
        for k in keys {
            flatten(k, k, 0, &map[k.as_str()], &mut flat);
        }
        let alive = alive(value);
        let kind_of = |path: &str| kinds.iter().find(|c| path_matches(c.key, path));
        let mut stdout = buffered();
        if self.format == OutputFormat::Tsv {
            if self.headers {
                writeln!(stdout, "key\tvalue")?;
            }
            for (path, _, _, v) in &flat {
                let Some(v) = v else { continue };
                let c = kind_of(path).cloned().unwrap_or(col("", "", Kind::Text));
                writeln!(stdout, "{path}\t{}", self.raw(&c, Some(v)))?;
            }
            stdout.flush()?;
            return Ok(());
        }
        let header = self
            .headers
            .then(|| vec!["KEY".to_string(), "VALUE".to_string()]);
        let cells: Vec<Vec<Cell>> = flat
            .iter()
            .map(|(path, depth, label, v)| {
                let key = Cell::from(format!("{}{label}", "  ".repeat(*depth)));
                let value = match (v, kind_of(path)) {
                    (None, _) => Cell::default(),
                    (Some(_), Some(c)) if c.live && !alive => Cell::default(),
                    (Some(v), Some(c)) => self.paint(c.kind, self.human(c.kind, Some(v))),
                    (Some(v), None) => Cell::from(self.human(Kind::Text, Some(v))),
                };
                vec![key, value]
            })
            .collect();
        let widths = table::layout(header.as_deref(), &cells, &[Fit::default(); 2], None);
        table::write(&mut stdout, header.as_deref(), &cells, &widths, self.color)?;
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

    /// A table cell: the human form, blank for a live value of something that is not running.
    fn cell(&self, c: &Column, row: &Value, alive: bool) -> Cell {
        if c.live && !alive {
            return Cell::default();
        }
        self.paint(c.kind, self.human(c.kind, row.get(c.key)))
    }

    fn paint(&self, kind: Kind, text: String) -> Cell {
        let color = match (kind, text.as_str()) {
            (Kind::State, "running" | "online" | "available" | "active" | "OK") => Some("32"),
            (Kind::State, "stopped" | "offline" | "unknown" | "inactive") => Some("90"),
            (Kind::State, "paused" | "suspended" | "template") => Some("33"),
            _ => None,
        };
        Cell { text, color }
    }

    /// The human form of a value in a table.
    pub fn human(&self, kind: Kind, value: Option<&Value>) -> String {
        let Some(v) = value.filter(|v| !v.is_null()) else {
            return String::new();
        };
        let n = number(v);
        match (kind, n) {
            (Kind::Bytes, Some(n)) => bytes(n),
            (Kind::Percent, Some(n)) => percent(n),
            (Kind::Duration, Some(n)) => duration_secs(n as u64),
            (Kind::Epoch, Some(n)) => self.clock.local(n as i64),
            (Kind::Age, Some(n)) => self.clock.age(n as i64),
            (Kind::Flag, Some(n)) => if n != 0.0 { "yes" } else { "no" }.into(),
            (Kind::Flag, None) => match v {
                Value::Bool(true) => "yes".into(),
                Value::Bool(false) => "no".into(),
                _ => tsv_cell(Some(v)),
            },
            _ => tsv_cell(Some(v)),
        }
    }

    /// A raw value for TSV: as PVE sent it, times as ISO 8601.
    fn raw(&self, c: &Column, value: Option<&Value>) -> String {
        match value.and_then(number) {
            Some(n) if c.is_time() && n > 0.0 => self.clock.iso(n as i64),
            Some(_) if c.is_time() => String::new(),
            _ => tsv_cell(value),
        }
    }
}

/// Whether a row's guest or node is running (a row without a status counts as running).
fn alive(row: &Value) -> bool {
    match row.get("status").and_then(Value::as_str) {
        None => true,
        Some(s) => matches!(s, "running" | "paused" | "online"),
    }
}

/// `nics.*.netin` matches `nics.net0.netin`.
fn path_matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut k) = (pattern.split('.'), path.split('.'));
    loop {
        match (p.next(), k.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == "*" || a == b => {}
            _ => return false,
        }
    }
}

/// An object's entries as rows: (dotted path, depth, label, value); a nested object is a row
/// without a value followed by its entries one level deeper; a list of plain values is one row.
fn flatten<'a>(
    path: &str,
    label: &str,
    depth: usize,
    v: &'a Value,
    out: &mut Vec<(String, usize, String, Option<Cow<'a, Value>>)>,
) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push((path.to_string(), depth, label.to_string(), None));
            for (k, v) in m {
                flatten(&format!("{path}.{k}"), k, depth + 1, v, out);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            out.push((path.to_string(), depth, label.to_string(), None));
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{path}.{i}"), &i.to_string(), depth + 1, v, out);
            }
        }
        Value::Array(items) => {
            let joined: Vec<String> = items.iter().map(|i| tsv_cell(Some(i))).collect();
            out.push((
                path.to_string(),
                depth,
                label.to_string(),
                Some(Cow::Owned(Value::String(joined.join(",")))),
            ));
        }
        other => out.push((
            path.to_string(),
            depth,
            label.to_string(),
            Some(Cow::Borrowed(other)),
        )),
    }
}

/// stdout with a large buffer: Rust's stdout flushes at every newline, which is thousands of
/// `write` calls for a large list. Every caller flushes at its end (to see a closed pipe).
fn buffered() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock())
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
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
