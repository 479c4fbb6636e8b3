use super::*;
use proptest::prelude::*;

/// Little-endian bytes of a test value.
pub(crate) trait LeBytes: Copy {
    fn le(self) -> Vec<u8>;
}
macro_rules! le_bytes {
    ($($t:ty),*) => {$(impl LeBytes for $t { fn le(self) -> Vec<u8> { self.to_le_bytes().to_vec() } })*};
}
le_bytes!(u8, u16, i8, i16, i32, i64, u64, f32, f64);
impl LeBytes for bool {
    fn le(self) -> Vec<u8> {
        vec![u8::from(self)]
    }
}

/// An NPY 1.0 file as numpy writes it, with any header fields.
pub(crate) fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut text = dict.to_string();
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(' ');
    }
    text.push('\n');
    let mut b = MAGIC.to_vec();
    b.extend([1, 0]);
    b.extend_from_slice(&(text.len() as u16).to_le_bytes());
    b.extend_from_slice(text.as_bytes());
    b.extend_from_slice(data);
    b
}

/// A C-order NPY file of `values` (little-endian) with the given dtype and shape.
pub(crate) fn npy_bytes<T: LeBytes>(descr: &str, shape: &[usize], values: &[T]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        shape_text(shape)
    );
    let data: Vec<u8> = values.iter().flat_map(|v| v.le()).collect();
    npy_with_header(&dict, &data)
}

fn p() -> &'static Path {
    Path::new("arrays/x.npy")
}

fn format_error(bytes: &[u8]) -> String {
    let e = match parse_npy(p(), bytes) {
        Ok(a) => to_dataset(p(), &a).unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
    let m = e.to_string();
    assert!(m.contains("x.npy"), "{m}");
    m
}

#[test]
fn table_of_f32_and_f64() {
    let b = npy_bytes("<f4", &[2, 3], &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.5]);
    let d = to_dataset(p(), &parse_npy(p(), &b).unwrap()).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d.kind().describe(), "table of 3 columns");
    assert_eq!(d.values(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);

    // Big-endian doubles.
    let mut dict_data = Vec::new();
    for v in [0.5f64, -1.0] {
        dict_data.extend_from_slice(&v.to_be_bytes());
    }
    let b = npy_with_header(
        "{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }",
        &dict_data,
    );
    let d = to_dataset(p(), &parse_npy(p(), &b).unwrap()).unwrap();
    assert_eq!(d.values(), &[0.5, -1.0]);
}

#[test]
fn u8_images_are_scaled_and_others_kept() {
    let b = npy_bytes("|u1", &[2, 1, 2], &[0u8, 255, 51, 102]);
    let d = to_dataset(p(), &parse_npy(p(), &b).unwrap()).unwrap();
    assert_eq!(
        d.kind(),
        &DataKind::Image {
            channels: 1,
            height: 1,
            width: 2
        }
    );
    assert_eq!(d.values(), &[0.0, 1.0, 0.2, 0.4]);

    let b = npy_bytes("<i2", &[1, 2], &[-5i16, 300]);
    let d = to_dataset(p(), &parse_npy(p(), &b).unwrap()).unwrap();
    assert_eq!(d.values(), &[-5.0, 300.0]);

    let b = npy_bytes("|b1", &[1, 2], &[true, false]);
    let d = to_dataset(p(), &parse_npy(p(), &b).unwrap()).unwrap();
    assert_eq!(d.values(), &[1.0, 0.0]);

    let b = npy_bytes("<u8", &[1, 1], &[7u64]);
    let d = to_dataset(p(), &parse_npy(p(), &b).unwrap()).unwrap();
    assert_eq!(d.values(), &[7.0]);
}

#[test]
fn rank4_nhwc_and_nchw() {
    // One 2x2 RGB image, channel-last: pixel p channel c = 10p + c.
    let hwc: Vec<f32> = (0..4)
        .flat_map(|p| (0..3).map(move |c| (10 * p + c) as f32))
        .collect();
    let b = npy_bytes("<f4", &[1, 2, 2, 3], &hwc);
    let d = to_dataset(p(), &parse_npy(p(), &b).unwrap()).unwrap();
    assert_eq!(
        d.kind(),
        &DataKind::Image {
            channels: 3,
            height: 2,
            width: 2
        }
    );
    for c in 0..3 {
        for px in 0..4 {
            assert_eq!(d.values()[c * 4 + px], (10 * px + c) as f32);
        }
    }

    // Channel-first (n, 3, 4, 5) is kept as it is.
    let chw: Vec<f32> = (0..60).map(|v| v as f32).collect();
    let b = npy_bytes("<f4", &[1, 3, 4, 5], &chw);
    let d = to_dataset(p(), &parse_npy(p(), &b).unwrap()).unwrap();
    assert_eq!(
        d.kind(),
        &DataKind::Image {
            channels: 3,
            height: 4,
            width: 5
        }
    );
    assert_eq!(d.values(), chw.as_slice());

    let b = npy_bytes("<f4", &[1, 2, 2, 2], &[0.0f32; 8]);
    let m = format_error(&b);
    assert!(
        m.contains("channel axis") && m.contains("(1, 2, 2, 2)"),
        "{m}"
    );
}

#[test]
fn labels() {
    let b = npy_bytes("<i8", &[3], &[2i64, 0, 1]);
    let a = parse_npy(p(), &b).unwrap();
    assert_eq!(to_labels(p(), &a).unwrap(), vec![2, 0, 1]);
    let m = to_dataset(p(), &a).unwrap_err().to_string();
    assert!(m.contains("1-D") && m.contains("--labels"), "{m}");

    let b = npy_bytes("|u1", &[2, 1], &[4u8, 5]);
    assert_eq!(
        to_labels(p(), &parse_npy(p(), &b).unwrap()).unwrap(),
        vec![4, 5]
    );

    let b = npy_bytes("<i4", &[2], &[1i32, -1]);
    let m = to_labels(p(), &parse_npy(p(), &b).unwrap())
        .unwrap_err()
        .to_string();
    assert!(m.contains("label -1 at position 2"), "{m}");

    let b = npy_bytes("<u8", &[1], &[u64::MAX]);
    assert!(to_labels(p(), &parse_npy(p(), &b).unwrap()).is_err());

    let b = npy_bytes("<f8", &[1], &[1.0f64]);
    let m = to_labels(p(), &parse_npy(p(), &b).unwrap())
        .unwrap_err()
        .to_string();
    assert!(m.contains("must be integers"), "{m}");

    let b = npy_bytes("<i8", &[1, 2], &[1i64, 2]);
    let m = to_labels(p(), &parse_npy(p(), &b).unwrap())
        .unwrap_err()
        .to_string();
    assert!(m.contains("(1, 2)"), "{m}");
}

#[test]
fn bad_files() {
    let m = format_error(b"\x93NUMP");
    assert!(m.contains("\\x93NUMPY"), "{m}");
    let m = format_error(b"\x93NUMPY\x01");
    assert!(m.contains("truncated"), "{m}");
    let mut b = npy_bytes("<f4", &[1, 1], &[1.0f32]);
    b[6] = 9;
    let m = format_error(&b);
    assert!(m.contains("version 9.0"), "{m}");

    let m = format_error(&npy_with_header(
        "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }",
        &[0; 4],
    ));
    assert!(
        m.contains("Fortran") && m.contains("ascontiguousarray"),
        "{m}"
    );

    let m = format_error(&npy_with_header(
        "{'descr': '<U3', 'fortran_order': False, 'shape': (1, 1), }",
        &[0; 12],
    ));
    assert!(m.contains("'<U3'"), "{m}");
    let m = format_error(&npy_with_header(
        "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 1), }",
        &[0; 2],
    ));
    assert!(m.contains("float16"), "{m}");
    let m = format_error(&npy_with_header(
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
        &[0; 4],
    ));
    assert!(m.contains("NPY header vaekit cannot read"), "{m}");

    let b = npy_bytes("<f4", &[2, 3], &[1.0f32; 5]);
    let m = format_error(&b);
    assert!(
        m.contains("needs 24 bytes of data after the header, found 20"),
        "{m}"
    );
    let b = npy_bytes("<f4", &[1, 1], &[1.0f32; 2]);
    let m = format_error(&b);
    assert!(m.contains("4 trailing bytes"), "{m}");

    let b = npy_bytes("<f4", &[0, 3], &[0.0f32; 0]);
    let m = format_error(&b);
    assert!(m.contains("no examples"), "{m}");
    let b = npy_bytes("<f4", &[1, 1, 1, 1, 1], &[0.0f32]);
    let m = format_error(&b);
    assert!(m.contains("(1, 1, 1, 1, 1)"), "{m}");
}

#[test]
fn hostile_headers_are_refused_before_npyz_sees_them() {
    // A shape whose product overflows u64 would panic inside npyz.
    let m = format_error(&npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }",
        &[],
    ));
    assert!(m.contains("overflows"), "{m}");
    // Even when a zero-length axis makes the total 0.
    let m = format_error(&npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }",
        &[],
    ));
    assert!(m.contains("overflows"), "{m}");
    // A header length beyond the file must not be allocated.
    let mut b = MAGIC.to_vec();
    b.extend([2, 0]);
    b.extend_from_slice(&u32::MAX.to_le_bytes());
    let m = format_error(&b);
    assert!(m.contains("4294967295 bytes"), "{m}");
    let mut b = MAGIC.to_vec();
    b.extend([1, 0, 200, 0]);
    b.extend_from_slice(b"{'descr'");
    let m = format_error(&b);
    assert!(m.contains("declares 200 bytes"), "{m}");
    // Duplicate keys, expressions, deep nesting.
    for dict in [
        "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1+1, 1), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': ((((((1,),),),),),), }",
        "{'descr': '<f4', 'fortran_order': False}",
    ] {
        let m = format_error(&npy_with_header(dict, &[0; 8]));
        assert!(m.contains("cannot read"), "{dict}: {m}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(a) = parse_npy(p(), &bytes) {
            let _ = to_dataset(p(), &a);
            let _ = to_labels(p(), &a);
        }
    }

    #[test]
    fn arbitrary_headers_never_panic(header in "[ -~]{0,120}", data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let b = npy_with_header(&header, &data);
        if let Ok(a) = parse_npy(p(), &b) {
            let _ = to_dataset(p(), &a);
            let _ = to_labels(p(), &a);
        }
    }

    #[test]
    fn near_valid_headers_never_panic(
        descr in "[<>|=]?[biufcUSO][0-9]{1,2}",
        fortran: bool,
        shape in proptest::collection::vec(
            prop_oneof![0u64..4, Just(1u64 << 32), Just(u64::MAX), any::<u64>()],
            0..5,
        ),
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': ({}{}), }}",
            if fortran { "True" } else { "False" },
            dims.join(", "),
            if dims.len() == 1 { "," } else { "" }
        );
        let b = npy_with_header(&dict, &data);
        if let Ok(a) = parse_npy(p(), &b) {
            let _ = to_dataset(p(), &a);
            let _ = to_labels(p(), &a);
        }
    }
}
