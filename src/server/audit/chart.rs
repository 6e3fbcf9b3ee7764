//! Charts as server-rendered SVG: horizontal bars, each made of one or more
//! coloured segments, with the label on the left and the value in words on
//! the right. The geometry is computed here; `templates/audit/chart.html`
//! only draws it, with escaping on. Every chart's numbers are also in a
//! table beside it: the chart is for the eye, the table for screen readers
//! and copying.

/// The drawing's width in SVG units; it scales to the page's width.
const WIDTH: u32 = 400;
/// Where the bars start: the labels are left of it.
const BARS_X: u32 = 140;
/// The longest bar: what is left after the labels and the values.
const BARS_WIDTH: u32 = 200;
/// One row's height, bar and gap.
const ROW: u32 = 22;
const BAR: u32 = 14;
/// Labels longer than this are cut in the drawing (the table has them
/// whole): the label column is [`BARS_X`] wide.
const LABEL_CHARS: usize = 18;

/// A chart, ready to draw.
pub(super) struct Chart {
    /// The element id its title is referred to by.
    pub id: &'static str,
    pub title: String,
    pub width: u32,
    pub height: u32,
    /// A bar's height.
    pub bar: u32,
    pub rows: Vec<ChartRow>,
    /// `(class, words)` of each kind of segment, when there are several.
    pub legend: Vec<(&'static str, &'static str)>,
}

pub(super) struct ChartRow {
    pub label: String,
    pub bar_y: u32,
    pub text_y: u32,
    pub segments: Vec<Segment>,
    pub value: String,
    pub value_x: u32,
}

pub(super) struct Segment {
    pub x: u32,
    pub width: u32,
    pub class: &'static str,
}

/// One bar before it is drawn: its label, its segments as `(class,
/// count)`, and its value in words.
pub(super) struct Bar {
    pub label: String,
    pub parts: Vec<(&'static str, u64)>,
    pub value: String,
}

/// How bars are scaled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Scale {
    /// The longest bar spans the whole width: bars compare counts.
    Largest,
    /// Every bar spans the whole width: segments compare shares of it.
    Whole,
}

impl Chart {
    pub(super) fn new(
        id: &'static str,
        title: impl Into<String>,
        bars: Vec<Bar>,
        scale: Scale,
        legend: Vec<(&'static str, &'static str)>,
    ) -> Chart {
        let largest = bars.iter().map(total).max().unwrap_or(0).max(1);
        let rows = bars
            .into_iter()
            .enumerate()
            .map(|(i, bar)| {
                let full = match scale {
                    Scale::Largest => largest,
                    Scale::Whole => total(&bar).max(1),
                };
                row(u32::try_from(i).unwrap_or(u32::MAX), bar, full)
            })
            .collect::<Vec<_>>();
        Chart {
            id,
            title: title.into(),
            width: WIDTH,
            bar: BAR,
            height: (u32::try_from(rows.len()).unwrap_or(0) * ROW).max(ROW),
            rows,
            legend,
        }
    }
}

fn total(bar: &Bar) -> u64 {
    bar.parts.iter().map(|(_, n)| n).sum()
}

/// Row `index` of a chart whose full width stands for `full`.
fn row(index: u32, bar: Bar, full: u64) -> ChartRow {
    let y = index * ROW;
    let mut x = BARS_X;
    let mut segments = Vec::new();
    let mut so_far = 0;
    for (class, count) in bar.parts {
        // Ends are placed from the running total, so that rounding never
        // makes a stacked bar longer than its total.
        so_far += count;
        let end = BARS_X + scaled(so_far, full);
        if end > x {
            segments.push(Segment {
                x,
                width: end - x,
                class,
            });
            x = end;
        }
    }
    ChartRow {
        label: cut(&bar.label),
        bar_y: y + (ROW - BAR) / 2,
        text_y: y + ROW / 2 + 4,
        segments,
        value: bar.value,
        value_x: x + 4,
    }
}

fn scaled(count: u64, full: u64) -> u32 {
    let width = count.saturating_mul(u64::from(BARS_WIDTH)) / full.max(1);
    u32::try_from(width.min(u64::from(BARS_WIDTH))).unwrap_or(BARS_WIDTH)
}

fn cut(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let mut cut: String = label.chars().take(LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, parts: Vec<(&'static str, u64)>) -> Bar {
        Bar {
            label: label.into(),
            parts,
            value: String::new(),
        }
    }

    #[test]
    fn the_largest_bar_spans_the_width_and_segments_stack_without_overflow() {
        let chart = Chart::new(
            "c",
            "t",
            vec![
                bar("a", vec![("x", 1), ("y", 1), ("z", 1)]),
                bar("b", vec![("x", 6)]),
                bar("empty", vec![("x", 0)]),
            ],
            Scale::Largest,
            Vec::new(),
        );
        let ends: Vec<u32> = chart
            .rows
            .iter()
            .map(|r| r.segments.last().map_or(BARS_X, |s| s.x + s.width))
            .collect();
        assert_eq!(ends, [BARS_X + 100, BARS_X + BARS_WIDTH, BARS_X]);
        assert_eq!(chart.rows[0].segments.len(), 3);
        assert_eq!(chart.height, 3 * ROW);
    }

    #[test]
    fn whole_bars_show_shares_and_long_labels_are_cut() {
        let chart = Chart::new(
            "c",
            "t",
            vec![bar("a-very-long-agent-name[bot]", vec![("x", 1), ("y", 3)])],
            Scale::Whole,
            Vec::new(),
        );
        let row = &chart.rows[0];
        assert_eq!(row.segments[0].width, BARS_WIDTH / 4);
        assert_eq!(
            row.segments[1].x + row.segments[1].width,
            BARS_X + BARS_WIDTH
        );
        assert_eq!(row.label.chars().count(), LABEL_CHARS);
        assert!(row.label.ends_with('…'));
    }
}
