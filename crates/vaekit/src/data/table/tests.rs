use super::*;
use proptest::prelude::*;

fn p() -> &'static Path {
    Path::new("tables/t.csv")
}

fn parse(text: &str, label: Option<&str>) -> Result<Table> {
    parse_csv(
        p(),
        text.as_bytes(),
        b',',
        label,
        Cells::Numbers(MissingCells::Refuse),
    )
}

fn columns(t: &Table) -> Vec<String> {
    match t.dataset.kind() {
        DataKind::Table { columns } => columns.clone(),
        other => panic!("not a table: {other:?}"),
    }
}

#[test]
fn headerless_numbers() {
    let t = parse("1,2,3\n4,5,6\n", None).unwrap();
    assert_eq!(t.dataset.len(), 2);
    assert_eq!(t.dataset.values(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(columns(&t), vec!["x0", "x1", "x2"]);
    assert!(t.dataset.labels().is_none());
    assert!(t.class_names.is_none());
}

#[test]
fn header_and_label_column_by_name_and_index() {
    let text = "a, b ,class\n1.5,-2,1\n3,4e1,0\n";
    let t = parse(text, None).unwrap();
    assert_eq!(columns(&t), vec!["a", "b", "class"]);
    assert_eq!(t.dataset.values(), &[1.5, -2.0, 1.0, 3.0, 40.0, 0.0]);

    let t = parse(text, Some("class")).unwrap();
    assert_eq!(columns(&t), vec!["a", "b"]);
    assert_eq!(t.dataset.values(), &[1.5, -2.0, 3.0, 40.0]);
    assert_eq!(t.dataset.labels(), Some(&[1, 0][..]));
    assert!(t.class_names.is_none());

    // Non-integer label cells are class names.
    let t = parse(text, Some("0")).unwrap();
    assert_eq!(columns(&t), vec!["b", "class"]);
    assert_eq!(t.dataset.labels(), Some(&[0, 1][..]));
    assert_eq!(
        t.class_names,
        Some(vec!["1.5".to_string(), "3".to_string()])
    );

    let e = parse(text, Some("kind")).unwrap_err();
    assert!(matches!(e, Error::Setting { ref name, .. } if name == "--label-column"));
    let m = e.to_string();
    assert!(m.contains("'kind'") && m.contains("a, b, class"), "{m}");
    let e = parse(text, Some("3")).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    let t = parse("1,2\n3,4\n", Some("x1")).unwrap();
    assert_eq!(t.dataset.labels(), Some(&[2, 4][..]));
    let e = parse("1,2\n3,4\n", Some("y")).unwrap_err();
    assert!(e.to_string().contains("no header"), "{e}");
}

#[test]
fn string_labels_become_sorted_class_names() {
    let t = parse(
        "5.1,3.5,setosa\n6.0,2.2,virginica\n5.5,2.4,setosa\n",
        Some("2"),
    )
    .unwrap();
    // The first row is data, not a header: its only text cell is in a text column.
    assert_eq!(t.dataset.len(), 3);
    assert_eq!(t.dataset.labels(), Some(&[0, 1, 0][..]));
    assert_eq!(
        t.class_names,
        Some(vec!["setosa".to_string(), "virginica".to_string()])
    );
    let t = parse("x,y,kind\n1,2,b\n3,4,a\n", Some("kind")).unwrap();
    assert_eq!(t.dataset.len(), 2);
    assert_eq!(t.dataset.labels(), Some(&[1, 0][..]));
    assert_eq!(t.class_names, Some(vec!["a".to_string(), "b".to_string()]));
    // Integer-valued floats are integer labels.
    let t = parse("1,2.0\n3,0.0\n", Some("1")).unwrap();
    assert_eq!(t.dataset.labels(), Some(&[2, 0][..]));
}

#[test]
fn sklearn_header() {
    let text = "3,2,no,yes\n1,2,0\n3,4,1\n5,6,1\n";
    let t = parse(text, None).unwrap();
    assert_eq!(t.dataset.len(), 3);
    assert_eq!(columns(&t), vec!["x0", "x1"]);
    assert_eq!(t.dataset.labels(), Some(&[0, 1, 1][..]));
    assert_eq!(
        t.class_names,
        Some(vec!["no".to_string(), "yes".to_string()])
    );

    let e = parse("4,2,no,yes\n1,2,0\n3,4,1\n5,6,1\n", None).unwrap_err();
    assert!(
        e.to_string()
            .contains("says the table has 4 rows but it has 3"),
        "{e}"
    );
    let e = parse("3,2,no,yes\n1,2,0\n3,4,2\n5,6,1\n", None).unwrap_err();
    assert!(matches!(e, Error::Data(_)));
    assert!(e.to_string().contains("row 2 has label 2"), "{e}");
    let e = parse("3,5,no\n1,2,0,4\n3,4,1,4\n5,6,1,4\n", None).unwrap_err();
    assert!(e.to_string().contains("scikit-learn header"), "{e}");

    // The iris form: as many header fields as data fields.
    // (More class names than data fields is fine too.)
    let text = "2,2,setosa,versicolor,virginica\n5.1,3.5,0\n4.9,3.0,2\n";
    assert_eq!(parse(text, None).unwrap().dataset.dim(), 2);
    let text = "2,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,2\n";
    let t = parse(text, None).unwrap();
    assert_eq!(t.dataset.dim(), 4);
    assert_eq!(t.dataset.labels(), Some(&[0, 2][..]));
    assert_eq!(t.class_names.unwrap().len(), 3);

    // Two integers alone are data, not a header, when the rows are as wide.
    let t = parse("3,1\n1,0\n2,0\n", None).unwrap();
    assert_eq!(t.dataset.len(), 3);
}

#[test]
fn ragged_rows_name_the_line() {
    let e = parse("a,b,c\n1,2,3\n4,5\n", None).unwrap_err();
    assert!(matches!(e, Error::Format { .. }));
    let m = e.to_string();
    assert!(
        m.contains("t.csv") && m.contains("line 3 has 2 fields, expected 3"),
        "{m}"
    );
}

#[test]
fn missing_infinite_and_text_cells() {
    for (text, needle) in [
        ("a,b\n1,\n", "missing value at line 2, column 2 (b)"),
        ("a,b\n1,2\nNA,3\n", "missing value at line 3, column 1 (a)"),
        ("1,2\n3,nan\n", "missing value at line 2, column 2 (x1)"),
        ("1,2\n3,NaN\n", "missing value at line 2, column 2"),
    ] {
        let e = parse(text, None).unwrap_err();
        assert!(matches!(e, Error::Data(_)), "{text}");
        let m = e.to_string();
        assert!(m.contains(needle) && m.contains("complete tables"), "{m}");
        assert!(m.contains("vaekit impute"), "{m}");
        assert!(m.contains("t.csv"), "{m}");
    }
    let e = parse("1,2\n3,inf\n", None).unwrap_err();
    assert!(matches!(e, Error::Data(_)));
    assert!(
        e.to_string()
            .contains("infinite value 'inf' at line 2, column 2"),
        "{e}"
    );
    let e = parse("1,2\n3,1e300\n", None).unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");
    let e = parse("a,b\n1,2\n3,abc\n", None).unwrap_err();
    assert!(matches!(e, Error::Format { .. }));
    let m = e.to_string();
    assert!(
        m.contains("line 3, column 2 (b)") && m.contains("'abc'"),
        "{m}"
    );
    let e = parse("a,b,y\n1,2,\n", Some("y")).unwrap_err();
    assert!(e.to_string().contains("missing label at line 2"), "{e}");
}

#[test]
fn missing_cells_are_marked_when_allowed() {
    let text = "a,b,c,y\n1.5,,3,0\nNA,2.25,nan,1\n?,null,-7e-3,1\n";
    let t = parse_csv(
        p(),
        text.as_bytes(),
        b',',
        Some("y"),
        Cells::Numbers(MissingCells::Mark),
    )
    .unwrap();
    assert_eq!(
        t.missing,
        [false, true, false, true, false, true, true, true, false]
    );
    // Observed cells keep their parsed value; missing ones hold the placeholder.
    assert_eq!(
        t.dataset.values(),
        &[1.5, 0.0, 3.0, 0.0, 2.25, 0.0, 0.0, 0.0, -7e-3]
    );
    assert_eq!(t.dataset.labels(), Some(&[0, 1, 1][..]));
    // A complete table has no marks set; refusing gives no marks at all.
    let t = parse_csv(
        p(),
        b"1,2\n3,4\n",
        b',',
        None,
        Cells::Numbers(MissingCells::Mark),
    )
    .unwrap();
    assert_eq!(t.missing, [false; 4]);
    let t = parse_csv(
        p(),
        b"1,2\n3,4\n",
        b',',
        None,
        Cells::Numbers(MissingCells::Refuse),
    )
    .unwrap();
    assert!(t.missing.is_empty());
    // A missing label is still an error, and so is an infinite value.
    let e = parse_csv(
        p(),
        b"a,y\n1,\n",
        b',',
        Some("y"),
        Cells::Numbers(MissingCells::Mark),
    )
    .unwrap_err();
    assert!(e.to_string().contains("missing label"), "{e}");
    let e = parse_csv(
        p(),
        b"1,inf\n",
        b',',
        None,
        Cells::Numbers(MissingCells::Mark),
    )
    .unwrap_err();
    assert!(e.to_string().contains("infinite"), "{e}");
}

#[test]
fn load_with_missing_reads_tables_and_passes_other_sources_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "a,b\n1,\n,4\n5,6\n").unwrap();
    let spec = path.to_str().unwrap();
    let (source, missing) = load_with_missing(spec, &LoadOptions::default()).unwrap();
    assert_eq!(source.format, Format::Csv);
    assert_eq!(source.train.values(), &[1.0, 0.0, 0.0, 4.0, 5.0, 6.0]);
    assert_eq!(missing.unwrap(), [false, true, true, false, false, false]);
    // A run of numbers still refuses the table, and points to impute;
    // a new run reads it through typed columns, holes marked.
    let numbers = LoadOptions {
        reading: super::super::TableReading::Numbers,
        ..LoadOptions::default()
    };
    let e = super::super::load(spec, &numbers).unwrap_err();
    assert!(e.to_string().contains("vaekit impute"), "{e}");
    let typed = super::super::load(spec, &LoadOptions::default()).unwrap();
    // Two whole numbers each: two categorical columns of two values,
    // a hole in row 1's b and row 2's a.
    assert_eq!(typed.columns.unwrap().width(), 4);
    let missing = typed.train.missing().unwrap();
    assert_eq!(missing[..4], [false, false, true, true]);
    assert_eq!(missing[4..8], [true, true, false, false]);
    let (source, missing) = load_with_missing("digits", &LoadOptions::default()).unwrap();
    assert_eq!(source.format, Format::Digits);
    assert!(missing.is_none());
}

#[test]
fn no_data_rows_and_no_features() {
    let e = parse("a,b,c\n", None).unwrap_err();
    assert!(matches!(e, Error::Format { .. }));
    assert!(e.to_string().contains("no data rows"), "{e}");
    let e = parse("", None).unwrap_err();
    assert!(e.to_string().contains("no rows"), "{e}");
    let e = parse("1\n2\n", Some("0")).unwrap_err();
    assert!(e.to_string().contains("no feature columns"), "{e}");
}

#[test]
fn quoting_blank_lines_and_tabs() {
    let t = parse("\"a\",\"b\"\n\"1\",2\n\n3,4\n", None).unwrap();
    assert_eq!(t.dataset.values(), &[1.0, 2.0, 3.0, 4.0]);
    let t = parse_csv(
        p(),
        b"a\tb\n1\t2\n",
        b'\t',
        None,
        Cells::Numbers(MissingCells::Refuse),
    )
    .unwrap();
    assert_eq!(columns(&t), vec!["a", "b"]);
    assert_eq!(delimiter_for(Path::new("x.tsv"), b"a,b", None), b'\t');
    assert_eq!(delimiter_for(Path::new("x.txt"), b"a\tb\n", None), b'\t');
    assert_eq!(delimiter_for(Path::new("x.csv"), b"a,b\tc\n", None), b',');
}

#[test]
fn delimiters_are_sniffed_from_the_records() {
    let sniff = |bytes: &[u8]| delimiter_for(Path::new("x.csv"), bytes, None) as char;
    assert_eq!(sniff(b"a;b;c\r\n1;2;3\r\n4;5;6\r\n"), ';');
    assert_eq!(sniff(b"a|b\n1|2\n"), '|');
    assert_eq!(sniff(b"name\tnote\nx\tsee a, b\ny\tc\n"), '\t');
    // Delimiters inside quotes do not count, also across lines.
    assert_eq!(sniff(b"a;b\n\"1,2,\n3\";4\n\"x,y\";5\n"), ';');
    // More fields per record wins among regular candidates.
    assert_eq!(sniff(b"a,b;c,d\n1,2;3,4\n"), ',');
    // No regular candidate: the one in most records.
    assert_eq!(sniff(b"a;b\n1;2;3\n4;5\n6\n"), ';');
    assert_eq!(sniff(b"value\n1\n2\n"), ',');
    assert_eq!(sniff(b""), ',');
    // Given, it is used as it is.
    assert_eq!(delimiter_for(Path::new("x.tsv"), b"a;b", Some(';')), b';');
}

#[test]
fn invalid_utf8_is_a_format_error() {
    let e = parse_csv(
        p(),
        b"a,b\n1,\xff\xfe\n",
        b',',
        None,
        Cells::Numbers(MissingCells::Refuse),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Format { .. }));
    assert!(e.to_string().contains("UTF-8"), "{e}");
}

#[test]
fn skipped_and_empty_lines_keep_the_files_line_numbers() {
    let text = "|1x3 Cross validator\na,b\n1,2\n\n\n3,x\n";
    let bytes = skip_lines(text.as_bytes().to_vec(), 1);
    assert_eq!(bytes, b"\na,b\n1,2\n\n\n3,x\n");
    assert_eq!(skip_lines(b"a\nb".to_vec(), 5), b"\n");
    let e = parse_csv(
        p(),
        &bytes,
        b',',
        None,
        Cells::Numbers(MissingCells::Refuse),
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("line 6"), "{e}");
    let e = parse(text, None).err().unwrap();
    assert!(e.to_string().contains("--skip-lines 1"), "{e}");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                   label in proptest::option::of("[a-c0-3]{1,2}")) {
        let _ = parse_csv(p(), &bytes, b',', label.as_deref(), Cells::Numbers(MissingCells::Refuse));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[0-9a-c.,\\-\n\"? eE]{0,200}",
                                   label in proptest::option::of("[a-c0-3]{1,2}")) {
        for missing in [MissingCells::Refuse, MissingCells::Mark] {
            let _ = parse_csv(p(), text.as_bytes(), b',', label.as_deref(), Cells::Numbers(missing));
        }
    }

    #[test]
    fn numeric_tables_round_trip(rows in proptest::collection::vec(
        proptest::collection::vec(-1e6f32..1e6, 3), 1..20)) {
        let text: String = rows
            .iter()
            .map(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",") + "\n")
            .collect();
        let t = parse_csv(p(), text.as_bytes(), b',', None, Cells::Numbers(MissingCells::Refuse)).unwrap();
        let flat: Vec<f32> = rows.concat();
        prop_assert_eq!(t.dataset.values(), flat.as_slice());
    }
}
