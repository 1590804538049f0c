//! Delivery status notifications (RFC 3464): the bounce an SMTP server sends back when it could not deliver a
//! message, read into one [`RecipientStatus`] per failed (or delayed) recipient.
//!
//! A DSN is a `multipart/report; report-type=delivery-status` message (RFC 6522) whose second part,
//! `message/delivery-status` (or `message/global-delivery-status`, RFC 6533), holds one block of per-message fields
//! then one block per recipient, blocks separated by blank lines. Each recipient block has `Final-Recipient`
//! (`rfc822; address`), `Action` (`failed`, `delayed`, `delivered`, `relayed`, `expanded`) and `Status` (the
//! enhanced status code of RFC 3463, `class.subject.detail`: class 2 success, 4 persistent transient failure, 5
//! permanent failure). The optional third part returns the original message or its headers
//! (`message/rfc822`, `text/rfc822-headers`), from which [`DeliveryReport::original_headers`] are read.
//!
//! [`RecipientStatus::kind`] is the decision Heard acts on: `failed` with a 5.x.x status is a hard bounce (the
//! address is suppressed); a 4.x.x status is soft (nothing is suppressed; the message may still arrive).
//! Parsing only: no I/O. Bodies in base64 or quoted-printable are not decoded (the delivery-status part is plain
//! text in practice; RFC 3464 section 2 restricts it to 7-bit), and nested multiparts are searched to any depth up
//! to [`MAX_DEPTH`].

/// How deep nested multiparts are searched for the delivery-status part.
pub const MAX_DEPTH: usize = 4;

/// What a DSN reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The MTA that wrote the report (`Reporting-MTA`, without its `dns;` type), if given.
    pub reporting_mta: Option<String>,
    /// One entry per recipient block, in the order given.
    pub recipients: Vec<RecipientStatus>,
    /// Headers of the returned original message (unfolded; names as written), empty when it was not returned.
    pub original_headers: Vec<(String, String)>,
}

impl DeliveryReport {
    /// The first value of the returned original message's header `name` (case-insensitive), trimmed.
    pub fn original_header(&self, name: &str) -> Option<&str> {
        self.original_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

/// `Action` of a recipient block (RFC 3464 section 2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
}

/// What Heard does about a recipient's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceKind {
    /// `failed` with a permanent (5.x.x) status: suppress the address.
    Hard,
    /// A transient (4.x.x) status: keep the address; the message may still be delivered.
    Soft,
    /// Delivered, relayed or expanded: nothing went wrong.
    None,
}

/// One recipient block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    /// The address from `Final-Recipient` (without its `rfc822;` type), as written.
    pub final_recipient: String,
    /// The address from `Original-Recipient`, if given.
    pub original_recipient: Option<String>,
    pub action: Action,
    /// The enhanced status code, `class.subject.detail` (e.g. `5.1.1`).
    pub status: String,
    /// `Diagnostic-Code`, without its type, if given (the remote server's words; may hold the address).
    pub diagnostic: Option<String>,
}

impl RecipientStatus {
    /// Hard when the action is `failed` and the status class is 5; soft when the class is 4; none otherwise
    /// (RFC 3463 section 3.1: class 5 is a permanent failure, class 4 persistent transient).
    pub fn kind(&self) -> BounceKind {
        match (self.action, self.status.as_bytes().first()) {
            (Action::Failed, Some(b'5')) => BounceKind::Hard,
            (Action::Failed | Action::Delayed, Some(b'4')) => BounceKind::Soft,
            (Action::Delayed, _) => BounceKind::Soft,
            // A `failed` action with a 2.x.x status contradicts itself: treat it as transient, never suppress.
            (Action::Failed, _) => BounceKind::Soft,
            _ => BounceKind::None,
        }
    }
}

/// Why a message could not be read as a DSN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsnError {
    #[error("not a delivery status notification: no message/delivery-status part was found")]
    NoDeliveryStatus,
    #[error("the delivery status has no recipient block")]
    NoRecipients,
    #[error("recipient block {block}: {field} {reason}")]
    Field {
        /// 1-based number of the recipient block.
        block: usize,
        field: &'static str,
        reason: &'static str,
    },
}

/// Reads a whole message (headers and body, as received; CRLF or LF line ends) as a DSN.
pub fn parse(message: &str) -> Result<DeliveryReport, DsnError> {
    let message = message.replace("\r\n", "\n");
    let (headers, body) = split_head(&message);
    let mut original_headers = Vec::new();
    let status =
        find_status(&headers, body, 0, &mut original_headers).ok_or(DsnError::NoDeliveryStatus)?;
    let mut blocks = field_blocks(&status).into_iter();
    let per_message = blocks.next().unwrap_or_default();
    let reporting_mta = field(&per_message, "reporting-mta").map(strip_type);
    let mut recipients = Vec::new();
    for (i, block) in blocks.enumerate() {
        let n = i + 1;
        let final_recipient = field(&block, "final-recipient")
            .map(strip_type)
            .filter(|a| !a.is_empty())
            .ok_or(DsnError::Field {
                block: n,
                field: "Final-Recipient",
                reason: "is missing",
            })?;
        let action = match field(&block, "action")
            .map(|a| a.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("failed") => Action::Failed,
            Some("delayed") => Action::Delayed,
            Some("delivered") => Action::Delivered,
            Some("relayed") => Action::Relayed,
            Some("expanded") => Action::Expanded,
            Some(_) => {
                return Err(DsnError::Field {
                    block: n,
                    field: "Action",
                    reason: "is not failed, delayed, delivered, relayed or expanded",
                });
            }
            None => {
                return Err(DsnError::Field {
                    block: n,
                    field: "Action",
                    reason: "is missing",
                });
            }
        };
        let status = field(&block, "status")
            .map(|s| {
                // "5.1.1 (bad destination mailbox)": keep the code only.
                s.split_whitespace().next().unwrap_or("").to_string()
            })
            .filter(|s| valid_status(s))
            .ok_or(DsnError::Field {
                block: n,
                field: "Status",
                reason: "is missing or not class.subject.detail with class 2, 4 or 5",
            })?;
        recipients.push(RecipientStatus {
            final_recipient,
            original_recipient: field(&block, "original-recipient").map(strip_type),
            action,
            status,
            diagnostic: field(&block, "diagnostic-code").map(strip_type),
        });
    }
    if recipients.is_empty() {
        return Err(DsnError::NoRecipients);
    }
    Ok(DeliveryReport {
        reporting_mta,
        recipients,
        original_headers,
    })
}

/// RFC 3463: class ("2", "4" or "5") "." subject (1-3 digits) "." detail (1-3 digits).
fn valid_status(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..]
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// "rfc822; a@b" → "a@b" (the address type before the first `;` is dropped).
fn strip_type(v: String) -> String {
    match v.split_once(';') {
        Some((_, rest)) => rest.trim().to_string(),
        None => v.trim().to_string(),
    }
}

type Headers = Vec<(String, String)>;

/// Splits a message (LF line ends) at its first empty line into unfolded headers and body.
fn split_head(message: &str) -> (Headers, &str) {
    let (head, body) = match message.find("\n\n") {
        Some(i) => (&message[..i], &message[i + 2..]),
        None if message.starts_with('\n') => ("", &message[1..]),
        None => (message, ""),
    };
    let head = head.strip_prefix('\n').unwrap_or(head);
    (unfold(head), body)
}

/// Header lines (RFC 5322 section 2.2.3: a line starting with white space continues the previous one).
fn unfold(head: &str) -> Headers {
    let mut out: Headers = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    out
}

fn field(headers: &Headers, name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// The media type (lower case) and the `boundary` parameter of a Content-Type value.
fn content_type(headers: &Headers) -> (String, Option<String>) {
    let Some(v) = field(headers, "content-type") else {
        return ("text/plain".into(), None);
    };
    let mut parts = v.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let boundary = parts.find_map(|p| {
        let (k, val) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| val.trim().trim_matches('"').to_string())
    });
    (media, boundary)
}

/// The body parts of a multipart body with this boundary (RFC 2046 section 5.1.1).
fn parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    let mut current: Option<usize> = None;
    let mut offset: usize = 0;
    for line in body.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare.starts_with(&delimiter) {
            if let Some(start) = current {
                // The line break before the delimiter belongs to the delimiter.
                let end = offset.saturating_sub(1).max(start);
                out.push(&body[start..end]);
            }
            if bare[delimiter.len()..].starts_with("--") {
                return out;
            }
            current = Some(offset + line.len());
        }
        offset += line.len();
    }
    if let Some(start) = current {
        out.push(&body[start..]);
    }
    out
}

/// The text of the delivery-status part, searched depth-first; also collects the returned original's headers.
fn find_status(
    headers: &Headers,
    body: &str,
    depth: usize,
    original: &mut Headers,
) -> Option<String> {
    let (media, boundary) = content_type(headers);
    match media.as_str() {
        "message/delivery-status" | "message/global-delivery-status" => Some(body.to_string()),
        m if m.starts_with("multipart/") && depth < MAX_DEPTH => {
            let boundary = boundary?;
            let mut found = None;
            for part in parts(body, &boundary) {
                let (h, b) = split_head(part);
                let (m, _) = content_type(&h);
                if m == "message/rfc822" || m == "text/rfc822-headers" || m == "message/global" {
                    if original.is_empty() {
                        *original = split_head(b).0;
                    }
                    continue;
                }
                if found.is_none() {
                    found = find_status(&h, b, depth + 1, original);
                }
            }
            found
        }
        _ => None,
    }
}

/// The blocks of `name: value` fields in a delivery-status body, separated by blank lines.
fn field_blocks(status: &str) -> Vec<Headers> {
    status
        .split("\n\n")
        .map(|b| b.trim_matches('\n'))
        .filter(|b| !b.trim().is_empty())
        .map(unfold)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DSN as Postfix writes it for an unknown mailbox (headers and wording from Postfix's bounce templates).
    const POSTFIX_HARD: &str = "Return-Path: <>\r\n\
Received: by mail.example.gov (Postfix)\r\n\tid 4F2C81C0A3; Mon, 30 Nov 2026 14:02:11 -0500 (EST)\r\n\
Date: Mon, 30 Nov 2026 14:02:11 -0500 (EST)\r\n\
From: MAILER-DAEMON@mail.example.gov (Mail Delivery System)\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
To: feedback@example.gov\r\n\
Auto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"4F2C81C0A3.1732993331/mail.example.gov\"\r\n\
Message-Id: <20261130190211.4F2C81C0A3@mail.example.gov>\r\n\
\r\n\
This is a MIME-encapsulated message.\r\n\
\r\n\
--4F2C81C0A3.1732993331/mail.example.gov\r\n\
Content-Description: Notification\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
This is the mail system at host mail.example.gov.\r\n\
\r\n\
I'm sorry to have to inform you that your message could not\r\n\
be delivered to one or more recipients.\r\n\
\r\n\
<nobody@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1\r\n\
\t<nobody@example.org>: Recipient address rejected: User unknown\r\n\
\r\n\
--4F2C81C0A3.1732993331/mail.example.gov\r\n\
Content-Description: Delivery report\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mail.example.gov\r\n\
X-Postfix-Queue-ID: 4F2C81C0A3\r\n\
X-Postfix-Sender: rfc822; feedback@example.gov\r\n\
Arrival-Date: Mon, 30 Nov 2026 14:02:10 -0500 (EST)\r\n\
\r\n\
Final-Recipient: rfc822; nobody@example.org\r\n\
Original-Recipient: rfc822;nobody@example.org\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Remote-MTA: dns; mx.example.org\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address\r\n\
\trejected: User unknown\r\n\
\r\n\
--4F2C81C0A3.1732993331/mail.example.gov\r\n\
Content-Description: Undelivered Message Headers\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
Return-Path: <feedback@example.gov>\r\n\
From: Example Benefits <feedback@example.gov>\r\n\
To: nobody@example.org\r\n\
Subject: How did we do?\r\n\
Message-ID: <inv-0193.abc@example.gov>\r\n\
X-Heard-Outreach: 0193f1c2-aaaa-7bbb-8ccc-0123456789ab\r\n\
\r\n\
--4F2C81C0A3.1732993331/mail.example.gov--\r\n";

    #[test]
    fn postfix_unknown_user_is_a_hard_bounce() {
        let r = parse(POSTFIX_HARD).unwrap();
        assert_eq!(r.reporting_mta.as_deref(), Some("mail.example.gov"));
        assert_eq!(r.recipients.len(), 1);
        let rcpt = &r.recipients[0];
        assert_eq!(rcpt.final_recipient, "nobody@example.org");
        assert_eq!(
            rcpt.original_recipient.as_deref(),
            Some("nobody@example.org")
        );
        assert_eq!(rcpt.action, Action::Failed);
        assert_eq!(rcpt.status, "5.1.1");
        assert_eq!(
            rcpt.diagnostic.as_deref(),
            Some("550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown")
        );
        assert_eq!(rcpt.kind(), BounceKind::Hard);
        assert_eq!(
            r.original_header("x-heard-outreach"),
            Some("0193f1c2-aaaa-7bbb-8ccc-0123456789ab")
        );
        assert_eq!(r.original_header("Subject"), Some("How did we do?"));
    }

    #[test]
    fn delayed_mailbox_full_is_soft() {
        let dsn = POSTFIX_HARD
            .replace("Action: failed", "Action: delayed")
            .replace("Status: 5.1.1", "Status: 4.2.2")
            .replace("\r\n", "\n");
        let r = parse(&dsn).unwrap();
        assert_eq!(r.recipients[0].kind(), BounceKind::Soft);
        assert_eq!(r.recipients[0].status, "4.2.2");
    }

    #[test]
    fn several_recipients_and_a_delivered_one() {
        let dsn = POSTFIX_HARD.replace(
            "Status: 5.1.1\r\nRemote-MTA",
            "Status: 5.1.1\r\nRemote-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; ok@example.org\r\n\
             Action: delivered\r\nStatus: 2.0.0 (ok)\r\n\r\nFinal-Recipient: rfc822; full@example.org\r\n\
             Action: failed\r\nStatus: 4.2.2\r\nRemote-MTA",
        );
        let r = parse(&dsn).unwrap();
        let kinds: Vec<_> = r
            .recipients
            .iter()
            .map(|x| (x.final_recipient.as_str(), x.kind()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("nobody@example.org", BounceKind::Hard),
                ("ok@example.org", BounceKind::None),
                ("full@example.org", BounceKind::Soft)
            ]
        );
        assert_eq!(r.recipients[1].status, "2.0.0");
    }

    #[test]
    fn bad_input_names_the_field() {
        assert_eq!(
            parse("Subject: hello\n\nJust a letter.\n"),
            Err(DsnError::NoDeliveryStatus)
        );
        let no_status = POSTFIX_HARD.replace("Status: 5.1.1\r\n", "");
        assert_eq!(
            parse(&no_status),
            Err(DsnError::Field {
                block: 1,
                field: "Status",
                reason: "is missing or not class.subject.detail with class 2, 4 or 5"
            })
        );
        let bad_status = POSTFIX_HARD.replace("Status: 5.1.1", "Status: 9.9");
        assert!(matches!(
            parse(&bad_status),
            Err(DsnError::Field {
                field: "Status",
                ..
            })
        ));
        let bad_action = POSTFIX_HARD.replace("Action: failed", "Action: exploded");
        assert!(matches!(
            parse(&bad_action),
            Err(DsnError::Field {
                field: "Action",
                ..
            })
        ));
        let only_message_fields =
            POSTFIX_HARD.replace("\r\n\r\nFinal-Recipient", "\r\nFinal-Recipient-Gone");
        assert_eq!(parse(&only_message_fields), Err(DsnError::NoRecipients));
    }

    #[test]
    fn nested_report_is_found() {
        let inner = POSTFIX_HARD.split_once("\r\n\r\n").unwrap();
        let wrapped = format!(
            "Subject: Fwd\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\n\
             Content-Type: text/plain\r\n\r\nforwarded\r\n--outer\r\n{}\r\n\r\n{}\r\n--outer--\r\n",
            inner
                .0
                .lines()
                .filter(|l| l.contains("Content-Type") || l.starts_with('\t'))
                .collect::<Vec<_>>()
                .join("\r\n"),
            inner.1
        );
        let r = parse(&wrapped).unwrap();
        assert_eq!(r.recipients[0].kind(), BounceKind::Hard);
    }
}
