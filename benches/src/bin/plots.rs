//! `plots`: draws BENCHMARKS.md's two figures, as SVG, from the pass instants the herd measured
//! (`herd --dump DIR` writes them).
//!
//! - `herd-rate.svg`: for each limiter, its passes per second in each 100 ms of a herd of
//!   N tasks at R per second, against the target R: who keeps the rate, who falls under it.
//! - `observed-traffic.svg`: for each limiter, how many passes the one second ending at each
//!   pass holds, against the count the quota allows in one second: what a server counting
//!   arrivals sees.
//!
//! ```sh
//! cargo run --release -p pacer-benches --bin herd -- --runtime multi --case 10000:1000 \
//!     --case 500:100 --dump benches/plots/data
//! cargo run --release -p pacer-benches --bin plots -- benches/plots/data benches/plots
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

/// The limiters drawn, in the herd's names, with their colours.
const LIMITERS: [(&str, RGBColor); 5] = [
    ("pacer", RGBColor(0, 90, 200)),
    ("pacer-precise", RGBColor(0, 170, 170)),
    ("governor", RGBColor(220, 50, 32)),
    ("leaky-bucket", RGBColor(150, 80, 190)),
    ("baseline", RGBColor(230, 140, 0)),
];

/// The herd's runtime whose runs are drawn.
const RUNTIME: &str = "multi";

/// The herd case drawn for the rate, and the one drawn for the observed traffic.
const RATE_CASE: (usize, u64) = (10_000, 1_000);
const TRAFFIC_CASE: (usize, u64) = (500, 100);

const NANOS: f64 = 1e9;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(data), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: plots DATA_DIR OUT_DIR (DATA_DIR as written by herd --dump)");
        std::process::exit(2);
    };
    if let Err(error) = draw_all(Path::new(&data), Path::new(&out)) {
        eprintln!("plots: {error}");
        std::process::exit(1);
    }
}

fn draw_all(data: &Path, out: &Path) -> Result<(), Box<dyn Error>> {
    std::fs::create_dir_all(out)?;
    let rate = out.join("herd-rate.svg");
    draw_rate(data, &rate)?;
    println!("wrote {}", rate.display());
    let traffic = out.join("observed-traffic.svg");
    draw_traffic(data, &traffic)?;
    println!("wrote {}", traffic.display());
    Ok(())
}

/// The pass instants of the first run of `limiter` in case `(n, rate)`, in nanoseconds since
/// the first pass, sorted.
fn passes(data: &Path, (n, rate): (usize, u64), limiter: &str) -> Result<Vec<u64>, Box<dyn Error>> {
    let file: PathBuf = data.join(format!("{RUNTIME}-{n}-{rate}-{limiter}-0.csv"));
    let text = std::fs::read_to_string(&file)
        .map_err(|error| format!("{}: {error} (run herd --dump first)", file.display()))?;
    let mut passes = text
        .lines()
        .map(str::parse::<u64>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("{}: {error}", file.display()))?;
    passes.sort_unstable();
    let first = passes.first().copied().unwrap_or(0);
    Ok(passes.into_iter().map(|at| at - first).collect())
}

/// Passes per second in each 100 ms bucket, at the bucket's middle.
fn rate_per_bucket(passes: &[u64]) -> Vec<(f64, f64)> {
    const BUCKET: u64 = 100_000_000;
    let Some(&last) = passes.last() else {
        return Vec::new();
    };
    let mut counts = vec![0u32; usize::try_from(last / BUCKET + 1).unwrap_or(0)];
    for at in passes {
        if let Some(count) = usize::try_from(at / BUCKET)
            .ok()
            .and_then(|b| counts.get_mut(b))
        {
            *count += 1;
        }
    }
    // The last bucket holds the run's end, part of 100 ms: leave it out rather than draw a
    // fall that is only the run ending.
    counts.pop();
    counts
        .iter()
        .enumerate()
        .map(|(b, &count)| {
            let middle = (b as f64 + 0.5) * BUCKET as f64 / NANOS;
            (middle, f64::from(count) * NANOS / BUCKET as f64)
        })
        .collect()
}

/// For each pass, the passes in the one second that ends at it (half-open, `(t - 1 s, t]`).
fn per_trailing_second(passes: &[u64]) -> Vec<(f64, f64)> {
    let mut start = 0;
    passes
        .iter()
        .enumerate()
        .map(|(end, &at)| {
            while passes[start] + 1_000_000_000 <= at {
                start += 1;
            }
            (at as f64 / NANOS, (end - start + 1) as f64)
        })
        .collect()
}

fn draw_rate(data: &Path, file: &Path) -> Result<(), Box<dyn Error>> {
    let (n, rate) = RATE_CASE;
    let series = LIMITERS
        .iter()
        .map(|&(name, color)| {
            Ok((
                name,
                color,
                rate_per_bucket(&passes(data, RATE_CASE, name)?),
            ))
        })
        .collect::<Result<Vec<_>, Box<dyn Error>>>()?;
    let end = series
        .iter()
        .flat_map(|(_, _, points)| points.last().map(|&(x, _)| x))
        .fold(1.0, f64::max);
    let root = SVGBackend::new(file, (900, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{n} tasks at once, one permit each, at {rate} per second: the rate they pass at"
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..end + 0.5, 0.0..(rate as f64 * 1.3))?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first pass")
        .y_desc("passes per second (each 100 ms)")
        .draw()?;
    let target = [(0.0, rate as f64), (end + 0.5, rate as f64)];
    chart
        .draw_series(LineSeries::new(target, BLACK.stroke_width(1)))?
        .label(format!("target, {rate}/s"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    for (name, color, points) in series {
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn draw_traffic(data: &Path, file: &Path) -> Result<(), Box<dyn Error>> {
    let (n, rate) = TRAFFIC_CASE;
    let series = LIMITERS
        .iter()
        .map(|&(name, color)| {
            Ok((
                name,
                color,
                per_trailing_second(&passes(data, TRAFFIC_CASE, name)?),
            ))
        })
        .collect::<Result<Vec<_>, Box<dyn Error>>>()?;
    let end = series
        .iter()
        .flat_map(|(_, _, points)| points.last().map(|&(x, _)| x))
        .fold(1.0, f64::max);
    let counts = || {
        series
            .iter()
            .flat_map(|(_, _, points)| points.iter().filter(|&&(x, _)| x >= 1.0).map(|&(_, y)| y))
    };
    let top = counts().fold(rate as f64, f64::max);
    let bottom = counts().fold(rate as f64, f64::min);
    let root = SVGBackend::new(file, (900, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{n} tasks at {rate} per second: passes in the second before each pass"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..end + 0.2, (bottom - 2.0)..(top + 8.0))?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first pass")
        .y_desc("passes in the last second")
        .draw()?;
    let allowed = [(0.0, rate as f64), (end + 0.2, rate as f64)];
    chart
        .draw_series(LineSeries::new(allowed, BLACK.stroke_width(1)))?
        .label(format!("the quota's count, {rate} per second"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    for (name, color, points) in series {
        // The first second is still filling up; draw from the first full second on.
        let full: Vec<(f64, f64)> = points.into_iter().filter(|&(x, _)| x >= 1.0).collect();
        chart
            .draw_series(LineSeries::new(full, color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_count_passes_per_second() {
        let passes: Vec<u64> = (0..10).map(|i| i * 50_000_000).collect(); // 20/s for 0.5 s
        let rate = rate_per_bucket(&passes);
        assert_eq!(rate.len(), 4); // the last, partial bucket left out
        assert!(rate.iter().all(|&(_, per_second)| per_second == 20.0));
    }

    #[test]
    fn a_trailing_second_excludes_its_start() {
        let passes = [0, 500_000_000, 1_000_000_000, 1_000_000_001];
        let counts: Vec<f64> = per_trailing_second(&passes)
            .iter()
            .map(|&(_, c)| c)
            .collect();
        assert_eq!(counts, [1.0, 2.0, 2.0, 3.0]);
    }
}
