//! [`ChatNotifier`] sending email through Amazon SES v2: an optional channel for people who are
//! not on Slack.
//!
//! It takes the same message the Slack notifier does (a `chat.postMessage`-style payload:
//! `{"channel", "text", "blocks"}`) with the recipient's email address as `channel`, and sends one
//! email: the subject is the `text` preview line, the body the text of every block in order,
//! converted from Slack's mrkdwn to plain text (and, as an alternative part, to simple HTML).
//! Buttons (`actions` blocks) mean nothing in an email and are left out.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use serde_json::Value;

use crate::Error;
use crate::ports::ChatNotifier;

const SERVICE: &str = "SES";

/// The longest subject sent, in characters.
pub const SUBJECT_MAX: usize = 200;

/// Sends each message as one email from a fixed, SES-verified sender.
#[derive(Debug, Clone)]
pub struct SesNotifier {
    client: Client,
    from: String,
}

impl SesNotifier {
    /// A notifier sending from `from`, an address (or `Name <address>`) SES has verified.
    pub fn new(client: Client, from: String) -> Self {
        Self { client, from }
    }
}

#[async_trait]
impl ChatNotifier for SesNotifier {
    async fn post(&self, message: &Value) -> Result<(), Error> {
        let email = render(message)?;
        let content = |data: String| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| Error::Rejected { service: SERVICE, detail: e.to_string() })
        };
        let body = Body::builder().text(content(email.text)?).html(content(email.html)?).build();
        let simple = Message::builder().subject(content(email.subject)?).body(body).build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(email.to).build())
            .content(EmailContent::builder().simple(simple).build())
            .send()
            .await
            .map_err(send_error)?;
        Ok(())
    }
}

/// Throttling, sending quotas, server errors and network failures may pass on a retry; everything
/// else (a rejected message, an unverified sender, a bad request, a paused account) needs a change
/// first. SES does not say when to retry, so throttling is [`Error::Unavailable`], not
/// [`Error::Throttled`].
fn send_error(err: SdkError<SendEmailError, HttpResponse>) -> Error {
    let (retryable, detail) = match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let status = service.raw().status().as_u16();
            let retryable = e.is_too_many_requests_exception()
                || e.is_limit_exceeded_exception()
                || e.code().is_some_and(|code| code.contains("Throttl"))
                || status == 429
                || status >= 500;
            let detail = format!(
                "{} (HTTP {status}): {}",
                e.code().unwrap_or("unknown error"),
                e.message().unwrap_or("no message")
            );
            (retryable, detail)
        }
        // The request could not be built: it will not build next time either.
        SdkError::ConstructionFailure(_) => (false, DisplayErrorContext(&err).to_string()),
        // Timeouts, connection failures, unreadable responses.
        _ => (true, DisplayErrorContext(&err).to_string()),
    };
    if retryable {
        Error::Unavailable { service: SERVICE, detail }
    } else {
        Error::Rejected { service: SERVICE, detail }
    }
}

/// One email, rendered from a Slack-style message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// The recipient (the message's `channel`).
    pub to: String,
    /// The first line of the message's `text`, at most [`SUBJECT_MAX`] characters.
    pub subject: String,
    /// The blocks' text as plain text, a blank line between paragraphs.
    pub text: String,
    /// The same content as an HTML document, a `<p>` per paragraph.
    pub html: String,
}

/// Renders a `chat.postMessage`-style message as an email; [`Error::Rejected`] when its
/// `channel` is not an email address.
pub fn render(message: &Value) -> Result<RenderedEmail, Error> {
    let to = recipient(message)?;
    let preview = message.get("text").and_then(Value::as_str).map(plain_text).unwrap_or_default();
    let mut paragraphs: Vec<String> = message
        .get("blocks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(block_paragraphs)
        .filter(|p| !p.trim().is_empty())
        .collect();
    if paragraphs.is_empty() && !preview.trim().is_empty() {
        paragraphs.push(preview.trim().to_owned());
    }
    let subject = first_line(&preview)
        .or_else(|| paragraphs.first().and_then(|p| first_line(p)))
        .map(|line| truncate(line, SUBJECT_MAX))
        .unwrap_or_else(|| "Baton notification".to_owned());
    let text = paragraphs.join("\n\n");
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{}\n</body></html>\n",
        paragraphs
            .iter()
            .map(|p| format!("<p>{}</p>", escape_html(p).replace('\n', "<br>\n")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(RenderedEmail { to, subject, text, html })
}

fn recipient(message: &Value) -> Result<String, Error> {
    let Some(channel) = message.get("channel").and_then(Value::as_str) else {
        return Err(Error::Rejected {
            service: SERVICE,
            detail: "the message has no `channel`: an email notification needs the recipient's address there"
                .to_owned(),
        });
    };
    let channel = channel.trim();
    if looks_like_email(channel) {
        Ok(channel.to_owned())
    } else {
        Err(Error::Rejected {
            service: SERVICE,
            detail: format!(
                "the message's `channel` ({:?}) is not an email address: an email notification needs the recipient's address there",
                truncate(channel, 100)
            ),
        })
    }
}

/// One `local@domain.tld` address: nothing that would make SES read it as a list, a display name
/// or a header.
fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let labels_ok = domain.split('.').count() >= 2 && domain.split('.').all(|label| !label.is_empty());
    s.len() <= 254
        && !local.is_empty()
        && labels_ok
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c))
}

fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The paragraphs a block shows: a header's or section's text, then a section's fields, each its
/// own paragraph; a context block's elements on one line. Other blocks (actions, dividers,
/// images) show nothing in an email.
fn block_paragraphs(block: &Value) -> Vec<String> {
    let texts = |key: &str| -> Vec<&Value> { block.get(key).and_then(Value::as_array).into_iter().flatten().collect() };
    match block.get("type").and_then(Value::as_str) {
        Some("header") => block.get("text").and_then(text_object).into_iter().collect(),
        Some("section") => block
            .get("text")
            .and_then(text_object)
            .into_iter()
            .chain(texts("fields").into_iter().filter_map(text_object))
            .collect(),
        Some("context") => {
            let line = texts("elements").into_iter().filter_map(text_object).collect::<Vec<_>>().join(" ");
            vec![line]
        }
        _ => Vec::new(),
    }
}

/// The text of a Block Kit text object as plain text: `mrkdwn` is converted, `plain_text` taken
/// as it is (Slack does not interpret it either).
fn text_object(object: &Value) -> Option<String> {
    let text = object.get("text").and_then(Value::as_str)?;
    match object.get("type").and_then(Value::as_str) {
        Some("plain_text") => Some(text.to_owned()),
        _ => Some(plain_text(text)),
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A piece of a mrkdwn line: a character, or the rendering of a `<…>` token, which emphasis
/// markers around it do not look into.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Char(char),
    Token(String),
}

impl std::fmt::Display for Piece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Char(c) => write!(f, "{c}"),
            Self::Token(text) => f.write_str(text),
        }
    }
}

impl Piece {
    fn is_space(&self) -> bool {
        matches!(self, Self::Char(c) if c.is_whitespace())
    }

    fn is_word(&self) -> bool {
        matches!(self, Self::Char(c) if c.is_alphanumeric())
    }
}

const EMPHASIS: [char; 4] = ['*', '_', '~', '`'];

/// Slack mrkdwn as plain text: emphasis markers (`*bold*`, `_italic_`, `~strike~`, `` `code` ``,
/// ```` ``` ````) dropped, `<url|label>` as `label (url)`, `<!date^…|fallback>` as its fallback,
/// `<@U123>` as `@U123`, and `&lt;` `&gt;` `&amp;` unescaped.
pub fn plain_text(mrkdwn: &str) -> String {
    let pieces = tokenize(mrkdwn);
    let drop = emphasis_markers(&pieces);
    let mut out = String::with_capacity(mrkdwn.len());
    for (piece, dropped) in pieces.iter().zip(drop) {
        match piece {
            _ if dropped => {}
            Piece::Char(c) => out.push(*c),
            Piece::Token(text) => out.push_str(text),
        }
    }
    unescape(&out)
}

fn tokenize(mrkdwn: &str) -> Vec<Piece> {
    let mut pieces = Vec::with_capacity(mrkdwn.len());
    let mut rest = mrkdwn;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("```") {
            rest = after;
            continue;
        }
        if c == '<'
            && let Some(end) = rest.find('>')
            && !rest[1..end].contains('\n')
        {
            pieces.push(Piece::Token(token(&rest[1..end])));
            rest = &rest[end + 1..];
            continue;
        }
        pieces.push(Piece::Char(c));
        rest = &rest[c.len_utf8()..];
    }
    pieces
}

/// Which pieces are emphasis markers to drop: an opening marker follows the start, a space or
/// punctuation and precedes a non-space; its closing twin on the same line follows a non-space
/// and precedes the end, a space or punctuation (Slack's rules, which keep `snake_case` and `2*3*4`).
fn emphasis_markers(pieces: &[Piece]) -> Vec<bool> {
    let mut drop = vec![false; pieces.len()];
    let opens =
        |i: usize| pieces.get(i + 1).is_some_and(|next| !next.is_space()) && (i == 0 || !pieces[i - 1].is_word());
    let closes = |j: usize| !pieces[j - 1].is_space() && pieces.get(j + 1).is_none_or(|next| !next.is_word());
    for i in 0..pieces.len() {
        let Piece::Char(marker) = pieces[i] else { continue };
        if drop[i] || !EMPHASIS.contains(&marker) || !opens(i) {
            continue;
        }
        let closer = (i + 2..pieces.len())
            .take_while(|&j| pieces[j] != Piece::Char('\n'))
            .find(|&j| !drop[j] && pieces[j] == Piece::Char(marker) && closes(j));
        if let Some(j) = closer {
            drop[i] = true;
            drop[j] = true;
        }
    }
    drop
}

/// A `<…>` token's text: a link's label and URL, a mention's name, a date's fallback.
fn token(content: &str) -> String {
    let (target, label) = match content.split_once('|') {
        Some((target, label)) if !label.is_empty() => (target, Some(label)),
        Some((target, _)) => (target, None),
        None => (content, None),
    };
    if let Some(date) = target.strip_prefix("!date^") {
        return label.map(str::to_owned).unwrap_or_else(|| date_fallback(date));
    }
    if let Some(special) = target.strip_prefix('!') {
        // <!here>, <!channel>, <!everyone>, <!subteam^S123|@team>
        return label.map(str::to_owned).unwrap_or_else(|| match special.split_once('^') {
            Some((_, id)) => format!("@{id}"),
            None => format!("@{special}"),
        });
    }
    if let Some(user) = target.strip_prefix('@') {
        return format!("@{}", label.map(|l| l.trim_start_matches('@')).unwrap_or(user));
    }
    if let Some(channel) = target.strip_prefix('#') {
        return format!("#{}", label.map(|l| l.trim_start_matches('#')).unwrap_or(channel));
    }
    let shown = target.strip_prefix("mailto:").unwrap_or(target);
    let label = label.map(|label| {
        let pieces: Vec<Piece> = label.chars().map(Piece::Char).collect();
        let drop = emphasis_markers(&pieces);
        pieces.iter().zip(drop).filter(|(_, dropped)| !dropped).map(|(piece, _)| piece.to_string()).collect::<String>()
    });
    let label = label.as_deref();
    match label {
        Some(label) if label != target && label != shown => format!("{label} ({shown})"),
        _ => shown.to_owned(),
    }
}

/// A `<!date^…>` without a fallback: its Unix time in UTC.
fn date_fallback(date: &str) -> String {
    date.split('^')
        .next()
        .and_then(|seconds| seconds.parse::<i64>().ok())
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Undoes Slack's escaping of `&`, `<` and `>`, in one pass (so `&amp;lt;` becomes `&lt;`).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (replacement, len) = if rest.starts_with("&lt;") {
            ('<', 4)
        } else if rest.starts_with("&gt;") {
            ('>', 4)
        } else if rest.starts_with("&amp;") {
            ('&', 5)
        } else {
            ('&', 1)
        };
        out.push(replacement);
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bold_italic_strike_and_code_markers_are_dropped() {
        assert_eq!(plain_text("*First action:* Call _now_ ~maybe~ `L-1`"), "First action: Call now maybe L-1");
        assert_eq!(plain_text("```\nlet x = 1;\n```"), "\nlet x = 1;\n");
    }

    #[test]
    fn markers_inside_words_and_lone_markers_stay() {
        assert_eq!(plain_text("utm_source_x 2*3*4 5 * 6 a_b"), "utm_source_x 2*3*4 5 * 6 a_b");
        assert_eq!(plain_text("*not closed\non this line*"), "*not closed\non this line*");
    }

    #[test]
    fn nested_emphasis_is_dropped() {
        assert_eq!(plain_text("_*both*_ and *bold, _italic_*"), "both and bold, italic");
    }

    #[test]
    fn links_show_their_label_and_url() {
        assert_eq!(
            plain_text("See <https://example.com/a_b_c?x=1&amp;y=2|the *lead*> or <https://example.com>"),
            "See the lead (https://example.com/a_b_c?x=1&y=2) or https://example.com"
        );
        assert_eq!(plain_text("*<https://example.com|bold link>*"), "bold link (https://example.com)");
        assert_eq!(plain_text("<mailto:ada@example.com|ada@example.com>"), "ada@example.com");
    }

    #[test]
    fn dates_show_their_fallback() {
        assert_eq!(
            plain_text("due <!date^1795511700^{date_short_pretty} at {time}|2026-11-24 09:15 UTC>"),
            "due 2026-11-24 09:15 UTC"
        );
        assert_eq!(plain_text("<!date^1795511700^{date}>"), "2026-11-24 09:15 UTC");
    }

    #[test]
    fn mentions_show_as_at_names() {
        assert_eq!(
            plain_text("<@U123> <@U456|ada> <#C9|sales> <!here> <!subteam^S1|@reps>"),
            "@U123 @ada #sales @here @reps"
        );
    }

    #[test]
    fn entities_are_unescaped_once() {
        assert_eq!(plain_text("A &amp; B &lt;x&gt; &amp;lt; & done"), "A & B <x> &lt; & done");
        assert_eq!(plain_text("a < b"), "a < b");
    }

    fn assigned() -> Value {
        json!({
            "channel": "ada.owner@example.com",
            "text": "🔥 Hot lead for Ada Owner: Ada Lovelace — Call by 2026-11-24 09:15 UTC\nsecond line",
            "blocks": [
                { "type": "header", "text": { "type": "plain_text", "text": "🔥 Hot lead: Ada *Lovelace*" } },
                { "type": "section", "text": { "type": "mrkdwn", "text": "Assigned to *Ada Owner*" },
                  "fields": [ { "type": "mrkdwn", "text": "*Company*\nAnalytical &amp; Co" } ] },
                { "type": "section", "text": { "type": "mrkdwn",
                  "text": "*First action:* Call Ada Lovelace — due <!date^1795511700^{date_short_pretty} at {time}|2026-11-24 09:15 UTC>" } },
                { "type": "actions", "elements": [ { "type": "button", "text": { "type": "plain_text", "text": "Mark touched" } } ] },
                { "type": "divider" },
                { "type": "context", "elements": [ { "type": "mrkdwn", "text": "Lead `L1` · rule `default`" }, { "type": "image", "image_url": "https://x/y.png", "alt_text": "logo" } ] },
            ],
        })
    }

    #[test]
    fn a_message_renders_as_subject_text_and_html() {
        let email = render(&assigned()).unwrap();
        assert_eq!(email.to, "ada.owner@example.com");
        assert_eq!(email.subject, "🔥 Hot lead for Ada Owner: Ada Lovelace — Call by 2026-11-24 09:15 UTC");
        assert_eq!(
            email.text,
            "🔥 Hot lead: Ada *Lovelace*\n\nAssigned to Ada Owner\n\nCompany\nAnalytical & Co\n\n\
             First action: Call Ada Lovelace — due 2026-11-24 09:15 UTC\n\nLead L1 · rule default"
        );
        assert!(!email.text.contains("Mark touched"), "actions are skipped");
        assert!(email.html.contains("<p>Company<br>\nAnalytical &amp; Co</p>"), "{}", email.html);
        assert!(email.html.contains("<p>First action: Call Ada Lovelace — due 2026-11-24 09:15 UTC</p>"));
        assert_eq!(email.html.matches("<p>").count(), 5);
    }

    #[test]
    fn html_escapes_the_content() {
        let email = render(&json!({ "channel": "a@example.com", "text": "x", "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": "&lt;script&gt; \"q\" & 'a'" } } ] }))
        .unwrap();
        assert!(email.html.contains("<p>&lt;script&gt; &quot;q&quot; &amp; &#39;a&#39;</p>"), "{}", email.html);
    }

    #[test]
    fn a_long_subject_is_cut_and_a_missing_one_comes_from_the_body() {
        let email = render(&json!({ "channel": "a@example.com", "text": "é".repeat(300) })).unwrap();
        assert_eq!(email.subject.chars().count(), SUBJECT_MAX);
        assert_eq!(email.text, "é".repeat(300), "without blocks the text is the body");
        let email = render(&json!({ "channel": "a@example.com", "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": "\n*SLA breach:* Ada\nmore" } } ] }))
        .unwrap();
        assert_eq!(email.subject, "SLA breach: Ada");
        let email = render(&json!({ "channel": "a@example.com" })).unwrap();
        assert_eq!(email.subject, "Baton notification");
    }

    #[test]
    fn a_channel_that_is_not_an_email_address_is_rejected() {
        for channel in [
            "#sales",
            "C0123",
            "ada@localhost",
            "Ada <ada@example.com>",
            "a@example.com,b@example.com",
            "@example.com",
            "a@b@example.com",
            "a@example..com",
        ] {
            let err = render(&json!({ "channel": channel, "text": "x" })).unwrap_err();
            let Error::Rejected { detail, .. } = &err else { panic!("{channel}: {err:?}") };
            assert!(detail.contains("not an email address"), "{detail}");
        }
        let err = render(&json!({ "text": "x" })).unwrap_err();
        assert!(matches!(&err, Error::Rejected { detail, .. } if detail.contains("no `channel`")), "{err:?}");
        assert!(render(&json!({ "channel": " ada+leads@mail.example.co.uk ", "text": "x" })).is_ok());
    }
}
