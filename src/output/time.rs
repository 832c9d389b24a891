//! Times as people and scripts read them: PVE sends UNIX epoch seconds; tables show them in the
//! user's time zone (`TZ`, else the system's) and as ages (`3h`), JSON, YAML and TSV as ISO 8601
//! with the offset (`2026-12-01T09:14:03+01:00`). `--utc` shows UTC everywhere.

use std::sync::OnceLock;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::format::duration_secs;

/// The zone times are shown in; ages count from the moment they are shown (a `--watch` view
/// keeps them current), or from a fixed moment in tests.
#[derive(Clone, Debug)]
pub struct Clock {
    /// Looked up at the first time shown: finding the system's zone reads the zone database,
    /// which a command that shows no time should not pay for.
    zone: OnceLock<TimeZone>,
    fixed_now: Option<i64>,
}

impl Clock {
    pub fn new(utc: bool) -> Self {
        let zone = OnceLock::new();
        if utc {
            let _ = zone.set(TimeZone::UTC);
        }
        Clock {
            zone,
            fixed_now: None,
        }
    }

    /// A clock at a fixed moment, in a fixed zone (for tests).
    pub fn fixed(zone: TimeZone, now: i64) -> Self {
        Clock {
            zone: OnceLock::from(zone),
            fixed_now: Some(now),
        }
    }

    fn zone(&self) -> &TimeZone {
        // An unreadable TZ or /etc/localtime falls back to UTC: a time is still shown.
        self.zone
            .get_or_init(|| TimeZone::try_system().unwrap_or(TimeZone::UTC))
    }

    /// `2026-12-01 09:14:03` in the clock's zone; empty for 0 (PVE's "never"), the number itself
    /// for a value no calendar has.
    pub fn local(&self, secs: i64) -> String {
        self.render(secs, "%Y-%m-%d %H:%M:%S")
    }

    /// `2026-12-01T09:14:03+01:00`.
    pub fn iso(&self, secs: i64) -> String {
        self.render(secs, "%Y-%m-%dT%H:%M:%S%:z")
    }

    /// How long ago, kubectl's way: `45s`, `12m`, `3h`, `5d`; `in 2h` for a time to come.
    pub fn age(&self, secs: i64) -> String {
        if secs <= 0 {
            return String::new();
        }
        let now = self
            .fixed_now
            .unwrap_or_else(|| Timestamp::now().as_second());
        let delta = now - secs;
        if delta < 0 {
            return format!("in {}", short(delta.unsigned_abs()));
        }
        short(delta as u64)
    }

    fn render(&self, secs: i64, pattern: &str) -> String {
        if secs <= 0 {
            return String::new();
        }
        match Timestamp::from_second(secs) {
            Ok(t) => t
                .to_zoned(self.zone().clone())
                .strftime(pattern)
                .to_string(),
            Err(_) => secs.to_string(),
        }
    }
}

/// One unit, as kubectl's AGE column: seconds up to 2 minutes, minutes up to 2 hours, hours up to
/// 2 days, then days (and years past 2 years).
fn short(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs}s"),
        120..7200 => format!("{}m", secs / 60),
        7200..172_800 => format!("{}h", secs / 3600),
        172_800..63_072_000 => format!("{}d", secs / 86400),
        _ => {
            let rest = duration_secs(secs % 31_536_000);
            format!(
                "{}y{}",
                secs / 31_536_000,
                rest.split(' ').next().unwrap_or("")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> Clock {
        // A POSIX rule, so the test needs no time zone database.
        let zone = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        Clock::fixed(zone, 1_764_580_443 + 3 * 3600)
    }

    #[test]
    fn local_and_iso_carry_the_zone() {
        let c = berlin();
        assert_eq!(c.local(1_764_580_443), "2025-12-01 10:14:03");
        assert_eq!(c.iso(1_764_580_443), "2025-12-01T10:14:03+01:00");
        // Summer time.
        assert_eq!(c.iso(1_751_360_400), "2025-07-01T11:00:00+02:00");
        let utc = Clock::fixed(TimeZone::UTC, 0);
        assert_eq!(utc.iso(1_764_580_443), "2025-12-01T09:14:03+00:00");
    }

    #[test]
    fn never_and_nonsense() {
        let c = berlin();
        assert_eq!(c.local(0), "");
        assert_eq!(c.iso(-5), "");
        assert_eq!(c.local(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn ages() {
        let c = berlin();
        let now = 1_764_580_443 + 3 * 3600;
        assert_eq!(c.age(now - 45), "45s");
        assert_eq!(c.age(now - 600), "10m");
        assert_eq!(c.age(now - 3 * 3600), "3h");
        assert_eq!(c.age(now - 5 * 86400), "5d");
        assert_eq!(c.age(now + 7200), "in 2h");
        assert_eq!(c.age(0), "");
        assert_eq!(c.age(now - 3 * 31_536_000 - 40 * 86400), "3y40d");
    }
}
