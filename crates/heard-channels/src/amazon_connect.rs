//! Amazon Connect: contact records become `call` (or `chat`) events, and Contact Lens call analyses become call
//! transcripts (signals), by the field names AWS publishes.
//!
//! Sources (the published data models these names follow):
//! - Contact records, streamed through Kinesis: "Data model for Amazon Connect contact records",
//!   <https://docs.aws.amazon.com/connect/latest/adminguide/ctr-data-model.html> (`ContactTraceRecord`, `Agent`,
//!   `QueueInfo`, `Endpoint`, and "How to identify abandoned contacts"); the endpoint types (`TELEPHONE_NUMBER`,
//!   `EMAIL_ADDRESS`, …) as the API reference lists them, <https://docs.aws.amazon.com/connect/latest/APIReference/API_Endpoint.html>.
//! - Contact Lens output files: "Example Contact Lens output files for a call",
//!   <https://docs.aws.amazon.com/connect/latest/adminguide/contact-lens-example-output-files.html>, and the
//!   `Transcript` type, <https://docs.aws.amazon.com/contact-lens/latest/APIReference/API_Transcript.html>.
//!
//! **Contact record → event.** `ContactId` is the external id; `InitiationTimestamp` is when it happened; `Channel`
//! `VOICE` (or none, as in records from before chat) is a `call`, `CHAT` a `chat`; other channels (tasks, email) are
//! refused by name, since they are not a conversation with the public. Measures, in seconds unless said:
//! `wait` = `Queue.Duration` (or `DequeueTimestamp` − `EnqueueTimestamp`); `handle_time` =
//! `Agent.AgentInteractionDuration` + `Agent.CustomerHoldDuration` + `Agent.AfterContactWorkDuration` (talk, hold and
//! after-contact work, as Amazon Connect's own "average handle time" counts it); `hold` = `CustomerHoldDuration`;
//! `holds` (count) = `NumberOfHolds`; `after_contact_work` = `AfterContactWorkDuration`; `transfers` (count) = 1 when
//! the contact was transferred on (`NextContactId`, `TransferredToEndpoint` or `TransferCompletedTimestamp`), else 0.
//! Each contact of a transfer chain is its own record, so a chain's transfers add up. Attributes: `queue` =
//! `Queue.Name`; `abandoned` (only for a queued contact) = enqueued, never connected to an agent
//! (`Agent.ConnectedToAgentTimestamp`) and not transferred on, AWS's definition; `disconnect_reason` and
//! `initiation_method` lower-cased; `disposition` from the contact attribute the organization names. The contact's
//! own `Attributes` are otherwise not kept (they often hold personal data).
//!
//! **Who and what.** The person is the customer endpoint when its `Type` is `TELEPHONE_NUMBER` (E.164, as AWS sends
//! it) or `EMAIL_ADDRESS`, or the agency's customer id from a contact attribute it names (which wins). The pipeline
//! replaces it with the per-organization person key; the number itself is never stored. A withheld or malformed
//! caller id links to nobody and the call still counts. The reference (a case number) is the contact attribute the
//! organization names (`reference_attribute`, e.g. `caseNumber`). Service and touchpoint come from the queue's name
//! through the organization's `Mapping` (kept by the server, edited through `PUT /api/v1/amazon-connect/mapping`); a
//! queue not in it gives an event with no service.
//!
//! **Updated records.** AWS delivers a record at least once and sends it again when it changes (for instance
//! `update-contact-attributes`); `LastUpdateTimestamp` orders the copies. Heard follows the ingestion rule for external
//! ids: the event is what was mapped, so a copy that maps to the same event (a plain redelivery, or a change only to
//! fields Heard does not read, `LastUpdateTimestamp` included) is a `duplicate`; a copy that maps to a different event
//! (a measure or a named attribute changed) is `reused` and the first one is kept. Versioning copies under
//! `ContactId` + `LastUpdateTimestamp` was rejected: every version would count as another call in every wait and
//! handle-time figure. The first record AWS sends is the one written when the contact (and its after-contact work)
//! ended, so its measures are the final ones.
//!
//! **Contact Lens output → call transcript.** `CustomerMetadata.ContactId` is the external id (the same as the call
//! event's, in the signals' own namespace); each `Transcript` turn's `ParticipantId` is looked up in `Participants`
//! (or is itself a role, as in AWS's redacted example): role `CUSTOMER` is the customer, every other role (`AGENT`,
//! `SYSTEM` prompts, supervisors) speaks for the agency and is kept as an agent turn, so only the customer's words are
//! analysed. `LanguageCode` (`en-US`) gives the language. Contact Lens's own sentiment, loudness and redaction offsets
//! are not kept: the pipeline redacts and analyses the text itself. The file carries no time and no phone number; the
//! server links the transcript to the call event with the same `ContactId` (its person, reference, service and time).
//!
//! Errors name the item and the Connect field: `[2].Queue.Duration`, `[0].Transcript[3].ParticipantId`.

use std::collections::BTreeMap;

use heard_domain::event::{EventInput, EventType, parse_event};
use heard_domain::identity::PersonId;
use heard_domain::intake::{at, parse_time};
use heard_domain::signal::{SignalInput, parse_signal};
use heard_domain::{FieldError, FieldErrors, ServiceId, TouchpointId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The `source` events from contact records are stored with.
pub const SOURCE: &str = "amazon-connect";

/// The most queues a mapping may route.
pub const MAX_QUEUES: usize = 1000;

/// An organization's settings for its Amazon Connect records: which contact attributes carry a case number, a
/// customer id and a disposition, and which service (and touchpoint) each queue serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The contact attribute holding the case or application number (e.g. `caseNumber`).
    #[serde(default)]
    pub reference_attribute: Option<String>,
    /// The contact attribute holding the agency's own customer id; when present it names the person.
    #[serde(default)]
    pub customer_id_attribute: Option<String>,
    /// The contact attribute holding the call's disposition (its outcome code).
    #[serde(default)]
    pub disposition_attribute: Option<String>,
    /// Queue name (exactly as Amazon Connect names it) to service and touchpoint.
    #[serde(default)]
    pub queues: Vec<QueueRoute>,
}

/// Where one queue's contacts belong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueRoute {
    /// `Queue.Name` in the contact record.
    pub queue: String,
    pub service_id: ServiceId,
    #[serde(default)]
    pub touchpoint_id: Option<TouchpointId>,
}

impl Mapping {
    /// Reads a mapping document, every problem named by its field (`queues[2].queue`). Attribute names are 1 to 128
    /// characters (Amazon Connect's limit for attribute keys); queue names 1 to 256 and unique; at most
    /// `MAX_QUEUES`. Whether the services and touchpoints are the organization's is the server's check.
    pub fn parse(v: &Value) -> Result<Mapping, FieldErrors> {
        if !v.is_object() {
            return Err(FieldErrors::single(
                "body",
                "not_an_object",
                "the body must be a JSON object: {\"reference_attribute\", \"customer_id_attribute\", \"disposition_attribute\", \"queues\"}",
            ));
        }
        let m: Mapping = serde_json::from_value(v.clone()).map_err(|e| {
            FieldErrors::single(
                "body",
                "invalid_mapping",
                format!(
                    "the body must be {{\"reference_attribute\", \"customer_id_attribute\", \"disposition_attribute\", \
                     \"queues\": [{{\"queue\", \"service_id\", \"touchpoint_id\"}}]}}: {e}"
                ),
            )
        })?;
        let mut errs = FieldErrors::default();
        for (k, v) in [
            ("reference_attribute", &m.reference_attribute),
            ("customer_id_attribute", &m.customer_id_attribute),
            ("disposition_attribute", &m.disposition_attribute),
        ] {
            if v.as_ref()
                .is_some_and(|s| !(1..=128).contains(&s.chars().count()))
            {
                errs.push(FieldError::new(
                    k,
                    "invalid_name",
                    format!("{k} must be an attribute name of 1 to 128 characters"),
                ));
            }
        }
        if m.queues.len() > MAX_QUEUES {
            errs.push(FieldError::new(
                "queues",
                "too_many",
                format!("queues may route at most {MAX_QUEUES} queues"),
            ));
        }
        for (i, q) in m.queues.iter().enumerate() {
            if !(1..=256).contains(&q.queue.chars().count())
                || m.queues[..i].iter().any(|x| x.queue == q.queue)
            {
                errs.push(FieldError::new(
                    format!("queues[{i}].queue"),
                    "invalid_queue",
                    "queue names are 1 to 256 characters, each listed once",
                ));
            }
        }
        errs.into_result(m)
    }

    /// The route of a queue, by its exact name.
    pub fn route(&self, queue: &str) -> Option<&QueueRoute> {
        self.queues.iter().find(|q| q.queue == queue)
    }
}

// Reading Connect fields, each problem named by its path.

fn object<'a>(
    m: &'a Map<String, Value>,
    path: &str,
    k: &str,
    errs: &mut FieldErrors,
) -> Option<&'a Map<String, Value>> {
    match m.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => Some(o),
        Some(_) => {
            let f = at(path, k);
            errs.push(FieldError::new(
                &f,
                "not_an_object",
                format!("{f} must be an object"),
            ));
            None
        }
    }
}

fn text<'a>(
    m: &'a Map<String, Value>,
    path: &str,
    k: &str,
    errs: &mut FieldErrors,
) -> Option<&'a str> {
    match m.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(_) => {
            let f = at(path, k);
            errs.push(FieldError::new(
                &f,
                "not_text",
                format!("{f} must be a non-empty string"),
            ));
            None
        }
    }
}

/// A whole number, 0 or more (Connect's durations are whole seconds, its counts whole).
fn whole(m: &Map<String, Value>, path: &str, k: &str, errs: &mut FieldErrors) -> Option<u64> {
    match m.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        Some(Value::Number(n)) if n.as_f64().is_some_and(|x| x >= 0.0 && x.fract() == 0.0) => {
            n.as_f64().map(|x| x as u64)
        }
        Some(_) => {
            let f = at(path, k);
            errs.push(FieldError::new(
                &f,
                "invalid_number",
                format!("{f} must be a whole number, 0 or more"),
            ));
            None
        }
    }
}

fn time(
    m: &Map<String, Value>,
    path: &str,
    k: &str,
    now_ms: i64,
    errs: &mut FieldErrors,
) -> Option<i64> {
    let s = text(m, path, k, errs)?;
    parse_time(&at(path, k), s, now_ms)
        .map_err(|e| errs.push(e))
        .ok()
}

/// The value of a named contact attribute (`Attributes.<name>`), when present.
fn attribute<'a>(
    attrs: Option<&'a Map<String, Value>>,
    prefix: &str,
    name: Option<&str>,
    errs: &mut FieldErrors,
) -> Option<&'a str> {
    let (attrs, name) = (attrs?, name?);
    text(attrs, &at(prefix, "Attributes"), name, errs)
}

/// The JSON object one entry of a request must be (`what`: "a contact record", ...), or the error naming it by
/// `prefix` (`body` for a request of one).
fn entry_object<'a>(
    v: &'a Value,
    prefix: &str,
    what: &str,
) -> Result<&'a Map<String, Value>, FieldErrors> {
    v.as_object().ok_or_else(|| {
        let f = if prefix.is_empty() { "body" } else { prefix };
        FieldErrors::single(
            f,
            "not_an_object",
            format!("{f} must be {what} (a JSON object)"),
        )
    })
}

/// Maps one contact record (`ContactTraceRecord`) to an event of the organization's `catalogue`, errors named under
/// `prefix` by Connect field (`[2].Queue.Duration`). `now_ms` bounds its times (the ingestion time rule).
pub fn contact_record_event(
    v: &Value,
    prefix: &str,
    mapping: &Mapping,
    catalogue: &[EventType],
    now_ms: i64,
) -> Result<EventInput, FieldErrors> {
    let r = entry_object(v, prefix, "a contact record")?;
    let mut errs = FieldErrors::default();
    let contact_id = text(r, prefix, "ContactId", &mut errs);
    if contact_id.is_none() && !r.contains_key("ContactId") {
        let f = at(prefix, "ContactId");
        errs.push(FieldError::new(
            &f,
            "required",
            format!("{f} is required: the contact's id"),
        ));
    }
    let ty = match text(r, prefix, "Channel", &mut errs) {
        None | Some("VOICE") => "call",
        Some("CHAT") => "chat",
        Some(other) => {
            let f = at(prefix, "Channel");
            errs.push(FieldError::new(
                &f,
                "unsupported_channel",
                format!(
                    "{f} is {}: Heard takes VOICE and CHAT contacts, conversations with the public; leave the others out of the stream",
                    other.chars().take(20).collect::<String>()
                ),
            ));
            "call"
        }
    };
    let initiated = text(r, prefix, "InitiationTimestamp", &mut errs);
    if let Some(t) = initiated {
        // Checked here too, so its fault is reported beside the others.
        if let Err(e) = parse_time(&at(prefix, "InitiationTimestamp"), t, now_ms) {
            errs.push(e);
        }
    } else if !r.contains_key("InitiationTimestamp") {
        let f = at(prefix, "InitiationTimestamp");
        errs.push(FieldError::new(
            &f,
            "required",
            format!("{f} is required: when the contact began"),
        ));
    }
    let attrs = object(r, prefix, "Attributes", &mut errs);
    let mut measures = Map::new();
    let mut attributes = Map::new();

    // The queue: its wait, its name (and through it the service), and whether the caller gave up in it.
    let qp = at(prefix, "Queue");
    let queue = object(r, prefix, "Queue", &mut errs);
    let mut enqueued = false;
    let mut route = None;
    if let Some(q) = queue {
        let name = text(q, &qp, "Name", &mut errs);
        let duration = whole(q, &qp, "Duration", &mut errs);
        let enq = time(q, &qp, "EnqueueTimestamp", now_ms, &mut errs);
        let deq = time(q, &qp, "DequeueTimestamp", now_ms, &mut errs);
        enqueued = enq.is_some() || duration.is_some();
        let wait = duration.map(|d| d as f64).or(match (enq, deq) {
            (Some(e), Some(d)) if d >= e => Some(((d - e) / 1000) as f64),
            _ => None,
        });
        if let Some(w) = wait {
            measures.insert("wait".into(), json!(w));
        }
        if let Some(n) = name {
            attributes.insert("queue".into(), json!(n));
            route = mapping.route(n);
        }
    }

    // The agent: handle time and its parts.
    let ap = at(prefix, "Agent");
    let mut connected = false;
    if let Some(a) = object(r, prefix, "Agent", &mut errs) {
        connected = time(a, &ap, "ConnectedToAgentTimestamp", now_ms, &mut errs).is_some();
        let talk = whole(a, &ap, "AgentInteractionDuration", &mut errs);
        let hold = whole(a, &ap, "CustomerHoldDuration", &mut errs);
        let acw = whole(a, &ap, "AfterContactWorkDuration", &mut errs);
        let holds = whole(a, &ap, "NumberOfHolds", &mut errs);
        if talk.is_some() || hold.is_some() || acw.is_some() {
            let total = talk.unwrap_or(0) + hold.unwrap_or(0) + acw.unwrap_or(0);
            measures.insert("handle_time".into(), json!(total as f64));
        }
        if let Some(h) = hold {
            measures.insert("hold".into(), json!(h as f64));
        }
        if let Some(a) = acw {
            measures.insert("after_contact_work".into(), json!(a as f64));
        }
        if let Some(n) = holds {
            measures.insert("holds".into(), json!(n));
        }
    }

    // Transferred on: to another contact (a queue or agent) or out of Amazon Connect.
    let next = text(r, prefix, "NextContactId", &mut errs).is_some();
    let out = object(r, prefix, "TransferredToEndpoint", &mut errs).is_some();
    let out_at = time(r, prefix, "TransferCompletedTimestamp", now_ms, &mut errs).is_some();
    let transferred = next || out || out_at;
    measures.insert("transfers".into(), json!(u64::from(transferred)));
    if enqueued {
        attributes.insert(
            "abandoned".into(),
            json!(!connected && !transferred && queue.is_some()),
        );
    }
    for (k, name) in [
        ("DisconnectReason", "disconnect_reason"),
        ("InitiationMethod", "initiation_method"),
    ] {
        if let Some(s) = text(r, prefix, k, &mut errs) {
            attributes.insert(name.into(), json!(s.to_ascii_lowercase()));
        }
    }
    if let Some(d) = attribute(
        attrs,
        prefix,
        mapping.disposition_attribute.as_deref(),
        &mut errs,
    ) {
        attributes.insert("disposition".into(), json!(d));
    }

    // Who: the agency's customer id, else the customer endpoint's number or address.
    let customer = attribute(
        attrs,
        prefix,
        mapping.customer_id_attribute.as_deref(),
        &mut errs,
    );
    let ep = at(prefix, "CustomerEndpoint");
    let endpoint = object(r, prefix, "CustomerEndpoint", &mut errs).and_then(|e| {
        let ty = text(e, &ep, "Type", &mut errs);
        let address = text(e, &ep, "Address", &mut errs)?;
        match ty {
            Some("TELEPHONE_NUMBER") => PersonId::phone("", address)
                .ok()
                .map(|_| json!({"phone": address})),
            Some("EMAIL_ADDRESS") => PersonId::email("", address)
                .ok()
                .map(|_| json!({"email": address})),
            _ => None,
        }
    });
    let person = customer.map(|c| json!({"customer_id": c})).or(endpoint);
    let reference = attribute(
        attrs,
        prefix,
        mapping.reference_attribute.as_deref(),
        &mut errs,
    );

    if !errs.is_empty() {
        return Err(errs);
    }
    let mut item = Map::new();
    item.insert("external_id".into(), json!(contact_id.unwrap_or_default()));
    item.insert("type".into(), json!(ty));
    item.insert("occurred_at".into(), json!(initiated.unwrap_or_default()));
    if let Some(p) = person {
        item.insert("person".into(), p);
    }
    if let Some(r) = reference {
        item.insert("reference".into(), json!(r));
    }
    if let Some(r) = route {
        item.insert(
            "service_id".into(),
            json!(r.service_id.as_uuid().to_string()),
        );
        if let Some(t) = r.touchpoint_id {
            item.insert("touchpoint_id".into(), json!(t.as_uuid().to_string()));
        }
    }
    item.insert("measures".into(), Value::Object(measures));
    item.insert("attributes".into(), Value::Object(attributes));
    parse_event(&item, prefix, catalogue, now_ms).map_err(|FieldErrors(es)| {
        FieldErrors(
            es.into_iter()
                .map(|mut e| {
                    e.field = record_field(prefix, &e.field, mapping);
                    e
                })
                .collect(),
        )
    })
}

/// Names an event item's field by the contact record field it came from.
pub fn record_field(prefix: &str, field: &str, mapping: &Mapping) -> String {
    let rest = if prefix.is_empty() {
        field
    } else {
        field
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or(field)
    };
    let attr = |name: &Option<String>| format!("Attributes.{}", name.as_deref().unwrap_or(""));
    let mapped = match rest {
        "external_id" => "ContactId".to_string(),
        "type" => "Channel".to_string(),
        "occurred_at" => "InitiationTimestamp".to_string(),
        "service_id" | "touchpoint_id" | "attributes.queue" => "Queue.Name".to_string(),
        "reference" => attr(&mapping.reference_attribute),
        "attributes.disposition" => attr(&mapping.disposition_attribute),
        r if r.starts_with("person.customer_id") => attr(&mapping.customer_id_attribute),
        r if r.starts_with("person") => "CustomerEndpoint.Address".to_string(),
        "measures.wait" => "Queue.Duration".to_string(),
        "measures.handle_time" => "Agent.AgentInteractionDuration".to_string(),
        "measures.hold" => "Agent.CustomerHoldDuration".to_string(),
        "measures.holds" => "Agent.NumberOfHolds".to_string(),
        "measures.after_contact_work" => "Agent.AfterContactWorkDuration".to_string(),
        "measures.transfers" => "NextContactId".to_string(),
        "attributes.disconnect_reason" => "DisconnectReason".to_string(),
        "attributes.initiation_method" => "InitiationMethod".to_string(),
        r => r.to_string(),
    };
    at(prefix, &mapped)
}

/// A Contact Lens call analysis, mapped: the contact it belongs to and its transcript as a signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// `CustomerMetadata.ContactId`: the call event with the same external id is the same contact.
    pub contact_id: String,
    /// A `call_transcript` signal; its time is `now_ms` (the file has none) until the server links it to its call.
    pub signal: SignalInput,
}

/// Maps one Contact Lens output file for a call to a transcript signal, errors named under `prefix` by Contact Lens
/// field (`Transcript[3].ParticipantId`).
pub fn contact_lens_transcript(
    v: &Value,
    prefix: &str,
    now_ms: i64,
) -> Result<Transcript, FieldErrors> {
    let r = entry_object(v, prefix, "a Contact Lens output file")?;
    let mut errs = FieldErrors::default();
    let mp = at(prefix, "CustomerMetadata");
    let contact_id = match object(r, prefix, "CustomerMetadata", &mut errs) {
        Some(c) => {
            let id = text(c, &mp, "ContactId", &mut errs);
            if id.is_none() && !c.contains_key("ContactId") {
                let f = at(&mp, "ContactId");
                errs.push(FieldError::new(
                    &f,
                    "required",
                    format!("{f} is required: the contact the call analysis is of"),
                ));
            }
            id
        }
        None => {
            if !r.contains_key("CustomerMetadata") {
                let f = at(&mp, "ContactId");
                errs.push(FieldError::new(
                    &f,
                    "required",
                    format!("{f} is required: the contact the call analysis is of"),
                ));
            }
            None
        }
    };
    match text(r, prefix, "Channel", &mut errs) {
        None | Some("VOICE") => {}
        Some(other) => {
            let f = at(prefix, "Channel");
            errs.push(FieldError::new(
                &f,
                "unsupported_channel",
                format!(
                    "{f} is {}: this address takes the Contact Lens analysis of a call (VOICE)",
                    other.chars().take(20).collect::<String>()
                ),
            ));
        }
    }
    let language = text(r, prefix, "LanguageCode", &mut errs);
    // ParticipantId → ParticipantRole.
    let mut roles: BTreeMap<&str, &str> = BTreeMap::new();
    match r.get("Participants") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ps)) => {
            for (i, p) in ps.iter().enumerate() {
                let pp = format!("{}[{i}]", at(prefix, "Participants"));
                let Some(p) = p.as_object() else {
                    errs.push(FieldError::new(
                        &pp,
                        "not_an_object",
                        format!("{pp} must be {{\"ParticipantId\", \"ParticipantRole\"}}"),
                    ));
                    continue;
                };
                if let (Some(id), Some(role)) = (
                    text(p, &pp, "ParticipantId", &mut errs),
                    text(p, &pp, "ParticipantRole", &mut errs),
                ) {
                    roles.insert(id, role);
                }
            }
        }
        Some(_) => {
            let f = at(prefix, "Participants");
            errs.push(FieldError::new(
                &f,
                "not_a_list",
                format!("{f} must be a list of {{\"ParticipantId\", \"ParticipantRole\"}}"),
            ));
        }
    }
    let tp = at(prefix, "Transcript");
    let mut turns = Vec::new();
    // Turn index → Transcript index, to name errors the pipeline finds in a turn.
    let mut origin = Vec::new();
    match r.get("Transcript") {
        Some(Value::Array(ts)) if !ts.is_empty() => {
            for (j, t) in ts.iter().enumerate() {
                let p = format!("{tp}[{j}]");
                let Some(t) = t.as_object() else {
                    errs.push(FieldError::new(
                        &p,
                        "not_an_object",
                        format!("{p} must be a turn {{\"ParticipantId\", \"Content\", …}}"),
                    ));
                    continue;
                };
                let content = match t.get("Content") {
                    Some(Value::String(s)) => Some(s.as_str()),
                    _ => {
                        let f = at(&p, "Content");
                        errs.push(FieldError::new(
                            &f,
                            "required",
                            format!("{f} is required: what was said, as a string"),
                        ));
                        None
                    }
                };
                let speaker = text(t, &p, "ParticipantId", &mut errs).and_then(|id| {
                    let role = roles.get(id).copied().or(match id {
                        "CUSTOMER" | "AGENT" | "SYSTEM" => Some(id),
                        _ => None,
                    });
                    match role {
                        Some("CUSTOMER") => Some("customer"),
                        Some(_) => Some("agent"),
                        None => {
                            let f = at(&p, "ParticipantId");
                            errs.push(FieldError::new(
                                &f,
                                "unknown_participant",
                                format!("{f} is not one of Participants: list every speaker there with its ParticipantRole"),
                            ));
                            None
                        }
                    }
                });
                if !t.contains_key("ParticipantId") {
                    let f = at(&p, "ParticipantId");
                    errs.push(FieldError::new(
                        &f,
                        "required",
                        format!("{f} is required: who spoke"),
                    ));
                }
                if let (Some(text), Some(speaker)) = (content, speaker) {
                    turns.push(json!({"speaker": speaker, "text": text}));
                    origin.push(j);
                }
            }
        }
        _ => errs.push(FieldError::new(
            &tp,
            "required",
            format!("{tp} is required: a list of 1 to 2,000 turns"),
        )),
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let contact_id = contact_id.unwrap_or_default().to_string();
    let mut item = Map::new();
    item.insert("external_id".into(), json!(contact_id));
    item.insert("source".into(), json!("call_transcript"));
    item.insert("author".into(), json!("public"));
    item.insert("turns".into(), Value::Array(turns));
    if let Some(l) = language {
        item.insert("language".into(), json!(l));
    }
    let signal = parse_signal(&item, prefix, now_ms).map_err(|FieldErrors(es)| {
        FieldErrors(
            es.into_iter()
                .map(|mut e| {
                    e.field = transcript_field(prefix, &e.field, &origin);
                    e
                })
                .collect(),
        )
    })?;
    Ok(Transcript { contact_id, signal })
}

/// Names a signal item's field by the Contact Lens field it came from.
fn transcript_field(prefix: &str, field: &str, origin: &[usize]) -> String {
    let rest = if prefix.is_empty() {
        field
    } else {
        field
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or(field)
    };
    let mapped = if let Some(t) = rest.strip_prefix("turns[") {
        let (i, tail) = t.split_once(']').unwrap_or((t, ""));
        let j = i
            .parse::<usize>()
            .ok()
            .and_then(|i| origin.get(i).copied())
            .unwrap_or(0);
        let tail = match tail {
            ".text" => ".Content",
            ".speaker" => ".ParticipantId",
            other => other,
        };
        format!("Transcript[{j}]{tail}")
    } else {
        match rest {
            "turns" => "Transcript".to_string(),
            "external_id" => "CustomerMetadata.ContactId".to_string(),
            "language" => "LanguageCode".to_string(),
            r => r.to_string(),
        }
    };
    at(prefix, &mapped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use heard_domain::event::default_catalogue;
    use heard_domain::signal::{SignalSource, Speaker};

    const NOW: i64 = 1_800_000_000_000; // 2027-01-15

    fn mapping(service: ServiceId) -> Mapping {
        Mapping::parse(&json!({
            "reference_attribute": "caseNumber",
            "disposition_attribute": "disposition",
            "queues": [{"queue": "BenefitsClaims", "service_id": service.as_uuid().to_string()}]
        }))
        .unwrap()
    }

    /// A voice call written from the published data model: queued, answered, held twice, transferred to another
    /// queue (so it has a NextContactId), with the agency's case number and disposition among its attributes.
    fn voice_call() -> Value {
        json!({
            "AWSAccountId": "123456789012",
            "AWSContactTraceRecordFormatVersion": "2017-03-10",
            "Agent": {
                "ARN": "arn:aws:connect:us-east-1:123456789012:instance/aaaa/agent/bbbb",
                "AfterContactWorkDuration": 45,
                "AfterContactWorkEndTimestamp": "2026-11-02T15:21:10Z",
                "AfterContactWorkStartTimestamp": "2026-11-02T15:20:25Z",
                "AgentInteractionDuration": 540,
                "ConnectedToAgentTimestamp": "2026-11-02T15:10:05Z",
                "CustomerHoldDuration": 60,
                "HierarchyGroups": null,
                "LongestHoldDuration": 40,
                "NumberOfHolds": 2,
                "RoutingProfile": {"ARN": "arn:aws:connect:us-east-1:123456789012:instance/aaaa/routing-profile/cccc", "Name": "Basic Routing Profile"},
                "Username": "jdoe"
            },
            "AgentConnectionAttempts": 1,
            "Attributes": {"caseNumber": "CL-2026-0042", "disposition": "resolved", "greetingPlayed": "true"},
            "Channel": "VOICE",
            "ConnectedToSystemTimestamp": "2026-11-02T15:06:00Z",
            "ContactId": "5ca32fbd-8f92-46af-92a5-6b0f970f0efe",
            "CustomerEndpoint": {"Address": "+12025550123", "Type": "TELEPHONE_NUMBER"},
            "DisconnectReason": "AGENT_DISCONNECT",
            "DisconnectTimestamp": "2026-11-02T15:20:25Z",
            "InitialContactId": null,
            "InitiationMethod": "INBOUND",
            "InitiationTimestamp": "2026-11-02T15:06:00Z",
            "InstanceARN": "arn:aws:connect:us-east-1:123456789012:instance/aaaa",
            "LastUpdateTimestamp": "2026-11-02T15:22:31Z",
            "MediaStreams": [{"Type": "AUDIO"}],
            "NextContactId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "PreviousContactId": null,
            "Queue": {
                "ARN": "arn:aws:connect:us-east-1:123456789012:instance/aaaa/queue/dddd",
                "DequeueTimestamp": "2026-11-02T15:10:05Z",
                "Duration": 245,
                "EnqueueTimestamp": "2026-11-02T15:06:00Z",
                "Name": "BenefitsClaims"
            },
            "Recording": {"DeletionReason": null, "Location": "connect-bucket/recordings/5ca32fbd.wav", "Status": "AVAILABLE", "Type": "AUDIO"},
            "SystemEndpoint": {"Address": "+18005550100", "Type": "TELEPHONE_NUMBER"},
            "TransferCompletedTimestamp": null,
            "TransferredToEndpoint": null
        })
    }

    /// A caller who hung up in the queue: enqueued, never connected to an agent, no agent section.
    fn abandoned_call() -> Value {
        json!({
            "Agent": null,
            "AgentConnectionAttempts": 0,
            "Attributes": {},
            "Channel": "VOICE",
            "ContactId": "7d1e0a6c-2f0b-4c55-9a40-0d5f3b8e2a11",
            "CustomerEndpoint": {"Address": "+12025550199", "Type": "TELEPHONE_NUMBER"},
            "DisconnectReason": "CUSTOMER_DISCONNECT",
            "DisconnectTimestamp": "2026-11-02T16:14:30Z",
            "InitiationMethod": "INBOUND",
            "InitiationTimestamp": "2026-11-02T16:02:00Z",
            "LastUpdateTimestamp": "2026-11-02T16:15:02Z",
            "NextContactId": null,
            "Queue": {"ARN": "arn:aws:connect:us-east-1:123456789012:instance/aaaa/queue/dddd",
                      "DequeueTimestamp": "2026-11-02T16:14:30Z", "Duration": 690,
                      "EnqueueTimestamp": "2026-11-02T16:02:00Z", "Name": "BenefitsClaims"},
            "SystemEndpoint": {"Address": "+18005550100", "Type": "TELEPHONE_NUMBER"}
        })
    }

    /// A web chat: started by the StartChatContact API, no phone number, queued briefly, answered.
    fn chat() -> Value {
        json!({
            "Agent": {"AfterContactWorkDuration": 20, "AgentInteractionDuration": 410, "ConnectedToAgentTimestamp": "2026-11-03T10:00:40Z",
                      "CustomerHoldDuration": 0, "NumberOfHolds": 0, "Username": "asmith"},
            "Attributes": {"customerName": "Ana"},
            "Channel": "CHAT",
            "ContactId": "c0ffee00-1111-4222-8333-444455556666",
            "CustomerEndpoint": null,
            "DisconnectReason": "CUSTOMER_DISCONNECT",
            "InitiationMethod": "API",
            "InitiationTimestamp": "2026-11-03T10:00:00Z",
            "LastUpdateTimestamp": "2026-11-03T10:08:00Z",
            "MediaStreams": [{"Type": "CHAT"}],
            "Queue": {"DequeueTimestamp": "2026-11-03T10:00:40Z", "Duration": 40, "EnqueueTimestamp": "2026-11-03T10:00:00Z", "Name": "WebChat"}
        })
    }

    #[test]
    fn a_voice_call_maps_its_queue_agent_and_transfer() {
        let service = ServiceId::new();
        let e = contact_record_event(
            &voice_call(),
            "[0]",
            &mapping(service),
            &default_catalogue(),
            NOW,
        )
        .unwrap();
        assert_eq!(e.event_type, "call");
        assert_eq!(e.common.external_id, "5ca32fbd-8f92-46af-92a5-6b0f970f0efe");
        assert_eq!(e.common.occurred_at, 1_793_631_960_000); // 2026-11-02T15:06:00Z
        let m: Vec<(&str, f64)> = e.measures.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            m,
            [
                ("after_contact_work", 45.0),
                ("handle_time", 645.0),
                ("hold", 60.0),
                ("holds", 2.0),
                ("transfers", 1.0),
                ("wait", 245.0)
            ]
        );
        assert_eq!(e.attributes["queue"], "BenefitsClaims");
        assert_eq!(e.attributes["abandoned"], false);
        assert_eq!(e.attributes["disposition"], "resolved");
        assert_eq!(e.attributes["disconnect_reason"], "agent_disconnect");
        assert_eq!(e.attributes["initiation_method"], "inbound");
        assert!(
            !e.attributes.contains_key("greetingPlayed"),
            "other contact attributes are not kept"
        );
        assert_eq!(e.common.person.unwrap().as_str(), "phone:+12025550123");
        assert_eq!(
            e.common.reference.unwrap().as_str(),
            "reference:CL-2026-0042"
        );
        assert_eq!(e.common.service_id, Some(service));
    }

    #[test]
    fn a_caller_who_hung_up_in_the_queue_is_abandoned() {
        let e = contact_record_event(
            &abandoned_call(),
            "[1]",
            &Mapping::default(),
            &default_catalogue(),
            NOW,
        )
        .unwrap();
        assert_eq!(e.attributes["abandoned"], true);
        assert_eq!(e.measures["wait"], 690.0);
        assert_eq!(e.measures["transfers"], 0.0);
        assert!(!e.measures.contains_key("handle_time"));
        assert_eq!(
            e.common.service_id, None,
            "a queue not in the mapping has no service"
        );
        // Without Duration the wait is the queue's two timestamps apart.
        let mut r = abandoned_call();
        r["Queue"].as_object_mut().unwrap().remove("Duration");
        let e = contact_record_event(&r, "[1]", &Mapping::default(), &default_catalogue(), NOW)
            .unwrap();
        assert_eq!(e.measures["wait"], 750.0);
    }

    #[test]
    fn a_chat_is_a_chat_event_without_a_person() {
        let e = contact_record_event(
            &chat(),
            "[2]",
            &Mapping::default(),
            &default_catalogue(),
            NOW,
        )
        .unwrap();
        assert_eq!(e.event_type, "chat");
        assert_eq!(e.measures["handle_time"], 430.0);
        assert_eq!(e.measures["wait"], 40.0);
        assert_eq!(e.common.person, None);
        // A customer id attribute the agency names is the person.
        let m = Mapping {
            customer_id_attribute: Some("customerName".into()),
            ..Mapping::default()
        };
        let e = contact_record_event(&chat(), "[2]", &m, &default_catalogue(), NOW).unwrap();
        assert_eq!(e.common.person.unwrap().as_str(), "customer:Ana");
    }

    #[test]
    fn an_email_endpoint_is_the_person() {
        let mut r = chat();
        r["CustomerEndpoint"] =
            json!({"Type": "EMAIL_ADDRESS", "Address": "Ana.Lopez@Example.com"});
        let e = contact_record_event(&r, "[0]", &Mapping::default(), &default_catalogue(), NOW)
            .unwrap();
        assert_eq!(
            e.common.person.unwrap().as_str(),
            "email:ana.lopez@example.com"
        );
    }

    #[test]
    fn a_withheld_number_links_to_nobody_and_the_call_still_counts() {
        let mut r = abandoned_call();
        r["CustomerEndpoint"]["Address"] = json!("anonymous");
        let e = contact_record_event(&r, "[0]", &Mapping::default(), &default_catalogue(), NOW)
            .unwrap();
        assert_eq!(e.common.person, None);
    }

    #[test]
    fn errors_name_the_record_and_the_connect_field() {
        let mut r = voice_call();
        r["Queue"]["Duration"] = json!(-3);
        r["Agent"]["NumberOfHolds"] = json!("two");
        r["InitiationTimestamp"] = json!("2030-01-01T00:00:00Z");
        r["Attributes"]["caseNumber"] = json!(42);
        let e = contact_record_event(
            &r,
            "[2]",
            &mapping(ServiceId::new()),
            &default_catalogue(),
            NOW,
        )
        .unwrap_err();
        let got: Vec<_> = e.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("[2].InitiationTimestamp", "in_the_future"),
                ("[2].Queue.Duration", "invalid_number"),
                ("[2].Agent.NumberOfHolds", "invalid_number"),
                ("[2].Attributes.caseNumber", "not_text"),
            ]
        );
        let e = contact_record_event(
            &json!({"Channel": "TASK"}),
            "[5]",
            &Mapping::default(),
            &default_catalogue(),
            NOW,
        )
        .unwrap_err();
        let got: Vec<_> = e.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("[5].ContactId", "required"),
                ("[5].Channel", "unsupported_channel"),
                ("[5].InitiationTimestamp", "required"),
            ]
        );
        let e = contact_record_event(
            &json!([1]),
            "[3]",
            &Mapping::default(),
            &default_catalogue(),
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            (e.0[0].field.as_str(), e.0[0].code),
            ("[3]", "not_an_object")
        );
    }

    #[test]
    fn a_mapping_checks_its_names() {
        let e = Mapping::parse(&json!({"reference_attribute": "", "queues": [
            {"queue": "A", "service_id": ServiceId::new().as_uuid().to_string()},
            {"queue": "A", "service_id": ServiceId::new().as_uuid().to_string()}]}))
        .unwrap_err();
        let got: Vec<_> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(got, ["reference_attribute", "queues[1].queue"]);
        assert_eq!(
            Mapping::parse(&json!({"queue": []})).unwrap_err().0[0].code,
            "invalid_mapping"
        );
    }

    /// A Contact Lens call analysis as AWS's example file lays it out (participant ids are ids, roles in
    /// Participants), with a system prompt and a customer turn full of personal data.
    fn analysis() -> Value {
        json!({
            "Version": "1.1.0",
            "AccountId": "123456789012",
            "Channel": "VOICE",
            "ContentMetadata": {"Output": "Raw"},
            "JobStatus": "COMPLETED",
            "LanguageCode": "en-US",
            "Participants": [
                {"ParticipantId": "e9b36a6d-12aa-4c21-9745-1881648ecfc8", "ParticipantRole": "CUSTOMER"},
                {"ParticipantId": "2b2288b4-ff6e-4996-8d8e-260fd5a8ac02", "ParticipantRole": "SYSTEM"},
                {"ParticipantId": "f36a545d-67b2-4fd4-89fb-896136b609a7", "ParticipantRole": "AGENT"}
            ],
            "Categories": {"MatchedCategories": [], "MatchedDetails": {}},
            "ConversationCharacteristics": {"TotalConversationDurationMillis": 32110,
                "Sentiment": {"OverallSentiment": {"AGENT": 0, "CUSTOMER": -1.2}}},
            "CustomerMetadata": {
                "ContactId": "5ca32fbd-8f92-46af-92a5-6b0f970f0efe",
                "InstanceId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "InputS3Uri": "s3://connect-bucket/recordings/5ca32fbd.wav"
            },
            "Transcript": [
                {"Id": "t0", "ParticipantId": "2b2288b4-ff6e-4996-8d8e-260fd5a8ac02", "Content": "Thank you for calling the benefits line.",
                 "BeginOffsetMillis": 0, "EndOffsetMillis": 2100, "Sentiment": "NEUTRAL"},
                {"Id": "t1", "ParticipantId": "f36a545d-67b2-4fd4-89fb-896136b609a7", "Content": "Happy to help, thanks for waiting! Wonderful to hear from you.",
                 "BeginOffsetMillis": 2200, "EndOffsetMillis": 5000, "Sentiment": "POSITIVE"},
                {"Id": "t2", "ParticipantId": "e9b36a6d-12aa-4c21-9745-1881648ecfc8",
                 "Content": "I waited an hour and this is terrible. My email is ana.lopez@example.com and my number is 202-555-0143.",
                 "BeginOffsetMillis": 5100, "EndOffsetMillis": 11000, "Sentiment": "NEGATIVE",
                 "Redaction": {"RedactedTimestamps": [{"BeginOffsetMillis": 7000, "EndOffsetMillis": 9000}]}}
            ]
        })
    }

    #[test]
    fn a_contact_lens_analysis_is_a_transcript_with_speaker_turns() {
        let t = contact_lens_transcript(&analysis(), "", NOW).unwrap();
        assert_eq!(t.contact_id, "5ca32fbd-8f92-46af-92a5-6b0f970f0efe");
        let s = t.signal;
        assert_eq!(s.source, SignalSource::CallTranscript);
        assert_eq!(s.common.external_id, t.contact_id);
        assert_eq!(s.language.as_ref().unwrap().as_str(), "en");
        let speakers: Vec<Speaker> = s.turns.iter().map(|t| t.speaker).collect();
        assert_eq!(
            speakers,
            [Speaker::Agent, Speaker::Agent, Speaker::Customer]
        );
        assert!(s.customer_text().starts_with("I waited an hour"));
        assert!(!s.customer_text().contains("Happy to help"));
        // AWS's redacted example names participants by role.
        let mut r = analysis();
        r["Participants"] = json!([{"ParticipantId": "CUSTOMER", "ParticipantRole": "CUSTOMER"}, {"ParticipantId": "AGENT", "ParticipantRole": "AGENT"}]);
        for (t, who) in r["Transcript"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(["AGENT", "AGENT", "CUSTOMER"])
        {
            t["ParticipantId"] = json!(who);
        }
        let t2 = contact_lens_transcript(&r, "", NOW).unwrap();
        assert_eq!(t2.signal.turns, s.turns);
    }

    #[test]
    fn transcript_errors_name_the_contact_lens_field() {
        let mut r = analysis();
        r["Transcript"][1]["ParticipantId"] = json!("someone-else");
        r["Transcript"][2]["Content"] = json!(7);
        r["CustomerMetadata"]
            .as_object_mut()
            .unwrap()
            .remove("ContactId");
        let e = contact_lens_transcript(&r, "[0]", NOW).unwrap_err();
        let got: Vec<_> = e.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("[0].CustomerMetadata.ContactId", "required"),
                ("[0].Transcript[1].ParticipantId", "unknown_participant"),
                ("[0].Transcript[2].Content", "required"),
            ]
        );
        let mut r = analysis();
        r["Transcript"][2]["Content"] = json!("x".repeat(heard_domain::signal::MAX_TRANSCRIPT + 1));
        let e = contact_lens_transcript(&r, "", NOW).unwrap_err();
        assert_eq!(
            (e.0[0].field.as_str(), e.0[0].code),
            ("Transcript", "too_long")
        );
        let e = contact_lens_transcript(
            &json!({"Channel": "CHAT", "CustomerMetadata": {"ContactId": "x"}, "Transcript": []}),
            "",
            NOW,
        )
        .unwrap_err();
        let got: Vec<_> = e.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("Channel", "unsupported_channel"),
                ("Transcript", "required")
            ]
        );
    }
}
