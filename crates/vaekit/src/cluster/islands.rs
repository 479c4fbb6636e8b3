//! Clusters of a 2-D map whatever their shape and size: the islands of a
//! t-SNE map.
//!
//! k-means alone cuts a map into pieces of about equal spread, so on a t-SNE
//! map, where each class is one island but the islands differ in size and
//! shape, it splits a large island in two and joins two small ones (on the
//! map of a MNIST VAE's codes the 1s went into two clusters, one of them
//! shared with the 6s). Here k-means first cuts the map into many more pieces
//! than clusters, and the pieces are then merged along the map's
//! nearest-neighbour links: the two groups with the most links between them,
//! relative to the smaller group's size, are joined first, until `k` groups
//! are left. Pieces of one island share many links; pieces of two islands,
//! separated by empty space, share few or none.
//!
//! Written here: it is this crate's k-means plus a merge over a few dozen
//! pieces. The neighbour search is a uniform grid, which suits 2-D maps; a
//! k-d tree crate such as `kiddo` would be a dependency for what the grid
//! does in a few dozen lines.

use crate::cluster::kmeans::{KMeansConfig, check_points, kmeans, squared_distance};
use crate::error::Result;

/// Nearest neighbours of each point that link its piece to theirs.
pub const LINK_NEIGHBOURS: usize = 10;
/// Pieces k-means cuts the map into, per cluster asked for.
pub const PIECES_PER_CLUSTER: usize = 5;

/// The cluster of each of the `n = points.len() / 2` rows of the row-major
/// 2-D `points`, in `config.k` clusters (`config` also sets the restarts and
/// seed of the k-means that cuts the pieces).
///
/// Errors as [`kmeans`] does: fewer points than clusters, `k` of 0, values
/// that are not finite.
pub fn islands(points: &[f32], config: &KMeansConfig) -> Result<Vec<u32>> {
    let n = points.len() / 2;
    let k = config.k;
    let pieces = (k * PIECES_PER_CLUSTER).min(n);
    if pieces <= k || n <= LINK_NEIGHBOURS {
        return Ok(kmeans(points, 2, config)?.assignments);
    }
    let cut = kmeans(
        points,
        2,
        &KMeansConfig {
            k: pieces,
            ..*config
        },
    )?;
    let piece = &cut.assignments;
    // links[a * pieces + b]: neighbour links between pieces a and b.
    let mut links = vec![0.0f64; pieces * pieces];
    for (i, neighbours) in nearest_neighbours(points, LINK_NEIGHBOURS)?
        .iter()
        .enumerate()
    {
        for &j in neighbours {
            let (a, b) = (piece[i] as usize, piece[j] as usize);
            if a != b {
                links[a * pieces + b] += 1.0;
                links[b * pieces + a] += 1.0;
            }
        }
    }
    let mut size = vec![0.0f64; pieces];
    for &p in piece {
        size[p as usize] += 1.0;
    }
    let group = merge_pieces(&mut links, &mut size, &cut.centroids, pieces, k);
    Ok(piece.iter().map(|&p| group[p as usize]).collect())
}

/// Merges `pieces` groups down to `k` (see the module docs); `links` and
/// `size` are updated in place as groups absorb others. Groups with no link
/// to any other are joined to the nearest by centroid once no linked pair is
/// left. Returns the final cluster (0..k) of every piece.
fn merge_pieces(
    links: &mut [f64],
    size: &mut [f64],
    centroids: &[f64],
    pieces: usize,
    k: usize,
) -> Vec<u32> {
    let mut owner: Vec<usize> = (0..pieces).collect();
    let mut alive: Vec<usize> = (0..pieces).collect();
    // Size-weighted centroid sums of each group, for the fallback.
    let mut sums: Vec<[f64; 2]> = (0..pieces)
        .map(|p| [centroids[2 * p] * size[p], centroids[2 * p + 1] * size[p]])
        .collect();
    while alive.len() > k {
        let mut best: Option<(f64, usize, usize)> = None;
        for (x, &a) in alive.iter().enumerate() {
            for &b in &alive[x + 1..] {
                let l = links[a * pieces + b];
                let score = match l > 0.0 {
                    true => l / size[a].min(size[b]),
                    // Unlinked pairs rank below every linked one, nearest first.
                    false => {
                        let (ca, cb) = (centre(&sums[a], size[a]), centre(&sums[b], size[b]));
                        -1.0 - squared_distance(&ca, &cb)
                    }
                };
                if best.is_none_or(|(s, _, _)| score > s) {
                    best = Some((score, a, b));
                }
            }
        }
        let Some((_, a, b)) = best else { break };
        for c in 0..pieces {
            links[a * pieces + c] += links[b * pieces + c];
            links[c * pieces + a] += links[c * pieces + b];
        }
        links[a * pieces + a] = 0.0;
        size[a] += size[b];
        sums[a] = [sums[a][0] + sums[b][0], sums[a][1] + sums[b][1]];
        for o in owner.iter_mut().filter(|o| **o == b) {
            *o = a;
        }
        alive.retain(|&g| g != b);
    }
    owner
        .iter()
        .map(|o| alive.iter().position(|g| g == o).unwrap_or(0) as u32)
        .collect()
}

fn centre(sum: &[f64; 2], size: f64) -> [f64; 2] {
    [sum[0] / size.max(1.0), sum[1] / size.max(1.0)]
}

/// The `count` nearest other points of every row of the 2-D `points`, found
/// through a uniform grid of about four points per cell.
pub fn nearest_neighbours(points: &[f32], count: usize) -> Result<Vec<Vec<usize>>> {
    let n = check_points(points, 2)?;
    let xy = |i: usize| (f64::from(points[2 * i]), f64::from(points[2 * i + 1]));
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for i in 0..n {
        let (x, y) = xy(i);
        lo = [lo[0].min(x), lo[1].min(y)];
        hi = [hi[0].max(x), hi[1].max(y)];
    }
    let side = ((n as f64 / 4.0).sqrt().ceil() as usize).max(1);
    let cell_w = [
        ((hi[0] - lo[0]) / side as f64).max(1e-12),
        ((hi[1] - lo[1]) / side as f64).max(1e-12),
    ];
    // The (column, row) of every point's cell.
    let cells: Vec<(usize, usize)> = (0..n)
        .map(|i| {
            let (x, y) = xy(i);
            let cx = (((x - lo[0]) / cell_w[0]) as usize).min(side - 1);
            let cy = (((y - lo[1]) / cell_w[1]) as usize).min(side - 1);
            (cx, cy)
        })
        .collect();
    // Points sorted by cell: cell c holds order[start[c]..start[c + 1]].
    let mut start = vec![0usize; side * side + 1];
    for &(cx, cy) in &cells {
        start[cy * side + cx + 1] += 1;
    }
    for c in 0..side * side {
        start[c + 1] += start[c];
    }
    let mut fill = start.clone();
    let mut order = vec![0usize; n];
    for (i, &(cx, cy)) in cells.iter().enumerate() {
        order[fill[cy * side + cx]] = i;
        fill[cy * side + cx] += 1;
    }
    let reach = cell_w[0].min(cell_w[1]);
    let mut out = Vec::with_capacity(n);
    let mut found: Vec<(f64, usize)> = Vec::new();
    for (i, &(cx, cy)) in cells.iter().enumerate() {
        let (x, y) = xy(i);
        found.clear();
        for ring in 0..=side {
            let (x0, x1) = (cx.saturating_sub(ring), (cx + ring).min(side - 1));
            let (y0, y1) = (cy.saturating_sub(ring), (cy + ring).min(side - 1));
            for gy in y0..=y1 {
                for gx in x0..=x1 {
                    // Only the cells on this ring's border are new.
                    if gx.abs_diff(cx).max(gy.abs_diff(cy)) != ring {
                        continue;
                    }
                    let c = gy * side + gx;
                    for &j in &order[start[c]..start[c + 1]] {
                        if j != i {
                            let (u, v) = xy(j);
                            found.push(((u - x).powi(2) + (v - y).powi(2), j));
                        }
                    }
                }
            }
            // Every point beyond this ring is at least ring * reach away.
            if found.len() >= count {
                found.sort_by(|a, b| a.0.total_cmp(&b.0));
                found.truncate(count);
                if found[count - 1].0.sqrt() <= ring as f64 * reach {
                    break;
                }
            }
        }
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.push(found.iter().take(count).map(|&(_, j)| j).collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::agreement;

    /// Two interleaved half-moons (each curving round the other's tip), with
    /// `per` points each along the arcs.
    fn moons(per: usize) -> (Vec<f32>, Vec<u32>) {
        let mut points = Vec::new();
        let mut labels = Vec::new();
        for i in 0..per {
            let t = std::f32::consts::PI * i as f32 / (per - 1) as f32;
            points.extend([t.cos(), t.sin()]);
            labels.push(0);
            points.extend([1.0 - t.cos(), 0.5 - t.sin()]);
            labels.push(1);
        }
        (points, labels)
    }

    #[test]
    fn interleaved_moons_that_kmeans_cuts_wrongly_are_found_whole() {
        let (points, labels) = moons(300);
        let config = KMeansConfig::new(2);
        let plain = kmeans(&points, 2, &config).unwrap().assignments;
        let plain_accuracy = agreement(&labels, &plain).unwrap().accuracy;
        assert!(plain_accuracy < 0.9, "k-means alone: {plain_accuracy}");
        let found = islands(&points, &config).unwrap();
        assert_eq!(agreement(&labels, &found).unwrap().accuracy, 1.0);
    }

    #[test]
    fn separate_islands_of_unequal_size_are_not_split() {
        // A large spread-out blob beside two small tight ones: k-means with
        // k = 3 cuts the large one and joins the small ones; the islands are
        // found as they are.
        let (big, _) = crate::cluster::kmeans::tests::blobs(&[[0.0, 0.0]], 2000, 2.0);
        let (small, _) =
            crate::cluster::kmeans::tests::blobs(&[[14.0, 0.0], [14.0, 4.0]], 100, 0.3);
        let points: Vec<f32> = big.iter().chain(&small).copied().collect();
        let labels: Vec<u32> = (0..2200)
            .map(|i| (i >= 2000) as u32 + (i >= 2100) as u32)
            .collect();
        let config = KMeansConfig::new(3);
        let plain = kmeans(&points, 2, &config).unwrap().assignments;
        let plain_accuracy = agreement(&labels, &plain).unwrap().accuracy;
        assert!(plain_accuracy < 0.95, "k-means alone: {plain_accuracy}");
        let found = islands(&points, &config).unwrap();
        assert_eq!(agreement(&labels, &found).unwrap().accuracy, 1.0);
    }

    #[test]
    fn grid_neighbours_match_a_brute_force_search() {
        let (points, _) = crate::cluster::kmeans::tests::blobs(&[[0.0, 0.0], [5.0, 1.0]], 150, 1.0);
        let n = points.len() / 2;
        let found = nearest_neighbours(&points, 7).unwrap();
        for i in 0..n {
            let mut all: Vec<(f32, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let (dx, dy) = (
                        points[2 * j] - points[2 * i],
                        points[2 * j + 1] - points[2 * i + 1],
                    );
                    (dx * dx + dy * dy, j)
                })
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            let expected: Vec<usize> = all[..7].iter().map(|&(_, j)| j).collect();
            assert_eq!(found[i], expected, "point {i}");
        }
        let bad = [0.0, f32::NAN, 1.0, 1.0];
        assert!(nearest_neighbours(&bad, 1).is_err());
        assert!(nearest_neighbours(&[0.0, 1.0, 2.0], 1).is_err());
    }
}
