//! Normalization and enrichment of submitted values, each step recorded so a person can see
//! what was changed from what, and why.
//!
//! - countries: ISO 3166-1 alpha-2 from codes, ISO names and common aliases (`rust_iso3166` data
//!   plus the alias table here);
//! - regions: ISO 3166-2 codes from codes or names, where the country has subdivisions;
//! - phones: E.164 by libphonenumber's rules (`phonenumber`), using the lead's country;
//! - companies: a matching key without legal suffixes or punctuation;
//! - job titles: seniority and department by transparent keyword rules;
//! - domains: from the website or the email, with free-mail domains marked personal.

use serde::{Deserialize, Serialize};

/// One change made to a submitted value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Normalization {
    /// The field, such as `country`.
    pub field: String,
    /// The value as submitted.
    pub from: String,
    /// The value as stored (or derived).
    pub to: String,
    /// The rule that made the change, for a person.
    pub rule: String,
}

impl Normalization {
    pub fn new(field: &str, from: &str, to: &str, rule: impl Into<String>) -> Self {
        Self { field: field.into(), from: from.into(), to: to.into(), rule: rule.into() }
    }
}

/// Names people write for countries that are neither codes nor ISO names: endonyms, short forms
/// and historical names. Compared case-insensitively after trimming and removing dots.
const COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("usa", "US"),
    ("u s a", "US"),
    ("united states", "US"),
    ("america", "US"),
    ("us of a", "US"),
    ("uk", "GB"),
    ("united kingdom", "GB"),
    ("great britain", "GB"),
    ("britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("northern ireland", "GB"),
    ("deutschland", "DE"),
    ("allemagne", "DE"),
    ("alemania", "DE"),
    ("germania", "DE"),
    ("österreich", "AT"),
    ("osterreich", "AT"),
    ("oesterreich", "AT"),
    ("schweiz", "CH"),
    ("suisse", "CH"),
    ("svizzera", "CH"),
    ("switzerland", "CH"),
    ("france", "FR"),
    ("españa", "ES"),
    ("espana", "ES"),
    ("italia", "IT"),
    ("nederland", "NL"),
    ("holland", "NL"),
    ("the netherlands", "NL"),
    ("netherlands", "NL"),
    ("belgië", "BE"),
    ("belgie", "BE"),
    ("belgique", "BE"),
    ("sverige", "SE"),
    ("danmark", "DK"),
    ("norge", "NO"),
    ("suomi", "FI"),
    ("polska", "PL"),
    ("česko", "CZ"),
    ("czechia", "CZ"),
    ("czech republic", "CZ"),
    ("éire", "IE"),
    ("eire", "IE"),
    ("brasil", "BR"),
    ("méxico", "MX"),
    ("mexico", "MX"),
    ("russia", "RU"),
    ("россия", "RU"),
    ("south korea", "KR"),
    ("korea", "KR"),
    ("north korea", "KP"),
    ("nippon", "JP"),
    ("nihon", "JP"),
    ("日本", "JP"),
    ("中国", "CN"),
    ("china", "CN"),
    ("prc", "CN"),
    ("taiwan", "TW"),
    ("vietnam", "VN"),
    ("viet nam", "VN"),
    ("iran", "IR"),
    ("syria", "SY"),
    ("uae", "AE"),
    ("emirates", "AE"),
    ("türkiye", "TR"),
    ("turkey", "TR"),
    ("turkiye", "TR"),
    ("bolivia", "BO"),
    ("venezuela", "VE"),
    ("tanzania", "TZ"),
    ("moldova", "MD"),
    ("laos", "LA"),
    ("ivory coast", "CI"),
    ("côte d'ivoire", "CI"),
    ("cote d'ivoire", "CI"),
    ("hong kong", "HK"),
];

fn fold(raw: &str) -> String {
    raw.trim().to_lowercase().replace('.', " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Resolves a country written as an alpha-2 or alpha-3 code, an ISO name or a common alias to
/// its ISO 3166-1 alpha-2 code. Returns the code and the rule that matched.
pub fn country(raw: &str) -> Result<(String, &'static str), String> {
    let folded = fold(raw);
    let upper = folded.to_uppercase();
    if let Some((_, code)) = COUNTRY_ALIASES.iter().find(|(alias, _)| *alias == folded) {
        return Ok(((*code).to_owned(), "common name"));
    }
    if upper.len() == 2
        && let Some(c) = rust_iso3166::from_alpha2(&upper)
    {
        return Ok((c.alpha2.to_owned(), "ISO 3166-1 alpha-2 code"));
    }
    if upper.len() == 3
        && let Some(c) = rust_iso3166::from_alpha3(&upper)
    {
        return Ok((c.alpha2.to_owned(), "ISO 3166-1 alpha-3 code"));
    }
    if let Some(c) = rust_iso3166::ALL.iter().find(|c| fold(c.name) == folded) {
        return Ok((c.alpha2.to_owned(), "ISO 3166-1 name"));
    }
    Err(format!("`{}` is not a country Baton recognizes; use an ISO 3166-1 code such as `DE` or `US`", raw.trim()))
}

/// Resolves a region (state, province, Land) of `country` to its ISO 3166-2 code, from the code
/// with or without the country prefix, or from its name. `None` when the country has no such
/// subdivision (the submitted value is then kept as is).
pub fn region(country: &str, raw: &str) -> Option<(String, &'static str)> {
    let c = rust_iso3166::from_alpha2(country)?;
    let subdivisions = c.subdivisions()?;
    let folded = fold(raw);
    let upper = folded.to_uppercase().replace(' ', "");
    let with_prefix =
        if upper.starts_with(&format!("{country}-")) { upper.clone() } else { format!("{country}-{upper}") };
    if let Some(s) = subdivisions.iter().find(|s| s.code == with_prefix) {
        return Some((s.code.to_owned(), "ISO 3166-2 code"));
    }
    subdivisions.iter().find(|s| fold(s.name) == folded).map(|s| (s.code.to_owned(), "ISO 3166-2 name"))
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
            ("USA", "US"),
            ("U.S.A.", "US"),
            ("United States", "US"),
            ("United States of America", "US"),
            ("us", "US"),
            ("UK", "GB"),
            ("United Kingdom", "GB"),
            ("Great Britain", "GB"),
            ("GBR", "GB"),
            ("England", "GB"),
            ("Österreich", "AT"),
            ("Schweiz", "CH"),
            ("España", "ES"),
            ("Nederland", "NL"),
            ("France", "FR"),
            ("Brasil", "BR"),
            ("日本", "JP"),
            ("Japan", "JP"),
            ("JPN", "JP"),
            ("Sverige", "SE"),
            ("Polska", "PL"),
        ];
        for (raw, expected) in cases {
            assert_eq!(country(raw).map(|(c, _)| c), Ok(expected.to_owned()), "{raw:?}");
        }
    }

    #[test]
    fn an_unknown_country_says_what_to_send() {
        let err = country("Atlantis").unwrap_err();
        assert!(err.contains("`Atlantis`") && err.contains("ISO 3166-1"), "{err}");
        assert!(country("XX").is_err());
    }

    #[test]
    fn regions_resolve_to_iso_3166_2() {
        let cases = [
            ("US", "CA", Some("US-CA")),
            ("US", "california", Some("US-CA")),
            ("US", "US-NY", Some("US-NY")),
            ("DE", "Bayern", Some("DE-BY")),
            ("DE", "by", Some("DE-BY")),
            ("CA", "Ontario", Some("CA-ON")),
            ("US", "Narnia", None),
        ];
        for (c, raw, expected) in cases {
            assert_eq!(region(c, raw).map(|(r, _)| r).as_deref(), expected, "{c} {raw:?}");
        }
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
