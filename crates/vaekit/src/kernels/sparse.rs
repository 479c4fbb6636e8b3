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
//!   lists the nonzeros of its rows of the sparse operand, with AVX-512 four
//!   rows at a time ([`GROUP`]): one entry for each column where any of the
//!   four is nonzero, with the four values (sixteen columns at a time with
//!   AVX-512's compressing stores), so the listing runs in parallel too;
//! - with AVX-512 each group's four output rows are computed in blocks of 64
//!   columns held in sixteen 16-lane registers, adding `value[r] * b[column,
//!   block]` for each entry: the kernel runs at the CPU's peak rate of
//!   multiply-adds, about half of them by the zeros that a group's columns
//!   bring in (step 13 of bench/NOTES.md). With AVX2 (and without either)
//!   the groups are single rows (compressed sparse rows) in blocks of 64
//!   columns in eight 8-lane registers: there the groups of four measured
//!   slower (step 19);
//! - for `a^T @ b`, `a` is transposed first, so that a group is four
//!   neighbouring columns of `a` (on images, neighbouring pixels, which are
//!   often nonzero together).
//!
//! The caller asks [`is_sparse`] first: when the operand is not sparse enough
//! to win (more than [`MAX_DENSITY`] of it nonzero) the dense product should
//! run instead. Results equal the dense product's up to the order of the
//! additions, except that a zero of `a` times a non-finite value of `b` adds
//! nothing here when no other row of its group is nonzero in that column
//! (NaN in a dense product).

use rayon::prelude::*;

/// The largest share of nonzeros for which the sparse product is used. On
/// random matrices (whose groups of four rows bring in more zeros than
/// images do) the sparse product still beat `gemm`'s AVX-512 kernels at 0.2
/// nonzero and broke even at about 0.3; on MNIST images (0.18 nonzero) it is
/// 1.4-1.8x faster. Measured with `cargo bench -p vaekit --bench
/// sparse_products` (bench/NOTES.md, steps 9 and 13).
pub const MAX_DENSITY: f64 = 0.2;

/// Products with fewer multiply-adds than this (dense count) stay dense: the
/// listing of the nonzeros and the thread start-up would cost more than they save.
const MIN_WORK: usize = 1 << 16;

/// Rows of the sparse operand taken together: each entry of a group is a
/// column where at least one of its rows is nonzero, and the product loads
/// that column's row of `b` once for all four rows' values. On MNIST images a
/// group's columns are about twice one image's nonzeros (the extra values are
/// zeros), but each load feeds four times the multiply-adds: one load per
/// multiply-add left the kernel waiting on the level-2 cache (bench/NOTES.md,
/// step 13).
const GROUP: usize = 4;

/// Output columns per register block: with [`GROUP`] rows, 16 sums of 16
/// lanes (AVX-512); with one row, 8 of 8 lanes (AVX2).
const BLOCK: usize = 64;

/// How many entries ahead the rows of `b` are fetched into cache. Measured
/// against no prefetch (`cargo bench --bench sparse_products`, two runs
/// each): the same on batches of 128, 0-15 % faster on batches of 1,000.
const PREFETCH_AHEAD: usize = 8;

/// The nonzeros of some rows of a matrix, `G` rows at a time: the
/// entries of group `g` are `offsets[g]..offsets[g + 1]`, one per column
/// where any row of the group is nonzero, in increasing order of column,
/// with `values[r]` holding row `r` of the group (zero where that row is).
/// Every column is less than the matrix's width.
#[derive(Debug, PartialEq)]
struct Groups<const G: usize> {
    offsets: Vec<usize>,
    columns: Vec<u32>,
    values: [Vec<f32>; G],
    rows: usize,
}

impl<const G: usize> Groups<G> {
    /// Rows `first..first + rows` of the row-major matrix `dense` with `cols` columns.
    fn of_rows(dense: &[f32], cols: usize, first: usize, rows: usize) -> Self {
        let part = &dense[first * cols..(first + rows) * cols];
        let zeros = vec![0.0f32; cols];
        // The last group is padded with rows of zeros.
        let group = |g: usize| -> [&[f32]; G] {
            std::array::from_fn(|r| {
                let i = g * G + r;
                part.get(i * cols..(i + 1) * cols).unwrap_or(&zeros)
            })
        };
        let count = rows.div_ceil(G);
        let mut offsets = Vec::with_capacity(count + 1);
        offsets.push(0);
        for g in 0..count {
            offsets.push(offsets[g] + count_union(group(g)));
        }
        let total = offsets[count];
        // Spare places: the listers write past what they keep.
        let mut columns = vec![0u32; total + LIST_SPARE];
        let mut values: [Vec<f32>; G] = std::array::from_fn(|_| vec![0.0f32; total + LIST_SPARE]);
        for g in 0..count {
            let at = offsets[g];
            let outputs = values.each_mut().map(|v| &mut v[at..]);
            let written = list_union(group(g), &mut columns[at..], outputs);
            debug_assert_eq!(written, offsets[g + 1] - at);
        }
        columns.truncate(total);
        values.iter_mut().for_each(|v| v.truncate(total));
        Groups {
            offsets,
            columns,
            values,
            rows,
        }
    }

    /// The entries of group `g`: their columns and each row's values.
    fn entries(&self, g: usize) -> (&[u32], [&[f32]; G]) {
        let range = self.offsets[g]..self.offsets[g + 1];
        let values = std::array::from_fn(|r| &self.values[r][range.clone()]);
        (&self.columns[range], values)
    }
}

/// The number of columns where any of `rows` (of equal lengths) is nonzero.
fn count_union<const G: usize>(rows: [&[f32]; G]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx512() {
        // SAFETY: the CPU has AVX-512F, checked just above.
        return unsafe { union_masks_avx512(rows, |_, mask| mask.count_ones() as usize) };
    }
    count_union_portable(rows)
}

fn count_union_portable<const G: usize>(rows: [&[f32]; G]) -> usize {
    (0..rows[0].len())
        .map(|j| rows.iter().any(|r| r[j] != 0.0) as usize)
        .sum()
}

/// Calls `each(j, x, mask)` for every sixteen columns `j..j + 16` of `rows`
/// (fewer at the end, read as zeros past it), with the rows' values `x` and
/// the mask of the columns where any row is nonzero, and sums what it returns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn union_masks_avx512<const G: usize>(
    rows: [&[f32]; G],
    mut each: impl FnMut((usize, &[std::arch::x86_64::__m512; G]), u16) -> usize,
) -> usize {
    use std::arch::x86_64::*;
    let cols = rows[0].len();
    assert!(rows.iter().all(|r| r.len() == cols));
    let mut sum = 0;
    for j in (0..cols).step_by(16) {
        let load_mask: __mmask16 = match cols - j {
            w if w >= 16 => 0xffff,
            w => (1u16 << w) - 1,
        };
        // SAFETY: the mask reads only columns below `cols`, inside each row.
        let x: [__m512; G] = std::array::from_fn(|r| unsafe {
            _mm512_maskz_loadu_ps(load_mask, rows[r].as_ptr().add(j))
        });
        let any = x
            .iter()
            .fold(0, |m, &v| m | _mm512_cmpneq_ps_mask(v, _mm512_setzero_ps()));
        sum += each((j, &x), any);
    }
    sum
}

/// Room the listers need past the last entry they keep: the portable one
/// writes one place ahead, the AVX-512 one whole sixteens.
const LIST_SPARE: usize = 16;

/// Writes the columns where any of `rows` is nonzero to the front of
/// `columns`, and each row's values there to `values`; returns how many.
/// Each output must have room for that many and [`LIST_SPARE`] more.
fn list_union<const G: usize>(
    rows: [&[f32]; G],
    columns: &mut [u32],
    values: [&mut [f32]; G],
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx512() {
        // SAFETY: the CPU has AVX-512F, checked just above.
        return unsafe { list_union_avx512(rows, columns, values) };
    }
    list_union_portable(rows, columns, values)
}

fn list_union_portable<const G: usize>(
    rows: [&[f32]; G],
    columns: &mut [u32],
    mut values: [&mut [f32]; G],
) -> usize {
    let mut next = 0;
    // Every column is written at the next free place and kept only when a
    // row is nonzero there: no branch to mispredict.
    for j in 0..rows.first().map_or(0, |r| r.len()) {
        let mut any = false;
        columns[next] = j as u32;
        for (v, row) in values.iter_mut().zip(&rows) {
            v[next] = row[j];
            any |= row[j] != 0.0;
        }
        next += any as usize;
    }
    next
}

/// [`list_union`] sixteen columns at a time, with AVX-512's compressing stores.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn list_union_avx512<const G: usize>(
    rows: [&[f32]; G],
    columns: &mut [u32],
    mut values: [&mut [f32]; G],
) -> usize {
    use std::arch::x86_64::*;
    let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let mut next = 0;
    union_masks_avx512(rows, |(j, x), any| {
        let kept = any.count_ones() as usize;
        let room = next + LIST_SPARE;
        assert!(room <= columns.len() && values.iter().all(|v| room <= v.len()));
        let index = _mm512_add_epi32(lanes, _mm512_set1_epi32(j as i32));
        // Compressed in a register, then stored whole: on Zen 4 a compressing
        // store to memory is microcoded, about a hundred cycles each, and the
        // five of every sixteen columns were an eighth of a table model's
        // training step. The lanes past `kept` are overwritten by the next
        // sixteen, or lie past the end.
        // SAFETY: the assertion above leaves room for sixteen values from `next` on.
        unsafe {
            let packed = _mm512_maskz_compress_epi32(any, index);
            _mm512_storeu_si512(columns.as_mut_ptr().add(next).cast(), packed);
            for (v, &xv) in values.iter_mut().zip(x) {
                let packed = _mm512_maskz_compress_ps(any, xv);
                _mm512_storeu_ps(v.as_mut_ptr().add(next), packed);
            }
        }
        next += kept;
        kept
    })
}

/// The number of values that are not zero (NaN counts as nonzero).
pub fn count_nonzero(values: &[f32]) -> usize {
    values
        .par_chunks(super::CHUNK)
        .map(super::simd::count_nonzero)
        .sum()
}

/// Whether a product of `a` (any shape) with a matrix of `n` columns, or of its
/// transpose, is better done by [`matmul_acc`] or [`matmul_transposed_acc`]
/// than densely: large enough, at least 64 columns wide, and at most
/// [`MAX_DENSITY`] nonzero.
pub fn is_sparse(a: &[f32], n: usize) -> bool {
    // Narrower products are cheap densely, and miss the register blocks here.
    n >= 64
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
    products(dst, a, cols, b, n, per_task);
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
    // The rows of the transpose are the columns of `a`: on images,
    // neighbouring pixels, which are often nonzero together, so that a group
    // of four has few more entries than one of them. Their nonzeros sit in
    // the middle rows: many small tasks let the threads share them out.
    let transposed = transpose(a, m, cols);
    let per_task = rows_per_sparse_task(cols, a.len() * n, 8);
    products(dst, &transposed, m, b, n, per_task);
}

/// `dst += a @ b` (`a` row-major, `cols` wide), in parallel tasks of
/// `per_task` output rows: [`GROUP`] rows at a time with AVX-512, one row at
/// a time elsewhere. With AVX2's eight-lane registers the groups of four
/// were slower than single rows (bench/NOTES.md, step 19): their block of 16
/// columns leaves too little work per entry to pay for the zeros they bring.
fn products(dst: &mut [f32], a: &[f32], cols: usize, b: &[f32], n: usize, per_task: usize) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx512() {
        return products_with::<GROUP>(dst, a, cols, b, n, per_task);
    }
    products_with::<1>(dst, a, cols, b, n, per_task)
}

fn products_with<const G: usize>(
    dst: &mut [f32],
    a: &[f32],
    cols: usize,
    b: &[f32],
    n: usize,
    per_task: usize,
) {
    dst.par_chunks_mut(per_task * n)
        .enumerate()
        .for_each(|(task, out)| {
            let groups = Groups::<G>::of_rows(a, cols, task * per_task, out.len() / n);
            rows_acc(out, &groups, b, n);
        });
}

/// The transpose (`cols x rows`, row-major) of the row-major `rows x cols`
/// matrix `a`, sixteen of its columns (one cache line of each row) per task.
fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; a.len()];
    t.par_chunks_mut(16 * rows)
        .enumerate()
        .for_each(|(task, out)| {
            let first = task * 16;
            let width = out.len() / rows;
            for (i, row) in a.chunks_exact(cols).enumerate() {
                for (r, &v) in row[first..first + width].iter().enumerate() {
                    out[r * rows + i] = v;
                }
            }
        });
    t
}

/// Output rows per parallel task, a multiple of [`GROUP`]: `tasks_per_thread`
/// tasks for each thread, or one task for a small product.
fn rows_per_sparse_task(rows: usize, dense_work: usize, tasks_per_thread: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let per_task = match dense_work >= 4 * MIN_WORK && threads > 1 {
        true => rows.div_ceil(tasks_per_thread * threads),
        false => rows,
    };
    per_task.next_multiple_of(GROUP).max(GROUP)
}

/// `out` (the task's rows of the product, `n` wide) `+= groups @ b`.
fn rows_acc<const G: usize>(out: &mut [f32], groups: &Groups<G>, b: &[f32], n: usize) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx512() {
        // SAFETY: the CPU has AVX-512F, AVX2 and FMA, checked just above.
        return unsafe { rows_acc_avx512(out, groups, b, n) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx2() {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { rows_acc_avx2(out, groups, b, n) };
    }
    rows_acc_with::<false, BLOCK, G>(out, groups, b, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn rows_acc_avx2<const G: usize>(out: &mut [f32], groups: &Groups<G>, b: &[f32], n: usize) {
    rows_acc_with::<true, BLOCK, G>(out, groups, b, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn rows_acc_avx512<const G: usize>(out: &mut [f32], groups: &Groups<G>, b: &[f32], n: usize) {
    rows_acc_with::<true, BLOCK, G>(out, groups, b, n)
}

/// The body of [`rows_acc`]: for each block of columns, every group, so
/// that the block's part of `b` stays in cache while the groups use it.
#[inline(always)]
fn rows_acc_with<const FMA: bool, const B: usize, const G: usize>(
    out: &mut [f32],
    groups: &Groups<G>,
    b: &[f32],
    n: usize,
) {
    assert_eq!(out.len(), groups.rows * n);
    let mut c0 = 0;
    while c0 < n {
        // Full blocks, then the widest of 32, 16 or 8 columns that fits.
        let width = match n - c0 {
            w if w >= B => B,
            w if w >= 32 => 32,
            w if w >= 16 => 16,
            w if w >= 8 => 8,
            w => w,
        };
        for (g, out) in out.chunks_mut(G * n).enumerate() {
            let entries = groups.entries(g);
            match width {
                w if w == B => add_block::<B, G, FMA>(out, entries, b, n, c0),
                32 => add_block::<32, G, FMA>(out, entries, b, n, c0),
                16 => add_block::<16, G, FMA>(out, entries, b, n, c0),
                8 => add_block::<8, G, FMA>(out, entries, b, n, c0),
                _ => add_narrow::<G, FMA>(out, entries, b, n, c0..n),
            }
        }
        c0 += width;
    }
}

/// `out[r, c0..c0 + W] += sum over the group's entries of values[r] *
/// b[column, c0..c0 + W]` for each row `r` of the group (`out` holds its
/// rows, `n` wide), with the sums in registers throughout.
#[inline(always)]
fn add_block<const W: usize, const G: usize, const FMA: bool>(
    out: &mut [f32],
    (cols, values): (&[u32], [&[f32]; G]),
    b: &[f32],
    n: usize,
    c0: usize,
) {
    let len = cols.len();
    assert!(values.iter().all(|v| v.len() == len) && c0 + W <= n);
    let mut acc = [[0.0f32; W]; G];
    for e in 0..len {
        #[cfg(target_arch = "x86_64")]
        if FMA && len > PREFETCH_AHEAD {
            let ahead = cols[(e + PREFETCH_AHEAD).min(len - 1)] as usize * n + c0;
            let line = b.as_ptr().wrapping_add(ahead);
            for l in (0..W).step_by(16) {
                // SAFETY: a prefetch only hints the cache; it reads nothing.
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                        line.wrapping_add(l).cast(),
                    )
                };
            }
        }
        let start = cols[e] as usize * n + c0;
        let row: &[f32; W] = b[start..start + W].try_into().unwrap();
        for (sums, v) in acc.iter_mut().zip(&values) {
            let v = v[e];
            for j in 0..W {
                sums[j] = madd::<FMA>(v, row[j], sums[j]);
            }
        }
    }
    for (o, sums) in out.chunks_exact_mut(n).zip(&acc) {
        for (o, s) in o[c0..c0 + W].iter_mut().zip(sums) {
            *o += s;
        }
    }
}

/// [`add_block`] for the last fewer than eight columns.
#[inline(always)]
fn add_narrow<const G: usize, const FMA: bool>(
    out: &mut [f32],
    (cols, values): (&[u32], [&[f32]; G]),
    b: &[f32],
    n: usize,
    span: std::ops::Range<usize>,
) {
    for (o, v) in out.chunks_exact_mut(n).zip(&values) {
        for (&k, &v) in cols.iter().zip(v.iter()) {
            let row = &b[k as usize * n..][span.clone()];
            for (o, &w) in o[span.clone()].iter_mut().zip(row) {
                *o = madd::<FMA>(v, w, *o);
            }
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
        // The dispatch picks one variant per CPU, with groups of four rows
        // (AVX-512) or single rows; each is checked here where the CPU can
        // run it, with both group sizes. 22 rows: five groups and a short one.
        let (m, k, n) = (22, 300, 400);
        let a = sparse_matrix(m, k, 0.2, 11);
        let b = sparse_matrix(k, n, 1.0, 12);
        let want = dense_product(&a, &b, m, k, n);
        fn check<const G: usize>(
            a: &[f32],
            b: &[f32],
            want: &[f32],
            (m, k, n): (usize, usize, usize),
        ) {
            let groups = Groups::<G>::of_rows(a, k, 0, m);
            let mut got = vec![0.0f32; m * n];
            rows_acc_with::<false, BLOCK, G>(&mut got, &groups, b, n);
            assert_close(&got, want, &format!("baseline, groups of {G}"));
            #[cfg(target_arch = "x86_64")]
            if crate::kernels::simd::avx2() {
                let mut got = vec![0.0f32; m * n];
                // SAFETY: the CPU has AVX2 and FMA, checked just above.
                unsafe { rows_acc_avx2(&mut got, &groups, b, n) };
                assert_close(&got, want, &format!("AVX2, groups of {G}"));
            }
            #[cfg(target_arch = "x86_64")]
            if crate::kernels::simd::avx512() {
                let mut got = vec![0.0f32; m * n];
                // SAFETY: the CPU has AVX-512F, AVX2 and FMA, checked just above.
                unsafe { rows_acc_avx512(&mut got, &groups, b, n) };
                assert_close(&got, want, &format!("AVX-512, groups of {G}"));
            }
        }
        check::<1>(&a, &b, &want, (m, k, n));
        check::<GROUP>(&a, &b, &want, (m, k, n));
    }

    /// The signature of [`list_union`] and its variants.
    type Lister = fn([&[f32]; GROUP], &mut [u32], [&mut [f32]; GROUP]) -> usize;

    #[test]
    fn every_instruction_set_lists_the_same_nonzeros() {
        // Widths with and without a partial last sixteen, NaN and -0.0 among the values.
        for (cols, density) in [(784, 0.2), (37, 0.5), (16, 0.9), (5, 0.3), (0, 0.5)] {
            let mut a = sparse_matrix(GROUP, cols, density, cols as u64);
            if cols > 3 {
                (a[1], a[2]) = (f32::NAN, -0.0);
            }
            let rows: [&[f32]; GROUP] = std::array::from_fn(|r| &a[r * cols..(r + 1) * cols]);
            let listed = |list: Lister| {
                let room = cols + LIST_SPARE;
                let (mut c, mut v) = (vec![0u32; room], vec![vec![0.0f32; room]; GROUP]);
                let [v0, v1, v2, v3] = &mut v[..] else {
                    unreachable!()
                };
                let len = list(rows, &mut c, [v0, v1, v2, v3]);
                c.truncate(len);
                v.iter_mut().for_each(|v| v.truncate(len));
                (
                    c,
                    v.iter()
                        .map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
                        .collect::<Vec<_>>(),
                )
            };
            let portable = listed(list_union_portable::<GROUP>);
            let want: Vec<u32> = (0..cols as u32)
                .filter(|&j| rows.iter().any(|r| r[j as usize] != 0.0))
                .collect();
            assert_eq!(portable.0, want, "{cols} columns");
            assert_eq!(count_union_portable(rows), want.len());
            let own: usize = rows[0].iter().filter(|&&v| v != 0.0).count();
            assert_eq!(count_union_portable([rows[0]]), own);
            assert_eq!(count_union(rows), want.len());
            #[cfg(target_arch = "x86_64")]
            if crate::kernels::simd::avx512() {
                // SAFETY: the CPU has AVX-512F, checked just above.
                assert_eq!(
                    listed(|r, c, v| unsafe { list_union_avx512(r, c, v) }),
                    portable
                );
            }
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
        // Rows [0 2 0], [-1 0 0], [3 0 0] and, in a second group, [0 0 5].
        let a = [
            0.0, 2.0, 0.0, -1.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0,
        ];
        let groups = Groups::<GROUP>::of_rows(&a, 3, 0, 5);
        assert_eq!((groups.offsets.clone(), groups.rows), (vec![0, 2, 3], 5));
        assert_eq!(groups.columns, [0, 1, 2]);
        assert_eq!(groups.values[0], [0.0, 2.0, 5.0]);
        assert_eq!(groups.values[1], [-1.0, 0.0, 0.0]);
        assert_eq!(groups.values[2], [3.0, 0.0, 0.0]);
        assert_eq!(groups.values[3], [0.0, 0.0, 0.0]);
        // The last row alone: one group padded with zero rows.
        let last = Groups::<GROUP>::of_rows(&a, 3, 4, 1);
        // One row at a time, the same matrix is its compressed sparse rows.
        let single = Groups::<1>::of_rows(&a, 3, 0, 5);
        assert_eq!(single.offsets, [0, 1, 2, 3, 3, 4]);
        assert_eq!(single.columns, [1, 0, 0, 2]);
        assert_eq!(single.values[0], [2.0, -1.0, 3.0, 5.0]);
        assert_eq!((last.offsets, last.columns), (vec![0, 1], vec![2]));
        assert_eq!(last.values[0], [5.0]);
        assert_eq!(
            super::transpose(&a, 5, 3),
            [
                0.0, -1.0, 3.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0
            ]
        );
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
    fn nonzeros_are_counted_exactly() {
        // Lengths around the 16 lanes and the parallel chunks; NaN counts,
        // -0.0 does not.
        for len in [0, 1, 15, 16, 17, 1000, (1 << 15) + 3, 100_000] {
            let mut a = sparse_matrix(1, len, 0.3, len as u64);
            if len > 2 {
                (a[0], a[len - 1]) = (f32::NAN, -0.0);
            }
            let want = a.iter().filter(|&&v| v != 0.0).count();
            assert_eq!(count_nonzero(&a), want, "{len} values");
        }
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
