//! The names JS sees agree everywhere they are spelled: the readers' and writers' tables
//! (`values.rs` and its neighbours), the interfaces of `kindred.d.ts`, and the serde names of
//! the core types behind them (found by serializing a sample value). A native test: the
//! tables hold only names and function pointers, so nothing here touches a JS value.

use std::collections::{BTreeMap, BTreeSet};

use kindred_core::catalog::RejectedRow;
use kindred_core::engine::EventWeights;
use kindred_core::explain::{Explanation, ForYouPlacement, MatchedInterest};
use kindred_core::export::{Affinities, DayCounts, ExportedEvent};
use kindred_core::history::ItemStats;
use kindred_core::model::{ItemModelInfo, Neighbour, Segment};
use kindred_core::report::{Caps, StrategyCounts};
use kindred_core::rules::{Boost, Filter, Pin};
use kindred_core::window::Contribution;
use kindred_core::{
    Engine, EngineConfig, EventInput, EventKind, Interest, LedgerSummary, LoadReport,
    PrivacyConfig, RecommendRequest, Recommendation, SharedModel, Strategy,
};
use serde::Serialize;

use crate::error::{ErrorCode, WarningCode};
use crate::options::CREATE_OPTIONS;
use crate::transport::OUTBOX_ENTRY;
use crate::values::*;

const TYPINGS: &str = include_str!("kindred.d.ts");

/// `kindred.d.ts` read as far as names go: each interface's members and each type alias's
/// string literals.
struct Typings {
    /// Interface -> member -> its type, as written. Members typed `never` (removed names kept
    /// so TypeScript refuses them) are left out.
    interfaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Type alias -> the string literals of its union.
    unions: BTreeMap<String, Vec<String>>,
}

fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("closed comment") + start + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

fn string_literals(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

impl Typings {
    fn parse(text: &str) -> Typings {
        let text = without_comments(text);
        let mut interfaces = BTreeMap::new();
        let mut bases = Vec::new();
        for part in text.split("export interface ").skip(1) {
            let name = identifier(part).to_owned();
            let open = part.find('{').expect("interface body");
            if let Some((_, base)) = part[..open].split_once(" extends ") {
                bases.push((name.clone(), base.trim().to_owned()));
            }
            let body = &part[open + 1..];
            let mut members = BTreeMap::new();
            let (mut depth, mut member) = (0i32, String::new());
            for c in body.chars() {
                match c {
                    '{' | '[' | '(' | '<' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' | ']' | ')' | '>' => depth -= 1,
                    _ => {}
                }
                if c == ';' && depth == 0 {
                    let (field, ty) = member.split_once(':').expect("member with a type");
                    let ty = ty.trim().to_owned();
                    if ty != "never" {
                        members.insert(field.trim().trim_end_matches('?').to_owned(), ty);
                    }
                    member.clear();
                } else {
                    member.push(c);
                }
            }
            assert!(
                interfaces.insert(name.clone(), members).is_none(),
                "{name} twice"
            );
        }
        // An interface has its base's members too (`extends Error` adds nothing checked here).
        for (name, base) in bases {
            if let Some(inherited) = interfaces.get(&base).cloned() {
                interfaces.get_mut(&name).expect("parsed").extend(inherited);
            }
        }
        let mut unions = BTreeMap::new();
        for part in text.split("export type ").skip(1) {
            let name = identifier(part).to_owned();
            let body = &part[..part.find(';').expect("type alias ends")];
            unions.insert(name, string_literals(body));
        }
        Typings { interfaces, unions }
    }

    fn members(&self, interface: &str) -> BTreeSet<&str> {
        self.interfaces
            .get(interface)
            .unwrap_or_else(|| panic!("kindred.d.ts has no interface {interface}"))
            .keys()
            .map(String::as_str)
            .collect()
    }

    fn union(&self, alias: &str) -> BTreeSet<&str> {
        self.unions
            .get(alias)
            .unwrap_or_else(|| panic!("kindred.d.ts has no type {alias}"))
            .iter()
            .map(String::as_str)
            .collect()
    }
}

/// The field names serde gives `value` (the keys of its JSON object).
fn serde_names(value: &impl Serialize) -> BTreeSet<String> {
    match serde_json::to_value(value).expect("serializes") {
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        other => panic!("not an object: {other}"),
    }
}

/// The JSON string a serde enum value becomes (its name).
fn json_name(value: &impl Serialize) -> String {
    match serde_json::to_value(value).expect("serializes") {
        serde_json::Value::String(s) => s,
        other => panic!("not a string: {other}"),
    }
}

fn reader_names(shape: &Shape) -> BTreeSet<&'static str> {
    shape.names.iter().copied().collect()
}

fn writer_names(names: &[&'static str]) -> BTreeSet<&'static str> {
    names.iter().copied().collect()
}

fn as_strs(names: &BTreeSet<String>) -> BTreeSet<&str> {
    names.iter().map(String::as_str).collect()
}

#[test]
fn the_parser_reads_interfaces_unions_and_skips_removed_names() {
    let t = Typings::parse(
        "/** doc { */\nexport interface A {\n  /** b; c */\n  b?: { x: number; y: string }[];\n  \
         c: Record<string, number>;\n  old?: never;\n}\nexport type U =\n  // one\n  | \"x\"\n  | \"y-z\";\n",
    );
    assert_eq!(t.members("A"), BTreeSet::from(["b", "c"]));
    assert_eq!(t.union("U"), BTreeSet::from(["x", "y-z"]));
}

#[test]
fn readers_read_what_the_typings_declare() {
    let t = Typings::parse(TYPINGS);
    let cases: [(&str, BTreeSet<&str>); 13] = [
        ("KindredOptions", reader_names(&CREATE_OPTIONS)),
        ("EventWeights", reader_names(&EVENT_WEIGHTS)),
        ("PrivacyConfig", reader_names(&PRIVACY)),
        ("Caps", reader_names(&CAPS)),
        ("TrackEvent", reader_names(&EVENT)),
        ("RecommendOptions", reader_names(&REQUEST)),
        ("Filter", reader_names(&FILTER)),
        ("Boost", reader_names(&BOOST)),
        ("Pin", reader_names(&PIN)),
        ("SharedModel", reader_names(&MODEL)),
        ("ModelNeighbour", reader_names(&MODEL_NEIGHBOUR)),
        ("ModelSegment", reader_names(&MODEL_SEGMENT)),
        ("ItemModelInfo", reader_names(&MODEL_ITEM_MODEL)),
    ];
    for (interface, names) in cases {
        assert_eq!(
            names,
            t.members(interface),
            "{interface}: reader vs kindred.d.ts"
        );
    }
}

#[test]
fn writers_write_what_the_typings_declare() {
    let t = Typings::parse(TYPINGS);
    let cases: [(&str, BTreeSet<&str>); 29] = [
        ("Recommendation", writer_names(RECOMMENDATION)),
        ("LoadReport", writer_names(LOAD_REPORT)),
        ("RejectedRow", writer_names(REJECTED_ROW)),
        ("Interest", writer_names(INTEREST)),
        ("ItemActivity", writer_names(ITEM_ACTIVITY)),
        ("Explanation", writer_names(EXPLANATION)),
        ("MatchedInterest", writer_names(MATCHED_INTEREST)),
        ("ForYouPlacement", writer_names(FOR_YOU)),
        ("ExportedEvent", writer_names(EXPORTED_EVENT)),
        ("ExportedData", writer_names(EXPORTED_DATA)),
        ("QuarantinedData", writer_names(QUARANTINED_DATA)),
        ("LedgerSummary", writer_names(LEDGER)),
        ("Caps", writer_names(CAPS_OUT)),
        ("WindowContribution", writer_names(WINDOW)),
        ("NextReport", writer_names(NEXT_REPORT)),
        ("PrivacyView", writer_names(PRIVACY_VIEW)),
        ("Profile", writer_names(PROFILE)),
        ("ProfileSegment", writer_names(PROFILE_SEGMENT)),
        ("ModelSource", writer_names(MODEL_SOURCE)),
        ("Status", writer_names(STATUS)),
        ("ModelStatus", writer_names(MODEL_STATUS)),
        ("Warning", writer_names(WARNING)),
        ("Update", writer_names(UPDATE)),
        ("OutboxEntry", writer_names(OUTBOX_ENTRY)),
        ("Affinities", writer_names(AFFINITIES)),
        ("StrategyCounts", writer_names(STRATEGY_COUNTS)),
        ("DayCounters", writer_names(DAY_COUNTS)),
        ("ReportContribution", writer_names(CONTRIBUTION)),
        ("PendingReport", writer_names(PENDING_REPORT)),
    ];
    for (interface, names) in cases {
        assert_eq!(
            names,
            t.members(interface),
            "{interface}: writer vs kindred.d.ts"
        );
    }
}

/// The core types' serde names are the names JS sees (the server reads the same types from
/// its configuration and the model JSON, so they must not drift from the browser's).
#[test]
fn serde_names_of_core_types_are_the_typings_names() {
    let t = Typings::parse(TYPINGS);
    let strategy = Some(Strategy::ForYou);
    let event = EventInput {
        kind: EventKind::Click,
        item: Some("a".into()),
        query: Some("q".into()),
        ms: Some(1.0),
        value: Some(1.0),
        ts: Some(1.0),
        strategy,
    };
    let boost = Boost {
        item: None,
        category: None,
        brand: None,
        tag: None,
        factor: 1.0,
    };
    let mut model = SharedModel::default();
    let item_model = ItemModelInfo {
        kind: "ease".into(),
        items: 1,
        lambda: 1.0,
    };
    model.item_model = Some(item_model.clone());
    let stats = ItemStats::default();
    let for_you = ForYouPlacement {
        rank: None,
        score: None,
        reasons: Vec::new(),
    };
    let explanation = Explanation {
        item: "a".into(),
        title: "A".into(),
        activity: None,
        matched_interests: Vec::new(),
        hidden_by: Vec::new(),
        popularity: None,
        trending: None,
        for_you: for_you.clone(),
    };
    let exported = ExportedEvent {
        kind: "view",
        item: Some("a".into()),
        query: Some("q".into()),
        ts: 0,
        amount: 0.0,
    };
    let ledger = LedgerSummary {
        window: 0,
        window_days: 30,
        spent: 0.0,
        cap: 4.0,
        delta: 1e-6,
        spent_year: 0.0,
        windows: Vec::new(),
    };
    let cases: Vec<(&str, BTreeSet<String>)> = vec![
        ("EventWeights", serde_names(&EventWeights::default())),
        ("PrivacyConfig", serde_names(&PrivacyConfig::default())),
        ("Caps", serde_names(&Caps::default())),
        ("TrackEvent", serde_names(&event)),
        (
            "RecommendOptions",
            serde_names(&RecommendRequest::default()),
        ),
        ("Filter", serde_names(&Filter::default())),
        ("Boost", serde_names(&boost)),
        (
            "Pin",
            serde_names(&Pin {
                item: "a".into(),
                position: 1,
            }),
        ),
        ("SharedModel", serde_names(&model)),
        (
            "ModelNeighbour",
            serde_names(&Neighbour {
                item: "a".into(),
                score: 1.0,
            }),
        ),
        (
            "ModelSegment",
            serde_names(&Segment {
                label: "a".into(),
                share: 1.0,
                centroid: Vec::new(),
            }),
        ),
        ("ItemModelInfo", serde_names(&item_model)),
        (
            "Recommendation",
            serde_names(&Recommendation {
                item: "a".into(),
                score: 1.0,
                reasons: Vec::new(),
            }),
        ),
        ("LoadReport", serde_names(&LoadReport::default())),
        (
            "RejectedRow",
            serde_names(&RejectedRow {
                index: 0,
                id: None,
                reason: String::new(),
            }),
        ),
        (
            "Interest",
            serde_names(&Interest {
                key: "tag:a".into(),
                kind: "tag".into(),
                label: "a".into(),
                weight: 1.0,
            }),
        ),
        ("ItemActivity", serde_names(&stats)),
        ("Explanation", serde_names(&explanation)),
        (
            "MatchedInterest",
            serde_names(&MatchedInterest {
                key: "tag:a".into(),
                weight: 1.0,
            }),
        ),
        ("ForYouPlacement", serde_names(&for_you)),
        ("ExportedEvent", serde_names(&exported)),
        ("LedgerSummary", serde_names(&ledger)),
        ("Affinities", serde_names(&Affinities::default())),
        (
            "DayCounters",
            serde_names(&DayCounts {
                day: 0,
                strategies: Vec::new(),
            }),
        ),
        ("StrategyCounts", serde_names(&StrategyCounts::default())),
        ("ReportContribution", serde_names(&Contribution::default())),
    ];
    for (interface, names) in &cases {
        assert_eq!(
            as_strs(names),
            t.members(interface),
            "{interface}: core serde vs kindred.d.ts"
        );
    }
    // What the engine exports is part of `ExportedData`, which adds what the binding keeps.
    let data = Engine::new(EngineConfig::default()).export_data(0);
    let exported_data = t.members("ExportedData");
    for name in serde_names(&data) {
        assert!(
            exported_data.contains(name.as_str()),
            "ExportedData lacks {name}"
        );
    }
}

/// The engine settings a shop passes to `Kindred.create` are spelled as `EngineConfig`'s serde
/// names; the test names the two that are not options.
#[test]
fn engine_options_are_spelled_as_engine_config() {
    let engine = serde_names(&EngineConfig::default());
    let options = reader_names(&CREATE_OPTIONS);
    let not_options: BTreeSet<&str> = as_strs(&engine).difference(&options).copied().collect();
    assert_eq!(
        not_options,
        BTreeSet::from(["futureToleranceMs", "profileTerms"])
    );
}

#[test]
fn enum_names_agree_with_the_typings_and_serde() {
    let t = Typings::parse(TYPINGS);
    let kinds: BTreeSet<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(kinds, t.union("EventType"));
    for kind in EventKind::ALL {
        assert_eq!(json_name(&kind), kind.name());
    }
    let strategies: BTreeSet<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(strategies, t.union("Strategy"));
    for strategy in Strategy::ALL {
        assert_eq!(json_name(&strategy), strategy.name());
    }
    let modes = mode_names();
    let mode_names: BTreeSet<&str> = modes.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        mode_names,
        string_literals(&t.interfaces["PrivacyConfig"]["mode"])
            .iter()
            .map(String::as_str)
            .collect()
    );
    for (name, mode) in modes {
        assert_eq!(json_name(&mode), name);
    }
    let codes: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(codes, t.union("KindredErrorCode"));
    let warnings: BTreeSet<&str> = WarningCode::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(
        warnings,
        string_literals(&t.interfaces["Warning"]["code"])
            .iter()
            .map(String::as_str)
            .collect()
    );
}

/// The privacy names kindred 0.1 used are refused by the reader with a message, and declared
/// `never` in the typings so TypeScript refuses them too.
#[test]
fn replaced_privacy_names_are_declared_never() {
    let text = without_comments(TYPINGS);
    for (old, _) in REPLACED_PRIVACY_OPTIONS {
        assert!(
            text.contains(&format!("{old}?: never;")),
            "kindred.d.ts should declare {old}?: never"
        );
        assert!(!reader_names(&PRIVACY).contains(old));
    }
}
