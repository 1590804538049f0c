//! Personal-data detection and redaction with hand-written scanners (no regex, no backtracking).
//!
//! Every scanner works on the text as a slice of `char`, so offsets are Unicode scalar values of
//! the original text, end exclusive. Scanners run from the most specific (e-mail, URL, IP, card,
//! SSN) to the most generic (long digit runs), and a character claimed by one span cannot be
//! claimed by another, so the output never overlaps. Overlapping candidates are thus resolved by
//! type priority: a separated 3-2-4 digit group ("123-45-6789") is the SSN layout, so the SSN
//! scanner claims it even when it does not report it (an invalid SSN without context), and it
//! is never typed as a phone number (phones group 3-3-4, or 10 to 11 digits).
//!
//! Policy decisions, documented because they trade recall against over-redaction:
//! - A bare 9-digit number with a valid SSN shape is flagged `US_SSN` (ITIN when it starts with 9),
//!   because in a comment to a public service a bare 9-digit number is most often an identifier.
//! - An SSN-shaped number (3-2-4 groups separated by dashes, spaces or dots, or 9 bare digits)
//!   that fails the validity checks (area 000 or 666, group 00, serial 0000, published example
//!   numbers such as 123-45-6789) is still flagged `US_SSN` when an SSN context word ("ssn",
//!   "social security", "ss#", "seguro social", ...) is within 40 characters before it or 20
//!   after it: the writer says it is their SSN. Without context a separated 3-2-4 group is not
//!   flagged at all, and 9 bare digits are left to the other scanners (a phone or an account
//!   number when the context says so).
//! - Dates are flagged only when the context says they are a date of birth (`DATE_TIME`), unless
//!   [`RedactConfig::all_dates`] is set (Presidio compatibility, used by the evaluation).
//! - Domains under `.gov` and `.mil` without a query string are kept: they name a public service,
//!   not a person. Every other URL or bare domain is flagged `URL`.
//! - Any other standalone run of 10 to 17 digits is flagged `US_BANK_NUMBER` (an account, claim or
//!   case number): over-redaction is cheaper than a leak.

use serde::Serialize;

/// One personal-data span found in the original text.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct PiiSpan {
    /// Presidio entity name, such as `US_SSN` or `EMAIL_ADDRESS`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Start offset in Unicode scalar values of the original text.
    pub start: usize,
    /// End offset (exclusive) in Unicode scalar values of the original text.
    pub end: usize,
}

/// Options of the redactor.
#[derive(Clone, Copy, Debug, Default)]
pub struct RedactConfig {
    /// Flag every date, not only dates of birth.
    pub all_dates: bool,
}

/// Redacts `text` with the default configuration: returns the text with typed placeholders such
/// as `<US_SSN>` and the spans it replaced.
pub fn redact(text: &str) -> (String, Vec<PiiSpan>) {
    redact_with(text, RedactConfig::default())
}

/// Redacts `text` with an explicit configuration.
pub fn redact_with(text: &str, config: RedactConfig) -> (String, Vec<PiiSpan>) {
    // Sized once: collecting would grow the buffer several times for a typical comment. Most
    // comments are ASCII, whose bytes are their characters (a copy the compiler vectorises).
    let mut chars: Vec<char> = Vec::with_capacity(text.len());
    if text.is_ascii() {
        chars.extend(text.bytes().map(char::from));
    } else {
        chars.extend(text.chars());
    }
    let spans = detect(&chars, config);
    if spans.is_empty() {
        return (text.to_string(), spans);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut pos = 0;
    for s in &spans {
        out.extend(&chars[pos..s.start]);
        out.push('<');
        out.push_str(s.kind);
        out.push('>');
        pos = s.end;
    }
    out.extend(&chars[pos..]);
    (out, spans)
}

/// Finds personal-data spans in `chars`, sorted by start, never overlapping.
pub fn detect(chars: &[char], config: RedactConfig) -> Vec<PiiSpan> {
    // Texts without a digit, '@', or a dot cannot hold most entities; names and addresses need
    // context words which are cheap to look for, so the fast path still runs them.
    let mut s = Scan {
        c: chars,
        taken: Vec::new(),
        spans: Vec::new(),
        lower: Vec::new(),
    };
    // One pass finds which scanners can match at all.
    let (mut has_digit, mut has_at, mut has_domain) = (false, false, false);
    // An IPv6 address holds "::" or at least six colons (six before an IPv4 tail, else seven).
    let (mut colons, mut double_colon) = (0, false);
    // Where each run of digits starts: the scanners of numbers start there (or one character
    // before, for "+1 ..." and "(415) ..."), not at every character.
    let mut runs: Vec<usize> = Vec::new();
    // Capital letters after a space: a name follows its cue ("my name is Ana") there.
    let mut caps: Vec<usize> = Vec::new();
    let mut prev = '\0';
    for (i, &c) in chars.iter().enumerate() {
        // A URL or a domain always has a dot followed directly by a letter or digit.
        if c.is_ascii_lowercase() {
            // Most characters: nothing else to note.
            has_domain |= prev == '.';
            prev = c;
            continue;
        }
        if c.is_ascii_digit() {
            has_digit = true;
            if !prev.is_ascii_digit() {
                runs.push(i);
            }
        }
        if prev == ' ' && c.is_uppercase() {
            caps.push(i);
        }
        match c {
            '@' => has_at = true,
            ':' => {
                colons += 1;
                double_colon |= prev == ':';
            }
            _ => {}
        }
        has_domain |= prev == '.' && c.is_alphanumeric();
        prev = c;
    }
    // The lower-case copy serves the scanners below; a text with none of their triggers (the
    // usual comment) at most goes through the name scanner, which lower-cases as it reads.
    let maybe_ipv6 = double_colon || colons >= 6;
    if has_digit || has_at || has_domain || maybe_ipv6 {
        s.lower = chars.iter().map(|c| to_lower(*c)).collect();
    }
    if has_at {
        s.emails();
    }
    if has_domain {
        s.urls();
    }
    if maybe_ipv6 {
        s.ipv6();
    }
    if has_digit {
        s.ipv4(&runs);
        s.mbi(&runs);
        s.cards(&runs);
        s.dates(config.all_dates);
        s.phones(&runs, true);
        s.ssn_like(&runs);
        s.letter_ids();
        s.phones(&runs, false);
        s.addresses(&runs);
        s.long_numbers(&runs);
    }
    if s.name_cue_before(&caps) {
        s.names();
    }
    s.spans.sort_by_key(|x| x.start);
    s.spans
}

fn to_lower(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

struct Scan<'a> {
    c: &'a [char],
    lower: Vec<char>,
    /// Claimed ranges, kept small: comments hold few entities.
    taken: Vec<(usize, usize)>,
    spans: Vec<PiiSpan>,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Scan<'_> {
    fn at(&self, i: usize) -> char {
        self.c.get(i).copied().unwrap_or(' ')
    }
    fn before(&self, i: usize) -> char {
        if i == 0 { ' ' } else { self.c[i - 1] }
    }
    fn free(&self, a: usize, b: usize) -> bool {
        self.taken.iter().all(|&(x, y)| b <= x || a >= y)
    }
    fn push(&mut self, kind: &'static str, a: usize, b: usize) -> bool {
        if a >= b || !self.free(a, b) {
            return false;
        }
        self.taken.push((a, b));
        self.spans.push(PiiSpan {
            kind,
            start: a,
            end: b,
        });
        true
    }
    /// True when one of `words` occurs (lower-case) within `window` characters before `i`.
    fn context_before(&self, i: usize, window: usize, words: &[&str]) -> bool {
        let a = i.saturating_sub(window);
        let hay = &self.lower[a..i];
        words.iter().any(|w| {
            let n = w.chars().count();
            let first = w.chars().next();
            n <= hay.len()
                && hay
                    .windows(n)
                    .any(|win| Some(win[0]) == first && win.iter().copied().eq(w.chars()))
        })
    }

    /// True when one of `words` (lower-case) starts a word within `before` characters before `a`
    /// or within `after` characters after `b`. Unlike [`Scan::context_before`], a cue glued to a
    /// preceding letter does not count ("classnote" holds no "ssn").
    fn context_near(
        &self,
        a: usize,
        b: usize,
        before: usize,
        after: usize,
        words: &[&str],
    ) -> bool {
        let n = self.lower.len();
        let found_in = |from: usize, to: usize| {
            words.iter().any(|w| {
                let len = w.chars().count();
                (from..to.saturating_sub(len.saturating_sub(1)))
                    .filter(|&k| k + len <= n)
                    .any(|k| {
                        (k == 0 || !is_word(self.lower[k - 1]))
                            && self.lower[k..k + len].iter().copied().eq(w.chars())
                    })
            })
        };
        found_in(a.saturating_sub(before), a) || found_in(b, (b + after).min(n))
    }

    fn emails(&mut self) {
        let n = self.c.len();
        let local = |c: char| c.is_alphanumeric() || "._%+-'".contains(c);
        let dom = |c: char| c.is_alphanumeric() || c == '-' || c == '.';
        for i in 0..n {
            if self.c[i] != '@' {
                continue;
            }
            let mut a = i;
            while a > 0 && local(self.c[a - 1]) {
                a -= 1;
            }
            while a < i && !self.c[a].is_alphanumeric() {
                a += 1;
            }
            let mut b = i + 1;
            while b < n && dom(self.c[b]) {
                b += 1;
            }
            while b > i + 1 && !self.c[b - 1].is_alphanumeric() {
                b -= 1;
            }
            if a == i || b <= i + 1 {
                continue;
            }
            let domain = &self.c[i + 1..b];
            if let Some(dot) = domain.iter().rposition(|&c| c == '.') {
                let tld = &domain[dot + 1..];
                let ok_tld = tld.len() >= 2
                    && (tld.iter().all(|c| c.is_alphabetic())
                        || (tld.len() > 4 && tld[..4] == ['x', 'n', '-', '-']));
                if ok_tld && dot > 0 {
                    self.push("EMAIL_ADDRESS", a, b);
                }
            }
        }
    }

    fn urls(&mut self) {
        let n = self.c.len();
        let urlc = |c: char| !c.is_whitespace() && !"\"'<>()[]{}|\\^`".contains(c);
        let mut i = 0;
        while i < n {
            // Only an 'h' or a 'w' can start a scheme or "www.".
            let l0 = self.lower[i];
            let starts_scheme = l0 == 'h'
                && (self.starts_with_ci(i, "http://") || self.starts_with_ci(i, "https://"));
            let starts_www = l0 == 'w' && self.starts_with_ci(i, "www.");
            if (starts_scheme || starts_www) && !is_word(self.before(i)) {
                let mut b = i;
                while b < n && urlc(self.c[b]) {
                    b += 1;
                }
                while b > i && ".,;:!?".contains(self.c[b - 1]) {
                    b -= 1;
                }
                let host_start = if starts_scheme {
                    self.lower[i..]
                        .iter()
                        .position(|&c| c == '/')
                        .map(|p| i + p + 2)
                        .unwrap_or(i)
                } else {
                    i
                };
                let host_end = (host_start..b)
                    .find(|&k| "/?#:".contains(self.c[k]))
                    .unwrap_or(b);
                // IPv6 literals in URLs are left to the IP scanner.
                if self.at(host_start) == '[' {
                    i = b.max(i + 1);
                    continue;
                }
                let labels = self.c[host_start..host_end]
                    .iter()
                    .filter(|&&c| c == '.')
                    .count()
                    + 1;
                let enough = starts_scheme || labels >= 3;
                if enough
                    && self.valid_host(host_start, host_end)
                    && !self.public_domain(host_start, host_end, b)
                {
                    self.push("URL", i, b);
                }
                i = b.max(i + 1);
                continue;
            }
            // Bare domains such as "example.com": a word character run with dots, ending in a known TLD.
            if self.c[i].is_alphanumeric()
                && !is_word(self.before(i))
                && self.before(i) != '.'
                && self.before(i) != '@'
            {
                let mut b = i;
                while b < n && (self.c[b].is_alphanumeric() || self.c[b] == '-' || self.c[b] == '.')
                {
                    b += 1;
                }
                while b > i && self.c[b - 1] == '.' {
                    b -= 1;
                }
                if self.at(b) != '@'
                    && self.c[i..b].contains(&'.')
                    && self.valid_host(i, b)
                    && known_tld(&self.c[i..b])
                {
                    // Take an optional path.
                    let mut e = b;
                    if self.at(b) == '/' {
                        while e < n && urlc(self.c[e]) {
                            e += 1;
                        }
                        while e > b && ".,;:!?".contains(self.c[e - 1]) {
                            e -= 1;
                        }
                    }
                    if !self.public_domain(i, b, e) {
                        self.push("URL", i, e);
                    }
                    i = e.max(i + 1);
                    continue;
                }
                i = b.max(i + 1);
                continue;
            }
            i += 1;
        }
    }

    fn starts_with_ci(&self, i: usize, pat: &str) -> bool {
        (i..)
            .zip(pat.chars())
            .all(|(k, p)| k < self.c.len() && to_lower(self.c[k]) == p)
    }

    /// A host needs at least two labels and an alphabetic top-level label of two or more letters.
    fn valid_host(&self, a: usize, b: usize) -> bool {
        let host = &self.lower[a..b];
        let Some(dot) = host.iter().rposition(|&c| c == '.') else {
            return false;
        };
        let tld = &host[dot + 1..];
        dot > 0
            && tld.len() >= 2
            && tld.iter().all(|c| c.is_alphabetic())
            && !host.windows(2).any(|w| w == ['.', '.'])
    }

    fn public_domain(&self, ha: usize, hb: usize, end: usize) -> bool {
        let host: String = self.lower[ha..hb].iter().collect();
        let public = host.ends_with(".gov") || host.ends_with(".mil");
        public && !self.c[ha..end].contains(&'?')
    }

    /// IPv6 addresses (they always hold a colon); found before IPv4, as one may end with an IPv4
    /// tail.
    fn ipv6(&mut self) {
        let n = self.c.len();
        let hexc = |c: char| c.is_ascii_hexdigit() || c == ':';
        let mut i = 0;
        while i < n {
            let c = self.c[i];
            if hexc(c) && !is_word(self.before(i)) && self.before(i) != ':' {
                let mut b = i;
                while b < n && hexc(self.c[b]) {
                    b += 1;
                }
                if let Some(end) = self.ipv6_at(i, b) {
                    self.push("IP_ADDRESS", i, end);
                    i = end;
                    continue;
                }
                i = b.max(i + 1);
                continue;
            }
            i += 1;
        }
    }

    /// IPv4: four decimal octets, not glued to letters or a preceding dot-number.
    fn ipv4(&mut self, runs: &[usize]) {
        let mut next = 0;
        for &i in runs {
            if i < next
                || self
                    .c
                    .get(i.wrapping_sub(1))
                    .is_some_and(|p| p.is_alphanumeric() || *p == '.')
            {
                continue;
            }
            if let Some(end) = ipv4_at(self.c, i) {
                if !self.at(end).is_alphanumeric() {
                    self.push("IP_ADDRESS", i, end);
                }
                next = end;
            }
        }
    }

    /// Validates an IPv6 address starting at `a` whose hex-and-colon run ends at `b`; returns the
    /// end of the address (including an IPv4 tail and a zone id) or None.
    fn ipv6_at(&self, a: usize, b: usize) -> Option<usize> {
        let run = &self.c[a..b];
        if !run.contains(&':') {
            return None;
        }
        let mut end = b;
        let mut groups_text: &[char] = run;
        let mut v4_groups = 0;
        // An IPv4 tail: the last group is followed by '.'.
        if self.at(b) == '.' && self.at(b + 1).is_ascii_digit() {
            let last_colon = run.iter().rposition(|&c| c == ':')?;
            let v4_start = a + last_colon + 1;
            let v4_end = ipv4_at(self.c, v4_start)?;
            if self.at(v4_end).is_alphanumeric()
                || (self.at(v4_end) == '.' && self.at(v4_end + 1).is_ascii_digit())
            {
                return None;
            }
            groups_text = &run[..=last_colon];
            end = v4_end;
            v4_groups = 2;
        } else if self.at(b) == '.' && self.at(b + 1).is_ascii_digit() {
            return None;
        }
        // Split into groups around a single "::".
        let s: String = groups_text.iter().collect();
        let double = s.matches("::").count();
        if double > 1 || s.contains(":::") {
            return None;
        }
        let count_groups = |part: &str| -> Option<usize> {
            if part.is_empty() {
                return Some(0);
            }
            let mut k = 0;
            for g in part.split(':') {
                if g.is_empty() || g.len() > 4 {
                    return None;
                }
                k += 1;
            }
            Some(k)
        };
        let total;
        if double == 1 {
            let (l, r) = s.split_once("::")?;
            let r = if v4_groups > 0 {
                r.strip_suffix(':').unwrap_or(r)
            } else {
                r
            };
            let r = if v4_groups > 0 && r.is_empty() { "" } else { r };
            let lg = count_groups(l)?;
            let rg = count_groups(r)?;
            total = lg + rg + v4_groups;
            if total > 7 {
                return None;
            }
        } else {
            let body = if v4_groups > 0 {
                s.strip_suffix(':')?
            } else {
                &s
            };
            if body.starts_with(':') || body.ends_with(':') {
                return None;
            }
            total = count_groups(body)? + v4_groups;
            if total != 8 {
                return None;
            }
        }
        // Zone id such as %eth0.
        if self.at(end) == '%' && self.at(end + 1).is_alphanumeric() {
            end += 1;
            while end < self.c.len() && self.c[end].is_alphanumeric() {
                end += 1;
            }
        }
        if is_word(self.at(end)) {
            return None;
        }
        Some(end)
    }

    fn cards(&mut self, runs: &[usize]) {
        let n = self.c.len();
        let mut next = 0;
        for &i in runs {
            if i < next || self.before(i).is_alphanumeric() {
                continue;
            }
            // Digits with single space or dash separators; a candidate ends at any group boundary.
            let mut digits = [0u8; 19];
            let mut nd = 0;
            let mut b = i;
            let mut best: Option<usize> = None;
            while b < n && nd < 19 {
                let c = self.c[b];
                if let Some(d) = c.to_digit(10) {
                    digits[nd] = d as u8;
                    nd += 1;
                    b += 1;
                    let boundary = !self.at(b).is_ascii_digit();
                    if boundary
                        && (13..=19).contains(&nd)
                        && !self.at(b).is_alphanumeric()
                        && card_prefix(&digits[..nd])
                        && luhn(&digits[..nd])
                    {
                        best = Some(b);
                    }
                } else if (c == ' ' || c == '-') && self.at(b + 1).is_ascii_digit() {
                    b += 1;
                } else {
                    break;
                }
            }
            // Otherwise only this number is passed over (a run of groups may hold several).
            if let Some(end) = best {
                self.push("CREDIT_CARD", i, end);
                next = end;
            }
        }
    }

    fn dates(&mut self, all: bool) {
        let n = self.c.len();
        const DOB: [&str; 9] = [
            "born",
            "birth",
            "dob",
            "d.o.b",
            "birthday",
            "nacimiento",
            "nací",
            "naci ",
            "cumpleaños",
        ];
        let mut i = 0;
        while i < n {
            // A date starts with a digit or a month's name (see `date_at`).
            let c = self.c[i];
            let start = c.is_ascii_digit()
                || c.is_ascii_alphabetic()
                    && matches!(self.lower[i], 'j' | 'f' | 'm' | 'a' | 's' | 'o' | 'n' | 'd');
            if !start || is_word(self.before(i)) {
                i += 1;
                continue;
            }
            if let Some(end) = date_at(self.c, &self.lower, i)
                && !is_word(self.at(end))
                && (all || self.context_before(i, 40, &DOB))
            {
                self.push("DATE_TIME", i, end);
                i = end;
                continue;
            }
            i += 1;
        }
    }

    /// SSN, ITIN and EIN shapes: 3-2-4 and 2-7 digit groups with one separator kind, or 9 bare digits.
    fn ssn_like(&mut self, runs: &[usize]) {
        let n = self.c.len();
        let mut next = 0;
        for &i in runs {
            // Not the middle of a longer grouped number such as "+55 11 98456 5666".
            let glued =
                i >= 2 && matches!(self.c[i - 1], '-' | '.') && self.c[i - 2].is_ascii_digit();
            if i < next || is_word(self.before(i)) || glued {
                continue;
            }
            let mut b = i;
            let mut groups: [usize; 4] = [0; 4];
            let mut ng = 0;
            let mut sep: Option<char> = None;
            let mut mixed = false;
            let mut digits = [0u8; 9];
            let mut nd = 0;
            loop {
                let gs = b;
                while b < n && self.c[b].is_ascii_digit() {
                    if nd < 9 {
                        digits[nd] = self.c[b].to_digit(10).unwrap_or(0) as u8;
                    }
                    nd += 1;
                    b += 1;
                }
                if ng < 4 {
                    groups[ng] = b - gs;
                }
                ng += 1;
                let c = self.at(b);
                if (c == '-' || c == '.' || c == ' ')
                    && self.at(b + 1).is_ascii_digit()
                    && ng < 3
                    && nd < 9
                {
                    if sep.is_some_and(|s| s != c) {
                        mixed = true;
                    }
                    sep = Some(c);
                    b += 1;
                } else {
                    break;
                }
            }
            let end = b;
            let bounded = !(is_word(self.at(end))
                || self.at(end) == '-' && self.at(end + 1).is_ascii_digit());
            let g = &groups[..ng.min(4)];
            if bounded && nd == 9 && !mixed {
                let dash = sep == Some('-');
                let shape_ssn =
                    g == [3, 2, 4] || g == [9] || (dash && (g == [3, 6] || g == [5, 4]));
                let shape_ein = g == [2, 7]
                    && dash
                    && self.context_before(
                        i,
                        40,
                        &["ein", "employer", "tax id", "tin ", "federal id", "fein"],
                    );
                let passport = g == [9]
                    && self.context_before(i, 40, &["passport", "travel document", "pasaporte"]);
                if passport {
                    self.push("US_PASSPORT", i, end);
                    next = end;
                    continue;
                }
                let ssn_ctx = shape_ssn && self.context_near(i, end, 40, 20, &SSN_CTX);
                // Nine bare digits stated to be a routing or account number are that, not an
                // SSN (nor a phone number), unless an SSN cue is near too.
                if g == [9]
                    && !ssn_ctx
                    && let Some(kind) = self.bank_ctx_kind(i, &digits)
                    && self.push(kind, i, end)
                {
                    next = end;
                    continue;
                }
                if shape_ssn {
                    // Validity first; failing that, the words around the number decide: someone
                    // who writes "my SSN is 123-45-6789" means an SSN, even one never issued.
                    let kind = ssn_kind(&digits).or_else(|| ssn_ctx.then_some("US_SSN"));
                    if let Some(kind) = kind
                        && self.push(kind, i, end)
                    {
                        next = end;
                        continue;
                    }
                    // A separated 3-2-4 group is the SSN shape and no other entity's: when it is
                    // not a valid SSN, its characters are still claimed (without a span) so the
                    // weaker generic scanners (phone, long numbers) cannot report it as theirs.
                    if g == [3, 2, 4] && sep.is_some() && self.free(i, end) {
                        self.taken.push((i, end));
                        next = end;
                        continue;
                    }
                } else if shape_ein && self.push("US_EIN", i, end) {
                    next = end;
                    continue;
                }
            }
        }
    }

    /// Identifiers that start with letters: passport, driver licence, alien registration number.
    fn letter_ids(&mut self) {
        let n = self.c.len();
        let mut i = 0;
        while i < n {
            if !self.c[i].is_ascii_alphanumeric() || is_word(self.before(i)) {
                i += 1;
                continue;
            }
            if self.c[i].is_ascii_digit() {
                // A licence number that starts with digits and holds a letter ("1234567A"), in context.
                let mut b = i;
                while b < n && self.c[b].is_ascii_alphanumeric() {
                    b += 1;
                }
                let tok = &self.c[i..b];
                let nd = tok.iter().filter(|c| c.is_ascii_digit()).count();
                if nd >= 4 && nd < tok.len() && tok.len() <= 15 && dl_ctx_any(self, i) {
                    self.push("US_DRIVER_LICENSE", i, b);
                }
                i = b.max(i + 1);
                continue;
            }
            let mut b = i;
            while b < n
                && (self.c[b].is_ascii_alphanumeric() || self.c[b] == '-' || self.c[b] == '#')
            {
                b += 1;
            }
            while b > i && !self.c[b - 1].is_ascii_alphanumeric() {
                b -= 1;
            }
            let tok = &self.c[i..b];
            // Identifiers hold digits; plain words are skipped before any other work.
            if !tok.iter().any(|c| c.is_ascii_digit()) {
                i = b.max(i + 1);
                continue;
            }
            let letters = tok.iter().take_while(|c| c.is_ascii_alphabetic()).count();
            let rest: Vec<char> = tok[letters..]
                .iter()
                .copied()
                .filter(|c| *c != '-' && *c != '#')
                .collect();
            let all_digits = !rest.is_empty() && rest.iter().all(|c| c.is_ascii_digit());
            let up = tok[0].to_ascii_uppercase();
            if letters == 1 && all_digits {
                let nd = rest.len();
                let dl_ctx = self.context_before(
                    i,
                    40,
                    &["licen", "driver", " dl", "dl#", "dl ", "conducir"],
                );
                let pass_ctx =
                    self.context_before(i, 40, &["passport", "travel document", "pasaporte"]);
                let a_ctx = self.context_before(
                    i,
                    40,
                    &[
                        "alien",
                        "a-number",
                        "a number",
                        "uscis",
                        "registration",
                        "green card",
                        "a#",
                    ],
                );
                let kind = if up == 'A'
                    && (nd == 9
                        || (a_ctx && nd == 8)
                        || tok.get(1) == Some(&'-') && (8..=9).contains(&nd))
                    && !pass_ctx
                {
                    Some("US_ALIEN_REGISTRATION")
                } else if dl_ctx && (4..=14).contains(&nd) {
                    Some("US_DRIVER_LICENSE")
                } else if nd == 8 {
                    Some("US_PASSPORT")
                } else if (pass_ctx && (6..=9).contains(&nd)) || (dl_ctx && nd >= 4) {
                    Some(if pass_ctx {
                        "US_PASSPORT"
                    } else {
                        "US_DRIVER_LICENSE"
                    })
                } else {
                    None
                };
                if let Some(k) = kind {
                    self.push(k, i, b);
                }
            } else if (1..=2).contains(&letters)
                && rest.len() >= 5
                && dl_ctx_any(self, i)
                && rest.iter().all(|c| c.is_ascii_alphanumeric())
            {
                self.push("US_DRIVER_LICENSE", i, b);
            }
            i = b.max(i + 1);
        }
    }

    /// Medicare Beneficiary Identifier: 11 characters in a fixed letter/digit pattern, optionally 4-3-4 dashed.
    fn mbi(&mut self, runs: &[usize]) {
        let n = self.c.len();
        for &i in runs {
            if is_word(self.before(i)) {
                continue;
            }
            let mut k = i;
            let mut buf = [' '; 11];
            let mut nb = 0;
            while k < n && nb < 11 {
                let c = self.c[k];
                if c.is_ascii_alphanumeric() {
                    buf[nb] = c.to_ascii_uppercase();
                    nb += 1;
                    k += 1;
                } else if c == '-' && (nb == 4 || nb == 7) {
                    k += 1;
                } else {
                    break;
                }
            }
            if nb == 11 && !is_word(self.at(k)) && mbi_valid(&buf) {
                self.push("US_MBI", i, k);
            }
        }
    }

    /// Phone numbers; with `plus_only`, only international numbers written with a leading '+'.
    fn phones(&mut self, runs: &[usize], plus_only: bool) {
        let n = self.c.len();
        let mut next = 0;
        const CTX: [&str; 12] = [
            "phone",
            "call",
            "cell",
            "mobile",
            "tel",
            "number",
            "text me",
            "reach me",
            "fax",
            "teléfono",
            "telefono",
            "celular",
        ];
        // A number starts at a run of digits or at the '+' or '(' just before one.
        let lead = |r: usize| (r > 0 && matches!(self.c[r - 1], '+' | '(')).then(|| r - 1);
        let candidates: Vec<usize> = runs
            .iter()
            .flat_map(|&r| lead(r).into_iter().chain(std::iter::once(r)))
            .collect();
        for i in candidates {
            if i < next {
                continue;
            }
            let c = self.c[i];
            let starter = c == '+' && self.at(i + 1).is_ascii_digit()
                || c == '(' && self.at(i + 1).is_ascii_digit()
                || c.is_ascii_digit();
            // A number glued to a letter ("is415-555-0132") is still a phone number when it is a
            // complete, separated US number; that is checked below.
            let glued = self.before(i).is_alphabetic();
            if !starter
                || (is_word(self.before(i)) && !glued)
                || !self.free(i, i + 1)
                || (plus_only && c != '+')
            {
                continue;
            }
            let plus = c == '+';
            let mut b = i + usize::from(plus);
            let mut nd = 0;
            let mut groups = 0;
            let mut min_group = usize::MAX;
            let mut cur = 0;
            let mut seps = 0;
            // Sizes of the first four digit groups (a fifth group makes the shape moot).
            let mut shape = [0usize; 4];
            let mut last_digit_end = b;
            while b < n {
                let ch = self.c[b];
                if ch.is_ascii_digit() {
                    nd += 1;
                    cur += 1;
                    b += 1;
                    last_digit_end = b;
                } else if matches!(ch, ' ' | '-' | '.' | '(' | ')') && nd < 15 {
                    let nxt = self.at(b + 1);
                    let ok = nxt.is_ascii_digit()
                        || (ch == ' ' && nxt == '(')
                        || (ch == ')' && nxt == ' ' && self.at(b + 2).is_ascii_digit())
                        || (ch == '(' && nxt.is_ascii_digit());
                    if !ok {
                        break;
                    }
                    if cur > 0 {
                        if groups < 4 {
                            shape[groups] = cur;
                        }
                        groups += 1;
                        min_group = min_group.min(cur);
                        cur = 0;
                    }
                    seps += 1;
                    b += 1;
                } else {
                    break;
                }
            }
            if cur > 0 {
                if groups < 4 {
                    shape[groups] = cur;
                }
                groups += 1;
                min_group = min_group.min(cur);
            }
            let end = last_digit_end;
            let mut a = i;
            // A leading '(' belongs to the number only when it is closed inside it.
            if c == '(' && !self.c[i..end].contains(&')') {
                a = i + 1;
            }
            let mut e = end;
            if self.at(e) == ')' && !self.c[a..e].contains(&'(') {
                e = end;
            }
            let bounded = !is_word(self.at(e)) && self.free(a, e);
            let ok = if plus {
                (8..=15).contains(&nd)
            } else if seps > 0 {
                // Grouped numbers: a US number has 10 digits (11 with the country code 1); other
                // national formats are accepted from 9 digits when every group has two or more.
                (nd == 10
                    || nd == 11 && self.at(a) == '1'
                    || (9..=12).contains(&nd) && min_group >= 2 && groups >= 2)
                    && (groups >= 2)
            } else {
                // Unseparated digits are a phone number only when the context says so.
                (9..=13).contains(&nd) && self.context_before(a, 40, &CTX)
            };
            let ok = ok && (!glued || (seps >= 2 && nd == 10 && !plus));
            // Three, two and four digits ("123-45-6789") is the SSN layout; phone numbers group
            // as 3-3-4 (or 10 to 11 digits), so without a '+' this is never a phone number.
            let ssn_shape = !plus && groups == 3 && shape[..3] == [3, 2, 4];
            if ok && bounded && nd >= 7 && !ssn_shape {
                self.push("PHONE_NUMBER", a, e);
                next = e.max(i + 1);
                continue;
            }
            next = b.max(i + 1);
        }
    }

    fn addresses(&mut self, runs: &[usize]) {
        let n = self.c.len();
        const SUFFIX: [&str; 34] = [
            "street",
            "st",
            "avenue",
            "ave",
            "road",
            "rd",
            "boulevard",
            "blvd",
            "lane",
            "ln",
            "drive",
            "dr",
            "court",
            "ct",
            "way",
            "place",
            "pl",
            "circle",
            "cir",
            "terrace",
            "parkway",
            "pkwy",
            "highway",
            "hwy",
            "square",
            "sq",
            "trail",
            "trl",
            "route",
            "rte",
            "pike",
            "loop",
            "alley",
            "plaza",
        ];
        let mut next = 0;
        for &i in runs {
            if i < next || is_word(self.before(i)) {
                continue;
            }
            // House number: 1 to 6 digits, optional letter.
            let mut b = i;
            while b < n && self.c[b].is_ascii_digit() {
                b += 1;
            }
            if b - i > 6 || self.at(b) != ' ' {
                continue;
            }
            // Up to five words, one of which (not the first) is a street suffix; words start upper-case or are ordinals.
            let mut k = b + 1;
            let mut found_end = None;
            for w in 0..5 {
                let ws = k;
                while k < n && (self.c[k].is_alphanumeric() || self.c[k] == '\'') {
                    k += 1;
                }
                if k == ws {
                    break;
                }
                let word: String = self.lower[ws..k].iter().collect();
                let first = self.c[ws];
                let shouting = k - ws > 2 && self.c[ws..k].iter().all(|c| !c.is_lowercase());
                if !(first.is_uppercase() || first.is_ascii_digit())
                    || (shouting && !self.c[ws].is_ascii_digit())
                {
                    break;
                }
                if w > 0 && SUFFIX.contains(&word.as_str()) {
                    let mut e = k;
                    if self.at(e) == '.' {
                        e += 1;
                    }
                    found_end = Some(e);
                    break;
                }
                if self.at(k) == ' ' {
                    k += 1;
                } else {
                    break;
                }
            }
            // Spanish: "Calle ..." after the number is rare; "Calle Mayor 12" is handled by names below.
            if let Some(mut e) = found_end {
                // Optional unit: ", Apt 4B" / " Apt 4B" / " #4".
                let save = e;
                let mut k2 = e;
                if self.at(k2) == ',' {
                    k2 += 1;
                }
                if self.at(k2) == ' ' {
                    k2 += 1;
                }
                let k2 = k2.min(n);
                let rest: String = self.lower[k2..(k2 + 6).min(n)].iter().collect();
                if rest.starts_with("apt")
                    || rest.starts_with("suite")
                    || rest.starts_with("unit")
                    || rest.starts_with('#')
                {
                    let mut k3 = k2;
                    while k3 < n && !self.c[k3].is_whitespace() {
                        k3 += 1;
                    }
                    if self.at(k3) == ' '
                        && self.at(k3 + 1).is_ascii_alphanumeric()
                        && !rest.starts_with('#')
                    {
                        k3 += 1;
                        while k3 < n && self.c[k3].is_ascii_alphanumeric() {
                            k3 += 1;
                        }
                    }
                    e = k3;
                } else {
                    e = save;
                }
                while e > i && ".,".contains(self.c[e - 1]) {
                    e -= 1;
                }
                if self.at(e) == '.' && self.c[e - 1].is_alphabetic() && e == save {
                    // Keep the abbreviation dot out; a sentence may end there.
                }
                self.push("STREET_ADDRESS", i, e);
                next = e.max(i + 1);
            }
        }
        // P.O. boxes.
        let mut i = 0;
        while i + 6 < n {
            if self.lower[i] == 'p'
                && (self.starts_with_ci(i, "po box ") || self.starts_with_ci(i, "p.o. box "))
                && !is_word(self.before(i))
            {
                let mut k = i + if self.lower[i + 1] == '.' { 9 } else { 7 };
                let ds = k;
                while k < n && self.c[k].is_ascii_digit() {
                    k += 1;
                }
                if k > ds {
                    self.push("STREET_ADDRESS", i, k);
                }
                i = k;
                continue;
            }
            i += 1;
        }
    }

    /// The type the context gives a standalone digit run starting at `i`: a routing number (nine
    /// digits with a valid ABA checksum) or an account number (6 to 17 digits).
    fn bank_ctx_kind(&self, i: usize, digits: &[u8]) -> Option<&'static str> {
        let nd = digits.len();
        if nd == 9 && self.context_before(i, 40, &ROUTING_CTX) && aba_valid(digits) {
            Some("ABA_ROUTING_NUMBER")
        } else if (6..=17).contains(&nd) && self.context_before(i, 40, &ACCOUNT_CTX) {
            Some("US_BANK_NUMBER")
        } else {
            None
        }
    }

    /// Routing numbers in context, bank accounts in context, and other long standalone digit runs.
    fn long_numbers(&mut self, runs: &[usize]) {
        let n = self.c.len();
        for &i in runs {
            if is_word(self.before(i)) {
                continue;
            }
            let mut b = i;
            while b < n && self.c[b].is_ascii_digit() {
                b += 1;
            }
            let money = self.before(i) == '$'
                || (self.at(b) == '.' || self.at(b) == ',') && self.at(b + 1).is_ascii_digit();
            if is_word(self.at(b)) || !self.free(i, b) || money {
                continue;
            }
            let nd = b - i;
            let digits: Vec<u8> = self.c[i..b]
                .iter()
                .map(|c| c.to_digit(10).unwrap_or(0) as u8)
                .collect();
            if let Some(kind) = self.bank_ctx_kind(i, &digits) {
                self.push(kind, i, b);
            } else if (10..=17).contains(&nd) {
                self.push("US_BANK_NUMBER", i, b);
            }
        }
    }

    /// True when a name cue (at the start of a word) ends right before one of `caps`: only then
    /// can [`Scan::names`] find a name, so most texts skip its walk over every word.
    fn name_cue_before(&self, caps: &[usize]) -> bool {
        caps.iter().any(|&k| {
            // The character before the space ends the cue: most capitals are turned away by it.
            let last = if k >= 2 { to_lower(self.c[k - 2]) } else { ' ' };
            if !(last.is_ascii() && NAME_CUE_ENDS.contains(&(last as u8))) {
                return false;
            }
            NAME_CUES.iter().chain(&NAME_TITLES).any(|cue| {
                // Every cue is ASCII, so its length in bytes is its length in characters.
                let n = cue.len();
                k >= n
                    && char::from(cue.as_bytes()[n - 2]) == last
                    && self.starts_with_ci(k - n, cue)
                    && !is_word(self.before(k - n))
            })
        })
    }

    /// Names where the context says so: "my name is", "this is", "me llamo", titles.
    fn names(&mut self) {
        // The first word of every cue; other words are skipped after one comparison.
        const ANCHORS: [&[u8]; 15] = [
            b"my",
            b"name",
            b"me",
            b"mi",
            b"i",
            b"sincerely",
            b"atentamente",
            b"this",
            b"mr",
            b"mrs",
            b"ms",
            b"dr",
            b"miss",
            b"sr",
            b"sra",
        ];
        let n = self.c.len();
        let mut i = 0;
        while i < n {
            if !self.c[i].is_alphabetic() || is_word(self.before(i)) {
                i += 1;
                continue;
            }
            let mut e = i;
            while e < n && self.c[e].is_alphabetic() {
                e += 1;
            }
            let word = &self.c[i..e];
            // Most words are rejected by their length or first letter before any comparison.
            let anchor = word.len() <= 11
                && matches!(to_lower(word[0]), 'm' | 'n' | 'i' | 's' | 'a' | 't' | 'd')
                && {
                    let mut buf = [0u8; 11];
                    for (b, c) in buf.iter_mut().zip(word) {
                        *b = if c.is_ascii() { to_lower(*c) as u8 } else { 0 };
                    }
                    ANCHORS.contains(&&buf[..word.len()])
                };
            if !anchor {
                i = e;
                continue;
            }
            let first = to_lower(self.c[i]);
            let mut start = None;
            for cue in NAME_CUES.iter().chain(NAME_TITLES.iter()) {
                if cue.starts_with(first) && self.starts_with_ci(i, cue) {
                    start = Some(i + cue.chars().count());
                    break;
                }
            }
            let Some(s) = start else {
                i += 1;
                continue;
            };
            let is_this = self.starts_with_ci(i, "this is ");
            // One to three capitalised words.
            let mut k = s;
            let mut end = s;
            let mut words = 0;
            while words < 3 {
                let ws = k;
                if !self.at(k).is_uppercase() {
                    break;
                }
                while k < n && (self.c[k].is_alphabetic() || self.c[k] == '\'' || self.c[k] == '-')
                {
                    k += 1;
                }
                let w: String = self.c[ws..k].iter().map(|c| to_lower(*c)).collect();
                // A name word is written in title case ("Ana", "O'Neil"); all-capital words are
                // usually shouting, acronyms, or masks such as "XXXX".
                let title = self.c[ws + 1..k].iter().any(|c| c.is_lowercase())
                    && self.c[ws + 1..k]
                        .iter()
                        .all(|c| !c.is_uppercase() || ws + 1 < k);
                if !title || STOP_NAMES.contains(&w.trim_end_matches("'s")) {
                    break;
                }
                // Drop a possessive 's from the name span.
                end = if w.ends_with("'s") { k - 2 } else { k };
                words += 1;
                if self.at(k) == ' ' && self.at(k + 1).is_uppercase() {
                    k += 1;
                } else {
                    break;
                }
            }
            // "This is" only introduces a name when two capitalised words follow ("This is Ana Ruiz").
            if words > 0 && (!is_this || words >= 2) {
                self.push("PERSON", s, end);
            }
            i = end.max(i + 1);
        }
    }
}

/// Words after which a name follows ("my name is Ana Ruiz"); lower case, ASCII.
const NAME_CUES: [&str; 9] = [
    "my name is ",
    "my name's ",
    "name: ",
    "me llamo ",
    "mi nombre es ",
    "i am called ",
    "sincerely, ",
    "atentamente, ",
    "this is ",
];

/// Titles before a name ("Dr. Ana Ruiz"); lower case, ASCII.
const NAME_TITLES: [&str; 7] = ["mr. ", "mrs. ", "ms. ", "dr. ", "miss ", "sr. ", "sra. "];

/// The character before the final space of every name cue and title, read from them.
const NAME_CUE_ENDS: [u8; NAME_CUES.len() + NAME_TITLES.len()] = {
    let mut out = [0; NAME_CUES.len() + NAME_TITLES.len()];
    let mut i = 0;
    while i < out.len() {
        let cue = if i < NAME_CUES.len() {
            NAME_CUES[i].as_bytes()
        } else {
            NAME_TITLES[i - NAME_CUES.len()].as_bytes()
        };
        out[i] = cue[cue.len() - 2];
        i += 1;
    }
    out
};

/// Words that follow a cue but are not names.
const STOP_NAMES: [&str; 34] = [
    "i",
    "the",
    "a",
    "an",
    "not",
    "my",
    "it",
    "this",
    "that",
    "and",
    "but",
    "so",
    "very",
    "just",
    "unacceptable",
    "ridiculous",
    "great",
    "terrible",
    "frustrating",
    "why",
    "what",
    "social",
    "el",
    "la",
    "they",
    "we",
    "he",
    "she",
    "please",
    "thank",
    "thanks",
    "dob",
    "internet",
    "customer",
];

/// Words that say a nearby 3-2-4 group or 9-digit number is a social security number: Presidio's
/// US_SSN context words ("ssn" also covers "ssns" and "ssn#"; "security" covers "social
/// security") and their Spanish forms ("seguro social" covers "número de seguro social").
const SSN_CTX: [&str; 9] = [
    "ssn",
    "ss#",
    "ss #",
    "ssid",
    "social",
    "security",
    "soc sec",
    "seguro social",
    "seguridad social",
];

/// Words that say a nearby number is a bank routing number.
const ROUTING_CTX: [&str; 4] = ["routing", "aba", "rtn", "ruta"];

/// Words that say a nearby number is an account number.
const ACCOUNT_CTX: [&str; 3] = ["account", "acct", "cuenta"];

fn dl_ctx_any(s: &Scan, i: usize) -> bool {
    s.context_before(i, 40, &["licen", "driver", "dl#", "conducir"])
}

fn luhn(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (k, &x) in d.iter().rev().enumerate() {
        let mut v = u32::from(x);
        if k % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Issuer prefixes of payment cards (Visa, Mastercard, Amex, Discover, Diners, JCB, Maestro, UATP).
fn card_prefix(d: &[u8]) -> bool {
    let n = d.len();
    match d[0] {
        4 => true,
        5 => n >= 16,
        2 => (d[1] >= 2 && d[1] <= 7) && n == 16,
        3 => matches!(d[1], 0 | 4 | 5 | 6 | 7 | 8),
        6 => n >= 16,
        1 => n == 15,
        _ => false,
    }
}

/// SSN or ITIN from nine digits, or None when the number cannot be either.
fn ssn_kind(d: &[u8; 9]) -> Option<&'static str> {
    let area = u32::from(d[0]) * 100 + u32::from(d[1]) * 10 + u32::from(d[2]);
    let group = u32::from(d[3]) * 10 + u32::from(d[4]);
    let serial = d[5..].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let all_same = d.iter().all(|&x| x == d[0]);
    // Numbers published as examples and never issued.
    let known: u64 = d.iter().fold(0u64, |a, &x| a * 10 + u64::from(x));
    if all_same
        || matches!(
            known,
            78_051_120 | 219_099_999 | 457_555_462 | 123_456_789 | 987_654_320..=987_654_329
        )
    {
        return None;
    }
    if group == 0 || serial == 0 || area == 0 {
        return None;
    }
    if d[0] == 9 {
        let itin = (50..=65).contains(&group)
            || (70..=88).contains(&group)
            || (90..=92).contains(&group)
            || (94..=99).contains(&group);
        return itin.then_some("US_ITIN");
    }
    if area == 666 {
        return None;
    }
    Some("US_SSN")
}

fn aba_valid(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let w = [3u32, 7, 1, 3, 7, 1, 3, 7, 1];
    let s: u32 = d.iter().zip(w).map(|(&x, w)| u32::from(x) * w).sum();
    s.is_multiple_of(10) && d.iter().any(|&x| x != 0)
}

fn mbi_valid(b: &[char; 11]) -> bool {
    let letter = |c: char| c.is_ascii_uppercase() && !"SLOIBZ".contains(c);
    let digit = |c: char| c.is_ascii_digit();
    let either = |c: char| digit(c) || letter(c);
    ('1'..='9').contains(&b[0])
        && letter(b[1])
        && either(b[2])
        && digit(b[3])
        && letter(b[4])
        && either(b[5])
        && digit(b[6])
        && letter(b[7])
        && letter(b[8])
        && digit(b[9])
        && digit(b[10])
}

fn ipv4_at(c: &[char], a: usize) -> Option<usize> {
    let mut k = a;
    for part in 0..4 {
        let s = k;
        let mut v: u32 = 0;
        while k < c.len() && c[k].is_ascii_digit() && k - s < 3 {
            v = v * 10 + c[k].to_digit(10)?;
            k += 1;
        }
        if k == s || v > 255 || (k < c.len() && c[k].is_ascii_digit()) {
            return None;
        }
        if part < 3 {
            if k < c.len() && c[k] == '.' {
                k += 1;
            } else {
                return None;
            }
        }
    }
    Some(k)
}

const MONTHS: [&str; 24] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
];

fn month_at(lower: &[char], a: usize) -> Option<usize> {
    let mut k = a;
    while k < lower.len() && lower[k].is_ascii_alphabetic() {
        k += 1;
    }
    let w = &lower[a..k];
    MONTHS
        .iter()
        .any(|m| m.len() == w.len() && m.chars().zip(w).all(|(x, y)| x == *y))
        .then_some(k)
}

fn digits_at(c: &[char], a: usize, max: usize) -> usize {
    let mut k = a;
    while k < c.len() && c[k].is_ascii_digit() && k - a < max {
        k += 1;
    }
    if k < c.len() && c[k].is_ascii_digit() {
        return 0;
    }
    k - a
}

/// Recognises numeric dates (5/20/2021, 2021-05-21, 21.5.21, 05/21), ISO timestamps, and month
/// names with a day or year (5-May-2021, May 21, 2021, May-2021, 21-May); returns the end.
fn date_at(c: &[char], lower: &[char], a: usize) -> Option<usize> {
    let n = c.len();
    if c[a].is_ascii_alphabetic() {
        let m = month_at(lower, a)?;
        // "May 21, 2021", "May-21", "May-2021".
        let sep = *c.get(m)?;
        if sep != ' ' && sep != '-' {
            return None;
        }
        let d = digits_at(c, m + 1, 4);
        if d == 0 {
            return None;
        }
        let mut e = m + 1 + d;
        if sep == ' ' && d <= 2 && c.get(e) == Some(&',') && c.get(e + 1) == Some(&' ') {
            let y = digits_at(c, e + 2, 4);
            if y == 4 {
                e += 2 + y;
            }
        }
        return Some(e);
    }
    let g1 = digits_at(c, a, 4);
    if g1 == 0 {
        return None;
    }
    let mut k = a + g1;
    let sep = *c.get(k)?;
    if !matches!(sep, '/' | '-' | '.') {
        return None;
    }
    k += 1;
    // Month name as the second group: 5-May-2021, 21-May.
    if c.get(k).is_some_and(|x| x.is_ascii_alphabetic()) {
        if g1 > 2 {
            return None;
        }
        let m = month_at(lower, k)?;
        if c.get(m) == Some(&sep) {
            let y = digits_at(c, m + 1, 4);
            if y == 2 || y == 4 {
                return Some(m + 1 + y);
            }
        }
        return Some(m);
    }
    let g2 = digits_at(c, k, 4);
    if g2 == 0 {
        return None;
    }
    k += g2;
    if c.get(k) == Some(&sep) && c.get(k + 1).is_some_and(|x| x.is_ascii_digit()) {
        let g3 = digits_at(c, k + 1, 4);
        let e = k + 1 + g3;
        let ok = (g1 == 4 && g2 <= 2 && g3 <= 2) || (g1 <= 2 && g2 <= 2 && (g3 == 2 || g3 == 4));
        if !ok {
            return None;
        }
        // ISO timestamp tail: T14:30[:00[.123]][Z|+hh:mm].
        let mut e2 = e;
        if g1 == 4 && c.get(e) == Some(&'T') {
            let mut k2 = e + 1;
            while k2 < n && (c[k2].is_ascii_digit() || matches!(c[k2], ':' | '.')) {
                k2 += 1;
            }
            if k2 < n && c[k2] == 'Z' {
                k2 += 1;
            } else if k2 < n && (c[k2] == '+' || c[k2] == '-') {
                let mut k3 = k2 + 1;
                while k3 < n && (c[k3].is_ascii_digit() || c[k3] == ':') {
                    k3 += 1;
                }
                k2 = k3;
            }
            e2 = k2;
        }
        if c.get(e2).is_some_and(|x| {
            x.is_ascii_digit() || (*x == sep && c.get(e2 + 1).is_some_and(|y| y.is_ascii_digit()))
        }) {
            return None;
        }
        return Some(e2);
    }
    // Two groups: 05/21, 5/2021 (month/day or month/year) — slash only, to avoid scores and ranges.
    if sep == '/' && g1 <= 2 && (g2 <= 2 || g2 == 4) {
        let m: u32 = c[a..a + g1].iter().collect::<String>().parse().ok()?;
        if (1..=12).contains(&m) {
            return Some(k);
        }
    }
    None
}

/// True when a bare domain (no scheme, no "www.") ends in a known top-level domain. Two-label
/// names whose top-level domain is also an English word ("died.It", "report.in") are sentences
/// missing a space, not domains, and a capitalised top-level domain ("time.In") is never one.
fn known_tld(host: &[char]) -> bool {
    let Some(dot) = host.iter().rposition(|&c| c == '.') else {
        return false;
    };
    let raw = &host[dot + 1..];
    if raw.iter().any(|c| c.is_uppercase()) && raw.iter().any(|c| c.is_lowercase()) {
        return false;
    }
    let tld: String = raw.iter().map(|c| c.to_ascii_lowercase()).collect();
    let labels = host.iter().filter(|&&c| c == '.').count() + 1;
    if labels == 2
        && [
            "in", "it", "is", "me", "am", "at", "be", "by", "do", "go", "no", "so", "to", "us",
            "my", "as", "an", "or", "on", "up", "we", "he", "hi",
        ]
        .contains(&tld.as_str())
    {
        return false;
    }
    const TLDS: [&str; 40] = [
        "com",
        "org",
        "net",
        "edu",
        "gov",
        "mil",
        "io",
        "co",
        "us",
        "uk",
        "il",
        "de",
        "fr",
        "es",
        "mx",
        "ca",
        "info",
        "biz",
        "site",
        "online",
        "app",
        "dev",
        "me",
        "ly",
        "ai",
        "tv",
        "cc",
        "xyz",
        "int",
        "eu",
        "in",
        "br",
        "jp",
        "cn",
        "au",
        "ru",
        "it",
        "nl",
        "webcam",
        "vlaanderen",
    ];
    TLDS.contains(&tld.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(t: &str) -> Vec<(&'static str, String)> {
        let c: Vec<char> = t.chars().collect();
        detect(&c, RedactConfig::default())
            .into_iter()
            .map(|s| (s.kind, c[s.start..s.end].iter().collect()))
            .collect()
    }

    #[test]
    fn finds_common_entities() {
        assert_eq!(
            kinds("my ssn is 078-05-1123"),
            vec![("US_SSN", "078-05-1123".into())]
        );
        assert_eq!(
            kinds("mail me: a.b@example.org."),
            vec![("EMAIL_ADDRESS", "a.b@example.org".into())]
        );
        assert_eq!(
            kinds("call (415) 555-0132 now"),
            vec![("PHONE_NUMBER", "(415) 555-0132".into())]
        );
        assert_eq!(
            kinds("card 4111 1111 1111 1111"),
            vec![("CREDIT_CARD", "4111 1111 1111 1111".into())]
        );
        assert_eq!(
            kinds("I live at 1600 Pennsylvania Avenue, Apt 4B and"),
            vec![("STREET_ADDRESS", "1600 Pennsylvania Avenue, Apt 4B".into())]
        );
        assert_eq!(
            kinds("Hello, my name is David Johnson and"),
            vec![("PERSON", "David Johnson".into())]
        );
        assert_eq!(
            kinds("born on 04/12/1980"),
            vec![("DATE_TIME", "04/12/1980".into())]
        );
        assert_eq!(kinds("visit login.gov today"), vec![]);
        assert_eq!(
            kinds("my MBI is 1EG4-TE5-MK73"),
            vec![("US_MBI", "1EG4-TE5-MK73".into())]
        );
        assert_eq!(
            kinds("routing 021000021"),
            vec![("ABA_ROUTING_NUMBER", "021000021".into())]
        );
        // IPv6: with "::", with eight groups, and with six groups before an IPv4 tail.
        for ip in [
            "fe80::1%eth0",
            "1:2:3:4:5:6:7:8",
            "0:0:0:0:0:FFFF:129.144.52.38",
        ] {
            assert_eq!(
                kinds(&format!("from {ip} today")),
                [("IP_ADDRESS", ip.into())]
            );
        }
    }

    #[test]
    fn ssn_shape_beats_phone() {
        // Published example numbers (never issued) are SSNs when the text says so.
        assert_eq!(
            kinds("My SSN is 123-45-6789"),
            vec![("US_SSN", "123-45-6789".into())]
        );
        assert_eq!(
            kinds("my social security number is 123 45 6789"),
            vec![("US_SSN", "123 45 6789".into())]
        );
        assert_eq!(
            kinds("my social security number is 123456789"),
            vec![("US_SSN", "123456789".into())]
        );
        assert_eq!(
            kinds("mi número de seguro social es 123.45.6789"),
            vec![("US_SSN", "123.45.6789".into())]
        );
        assert_eq!(
            kinds("SS# 000-12-3456, thanks"),
            vec![("US_SSN", "000-12-3456".into())]
        );
        assert_eq!(
            kinds("123-45-6789 is my ssn"),
            vec![("US_SSN", "123-45-6789".into())]
        );
        // Context on a phone number does not make it an SSN, nor the reverse.
        assert_eq!(
            kinds("call me at 212-555-0147"),
            vec![("PHONE_NUMBER", "212-555-0147".into())]
        );
        assert_eq!(
            kinds("my ssn is 078-05-1123, call me at 212-555-0147"),
            vec![
                ("US_SSN", "078-05-1123".into()),
                ("PHONE_NUMBER", "212-555-0147".into())
            ]
        );
        // A 3-2-4 group is never a phone number, even when invalid as an SSN and without context.
        assert_eq!(kinds("000-12-3456"), vec![]);
        assert_eq!(kinds("call me at 000-12-3456"), vec![]);
        assert_eq!(kinds("call me at 123-45-6789"), vec![]);
        assert_eq!(kinds("phone 078 00 1123"), vec![]);
        assert_eq!(kinds("number 666.12.3456"), vec![]);
        // A context word glued inside another word is no context.
        assert_eq!(kinds("classnote 123-45-6789"), vec![]);
        // Explicit context for another nine-digit type outranks the bare SSN shape, but not an
        // SSN cue.
        assert_eq!(
            kinds("routing number is: 101205681"),
            vec![("ABA_ROUTING_NUMBER", "101205681".into())]
        );
        assert_eq!(
            kinds("my bank account number is 912803456"),
            vec![("US_BANK_NUMBER", "912803456".into())]
        );
        assert_eq!(
            kinds("the account holder's ssn is 078051121"),
            vec![("US_SSN", "078051121".into())]
        );
        assert_eq!(
            kinds("my itin: 911701234"),
            vec![("US_ITIN", "911701234".into())]
        );
        // A valid ITIN keeps its type under SSN context.
        assert_eq!(
            kinds("my ssn is 911-70-1234"),
            vec![("US_ITIN", "911-70-1234".into())]
        );
    }

    #[test]
    fn name_cues_end_as_the_fast_check_expects() {
        for cue in NAME_CUES.iter().chain(&NAME_TITLES) {
            let b = cue.as_bytes();
            assert!(
                cue.is_ascii() && b.len() >= 2 && b[b.len() - 1] == b' ',
                "{cue}"
            );
            assert!(NAME_CUE_ENDS.contains(&b[b.len() - 2]), "{cue}");
        }
        // A cue in any case, then a capital: the name is found; without a cue, nothing is.
        assert_eq!(
            kinds("Hello, MY NAME IS Ana Ruiz"),
            [("PERSON", "Ana Ruiz".into())]
        );
        assert!(kinds("Hello. The Office is Open").is_empty());
    }

    #[test]
    fn fuzz_regressions() {
        // An address at the very end of the text once read past it.
        let _ = redact(
            "Hello, my name is D henue, ip ::fff my nfb w\u{0}\u{0}\u{0}5 1/9>000 641 Pennsylv Ave",
        );
        let _ = redact("12 Main St,");
        let _ = redact("12 Main St, ");
    }

    #[test]
    fn redaction_replaces_spans() {
        let (r, s) = redact("SSN 078-05-1123, email x@y.com");
        assert_eq!(r, "SSN <US_SSN>, email <EMAIL_ADDRESS>");
        assert_eq!(s.len(), 2);
    }
}
