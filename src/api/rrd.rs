//! `…/rrddata`: the statistics PVE keeps of a node or guest (the graphs of its web UI), as points
//! `{time, cpu, mem, netin, …}`. A value PVE has no data for (the guest was off, the node just
//! booted) is left out of its point.

use serde_json::Value;

use super::de::{self, Extra};
use super::guest::Located;
use super::nodes;
use super::{ApiError, Client, Params};

/// How far back, and so how fine (PVE 9: a point a minute for an hour or a day, every 30 minutes
/// for a week or a month, every 6 hours for a year).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeframe {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Timeframe {
    pub fn as_str(self) -> &'static str {
        match self {
            Timeframe::Hour => "hour",
            Timeframe::Day => "day",
            Timeframe::Week => "week",
            Timeframe::Month => "month",
            Timeframe::Year => "year",
        }
    }
}

/// One point: `time` (epoch seconds) and the values PVE had for it.
pub type Point = Extra;

/// A value of a point as a number (PVE's numbers may come as strings).
pub fn value(p: &Point, key: &str) -> Option<f64> {
    p.get(key).and_then(de::number)
}

/// The time of a point.
pub fn time(p: &Point) -> Option<i64> {
    value(p, "time").map(|t| t as i64)
}

fn params(tf: Timeframe) -> Params {
    Params::new()
        .set("timeframe", tf.as_str())
        .set("cf", "AVERAGE")
}

fn points(v: Value, context: &str) -> Result<Vec<Point>, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::Decode {
        context: context.into(),
        detail: e.to_string(),
    })
}

/// `GET /nodes/{node}/rrddata`: `cpu`, `iowait`, `loadavg`, `memused`, `memtotal`, `netin`,
/// `netout` (bytes per second), `rootused`…
pub async fn node(client: &Client, node: &str, tf: Timeframe) -> Result<Vec<Point>, ApiError> {
    let v: Value = client
        .get(&format!("{}/rrddata", nodes::path(node)), &params(tf))
        .await
        .map_err(nodes::unknown(node))?;
    points(v, "node statistics")
}

/// `GET …/{qemu|lxc}/{vmid}/rrddata`: `cpu`, `maxcpu`, `mem`, `maxmem`, `netin`, `netout`,
/// `diskread`, `diskwrite` (bytes per second)…
pub async fn guest(
    client: &Client,
    g: &impl Located,
    tf: Timeframe,
) -> Result<Vec<Point>, ApiError> {
    let v: Value = client
        .get(&format!("{}/rrddata", g.path()), &params(tf))
        .await?;
    points(v, "guest statistics")
}
