//! Pending operations and the rebase, as plain Rust (no JS types, tested natively): what this
//! tab changed since its last write, and how those changes are replayed onto the state another
//! tab stored, so two tabs tracking at the same time never lose each other's events.
//! `persist.rs` reads and writes IndexedDB, and listens to the `BroadcastChannel`, around it.

use kindred_core::{Engine, EventInput};

/// A change not yet known to be in storage, replayed on top of another tab's state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// The event (with its resolved `ts`, so a replay records the same time) and the clock
    /// when it was tracked.
    Track(EventInput, i64),
    RemoveInterest(String),
}

/// This tab's changes not yet in storage, oldest first.
///
/// Each operation has a sequence number, so a write can say which operations it saved
/// ([`Pending::mark`] before, [`Pending::saved_before`] once it committed): operations added
/// while it ran stay pending even if the list was cleared meanwhile (`forget()`).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    ops: Vec<(u64, Op)>,
    next: u64,
}

impl Pending {
    pub(crate) fn push(&mut self, op: Op) {
        self.ops.push((self.next, op));
        self.next += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.ops.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Drops every operation (they are forgotten, not saved).
    pub(crate) fn clear(&mut self) {
        self.ops.clear();
    }

    /// Where the operations a write is about to save end.
    pub(crate) fn mark(&self) -> u64 {
        self.next
    }

    /// The write that took `mark` committed: the operations before it are in storage.
    pub(crate) fn saved_before(&mut self, mark: u64) {
        self.ops.retain(|(seq, _)| *seq >= mark);
    }

    /// Applies the operations to `engine`, in the order they happened.
    pub(crate) fn replay(&self, engine: &mut Engine) {
        for (_, op) in &self.ops {
            match op {
                // An item may have left this tab's catalog since; the event stays in the
                // other copy of history, so skipping it here loses nothing stored.
                Op::Track(event, now) => drop(engine.track(event, *now)),
                Op::RemoveInterest(key) => engine.remove_interest(key),
            }
        }
    }
}

/// The stored state as the merge sees it (see `storage.rs` for the record itself).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stored<'a> {
    /// Nothing stored yet.
    Empty,
    /// A tab ran `forget()`; the bytes hold what outlives it (ledger, last reported day,
    /// closed window), absent in records of kindred 0.1.
    Forgotten(Option<&'a [u8]>),
    Snapshot(&'a [u8]),
    /// A record that is not a kindred snapshot at all.
    Unreadable,
}

/// What [`merge`] did to this tab's engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Merged {
    /// Nothing stored: the engine is as it was.
    Unchanged,
    /// Another tab forgot the shopper: so did this one, pending operations included.
    Forgotten,
    /// The stored state, with this tab's pending operations replayed on top.
    Rebased,
    /// The stored state cannot be read (why): the engine and pending operations are unchanged,
    /// and the caller quarantines the record.
    Unreadable(String),
}

/// Why a record that is no snapshot cannot be read.
const NOT_A_SNAPSHOT: &str = "the stored state is not a kindred snapshot";

/// Replaces the engine's shopper state with the stored one (on an error, nothing changes).
/// Used when a page starts, before anything is pending.
pub(crate) fn restore(engine: &mut Engine, stored: Stored<'_>) -> Result<(), String> {
    match stored {
        Stored::Empty | Stored::Forgotten(None) => Ok(()),
        Stored::Snapshot(bytes) | Stored::Forgotten(Some(bytes)) => {
            engine.restore(bytes).map_err(|e| e.to_string())
        }
        Stored::Unreadable => Err(NOT_A_SNAPSHOT.to_owned()),
    }
}

/// Brings another tab's stored state into this tab: the stored state, then this tab's pending
/// operations replayed on top (the rebase).
pub(crate) fn merge(engine: &mut Engine, pending: &mut Pending, stored: Stored<'_>) -> Merged {
    match stored {
        Stored::Empty => Merged::Unchanged,
        Stored::Forgotten(bytes) => {
            // Another tab ran forget(): events this tab had not saved were tracked before it
            // learnt of that, so they go too (erring on the side of forgetting).
            engine.forget();
            pending.clear();
            // What outlives forget() (ledger, last reported day, closed window) is merged, so
            // this tab's next write cannot reopen the window or give budget back. Unreadable
            // bytes change nothing: the engine is forgotten either way.
            if let Some(bytes) = bytes {
                let _ = engine.restore(bytes);
            }
            Merged::Forgotten
        }
        Stored::Snapshot(_) | Stored::Unreadable => match restore(engine, stored) {
            Ok(()) => {
                pending.replay(engine);
                Merged::Rebased
            }
            Err(why) => Merged::Unreadable(why),
        },
    }
}

/// `forget()` when another tab saved since this one last looked, perhaps a report: its ledger
/// spend and window keys must be merged before the window is closed, or this tab's write would
/// give budget back and reopen keys. Restoring brings back history too, so the engine forgets
/// again, then replays what was tracked since `forget()` was called. Unreadable bytes leave
/// the (already forgotten) engine as it is.
pub(crate) fn forget_onto(engine: &mut Engine, pending: &Pending, stored: Option<&[u8]>) {
    if let Some(bytes) = stored {
        if engine.restore(bytes).is_ok() {
            engine.forget();
            pending.replay(engine);
        }
    }
}

/// The `gen` of the next write: one more than any this tab has seen.
pub(crate) fn next_gen(stored: f64, synced: f64) -> f64 {
    stored.max(synced) + 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_core::{EventKind, OsRandom};

    const DAY: i64 = 86_400_000;
    const NOW: i64 = 20_400 * DAY + 12 * 3_600_000;
    const CATALOG: &str = r#"[
        {"id": "mug", "title": "Blue Mug", "categories": ["Home > Kitchen"], "brand": "Acme"},
        {"id": "cup", "title": "Blue Cup", "categories": ["Home > Kitchen"]},
        {"id": "lego", "title": "Brick Castle", "categories": ["Toys"]}
    ]"#;

    fn engine() -> Engine {
        let mut engine = Engine::default();
        engine.load_catalog_json(CATALOG).expect("catalog");
        engine
    }

    fn event(kind: EventKind, item: &str, ts: i64) -> EventInput {
        EventInput {
            ts: Some(ts as f64),
            ..EventInput::new(kind, item)
        }
    }

    /// Tracks in the engine and records the operation, as `track()` does.
    fn track(engine: &mut Engine, pending: &mut Pending, kind: EventKind, item: &str, ts: i64) {
        let e = event(kind, item, ts);
        engine.track(&e, NOW).expect("tracked");
        pending.push(Op::Track(e, NOW));
    }

    fn remove_interest(engine: &mut Engine, pending: &mut Pending, key: &str) {
        engine.remove_interest(key);
        pending.push(Op::RemoveInterest(key.to_owned()));
    }

    /// (type, item, ts) of every stored event, oldest first.
    fn events(engine: &Engine) -> Vec<(&'static str, String, i64)> {
        engine
            .export_data(NOW)
            .events
            .into_iter()
            .map(|e| (e.kind, e.item.unwrap_or_default(), e.ts))
            .collect()
    }

    fn interest_keys(engine: &Engine) -> Vec<String> {
        engine
            .interests(NOW, 50)
            .into_iter()
            .map(|i| i.key)
            .collect()
    }

    #[test]
    fn a_rebase_keeps_both_tabs_events_in_time_order() {
        let (mut a, mut b) = (engine(), engine());
        let (mut pending_a, mut pending_b) = (Pending::default(), Pending::default());
        track(&mut a, &mut pending_a, EventKind::View, "mug", NOW - 30);
        track(&mut b, &mut pending_b, EventKind::View, "cup", NOW - 20);
        track(&mut a, &mut pending_a, EventKind::Cart, "mug", NOW - 10);
        let stored = a.snapshot();
        assert_eq!(
            merge(&mut b, &mut pending_b, Stored::Snapshot(&stored)),
            Merged::Rebased
        );
        assert_eq!(
            events(&b),
            [
                ("view", "mug".into(), NOW - 30),
                ("view", "cup".into(), NOW - 20),
                ("cart", "mug".into(), NOW - 10),
            ]
        );
        assert_eq!(pending_b.len(), 1, "b's own event is still to be saved");
        assert_eq!(b.history().stats("mug").map(|s| s.carts), Some(1));
    }

    #[test]
    fn identical_events_of_two_tabs_are_both_kept() {
        // Two views of one item at the same millisecond are two views, not one.
        let (mut a, mut b) = (engine(), engine());
        let (mut pending_a, mut pending_b) = (Pending::default(), Pending::default());
        track(&mut a, &mut pending_a, EventKind::View, "mug", NOW - 5);
        track(&mut b, &mut pending_b, EventKind::View, "mug", NOW - 5);
        merge(&mut b, &mut pending_b, Stored::Snapshot(&a.snapshot()));
        assert_eq!(events(&b).len(), 2);
        assert_eq!(b.history().stats("mug").map(|s| s.views), Some(2));
    }

    #[test]
    fn saved_operations_are_not_replayed_twice() {
        let mut tab = engine();
        let mut pending = Pending::default();
        track(&mut tab, &mut pending, EventKind::View, "mug", NOW - 20);
        // A write takes the mark, then another event arrives before it commits.
        let mark = pending.mark();
        let stored = tab.snapshot();
        track(&mut tab, &mut pending, EventKind::View, "cup", NOW - 10);
        pending.saved_before(mark);
        assert_eq!(pending.len(), 1);
        // Rebasing onto what that write stored adds only the unsaved event.
        merge(&mut tab, &mut pending, Stored::Snapshot(&stored));
        let items: Vec<String> = events(&tab).into_iter().map(|e| e.1).collect();
        assert_eq!(items, ["mug", "cup"]);
    }

    #[test]
    fn operations_added_after_a_clear_survive_the_write_that_was_running() {
        let mut pending = Pending::default();
        pending.push(Op::RemoveInterest("brand:Acme".into()));
        let mark = pending.mark();
        pending.clear();
        pending.push(Op::RemoveInterest("tag:new".into()));
        pending.saved_before(mark);
        assert_eq!(pending.len(), 1);
        pending.saved_before(pending.mark());
        assert!(pending.is_empty());
    }

    #[test]
    fn operations_replay_in_order_so_a_removed_interest_stays_removed() {
        let (mut a, mut b) = (engine(), engine());
        let mut pending = Pending::default();
        track(&mut b, &mut pending, EventKind::View, "mug", NOW - 30);
        remove_interest(&mut b, &mut pending, "brand:Acme");
        track(&mut b, &mut pending, EventKind::Purchase, "mug", NOW - 10);
        track(
            &mut a,
            &mut Pending::default(),
            EventKind::View,
            "mug",
            NOW - 40,
        );
        merge(&mut b, &mut pending, Stored::Snapshot(&a.snapshot()));
        let keys = interest_keys(&b);
        assert!(!keys.contains(&"brand:Acme".to_owned()), "{keys:?}");
        assert!(keys.contains(&"category:Home".to_owned()), "{keys:?}");
        assert!(b.profile().removed_interests().contains("brand:Acme"));
        assert_eq!(events(&b).len(), 3);
    }

    #[test]
    fn an_event_for_an_item_this_tab_no_longer_has_is_skipped_and_the_rest_replayed() {
        let mut tab = engine();
        let mut pending = Pending::default();
        track(&mut tab, &mut pending, EventKind::View, "lego", NOW - 20);
        track(&mut tab, &mut pending, EventKind::View, "mug", NOW - 10);
        tab.load_catalog_json(r#"[{"id": "mug", "title": "Blue Mug"}]"#)
            .expect("catalog without lego");
        merge(
            &mut tab,
            &mut pending,
            Stored::Snapshot(&engine().snapshot()),
        );
        let items: Vec<String> = events(&tab).into_iter().map(|e| e.1).collect();
        assert_eq!(items, ["mug"]);
        assert_eq!(pending.len(), 2, "nothing is dropped from pending");
    }

    #[test]
    fn unreadable_stored_state_changes_nothing_and_says_why() {
        let mut tab = engine();
        let mut pending = Pending::default();
        track(&mut tab, &mut pending, EventKind::View, "mug", NOW - 10);
        let before = tab.snapshot();
        let mut corrupt = tab.snapshot();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        let Merged::Unreadable(why) = merge(&mut tab, &mut pending, Stored::Snapshot(&corrupt))
        else {
            panic!("corrupt bytes merged");
        };
        assert!(why.contains("checksum"), "{why}");
        assert_eq!(
            merge(&mut tab, &mut pending, Stored::Unreadable),
            Merged::Unreadable(NOT_A_SNAPSHOT.into())
        );
        assert_eq!(tab.snapshot(), before);
        assert_eq!(pending.len(), 1);
        assert_eq!(
            merge(&mut tab, &mut pending, Stored::Empty),
            Merged::Unchanged
        );
        assert_eq!(tab.snapshot(), before);
    }

    /// An engine whose report of yesterday is committed: its ledger has a spend.
    fn reported() -> Engine {
        let mut engine = engine();
        for item in ["mug", "cup"] {
            let e = event(EventKind::Purchase, item, NOW - DAY);
            engine.track(&e, NOW).expect("tracked");
        }
        let prepared = engine
            .prepare_report(NOW, &mut OsRandom)
            .expect("drawn")
            .expect("yesterday is due");
        engine.commit_report(prepared.day).expect("committed");
        engine
    }

    #[test]
    fn another_tabs_forget_forgets_pending_operations_and_keeps_its_ledger() {
        let mut other = reported();
        other.forget();
        let marker = other.snapshot();
        let mut tab = engine();
        let mut pending = Pending::default();
        track(&mut tab, &mut pending, EventKind::View, "mug", NOW - 10);
        assert_eq!(
            merge(&mut tab, &mut pending, Stored::Forgotten(Some(&marker))),
            Merged::Forgotten
        );
        assert!(events(&tab).is_empty());
        assert!(pending.is_empty());
        assert_eq!(tab.privacy_state().last_reported, Some(20_399));
        assert_eq!(tab.ledger_summary(NOW), other.ledger_summary(NOW));
        // A marker of kindred 0.1 (no bytes), or unreadable bytes: forgotten all the same.
        let mut old = engine();
        track(&mut old, &mut pending, EventKind::View, "mug", NOW - 10);
        merge(&mut old, &mut pending, Stored::Forgotten(Some(b"junk")));
        assert!(events(&old).is_empty() && pending.is_empty());
    }

    #[test]
    fn forget_onto_another_tabs_report_keeps_its_spend_and_what_came_after() {
        let stored = reported().snapshot();
        let mut tab = engine();
        tab.forget();
        let mut pending = Pending::default();
        track(&mut tab, &mut pending, EventKind::View, "cup", NOW - 10);
        forget_onto(&mut tab, &pending, Some(&stored));
        assert_eq!(events(&tab), [("view", "cup".into(), NOW - 10)]);
        assert_eq!(tab.privacy_state().last_reported, Some(20_399));
        assert!(
            tab.privacy_state()
                .window
                .as_ref()
                .is_some_and(|w| w.closed),
            "the window is closed by forget()"
        );
        // Unreadable bytes: the forgotten engine stays as it is.
        let before = tab.snapshot();
        forget_onto(&mut tab, &pending, Some(b"junk"));
        forget_onto(&mut tab, &pending, None);
        assert_eq!(tab.snapshot(), before);
    }

    #[test]
    fn the_next_gen_is_above_every_gen_seen() {
        assert_eq!(next_gen(0.0, 0.0), 1.0);
        assert_eq!(next_gen(7.0, 3.0), 8.0);
        assert_eq!(next_gen(2.0, 5.0), 6.0);
    }
}
