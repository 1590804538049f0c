//! TEMPORARY: the agreed report/chart API, until heard-domain's report.rs lands. Deleted then.
#![allow(dead_code, unused)]
pub mod report {
    pub use heard_domain::report::*;
    use heard_domain::stats::Proportion;
    use heard_domain::survey::SurveyDefinition;
    use serde::Serialize;
    use std::collections::BTreeMap;
    #[derive(Serialize)]
    pub struct WeekPoint {
        pub week_start: chrono::NaiveDate,
        pub responses: u64,
        pub positive: u64,
        pub trust: Option<Proportion>,
    }
    #[derive(Serialize)]
    pub struct SurveyReport {
        pub responses: u64,
        pub weekly: Vec<WeekPoint>,
    }
    #[derive(Serialize)]
    pub struct CollectionFigures {
        pub respondents: u64,
    }
    pub fn survey_report(
        _: &BTreeMap<i32, SurveyDefinition>,
        f: &[ResponseFacts],
        _: Option<u64>,
    ) -> SurveyReport {
        SurveyReport {
            responses: f.len() as u64,
            weekly: vec![],
        }
    }
    pub fn collection_figures(respondents: u64, _: u64, _: Option<u64>) -> CollectionFigures {
        CollectionFigures { respondents }
    }
    pub const A11_V2_CSV_HEADER: [&str; 17] = [""; 17];
    pub fn a11_v2_csv_rows(
        _: &BTreeMap<i32, SurveyDefinition>,
        _: &[(String, ResponseFacts)],
    ) -> Vec<Vec<String>> {
        vec![]
    }
}
pub mod chart {
    pub fn trend_svg(_: &[super::report::WeekPoint], _: &str, _: &str) -> String {
        String::new()
    }
}
