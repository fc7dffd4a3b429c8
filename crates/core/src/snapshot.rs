//! The persisted state of one shopper: a versioned, checksummed, compact binary format.
//!
//! Layout: magic `KNDS`, format version (u16 little-endian), CRC-32 of the payload (u32 LE),
//! then the payload in postcard. A reader refuses bad magic, a newer version or a checksum
//! mismatch with a clear error and never modifies anything, so the caller keeps the bytes
//! (the browser module exposes them through `exportData()`).
//!
//! Versions: 1 held history and profile; 2 (current) adds the privacy state (ledger, last
//! reported day, pending report, recommendation counters). Version 1 snapshots still restore,
//! with an empty privacy state.

use serde::{Deserialize, Serialize};

use crate::history::History;
use crate::privacy::PrivacyState;
use crate::profile::Profile;

const MAGIC: &[u8; 4] = b"KNDS";
/// Current snapshot format.
pub const SNAPSHOT_VERSION: u16 = 2;
const HEADER: usize = 10;

/// Why a snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot is too short ({0} bytes) to be a kindred snapshot")]
    TooShort(usize),
    #[error("not a kindred snapshot (bad magic bytes)")]
    BadMagic,
    #[error("snapshot format {found} is newer than this version of kindred reads ({SNAPSHOT_VERSION}); the bytes are kept untouched")]
    FutureVersion { found: u16 },
    #[error("snapshot is corrupt (checksum mismatch); the bytes are kept untouched")]
    Checksum,
    #[error("snapshot is corrupt ({0}); the bytes are kept untouched")]
    Decode(String),
}

/// What a snapshot holds: the shopper's history, profile and privacy state. The catalog and
/// shared model are not personal and are downloaded again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserState {
    pub history: History,
    pub profile: Profile,
    pub privacy: PrivacyState,
}

/// Format 1 (postcard is not self-describing, so each format has its own struct).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UserStateV1 {
    history: History,
    profile: Profile,
}

/// Serializes the state with header and checksum.
pub fn encode(state: &UserState) -> Vec<u8> {
    // postcard only fails on writer errors or unsupported serde features, neither possible here.
    let payload = postcard::to_stdvec(state).unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
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
    if version > SNAPSHOT_VERSION || version == 0 {
        return Err(SnapshotError::FutureVersion { found: version });
    }
    let checksum = u32::from_le_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    let payload = &bytes[HEADER..];
    if crc32fast::hash(payload) != checksum {
        return Err(SnapshotError::Checksum);
    }
    let bad = |e: postcard::Error| SnapshotError::Decode(e.to_string());
    if version == 1 {
        let v1: UserStateV1 = postcard::from_bytes(payload).map_err(bad)?;
        return Ok(UserState {
            history: v1.history,
            profile: v1.profile,
            privacy: PrivacyState::default(),
        });
    }
    postcard::from_bytes(payload).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> UserState {
        UserState {
            history: History::new(10),
            profile: Profile::new(1000.0),
            privacy: PrivacyState::default(),
        }
    }

    /// Bytes as version 1 wrote them (header with version 1, payload without privacy state).
    fn encode_v1(v1: &UserStateV1) -> Vec<u8> {
        let payload = postcard::to_stdvec(v1).expect("encodes");
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    #[test]
    fn version_1_snapshots_restore_with_an_empty_privacy_state() {
        let mut history = History::new(10);
        history.record(crate::history::Event {
            kind: crate::history::EventKind::View,
            item: Some("mug".into()),
            query: None,
            ts: 5,
            amount: 0.0,
        });
        let bytes = encode_v1(&UserStateV1 {
            history,
            profile: Profile::new(1000.0),
        });
        let state = decode(&bytes).expect("version 1 still reads");
        assert_eq!(state.history.len(), 1);
        assert_eq!(state.privacy, PrivacyState::default());
    }

    #[test]
    fn round_trip() {
        let bytes = encode(&state());
        assert!(decode(&bytes).is_ok());
    }

    #[test]
    fn every_kind_of_damage_is_named() {
        let good = encode(&state());
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
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert_eq!(decode(&flipped).err(), Some(SnapshotError::Checksum));
    }
}
