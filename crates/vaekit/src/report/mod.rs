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
//! * [`scatter`]: [`render_scatter`] draws points coloured by class with a
//!   legend (maps of the latent space), in one panel or three pairwise ones.
//! * [`annotate`]: [`annotate_grid`] puts a title and row and column labels
//!   around an image grid.
//! * [`gif`]: [`save_gif`] writes frames as a looping animated GIF.
//!
//! No function here panics on bad input; every problem is an
//! [`Error`](crate::error::Error) with a message that says what to change.

pub mod annotate;
pub mod gif;
pub mod grid;
pub mod plot;
pub mod scatter;

pub use annotate::{GridLabels, annotate_grid};
pub use gif::save_gif;
pub use grid::{ImageShape, comparison_grid, image_grid, save_png};
pub use plot::{LinePlot, Series, loss_plot_png, render_line_plot};
pub use scatter::{ScatterPlot, render_scatter};
