//! `--bench-frames N --bench-out FILE`: measures the screen in a real window. Each frame's
//! main-world schedule time (from the first system of `First` to the last of `Last`: every
//! update system and the UI layout, not the render world) is recorded over `N` frames after a
//! warm-up. Every frame is a redraw: the screen's manual clock moves on a second per frame, so
//! every card's timer shows another value (and cards cross their thresholds as the run goes on),
//! and every tenth frame also turns the page, so every card on screen is another ticket.
//! Normally a screen redraws once a second at most. Timer frames and page frames are recorded
//! apart, together with the time from process start until the tickets were restored into the
//! ECS, and the process's resident memory. The figures go to FILE as JSON and the app exits;
//! `kds/benches/frame.rs` runs it and prints the summary.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use serde::Serialize;

use pass_shared::kitchen::keymap::KeyAction;

use crate::kitchen::{Input, Screen};

/// Frames left out at the start (pipelines compiling, fonts rasterised).
const WARM_UP: u32 = 30;
/// Every this many frames the page turns.
const PAGE_EVERY: u32 = 10;

/// What to measure.
#[derive(Resource, Debug, Clone)]
pub struct Bench {
    pub frames: u32,
    pub out: PathBuf,
    /// When the process started.
    pub started: Instant,
    /// An empty window: no kitchen plugins, the baseline for memory and frame time.
    pub empty: bool,
    /// The main world on Bevy's multi-threaded executor (the comparison; see
    /// [`crate::main_world_on_one_thread`]).
    pub multi_threaded: bool,
    /// Rendering pipelined a frame behind the main world (the comparison; see
    /// `kds::window_plugins`).
    pub pipelined: bool,
}

#[derive(Resource, Default)]
struct Record {
    frame_start: Option<Instant>,
    /// The main thread's scheduler times when the frame started.
    sched_start: Option<SchedTimes>,
    seen: u32,
    /// This frame turns the page.
    turning: bool,
    frames_us: Vec<u64>,
    page_frames_us: Vec<u64>,
    frames_sched: Vec<SchedTimes>,
    page_frames_sched: Vec<SchedTimes>,
    restored: Option<Duration>,
    tickets: usize,
}

#[derive(Serialize)]
struct Report {
    empty: bool,
    multi_threaded: bool,
    /// Frames where only the timers moved on.
    frames_us: Vec<u64>,
    /// Frames where the page turned as well.
    page_frames_us: Vec<u64>,
    /// For each frame of `frames_us` and `page_frames_us`: how much of it the main thread spent
    /// on a processor and how much waiting for one (taken by the renderer, the X server or
    /// another program), from Linux's per-thread scheduler statistics. Empty where those are
    /// not kept, and under the multi-threaded executor (the schedule then runs on other threads).
    frames_sched: Vec<SchedTimes>,
    page_frames_sched: Vec<SchedTimes>,
    restored_ms: Option<f64>,
    tickets: usize,
    rss_kib: Option<u64>,
    /// Of the resident memory: anonymous (heap, stacks), file-backed (code and libraries
    /// paged in), shared memory (buffers shared with the X server and the GPU driver).
    rss_anon_kib: Option<u64>,
    rss_file_kib: Option<u64>,
    rss_shmem_kib: Option<u64>,
    /// Text: fonts rasterised at distinct sizes (each has its own glyph atlases), the atlases,
    /// and their bytes in the main world (the GPU holds a copy of each).
    font_sizes: usize,
    font_atlases: usize,
    font_atlas_kib: u64,
    /// Every image in the main world (atlases included), in KiB.
    images_kib: u64,
}

pub fn plugin(app: &mut App) {
    app.init_resource::<Record>()
        .add_systems(First, frame_start)
        .add_systems(Last, frame_end)
        .add_systems(
            Update,
            (restored, next_frame)
                .before(crate::kitchen::Systems)
                .run_if(resource_exists::<Screen>),
        );
}

fn frame_start(mut record: ResMut<Record>) {
    record.sched_start = SchedTimes::now();
    record.frame_start = Some(Instant::now());
}

fn restored(bench: Res<Bench>, screen: Res<Screen>, mut record: ResMut<Record>) {
    if record.restored.is_none() && screen.loaded() {
        record.restored = Some(bench.started.elapsed());
        record.tickets = screen.tickets.len();
    }
}

/// Moves the clock on a second (every timer shows another value) and, every tenth frame, turns
/// the page; a screen without a manual clock is rebuilt as it is.
fn next_frame(
    mut screen: ResMut<Screen>,
    device: Res<crate::kitchen::Device>,
    mut record: ResMut<Record>,
    mut input: MessageWriter<Input>,
) {
    match device.0.manual_clock() {
        Some(clock) => clock.advance(1_000),
        None => {
            let now = device.0.now_ms();
            screen.force_rebuild(now);
        }
    }
    record.turning = record.seen > WARM_UP && record.seen.is_multiple_of(PAGE_EVERY);
    if record.turning {
        input.write(Input::Key(KeyAction::PageNext));
    }
}

fn frame_end(
    bench: Res<Bench>,
    mut record: ResMut<Record>,
    mut exit: MessageWriter<AppExit>,
    atlases: Option<Res<bevy::text::FontAtlasSet>>,
    images: Res<Assets<Image>>,
) {
    let Some(start) = record.frame_start.take() else {
        return;
    };
    record.seen += 1;
    if record.seen <= WARM_UP {
        return;
    }
    let us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    let sched = match (record.sched_start.take(), SchedTimes::now()) {
        (Some(before), Some(after)) if !bench.multi_threaded => Some(after.since(before)),
        _ => None,
    };
    let record = &mut *record;
    let turning = std::mem::take(&mut record.turning);
    let (frames, scheds) = if turning {
        (&mut record.page_frames_us, &mut record.page_frames_sched)
    } else {
        (&mut record.frames_us, &mut record.frames_sched)
    };
    frames.push(us);
    scheds.extend(sched);
    if (record.frames_us.len() + record.page_frames_us.len()) as u32 >= bench.frames {
        let report = Report {
            empty: bench.empty,
            multi_threaded: bench.multi_threaded,
            frames_us: std::mem::take(&mut record.frames_us),
            page_frames_us: std::mem::take(&mut record.page_frames_us),
            frames_sched: std::mem::take(&mut record.frames_sched),
            page_frames_sched: std::mem::take(&mut record.page_frames_sched),
            restored_ms: record.restored.map(|d| d.as_secs_f64() * 1000.0),
            tickets: record.tickets,
            rss_kib: status_kib("VmRSS:"),
            rss_anon_kib: status_kib("RssAnon:"),
            rss_file_kib: status_kib("RssFile:"),
            rss_shmem_kib: status_kib("RssShmem:"),
            font_sizes: atlases.as_ref().map_or(0, |a| a.len()),
            font_atlases: atlases
                .as_ref()
                .map_or(0, |a| a.values().map(Vec::len).sum()),
            font_atlas_kib: atlases
                .as_ref()
                .map_or(0, |a| a.total_bytes(&images) / 1024),
            images_kib: images
                .iter()
                .filter_map(|(_, image)| image.data.as_ref())
                .map(|data| data.len() as u64)
                .sum::<u64>()
                / 1024,
        };
        match serde_json::to_string(&report) {
            Ok(text) => {
                if let Err(e) = std::fs::write(&bench.out, text) {
                    error!(path = %bench.out.display(), error = %e, "cannot write the benchmark");
                }
            }
            Err(e) => error!(error = %e, "cannot serialise the benchmark"),
        }
        exit.write(AppExit::Success);
    }
}

/// One of this process's memory figures from /proc (`VmRSS:`, `RssAnon:`…), in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The calling thread's time on a processor and waiting in a run queue, in microseconds.
#[derive(Serialize, Debug, Clone, Copy, Default)]
struct SchedTimes {
    on_cpu_us: u64,
    waiting_us: u64,
}

impl SchedTimes {
    /// On a processor: the thread's processor-time clock (exact to the call). Waiting: the
    /// second field of `/proc/thread-self/schedstat` (nanoseconds spent runnable but not running,
    /// counted each time the thread gets a processor back). `None` where the kernel keeps no
    /// such statistics.
    fn now() -> Option<SchedTimes> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let waiting_ns: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
        let cpu = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let on_cpu_us =
            u64::try_from(cpu.tv_sec).ok()? * 1_000_000 + u64::try_from(cpu.tv_nsec).ok()? / 1000;
        Some(SchedTimes {
            on_cpu_us,
            waiting_us: waiting_ns / 1000,
        })
    }

    fn since(self, before: SchedTimes) -> SchedTimes {
        SchedTimes {
            on_cpu_us: self.on_cpu_us.saturating_sub(before.on_cpu_us),
            waiting_us: self.waiting_us.saturating_sub(before.waiting_us),
        }
    }
}
