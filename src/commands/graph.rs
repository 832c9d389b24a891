//! `--graph` of `nodes status` and `vm|ct status`: PVE's statistics of a node or guest over a
//! timeframe (its `rrddata`), drawn as a chart per metric with min, average and max. `-o json`
//! gives the series as PVE sent them with the figures; `-o tsv` the points, one per line.

use serde_json::{json, Map, Value};

use super::Ctx;
use crate::api::rrd::{self, Point, Timeframe};
use crate::api::Client;
use crate::cli::{self, GraphArgs, OutputFormat};
use crate::output::chart::{self, Summary};
use crate::output::{bytes, percent, Clock};
use crate::targets::Guest;

/// What the charts are of.
pub enum Subject<'a> {
    Node(&'a str),
    Guest(&'a Guest),
}

#[derive(Clone, Copy)]
enum Unit {
    /// A fraction shown as a percentage.
    Percent,
    Bytes,
    /// Bytes per second.
    Rate,
    Plain,
}

/// One chart: the value, its name, how it reads, and the value at the top of the chart (a field
/// of the points, such as `maxmem`; else the largest value seen).
struct Metric {
    key: &'static str,
    label: &'static str,
    unit: Unit,
    top: Option<&'static str>,
}

const fn m(
    key: &'static str,
    label: &'static str,
    unit: Unit,
    top: Option<&'static str>,
) -> Metric {
    Metric {
        key,
        label,
        unit,
        top,
    }
}

const NODE: [Metric; 6] = [
    m("cpu", "CPU", Unit::Percent, None),
    m("iowait", "IO wait", Unit::Percent, None),
    m("loadavg", "load", Unit::Plain, None),
    m("memused", "memory", Unit::Bytes, Some("memtotal")),
    m("netin", "net in", Unit::Rate, None),
    m("netout", "net out", Unit::Rate, None),
];

const GUEST: [Metric; 6] = [
    m("cpu", "CPU", Unit::Percent, None),
    m("mem", "memory", Unit::Bytes, Some("maxmem")),
    m("netin", "net in", Unit::Rate, None),
    m("netout", "net out", Unit::Rate, None),
    m("diskread", "disk read", Unit::Rate, None),
    m("diskwrite", "disk write", Unit::Rate, None),
];

pub fn timeframe(t: cli::Timeframe) -> Timeframe {
    match t {
        cli::Timeframe::Hour => Timeframe::Hour,
        cli::Timeframe::Day => Timeframe::Day,
        cli::Timeframe::Week => Timeframe::Week,
        cli::Timeframe::Month => Timeframe::Month,
        cli::Timeframe::Year => Timeframe::Year,
    }
}

/// Read the statistics and show them.
pub async fn show(
    ctx: &Ctx,
    client: &Client,
    subject: &Subject<'_>,
    a: &GraphArgs,
) -> anyhow::Result<()> {
    let tf = timeframe(a.timeframe);
    let (points, metrics, title, mut head) = match subject {
        Subject::Node(node) => (
            rrd::node(client, node, tf).await?,
            &NODE,
            format!("node {node}"),
            json!({ "node": node }),
        ),
        Subject::Guest(g) => (
            rrd::guest(client, *g, tf).await?,
            &GUEST,
            format!("{} on {}", g.label(), g.node),
            json!({ "vmid": g.vmid, "node": g.node, "type": g.kind.as_str() }),
        ),
    };
    let series: Vec<Vec<Option<f64>>> = metrics
        .iter()
        .map(|mt| points.iter().map(|p| rrd::value(p, mt.key)).collect())
        .collect();
    match ctx.out.format {
        OutputFormat::Json | OutputFormat::Jsonl | OutputFormat::Yaml => {
            let mut figures = Map::new();
            for (mt, s) in metrics.iter().zip(&series) {
                if let Some(sum) = chart::summary(s) {
                    figures.insert(
                        mt.key.into(),
                        json!({ "min": sum.min, "avg": sum.avg, "max": sum.max }),
                    );
                }
            }
            if let Value::Object(h) = &mut head {
                h.insert("timeframe".into(), json!(tf.as_str()));
                h.insert("cf".into(), json!("AVERAGE"));
                h.insert("summary".into(), Value::Object(figures));
                h.insert("points".into(), serde_json::to_value(&points)?);
            }
            ctx.out.json(&head)
        }
        OutputFormat::Tsv => {
            let mut columns = vec![crate::output::col(
                "time",
                "TIME",
                crate::output::Kind::Epoch,
            )];
            columns.extend(
                metrics
                    .iter()
                    .map(|mt| crate::output::col(mt.key, mt.label, crate::output::Kind::Text)),
            );
            let rows: Vec<Value> = points
                .iter()
                .map(|p| Value::Object(p.clone().into_iter().collect()))
                .collect();
            ctx.out.list(&columns, &rows)
        }
        OutputFormat::Table | OutputFormat::Wide => {
            let lines = draw(
                &ctx.out.clock,
                &title,
                tf,
                &points,
                metrics,
                &series,
                (width(), a.height as usize),
            );
            ctx.out.lines(lines)
        }
    }
}

/// The width to draw in: the terminal's, or 80 columns.
fn width() -> usize {
    crate::output::live::size()
        .map(|(cols, _)| usize::from(cols))
        .unwrap_or(80)
        .max(30)
}

/// The charts as lines of text.
fn draw(
    clock: &Clock,
    title: &str,
    tf: Timeframe,
    points: &[Point],
    metrics: &[Metric],
    series: &[Vec<Option<f64>>],
    // Columns and rows to draw in.
    (cols, height): (usize, usize),
) -> Vec<String> {
    let times: Vec<i64> = points.iter().filter_map(rrd::time).collect();
    let mut out = vec![match (times.first(), times.last()) {
        (Some(first), Some(last)) => {
            let step = if times.len() > 1 {
                format!(
                    ", one every {}",
                    humantime::format_duration(std::time::Duration::from_secs(
                        u64::try_from(times[1] - times[0]).unwrap_or(0)
                    ))
                )
            } else {
                String::new()
            };
            format!(
                "{title}, the last {}: {} points{step}, {} to {}",
                tf.as_str(),
                times.len(),
                clock.local(*first),
                clock.local(*last)
            )
        }
        _ => format!("{title}, the last {}: no statistics", tf.as_str()),
    }];
    // Two columns of margin, the chart, a space and the label of its top value.
    let chart_width = cols.saturating_sub(14).max(10);
    for (mt, s) in metrics.iter().zip(series) {
        out.push(String::new());
        let Some(sum) = chart::summary(s) else {
            out.push(format!("{}: no data", mt.label));
            continue;
        };
        let top_field = mt.top.and_then(|f| {
            points
                .iter()
                .filter_map(|p| rrd::value(p, f))
                .reduce(f64::max)
        });
        let top = top_field.unwrap_or(sum.max);
        out.push(heading(mt, &sum, top_field));
        let rows = if height <= 1 {
            vec![chart::sparkline(s, chart_width, top)]
        } else {
            chart::braille(s, chart_width, height, top)
        };
        let last = rows.len() - 1;
        for (i, row) in rows.into_iter().enumerate() {
            let label = if i == 0 {
                figure(mt.unit, top)
            } else if i == last {
                "0".into()
            } else {
                String::new()
            };
            out.push(format!("  {row} {label}").trim_end().to_string());
        }
    }
    out
}

/// `memory  min 1.0 GiB  avg 2.0 GiB  max 3.0 GiB  of 8 GiB`.
fn heading(mt: &Metric, s: &Summary, of: Option<f64>) -> String {
    let mut line = format!(
        "{}  min {}  avg {}  max {}",
        mt.label,
        figure(mt.unit, s.min),
        figure(mt.unit, s.avg),
        figure(mt.unit, s.max)
    );
    if let Some(top) = of {
        line.push_str(&format!("  of {}", figure(mt.unit, top)));
    }
    line
}

fn figure(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Percent => percent(v),
        Unit::Bytes => bytes(v),
        Unit::Rate => format!("{}/s", bytes(v)),
        Unit::Plain => format!("{v:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(time: i64, cpu: Option<f64>, mem: Option<f64>) -> Point {
        let mut p = Point::new();
        p.insert("time".into(), json!(time));
        if let Some(c) = cpu {
            p.insert("cpu".into(), json!(c));
        }
        if let Some(m) = mem {
            p.insert("mem".into(), json!(m));
            p.insert("maxmem".into(), json!(1073741824));
        }
        p
    }

    #[test]
    fn charts_with_their_figures() {
        let points = vec![
            point(60, None, None),
            point(120, Some(0.1), Some(268435456.0)),
            point(180, Some(0.3), Some(536870912.0)),
        ];
        let series: Vec<Vec<Option<f64>>> = GUEST[..2]
            .iter()
            .map(|mt| points.iter().map(|p| rrd::value(p, mt.key)).collect())
            .collect();
        let clock = Clock::fixed(jiff::tz::TimeZone::UTC, 0);
        let lines = draw(
            &clock,
            "web",
            Timeframe::Hour,
            &points,
            &GUEST[..2],
            &series,
            (80, 2),
        );
        assert!(
            lines[0].starts_with("web, the last hour: 3 points, one every 1m"),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"CPU  min 10.0%  avg 20.0%  max 30.0%".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"memory  min 256 MiB  avg 384 MiB  max 512 MiB  of 1 GiB".to_string()),
            "{lines:?}"
        );
        // The CPU chart: a gap, a third, the top; two rows high, labelled with its top value.
        let at = lines.iter().position(|l| l.starts_with("CPU")).unwrap();
        assert_eq!(lines[at + 1], "  ⠀⡇ 30.0%");
        assert_eq!(lines[at + 2], "  ⢰⡇ 0");
    }
}
