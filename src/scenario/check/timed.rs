//! Values that may vary in time: a constant key or a column of a time-series CSV file (`…_series`), and
//! concentrations per pollutant from a table and/or a series file. Files are read once however many items
//! name them.

use super::super::parse::Loc;
use super::super::raw::PollutantTable;
use super::super::series::{self, TsTable};
use super::checker::{Checker, Opt, Rule};
use crate::model::Series;
use std::rc::Rc;

impl Checker<'_> {
    /// The `interpolate` key: `true` for linear interpolation between the points of a series.
    pub fn interpolate(
        &mut self,
        loc: &Loc,
        item: &str,
        v: Option<&String>,
        has_series: bool,
    ) -> bool {
        match v.map(|s| s.as_str()) {
            None => false,
            Some(s) if !has_series => {
                self.push(
                    loc,
                    item,
                    "interpolate",
                    s,
                    "only with a time series (`…_series`); remove it",
                );
                false
            }
            Some("step") => false,
            Some("linear") => true,
            Some(other) => {
                self.push(loc, item, "interpolate", other, "one of: step, linear");
                false
            }
        }
    }

    /// The time-series file at `rel` (relative to the scenario), read once.
    /// The time-series file `rel` named by `field` of `item` at `loc`. A missing file is reported where it is
    /// named (the scenario file or the CSV row, with its line), with the path it resolved to: paths are relative
    /// to the scenario file's folder, also inside network CSV and GeoJSON files.
    fn ts(&mut self, loc: &Loc, item: &str, field: &str, rel: &str) -> Option<Rc<TsTable>> {
        let path = self.dir.join(rel);
        if let Some(t) = self.ts_cache.get(&path) {
            return t.clone();
        }
        if !path.exists() {
            let expected = format!(
                "an existing time-series CSV file; this path resolves to {} (paths are relative to the folder \
                 of the scenario file, {}, also inside network CSV and GeoJSON files), which does not exist",
                std::path::absolute(&path).unwrap_or(path.clone()).display(),
                self.scenario.display()
            );
            self.push(loc, item, field, rel, expected);
            self.ts_cache.insert(path, None);
            return None;
        }
        let t =
            series::read_table(&path, self.start, &self.pollutants, item, self.probs).map(Rc::new);
        self.ts_cache.insert(path, t.clone());
        t
    }

    /// Column `column` of the time-series file `rel`.
    pub(super) fn column(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        rel: &str,
        column: &str,
        linear: bool,
    ) -> Option<Series> {
        let t = self.ts(loc, item, field, rel)?;
        match t.column(column) {
            Some(v) => Some(Series::Table {
                times_s: t.times_s.clone(),
                values: v.to_vec(),
                linear,
            }),
            None => {
                self.push(
                    loc,
                    item,
                    field,
                    rel,
                    format!(
                        "a time-series file with a column `{column}` (it has: {})",
                        t.columns.join(", ")
                    ),
                );
                None
            }
        }
    }

    /// A flow that must be given, as `flow_m3s` or `flow_series` (inflows, withdrawals); a missing one is a
    /// problem.
    pub fn required_flow(
        &mut self,
        loc: &Loc,
        item: &str,
        flow_m3s: Option<f64>,
        flow_series: Option<&String>,
        linear: bool,
    ) -> Opt<Series> {
        let flow = self.const_or_series(
            loc,
            item,
            ("flow_m3s", flow_m3s),
            ("flow_series", flow_series),
            "flow_m3s",
            linear,
            Rule::FLOW,
        );
        if flow.is_none() {
            self.push(
                loc,
                item,
                "flow_m3s",
                "",
                "a flow in m³/s (0 to 10⁶) or a flow_series file",
            );
        }
        flow
    }

    /// A constant (key and value) or a series file (key and path) whose column `column` is read: exactly
    /// one of them.
    #[allow(clippy::too_many_arguments)]
    pub fn const_or_series(
        &mut self,
        loc: &Loc,
        item: &str,
        (cfield, c): (&str, Option<f64>),
        (sfield, s): (&str, Option<&String>),
        column: &str,
        linear: bool,
        rule: Rule,
    ) -> Opt<Series> {
        match (c, s) {
            (Some(_), Some(_)) => {
                self.push(
                    loc,
                    item,
                    sfield,
                    "",
                    format!("either `{cfield}` or `{sfield}`, not both"),
                );
                Some(None)
            }
            (Some(v), None) => Some(self.number(loc, item, cfield, v, rule).map(Series::Const)),
            (None, Some(rel)) => Some(self.column(loc, item, sfield, rel, column, linear)),
            (None, None) => None,
        }
    }

    /// Concentrations per pollutant from a constant table and/or a series file (each pollutant in one of
    /// them; absent ones 0).
    pub fn concentrations(
        &mut self,
        loc: &Loc,
        item: &str,
        table: Option<&PollutantTable>,
        series_file: Option<&String>,
        linear: bool,
    ) -> Option<Vec<Series>> {
        let mut out: Vec<Series> = vec![Series::Const(0.0); self.pollutants.len()];
        let mut ok = true;
        if let Some(t) = table {
            match self.table_or_zero(loc, item, "concentration", t, Rule::NON_NEGATIVE) {
                Some(v) => {
                    for (k, x) in v.into_iter().enumerate() {
                        out[k] = Series::Const(x);
                    }
                }
                None => ok = false,
            }
        }
        if let Some(rel) = series_file {
            ok &= self.concentration_columns(loc, item, table, rel, linear, &mut out);
        }
        ok.then_some(out)
    }

    /// The pollutant columns of the series file `rel` into `out`; `false` on a problem.
    fn concentration_columns(
        &mut self,
        loc: &Loc,
        item: &str,
        table: Option<&PollutantTable>,
        rel: &String,
        linear: bool,
        out: &mut [Series],
    ) -> bool {
        let Some(ts) = self.ts(loc, item, "concentration_series", rel) else {
            return false;
        };
        let mut ok = true;
        let mut any = false;
        for (c, name) in ts.columns.iter().enumerate() {
            if let Some(&k) = self.pidx.get(name) {
                any = true;
                if table.is_some_and(|t| t.contains_key(name)) {
                    self.push(
                        loc,
                        item,
                        "concentration",
                        name.clone(),
                        format!(
                            "each pollutant either in `concentration` or in `concentration_series` \
                             ({rel}), not both"
                        ),
                    );
                    ok = false;
                }
                out[k] = Series::Table {
                    times_s: ts.times_s.clone(),
                    values: ts.values[c].clone(),
                    linear,
                };
            }
        }
        if !any {
            let d = self.declared();
            self.push(
                loc,
                item,
                "concentration_series",
                rel.clone(),
                format!("a file with at least one pollutant column ({d})"),
            );
            ok = false;
        }
        ok
    }
}
