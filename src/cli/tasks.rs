//! `tasks`.

use clap::Subcommand;

use super::args::WatchArg;

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum TasksCmd {
    /// Recent tasks of every node, newest first
    #[command(visible_alias = "ls")]
    List {
        /// Only this node
        #[arg(long)]
        node: Option<String>,
        /// Only tasks of this guest (VMID or name)
        #[arg(long, value_name = "GUEST")]
        vmid: Option<String>,
        /// Only this task type (qmstart, vzdump…)
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// Only failed tasks
        #[arg(long)]
        errors: bool,
        /// Also list running tasks (PVE lists finished ones by default)
        #[arg(long)]
        running: bool,
        /// At most this many tasks
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        watch: WatchArg,
    },
    /// Status of one task
    Status {
        /// The task id (UPID:node:…:)
        upid: String,
    },
    /// The log of one task
    Log {
        /// The task id (UPID:node:…:)
        upid: String,
        /// Keep printing new lines until the task ends, then exit with its verdict
        #[arg(short, long)]
        follow: bool,
        /// With --follow: give up after this long (90s, 10m; 0 = for ever); the task keeps running
        #[arg(long, value_name = "DURATION", requires = "follow")]
        wait_timeout: Option<String>,
    },
    /// Wait for tasks and exit with their verdict (0 OK or warnings, 8 failed, 9 still running)
    Wait {
        /// Task ids (UPID:node:…:)
        #[arg(required = true)]
        upids: Vec<String>,
        /// Give up waiting after this long (90s, 10m; 0 = for ever)
        #[arg(long, value_name = "DURATION")]
        wait_timeout: Option<String>,
    },
    /// Stop (cancel) a running task
    Stop {
        /// The task id (UPID:node:…:)
        upid: String,
    },
}
