//! The chart of the last 30 days' counts: an SVG drawn here, one bar per counted day with its
//! number above it, a dashed outline and a dash for a day without a count (a gap, never a
//! zero-high bar), and the same numbers in a table that only screen readers see. The SVG is an
//! image with a one-sentence summary; nothing depends on colour.

use leptos::prelude::*;

use super::days::{self, ChartDay};
use crate::farm::eggs;
use crate::wire::DayCount;

// Whole SVG units only: no float formatting in the WASM.
/// The width of one day's slot, in SVG units (30 slots across).
const SLOT: i64 = 20;
const BAR: i64 = 14;
/// The top of the plot (room for the numbers above the bars) and its height.
const TOP: i64 = 16;
const PLOT: i64 = 110;
const BASE: i64 = TOP + PLOT;
/// A gap's dashed outline.
const GAP: i64 = 14;
const HEIGHT: i64 = BASE + 22;

#[component]
pub fn CountingChart(today: String, history: Vec<DayCount>) -> impl IntoView {
    let Some(days) = days::last_days(&today, &history) else {
        return view! { <p class="muted">"The chart could not be drawn: the server's date is unreadable."</p> }
            .into_any();
    };
    let max = days::highest(&days);
    let summary = days::summary(&days);
    let title = summary.clone();
    let width = SLOT * days.len() as i64;
    let last = days.len().saturating_sub(1);
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, day)| bar(i, last, day, max))
        .collect_view();
    let rows = days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            view! {
                <tr data-date=day.date.clone() data-testid=(i == last).then_some("chart-today")>
                    <th scope="row"><time datetime=day.date.clone()>{day.label.clone()}</time></th>
                    <td>{day.count.map_or_else(|| "no count".to_owned(), eggs)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="counting-chart">
            <svg
                viewBox=format!("0 0 {width} {HEIGHT}")
                role="img"
                aria-label=summary
                data-testid="counting-chart"
                preserveAspectRatio="xMidYMid meet"
            >
                <title>{title}</title>
                <line class="chart-axis" x1="0" x2=width y1=BASE y2=BASE />
                {bars}
            </svg>
            <figcaption class="chart-legend" aria-hidden="true">
                <span class="swatch swatch-counted"></span>
                " counted (the number above the bar) "
                <span class="swatch swatch-gap"></span>
                " no count that day (–)"
            </figcaption>
            <table class="visually-hidden" data-testid="counting-table">
                <caption>"Eggs counted each day, the last 30 days"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Day"</th>
                        <th scope="col">"Eggs"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </figure>
    }
    .into_any()
}

/// Day `i`'s slot: the bar and its number, or the gap's outline and a dash; the date below
/// every seventh day counting back from today.
fn bar(i: usize, last: usize, day: &ChartDay, max: i64) -> impl IntoView + use<> {
    let x = i as i64 * SLOT + (SLOT - BAR) / 2;
    let middle = x + BAR / 2;
    // Today's date ends at the chart's right edge, so it is not cut off.
    let (label_x, anchor) = if i == last {
        (x + BAR, "end")
    } else {
        (middle, "middle")
    };
    let label = (last - i).is_multiple_of(7).then(|| {
        view! {
            <text class="chart-date" x=label_x y=BASE + 14 text-anchor=anchor>
                {day.label.clone()}
            </text>
        }
    });
    let mark = match day.count {
        Some(count) => {
            let height = days::bar_height(count, max, PLOT);
            view! {
                <title>{format!("{}: {}", day.label, eggs(count))}</title>
                <rect class="chart-bar" x=x y=BASE - height width=BAR height=height />
                <text class="chart-value" x=middle y=BASE - height - 3 text-anchor="middle">
                    {count}
                </text>
            }
            .into_any()
        }
        None => view! {
            <title>{format!("{}: no count", day.label)}</title>
            <rect class="chart-gap" x=x + 1 y=BASE - GAP width=BAR - 2 height=GAP - 1 />
            <text class="chart-value chart-gap-mark" x=middle y=BASE - GAP - 3 text-anchor="middle">
                "–"
            </text>
        }
        .into_any(),
    };
    view! {
        <g class=if day.count.is_some() { "chart-day counted" } else { "chart-day gap" }>{mark}{label}</g>
    }
}
