//! The report: what leaves the device, at most once per client per day.
//!
//! Wire format v2 is JSON. A report names the **contribution window** it belongs to (its first
//! UTC day number and its length, 30 days by default, windows aligned to day 0 so every server
//! counts the same windows) and carries the keys the shopper had not yet contributed in that
//! window: over a window a shopper contributes each key at most once and at most the window's
//! caps in total ([`crate::privacy::window`]). A report has no user id, no cookie, no day, no event
//! order and no free text. Its content is bounded sets of keys (each key at most once), and per
//! strategy whether the shopper was shown its recommendations and whether they clicked one,
//! each reported at most once per window (so each counter is 0 or 1):
//!
//! ```json
//! {"v":2,"window":20580,"days":30,"mode":"threshold",
//!  "items":["mug","tea"],"pairs":[["mug","tea"]],"interests":["brand:Acme"],
//!  "strategies":{"for-you":{"impressions":1,"clicks":1}}}
//! ```
//!
//! Version 1 (one report per day, per-day caps, an `epoch` day number) is refused: its
//! contributions are not bounded per window, so it cannot be counted under v2's guarantee.
//!
//! In `ldp` mode each family is one randomized `(seed, bucket)` value instead (see
//! [`crate::privacy::ldp`]), and the budget and padding length travel with it so the aggregator can
//! check they match its estimator:
//!
//! ```json
//! {"v":2,"window":20580,"days":30,"mode":"ldp","ldp":{"eps":1.0,"l":4,
//!  "items":{"s":4711,"y":2},"pairs":{"s":9,"y":0},"interests":{"s":77,"y":1},
//!  "strategies":{"s":1234,"y":1}}}
//! ```
//!
//! Serialization is deterministic (sets sorted, maps ordered, fixed field order), so "the
//! exact bytes of the next report" is well defined. Empty families are omitted.
//! [`Report::from_json`] is strict: unknown fields, duplicate fields, duplicate strategy names
//! and wrong types are errors, and [`Report::validate`] checks every bound. The server keeps
//! counters, not reports: [`Report::increments`] turns a report into counter increments.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::privacy::ldp::Olh;
use crate::strategy::Strategy;

/// Wire format version.
pub const REPORT_VERSION: u32 = 2;
/// Default length of a contribution window in days (Protected Audience counts its k over 30
/// days too).
pub const DEFAULT_WINDOW_DAYS: u32 = 30;
/// Longest key in bytes (the catalog's longest id).
pub const MAX_KEY_BYTES: usize = crate::catalog::items::MAX_ID_BYTES;
/// Largest accepted report, in bytes of JSON (a report at the largest caps is well below).
pub const MAX_REPORT_BYTES: usize = 64 * 1024;
/// Separator inside a pair's counter key (`"a\u{1f}b"`): a control character, which keys
/// may not contain, so the encoding is unambiguous whatever the item ids look like.
pub const PAIR_SEPARATOR: char = '\u{1f}';

/// Where reports go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Keys in the clear; the aggregator releases a key only when at least `k` reports hold
    /// it, with noise calibrated to the contribution bound (central DP).
    #[default]
    Threshold,
    /// Every family randomized on the device (local DP).
    Ldp,
    /// Nothing is sent. Never appears in a report.
    Off,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Threshold => "threshold",
            Mode::Ldp => "ldp",
            Mode::Off => "off",
        }
    }
}

/// The key families of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Items,
    Pairs,
    Interests,
    Strategies,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Items,
        Family::Pairs,
        Family::Interests,
        Family::Strategies,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Items => "items",
            Family::Pairs => "pairs",
            Family::Interests => "interests",
            Family::Strategies => "strategies",
        }
    }

    /// Share of the window's privacy budget spent on this family (zCDP in threshold mode,
    /// epsilon of an LDP report; composition adds the shares up to 1). Items carry the most
    /// signal (popularity, trending, the item model's diagonal), pairs the next (the item
    /// model, bought-together), interests and strategy counters the least.
    pub fn budget_share(self) -> f64 {
        match self {
            Family::Items => 0.5,
            Family::Pairs => 0.25,
            Family::Interests => 0.15,
            Family::Strategies => 0.1,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The largest (and default) `impressions` and `clicks` cap: every strategy, each once.
pub const STRATEGY_CAP: u32 = Strategy::ALL.len() as u32;

/// Contribution bounds of one shopper over one window (summed over the window's reports;
/// one report may use them all). Used by the device (sampling), the server (validation) and
/// the aggregator (noise calibration), so the three always agree. The same shape also counts
/// what a shopper has used of them ([`crate::privacy::window::WindowState::used`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Caps {
    /// Distinct items interacted with (L).
    pub items: u32,
    /// Distinct co-occurring pairs (P).
    pub pairs: u32,
    /// Distinct interest keys (T).
    pub interests: u32,
    /// Strategies a shopper may report as shown (each at most once per window), 1 to
    /// [`Strategy::ALL`]`.len()`.
    pub impressions: u32,
    /// Strategies a shopper may report as clicked (each at most once per window), 1 to
    /// [`Strategy::ALL`]`.len()`.
    pub clicks: u32,
}

impl Default for Caps {
    /// Chosen by measurement on the Online Retail validation split (docs/QUALITY.md): most
    /// shoppers' windows fit whole, while the noise (which grows with the square root of a
    /// cap) stays below the counts a small shop releases. Strategies: all of them, since
    /// there are only six and each is reported at most once.
    fn default() -> Self {
        Caps {
            items: 64,
            pairs: 128,
            interests: 32,
            impressions: STRATEGY_CAP,
            clicks: STRATEGY_CAP,
        }
    }
}

impl Caps {
    /// Nothing used.
    pub const ZERO: Caps = Caps {
        items: 0,
        pairs: 0,
        interests: 0,
        impressions: 0,
        clicks: 0,
    };

    /// The cap of a key family (strategies: strategies shown plus strategies clicked, the
    /// number of 1s a shopper's window may hold).
    pub fn of(&self, family: Family) -> u32 {
        match family {
            Family::Items => self.items,
            Family::Pairs => self.pairs,
            Family::Interests => self.interests,
            Family::Strategies => self.impressions.saturating_add(self.clicks),
        }
    }
}

/// Local-DP parameters: the report's epsilon and the Padding-and-Sampling length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LdpParams {
    pub epsilon: f64,
    pub set_size: u32,
}

impl LdpParams {
    /// The OLH parameters of one family.
    pub fn olh(&self, family: Family) -> Olh {
        Olh::new(self.epsilon * family.budget_share(), self.set_size)
    }
}

/// What the server accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportLimits {
    pub caps: Caps,
    /// The window length the server counts in; reports must use the same.
    pub window_days: u32,
    /// The LDP parameters the aggregator estimates with; LDP reports must match them.
    pub ldp: LdpParams,
}

impl Default for ReportLimits {
    fn default() -> Self {
        ReportLimits {
            caps: Caps::default(),
            window_days: DEFAULT_WINDOW_DAYS,
            ldp: LdpParams {
                epsilon: 1.0,
                set_size: 4,
            },
        }
    }
}

/// Counters of one strategy. On the device, per day: lists of it shown and clicks attributed
/// to it. In a report (and a contribution), per window: 1 when the shopper was shown it
/// (clicked one of its recommendations) and the window had not counted that yet, else 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyCounts {
    pub impressions: u32,
    pub clicks: u32,
}

/// One randomized LDP value: hash seed `s` and perturbed bucket `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdpValue {
    pub s: u16,
    pub y: u32,
}

/// The LDP body of a report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdpReport {
    /// The report's epsilon (split over the families by [`Family::budget_share`]).
    pub eps: f64,
    /// Padding-and-Sampling length.
    pub l: u32,
    pub items: LdpValue,
    pub pairs: LdpValue,
    pub interests: LdpValue,
    /// Over the keys `"<strategy>:shown"` and `"<strategy>:clicked"`.
    pub strategies: LdpValue,
}

impl LdpReport {
    pub fn value(&self, family: Family) -> LdpValue {
        match family {
            Family::Items => self.items,
            Family::Pairs => self.pairs,
            Family::Interests => self.interests,
            Family::Strategies => self.strategies,
        }
    }
}

/// A report, wire format v2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Always [`REPORT_VERSION`].
    pub v: u32,
    /// First UTC day number (days since 1970-01-01) of the contribution window.
    pub window: u32,
    /// Length of the window in days.
    pub days: u32,
    /// `threshold` or `ldp`.
    pub mode: Mode,
    /// Threshold mode: item ids interacted with, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// Threshold mode: `[a, b]` with `a < b`, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<[String; 2]>,
    /// Threshold mode: interest keys, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interests: Vec<String>,
    /// Threshold mode: per strategy name, shown (`impressions`) and clicked (`clicks`), each 0
    /// or 1. Sorted by name, each name once; an object on the wire. A sorted `Vec` rather than a
    /// `BTreeMap`: the browser builds this on every report and the B-tree code for this one
    /// value type was 4 KB of wasm.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "as_map",
        deserialize_with = "unique_map"
    )]
    pub strategies: Vec<(String, StrategyCounts)>,
    /// LDP mode: the randomized families.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldp: Option<LdpReport>,
}

/// Why a report was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    #[error("report is {0} bytes, larger than the {MAX_REPORT_BYTES} bytes a report may have")]
    TooLarge(usize),
    #[error("report is not valid wire format v2 JSON: {0}")]
    Json(String),
    #[error("report version {0} is not supported: this server reads version {REPORT_VERSION} (contributions per window); update the kindred browser module that sent it")]
    Version(u32),
    #[error("report counts in {found}-day windows, this server counts {expected}-day windows: set privacy.windowDays to {expected}")]
    WindowDays { found: u32, expected: u32 },
    #[error("report window starts on day {window}, which is not a multiple of its {days} days: windows are aligned to day 0 (1970-01-01)")]
    WindowAlignment { window: u32, days: u32 },
    #[error("report mode \"off\" cannot be sent: use \"threshold\" or \"ldp\"")]
    ModeOff,
    #[error("a \"{mode}\" report must not have \"{field}\"")]
    WrongField {
        mode: &'static str,
        field: &'static str,
    },
    #[error("an \"ldp\" report needs the field \"ldp\"")]
    MissingLdp,
    #[error("too many {family}: {found}, the cap is {cap}")]
    TooMany {
        family: Family,
        found: usize,
        cap: u32,
    },
    #[error("duplicate {family} key \"{key}\": a key counts at most once per report")]
    Duplicate { family: Family, key: String },
    #[error("invalid {family} key \"{key}\": {problem}")]
    BadKey {
        family: Family,
        key: String,
        problem: &'static str,
    },
    #[error("pair [\"{0}\", \"{1}\"] is not canonical: the first id must sort strictly before the second")]
    PairOrder(String, String),
    #[error("unknown strategy \"{0}\" in strategies")]
    UnknownStrategy(String),
    #[error("strategy \"{strategy}\" has {what} {found}: a report counts a strategy at most once per window (0 or 1)")]
    NotPresence {
        strategy: String,
        what: &'static str,
        found: u32,
    },
    #[error("{found} strategies have {what} 1, above the cap of {bound} per window: set privacy.caps.{what} to the server's {bound}")]
    CounterBound {
        what: &'static str,
        found: u64,
        bound: u32,
    },
    #[error("ldp parameter \"{name}\" is {}, this server estimates with {}", crate::lean::number(*.found), crate::lean::number(*.expected))]
    LdpParams {
        name: &'static str,
        found: f64,
        expected: f64,
    },
    #[error("ldp value of {family} is bucket {y}, it must be below {g}")]
    LdpBucket { family: Family, y: u32, g: u32 },
}

/// Keys in error messages are cut to this many characters.
const SHOWN_KEY_CHARS: usize = 64;

fn shown(key: &str) -> String {
    key.chars().take(SHOWN_KEY_CHARS).collect()
}

/// Why a key cannot be reported, if it cannot.
pub fn key_problem(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        Some("keys must not be empty")
    } else if key.len() > MAX_KEY_BYTES {
        Some("keys must be at most 256 bytes")
    } else if key.chars().any(char::is_control) {
        Some("keys must not contain control characters")
    } else {
        None
    }
}

/// The counter key of a pair (`a < b`): `"a\u{1f}b"`.
pub fn pair_key(a: &str, b: &str) -> String {
    let mut k = String::with_capacity(a.len() + b.len() + 1);
    k.push_str(a);
    k.push(PAIR_SEPARATOR);
    k.push_str(b);
    k
}

/// The two ids of a pair counter key.
pub fn split_pair_key(key: &str) -> Option<(&str, &str)> {
    key.split_once(PAIR_SEPARATOR)
}

/// The LDP key of a strategy outcome: `"for-you:shown"`, `"for-you:clicked"`.
pub fn strategy_key(strategy: &str, clicked: bool) -> String {
    format!("{strategy}:{}", if clicked { "clicked" } else { "shown" })
}

impl Report {
    /// Parses and validates a report: the server's entry point.
    pub fn from_json(json: &str, limits: &ReportLimits) -> Result<Report, ReportError> {
        if json.len() > MAX_REPORT_BYTES {
            return Err(ReportError::TooLarge(json.len()));
        }
        // Read the version first, so a future format gets a clear error, not a field error.
        #[derive(Deserialize)]
        struct Probe {
            v: Option<u32>,
        }
        let probe: Probe =
            serde_json::from_str(json).map_err(|e| ReportError::Json(e.to_string()))?;
        match probe.v {
            Some(REPORT_VERSION) => {}
            Some(v) => return Err(ReportError::Version(v)),
            None => return Err(ReportError::Json("missing field `v`".into())),
        }
        let report: Report =
            serde_json::from_str(json).map_err(|e| ReportError::Json(e.to_string()))?;
        report.validate(limits)?;
        Ok(report)
    }

    /// The wire bytes: deterministic for a given report, and the same bytes serde_json writes
    /// for it (tested). Written by hand because the browser builds every report: serde_json's
    /// serializer and its float formatting were about 4 KB of gzipped wasm. `eps` is a
    /// multiple of 10^-6 ([`crate::privacy::config::PrivacyConfig::ldp`]), which
    /// [`crate::lean::number`] writes exactly.
    pub fn to_json(&self) -> String {
        use crate::lean::push_json_string as string;
        use std::fmt::Write;
        fn list(out: &mut String, name: &str, keys: &[String]) {
            if keys.is_empty() {
                return;
            }
            let _ = write!(out, ",\"{name}\":[");
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, key);
            }
            out.push(']');
        }
        fn ldp_value(out: &mut String, name: &str, v: LdpValue) {
            let _ = write!(out, ",\"{name}\":{{\"s\":{},\"y\":{}}}", v.s, v.y);
        }
        let mut out = String::with_capacity(256);
        let _ = write!(
            out,
            "{{\"v\":{},\"window\":{},\"days\":{},\"mode\":\"{}\"",
            self.v,
            self.window,
            self.days,
            self.mode.name()
        );
        list(&mut out, "items", &self.items);
        if !self.pairs.is_empty() {
            out.push_str(",\"pairs\":[");
            for (i, [a, b]) in self.pairs.iter().enumerate() {
                out.push_str(if i > 0 { ",[" } else { "[" });
                string(&mut out, a);
                out.push(',');
                string(&mut out, b);
                out.push(']');
            }
            out.push(']');
        }
        list(&mut out, "interests", &self.interests);
        if !self.strategies.is_empty() {
            out.push_str(",\"strategies\":{");
            for (i, (name, c)) in self.strategies.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(&mut out, name);
                let _ = write!(
                    out,
                    ":{{\"impressions\":{},\"clicks\":{}}}",
                    c.impressions, c.clicks
                );
            }
            out.push('}');
        }
        if let Some(ldp) = &self.ldp {
            let eps = crate::lean::number(ldp.eps);
            // serde_json writes integral floats as "1.0"; keep its bytes.
            let point = if eps.contains('.') { "" } else { ".0" };
            let _ = write!(out, ",\"ldp\":{{\"eps\":{eps}{point},\"l\":{}", ldp.l);
            ldp_value(&mut out, "items", ldp.items);
            ldp_value(&mut out, "pairs", ldp.pairs);
            ldp_value(&mut out, "interests", ldp.interests);
            ldp_value(&mut out, "strategies", ldp.strategies);
            out.push('}');
        }
        out.push('}');
        out
    }

    /// Checks version, mode, caps, keys, duplicates, pair order, counter bounds and LDP
    /// parameters.
    pub fn validate(&self, limits: &ReportLimits) -> Result<(), ReportError> {
        if self.v != REPORT_VERSION {
            return Err(ReportError::Version(self.v));
        }
        if self.days != limits.window_days {
            return Err(ReportError::WindowDays {
                found: self.days,
                expected: limits.window_days,
            });
        }
        if self.days == 0 || self.window % self.days != 0 {
            return Err(ReportError::WindowAlignment {
                window: self.window,
                days: self.days,
            });
        }
        match self.mode {
            Mode::Off => Err(ReportError::ModeOff),
            Mode::Threshold => self.validate_threshold(&limits.caps),
            Mode::Ldp => self.validate_ldp(&limits.ldp),
        }
    }

    fn validate_threshold(&self, caps: &Caps) -> Result<(), ReportError> {
        if self.ldp.is_some() {
            return Err(ReportError::WrongField {
                mode: "threshold",
                field: "ldp",
            });
        }
        check_keys(Family::Items, &self.items, caps.items)?;
        check_keys(Family::Interests, &self.interests, caps.interests)?;
        if self.pairs.len() > caps.pairs as usize {
            return Err(ReportError::TooMany {
                family: Family::Pairs,
                found: self.pairs.len(),
                cap: caps.pairs,
            });
        }
        for [a, b] in &self.pairs {
            for k in [a, b] {
                if let Some(problem) = key_problem(k) {
                    return Err(ReportError::BadKey {
                        family: Family::Pairs,
                        key: shown(k),
                        problem,
                    });
                }
            }
            if a >= b {
                return Err(ReportError::PairOrder(shown(a), shown(b)));
            }
        }
        let mut pairs: Vec<&[String; 2]> = self.pairs.iter().collect();
        pairs.sort_unstable();
        if let Some(w) = pairs.windows(2).find(|w| w[0] == w[1]) {
            return Err(ReportError::Duplicate {
                family: Family::Pairs,
                key: format!("{}|{}", shown(&w[0][0]), shown(&w[0][1])),
            });
        }
        let (mut impressions, mut clicks) = (0u64, 0u64);
        for (i, (name, c)) in self.strategies.iter().enumerate() {
            if Strategy::from_name(name).is_none() {
                return Err(ReportError::UnknownStrategy(shown(name)));
            }
            // Parsed reports are sorted and unique by construction; built ones must be too.
            if i > 0 && self.strategies[i - 1].0 >= *name {
                return Err(ReportError::Duplicate {
                    family: Family::Strategies,
                    key: shown(name),
                });
            }
            for (what, found) in [("impressions", c.impressions), ("clicks", c.clicks)] {
                if found > 1 {
                    return Err(ReportError::NotPresence {
                        strategy: shown(name),
                        what,
                        found,
                    });
                }
            }
            impressions += u64::from(c.impressions);
            clicks += u64::from(c.clicks);
        }
        for (what, found, bound) in [
            ("impressions", impressions, caps.impressions),
            ("clicks", clicks, caps.clicks),
        ] {
            if found > u64::from(bound) {
                return Err(ReportError::CounterBound { what, found, bound });
            }
        }
        Ok(())
    }

    fn validate_ldp(&self, params: &LdpParams) -> Result<(), ReportError> {
        for (field, empty) in [
            ("items", self.items.is_empty()),
            ("pairs", self.pairs.is_empty()),
            ("interests", self.interests.is_empty()),
            ("strategies", self.strategies.is_empty()),
        ] {
            if !empty {
                return Err(ReportError::WrongField { mode: "ldp", field });
            }
        }
        let ldp = self.ldp.as_ref().ok_or(ReportError::MissingLdp)?;
        if ldp.eps != params.epsilon {
            return Err(ReportError::LdpParams {
                name: "eps",
                found: ldp.eps,
                expected: params.epsilon,
            });
        }
        if ldp.l != params.set_size {
            return Err(ReportError::LdpParams {
                name: "l",
                found: f64::from(ldp.l),
                expected: f64::from(params.set_size),
            });
        }
        for family in Family::ALL {
            let g = params.olh(family).g;
            let y = ldp.value(family).y;
            if y >= g {
                return Err(ReportError::LdpBucket { family, y, g });
            }
        }
        Ok(())
    }

    /// The counter increments this report adds (the server stores counters, not reports).
    /// Call on a validated report.
    pub fn increments(&self) -> Vec<Increment> {
        let inc = |counter, key: String, delta| Increment {
            counter,
            key,
            delta,
        };
        let mut out = Vec::new();
        match &self.ldp {
            None => {
                out.push(inc(Counter::Reports, String::new(), 1));
                out.extend(self.items.iter().map(|k| inc(Counter::Items, k.clone(), 1)));
                out.extend(
                    self.pairs
                        .iter()
                        .map(|[a, b]| inc(Counter::Pairs, pair_key(a, b), 1)),
                );
                out.extend(
                    self.interests
                        .iter()
                        .map(|k| inc(Counter::Interests, k.clone(), 1)),
                );
                for (name, c) in &self.strategies {
                    if c.impressions > 0 {
                        out.push(inc(
                            Counter::Impressions,
                            name.clone(),
                            u64::from(c.impressions),
                        ));
                    }
                    if c.clicks > 0 {
                        out.push(inc(Counter::Clicks, name.clone(), u64::from(c.clicks)));
                    }
                }
            }
            Some(ldp) => {
                out.push(inc(Counter::LdpReports, String::new(), 1));
                for family in Family::ALL {
                    let v = ldp.value(family);
                    out.push(inc(Counter::ldp(family), ldp_counter_key(v.s, v.y), 1));
                }
            }
        }
        out
    }
}

fn check_keys(family: Family, keys: &[String], cap: u32) -> Result<(), ReportError> {
    if keys.len() > cap as usize {
        return Err(ReportError::TooMany {
            family,
            found: keys.len(),
            cap,
        });
    }
    if let Some((k, problem)) = keys.iter().find_map(|k| key_problem(k).map(|p| (k, p))) {
        return Err(ReportError::BadKey {
            family,
            key: shown(k),
            problem,
        });
    }
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(ReportError::Duplicate {
            family,
            key: shown(w[0]),
        });
    }
    Ok(())
}

/// The counter key of an LDP value: `"<seed>.<bucket>"`.
pub fn ldp_counter_key(seed: u16, y: u32) -> String {
    format!("{seed}.{y}")
}

/// Reads an LDP counter key back.
pub fn parse_ldp_counter_key(key: &str) -> Option<(u16, u32)> {
    let (s, y) = key.split_once('.')?;
    Some((s.parse().ok()?, y.parse().ok()?))
}

/// A counter the aggregator keeps per epoch and key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counter {
    /// Threshold reports received (key `""`).
    Reports,
    Items,
    /// Key: [`pair_key`].
    Pairs,
    Interests,
    /// Key: strategy name; delta: 1 per shopper shown it (once per window).
    Impressions,
    /// Key: strategy name; delta: 1 per shopper who clicked one of its recommendations
    /// (once per window).
    Clicks,
    /// LDP reports received (key `""`).
    LdpReports,
    /// Key: `ldp_counter_key(seed, y)` for each LDP family.
    LdpItems,
    LdpPairs,
    LdpInterests,
    LdpStrategies,
}

impl Counter {
    /// The LDP counter of a family.
    pub fn ldp(family: Family) -> Counter {
        match family {
            Family::Items => Counter::LdpItems,
            Family::Pairs => Counter::LdpPairs,
            Family::Interests => Counter::LdpInterests,
            Family::Strategies => Counter::LdpStrategies,
        }
    }
}

/// One counter increment: `(counter, key) += delta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Increment {
    pub counter: Counter,
    pub key: String,
    pub delta: u64,
}

fn as_map<S: serde::Serializer>(
    strategies: &[(String, StrategyCounts)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(strategies.iter().map(|(name, c)| (name, c)))
}

/// Deserializes a map into a list sorted by key, refusing duplicate keys (serde_json would
/// keep the last silently).
fn unique_map<'de, D>(deserializer: D) -> Result<Vec<(String, StrategyCounts)>, D::Error>
where
    D: Deserializer<'de>,
{
    struct UniqueMap;
    impl<'de> Visitor<'de> for UniqueMap {
        type Value = Vec<(String, StrategyCounts)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map from strategy name to {impressions, clicks}")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out: Vec<(String, StrategyCounts)> = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, StrategyCounts>()? {
                match out.binary_search_by(|(name, _)| name.cmp(&k)) {
                    Ok(_) => {
                        return Err(serde::de::Error::custom(format!(
                            "duplicate strategy \"{}\"",
                            shown(&k)
                        )));
                    }
                    Err(at) => out.insert(at, (k, v)),
                }
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(UniqueMap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ReportLimits {
        ReportLimits::default()
    }

    const GOOD: &str = r#"{"v":2,"window":20580,"days":30,"mode":"threshold","items":["mug","tea"],"pairs":[["mug","tea"]],"interests":["brand:Acme"],"strategies":{"for-you":{"impressions":1,"clicks":1}}}"#;
    const GOOD_LDP: &str = r#"{"v":2,"window":20580,"days":30,"mode":"ldp","ldp":{"eps":1.0,"l":4,"items":{"s":4711,"y":2},"pairs":{"s":9,"y":0},"interests":{"s":77,"y":1},"strategies":{"s":1234,"y":1}}}"#;

    #[test]
    fn good_reports_parse_and_serialize_to_the_same_bytes() {
        for json in [GOOD, GOOD_LDP] {
            let r = Report::from_json(json, &limits()).expect("valid");
            assert_eq!(r.to_json(), json);
        }
    }

    fn arb_report() -> impl proptest::strategy::Strategy<Value = Report> {
        use proptest::prelude::*;
        // Any string, control characters and quotes included: the writer must escape like
        // serde_json even where validation would later refuse the key.
        let keys = || proptest::collection::vec(any::<String>(), 0..4);
        let value = || (any::<u16>(), any::<u32>()).prop_map(|(s, y)| LdpValue { s, y });
        let ldp = (
            0u64..=10_000_000,
            any::<u32>(),
            value(),
            value(),
            value(),
            value(),
        )
            .prop_map(
                |(micro, l, items, pairs, interests, strategies)| LdpReport {
                    eps: micro as f64 / 1e6,
                    l,
                    items,
                    pairs,
                    interests,
                    strategies,
                },
            );
        (
            any::<u32>(),
            any::<u32>(),
            keys(),
            proptest::collection::vec((any::<String>(), any::<String>()), 0..3),
            keys(),
            proptest::collection::vec((any::<String>(), any::<u32>(), any::<u32>()), 0..3),
            proptest::option::of(ldp),
        )
            .prop_map(
                |(v, window, items, pairs, interests, strategies, ldp)| Report {
                    v,
                    window,
                    days: window % 64,
                    mode: if ldp.is_some() {
                        Mode::Ldp
                    } else {
                        Mode::Threshold
                    },
                    items,
                    pairs: pairs.into_iter().map(|(a, b)| [a, b]).collect(),
                    interests,
                    // Built reports hold strategies sorted by name, each once.
                    strategies: strategies
                        .into_iter()
                        .map(|(n, impressions, clicks)| {
                            (
                                n,
                                StrategyCounts {
                                    impressions,
                                    clicks,
                                },
                            )
                        })
                        .collect::<std::collections::BTreeMap<_, _>>()
                        .into_iter()
                        .collect(),
                    ldp,
                },
            )
    }

    proptest::proptest! {
        /// The hand-written writer and serde_json agree (same bytes, except that `eps` may be
        /// spelled differently, e.g. `1e-6` against `0.000001`), and the bytes read back as
        /// the same report.
        #[test]
        fn hand_written_json_matches_serde_json(report in arb_report()) {
            let ours = report.to_json();
            let theirs = serde_json::to_string(&report).unwrap();
            let parsed: Report = serde_json::from_str(&ours).unwrap();
            proptest::prop_assert_eq!(&parsed, &report);
            match &report.ldp {
                Some(ldp) if ldp.eps != 0.0 && ldp.eps < 1e-3 => {
                    let ours: serde_json::Value = serde_json::from_str(&ours).unwrap();
                    let theirs: serde_json::Value = serde_json::from_str(&theirs).unwrap();
                    proptest::prop_assert_eq!(ours, theirs);
                }
                _ => proptest::prop_assert_eq!(ours, theirs),
            }
        }
    }

    #[test]
    fn bad_inputs_are_refused_with_a_named_reason() {
        let long = "x".repeat(300);
        let many: Vec<String> = (0..65).map(|i| format!("\"i{i:02}\"")).collect();
        let many = format!(
            r#"{{"v":2,"window":0,"days":30,"mode":"threshold","items":[{}]}}"#,
            many.join(",")
        );
        let long_key =
            format!(r#"{{"v":2,"window":0,"days":30,"mode":"threshold","items":["{long}"]}}"#);
        let huge = format!(r#"{{"v":1,"pad":"{}"}}"#, "x".repeat(MAX_REPORT_BYTES));
        let ldp = |from: &str, to: &str| GOOD_LDP.replace(from, to);
        let cases: Vec<(String, &str)> = vec![
            ("{".to_owned(), "not valid wire format v2 JSON"),
            ("[]".to_owned(), "not valid wire format v2 JSON"),
            (r#"{"window":0,"days":30,"mode":"threshold"}"#.to_owned(), "missing field `v`"),
            (r#"{"v":1,"epoch":20600,"mode":"threshold","items":["mug"]}"#.to_owned(), "version 1 is not supported: this server reads version 2"),
            (r#"{"v":3,"window":0,"days":30,"mode":"threshold"}"#.to_owned(), "version 3 is not supported"),
            (r#"{"v":"2","window":0,"days":30,"mode":"threshold"}"#.to_owned(), "invalid type"),
            (r#"{"v":2,"window":0,"days":7,"mode":"threshold"}"#.to_owned(), "7-day windows, this server counts 30-day windows"),
            (r#"{"v":2,"window":20581,"days":30,"mode":"threshold"}"#.to_owned(), "window starts on day 20581, which is not a multiple of its 30 days"),
            (r#"{"v":2,"epoch":20600,"window":0,"days":30,"mode":"threshold"}"#.to_owned(), "unknown field `epoch`"),
            (r#"{"v":2,"window":0,"days":30,"mode":"threshold","user":"u1"}"#.to_owned(), "unknown field `user`"),
            (r#"{"v":2,"window":0,"days":30,"mode":"threshold","ts":5}"#.to_owned(), "unknown field `ts`"),
            (r#"{"v":2,"window":0,"days":30,"mode":"off"}"#.to_owned(), "mode \"off\""),
            (r#"{"v":2,"window":0,"days":30,"mode":"secret"}"#.to_owned(), "unknown variant `secret`"),
            (r#"{"v":2,"window":-30,"days":30,"mode":"threshold"}"#.to_owned(), "invalid value"),
            (r#"{"v":2,"window":0,"days":30,"mode":"threshold","items":"mug"}"#.to_owned(), "invalid type"),
            (r#"{"v":2,"window":0,"days":30,"mode":"threshold","items":[1]}"#.to_owned(), "invalid type"),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","items":["a"],"items":["b"]}"#.to_owned(),
                "duplicate field `items`",
            ),
            (many.clone(), "too many items: 65, the cap is 64"),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","items":["mug","mug"]}"#.to_owned(),
                "duplicate items key \"mug\"",
            ),
            (long_key.clone(), "at most 256 bytes"),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","items":[""]}"#.to_owned(),
                "must not be empty",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","interests":["a\nb"]}"#.to_owned(),
                "control characters",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","pairs":[["tea","mug"]]}"#.to_owned(),
                "pair [\"tea\", \"mug\"] is not canonical",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","pairs":[["mug","mug"]]}"#.to_owned(),
                "not canonical",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","pairs":[["a","b","c"]]}"#.to_owned(),
                "not valid wire format v2 JSON",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","pairs":[["a","b"],["a","b"]]}"#.to_owned(),
                "duplicate pairs key",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","strategies":{"for-you":{"impressions":-1,"clicks":0}}}"#.to_owned(),
                "invalid value: integer `-1`",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","strategies":{"for-you":{"impressions":2,"clicks":0}}}"#.to_owned(),
                "strategy \"for-you\" has impressions 2: a report counts a strategy at most once per window (0 or 1)",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","strategies":{"for-you":{"impressions":1,"clicks":1},"trending":{"impressions":0,"clicks":3}}}"#.to_owned(),
                "strategy \"trending\" has clicks 3",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","strategies":{"for-you":{"impressions":1,"clicks":0},"for-you":{"impressions":1,"clicks":0}}}"#.to_owned(),
                "duplicate strategy \"for-you\"",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","strategies":{"spam":{"impressions":1,"clicks":0}}}"#.to_owned(),
                "unknown strategy \"spam\"",
            ),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"threshold","strategies":{"for-you":{"impressions":1}}}"#.to_owned(),
                "missing field `clicks`",
            ),
            (r#"{"v":2,"window":0,"days":30,"mode":"ldp"}"#.to_owned(), "needs the field \"ldp\""),
            (
                r#"{"v":2,"window":0,"days":30,"mode":"ldp","items":["a"],"ldp":null}"#.to_owned(),
                "must not have \"items\"",
            ),
            (ldp("\"mode\":\"ldp\"", "\"mode\":\"threshold\""), "must not have \"ldp\""),
            (ldp("\"eps\":1.0", "\"eps\":8.0"), "\"eps\" is 8"),
            (ldp("\"l\":4", "\"l\":1"), "\"l\" is 1"),
            (ldp("\"y\":2", "\"y\":3"), "bucket 3, it must be below 3"),
            (ldp("\"s\":4711", "\"s\":70000"), "invalid value"),
            (ldp("\"s\":4711,", ""), "missing field `s`"),
            (huge.clone(), "larger than the 65536 bytes"),
        ];
        for (json, expected) in cases {
            let err = Report::from_json(&json, &limits()).expect_err(&json);
            let msg = err.to_string();
            assert!(msg.contains(expected), "{json}: {msg}");
            assert!(msg.starts_with(char::is_lowercase), "lowercase: {msg}");
        }
    }

    #[test]
    fn strategies_beyond_the_servers_caps_are_refused() {
        let limits = ReportLimits {
            caps: Caps {
                impressions: 2,
                clicks: 1,
                ..Caps::default()
            },
            ..ReportLimits::default()
        };
        let report = |strategies: &str| {
            format!(
                r#"{{"v":2,"window":0,"days":30,"mode":"threshold","strategies":{{{strategies}}}}}"#
            )
        };
        let two = report(
            r#""for-you":{"impressions":1,"clicks":1},"trending":{"impressions":1,"clicks":0}"#,
        );
        Report::from_json(&two, &limits).expect("within the caps");
        for (strategies, expected) in [
            (
                r#""for-you":{"impressions":1,"clicks":0},"similar":{"impressions":1,"clicks":0},"trending":{"impressions":1,"clicks":0}"#,
                "3 strategies have impressions 1, above the cap of 2 per window: set privacy.caps.impressions to the server's 2",
            ),
            (
                r#""for-you":{"impressions":0,"clicks":1},"trending":{"impressions":0,"clicks":1}"#,
                "2 strategies have clicks 1, above the cap of 1",
            ),
        ] {
            let err = Report::from_json(&report(strategies), &limits).expect_err(strategies);
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn increments_name_every_key_once() {
        let r = Report::from_json(GOOD, &limits()).expect("valid");
        let inc = r.increments();
        assert_eq!(inc.len(), 1 + 2 + 1 + 1 + 2);
        assert!(inc.contains(&Increment {
            counter: Counter::Pairs,
            key: pair_key("mug", "tea"),
            delta: 1
        }));
        assert!(inc.contains(&Increment {
            counter: Counter::Impressions,
            key: "for-you".into(),
            delta: 1
        }));
        let l = Report::from_json(GOOD_LDP, &limits()).expect("valid");
        let inc = l.increments();
        assert_eq!(inc.len(), 5);
        assert!(inc.contains(&Increment {
            counter: Counter::LdpItems,
            key: "4711.2".into(),
            delta: 1
        }));
        assert_eq!(parse_ldp_counter_key("4711.2"), Some((4711, 2)));
        assert_eq!(split_pair_key(&pair_key("a|b", "c")), Some(("a|b", "c")));
    }
}
