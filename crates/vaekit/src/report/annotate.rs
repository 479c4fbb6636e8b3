//! Titles and row and column labels around an image grid, for pictures whose
//! rows and columns mean something: a latent traversal (a row per dimension,
//! a column per value), the manifold grid (rows and columns are prior
//! quantiles), an interpolation strip (a column per step).
//!
//! The grid from [`image_grid`](super::image_grid) is copied unchanged onto a
//! white canvas with a margin on the left for row labels (right-aligned beside
//! their row's centre) and one on top for the title and the column labels
//! (centred over their column). The tile positions are recovered from the
//! grid's size and the known gutter, so any grid of `rows x columns` equal
//! tiles can be labelled.

use image::RgbImage;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::grid::GUTTER;
use super::plot::FONT;
use super::scatter::draw_on_canvas;
use crate::error::{Error, Result};

/// Labels to put around a grid.
#[derive(Debug, Clone, Copy, Default)]
pub struct GridLabels<'a> {
    /// Title above everything; empty for none.
    pub title: &'a str,
    /// One label per row (or none at all).
    pub rows: &'a [String],
    /// One label per column (or none at all).
    pub columns: &'a [String],
}

const TITLE_HEIGHT: u32 = 34;
const COLUMN_LABEL_HEIGHT: u32 = 22;
/// Approximate width of one character of the 15 px label font.
const CHAR_WIDTH: u32 = 9;

/// `grid` (an [`image_grid`](super::image_grid) of `rows x columns` tiles)
/// with `labels` drawn around it.
///
/// # Errors
///
/// [`Error::Data`] when the label counts do not match the grid, or the grid
/// is too small to hold `rows x columns` tiles.
pub fn annotate_grid(
    grid: &RgbImage,
    rows: usize,
    columns: usize,
    labels: &GridLabels,
) -> Result<RgbImage> {
    let (gw, gh) = grid.dimensions();
    let fits = |side: u32, count: usize| {
        count > 0 && side > (count as u32 + 1) * GUTTER && count as u32 <= side
    };
    if !fits(gw, columns) || !fits(gh, rows) {
        return Err(Error::Data(format!(
            "cannot label a {gw}x{gh} picture as a grid of {rows} x {columns} tiles"
        )));
    }
    let bad = |what: &str, got: usize, want: usize| {
        Error::Data(format!(
            "cannot label a grid of {want} {what}s with {got} labels"
        ))
    };
    if !labels.rows.is_empty() && labels.rows.len() != rows {
        return Err(bad("row", labels.rows.len(), rows));
    }
    if !labels.columns.is_empty() && labels.columns.len() != columns {
        return Err(bad("column", labels.columns.len(), columns));
    }
    let tile_w = (gw - (columns as u32 + 1) * GUTTER) / columns as u32;
    let tile_h = (gh - (rows as u32 + 1) * GUTTER) / rows as u32;
    let widest = labels
        .rows
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0) as u32;
    let left = if widest == 0 {
        0
    } else {
        widest * CHAR_WIDTH + 16
    };
    let top = if labels.title.is_empty() {
        0
    } else {
        TITLE_HEIGHT
    } + if labels.columns.is_empty() {
        0
    } else {
        COLUMN_LABEL_HEIGHT
    };
    let title_width = labels.title.chars().count() as u32 * 11 + 20;
    let width = (left + gw).max(title_width);
    let height = top + gh;
    let mut canvas = draw_on_canvas(width, height, |root| {
        if !labels.title.is_empty() {
            root.draw(&Text::new(
                labels.title,
                (width as i32 / 2, TITLE_HEIGHT as i32 / 2),
                (FONT, 19, FontStyle::Bold)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
        let style = (FONT, 15).into_font().color(&BLACK);
        for (c, text) in labels.columns.iter().enumerate() {
            let x = left + GUTTER + c as u32 * (tile_w + GUTTER) + tile_w / 2;
            let y = top - COLUMN_LABEL_HEIGHT / 2;
            root.draw(&Text::new(
                text.as_str(),
                (x as i32, y as i32),
                style.pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
        for (r, text) in labels.rows.iter().enumerate() {
            let y = top + GUTTER + r as u32 * (tile_h + GUTTER) + tile_h / 2;
            root.draw(&Text::new(
                text.as_str(),
                (left as i32 - 8, y as i32),
                style.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        Ok(())
    })?;
    image::imageops::replace(&mut canvas, grid, i64::from(left), i64::from(top));
    Ok(canvas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ImageShape, image_grid};

    #[test]
    fn labels_go_around_an_unchanged_grid() {
        let shape = ImageShape {
            channels: 1,
            height: 8,
            width: 8,
        };
        let images = vec![1.0f32; 6 * 64];
        let grid = image_grid(&images, shape, 3).unwrap();
        let rows = vec!["z0 · 1.20 nats".to_string(), "z3 · 0.01 nats".to_string()];
        let columns = vec!["-3".to_string(), "0".to_string(), "3".to_string()];
        let labels = GridLabels {
            title: "traversal",
            rows: &rows,
            columns: &columns,
        };
        let out = annotate_grid(&grid, 2, 3, &labels).unwrap();
        let left = out.width() - grid.width();
        let top = out.height() - grid.height();
        assert!(left > 100 && top == TITLE_HEIGHT + COLUMN_LABEL_HEIGHT);
        // The grid is copied pixel for pixel.
        for (x, y, p) in grid.enumerate_pixels() {
            assert_eq!(out.get_pixel(x + left, y + top), p);
        }
        // Text in the left margin.
        let dark = (0..left)
            .flat_map(|x| (top..out.height()).map(move |y| (x, y)))
            .filter(|&(x, y)| out.get_pixel(x, y).0[0] < 100)
            .count();
        assert!(dark > 30, "{dark}");
        assert!(annotate_grid(&grid, 3, 3, &labels).is_err());
        assert!(annotate_grid(&grid, 2, 300, &GridLabels::default()).is_err());
    }
}
