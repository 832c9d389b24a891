//! Series drawn in the terminal: an area chart in braille dots (each character holds 2 points
//! side by side and 4 levels), or a one-line sparkline of block characters; and the min, average
//! and max of a series. A point without a value is a gap.

/// The smallest, average and largest value of a series (`None` when it has no value at all).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

pub fn summary(values: &[Option<f64>]) -> Option<Summary> {
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    if known.is_empty() {
        return None;
    }
    let min = known.iter().copied().fold(f64::INFINITY, f64::min);
    let max = known.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let avg = known.iter().sum::<f64>() / known.len() as f64;
    Some(Summary { min, avg, max })
}

/// The series in `slots` slots: each the average of the points that fall in it (a gap where none
/// has a value). A series shorter than `slots` is kept as it is.
pub fn resample(values: &[Option<f64>], slots: usize) -> Vec<Option<f64>> {
    if slots == 0 {
        return vec![];
    }
    if values.len() <= slots {
        return values.to_vec();
    }
    (0..slots)
        .map(|i| {
            let from = i * values.len() / slots;
            let to = ((i + 1) * values.len() / slots).max(from + 1);
            let known: Vec<f64> = values[from..to].iter().flatten().copied().collect();
            (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
        })
        .collect()
}

/// How many of `levels` a value fills between 0 and `top` (a value above 0 fills at least one).
fn level(v: f64, top: f64, levels: usize) -> usize {
    // NaN and anything at or below 0 fill nothing.
    if v.is_nan() || top.is_nan() || v <= 0.0 || top <= 0.0 {
        return 0;
    }
    let l = (v / top * levels as f64).round() as usize;
    l.clamp(1, levels)
}

/// One line of block characters, `width` wide at most, scaled from 0 to `top`.
pub fn sparkline(values: &[Option<f64>], width: usize, top: f64) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    resample(values, width)
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(v) => match level(*v, top, BLOCKS.len()) {
                0 => BLOCKS[0],
                l => BLOCKS[l - 1],
            },
        })
        .collect()
}

/// An area chart `rows` lines high and `width` characters wide at most (two points per
/// character), scaled from 0 to `top`; the top line first.
pub fn braille(values: &[Option<f64>], width: usize, rows: usize, top: f64) -> Vec<String> {
    // The dots of a braille cell, by column and by row from the top.
    const DOTS: [[u32; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
    let points = resample(values, width * 2);
    let height = rows * 4;
    let levels: Vec<usize> = points
        .iter()
        .map(|v| v.map_or(0, |v| level(v, top, height)))
        .collect();
    let cells = levels.len().div_ceil(2);
    (0..rows)
        .map(|row| {
            (0..cells)
                .map(|cell| {
                    let mut bits = 0u32;
                    for (col, dots) in DOTS.iter().enumerate() {
                        let Some(&l) = levels.get(cell * 2 + col) else {
                            continue;
                        };
                        for (d, bit) in dots.iter().enumerate() {
                            // Dot rows counted from the top of the chart.
                            let y = row * 4 + d;
                            if y >= height - l {
                                bits |= bit;
                            }
                        }
                    }
                    char::from_u32(0x2800 + bits).unwrap_or(' ')
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_avg_max_skip_gaps() {
        let s = summary(&[None, Some(1.0), Some(3.0), None, Some(2.0)]).unwrap();
        assert_eq!((s.min, s.avg, s.max), (1.0, 2.0, 3.0));
        assert_eq!(summary(&[None, None]), None);
    }

    #[test]
    fn resampling_averages_and_keeps_gaps() {
        let v = [Some(1.0), Some(3.0), None, None, Some(4.0), Some(6.0)];
        assert_eq!(resample(&v, 3), vec![Some(2.0), None, Some(5.0)]);
        assert_eq!(resample(&v, 10).len(), 6);
    }

    #[test]
    fn sparklines_scale_from_zero() {
        let v = [Some(0.0), Some(4.0), Some(8.0), None];
        assert_eq!(sparkline(&v, 10, 8.0), "▁▄█ ");
    }

    #[test]
    fn braille_fills_from_the_bottom() {
        // Two points: empty and full, one row of four levels.
        assert_eq!(braille(&[Some(0.0), Some(4.0)], 1, 1, 4.0), vec!["⢸"]);
        // Half of two rows: the bottom row full, the top one empty.
        let rows = braille(&[Some(2.0), Some(2.0)], 1, 2, 4.0);
        assert_eq!(rows, vec!["⠀", "⣿"]);
        // A gap draws nothing.
        assert_eq!(braille(&[None, None], 1, 1, 1.0), vec!["⠀"]);
    }
}
