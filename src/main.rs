//! `aima`: the one binary of AIMA, a self-hosted marketing intelligence
//! platform. Subcommands: `demo`, `import`, `migrate`, `serve`, `keys`,
//! `config`, `orgs`, `tools`, `ask`, `evaluate`, `bench`. Errors go to stderr with a non-zero exit status.

/// `println!` that returns the write error instead of panicking, so a
/// closed pipe (`aima ... | head`) ends the command quietly.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

/// `print!` counterpart of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)
    }};
}

mod bench;
mod cli;
mod evaluate;
mod render;

use std::io::IsTerminal;
use std::path::PathBuf;

use aima_ingest::pipeline::{self, ImportOptions};
use aima_runtime::config::Config;
use aima_runtime::store::Store;
use anyhow::{Context, Result, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use cli::{
    AskFormat, BenchCommand, Cli, Command, EvaluateCommand, Format, KeysCommand, OrgsCommand,
    ToolsCommand, ToolsFormat, UsersCommand,
};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by ": ", leaving out a cause whose text
/// the message before it already contains (our error types name their
/// source in their own message).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// Whether `e` is stdout's reader having gone away.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

async fn run(cli: Cli) -> Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir.clone_from(dir);
    }
    match cli.command {
        Command::Config => {
            outln!("{}", toml_of(&config)?)?;
            outln!("# Settings (file key | environment variable):\n")?;
            out!("{}", Config::markdown_table())?;
            Ok(())
        }
        Command::Migrate => {
            let store = open_store(&config).await?;
            outln!(
                "migrations applied ({:?} at {})",
                store.backend(),
                describe_db(&config)
            )?;
            Ok(())
        }
        Command::Serve { bind } => serve(&config, bind).await,
        Command::Keys { command } => keys(&config, command).await,
        Command::Users { command } => users(&config, command).await,
        Command::Orgs {
            command: OrgsCommand::List,
        } => {
            let store = open_store(&config).await?;
            for org in store.list_organizations().await? {
                let customers = store.count_customers(org.id).await?;
                let orders = store.count_orders(org.id).await?;
                outln!(
                    "{}\t{}\t{customers} customers\t{orders} orders",
                    org.slug,
                    org.name
                )?;
            }
            Ok(())
        }
        Command::Tools {
            command: ToolsCommand::List { format },
        } => tools_list(format),
        Command::Ask(args) => ask(&config, args).await,
        Command::Import(args) => import(&config, args).await,
        Command::Demo { org, seed } => demo(&config, &org, seed).await,
        Command::Evaluate {
            command: EvaluateCommand::Clv { format },
        } => evaluate::clv(format),
        Command::Evaluate {
            command:
                EvaluateCommand::Segments {
                    format,
                    train_customers,
                    epochs,
                    org,
                    holdout_days,
                },
        } => {
            let data = match org {
                None => evaluate::SegmentData::cdnow()?,
                Some(slug) => {
                    let store = open_store(&config).await?;
                    let org = resolve_org(&store, &config, Some(&slug), false).await?;
                    evaluate::SegmentData::of_org(&store, &org, holdout_days).await?
                }
            };
            evaluate::segments(&data, format, train_customers, epochs)
        }
        Command::Bench {
            command: BenchCommand::Import(args),
        } => bench::import::run(&config, args).await,
        Command::Bench {
            command: BenchCommand::Models(args),
        } => bench::models::run(args),
        Command::Bench {
            command: BenchCommand::Agent(args),
        } => bench::agent::run(args).await,
        Command::Bench {
            command: BenchCommand::Api(args),
        } => bench::api::run(args).await,
        Command::Bench {
            command: BenchCommand::World(args),
        } => bench::world::run(&args),
        Command::Bench {
            command: BenchCommand::Run(args),
        } => bench::run::run(&config, args).await,
    }
}

/// `aima serve`: the module actors, the scheduler and the REST API until
/// Ctrl-C or SIGTERM; in-flight requests finish, then the actors stop.
async fn serve(config: &Config, bind: Option<String>) -> Result<()> {
    let bind = bind.unwrap_or_else(|| config.bind.clone());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }
    let store = open_store(config).await?;
    first_admin_key(&store).await?;
    if let Some(url) = &config.qdrant_url {
        let dimension = aima_models::fingerprint::FingerprintConfig::default().out_dim;
        match store.check_vector_index(dimension).await {
            Ok(_) => eprintln!("aima: vector index on the Qdrant server at {url}"),
            Err(e) => eprintln!(
                "aima: warning: {e}; fingerprint searches scan the database until it answers"
            ),
        }
    }
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let secret = aima_runtime::store::SecretKey::load_or_create(&config.data_dir)?;
    let handlers = aima_actors::Handlers::standard(store.clone()).with_connectors(
        store.clone(),
        secret.clone(),
        &config.sheets_export_base,
    );
    let runtime = start_runtime(&store, handlers).await?;
    let metrics = aima_web::Metrics::start(&runtime);
    let registry = std::sync::Arc::new(metrics.registry(&runtime, aima_tools::catalog()));
    let planner = std::sync::Arc::new(planner_over(config, &store, registry.clone())?);
    let upload_dir = config.data_dir.join("uploads");
    std::fs::create_dir_all(&upload_dir)
        .with_context(|| format!("creating {}", upload_dir.display()))?;
    let options = aima_web::WebOptions {
        upload_dir,
        sheets_export_base: config.sheets_export_base.clone(),
        ..aima_web::WebOptions::default()
    };
    let state = aima_web::AppState::new(
        store.clone(),
        &runtime,
        registry,
        planner,
        secret,
        metrics,
        options,
    );
    let pruner = tokio::spawn(prune_threads(state.clone(), config.thread_retention_days));
    let local = listener.local_addr()?;
    eprintln!(
        "aima: serving http://{local} (API docs at http://{local}/docs; data: {}); Ctrl-C stops",
        describe_db(config)
    );
    let served = aima_web::serve(listener, aima_web::app(state), shutdown_signal()).await;
    eprintln!("aima: stopping");
    pruner.abort();
    runtime.shutdown().await;
    store.close().await;
    Ok(served?)
}

/// Once a day (first at start): prunes planner threads idle more than
/// `days` days (0: never).
async fn prune_threads(state: aima_web::AppState, days: u64) {
    let Some(age) = i64::try_from(days)
        .ok()
        .filter(|d| *d > 0)
        .and_then(chrono::TimeDelta::try_days)
    else {
        return;
    };
    let mut every_day = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
    loop {
        every_day.tick().await;
        let Some(cutoff) = chrono::Utc::now().checked_sub_signed(age) else {
            return;
        };
        match state.planner().prune(cutoff).await {
            Ok(0) => {}
            Ok(n) => eprintln!("aima: pruned {n} planner threads idle since before {cutoff}"),
            Err(e) => eprintln!("aima: pruning planner threads failed: {e}"),
        }
    }
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// On a data directory without any API key: an admin key for every
/// organization (for a new `default` one when there is none), printed once.
async fn first_admin_key(store: &Store) -> Result<()> {
    use aima_runtime::store::Role;
    if store.has_any_api_key().await? {
        return Ok(());
    }
    let mut orgs = store.list_organizations().await?;
    if orgs.is_empty() {
        orgs.push(store.ensure_organization("default", "Default").await?.0);
    }
    for org in orgs {
        let (_, key) = store
            .create_api_key(org.id, "first admin key", Role::Admin)
            .await?;
        outln!(
            "admin API key of organization '{}' (shown only now; `aima keys create` makes more):\n  {key}",
            org.slug
        )?;
    }
    Ok(())
}

/// `aima users create|list|disable`.
async fn users(config: &Config, command: UsersCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        UsersCommand::Create { org, email, role } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let org = resolve_org(&store, config, org.as_deref(), true).await?;
            let user = store.create_user(org.id, &email, password, role).await?;
            outln!(
                "created {} user {} ({}) in '{}'",
                user.role,
                user.email,
                user.id,
                org.slug
            )?;
        }
        UsersCommand::List { org } => {
            let org = resolve_org(&store, config, org.as_deref(), false).await?;
            for u in store.list_users(org.id).await? {
                let state = u.disabled_at.map_or_else(
                    || "active".to_owned(),
                    |t| format!("disabled {}", t.format("%Y-%m-%d %H:%M")),
                );
                outln!(
                    "{}\t{}\t{}\tcreated {}\t{state}",
                    u.id,
                    u.email,
                    u.role,
                    u.created_at.format("%Y-%m-%d %H:%M")
                )?;
            }
        }
        UsersCommand::Disable { user, org } => {
            let org = resolve_org(&store, config, org.as_deref(), false).await?;
            let wanted = user.trim().to_lowercase();
            let found = store
                .list_users(org.id)
                .await?
                .into_iter()
                .find(|u| {
                    u.disabled_at.is_none()
                        && (u.id.to_string() == wanted || u.email.to_lowercase() == wanted)
                })
                .with_context(|| {
                    format!("organization '{}' has no active user '{user}'", org.slug)
                })?;
            store.disable_user(org.id, found.id).await?;
            outln!("disabled {} ({})", found.email, found.role)?;
        }
    }
    Ok(())
}

/// `aima keys create|list|revoke`.
async fn keys(config: &Config, command: KeysCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        KeysCommand::Create { org, role, name } => {
            let org = resolve_org(&store, config, org.as_deref(), true).await?;
            let (key, secret) = store.create_api_key(org.id, &name, role).await?;
            outln!("{secret}")?;
            eprintln!(
                "created {} key '{}' ({}) for organization '{}'; it is shown only now",
                key.role, key.name, key.id, org.slug
            );
        }
        KeysCommand::List { org } => {
            let org = resolve_org(&store, config, org.as_deref(), false).await?;
            for key in store.list_api_keys(org.id).await? {
                let used = key.last_used_at.map_or_else(
                    || "never used".to_owned(),
                    |t| format!("used {}", t.format("%Y-%m-%d %H:%M")),
                );
                let state = key.revoked_at.map_or_else(
                    || "active".to_owned(),
                    |t| format!("revoked {}", t.format("%Y-%m-%d %H:%M")),
                );
                outln!(
                    "{}\t{}...\t{}\t{}\tcreated {}\t{used}\t{state}",
                    key.id,
                    key.prefix,
                    key.role,
                    key.name,
                    key.created_at.format("%Y-%m-%d %H:%M")
                )?;
            }
        }
        KeysCommand::Revoke { key, org } => {
            let org = resolve_org(&store, config, org.as_deref(), false).await?;
            let wanted = key.trim().trim_end_matches("...");
            let matching: Vec<_> = store
                .list_api_keys(org.id)
                .await?
                .into_iter()
                .filter(|k| k.revoked_at.is_none())
                .filter(|k| k.id.to_string() == wanted || k.prefix == wanted)
                .collect();
            match matching.as_slice() {
                [one] => {
                    store.revoke_api_key(org.id, one.id).await?;
                    outln!("revoked {} ({}, {})", one.prefix, one.name, one.role)?;
                }
                [] => bail!(
                    "organization '{}' has no active key '{wanted}' (see `aima keys list`)",
                    org.slug
                ),
                _ => bail!("several active keys match '{wanted}': give the key's id"),
            }
        }
    }
    Ok(())
}

/// `aima tools list`: the catalog for people, as OpenAI function
/// definitions, or as MCP tools.
fn tools_list(format: ToolsFormat) -> Result<()> {
    let specs = aima_tools::catalog();
    match format {
        ToolsFormat::Openai => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&aima_tools::openai_functions(&specs))?
            )?;
        }
        ToolsFormat::Mcp => {
            let tools = serde_json::json!({ "tools": aima_tools::mcp_tools(&specs) });
            outln!("{}", serde_json::to_string_pretty(&tools)?)?;
        }
        ToolsFormat::Text => {
            for (i, spec) in specs.iter().enumerate() {
                if i > 0 {
                    outln!()?;
                }
                let effect = match spec.effect {
                    aima_tools::Effect::ReadOnly => "read-only",
                    aima_tools::Effect::SideEffecting => "side-effecting (needs approval)",
                };
                outln!("{}  [{}; {effect}]", spec.name, spec.module.title())?;
                outln!(
                    "  {}",
                    aima_tools::describe::first_sentence(&spec.description)
                )?;
                let args: Vec<String> = aima_tools::arguments(spec)
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                if args.is_empty() {
                    outln!("  arguments: none")?;
                } else {
                    outln!("  arguments: {}", args.join(", "))?;
                }
            }
        }
    }
    Ok(())
}

fn toml_of(config: &Config) -> Result<String> {
    Ok(format!(
        "# Effective configuration\n{}",
        toml::to_string(config)?
    ))
}

fn describe_db(config: &Config) -> String {
    match &config.database_url {
        Some(url) if url.contains('@') => "the configured database URL".to_owned(),
        Some(url) => url.clone(),
        None => config.data_dir.join("aima.db").display().to_string(),
    }
}

/// `aima ask`: one planner turn (a question, or an approval decision on a
/// paused thread), its events printed as they come.
async fn ask(config: &Config, args: cli::AskArgs) -> Result<()> {
    use aima_actors::planner::{Approval, TurnOutcome};

    let store = open_store(config).await?;
    let org = resolve_org(&store, config, args.org.as_deref(), false).await?;
    let runtime = start_runtime(&store, aima_actors::Handlers::standard(store.clone())).await?;
    let planner = planner_over(
        config,
        &store,
        std::sync::Arc::new(runtime.registry(aima_tools::catalog())),
    )?;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<aima_runtime::events::Event>();
    let format = args.format;
    let printer = async move {
        use std::io::Write as _;
        let mut streamed = false;
        let mut line_open = false;
        while let Some(event) = rx.recv().await {
            match format {
                AskFormat::Jsonl => outln!("{}", serde_json::to_string(&event)?)?,
                AskFormat::Text => {
                    streamed |= matches!(event.body, aima_runtime::events::EventBody::Token { .. });
                    if let Some(text) = render::text(&event.body, streamed) {
                        out!("{text}")?;
                        std::io::stdout().flush()?;
                        line_open = !text.ends_with('\n');
                    }
                }
            }
        }
        if line_open {
            outln!()?;
        }
        Ok::<(), anyhow::Error>(())
    };
    let turn = async move {
        let result = if args.approve || args.reject.is_some() {
            let thread = args
                .thread
                .context("--approve and --reject need --thread")?;
            let decision = match args.reject {
                Some(reason) => Approval::Reject {
                    reason: Some(reason),
                },
                None => Approval::Approve {
                    arguments: args
                        .arguments
                        .as_deref()
                        .map(serde_json::from_str)
                        .transpose()
                        .context("--arguments is not valid JSON")?,
                },
            };
            planner
                .resume(org.id, thread, decision, &tx)
                .await
                .map(|outcome| (thread, outcome))
        } else {
            let question = args.question.unwrap_or_default();
            planner.ask(org.id, args.thread, &question, &tx).await
        };
        drop(tx);
        Ok::<_, anyhow::Error>(result?)
    };
    let (printed, turn) = tokio::join!(printer, turn);
    runtime.shutdown().await;
    printed?;
    let (thread, outcome) = turn?;
    if format == AskFormat::Text {
        match &outcome {
            TurnOutcome::Paused { .. } => eprintln!(
                "thread {thread} is paused: continue with `aima ask --thread {thread} --approve` \
                 or `--reject REASON`"
            ),
            _ => eprintln!("thread {thread} (follow up with --thread {thread})"),
        }
    }
    match outcome {
        TurnOutcome::Failed { code } => bail!("the planner could not answer ({code})"),
        TurnOutcome::Answered { .. } | TurnOutcome::Paused { .. } => Ok(()),
    }
}

/// The actor runtime over `store` with `handlers`, the scheduler on its
/// default schedules.
async fn start_runtime(
    store: &Store,
    handlers: aima_actors::Handlers,
) -> Result<aima_actors::Runtime> {
    use aima_actors::{Runtime, RuntimeOptions};
    Ok(Runtime::start(store.clone(), handlers, RuntimeOptions::default()).await?)
}

/// The planner over `registry` with the configured LLM provider.
fn planner_over(
    config: &Config,
    store: &Store,
    registry: std::sync::Arc<aima_runtime::registry::Registry>,
) -> Result<aima_actors::planner::Planner> {
    let provider =
        aima_runtime::llm::build_provider(&aima_runtime::llm::LlmConfig::from_config(config)?)?;
    Ok(aima_actors::planner::Planner::new(
        store.clone(),
        registry,
        provider,
    )?)
}

/// Opens the configured store and applies migrations.
async fn open_store(config: &Config) -> Result<Store> {
    let store = Store::open(config.database_url.as_deref(), &config.data_dir)
        .await?
        .with_vector_index(config.vector_backend());
    store.migrate().await?;
    Ok(store)
}

/// The organization a command works on: `--org` (created when new and
/// `create` is set), else the configured default, else the only one.
async fn resolve_org(
    store: &Store,
    config: &Config,
    org: Option<&str>,
    create: bool,
) -> Result<aima_runtime::store::Organization> {
    let slug = org
        .map(str::to_owned)
        .or_else(|| config.default_org.clone());
    if let Some(slug) = slug {
        if create {
            return Ok(store.ensure_organization(&slug, &slug).await?.0);
        }
        return store
            .organization_by_slug(&slug)
            .await?
            .with_context(|| format!("no organization '{slug}' (see `aima orgs list`)"));
    }
    let mut orgs = store.list_organizations().await?;
    match orgs.len() {
        0 if create => Ok(store.ensure_organization("default", "Default").await?.0),
        0 => {
            bail!("there is no organization yet: run `aima demo` or `aima import FILE --org NAME`")
        }
        1 => Ok(orgs.remove(0)),
        _ => {
            let slugs: Vec<String> = orgs.into_iter().map(|o| o.slug).collect();
            bail!(
                "several organizations exist ({}): choose one with --org",
                slugs.join(", ")
            )
        }
    }
}

/// A bar on stderr (hidden when it is not a terminal) counting `unit`s.
fn progress_bar(label: &str, unit: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{msg}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, eta {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(label.to_owned());
    bar
}

async fn import(config: &Config, args: cli::ImportArgs) -> Result<()> {
    let store = open_store(config).await?;
    // A URL is downloaded to a temporary file first; the file is read twice.
    let download;
    let path: PathBuf = if args.source.starts_with("http://") || args.source.starts_with("https://")
    {
        let url = aima_ingest::source::sheets_export_url(&args.source, &config.sheets_export_base)
            .unwrap_or_else(|| args.source.clone());
        download = tempfile::NamedTempFile::new().context("creating a temporary file")?;
        let dest = download.path().to_path_buf();
        let fetch_url = url.clone();
        tokio::task::spawn_blocking(move || aima_ingest::source::download(&fetch_url, &dest))
            .await??;
        download.path().to_path_buf()
    } else {
        PathBuf::from(&args.source)
    };
    // A preview writes nothing: an organization that does not exist yet is
    // previewed as empty rather than created. An import that fails removes
    // the organization it created, so nothing is left half-written.
    let mut new_org = None;
    let org_id = if args.preview {
        match args.org.as_deref() {
            Some(slug) => store.organization_by_slug(slug).await?.map(|o| o.id),
            None => match resolve_org(&store, config, None, false).await {
                Ok(org) => Some(org.id),
                Err(_) if store.list_organizations().await?.is_empty() => None,
                Err(e) => return Err(e),
            },
        }
        .unwrap_or_else(uuid::Uuid::nil)
    } else {
        let existed = match args.org.as_deref() {
            Some(slug) => store.organization_by_slug(slug).await?.is_some(),
            None => !store.list_organizations().await?.is_empty(),
        };
        let org = resolve_org(&store, config, args.org.as_deref(), true).await?;
        new_org = (!existed).then_some(org.id);
        org.id
    };
    let options = ImportOptions {
        strict: args.strict,
        overrides: args.map.clone(),
        date_order: args.date_order,
        default_country: args.country.clone(),
        default_currency: args.currency.clone(),
        source_name: args.source.clone(),
    };
    if args.preview {
        let preview = pipeline::preview(&store, org_id, &path, &options).await?;
        match args.format {
            Format::Json => outln!("{}", serde_json::to_string_pretty(&preview)?)?,
            Format::Text => print_preview(&args.source, &preview)?,
        }
        return Ok(());
    }
    let bar = progress_bar("importing", "rows");
    let mut on_progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let report = pipeline::import(&store, org_id, &path, &options, &mut on_progress).await;
    bar.finish_and_clear();
    if let (Err(_), Some(id)) = (&report, new_org) {
        store.delete_organization(id).await?;
    }
    let report = report.with_context(|| format!("importing {}", args.source))?;
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?)?,
        Format::Text => {
            outln!(
                "imported {}: {} customers created, {} updated; {} orders created, {} updated; {} rows rejected",
                args.source,
                report.customers_created,
                report.customers_updated,
                report.orders_created,
                report.orders_updated,
                report.rows_rejected.len()
            )?;
            for r in report.rows_rejected.iter().take(20) {
                outln!("  row {}: {}", r.row, r.reason)?;
            }
            if report.rows_rejected.len() > 20 {
                outln!(
                    "  ... and {} more (use --format json for all)",
                    report.rows_rejected.len() - 20
                )?;
            }
        }
    }
    Ok(())
}

fn print_preview(source: &str, p: &pipeline::Preview) -> std::io::Result<()> {
    outln!("{source}: {} data rows", p.rows)?;
    outln!(
        "{:<32} {:<14} {:>10}  samples",
        "column",
        "field",
        "confidence"
    )?;
    for c in &p.columns {
        outln!(
            "{:<32} {:<14} {:>10.2}  {}",
            c.header,
            c.field.map(|f| f.as_str()).unwrap_or("-"),
            c.confidence,
            c.samples.join(" | ")
        )?;
    }
    if let Some(order) = p.date_order {
        outln!("dates read as {order}")?;
    }
    outln!(
        "would write: {} customers created, {} updated; {} orders created, {} updated; {} rows rejected",
        p.customers_created,
        p.customers_updated,
        p.orders_created,
        p.orders_updated,
        p.rows_rejected
    )?;
    for problem in &p.problems {
        match problem.row {
            Some(row) => outln!("  row {row}: {}", problem.message)?,
            None => outln!("  {}", problem.message)?,
        }
    }
    Ok(())
}

async fn demo(config: &Config, slug: &str, seed: u64) -> Result<()> {
    let store = open_store(config).await?;
    let (org, created) = store.ensure_organization(slug, "AIMA demo store").await?;
    if !created && store.count_orders(org.id).await? > 0 {
        outln!("demo organization '{slug}' is already loaded")?;
    } else {
        let started = std::time::Instant::now();
        let summary = aima_ingest::demo_install::install(&store, org.id, seed).await?;
        outln!(
            "loaded demo organization '{slug}' in {:.1?}: {} customers, {} orders, {} events, {} channel-spend rows \
             (transactions: CDNOW 1997-98; names, contacts, items, events and spend: synthetic, seed {seed})",
            started.elapsed(),
            summary.customers,
            summary.orders,
            summary.events,
            summary.spend_rows
        )?;
    }
    report_demo(&store, org.id).await?;
    outln!("Data: {}", describe_db(config))?;
    Ok(())
}

/// What can be computed on the demo organization today.
async fn report_demo(store: &Store, org: uuid::Uuid) -> Result<()> {
    use aima_runtime::store::Period;
    let customers = store.count_customers(org).await?;
    let orders = store.count_orders(org).await?;
    outln!("\n{customers} customers, {orders} orders")?;
    // Every order the store can hold (years 1900-2199).
    let from =
        chrono::DateTime::<chrono::Utc>::from_timestamp(-2_208_988_800, 0).context("date")?;
    let to = chrono::DateTime::<chrono::Utc>::from_timestamp(7_258_118_400, 0).context("date")?;
    outln!("\nRevenue by month:")?;
    for (month, revenue, n) in store
        .revenue_by_period(org, from, to, Period::Month)
        .await?
    {
        outln!(
            "  {}  {:>12.2}  {:>6} orders",
            month.format("%Y-%m"),
            revenue,
            n
        )?;
    }
    outln!("\nTop products:")?;
    for p in store.top_products(org, from, to, 5).await? {
        outln!(
            "  {:<50} {:>8.0} units {:>12.2}",
            p.product_name,
            p.quantity,
            p.revenue
        )?;
    }
    let started = std::time::Instant::now();
    let bar = progress_bar("customer intelligence", "steps");
    let progress = {
        let bar = bar.clone();
        let stage_shown = std::sync::Mutex::new(String::new());
        aima_actors::Progress::new(move |stage, done, total| {
            let mut shown = stage_shown.lock().unwrap_or_else(|p| p.into_inner());
            if *shown != stage {
                // A new stage: its own rate and eta.
                bar.reset();
                bar.set_message(stage.to_owned());
                stage.clone_into(&mut shown);
            }
            bar.set_length(total);
            bar.set_position(done);
        })
    };
    let summary = aima_actors::intelligence::run_all(store, org, &progress).await;
    bar.finish_and_clear();
    let summary = summary?;
    let f = &summary.features;
    outln!(
        "\nCustomer intelligence (as of {}, the data's end; {:.1?}): features for {} customers, personas for {}:",
        f.as_of.format("%Y-%m-%d"),
        started.elapsed(),
        f.customers,
        f.scored
    )?;
    let mut personas: Vec<_> = f.personas.iter().filter(|(_, n)| **n > 0).collect();
    personas.sort_by(|a, b| b.1.cmp(a.1));
    for (persona, n) in personas {
        outln!("  {persona:<22} {n:>7}")?;
    }
    match (&summary.fingerprints, &summary.fingerprints_skipped) {
        (Some(fp), _) => outln!(
            "Behavioural fingerprints ({}): {} customers embedded, {} clusters ({}), {:.0} % in none",
            fp.model_version,
            fp.customers,
            fp.clusters.len(),
            fp.clusters
                .iter()
                .map(|c| format!("{} {}", c.name, c.size))
                .collect::<Vec<_>>()
                .join(", "),
            fp.noise_share * 100.0
        )?,
        (None, Some(why)) => outln!("Behavioural fingerprints skipped: {why}")?,
        (None, None) => {}
    }
    let c = &summary.churn;
    outln!(
        "Churn and CLV ({}): {} customers scored; 90-day risk tiers: {}{}",
        c.model_version,
        c.customers,
        c.tiers
            .iter()
            .map(|(tier, n)| format!("{tier} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        c.mean_clv
            .map(|v| format!("; mean 12-month CLV {v:.2}"))
            .unwrap_or_default()
    )?;
    outln!("  {}", c.served_reason)?;
    outln!(
        "\nCampaign prediction, content, brand monitoring and attribution are not built yet; nothing here is estimated.\n\
         Ask: aima ask \"who are my at-risk customers and what should I do?\""
    )?;
    Ok(())
}
