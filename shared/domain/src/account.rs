//! Accounts: the companies a team already knows, imported from CSV or JSON, matched to leads by
//! domain so a lead arrives with its account, owner, segment and deal context.

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
    ok.then(|| Account {
        account_id: row.account_id.trim().to_owned(),
        name: row.name.trim().to_owned(),
        domain,
        owner,
        segment: blank(row.segment),
        tier: blank(row.tier),
        open_deal,
    })
}

/// Parses a CSV import with a header row: `account_id,name,domain` and optionally `owner_id`,
/// `owner_name`, `segment`, `tier`, `open_deal`. Every problem is reported as `row N.column`.
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

    #[test]
    fn a_json_import_takes_booleans() {
        let accounts = parse_json(r#"[{"account_id":"a","name":"A","domain":"a.example","open_deal":true}]"#).unwrap();
        assert!(accounts[0].open_deal);
        assert!(parse_json(r#"[{"account_id":"a","name":"A","domain":"a.example","colour":"red"}]"#).is_err());
    }
}
