//! Matrix products whose left operand is mostly zeros.
//!
//! Written here because the inputs of a VAE's widest products are mostly zeros:
//! an MNIST image is about 81 % black pixels, and the output of a ReLU layer is
//! zero wherever the unit is off. A dense product (`gemm`, or PyTorch's) still
//! multiplies every one of them; the first layer of the 784-400-20 VAE is half
//! of its forward work, and four fifths of it is multiplications by zero.
//! burn has no sparse tensors on its CPU backend, and the sparse crates
//! (`sprs`) multiply a sparse by a dense matrix element by element through
//! generic ndarray views, on one thread, so this module does it with register
//! blocks:
//!
//! - the output rows are split into tasks over rayon's threads, and each task
//!   lists the nonzeros of its rows of the sparse operand as (column, value)
//!   pairs (compressed sparse rows), so the listing runs in parallel too;
//! - each output row is computed in blocks of 64 columns held in eight 8-lane
//!   registers (128 in eight 16-lane ones where the CPU has AVX-512), adding `value * b[column, block]` for each nonzero of the row:
//!   one load per multiply-add, as in a dense kernel;
//! - the rows of `b` are taken in tiles, so that the tile's block (16 KiB)
//!   stays in the level-1 cache while every row of the task uses it.
//!
//! The caller asks [`is_sparse`] first: when the operand is not sparse enough
//! to win (more than [`MAX_DENSITY`] of it nonzero) the dense product should
//! run instead. Results equal the dense product's up to the order of the
//! additions, except that a zero times a non-finite value of `b` adds nothing
//! here (NaN in a dense product).

use rayon::prelude::*;

/// The largest share of nonzeros for which the sparse product is used. The
/// sparse kernel's multiply-adds run slower than the dense kernel's (rows of
/// `b` gathered instead of packed panels): it broke even at about 0.2 nonzero
/// against `gemm`'s AVX-512 kernels and at 0.3-0.4 against its AVX2 ones,
/// measured with `cargo bench -p vaekit --bench sparse_products`
/// (bench/NOTES.md, step 9).
pub const MAX_DENSITY: f64 = 0.2;

/// Products with fewer multiply-adds than this (dense count) stay dense: the
/// listing of the nonzeros and the thread start-up would cost more than they save.
const MIN_WORK: usize = 1 << 16;

/// Output columns per register block: eight vectors of eight lanes (AVX2),
/// or of sixteen (AVX-512).
const BLOCK: usize = 64;
#[cfg(target_arch = "x86_64")]
const BLOCK_AVX512: usize = 128;

/// Values of `b` per tile (16 KiB): a tile is `TILE_VALUES / block` rows.
const TILE_VALUES: usize = 4096;

/// The nonzeros of some rows of a matrix: those of row `r` are
/// `columns[offsets[r]..offsets[r + 1]]`, in increasing order, with their `values`.
#[derive(Debug, Default, PartialEq)]
struct Csr {
    offsets: Vec<usize>,
    columns: Vec<u32>,
    values: Vec<f32>,
}

impl Csr {
    /// Rows `first..first + rows` of the row-major matrix `dense` with `cols` columns.
    fn of_rows(dense: &[f32], cols: usize, first: usize, rows: usize) -> Csr {
        let part = &dense[first * cols..(first + rows) * cols];
        let nnz = count_nonzero(part);
        // Every value is written at the next free place and kept only when it
        // is nonzero: no branch to mispredict, and one spare place at the end.
        let (mut columns, mut values) = (vec![0u32; nnz + 1], vec![0f32; nnz + 1]);
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        let mut next = 0;
        for row in part.chunks_exact(cols) {
            for (j, &v) in row.iter().enumerate() {
                columns[next] = j as u32;
                values[next] = v;
                next += (v != 0.0) as usize;
            }
            offsets.push(next);
        }
        columns.truncate(nnz);
        values.truncate(nnz);
        Csr {
            offsets,
            columns,
            values,
        }
    }

    /// Columns `first..first + count` of the row-major matrix `dense` with
    /// `cols` columns, as the rows of its transpose.
    fn of_columns(dense: &[f32], cols: usize, first: usize, count: usize) -> Csr {
        let mut offsets = vec![0usize; count + 1];
        for row in dense.chunks_exact(cols) {
            for (j, &v) in row[first..first + count].iter().enumerate() {
                offsets[j + 1] += (v != 0.0) as usize;
            }
        }
        for j in 0..count {
            offsets[j + 1] += offsets[j];
        }
        let nnz = offsets[count];
        let (mut columns, mut values) = (vec![0u32; nnz], vec![0f32; nnz]);
        let mut next = offsets[..count].to_vec();
        for (i, row) in dense.chunks_exact(cols).enumerate() {
            for (j, &v) in row[first..first + count].iter().enumerate() {
                if v != 0.0 {
                    columns[next[j]] = i as u32;
                    values[next[j]] = v;
                    next[j] += 1;
                }
            }
        }
        Csr {
            offsets,
            columns,
            values,
        }
    }

    fn rows(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// The number of values that are not zero (NaN counts as nonzero).
pub fn count_nonzero(values: &[f32]) -> usize {
    values.iter().map(|&v| (v != 0.0) as usize).sum()
}

/// Whether a product of `a` (any shape) with a matrix of `n` columns, or of its
/// transpose, is better done by [`matmul_acc`] or [`matmul_transposed_acc`]
/// than densely: large enough, at least 64 columns wide, and at most
/// [`MAX_DENSITY`] nonzero.
pub fn is_sparse(a: &[f32], n: usize) -> bool {
    // Narrower products are cheap densely, and miss the register blocks here.
    n >= BLOCK
        && a.len().saturating_mul(n) >= MIN_WORK
        && count_nonzero(a) as f64 <= MAX_DENSITY * a.len() as f64
}

/// `dst += a @ b`, skipping the zeros of `a`.
///
/// # Shapes
/// - `a`: `m x k`, `b`: `k x n`, `dst`: `m x n`, all row-major, with `k = cols`
///
/// # Panics
/// When the buffers do not have those sizes (a caller's bug, never user data).
pub fn matmul_acc(dst: &mut [f32], a: &[f32], cols: usize, b: &[f32], n: usize) {
    let m = a.len().checked_div(cols).unwrap_or(0);
    assert!(
        a.len() == m * cols && dst.len() == m * n && b.len() == cols * n,
        "sparse::matmul_acc: shapes do not match the buffers"
    );
    if m == 0 || n == 0 {
        return;
    }
    let per_task = rows_per_sparse_task(m, a.len() * n, 2);
    dst.par_chunks_mut(per_task * n)
        .enumerate()
        .for_each(|(task, out)| {
            let first = task * per_task;
            let csr = Csr::of_rows(a, cols, first, out.len() / n);
            rows_acc(out, &csr, b, n, cols);
        });
}

/// `dst += a^T @ b`, skipping the zeros of `a`.
///
/// # Shapes
/// - `a`: `m x k` (`k = cols`), `b`: `m x n`, `dst`: `k x n`, all row-major
///
/// # Panics
/// When the buffers do not have those sizes (a caller's bug, never user data).
pub fn matmul_transposed_acc(dst: &mut [f32], a: &[f32], cols: usize, b: &[f32], n: usize) {
    let m = a.len().checked_div(cols).unwrap_or(0);
    assert!(
        a.len() == m * cols && dst.len() == cols * n && b.len() == m * n,
        "sparse::matmul_transposed_acc: shapes do not match the buffers"
    );
    if cols == 0 || n == 0 {
        return;
    }
    // The nonzeros of an image sit in its middle columns: many small tasks
    // let the threads share them out.
    let per_task = rows_per_sparse_task(cols, a.len() * n, 8);
    dst.par_chunks_mut(per_task * n)
        .enumerate()
        .for_each(|(task, out)| {
            let first = task * per_task;
            let csr = Csr::of_columns(a, cols, first, out.len() / n);
            rows_acc(out, &csr, b, n, m);
        });
}

/// Output rows per parallel task: `tasks_per_thread` tasks for each thread,
/// or one task for a small product.
fn rows_per_sparse_task(rows: usize, dense_work: usize, tasks_per_thread: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    match dense_work >= 4 * MIN_WORK && threads > 1 {
        true => rows.div_ceil(tasks_per_thread * threads).max(1),
        false => rows.max(1),
    }
}

/// `out` (the task's rows of the product, `n` wide) `+= csr @ b`, `b` having `k` rows.
fn rows_acc(out: &mut [f32], csr: &Csr, b: &[f32], n: usize, k: usize) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx512() {
        // SAFETY: the CPU has AVX-512F, AVX2 and FMA, checked just above.
        return unsafe { rows_acc_avx512(out, csr, b, n, k) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx2() {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { rows_acc_avx2(out, csr, b, n, k) };
    }
    rows_acc_with::<false, BLOCK>(out, csr, b, n, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn rows_acc_avx2(out: &mut [f32], csr: &Csr, b: &[f32], n: usize, k: usize) {
    rows_acc_with::<true, BLOCK>(out, csr, b, n, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn rows_acc_avx512(out: &mut [f32], csr: &Csr, b: &[f32], n: usize, k: usize) {
    rows_acc_with::<true, BLOCK_AVX512>(out, csr, b, n, k)
}

/// The body of [`rows_acc`]: column blocks, then tiles of `b`'s rows, then
/// the task's rows, so that the tile's block stays in cache for all of them.
#[inline(always)]
fn rows_acc_with<const FMA: bool, const B: usize>(
    out: &mut [f32],
    csr: &Csr,
    b: &[f32],
    n: usize,
    k: usize,
) {
    let tile = TILE_VALUES / B;
    let (rows, tiles) = (csr.rows(), k.div_ceil(tile));
    // Where each row's nonzeros of each tile start: `bounds[r * (tiles + 1) + t]`.
    let mut bounds = Vec::with_capacity(rows * (tiles + 1));
    for r in 0..rows {
        let (start, end) = (csr.offsets[r], csr.offsets[r + 1]);
        let mut at = start;
        for t in 0..tiles {
            bounds.push(at);
            let limit = ((t + 1) * tile) as u32;
            while at < end && csr.columns[at] < limit {
                at += 1;
            }
        }
        bounds.push(end);
    }
    let mut c0 = 0;
    while c0 < n {
        let width = match n - c0 {
            w if w >= B => B,
            w if w >= 8 => 8,
            w => w,
        };
        for t in 0..tiles {
            for r in 0..rows {
                let (start, end) = (bounds[r * (tiles + 1) + t], bounds[r * (tiles + 1) + t + 1]);
                if end == start {
                    continue;
                }
                let (cols, vals) = (&csr.columns[start..end], &csr.values[start..end]);
                let block = &mut out[r * n + c0..r * n + c0 + width];
                match width {
                    w if w == B => {
                        add_block::<B, FMA>(block.try_into().unwrap(), cols, vals, b, n, c0)
                    }
                    8 => add_block::<8, FMA>(block.try_into().unwrap(), cols, vals, b, n, c0),
                    _ => add_narrow::<FMA>(block, cols, vals, b, n, c0),
                }
            }
        }
        c0 += width;
    }
}

/// `out += sum over the nonzeros of value * b[column, c0..c0 + W]`, with the
/// sums in registers throughout.
#[inline(always)]
fn add_block<const W: usize, const FMA: bool>(
    out: &mut [f32; W],
    cols: &[u32],
    vals: &[f32],
    b: &[f32],
    n: usize,
    c0: usize,
) {
    let mut acc = *out;
    for (&k, &v) in cols.iter().zip(vals) {
        let start = k as usize * n + c0;
        let row: &[f32; W] = b[start..start + W].try_into().unwrap();
        for j in 0..W {
            acc[j] = madd::<FMA>(v, row[j], acc[j]);
        }
    }
    *out = acc;
}

/// [`add_block`] for the last fewer than eight columns.
#[inline(always)]
fn add_narrow<const FMA: bool>(
    out: &mut [f32],
    cols: &[u32],
    vals: &[f32],
    b: &[f32],
    n: usize,
    c0: usize,
) {
    let width = out.len();
    for (&k, &v) in cols.iter().zip(vals) {
        let start = k as usize * n + c0;
        for (o, &w) in out.iter_mut().zip(&b[start..start + width]) {
            *o = madd::<FMA>(v, w, *o);
        }
    }
}

/// `a * b + c`, fused where the CPU has FMA (elsewhere `mul_add` is a slow
/// library call, and two roundings are what a dense kernel gives there too).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    match FMA {
        true => a.mul_add(b, c),
        false => a * b + c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The dense product in f64, the reference.
    fn dense_product(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                    .sum();
                out[i * n + j] = s as f32;
            }
        }
        out
    }

    fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..cols * rows)
            .map(|t| a[(t % rows) * cols + t / rows])
            .collect()
    }

    /// A deterministic matrix with about `density` of its values nonzero.
    fn sparse_matrix(rows: usize, cols: usize, density: f64, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..rows * cols)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                let v = ((state >> 7) % 2001) as f32 / 1000.0 - 1.0;
                if u < density { v } else { 0.0 }
            })
            .collect()
    }

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    #[test]
    fn product_matches_the_dense_one_over_every_block_width() {
        // n covers full 64-blocks, 8-blocks and a narrow tail; k covers several
        // tiles; m a threaded split with a short last task.
        for (m, k, n) in [
            (130, 784, 400),
            (7, 33, 77),
            (1, 5, 3),
            (64, 200, 64),
            (1000, 100, 13),
        ] {
            let a = sparse_matrix(m, k, 0.2, (m * n) as u64);
            let b = sparse_matrix(k, n, 1.0, k as u64);
            let mut got = vec![0.5f32; m * n];
            matmul_acc(&mut got, &a, k, &b, n);
            let want: Vec<f32> = dense_product(&a, &b, m, k, n)
                .iter()
                .map(|v| v + 0.5)
                .collect();
            assert_close(&got, &want, &format!("{m}x{k}x{n}"));
        }
    }

    #[test]
    fn every_instruction_set_gives_the_same_product() {
        // The dispatch picks one variant per CPU; each is checked here where
        // the CPU can run it.
        let (m, k, n) = (20, 300, 400);
        let a = sparse_matrix(m, k, 0.2, 11);
        let b = sparse_matrix(k, n, 1.0, 12);
        let want = dense_product(&a, &b, m, k, n);
        let csr = Csr::of_rows(&a, k, 0, m);
        let mut got = vec![0.0f32; m * n];
        rows_acc_with::<false, BLOCK>(&mut got, &csr, &b, n, k);
        assert_close(&got, &want, "baseline");
        #[cfg(target_arch = "x86_64")]
        if crate::kernels::simd::avx2() {
            let mut got = vec![0.0f32; m * n];
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            unsafe { rows_acc_avx2(&mut got, &csr, &b, n, k) };
            assert_close(&got, &want, "AVX2");
        }
        #[cfg(target_arch = "x86_64")]
        if crate::kernels::simd::avx512() {
            let mut got = vec![0.0f32; m * n];
            // SAFETY: the CPU has AVX-512F, AVX2 and FMA, checked just above.
            unsafe { rows_acc_avx512(&mut got, &csr, &b, n, k) };
            assert_close(&got, &want, "AVX-512");
        }
    }

    #[test]
    fn transposed_product_matches_the_dense_one() {
        // dW = x^T g for a batch of 128 with 784 inputs, and small cases.
        for (batch, d_in, d_out) in [(128, 784, 400), (5, 9, 13), (200, 3, 70)] {
            let x = sparse_matrix(batch, d_in, 0.19, 3);
            let g = sparse_matrix(batch, d_out, 1.0, 4);
            let mut got = vec![0.0f32; d_in * d_out];
            matmul_transposed_acc(&mut got, &x, d_in, &g, d_out);
            let want = dense_product(&transpose(&x, batch, d_in), &g, d_in, batch, d_out);
            assert_close(&got, &want, &format!("{batch}x{d_in}x{d_out}"));
        }
    }

    #[test]
    fn the_listing_of_nonzeros_is_exact() {
        let a = [0.0, 2.0, 0.0, -1.0, 0.0, 0.0, 3.0, 0.0, 0.0];
        let rows = Csr::of_rows(&a, 3, 0, 3);
        assert_eq!(rows.offsets, [0, 1, 2, 3]);
        assert_eq!(rows.columns, [1, 0, 0]);
        assert_eq!(rows.values, [2.0, -1.0, 3.0]);
        assert_eq!(Csr::of_rows(&a, 3, 1, 2).offsets, [0, 1, 2]);
        let columns = Csr::of_columns(&a, 3, 0, 3);
        assert_eq!(columns, Csr::of_rows(&transpose(&a, 3, 3), 3, 0, 3));
        let last_two = Csr::of_columns(&a, 3, 1, 2);
        assert_eq!(last_two.offsets, [0, 1, 1]);
        assert_eq!((last_two.columns, last_two.values), (vec![0], vec![2.0]));
    }

    #[test]
    fn all_zero_matrices_add_nothing() {
        let a = vec![0.0f32; 12];
        let mut out = vec![1.5f32; 3 * 70];
        matmul_acc(&mut out, &a, 4, &vec![2.0; 4 * 70], 70);
        assert!(out.iter().all(|&v| v == 1.5));
        let mut out = vec![1.5f32; 4 * 70];
        matmul_transposed_acc(&mut out, &a, 4, &vec![2.0; 3 * 70], 70);
        assert!(out.iter().all(|&v| v == 1.5));
    }

    #[test]
    fn nan_inputs_propagate() {
        let a = [0.0, f32::NAN, 0.0, 1.0];
        let mut out = vec![0.0f32; 2 * 3];
        matmul_acc(&mut out, &a, 2, &[1.0; 6], 3);
        assert!(out[..3].iter().all(|v| v.is_nan()));
        assert_eq!(&out[3..], &[1.0, 1.0, 1.0]);
    }

    #[test]
    fn only_sparse_enough_and_large_enough_products_go_sparse() {
        assert!(is_sparse(&sparse_matrix(128, 784, 0.15, 1), 400));
        assert!(!is_sparse(&sparse_matrix(128, 784, 0.9, 1), 400));
        // Tiny and narrow products stay dense whatever their zeros.
        assert!(!is_sparse(&[0.0; 6], 2));
        assert!(!is_sparse(&sparse_matrix(1000, 784, 0.15, 1), 40));
    }

    proptest! {
        #[test]
        fn any_small_product_matches_the_dense_one(
            m in 1usize..12, k in 1usize..140, n in 1usize..80, density in 0.0f64..1.0, seed in 0u64..1000
        ) {
            let a = sparse_matrix(m, k, density, seed);
            let b = sparse_matrix(k, n, 1.0, seed + 1);
            let mut got = vec![0.0f32; m * n];
            matmul_acc(&mut got, &a, k, &b, n);
            let want = dense_product(&a, &b, m, k, n);
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0));
            }
            let g = sparse_matrix(m, n, 1.0, seed + 2);
            let mut got_t = vec![0.0f32; k * n];
            matmul_transposed_acc(&mut got_t, &a, k, &g, n);
            let want_t = dense_product(&transpose(&a, m, k), &g, k, m, n);
            for (g, w) in got_t.iter().zip(&want_t) {
                prop_assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0));
            }
        }
    }
}
