//! Every figure of heard-insight against an independent implementation in Python (statsmodels, scipy, numpy): the
//! fixture `fixtures/reference.json` is made by `fixtures/make_reference.py` (its header says how and what each
//! reference is computed with).

use heard_insight::drivers::{DriverOptions, Method, Performance, Predictor, key_drivers};
use heard_insight::segments::{
    CauseOptions, CauseTest, Characteristic, Feature, GapOptions, SegmentCell, likely_causes,
    segment_gaps,
};
use heard_insight::{
    Count, benjamini_hochberg, fisher_exact, proportion::Z95, two_proportion_z, wilson_interval,
};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("fixtures/reference.json");
    serde_json::from_str(text).expect("reference.json parses")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

thread_local! {
    /// The largest absolute and relative differences seen by this test's thread, printed by [`report`].
    static WORST: std::cell::Cell<(f64, f64)> = const { std::cell::Cell::new((0.0, 0.0)) };
}

fn note(found: f64, expected: f64) {
    let abs = (found - expected).abs();
    let rel = if expected != 0.0 {
        abs / expected.abs()
    } else {
        0.0
    };
    WORST.with(|w| {
        let (a, r) = w.get();
        w.set((a.max(abs), r.max(rel)));
    });
}

/// Prints the largest differences (see them with `cargo test -p heard-insight --test reference -- --nocapture`).
fn report(section: &str) {
    let (a, r) = WORST.with(|w| w.get());
    println!("{section}: largest absolute difference {a:.3e}, largest relative {r:.3e}");
}

#[track_caller]
fn close(found: f64, expected: f64, tolerance: f64, what: &str) {
    note(found, expected);
    assert!(
        (found - expected).abs() <= tolerance,
        "{what}: found {found}, expected {expected} (difference {})",
        (found - expected).abs()
    );
}

/// Relative closeness, for p-values that span many orders of magnitude.
#[track_caller]
fn close_rel(found: f64, expected: f64, what: &str) {
    note(found, expected);
    let scale = expected.abs().max(1e-300);
    assert!(
        (found - expected).abs() / scale <= 1e-8 || (found - expected).abs() <= 1e-14,
        "{what}: found {found}, expected {expected}"
    );
}

#[test]
fn wilson_matches_statsmodels() {
    let fx = fixture();
    for case in fx["wilson"].as_array().unwrap() {
        let (x, n) = (u(&case["positive"]), u(&case["n"]));
        let pop = case["population"].as_u64();
        let i = wilson_interval(x, n, pop, Z95).unwrap();
        let what = format!("{x}/{n} of {pop:?}");
        close(i.low, f(&case["low"]), 1e-9, &what);
        close(i.high, f(&case["high"]), 1e-9, &what);
    }
    report("Wilson");
}

#[test]
fn two_proportion_z_matches_statsmodels() {
    let fx = fixture();
    for case in fx["two_proportion_z"].as_array().unwrap() {
        let a = Count::new("a", u(&case["x1"]), u(&case["n1"])).unwrap();
        let b = Count::new("b", u(&case["x2"]), u(&case["n2"])).unwrap();
        let t = two_proportion_z(a, b).unwrap();
        let what = format!("{a:?} {b:?}");
        close(t.z, f(&case["z"]), 1e-9, &what);
        close_rel(t.p_value, f(&case["p"]), &what);
    }
    report("two-proportion z");
}

#[test]
fn fisher_matches_scipy() {
    let fx = fixture();
    for case in fx["fisher_exact"].as_array().unwrap() {
        let t: Vec<u64> = case["table"].as_array().unwrap().iter().map(u).collect();
        close_rel(
            fisher_exact(t[0], t[1], t[2], t[3]),
            f(&case["p"]),
            &format!("{t:?}"),
        );
    }
    report("Fisher");
}

#[test]
fn benjamini_hochberg_matches_statsmodels() {
    let fx = fixture();
    for case in fx["benjamini_hochberg"].as_array().unwrap() {
        let q = benjamini_hochberg(&floats(&case["p"])).unwrap();
        for (found, expected) in q.iter().zip(floats(&case["q"])) {
            close(*found, expected, 1e-12, "q");
        }
    }
    report("BH");
}

#[test]
fn splitmix64_matches_the_python_generator() {
    // The bootstrap below only agrees if the streams agree; this pins the first outputs independently of it.
    let fx = fixture();
    let expected: Vec<&str> = fx["splitmix64_seed_1234567"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        expected,
        vec![
            "6457827717110365317",
            "3203168211198807973",
            "9817491932198370423"
        ]
    );
}

fn predictors(case: &Value) -> (Vec<Option<f64>>, Vec<Predictor>) {
    let cols: Vec<Vec<Option<f64>>> = case["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_array().unwrap().iter().map(Value::as_f64).collect())
        .collect();
    let (outcome, xs) = cols.split_last().unwrap();
    let preds = xs
        .iter()
        .enumerate()
        .map(|(j, c)| Predictor {
            name: format!("indicator {}", j + 1),
            values: c.clone(),
        })
        .collect();
    (outcome.clone(), preds)
}

#[test]
fn key_drivers_match_brute_force_shapley_and_relative_weights() {
    let fx = fixture();
    for case in fx["drivers"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (y, preds) = predictors(case);
        let resamples = case["resamples"].as_u64().unwrap_or(0) as usize;
        let opts = DriverOptions {
            resamples,
            seed: case["seed"].as_u64().unwrap_or(0),
            ..DriverOptions::default()
        };
        let d = key_drivers("trust", &y, &preds, opts).unwrap();
        let method = match case["method"].as_str().unwrap() {
            "lmg" => Method::Lmg,
            _ => Method::RelativeWeights,
        };
        assert_eq!(d.method, method, "{name}");
        assert_eq!(d.n as u64, u(&case["n"]), "{name}");
        assert_eq!(d.n + d.dropped, y.len(), "{name}");
        close(d.r_squared, f(&case["r_squared"]), 1e-9, name);
        for (dr, expected) in d.drivers.iter().zip(floats(&case["importance"])) {
            close(
                dr.importance,
                expected,
                1e-9,
                &format!("{name}: {}", dr.name),
            );
        }
        if resamples > 0 {
            assert_eq!(d.resamples_used, resamples);
            let low = floats(&case["interval_low"]);
            let high = floats(&case["interval_high"]);
            for (j, dr) in d.drivers.iter().enumerate() {
                let i = dr.interval.unwrap();
                close(i.low, low[j], 1e-9, &format!("{name}: {} low", dr.name));
                close(i.high, high[j], 1e-9, &format!("{name}: {} high", dr.name));
            }
            let p = preds.len();
            for (j, dr) in d.drivers.iter().enumerate() {
                let i = dr.share_interval.unwrap();
                close(
                    i.low,
                    low[p + 1 + j],
                    1e-9,
                    &format!("{name}: {} share low", dr.name),
                );
                close(
                    i.high,
                    high[p + 1 + j],
                    1e-9,
                    &format!("{name}: {} share high", dr.name),
                );
            }
            let r2 = d.r_squared_interval.unwrap();
            close(r2.low, low[preds.len()], 1e-9, "R² low");
            close(r2.high, high[preds.len()], 1e-9, "R² high");
        }
        if let Some(means) = case.get("mean") {
            for (dr, m) in d.drivers.iter().zip(floats(means)) {
                close(dr.performance, m, 1e-12, "mean");
            }
            let top = key_drivers(
                "trust",
                &y,
                &preds,
                DriverOptions {
                    resamples: 0,
                    performance: Performance::TopBox { at_least: 4.0 },
                    ..opts
                },
            )
            .unwrap();
            for (dr, m) in top.drivers.iter().zip(floats(&case["top_box"])) {
                close(dr.performance, m, 1e-12, "top box");
            }
        }
        if method == Method::Lmg
            && let Some(rw) = case.get("relative_weights")
        {
            let d = key_drivers(
                "trust",
                &y,
                &preds,
                DriverOptions {
                    method: Some(Method::RelativeWeights),
                    resamples: 0,
                    ..opts
                },
            )
            .unwrap();
            for (dr, expected) in d.drivers.iter().zip(floats(rw)) {
                close(
                    dr.importance,
                    expected,
                    1e-9,
                    &format!("{name}: {} (RW)", dr.name),
                );
            }
        }
    }
    report("key drivers");
}

#[test]
fn segment_gaps_match_statsmodels() {
    let fx = fixture();
    let seg = &fx["segments"];
    let characteristics: Vec<Characteristic> = seg["characteristics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Characteristic {
            name: c["name"].as_str().unwrap().into(),
            cells: c["cells"]
                .as_array()
                .unwrap()
                .iter()
                .map(|cell| SegmentCell {
                    value: cell[0].as_str().unwrap().into(),
                    count: Count::new("cell", u(&cell[1]), u(&cell[2])).unwrap(),
                })
                .collect(),
        })
        .collect();
    let out = segment_gaps(
        &characteristics,
        GapOptions {
            k: u(&seg["k"]),
            ..GapOptions::default()
        },
    )
    .unwrap();
    let found: Vec<_> = out
        .iter()
        .flat_map(|c| c.segments.iter().map(move |s| (c, s)))
        .collect();
    let expected = seg["expected"].as_array().unwrap();
    assert_eq!(found.len(), expected.len());
    for ((ch, s), e) in found.into_iter().zip(expected) {
        let what = format!("{} = {}", s.characteristic, s.value);
        assert_eq!(s.value, e["value"].as_str().unwrap());
        assert_eq!(
            s.suppressed.is_some(),
            e["hidden"].as_bool().unwrap(),
            "{what}"
        );
        assert_eq!(
            ch.total.is_some(),
            e["total_shown"].as_bool().unwrap(),
            "{what}"
        );
        match e.get("p") {
            Some(p) => {
                let t = s.test.unwrap();
                close(s.difference.unwrap(), f(&e["difference"]), 1e-12, &what);
                close(t.z, f(&e["z"]), 1e-9, &what);
                close_rel(t.p_value, f(p), &what);
                close_rel(s.q_value.unwrap(), f(&e["q"]), &what);
                assert_eq!(s.significant, f(&e["q"]) <= 0.05, "{what}");
            }
            None => assert!(s.test.is_none() && s.q_value.is_none(), "{what}"),
        }
    }
    report("segment gaps");
}

#[test]
fn likely_causes_match_scipy_and_statsmodels() {
    let fx = fixture();
    let c = &fx["causes"];
    let in_segment: Vec<bool> = c["in_segment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    let features: Vec<Feature> = c["features"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, vals)| Feature {
            name: name.clone(),
            values: vals
                .as_array()
                .unwrap()
                .iter()
                .map(Value::as_bool)
                .collect(),
        })
        .collect();
    let out = likely_causes(&in_segment, &features, CauseOptions::default()).unwrap();
    let expected = c["expected"].as_array().unwrap();
    assert_eq!(out.causes.len(), expected.len());
    assert!(out.untested.is_empty());
    for e in expected {
        let name = e["feature"].as_str().unwrap();
        let found = out.causes.iter().find(|x| x.feature == name).unwrap();
        assert_eq!(found.segment.positive, u(&e["segment_with"]), "{name}");
        assert_eq!(found.segment.n, u(&e["segment_n"]), "{name}");
        assert_eq!(found.rest.positive, u(&e["rest_with"]), "{name}");
        assert_eq!(found.rest.n, u(&e["rest_n"]), "{name}");
        match e["lift"].as_f64() {
            Some(l) => close(found.lift.unwrap(), l, 1e-12, name),
            None => assert_eq!(found.lift, None),
        }
        let test = match e["test"].as_str().unwrap() {
            "fisher_exact" => CauseTest::FisherExact,
            _ => CauseTest::TwoProportionZ,
        };
        assert_eq!(found.test, test, "{name}");
        close_rel(found.p_value, f(&e["p"]), name);
        close_rel(found.q_value, f(&e["q"]), name);
    }
    // Ranked: the significant over-represented features first, by q.
    let first: Vec<&str> = out
        .causes
        .iter()
        .take_while(|x| x.significant && x.over_represented)
        .map(|x| x.feature.as_str())
        .collect();
    assert_eq!(first, vec!["long wait", "theme: language access"]);
    report("likely causes");
}
