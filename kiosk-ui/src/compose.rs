//! Vietnamese text composed from on-screen keys, without a physical
//! keyboard or an input method: plain functions over the text typed so far.
//!
//! Letters (the marked vowels `ă â ê ô ơ ư` and `đ` are keys of their own)
//! go in as they are; a tone key (sắc, huyền, hỏi, ngã, nặng) applies to
//! the word being typed — the letters at the end of the text — and the
//! tone is put on the vowel the orthography asks for, and moved when the
//! word grows (`hòa` + `n` is `hoàn`). Pressing the tone the word already
//! has takes it off again. Backspace takes off the last letter; the word
//! keeps its tone, placed again on what is left.
//!
//! Where the tone goes (the rules of Quốc ngữ as taught since the 1980s,
//! e.g. Quyết định 240/QĐ of 1984, and as Unikey and the phone keyboards
//! apply them): on the marked vowel of the nucleus (`ê ơ ô â ă ư`, the
//! last one in `ươ`: `người`, `thuở`, `quốc`); `qu` and `gi` before another
//! vowel are the onset (`quốc`, `giữa`); otherwise on the only vowel, on
//! the middle one of three (`ngoài`, `khuỷu`), and of two on the second
//! when a consonant follows (`hoàn`, `huỳnh`), else on the first (`mùa`,
//! `hái`). The one choice left to a convention is an open `oa`, `oe`,
//! `uy`: the kiosk uses the traditional `hòa`, `khỏe`, `thủy`
//! ([`ToneStyle::Traditional`]) because that is how the names of the
//! administrative units are written in the national registers and on the
//! chip (Khánh Hòa, Thanh Hóa, Hòa Bình), so a typed address matches them
//! letter for letter; [`ToneStyle::Modern`] (`hoà`, `khoẻ`, `thuỷ`) is
//! there for a province that prefers it.
//!
//! Every text these functions return is NFC-normalised (one code point per
//! Vietnamese letter, as the portal and the receipt printer expect), and
//! the intermediate strings are zeroized: typed text is personal data.

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// The six tones of Vietnamese (ngang has no mark).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tone {
    /// Thanh ngang: no mark.
    Level,
    /// Thanh sắc: acute, `á`.
    Acute,
    /// Thanh huyền: grave, `à`.
    Grave,
    /// Thanh hỏi: hook above, `ả`.
    Hook,
    /// Thanh ngã: tilde, `ã`.
    Tilde,
    /// Thanh nặng: dot below, `ạ`.
    Dot,
}

impl Tone {
    /// The five marked tones, in the order the keyboard shows them.
    pub const MARKED: [Tone; 5] = [Tone::Acute, Tone::Grave, Tone::Hook, Tone::Tilde, Tone::Dot];

    /// The combining mark (Unicode), none for the level tone.
    pub fn mark(self) -> Option<char> {
        match self {
            Tone::Level => None,
            Tone::Acute => Some('\u{301}'),
            Tone::Grave => Some('\u{300}'),
            Tone::Hook => Some('\u{309}'),
            Tone::Tilde => Some('\u{303}'),
            Tone::Dot => Some('\u{323}'),
        }
    }

    fn of_mark(c: char) -> Option<Tone> {
        Tone::MARKED.into_iter().find(|t| t.mark() == Some(c))
    }

    /// The tone's Vietnamese name (`sắc`, …), for key labels.
    pub fn name(self) -> &'static str {
        match self {
            Tone::Level => "ngang",
            Tone::Acute => "sắc",
            Tone::Grave => "huyền",
            Tone::Hook => "hỏi",
            Tone::Tilde => "ngã",
            Tone::Dot => "nặng",
        }
    }

    /// The key id part (`sac`, …): ASCII, for scenario files.
    pub fn key(self) -> &'static str {
        match self {
            Tone::Level => "ngang",
            Tone::Acute => "sac",
            Tone::Grave => "huyen",
            Tone::Hook => "hoi",
            Tone::Tilde => "nga",
            Tone::Dot => "nang",
        }
    }
}

/// Where an open `oa`, `oe`, `uy` takes its tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ToneStyle {
    /// `hòa`, `khỏe`, `thủy` (the kiosk's).
    #[default]
    Traditional,
    /// `hoà`, `khoẻ`, `thuỷ`.
    Modern,
}

const VOWELS: &str = "aăâeêioôơuưy";
const MARKED_VOWELS: &str = "ăâêôơư";

/// One letter without its tone, and the tone it carried.
fn split_letter(c: char) -> (char, Tone) {
    let mut tone = Tone::Level;
    let base: Zeroizing<String> = Zeroizing::new(
        c.to_string()
            .nfd()
            .filter(|m| match Tone::of_mark(*m) {
                Some(t) => {
                    tone = t;
                    false
                }
                None => true,
            })
            .nfc()
            .collect(),
    );
    let mut chars = base.chars();
    match (chars.next(), chars.next()) {
        (Some(b), None) if is_vowel(b) => (b, tone),
        // Not a Vietnamese vowel with a tone (ñ, a lone mark): as it is.
        _ => (c, Tone::Level),
    }
}

fn is_vowel(c: char) -> bool {
    c.to_lowercase().all(|l| VOWELS.contains(l))
}

fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Which letter of a toneless word takes the tone, if any vowel.
fn tone_position(letters: &[char], style: ToneStyle) -> Option<usize> {
    let l: Vec<char> = letters.iter().map(|c| lower(*c)).collect();
    let v = |i: usize| l.get(i).is_some_and(|c| VOWELS.contains(*c));
    let mut start = (0..l.len()).find(|&i| v(i))?;
    // `qu` and `gi` are onsets when another vowel follows.
    if start == 1 && v(start + 1) && matches!((l[0], l[1]), ('q', 'u') | ('g', 'i')) {
        start += 1;
    }
    let end = (start..l.len()).find(|&i| !v(i)).unwrap_or(l.len());
    let nucleus = &l[start..end];
    if let Some(last_marked) = nucleus.iter().rposition(|c| MARKED_VOWELS.contains(*c)) {
        return Some(start + last_marked);
    }
    let closed = end < l.len();
    Some(match nucleus {
        [_] => start,
        [_, _] if closed => start + 1,
        ['o', 'a'] | ['o', 'e'] | ['u', 'y'] if style == ToneStyle::Modern => start + 1,
        [_, _] => start,
        _ => start + 1,
    })
}

/// The tone of `word` (the last tone mark on a vowel; level if none).
pub fn tone_of(word: &str) -> Tone {
    word.chars()
        .map(|c| split_letter(c).1)
        .rfind(|t| *t != Tone::Level)
        .unwrap_or(Tone::Level)
}

/// `word` with its tone marks taken off its vowels (vowel marks stay).
pub fn strip_tone(word: &str) -> Zeroizing<String> {
    Zeroizing::new(word.chars().map(|c| split_letter(c).0).collect())
}

/// `word` with `tone` on the vowel the orthography asks for (any tone it
/// had is taken off first); `None` when it has no vowel to carry a mark.
pub fn with_tone(word: &str, tone: Tone, style: ToneStyle) -> Option<Zeroizing<String>> {
    let letters: Zeroizing<Vec<char>> =
        Zeroizing::new(word.chars().map(|c| split_letter(c).0).collect());
    let at = tone_position(&letters, style)?;
    let mut out = Zeroizing::new(String::with_capacity(word.len() + 2));
    for (i, c) in letters.iter().enumerate() {
        out.push(*c);
        if i == at
            && let Some(mark) = tone.mark()
        {
            out.push(mark);
        }
    }
    Some(Zeroizing::new(out.nfc().collect()))
}

/// `text` NFC-normalised (the form of every text the kiosk composes).
pub fn nfc(text: &str) -> Zeroizing<String> {
    Zeroizing::new(text.nfc().collect())
}

/// The word being typed: the letters at the end of `text`.
pub fn last_word(text: &str) -> &str {
    &text[word_start(text)..]
}

/// Where the word being typed starts (byte index): after the last
/// character that is not a letter.
fn word_start(text: &str) -> usize {
    text.char_indices()
        .rev()
        .find(|(_, c)| !c.is_alphabetic())
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// `text` with its last word replaced by `f(word)`.
fn on_last_word(
    text: &str,
    f: impl FnOnce(&str) -> Option<Zeroizing<String>>,
) -> Option<Zeroizing<String>> {
    let at = word_start(text);
    let word = f(&text[at..])?;
    let mut out = Zeroizing::new(String::with_capacity(text.len() + 4));
    out.push_str(&text[..at]);
    out.push_str(&word);
    Some(out)
}

/// A tone key on `text`: the last word takes `tone`, or loses it when it
/// already has it. `None` when the text does not end in a word with a
/// vowel (nothing to mark).
pub fn press_tone(text: &str, tone: Tone, style: ToneStyle) -> Option<Zeroizing<String>> {
    on_last_word(text, |word| {
        let tone = if tone_of(word) == tone {
            Tone::Level
        } else {
            tone
        };
        with_tone(word, tone, style)
    })
}

/// A character key: `c` goes at the end; a letter joins the word being
/// typed, whose tone moves if its vowels changed. The result is NFC.
pub fn press_char(text: &str, c: char, style: ToneStyle) -> Zeroizing<String> {
    let mut appended = Zeroizing::new(String::with_capacity(text.len() + 4));
    appended.push_str(text);
    appended.push(c);
    if !c.is_alphabetic() {
        return Zeroizing::new(appended.nfc().collect());
    }
    match on_last_word(&appended, |word| with_tone(word, tone_of(word), style)) {
        Some(out) => out,
        None => Zeroizing::new(appended.nfc().collect()),
    }
}

/// Backspace: the last character goes; the word being typed keeps its
/// tone, placed again on its remaining vowels (or lost with the last one).
pub fn backspace(text: &str, style: ToneStyle) -> Zeroizing<String> {
    let at = word_start(text);
    let word = &text[at..];
    let tone = tone_of(word);
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    out.push_str(&text[..at]);
    let mut letters = strip_tone(word);
    if letters.is_empty() {
        // The text ends in a space, a digit or a sign: it goes alone.
        out.pop();
        return out;
    }
    letters.pop();
    match with_tone(&letters, tone, style) {
        Some(w) => out.push_str(&w),
        None => out.push_str(&letters),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::is_nfc;

    fn typed(keys: &str) -> String {
        // Keys as a tester writes them: letters, and `1`–`5` for the tones
        // sắc, huyền, hỏi, ngã, nặng (VNI order).
        let mut text = Zeroizing::new(String::new());
        for k in keys.chars() {
            text = match k {
                '\u{8}' => backspace(&text, ToneStyle::Traditional),
                '1'..='5' => {
                    let tone = Tone::MARKED[usize::from(k as u8 - b'1')];
                    press_tone(&text, tone, ToneStyle::Traditional).unwrap_or(text)
                }
                c => press_char(&text, c, ToneStyle::Traditional),
            };
        }
        text.to_string()
    }

    #[test]
    fn the_tone_goes_on_the_marked_vowel_and_after_qu_and_gi() {
        assert_eq!(typed("thuơ3"), "thuở");
        assert_eq!(typed("quôc1"), "quốc");
        assert_eq!(typed("giưa4"), "giữa");
        assert_eq!(typed("ngươi2"), "người");
        assert_eq!(typed("Nguyên4"), "Nguyễn");
        assert_eq!(typed("khuyên1"), "khuyến");
        assert_eq!(typed("giương2"), "giường");
        assert_eq!(typed("gi2"), "gì");
        assert_eq!(typed("qua1"), "quá");
        assert_eq!(typed("quy1"), "quý");
        assert_eq!(typed("đươc5"), "được");
    }

    #[test]
    fn open_and_closed_nuclei_take_the_tone_where_the_orthography_says() {
        assert_eq!(typed("mua2"), "mùa");
        assert_eq!(typed("hai1"), "hái");
        assert_eq!(typed("ngoai2"), "ngoài");
        assert_eq!(typed("khuyu3"), "khuỷu");
        assert_eq!(typed("hoan2"), "hoàn");
        assert_eq!(typed("huynh2"), "huỳnh");
        assert_eq!(typed("toan1"), "toán");
    }

    #[test]
    fn an_open_oa_oe_uy_follows_the_chosen_style() {
        assert_eq!(typed("hoa2"), "hòa");
        assert_eq!(typed("khoe3"), "khỏe");
        assert_eq!(typed("thuy3"), "thủy");
        let modern = |w: &str, t| with_tone(w, t, ToneStyle::Modern).map(|s| s.to_string());
        assert_eq!(modern("hoa", Tone::Grave).as_deref(), Some("hoà"));
        assert_eq!(modern("khoe", Tone::Hook).as_deref(), Some("khoẻ"));
        assert_eq!(modern("thuy", Tone::Hook).as_deref(), Some("thuỷ"));
    }

    #[test]
    fn the_tone_moves_as_the_word_grows_and_shrinks() {
        assert_eq!(typed("hoa2n"), "hoàn", "a final consonant moves it");
        assert_eq!(typed("hoa2n\u{8}"), "hòa");
        assert_eq!(
            backspace("hòa", ToneStyle::Traditional).as_str(),
            "hò",
            "the tone stays with the word"
        );
        assert_eq!(backspace("à", ToneStyle::Traditional).as_str(), "");
        assert_eq!(backspace("Hà ", ToneStyle::Traditional).as_str(), "Hà");
        assert_eq!(backspace("", ToneStyle::Traditional).as_str(), "");
    }

    #[test]
    fn the_same_tone_twice_takes_it_off_and_another_replaces_it() {
        assert_eq!(typed("ma11"), "ma");
        assert_eq!(typed("ma14"), "mã");
        assert_eq!(typed("Hà Nôi5"), "Hà Nội", "only the last word is marked");
        assert!(press_tone("Số 5", Tone::Acute, ToneStyle::Traditional).is_none());
        assert!(press_tone("ng", Tone::Acute, ToneStyle::Traditional).is_none());
    }

    #[test]
    fn capitals_keep_their_case_and_non_letters_end_the_word() {
        assert_eq!(typed("NGUYÊN4"), "NGUYỄN");
        assert_eq!(typed("Ươ2"), "Ườ");
        assert_eq!(typed("Cầu Giây1"), "Cầu Giấy");
        assert_eq!(typed("a, b1"), "a, b", "b has no vowel");
    }

    /// A Vietnamese-like syllable: onset, nucleus, coda.
    fn syllable() -> impl Strategy<Value = String> {
        let onsets = prop::sample::select(vec![
            "", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng",
            "ngh", "nh", "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x",
        ]);
        let nuclei = prop::sample::select(vec![
            "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "ai", "ao", "au", "ay",
            "âu", "ây", "eo", "êu", "ia", "iê", "iu", "oa", "oă", "oe", "oi", "ôi", "ơi", "ua",
            "uâ", "uê", "ui", "uô", "uơ", "uy", "ưa", "ưi", "ươ", "ưu", "yê", "oai", "oay", "uôi",
            "ươi", "ươu", "iêu", "yêu", "uyê", "uya", "uyu", "oeo",
        ]);
        let codas = prop::sample::select(vec![
            "", "c", "ch", "m", "n", "ng", "nh", "p", "t", "i", "o",
        ]);
        (onsets, nuclei, codas, any::<bool>()).prop_map(|(o, n, c, cap)| {
            let s = format!("{o}{n}{c}");
            if cap {
                let mut chars = s.chars();
                chars
                    .next()
                    .map(|f| f.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            } else {
                s
            }
        })
    }

    fn tone() -> impl Strategy<Value = Tone> {
        prop::sample::select(Tone::MARKED.to_vec())
    }

    fn style() -> impl Strategy<Value = ToneStyle> {
        prop::sample::select(vec![ToneStyle::Traditional, ToneStyle::Modern])
    }

    fn marks(s: &str) -> usize {
        s.nfd().filter(|c| Tone::of_mark(*c).is_some()).count()
    }

    proptest! {
        #[test]
        fn a_tone_applied_then_pressed_again_round_trips(w in syllable(), t in tone(), s in style()) {
            let marked = press_tone(&w, t, s).expect("a syllable has a vowel");
            prop_assert!(is_nfc(&marked));
            prop_assert_eq!(tone_of(&marked), t);
            prop_assert_eq!(marks(&marked), 1);
            let stripped = strip_tone(&marked);
            prop_assert_eq!(stripped.as_str(), w.as_str());
            let back = press_tone(&marked, t, s).expect("still a vowel");
            prop_assert_eq!(back.as_str(), w.as_str());
        }

        #[test]
        fn another_tone_replaces_the_first(w in syllable(), t in tone(), u in tone(), s in style()) {
            prop_assume!(t != u);
            let once = press_tone(&w, t, s).expect("a vowel");
            let replaced = press_tone(&once, u, s).expect("a vowel");
            let direct = with_tone(&w, u, s).expect("a vowel");
            prop_assert_eq!(replaced.as_str(), direct.as_str());
            prop_assert_eq!(marks(&replaced), 1);
        }

        #[test]
        fn typing_then_backspacing_a_letter_restores_the_word(w in syllable(), t in tone(), c in "[a-z]") {
            let marked = press_tone(&w, t, ToneStyle::Traditional).expect("a vowel");
            let c = c.chars().next().expect("one letter");
            let longer = press_char(&marked, c, ToneStyle::Traditional);
            prop_assert_eq!(tone_of(&longer), t);
            let back = backspace(&longer, ToneStyle::Traditional);
            prop_assert_eq!(back.as_str(), marked.as_str());
        }

        #[test]
        fn any_key_sequence_gives_nfc_text_with_one_tone_per_word(
            keys in prop::collection::vec(
                prop::sample::select(vec![
                    "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "đ", "n", "g",
                    "h", "q", "t", "A", "Ư", " ", ",", "5", "1'", "2'", "3'", "4'", "5'", "\u{8}",
                ]),
                0..40,
            ),
            s in style(),
        ) {
            let mut text = Zeroizing::new(String::new());
            for k in keys {
                text = match k {
                    "\u{8}" => backspace(&text, s),
                    t if t.ends_with('\'') => {
                        let i = usize::from(t.as_bytes()[0] - b'1');
                        press_tone(&text, Tone::MARKED[i], s).unwrap_or(text)
                    }
                    c => press_char(&text, c.chars().next().expect("a key"), s),
                };
                prop_assert!(is_nfc(&text));
                for word in text.split(|c: char| !c.is_alphabetic()) {
                    prop_assert!(marks(word) <= 1, "{:?} in {:?}", word, text.as_str());
                }
            }
        }
    }
}
