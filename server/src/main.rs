//! Starts TopCluck on the address from the Leptos configuration (`LEPTOS_SITE_ADDR`,
//! default 127.0.0.1:3000), with the provider from `TOPCLUCK_ISSUER` or (in development, in a
//! build with the `embedded-coop` feature) the embedded COOP, and the daily egg count on its
//! schedule.
//!
//! `server count-eggs` runs one pass of the daily job now and exits: one line per farmer and a
//! summary, exit status 1 when a farmer failed for a reason other than needing re-consent.
//! `server reencrypt-vault` re-encrypts every vault row under the newest `TOPCLUCK_VAULT_KEYS` key.

use leptos::config::Env;
use leptos::prelude::get_configuration;
use server::cookies::KeyRing;
use server::oidc::Provider;
use server::settings::Settings;
use server::state::AppState;
use tracing_subscriber::EnvFilter;

/// The load benchmark's heap profile (`--features dhat-heap`): every allocation recorded.
#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

#[tokio::main]
async fn main() {
    // Written when `main` returns (a graceful stop): the allocation sites at the heap's peak.
    #[cfg(feature = "dhat-heap")]
    let _profiler = dhat::Profiler::builder()
        .file_name(std::env::var("TOPCLUCK_DHAT_FILE").unwrap_or_else(|_| "dhat-heap.json".into()))
        .build();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        // Colours only for a person at a terminal: log files and collectors get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let command = std::env::args().nth(1);
    let result = match command.as_deref() {
        None | Some("serve") => run(Command::Serve).await,
        Some("count-eggs") => run(Command::CountEggs).await,
        Some("reencrypt-vault") => run(Command::ReencryptVault).await,
        Some(other) => Err(format!("unknown command {other:?} (serve, count-eggs, reencrypt-vault)").into()),
    };
    #[cfg(feature = "dhat-heap")]
    drop(_profiler);
    match result {
        Ok(code) => std::process::exit(code),
        Err(error) => {
            eprintln!("TopCluck cannot start: {error}");
            std::process::exit(1);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Command {
    Serve,
    CountEggs,
    ReencryptVault,
}

async fn run(command: Command) -> Result<i32, Box<dyn std::error::Error>> {
    let configuration = get_configuration(None)?;
    let options = configuration.leptos_options;
    // With LEPTOS_HASH_FILES=true, the hash file beside this binary names the bundle's files.
    if let Some(bundle) = server::assets::check(&options)? {
        tracing::info!(js = %bundle.js, wasm = %bundle.wasm, css = %bundle.css, "hashed bundle");
    }
    let address = options.site_addr;
    let site = url::Url::parse(&format!("http://{address}"))?;
    // The embedded COOP fills in the API and the counting client.
    #[cfg_attr(not(feature = "embedded-coop"), expect(unused_mut))]
    let mut settings = Settings::from_env(&site, options.env == Env::PROD)?;
    // Checked with the other settings (the schema calls this same parser): cannot fail here.
    let cookie_keys = KeyRing::new(&settings.cookie_keys)?;
    // `/metrics` on a listener of its own (`TOPCLUCK_METRICS_ADDR`), before anything is recorded.
    if command == Command::Serve
        && let Some(addr) = server::metrics::start(settings.metrics_addr)
            .await
            .map_err(|error| format!("metrics: {error}"))?
    {
        tracing::info!("metrics on http://{addr}/metrics");
    }

    // The embedded COOP, kept alive for the life of the process when it runs.
    #[cfg(feature = "embedded-coop")]
    let mut _embedded = None;
    let provider = match (&settings.issuer, &settings.client_secret) {
        (Some(issuer), Some(secret)) => {
            tracing::info!(%issuer, client_id = %settings.client_id, "using the configured OpenID provider");
            Provider::new(
                issuer.as_str(),
                &settings.client_id,
                secret.clone(),
                settings.redirect_uri.as_str(),
            )
        }
        #[cfg(feature = "embedded-coop")]
        _ => {
            let coop = server::embedded_coop::start(&settings).await?;
            let provider = Provider::new(
                &coop.running.issuer,
                &coop.client_id,
                coop.client_secret.clone(),
                settings.redirect_uri.as_str(),
            );
            if settings.api_url.is_none() {
                // COOP's egg API, in the same process.
                settings.api_url = Some(url::Url::parse(&format!("{}/api", coop.running.issuer))?);
            }
            if settings.counting_client.is_none() {
                settings.counting_client = coop.counting_client.clone();
            }
            _embedded = Some(coop);
            provider
        }
        // The settings refuse a start without an issuer in this build; this is never reached.
        #[cfg(not(feature = "embedded-coop"))]
        _ => return Err("no TOPCLUCK_ISSUER, and this build has no embedded provider".into()),
    };
    if command == Command::CountEggs {
        return count_eggs(options, settings, provider).await;
    }
    let vault = server::vault::Vault::open(&settings, &settings.data_dir).await?;
    let state = AppState::new(options, settings, provider).with_vault(vault.clone());
    match command {
        Command::Serve | Command::CountEggs => {}
        Command::ReencryptVault => {
            let rows = vault.reencrypt_all().await?;
            println!("re-encrypted {rows} vault rows under the newest key");
            return Ok(0);
        }
    }
    match server::counting::Job::from_state(&state) {
        Some(job) => drop(server::counting::runner::spawn(job, state.settings.daily_count)),
        None => tracing::warn!(
            "daily counting is off: set TOPCLUCK_COUNTING_CLIENT_ID and TOPCLUCK_COUNTING_CLIENT_SECRET \
             (a client registration of its own at the provider) to let farmers turn it on"
        ),
    }
    give_back_freed_memory();
    let renewer = std::sync::Arc::clone(&state.renewer);
    let timeouts = state.settings.timeouts;
    let app = server::app(state, cookie_keys);

    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| format!("cannot listen on {address}: {error}"))?;
    tracing::info!("TopCluck listening on http://{address}");
    // TCP_NODELAY, the header read timeout and graceful shutdown: see `server::edges::serve`.
    server::edges::serve_with(listener, app, shutdown_signal(), timeouts.header_read).await?;
    // Refreshes in flight finish and commit their answers (a deploy costs no session).
    if !renewer
        .drain(timeouts.refresh + std::time::Duration::from_secs(10))
        .await
    {
        tracing::warn!(
            "stopping while a refresh is still in flight: its lease will be settled by the next owner"
        );
    }
    // A daily run in flight finishes first: its refreshes' answers reach the vault.
    if !server::counting::drain(std::time::Duration::from_secs(90)).await {
        tracing::warn!("stopping while a daily count still runs: a refresh may be cut short");
    }
    Ok(0)
}

/// `server count-eggs`: one pass of the daily job now, on the server's vault. It says which
/// vault it opened, and loudly when there is none where it looked (a run from another
/// directory than the server's would otherwise make an empty vault and print "0 farmers" as if
/// all were well): exit status 2, nothing created. Exit status 1 when a farmer failed for a
/// reason other than needing re-consent, or when daily counting has no client of its own.
async fn count_eggs(
    options: leptos::config::LeptosOptions,
    settings: Settings,
    provider: Provider,
) -> Result<i32, Box<dyn std::error::Error>> {
    if settings.counting_client.is_none() {
        return Err(
            "daily counting is not configured: set TOPCLUCK_COUNTING_CLIENT_ID and \
                    TOPCLUCK_COUNTING_CLIENT_SECRET (the job's own client registration at the provider)"
                .into(),
        );
    }
    let vault = match server::vault::Vault::open_existing(&settings, &settings.data_dir).await {
        Ok(vault) => vault,
        Err(server::vault::VaultError::Missing { location }) => {
            println!("vault: {location}");
            eprintln!(
                "count-eggs: ERROR: there is no vault at {location}, so nobody could be counted \
                 (no vault was created). The server's vault is elsewhere: run count-eggs from the \
                 server's working directory, or set TOPCLUCK_DATA_DIR (or TOPCLUCK_DATABASE_URL) as \
                 the server has it."
            );
            return Ok(2);
        }
        Err(error) => return Err(error.into()),
    };
    println!("vault: {}", vault.location());
    let state = AppState::new(options, settings, provider).with_vault(vault);
    let job = server::counting::Job::from_state(&state).expect("a vault and a counting client");
    let day = state.settings.daily_count.day(state.clock.now());
    let summary = job.run(day).await?;
    for line in summary.lines() {
        println!("{line}");
    }
    if summary.farmers.is_empty() {
        eprintln!(
            "count-eggs: WARNING: no farmer has daily counting on in this vault (it is turned on \
             from the farm page; farmers who must consent again are not counted). If farmers have \
             it on, this is not the server's vault: check TOPCLUCK_DATA_DIR or TOPCLUCK_DATABASE_URL."
        );
    }
    Ok(if summary.any_failure() { 1 } else { 0 })
}

/// Hands the memory the server has freed back to the system every 10 seconds. glibc's
/// allocator keeps freed memory for reuse, returning only a free stretch at the very top of
/// each heap: after a burst of load (thousands of connections' buffers, freed in another order
/// than they came), the process kept its peak for good (README, "Under load": 307 MB a minute
/// after the load had ended). `malloc_trim` returns every free page of every arena. Under load
/// it costs a few milliseconds per call and pages faulted back in; it runs on the blocking pool.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "dhat-heap")))]
    tokio::spawn(async {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(10));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // SAFETY: malloc_trim only walks glibc's own arenas under their locks; it is
            // thread-safe and takes no pointer.
            let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
        }
    });
}

/// Resolves on Ctrl-C or SIGTERM so in-flight requests finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
