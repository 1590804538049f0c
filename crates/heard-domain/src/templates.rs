//! Survey templates: A-11 version 1 (the seven drivers, in the circular's exact words), A-11 version 2 (trust plus
//! driver indicators revealed by the answer) and a blank survey. The service's name is filled in per language.
//! Spanish wording is Heard's own translation; the English is A-11's, "without modification".

use crate::logic::Condition;
use crate::survey::{A11Role, Choice, Question, QuestionKind, SurveyDefinition, TemplateKind};
use crate::{FieldError, LocalizedText};

fn t(en: &str, es: &str) -> LocalizedText {
    LocalizedText::new(en, es)
}

fn q(
    id: &str,
    kind: QuestionKind,
    prompt: LocalizedText,
    required: bool,
    a11: Option<A11Role>,
) -> Question {
    Question {
        id: id.into(),
        kind,
        prompt,
        help: LocalizedText::default(),
        required,
        options: vec![],
        show_if: None,
        a11,
        characteristic: None,
    }
}

fn langs() -> Vec<String> {
    vec!["en".into(), "es".into()]
}

/// A-11 version 1: seven statements on the 5-point agreement scale and two comment boxes. Only the first two
/// statements (satisfaction and trust) are required, as in the form agencies use today (GSA/touchpoints,
/// `db/seeds/forms/a11.rb`); a respondent may skip the other five.
pub fn a11_v1(service: &LocalizedText) -> SurveyDefinition {
    use QuestionKind::*;
    let s = |en: &str, es: &str| t(en, es).fill_service(service);
    let questions = vec![
        q(
            "satisfaction",
            Agreement5,
            s(
                "I am satisfied with the service I received from {service}.",
                "Estoy satisfecho con el servicio que recibí de {service}.",
            ),
            true,
            Some(A11Role::Satisfaction),
        ),
        q(
            "trust",
            Agreement5,
            s(
                "This interaction increased my confidence in {service}.",
                "Esta interacción aumentó mi confianza en {service}.",
            ),
            true,
            Some(A11Role::Trust),
        ),
        q(
            "scores_comment",
            LongText,
            t(
                "Any additional feedback on your scores above?",
                "¿Tiene algún comentario adicional sobre sus respuestas anteriores?",
            ),
            false,
            Some(A11Role::Comment),
        ),
        q(
            "effectiveness",
            Agreement5,
            t("My need was addressed.", "Se atendió mi necesidad."),
            false,
            Some(A11Role::Effectiveness),
        ),
        q(
            "ease",
            Agreement5,
            t(
                "It was easy to complete what I needed to do.",
                "Fue fácil completar lo que necesitaba hacer.",
            ),
            false,
            Some(A11Role::Ease),
        ),
        q(
            "efficiency",
            Agreement5,
            t(
                "It took a reasonable amount of time to do what I needed to do.",
                "Me tomó un tiempo razonable hacer lo que necesitaba hacer.",
            ),
            false,
            Some(A11Role::Efficiency),
        ),
        q(
            "transparency",
            Agreement5,
            t("I was treated fairly.", "Me trataron de manera justa."),
            false,
            Some(A11Role::Transparency),
        ),
        q(
            "employee",
            Agreement5,
            t(
                "Employees I interacted with were helpful.",
                "Los empleados con los que interactué me ayudaron.",
            ),
            false,
            Some(A11Role::Employee),
        ),
        q(
            "comment",
            LongText,
            s(
                "Any additional feedback for {service}?",
                "¿Algún otro comentario para {service}?",
            ),
            false,
            Some(A11Role::Comment),
        ),
    ];
    SurveyDefinition {
        template: TemplateKind::A11V1,
        title: s(
            "How was your experience with {service}?",
            "¿Cómo fue su experiencia con {service}?",
        ),
        intro: t(
            "Tell us about your experience. It takes about 2 minutes, and your answers help us improve.",
            "Cuéntenos sobre su experiencia. Toma unos 2 minutos y sus respuestas nos ayudan a mejorar.",
        ),
        questions,
        pra: None,
        thank_you: t(
            "Thank you. We read every response.",
            "Gracias. Leemos todas las respuestas.",
        ),
        languages: langs(),
    }
}

/// How the v2 trust question is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustScale {
    Thumbs,
    Agreement5,
}

/// The option values of A-11 v2's driver indicators, in the upload format's order.
pub const V2_INDICATORS: [&str; 7] = [
    "effectiveness",
    "ease",
    "efficiency",
    "transparency",
    "humanity",
    "employee",
    "other",
];

/// An A-11 v2 driver indicator in words for staff reading a dashboard ("Ease (easy to do)"); the key otherwise.
pub fn indicator_label(key: &str) -> &str {
    match key {
        "effectiveness" => "Effectiveness (got what they needed)",
        "ease" => "Ease (easy to do)",
        "efficiency" => "Efficiency (a reasonable time)",
        "transparency" => "Transparency (a clear, fair process)",
        "humanity" => "Humanity (treated with respect)",
        "employee" => "Employee helpfulness",
        "other" => "Something else",
        other => other,
    }
}

fn indicator_choices(went_well: bool) -> Vec<Choice> {
    let labels: [(&str, &str, &str, &str); 7] = [
        (
            "I got what I needed",
            "Obtuve lo que necesitaba",
            "I did not get what I needed",
            "No obtuve lo que necesitaba",
        ),
        (
            "It was easy",
            "Fue fácil",
            "It was hard to do",
            "Fue difícil",
        ),
        (
            "It took a reasonable amount of time",
            "Tomó un tiempo razonable",
            "It took too long",
            "Tomó demasiado tiempo",
        ),
        (
            "The process was clear and fair",
            "El proceso fue claro y justo",
            "The process was unclear or unfair",
            "El proceso no fue claro o no fue justo",
        ),
        (
            "I was treated with respect",
            "Me trataron con respeto",
            "I was not treated with respect",
            "No me trataron con respeto",
        ),
        (
            "Staff were helpful",
            "El personal me ayudó",
            "Staff were not helpful",
            "El personal no me ayudó",
        ),
        ("Something else", "Otra cosa", "Something else", "Otra cosa"),
    ];
    V2_INDICATORS
        .iter()
        .zip(labels)
        .map(|(v, (we, ws, be, bs))| Choice {
            value: (*v).into(),
            label: if went_well { t(we, ws) } else { t(be, bs) },
        })
        .collect()
}

/// A-11 version 2: trust (thumbs or 5-point), then "what went well" or "what didn't go so well" depending on the
/// answer, then a comment.
pub fn a11_v2(service: &LocalizedText, scale: TrustScale) -> SurveyDefinition {
    use QuestionKind::*;
    let s = |en: &str, es: &str| t(en, es).fill_service(service);
    let (kind, positive, negative): (QuestionKind, &[&str], &[&str]) = match scale {
        TrustScale::Thumbs => (Thumbs, &["1"], &["0"]),
        TrustScale::Agreement5 => (Agreement5, &["4", "5"], &["1", "2", "3"]),
    };
    let mut trust = q(
        "trust",
        kind,
        s(
            "Based on my experience with {service}, I trust this agency to deliver on its mission for the American public.",
            "Según mi experiencia con {service}, confío en que esta agencia cumpla su misión para el público estadounidense.",
        ),
        true,
        Some(A11Role::Trust),
    );
    trust.help = t("Your answer is anonymous.", "Su respuesta es anónima.");
    let mut well = q(
        "went_well",
        MultipleChoice,
        t("What went well?", "¿Qué salió bien?"),
        false,
        Some(A11Role::WentWell),
    );
    well.options = indicator_choices(true);
    well.show_if = Some(Condition::any_of("trust", positive));
    well.help = t(
        "Choose all that apply.",
        "Elija todas las que correspondan.",
    );
    let mut badly = q(
        "went_badly",
        MultipleChoice,
        t("What didn't go so well?", "¿Qué no salió tan bien?"),
        false,
        Some(A11Role::WentBadly),
    );
    badly.options = indicator_choices(false);
    badly.show_if = Some(Condition::any_of("trust", negative));
    badly.help = t(
        "Choose all that apply.",
        "Elija todas las que correspondan.",
    );
    let comment = q(
        "comment",
        LongText,
        t("Additional comments", "Comentarios adicionales"),
        false,
        Some(A11Role::Comment),
    );
    SurveyDefinition {
        template: TemplateKind::A11V2,
        title: s(
            "How was your experience with {service}?",
            "¿Cómo fue su experiencia con {service}?",
        ),
        intro: t(
            "Two quick questions. Please do not include personal information such as your Social Security number.",
            "Dos preguntas rápidas. No incluya información personal como su número de Seguro Social.",
        ),
        questions: vec![trust, well, badly, comment],
        pra: None,
        thank_you: t(
            "Thank you. We read every response.",
            "Gracias. Leemos todas las respuestas.",
        ),
        languages: langs(),
    }
}

/// A blank survey with one comment question, to be edited.
pub fn blank(service: &LocalizedText) -> SurveyDefinition {
    SurveyDefinition {
        template: TemplateKind::Blank,
        title: t("Feedback about {service}", "Comentarios sobre {service}").fill_service(service),
        intro: LocalizedText::default(),
        questions: vec![q(
            "comment",
            QuestionKind::LongText,
            t(
                "Tell us about your experience.",
                "Cuéntenos sobre su experiencia.",
            ),
            false,
            Some(A11Role::Comment),
        )],
        pra: None,
        thank_you: t("Thank you.", "Gracias."),
        languages: langs(),
    }
}

/// The A-11 v1 statements in the circular's words, with every bracketed name (`[Program/Service name]`,
/// `[relevant population]`) and the filled-in service name written `*`, which matches any non-empty text. Where A-11
/// offers alternatives ("OR"), each is listed. Source: ../shared/design/A11.md (GSA/touchpoints,
/// `app/models/pra_form.rb`).
pub const V1_WORDING: [(A11Role, &[&str]); 7] = [
    (
        A11Role::Satisfaction,
        &["I am satisfied with the service I received from *."],
    ),
    (
        A11Role::Trust,
        &[
            "This interaction increased my confidence in *.",
            "I trust * to fulfill our country's commitment to *.",
        ],
    ),
    (
        A11Role::Effectiveness,
        &[
            "My need was addressed.",
            "My issue was resolved.",
            "I found what I was looking for.",
        ],
    ),
    (
        A11Role::Ease,
        &["It was easy to complete what I needed to do."],
    ),
    (
        A11Role::Efficiency,
        &["It took a reasonable amount of time to do what I needed to do."],
    ),
    (A11Role::Transparency, &["I was treated fairly."]),
    (
        A11Role::Employee,
        &["Employees I interacted with were helpful."],
    ),
];

/// The A-11 v2 trust question as the template asks it, `*` standing for the service's name.
pub const V2_TRUST_WORDING: &str = "Based on my experience with *, I trust this agency to deliver on its mission for the American public.";

/// Whether `text` reads as `pattern`, where each `*` in the pattern stands for any non-empty text. Spaces at either
/// end and runs of spaces are not significant; letters and punctuation are.
fn matches_wording(pattern: &str, text: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = norm(text);
    let pattern = norm(pattern);
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            // The wildcard before the last part takes at least one character.
            return rest.len() > part.len() && rest.ends_with(part);
        } else {
            // Take the earliest occurrence after at least one character for the wildcard.
            let Some(pos) = rest
                .char_indices()
                .skip(1)
                .find(|(i, _)| rest[*i..].starts_with(part))
                .map(|(i, _)| i)
            else {
                return false;
            };
            rest = &rest[pos + part.len()..];
        }
    }
    rest.is_empty()
}

/// A question whose English wording departs from what A-11 mandates. A warning, not an error: the author may have
/// a reason (an approved variant), but should know the figures may not be comparable across agencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordingWarning {
    pub question_id: String,
    pub role: A11Role,
    /// A sentence for the author naming what A-11 asks for.
    pub message: String,
}

/// The mandated statements of an A-11 survey whose English wording was changed: every v1 statement (A-11 asks for
/// them "without modification") and the v2 trust question. Blank surveys have none. This is the one place the
/// mandated wording is checked; a new template or channel that shows A-11 questions should call it too.
pub fn wording_warnings(def: &SurveyDefinition) -> Vec<WordingWarning> {
    let mut out = Vec::new();
    let mut check = |role: A11Role, allowed: &[&str]| {
        if let Some(q) = def.question_with_role(role)
            && !allowed
                .iter()
                .any(|p| matches_wording(p, q.prompt.get("en")))
        {
            let quoted: Vec<String> = allowed
                .iter()
                .map(|p| format!("“{}”", p.replace('*', "[name]")))
                .collect();
            out.push(WordingWarning {
                question_id: q.id.clone(),
                role,
                message: format!(
                    "The “{}” question's English wording differs from A-11's {}; results may not be \
                     comparable with other services.",
                    role.label(),
                    quoted.join(" or ")
                ),
            });
        }
    };
    match def.template {
        TemplateKind::A11V1 => {
            for (role, allowed) in V1_WORDING {
                check(role, allowed);
            }
        }
        TemplateKind::A11V2 => check(A11Role::Trust, &[V2_TRUST_WORDING]),
        TemplateKind::Blank => {}
    }
    out
}

/// The A-11 v2 indicators an agency may not mark not applicable: A-11 always offers these two.
pub const V2_ALWAYS_OFFERED: [&str; 2] = ["effectiveness", "ease"];

/// The A-11 v2 indicators the survey does not offer (neither "what went well" nor "what didn't" lists them), in
/// `V2_INDICATORS` order. Empty for surveys without those questions.
pub fn not_applicable(def: &SurveyDefinition) -> Vec<&'static str> {
    let questions: Vec<&Question> = [A11Role::WentWell, A11Role::WentBadly]
        .iter()
        .filter_map(|r| def.question_with_role(*r))
        .collect();
    if questions.is_empty() {
        return vec![];
    }
    V2_INDICATORS
        .iter()
        .copied()
        .filter(|i| {
            questions
                .iter()
                .all(|q| !q.options.iter().any(|o| o.value == *i))
        })
        .collect()
}

/// Marks A-11 v2 indicators not applicable to a survey's service: they are taken out of both "what went well" and
/// "what didn't go so well", so respondents are not offered them and the upload file writes `null` for them; every
/// other indicator is offered (put back, with the template's label, where it had been marked before). Labels the
/// author changed are kept. Errors name the field `not_applicable` when asked to drop `effectiveness` or `ease`, or an
/// unknown indicator. Surveys without the indicator questions are left alone.
pub fn set_not_applicable(
    def: &mut SurveyDefinition,
    not_applicable: &[&str],
) -> Result<(), FieldError> {
    if let Some(bad) = not_applicable
        .iter()
        .find(|i| V2_ALWAYS_OFFERED.contains(i) || !V2_INDICATORS.contains(i))
    {
        return Err(FieldError::new(
            "not_applicable",
            "not_allowed",
            format!(
                "'{bad}' cannot be marked not applicable: A-11 always offers effectiveness and ease, and the others \
                 are efficiency, transparency, humanity, employee and other"
            ),
        ));
    }
    for (role, went_well) in [(A11Role::WentWell, true), (A11Role::WentBadly, false)] {
        let Some(q) = def.questions.iter_mut().find(|q| q.a11 == Some(role)) else {
            continue;
        };
        let template = indicator_choices(went_well);
        let current = std::mem::take(&mut q.options);
        q.options = template
            .into_iter()
            .filter(|c| !not_applicable.contains(&c.value.as_str()))
            .map(|c| {
                current
                    .iter()
                    .find(|o| o.value == c.value)
                    .cloned()
                    .unwrap_or(c)
            })
            .collect();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_uses_the_circulars_wording_with_the_service_filled_in() {
        let d = a11_v1(&LocalizedText::new(
            "Passport Services",
            "Servicios de Pasaportes",
        ));
        d.check().unwrap();
        assert_eq!(d.questions.len(), 9);
        assert_eq!(
            d.questions[0].prompt.get("en"),
            "I am satisfied with the service I received from Passport Services."
        );
        assert_eq!(
            d.questions[0].prompt.get("es"),
            "Estoy satisfecho con el servicio que recibí de Servicios de Pasaportes."
        );
        let roles: Vec<_> = d
            .questions
            .iter()
            .filter_map(|q| q.a11)
            .filter(|r| *r != A11Role::Comment)
            .collect();
        assert_eq!(roles, A11Role::V1_DRIVERS);
    }

    /// GSA/touchpoints `db/seeds/forms/a11.rb`: of the seven statements only the first two (satisfaction and
    /// trust) are required; the other five and both comments may be left blank.
    #[test]
    fn v1_requires_satisfaction_and_trust_only_as_the_reference_does() {
        let d = a11_v1(&LocalizedText::new("Passports", "Pasaportes"));
        let required: Vec<&str> = d
            .questions
            .iter()
            .filter(|q| q.required)
            .map(|q| q.id.as_str())
            .collect();
        assert_eq!(required, ["satisfaction", "trust"]);
        let raw = serde_json::json!({"satisfaction": 4, "trust": 5});
        let ok = d.parse_answers(
            raw.as_object().unwrap(),
            crate::survey::HiddenAnswers::Reject,
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn changed_mandated_wording_is_warned_about() {
        let service = LocalizedText::new("Passport Services", "Servicios de Pasaportes");
        // The templates as made, and with A-11's alternatives, raise nothing.
        let mut v1 = a11_v1(&service);
        assert_eq!(wording_warnings(&v1), vec![]);
        v1.questions[1].prompt.set(
            "en",
            "I trust the State Department to fulfill our country's commitment to travelers.",
        );
        v1.questions[3].prompt.set("en", "My issue was resolved.");
        assert_eq!(wording_warnings(&v1), vec![]);
        // A rewritten trust statement is flagged, and so is any other v1 statement.
        v1.questions[1]
            .prompt
            .set("en", "I like Passport Services.");
        v1.questions[4].prompt.set("en", "It was easy.");
        let w = wording_warnings(&v1);
        let ids: Vec<&str> = w.iter().map(|w| w.question_id.as_str()).collect();
        assert_eq!(ids, ["trust", "ease"]);
        assert!(
            w[0].message
                .contains("This interaction increased my confidence in [name].")
        );
        for scale in [TrustScale::Thumbs, TrustScale::Agreement5] {
            let mut v2 = a11_v2(&service, scale);
            assert_eq!(wording_warnings(&v2), vec![]);
            v2.questions[0].prompt.set("en", "Do you trust us?");
            assert_eq!(wording_warnings(&v2)[0].role, A11Role::Trust);
        }
        assert!(wording_warnings(&blank(&service)).is_empty());
        // Spanish is Heard's translation: changing it is not a departure from A-11.
        let mut v2 = a11_v2(&service, TrustScale::Thumbs);
        v2.questions[0].prompt.set("es", "¿Confía en nosotros?");
        assert!(wording_warnings(&v2).is_empty());
    }

    #[test]
    fn indicators_marked_not_applicable_leave_both_questions_and_come_back() {
        let mut d = a11_v2(&LocalizedText::new("X", "X"), TrustScale::Thumbs);
        assert!(not_applicable(&d).is_empty());
        d.questions[1].options[3].label.set("en", "Clear rules");
        set_not_applicable(&mut d, &["humanity", "employee"]).unwrap();
        assert_eq!(not_applicable(&d), ["humanity", "employee"]);
        for q in &d.questions[1..3] {
            let values: Vec<&str> = q.options.iter().map(|o| o.value.as_str()).collect();
            assert_eq!(
                values,
                [
                    "effectiveness",
                    "ease",
                    "efficiency",
                    "transparency",
                    "other"
                ]
            );
        }
        d.check().unwrap();
        set_not_applicable(&mut d, &[]).unwrap();
        assert!(not_applicable(&d).is_empty());
        assert_eq!(
            d.questions[1].options[5].label.get("en"),
            "Staff were helpful"
        );
        // The author's label survives.
        assert_eq!(d.questions[1].options[3].label.get("en"), "Clear rules");
        let e = set_not_applicable(&mut d, &["ease"]).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code),
            ("not_applicable", "not_allowed")
        );
        assert!(not_applicable(&a11_v1(&LocalizedText::new("X", "X"))).is_empty());
    }

    #[test]
    fn v2_on_both_scales_checks() {
        for scale in [TrustScale::Thumbs, TrustScale::Agreement5] {
            let d = a11_v2(&LocalizedText::new("X", "X"), scale);
            d.check().unwrap();
            assert_eq!(
                d.questions[1]
                    .options
                    .iter()
                    .map(|o| o.value.as_str())
                    .collect::<Vec<_>>(),
                V2_INDICATORS
            );
        }
    }
}
