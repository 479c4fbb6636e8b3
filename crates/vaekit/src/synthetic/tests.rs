use super::*;

fn num(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|&x| Some(x)).collect()
}

#[test]
fn ks_complement_is_one_minus_the_largest_cdf_gap() {
    // F_a jumps at 1, 2, 3, 4; F_b at 3, 4, 5, 6: at x = 2, F_a = 0.5 and F_b = 0.
    let a = num(&[1.0, 2.0, 3.0, 4.0]);
    let b = num(&[3.0, 4.0, 5.0, 6.0]);
    assert!((ks_complement(&a, &b).unwrap() - 0.5).abs() < 1e-12);
    assert!((ks_complement(&a, &a).unwrap() - 1.0).abs() < 1e-12);
    // Ties and unequal sizes: scipy.stats.ks_2samp([0,0,1],[0,1,1,1]).statistic = 5/12.
    let d = 1.0 - ks_complement(&num(&[0.0, 0.0, 1.0]), &num(&[0.0, 1.0, 1.0, 1.0])).unwrap();
    assert!((d - 5.0 / 12.0).abs() < 1e-12, "{d}");
    // Missing cells are left out; a column of none has no score.
    assert!((ks_complement(&[None, Some(1.0)], &num(&[1.0])).unwrap() - 1.0).abs() < 1e-12);
    assert!(ks_complement(&[None], &num(&[1.0])).is_none());
}

#[test]
fn tv_and_correlation_and_contingency_by_hand() {
    // Shares (1/2, 1/2, 0) against (1/4, 1/4, 1/2): TV = (1/4 + 1/4 + 1/2) / 2.
    let tv = tv_complement(
        [Some(0), Some(1), Some(0), Some(1)],
        [Some(0), Some(1), Some(2), Some(2)],
    )
    .unwrap();
    assert!((tv - 0.5).abs() < 1e-12);
    let r = correlation(&num(&[1.0, 2.0, 3.0]), &num(&[2.0, 4.0, 7.0])).unwrap();
    // By hand: centred (-1, 0, 1) and (-7/3, -1/3, 8/3): 5 / sqrt(2 * 114/9).
    assert!((r - 5.0 / (2.0f64 * 114.0 / 9.0).sqrt()).abs() < 1e-12);
    assert!(correlation(&num(&[1.0, 1.0]), &num(&[1.0, 2.0])).is_none());
    // np.digitize(x, np.histogram_bin_edges(x)) on each table alone: for
    // [0, 10, 5] the edges are 0, 1, ..., 10, so 0 -> 1, 5 -> 6, 10 -> 11;
    // for [-3, 9.99, 100, 0.5] they are -3, 7.3, ..., 100 (and a missing cell
    // goes where np.digitize puts NaN, past the last edge).
    let real = ColumnCells::Numeric(num(&[0.0, 10.0, 5.0]));
    let synth = ColumnCells::Numeric(vec![Some(-3.0), Some(9.99), Some(100.0), Some(0.5), None]);
    let (r, s) = binned(&real, &synth);
    assert_eq!(r, [Some(1), Some(11), Some(6)]);
    assert_eq!(s, [Some(1), Some(2), Some(11), Some(1), Some(11)]);
}

#[test]
fn a_copy_of_the_real_rows_scores_one_and_sits_at_distance_zero() {
    use crate::data::columns::{Column, ColumnKind};
    let columns = TableColumns {
        columns: vec![
            Column {
                name: "c".into(),
                kind: ColumnKind::Categorical {
                    categories: vec!["a".into(), "b".into()],
                },
            },
            Column {
                name: "x".into(),
                kind: ColumnKind::Real { integer: false },
            },
            Column {
                name: "y".into(),
                kind: ColumnKind::Real { integer: false },
            },
        ],
        missing_values: vec![String::new()],
    };
    let kind = columns.kind();
    let mut values = Vec::new();
    for i in 0..40 {
        let c = i % 2;
        let x = i as f32;
        values.extend([
            f32::from(u8::from(c == 0)),
            f32::from(u8::from(c == 1)),
            x,
            2.0 * x + c as f32,
        ]);
    }
    let real = Dataset::new(values.clone(), kind.clone(), None).unwrap();
    let report = judge(&columns, &real, &real, None, 0).unwrap();
    assert!((report.quality - 1.0).abs() < 1e-12, "{report:?}");
    assert_eq!(report.shapes.len(), 3);
    assert_eq!(report.pairs.len(), 3);
    assert_eq!(report.closest_records.synthetic_median, 0.0);
    assert_eq!(report.closest_records.exact_copies, 1.0);
    // Shifted x by a fifth of its range: each synthetic row is 0.2 / 3 from
    // its nearest real one at most, and the shape score drops.
    let shifted: Vec<f32> = values
        .chunks(4)
        .flat_map(|r| [r[0], r[1], r[2] + 7.8, r[3]])
        .collect();
    let synth = Dataset::new(shifted, kind, None).unwrap();
    let report = judge(&columns, &real, &synth, Some(&real), 0).unwrap();
    assert!(report.shapes[1].score < 0.85, "{:?}", report.shapes);
    assert!(report.closest_records.synthetic_median > 0.0);
    assert_eq!(report.closest_records.holdout_median, Some(0.0));
}
