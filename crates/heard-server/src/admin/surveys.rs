//! Building surveys: create from a template for a service, edit every text in every language (A-11 templates keep
//! their structure; blank surveys also gain and lose questions), the PRA block and allowed origins, publish a new
//! version, and share it by link and QR code.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use heard_domain::pra::Pra;
use heard_domain::survey::{
    Choice, Question, QuestionKind, SurveyDefinition, TemplateKind, TextRef, next_question_id,
};
use heard_domain::templates::{self, TrustScale, V2_INDICATORS};
use heard_domain::{
    FieldError, FieldErrors, LocalizedText, OrgId, ServiceId, SurveyId, TouchpointId,
};
use heard_store::catalog::{NewSurvey, Published};
use minijinja::context;

use super::{base_ctx, form_errors, page};
use crate::auth::{AdminForm, Analyst};
use crate::forms::FormData;
use crate::{AppError, AppResult, AppState, qr};

const TRANSACTION_POINTS: [&str; 3] = ["post_interaction", "post_service_journey", "relational"];

/// An A-11 transaction point in words; the stored key otherwise.
pub fn transaction_point_label(key: &str) -> &str {
    match key {
        "post_interaction" => "After an interaction",
        "post_service_journey" => "After a service journey",
        "relational" => "Relational (the service overall)",
        other => other,
    }
}

fn survey_id(s: &str) -> AppResult<SurveyId> {
    s.parse().map_err(|_| AppError::NotFound)
}

pub async fn new_form(State(state): State<AppState>, m: Analyst) -> AppResult<Response> {
    render_new(
        &state,
        &m,
        &FormData::default(),
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render_new(
    state: &AppState,
    m: &Analyst,
    form: &FormData,
    errs: &FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let services: Vec<_> = state
        .store
        .services(m.org_id())
        .await?
        .iter()
        .map(|s| context! { id => s.id.to_string(), name => s.name.get("en") })
        .collect();
    let touchpoints: Vec<_> = state
        .store
        .touchpoints(m.org_id())
        .await?
        .iter()
        .map(|t| context! { id => t.id.to_string(), name => t.name.get("en"), channel => t.channel.label(), service => t.service_id.to_string() })
        .collect();
    let mut resp = page(
        state,
        "survey_new.html",
        base_ctx(m, "surveys"),
        context! {
            services => services, touchpoints => touchpoints, errors => form_errors(errs),
            form => context!{ name => form.get("name"), template => form.get("template"), service => form.get("service"), touchpoint => form.get("touchpoint") },
        },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

pub async fn create(
    State(state): State<AppState>,
    m: Analyst,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let mut errs = FieldErrors::default();
    let name = form.get("name");
    if name.is_empty() || name.len() > 200 {
        errs.push(FieldError::new(
            "name",
            "required",
            "give the survey a name staff will recognize (at most 200 characters)",
        ));
    }
    let service_id = form
        .get("service")
        .parse::<ServiceId>()
        .map_err(|_| errs.push(FieldError::new("service", "required", "choose a service")))
        .ok();
    let touchpoint_id = form
        .opt("touchpoint")
        .map(|t| t.parse::<TouchpointId>())
        .transpose()
        .map_err(|e| errs.push(e))
        .ok()
        .flatten();
    let template = form.get("template");
    let service = match service_id {
        Some(id) => state
            .store
            .service(m.org_id(), id)
            .await
            .map_err(|_| {
                errs.push(FieldError::new(
                    "service",
                    "unknown",
                    "choose a service of this organization",
                ))
            })
            .ok(),
        None => None,
    };
    let def = match (template, &service) {
        ("a11_v1", Some(s)) => Some(templates::a11_v1(&s.name)),
        ("a11_v2_thumbs", Some(s)) => Some(templates::a11_v2(&s.name, TrustScale::Thumbs)),
        ("a11_v2_scale", Some(s)) => Some(templates::a11_v2(&s.name, TrustScale::Agreement5)),
        ("blank", Some(s)) => Some(templates::blank(&s.name)),
        (_, _) => {
            if TemplateKind::parse(template).is_err() {
                errs.push(FieldError::new("template", "required", "choose a template"));
            }
            None
        }
    };
    if let (true, Some(def), Some(service)) = (errs.is_empty(), def, service) {
        let created = state
            .store
            .create_survey(
                NewSurvey {
                    org_id: m.org_id(),
                    service_id: service.id,
                    touchpoint_id,
                    name,
                    draft: &def,
                    allowed_origins: &[],
                    transaction_point: "post_interaction",
                },
                heard_store::now_ms(),
            )
            .await;
        match created {
            Ok(s) => {
                return Ok(
                    Redirect::to(&format!("/admin/o/{}/surveys/{}/edit", m.org_id(), s.id))
                        .into_response(),
                );
            }
            Err(heard_store::StoreError::Conflict(msg)) => {
                errs.push(FieldError::new("touchpoint", "wrong_service", msg))
            }
            Err(heard_store::StoreError::NotFound) => errs.push(FieldError::new(
                "touchpoint",
                "unknown",
                "choose a touchpoint of this organization",
            )),
            Err(e) => return Err(e.into()),
        }
    }
    render_new(&state, &m, &form, &errs, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// Parses the allowed origins box: one `https://host[:port]` per line (http only for localhost).
fn parse_origins(text: &str) -> Result<Vec<String>, FieldError> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let o = line.trim_end_matches('/');
        let ok_scheme = o.starts_with("https://")
            || o.starts_with("http://localhost")
            || o.starts_with("http://127.0.0.1");
        let host = o.split_once("://").map(|x| x.1).unwrap_or("");
        if !ok_scheme || host.is_empty() || host.contains('/') || host.contains(char::is_whitespace)
        {
            return Err(FieldError::new(
                "allowed_origins",
                "invalid_origin",
                format!("'{line}' is not an origin like https://www.agency.gov"),
            ));
        }
        out.push(o.to_string());
    }
    Ok(out)
}

fn lt(form: &FormData, prefix: &str) -> LocalizedText {
    let mut t = LocalizedText::default();
    for lang in ["en", "es"] {
        t.set(lang, form.get(&format!("{prefix}_{lang}")));
    }
    t
}

/// A definition's problems as staff read them. A question's wording missing in one of the survey's languages is
/// an error (the page in that language could not ask the question), named by the question's number and English
/// wording and the language's name, never its code; `publish_warnings` leaves it out so the page says it once, as a
/// block.
fn in_words(mut errs: FieldErrors, def: &SurveyDefinition) -> FieldErrors {
    for e in errs
        .0
        .iter_mut()
        .filter(|e| e.code == "missing_translation")
    {
        let Some(lang) = e.field.rsplit('.').next() else {
            continue;
        };
        let language = crate::i18n::language_name(lang, "en");
        let index = e
            .field
            .strip_prefix("questions[")
            .and_then(|r| r.split(']').next())
            .and_then(|i| i.parse::<usize>().ok());
        e.message = match index.and_then(|i| def.questions.get(i).map(|q| (i, q))) {
            Some((i, q)) => format!(
                "Question {}, “{}”, has no wording in {language}: write it in {language} before saving, since every \
                 question is asked in each language of the survey",
                i + 1,
                q.prompt.get("en")
            ),
            None => format!(
                "A question has no wording in {language}: write it in {language} before saving, since every \
                 question is asked in each language of the survey"
            ),
        };
    }
    errs
}

/// Applies the edit form to a draft. Structure stays; texts, requiredness and PRA change.
fn apply_edit(def: &mut SurveyDefinition, form: &FormData) -> Result<(), FieldErrors> {
    let mut errs = FieldErrors::default();
    def.title = lt(form, "title");
    def.intro = lt(form, "intro");
    def.thank_you = lt(form, "thank_you");
    let blank = def.template == TemplateKind::Blank;
    for q in def.questions.iter_mut() {
        let p = format!("q.{}", q.id);
        q.prompt = lt(form, &format!("{p}.prompt"));
        q.help = lt(form, &format!("{p}.help"));
        if blank {
            q.required = form.has(&format!("{p}.required"));
        }
        for o in q.options.iter_mut() {
            o.label = lt(form, &format!("{p}.opt.{}", o.value));
            if o.label.get("en").is_empty() {
                errs.push(FieldError::new(
                    format!("{p}.opt.{}_en", o.value),
                    "required",
                    "every option needs a label in English",
                ));
            }
        }
    }
    // A-11 v2: indicators the agency marks not applicable leave both indicator questions (the upload file then
    // writes `null` for them). The marker field tells a form that shows the boxes from one that does not.
    if def.template == TemplateKind::A11V2 && form.has("na_shown") {
        let na: Vec<&str> = V2_INDICATORS
            .iter()
            .copied()
            .filter(|i| form.has(&format!("na_{i}")))
            .collect();
        if let Err(e) = templates::set_not_applicable(def, &na) {
            errs.push(e);
        }
    }
    let (omb, exp, b_en, b_es) = (
        form.get("pra_omb"),
        form.get("pra_expires"),
        form.get("pra_burden_en"),
        form.get("pra_burden_es"),
    );
    def.pra = if omb.is_empty() && exp.is_empty() && b_en.is_empty() {
        None
    } else {
        match Pra::parse(omb, exp, b_en, b_es) {
            Ok(p) => Some(p),
            Err(e) => {
                errs.0.extend(e.0.into_iter().map(|mut x| {
                    x.field = format!(
                        "pra_{}",
                        match x.field.as_str() {
                            "omb_control_number" => "omb",
                            "expiration_date" => "expires",
                            _ => "burden_en",
                        }
                    );
                    x
                }));
                None
            }
        }
    };
    if let Err(e) = def.check() {
        errs.0.extend(in_words(e, def).0);
    }
    errs.into_result(())
}

pub async fn edit_form(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let s = state.store.survey(m.org_id(), survey_id(&id)?).await?;
    render_edit(
        &state,
        &m,
        &s,
        &s.draft,
        &FieldErrors::default(),
        None,
        false,
        StatusCode::OK,
    )
}

/// What the author should know before publishing `def`, each as (form field to fix it in, sentence): texts
/// written in one language and blank in another (the public page would silently show the other language), and
/// A-11's mandated wording changed. Warnings, not errors: the author may publish anyway.
fn publish_warnings(def: &SurveyDefinition) -> Vec<(String, String)> {
    let language = |l: &str| crate::i18n::language_name(l, "en");
    // Questions and answers as the editor shows them: by number, and by their English wording.
    let number = |q: &str| {
        def.questions
            .iter()
            .position(|x| x.id == q)
            .map(|i| (i + 1).to_string())
            .unwrap_or_else(|| q.to_string())
    };
    let describe = |t: &TextRef| match t {
        TextRef::Prompt(q) => format!("the wording of question {}", number(q)),
        TextRef::Help(q) => format!("the hint of question {}", number(q)),
        TextRef::Option(q, o) => match def.question(q) {
            Some(question) => format!(
                "the answer “{}” of question {}",
                crate::labels::code_label(question, o, "en"),
                number(q)
            ),
            None => t.describe(),
        },
        other => other.describe(),
    };
    // A question's own wording missing in a language is not a warning but an error (`in_words`): leaving it out
    // here keeps the page from saying both "blocked" and "will show another language".
    let mut out: Vec<(String, String)> = def
        .missing_translations()
        .into_iter()
        .filter(|m| !matches!(m.text, TextRef::Prompt(_)))
        .map(|m| {
            let l = &m.language;
            let field = match &m.text {
                TextRef::Title => format!("title_{l}"),
                TextRef::Intro => format!("intro_{l}"),
                TextRef::ThankYou => format!("thank_you_{l}"),
                TextRef::Prompt(q) => format!("q.{q}.prompt_{l}"),
                TextRef::Help(q) => format!("q.{q}.help_{l}"),
                TextRef::Option(q, o) => format!("q.{q}.opt.{o}_{l}"),
                TextRef::BurdenStatement => format!("pra_burden_{l}"),
            };
            let text = format!(
                "No {} translation of {}: the {} page will show another language's wording instead.",
                language(l),
                describe(&m.text),
                language(l),
            );
            (field, text)
        })
        .collect();
    out.extend(
        templates::wording_warnings(def)
            .into_iter()
            .map(|w| (format!("q.{}.prompt_en", w.question_id), w.message)),
    );
    out
}

/// Publishes `s`'s stored draft, unless the author has not yet seen its warnings (`confirmed` is false): then the
/// edit page lists them with a "Publish anyway" button. A draft unchanged since the live version publishes nothing
/// and says so; `saved` (from the editor's "Save and publish") says first that what was typed was saved, since the
/// survey's settings are saved whether or not a version is published.
async fn publish_draft(
    state: &AppState,
    m: &Analyst,
    s: &heard_store::Survey,
    confirmed: bool,
    saved: bool,
) -> AppResult<Response> {
    let unchanged = |v: i32| {
        let notice = format!(
            "{}The questions have not changed since version {v}, so no new version was published.",
            if saved { "Settings saved. " } else { "" }
        );
        render_edit(
            state,
            m,
            s,
            &s.draft,
            &FieldErrors::default(),
            Some(&notice),
            false,
            StatusCode::OK,
        )
    };
    // Said before any warning: there is nothing to publish, so nothing to confirm.
    if let Some(latest) = state.store.survey_versions(m.org_id(), s.id).await?.first()
        && latest.definition.same_content(&s.draft)
    {
        return unchanged(latest.version);
    }
    if !confirmed && !publish_warnings(&s.draft).is_empty() {
        return render_edit(
            state,
            m,
            s,
            &s.draft,
            &FieldErrors::default(),
            None,
            true,
            StatusCode::OK,
        );
    }
    match state
        .store
        .publish_survey(m.org_id(), s.id, Some(m.me.user.id), heard_store::now_ms())
        .await?
    {
        Published::New(v) => {
            state.published.forget(s.id);
            tracing::info!(survey = %s.id, version = v, "published");
            Ok(
                Redirect::to(&format!("/admin/o/{}/surveys/{}/share", m.org_id(), s.id))
                    .into_response(),
            )
        }
        Published::Unchanged(v) => unchanged(v),
    }
}

#[allow(clippy::too_many_arguments)]
fn render_edit(
    state: &AppState,
    m: &Analyst,
    s: &heard_store::Survey,
    def: &SurveyDefinition,
    errs: &FieldErrors,
    saved: Option<&str>,
    confirm_publish: bool,
    status: StatusCode,
) -> AppResult<Response> {
    let warnings: Vec<_> = publish_warnings(def)
        .into_iter()
        .map(|(field, text)| context! { field, text })
        .collect();
    let not_applicable = templates::not_applicable(def);
    let indicators: Vec<_> = V2_INDICATORS
        .iter()
        .map(|i| context! { key => i, na => not_applicable.contains(i), fixed => templates::V2_ALWAYS_OFFERED.contains(i) })
        .collect();
    let questions: Vec<_> = def
        .questions
        .iter()
        .map(|q| {
            context! { id => q.id, kind => q.kind.label(), prompt => q.prompt.0, help => q.help.0, required => q.required,
                conditional => q.show_if.is_some(), options => q.options.iter().map(|o| context!{ value => o.value, label => o.label.0 }).collect::<Vec<_>>(),
                a11 => q.a11.is_some(), hidden => q.kind == heard_domain::survey::QuestionKind::Hidden }
        })
        .collect();
    let mut resp = page(
        state,
        "survey_edit.html",
        base_ctx(m, "surveys"),
        context! {
            survey => context!{ id => s.id.to_string(), name => s.name, published_version => s.published_version, transaction_point => s.transaction_point,
                allowed_origins => s.allowed_origins.join("\n"),
                widget_sample_percent => s.widget_sample_percent.to_string(),
                keep_query => s.keep_query },
            def => context!{ template => def.template.key(), title => def.title.0, intro => def.intro.0, thank_you => def.thank_you.0,
                pra => def.pra.as_ref().map(|p| context!{ omb => p.omb_control_number, expires => p.expiration_date.to_string(), burden => p.burden_statement.0 }) },
            questions => questions, blank => def.template == TemplateKind::Blank, errors => form_errors(errs), saved => saved,
            warnings => warnings, confirm_publish => confirm_publish,
            sms => super::outreach::opening_segments(def, &m.org.name),
            indicators => if def.template == TemplateKind::A11V2 { Some(indicators) } else { None },
            transaction_points => TRANSACTION_POINTS.iter().map(|t| context!{ key => t, label => transaction_point_label(t) }).collect::<Vec<_>>(),
            kinds => QuestionKind::ALL.iter().map(|k| context!{ key => k.key(), label => k.label() }).collect::<Vec<_>>(),
        },
    );
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

pub async fn save(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let s = state.store.survey(m.org_id(), survey_id(&id)?).await?;
    let mut def = s.draft.clone();
    let mut errs = FieldErrors::default();
    let name = form.get("name");
    if name.is_empty() {
        errs.push(FieldError::new(
            "name",
            "required",
            "the survey needs a name",
        ));
    }
    let origins = parse_origins(form.get("allowed_origins"))
        .map_err(|e| errs.push(e))
        .unwrap_or_default();
    let sample = form.get("widget_sample_percent").trim();
    let sample = match sample.parse::<i32>() {
        Ok(n) if (0..=100).contains(&n) => n,
        _ if sample.is_empty() => s.widget_sample_percent,
        _ => {
            errs.push(FieldError::new(
                "widget_sample_percent",
                "out_of_range",
                "enter a whole number from 0 to 100",
            ));
            s.widget_sample_percent
        }
    };
    let tp = form.get("transaction_point");
    if !TRANSACTION_POINTS.contains(&tp) {
        errs.push(FieldError::new(
            "transaction_point",
            "not_an_option",
            "choose a transaction point",
        ));
    }
    if let Err(e) = apply_edit(&mut def, &form) {
        errs.0.extend(e.0);
    }
    if !errs.is_empty() {
        return render_edit(
            &state,
            &m,
            &s,
            &def,
            &errs,
            None,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    state
        .store
        .update_survey(
            m.org_id(),
            s.id,
            name,
            &def,
            &origins,
            tp,
            heard_store::now_ms(),
        )
        .await?;
    state
        .store
        .update_survey_widget_settings(
            m.org_id(),
            s.id,
            sample,
            form.has("keep_query"),
            heard_store::now_ms(),
        )
        .await?;
    state.published.forget(s.id);
    let s = state.store.survey(m.org_id(), s.id).await?;
    if form.has("publish") {
        return publish_draft(&state, &m, &s, form.has("confirm"), true).await;
    }
    render_edit(
        &state,
        &m,
        &s,
        &s.draft,
        &FieldErrors::default(),
        Some("Saved. Publish to make these changes live."),
        false,
        StatusCode::OK,
    )
}

/// Adds a question to a blank survey's draft.
pub async fn add_question(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let s = state.store.survey(m.org_id(), survey_id(&id)?).await?;
    if s.draft.template != TemplateKind::Blank {
        return Err(AppError::Conflict(
            "A-11 templates keep their questions; start from the blank template to add your own."
                .into(),
        ));
    }
    let mut errs = FieldErrors::default();
    let kind: Option<QuestionKind> =
        serde_json::from_value(serde_json::Value::String(form.get("kind").into()))
            .map_err(|_| {
                errs.push(FieldError::new(
                    "kind",
                    "not_an_option",
                    "choose a question type",
                ))
            })
            .ok();
    let prompt = LocalizedText::new(form.get("prompt_en"), form.get("prompt_es"));
    if prompt.get("en").is_empty() && kind != Some(QuestionKind::Hidden) {
        errs.push(FieldError::new(
            "prompt_en",
            "required",
            "write the question in English",
        ));
    }
    // A customer characteristic (age band, disability, location, other) the barriers page compares trust across.
    let characteristic = match form.get("characteristic") {
        "" => None,
        c => {
            let parsed = heard_domain::survey::CustomerCharacteristic::parse(c);
            if parsed.is_none() {
                errs.push(FieldError::new(
                    "characteristic",
                    "not_an_option",
                    "choose age band, disability, location, other, or none",
                ));
            }
            parsed
        }
    };
    let mut def = s.draft.clone();
    if let (true, Some(kind)) = (errs.is_empty(), kind) {
        // Never an id any version used: answers, reports and export columns keyed by it stay one question's.
        let versions = state.store.survey_versions(m.org_id(), s.id).await?;
        let qid = next_question_id(
            versions
                .iter()
                .map(|v| &v.definition)
                .chain(std::iter::once(&def)),
        );
        let options: Vec<Choice> = if kind.has_options() {
            let en: Vec<&str> = form
                .get("options_en")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let es: Vec<&str> = form.get("options_es").lines().map(str::trim).collect();
            en.iter()
                .enumerate()
                .map(|(i, l)| Choice {
                    value: format!("o{}", i + 1),
                    label: LocalizedText::new(*l, es.get(i).copied().unwrap_or("")),
                })
                .collect()
        } else {
            vec![]
        };
        def.questions.push(Question {
            id: qid,
            kind,
            prompt,
            help: LocalizedText::default(),
            required: form.has("required"),
            options,
            show_if: None,
            a11: None,
            characteristic,
        });
        match def.check() {
            Ok(()) => {
                save_draft(&state, m.org_id(), &s, &def).await?;
                return Ok(
                    Redirect::to(&format!("/admin/o/{}/surveys/{}/edit", m.org_id(), s.id))
                        .into_response(),
                );
            }
            Err(e) => errs.0.extend(in_words(e, &def).0.into_iter().map(|mut x| {
                if x.field.ends_with(".options") {
                    x.field = "options_en".into();
                }
                x
            })),
        }
    }
    render_edit(
        &state,
        &m,
        &s,
        &s.draft,
        &errs,
        None,
        false,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

pub async fn delete_question(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id, question)): Path<(String, String, String)>,
    AdminForm(_): AdminForm,
) -> AppResult<Response> {
    let s = state.store.survey(m.org_id(), survey_id(&id)?).await?;
    if s.draft.template != TemplateKind::Blank {
        return Err(AppError::Conflict(
            "A-11 templates keep their questions.".into(),
        ));
    }
    let mut def = s.draft.clone();
    if def.questions.iter().any(|q| {
        q.show_if
            .as_ref()
            .is_some_and(|c| c.questions().contains(&question.as_str()))
    }) {
        return Err(AppError::Conflict(
            "Another question's show/hide rule uses this question; change that first.".into(),
        ));
    }
    let before = def.questions.len();
    def.questions.retain(|q| q.id != question);
    if def.questions.len() == before {
        return Err(AppError::NotFound);
    }
    save_draft(&state, m.org_id(), &s, &def).await?;
    Ok(Redirect::to(&format!("/admin/o/{}/surveys/{}/edit", m.org_id(), s.id)).into_response())
}

/// Stores a new draft definition for `s`, its other settings unchanged.
async fn save_draft(
    state: &AppState,
    org: OrgId,
    s: &heard_store::Survey,
    def: &SurveyDefinition,
) -> AppResult<()> {
    state
        .store
        .update_survey(
            org,
            s.id,
            &s.name,
            def,
            &s.allowed_origins,
            &s.transaction_point,
            heard_store::now_ms(),
        )
        .await?;
    Ok(())
}

pub async fn publish(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
    AdminForm(form): AdminForm,
) -> AppResult<Response> {
    let s = state.store.survey(m.org_id(), survey_id(&id)?).await?;
    publish_draft(&state, &m, &s, form.has("confirm"), false).await
}

fn share_url(state: &AppState, m: &Analyst, s: &heard_store::Survey) -> AppResult<String> {
    if s.published_version.is_none() {
        return Err(AppError::Conflict(
            "Publish the survey first; a draft has no public link.".into(),
        ));
    }
    let tp = s
        .touchpoint_id
        .map(|t| format!("?tp={t}"))
        .unwrap_or_default();
    Ok(format!(
        "{}/s/{}/{}{tp}",
        state.public_url, m.org.slug, s.id
    ))
}

/// The address a printed QR code opens: the share link marked `via=qr`, so responses from the kiosk or poster
/// arrive on the kiosk channel (`heard_domain::Arrival::KioskQr`), whatever touchpoint the survey is about.
fn qr_url(share_url: &str) -> String {
    let sep = if share_url.contains('?') { '&' } else { '?' };
    format!("{share_url}{sep}via=qr")
}

pub async fn share(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let s = state.store.survey(m.org_id(), survey_id(&id)?).await?;
    let url = share_url(&state, &m, &s)?;
    Ok(page(
        &state,
        "survey_share.html",
        base_ctx(&m, "surveys"),
        context! {
            survey => context!{ id => s.id.to_string(), name => s.name, published_version => s.published_version },
            qr => minijinja::Value::from_safe_string(qr::svg(&qr_url(&url))), qr_url => qr_url(&url), url => url,
            api => format!("{}/api/v1/{}/surveys/{}", state.public_url, m.org.slug, s.id),
        },
    ))
}

/// The embed snippets for each way of showing the widget, and a live preview that counts no display and sends
/// nothing.
pub async fn embed(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let s = state.store.survey(m.org_id(), survey_id(&id)?).await?;
    share_url(&state, &m, &s)?;
    let api = format!(
        "{}/api/v1/{}/surveys/{}",
        state.public_url, m.org.slug, s.id
    );
    let src = format!("{}{}", state.public_url, crate::widget::versioned_path());
    let tag = |extra: &str| {
        format!(
            "<script async src=\"{src}\"\n  integrity=\"{}\" crossorigin=\"anonymous\" referrerpolicy=\"no-referrer\"\n  data-survey=\"{api}\"{extra}></script>",
            crate::widget::WIDGET.integrity
        )
    };
    let snippets = [
        (
            "tab",
            "Floating tab",
            "A small tab in the corner of the page; it opens the survey in a dialog.".to_string(),
            tag(""),
        ),
        (
            "inline",
            "Inside the page",
            "The survey shows inside an element of your page. Reserve its height so nothing moves when it appears.".to_string(),
            format!("<div id=\"heard-feedback\"></div>\n{}", tag(" data-mode=\"inline\" data-target=\"heard-feedback\"")),
        ),
        (
            "button",
            "Your own button",
            "Your page's button opens the survey in a dialog. A visitor who asks is always offered it, whatever the sample.".to_string(),
            format!("<button type=\"button\" id=\"heard-open\">Give feedback</button>\n{}", tag(" data-mode=\"button\" data-target=\"heard-open\"")),
        ),
    ];
    let origin = state.public_url.to_string();
    // The ids `data-hidden` takes, with the question's number as the editor shows it: staff cannot fill a hidden
    // question whose id they cannot see.
    let hidden: Vec<_> = s
        .draft
        .questions
        .iter()
        .enumerate()
        .filter(|(_, q)| q.kind == heard_domain::survey::QuestionKind::Hidden)
        .map(|(i, q)| context! { id => q.id, number => i + 1 })
        .collect();
    Ok(page(
        &state,
        "survey_embed.html",
        base_ctx(&m, "surveys"),
        context! {
            survey => context!{ id => s.id.to_string(), name => s.name, published_version => s.published_version,
                sample => s.widget_sample_percent, keep_query => s.keep_query, allowed_origins => s.allowed_origins },
            snippets => snippets.iter().map(|(key, title, note, code)| context!{ key, title, note, code }).collect::<Vec<_>>(),
            path => crate::widget::versioned_path(), src => src, integrity => crate::widget::WIDGET.integrity, api => api, origin => origin,
            hidden => hidden,
        },
    ))
}

pub async fn qr_svg(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let s = state.store.survey(m.org_id(), survey_id(&id)?).await?;
    let url = share_url(&state, &m, &s)?;
    Ok(download(
        qr::svg(&qr_url(&url)).into_bytes(),
        "image/svg+xml",
        &format!("survey-{}-qr.svg", s.id),
    ))
}

pub async fn qr_png(
    State(state): State<AppState>,
    m: Analyst,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let s = state.store.survey(m.org_id(), survey_id(&id)?).await?;
    let url = share_url(&state, &m, &s)?;
    Ok(download(
        qr::png(&qr_url(&url), 16),
        "image/png",
        &format!("survey-{}-qr.png", s.id),
    ))
}

pub(super) fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).expect("ascii name"),
    );
    resp
}
