//! Text output without float formatting or serde: `{}` on a float pulls in core's float
//! formatting (Grisu/Dragon and their tables, ~20 KB) for error messages only; [`number`]
//! prints the few digits a message needs, and [`push_json_string`] escapes a string for the
//! report's hand-written JSON.

/// A float as short readable text for messages: integers without a fraction, others with up
/// to 6 decimals (trailing zeros dropped), `NaN` and `inf` named.
pub fn number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    if x.abs() >= 9.0e12 {
        // Saturating: messages only need the magnitude of absurd values.
        return format!("{sign}{}", x.abs() as u64);
    }
    let scaled = (x.abs() * 1e6).round() as u64;
    let (whole, frac) = (scaled / 1_000_000, scaled % 1_000_000);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{frac:06}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// Appends `s` as a JSON string literal, escaped exactly as serde_json does (quote, backslash
/// and control characters), so hand-written JSON matches serde_json's bytes.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_match_serde_json() {
        let mut all_controls: String = (0u8..0x20).map(char::from).collect();
        all_controls.push_str("\"\\/ \u{7f} é 漢字 🎉");
        for s in ["", "plain", "a\"b", "back\\slash", &all_controls] {
            let mut ours = String::new();
            push_json_string(&mut ours, s);
            assert_eq!(ours, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(-2.5), "-2.5");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::NEG_INFINITY), "-inf");
        assert_eq!(number(12_345_678.25), "12345678.25");
    }
}
