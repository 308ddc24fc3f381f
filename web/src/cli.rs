//! The `chorus` command line.

use crate::config::{ConfigError, LogFormat, Overrides, Settings};
use crate::server::{AppState, router};
use anyhow::{Context, bail};
use chorus_core::delivery::{Engine, EngineSettings};
use chorus_core::store::{Store, redact_url};
use clap::{Args, Parser, Subcommand};
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long `serve` waits for open HTTP requests after SIGTERM or Ctrl-C. The delivery
/// engine drains within its lease (see [`drain_grace`]).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// How long a stopping engine may take: attempts that sent nothing hand their deliveries
/// back at once, those talking to a platform finish, all within one lease (what is left
/// then is rescued like a crash's).
fn drain_grace(settings: &Settings) -> Duration {
    engine_settings(settings, None).lease + Duration::from_secs(1)
}

#[derive(Debug, Parser)]
#[command(
    name = "chorus",
    version,
    about = "Chorus: compose once, adapt per platform and audience segment, schedule, publish, measure.",
    long_about = "Chorus is a self-hostable social-media publishing hub.\n\n\
        With no command, `chorus` runs `serve`: the web server and the background worker on an \
        embedded SQLite database under ./chorus-data.\n\n\
        Settings come from (last wins): built-in defaults, the file given by --config, CHORUS_* \
        environment variables, then flags. See docs/configuration.md."
)]
pub struct Cli {
    /// A chorus.toml with settings (see docs/configuration.md).
    #[arg(long, global = true, env = "CHORUS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Where Chorus keeps its SQLite database, secret key and media [default: ./chorus-data]
    #[arg(long, global = true, env = "CHORUS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// sqlite://PATH or postgres://USER@HOST:PORT/DB [default: SQLite file in the data dir]
    #[arg(long, global = true, env = "CHORUS_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,

    /// How log lines look: human (default) or json.
    #[arg(long, global = true, env = "CHORUS_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// Log level or filter, e.g. info, debug, "info,chorus_core=debug" [default: info]
    #[arg(long, global = true, env = "CHORUS_LOG", value_name = "FILTER")]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and the background worker (the default command).
    Serve(ServeArgs),
    /// Run only the background worker; start several against one PostgreSQL to scale out.
    Worker {
        /// Also serve /healthz, /readyz and /metrics here, e.g. 127.0.0.1:9101.
        #[arg(long, env = "CHORUS_METRICS_BIND", value_name = "IP:PORT")]
        metrics_bind: Option<std::net::SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// List, inspect, install, scaffold and test platform plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Show how a platform's plugin adapts a post (optionally for a segment).
    Preview(PreviewArgs),
    /// Measure performance and print figures (use a release build).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Create workspaces (an agency, or a company).
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// People who sign in to the web UI and the API.
    #[command(subcommand)]
    User(UserCommand),
    /// Create brands (an agency's clients, or a company's brands).
    #[command(subcommand)]
    Brand(BrandCommand),
    /// Import a brand's contacts and their events.
    #[command(subcommand)]
    Audience(AudienceCommand),
    /// Define, size, compare and check audience segments (docs/segments.md).
    #[command(subcommand)]
    Segment(SegmentCommand),
    /// Personas: named representatives of segments.
    #[command(subcommand)]
    Persona(PersonaCommand),
    /// Compose, schedule, approve, edit, cancel and retry posts (docs/operations.md).
    #[command(subcommand)]
    Post(PostCommand),
    /// Posting slots: the times "add to queue" (`post create --queue`) picks from.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// A brand's media library: images and videos, read and checked by Chorus.
    #[command(subcommand)]
    Media(MediaCommand),
    /// The delivery queue: deliveries per state, how late the due ones are, and the ones
    /// that failed or died with their reasons (docs/operations.md).
    Queue {
        /// Failed and dead deliveries listed, oldest first.
        #[arg(long, default_value_t = 20)]
        limit: u64,
        #[arg(long)]
        json: bool,
    },
}

/// What a post says.
#[derive(Debug, Args, Default)]
pub struct ContentArgs {
    /// The post's text.
    #[arg(long)]
    pub text: Option<String>,
    /// A JSON post: {"body", "link"?, "hashtags"?, "locale"?, "media"?: [asset ids],
    /// "title"?, "options"?: {"tiktok": {"privacy_level": "SELF_ONLY"}}}.
    #[arg(long, value_name = "POST.json")]
    pub file: Option<PathBuf>,
    /// An absolute http(s) link; "" removes it.
    #[arg(long)]
    pub link: Option<String>,
    /// A hashtag (without #), once per tag.
    #[arg(long = "hashtag", value_name = "TAG")]
    pub hashtags: Vec<String>,
    /// BCP 47 language tag, e.g. en, sv-SE.
    #[arg(long)]
    pub locale: Option<String>,
    /// A title, for platforms that show one (Pinterest, TikTok photo posts); "" removes it.
    #[arg(long)]
    pub title: Option<String>,
    /// A media asset id from `chorus media list`, once per item, in order (replaces the
    /// post's media).
    #[arg(long = "media", value_name = "ASSET")]
    pub media: Vec<uuid::Uuid>,
    /// A platform's per-post choice, as PLATFORM.KEY=VALUE or ACCOUNT.KEY=VALUE (an account's
    /// own wins), e.g. tiktok.privacy_level=SELF_ONLY or pinterest.board=549755885175; an
    /// empty VALUE removes it. `chorus plugin show PLATFORM` lists the choices.
    #[arg(long = "option", value_name = "SCOPE.KEY=VALUE")]
    pub options: Vec<String>,
}

impl ContentArgs {
    fn r(&self) -> crate::post_cmd::Content<'_> {
        crate::post_cmd::Content {
            text: self.text.as_deref(),
            file: self.file.as_deref(),
            link: self.link.as_deref(),
            hashtags: &self.hashtags,
            locale: self.locale.as_deref(),
            title: self.title.as_deref(),
            media: &self.media,
            options: &self.options,
        }
    }
}

/// When a post goes out (one of --at, --now, --queue, --every).
#[derive(Debug, Args, Default)]
#[group(multiple = false, id = "when_group")]
pub struct WhenFlags {
    /// A wall-clock time in --zone (default: the brand's), e.g. "2026-12-24 09:00", or an
    /// instant with its offset.
    #[arg(long, group = "when_group")]
    pub at: Option<String>,
    /// As soon as possible.
    #[arg(long, group = "when_group")]
    pub now: bool,
    /// Each account's next free posting slot (see `chorus schedule`).
    #[arg(long, group = "when_group")]
    pub queue: bool,
    /// Recur on a cron schedule (5 fields, POSIX days: 0 and 7 = Sunday), e.g. "0 9 * * 1-5".
    #[arg(long, value_name = "CRON", group = "when_group")]
    pub every: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct ZoneFlags {
    /// IANA zone for --at, --every and --until [default: the brand's zone].
    #[arg(long)]
    pub zone: Option<String>,
    /// With --every: the last instant an occurrence may have.
    #[arg(long, requires = "every")]
    pub until: Option<String>,
}

fn when_args<'a>(w: &'a WhenFlags, z: &'a ZoneFlags) -> crate::post_cmd::WhenArgs<'a> {
    crate::post_cmd::WhenArgs {
        at: w.at.as_deref(),
        zone: z.zone.as_deref(),
        now: w.now,
        queue: w.queue,
        every: w.every.as_deref(),
        until: z.until.as_deref(),
    }
}

#[derive(Debug, Subcommand)]
pub enum PostCommand {
    /// Compose a post for accounts × segments; with --at, --now, --queue or --every it is
    /// scheduled too (held for approval when the brand requires it), else it stays a draft.
    Create {
        #[command(flatten)]
        at: BrandArg,
        #[command(flatten)]
        content: ContentArgs,
        /// PLATFORM, PLATFORM:HANDLE or an account id; once per account.
        #[arg(long = "account", value_name = "ACCOUNT", required = true)]
        accounts: Vec<String>,
        /// A segment name (or "everyone"); once per segment [default: everyone].
        #[arg(long = "segment", value_name = "SEGMENT")]
        segments: Vec<String>,
        #[command(flatten)]
        when: WhenFlags,
        #[command(flatten)]
        zone: ZoneFlags,
        #[arg(long)]
        json: bool,
    },
    /// Schedule (or reschedule) a post's deliveries that have not gone out.
    Schedule {
        id: uuid::Uuid,
        #[command(flatten)]
        when: WhenFlags,
        #[command(flatten)]
        zone: ZoneFlags,
        #[arg(long)]
        json: bool,
    },
    /// A brand's posts, newest first, with their deliveries' states.
    List {
        #[command(flatten)]
        at: BrandArg,
        /// Only posts in this state (draft, in_review, scheduled, published, ...).
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A post and each delivery: where, for whom, when, state, text, warnings, reasons.
    Show {
        id: uuid::Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Change a post's content; deliveries that have not gone out are adapted again.
    Edit {
        id: uuid::Uuid,
        #[command(flatten)]
        content: ContentArgs,
        /// The revision you last saw (refused if someone changed it since) [default: the current].
        #[arg(long)]
        revision: Option<i32>,
        #[arg(long)]
        json: bool,
    },
    /// Approve a post in review: its held deliveries are scheduled.
    Approve {
        id: uuid::Uuid,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Send a post in review back to draft with a comment.
    Reject {
        id: uuid::Uuid,
        #[arg(long)]
        comment: String,
        #[arg(long)]
        json: bool,
    },
    /// Cancel every delivery not yet on its way (and the recurrence).
    Cancel {
        id: uuid::Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Retry the deliveries that failed, died or were cancelled; published ones are never resent.
    Retry {
        id: uuid::Uuid,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Add posting slots for a brand (or one account): a cron rule in a zone.
    Add {
        #[command(flatten)]
        at: BrandArg,
        #[arg(long)]
        name: String,
        /// 5 fields, POSIX days (0 and 7 = Sunday), e.g. "0 9,17 * * 1-5".
        #[arg(long)]
        cron: String,
        /// IANA zone [default: the account's with --account, else the brand's].
        #[arg(long)]
        zone: Option<String>,
        /// Only for this account (PLATFORM or PLATFORM:HANDLE) [default: every account of the brand].
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The brand's posting slots and their next times.
    List {
        #[command(flatten)]
        at: BrandArg,
        #[arg(long, default_value_t = 5)]
        next: usize,
        #[arg(long)]
        json: bool,
    },
    /// Stop using a posting-slot rule for "add to queue" (what is planned keeps its time).
    Disable(NamedSchedule),
    /// Use a disabled posting-slot rule again.
    Enable(NamedSchedule),
    /// Remove a posting-slot rule (what is planned keeps its time).
    Remove(NamedSchedule),
}

/// One of a brand's posting-slot rules, by name.
#[derive(Debug, Args)]
pub struct NamedSchedule {
    #[command(flatten)]
    at: BrandArg,
    #[arg(long)]
    name: String,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    Create {
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "company")]
        kind: KindArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates a user (or sets an existing one's password) and grants a role. The password
    /// is read from CHORUS_PASSWORD or standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The workspace (slug) to grant the role in.
        #[arg(long)]
        workspace: Option<String>,
        /// Limit the role to one brand (slug) of the workspace, e.g. for a client approver.
        #[arg(long)]
        brand: Option<String>,
        /// owner, admin, editor, viewer or client_approver.
        #[arg(long, default_value = "owner")]
        role: String,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    Agency,
    Company,
}

#[derive(Debug, Subcommand)]
pub enum BrandCommand {
    Create {
        slug: String,
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        name: String,
        /// IANA time zone the brand plans in.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// small (segments from 1,000 people), medium (10,000) or large (100,000).
        #[arg(long)]
        audience_scale: Option<String>,
        /// Hold the brand's posts until they are approved (an agency's client signs off).
        #[arg(long)]
        requires_approval: bool,
    },
}

/// Which brand: its slug, and the workspace when the slug is not unique.
#[derive(Debug, Args)]
pub struct BrandArg {
    #[arg(long, value_name = "SLUG")]
    pub brand: String,
    #[arg(long, value_name = "SLUG")]
    pub workspace: Option<String>,
}

impl BrandArg {
    fn r(&self) -> crate::audience_cmd::BrandRef<'_> {
        crate::audience_cmd::BrandRef {
            brand: &self.brand,
            workspace: self.workspace.as_deref(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AudienceCommand {
    /// Import contacts (or events) from CSV or JSON Lines; upserts by external_id.
    Import {
        file: PathBuf,
        #[command(flatten)]
        at: BrandArg,
        /// csv or jsonl [default: from the file extension]
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// What the file holds.
        #[arg(long, value_enum, default_value = "contacts")]
        records: RecordsArg,
        /// A JSON column mapping (docs/segments.md).
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
        /// Write the good rows even if some are invalid (reported).
        #[arg(long)]
        skip_invalid: bool,
        /// Write every invalid row (line, column, value, reason) to this CSV.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RecordsArg {
    Contacts,
    Events,
}

#[derive(Debug, Subcommand)]
pub enum SegmentCommand {
    /// Define a segment from a JSON file.
    Create {
        #[command(flatten)]
        at: BrandArg,
        #[arg(long, value_name = "SEGMENT.json")]
        file: PathBuf,
    },
    /// Replace a segment's definition.
    Update {
        name: String,
        #[command(flatten)]
        at: BrandArg,
        #[arg(long, value_name = "SEGMENT.json")]
        file: PathBuf,
    },
    /// The brand's segments with sizes, priority ranking and warnings.
    List {
        #[command(flatten)]
        at: BrandArg,
        #[arg(long)]
        json: bool,
    },
    /// One segment: definition, size, lookalike drivers, targeting per platform, snapshots.
    Show {
        name: String,
        #[command(flatten)]
        at: BrandArg,
        #[arg(long)]
        json: bool,
    },
    /// Count the members now; --snapshot stores them as a new version.
    Size {
        name: String,
        #[command(flatten)]
        at: BrandArg,
        #[arg(long)]
        snapshot: bool,
        #[arg(long)]
        json: bool,
    },
    /// |A∩B| between segments (all of the brand's when none are named).
    Overlap {
        names: Vec<String>,
        #[command(flatten)]
        at: BrandArg,
        #[arg(long)]
        json: bool,
    },
    /// Record that the segment was reviewed (due quarterly).
    Review {
        name: String,
        #[command(flatten)]
        at: BrandArg,
    },
    /// Warnings: too small, too broad, too similar, primaries, personas, reviews, platform minimums.
    Check {
        #[command(flatten)]
        at: BrandArg,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PersonaCommand {
    Create {
        #[command(flatten)]
        at: BrandArg,
        #[arg(long, value_name = "PERSONA.json")]
        file: PathBuf,
    },
    List {
        #[command(flatten)]
        at: BrandArg,
        #[arg(long)]
        json: bool,
    },
    Show {
        name: String,
        #[command(flatten)]
        at: BrandArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Add an image (JPEG, PNG, GIF, WebP) or a video (MP4, MOV): its type, dimensions,
    /// duration, codec and frame rate are read from the file itself.
    Add {
        /// A file, or an http(s) URL to download it from (streamed to a temporary file).
        #[arg(value_name = "FILE|URL")]
        file: String,
        #[command(flatten)]
        at: BrandArg,
        /// What the image shows, for people who cannot see it (sent as alt text).
        #[arg(long)]
        alt: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The brand's media, newest first.
    List {
        #[command(flatten)]
        at: BrandArg,
        #[arg(long)]
        json: bool,
    },
    /// One asset: what was read from it, the posts using it, a signed URL.
    Show {
        id: String,
        #[command(flatten)]
        at: BrandArg,
        #[arg(long)]
        json: bool,
    },
    /// Remove an asset no post uses, and its stored bytes.
    Remove {
        id: String,
        #[command(flatten)]
        at: BrandArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Plugin sandbox: instantiation, adapt latency, 30-way fan-out, native comparison.
    Plugins {
        /// Calls measured per figure.
        #[arg(long, default_value_t = 2000)]
        iterations: usize,
    },
    /// Delivery engine: deliveries/s end to end (claim, plugin publish, HTTP to the X
    /// simulator, ack), lateness, and the ratio to a bare claim/ack loop on the same database.
    Dispatch {
        #[arg(long, default_value_t = 10_000)]
        deliveries: usize,
        #[arg(long, default_value_t = 100)]
        accounts: usize,
        /// Added to every answer of the simulated platform, in milliseconds.
        #[arg(long, default_value_t = 0)]
        platform_latency: u64,
        /// Benchmark this database (default: a new SQLite file in a temporary directory). On a
        /// PostgreSQL URL the run creates a scratch database on that server and drops it after.
        #[arg(long)]
        database_url: Option<String>,
        /// Deliveries due per second, spread over the run (default: all due at the start),
        /// to measure lateness under a steady load.
        #[arg(long, default_value_t = 0)]
        rate: u32,
    },
    /// Media: the memory a large video costs when added to the library and uploaded in
    /// chunks as the plugin host streams them, against reading the whole asset per chunk.
    Media {
        /// The video's size.
        #[arg(long, default_value_t = 500)]
        size_mb: u64,
        /// The upload's chunk size (TikTok takes 5-64 MB chunks).
        #[arg(long, default_value_t = 64)]
        chunk_mb: u64,
    },
    /// Publishing: each multi-step flow (Instagram, TikTok, Pinterest) through its plugin
    /// against its simulator, timed against a one-request publish, and a large video
    /// published to TikTok in chunks with the process's peak extra memory.
    Publish {
        /// Publishes per flow (the median is shown).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The large video's size.
        #[arg(long, default_value_t = 500)]
        video_mb: u64,
    },
    /// The REST API under load on loopback: the calendar's month view and previews, each
    /// beside /healthz at the same concurrency.
    Api {
        /// Posts of the brand, spread over a year.
        #[arg(long, default_value_t = 10_000)]
        posts: usize,
        /// Requests per figure.
        #[arg(long, default_value_t = 4_000)]
        requests: usize,
        /// Concurrent connections reading the calendar.
        #[arg(long, default_value_t = 200)]
        calendar_connections: usize,
        /// Concurrent connections asking for previews.
        #[arg(long, default_value_t = 50)]
        preview_connections: usize,
    },
    /// Audiences: import, 5-rule segment size and 5-segment overlap on a synthetic audience.
    Audience {
        /// Contacts to generate.
        #[arg(long, default_value_t = 1_000_000)]
        contacts: u64,
        /// Keep the generated database in this directory (for EXPLAIN and reruns).
        #[arg(long)]
        keep: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// The plugins this Chorus runs, bundled and installed.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A plugin's manifest, grant and `describe` rules.
    Inspect {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Install a plugin: a directory (or plugin.toml) with its manifest and component.
    Install { path: PathBuf },
    /// Scaffold a new plugin crate that builds and passes `plugin test` unchanged.
    New {
        name: String,
        /// Parent directory for the new crate [default: .]
        #[arg(long, value_name = "DIR", default_value = ".")]
        path: PathBuf,
        /// The chorus-plugin-sdk crate to depend on [default: this source tree's]
        #[arg(long, value_name = "DIR")]
        sdk: Option<PathBuf>,
    },
    /// Run the conformance checks on a plugin crate, a manifest, or a plugin id.
    Test {
        target: String,
        /// The sample account's id on the platform, in the form the plugin expects (e.g.
        /// `urn:li:organization:1` for LinkedIn), so the network checks reach the platform.
        #[arg(long, value_name = "REMOTE_ID", default_value = "1")]
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Run a plugin's network export (publish, find-published or fetch-metrics) in the real
    /// sandbox against a server you name (a local fake of the platform), and print every
    /// request it sent and what came back.
    Run(PluginRunArgs),
}

#[derive(Debug, Args)]
pub struct PluginRunArgs {
    /// The export to call.
    #[arg(value_enum)]
    pub export: crate::plugin_cmd::RunExport,
    /// A plugin crate (built first), a manifest, or a bundled or installed plugin id.
    pub target: String,
    /// Where the platform's API answers: the plugin's requests go here (a local fake).
    #[arg(long, value_name = "URL")]
    pub api_base: String,
    /// The test account's access token; the host adds it to the requests, as in production.
    #[arg(long)]
    pub token: Option<String>,
    /// The test account's id on the platform.
    #[arg(long, value_name = "REMOTE_ID", default_value = "1")]
    pub account: String,
    /// The test account's handle.
    #[arg(long, default_value = "tester")]
    pub handle: String,
    /// The post's text (publish, find-published); adapted by the plugin first.
    #[arg(long, conflicts_with = "post_file")]
    pub text: Option<String>,
    /// A JSON post: {"body", "link", "hashtags", "locale", "media": [...]}.
    #[arg(long, value_name = "FILE")]
    pub post_file: Option<PathBuf>,
    /// The delivery's marker: publish stamps it on the post, find-published looks for it.
    #[arg(long, default_value = "chorus-plugin-run")]
    pub marker: String,
    /// fetch-metrics: a post's id on the platform (repeat for several).
    #[arg(long = "remote-id", value_name = "ID")]
    pub remote_ids: Vec<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Platform (or plugin) id, e.g. mastodon, x, linkedin.
    #[arg(long)]
    pub platform: String,
    /// The post's text.
    #[arg(long, conflicts_with = "post_file")]
    pub text: Option<String>,
    /// A JSON post: {"body", "link", "hashtags", "locale", "media": [...], "title",
    /// "options": {"board": "…"}}.
    #[arg(long, value_name = "FILE")]
    pub post_file: Option<PathBuf>,
    /// A JSON segment: {"name", "tone": {...}, "audience": {...}}.
    #[arg(long, value_name = "FILE")]
    pub segment_file: Option<PathBuf>,
    /// The account's id on the platform, which can change the adaptation: a LinkedIn
    /// organization URN (only organizations can target), a Facebook Page id.
    #[arg(long, value_name = "REMOTE_ID", default_value = "preview")]
    pub account: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "CHORUS_BIND", value_name = "IP:PORT")]
    pub bind: Option<String>,
    /// Offline sandbox: seed a demo agency and connect its accounts to sandbox X, LinkedIn,
    /// Facebook, Bluesky, Instagram, TikTok and Pinterest platforms served by this process
    /// on loopback.
    #[arg(long)]
    pub demo: bool,
}

/// Parses the command line, runs the command, and turns any error into a message and an
/// exit code: 2 for settings that cannot be used, 1 for everything else.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    let bind = match &command {
        Command::Serve(a) => a.bind.clone(),
        _ => None,
    };
    let overrides = Overrides {
        config: cli.config,
        data_dir: cli.data_dir,
        database_url: cli.database_url,
        bind,
        log_format: cli.log_format,
        // Commands a person runs at a prompt print their own results; routine progress logs
        // (migrations, pool) would only bury them, so they log warnings unless asked.
        log_level: cli.log_level.or_else(|| {
            matches!(
                command,
                Command::Workspace(_)
                    | Command::User(_)
                    | Command::Brand(_)
                    | Command::Audience(_)
                    | Command::Segment(_)
                    | Command::Persona(_)
                    | Command::Post(_)
                    | Command::Schedule(_)
                    | Command::Media(_)
                    | Command::Bench(_)
            )
            .then(|| "warn".to_owned())
        }),
        // Secrets are read from the environment only, never from flags (which `ps` shows).
        secret_key: std::env::var("CHORUS_SECRET_KEY").ok().filter(|k| !k.trim().is_empty()),
        platform_api_bases: Overrides::platform_api_bases_from_env(),
        platform_oauth: Overrides::platform_oauth_from_env(),
    };
    let settings = match Settings::resolve(overrides) {
        Ok(s) => s,
        Err(e) => return fail(&e.into(), 2),
    };
    crate::logging::init(settings.log_format, &settings.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start the async runtime"), 1),
    };
    let result = runtime.block_on(async {
        match command {
            Command::Serve(a) => serve(&settings, a.demo).await,
            Command::Worker { metrics_bind } => worker(&settings, metrics_bind).await,
            Command::Migrate => migrate(&settings).await,
            Command::Plugin(cmd) => plugin(&settings, cmd).await,
            Command::Bench(BenchCommand::Plugins { iterations }) => crate::bench::plugins(iterations.max(10)).await,
            Command::Bench(BenchCommand::Dispatch {
                deliveries,
                accounts,
                platform_latency,
                database_url,
                rate,
            }) => {
                crate::bench_dispatch::run(crate::bench_dispatch::DispatchArgs {
                    deliveries,
                    accounts,
                    platform_latency: Duration::from_millis(platform_latency),
                    database_url,
                    rate,
                })
                .await
            }
            Command::Bench(BenchCommand::Media { size_mb, chunk_mb }) => {
                crate::bench_media::run(crate::bench_media::MediaArgs { size_mb, chunk_mb }).await
            }
            Command::Bench(BenchCommand::Publish { rounds, video_mb }) => {
                crate::bench_publish::run(crate::bench_publish::PublishArgs { rounds, video_mb }).await
            }
            Command::Bench(BenchCommand::Api {
                posts,
                requests,
                calendar_connections,
                preview_connections,
            }) => {
                crate::bench_api::run(crate::bench_api::ApiArgs {
                    posts: posts.max(1),
                    requests: requests.max(10),
                    calendar_connections: calendar_connections.max(1),
                    preview_connections: preview_connections.max(1),
                })
                .await
            }
            Command::Bench(BenchCommand::Audience { contacts, keep }) => {
                crate::bench_audience::run(contacts.max(1000), keep).await
            }
            Command::Workspace(c) => audience(&settings, AudienceCli::Workspace(c)).await,
            Command::User(UserCommand::Create {
                email,
                name,
                workspace,
                brand,
                role,
            }) => {
                async {
                    let role: chorus_core::domain::Role = role.parse()?;
                    let store = open_store(&settings, true).await?;
                    let r = crate::user_cmd::create(
                        &store,
                        crate::user_cmd::CreateUser {
                            email: &email,
                            name: &name,
                            workspace: workspace.as_deref(),
                            brand: brand.as_deref(),
                            role,
                        },
                    )
                    .await;
                    let _ = store.close().await;
                    r
                }
                .await
            }
            Command::Brand(c) => audience(&settings, AudienceCli::Brand(c)).await,
            Command::Audience(c) => audience(&settings, AudienceCli::Audience(c)).await,
            Command::Segment(c) => audience(&settings, AudienceCli::Segment(c)).await,
            Command::Persona(c) => audience(&settings, AudienceCli::Persona(c)).await,
            Command::Queue { limit, json } => crate::queue_cmd::show(&settings, limit, json).await,
            Command::Post(c) => post(&settings, c).await,
            Command::Schedule(c) => schedule(&settings, c).await,
            Command::Media(c) => media(&settings, c).await,
            Command::Preview(a) => {
                let args = crate::plugin_cmd::PreviewArgs {
                    platform: &a.platform,
                    text: a.text.as_deref(),
                    post_file: a.post_file.as_deref(),
                    segment_file: a.segment_file.as_deref(),
                    account: &a.account,
                    json: a.json,
                };
                crate::plugin_cmd::preview(&settings, args).await
            }
        }
    });
    // Do not wait for stray blocking tasks: shutdown has its own deadline.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = if e.downcast_ref::<ConfigError>().is_some() {
                2
            } else {
                1
            };
            fail(&e, code)
        }
    }
}

fn fail(e: &anyhow::Error, code: u8) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::from(code)
}

async fn plugin(settings: &Settings, cmd: PluginCommand) -> anyhow::Result<()> {
    use crate::plugin_cmd as p;
    match cmd {
        PluginCommand::List { json } => p::list(settings, json).await,
        PluginCommand::Inspect { id, json } => p::inspect(settings, &id, json).await,
        PluginCommand::Install { path } => p::install(settings, &path).await,
        PluginCommand::New { name, path, sdk } => {
            let sdk = sdk.unwrap_or_else(crate::scaffold::default_sdk_path);
            let root = crate::scaffold::new_plugin(&name, &path, &sdk)?;
            println!(
                "created {}; next: `chorus plugin test {}`",
                root.display(),
                root.display()
            );
            Ok(())
        }
        PluginCommand::Run(a) => {
            let args = p::RunArgs {
                export: a.export,
                target: &a.target,
                api_base: &a.api_base,
                token: a.token.as_deref(),
                account: &a.account,
                handle: &a.handle,
                text: a.text.as_deref(),
                post_file: a.post_file.as_deref(),
                marker: &a.marker,
                remote_ids: &a.remote_ids,
                json: a.json,
            };
            if p::run(settings, args).await? {
                Ok(())
            } else {
                bail!("the call failed (see above)")
            }
        }
        PluginCommand::Test { target, account, json } => {
            if p::test(settings, &target, &account, json).await? {
                Ok(())
            } else {
                bail!("the plugin failed conformance checks (see above)")
            }
        }
    }
}

enum AudienceCli {
    Workspace(WorkspaceCommand),
    Brand(BrandCommand),
    Audience(AudienceCommand),
    Segment(SegmentCommand),
    Persona(PersonaCommand),
}

async fn audience(settings: &Settings, cmd: AudienceCli) -> anyhow::Result<()> {
    use crate::audience_cmd as a;
    let store = open_store(settings, true).await?;
    let result = match cmd {
        AudienceCli::Workspace(WorkspaceCommand::Create { slug, name, kind }) => {
            let kind = match kind {
                KindArg::Agency => chorus_core::domain::WorkspaceKind::Agency,
                KindArg::Company => chorus_core::domain::WorkspaceKind::Company,
            };
            a::create_workspace(&store, &slug, &name, kind).await
        }
        AudienceCli::Brand(BrandCommand::Create {
            slug,
            workspace,
            name,
            timezone,
            audience_scale,
            requires_approval,
        }) => {
            a::create_brand(
                &store,
                &slug,
                &workspace,
                &name,
                &timezone,
                audience_scale.as_deref(),
                requires_approval,
            )
            .await
        }
        AudienceCli::Audience(AudienceCommand::Import {
            file,
            at,
            format,
            records,
            mapping,
            skip_invalid,
            report,
            json,
        }) => {
            use chorus_core::audience::import::{Format, Records};
            let args = a::ImportArgs {
                file: &file,
                format: format.map(|f| match f {
                    FormatArg::Csv => Format::Csv,
                    FormatArg::Jsonl => Format::Jsonl,
                }),
                records: match records {
                    RecordsArg::Contacts => Records::Contacts,
                    RecordsArg::Events => Records::Events,
                },
                mapping: mapping.as_deref(),
                skip_invalid,
                report: report.as_deref(),
                json,
            };
            a::import_file(&store, &at.r(), args).await
        }
        AudienceCli::Segment(c) => match c {
            SegmentCommand::Create { at, file } => a::create_segment(&store, &at.r(), &file).await,
            SegmentCommand::Update { name, at, file } => a::update_segment(&store, &at.r(), &name, &file).await,
            SegmentCommand::List { at, json } => a::list_segments(&store, &at.r(), json).await,
            SegmentCommand::Show { name, at, json } => a::show_segment(settings, &store, &at.r(), &name, json).await,
            SegmentCommand::Size {
                name,
                at,
                snapshot,
                json,
            } => a::size_segment(&store, &at.r(), &name, snapshot, json).await,
            SegmentCommand::Overlap { names, at, json } => a::overlap(&store, &at.r(), &names, json).await,
            SegmentCommand::Review { name, at } => a::review(&store, &at.r(), &name).await,
            SegmentCommand::Check { at, json } => a::check(settings, &store, &at.r(), json).await,
        },
        AudienceCli::Persona(c) => match c {
            PersonaCommand::Create { at, file } => a::create_persona(&store, &at.r(), &file).await,
            PersonaCommand::List { at, json } => a::list_personas(&store, &at.r(), json).await,
            PersonaCommand::Show { name, at } => a::show_persona(&store, &at.r(), &name).await,
        },
    };
    let _ = store.close().await;
    result
}

async fn post(settings: &Settings, cmd: PostCommand) -> anyhow::Result<()> {
    use crate::post_cmd as p;
    let store = open_store(settings, true).await?;
    let plugins = crate::plugin_cmd::registry_with_kv(settings, std::sync::Arc::new(store.plugin_kv())).await?;
    let result = match cmd {
        PostCommand::Create {
            at,
            content,
            accounts,
            segments,
            when,
            zone,
            json,
        } => {
            let args = p::CreateArgs {
                at: at.r(),
                content: content.r(),
                accounts: &accounts,
                segments: &segments,
                when: when_args(&when, &zone),
                json,
            };
            p::create(&store, &plugins, args).await
        }
        PostCommand::Schedule { id, when, zone, json } => {
            p::schedule(&store, &plugins, id, when_args(&when, &zone), json).await
        }
        PostCommand::List { at, status, json } => p::list(&store, &at.r(), status.as_deref(), json).await,
        PostCommand::Show { id, json } => p::show(&store, id, json).await,
        PostCommand::Edit {
            id,
            content,
            revision,
            json,
        } => p::edit(&store, &plugins, id, content.r(), revision, json).await,
        PostCommand::Approve { id, note, json } => {
            p::decide(&store, &plugins, id, p::Decision::Approve(note.as_deref()), json).await
        }
        PostCommand::Reject { id, comment, json } => {
            p::decide(&store, &plugins, id, p::Decision::Reject(&comment), json).await
        }
        PostCommand::Cancel { id, json } => p::cancel(&store, &plugins, id, json).await,
        PostCommand::Retry { id, json } => p::retry(&store, &plugins, id, json).await,
    };
    let _ = store.close().await;
    result
}

async fn media(settings: &Settings, cmd: MediaCommand) -> anyhow::Result<()> {
    use crate::media_cmd as m;
    let store = open_store(settings, true).await?;
    let library = settings.media_library()?;
    let result = match cmd {
        MediaCommand::Add { file, at, alt, json } => m::add(&store, &library, &at.r(), &file, alt, json).await,
        MediaCommand::List { at, json } => m::list(&store, &at.r(), json).await,
        MediaCommand::Show { id, at, json } => m::show(&store, &library, &at.r(), &id, json).await,
        MediaCommand::Remove { id, at } => m::remove(&store, &library, &at.r(), &id).await,
    };
    let _ = store.close().await;
    result
}

async fn schedule(settings: &Settings, cmd: ScheduleCommand) -> anyhow::Result<()> {
    use crate::post_cmd as p;
    let store = open_store(settings, true).await?;
    let result = match cmd {
        ScheduleCommand::Add {
            at,
            name,
            cron,
            zone,
            account,
            json,
        } => p::add_schedule(&store, &at.r(), &name, &cron, zone.as_deref(), account.as_deref(), json).await,
        ScheduleCommand::List { at, next, json } => p::list_schedules(&store, &at.r(), next.max(1), json).await,
        ScheduleCommand::Disable(s) => {
            p::change_schedule(&store, &s.at.r(), &s.name, p::ScheduleChange::Disable, s.json).await
        }
        ScheduleCommand::Enable(s) => {
            p::change_schedule(&store, &s.at.r(), &s.name, p::ScheduleChange::Enable, s.json).await
        }
        ScheduleCommand::Remove(s) => {
            p::change_schedule(&store, &s.at.r(), &s.name, p::ScheduleChange::Remove, s.json).await
        }
    };
    let _ = store.close().await;
    result
}

pub(crate) async fn open_store(settings: &Settings, migrate: bool) -> anyhow::Result<Store> {
    settings.prepare_data_dir()?;
    let key = settings.secret_key()?;
    let store = if migrate {
        Store::open(&settings.database_url, key).await?
    } else {
        Store::connect(&settings.database_url, key).await?
    };
    tracing::info!(database = %redact_url(&settings.database_url), "database ready");
    Ok(store)
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let store = open_store(settings, false).await?;
    let applied = store.migrate(&settings.database_url).await?;
    if applied.is_empty() {
        println!("database {} is up to date", redact_url(&settings.database_url));
    } else {
        println!(
            "applied {} migration(s) to {}:",
            applied.len(),
            redact_url(&settings.database_url)
        );
        for name in applied {
            println!("  {name}");
        }
    }
    store.close().await?;
    Ok(())
}

/// Accepted connections send small writes at once (TCP_NODELAY). Without it, a response
/// written as headers then body (a streamed `/media` file) waited for the client's delayed
/// ACK: 40 ms per media fetch on loopback (`chorus bench publish`).
pub(crate) fn no_delay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    fn set(tcp: &mut tokio::net::TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY on a connection");
        }
    }
    axum::serve::ListenerExt::tap_io(listener, set as fn(&mut tokio::net::TcpStream))
}

async fn serve(settings: &Settings, demo: bool) -> anyhow::Result<()> {
    settings.prepare_data_dir()?;
    // Bind first: a port in use is reported before anything else happens.
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .map_err(|e| bind_error(settings, e))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let store = open_store(settings, true).await?;
    let mut settings = settings.clone();
    let sandbox = if demo {
        let sandbox = crate::demo::Sandbox::start().await?;
        settings.plugins.api_bases.extend(sandbox.api_bases());
        settings.plugins.local_origins.extend(sandbox.local_origins());
        Some(sandbox)
    } else {
        None
    };
    let plugins = std::sync::Arc::new(
        crate::plugin_cmd::registry_with_kv(&settings, std::sync::Arc::new(store.plugin_kv())).await?,
    );
    let ids: Vec<&str> = plugins.list().map(|p| p.id()).collect();
    tracing::info!(plugins = %ids.join(", "), "platform plugins loaded");
    let stop = stop_on_signal()?;

    let media = settings.media_library_served_at(addr)?;
    if let (Some(sandbox), Some(signer)) = (&sandbox, media.signer()) {
        sandbox.trust_media_at(signer.public_base());
    }
    let engine = Engine::new(
        store.clone(),
        plugins.clone(),
        engine_settings(&settings, Some(media.clone())),
    );
    let stats = engine.stats();
    let worker = tokio::spawn(engine.run(stop.clone()));
    let api = crate::api::Api::new(
        store.clone(),
        plugins.clone(),
        Some(media.clone()),
        crate::api::ApiSettings {
            // Browsers keep `Secure` cookies on https and on loopback; plain http on another
            // host (a LAN test box) would lose the session, so only there is it left off.
            secure_cookies: addr.ip().is_loopback()
                || settings
                    .media
                    .public_base_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://")),
            public_base: settings
                .media
                .public_base_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}")),
            oauth_clients: settings.oauth.clone(),
            webhooks_allow_private: settings.webhooks_allow_private,
            ..Default::default()
        },
    );
    let mut app = crate::server::router_with(
        AppState {
            store: store.clone(),
            plugins: plugins.clone(),
            started: Instant::now(),
            stats: Some(stats),
            media: Some(media.clone()),
        },
        api.clone(),
    );
    if let Some(sandbox) = sandbox {
        let seeded = crate::demo::seed(&store, &sandbox)
            .await
            .context("seeding the demo workspace")?;
        let tour = crate::demo::schedule_tour(&store, &plugins, &media)
            .await
            .context("scheduling the demo's posts")?;
        for (email, role, password) in &seeded.people {
            tracing::info!(email = %email, role = %role, password = %password, "demo: sign in at POST /api/v1/session (a new password each start)");
        }
        tracing::info!(
            workspace = crate::demo::WORKSPACE,
            brands = %seeded.brands.join(", "),
            created = seeded.created,
            scheduled_posts = tour,
            x = %sandbox.x.base_url,
            linkedin = %sandbox.linkedin.base_url,
            facebook = %sandbox.facebook.base_url,
            "demo: sandbox platforms on loopback; posts scheduled over the next minutes (`chorus post list --brand northwind`); see GET /sandbox, publish now with POST /sandbox/publish"
        );
        app = app.merge(crate::demo::routes(crate::demo::SandboxState { api, sandbox }));
    }
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "Chorus listening on http://{addr}");
    let first_start = !store.identity().has_users().await.unwrap_or(true);
    if first_start {
        tracing::warn!(
            "no one can sign in yet: create the first owner with `chorus user create --email you@example.com --name \"Your Name\" --workspace SLUG`"
        );
    }
    // The peer address feeds the sign-in rate limit.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(no_delay(listener), app).with_graceful_shutdown(stopped(stop.clone()));
    run_until_stopped(std::future::IntoFuture::into_future(server), stop, SHUTDOWN_GRACE)
        .await
        .context("the HTTP server failed")?;
    if tokio::time::timeout(drain_grace(&settings), worker).await.is_err() {
        tracing::warn!("the delivery engine did not stop within its lease; stopping anyway");
    }
    let _ = tokio::time::timeout(Duration::from_millis(300), store.close()).await;
    tracing::info!("Chorus stopped");
    Ok(())
}

async fn worker(settings: &Settings, metrics_bind: Option<std::net::SocketAddr>) -> anyhow::Result<()> {
    let store = open_store(settings, false).await?;
    let pending = store.pending_migrations(&settings.database_url).await?;
    if !pending.is_empty() {
        bail!(
            "database {} is missing {} migration(s) ({}); run `chorus migrate` (or start `chorus serve`) first",
            redact_url(&settings.database_url),
            pending.len(),
            pending.join(", ")
        );
    }
    let plugins = std::sync::Arc::new(
        crate::plugin_cmd::registry_with_kv(settings, std::sync::Arc::new(store.plugin_kv())).await?,
    );
    let stop = stop_on_signal()?;
    let media = settings.media_library()?;
    let engine = Engine::new(store.clone(), plugins.clone(), engine_settings(settings, Some(media)));
    if let Some(addr) = metrics_bind {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("--metrics-bind {addr}"))?;
        let app = router(AppState {
            store: store.clone(),
            plugins,
            started: Instant::now(),
            stats: Some(engine.stats()),
            media: None,
        });
        tracing::info!(%addr, "serving /healthz, /readyz and /metrics");
        tokio::spawn(
            axum::serve(no_delay(listener), app)
                .with_graceful_shutdown(stopped(stop.clone()))
                .into_future(),
        );
    }
    tracing::info!("Chorus worker started");
    let work = engine.run(stop.clone());
    run_until_stopped(
        async { Ok::<_, std::io::Error>(work.await) },
        stop,
        drain_grace(settings),
    )
    .await?;
    let _ = tokio::time::timeout(Duration::from_millis(300), store.close()).await;
    Ok(())
}

/// The engine as the operator configured it.
fn engine_settings(settings: &Settings, media: Option<chorus_core::media::MediaLibrary>) -> EngineSettings {
    EngineSettings {
        rescue_every: settings.worker_tick,
        oauth: settings.oauth.clone(),
        media,
        webhooks: chorus_core::webhooks::WebhookSettings {
            allow_private: settings.webhooks_allow_private,
            ..Default::default()
        },
        ..EngineSettings::default()
    }
}

/// Runs `task` to completion, but no longer than `grace` once a stop is asked.
async fn run_until_stopped<T, E>(
    task: impl Future<Output = Result<T, E>>,
    stop: watch::Receiver<bool>,
    grace: Duration,
) -> Result<(), E> {
    tokio::select! {
        r = task => r.map(|_| ()),
        _ = async { stopped(stop).await; tokio::time::sleep(grace).await } => {
            tracing::warn!("in-flight work did not finish within {}s; stopping anyway", grace.as_secs());
            Ok(())
        }
    }
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Listens for SIGTERM and Ctrl-C (SIGINT) and returns a channel that turns true on the
/// first. The handlers are installed before this returns, so a signal that arrives right
/// after the "started" log line is handled, not fatal.
fn stop_on_signal() -> anyhow::Result<watch::Receiver<bool>> {
    let (stop_tx, stop) = watch::channel(false);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("shutdown requested; finishing in-flight work");
            let _ = stop_tx.send(true);
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown requested; finishing in-flight work");
        let _ = stop_tx.send(true);
    });
    Ok(stop)
}

fn bind_error(settings: &Settings, e: std::io::Error) -> anyhow::Error {
    let why = match e.kind() {
        std::io::ErrorKind::AddrInUse => "the port is already in use by another program".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied (ports below 1024 need privileges)".to_owned(),
        std::io::ErrorKind::AddrNotAvailable => "this machine has no such address".to_owned(),
        _ => e.to_string(),
    };
    anyhow::anyhow!(
        "bind {}: {why}; choose another address with --bind or CHORUS_BIND (e.g. --bind 127.0.0.1:8081)",
        settings.bind
    )
}
