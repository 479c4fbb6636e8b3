//! Image grids: many small images tiled into one RGB picture.
//!
//! # Layout
//!
//! Every tile is separated from its neighbours and from the picture's edge by a
//! [`GUTTER`]-pixel dark-gray band ([`GUTTER_COLOR`]), so black digits on a black
//! background still read as separate images. Tiles are scaled up by a whole
//! factor chosen so that a tile is at least [`MIN_TILE_HEIGHT`] pixels tall, with
//! nearest-neighbour sampling: an 8x8 digit becomes 56x56 blocks of flat colour
//! instead of a blur, which is what a person wants to see when judging a model's
//! output pixel by pixel. Images taller than that are drawn at their own size.
//!
//! When there are fewer images than columns, the grid narrows to the number of
//! images (no empty column band on the right). Cells past the last image in the
//! final row are left in the gutter colour.
//!
//! In a [`comparison_grid`], each original is followed by its reconstruction with
//! the ordinary gutter between them, and pairs are separated by the wider
//! [`PAIR_GAP`] (horizontally and between rows), so the eye groups them.
//!
//! # Values
//!
//! Values are channel-first per image (`C x H x W`), expected in `[0, 1]`, and
//! clamped to it; NaN is drawn black. Grayscale (one channel) is drawn as gray
//! RGB so every grid is an [`RgbImage`].
//!
//! # Errors
//!
//! Bad input never panics: zero images, a length that is not a whole number of
//! images, a channel count other than 1 or 3, an empty image side, mismatched
//! original/reconstruction counts, zero columns, and a grid that would exceed
//! [`MAX_SIDE`] pixels on a side are all reported as [`Error`]s.

use std::path::Path;

use image::{ImageEncoder, Rgb, RgbImage};

use crate::error::{Error, Result};

/// Width in pixels of the band between tiles and around the border.
pub const GUTTER: u32 = 2;
/// Width in pixels of the band between two (original, reconstruction) pairs.
pub const PAIR_GAP: u32 = 8;
/// Colour of the gutter bands (dark gray).
pub const GUTTER_COLOR: Rgb<u8> = Rgb([64, 64, 64]);
/// Tiles are scaled up by a whole factor until they are at least this tall.
pub const MIN_TILE_HEIGHT: usize = 56;
/// Largest width or height, in pixels, of a grid picture.
pub const MAX_SIDE: u32 = 16384;

/// Shape of one image, channel-first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageShape {
    /// Number of channels: 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl ImageShape {
    /// Number of values in one image (`channels * height * width`), after
    /// checking that the shape can be drawn.
    fn checked_len(&self) -> Result<usize> {
        if self.channels != 1 && self.channels != 3 {
            return Err(Error::Data(format!(
                "cannot draw images with {} channels: only 1 (grayscale) or 3 (RGB) channels can be drawn",
                self.channels
            )));
        }
        if self.height == 0 || self.width == 0 {
            return Err(Error::Data(format!(
                "cannot draw images of {}x{} pixels: height and width must both be at least 1",
                self.height, self.width
            )));
        }
        self.channels
            .checked_mul(self.height)
            .and_then(|n| n.checked_mul(self.width))
            .ok_or_else(|| {
                Error::Data(format!(
                    "image shape {}x{}x{} is too large to draw",
                    self.channels, self.height, self.width
                ))
            })
    }
}

/// Size of one tile after scaling, and the scale factor used.
#[derive(Debug, Clone, Copy)]
struct Tile {
    scale: usize,
    width: u32,
    height: u32,
}

impl Tile {
    fn for_shape(shape: ImageShape) -> Result<Tile> {
        let scale = MIN_TILE_HEIGHT.div_ceil(shape.height).max(1);
        let too_big = || {
            Error::Data(format!(
                "images of {}x{} pixels are too large to draw in a grid (at most {MAX_SIDE} pixels on a side)",
                shape.height, shape.width
            ))
        };
        let width = shape.width.checked_mul(scale).ok_or_else(too_big)?;
        let height = shape.height.checked_mul(scale).ok_or_else(too_big)?;
        let width = u32::try_from(width)
            .ok()
            .filter(|&w| w <= MAX_SIDE)
            .ok_or_else(too_big)?;
        let height = u32::try_from(height)
            .ok()
            .filter(|&h| h <= MAX_SIDE)
            .ok_or_else(too_big)?;
        Ok(Tile {
            scale,
            width,
            height,
        })
    }
}

/// Splits `values` into whole images of `shape`, returning the count.
fn count_images(values: &[f32], shape: ImageShape, what: &str) -> Result<usize> {
    let per_image = shape.checked_len()?;
    if values.is_empty() {
        return Err(Error::Data(format!(
            "no {what} to draw: the grid needs at least one image"
        )));
    }
    if !values.len().is_multiple_of(per_image) {
        return Err(Error::Data(format!(
            "{what}: {} values is not a whole number of {}x{}x{} images ({per_image} values each)",
            values.len(),
            shape.channels,
            shape.height,
            shape.width
        )));
    }
    Ok(values.len() / per_image)
}

/// Total length of `count` items of `item` pixels separated by `gap` pixels,
/// with `border` pixels at both ends; `None` past [`MAX_SIDE`].
fn span(count: usize, item: u32, gap: u32, border: u32) -> Option<u32> {
    let count = u32::try_from(count).ok()?;
    let items = count.checked_mul(item)?;
    let gaps = count.checked_sub(1)?.checked_mul(gap)?;
    let total = items
        .checked_add(gaps)?
        .checked_add(border.checked_mul(2)?)?;
    (total <= MAX_SIDE).then_some(total)
}

fn too_large(width: Option<u32>, height: Option<u32>, n: usize, per_row: usize) -> Error {
    let show = |v: Option<u32>| v.map_or_else(|| "too many".to_string(), |v| v.to_string());
    Error::Data(format!(
        "a grid of {n} images with {per_row} per row would be {} x {} pixels, over the limit of {MAX_SIDE} \
         on a side; draw fewer images or change the number per row",
        show(width),
        show(height)
    ))
}

/// Converts a value to an 8-bit intensity: clamped to `[0, 1]`, NaN as black.
fn to_u8(v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        // The clamp keeps the product in [0, 255], so the cast is exact.
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

/// Draws one image (channel-first values) at `(x0, y0)`, scaled by `tile.scale`.
///
/// The caller guarantees that the tile lies inside `canvas`.
fn blit(canvas: &mut RgbImage, values: &[f32], shape: ImageShape, tile: Tile, x0: u32, y0: u32) {
    let plane = shape.height * shape.width;
    let scale = tile.scale as u32;
    for row in 0..shape.height {
        for col in 0..shape.width {
            let at = row * shape.width + col;
            let pixel = if shape.channels == 1 {
                let g = to_u8(values[at]);
                Rgb([g, g, g])
            } else {
                Rgb([
                    to_u8(values[at]),
                    to_u8(values[plane + at]),
                    to_u8(values[2 * plane + at]),
                ])
            };
            // row < height and col < width, and height*scale, width*scale fit in u32.
            let px = x0 + col as u32 * scale;
            let py = y0 + row as u32 * scale;
            for dy in 0..scale {
                for dx in 0..scale {
                    canvas.put_pixel(px + dx, py + dy, pixel);
                }
            }
        }
    }
}

/// Lays `images` (n * C*H*W values, channel-first per image, values clamped to
/// `[0, 1]`) out in a grid with `columns` columns, a 2-pixel dark-gray gutter
/// between tiles and around the border, each tile scaled up by an integer factor
/// chosen so that a tile is at least 56 pixels tall (nearest-neighbour, so 8x8
/// digits stay crisp). Grayscale becomes gray RGB.
///
/// Images fill the grid row by row. With fewer images than `columns`, the grid
/// has one column per image. The picture is
/// `cols * tile_w + (cols + 1) * 2` pixels wide and
/// `rows * tile_h + (rows + 1) * 2` pixels tall, where `cols = min(columns, n)`
/// and `rows = ceil(n / cols)`.
///
/// # Errors
///
/// [`Error::Data`] for zero images, a length that is not a multiple of `C*H*W`,
/// a channel count other than 1 or 3, an empty height or width, or a grid over
/// [`MAX_SIDE`] pixels on a side; [`Error::Setting`] for `columns == 0`.
pub fn image_grid(images: &[f32], shape: ImageShape, columns: usize) -> Result<RgbImage> {
    if columns == 0 {
        return Err(Error::setting(
            "columns",
            "an image grid needs at least 1 column",
        ));
    }
    let n = count_images(images, shape, "images")?;
    let tile = Tile::for_shape(shape)?;
    let cols = columns.min(n);
    let rows = n.div_ceil(cols);
    let width = span(cols, tile.width, GUTTER, GUTTER);
    let height = span(rows, tile.height, GUTTER, GUTTER);
    let (Some(width), Some(height)) = (width, height) else {
        return Err(too_large(width, height, n, cols));
    };

    let mut canvas = RgbImage::from_pixel(width, height, GUTTER_COLOR);
    let per_image = images.len() / n;
    for (i, values) in images.chunks_exact(per_image).enumerate() {
        // i / cols < rows and i % cols < cols, so these fit in u32 (checked by `span`).
        let (r, c) = ((i / cols) as u32, (i % cols) as u32);
        let x0 = GUTTER + c * (tile.width + GUTTER);
        let y0 = GUTTER + r * (tile.height + GUTTER);
        blit(&mut canvas, values, shape, tile, x0, y0);
    }
    Ok(canvas)
}

/// Originals beside their reconstructions: pairs laid out as (original,
/// reconstruction) side by side, `pairs_per_row` pairs per row, with a wider
/// gutter between pairs than inside a pair.
///
/// Inside a pair the two tiles are [`GUTTER`] pixels apart; pairs are
/// [`PAIR_GAP`] pixels apart horizontally and rows of pairs [`PAIR_GAP`] pixels
/// apart vertically; the border is [`GUTTER`] pixels. With fewer pairs than
/// `pairs_per_row`, each row holds all the pairs. So the picture is
/// `cols * (2 * tile_w + 2) + (cols - 1) * 8 + 4` pixels wide and
/// `rows * tile_h + (rows - 1) * 8 + 4` tall, with `cols = min(pairs_per_row, n)`
/// and `rows = ceil(n / cols)`.
///
/// # Errors
///
/// As [`image_grid`], plus [`Error::Data`] when the two sets hold different
/// numbers of images, and [`Error::Setting`] for `pairs_per_row == 0`.
pub fn comparison_grid(
    originals: &[f32],
    reconstructions: &[f32],
    shape: ImageShape,
    pairs_per_row: usize,
) -> Result<RgbImage> {
    if pairs_per_row == 0 {
        return Err(Error::setting(
            "pairs_per_row",
            "a comparison grid needs at least 1 pair per row",
        ));
    }
    let n = count_images(originals, shape, "original images")?;
    let m = count_images(reconstructions, shape, "reconstructed images")?;
    if n != m {
        return Err(Error::Data(format!(
            "cannot pair {n} original images with {m} reconstructions: the counts must match"
        )));
    }
    let tile = Tile::for_shape(shape)?;
    let pair_width = tile
        .width
        .checked_mul(2)
        .and_then(|w| w.checked_add(GUTTER));
    let cols = pairs_per_row.min(n);
    let rows = n.div_ceil(cols);
    let width = pair_width.and_then(|pw| span(cols, pw, PAIR_GAP, GUTTER));
    let height = span(rows, tile.height, PAIR_GAP, GUTTER);
    let (Some(pair_width), Some(width), Some(height)) = (pair_width, width, height) else {
        return Err(too_large(width, height, n, cols));
    };

    let mut canvas = RgbImage::from_pixel(width, height, GUTTER_COLOR);
    let per_image = originals.len() / n;
    let pairs = originals
        .chunks_exact(per_image)
        .zip(reconstructions.chunks_exact(per_image));
    for (i, (original, reconstruction)) in pairs.enumerate() {
        let (r, c) = ((i / cols) as u32, (i % cols) as u32);
        let x0 = GUTTER + c * (pair_width + PAIR_GAP);
        let y0 = GUTTER + r * (tile.height + PAIR_GAP);
        blit(&mut canvas, original, shape, tile, x0, y0);
        blit(
            &mut canvas,
            reconstruction,
            shape,
            tile,
            x0 + tile.width + GUTTER,
            y0,
        );
    }
    Ok(canvas)
}

/// Encodes `image` as PNG into memory, then writes it atomically with
/// [`crate::io::write_atomic`], so a reader never sees half a file.
///
/// # Errors
///
/// [`Error::Write`] naming `path` when encoding fails (for example an empty
/// image) or the file cannot be written.
pub fn save_png(path: &Path, image: &RgbImage) -> Result<()> {
    let bytes = png_bytes(image).map_err(|e| Error::write(path, e))?;
    crate::io::write_atomic(path, &bytes)
}

/// `image` encoded as a PNG in memory.
///
/// # Errors
///
/// When encoding fails (for example an empty image).
pub fn png_bytes(image: &RgbImage) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| std::io::Error::other(format!("PNG encoding: {e}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAY8: ImageShape = ImageShape {
        channels: 1,
        height: 8,
        width: 8,
    };

    fn px(img: &RgbImage, x: u32, y: u32) -> [u8; 3] {
        img.get_pixel(x, y).0
    }

    #[test]
    fn grid_geometry_is_exact() {
        // 8x8 -> scale 7 -> 56x56 tiles.
        let images = vec![0.5; 10 * 64];
        let img = image_grid(&images, GRAY8, 4).unwrap();
        // 4 columns, 3 rows.
        assert_eq!(img.width(), 4 * 56 + 5 * 2);
        assert_eq!(img.height(), 3 * 56 + 4 * 2);

        // 28x28 -> scale 2 -> 56x56.
        let shape = ImageShape {
            channels: 1,
            height: 28,
            width: 28,
        };
        let img = image_grid(&vec![0.0; 3 * 784], shape, 8).unwrap();
        // fewer images than columns: 3 columns, 1 row.
        assert_eq!((img.width(), img.height()), (3 * 56 + 4 * 2, 56 + 2 * 2));

        // 64x32 RGB -> scale 1.
        let shape = ImageShape {
            channels: 3,
            height: 64,
            width: 32,
        };
        let img = image_grid(&vec![0.0; 5 * 3 * 64 * 32], shape, 2).unwrap();
        assert_eq!(
            (img.width(), img.height()),
            (2 * 32 + 3 * 2, 3 * 64 + 4 * 2)
        );

        // 20x3 -> scale ceil(56 / 20) = 3: tiles 9 wide, 60 tall.
        let shape = ImageShape {
            channels: 1,
            height: 20,
            width: 3,
        };
        let img = image_grid(&vec![0.0; 60], shape, 1).unwrap();
        assert_eq!((img.width(), img.height()), (9 + 4, 60 + 4));
    }

    #[test]
    fn white_image_lands_in_tile_one() {
        let shape = ImageShape {
            channels: 1,
            height: 2,
            width: 2,
        };
        // Three images: black, white, black; 2 columns.
        let mut images = vec![0.0f32; 12];
        images[4..8].fill(1.0);
        let img = image_grid(&images, shape, 2).unwrap();
        let t = 56; // 2 * 28
        assert_eq!((img.width(), img.height()), (2 * t + 6, 2 * t + 6));
        // Tile 1 is row 0, column 1: x in [2 + t + 2, 2 + 2t + 2), y in [2, 2 + t).
        let x0 = GUTTER + t + GUTTER;
        for (x, y) in [
            (x0, 2),
            (x0 + t - 1, 2),
            (x0, 2 + t - 1),
            (x0 + t - 1, 1 + t),
        ] {
            assert_eq!(px(&img, x, y), [255; 3], "at ({x}, {y})");
        }
        // Tile 0 and tile 2 are black.
        assert_eq!(px(&img, 2, 2), [0; 3]);
        assert_eq!(px(&img, 2 + t - 1, 2 + t - 1), [0; 3]);
        assert_eq!(px(&img, 2, 2 + t + 2), [0; 3]);
        // Gutters: border, between tiles, and the empty last cell.
        assert_eq!(px(&img, 0, 0), GUTTER_COLOR.0);
        assert_eq!(px(&img, 1, 30), GUTTER_COLOR.0);
        assert_eq!(px(&img, 2 + t, 30), GUTTER_COLOR.0);
        assert_eq!(px(&img, 2 + t + 1, 30), GUTTER_COLOR.0);
        assert_eq!(px(&img, 30, 2 + t), GUTTER_COLOR.0);
        assert_eq!(px(&img, x0 + 10, 2 + t + 2 + 10), GUTTER_COLOR.0);
        assert_eq!(px(&img, img.width() - 1, img.height() - 1), GUTTER_COLOR.0);
    }

    #[test]
    fn nearest_neighbour_scaling_keeps_pixels_crisp() {
        // A 2x2 checkerboard scaled by 28: each source pixel is a 28x28 block.
        let shape = ImageShape {
            channels: 1,
            height: 2,
            width: 2,
        };
        let img = image_grid(&[1.0, 0.0, 0.0, 1.0], shape, 1).unwrap();
        assert_eq!(px(&img, 2, 2), [255; 3]);
        assert_eq!(px(&img, 2 + 27, 2 + 27), [255; 3]);
        assert_eq!(px(&img, 2 + 28, 2), [0; 3]);
        assert_eq!(px(&img, 2 + 28, 2 + 28), [255; 3]);
        assert_eq!(px(&img, 2, 2 + 28), [0; 3]);
    }

    #[test]
    fn rgb_channels_are_read_channel_first() {
        let shape = ImageShape {
            channels: 3,
            height: 1,
            width: 2,
        };
        // R plane, G plane, B plane.
        let values = [1.0, 0.0, 0.0, 1.0, 0.2, 0.0];
        let img = image_grid(&values, shape, 1).unwrap();
        // scale 56: pixel (0,0) at x 2..58, pixel (0,1) at x 58..114.
        assert_eq!(px(&img, 2, 2), [255, 0, 51]);
        assert_eq!(px(&img, 60, 2), [0, 255, 0]);
    }

    #[test]
    fn values_are_clamped_and_nan_is_black() {
        let shape = ImageShape {
            channels: 1,
            height: 1,
            width: 6,
        };
        let values = [-3.0, 2.0, 0.5, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        let img = image_grid(&values, shape, 1).unwrap();
        let at = |i: u32| px(&img, 2 + i * 56, 2)[0];
        assert_eq!(
            [at(0), at(1), at(2), at(3), at(4), at(5)],
            [0, 255, 128, 0, 255, 0]
        );
    }

    #[test]
    fn grid_errors() {
        let bad = |r: Result<RgbImage>| r.unwrap_err();
        assert!(matches!(bad(image_grid(&[], GRAY8, 3)), Error::Data(_)));
        let e = bad(image_grid(&[0.0; 65], GRAY8, 3));
        assert!(
            matches!(&e, Error::Data(m) if m.contains("65 values")),
            "{e}"
        );
        for channels in [0, 2, 4] {
            let shape = ImageShape { channels, ..GRAY8 };
            let e = bad(image_grid(&[0.0; 128], shape, 3));
            assert!(
                matches!(&e, Error::Data(m) if m.contains("channels")),
                "{e}"
            );
        }
        let e = bad(image_grid(&[0.0; 64], GRAY8, 0));
        assert!(
            matches!(&e, Error::Setting { name, .. } if name == "columns"),
            "{e}"
        );
        let empty = ImageShape { height: 0, ..GRAY8 };
        assert!(matches!(
            bad(image_grid(&[0.0; 8], empty, 1)),
            Error::Data(_)
        ));
        // 8x8 tiles are 56 wide: 300 columns -> 300 * 58 + 2 > 16384.
        let e = bad(image_grid(&vec![0.0; 300 * 64], GRAY8, 300));
        assert!(matches!(&e, Error::Data(m) if m.contains("16384")), "{e}");
        // ... and 282 columns just fit: 282 * 58 + 2 = 16358.
        assert_eq!(
            image_grid(&vec![0.0; 282 * 64], GRAY8, 282)
                .unwrap()
                .width(),
            16358
        );
        // Too many rows.
        let e = bad(image_grid(&vec![0.0; 300 * 64], GRAY8, 1));
        assert!(matches!(&e, Error::Data(m) if m.contains("16384")), "{e}");
        // One huge image, and a shape whose size overflows.
        let tall = ImageShape {
            channels: 1,
            height: 20000,
            width: 1,
        };
        assert!(matches!(
            bad(image_grid(&vec![0.0; 20000], tall, 1)),
            Error::Data(_)
        ));
        let huge = ImageShape {
            channels: 3,
            height: usize::MAX / 2,
            width: 5,
        };
        assert!(matches!(
            bad(image_grid(&[0.0; 3], huge, 1)),
            Error::Data(_)
        ));
        // Huge column counts are fine when there are few images.
        assert!(image_grid(&[0.0; 64], GRAY8, usize::MAX).is_ok());
    }

    #[test]
    fn comparison_layout() {
        let n = 5;
        let originals = vec![1.0; n * 64];
        let reconstructions = vec![0.0; n * 64];
        let img = comparison_grid(&originals, &reconstructions, GRAY8, 2).unwrap();
        // 2 pairs per row, 3 rows; a pair is 56 + 2 + 56 = 114 wide.
        assert_eq!(img.width(), 2 * 114 + 8 + 2 * 2);
        assert_eq!(img.height(), 3 * 56 + 2 * 8 + 2 * 2);
        // First pair: original white, reconstruction black, 2-pixel gutter between.
        assert_eq!(px(&img, 2, 2), [255; 3]);
        assert_eq!(px(&img, 2 + 55, 2), [255; 3]);
        assert_eq!(px(&img, 2 + 56, 2), GUTTER_COLOR.0);
        assert_eq!(px(&img, 2 + 57, 2), GUTTER_COLOR.0);
        assert_eq!(px(&img, 2 + 58, 2), [0; 3]);
        assert_eq!(px(&img, 2 + 113, 2), [0; 3]);
        // 8-pixel gap, then the second pair's original.
        for x in 2 + 114..2 + 114 + 8 {
            assert_eq!(px(&img, x, 10), GUTTER_COLOR.0);
        }
        assert_eq!(px(&img, 2 + 114 + 8, 2), [255; 3]);
        // Second row starts after an 8-pixel gap.
        assert_eq!(px(&img, 2, 2 + 56 + 7), GUTTER_COLOR.0);
        assert_eq!(px(&img, 2, 2 + 56 + 8), [255; 3]);
        // Fifth pair sits in row 2, column 0; the cell beside it is empty.
        assert_eq!(px(&img, 2, 2 + 2 * 64), [255; 3]);
        assert_eq!(px(&img, 2 + 58, 2 + 2 * 64), [0; 3]);
        assert_eq!(px(&img, 2 + 114 + 8, 2 + 2 * 64), GUTTER_COLOR.0);

        // One pair: 114 + 4 by 56 + 4.
        let img = comparison_grid(&originals[..64], &reconstructions[..64], GRAY8, 6).unwrap();
        assert_eq!((img.width(), img.height()), (118, 60));
    }

    #[test]
    fn comparison_errors() {
        let a = vec![0.0; 3 * 64];
        let b = vec![0.0; 2 * 64];
        let e = comparison_grid(&a, &b, GRAY8, 2).unwrap_err();
        assert!(
            matches!(&e, Error::Data(m) if m.contains("3 original") && m.contains("2 reconstructions")),
            "{e}"
        );
        let e = comparison_grid(&a, &a, GRAY8, 0).unwrap_err();
        assert!(
            matches!(&e, Error::Setting { name, .. } if name == "pairs_per_row"),
            "{e}"
        );
        assert!(matches!(
            comparison_grid(&[], &[], GRAY8, 2),
            Err(Error::Data(_))
        ));
        assert!(matches!(
            comparison_grid(&a, &[], GRAY8, 2),
            Err(Error::Data(_))
        ));
        assert!(matches!(
            comparison_grid(&a, &b[..100], GRAY8, 2),
            Err(Error::Data(_))
        ));
        let rgb = ImageShape {
            channels: 2,
            ..GRAY8
        };
        assert!(matches!(
            comparison_grid(&a, &a, rgb, 2),
            Err(Error::Data(_))
        ));
        let many = vec![0.0; 200 * 64];
        let e = comparison_grid(&many, &many, GRAY8, 200).unwrap_err();
        assert!(matches!(&e, Error::Data(m) if m.contains("16384")), "{e}");
    }

    #[test]
    fn png_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let shape = ImageShape {
            channels: 3,
            height: 5,
            width: 7,
        };
        let values: Vec<f32> = (0..4 * 105).map(|i| (i % 17) as f32 / 16.0).collect();
        let img = image_grid(&values, shape, 3).unwrap();
        save_png(&path, &img).unwrap();
        let back = image::open(&path).unwrap().into_rgb8();
        assert_eq!(back.dimensions(), img.dimensions());
        assert_eq!(back.as_raw(), img.as_raw());
        // Only the PNG is left in the folder (no temporary file).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn save_png_errors() {
        let dir = tempfile::tempdir().unwrap();
        let img = RgbImage::new(3, 3);
        let e = save_png(&dir.path().join("missing/x.png"), &img).unwrap_err();
        assert!(matches!(e, Error::Write { .. }));
        // An empty picture cannot be encoded; it is an error, not a panic.
        let e = save_png(&dir.path().join("empty.png"), &RgbImage::new(0, 0)).unwrap_err();
        assert!(matches!(e, Error::Write { .. }), "{e}");
    }
}
