//! Accounts: the companies a team already knows, imported from CSV or JSON, matched to leads so
//! a lead arrives with its account, owner, segment and deal context.
//!
//! Matching ([`match_account`]) is pure: a store returns the accounts indexed under the lead's
//! [`lookup_keys`] (one batch read), and the match is chosen here, strongest method first:
//! 1. the exact business domain of the email or the website, or one of the account's listed
//!    subsidiary domains (high confidence);
//! 2. the registrable domain of a subdomain (`shop.acme.com` → `acme.com`, high);
//! 3. the same brand under another public suffix, a country-code domain (`acme.co.uk` → the
//!    `acme.com` account, medium);
//! 4. for a free-mail address only, the company name's matching key (low).
//!
//! When a method finds more than one account, nothing is guessed: the lead gets no account and
//! the candidates are noted ([`AccountMatching`]).

use serde::{Deserialize, Serialize};

use crate::{AccountMatch, FieldError, Owner, normalize};

/// A known company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Account {
    pub account_id: String,
    pub name: String,
    /// The primary domain, normalized (lower-case, no `www.`).
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// An open opportunity exists (routing coordinates with its owner instead of starting over).
    #[serde(default)]
    pub open_deal: bool,
    /// Other domains of the company (subsidiaries, country sites), normalized like `domain`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
}

/// How a lead was matched to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// The lead's business domain is the account's domain.
    Domain,
    /// The lead's business domain is one of the account's listed subsidiary domains.
    SubsidiaryDomain,
    /// The lead's domain is a subdomain of the account's.
    ParentDomain,
    /// The lead's domain is the account's brand under another suffix (`acme.co.uk`, `acme.com`).
    CountryDomain,
    /// A free-mail lead's company name matches the account's name.
    CompanyName,
}

/// How sure a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

impl MatchMethod {
    /// The confidence a match by this method carries.
    pub fn confidence(self) -> Confidence {
        match self {
            Self::Domain | Self::SubsidiaryDomain | Self::ParentDomain => Confidence::High,
            Self::CountryDomain => Confidence::Medium,
            Self::CompanyName => Confidence::Low,
        }
    }
}

/// An account a lead could belong to, noted when a match was ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountCandidate {
    pub account_id: String,
    pub name: String,
    pub domain: String,
}

/// How the lead's account was found, or why none was: recorded on the lead for the rep and the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountMatching {
    /// The method that decided (for an ambiguous result, the method that found the candidates).
    pub method: MatchMethod,
    pub confidence: Confidence,
    /// The lead's value it matched on: a domain or a company name key.
    pub matched_on: String,
    /// More than one account fits equally: none was chosen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous: bool,
    /// The accounts that fit, when ambiguous (at most [`MAX_NOTED_CANDIDATES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<AccountCandidate>,
    /// How many accounts fit, when ambiguous (the candidates may list fewer).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fitting: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The most candidates an ambiguous match notes.
pub const MAX_NOTED_CANDIDATES: usize = 10;

/// The registrable domain of `host` by the public suffix list (`shop.acme.co.uk` → `acme.co.uk`).
pub fn registrable_domain(host: &str) -> Option<String> {
    psl::domain_str(host).map(str::to_owned)
}

/// The brand of a domain: its registrable domain without the public suffix (`acme.co.uk` → `acme`).
pub fn brand(host: &str) -> Option<String> {
    let registrable = psl::domain_str(host)?;
    let suffix = psl::suffix_str(host)?;
    let brand = registrable.strip_suffix(suffix)?.trim_end_matches('.');
    (!brand.is_empty() && !brand.contains('.')).then(|| brand.to_owned())
}

impl Account {
    /// The keys a store indexes this account under: `domain:` for its domain and each listed
    /// domain, `brand:` for each of their brands, `name:` for its company name key.
    pub fn index_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut push = |k: String| {
            if !keys.contains(&k) {
                keys.push(k);
            }
        };
        for d in std::iter::once(&self.domain).chain(&self.domains) {
            push(format!("domain:{d}"));
            if let Some(b) = brand(d) {
                push(format!("brand:{b}"));
            }
        }
        let name = normalize::company_key(&crate::text::clean_name(&self.name));
        if !name.is_empty() {
            push(format!("name:{name}"));
        }
        keys
    }

    fn candidate(&self) -> AccountCandidate {
        AccountCandidate { account_id: self.account_id.clone(), name: self.name.clone(), domain: self.domain.clone() }
    }
}

/// The lead's business domains: its website's, then its email's unless free mail.
fn business_domains(lead: &crate::Lead) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let website = lead.website.as_deref().and_then(|w| normalize::website_domain(w).ok());
    let email = lead.email.as_ref().map(|e| e.domain().to_owned());
    for d in website.into_iter().chain(email) {
        if !normalize::is_personal_domain(&d) && !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// The keys under which a lead's account may be indexed ([`Account::index_keys`]): at most two
/// domains, their registrable domains and brands, and (free mail only) the company name key.
/// A store reads them all in one batch.
pub fn lookup_keys(lead: &crate::Lead) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut push = |k: String| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    let domains = business_domains(lead);
    for d in &domains {
        push(format!("domain:{d}"));
        if let Some(r) = registrable_domain(d) {
            push(format!("domain:{r}"));
        }
        if let Some(b) = brand(d) {
            push(format!("brand:{b}"));
        }
    }
    if domains.is_empty()
        && let Some(name) = lead.enrichment.company_key.as_deref().filter(|k| !k.is_empty())
    {
        push(format!("name:{name}"));
    }
    keys
}

/// Whether an account fits a lead's domain by one method.
type Fits = dyn Fn(&Account, &str) -> bool;

/// The lead's account among `found` (the accounts indexed under its [`lookup_keys`]), and how it
/// was matched; or no account, with the candidates noted when the best method found several.
/// `None` when nothing fits at all.
pub fn match_account(lead: &crate::Lead, found: &[Account]) -> Option<(Option<Account>, AccountMatching)> {
    let mut unique: Vec<&Account> = Vec::new();
    for a in found {
        if !unique.iter().any(|u| u.account_id == a.account_id) {
            unique.push(a);
        }
    }
    let decide = |method: MatchMethod, on: &str, fits: Vec<&Account>| -> Option<(Option<Account>, AccountMatching)> {
        let mut matching = AccountMatching {
            method,
            confidence: method.confidence(),
            matched_on: on.to_owned(),
            ambiguous: false,
            candidates: Vec::new(),
            fitting: 0,
        };
        match fits.as_slice() {
            [] => None,
            [one] => Some((Some((*one).clone()), matching)),
            many => {
                matching.ambiguous = true;
                matching.candidates = many.iter().take(MAX_NOTED_CANDIDATES).map(|a| a.candidate()).collect();
                matching.fitting = many.len();
                Some((None, matching))
            }
        }
    };
    let domains = business_domains(lead);
    let steps: [(MatchMethod, &Fits); 4] = [
        (MatchMethod::Domain, &|a, d| a.domain == d),
        (MatchMethod::SubsidiaryDomain, &|a, d| a.domains.iter().any(|x| x == d)),
        (MatchMethod::ParentDomain, &|a, d| {
            registrable_domain(d).is_some_and(|r| r != d && (a.domain == r || a.domains.contains(&r)))
        }),
        (MatchMethod::CountryDomain, &|a, d| {
            brand(d).is_some_and(|b| {
                std::iter::once(&a.domain).chain(&a.domains).any(|x| brand(x).as_deref() == Some(b.as_str()))
            })
        }),
    ];
    for (method, fits) in steps {
        // The website decides before the email; both are tried before a weaker method.
        let found: Vec<(&String, Vec<&Account>)> =
            domains.iter().map(|d| (d, unique.iter().copied().filter(|a| fits(a, d)).collect())).collect();
        let mut all: Vec<&Account> = Vec::new();
        for (_, accounts) in &found {
            for a in accounts {
                if !all.iter().any(|x| x.account_id == a.account_id) {
                    all.push(a);
                }
            }
        }
        if !all.is_empty() {
            let on = found.iter().find(|(_, a)| !a.is_empty()).map_or("", |(d, _)| d.as_str());
            return decide(method, on, all);
        }
    }
    if domains.is_empty()
        && let Some(name) = lead.enrichment.company_key.as_deref().filter(|k| !k.is_empty())
    {
        let fits: Vec<&Account> = unique
            .iter()
            .copied()
            .filter(|a| normalize::company_key(&crate::text::clean_name(&a.name)) == name)
            .collect();
        return decide(MatchMethod::CompanyName, name, fits);
    }
    None
}

impl Account {
    /// What a matched lead carries: the account itself.
    pub fn as_match(&self) -> AccountMatch {
        self.clone()
    }
}

/// One row of an account import, as CSV columns or JSON fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    account_id: String,
    name: String,
    domain: String,
    #[serde(default)]
    owner_id: Option<String>,
    #[serde(default)]
    owner_name: Option<String>,
    #[serde(default)]
    segment: Option<String>,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    open_deal: Option<String>,
    /// Other domains, separated by spaces, commas or semicolons.
    #[serde(default)]
    domains: Option<String>,
}

fn blank(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn account(row: Row, at: &str, errors: &mut Vec<FieldError>) -> Option<Account> {
    let mut ok = true;
    let mut fail = |field: &str, message: String| {
        errors.push(FieldError { field: format!("{at}.{field}"), message });
        ok = false;
    };
    let domain = match normalize::website_domain(&row.domain) {
        Ok(d) => d,
        Err(e) => {
            fail("domain", e);
            String::new()
        }
    };
    if row.account_id.trim().is_empty() {
        fail("account_id", "is empty".into());
    }
    let open_deal = match row.open_deal.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(v) if v.is_empty() || v == "false" || v == "no" || v == "0" => false,
        Some(v) if v == "true" || v == "yes" || v == "1" => true,
        Some(v) => {
            fail("open_deal", format!("`{v}` is not true or false"));
            false
        }
    };
    let owner = match (blank(row.owner_id), blank(row.owner_name)) {
        (Some(id), name) => Some(Owner::new(id.clone(), name.unwrap_or(id))),
        (None, Some(_)) => {
            fail("owner_id", "is required when owner_name is given".into());
            None
        }
        (None, None) => None,
    };
    let mut domains = Vec::new();
    for raw in row.domains.as_deref().unwrap_or_default().split([' ', ',', ';']).filter(|d| !d.trim().is_empty()) {
        match normalize::website_domain(raw) {
            Ok(d) if d != domain && !domains.contains(&d) => domains.push(d),
            Ok(_) => {}
            Err(e) => fail("domains", format!("`{raw}` {e}")),
        }
    }
    ok.then(|| Account {
        account_id: row.account_id.trim().to_owned(),
        name: row.name.trim().to_owned(),
        domain,
        owner,
        segment: blank(row.segment),
        tier: blank(row.tier),
        open_deal,
        domains,
    })
}

/// Parses a CSV import with a header row: `account_id,name,domain` and optionally `owner_id`,
/// `owner_name`, `segment`, `tier`, `open_deal`, `domains` (other domains of the company). Every problem is reported as `row N.column`.
pub fn parse_csv(text: &str) -> Result<Vec<Account>, Vec<FieldError>> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.deserialize::<Row>().enumerate() {
        let at = format!("row {}", i + 2);
        match record {
            Ok(row) => out.extend(account(row, &at, &mut errors)),
            Err(e) => errors.push(FieldError { field: at, message: e.to_string() }),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// Parses a JSON import: a list of objects with the CSV's column names (`open_deal` may be a boolean).
pub fn parse_json(text: &str) -> Result<Vec<Account>, Vec<FieldError>> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| vec![FieldError { field: "body".into(), message: format!("not a JSON list of accounts: {e}") }])?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, mut value) in values.into_iter().enumerate() {
        let at = format!("[{i}]");
        if let Some(deal) = value.get("open_deal").and_then(serde_json::Value::as_bool) {
            value["open_deal"] = serde_json::Value::String(deal.to_string());
        }
        match serde_json::from_value::<Row>(value) {
            Ok(row) => out.extend(account(row, &at, &mut errors)),
            Err(e) => errors.push(FieldError { field: at, message: e.to_string() }),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_import_normalizes_domains_and_reads_owners() {
        let accounts = parse_csv(
            "account_id,name,domain,owner_id,owner_name,segment,tier,open_deal\n\
             acc-1, Analytical Engines ,https://www.Analytical.example/,rep-jonas,Jonas Weber,enterprise,1,true\n\
             acc-2,Difference Co,difference.example,,,smb,,\n",
        )
        .unwrap();
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[0].domain, "analytical.example");
        assert_eq!(accounts[0].name, "Analytical Engines");
        assert_eq!(accounts[0].owner.as_ref().map(|o| o.name.as_str()), Some("Jonas Weber"));
        assert!(accounts[0].open_deal);
        assert_eq!((accounts[1].owner.as_ref(), accounts[1].open_deal), (None, false));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_row_and_column() {
        let errors = parse_csv(
            "account_id,name,domain,open_deal\n\
             acc-1,One,not a domain,true\n\
             acc-2,Two,two.example,maybe\n\
             acc-3,Three\n",
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["row 2.domain", "row 3.open_deal", "row 4"]);
    }

    fn acct(id: &str, name: &str, domain: &str, domains: &[&str]) -> Account {
        Account {
            account_id: id.into(),
            name: name.into(),
            domain: domain.into(),
            owner: None,
            segment: None,
            tier: None,
            open_deal: false,
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    fn lead(json: &str) -> crate::Lead {
        crate::LeadSubmission::from_json(json.as_bytes())
            .unwrap()
            .into_lead(crate::LeadId::generate(), chrono::Utc::now())
            .unwrap()
    }

    /// What a store would return: every account indexed under one of the lead's lookup keys.
    fn found(lead: &crate::Lead, accounts: &[Account]) -> Vec<Account> {
        let keys = lookup_keys(lead);
        accounts.iter().filter(|a| a.index_keys().iter().any(|k| keys.contains(k))).cloned().collect()
    }

    fn matched(json: &str, accounts: &[Account]) -> Option<(Option<String>, MatchMethod, Confidence, Vec<String>)> {
        let l = lead(json);
        match_account(&l, &found(&l, accounts)).map(|(a, m)| {
            (a.map(|a| a.account_id), m.method, m.confidence, m.candidates.into_iter().map(|c| c.account_id).collect())
        })
    }

    #[test]
    fn accounts_match_by_exact_subsidiary_parent_and_country_domains() {
        let accounts = [
            acct("acme", "Acme Corporation", "acme.com", &["acme-labs.io"]),
            acct("globex", "Globex", "globex.com", &[]),
        ];
        let cases = [
            (r#"{"email":"a@acme.com"}"#, Some(("acme", MatchMethod::Domain, Confidence::High))),
            (r#"{"email":"a@acme-labs.io"}"#, Some(("acme", MatchMethod::SubsidiaryDomain, Confidence::High))),
            (r#"{"email":"a@eu.acme.com"}"#, Some(("acme", MatchMethod::ParentDomain, Confidence::High))),
            (r#"{"email":"a@acme.co.uk"}"#, Some(("acme", MatchMethod::CountryDomain, Confidence::Medium))),
            (
                r#"{"email":"a@gmail.com","website":"https://www.acme.de/kontakt"}"#,
                Some(("acme", MatchMethod::CountryDomain, Confidence::Medium)),
            ),
            (
                r#"{"email":"a@gmail.com","company":"ACME Corp."}"#,
                Some(("acme", MatchMethod::CompanyName, Confidence::Low)),
            ),
            (r#"{"email":"a@initech.com","company":"Acme"}"#, None),
            (r#"{"email":"a@gmail.com"}"#, None),
        ];
        for (json, expected) in cases {
            let got = matched(json, &accounts);
            assert_eq!(got.as_ref().map(|(a, m, c, _)| (a.as_deref().unwrap_or("-"), *m, *c)), expected, "{json}");
        }
    }

    #[test]
    fn the_website_and_the_email_are_both_tried_before_a_weaker_method() {
        let accounts = [acct("acme", "Acme", "acme.com", &[]), acct("globex", "Globex", "globex.co.uk", &[])];
        let got = matched(r#"{"email":"a@acme.com","website":"globex.com"}"#, &accounts).unwrap();
        assert_eq!(
            (got.0.as_deref(), got.1),
            (Some("acme"), MatchMethod::Domain),
            "an exact email domain beats a country domain"
        );
    }

    #[test]
    fn an_ambiguous_match_is_not_guessed_and_names_the_candidates() {
        let accounts = [acct("acme-us", "Acme Inc", "acme.com", &[]), acct("acme-de", "Acme GmbH", "acme.de", &[])];
        let (account, method, _, mut candidates) = matched(r#"{"email":"a@acme.co.uk"}"#, &accounts).unwrap();
        candidates.sort();
        assert_eq!(
            (account, method, candidates),
            (None, MatchMethod::CountryDomain, vec!["acme-de".into(), "acme-us".into()])
        );
        let (account, method, _, candidates) =
            matched(r#"{"email":"a@gmail.com","company":"Acme"}"#, &accounts).unwrap();
        assert_eq!((account, method, candidates.len()), (None, MatchMethod::CompanyName, 2));
        // The exact domain is not ambiguous even though the brand is shared.
        assert_eq!(matched(r#"{"email":"a@acme.de"}"#, &accounts).unwrap().0.as_deref(), Some("acme-de"));
    }

    #[test]
    fn lookups_are_bounded_and_brands_follow_the_public_suffix_list() {
        assert_eq!(brand("shop.acme.co.uk").as_deref(), Some("acme"));
        assert_eq!(registrable_domain("shop.acme.co.uk").as_deref(), Some("acme.co.uk"));
        assert_eq!(brand("acme.com").as_deref(), Some("acme"));
        let l = lead(r#"{"email":"a@shop.acme.co.uk","website":"https://www.acme-group.com"}"#);
        let keys = lookup_keys(&l);
        assert_eq!(
            keys,
            ["domain:acme-group.com", "brand:acme-group", "domain:shop.acme.co.uk", "domain:acme.co.uk", "brand:acme"]
        );
        assert!(lookup_keys(&lead(r#"{"email":"a@gmail.com","company":"Acme"}"#)) == ["name:acme"]);
    }

    #[test]
    fn an_import_reads_subsidiary_domains() {
        let accounts =
            parse_csv("account_id,name,domain,domains\nacc-1,Acme,acme.com,\"acme.de; https://acme-labs.io\"\n")
                .unwrap();
        assert_eq!(accounts[0].domains, ["acme.de", "acme-labs.io"]);
        let errors = parse_csv("account_id,name,domain,domains\nacc-1,Acme,acme.com,ftp://x\n").unwrap_err();
        assert_eq!(errors[0].field, "row 2.domains");
    }

    #[test]
    fn a_json_import_takes_booleans() {
        let accounts = parse_json(r#"[{"account_id":"a","name":"A","domain":"a.example","open_deal":true}]"#).unwrap();
        assert!(accounts[0].open_deal);
        assert!(parse_json(r#"[{"account_id":"a","name":"A","domain":"a.example","colour":"red"}]"#).is_err());
    }
}
