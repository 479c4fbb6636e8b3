//! Scatter plots of points coloured by class, for maps of the latent space.
//!
//! # Choices
//!
//! * **Layout.** A title across the top, the plot (one panel for 2-D points,
//!   the three pairs of axes side by side for 3-D points: 1-2, 1-3, 2-3), and a
//!   legend in its own column on the right, so it never hides points.
//! * **Colours.** The qualitative 10-colour palette of the line plots (Tableau
//!   10), one colour per class (`class % 10`: more than ten classes share
//!   colours, the legend says which); unlabelled points all take the first
//!   colour. Points are drawn slightly transparent in the data's order, so a
//!   dense region shows its mix of classes instead of the last class drawn.
//! * **Sizes.** Dots shrink as points grow in number (3 px radius up to 1000
//!   points, 2 up to 5000, then 1), keeping a 10 000-point map readable.
//! * **Ranges.** Each axis spans its finite values padded by 5 %, like the line
//!   plots; non-finite points are skipped.

use image::RgbImage;
use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::plot::{FONT, PALETTE, draw_error, padded_range, register_fonts, tick_label};
use crate::error::{Error, Result};

/// Width of the legend column, in pixels.
const LEGEND_WIDTH: u32 = 190;

/// Points to draw, with what their axes mean.
#[derive(Debug, Clone, Copy)]
pub struct ScatterPlot<'a> {
    /// Title across the top.
    pub title: &'a str,
    /// Dimensions of a point: 2 or 3.
    pub dims: usize,
    /// Row-major `[n, dims]` coordinates.
    pub coords: &'a [f64],
    /// Title of each axis (`dims` of them).
    pub axis_labels: &'a [String],
    /// The class of each point, for colours and the legend.
    pub labels: Option<&'a [u32]>,
    /// Names of the classes by number; numbers are shown where absent.
    pub class_names: Option<&'a [String]>,
    /// What the classes are, above the legend [default: "class"].
    pub legend_title: Option<&'a str>,
}

/// A drawing area over an in-memory RGB buffer.
pub(crate) type Canvas<'a> = DrawingArea<BitMapBackend<'a, RGBPixel>, Shift>;
/// What drawing on a [`Canvas`] returns.
pub(crate) type DrawResult<'a> = std::result::Result<
    (),
    DrawingAreaErrorKind<<BitMapBackend<'a, RGBPixel> as DrawingBackend>::ErrorType>,
>;

/// Draws on a white `width x height` canvas with `draw` and returns the picture.
pub(crate) fn draw_on_canvas(
    width: u32,
    height: u32,
    draw: impl for<'a> FnOnce(&Canvas<'a>) -> DrawResult<'a>,
) -> Result<RgbImage> {
    register_fonts()?;
    let mut buffer = vec![0u8; width as usize * height as usize * 3];
    {
        let backend =
            BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut buffer, (width, height))
                .map_err(draw_error)?;
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    RgbImage::from_raw(width, height, buffer)
        .ok_or_else(|| Error::Data("cannot draw: the pixel buffer has the wrong size".into()))
}

/// The colour of class `label` (or of unlabelled points, `None`).
pub fn class_color(label: Option<u32>) -> RGBColor {
    PALETTE[label.map_or(0, |l| l as usize % PALETTE.len())]
}

/// Renders `plot`: 1000 x 760 pixels for 2-D points, 1900 x 620 for 3-D.
///
/// # Errors
///
/// [`Error::Data`] for `dims` other than 2 or 3, a coordinate count that is
/// not a whole number of points, labels or axis titles of the wrong count, no
/// finite point, or values too far apart to draw.
pub fn render_scatter(plot: &ScatterPlot) -> Result<RgbImage> {
    let dims = plot.dims;
    if dims != 2 && dims != 3 {
        return Err(Error::Data(format!(
            "cannot draw points of {dims} dimensions: only 2 or 3"
        )));
    }
    if !plot.coords.len().is_multiple_of(dims) || plot.axis_labels.len() != dims {
        return Err(Error::Data(format!(
            "cannot draw {} coordinates with {} axis titles as {dims}-D points",
            plot.coords.len(),
            plot.axis_labels.len()
        )));
    }
    let n = plot.coords.len() / dims;
    if let Some(labels) = plot.labels
        && labels.len() != n
    {
        return Err(Error::Data(format!(
            "cannot colour {n} points by {} labels",
            labels.len()
        )));
    }
    let mut ranges = Vec::with_capacity(dims);
    for k in 0..dims {
        let finite = plot
            .coords
            .iter()
            .skip(k)
            .step_by(dims)
            .filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
        if lo > hi {
            return Err(Error::Data(
                "cannot draw the map: it has no finite point".into(),
            ));
        }
        ranges.push(padded_range(lo, hi, 0.05, 0.5).ok_or_else(|| {
            Error::Data(format!(
                "cannot draw the map: axis {} spans too wide a range ({lo:e} to {hi:e})",
                k + 1
            ))
        })?);
    }
    let pairs: &[(usize, usize)] = if dims == 2 {
        &[(0, 1)]
    } else {
        &[(0, 1), (0, 2), (1, 2)]
    };
    let (width, height) = if dims == 2 { (1000, 760) } else { (1900, 620) };
    let radius = match n {
        0..=1000 => 3,
        1001..=5000 => 2,
        _ => 1,
    };
    let mut classes: Vec<u32> = plot.labels.map(<[u32]>::to_vec).unwrap_or_default();
    classes.sort_unstable();
    classes.dedup();
    let name = |c: u32| {
        plot.class_names
            .and_then(|names| names.get(c as usize))
            .cloned()
            .unwrap_or_else(|| c.to_string())
    };

    draw_on_canvas(width, height, |root| {
        // Bold DejaVu Sans is about 0.62 em per character: shrink a long title to fit.
        let chars = plot.title.chars().count().max(1) as f64;
        let size = (0.95 * f64::from(width) / (0.62 * chars)).clamp(12.0, 26.0);
        let body = root.titled(plot.title, (FONT, size, FontStyle::Bold))?;
        let (w, _) = body.dim_in_pixel();
        let (panels_area, legend_area) = body.split_horizontally(w - LEGEND_WIDTH);
        let panels = panels_area.split_evenly((1, pairs.len()));
        for (area, &(a, b)) in panels.iter().zip(pairs) {
            let (xr, yr) = (ranges[a], ranges[b]);
            let mut chart = ChartBuilder::on(area)
                .margin(14)
                .x_label_area_size(52)
                .y_label_area_size(72)
                .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)?;
            let x_ticks = |v: &f64| tick_label(*v, xr.1 - xr.0);
            let y_ticks = |v: &f64| tick_label(*v, yr.1 - yr.0);
            chart
                .configure_mesh()
                .x_desc(plot.axis_labels[a].as_str())
                .y_desc(plot.axis_labels[b].as_str())
                .x_label_formatter(&x_ticks)
                .y_label_formatter(&y_ticks)
                .x_labels(8)
                .y_labels(8)
                .label_style((FONT, 14))
                .axis_desc_style((FONT, 17))
                .bold_line_style(RGBColor(225, 225, 225))
                .light_line_style(RGBColor(245, 245, 245))
                .axis_style(RGBColor(80, 80, 80))
                .draw()?;
            let points = plot
                .coords
                .chunks_exact(dims)
                .enumerate()
                .filter(|(_, p)| p[a].is_finite() && p[b].is_finite())
                .map(|(i, p)| {
                    let color = class_color(plot.labels.map(|l| l[i]));
                    Circle::new((p[a], p[b]), radius, color.mix(0.7).filled())
                });
            chart.draw_series(points)?;
        }
        // The legend: a dot and a name per class, or one entry for unlabelled data.
        let entries: Vec<(RGBColor, String)> = if classes.is_empty() {
            vec![(class_color(None), format!("{n} examples"))]
        } else {
            classes
                .iter()
                .map(|&c| (class_color(Some(c)), name(c)))
                .collect()
        };
        legend_area.draw(&Text::new(
            if classes.is_empty() {
                "no labels"
            } else {
                plot.legend_title.unwrap_or("class")
            },
            (12, 24),
            (FONT, 17, FontStyle::Bold),
        ))?;
        for (row, (color, text)) in entries.iter().enumerate() {
            let y = 56 + row as i32 * 26;
            legend_area.draw(&Circle::new((22, y), 7, color.filled()))?;
            let label: String = text.chars().take(18).collect();
            legend_area.draw(&Text::new(
                label,
                (38, y - 9),
                (FONT, 16).into_font().color(&BLACK),
            ))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["PC1".into(), "PC2".into(), "PC3".into()]
    }

    fn has_color(img: &RgbImage, c: RGBColor) -> bool {
        img.pixels().any(|p| p.0 == [c.0, c.1, c.2])
    }

    #[test]
    fn classes_get_their_colours_and_a_legend() {
        let coords: Vec<f64> = (0..60)
            .map(|i| (i % 7) as f64 + (i / 7) as f64 * 0.3)
            .collect();
        let classes: Vec<u32> = (0..30).map(|i| i % 3).collect();
        let axis = labels();
        let plot = ScatterPlot {
            title: "latent map",
            dims: 2,
            coords: &coords,
            axis_labels: &axis[..2],
            labels: Some(&classes),
            class_names: None,
            legend_title: None,
        };
        let img = render_scatter(&plot).unwrap();
        assert_eq!(img.dimensions(), (1000, 760));
        // The legend's solid dots carry the exact class colours; class 3 is absent.
        for c in 0..3 {
            assert!(has_color(&img, class_color(Some(c))), "class {c}");
        }
        assert!(!has_color(&img, class_color(Some(3))));
        // The legend column holds dark text.
        let dark = (1000 - LEGEND_WIDTH..1000)
            .flat_map(|x| (40..140).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&v| v < 90))
            .count();
        assert!(dark > 20, "{dark}");
    }

    #[test]
    fn three_dimensions_give_three_panels() {
        let coords: Vec<f64> = (0..90).map(|i| ((i * 37) % 11) as f64).collect();
        let axis = labels();
        let plot = ScatterPlot {
            title: "",
            dims: 3,
            coords: &coords,
            axis_labels: &axis,
            labels: None,
            class_names: None,
            legend_title: None,
        };
        let img = render_scatter(&plot).unwrap();
        assert_eq!(img.dimensions(), (1900, 620));
        assert!(has_color(&img, class_color(None)));
    }

    #[test]
    fn bad_points_are_errors() {
        let axis = labels();
        let plot = |coords: &'static [f64], dims| ScatterPlot {
            title: "",
            dims,
            coords,
            axis_labels: &axis[..dims.min(3)],
            labels: None,
            class_names: None,
            legend_title: None,
        };
        assert!(render_scatter(&plot(&[1.0, 2.0, 3.0], 2)).is_err());
        assert!(render_scatter(&plot(&[f64::NAN, 1.0], 2)).is_err());
        assert!(render_scatter(&plot(&[1.0, 2.0, 3.0, 4.0], 4)).is_err());
        let wrong = ScatterPlot {
            labels: Some(&[1, 2, 3]),
            ..plot(&[1.0, 2.0], 2)
        };
        assert!(render_scatter(&wrong).is_err());
    }
}
