//! A plugin built against `smoke:plugin@0.1.1`, a newer patch than this smoke implements: it
//! may rely on what this host lacks, so the host refuses it before instantiating, naming both
//! versions.

wit_bindgen::generate!({
    inline: "
        package smoke:plugin@0.1.1;
        interface guest {
            info: func() -> string;
        }
        world plugin {
            export guest;
        }
    ",
    world: "plugin",
});

struct Newer;

impl exports::smoke::plugin::guest::Guest for Newer {
    fn info() -> String {
        "newer".to_string()
    }
}

export!(Newer);
