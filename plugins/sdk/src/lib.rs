//! `smoke-plugin`: the plugin author's API for smoke.
//!
//! Implement [`Plugin`] for a type, call [`export!`] once, and build for `wasm32-wasip2`:
//!
//! ```
//! use smoke_plugin::{Info, Plan, PlanError, PlanInput, Plugin, Scenario, Step};
//!
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     fn info() -> Info {
//!         Info::new("hello", "0.1.0", "example")
//!     }
//!     fn plan(_input: PlanInput) -> Result<Plan, PlanError> {
//!         Ok(Plan::new().scenario(
//!             Scenario::happy_path("hello.health", "GET /health")
//!                 .step(Step::get("/health").expect_status(200)),
//!         ))
//!     }
//! }
//!
//! smoke_plugin::export!(Hello);
//! ```
//!
//! The types are the WIT contract's (`wit/plugin.wit`: smoke:plugin@0.2.0, shipped in this crate),
//! with builders added so a scenario reads like a sentence. Plugins have no I/O: config and documents arrive in [`PlanInput`], and state
//! between steps flows through captured variables (`{{name}}` templates), not plugin memory.

// The generated export macro names this crate by its public path.
extern crate self as smoke_plugin;

mod builders;
pub mod ids;
pub mod log;
pub mod testing;

pub use builders::{json_text, literal};

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_guest",
        default_bindings_module: "smoke_plugin::__private",
        runtime_path: "smoke_plugin::__private::wit_bindgen::rt",
        additional_derives: [PartialEq],
    });
}

pub use __private::smoke::plugin::types::{
    Action, Body, Burst, Capture, CaptureSource, CheckInput, ConfigKey, ConfigKind, Document, Endpoint,
    Exchange, HostInfo, HttpCall, HttpExchange, HttpExpectation, HttpRequest, Info, JsonAssertion, JsonTest,
    McpRequest, Method, MultipartPart, Needs, Pair, PartContent, Plan, PlanError, PlanInput, Poll, RawBody,
    Response, RpcError, Scenario, ScenarioKind, Seed, SentRequest, Status, StatusCount, Step, StepMode,
    ToolCall, ToolExchange, ToolExpectation, ToolOutcome, Verdict,
};

/// A part of a multipart body (`Part::text`, `Part::file`): the contract calls it
/// `multipart-part`, the Python and TypeScript SDKs `Part`, and plugins/vocabulary.txt holds the
/// three SDKs to one set of names.
pub type Part = MultipartPart;

/// The WIT package version this SDK builds plugins for.
pub const WIT_VERSION: &str = "0.2.0";

/// A smoke plugin. Methods are associated functions: a plugin keeps no state between calls.
pub trait Plugin {
    /// Static facts: name, version, domain, the config keys read, the sensitive fields.
    fn info() -> Info;

    /// The plan for this config: seed records and scenarios. Must be deterministic.
    fn plan(input: PlanInput) -> Result<Plan, PlanError>;

    /// Judge one exchange for a step that asked for it (`Step::check`); read the step's argument
    /// into your own type with [`CheckInput::argument`].
    ///
    /// The default fails, so a plan that asks for judgement from a plugin that gives none can
    /// never pass by accident.
    fn check(input: CheckInput) -> Verdict {
        Verdict::fail(format!(
            "plugin does not implement check (asked to judge {:?} in scenario {})",
            input.argument, input.scenario_id
        ))
    }
}

/// Export a [`Plugin`] implementation as the component's `smoke:plugin/guest` interface.
///
/// Call it once, at the crate root: `smoke_plugin::export!(MyPlugin);`
#[macro_export]
macro_rules! export {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __SmokePluginExport;

        impl $crate::__private::exports::smoke::plugin::guest::Guest for __SmokePluginExport {
            fn info() -> $crate::Info {
                <$plugin as $crate::Plugin>::info()
            }
            fn plan(input: $crate::PlanInput) -> ::core::result::Result<$crate::Plan, $crate::PlanError> {
                <$plugin as $crate::Plugin>::plan(input)
            }
            fn check(input: $crate::CheckInput) -> $crate::Verdict {
                <$plugin as $crate::Plugin>::check(input)
            }
        }

        // The component's exports exist only on wasm; native builds (the plugin's own unit
        // tests) compile the plugin without them.
        #[cfg(target_family = "wasm")]
        $crate::__private::__export_guest!(__SmokePluginExport with_types_in $crate::__private);
    };
}
