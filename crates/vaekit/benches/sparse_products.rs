//! Where the sparse product beats the dense one: times `kernels::sparse`
//! (building the row index included) against the dense product of the `gemm`
//! crate (which the dense path of `kernels::linear` calls) on the shapes of the 784-400-20 VAE, over a range of shares of
//! nonzeros, and prints dense time / sparse time. `kernels::sparse::MAX_DENSITY`
//! is set from this (bench/NOTES.md, step 9).
//!
//! ```sh
//! cargo bench -p vaekit --bench sparse_products --features x86-v4  # all threads, AVX-512 gemm
//! RAYON_NUM_THREADS=1 cargo bench -p vaekit --bench sparse_products
//! MNIST_ONLY=1 cargo bench -p vaekit --bench sparse_products       # only the MNIST rows
//! ```

mod common;
use common::median_ms;

use vaekit::burn::tensor::{Device, Distribution, Tensor, TensorData};
use vaekit::kernels::sparse::{count_nonzero, matmul_acc, matmul_transposed_acc};

/// `out (rows x n) = lhs @ rhs` by the `gemm` crate, `lhs` given by its row
/// and column strides.
fn dense_product(out: &mut [f32], lhs: (&[f32], isize, isize), rhs: &[f32], k: usize, n: usize) {
    let rows = out.len() / n;
    assert!(lhs.0.len() == rows * k && rhs.len() == k * n);
    // SAFETY: the assertion keeps every element the strides reach (row-major
    // `rows x k`, or its transpose, and `k x n`) inside the slices.
    unsafe {
        gemm::gemm(
            rows,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.0.as_ptr(),
            lhs.2,
            lhs.1,
            rhs.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}

/// Dense and sparse timings of `x (m x k) @ w (k x n)`, and with
/// `transposed` of `x^T @ w` (`w` then `m x n`), printed as a table row.
fn compare(what: &str, x: &[f32], w: &[f32], (m, k, n): (usize, usize, usize), transposed: bool) {
    let share = count_nonzero(x) as f64 / (m * k) as f64;
    let out_rows = if transposed { k } else { m };
    let dense = median_ms(15, || {
        let mut out = vec![0.0f32; out_rows * n];
        match transposed {
            true => dense_product(&mut out, (x, 1, k as isize), w, m, n),
            false => dense_product(&mut out, (x, k as isize, 1), w, k, n),
        }
        std::hint::black_box(TensorData::new(out, [out_rows, n]));
    });
    let sparse = median_ms(15, || {
        let mut out = vec![0.0f32; out_rows * n];
        match transposed {
            true => matmul_transposed_acc(&mut out, x, k, w, n),
            false => matmul_acc(&mut out, x, k, w, n),
        }
        std::hint::black_box(TensorData::new(out, [out_rows, n]));
    });
    let shape = match transposed {
        true => format!("({m} x {k})^T x {n}"),
        false => format!("{m} x {k} x {n}"),
    };
    println!(
        "| {what} | {shape} | {share:.2} | {dense:.3} | {sparse:.3} | {:.2}x |",
        dense / sparse
    );
}

fn main() {
    // As the `vaekit` command does: the calling thread is one of rayon's
    // workers, so a parallel product does not park it and wake the others.
    vaekit::device::on_worker_thread(compare_all);
}

fn compare_all() {
    let device = Device::flex();
    device.seed(1);
    println!(
        "| left operand | m x k x n | share nonzero | dense ms | sparse ms | dense / sparse |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let weights = |k: usize, n: usize| {
        Tensor::<2>::random([k, n], Distribution::Normal(0.0, 0.05), &device)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    for shape @ (m, k, n) in [(128, 784, 400), (128, 400, 784), (1000, 784, 400)] {
        if std::env::var_os("MNIST_ONLY").is_some() {
            break;
        }
        let w = weights(k, n);
        for density in [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6] {
            let mask = Tensor::<2>::random([m, k], Distribution::Default, &device)
                .lower_elem(density)
                .float();
            let x = Tensor::<2>::random([m, k], Distribution::Default, &device) * mask;
            let x = x.into_data().try_into_vec::<f32>().unwrap();
            compare("random", &x, &w, shape, false);
        }
    }
    // The first layer's real input: MNIST test images, where the data is.
    let mnist = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/mnist");
    match vaekit::data::load(mnist, &Default::default()) {
        Ok(source) => {
            let images = source.test.unwrap_or(source.train);
            for m in [128, 1000] {
                let x = &images.values()[..m * 784];
                compare(
                    "MNIST test images",
                    x,
                    &weights(784, 400),
                    (m, 784, 400),
                    false,
                );
                // The first layer's weight gradient: images^T @ output gradient.
                compare(
                    "MNIST test images",
                    x,
                    &weights(m, 400),
                    (m, 784, 400),
                    true,
                );
            }
        }
        Err(e) => println!("(no MNIST rows: {e})"),
    }
}
