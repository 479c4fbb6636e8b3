//! NumPy `.npy` arrays, decoded with `npyz`.
//!
//! `npyz` handles the dtype and byte order, but it trusts the header: it
//! allocates the header buffer from the declared header length and multiplies
//! the shape without overflow checks (a panic in debug builds, a wrong length
//! in release builds). So before handing the bytes to `npyz`, [`parse_npy`]
//! screens the header itself: the magic and version, a header length that
//! fits in the file and below [`MAX_HEADER`], and a strict reading of the
//! header dictionary as `numpy.save` writes it (`descr` a plain bool, integer
//! or float type string, `fortran_order` a boolean, `shape` a tuple of decimal
//! integers). Only a header that passes, with a shape whose byte size fits in
//! memory and equals the data that follows, reaches `npyz`. Structured,
//! string, object and float16 arrays are refused with a message saying how to
//! convert them.

use std::path::Path;

use super::{DataKind, Dataset, hwc_to_chw, in_file};
use crate::error::{Error, Result};

/// The first six bytes of every NPY file.
pub(crate) const MAGIC: &[u8] = b"\x93NUMPY";

/// Largest header accepted, in bytes (numpy itself refuses headers over 10,000
/// bytes by default; real headers are under 200).
const MAX_HEADER: usize = 65_536;

/// The element types vaekit reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    Bool,
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    F32,
    F64,
}

impl Elem {
    /// Maps a numpy type string such as `<f4` or `|u1` to an element type.
    fn from_descr(descr: &str) -> Option<Elem> {
        let body = descr.strip_prefix(['<', '>', '|', '=']).unwrap_or(descr);
        let mut chars = body.chars();
        let kind = chars.next()?;
        let size = chars.as_str();
        Some(match (kind, size) {
            ('b', "1") => Elem::Bool,
            ('u', "1") => Elem::U8,
            ('u', "2") => Elem::U16,
            ('u', "4") => Elem::U32,
            ('u', "8") => Elem::U64,
            ('i', "1") => Elem::I8,
            ('i', "2") => Elem::I16,
            ('i', "4") => Elem::I32,
            ('i', "8") => Elem::I64,
            ('f', "4") => Elem::F32,
            ('f', "8") => Elem::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Elem::Bool | Elem::U8 | Elem::I8 => 1,
            Elem::U16 | Elem::I16 => 2,
            Elem::U32 | Elem::I32 | Elem::F32 => 4,
            Elem::U64 | Elem::I64 | Elem::F64 => 8,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Elem::F32 | Elem::F64)
    }
}

/// A screened NPY file: its shape, element type, the header as `npyz` parsed
/// it, and exactly the data bytes the shape calls for.
#[derive(Clone)]
pub(crate) struct NpyArray<'a> {
    pub shape: Vec<usize>,
    pub elem: Elem,
    header: npyz::NpyHeader,
    data: &'a [u8],
}

/// The header fields, as read by the screening parser.
#[derive(Debug)]
struct Screened {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// Parses an NPY file's header, checks it and the data length, and returns a
/// view ready to decode. `path` is only used in messages.
pub(crate) fn parse_npy<'a>(path: &Path, bytes: &'a [u8]) -> Result<NpyArray<'a>> {
    let fail = |message: String| Error::format(path, message);
    let screened = screen_header(path, bytes)?;
    let elem = Elem::from_descr(&screened.descr).ok_or_else(|| {
        let hint = if screened.descr.ends_with("f2") {
            "float16 is not supported; save it with a.astype(numpy.float32)"
        } else {
            "vaekit reads bool, integer and float32/float64 arrays; convert it with a.astype(numpy.float32)"
        };
        fail(format!("holds an array of dtype '{}': {hint}", screened.descr))
    })?;
    if screened.fortran_order {
        return Err(fail(
            "stores its array in Fortran (column-major) order; save a C-order copy with numpy.save(path, numpy.ascontiguousarray(a))"
                .to_string(),
        ));
    }
    let shape_text = shape_text(&screened.shape);
    let shape = screened
        .shape
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| {
            fail(format!(
                "has shape {shape_text}, too large for this machine"
            ))
        })?;
    // Zero-length axes are skipped in the overflow check: npyz computes
    // partial products of the shape, which must fit even when the total is 0.
    let size_ignoring_zeros = shape
        .iter()
        .try_fold(elem.size(), |acc, &d| acc.checked_mul(d.max(1)))
        .ok_or_else(|| {
            fail(format!(
                "has shape {shape_text} whose size overflows; the header is corrupt"
            ))
        })?;
    let expected = if shape.contains(&0) {
        0
    } else {
        size_ignoring_zeros
    };

    let file = npyz::NpyFile::new(bytes)
        .map_err(|e| fail(format!("has an NPY header that cannot be read: {e}")))?;
    let header = file.header().clone();
    if header.shape() != screened.shape.as_slice() {
        return Err(fail(format!(
            "has an ambiguous NPY header (shape read as {shape_text} and as {}); re-save it with numpy.save",
            self::shape_text(header.shape())
        )));
    }
    let data: &'a [u8] = file.into_inner();
    if data.len() < expected {
        return Err(fail(format!(
            "is truncated: shape {shape_text} of '{}' needs {expected} bytes of data after the header, found {}; the file may be incomplete",
            screened.descr,
            data.len()
        )));
    }
    if data.len() > expected {
        return Err(fail(format!(
            "has {} trailing bytes: shape {shape_text} of '{}' needs {expected} bytes of data after the header, found {}",
            data.len() - expected,
            screened.descr,
            data.len()
        )));
    }
    Ok(NpyArray {
        shape,
        elem,
        header,
        data,
    })
}

/// `(2, 3)`, `(5,)` or `()`, as numpy writes a shape.
fn shape_text<T: std::fmt::Display>(shape: &[T]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Checks the magic, version and header length, and reads the header
/// dictionary strictly (see the module documentation).
fn screen_header(path: &Path, bytes: &[u8]) -> Result<Screened> {
    let fail = |message: String| Error::format(path, message);
    if !bytes.starts_with(MAGIC) {
        return Err(fail(
            "is not an NPY file: it does not start with the bytes \\x93NUMPY".to_string(),
        ));
    }
    let (major, minor) = match bytes.get(6..8) {
        Some([a, b]) => (*a, *b),
        _ => return Err(fail("is truncated inside the NPY header".to_string())),
    };
    let (len_start, len_size) = match major {
        1 => (8, 2),
        2 | 3 => (8, 4),
        _ => {
            return Err(fail(format!(
                "uses NPY format version {major}.{minor}; vaekit reads versions 1.0, 2.0 and 3.0"
            )));
        }
    };
    let header_len = match bytes.get(len_start..len_start + len_size) {
        Some([a, b]) => usize::from(u16::from_le_bytes([*a, *b])),
        Some([a, b, c, d]) => u32::from_le_bytes([*a, *b, *c, *d]) as usize,
        _ => return Err(fail("is truncated inside the NPY header".to_string())),
    };
    if header_len > MAX_HEADER {
        return Err(fail(format!(
            "declares an NPY header of {header_len} bytes; headers over {MAX_HEADER} bytes are refused (numpy writes about 128)"
        )));
    }
    let start = len_start + len_size;
    let text = bytes.get(start..start + header_len).ok_or_else(|| {
        fail(format!(
            "is truncated: its NPY header declares {header_len} bytes but only {} follow",
            bytes.len().saturating_sub(start)
        ))
    })?;
    let unreadable = |detail: &str| {
        fail(format!(
            "has an NPY header vaekit cannot read ({detail}); it reads plain arrays as numpy.save writes them"
        ))
    };
    let mut cursor = HeaderCursor { text, at: 0 };
    let fields = cursor.dict().map_err(|d| unreadable(&d))?;
    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    for (key, value) in fields {
        let duplicate = match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr.replace(s).is_some(),
            ("fortran_order", Value::Bool(b)) => fortran_order.replace(b).is_some(),
            ("shape", Value::Ints(v)) => shape.replace(v).is_some(),
            ("descr" | "fortran_order" | "shape", _) => {
                return Err(unreadable(&format!(
                    "'{key}' has a value of the wrong kind"
                )));
            }
            _ => false,
        };
        if duplicate {
            return Err(unreadable(&format!("'{key}' appears twice")));
        }
    }
    match (descr, fortran_order, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => Ok(Screened {
            descr,
            fortran_order,
            shape,
        }),
        _ => Err(unreadable(
            "it must have the keys 'descr', 'fortran_order' and 'shape'",
        )),
    }
}

/// A header value the screening parser accepts.
#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    Ints(Vec<u64>),
}

/// A strict reader for the Python dict literal of an NPY header.
struct HeaderCursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl HeaderCursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let end = self.at + word.len();
        if self.text.get(self.at..end) == Some(word.as_bytes()) {
            self.at = end;
            true
        } else {
            false
        }
    }

    fn expected(&self, what: &str) -> String {
        match self.peek() {
            Some(c) => format!(
                "expected {what} at byte {} of the header, found '{}'",
                self.at + 1,
                c.escape_ascii()
            ),
            None => format!("expected {what}, but the header ends"),
        }
    }

    /// `{ 'key': value, ... }` with an optional trailing comma, then only spaces.
    fn dict(&mut self) -> std::result::Result<Vec<(String, Value)>, String> {
        self.skip_space();
        if !self.eat(b'{') {
            return Err(self.expected("'{'"));
        }
        let mut fields = Vec::new();
        loop {
            self.skip_space();
            if self.eat(b'}') {
                break;
            }
            let key = self.string()?;
            self.skip_space();
            if !self.eat(b':') {
                return Err(self.expected("':'"));
            }
            self.skip_space();
            let value = self.value()?;
            fields.push((key, value));
            self.skip_space();
            if self.eat(b',') {
                continue;
            }
            if self.eat(b'}') {
                break;
            }
            return Err(self.expected("',' or '}'"));
        }
        self.skip_space();
        if self.at != self.text.len() {
            return Err(self.expected("the end of the header"));
        }
        Ok(fields)
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.expected("a quoted string")),
        };
        let start = self.at + 1;
        let len = self
            .text
            .get(start..)
            .unwrap_or_default()
            .iter()
            .position(|&c| c == quote)
            .ok_or_else(|| "a string is not closed".to_string())?;
        let body = self.text.get(start..start + len).unwrap_or_default();
        if body
            .iter()
            .any(|&c| c == b'\\' || c == b'\n' || !c.is_ascii())
        {
            return Err("a string holds escapes or non-ASCII characters".to_string());
        }
        self.at = start + len + 1;
        Ok(String::from_utf8_lossy(body).into_owned())
    }

    fn value(&mut self) -> std::result::Result<Value, String> {
        match self.peek() {
            Some(b'\'' | b'"') => self.string().map(Value::Str),
            Some(b'(' | b'[') => self.ints().map(Value::Ints),
            _ if self.eat_word("True") => Ok(Value::Bool(true)),
            _ if self.eat_word("False") => Ok(Value::Bool(false)),
            _ => Err(self.expected("a string, True, False or a tuple of integers")),
        }
    }

    /// `(1, 2, 3)`, `(5,)`, `()` or the same in square brackets.
    fn ints(&mut self) -> std::result::Result<Vec<u64>, String> {
        let close = if self.eat(b'(') {
            b')'
        } else if self.eat(b'[') {
            b']'
        } else {
            return Err(self.expected("'('"));
        };
        let mut values = Vec::new();
        loop {
            self.skip_space();
            if self.eat(close) {
                return Ok(values);
            }
            let start = self.at;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.at += 1;
            }
            let digits = self.text.get(start..self.at).unwrap_or_default();
            if digits.is_empty() {
                return Err(self.expected("a non-negative integer"));
            }
            let value = std::str::from_utf8(digits)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| "a dimension is larger than 2^64".to_string())?;
            values.push(value);
            self.skip_space();
            if self.eat(b',') {
                continue;
            }
            if self.eat(close) {
                return Ok(values);
            }
            return Err(self.expected("',' or the end of the shape"));
        }
    }
}

/// Decodes the whole array as `T` with `npyz`.
fn read_all<T: npyz::Deserialize>(path: &Path, array: &NpyArray) -> Result<Vec<T>> {
    npyz::NpyFile::with_header(array.header.clone(), array.data)
        .into_vec::<T>()
        .map_err(|e| Error::format(path, format!("cannot decode the array data: {e}")))
}

/// Every value as `f32`: bool as 0/1, u8 divided by 255, the rest as written.
fn values_f32(path: &Path, array: &NpyArray) -> Result<Vec<f32>> {
    fn conv<T: npyz::Deserialize>(
        path: &Path,
        array: &NpyArray,
        f: impl Fn(T) -> f32,
    ) -> Result<Vec<f32>> {
        Ok(read_all::<T>(path, array)?.into_iter().map(f).collect())
    }
    match array.elem {
        Elem::Bool => conv(path, array, |v: bool| f32::from(u8::from(v))),
        Elem::U8 => conv(path, array, |v: u8| f32::from(v) / 255.0),
        Elem::U16 => conv(path, array, |v: u16| f32::from(v)),
        Elem::U32 => conv(path, array, |v: u32| v as f32),
        Elem::U64 => conv(path, array, |v: u64| v as f32),
        Elem::I8 => conv(path, array, |v: i8| f32::from(v)),
        Elem::I16 => conv(path, array, |v: i16| f32::from(v)),
        Elem::I32 => conv(path, array, |v: i32| v as f32),
        Elem::I64 => conv(path, array, |v: i64| v as f32),
        Elem::F32 => read_all::<f32>(path, array),
        Elem::F64 => conv(path, array, |v: f64| v as f32),
    }
}

/// Interprets a parsed array as examples.
///
/// # Shapes
///
/// `(n, d)` is a table with columns `x0..x{d-1}`; `(n, h, w)` is `n`
/// grayscale images; `(n, h, w, c)` with `c` 1 or 3 is channel-last and is
/// reordered to channel-first; otherwise `(n, c, h, w)` with `c` 1 or 3 is
/// taken as channel-first already. `u8` is divided by 255, bool becomes 0/1,
/// everything else is kept as written.
pub(crate) fn to_dataset(path: &Path, array: &NpyArray) -> Result<Dataset> {
    // The shape first: a bad one is refused before the values are read.
    let (kind, channel_last) =
        kind_of_shape(&array.shape).map_err(|message| Error::format(path, message))?;
    let values = channels_first(values_f32(path, array)?, &kind, channel_last);
    Dataset::new(values, kind, None).map_err(|e| in_file(path, e))
}

/// The values of an array of shape `dims` (row-major) as examples: channel
/// first, and what they are (see [`to_dataset`]'s shapes); the error says
/// what is wrong with the shape, to follow the array's name.
pub(crate) fn arrange(
    values: Vec<f32>,
    dims: &[usize],
) -> std::result::Result<(Vec<f32>, DataKind), String> {
    let (kind, channel_last) = kind_of_shape(dims)?;
    Ok((channels_first(values, &kind, channel_last), kind))
}

/// Images whose channels come last moved to channel first; anything else
/// as it is.
fn channels_first(values: Vec<f32>, kind: &DataKind, channel_last: bool) -> Vec<f32> {
    match kind {
        DataKind::Image {
            channels,
            height,
            width,
        } if channel_last => hwc_to_chw(&values, *height, *width, *channels),
        _ => values,
    }
}

/// What an array of `shape` holds (see [`to_dataset`]'s shapes), and
/// whether its channels come last; the error says what is wrong with the
/// shape, to follow the array's name.
pub(crate) fn kind_of_shape(dims: &[usize]) -> std::result::Result<(DataKind, bool), String> {
    let shape = shape_text(dims);
    if dims.first() == Some(&0) {
        return Err(format!(
            "holds no examples (shape {shape}); the first dimension counts examples"
        ));
    }
    if dims.contains(&0) {
        return Err(format!("has shape {shape}: every example would be empty"));
    }
    let image = |channels: usize, height: usize, width: usize| DataKind::Image {
        channels,
        height,
        width,
    };
    Ok(match dims {
        [_, d] => (
            DataKind::Table {
                columns: (0..*d).map(|i| format!("x{i}")).collect(),
            },
            false,
        ),
        [_, h, w] => (image(1, *h, *w), false),
        [_, h, w, c @ (1 | 3)] => (image(*c, *h, *w), true),
        [_, c @ (1 | 3), h, w] => (image(*c, *h, *w), false),
        [_, _, _, _] => {
            return Err(format!(
                "has shape {shape}: cannot tell the channel axis; vaekit reads (n, height, width, channels) or (n, channels, height, width) with 1 or 3 channels"
            ));
        }
        [n] => {
            return Err(format!(
                "is a 1-D array of {n} values: as data, reshape it to ({n}, 1) for a one-column table; as labels, give it as the labels (--labels FILE on the command line, y in Python)"
            ));
        }
        _ => {
            return Err(format!(
                "has shape {shape}; vaekit reads 2-D tables (n, columns), 3-D grayscale images (n, height, width) and 4-D images"
            ));
        }
    })
}

/// Interprets a parsed array as class labels: 1-D (or `(n, 1)`), integer or
/// bool, no negative values, each below 2^32.
pub(crate) fn to_labels(path: &Path, array: &NpyArray) -> Result<Vec<u32>> {
    let fail = |message: String| Error::format(path, message);
    if !matches!(array.shape.as_slice(), [_] | [_, 1]) {
        return Err(fail(format!(
            "is not a labels array: labels are a 1-D integer array (one label per example), but this one has shape {}",
            shape_text(&array.shape)
        )));
    }
    if array.elem.is_float() {
        return Err(fail(
            "holds float values, but labels must be integers; save them with a.astype(numpy.int64)"
                .to_string(),
        ));
    }
    let values: Vec<i128> = match array.elem {
        Elem::Bool => read_all::<bool>(path, array)?
            .into_iter()
            .map(i128::from)
            .collect(),
        Elem::U8 => widen(read_all::<u8>(path, array)?),
        Elem::U16 => widen(read_all::<u16>(path, array)?),
        Elem::U32 => widen(read_all::<u32>(path, array)?),
        Elem::U64 => widen(read_all::<u64>(path, array)?),
        Elem::I8 => widen(read_all::<i8>(path, array)?),
        Elem::I16 => widen(read_all::<i16>(path, array)?),
        Elem::I32 => widen(read_all::<i32>(path, array)?),
        Elem::I64 => widen(read_all::<i64>(path, array)?),
        Elem::F32 | Elem::F64 => Vec::new(),
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            u32::try_from(v).map_err(|_| {
                fail(format!(
                    "has label {v} at position {}; labels must be class indices 0, 1, 2, ...",
                    i + 1
                ))
            })
        })
        .collect()
}

fn widen<T: Into<i128>>(values: Vec<T>) -> Vec<i128> {
    values.into_iter().map(Into::into).collect()
}

#[cfg(test)]
#[path = "npy_tests.rs"]
pub(crate) mod tests;
