use super::*;

#[test]
fn warmup_ramps_linearly_then_holds() {
    assert_eq!(warmup_beta(2.0, 0.0, 0, 10), 2.0);
    assert!((warmup_beta(1.0, 2.0, 0, 10) - 0.05).abs() < 1e-12);
    assert!((warmup_beta(1.0, 2.0, 9, 10) - 0.5).abs() < 1e-12);
    assert_eq!(warmup_beta(1.0, 2.0, 19, 10), 1.0);
    assert_eq!(warmup_beta(1.0, 2.0, 500, 10), 1.0);
}

/// Rows of `values` with `dim` values each.
fn rows(values: &[f32], dim: usize) -> Vec<&[f32]> {
    values.chunks(dim).collect()
}

#[test]
fn the_encoder_sees_about_half_the_rows_with_the_mask_filled_in() {
    let device = Device::default();
    let kind = DataKind::Image {
        channels: 1,
        height: 4,
        width: 2,
    };
    let (n, dim) = (400, 8);
    let values: Vec<f32> = (0..n * dim).map(|i| 1.0 + i as f32).collect();
    let x = Tensor::<2>::from_data(TensorData::new(values.clone(), [n, dim]), &device);
    let fill: Vec<f32> = (0..dim).map(|j| -(j as f32)).collect();
    let mut rng = random::seeded(7, Stream::Train);
    let seen = encoder_view(&x, MaskSpec::TopHalf, &kind, &fill, &mut rng).unwrap();
    let seen = seen.into_data().try_into_vec::<f32>().unwrap();
    let mut hidden_rows = 0;
    for (got, whole) in rows(&seen, dim).into_iter().zip(rows(&values, dim)) {
        if got == whole {
            continue;
        }
        // The top two rows of pixels (the first four values) take the
        // fill; the bottom half is the example's own.
        assert_eq!(&got[..4], &fill[..4]);
        assert_eq!(&got[4..], &whole[4..]);
        hidden_rows += 1;
    }
    // Binomial(400, 1/2): 200 +- 10 (one standard deviation).
    assert!((150..=250).contains(&hidden_rows), "{hidden_rows} of {n}");

    // random:P hides about P of the values of the rows it picks.
    let mut rng = random::seeded(8, Stream::Train);
    let seen = encoder_view(&x, MaskSpec::Random(0.25), &kind, &fill, &mut rng).unwrap();
    let seen = seen.into_data().try_into_vec::<f32>().unwrap();
    let changed = seen.iter().zip(&values).filter(|(a, b)| a != b).count();
    let share = changed as f64 / (n * dim) as f64;
    assert!((share - 0.125).abs() < 0.03, "{share}");
    for (i, (&got, &whole)) in seen.iter().zip(&values).enumerate() {
        assert!(got == whole || got == fill[i % dim]);
    }
}
