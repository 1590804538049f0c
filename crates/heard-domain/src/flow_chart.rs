//! The journey pages' charts, server-rendered SVG in the style of `chart.rs` (presentation attributes only, no
//! `style`, `role="img"` with `<title>` and `<desc>` named by `aria-labelledby`, USWDS colours that meet WCAG AA):
//! a stage funnel and a Sankey diagram of flows between activities by position. Each is a picture of a table the
//! page prints beside it; every mark also carries its figure in a `<title>` tooltip.

use std::fmt::Write;

use crate::chart::{chart_id, escape, num};

const WIDTH: f64 = 720.0;
/// USWDS blue-60v: 7.1:1 against white.
const BAR: &str = "#005ea2";
/// USWDS blue-10v: the flows' bands, drawn under the nodes; each band's figure is in its tooltip and the table.
const BAND: &str = "#a8d2f5";
/// USWDS gray-50, 4.8:1 against white: what was lost.
const LOST: &str = "#71767a";
const TEXT: &str = "#1b1b1b";
const GRID: &str = "#dfe1e2";
const FONT: &str = "Source Sans Pro, Helvetica, Arial, sans-serif";

/// One stage of a funnel chart.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelBar {
    /// The stage's name.
    pub name: String,
    /// Cases that reached it.
    pub cases: u64,
    /// Cases that reached the stage before but not this one.
    pub dropped: u64,
}

fn open(s: &mut String, id: &str, height: f64, title: &str, desc: &str) {
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{FONT}" font-size="12" fill="{TEXT}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(desc),
    );
}

fn empty(s: &mut String, height: f64) {
    let _ = write!(
        s,
        r#"<rect x="0.5" y="0.5" width="{}" height="{}" fill="white" stroke="{GRID}"/><text x="{}" y="{}" text-anchor="middle" font-size="16">No journeys in this period</text></svg>"#,
        WIDTH - 1.0,
        height - 1.0,
        WIDTH / 2.0,
        height / 2.0,
    );
}

/// Shortens a label to `max` characters with an ellipsis (the full text is in the mark's tooltip and the table).
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A funnel: one horizontal bar per stage, its length the cases that reached it (scaled to the first stage, or
/// the largest), with the count and the share of the first stage written beside it, and the cases lost since the
/// stage before drawn as a grey extension. `title` and `desc` are escaped here.
pub fn funnel_svg(stages: &[FunnelBar], title: &str, desc: &str) -> String {
    const ROW: f64 = 34.0;
    const LABEL_W: f64 = 170.0;
    const TOP: f64 = 12.0;
    let height = TOP * 2.0 + ROW * stages.len().max(1) as f64;
    let id = chart_id(&[], title, &format!("{desc}{}", stages.len()));
    let mut s = String::with_capacity(1024 + stages.len() * 400);
    open(&mut s, &id, height, title, desc);
    let max = stages.iter().map(|x| x.cases).max().unwrap_or(0);
    if max == 0 {
        empty(&mut s, height);
        return s;
    }
    let first = stages.first().map(|x| x.cases).unwrap_or(0).max(1);
    let room = WIDTH - LABEL_W - 190.0;
    let w = |n: u64| (n as f64 / max as f64) * room;
    for (i, st) in stages.iter().enumerate() {
        let y = TOP + i as f64 * ROW;
        let share = st.cases as f64 / first as f64 * 100.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{LABEL_W}" y="{}" width="{}" height="{}" fill="{BAR}"><title>{}: {} reached ({:.0}% of the first stage)</title></rect>"#,
            LABEL_W - 8.0,
            num(y + ROW / 2.0 + 4.0),
            escape(&short(&st.name, 26)),
            num(y + 4.0),
            num(w(st.cases).max(if st.cases > 0 { 1.0 } else { 0.0 })),
            num(ROW - 8.0),
            escape(&st.name),
            st.cases,
            share,
        );
        if st.dropped > 0 {
            let _ = write!(
                s,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{LOST}"><title>{}: {} left before reaching it</title></rect>"#,
                num(LABEL_W + w(st.cases)),
                num(y + 4.0),
                num(w(st.dropped).max(1.0)),
                num(ROW - 8.0),
                escape(&st.name),
                st.dropped,
            );
        }
        let after = LABEL_W + w(st.cases + st.dropped) + 6.0;
        let words = if st.dropped > 0 {
            format!("{} ({share:.0}%), {} left", st.cases, st.dropped)
        } else {
            format!("{} ({share:.0}%)", st.cases)
        };
        let _ = write!(
            s,
            r#"<text x="{}" y="{}">{}</text>"#,
            num(after),
            num(y + ROW / 2.0 + 4.0),
            escape(&words),
        );
    }
    s.push_str("</svg>");
    s
}

/// A node of a Sankey diagram: a label in a column.
#[derive(Debug, Clone, PartialEq)]
pub struct SankeyNode {
    /// The column, from 0 at the left.
    pub column: usize,
    pub label: String,
    pub value: u64,
}

/// A link of a Sankey diagram between nodes (indices into the node list) of adjacent columns.
#[derive(Debug, Clone, PartialEq)]
pub struct SankeyLink {
    pub from: usize,
    pub to: usize,
    pub value: u64,
}

/// A Sankey diagram: columns of nodes whose heights are their values, and bands between nodes of adjacent columns
/// whose widths are the links' values, stacked in each node in the order given. Column headings read "Step 1",
/// "Step 2", ... `title` and `desc` are escaped here.
pub fn sankey_svg(nodes: &[SankeyNode], links: &[SankeyLink], title: &str, desc: &str) -> String {
    const TOP: f64 = 30.0;
    const PLOT: f64 = 340.0;
    const GAP: f64 = 10.0;
    const NODE_W: f64 = 12.0;
    const LEFT: f64 = 8.0;
    let height = TOP + PLOT + 12.0;
    let id = chart_id(&[], title, &format!("{desc}{}{}", nodes.len(), links.len()));
    let mut s = String::with_capacity(2048 + (nodes.len() + links.len()) * 300);
    open(&mut s, &id, height, title, desc);
    let columns = nodes.iter().map(|n| n.column + 1).max().unwrap_or(0);
    if columns == 0 || nodes.iter().all(|n| n.value == 0) {
        empty(&mut s, height);
        return s;
    }
    // One scale for every column: the fullest column (with its gaps) fills the plot.
    let fullest = (0..columns)
        .map(|c| {
            let in_c: Vec<_> = nodes.iter().filter(|n| n.column == c).collect();
            (
                in_c.iter().map(|n| n.value).sum::<u64>(),
                in_c.len().saturating_sub(1),
            )
        })
        .map(|(v, gaps)| (v, PLOT - gaps as f64 * GAP))
        .map(|(v, room)| if v > 0 { room / v as f64 } else { f64::MAX })
        .fold(f64::MAX, f64::min);
    let k = if fullest.is_finite() { fullest } else { 1.0 };
    let step = (WIDTH - LEFT * 2.0 - NODE_W - 120.0) / (columns.max(2) - 1) as f64;
    let x = |c: usize| LEFT + c as f64 * step;
    let mut y = vec![0.0; nodes.len()];
    for c in 0..columns {
        let mut at = TOP;
        for (i, n) in nodes.iter().enumerate().filter(|(_, n)| n.column == c) {
            y[i] = at;
            at += n.value as f64 * k + GAP;
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-weight="bold">Step {}</text>"#,
            num(x(c)),
            num(TOP - 12.0),
            c + 1
        );
    }
    // Bands first, under the nodes; each stacks in its source and its target in the order given.
    let mut out_at = y.clone();
    let mut in_at = y.clone();
    for l in links {
        let (Some(a), Some(b)) = (nodes.get(l.from), nodes.get(l.to)) else {
            continue;
        };
        let h = l.value as f64 * k;
        let (x0, x1) = (x(a.column) + NODE_W, x(b.column));
        let (y0, y1) = (out_at[l.from], in_at[l.to]);
        out_at[l.from] += h;
        in_at[l.to] += h;
        let mx = (x0 + x1) / 2.0;
        let _ = write!(
            s,
            r#"<path d="M{} {}C{} {} {} {} {} {}L{} {}C{} {} {} {} {} {}Z" fill="{BAND}" fill-opacity="0.8"><title>{} → {}: {}</title></path>"#,
            num(x0),
            num(y0),
            num(mx),
            num(y0),
            num(mx),
            num(y1),
            num(x1),
            num(y1),
            num(x1),
            num(y1 + h),
            num(mx),
            num(y1 + h),
            num(mx),
            num(y0 + h),
            num(x0),
            num(y0 + h),
            escape(&a.label),
            escape(&b.label),
            l.value,
        );
    }
    for (i, n) in nodes.iter().enumerate() {
        let h = (n.value as f64 * k).max(1.0);
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="{NODE_W}" height="{}" fill="{BAR}"><title>Step {}: {}, {}</title></rect>"#,
            num(x(n.column)),
            num(y[i]),
            num(h),
            n.column + 1,
            escape(&n.label),
            n.value,
        );
        if h >= 11.0 {
            let _ = write!(
                s,
                r#"<text x="{}" y="{}">{} ({})</text>"#,
                num(x(n.column) + NODE_W + 3.0),
                num(y[i] + h.min(24.0) / 2.0 + 4.0),
                escape(&short(&n.label, 15)),
                n.value,
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funnel_is_an_accessible_image_with_every_stage() {
        let bars = vec![
            FunnelBar {
                name: "Started".into(),
                cases: 100,
                dropped: 0,
            },
            FunnelBar {
                name: "Upload <documents>".into(),
                cases: 60,
                dropped: 40,
            },
        ];
        let svg = funnel_svg(&bars, "Funnel", "Cases by stage.");
        assert!(svg.contains(r#"role="img""#) && svg.contains("<desc id="));
        assert!(svg.contains("Upload &lt;documents&gt;: 40 left before reaching it"));
        assert!(svg.contains("60 (60%), 40 left"));
        assert!(!svg.contains("style="));
        assert!(funnel_svg(&[], "F", "D").contains("No journeys in this period"));
    }

    #[test]
    fn sankey_bands_stack_and_nodes_scale() {
        let nodes = vec![
            SankeyNode {
                column: 0,
                label: "a".into(),
                value: 10,
            },
            SankeyNode {
                column: 1,
                label: "b".into(),
                value: 6,
            },
            SankeyNode {
                column: 1,
                label: "c".into(),
                value: 4,
            },
        ];
        let links = vec![
            SankeyLink {
                from: 0,
                to: 1,
                value: 6,
            },
            SankeyLink {
                from: 0,
                to: 2,
                value: 4,
            },
        ];
        let svg = sankey_svg(&nodes, &links, "Flows", "How traces go.");
        assert_eq!(svg.matches("<path").count(), 2);
        assert!(svg.contains("<title>a → b: 6</title>"));
        assert!(svg.contains("Step 2"));
        assert!(svg.contains(r#"role="img""#));
        assert!(sankey_svg(&[], &[], "F", "D").contains("No journeys"));
    }
}
