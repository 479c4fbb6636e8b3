//! Animated GIFs, for interpolations that play as a movie.
//!
//! Frames are encoded in memory with the `image` crate's GIF encoder (which
//! quantizes each frame to its own 256-colour palette; grayscale digits lose
//! nothing) and written atomically, like the PNGs. The animation loops
//! forever.

use std::path::Path;

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, DynamicImage, Frame, RgbImage};

use crate::error::{Error, Result};

/// Shortest accepted frame delay, in milliseconds (browsers slow down faster GIFs).
pub const MIN_FRAME_MS: u32 = 20;
/// Longest accepted frame delay, in milliseconds.
pub const MAX_FRAME_MS: u32 = 10_000;

/// Checks a frame delay: [`Error::Setting`] (`--frame-ms`) outside
/// [`MIN_FRAME_MS`]`..=`[`MAX_FRAME_MS`].
pub fn check_frame_ms(frame_ms: u32) -> Result<()> {
    if !(MIN_FRAME_MS..=MAX_FRAME_MS).contains(&frame_ms) {
        return Err(Error::setting(
            "--frame-ms",
            format!("{frame_ms} ms is out of range; give {MIN_FRAME_MS} to {MAX_FRAME_MS}"),
        ));
    }
    Ok(())
}

/// Writes `frames` (all the same size) as a looping GIF at `path`, each shown
/// for `frame_ms` milliseconds.
///
/// # Errors
///
/// [`Error::Setting`] (`--frame-ms`) for a delay outside
/// [`MIN_FRAME_MS`]`..=`[`MAX_FRAME_MS`]; [`Error::Data`] for no frames or
/// frames of different sizes; [`Error::Write`] when encoding or writing fails.
pub fn save_gif(path: &Path, frames: &[RgbImage], frame_ms: u32) -> Result<()> {
    check_frame_ms(frame_ms)?;
    let Some(first) = frames.first() else {
        return Err(Error::Data("an animation needs at least one frame".into()));
    };
    if frames.iter().any(|f| f.dimensions() != first.dimensions()) {
        return Err(Error::Data(
            "the frames of an animation must all have the same size".into(),
        ));
    }
    let encoding = |e: image::ImageError| {
        Error::write(path, std::io::Error::other(format!("GIF encoding: {e}")))
    };
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut bytes, 10);
        encoder.set_repeat(Repeat::Infinite).map_err(encoding)?;
        let delay = Delay::from_numer_denom_ms(frame_ms, 1);
        encoder
            .encode_frames(frames.iter().map(|f| {
                let rgba = DynamicImage::ImageRgb8(f.clone()).into_rgba8();
                Frame::from_parts(rgba, 0, 0, delay)
            }))
            .map_err(encoding)?;
    }
    crate::io::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::AnimationDecoder;
    use image::codecs::gif::GifDecoder;

    #[test]
    fn frames_come_back_in_order_with_their_delay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.gif");
        let frames: Vec<RgbImage> = [0u8, 128, 255]
            .iter()
            .map(|&g| RgbImage::from_pixel(10, 6, image::Rgb([g, g, g])))
            .collect();
        save_gif(&path, &frames, 150).unwrap();
        let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        let back: Vec<Frame> = GifDecoder::new(file)
            .unwrap()
            .into_frames()
            .collect_frames()
            .unwrap();
        assert_eq!(back.len(), 3);
        for (frame, g) in back.iter().zip([0u8, 128, 255]) {
            assert_eq!(frame.buffer().dimensions(), (10, 6));
            assert_eq!(frame.buffer().get_pixel(5, 3).0[..3], [g, g, g]);
            assert_eq!(frame.delay().numer_denom_ms(), (150, 1));
        }
        assert!(save_gif(&path, &frames, 5).is_err());
        assert!(save_gif(&path, &[], 100).is_err());
        let mixed = [frames[0].clone(), RgbImage::new(3, 3)];
        assert!(save_gif(&dir.path().join("b.gif"), &mixed, 100).is_err());
        assert!(!dir.path().join("b.gif").exists());
    }
}
