//! Crisis and threat language: suicidal ideation, intent, plans, preparatory behaviour,
//! farewells, self-harm and threats of violence, in English and Spanish, read as word patterns
//! around an anchor word.
//!
//! The categories come from public clinical sources: the Columbia Suicide Severity Rating Scale
//! (C-SSRS) screener's ideation and behaviour questions (wish to be dead; non-specific active
//! suicidal thoughts; thoughts of a method; intent; plan; preparatory acts and attempts), the
//! warning signs published by the 988 Suicide & Crisis Lifeline and SAMHSA (talking about wanting
//! to die; feeling hopeless or having no reason to live; feeling trapped or in unbearable pain;
//! being a burden to others; saying goodbye and giving away possessions), self-harm, and threats
//! of violence to staff, to others and to a building, open or veiled ("you'll regret this", "me
//! las van a pagar"). `data/crisis_eval.tsv` holds a labelled set written from those categories;
//! `heard eval` reports recall per category and language and the false alarms on look-alikes.
//!
//! Policy, chosen because a miss can cost a life and a false alarm costs a reviewer a minute:
//! - Hyperbole and service idiom are not crisis: "this form is killing me", "I'm dying to know",
//!   "end the call", "kill the process", "dead link", "shoot me an email", "me muero de ganas",
//!   "me mata esta espera". Patterns name who is at risk or what is ended ("kill myself", "end my
//!   life", "want to end it"), and guards turn away the idioms that share their words.
//! - A denial still raises the flag: "I'm not suicidal, just frustrated" and "I'm not going to
//!   kill myself but ..." are crisis. The C-SSRS scores a denial as a negative screen, but here no
//!   clinician asks the follow-up question, people who write such a sentence in a survey often
//!   minimise, and a reviewer can dismiss a denial in seconds.
//! - Another person at risk ("my son wants to kill himself") is crisis: the writer is telling the
//!   agency about a life in danger.
//!
//! A rule reads `before =anchor after`: elements are separated by spaces; `a|b` is one word from
//! a list (`a_b` is a run of words); `[a|b]` an optional word; `..N` up to N words of anything;
//! `!a|b` says the next word (or, before the anchor, the previous word) is none of these; `$`, alone,
//! is the end of the text (before the anchor, its start); the element starting with `=` is the
//! anchor, whose first words are the only ones looked up per word. Words carry no punctuation, so
//! a window can reach across a sentence's end. Each listed word also matches its forms without apostrophes ("dont", "im"), with a typographic
//! apostrophe ("don’t") and without Spanish accents ("mas", "adios"). Only words that anchor a
//! rule are looked up while the text's words are scanned once, so texts without them cost nothing
//! more; most anchors are rare words ("myself", "suicide", "die", "burden", "regret"), and a rule
//! anchored on a common one ("go", "way") fails on its next word. Callgrind over the 19,995 VADER
//! texts through `heard analyze`: 922.8 M instructions without these rules, 972.2 M with them (+5%).
//!
//! Rules catch what someone has written a rule for: on rounds of phrasings written after the rules
//! and unseen by them, about half of crisis statements and fewer threats were caught (figures in
//! `data/README.md`); a new metaphor needs a new rule.
//!
//! Future sources of free text (SMS replies, imports, other channels) get this reading by going
//! through [`crate::Analyzer::analyze`]; nothing else should hold its own list of crisis words.

/// What a matched rule says: someone is at risk (crisis), or someone threatens violence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Crisis,
    Threat,
}

/// Words that several rules share.
const CLASSES: &[(&str, &str)] = &[
    (
        "@refl",
        "myself|himself|herself|themselves|themself|ourselves|meself",
    ),
    (
        "@will",
        "want|wanna|wanted|wants|going|gonna|ready|decided|decide|plan|planning|planned|will|i'll|i'm|intend|intending|about|time|tonight|just|gotta|should|might|could",
    ),
    (
        "@you",
        "you|ya|u|them|him|her|y'all|yall|you_people|you_all|all_of_you|your_staff|your_employees|your_workers|every_one_of_you|each_of_you|all_of_them|you_guys",
    ),
    (
        "@role",
        "clerk|clerks|receptionist|caseworker|caseworkers|inspector|supervisor|manager|agent|agents|officer|teller|examiner|judge|lady|guy|bitch|bastard|idiot|director|rep|representative|guard|worker|staffer|employee|cashier|bureaucrat|bureaucrats",
    ),
    (
        "@human",
        "people|everyone|everybody|someone|somebody|anyone|anybody|person|man|woman|staff|workers|employees|him|her|them|you|y'all|all_of_you",
    ),
    (
        "@hit",
        "kill|murder|shoot|stab|strangle|choke|beat|hurt|punch|slap|attack|harm|shank|knife|smash|smack|hit|bash|gut|torture|slaughter|execute|butcher|kick|whoop|pummel|maim",
    ),
    (
        "@weapon",
        "gun|guns|weapon|weapons|rifle|rifles|knife|knives|pistol|pistols|ar-15|ar15|ak-47|ak47|shotgun|shotguns|glock|handgun|handguns|firearm|firearms|machete|ammo|explosives|bomb|bombs",
    ),
    (
        "@weapon_es",
        "pistola|pistolas|arma|armas|rifle|cuchillo|cuchillos|navaja|escopeta|machete|bomba|explosivos",
    ),
    (
        "@place",
        "building|office|offices|place|dmv|agency|headquarters|lobby|courthouse|center|centre|clinic|school|station|department|branch|city_hall",
    ),
    (
        "@fam",
        "kids|children|child|family|wife|husband|son|daughter|mom|mother|dad|father|parents|partner|sister|brother|loved_ones|friends|girlfriend|boyfriend",
    ),
    (
        "@notlife",
        "savings|insurance|coach|style|skills|support|line|partner|jacket|expectancy|event|events|cycle|story|sentence|certificate|policy|back",
    ),
];

/// Crisis rules: (category, rule). Categories follow the C-SSRS and 988/SAMHSA headings.
const CRISIS_RULES: &[(&str, &str)] = &[
    // Suicide named, in any form, in English and Spanish.
    // "Suicide" followed by a service's name is a service ("the suicide hotline number is
    // wrong"); having called one is not.
    (
        "suicide",
        "=suicide !prevention|squad|hotline|hotlines|lifeline|helpline|line|crisis_line|awareness|rate|rates|statistics|bomber|bombers|bombing",
    ),
    (
        "suicide",
        "i ..2 called|texted|phoned|rang|call ..2 =suicide|988|crisis hotline|lifeline|line|helpline",
    ),
    (
        "suicide",
        "=suicidal|suicidality|suicides|suicidio|suicidios|suicida|suicidas|suicidarme|suicidarse|suicidarte|suicidar|suicidaré|suicidaria|suicidaría|suicidandome|suicidándome|suicidó",
    ),
    (
        "suicide",
        "gonna|wanna|to|i|i'll|will|should|might|just|gotta =kms",
    ),
    // Killing, hanging, shooting oneself (or another at risk, "he wants to kill himself").
    (
        "self",
        "kill|killing|killed|kills|off|offing|offed|hang|hanging|hanged|shoot|shooting|shot|drown|drowning|poison|poisoning|poisoned|overdose|overdosing|gas|suffocate|suffocating|electrocute|starve|starving|punish|punishing|destroy|destroying =@refl !in_the_foot|in_the_feet|in_the_leg|in_his_own_foot",
    ),
    (
        "self_harm",
        "!fell_and|fallen_and|slipped_and|tripped_and|fall_and|fell|slipped hurt|hurting|harm|harming|harmed|cut|cutting|burn|burning|burned|burnt|injure|injuring|injured|mutilate|mutilating|hit|hitting|bruise =myself|himself|herself|meself !at|while|when|shaving|cooking|lifting|playing|falling|on_the_job|on_the_stove|at_work|in_the_kitchen|by_accident|accidentally|working|moving|on_the|in_the",
    ),
    (
        "self_harm",
        "=self-harm|self-harming|self-harmed|self-harms|selfharm|self-injury|self-injuring|self-mutilation|autolesión|autolesion|autolesiones|autolesiono|autolesionarme|autolesionándome|autolesionandome|autolesionaba",
    ),
    (
        "self_harm",
        "=self harm|harming|harmed|injury|injuring|mutilation",
    ),
    ("self_harm", "=cutting again"),
    (
        "self_harm",
        "cut|cutting|cuts|slit|slitting|slash|slashing|slashed my|her|his|their =arms|arm|wrists|wrist|legs|thighs|thigh|skin|veins|throat",
    ),
    (
        "method",
        "slit|slitting|slash|slashing ..2 =wrists|wrist|throat|veins",
    ),
    (
        "self_harm",
        "do ..1 anything|something|stupid ..1 to =@refl",
    ),
    (
        "self_harm",
        "use|using|used|turn|turning|point|pointing|aim ..2 on|at =@refl",
    ),
    // Ending a life.
    (
        "end_life",
        "end|ending|ended|ends|take|taking|took|takes|taken|terminate|finish|finishing my|his|her|their|your|our [own] =life|lives !@notlife",
    ),
    (
        "end_life",
        "=end|ending|ended it_all|everything|my_life|myself !with",
    ),
    ("end_life", "=end|ending things !with|on|off|up|between"),
    (
        "end_life",
        "@will ..1 [to] =end it !with|off|early|by|for_the|for_you|for_me|for_my|on|before|there|here|today|on_my_end|at|and_start|so|online",
    ),
    (
        "end_life",
        "=ending it !with|off|early|by|for_the|for_you|for_me|for_my|on|there|here|today|at|so|online|now_and|and_start",
    ),
    (
        "trapped",
        "=end|ending|stop the|this|my pain|suffering|misery|torment",
    ),
    // Wishing to be dead (C-SSRS 1).
    (
        "wish_dead",
        "want|wanna|wanted|wants|wish|wished|wishing|wishes|hope|hoping|pray|praying|ready|let_me|longing|feel_like|feels_like|felt_like|feeling_like|i_deserve|waiting|just_waiting|praying|about ..2 =die|died|dying !of|laughing|from|for|on|waiting|in_line|in_this|to_know|alone|trying|when_i|happy|young|inside|in_peace_at_home",
    ),
    (
        "wish_dead",
        "wish|wished|wishing|wishes|want|wanna|rather|prefer|better|off|well|should|i_should ..2 =dead !tired|link|links|end|line|battery|phone|air|zone|weight|serious|wrong|set|on_my_feet",
    ),
    ("wish_dead", "better off =dead|gone"),
    (
        "wish_dead",
        "i ..1 should|should_have|should've ..2 =died|die|dead !of|from|laughing",
    ),
    (
        "wish_dead",
        "don't|dont|not|never|no_longer ..1 want|wanna|wanting ..3 =alive !and_well|and_kicking|in|at",
    ),
    (
        "wish_dead",
        "wish|wished|wishing|wishes ..3 =alive !and_well|in|at|back",
    ),
    (
        "wish_dead",
        "won't|will_not|not_going_to|never ..1 be =alive",
    ),
    (
        "wish_dead",
        "wasn't|weren't|not|be|being|stay ..1 =here|around anymore|any_longer|much_longer|for_much_longer|for_long",
    ),
    (
        "wish_dead",
        "sleep|asleep|hope|wish|wishing|pray|rest|until|till|want|wanna|so ..5 never|not|don't|won't|wont ..1 =wake|waking|woke",
    ),
    (
        "wish_dead",
        "don't|dont|not|never|doesn't ..1 want|wanna ..1 to =wake up ..0 anymore|again|ever|tomorrow|$",
    ),
    (
        "wish_dead",
        "=sleep|asleep|rest forever|permanently|for_good|and_never|and_not|eternally",
    ),
    ("wish_dead", "had|have never been =born"),
    ("wish_dead", "wish|wished ..3 =born"),
    (
        "wish_dead",
        "want|wanna|wish|could|gonna|rather ..1 [to] =disappear|vanish !from|off|into_thin|and_reappear",
    ),
    (
        "wish_dead",
        "tired|sick|weary|exhausted of =living|existing|life|being_alive !in|here|there|with|on|paycheck|off|at|near|under|in_fear|on_the",
    ),
    (
        "wish_dead",
        "don't|dont|not|no|never|doesn't|does_not|didn't ..2 want|wanna|like ..1 to =live|exist|go_on !in|here|there|with|near|on|at|by|next|somewhere|anywhere|alone|together|far|close|without",
    ),
    // Thoughts, plans and preparation (C-SSRS 2-6).
    (
        "plan",
        "worked|figured|planned|picked|decided|chosen|chose|know_exactly|knows_exactly|planned_out|worked_out|figured_out|plan|plans|planning|wrote|written ..2 how|when|where i'm|im|i_am|i'll|i_will|i'd|i_would|i_could|i [going_to|gonna|will|would] =do it !online|again|right|without|by|with|in|on|for|all|myself|yet|properly|correctly|anymore|now|today|alone",
    ),
    (
        "plan",
        "wrote|written|writing|write|left|leave|leaving ..2 =note|notes|letter|letters to|for my|everyone ..1 @fam|everyone|all",
    ),
    (
        "plan",
        "=goodbye|farewell note|notes|letter|letters|message|video|post",
    ),
    (
        "method",
        "take|taking|took|swallow|swallowing|swallowed|down|downed|pop|popped|popping ..1 all|every|whole|entire|bunch|handful|bottle|lot|lots|many|enough|all_of ..3 =pills|pill|meds|medication|medications|tablets|painkillers|sleeping",
    ),
    (
        "behaviour",
        "saving|saved|save|collecting|collected|hoarding|hoarded|stockpiling|stockpiled|stashing|stashed|stash|gathering|juntando|guardando|acumulando ..3 =pills|meds|medication|medications|tablets|painkillers|pastillas|medicamentos|medicinas",
    ),
    (
        "method",
        "how much|many ..4 =pills|tablets|meds|medication|sleeping|insulin|tylenol|acetaminophen ..3 take|kill|die|lethal|overdose|enough",
    ),
    (
        "method",
        "=overdose|overdosed|overdosing|overdoses|sobredosis !prevention|reversal|kits|kit|training|awareness|deaths_in",
    ),
    (
        "method",
        "jump|jumping|jumped|leap|leaping|throw_myself|throwing_myself|hurl_myself ..1 off|from|out_of|in_front_of ..3 =bridge|roof|rooftop|balcony|cliff|building|overpass|window|ledge|tracks|traffic|train|bus|truck",
    ),
    (
        "method",
        "step|stepping|stepped|throw|throwing|jump|jumping|walk|walking|myself|lie|lying|lay ..1 in front of [a|the] =train|bus|truck|car|traffic|subway",
    ),
    (
        "method",
        "walk|walking|step|stepping|run|running ..1 into|in =traffic",
    ),
    (
        "method",
        "drive|driving|drove|crash|crashing|steer|swerve ..3 into|off ..1 =wall|tree|pole|cliff|river|lake|road|bridge|semi",
    ),
    ("method", "=noose|nooses"),
    (
        "behaviour",
        "bought|buy|buying|got|tie|tied|tying ..2 =rope",
    ),
    (
        "method",
        "gun|pistol|rifle|barrel|trigger ..3 =head|mouth|temple|myself",
    ),
    ("method", "blow|blowing|blew my =brains"),
    (
        "behaviour",
        "=gun|pistol|rifle|firearm|rope ..2 end|ending|kill|die|myself",
    ),
    // Hopelessness, no reason to live (988, SAMHSA).
    (
        "hopeless",
        "no|any|a|one|single|nothing|what's|whats ..1 =reason|reasons|purpose ..3 live|living|go_on|going_on|keep_going|keep_living|continue|exist|existing|stay_alive|be_alive|be_here|wake_up|get_up|carry_on|stay|stick_around|fight|hold_on|keep_trying|keep_fighting|get_out_of_bed !the|with|to|a|my|hold|line|website|site|online|at|for|from|in|on|home|here_at|until|till",
    ),
    (
        "hopeless",
        "nothing|nobody|no_one|noone|no-one|anything|anyone ..2 to =live for",
    ),
    (
        "hopeless",
        "no|the|any|what's|whats|what ..1 =point|sense|use|meaning ..3 living|alive|existing|going_on|carrying_on|being_here|waking_up|getting_up|exist",
    ),
    (
        "hopeless",
        "no|the|any|what's|whats|what ..1 =point|sense|use|meaning of|in|to life|my_life|this_life|it_all !@notlife",
    ),
    (
        "hopeless",
        "my =life|existence !@notlife|'s ..2 pointless|meaningless|worthless|over|hopeless|no_meaning|not_worth|no_purpose|no_point|means_nothing",
    ),
    (
        "hopeless",
        "not|isn't|never|no_longer ..2 =worth living|it_anymore|the_pain",
    ),
    ("hopeless", "life ..2 =worth living"),
    ("hopeless", "will to =live|living"),
    (
        "hopeless",
        "feel|feeling|felt|i'm|im|i_am|am ..2 =hopeless !at|with|about_the|about_this|case",
    ),
    ("hopeless", "no =future for_me|left"),
    ("hopeless", "=lost all hope !in|that|of|with|on|for"),
    ("hopeless", "no =hope left|anymore|for_me"),
    (
        "hopeless",
        "give|giving|gave|given up on =life|living !insurance",
    ),
    (
        "hopeless",
        "done|finished ..1 [with|with_this] =living|existing|life !in|here|there|with|on|at|like",
    ),
    (
        "hopeless",
        "i'm|i_am|im|i_feel_like|feel_like|feels_like ..1 a =waste of space|oxygen|air|life",
    ),
    ("hopeless", "hate|hating being =alive"),
    (
        "hopeless",
        "what's|whats|what_is ..1 the =point of_it_all|of_anything|in_anything|of_anything_anymore|of_being_alive|of_me",
    ),
    (
        "hopeless",
        "i|i've|i_have|i've_got|there's ..1 =nothing left $",
    ),
    (
        "hopeless",
        "care|cares|matter|matters ..4 =live|living or die|dying|not",
    ),
    ("wish_dead", "want|wanna|need ..1 =out $"),
    (
        "wish_dead",
        "easier|better|want|wanna|wish|hope|like|rather|prefer|just ..5 not|stop|cease|no_longer|never ..1 [be] =exist|existing|alive|here|around|wake|live|living !in|here|there|with|near|on|at|like_that",
    ),
    (
        "wish_dead",
        "pray|praying|prayed|hope|hoping|wish|asking|ask ..3 god|lord|jesus|someone|something|death|it|he ..1 =take|takes|took|kill|kills me",
    ),
    (
        "wish_dead",
        "die|dies|go|pass|take|takes|me|away ..2 in my =sleep",
    ),
    (
        "wish_dead",
        "be_with|join|reunite_with|rejoin|see ..1 my ..0 =late|dead|deceased|departed wife|husband|mother|father|mom|dad|son|daughter|partner|spouse|parents|kids|child|brother|sister !'s|records|benefits|account|estate",
    ),
    (
        "wish_dead",
        "hope|hoping|wish|pray|wouldn't_mind ..3 get|gets|got =hit|run_over|killed|shot by|over|in|on|$",
    ),
    (
        "wish_dead",
        "be|all|everything|it|life ..1 over ..1 [for] =permanently|forever|good",
    ),
    (
        "intent",
        "checking|check|checked out ..1 [for] =good|permanently|forever",
    ),
    (
        "hopeless",
        "give|giving|gave|given up ..4 =life|living|myself !insurance|savings",
    ),
    (
        "behaviour",
        "=pills|meds|rope|gun|pistol|rifle|noose|razor|blades ..5 just_in_case|in_case|for_when|for_the_day|when_i'm_ready|for_later|for_myself",
    ),
    ("behaviour", "my =affairs in order|in_order"),
    (
        "suicidal_thoughts",
        "think|thinking|thought|thoughts|dream|dreaming|fantasize|fantasizing ..2 about|of [my|not] =dying|death|suicide|ending|killing_myself|existing !of|from|in|at_the|penalty|rates|certificate|certificates|benefits|benefit|tax|row|notice|records|the_process|this_process",
    ),
    (
        "intent",
        "stop|stopping|quit|quitting ..1 taking ..4 =let it|me|myself happen|die|go|end",
    ),
    (
        "farewell",
        "not_sure|don't_know_if|dont_know_if|doubt|don't_think|dont_think ..3 still be =here|around|alive !when|for|at|to_pick|tomorrow_at|to_see_the_office|in_the_office",
    ),
    (
        "farewell",
        "told|said|texted|kissed|wrote|wished ..1 my ..1 @fam|everyone|friends|family ..1 =goodbye|farewell|good-bye|goodbyes",
    ),
    (
        "wish_dead",
        "don't|dont|doesn't|not ..1 care|matter ..2 if|whether i ..1 =wake|live|die|survive !up_in_time|up_early|at",
    ),
    (
        "method",
        "swerve|swerving|veer|veering|into|drive_into|walk_into|step_into ..1 =oncoming traffic|cars|car|truck|trucks|train|bus",
    ),
    (
        "plan",
        "this is|will_be|be ..1 my =last week|day|night|month|christmas|birthday|weekend|days|hours !at|of|in|with|working|to|before|on|here|for",
    ),
    (
        "plan",
        "my =life insurance|policy ..8 answer|solution|only_way|worth_more|better_off|more_than_i",
    ),
    ("burden", "=worth more dead|gone"),
    (
        "plan",
        "make|making ..1 it =look like an|a accident|natural",
    ),
    (
        "burden",
        "won't|wont|not|no_longer ..1 be ..1 a|your|anyone's|everyone's ..1 =problem|burden|bother|trouble|worry much_longer|for_much_longer|for_long|any_longer",
    ),
    (
        "trapped",
        "want|wish|need ..1 it|everything|it_all|all_of_this|life|all ..1 to|would be =over !so|until|for|before|soon|quickly|already|and|now",
    ),
    (
        "trapped",
        "can't|cannot|cant|couldn't ..1 handle|take|face|do|bear|survive|stand|get_through ..1 =another day|week|night|minute|moment|month !of_waiting|off|at|in|with|waiting|on_hold|for|to",
    ),
    ("farewell", "in case ..2 =happens|happen to me"),
    ("farewell", "por si me =pasa algo"),
    (
        "wish_dead",
        "want|wish|need|like ..1 everything|it_all|all_of_it|my_life|life|the_pain|all_of_this ..1 to|would [be|go] =stop|end|over|away !so|until|for|before",
    ),
    (
        "method",
        "ways|way|how|methods|method|painless|easiest|quickest ..2 to =die|kill_myself|end_it|end_my_life|commit",
    ),
    ("method", "=painless way|ways|death|method"),
    (
        "method",
        "only ..1 =way|option|choice|solution|answer|escape out|left ..3 die|death|dying|kill_myself|end_it|suicide|dead|end_my_life",
    ),
    (
        "behaviour",
        "the|my|all|of|sleeping ..1 =pills|meds|medication|tablets|pill|painkillers ..1 lined|ready|counted|in_front_of_me|next_to_me|laid_out|right_here|beside_me|in_my_hand",
    ),
    (
        "behaviour",
        "=gun|pistol|rifle|knife|pills|rope|blade|razor|noose ..3 in_my_lap|in_my_hand|next_to_me|in_front_of_me|to_my_head|right_here|beside_me|on_my_lap",
    ),
    (
        "plan",
        "plan|planning|planned|thinking_about|think_about|arranged|arranging ..2 my =death|funeral|own_death|own_funeral|suicide",
    ),
    (
        "farewell",
        "said|say|saying|made ..1 my =goodbyes|peace !with",
    ),
    (
        "burden",
        "they'd|they_would|everyone_would|everybody_would|family_would|kids_would|we'd ..1 be =better|happier off",
    ),
    ("burden", "better =off $"),
    (
        "farewell",
        "don't_think|doubt|not_sure ..3 be =around|alive|here to|for|when|by|much|long|anymore",
    ),
    // Trapped, unbearable pain (988, SAMHSA).
    (
        "trapped",
        "can't|cant|cannot|can_not|couldn't|won't|not ..2 =go on !the|to|a|an|my|your|their|our|this|that|line|online|website|site|vacation|leave|disability|medicaid|medicare|unemployment|any|with|about|there|in|at|for|from|record|strike|break|it",
    ),
    (
        "trapped",
        "can't|cant|cannot|can_not|couldn't|won't|don't|not|never|how|longer|long|way ..3 keep|go_on|going_on|carry_on|continue =going|living|existing !to|back|through|with|the|at|for|online|in|down|up|into|around|out|over|top",
    ),
    (
        "trapped",
        "can't|cant|cannot|can_not|couldn't|won't|don't|not|never|how|longer|tired_of|sick_of ..3 =live|living|go|going|keep|continue|exist|existing like|on ..0 this|that|like_this",
    ),
    (
        "trapped",
        "can't|cant|cannot|can_not|couldn't|how ..2 take|bear|stand|handle|endure|do|face|deal_with|cope_with ..1 it|this|life|living|anything|the_pain|this_pain|my_life [any|much] =anymore|longer",
    ),
    (
        "trapped",
        "how =much|long ..4 keep_going|go_on|hold_on|take_it|keep_living|cope|bear_it|handle_it|stand_it !the|line|for|to|hold|until|till",
    ),
    (
        "trapped",
        "can't|cannot|cant|don't_think_i_can|how_long_i_can|not_sure_i_can|how_much_longer_i_can ..2 =hold on much_longer|any_longer|anymore",
    ),
    ("trapped", "my =breaking point"),
    (
        "trapped",
        "no =way out !of|to|from|through|for_the|for_you|on|in|but|besides|except|other",
    ),
    (
        "trapped",
        "feel|feeling|felt|am|i'm|so ..1 =trapped !in_traffic|in_the|in_line|in_a_line|in_this_line|on_hold|inside|by_the|behind|with_the",
    ),
    (
        "trapped",
        "pain|suffering|dolor|sufrimiento ..2 =unbearable|insoportable|inaguantable|too_much|never_ends|won't_stop|won't_end",
    ),
    (
        "trapped",
        "the|this|my =pain|suffering ..1 to end|to_stop|stop|end",
    ),
    (
        "trapped",
        "not|never|won't ..2 =make it through_this|anymore|much_longer|through_the_night|out_alive !month|week|winter|year|process|application|paperwork",
    ),
    // A burden to others (988, SAMHSA).
    (
        "burden",
        "i'm|im|i_am|am|being|been|become|becoming|feel|feeling|felt|myself ..3 =burden|burdens|burdensome !of",
    ),
    ("burden", "better|happier|easier|fine ..2 =without me"),
    (
        "burden",
        "better|happier|easier|fine ..3 if ..1 i|i'm|im ..1 =gone|dead|died|wasn't|weren't|disappeared",
    ),
    ("burden", "didn't|did_not =exist"),
    ("burden", "nobody|no_one|noone|no-one ..2 =miss|notice me"),
    (
        "burden",
        "nobody|no_one|noone|no-one|not_one ..3 =miss|notice|care|cares|missed|noticed ..3 if|when i|i'm|i_was ..1 gone|dead|died|die|disappeared|disappear|wasn't_here|wasn't_around|not_here|left|killed|was_gone",
    ),
    // Farewells and giving away possessions (988, SAMHSA).
    (
        "farewell",
        "=goodbye|good-bye|bye|farewell forever|everyone|to_everyone|to_all|world|cruel|my_friends",
    ),
    ("farewell", "this|it's|its ..1 =goodbye|farewell"),
    (
        "farewell",
        "say|saying|to_say|wanted_to_say ..1 =goodbye|goodbyes|farewell !to_the_old|to_paper|to_the_paper|to_long|to_waiting|will_be_back|see_you|to_our|to_the",
    ),
    (
        "farewell",
        "this is|will_be|be|might_be|could_be|may_be my|the [very] =last message|words|note|letter|post|goodbye|thing_you|time_you",
    ),
    ("farewell", "last time ..2 =hear|hearing from me"),
    ("farewell", "by the time ..2 =read|see this|it"),
    (
        "farewell",
        "when|after|once|before i'm|im|i_am|i_have|i've =gone|dead",
    ),
    (
        "farewell",
        "giving|gave|given|give|gotten_rid|getting_rid ..1 =away ..2 my|all things|stuff|belongings|possessions|everything|dog|cat|pets|pet|clothes",
    ),
    (
        "farewell",
        "giving|gave|given|give my ..1 =dog|cat|pets|pet|belongings|possessions to",
    ),
    (
        "farewell",
        "tell|let my ..2 [that] i =love|loved them|him|her|you|u",
    ),
    (
        "farewell",
        "have|having|need ..1 to =deal|put with|up [with] me much|for_much|for_long|any_longer|anymore",
    ),
    // Spanish: wishing to die, ending one's life, no reason to live, trapped, a burden,
    // farewells, self-harm.
    (
        "wish_dead",
        "quiero|quisiera|quería|queria|ganas|deseo|prefiero|preferiría|quieres|quiere|dan_ganas ..2 =morir|morirme|morirse|muerto|muerta !de|por|en|del",
    ),
    (
        "wish_dead",
        "ojalá|ojala|quisiera|prefiero|preferiría|mejor|estaría ..2 =muerto|muerta|muertos|muriera|morirme|muera",
    ),
    (
        "wish_dead",
        "no =quiero|quería|queria|quiere|deseo seguir_viviendo|vivir|existir|estar_vivo|estar_viva !en|aquí|aqui|allá|alla|con|cerca|lejos|solo|sola",
    ),
    (
        "wish_dead",
        "quiero|quisiera|ojalá|ojala|deseo|gustaría|pudiera|solo_quiero ..1 =desaparecer|desaparecerme",
    ),
    ("wish_dead", "haber =nacido|nacida"),
    (
        "wish_dead",
        "=dormir|dormirme|dormirse|descansar para_siempre|y_no_despertar|eternamente",
    ),
    (
        "wish_dead",
        "cansado|cansada|harto|harta|cansados ..1 de =vivir|existir|la_vida|estar_vivo|estar_viva !en|aquí|aqui|con|cerca",
    ),
    (
        "wish_dead",
        "=seguir|continuar existiendo|viviendo !aquí|aqui|en|acá|aca|con|cerca",
    ),
    ("wish_dead", "dejar de =existir|vivir !en|aquí|aqui|con"),
    ("wish_dead", "mejor me =muero|mato"),
    (
        "wish_dead",
        "quisiera|quiero|prefiero|ojalá|ojala|desearía|desearia|me_gustaría|me_gustaria|preferiría ..1 no =existir|vivir|despertar|haber_nacido !en|aquí|aqui|con",
    ),
    (
        "wish_dead",
        "no ..3 estar|seguir|vivir|existir en =este mundo",
    ),
    (
        "wish_dead",
        "=irme|ir|marcharme|desaparecer|dormirme para siempre",
    ),
    (
        "wish_dead",
        "fácil|facil|mejor ..4 si ..1 me =muriera|muero|matara|mato|moría|desapareciera",
    ),
    (
        "wish_dead",
        "si ..1 yo ..1 [no] =muriera|desapareciera|existiera",
    ),
    (
        "trapped",
        "quiero|quisiera|ojalá|ojala ..1 que ..1 todo|mi_vida|todo_esto ..0 =termine|acabe|se_acabe|terminara|acabara|se_termine",
    ),
    (
        "trapped",
        "no ..2 quiero|puedo ..1 =seguir luchando|viviendo_así|viviendo_asi",
    ),
    ("wish_dead", "=irme|ir|marcharme de_este_mundo|de_esta_vida"),
    (
        "wish_dead",
        "no|nunca ..2 =despertar|despertarme !a|al|temprano|tarde|los|las|el|la",
    ),
    (
        "end_life",
        "me =mato|mataré|matare|mataría|mataria !de|trabajando|estudiando|por|a",
    ),
    (
        "farewell",
        "me =despedí|despedi|despediré|despedire|despido de ..1 mis|mi hijos|hija|hijo|familia|esposa|esposo|madre|padre|mamá|papá|hermanos|hermana|hermano|amigos|seres_queridos",
    ),
    (
        "method",
        "me ..2 =tirar|aventar|lanzar|arrojar|tiro|aviento ..4 puente|balcón|balcon|vías|vias|tren|edificio|techo|azotea|ventana|metro|carro|coche|camión|camion|precipicio",
    ),
    (
        "self_harm",
        "me =corté|corte|corto|cortaba|cortando|cortó los|las brazos|muñecas|piernas|venas|muslos|brazo|muñeca",
    ),
    (
        "wish_dead",
        "no|nunca|jamás =despertar|despertara|despertarme|despierte|despertaría",
    ),
    (
        "end_life",
        "=quitarme|quitarse|quitar|quito|quite|quité|quitó|quitaré|quitara la vida",
    ),
    (
        "end_life",
        "=acabar|acabo|acabaré|acabare|terminar|termino|terminaré|terminare|acabó|terminó|terminé|acabé con mi_vida|mi_existencia|esta_vida|mi_sufrimiento",
    ),
    (
        "end_life",
        "=acabar|acabo|acabaré|acabare|terminar|termino|terminaré|terminare|acabé|terminé con todo !el|la|los|las|este|eso|lo|de|mi_trámite",
    ),
    (
        "end_life",
        "!a =matarme|matarse|ahorcarme|ahorcarse !trabajando|estudiando|de_risa|a_trabajar",
    ),
    (
        "end_life",
        "!va|van|vas|iba|ibas|irá|ira|está|esta|están a =matarme|matarse|ahorcarme|ahorcarse !trabajando|estudiando|de_risa|a_trabajar",
    ),
    (
        "end_life",
        "me =voy|quiero|quise|intenté|intente|pienso|pensé|pense|puedo|iba|quería|queria a? matar|suicidar|ahorcar !de|trabajando",
    ),
    (
        "end_life",
        "se =va|quiere|quiso|quería|queria|intentó|intento|piensa|iba ..1 matar|suicidar|ahorcar|quitar_la_vida !de|trabajando",
    ),
    (
        "method",
        "=tirarme|aventarme|lanzarme|arrojarme|tirarse|aventarse|lanzarse ..4 puente|balcón|balcon|vías|vias|tren|edificio|techo|azotea|ventana|metro|carro|coche|camión|camion|precipicio",
    ),
    (
        "method",
        "=pegarme|darme|meterme|pegarse|darse un tiro|balazo|disparo",
    ),
    (
        "method",
        "tomarme|tomar|tomé|tome|tragarme|tragué|tragar|tomo ..1 todas|todo|un_frasco|frasco|muchas|bote|caja|un_bote ..2 =pastillas|medicamentos|medicinas|pastilla",
    ),
    (
        "behaviour",
        "=pistola|arma|soga|cuerda ..3 acabar|matarme|terminar|suicidarme|morir|quitarme",
    ),
    (
        "hopeless",
        "sentido|razón|razon|razones|motivo|motivos|ganas ..3 =vida|vivir|existir !en|aquí|aqui|allá|alla|con|cerca|mejor|tranquilo|tranquila|sano",
    ),
    (
        "hopeless",
        "razón|razon|razones|motivo|motivos|por_qué|porqué|para_qué ..1 para =seguir !con|el|la|en|esperando|intentando|llamando|aquí|aqui",
    ),
    (
        "hopeless",
        "=seguir viviendo !aquí|aqui|en|acá|aca|con|cerca|así_de",
    ),
    (
        "hopeless",
        "mi =vida !laboral|profesional ..2 no_tiene_sentido|sin_sentido|no_vale|no_vale_nada|no_sirve|se_acabó|acabó|terminó|es_un_infierno",
    ),
    ("hopeless", "=vivir|vida ..2 no vale la pena"),
    (
        "hopeless",
        "no vale la pena =vivir|seguir|seguir_viviendo|seguir_adelante !con|esperando|intentando|llamando|aquí|aqui|en|el|la|los|las|este|esta|haciendo|pidiendo",
    ),
    ("hopeless", "no|sin ..3 =esperanza|esperanzas !de_que|en"),
    (
        "trapped",
        "no =aguanto|soporto|aguantó|aguanta más|mas !esta|este|estas|estos|tanta|tanto|la|el|los|las|a|de|en|con_esta_espera|con_este",
    ),
    (
        "trapped",
        "no =aguanto|soporto|aguantó [más] esta|mi|la vida",
    ),
    ("trapped", "no =puedo más|mas con ..1 vida|todo|esto"),
    (
        "trapped",
        "no =puedo|podemos|podré|podre más|mas !con|de|que|tiempo",
    ),
    (
        "trapped",
        "no puedo|podemos|podré|podre|quiero ..1 =seguir|aguantar|continuar|vivir así|asi|viviendo",
    ),
    (
        "trapped",
        "cuánto|cuanto ..4 =seguir|aguantar|continuar|vivir así|asi|viviendo",
    ),
    (
        "trapped",
        "no [le|les|me] veo|hay|encuentro|tengo|le_veo|veo_ninguna ..1 =salida !de|por|en|para",
    ),
    (
        "trapped",
        "siento|estoy =atrapado|atrapada|atrapados|atrapadas !en_el|en_la_fila|en_el_tráfico",
    ),
    (
        "burden",
        "soy|ser|sea|sería|seria|siendo|siento_que_soy|me_siento ..1 una =carga !de|para_el_sistema",
    ),
    ("burden", "mejor =sin mí|nosotros"),
    (
        "burden",
        "mejor ..3 no =estuviera|existiera|viviera|estuviese|existiese",
    ),
    (
        "burden",
        "nadie me =extrañaría|extrañaria|extrañará|extrañara|echaría|echaria|notaría|notaria|va_a_extrañar",
    ),
    (
        "farewell",
        "quiero|quisiera|voy_a|vengo_a|para|deseo|solo_quiero|me_quiero ..1 =despedirme|despedirnos",
    ),
    (
        "farewell",
        "me =despido de todos|ustedes_para_siempre|mi|mis|la_vida|este_mundo|para_siempre",
    ),
    ("farewell", "=adiós|adios a_todos|para_siempre|mundo|cruel"),
    ("farewell", "este es mi =último|ultimo mensaje|adiós|adios"),
    (
        "farewell",
        "ya no =estaré|estare|estaremos|existiré|existire !en|disponible|trabajando|viviendo|aquí_mañana",
    ),
    ("farewell", "no van a =saber de mí"),
    ("farewell", "nunca ..2 =sabrán|sabran de mí"),
    (
        "farewell",
        "=regalé|regale|regalando|regalar|regalado|regalo mis|todas_mis|todo ..1 cosas|pertenencias|mascotas|perro|gato|ropa",
    ),
    ("farewell", "carta|cartas =de despedida"),
    (
        "farewell",
        "díganle|diganle|dile|dígale|digale|digan|diles|díganles a ..3 que ..1 los|la|lo|las|les|te =quiero|amo|quise|amé",
    ),
    (
        "self_harm",
        "me ..2 =cortando|corto|corté|cortaba|lastimo|lastimé|lastime|lastimando|quemo|quemé|golpeo|golpeé !el|la|los|las|pelo|cabello|uñas|con|cocinando|en_el_trabajo|trabajando|en",
    ),
    (
        "self_harm",
        "=cortarme|cortándome|cortandome|lastimarme|lastimándome|lastimandome|quemarme|herirme !el|la|los_dedos|el_pelo|el_cabello|las_uñas",
    ),
    ("self_harm", "me =hago|hice|haciendo|hacía daño"),
    ("self_harm", "=hacerme|hacerse daño"),
    ("self_harm", "=cortarme|cortarse las venas"),
    // Basic needs that cannot wait (kept from the first cue list).
    ("basic_needs", "=homeless tonight"),
    ("basic_needs", "=nowhere to sleep"),
    ("basic_needs", "=evicted tomorrow|today|tonight"),
    ("basic_needs", "being =evicted"),
    (
        "basic_needs",
        "kids|children|family|baby|babies|we're|we_are|we|my_kids|my_children|my_family ..2 =starving !for|to|after|by|here|lol",
    ),
    (
        "basic_needs",
        "have|got|there's|we_have|i_have ..1 no =food|money_for_food !at|in_the|allowed|served",
    ),
    // Found by the fourth blind round.
    (
        "method",
        "balcony|bridge|roof|ledge|edge|pills|gun|rope|tracks|train|traffic|jump|window|cliff|noose|razor ..8 how =easy|simple|quick|painless",
    ),
    (
        "method",
        "how =easy|simple|quick|painless it_would_be|it'd_be|it_is|it's|it_would_be_to ..1 to ..1 end|die|jump|disappear|kill|let_go|go|stop|leave",
    ),
    (
        "method",
        "rope|noose|gun|pistol|pills|razor|blade|bridge ..8 =looking|staring|stare|look at|about it|them",
    ),
    (
        "method",
        "=looking|staring|stare at the|my ..0 rope|noose|gun|pills|bridge|razor|blade|pistol",
    ),
    (
        "behaviour",
        "bridge|roof|edge|tracks|pills|gun|rope|balcony|ledge|noose|knife|razor ..10 =couldn't|almost|nearly|didn't|tried ..1 do|go_through|did|went_through|jump|pull|swallow",
    ),
    (
        "burden",
        "world|nobody|no_one|noone|one|family|anyone|everyone ..2 doesn't|don't|does_not|do_not|won't ..0 =need|needs me !to|for|here|at",
    ),
    (
        "burden",
        "nobody|no_one|noone ..1 =needs|need|wants me !to|for|here|at",
    ),
    (
        "farewell",
        "said|say =everything i ..1 needed|wanted|had to|have_to ..0 say",
    ),
    (
        "self_harm",
        "burning|burn|burned|scratching|scratch|scratched|hitting|punching|bruising|carving|carved ..1 my =arms|arm|wrists|wrist|legs|thighs|skin|body|stomach|face !cooking|on|at_work|on_the|in_the|while|when|accidentally|by_accident",
    ),
    (
        "farewell",
        "last =time ..2 see|hear|hearing|seeing me|from_me",
    ),
    (
        "wish_dead",
        "no quiero|puedo =seguir aquí|aqui|en_este_mundo $|nadie|ya|no|sin|porque",
    ),
    (
        "burden",
        "soy|ser|sea|me_siento|siento_que_soy|siento_que_solo_soy|solo_soy ..1 un|una =estorbo|carga|peso !de|para_el|en_el_trámite",
    ),
    ("burden", "nadie me =necesita|quiere|extrañará|extrañara"),
    (
        "self_harm",
        "se ..2 =cortando|corta|cortó|corto|lastimando|lastima|quemando|quema los|las brazos|muñecas|piernas|venas|muslos",
    ),
    (
        "farewell",
        "la =última|ultima vez que ..1 me ..0 van|vas|verán|veran|ven|oyen|escuchan a? ver|saber|oír|oir|escuchar|verán|veran",
    ),
    // Found by the fifth blind round.
    (
        "wish_dead",
        "tired|exhausted|sick|fighting|struggling|hard|can't ..4 =stay|staying|keep|keeping alive",
    ),
    (
        "wish_dead",
        "not|no_longer ..1 scared|afraid|frightened of =dying|death|dead !of|from",
    ),
    (
        "trapped",
        "scared_of|afraid_of|hate|hate_living|tired_of ..1 =living like|this|that ..0 this|that|like_this",
    ),
    (
        "behaviour",
        "wrote|written|writing|made|making|finished|updated ..1 my =will !with|at|through|for_my_house",
    ),
    (
        "behaviour",
        "pills|gun|rope|bridge|knife|noose|razor ..8 =courage|nerve|guts",
    ),
    (
        "behaviour",
        "=pastillas|pistola|soga|cuerda listas|lista|listo|preparadas|preparada|guardadas",
    ),
    (
        "farewell",
        "won't|wont|not|never ..3 =answering|answer|here|around|alive|reachable after|past|by tonight|today|this_week|tomorrow",
    ),
    (
        "method",
        "walk|walking|walked|swim|swimming|drive|driving ..1 into|out_into ..1 =ocean|sea|river|lake|water",
    ),
    (
        "hopeless",
        "my =life ends|is_over|will_end|ends_when|is_done",
    ),
    (
        "burden",
        "if ..1 i ..1 [was] =died|die|disappeared|gone ..3 nobody|no_one|noone|anyone|no-one|nobody'd ..2 notice|care|miss|know",
    ),
    (
        "self_harm",
        "=knife|blade|razor|glass ..2 to my ..0 wrists|wrist|arms|arm|skin|throat|legs",
    ),
    ("wish_dead", "mejor ..3 me =muera|muriera|mate|matara"),
    // Found by a probe of common phrasings written from the categories.
    (
        "hopeless",
        "life|living ..1 isn't|is_not|not|ain't|isnt ..1 =worth it|living|the_pain|the_struggle",
    ),
    (
        "trapped",
        "don't_think|dont_think|not_sure|doubt|don't_know_if|dont_know_if ..2 can ..1 do|take|handle|bear|last|hold_on|keep_going|go_on|survive ..1 this|it|on [much|any] =longer|anymore",
    ),
    (
        "hopeless",
        "ready|want|wanna|about|going|gonna|just ..2 give|giving up on =everything|life",
    ),
    (
        "farewell",
        "me ..2 =despedir de todos|mis|mi|ustedes_para_siempre|este_mundo|la_vida",
    ),
];

/// Threat rules: (category, rule).
const THREAT_RULES: &[(&str, &str)] = &[
    // Violence named against a person.
    (
        "threat_staff",
        "=kill|murder|shoot|stab|strangle|choke|shank|knife|slaughter|butcher|execute|torture|maim|pummel [up|down] @you !to|up|back|an|a|over|out_a|hard|else|at|in|the_link|the_form|feelings|chances|case|credit|off|where",
    ),
    (
        "threat_staff",
        "i'll|i_will|i'm_going_to|i'm_gonna|im_gonna|gonna|going_to|i_want_to|i_wanna|wanna|want_to|ready_to|about_to|will|i'd_like_to|swear ..3 =@hit|killing|hurting|shooting|stabbing ..1 @human|@role|@you !to|up|an|a|over|hard|else",
    ),
    (
        "threat_staff",
        "=kill|murder|shoot|stab|strangle|choke|punch|slap|beat|smack|knife|shank|butcher|slaughter !of|for|in|on|at ..2 @role",
    ),
    (
        "threat_staff",
        "=beat|kick|knock|slap|smack the crap|shit|hell|snot|life|daylights out",
    ),
    (
        "threat_staff",
        "=kill|murder|shoot everyone|everybody|all_of",
    ),
    ("threat_staff", "=kys"),
    (
        "threat_staff",
        "go|should|just|please ..1 =kill|hang|shoot yourself|yourselves",
    ),
    (
        "threat_staff",
        "!don't|dont|not|didn't|doesn't|no|never know|knows|found|figured|found_out =where you|she|he|they|y'all|your ..1 live|lives|sleep|sleeps|park|parks|kids|children",
    ),
    (
        "threat_staff",
        "i'll|ill|i_will|i'm_going_to|i'm_gonna|gonna|going_to|will|come ..1 =find|hunt|track you|him|her|them|whoever|the_man|the_woman|the_person|the_guy|that_clerk|that_man|that_woman|that_guy|that_person|that_lady|y'all|all_of_you|every_one|each_one !a|an|the|some|my|your|back|one|copy|it|another|someone|somebody|the_form|the_info|the_answer",
    ),
    (
        "threat_staff",
        "=coming|come|comin after|for you|y'all|every|all|each|them",
    ),
    (
        "threat_staff",
        "be =waiting|waitin for ..3 parking|parking_lot|outside|after_work|after_your_shift|in_the_parking",
    ),
    (
        "threat_staff",
        "is|you're|youre|you_are|he's|she's|they're|ur|are ..1 =dead man|men|meat|woman|women",
    ),
    ("threat_staff", "watch ..1 your|her|his|their =back|backs"),
    (
        "threat_staff",
        "better =watch out|it|yourself|yourselves|your_back !for",
    ),
    ("threat_staff", "sleep with one|the =eye|lights open|on"),
    (
        "threat_staff",
        "someone|somebody|someone's|somebody's|people|you|staff|employees|workers|one_of_you|your ..3 going_to|gonna|will|is_going_to|are_going_to ..1 get|be|gets =hurt|killed|shot|stabbed",
    ),
    (
        "threat_staff",
        "make|making|gonna_make|will_make ..1 @you|@human =bleed|suffer|hurt|cry_blood",
    ),
    (
        "threat_staff",
        "=bullet|bullets|slug|round in|into|through !the_chamber_of_my",
    ),
    (
        "threat_staff",
        "you|they|people|y'all|them|all_of_you|you_people|you_all|your_staff ..3 =deserve|deserves ..1 die|death|dead|to_die|a_bullet|to_be_shot|to_suffer",
    ),
    ("threat_veiled", "keep ..3 and see what =happens|happen"),
    (
        "threat_veiled",
        "better =hope|pray i ..1 don't|never|dont ..1 see|catch|find|meet|run_into",
    ),
    (
        "threat_veiled",
        "who you're|you_are|youre|you =messing|dealing|fucking|screwing|playing with",
    ),
    ("threat_veiled", "last|final =warning"),
    ("threat_place", "open|opening =fire"),
    (
        "threat_place",
        "come|coming|came|show|showing|walk|walking|go|going|return|returning|back|be_there|be_back ..5 with ..2 =@weapon !permit|permits|license|licenses|licence|registration|safety|show|range|control|owner|owners|shop|store|rights|laws|law|class|course|squad|of",
    ),
    (
        "threat_veiled",
        "get|gets|getting ..1 what's|whats|what|what_is =coming to",
    ),
    (
        "threat_staff",
        "=outside when|after ..2 your|you|she|he|they|her|his|the ..0 shift|leave|get_off|come_out|finish|gets_off|leaves",
    ),
    (
        "threat_veiled",
        "teach|teaching @you|@role|your_staff|your_employees|everyone|somebody|someone|that_clerk|that_lady|that_guy|y'all|all_of_you ..1 a =lesson !on|about|in|plan|at|for",
    ),
    (
        "threat_staff",
        "go|going|come|coming|went =after ..2 @you|@role|person|everyone|whoever|people",
    ),
    (
        "threat_place",
        "i'll|i_will|i'm_going_to|i'm_gonna|im_gonna|gonna|going_to|i_want_to|wanna|ready_to|about_to|will ..3 =destroy|wreck|smash|trash|torch|burn|bomb|blow_up|shoot_up|tear_up ..2 @place",
    ),
    (
        "threat_place",
        "start|started|starting|come_in_there_and ..1 =shooting|stabbing|blasting !range|practice|lessons|video|videos|photos|pictures|a|the|an|at_the_range|hoops|pool|the_breeze",
    ),
    (
        "threat_place",
        "=burn|burns|burning|torch|torches ..4 to the ground",
    ),
    (
        "threat_place",
        "hope|wish|pray ..3 =burns|explodes|blows|gets_shot|gets_bombed|burn|explode",
    ),
    (
        "threat_place",
        "=slash|slashing|flatten|key|keying ..3 tires|tyres|car|cars",
    ),
    (
        "threat_veiled",
        "not ..1 =responsible|accountable for what i ..1 do|might_do|will_do|'ll_do",
    ),
    (
        "threat_veiled",
        "settle ..2 the =hard|old-fashioned|ugly way",
    ),
    (
        "threat_veiled",
        "make|making ..1 your|their|his|her ..1 =life|lives a_living_hell|hell|miserable",
    ),
    (
        "threat_staff",
        "=better not be|show ..1 there|here|up|around|at",
    ),
    (
        "threat_staff",
        "put|send|land ..4 =hospital|morgue|grave|er",
    ),
    ("threat_staff", "=six feet under"),
    (
        "threat_staff",
        "=wring|break|snap|choke ..1 his|her|your|their|that|the ..1 neck|necks|throat",
    ),
    (
        "threat_veiled",
        "not|won't|wont|never ..1 =afraid|scared|hesitate to use it|them|my",
    ),
    (
        "threat_staff",
        "see|meet|catch you|y'all|them|him|her ..2 =parking|outside|alone",
    ),
    (
        "threat_staff",
        "wait|waiting for you|y'all|them|her|him ..3 =outside|parking|shift",
    ),
    // Weapons and attacks on a place.
    (
        "threat_place",
        "loading|load|loaded|cocking|cocked ..1 my|the|a =gun|rifle|pistol|shotgun|weapon|glock",
    ),
    (
        "threat_place",
        "=shoot|shot the|this|that|your ..1 place|office|building up",
    ),
    (
        "threat_place",
        "@place|you|your|y'all|they|it|everyone|everybody|this_place ..2 will|gonna|going_to|is_going_to|shall|are_going_to ..1 =burn|explode|bleed|suffer !through|out|money|cash|time|up_the|off|calories|rubber|a|the",
    ),
    (
        "threat_place",
        "bring|bringing|brought|bringin|come|coming|came|back|carry|carrying|pack|packing ..3 =@weapon !permit|permits|license|licenses|licence|registration|safety|show|range|control|owner|owners|shop|store|rights|laws|law|class|course|squad|threat_training|sniffing|of",
    ),
    ("threat_place", "get|gets|getting|got =shot up"),
    (
        "threat_place",
        "=blow|blowing|blew|burn|burning|torch|torching|firebomb|bomb|bombing|shoot|shooting|trash|wreck up|down ..2 @place",
    ),
    ("threat_place", "=burn|torch ..3 down"),
    (
        "threat_place",
        "set|setting =fire to|on ..2 @place|building|office|car|cars|house|it|this|that|everything|everyone|the_building",
    ),
    (
        "threat_place",
        "!cost|costs|costing|spent|spend|drop|dropped|da|the|is|was a|there's|plant|planting|place|put|putting|leave|leaving =bomb|bombs|explosive|explosives|ied|pipe_bomb !squad|cyclone|diggity|dot|dropped|drop|went_off_in",
    ),
    ("threat_place", "=bomb threat|threats"),
    ("threat_place", "go|going|went|gone =postal"),
    // Veiled threats.
    (
        "threat_veiled",
        "!thing|only_thing|thing_that you'll|you_will|you're_going_to|they're_going_to|they're_gonna|he's_going_to|she's_going_to|they_are_going_to|gonna|youre_going_to|you_are_going_to|you're_gonna|you_gonna|you'd_better|y'all_will|y'all_gonna|you_guys_will|you_people_will|you_all_will|they'll|they_will|someone_will|you'll_live_to ..1 =regret !not|it_if|missing|nothing|skipping|is|was",
    ),
    (
        "threat_veiled",
        "make|making|made|gonna_make|will_make you|them|y'all|everyone|him|her|all|somebody|someone|you_people|you_guys [all] =pay !for|the|a|an|your|extra|more|twice|fees|fee|upfront|online|by|with|cash|on|in|to|up|attention|taxes|tax|rent|bills|back|off|out|less|at|every|each|again|interest|full|double|first",
    ),
    (
        "threat_veiled",
        "make|making|made|gonna_make|will_make you|them|y'all|everyone|him|her|all|somebody|someone|you_people|you_guys [all] =pay for_this|for_what|for_that|for_it|for_everything|for_treating|for_doing|dearly",
    ),
    (
        "threat_veiled",
        "you|y'all|they|someone|somebody|people|everyone|heads|you_people|you_guys|all_of_you|somebody's|someone's ..1 will|gonna|going_to|shall|are_going_to|is_going_to|are_gonna|is_gonna ..1 =pay|paying for_this|for_what|for_that|dearly|with_your|for_it_all|for_everything|for_treating|for_doing|for_it",
    ),
    (
        "threat_veiled",
        "you'll|they'll|y'all'll ..1 =pay for_this|for_what|for_that|dearly|with_your|for_everything|for_treating|for_doing",
    ),
    ("threat_veiled", "heads will|gonna|are_going_to|shall =roll"),
    ("threat_veiled", "what ..1 i'm|im|i_am|i =capable of"),
    (
        "threat_veiled",
        "bad ..3 =happen|happens|happening to you|them|him|her|y'all|this_office|this_place|your_staff|your_office|your_family|your_kids",
    ),
    (
        "threat_veiled",
        "you'll|you_will|you're_gonna|you_are_going_to|you're_going_to|y'all|you_guys|you_people|y'all_will ..1 be =sorry !for|about|to_hear|if|that|but",
    ),
    (
        "threat_veiled",
        "get|gets|getting|turn|turns|become|becomes =violent|bloody",
    ),
    (
        "threat_veiled",
        "will|gonna|going_to|there'll ..1 be =blood|bloodshed !test|tests|work|drive|pressure|sugar|donation|bank|draw|type|drawn|taken",
    ),
    ("threat_veiled", "get =even with"),
    (
        "threat_veiled",
        "get =back at you|them|y'all|him|her|all|everyone",
    ),
    (
        "threat_veiled",
        "i'll|i_will|i'm_going_to|gonna|i_want|i'm_gonna|will_get|i'll_get|i'll_have|i_swear|i'll_take|i'm_taking|want|wanna ..2 =revenge|vengeance",
    ),
    // Spanish.
    (
        "threat_staff",
        "=matar|asesinar|balacear|golpear|apuñalar|acuchillar|madrear a|al !solas|gusto",
    ),
    (
        "threat_staff",
        "ojalá|ojala|que ..1 se =mueran|muera|muere !de_risa|de_envidia|de_hambre|de_frío",
    ),
    (
        "threat_veiled",
        "=cuídate|cuidate|cuídense|cuidense|cuide la_espalda|las_espaldas",
    ),
    (
        "threat_veiled",
        "les|te|le|os ..2 =costar|costará|costara caro|muy_caro",
    ),
    ("threat_veiled", "dar ..1 un|una =susto|escarmiento"),
    (
        "threat_staff",
        "te|le|les|los|las|lo|la ..2 =hacer|haré|hare|hago daño",
    ),
    (
        "threat_staff",
        "voy|vamos ..1 a =lastimar|lastimarlos|lastimarla|lastimarlo|lastimarte|herir|herirlos|herirte a|al|los|las|la|lo|te|$",
    ),
    (
        "threat_place",
        "ir|voy|vengo|llegar|llego|regresar|regreso|volver|vuelvo|venir|vendré|iré ..4 con ..2 =@weapon_es !permiso|licencia|registro",
    ),
    (
        "threat_place",
        "=prender|prenderle|prenderles|prendo|echarle|echarles fuego",
    ),
    (
        "threat_staff",
        "dar ..3 =golpiza|paliza|madriza|putiza|chinga|tunda|golpiza",
    ),
    (
        "threat_veiled",
        "con quién|quien ..1 se =metieron|meten|metió|metio|están_metiendo",
    ),
    (
        "threat_veiled",
        "va|van a salir =lastimado|herido|muerto|lastimados|heridos|muertos|lastimada|herida",
    ),
    (
        "threat_staff",
        "=matarte|matarlos|matarlas|matarlo|matarla|matarles|matarle|mataré|matare|balacearlos|balacearte|dispararles|dispararte|apuñalarte|apuñalarlo|acuchillarte|madrearte|madrearlos|golpearte|golpearlos|golpearla|golpearlo",
    ),
    (
        "threat_staff",
        "te|los|las|lo|la|les|le =voy|vamos a matar|golpear|partir|romper|madrear|balacear|disparar|apuñalar|acuchillar",
    ),
    (
        "threat_staff",
        "voy|vamos ..1 a =matar|golpear|madrear|balacear|disparar|apuñalar|acuchillar|ahorcar|partirle|romperle|pegarle|pegarles|golpearlo|golpearla|matarlos|matarlas|matarla|matarlo !el_tiempo|de_hambre|de_risa|con_tanta|de_aburrimiento",
    ),
    (
        "threat_staff",
        "=romper|partir|romperle|partirle|romperles|partirles|rompo|parto ..1 la_cara|el_hocico|la_madre|la_boca|los_dientes|la_cabeza|el_cuello|la_jeta|su_madre",
    ),
    (
        "threat_place",
        "=quemar|quemarles|quemarle|incendiar|quemo|quemaré|quemare ..1 la_oficina|el_edificio|el_lugar|todo|la_agencia|el_local|sus_oficinas|este_lugar|esa_oficina|las_oficinas",
    ),
    (
        "threat_staff",
        "los|las|lo|la|te|les ..1 voy_a|vamos_a|van_a =buscar|esperar ..1 a_la_salida|afuera|a_la_entrada|en_el_estacionamiento|en_la_salida|a_la_vuelta",
    ),
    (
        "threat_staff",
        "!no sé|se|sabemos|sabe|conozco =dónde|donde vives|vive|viven|trabajas|trabaja|trabajan|duermes|duerme|estacionas",
    ),
    (
        "threat_place",
        "traigo|traer|traeré|traere|llevo|llevar|llevaré|llevare|vengo_con|voy_con|llegar_con|regreso_con|vuelvo_con|vendré_con ..2 =@weapon_es !permiso|licencia|registro",
    ),
    (
        "threat_place",
        "llegar|venir|ir|voy|vengo|regreso|regresar|volver|vuelvo|llegaré|llegare ..1 =armado|armada|armados",
    ),
    (
        "threat_place",
        "poner|pongo|pondré|pondre|colocar|hay|habrá|habra|dejar ..2 =bomba|bombas|explosivos",
    ),
    (
        "threat_veiled",
        "me|nos =la|las ..2 pagar|pagarán|pagaran|paga|pagan|pagas|pagarás|pagaras|pagará|pagara",
    ),
    (
        "threat_veiled",
        "ver|verán|veran|vean|verás|veras|vas_a_ver|van_a_ver lo que les|te|le|os =pasa|pasará|pasara|va|van",
    ),
    (
        "threat_veiled",
        "!no te|se|les|le|os vas|van|va|vayan a =arrepentir|arrepentirse|arrepentirte",
    ),
    (
        "threat_veiled",
        "!no =arrepentirán|arrepentiran|arrepentirás|arrepentiras|arrepentirá|arrepentira",
    ),
    (
        "threat_veiled",
        "van|vas|va a =lamentar|lamentarlo|lamentarse",
    ),
    (
        "threat_veiled",
        "=lamentarán|lamentaran|lamentarás|lamentaras",
    ),
    // Found by the fourth blind round.
    (
        "threat_staff",
        "somebody's|someone's|people|somebody|someone|you|your_staff|one_of_you|is|are|people_are ..1 =getting|gets hurt|shot|killed|stabbed",
    ),
    (
        "threat_staff",
        "=run|ram|mow ..2 @role|@you|@human over|down|with",
    ),
    (
        "threat_staff",
        "=run|ram|mow over|down ..1 @role|@you|@human",
    ),
    (
        "threat_staff",
        "make_sure|making_sure|see_to_it|i'll_see_to_it ..8 =walk|walks|breathe|breathes again|straight",
    ),
    (
        "threat_veiled",
        "=regret|rue the_day|being_born|ever_crossing|ever_messing|crossing_me|messing_with_me|the_moment|they_were_born|you_were_born",
    ),
    (
        "threat_veiled",
        "should|better|ought_to|gonna|going_to|need_to ..1 be =afraid|scared|terrified|frightened of me|of_what|$",
    ),
    (
        "threat_veiled",
        "make ..1 an =example of ..1 @place|@role|@you|you|that|this|your|them",
    ),
    (
        "threat_place",
        "i'll|i_will|i'm|im|i_am|i'm_gonna|i'm_going_to|gonna|we'll|we_will ..2 =armed !guard|guards|security|forces",
    ),
    (
        "threat_place",
        "=blow|blowing|bomb|burn|shoot ..1 the|this|that|your|ur ..0 @place ..0 up|down",
    ),
    ("threat_staff", "dar|darle|darles|dé|de ..1 su =merecido"),
    (
        "threat_place",
        "=reventar|destrozar|destruir|tumbar|balacear|volar ..1 la|el|su|sus|esa|ese|esta ..0 oficina|oficinas|edificio|lugar|local|agencia|cara|madre|hocico",
    ),
    (
        "threat_place",
        "ando|voy|vengo|llego|estoy|iré|ire|voy_a_ir|iría|iria =armado|armada|armados",
    ),
    // Found by the fifth blind round.
    (
        "threat_veiled",
        "=taking|take|takin ..3 of_you|you|y'all|all_of_you|you_people|everyone with me|down",
    ),
    (
        "threat_veiled",
        "won't|wont|not|never ..1 like|enjoy what|what's ..0 =happens|comes|happen|next",
    ),
    (
        "threat_veiled",
        "don't|dont ..1 =make me come|go ..0 down|there|back|over",
    ),
    ("threat_veiled", "@weapon ..8 know how to =use it|them|one"),
    (
        "threat_place",
        "=burn|burning|explode|blow_up with ..3 you|y'all|them|everyone|all_of_you ..1 in|inside it|there",
    ),
    (
        "threat_place",
        "love_to_see|like_to_see|want_to_see|wanna_see|hope_to_see ..3 =burn|burning|explode|blow",
    ),
    (
        "threat_staff",
        "dar|darles|darle ..1 en la =madre|torre|jeta|cara|hocico",
    ),
    ("threat_veiled", "ya|y ..0 van|vas|va a =ver $"),
    (
        "threat_veiled",
        "ya|y ..0 van|vas|va a =ver quién|quien|de_lo_que|lo_que",
    ),
    (
        "threat_staff",
        "!no sé|se|sabemos|conozco ..3 =carro|coche|auto|camioneta|casa se_va|sale|maneja|vive|llega|trae|tiene",
    ),
    (
        "threat_staff",
        "know|found_out|i_know ..2 what|which =car|vehicle|truck you|she|he|they ..0 drive|drives",
    ),
    // Found by a probe of common phrasings written from the categories.
    (
        "threat_veiled",
        "se|te|les|os ..2 =acordar|acordarán|acordaran|acordarás|acordaras de mí",
    ),
    ("threat_veiled", "ya =verán|veran|verás|veras $"),
    ("threat_veiled", "=or else $"),
    (
        "threat_veiled",
        "happens when|if ..2 =mess|messing|screw|screwing with|around ..1 me",
    ),
    ("threat_veiled", "happens when|if ..2 =cross|crossing me"),
];

/// One word, or a run of words, that an element accepts.
type Alt = Box<[Box<str>]>;

#[derive(Debug, Clone)]
enum Elem {
    Word(Box<[Alt]>),
    Opt(Box<[Alt]>),
    Gap(usize),
    Not(Box<[Alt]>),
    /// The end of the text (after the anchor) or its start (before it).
    Edge,
}

/// A compiled rule: the elements before the anchor, nearest first, and after it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub kind: Kind,
    pub category: &'static str,
    pub source: &'static str,
    before: Box<[Elem]>,
    anchor: Box<[Alt]>,
    after: Box<[Elem]>,
}

/// The forms a listed word also matches: without apostrophes, with a typographic apostrophe,
/// and without Spanish accents.
fn variants(w: &str) -> Vec<String> {
    let mut out = vec![w.to_string()];
    let mut push = |v: String| {
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    };
    if w.contains('\'') {
        push(w.replace('\'', "’"));
        push(w.replace('\'', ""));
    }
    let plain: String = w
        .chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' | 'ü' => 'u',
            c => c,
        })
        .collect();
    push(plain);
    out
}

fn alts(spec: &str) -> Vec<Alt> {
    let mut out = Vec::new();
    for a in spec.split('|').filter(|a| !a.is_empty()) {
        let words: Vec<&str> = a.split('_').collect();
        // Each word's variants, combined word by word in step (the variants of a run differ
        // in the same way in each word, which is how people type them).
        let per_word: Vec<Vec<String>> = words.iter().map(|w| variants(w)).collect();
        let n = per_word.iter().map(Vec::len).max().unwrap_or(1);
        for k in 0..n {
            let alt: Alt = per_word
                .iter()
                .map(|vs| vs.get(k).unwrap_or(&vs[0]).clone().into_boxed_str())
                .collect();
            if !out.contains(&alt) {
                out.push(alt);
            }
        }
    }
    out
}

fn expand(pattern: &str) -> String {
    let mut p = pattern.to_string();
    // Longest class names first, so that "@weapon_es" is not read as "@weapon" + "_es".
    let mut classes: Vec<&(&str, &str)> = CLASSES.iter().collect();
    classes.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, words) in classes {
        p = p.replace(name, words);
    }
    p
}

/// Compiles a rule; returns it with its anchor words.
fn compile(kind: Kind, category: &'static str, source: &'static str) -> (Rule, Vec<String>) {
    let expanded = expand(source);
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut anchor = Vec::new();
    let mut seen_anchor = false;
    for tok in expanded.split_whitespace() {
        if let Some(a) = tok.strip_prefix('=') {
            assert!(!seen_anchor, "two anchors in crisis rule {source:?}");
            seen_anchor = true;
            anchor = alts(a);
            continue;
        }
        let e = if tok == "$" {
            Elem::Edge
        } else if let Some(n) = tok.strip_prefix("..") {
            Elem::Gap(n.parse().expect("gap length"))
        } else if let Some(a) = tok.strip_prefix('!') {
            Elem::Not(alts(a).into())
        } else if let Some(a) = tok.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            Elem::Opt(alts(a).into())
        } else if let Some(a) = tok.strip_suffix('?') {
            Elem::Opt(alts(a).into())
        } else {
            Elem::Word(alts(tok).into())
        };
        if seen_anchor {
            after.push(e);
        } else {
            before.push(e);
        }
    }
    assert!(seen_anchor, "no anchor in crisis rule {source:?}");
    before.reverse();
    let mut firsts: Vec<String> = anchor.iter().map(|a| a[0].to_string()).collect();
    firsts.dedup();
    (
        Rule {
            kind,
            category,
            source,
            before: before.into(),
            anchor: anchor.into(),
            after: after.into(),
        },
        firsts,
    )
}

/// Every rule with its anchor words.
pub fn rules() -> Vec<(Rule, Vec<String>)> {
    CRISIS_RULES
        .iter()
        .map(|(c, s)| compile(Kind::Crisis, c, s))
        .chain(
            THREAT_RULES
                .iter()
                .map(|(c, s)| compile(Kind::Threat, c, s)),
        )
        .collect()
}

fn fits_at(alt: &[Box<str>], ws: &[&str], at: usize) -> bool {
    ws.len() >= at + alt.len() && alt.iter().zip(&ws[at..]).all(|(a, w)| **a == **w)
}

fn fits_before(alt: &[Box<str>], ws: &[&str], end: usize) -> bool {
    end >= alt.len()
        && alt
            .iter()
            .zip(&ws[end - alt.len()..end])
            .all(|(a, w)| **a == **w)
}

/// True when `elems` match the words from index `at` on.
fn forward(elems: &[Elem], ws: &[&str], at: usize) -> bool {
    let Some((e, rest)) = elems.split_first() else {
        return true;
    };
    match e {
        Elem::Word(alts) => alts
            .iter()
            .any(|a| fits_at(a, ws, at) && forward(rest, ws, at + a.len())),
        Elem::Opt(alts) => {
            alts.iter()
                .any(|a| fits_at(a, ws, at) && forward(rest, ws, at + a.len()))
                || forward(rest, ws, at)
        }
        Elem::Gap(n) => (0..=*n)
            .take_while(|g| at + g <= ws.len())
            .any(|g| forward(rest, ws, at + g)),
        Elem::Not(alts) => !alts.iter().any(|a| fits_at(a, ws, at)) && forward(rest, ws, at),
        Elem::Edge => at == ws.len() && forward(rest, ws, at),
    }
}

/// True when `elems` (nearest first) match the words that end just before index `end`.
fn backward(elems: &[Elem], ws: &[&str], end: usize) -> bool {
    let Some((e, rest)) = elems.split_first() else {
        return true;
    };
    match e {
        Elem::Word(alts) => alts
            .iter()
            .any(|a| fits_before(a, ws, end) && backward(rest, ws, end - a.len())),
        Elem::Opt(alts) => {
            alts.iter()
                .any(|a| fits_before(a, ws, end) && backward(rest, ws, end - a.len()))
                || backward(rest, ws, end)
        }
        Elem::Gap(n) => (0..=*n)
            .take_while(|g| *g <= end)
            .any(|g| backward(rest, ws, end - g)),
        Elem::Not(alts) => !alts.iter().any(|a| fits_before(a, ws, end)) && backward(rest, ws, end),
        Elem::Edge => end == 0 && backward(rest, ws, end),
    }
}

impl Rule {
    /// True when the rule matches with its anchor at word `i` of the lower-case words `ws`.
    #[inline]
    pub fn matches(&self, ws: &[&str], i: usize) -> bool {
        self.anchor
            .iter()
            .any(|a| fits_at(a, ws, i) && forward(&self.after, ws, i + a.len()))
            && backward(&self.before, ws, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str) -> Vec<&'static str> {
        let lower = text.to_lowercase();
        let ws: Vec<&str> = crate::tokens::words(&lower).map(|(_, w)| w).collect();
        let mut out = Vec::new();
        for (r, anchors) in rules() {
            for (i, w) in ws.iter().enumerate() {
                if anchors.iter().any(|a| a == w) && r.matches(&ws, i) {
                    out.push(r.source);
                }
            }
        }
        out
    }

    #[test]
    fn every_rule_compiles_with_an_anchor() {
        let rs = rules();
        assert!(rs.len() > 100);
        assert!(rs.iter().all(|(_, a)| !a.is_empty()));
    }

    #[test]
    fn elements_match_as_documented() {
        // Optional words, gaps, guards and variants without apostrophes or accents.
        assert!(!hit("I want to end it").is_empty());
        assert!(!hit("i just wanna end it").is_empty());
        assert!(hit("I want to end it with the old provider").is_empty());
        assert!(!hit("I dont want to live like this").is_empty());
        assert!(!hit("I don’t want to live like this").is_empty());
        assert!(hit("I don't want to live in this county").is_empty());
        assert!(!hit("ya no aguanto mas").is_empty());
        assert!(hit("ya no aguanto más esta espera").is_empty());
        // A guard before the anchor looks at the previous word.
        assert!(!hit("I know where you live").is_empty());
        assert!(hit("I don't know where they live").is_empty());
    }
}
