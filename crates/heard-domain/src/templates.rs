//! Survey templates: A-11 version 1 (the seven drivers, in the circular's exact words), A-11 version 2 (trust plus
//! driver indicators revealed by the answer) and a blank survey. The service's name is filled in per language.
//! Spanish wording is Heard's own translation; the English is A-11's, "without modification".

use crate::LocalizedText;
use crate::logic::Condition;
use crate::survey::{A11Role, Choice, Question, QuestionKind, SurveyDefinition, TemplateKind};

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
    }
}

fn langs() -> Vec<String> {
    vec!["en".into(), "es".into()]
}

/// A-11 version 1: seven statements on the 5-point agreement scale and two comment boxes.
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
            true,
            Some(A11Role::Effectiveness),
        ),
        q(
            "ease",
            Agreement5,
            t(
                "It was easy to complete what I needed to do.",
                "Fue fácil completar lo que necesitaba hacer.",
            ),
            true,
            Some(A11Role::Ease),
        ),
        q(
            "efficiency",
            Agreement5,
            t(
                "It took a reasonable amount of time to do what I needed to do.",
                "Me tomó un tiempo razonable hacer lo que necesitaba hacer.",
            ),
            true,
            Some(A11Role::Efficiency),
        ),
        q(
            "transparency",
            Agreement5,
            t("I was treated fairly.", "Me trataron de manera justa."),
            true,
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
