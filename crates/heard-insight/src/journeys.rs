//! Journeys, as process mining does them (van der Aalst, *Process Mining: Data Science in Action*, 2nd ed., 2016).
//!
//! An **event log** is a table of events; each belongs to a **case** (here: a person, by their keyed hash), has an
//! **activity** (what happened: an event type such as `application_submitted`, `survey_answered` for a response,
//! `feedback_given` for a signal), a timestamp (milliseconds since the Unix epoch, UTC) and, when known, the channel
//! and touchpoint it happened through. A case's events in time order are its **trace**; traces with the same
//! sequence of activities share a **variant**. The **directly-follows graph** (DFG) counts, over every trace, how
//! often activity b directly follows activity a, with the durations between them.
//!
//! [`EventLog`] is columnar and compact: every string (case, activity, channel, touchpoint) is interned once and
//! each event is four integers and a timestamp (about 24 bytes), sorted by (case, time) with integer keys when
//! built. Events of one case at the same millisecond keep the order they were pushed in, as PM4Py's stable sort
//! keeps file order, so every count here can be compared with PM4Py's on the same log.
//!
//! A journey is defined as data ([`JourneyDefinition`], JSON): ordered stages, each mapped to activities and/or
//! touchpoints. [`EventLog::funnel`] finds how far each case got and how long each step took.
//!
//! Durations are in milliseconds. Medians are exact (the mean of the two middle values for an even count, as
//! pandas and PM4Py compute them); the 90th percentile is exact too, by linear interpolation between closest ranks
//! (numpy's default, "type 7" of Hyndman and Fan 1996).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// "No channel" or "no touchpoint" in the columns.
const NONE: u32 = u32::MAX;

/// The FxHash function (rustc's): a multiply and rotate per 8 bytes. Fast for the short strings interned here; not
/// resistant to chosen collisions, which only slows a log its own organization wrote.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// A string table: each distinct string gets the next index.
#[derive(Debug, Clone, Default)]
struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32, FxBuild>,
}

impl Interner {
    fn get_or_add(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// Builds an [`EventLog`] from rows in any order.
#[derive(Debug, Clone, Default)]
pub struct EventLogBuilder {
    cases: Interner,
    activities: Interner,
    channels: Interner,
    touchpoints: Interner,
    case: Vec<u32>,
    activity: Vec<u32>,
    time: Vec<i64>,
    channel: Vec<u32>,
    touchpoint: Vec<u32>,
}

impl EventLogBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` events.
    pub fn with_capacity(n: usize) -> Self {
        let mut b = Self::default();
        b.case.reserve(n);
        b.activity.reserve(n);
        b.time.reserve(n);
        b.channel.reserve(n);
        b.touchpoint.reserve(n);
        b
    }

    /// Adds one event: its case id, activity, time (ms since the Unix epoch, UTC), and channel and touchpoint when
    /// known.
    pub fn push(
        &mut self,
        case: &str,
        activity: &str,
        time_ms: i64,
        channel: Option<&str>,
        touchpoint: Option<&str>,
    ) {
        self.case.push(self.cases.get_or_add(case));
        self.activity.push(self.activities.get_or_add(activity));
        self.time.push(time_ms);
        self.channel
            .push(channel.map_or(NONE, |c| self.channels.get_or_add(c)));
        self.touchpoint
            .push(touchpoint.map_or(NONE, |t| self.touchpoints.get_or_add(t)));
    }

    /// Events pushed so far.
    pub fn len(&self) -> usize {
        self.case.len()
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.case.is_empty()
    }

    /// Sorts the events by (case, time, order pushed) and returns the log.
    pub fn build(self) -> EventLog {
        let n = self.case.len();
        // Counting sort by case (stable: events keep the order pushed), then each case's few events by time with a
        // stable sort: O(n) plus tiny sorts, where one comparison sort of all events would be O(n log n).
        let n_cases = self.cases.names.len();
        let mut case_start = vec![0u32; n_cases + 1];
        for &c in &self.case {
            case_start[c as usize + 1] += 1;
        }
        for i in 0..n_cases {
            case_start[i + 1] += case_start[i];
        }
        let mut fill = case_start.clone();
        let mut perm = vec![0u32; n];
        for (i, &c) in self.case.iter().enumerate() {
            perm[fill[c as usize] as usize] = i as u32;
            fill[c as usize] += 1;
        }
        drop(fill);
        for c in 0..n_cases {
            let seg = &mut perm[case_start[c] as usize..case_start[c + 1] as usize];
            if seg
                .windows(2)
                .any(|w| self.time[w[0] as usize] > self.time[w[1] as usize])
            {
                seg.sort_by_key(|&i| self.time[i as usize]);
            }
        }
        let gather = |col: &[u32]| perm.iter().map(|&i| col[i as usize]).collect::<Vec<u32>>();
        let activity = gather(&self.activity);
        let channel = gather(&self.channel);
        let touchpoint = gather(&self.touchpoint);
        let time: Vec<i64> = perm.iter().map(|&i| self.time[i as usize]).collect();
        EventLog {
            cases: self.cases.names,
            activities: self.activities.names,
            channels: self.channels.names,
            touchpoints: self.touchpoints.names,
            case_start,
            activity,
            time,
            channel,
            touchpoint,
        }
    }
}

/// An event log, sorted by (case, time). Build it with [`EventLogBuilder`].
#[derive(Debug, Clone)]
pub struct EventLog {
    cases: Vec<String>,
    activities: Vec<String>,
    channels: Vec<String>,
    touchpoints: Vec<String>,
    /// Events of case c are `case_start[c]..case_start[c + 1]`.
    case_start: Vec<u32>,
    activity: Vec<u32>,
    time: Vec<i64>,
    channel: Vec<u32>,
    touchpoint: Vec<u32>,
}

/// One event of a trace, with its strings resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step<'a> {
    /// The activity.
    pub activity: &'a str,
    /// When, in ms since the Unix epoch (UTC).
    pub time_ms: i64,
    /// The channel, when known.
    pub channel: Option<&'a str>,
    /// The touchpoint, when known.
    pub touchpoint: Option<&'a str>,
}

/// How often b directly follows a in a trace, and the time between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// The earlier activity.
    pub from: String,
    /// The activity directly after it in the same case.
    pub to: String,
    /// How many times, over all traces.
    pub count: u64,
    /// Mean time between the two events, ms.
    pub mean_ms: f64,
    /// Median time between the two events, ms (exact).
    pub median_ms: f64,
}

/// The directly-follows graph, in PM4Py's `discover_dfg` shape: the edges between activities (no artificial start
/// or end node among them), and separately how many traces start and end with each activity. A Sankey or a drawn
/// DFG adds the artificial start and end nodes from `start_activities` and `end_activities`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dfg {
    /// Edges, most frequent first (ties by activity names).
    pub edges: Vec<Edge>,
    /// (activity, traces that start with it), most frequent first.
    pub start_activities: Vec<(String, u64)>,
    /// (activity, traces that end with it), most frequent first.
    pub end_activities: Vec<(String, u64)>,
}

/// A variant: a sequence of activities and the number of cases whose trace is exactly it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// The activities in order.
    pub activities: Vec<String>,
    /// Cases with this trace.
    pub cases: u64,
}

/// Variants, most frequent first, the first `top` of them, and what the rest add up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variants {
    /// The most frequent variants (ties by their activities, alphabetically).
    pub top: Vec<Variant>,
    /// How many other variants there are.
    pub other_variants: u64,
    /// How many cases follow one of the other variants.
    pub other_cases: u64,
    /// All cases.
    pub total_cases: u64,
}

/// Where journeys start: the channel and touchpoint of each case's first event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    /// The first event's channel (None: not known).
    pub channel: Option<String>,
    /// The first event's touchpoint (None: not known).
    pub touchpoint: Option<String>,
    /// Cases that start here.
    pub cases: u64,
}

/// Channel switching: consecutive events of a case, both with a channel, through different channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSwitching {
    /// Cases with at least two events whose channel is known.
    pub cases: u64,
    /// Of those, cases that switched channel at least once.
    pub cases_switching: u64,
    /// Switches over all cases.
    pub switches: u64,
    /// (from channel, to channel, switches), most frequent first.
    pub pairs: Vec<(String, String, u64)>,
}

/// Rework of one activity: it happened more than once in a case (e.g. information asked for again, a second call).
/// `cases_with_rework` is PM4Py's `get_rework_cases_per_activity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rework {
    /// The activity.
    pub activity: String,
    /// Cases in which it happens at all.
    pub cases: u64,
    /// Cases in which it happens more than once.
    pub cases_with_rework: u64,
    /// Occurrences beyond the first, over all cases (a case with it three times adds two).
    pub repeats: u64,
    /// Times it directly follows itself (a self-loop in the DFG).
    pub self_loops: u64,
}

/// Repeat contacts: how many contact events (calls, chats, visits: the activities named) each case had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatContacts {
    /// Cases with at least one contact.
    pub cases_with_contact: u64,
    /// Cases with two or more.
    pub cases_with_repeat: u64,
    /// All contacts.
    pub contacts: u64,
    /// `per_case[k]`: cases with k + 1 contacts; the last entry counts that many or more.
    pub per_case: Vec<u64>,
}

/// One node of [`Flows`]: the activity at one position of the traces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowNode {
    /// The position in the trace, from 0 (the first event).
    pub position: usize,
    /// The activity; None pools the less frequent ones ("other activities").
    pub activity: Option<String>,
    /// Traces with this activity at this position.
    pub cases: u64,
}

/// One link of [`Flows`]: traces going from one activity at `position` to another at `position + 1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLink {
    /// The position of the earlier event, from 0.
    pub position: usize,
    /// The activity at `position` (None: other activities).
    pub from: Option<String>,
    /// The activity at `position + 1` (None: other activities).
    pub to: Option<String>,
    /// Traces that go this way.
    pub cases: u64,
}

/// The first steps of every trace by position ([`EventLog::flows`]), the data of a Sankey diagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flows {
    /// Positions covered.
    pub depth: usize,
    /// All cases (each is in the first position's nodes).
    pub cases: u64,
    /// Nodes by position, most frequent first, "other" last in each position.
    pub nodes: Vec<FlowNode>,
    /// Links by position, most frequent first.
    pub links: Vec<FlowLink>,
}

/// A journey: ordered stages, each reached by events of given activities or at given touchpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneyDefinition {
    /// The journey's name, e.g. "Apply for disability benefits".
    pub name: String,
    /// When set, the journey covers only events, responses and signals of this service (its name as the event log
    /// gives it, in English); when absent, everything the organization has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The stages in the order a person goes through them.
    pub stages: Vec<StageDefinition>,
}

/// One stage of a journey. An event belongs to the stage when its activity is among `activities` or its touchpoint
/// among `touchpoints`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDefinition {
    /// The stage's name, unique in the journey.
    pub name: String,
    /// Activities (event types, `survey_answered`, `feedback_given`) that put a case in this stage.
    #[serde(default)]
    pub activities: Vec<String>,
    /// Touchpoints (as the event log names them) that put a case in this stage.
    #[serde(default)]
    pub touchpoints: Vec<String>,
}

/// What is wrong with a journey definition: the field (a JSON path such as `stages[2].activities[0]`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct JourneyError {
    /// Where, as a path into the JSON.
    pub field: String,
    /// Why, and what is allowed.
    pub reason: String,
}

fn bad(field: impl Into<String>, reason: impl Into<String>) -> JourneyError {
    JourneyError {
        field: field.into(),
        reason: reason.into(),
    }
}

impl JourneyDefinition {
    /// Parses and validates a definition from JSON.
    pub fn from_json(json: &str) -> Result<Self, JourneyError> {
        let d: JourneyDefinition = serde_json::from_str(json)
            .map_err(|e| bad(format!("line {}", e.line()), e.to_string()))?;
        d.validate()?;
        Ok(d)
    }

    /// Checks the definition: a name, 1 to 50 stages with unique non-empty names, each mapped to at least one
    /// activity or touchpoint, and no activity or touchpoint in two stages (an event must reach one stage only).
    pub fn validate(&self) -> Result<(), JourneyError> {
        if self.name.trim().is_empty() {
            return Err(bad("name", "give the journey a name"));
        }
        if self.service.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(bad(
                "service",
                "name a service, or leave the field out for every service",
            ));
        }
        if self.stages.is_empty() || self.stages.len() > 50 {
            return Err(bad(
                "stages",
                format!("a journey has 1 to 50 stages; found {}", self.stages.len()),
            ));
        }
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut activities: HashMap<&str, usize> = HashMap::new();
        let mut touchpoints: HashMap<&str, usize> = HashMap::new();
        for (i, s) in self.stages.iter().enumerate() {
            if s.name.trim().is_empty() {
                return Err(bad(format!("stages[{i}].name"), "give the stage a name"));
            }
            if let Some(j) = names.insert(&s.name, i) {
                return Err(bad(
                    format!("stages[{i}].name"),
                    format!("'{}' is also the name of stages[{j}]", s.name),
                ));
            }
            if s.activities.is_empty() && s.touchpoints.is_empty() {
                return Err(bad(
                    format!("stages[{i}]"),
                    "map the stage to at least one activity or touchpoint",
                ));
            }
            for (k, a) in s.activities.iter().enumerate() {
                if a.trim().is_empty() {
                    return Err(bad(format!("stages[{i}].activities[{k}]"), "empty name"));
                }
                if let Some(j) = activities.insert(a, i)
                    && j != i
                {
                    return Err(bad(
                        format!("stages[{i}].activities[{k}]"),
                        format!(
                            "'{a}' is already mapped to stages[{j}]; an event can reach one stage only"
                        ),
                    ));
                }
            }
            for (k, t) in s.touchpoints.iter().enumerate() {
                if t.trim().is_empty() {
                    return Err(bad(format!("stages[{i}].touchpoints[{k}]"), "empty name"));
                }
                if let Some(j) = touchpoints.insert(t, i)
                    && j != i
                {
                    return Err(bad(
                        format!("stages[{i}].touchpoints[{k}]"),
                        format!(
                            "'{t}' is already mapped to stages[{j}]; an event can reach one stage only"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One stage of a funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelStage {
    /// The stage's name.
    pub name: String,
    /// Cases that reached it (after reaching every stage before it, in order).
    pub cases: u64,
    /// Cases that reached the previous stage but not this one (0 for the first stage).
    pub dropped: u64,
    /// cases / cases of the previous stage, in [0, 1] (None for the first stage or when the previous had none).
    pub conversion: Option<f64>,
    /// Time from reaching the previous stage to reaching this one, over the cases that reached it (None for the
    /// first stage).
    pub time_from_previous: Option<Durations>,
}

/// A distribution of durations, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    /// How many.
    pub n: u64,
    /// Median (exact), ms; None when n = 0.
    pub median_ms: Option<f64>,
    /// 90th percentile (exact, linear interpolation between closest ranks), ms; None when n = 0.
    pub p90_ms: Option<f64>,
}

/// A journey's funnel: each stage in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    /// The journey's name.
    pub journey: String,
    /// The stages, in order.
    pub stages: Vec<FunnelStage>,
}

/// The q-quantile (0 ≤ q ≤ 1) of `v` by linear interpolation between closest ranks (numpy's default). Reorders v.
fn quantile(v: &mut [i64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let len = v.len();
    let (_, &mut a, rest) = v.select_nth_unstable(lo);
    let a = a as f64;
    if lo + 1 >= len || h == lo as f64 {
        return Some(a);
    }
    let b = *rest.iter().min().expect("not empty") as f64;
    Some(a + (h - lo as f64) * (b - a))
}

fn durations(v: &mut [i64]) -> Durations {
    Durations {
        n: v.len() as u64,
        median_ms: quantile(v, 0.5),
        p90_ms: quantile(v, 0.9),
    }
}

fn most_frequent_first<T: Ord>(v: &mut [(T, u64)]) {
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
}

impl EventLog {
    /// Events in the log.
    pub fn len(&self) -> usize {
        self.activity.len()
    }

    /// True when the log has no events.
    pub fn is_empty(&self) -> bool {
        self.activity.is_empty()
    }

    /// Cases in the log.
    pub fn case_count(&self) -> usize {
        self.cases.len()
    }

    /// The distinct activities, in order of first appearance.
    pub fn activities(&self) -> &[String] {
        &self.activities
    }

    /// The case ids, in order of first appearance.
    pub fn case_ids(&self) -> &[String] {
        &self.cases
    }

    fn range(&self, c: usize) -> std::ops::Range<usize> {
        self.case_start[c] as usize..self.case_start[c + 1] as usize
    }

    fn name(table: &[String], i: u32) -> Option<&str> {
        (i != NONE).then(|| table[i as usize].as_str())
    }

    /// The trace of a case (by its id), in time order; None when the log has no such case.
    pub fn trace(&self, case: &str) -> Option<Vec<Step<'_>>> {
        let c = self.cases.iter().position(|x| x == case)?;
        Some(self.trace_of(c))
    }

    /// The trace of the case numbered `c` (0 ≤ c < case_count, in order of first appearance).
    pub fn trace_of(&self, c: usize) -> Vec<Step<'_>> {
        self.range(c)
            .map(|i| Step {
                activity: &self.activities[self.activity[i] as usize],
                time_ms: self.time[i],
                channel: Self::name(&self.channels, self.channel[i]),
                touchpoint: Self::name(&self.touchpoints, self.touchpoint[i]),
            })
            .collect()
    }

    /// The directly-follows graph with counts and mean and median durations, and the start and end activities.
    ///
    /// One pass counts pairs in a flat table indexed by (a, b) and sums their durations; a second places each
    /// duration in its pair's slot of one buffer (offsets from the counts), where the median is selected in place.
    pub fn directly_follows(&self) -> Dfg {
        let a = self.activities.len();
        let mut count = vec![0u64; a * a];
        let mut sum = vec![0i64; a * a];
        let mut starts = vec![0u64; a];
        let mut ends = vec![0u64; a];
        for c in 0..self.cases.len() {
            let r = self.range(c);
            starts[self.activity[r.start] as usize] += 1;
            ends[self.activity[r.end - 1] as usize] += 1;
            for i in r.start..r.end - 1 {
                let p = self.activity[i] as usize * a + self.activity[i + 1] as usize;
                count[p] += 1;
                sum[p] += self.time[i + 1] - self.time[i];
            }
        }
        // Durations grouped by pair, for the medians.
        let mut offset = vec![0usize; a * a + 1];
        for p in 0..a * a {
            offset[p + 1] = offset[p] + count[p] as usize;
        }
        let mut fill = offset.clone();
        let mut all = vec![0i64; offset[a * a]];
        for c in 0..self.cases.len() {
            let r = self.range(c);
            for i in r.start..r.end - 1 {
                let p = self.activity[i] as usize * a + self.activity[i + 1] as usize;
                all[fill[p]] = self.time[i + 1] - self.time[i];
                fill[p] += 1;
            }
        }
        let mut edges = Vec::new();
        for p in 0..a * a {
            if count[p] == 0 {
                continue;
            }
            let slot = &mut all[offset[p]..offset[p + 1]];
            edges.push(Edge {
                from: self.activities[p / a].clone(),
                to: self.activities[p % a].clone(),
                count: count[p],
                mean_ms: sum[p] as f64 / count[p] as f64,
                median_ms: median(slot),
            });
        }
        edges.sort_by(|x, y| {
            y.count
                .cmp(&x.count)
                .then_with(|| (&x.from, &x.to).cmp(&(&y.from, &y.to)))
        });
        let named = |v: Vec<u64>| {
            let mut out: Vec<(String, u64)> = v
                .into_iter()
                .enumerate()
                .filter(|(_, n)| *n > 0)
                .map(|(i, n)| (self.activities[i].clone(), n))
                .collect();
            most_frequent_first(&mut out);
            out
        };
        Dfg {
            edges,
            start_activities: named(starts),
            end_activities: named(ends),
        }
    }

    /// Variants with their case counts, the `top` most frequent, and the rest summed as "other".
    pub fn variants(&self, top: usize) -> Variants {
        let mut by_trace: HashMap<&[u32], u64> = HashMap::new();
        for c in 0..self.cases.len() {
            *by_trace.entry(&self.activity[self.range(c)]).or_default() += 1;
        }
        let mut all: Vec<(Vec<&str>, u64)> = by_trace
            .into_iter()
            .map(|(t, n)| {
                (
                    t.iter()
                        .map(|&x| self.activities[x as usize].as_str())
                        .collect(),
                    n,
                )
            })
            .collect();
        most_frequent_first(&mut all);
        let total = self.cases.len() as u64;
        let rest = all.split_off(top.min(all.len()));
        Variants {
            top: all
                .into_iter()
                .map(|(a, n)| Variant {
                    activities: a.into_iter().map(str::to_string).collect(),
                    cases: n,
                })
                .collect(),
            other_variants: rest.len() as u64,
            other_cases: rest.iter().map(|r| r.1).sum(),
            total_cases: total,
        }
    }

    /// Where journeys start: cases by the channel and touchpoint of their first event, most frequent first.
    pub fn starts(&self) -> Vec<Start> {
        let mut by: HashMap<(u32, u32), u64> = HashMap::new();
        for c in 0..self.cases.len() {
            let i = self.case_start[c] as usize;
            *by.entry((self.channel[i], self.touchpoint[i])).or_default() += 1;
        }
        let mut v: Vec<(Place, u64)> = by
            .into_iter()
            .map(|((ch, tp), n)| {
                (
                    (
                        Self::name(&self.channels, ch).map(str::to_string),
                        Self::name(&self.touchpoints, tp).map(str::to_string),
                    ),
                    n,
                )
            })
            .collect();
        most_frequent_first(&mut v);
        v.into_iter()
            .map(|((channel, touchpoint), cases)| Start {
                channel,
                touchpoint,
                cases,
            })
            .collect()
    }

    /// Channel switching between consecutive events of a case whose channels are known (events without a channel
    /// are skipped, so a web visit, an unknown event and a call count as one switch, web to phone).
    pub fn channel_switching(&self) -> ChannelSwitching {
        let k = self.channels.len();
        let mut pair = vec![0u64; k * k];
        let (mut cases, mut switching, mut switches) = (0u64, 0u64, 0u64);
        for c in 0..self.cases.len() {
            let mut last = NONE;
            let mut known = 0;
            let mut own = 0;
            for i in self.range(c) {
                let ch = self.channel[i];
                if ch == NONE {
                    continue;
                }
                known += 1;
                if last != NONE && last != ch {
                    pair[last as usize * k + ch as usize] += 1;
                    own += 1;
                }
                last = ch;
            }
            if known >= 2 {
                cases += 1;
                if own > 0 {
                    switching += 1;
                }
            }
            switches += own;
        }
        let mut pairs: Vec<((String, String), u64)> = (0..k * k)
            .filter(|&p| pair[p] > 0)
            .map(|p| {
                (
                    (self.channels[p / k].clone(), self.channels[p % k].clone()),
                    pair[p],
                )
            })
            .collect();
        most_frequent_first(&mut pairs);
        ChannelSwitching {
            cases,
            cases_switching: switching,
            switches,
            pairs: pairs.into_iter().map(|((a, b), n)| (a, b, n)).collect(),
        }
    }

    /// Rework per activity (each activity that happens at all), most cases with rework first.
    pub fn rework(&self) -> Vec<Rework> {
        let a = self.activities.len();
        let mut seen = vec![0u32; a];
        let (mut cases, mut rework, mut repeats, mut loops) =
            (vec![0u64; a], vec![0u64; a], vec![0u64; a], vec![0u64; a]);
        for c in 0..self.cases.len() {
            let r = self.range(c);
            for i in r.clone() {
                seen[self.activity[i] as usize] += 1;
                if i + 1 < r.end && self.activity[i] == self.activity[i + 1] {
                    loops[self.activity[i] as usize] += 1;
                }
            }
            for i in r {
                let x = self.activity[i] as usize;
                let n = seen[x];
                if n > 0 {
                    cases[x] += 1;
                    if n > 1 {
                        rework[x] += 1;
                        repeats[x] += n as u64 - 1;
                    }
                    seen[x] = 0;
                }
            }
        }
        let mut out: Vec<Rework> = (0..a)
            .filter(|&x| cases[x] > 0)
            .map(|x| Rework {
                activity: self.activities[x].clone(),
                cases: cases[x],
                cases_with_rework: rework[x],
                repeats: repeats[x],
                self_loops: loops[x],
            })
            .collect();
        out.sort_by(|x, y| {
            y.cases_with_rework
                .cmp(&x.cases_with_rework)
                .then_with(|| x.activity.cmp(&y.activity))
        });
        out
    }

    /// Repeat contacts: contacts per case, where a contact is an event whose activity is in `contact_activities`
    /// (e.g. `call`, `chat`, `office_visit`). `per_case` has `buckets` entries (at least 1); its last counts cases
    /// with that many contacts or more.
    pub fn repeat_contacts(&self, contact_activities: &[&str], buckets: usize) -> RepeatContacts {
        let buckets = buckets.max(1);
        let is_contact: Vec<bool> = self
            .activities
            .iter()
            .map(|a| contact_activities.contains(&a.as_str()))
            .collect();
        let mut out = RepeatContacts {
            cases_with_contact: 0,
            cases_with_repeat: 0,
            contacts: 0,
            per_case: vec![0; buckets],
        };
        for c in 0..self.cases.len() {
            let n = self.activity[self.range(c)]
                .iter()
                .filter(|&&x| is_contact[x as usize])
                .count();
            if n == 0 {
                continue;
            }
            out.cases_with_contact += 1;
            out.contacts += n as u64;
            if n > 1 {
                out.cases_with_repeat += 1;
            }
            out.per_case[(n - 1).min(buckets - 1)] += 1;
        }
        out
    }

    /// Flows by position, for a Sankey diagram: where traces go in their first `depth` steps. Node (k, a) is "the
    /// k-th event (from 0) is activity a"; a link (k, a, b) counts traces whose k-th event is a and (k+1)-th is b.
    /// In each position only the `top` most frequent activities keep their name; the rest are pooled as `None`
    /// ("other activities"), so the diagram stays legible. Unlike the DFG this is acyclic by construction.
    pub fn flows(&self, depth: usize, top: usize) -> Flows {
        let (nodes, links) = self.raw_flows(depth);
        pool_flows(depth, self.cases.len() as u64, nodes, links, top)
    }

    /// Node and link counts by position over the first `depth` events of each trace, every activity by name.
    fn raw_flows(&self, depth: usize) -> (RawNodes, RawLinks) {
        let depth = depth.max(1);
        let mut nodes: HashMap<(usize, u32), u64> = HashMap::new();
        let mut links: HashMap<(usize, u32, u32), u64> = HashMap::new();
        for c in 0..self.cases.len() {
            let r = self.range(c);
            let n = r.len().min(depth);
            for k in 0..n {
                let i = r.start + k;
                *nodes.entry((k, self.activity[i])).or_default() += 1;
                if k + 1 < n {
                    *links
                        .entry((k, self.activity[i], self.activity[i + 1]))
                        .or_default() += 1;
                }
            }
        }
        let name = |x: u32| self.activities[x as usize].clone();
        (
            nodes
                .into_iter()
                .map(|((k, a), n)| ((k, name(a)), n))
                .collect(),
            links
                .into_iter()
                .map(|((k, a, b), n)| ((k, name(a), name(b)), n))
                .collect(),
        )
    }

    /// How many cases reached each stage of `journey` in order; `gap(k, ms)` is told the time from stage k - 1 to
    /// stage k of each case that reached k (k ≥ 1).
    fn funnel_walk(
        &self,
        journey: &JourneyDefinition,
        mut gap: impl FnMut(usize, i64),
    ) -> Vec<u64> {
        let s = journey.stages.len();
        // Stage of each activity and touchpoint index (NONE: none).
        let mut by_activity = vec![NONE; self.activities.len()];
        let mut by_touchpoint = vec![NONE; self.touchpoints.len()];
        for (k, st) in journey.stages.iter().enumerate() {
            for a in &st.activities {
                if let Some(i) = self.activities.iter().position(|x| x == a) {
                    by_activity[i] = k as u32;
                }
            }
            for t in &st.touchpoints {
                if let Some(i) = self.touchpoints.iter().position(|x| x == t) {
                    by_touchpoint[i] = k as u32;
                }
            }
        }
        let mut reached = vec![0u64; s];
        for c in 0..self.cases.len() {
            let mut next = 0usize;
            let mut at = i64::MIN;
            for i in self.range(c) {
                if next == s {
                    break;
                }
                let mut stage = by_activity[self.activity[i] as usize];
                let tp = self.touchpoint[i];
                if stage != next as u32 && tp != NONE && by_touchpoint[tp as usize] == next as u32 {
                    stage = next as u32;
                }
                if stage == next as u32 && self.time[i] >= at {
                    if next > 0 {
                        gap(next, self.time[i] - at);
                    }
                    at = self.time[i];
                    reached[next] += 1;
                    next += 1;
                }
            }
        }
        reached
    }

    /// The journey's funnel. A case reaches stage 0 at its first event of stage 0, and stage i + 1 at its first
    /// event of stage i + 1 at or after the time it reached stage i; a case that never reaches a stage stops there.
    /// Time between stages is from reaching one to reaching the next. The definition should be validated first
    /// ([`JourneyDefinition::validate`]); an activity or touchpoint the log does not hold matches nothing.
    pub fn funnel(&self, journey: &JourneyDefinition) -> Funnel {
        let mut gaps: Vec<Vec<i64>> = vec![Vec::new(); journey.stages.len()];
        let reached = self.funnel_walk(journey, |k, d| gaps[k].push(d));
        let stages = journey
            .stages
            .iter()
            .enumerate()
            .map(|(k, st)| FunnelStage {
                name: st.name.clone(),
                cases: reached[k],
                dropped: if k == 0 {
                    0
                } else {
                    reached[k - 1] - reached[k]
                },
                conversion: (k > 0 && reached[k - 1] > 0)
                    .then(|| reached[k] as f64 / reached[k - 1] as f64),
                time_from_previous: (k > 0).then(|| durations(&mut gaps[k])),
            })
            .collect();
        Funnel {
            journey: journey.name.clone(),
            stages,
        }
    }
}

/// Flow nodes by (position, activity) and links by (position, from, to), every activity by name.
type RawNodes = HashMap<(usize, String), u64>;
type RawLinks = HashMap<(usize, String, String), u64>;

/// [`Flows`] from raw counts: in each position the `top` most frequent activities (ties by name) keep their name,
/// the rest are pooled as None.
fn pool_flows(depth: usize, cases: u64, nodes: RawNodes, links: RawLinks, top: usize) -> Flows {
    let depth = depth.max(1);
    let mut by_position: Vec<Vec<(&str, u64)>> = vec![Vec::new(); depth];
    for ((k, a), n) in &nodes {
        if *k < depth {
            by_position[*k].push((a.as_str(), *n));
        }
    }
    let keep: Vec<std::collections::HashSet<String>> = by_position
        .into_iter()
        .map(|mut v| {
            v.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(y.0)));
            v.into_iter()
                .take(top)
                .map(|(a, _)| a.to_string())
                .collect()
        })
        .collect();
    let label = |k: usize, a: String| keep[k].contains(&a).then_some(a);
    let mut pooled_nodes: HashMap<(usize, Option<String>), u64> = HashMap::new();
    for ((k, a), n) in nodes {
        if k < depth {
            *pooled_nodes.entry((k, label(k, a))).or_default() += n;
        }
    }
    let mut pooled_links: HashMap<(usize, Option<String>, Option<String>), u64> = HashMap::new();
    for ((k, a, b), n) in links {
        if k + 1 < depth {
            *pooled_links
                .entry((k, label(k, a), label(k + 1, b)))
                .or_default() += n;
        }
    }
    let mut nodes: Vec<FlowNode> = pooled_nodes
        .into_iter()
        .map(|((position, activity), cases)| FlowNode {
            position,
            activity,
            cases,
        })
        .collect();
    // By position, then most frequent first, "other" last.
    nodes.sort_by(|x, y| {
        x.position
            .cmp(&y.position)
            .then(x.activity.is_none().cmp(&y.activity.is_none()))
            .then(y.cases.cmp(&x.cases))
            .then_with(|| x.activity.cmp(&y.activity))
    });
    let mut links: Vec<FlowLink> = pooled_links
        .into_iter()
        .map(|((position, from, to), cases)| FlowLink {
            position,
            from,
            to,
            cases,
        })
        .collect();
    links.sort_by(|x, y| {
        x.position
            .cmp(&y.position)
            .then(y.cases.cmp(&x.cases))
            .then_with(|| x.from.cmp(&y.from))
            .then_with(|| x.to.cmp(&y.to))
    });
    Flows {
        depth,
        cases,
        nodes,
        links,
    }
}

/// The exact median (mean of the two middle values for an even count); reorders v. v is not empty.
fn median(v: &mut [i64]) -> f64 {
    quantile(v, 0.5).expect("a pair counted at least once")
}

/// Durations for a median and a 90th percentile in bounded memory: exact (as [`EventLog`] computes them) up to
/// [`DurationSketch::EXACT`] values, then in logarithmic buckets with 1% relative accuracy (DDSketch: Masson,
/// Rim and Lee, "DDSketch: a fast and fully-mergeable quantile sketch with relative-error guarantees", VLDB 2019),
/// at most a few thousand buckets from a millisecond to a century. Mergeable: sketches of disjoint sets of
/// durations add up to the sketch of their union.
#[derive(Debug, Clone, Default)]
pub struct DurationSketch {
    exact: Vec<i64>,
    /// Bucket i holds durations in (γ^(i-1), γ^i] ms; zero is counted apart.
    buckets: HashMap<i32, u64>,
    zeros: u64,
    n: u64,
    spilled: bool,
}

impl DurationSketch {
    /// Values kept exactly before the sketch switches to buckets.
    pub const EXACT: usize = 1_000;
    /// The buckets' relative accuracy.
    pub const ALPHA: f64 = 0.01;

    fn gamma() -> f64 {
        (1.0 + Self::ALPHA) / (1.0 - Self::ALPHA)
    }

    fn bucket(&mut self, ms: i64) {
        if ms <= 0 {
            self.zeros += 1;
        } else {
            let i = ((ms as f64).ln() / Self::gamma().ln()).ceil() as i32;
            *self.buckets.entry(i).or_default() += 1;
        }
    }

    fn spill(&mut self) {
        self.spilled = true;
        for v in std::mem::take(&mut self.exact) {
            self.bucket(v);
        }
    }

    /// Adds one duration (ms; negative counts as 0).
    pub fn add(&mut self, ms: i64) {
        let ms = ms.max(0);
        self.n += 1;
        if self.spilled {
            self.bucket(ms);
        } else {
            self.exact.push(ms);
            if self.exact.len() > Self::EXACT {
                self.spill();
            }
        }
    }

    /// Adds every duration of `other`.
    pub fn merge(&mut self, other: &DurationSketch) {
        if !self.spilled && !other.spilled && self.exact.len() + other.exact.len() <= Self::EXACT {
            self.exact.extend_from_slice(&other.exact);
            self.n += other.n;
            return;
        }
        if !self.spilled {
            self.spill();
        }
        for &v in &other.exact {
            self.bucket(v);
        }
        for (&i, &c) in &other.buckets {
            *self.buckets.entry(i).or_default() += c;
        }
        self.zeros += other.zeros;
        self.n += other.n;
    }

    /// The q-quantile (0 ≤ q ≤ 1), ms: exact while the values are few, else the representative of the bucket
    /// holding the value of rank ⌊q (n − 1)⌋ (within 1% of it). None when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        if !self.spilled {
            return quantile(&mut self.exact.clone(), q);
        }
        let rank = ((self.n - 1) as f64 * q).floor() as u64;
        if rank < self.zeros {
            return Some(0.0);
        }
        let mut seen = self.zeros;
        let mut keys: Vec<&i32> = self.buckets.keys().collect();
        keys.sort();
        let g = Self::gamma();
        for i in keys {
            seen += self.buckets[i];
            if seen > rank {
                return Some(2.0 * g.powi(*i) / (g + 1.0));
            }
        }
        None
    }

    /// How many durations, their median and 90th percentile.
    pub fn durations(&self) -> Durations {
        Durations {
            n: self.n,
            median_ms: self.quantile(0.5),
            p90_ms: self.quantile(0.9),
        }
    }
}

/// Everything a journey page shows, accumulated by [`JourneyAccumulator`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyFigures {
    /// Events read.
    pub events: u64,
    /// Cases (people).
    pub cases: u64,
    /// As [`EventLog::starts`].
    pub starts: Vec<Start>,
    /// As [`EventLog::funnel`].
    pub funnel: Funnel,
    /// As [`EventLog::directly_follows`] (medians as [`DurationSketch::quantile`]).
    pub dfg: Dfg,
    /// As [`EventLog::variants`].
    pub variants: Variants,
    /// As [`EventLog::channel_switching`].
    pub switching: ChannelSwitching,
    /// As [`EventLog::rework`].
    pub rework: Vec<Rework>,
    /// As [`EventLog::repeat_contacts`].
    pub repeat_contacts: RepeatContacts,
    /// As [`EventLog::flows`].
    pub flows: Flows,
}

/// A journey's figures over a log too large to hold: feed it [`EventLog`]s of disjoint sets of cases (chunks of
/// a stream in case order, every case whole in one chunk) with [`JourneyAccumulator::add`], and
/// [`JourneyAccumulator::finish`]. Memory is the chunk plus what the figures need (the distinct variants, the
/// activity pairs with a [`DurationSketch`] each), not the log. Every count equals the one [`EventLog`] gives over
/// the whole log, in the same order; medians and 90th percentiles are exact up to [`DurationSketch::EXACT`]
/// values and within 1% beyond.
#[derive(Debug, Clone)]
pub struct JourneyAccumulator {
    journey: JourneyDefinition,
    contacts: Vec<String>,
    buckets: usize,
    depth: usize,
    events: u64,
    cases: u64,
    starts: HashMap<Place, u64>,
    edges: HashMap<(String, String), (u64, i128, DurationSketch)>,
    start_activities: HashMap<String, u64>,
    end_activities: HashMap<String, u64>,
    variants: HashMap<Vec<String>, u64>,
    switching: (u64, u64, u64, HashMap<(String, String), u64>),
    rework: HashMap<String, [u64; 4]>,
    repeat: RepeatContacts,
    reached: Vec<u64>,
    gaps: Vec<DurationSketch>,
    nodes: RawNodes,
    links: RawLinks,
}

/// A journey's first (channel, touchpoint).
type Place = (Option<String>, Option<String>);

fn add_to<K: std::hash::Hash + Eq>(m: &mut HashMap<K, u64>, k: K, n: u64) {
    *m.entry(k).or_default() += n;
}

impl JourneyAccumulator {
    /// For `journey`, with repeat contacts over `contact_activities` in `buckets` buckets and flows `depth` deep.
    pub fn new(
        journey: &JourneyDefinition,
        contact_activities: &[&str],
        buckets: usize,
        depth: usize,
    ) -> Self {
        let buckets = buckets.max(1);
        JourneyAccumulator {
            journey: journey.clone(),
            contacts: contact_activities.iter().map(|s| s.to_string()).collect(),
            buckets,
            depth: depth.max(1),
            events: 0,
            cases: 0,
            starts: HashMap::new(),
            edges: HashMap::new(),
            start_activities: HashMap::new(),
            end_activities: HashMap::new(),
            variants: HashMap::new(),
            switching: (0, 0, 0, HashMap::new()),
            rework: HashMap::new(),
            repeat: RepeatContacts {
                cases_with_contact: 0,
                cases_with_repeat: 0,
                contacts: 0,
                per_case: vec![0; buckets],
            },
            reached: vec![0; journey.stages.len()],
            gaps: vec![DurationSketch::default(); journey.stages.len()],
            nodes: HashMap::new(),
            links: HashMap::new(),
        }
    }

    /// Adds a log whose cases are in no log added before.
    pub fn add(&mut self, log: &EventLog) {
        self.events += log.len() as u64;
        self.cases += log.case_count() as u64;
        for s in log.starts() {
            add_to(&mut self.starts, (s.channel, s.touchpoint), s.cases);
        }
        for c in 0..log.cases.len() {
            let r = log.range(c);
            for i in r.start..r.end.saturating_sub(1) {
                let key = (
                    log.activities[log.activity[i] as usize].clone(),
                    log.activities[log.activity[i + 1] as usize].clone(),
                );
                let d = log.time[i + 1] - log.time[i];
                let e = self.edges.entry(key).or_default();
                e.0 += 1;
                e.1 += d as i128;
                e.2.add(d);
            }
        }
        let dfg = log.directly_follows();
        for (a, n) in dfg.start_activities {
            add_to(&mut self.start_activities, a, n);
        }
        for (a, n) in dfg.end_activities {
            add_to(&mut self.end_activities, a, n);
        }
        for v in log.variants(usize::MAX).top {
            add_to(&mut self.variants, v.activities, v.cases);
        }
        let sw = log.channel_switching();
        self.switching.0 += sw.cases;
        self.switching.1 += sw.cases_switching;
        self.switching.2 += sw.switches;
        for (a, b, n) in sw.pairs {
            add_to(&mut self.switching.3, (a, b), n);
        }
        for r in log.rework() {
            let e = self.rework.entry(r.activity).or_default();
            e[0] += r.cases;
            e[1] += r.cases_with_rework;
            e[2] += r.repeats;
            e[3] += r.self_loops;
        }
        let contacts: Vec<&str> = self.contacts.iter().map(String::as_str).collect();
        let rc = log.repeat_contacts(&contacts, self.buckets);
        self.repeat.cases_with_contact += rc.cases_with_contact;
        self.repeat.cases_with_repeat += rc.cases_with_repeat;
        self.repeat.contacts += rc.contacts;
        for (k, n) in rc.per_case.into_iter().enumerate() {
            self.repeat.per_case[k] += n;
        }
        let gaps = &mut self.gaps;
        let reached = log.funnel_walk(&self.journey, |k, d| gaps[k].add(d));
        for (k, n) in reached.into_iter().enumerate() {
            self.reached[k] += n;
        }
        let (nodes, links) = log.raw_flows(self.depth);
        for (k, n) in nodes {
            add_to(&mut self.nodes, k, n);
        }
        for (k, n) in links {
            add_to(&mut self.links, k, n);
        }
    }

    /// The figures, with the `top_variants` most frequent variants and `flow_top` activities named per position.
    pub fn finish(self, top_variants: usize, flow_top: usize) -> JourneyFigures {
        let sorted = |m: HashMap<String, u64>| {
            let mut v: Vec<(String, u64)> = m.into_iter().collect();
            most_frequent_first(&mut v);
            v
        };
        let mut starts: Vec<(Place, u64)> = self.starts.into_iter().collect();
        most_frequent_first(&mut starts);
        let mut edges: Vec<Edge> = self
            .edges
            .into_iter()
            .map(|((from, to), (count, sum, sketch))| Edge {
                from,
                to,
                count,
                mean_ms: sum as f64 / count as f64,
                median_ms: sketch.quantile(0.5).unwrap_or(0.0),
            })
            .collect();
        edges.sort_by(|x, y| {
            y.count
                .cmp(&x.count)
                .then_with(|| (&x.from, &x.to).cmp(&(&y.from, &y.to)))
        });
        let mut variants: Vec<(Vec<String>, u64)> = self.variants.into_iter().collect();
        most_frequent_first(&mut variants);
        let rest = variants.split_off(top_variants.min(variants.len()));
        let mut pairs: Vec<((String, String), u64)> = self.switching.3.into_iter().collect();
        most_frequent_first(&mut pairs);
        let mut rework: Vec<Rework> = self
            .rework
            .into_iter()
            .map(|(activity, [cases, again, repeats, loops])| Rework {
                activity,
                cases,
                cases_with_rework: again,
                repeats,
                self_loops: loops,
            })
            .collect();
        rework.sort_by(|x, y| {
            y.cases_with_rework
                .cmp(&x.cases_with_rework)
                .then_with(|| x.activity.cmp(&y.activity))
        });
        let reached = &self.reached;
        let stages = self
            .journey
            .stages
            .iter()
            .enumerate()
            .map(|(k, st)| FunnelStage {
                name: st.name.clone(),
                cases: reached[k],
                dropped: if k == 0 {
                    0
                } else {
                    reached[k - 1] - reached[k]
                },
                conversion: (k > 0 && reached[k - 1] > 0)
                    .then(|| reached[k] as f64 / reached[k - 1] as f64),
                time_from_previous: (k > 0).then(|| self.gaps[k].durations()),
            })
            .collect();
        JourneyFigures {
            events: self.events,
            cases: self.cases,
            starts: starts
                .into_iter()
                .map(|((channel, touchpoint), cases)| Start {
                    channel,
                    touchpoint,
                    cases,
                })
                .collect(),
            funnel: Funnel {
                journey: self.journey.name.clone(),
                stages,
            },
            dfg: Dfg {
                edges,
                start_activities: sorted(self.start_activities),
                end_activities: sorted(self.end_activities),
            },
            variants: Variants {
                top: variants
                    .into_iter()
                    .map(|(activities, cases)| Variant { activities, cases })
                    .collect(),
                other_variants: rest.len() as u64,
                other_cases: rest.iter().map(|r| r.1).sum(),
                total_cases: self.cases,
            },
            switching: ChannelSwitching {
                cases: self.switching.0,
                cases_switching: self.switching.1,
                switches: self.switching.2,
                pairs: pairs.into_iter().map(|((a, b), n)| (a, b, n)).collect(),
            },
            rework,
            repeat_contacts: self.repeat,
            flows: pool_flows(self.depth, self.cases, self.nodes, self.links, flow_top),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    /// Three people: p1 applies on the web, calls twice, is asked again and decided; p2 calls then applies;
    /// p3 only starts.
    fn sample() -> EventLog {
        let mut b = EventLogBuilder::new();
        // Pushed out of order on purpose: the builder sorts by (case, time).
        b.push(
            "p1",
            "application_submitted",
            2 * H,
            Some("website"),
            Some("apply"),
        );
        b.push(
            "p1",
            "application_started",
            0,
            Some("website"),
            Some("apply"),
        );
        b.push("p1", "call", 5 * H, Some("phone"), Some("helpline"));
        b.push("p1", "call", 6 * H, Some("phone"), Some("helpline"));
        b.push("p1", "information_asked_again", 7 * H, Some("phone"), None);
        b.push("p1", "application_decided", 30 * H, None, None);
        b.push("p2", "call", 0, Some("phone"), Some("helpline"));
        b.push(
            "p2",
            "application_started",
            H,
            Some("website"),
            Some("apply"),
        );
        b.push(
            "p2",
            "application_submitted",
            5 * H,
            Some("website"),
            Some("apply"),
        );
        b.push(
            "p3",
            "application_started",
            0,
            Some("website"),
            Some("apply"),
        );
        b.build()
    }

    fn edge<'a>(d: &'a Dfg, from: &str, to: &str) -> &'a Edge {
        d.edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .unwrap_or_else(|| panic!("no edge {from} -> {to}"))
    }

    #[test]
    fn traces_are_sorted_by_time() {
        let log = sample();
        let t = log.trace("p1").unwrap();
        let acts: Vec<_> = t.iter().map(|s| s.activity).collect();
        assert_eq!(
            acts,
            [
                "application_started",
                "application_submitted",
                "call",
                "call",
                "information_asked_again",
                "application_decided"
            ]
        );
        assert_eq!(log.len(), 10);
        assert_eq!(log.case_count(), 3);
        assert!(log.trace("nobody").is_none());
    }

    #[test]
    fn ties_keep_the_order_pushed() {
        let mut b = EventLogBuilder::new();
        b.push("c", "b", 5, None, None);
        b.push("c", "a", 5, None, None);
        b.push("c", "c", 1, None, None);
        let log = b.build();
        let acts: Vec<_> = log.trace("c").unwrap().iter().map(|s| s.activity).collect();
        assert_eq!(acts, ["c", "b", "a"]);
    }

    #[test]
    fn dfg_counts_durations_starts_and_ends() {
        let d = sample().directly_follows();
        // 5 + 2 + 0 pairs.
        assert_eq!(d.edges.iter().map(|e| e.count).sum::<u64>(), 7);
        let e = edge(&d, "application_started", "application_submitted");
        assert_eq!(e.count, 2);
        // p1: 2 h; p2: 4 h.
        assert_eq!(e.mean_ms, 3.0 * H as f64);
        assert_eq!(e.median_ms, 3.0 * H as f64);
        let e = edge(&d, "call", "call");
        assert_eq!((e.count, e.mean_ms), (1, H as f64));
        let e = edge(&d, "application_submitted", "call");
        assert_eq!((e.count, e.median_ms), (1, 3.0 * H as f64));
        assert_eq!(edge(&d, "call", "application_started").count, 1);
        assert_eq!(
            edge(&d, "information_asked_again", "application_decided").mean_ms,
            23.0 * H as f64
        );
        // Most frequent first.
        assert_eq!(d.edges[0].count, 2);
        assert_eq!(
            d.start_activities,
            vec![
                ("application_started".to_string(), 2),
                ("call".to_string(), 1)
            ]
        );
        let mut ends = d.end_activities.clone();
        ends.sort();
        assert_eq!(
            ends,
            vec![
                ("application_decided".to_string(), 1),
                ("application_started".to_string(), 1),
                ("application_submitted".to_string(), 1)
            ]
        );
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let mut b = EventLogBuilder::new();
        for (c, gap) in [("a", 1), ("b", 2), ("c", 10), ("d", 100)] {
            b.push(c, "x", 0, None, None);
            b.push(c, "y", gap, None, None);
        }
        let d = b.build().directly_follows();
        assert_eq!(d.edges.len(), 1);
        assert_eq!(d.edges[0].median_ms, 6.0);
        assert_eq!(d.edges[0].mean_ms, 28.25);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.percentile([1, 2, 3, 4, 10], 90) = 7.6; median 3.
        let mut v = vec![10, 3, 1, 4, 2];
        assert!((quantile(&mut v, 0.9).unwrap() - 7.6).abs() < 1e-9);
        assert_eq!(quantile(&mut v, 0.5), Some(3.0));
        assert_eq!(quantile(&mut [7], 0.9), Some(7.0));
        assert_eq!(quantile(&mut [], 0.9), None);
    }

    #[test]
    fn variants_top_and_other() {
        let mut b = EventLogBuilder::new();
        for i in 0..5 {
            b.push(&format!("a{i}"), "start", 0, None, None);
            b.push(&format!("a{i}"), "end", 1, None, None);
        }
        for i in 0..3 {
            b.push(&format!("b{i}"), "start", 0, None, None);
            b.push(&format!("b{i}"), "call", 1, None, None);
            b.push(&format!("b{i}"), "end", 2, None, None);
        }
        b.push("c", "call", 0, None, None);
        b.push("d", "end", 0, None, None);
        let v = b.build().variants(2);
        assert_eq!(v.total_cases, 10);
        assert_eq!(v.top.len(), 2);
        assert_eq!(v.top[0].activities, ["start", "end"]);
        assert_eq!(v.top[0].cases, 5);
        assert_eq!(v.top[1].activities, ["start", "call", "end"]);
        assert_eq!(v.top[1].cases, 3);
        assert_eq!((v.other_variants, v.other_cases), (2, 2));
        let all = sample().variants(100);
        assert_eq!(all.top.len(), 3);
        assert_eq!(all.other_cases, 0);
    }

    #[test]
    fn starts_by_first_channel_and_touchpoint() {
        let s = sample().starts();
        assert_eq!(
            s[0],
            Start {
                channel: Some("website".into()),
                touchpoint: Some("apply".into()),
                cases: 2
            }
        );
        assert_eq!(s[1].channel.as_deref(), Some("phone"));
        assert_eq!(s[1].cases, 1);
    }

    #[test]
    fn channel_switching_skips_unknown_channels() {
        let s = sample().channel_switching();
        // p1: web, web, phone, phone, phone, (none): one switch. p2: phone -> web: one. p3: one event only.
        assert_eq!(s.cases, 2);
        assert_eq!(s.cases_switching, 2);
        assert_eq!(s.switches, 2);
        let mut pairs = s.pairs.clone();
        pairs.sort();
        assert_eq!(
            pairs,
            vec![
                ("phone".to_string(), "website".to_string(), 1),
                ("website".to_string(), "phone".to_string(), 1)
            ]
        );
    }

    #[test]
    fn rework_and_repeat_contacts() {
        let mut b = EventLogBuilder::new();
        for (t, a) in [
            (0, "call"),
            (1, "information_asked_again"),
            (2, "call"),
            (3, "call"),
        ] {
            b.push("p", a, t, Some("phone"), None);
        }
        b.push("q", "call", 0, Some("phone"), None);
        b.push("q", "office_visit", 1, Some("in_person"), None);
        b.push("r", "application_started", 0, None, None);
        let log = b.build();
        let r = log.rework();
        let call = r.iter().find(|x| x.activity == "call").unwrap();
        assert_eq!(
            (
                call.cases,
                call.cases_with_rework,
                call.repeats,
                call.self_loops
            ),
            (2, 1, 2, 1)
        );
        let asked = r
            .iter()
            .find(|x| x.activity == "information_asked_again")
            .unwrap();
        assert_eq!((asked.cases, asked.cases_with_rework), (1, 0));
        assert_eq!(r[0].activity, "call");
        let rc = log.repeat_contacts(&["call", "chat", "office_visit"], 3);
        assert_eq!(rc.cases_with_contact, 2);
        assert_eq!(rc.cases_with_repeat, 2);
        assert_eq!(rc.contacts, 5);
        // q: 2 contacts; p: 3 (the last bucket, 3 or more).
        assert_eq!(rc.per_case, vec![0, 1, 1]);
    }

    fn journey() -> JourneyDefinition {
        JourneyDefinition::from_json(
            r#"{"name": "Apply", "stages": [
                {"name": "Started", "activities": ["application_started"]},
                {"name": "Submitted", "activities": ["application_submitted"]},
                {"name": "Decided", "activities": ["application_decided"], "touchpoints": ["decision-letter"]}
            ]}"#,
        )
        .unwrap()
    }

    #[test]
    fn funnel_with_drop_off_and_time_between_stages() {
        let f = sample().funnel(&journey());
        let cases: Vec<u64> = f.stages.iter().map(|s| s.cases).collect();
        assert_eq!(cases, [3, 2, 1]);
        let dropped: Vec<u64> = f.stages.iter().map(|s| s.dropped).collect();
        assert_eq!(dropped, [0, 1, 1]);
        assert_eq!(f.stages[1].conversion, Some(2.0 / 3.0));
        assert!(f.stages[0].time_from_previous.is_none());
        let t = f.stages[1].time_from_previous.unwrap();
        // Started -> submitted: p1 2 h, p2 4 h.
        assert_eq!(t.n, 2);
        assert_eq!(t.median_ms, Some(3.0 * H as f64));
        assert_eq!(t.p90_ms, Some(3.8 * H as f64));
        let t = f.stages[2].time_from_previous.unwrap();
        assert_eq!((t.n, t.median_ms), (1, Some(28.0 * H as f64)));
    }

    #[test]
    fn funnel_needs_stages_in_order_and_takes_touchpoints() {
        let mut b = EventLogBuilder::new();
        // Submitted before started: reaches "Started" at 5, never "Submitted" after it.
        b.push("x", "application_submitted", 0, None, None);
        b.push("x", "application_started", 5, None, None);
        // Decided by a touchpoint.
        b.push("y", "application_started", 0, None, None);
        b.push("y", "application_submitted", 1, None, None);
        b.push("y", "letter_sent", 9, None, Some("decision-letter"));
        let f = b.build().funnel(&journey());
        let cases: Vec<u64> = f.stages.iter().map(|s| s.cases).collect();
        assert_eq!(cases, [2, 1, 1]);
        assert_eq!(f.stages[2].time_from_previous.unwrap().median_ms, Some(8.0));
    }

    #[test]
    fn definitions_are_validated_naming_the_field() {
        let e = JourneyDefinition::from_json(r#"{"name": "", "stages": []}"#).unwrap_err();
        assert_eq!(e.field, "name");
        let e = JourneyDefinition::from_json(r#"{"name": "J", "stages": []}"#).unwrap_err();
        assert_eq!(e.field, "stages");
        let e = JourneyDefinition::from_json(
            r#"{"name": "J", "stages": [{"name": "A", "activities": ["x"]}, {"name": "A", "activities": ["y"]}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field, "stages[1].name");
        let e = JourneyDefinition::from_json(r#"{"name": "J", "stages": [{"name": "A"}]}"#)
            .unwrap_err();
        assert_eq!(e.field, "stages[0]");
        let e = JourneyDefinition::from_json(
            r#"{"name": "J", "stages": [{"name": "A", "activities": ["x"]}, {"name": "B", "activities": ["y", "x"]}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field, "stages[1].activities[1]");
        assert!(e.to_string().contains("stages[0]"), "{e}");
        let e = JourneyDefinition::from_json(
            r#"{"name": "J", "stages": [{"name": "A", "activity": ["x"]}]}"#,
        )
        .unwrap_err();
        assert!(e.reason.contains("unknown field"), "{e}");
        let e = JourneyDefinition::from_json(
            r#"{"name": "J", "stages": [{"name": "A", "touchpoints": [" "]}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field, "stages[0].touchpoints[0]");
    }

    #[test]
    fn flows_by_position_pool_the_rare_activities() {
        let f = sample().flows(3, 1);
        assert_eq!(f.cases, 3);
        // Position 0: application_started ×2 (kept), call ×1 (other).
        let at0: Vec<_> = f
            .nodes
            .iter()
            .filter(|n| n.position == 0)
            .map(|n| (n.activity.as_deref(), n.cases))
            .collect();
        assert_eq!(at0, [(Some("application_started"), 2), (None, 1)]);
        // Position 1: application_submitted (p1), application_started (p2): a tie, the first by name is kept.
        let link = |from: Option<&str>, to: Option<&str>| {
            f.links
                .iter()
                .find(|l| l.position == 0 && l.from.as_deref() == from && l.to.as_deref() == to)
                .map(|l| l.cases)
        };
        assert_eq!(link(Some("application_started"), None), Some(1));
        assert_eq!(link(None, Some("application_started")), Some(1));
        // p3 has one event: no link from it. Each position's nodes add up to the traces that reach it.
        let total = |k: usize| {
            f.nodes
                .iter()
                .filter(|n| n.position == k)
                .map(|n| n.cases)
                .sum::<u64>()
        };
        assert_eq!((total(0), total(1), total(2)), (3, 2, 2));
        let from0: u64 = f
            .links
            .iter()
            .filter(|l| l.position == 0)
            .map(|l| l.cases)
            .sum();
        assert_eq!(from0, 2);
    }

    /// (case, activity, time, channel, touchpoint).
    type Row = (
        String,
        &'static str,
        i64,
        Option<&'static str>,
        Option<&'static str>,
    );

    /// A log of `n` cases with varied traces, pushed case by case.
    fn generated(n: usize, seed: u64) -> Vec<Row> {
        let acts = [
            "application_started",
            "call",
            "application_submitted",
            "information_asked_again",
            "application_decided",
            "office_visit",
        ];
        let chans = [Some("website"), Some("phone"), None, Some("in_person")];
        let mut x = seed;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as usize
        };
        let mut out = Vec::new();
        for c in 0..n {
            let len = 1 + next() % 7;
            let mut t = (next() % 1000) as i64;
            for _ in 0..len {
                t += (next() % 5000) as i64;
                out.push((
                    format!("c{c}"),
                    acts[next() % acts.len()],
                    t,
                    chans[next() % chans.len()],
                    Some("tp"),
                ));
            }
        }
        out
    }

    #[test]
    fn the_accumulator_over_chunks_equals_the_whole_log() {
        let rows = generated(3000, 7);
        let build = |rows: &[Row]| {
            let mut b = EventLogBuilder::new();
            for (c, a, t, ch, tp) in rows {
                b.push(c, a, *t, *ch, *tp);
            }
            b.build()
        };
        let whole = build(&rows);
        let j = journey();
        let contacts = ["call", "office_visit"];
        let mut acc = JourneyAccumulator::new(&j, &contacts, 3, 4);
        // Chunks at case boundaries, of unequal sizes.
        let mut start = 0;
        for cut in [1000usize, 4000, 4001, rows.len()] {
            let mut end = cut.min(rows.len());
            while end < rows.len() && rows[end].0 == rows[end - 1].0 {
                end += 1;
            }
            if end > start {
                acc.add(&build(&rows[start..end]));
                start = end;
            }
        }
        let f = acc.finish(10, 3);
        assert_eq!(
            (f.events, f.cases),
            (whole.len() as u64, whole.case_count() as u64)
        );
        assert_eq!(f.starts, whole.starts());
        assert_eq!(f.variants, whole.variants(10));
        assert_eq!(f.switching, whole.channel_switching());
        assert_eq!(f.rework, whole.rework());
        assert_eq!(f.repeat_contacts, whole.repeat_contacts(&contacts, 3));
        assert_eq!(f.flows, whole.flows(4, 3));
        let d = whole.directly_follows();
        assert_eq!(f.dfg.start_activities, d.start_activities);
        assert_eq!(f.dfg.end_activities, d.end_activities);
        assert_eq!(f.dfg.edges.len(), d.edges.len());
        for (a, b) in f.dfg.edges.iter().zip(&d.edges) {
            assert_eq!((&a.from, &a.to, a.count), (&b.from, &b.to, b.count));
            assert!((a.mean_ms - b.mean_ms).abs() < 1e-6);
            // More than EXACT durations per pair: within the sketch's accuracy (and a rank's interpolation).
            assert!(
                (a.median_ms - b.median_ms).abs() <= 0.02 * b.median_ms + 1.0,
                "{a:?} {b:?}"
            );
        }
        let fw = whole.funnel(&j);
        for (a, b) in f.funnel.stages.iter().zip(&fw.stages) {
            assert_eq!((a.cases, a.dropped), (b.cases, b.dropped));
            let (x, y) = (a.time_from_previous, b.time_from_previous);
            assert_eq!(x.map(|t| t.n), y.map(|t| t.n));
            if let (Some(x), Some(y)) = (x, y)
                && y.n > 0
            {
                let (m, w) = (x.median_ms.unwrap(), y.median_ms.unwrap());
                assert!((m - w).abs() <= 0.02 * w + 1.0, "{m} {w}");
            }
        }
    }

    #[test]
    fn the_sketch_is_exact_while_small_and_close_beyond() {
        let mut s = DurationSketch::default();
        for v in [10, 3, 1, 4, 2] {
            s.add(v);
        }
        assert!((s.quantile(0.9).unwrap() - 7.6).abs() < 1e-9);
        let mut big = DurationSketch::default();
        let mut other = DurationSketch::default();
        let mut all: Vec<i64> = Vec::new();
        for i in 0..5000i64 {
            let v = (i * 7919) % 100_000 + 1;
            all.push(v);
            if i % 2 == 0 { big.add(v) } else { other.add(v) }
        }
        big.merge(&other);
        let exact = quantile(&mut all, 0.5).unwrap();
        let got = big.quantile(0.5).unwrap();
        assert!((got - exact).abs() <= 0.011 * exact, "{got} {exact}");
        assert_eq!(big.durations().n, 5000);
        assert_eq!(DurationSketch::default().quantile(0.5), None);
    }

    #[test]
    fn an_empty_log_gives_empty_figures() {
        let log = EventLogBuilder::new().build();
        assert!(log.is_empty());
        let d = log.directly_follows();
        assert!(d.edges.is_empty() && d.start_activities.is_empty());
        assert_eq!(log.variants(5).total_cases, 0);
        assert!(log.starts().is_empty());
        assert_eq!(log.channel_switching().switches, 0);
        assert_eq!(log.funnel(&journey()).stages[0].cases, 0);
    }
}
