//! Two-way SMS by the Twilio protocol: the inbound webhook `POST /hooks/sms/{sender_id}` and the status callback
//! `POST /hooks/sms/{sender_id}/status`.
//!
//! Every request is checked first: the sender's sealed auth token opens, and `X-Twilio-Signature` must be Twilio's
//! for the public URL requested and the form's pairs (`heard_channels::sms::validate`, HMAC-SHA1, or HMAC-SHA256 when
//! `X-Twilio-Webhooks-Signature-Settings` says so). Anything else is 403 and stores nothing. Then, for an inbound
//! message: a MessageSid seen before answers `<Response/>` and changes nothing; consent keywords come first (STOP and
//! its kin opt the number out of everything the organization sends, START/UNSTOP opt it back in, each recorded with
//! its time and message; HELP answers with the sender's contact line; ESPAÑOL/ENGLISH switch the conversation's
//! language); an opted-out number gets no answer; otherwise the number's latest conversation moves on
//! (`heard_channels::sms::Conversation`), its answers kept sealed until it ends, when they go through the pipeline
//! as one response (idempotency key `sms:<conversation id>`) to the survey version the conversation names, carrying
//! the conversation's person key (the invitation's): the trust reply to the trust question, what went well or
//! didn't and the comment to the comment question. The answer is TwiML. A status callback moves a message's
//! delivery state forward only; the `?m=` our sends put in its address names our record, so a send whose answer
//! was lost (`crate::sms_send`) learns its provider id from it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use heard_channels::sms::{
    self as proto, Conversation, Keyword, SignatureAlgorithm, Step, TrustScale,
};
use heard_domain::identity::PersonId;
use heard_domain::survey::{A11Role, HiddenAnswers, QuestionKind};
use heard_domain::{Arrival, FieldError, FieldErrors, Lang, OrgId, SurveyId};
use heard_store::sms::{
    ConversationUpdate, InboundEffect, InboundOutcome, InboundSms, SmsConversation, SmsSender,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::error::AppError;
use crate::pipeline::Submission;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hooks/sms/{sender_id}", post(inbound))
        .route("/hooks/sms/{sender_id}/status", post(status_callback))
}

fn twiml(messages: &[&str]) -> Response {
    (
        [(header::CONTENT_TYPE, proto::TWIML_CONTENT_TYPE)],
        proto::twiml(messages),
    )
        .into_response()
}

fn forbidden() -> AppError {
    AppError::Forbidden(
        "invalid_signature",
        "X-Twilio-Signature is missing or is not the sender's signature of this request.".into(),
    )
}

/// The sender and the form's pairs, once the signature is checked; 403 for anything else.
async fn verified(
    state: &AppState,
    sender_id: &str,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> Result<(SmsSender, Vec<(String, String)>), AppError> {
    let id = Uuid::parse_str(sender_id).map_err(|_| forbidden())?;
    let sender = state.store.sms_sender(id).await?.ok_or_else(forbidden)?;
    let token = state
        .pipeline
        .sealer()
        .open(&sender.auth_token_sealed)
        .ok_or_else(forbidden)?;
    let signature = headers
        .get(proto::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(forbidden)?;
    let settings = headers
        .get(proto::SIGNATURE_SETTINGS_HEADER)
        .and_then(|v| v.to_str().ok());
    let algorithm = SignatureAlgorithm::from_settings_header(settings).ok_or_else(forbidden)?;
    let params: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(uri.path());
    let url = format!("{}{}", state.public_url.trim_end_matches('/'), path);
    if !proto::validate(algorithm, &token, &url, &params, signature) {
        return Err(forbidden());
    }
    Ok((sender, params))
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(params: &'a [(String, String)], name: &'static str) -> Result<&'a str, AppError> {
    match field(params, name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(AppError::Invalid(FieldErrors(vec![FieldError::new(
            name,
            "required",
            format!("{name} is required in a Twilio webhook."),
        )]))),
    }
}

fn conversation_of(c: &SmsConversation) -> Conversation {
    Conversation {
        step: Step::from_code(&c.step).unwrap_or(Step::Done),
        lang: proto::Lang::from_code(&c.lang),
        scale: if c.scale == "yes_no" {
            TrustScale::YesNo
        } else {
            TrustScale::OneToFive
        },
        reprompts: c.reprompts.clamp(0, 255) as u8,
    }
}

async fn inbound(
    State(state): State<AppState>,
    Path(sender_id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, AppError> {
    let (sender, params) = verified(&state, &sender_id, &headers, &uri, &body).await?;
    let org = OrgId::from_uuid(sender.org_id);
    let sid = required(&params, "MessageSid")?.to_string();
    let from = required(&params, "From")?;
    let text = field(&params, "Body").unwrap_or("");
    let segments = field(&params, "NumSegments").and_then(|n| n.parse::<i32>().ok());
    if state.store.sms_message_status(org, &sid).await?.is_some() {
        return Ok(twiml(&[]));
    }
    let phone =
        PersonId::phone("From", from).map_err(|e| AppError::Invalid(FieldErrors(vec![e])))?;
    let sealer = state.pipeline.sealer();
    let phone_key = sealer.person_key(org, &phone).0;
    let organization = state.store.org(org).await?;
    let conv = state
        .store
        .latest_sms_conversation(org, sender.id, &phone_key)
        .await?;
    let lang_now = conv
        .as_ref()
        .map(|c| proto::Lang::from_code(&c.lang))
        .unwrap_or(proto::Lang::En);
    let mut m = InboundSms {
        sender_id: sender.id,
        provider_message_id: sid.clone(),
        conversation_id: conv.as_ref().map(|c| c.id),
        segments,
        effect: InboundEffect::None,
        now: heard_store::now_ms(),
    };
    let keyword = Keyword::parse(text);
    let opted_out = state.store.sms_opted_out(org, &phone_key).await?;
    let mut lifeline: Option<String> = None;
    let mut offer: Option<String> = None;
    let reply: String = match keyword {
        Some(Keyword::OptOut(lang)) => {
            m.effect = InboundEffect::OptOut {
                phone_key,
                keyword: text.trim().to_uppercase(),
            };
            proto::opt_out_reply(lang, &organization.name)
        }
        Some(Keyword::OptIn) => {
            m.effect = InboundEffect::OptIn {
                phone_key,
                keyword: text.trim().to_uppercase(),
            };
            proto::opt_in_reply(lang_now, &organization.name)
        }
        Some(Keyword::Help(lang)) => {
            proto::help_reply(lang, &organization.name, &sender.help_contact)
        }
        _ if opted_out => String::new(),
        Some(Keyword::Language(lang)) => match &conv {
            Some(c) if conversation_of(c).step != Step::Done => {
                let next = conversation_of(c).with_lang(lang);
                let statement = trust_statement(&state, org, c, lang).await?;
                m.effect = InboundEffect::Conversation(ConversationUpdate {
                    id: c.id,
                    step: next.step.code().into(),
                    lang: lang.code().into(),
                    reprompts: next.reprompts.into(),
                    answers_sealed: c.answers_sealed.clone(),
                });
                next.question(&statement)
            }
            _ => String::new(),
        },
        None => match &conv {
            Some(c) if conversation_of(c).step != Step::Done => {
                let now_conv = conversation_of(c);
                let statement = trust_statement(&state, org, c, now_conv.lang).await?;
                let turn = now_conv.reply(text, &statement);
                let mut answers: Map<String, Value> = c
                    .answers_sealed
                    .as_ref()
                    .and_then(|s| sealer.open(s))
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or_default();
                match &turn.answer {
                    Some(proto::Answer::TrustScore(n)) => {
                        answers.insert("trust".into(), json!(n));
                    }
                    Some(proto::Answer::TrustYesNo(yes)) => {
                        answers.insert("trust".into(), json!(u8::from(*yes)));
                    }
                    Some(proto::Answer::WhatHappened(t)) => {
                        answers.insert("what_happened".into(), json!(t));
                    }
                    Some(proto::Answer::Comment(t)) => {
                        answers.insert("comment".into(), json!(t));
                    }
                    None => {}
                }
                if turn.next.step == Step::Done && !answers.is_empty() {
                    let response = submit(
                        &state.store,
                        &state.pipeline,
                        org,
                        c,
                        turn.next.lang,
                        &answers,
                    )
                    .await?;
                    // Crisis language opened an urgent case in the response's commit: a second message gives the
                    // 988 Lifeline and the case's status link, whatever the rules say.
                    if let Some(case) =
                        crate::status::crisis_case_of(&state, org, *response.as_uuid()).await?
                    {
                        lifeline = Some(lifeline_sms(
                            turn.next.lang,
                            &crate::status::status_url(&state, case.id),
                        ));
                    }
                    // A callback offered (the organization's setting, or a rule): the person can reply CALL.
                    if crate::callbacks::offered(&state, org, *response.as_uuid()).await? {
                        offer = Some(
                            crate::i18n::strings(turn.next.lang.code())["callback"]["sms_offer"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                        );
                    }
                }
                m.effect = InboundEffect::Conversation(ConversationUpdate {
                    id: c.id,
                    step: turn.next.step.code().into(),
                    lang: turn.next.lang.code().into(),
                    reprompts: turn.next.reprompts.into(),
                    answers_sealed: (!answers.is_empty())
                        .then(|| sealer.seal(&Value::Object(answers).to_string())),
                });
                turn.reply
            }
            // After the survey: CALL books the call back the last reply offered.
            Some(c) if crate::callbacks::asks_for_call(text) => {
                let survey = heard_domain::SurveyId::from_uuid(c.survey_id);
                match state
                    .store
                    .response_by_key(org, survey, &format!("sms:{}", c.id))
                    .await?
                {
                    Some(r) => crate::callbacks::book_by_sms(
                        &state,
                        org,
                        *r.as_uuid(),
                        phone.as_str().trim_start_matches("phone:"),
                        &phone_key,
                        &c.lang,
                    )
                    .await?
                    .unwrap_or_default(),
                    None => String::new(),
                }
            }
            _ => String::new(),
        },
    };
    if state.store.apply_inbound_sms(org, &m).await? == InboundOutcome::Replayed {
        return Ok(twiml(&[]));
    }
    let mut messages: Vec<&str> = vec![];
    if !reply.is_empty() {
        messages.push(&reply);
    }
    if let Some(l) = &lifeline {
        messages.push(l);
    }
    if let Some(o) = &offer {
        messages.push(o);
    }
    Ok(twiml(&messages))
}

/// The crisis message of an SMS conversation in its language: the 988 Suicide & Crisis Lifeline, 911, and the
/// case's status page.
fn lifeline_sms(lang: proto::Lang, status_url: &str) -> String {
    if lang.code() == "es" {
        format!(
            "Si está pensando en hacerse daño, llame o envíe un texto al 988 (Línea 988 de Prevención del Suicidio \
             y Crisis), a cualquier hora. Si está en peligro, llame al 911. Su caso: {status_url}"
        )
    } else {
        format!(
            "If you are thinking about hurting yourself, call or text 988 (the 988 Suicide & Crisis Lifeline), any \
             time. If you are in danger, call 911. Your case: {status_url}"
        )
    }
}

/// The survey version's trust statement in `lang` (what the conversation quotes).
async fn trust_statement(
    state: &AppState,
    org: OrgId,
    c: &SmsConversation,
    lang: proto::Lang,
) -> Result<String, AppError> {
    let v = state
        .store
        .survey_version(org, SurveyId::from_uuid(c.survey_id), c.survey_version)
        .await?;
    Ok(v.definition
        .question_with_role(A11Role::Trust)
        .map(|q| q.prompt.get(lang.code()).to_string())
        .unwrap_or_default())
}

/// One response for the conversation: the trust answer to the trust question (1-5, or 1/0 on a thumbs question),
/// what went well or didn't and the comment, one paragraph each, to the comment question. The response carries the
/// conversation's person key (the invitation's), so analytics link it to the person's other feedback and events.
/// Also what a stale conversation's answers become (`sms_send`'s `sms.expire`); the idempotency key
/// `sms:<conversation>` stores it once.
pub(crate) async fn submit(
    store: &heard_store::Store,
    pipeline: &crate::pipeline::Pipeline,
    org: OrgId,
    c: &SmsConversation,
    lang: proto::Lang,
    collected: &Map<String, Value>,
) -> Result<heard_domain::ResponseId, AppError> {
    let survey_id = SurveyId::from_uuid(c.survey_id);
    let survey = store.survey(org, survey_id).await?;
    let version = store
        .survey_version(org, survey_id, c.survey_version)
        .await?;
    let def = &version.definition;
    let organization = store.org(org).await?;
    let mut answers = Map::new();
    if let (Some(q), Some(n)) = (
        def.question_with_role(A11Role::Trust),
        collected.get("trust"),
    ) {
        let n = n.as_u64().unwrap_or(0);
        let value = match q.kind {
            QuestionKind::Agreement5 if (1..=5).contains(&n) => Some(json!(n)),
            QuestionKind::Thumbs if n <= 1 => Some(json!(n)),
            _ => None,
        };
        if let Some(v) = value {
            answers.insert(q.id.clone(), v);
        }
    }
    let text: Vec<&str> = ["what_happened", "comment"]
        .iter()
        .filter_map(|k| collected.get(*k).and_then(Value::as_str))
        .collect();
    if let (Some(q), false) = (def.question_with_role(A11Role::Comment), text.is_empty()) {
        answers.insert(q.id.clone(), json!(text.join("\n\n")));
    }
    let language = Lang::parse(lang.code()).unwrap_or_else(|_| Lang::en());
    let submission = Submission {
        org_id: org,
        survey_id,
        survey_version: version.version,
        service_id: survey.service_id,
        touchpoint_id: survey.touchpoint_id,
        channel: Arrival::Sms.channel(),
        language,
        page_path: None,
        idempotency_key: format!("sms:{}", c.id),
        submitted_at: heard_store::now_ms(),
        answers,
        hidden: HiddenAnswers::Reject,
        keep_raw_text: organization.keep_raw_text,
    };
    let mut prepared = pipeline.prepare(submission, def)?;
    if prepared.person_key.is_none() {
        prepared.person_key = Some(c.person_key.clone());
    }
    Ok(store.submit(prepared).await?.id)
}

/// Twilio's status callback: MessageSid and MessageStatus (and ErrorCode when it failed). The state moves forward
/// only, so a replayed or late callback changes nothing; an unknown message is acknowledged and changes nothing.
async fn status_callback(
    State(state): State<AppState>,
    Path(sender_id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, AppError> {
    let (sender, params) = verified(&state, &sender_id, &headers, &uri, &body).await?;
    let org = OrgId::from_uuid(sender.org_id);
    let sid = required(&params, "MessageSid")?;
    let status = required(&params, "MessageStatus")?;
    let error = field(&params, "ErrorCode").filter(|e| !e.is_empty());
    // Our sends name their record in the callback's address (`?m=`): a send whose answer was lost learns its
    // provider id here, and its state with it.
    let ours = uri
        .query()
        .into_iter()
        .flat_map(|q| form_urlencoded::parse(q.as_bytes()))
        .find(|(k, _)| k == "m")
        .and_then(|(_, v)| Uuid::parse_str(&v).ok());
    if let Some(id) = ours {
        state
            .store
            .attach_sms_provider_id(org, id, sid, heard_store::now_ms())
            .await?;
    }
    state
        .store
        .update_sms_status(org, sid, status, error, heard_store::now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
