//! A plugin built against `smoke:plugin@0.3.0`, a version this smoke does not support, to
//! prove the host rejects it before instantiating, naming both versions.

wit_bindgen::generate!({
    inline: "
        package smoke:plugin@0.3.0;
        interface guest {
            info: func() -> string;
        }
        world plugin {
            export guest;
        }
    ",
    world: "plugin",
});

struct Future;

impl exports::smoke::plugin::guest::Guest for Future {
    fn info() -> String {
        "future".to_string()
    }
}

export!(Future);
