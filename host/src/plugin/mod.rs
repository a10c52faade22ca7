//! Step 2 of a run: load plugins. Compile (or reuse the cached artifact), check the WIT version
//! before instantiating, and run every call in a fresh, capability-free, limited sandbox.
//!
//! Each call (`info`, `plan`, one `check`) gets its own store and instance: no state survives
//! between calls, so a verdict can only depend on its input, and a runaway call harms no other.

pub mod bundled;
pub mod cache;
pub mod contract;
pub mod limits;
pub mod v0_1;
pub mod v0_2;

use contract::{GUEST_INTERFACE, Info, Level};
use limits::{Limits, MemoryLimiter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// How much of a plugin's stdout/stderr is kept per call.
const CAPTURED_OUTPUT_BYTES: usize = 64 << 10;

/// Why a plugin call did not return normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// Interrupted at the time limit.
    Timeout(Duration),
    /// A memory growth past the limit was refused and the plugin then failed.
    Memory { limit: usize, requested: usize },
    /// Any other trap (panic, unreachable, bad import).
    Trap(String),
    /// An exception in the plugin's own code, as its SDK described it (`raised KeyError: 'x' (at
    /// app.py:12)`) before trapping: a bug in the plugin, never a verdict on the service.
    Fault(String),
}

/// The prefix of the line an SDK writes to stderr when the plugin's code throws, before the call
/// traps: the rest of the line says what was thrown and where.
const FAULT_LINE: &str = "smoke-plugin fault: ";

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailure::Timeout(limit) => write!(
                f,
                "exceeded its time limit of {} and was interrupted (raise it with --plugin-timeout)",
                humantime::format_duration(*limit)
            ),
            CallFailure::Memory { limit, requested } => write!(
                f,
                "exceeded its memory limit of {} MiB (it asked for {} MiB; raise it with --plugin-memory-mib)",
                limit >> 20,
                requested.div_ceil(1 << 20)
            ),
            CallFailure::Trap(message) => write!(f, "trapped: {message}"),
            CallFailure::Fault(message) => f.write_str(message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {path}: cannot read it: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("plugin {path}: {what}; a plugin is a .wasm component file")]
    NotAFile { path: PathBuf, what: String },
    #[error(
        "plugin {path}: over the limit of {MAX_COMPONENT_BYTES} bytes for a component; is it the right file?"
    )]
    TooLarge { path: PathBuf },
    #[error(
        "plugin {path}: not a WebAssembly component smoke can load: {message}\n  \
         build plugins with `cargo build --release --target wasm32-wasip2`"
    )]
    Compile { path: PathBuf, message: String },
    #[error(
        "plugin {path}: not a smoke plugin: it does not export {GUEST_INTERFACE} \
         (it exports: {exports})"
    )]
    NotSmokePlugin { path: PathBuf, exports: String },
    #[error(
        "plugin {path} was built for WIT package smoke:plugin@{found}, but this smoke runs {}{}.\n  \
         Rebuild the plugin for smoke:plugin@{} (with the SDK of this smoke's version: see \
         docs/compatibility.md), or run it with a smoke release that supports smoke:plugin@{found}.",
        contract::supported_phrase(),
        if *.newer { " (the plugin's is newer)" } else { "" },
        contract::CURRENT
    )]
    WitVersion { path: PathBuf, found: String, newer: bool },
    #[error("plugin {plugin}: cannot be instantiated: {message}")]
    Instantiate { plugin: String, message: String },
    #[error("plugin {plugin}: `{call}` {failure}")]
    Call { plugin: String, call: &'static str, failure: CallFailure },
    #[error("plugin {plugin}: config: {message}")]
    Config { plugin: String, message: String },
    #[error("plugin {plugin}: {message}")]
    Unsupported { plugin: String, message: String },
}

/// Store data: the sandbox's WASI context (no capabilities), the limiter and collected logs.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    logs: Vec<(Level, String)>,
}

/// The most of one log line, and of all the lines of one call, a plugin's logs keep.
const MAX_LOG_LINE_BYTES: usize = 4 << 10;
const MAX_LOG_BYTES: usize = 1 << 20;

impl State {
    fn log(&mut self, level: Level, message: String) {
        // Bounded, line and total, so a chatty plugin cannot exhaust host memory.
        let kept: usize = self.logs.iter().map(|(_, m)| m.len()).sum();
        if self.logs.len() < 10_000 && kept < MAX_LOG_BYTES {
            self.logs.push((level, crate::http::clip_text(message, MAX_LOG_LINE_BYTES)));
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl v0_1::smoke::plugin::host::Host for State {
    fn log(&mut self, level: v0_1::smoke::plugin::host::Level, message: String) {
        State::log(self, v0_1::level(level), message);
    }
}

impl v0_1::smoke::plugin::types::Host for State {}

impl v0_2::smoke::plugin::host::Host for State {
    fn log(&mut self, level: v0_2::smoke::plugin::host::Level, message: String) {
        State::log(self, v0_2::level(level), message);
    }
}

impl v0_2::smoke::plugin::types::Host for State {}

/// A clock frozen at the epoch: plugins must not depend on time.
struct FrozenClock;

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// The engine, linker and limits shared by every plugin of a run. Built once.
pub struct Runtime {
    engine: Engine,
    linker: Linker<State>,
    limits: Limits,
    dev: Option<Arc<DevGrant>>,
}

/// What `smoke dev` hands the runner component of a plugin being written (the SDK's interpreter,
/// compiled once, which loads the author's code at each call), and nothing else ever gets: the
/// project's folder, read-only, at `/project` (Python), and environment variables (the bundle of
/// a JavaScript plugin, `SMOKE_DEV_BUNDLE`). The runner is the author's own code on the author's
/// machine; a run of any other plugin never has a grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevGrant {
    pub project: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

/// The engine or its linker cannot be set up (a broken build of smoke, or no memory).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start the Wasm engine: {0}")]
    Start(String),
    #[error("cannot link {what}: {message}")]
    Link { what: &'static str, message: String },
}

/// The Wasm engine, configured as every run configures it (the compiled cache is keyed by this).
pub fn engine() -> Result<Engine, EngineError> {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    Engine::new(&config).map_err(|e| EngineError::Start(format!("{e:#}")))
}

impl Runtime {
    pub fn new(limits: Limits) -> Result<Self, EngineError> {
        let engine = engine()?;
        spawn_epoch_ticker(&engine);

        let mut linker = Linker::new(&engine);
        let link = |what| move |e: wasmtime::Error| EngineError::Link { what, message: format!("{e:#}") };
        // WASI is linked so that std-built components instantiate, but the context grants no
        // capability: no env, args, files, sockets or stdin; clocks frozen; randomness fixed.
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link("WASI"))?;
        v0_1::Plugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
            .map_err(link("the smoke host interface 0.1"))?;
        v0_2::Plugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
            .map_err(link("the smoke host interface 0.2"))?;
        Ok(Runtime { engine, linker, limits, dev: None })
    }

    /// Plugins loaded by this runtime get `grant` (`smoke dev`'s runner only).
    pub fn with_dev(mut self, grant: Option<DevGrant>) -> Self {
        self.dev = grant.map(Arc::new);
        self
    }

    /// Read, compile (or reuse the cache), check the WIT version, pre-instantiate, and ask the
    /// plugin who it is.
    pub fn load(&self, path: &Path) -> Result<Plugin, PluginError> {
        let bytes = read_component(path)?;
        // The contract version is read from the component's exports before anything is
        // compiled, so a plugin for an unsupported version is refused in milliseconds. (No
        // exports at all: a core module, which compiling names as such.)
        let exports = top_level_exports(&bytes)
            .map_err(|e| PluginError::Compile { path: path.to_path_buf(), message: e.to_string() })?;
        let declared = if exports.is_empty() { None } else { Some(guest_version(path, &exports)?) };
        let digest = cache::digest(&bytes);
        let started = Instant::now();
        let (component, origin) = cache::load(&self.engine, &bytes, &digest, &path.display().to_string())
            .map_err(|e| PluginError::Compile { path: path.to_path_buf(), message: e.to_string() })?;
        let elapsed = started.elapsed();
        match &origin {
            cache::Origin::Cached(at) => tracing::info!(
                "plugin {}: reused compiled artifact from cache {} ({:.2} ms)",
                path.display(),
                at.display(),
                elapsed.as_secs_f64() * 1000.0
            ),
            cache::Origin::Compiled(at) => tracing::info!(
                "plugin {}: compiled in {:.2} ms; cached at {}",
                path.display(),
                elapsed.as_secs_f64() * 1000.0,
                at.as_ref().map_or("(nowhere: no cache directory)".into(), |p| p.display().to_string())
            ),
        }
        let ty = component.component_type();
        let imports = ty.imports(&self.engine).map(|(name, _)| name.to_string()).collect();
        let exports: Vec<String> = ty.exports(&self.engine).map(|(name, _)| name.to_string()).collect();
        let (wit_version, binding) = match declared {
            Some(found) => found,
            None => guest_version(path, &exports)?,
        };
        let instantiate_error = |e: wasmtime::Error| PluginError::Instantiate {
            plugin: path.display().to_string(),
            message: format!("{e:#}"),
        };
        let pre = self.linker.instantiate_pre(&component).map_err(instantiate_error)?;
        let pre = match binding {
            Binding::V0_1 => Pre::V0_1(v0_1::PluginPre::new(pre).map_err(instantiate_error)?),
            Binding::V0_2 => Pre::V0_2(v0_2::PluginPre::new(pre).map_err(instantiate_error)?),
        };
        let mut plugin = Plugin {
            label: path.display().to_string(),
            path: path.to_path_buf(),
            digest,
            wit_version,
            imports,
            exports,
            info: None,
            engine: self.engine.clone(),
            pre,
            limits: self.limits,
            redactor: None,
            dev: self.dev.clone(),
        };
        let info = plugin.call("info", |store, instance| match instance {
            Instance::V0_1(i) => i.smoke_plugin_guest().call_info(store).map(v0_1::info),
            Instance::V0_2(i) => i.smoke_plugin_guest().call_info(store).map(v0_2::info),
        })?;
        plugin.label = info.name.clone();
        plugin.limits = self.limits.with_needs(info.needs);
        plugin.info = Some(info);
        Ok(plugin)
    }
}

/// The names a component exports at its top level (not those of components or modules nested
/// in it), read without compiling it.
fn top_level_exports(bytes: &[u8]) -> Result<Vec<String>, wasmtime::wasmparser::BinaryReaderError> {
    use wasmtime::wasmparser::{Parser, Payload};
    let mut exports = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    exports.push(export?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(exports)
}

/// Which bound contract version runs a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    V0_1,
    V0_2,
}

impl Binding {
    /// The bound version that runs plugins built for `found`, if any.
    fn for_version(found: &str) -> Option<Binding> {
        if compatible(found, v0_1::VERSION) {
            Some(Binding::V0_1)
        } else if compatible(found, v0_2::VERSION) {
            Some(Binding::V0_2)
        } else {
            None
        }
    }
}

/// The guest interface's WIT version among a component's exports and the binding that runs it,
/// if this host runs it; else why not.
fn guest_version(path: &Path, exports: &[String]) -> Result<(String, Binding), PluginError> {
    let Some(found) = exports.iter().find_map(|name| {
        let (interface, version) = name.split_once('@')?;
        (interface == GUEST_INTERFACE).then(|| version.to_string())
    }) else {
        return Err(PluginError::NotSmokePlugin {
            path: path.to_path_buf(),
            exports: if exports.is_empty() { "nothing".into() } else { exports.join(", ") },
        });
    };
    match Binding::for_version(&found) {
        Some(binding) => Ok((found, binding)),
        None => {
            let newest = contract::SUPPORTED.last().copied().unwrap_or(contract::CURRENT);
            let newer = match (semver::Version::parse(&found), semver::Version::parse(newest)) {
                (Ok(f), Ok(s)) => f > s,
                _ => false,
            };
            Err(PluginError::WitVersion { path: path.to_path_buf(), found, newer })
        }
    }
}

/// Whether a plugin built for WIT `found` runs on a host implementing `supported`: the same
/// release line as cargo sees it (same major, and for 0.x the same minor), and not newer: a
/// newer patch or minor may use what this host does not have.
fn compatible(found: &str, supported: &str) -> bool {
    let (Ok(found), Ok(supported)) = (semver::Version::parse(found), semver::Version::parse(supported))
    else {
        return false;
    };
    let same_line = match supported.major {
        0 => found.major == 0 && found.minor == supported.minor,
        major => found.major == major,
    };
    same_line && found <= supported && found.pre.is_empty()
}

/// The largest component smoke reads: far above any real plugin (a Python one carrying its
/// interpreter is about 40 MB), far below what would hurt.
pub const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// Read a component file: a regular file under the size limit, read with the limit enforced
/// (so a file that grows while read, or a device, cannot exhaust memory).
fn read_component(path: &Path) -> Result<Vec<u8>, PluginError> {
    use crate::files::ReadError;
    crate::files::read(path, MAX_COMPONENT_BYTES, "a plugin").map_err(|e| match e {
        ReadError::NotAFile { path, what } => PluginError::NotAFile { path, what: what.to_string() },
        ReadError::TooLarge { path, .. } => PluginError::TooLarge { path },
        ReadError::Io { path, source } => PluginError::Read { path, source },
        ReadError::NotText { path, .. } => {
            PluginError::Read { path, source: std::io::ErrorKind::InvalidData.into() }
        }
    })
}

/// Advance the engine's epoch every tick for as long as the engine lives.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("smoke-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(limits::EPOCH_TICK);
            }
        })
        .expect("spawning a thread at start-up");
}

/// A loaded plugin, ready to be called. Cheap to share (`Arc`) across scenarios.
pub struct Plugin {
    /// The plugin's name once `info` answered, else its path.
    label: String,
    pub path: PathBuf,
    pub digest: String,
    pub wit_version: String,
    /// The component's imports and exports, by name (`wasi:io/streams@0.2.6`...).
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    info: Option<Info>,
    engine: Engine,
    pre: Pre,
    limits: Limits,
    /// Applied to every line the plugin logs, so its logs show no secret and no raw control
    /// character.
    redactor: Option<crate::http::Redactor>,
    /// `smoke dev`'s grant to its runner, if this is one.
    dev: Option<Arc<DevGrant>>,
}

impl Plugin {
    /// Redact what this plugin logs as the run redacts everything else.
    pub fn set_redactor(&mut self, redactor: crate::http::Redactor) {
        self.redactor = Some(redactor);
    }

    /// A line the plugin logged, as it may be shown.
    fn shown(&self, line: &str) -> String {
        let line = crate::http::escape_line(line);
        match &self.redactor {
            Some(r) => r.text(&line),
            None => line.into_owned(),
        }
    }

    pub fn name(&self) -> &str {
        &self.label
    }

    pub fn info(&self) -> &Info {
        self.info.as_ref().expect("info is set by Runtime::load before a Plugin is returned")
    }

    /// The limits each call of this plugin runs under (the run's, raised to what `info` declared
    /// it needs, within the host's caps).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Ask for the plan: the plugin's answer, converted into the plan model (an answer that does
    /// not make sense as data is a `ConvertError`).
    pub fn plan(
        &self,
        input: &contract::PlanInput,
    ) -> Result<
        Result<Result<crate::plan::model::Part, contract::ConvertError>, contract::PlanError>,
        PluginError,
    > {
        let name = self.label.clone();
        let limits = self.limits.with_documents(input.documents.iter().map(|d| d.content.len()).sum());
        let (answer, denied) = self.call_with_denial("plan", limits, |store, instance| match instance {
            Instance::V0_1(i) => i
                .smoke_plugin_guest()
                .call_plan(store, &v0_1::plan_input(input))
                .map(|answer| answer.map(|plan| v0_1::convert_plan(&name, plan)).map_err(v0_1::plan_error)),
            Instance::V0_2(i) => i
                .smoke_plugin_guest()
                .call_plan(store, &v0_2::plan_input(input))
                .map(|answer| answer.map(|plan| v0_2::convert_plan(&name, plan)).map_err(v0_2::plan_error)),
        })?;
        // A plugin that ran out of memory may still answer (an interpreter turns the refused
        // growth into an error its SDK reports as a plan error): the limit is the cause to name.
        match (answer, denied) {
            (Err(_), Some(requested)) => Err(PluginError::Call {
                plugin: self.label.clone(),
                call: "plan",
                failure: CallFailure::Memory { limit: limits.memory_bytes, requested },
            }),
            (answer, _) => Ok(answer),
        }
    }

    pub fn check(&self, input: &contract::CheckInput) -> Result<contract::Verdict, PluginError> {
        // Converted once, before a sandbox is made: what the plugin's contract cannot take is
        // refused here.
        let input = match self.pre {
            Pre::V0_1(_) => CheckInput::V0_1(v0_1::check_input(input).map_err(|e| {
                PluginError::Unsupported { plugin: self.label.clone(), message: e.to_string() }
            })?),
            Pre::V0_2(_) => CheckInput::V0_2(v0_2::check_input(input)),
        };
        self.call("check", |store, instance| match (instance, &input) {
            (Instance::V0_1(i), CheckInput::V0_1(input)) => {
                i.smoke_plugin_guest().call_check(store, input).map(v0_1::verdict)
            }
            (Instance::V0_2(i), CheckInput::V0_2(input)) => {
                i.smoke_plugin_guest().call_check(store, input).map(v0_2::verdict)
            }
            _ => unreachable!("an instance and its input both follow the plugin's own binding"),
        })
    }

    /// Run one call in a fresh sandbox and report its log lines under the plugin's name.
    fn call<R>(
        &self,
        call: &'static str,
        f: impl FnOnce(&mut Store<State>, Instance) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.call_with_denial(call, self.limits, f).map(|(answer, _)| answer)
    }

    /// `call`, also saying whether a memory growth past the limit was refused during a call that
    /// answered anyway (the size asked for).
    fn call_with_denial<R>(
        &self,
        call: &'static str,
        limits: Limits,
        f: impl FnOnce(&mut Store<State>, Instance) -> wasmtime::Result<R>,
    ) -> Result<(R, Option<usize>), PluginError> {
        let stdout = MemoryOutputPipe::new(CAPTURED_OUTPUT_BYTES);
        let stderr = MemoryOutputPipe::new(CAPTURED_OUTPUT_BYTES);
        let mut wasi = WasiCtxBuilder::new();
        if let Some(grant) = &self.dev {
            for (name, value) in &grant.env {
                wasi.env(name, value);
            }
            if let Some(project) = &grant.project
                && let Err(e) = wasi.preopened_dir(project, "/project", wasmtime_wasi::FsPerms::ReadOnly)
            {
                tracing::warn!("smoke dev: cannot hand {} to the runner: {e:#}", project.display());
            }
        }
        let wasi = wasi
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .secure_random(wasmtime_wasi::Deterministic::new(vec![0x5a, 0x17, 0xc3, 0x88]))
            .insecure_random(wasmtime_wasi::Deterministic::new(vec![0x21, 0x9e, 0x04, 0x6b]))
            .insecure_random_seed(0x5340_4b45)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let mut store = Store::new(
            &self.engine,
            State {
                wasi,
                table: ResourceTable::new(),
                limiter: MemoryLimiter::new(limits.memory_bytes),
                logs: Vec::new(),
            },
        );
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(limits.deadline_ticks());
        store.epoch_deadline_trap();

        let started = Instant::now();
        let instance = match &self.pre {
            Pre::V0_1(pre) => pre.instantiate(&mut store).map(Instance::V0_1),
            Pre::V0_2(pre) => pre.instantiate(&mut store).map(Instance::V0_2),
        };
        let result = instance.and_then(|instance| f(&mut store, instance));
        tracing::debug!(
            "plugin {}: `{call}` took {:.2} ms (instantiate and call)",
            self.label,
            started.elapsed().as_secs_f64() * 1000.0
        );

        let state = store.into_data();
        for (level, message) in &state.logs {
            emit(&self.label, *level, &self.shown(message));
        }
        let stdout_text = String::from_utf8_lossy(&stdout.contents()).into_owned();
        let stderr_text = String::from_utf8_lossy(&stderr.contents()).into_owned();
        for (stream, text) in [("stdout", &stdout_text), ("stderr", &stderr_text)] {
            for line in text.lines() {
                tracing::info!(target: "smoke::plugin_log", "[{}] {stream}: {}", self.label, self.shown(line));
            }
        }
        let denied = state.limiter.denied;
        result.map(|answer| (answer, denied)).map_err(|error| {
            let trap = error.downcast_ref::<wasmtime::Trap>();
            let failure = if trap == Some(&wasmtime::Trap::Interrupt) {
                CallFailure::Timeout(limits.call_timeout)
            } else if let Some(requested) = state.limiter.denied {
                CallFailure::Memory { limit: limits.memory_bytes, requested }
            } else {
                tracing::debug!("plugin {}: `{call}` failed: {error:?}", self.label);
                let what = trap.map_or_else(|| format!("{error:#}").replace('\n', " "), ToString::to_string);
                match (fault_message(&stderr_text), panic_message(&stderr_text)) {
                    (Some(fault), _) => CallFailure::Fault(fault),
                    (None, Some(panic)) => CallFailure::Trap(format!("{what}; the plugin panicked: {panic}")),
                    (None, None) => CallFailure::Trap(what),
                }
            };
            PluginError::Call { plugin: self.label.clone(), call, failure }
        })
    }
}

/// The message of a Rust panic as printed to stderr: the line after `panicked at FILE:LINE:`.
fn panic_message(stderr: &str) -> Option<String> {
    let mut lines = stderr.lines();
    let at = lines.by_ref().find(|l| l.contains("panicked at"))?;
    let location = at.split("panicked at").nth(1).unwrap_or("").trim().trim_end_matches(':');
    let message = lines.next().unwrap_or("").trim();
    Some(format!("{message} (at {location})"))
}

/// What an SDK said was thrown, from the last fault line it wrote to stderr.
fn fault_message(stderr: &str) -> Option<String> {
    let line = stderr.lines().rev().find_map(|l| l.strip_prefix(FAULT_LINE))?;
    Some(crate::http::clip_text(line.trim().to_string(), 2048))
}

/// A plugin pre-instantiated under the binding of its contract version.
enum Pre {
    V0_1(v0_1::PluginPre<State>),
    V0_2(v0_2::PluginPre<State>),
}

/// One call's instance.
enum Instance {
    V0_1(v0_1::Plugin),
    V0_2(v0_2::Plugin),
}

/// A `check` input in the plugin's own contract version.
enum CheckInput {
    V0_1(v0_1::wit::CheckInput),
    V0_2(v0_2::wit::CheckInput),
}

fn emit(plugin: &str, level: Level, message: &str) {
    match level {
        Level::Debug => tracing::debug!(target: "smoke::plugin_log", "[{plugin}] {message}"),
        Level::Info => tracing::info!(target: "smoke::plugin_log", "[{plugin}] {message}"),
        Level::Warn => tracing::warn!(target: "smoke::plugin_log", "[{plugin}] {message}"),
        Level::Error => tracing::error!(target: "smoke::plugin_log", "[{plugin}] {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::compatible;

    #[test]
    fn panic_messages_are_read_from_stderr() {
        let stderr = "\nthread '<unnamed>' (1) panicked at src/lib.rs:21:13:\nboom\nnote: run with\n";
        assert_eq!(super::panic_message(stderr).as_deref(), Some("boom (at src/lib.rs:21:13)"));
        assert_eq!(super::panic_message("nothing"), None);
    }

    #[test]
    fn a_fault_is_read_from_the_sdks_last_fault_line() {
        let stderr = "noise\nsmoke-plugin fault: raised KeyError: 'a' (at app.py:3)\nTraceback...\n\
                      smoke-plugin fault: raised KeyError: 'b' (at app.py:9)\nmore\n";
        assert_eq!(super::fault_message(stderr).as_deref(), Some("raised KeyError: 'b' (at app.py:9)"));
        assert_eq!(super::fault_message("panicked at src/lib.rs:1:1:\nboom"), None);
    }

    #[test]
    fn zero_major_versions_need_the_same_minor() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.0", "0.1.3"));
        assert!(!compatible("0.1.3", "0.1.0"), "a newer patch may use what the host lacks");
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("0.0.9", "0.1.0"));
        assert!(compatible("1.0.0", "1.4.0"));
        assert!(!compatible("1.4.0", "1.0.0"), "a newer minor may use what the host lacks");
        assert!(!compatible("2.0.0", "1.0.0"));
        assert!(!compatible("0.1.0-rc.1", "0.1.0"));
        assert!(!compatible("garbage", "0.1.0"));
    }
}
