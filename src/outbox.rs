//! The rules of report delivery, as plain Rust (no JS types, tested natively): whether reports
//! may be sent at all, and what the outbox of committed reports sends, keeps, drops and
//! retries. `transport.rs` persists the outbox, posts the reports and schedules the attempts.
//!
//! The one promise these rules keep: at most one report per day reaches the server. A report
//! is committed (its ledger charge and window keys recorded) before it is sent, so sending the
//! same bytes again reveals nothing new, but the server would count the day twice. Hence an
//! entry is claimed by one tab while it sends, retried only after an outcome says it failed,
//! and dropped when its sender vanished without one.

use kindred_core::Mode;

use crate::error::WarningCode;

/// How long a tab owns an outbox entry it is sending before another tab may retry it.
pub(crate) const CLAIM_MS: i64 = 60_000;

/// The longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 6 * 3_600_000;

/// Whether the shop may send reports for this shopper (`consent` option and `k.consent()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Consent {
    /// Reports are anonymous, bounded and noised (docs/PRIVACY.md), so the default lets them
    /// go; shops whose policy requires opt-in pass `"pending"` and call `consent("granted")`.
    #[default]
    Granted,
    Pending,
    Denied,
}

impl Consent {
    pub(crate) const ALL: [Consent; 3] = [Consent::Granted, Consent::Pending, Consent::Denied];

    pub(crate) fn parse(value: &str) -> Option<Consent> {
        Consent::ALL.into_iter().find(|c| c.name() == value)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Consent::Granted => "granted",
            Consent::Pending => "pending",
            Consent::Denied => "denied",
        }
    }
}

/// Why no report may be sent now (`privacy().blockedBy`), if something forbids it. Checked in
/// this order; `browser_opt_out` (Global Privacy Control, Do Not Track) is asked last, and only
/// when nothing else blocks.
pub(crate) fn report_blocker(
    has_endpoint: bool,
    mode: Mode,
    consent: Consent,
    browser_opt_out: impl FnOnce() -> Option<&'static str>,
) -> Option<&'static str> {
    if !has_endpoint {
        return Some("no-endpoint");
    }
    if mode == Mode::Off {
        return Some("mode-off");
    }
    match consent {
        Consent::Pending => Some("consent-pending"),
        Consent::Denied => Some("consent-denied"),
        Consent::Granted => browser_opt_out(),
    }
}

/// A committed report waiting for delivery. Committing charged the ledger and marked the day
/// reported, so the same bytes are retried and never re-drawn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutboxEntry {
    /// The day (UTC day number) whose report it is. Kept on the device only: reports carry
    /// their window, never a day.
    pub(crate) day: u32,
    pub(crate) json: String,
    pub(crate) committed_at: i64,
    pub(crate) attempts: u32,
    /// Not before this time (ms).
    pub(crate) next_at: i64,
    /// A tab is sending it until then (ms): other tabs leave it alone. 0: nobody is.
    pub(crate) claimed_until: i64,
}

impl OutboxEntry {
    /// A report just committed at `now`: due at once, never tried, unclaimed.
    pub(crate) fn committed(day: u32, json: String, now: i64) -> OutboxEntry {
        OutboxEntry {
            day,
            json,
            committed_at: now,
            attempts: 0,
            next_at: now,
            claimed_until: 0,
        }
    }
}

/// What [`claim_due`] did to the outbox.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Claim {
    /// Entries committed `keep_ms` or longer ago, dropped unsent.
    pub(crate) expired: usize,
    /// Entries whose claim ran out without an outcome, dropped unsent (see [`claim_due`]).
    pub(crate) unsettled: usize,
    /// The entries this tab now sends, as `(day, json)`, in outbox order (oldest first).
    pub(crate) claimed: Vec<(u32, String)>,
}

/// Expires what is too old to send, drops abandoned claims, then claims what is due for
/// [`CLAIM_MS`].
///
/// A claim that ran out without an outcome means the page closed while sending (a `keepalive`
/// request often arrives anyway). Sending again could count the day twice, so it is not
/// retried: at most one report per day. Entries another tab is sending, and entries waiting
/// for their retry time, are left as they are.
pub(crate) fn claim_due(outbox: &mut Vec<OutboxEntry>, now: i64, keep_ms: i64) -> Claim {
    let before = outbox.len();
    outbox.retain(|e| e.committed_at + keep_ms > now);
    let expired = before - outbox.len();
    let before = outbox.len();
    outbox.retain(|e| e.claimed_until == 0 || e.claimed_until > now);
    let unsettled = before - outbox.len();
    let mut claimed = Vec::new();
    for e in outbox.iter_mut() {
        if e.next_at <= now && e.claimed_until <= now {
            e.claimed_until = now + CLAIM_MS;
            claimed.push((e.day, e.json.clone()));
        }
    }
    Claim {
        expired,
        unsettled,
        claimed,
    }
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    Accepted,
    /// The server refused the report itself (4xx other than 408/429): resending cannot help.
    Rejected(String),
    /// Network error, timeout, 408, 429 or 5xx: try again later.
    Failed(String),
}

impl Delivery {
    /// The outcome an HTTP status means, or `None` for a refusal (4xx other than 408/429),
    /// whose reason the caller reads from the response body.
    pub(crate) fn of_status(status: u16) -> Option<Delivery> {
        match status {
            200..=299 => Some(Delivery::Accepted),
            408 | 429 => Some(Delivery::Failed(format!("HTTP {status}"))),
            400..=499 => None,
            _ => Some(Delivery::Failed(format!("HTTP {status}"))),
        }
    }
}

/// Applies the outcome of sending the report of `day`: accepted or rejected, it leaves the
/// outbox; failed, it waits [`backoff_ms`] and is released for the next attempt. Returns the
/// warning to give (`report-rejected` or `report-delayed`, and why). Nothing happens when the
/// entry is gone meanwhile (`forget()` emptied the outbox).
pub(crate) fn settle(
    outbox: &mut Vec<OutboxEntry>,
    day: u32,
    delivery: &Delivery,
    now: i64,
    retry_base_ms: u32,
) -> Option<(WarningCode, String)> {
    let at = outbox.iter().position(|e| e.day == day)?;
    match delivery {
        Delivery::Accepted => {
            outbox.remove(at);
            None
        }
        Delivery::Rejected(why) => {
            outbox.remove(at);
            Some((WarningCode::ReportRejected, why.clone()))
        }
        Delivery::Failed(why) => {
            let e = &mut outbox[at];
            e.attempts += 1;
            e.next_at = now + backoff_ms(e.attempts - 1, retry_base_ms);
            e.claimed_until = 0;
            Some((WarningCode::ReportDelayed, why.clone()))
        }
    }
}

/// Wait before attempt `attempts + 1`: `base` doubled per failure, at most six hours.
pub(crate) fn backoff_ms(attempts: u32, base: u32) -> i64 {
    let factor = 1i64 << attempts.min(20);
    (i64::from(base) * factor).min(MAX_BACKOFF_MS)
}

/// When the next attempt is due: the earliest `next_at`, `None` for an empty outbox.
pub(crate) fn next_attempt(outbox: &[OutboxEntry]) -> Option<i64> {
    outbox.iter().map(|e| e.next_at).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    const DAY: i64 = 86_400_000;
    const KEEP: i64 = 7 * DAY;

    fn entry(day: u32, committed_at: i64) -> OutboxEntry {
        OutboxEntry::committed(day, format!("{{\"day\":{day}}}"), committed_at)
    }

    fn days(outbox: &[OutboxEntry]) -> Vec<u32> {
        outbox.iter().map(|e| e.day).collect()
    }

    #[test]
    fn blockers_come_in_order_and_opt_out_is_asked_last() {
        let never = || -> Option<&'static str> { panic!("asked for the opt-out too early") };
        let gpc = || Some("global-privacy-control");
        let (off, on) = (Mode::Off, Mode::Threshold);
        assert_eq!(
            report_blocker(false, off, Consent::Denied, never),
            Some("no-endpoint")
        );
        assert_eq!(
            report_blocker(true, off, Consent::Denied, never),
            Some("mode-off")
        );
        assert_eq!(
            report_blocker(true, on, Consent::Pending, never),
            Some("consent-pending")
        );
        assert_eq!(
            report_blocker(true, Mode::Ldp, Consent::Denied, never),
            Some("consent-denied")
        );
        assert_eq!(
            report_blocker(true, on, Consent::Granted, gpc),
            Some("global-privacy-control")
        );
        assert_eq!(report_blocker(true, on, Consent::Granted, || None), None);
    }

    #[test]
    fn consent_names_round_trip() {
        for c in [Consent::Granted, Consent::Pending, Consent::Denied] {
            assert_eq!(Consent::parse(c.name()), Some(c));
        }
        assert_eq!(Consent::parse("yes"), None);
        assert_eq!(Consent::default(), Consent::Granted);
    }

    #[test]
    fn a_due_entry_is_claimed_once_and_left_alone_while_claimed() {
        let now = 100 * DAY;
        let mut outbox = vec![entry(99, now - MINUTE)];
        let first = claim_due(&mut outbox, now, KEEP);
        assert_eq!(first.claimed, vec![(99, "{\"day\":99}".to_owned())]);
        assert_eq!(outbox[0].claimed_until, now + CLAIM_MS);
        // Another tab (or a second run of this one) within the claim sends nothing.
        let second = claim_due(&mut outbox, now + CLAIM_MS - 1, KEEP);
        assert_eq!(second, Claim::default());
        assert_eq!(days(&outbox), [99]);
    }

    #[test]
    fn a_claim_that_ran_out_without_an_outcome_is_dropped_not_resent() {
        let now = 100 * DAY;
        let mut outbox = vec![entry(98, now), entry(99, now)];
        claim_due(&mut outbox, now, KEEP);
        // The page closed while sending: no outcome was recorded for either.
        let later = claim_due(&mut outbox, now + CLAIM_MS, KEEP);
        assert_eq!(later.unsettled, 2);
        assert!(later.claimed.is_empty());
        assert!(outbox.is_empty());
    }

    #[test]
    fn entries_older_than_the_outbox_days_expire_unsent() {
        let now = 100 * DAY;
        let mut outbox = vec![entry(90, now - KEEP), entry(91, now - KEEP + 1)];
        let claim = claim_due(&mut outbox, now, KEEP);
        assert_eq!(claim.expired, 1);
        assert_eq!(days(&outbox), [91]);
        assert_eq!(claim.claimed.len(), 1);
    }

    #[test]
    fn only_due_entries_are_claimed_in_outbox_order() {
        let now = 100 * DAY;
        let mut waiting = entry(97, now - DAY);
        waiting.next_at = now + 1;
        let mut outbox = vec![entry(98, now - DAY), waiting, entry(99, now)];
        let claim = claim_due(&mut outbox, now, KEEP);
        let claimed: Vec<u32> = claim.claimed.iter().map(|c| c.0).collect();
        assert_eq!(claimed, [98, 99]);
        assert_eq!(
            outbox[1].claimed_until, 0,
            "the waiting entry stays unclaimed"
        );
    }

    #[test]
    fn accepted_and_rejected_reports_leave_the_outbox() {
        let now = 100 * DAY;
        let mut outbox = vec![entry(98, now), entry(99, now)];
        claim_due(&mut outbox, now, KEEP);
        assert_eq!(
            settle(&mut outbox, 99, &Delivery::Accepted, now, 1000),
            None
        );
        assert_eq!(days(&outbox), [98]);
        let why = "HTTP 400 window-mismatch: 7 days".to_owned();
        assert_eq!(
            settle(&mut outbox, 98, &Delivery::Rejected(why.clone()), now, 1000),
            Some((WarningCode::ReportRejected, why))
        );
        assert!(outbox.is_empty());
    }

    #[test]
    fn a_failed_report_is_released_and_retried_after_a_growing_backoff() {
        let now = 100 * DAY;
        let mut outbox = vec![entry(99, now)];
        let failed = Delivery::Failed("HTTP 503".into());
        let mut at = now;
        for (attempt, wait) in [(1, 1000), (2, 2000), (3, 4000)] {
            assert_eq!(claim_due(&mut outbox, at, KEEP).claimed.len(), 1);
            let warning = settle(&mut outbox, 99, &failed, at, 1000);
            assert_eq!(
                warning,
                Some((WarningCode::ReportDelayed, "HTTP 503".to_owned()))
            );
            let e = &outbox[0];
            assert_eq!(
                (e.attempts, e.next_at, e.claimed_until),
                (attempt, at + wait, 0)
            );
            // Not before its time.
            assert!(claim_due(&mut outbox, at + wait - 1, KEEP)
                .claimed
                .is_empty());
            at += wait;
        }
        assert_eq!(next_attempt(&outbox), Some(at));
    }

    #[test]
    fn settling_an_entry_that_is_gone_changes_nothing() {
        let now = 100 * DAY;
        let mut outbox = vec![entry(98, now)];
        let failed = Delivery::Failed("offline".into());
        assert_eq!(settle(&mut outbox, 99, &failed, now, 1000), None);
        assert_eq!(outbox, vec![entry(98, now)]);
        let mut empty = Vec::new();
        assert_eq!(settle(&mut empty, 99, &Delivery::Accepted, now, 1000), None);
        assert_eq!(next_attempt(&empty), None);
    }

    #[test]
    fn settling_touches_only_the_first_entry_of_its_day() {
        // The engine commits one report per day; a stored outbox with two entries of one day
        // (written by hand, say) still settles one at a time.
        let now = 100 * DAY;
        let mut outbox = vec![entry(99, now), entry(99, now + 1)];
        settle(&mut outbox, 99, &Delivery::Accepted, now, 1000);
        assert_eq!(outbox, vec![entry(99, now + 1)]);
    }

    #[test]
    fn backoff_doubles_and_stops_at_six_hours() {
        assert_eq!(backoff_ms(0, 60_000), 60_000);
        assert_eq!(backoff_ms(1, 60_000), 120_000);
        assert_eq!(backoff_ms(8, 60_000), 256 * 60_000);
        assert_eq!(backoff_ms(9, 60_000), MAX_BACKOFF_MS);
        // Large counts and bases neither overflow nor exceed the cap.
        assert_eq!(backoff_ms(u32::MAX, i32::MAX as u32), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(3, 0), 0);
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(Delivery::of_status(202), Some(Delivery::Accepted));
        for refusal in [400, 403, 413] {
            assert_eq!(Delivery::of_status(refusal), None);
        }
        for status in [408, 429, 500, 503, 302] {
            assert_eq!(
                Delivery::of_status(status),
                Some(Delivery::Failed(format!("HTTP {status}")))
            );
        }
    }
}
