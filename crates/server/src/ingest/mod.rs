//! Ingest: from the bytes of `POST /v1/reports` to counter rows, and the writer that commits
//! them.
//!
//! [`parse`] validates with the core ([`Report::from_json`]: strict JSON, caps, keys, counter
//! bounds, LDP parameters) and applies the server's own rules: accepted modes and which days
//! may still receive reports. A batch is all or nothing: one bad report refuses the request
//! and nothing of it is counted, so a client never has to guess what was kept.
//! [`writer::Ingestor`] then commits rows of many requests in one transaction.

pub mod writer;

use std::collections::BTreeSet;

use kindred_core::report::{Report, ReportError, ReportLimits, MAX_REPORT_BYTES};
use kindred_core::Mode;
use serde_json::value::RawValue;

use crate::store::CounterRow;
use crate::time::date_of;

/// Largest request body: one report at most (64 KiB, the core's limit), or a batch of small
/// ones within the same bytes.
pub const MAX_BODY_BYTES: usize = MAX_REPORT_BYTES;

/// Most reports in one batch. Browsers send one report per request; batches are for relays
/// (e.g. an OHTTP gateway or a shop's own backend forwarding reports).
pub const MAX_BATCH: usize = 100;

/// What the server accepts besides the core's validation.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestPolicy {
    pub limits: ReportLimits,
    pub modes: Vec<Mode>,
    /// Reports for days older than this many days are refused (they would be deleted anyway).
    pub retention_days: u32,
}

/// Why a body was refused (HTTP 400). `code` is the machine-readable `error` of the response
/// and the `reason` label of the reject metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub detail: String,
}

impl Rejection {
    fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Rejection {
            code,
            detail: detail.into(),
        }
    }
}

/// Validated reports of one request, as counter rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Submission {
    pub reports: u32,
    pub rows: Vec<CounterRow>,
}

impl Submission {
    /// The days this submission adds to.
    pub fn epochs(&self) -> BTreeSet<u32> {
        self.rows.iter().map(|r| r.epoch).collect()
    }
}

/// Parses and validates a request body: one report object, or an array of 1 to
/// [`MAX_BATCH`] report objects. `released(day)` says whether a day is already released.
pub fn parse(
    body: &[u8],
    policy: &IngestPolicy,
    today: u32,
    released: &dyn Fn(u32) -> bool,
) -> Result<Submission, Rejection> {
    let text = std::str::from_utf8(body).map_err(|e| {
        Rejection::new(
            "not-utf8",
            format!(
                "the body is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    let mut out = Submission::default();
    if text.trim_start().starts_with('[') {
        let reports: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
            Rejection::new(
                "invalid-report",
                format!("a batch must be a JSON array of reports: {e}"),
            )
        })?;
        if reports.is_empty() {
            return Err(Rejection::new("empty-batch", "the batch holds no report"));
        }
        if reports.len() > MAX_BATCH {
            return Err(Rejection::new(
                "batch-too-large",
                format!(
                    "the batch holds {} reports, at most {MAX_BATCH} are accepted per request",
                    reports.len()
                ),
            ));
        }
        let n = reports.len();
        for (i, raw) in reports.into_iter().enumerate() {
            add_report(raw.get(), policy, today, released, &mut out).map_err(|r| {
                Rejection::new(r.code, format!("report {} of {n}: {}", i + 1, r.detail))
            })?;
        }
    } else {
        add_report(text, policy, today, released, &mut out)?;
    }
    Ok(out)
}

fn add_report(
    json: &str,
    policy: &IngestPolicy,
    today: u32,
    released: &dyn Fn(u32) -> bool,
    out: &mut Submission,
) -> Result<(), Rejection> {
    let report = Report::from_json(json, &policy.limits).map_err(|e| {
        let code = match e {
            ReportError::Version(_) => "unsupported-version",
            ReportError::TooLarge(_) => "report-too-large",
            _ => "invalid-report",
        };
        Rejection::new(code, e.to_string())
    })?;
    if !policy.modes.contains(&report.mode) {
        let accepted: Vec<&str> = policy.modes.iter().map(|m| m.name()).collect();
        return Err(Rejection::new(
            "mode-not-accepted",
            format!(
                "this server accepts {} reports, not \"{}\"",
                accepted.join(" and "),
                report.mode.name()
            ),
        ));
    }
    let epoch = report.epoch;
    if epoch > today {
        return Err(Rejection::new(
            "epoch-not-accepted",
            format!(
                "the report is for day {epoch} ({}), which has not begun yet; reports cover completed days (check the device clock)",
                date_of(epoch)
            ),
        ));
    }
    if epoch < today.saturating_sub(policy.retention_days) {
        return Err(Rejection::new(
            "epoch-not-accepted",
            format!(
                "the report is for day {epoch} ({}), older than this server keeps ({} days)",
                date_of(epoch),
                policy.retention_days
            ),
        ));
    }
    if released(epoch) {
        return Err(closed_day(epoch));
    }
    out.reports += 1;
    out.rows
        .extend(report.increments().into_iter().map(|i| CounterRow {
            epoch,
            counter: i.counter,
            key: i.key,
            delta: i.delta,
        }));
    Ok(())
}

/// The rejection of a report for a day that is already released.
pub fn closed_day(epoch: u32) -> Rejection {
    Rejection::new(
        "epoch-not-accepted",
        format!(
            "day {epoch} ({}) is already released: each day is released once, so late reports for it can no longer be counted",
            date_of(epoch)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_core::report::Counter;

    const TODAY: u32 = 20_600;

    fn policy() -> IngestPolicy {
        IngestPolicy {
            limits: ReportLimits::default(),
            modes: vec![Mode::Threshold],
            retention_days: 90,
        }
    }

    fn report(epoch: u32, items: &str) -> String {
        format!(r#"{{"v":1,"epoch":{epoch},"mode":"threshold","items":[{items}]}}"#)
    }

    fn run(body: &str) -> Result<Submission, Rejection> {
        parse(body.as_bytes(), &policy(), TODAY, &|e| e == TODAY - 5)
    }

    #[test]
    fn one_report_and_a_batch_become_rows() {
        let one = run(&report(TODAY - 1, r#""mug","tea""#)).expect("valid");
        assert_eq!(one.reports, 1);
        assert_eq!(one.rows.len(), 3, "reports + 2 items: {:?}", one.rows);
        assert!(one
            .rows
            .iter()
            .any(|r| r.counter == Counter::Reports && r.key.is_empty()));
        let batch = format!(
            " [{}, {}]",
            report(TODAY - 1, r#""mug""#),
            report(TODAY - 2, r#""mug""#)
        );
        let b = run(&batch).expect("valid");
        assert_eq!(b.reports, 2);
        assert_eq!(b.epochs(), BTreeSet::from([TODAY - 2, TODAY - 1]));
    }

    #[test]
    fn refusals_name_their_reason() {
        let ldp = r#"{"v":1,"epoch":20599,"mode":"ldp","ldp":{"eps":1.0,"l":4,"items":{"s":1,"y":0},"pairs":{"s":1,"y":0},"interests":{"s":1,"y":0},"strategies":{"s":1,"y":0}}}"#;
        let too_many = format!(
            "[{}]",
            vec![report(TODAY - 1, r#""a""#); MAX_BATCH + 1].join(",")
        );
        let cases = [
            (
                report(TODAY + 1, r#""a""#),
                "epoch-not-accepted",
                "has not begun",
            ),
            (
                report(TODAY - 91, r#""a""#),
                "epoch-not-accepted",
                "older than",
            ),
            (
                report(TODAY - 5, r#""a""#),
                "epoch-not-accepted",
                "already released",
            ),
            (
                ldp.to_owned(),
                "mode-not-accepted",
                "accepts threshold reports, not \"ldp\"",
            ),
            (
                r#"{"v":2,"epoch":1,"mode":"threshold"}"#.to_owned(),
                "unsupported-version",
                "version 2",
            ),
            ("[]".to_owned(), "empty-batch", "no report"),
            (too_many, "batch-too-large", "101 reports"),
            (
                format!("[{}, 5]", report(TODAY - 1, "")),
                "invalid-report",
                "report 2 of 2",
            ),
            ("[1,".to_owned(), "invalid-report", "JSON array"),
        ];
        for (body, code, detail) in cases {
            let r = run(&body).expect_err(&body);
            assert_eq!(r.code, code, "{body}: {r:?}");
            assert!(r.detail.contains(detail), "{body}: {r:?}");
        }
        let r = parse(b"{\"v\":1,\xff}", &policy(), TODAY, &|_| false).expect_err("not utf-8");
        assert_eq!(r.code, "not-utf8");
    }
}
