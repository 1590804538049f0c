//! What the demo's people and staff write: survey comments, social posts, reviews, "report a problem" forms, call
//! transcripts and staff notes, in English and Spanish, chosen by what happened to the person (a long wait, a
//! document asked for again, transfers, an abandoned application) so the text engine's themes line up with the
//! events. A few carry personal data for the redaction to catch.

use heard_domain::signal::{Speaker, Turn};
use rand::Rng;
use rand::rngs::StdRng;

/// What happened to one person, as far as their words go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Experience {
    pub spanish: bool,
    pub long_wait: bool,
    pub asked_again: bool,
    pub transfers: u32,
    pub abandoned: bool,
    pub positive: bool,
}

pub fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// One of these texts.
pub fn one(rng: &mut StdRng, items: &[&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}

/// A survey comment by service and tone; a negative one is about what went wrong for this person when something did.
pub fn comment(service: &str, x: &Experience, rng: &mut StdRng) -> &'static str {
    if !x.positive {
        let specific: Option<&[&str]> = match (
            x.spanish,
            x.long_wait,
            x.asked_again,
            x.transfers > 1,
        ) {
            (false, true, _, _) => Some(&[
                "I waited over an hour on hold before anyone answered.",
                "The wait at the office was three hours. I lost a day of work.",
                "I waited three hours on hold and the call dropped twice.",
            ]),
            (false, _, true, _) => Some(&[
                "I had to upload the same documents three times. Why do you keep asking for the same information?",
                "I was asked for my pay stubs again even though I sent them last month.",
            ]),
            (false, _, _, true) => {
                Some(&["I was transferred from one person to another and nobody could help me."])
            }
            (true, true, _, _) => Some(&["Esperé mucho tiempo en el teléfono y nadie me ayudó."]),
            (true, _, true, _) => Some(&["Me pidieron los mismos papeles otra vez."]),
            (true, _, _, true) => Some(&["Me transfirieron varias veces y nadie hablaba español."]),
            _ => None,
        };
        if let Some(list) = specific.filter(|_| rng.random::<f64>() < 0.7) {
            return one(rng, list);
        }
    }
    let en_neg: &[&str] = match service {
        "ui" => &[
            "I waited three hours on hold and the call dropped twice.",
            "The website kept logging me out and I had to verify my identity again and again.",
            "Nobody told me why my payment was late. I still have not received my benefits after six weeks.",
            "I had to upload the same documents three times. Why do you keep asking for the same information?",
            "The letter was confusing and I did not understand if I am eligible.",
            "Please call me back at 202-555-0147, I have been trying for weeks.",
            "I can't check the status of my claim anywhere, I just wait and hope.",
            "The online form crashed on the last page and I lost everything.",
        ],
        "passport" => &[
            "The kiosk was out of order and staff were not around to help.",
            "It took too long to get my passport back, I almost missed my trip.",
            "The photo upload kept failing with no explanation.",
        ],
        _ => &[
            "The office line was so long I had to leave before I was seen.",
            "I was asked for my pay stubs again even though I sent them last month.",
            "The caseworker was rude and I felt judged.",
            "My email is maria.lopez@example.com, nobody answers my messages.",
            "There was no interpreter and I could not explain my situation.",
            "The upload page for documents would not take my files, so I gave up.",
        ],
    };
    let en_pos: &[&str] = &[
        "Quick and easy, thank you!",
        "The staff member was very helpful and patient with me.",
        "Much better than last year, the new website is clear.",
        "I got my answer the same day. Great service.",
        "Everything worked and I knew what to expect.",
    ];
    let es_neg: &[&str] = &[
        "La página no estaba en español y no entendí qué documentos necesitaba.",
        "Esperé mucho tiempo en el teléfono y nadie me ayudó.",
        "Me pidieron los mismos papeles otra vez.",
        "No hay información clara sobre el estado de mi solicitud.",
        "El sitio web es muy difícil de usar en el celular.",
    ];
    let es_pos: &[&str] = &[
        "Muy rápido y fácil, gracias.",
        "La persona que me atendió fue muy amable.",
        "Todo salió bien y entendí los pasos.",
    ];
    let list = match (x.spanish, x.positive) {
        (true, true) => es_pos,
        (true, false) => es_neg,
        (false, true) => en_pos,
        (false, false) => en_neg,
    };
    one(rng, list)
}

/// A public post about the service (social media).
pub fn social(service_name: &str, x: &Experience, rng: &mut StdRng) -> String {
    let s = service_name;
    let t: &str = match (x.spanish, x.positive) {
        (false, true) => one(
            rng,
            &[
                "Shout out to the {s} team, sorted in one visit!",
                "Honestly surprised how smooth {s} was this time.",
            ],
        ),
        (false, false) if x.long_wait => one(
            rng,
            &[
                "Two hours on hold with {s} and still no answer. Is anyone working there?",
                "Waited all morning at the office for {s}. Unreal.",
            ],
        ),
        (false, false) if x.asked_again => one(
            rng,
            &[
                "{s} lost my documents AGAIN and wants them sent a third time.",
                "Why does {s} keep asking for papers I already gave them?",
            ],
        ),
        (false, false) if x.abandoned => one(
            rng,
            &["Gave up on the {s} website, the upload step just spins forever."],
        ),
        (false, false) => one(
            rng,
            &[
                "{s} is a maze. Nobody can tell me where my case stands.",
                "Still waiting on {s}. Rent is due next week.",
            ],
        ),
        (true, true) => one(rng, &["Gracias a {s}, todo rápido y claro."]),
        (true, false) if x.transfers > 0 => one(
            rng,
            &["Llamé a {s} y me pasaron de una persona a otra, nadie hablaba español."],
        ),
        (true, false) => one(
            rng,
            &[
                "{s}: la página no está en español y nadie contesta el teléfono.",
                "Otra vez me piden los mismos papeles en {s}.",
            ],
        ),
    };
    t.replace("{s}", s)
}

/// A review with its stars (1 to 5).
pub fn review(x: &Experience, rng: &mut StdRng) -> (String, i16) {
    let stars = if x.positive {
        rng.random_range(4..=5)
    } else if x.long_wait || x.asked_again {
        rng.random_range(1..=2)
    } else {
        rng.random_range(1..=3)
    };
    let t: &str = match (x.spanish, x.positive) {
        (false, true) => one(
            rng,
            &[
                "Friendly staff and a short wait. Got everything done.",
                "Clear instructions, no surprises.",
            ],
        ),
        (false, false) if x.long_wait => one(
            rng,
            &[
                "Terrible wait times. Bring a book and a lunch.",
                "Over an hour before I was seen, and the line barely moved.",
            ],
        ),
        (false, false) if x.asked_again => one(
            rng,
            &["They asked me for the same documents twice. Disorganized."],
        ),
        (false, false) => one(
            rng,
            &[
                "Confusing process and nobody explains anything.",
                "Slow and frustrating.",
            ],
        ),
        (true, true) => one(rng, &["Buen servicio, muy amables."]),
        (true, false) => one(
            rng,
            &[
                "Mucha espera y no había intérprete.",
                "Me pidieron los papeles otra vez. Muy desorganizado.",
            ],
        ),
    };
    (t.to_string(), stars)
}

/// A "report a problem" form sent from a web page.
pub fn web_form(service: &str, step: &str, x: &Experience, rng: &mut StdRng) -> String {
    if x.abandoned {
        return match (x.spanish, step) {
            (true, _) => "No pude subir mis documentos. La página da error y no hay instrucciones en español.".into(),
            (false, "upload_documents") => one(rng, &[
                "The document upload step fails every time. I tried three different files and it still says error.",
                "Upload documents page spins and never finishes. I could not submit my application.",
            ])
            .to_string(),
            (false, s) => format!("I got stuck on the {} step and could not get past it.", s.replace('_', " ")),
        };
    }
    let t: &str = match (x.spanish, service) {
        (true, _) => one(
            rng,
            &[
                "Parte de la página está solo en inglés.",
                "No encuentro el estado de mi solicitud.",
            ],
        ),
        (false, "passport") => one(
            rng,
            &[
                "The photo checker rejects every photo I upload.",
                "Payment page timed out but my card was charged.",
            ],
        ),
        (false, _) => one(
            rng,
            &[
                "The status page says 'pending' for weeks with no explanation.",
                "I was logged out in the middle of the form and lost my answers.",
                "The page asks for documents I already uploaded.",
            ],
        ),
    };
    t.to_string()
}

/// A call transcript's turns: the customer says what happened to them, the agent answers.
pub fn transcript(x: &Experience, rng: &mut StdRng) -> Vec<Turn> {
    let mut turns = Vec::with_capacity(6);
    let mut say = |speaker, text: &str| {
        turns.push(Turn {
            speaker,
            text: text.to_string(),
        })
    };
    if x.spanish {
        say(
            Speaker::Agent,
            "Gracias por llamar, ¿en qué le puedo ayudar?",
        );
        if x.transfers > 0 {
            say(
                Speaker::Customer,
                "Ya me transfirieron dos veces, necesito alguien que hable español.",
            );
            say(Speaker::Agent, "Disculpe, le comunico con un intérprete.");
        }
        if x.long_wait {
            say(Speaker::Customer, "Esperé casi una hora en la línea.");
        }
        if x.asked_again {
            say(
                Speaker::Customer,
                "Me piden otra vez los mismos documentos que ya envié.",
            );
        } else {
            say(Speaker::Customer, "Quiero saber el estado de mi solicitud.");
        }
        say(
            Speaker::Agent,
            "Entiendo. Voy a revisar su caso ahora mismo.",
        );
        say(
            Speaker::Customer,
            if x.positive {
                "Muchas gracias, me ayudó mucho."
            } else {
                "Está bien, pero es muy frustrante."
            },
        );
    } else {
        say(
            Speaker::Agent,
            "Thank you for calling, how can I help you today?",
        );
        if x.long_wait {
            say(
                Speaker::Customer,
                one(
                    rng,
                    &[
                        "I have been on hold for almost an hour.",
                        "I waited forty minutes just to get through.",
                    ],
                ),
            );
            say(
                Speaker::Agent,
                "I'm sorry about the wait, we have a high call volume.",
            );
        }
        if x.transfers > 1 {
            say(
                Speaker::Customer,
                "This is the third person I've been transferred to.",
            );
        }
        if x.asked_again {
            say(
                Speaker::Customer,
                "You asked me for my pay stubs again, but I uploaded them two weeks ago.",
            );
            say(
                Speaker::Agent,
                "I see them now; they were not linked to your case. I'll fix that.",
            );
        } else {
            say(
                Speaker::Customer,
                one(
                    rng,
                    &[
                        "I want to check the status of my application.",
                        "I got a letter and I don't understand what it's asking for.",
                    ],
                ),
            );
            say(Speaker::Agent, "Let me pull up your case.");
        }
        say(
            Speaker::Customer,
            if x.positive {
                "Great, thank you so much for your help."
            } else {
                "Okay. This has been really frustrating."
            },
        );
    }
    turns
}

/// A frontline staff note about one case.
pub fn staff_case_note(x: &Experience, rng: &mut StdRng) -> &'static str {
    if x.asked_again {
        one(
            rng,
            &[
                "Applicant had to send pay stubs again; the first upload was never linked to the case.",
                "Customer re-sent proof of address for the second time. Document indexing is behind.",
            ],
        )
    } else if x.transfers > 1 {
        "Spanish-speaking caller reached me after several transfers; the interpreter line was not offered at the start."
    } else if x.long_wait {
        "Customer had waited over an hour in the lobby before being called."
    } else {
        "Customer needed help reading the eligibility letter; the wording confuses many people."
    }
}

/// A frontline staff observation about a touchpoint, not one person.
pub fn staff_observation(service: &str, rng: &mut StdRng) -> &'static str {
    match service {
        "snap" => one(
            rng,
            &[
                "Many applicants come in because the online document upload failed for them; they give up at that step.",
                "We see several people a day who started online and could not upload documents.",
                "Spanish speakers are often transferred twice before reaching an interpreter.",
            ],
        ),
        "ui" => one(
            rng,
            &[
                "Callers say the hold time is over an hour on Monday mornings.",
                "Claimants keep being asked for documents we already have on file.",
            ],
        ),
        _ => one(
            rng,
            &[
                "The kiosk printer jams several times a day.",
                "People ask why the photo checker rejects their photos.",
            ],
        ),
    }
}
