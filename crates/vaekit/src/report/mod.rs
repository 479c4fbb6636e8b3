//! Pictures for people: image grids of samples and reconstructions, and line
//! plots of training curves.
//!
//! Everything here renders into memory first ([`image::RgbImage`]) and is then
//! written with [`save_png`], which encodes the PNG in memory and writes it
//! atomically through [`crate::io::write_atomic`], so a reader never sees half
//! a picture. Nothing depends on system fonts or libraries: text uses the
//! DejaVu Sans font compiled into the binary.
//!
//! * [`grid`]: [`image_grid`] tiles images (grayscale or RGB, channel-first,
//!   values in `[0, 1]`) with crisp nearest-neighbour upscaling;
//!   [`comparison_grid`] shows originals beside their reconstructions.
//! * [`plot`]: [`render_line_plot`] and [`loss_plot_png`] draw named curves
//!   (such as train and validation -ELBO per epoch) with axes, tick labels,
//!   axis titles and a legend.
//!
//! No function here panics on bad input; every problem is an
//! [`Error`](crate::error::Error) with a message that says what to change.

pub mod grid;
pub mod plot;

pub use grid::{ImageShape, comparison_grid, image_grid, save_png};
pub use plot::{LinePlot, Series, loss_plot_png, render_line_plot};
