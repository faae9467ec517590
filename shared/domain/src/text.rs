//! Text as people type it: Unicode NFC, and characters nobody sees removed, so the same name or
//! address typed two ways (composed or decomposed accents, a zero-width space pasted from a web
//! page, a bidi mark from a right-to-left keyboard) is the same value and the same identity.

use icu_normalizer::ComposingNormalizerBorrowed;

/// The text in Unicode Normalization Form C.
pub fn nfc(text: &str) -> String {
    ComposingNormalizerBorrowed::new_nfc().normalize(text).into_owned()
}

/// Bidirectional formatting characters: marks, embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Zero-width characters that never change how a name reads: zero-width space, word joiner,
/// zero-width no-break space (a stray byte-order mark), soft hyphen.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

/// Zero-width (non-)joiners: part of the spelling in Persian, Arabic and Indic scripts between two
/// letters, noise anywhere else.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// A person's or company's name as stored and shown: NFC, invisible and bidi control characters
/// removed (joiners only where they sit between two letters), runs of spaces collapsed.
pub fn clean_name(raw: &str) -> String {
    let composed = nfc(raw);
    let chars: Vec<char> = composed.chars().collect();
    let mut out = String::with_capacity(composed.len());
    for (i, &c) in chars.iter().enumerate() {
        if is_bidi_control(c) || is_invisible(c) {
            continue;
        }
        if is_joiner(c) {
            let before = i.checked_sub(1).and_then(|j| chars.get(j)).is_some_and(|p| p.is_alphabetic());
            let after = chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
            if !(before && after) {
                continue;
            }
        }
        out.push(c);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text with every zero-width, joiner and bidi control character removed, for keys that must
/// match however the value was typed.
pub fn without_invisibles(text: &str) -> String {
    text.chars().filter(|c| !(is_bidi_control(*c) || is_invisible(*c) || is_joiner(*c))).collect()
}

/// The key two spellings of one person's name share: NFC, invisibles removed, lower-cased,
/// punctuation as spaces, spaces collapsed. `None` when nothing is left.
pub fn name_key(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let joined = [first, last].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let folded: String = without_invisibles(&nfc(&joined))
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let key = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_and_decomposed_accents_are_one_spelling() {
        assert_eq!(nfc("Jo\u{0303}ao"), "J\u{00F5}ao");
        assert_eq!(clean_name("Rene\u{0301}e"), "Ren\u{00E9}e");
    }

    #[test]
    fn invisible_and_bidi_characters_are_removed_from_names() {
        assert_eq!(clean_name("\u{200B}Ada\u{FEFF} \u{202E}Lovelace\u{202C}"), "Ada Lovelace");
        assert_eq!(clean_name("\u{200F}\u{05D3}\u{05E0}\u{05D4}\u{200E}"), "\u{05D3}\u{05E0}\u{05D4}");
        assert_eq!(clean_name("  Mary   Ann  "), "Mary Ann");
    }

    #[test]
    fn a_joiner_between_letters_is_spelling_and_stays() {
        // Persian "mi-khahad" is written with a zero-width non-joiner between two letters.
        let persian = "\u{0645}\u{06CC}\u{200C}\u{062E}";
        assert_eq!(clean_name(persian), persian);
        assert_eq!(clean_name("\u{200D}Ada\u{200C}"), "Ada");
    }

    #[test]
    fn name_keys_match_however_the_name_was_typed() {
        let typed = name_key(Some("Rene\u{0301}e"), Some("O'Brien\u{200B}"));
        assert_eq!(typed, name_key(Some("RENÉE"), Some("o brien")));
        assert_eq!(typed.as_deref(), Some("renée o brien"));
        assert_eq!(name_key(Some(" "), None), None);
    }
}
