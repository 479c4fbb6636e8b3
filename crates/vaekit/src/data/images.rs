//! Folders of PNG and JPEG images.
//!
//! A folder is read in one of two layouts: images directly inside it
//! (unlabeled), or one level of class subfolders whose sorted names are the
//! classes (the layout of torchvision's `ImageFolder`). Files are taken in
//! sorted name order, so the same folder always gives the same data set.
//!
//! Loading makes two passes. The first reads only each image's header (size
//! and colour type), which decides the shape of the whole data set before any
//! pixel memory is committed: grayscale when every image is grayscale, RGB
//! otherwise, and one common size (all images must agree unless
//! `--image-size` resizes them). The second pass decodes, converts, resizes
//! with a triangle filter and stores channel-first values divided by 255.
//! Alpha channels are dropped. Decoding goes through the `image` crate with
//! its default memory limits, so a hostile header cannot request gigabytes.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageDecoder, ImageReader};

use super::{DataKind, Dataset, hwc_to_chw, in_file};
use crate::error::{Error, Result};

/// File extensions taken as images (compared case-insensitively).
const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// An image file and its class, if the folder has class subfolders.
struct Entry {
    path: PathBuf,
    label: Option<u32>,
}

/// What the first pass learns from an image's header.
struct Probe {
    height: u32,
    width: u32,
    gray: bool,
}

fn is_image_file(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// The entries of `dir` (hidden ones skipped) split into files and folders,
/// each sorted by name.
fn list_dir(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::read(dir, e))? {
        let path = entry.map_err(|e| Error::read(dir, e))?.path();
        if is_hidden(&path) {
            continue;
        }
        // Follows symbolic links, so linked files and folders count.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => dirs.push(path),
            Ok(m) if m.is_file() && is_image_file(&path) => files.push(path),
            Ok(_) => {}
            Err(e) => return Err(Error::read(&path, e)),
        }
    }
    files.sort();
    dirs.sort();
    Ok((files, dirs))
}

/// Loads an image folder. Returns the examples and, with class subfolders,
/// the class names (label `i` is `class_names[i]`).
///
/// # Shapes
///
/// `Image { channels: 1 or 3, height, width }`, channel-first, values in
/// `[0, 1]`; `image_size` is `[height, width]`.
pub(crate) fn load_folder(
    dir: &Path,
    image_size: Option<[usize; 2]>,
) -> Result<(Dataset, Option<Vec<String>>)> {
    let (loose, subdirs) = list_dir(dir)?;
    let mut classes: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for sub in subdirs {
        let (images, _) = list_dir(&sub)?;
        if !images.is_empty() {
            let name = sub
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            classes.push((name, images));
        }
    }
    if let (Some(file), Some((class, _))) = (loose.first(), classes.first()) {
        return Err(Error::Data(format!(
            "{} holds both images (such as {}) and class subfolders (such as {class}); move the loose images into a class folder, or remove them",
            dir.display(),
            file.display()
        )));
    }
    let entries: Vec<Entry> = if classes.is_empty() {
        loose
            .into_iter()
            .map(|path| Entry { path, label: None })
            .collect()
    } else {
        let mut entries = Vec::new();
        for (label, (_, images)) in classes.iter().enumerate() {
            let label = u32::try_from(label).map_err(|_| {
                Error::Data(format!("{} has too many class folders", dir.display()))
            })?;
            entries.extend(images.iter().map(|path| Entry {
                path: path.clone(),
                label: Some(label),
            }));
        }
        entries
    };
    if entries.is_empty() {
        return Err(Error::format(
            dir,
            "holds no images: vaekit looks for .png, .jpg and .jpeg files directly inside the folder, or in one level of class subfolders",
        ));
    }

    // Pass 1: headers only.
    let mut probes = Vec::with_capacity(entries.len());
    for entry in &entries {
        let bytes = crate::io::read_file(&entry.path)?;
        probes.push(probe(&entry.path, &bytes)?);
    }
    let gray = probes.iter().all(|p| p.gray);
    let (height, width) = match image_size {
        Some([h, w]) => (
            u32::try_from(h).map_err(|_| too_large(h))?,
            u32::try_from(w).map_err(|_| too_large(w))?,
        ),
        None => common_size(&entries, &probes)?,
    };
    let channels: usize = if gray { 1 } else { 3 };
    let kind = DataKind::Image {
        channels,
        height: height as usize,
        width: width as usize,
    };
    let no_room = || {
        Error::Data(format!(
            "{}: {} images of {} need more memory than is available; pass --image-size HxW to make them smaller",
            dir.display(),
            entries.len(),
            kind.describe()
        ))
    };
    let total = kind.dim().checked_mul(entries.len()).ok_or_else(no_room)?;
    let mut values: Vec<f32> = Vec::new();
    values.try_reserve_exact(total).map_err(|_| no_room())?;

    // Pass 2: decode, convert, resize.
    for entry in &entries {
        let bytes = crate::io::read_file(&entry.path)?;
        let image = decode_image(&entry.path, &bytes)?;
        let pixels = to_values(image, gray, height, width);
        if pixels.len() != kind.dim() {
            return Err(Error::Data(format!(
                "{} changed while it was being read; load the folder again",
                entry.path.display()
            )));
        }
        values.extend_from_slice(&pixels);
    }
    let labels = entries
        .iter()
        .map(|e| e.label)
        .collect::<Option<Vec<u32>>>();
    let class_names = (!classes.is_empty()).then(|| classes.into_iter().map(|(n, _)| n).collect());
    let dataset = Dataset::new(values, kind, labels).map_err(|e| in_file(dir, e))?;
    Ok((dataset, class_names))
}

fn too_large(side: usize) -> Error {
    Error::setting(
        "--image-size",
        format!("{side} is too large for an image side"),
    )
}

/// The size every image shares, or an error naming two that differ.
fn common_size(entries: &[Entry], probes: &[Probe]) -> Result<(u32, u32)> {
    let (Some(first), Some(first_probe)) = (entries.first(), probes.first()) else {
        return Err(Error::Data("no images to size".to_string()));
    };
    let size = (first_probe.height, first_probe.width);
    for (entry, p) in entries.iter().zip(probes) {
        if (p.height, p.width) != size {
            return Err(Error::Data(format!(
                "the images differ in size: {} is {}x{} but {} is {}x{} (height x width); pass --image-size HxW to resize them all, e.g. --image-size {}x{}",
                first.path.display(),
                size.0,
                size.1,
                entry.path.display(),
                p.height,
                p.width,
                size.0,
                size.1
            )));
        }
    }
    Ok(size)
}

fn reader<'a>(path: &Path, bytes: &'a [u8]) -> Result<ImageReader<Cursor<&'a [u8]>>> {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| corrupt(path, &e))
}

fn corrupt(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::format(
        path,
        format!(
            "cannot be decoded as an image ({e}); the file may be corrupt, or not really a PNG or JPEG"
        ),
    )
}

/// Reads an image's header: its size and whether it is grayscale.
fn probe(path: &Path, bytes: &[u8]) -> Result<Probe> {
    let decoder = reader(path, bytes)?
        .into_decoder()
        .map_err(|e| corrupt(path, &e))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(Error::format(
            path,
            format!("is an image of {height}x{width} pixels; images must not be empty"),
        ));
    }
    Ok(Probe {
        height,
        width,
        gray: !decoder.color_type().has_color(),
    })
}

/// Decodes a PNG or JPEG (the format is taken from the content, not the name).
pub(crate) fn decode_image(path: &Path, bytes: &[u8]) -> Result<DynamicImage> {
    reader(path, bytes)?.decode().map_err(|e| corrupt(path, &e))
}

/// Converts to 8-bit gray or RGB, resizes when needed, and returns
/// channel-first values divided by 255.
fn to_values(image: DynamicImage, gray: bool, height: u32, width: u32) -> Vec<f32> {
    let scale = |v: &u8| f32::from(*v) / 255.0;
    if gray {
        let mut buf = image.to_luma8();
        if buf.dimensions() != (width, height) {
            buf = imageops::resize(&buf, width, height, FilterType::Triangle);
        }
        buf.as_raw().iter().map(scale).collect()
    } else {
        let mut buf = image.to_rgb8();
        if buf.dimensions() != (width, height) {
            buf = imageops::resize(&buf, width, height, FilterType::Triangle);
        }
        let hwc: Vec<f32> = buf.as_raw().iter().map(scale).collect();
        hwc_to_chw(&hwc, height as usize, width as usize, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};
    use proptest::prelude::*;

    fn gray_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        GrayImage::from_fn(w, h, |x, y| Luma([f(x, y)]))
            .save(path)
            .unwrap();
    }

    #[test]
    fn unlabeled_grayscale_folder() {
        let dir = tempfile::tempdir().unwrap();
        gray_png(&dir.path().join("b.png"), 2, 3, |x, y| (10 * y + x) as u8);
        gray_png(&dir.path().join("a.PNG"), 2, 3, |_, _| 255);
        std::fs::write(dir.path().join("README.txt"), "not an image").unwrap();
        std::fs::write(dir.path().join(".hidden.png"), "ignored").unwrap();
        let (d, classes) = load_folder(dir.path(), None).unwrap();
        assert!(classes.is_none());
        assert!(d.labels().is_none());
        assert_eq!(
            d.kind(),
            &DataKind::Image {
                channels: 1,
                height: 3,
                width: 2
            }
        );
        assert_eq!(d.len(), 2);
        // Sorted by name: a.PNG first.
        assert!(d.row(0).iter().all(|&v| v == 1.0));
        let expected: Vec<f32> = [0u8, 1, 10, 11, 20, 21]
            .iter()
            .map(|&v| f32::from(v) / 255.0)
            .collect();
        assert_eq!(d.row(1), expected.as_slice());
    }

    #[test]
    fn class_folders_and_mixed_colour_become_rgb() {
        let dir = tempfile::tempdir().unwrap();
        gray_png(&dir.path().join("dog/1.png"), 1, 2, |_, y| 100 + y as u8);
        std::fs::create_dir_all(dir.path().join("cat")).unwrap();
        RgbImage::from_fn(1, 2, |_, y| Rgb([10, 20, 30 + y as u8]))
            .save(dir.path().join("cat/x.png"))
            .unwrap();
        RgbaImage::from_fn(1, 2, |_, _| Rgba([1, 2, 3, 0]))
            .save(dir.path().join("cat/y.png"))
            .unwrap();
        std::fs::create_dir_all(dir.path().join("empty")).unwrap();
        let (d, classes) = load_folder(dir.path(), None).unwrap();
        assert_eq!(classes, Some(vec!["cat".to_string(), "dog".to_string()]));
        assert_eq!(d.labels(), Some(&[0, 0, 1][..]));
        assert_eq!(
            d.kind(),
            &DataKind::Image {
                channels: 3,
                height: 2,
                width: 1
            }
        );
        let v = |x: u8| f32::from(x) / 255.0;
        // Channel-first: R plane, G plane, B plane, each 2 pixels.
        assert_eq!(d.row(0), &[v(10), v(10), v(20), v(20), v(30), v(31)]);
        // Alpha dropped.
        assert_eq!(d.row(1), &[v(1), v(1), v(2), v(2), v(3), v(3)]);
        // Gray copied to all three channels.
        assert_eq!(d.row(2), &[v(100), v(101), v(100), v(101), v(100), v(101)]);
    }

    #[test]
    fn sizes_must_agree_unless_resized() {
        let dir = tempfile::tempdir().unwrap();
        gray_png(&dir.path().join("a.png"), 4, 4, |_, _| 50);
        gray_png(&dir.path().join("b.png"), 2, 3, |_, _| 50);
        let e = load_folder(dir.path(), None).unwrap_err();
        assert!(matches!(e, Error::Data(_)));
        let m = e.to_string();
        assert!(
            m.contains("a.png is 4x4") && m.contains("b.png is 3x2"),
            "{m}"
        );
        assert!(m.contains("--image-size HxW"), "{m}");

        let (d, _) = load_folder(dir.path(), Some([5, 6])).unwrap();
        assert_eq!(
            d.kind(),
            &DataKind::Image {
                channels: 1,
                height: 5,
                width: 6
            }
        );
        // A constant image stays constant when resized.
        let c = 50.0 / 255.0;
        assert!(d.values().iter().all(|&v| (v - c).abs() < 1e-6));
    }

    #[test]
    fn jpeg_is_read() {
        let dir = tempfile::tempdir().unwrap();
        RgbImage::from_fn(8, 8, |_, _| Rgb([200, 100, 50]))
            .save(dir.path().join("p.jpg"))
            .unwrap();
        let (d, _) = load_folder(dir.path(), None).unwrap();
        assert_eq!(d.dim(), 3 * 64);
        let r = d.row(0)[0];
        assert!((r - 200.0 / 255.0).abs() < 0.05, "{r}");
    }

    #[test]
    fn corrupt_empty_and_mixed_folders() {
        let dir = tempfile::tempdir().unwrap();
        gray_png(&dir.path().join("good.png"), 2, 2, |_, _| 0);
        std::fs::write(dir.path().join("bad.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let e = load_folder(dir.path(), None).unwrap_err();
        assert!(matches!(e, Error::Format { .. }));
        assert!(e.to_string().contains("bad.png"), "{e}");
        assert!(e.to_string().contains("cannot be decoded"), "{e}");

        let empty = tempfile::tempdir().unwrap();
        let e = load_folder(empty.path(), None).unwrap_err();
        assert!(e.to_string().contains("holds no images"), "{e}");

        let mixed = tempfile::tempdir().unwrap();
        gray_png(&mixed.path().join("loose.png"), 2, 2, |_, _| 0);
        gray_png(&mixed.path().join("cls/in.png"), 2, 2, |_, _| 0);
        let e = load_folder(mixed.path(), None).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("loose.png") && m.contains("cls"), "{m}");
    }

    #[test]
    fn load_reaches_image_folders() {
        let dir = tempfile::tempdir().unwrap();
        gray_png(&dir.path().join("0/a.png"), 3, 3, |_, _| 9);
        gray_png(&dir.path().join("1/b.png"), 3, 3, |_, _| 9);
        let o = super::super::LoadOptions {
            image_size: Some([2, 2]),
            ..Default::default()
        };
        let s = super::super::load(dir.path().to_str().unwrap(), &o).unwrap();
        assert_eq!(s.format, super::super::Format::Images);
        assert_eq!(s.train.len(), 2);
        assert_eq!(s.train.dim(), 4);
        assert_eq!(s.class_names, Some(vec!["0".to_string(), "1".to_string()]));
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(
            prefix in prop::sample::select(vec![
                &b""[..],
                &b"\x89PNG\r\n\x1a\n"[..],
                &b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"[..],
                &b"\xff\xd8\xff"[..],
            ]),
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut b = prefix.to_vec();
            b.extend(bytes);
            let _ = probe(Path::new("x.png"), &b);
            let _ = decode_image(Path::new("x.png"), &b);
        }
    }
}
