//! The admin, server-rendered: sign-in, organizations and members, services and touchpoints, surveys (create from a
//! template, edit wording in every language, publish versions, share link and QR code), responses (list, filters,
//! CSV export), dashboards, and what arrives besides responses (the signals inbox, events by service and week, one
//! person's timeline, the themes explorer and comment search), outreach (senders and previews), and cases (queues, a case's page, settings with the SLA, figures). Every route under `/admin/o/{org}` takes a role extractor for that organization, and
//! every store call is scoped by that organization's id, so another organization's ids are simply not found.

mod api_keys;
pub mod callbacks;
pub mod cases;
pub mod csv_table;
mod dashboard;
mod filters;
mod inbox;
mod inbox_csv;
mod insights;
mod invitations;
mod jobs;
pub mod journeys;
mod login;
mod members;
pub mod my_deletions;
pub mod my_sign_in;
mod observations;
mod orgs;
mod outreach;
mod outreach_figures;
mod outreach_queue;
mod responses;
pub mod rules;
mod services;
mod statistics;
mod surveys;
pub mod themes;
mod webhooks;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use heard_domain::Role;
use minijinja::{Value, context};

use crate::AppState;
use crate::auth::{CurrentUser, Member, MinRole};

pub use orgs::parse_slug;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/login", get(login::form).post(login::submit))
        .route("/admin/logout", post(login::logout))
        .route(
            "/admin/sign-out-everywhere",
            post(login::sign_out_everywhere),
        )
        .route("/admin", get(orgs::home))
        .route("/admin/orgs", post(orgs::create))
        .route("/admin/site", get(orgs::site))
        .route("/admin/lockouts/unlock", post(orgs::unlock))
        .route(
            "/admin/invite/{token}",
            get(invitations::show).post(invitations::answer),
        )
        .route(
            "/admin/invitations/{org}/{invitation}",
            post(invitations::answer_signed_in),
        )
        .route("/admin/o/{org}", get(orgs::overview))
        .route("/admin/o/{org}/members", get(members::list))
        .route("/admin/o/{org}/invitations", post(members::invite))
        .route(
            "/admin/o/{org}/invitations/{invitation}/withdraw",
            post(members::withdraw),
        )
        .route("/admin/o/{org}/members/unlock", post(members::unlock))
        .route(
            "/admin/o/{org}/members/{user}/role",
            post(members::change_role),
        )
        .route(
            "/admin/o/{org}/members/{user}/remove",
            post(members::remove),
        )
        .route(
            "/admin/o/{org}/members/{user}/sign-out",
            post(members::sign_out),
        )
        .route(
            "/admin/o/{org}/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route(
            "/admin/o/{org}/api-keys/{key}/revoke",
            post(api_keys::revoke),
        )
        .route("/admin/o/{org}/settings", post(orgs::settings))
        .route("/admin/o/{org}/time-zone", post(orgs::set_time_zone))
        .route("/admin/o/{org}/outreach", get(outreach::landing))
        .route(
            "/admin/o/{org}/outreach/sms/new",
            get(outreach::sms_new_form),
        )
        .route("/admin/o/{org}/outreach/sms", post(outreach::sms_create))
        .route(
            "/admin/o/{org}/outreach/sms/{sender}",
            get(outreach::sms_edit_form).post(outreach::sms_update),
        )
        .route(
            "/admin/o/{org}/outreach/email",
            get(outreach::email_form).post(outreach::email_save),
        )
        .route(
            "/admin/o/{org}/outreach/email/test",
            post(outreach::email_test),
        )
        .route("/admin/o/{org}/outreach/preview", get(outreach::preview))
        .route(
            "/admin/o/{org}/outreach/preview/email.html",
            get(outreach::preview_email_html),
        )
        .route("/admin/o/{org}/jobs", get(jobs::list))
        .route("/admin/o/{org}/jobs/{job}/retry", post(jobs::retry))
        .route("/admin/o/{org}/services", post(services::create))
        .route(
            "/admin/o/{org}/services/{service}",
            get(services::show).post(services::update),
        )
        .route(
            "/admin/o/{org}/services/{service}/touchpoints",
            post(services::add_touchpoint),
        )
        .route(
            "/admin/o/{org}/services/{service}/volume",
            post(services::set_volume),
        )
        .route("/admin/o/{org}/surveys/new", get(surveys::new_form))
        .route("/admin/o/{org}/surveys", post(surveys::create))
        .route("/admin/o/{org}/surveys/{survey}", get(dashboard::survey))
        .route(
            "/admin/o/{org}/surveys/{survey}/edit",
            get(surveys::edit_form).post(surveys::save),
        )
        .route(
            "/admin/o/{org}/surveys/{survey}/questions",
            post(surveys::add_question),
        )
        .route(
            "/admin/o/{org}/surveys/{survey}/questions/{question}/delete",
            post(surveys::delete_question),
        )
        .route(
            "/admin/o/{org}/surveys/{survey}/publish",
            post(surveys::publish),
        )
        .route("/admin/o/{org}/surveys/{survey}/share", get(surveys::share))
        .route("/admin/o/{org}/surveys/{survey}/embed", get(surveys::embed))
        .route(
            "/admin/o/{org}/surveys/{survey}/qr.svg",
            get(surveys::qr_svg),
        )
        .route(
            "/admin/o/{org}/surveys/{survey}/qr.png",
            get(surveys::qr_png),
        )
        .route(
            "/admin/o/{org}/surveys/{survey}/a11-v2.csv",
            get(dashboard::a11_csv),
        )
        .route(
            "/admin/o/{org}/observations",
            get(observations::show).post(observations::submit),
        )
        .route(
            "/admin/o/{org}/services/{service}/report-qr.svg",
            get(services::report_qr_svg),
        )
        .route(
            "/admin/o/{org}/services/{service}/report-qr.png",
            get(services::report_qr_png),
        )
        .route("/admin/o/{org}/responses", get(responses::list))
        .route("/admin/o/{org}/responses.csv", get(responses::export))
        .route("/admin/o/{org}/responses/{response}", get(responses::show))
        .route("/admin/o/{org}/signals", get(inbox::list))
        .route("/admin/o/{org}/signals.csv", get(inbox_csv::signals_csv))
        .route("/admin/o/{org}/events.csv", get(inbox_csv::events_csv))
        .route("/admin/o/{org}/signals/{signal}", get(inbox::show))
        .route("/admin/o/{org}/events", get(inbox::events))
        .route("/admin/o/{org}/people/{person}", get(inbox_csv::person))
        .route("/admin/o/{org}/drivers", get(insights::drivers))
        .route("/admin/o/{org}/segments", get(insights::segments))
        .route("/admin/o/{org}/operations", get(insights::operations))
        .route("/admin/o/{org}/insights/refresh", post(insights::refresh))
        .route("/admin/o/{org}/statistics", get(statistics::page_handler))
        .route("/admin/o/{org}/statistics.csv", get(statistics::csv))
        .route(
            "/admin/o/{org}/outreach/figures",
            get(outreach_figures::page_handler),
        )
        .route(
            "/admin/o/{org}/outreach/figures.csv",
            get(outreach_figures::csv),
        )
        .route("/admin/o/{org}/themes", get(themes::explorer))
        .route("/admin/o/{org}/themes.csv", get(themes::explorer_csv))
        .route("/admin/o/{org}/search", get(themes::search))
        .route(
            "/admin/o/{org}/journeys",
            get(journeys::list).post(journeys::create),
        )
        .route("/admin/o/{org}/journeys/new", get(journeys::new_form))
        .route(
            "/admin/o/{org}/journeys/defaults",
            post(journeys::add_defaults),
        )
        .route("/admin/o/{org}/journeys/{journey}", get(journeys::show))
        .route(
            "/admin/o/{org}/journeys/{journey}/edit",
            get(journeys::edit_form).post(journeys::update),
        )
        .route(
            "/admin/o/{org}/journeys/{journey}/refresh",
            post(journeys::refresh),
        )
        .route(
            "/admin/o/{org}/outreach/rules",
            get(outreach_queue::rules).post(outreach_queue::create),
        )
        .route(
            "/admin/o/{org}/outreach/rules/{rule}",
            get(outreach_queue::show).post(outreach_queue::update),
        )
        .route(
            "/admin/o/{org}/outreach/rules/{rule}/pause",
            post(outreach_queue::pause),
        )
        .route("/admin/o/{org}/outreach/queue", get(outreach_queue::queue))
        .route(
            "/admin/o/{org}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/admin/o/{org}/webhooks/{endpoint}",
            get(webhooks::show).post(webhooks::update),
        )
        .route(
            "/admin/o/{org}/webhooks/{endpoint}/pause",
            post(webhooks::pause),
        )
        .route(
            "/admin/o/{org}/webhooks/{endpoint}/rotate",
            post(webhooks::rotate),
        )
        .route(
            "/admin/o/{org}/webhooks/{endpoint}/deliveries/{delivery}",
            get(webhooks::delivery),
        )
        .route(
            "/admin/o/{org}/webhooks/{endpoint}/deliveries/{delivery}/replay",
            post(webhooks::replay),
        )
        .route("/admin/o/{org}/my-deletions", get(my_deletions::list))
        .route(
            "/admin/o/{org}/my-sign-in",
            get(my_sign_in::show).post(my_sign_in::save),
        )
        .route("/admin/o/{org}/my-sign-in/remove", post(my_sign_in::remove))
        .route("/admin/o/{org}/callbacks", get(callbacks::list))
        .route("/admin/o/{org}/callbacks/{id}", get(callbacks::show))
        .route("/admin/o/{org}/callbacks/{id}/call", post(callbacks::call))
        .route(
            "/admin/o/{org}/callbacks/{id}/cancel",
            post(callbacks::cancel),
        )
        .route("/admin/o/{org}/cases", get(cases::list).post(cases::create))
        .route("/admin/o/{org}/cases/new", get(cases::new_form))
        .route("/admin/o/{org}/cases/bulk", post(cases::bulk))
        .route("/admin/o/{org}/cases/figures", get(cases::figures))
        .route(
            "/admin/o/{org}/cases/settings",
            get(cases::settings_saved).post(cases::save_sla),
        )
        .route(
            "/admin/o/{org}/cases/settings/statuses",
            post(cases::save_status),
        )
        .route("/admin/o/{org}/cases/settings/teams", post(cases::add_team))
        .route(
            "/admin/o/{org}/cases/settings/callbacks",
            post(cases::save_callbacks),
        )
        .route(
            "/admin/o/{org}/cases/settings/on-call",
            post(cases::save_on_call),
        )
        .route(
            "/admin/o/{org}/cases/{case}",
            get(cases::show).post(cases::update),
        )
        .route("/admin/o/{org}/cases/{case}/write", post(cases::write))
        .route("/admin/o/{org}/cases/{case}/close", post(cases::close))
        .route("/admin/o/{org}/cases/{case}/link", post(cases::link))
        .route("/admin/o/{org}/rules", get(rules::list).post(rules::create))
        .route(
            "/admin/o/{org}/rules/{rule}",
            get(rules::show).post(rules::update),
        )
        .route("/admin/o/{org}/rules/{rule}/switch", post(rules::switch))
        .route("/admin/o/{org}/rules/{rule}/dry-run", post(rules::dry_run))
        .route(
            "/admin/o/{org}/outreach/batches",
            get(outreach_queue::batches).post(outreach_queue::upload),
        )
}

/// The context every admin page has: who is signed in, where, with which role, and the CSRF token for forms.
pub fn base_ctx<R: MinRole>(m: &Member<R>, section: &str) -> Value {
    context! {
        me => context! { name => m.me.user.name, email => m.me.user.email, is_operator => m.me.user.is_operator },
        org => context! { id => m.org.id.to_string(), name => m.org.name, slug => m.org.slug, time_zone => m.org.time_zone.name() },
        role => m.role.key(), can_edit => m.role >= Role::Analyst, is_admin => m.role >= Role::Admin,
        trust_rule => heard_domain::survey::TemplateKind::TRUST_RULE,
        csrf => m.me.csrf, section => section,
    }
}

pub fn page(state: &AppState, name: &str, base: Value, extra: Value) -> Response {
    state.templates.page(name, context! { ..base, ..extra })
}

pub fn not_found_page(state: &AppState, me: Option<&CurrentUser>) -> Response {
    let html = state
        .templates
        .render("admin_message.html", context! { title => "Page not found", message => "This page does not exist, or your account may not see it.", me => me.map(|m| context!{ name => m.user.name }), csrf => me.map(|m| m.csrf.clone()) })
        .unwrap_or_default();
    (StatusCode::NOT_FOUND, Html(html)).into_response()
}

/// A short page with a title and a sentence, for refusals that are not about a role in an organization.
pub fn message_page(
    state: &AppState,
    me: &CurrentUser,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    let html = state
        .templates
        .render(
            "admin_message.html",
            context! { title => title, message => message, me => context!{ name => me.user.name }, csrf => me.csrf },
        )
        .unwrap_or_default();
    (status, Html(html)).into_response()
}

pub fn forbidden_page(state: &AppState, me: &CurrentUser, needed: Role) -> Response {
    let html = state
        .templates
        .render(
            "admin_message.html",
            context! { title => "You may not do this", message => format!("This needs the {} role in this organization. Ask one of its administrators.", needed.label().to_lowercase()),
                me => context!{ name => me.user.name }, csrf => me.csrf },
        )
        .unwrap_or_default();
    (StatusCode::FORBIDDEN, Html(html)).into_response()
}

/// Re-renders a form page with field errors (422), keeping what was typed.
pub fn form_errors(errs: &heard_domain::FieldErrors) -> Value {
    let map: std::collections::BTreeMap<String, String> = errs
        .0
        .iter()
        .map(|e| (e.field.clone(), e.message.clone()))
        .collect();
    Value::from_serialize(&map)
}
