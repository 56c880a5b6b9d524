//! The dashboard's charts, drawn by the server as inline SVG (no JavaScript): artifacts judged
//! per day, stacked by verdict, and the trust freshness margin each import was verified with.
//! The views compute every coordinate here; the templates only place them. Each chart is an
//! `img` to assistive technology with a title and a one-sentence summary, and each bar or
//! point carries its numbers in a `<title>` (shown on hover).

use crate::layout::age;

/// The drawing's size in SVG user units (it scales to the page's width).
pub(crate) const WIDTH: u32 = 640;
/// Its height.
pub(crate) const HEIGHT: u32 = 180;
/// Room for the value axis on the left.
const LEFT: f64 = 44.0;
/// Room for the day labels below.
const BOTTOM: f64 = 24.0;
/// Room above the tallest bar.
const TOP: f64 = 12.0;

/// One UTC day of the verdict chart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayBar {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Imports started that day.
    pub imports: u64,
    /// Their artifacts that passed.
    pub passed: u64,
    /// … that warned.
    pub warned: u64,
    /// … that failed.
    pub failed: u64,
}

impl DayBar {
    fn total(&self) -> u64 {
        self.passed + self.warned + self.failed
    }
}

/// A rectangle of a bar, in user units, with what it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// `passed`, `warned` or `failed` (the verdict colours).
    pub verdict: &'static str,
    /// Its numbers in words.
    pub label: String,
}

/// A label placed on the drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Where (the text's anchor point).
    pub x: f64,
    /// Where.
    pub y: f64,
    /// What.
    pub text: String,
    /// `start`, `middle` or `end`: which part of the text sits at `x`.
    pub anchor: &'static str,
}

/// Artifacts judged per day over a run of consecutive days, stacked passed / warned / failed.
#[derive(Debug, Clone, Default)]
pub struct VerdictChart {
    /// The days, oldest first, one per day (days without imports count zero).
    pub days: Vec<DayBar>,
}

impl VerdictChart {
    /// The tallest stack (at least 1, so an empty chart still has a scale).
    pub fn max(&self) -> u64 {
        self.days
            .iter()
            .map(DayBar::total)
            .max()
            .unwrap_or(0)
            .max(1)
    }

    fn slot(&self) -> f64 {
        (f64::from(WIDTH) - LEFT) / self.days.len().max(1) as f64
    }

    fn scale(&self) -> f64 {
        (f64::from(HEIGHT) - BOTTOM - TOP) / self.max() as f64
    }

    /// Every non-empty segment of every day's stack.
    pub fn rects(&self) -> Vec<Rect> {
        let (slot, scale) = (self.slot(), self.scale());
        let base = f64::from(HEIGHT) - BOTTOM;
        let mut out = Vec::new();
        for (i, d) in self.days.iter().enumerate() {
            let x = LEFT + i as f64 * slot + slot * 0.15;
            let mut top = base;
            for (verdict, n) in [
                ("passed", d.passed),
                ("warned", d.warned),
                ("failed", d.failed),
            ] {
                if n == 0 {
                    continue;
                }
                let h = n as f64 * scale;
                top -= h;
                out.push(Rect {
                    x: round(x),
                    y: round(top),
                    w: round(slot * 0.7),
                    h: round(h),
                    verdict,
                    label: format!(
                        "{}: {n} {verdict} of {} artifacts in {} import{}",
                        d.day,
                        d.total(),
                        d.imports,
                        plural(d.imports)
                    ),
                });
            }
        }
        out
    }

    /// The first, middle and last day under the bars.
    pub fn day_labels(&self) -> Vec<Label> {
        let n = self.days.len();
        if n == 0 {
            return Vec::new();
        }
        let slot = self.slot();
        let mut picks = vec![0, n / 2, n - 1];
        picks.dedup();
        picks
            .into_iter()
            .map(|i| {
                // The first and last labels keep inside the drawing.
                let (x, anchor) = match i {
                    0 => (LEFT + i as f64 * slot, "start"),
                    _ if i == n - 1 => (f64::from(WIDTH), "end"),
                    _ => (LEFT + (i as f64 + 0.5) * slot, "middle"),
                };
                Label {
                    x: round(x),
                    y: f64::from(HEIGHT) - 4.0,
                    text: self.days[i]
                        .day
                        .get(5..)
                        .unwrap_or(&self.days[i].day)
                        .to_owned(),
                    anchor,
                }
            })
            .collect()
    }

    /// The value axis: zero and the tallest stack.
    pub fn value_labels(&self) -> Vec<Label> {
        vec![
            Label {
                x: LEFT - 6.0,
                y: f64::from(HEIGHT) - BOTTOM,
                text: "0".into(),
                anchor: "end",
            },
            Label {
                x: LEFT - 6.0,
                y: TOP + 10.0,
                text: self.max().to_string(),
                anchor: "end",
            },
        ]
    }

    /// The chart in one sentence.
    pub fn summary(&self) -> String {
        let sum = |f: fn(&DayBar) -> u64| self.days.iter().map(f).sum::<u64>();
        let (imports, passed, warned, failed) = (
            sum(|d| d.imports),
            sum(|d| d.passed),
            sum(|d| d.warned),
            sum(|d| d.failed),
        );
        match (self.days.first(), self.days.last()) {
            (Some(first), Some(last)) => format!(
                "From {} to {}: {imports} import{}, {} artifacts judged: {passed} passed, \
                 {warned} warned, {failed} failed.",
                first.day,
                last.day,
                plural(imports),
                passed + warned + failed
            ),
            _ => "No days to show.".into(),
        }
    }
}

/// One import's trust freshness: how long the first role to expire still had to run at the
/// archive time it was verified as of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginPoint {
    /// The import.
    pub import_id: i64,
    /// The TUF repository.
    pub repository: String,
    /// The archive time (as shown).
    pub at: String,
    /// The role that expires first.
    pub role: String,
    /// Seconds from the archive time to that expiry (negative: it had expired).
    pub margin: i64,
}

/// A point of the freshness chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Dot {
    /// Where.
    pub x: f64,
    /// Where.
    pub y: f64,
    /// `passed` (a day or more left), `warned` (less) or `failed` (expired): the verdict colours.
    pub state: &'static str,
    /// Its numbers in words.
    pub label: String,
}

/// The trust freshness margin of the latest imports that updated trust, oldest first.
#[derive(Debug, Clone, Default)]
pub struct MarginChart {
    /// The points.
    pub points: Vec<MarginPoint>,
}

impl MarginChart {
    /// The largest margin drawn, in seconds (at least a day).
    fn top(&self) -> i64 {
        self.points
            .iter()
            .map(|p| p.margin)
            .max()
            .unwrap_or(0)
            .max(86_400)
    }

    /// The smallest, at most zero (so the zero line is always drawn).
    fn bottom(&self) -> i64 {
        self.points
            .iter()
            .map(|p| p.margin)
            .min()
            .unwrap_or(0)
            .min(0)
    }

    fn y(&self, margin: i64) -> f64 {
        let span = (self.top() - self.bottom()) as f64;
        let h = f64::from(HEIGHT) - BOTTOM - TOP;
        round(TOP + (self.top() - margin) as f64 / span * h)
    }

    fn x(&self, i: usize) -> f64 {
        let slot = (f64::from(WIDTH) - LEFT) / self.points.len().max(1) as f64;
        round(LEFT + (i as f64 + 0.5) * slot)
    }

    /// The points.
    pub fn dots(&self) -> Vec<Dot> {
        self.points
            .iter()
            .enumerate()
            .map(|(i, p)| Dot {
                x: self.x(i),
                y: self.y(p.margin),
                state: match p.margin {
                    m if m < 0 => "failed",
                    m if m < 86_400 => "warned",
                    _ => "passed",
                },
                label: format!(
                    "import #{} ({}), archive time {}: {} {}",
                    p.import_id,
                    p.repository,
                    p.at,
                    p.role,
                    margin_text(p.margin)
                ),
            })
            .collect()
    }

    /// The line through the points (`x,y x,y …`).
    pub fn line(&self) -> String {
        self.dots()
            .iter()
            .map(|d| format!("{},{}", d.x, d.y))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The height of the zero line (expired below it).
    pub fn zero_y(&self) -> f64 {
        self.y(0)
    }

    /// The value axis: the largest margin and zero.
    pub fn value_labels(&self) -> Vec<Label> {
        vec![
            Label {
                x: LEFT - 6.0,
                y: TOP + 10.0,
                text: format!("{} d", self.top() / 86_400),
                anchor: "end",
            },
            Label {
                x: LEFT - 6.0,
                y: self.zero_y() + 5.0,
                text: "0".into(),
                anchor: "end",
            },
        ]
    }

    /// The chart in one sentence.
    pub fn summary(&self) -> String {
        let Some(last) = self.points.last() else {
            return "No import has updated trust since this version recorded it.".into();
        };
        let least = self.points.iter().min_by_key(|p| p.margin).unwrap_or(last);
        format!(
            "The latest of {} import{} updating trust (#{}) had its {} role {}; the least \
             margin was import #{}'s, {} {}.",
            self.points.len(),
            plural(self.points.len() as u64),
            last.import_id,
            last.role,
            margin_text(last.margin),
            least.import_id,
            least.role,
            margin_text(least.margin)
        )
    }
}

/// `expiring 6 d 22 h after the archive time` / `already expired 3 h before it`.
fn margin_text(margin: i64) -> String {
    if margin >= 0 {
        format!("expiring {} after the archive time", age(margin))
    } else {
        format!("already expired {} before the archive time", age(-margin))
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// To a tenth of a unit: enough for the screen, short in the page.
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(day: &str, imports: u64, passed: u64, warned: u64, failed: u64) -> DayBar {
        DayBar {
            day: day.into(),
            imports,
            passed,
            warned,
            failed,
        }
    }

    #[test]
    fn bars_stack_by_verdict_on_one_scale_and_say_their_numbers() {
        let chart = VerdictChart {
            days: vec![
                day("2026-03-01", 1, 6, 1, 3),
                day("2026-03-02", 0, 0, 0, 0),
                day("2026-03-03", 2, 5, 0, 0),
            ],
        };
        assert_eq!(chart.max(), 10);
        let rects = chart.rects();
        let verdicts: Vec<&str> = rects.iter().map(|r| r.verdict).collect();
        assert_eq!(verdicts, ["passed", "warned", "failed", "passed"]);
        // 144 units for 10 artifacts: 14.4 each; the stack sits on the axis at 156.
        assert_eq!((rects[0].y, rects[0].h), (69.6, 86.4));
        assert_eq!((rects[1].y, rects[1].h), (55.2, 14.4));
        assert_eq!((rects[2].y, rects[2].h), (TOP, 43.2));
        assert_eq!(rects[3].h, 72.0);
        assert!(rects[3].x > rects[0].x);
        assert_eq!(
            rects[2].label,
            "2026-03-01: 3 failed of 10 artifacts in 1 import"
        );
        assert_eq!(
            rects[3].label,
            "2026-03-03: 5 passed of 5 artifacts in 2 imports"
        );
        let days: Vec<(String, &str)> = chart
            .day_labels()
            .into_iter()
            .map(|l| (l.text, l.anchor))
            .collect();
        assert_eq!(
            days,
            [
                ("03-01".to_owned(), "start"),
                ("03-02".to_owned(), "middle"),
                ("03-03".to_owned(), "end")
            ]
        );
        assert_eq!(chart.value_labels()[1].text, "10");
        assert_eq!(
            chart.summary(),
            "From 2026-03-01 to 2026-03-03: 3 imports, 15 artifacts judged: 11 passed, 1 \
             warned, 3 failed."
        );
        let empty = VerdictChart::default();
        assert!(empty.rects().is_empty() && empty.day_labels().is_empty());
        assert_eq!(empty.max(), 1);
    }

    #[test]
    fn margins_fall_towards_the_zero_line_and_an_expired_one_lies_below_it() {
        let point = |id, margin| MarginPoint {
            import_id: id,
            repository: "sigstore".into(),
            at: "2026-03-01 00:00:00 UTC".into(),
            role: "timestamp".into(),
            margin,
        };
        let chart = MarginChart {
            points: vec![point(1, 7 * 86_400), point(2, 3_600), point(3, -7_200)],
        };
        let dots = chart.dots();
        let states: Vec<&str> = dots.iter().map(|d| d.state).collect();
        assert_eq!(states, ["passed", "warned", "failed"]);
        assert!(dots[0].y < dots[1].y && dots[1].y < chart.zero_y());
        assert!(dots[2].y > chart.zero_y());
        assert_eq!(dots[0].y, TOP);
        assert_eq!(dots[2].y, f64::from(HEIGHT) - BOTTOM);
        assert_eq!(
            dots[2].label,
            "import #3 (sigstore), archive time 2026-03-01 00:00:00 UTC: timestamp already \
             expired 2 h 0 min before the archive time"
        );
        assert_eq!(chart.line().split(' ').count(), 3);
        assert_eq!(chart.value_labels()[0].text, "7 d");
        assert_eq!(
            chart.summary(),
            "The latest of 3 imports updating trust (#3) had its timestamp role already \
             expired 2 h 0 min before the archive time; the least margin was import #3's, \
             timestamp already expired 2 h 0 min before the archive time."
        );
        assert_eq!(
            MarginChart::default().summary(),
            "No import has updated trust since this version recorded it."
        );
    }
}
