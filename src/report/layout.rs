//! Where the HTML report draws the conflict graph's nodes, so that no two labels collide.
//!
//! A force-directed layout (Fruchterman–Reingold: every pair of nodes repels, every edge
//! pulls its ends together) from a grid in the given order, run for a fixed number of
//! steps with a fixed cooling, so it is deterministic and needs nothing installed; its
//! positions are then snapped to a grid whose cells are as wide as the widest label: nodes
//! that meet stay near each other, and each label has a cell of its own, so no label can
//! overlap another whatever the text. Widths are estimated generously from the characters
//! (the page's font is the reader's own).

/// The font size of labels, in pixels.
pub const FONT: f64 = 11.0;

/// The most characters of a label drawn (the full name is in the node's tooltip).
pub const LABEL_CHARS: usize = 28;

/// The estimated width of `text` in pixels at [`FONT`], on the generous side: wide letters,
/// capitals and characters outside ASCII (CJK ones are a full em) count more.
pub fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| match c {
            'm' | 'w' | 'M' | 'W' | '@' | '%' => 0.95,
            'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 0.35,
            c if c.is_ascii_uppercase() => 0.78,
            c if c.is_ascii() => 0.62,
            _ => 1.05,
        })
        .sum::<f64>()
        * FONT
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text.chars().count() > max => format!("{}…", &text[..at]),
        _ => text.to_string(),
    }
}

/// `text` cut (with an ellipsis) to fit within `px` pixels at [`FONT`], by [`text_width`].
pub fn fit(text: &str, px: f64) -> String {
    if text_width(text) <= px {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if text_width(&out) + text_width("…") > px {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

/// Where the graph's nodes go.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Per node, its centre.
    pub nodes: Vec<(f64, f64)>,
    /// The drawing's width.
    pub width: f64,
    /// Its height.
    pub height: f64,
}

/// The radius of a node.
pub const RADIUS: f64 = 7.0;
/// The gap between a node and its label.
const GAP: f64 = 5.0;
/// The height of a row of the grid.
const ROW: f64 = 46.0;
/// The margin around the drawing.
const MARGIN: f64 = 16.0;
/// The widest drawing, in pixels.
const MAX_WIDTH: f64 = 1040.0;

/// Lays out `labels.len()` nodes joined by `edges` (pairs of node indexes, each with a
/// weight, such as the conflicts between them): each label is drawn at `FONT` to the right
/// of its node, starting `RADIUS + GAP` from its centre.
pub fn layout(labels: &[String], edges: &[(usize, usize, f64)]) -> Layout {
    let n = labels.len();
    if n == 0 {
        return Layout {
            nodes: Vec::new(),
            width: 2.0 * MARGIN,
            height: 2.0 * MARGIN,
        };
    }
    let widest = labels.iter().map(|l| text_width(l)).fold(0.0, f64::max);
    let cell = (2.0 * RADIUS + GAP + widest + 18.0).max(60.0);
    let columns = (((MAX_WIDTH - 2.0 * MARGIN) / cell).floor() as usize).clamp(1, n);
    // Not wider than needed for a roughly square drawing.
    let columns = columns
        .min(((n as f64).sqrt() * 1.6).ceil() as usize)
        .max(1);
    let rows = n.div_ceil(columns);

    let positions = forces(n, edges, columns);
    // Snap: rows by height, then each row by x.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        positions[a]
            .1
            .total_cmp(&positions[b].1)
            .then(positions[a].0.total_cmp(&positions[b].0))
            .then(a.cmp(&b))
    });
    let mut nodes = vec![(0.0, 0.0); n];
    for (r, row) in order.chunks(columns).enumerate() {
        let mut row = row.to_vec();
        row.sort_by(|&a, &b| positions[a].0.total_cmp(&positions[b].0).then(a.cmp(&b)));
        // A short last row is centred.
        let offset = (columns - row.len()) as f64 * cell / 2.0;
        for (c, &i) in row.iter().enumerate() {
            // Alternate nodes sit a little higher and lower, so that an edge along a row
            // does not run through the nodes between its ends.
            let zig = if c % 2 == 0 { -6.0 } else { 6.0 };
            nodes[i] = (
                MARGIN + RADIUS + offset + cell * c as f64,
                MARGIN + 12.0 + ROW * r as f64 + zig,
            );
        }
    }
    Layout {
        nodes,
        width: 2.0 * MARGIN + cell * columns as f64,
        height: 2.0 * MARGIN + 24.0 + ROW * (rows.max(1) - 1) as f64,
    }
}

/// Fruchterman–Reingold from a grid of `columns` in the given order: a fixed number of
/// steps and a linear cooling, with no randomness.
fn forces(n: usize, edges: &[(usize, usize, f64)], columns: usize) -> Vec<(f64, f64)> {
    const STEPS: usize = 300;
    let mut p: Vec<(f64, f64)> = (0..n)
        .map(|i| ((i % columns) as f64, (i / columns) as f64))
        .collect();
    let k = 1.0f64;
    let start = (columns as f64 / 4.0).max(0.5);
    let max_weight = edges.iter().map(|e| e.2).fold(1.0, f64::max);
    for step in 0..STEPS {
        let temperature = start * (1.0 - step as f64 / STEPS as f64);
        let mut d = vec![(0.0f64, 0.0f64); n];
        for i in 0..n {
            for j in (i + 1)..n {
                let (mut dx, mut dy) = (p[i].0 - p[j].0, p[i].1 - p[j].1);
                let mut dist2 = dx * dx + dy * dy;
                if dist2 < 1e-9 {
                    // Coincident nodes part along a direction set by their indexes.
                    dx = 0.01 * (1.0 + (i % 3) as f64);
                    dy = 0.01 * (1.0 + (j % 5) as f64);
                    dist2 = dx * dx + dy * dy;
                }
                let f = k * k / dist2;
                d[i].0 += dx * f;
                d[i].1 += dy * f;
                d[j].0 -= dx * f;
                d[j].1 -= dy * f;
            }
        }
        for &(a, b, w) in edges {
            if a >= n || b >= n || a == b {
                continue;
            }
            let (dx, dy) = (p[a].0 - p[b].0, p[a].1 - p[b].1);
            let dist = (dx * dx + dy * dy).sqrt();
            let pull = dist / k * (0.5 + 0.5 * (w / max_weight).clamp(0.0, 1.0));
            d[a].0 -= dx * pull;
            d[a].1 -= dy * pull;
            d[b].0 += dx * pull;
            d[b].1 += dy * pull;
        }
        for i in 0..n {
            let len = (d[i].0 * d[i].0 + d[i].1 * d[i].1).sqrt();
            if len > 0.0 && len.is_finite() {
                let step = len.min(temperature);
                p[i].0 += d[i].0 / len * step;
                p[i].1 += d[i].1 / len * step;
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The box of node `i`'s label as the page draws it.
    fn label_box(l: &Layout, labels: &[String], i: usize) -> (f64, f64, f64, f64) {
        let (x, y) = l.nodes[i];
        let x0 = x + RADIUS + GAP;
        (x0, y - FONT, x0 + text_width(&labels[i]), y + 4.0)
    }

    fn overlap(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
        a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
    }

    fn names(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                format!(
                    "{}_{}",
                    [
                        "care",
                        "fairness_and_reciprocity",
                        "loyalty",
                        "WWWWWWWWWWWWWWWWWWWWWWWWWWW"
                    ][i % 4],
                    i
                )
            })
            .map(|s| shorten(&s, LABEL_CHARS))
            .collect()
    }

    #[test]
    fn no_two_labels_overlap_and_all_fit() {
        for n in [1, 2, 7, 40] {
            let labels = names(n);
            let edges: Vec<(usize, usize, f64)> = (0..n)
                .flat_map(|i| [(i, (i * 7 + 3) % n, 1.0 + i as f64)])
                .collect();
            let l = layout(&labels, &edges);
            for i in 0..n {
                let a = label_box(&l, &labels, i);
                assert!(
                    a.0 >= 0.0 && a.1 >= 0.0 && a.2 <= l.width && a.3 <= l.height,
                    "{n}: {i} outside"
                );
                for j in (i + 1)..n {
                    assert!(
                        !overlap(a, label_box(&l, &labels, j)),
                        "{n}: {} and {}",
                        labels[i],
                        labels[j]
                    );
                }
            }
        }
    }

    #[test]
    fn the_same_graph_gives_the_same_layout_and_neighbours_stay_close() {
        let labels = names(12);
        let edges = vec![(0, 11, 5.0), (11, 5, 3.0), (1, 2, 1.0)];
        let a = layout(&labels, &edges);
        assert_eq!(a, layout(&labels, &edges));
        let dist = |i: usize, j: usize| {
            let (p, q) = (a.nodes[i], a.nodes[j]);
            ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt()
        };
        let mean: f64 = (0..12)
            .flat_map(|i| (0..12).map(move |j| (i, j)))
            .filter(|(i, j)| i != j)
            .map(|(i, j)| dist(i, j))
            .sum::<f64>()
            / 132.0;
        assert!(dist(0, 11) < mean, "{} >= {mean}", dist(0, 11));
    }

    #[test]
    fn long_labels_are_fitted() {
        assert_eq!(fit("short", 100.0), "short");
        let long = "a".repeat(100);
        let fitted = fit(&long, 100.0);
        assert!(
            fitted.ends_with('…') && text_width(&fitted) <= 100.0,
            "{fitted}"
        );
    }

    #[test]
    fn long_labels_are_shortened() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abcd", 4), "abcd");
        assert_eq!(shorten("äöüßx", 3), "äö…");
    }
}
