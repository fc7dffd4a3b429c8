//! Ingest: from the bytes of `POST /v1/reports` to counter rows, and the writer that commits
//! them.
//!
//! [`parse`] validates with the core ([`Report::from_json`]: strict JSON, version 2, the
//! server's window length and caps, keys, counter bounds, LDP parameters) and applies the
//! server's own rules: accepted modes and which windows may still receive reports. A batch is
//! all or nothing: one bad report refuses the request and nothing of it is counted, so a
//! client never has to guess what was kept. [`writer::Ingestor`] then commits rows of many
//! requests in one transaction.

pub mod writer;

use std::collections::BTreeSet;

use kindred_core::{Report, ReportError, MAX_REPORT_BYTES};
use serde_json::value::RawValue;

use crate::config::PrivacySettings;
use crate::store::{CounterRow, Period};
use crate::time::date_of;

/// Largest request body: one report at most (64 KiB, the core's limit), or a batch of small
/// ones within the same bytes.
pub const MAX_BODY_BYTES: usize = MAX_REPORT_BYTES;

/// Most reports in one batch. Browsers send one report per request; batches are for relays
/// (e.g. an OHTTP gateway or a shop's own backend forwarding reports).
pub const MAX_BATCH: usize = 100;

/// The stable `error` code of a report for a window that takes no reports (not begun, or
/// past its release delay). Clients drop such reports instead of retrying them.
pub const WINDOW_NOT_ACCEPTED: &str = "window-not-accepted";

/// What the server accepts besides the core's validation: the privacy settings (limits,
/// modes, window length and release delay) the server runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestPolicy {
    pub privacy: PrivacySettings,
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
    /// The periods this submission adds to.
    pub fn periods(&self) -> BTreeSet<Period> {
        self.rows.iter().map(|r| r.period).collect()
    }
}

/// Parses and validates a request body: one report object, or an array of 1 to
/// [`MAX_BATCH`] report objects. `released(period)` says whether a period is already
/// released.
pub fn parse(
    body: &[u8],
    policy: &IngestPolicy,
    today: u32,
    released: &dyn Fn(Period) -> bool,
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
    released: &dyn Fn(Period) -> bool,
    out: &mut Submission,
) -> Result<(), Rejection> {
    let privacy = &policy.privacy;
    let report = Report::from_json(json, &privacy.aggregation.limits()).map_err(|e| {
        let code = match e {
            ReportError::Version(_) => "unsupported-version",
            ReportError::TooLarge(_) => "report-too-large",
            ReportError::WindowDays { .. } => "window-mismatch",
            ReportError::WindowAlignment { .. } => "window-misaligned",
            _ => "invalid-report",
        };
        let detail = match e {
            ReportError::Version(1) => format!(
                "{e}. Version 1 reports count per day and cannot be counted per window; the page must load a kindred browser module that sends version 2 (the report is dropped, nothing to retry)"
            ),
            _ => e.to_string(),
        };
        Rejection::new(code, detail)
    })?;
    if !privacy.modes.contains(&report.mode) {
        let accepted: Vec<&str> = privacy.modes.iter().map(|m| m.name()).collect();
        return Err(Rejection::new(
            "mode-not-accepted",
            format!(
                "this server accepts {} reports, not \"{}\"",
                accepted.join(" and "),
                report.mode.name()
            ),
        ));
    }
    let period = Period::new(report.window, report.days);
    if !privacy.accepts(period, today) {
        return Err(window_not_accepted(period, privacy, today));
    }
    if released(period) {
        return Err(closed_window(period));
    }
    out.reports += 1;
    out.rows
        .extend(report.increments().into_iter().map(|i| CounterRow {
            period,
            counter: i.counter,
            key: i.key,
            delta: i.delta,
        }));
    Ok(())
}

/// Why a period takes no reports on `today`.
fn window_not_accepted(period: Period, privacy: &PrivacySettings, today: u32) -> Rejection {
    if privacy.is_releasable(period, today) {
        Rejection::new(
            WINDOW_NOT_ACCEPTED,
            format!(
                "{period} ended more than {} day(s) ago, so it is released (or about to be) and takes no more reports",
                privacy.release_delay_days
            ),
        )
    } else {
        Rejection::new(
            WINDOW_NOT_ACCEPTED,
            format!(
                "{period} has not begun yet (today is {}): reports cover days that have ended; check the device clock",
                date_of(today)
            ),
        )
    }
}

/// The rejection of a report for a period that is already released.
pub fn closed_window(period: Period) -> Rejection {
    Rejection::new(
        WINDOW_NOT_ACCEPTED,
        format!(
            "{period} is already released: each window is released once, so late reports for it can no longer be counted"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CommonArgs, Settings};
    use kindred_core::aggregate::Counter;

    /// Day 20600 is in the 30-day window 20580 (20580 to 20609).
    const TODAY: u32 = 20_600;
    const WINDOW: u32 = 20_580;

    fn policy() -> IngestPolicy {
        let settings = Settings::resolve(&CommonArgs::default()).expect("defaults");
        IngestPolicy {
            privacy: settings.privacy,
        }
    }

    fn report(window: u32, items: &str) -> String {
        format!(r#"{{"v":2,"window":{window},"days":30,"mode":"threshold","items":[{items}]}}"#)
    }

    fn run_on(body: &str, today: u32) -> Result<Submission, Rejection> {
        parse(body.as_bytes(), &policy(), today, &|p| {
            p == Period::new(WINDOW - 60, 30)
        })
    }

    fn run(body: &str) -> Result<Submission, Rejection> {
        run_on(body, TODAY)
    }

    #[test]
    fn one_report_and_a_batch_become_rows_of_their_window() {
        let one = run(&report(WINDOW, r#""mug","tea""#)).expect("valid");
        assert_eq!(one.reports, 1);
        assert_eq!(one.rows.len(), 3, "reports + 2 items: {:?}", one.rows);
        assert!(one.rows.iter().all(|r| r.period == Period::new(WINDOW, 30)));
        assert!(one
            .rows
            .iter()
            .any(|r| r.counter == Counter::Reports && r.key.is_empty()));
        // The window before is still open on its first day after (release delay 1).
        let batch = format!(
            " [{}, {}]",
            report(WINDOW, r#""mug""#),
            report(WINDOW - 30, r#""mug""#)
        );
        let b = run_on(&batch, WINDOW).expect("valid");
        assert_eq!(b.reports, 2);
        assert_eq!(
            b.periods(),
            BTreeSet::from([Period::new(WINDOW - 30, 30), Period::new(WINDOW, 30)])
        );
        // A clock slightly ahead may report for the next window on its eve.
        assert!(run_on(&report(WINDOW + 30, r#""a""#), WINDOW + 29).is_ok());
    }

    #[test]
    fn refusals_name_their_reason() {
        let ldp = format!(
            r#"{{"v":2,"window":{WINDOW},"days":30,"mode":"ldp","ldp":{{"eps":1.0,"l":4,"items":{{"s":1,"y":0}},"pairs":{{"s":1,"y":0}},"interests":{{"s":1,"y":0}},"strategies":{{"s":1,"y":0}}}}}}"#
        );
        let too_many = format!(
            "[{}]",
            vec![report(WINDOW, r#""a""#); MAX_BATCH + 1].join(",")
        );
        let cases = [
            (
                report(WINDOW + 30, r#""a""#),
                WINDOW_NOT_ACCEPTED,
                "has not begun",
            ),
            (
                report(WINDOW - 30, r#""a""#),
                WINDOW_NOT_ACCEPTED,
                "ended more than 1 day(s) ago",
            ),
            (
                report(WINDOW - 60, r#""a""#),
                WINDOW_NOT_ACCEPTED,
                "ended more than",
            ),
            (
                ldp,
                "mode-not-accepted",
                "accepts threshold reports, not \"ldp\"",
            ),
            (
                format!(r#"{{"v":1,"epoch":{TODAY},"mode":"threshold"}}"#),
                "unsupported-version",
                "Version 1 reports count per day",
            ),
            (
                format!(r#"{{"v":2,"window":{WINDOW},"days":7,"mode":"threshold"}}"#),
                "window-mismatch",
                "set privacy.windowDays to 30",
            ),
            (
                format!(
                    r#"{{"v":2,"window":{},"days":30,"mode":"threshold"}}"#,
                    WINDOW + 1
                ),
                "window-misaligned",
                "not a multiple of its 30 days",
            ),
            ("[]".to_owned(), "empty-batch", "no report"),
            (too_many, "batch-too-large", "101 reports"),
            (
                format!("[{}, 5]", report(WINDOW, "")),
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
        let r = parse(b"{\"v\":2,\xff}", &policy(), TODAY, &|_| false).expect_err("not utf-8");
        assert_eq!(r.code, "not-utf8");
    }

    #[test]
    fn a_released_window_is_refused_even_while_its_delay_runs() {
        let released = Period::new(WINDOW, 30);
        let r = parse(
            report(WINDOW, r#""a""#).as_bytes(),
            &policy(),
            TODAY,
            &|p| p == released,
        )
        .expect_err("released");
        assert_eq!(r.code, WINDOW_NOT_ACCEPTED);
        assert!(r.detail.contains("already released"), "{r:?}");
    }
}
