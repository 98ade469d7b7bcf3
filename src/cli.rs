//! Command-line interface definitions (clap).

use std::path::PathBuf;

use aima_ingest::pipeline::MappingOverride;
use aima_ingest::values::DateOrder;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// AIMA: self-hosted marketing intelligence on your own customer and order data.
///
/// Configuration comes from defaults, then a config file (--config or
/// AIMA_CONFIG), then AIMA_* environment variables, then flags; `aima config`
/// lists every setting.
#[derive(Debug, Parser)]
#[command(name = "aima", version, about, long_about)]
pub struct Cli {
    /// Config file (TOML); unknown keys are rejected.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database and local state) [default: ./aima-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the demo organization (real CDNOW transactions, synthetic contacts
    /// and events) and run the analyses that exist.
    Demo {
        /// Organization slug for the demo data.
        #[arg(long, default_value = "demo")]
        org: String,
        /// Seed for the synthetic enrichment.
        #[arg(long, default_value_t = aima_ingest::demo::DEMO_SEED)]
        seed: u64,
    },
    /// Import customers and orders from a CSV or XLSX file, or a Google Sheets
    /// share link / CSV URL.
    Import(ImportArgs),
    /// Apply database migrations (also done automatically by every command).
    Migrate,
    /// Serve the REST API (docs at /docs) with the module actors and the
    /// scheduler running; stops gracefully on Ctrl-C or SIGTERM. The first
    /// start on a data directory without API keys prints an admin key.
    Serve {
        /// Listen address [default: 127.0.0.1:8080, or AIMA_BIND].
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Dashboard users: an e-mail and a password with a role in one
    /// organization.
    Users {
        /// What to do with users.
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// API keys (`Authorization: Bearer <key>` for the REST API).
    Keys {
        /// What to do with keys.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the effective configuration and every setting.
    Config,
    /// Organizations.
    Orgs {
        /// What to do with organizations.
        #[command(subcommand)]
        command: OrgsCommand,
    },
    /// The tool catalog the planner and external agents call (no database
    /// needed).
    Tools {
        /// What to do with the catalog.
        #[command(subcommand)]
        command: ToolsCommand,
    },
    /// Ask the planner (M7) a question; it answers from the data through the
    /// tools, streaming its plan, tool calls and answer.
    Ask(AskArgs),
    /// Evaluate the models on real reference data (no database needed).
    Evaluate {
        /// Which evaluation.
        #[command(subcommand)]
        command: EvaluateCommand,
    },
    /// Benchmarks that print ratios against baselines measured in the same run.
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        command: BenchCommand,
    },
}

/// `aima evaluate` subcommands.
#[derive(Debug, Subcommand)]
pub enum EvaluateCommand {
    /// The CDNOW holdout (calibration weeks 1-39, holdout 40-78): BG/NBD,
    /// Pareto/NBD, Gamma-Gamma and the survival network side by side, and
    /// which model is served.
    Clv {
        /// Output: a table for people, or JSON with stable keys.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Segment quality on a time split (CDNOW, or an organization's orders
    /// with --org): the share of next-period revenue variance explained by
    /// the RFM personas and by behavioural fingerprint clusters.
    Segments {
        /// Output: a table for people, or JSON with stable keys.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Customers the fingerprint transformer trains on.
        #[arg(long, default_value_t = 2_000)]
        train_customers: usize,
        /// Fingerprint training epochs.
        #[arg(long, default_value_t = 2)]
        epochs: usize,
        /// Evaluate this organization's orders instead of CDNOW: segmented
        /// as of its last order date minus --holdout-days, scored on the
        /// revenue of those last days.
        #[arg(long)]
        org: Option<String>,
        /// With --org: days of the holdout (the next period) at the end of
        /// the organization's data.
        #[arg(long, default_value_t = 90, requires = "org")]
        holdout_days: u32,
    },
}

/// `aima ask` arguments.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question (leave out with --approve or --reject).
    #[arg(required_unless_present_any = ["approve", "reject"])]
    pub question: Option<String>,
    /// Organization slug [default: the only organization].
    #[arg(long)]
    pub org: Option<String>,
    /// Continue this conversation thread (printed after every answer).
    #[arg(long, value_name = "ID")]
    pub thread: Option<uuid::Uuid>,
    /// Output: text for people, or jsonl (one protocol event per line, see
    /// runtime/schema/events.v1.json).
    #[arg(long, value_enum, default_value_t = AskFormat::Text)]
    pub format: AskFormat,
    /// Approve the side-effecting call the thread is paused on (needs --thread).
    #[arg(long, requires = "thread", conflicts_with_all = ["reject", "question"])]
    pub approve: bool,
    /// With --approve: run the call with these arguments (a JSON object)
    /// instead of the model's.
    #[arg(long, value_name = "JSON", requires = "approve")]
    pub arguments: Option<String>,
    /// Reject the paused call, giving a reason (needs --thread).
    #[arg(
        long,
        value_name = "REASON",
        requires = "thread",
        conflicts_with = "question"
    )]
    pub reject: Option<String>,
}

/// Output format of `aima ask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AskFormat {
    /// The plan, tool calls and answer for a person.
    Text,
    /// One JSON event per line.
    Jsonl,
}

/// `aima orgs` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// List organizations with their customer and order counts.
    List,
}

/// `aima users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user; the password is read from the first line of standard
    /// input (at least 12 characters). Creates the organization if new.
    Create {
        /// Organization slug [default: the only organization].
        #[arg(long)]
        org: Option<String>,
        /// The user's e-mail (their sign-in name).
        #[arg(long)]
        email: String,
        /// What the user may do: admin, analyst or viewer.
        #[arg(long, value_parser = parse_role)]
        role: aima_runtime::store::Role,
    },
    /// List an organization's users.
    List {
        /// Organization slug [default: the only organization].
        #[arg(long)]
        org: Option<String>,
    },
    /// Disable a user (by e-mail or id): they can no longer sign in.
    Disable {
        /// The user's e-mail or id.
        user: String,
        /// Organization slug [default: the only organization].
        #[arg(long)]
        org: Option<String>,
    },
}

/// `aima keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (shown only this once); creates the
    /// organization if it is new.
    Create {
        /// Organization slug [default: the only organization].
        #[arg(long)]
        org: Option<String>,
        /// What the key may do: admin, analyst or viewer.
        #[arg(long, value_parser = parse_role)]
        role: aima_runtime::store::Role,
        /// A label for the key.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List an organization's keys (their prefixes, never the keys).
    List {
        /// Organization slug [default: the only organization].
        #[arg(long)]
        org: Option<String>,
    },
    /// Revoke a key by its id or its displayed prefix.
    Revoke {
        /// The key's id or prefix (`aima_1a2b3c4d`).
        key: String,
        /// Organization slug [default: the only organization].
        #[arg(long)]
        org: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<aima_runtime::store::Role, String> {
    s.parse()
}

/// `aima tools` subcommands.
#[derive(Debug, Subcommand)]
pub enum ToolsCommand {
    /// Print every tool: name, module, effect, description and arguments, or
    /// the catalog as OpenAI function definitions (strict mode) or MCP tools.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ToolsFormat::Text)]
        format: ToolsFormat,
    },
}

/// Output format of `aima tools list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ToolsFormat {
    /// For people: one block per tool.
    Text,
    /// A JSON array of OpenAI function definitions (strict mode), ready for
    /// a chat completion's `tools`.
    Openai,
    /// A JSON object `{"tools": [...]}` of MCP tool descriptors (a
    /// `tools/list` result).
    Mcp,
}

/// `aima bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time the customer-intelligence models (features + RFM, BG/NBD,
    /// fingerprints + clustering) at 100,000 customers.
    Models(BenchModelsArgs),
    /// Import a generated orders CSV into SQLite (and PostgreSQL) next to
    /// `sqlite3 .import` and `psql \copy` of the same file.
    Import(BenchImportArgs),
    /// Load the REST API and the WebSocket chat of a server holding
    /// generated customers, from a second process: GET /api/v1/customers
    /// against GET /healthz, and many concurrent chats against one alone.
    Api(BenchApiArgs),
    /// Time the agent runtime: a tool call through an actor against a direct
    /// call, a checkpointed graph step against a direct node call, and
    /// concurrent planner conversations (offline provider, demo data)
    /// against one at a time.
    Agent(BenchAgentArgs),
    /// AIMA-Bench: generate the simulated world of a seed and export its raw
    /// data and ground truth as CSV (see evals/README.md).
    World(BenchWorldArgs),
    /// AIMA-Bench: run task files against the planner over the simulated
    /// world and report pass@1, pass^k, latency, tool calls, tokens and
    /// cost (see evals/README.md).
    Run(BenchRunArgs),
}

/// Arguments of `aima bench world`.
#[derive(Debug, Args)]
pub struct BenchWorldArgs {
    /// The world's seed.
    #[arg(long, default_value_t = aima_evals::world::DEFAULT_SEED)]
    pub seed: u64,
    /// Customers in the world.
    #[arg(long, default_value_t = aima_evals::world::DEFAULT_CUSTOMERS)]
    pub customers: usize,
    /// Directory the CSV files are written to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub export: PathBuf,
}

/// LLM provider of `aima bench run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchProvider {
    /// The deterministic offline router.
    Offline,
    /// Any OpenAI-compatible endpoint from the configuration (llm_base_url,
    /// llm_model, llm_api_key...).
    Openai,
}

/// Report format of `aima bench run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown tables and failure transcripts.
    Markdown,
    /// JSON with stable keys.
    Json,
}

/// Arguments of `aima bench run`.
#[derive(Debug, Args)]
pub struct BenchRunArgs {
    /// Directory of task files (*.json).
    #[arg(long, value_name = "DIR", default_value = "evals/tasks")]
    pub tasks: PathBuf,
    /// Run only the tasks written for this world seed [default: every
    /// seed, each in its own world].
    #[arg(long)]
    pub seed: Option<u64>,
    /// LLM provider.
    #[arg(long, value_enum, default_value_t = BenchProvider::Offline)]
    pub provider: BenchProvider,
    /// Runs per task (pass^k uses this k).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub k: u32,
    /// Tasks run at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// Write the report here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `aima bench api`.
#[derive(Debug, Clone, Args)]
pub struct BenchApiArgs {
    /// Customers loaded (about three order lines each).
    #[arg(long, default_value_t = 100_000)]
    pub customers: u64,
    /// Seconds of sustained load per endpoint.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent HTTP connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// Concurrent WebSocket chats.
    #[arg(long, default_value_t = 1_000)]
    pub chats: u32,
    /// Internal: act as the load generator against this base URL.
    #[arg(long, hide = true, requires = "key")]
    pub load: Option<String>,
    /// Internal: the load generator's API key.
    #[arg(long, hide = true)]
    pub key: Option<String>,
    /// Internal: the load generator's paths (HTTP) or `ws` (chats).
    #[arg(long, hide = true)]
    pub target: Vec<String>,
}

/// Arguments of `aima bench agent`.
#[derive(Debug, Args)]
pub struct BenchAgentArgs {
    /// Tool calls timed per path (direct, through the actor).
    #[arg(long, default_value_t = 20_000)]
    pub calls: u32,
    /// Graph runs timed per path (direct, graph with SQLite checkpoints).
    #[arg(long, default_value_t = 2_000)]
    pub steps: u32,
    /// Planner conversations started at once.
    #[arg(long, default_value_t = 1_000)]
    pub conversations: u32,
}

/// Arguments of `aima bench models`.
#[derive(Debug, Args)]
pub struct BenchModelsArgs {
    /// Customers (features and fingerprints).
    #[arg(long, default_value_t = 100_000)]
    pub customers: usize,
    /// Orders (features).
    #[arg(long, default_value_t = 1_000_000)]
    pub orders: usize,
    /// Timed BG/NBD fits (the median is printed).
    #[arg(long, default_value_t = 11)]
    pub repeats: usize,
}

/// Arguments of `aima bench import`.
#[derive(Debug, Args)]
pub struct BenchImportArgs {
    /// Rows in the generated CSV.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// PostgreSQL admin URL; a scratch database is created and dropped.
    /// Defaults to AIMA_TEST_DATABASE_URL; without either, PostgreSQL is skipped.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

/// Output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For scripts (stable keys).
    Json,
}

/// Arguments of `aima import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A CSV/XLSX file, a Google Sheets share link, or a CSV URL.
    pub source: String,
    /// Show the detected mapping, problems and counts; write nothing.
    #[arg(long)]
    pub preview: bool,
    /// Write nothing if any row is bad.
    #[arg(long)]
    pub strict: bool,
    /// Override the mapping: 'Header=field' (field names as in the preview),
    /// or 'Header=ignore'. Repeatable.
    #[arg(long, value_name = "HEADER=FIELD")]
    pub map: Vec<MappingOverride>,
    /// Organization slug (created if new).
    #[arg(long)]
    pub org: Option<String>,
    /// Day/month order of ambiguous dates: day-first or month-first
    /// [default: inferred from the column's unambiguous dates].
    #[arg(long, value_name = "ORDER")]
    pub date_order: Option<DateOrder>,
    /// Country for phone numbers without one (ISO code or name).
    #[arg(long)]
    pub country: Option<String>,
    /// Currency for amounts without a symbol or currency column (ISO code).
    #[arg(long)]
    pub currency: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
