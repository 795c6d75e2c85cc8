//! `[runtime]`: how the engine runs live — the layout (which stages run on which thread,
//! pinned to which core, waiting how), ring sizes, journaling and feed pacing.
//!
//! The section is optional; without it a run uses [`RuntimeConfig::default`], a layout for
//! a 2-core machine (see `config/default.toml`).

use std::path::PathBuf;

use super::error::Issue;
use crate::runtime::wait::WaitKind;

/// The stages of the trading chain, in chain order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageName {
    /// Books, features, model: [`crate::pipeline::SignalStage`].
    Signal,
    /// Strategy, router, risk, OMS: [`crate::pipeline::OrderStage`].
    Order,
}

impl StageName {
    /// Every stage, in chain order.
    pub const ALL: [StageName; 2] = [StageName::Signal, StageName::Order];

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            StageName::Signal => "signal",
            StageName::Order => "order",
        }
    }
}

/// What a thread of the layout does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadRole {
    /// The feed and order gateway: market data in, the Sequencer, order requests out; with
    /// [`RuntimeConfig::inline_chain`] it also runs the whole chain, inline.
    Feed,
    /// A run of consecutive stages of the chain, fused into direct calls.
    Stages(Vec<StageName>),
    /// The journaler: writes every input and every output to the journal.
    Journal,
}

/// One thread of the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSpec {
    /// Its name (thread name, reports).
    pub name: String,
    /// What it runs.
    pub role: ThreadRole,
    /// The core it is pinned to (`core_affinity` index), or `None` to let the OS schedule.
    pub core: Option<usize>,
    /// How it waits when its input ring is empty.
    pub wait: WaitKind,
}

/// When an order request may leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendDurability {
    /// As soon as the chain emitted it (the journaler catches up in parallel).
    Immediate,
    /// Only once the journaler has written it (and so its cause, written earlier).
    BeforeSend,
}

impl SendDurability {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::BeforeSend => "before-send",
        }
    }
}

/// How fast the feed runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pace {
    /// Event time follows the wall clock, as in a live session.
    Realtime,
    /// As fast as the pipeline takes it.
    Max,
}

impl Pace {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Realtime => "realtime",
            Self::Max => "max",
        }
    }
}

/// `[runtime]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// The threads, in file order; exactly one feed and one journal thread, and either
    /// stage threads that cover the chain's stages once each, in order, or none (then the
    /// feed thread runs the chain: [`RuntimeConfig::inline_chain`]).
    pub threads: Vec<ThreadSpec>,
    /// The feed thread runs the whole chain inline (`stages = ["signal", "order"]` on the
    /// feed thread): it stamps an input, calls the fused chain and sends its order requests
    /// itself, with no ring between the Sequencer and the stages. Inputs and outputs still
    /// go to the journaler by ring. `false`: stage threads run the chain.
    pub inline_chain: bool,
    /// Slots of the input ring (Sequencer → stages, journaler); a power of two.
    pub input_ring: usize,
    /// Slots of each ring between stage threads and of the output ring; a power of two.
    pub output_ring: usize,
    /// When order requests may leave.
    pub durability: SendDurability,
    /// Journal directory for the run (relative to the working directory).
    pub journal_dir: PathBuf,
    /// Journal segment size in MiB.
    pub journal_segment_mib: u64,
    /// Conflate L1 quotes per instrument when the input ring is full (counted); otherwise
    /// the feed waits for room. Other inputs are never conflated or dropped.
    pub conflate_quotes: bool,
    /// Feed pacing.
    pub pace: Pace,
    /// Live progress line interval in milliseconds (0: none).
    pub progress_interval_ms: u64,
    /// A snapshot of the engine state every this many inputs, written by a cold thread
    /// that follows the input journal with its own chain, and one when the run stops (0:
    /// no snapshot thread, no snapshots).
    pub snapshot_every_inputs: u64,
}

impl Default for RuntimeConfig {
    /// Three threads for a 2-core machine: the feed and the journaler share core 0, the
    /// fused chain has core 1; everyone yields when idle.
    fn default() -> Self {
        Self {
            threads: vec![
                ThreadSpec {
                    name: "feed".into(),
                    role: ThreadRole::Feed,
                    core: Some(0),
                    wait: WaitKind::Yield,
                },
                ThreadSpec {
                    name: "chain".into(),
                    role: ThreadRole::Stages(StageName::ALL.to_vec()),
                    core: Some(1),
                    wait: WaitKind::Yield,
                },
                ThreadSpec {
                    name: "journal".into(),
                    role: ThreadRole::Journal,
                    core: Some(0),
                    wait: WaitKind::Yield,
                },
            ],
            inline_chain: false,
            input_ring: 1 << 16,
            output_ring: 1 << 16,
            durability: SendDurability::Immediate,
            journal_dir: PathBuf::from("data"),
            journal_segment_mib: 16,
            conflate_quotes: true,
            pace: Pace::Realtime,
            progress_interval_ms: 1000,
            snapshot_every_inputs: 1_000_000,
        }
    }
}

impl RuntimeConfig {
    /// The stage threads, in chain order.
    pub fn stage_threads(&self) -> impl Iterator<Item = (&ThreadSpec, &[StageName])> {
        self.threads.iter().filter_map(|t| match &t.role {
            ThreadRole::Stages(s) => Some((t, s.as_slice())),
            _ => None,
        })
    }

    /// The thread of `role` (feed or journal).
    pub fn thread(&self, role: &ThreadRole) -> Option<&ThreadSpec> {
        self.threads.iter().find(|t| &t.role == role)
    }

    /// A one-line description, for the run manifest:
    /// `feed=feed@0/yield chain=[signal,order]@1/yield journal=journal@0/yield`; a feed
    /// thread running the chain inline shows as `feed=feed+[signal,order]@0/busy-spin`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for t in &self.threads {
            let what = match &t.role {
                ThreadRole::Feed if self.inline_chain => {
                    format!("feed+[{}]", StageName::ALL.map(StageName::name).join(","))
                }
                ThreadRole::Feed => "feed".to_string(),
                ThreadRole::Journal => "journal".to_string(),
                ThreadRole::Stages(s) => format!(
                    "[{}]",
                    s.iter().map(|s| s.name()).collect::<Vec<_>>().join(",")
                ),
            };
            let core = t.core.map_or_else(|| "any".to_string(), |c| c.to_string());
            parts.push(format!("{}={what}@{core}/{}", t.name, t.wait));
        }
        parts.join(" ")
    }
}

/// `[runtime]` as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuntime {
    pub threads: Option<Vec<RawThread>>,
    pub input_ring: Option<u64>,
    pub output_ring: Option<u64>,
    pub durability: Option<SendDurability>,
    pub journal_dir: Option<String>,
    pub journal_segment_mib: Option<u64>,
    pub conflate_quotes: Option<bool>,
    pub pace: Option<Pace>,
    pub progress_interval_ms: Option<u64>,
    pub snapshot_every_inputs: Option<u64>,
}

/// `[[runtime.threads]]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawThread {
    pub name: String,
    pub role: RawRole,
    #[serde(default)]
    pub stages: Vec<StageName>,
    pub core: Option<usize>,
    pub wait: String,
}

/// `[[runtime.threads]] role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawRole {
    Feed,
    Stages,
    Journal,
}

/// Largest ring (slots).
const MAX_RING: u64 = 1 << 24;

fn ring_size(key: &str, v: Option<u64>, default: usize) -> Result<usize, Issue> {
    let Some(v) = v else {
        return Ok(default);
    };
    if !v.is_power_of_two() || !(2..=MAX_RING).contains(&v) {
        return Err(Issue::invalid(
            key,
            format!("must be a power of two in 2..={MAX_RING}, got {v}"),
        ));
    }
    usize::try_from(v).map_err(|_| Issue::invalid(key, "too large for this machine"))
}

pub(crate) fn build_runtime(raw: &RawRuntime) -> Result<RuntimeConfig, Issue> {
    let d = RuntimeConfig::default();
    let (threads, inline_chain) = match &raw.threads {
        None => (d.threads, d.inline_chain),
        Some(list) => build_threads(list)?,
    };
    let segment = raw.journal_segment_mib.unwrap_or(d.journal_segment_mib);
    if !(1..=65_536).contains(&segment) {
        return Err(Issue::invalid(
            "runtime.journal_segment_mib",
            format!("must be in 1..=65536, got {segment}"),
        ));
    }
    let journal_dir = match &raw.journal_dir {
        Some(s) if s.trim().is_empty() => {
            return Err(Issue::invalid("runtime.journal_dir", "must not be empty"))
        }
        Some(s) => PathBuf::from(s),
        None => d.journal_dir,
    };
    Ok(RuntimeConfig {
        threads,
        inline_chain,
        input_ring: ring_size("runtime.input_ring", raw.input_ring, d.input_ring)?,
        output_ring: ring_size("runtime.output_ring", raw.output_ring, d.output_ring)?,
        durability: raw.durability.unwrap_or(d.durability),
        journal_dir,
        journal_segment_mib: segment,
        conflate_quotes: raw.conflate_quotes.unwrap_or(d.conflate_quotes),
        pace: raw.pace.unwrap_or(d.pace),
        progress_interval_ms: raw.progress_interval_ms.unwrap_or(d.progress_interval_ms),
        snapshot_every_inputs: raw.snapshot_every_inputs.unwrap_or(d.snapshot_every_inputs),
    })
}

/// The threads of `[[runtime.threads]]`, and whether the feed thread runs the chain
/// inline. The chain's stages run either on stage threads, each stage once and in chain
/// order, or all of them on the feed thread — never some of each (a stage missing, or run
/// twice).
fn build_threads(list: &[RawThread]) -> Result<(Vec<ThreadSpec>, bool), Issue> {
    // The cores this process may run on (its affinity mask); empty if unknown.
    let cores: Vec<usize> =
        core_affinity::get_core_ids().map_or_else(Vec::new, |c| c.iter().map(|c| c.id).collect());
    let all = StageName::ALL.map(StageName::name);
    let mut out: Vec<ThreadSpec> = Vec::with_capacity(list.len());
    let mut next_stage = 0usize;
    // The index of a feed thread that lists the chain's stages, and of the first stage
    // thread: at most one of the two may exist.
    let mut inline_at: Option<usize> = None;
    let mut first_stages_at: Option<usize> = None;
    for (i, t) in list.iter().enumerate() {
        let key = |k: &str| format!("runtime.threads[{i}].{k}");
        if t.name.trim().is_empty() || out.iter().any(|o| o.name == t.name) {
            return Err(Issue::invalid(
                key("name"),
                format!("must be a non-empty name used once, got {:?}", t.name),
            ));
        }
        let wait: WaitKind = t.wait.parse().map_err(|_| {
            Issue::invalid(
                key("wait"),
                format!(
                    "must be \"busy-spin\", \"yield\" or \"block\", got {:?}",
                    t.wait
                ),
            )
        })?;
        if let Some(c) = t.core {
            if !cores.is_empty() && !cores.contains(&c) {
                let list: Vec<String> = cores.iter().map(ToString::to_string).collect();
                return Err(Issue::invalid(
                    key("core"),
                    format!(
                        "this machine has cores {} for this process, got {c}",
                        list.join(", ")
                    ),
                ));
            }
        }
        let role = match t.role {
            RawRole::Journal if !t.stages.is_empty() => {
                return Err(Issue::invalid(
                    key("stages"),
                    "the journal thread runs no stage (stages run on the feed thread, inline, \
                     or on threads with role = \"stages\")",
                ))
            }
            RawRole::Journal => ThreadRole::Journal,
            RawRole::Feed => {
                if !t.stages.is_empty() {
                    if t.stages != StageName::ALL {
                        return Err(Issue::invalid(
                            key("stages"),
                            format!(
                                "a feed thread runs the whole chain inline or none of it: \
                                 stages = {all:?} (in chain order), or no stages; got {:?}",
                                t.stages.iter().map(|s| s.name()).collect::<Vec<_>>()
                            ),
                        ));
                    }
                    if let Some(k) = first_stages_at {
                        return Err(inline_and_stage_threads(i, k));
                    }
                    inline_at = Some(i);
                }
                ThreadRole::Feed
            }
            RawRole::Stages => {
                if let Some(f) = inline_at {
                    return Err(inline_and_stage_threads(f, i));
                }
                first_stages_at.get_or_insert(i);
                if t.stages.is_empty() {
                    return Err(Issue::invalid(key("stages"), "lists no stage"));
                }
                for s in &t.stages {
                    if StageName::ALL.get(next_stage) != Some(s) {
                        return Err(Issue::invalid(
                            key("stages"),
                            format!(
                                "stages must cover {all:?} once each, in chain order, across \
                                 the stage threads; {:?} is out of place",
                                s.name()
                            ),
                        ));
                    }
                    next_stage += 1;
                }
                ThreadRole::Stages(t.stages.clone())
            }
        };
        if matches!(role, ThreadRole::Feed | ThreadRole::Journal)
            && out.iter().any(|o| o.role == role)
        {
            return Err(Issue::invalid(
                key("role"),
                "only one feed and one journal thread",
            ));
        }
        out.push(ThreadSpec {
            name: t.name.clone(),
            role,
            core: t.core,
            wait,
        });
    }
    if inline_at.is_none() && next_stage != StageName::ALL.len() {
        return Err(Issue::invalid(
            "runtime.threads",
            format!(
                "the stage threads must run every stage of {all:?} (or the feed thread all of \
                 them, inline: stages = {all:?} on the feed thread)"
            ),
        ));
    }
    for (role, name) in [(ThreadRole::Feed, "feed"), (ThreadRole::Journal, "journal")] {
        if !out.iter().any(|o| o.role == role) {
            return Err(Issue::invalid(
                "runtime.threads",
                format!("a thread with role = \"{name}\" is required"),
            ));
        }
    }
    Ok((out, inline_at.is_some()))
}

/// A feed thread running the chain inline (`runtime.threads[feed]`) and a stage thread
/// (`runtime.threads[stages]`) in one layout: the error names the later of the two.
fn inline_and_stage_threads(feed: usize, stages: usize) -> Issue {
    let (at, other) = if feed > stages {
        (
            format!("runtime.threads[{feed}].stages"),
            format!("runtime.threads[{stages}]"),
        )
    } else {
        (
            format!("runtime.threads[{stages}].role"),
            format!("runtime.threads[{feed}]"),
        )
    };
    Issue::invalid(
        at,
        format!(
            "the chain's stages run either all inline on the feed thread or on stage threads, \
             never split: {other} already runs them there"
        ),
    )
}
