//! Human units for tables: binary sizes, percentages, durations (times: `time.rs`).

/// `1.5 GiB`, `512 MiB`, `0 B`.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n.max(0.0);
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{} B", value as u64)
    } else if value >= 100.0 || (value - value.round()).abs() < 0.05 {
        format!("{} {}", value.round() as u64, UNITS[unit])
    } else {
        // Below 100: tenths in integers (float formatting is the slow part of a large table).
        let tenths = (value * 10.0).round() as u64;
        format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
    }
}

/// A fraction 0..1 as `12.5%` (one decimal, rounded half away from zero).
pub fn percent(fraction: f64) -> String {
    let tenths = (fraction * 1000.0).round();
    if !(0.0..1e15).contains(&tenths) {
        return format!("{:.1}%", fraction * 100.0);
    }
    let tenths = tenths as u64;
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// `3d 4h`, `2h 5m`, `4m 10s`, `12s`: the two largest units.
pub fn duration_secs(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86400,
        secs % 86400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(536870912.0), "512 MiB");
        assert_eq!(bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.5 GiB");
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.02), "2.0%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(percent(0.99996), "100.0%");
        assert_eq!(percent(0.00049), "0.0%");
        assert_eq!(percent(-0.5), "-50.0%");
        assert_eq!(bytes(1.25 * 1024.0), "1.3 KiB");
        assert_eq!(bytes(99.97 * 1024.0 * 1024.0), "100 MiB");
        assert_eq!(bytes(250.4 * 1024.0 * 1024.0), "250 MiB");
        assert_eq!(bytes(1023.0), "1023 B");
        assert_eq!(duration_secs(3 * 86400 + 4 * 3600 + 5), "3d 4h");
        assert_eq!(duration_secs(59), "59s");
        assert_eq!(duration_secs(3600 + 120), "1h 2m");
    }
}
