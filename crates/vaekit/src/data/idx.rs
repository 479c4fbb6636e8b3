//! The IDX format of MNIST and its relatives.
//!
//! An IDX file is a 4-byte magic number, `00 00 <type> <rank>`, then `rank`
//! big-endian `u32` dimensions, then the values in row-major order, big-endian.
//! The parser checks every header field against the real length of the file
//! before it trusts it: dimensions are multiplied with checked arithmetic and
//! compared with the bytes actually present, so a corrupt header can neither
//! overflow nor make the loader allocate gigabytes. [`parse_idx`] returns a
//! validated view that borrows the data; [`to_dataset`] and [`to_labels`]
//! interpret it as examples or as labels. [`load_idx_dir`] reads a folder of
//! IDX files named as MNIST, Fashion-MNIST and KMNIST ship them.

use std::path::{Path, PathBuf};

use super::{DataKind, Dataset, check_label_count, hwc_to_chw, in_file, read_data_file};
use crate::error::{Error, Result};

/// What an IDX file starts with, for messages.
const MAGIC_HINT: &str = "an IDX file starts with 00 00 <type> <rank>";

/// The element types an IDX file can hold, from the third magic byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdxType {
    U8,
    I8,
    I16,
    I32,
    F32,
    F64,
}

impl IdxType {
    fn from_byte(b: u8) -> Option<IdxType> {
        Some(match b {
            0x08 => IdxType::U8,
            0x09 => IdxType::I8,
            0x0B => IdxType::I16,
            0x0C => IdxType::I32,
            0x0D => IdxType::F32,
            0x0E => IdxType::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            IdxType::U8 => "u8",
            IdxType::I8 => "i8",
            IdxType::I16 => "i16",
            IdxType::I32 => "i32",
            IdxType::F32 => "f32",
            IdxType::F64 => "f64",
        }
    }
}

/// A validated IDX file: its type, dimensions and exactly the data bytes they
/// call for.
#[derive(Debug, Clone)]
pub(crate) struct IdxArray<'a> {
    pub ty: IdxType,
    /// The dimensions, outermost first (all at least 1).
    pub dims: Vec<usize>,
    data: &'a [u8],
}

/// `true` when `bytes` start with a plausible IDX magic number (known type,
/// rank 1 to 4). Used for format detection only; [`parse_idx`] checks the rest.
pub(crate) fn looks_like_idx(bytes: &[u8]) -> bool {
    matches!(bytes, [0, 0, t, r, ..] if IdxType::from_byte(*t).is_some() && (1..=4).contains(r))
}

/// Parses an IDX file's header and checks that the data matches it exactly.
///
/// `path` is only used in messages. Errors are [`Error::Format`] naming what
/// is wrong: the magic number, the type or rank, a zero or overflowing
/// dimension, missing or trailing data.
pub(crate) fn parse_idx<'a>(path: &Path, bytes: &'a [u8]) -> Result<IdxArray<'a>> {
    let fail = |message: String| Error::format(path, message);
    let [m0, m1, type_byte, rank] = match bytes {
        [a, b, c, d, ..] => [*a, *b, *c, *d],
        _ => {
            return Err(fail(format!(
                "is too short to be an IDX file ({} bytes); {MAGIC_HINT}",
                bytes.len()
            )));
        }
    };
    if (m0, m1) != (0, 0) {
        return Err(fail(format!(
            "is not an IDX file: it starts with {:02x} {:02x} {type_byte:02x} {rank:02x}, but {MAGIC_HINT}",
            m0, m1
        )));
    }
    let ty = IdxType::from_byte(type_byte).ok_or_else(|| {
        fail(format!(
            "has unknown IDX data type 0x{type_byte:02x} (third byte); known types are 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32 and 0x0E f64"
        ))
    })?;
    if !(1..=4).contains(&rank) {
        return Err(fail(format!(
            "has IDX rank {rank} (fourth byte); vaekit reads ranks 1 to 4 (labels, tables, grayscale and colour images)"
        )));
    }
    let rank = usize::from(rank);
    let header_len = 4 + 4 * rank;
    let dim_bytes = bytes.get(4..header_len).ok_or_else(|| {
        fail(format!(
            "has a truncated header: rank {rank} needs {header_len} header bytes but the file has {}",
            bytes.len()
        ))
    })?;
    let mut dims = Vec::with_capacity(rank);
    for (i, chunk) in dim_bytes.chunks_exact(4).enumerate() {
        let d = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if d == 0 {
            return Err(fail(format!(
                "has dimension {} of {rank} equal to 0; every dimension of an IDX file must be at least 1",
                i + 1
            )));
        }
        let d = usize::try_from(d)
            .map_err(|_| fail(format!("has dimension {d}, too large for this machine")))?;
        dims.push(d);
    }
    let shape = dims_text(&dims);
    let expected = dims
        .iter()
        .try_fold(ty.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            fail(format!(
                "has dimensions {shape} of {} values whose size overflows; the header is corrupt",
                ty.name()
            ))
        })?;
    let data = bytes.get(header_len..).unwrap_or_default();
    if data.len() < expected {
        return Err(fail(format!(
            "is truncated: dimensions {shape} of {} values need {expected} bytes of data after the header, found {}; the file may be incomplete",
            ty.name(),
            data.len()
        )));
    }
    if data.len() > expected {
        return Err(fail(format!(
            "has {} trailing bytes: dimensions {shape} of {} values need {expected} bytes of data after the header, found {}",
            data.len() - expected,
            ty.name(),
            data.len()
        )));
    }
    Ok(IdxArray { ty, dims, data })
}

fn dims_text(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

impl IdxArray<'_> {
    /// All values as `f32`, u8 divided by 255, others as written.
    fn values_f32(&self) -> Vec<f32> {
        let d = self.data;
        match self.ty {
            IdxType::U8 => d.iter().map(|&b| f32::from(b) / 255.0).collect(),
            IdxType::I8 => d.iter().map(|&b| f32::from(b as i8)).collect(),
            IdxType::I16 => d
                .chunks_exact(2)
                .map(|c| f32::from(i16::from_be_bytes([c[0], c[1]])))
                .collect(),
            IdxType::I32 => d
                .chunks_exact(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
            IdxType::F32 => d
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            IdxType::F64 => d
                .chunks_exact(8)
                .map(|c| {
                    f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect(),
        }
    }

    /// All values as integers, or `None` for float types.
    fn values_i64(&self) -> Option<Vec<i64>> {
        let d = self.data;
        Some(match self.ty {
            IdxType::U8 => d.iter().map(|&b| i64::from(b)).collect(),
            IdxType::I8 => d.iter().map(|&b| i64::from(b as i8)).collect(),
            IdxType::I16 => d
                .chunks_exact(2)
                .map(|c| i64::from(i16::from_be_bytes([c[0], c[1]])))
                .collect(),
            IdxType::I32 => d
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            IdxType::F32 | IdxType::F64 => return None,
        })
    }
}

/// Interprets a parsed IDX file as examples.
///
/// # Shapes
///
/// Rank 2 `(n, d)` is a table with columns `x0..x{d-1}`; rank 3 `(n, h, w)`
/// is `n` grayscale images `h` x `w`; rank 4 `(n, h, w, c)` is `n` images with
/// `c` channels, stored channel-last in the file and reordered here to
/// channel-first. Rank 1 is a labels file and is rejected. `u8` values are
/// divided by 255; other types are kept as written.
pub(crate) fn to_dataset(path: &Path, array: &IdxArray) -> Result<Dataset> {
    let kind = match array.dims.as_slice() {
        [_, d] => DataKind::Table {
            columns: (0..*d).map(|i| format!("x{i}")).collect(),
        },
        [_, h, w] => DataKind::Image {
            channels: 1,
            height: *h,
            width: *w,
        },
        [_, h, w, c] => DataKind::Image {
            channels: *c,
            height: *h,
            width: *w,
        },
        dims => {
            return Err(Error::format(
                path,
                format!(
                    "is a rank-{} IDX file ({} values): that is a labels file, not images or a table; pass it with --labels, or put it in an IDX folder as *-labels-idx1-ubyte",
                    dims.len(),
                    dims_text(dims)
                ),
            ));
        }
    };
    let mut values = array.values_f32();
    if let [_, h, w, c] = array.dims.as_slice() {
        values = hwc_to_chw(&values, *h, *w, *c);
    }
    Dataset::new(values, kind, None).map_err(|e| in_file(path, e))
}

/// Interprets a parsed IDX file as class labels: rank 1, an integer type, no
/// negative values.
pub(crate) fn to_labels(path: &Path, array: &IdxArray) -> Result<Vec<u32>> {
    if array.dims.len() != 1 {
        return Err(Error::format(
            path,
            format!(
                "is not a labels file: labels are a rank-1 IDX file (one label per example), but this one has rank {} ({})",
                array.dims.len(),
                dims_text(&array.dims)
            ),
        ));
    }
    let values = array.values_i64().ok_or_else(|| {
        Error::format(
            path,
            format!(
                "holds {} values, but labels must be integers (IDX type u8, i8, i16 or i32)",
                array.ty.name()
            ),
        )
    })?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            u32::try_from(v).map_err(|_| {
                Error::format(
                    path,
                    format!(
                        "has label {v} at position {}; labels must be class indices 0, 1, 2, ...",
                        i + 1
                    ),
                )
            })
        })
        .collect()
}

/// The files of an IDX folder, as found on disk.
#[derive(Debug, Default)]
pub(crate) struct IdxDirFiles {
    pub train_images: Option<PathBuf>,
    train_labels: Option<PathBuf>,
    test_images: Option<PathBuf>,
    test_labels: Option<PathBuf>,
}

impl IdxDirFiles {
    const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
    const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
    const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
    const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

    pub(crate) fn find(dir: &Path) -> IdxDirFiles {
        IdxDirFiles {
            train_images: Self::locate(dir, Self::TRAIN_IMAGES),
            train_labels: Self::locate(dir, Self::TRAIN_LABELS),
            test_images: Self::locate(dir, Self::TEST_IMAGES),
            test_labels: Self::locate(dir, Self::TEST_LABELS),
        }
    }

    /// Finds `name`, its dotted spelling (`train-images.idx3-ubyte`), each
    /// with or without `.gz`.
    fn locate(dir: &Path, name: &str) -> Option<PathBuf> {
        let dotted = name.replacen("-idx", ".idx", 1);
        [name, dotted.as_str()]
            .into_iter()
            .flat_map(|n| [n.to_string(), format!("{n}.gz")])
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
    }
}

/// Loads an IDX folder: the train split and, when present, the t10k split.
pub(crate) fn load_idx_dir(dir: &Path, files: &IdxDirFiles) -> Result<(Dataset, Option<Dataset>)> {
    let Some(train_images) = &files.train_images else {
        return Err(Error::format(
            dir,
            format!(
                "holds no training images; an IDX folder holds {} (or {}, each optionally .gz), and optionally {}, {} and {}",
                IdxDirFiles::TRAIN_IMAGES,
                IdxDirFiles::TRAIN_IMAGES.replacen("-idx", ".idx", 1),
                IdxDirFiles::TRAIN_LABELS,
                IdxDirFiles::TEST_IMAGES,
                IdxDirFiles::TEST_LABELS
            ),
        ));
    };
    let train = load_idx_pair(train_images, files.train_labels.as_deref())?;
    let test = match &files.test_images {
        Some(images) => Some(load_idx_pair(images, files.test_labels.as_deref())?),
        None => None,
    };
    if let Some(test) = &test
        && test.kind() != train.kind()
    {
        return Err(Error::Data(format!(
            "in {}, the training images are {} but the test images are {}; both splits must have the same shape",
            dir.display(),
            train.kind().describe(),
            test.kind().describe()
        )));
    }
    Ok((train, test))
}

fn load_idx_pair(images: &Path, labels: Option<&Path>) -> Result<Dataset> {
    let bytes = read_data_file(images)?;
    let data = to_dataset(images, &parse_idx(images, &bytes)?)?;
    drop(bytes);
    match labels {
        None => Ok(data),
        Some(labels_path) => {
            let bytes = read_data_file(labels_path)?;
            let labels = to_labels(labels_path, &parse_idx(labels_path, &bytes)?)?;
            check_label_count(images, &data, labels_path, &labels)?;
            data.with_labels(Some(labels))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(ty: u8, dims: &[u32]) -> Vec<u8> {
        let mut b = vec![0, 0, ty, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b
    }

    fn p() -> &'static Path {
        Path::new("data/file.idx")
    }

    fn format_error(bytes: &[u8]) -> String {
        let e = parse_idx(p(), bytes).unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{e:?}");
        let m = e.to_string();
        assert!(m.contains("file.idx"), "{m}");
        m
    }

    #[test]
    fn two_u8_images_3x2() {
        let mut b = header(0x08, &[2, 3, 2]);
        b.extend(0u8..12);
        assert!(looks_like_idx(&b));
        let a = parse_idx(p(), &b).unwrap();
        assert_eq!(a.ty, IdxType::U8);
        assert_eq!(a.dims, vec![2, 3, 2]);
        let d = to_dataset(p(), &a).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            d.kind(),
            &DataKind::Image {
                channels: 1,
                height: 3,
                width: 2
            }
        );
        let expected: Vec<f32> = (0..12).map(|v| v as f32 / 255.0).collect();
        assert_eq!(d.values(), expected.as_slice());
    }

    #[test]
    fn rank4_is_converted_from_hwc_to_chw() {
        // 1 image, 2x2 pixels, 3 channels; pixel p channel c holds 10p + c.
        let mut b = header(0x08, &[1, 2, 2, 3]);
        for pixel in 0..4u8 {
            for c in 0..3u8 {
                b.push(10 * pixel + c);
            }
        }
        let d = to_dataset(p(), &parse_idx(p(), &b).unwrap()).unwrap();
        assert_eq!(
            d.kind(),
            &DataKind::Image {
                channels: 3,
                height: 2,
                width: 2
            }
        );
        for c in 0..3usize {
            for pixel in 0..4usize {
                let got = d.values()[c * 4 + pixel];
                let want = (10 * pixel + c) as f32 / 255.0;
                assert_eq!(got, want, "channel {c} pixel {pixel}");
            }
        }
    }

    #[test]
    fn other_types_are_kept_as_numbers() {
        let mut b = header(0x0B, &[2, 2]);
        for v in [-3i16, 300, 7, 0] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        let d = to_dataset(p(), &parse_idx(p(), &b).unwrap()).unwrap();
        assert_eq!(d.values(), &[-3.0, 300.0, 7.0, 0.0]);
        assert_eq!(
            d.kind(),
            &DataKind::Table {
                columns: vec!["x0".into(), "x1".into()]
            }
        );

        let mut b = header(0x0D, &[1, 2]);
        for v in [1.5f32, -2.25] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        let d = to_dataset(p(), &parse_idx(p(), &b).unwrap()).unwrap();
        assert_eq!(d.values(), &[1.5, -2.25]);

        let mut b = header(0x0E, &[1, 1]);
        b.extend_from_slice(&0.125f64.to_be_bytes());
        assert_eq!(
            to_dataset(p(), &parse_idx(p(), &b).unwrap())
                .unwrap()
                .values(),
            &[0.125]
        );

        let mut b = header(0x0C, &[1, 1]);
        b.extend_from_slice(&(-70000i32).to_be_bytes());
        assert_eq!(
            to_dataset(p(), &parse_idx(p(), &b).unwrap())
                .unwrap()
                .values(),
            &[-70000.0]
        );

        let mut b = header(0x09, &[1, 1]);
        b.push(0xFF);
        assert_eq!(
            to_dataset(p(), &parse_idx(p(), &b).unwrap())
                .unwrap()
                .values(),
            &[-1.0]
        );
    }

    #[test]
    fn nan_in_float_data_is_a_data_error_naming_the_file() {
        let mut b = header(0x0D, &[1, 2]);
        b.extend_from_slice(&1.0f32.to_be_bytes());
        b.extend_from_slice(&f32::NAN.to_be_bytes());
        let e = to_dataset(p(), &parse_idx(p(), &b).unwrap()).unwrap_err();
        assert!(matches!(e, Error::Data(_)));
        let m = e.to_string();
        assert!(
            m.contains("file.idx") && m.contains("row 1, column 2"),
            "{m}"
        );
    }

    #[test]
    fn labels() {
        let mut b = header(0x08, &[3]);
        b.extend([5, 0, 9]);
        let a = parse_idx(p(), &b).unwrap();
        assert_eq!(to_labels(p(), &a).unwrap(), vec![5, 0, 9]);
        let e = to_dataset(p(), &a).unwrap_err();
        assert!(e.to_string().contains("labels file") && e.to_string().contains("--labels"));

        let mut b = header(0x0C, &[2]);
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&(-2i32).to_be_bytes());
        let e = to_labels(p(), &parse_idx(p(), &b).unwrap()).unwrap_err();
        assert!(e.to_string().contains("label -2 at position 2"), "{e}");

        let mut b = header(0x0D, &[1]);
        b.extend_from_slice(&1.0f32.to_be_bytes());
        let e = to_labels(p(), &parse_idx(p(), &b).unwrap()).unwrap_err();
        assert!(e.to_string().contains("must be integers"), "{e}");

        let mut b = header(0x08, &[1, 1]);
        b.push(1);
        let e = to_labels(p(), &parse_idx(p(), &b).unwrap()).unwrap_err();
        assert!(e.to_string().contains("rank 2"), "{e}");
    }

    #[test]
    fn bad_headers() {
        let m = format_error(&[0, 0]);
        assert!(
            m.contains("too short") && m.contains("00 00 <type> <rank>"),
            "{m}"
        );

        let mut b = header(0x08, &[1, 1]);
        b[0] = 0x1f;
        b[1] = 0x8b;
        b.push(0);
        let m = format_error(&b);
        assert!(
            m.contains("1f 8b 08 02") && m.contains("00 00 <type> <rank>"),
            "{m}"
        );

        let mut b = header(0x07, &[1, 1]);
        b.push(0);
        let m = format_error(&b);
        assert!(m.contains("unknown IDX data type 0x07"), "{m}");

        let m = format_error(&[0, 0, 8, 0]);
        assert!(m.contains("rank 0"), "{m}");
        let m = format_error(&[0, 0, 8, 5, 0, 0, 0, 1]);
        assert!(m.contains("rank 5"), "{m}");

        let m = format_error(&[0, 0, 8, 3, 0, 0, 0, 1]);
        assert!(m.contains("truncated header"), "{m}");

        let m = format_error(&header(0x08, &[2, 0, 3]));
        assert!(m.contains("dimension 2 of 3 equal to 0"), "{m}");
    }

    #[test]
    fn overflowing_dims_are_rejected_without_allocating() {
        let m = format_error(&header(0x0E, &[u32::MAX, u32::MAX, u32::MAX, u32::MAX]));
        assert!(m.contains("overflows"), "{m}");
    }

    #[test]
    fn truncated_and_trailing_data() {
        let mut b = header(0x08, &[2, 3, 2]);
        b.extend([0u8; 11]);
        let m = format_error(&b);
        assert!(
            m.contains("need 12 bytes of data after the header, found 11"),
            "{m}"
        );

        // A huge claimed size with almost no data: an error, not an allocation.
        let m = format_error(&header(0x08, &[60_000, 4096, 4096]));
        assert!(m.contains("truncated") && m.contains("found 0"), "{m}");

        let mut b = header(0x08, &[1, 2]);
        b.extend([1, 2, 3]);
        let m = format_error(&b);
        assert!(m.contains("1 trailing bytes"), "{m}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(a) = parse_idx(p(), &bytes) {
                let _ = to_dataset(p(), &a);
                let _ = to_labels(p(), &a);
            }
        }

        #[test]
        fn plausible_headers_never_panic(
            ty in prop::sample::select(vec![0x08u8, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x01]),
            rank in 0u8..6,
            rest in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            let mut bytes = vec![0, 0, ty, rank];
            bytes.extend(rest);
            if let Ok(a) = parse_idx(p(), &bytes) {
                let _ = to_dataset(p(), &a);
                let _ = to_labels(p(), &a);
            }
        }

        #[test]
        fn small_valid_files_parse(ty in prop::sample::select(vec![0x08u8, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]),
                                   dims in proptest::collection::vec(1u32..4, 1..=4),
                                   seed: u8) {
            let size = IdxType::from_byte(ty).unwrap().size();
            let count: usize = dims.iter().map(|&d| d as usize).product();
            let mut bytes = header(ty, &dims);
            bytes.extend((0..count * size).map(|i| (i as u8).wrapping_add(seed) & 0x3f));
            let a = parse_idx(p(), &bytes).unwrap();
            prop_assert_eq!(a.dims.len(), dims.len());
            if dims.len() >= 2 {
                let d = to_dataset(p(), &a).unwrap();
                prop_assert_eq!(d.len(), dims[0] as usize);
            }
        }
    }
}
