//! A batch of contacts to invite, from a CSV file an admin uploads (issue 20, items 1 and 7).
//!
//! The file has a header line naming its columns, in any order and case: `phone` (for text messages) or `email` (for
//! email), and optionally `person_id` (the agency's customer id, which links the answers to the person's other
//! contacts; without it the phone or email is the person), `language` (`en` or `es`) and `time_zone` (an IANA name
//! such as `America/Chicago`; without it the organization's). Other columns are ignored. A UTF-8 byte-order mark is
//! allowed. Each line is checked by `heard_domain::invitation_rules::parse_contact`; errors are reported by line number (the
//! header is line 1) and field, every bad line at once, so the whole file can be put right in one go.

use heard_domain::invitation_rules::{Channel, Contact, ContactFields, MAX_BATCH_CONTACTS, parse_contact};

/// One problem in the file: the line (1 is the header) and the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, {}: {}", self.line, self.field, self.message)
    }
}

/// The most errors reported for one file (the rest are counted, not listed).
pub const MAX_ERRORS: usize = 200;

/// What a file held: its contacts, each with its line, or every problem found.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Contacts(Vec<(u64, Contact)>),
    /// The problems (at most [`MAX_ERRORS`]) and how many there were in all.
    Errors(Vec<LineError>, usize),
}

fn err(line: u64, field: &str, message: impl Into<String>) -> LineError {
    LineError {
        line,
        field: field.to_string(),
        message: message.into(),
    }
}

/// Reads a contacts CSV for `channel`. Nothing is returned of a file with any bad line.
pub fn parse_csv(bytes: &[u8], channel: Channel) -> Parsed {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_lowercase()).collect(),
        Err(_) => {
            return Parsed::Errors(
                vec![err(
                    1,
                    "header",
                    "the file is not CSV text in UTF-8: save it as \"CSV UTF-8\" and try again",
                )],
                1,
            );
        }
    };
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (person, phone, email, language, zone) = (
        col("person_id"),
        col("phone"),
        col("email"),
        col("language"),
        col("time_zone"),
    );
    let needed = match channel {
        Channel::Sms => ("phone", phone),
        Channel::Email => ("email", email),
    };
    if needed.1.is_none() {
        return Parsed::Errors(
            vec![err(
                1,
                "header",
                format!(
                    "the first line must name the columns, with a {} column (and optionally person_id, language, \
                     time_zone)",
                    needed.0
                ),
            )],
            1,
        );
    }
    let mut contacts = Vec::new();
    let mut errors = Vec::new();
    let mut total = 0usize;
    let mut record = csv::StringRecord::new();
    // Line numbers are counted from the bytes (the csv reader does not count blank lines), incrementally.
    let (mut seen_byte, mut seen_line) = (0usize, 1u64);
    // A record's position is where reading it began, before the blank lines the reader skips.
    let mut line_at = |byte: u64| -> u64 {
        let mut byte = (byte as usize).min(bytes.len());
        while byte < bytes.len() && matches!(bytes[byte], b'\n' | b'\r') {
            byte += 1;
        }
        if byte >= seen_byte {
            seen_line += bytes[seen_byte..byte]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            seen_byte = byte;
        }
        seen_line
    };
    loop {
        let line = line_at(reader.position().byte()).max(2);
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| line_at(p.byte())).unwrap_or(line);
                total += 1;
                if errors.len() < MAX_ERRORS {
                    errors.push(err(
                        line,
                        "line",
                        "this line is not readable CSV text in UTF-8 (check its quotes)",
                    ));
                }
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map(|p| line_at(p.byte())).unwrap_or(line);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |c: Option<usize>| c.and_then(|i| record.get(i));
        let fields = ContactFields {
            person_id: get(person),
            phone: get(phone),
            email: get(email),
            language: get(language),
            time_zone: get(zone),
        };
        match parse_contact(channel, &fields, "") {
            Ok(c) => contacts.push((line, c)),
            Err(es) => {
                for e in es.0 {
                    total += 1;
                    if errors.len() < MAX_ERRORS {
                        errors.push(err(line, &e.field, e.message));
                    }
                }
            }
        }
        if contacts.len() > MAX_BATCH_CONTACTS {
            return Parsed::Errors(
                vec![err(
                    line,
                    "line",
                    format!(
                        "a batch holds at most {MAX_BATCH_CONTACTS} contacts: split the file into smaller ones"
                    ),
                )],
                1,
            );
        }
    }
    if total > 0 {
        return Parsed::Errors(errors, total);
    }
    if contacts.is_empty() {
        return Parsed::Errors(
            vec![err(
                2,
                "line",
                "the file has no contacts under its header line",
            )],
            1,
        );
    }
    Parsed::Contacts(contacts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_line_is_reported_by_line_and_field() {
        let csv = "\u{feff}Person_ID,Phone,Language,time_zone\n\
                   C-1,202-555-0123,en,America/Chicago\n\
                   C-2,555-01,es,\n\
                   \n\
                   C-3,(202) 555-0144,fr,Mars/Base\n";
        match parse_csv(csv.as_bytes(), Channel::Sms) {
            Parsed::Errors(e, n) => {
                assert_eq!(n, 3);
                let got: Vec<(u64, &str)> = e.iter().map(|e| (e.line, e.field.as_str())).collect();
                assert_eq!(got, [(3, "phone"), (5, "language"), (5, "time_zone")]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_good_file_gives_its_contacts_with_their_lines() {
        let csv = "email,language\nana@example.gov,es\n\"bo@example.gov\",\n";
        match parse_csv(csv.as_bytes(), Channel::Email) {
            Parsed::Contacts(c) => {
                assert_eq!(c.len(), 2);
                assert_eq!(c[0].0, 2);
                assert_eq!(c[0].1.language, "es");
                assert_eq!(c[1].1.address, "bo@example.gov");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_csv(b"email\n", Channel::Sms),
            Parsed::Errors(_, 1)
        ));
    }
}
