use super::*;

fn cells(names: &[&str], rows: &[&[&str]]) -> (Vec<String>, Vec<String>, Vec<u64>) {
    let names = names.iter().map(|s| s.to_string()).collect();
    let cells = rows
        .iter()
        .flat_map(|r| r.iter().map(|s| s.to_string()))
        .collect();
    let lines = (2..2 + rows.len() as u64).collect();
    (names, cells, lines)
}

fn fit(names: &[&str], rows: &[&[&str]], options: &ColumnOptions) -> Result<TableColumns> {
    let (n, c, l) = cells(names, rows);
    TableColumns::fit(
        &TextCells {
            names: &n,
            cells: &c,
            lines: &l,
            origin: "t.csv",
        },
        options,
    )
}

const ROWS: &[&[&str]] = &[
    &["red", "1", "3", "0.5", "2007", "12", "180"],
    &["blue", "0", "4", "1.25", "2008", "140", "187"],
    &["", "1", "NA", "-2", "2009", "0", "194"],
    &["red", "?", "15", "3", "2007", "7", "201"],
    &["green", "0", "2", "0", "2008", "11", "208"],
    &["blue", "1", "3", "7", "2009", "99", "186"],
    &["red", "1", "3", "0.5", "2007", "21", "193"],
    &["blue", "0", "4", "1.25", "2008", "30", "200"],
    &["red", "1", "2", "-2", "2009", "31", "207"],
    &["red", "0", "15", "3", "2007", "8", "185"],
    &["green", "0", "2", "0", "2008", "55", "192"],
    &["blue", "1", "3", "7", "2009", "60", "199"],
    &["red", "1", "3", "0.5", "2007", "1", "206"],
    &["blue", "0", "4", "1.25", "2008", "2", "184"],
    &["", "1", "NA", "-2", "2009", "3", "191"],
    &["red", "?", "15", "3", "2007", "4", "198"],
    &["green", "0", "2", "0", "2008", "5", "205"],
    &["blue", "1", "3", "7", "2009", "6", "183"],
    &["red", "1", "3", "0.5", "2007", "9", "190"],
    &["blue", "0", "4", "1.25", "2008", "10", "197"],
    &["", "1", "NA", "-2", "2009", "13", "204"],
    &["red", "?", "15", "3", "2007", "14", "182"],
    &["green", "0", "2", "0", "2008", "15", "189"],
    &["blue", "1", "3", "7", "2009", "16", "196"],
];
/// The value type of each schema block.
fn block_types(t: &TableColumns) -> Vec<&'static str> {
    t.schema()
        .blocks
        .iter()
        .map(|b| b.values.as_str())
        .collect()
}

const NAMES: &[&str] = &["colour", "flag", "visits", "score", "year", "n", "length"];

#[test]
fn types_are_inferred_from_the_observed_cells() {
    let t = fit(NAMES, ROWS, &ColumnOptions::default()).unwrap();
    let types = block_types(&t);
    // visits: whole numbers, few distinct -> categorical; n: many distinct,
    // zeros among them -> count; length: many distinct far from zero -> a
    // real written as whole numbers.
    assert_eq!(
        types,
        [
            "categorical",
            "binary",
            "categorical",
            "real",
            "categorical",
            "count",
            "real"
        ]
    );
    assert!(matches!(
        t.columns[6].kind,
        ColumnKind::Real { integer: true }
    ));
    let ColumnKind::Categorical { categories } = &t.columns[0].kind else {
        panic!()
    };
    assert_eq!(categories, &["blue", "green", "red"]);
    // Numeric categories in numeric order, not as text ("15" after "4").
    let ColumnKind::Categorical { categories } = &t.columns[2].kind else {
        panic!()
    };
    assert_eq!(categories, &["2", "3", "4", "15"]);
    assert_eq!(t.width(), 3 + 1 + 4 + 1 + 3 + 1 + 1);
    let schema = t.schema();
    assert_eq!(schema.blocks[2].columns, 4..8);
    assert_eq!(schema.dim(), t.width());
    assert_eq!(t.value_names()[0], "colour=blue");
    // The count's encoder scale and starting dispersion come from its values.
    let ColumnKind::Count {
        log_mean,
        log_sd,
        dispersion,
    } = t.columns[5].kind
    else {
        panic!()
    };
    let v: Vec<f64> = ROWS.iter().map(|r| r[5].parse().unwrap()).collect();
    assert_eq!(v.len(), 24);
    let logs: Vec<f64> = v.iter().map(|x| x.ln_1p()).collect();
    let m = logs.iter().sum::<f64>() / 24.0;
    assert!((f64::from(log_mean) - m).abs() < 1e-5);
    assert!(log_sd > 0.0);
    let mean = v.iter().sum::<f64>() / 24.0;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 24.0;
    assert!((f64::from(dispersion) - mean * mean / (var - mean)).abs() < 1e-3);
}

#[test]
fn rows_encode_with_their_mask_and_decode_to_cells() {
    let t = fit(NAMES, ROWS, &ColumnOptions::default()).unwrap();
    let (n, c, l) = cells(NAMES, ROWS);
    let table = TextCells {
        names: &n,
        cells: &c,
        lines: &l,
        origin: "t.csv",
    };
    let (values, missing) = t.encode(&table).unwrap();
    let w = t.width();
    assert_eq!(values.len(), ROWS.len() * w);
    // Row 0: red one-hot, flag 1, visits 3, score 0.5, 2007, 12, 180.
    assert_eq!(
        &values[..w],
        &[
            0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.5, 1.0, 0.0, 0.0, 12.0, 180.0
        ]
    );
    // Row 2's colour and visits are missing: every one of their values.
    let row2 = &missing[2 * w..3 * w];
    assert_eq!(&row2[..3], &[true; 3]);
    assert_eq!(&row2[4..8], &[true; 4]);
    assert!(!row2[3] && !row2[8]);
    for r in [0, 1, 4, 5] {
        let cells = t.decode_row(&values[r * w..(r + 1) * w]);
        let want: Vec<String> = ROWS[r].iter().map(|s| s.to_string()).collect();
        // Reals print as f32 does: 1.25, -2, 7.
        assert_eq!(cells, want, "row {r}");
    }
    // Probabilities decode to their likeliest category, counts round.
    let mut soft = values[..w].to_vec();
    soft[..3].copy_from_slice(&[0.2, 0.7, 0.1]);
    soft[w - 2] = 11.6;
    soft[w - 1] = 179.7;
    let cells = t.decode_row(&soft);
    assert_eq!(
        (cells[0].as_str(), cells[5].as_str(), cells[6].as_str()),
        ("green", "12", "180")
    );
}

#[test]
fn an_unseen_category_and_a_bad_count_name_their_cell() {
    let t = fit(NAMES, ROWS, &ColumnOptions::default()).unwrap();
    let (n, c, l) = cells(NAMES, &[&["purple", "1", "3", "0", "2007", "1", "181"]]);
    let e = t
        .encode(&TextCells {
            names: &n,
            cells: &c,
            lines: &l,
            origin: "new.csv",
        })
        .unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("new.csv: line 2, column 1 (colour)")
            && m.contains("'purple'")
            && m.contains("blue, green, red"),
        "{m}"
    );
    let (n, c, l) = cells(NAMES, &[&["red", "1", "3", "0", "2007", "-4", "181"]]);
    let e = t
        .encode(&TextCells {
            names: &n,
            cells: &c,
            lines: &l,
            origin: "new.csv",
        })
        .unwrap_err();
    assert!(e.to_string().contains("whole number from 0 up"), "{e}");
    // A table without a training column says which.
    let (n, c, l) = cells(&["colour"], &[&["red"]]);
    let e = t
        .encode(&TextCells {
            names: &n,
            cells: &c,
            lines: &l,
            origin: "new.csv",
        })
        .unwrap_err();
    assert!(e.to_string().contains("no column 'flag'"), "{e}");
}

#[test]
fn overrides_drops_and_markers() {
    let options = ColumnOptions {
        column_types: Some("visits=count, year=real,n=categorical".into()),
        drop_columns: vec!["flag".into()],
        missing_values: None,
    };
    let t = fit(NAMES, ROWS, &options).unwrap();
    assert_eq!(
        t.names(),
        ["colour", "visits", "score", "year", "n", "length"]
    );
    let types = block_types(&t);
    assert_eq!(
        types,
        [
            "categorical",
            "count",
            "real",
            "real",
            "categorical",
            "real"
        ]
    );
    assert!(matches!(
        t.columns[3].kind,
        ColumnKind::Real { integer: true }
    ));

    // `integer` is a whole number on a real scale (a Gaussian, written back
    // whole), not a count: n and length, typed so, read as reals.
    let options = ColumnOptions {
        column_types: Some("n=integer,length=int,visits=count".into()),
        ..ColumnOptions::default()
    };
    let t = fit(NAMES, ROWS, &options).unwrap();
    for c in [5, 6] {
        assert_eq!(
            t.columns[c].kind,
            ColumnKind::Real { integer: true },
            "{}",
            t.columns[c].name
        );
    }
    assert!(matches!(t.columns[2].kind, ColumnKind::Count { .. }));

    for (spec, needle) in [
        (
            "score=integer",
            "'0.5' is not a whole number, so the column cannot be integer",
        ),
        ("age=count", "'age' is not a column"),
        ("colour=real", "'red' is not a number"),
        ("score=count", "not a whole number from 0 up"),
        ("n=binary", "not 0 or 1"),
        ("visits", "is not name=type"),
        ("visits=text", "'text' is not a column type"),
    ] {
        let options = ColumnOptions {
            column_types: Some(spec.into()),
            ..ColumnOptions::default()
        };
        let e = fit(NAMES, ROWS, &options).unwrap_err();
        assert!(matches!(e, Error::Setting { .. }), "{spec}");
        assert!(e.to_string().contains(needle), "{spec}: {e}");
    }
    let options = ColumnOptions {
        drop_columns: vec!["nope".into()],
        ..ColumnOptions::default()
    };
    assert!(
        fit(NAMES, ROWS, &options)
            .unwrap_err()
            .to_string()
            .contains("'nope' is not a column")
    );
    let options = ColumnOptions {
        drop_columns: NAMES.iter().map(|s| s.to_string()).collect(),
        ..ColumnOptions::default()
    };
    assert!(
        fit(NAMES, ROWS, &options)
            .unwrap_err()
            .to_string()
            .contains("keep at least one")
    );

    // "-1" as the missing marker: the score column's -2 stays a value, and
    // NA becomes a category of visits.
    let options = ColumnOptions {
        missing_values: Some(vec!["-1".into(), "?".into()]),
        ..ColumnOptions::default()
    };
    let t = fit(NAMES, ROWS, &options).unwrap();
    let ColumnKind::Categorical { categories } = &t.columns[2].kind else {
        panic!("{:?}", t.columns[2])
    };
    assert!(categories.contains(&"NA".to_string()));
}

#[test]
fn identifiers_and_empty_columns_are_refused() {
    let rows: Vec<Vec<String>> = (0..25)
        .map(|i| vec![format!("id-{i}"), format!("{}", i % 3)])
        .collect();
    let refs: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let rows: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    let e = fit(&["key", "x"], &rows, &ColumnOptions::default()).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("identifier") && m.contains("--drop-columns key"),
        "{m}"
    );
    let options = ColumnOptions {
        drop_columns: vec!["key".into()],
        ..ColumnOptions::default()
    };
    assert_eq!(fit(&["key", "x"], &rows, &options).unwrap().names(), ["x"]);
    // Fewer rows than ID_MIN_ROWS: distinct names are fine.
    assert!(fit(&["key"], &rows[..5], &ColumnOptions::default()).is_ok());
    let e = fit(
        &["a", "b"],
        &[&["1", ""], &["2", "NA"]],
        &ColumnOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("column 2 (b) has no values"), "{e}");
}
