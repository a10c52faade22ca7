//! `smoke plugin push|pull|lock|ls|gc`: publishing plugins to an OCI registry and managing the
//! lockfile and the local cache.

use super::options::{CommonArgs, LockArgs, LsArgs, PluginCommand, PullArgs, PushArgs, overrides};
use super::plugins::{load_plugin_file, open_registry};
use super::{Failure, exit};
use crate::config::{self, Overrides, PluginSource, Settings};
use crate::registry::{self, RemoteRef, lock::Pin};
use std::collections::BTreeMap;

/// Settings for a command that needs only the [registry] table of the config.
fn registry_settings(common: &CommonArgs) -> Result<Settings, Failure> {
    let o = Overrides {
        config: common.config.clone(),
        insecure: common.insecure,
        // No service and no plugin is needed to talk to a registry.
        plan_only: true,
        plan_file: true,
        ..Overrides::default()
    };
    config::load(&o).map_err(|e| Failure::new(exit::USAGE, e))
}

pub(super) async fn run(command: PluginCommand, matches: &clap::ArgMatches) -> Result<i32, Failure> {
    match command {
        PluginCommand::New(a) => super::scaffold::new(a),
        PluginCommand::Push(a) => push(a).await,
        PluginCommand::Pull(a) => pull(a).await,
        PluginCommand::Lock(a) => lock(a, matches).await,
        PluginCommand::Ls(a) => ls(a).await,
        PluginCommand::Gc(a) => gc(a),
    }
}

async fn push(args: PushArgs) -> Result<i32, Failure> {
    let settings = registry_settings(&args.common)?;
    let registry = open_registry(&settings.registry)?;
    let reference = registry.parse(&args.reference).map_err(|e| Failure::new(exit::USAGE, e))?;
    if reference.digest.is_some() || reference.tag.is_none() {
        return Err(Failure::new(
            exit::USAGE,
            format!("{reference}: push to a tag (oci://HOST/REPO:TAG), not a digest"),
        ));
    }
    // Only a component that loads as a smoke plugin is published.
    let plugin = load_plugin_file(&args.file).await.map_err(|f| {
        Failure::new(
            exit::PLUGIN,
            format!("{} is not a valid smoke plugin; nothing pushed: {}", args.file.display(), f.message),
        )
    })?;
    let info = plugin.info().clone();
    if registry.exists(&reference).await.map_err(|e| Failure::new(exit::PLUGIN, e))? && !args.force {
        return Err(Failure::new(
            exit::USAGE,
            format!(
                "{reference} already exists; a published version should never change (use --force to replace it)"
            ),
        ));
    }
    let bytes = crate::files::read(&args.file, crate::plugin::MAX_COMPONENT_BYTES, "a plugin")
        .map_err(|e| Failure::new(exit::USAGE, e))?;
    let component = format!("sha256:{}", plugin.digest);
    let wit = format!("smoke:plugin@{}", plugin.wit_version);
    let config = serde_json::json!({
        "created": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "author": null,
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [component],
        "component": {"exports": plugin.exports, "imports": plugin.imports, "target": format!("smoke:plugin/plugin@{}", plugin.wit_version)},
    });
    let mut annotations = BTreeMap::from([
        (registry::ANNOTATION_TITLE.to_string(), info.name.clone()),
        (registry::ANNOTATION_VERSION.to_string(), info.version.clone()),
        (registry::ANNOTATION_DOMAIN.to_string(), info.domain.clone()),
        (registry::ANNOTATION_WIT.to_string(), wit.clone()),
    ]);
    if !info.description.is_empty() {
        annotations.insert(registry::ANNOTATION_DESCRIPTION.to_string(), info.description.clone());
    }
    let manifest = registry
        .push(&reference, bytes, config, annotations)
        .await
        .map_err(|e| Failure::new(exit::PLUGIN, e))?;
    crate::say!("pushed {} {} ({wit}) to {reference}", info.name, info.version);
    crate::say!("manifest:  {manifest}");
    crate::say!("component: {component}");
    crate::say!("pin it:    {}", reference.at(&manifest));
    Ok(exit::PASSED)
}

async fn pull(args: PullArgs) -> Result<i32, Failure> {
    let settings = registry_settings(&args.common)?;
    let registry = open_registry(&settings.registry)?;
    let reference = registry.parse(&args.reference).map_err(|e| Failure::new(exit::USAGE, e))?;
    let resolved = registry.pull(&reference).await.map_err(|e| Failure::new(exit::PLUGIN, e))?;
    registry_record(&registry, &reference, &resolved)?;
    crate::say!("{reference}");
    crate::say!("manifest:  {}", resolved.manifest);
    crate::say!("component: {}", resolved.component);
    crate::say!("cached at: {}", resolved.path.display());
    Ok(exit::PASSED)
}

fn registry_record(
    registry: &registry::Registry,
    r: &RemoteRef,
    resolved: &registry::Resolved,
) -> Result<(), Failure> {
    registry.remember(&r.canonical(), resolved).map_err(|e| Failure::new(exit::PLUGIN, e))
}

async fn lock(args: LockArgs, matches: &clap::ArgMatches) -> Result<i32, Failure> {
    let o = Overrides { plan_only: true, ..overrides(&args.plugins, matches) };
    let settings = config::load(&o).map_err(|e| Failure::new(exit::USAGE, e))?;
    let registry = open_registry(&config::RegistrySettings {
        locked: false,
        offline: false,
        ..settings.registry.clone()
    })?;
    let mut lockfile = registry::lock::Lockfile::empty(&settings.registry.lockfile);
    for spec in &settings.plugins {
        let PluginSource::Registry(text) = &spec.source else { continue };
        let reference = registry.parse(text).map_err(|e| Failure::new(exit::USAGE, e))?;
        let resolved = registry.pull(&reference).await.map_err(|e| Failure::new(exit::PLUGIN, e))?;
        registry_record(&registry, &reference, &resolved)?;
        crate::say!("{reference}\n  manifest  {}\n  component {}", resolved.manifest, resolved.component);
        lockfile.set(Pin {
            reference: reference.canonical(),
            manifest: resolved.manifest,
            component: resolved.component,
        });
    }
    if lockfile.pins().next().is_none() {
        return Err(Failure::new(
            exit::USAGE,
            "no registry plugin to lock: the config's plugins (or --plugin) are all files",
        ));
    }
    lockfile.save().map_err(|e| Failure::new(exit::USAGE, e))?;
    crate::say!("wrote {}", lockfile.path.display());
    Ok(exit::PASSED)
}

async fn ls(args: LsArgs) -> Result<i32, Failure> {
    let settings = registry_settings(&args.common)?;
    let registry = open_registry(&settings.registry)?;
    let entries = registry.store.entries();
    if entries.is_empty() {
        crate::say!("cache ({}): empty", registry.store.dir().display());
    } else {
        crate::say!("cache ({}):", registry.store.dir().display());
        for (reference, e) in &entries {
            let what = match (&e.name, &e.version) {
                (Some(n), Some(v)) => format!("{n} {v}, "),
                _ => String::new(),
            };
            crate::say!("  {reference}\n    {what}{} bytes, component {}", e.size, e.component);
        }
    }
    if args.remote {
        let mut repositories: Vec<String> = args.repositories.clone();
        if repositories.is_empty() {
            repositories = entries.keys().cloned().collect();
        }
        let mut seen = std::collections::BTreeSet::new();
        for text in repositories {
            // A repository needs no tag here; borrow one so the reference parses.
            let probe =
                if text.contains('@') || text.rsplit('/').next().is_some_and(|last| last.contains(':')) {
                    text.clone()
                } else {
                    format!("{text}:_")
                };
            let reference = registry.parse(&probe).map_err(|e| Failure::new(exit::USAGE, e))?;
            let repository = format!("oci://{}/{}", reference.registry, reference.repository);
            if !seen.insert(repository.clone()) {
                continue;
            }
            let tags = registry.tags(&reference).await.map_err(|e| Failure::new(exit::PLUGIN, e))?;
            crate::say!(
                "{repository}: {}",
                if tags.is_empty() { "(no tags)".to_string() } else { tags.join(", ") }
            );
        }
    }
    Ok(exit::PASSED)
}

fn gc(args: CommonArgs) -> Result<i32, Failure> {
    let settings = registry_settings(&args)?;
    let registry = open_registry(&settings.registry)?;
    let (mut removed, mut freed) = registry.store.gc().map_err(|e| Failure::new(exit::USAGE, e))?;
    // Compiled artifacts: kept for components still in the store and for any used in the last
    // 30 days; those of another smoke version, damaged ones and the rest go.
    let engine = crate::plugin::engine().map_err(|e| Failure::new(exit::PLUGIN, e))?;
    let cached: std::collections::BTreeSet<String> = registry
        .store
        .entries()
        .values()
        .map(|e| e.component.trim_start_matches("sha256:").to_string())
        .collect();
    let (compiled, compiled_bytes) =
        crate::plugin::cache::prune(&engine, &cached, std::time::Duration::from_secs(30 * 24 * 3600));
    removed.extend(compiled.iter().map(|p| format!("compiled artifact {}", p.display())));
    freed += compiled_bytes;
    for r in &removed {
        crate::say!("removed {r}");
    }
    crate::say!("{} removed, {} bytes freed", removed.len(), freed);
    Ok(exit::PASSED)
}
