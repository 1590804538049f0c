//! Accessible SVG charts rendered on the server.
//!
//! The admin pages run under a Content-Security-Policy that forbids inline styles and scripts, so charts are plain
//! SVG with presentation attributes (`fill`, `stroke`, `font-size`) and no `style` at all. Each chart is an image
//! with an accessible name and description (`role="img"`, `<title>` and `<desc>` named by `aria-labelledby`); the
//! page should also offer the same figures as a table. Colours meet WCAG AA against white.

use chrono::Datelike;
use std::fmt::Write;

use crate::report::WeekPoint;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
/// The trust plot's vertical extent.
const PLOT_TOP: f64 = 30.0;
const PLOT_BOTTOM: f64 = 156.0;
/// The response-count strip's vertical extent, below the trust plot so the two scales never share an axis.
const BARS_TOP: f64 = 180.0;
const BARS_BOTTOM: f64 = 214.0;
const LABEL_Y: f64 = 230.0;
/// Narrower than this between two date labels and they would overlap.
const MIN_LABEL_GAP: f64 = 48.0;

/// USWDS blue-60v: 7.1:1 against white.
const LINE: &str = "#005ea2";
/// USWDS blue-10v: only the interval's background, never the sole carrier of a value.
const BAND: &str = "#cfe8ff";
/// USWDS gray-50: 4.8:1 against white, above the 3:1 that graphical objects need.
const BARS: &str = "#71767a";
const TEXT: &str = "#1b1b1b";
const GRID: &str = "#dfe1e2";
const FONT: &str = "Source Sans Pro, Helvetica, Arial, sans-serif";

/// A weekly trend of % positive trust (a line with its 95% interval as a shaded band) above bars of responses per
/// week. Weeks without a trust answer leave a gap in the line. `title` and `desc` become the chart's accessible name
/// and description; they are escaped here, so pass plain text.
pub fn trend_svg(points: &[WeekPoint], title: &str, desc: &str) -> String {
    let id = chart_id(points, title, desc);
    let mut s = String::with_capacity(4096 + points.len() * 400);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{FONT}" font-size="12" fill="{TEXT}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(desc),
    );
    if points.iter().all(|p| p.responses == 0) {
        let _ = write!(
            s,
            r#"<rect x="0.5" y="0.5" width="{}" height="{}" fill="white" stroke="{GRID}"/><text x="{}" y="{}" text-anchor="middle" font-size="16">No responses yet</text></svg>"#,
            WIDTH - 1.0,
            HEIGHT - 1.0,
            WIDTH / 2.0,
            HEIGHT / 2.0,
        );
        return s;
    }

    let n = points.len();
    let step = (WIDTH - LEFT - RIGHT) / n as f64;
    let x = |i: usize| LEFT + (i as f64 + 0.5) * step;
    let y = |p: f64| PLOT_BOTTOM - p.clamp(0.0, 1.0) * (PLOT_BOTTOM - PLOT_TOP);

    legend(&mut s);

    // Gridlines and labels every 25 points of the 0-100% axis.
    for pct in [0u32, 25, 50, 75, 100] {
        let gy = y(f64::from(pct) / 100.0);
        let _ = write!(
            s,
            r#"<line x1="{LEFT}" x2="{}" y1="{}" y2="{}" stroke="{GRID}" stroke-width="1"/><text x="{}" y="{}" text-anchor="end">{pct}%</text>"#,
            WIDTH - RIGHT,
            num(gy),
            num(gy),
            LEFT - 6.0,
            num(gy + 4.0),
        );
    }

    // Runs of consecutive weeks with trust answers: each is drawn as its own band and line, so empty weeks are gaps.
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if p.trust.is_some_and(|t| t.n > 0) {
            current.push(i);
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    let trust = |i: usize| points[i].trust.expect("runs only hold weeks with trust");

    for run in &runs {
        if let [i] = run[..] {
            // A lone week has no neighbour to span a band to, so its interval is a narrow bar.
            let t = trust(i);
            let _ = write!(
                s,
                r#"<rect x="{}" y="{}" width="6" height="{}" fill="{BAND}"/>"#,
                num(x(i) - 3.0),
                num(y(t.high)),
                num(y(t.low) - y(t.high)),
            );
        } else {
            let upper = run
                .iter()
                .map(|&i| format!("{},{}", num(x(i)), num(y(trust(i).high))));
            let lower = run
                .iter()
                .rev()
                .map(|&i| format!("{},{}", num(x(i)), num(y(trust(i).low))));
            let pts: Vec<String> = upper.chain(lower).collect();
            let _ = write!(s, r#"<polygon points="{}" fill="{BAND}"/>"#, pts.join(" "));
        }
    }
    let mut d = String::new();
    for run in &runs {
        for (k, &i) in run.iter().enumerate() {
            let _ = write!(
                d,
                "{}{},{} ",
                if k == 0 { "M" } else { "L" },
                num(x(i)),
                num(y(trust(i).p))
            );
        }
    }
    if !d.is_empty() {
        let _ = write!(
            s,
            r#"<path d="{}" fill="none" stroke="{LINE}" stroke-width="2" stroke-linejoin="round"/>"#,
            d.trim_end()
        );
    }
    let radius = if step >= 8.0 { 3.0 } else { 2.0 };
    for run in &runs {
        for &i in run {
            let t = trust(i);
            let _ = write!(
                s,
                r#"<circle cx="{}" cy="{}" r="{radius}" fill="{LINE}"><title>Week of {}: {}% positive (95% interval {}% to {}%), {} trust answers</title></circle>"#,
                num(x(i)),
                num(y(t.p)),
                points[i].week_start.format("%b %-d, %Y"),
                pct(t.p),
                pct(t.low),
                pct(t.high),
                t.n,
            );
        }
    }

    // Responses per week, scaled to the busiest week.
    let max = points.iter().map(|p| p.responses).max().unwrap_or(0).max(1);
    let bar_w = (step * 0.6).clamp(1.0, 18.0);
    let _ = write!(
        s,
        r#"<line x1="{LEFT}" x2="{}" y1="{BARS_BOTTOM}" y2="{BARS_BOTTOM}" stroke="{GRID}" stroke-width="1"/><text x="{}" y="{}" text-anchor="end">{max}</text><text x="{}" y="{}" text-anchor="end">0</text>"#,
        WIDTH - RIGHT,
        LEFT - 6.0,
        num(BARS_TOP + 4.0),
        LEFT - 6.0,
        num(BARS_BOTTOM + 4.0),
    );
    for (i, p) in points.iter().enumerate().filter(|(_, p)| p.responses > 0) {
        let h = p.responses as f64 / max as f64 * (BARS_BOTTOM - BARS_TOP);
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{BARS}"><title>Week of {}: {} responses</title></rect>"#,
            num(x(i) - bar_w / 2.0),
            num(BARS_BOTTOM - h),
            num(bar_w),
            num(h),
            p.week_start.format("%b %-d, %Y"),
            p.responses,
        );
    }

    // Date labels: every week when there are few; otherwise the first week of every month, or of every 2nd, 3rd, 6th
    // or 12th month (calendar-aligned) when months are too narrow for a label each. The first week is labelled too
    // when that leaves room. The year is shown under the first label and wherever it changes.
    let candidates: Vec<usize> = if n <= 8 {
        (0..n).collect()
    } else {
        // A month spans at least four weeks.
        let stride = [1, 2, 3, 6, 12]
            .into_iter()
            .find(|k| f64::from(4 * k) * step >= MIN_LABEL_GAP)
            .unwrap_or(12);
        let month_index = |i: usize| {
            let d = points[i].week_start;
            d.year() * 12 + d.month0() as i32
        };
        let mut c: Vec<usize> = (1..n)
            .filter(|&i| {
                month_index(i) != month_index(i - 1) && month_index(i).rem_euclid(stride) == 0
            })
            .collect();
        if c.first()
            .is_none_or(|&first| x(first) - x(0) >= MIN_LABEL_GAP)
        {
            c.insert(0, 0);
        }
        c
    };
    let mut last_x = f64::NEG_INFINITY;
    let mut last_year = None;
    for i in candidates {
        let p = &points[i];
        // A safety net for very dense weeks: never let two labels overlap.
        if x(i) - last_x < MIN_LABEL_GAP {
            continue;
        }
        last_x = x(i);
        let _ = write!(
            s,
            r#"<line x1="{0}" x2="{0}" y1="{BARS_BOTTOM}" y2="{1}" stroke="{TEXT}" stroke-width="1"/><text x="{0}" y="{LABEL_Y}" text-anchor="middle">{2}</text>"#,
            num(x(i)),
            num(BARS_BOTTOM + 4.0),
            p.week_start.format("%b %-d"),
        );
        if last_year != Some(p.week_start.year()) {
            last_year = Some(p.week_start.year());
            let _ = write!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                num(x(i)),
                num(LABEL_Y + 14.0),
                p.week_start.year(),
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// One bar of a weekly bar chart: the week's local Monday and its figure (`None` when the week has none, drawn as
/// no bar and said so in the bar's tooltip).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeekBar {
    pub week_start: chrono::NaiveDate,
    pub value: Option<f64>,
}

/// A weekly bar chart of one figure (events per week, a median wait...), scaled from zero to the largest week, with
/// three gridlines labelled by `label` (so durations read as durations) and week dates along the bottom, as many
/// as fit without overlapping. `title` and `desc` become the accessible name and description; they are escaped here.
pub fn weekly_bars_svg(
    points: &[WeekBar],
    title: &str,
    desc: &str,
    label: &dyn Fn(f64) -> String,
) -> String {
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 214.0;
    let seed: Vec<WeekPoint> = Vec::new();
    let id = chart_id(&seed, title, &format!("{desc}{}", points.len()));
    let mut s = String::with_capacity(2048 + points.len() * 300);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{FONT}" font-size="12" fill="{TEXT}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(desc),
    );
    if points.iter().all(|p| p.value.is_none()) {
        let _ = write!(
            s,
            r#"<rect x="0.5" y="0.5" width="{}" height="{}" fill="white" stroke="{GRID}"/><text x="{}" y="{}" text-anchor="middle" font-size="16">Nothing in these weeks</text></svg>"#,
            WIDTH - 1.0,
            HEIGHT - 1.0,
            WIDTH / 2.0,
            HEIGHT / 2.0,
        );
        return s;
    }
    // Wide enough for a duration label such as "1 h 05 min" at the left of the axis.
    let left = LEFT + 24.0;
    let n = points.len();
    let step = (WIDTH - left - RIGHT) / n as f64;
    let x = |i: usize| left + (i as f64 + 0.5) * step;
    let max = points
        .iter()
        .filter_map(|p| p.value)
        .fold(0.0_f64, f64::max);
    let scale = if max > 0.0 { max } else { 1.0 };
    let y = |v: f64| BOTTOM - (v / scale).clamp(0.0, 1.0) * (BOTTOM - TOP);
    for k in [0.0, 0.5, 1.0] {
        let gy = y(k * scale);
        let _ = write!(
            s,
            r#"<line x1="{left}" x2="{}" y1="{}" y2="{}" stroke="{GRID}" stroke-width="1"/><text x="{}" y="{}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            num(gy),
            num(gy),
            left - 6.0,
            num(gy + 4.0),
            escape(&label(k * scale)),
        );
    }
    let bar_w = (step * 0.6).clamp(1.0, 28.0);
    for (i, p) in points.iter().enumerate() {
        let when = p.week_start.format("%b %-d, %Y");
        match p.value {
            Some(v) => {
                let h = (BOTTOM - y(v)).max(if v > 0.0 { 1.0 } else { 0.0 });
                let _ = write!(
                    s,
                    r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{LINE}"><title>Week of {when}: {}</title></rect>"#,
                    num(x(i) - bar_w / 2.0),
                    num(BOTTOM - h),
                    num(bar_w),
                    num(h),
                    escape(&label(v)),
                );
            }
            None => {
                let _ = write!(
                    s,
                    r#"<rect x="{}" y="{}" width="{}" height="1" fill="{BARS}"><title>Week of {when}: none</title></rect>"#,
                    num(x(i) - bar_w / 2.0),
                    num(BOTTOM - 1.0),
                    num(bar_w),
                );
            }
        }
    }
    let every = (1..=n)
        .find(|k| *k as f64 * step >= MIN_LABEL_GAP)
        .unwrap_or(n);
    let mut last_year = None;
    for i in (0..n).step_by(every) {
        let d = points[i].week_start;
        let _ = write!(
            s,
            r#"<line x1="{0}" x2="{0}" y1="{BOTTOM}" y2="{1}" stroke="{TEXT}" stroke-width="1"/><text x="{0}" y="{LABEL_Y}" text-anchor="middle">{2}</text>"#,
            num(x(i)),
            num(BOTTOM + 4.0),
            d.format("%b %-d"),
        );
        if last_year != Some(d.year()) {
            last_year = Some(d.year());
            let _ = write!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                num(x(i)),
                num(LABEL_Y + 14.0),
                d.year(),
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A number of seconds as people read a duration: `45 s`, `3 min 20 s`, `2 h 05 min`, `3 d 4 h` (rounded to the
/// whole second, minute or hour shown last).
pub fn duration_words(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "—".to_string();
    }
    let s = seconds.round() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else if s < 86_400 {
        let m = (s + 30) / 60;
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        let h = (s + 1800) / 3600;
        format!("{} d {} h", h / 24, h % 24)
    }
}

/// The key to the three marks, along the top edge.
fn legend(s: &mut String) {
    let _ = write!(
        s,
        r#"<line x1="{LEFT}" x2="{}" y1="14" y2="14" stroke="{LINE}" stroke-width="2"/><text x="{}" y="18">% positive trust</text><rect x="180" y="8" width="16" height="12" fill="{BAND}"/><text x="202" y="18">95% interval</text><rect x="300" y="8" width="10" height="12" fill="{BARS}"/><text x="316" y="18">Responses per week</text>"#,
        LEFT + 16.0,
        LEFT + 22.0,
    );
}

/// One point of an impact × performance chart: a label, its importance (share of R², 0 to 1) and its performance
/// (any unit; the axis runs from the lowest to the highest value shown).
#[derive(Debug, Clone, PartialEq)]
pub struct ImpactPoint {
    pub label: String,
    pub importance: f64,
    pub performance: f64,
}

/// An impact × performance chart (Martilla & James's importance-performance analysis): each driver a numbered dot
/// at (importance, performance), with dashed lines at `importance_cut` and `performance_cut` splitting the four
/// quadrants, named in their corners ("Concentrate here": important and performing below the cut). Dots are numbered
/// in the order given (the page's table uses the same numbers), so no label overlaps another. `performance_label`
/// formats the vertical axis's values. `title` and `desc` become the accessible name and description.
pub fn impact_performance_svg(
    points: &[ImpactPoint],
    importance_cut: f64,
    performance_cut: f64,
    title: &str,
    desc: &str,
    performance_label: &dyn Fn(f64) -> String,
) -> String {
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 214.0;
    let left = LEFT + 24.0;
    let seed: Vec<WeekPoint> = Vec::new();
    let id = chart_id(&seed, title, &format!("{desc}{}", points.len()));
    let mut s = String::with_capacity(2048 + points.len() * 200);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{FONT}" font-size="12" fill="{TEXT}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(desc),
    );
    if points.is_empty() {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="16">Nothing to show</text></svg>"#,
            WIDTH / 2.0,
            HEIGHT / 2.0,
        );
        return s;
    }
    let x_max = points
        .iter()
        .map(|p| p.importance)
        .fold(importance_cut, f64::max)
        .max(0.01)
        * 1.25;
    let (mut y_min, mut y_max) = points
        .iter()
        .fold((performance_cut, performance_cut), |a, p| {
            (a.0.min(p.performance), a.1.max(p.performance))
        });
    if y_max - y_min < 1e-9 {
        y_min -= 0.5;
        y_max += 0.5;
    }
    // Room above and below, so no dot sits on a quadrant's name in a corner.
    let pad = (y_max - y_min) * 0.2;
    let (y_min, y_max) = (y_min - pad, y_max + pad);
    let right = WIDTH - RIGHT;
    let x = |v: f64| left + (v / x_max).clamp(0.0, 1.0) * (right - left);
    let y = |v: f64| BOTTOM - ((v - y_min) / (y_max - y_min)).clamp(0.0, 1.0) * (BOTTOM - TOP);
    let _ = write!(
        s,
        r#"<rect x="{left}" y="{TOP}" width="{}" height="{}" fill="white" stroke="{GRID}"/>"#,
        right - left,
        BOTTOM - TOP
    );
    for k in [0.0, 0.5, 1.0] {
        let v = y_min + k * (y_max - y_min);
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 6.0,
            num(y(v) + 4.0),
            escape(&performance_label(v)),
        );
        let xv = k * x_max;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{:.0}%</text>"#,
            num(x(xv)),
            BOTTOM + 14.0,
            xv * 100.0,
        );
    }
    let (cx, cy) = (x(importance_cut), y(performance_cut));
    let _ = write!(
        s,
        r#"<line x1="{0}" x2="{0}" y1="{TOP}" y2="{BOTTOM}" stroke="{BARS}" stroke-dasharray="4 3"/><line x1="{left}" x2="{right}" y1="{1}" y2="{1}" stroke="{BARS}" stroke-dasharray="4 3"/>"#,
        num(cx),
        num(cy),
    );
    for (label, tx, ty, anchor) in [
        ("Concentrate here", right - 4.0, BOTTOM - 6.0, "end"),
        ("Keep up the good work", right - 4.0, TOP + 14.0, "end"),
        ("Low priority", left + 4.0, BOTTOM - 6.0, "start"),
        ("Possible overkill", left + 4.0, TOP + 14.0, "start"),
    ] {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="{anchor}" font-weight="bold">{label}</text>"#,
            num(tx),
            num(ty)
        );
    }
    for (i, p) in points.iter().enumerate() {
        let (px, py) = (x(p.importance), y(p.performance));
        let _ = write!(
            s,
            r#"<g><title>{}. {}: {:.0}% of R², {}</title><circle cx="{}" cy="{}" r="9" fill="{LINE}"/><text x="{}" y="{}" text-anchor="middle" fill="white" font-size="11">{}</text></g>"#,
            i + 1,
            escape(&p.label),
            p.importance * 100.0,
            escape(&performance_label(p.performance)),
            num(px),
            num(py),
            num(px),
            num(py + 4.0),
            i + 1,
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">Importance (share of R²)</text></svg>"#,
        num((left + right) / 2.0),
        BOTTOM + 32.0,
    );
    s
}

/// A stable id from the chart's content, so that several charts on one page do not share ids (which would give one
/// chart another's accessible name); identical charts may share one harmlessly.
pub(crate) fn chart_id(points: &[WeekPoint], title: &str, desc: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(title.as_bytes());
    eat(&[0]);
    eat(desc.as_bytes());
    for p in points {
        eat(&i64::from(p.week_start.num_days_from_ce()).to_le_bytes());
        eat(&p.responses.to_le_bytes());
        eat(&p.positive.to_le_bytes());
    }
    format!("heard-trend-{h:016x}")
}

/// Escapes text for XML content and attributes, and drops the control characters XML 1.0 cannot carry at all.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Coordinates to one decimal: enough for a 720-wide drawing, and short.
pub(crate) fn num(v: f64) -> String {
    format!("{v:.1}")
}

fn pct(p: f64) -> String {
    format!("{:.0}", p * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::wilson;
    use chrono::NaiveDate;

    fn week(y: i32, m: u32, d: u32, responses: u64, answered: u64, positive: u64) -> WeekPoint {
        WeekPoint {
            week_start: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            responses,
            positive,
            trust: (answered > 0).then(|| wilson(positive, answered, None)),
        }
    }

    /// Checks that every element is closed in order, and returns the element names in document order.
    fn balanced(svg: &str) -> Vec<String> {
        let mut stack: Vec<String> = Vec::new();
        let mut names = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("unclosed tag") + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let name = tag.split_whitespace().next().unwrap().trim_end_matches('/');
                names.push(name.to_string());
                if !tag.ends_with('/') {
                    stack.push(name.to_string());
                }
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        names
    }

    fn quarter() -> Vec<WeekPoint> {
        vec![
            week(2026, 9, 28, 12, 12, 9),
            week(2026, 10, 5, 20, 18, 12),
            week(2026, 10, 12, 0, 0, 0),
            week(2026, 10, 19, 3, 0, 0),
            week(2026, 10, 26, 15, 15, 10),
            week(2026, 11, 2, 30, 29, 25),
            week(2026, 11, 9, 8, 8, 8),
            week(2026, 11, 16, 0, 0, 0),
            week(2026, 11, 23, 5, 5, 1),
            week(2026, 11, 30, 10, 10, 6),
        ]
    }

    #[test]
    fn a_trend_is_well_formed_accessible_and_free_of_styles() {
        let svg = trend_svg(
            &quarter(),
            "Weekly trust, Passports",
            "Percent positive by week.",
        );
        let names = balanced(&svg);
        assert!(!svg.to_lowercase().contains("style"));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"width="100%""#) && svg.contains(r#"viewBox="0 0 720 260""#));
        let id = chart_id(
            &quarter(),
            "Weekly trust, Passports",
            "Percent positive by week.",
        );
        assert!(svg.contains(&format!(r#"aria-labelledby="{id}-title {id}-desc""#)));
        assert!(svg.contains(&format!(
            r#"<title id="{id}-title">Weekly trust, Passports</title>"#
        )));
        assert!(svg.contains(&format!(
            r#"<desc id="{id}-desc">Percent positive by week.</desc>"#
        )));
        // One marker per week with trust answers: 7 of the 10 weeks.
        assert_eq!(names.iter().filter(|n| *n == "circle").count(), 7);
        // Eight bars for the weeks with responses, plus the two legend swatches.
        assert_eq!(names.iter().filter(|n| *n == "rect").count(), 8 + 2);
        for label in ["0%", "25%", "50%", "75%", "100%"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
        // Month starts get labels, with the year once.
        assert!(svg.contains(">Sep 28</text>") && svg.contains(">Oct 5</text>"));
        assert!(svg.contains(">Nov 2</text>"));
        assert!(!svg.contains(">Oct 12</text>") && !svg.contains(">Nov 30</text>"));
        assert_eq!(svg.matches(">2026</text>").count(), 1);
    }

    #[test]
    fn empty_weeks_break_the_line() {
        let svg = trend_svg(&quarter(), "T", "D");
        let d = svg
            .split(r#"<path d=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        // Weeks 1-2, 5-7 and 9-10 are three runs, so three moves.
        assert_eq!(d.matches('M').count(), 3);
        assert_eq!(d.matches('L').count(), 4);
        assert_eq!(svg.matches("<polygon").count(), 3);
    }

    #[test]
    fn a_lone_week_gets_an_interval_bar() {
        let pts = vec![
            week(2027, 1, 4, 10, 10, 5),
            week(2027, 1, 11, 0, 0, 0),
            week(2027, 1, 18, 10, 10, 7),
        ];
        let svg = trend_svg(&pts, "T", "D");
        let names = balanced(&svg);
        assert_eq!(names.iter().filter(|n| *n == "circle").count(), 2);
        assert_eq!(svg.matches("<polygon").count(), 0);
        // Two interval bars, two response bars, two legend swatches.
        assert_eq!(names.iter().filter(|n| *n == "rect").count(), 6);
        // Few weeks: every week is labelled.
        assert!(svg.contains(">Jan 4</text>") && svg.contains(">Jan 11</text>"));
    }

    #[test]
    fn title_and_description_are_escaped() {
        let svg = trend_svg(
            &quarter(),
            "Trust & </title><script>alert(1)</script>",
            "\"quoted\" 'text'\u{0}",
        );
        balanced(&svg);
        assert!(!svg.contains("<script"));
        assert!(svg.contains("Trust &amp; &lt;/title&gt;&lt;script&gt;"));
        assert!(svg.contains("&quot;quoted&quot; &apos;text&apos;</desc>"));
    }

    #[test]
    fn no_points_says_so() {
        for pts in [vec![], vec![week(2027, 1, 4, 0, 0, 0)]] {
            let svg = trend_svg(&pts, "Weekly trust", "Nothing yet.");
            balanced(&svg);
            assert!(svg.contains("No responses yet"));
            assert!(svg.contains("<title id=") && svg.contains("<desc id="));
            assert!(!svg.contains("style"));
        }
    }

    #[test]
    fn a_long_series_keeps_labels_apart() {
        let start = NaiveDate::from_ymd_opt(2025, 12, 1).unwrap();
        let pts: Vec<WeekPoint> = (0..104)
            .map(|i| WeekPoint {
                week_start: start + chrono::Days::new(7 * i),
                responses: 40,
                positive: 30,
                trust: Some(wilson(30, 40, None)),
            })
            .collect();
        let svg = trend_svg(&pts, "T", "D");
        let names = balanced(&svg);
        assert_eq!(names.iter().filter(|n| *n == "circle").count(), 104);
        // The x of every date label (the year line sits lower, so it is not counted).
        let date_label = format!(r#"" y="{LABEL_Y}" text-anchor="middle">"#);
        let xs: Vec<f64> = svg
            .split(r#"<text x=""#)
            .skip(1)
            .filter_map(|piece| {
                let (x, rest) = piece.split_once('"')?;
                format!("\"{rest}")
                    .starts_with(&date_label)
                    .then(|| x.parse().unwrap())
            })
            .collect();
        assert!(xs.len() >= 6, "{xs:?}");
        assert!(
            xs.windows(2).all(|w| w[1] - w[0] >= MIN_LABEL_GAP - 1e-9),
            "{xs:?}"
        );
        // Two years of weeks leave room for every other month, aligned to the calendar (January, March, ...); the
        // first week (December 2025) is too close to January to get a label of its own.
        assert!(svg.contains(">Jan 5</text>") && svg.contains(">Mar 2</text>"));
        assert!(!svg.contains(">Feb 2</text>") && !svg.contains(">Dec 1</text>"));
        assert!(svg.contains(">2026</text>") && svg.contains(">2027</text>"));
    }

    #[test]
    fn weekly_bars_are_accessible_and_free_of_styles() {
        let d = |day| chrono::NaiveDate::from_ymd_opt(2026, 9, day).unwrap();
        let points = [
            WeekBar {
                week_start: d(7),
                value: Some(90.0),
            },
            WeekBar {
                week_start: d(14),
                value: None,
            },
            WeekBar {
                week_start: d(21),
                value: Some(3725.0),
            },
        ];
        let svg = weekly_bars_svg(&points, "Median <wait>", "By week", &duration_words);
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("Median &lt;wait&gt;"));
        assert!(!svg.contains("style"));
        assert!(svg.contains("Week of Sep 7, 2026: 1 min 30 s"));
        assert!(svg.contains("Week of Sep 14, 2026: none"));
        assert!(svg.contains("Week of Sep 21, 2026: 1 h 02 min"));
        assert!(balanced(&svg).iter().filter(|n| *n == "rect").count() >= 3);
        let empty = weekly_bars_svg(&points[1..2], "t", "d", &duration_words);
        assert!(empty.contains("Nothing in these weeks"));
    }

    #[test]
    fn durations_read_as_durations() {
        assert_eq!(duration_words(45.4), "45 s");
        assert_eq!(duration_words(200.0), "3 min 20 s");
        assert_eq!(duration_words(7500.0), "2 h 05 min");
        assert_eq!(duration_words(3.0 * 86_400.0 + 4.0 * 3600.0), "3 d 4 h");
    }
}

/// One row of an interval chart: a label, and a share with its interval (all in [0, 1]), or `None` when the row's
/// figure is not reported (too few answers), drawn as the words "Too few to report".
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalRow {
    pub label: String,
    pub share: Option<(f64, f64, f64)>,
}

/// Horizontal bars of a share per row (% positive per service) with each 95% interval drawn as a whisker, on a
/// 0-100% axis with gridlines at 0, 25, 50, 75 and 100%. `title` and `desc` become the accessible name and
/// description; they are escaped here, as are the labels.
pub fn interval_bars_svg(rows: &[IntervalRow], title: &str, desc: &str) -> String {
    const ROW: f64 = 28.0;
    const TOP: f64 = 24.0;
    const LABEL_W: f64 = 220.0;
    let height = TOP + ROW * rows.len().max(1) as f64 + 24.0;
    let seed: Vec<WeekPoint> = Vec::new();
    let id = chart_id(&seed, title, &format!("{desc}{}", rows.len()));
    let mut s = String::with_capacity(1024 + rows.len() * 400);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{FONT}" font-size="12" fill="{TEXT}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        num(height),
        escape(title),
        escape(desc),
    );
    let left = LABEL_W;
    let right = WIDTH - RIGHT - 8.0;
    let x = |v: f64| left + v.clamp(0.0, 1.0) * (right - left);
    let bottom = TOP + ROW * rows.len().max(1) as f64;
    for k in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let gx = x(k);
        let _ = write!(
            s,
            r#"<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{GRID}" stroke-width="1"/><text x="{}" y="{}" text-anchor="middle">{}%</text>"#,
            num(gx),
            num(gx),
            num(TOP - 6.0),
            num(bottom),
            num(gx),
            num(bottom + 16.0),
            (k * 100.0).round()
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let label: String = r.label.chars().take(34).collect();
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            num(left - 8.0),
            num(y + ROW / 2.0 + 4.0),
            escape(&label)
        );
        match r.share {
            Some((p, lo, hi)) => {
                let _ = write!(
                    s,
                    r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{LINE}"><title>{}: {:.1}% (95% interval {:.1}% to {:.1}%)</title></rect><line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{TEXT}" stroke-width="2"/><line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{TEXT}" stroke-width="2"/><line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{TEXT}" stroke-width="2"/>"#,
                    num(left),
                    num(y + 6.0),
                    num(x(p) - left),
                    num(ROW - 12.0),
                    escape(&r.label),
                    p * 100.0,
                    lo * 100.0,
                    hi * 100.0,
                    num(x(lo)),
                    num(x(hi)),
                    num(y + ROW / 2.0),
                    num(y + ROW / 2.0),
                    num(x(lo)),
                    num(x(lo)),
                    num(y + 8.0),
                    num(y + ROW - 8.0),
                    num(x(hi)),
                    num(x(hi)),
                    num(y + 8.0),
                    num(y + ROW - 8.0),
                );
            }
            None => {
                let _ = write!(
                    s,
                    r#"<text x="{}" y="{}">Too few to report</text>"#,
                    num(left + 4.0),
                    num(y + ROW / 2.0 + 4.0)
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}
