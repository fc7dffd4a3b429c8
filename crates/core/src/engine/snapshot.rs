//! The persisted state of one shopper: a versioned, checksummed, compact binary format.
//!
//! Layout: magic `KNDS`, format version (u16 little-endian), CRC-32 of the payload (u32 LE),
//! then the payload. A reader refuses bad magic, an unknown version or a checksum mismatch
//! with a clear error and never modifies anything, so the caller keeps the bytes (the browser
//! module exposes them through `exportData()`).
//!
//! The payload codec is written out by hand (LEB128 varints, little-endian floats,
//! length-prefixed UTF-8) rather than derived with serde + postcard: measured in the browser
//! build, the derived code for these types cost 30 KB of the 120 KB gzip budget, this codec a
//! few. Field order is the format: change it only with a new [`SNAPSHOT_VERSION`].
//!
//! Versions: 1 and 2 were postcard encodings written only by pre-release builds (0.1.0 was
//! never published); they are reported as [`SnapshotError::Obsolete`], which the browser
//! quarantines like any unreadable state. 3 holds history, profile and the privacy state of
//! daily reports (a per-day epsilon ledger, last reported day, pending report, recommendation
//! counters); it is still read: its ledger becomes per-window spends (each daily report was
//! pure ε-DP, ε²/2-zCDP), its pending wire format v1 report is dropped (servers refuse v1).
//! 4 holds the per-window ledger, the pending report with its contribution, and what the
//! shopper contributed to the current window: its items, pairs and interests, and the
//! strategies reported shown and clicked (as sets of names: each is reported once per window;
//! format 4 was never released with the earlier per-window counts, so it was changed in
//! place). 5 (current) adds, at the end of the profile, the time of the oldest event the
//! profile learned from, which retention checks (`Engine::expire`); a format 3 or 4 profile
//! is read as possibly holding anything, so the first retention after the upgrade rebuilds it
//! from the events kept.
//!
//! The payload is the leaf types themselves (history, profile, ledger, window state, pending
//! report), read field by field: the whole format lives in this one file, so its field order
//! can be checked in one place.

use std::collections::VecDeque;

use crate::lean::HashMap;

use crate::lean::SortedSet;
use crate::privacy::budget::MICRO;
use crate::privacy::device::{DayCounters, PreparedReport, PrivacyState};
use crate::privacy::ledger::{Ledger, Spend, WindowSpend};
use crate::privacy::report::{StrategyCounts, DEFAULT_WINDOW_DAYS};
use crate::privacy::window::{window_of, Contribution, WindowState};
use crate::shopper::history::{Event, EventKind, History, ItemStats};
use crate::shopper::profile::Profile;

const MAGIC: &[u8; 4] = b"KNDS";
/// Current snapshot format.
pub const SNAPSHOT_VERSION: u16 = 5;
/// The oldest format still read (and migrated).
const OLDEST_READ: u16 = 3;
const HEADER: usize = 10;
/// Upper bound on any length prefix, so a damaged length cannot ask for a huge allocation.
const MAX_LEN: u64 = 1 << 26;

/// Why a snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot is too short ({0} bytes) to be a kindred snapshot")]
    TooShort(usize),
    #[error("not a kindred snapshot (bad magic bytes)")]
    BadMagic,
    #[error("snapshot format {found} is newer than this version of kindred reads ({SNAPSHOT_VERSION}); the bytes are kept untouched")]
    FutureVersion { found: u16 },
    /// A format number no kindred ever wrote (formats count from 1): a damaged header.
    #[error("snapshot format {found} does not exist (kindred numbers its formats from 1): the header is damaged; the bytes are kept untouched")]
    InvalidVersion { found: u16 },
    #[error("snapshot format {found} was written by a pre-release of kindred and is no longer read; the bytes are kept untouched")]
    Obsolete { found: u16 },
    #[error("snapshot is corrupt (checksum mismatch); the bytes are kept untouched")]
    Checksum,
    #[error("snapshot is corrupt ({0}); the bytes are kept untouched")]
    Decode(String),
}

/// What a snapshot holds: the shopper's history, profile and privacy state. The catalog and
/// shared model are not personal and are downloaded again.
#[derive(Debug, Clone)]
pub struct UserState {
    pub history: History,
    pub profile: Profile,
    pub privacy: PrivacyState,
}

/// Serializes the shopper's state with header and checksum.
pub fn encode(history: &History, profile: &Profile, privacy: &PrivacyState) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(HEADER + 64 * history.events.len()));
    w.0.extend_from_slice(MAGIC);
    w.0.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    w.0.extend_from_slice(&[0; 4]);
    write_history(&mut w, history);
    write_profile(&mut w, profile);
    write_privacy(&mut w, privacy);
    let checksum = crate::lean::crc32(&w.0[HEADER..]);
    w.0[6..HEADER].copy_from_slice(&checksum.to_le_bytes());
    w.0
}

/// Reads a snapshot written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<UserState, SnapshotError> {
    if bytes.len() < HEADER {
        return Err(SnapshotError::TooShort(bytes.len()));
    }
    if &bytes[..4] != MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version == 0 {
        return Err(SnapshotError::InvalidVersion { found: version });
    }
    if version > SNAPSHOT_VERSION {
        return Err(SnapshotError::FutureVersion { found: version });
    }
    if version < OLDEST_READ {
        return Err(SnapshotError::Obsolete { found: version });
    }
    let checksum = u32::from_le_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    let payload = &bytes[HEADER..];
    if crate::lean::crc32(payload) != checksum {
        return Err(SnapshotError::Checksum);
    }
    let mut r = Reader {
        bytes: payload,
        at: 0,
    };
    let state = UserState {
        history: read_history(&mut r)?,
        profile: read_profile(&mut r, version)?,
        privacy: if version == 3 {
            read_privacy_v3(&mut r)?
        } else {
            read_privacy(&mut r)?
        },
    };
    if r.at != payload.len() {
        return Err(r.error("trailing bytes"));
    }
    Ok(state)
}

struct Writer(Vec<u8>);

impl Writer {
    fn uint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn int(&mut self, v: i64) {
        self.uint(((v << 1) ^ (v >> 63)) as u64);
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn flag(&mut self, present: bool) {
        self.0.push(u8::from(present));
    }
    fn opt_int(&mut self, v: Option<i64>) {
        self.flag(v.is_some());
        if let Some(v) = v {
            self.int(v);
        }
    }
    fn opt_str(&mut self, v: Option<&str>) {
        self.flag(v.is_some());
        if let Some(v) = v {
            self.str(v);
        }
    }
    /// A string-keyed map of floats, in key order so equal states give equal bytes.
    fn float_map(&mut self, map: &HashMap<String, f64>) {
        let mut entries: Vec<(&String, &f64)> = map.iter().collect();
        crate::lean::sort_by(&mut entries, |a, b| a.0 < b.0);
        self.uint(entries.len() as u64);
        for (k, v) in entries {
            self.str(k);
            self.f64(*v);
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, what: &str) -> SnapshotError {
        SnapshotError::Decode(format!("{what} at byte {}", self.at + HEADER))
    }
    fn take(&mut self, n: usize) -> Result<&[u8], SnapshotError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| self.error("unexpected end"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn byte(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take(1)?[0])
    }
    fn uint(&mut self) -> Result<u64, SnapshotError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.error("varint too long"))
    }
    fn int(&mut self) -> Result<i64, SnapshotError> {
        let v = self.uint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }
    fn u32(&mut self) -> Result<u32, SnapshotError> {
        u32::try_from(self.uint()?).map_err(|_| self.error("number out of range"))
    }
    fn len(&mut self) -> Result<usize, SnapshotError> {
        let n = self.uint()?;
        if n > MAX_LEN {
            return Err(self.error("implausible length"));
        }
        Ok(n as usize)
    }
    fn f64(&mut self) -> Result<f64, SnapshotError> {
        let b = self.take(8)?;
        Ok(f64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }
    fn f32(&mut self) -> Result<f32, SnapshotError> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn str(&mut self) -> Result<String, SnapshotError> {
        let n = self.len()?;
        let bytes = self.take(n)?.to_vec();
        String::from_utf8(bytes).map_err(|_| self.error("invalid UTF-8"))
    }
    fn flag(&mut self) -> Result<bool, SnapshotError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.error("invalid flag")),
        }
    }
    fn opt_int(&mut self) -> Result<Option<i64>, SnapshotError> {
        Ok(if self.flag()? {
            Some(self.int()?)
        } else {
            None
        })
    }
    fn opt_str(&mut self) -> Result<Option<String>, SnapshotError> {
        Ok(if self.flag()? {
            Some(self.str()?)
        } else {
            None
        })
    }
    fn float_map(&mut self) -> Result<HashMap<String, f64>, SnapshotError> {
        let n = self.len()?;
        let mut map = HashMap::with_capacity_and_hasher(n.min(4096), Default::default());
        for _ in 0..n {
            let k = self.str()?;
            map.insert(k, self.f64()?);
        }
        Ok(map)
    }
}

const KINDS: [EventKind; 8] = EventKind::ALL;

fn write_history(w: &mut Writer, h: &History) {
    w.uint(h.max_events as u64);
    w.uint(h.folded);
    w.uint(h.clamped);
    w.uint(h.events.len() as u64);
    for e in &h.events {
        w.uint(KINDS.iter().position(|k| *k == e.kind).unwrap_or(0) as u64);
        w.opt_str(e.item.as_deref());
        w.opt_str(e.query.as_deref());
        w.int(e.ts);
        w.f32(e.amount);
    }
    w.uint(h.stats.len() as u64);
    // In id order, so equal states give equal bytes.
    let mut stats: Vec<(&String, &ItemStats)> = h.stats.iter().collect();
    crate::lean::sort_by(&mut stats, |a, b| a.0 < b.0);
    for (id, s) in stats {
        w.str(id);
        for n in [s.views, s.clicks, s.carts, s.purchases] {
            w.uint(u64::from(n));
        }
        w.opt_int(s.last_seen);
        w.opt_int(s.last_purchase);
        w.flag(s.in_cart);
        w.flag(s.last_rating.is_some());
        if let Some(r) = s.last_rating {
            w.f32(r);
        }
    }
}

fn read_history(r: &mut Reader<'_>) -> Result<History, SnapshotError> {
    let mut h = History::new(r.len()?);
    h.folded = r.uint()?;
    h.clamped = r.uint()?;
    let n = r.len()?;
    h.events = VecDeque::with_capacity(n.min(8192));
    for _ in 0..n {
        let kind = *KINDS
            .get(r.len()?)
            .ok_or_else(|| r.error("unknown event kind"))?;
        h.events.push_back(Event {
            kind,
            item: r.opt_str()?,
            query: r.opt_str()?,
            ts: r.int()?,
            amount: r.f32()?,
        });
    }
    let n = r.len()?;
    let mut stats = HashMap::with_capacity_and_hasher(n.min(8192), Default::default());
    for _ in 0..n {
        let id = r.str()?;
        let s = ItemStats {
            views: r.u32()?,
            clicks: r.u32()?,
            carts: r.u32()?,
            purchases: r.u32()?,
            last_seen: r.opt_int()?,
            last_purchase: r.opt_int()?,
            in_cart: r.flag()?,
            last_rating: if r.flag()? { Some(r.f32()?) } else { None },
        };
        stats.insert(id, s);
    }
    h.stats = stats;
    Ok(h)
}

fn write_profile(w: &mut Writer, p: &Profile) {
    w.f64(p.half_life_ms);
    w.opt_int(p.origin_ms);
    w.float_map(&p.items);
    w.float_map(&p.interests);
    w.float_map(&p.text);
    w.uint(p.removed.len() as u64);
    for k in &p.removed {
        w.str(k);
    }
    w.opt_int(p.oldest_event_ms);
}

fn read_profile(r: &mut Reader<'_>, version: u16) -> Result<Profile, SnapshotError> {
    let mut p = Profile::new(r.f64()?);
    p.origin_ms = r.opt_int()?;
    p.items = r.float_map()?;
    p.interests = r.float_map()?;
    p.text = r.float_map()?;
    let n = r.len()?;
    p.removed = (0..n).map(|_| r.str()).collect::<Result<_, _>>()?;
    p.oldest_event_ms = if version >= 5 {
        r.opt_int()?
    } else {
        // Unknown before format 5: anything learned may be older than any cutoff.
        p.origin_ms.map(|_| i64::MIN)
    };
    Ok(p)
}

fn write_keys(w: &mut Writer, keys: &SortedSet<String>) {
    w.uint(keys.len() as u64);
    for k in keys {
        w.str(k);
    }
}

fn write_pairs(w: &mut Writer, pairs: &SortedSet<(String, String)>) {
    w.uint(pairs.len() as u64);
    for (a, b) in pairs {
        w.str(a);
        w.str(b);
    }
}

fn write_counts(w: &mut Writer, c: &StrategyCounts) {
    w.uint(u64::from(c.impressions));
    w.uint(u64::from(c.clicks));
}

fn write_pure(w: &mut Writer, pure: Option<u64>) {
    w.flag(pure.is_some());
    if let Some(p) = pure {
        w.uint(p);
    }
}

fn write_privacy(w: &mut Writer, s: &PrivacyState) {
    w.uint(s.ledger.windows.len() as u64);
    for spend in &s.ledger.windows {
        w.uint(u64::from(spend.window));
        w.uint(spend.rho);
        write_pure(w, spend.pure);
    }
    w.opt_int(s.last_reported.map(i64::from));
    w.flag(s.pending.is_some());
    if let Some(p) = &s.pending {
        w.uint(u64::from(p.day));
        w.uint(u64::from(p.window));
        w.uint(p.spend.rho);
        write_pure(w, p.spend.pure);
        w.uint(p.epsilon_after);
        w.str(&p.json);
        let c = &p.contribution;
        write_keys(w, &c.items);
        write_pairs(w, &c.pairs);
        write_keys(w, &c.interests);
        w.uint(c.strategies.len() as u64);
        for (name, n) in &c.strategies {
            w.str(name);
            write_counts(w, n);
        }
    }
    write_day_counters(w, &s.strategies);
    w.flag(s.window.is_some());
    if let Some(win) = &s.window {
        w.uint(u64::from(win.window));
        w.uint(u64::from(win.days));
        write_keys(w, &win.items);
        write_pairs(w, &win.pairs);
        write_keys(w, &win.interests);
        write_keys(w, &win.shown);
        write_keys(w, &win.clicked);
        w.flag(win.closed);
    }
}

fn write_day_counters(w: &mut Writer, days: &[DayCounters]) {
    w.uint(days.len() as u64);
    for day in days {
        w.uint(u64::from(day.epoch));
        for c in &day.counts {
            write_counts(w, c);
        }
    }
}

impl Reader<'_> {
    /// A set written in ascending order; anything else is corruption.
    fn keys(&mut self) -> Result<SortedSet<String>, SnapshotError> {
        let n = self.len()?;
        let keys: Vec<String> = (0..n).map(|_| self.str()).collect::<Result<_, _>>()?;
        if keys.windows(2).any(|w| w[0] >= w[1]) {
            return Err(self.error("keys out of order"));
        }
        Ok(keys.into_iter().collect())
    }
    fn pairs(&mut self) -> Result<SortedSet<(String, String)>, SnapshotError> {
        let n = self.len()?;
        let mut pairs = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            pairs.push((self.str()?, self.str()?));
        }
        if pairs.windows(2).any(|w| w[0] >= w[1]) {
            return Err(self.error("pairs out of order"));
        }
        Ok(pairs.into_iter().collect())
    }
    fn counts(&mut self) -> Result<StrategyCounts, SnapshotError> {
        Ok(StrategyCounts {
            impressions: self.u32()?,
            clicks: self.u32()?,
        })
    }
    fn pure(&mut self) -> Result<Option<u64>, SnapshotError> {
        Ok(if self.flag()? {
            Some(self.uint()?)
        } else {
            None
        })
    }
    fn day(&mut self) -> Result<Option<u32>, SnapshotError> {
        match self.opt_int()? {
            Some(e) => Ok(Some(
                u32::try_from(e).map_err(|_| self.error("day out of range"))?,
            )),
            None => Ok(None),
        }
    }
    fn day_counters(&mut self) -> Result<Vec<DayCounters>, SnapshotError> {
        let mut strategies = Vec::new();
        for _ in 0..self.len()? {
            let mut day = DayCounters {
                epoch: self.u32()?,
                ..DayCounters::default()
            };
            for c in &mut day.counts {
                *c = self.counts()?;
            }
            strategies.push(day);
        }
        Ok(strategies)
    }
}

fn read_privacy(r: &mut Reader<'_>) -> Result<PrivacyState, SnapshotError> {
    let mut ledger = Ledger::default();
    for _ in 0..r.len()? {
        let window = r.u32()?;
        if ledger.windows.last().is_some_and(|w| w.window >= window) {
            return Err(r.error("ledger windows out of order"));
        }
        ledger.windows.push(WindowSpend {
            window,
            rho: r.uint()?,
            pure: r.pure()?,
        });
    }
    let last_reported = r.day()?;
    let pending = if r.flag()? {
        let day = r.u32()?;
        let window = r.u32()?;
        let spend = Spend {
            rho: r.uint()?,
            pure: r.pure()?,
        };
        let epsilon_after = r.uint()?;
        let json = r.str()?;
        let mut contribution = Contribution {
            items: r.keys()?,
            pairs: r.pairs()?,
            interests: r.keys()?,
            strategies: Vec::new(),
        };
        for _ in 0..r.len()? {
            contribution.strategies.push((r.str()?, r.counts()?));
        }
        Some(PreparedReport {
            day,
            window,
            spend,
            epsilon_after,
            json,
            contribution,
        })
    } else {
        None
    };
    let strategies = r.day_counters()?;
    let window = if r.flag()? {
        Some(WindowState {
            window: r.u32()?,
            days: r.u32()?,
            items: r.keys()?,
            pairs: r.pairs()?,
            interests: r.keys()?,
            shown: r.keys()?,
            clicked: r.keys()?,
            closed: r.flag()?,
        })
    } else {
        None
    };
    Ok(PrivacyState {
        ledger,
        last_reported,
        pending,
        strategies,
        window,
    })
}

/// Format 3's privacy state: a ledger of pure ε per day, migrated to per-window spends (each
/// day's report was a pure ε-DP Laplace release, so ε²/2-zCDP), with the default window length
/// (the browser's setting is not in the snapshot; a shop that changed it starts its window
/// accounting from the next report). Its pending report (wire format v1) is dropped.
fn read_privacy_v3(r: &mut Reader<'_>) -> Result<PrivacyState, SnapshotError> {
    let mut ledger = Ledger::default();
    let mut last_day = None;
    for _ in 0..r.len()? {
        let day = r.u32()?;
        if last_day.is_some_and(|last| last >= day) {
            return Err(r.error("ledger days out of order"));
        }
        last_day = Some(day);
        let micro_eps = r.uint()?;
        let eps = micro_eps as f64 / MICRO;
        let window = window_of(day, DEFAULT_WINDOW_DAYS);
        let spend = Spend {
            rho: (eps * eps / 2.0 * MICRO).round() as u64,
            pure: Some(micro_eps),
        };
        match ledger.windows.last_mut().filter(|w| w.window == window) {
            Some(w) => {
                w.rho = w.rho.saturating_add(spend.rho);
                w.pure = w.pure.map(|p| p.saturating_add(micro_eps));
            }
            None => ledger.windows.push(WindowSpend {
                window,
                rho: spend.rho,
                pure: spend.pure,
            }),
        }
    }
    let last_reported = r.day()?;
    if r.flag()? {
        r.u32()?;
        r.f64()?;
        r.str()?;
    }
    let strategies = r.day_counters()?;
    Ok(PrivacyState {
        ledger,
        last_reported,
        pending: None,
        strategies,
        window: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> UserState {
        let mut history = History::new(10);
        history.record(Event {
            kind: EventKind::Dwell,
            item: Some("mug".into()),
            query: None,
            ts: -5,
            amount: 1.5,
        });
        history.record(Event {
            kind: EventKind::Search,
            item: None,
            query: Some("北京 mug".into()),
            ts: 1_780_000_000_000,
            amount: 0.0,
        });
        let mut profile = Profile::new(1000.0);
        profile.remove_interest("brand:Acme");
        let mut window = WindowState::new(20_400, 30);
        window.items.insert("mug".into());
        window.pairs.insert(("mug".into(), "tea".into()));
        window.interests.insert("brand:Acme".into());
        window.shown.insert("for-you".into());
        window.shown.insert("trending".into());
        window.clicked.insert("for-you".into());
        let mut contribution = Contribution::default();
        contribution.items.insert("tea".into());
        contribution.strategies.push((
            "for-you".into(),
            StrategyCounts {
                impressions: 1,
                clicks: 1,
            },
        ));
        let mut ledger = Ledger::default();
        ledger.windows.push(WindowSpend {
            window: 20_370,
            rho: 12,
            pure: Some(5),
        });
        ledger.windows.push(WindowSpend {
            window: 20_400,
            rho: 99,
            pure: None,
        });
        let privacy = PrivacyState {
            ledger,
            last_reported: Some(20_400),
            pending: Some(PreparedReport {
                day: 20_401,
                window: 20_400,
                spend: Spend { rho: 7, pure: None },
                epsilon_after: 1_500_000,
                json: "{}".into(),
                contribution,
            }),
            strategies: vec![DayCounters {
                epoch: 20_401,
                ..DayCounters::default()
            }],
            window: Some(window),
        };
        UserState {
            history,
            profile,
            privacy,
        }
    }

    fn encode_state(s: &UserState) -> Vec<u8> {
        encode(&s.history, &s.profile, &s.privacy)
    }

    #[test]
    fn round_trip_is_byte_identical() {
        let bytes = encode_state(&state());
        let decoded = decode(&bytes).expect("decodes");
        assert_eq!(decoded.history.events, state().history.events);
        assert_eq!(decoded.privacy, state().privacy);
        assert_eq!(encode_state(&decoded), bytes);
    }

    #[test]
    fn every_kind_of_damage_is_named() {
        let good = encode_state(&state());
        assert_eq!(decode(&good[..3]).err(), Some(SnapshotError::TooShort(3)));
        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(decode(&bad).err(), Some(SnapshotError::BadMagic));
        let mut future = good.clone();
        future[4] = 99;
        assert_eq!(
            decode(&future).err(),
            Some(SnapshotError::FutureVersion { found: 99 })
        );
        let mut old = good.clone();
        old[4] = 2;
        assert_eq!(
            decode(&old).err(),
            Some(SnapshotError::Obsolete { found: 2 })
        );
        old[4] = 1;
        assert_eq!(
            decode(&old).err(),
            Some(SnapshotError::Obsolete { found: 1 })
        );
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert_eq!(decode(&flipped).err(), Some(SnapshotError::Checksum));
    }

    /// The header, history and profile of an older format `version` (3 or 4), which ended the
    /// profile before the oldest event's time (the state must have none: `opt_int(None)` is
    /// the one byte taken off); the caller writes that format's privacy part and [`seal`]s.
    fn before_format_5(version: u16, state: &UserState) -> Writer {
        let mut w = Writer(Vec::new());
        w.0.extend_from_slice(MAGIC);
        w.0.extend_from_slice(&version.to_le_bytes());
        w.0.extend_from_slice(&[0; 4]);
        write_history(&mut w, &state.history);
        assert_eq!(state.profile.oldest_event_ms, None);
        write_profile(&mut w, &state.profile);
        w.0.pop();
        w
    }

    /// The bytes of `w` with their checksum filled in.
    fn seal(mut w: Writer) -> Vec<u8> {
        let checksum = crate::lean::crc32(&w.0[HEADER..]);
        w.0[6..HEADER].copy_from_slice(&checksum.to_le_bytes());
        w.0
    }

    /// A format 4 profile does not say how old what it learned is: it is read as possibly
    /// older than any cutoff, so the first retention after the upgrade rebuilds it.
    #[test]
    fn format_4_profile_is_rebuilt_by_the_next_retention() {
        let mut state = state();
        state.profile.add_query(&["mug".to_owned()], 1.0, 1_000);
        state.profile.oldest_event_ms = None;
        let mut w = before_format_5(4, &state);
        write_privacy(&mut w, &state.privacy);
        let read = decode(&seal(w)).expect("format 4 is read");
        assert_eq!(read.privacy, state.privacy);
        assert!(read.profile.learned_before(i64::MIN + 1));
        let empty = decode(&encode_state(&UserState {
            profile: Profile::new(1000.0),
            ..state
        }))
        .expect("current");
        assert!(!empty.profile.learned_before(i64::MAX), "nothing learned");
    }

    /// No kindred ever wrote format 0 (they count from 1): a 0 is damage, and the error says
    /// so (regression: it was reported as a format newer than this version of kindred).
    #[test]
    fn format_0_is_named_invalid_not_newer() {
        let mut bytes = encode_state(&state());
        bytes[4..6].copy_from_slice(&0u16.to_le_bytes());
        let error = decode(&bytes).err();
        let message = error.as_ref().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("format 0") && !message.contains("newer"),
            "{message}"
        );
        assert_eq!(error, Some(SnapshotError::InvalidVersion { found: 0 }));
    }

    /// A format 3 snapshot (as the browser module of wire format v1 wrote it) still opens:
    /// history and profile as they were, its daily ledger as per-window spends, its pending v1
    /// report dropped.
    #[test]
    fn format_3_is_migrated() {
        let state = state();
        let mut w = before_format_5(3, &state);
        // Format 3's privacy part: (day, micro-ε) spends, last reported, pending, counters.
        let spends = [
            (20_399u64, 1_000_000u64),
            (20_400, 1_000_000),
            (20_410, 500_000),
        ];
        w.uint(spends.len() as u64);
        for (day, micro) in spends {
            w.uint(day);
            w.uint(micro);
        }
        w.opt_int(Some(20_431));
        w.flag(true);
        w.uint(20_432);
        w.f64(1.0);
        w.str(r#"{"v":1,"epoch":20432,"mode":"threshold","items":["mug"]}"#);
        write_day_counters(&mut w, &state.privacy.strategies);
        let migrated = decode(&seal(w)).expect("format 3 is read");
        assert_eq!(migrated.history.events, state.history.events);
        assert_eq!(migrated.privacy.last_reported, Some(20_431));
        assert_eq!(migrated.privacy.pending, None);
        assert_eq!(migrated.privacy.window, None);
        assert_eq!(
            migrated.privacy.ledger.windows,
            vec![
                WindowSpend {
                    window: 20_370,
                    rho: 500_000,
                    pure: Some(1_000_000)
                },
                WindowSpend {
                    window: 20_400,
                    rho: 625_000,
                    pure: Some(1_500_000)
                },
            ]
        );
        // Written again, it is the current format.
        assert_eq!(
            decode(&encode_state(&migrated)).expect("current").privacy,
            migrated.privacy
        );
    }

    #[test]
    fn truncated_payloads_with_a_valid_checksum_are_decode_errors() {
        let good = encode_state(&state());
        for cut in HEADER..good.len() {
            let mut bytes = good[..cut].to_vec();
            let checksum = crate::lean::crc32(&bytes[HEADER..]);
            bytes[6..HEADER].copy_from_slice(&checksum.to_le_bytes());
            assert!(matches!(decode(&bytes), Err(SnapshotError::Decode(_))));
        }
    }
}
