//! Tokenizer shared by the catalog index, the shopper profile and the tools.
//!
//! Why it looks like this: the TF-IDF weights must be reproducible outside Rust, so for text
//! without CJK characters the tokens are exactly those of scikit-learn's `TfidfVectorizer()`
//! defaults: Python `str.lower()`, then every match of `(?u)\b\w\w+\b`, i.e. every maximal run
//! of Python `\w` characters that is at least two characters long. The golden test
//! (`tests/tfidf_golden.rs`) checks this against a fixture generated with scikit-learn.
//!
//! Python's `\w` is *not* Rust's `char::is_alphanumeric`: it is `_` plus the characters of
//! general category `Lu Ll Lt Lm Lo Nd Nl No`. Combining marks (`Mn Mc Me`) are not word
//! characters, so a decomposed accent (`e` + U+0301) or a Devanagari vowel sign ends a token,
//! and `Ⓐ` (an `So` symbol) is not a word character, although all of these are alphabetic for
//! Rust. Only `_` of the connector punctuation counts (`‿` U+203F does not). [`is_word_char`]
//! implements Python's definition as std's `is_alphanumeric` minus a small generated exception
//! table, checked against the general-category table for every code point in a test.
//!
//! Deliberate difference from scikit-learn: CJK scripts (Han ideographs, Hiragana, Katakana)
//! are written without spaces, so a `\w` run such as `北京大学` is a whole phrase, not a word.
//! Inside a run, CJK characters are therefore split off and turned into overlapping character
//! bigrams (`北京`, `京大`, `大学`); a lone CJK character becomes a one-character token, since a
//! single ideograph carries meaning. The non-CJK parts of the run keep the two-character minimum
//! (`iPhone手机壳` gives `iphone`, `手机`, `机壳`). Hangul is not treated as CJK here: Korean is
//! written with spaces between words.
//!
//! Parity with Python was checked by brute force against Python 3.11 (Unicode 14.0): the word
//! classifier and the lowercasing (`str::to_lowercase`, full mappings including `İ` -> `i` +
//! U+0307 and the final sigma) agree on every code point Python knows, and the tokens agree on
//! 20 000 random strings. The only divergence is Unicode versions: the exception table was
//! generated from the `unicode-general-category` tables (Unicode 16.0) and std follows the
//! toolchain's Unicode version (17.0 today), so letters assigned after Python's Unicode version
//! may be word characters here but not there (and a few newly cased letters lowercase here only).

use std::borrow::Cow;

/// Whether `c` matches Python's `\w` for `str` patterns: `_`, or a letter or number (general
/// category `Lu Ll Lt Lm Lo Nd Nl No`, which is what `str.isalnum()` accepts).
///
/// Rust's `char::is_alphanumeric` (the Alphabetic property plus numbers) agrees except for
/// [`ALPHANUMERIC_NOT_WORD`]: Other_Alphabetic marks such as Devanagari vowel signs and
/// circled letters. A 2 KB exception table keeps the wasm module small where a full
/// general-category table would add about 100 KB; a test checks every code point against
/// the `unicode-general-category` crate.
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    c.is_alphanumeric() && !in_ranges(ALPHANUMERIC_NOT_WORD, c as u32)
}

fn in_ranges(ranges: &[(u32, u32)], cp: u32) -> bool {
    ranges
        .binary_search_by(|&(start, end)| {
            if end < cp {
                std::cmp::Ordering::Less
            } else if start > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Code points Rust calls alphanumeric that are not Python word characters (generated; see
/// the test `word_table_matches_general_category`, which prints a fresh table on mismatch).
#[rustfmt::skip]
pub const ALPHANUMERIC_NOT_WORD: &[(u32, u32)] = &[
    (0x345, 0x345), (0x363, 0x36F), (0x5B0, 0x5BD), (0x5BF, 0x5BF), (0x5C1, 0x5C2), (0x5C4, 0x5C5),
    (0x5C7, 0x5C7), (0x610, 0x61A), (0x64B, 0x657), (0x659, 0x65F), (0x670, 0x670), (0x6D6, 0x6DC),
    (0x6E1, 0x6E4), (0x6E7, 0x6E8), (0x6ED, 0x6ED), (0x711, 0x711), (0x730, 0x73F), (0x7A6, 0x7B0),
    (0x816, 0x817), (0x81B, 0x823), (0x825, 0x827), (0x829, 0x82C), (0x88F, 0x88F), (0x897, 0x897),
    (0x8D4, 0x8DF), (0x8E3, 0x8E9), (0x8F0, 0x903), (0x93A, 0x93B), (0x93E, 0x94C), (0x94E, 0x94F),
    (0x955, 0x957), (0x962, 0x963), (0x981, 0x983), (0x9BE, 0x9C4), (0x9C7, 0x9C8), (0x9CB, 0x9CC),
    (0x9D7, 0x9D7), (0x9E2, 0x9E3), (0xA01, 0xA03), (0xA3E, 0xA42), (0xA47, 0xA48), (0xA4B, 0xA4C),
    (0xA51, 0xA51), (0xA70, 0xA71), (0xA75, 0xA75), (0xA81, 0xA83), (0xABE, 0xAC5), (0xAC7, 0xAC9),
    (0xACB, 0xACC), (0xAE2, 0xAE3), (0xAFA, 0xAFC), (0xB01, 0xB03), (0xB3E, 0xB44), (0xB47, 0xB48),
    (0xB4B, 0xB4C), (0xB56, 0xB57), (0xB62, 0xB63), (0xB82, 0xB82), (0xBBE, 0xBC2), (0xBC6, 0xBC8),
    (0xBCA, 0xBCC), (0xBD7, 0xBD7), (0xC00, 0xC04), (0xC3E, 0xC44), (0xC46, 0xC48), (0xC4A, 0xC4C),
    (0xC55, 0xC56), (0xC5C, 0xC5C), (0xC62, 0xC63), (0xC81, 0xC83), (0xCBE, 0xCC4), (0xCC6, 0xCC8),
    (0xCCA, 0xCCC), (0xCD5, 0xCD6), (0xCDC, 0xCDC), (0xCE2, 0xCE3), (0xCF3, 0xCF3), (0xD00, 0xD03),
    (0xD3E, 0xD44), (0xD46, 0xD48), (0xD4A, 0xD4C), (0xD57, 0xD57), (0xD62, 0xD63), (0xD81, 0xD83),
    (0xDCF, 0xDD4), (0xDD6, 0xDD6), (0xDD8, 0xDDF), (0xDF2, 0xDF3), (0xE31, 0xE31), (0xE34, 0xE3A),
    (0xE4D, 0xE4D), (0xEB1, 0xEB1), (0xEB4, 0xEB9), (0xEBB, 0xEBC), (0xECD, 0xECD), (0xF71, 0xF83),
    (0xF8D, 0xF97), (0xF99, 0xFBC), (0x102B, 0x1036), (0x1038, 0x1038), (0x103B, 0x103E), (0x1056, 0x1059),
    (0x105E, 0x1060), (0x1062, 0x1064), (0x1067, 0x106D), (0x1071, 0x1074), (0x1082, 0x108D), (0x108F, 0x108F),
    (0x109A, 0x109D), (0x1712, 0x1713), (0x1732, 0x1733), (0x1752, 0x1753), (0x1772, 0x1773), (0x17B6, 0x17C8),
    (0x1885, 0x1886), (0x18A9, 0x18A9), (0x1920, 0x192B), (0x1930, 0x1938), (0x1A17, 0x1A1B), (0x1A55, 0x1A5E),
    (0x1A61, 0x1A74), (0x1ABF, 0x1AC0), (0x1ACC, 0x1ACE), (0x1B00, 0x1B04), (0x1B35, 0x1B43), (0x1B80, 0x1B82),
    (0x1BA1, 0x1BA9), (0x1BAC, 0x1BAD), (0x1BE7, 0x1BF1), (0x1C24, 0x1C36), (0x1DD3, 0x1DF4), (0x24B6, 0x24E9),
    (0x2DE0, 0x2DFF), (0xA674, 0xA67B), (0xA69E, 0xA69F), (0xA7CE, 0xA7CF), (0xA7D2, 0xA7D2), (0xA7D4, 0xA7D4),
    (0xA7F1, 0xA7F1), (0xA802, 0xA802), (0xA80B, 0xA80B), (0xA823, 0xA827), (0xA880, 0xA881), (0xA8B4, 0xA8C3),
    (0xA8C5, 0xA8C5), (0xA8FF, 0xA8FF), (0xA926, 0xA92A), (0xA947, 0xA952), (0xA980, 0xA983), (0xA9B4, 0xA9BF),
    (0xA9E5, 0xA9E5), (0xAA29, 0xAA36), (0xAA43, 0xAA43), (0xAA4C, 0xAA4D), (0xAA7B, 0xAA7D), (0xAAB0, 0xAAB0),
    (0xAAB2, 0xAAB4), (0xAAB7, 0xAAB8), (0xAABE, 0xAABE), (0xAAEB, 0xAAEF), (0xAAF5, 0xAAF5), (0xABE3, 0xABEA),
    (0xFB1E, 0xFB1E), (0x10376, 0x1037A), (0x10940, 0x10959), (0x10A01, 0x10A03), (0x10A05, 0x10A06), (0x10A0C, 0x10A0F),
    (0x10D24, 0x10D27), (0x10D69, 0x10D69), (0x10EAB, 0x10EAC), (0x10EC5, 0x10EC7), (0x10EFA, 0x10EFC), (0x11000, 0x11002),
    (0x11038, 0x11045), (0x11073, 0x11074), (0x11080, 0x11082), (0x110B0, 0x110B8), (0x110C2, 0x110C2), (0x11100, 0x11102),
    (0x11127, 0x11132), (0x11145, 0x11146), (0x11180, 0x11182), (0x111B3, 0x111BF), (0x111CE, 0x111CF), (0x1122C, 0x11234),
    (0x11237, 0x11237), (0x1123E, 0x1123E), (0x11241, 0x11241), (0x112DF, 0x112E8), (0x11300, 0x11303), (0x1133E, 0x11344),
    (0x11347, 0x11348), (0x1134B, 0x1134C), (0x11357, 0x11357), (0x11362, 0x11363), (0x113B8, 0x113C0), (0x113C2, 0x113C2),
    (0x113C5, 0x113C5), (0x113C7, 0x113CA), (0x113CC, 0x113CD), (0x11435, 0x11441), (0x11443, 0x11445), (0x114B0, 0x114C1),
    (0x115AF, 0x115B5), (0x115B8, 0x115BE), (0x115DC, 0x115DD), (0x11630, 0x1163E), (0x11640, 0x11640), (0x116AB, 0x116B5),
    (0x1171D, 0x1172A), (0x1182C, 0x11838), (0x11930, 0x11935), (0x11937, 0x11938), (0x1193B, 0x1193C), (0x11940, 0x11940),
    (0x11942, 0x11942), (0x119D1, 0x119D7), (0x119DA, 0x119DF), (0x119E4, 0x119E4), (0x11A01, 0x11A0A), (0x11A35, 0x11A39),
    (0x11A3B, 0x11A3E), (0x11A51, 0x11A5B), (0x11A8A, 0x11A97), (0x11B60, 0x11B67), (0x11C2F, 0x11C36), (0x11C38, 0x11C3E),
    (0x11C92, 0x11CA7), (0x11CA9, 0x11CB6), (0x11D31, 0x11D36), (0x11D3A, 0x11D3A), (0x11D3C, 0x11D3D), (0x11D3F, 0x11D41),
    (0x11D43, 0x11D43), (0x11D47, 0x11D47), (0x11D8A, 0x11D8E), (0x11D90, 0x11D91), (0x11D93, 0x11D96), (0x11DB0, 0x11DDB),
    (0x11DE0, 0x11DE9), (0x11EF3, 0x11EF6), (0x11F00, 0x11F01), (0x11F03, 0x11F03), (0x11F34, 0x11F3A), (0x11F3E, 0x11F40),
    (0x1611E, 0x1612E), (0x16EA0, 0x16EB8), (0x16EBB, 0x16ED3), (0x16F4F, 0x16F4F), (0x16F51, 0x16F87), (0x16F8F, 0x16F92),
    (0x16FF0, 0x16FF6), (0x187F8, 0x187FF), (0x18D09, 0x18D1E), (0x18D80, 0x18DF2), (0x1BC9E, 0x1BC9E), (0x1E000, 0x1E006),
    (0x1E008, 0x1E018), (0x1E01B, 0x1E021), (0x1E023, 0x1E024), (0x1E026, 0x1E02A), (0x1E08F, 0x1E08F), (0x1E6C0, 0x1E6DE),
    (0x1E6E0, 0x1E6F5), (0x1E6FE, 0x1E6FF), (0x1E947, 0x1E947), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189),
    (0x2B73A, 0x2B73F), (0x2CEA2, 0x2CEAD), (0x323B0, 0x33479),
];

/// Whether `c` belongs to a script written without spaces that is tokenized into character
/// bigrams: Han ideographs (unified, extensions A to I, compatibility ideographs, the iteration
/// marks and Hangzhou numerals), Hiragana and Katakana (including phonetic extensions, the kana
/// supplements and halfwidth Katakana). Hangul is not included.
pub fn is_cjk(c: char) -> bool {
    matches!(
        c as u32,
        0x3005..=0x3007       // 々 〆 〇
        | 0x3021..=0x3029     // Hangzhou numerals
        | 0x3038..=0x303B     // Hangzhou numerals, vertical iteration mark
        | 0x3040..=0x309F     // Hiragana
        | 0x30A0..=0x30FF     // Katakana
        | 0x31F0..=0x31FF     // Katakana Phonetic Extensions
        | 0x3400..=0x4DBF     // CJK Unified Ideographs Extension A
        | 0x4E00..=0x9FFF     // CJK Unified Ideographs
        | 0xF900..=0xFAFF     // CJK Compatibility Ideographs
        | 0xFF65..=0xFF9F     // Halfwidth Katakana
        | 0x1AFF0..=0x1B16F   // Kana Extended-B, Kana Supplement, Kana Extended-A, Small Kana
        | 0x20000..=0x3FFFF // planes 2 and 3: extensions B to I, compatibility supplement
    )
}

/// `text` lowercased like Python's `str.lower()` (full case mapping, final sigma), borrowed
/// when it is already lowercase.
fn lowercase(text: &str) -> Cow<'_, str> {
    let already_lower = text.chars().all(|c| {
        if c.is_ascii() {
            !c.is_ascii_uppercase()
        } else {
            let mut lower = c.to_lowercase();
            lower.next() == Some(c) && lower.next().is_none()
        }
    });
    if already_lower {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// Calls `f` with every token of `text`, in order of appearance. Allocates at most one string
/// (the lowercased text, and only when `text` is not lowercase already).
pub fn for_each_token(text: &str, mut f: impl FnMut(&str)) {
    let lowered = lowercase(text);
    let s: &str = &lowered;

    // The current segment: a maximal run of word characters that are all CJK or all non-CJK.
    let mut seg = Segment::default();
    for (i, c) in s.char_indices() {
        if !is_word_char(c) {
            seg.finish(s, &mut f);
            continue;
        }
        let cjk = is_cjk(c);
        if seg.chars > 0 && cjk != seg.cjk {
            seg.finish(s, &mut f);
        }
        let end = i + c.len_utf8();
        if seg.chars == 0 {
            seg.start = i;
            seg.cjk = cjk;
        } else if cjk {
            // Overlapping bigram: the previous character and this one.
            f(&s[seg.last..end]);
        }
        seg.last = i;
        seg.end = end;
        seg.chars += 1;
    }
    seg.finish(s, &mut f);
}

/// A run of word characters that are all CJK or all non-CJK, as byte offsets into the text.
#[derive(Debug, Default)]
struct Segment {
    start: usize,
    end: usize,
    /// Start of the last character (for CJK bigrams).
    last: usize,
    chars: usize,
    cjk: bool,
}

impl Segment {
    /// Emits the segment's remaining token, if any, and resets it. A CJK segment of two or
    /// more characters has already emitted its bigrams; a lone CJK character is a token; a
    /// non-CJK segment is a token when it has at least two characters.
    fn finish(&mut self, s: &str, f: &mut impl FnMut(&str)) {
        if (self.cjk && self.chars == 1) || (!self.cjk && self.chars >= 2) {
            f(&s[self.start..self.end]);
        }
        self.chars = 0;
    }
}

/// Lowercased tokens of `text`, in order of appearance; see the module documentation.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for_each_token(text, |t| tokens.push(t.to_owned()));
    tokens
}

#[cfg(test)]
mod tests {
    /// Python's `\w` from the general category, the definition the table must reproduce.
    fn python_word(c: char) -> Option<bool> {
        use unicode_general_category::{get_general_category, GeneralCategory::*};
        match get_general_category(c) {
            // Unassigned in the crate's Unicode version: the toolchain may know more.
            Unassigned => None,
            UppercaseLetter | LowercaseLetter | TitlecaseLetter | ModifierLetter | OtherLetter
            | DecimalNumber | LetterNumber | OtherNumber => Some(true),
            _ => Some(c == '_'),
        }
    }

    #[test]
    fn word_table_matches_general_category() {
        let mismatches: Vec<u32> = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|&c| python_word(c).is_some_and(|w| w != is_word_char(c)))
            .map(|c| c as u32)
            .collect();
        if !mismatches.is_empty() {
            // Print a regenerated table to paste over ALPHANUMERIC_NOT_WORD.
            let mut ranges: Vec<(u32, u32)> = Vec::new();
            for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
                let cp = c as u32;
                if c.is_alphanumeric() && python_word(c) != Some(true) {
                    match ranges.last_mut() {
                        Some(last) if last.1 + 1 == cp => last.1 = cp,
                        _ => ranges.push((cp, cp)),
                    }
                }
            }
            let body: Vec<String> = ranges
                .iter()
                .map(|(s, e)| format!("(0x{s:X}, 0x{e:X})"))
                .collect();
            panic!(
                "{} code points differ (first {:#X}); new table:\n&[{}]",
                mismatches.len(),
                mismatches[0],
                body.join(", ")
            );
        }
    }

    use super::*;

    fn toks(text: &str) -> Vec<String> {
        tokenize(text)
    }

    #[test]
    fn ascii_words_of_two_or_more_chars() {
        assert_eq!(
            toks("The Quick, brown FOX -- a b cd!"),
            ["the", "quick", "brown", "fox", "cd"]
        );
    }

    #[test]
    fn digits_and_underscores_are_word_chars() {
        assert_eq!(
            toks("500ml 2 pack 3x usb_c __ _ 1.5kg"),
            ["500ml", "pack", "3x", "usb_c", "__", "5kg"]
        );
    }

    #[test]
    fn hyphens_and_apostrophes_split() {
        assert_eq!(toks("Wi-Fi kid's T-shirt"), ["wi", "fi", "kid", "shirt"]);
    }

    #[test]
    fn precomposed_accents_stay_in_words() {
        assert_eq!(
            toks("Café Größe naïve Crème Brûlée ØRSTED Ñandú"),
            ["café", "größe", "naïve", "crème", "brûlée", "ørsted", "ñandú"]
        );
    }

    #[test]
    fn combining_marks_split_words_like_python() {
        // "cafe" + U+0301: Python's \w does not match the combining acute accent.
        assert_eq!(toks("cafe\u{301}s"), ["cafe"]);
        assert_eq!(toks("e\u{301}te\u{301}"), ["te"]);
        // Devanagari "कि" is KA + vowel sign I (Mc): only KA is a word character, so Hindi
        // words fall apart (a known weakness of scikit-learn's default pattern, kept for parity).
        assert!(is_word_char('क'));
        assert!(!is_word_char('\u{93F}'));
        assert!('\u{93F}'.is_alphabetic());
        assert!(toks("कि").is_empty());
        assert_eq!(toks("कितना"), ["तन"]);
    }

    #[test]
    fn tricky_classes_match_python() {
        // Numbers of every kind are word characters (isalnum), symbols and marks are not.
        assert!(is_word_char('²')); // No
        assert!(is_word_char('Ⅻ')); // Nl
        assert!(is_word_char('٣')); // Arabic-Indic digit, Nd
        assert!(is_word_char('_'));
        assert!(!is_word_char('Ⓐ')); // So, although Rust calls it alphabetic
        assert!('Ⓐ'.is_alphabetic());
        assert!(!is_word_char('‿')); // U+203F, connector punctuation other than '_'
        assert!(!is_word_char('\u{301}'));
        assert!(!is_word_char('\u{20DD}')); // Me
        assert_eq!(toks("x² Ⅻ ⒶⒷ a‿b ١٢٣ ⅫⅠ"), ["x²", "١٢٣", "ⅻⅰ"]);
    }

    #[test]
    fn lowercasing_matches_python_str_lower() {
        // 'İ' lowercases to "i" + U+0307 (combining dot above), which then splits the word.
        assert_eq!("İ".to_lowercase(), "i\u{307}");
        assert_eq!(toks("İSTANBUL"), ["stanbul"]);
        assert_eq!(toks("Iİk"), ["ii"]);
        // Final sigma, as in Python.
        assert_eq!(toks("ΣΑΣ ΟΔΟΣ."), ["σας", "οδος"]);
        assert_eq!(toks("Straße STRASSE"), ["straße", "strasse"]);
    }

    #[test]
    fn chinese_becomes_bigrams() {
        assert_eq!(toks("北京大学"), ["北京", "京大", "大学"]);
        assert_eq!(toks("茶"), ["茶"]);
        assert_eq!(toks("绿茶 红茶，茶"), ["绿茶", "红茶", "茶"]);
    }

    #[test]
    fn japanese_mixed_kana_kanji() {
        assert_eq!(
            toks("東京のコーヒー"),
            ["東京", "京の", "のコ", "コー", "ーヒ", "ヒー"]
        );
        // Halfwidth Katakana is CJK too.
        assert_eq!(toks("ｶﾒﾗ"), ["ｶﾒ", "ﾒﾗ"]);
        // Katakana middle dot is punctuation and separates words.
        assert_eq!(toks("ミニ・バッグ"), ["ミニ", "バッ", "ッグ"]);
    }

    #[test]
    fn mixed_latin_and_cjk() {
        assert_eq!(toks("iPhone手机壳"), ["iphone", "手机", "机壳"]);
        assert_eq!(toks("a手b"), ["手"]);
        assert_eq!(toks("USB_C数据线2m"), ["usb_c", "数据", "据线", "2m"]);
    }

    #[test]
    fn hangul_is_not_cjk() {
        assert!(!is_cjk('한'));
        assert_eq!(toks("한국어 책"), ["한국어"]);
    }

    #[test]
    fn empty_and_punctuation_only() {
        assert!(toks("").is_empty());
        assert!(toks("  -- !!! ... ‿ …").is_empty());
        assert!(toks("a b c").is_empty());
    }

    #[test]
    fn for_each_token_agrees_with_tokenize() {
        let text = "Größe 42 北京大学 iPhone手机壳";
        let mut seen = Vec::new();
        for_each_token(text, |t| seen.push(t.to_owned()));
        assert_eq!(seen, tokenize(text));
    }

    #[test]
    fn tokens_are_lowercase_and_made_of_word_chars() {
        let samples = [
            "The Quick Brown FOX",
            "ΣΑΣ ΟΔΟΣ İSTANBUL Straße",
            "ǅemal ǈ ǋ Ⅻ Ⓐ",
            "iPhone手机壳 東京のコーヒー",
            "e\u{301}t\u{301}Ab CAFÉ",
            "\u{0}\u{FFFF}\u{10FFFF}x y",
        ];
        for text in samples {
            for token in tokenize(text) {
                // Lowercasing a token again changes nothing (a final sigma stays final).
                assert_eq!(token.to_lowercase(), token, "in {text:?}");
                assert!(token.chars().all(is_word_char), "{token:?} in {text:?}");
                let n = token.chars().count();
                assert!(n >= 2 || token.chars().all(is_cjk), "{token:?}");
            }
        }
    }

    #[test]
    fn no_panic_on_odd_input() {
        let mut all = String::new();
        for cp in (0..0x11_0000u32).step_by(97) {
            if let Some(c) = char::from_u32(cp) {
                all.push(c);
            }
        }
        let _ = tokenize(&all);
    }
}
