//! Everything after a UPID: the waiter (and `poll_until` for any other "poll until done"), the
//! results of state-changing commands and their report, sessions of many tasks, and how long to
//! wait. Nothing outside this module polls.

mod limit;
mod report;
mod result;
mod session;
mod waiter;
mod watch;

pub use limit::{wait_limit, LONG_WAIT, SHORT_WAIT};
pub use report::report;
pub use result::ActionResult;
pub use session::{finish_one, finish_one_then, Session};
pub use waiter::{gave_up, poll_interval, poll_until, transient, Outcome, Pacer, Waiter};
