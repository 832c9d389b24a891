//! `--watch [INTERVAL]` and other live views: draw a view again and again until Ctrl-C. On a
//! terminal each frame replaces the last on the alternate screen (the screen before comes back at
//! the end); without one each frame is a new block (tables and TSV separated by an empty line,
//! JSON as one document per frame, which `jq` reads as a stream). The interval is stretched so a
//! view never takes more than half the request budget.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Ctx;
use crate::api::ApiError;
use crate::cli::WatchArg;
use crate::config::parse_duration;
use crate::error::CliError;
use crate::output::live::Screen;
use crate::output::Output;

/// The shortest interval: PVE's own statistics change every 10 s or so.
const FLOOR: Duration = Duration::from_secs(1);

/// The interval of `--watch`, or `None` without it; `requests` is what one frame costs.
pub fn every(ctx: &Ctx, arg: &WatchArg, requests: u32) -> Result<Option<Duration>, CliError> {
    let Some(text) = &arg.watch else {
        return Ok(None);
    };
    let asked = parse_duration(text).map_err(|e| CliError::usage(format!("--watch: {e}")))?;
    Ok(Some(stretch(
        &ctx.out,
        asked,
        requests,
        ctx.settings.max_rps,
        "--watch",
    )))
}

/// `asked`, at least `FLOOR`, and long enough that `requests` a frame take at most half of
/// `max_rps` (0 = no limit); says so when it had to be longer.
pub fn stretch(out: &Output, asked: Duration, requests: u32, max_rps: u32, flag: &str) -> Duration {
    let floor = asked.max(FLOOR);
    let budget = if max_rps == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(f64::from(requests) * 2.0 / f64::from(max_rps))
    };
    if budget > floor {
        out.info(&format!(
            "{flag}: every {:.1}s, so that {requests} requests a refresh stay within half the request budget ({max_rps} per second, --max-rps)",
            budget.as_secs_f64()
        ));
        return budget;
    }
    if asked < FLOOR {
        out.info(&format!("{flag}: every {}s at least", FLOOR.as_secs()));
    }
    floor
}

/// Draw `frame` once, or every `interval` until Ctrl-C (which ends it with success). `title`
/// heads each frame on a terminal. A frame that fails for a reason that may pass (the server
/// unreachable a moment, a 5xx) is reported and the view goes on; any other error ends it.
pub async fn run<F, Fut>(
    ctx: &Ctx,
    interval: Option<Duration>,
    title: &str,
    mut frame: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let Some(interval) = interval else {
        return frame().await;
    };
    // Listening for Ctrl-C from here on: one pressed at any moment of the loop ends it (and
    // before the alternate screen is entered, so it is always left again).
    let mut interrupt = Interrupt::new();
    let screen = ctx.out.term.stdout_tty.then(Screen::enter);
    let mut first = true;
    loop {
        let started = Instant::now();
        let stamp = ctx.out.clock.local(now());
        match &screen {
            Some(s) => {
                s.frame();
                ctx.out.lines([format!(
                    "Every {}: {title}    {stamp}\n",
                    humantime::format_duration(interval)
                )])?;
            }
            None => {
                if !first && !ctx.out.structured() {
                    ctx.out.lines([String::new()])?;
                }
                ctx.out.info(&format!("{title} at {stamp}"));
            }
        }
        first = false;
        let drawn = tokio::select! {
            r = frame() => r,
            _ = interrupt.wait() => return Ok(()),
        };
        if let Err(e) = drawn {
            if !passing(&e) {
                drop(screen);
                return Err(e);
            }
            let line = format!(
                "error: {} (trying again in {})",
                crate::error::message(&e),
                humantime::format_duration(interval)
            );
            match &screen {
                Some(_) => ctx.out.lines([line])?,
                None => ctx.out.notice(&line),
            }
        }
        let pause = interval.saturating_sub(started.elapsed());
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = interrupt.wait() => return Ok(()),
        }
    }
}

/// Ctrl-C, heard from the moment this is made (a new `ctrl_c()` for each wait would miss one
/// pressed in between).
struct Interrupt {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Interrupt {
    fn new() -> Self {
        Interrupt {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok(),
        }
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        if let Some(s) = &mut self.signal {
            s.recv().await;
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// An error a later frame may not have: the server or a node unreachable, a 5xx.
fn passing(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<ApiError>())
        .any(crate::task::transient)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
