//! The language of what rivsim writes for people: report.html, the console summary and plot titles (`--lang`,
//! `[report] language`). File names, CSV headers and JSON keys never change with it (DESIGN.md §7).
//!
//! Every phrase is written in English in the code and looked up in one table ([`Lang::t`]); the Chinese follows
//! the words of the river-chief offices and of GB 3838-2002: 劣V类 for worse than class V, 水功能区 for a
//! water-function zone, 达标 / 不达标 for meeting or missing a target, 区级 / 镇级 / 村级 for the river-chief
//! levels.

use std::fmt;

/// A language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// The language of a code: `en` or `zh` (also `zh-CN`, `zh_CN`, `cn`, case-insensitive).
    pub fn parse(code: &str) -> Option<Lang> {
        match code.to_ascii_lowercase().as_str() {
            "en" | "en-gb" | "en-us" => Some(Lang::En),
            "zh" | "zh-cn" | "zh_cn" | "zh-hans" | "cn" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The valid codes, for messages.
    pub const CODES: &'static str = "\"en\" (English) or \"zh\" (简体中文)";

    /// The HTML `lang` attribute.
    pub fn html(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// The phrase `en` in this language. A phrase missing from the table is returned in English (and is a bug
    /// that debug builds report).
    pub fn t(self, en: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Zh => match PHRASES.iter().find(|(e, _)| *e == en) {
                Some((_, zh)) => zh,
                None => {
                    debug_assert!(false, "no Chinese for {en:?}");
                    en
                }
            },
        }
    }

    /// The display name of a GB 3838 class given by its file name (`I` … `V`, `V+`): unchanged in English; I类 …
    /// V类 and 劣V类 in Chinese. Anything else is returned as it is.
    pub fn class(self, name: &str) -> String {
        match self {
            Lang::En => name.to_string(),
            Lang::Zh => match name {
                "I" => "I类".into(),
                "II" => "II类".into(),
                "III" => "III类".into(),
                "IV" => "IV类".into(),
                "V" => "V类".into(),
                "V+" => "劣V类".into(),
                other => other.to_string(),
            },
        }
    }

    /// A river-chief level (`district`, `town`, `village`, `unassigned`) in this language.
    pub fn level(self, name: &str) -> String {
        match (self, name) {
            (Lang::Zh, "district") => "区级".into(),
            (Lang::Zh, "town") => "镇级".into(),
            (Lang::Zh, "village") => "村级".into(),
            (Lang::Zh, "unassigned") => "未指定".into(),
            _ => name.to_string(),
        }
    }

    /// A count and a noun: `1 file`, `20 files` in English (`noun` singular, `plural` given); `20 个文件` in
    /// Chinese (`zh` the noun with its measure word).
    pub fn count(self, n: usize, noun: &str, plural: &str, zh: &str) -> String {
        match self {
            Lang::En if n == 1 => format!("1 {noun}"),
            Lang::En => format!("{n} {plural}"),
            Lang::Zh => format!("{n} {zh}"),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        })
    }
}

/// English phrase → Chinese.
const PHRASES: &[(&str, &str)] = &[
    // report.html
    ("Scenario", "情景文件"),
    ("to", "至"),
    ("warm-up excluded", "预热期不计"),
    ("pollutants", "污染物"),
    (
        "Water quality assessed against GB 3838-2002 by rivsim",
        "依据 GB 3838-2002 评价，rivsim",
    ),
    ("water-function zones meeting their target", "水功能区达标"),
    ("worse than class V (V+)", "劣V类河长"),
    ("of", "占"),
    ("period mean", "时段均值"),
    ("worse than V in their worst month", "最差月份劣V类河长"),
    ("warnings", "警告"),
    ("Water-function zones", "水功能区"),
    (
        "The scenario defines no water-function zone.",
        "情景未定义水功能区。",
    ),
    ("Zone", "水功能区"),
    ("Year", "年份"),
    ("Target", "目标"),
    ("Class", "水质类别"),
    ("Verdict", "结论"),
    ("Method", "评价方法"),
    ("Compliance rate", "达标率"),
    ("Sites", "断面"),
    ("Failing at the worst site", "最差断面超标项目"),
    ("meets target", "达标"),
    ("fails target", "不达标"),
    ("not assessed", "未评价"),
    ("annual mean", "年均值法"),
    ("frequency", "频次法"),
    ("samples", "个样本"),
    ("whole run", "全时段"),
    ("Month by month", "逐月水质"),
    (
        "Class of the monthly mean at each zone's worst site and at each section; a red frame marks a month that misses the target.",
        "各水功能区最差断面及各断面的月均值水质类别；红框表示该月不达标。",
    ),
    ("Monthly mean concentrations", "月均浓度"),
    ("Section", "断面"),
    ("Parameter", "项目"),
    ("Assessment sections", "评价断面"),
    ("Failing the target", "超过目标的项目"),
    ("Failing class III", "超过III类的项目"),
    ("limit", "标准限值"),
    ("exceedance multiple", "超标倍数"),
    ("minimum", "最低限值"),
    ("River length per class (km)", "各类水质河长（km）"),
    // capacity (纳污能力) and allocation
    ("allowable loads", "纳污能力"),
    ("load (kg/day)", "负荷（kg/d）"),
    ("present load", "现状入河量"),
    ("capacity (network model)", "纳污能力（河网模型）"),
    (
        "capacity (GB/T 25173 formula)",
        "纳污能力（GB/T 25173 一维公式）",
    ),
    ("View", "统计口径"),
    ("total km", "总长 km"),
    ("time-weighted", "时间加权"),
    ("worst month", "最差月份"),
    ("River-chief level", "河长级别"),
    ("Jurisdiction", "行政区"),
    ("by river-chief level", "按河长级别"),
    ("by jurisdiction", "按行政区"),
    (
        "could not be classified (no GB 3838 parameter simulated).",
        "无法评价（未模拟 GB 3838 项目）。",
    ),
    ("Plots", "图表"),
    ("Warnings", "警告"),
    ("None.", "无。"),
    (
        "Classes by the single-factor method of GB 3838-2002 (worst parameter decides); figures in tables are rounded for reading, the CSV and JSON files keep full precision.",
        "水质类别按 GB 3838-2002 单因子评价法（最差项目决定）；表中数字为便于阅读而取整，CSV 与 JSON 文件保留全部精度。",
    ),
    ("One river, one policy", "一河一策"),
    ("One outfall, one policy", "一口一策"),
    ("River", "河流"),
    ("Reaches", "河段"),
    ("Length", "长度"),
    ("Classes per year", "逐年水质类别"),
    ("Load reaching it by source group", "入河负荷（按污染源组）"),
    ("Projects acting on it", "相关工程"),
    ("Outfall", "排口"),
    ("Kind", "类型"),
    ("Load", "负荷"),
    ("Sections it reaches (share there)", "影响断面（贡献比例）"),
    ("Project that treats it", "治理工程"),
    ("none", "无"),
    ("samples in the year", "年内样本数"),
    ("part of the year", "不完整年份"),
    ("Threshold", "达标频次阈值"),
    ("Samples", "样本数"),
    ("Month", "月份"),
    ("Meets target", "是否达标"),
    ("whole network", "全河网"),
    ("share", "贡献比例"),
    // plots
    (
        "Network by GB 3838 class (period mean)",
        "河网水质类别（时段均值）",
    ),
    (
        "Reaches coloured by the class of their period-mean concentrations",
        "按时段均值浓度的水质类别着色的河段",
    ),
    ("River length per class", "各类水质河长"),
    (
        "Kilometres per class: by period-mean concentration, averaged over time, and in each reach's worst month",
        "各类水质河长：按时段均值、时间加权及各河段最差月份统计",
    ),
    ("River length (km)", "河长 (km)"),
    ("Profile of", "沿程分布："),
    (
        "period-mean concentration and GB 3838 classes",
        "时段均值浓度与 GB 3838 水质类别",
    ),
    ("Longitudinal profile of", "沿程浓度分布："),
    ("reaches", "河段"),
    ("Distance from the upstream end (km)", "距上游端距离 (km)"),
    ("cell mean", "单元均值"),
    ("reach mean", "河段均值"),
    ("section", "断面"),
    ("zone", "水功能区"),
    ("target", "目标"),
    ("period class", "时段水质类别"),
    ("Concentrations at section", "断面浓度过程："),
    ("with the target limit", "及目标限值"),
    ("class", "类别"),
    ("date", "日期"),
    ("km worse than class V", "劣V类河长 (km)"),
    ("worse than V (km)", "劣V类河长 (km)"),
    ("sources at", "污染来源："),
    ("by", "按"),
    ("share of the mean concentration", "占均值浓度比例"),
    ("vs cost", "与投资"),
    ("cost", "投资"),
    // console
    ("reaches", "河段"),
    ("cells", "计算单元"),
    ("transport steps", "输运时间步"),
    ("hydraulics", "水力计算"),
    ("transport", "水质计算"),
    ("report", "报告"),
    ("mass balance (relative error):", "质量守恒（相对误差）："),
    (
        "zones (target → class over the assessed period):",
        "水功能区（目标 → 评价时段水质类别）：",
    ),
    ("km per class (period mean):", "各类水质河长（时段均值）："),
    ("worse than V:", "劣V类："),
    ("warning:", "警告："),
    ("wrote", "已写出"),
    ("to", "至"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_is_translated_once() {
        let mut seen = std::collections::HashMap::new();
        for (en, zh) in PHRASES {
            assert!(!zh.is_empty() && zh != en, "{en}");
            if let Some(prev) = seen.insert(*en, *zh) {
                assert_eq!(prev, *zh, "{en} translated two ways");
            }
        }
        assert_eq!(Lang::Zh.class("V+"), "劣V类");
        assert_eq!(Lang::En.count(1, "file", "files", "个文件"), "1 file");
        assert_eq!(Lang::En.count(20, "file", "files", "个文件"), "20 files");
        assert_eq!(Lang::parse("ZH-cn"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
    }
}
