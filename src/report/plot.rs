//! Plots of the assessment (plotters, font-free): longitudinal profiles with class bands, section time series
//! with the target limit, a network map coloured by class, and kilometres per class as stacked bars.
//!
//! Each drawing function takes plain data (vectors and names, no model) and writes one image to the path the
//! caller gives — drawn into a temporary sibling file and renamed over the path, so a failure never leaves half
//! an image: SVG if the path ends in `.svg`, PNG otherwise. Text uses the font compiled into the
//! binary ([`crate::fonts`]: Latin and Chinese), so no system font is needed; an SVG carries the subset of the
//! font its text uses.
//!
//! [`standard_plots`] builds the data from a model, its run results and their assessment, and writes the
//! standard set into a directory.
//!
//! Class colours follow the usual water-quality map convention (blue I–II, green III, yellow IV, orange V,
//! red V+); grey marks what could not be classified.

use super::chains::river_chains;
use super::names::FileNames;
use crate::lang::Lang;
use crate::model::{Model, WaterBody};
use crate::network::Network;
use crate::targets::assess::sample_indices;
use crate::targets::gb3838::{Direction, Limits, Param, limits};
use crate::targets::{Assessment, Class, ClassKm};
use crate::transport::RunResults;
use chrono::{NaiveDateTime, TimeDelta};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// A plot that could not be drawn or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("plot {path}: {message}")]
pub struct PlotError {
    /// The file being written.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// The colour of a class (`None`: not classified).
pub fn class_color(c: Option<Class>) -> RGBColor {
    match c {
        Some(Class::I) => RGBColor(0, 92, 185),
        Some(Class::II) => RGBColor(0, 170, 235),
        Some(Class::III) => RGBColor(40, 170, 60),
        Some(Class::IV) => RGBColor(240, 200, 0),
        Some(Class::V) => RGBColor(255, 120, 0),
        Some(Class::VPlus) => RGBColor(200, 0, 0),
        None => RGBColor(150, 150, 150),
    }
}

type Drawn = Result<(), String>;

fn m<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn;
}

/// Draw into a temporary sibling file (same extension, so the backend picks the same format) and rename it
/// over `path`, so a failed plot never leaves half an image over a good one.
fn render<F: Figure>(fig: &F, path: &Path) -> Result<(), PlotError> {
    crate::fonts::register();
    let svg = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let tmp = super::temp_sibling(path, if svg { "partial.svg" } else { "partial.png" });
    let res = if svg {
        let mut text = String::new();
        let drawn = {
            let root = SVGBackend::with_string(&mut text, fig.size()).into_drawing_area();
            fig.draw(&root).and_then(|_| root.present().map_err(m))
        };
        drawn.and_then(|_| std::fs::write(&tmp, crate::fonts::embed_in_svg(&text)).map_err(m))
    } else {
        let root = BitMapBackend::new(&tmp, fig.size()).into_drawing_area();
        fig.draw(&root).and_then(|_| root.present().map_err(m))
    };
    let res = res.and_then(|_| std::fs::rename(&tmp, path).map_err(m));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(|message| PlotError {
        path: path.to_path_buf(),
        message,
    })
}

/// Draw a PNG of `size` pixels with `draw` into a temporary sibling of `path` and rename it over `path`, so a
/// failed plot never leaves half an image over a good one. The caller registers its fonts first.
pub(crate) fn png_via_partial(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Drawn,
) -> Drawn {
    let tmp = super::temp_sibling(path, "partial.png");
    let res = {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        draw(&root)
    };
    let res = res.and_then(|_| std::fs::rename(&tmp, path).map_err(m));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// The series legend in the upper right corner on a white box of opacity `background_alpha`, text of
/// `font_px` pixels.
fn upper_right_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    background_alpha: f64,
    font_px: u32,
) -> Drawn {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(background_alpha))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", font_px))
        .draw()
        .map_err(m)
}

fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|v| v.is_finite()).fold(None, |acc, v| {
        Some(acc.map_or((v, v), |(a, b): (f64, f64)| (a.min(v), b.max(v))))
    })
}

/// Class bands of one parameter (GB 3838 limits) for a y range `[0, y_max]`: `(class, low, high)`.
fn bands(l: &Limits, y_max: f64) -> Vec<(Class, f64, f64)> {
    let mut out = Vec::new();
    match l.direction {
        Direction::Max => {
            let mut low = 0.0;
            for (k, c) in Class::ALL.iter().enumerate() {
                let high = if k < 5 { l.mg_l[k].min(y_max) } else { y_max };
                if high > low {
                    out.push((*c, low, high));
                }
                low = low.max(high);
            }
        }
        Direction::Min => {
            let mut high = y_max;
            for (k, c) in Class::ALL.iter().enumerate() {
                let low = if k < 5 { l.mg_l[k].min(y_max) } else { 0.0 };
                if high > low {
                    out.push((*c, low, high));
                }
                high = high.min(low);
            }
        }
    }
    out
}

/// The y range that shows the data and the class limits that matter: up to the class V limit (maximum) or
/// the class I limit (DO), or the data if higher, plus 15 %.
fn y_max_with_limits(data_max: f64, l: Option<&Limits>) -> f64 {
    let lim = l.map_or(0.0, |l| match l.direction {
        Direction::Max => l.mg_l[4],
        Direction::Min => l.mg_l[0],
    });
    let top = data_max.max(lim) * 1.15;
    if top > 0.0 { top } else { 1.0 }
}

// ------------------------------------------------------------------------------------------ profile

/// One parameter of a longitudinal profile.
#[derive(Debug, Clone)]
pub struct ProfilePanel {
    /// Parameter name, e.g. `NH3N`.
    pub parameter: String,
    /// Values along the river, mg/L, one per point of `Profile::distance_km`.
    pub conc_mg_l: Vec<f64>,
    /// GB 3838 limits to draw as class bands, if the parameter has them.
    pub limits: Option<Limits>,
    /// Section values: (distance km, value mg/L, section id).
    pub sections: Vec<(f64, f64, String)>,
}

/// A longitudinal profile: concentration along a chain of reaches.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Title, e.g. `Profile of Main River (period mean)`.
    pub title: String,
    /// Distance along the river from its upstream end, km (non-decreasing).
    pub distance_km: Vec<f64>,
    /// One panel per parameter, stacked.
    pub panels: Vec<ProfilePanel>,
    /// Reach boundaries: (distance km, id of the reach that starts there).
    pub reach_starts: Vec<(f64, String)>,
    /// Legend text of the line and of the section markers, e.g. `("cell mean", "section")`.
    pub legend: (String, String),
}

impl Figure for Profile {
    fn size(&self) -> (u32, u32) {
        (1100, 80 + 300 * self.panels.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(m)?;
        let (top, body) = root.split_vertically(50);
        top.titled(
            &self.title,
            ("sans-serif", 26).into_font().style(FontStyle::Bold),
        )
        .map_err(m)?;
        // legend in the title bar, out of the way of the data
        let (w, _) = top.dim_in_pixel();
        let lx = w as i32 - 330;
        let key = RGBColor(120, 0, 160);
        top.draw(&PathElement::new(
            vec![(lx, 40), (lx + 28, 40)],
            BLACK.stroke_width(3),
        ))
        .map_err(m)?;
        top.draw(&Text::new(
            self.legend.0.as_str(),
            (lx + 34, 32),
            ("sans-serif", 15),
        ))
        .map_err(m)?;
        top.draw(&Circle::new((lx + 150, 40), 6, key.filled()))
            .map_err(m)?;
        top.draw(&Text::new(
            self.legend.1.as_str(),
            (lx + 162, 32),
            ("sans-serif", 15),
        ))
        .map_err(m)?;
        let (x0, x1) = finite_range(self.distance_km.iter().copied()).unwrap_or((0.0, 1.0));
        let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
        let areas = body.split_evenly((self.panels.len().max(1), 1));
        for (panel, area) in self.panels.iter().zip(&areas) {
            let data_max = finite_range(
                panel
                    .conc_mg_l
                    .iter()
                    .copied()
                    .chain(panel.sections.iter().map(|s| s.1)),
            )
            .map_or(0.0, |r| r.1);
            let y_max = y_max_with_limits(data_max, panel.limits.as_ref());
            let mut chart = ChartBuilder::on(area)
                .margin_left(10)
                .margin_right(60)
                .margin_top(10)
                .x_label_area_size(45)
                .y_label_area_size(80)
                .build_cartesian_2d(x0..x1, 0.0..y_max)
                .map_err(m)?;
            if let Some(l) = &panel.limits {
                for (c, lo, hi) in bands(l, y_max) {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(x0, lo), (x1, hi)],
                            class_color(Some(c)).mix(0.22).filled(),
                        )))
                        .map_err(m)?;
                    // class name at the right edge, centred in its band
                    let mid = 0.5 * (lo + hi);
                    if (hi - lo) / y_max > 0.04 {
                        chart
                            .draw_series(std::iter::once(Text::new(
                                c.name().to_string(),
                                (x1, mid),
                                ("sans-serif", 16)
                                    .into_font()
                                    .style(FontStyle::Bold)
                                    .color(&BLACK.mix(0.6)),
                            )))
                            .map_err(m)?;
                    }
                }
            }
            chart
                .configure_mesh()
                .x_desc("Distance from the upstream end (km)")
                .y_desc(format!("{} (mg/L)", panel.parameter))
                .axis_desc_style(("sans-serif", 17))
                .label_style(("sans-serif", 15))
                .light_line_style(BLACK.mix(0.05))
                .draw()
                .map_err(m)?;
            for (x, _) in &self.reach_starts {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(*x, 0.0), (*x, y_max)],
                        BLACK.mix(0.15),
                    )))
                    .map_err(m)?;
            }
            let pts: Vec<(f64, f64)> = self
                .distance_km
                .iter()
                .zip(&panel.conc_mg_l)
                .filter(|(x, v)| x.is_finite() && v.is_finite())
                .map(|(&x, &v)| (x, v))
                .collect();
            chart
                .draw_series(LineSeries::new(pts, BLACK.stroke_width(3)))
                .map_err(m)?;
            if !panel.sections.is_empty() {
                chart
                    .draw_series(
                        panel
                            .sections
                            .iter()
                            .filter(|s| s.1.is_finite())
                            .map(|s| Circle::new((s.0, s.1), 6, RGBColor(120, 0, 160).filled())),
                    )
                    .map_err(m)?;
                if panel.sections.len() <= 15 {
                    chart
                        .draw_series(panel.sections.iter().filter(|s| s.1.is_finite()).map(|s| {
                            EmptyElement::at((s.0, s.1))
                                + Text::new(s.2.clone(), (8, -22), ("sans-serif", 15).into_font())
                        }))
                        .map_err(m)?;
                }
            }
        }
        Ok(())
    }
}

/// Draw a longitudinal profile (one stacked panel per parameter, class limits as coloured bands).
pub fn profile_plot(path: &Path, profile: &Profile) -> Result<(), PlotError> {
    render(profile, path)
}

// ------------------------------------------------------------------------------------------ time series

/// One parameter of a section time series.
#[derive(Debug, Clone)]
pub struct SeriesPanel {
    /// Parameter name.
    pub parameter: String,
    /// Values at `TimeSeries::times_s`, mg/L.
    pub conc_mg_l: Vec<f64>,
    /// The target limit and its label, e.g. `(0.3, "target IV")`.
    pub target: Option<(f64, String)>,
}

/// Concentrations at one section over time.
#[derive(Debug, Clone)]
pub struct TimeSeries {
    /// Title.
    pub title: String,
    /// The scenario start (for date labels).
    pub start: NaiveDateTime,
    /// Output times, seconds since start.
    pub times_s: Vec<f64>,
    /// Warm-up (shaded), seconds.
    pub warmup_s: f64,
    /// One stacked panel per parameter.
    pub panels: Vec<SeriesPanel>,
    /// Indices into `times_s` of the assessment samples to mark with dots (e.g. monthly sampling days); empty
    /// for none.
    pub sample_markers: Vec<usize>,
}

impl Figure for TimeSeries {
    fn size(&self) -> (u32, u32) {
        (1100, 80 + 260 * self.panels.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(m)?;
        let (top, body) = root.split_vertically(50);
        top.titled(
            &self.title,
            ("sans-serif", 26).into_font().style(FontStyle::Bold),
        )
        .map_err(m)?;
        let days: Vec<f64> = self.times_s.iter().map(|t| t / 86400.0).collect();
        let (x0, x1) = finite_range(days.iter().copied()).unwrap_or((0.0, 1.0));
        let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
        let start = self.start;
        let fmt = move |d: &f64| {
            let t = start + TimeDelta::seconds((d * 86400.0).round() as i64);
            t.format("%Y-%m-%d").to_string()
        };
        let x_desc = format!("Date (from {})", self.start.format("%Y-%m-%d %H:%M"));
        let areas = body.split_evenly((self.panels.len().max(1), 1));
        for (panel, area) in self.panels.iter().zip(&areas) {
            let data_max = finite_range(panel.conc_mg_l.iter().copied()).map_or(0.0, |r| r.1);
            let lim = panel.target.as_ref().map_or(0.0, |t| t.0);
            // headroom above the data for the legend box in the upper right
            let y_max = {
                let t = data_max.max(lim) * 1.45;
                if t > 0.0 { t } else { 1.0 }
            };
            let mut chart = ChartBuilder::on(area)
                .margin_left(10)
                .margin_right(30)
                .margin_top(10)
                .x_label_area_size(45)
                .y_label_area_size(80)
                .build_cartesian_2d(x0..x1, 0.0..y_max)
                .map_err(m)?;
            if self.warmup_s > 0.0 {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x0, 0.0), ((self.warmup_s / 86400.0).min(x1), y_max)],
                        BLACK.mix(0.08).filled(),
                    )))
                    .map_err(m)?
                    .label("warm-up (not assessed)")
                    .legend(|(x, y)| {
                        Rectangle::new([(x, y - 6), (x + 20, y + 6)], BLACK.mix(0.15).filled())
                    });
            }
            chart
                .configure_mesh()
                .x_desc(x_desc.as_str())
                .y_desc(format!("{} (mg/L)", panel.parameter))
                .x_label_formatter(&fmt)
                .x_labels(10)
                .axis_desc_style(("sans-serif", 17))
                .label_style(("sans-serif", 15))
                .light_line_style(BLACK.mix(0.05))
                .draw()
                .map_err(m)?;
            let pts: Vec<(f64, f64)> = days
                .iter()
                .zip(&panel.conc_mg_l)
                .filter(|(_, v)| v.is_finite())
                .map(|(&x, &v)| (x, v))
                .collect();
            chart
                .draw_series(LineSeries::new(pts, RGBColor(0, 70, 160).stroke_width(2)))
                .map_err(m)?
                .label(panel.parameter.as_str())
                .legend(|(x, y)| {
                    PathElement::new(
                        vec![(x, y), (x + 20, y)],
                        RGBColor(0, 70, 160).stroke_width(2),
                    )
                });
            if !self.sample_markers.is_empty() {
                let marks = self.sample_markers.iter().filter_map(|&i| {
                    let (x, v) = (*days.get(i)?, *panel.conc_mg_l.get(i)?);
                    v.is_finite()
                        .then(|| Circle::new((x, v), 5, RGBColor(120, 0, 160).filled()))
                });
                chart
                    .draw_series(marks)
                    .map_err(m)?
                    .label("assessment sample")
                    .legend(|(x, y)| Circle::new((x + 10, y), 5, RGBColor(120, 0, 160).filled()));
            }
            if let Some((l, name)) = &panel.target {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(x0, *l), (x1, *l)],
                        10,
                        6,
                        RED.stroke_width(2),
                    ))
                    .map_err(m)?
                    .label(format!("{name}: {l} mg/L"))
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2))
                    });
            }
            upper_right_legend(&mut chart, 0.85, 15)?;
        }
        Ok(())
    }
}

/// Draw the time series at a section (one stacked panel per parameter, with the target limit dashed).
pub fn time_series_plot(path: &Path, ts: &TimeSeries) -> Result<(), PlotError> {
    render(ts, path)
}

// ------------------------------------------------------------------------------------------ map

/// One reach on the map.
#[derive(Debug, Clone)]
pub struct MapLine {
    /// Reach id.
    pub id: String,
    /// Polyline (x, y), metres.
    pub points: Vec<(f64, f64)>,
    /// Class (`None`: not classified).
    pub class: Option<Class>,
}

/// A network map coloured by class.
#[derive(Debug, Clone)]
pub struct NetworkMap {
    /// Title.
    pub title: String,
    /// Reaches.
    pub lines: Vec<MapLine>,
    /// Nodes: (x, y, id).
    pub nodes: Vec<(f64, f64, String)>,
    /// Sections: (x, y, id), drawn as labelled markers.
    pub sections: Vec<(f64, f64, String)>,
    /// Draw reach ids (sensible up to a few dozen reaches).
    pub labels: bool,
}

impl Figure for NetworkMap {
    fn size(&self) -> (u32, u32) {
        (1100, 900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(m)?;
        let pts = || {
            self.lines
                .iter()
                .flat_map(|l| l.points.iter().copied())
                .chain(self.nodes.iter().map(|n| (n.0, n.1)))
        };
        let (xa, xb) = finite_range(pts().map(|p| p.0)).ok_or("no coordinates to draw")?;
        let (ya, yb) = finite_range(pts().map(|p| p.1)).ok_or("no coordinates to draw")?;
        // equal scales on both axes: widen the narrower range to the plot's aspect ratio (~1000 × 720 px)
        let (w, h) = ((xb - xa).max(1.0) / 1000.0, (yb - ya).max(1.0) / 1000.0);
        let span_x = ((xb - xa).max(1.0)).max(h * 1000.0 * 1000.0 / 720.0) * 1.08;
        let span_y = ((yb - ya).max(1.0)).max(w * 1000.0 * 720.0 / 1000.0) * 1.08;
        let (cx, cy) = (0.5 * (xa + xb), 0.5 * (ya + yb));
        let (x0, x1, y0, y1) = (
            (cx - span_x / 2.0) / 1000.0,
            (cx + span_x / 2.0) / 1000.0,
            (cy - span_y / 2.0) / 1000.0,
            (cy + span_y / 2.0) / 1000.0,
        );
        let mut chart = ChartBuilder::on(root)
            .caption(
                &self.title,
                ("sans-serif", 26).into_font().style(FontStyle::Bold),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(m)?;
        chart
            .configure_mesh()
            .x_desc("x (km)")
            .y_desc("y (km)")
            .axis_desc_style(("sans-serif", 17))
            .label_style(("sans-serif", 15))
            .light_line_style(BLACK.mix(0.04))
            .draw()
            .map_err(m)?;
        for l in &self.lines {
            let p: Vec<(f64, f64)> = l
                .points
                .iter()
                .map(|&(x, y)| (x / 1000.0, y / 1000.0))
                .collect();
            chart
                .draw_series(std::iter::once(PathElement::new(
                    p,
                    class_color(l.class).stroke_width(6),
                )))
                .map_err(m)?;
        }
        chart
            .draw_series(
                self.nodes
                    .iter()
                    .map(|n| Circle::new((n.0 / 1000.0, n.1 / 1000.0), 4, BLACK.mix(0.7).filled())),
            )
            .map_err(m)?;
        let key = RGBColor(120, 0, 160);
        chart
            .draw_series(self.sections.iter().map(|s| {
                EmptyElement::at((s.0 / 1000.0, s.1 / 1000.0))
                    + Rectangle::new([(-6, -6), (6, 6)], key.filled())
                    + Text::new(
                        s.2.clone(),
                        (9, -20),
                        ("sans-serif", 15).into_font().color(&key),
                    )
            }))
            .map_err(m)?;
        if !self.sections.is_empty() {
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
                .map_err(m)?
                .label("section")
                .legend(move |(x, y)| {
                    Rectangle::new([(x + 6, y - 6), (x + 18, y + 6)], key.filled())
                });
        }
        if self.labels {
            chart
                .draw_series(self.lines.iter().filter(|l| !l.points.is_empty()).map(|l| {
                    let mid = l.points[l.points.len() / 2];
                    let mid = if l.points.len() == 2 {
                        (
                            0.5 * (l.points[0].0 + l.points[1].0),
                            0.5 * (l.points[0].1 + l.points[1].1),
                        )
                    } else {
                        mid
                    };
                    EmptyElement::at((mid.0 / 1000.0, mid.1 / 1000.0))
                        + Text::new(l.id.clone(), (6, 6), ("sans-serif", 14).into_font())
                }))
                .map_err(m)?;
        }
        // legend: one entry per class present (and grey if any reach is unclassified)
        let mut present: Vec<Option<Class>> = self.lines.iter().map(|l| l.class).collect();
        present.sort();
        present.dedup();
        for c in present {
            let col = class_color(c);
            let name = c.map_or("not classified".to_string(), |c| format!("class {c}"));
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                .map_err(m)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], col.stroke_width(6))
                });
        }
        upper_right_legend(&mut chart, 0.9, 16)?;
        Ok(())
    }
}

/// Draw the network map coloured by class. Errors if no line or node has coordinates.
pub fn network_map_plot(path: &Path, map: &NetworkMap) -> Result<(), PlotError> {
    render(map, path)
}

// ------------------------------------------------------------------------------------------ km bars

struct KmBars<'a> {
    title: &'a str,
    sets: &'a [(String, ClassKm)],
}

impl Figure for KmBars<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 170 + 90 * self.sets.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        root.fill(&WHITE).map_err(m)?;
        let (w, _) = root.dim_in_pixel();
        let (left, legend) = root.split_horizontally(w.saturating_sub(150));
        let root = &left;
        for (k, c) in Class::ALL.iter().enumerate() {
            let y = 70 + 26 * k as i32;
            legend
                .draw(&Rectangle::new(
                    [(10, y), (32, y + 16)],
                    class_color(Some(*c)).filled(),
                ))
                .map_err(m)?;
            legend
                .draw(&Text::new(
                    format!("class {c}"),
                    (40, y),
                    ("sans-serif", 16),
                ))
                .map_err(m)?;
        }
        let n = self.sets.len().max(1);
        let x_max = self
            .sets
            .iter()
            .map(|s| s.1.total())
            .fold(0.0, f64::max)
            .max(1e-9)
            * 1.02;
        let names: Vec<String> = self.sets.iter().map(|s| s.0.clone()).collect();
        let label = move |y: &f64| {
            let k = y.round();
            if (y - k).abs() < 1e-6 && k >= 0.0 {
                names.get(k as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let mut chart = ChartBuilder::on(root)
            .caption(
                self.title,
                ("sans-serif", 26).into_font().style(FontStyle::Bold),
            )
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(170)
            .build_cartesian_2d(0.0..x_max, -0.6..(n as f64 - 0.4))
            .map_err(m)?;
        chart
            .configure_mesh()
            .x_desc("River length (km)")
            .y_label_formatter(&label)
            .y_labels(2 * n + 1)
            .disable_y_mesh()
            .axis_desc_style(("sans-serif", 17))
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(m)?;
        for (k, (_, km)) in self.sets.iter().enumerate() {
            let y = k as f64;
            let mut x = 0.0;
            for c in Class::ALL {
                let v = km.get(c);
                if v <= 0.0 {
                    continue;
                }
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, y - 0.32), (x + v, y + 0.32)],
                        class_color(Some(c)).filled(),
                    )))
                    .map_err(m)?;
                if v / x_max > 0.06 {
                    let txt = format!("{v:.1}");
                    chart
                        .draw_series(std::iter::once(Text::new(
                            txt,
                            (x + 0.01 * x_max, y + 0.12),
                            ("sans-serif", 15).into_font().color(&WHITE),
                        )))
                        .map_err(m)?;
                }
                x += v;
            }
        }
        Ok(())
    }
}

/// Draw kilometres per class as one stacked horizontal bar per set (e.g. before / after, or the three views
/// of the river statistics), segments coloured by class and labelled with their km.
pub fn class_km_bars_plot(
    path: &Path,
    title: &str,
    sets: &[(String, ClassKm)],
) -> Result<(), PlotError> {
    render(&KmBars { title, sets }, path)
}

// ------------------------------------------------------------------------------------------ the standard set

/// A plot written by [`standard_plots`].
#[derive(Debug, Clone, PartialEq)]
pub struct PlotFile {
    /// Where it was written.
    pub path: PathBuf,
    /// A one-line caption.
    pub caption: String,
}

/// The period-mean profile of a chain of reaches for the GB 3838 parameters simulated, with the sections on the
/// chain: cell by cell (each cell's mean over the samples after the warm-up, drawn at its centre, so an outfall
/// shows as a peak where it enters) when the results hold cell means, else one value per reach (its
/// volume-weighted mean), drawn as a step.
pub fn chain_profile(
    model: &Model,
    net: &Network,
    results: &RunResults,
    name: &str,
    chain: &[usize],
    lang: Lang,
) -> Profile {
    let np = model.pollutants.len();
    let samples = sample_indices(model, results);
    let by_cell = results.mean_cell_conc.len() == np
        && results
            .mean_cell_conc
            .iter()
            .all(|c| c.len() == net.n_cells);
    let mean = |r: usize, p: usize| {
        if samples.is_empty() {
            f64::NAN
        } else {
            samples
                .iter()
                .map(|&i| results.reach_conc[i][r * np + p])
                .sum::<f64>()
                / samples.len() as f64
        }
    };
    let sec_mean = |s: usize, p: usize| {
        if samples.is_empty() {
            f64::NAN
        } else {
            samples
                .iter()
                .map(|&i| results.section_conc[i][s * np + p])
                .sum::<f64>()
                / samples.len() as f64
        }
    };
    // the x of every plotted point, and for each point the (reach, cell) it shows
    let mut distance_km = Vec::new();
    let mut points: Vec<(usize, Option<usize>)> = Vec::new();
    let mut reach_starts = Vec::new();
    let mut x = 0.0;
    for &r in chain {
        let l = model.reaches[r].length_m / 1000.0;
        reach_starts.push((x, model.reaches[r].id.clone()));
        if by_cell {
            for g in net.cells_of(r) {
                distance_km.push(x + net.cell_x_m[g] / 1000.0);
                points.push((r, Some(g)));
            }
        } else {
            distance_km.extend([x, x + l]);
            points.extend([(r, None), (r, None)]);
        }
        x += l;
    }
    let body = chain
        .first()
        .map_or(WaterBody::River, |&r| model.reaches[r].water_body);
    // the sections on each reach of the chain, in model order (one pass over the sections, not one per reach)
    let mut sections_on: std::collections::HashMap<usize, Vec<usize>> =
        chain.iter().map(|&r| (r, Vec::new())).collect();
    for (s, sec) in model.sections.iter().enumerate() {
        if let Some(list) = sections_on.get_mut(&sec.reach) {
            list.push(s);
        }
    }
    let panels = (0..np)
        .filter_map(|p| Param::from_name(&model.pollutants[p]).map(|q| (p, q)))
        .filter(|(_, q)| q.applies_by_default(body))
        .map(|(p, q)| {
            let conc = points
                .iter()
                .map(|&(r, g)| match g {
                    Some(g) => results.mean_cell_conc[p][g],
                    None => mean(r, p),
                })
                .collect();
            let mut sections = Vec::new();
            let mut x = 0.0;
            for &r in chain {
                for &s in &sections_on[&r] {
                    let sec = &model.sections[s];
                    sections.push((x + sec.at_m / 1000.0, sec_mean(s, p), sec.id.clone()));
                }
                x += model.reaches[r].length_m / 1000.0;
            }
            ProfilePanel {
                parameter: model.pollutants[p].clone(),
                conc_mg_l: conc,
                limits: Some(limits(q, body)),
                sections,
            }
        })
        .collect();
    Profile {
        title: match lang {
            Lang::En => format!("Profile of {name}: period-mean concentration and GB 3838 classes"),
            Lang::Zh => format!(
                "{}{name}：{}",
                lang.t("Profile of"),
                lang.t("period-mean concentration and GB 3838 classes")
            ),
        },
        distance_km,
        panels,
        reach_starts,
        legend: (
            lang.t(if by_cell { "cell mean" } else { "reach mean" })
                .to_string(),
            lang.t("section").to_string(),
        ),
    }
}

/// Write the standard set of plots into `dir` (which must exist): `map.png` (when coordinates exist),
/// `classes_km.png` (the three views of the river statistics), `profile_<river>.png` (up to four longest
/// chains), and `section_<id>.png` per section. Returns the files written, in report order.
pub fn standard_plots(
    model: &Model,
    net: &Network,
    results: &RunResults,
    assessment: &Assessment,
    dir: &Path,
    lang: Lang,
) -> Result<Vec<PlotFile>, PlotError> {
    let mut out = Vec::new();
    let np = model.pollutants.len();

    // map
    let xy = |n: usize| model.nodes.get(n).and_then(|n| n.xy);
    // each reach's line on the map (absent without coordinates)
    let mut line_of: Vec<Option<usize>> = vec![None; model.reaches.len()];
    let mut lines: Vec<MapLine> = Vec::new();
    for (r, reach) in model.reaches.iter().enumerate() {
        let points = if reach.geometry.len() >= 2 {
            reach.geometry.clone()
        } else if let (Some(a), Some(b)) = (xy(reach.from), xy(reach.to)) {
            vec![a, b]
        } else {
            continue;
        };
        line_of[r] = Some(lines.len());
        lines.push(MapLine {
            id: reach.id.clone(),
            points,
            class: assessment.rivers.reach_class.get(r).copied().flatten(),
        });
    }
    if !lines.is_empty() {
        let path = dir.join("map.png");
        let sections = model
            .sections
            .iter()
            .filter_map(|sec| {
                let reach = model.reaches.get(sec.reach)?;
                let line = &lines[line_of[sec.reach]?];
                let (x, y) =
                    super::geojson::along(&line.points, sec.at_m / reach.length_m.max(1e-9));
                Some((x, y, sec.id.clone()))
            })
            .collect();
        let map = NetworkMap {
            title: lang.t("Network by GB 3838 class (period mean)").into(),
            sections,
            labels: lines.len() <= 40,
            lines,
            nodes: model
                .nodes
                .iter()
                .filter_map(|n| n.xy.map(|(x, y)| (x, y, n.id.clone())))
                .collect(),
        };
        network_map_plot(&path, &map)?;
        out.push(PlotFile {
            path,
            caption: lang
                .t("Reaches coloured by the class of their period-mean concentrations")
                .into(),
        });
    }

    // km bars
    let path = dir.join("classes_km.png");
    let rv = &assessment.rivers;
    class_km_bars_plot(
        &path,
        lang.t("River length per class"),
        &[
            (lang.t("period mean").into(), rv.period_mean.km),
            (lang.t("time-weighted").into(), rv.time_weighted.km),
            (lang.t("worst month").into(), rv.worst_month.km),
        ],
    )?;
    out.push(PlotFile {
        path,
        caption: lang
            .t("Kilometres per class: by period-mean concentration, averaged over time, and in each reach's worst month")
            .into(),
    });

    // profiles
    let mut profile_names = FileNames::new();
    for (name, chain) in river_chains(model).into_iter().take(4) {
        let prof = chain_profile(model, net, results, &name, &chain, lang);
        if prof.panels.is_empty() {
            continue;
        }
        let path = dir.join(format!("profile_{}.png", profile_names.stem(&name)));
        profile_plot(&path, &prof)?;
        out.push(PlotFile {
            path,
            caption: format!(
                "{} {name} ({} {} … {})",
                lang.t("Longitudinal profile of"),
                lang.t("reaches"),
                model.reaches[chain[0]].id,
                {
                    let last = chain[chain.len() - 1];
                    &model.reaches[last].id
                }
            ),
        });
    }

    // sections
    let mut section_names = FileNames::new();
    for (s, sa) in assessment.sections.iter().enumerate() {
        // every section takes its name in section order, plotted or not, so names do not shift
        let stem = section_names.stem(&sa.id);
        let Some(sec) = model.sections.get(s) else {
            continue;
        };
        let body = model
            .reaches
            .get(sec.reach)
            .map_or(WaterBody::River, |r| r.water_body);
        let panels: Vec<SeriesPanel> = sa
            .parameters
            .iter()
            .filter_map(|&p| {
                let q = Param::from_name(&model.pollutants[p])?;
                let lim = limits(q, body).limit(sa.target)?;
                Some(SeriesPanel {
                    parameter: model.pollutants[p].clone(),
                    conc_mg_l: results
                        .section_conc
                        .iter()
                        .map(|row| row[s * np + p])
                        .collect(),
                    target: Some((
                        lim,
                        format!("{} {}", lang.t("target"), lang.class(sa.target.name())),
                    )),
                })
            })
            .collect();
        if panels.is_empty() {
            continue;
        }
        let zone = sa
            .zone
            .as_deref()
            .map_or(String::new(), |z| format!("{} {z}, ", lang.t("zone")));
        let ts = TimeSeries {
            title: format!(
                "{} {} ({zone}{} {}, {} {})",
                lang.t("Section"),
                sa.id,
                lang.t("target"),
                lang.class(sa.target.name()),
                lang.t("period class"),
                sa.class.map_or("-".into(), |c| lang.class(c.name()))
            ),
            start: model.sim.start,
            times_s: results.output_times_s.clone(),
            warmup_s: model.sim.warmup_s,
            panels,
            // mark the samples when they are a selection (monthly sampling), not every output time
            sample_markers: if sa.sample_indices.len() < results.output_times_s.len() / 2 {
                sa.sample_indices.clone()
            } else {
                Vec::new()
            },
        };
        let path = dir.join(format!("section_{stem}.png"));
        time_series_plot(&path, &ts)?;
        out.push(PlotFile {
            path,
            caption: format!(
                "{} {} {}",
                lang.t("Concentrations at section"),
                sa.id,
                lang.t("with the target limit")
            ),
        });
    }
    Ok(out)
}
