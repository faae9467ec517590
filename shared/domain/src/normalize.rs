//! Normalization and enrichment of submitted values, each step recorded so a person can see
//! what was changed from what, and why.
//!
//! Soft fields (country, region, postal code, website, company size, employee count) are
//! normalized when they can be. A value that cannot be is never a reason to refuse a lead: the
//! contract keeps it as submitted in an [`Unrecognized`] entry, routing treats the field as
//! missing, and the lead is flagged for a person to check.
//!
//! - countries: ISO 3166-1 alpha-2 from alpha-2 and alpha-3 codes (`rust_iso3166`) and from
//!   every name form of the `countries` dataset (`keshvar`: ISO short and official names, common
//!   names, native names and names in about 130 languages), plus a few aliases it lacks; matched
//!   Unicode-aware (NFC, case, dots, punctuation, a leading "the", `&`/`and`, `St`/`Saint`;
//!   accents only when nothing matches with them). A name the dataset gives to two countries is
//!   ambiguous and never guessed. The name tables are built once, on the first name looked up;
//! - regions: ISO 3166-2 codes from codes or names, where the country has subdivisions
//!   (`rust_iso3166`);
//! - postal codes: trimmed, upper-cased, spaces collapsed, checked lightly;
//! - company sizes and employee counts: Baton's size bands ([`SIZE_BANDS`]) from counts with
//!   thousands separators, ranges (`50-200`, `51 to 200`) and open bands (`5000+`);
//! - phones: E.164 by libphonenumber's rules (`phonenumber`), using the lead's country;
//! - companies: a matching key without legal suffixes or punctuation;
//! - job titles: seniority and department by transparent keyword rules (free text: never
//!   unrecognized);
//! - domains: from the website or the email, with free-mail domains marked personal.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::LazyLock;

use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};
use serde::{Deserialize, Serialize};

/// One change made to a submitted value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Normalization {
    /// The field, such as `country`.
    pub field: String,
    /// The value as submitted.
    pub from: String,
    /// The value as stored (or derived); empty when the value was not recognized.
    pub to: String,
    /// The rule that made the change, for a person (`unrecognized: …` when none could).
    pub rule: String,
}

impl Normalization {
    pub fn new(field: &str, from: &str, to: &str, rule: impl Into<String>) -> Self {
        Self { field: field.into(), from: from.into(), to: to.into(), rule: rule.into() }
    }
}

/// A submitted value of a soft field that could not be normalized: kept as submitted, treated as
/// missing by routing, and a reason for a person to check the lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Unrecognized {
    /// The field, such as `country`.
    pub field: String,
    /// The value as submitted.
    pub value: String,
    /// Why it was not recognized, for a person, such as `not a country in ISO 3166 or its names`.
    pub reason: String,
}

impl Unrecognized {
    /// `value` of `field`, not recognized for `reason`.
    pub fn new(field: &str, value: &str, reason: impl Into<String>) -> Self {
        Self { field: field.into(), value: value.into(), reason: reason.into() }
    }

    /// The normalization note that records it: nothing stored, the rule `unrecognized: <reason>`.
    pub fn note(&self) -> Normalization {
        Normalization::new(&self.field, &self.value, "", format!("unrecognized: {}", self.reason))
    }
}

/// Names people write for countries that the dataset does not have: short forms, parts of a
/// country, transliterations and acronyms. Each must be absent from the dataset (a test checks),
/// so this table only adds; it never overrides.
const COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("us of a", "US"),
    ("america", "US"),
    ("usvi", "VI"),
    ("britain", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("northern ireland", "GB"),
    ("republic of ireland", "IE"),
    ("oesterreich", "AT"),
    ("bosnia", "BA"),
    ("sao tome", "ST"),
    ("drc", "CD"),
    ("dr congo", "CD"),
    ("ksa", "SA"),
    ("uae", "AE"),
    ("emirates", "AE"),
    ("bharat", "IN"),
    ("lao pdr", "LA"),
    ("korea", "KR"),
    ("nippon", "JP"),
    ("prc", "CN"),
    ("中华人民共和国", "CN"),
    ("mainland china", "CN"),
    ("hong kong sar", "HK"),
    ("macao sar", "MO"),
];

/// How a name came to be in the table, best first: when forms of one country fold alike, the
/// best one names the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum NameForm {
    ShortName,
    OfficialName,
    CommonName,
    /// In one of the country's official languages.
    NativeName(&'static str),
    Translation(&'static str),
    Alias,
}

impl NameForm {
    fn rule(self) -> String {
        match self {
            Self::ShortName => "ISO 3166-1 short name".into(),
            Self::OfficialName => "ISO 3166-1 official name".into(),
            Self::CommonName => "common name".into(),
            Self::NativeName(language) => format!("native name (`{language}`)"),
            Self::Translation(language) => format!("name in `{language}`"),
            Self::Alias => "Baton alias".into(),
        }
    }
}

/// What a folded name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Named {
    /// One country (alpha-2), by its best form.
    One(String, NameForm),
    /// Several countries (alpha-2): ambiguous.
    Many(Vec<String>),
}

/// Country names, built once from the dataset, the first time a name (not a code) is looked up.
struct CountryNames {
    /// Folded names → countries.
    exact: HashMap<String, Named>,
    /// Alpha-2 → ISO short name, for messages.
    short_names: HashMap<String, &'static str>,
}

static COUNTRY_NAMES: LazyLock<CountryNames> = LazyLock::new(CountryNames::build);

/// Builds the country name tables now (about 75 ms in a release build) rather than on the first
/// lead that writes its country as a name: a function calls it while starting.
pub fn warm_up() {
    LazyLock::force(&COUNTRY_NAMES);
    LazyLock::force(&LOOSE_COUNTRY_NAMES);
}

/// The same names with accents removed, built the first time a name is not found with them.
static LOOSE_COUNTRY_NAMES: LazyLock<HashMap<String, Named>> = LazyLock::new(|| {
    let mut loose = HashMap::new();
    for (key, named) in &COUNTRY_NAMES.exact {
        match named {
            Named::One(code, form) => add_name(&mut loose, without_marks(key), code, *form),
            // Still ambiguous without accents (the form no longer matters).
            Named::Many(codes) => {
                codes.iter().for_each(|code| add_name(&mut loose, without_marks(key), code, NameForm::Alias))
            }
        }
    }
    loose
});

fn add_name(map: &mut HashMap<String, Named>, key: String, code: &str, form: NameForm) {
    if key.is_empty() {
        return;
    }
    match map.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert(Named::One(code.to_owned(), form));
        }
        Entry::Occupied(mut slot) => match slot.get_mut() {
            Named::One(existing, best) if existing == code => *best = (*best).min(form),
            Named::One(existing, _) => {
                let first = existing.clone();
                slot.insert(Named::Many(vec![first, code.to_owned()]));
            }
            Named::Many(codes) => {
                if !codes.iter().any(|c| c == code) {
                    codes.push(code.to_owned());
                }
            }
        },
    }
}

impl CountryNames {
    fn build() -> Self {
        let mut names = Self { exact: HashMap::new(), short_names: HashMap::new() };
        for country in keshvar::CountryIterator::new() {
            let code = country.alpha2().to_string();
            names.short_names.insert(code.clone(), country.iso_short_name());
            // Many languages write a name alike: fold each spelling once, by its best form.
            let mut spellings: HashMap<&'static str, NameForm> = HashMap::new();
            for (name, form) in country_name_forms(&country) {
                spellings.entry(name).and_modify(|best| *best = (*best).min(form)).or_insert(form);
            }
            for (name, form) in spellings {
                add_name(&mut names.exact, fold_name(name), &code, form);
            }
        }
        for (alias, code) in COUNTRY_ALIASES {
            add_name(&mut names.exact, fold_name(alias), code, NameForm::Alias);
        }
        names
    }
}

/// The country a code names: two or three letters that are an ISO 3166-1 alpha-2 or alpha-3
/// code (any case, dots and spaces ignored), with the rule.
fn country_code(raw: &str) -> Option<(String, &'static str)> {
    let key = code_key(raw)?.to_ascii_uppercase();
    match key.len() {
        2 => rust_iso3166::from_alpha2(&key).map(|c| (c.alpha2.to_owned(), "ISO 3166-1 alpha-2 code")),
        _ => rust_iso3166::from_alpha3(&key).map(|c| (c.alpha2.to_owned(), "ISO 3166-1 alpha-3 code")),
    }
}

/// Every name the dataset gives `country` (not its codes), with its form.
fn country_name_forms(country: &keshvar::Country) -> Vec<(&'static str, NameForm)> {
    let mut forms =
        vec![(country.iso_short_name(), NameForm::ShortName), (country.iso_long_name(), NameForm::OfficialName)];
    forms.extend(country.unofficial_name_list().iter().map(|name| (*name, NameForm::CommonName)));
    let official = country.maybe_official_language_list().unwrap_or_default();
    let mut translations: Vec<(&'static str, &'static str)> =
        country.translations().iter().map(|(language, name)| (*language, *name)).collect();
    translations.sort_unstable();
    forms.extend(translations.into_iter().map(|(language, name)| {
        // `zh_CN` is Chinese, `pt_BR` Portuguese.
        let base = language.split('_').next().unwrap_or(language);
        let form =
            if official.contains(&base) { NameForm::NativeName(language) } else { NameForm::Translation(language) };
        (name, form)
    }));
    forms
}

/// Punctuation read as a space when comparing names (dots are dropped, `&` reads `and`).
fn is_name_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{00AB}' | '\u{00B4}' | '\u{00B7}' | '\u{00BB}' | '\u{02BC}' | '\u{2010}'..='\u{2015}'
                | '\u{2018}'..='\u{201F}' | '\u{2032}' | '\u{2212}' | '\u{3001}' | '\u{FF08}' | '\u{FF09}' | '\u{FF0C}'
        )
}

/// A name folded for comparison: NFC with invisible characters removed, lower-cased, dots
/// dropped, `&` read as `and`, other punctuation as spaces, `st` as `saint`, spaces collapsed,
/// and a leading `the` ignored. `"The U.K."` → `"uk"`, `"Trinidad & Tobago"` → `"trinidad and tobago"`.
fn fold_name(raw: &str) -> String {
    let text = if raw.is_ascii() {
        raw.to_ascii_lowercase() // already NFC, and nothing invisible
    } else {
        crate::text::without_invisibles(&crate::text::nfc(raw)).to_lowercase()
    };
    let mut spaced = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '.' | '\u{3002}' => {}
            '&' | '\u{FF06}' => spaced.push_str(" and "),
            c if c.is_whitespace() || is_name_punctuation(c) => spaced.push(' '),
            c => spaced.push(c),
        }
    }
    let mut words: Vec<&str> = spaced.split_whitespace().map(|w| if w == "st" { "saint" } else { w }).collect();
    if words.len() > 1 && words[0] == "the" {
        words.remove(0);
    }
    words.join(" ")
}

/// The key a code is looked up by: two or three ASCII letters, lower-cased, once dots and spaces
/// are dropped (`U.S.A.` → `usa`); `None` for anything else.
fn code_key(raw: &str) -> Option<String> {
    let key: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '.').collect::<String>().to_ascii_lowercase();
    (matches!(key.len(), 2 | 3) && key.bytes().all(|b| b.is_ascii_lowercase())).then_some(key)
}

/// A folded name without accents: combining diacritical marks removed after decomposition, and
/// the letters that do not decompose (`ø`, `ß`, `æ`, `œ`, `ł`, `đ`, `ı`) spelled in ASCII.
fn without_marks(folded: &str) -> String {
    if folded.is_ascii() {
        return folded.to_owned();
    }
    let decomposed = DecomposingNormalizerBorrowed::new_nfd().normalize(folded);
    let mut bare = String::with_capacity(decomposed.len());
    for c in decomposed.chars() {
        match c {
            '\u{0300}'..='\u{036F}' => {}
            'ø' => bare.push('o'),
            'ß' => bare.push_str("ss"),
            'æ' => bare.push_str("ae"),
            'œ' => bare.push_str("oe"),
            'ł' => bare.push('l'),
            'đ' => bare.push('d'),
            'ı' => bare.push('i'),
            c => bare.push(c),
        }
    }
    ComposingNormalizerBorrowed::new_nfc().normalize(&bare).into_owned()
}

/// Why a submitted country could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotACountry {
    /// No code or name of any country.
    Unknown,
    /// A name the dataset gives to more than one country (their alpha-2 codes, sorted): Baton
    /// does not guess between them.
    Ambiguous(Vec<String>),
}

impl fmt::Display for NotACountry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown => f.write_str("not a country in ISO 3166 or its names"),
            Self::Ambiguous(codes) => {
                let names = &COUNTRY_NAMES.short_names;
                let candidates: Vec<String> = codes
                    .iter()
                    .map(|c| match names.get(c) {
                        Some(name) => format!("{name} ({c})"),
                        None => c.clone(),
                    })
                    .collect();
                write!(f, "ambiguous: the name of more than one country: {}", candidates.join(", "))
            }
        }
    }
}

fn resolved(named: &Named, accents_ignored: bool) -> Result<(String, String), NotACountry> {
    match named {
        Named::One(code, form) => {
            let rule = if accents_ignored { format!("{} (accents ignored)", form.rule()) } else { form.rule() };
            Ok((code.clone(), rule))
        }
        Named::Many(codes) => {
            let mut codes = codes.clone();
            codes.sort();
            Err(NotACountry::Ambiguous(codes))
        }
    }
}

/// Resolves a country written as an ISO 3166-1 alpha-2 or alpha-3 code, any name the dataset
/// has for it, or an alias, to its alpha-2 code. Returns the code and the rule that matched.
///
/// Two or three letters that are a code are read as that code (`AO` is Angola, whatever a
/// language calls Austria). Otherwise a name with its accents is looked up first, then without
/// them (`Osterreich`). Fails when nothing matches, or when the name belongs to more than one
/// country.
pub fn country(raw: &str) -> Result<(String, String), NotACountry> {
    if let Some((code, rule)) = country_code(raw) {
        return Ok((code, rule.to_owned()));
    }
    let folded = fold_name(raw);
    if let Some(named) = COUNTRY_NAMES.exact.get(&folded) {
        return resolved(named, false);
    }
    match LOOSE_COUNTRY_NAMES.get(&without_marks(&folded)) {
        Some(named) => resolved(named, true),
        None => Err(NotACountry::Unknown),
    }
}

/// Resolves a region (state, province, Land) of `country` to its ISO 3166-2 code, from the code
/// with or without the country prefix, or from its name (compared like country names, accents
/// optional).
///
/// `Ok(None)` when Baton cannot check the value: the country has no ISO 3166-2 subdivisions in
/// its data (the submitted value is then kept as is). `Err` says why when the country has
/// subdivisions and the value is none of them.
pub fn region(country: &str, raw: &str) -> Result<Option<(String, &'static str)>, String> {
    let Some(known) = rust_iso3166::from_alpha2(country) else {
        return Ok(None);
    };
    let subdivisions = known.subdivisions().unwrap_or_default();
    if subdivisions.is_empty() {
        return Ok(None);
    }
    let upper: String = raw.trim().to_uppercase().chars().filter(|c| !c.is_whitespace() && *c != '.').collect();
    let with_prefix =
        if upper.starts_with(&format!("{country}-")) { upper.clone() } else { format!("{country}-{upper}") };
    if let Some(s) = subdivisions.iter().find(|s| s.code == with_prefix) {
        return Ok(Some((s.code.to_owned(), "ISO 3166-2 code")));
    }
    let folded = fold_name(raw);
    if let Some(s) = subdivisions.iter().find(|s| fold_name(s.name) == folded) {
        return Ok(Some((s.code.to_owned(), "ISO 3166-2 name")));
    }
    let bare = without_marks(&folded);
    let mut loose = subdivisions.iter().filter(|s| without_marks(&fold_name(s.name)) == bare);
    match (loose.next(), loose.next()) {
        (Some(s), None) => Ok(Some((s.code.to_owned(), "ISO 3166-2 name (accents ignored)"))),
        _ => Err(format!("not a subdivision of {country} in ISO 3166-2")),
    }
}

/// The longest postal code Baton recognizes, in letters and digits (Iran's has ten digits, a
/// US ZIP+4 nine).
const MAX_POSTAL_CHARS: usize = 12;

/// A postal code as stored: trimmed, upper-cased, runs of spaces as one, no space around `-`.
/// Fails (saying why) when it cannot be a postal code: without a digit (every country's codes
/// have one), with characters other than letters, digits, spaces and `-`, or too long.
pub fn postal_code(raw: &str) -> Result<String, String> {
    let words: Vec<String> = raw.split_whitespace().map(str::to_uppercase).collect();
    let code = words.join(" ").replace(" - ", "-").replace("- ", "-").replace(" -", "-");
    if let Some(bad) = code.chars().find(|c| !(c.is_alphanumeric() || *c == ' ' || *c == '-')) {
        return Err(format!("contains `{bad}`, which postal codes do not"));
    }
    if !code.chars().any(|c| c.is_ascii_digit()) {
        return Err("has no digit, as every postal code does".into());
    }
    let significant = code.chars().filter(|c| c.is_alphanumeric()).count();
    if significant > MAX_POSTAL_CHARS {
        return Err(format!("has {significant} letters and digits; postal codes have at most {MAX_POSTAL_CHARS}"));
    }
    Ok(code)
}

/// Baton's company size bands, smallest first: each band's name and the fewest employees in it
/// (a band runs to the next one's start).
pub const SIZE_BANDS: [(&str, u32); 6] =
    [("1-10", 0), ("11-50", 11), ("51-200", 51), ("201-1000", 201), ("1001-5000", 1001), ("5001+", 5001)];

fn band_index(employees: u32) -> usize {
    SIZE_BANDS.iter().rposition(|(_, from)| employees >= *from).unwrap_or(0)
}

/// The size band an employee count falls in.
pub fn size_band(employees: u32) -> &'static str {
    SIZE_BANDS[band_index(employees)].0
}

/// What a company size or an employee count says about the company's headcount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headcount {
    /// A number of employees.
    Count(u32),
    /// One of [`SIZE_BANDS`].
    Band(&'static str),
}

/// Words that may follow a headcount (`1000+ employees`).
const HEADCOUNT_WORDS: &[&str] =
    &["employees", "employee", "people", "persons", "staff", "ftes", "fte", "emp", "ppl", "mitarbeiter", "salariés"];

/// A whole number written plainly, with thousands separators (`1,000`, `1.000`, `1 000`,
/// `1'000`), or with a `k` (`10k`, `1.5k`).
fn whole_number(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    if let Some(thousands) = text.strip_suffix(['k', 'K']) {
        let (whole, fraction) = match thousands.split_once(['.', ',']) {
            Some((w, f)) if (1..=3).contains(&f.len()) => (w, f),
            Some(_) => return None,
            None => (thousands, ""),
        };
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let fraction: u32 = format!("{fraction:0<3}").parse().ok()?;
        return whole.parse::<u32>().ok()?.checked_mul(1000)?.checked_add(fraction);
    }
    let separator = text.chars().find(|c| !c.is_ascii_digit())?;
    if !matches!(separator, ',' | '.' | ' ' | '\'' | '\u{2019}' | '\u{00A0}' | '\u{202F}') {
        return None;
    }
    let groups: Vec<&str> = text.split(separator).collect();
    let well_grouped = groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()))
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3);
    if !well_grouped {
        return None;
    }
    groups.concat().parse().ok()
}

/// The band a range of headcounts (`to` `None`: open above) falls in. A range whose start is the
/// last count of the band before reads as the next band (`50-200` is `51-200`, `5000+` is
/// `5001+`), as forms write bands that share their ends. Fails when it spans several bands.
fn band_of_range(from: u32, to: Option<u32>) -> Result<&'static str, String> {
    if let Some(to) = to
        && to < from
    {
        return Err(format!("runs from {from} down to {to}"));
    }
    let mut low = band_index(from);
    if to.is_none_or(|to| to > from)
        && SIZE_BANDS.get(low + 1).is_some_and(|(_, start)| from.checked_add(1) == Some(*start))
    {
        low += 1;
    }
    let high = to.map_or(SIZE_BANDS.len() - 1, |to| band_index(to).max(low));
    if low == high {
        return Ok(SIZE_BANDS[low].0);
    }
    let spanned: Vec<&str> = SIZE_BANDS[low..=high].iter().map(|(name, _)| *name).collect();
    Err(format!("spans several of Baton's size bands ({})", spanned.join(", ")))
}

/// Reads a headcount: a number, a range (`51-200`, `51 to 200`, `51–200`), an open band
/// (`5000+`, `over 5000`) or a band under a number (`under 10`), with an optional word such as
/// `employees` after it.
fn headcount(raw: &str) -> Result<(Headcount, String), String> {
    let mut text = raw.trim().to_lowercase();
    while let Some(rest) = HEADCOUNT_WORDS.iter().find_map(|w| text.strip_suffix(w).map(|r| r.trim_end().to_owned())) {
        text = rest;
    }
    let text = text.trim();
    if let Some(n) = whole_number(text) {
        let rule = if n.to_string() == text { "a number".to_owned() } else { "a number with separators".to_owned() };
        return Ok((Headcount::Count(n), rule));
    }
    let open_from = text
        .strip_suffix('+')
        .and_then(whole_number)
        .or_else(|| text.strip_suffix("or more").and_then(whole_number))
        .or_else(|| {
            ["over ", "more than ", ">"]
                .iter()
                .find_map(|p| text.strip_prefix(p).and_then(whole_number))
                .and_then(|n| n.checked_add(1))
        });
    if let Some(from) = open_from {
        let band = band_of_range(from, None)?;
        return Ok((Headcount::Band(band), format!("{from} or more: the size band {band}")));
    }
    if let Some(below) =
        ["under ", "less than ", "fewer than ", "<"].iter().find_map(|p| text.strip_prefix(p).and_then(whole_number))
    {
        let to = below.checked_sub(1).ok_or_else(|| "is fewer than no employees".to_owned())?;
        let band = band_of_range(0, Some(to))?;
        return Ok((Headcount::Band(band), format!("fewer than {below}: the size band {band}")));
    }
    let range = ["-", "\u{2013}", "\u{2014}", "\u{2012}", "\u{2212}", " to ", " bis "]
        .iter()
        .find_map(|dash| text.split_once(dash))
        .and_then(|(from, to)| Some((whole_number(from)?, whole_number(to)?)));
    if let Some((from, to)) = range {
        let band = band_of_range(from, Some(to))?;
        let rule =
            if band == text { "a size band".to_owned() } else { format!("{from} to {to}: the size band {band}") };
        return Ok((Headcount::Band(band), rule));
    }
    Err("not a number of employees or a size band".into())
}

/// Reads an employee count sent as text (an HTML form's field): a number, also with thousands
/// separators (`1,000`, `1.000`, `1 000` → 1000), or a range or open band, which gives a size band
/// instead (`50-200` → `51-200`). Returns what it read and the rule; fails saying why.
pub fn employee_count(raw: &str) -> Result<(Headcount, String), String> {
    headcount(raw)
}

/// Reads a company size to one of [`SIZE_BANDS`]: a band in any common spelling (`51-200`,
/// `51 to 200`, `51–200 employees`, `5000+`), or a number of employees. Fails, saying why, when
/// it is neither or spans several bands (`200+`).
pub fn company_size(raw: &str) -> Result<(&'static str, String), String> {
    match headcount(raw)? {
        (Headcount::Band(band), rule) => Ok((band, rule)),
        (Headcount::Count(n), _) => {
            let band = size_band(n);
            Ok((band, format!("{n} employees: the size band {band}")))
        }
    }
}

/// The outcome of parsing a phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPhone {
    /// E.164 (`+14155550100`) when the number could be resolved, otherwise its digits.
    pub value: String,
    /// How it was resolved, or why it was kept as digits.
    pub rule: String,
}

/// Parses a phone number to E.164 using `country` (ISO alpha-2) for numbers written without a
/// `+` prefix. Fails only when the text cannot be a phone number; a number that parses but does
/// not validate for its country is kept in E.164 form and the rule says so.
pub fn phone(raw: &str, country: Option<&str>) -> Result<ParsedPhone, String> {
    let trimmed = raw.trim();
    let mut digits = 0;
    for (i, c) in trimmed.chars().enumerate() {
        match c {
            '0'..='9' => digits += 1,
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            'x' | 'X' | '#' | ',' | ';' if digits >= 7 => break, // extension follows
            other => {
                return Err(format!("contains `{other}`, which is not part of a phone number"));
            }
        }
    }
    if !(7..=17).contains(&digits) {
        return Err(format!("has {digits} digits; a phone number has 7 to 15"));
    }
    let region = country.and_then(|c| c.parse::<phonenumber::country::Id>().ok());
    if region.is_none() && !trimmed.starts_with('+') {
        let only_digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        return Ok(ParsedPhone {
            value: only_digits,
            rule: "kept as digits: no country to resolve a national number".into(),
        });
    }
    match phonenumber::parse(region, trimmed) {
        Ok(number) => {
            let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
            let rule = if phonenumber::is_valid(&number) {
                match country {
                    Some(c) if !trimmed.starts_with('+') => format!("E.164 using the country {c}"),
                    _ => "E.164".to_owned(),
                }
            } else {
                "E.164, but not a valid number for its country (check it)".to_owned()
            };
            Ok(ParsedPhone { value: e164, rule })
        }
        Err(e) => Err(format!("is not a phone number: {e}")),
    }
}

/// Legal-form suffixes removed from company names for matching, longest first.
const LEGAL_SUFFIXES: &[&str] = &[
    "gmbh & co kg",
    "gmbh & co",
    "co ltd",
    "pty ltd",
    "pte ltd",
    "sp z o o",
    "s de rl",
    "incorporated",
    "corporation",
    "company",
    "limited",
    "gmbh",
    "inc",
    "llc",
    "llp",
    "ltd",
    "plc",
    "corp",
    "co",
    "ag",
    "kg",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "oyj",
    "ab",
    "as",
    "asa",
    "aps",
    "kk",
    "pty",
    "pte",
    "se",
    "sl",
    "lp",
    "ug",
    "ev",
];

/// A company name reduced for matching: lower-cased, punctuation removed, legal suffixes dropped.
/// `"ACME, Inc."` and `"Acme Incorporated"` both become `"acme"`.
pub fn company_key(name: &str) -> String {
    let cleaned: String = name
        .to_lowercase()
        .chars()
        .filter(|c| *c != '.')
        .map(|c| if c.is_alphanumeric() || c == '&' { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    // One legal form is removed (the longest that fits), never the whole name.
    let joined = words.join(" ");
    if let Some(suffix) =
        LEGAL_SUFFIXES.iter().find(|s| words.len() > s.split(' ').count() && joined.ends_with(&format!(" {s}")))
    {
        words.truncate(words.len() - suffix.split(' ').count());
    }
    words.join(" ")
}

/// How senior a job title is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Seniority {
    Student,
    IndividualContributor,
    Manager,
    Director,
    Vp,
    CLevel,
    Owner,
}

/// The department a job title belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    Executive,
    Engineering,
    It,
    Product,
    Sales,
    Marketing,
    Finance,
    Operations,
    HumanResources,
    Legal,
    Support,
    Research,
    Education,
}

/// Seniority rules, first match wins: (whole words or phrases, seniority).
const SENIORITY_RULES: &[(&[&str], Seniority)] = &[
    (&["student", "intern", "internship", "trainee", "werkstudent", "apprentice", "phd candidate"], Seniority::Student),
    (
        &[
            "owner",
            "founder",
            "co-founder",
            "cofounder",
            "proprietor",
            "partner",
            "inhaber",
            "geschäftsführer",
            "gründer",
        ],
        Seniority::Owner,
    ),
    (&["ceo", "cto", "cfo", "coo", "cmo", "cio", "ciso", "cro", "cpo", "chief", "president"], Seniority::CLevel),
    (&["vp", "svp", "evp", "vice president", "head"], Seniority::Vp),
    (&["director", "directeur", "direktor", "leiter", "directora", "director of"], Seniority::Director),
    (&["manager", "lead", "supervisor", "team lead", "teamleiter", "responsable", "gerente"], Seniority::Manager),
];

/// Department rules, first match wins.
const DEPARTMENT_RULES: &[(&[&str], Department)] = &[
    (
        &[
            "ceo",
            "coo",
            "president",
            "founder",
            "co-founder",
            "cofounder",
            "owner",
            "managing director",
            "geschäftsführer",
            "general manager",
        ],
        Department::Executive,
    ),
    (
        &[
            "engineer",
            "engineering",
            "developer",
            "software",
            "devops",
            "sre",
            "architect",
            "cto",
            "programmer",
            "entwickler",
        ],
        Department::Engineering,
    ),
    (
        &["it", "cio", "ciso", "security", "infrastructure", "sysadmin", "system administrator", "network"],
        Department::It,
    ),
    (&["product", "cpo", "ux", "design", "designer"], Department::Product),
    (
        &[
            "sales",
            "account executive",
            "business development",
            "bdr",
            "sdr",
            "cro",
            "revenue",
            "vertrieb",
            "ventes",
            "ventas",
        ],
        Department::Sales,
    ),
    (&["marketing", "cmo", "growth", "brand", "demand generation", "content", "seo"], Department::Marketing),
    (
        &["finance", "cfo", "accounting", "accountant", "controller", "treasury", "procurement", "purchasing", "buyer"],
        Department::Finance,
    ),
    (&["operations", "ops", "logistics", "supply chain", "revops", "revenue operations"], Department::Operations),
    (&["hr", "human resources", "people", "talent", "recruiter", "recruiting", "personal"], Department::HumanResources),
    (&["legal", "counsel", "lawyer", "attorney", "compliance", "general counsel"], Department::Legal),
    (&["support", "customer success", "service", "helpdesk"], Department::Support),
    (&["research", "scientist", "researcher", "r&d", "analyst", "data"], Department::Research),
    (&["teacher", "professor", "lecturer", "student", "education"], Department::Education),
];

fn title_has(words: &[String], text: &str, term: &str) -> bool {
    if term.contains(' ') || term.contains('-') || term.contains('&') {
        text.contains(term)
    } else {
        words.iter().any(|w| w == term)
    }
}

fn first_match<T: Copy>(
    rules: &'static [(&'static [&'static str], T)],
    words: &[String],
    text: &str,
) -> Option<(T, &'static str)> {
    rules.iter().find_map(|(terms, value)| terms.iter().find(|t| title_has(words, text, t)).map(|t| (*value, *t)))
}

/// What a job title says about the person: seniority and department, each with the matched term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleReading {
    pub seniority: Option<(Seniority, &'static str)>,
    pub department: Option<(Department, &'static str)>,
}

/// Reads a job title by the keyword rules above (whole words; phrases as substrings).
pub fn job_title(title: &str) -> TitleReading {
    let text = title.to_lowercase();
    let words: Vec<String> =
        text.split(|c: char| !(c.is_alphanumeric() || c == '&')).filter(|w| !w.is_empty()).map(str::to_owned).collect();
    TitleReading {
        seniority: first_match(SENIORITY_RULES, &words, &text),
        department: first_match(DEPARTMENT_RULES, &words, &text),
    }
}

/// Free-mail and consumer mailbox domains: an address there says nothing about an employer.
pub const PERSONAL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "yahoo.de",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.de",
    "gmx.net",
    "gmx.at",
    "gmx.ch",
    "web.de",
    "t-online.de",
    "freenet.de",
    "mail.com",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "zoho.com",
    "qq.com",
    "163.com",
    "126.com",
    "naver.com",
    "hanmail.net",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "libero.it",
    "virgilio.it",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "interia.pl",
    "btinternet.com",
    "fastmail.com",
    "hey.com",
    "tutanota.com",
    "rediffmail.com",
    "bol.com.br",
    "uol.com.br",
];

/// Whether `domain` is a personal mailbox provider.
pub fn is_personal_domain(domain: &str) -> bool {
    PERSONAL_DOMAINS.contains(&domain)
}

/// The host of a website written with or without a scheme, lower-cased, without `www.`.
pub fn website_domain(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") { raw.to_owned() } else { format!("https://{raw}") };
    let url = url::Url::parse(&with_scheme).map_err(|e| format!("is not a website address: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("is a `{}` address, not a website", url.scheme()));
    }
    let host = url.host_str().ok_or("has no host")?.to_lowercase();
    if !host.contains('.') {
        return Err(format!("has no domain (`{host}`)"));
    }
    Ok(host.strip_prefix("www.").unwrap_or(&host).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_resolve_from_codes_names_and_aliases() {
        let cases = [
            ("DE", "DE"),
            ("de", "DE"),
            ("DEU", "DE"),
            ("Germany", "DE"),
            ("Deutschland", "DE"),
            (" deutschland ", "DE"),
            ("Federal Republic of Germany", "DE"),
            ("The Federal Republic of Germany", "DE"),
            ("Kingdom of Sweden", "SE"),
            ("Sverige", "SE"),
            ("Schweden", "SE"),
            ("United Mexican States", "MX"),
            ("MÉXICO", "MX"),
            ("Mexico", "MX"),
            ("USA", "US"),
            ("U.S.A.", "US"),
            ("U.S.", "US"),
            ("United States", "US"),
            ("United States of America", "US"),
            ("us", "US"),
            ("UK", "GB"),
            ("U.K.", "GB"),
            ("United Kingdom", "GB"),
            ("Great Britain", "GB"),
            ("GBR", "GB"),
            ("England", "GB"),
            ("Scotland", "GB"),
            ("Österreich", "AT"),
            ("O\u{0308}sterreich", "AT"),
            ("Osterreich", "AT"),
            ("Oesterreich", "AT"),
            ("Schweiz", "CH"),
            ("España", "ES"),
            ("Espana", "ES"),
            ("Nederland", "NL"),
            ("the Netherlands", "NL"),
            ("France", "FR"),
            ("Brasil", "BR"),
            ("日本", "JP"),
            ("Japan", "JP"),
            ("JPN", "JP"),
            ("中国", "CN"),
            ("Россия", "RU"),
            ("Polska", "PL"),
            ("Korea, Republic of", "KR"),
            ("Korea", "KR"),
            ("Trinidad & Tobago", "TT"),
            ("St. Lucia", "LC"),
            ("Côte d’Ivoire", "CI"),
            ("Cote d'Ivoire", "CI"),
            ("Ivory Coast", "CI"),
            ("Türkiye", "TR"),
            ("Turkiye", "TR"),
            ("Curacao", "CW"),
            ("UAE", "AE"),
            ("Samoa", "WS"),
        ];
        for (raw, expected) in cases {
            assert_eq!(country(raw).map(|(c, _)| c), Ok(expected.to_owned()), "{raw:?}");
        }
    }

    #[test]
    fn the_rule_names_the_form_that_matched() {
        let rule = |raw: &str| country(raw).map(|(_, rule)| rule).unwrap();
        assert_eq!(rule("de"), "ISO 3166-1 alpha-2 code");
        assert_eq!(rule("DEU"), "ISO 3166-1 alpha-3 code");
        assert_eq!(rule("Germany"), "ISO 3166-1 short name");
        assert_eq!(rule("The Federal Republic of Germany"), "ISO 3166-1 official name");
        assert_eq!(rule("Sverige"), "native name (`sv`)", "before Norwegian, which spells it alike");
        assert_eq!(rule("Tyskland"), "name in `da`", "the first language (by code) that has the name");
        assert_eq!(rule("Osterreich"), "common name (accents ignored)");
        assert_eq!(rule("Scotland"), "Baton alias");
    }

    /// The name forms the dataset ships for `country`, codes first.
    fn dataset_forms(country: &keshvar::Country) -> Vec<String> {
        let mut forms = vec![country.alpha2().to_string(), country.alpha3().to_string()];
        forms.extend(country_name_forms(country).into_iter().map(|(name, _)| name.to_owned()));
        forms
    }

    /// Every folded dataset name (codes apart) and the countries that have it.
    fn dataset_names() -> HashMap<String, Vec<String>> {
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        for c in keshvar::CountryIterator::new() {
            let code = c.alpha2().to_string();
            for (name, _) in country_name_forms(&c) {
                let holders = names.entry(fold_name(name)).or_default();
                if !holders.contains(&code) {
                    holders.push(code.clone());
                }
            }
        }
        names
    }

    /// Every code, lower-cased, and its country.
    fn dataset_codes() -> HashMap<String, String> {
        keshvar::CountryIterator::new()
            .flat_map(|c| {
                let code = c.alpha2().to_string();
                [(code.to_lowercase(), code.clone()), (c.alpha3().to_string().to_lowercase(), code)]
            })
            .collect()
    }

    #[test]
    fn every_name_form_in_the_dataset_resolves_to_its_country_or_is_reported_ambiguous() {
        let names = dataset_names();
        let codes = dataset_codes();
        let (mut checked, mut ambiguous, mut read_as_code) = (0, 0, 0);
        let mut countries = 0;
        for c in keshvar::CountryIterator::new() {
            countries += 1;
            let code = c.alpha2().to_string();
            for form in dataset_forms(&c) {
                checked += 1;
                let folded = fold_name(&form);
                let got = country(&form);
                if let Some(holder) = code_key(&form).and_then(|key| codes.get(&key)) {
                    // Two or three letters that are a code are that code, even when a language
                    // spells another country so (Vietnamese `Ao` for Austria is Angola's `AO`).
                    if *holder != code {
                        read_as_code += 1;
                    }
                    assert_eq!(got.map(|(c, _)| c), Ok(holder.clone()), "{form:?} of {code}");
                    continue;
                }
                let holders = &names[&folded];
                if holders.len() > 1 {
                    ambiguous += 1;
                    let mut expected = holders.clone();
                    expected.sort();
                    assert_eq!(got, Err(NotACountry::Ambiguous(expected)), "{form:?} of {code}");
                    let message = country(&form).unwrap_err().to_string();
                    assert!(holders.iter().all(|h| message.contains(&format!("({h})"))), "{message}");
                } else {
                    assert_eq!(got.map(|(c, _)| c), Ok(code.clone()), "{form:?} of {code}");
                }
            }
        }
        println!(
            "{checked} name forms of {countries} countries checked: {ambiguous} ambiguous, {read_as_code} read as another country's code"
        );
        assert_eq!(countries, 249, "every ISO 3166-1 country is in the dataset");
        assert_eq!(
            rust_iso3166::ALL.len(),
            countries,
            "codes (`rust_iso3166`) and names (`keshvar`) list the same countries"
        );
        assert!(checked > 30_000, "the dataset ships names in over 100 languages; only {checked} forms");
        assert!(ambiguous < checked / 500, "{ambiguous} of {checked} forms are ambiguous: is the fold too loose?");
    }

    #[test]
    fn a_name_without_its_accents_resolves_to_its_country_or_to_a_name_spelled_so() {
        let names = dataset_names();
        let codes = dataset_codes();
        let mut checked = 0;
        for c in keshvar::CountryIterator::new() {
            let code = c.alpha2().to_string();
            for (name, _) in country_name_forms(&c) {
                let bare = without_marks(&fold_name(name));
                if bare == fold_name(name) {
                    continue;
                }
                checked += 1;
                match country(&bare) {
                    Ok((got, _)) if got == code => {}
                    Ok((got, _)) => assert!(
                        code_key(&bare).and_then(|k| codes.get(&k)) == Some(&got)
                            || names.get(&bare).is_some_and(|h| h.contains(&got)),
                        "{name:?} of {code} without accents resolved to {got}, which has no such name"
                    ),
                    Err(NotACountry::Ambiguous(candidates)) => {
                        assert!(candidates.contains(&code), "{name:?}: {candidates:?} leaves out {code}")
                    }
                    Err(NotACountry::Unknown) => panic!("{name:?} of {code} without accents ({bare:?}) is unknown"),
                }
            }
        }
        assert!(checked > 1000, "only {checked} accented names");
    }

    #[test]
    fn hand_aliases_only_add_what_the_dataset_lacks() {
        let names = dataset_names();
        let codes = dataset_codes();
        let loose: Vec<String> = names.keys().map(|n| without_marks(n)).collect();
        for (alias, code) in COUNTRY_ALIASES {
            let folded = fold_name(alias);
            assert_eq!(folded, *alias, "aliases are written folded");
            assert!(code_key(alias).is_none_or(|k| !codes.contains_key(&k)), "{alias:?} is a code");
            assert!(!names.contains_key(&folded), "the dataset has {alias:?}: drop the alias");
            assert!(!loose.contains(&without_marks(&folded)), "the dataset has {alias:?} with accents");
            assert_eq!(country(alias), Ok(((*code).to_owned(), "Baton alias".to_owned())));
        }
    }

    #[test]
    fn an_unknown_or_ambiguous_country_says_why() {
        assert_eq!(country("Atlantis"), Err(NotACountry::Unknown));
        assert_eq!(country("XX"), Err(NotACountry::Unknown));
        assert_eq!(country("..."), Err(NotACountry::Unknown));
        assert_eq!(NotACountry::Unknown.to_string(), "not a country in ISO 3166 or its names");
        // Kinyarwanda's name for Niger is Albanian's for Nigeria.
        let err = country("Nigeri").unwrap_err();
        assert_eq!(err, NotACountry::Ambiguous(vec!["NE".into(), "NG".into()]));
        assert_eq!(err.to_string(), "ambiguous: the name of more than one country: Niger (NE), Nigeria (NG)");
    }

    #[test]
    fn a_code_is_read_as_a_code_before_any_name() {
        assert_eq!(country("AO"), Ok(("AO".into(), "ISO 3166-1 alpha-2 code".into())), "not Vietnamese for Austria");
        assert_eq!(country("Ao").map(|(c, _)| c), Ok("AO".into()));
    }

    #[test]
    fn regions_resolve_to_iso_3166_2() {
        let cases = [
            ("US", "CA", "US-CA"),
            ("US", "california", "US-CA"),
            ("US", "US-NY", "US-NY"),
            ("US", "us - ny", "US-NY"),
            ("DE", "Bayern", "DE-BY"),
            ("DE", "by", "DE-BY"),
            ("DE", "Baden-Wurttemberg", "DE-BW"),
            ("CA", "Ontario", "CA-ON"),
        ];
        for (c, raw, expected) in cases {
            assert_eq!(region(c, raw).map(|r| r.map(|(code, _)| code)), Ok(Some(expected.to_owned())), "{c} {raw:?}");
        }
    }

    #[test]
    fn a_region_is_unrecognized_only_where_the_country_has_subdivisions_to_check_it_against() {
        assert_eq!(region("US", "Narnia"), Err("not a subdivision of US in ISO 3166-2".to_owned()));
        assert_eq!(region("XX", "Narnia"), Ok(None), "no such country: nothing to check against");
        let without = rust_iso3166::ALL.iter().find(|c| c.subdivisions().is_none_or(|s| s.is_empty()));
        if let Some(c) = without {
            assert_eq!(region(c.alpha2, "Anywhere"), Ok(None), "{} has no subdivisions", c.alpha2);
        }
    }

    #[test]
    fn postal_codes_are_tidied_and_junk_is_not_a_postal_code() {
        assert_eq!(postal_code(" sw1a   1aa "), Ok("SW1A 1AA".into()));
        assert_eq!(postal_code("12345 - 6789"), Ok("12345-6789".into()));
        assert_eq!(postal_code("80331"), Ok("80331".into()));
        assert_eq!(postal_code("n/a"), Err("contains `/`, which postal codes do not".into()));
        assert_eq!(postal_code("none"), Err("has no digit, as every postal code does".into()));
        assert!(postal_code("1234567890123").unwrap_err().contains("at most 12"));
    }

    #[test]
    fn numbers_of_employees_are_read_with_their_separators() {
        for (raw, expected) in [
            ("1000", 1000),
            ("1,000", 1000),
            ("1.000", 1000),
            ("1 000", 1000),
            ("1\u{202F}000", 1000),
            ("12,345,678", 12_345_678),
            ("10k", 10_000),
            ("1.5k", 1500),
            ("45 employees", 45),
        ] {
            assert_eq!(employee_count(raw).map(|(h, _)| h), Ok(Headcount::Count(expected)), "{raw:?}");
        }
        for raw in ["many", "about 50", "1,5", "1,00", "12.34.567", "4294967296", "-5", ""] {
            assert!(employee_count(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn company_sizes_in_common_spellings_become_bands() {
        for (raw, expected) in [
            ("51-200", "51-200"),
            ("51 to 200", "51-200"),
            ("51\u{2013}200", "51-200"),
            ("51 - 200 employees", "51-200"),
            ("50-200", "51-200"),
            ("10-50", "11-50"),
            ("1-5", "1-10"),
            ("201-500", "201-1000"),
            ("5001-10,000", "5001+"),
            ("5000+", "5001+"),
            ("10,000+ employees", "5001+"),
            ("over 5000", "5001+"),
            ("under 10", "1-10"),
            ("120", "51-200"),
            ("5001+", "5001+"),
        ] {
            assert_eq!(company_size(raw).map(|(band, _)| band), Ok(expected), "{raw:?}");
        }
    }

    #[test]
    fn a_size_that_spans_bands_or_is_no_size_says_why() {
        assert_eq!(
            company_size("200+"),
            Err("spans several of Baton's size bands (201-1000, 1001-5000, 5001+)".into())
        );
        assert_eq!(
            company_size("1000+ employees"),
            Err("spans several of Baton's size bands (1001-5000, 5001+)".into())
        );
        assert_eq!(company_size("5-25"), Err("spans several of Baton's size bands (1-10, 11-50)".into()));
        assert_eq!(company_size("200-50"), Err("runs from 200 down to 50".into()));
        assert_eq!(company_size("huge"), Err("not a number of employees or a size band".into()));
    }

    #[test]
    fn size_bands_cover_every_count() {
        let cases = [(0, "1-10"), (10, "1-10"), (11, "11-50"), (200, "51-200"), (1000, "201-1000"), (5001, "5001+")];
        for (n, band) in cases {
            assert_eq!(size_band(n), band, "{n}");
        }
        assert_eq!(size_band(u32::MAX), "5001+");
    }

    #[test]
    fn phones_become_e164_using_the_lead_country() {
        let cases = [
            ("(415) 555-2671", Some("US"), "+14155552671"),
            ("415.555.2671", Some("US"), "+14155552671"),
            ("020 7946 0958", Some("GB"), "+442079460958"),
            ("+44 (0)20 7946 0958", None, "+442079460958"),
            ("030 12345678", Some("DE"), "+493012345678"),
            ("+49 30 12345678", Some("FR"), "+493012345678"),
            ("06 12 34 56 78", Some("FR"), "+33612345678"),
            ("03-1234-5678", Some("JP"), "+81312345678"),
            ("+1 415 555 2671 x204", None, "+14155552671"),
        ];
        for (raw, country, expected) in cases {
            assert_eq!(phone(raw, country).map(|p| p.value), Ok(expected.to_owned()), "{raw:?} in {country:?}");
        }
    }

    #[test]
    fn a_national_number_without_a_country_is_kept_as_digits_and_says_why() {
        let p = phone("030 12345678", None).unwrap();
        assert_eq!(p.value, "03012345678");
        assert!(p.rule.contains("no country"));
    }

    #[test]
    fn text_that_cannot_be_a_phone_is_rejected() {
        assert!(phone("call me maybe", Some("US")).unwrap_err().contains("`c`"));
        assert!(phone("12345", Some("US")).unwrap_err().contains("5 digits"));
    }

    #[test]
    fn company_keys_drop_legal_forms_and_punctuation() {
        let cases = [
            ("ACME, Inc.", "acme"),
            ("Acme Incorporated", "acme"),
            ("Müller GmbH & Co. KG", "müller"),
            ("Globex Corporation", "globex"),
            ("Initech Ltd", "initech"),
            ("Umbrella S.A.", "umbrella"),
            ("Hooli", "hooli"),
            ("Co", "co"),
            ("The Company Co", "the company"),
            ("Wayne Enterprises LLC", "wayne enterprises"),
        ];
        for (raw, expected) in cases {
            assert_eq!(company_key(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn job_titles_map_to_seniority_and_department() {
        use Department as D;
        use Seniority as S;
        let cases = [
            ("VP of Sales", Some(S::Vp), Some(D::Sales)),
            ("Chief Technology Officer", Some(S::CLevel), None),
            ("CTO", Some(S::CLevel), Some(D::Engineering)),
            ("Senior Software Engineer", None, Some(D::Engineering)),
            ("Marketing Manager", Some(S::Manager), Some(D::Marketing)),
            ("Head of People", Some(S::Vp), Some(D::HumanResources)),
            ("Director, IT Infrastructure", Some(S::Director), Some(D::It)),
            ("Co-Founder & CEO", Some(S::Owner), Some(D::Executive)),
            ("Werkstudent Vertrieb", Some(S::Student), Some(D::Sales)),
            ("Overhead crane operator", None, None),
        ];
        for (title, seniority, department) in cases {
            let r = job_title(title);
            assert_eq!((r.seniority.map(|s| s.0), r.department.map(|d| d.0)), (seniority, department), "{title:?}");
        }
    }

    #[test]
    fn website_domains_lose_scheme_path_and_www() {
        assert_eq!(website_domain("https://www.Acme.com/pricing?x=1").unwrap(), "acme.com");
        assert_eq!(website_domain("acme.co.uk").unwrap(), "acme.co.uk");
        assert_eq!(website_domain("http://shop.acme.io").unwrap(), "shop.acme.io");
        assert!(website_domain("ftp://acme.com").is_err());
        assert!(website_domain("localhost").is_err());
        assert!(website_domain("not a url").is_err());
    }

    #[test]
    fn free_mail_domains_are_personal() {
        assert!(is_personal_domain("gmail.com"));
        assert!(!is_personal_domain("acme.com"));
    }
}
