//! Line plots of training curves (`loss.png`), drawn with plotters into memory.
//!
//! # Choices
//!
//! * **Fonts.** Text is drawn with plotters' `ab_glyph` support and the DejaVu
//!   Sans font that the `dejavu` crate embeds, registered once (behind a
//!   [`OnceLock`]) as the `"sans-serif"` family. No system font, fontconfig or
//!   font-kit is needed, so plots look the same on every machine, CI included.
//! * **Backend.** Plotters' `BitMapBackend` draws into an in-memory RGB buffer
//!   that becomes an [`RgbImage`]; encoding and the atomic write are done by
//!   [`save_png`], so plotters' own encoder (which would pull a second `image`
//!   version) is not used.
//! * **Ranges.** The y range spans the finite values padded by 5 % on each side
//!   so that no curve touches the frame; the x range is padded by 2 % so markers
//!   at the ends are not cut off. A range of one value (a 1-epoch run, a flat
//!   curve) is widened around it. Very narrow ranges relative to their magnitude
//!   are widened to at least a billionth of it, which keeps plotters' tick search
//!   well behaved.
//! * **Gaps.** Non-finite points (NaN, ±inf) are skipped: the line breaks there
//!   instead of joining across the gap, and a point left alone between gaps is
//!   drawn as a marker so it is not lost.
//! * **Markers.** A series with at most [`MARKER_LIMIT`] finite points has each
//!   point marked with a dot, so a run of one or a few epochs still shows
//!   something; longer series are drawn as lines only.
//! * **Legend.** Every series is named in a legend box in the upper-right corner
//!   (where decreasing loss curves leave room), including a series with no finite
//!   point, which is listed as "(no finite values)".
//! * **Colours.** A fixed palette of 10 well-separated colours (the Tableau 10
//!   set), reused in order when there are more series.

use std::path::Path;
use std::sync::OnceLock;

use image::RgbImage;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::grid::save_png;
use crate::error::{Error, Result};

/// Series with at most this many finite points have their points marked.
pub const MARKER_LIMIT: usize = 50;
/// Smallest accepted plot width, in pixels.
pub const MIN_WIDTH: u32 = 200;
/// Smallest accepted plot height, in pixels.
pub const MIN_HEIGHT: u32 = 150;
/// Largest accepted plot width or height, in pixels.
pub const MAX_SIDE: u32 = 8192;

/// The font family name under which DejaVu Sans is registered with plotters.
pub(crate) const FONT: &str = "sans-serif";

/// Distinct series colours (Tableau 10), used in order.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One named curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The name shown in the legend, e.g. `"train -ELBO"`.
    pub name: String,
    /// `(x, y)` points in drawing order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

/// A line plot: a title, axis titles and the series to draw.
#[derive(Debug, Clone, Copy)]
pub struct LinePlot<'a> {
    /// Title drawn above the plot; empty for none.
    pub title: &'a str,
    /// Title of the x axis, e.g. `"epoch"`.
    pub x_label: &'a str,
    /// Title of the y axis, e.g. `"-ELBO (nats)"`.
    pub y_label: &'a str,
    /// The curves, drawn in order with colours from a fixed palette.
    pub series: &'a [Series],
}

/// Registers DejaVu Sans (regular and bold) as plotters' `"sans-serif"` family,
/// once per process.
pub(crate) fn register_fonts() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        let regular =
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let bold = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
        regular.is_ok() && bold.is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Data(
            "cannot draw plots: the built-in DejaVu Sans font could not be loaded".into(),
        ))
    }
}

/// The finite points of a series split into runs at non-finite points.
fn finite_runs(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    points
        .split(|(x, y)| !(x.is_finite() && y.is_finite()))
        .filter(|run| !run.is_empty())
        .map(<[_]>::to_vec)
        .collect()
}

/// `(lo, hi)` padded by `fraction` of the span on each side; a single value is
/// widened by `fraction` of its magnitude (or by `min_pad` if that is larger or
/// the result would not widen it). Returns `None` when the result is not finite.
pub(crate) fn padded_range(lo: f64, hi: f64, fraction: f64, min_pad: f64) -> Option<(f64, f64)> {
    let magnitude = lo.abs().max(hi.abs());
    let span = hi - lo;
    // Keep the span at least a billionth of the magnitude: plotters' tick search
    // misbehaves on ranges narrower than the values' precision.
    let pad = if span > magnitude * 1e-9 {
        span * fraction
    } else {
        (magnitude * fraction).max(min_pad)
    };
    let (mut a, mut b) = (lo - pad, hi + pad);
    if !(a < lo && b > hi) {
        // The pad vanished against the values' magnitude (or was zero).
        a = lo - 1.0;
        b = hi + 1.0;
    }
    (a.is_finite() && b.is_finite() && (b - a).is_finite() && a < b).then_some((a, b))
}

/// Tick label text for an axis spanning `span`: short decimals, scientific
/// notation for very large or very small magnitudes, no float noise such as
/// `0.30000000000000004`, and `0` for values that are zero up to rounding
/// (smaller than a billionth of the span).
pub(crate) fn tick_label(v: f64, span: f64) -> String {
    let a = v.abs();
    if a <= span * 1e-9 {
        return "0".into();
    }
    if !(1e-4..1e6).contains(&a) {
        let s = format!("{v:.3e}");
        return match s.split_once('e') {
            Some((mantissa, exponent)) => {
                let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
                format!("{mantissa}e{exponent}")
            }
            None => s,
        };
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

pub(crate) fn draw_error<E: std::error::Error>(e: E) -> Error {
    Error::Data(format!("cannot draw the plot: {e}"))
}

/// Renders to an RGB image of width x height with plotters' BitMapBackend over
/// an in-memory buffer: axes with tick labels, axis titles, a legend naming each
/// series, distinct colours, points marked when a series has few points (a
/// 1-epoch run must still show something), y range padded by 5 %, non-finite
/// points skipped.
///
/// # Errors
///
/// [`Error::Data`] when there are no series, when no series has a finite point,
/// or when the values span more than `f64` can hold; [`Error::Setting`]
/// (`plot size`) when `width` is outside `MIN_WIDTH..=MAX_SIDE` or `height`
/// outside `MIN_HEIGHT..=MAX_SIDE`.
pub fn render_line_plot(plot: &LinePlot, width: u32, height: u32) -> Result<RgbImage> {
    if !(MIN_WIDTH..=MAX_SIDE).contains(&width) || !(MIN_HEIGHT..=MAX_SIDE).contains(&height) {
        return Err(Error::setting(
            "plot size",
            format!(
                "{width}x{height} pixels is out of range: the width must be {MIN_WIDTH} to {MAX_SIDE} \
                 and the height {MIN_HEIGHT} to {MAX_SIDE}"
            ),
        ));
    }
    let what = if plot.title.is_empty() {
        "the plot".to_string()
    } else {
        format!("the plot \"{}\"", plot.title)
    };
    if plot.series.is_empty() {
        return Err(Error::Data(format!("cannot draw {what}: it has no series")));
    }
    let runs: Vec<Vec<Vec<(f64, f64)>>> =
        plot.series.iter().map(|s| finite_runs(&s.points)).collect();
    let finite = || runs.iter().flatten().flatten();
    let Some(&(x0, y0)) = finite().next() else {
        return Err(Error::Data(format!(
            "cannot draw {what}: none of its {} series has a finite point (all values are NaN or infinite, or there are none)",
            plot.series.len()
        )));
    };
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (x0, x0, y0, y0);
    for &(x, y) in finite() {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    let too_wide = || {
        Error::Data(format!(
            "cannot draw {what}: its values span too wide a range (x from {x_min:e} to {x_max:e}, y from {y_min:e} to {y_max:e})"
        ))
    };
    let x_range = padded_range(x_min, x_max, 0.02, 0.5).ok_or_else(too_wide)?;
    let y_range = padded_range(y_min, y_max, 0.05, 0.0).ok_or_else(too_wide)?;

    register_fonts()?;
    let mut buffer = vec![0u8; width as usize * height as usize * 3];
    {
        let backend = BitMapBackend::<plotters::backend::RGBPixel>::with_buffer_and_format(
            &mut buffer,
            (width, height),
        )
        .map_err(draw_error)?;
        let root = backend.into_drawing_area();
        draw(&root, plot, &runs, x_range, y_range).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    RgbImage::from_raw(width, height, buffer).ok_or_else(|| {
        Error::Data("cannot draw the plot: the pixel buffer has the wrong size".into())
    })
}

/// Draws the whole chart onto `root`.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plot: &LinePlot,
    runs: &[Vec<Vec<(f64, f64)>>],
    x_range: (f64, f64),
    y_range: (f64, f64),
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (width, height) = root.dim_in_pixel();
    // Text sizes grow gently with the picture, from the 640x480 defaults.
    let unit = (f64::from(width.min(height)) / 480.0).clamp(0.6, 3.0);
    let size = |s: f64| (s * unit).round().max(8.0);

    let mut builder = ChartBuilder::on(root);
    builder
        .margin(size(14.0))
        .x_label_area_size(size(48.0))
        .y_label_area_size(size(76.0));
    if !plot.title.is_empty() {
        builder.caption(plot.title, (FONT, size(22.0), FontStyle::Bold));
    }
    let mut chart = builder.build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)?;

    let x_ticks = |v: &f64| tick_label(*v, x_range.1 - x_range.0);
    let y_ticks = |v: &f64| tick_label(*v, y_range.1 - y_range.0);
    chart
        .configure_mesh()
        .x_desc(plot.x_label)
        .y_desc(plot.y_label)
        .x_label_formatter(&x_ticks)
        .y_label_formatter(&y_ticks)
        .x_labels(10)
        .y_labels(8)
        .label_style((FONT, size(14.0)))
        .axis_desc_style((FONT, size(16.0)))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(RGBColor(245, 245, 245))
        .axis_style(RGBColor(80, 80, 80))
        .draw()?;

    let legend_slot = size(34.0);
    let symbol = (legend_slot * 0.7).round() as i32;
    let stroke = (2.0 * unit).round().max(1.0) as u32;
    let radius = (3.5 * unit).round().max(2.0) as i32;
    for (i, (series, runs)) in plot.series.iter().zip(runs).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let count: usize = runs.iter().map(Vec::len).sum();
        let mark_all = count <= MARKER_LIMIT;
        for run in runs.iter().filter(|run| run.len() > 1) {
            chart.draw_series(LineSeries::new(
                run.iter().copied(),
                color.stroke_width(stroke),
            ))?;
        }
        let marked = runs
            .iter()
            .filter(|run| mark_all || run.len() == 1)
            .flatten()
            .map(|&p| Circle::new(p, radius, color.filled()));
        let label = if count == 0 {
            format!("{} (no finite values)", series.name)
        } else {
            series.name.clone()
        };
        chart
            .draw_series(marked)?
            .label(label)
            // Plotters hands the legend element the left end of its slot, which is
            // `legend_slot` pixels wide and directly followed by the label text.
            // The legend shows a dot only when the plot does.
            .legend(move |(x, y)| {
                let dot = if mark_all { radius } else { 0 };
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (symbol, 0)], color.stroke_width(stroke))
                    + Circle::new((symbol / 2, 0), dot, color.filled())
            });
    }

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .margin(size(10.0))
        .legend_area_size(legend_slot)
        .label_font((FONT, size(14.0)))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .draw()?;
    Ok(())
}

/// Renders `plot` with [`render_line_plot`] and saves it as a PNG at `path`
/// with [`save_png`] (atomic write).
///
/// # Errors
///
/// Those of [`render_line_plot`] and [`save_png`].
pub fn loss_plot_png(path: &Path, plot: &LinePlot, width: u32, height: u32) -> Result<()> {
    let image = render_line_plot(plot, width, height)?;
    save_png(path, &image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
        }
    }

    fn plot(series: &[Series]) -> LinePlot<'_> {
        LinePlot {
            title: "loss",
            x_label: "epoch",
            y_label: "-ELBO",
            series,
        }
    }

    /// Non-white pixels inside the central part of the picture (well inside the
    /// plotting area, away from labels and the legend).
    fn ink_in_center(img: &RgbImage) -> usize {
        let (w, h) = img.dimensions();
        let mut n = 0;
        for y in h / 4..h * 3 / 4 {
            for x in w / 4..w * 3 / 4 {
                let p = img.get_pixel(x, y).0;
                // Mesh lines are light gray (>= 225); count real ink only.
                if p.iter().any(|&c| c < 200) {
                    n += 1;
                }
            }
        }
        n
    }

    fn two_curves() -> Vec<Series> {
        vec![
            series(
                "train -ELBO",
                (1..=10)
                    .map(|e| (e as f64, 200.0 / e as f64 + 90.0))
                    .collect(),
            ),
            series(
                "validation -ELBO",
                (1..=10)
                    .map(|e| (e as f64, 190.0 / e as f64 + 100.0))
                    .collect(),
            ),
        ]
    }

    #[test]
    fn two_series_render_with_ink_in_the_plot() {
        let s = two_curves();
        let img = render_line_plot(&plot(&s), 640, 480).unwrap();
        assert_eq!(img.dimensions(), (640, 480));
        assert!(ink_in_center(&img) > 200, "{}", ink_in_center(&img));
        // Both series colours appear.
        for c in &PALETTE[..2] {
            assert!(
                img.pixels().any(|p| p.0 == [c.0, c.1, c.2]),
                "{c:?} missing"
            );
        }
        // Background is white at the corner.
        assert_eq!(img.get_pixel(0, 0).0, [255; 3]);
    }

    #[test]
    fn text_is_drawn() {
        // With labels and a title, the left and top margins hold dark pixels.
        let s = two_curves();
        let img = render_line_plot(&plot(&s), 640, 480).unwrap();
        let dark_in = |x0: u32, x1: u32, y0: u32, y1: u32| {
            (y0..y1)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 100))
                .count()
        };
        assert!(dark_in(200, 440, 0, 40) > 20, "no title");
        assert!(dark_in(0, 40, 100, 380) > 20, "no y axis title");
        assert!(dark_in(200, 440, 440, 480) > 20, "no x axis title");
    }

    #[test]
    fn one_point_series_renders() {
        let s = [series("train -ELBO", vec![(1.0, 123.4)])];
        let img = render_line_plot(&plot(&s), 400, 300).unwrap();
        let c = PALETTE[0];
        let coloured = img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count();
        // A marker in the plot plus the one in the legend.
        assert!(coloured > 40, "{coloured}");
        assert!(ink_in_center(&img) > 10);
    }

    #[test]
    fn nan_gaps_and_flat_series_render() {
        let s = [
            series(
                "gappy",
                vec![
                    (1.0, 3.0),
                    (2.0, f64::NAN),
                    (3.0, 2.0),
                    (4.0, f64::INFINITY),
                    (5.0, 1.0),
                    (6.0, 0.5),
                ],
            ),
            series("flat", vec![(1.0, 2.0), (6.0, 2.0)]),
            series("nothing", vec![(1.0, f64::NAN)]),
            series("empty", vec![]),
        ];
        let img = render_line_plot(&plot(&s), 640, 480).unwrap();
        assert!(ink_in_center(&img) > 50);
        // All-flat, single x, zero and huge values still render.
        for points in [
            vec![(0.0, 0.0)],
            vec![(5.0, 7.0), (5.0, 7.0)],
            vec![(1.0, 1e300), (2.0, 1e300)],
            vec![(1.0, 1e16), (2.0, 1e16 + 2.0)],
            vec![(1.0, 1e-300), (2.0, 2e-300)],
            vec![(-1e300, -1e300), (1e300, 1e300)],
            vec![(0.0, f64::MIN_POSITIVE), (1.0, 5e-324)],
        ] {
            let s = [series("s", points.clone())];
            let img = render_line_plot(&plot(&s), 300, 200);
            assert!(img.is_ok(), "{points:?}: {:?}", img.err());
        }
    }

    #[test]
    fn plot_errors() {
        let e = render_line_plot(&plot(&[]), 640, 480).unwrap_err();
        assert!(
            matches!(&e, Error::Data(m) if m.contains("no series")),
            "{e}"
        );
        let s = [
            series("a", vec![(f64::NAN, 1.0), (1.0, f64::NAN)]),
            series("b", vec![(f64::INFINITY, f64::NEG_INFINITY)]),
            series("c", vec![]),
        ];
        let e = render_line_plot(&plot(&s), 640, 480).unwrap_err();
        assert!(matches!(&e, Error::Data(m) if m.contains("finite")), "{e}");
        // Values too far apart for f64.
        let s = [series("a", vec![(0.0, -1.7e308), (1.0, 1.7e308)])];
        let e = render_line_plot(&plot(&s), 640, 480).unwrap_err();
        assert!(matches!(&e, Error::Data(m) if m.contains("range")), "{e}");
        // Sizes.
        let s = two_curves();
        for (w, h) in [(0, 0), (199, 480), (640, 149), (8193, 480), (640, u32::MAX)] {
            let e = render_line_plot(&plot(&s), w, h).unwrap_err();
            assert!(
                matches!(&e, Error::Setting { name, .. } if name == "plot size"),
                "{e}"
            );
        }
    }

    #[test]
    fn extreme_sizes_and_text_render() {
        let s = vec![series("", vec![(1.0, 1.0), (2.0, 0.5)]); 25];
        let empty = LinePlot {
            title: "",
            x_label: "",
            y_label: "",
            series: &s,
        };
        for (w, h) in [
            (MIN_WIDTH, MIN_HEIGHT),
            (MIN_WIDTH, 2000),
            (3000, MIN_HEIGHT),
        ] {
            assert!(render_line_plot(&empty, w, h).is_ok());
        }
        let long = "a very long name ".repeat(20);
        let s = [series(&long, vec![(1.0, 1.0)])];
        let odd = LinePlot {
            title: &long,
            x_label: "épоch ✓ 日本",
            y_label: "",
            series: &s,
        };
        assert!(render_line_plot(&odd, MIN_WIDTH, MIN_HEIGHT).is_ok());
    }

    #[test]
    fn loss_plot_png_writes_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        let s = two_curves();
        loss_plot_png(&path, &plot(&s), 500, 350).unwrap();
        let back = image::open(&path).unwrap().into_rgb8();
        assert_eq!(back, render_line_plot(&plot(&s), 500, 350).unwrap());
        let e = loss_plot_png(&dir.path().join("no/loss.png"), &plot(&s), 500, 350).unwrap_err();
        assert!(matches!(e, Error::Write { .. }));
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(0.30000000000000004, 1.0), "0.3");
        assert_eq!(tick_label(120.0, 100.0), "120");
        assert_eq!(tick_label(-2.5, 10.0), "-2.5");
        assert_eq!(tick_label(0.0, 1.0), "0");
        assert_eq!(tick_label(-1e-15, 1.0), "0");
        assert_eq!(tick_label(1e-15, 1e-14), "1e-15");
        assert_eq!(tick_label(1.5e7, 1e7), "1.5e7");
        assert_eq!(tick_label(2e-5, 1e-4), "2e-5");
        assert_eq!(tick_label(0.00012, 1e-4), "0.00012");
    }
}
