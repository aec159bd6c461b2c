//! Latency-by-percentile plots (SVG, plotters): x is the percentile on the usual HdrHistogram scale
//! (log of 1/(1-p): 0%, 90%, 99%, 99.9%, ...), y the latency in ms; several runs overlay.

use std::path::Path;

use plotters::prelude::*;

/// One series: a name and (quantile, ms) points.
pub struct Series {
    /// Legend.
    pub name: String,
    /// Points, quantile in 0..=1 and latency in ms.
    pub points: Vec<(f64, f64)>,
}

/// Highest percentile shown: 99.9999%.
const MAX_NINES: f64 = 6.0;

fn x_of(q: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&q) {
        return None;
    }
    Some((1.0 / (1.0 - q)).log10().min(MAX_NINES))
}

fn label_of(x: f64) -> String {
    let n = x.round() as i32;
    match n {
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        _ => format!("99.{}%", "9".repeat((n - 2) as usize)),
    }
}

/// Draws `series` into an SVG file.
pub fn plot_svg(out: &Path, title: &str, series: &[Series]) -> Result<(), String> {
    if !out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
    {
        return Err(format!(
            "{}: only SVG output is supported (use a .svg name)",
            out.display()
        ));
    }
    let pts: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter_map(|&(q, v)| x_of(q).map(|x| (x, v)))
                .collect()
        })
        .collect();
    let x_max = pts
        .iter()
        .flatten()
        .map(|p| p.0)
        .fold(2.0f64, f64::max)
        .ceil()
        .min(MAX_NINES);
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
    let root = SVGBackend::new(out, (1000, 600)).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<std::io::Error>| format!("{}: {e}", out.display());
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .margin_right(50)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("Percentile")
        .y_desc("Latency (ms)")
        .x_labels(x_max as usize + 1)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-6 {
                label_of(*x)
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(err)?;
    for (i, (s, p)) in series.iter().zip(&pts).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(p.iter().copied(), color.stroke_width(2)))
            .map_err(err)?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_scale() {
        assert_eq!(label_of(0.0), "0%");
        assert_eq!(label_of(3.0), "99.9%");
        assert_eq!(x_of(0.99).map(|x| (x * 1e6).round() / 1e6), Some(2.0));
        assert_eq!(x_of(1.0), None);
    }

    #[test]
    fn writes_an_svg_with_two_series() {
        let dir = std::env::temp_dir().join(format!("hearth-loadgen-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.svg");
        let a = Series {
            name: "run-a".into(),
            points: vec![
                (0.0, 1.0),
                (0.5, 2.0),
                (0.99, 5.0),
                (0.999, 9.0),
                (1.0, 10.0),
            ],
        };
        let b = Series {
            name: "run-b".into(),
            points: vec![(0.0, 0.5), (0.9, 1.0), (0.99, 2.0)],
        };
        plot_svg(&path, "test", &[a, b]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("run-a") && svg.contains("run-b") && svg.contains("99.9%"));
        assert!(plot_svg(&dir.join("p.png"), "t", &[]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
