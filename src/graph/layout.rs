//! Positions for drawing a small graph (a cluster in `report.html`): deterministic, no
//! randomness, so the same run draws the same picture.
//!
//! It lives with the other graph algorithms rather than in the report so the report only
//! renders; `O(iterations · (n² + e))` is fine for the few hundred nodes a cluster shows.

/// Positions in the unit square for `n` nodes joined by `edges` (index pairs, weights).
/// Nodes without edges go in rows along the bottom; the others are laid out above them by
/// [`spring_layout`]. No randomness; a fixed order of updates.
pub fn force_layout(n: usize, edges: &[(usize, usize, f64)]) -> Vec<(f64, f64)> {
    let mut linked = vec![false; n];
    for &(a, b, _) in edges {
        linked[a] = true;
        linked[b] = true;
    }
    let core: Vec<usize> = (0..n).filter(|&i| linked[i]).collect();
    let lone: Vec<usize> = (0..n).filter(|&i| !linked[i]).collect();
    let mut at = vec![usize::MAX; n];
    core.iter().enumerate().for_each(|(j, &i)| at[i] = j);
    let springs: Vec<(usize, usize, f64)> = edges.iter().map(|&(a, b, w)| (at[a], at[b], w)).collect();
    let p = spring_layout(core.len(), &springs);
    const PER_ROW: usize = 30;
    let rows = lone.len().div_ceil(PER_ROW);
    let (strip, top) = match (core.is_empty(), rows) {
        (_, 0) => (0.0, 0.0),
        (true, _) => (1.0, 0.0),
        (false, r) => ((0.05 * r as f64).min(0.3), 1.0 - (0.05 * r as f64).min(0.3)),
    };
    let mut out = vec![(0.5, 0.5); n];
    for (j, &i) in core.iter().enumerate() {
        out[i] = (p[j].0, p[j].1 * (1.0 - strip - if rows > 0 { 0.04 } else { 0.0 }));
    }
    for (j, &i) in lone.iter().enumerate() {
        let (r, c) = (j / PER_ROW, j % PER_ROW);
        let in_row = PER_ROW.min(lone.len() - r * PER_ROW);
        let x = (c as f64 + 0.5) / in_row as f64;
        let y = if rows == 1 { top + strip / 2.0 } else { top + strip * r as f64 / (rows - 1) as f64 };
        out[i] = (x, y.min(1.0));
    }
    out
}

/// Fruchterman–Reingold from a golden-angle spiral (node 0 in the centre), with a weak pull
/// to the centre so separate pieces stay in view, stretched to fill the unit square.
/// `O(iterations · (n² + e))`.
pub fn spring_layout(n: usize, edges: &[(usize, usize, f64)]) -> Vec<(f64, f64)> {
    if n == 0 {
        return Vec::new();
    }
    if n == 1 {
        return vec![(0.5, 0.5)];
    }
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    let mut p: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let r = 0.45 * ((i as f64 + 0.5) / n as f64).sqrt();
            let a = i as f64 * golden;
            (r * a.cos(), r * a.sin())
        })
        .collect();
    let k = 1.0 / (n as f64).sqrt();
    let iterations = if n <= 60 { 300 } else { 200 };
    let mut disp = vec![(0.0f64, 0.0f64); n];
    for it in 0..iterations {
        disp.iter_mut().for_each(|d| *d = (0.0, 0.0));
        for i in 0..n {
            for j in (i + 1)..n {
                let (dx, dy) = (p[i].0 - p[j].0, p[i].1 - p[j].1);
                let d2 = (dx * dx + dy * dy).max(1e-6);
                let f = k * k / d2;
                disp[i].0 += dx * f;
                disp[i].1 += dy * f;
                disp[j].0 -= dx * f;
                disp[j].1 -= dy * f;
            }
        }
        for &(a, b, w) in edges {
            let (dx, dy) = (p[a].0 - p[b].0, p[a].1 - p[b].1);
            let d = (dx * dx + dy * dy).sqrt().max(1e-3);
            let f = d * w / k;
            disp[a].0 -= dx * f;
            disp[a].1 -= dy * f;
            disp[b].0 += dx * f;
            disp[b].1 += dy * f;
        }
        let temp = 0.08 * (1.0 - it as f64 / iterations as f64) + 0.002;
        for i in 0..n {
            let (gx, gy) = (disp[i].0 - p[i].0 * 0.3, disp[i].1 - p[i].1 * 0.3);
            let len = (gx * gx + gy * gy).sqrt();
            if len > 0.0 {
                let step = len.min(temp) / len;
                p[i].0 += gx * step;
                p[i].1 += gy * step;
            }
        }
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in &p {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let (sx, sy) = ((x1 - x0).max(1e-9), (y1 - y0).max(1e-9));
    p.iter().map(|&(x, y)| ((x - x0) / sx, (y - y0) / sy)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_stays_in_the_unit_square_and_separates_nodes() {
        let n = 150;
        let edges: Vec<(usize, usize, f64)> = (1..n).map(|i| (i % 7, i, 1.0)).collect();
        let p = force_layout(n, &edges);
        assert_eq!(p, force_layout(n, &edges));
        assert!(p.iter().all(|&(x, y)| (0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y)));
        let mut close = 0;
        for i in 0..n {
            for j in (i + 1)..n {
                if (p[i].0 - p[j].0).hypot(p[i].1 - p[j].1) < 0.005 {
                    close += 1;
                }
            }
        }
        assert!(close < n / 20, "{close} pairs of nodes on top of each other");
        // Hubs sit nearer the middle than the average leaf.
        let dist = |i: usize| (p[i].0 - 0.5).hypot(p[i].1 - 0.5);
        let leaves = (7..n).map(dist).sum::<f64>() / (n - 7) as f64;
        assert!((0..7).map(dist).sum::<f64>() / 7.0 < leaves);
        assert_eq!(force_layout(1, &[]), vec![(0.5, 0.5)]);
        // Unconnected nodes in a row along the bottom, below the rest.
        let q = force_layout(4, &[(0, 1, 1.0)]);
        assert!(q[2].1 > q[0].1.max(q[1].1) && q[2].1 == q[3].1, "{q:?}");
    }
}
